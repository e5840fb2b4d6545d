//! `/api/v1/views`: saved views of the record lists (the same ones the web app's lists show).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_app::views::{LISTS, ViewDraft};
use rapport_domain::ViewId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

/// A saved view: a list's filters, sort and columns under a name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewOut {
    pub id: Uuid,
    pub owner_id: Uuid,
    /// contacts, companies, leads, deals or tasks
    pub list: String,
    pub name: String,
    /// The list's query string as the web app's list reads it (`search=…&owner=…&sort=-name`).
    pub query: String,
    pub columns: Vec<String>,
    /// Seen by the whole organization, not only its owner.
    pub shared: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<rapport_app::model::SavedView> for ViewOut {
    fn from(v: rapport_app::model::SavedView) -> Self {
        Self {
            id: v.id.as_uuid(),
            owner_id: v.owner_id.as_uuid(),
            list: v.list,
            name: v.name,
            query: v.query,
            columns: v.columns.0,
            shared: v.shared,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ViewParams {
    /// contacts, companies, leads, deals or tasks
    pub list: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewIn {
    /// contacts, companies, leads, deals or tasks
    pub list: String,
    /// 1 to 60 characters.
    pub name: String,
    /// The list's query string (at most 2,000 characters).
    #[serde(default)]
    pub query: String,
    /// Columns to show, among the list's columns; empty: the list's defaults.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Share with the whole organization (needs a role that may create records).
    #[serde(default)]
    pub shared: bool,
}

/// The views of a list the caller may open: their own and the shared ones.
#[utoipa::path(get, path = "/api/v1/views", tag = "views", security(("bearer" = [])),
    params(ViewParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = [ViewOut]), (status = 422, description = "`validation_failed`: not a list that has views", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    ApiQuery(p): ApiQuery<ViewParams>,
) -> ApiResult<Json<Vec<ViewOut>>> {
    if !LISTS.iter().any(|(list, _)| *list == p.list) {
        return Err(ApiError::invalid("list", "is not a list that can be saved"));
    }
    let views = state
        .app
        .views(&scope.auth.actor, &scope.tenant, &p.list)
        .await?;
    Ok(Json(views.into_iter().map(Into::into).collect()))
}

/// Save a view.
#[utoipa::path(post, path = "/api/v1/views", tag = "views", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = ViewIn,
    responses((status = 201, body = ViewOut), (status = 403, description = "`forbidden`: sharing needs a role that may create records", body = Problem),
              (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ViewIn>,
) -> ApiResult<(StatusCode, Json<ViewOut>)> {
    let view = state
        .app
        .save_view(
            &scope.auth.actor,
            &scope.tenant,
            ViewDraft {
                list: body.list,
                name: body.name,
                query: body.query,
                columns: body.columns,
                shared: body.shared,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Delete a view: one's own, or, for owners and admins, a shared one.
#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "views", security(("bearer" = [])),
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
        .delete_view(&scope.auth.actor, &scope.tenant, ViewId(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
