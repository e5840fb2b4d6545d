//! Tasks: the contract's rules (no past due date, members only on their own deals, links within
//! the organization), and timeline entries when a task is created or completed.

use chrono::NaiveDate;
use rapport_domain::validation::text;
use rapport_domain::{
    CompanyId, ContactId, DealId, Object, Ownership, Role, TaskId, UserId, ValidationErrors,
};
use rapport_store::activities::{self as store_activities, NewActivity};
use rapport_store::companies::Company;
use rapport_store::contacts::Contact;
use rapport_store::deals::Deal;
use rapport_store::tables;
use rapport_store::tasks::{self as store_tasks, Task, TaskFields};
use rapport_store::{Result, TenantTx, memberships};
use serde_json::{Value as Json, json};

use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record, link_after};
use crate::{Actor, AppError, AppResult, Tenant};

#[derive(Clone, Debug, Default)]
pub struct TaskChange {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub due_date: Option<Option<NaiveDate>>,
    pub assignee_id: Option<UserId>,
    pub deal_id: Option<Option<DealId>>,
    pub contact_id: Option<Option<ContactId>>,
    pub company_id: Option<Option<CompanyId>>,
    /// A record of a custom object.
    pub record_id: Option<Option<rapport_domain::RecordId>>,
    pub is_done: Option<bool>,
    /// When to remind the assignee (in the future when set or changed).
    pub remind_at: Option<Option<chrono::DateTime<chrono::Utc>>>,
    /// Custom field values (`null` clears one; those not given stay).
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Which tasks, in which order, which page; and the page.
pub type TaskQuery = ListQuery<Task>;
pub type TaskPage = ListPage<Task>;

/// Queues the job that sends a task's reminder at its time. A job for an earlier time finds the
/// reminder moved and does nothing; the dedupe key keeps one job per task and time.
async fn schedule_reminder(tx: &mut TenantTx, task: &Task) -> AppResult<()> {
    let Some(at) = task.remind_at else {
        return Ok(());
    };
    let org = tx.organization_id();
    let mut job = crate::jobs::JobSpec::new(
        crate::jobs::queue::DEFAULT,
        crate::jobs::kind::TASK_REMINDER,
        json!({"task_id": task.id, "remind_at": at, "organization_id": org}),
    );
    job.run_at = at;
    job.priority = 10;
    job.dedupe_key = Some(format!(
        "task-reminder:{}:{}",
        task.id,
        at.timestamp_micros()
    ));
    rapport_store::jobs::enqueue(tx.raw(), job.into_new_job(Some(org))).await?;
    Ok(())
}

/// The record a task's timeline entries go to: its deal, else its custom record, else its
/// contact, else its company.
fn timeline_of(t: &Task) -> Option<(&'static str, uuid::Uuid)> {
    t.deal_id
        .map(|id| ("deal", id.as_uuid()))
        .or(t.record_id.map(|id| ("record", id.as_uuid())))
        .or(t.contact_id.map(|id| ("contact", id.as_uuid())))
        .or(t.company_id.map(|id| ("company", id.as_uuid())))
}

async fn task_event(tx: &mut TenantTx, actor: &Actor, t: &Task, kind: &str) -> AppResult<()> {
    if let Some((record_type, record_id)) = timeline_of(t) {
        store_activities::insert(
            tx,
            NewActivity {
                record_type,
                record_id,
                author_id: Some(actor.user_id),
                kind: kind.to_owned(),
                payload: json!({"task_id": t.id, "title": t.title}),
            },
        )
        .await?;
    }
    Ok(())
}

/// How the actor relates to a task: its assignee, its creator (when it has no deal), or the owner
/// of its deal "own" it.
async fn relation(tx: &mut TenantTx, actor: &Actor, t: &Task) -> AppResult<Ownership> {
    if t.assignee_id == actor.user_id {
        return Ok(Ownership::Own);
    }
    match t.deal_id {
        Some(deal) => {
            let owner = tables::find::<Deal>(tx, deal).await?.map(|d| d.owner_id);
            Ok(if owner == Some(actor.user_id) {
                Ownership::Own
            } else {
                Ownership::Others
            })
        }
        None => Ok(actor.relation_to(t.created_by)),
    }
}

/// Validates a task about to be written. A member naming a deal they do not own gets
/// `Forbidden`, which the caller records once its transaction is given up.
async fn check(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    current: Option<&Task>,
    change: &TaskChange,
) -> AppResult<TaskFields> {
    let mut errors = ValidationErrors::new();
    let title = errors.required(
        "title",
        change.title.as_deref(),
        current.map(|t| t.title.clone()),
        text(200, false),
    );
    let description = errors.optional(
        "description",
        &change.description,
        current.and_then(|t| t.description.clone()),
        text(10_000, true),
    );
    let due_date = match change.due_date {
        Some(d) => {
            let changed = current.map(|t| t.due_date) != Some(d);
            if let Some(day) = d
                && changed
                && day < tenant.today()
            {
                errors.add(
                    "due_date",
                    format!(
                        "must be today ({}) or later in the organization's time zone",
                        tenant.today()
                    ),
                );
            }
            d
        }
        None => current.and_then(|t| t.due_date),
    };
    let assignee_id = change
        .assignee_id
        .or(current.map(|t| t.assignee_id))
        .unwrap_or(actor.user_id);
    if change.assignee_id.is_some() && memberships::find_by_user(tx, assignee_id).await?.is_none() {
        errors.add("assignee_id", "must be a member of this organization");
    }
    let mut deal_owner = None;
    let deal_id = match change.deal_id {
        Some(Some(id)) => {
            match tables::find::<Deal>(tx, id).await? {
                Some(d) => deal_owner = Some(d.owner_id),
                None => errors.add("deal_id", "no such deal in this organization"),
            }
            Some(id)
        }
        Some(None) => None,
        None => current.and_then(|t| t.deal_id),
    };
    let contact_id = link_after::<Contact>(
        tx,
        &mut errors,
        "contact_id",
        change.contact_id,
        current.and_then(|t| t.contact_id),
    )
    .await?;
    let company_id = link_after::<Company>(
        tx,
        &mut errors,
        "company_id",
        change.company_id,
        current.and_then(|t| t.company_id),
    )
    .await?;
    let record_id = match change.record_id {
        Some(Some(id)) => {
            if rapport_store::records::live(tx, id).await?.is_none() {
                errors.add("record_id", "no such record in this organization");
            }
            Some(id)
        }
        Some(None) => None,
        None => current.and_then(|t| t.record_id),
    };
    let remind_at = match change.remind_at {
        Some(at) => {
            let changed = current.map(|t| t.remind_at) != Some(at);
            if let Some(at) = at
                && changed
                && at <= chrono::Utc::now()
            {
                errors.add("remind_at", "must be in the future");
            }
            at
        }
        None => current.and_then(|t| t.remind_at),
    };
    errors.into_result()?;
    // A member puts tasks only on deals they own.
    if tenant.role == Role::Member
        && let Some(owner) = deal_owner
        && owner != actor.user_id
    {
        return Err(AppError::Forbidden);
    }
    Ok(TaskFields {
        deal_id,
        contact_id,
        company_id,
        record_id,
        assignee_id,
        title,
        description,
        due_date,
        is_done: change
            .is_done
            .or(current.map(|t| t.is_done))
            .unwrap_or(false),
        remind_at,
    })
}

impl BuiltinKind for Task {
    type Change = TaskChange;
    type Fields = TaskFields;
    const KIND: Kind = Kind::Task;
    const OBJECT: Object = Object::Task;

    builtin_record! {
        id: TaskId,
        owner: assignee_id,
        change: TaskChange,
        check: check,
        diff: [title, description, due_date, assignee_id, deal_id, contact_id, company_id, record_id, is_done, remind_at],
    }

    fn named(&self) -> Json {
        json!({"title": self.title})
    }
    fn created(&self) -> Json {
        json!({"title": self.title, "assignee_id": self.assignee_id})
    }

    async fn relation(&self, tx: &mut TenantTx, actor: &Actor) -> AppResult<Ownership> {
        relation(tx, actor, self).await
    }

    /// Its reminder is scheduled; its record's timeline notes it (and its completion).
    async fn after_create(&self, tx: &mut TenantTx, actor: &Actor) -> AppResult<()> {
        schedule_reminder(tx, self).await?;
        task_event(tx, actor, self, "task_created").await?;
        if self.is_done {
            task_event(tx, actor, self, "task_completed").await?;
        }
        Ok(())
    }

    /// A completion goes to its record's timeline; a moved reminder is scheduled again.
    async fn after_update(
        before: &Self,
        after: &Self,
        tx: &mut TenantTx,
        actor: &Actor,
    ) -> AppResult<()> {
        if !before.is_done && after.is_done {
            task_event(tx, actor, after, "task_completed").await?;
        }
        if after.remind_at != before.remind_at {
            schedule_reminder(tx, after).await?;
        }
        Ok(())
    }

    async fn insert(tx: &mut TenantTx, actor: &Actor, fields: &TaskFields) -> Result<Self> {
        store_tasks::insert(tx, actor.user_id, fields).await
    }
    async fn update(tx: &mut TenantTx, current: &Self, fields: &TaskFields) -> Result<()> {
        store_tasks::update(tx, current, fields).await
    }
}
