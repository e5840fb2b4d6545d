//! Tasks: something a member has to do, by a date, optionally about a deal, contact, company or
//! a record of a custom object.

use chrono::{DateTime, NaiveDate, Utc};
use rapport_domain::{CompanyId, ContactId, DealId, OrganizationId, RecordId, TaskId, UserId};

use crate::keyset::SortValue;
use crate::tables::{self, KindTable};
use crate::{Query, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Task {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: TaskId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub deal_id: Option<uuid::Uuid>,
    pub contact_id: Option<uuid::Uuid>,
    pub company_id: Option<uuid::Uuid>,
    /// A record of a custom object.
    pub record_id: Option<uuid::Uuid>,
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, deal_id, contact_id, company_id, record_id, assignee_id, created_by, title, \
    description, due_date, is_done, completed_at, custom, remind_at, reminded_at, created_at, updated_at";

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
}

pub async fn insert(tx: &mut TenantTx, created_by: UserId, f: &TaskFields) -> Result<Task> {
    let org = tx.organization_id();
    let id = TaskId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO tasks (organization_id, id, deal_id, contact_id, company_id, assignee_id, created_by, title, \
                 description, due_date, is_done, completed_at, created_at, updated_at, remind_at, record_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15)",
            )
            .bind(org)
            .bind(id)
            .bind(f.deal_id)
            .bind(f.contact_id)
            .bind(f.company_id)
            .bind(f.assignee_id)
            .bind(created_by)
            .bind(&f.title)
            .bind(f.description.clone())
            .bind(f.due_date)
            .bind(f.is_done)
            .bind(f.is_done.then_some(now))
            .bind(now)
            .bind(f.remind_at)
            .bind(f.record_id),
        )
        .await?;
    tables::find::<Task>(tx, id)
        .await?
        .ok_or(crate::Error::NotFound)
}

pub async fn update(tx: &mut TenantTx, current: &Task, f: &TaskFields) -> Result<()> {
    let org = tx.organization_id();
    let now = crate::now();
    let completed_at = match (current.is_done, f.is_done) {
        (_, false) => None,
        (true, true) => current.completed_at,
        (false, true) => Some(now),
    };
    tx.raw()
        .execute(
            query(
                "UPDATE tasks SET deal_id = $1, contact_id = $2, company_id = $3, assignee_id = $4, title = $5, \
                 description = $6, due_date = $7, is_done = $8, completed_at = $9, updated_at = $10, \
                 remind_at = $13, reminded_at = $14, record_id = $15 \
                 WHERE organization_id = $11 AND id = $12",
            )
            .bind(f.deal_id)
            .bind(f.contact_id)
            .bind(f.company_id)
            .bind(f.assignee_id)
            .bind(&f.title)
            .bind(f.description.clone())
            .bind(f.due_date)
            .bind(f.is_done)
            .bind(completed_at)
            .bind(now)
            .bind(org)
            .bind(current.id)
            .bind(f.remind_at)
            // A new reminder time is a new reminder, to be sent again.
            .bind(if f.remind_at == current.remind_at {
                current.reminded_at
            } else {
                None
            })
            .bind(f.record_id),
        )
        .await?;
    Ok(())
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
