//! Companies (accounts).

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, OrganizationId, UserId};

use crate::{Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Company {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: CompanyId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub address: Option<String>,
    pub custom: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, owner_id, name, domain, industry, size, address, custom, created_at, updated_at";

/// A new company's fields.
#[derive(Clone, Debug)]
pub struct NewCompany {
    pub owner_id: UserId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub address: Option<String>,
}

pub async fn insert(tx: &mut TenantTx, new: &NewCompany) -> Result<Company> {
    let org = tx.organization_id();
    let id = CompanyId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO companies (organization_id, id, owner_id, name, domain, industry, size, address, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(new.owner_id)
            .bind(&new.name)
            .bind(new.domain.clone())
            .bind(new.industry.clone())
            .bind(new.size.clone())
            .bind(new.address.clone())
            .bind(now),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// A live (not deleted) company of the organization.
pub async fn find(tx: &mut TenantTx, id: CompanyId) -> Result<Option<Company>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM companies WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}
