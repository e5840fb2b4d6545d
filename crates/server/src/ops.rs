//! Operations endpoints: liveness, readiness, metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process answers. Checks no dependency.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// ok or unavailable
    pub status: &'static str,
    /// sqlite or postgres: ok / the error
    pub database: String,
    /// Present when Redis is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
}

async fn check_redis(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(format!("unexpected answer {pong:?}"))
    }
}

/// Readiness: the database (and Redis, when configured) answer within two seconds.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let limit = Duration::from_secs(2);
    let database = match tokio::time::timeout(limit, state.app.db.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    };
    let redis = match &state.app.config.redis_url {
        None => None,
        Some(url) => Some(
            match tokio::time::timeout(limit, check_redis(url.expose())).await {
                Ok(result) => result,
                Err(_) => Err("timed out".to_owned()),
            },
        ),
    };
    let ok = database.is_ok() && redis.as_ref().is_none_or(|r| r.is_ok());
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unavailable");
    }
    if let Some(Err(e)) = &redis {
        tracing::warn!(error = %e, "readiness: redis unavailable");
    }
    let body = Readiness {
        status: if ok { "ok" } else { "unavailable" },
        database: match database {
            Ok(()) => format!("{}: ok", state.app.db.backend().as_str()),
            Err(_) => format!("{}: unavailable", state.app.db.backend().as_str()),
        },
        redis: redis.map(|r| {
            if r.is_ok() {
                "ok".to_owned()
            } else {
                "unavailable".to_owned()
            }
        }),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus metrics in the text exposition format. On the public address they are served only
/// to a scraper that sends `RAPPORT_METRICS_TOKEN` as a bearer token; without a token configured
/// they are not served there at all (404). `RAPPORT_METRICS_BIND` serves them without a token on
/// a separate, private address instead.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "OpenMetrics text format", body = String, content_type = "application/openmetrics-text"),
    (status = 401, description = "The metrics token was not sent", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No metrics token is configured: metrics are not served on this address", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, crate::error::ApiError> {
    let Some(expected) = &state.app.config.metrics_token else {
        return Err(crate::error::ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "metrics are not served on this address; set RAPPORT_METRICS_TOKEN or RAPPORT_METRICS_BIND",
        ));
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let matches = sent.is_some_and(|sent| {
        rapport_app::crypto::constant_time_eq(sent.as_bytes(), expected.expose().as_bytes())
    });
    if !matches {
        return Err(crate::error::ApiError::unauthenticated(
            "send the metrics token as Authorization: Bearer <token>",
        ));
    }
    Ok(render_metrics(&state).await)
}

/// `/metrics` on the private address of `RAPPORT_METRICS_BIND`: no token.
pub async fn private_metrics(State(state): State<AppState>) -> impl IntoResponse {
    render_metrics(&state).await
}

async fn render_metrics(state: &AppState) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(crate::state::Readings {
            pool: state.app.db.stats(),
            websockets: state.connections.total(),
            queue: state.app.queue_readings().await.ok(),
        }),
    )
}
