//! Custom domains on which an organization serves its workspace.

use chrono::{DateTime, Utc};
use rapport_domain::{DomainId, OrganizationId};

use crate::{Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Domain {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: DomainId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub domain: String,
    pub created_at: DateTime<Utc>,
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Domain>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(
                "SELECT id, organization_id, domain, created_at FROM organization_domains \
                 WHERE organization_id = $1 ORDER BY domain",
            )
            .bind(org),
        )
        .await
}

/// Attaches a domain. A domain already used by any organization is a conflict on
/// `organization_domains_domain_key`.
pub async fn insert(tx: &mut TenantTx, domain: &str) -> Result<Domain> {
    tx.organization_changed();
    let row = Domain {
        id: DomainId::new(),
        organization_id: tx.organization_id(),
        domain: domain.to_owned(),
        created_at: crate::now(),
    };
    tx.raw()
        .execute(
            query(
                "INSERT INTO organization_domains (organization_id, id, domain, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(row.organization_id)
            .bind(row.id)
            .bind(&row.domain)
            .bind(row.created_at),
        )
        .await?;
    Ok(row)
}

pub async fn delete(tx: &mut TenantTx, id: DomainId) -> Result<Option<Domain>> {
    tx.organization_changed();
    let org = tx.organization_id();
    let found: Option<Domain> = tx
        .raw()
        .fetch_optional(
            query(
                "SELECT id, organization_id, domain, created_at FROM organization_domains \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id),
        )
        .await?;
    if found.is_some() {
        tx.raw()
            .execute(
                query("DELETE FROM organization_domains WHERE organization_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id),
            )
            .await?;
    }
    Ok(found)
}
