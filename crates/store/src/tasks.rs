//! Tasks: something a member has to do, by a date, optionally about a deal, contact, company or
//! a record of a custom object.

use chrono::{DateTime, NaiveDate, Utc};
use rapport_domain::{CompanyId, ContactId, DealId, OrganizationId, RecordId, TaskId, UserId};

use crate::keyset::SortValue;
use crate::tables::{self, Columns, KindTable};
use crate::{Query, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Task {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: TaskId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "crate::Link")]
    pub deal_id: Option<DealId>,
    #[sqlx(try_from = "crate::Link")]
    pub contact_id: Option<ContactId>,
    #[sqlx(try_from = "crate::Link")]
    pub company_id: Option<CompanyId>,
    /// A record of a custom object.
    #[sqlx(try_from = "crate::Link")]
    pub record_id: Option<RecordId>,
    #[sqlx(try_from = "uuid::Uuid")]
    pub assignee_id: UserId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub created_by: UserId,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub is_done: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub custom: sqlx::types::Json<serde_json::Value>,
    /// When to remind the assignee, and when that was done.
    pub remind_at: Option<DateTime<Utc>>,
    pub reminded_at: Option<DateTime<Utc>>,
    /// The clients of its record see it in the portal.
    pub portal_visible: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, organization_id, deal_id, contact_id, company_id, record_id, assignee_id, created_by, title, \
    description, due_date, is_done, completed_at, custom, remind_at, reminded_at, portal_visible, created_at, updated_at";

#[derive(Clone, Debug, PartialEq)]
pub struct TaskFields {
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub record_id: Option<RecordId>,
    pub assignee_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub is_done: bool,
    pub remind_at: Option<DateTime<Utc>>,
    pub portal_visible: bool,
}

impl TaskFields {
    fn columns(&self) -> Columns {
        vec![
            ("deal_id", self.deal_id.into()),
            ("contact_id", self.contact_id.into()),
            ("company_id", self.company_id.into()),
            ("record_id", self.record_id.into()),
            ("assignee_id", self.assignee_id.into()),
            ("title", (&self.title).into()),
            ("description", self.description.clone().into()),
            ("due_date", self.due_date.into()),
            ("is_done", self.is_done.into()),
            ("remind_at", self.remind_at.into()),
            ("portal_visible", self.portal_visible.into()),
        ]
    }
}

pub async fn insert(tx: &mut TenantTx, created_by: UserId, f: &TaskFields) -> Result<Task> {
    let mut columns = f.columns();
    columns.push(("created_by", created_by.into()));
    columns.push(("completed_at", f.is_done.then(crate::now).into()));
    tables::insert(tx, columns).await
}

pub async fn update(tx: &mut TenantTx, current: &Task, f: &TaskFields) -> Result<()> {
    let completed_at = match (current.is_done, f.is_done) {
        (_, false) => None,
        (true, true) => current.completed_at,
        (false, true) => Some(crate::now()),
    };
    // A new reminder time is a new reminder, to be sent again.
    let reminded_at = if f.remind_at == current.remind_at {
        current.reminded_at
    } else {
        None
    };
    let mut columns = f.columns();
    columns.push(("completed_at", completed_at.into()));
    columns.push(("reminded_at", reminded_at.into()));
    tables::update::<Task>(tx, current.id, columns).await
}

/// Marks a task's reminder sent, if it is still due at `remind_at` and not sent yet (platform
/// scope, for the reminder job). The one caller that gets `true` sends it.
pub async fn claim_reminder(
    tx: &mut crate::Tx,
    organization: OrganizationId,
    id: TaskId,
    remind_at: DateTime<Utc>,
) -> Result<Option<Task>> {
    let changed = tx
        .execute(
            query(
                "UPDATE tasks SET reminded_at = $1 WHERE organization_id = $2 AND id = $3 \
                 AND remind_at = $4 AND reminded_at IS NULL AND is_done = FALSE",
            )
            .bind(crate::now())
            .bind(organization)
            .bind(id)
            .bind(remind_at),
        )
        .await?;
    if changed == 0 {
        return Ok(None);
    }
    tx.fetch_optional(
        query(format!(
            "SELECT {COLUMNS} FROM tasks WHERE organization_id = $1 AND id = $2"
        ))
        .bind(organization)
        .bind(id),
    )
    .await
}

/// Open tasks due on or before `day` in an organization, with an assignee (platform scope, for
/// the due-task notifications).
pub async fn due_by(
    tx: &mut crate::Tx,
    organization: OrganizationId,
    day: NaiveDate,
    limit: i64,
) -> Result<Vec<Task>> {
    tx.fetch_all(
        query(format!(
            "SELECT {COLUMNS} FROM tasks WHERE organization_id = $1 AND is_done = FALSE \
             AND due_date IS NOT NULL AND due_date <= $2 ORDER BY due_date, id LIMIT $3"
        ))
        .bind(organization)
        .bind(day)
        .bind(limit),
    )
    .await
}

/// The condition that the task `alias` names is in reach of `owners`: one of them is its
/// assignee, owns its deal, or, when it has no deal, made it.
pub(crate) fn reach_sql(
    q: &mut Query,
    backend: crate::Backend,
    alias: &str,
    owners: &[UserId],
) -> String {
    let assigned = q.any_user(backend, &format!("{alias}.assignee_id"), owners);
    let made = q.any_user(backend, &format!("{alias}.created_by"), owners);
    let owned = q.any_user(backend, "d.owner_id", owners);
    format!(
        "({assigned} OR ({alias}.deal_id IS NULL AND {made}) OR {alias}.deal_id IN \
         (SELECT d.id FROM deals d WHERE d.organization_id = {alias}.organization_id \
         AND d.deleted_at IS NULL AND {owned}))"
    )
}

/// Of the tasks `ids`, those in reach of `owners` (deleted ones are not among them).
pub async fn in_reach(
    tx: &mut TenantTx,
    ids: &[uuid::Uuid],
    owners: &[UserId],
) -> Result<Vec<uuid::Uuid>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: uuid::Uuid,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = tx.backend();
    let mut q =
        query("SELECT t.id FROM tasks t WHERE t.organization_id = $1").bind(tx.organization_id());
    let these = q.any_of(backend, "t.id", ids);
    let reached = reach_sql(&mut q, backend, "t", owners);
    q.push_sql(&format!(" AND {these} AND {reached}"));
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub record_id: Option<RecordId>,
    pub assignee_id: Option<UserId>,
    pub is_done: Option<bool>,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
}

/// What a task list is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSort {
    DueDate,
    CreatedAt,
    UpdatedAt,
    Title,
}

/// Tasks go when deleted, carry no tags, and are not searched by text.
impl KindTable for Task {
    type Id = TaskId;
    type Filter = TaskFilter;
    type Sort = TaskSort;
    const TABLE: &'static str = "tasks";
    const TITLE_COLUMN: &'static str = "title";
    const RECORD_TYPE: &'static str = "task";
    const COLUMNS: &'static str = COLUMNS;
    const SOFT_DELETE: bool = false;
    const TAGGED: bool = false;
    fn push_reach(q: &mut Query, backend: crate::Backend, owners: &[UserId]) {
        let reached = reach_sql(q, backend, "tasks", owners);
        q.push_sql(&format!(" AND {reached}"));
    }
    fn conditions(q: &mut Query, f: &TaskFilter) {
        q.and("deal_id =", f.deal_id);
        q.and("contact_id =", f.contact_id);
        q.and("company_id =", f.company_id);
        q.and("record_id =", f.record_id);
        q.and("assignee_id =", f.assignee_id);
        q.and("is_done =", f.is_done);
        q.and("due_date <", f.due_before);
        q.and("due_date >", f.due_after);
    }
    fn sort_value(&self, sort: TaskSort) -> SortValue {
        match sort {
            TaskSort::DueDate => SortValue::Date(self.due_date.unwrap_or_else(|| {
                NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
            })),
            TaskSort::CreatedAt => SortValue::Time(self.created_at),
            TaskSort::UpdatedAt => SortValue::Time(self.updated_at),
            TaskSort::Title => SortValue::Text(self.title.clone()),
        }
    }
    fn sort_column(sort: TaskSort) -> &'static str {
        match sort {
            TaskSort::DueDate => "due_key",
            TaskSort::CreatedAt => "created_at",
            TaskSort::UpdatedAt => "updated_at",
            TaskSort::Title => "title_key",
        }
    }
}
