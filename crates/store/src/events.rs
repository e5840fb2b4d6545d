//! The outbox: domain events written in the transaction of the change they describe.

use chrono::{DateTime, Utc};
use rapport_domain::{EventId, OrganizationId, UserId};

use crate::{Backend, Result, Signal, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Event {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: EventId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub event_type: String,
    pub version: i64,
    pub record_type: Option<String>,
    pub record_id: Option<uuid::Uuid>,
    pub changed: sqlx::types::Json<Vec<String>>,
    pub actor_id: Option<uuid::Uuid>,
    pub payload: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, event_type, version, record_type, record_id, changed, actor_id, payload, created_at";

/// An event about to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub version: i64,
    pub record_type: Option<String>,
    pub record_id: Option<uuid::Uuid>,
    pub changed: Vec<String>,
    pub actor_id: Option<UserId>,
    pub payload: serde_json::Value,
}

/// Appends an event to the organization's outbox, in the caller's transaction.
pub async fn append(tx: &mut TenantTx, event: NewEvent) -> Result<EventId> {
    let org = tx.organization_id();
    let id = EventId::new();
    tx.raw()
        .execute(
            query(
                "INSERT INTO outbox_events (id, organization_id, event_type, version, record_type, record_id, changed, \
                 actor_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id)
            .bind(org)
            .bind(event.event_type)
            .bind(event.version)
            .bind(event.record_type)
            .bind(event.record_id)
            .bind(serde_json::json!(event.changed))
            .bind(event.actor_id)
            .bind(event.payload)
            .bind(crate::now()),
        )
        .await?;
    tx.raw().raise(Signal::Outbox).await?;
    Ok(id)
}

/// Events of every organization written after `after` (all when `None`), oldest first: what a
/// dispatcher reads (platform scope).
pub async fn after(tx: &mut Tx, after: Option<EventId>, limit: i64) -> Result<Vec<Event>> {
    match after {
        Some(id) => {
            tx.fetch_all(
                query(format!(
                    "SELECT {COLUMNS} FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(id)
                .bind(limit),
            )
            .await
        }
        None => {
            tx.fetch_all(
                query(format!(
                    "SELECT {COLUMNS} FROM outbox_events ORDER BY id LIMIT $1"
                ))
                .bind(limit),
            )
            .await
        }
    }
}

/// Claims up to `limit` of the organization's events not yet dispatched, oldest first, for the
/// rest of the caller's transaction. On PostgreSQL, rows another dispatcher has claimed are skipped,
/// so servers share the work without handing out an event twice; on SQLite the write transaction
/// is exclusive already.
pub async fn claim_undispatched(tx: &mut TenantTx, limit: i64) -> Result<Vec<Event>> {
    let org = tx.organization_id();
    let tx = tx.raw();
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    tx.fetch_all(
        query(format!(
            "SELECT {COLUMNS} FROM outbox_events WHERE organization_id = $1 \
             AND dispatched_at IS NULL ORDER BY id LIMIT $2{lock}"
        ))
        .bind(org)
        .bind(limit),
    )
    .await
}

/// The organizations with events waiting for dispatch, the one waiting longest first: where a
/// dispatcher's round goes, each organization's events then claimed in its own transaction.
pub async fn pending_organizations(tx: &mut Tx, limit: i64) -> Result<Vec<OrganizationId>> {
    #[derive(sqlx::FromRow)]
    struct Pending {
        #[sqlx(try_from = "uuid::Uuid")]
        organization_id: OrganizationId,
    }
    let rows: Vec<Pending> = tx
        .fetch_all(
            query(
                "SELECT organization_id FROM outbox_events WHERE dispatched_at IS NULL \
                 GROUP BY organization_id ORDER BY MIN(created_at) LIMIT $1",
            )
            .bind(limit),
        )
        .await?;
    Ok(rows.into_iter().map(|p| p.organization_id).collect())
}

/// Marks claimed events dispatched, in the transaction that applied their effects.
pub async fn mark_dispatched(tx: &mut Tx, ids: &[EventId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = query("");
    let now = q.push_arg(crate::now());
    let marks: Vec<String> = ids.iter().map(|id| q.push_arg(*id)).collect();
    q.push_sql(&format!(
        "UPDATE outbox_events SET dispatched_at = {now} WHERE id IN ({})",
        marks.join(", ")
    ));
    tx.execute(q).await?;
    Ok(())
}

/// How many events wait for dispatch (for `/metrics`).
pub async fn undispatched_count(tx: &mut Tx) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let count: Count = tx
        .fetch_one(query(
            "SELECT COUNT(*) AS n FROM outbox_events WHERE dispatched_at IS NULL",
        ))
        .await?;
    Ok(count.n)
}

/// Deletes events dispatched before `before`; returns how many.
pub async fn prune_dispatched(tx: &mut Tx, before: DateTime<Utc>) -> Result<u64> {
    tx.execute(
        query("DELETE FROM outbox_events WHERE dispatched_at IS NOT NULL AND dispatched_at < $1")
            .bind(before),
    )
    .await
}
