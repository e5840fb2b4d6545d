//! The outbox: domain events written in the transaction of the change they describe.

use chrono::{DateTime, Utc};
use rapport_domain::{EventId, OrganizationId, UserId};

use crate::{Result, TenantTx, Tx, query};

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
