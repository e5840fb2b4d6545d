//! `/api/v1/admin/*`: instance administration (instance administrators only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_app::admin::OrganizationQuery;
use rapport_app::organizations::NewOrganizationInput;
use rapport_domain::OrganizationId;
use rapport_domain::organization::OrganizationStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::OrganizationOut;
use super::types::{MyOrganizationOut, Page, Paging, encode_cursor};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth, Meta};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrganizationParams {
    /// Case-insensitive part of the name or slug.
    pub search: Option<String>,
    /// active or suspended
    pub status: Option<String>,
    /// Include soft-deleted organizations awaiting purge.
    pub include_deleted: Option<bool>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    pub cursor: Option<String>,
}

/// Every organization of the instance, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/organizations", tag = "admin", security(("bearer" = [])),
    params(OrganizationParams), responses((status = 200, body = Page<OrganizationOut>), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(params): ApiQuery<OrganizationParams>,
) -> ApiResult<Json<Page<OrganizationOut>>> {
    let paging = Paging {
        page: params.page,
        page_size: params.page_size,
        cursor: params.cursor.clone(),
    };
    let (page, page_size) = (paging.page()?, paging.page_size()?);
    let status = match params.status.as_deref() {
        None => None,
        Some(s) => Some(OrganizationStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("invalid_query", "status must be active or suspended")
        })?),
    };
    let mut items = state
        .app
        .admin_list_organizations(
            &auth.actor,
            OrganizationQuery {
                search: params.search,
                status,
                include_deleted: params.include_deleted.unwrap_or(false),
                after: paging.cursor()?.map(|(at, id)| (at, OrganizationId(id))),
                page,
                page_size,
            },
        )
        .await?;
    let has_more = items.len() as u64 > page_size;
    items.truncate(page_size as usize);
    let next_cursor = if has_more {
        items
            .last()
            .map(|o| encode_cursor(o.created_at, o.id.as_uuid()))
    } else {
        None
    };
    let shown = items.len() as i64;
    let offset = if paging.cursor.is_some() {
        0
    } else {
        ((page - 1) * page_size) as i64
    };
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|o| OrganizationOut::new(o, None))
            .collect(),
        // Organizations are few; the count is exact up to this page, plus "more" when there is.
        total: offset + shown + i64::from(has_more),
        total_is_exact: !has_more,
        page,
        page_size,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminCreateOrganizationRequest {
    pub name: String,
    pub slug: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    /// The email of an existing account, which becomes the owner.
    pub owner_email: String,
}

/// Create an organization for an existing user.
#[utoipa::path(post, path = "/api/v1/admin/organizations", tag = "admin", security(("bearer" = [])),
    request_body = AdminCreateOrganizationRequest,
    responses((status = 201, body = MyOrganizationOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<AdminCreateOrganizationRequest>,
) -> ApiResult<(StatusCode, Json<MyOrganizationOut>)> {
    let org = state
        .app
        .admin_create_organization(
            &auth.actor,
            NewOrganizationInput {
                name: body.name,
                slug: body.slug,
                currency: body.currency,
                time_zone: body.time_zone,
            },
            &body.owner_email,
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// One organization, deleted ones included.
#[utoipa::path(get, path = "/api/v1/admin/organizations/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OrganizationOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrganizationOut>> {
    let org = state
        .app
        .admin_organization(&auth.actor, OrganizationId(id))
        .await?;
    Ok(Json(OrganizationOut::new(org, None)))
}

/// Suspend an organization: every request to it is refused with 403 until restored.
#[utoipa::path(post, path = "/api/v1/admin/organizations/{id}/suspend", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OrganizationOut), (status = 404, body = Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrganizationOut>> {
    let org = state
        .app
        .admin_suspend_organization(&auth.actor, OrganizationId(id), &meta)
        .await?;
    Ok(Json(OrganizationOut::new(org, None)))
}

/// Restore a suspended organization, or a deleted one before it is purged.
#[utoipa::path(post, path = "/api/v1/admin/organizations/{id}/restore", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OrganizationOut), (status = 404, body = Problem)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrganizationOut>> {
    let org = state
        .app
        .admin_restore_organization(&auth.actor, OrganizationId(id), &meta)
        .await?;
    Ok(Json(OrganizationOut::new(org, None)))
}

/// Delete an organization: hidden at once, purged with all its data after the grace period
/// (`RAPPORT_ORGANIZATION_PURGE_DAYS`).
#[utoipa::path(delete, path = "/api/v1/admin/organizations/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OrganizationOut), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrganizationOut>> {
    let org = state
        .app
        .admin_delete_organization(&auth.actor, OrganizationId(id), &meta)
        .await?;
    Ok(Json(OrganizationOut::new(org, None)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    /// Only messages to this address.
    pub to: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<i64>,
}

/// The development outbox: email kept because no SMTP server is configured.
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin", security(("bearer" = [])),
    params(OutboxParams), responses((status = 200, body = Vec<OutboxMessage>), (status = 403, body = Problem)))]
pub async fn outbox(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(params): ApiQuery<OutboxParams>,
) -> ApiResult<Json<Vec<OutboxMessage>>> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 500",
        ));
    }
    let to = params.to.map(|t| t.trim().to_lowercase());
    let list = state
        .app
        .admin_outbox(&auth.actor, to.as_deref(), limit)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|m| OutboxMessage {
                id: m.id,
                to: m.to_address,
                subject: m.subject,
                text: m.text_body,
                created_at: m.created_at,
            })
            .collect(),
    ))
}
