//! What every page needs to know about its request: the browser session, the organization the
//! address names, and the prefix links inside that organization start with.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use rapport_app::accounts::CurrentSession;
use rapport_app::model::Organization;
use rapport_app::model::UserOrganization;
use rapport_app::{AppError, RequestMeta, Tenant};

use crate::error::ApiError;
use crate::extract::{SESSION_COOKIE, cookie, request_meta, resolve_organization};
use crate::middleware::PathSlug;
use crate::state::AppState;

pub struct PageContext {
    pub state: AppState,
    /// The signed-in browser session, if any (an expired one counts as none).
    pub session: Option<CurrentSession>,
    /// The session cookie as sent, to end it on a new sign-in.
    pub cookie: Option<String>,
    /// Why the session could not be checked, when that was not the session's fault (the
    /// database busy): such a request is told to try again, not sent to sign in.
    session_failure: Option<ApiError>,
    organization: Result<Option<Organization>, ApiError>,
    /// `/o/{slug}` when the organization came from the path, empty for a (sub)domain.
    pub base: String,
    /// Where this request was sent, to come back after signing in.
    pub here: String,
    /// The query of this request's address (`show=calls`), as sent.
    pub query: String,
    pub meta: RequestMeta,
    /// Whether the request reads a page (`GET`, `HEAD`), which shows the organizations menu.
    reading: bool,
    /// The signed-in person's organizations, read once.
    organizations: tokio::sync::OnceCell<Vec<UserOrganization>>,
    /// The role an owner or admin previews (`{organization id}.{role key}`), from its cookie.
    preview: Option<String>,
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let cookie_value = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned);
        let (session, session_failure) = match &cookie_value {
            Some(token) => match state.app.session(token).await {
                Ok(session) => (Some(session), None),
                Err(AppError::Unauthenticated(_)) => (None, None),
                Err(other) => (None, Some(session_check_failed(other))),
            },
            None => (None, None),
        };
        let base = parts
            .extensions
            .get::<PathSlug>()
            .map(|PathSlug(slug)| format!("/o/{slug}"))
            .unwrap_or_default();
        let organization = resolve_organization(parts, state).await;
        let here = format!("{base}{}", parts.uri.path());
        Ok(PageContext {
            state: state.clone(),
            session,
            cookie: cookie_value,
            session_failure,
            organization,
            base,
            here,
            query: parts.uri.query().unwrap_or_default().to_owned(),
            meta: request_meta(parts, state),
            reading: parts.method == axum::http::Method::GET
                || parts.method == axum::http::Method::HEAD,
            organizations: tokio::sync::OnceCell::new(),
            preview: cookie(&parts.headers, crate::extract::PREVIEW_COOKIE).map(str::to_owned),
        })
    }
}

/// An error shown as a page.
pub fn error_page(error: ApiError) -> Response {
    error.into_html_response()
}

/// Why a page is not shown, as the answer that says so: an error page (a refusal, a record
/// that is not there, a failure) or a redirect (to sign in). Page handlers answer a
/// [`PageResult`] and use `?` on the app's calls and on [`PageContext`]'s checks.
#[derive(Debug)]
pub struct PageError(Response);

/// What a page handler answers.
pub type PageResult = Result<Response, PageError>;

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<Response> for PageError {
    fn from(response: Response) -> Self {
        PageError(response)
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error_page(error))
    }
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError(error_page(error.into()))
    }
}

impl PageContext {
    /// The session, or a redirect to the sign-in page that comes back here.
    /// When the session could not be checked at all (the database busy), a page saying to try
    /// again instead, so nobody is signed out by a busy moment.
    pub fn require_session(&self) -> Result<&CurrentSession, PageError> {
        if let Some(failure) = &self.session_failure {
            let mut page = ApiError::new(failure.status, failure.code, failure.detail.clone());
            page.retry_after = failure.retry_after;
            return Err(PageError::from(page));
        }
        self.session.as_ref().ok_or_else(|| {
            let next = urlencode(&self.here);
            // A cookie without a live session means it ran out: say so on the sign-in page.
            let notice = if self.cookie.is_some() {
                "&notice=expired"
            } else {
                ""
            };
            PageError(crate::web::see_other(&format!(
                "/login?next={next}{notice}"
            )))
        })
    }

    /// The organization the address names, if any; an unknown one is a 404 page.
    pub fn organization(&self) -> Result<Option<&Organization>, PageError> {
        match &self.organization {
            Ok(org) => Ok(org.as_ref()),
            Err(e) => Err(PageError::from(ApiError::new(
                e.status,
                e.code,
                e.detail.clone(),
            ))),
        }
    }

    /// The signed-in member's standing in the organization the address names.
    pub async fn tenant(&self) -> Result<(&CurrentSession, Tenant), PageError> {
        let (session, tenant) = self.own_tenant().await?;
        Ok((session, self.previewed(tenant).await?))
    }

    /// [`PageContext::tenant`] with the person's own role, whatever role they preview.
    pub async fn own_tenant(&self) -> Result<(&CurrentSession, Tenant), PageError> {
        let session = self.require_session()?;
        let Some(org) = self.organization()? else {
            return Err(PageError::from(crate::web::see_other("/")));
        };
        match self
            .state
            .app
            .enter_organization(&session.actor, org.clone(), &self.meta)
            .await
        {
            Ok(tenant) => {
                if self.reading {
                    // Read now, before the page's reads of the organization begin: they share
                    // one transaction, which a platform read in their midst would end.
                    self.my_organizations(session).await;
                }
                Ok((session, tenant))
            }
            Err(AppError::Forbidden) => Err(PageError::from(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "you are not a member of this organization",
            ))),
            // The organization requires a second factor: set it up first, then come back.
            Err(AppError::TwoFactorEnrollmentRequired) => {
                Err(PageError(crate::web::see_other(&format!(
                    "/profile/security?required={}&next={}",
                    urlencode(&org.slug),
                    urlencode(&self.here)
                ))))
            }
            // The organization lets its members in through its single sign-on only.
            Err(AppError::SingleSignOnRequired) => Err(PageError(crate::web::see_other(&format!(
                "/sso/start?organization={}&next={}",
                urlencode(&org.slug),
                urlencode(&self.here)
            )))),
            Err(other) => Err(PageError::from(other)),
        }
    }

    /// The organization as the previewed role sees it, when its owner or admin previews one:
    /// pages read through the role; any change is refused until the preview stops. A preview
    /// that no longer holds (the role is gone, the person no longer administers) is ignored.
    async fn previewed(&self, tenant: Tenant) -> Result<Tenant, PageError> {
        let Some((org, key)) = self.preview.as_deref().and_then(|p| p.split_once('.')) else {
            return Ok(tenant);
        };
        if org != tenant.id().to_string() {
            return Ok(tenant);
        }
        let Ok(previewed) = self.state.app.preview_role(&tenant, key).await else {
            return Ok(tenant);
        };
        if !self.reading {
            return Err(PageError::from(ApiError::new(
                StatusCode::FORBIDDEN,
                "previewing_role",
                format!(
                    "you are looking at the organization as the {} role, which changes nothing; stop the preview to make changes",
                    previewed.preview.as_deref().unwrap_or("chosen")
                ),
            )));
        }
        Ok(previewed)
    }

    /// The key of the role previewed in `organization`, as its cookie names it.
    pub fn preview_key(&self, organization: rapport_domain::OrganizationId) -> Option<String> {
        let (org, key) = self.preview.as_deref()?.split_once('.')?;
        (org == organization.to_string()).then(|| key.to_owned())
    }

    /// The organizations the signed-in person belongs to (the menu to switch between them).
    pub async fn my_organizations(&self, session: &CurrentSession) -> Vec<UserOrganization> {
        self.organizations
            .get_or_init(|| async {
                self.state
                    .app
                    .my_organizations(&session.actor)
                    .await
                    .unwrap_or_default()
            })
            .await
            .clone()
    }

    /// Checks the CSRF token a form carried against the session's.
    pub fn check_csrf(&self, presented: &str) -> Result<&CurrentSession, PageError> {
        let session = self.require_session()?;
        if crate::csrf::matches(presented, &session.session.csrf_token) {
            Ok(session)
        } else {
            Err(PageError::from(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "this form has expired or did not come from Rapport; go back, reload the page and try again",
            )))
        }
    }
}

/// What a busy page tells someone who is signed in.
const BUSY_BUT_SIGNED_IN: &str =
    "Rapport is busy right now. Wait a moment and try again: you are still signed in.";

/// What a page says when the session could not be checked on our side: the error as the API
/// would answer it, with words for a person when it was only busy.
fn session_check_failed(failure: AppError) -> ApiError {
    let busy = matches!(failure, AppError::Busy { .. });
    let mut error = ApiError::from(failure);
    if busy {
        error.detail = BUSY_BUT_SIGNED_IN.into();
    }
    error
}

/// A page is read in one transaction: what a `GET` reads of its organization shares one read
/// transaction (one snapshot), ended when the page is drawn (see `model::one_read`).
pub async fn one_read_per_page(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD {
        rapport_app::model::one_read(next.run(req)).await
    } else {
        next.run(req).await
    }
}

/// A page that could not be served because Rapport was busy tells a signed-in person that they
/// still are (their session was checked, or could not be, before the page gave up).
pub async fn busy_keeps_the_session(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let signed_in = crate::extract::cookie(req.headers(), crate::extract::SESSION_COOKIE).is_some();
    let response = next.run(req).await;
    if !signed_in || response.status() != StatusCode::SERVICE_UNAVAILABLE {
        return response;
    }
    let mut page = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_busy",
        BUSY_BUT_SIGNED_IN,
    );
    page.retry_after = response
        .headers()
        .get(axum::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    error_page(page)
}

pub(super) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
