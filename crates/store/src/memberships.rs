//! Memberships: which users belong to an organization, and with which role.

use chrono::{DateTime, Utc};
use rapport_domain::{MembershipId, OrganizationId, Role, UserId};

use crate::{Result, TenantTx, Tx, query};

/// A membership with the member's user details.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Member {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: MembershipId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    /// The level of the member's role.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The member's custom role, when they have one: its key and name.
    pub role_key: Option<String>,
    pub role_name: Option<String>,
    /// When the person last signed in (`None`: never, since it is noted).
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// When the member was deactivated (`None`: active). A deactivated member keeps their
    /// records and their role but cannot enter the organization.
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Member {
    /// The key of the member's role: a custom role's, or the level's.
    pub fn role_key(&self) -> &str {
        self.role_key.as_deref().unwrap_or(self.role.as_str())
    }

    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

const SELECT: &str = "SELECT m.id, m.organization_id, m.user_id, u.email, u.name, m.role, \
     r.key AS role_key, r.name AS role_name, u.last_sign_in_at, m.deactivated_at, m.created_at, m.updated_at \
     FROM memberships m JOIN users u ON u.id = m.user_id \
     LEFT JOIN roles r ON r.organization_id = m.organization_id AND r.id = m.role_id";

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Member>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "{SELECT} WHERE m.organization_id = $1 ORDER BY m.created_at, m.id"
            ))
            .bind(org),
        )
        .await
}

pub async fn find(tx: &mut TenantTx, id: MembershipId) -> Result<Option<Member>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "{SELECT} WHERE m.organization_id = $1 AND m.id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// The user's membership when they are an active member (what owning, being assigned or being
/// mentioned needs); a deactivated member is not found.
pub async fn find_by_user(tx: &mut TenantTx, user_id: UserId) -> Result<Option<Member>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "{SELECT} WHERE m.organization_id = $1 AND m.user_id = $2 AND m.deactivated_at IS NULL"
            ))
            .bind(org)
            .bind(user_id),
        )
        .await
}

/// The user's membership whether active or deactivated (a member field or a mention may keep
/// naming someone deactivated since).
pub async fn find_any_by_user(tx: &mut TenantTx, user_id: UserId) -> Result<Option<Member>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "{SELECT} WHERE m.organization_id = $1 AND m.user_id = $2"
            ))
            .bind(org)
            .bind(user_id),
        )
        .await
}

/// Adds a user to the organization. Already a member: conflict on
/// `memberships_organization_id_user_id_key`.
pub async fn insert(
    tx: &mut TenantTx,
    user_id: UserId,
    role: Role,
    custom: Option<rapport_domain::RoleId>,
) -> Result<Member> {
    tx.organization_changed();
    // The person's list of organizations grows.
    tx.raw().changed(crate::Changed::User(user_id));
    let org = tx.organization_id();
    let id = MembershipId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO memberships (organization_id, id, user_id, role, role_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(org)
            .bind(id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(custom)
            .bind(now),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// Gives a member a role: a level, and the custom role it is when `custom` names one.
pub async fn set_role(
    tx: &mut TenantTx,
    id: MembershipId,
    role: Role,
    custom: Option<rapport_domain::RoleId>,
) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE memberships SET role = $1, role_id = $2, updated_at = $3 WHERE organization_id = $4 AND id = $5",
            )
            .bind(role.as_str())
            .bind(custom)
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Deactivates (`Some(at)`) or reactivates (`None`) the membership `id` of `user_id`.
pub async fn set_deactivated(
    tx: &mut TenantTx,
    id: MembershipId,
    user_id: UserId,
    at: Option<DateTime<Utc>>,
) -> Result<()> {
    tx.organization_changed();
    // The person's list of organizations changes.
    tx.raw().changed(crate::Changed::User(user_id));
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE memberships SET deactivated_at = $1, updated_at = $2 \
                 WHERE organization_id = $3 AND id = $4 AND user_id = $5",
            )
            .bind(at)
            .bind(crate::now())
            .bind(org)
            .bind(id)
            .bind(user_id),
        )
        .await?;
    Ok(())
}

/// How many active organizations the user is an active member of (platform scope).
pub async fn count_active_for_user(tx: &mut Tx, user_id: UserId) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let count: Count = tx
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM memberships m JOIN organizations o ON o.id = m.organization_id \
                 WHERE m.user_id = $1 AND m.deactivated_at IS NULL AND o.deleted_at IS NULL",
            )
            .bind(user_id),
        )
        .await?;
    Ok(count.n)
}

pub async fn delete(tx: &mut TenantTx, id: MembershipId) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM memberships WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    Ok(())
}

/// How many active owners the organization has (a deactivated owner cannot act as one). Read inside the transaction that changes a role, so the
/// last-owner rule holds under concurrency (SQLite write transactions are serialised; on
/// PostgreSQL the owner rows are locked).
pub async fn count_owners(tx: &mut TenantTx) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[allow(dead_code)]
        id: uuid::Uuid,
    }
    let org = tx.organization_id();
    let lock = crate::dialect::lock_rows(tx.backend());
    let rows: Vec<Row> = tx
        .raw()
        .fetch_all(
            query(format!(
                "SELECT id FROM memberships WHERE organization_id = $1 AND role = 'owner' AND deactivated_at IS NULL{lock}"
            ))
            .bind(org),
        )
        .await?;
    Ok(rows.len() as i64)
}

/// One of the caller's organizations, as `GET /organizations/me` lists them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserOrganization {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: OrganizationId,
    pub name: String,
    pub slug: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Their custom role's key, when they have one (`role` is then its level).
    pub role_key: Option<String>,
    /// Whether the organization requires two-factor authentication of its members.
    pub two_factor_required: bool,
    pub created_at: DateTime<Utc>,
}

/// Every live organization a user is an active member of (platform scope: it spans tenants by nature).
pub async fn list_for_user(tx: &mut Tx, user_id: UserId) -> Result<Vec<UserOrganization>> {
    tx.fetch_all(
        query(
            "SELECT o.id, o.name, o.slug, m.role, r.key AS role_key, o.two_factor_required, o.created_at \
             FROM memberships m \
             JOIN organizations o ON o.id = m.organization_id \
             LEFT JOIN roles r ON r.organization_id = m.organization_id AND r.id = m.role_id \
             WHERE m.user_id = $1 AND m.deactivated_at IS NULL AND o.deleted_at IS NULL ORDER BY o.name, o.id",
        )
        .bind(user_id),
    )
    .await
}

/// The user's role in one organization, if a member: one statement outside any transaction
/// (platform scope, before a tenant transaction exists), for the access check of every request.
pub async fn role_of_now(
    db: &crate::Db,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<Option<Role>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "String")]
        role: Role,
    }
    Ok(db
        .platform_fetch_optional::<Row>(
            query(
                "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2 \
                 AND deactivated_at IS NULL",
            )
            .bind(organization_id)
            .bind(user_id),
        )
        .await?
        .map(|r| r.role))
}

/// The owners and admins of an organization (platform scope: telling them of a problem).
pub async fn administrators(tx: &mut Tx, organization: OrganizationId) -> Result<Vec<UserId>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
    }
    let rows: Vec<Row> = tx
        .fetch_all(
            query(
                "SELECT user_id FROM memberships WHERE organization_id = $1 AND role IN ('owner', 'admin') \
                 AND deactivated_at IS NULL ORDER BY user_id",
            )
            .bind(organization),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}
