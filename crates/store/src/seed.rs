//! Writes that only sample data needs: moving records back in time so a demo organization looks
//! like it has been used for months.

use chrono::{DateTime, Utc};

use crate::{Result, TenantTx, query};

/// The tables whose rows may be moved back in time.
const TABLES: [&str; 6] = [
    "companies",
    "contacts",
    "leads",
    "deals",
    "tasks",
    "activities",
];

/// Sets when a record was created (and last updated).
pub async fn set_created(
    tx: &mut TenantTx,
    table: &str,
    id: uuid::Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let Some(table) = TABLES.iter().find(|t| **t == table) else {
        return Err(crate::Error::NotFound);
    };
    let org = tx.organization_id();
    let updated = if *table == "activities" {
        ""
    } else {
        ", updated_at = $1"
    };
    tx.raw()
        .execute(
            query(format!(
                "UPDATE {table} SET created_at = $1{updated} WHERE organization_id = $2 AND id = $3"
            ))
            .bind(at)
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Sets when a deal entered its stage and when it closed.
pub async fn set_deal_times(
    tx: &mut TenantTx,
    id: uuid::Uuid,
    stage_changed_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE deals SET stage_changed_at = $1, closed_at = $2, updated_at = $1 \
                 WHERE organization_id = $3 AND id = $4",
            )
            .bind(stage_changed_at)
            .bind(closed_at)
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Refreshes what the database knows of the sizes of the tables sample data fills, so the plans
/// of statements prepared while they were small are made again (PostgreSQL; a server with
/// autovacuum does the same on its own, later). SQLite plans each statement with what it finds.
pub async fn refresh_statistics(db: &crate::Db) -> Result<()> {
    if db.backend() != crate::Backend::Postgres {
        return Ok(());
    }
    let mut tx = db.platform().await?;
    tx.execute(query(
        "ANALYZE companies, contacts, activities, record_tags",
    ))
    .await?;
    tx.commit().await
}
