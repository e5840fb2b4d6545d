//! Notifications: who should hear of an event, in the app and by email, and each person's
//! choices. The dispatcher calls [`on_event`] inside its transaction, so a notification exists
//! once per (event, person, kind) however often dispatch is retried; email leaves through jobs.

use std::collections::HashMap;

use chrono::{Timelike, Utc};
use rapport_domain::notification::{EmailChoice, NotificationKind};
use rapport_domain::{NotificationId, OrganizationId, UserId};
use rapport_store::events::Event;
use rapport_store::jobs::{self as store_jobs};
use rapport_store::notifications::{self as store, NewNotification, Notification};
use rapport_store::{Db, TenantTx, Tx};
use serde_json::{Value, json};

use crate::jobs::{JobSpec, kind, queue};
use crate::live::LiveEvent;
use crate::mail::Email;
use crate::{Actor, App, AppError, AppResult, Tenant};
use rapport_domain::organization::TimeZone;

/// A person's choice for one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub kind: NotificationKind,
    pub in_app: bool,
    pub email: EmailChoice,
}

async fn choice(tx: &mut Tx, user: UserId, kind: NotificationKind) -> AppResult<Choice> {
    Ok(choice_among(&store::preferences(tx, user).await?, kind))
}

/// The choice for `kind` among a person's preferences (its default when they made none).
fn choice_among(preferences: &[store::Preference], kind: NotificationKind) -> Choice {
    let (in_app, email) = preferences
        .iter()
        .find(|p| p.kind == kind.as_str())
        .and_then(|p| Some((p.in_app, EmailChoice::parse(&p.email)?)))
        .unwrap_or_else(|| kind.default_choice());
    Choice {
        kind,
        in_app,
        email,
    }
}

/// People's notification preferences, each person's read once, apart from the organization's
/// transaction (preferences are the person's, across organizations).
struct Choices<'a> {
    db: &'a Db,
    read: HashMap<UserId, Vec<store::Preference>>,
}

impl<'a> Choices<'a> {
    fn new(db: &'a Db) -> Self {
        Choices {
            db,
            read: HashMap::new(),
        }
    }

    async fn of(&mut self, user: UserId, kind: NotificationKind) -> AppResult<Choice> {
        if !self.read.contains_key(&user) {
            let mut tx = self.db.platform_read().await?;
            let preferences = store::preferences(&mut tx, user).await?;
            tx.commit().await?;
            self.read.insert(user, preferences);
        }
        Ok(choice_among(&self.read[&user], kind))
    }
}

/// What to tell one person.
struct Draft {
    user: UserId,
    kind: NotificationKind,
    title: String,
    body: String,
    record_type: Option<String>,
    record_id: Option<uuid::Uuid>,
}

fn link(slug: &str, record_type: Option<&str>, record_id: Option<uuid::Uuid>) -> String {
    let base = format!("/o/{slug}");
    match (record_type, record_id) {
        (Some("deal"), Some(id)) => format!("{base}/deals/{id}"),
        (Some("company"), Some(id)) => format!("{base}/companies/{id}"),
        (Some("contact"), Some(id)) => format!("{base}/contacts/{id}"),
        (Some("lead"), Some(id)) => format!("{base}/leads/{id}"),
        (Some("record"), Some(id)) => format!("{base}/records/{id}"),
        (Some("task"), Some(id)) => format!("{base}/tasks/{id}"),
        (Some("task"), None) => format!("{base}/tasks"),
        (Some("membership"), _) => format!("{base}/settings/members"),
        (Some("webhook"), Some(id)) => format!("{base}/settings/webhooks/{id}"),
        _ => format!("{base}/notifications"),
    }
}

/// Writes the notifications `event` causes, queues their immediate email, and returns the live
/// messages to send to each recipient once the transaction commits.
pub(crate) async fn on_event(
    db: &Db,
    tenant_tx: &mut TenantTx,
    event: &Event,
) -> AppResult<Vec<LiveEvent>> {
    let org = event.organization_id;
    let tx = tenant_tx.raw();
    let actor = event.actor_id.map(UserId);
    let actor_name = match actor {
        Some(id) => rapport_store::users::person(tx, id).await?.map(|u| u.name),
        None => None,
    }
    .unwrap_or_else(|| "Rapport".to_owned());
    let payload = &event.payload.0;
    let mut drafts = Vec::new();
    match event.event_type.as_str() {
        "task.assigned" => {
            let to = payload["to"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .map(UserId);
            if let (Some(to), Some(task_id)) = (to, event.record_id)
                && Some(to) != actor
                && let Some(task) = store::task(tx, org, task_id).await?
                && !task.is_done
            {
                drafts.push(Draft {
                    user: to,
                    kind: NotificationKind::TaskAssigned,
                    title: format!("{actor_name} assigned you “{}”", task.title),
                    body: String::new(),
                    record_type: Some("task".into()),
                    record_id: Some(task_id),
                });
            }
        }
        "comment.created" => {
            let mentioned: Vec<UserId> = payload["mentions"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|v| v.as_str()?.parse().ok().map(UserId))
                        .collect()
                })
                .unwrap_or_default();
            if let (Some(kind), Some(id)) = (&event.record_type, event.record_id) {
                let title = store::record_title(tx, org, kind, id)
                    .await?
                    .unwrap_or_else(|| "a record".into());
                for user in mentioned {
                    if Some(user) == actor {
                        continue;
                    }
                    drafts.push(Draft {
                        user,
                        kind: NotificationKind::Mention,
                        title: format!("{actor_name} mentioned you on “{title}”"),
                        body: String::new(),
                        record_type: Some(kind.clone()),
                        record_id: Some(id),
                    });
                }
                // A client wrote in the portal: the record's owner hears of it.
                if let Some(client) = payload["client"]["name"].as_str() {
                    let facts = match kind.as_str() {
                        "deal" => store::deal(tx, org, id).await?,
                        "record" => store::custom_record(tx, org, id).await?,
                        _ => None,
                    };
                    if let Some(facts) = facts {
                        drafts.push(Draft {
                            user: facts.owner_id,
                            kind: NotificationKind::ClientMessage,
                            title: format!("{client} (client) wrote on “{title}”"),
                            body: payload["text"]
                                .as_str()
                                .map(|t| t.chars().take(280).collect())
                                .unwrap_or_default(),
                            record_type: Some(kind.clone()),
                            record_id: Some(id),
                        });
                    }
                }
            }
        }
        "deal.updated" => {
            if let Some(id) = event.record_id
                && let Some(deal) = store::deal(tx, org, id).await?
                && Some(deal.owner_id) != actor
            {
                let Some(changed) =
                    crate::roles::told_names(tx, org, deal.owner_id, "deal", &event.changed.0)
                        .await?
                else {
                    return Ok(Vec::new());
                };
                let what = if let Some(stage) = payload["stage"]["after"].as_str() {
                    format!("moved “{}” to {stage}", deal.title)
                } else if let Some(status) = payload["status"]["after"].as_str() {
                    format!("marked “{}” {status}", deal.title)
                } else {
                    format!("changed “{}”", deal.title)
                };
                drafts.push(Draft {
                    user: deal.owner_id,
                    kind: NotificationKind::DealChanged,
                    title: format!("{actor_name} {what}"),
                    body: format!("Changed: {}", changed.join(", ")),
                    record_type: Some("deal".into()),
                    record_id: Some(id),
                });
            }
        }
        "record.created" | "record.updated" => {
            if let Some(id) = event.record_id
                && let Some(record) = store::custom_record(tx, org, id).await?
                && Some(record.owner_id) != actor
            {
                let handed = event.event_type == "record.created"
                    || event.changed.0.iter().any(|c| c == "owner_id");
                let kind = event.record_type.clone().unwrap_or_default();
                let Some(changed) =
                    crate::roles::told_names(tx, org, record.owner_id, &kind, &event.changed.0)
                        .await?
                else {
                    return Ok(Vec::new());
                };
                let title = if record.title.is_empty() {
                    "a record".to_owned()
                } else {
                    format!("“{}”", record.title)
                };
                let (title, body) = if handed {
                    (format!("{actor_name} gave you {title}"), String::new())
                } else {
                    (
                        format!("{actor_name} changed {title}"),
                        format!("Changed: {}", changed.join(", ")),
                    )
                };
                drafts.push(Draft {
                    user: record.owner_id,
                    kind: NotificationKind::RecordChanged,
                    title,
                    body,
                    record_type: Some("record".into()),
                    record_id: Some(id),
                });
            }
        }
        "member.invitation_accepted" => {
            if let Some(email) = payload["email"].as_str()
                && let Some(inviter) = store::inviter(tx, org, email).await?
                && Some(inviter) != actor
            {
                drafts.push(Draft {
                    user: inviter,
                    kind: NotificationKind::InvitationAccepted,
                    title: format!("{actor_name} ({email}) accepted your invitation"),
                    body: String::new(),
                    record_type: event.record_type.clone(),
                    record_id: event.record_id,
                });
            }
        }
        _ => {}
    }
    let mut live = Vec::new();
    if drafts.is_empty() {
        return Ok(live);
    }
    let Some(organization) = rapport_store::organizations::find(tx, org).await? else {
        return Ok(live);
    };
    let mut choices = Choices::new(db);
    for draft in drafts {
        if let Some(message) = deliver(
            &mut choices,
            tenant_tx,
            &organization.slug,
            event.id.as_uuid(),
            actor,
            draft,
        )
        .await?
        {
            live.push(message);
        }
    }
    Ok(live)
}

/// Writes one notification as its recipient chose, queues its email if immediate; returns the
/// live message for the recipient's `user` channel.
async fn deliver(
    choices: &mut Choices<'_>,
    tenant_tx: &mut TenantTx,
    slug: &str,
    occasion: uuid::Uuid,
    actor: Option<UserId>,
    draft: Draft,
) -> AppResult<Option<LiveEvent>> {
    let org = tenant_tx.organization_id();
    let tx = tenant_tx.raw();
    if !store::is_member(tx, org, draft.user).await? {
        return Ok(None);
    }
    let choice = choices.of(draft.user, draft.kind).await?;
    if !choice.in_app && choice.email == EmailChoice::Never {
        return Ok(None);
    }
    let link = link(slug, draft.record_type.as_deref(), draft.record_id);
    let Some(id) = store::insert(
        tx,
        NewNotification {
            organization_id: org,
            user_id: draft.user,
            kind: draft.kind.as_str().to_owned(),
            event_id: occasion,
            record_type: draft.record_type,
            record_id: draft.record_id,
            actor_id: actor,
            title: draft.title,
            body: draft.body,
            link,
            email: choice.email.as_str().to_owned(),
        },
    )
    .await?
    else {
        return Ok(None);
    };
    if !choice.in_app {
        // Email only: it never counts as unread in the app.
        store::mark_read_any(tx, id).await?;
    }
    if choice.email == EmailChoice::Immediate {
        let mut job = JobSpec::new(queue::DEFAULT, kind::EMAIL_NOTIFICATION, json!({"id": id}));
        job.dedupe_key = Some(format!("notification-email:{id}"));
        job.max_attempts = 6;
        store_jobs::enqueue(tx, job.into_new_job(Some(org))).await?;
    }
    Ok(choice.in_app.then(|| LiveEvent {
        organization_id: org,
        event_id: rapport_domain::EventId(id.as_uuid()),
        event: "notification.created".into(),
        record_type: Some("notification".into()),
        record_id: Some(id.as_uuid()),
        changed: Vec::new(),
        actor_id: actor,
        at: Utc::now(),
        user_id: Some(draft.user),
    }))
}

/// Notifies one member of something no outbox event describes (a webhook turned off), as they
/// chose; returns the live message to publish after the commit.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn notify(
    db: &Db,
    tx: &mut TenantTx,
    occasion: uuid::Uuid,
    actor: Option<UserId>,
    user: UserId,
    kind: NotificationKind,
    title: String,
    body: String,
    record: Option<(&str, uuid::Uuid)>,
) -> AppResult<Option<LiveEvent>> {
    let org = tx.organization_id();
    let Some(organization) = rapport_store::organizations::find(tx.raw(), org).await? else {
        return Ok(None);
    };
    deliver(
        &mut Choices::new(db),
        tx,
        &organization.slug,
        occasion,
        actor,
        Draft {
            user,
            kind,
            title,
            body,
            record_type: record.map(|(t, _)| t.to_owned()),
            record_id: record.map(|(_, id)| id),
        },
    )
    .await
}

/// The text of a notification email.
fn email_text(app: &App, n: &Notification) -> String {
    let mut text = format!("{}\n", n.title);
    if !n.body.is_empty() {
        text.push_str(&format!("{}\n", n.body));
    }
    text.push_str(&format!(
        "\nOpen it: {}\n\nChoose what Rapport sends you: {}\n",
        app.link(&n.link),
        app.link(&settings_path(&n.link))
    ));
    text
}

/// The notification settings page in the organization of a notification's link (`/o/{slug}/…`).
fn settings_path(link: &str) -> String {
    let org: Vec<&str> = link.split('/').take(3).collect();
    format!("{}/notifications/settings", org.join("/"))
}

impl App {
    /// Job `notification.email`: emails one notification (once: a retried job after a sent email
    /// finds it marked).
    pub(crate) async fn email_notification(
        &self,
        org: Option<OrganizationId>,
        payload: &Value,
    ) -> AppResult<()> {
        let Some(id) = payload["id"]
            .as_str()
            .and_then(|s| s.parse::<NotificationId>().ok())
        else {
            return Err(AppError::invalid("id", "is not a notification id"));
        };
        let Some(org) = org else {
            return Err(AppError::invalid("job", "names no organization"));
        };
        let mut tx = self.db.tenant_read(org).await?;
        let found = store::get(&mut tx, id).await?;
        let recipient = match &found {
            Some(n) => rapport_store::users::person(tx.raw(), n.user_id).await?,
            None => None,
        };
        tx.commit().await?;
        let (Some(n), Some(recipient)) = (found, recipient) else {
            return Ok(());
        };
        if n.emailed_at.is_some() {
            return Ok(());
        }
        self.mailer
            .send(Email {
                to: recipient.email,
                subject: n.title.clone(),
                text: email_text(self, &n),
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.db.tenant(org).await?;
        store::mark_emailed(&mut tx, &[n.id]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Job `notifications.digest` (hourly): at 8 in the morning in each person's time zone
    /// (their own, else the organization's), emails them the digest notifications gathered
    /// since the last one.
    pub(crate) async fn send_digests(&self) -> AppResult<usize> {
        let mut tx = self.db.platform_read().await?;
        let pairs = store::digest_recipients(&mut tx).await?;
        tx.commit().await?;
        let mut sent = 0;
        for (user, org) in pairs {
            let mut tx = self.db.tenant_read(org).await?;
            let organization = rapport_store::organizations::find(tx.raw(), org).await?;
            let recipient = rapport_store::users::person(tx.raw(), user).await?;
            let pending = store::digest_of(&mut tx, user).await?;
            tx.commit().await?;
            let (Some(organization), Some(recipient)) = (organization, recipient) else {
                continue;
            };
            let tz = zone_or(recipient.time_zone.as_deref(), &organization.time_zone).tz();
            if Utc::now().with_timezone(&tz).hour() != DIGEST_HOUR {
                continue;
            }
            let unread: Vec<&Notification> =
                pending.iter().filter(|n| n.read_at.is_none()).collect();
            if !unread.is_empty() {
                let mut text = format!(
                    "What happened in {} since the last digest:\n\n",
                    organization.name
                );
                for n in &unread {
                    text.push_str(&format!("• {}\n  {}\n", n.title, self.link(&n.link)));
                }
                text.push_str(&format!(
                    "\nChoose what Rapport sends you: {}\n",
                    self.link(&format!("/o/{}/notifications/settings", organization.slug))
                ));
                self.mailer
                    .send(Email {
                        to: recipient.email,
                        subject: format!(
                            "{}: {} update{}",
                            organization.name,
                            unread.len(),
                            if unread.len() == 1 { "" } else { "s" }
                        ),
                        text,
                    })
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                sent += 1;
            }
            let ids: Vec<NotificationId> = pending.iter().map(|n| n.id).collect();
            let mut tx = self.db.tenant(org).await?;
            store::mark_emailed(&mut tx, &ids).await?;
            tx.commit().await?;
        }
        Ok(sent)
    }

    /// The member's notifications in the organization, newest first.
    pub async fn notifications(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        unread_only: bool,
        before: Option<NotificationId>,
        limit: i64,
    ) -> AppResult<Vec<Notification>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = store::list(&mut tx, actor.user_id, unread_only, before, limit).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn unread_notifications(&self, actor: &Actor, tenant: &Tenant) -> AppResult<i64> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let n = store::unread_count(&mut tx, actor.user_id).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Marks one of the member's notifications read; returns it.
    pub async fn mark_notification_read(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: NotificationId,
    ) -> AppResult<Notification> {
        let mut tx = self.db.tenant(tenant.id()).await?;
        if !store::mark_read(&mut tx, actor.user_id, id).await? {
            return Err(AppError::NotFound);
        }
        let notification = store::find(&mut tx, actor.user_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(notification)
    }

    pub async fn mark_all_notifications_read(
        &self,
        actor: &Actor,
        tenant: &Tenant,
    ) -> AppResult<u64> {
        let mut tx = self.db.tenant(tenant.id()).await?;
        let n = store::mark_all_read(&mut tx, actor.user_id).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The person's time zone and their choice for every kind.
    pub async fn notification_preferences(&self, actor: &Actor) -> AppResult<Preferences> {
        let mut tx = self.db.platform_read().await?;
        let mut choices = Vec::new();
        for kind in NotificationKind::ALL {
            choices.push(choice(&mut tx, actor.user_id, kind).await?);
        }
        let time_zone = rapport_store::users::time_zone(&mut tx, actor.user_id).await?;
        tx.commit().await?;
        Ok(Preferences { time_zone, choices })
    }

    /// Changes the person's time zone (when given; `Some(None)` goes back to each
    /// organization's) and their choices for the given kinds.
    pub async fn set_notification_preferences(
        &self,
        actor: &Actor,
        time_zone: Option<Option<String>>,
        choices: &[Choice],
    ) -> AppResult<Preferences> {
        let zone = match &time_zone {
            Some(Some(name)) if !name.trim().is_empty() => Some(Some(
                TimeZone::parse(name.trim())
                    .map_err(|m| AppError::invalid("time_zone", m))?
                    .name()
                    .to_owned(),
            )),
            Some(_) => Some(None),
            None => None,
        };
        let mut tx = self.db.platform().await?;
        if let Some(zone) = &zone {
            rapport_store::users::set_time_zone(&mut tx, actor.user_id, zone.as_deref()).await?;
        }
        for c in choices {
            store::set_preference(
                &mut tx,
                actor.user_id,
                c.kind.as_str(),
                c.in_app,
                c.email.as_str(),
            )
            .await?;
        }
        tx.commit().await?;
        self.notification_preferences(actor).await
    }

    /// The time zone the person lives in here: their own, else the organization's.
    pub async fn time_zone_of(&self, actor: &Actor, tenant: &Tenant) -> TimeZone {
        // Read in the organization's transaction (a page's shared one), which may read people.
        let own = async {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let person = rapport_store::users::person(tx.raw(), actor.user_id).await?;
            tx.commit().await?;
            AppResult::Ok(person.and_then(|p| p.time_zone))
        };
        zone_or(
            own.await.ok().flatten().as_deref(),
            &tenant.organization.time_zone,
        )
    }
}

/// A person's time zone and choices.
#[derive(Clone, Debug)]
pub struct Preferences {
    /// Their own time zone; `None` follows each organization's.
    pub time_zone: Option<String>,
    pub choices: Vec<Choice>,
}

/// The person's own zone if valid, else the organization's, else UTC.
fn zone_or(own: Option<&str>, organization: &str) -> TimeZone {
    own.and_then(|z| TimeZone::parse(z).ok())
        .or_else(|| TimeZone::parse(organization).ok())
        .unwrap_or(TimeZone::DEFAULT)
}

/// The local hour at which digests go out.
pub const DIGEST_HOUR: u32 = 8;

/// An id that is the same each time for the same inputs: the "event" of a notification that no
/// outbox event caused (a task due on a given day), so writing it twice is a no-op.
fn occasion(parts: &[&str]) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes)
}

impl App {
    /// Job `task.remind`: the reminder of a task, once, if it is still set for that time and the
    /// task is still open.
    pub(crate) async fn send_task_reminder(&self, payload: &Value) -> AppResult<()> {
        let task_id = payload["task_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(rapport_domain::TaskId);
        let at = payload["remind_at"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        let org = payload["organization_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(OrganizationId);
        let (Some(task_id), Some(at), Some(org)) = (task_id, at, org) else {
            return Err(AppError::invalid(
                "payload",
                "needs task_id, remind_at and organization_id",
            ));
        };
        let mut tx = self.db.tenant(org).await?;
        let Some(task) = rapport_store::tasks::claim_reminder(tx.raw(), org, task_id, at).await?
        else {
            // Moved, removed, done, or already sent.
            tx.commit().await?;
            return Ok(());
        };
        let Some(organization) = rapport_store::organizations::find(tx.raw(), org).await? else {
            return Ok(());
        };
        let due = task
            .due_date
            .map(|d| format!("Due {}", d.format("%-d %B %Y")))
            .unwrap_or_default();
        let live = deliver(
            &mut Choices::new(&self.db),
            &mut tx,
            &organization.slug,
            occasion(&["reminder", &task.id.to_string(), &at.to_rfc3339()]),
            None,
            Draft {
                user: task.assignee_id,
                kind: NotificationKind::TaskReminder,
                title: format!("Reminder: “{}”", task.title),
                body: due,
                record_type: Some("task".into()),
                record_id: Some(task.id.as_uuid()),
            },
        )
        .await?;
        tx.commit().await?;
        if let Some(message) = live
            && let Err(error) = self.live.publish(&message).await
        {
            tracing::warn!(%error, "publishing a reminder live failed");
        }
        Ok(())
    }

    /// Job `tasks.due` (hourly): at 8:00 in each assignee's time zone (their own, else the
    /// organization's), tells them of their open tasks due that day or overdue, once per task
    /// and day.
    pub(crate) async fn notify_due_tasks(&self) -> AppResult<usize> {
        let mut tx = self.db.platform_read().await?;
        let organizations = rapport_store::organizations::active_ids(&mut tx).await?;
        tx.commit().await?;
        let mut sent = 0;
        for org in organizations {
            let mut tx = self.db.tenant(org).await?;
            let Some(organization) = rapport_store::organizations::find(tx.raw(), org).await?
            else {
                continue;
            };
            // Everyone's "today" is at most a day ahead of UTC's.
            let horizon = Utc::now().date_naive() + chrono::Days::new(1);
            let mut zones: HashMap<UserId, TimeZone> = HashMap::new();
            let mut choices = Choices::new(&self.db);
            let mut live = Vec::new();
            for task in rapport_store::tasks::due_by(tx.raw(), org, horizon, 5000).await? {
                let zone = match zones.get(&task.assignee_id) {
                    Some(zone) => *zone,
                    None => {
                        let person =
                            rapport_store::users::person(tx.raw(), task.assignee_id).await?;
                        let own = person.and_then(|p| p.time_zone);
                        let zone = zone_or(own.as_deref(), &organization.time_zone);
                        zones.insert(task.assignee_id, zone);
                        zone
                    }
                };
                let local = Utc::now().with_timezone(&zone.tz());
                let today = local.date_naive();
                if local.hour() != DIGEST_HOUR || task.due_date.is_none_or(|d| d > today) {
                    continue;
                }
                let Some(due) = task.due_date else { continue };
                let title = if due == today {
                    format!("“{}” is due today", task.title)
                } else {
                    format!("“{}” is overdue (due {})", task.title, due.format("%-d %B"))
                };
                if let Some(message) = deliver(
                    &mut choices,
                    &mut tx,
                    &organization.slug,
                    occasion(&["due", &task.id.to_string(), &today.to_string()]),
                    None,
                    Draft {
                        user: task.assignee_id,
                        kind: NotificationKind::TaskDue,
                        title,
                        body: String::new(),
                        record_type: Some("task".into()),
                        record_id: Some(task.id.as_uuid()),
                    },
                )
                .await?
                {
                    live.push(message);
                }
            }
            tx.commit().await?;
            sent += live.len();
            for message in live {
                if let Err(error) = self.live.publish(&message).await {
                    tracing::warn!(%error, "publishing a due-task notification live failed");
                }
            }
        }
        Ok(sent)
    }
}
