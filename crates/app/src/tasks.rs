//! Tasks: the contract's rules (no past due date, members only on their own deals, links within
//! the organization), and timeline entries when a task is created or completed.

use chrono::NaiveDate;
use rapport_domain::{
    Action, CompanyId, ContactId, DealId, Object, Ownership, Role, TaskId, UserId, ValidationErrors,
};
use rapport_store::activities::{self as store_activities, NewActivity};
use rapport_store::keyset::SortValue;
use rapport_store::tasks::{self as store_tasks, Task, TaskFields, TaskFilter, TaskSort};
use rapport_store::{TenantTx, companies, contacts, deals, memberships};
use serde_json::json;

use crate::audit::{changes_and, entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

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

#[derive(Clone, Debug)]
pub struct TaskQuery {
    pub filter: TaskFilter,
    pub sort: TaskSort,
    pub descending: bool,
    pub after: Option<(SortValue, TaskId)>,
    pub page: u64,
    pub page_size: u64,
}

pub struct TaskPage {
    pub items: Vec<Task>,
    pub total: i64,
    pub total_is_exact: bool,
    pub next: Option<(SortValue, TaskId)>,
}

const COUNT_CAP: i64 = 10_000;

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
        .map(|id| ("deal", id))
        .or(t.record_id.map(|id| ("record", id)))
        .or(t.contact_id.map(|id| ("contact", id)))
        .or(t.company_id.map(|id| ("company", id)))
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

impl App {
    /// How the actor relates to a task: its assignee, its creator (when it has no deal), or the
    /// owner of its deal "own" it.
    async fn task_relation(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        t: &Task,
    ) -> AppResult<Ownership> {
        if t.assignee_id == actor.user_id {
            return Ok(Ownership::Own);
        }
        match t.deal_id {
            Some(deal) => {
                let owner = deals::find(tx, DealId(deal)).await?.map(|d| d.owner_id);
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
    async fn task_fields(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        current: Option<&Task>,
        change: &TaskChange,
    ) -> AppResult<TaskFields> {
        let mut errors = ValidationErrors::new();
        let title = match (&change.title, current) {
            (Some(raw), _) => {
                let t = raw.trim();
                if t.is_empty() {
                    errors.add("title", "is required");
                } else if t.chars().count() > 200 {
                    errors.add("title", "must be at most 200 characters");
                }
                t.to_owned()
            }
            (None, Some(t)) => t.title.clone(),
            (None, None) => {
                errors.add("title", "is required");
                String::new()
            }
        };
        let description = match &change.description {
            Some(Some(d)) => {
                let d = d.trim();
                if d.chars().count() > 10_000 {
                    errors.add("description", "must be at most 10000 characters");
                }
                (!d.is_empty()).then(|| d.to_owned())
            }
            Some(None) => None,
            None => current.and_then(|t| t.description.clone()),
        };
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
        if change.assignee_id.is_some()
            && memberships::find_by_user(tx, assignee_id).await?.is_none()
        {
            errors.add("assignee_id", "must be a member of this organization");
        }
        let mut deal_owner = None;
        let deal_id = match change.deal_id {
            Some(Some(id)) => {
                match deals::find(tx, id).await? {
                    Some(d) => deal_owner = Some(d.owner_id),
                    None => errors.add("deal_id", "no such deal in this organization"),
                }
                Some(id)
            }
            Some(None) => None,
            None => current.and_then(|t| t.deal_id.map(DealId)),
        };
        let contact_id = match change.contact_id {
            Some(Some(id)) => {
                if contacts::find(tx, id).await?.is_none() {
                    errors.add("contact_id", "no such contact in this organization");
                }
                Some(id)
            }
            Some(None) => None,
            None => current.and_then(|t| t.contact_id.map(ContactId)),
        };
        let company_id = match change.company_id {
            Some(Some(id)) => {
                if companies::find(tx, id).await?.is_none() {
                    errors.add("company_id", "no such company in this organization");
                }
                Some(id)
            }
            Some(None) => None,
            None => current.and_then(|t| t.company_id.map(CompanyId)),
        };
        let record_id = match change.record_id {
            Some(Some(id)) => {
                if rapport_store::records::live(tx, id).await?.is_none() {
                    errors.add("record_id", "no such record in this organization");
                }
                Some(id)
            }
            Some(None) => None,
            None => current.and_then(|t| t.record_id.map(rapport_domain::RecordId)),
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

    pub async fn create_task(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        change: TaskChange,
        meta: &RequestMeta,
    ) -> AppResult<Task> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Task,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = match self
            .task_fields(&mut tx, actor, tenant, None, &change)
            .await
        {
            Err(AppError::Forbidden) => {
                drop(tx);
                self.record_denial(actor, tenant, meta, Action::Create, Object::Task)
                    .await;
                return Err(AppError::Forbidden);
            }
            other => other?,
        };
        let mut task = store_tasks::insert(&mut tx, actor.user_id, &fields).await?;
        if let Some(c) = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Task,
                    id: task.id.as_uuid(),
                    custom: &task.custom.0,
                },
                change.custom.as_ref(),
                true,
            )
            .await?
        {
            task.custom.0 = serde_json::Value::Object(c.document);
        }
        schedule_reminder(&mut tx, &task).await?;
        task_event(&mut tx, actor, &task, "task_created").await?;
        if task.is_done {
            task_event(&mut tx, actor, &task, "task_completed").await?;
        }
        let mut e = with_target(entry(Some(actor), meta, "task.created"), "task", task.id);
        e.changes = Some(json!({"title": task.title, "assignee_id": task.assignee_id}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(task)
    }

    pub async fn task(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TaskId,
        meta: &RequestMeta,
    ) -> AppResult<Task> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Task,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let task = store_tasks::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(task)
    }

    pub async fn update_task(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TaskId,
        change: TaskChange,
        meta: &RequestMeta,
    ) -> AppResult<Task> {
        self.task(actor, tenant, id, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_tasks::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let relation = self.task_relation(&mut tx, actor, &current).await?;
        if !rapport_domain::decide(tenant.role, Action::Edit, Object::Task, relation).is_allowed() {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Edit, Object::Task)
                .await;
            return Err(AppError::Forbidden);
        }
        let fields = match self
            .task_fields(&mut tx, actor, tenant, Some(&current), &change)
            .await
        {
            Err(AppError::Forbidden) => {
                drop(tx);
                self.record_denial(actor, tenant, meta, Action::Edit, Object::Task)
                    .await;
                return Err(AppError::Forbidden);
            }
            other => other?,
        };
        store_tasks::update(&mut tx, &current, &fields).await?;
        let custom = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Task,
                    id: id.as_uuid(),
                    custom: &current.custom.0,
                },
                change.custom.as_ref(),
                false,
            )
            .await?;
        let after = store_tasks::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !current.is_done && after.is_done {
            task_event(&mut tx, actor, &after, "task_completed").await?;
        }
        if after.remind_at != current.remind_at {
            schedule_reminder(&mut tx, &after).await?;
        }
        if let Some(diff) = changes_and(
            &[
                ("title", json!(current.title), json!(after.title)),
                (
                    "description",
                    json!(current.description),
                    json!(after.description),
                ),
                ("due_date", json!(current.due_date), json!(after.due_date)),
                (
                    "assignee_id",
                    json!(current.assignee_id),
                    json!(after.assignee_id),
                ),
                ("deal_id", json!(current.deal_id), json!(after.deal_id)),
                (
                    "contact_id",
                    json!(current.contact_id),
                    json!(after.contact_id),
                ),
                (
                    "company_id",
                    json!(current.company_id),
                    json!(after.company_id),
                ),
                (
                    "record_id",
                    json!(current.record_id),
                    json!(after.record_id),
                ),
                ("is_done", json!(current.is_done), json!(after.is_done)),
                (
                    "remind_at",
                    json!(current.remind_at),
                    json!(after.remind_at),
                ),
            ],
            custom.as_ref(),
        ) {
            let mut e = with_target(entry(Some(actor), meta, "task.updated"), "task", id);
            e.changes = Some(diff);
            crate::events::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_task(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TaskId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.task(actor, tenant, id, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_tasks::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let relation = self.task_relation(&mut tx, actor, &current).await?;
        if !rapport_domain::decide(tenant.role, Action::Delete, Object::Task, relation).is_allowed()
        {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Delete, Object::Task)
                .await;
            return Err(AppError::Forbidden);
        }
        store_tasks::delete(&mut tx, id).await?;
        let mut e = with_target(entry(Some(actor), meta, "task.deleted"), "task", id);
        e.changes = Some(json!({"title": current.title}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_tasks(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        q: TaskQuery,
        meta: &RequestMeta,
    ) -> AppResult<TaskPage> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Task,
            Ownership::NotApplicable,
        )
        .await?;
        let offset = crate::paging::offset(q.after.is_some(), q.page, q.page_size);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let mut items = store_tasks::list(
            &mut tx,
            &q.filter,
            q.sort,
            q.descending,
            q.after.as_ref(),
            offset,
            q.page_size,
        )
        .await?;
        let has_more = crate::paging::cut(&mut items, q.page_size);
        let (total, total_is_exact) = store_tasks::count(&mut tx, &q.filter, COUNT_CAP).await?;
        tx.commit().await?;
        let next = if has_more {
            items.last().map(|t| (q.sort.value_of(t), t.id))
        } else {
            None
        };
        Ok(TaskPage {
            items,
            total,
            total_is_exact,
            next,
        })
    }
}
