//! `GET /api/v1/audit`: the organization's audit log (owner/admin).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rapport_app::audit::AuditQuery;
use rapport_domain::{AuditEntryId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::{Page, Paging, encode_cursor};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// Such as `auth.login_succeeded`, `member.role_changed`, `permission.denied`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// `{"field": {"before": …, "after": …}}`, secrets masked.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The API key the actor acted through, if any.
    pub api_key_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only entries by this user.
    pub actor_id: Option<Uuid>,
    /// An exact action, or a prefix ending in `.` (`member.`).
    pub action: Option<String>,
    /// Entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
    pub cursor: Option<String>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(AuditParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<AuditEntryOut>), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<Page<AuditEntryOut>>> {
    let paging = Paging {
        page: params.page,
        page_size: params.page_size,
        cursor: params.cursor.clone(),
    };
    let page_size = paging.page_size()?;
    let page = paging.page()?;
    let before = paging.cursor()?.map(|(at, id)| (at, AuditEntryId(id)));
    if let (Some(from), Some(to)) = (params.from, params.to)
        && from > to
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            "from must be before to",
        ));
    }
    let result = state
        .app
        .audit_log(
            &scope.auth.actor,
            &scope.tenant,
            &meta,
            AuditQuery {
                actor_id: params.actor_id.map(UserId),
                action: params.action,
                from: params.from,
                to: params.to,
                before,
                page,
                page_size,
            },
        )
        .await?;
    let next_cursor = if result.has_more {
        result
            .items
            .last()
            .map(|e| encode_cursor(e.created_at, e.id.as_uuid()))
    } else {
        None
    };
    Ok(Json(Page {
        items: result
            .items
            .into_iter()
            .map(|e| AuditEntryOut {
                id: e.id.as_uuid(),
                actor_id: e.actor_id,
                actor_email: e.actor_email,
                action: e.action,
                target_type: e.target_type,
                target_id: e.target_id,
                changes: e.changes.map(|j| j.0),
                ip: e.ip,
                user_agent: e.user_agent,
                request_id: e.request_id,
                api_key_id: e.api_key_id,
                created_at: e.created_at,
            })
            .collect(),
        total: result.total,
        total_is_exact: result.total_is_exact,
        page,
        page_size,
        next_cursor,
    }))
}
