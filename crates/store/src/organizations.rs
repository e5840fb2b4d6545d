//! Organizations: the tenants. Resolution and instance administration read them across tenants
//! (platform scope); an organization's own settings are read and written in its tenant scope.

use chrono::{DateTime, Utc};
use rapport_domain::OrganizationId;

use crate::{Changed, Result, TenantTx, Tx, dialect, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Organization {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    #[sqlx(try_from = "String")]
    pub status: rapport_domain::organization::OrganizationStatus,
    pub primary_color: Option<String>,
    pub has_logo: bool,
    /// Members must sign in with a second factor to enter.
    pub two_factor_required: bool,
    /// Members other than owners enter only through the organization's single sign-on.
    pub sso_required: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub purge_after: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT o.id, o.slug, o.name, o.currency, o.time_zone, o.status, o.primary_color, o.two_factor_required, \
     o.sso_required, EXISTS (SELECT 1 FROM organization_logos l WHERE l.organization_id = o.id) AS has_logo, \
     o.created_at, o.updated_at, o.deleted_at, o.purge_after FROM organizations o";

/// A new organization's fields.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    pub id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
}

/// Creates an organization with its default pipeline (platform scope: it has no tenant yet). A taken slug is a conflict on
/// `organizations_slug_key`.
pub async fn insert(tx: &mut Tx, new: &NewOrganization) -> Result<Organization> {
    let now = crate::now();
    tx.execute(
        query(
            "INSERT INTO organizations (id, slug, name, currency, time_zone, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $6)",
        )
        .bind(new.id)
        .bind(&new.slug)
        .bind(&new.name)
        .bind(&new.currency)
        .bind(&new.time_zone)
        .bind(now),
    )
    .await?;
    crate::pipelines::insert_in(
        tx,
        new.id,
        "Sales",
        true,
        &crate::pipelines::default_stages(),
    )
    .await?;
    find(tx, new.id).await?.ok_or(crate::Error::NotFound)
}

/// Any organization by id, deleted ones included (platform scope).
pub async fn find(tx: &mut Tx, id: OrganizationId) -> Result<Option<Organization>> {
    tx.fetch_optional(query(format!("{SELECT} WHERE o.id = $1")).bind(id))
        .await
}

/// Lookups for tenant resolution, each one statement outside any transaction.
pub mod lookup {
    use super::{Organization, SELECT};
    use crate::{Db, Result, query};
    use rapport_domain::OrganizationId;

    /// A live organization by slug.
    pub async fn by_slug(db: &Db, slug: &str) -> Result<Option<Organization>> {
        db.platform_fetch_optional(
            query(format!(
                "{SELECT} WHERE o.slug = $1 AND o.deleted_at IS NULL"
            ))
            .bind(slug),
        )
        .await
    }

    /// A live organization by one of its custom domains.
    pub async fn by_domain(db: &Db, domain: &str) -> Result<Option<Organization>> {
        db.platform_fetch_optional(
            query(format!(
                "{SELECT} JOIN organization_domains d ON d.organization_id = o.id \
                 WHERE d.domain = $1 AND o.deleted_at IS NULL"
            ))
            .bind(domain),
        )
        .await
    }

    /// A live organization by id.
    pub async fn by_id(db: &Db, id: OrganizationId) -> Result<Option<Organization>> {
        db.platform_fetch_optional(
            query(format!("{SELECT} WHERE o.id = $1 AND o.deleted_at IS NULL")).bind(id),
        )
        .await
    }
}

pub async fn slug_taken(tx: &mut Tx, slug: &str) -> Result<bool> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[allow(dead_code)]
        one: i32,
    }
    Ok(tx
        .fetch_optional::<Found>(
            query("SELECT 1 AS one FROM organizations WHERE slug = $1").bind(slug),
        )
        .await?
        .is_some())
}

/// Filters for the instance administrators' organization list.
#[derive(Clone, Debug, Default)]
pub struct OrganizationFilter {
    /// Case-insensitive substring of the name or slug.
    pub search: Option<String>,
    pub status: Option<rapport_domain::organization::OrganizationStatus>,
    pub include_deleted: bool,
    /// Keyset cursor: the (created_at, id) of the last row of the previous page.
    pub after: Option<(DateTime<Utc>, OrganizationId)>,
    pub offset: u64,
    pub limit: u64,
}

/// Organizations for instance administration, oldest first (platform scope).
pub async fn list(tx: &mut Tx, filter: &OrganizationFilter) -> Result<Vec<Organization>> {
    let mut q = query(format!("{SELECT} WHERE 1 = 1"));
    if !filter.include_deleted {
        q.push_sql(" AND o.deleted_at IS NULL");
    }
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", dialect::escape_like(search));
        let like = dialect::ilike(tx.backend());
        let p = q.push_arg(pattern);
        q.push_sql(&format!(
            " AND (o.name {like} {p} ESCAPE '\\' OR o.slug {like} {p} ESCAPE '\\')"
        ));
    }
    if let Some(status) = filter.status {
        let p = q.push_arg(status.as_str());
        q.push_sql(&format!(" AND o.status = {p}"));
    }
    if let Some((created_at, id)) = filter.after {
        let a = q.push_arg(created_at);
        let b = q.push_arg(id);
        q.push_sql(&format!(
            " AND (o.created_at > {a} OR (o.created_at = {a} AND o.id > {b}))"
        ));
    }
    q.push_sql(" ORDER BY o.created_at, o.id");
    let limit = q.push_arg(filter.limit as i64);
    let offset = q.push_arg(filter.offset as i64);
    q.push_sql(&format!(" LIMIT {limit} OFFSET {offset}"));
    tx.fetch_all(q).await
}

pub async fn set_status(
    tx: &mut Tx,
    id: OrganizationId,
    status: rapport_domain::organization::OrganizationStatus,
) -> Result<()> {
    tx.changed(Changed::Organization(id));
    tx.execute(
        query("UPDATE organizations SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// Marks an organization deleted; it is purged once `purge_after` has passed.
pub async fn soft_delete(
    tx: &mut Tx,
    id: OrganizationId,
    purge_after: DateTime<Utc>,
) -> Result<()> {
    tx.changed(Changed::Organization(id));
    let now = crate::now();
    tx.execute(
        query(
            "UPDATE organizations SET deleted_at = $1, purge_after = $2, updated_at = $1 WHERE id = $3",
        )
        .bind(now)
        .bind(purge_after)
        .bind(id),
    )
    .await?;
    Ok(())
}

pub async fn restore(tx: &mut Tx, id: OrganizationId) -> Result<()> {
    tx.changed(Changed::Organization(id));
    tx.execute(
        query(
            "UPDATE organizations SET deleted_at = NULL, purge_after = NULL, status = 'active', updated_at = $1 \
             WHERE id = $2",
        )
        .bind(crate::now())
        .bind(id),
    )
    .await?;
    Ok(())
}

/// Deletes for good every organization whose grace period has ended, with everything it owns
/// (foreign keys cascade). Returns the purged ids.
pub async fn purge_expired(tx: &mut Tx, now: DateTime<Utc>) -> Result<Vec<OrganizationId>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        id: OrganizationId,
    }
    let rows: Vec<Row> = tx
        .fetch_all(
            query(
                "SELECT id FROM organizations WHERE deleted_at IS NOT NULL AND purge_after <= $1",
            )
            .bind(now),
        )
        .await?;
    for row in &rows {
        tx.changed(Changed::Organization(row.id));
        // Its files' objects are left for the file store to remove.
        tx.execute(
            query(
                "INSERT INTO file_garbage (storage_key, created_at) \
                 SELECT DISTINCT storage_key, $2 FROM file_versions WHERE organization_id = $1 \
                 ON CONFLICT (storage_key) DO NOTHING",
            )
            .bind(row.id)
            .bind(now),
        )
        .await?;
        // Audit entries of the organization go with it; platform entries stay.
        tx.execute(query("DELETE FROM organizations WHERE id = $1").bind(row.id))
            .await?;
    }
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The organization the transaction is scoped to.
pub async fn current(tx: &mut TenantTx) -> Result<Organization> {
    let id = tx.organization_id();
    tx.raw()
        .fetch_one(query(format!("{SELECT} WHERE o.id = $1")).bind(id))
        .await
}

/// The editable settings of an organization.
#[derive(Clone, Debug)]
pub struct Settings {
    pub name: String,
    pub slug: String,
    pub currency: String,
    pub time_zone: String,
    pub primary_color: Option<String>,
    pub two_factor_required: bool,
}

pub async fn update_settings(tx: &mut TenantTx, settings: &Settings) -> Result<()> {
    tx.organization_changed();
    let id = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE organizations SET name = $1, slug = $2, currency = $3, time_zone = $4, \
                 primary_color = $5, two_factor_required = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(&settings.name)
            .bind(&settings.slug)
            .bind(&settings.currency)
            .bind(&settings.time_zone)
            .bind(settings.primary_color.clone())
            .bind(settings.two_factor_required)
            .bind(crate::now())
            .bind(id),
        )
        .await?;
    Ok(())
}

/// An organization's logo image.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Logo {
    pub content_type: String,
    pub data: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

pub async fn logo(tx: &mut TenantTx) -> Result<Option<Logo>> {
    let id = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(
                "SELECT content_type, data, updated_at FROM organization_logos WHERE organization_id = $1",
            )
            .bind(id),
        )
        .await
}

pub async fn set_logo(tx: &mut TenantTx, content_type: &str, data: Vec<u8>) -> Result<()> {
    tx.organization_changed();
    let id = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "INSERT INTO organization_logos (organization_id, content_type, data, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id) DO UPDATE \
                 SET content_type = excluded.content_type, data = excluded.data, updated_at = excluded.updated_at",
            )
            .bind(id)
            .bind(content_type)
            .bind(data)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

pub async fn delete_logo(tx: &mut TenantTx) -> Result<bool> {
    tx.organization_changed();
    let id = tx.organization_id();
    Ok(tx
        .raw()
        .execute(query("DELETE FROM organization_logos WHERE organization_id = $1").bind(id))
        .await?
        > 0)
}

/// The organization's settings document (JSON), such as its AI provider settings.
pub async fn settings(tx: &mut TenantTx) -> Result<serde_json::Value> {
    #[derive(sqlx::FromRow)]
    struct Row {
        settings: sqlx::types::Json<serde_json::Value>,
    }
    let id = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(query("SELECT settings FROM organizations WHERE id = $1").bind(id))
        .await?;
    Ok(row.settings.0)
}

pub async fn set_settings(tx: &mut TenantTx, settings: serde_json::Value) -> Result<()> {
    tx.organization_changed();
    let id = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE organizations SET settings = $1, updated_at = $2 WHERE id = $3")
                .bind(settings)
                .bind(crate::now())
                .bind(id),
        )
        .await?;
    Ok(())
}

/// Every active organization that is not deleted (platform scope, for scheduled work).
pub async fn active_ids(tx: &mut Tx) -> Result<Vec<OrganizationId>> {
    #[derive(sqlx::FromRow)]
    struct Id {
        #[sqlx(try_from = "uuid::Uuid")]
        id: OrganizationId,
    }
    let rows: Vec<Id> = tx
        .fetch_all(query(
            "SELECT id FROM organizations WHERE status = 'active' AND deleted_at IS NULL ORDER BY id",
        ))
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
