//! Webhook endpoints, their deliveries and each delivery's attempts.

use chrono::{DateTime, Utc};
use rapport_domain::{DeliveryId, OrganizationId, UserId, WebhookId};

use crate::{Result, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Endpoint {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: WebhookId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub url: String,
    pub description: String,
    /// Event types it receives; empty means every type.
    pub event_types: sqlx::types::Json<Vec<String>>,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_by: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENDPOINT_COLUMNS: &str = "id, organization_id, url, description, event_types, secret_sealed, \
     previous_secret_sealed, previous_secret_until, active, disabled_reason, failing_since, created_by, \
     created_at, updated_at";

impl Endpoint {
    /// Whether it wants events of this type.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.0.is_empty() || self.event_types.0.iter().any(|t| t == event_type)
    }
}

pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub secret_sealed: String,
    pub active: bool,
    pub created_by: UserId,
}

pub async fn insert(tx: &mut TenantTx, new: NewEndpoint) -> Result<Endpoint> {
    let org = tx.organization_id();
    let id = WebhookId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO webhook_endpoints (id, organization_id, url, description, event_types, secret_sealed, \
                 active, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(id)
            .bind(org)
            .bind(new.url)
            .bind(new.description)
            .bind(serde_json::json!(new.event_types))
            .bind(new.secret_sealed)
            .bind(new.active)
            .bind(new.created_by)
            .bind(now),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn find(tx: &mut TenantTx, id: WebhookId) -> Result<Option<Endpoint>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Endpoint>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 ORDER BY created_at, id"
            ))
            .bind(org),
        )
        .await
}

/// What a change sets.
pub struct EndpointChange {
    /// Who set its address now, when it changes.
    pub maker: Option<UserId>,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub active: bool,
}

pub async fn update(tx: &mut TenantTx, id: WebhookId, change: EndpointChange) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, active = $4, \
                 disabled_reason = CASE WHEN $4 THEN NULL ELSE disabled_reason END, \
                 failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END, updated_at = $5, \
                 created_by = COALESCE($8, created_by) \
                 WHERE organization_id = $6 AND id = $7",
            )
            .bind(change.url)
            .bind(change.description)
            .bind(serde_json::json!(change.event_types))
            .bind(change.active)
            .bind(crate::now())
            .bind(org)
            .bind(id)
            .bind(change.maker),
        )
        .await?;
    Ok(())
}

/// A new secret; the current one keeps signing (as a second signature) until `previous_until`.
pub async fn rotate_secret(
    tx: &mut TenantTx,
    id: WebhookId,
    secret_sealed: &str,
    previous_until: DateTime<Utc>,
) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, previous_secret_until = $1, \
                 secret_sealed = $2, updated_at = $3 WHERE organization_id = $4 AND id = $5",
            )
            .bind(previous_until)
            .bind(secret_sealed)
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut TenantTx, id: WebhookId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}

/// The active endpoints of an organization (platform scope: the dispatcher).
pub async fn active_of(tx: &mut Tx, organization: OrganizationId) -> Result<Vec<Endpoint>> {
    tx.fetch_all(
        query(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 AND active = TRUE"
        ))
        .bind(organization),
    )
    .await
}

/// An endpoint in any organization (platform scope: the delivery job).
pub async fn endpoint(tx: &mut Tx, id: WebhookId) -> Result<Option<Endpoint>> {
    tx.fetch_optional(
        query(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

/// Records a failure: the endpoint has been failing since its first failure after a success.
pub async fn note_failure(tx: &mut Tx, id: WebhookId, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        query(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(id),
    )
    .await?;
    Ok(())
}

pub async fn note_success(tx: &mut Tx, id: WebhookId) -> Result<()> {
    tx.execute(
        query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
            .bind(id),
    )
    .await?;
    Ok(())
}

/// Turns an endpoint off with a reason; returns false when it was off already.
pub async fn disable(tx: &mut Tx, id: WebhookId, reason: &str) -> Result<bool> {
    Ok(tx
        .execute(
            query(
                "UPDATE webhook_endpoints SET active = FALSE, disabled_reason = $1, updated_at = $2 \
                 WHERE id = $3 AND active = TRUE",
            )
            .bind(reason)
            .bind(crate::now())
            .bind(id),
        )
        .await?
        == 1)
}

// Deliveries

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Delivery {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: DeliveryId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub endpoint_id: WebhookId,
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub body: String,
    /// pending, succeeded, failed (out of attempts or refused for good)
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, organization_id, endpoint_id, event_id, event_type, body, status, attempts, \
     last_status_code, last_latency_ms, last_error, created_at, updated_at, delivered_at";

/// Creates the delivery of an event to an endpoint; `None` when it exists already.
pub async fn insert_delivery(
    tx: &mut Tx,
    organization: OrganizationId,
    endpoint: WebhookId,
    event_id: uuid::Uuid,
    event_type: &str,
    body: &str,
) -> Result<Option<DeliveryId>> {
    let id = DeliveryId::new();
    let now = crate::now();
    let inserted = tx
        .execute(
            query(
                "INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_id, event_type, body, status, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) \
                 ON CONFLICT (endpoint_id, event_id) DO NOTHING",
            )
            .bind(id)
            .bind(organization)
            .bind(endpoint)
            .bind(event_id)
            .bind(event_type)
            .bind(body)
            .bind(now),
        )
        .await?;
    Ok((inserted == 1).then_some(id))
}

pub async fn delivery(tx: &mut Tx, id: DeliveryId) -> Result<Option<Delivery>> {
    tx.fetch_optional(
        query(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

pub async fn find_delivery(
    tx: &mut TenantTx,
    endpoint: WebhookId,
    id: DeliveryId,
) -> Result<Option<Delivery>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2 AND id = $3"
            ))
            .bind(org)
            .bind(endpoint)
            .bind(id),
        )
        .await
}

/// An endpoint's deliveries, newest first, before `before`.
pub async fn deliveries(
    tx: &mut TenantTx,
    endpoint: WebhookId,
    before: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2 \
                 AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
            ))
            .bind(org)
            .bind(endpoint)
            .bind(before)
            .bind(limit),
        )
        .await
}

/// Records one attempt and where the delivery stands after it.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    tx: &mut Tx,
    delivery: &Delivery,
    status: &str,
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<&str>,
    response_excerpt: Option<&str>,
) -> Result<()> {
    let now = crate::now();
    tx.execute(
        query(
            "INSERT INTO webhook_attempts (id, organization_id, delivery_id, attempted_at, status_code, latency_ms, \
             error, response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(delivery.organization_id)
        .bind(delivery.id)
        .bind(now)
        .bind(status_code)
        .bind(latency_ms)
        .bind(error)
        .bind(response_excerpt),
    )
    .await?;
    tx.execute(
        query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status_code = $2, \
             last_latency_ms = $3, last_error = $4, updated_at = $5, \
             delivered_at = CASE WHEN $1 = 'succeeded' THEN $5 ELSE delivered_at END WHERE id = $6",
        )
        .bind(status)
        .bind(status_code)
        .bind(latency_ms)
        .bind(error)
        .bind(now)
        .bind(delivery.id),
    )
    .await?;
    Ok(())
}

/// Puts a delivery back to pending (a resend).
pub async fn mark_pending(tx: &mut TenantTx, id: DeliveryId) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE webhook_deliveries SET status = 'pending', updated_at = $1 WHERE organization_id = $2 AND id = $3",
            )
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Attempt {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

pub async fn attempts(tx: &mut TenantTx, delivery: DeliveryId) -> Result<Vec<Attempt>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(
                "SELECT attempted_at, status_code, latency_ms, error, response_excerpt FROM webhook_attempts \
                 WHERE organization_id = $1 AND delivery_id = $2 ORDER BY attempted_at",
            )
            .bind(org)
            .bind(delivery),
        )
        .await
}
