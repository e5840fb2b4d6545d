//! The timelines of companies, contacts and leads (deals have theirs under `/deals`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_app::timeline::{RecordRef, TimelinePaging};
use rapport_domain::{ActivityId, CompanyId, ContactId, LeadId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::deals::ActivityIn;
use super::types::{Page, Paging, encode_cursor};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordActivityOut {
    pub id: Uuid,
    /// company, contact or lead
    pub record_type: String,
    pub record_id: Uuid,
    pub author_id: Option<Uuid>,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<rapport_app::model::Activity> for RecordActivityOut {
    fn from(a: rapport_app::model::Activity) -> Self {
        Self {
            id: a.id.as_uuid(),
            record_type: a.record_type,
            record_id: a.record_id,
            author_id: a.author_id,
            kind: a.kind,
            payload: a.payload.0,
            created_at: a.created_at,
        }
    }
}

fn record(kind: &str, id: Uuid) -> Result<RecordRef, ApiError> {
    match kind {
        "companies" => Ok(RecordRef::Company(CompanyId(id))),
        "contacts" => Ok(RecordRef::Contact(ContactId(id))),
        "leads" => Ok(RecordRef::Lead(LeadId(id))),
        _ => Err(ApiError::not_found()),
    }
}

/// A record's timeline, newest first (`kind`: companies, contacts or leads).
#[utoipa::path(get, path = "/api/v1/{kind}/{id}/activities", tag = "timelines", security(("bearer" = [])),
    params(("kind" = String, Path, description = "companies, contacts or leads"), ("id" = Uuid, Path), Paging, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<RecordActivityOut>), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((kind, id)): ApiPath<(String, Uuid)>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<RecordActivityOut>>> {
    let (page, page_size) = (paging.page()?, paging.page_size()?);
    let before = paging.cursor()?.map(|(at, id)| (at, ActivityId(id)));
    let result = state
        .app
        .timeline(
            &scope.auth.actor,
            &scope.tenant,
            record(&kind, id)?,
            TimelinePaging {
                before,
                page,
                page_size,
            },
            &meta,
        )
        .await?;
    Ok(Json(Page {
        next_cursor: result.next.map(|(at, id)| encode_cursor(at, id.as_uuid())),
        items: result.items.into_iter().map(Into::into).collect(),
        total: result.total,
        total_is_exact: true,
        page,
        page_size,
    }))
}

/// Add a comment or a logged call, meeting or email to a record's timeline.
#[utoipa::path(post, path = "/api/v1/{kind}/{id}/activities", tag = "timelines", security(("bearer" = [])),
    params(("kind" = String, Path, description = "companies, contacts or leads"), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    request_body = ActivityIn,
    responses((status = 201, body = RecordActivityOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((kind, id)): ApiPath<(String, Uuid)>,
    ApiJson(body): ApiJson<ActivityIn>,
) -> ApiResult<(StatusCode, Json<RecordActivityOut>)> {
    let activity = state
        .app
        .add_activity(
            &scope.auth.actor,
            &scope.tenant,
            record(&kind, id)?,
            &body.kind,
            body.payload,
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(activity.into())))
}
