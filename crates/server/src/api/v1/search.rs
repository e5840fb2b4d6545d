//! `/api/v1/search` (global search) and `/api/v1/trash` (recently deleted).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct HitOut {
    /// company, contact, lead, deal, or the key of a custom object (its singular name is the detail)
    pub kind: String,
    pub id: Uuid,
    pub title: String,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// At least 2 characters; matched case-insensitively anywhere in names, emails, phones,
    /// domains, titles.
    pub q: String,
    /// Results per kind of record, 1..=20 (default 5).
    pub limit: Option<i64>,
}

/// Companies, contacts, leads and deals matching a text.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", security(("bearer" = [])),
    params(SearchParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = [HitOut]), (status = 400, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    scope: Scope,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<Vec<HitOut>>> {
    let limit = p.limit.unwrap_or(5);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 20",
        ));
    }
    let hits = state
        .app
        .search(&scope.auth.actor, &scope.tenant, &p.q, limit)
        .await?;
    Ok(Json(
        hits.into_iter()
            .map(|h| HitOut {
                kind: h.kind,
                id: h.id,
                title: h.title,
                detail: h.detail,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedOut {
    /// company, contact, lead, deal, a custom object's key, or `object` (a deleted custom object)
    pub record_type: String,
    /// What it is, in words: `Contact`, `Berth`, `Object`.
    pub kind: String,
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub deleted_at: DateTime<Utc>,
}

/// Records deleted in the last 30 days, newest first.
#[utoipa::path(get, path = "/api/v1/trash", tag = "search", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = [DeletedOut])))]
pub async fn trash(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<Vec<DeletedOut>>> {
    let items = state
        .app
        .recently_deleted(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    Ok(Json(
        items
            .into_iter()
            .map(|d| DeletedOut {
                record_type: d.record_type,
                kind: d.kind,
                id: d.id,
                name: d.name,
                owner_id: d.owner_id,
                deleted_at: d.deleted_at,
            })
            .collect(),
    ))
}

/// Restore a deleted record (`kind`: company, contact, lead, deal, a custom object's key, or
/// `object` for a deleted custom object, restored with its fields and records).
#[utoipa::path(post, path = "/api/v1/trash/{kind}/{id}/restore", tag = "search", security(("bearer" = [])),
    params(("kind" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Restored"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn restore(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((kind, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .restore(&scope.auth.actor, &scope.tenant, &kind, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
