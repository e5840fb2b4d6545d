//! Extractors: who is calling (credentials), from where (request metadata), in which
//! organization (the tenant resolver), and JSON bodies with problem-document rejections.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use rapport_app::accounts::CurrentSession;
use rapport_app::organizations::TenantHint;
use rapport_app::{Actor, RequestMeta, Tenant};
use rapport_domain::OrganizationId;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::middleware::{PathSlug, RequestId};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "rapport_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A `Set-Cookie` value for one of Rapport's cookies: `HttpOnly; SameSite=Lax`, and `Secure`
/// when Rapport is served over HTTPS; an empty value with age 0 clears it.
pub fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> axum::http::HeaderValue {
    let secure = if state.app.config.is_https() {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    axum::http::HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

/// The session cookie, set to `value` for `max_age` seconds (0 ends it).
pub fn session_cookie(state: &AppState, value: &str, max_age: i64) -> axum::http::HeaderValue {
    cookie_header(state, SESSION_COOKIE, value, "/", max_age)
}

/// The cookie of a browser remembered after a second factor: signing in from it asks for the
/// password only.
pub const DEVICE_COOKIE: &str = "rapport_device";

/// The remembered-browser cookie, set to `value` for `max_age` seconds.
pub fn device_cookie(state: &AppState, value: &str, max_age: i64) -> axum::http::HeaderValue {
    cookie_header(state, DEVICE_COOKIE, value, "/", max_age)
}

/// The cookie naming the role an owner or admin previews (`{organization id}.{role key}`).
pub const PREVIEW_COOKIE: &str = "rapport_preview";

/// The preview cookie, set to `value` for `max_age` seconds (0 ends it).
pub fn preview_cookie(state: &AppState, value: &str, max_age: i64) -> axum::http::HeaderValue {
    cookie_header(state, PREVIEW_COOKIE, value, "/", max_age)
}

/// Where the request came from, for the audit log.
pub struct Meta(pub RequestMeta);

fn client_ip(parts: &Parts, trust_proxy: bool) -> Option<String> {
    if trust_proxy
        && let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(first) = forwarded
            .split(',')
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    {
        return Some(first.to_owned());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

pub fn request_meta(parts: &Parts, state: &AppState) -> RequestMeta {
    RequestMeta {
        ip: client_ip(parts, state.app.config.trust_proxy),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
        request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        // The path as asked, before nesting (`/api/v1`) or the `/o/{slug}` prefix was taken off.
        route: Some(format!(
            "{} {}",
            parts.method,
            parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(parts.uri.path(), |u| u.0.path())
        ))
        .map(|r| r.chars().take(300).collect()),
    }
}

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        Ok(Meta(request_meta(parts, state)))
    }
}

/// The value of a cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum Credentials {
    AccessToken,
    ApiKey,
    Session(Box<CurrentSession>),
}

/// The authenticated caller. Requests authenticated by the session cookie that change state must
/// carry the session's CSRF token in `X-CSRF-Token` (or, for HTML forms, a `_csrf` field that the
/// web layer checks) and, when they send `Origin`, come from Rapport's own origin.
pub struct Auth {
    pub actor: Actor,
    pub credentials: Credentials,
    /// Who asked and what (address, browser, route), for audit entries made on entering.
    pub meta: RequestMeta,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a cross-site browser request: an `Origin` that is not Rapport's own.
pub fn check_origin(headers: &HeaderMap, state: &AppState) -> ApiResult<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let own = state.app.config.base_url.origin().ascii_serialization();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let same_host = host.is_some_and(|h| origin.ends_with(&format!("://{h}")));
    if origin == own || same_host {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "cross-site request refused",
        ))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        if let Some(auth) = parts.extensions.get::<AuthCache>() {
            return Ok(Auth {
                actor: auth.0.actor.clone(),
                credentials: auth.0.credentials.clone(),
                meta: auth.0.meta.clone(),
            });
        }
        let app = &state.app;
        let auth = if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::unauthenticated("the Authorization header must be: Bearer <token>")
                })?;
            if token.starts_with(rapport_app::api_keys::KEY_PREFIX) {
                Auth {
                    actor: app.authenticate_api_key(token).await?,
                    credentials: Credentials::ApiKey,
                    meta: request_meta(parts, state),
                }
            } else {
                Auth {
                    actor: app.authenticate_access_token(token).await?,
                    credentials: Credentials::AccessToken,
                    meta: request_meta(parts, state),
                }
            }
        } else if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let current = app.session(token).await?;
            if !is_safe(&parts.method) {
                check_origin(&parts.headers, state)?;
                let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                let valid =
                    presented.is_some_and(|p| crate::csrf::matches(p, &current.session.csrf_token));
                if !valid {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "csrf_failed",
                        "this form has expired or did not come from Rapport; reload the page and try again",
                    ));
                }
            }
            Auth {
                actor: current.actor.clone(),
                credentials: Credentials::Session(Box::new(current)),
                meta: request_meta(parts, state),
            }
        } else {
            return Err(ApiError::unauthenticated(
                "sign in first: send Authorization: Bearer <access token>",
            ));
        };
        parts.extensions.insert(AuthCache(std::sync::Arc::new(Auth {
            actor: auth.actor.clone(),
            credentials: auth.credentials.clone(),
            meta: auth.meta.clone(),
        })));
        if let Some(slot) = parts.extensions.get::<crate::middleware::RateSlot>() {
            let caller = match &auth.actor.api_key {
                Some(key) => format!("key:{}", key.id),
                None => format!("user:{}", auth.actor.user_id),
            };
            if let Some(quota) = app.limiter.caller(&caller).await {
                slot.note(quota);
                if !quota.allowed {
                    return Err(rate_limited(quota));
                }
            }
        }
        Ok(auth)
    }
}

impl Auth {
    /// Refuses API keys on endpoints that act as a person (passwords, sessions, creating
    /// organizations).
    pub fn require_user(&self) -> ApiResult<()> {
        match self.credentials {
            Credentials::ApiKey => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "API keys cannot do this; sign in as a person",
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Clone)]
struct AuthCache(std::sync::Arc<Auth>);

/// 429 `rate_limited`, with `Retry-After`.
fn rate_limited(quota: rapport_app::rate_limit::Quota) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "too many requests: at most {} per window; try again in {} seconds",
            quota.limit, quota.reset_secs
        ),
    );
    e.retry_after = Some(quota.reset_secs.max(1));
    e
}

/// The organization a request acts in, resolved once for every way a request can name it —
/// custom domain, then subdomain of the base domain, then the `/o/{slug}` prefix, then the
/// `X-Organization-Id` header, first match wins — together with the caller's role there.
pub struct Scope {
    pub auth: Auth,
    pub tenant: Tenant,
}

/// The host the request was sent to, without port.
fn request_host(parts: &Parts) -> Option<String> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.host())?;
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]"))?
    } else {
        host.split(':').next()?.to_owned()
    };
    Some(host.to_ascii_lowercase())
}

/// Finds the organization the request names, if any, without checking membership.
pub async fn resolve_organization(
    parts: &Parts,
    state: &AppState,
) -> ApiResult<Option<rapport_app::model::Organization>> {
    let app = &state.app;
    if let Some(host) = request_host(parts) {
        let own_host = app.config.base_url.host_str().map(str::to_ascii_lowercase);
        let is_plain_host = Some(&host) == own_host.as_ref()
            || host == "localhost"
            || host.parse::<std::net::IpAddr>().is_ok()
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok()
            || app.config.base_domain.as_deref() == Some(host.as_str());
        if !is_plain_host
            && let Some(org) = app.resolve_organization(TenantHint::Domain(&host)).await?
        {
            return Ok(Some(org));
        }
    }
    if let Some(PathSlug(slug)) = parts.extensions.get::<PathSlug>() {
        return match app.resolve_organization(TenantHint::Slug(slug)).await? {
            Some(org) => Ok(Some(org)),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "organization_not_found",
                "no organization has this address",
            )),
        };
    }
    if let Some(value) = parts.headers.get("x-organization-id") {
        let id: OrganizationId = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_organization_id",
                    "X-Organization-Id must be a UUID",
                )
            })?;
        // An unknown organization and one the caller does not belong to answer alike (403).
        return match app.resolve_organization(TenantHint::Id(id)).await? {
            Some(org) => Ok(Some(org)),
            None => Err(ApiError::forbidden()),
        };
    }
    Ok(None)
}

impl FromRequestParts<AppState> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let org = resolve_organization(parts, state).await?.ok_or_else(|| {
            ApiError::bad_request(
                "organization_required",
                "name the organization with the X-Organization-Id header",
            )
        })?;
        let tenant = state
            .app
            .enter_organization(&auth.actor, org, &auth.meta)
            .await?;
        if let Some(slot) = parts.extensions.get::<crate::middleware::RateSlot>()
            && let Some(quota) = state
                .app
                .limiter
                .organization(&tenant.id().to_string())
                .await
        {
            slot.note(quota);
            if !quota.allowed {
                return Err(rate_limited(quota));
            }
        }
        Ok(Scope { auth, tenant })
    }
}

/// A JSON body. Wrong content type is 415, malformed JSON 400, a body that does not fit the
/// expected shape 422, an oversized body 413 — each as a problem document.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let field = text
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_else(|| "body".to_owned());
            let mut error =
                ApiError::invalid(&field, text.rsplit(": ").next().unwrap_or(&text).to_owned());
            error.detail = "the body does not have the expected fields".into();
            error
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than 1 MiB",
            )
        }
        other => ApiError::bad_request("bad_request", other.body_text()),
    }
}

/// Path segments parsed into `T`. A segment that does not parse (an id that is not a UUID) cannot
/// name anything, so it is a 404 problem like any unknown record.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("this address names nothing: {}", e.body_text()),
            )),
            Err(other) => {
                tracing::error!(error = %other.body_text(), "path parameters missing");
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "something went wrong on our side",
                ))
            }
        }
    }
}

/// Parses query parameters into `T`, refusing unknown or malformed ones with 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> ApiResult<Self> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(query)
            .map(ApiQuery)
            .map_err(|e| ApiError::bad_request("invalid_query", e))
    }
}

/// Parses a query string as `T` (400 `invalid_query` saying what is wrong).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> ApiResult<T> {
    serde_urlencoded_like(query).map_err(|e| ApiError::bad_request("invalid_query", e))
}

fn serde_urlencoded_like<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| "unparsable query string".to_owned())?,
    )
    .map(|q| q.0)
    .map_err(|e| {
        e.body_text()
            .replace("Failed to deserialize query string: ", "")
    })
}
