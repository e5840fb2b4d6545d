//! Saved views: a list's filters, sort and visible columns under a name, private or shared.

use chrono::{DateTime, Utc};
use rapport_domain::{UserId, ViewId};

use crate::{Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SavedView {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ViewId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub list: String,
    pub name: String,
    /// The list's query string (filters and sort), as the list page reads it.
    pub query: String,
    pub columns: sqlx::types::Json<Vec<String>>,
    pub shared: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, owner_id, list, name, query, columns, shared, created_at, updated_at";

pub struct NewView<'a> {
    pub owner_id: UserId,
    pub list: &'a str,
    pub name: &'a str,
    pub query: &'a str,
    pub columns: &'a [String],
    pub shared: bool,
}

pub async fn insert(tx: &mut TenantTx, v: NewView<'_>) -> Result<SavedView> {
    let org = tx.organization_id();
    let id = ViewId::new();
    tx.raw()
        .execute(
            query(
                "INSERT INTO saved_views (organization_id, id, owner_id, list, name, query, columns, shared, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(v.owner_id)
            .bind(v.list)
            .bind(v.name)
            .bind(v.query)
            .bind(serde_json::json!(v.columns))
            .bind(v.shared)
            .bind(crate::now()),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn find(tx: &mut TenantTx, id: ViewId) -> Result<Option<SavedView>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM saved_views WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// The views of a list a user may use: their own and the shared ones.
pub async fn visible(tx: &mut TenantTx, list: &str, user: UserId) -> Result<Vec<SavedView>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM saved_views WHERE organization_id = $1 AND list = $2 \
                 AND (owner_id = $3 OR shared = $4) ORDER BY lower(name)"
            ))
            .bind(org)
            .bind(list)
            .bind(user)
            .bind(true),
        )
        .await
}

pub async fn delete(tx: &mut TenantTx, id: ViewId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("DELETE FROM saved_views WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}
