//! Invitations to join an organization, accepted through a single-use emailed token whose hash
//! alone is stored.

use chrono::{DateTime, Utc};
use rapport_domain::{InvitationId, OrganizationId, Role, UserId};

use crate::{Result, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Invitation {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: InvitationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub email: String,
    /// The level of the role offered.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The custom role offered, when it is one: its id and key.
    pub role_id: Option<uuid::Uuid>,
    pub role_key: Option<String>,
    pub invited_by: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT id, organization_id, email, role, role_id, \
     (SELECT r.key FROM roles r WHERE r.id = invitations.role_id) AS role_key, \
     invited_by, created_at, expires_at, accepted_at, revoked_at FROM invitations";

impl Invitation {
    /// The key of the role offered: a custom role's, or the level's.
    pub fn role_key(&self) -> &str {
        self.role_key.as_deref().unwrap_or(self.role.as_str())
    }
}

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub role: Role,
    pub role_id: Option<rapport_domain::RoleId>,
    pub token_hash: Vec<u8>,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(tx: &mut TenantTx, new: NewInvitation<'_>) -> Result<Invitation> {
    let org = tx.organization_id();
    let id = InvitationId::new();
    tx.raw()
        .execute(
            query(
                "INSERT INTO invitations (organization_id, id, email, role, role_id, token_hash, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(new.email)
            .bind(new.role.as_str())
            .bind(new.role_id)
            .bind(new.token_hash)
            .bind(new.invited_by)
            .bind(crate::now())
            .bind(new.expires_at),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn find(tx: &mut TenantTx, id: InvitationId) -> Result<Option<Invitation>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!("{SELECT} WHERE organization_id = $1 AND id = $2"))
                .bind(org)
                .bind(id),
        )
        .await
}

/// Invitations neither accepted nor revoked (expired ones included, so they can be resent).
pub async fn list_open(tx: &mut TenantTx) -> Result<Vec<Invitation>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "{SELECT} WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
                 ORDER BY created_at, id"
            ))
            .bind(org),
        )
        .await
}

/// Revokes every open invitation of an email address in this organization (a new one replaces them).
pub async fn revoke_open_for_email(tx: &mut TenantTx, email: &str) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE invitations SET revoked_at = $1 WHERE organization_id = $2 AND email = $3 \
                 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(crate::now())
            .bind(org)
            .bind(email),
        )
        .await
}

pub async fn revoke(tx: &mut TenantTx, id: InvitationId) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE invitations SET revoked_at = $1 WHERE organization_id = $2 AND id = $3 \
                 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await
}

/// Finds an invitation by its token's hash (platform scope: the token itself is the capability,
/// and the organization is not known before it is read).
pub async fn find_by_token_hash(tx: &mut Tx, token_hash: &[u8]) -> Result<Option<Invitation>> {
    tx.fetch_optional(query(format!("{SELECT} WHERE token_hash = $1")).bind(token_hash.to_vec()))
        .await
}

/// Marks an invitation accepted, only if it still was open: returns false when someone else
/// used it first.
pub async fn mark_accepted(tx: &mut TenantTx, id: InvitationId, at: DateTime<Utc>) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query(
                "UPDATE invitations SET accepted_at = $1 WHERE organization_id = $2 AND id = $3 \
                 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(org)
            .bind(id),
        )
        .await?
        == 1)
}
