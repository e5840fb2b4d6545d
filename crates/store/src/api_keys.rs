//! API keys: credentials of one organization with a role, stored as keyed hashes.

use chrono::{DateTime, Utc};
use rapport_domain::{ApiKeyId, OrganizationId, Role, UserId};

use crate::{Result, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKey {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ApiKeyId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The key's custom role, when it has one (`role` is then its level).
    pub role_id: Option<uuid::Uuid>,
    pub role_key: Option<String>,
    /// The first characters of the key, to recognise it in a list.
    pub prefix: String,
    #[sqlx(try_from = "uuid::Uuid")]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, organization_id, name, role, role_id, (SELECT r.key FROM roles r WHERE r.id = api_keys.role_id) AS role_key, prefix, created_by, created_at, expires_at, last_used_at, revoked_at";

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub role: Role,
    /// Its custom role, when it has one (`role` is then that role's level).
    pub role_id: Option<rapport_domain::RoleId>,
    pub prefix: &'a str,
    pub key_hash: Vec<u8>,
    pub created_by: UserId,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// The key of its role: a custom role's, or the level's.
    pub fn role_key(&self) -> &str {
        self.role_key.as_deref().unwrap_or(self.role.as_str())
    }
}

pub async fn insert(tx: &mut TenantTx, new: NewApiKey<'_>) -> Result<ApiKey> {
    let org = tx.organization_id();
    let id = ApiKeyId::new();
    tx.raw()
        .execute(
            query(
                "INSERT INTO api_keys (organization_id, id, name, role, role_id, prefix, key_hash, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(org)
            .bind(id)
            .bind(new.name)
            .bind(new.role.as_str())
            .bind(new.role_id)
            .bind(new.prefix)
            .bind(new.key_hash)
            .bind(new.created_by)
            .bind(crate::now())
            .bind(new.expires_at),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn find(tx: &mut TenantTx, id: ApiKeyId) -> Result<Option<ApiKey>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM api_keys WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// Keys not revoked, newest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<ApiKey>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM api_keys WHERE organization_id = $1 AND revoked_at IS NULL \
                 ORDER BY created_at DESC, id DESC"
            ))
            .bind(org),
        )
        .await
}

/// A live key and its creator's current role in the organization (`None`: the creator left).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListedKey {
    #[sqlx(flatten)]
    pub key: ApiKey,
    pub creator_role: Option<String>,
    pub creator_name: Option<String>,
}

/// The organization's live keys, newest first, each with its creator's current role.
pub async fn list_with_creator_role(tx: &mut TenantTx) -> Result<Vec<ListedKey>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(
                "SELECT k.id, k.organization_id, k.name, k.role, k.role_id, (SELECT r.key FROM roles r WHERE r.id = k.role_id) AS role_key, k.prefix, k.created_by, \
                 k.created_at, k.expires_at, k.last_used_at, k.revoked_at, m.role AS creator_role, \
                 u.name AS creator_name \
                 FROM api_keys k LEFT JOIN memberships m \
                 ON m.organization_id = k.organization_id AND m.user_id = k.created_by AND m.deactivated_at IS NULL \
                 LEFT JOIN users u ON u.id = k.created_by \
                 WHERE k.organization_id = $1 AND k.revoked_at IS NULL \
                 ORDER BY k.created_at DESC, k.id DESC",
            )
            .bind(org),
        )
        .await
}

pub async fn revoke(tx: &mut TenantTx, id: ApiKeyId) -> Result<u64> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE api_keys SET revoked_at = $1 WHERE organization_id = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(crate::now())
                .bind(org)
                .bind(id),
        )
        .await
}

/// The key a presented secret hashes to (platform scope: the secret is the capability).
pub async fn find_by_hash(tx: &mut Tx, key_hash: &[u8]) -> Result<Option<ApiKey>> {
    tx.fetch_optional(
        query(format!(
            "SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash.to_vec()),
    )
    .await
}

pub async fn touch(tx: &mut Tx, id: ApiKeyId, at: DateTime<Utc>) -> Result<()> {
    tx.execute(
        query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id),
    )
    .await?;
    Ok(())
}
