//! Notifications and each person's preferences for them.

use chrono::{DateTime, Utc};
use rapport_domain::{NotificationId, OrganizationId, UserId};

use crate::{Result, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Notification {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: NotificationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub kind: String,
    pub event_id: uuid::Uuid,
    pub record_type: Option<String>,
    pub record_id: Option<uuid::Uuid>,
    pub actor_id: Option<uuid::Uuid>,
    pub title: String,
    pub body: String,
    pub link: String,
    pub read_at: Option<DateTime<Utc>>,
    /// never, immediate or digest: how it is (or was) emailed.
    pub email: String,
    pub emailed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, user_id, kind, event_id, record_type, record_id, actor_id, title, body, \
     link, read_at, email, emailed_at, created_at";

/// A notification about to be written.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub kind: String,
    /// The event (or, for reminders, the occasion) it comes from: with the user and kind, it
    /// identifies the notification, so writing it twice is a no-op.
    pub event_id: uuid::Uuid,
    pub record_type: Option<String>,
    pub record_id: Option<uuid::Uuid>,
    pub actor_id: Option<UserId>,
    pub title: String,
    pub body: String,
    pub link: String,
    pub email: String,
}

/// Writes a notification (platform scope: the dispatcher and jobs write for any organization).
/// Returns `None` when it exists already.
pub async fn insert(tx: &mut Tx, n: NewNotification) -> Result<Option<NotificationId>> {
    let id = NotificationId::new();
    let inserted = tx
        .execute(
            query(
                "INSERT INTO notifications (id, organization_id, user_id, kind, event_id, record_type, record_id, \
                 actor_id, title, body, link, email, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (event_id, user_id, kind) DO NOTHING",
            )
            .bind(id)
            .bind(n.organization_id)
            .bind(n.user_id)
            .bind(n.kind)
            .bind(n.event_id)
            .bind(n.record_type)
            .bind(n.record_id)
            .bind(n.actor_id)
            .bind(n.title)
            .bind(n.body)
            .bind(n.link)
            .bind(n.email)
            .bind(crate::now()),
        )
        .await?;
    Ok((inserted == 1).then_some(id))
}

/// A member's notifications in the organization, newest first, before `before` (a cursor).
pub async fn list(
    tx: &mut TenantTx,
    user: UserId,
    unread_only: bool,
    before: Option<NotificationId>,
    limit: i64,
) -> Result<Vec<Notification>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM notifications WHERE organization_id = $1 AND user_id = $2 \
                 AND ($3 = FALSE OR read_at IS NULL) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
            ))
            .bind(org)
            .bind(user)
            .bind(unread_only)
            .bind(before)
            .bind(limit),
        )
        .await
}

pub async fn unread_count(tx: &mut TenantTx, user: UserId) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let org = tx.organization_id();
    let count: Count = tx
        .raw()
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM notifications WHERE organization_id = $1 AND user_id = $2 AND read_at IS NULL",
            )
            .bind(org)
            .bind(user),
        )
        .await?;
    Ok(count.n)
}

/// One of the member's notifications.
pub async fn find(
    tx: &mut TenantTx,
    user: UserId,
    id: NotificationId,
) -> Result<Option<Notification>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM notifications WHERE organization_id = $1 AND user_id = $2 AND id = $3"
            ))
            .bind(org)
            .bind(user)
            .bind(id),
        )
        .await
}

/// Marks one of the member's notifications read; false when it is not theirs (or missing).
pub async fn mark_read(tx: &mut TenantTx, user: UserId, id: NotificationId) -> Result<bool> {
    let org = tx.organization_id();
    let changed = tx
        .raw()
        .execute(
            query(
                "UPDATE notifications SET read_at = COALESCE(read_at, $1) \
                 WHERE organization_id = $2 AND user_id = $3 AND id = $4",
            )
            .bind(crate::now())
            .bind(org)
            .bind(user)
            .bind(id),
        )
        .await?;
    Ok(changed == 1)
}

/// Marks a notification read from the start (one its recipient wants by email only).
pub async fn mark_read_any(tx: &mut Tx, id: NotificationId) -> Result<()> {
    tx.execute(query("UPDATE notifications SET read_at = created_at WHERE id = $1").bind(id))
        .await?;
    Ok(())
}

/// Marks every unread notification of the member read; returns how many.
pub async fn mark_all_read(tx: &mut TenantTx, user: UserId) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE notifications SET read_at = $1 \
                 WHERE organization_id = $2 AND user_id = $3 AND read_at IS NULL",
            )
            .bind(crate::now())
            .bind(org)
            .bind(user),
        )
        .await
}

/// One notification, any organization (for the jobs that email it).
pub async fn get(tx: &mut TenantTx, id: NotificationId) -> Result<Option<Notification>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM notifications WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

pub async fn mark_emailed(tx: &mut TenantTx, ids: &[NotificationId]) -> Result<()> {
    let now = crate::now();
    let org = tx.organization_id();
    for id in ids {
        tx.raw()
            .execute(
                query(
                    "UPDATE notifications SET emailed_at = $1 WHERE organization_id = $2 \
                     AND id = $3 AND emailed_at IS NULL",
                )
                .bind(now)
                .bind(org)
                .bind(*id),
            )
            .await?;
    }
    Ok(())
}

/// (user, organization) pairs with digest notifications not yet emailed.
pub async fn digest_recipients(tx: &mut Tx) -> Result<Vec<(UserId, OrganizationId)>> {
    #[derive(sqlx::FromRow)]
    struct Pair {
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
        #[sqlx(try_from = "uuid::Uuid")]
        organization_id: OrganizationId,
    }
    let pairs: Vec<Pair> = tx
        .fetch_all(query(
            "SELECT DISTINCT user_id, organization_id FROM notifications \
             WHERE email = 'digest' AND emailed_at IS NULL",
        ))
        .await?;
    Ok(pairs
        .into_iter()
        .map(|p| (p.user_id, p.organization_id))
        .collect())
}

/// A member's digest notifications not yet emailed, oldest first (read ones included: the
/// digest marks them emailed without listing them).
pub async fn digest_of(tx: &mut TenantTx, user: UserId) -> Result<Vec<Notification>> {
    let organization = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND organization_id = $2 \
             AND email = 'digest' AND emailed_at IS NULL ORDER BY id"
            ))
            .bind(user)
            .bind(organization),
        )
        .await
}

// Preferences

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Preference {
    pub kind: String,
    pub in_app: bool,
    pub email: String,
}

/// The choices a person has made (kinds without a row use their default).
pub async fn preferences(tx: &mut Tx, user: UserId) -> Result<Vec<Preference>> {
    tx.fetch_all(
        query("SELECT kind, in_app, email FROM notification_preferences WHERE user_id = $1")
            .bind(user),
    )
    .await
}

pub async fn set_preference(
    tx: &mut Tx,
    user: UserId,
    kind: &str,
    in_app: bool,
    email: &str,
) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO notification_preferences (user_id, kind, in_app, email) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, kind) DO UPDATE SET in_app = excluded.in_app, email = excluded.email",
        )
        .bind(user)
        .bind(kind)
        .bind(in_app)
        .bind(email),
    )
    .await?;
    Ok(())
}

// What a notification says: titles and recipients, read in the transaction of the event's
// organization.

/// Whether the user is (still) an active member of the organization.
pub async fn is_member(tx: &mut Tx, organization: OrganizationId, user: UserId) -> Result<bool> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let count: Count = tx
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM memberships WHERE organization_id = $1 AND user_id = $2 \
                 AND deactivated_at IS NULL",
            )
            .bind(organization)
            .bind(user),
        )
        .await?;
    Ok(count.n > 0)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TaskFacts {
    pub title: String,
    #[sqlx(try_from = "uuid::Uuid")]
    pub assignee_id: UserId,
    pub is_done: bool,
}

pub async fn task(
    tx: &mut Tx,
    organization: OrganizationId,
    id: uuid::Uuid,
) -> Result<Option<TaskFacts>> {
    tx.fetch_optional(
        query(
            "SELECT title, assignee_id, is_done FROM tasks WHERE organization_id = $1 AND id = $2",
        )
        .bind(organization)
        .bind(id),
    )
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DealFacts {
    pub title: String,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
}

pub async fn deal(
    tx: &mut Tx,
    organization: OrganizationId,
    id: uuid::Uuid,
) -> Result<Option<DealFacts>> {
    tx.fetch_optional(
        query("SELECT title, owner_id FROM deals WHERE organization_id = $1 AND id = $2")
            .bind(organization)
            .bind(id),
    )
    .await
}

/// A custom object's record: its title and owner (same shape as a deal's).
pub async fn custom_record(
    tx: &mut Tx,
    organization: OrganizationId,
    id: uuid::Uuid,
) -> Result<Option<DealFacts>> {
    tx.fetch_optional(
        query("SELECT title, owner_id FROM records WHERE organization_id = $1 AND id = $2")
            .bind(organization)
            .bind(id),
    )
    .await
}

/// The name or title of a company, contact, lead or deal.
pub async fn record_title(
    tx: &mut Tx,
    organization: OrganizationId,
    record_type: &str,
    id: uuid::Uuid,
) -> Result<Option<String>> {
    #[derive(sqlx::FromRow)]
    struct Title {
        title: String,
    }
    let sql = match record_type {
        "company" => "SELECT name AS title FROM companies WHERE organization_id = $1 AND id = $2",
        "contact" => "SELECT name AS title FROM contacts WHERE organization_id = $1 AND id = $2",
        "lead" => "SELECT name AS title FROM leads WHERE organization_id = $1 AND id = $2",
        "deal" => "SELECT title FROM deals WHERE organization_id = $1 AND id = $2",
        "record" => "SELECT title FROM records WHERE organization_id = $1 AND id = $2",
        _ => return Ok(None),
    };
    Ok(tx
        .fetch_optional::<Title>(query(sql).bind(organization).bind(id))
        .await?
        .map(|t| t.title))
}

/// Who sent the invitation that `email` accepted last in the organization.
pub async fn inviter(
    tx: &mut Tx,
    organization: OrganizationId,
    email: &str,
) -> Result<Option<UserId>> {
    #[derive(sqlx::FromRow)]
    struct By {
        invited_by: Option<uuid::Uuid>,
    }
    Ok(tx
        .fetch_optional::<By>(
            query(
                "SELECT invited_by FROM invitations WHERE organization_id = $1 AND lower(email) = lower($2) \
                 AND accepted_at IS NOT NULL ORDER BY accepted_at DESC LIMIT 1",
            )
            .bind(organization)
            .bind(email),
        )
        .await?
        .and_then(|b| b.invited_by)
        .map(UserId))
}
