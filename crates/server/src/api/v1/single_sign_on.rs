//! `/api/v1/organizations/{id}/single-sign-on`: the organization's OpenID Connect provider
//! (owners and admins, signed in as themselves: not an API key, not support access).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_app::sso::{Settings, SettingsInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::by_path;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, Meta};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SingleSignOnOut {
    /// The provider's issuer; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The words on the sign-in button.
    pub label: String,
    /// Email domains allowed to sign in; empty allows any.
    pub allowed_domains: Vec<String>,
    /// Whether a person new to Rapport whom the provider vouches for joins on first sign-in.
    pub auto_join: bool,
    /// Whether the provider's email addresses count as verified without its `email_verified`
    /// claim.
    pub trust_email: bool,
    /// The role such a person joins with (a role key).
    pub default_role: String,
    pub enabled: bool,
    /// Whether members other than owners enter only through it.
    pub required: bool,
    /// The redirect URI to register with the provider.
    pub redirect_uri: String,
    /// People who have signed in through it.
    pub linked_people: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Settings> for SingleSignOnOut {
    fn from(s: Settings) -> Self {
        Self {
            issuer: s.issuer,
            client_id: s.client_id,
            label: s.label,
            allowed_domains: s.allowed_domains,
            auto_join: s.auto_join,
            trust_email: s.trust_email,
            default_role: s.default_role,
            enabled: s.enabled,
            required: s.required,
            redirect_uri: s.redirect_uri,
            linked_people: s.linked,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SingleSignOnIn {
    /// The provider's issuer (https; http and private addresses only where the instance allows
    /// them). Rapport reads its discovery document before saving.
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    /// Required the first time; absent keeps the stored one. Stored encrypted, never returned.
    pub client_secret: Option<String>,
    /// The words on the sign-in button (default "Single sign-on").
    pub label: Option<String>,
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default)]
    pub auto_join: bool,
    /// Count the provider's email addresses as verified when it sends no `email_verified`
    /// claim (Microsoft Entra ID, for one). Only for a provider that controls the addresses it
    /// gives: otherwise someone could claim a member's address and be signed in as them.
    #[serde(default)]
    pub trust_email: bool,
    /// Members other than owners enter only through single sign-on (owners keep their
    /// password, so the organization is never locked out). Default false.
    #[serde(default)]
    pub required: bool,
    /// A role key other than `owner` (default `member`).
    pub default_role: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// The organization's single sign-on (404 when it has none).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/single-sign-on", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = SingleSignOnOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SingleSignOnOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let settings = state
        .app
        .single_sign_on(&auth.actor, &tenant, &meta)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "this organization has no single sign-on",
            )
        })?;
    Ok(Json(settings.into()))
}

/// Set up or change the organization's single sign-on.
#[utoipa::path(put, path = "/api/v1/organizations/{id}/single-sign-on", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SingleSignOnIn,
    responses((status = 200, body = SingleSignOnOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SingleSignOnIn>,
) -> ApiResult<Json<SingleSignOnOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let input = SettingsInput {
        issuer: body.issuer,
        client_id: body.client_id,
        client_secret: body.client_secret,
        label: body.label,
        allowed_domains: body.allowed_domains,
        auto_join: body.auto_join,
        trust_email: body.trust_email,
        default_role: body.default_role,
        enabled: body.enabled.unwrap_or(true),
        required: body.required,
    };
    Ok(Json(
        state
            .app
            .save_single_sign_on(&auth.actor, &tenant, input, &meta)
            .await?
            .into(),
    ))
}

/// Remove the organization's single sign-on: its links to people go, and sessions opened
/// through it end. Members sign in with their passwords again.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/single-sign-on", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let tenant = by_path(&state, &auth, id).await?;
    state
        .app
        .remove_single_sign_on(&auth.actor, &tenant, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
