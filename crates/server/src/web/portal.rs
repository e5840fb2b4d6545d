//! The client portal's pages (`/o/{slug}/portal`, or `/portal` on the organization's domain):
//! signing in, choosing a password from an emailed link, the home page of what the client
//! reaches, and one deal or record with its tasks and conversation.
//!
//! Clients carry their own cookie (`rapport_portal`, scoped to the portal's path), which the
//! staff side never reads; nothing here reads the staff session either.

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_app::model::Organization;
use rapport_app::portal::client::{ClientSession, PortalItem, PortalTask};
use rapport_app::{AppError, RequestMeta};
use serde::Deserialize;

use super::records::{day, money, when};
use super::{FormErrors, PageError, PageResult, render, render_status, see_other};
use crate::error::ApiError;
use crate::extract::{cookie, cookie_header, request_meta, resolve_organization};
use crate::middleware::PathSlug;
use crate::state::AppState;

pub const PORTAL_COOKIE: &str = "rapport_portal";

/// What every portal page knows of its request.
pub struct Portal {
    state: AppState,
    organization: Organization,
    /// `/o/{slug}` when the organization came from the path, empty for its own domain.
    base: String,
    /// The portal cookie as sent.
    cookie: Option<String>,
    session: Option<ClientSession>,
    meta: RequestMeta,
}

fn not_found() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "there is no client portal here",
    )
    .into_html_response()
}

impl FromRequestParts<AppState> for Portal {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(Some(organization)) = resolve_organization(parts, state).await else {
            return Err(not_found());
        };
        let cookie = cookie(&parts.headers, PORTAL_COOKIE).map(str::to_owned);
        let session = match &cookie {
            Some(token) => state
                .app
                .portal_session(&organization, token)
                .await
                .map_err(|e| ApiError::from(e).into_html_response())?,
            None => None,
        };
        // A live session is only found while the portal is open; without one, ask.
        if session.is_none()
            && !state
                .app
                .portal_open(&organization)
                .await
                .map_err(|e| ApiError::from(e).into_html_response())?
        {
            return Err(not_found());
        }
        let base = parts
            .extensions
            .get::<PathSlug>()
            .map(|PathSlug(slug)| format!("/o/{slug}"))
            .unwrap_or_default();
        Ok(Portal {
            state: state.clone(),
            organization,
            base,
            cookie,
            session,
            meta: request_meta(parts, state),
        })
    }
}

impl Portal {
    fn home(&self) -> String {
        format!("{}/portal", self.base)
    }

    /// The signed-in client, or the sign-in page.
    fn client(&self) -> Result<&ClientSession, PageError> {
        self.session
            .as_ref()
            .ok_or_else(|| PageError::from(see_other(&format!("{}/login", self.home()))))
    }

    /// The signed-in client, after checking a form's CSRF token.
    fn check_csrf(&self, presented: &str) -> Result<&ClientSession, PageError> {
        let session = self.client()?;
        if crate::csrf::matches(presented, &session.csrf_token) {
            Ok(session)
        } else {
            Err(PageError::from(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "this form has expired; go back, reload the page and try again",
            )))
        }
    }

    fn shell(&self) -> PortalShell {
        let org = &self.organization;
        PortalShell {
            base: self.base.clone(),
            org_name: org.name.clone(),
            initials: super::initials(&org.name),
            has_logo: org.has_logo,
            client: self.session.as_ref().map(|s| s.client.name.clone()),
            csrf: self
                .session
                .as_ref()
                .map(|s| crate::csrf::masked(&s.csrf_token))
                .unwrap_or_default(),
        }
    }

    /// Sets the portal cookie and goes to `to`.
    fn signed_in(
        &self,
        token: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
        to: &str,
    ) -> Response {
        let max_age = (expires_at - chrono::Utc::now()).num_seconds().max(0);
        let mut response = see_other(to);
        response.headers_mut().insert(
            header::SET_COOKIE,
            cookie_header(&self.state, PORTAL_COOKIE, token, &self.home(), max_age),
        );
        response
    }
}

/// The frame of every portal page: the organization's name and logo, and the client.
pub struct PortalShell {
    pub base: String,
    pub org_name: String,
    pub initials: String,
    pub has_logo: bool,
    /// The signed-in client's name.
    pub client: Option<String>,
    pub csrf: String,
}

/// Words for a refused sign-in or password, next to the form.
fn message(error: &AppError) -> Option<String> {
    match error {
        AppError::Unauthenticated(_) => Some("Wrong email or password.".into()),
        AppError::TooManyRequests { retry_after_secs } => Some(format!(
            "Too many failed attempts. Sign-in from here is paused for {}; try again then, or choose a new password.",
            super::auth_pages::wait_in_words(*retry_after_secs)
        )),
        AppError::Busy { .. } => {
            Some("The portal is busy right now. Wait a moment and try again.".into())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Signing in

#[derive(Template)]
#[template(path = "portal_login.html")]
struct LoginPage {
    shell: PortalShell,
    email: String,
    errors: FormErrors,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

/// `GET /portal/login`.
pub async fn login_form(portal: Portal, Query(q): Query<Notice>) -> PageResult {
    if portal.session.is_some() {
        return Ok(see_other(&portal.home()));
    }
    let notice = match q.notice.as_deref() {
        Some("signed-out") => Some("You are signed out.".to_owned()),
        Some("sent") => Some(
            "If that email belongs to a client of ours, a link to choose a password is on its way."
                .to_owned(),
        ),
        _ => None,
    };
    Ok(render(&LoginPage {
        shell: portal.shell(),
        email: String::new(),
        errors: FormErrors::default(),
        error: None,
        notice,
    }))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /portal/login`.
pub async fn login(portal: Portal, headers: HeaderMap, Form(form): Form<LoginForm>) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &portal.state) {
        return Ok(e.into_html_response());
    }
    let result = portal
        .state
        .app
        .portal_sign_in(
            &portal.organization,
            &form.email,
            &form.password,
            portal.cookie.as_deref(),
            &portal.meta,
        )
        .await;
    match result {
        Ok(opened) => Ok(portal.signed_in(&opened.token, opened.expires_at, &portal.home())),
        Err(error) => {
            let status = match error {
                AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                _ => return Err(error.into()),
            };
            let retry_after = match error {
                AppError::TooManyRequests { retry_after_secs }
                | AppError::Busy { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            };
            let mut page = render_status(
                status,
                &LoginPage {
                    shell: portal.shell(),
                    email: form.email,
                    errors: FormErrors::default(),
                    error: message(&error),
                    notice: None,
                },
            );
            if let Some(secs) = retry_after {
                page.headers_mut().insert(header::RETRY_AFTER, secs.into());
            }
            Ok(page)
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /portal/logout`.
pub async fn logout(portal: Portal, Form(form): Form<CsrfForm>) -> PageResult {
    let session = portal.check_csrf(&form.csrf)?;
    portal
        .state
        .app
        .portal_sign_out(session, &portal.meta)
        .await?;
    let mut response = see_other(&format!("{}/login?notice=signed-out", portal.home()));
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie_header(&portal.state, PORTAL_COOKIE, "", &portal.home(), 0),
    );
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Links from email

#[derive(Template)]
#[template(path = "portal_welcome.html")]
struct WelcomePage {
    shell: PortalShell,
    token: String,
    name: String,
    email: String,
    /// An invitation (first password) rather than a reset.
    first: bool,
    password_hint: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "portal_link_gone.html")]
struct LinkGonePage {
    shell: PortalShell,
}

fn link_gone(portal: &Portal) -> Response {
    render_status(
        StatusCode::NOT_FOUND,
        &LinkGonePage {
            shell: portal.shell(),
        },
    )
}

/// `GET /portal/welcome/{token}`: choose a password (first, or after forgetting it).
pub async fn welcome_form(portal: Portal, Path(token): Path<String>) -> PageResult {
    match portal
        .state
        .app
        .portal_link_of(&portal.organization, &token)
        .await
    {
        Ok(link) => Ok(render(&WelcomePage {
            shell: portal.shell(),
            token,
            name: link.client.name,
            email: link.client.email,
            first: link.purpose == "invitation",
            password_hint: portal.state.app.config.password_policy.hint(),
            errors: FormErrors::default(),
        })),
        Err(AppError::NotFound) => Ok(link_gone(&portal)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /portal/welcome/{token}`.
pub async fn welcome(
    portal: Portal,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &portal.state) {
        return Ok(e.into_html_response());
    }
    let result = portal
        .state
        .app
        .portal_choose_password(
            &portal.organization,
            &token,
            &form.password,
            portal.cookie.as_deref(),
            &portal.meta,
        )
        .await;
    match result {
        Ok(opened) => Ok(portal.signed_in(&opened.token, opened.expires_at, &portal.home())),
        Err(AppError::Validation(errors)) => {
            let link = match portal
                .state
                .app
                .portal_link_of(&portal.organization, &token)
                .await
            {
                Ok(link) => link,
                Err(AppError::NotFound) => return Ok(link_gone(&portal)),
                Err(other) => return Err(other.into()),
            };
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &WelcomePage {
                    shell: portal.shell(),
                    token,
                    name: link.client.name,
                    email: link.client.email,
                    first: link.purpose == "invitation",
                    password_hint: portal.state.app.config.password_policy.hint(),
                    errors: FormErrors(errors.0),
                },
            ))
        }
        Err(AppError::NotFound) => Ok(link_gone(&portal)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "portal_forgot.html")]
struct ForgotPage {
    shell: PortalShell,
    email: String,
    errors: FormErrors,
}

/// `GET /portal/forgot`.
pub async fn forgot_form(portal: Portal) -> PageResult {
    Ok(render(&ForgotPage {
        shell: portal.shell(),
        email: String::new(),
        errors: FormErrors::default(),
    }))
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /portal/forgot`: emails a link when the address is a client's; says the same either way.
pub async fn forgot(
    portal: Portal,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &portal.state) {
        return Ok(e.into_html_response());
    }
    match portal
        .state
        .app
        .portal_forgot_password(&portal.organization, &form.email, &portal.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/login?notice=sent", portal.home()))),
        Err(AppError::Validation(errors)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                shell: portal.shell(),
                email: form.email,
                errors: FormErrors(errors.0),
            },
        )),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// What the client sees

/// A deal or record as a portal page shows it.
pub struct ItemView {
    pub href: String,
    pub kind_label: String,
    pub title: String,
    pub stage: Option<String>,
    /// (label, badge class) of a deal's status.
    pub status: Option<(&'static str, &'static str)>,
    /// (label, value) pairs: amount, expected close, the fields shown.
    pub facts: Vec<(String, String)>,
    pub updated: String,
}

fn item_view(base: &str, item: PortalItem) -> ItemView {
    let mut facts = Vec::new();
    if let Some((minor, currency)) = &item.amount {
        facts.push(("Amount".to_owned(), money(*minor, currency)));
    }
    if let Some(d) = item.close_date {
        facts.push(("Expected close".to_owned(), day(d)));
    }
    facts.extend(item.fields);
    ItemView {
        href: format!("{base}/portal/records/{}", item.id),
        kind_label: item.kind_label,
        title: item.title,
        stage: item.stage,
        status: item.status.as_deref().map(|s| match s {
            "won" => ("Won", "badge-won"),
            "lost" => ("Closed", "badge-lost"),
            "in_progress" => ("In progress", "badge-in_progress"),
            _ => ("Open", "badge-new"),
        }),
        facts,
        updated: when(item.updated_at),
    }
}

/// A task as a portal page shows it.
pub struct TaskView {
    pub title: String,
    pub description: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub done: bool,
    /// The deal or record it is about: (title, address).
    pub about: Option<(String, String)>,
}

fn task_view(base: &str, t: PortalTask, today: chrono::NaiveDate) -> TaskView {
    TaskView {
        overdue: !t.is_done && t.due_date.is_some_and(|d| d < today),
        due: t.due_date.map(day),
        done: t.is_done,
        title: t.title,
        description: t.description.unwrap_or_default(),
        about: t
            .about
            .map(|(_, id, title)| (title, format!("{base}/portal/records/{id}"))),
    }
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    shell: PortalShell,
    first_name: String,
    welcome: String,
    company: Option<String>,
    items: Vec<ItemView>,
    open_tasks: Vec<TaskView>,
    done_tasks: usize,
}

/// `GET /portal`: what the client reaches.
pub async fn home(portal: Portal) -> PageResult {
    let session = portal.client()?;
    let home = portal.state.app.portal_home(session).await?;
    let today = chrono::Utc::now().date_naive();
    let done_tasks = home.tasks.iter().filter(|t| t.is_done).count();
    let open_tasks = home
        .tasks
        .into_iter()
        .filter(|t| !t.is_done)
        .map(|t| task_view(&portal.base, t, today))
        .collect();
    let client = &session.client;
    Ok(render(&HomePage {
        first_name: client
            .name
            .split_whitespace()
            .next()
            .unwrap_or(&client.name)
            .to_owned(),
        welcome: session.settings.welcome.clone(),
        company: client.company_name.clone(),
        items: home
            .items
            .into_iter()
            .map(|i| item_view(&portal.base, i))
            .collect(),
        open_tasks,
        done_tasks,
        shell: portal.shell(),
    }))
}

/// A comment as the conversation shows it.
pub struct CommentView {
    pub author: String,
    pub initials: String,
    pub from_client: bool,
    pub mine: bool,
    pub text: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "portal_record.html")]
struct RecordPage {
    shell: PortalShell,
    item: ItemView,
    action: String,
    tasks: Vec<TaskView>,
    comments: Vec<CommentView>,
    text: String,
    errors: FormErrors,
    notice: Option<String>,
}

async fn record_page(
    portal: &Portal,
    id: uuid::Uuid,
    text: String,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<RecordPage, PageError> {
    let session = portal.client()?;
    let record = portal.state.app.portal_record(session, id).await?;
    let today = chrono::Utc::now().date_naive();
    Ok(RecordPage {
        shell: portal.shell(),
        action: format!("{}/portal/records/{id}/comments", portal.base),
        item: item_view(&portal.base, record.item),
        tasks: record
            .tasks
            .into_iter()
            .map(|t| task_view(&portal.base, t, today))
            .collect(),
        comments: record
            .comments
            .into_iter()
            .map(|c| CommentView {
                initials: super::initials(&c.author),
                author: c.author,
                from_client: c.from_client,
                mine: c.mine,
                text: c.text,
                when: when(c.at),
            })
            .collect(),
        text,
        errors,
        notice,
    })
}

/// `GET /portal/records/{id}`: a deal or record the client reaches; 404 for anything else.
pub async fn record(portal: Portal, Path(id): Path<String>, Query(q): Query<Notice>) -> PageResult {
    portal.client()?;
    let Ok(id) = id.parse() else {
        return Err(AppError::NotFound.into());
    };
    let notice = (q.notice.as_deref() == Some("sent")).then(|| "Message sent.".to_owned());
    let page = record_page(&portal, id, String::new(), FormErrors::default(), notice).await?;
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /portal/records/{id}/comments`: the client writes to the team.
pub async fn comment(
    portal: Portal,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> PageResult {
    let session = portal.check_csrf(&form.csrf)?;
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Err(AppError::NotFound.into());
    };
    match portal
        .state
        .app
        .portal_comment(session, id, &form.text, &portal.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/portal/records/{id}?notice=sent#conversation",
            portal.base
        ))),
        Err(AppError::Validation(errors)) => {
            let page = record_page(&portal, id, form.text, FormErrors(errors.0), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /portal/logo`: the organization's logo, for the portal's header.
pub async fn logo(portal: Portal) -> PageResult {
    let Some(logo) = portal.state.app.portal_logo(&portal.organization).await? else {
        return Err(AppError::NotFound.into());
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = axum::http::HeaderValue::from_str(&logo.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, max-age=300"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    Ok((headers, logo.data).into_response())
}
