//! `/api/v1/auth/*`: accounts, tokens, browser sessions, password reset, invitations.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rapport_app::accounts::{Registration, TokenPair};
use rapport_app::members::Acceptance;
use rapport_domain::SessionId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::{MyOrganizationOut, UserOut};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{
    ApiJson, ApiPath, Auth, Credentials, Meta, SESSION_COOKIE, check_origin, cookie, session_cookie,
};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    /// As the instance's password policy says (by default at least 12 characters), not a
    /// common password.
    pub password: String,
    pub name: String,
    /// When given, a new organization is created and the user is its owner.
    pub organization_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: UserOut,
    pub organization: Option<MyOrganizationOut>,
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// For an account with two-factor on: the current code from the authenticator app, or an
    /// unused recovery code. Without it such an account is 401 `two_factor_required`; a wrong
    /// one is 401 `invalid_two_factor_code` (and counts as a failed sign-in).
    #[serde(default)]
    pub two_factor_code: Option<String>,
}

impl LoginRequest {
    fn second_factor(&self) -> rapport_app::two_factor::SecondFactor {
        rapport_app::two_factor::SecondFactor {
            code: self.two_factor_code.clone(),
            device: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub user: UserOut,
}

impl TokenResponse {
    fn new(tokens: TokenPair, user: &rapport_app::model::User) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            user: user.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Create an account (and optionally an organization it owns).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = RegisterResponse), (status = 409, description = "email_taken", body = Problem),
              (status = 422, body = Problem)))]
pub async fn register(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let registered = state
        .app
        .register(
            Registration {
                email: body.email,
                password: body.password,
                name: body.name,
                organization_name: body.organization_name,
            },
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            user: (&registered.user).into(),
            organization: registered.organization.map(Into::into),
            access_token: registered.tokens.access_token,
            refresh_token: registered.tokens.refresh_token,
            token_type: "Bearer",
            expires_in: registered.tokens.expires_in,
        }),
    ))
}

/// Sign in for the API: an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
              (status = 401, description = "unauthenticated, two_factor_required, invalid_two_factor_code", body = Problem),
              (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let (user, tokens) = state
        .app
        .login(&body.email, &body.password, &body.second_factor(), &meta)
        .await?;
    Ok(Json(TokenResponse::new(tokens, &user)))
}

/// Exchange a refresh token for a new pair. The presented token is spent; presenting it again
/// revokes the whole sign-in.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let (user, tokens) = state.app.refresh(&body.refresh_token, &meta).await?;
    Ok(Json(TokenResponse::new(tokens, &user)))
}

/// End the sign-in a refresh token belongs to.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    state.app.logout(&body.refresh_token, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserOut,
    /// Runs the platform (no access to organizations' records by itself).
    pub is_instance_admin: bool,
    pub organizations: Vec<MyOrganizationOut>,
}

/// The signed-in user and their organizations.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<MeResponse>> {
    let orgs = state.app.my_organizations(&auth.actor).await?;
    Ok(Json(MeResponse {
        user: UserOut {
            id: auth.actor.user_id.as_uuid(),
            email: auth.actor.email.clone(),
            name: auth.actor.name.clone(),
            created_at: auth.actor.created_at,
        },
        is_instance_admin: auth.actor.is_instance_admin,
        organizations: orgs.into_iter().map(Into::into).collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Password reset

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirm {
    /// The token from the emailed link.
    pub token: String,
    pub password: String,
}

/// Email a password-reset link. Answers 202 whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, description = "If the account exists, a link was emailed"), (status = 422, body = Problem)))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    state.app.request_password_reset(&body.email, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the emailed token. Every sign-in of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204, description = "Password changed"), (status = 422, body = Problem)))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> ApiResult<StatusCode> {
    state
        .app
        .reset_password(&body.token, &body.password, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub password: String,
}

/// Change the signed-in user's password.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordRequest, security(("bearer" = [])),
    responses((status = 204, description = "Password changed"), (status = 422, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    auth.require_user()?;
    state
        .app
        .change_password(&auth.actor, &body.current_password, &body.password, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Two-factor authentication

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorOut {
    pub enabled: bool,
    pub enabled_at: Option<DateTime<Utc>>,
    /// Unused recovery codes left.
    pub recovery_codes_left: i64,
}

/// The signed-in person's two-factor authentication.
#[utoipa::path(get, path = "/api/v1/auth/two-factor", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TwoFactorOut), (status = 401, body = Problem)))]
pub async fn two_factor(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<TwoFactorOut>> {
    auth.require_user()?;
    let status = state.app.two_factor_status(&auth.actor).await?;
    Ok(Json(TwoFactorOut {
        enabled: status.enabled(),
        enabled_at: status.enabled_at,
        recovery_codes_left: status.recovery_codes_left,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSetupOut {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://totp/...` address a QR code carries.
    pub otpauth_uri: String,
}

/// Start setting up two-factor authentication: a new secret for an authenticator app. It is
/// not used until confirmed with `POST /auth/two-factor/enable`; starting again replaces it.
/// 409 `two_factor_enabled` when already on.
#[utoipa::path(post, path = "/api/v1/auth/two-factor/setup", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TwoFactorSetupOut), (status = 409, body = Problem)))]
pub async fn two_factor_setup(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<TwoFactorSetupOut>> {
    auth.require_user()?;
    let enrolment = state.app.begin_two_factor(&auth.actor).await?;
    Ok(Json(TwoFactorSetupOut {
        secret: enrolment.secret,
        otpauth_uri: enrolment.uri,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TwoFactorCodeRequest {
    /// The current six-digit code from the authenticator app.
    pub code: String,
    /// The person's current password (422 `password` when wrong).
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Ten one-time codes, shown this once: each signs in once in place of a code.
    pub recovery_codes: Vec<String>,
}

/// Turn two-factor authentication on with a code from the authenticator set up and the
/// password: answers the recovery codes, once, and ends every other sign-in of the account (they
/// were made without it); the account is emailed. 422 `code` or `password` when wrong, 409
/// `two_factor_not_started` without a setup under way.
#[utoipa::path(post, path = "/api/v1/auth/two-factor/enable", tag = "auth", security(("bearer" = [])),
    request_body = TwoFactorCodeRequest,
    responses((status = 200, body = RecoveryCodesOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn two_factor_enable(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<TwoFactorCodeRequest>,
) -> ApiResult<Json<RecoveryCodesOut>> {
    auth.require_user()?;
    let codes = state
        .app
        .enable_two_factor(&auth.actor, &body.code, &body.password, &meta)
        .await?;
    Ok(Json(RecoveryCodesOut {
        recovery_codes: codes,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordConfirmation {
    /// The person's current password.
    pub password: String,
}

/// Turn two-factor authentication off (the password confirms it); its recovery codes and
/// remembered browsers go too. 409 `two_factor_required_by_organization` while an
/// organization the person works in requires it.
#[utoipa::path(post, path = "/api/v1/auth/two-factor/disable", tag = "auth", security(("bearer" = [])),
    request_body = PasswordConfirmation,
    responses((status = 204, description = "Turned off"), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn two_factor_disable(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> ApiResult<StatusCode> {
    auth.require_user()?;
    state
        .app
        .disable_two_factor(&auth.actor, &body.password, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes (the password confirms it); the old ones stop working.
#[utoipa::path(post, path = "/api/v1/auth/two-factor/recovery-codes", tag = "auth", security(("bearer" = [])),
    request_body = PasswordConfirmation,
    responses((status = 200, body = RecoveryCodesOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn two_factor_recovery_codes(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> ApiResult<Json<RecoveryCodesOut>> {
    auth.require_user()?;
    let codes = state
        .app
        .new_recovery_codes(&auth.actor, &body.password, &meta)
        .await?;
    Ok(Json(RecoveryCodesOut {
        recovery_codes: codes,
    }))
}

// ---------------------------------------------------------------------------------------------
// Invitations

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreview {
    pub organization_name: String,
    pub email: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
    /// When true, accepting asks for the existing account's password; otherwise for a name and a
    /// new password.
    pub account_exists: bool,
}

/// What an invitation link is for.
#[utoipa::path(get, path = "/api/v1/auth/invitations/{token}", tag = "auth",
    params(("token" = String, Path, description = "The token from the emailed link")),
    responses((status = 200, body = InvitationPreview), (status = 422, body = Problem)))]
pub async fn invitation(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<InvitationPreview>> {
    let details = state.app.invitation_details(&token).await?;
    Ok(Json(InvitationPreview {
        organization_name: details.organization_name,
        email: details.invitation.email,
        role: details.invitation.role.as_str().to_owned(),
        expires_at: details.invitation.expires_at,
        account_exists: details.account_exists,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptInvitationRequest {
    pub token: String,
    /// Required when no account exists for the invited email.
    pub name: Option<String>,
    /// The new account's password, or the existing account's.
    pub password: String,
    /// An existing account with two-factor on: its current code, or a recovery code (else 401
    /// `two_factor_required`).
    #[serde(default)]
    pub two_factor_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptInvitationResponse {
    pub organization: MyOrganizationOut,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub user: UserOut,
}

/// Accept an invitation: join the organization (creating the account if needed) and sign in.
#[utoipa::path(post, path = "/api/v1/auth/invitations/accept", tag = "auth", request_body = AcceptInvitationRequest,
    responses((status = 200, body = AcceptInvitationResponse),
              (status = 401, description = "two_factor_required, invalid_two_factor_code", body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, description = "Too many failed codes; see Retry-After", body = Problem)))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<Json<AcceptInvitationResponse>> {
    let accepted = state
        .app
        .accept_invitation(
            Acceptance {
                token: body.token,
                name: body.name,
                password: body.password,
                two_factor_code: body.two_factor_code,
            },
            &meta,
        )
        .await?;
    Ok(Json(AcceptInvitationResponse {
        organization: accepted.organization.into(),
        access_token: accepted.tokens.access_token,
        refresh_token: accepted.tokens.refresh_token,
        token_type: "Bearer",
        expires_in: accepted.tokens.expires_in,
        user: (&accepted.user).into(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Browser sessions

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub user: UserOut,
    /// Send back in `X-CSRF-Token` (or a `_csrf` form field) with every state-changing request.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Sign in for the browser: sets the session cookie (`HttpOnly; SameSite=Lax`).
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn open_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    // A sign-in form posted from another site would sign the victim into the attacker's account.
    check_origin(&headers, &state)?;
    let previous = cookie(&headers, SESSION_COOKIE);
    let opened = state
        .app
        .open_session(
            &body.email,
            &body.password,
            &body.second_factor(),
            previous,
            &meta,
        )
        .await?;
    let max_age = (opened.expires_at - Utc::now()).num_seconds().max(0);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(&state, &opened.token, max_age),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((
        headers,
        Json(SessionResponse {
            user: (&opened.user).into(),
            csrf_token: opened.csrf_token,
            expires_at: opened.expires_at,
        }),
    )
        .into_response())
}

fn current_session(auth: &Auth) -> ApiResult<&rapport_app::accounts::CurrentSession> {
    match &auth.credentials {
        Credentials::Session(current) => Ok(current),
        Credentials::AccessToken | Credentials::ApiKey => Err(ApiError::bad_request(
            "session_required",
            "this endpoint is for browser sessions; API clients use /api/v1/auth/logout",
        )),
    }
}

/// The browser session's user and CSRF token.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth", security(("session" = [])),
    responses((status = 400, description = "`session_required`: called with a token or API key instead of the session cookie", body = Problem),
              (status = 200, body = SessionResponse), (status = 401, body = Problem)))]
pub async fn get_session(auth: Auth) -> ApiResult<Json<SessionResponse>> {
    let current = current_session(&auth)?;
    Ok(Json(SessionResponse {
        user: UserOut {
            id: auth.actor.user_id.as_uuid(),
            email: auth.actor.email.clone(),
            name: auth.actor.name.clone(),
            created_at: auth.actor.created_at,
        },
        csrf_token: current.session.csrf_token.clone(),
        expires_at: current.session.expires_at,
    }))
}

/// Sign out of the browser session (needs `X-CSRF-Token`).
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth", security(("session" = [])),
    responses((status = 400, description = "`session_required`: called with a token or API key instead of the session cookie", body = Problem),
              (status = 204, description = "Signed out"), (status = 403, description = "csrf_failed", body = Problem)))]
pub async fn close_session(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
) -> ApiResult<Response> {
    let current = current_session(&auth)?;
    state.app.close_session(current, &meta).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: Uuid,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session this request was made with.
    pub current: bool,
}

/// The signed-in user's live browser sessions.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionOut>)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<SessionOut>>> {
    auth.require_user()?;
    let current = match &auth.credentials {
        Credentials::Session(s) => Some(s.session.id),
        Credentials::AccessToken | Credentials::ApiKey => None,
    };
    let sessions = state.app.list_sessions(&auth.actor).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionOut {
                id: s.id.as_uuid(),
                current: Some(s.id) == current,
                ip: s.ip,
                user_agent: s.user_agent,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
            })
            .collect(),
    ))
}

/// End one of the signed-in user's sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204, description = "Session ended"), (status = 404, body = Problem)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    auth.require_user()?;
    state
        .app
        .revoke_session(&auth.actor, SessionId(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every other browser session of the signed-in user.
#[utoipa::path(post, path = "/api/v1/auth/sessions/revoke-others", tag = "auth", security(("session" = [])),
    responses((status = 400, description = "`session_required`: called with a token or API key instead of the session cookie", body = Problem),
              (status = 204, description = "Other sessions ended")))]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
) -> ApiResult<StatusCode> {
    let current = current_session(&auth)?;
    state.app.close_other_sessions(current, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
