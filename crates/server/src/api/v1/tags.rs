//! `/api/v1/tags` and the tags of records.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_app::tags::Taggable;
use rapport_domain::{CompanyId, ContactId, DealId, LeadId, TagId};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::TagOut;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagIn {
    pub name: Option<String>,
    /// gray, red, orange, amber, green, teal, blue, indigo, purple or pink (default gray)
    pub color: Option<String>,
}

/// The organization's tags, by name.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = [TagOut])))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<Vec<TagOut>>> {
    let tags = state
        .app
        .tags(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    Ok(Json(tags.iter().map(Into::into).collect()))
}

/// Create a tag (409 `tag_exists` when the name is taken, ignoring case).
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = TagIn,
    responses((status = 201, body = TagOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<TagIn>,
) -> ApiResult<(StatusCode, Json<TagOut>)> {
    let tag = state
        .app
        .create_tag(
            &scope.auth.actor,
            &scope.tenant,
            body.name.as_deref().unwrap_or(""),
            body.color.as_deref().unwrap_or("gray"),
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json((&tag).into())))
}

/// Rename or recolour a tag (managers and above).
#[utoipa::path(patch, path = "/api/v1/tags/{id}", tag = "tags", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = TagIn,
    responses((status = 200, body = TagOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TagIn>,
) -> ApiResult<Json<TagOut>> {
    let tag = state
        .app
        .update_tag(
            &scope.auth.actor,
            &scope.tenant,
            TagId(id),
            body.name.as_deref(),
            body.color.as_deref(),
            &meta,
        )
        .await?;
    Ok(Json((&tag).into()))
}

/// Delete a tag; it leaves every record it was on (managers and above).
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_tag(&scope.auth.actor, &scope.tenant, TagId(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordTagsIn {
    /// The record's tags after the change (replaces the current ones).
    pub tag_ids: Vec<Uuid>,
}

/// Set the tags of a company, contact, lead, deal or custom record (`kind`: companies, contacts,
/// leads, deals, records).
#[utoipa::path(put, path = "/api/v1/{kind}/{id}/tags", tag = "tags", security(("bearer" = [])),
    params(("kind" = String, Path, description = "companies, contacts, leads, deals or records (a custom object's record)"), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    request_body = RecordTagsIn,
    responses((status = 200, body = [TagOut]), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_for_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((kind, id)): ApiPath<(String, Uuid)>,
    ApiJson(body): ApiJson<RecordTagsIn>,
) -> ApiResult<Json<Vec<TagOut>>> {
    let record = match kind.as_str() {
        "companies" => Taggable::Company(CompanyId(id)),
        "contacts" => Taggable::Contact(ContactId(id)),
        "leads" => Taggable::Lead(LeadId(id)),
        "deals" => Taggable::Deal(DealId(id)),
        "records" => Taggable::Record(rapport_domain::RecordId(id)),
        _ => return Err(ApiError::not_found()),
    };
    let ids: Vec<TagId> = body.tag_ids.into_iter().map(TagId).collect();
    let tags = state
        .app
        .set_tags(&scope.auth.actor, &scope.tenant, record, &ids, &meta)
        .await?;
    Ok(Json(tags.iter().map(Into::into).collect()))
}
