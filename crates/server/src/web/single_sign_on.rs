//! Single sign-on in the browser: the sign-in through an organization's provider (start,
//! callback, and finding the organization from a work email), and Settings → Single sign-on.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use rapport_app::AppError;
use rapport_app::model::Organization;
use rapport_app::organizations::TenantHint;
use rapport_app::sso::{Callback, STATE_COOKIE, STATE_LIFETIME, Settings, SettingsInput};
use rapport_domain::Role;
use serde::Deserialize;

use super::context::urlencode;
use super::settings::{RoleOption, Tab, admin, tabs};
use super::workspace::Shell;
use super::{FormErrors, PageContext, PageResult, render, render_status, safe_next, see_other};
use crate::extract::cookie;

// ---- Signing in ---------------------------------------------------------------------------

/// "Sign in with single sign-on": a work email finds the organization; refusals from the
/// provider come back here too.
#[derive(Template)]
#[template(path = "login_sso.html")]
struct SsoLoginPage {
    email: String,
    next: String,
    /// Shown next to the email field.
    email_error: Option<String>,
    /// Why the sign-in did not happen, above the form.
    error: Option<String>,
    /// When the email's domain signs in to several organizations: which one.
    choices: Vec<Choice>,
}

struct Choice {
    name: String,
    href: String,
}

fn sso_page(next: String) -> SsoLoginPage {
    SsoLoginPage {
        email: String::new(),
        next,
        email_error: None,
        error: None,
        choices: Vec::new(),
    }
}

/// Where a sign-in through `organization` starts.
fn start_href(organization: &Organization, next: &str, email: &str) -> String {
    let mut href = format!(
        "/sso/start?organization={}&next={}",
        urlencode(&organization.slug),
        urlencode(next)
    );
    if !email.is_empty() {
        href.push_str(&format!("&email={}", urlencode(email)));
    }
    href
}

#[derive(Deserialize)]
pub struct SsoLoginQuery {
    next: Option<String>,
}

/// `GET /login/sso`.
pub async fn login_form(ctx: PageContext, Query(q): Query<SsoLoginQuery>) -> PageResult {
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    if ctx.session.is_some() {
        return Ok(see_other(&next));
    }
    Ok(render(&sso_page(next)))
}

#[derive(Deserialize)]
pub struct SsoLoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: String,
}

/// `POST /login/sso`: finds the organizations whose single sign-on takes the email's domain.
pub async fn login(
    ctx: PageContext,
    headers: HeaderMap,
    Form(form): Form<SsoLoginForm>,
) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &ctx.state) {
        return Ok(e.into_html_response());
    }
    let next = safe_next(&form.next);
    let email = form.email.trim().to_owned();
    let mut page = sso_page(next.clone());
    page.email = email.clone();
    if !email.contains('@') {
        page.email_error = Some("Enter your work email, such as ann@example.com.".into());
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let found = ctx.state.app.sso_organizations_for(&email).await?;
    match found.as_slice() {
        [] => {
            page.email_error = Some(
                "No organization here signs in this email's domain with single sign-on. Sign in with your password, or ask your administrator for your organization's sign-in link."
                    .into(),
            );
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        // The organizations are shown to choose from, even one: a domain is claimed by the
        // organization's owners, not proven, so nobody is sent to a provider unasked. (A
        // redirect would not do either: the page's `form-action 'self'` policy stops a form's
        // answer from leaving for another site.)
        found => {
            page.choices = found
                .iter()
                .map(|o| Choice {
                    name: o.name.clone(),
                    href: start_href(o, &next, &email),
                })
                .collect();
            Ok(render(&page))
        }
    }
}

#[derive(Deserialize)]
pub struct StartQuery {
    /// The organization's slug, when the address does not name it.
    organization: Option<String>,
    next: Option<String>,
    /// Passed to the provider as a login hint.
    email: Option<String>,
    /// From a browser already signed in: proof that it chose to go on (see [`confirmation`]).
    confirm: Option<String>,
}

/// How long a "Continue" link of the confirmation page works.
const CONFIRM_FOR_SECS: i64 = 600;

/// What a signed-in browser's own "Continue" link carries to start a sign-in that replaces its
/// session: `{issued}.{mac}`, the mac keyed by the instance and made of the session's CSRF
/// token, the organization and the time, so a link from elsewhere cannot sign someone out and
/// into another account, and one seen later works neither for long nor elsewhere.
fn confirmation(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    organization: rapport_domain::OrganizationId,
    issued: i64,
) -> String {
    let mac: String = ctx
        .state
        .app
        .keys
        .hash_token(&format!(
            "sso-start:{}:{organization}:{issued}",
            session.session.csrf_token
        ))
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{issued}.{mac}")
}

/// Whether a confirmation is this browser's own, for this organization, and recent.
fn confirmed(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    organization: rapport_domain::OrganizationId,
    given: Option<&str>,
) -> bool {
    let Some((issued, _)) = given.and_then(|g| g.split_once('.')) else {
        return false;
    };
    let Ok(issued) = issued.parse::<i64>() else {
        return false;
    };
    let age = chrono::Utc::now().timestamp() - issued;
    let expected = confirmation(ctx, session, organization, issued);
    (0..=CONFIRM_FOR_SECS).contains(&age)
        && rapport_app::crypto::constant_time_eq(
            given.unwrap_or_default().as_bytes(),
            expected.as_bytes(),
        )
}

/// Where a finished sign-in goes: a page of the organization (asked for before signing in)
/// as it is; a page outside any organization, inside this one; another organization's, its
/// home.
fn destination(slug: &str, next: &str) -> String {
    let home = format!("/o/{slug}");
    if next == home || next.starts_with(&format!("{home}/")) {
        next.to_owned()
    } else if next.starts_with("/o/") {
        format!("{home}/")
    } else {
        format!("{home}{next}")
    }
}

/// "Continue to {organization}'s sign-in?", for a browser signed in already.
#[derive(Template)]
#[template(path = "sso_confirm.html")]
struct ConfirmPage {
    organization: String,
    email: String,
    required: bool,
    continue_href: String,
    /// To sign out instead (the organization requires single sign-on, so staying leads nowhere).
    csrf: String,
}

/// The host and port the request was sent to.
fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

/// The host and port of the instance's address, where the provider sends people back.
fn base_host(ctx: &PageContext) -> String {
    let base = &ctx.state.app.config.base_url;
    match (base.host_str(), base.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

fn state_cookie(ctx: &PageContext, value: &str, max_age: i64) -> axum::http::HeaderValue {
    crate::extract::cookie_header(&ctx.state, STATE_COOKIE, value, "/sso", max_age)
}

/// `GET /sso/start`: sends the browser to the organization's provider. The organization comes
/// from the address (`/o/{slug}`, its domain) or `?organization=`; the sign-in always runs on
/// the instance's own address, where the provider sends people back.
pub async fn start(
    ctx: PageContext,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> PageResult {
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    let email = q.email.unwrap_or_default();
    let organization = match ctx.organization().ok().flatten() {
        Some(org) => Some(org.clone()),
        None => match q.organization.as_deref().map(str::trim) {
            Some(slug) if !slug.is_empty() => {
                ctx.state
                    .app
                    .resolve_organization(TenantHint::Slug(slug))
                    .await?
            }
            _ => None,
        },
    };
    let Some(organization) = organization else {
        let mut page = sso_page(next);
        page.error =
            Some("That organization was not found. Enter your work email to find yours.".into());
        return Ok(render_status(StatusCode::NOT_FOUND, &page));
    };
    if request_host(&headers) != Some(base_host(&ctx).as_str()) {
        let to = ctx
            .state
            .app
            .link(&start_href(&organization, &next, &email));
        return Ok(see_other(&to));
    }
    // Someone signed in already is not signed out by a link to another sign-in: they are asked,
    // and only their own answer goes on.
    if let Some(session) = &ctx.session {
        if session.actor.confined_to == Some(organization.id) {
            return Ok(see_other(&destination(&organization.slug, &next)));
        }
        if !confirmed(&ctx, session, organization.id, q.confirm.as_deref()) {
            let token = confirmation(
                &ctx,
                session,
                organization.id,
                chrono::Utc::now().timestamp(),
            );
            return Ok(render(&ConfirmPage {
                organization: organization.name.clone(),
                email: session.actor.email.clone(),
                required: organization.sso_required,
                continue_href: format!(
                    "{}&confirm={token}",
                    start_href(&organization, &next, &email)
                ),
                csrf: crate::csrf::masked(&session.session.csrf_token),
            }));
        }
    }
    let hint = (!email.is_empty()).then_some(email.as_str());
    match ctx
        .state
        .app
        .begin_single_sign_on(&organization, &next, hint)
        .await
    {
        Ok(begun) => {
            let mut response = see_other(&begun.location);
            response.headers_mut().append(
                header::SET_COOKIE,
                state_cookie(&ctx, &begun.state_cookie, STATE_LIFETIME.num_seconds()),
            );
            Ok(response)
        }
        Err(AppError::SignInRefused(message)) => {
            let mut page = sso_page(next);
            page.email = email;
            page.error = Some(message);
            Ok(render_status(StatusCode::SERVICE_UNAVAILABLE, &page))
        }
        Err(AppError::NotFound) => {
            let mut page = sso_page(next);
            page.error = Some(format!(
                "{} does not sign in with single sign-on. Sign in with your email and password.",
                organization.name
            ));
            Ok(render_status(StatusCode::NOT_FOUND, &page))
        }
        Err(e @ AppError::OrganizationSuspended) => {
            let mut page = sso_page(next);
            page.error = Some(super::sentence(&e.to_string()));
            Ok(render_status(StatusCode::FORBIDDEN, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /sso/callback/{organization}`: where the provider sends the browser back. A finished sign-in opens a
/// session confined to the organization and goes to its home (or the page asked for).
pub async fn callback(
    ctx: PageContext,
    headers: HeaderMap,
    Path(organization): Path<uuid::Uuid>,
    Query(back): Query<Callback>,
) -> PageResult {
    let sealed = cookie(&headers, STATE_COOKIE).map(str::to_owned);
    let result = ctx
        .state
        .app
        .finish_single_sign_on(
            rapport_domain::OrganizationId(organization),
            sealed.as_deref(),
            &back,
            ctx.cookie.as_deref(),
            &ctx.meta,
        )
        .await;
    let mut response = match result {
        Ok(finished) => {
            let to = destination(&finished.organization.slug, &finished.next);
            super::auth_pages::with_session_cookie(
                &ctx,
                &finished.opened.token,
                finished.opened.expires_at,
                &to,
            )
        }
        Err(AppError::SignInRefused(message)) => {
            let mut page = sso_page("/".into());
            page.error = Some(message);
            render_status(StatusCode::FORBIDDEN, &page)
        }
        Err(e @ AppError::OrganizationSuspended) => {
            let mut page = sso_page("/".into());
            page.error = Some(super::sentence(&e.to_string()));
            render_status(StatusCode::FORBIDDEN, &page)
        }
        Err(other) => super::PageError::from(other).into_response(),
    };
    // The state is spent either way.
    response
        .headers_mut()
        .append(header::SET_COOKIE, state_cookie(&ctx, "", 0));
    Ok(response)
}

/// The sign-in button a login page shows for an organization with single sign-on: its label
/// and where it starts.
pub async fn button(ctx: &PageContext, next: &str) -> Option<(String, String)> {
    let org = ctx.organization().ok().flatten()?;
    let label = ctx.state.app.sso_button(org.id).await.ok().flatten()?;
    Some((
        label,
        format!("{}/sso/start?next={}", ctx.base, urlencode(next)),
    ))
}

// ---- Settings → Single sign-on -------------------------------------------------------------

#[derive(Template)]
#[template(path = "settings_sso.html")]
struct SettingsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    configured: bool,
    enabled: bool,
    label: String,
    issuer: String,
    client_id: String,
    secret_hint: String,
    allowed_domains: String,
    auto_join: bool,
    trust_email: bool,
    required: bool,
    default_role: String,
    roles: Vec<RoleOption>,
    redirect_uri: String,
    linked: i64,
    /// The address members can bookmark to sign in directly.
    sign_in_link: String,
    errors: FormErrors,
    notice: Option<String>,
}

async fn settings_page(
    ctx: &PageContext,
    shell: Shell,
    actor: &rapport_app::Actor,
    tenant: &rapport_app::Tenant,
    current: Option<&Settings>,
) -> Result<SettingsPage, super::PageError> {
    let list = ctx.state.app.list_roles(actor, tenant, &ctx.meta).await?;
    Ok(SettingsPage {
        shell,
        tabs: tabs(&ctx.base, "single-sign-on"),
        configured: current.is_some(),
        enabled: current.is_none_or(|s| s.enabled),
        label: current.map_or_else(|| "Single sign-on".to_owned(), |s| s.label.clone()),
        issuer: current.map(|s| s.issuer.clone()).unwrap_or_default(),
        client_id: current.map(|s| s.client_id.clone()).unwrap_or_default(),
        secret_hint: if current.is_some() {
            "Stored encrypted and never shown again. Leave empty to keep it.".into()
        } else {
            "Stored encrypted and never shown again.".into()
        },
        allowed_domains: current
            .map(|s| s.allowed_domains.join(", "))
            .unwrap_or_default(),
        auto_join: current.is_some_and(|s| s.auto_join),
        trust_email: current.is_some_and(|s| s.trust_email),
        required: current.is_some_and(|s| s.required),
        default_role: current.map_or_else(|| "member".to_owned(), |s| s.default_role.clone()),
        roles: list
            .roles
            .iter()
            .filter(|r| r.level != Role::Owner)
            .map(|r| RoleOption {
                key: r.key.clone(),
                name: r.name.clone(),
            })
            .collect(),
        redirect_uri: ctx.state.app.sso_redirect_uri(tenant.id()),
        linked: current.map_or(0, |s| s.linked),
        sign_in_link: ctx.state.app.link(&format!(
            "/sso/start?organization={}",
            urlencode(&tenant.organization.slug)
        )),
        errors: FormErrors::default(),
        notice: None,
    })
}

/// An owner's settings context; admins are told why not (a provider vouches for owners too).
async fn owner(
    ctx: &PageContext,
) -> Result<(rapport_app::Actor, rapport_app::Tenant, Shell), super::PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Single sign-on").await?;
    if tenant.role != Role::Owner {
        return Err(super::PageError::from(crate::error::ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only owners set up single sign-on: the provider vouches for everyone, owners included",
        )));
    }
    Ok((actor, tenant, shell))
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

/// `GET /settings/single-sign-on`.
pub async fn settings(ctx: PageContext, Query(q): Query<Saved>) -> PageResult {
    let (actor, tenant, shell) = owner(&ctx).await?;
    let current = ctx
        .state
        .app
        .single_sign_on(&actor, &tenant, &ctx.meta)
        .await?;
    let mut page = settings_page(&ctx, shell, &actor, &tenant, current.as_ref()).await?;
    page.notice = q.saved.map(|what| match what.as_str() {
        "removed" => "Single sign-on removed. Members sign in with their passwords.".to_owned(),
        _ => "Single sign-on saved.".to_owned(),
    });
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    allowed_domains: String,
    /// Checkboxes: present when ticked.
    #[serde(default)]
    auto_join: Option<String>,
    #[serde(default)]
    trust_email: Option<String>,
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    default_role: String,
}

/// `POST /settings/single-sign-on`.
pub async fn save(ctx: PageContext, Form(form): Form<SettingsForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = owner(&ctx).await?;
    let input = SettingsInput {
        issuer: form.issuer.clone(),
        client_id: form.client_id.clone(),
        client_secret: Some(form.client_secret.clone()).filter(|s| !s.trim().is_empty()),
        label: Some(form.label.clone()),
        allowed_domains: vec![form.allowed_domains.clone()],
        auto_join: form.auto_join.is_some(),
        trust_email: form.trust_email.is_some(),
        default_role: Some(form.default_role.clone()),
        enabled: form.enabled.is_some(),
        required: form.required.is_some(),
    };
    match ctx
        .state
        .app
        .save_single_sign_on(&actor, &tenant, input, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/single-sign-on?saved=1",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            let current = ctx
                .state
                .app
                .single_sign_on(&actor, &tenant, &ctx.meta)
                .await?;
            let mut page = settings_page(&ctx, shell, &actor, &tenant, current.as_ref()).await?;
            page.issuer = form.issuer;
            page.client_id = form.client_id;
            page.label = form.label;
            page.allowed_domains = form.allowed_domains;
            page.auto_join = form.auto_join.is_some();
            page.trust_email = form.trust_email.is_some();
            page.required = form.required.is_some();
            page.enabled = form.enabled.is_some();
            page.default_role = form.default_role;
            page.errors = FormErrors(errors.0);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /settings/single-sign-on/remove`.
pub async fn remove(ctx: PageContext, Form(form): Form<super::CsrfForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = owner(&ctx).await?;
    ctx.state
        .app
        .remove_single_sign_on(&actor, &tenant, &ctx.meta)
        .await?;
    Ok(see_other(&format!(
        "{}/settings/single-sign-on?saved=removed",
        ctx.base
    )))
}
