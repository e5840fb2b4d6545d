//! `/api/v1/organizations/{id}/members` and invitations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rapport_app::members::Added;
use rapport_domain::{InvitationId, MembershipId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::by_path;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, Meta};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    /// The membership id.
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    /// When they last signed in; `null`: not since this was noted.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// `false` once deactivated: the member keeps their role and records but cannot enter the
    /// organization until reactivated.
    pub active: bool,
    /// When they were deactivated; `null` while active.
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<rapport_app::model::Member> for MemberOut {
    fn from(m: rapport_app::model::Member) -> Self {
        Self {
            role: m.role_key().to_owned(),
            id: m.id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            email: m.email,
            name: m.name,
            last_sign_in_at: m.last_sign_in_at,
            active: m.deactivated_at.is_none(),
            deactivated_at: m.deactivated_at,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<rapport_app::model::Invitation> for InvitationOut {
    fn from(i: rapport_app::model::Invitation) -> Self {
        Self {
            role: i.role_key().to_owned(),
            id: i.id.as_uuid(),
            email: i.email,
            expires_at: i.expires_at,
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedResponse {
    pub invitation: InvitationOut,
}

/// The organization's members.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<MemberOut>), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<MemberOut>>> {
    let tenant = by_path(&state, &auth, id).await?;
    let members = state.app.list_members(&auth.actor, &tenant, &meta).await?;
    Ok(Json(members.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMemberRequest {
    pub email: String,
    /// A role's key: owner, admin, manager, member, viewer or a custom role's
    pub role: String,
}

/// Add a member (owner/admin). An existing user is added at once (201); an unknown email is
/// sent an invitation (202).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AddMemberRequest,
    responses((status = 201, body = MemberOut), (status = 202, body = InvitedResponse), (status = 403, body = Problem),
              (status = 409, description = "already_member", body = Problem), (status = 422, body = Problem)))]
pub async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AddMemberRequest>,
) -> ApiResult<Response> {
    let tenant = by_path(&state, &auth, id).await?;
    Ok(
        match state
            .app
            .add_member(&auth.actor, &tenant, &body.email, &body.role, &meta)
            .await?
        {
            Added::Member(member) => {
                (StatusCode::CREATED, Json(MemberOut::from(member))).into_response()
            }
            Added::Invited(invitation) => (
                StatusCode::ACCEPTED,
                Json(InvitedResponse {
                    invitation: invitation.into(),
                }),
            )
                .into_response(),
        },
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRoleRequest {
    pub role: String,
}

/// Change a member's role (owner/admin; only owners touch owners). The last owner cannot be
/// demoted: 409 `last_owner`.
#[utoipa::path(patch, path = "/api/v1/organizations/{id}/members/{member_id}", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("member_id" = Uuid, Path)), request_body = ChangeRoleRequest,
    responses((status = 200, body = MemberOut), (status = 404, body = Problem), (status = 409, description = "last_owner", body = Problem)))]
pub async fn change_role(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<ChangeRoleRequest>,
) -> ApiResult<Json<MemberOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let member = state
        .app
        .change_role(
            &auth.actor,
            &tenant,
            MembershipId(member_id),
            &body.role,
            &meta,
        )
        .await?;
    Ok(Json(member.into()))
}

/// Remove a member (owner/admin). The last owner cannot be removed: 409 `last_owner`.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{member_id}", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem), (status = 409, description = "last_owner", body = Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let tenant = by_path(&state, &auth, id).await?;
    state
        .app
        .remove_member(&auth.actor, &tenant, MembershipId(member_id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivate a member (owner/admin; only owners touch owners): they keep their role, records
/// and history but can no longer enter the organization, nor can API keys they made; their
/// sessions end when no other organization counts them active. 409 `self_deactivation` for
/// oneself, 409 `last_owner` for the last active owner. Deactivating a deactivated member
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members/{member_id}/deactivate", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 200, body = MemberOut), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "self_deactivation, last_owner", body = Problem)))]
pub async fn deactivate(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<MemberOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let member = state
        .app
        .deactivate_member(&auth.actor, &tenant, MembershipId(member_id), &meta)
        .await?;
    Ok(Json(member.into()))
}

/// Reactivate a deactivated member, with the role they had (owner/admin; only owners touch
/// owners).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members/{member_id}/reactivate", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 200, body = MemberOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reactivate(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<MemberOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let member = state
        .app
        .reactivate_member(&auth.actor, &tenant, MembershipId(member_id), &meta)
        .await?;
    Ok(Json(member.into()))
}

/// Open invitations (owner/admin).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/invitations", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<InvitationOut>)))]
pub async fn invitations(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<InvitationOut>>> {
    let tenant = by_path(&state, &auth, id).await?;
    let list = state
        .app
        .list_invitations(&auth.actor, &tenant, &meta)
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Revoke an open invitation (owner/admin).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/invitations/{invitation_id}", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("invitation_id" = Uuid, Path)), responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, invitation_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let tenant = by_path(&state, &auth, id).await?;
    state
        .app
        .revoke_invitation(&auth.actor, &tenant, InvitationId(invitation_id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send an invitation again, with a new link and expiry (owner/admin).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/invitations/{invitation_id}/resend", tag = "members", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("invitation_id" = Uuid, Path)), responses((status = 202, body = InvitedResponse), (status = 404, body = Problem)))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, invitation_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<(StatusCode, Json<InvitedResponse>)> {
    let tenant = by_path(&state, &auth, id).await?;
    let invitation = state
        .app
        .resend_invitation(&auth.actor, &tenant, InvitationId(invitation_id), &meta)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvitedResponse {
            invitation: invitation.into(),
        }),
    ))
}
