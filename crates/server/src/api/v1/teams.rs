//! `/api/v1/teams`: groups of the organization's members, each with an optional lead; what a
//! role's "team" scope reaches.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_app::teams::{NewTeam, TeamChange, TeamView};
use rapport_domain::{TeamId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::v1::types::present;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

/// A team: its members (user ids, in the order given) and its lead, one of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub lead_id: Option<Uuid>,
    pub members: Vec<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamListOut {
    pub items: Vec<TeamOut>,
}

impl From<TeamView> for TeamOut {
    fn from(t: TeamView) -> Self {
        TeamOut {
            id: t.id.as_uuid(),
            name: t.name,
            description: t.description,
            lead_id: t.lead_id.map(|u| u.as_uuid()),
            members: t.members.iter().map(|u| u.as_uuid()).collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamIn {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A member of the organization; added to the members when missing. `null` leaves the
    /// team without a lead.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub lead_id: Option<Option<Uuid>>,
    /// Members of the organization, by user id: the whole list (it replaces the team's).
    pub members: Option<Vec<Uuid>>,
}

fn users(ids: &[Uuid]) -> Vec<UserId> {
    ids.iter().copied().map(UserId).collect()
}

/// The organization's teams, by name (every member reads them).
#[utoipa::path(get, path = "/api/v1/teams", tag = "members", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = TeamListOut)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<TeamListOut>> {
    let teams = state
        .app
        .teams(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    Ok(Json(TeamListOut {
        items: teams.into_iter().map(TeamOut::from).collect(),
    }))
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = TeamOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TeamOut>> {
    let team = state
        .app
        .team(&scope.auth.actor, &scope.tenant, TeamId(id), &meta)
        .await?;
    Ok(Json(team.into()))
}

/// Create a team (owners and admins). Names are unique, whatever their case (409
/// `team_name_taken`).
#[utoipa::path(post, path = "/api/v1/teams", tag = "members", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = TeamIn,
    responses((status = 201, body = TeamOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<TeamIn>,
) -> ApiResult<(StatusCode, Json<TeamOut>)> {
    let team = state
        .app
        .create_team(
            &scope.auth.actor,
            &scope.tenant,
            NewTeam {
                name: body.name.unwrap_or_default(),
                description: body.description,
                lead_id: body.lead_id.flatten().map(UserId),
                members: users(body.members.as_deref().unwrap_or_default()),
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// Change a team (owners and admins): what is given changes; `members` replaces the list.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = TeamIn,
    responses((status = 200, body = TeamOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TeamIn>,
) -> ApiResult<Json<TeamOut>> {
    let team = state
        .app
        .update_team(
            &scope.auth.actor,
            &scope.tenant,
            TeamId(id),
            TeamChange {
                name: body.name,
                description: body.description,
                lead_id: body.lead_id.map(|l| l.map(UserId)),
                members: body.members.as_deref().map(users),
            },
            &meta,
        )
        .await?;
    Ok(Json(team.into()))
}

/// Delete a team (owners and admins); its members stay in the organization.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "members", security(("bearer" = [])),
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
        .delete_team(&scope.auth.actor, &scope.tenant, TeamId(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
