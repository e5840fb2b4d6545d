//! Tasks: the contract's rules (no past due date, members only on their own deals, links within
//! the organization), and timeline entries when a task is created or completed.

use rapport_domain::{Ownership, TaskId};
use rapport_store::deals::Deal;
use rapport_store::tables;
use rapport_store::tasks::{self as store_tasks, Task, TaskFields};
use rapport_store::{Result, TenantTx};
use serde_json::{Value as Json, json};

use crate::changes::Checked;
use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record};
use crate::timeline::note;
use crate::{Actor, AppError, AppResult, Tenant};

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
    if let Some(record) = timeline_of(t) {
        note(
            tx,
            actor,
            record,
            kind,
            json!({"task_id": t.id, "title": t.title}),
        )
        .await?;
    }
    Ok(())
}

/// How the actor relates to a task: the nearer of how they relate to its assignee and to the
/// owner of its deal (or, without a deal, its maker) — as the lists' reach reads it.
pub(crate) async fn relation(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    t: &Task,
) -> AppResult<Ownership> {
    let assignee = tenant.relation(actor, t.assignee_id);
    let other = match t.deal_id {
        Some(deal) => match tables::find::<Deal>(tx, deal).await? {
            Some(d) => tenant.relation(actor, d.owner_id),
            None => Ownership::Others,
        },
        None => tenant.relation(actor, t.created_by),
    };
    Ok(nearer(assignee, other))
}

/// The nearer of two relations: own, then a teammate's, then someone else's.
fn nearer(a: Ownership, b: Ownership) -> Ownership {
    let rank = |o: Ownership| match o {
        Ownership::Own => 0,
        Ownership::Team => 1,
        Ownership::NotApplicable => 2,
        Ownership::Others => 3,
    };
    if rank(a) <= rank(b) { a } else { b }
}

impl BuiltinKind for Task {
    const OWN_INPUTS: &'static [&'static str] = &["record_id"];
    type Fields = TaskFields;
    const KIND: Kind = Kind::Task;

    builtin_record! {
        id: TaskId,
        owner: assignee_id,
        named: title,
        diff: [title, description, due_date, assignee_id, deal_id, contact_id, company_id, record_id, is_done, remind_at, portal_visible],
    }

    const TIMELINE: bool = false;

    fn created(&self) -> Json {
        json!({"title": self.title, "assignee_id": self.assignee_id})
    }

    /// A task's columns after a checked change, under the contract's rules: a due date set or
    /// moved is not in the past, a reminder set or moved is in the future, a custom record it is on
    /// is live, and a member puts tasks only on deals they own (`Forbidden`, which the caller
    /// records once its transaction is given up).
    async fn columns(
        tx: &mut TenantTx,
        current: Option<&Self>,
        v: &mut Checked<'_>,
    ) -> AppResult<TaskFields> {
        let (actor, tenant) = (v.actor, v.tenant);
        let due_date = v.optional("due_date", current.and_then(|t| t.due_date));
        if let Some(day) = due_date
            && v.given("due_date").is_some()
            && current.and_then(|t| t.due_date) != Some(day)
            && day < tenant.today()
        {
            v.errors.add(
                "due_date",
                format!(
                    "must be today ({}) or later in the organization's time zone",
                    tenant.today()
                ),
            );
        }
        let remind_at = v.optional("remind_at", current.and_then(|t| t.remind_at));
        if let Some(at) = remind_at
            && v.given("remind_at").is_some()
            && current.and_then(|t| t.remind_at) != Some(at)
            && at <= chrono::Utc::now()
        {
            v.errors.add("remind_at", "must be in the future");
        }
        let record_id = match v.inputs.get("record_id") {
            Some(Json::Null) => None,
            Some(given) => {
                let id = rapport_domain::values::uuid_of(given).map(rapport_domain::RecordId);
                match id {
                    Some(id) if rapport_store::records::live(tx, id).await?.is_some() => Some(id),
                    _ => {
                        v.errors
                            .add("record_id", "no such record in this organization");
                        None
                    }
                }
            }
            None => current.and_then(|t| t.record_id),
        };
        let deal_id = v.link("deal_id", current.and_then(|t| t.deal_id));
        v.settle()?;
        // A role puts tasks only on deals it may change (its own, its teams', anyone's).
        if v.given("deal_id").is_some()
            && let Some(deal) = deal_id
            && let Some(d) = tables::find::<Deal>(tx, deal).await?
            && !tenant.may_kind(
                rapport_domain::access::RecordAction::Edit,
                "deal",
                tenant.relation(actor, d.owner_id),
            )
        {
            return Err(AppError::Forbidden);
        }
        let portal_visible = v.required("portal_visible", current.map(|t| t.portal_visible));
        let contact_id = v.link("contact_id", current.and_then(|t| t.contact_id));
        let company_id = v.link("company_id", current.and_then(|t| t.company_id));
        // A task shown to clients speaks for the records it is on: those who may change them
        // decide to show it, or to move a shown task to other records, as they decide what is
        // shared.
        let showing = current.is_none_or(|t| !t.portal_visible)
            || ["deal_id", "contact_id", "company_id"]
                .iter()
                .any(|k| v.given(k).is_some())
            || v.inputs.contains_key("record_id");
        if portal_visible && showing {
            let on = [
                deal_id.map(crate::timeline::RecordRef::Deal),
                record_id.map(crate::timeline::RecordRef::Record),
                company_id.map(crate::timeline::RecordRef::Company),
                contact_id.map(crate::timeline::RecordRef::Contact),
            ];
            for record in on.into_iter().flatten() {
                if let Some((kind, owner)) = record.kind_and_owner(tx).await?
                    && !tenant.may_kind(
                        rapport_domain::access::RecordAction::Edit,
                        &kind,
                        tenant.relation(actor, owner),
                    )
                {
                    return Err(AppError::Forbidden);
                }
            }
        }
        Ok(TaskFields {
            deal_id,
            contact_id,
            company_id,
            record_id,
            // Given as `null`, the assignee stays (a task always has one).
            assignee_id: v
                .optional("assignee_id", None)
                .or(current.map(|t| t.assignee_id))
                .unwrap_or(actor.user_id),
            title: v.required("title", current.map(|t| t.title.clone())),
            description: v.optional("description", current.and_then(|t| t.description.clone())),
            due_date,
            is_done: v.required("is_done", current.map(|t| t.is_done)),
            remind_at,
            portal_visible,
        })
    }

    async fn relation(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
    ) -> AppResult<Ownership> {
        relation(tx, actor, tenant, self).await
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
