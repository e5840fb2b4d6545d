//! Support access grants: an instance administrator's request to open an organization, and
//! its owners' answer. See `app/support.rs`.

use chrono::{DateTime, Utc};
use rapport_domain::{OrganizationId, UserId};
use uuid::Uuid;

use crate::{Result, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Grant {
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub id: Uuid,
    #[sqlx(try_from = "uuid::Uuid")]
    pub requested_by: UserId,
    /// The requester's email, as the organization reads it.
    pub requester_email: Option<String>,
    pub reason: String,
    /// `read` (as a viewer) or `admin` (as an admin).
    pub access: String,
    pub hours: i64,
    /// `pending`, `approved`, `denied` or `revoked`.
    pub status: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT g.organization_id, g.id, g.requested_by, u.email AS requester_email, \
     g.reason, g.access, g.hours, g.status, g.decided_by, g.decided_at, g.expires_at, g.revoked_at, \
     g.created_at FROM support_grants g LEFT JOIN users u ON u.id = g.requested_by";

/// A new request, pending.
pub struct NewGrant<'a> {
    pub requested_by: UserId,
    pub reason: &'a str,
    pub access: &'a str,
    pub hours: i64,
}

pub async fn insert(tx: &mut TenantTx, new: &NewGrant<'_>) -> Result<Uuid> {
    let org = tx.organization_id();
    let id = Uuid::now_v7();
    tx.raw()
        .execute(
            query(
                "INSERT INTO support_grants (organization_id, id, requested_by, reason, access, hours, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
            )
            .bind(org)
            .bind(id)
            .bind(new.requested_by)
            .bind(new.reason)
            .bind(new.access)
            .bind(new.hours)
            .bind(crate::now()),
        )
        .await?;
    Ok(id)
}

/// The organization's grants, newest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Grant>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "{SELECT} WHERE g.organization_id = $1 ORDER BY g.created_at DESC, g.id DESC"
            ))
            .bind(org),
        )
        .await
}

/// One grant, locked for a decision.
pub async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Option<Grant>> {
    let org = tx.organization_id();
    // Only the grant's row is locked (the requester's is read alongside, outer-joined).
    let lock = match crate::dialect::lock_rows(tx.backend()) {
        "" => "",
        _ => " FOR UPDATE OF g",
    };
    tx.raw()
        .fetch_optional(
            query(format!(
                "{SELECT} WHERE g.organization_id = $1 AND g.id = $2{lock}"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// Records an owner's answer: `approved` (until `expires_at`) or `denied`.
pub async fn decide(
    tx: &mut TenantTx,
    id: Uuid,
    status: &str,
    by: UserId,
    expires_at: Option<DateTime<Utc>>,
) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE support_grants SET status = $1, decided_by = $2, decided_at = $3, expires_at = $4 \
                 WHERE organization_id = $5 AND id = $6",
            )
            .bind(status)
            .bind(by)
            .bind(crate::now())
            .bind(expires_at)
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Ends an approved grant now.
pub async fn revoke(tx: &mut TenantTx, id: Uuid) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE support_grants SET status = 'revoked', revoked_at = $1 \
                 WHERE organization_id = $2 AND id = $3",
            )
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// The grant that lets `user` into the organization now, if any: one statement outside any
/// transaction (platform scope), for the access check of every request.
pub async fn active_now(
    db: &crate::Db,
    organization: OrganizationId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<Grant>> {
    db.platform_fetch_optional(
        query(format!(
            "{SELECT} WHERE g.organization_id = $1 AND g.requested_by = $2 AND g.status = 'approved' \
             AND g.expires_at > $3 ORDER BY g.expires_at DESC LIMIT 1"
        ))
        .bind(organization)
        .bind(user)
        .bind(now),
    )
    .await
}

/// A grant as its requester lists them across organizations.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestedGrant {
    pub id: Uuid,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub organization_name: String,
    pub organization_slug: String,
    pub reason: String,
    pub access: String,
    pub hours: i64,
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The grants `user` asked for, newest first (platform scope: they span organizations).
pub async fn list_requested(tx: &mut Tx, user: UserId) -> Result<Vec<RequestedGrant>> {
    tx.fetch_all(
        query(
            "SELECT g.id, g.organization_id, o.name AS organization_name, o.slug AS organization_slug, \
             g.reason, g.access, g.hours, g.status, g.expires_at, g.created_at \
             FROM support_grants g JOIN organizations o ON o.id = g.organization_id \
             WHERE g.requested_by = $1 AND o.deleted_at IS NULL ORDER BY g.created_at DESC LIMIT 50",
        )
        .bind(user),
    )
    .await
}
