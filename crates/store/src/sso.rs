//! Single sign-on: an organization's OpenID Connect provider, and the people linked to it by the
//! provider's subject. See `app/sso.rs`.

use chrono::{DateTime, Utc};
use rapport_domain::{OrganizationId, UserId};

use crate::{Result, TenantTx, query};

/// An organization's provider, as stored (the client secret sealed).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Provider {
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub issuer: String,
    pub client_id: String,
    /// Sealed with the instance's key.
    pub client_secret: String,
    pub label: String,
    /// Space-separated email domains; empty allows any.
    pub allowed_domains: String,
    pub auto_join: bool,
    /// Its emails count as verified without the `email_verified` claim.
    pub trust_email: bool,
    /// A role key.
    pub default_role: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "organization_id, issuer, client_id, client_secret, label, allowed_domains, \
     auto_join, trust_email, default_role, enabled, created_at, updated_at";

/// The organization's provider, if it has one.
pub async fn find(tx: &mut TenantTx) -> Result<Option<Provider>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM sso_providers WHERE organization_id = $1"
            ))
            .bind(org),
        )
        .await
}

/// Saves the organization's provider, replacing the one it had.
pub async fn save(tx: &mut TenantTx, provider: &Provider) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(query("DELETE FROM sso_providers WHERE organization_id = $1").bind(org))
        .await?;
    tx.raw()
        .execute(
            query(format!(
                "INSERT INTO sso_providers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(org)
            .bind(&provider.issuer)
            .bind(&provider.client_id)
            .bind(&provider.client_secret)
            .bind(&provider.label)
            .bind(&provider.allowed_domains)
            .bind(provider.auto_join)
            .bind(provider.trust_email)
            .bind(&provider.default_role)
            .bind(provider.enabled)
            .bind(provider.created_at)
            .bind(provider.updated_at),
        )
        .await?;
    Ok(())
}

/// Whether members other than owners must enter through single sign-on.
pub async fn set_required(tx: &mut TenantTx, required: bool) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE organizations SET sso_required = $1 WHERE id = $2")
                .bind(required)
                .bind(org),
        )
        .await?;
    Ok(())
}

/// Removes the organization's provider and every link to it; whether there was one.
pub async fn delete(tx: &mut TenantTx) -> Result<bool> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(query("DELETE FROM sso_identities WHERE organization_id = $1").bind(org))
        .await?;
    let removed = tx
        .raw()
        .execute(query("DELETE FROM sso_providers WHERE organization_id = $1").bind(org))
        .await?;
    Ok(removed > 0)
}

/// Removes every link to the organization's provider (it became another issuer).
pub async fn unlink_all(tx: &mut TenantTx) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(query("DELETE FROM sso_identities WHERE organization_id = $1").bind(org))
        .await
}

/// Removes a person's links in the organization (they left it): signing in through the
/// provider again finds them as anyone else.
pub async fn unlink_user(tx: &mut TenantTx, user: UserId) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM sso_identities WHERE organization_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user),
        )
        .await
}

/// The account a subject of this issuer is linked to in the organization.
pub async fn linked_user(tx: &mut TenantTx, issuer: &str, subject: &str) -> Result<Option<UserId>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
    }
    let org = tx.organization_id();
    let row: Option<Row> = tx
        .raw()
        .fetch_optional(
            query(
                "SELECT user_id FROM sso_identities \
                 WHERE organization_id = $1 AND issuer = $2 AND subject = $3",
            )
            .bind(org)
            .bind(issuer)
            .bind(subject),
        )
        .await?;
    Ok(row.map(|r| r.user_id))
}

/// Links a subject to an account, or notes another sign-in of a linked one.
pub async fn link(tx: &mut TenantTx, issuer: &str, subject: &str, user: UserId) -> Result<()> {
    let org = tx.organization_id();
    let at = crate::now();
    let updated = tx
        .raw()
        .execute(
            query(
                "UPDATE sso_identities SET last_sign_in_at = $1 \
                 WHERE organization_id = $2 AND issuer = $3 AND subject = $4 AND user_id = $5",
            )
            .bind(at)
            .bind(org)
            .bind(issuer)
            .bind(subject)
            .bind(user),
        )
        .await?;
    if updated == 0 {
        tx.raw()
            .execute(
                query(
                    "INSERT INTO sso_identities (organization_id, subject, user_id, issuer, created_at, last_sign_in_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(org)
                .bind(subject)
                .bind(user)
                .bind(issuer)
                .bind(at),
            )
            .await?;
    }
    Ok(())
}

/// How many people are linked to the organization's provider.
pub async fn count_linked(tx: &mut TenantTx) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query("SELECT COUNT(*) AS n FROM sso_identities WHERE organization_id = $1").bind(org),
        )
        .await?;
    Ok(row.n)
}

/// Organizations whose enabled provider allows an email domain: a person who gives only their
/// email finds where to sign in. Scans the few providers there are.
pub async fn organizations_for_domain(
    tx: &mut crate::Tx,
    domain: &str,
) -> Result<Vec<OrganizationId>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        organization_id: OrganizationId,
        allowed_domains: String,
    }
    let rows: Vec<Row> = tx
        .fetch_all(query(
            "SELECT p.organization_id, p.allowed_domains FROM sso_providers p \
             JOIN organizations o ON o.id = p.organization_id \
             WHERE p.enabled AND o.deleted_at IS NULL ORDER BY o.name",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.allowed_domains
                .split_whitespace()
                .any(|d| d.eq_ignore_ascii_case(domain))
        })
        .map(|r| r.organization_id)
        .collect())
}
