//! An organization's roles: its custom roles, and its system roles once it tuned their
//! permissions (a row whose key is the level). Members, invitations and API keys of a custom role
//! name it in `role_id` and keep its level in `role`.

use chrono::{DateTime, Utc};
use rapport_domain::{OrganizationId, Role, RoleId, UserId};
use serde_json::Value as Json;

use crate::{Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RoleRow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: RoleId,
    pub key: String,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub level: Role,
    pub is_system: bool,
    pub grants: sqlx::types::Json<Json>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, key, name, description, level, is_system, grants, created_at, updated_at";

/// What a role is made of, to insert or to change.
pub struct RoleFields<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub level: Role,
    pub is_system: bool,
    pub grants: &'a Json,
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<RoleRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM roles WHERE organization_id = $1 ORDER BY created_at, id"
            ))
            .bind(org),
        )
        .await
}

pub async fn find_by_key(tx: &mut TenantTx, key: &str) -> Result<Option<RoleRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM roles WHERE organization_id = $1 AND key = $2"
            ))
            .bind(org)
            .bind(key),
        )
        .await
}

pub async fn find(tx: &mut TenantTx, id: RoleId) -> Result<Option<RoleRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM roles WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// Locks a role's row, when it has one, until the transaction ends: changes of one role are
/// made one after the other.
pub async fn lock(tx: &mut TenantTx, key: &str) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[allow(dead_code)]
        id: uuid::Uuid,
    }
    let org = tx.organization_id();
    let lock = crate::dialect::lock_rows(tx.backend());
    let _: Option<Row> = tx
        .raw()
        .fetch_optional(
            query(format!(
                "SELECT id FROM roles WHERE organization_id = $1 AND key = $2{lock}"
            ))
            .bind(org)
            .bind(key),
        )
        .await?;
    Ok(())
}

/// Adds a role. A key already taken: conflict on `roles_organization_id_key_key`.
pub async fn insert(tx: &mut TenantTx, f: &RoleFields<'_>) -> Result<RoleRow> {
    tx.organization_changed();
    let org = tx.organization_id();
    let id = RoleId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO roles (organization_id, id, key, name, description, level, is_system, grants, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(f.key)
            .bind(f.name)
            .bind(f.description)
            .bind(f.level.as_str())
            .bind(f.is_system)
            .bind(f.grants.clone())
            .bind(now),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// Changes a role's name, description, level and matrix; its members, invitations and API keys
/// take its level.
pub async fn update(tx: &mut TenantTx, id: RoleId, f: &RoleFields<'_>) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "UPDATE roles SET name = $1, description = $2, level = $3, grants = $4, updated_at = $5 \
                 WHERE organization_id = $6 AND id = $7",
            )
            .bind(f.name)
            .bind(f.description)
            .bind(f.level.as_str())
            .bind(f.grants.clone())
            .bind(now)
            .bind(org)
            .bind(id),
        )
        .await?;
    for table in ["memberships", "invitations", "api_keys"] {
        tx.raw()
            .execute(
                query(format!(
                    "UPDATE {table} SET role = $1 WHERE organization_id = $2 AND role_id = $3"
                ))
                .bind(f.level.as_str())
                .bind(org)
                .bind(id),
            )
            .await?;
    }
    Ok(())
}

/// Deletes a custom role after moving whoever holds it (members, invitations, API keys, used
/// or not) to another role: a level, and the custom role it is when `to` names one.
pub async fn delete_moving_to(
    tx: &mut TenantTx,
    id: RoleId,
    level: Role,
    to: Option<RoleId>,
) -> Result<Vec<UserId>> {
    tx.organization_changed();
    let org = tx.organization_id();
    #[derive(sqlx::FromRow)]
    struct Moved {
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
    }
    let moved: Vec<Moved> = tx
        .raw()
        .fetch_all(
            query("SELECT user_id FROM memberships WHERE organization_id = $1 AND role_id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    for table in ["memberships", "invitations", "api_keys"] {
        tx.raw()
            .execute(
                query(format!(
                    "UPDATE {table} SET role = $1, role_id = $2 WHERE organization_id = $3 AND role_id = $4"
                ))
                .bind(level.as_str())
                .bind(to)
                .bind(org)
                .bind(id),
            )
            .await?;
    }
    tx.raw()
        .execute(
            query("DELETE FROM roles WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    Ok(moved.into_iter().map(|m| m.user_id).collect())
}

/// A member's standing in an organization as every request reads it: their level, their
/// custom role if any, and the matrix stored for their role (none: the level's own).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Standing {
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub role_key: Option<String>,
    pub grants: Option<sqlx::types::Json<Json>>,
    /// Everyone who shares a team with the member (themselves included when in one).
    #[sqlx(skip)]
    pub teammates: Vec<UserId>,
}

/// The member's standing now, and their teammates: two statements outside any transaction (platform scope, before a
/// tenant transaction exists), for the access check of every request.
pub async fn standing_now(
    db: &crate::Db,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<Option<Standing>> {
    let standing = db
        .platform_fetch_optional::<Standing>(
            query(
                "SELECT m.role, r.key AS role_key, r.grants FROM memberships m \
                 LEFT JOIN roles r ON r.organization_id = m.organization_id \
                   AND (r.id = m.role_id OR (m.role_id IS NULL AND r.is_system = $3 AND r.key = m.role)) \
                 WHERE m.organization_id = $1 AND m.user_id = $2 AND m.deactivated_at IS NULL",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(true),
        )
        .await?;
    match standing {
        Some(mut standing) => {
            standing.teammates = crate::teams::teammates_now(db, organization_id, user_id).await?;
            Ok(Some(standing))
        }
        None => Ok(None),
    }
}

/// A role's standing as an API key of it reads it (a level, and a custom role when `id` names
/// one), outside any transaction.
pub async fn standing_of_role_now(
    db: &crate::Db,
    organization_id: OrganizationId,
    level: Role,
    id: Option<RoleId>,
) -> Result<Standing> {
    #[derive(sqlx::FromRow)]
    struct Row {
        key: String,
        grants: sqlx::types::Json<Json>,
    }
    let row: Option<Row> = match id {
        Some(id) => {
            db.platform_fetch_optional(
                query("SELECT key, grants FROM roles WHERE organization_id = $1 AND id = $2")
                    .bind(organization_id)
                    .bind(id),
            )
            .await?
        }
        None => {
            db.platform_fetch_optional(
                query(
                    "SELECT key, grants FROM roles WHERE organization_id = $1 AND key = $2 AND is_system = $3",
                )
                .bind(organization_id)
                .bind(level.as_str())
                .bind(true),
            )
            .await?
        }
    };
    Ok(Standing {
        role: level,
        role_key: row.as_ref().map(|r| r.key.clone()),
        grants: row.map(|r| r.grants),
        teammates: Vec::new(),
    })
}

/// The level and stored matrix of a member's role, read in a tenant transaction (`None`: not a
/// member). The matrix is `None` for a role without a row (the level's own).
pub async fn standing_in(tx: &mut TenantTx, user_id: UserId) -> Result<Option<Standing>> {
    let org = tx.organization_id();
    standing_at(tx.raw(), org, user_id).await
}

/// [`standing_in`] on the raw transaction of an organization's tenant transaction.
pub async fn standing_at(
    tx: &mut crate::Tx,
    org: OrganizationId,
    user_id: UserId,
) -> Result<Option<Standing>> {
    tx.fetch_optional(
            query(
                "SELECT m.role, r.key AS role_key, r.grants FROM memberships m \
                 LEFT JOIN roles r ON r.organization_id = m.organization_id \
                   AND (r.id = m.role_id OR (m.role_id IS NULL AND r.is_system = $3 AND r.key = m.role)) \
                 WHERE m.organization_id = $1 AND m.user_id = $2 AND m.deactivated_at IS NULL",
            )
            .bind(org)
            .bind(user_id)
            .bind(true),
        )
        .await
}
