//! Support access: `/api/v1/admin/organizations/{id}/support-access` and
//! `/api/v1/admin/support-access` for instance administrators, `/api/v1/support-access` for an
//! organization's owners (and admins, who read it).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_domain::OrganizationId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SupportGrantOut {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The instance administrator who asked.
    pub requested_by: Uuid,
    pub requester_email: Option<String>,
    pub reason: String,
    /// `read` (acts as a viewer) or `admin` (acts as an admin).
    pub access: String,
    /// How long an approval lasts.
    pub hours: i64,
    /// `pending`, `active`, `expired`, `denied` or `revoked`.
    pub state: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<rapport_app::model::SupportGrant> for SupportGrantOut {
    fn from(g: rapport_app::model::SupportGrant) -> Self {
        Self {
            state: rapport_app::support::state(&g).to_owned(),
            id: g.id,
            organization_id: g.organization_id.as_uuid(),
            requested_by: g.requested_by.as_uuid(),
            requester_email: g.requester_email,
            reason: g.reason,
            access: g.access,
            hours: g.hours,
            decided_at: g.decided_at,
            expires_at: g.expires_at,
            revoked_at: g.revoked_at,
            created_at: g.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportRequest {
    /// What the organization needs help with (up to 500 characters); its owners read it.
    pub reason: String,
    /// `read` or `admin`.
    pub access: String,
    /// 1 to 72.
    pub hours: i64,
}

/// Ask to open an organization (instance administrators, signed in as themselves). Its owners
/// are emailed; nothing opens until one approves. 422 naming `reason`, `access` or `hours`.
#[utoipa::path(post, path = "/api/v1/admin/organizations/{id}/support-access", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SupportRequest,
    responses((status = 201, body = SupportGrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn request(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SupportRequest>,
) -> ApiResult<(StatusCode, Json<SupportGrantOut>)> {
    let grant = state
        .app
        .request_support_access(
            &auth.actor,
            OrganizationId(id),
            &body.reason,
            &body.access,
            body.hours,
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(grant.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestedGrantOut {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub organization_slug: String,
    pub reason: String,
    pub access: String,
    pub hours: i64,
    /// `pending`, `approved`, `denied` or `revoked` as answered; an approved grant past
    /// `expires_at` no longer opens anything.
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The support access the caller asked for, newest first (instance administrators).
#[utoipa::path(get, path = "/api/v1/admin/support-access", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<RequestedGrantOut>), (status = 403, body = Problem)))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<RequestedGrantOut>>> {
    let list = state.app.my_support_grants(&auth.actor).await?;
    Ok(Json(
        list.into_iter()
            .map(|g| RequestedGrantOut {
                id: g.id,
                organization_id: g.organization_id.as_uuid(),
                organization_name: g.organization_name,
                organization_slug: g.organization_slug,
                reason: g.reason,
                access: g.access,
                hours: g.hours,
                status: g.status,
                expires_at: g.expires_at,
                created_at: g.created_at,
            })
            .collect(),
    ))
}

/// The organization's support access requests and grants, newest first (owners and admins).
#[utoipa::path(get, path = "/api/v1/support-access", tag = "organizations", security(("bearer" = [])),
    params(("X-Organization-Id" = Option<Uuid>, Header)),
    responses((status = 200, body = Vec<SupportGrantOut>), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
) -> ApiResult<Json<Vec<SupportGrantOut>>> {
    let list = state.app.support_grants(&scope.tenant).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Approve a pending request (owners): it opens from now for the hours asked. 409
/// `support_grant_decided` once answered.
#[utoipa::path(post, path = "/api/v1/support-access/{id}/approve", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Option<Uuid>, Header)),
    responses((status = 200, body = SupportGrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn approve(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SupportGrantOut>> {
    let grant = state
        .app
        .decide_support_grant(&scope.auth.actor, &scope.tenant, id, true, &meta)
        .await?;
    Ok(Json(grant.into()))
}

/// Deny a pending request (owners).
#[utoipa::path(post, path = "/api/v1/support-access/{id}/deny", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Option<Uuid>, Header)),
    responses((status = 200, body = SupportGrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn deny(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SupportGrantOut>> {
    let grant = state
        .app
        .decide_support_grant(&scope.auth.actor, &scope.tenant, id, false, &meta)
        .await?;
    Ok(Json(grant.into()))
}

/// End an active grant now (owners). 409 `support_grant_inactive` when it is not active.
#[utoipa::path(post, path = "/api/v1/support-access/{id}/revoke", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Option<Uuid>, Header)),
    responses((status = 200, body = SupportGrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SupportGrantOut>> {
    let grant = state
        .app
        .revoke_support_grant(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(Json(grant.into()))
}
