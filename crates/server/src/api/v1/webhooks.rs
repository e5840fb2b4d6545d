//! `/api/v1/webhooks`: the organization's webhook endpoints and their delivery logs (owners and
//! admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_app::model::{Delivery, Endpoint};
use rapport_app::webhooks::{DeliveryDetail, EndpointInput};
use rapport_domain::{DeliveryId, WebhookId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The event types it receives; empty: every type.
    pub event_types: Vec<String>,
    pub active: bool,
    /// Why Rapport turned it off (410 Gone, days of failures).
    pub disabled_reason: Option<String>,
    /// Failing since then, without a success.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until then, messages are also signed with the secret before the last rotation.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only when just created or rotated: the signing secret (`whsec_…`), shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookOut {
    fn new(e: Endpoint, secret: Option<String>) -> Self {
        WebhookOut {
            id: e.id.as_uuid(),
            url: e.url,
            description: e.description,
            event_types: e.event_types.0,
            active: e.active,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            previous_secret_until: e.previous_secret_until.filter(|until| *until > Utc::now()),
            created_at: e.created_at,
            updated_at: e.updated_at,
            secret,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// https:// (or http://) URL of the receiver; private addresses are refused.
    pub url: Option<String>,
    pub description: Option<String>,
    /// Event types from the catalogue; empty or absent: every type.
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
}

impl From<WebhookIn> for EndpointInput {
    fn from(w: WebhookIn) -> Self {
        EndpointInput {
            url: w.url,
            description: w.description,
            event_types: w.event_types,
            active: w.active,
        }
    }
}

/// The organization's webhook endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = Vec<WebhookOut>), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<Vec<WebhookOut>>> {
    let list = state
        .app
        .webhooks(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    Ok(Json(
        list.into_iter().map(|e| WebhookOut::new(e, None)).collect(),
    ))
}

/// Register an endpoint. The answer carries its signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = WebhookIn,
    responses((status = 201, body = WebhookOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<WebhookIn>,
) -> ApiResult<(StatusCode, Json<WebhookOut>)> {
    let (endpoint, secret) = state
        .app
        .create_webhook(&scope.auth.actor, &scope.tenant, body.into(), &meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookOut::new(endpoint, Some(secret))),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = WebhookOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookOut>> {
    let endpoint = state
        .app
        .webhook(&scope.auth.actor, &scope.tenant, WebhookId(id), &meta)
        .await?;
    Ok(Json(WebhookOut::new(endpoint, None)))
}

/// Change an endpoint; `active: true` turns a disabled one back on.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = WebhookIn,
    responses((status = 200, body = WebhookOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WebhookIn>,
) -> ApiResult<Json<WebhookOut>> {
    let endpoint = state
        .app
        .update_webhook(
            &scope.auth.actor,
            &scope.tenant,
            WebhookId(id),
            body.into(),
            &meta,
        )
        .await?;
    Ok(Json(WebhookOut::new(endpoint, None)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_webhook(&scope.auth.actor, &scope.tenant, WebhookId(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; the previous one also signs for 24 hours.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = WebhookOut), (status = 404, body = Problem)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookOut>> {
    let app = &state.app;
    let secret = app
        .rotate_webhook_secret(&scope.auth.actor, &scope.tenant, WebhookId(id), &meta)
        .await?;
    let endpoint = app
        .webhook(&scope.auth.actor, &scope.tenant, WebhookId(id), &meta)
        .await?;
    Ok(Json(WebhookOut::new(endpoint, Some(secret))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestOut {
    /// The delivery of the test message; follow it in the delivery log.
    pub delivery_id: Uuid,
}

/// Send a `webhook.test` message to the endpoint.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), responses((status = 202, body = TestOut), (status = 404, body = Problem)))]
pub async fn test(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<TestOut>)> {
    let delivery = state
        .app
        .test_webhook(&scope.auth.actor, &scope.tenant, WebhookId(id), &meta)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TestOut {
            delivery_id: delivery.as_uuid(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; null when nothing came back.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    /// The `webhook-id` header: the event's id, the same on every attempt.
    pub event_id: Uuid,
    pub event_type: String,
    /// pending (being tried), succeeded, failed
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The exact body sent (single delivery only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<AttemptOut>>,
}

impl DeliveryOut {
    fn new(d: Delivery, detail: Option<Vec<rapport_app::model::Attempt>>) -> Self {
        let full = detail.is_some();
        DeliveryOut {
            id: d.id.as_uuid(),
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_latency_ms: d.last_latency_ms,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            delivered_at: d.delivered_at,
            request_body: full.then_some(d.body),
            attempt_log: detail.map(|attempts| {
                attempts
                    .into_iter()
                    .map(|a| AttemptOut {
                        attempted_at: a.attempted_at,
                        status_code: a.status_code,
                        latency_ms: a.latency_ms,
                        error: a.error,
                        response: a.response_excerpt,
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveriesOut {
    pub items: Vec<DeliveryOut>,
    /// Pass as `cursor` for older deliveries; null on the last page.
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    pub cursor: Option<Uuid>,
    /// 1–100, default 30.
    pub limit: Option<i64>,
}

/// The endpoint's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header), DeliveryParams),
    responses((status = 200, body = DeliveriesOut), (status = 404, body = Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> ApiResult<Json<DeliveriesOut>> {
    let limit = params.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 100",
        ));
    }
    let mut list = state
        .app
        .webhook_deliveries(
            &scope.auth.actor,
            &scope.tenant,
            WebhookId(id),
            params.cursor.map(DeliveryId),
            limit + 1,
            &meta,
        )
        .await?;
    let more = list.len() as i64 > limit;
    list.truncate(limit as usize);
    Ok(Json(DeliveriesOut {
        next_cursor: more.then(|| list.last().map(|d| d.id.as_uuid())).flatten(),
        items: list
            .into_iter()
            .map(|d| DeliveryOut::new(d, None))
            .collect(),
    }))
}

/// One delivery with the body sent and every attempt.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = DeliveryOut), (status = 404, body = Problem)))]
pub async fn delivery(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((id, delivery_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<DeliveryOut>> {
    let DeliveryDetail { delivery, attempts } = state
        .app
        .webhook_delivery(
            &scope.auth.actor,
            &scope.tenant,
            WebhookId(id),
            DeliveryId(delivery_id),
            &meta,
        )
        .await?;
    Ok(Json(DeliveryOut::new(delivery, Some(attempts))))
}

/// Send a delivery again now (same body and `webhook-id`).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 202), (status = 404, body = Problem)))]
pub async fn resend(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((id, delivery_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .resend_webhook_delivery(
            &scope.auth.actor,
            &scope.tenant,
            WebhookId(id),
            DeliveryId(delivery_id),
            &meta,
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}
