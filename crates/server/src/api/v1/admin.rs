//! `/api/v1/admin/*`: instance administration (instance administrators only).

use axum::Json;
use axum::extract::State;
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
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, Meta};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrganizationParams {
    /// Case-insensitive part of the name or slug.
    pub search: Option<String>,
    /// active or suspended
    pub status: Option<String>,
    /// Include soft-deleted organizations awaiting purge.
    pub include_deleted: Option<bool>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
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
    ApiPath(id): ApiPath<Uuid>,
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
    ApiPath(id): ApiPath<Uuid>,
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
    ApiPath(id): ApiPath<Uuid>,
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
    ApiPath(id): ApiPath<Uuid>,
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
#[into_params(parameter_in = Query)]
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

/// A background job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    /// queued, running, retrying, succeeded or dead
    pub status: String,
    pub priority: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it runs (queued, retrying) or ran last.
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub organization_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The queue at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobsOut {
    /// How many jobs are in each status.
    #[schema(value_type = Object)]
    pub counts: serde_json::Map<String, serde_json::Value>,
    /// Outbox events committed but not yet dispatched.
    pub undispatched_events: i64,
    pub jobs: Vec<JobOut>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobParams {
    /// Only jobs in this status: queued, running, retrying, succeeded or dead.
    pub status: Option<String>,
    /// At most this many, most recently changed first (default 50, at most 500).
    pub limit: Option<i64>,
}

/// The background job queue: counts per status and the latest jobs.
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", security(("bearer" = [])),
    params(JobParams), responses((status = 200, body = JobsOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn jobs(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(params): ApiQuery<JobParams>,
) -> ApiResult<Json<JobsOut>> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 500",
        ));
    }
    let overview = state
        .app
        .jobs_overview(&auth.actor, params.status.as_deref(), limit)
        .await?;
    Ok(Json(JobsOut {
        counts: overview
            .counts
            .into_iter()
            .map(|(s, n)| (s.to_owned(), serde_json::json!(n)))
            .collect(),
        undispatched_events: overview.undispatched_events,
        jobs: overview
            .jobs
            .into_iter()
            .map(|j| JobOut {
                id: j.id.as_uuid(),
                queue: j.queue,
                kind: j.kind,
                status: j.status,
                priority: j.priority,
                attempts: j.attempts,
                max_attempts: j.max_attempts,
                run_at: j.run_at,
                last_error: j.last_error,
                organization_id: j.organization_id,
                created_at: j.created_at,
                updated_at: j.updated_at,
                finished_at: j.finished_at,
            })
            .collect(),
    }))
}

/// Run a dead (or waiting) job again now, with its attempts counted afresh.
#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/retry", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry_job(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .retry_job(&auth.actor, &meta, rapport_domain::JobId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
