//! Organization settings pages (owners and admins): general, branding, domains.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query};
use axum::http::StatusCode;
use rapport_app::organizations::SettingsUpdate;
use rapport_app::{AppError, Tenant};
use rapport_domain::DomainId;
use serde::Deserialize;

use super::workspace::{Shell, shell};
use super::{FormErrors, PageContext, PageError, PageResult, render, render_status, see_other};
use crate::error::ApiError;

pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A role a form offers: its key and its name.
pub struct RoleOption {
    pub key: String,
    pub name: String,
}

/// The organization's roles the actor may hand out (only owners hand out the owner role).
pub async fn grantable_roles(
    ctx: &super::PageContext,
    actor: &rapport_app::Actor,
    tenant: &rapport_app::Tenant,
) -> Result<Vec<RoleOption>, super::PageError> {
    let roles = ctx
        .state
        .app
        .list_roles(actor, tenant, &ctx.meta)
        .await
        .map_err(super::PageError::from)?;
    Ok(roles
        .roles
        .into_iter()
        .filter(|r| tenant.role.may_grant(r.level))
        .map(|r| RoleOption {
            key: r.key,
            name: r.name,
        })
        .collect())
}

pub fn tabs(base: &str, current: &str) -> Vec<Tab> {
    [
        ("General", "general"),
        ("Branding", "branding"),
        ("Domains", "domains"),
        ("Pipelines", "pipelines"),
        ("Objects", "objects"),
        ("Members", "members"),
        ("Roles", "roles"),
        ("Teams", "teams"),
        ("Client portal", "portal"),
        ("Single sign-on", "single-sign-on"),
        ("Webhooks", "webhooks"),
        ("API keys", "api-keys"),
        ("AI", "ai"),
        ("Support", "support"),
        ("Audit log", "audit"),
    ]
    .into_iter()
    .map(|(label, id)| Tab {
        label,
        href: format!("{base}/settings/{id}"),
        current: id == current,
    })
    .collect()
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

fn saved_notice(q: &Saved) -> Option<String> {
    q.saved.as_ref().map(|what| match what.as_str() {
        "logo" => "Logo updated.".to_owned(),
        "logo-removed" => "Logo removed.".to_owned(),
        "domain" => "Domain added. Point its DNS at this server to use it.".to_owned(),
        "domain-removed" => "Domain removed.".to_owned(),
        _ => "Changes saved.".to_owned(),
    })
}

/// The signed-in administrator's context for a settings page; others get a 403 page.
pub(super) async fn admin(
    ctx: &PageContext,
    current: &str,
    crumb: &'static str,
) -> Result<(rapport_app::Actor, Tenant, Shell), PageError> {
    // Settings are the administrator's own even while they preview a role: the preview is of
    // records, and its banner stays to end it.
    let (session, tenant) = ctx.own_tenant().await?;
    if !tenant.role.administers() {
        return Err(PageError::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only owners and admins change the organization's settings",
        )));
    }
    let shell = shell(ctx, session, &tenant, current, &["Settings", crumb]).await;
    Ok((session.actor.clone(), tenant, shell))
}

// ---- General -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "settings_general.html")]
struct GeneralPage {
    shell: Shell,
    tabs: Vec<Tab>,
    name: String,
    slug: String,
    currency: String,
    time_zone: String,
    address_hint: String,
    errors: FormErrors,
    notice: Option<String>,
    /// Whether members must use two-factor authentication.
    two_factor_required: bool,
    /// Whether the person looking has it on (they must, to require it).
    own_two_factor: bool,
    /// Why the security setting was not changed.
    security_error: Option<String>,
}

fn general_page(
    ctx: &PageContext,
    shell: Shell,
    tenant: &Tenant,
    errors: FormErrors,
    notice: Option<String>,
) -> GeneralPage {
    let org = &tenant.organization;
    GeneralPage {
        tabs: tabs(&ctx.base, "general"),
        address_hint: format!(
            "Used in links: {}/o/{}/. Lowercase letters, digits and hyphens.",
            ctx.state.app.link(""),
            org.slug
        ),
        name: org.name.clone(),
        slug: org.slug.clone(),
        currency: org.currency.clone(),
        time_zone: org.time_zone.clone(),
        two_factor_required: org.two_factor_required,
        own_two_factor: ctx.session.as_ref().is_some_and(|s| s.actor.two_factor),
        security_error: None,
        shell,
        errors,
        notice,
    }
}

pub async fn general(ctx: PageContext, Query(q): Query<Saved>) -> PageResult {
    match admin(&ctx, "settings", "General").await {
        Ok((_, tenant, shell)) => Ok(render(&general_page(
            &ctx,
            shell,
            &tenant,
            FormErrors::default(),
            saved_notice(&q),
        ))),
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct GeneralForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    name: String,
    slug: String,
    currency: String,
    time_zone: String,
}

pub async fn save_general(ctx: PageContext, Form(form): Form<GeneralForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "General").await?;
    let update = SettingsUpdate {
        name: Some(form.name.clone()),
        slug: Some(form.slug.clone()),
        currency: Some(form.currency.clone()),
        time_zone: Some(form.time_zone.clone()),
        primary_color: None,
        two_factor_required: None,
    };
    match ctx
        .state
        .app
        .update_organization(&actor, &tenant, update, &ctx.meta)
        .await
    {
        Ok(org) => {
            // The address may have changed with the slug.
            let base = if ctx.base.is_empty() {
                String::new()
            } else {
                format!("/o/{}", org.slug)
            };
            Ok(see_other(&format!("{base}/settings/general?saved=1")))
        }
        Err(AppError::Validation(errors)) => {
            let mut page = general_page(&ctx, shell, &tenant, FormErrors(errors.0), None);
            page.name = form.name;
            page.slug = form.slug;
            page.currency = form.currency;
            page.time_zone = form.time_zone;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct SecurityForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    two_factor_required: Option<String>,
}

/// `POST /settings/security`: whether members must use two-factor authentication.
pub async fn save_security(ctx: PageContext, Form(form): Form<SecurityForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "General").await?;
    let update = SettingsUpdate {
        two_factor_required: Some(form.two_factor_required.is_some()),
        ..SettingsUpdate::default()
    };
    match ctx
        .state
        .app
        .update_organization(&actor, &tenant, update, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{}/settings/general?saved=1", ctx.base))),
        Err(AppError::Conflict { message, .. }) => {
            let mut page = general_page(&ctx, shell, &tenant, FormErrors::default(), None);
            page.security_error = Some(super::sentence(&message));
            Ok(render_status(StatusCode::CONFLICT, &page))
        }
        Err(other) => Err(other.into()),
    }
}

// ---- Branding ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "settings_branding.html")]
struct BrandingPage {
    shell: Shell,
    tabs: Vec<Tab>,
    color: String,
    errors: FormErrors,
    logo_error: Option<String>,
    notice: Option<String>,
}

const DEFAULT_BRAND: &str = "#4f46e5";

fn branding_page(ctx: &PageContext, shell: Shell, tenant: &Tenant) -> BrandingPage {
    BrandingPage {
        tabs: tabs(&ctx.base, "branding"),
        color: tenant
            .organization
            .primary_color
            .clone()
            .unwrap_or_else(|| DEFAULT_BRAND.to_owned()),
        shell,
        errors: FormErrors::default(),
        logo_error: None,
        notice: None,
    }
}

pub async fn branding(ctx: PageContext, Query(q): Query<Saved>) -> PageResult {
    match admin(&ctx, "settings", "Branding").await {
        Ok((_, tenant, shell)) => {
            let mut page = branding_page(&ctx, shell, &tenant);
            page.notice = saved_notice(&q);
            Ok(render(&page))
        }
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct ColorForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    primary_color: String,
}

pub async fn save_color(ctx: PageContext, Form(form): Form<ColorForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "Branding").await?;
    let color = form.primary_color.trim();
    let update = SettingsUpdate {
        primary_color: Some((!color.is_empty()).then(|| color.to_owned())),
        ..SettingsUpdate::default()
    };
    match ctx
        .state
        .app
        .update_organization(&actor, &tenant, update, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/branding?saved=1",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            let mut page = branding_page(&ctx, shell, &tenant);
            page.color = form.primary_color;
            page.errors = FormErrors(errors.0);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn upload_logo(ctx: PageContext, mut multipart: Multipart) -> PageResult {
    let mut csrf = String::new();
    let mut upload: Option<(String, Vec<u8>)> = None;
    let mut problem: Option<String> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let content_type = field.content_type().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "_csrf" => {
                        csrf = String::from_utf8_lossy(&bytes).into_owned()
                    }
                    Ok(bytes) if name == "logo" => upload = Some((content_type, bytes.to_vec())),
                    Ok(_) => {}
                    Err(_) => {
                        problem = Some("The image is larger than 1 MiB.".into());
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(_) => {
                problem = Some(
                    "The upload did not arrive whole; try again with an image up to 1 MiB.".into(),
                );
                break;
            }
        }
    }
    if problem.is_none()
        && let Err(page) = ctx.check_csrf(&csrf)
    {
        return Err(page);
    }
    let (actor, tenant, shell) = admin(&ctx, "settings", "Branding").await?;
    let error = match (problem, upload) {
        (Some(problem), _) => problem,
        (None, Some((_, data))) if data.is_empty() => "Choose an image first.".to_owned(),
        (None, None) => "Choose an image first.".to_owned(),
        (None, Some((content_type, data))) => {
            match ctx
                .state
                .app
                .set_logo(&actor, &tenant, &content_type, data, &ctx.meta)
                .await
            {
                Ok(()) => {
                    return Ok(see_other(&format!(
                        "{}/settings/branding?saved=logo",
                        ctx.base
                    )));
                }
                Err(AppError::Validation(errors)) => {
                    format!(
                        "The logo {}.",
                        errors
                            .0
                            .first()
                            .map(|e| e.message.as_str())
                            .unwrap_or("is not valid")
                    )
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let mut page = branding_page(&ctx, shell, &tenant);
    page.logo_error = Some(error);
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn remove_logo(ctx: PageContext, Form(form): Form<super::CsrfForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Branding").await?;
    match ctx.state.app.delete_logo(&actor, &tenant, &ctx.meta).await {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/branding?saved=logo-removed",
            ctx.base
        ))),
        Err(e) => Err(e.into()),
    }
}

// ---- Domains -----------------------------------------------------------------------------

pub struct DomainRow {
    pub id: String,
    pub domain: String,
}

#[derive(Template)]
#[template(path = "settings_domains.html")]
struct DomainsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    path_address: String,
    subdomain: Option<String>,
    domains: Vec<DomainRow>,
    domain: String,
    errors: FormErrors,
    notice: Option<String>,
}

async fn domains_page(
    ctx: &PageContext,
    actor: &rapport_app::Actor,
    tenant: &Tenant,
    shell: Shell,
) -> Result<DomainsPage, PageError> {
    let list = ctx
        .state
        .app
        .domains(actor, tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let slug = &tenant.organization.slug;
    Ok(DomainsPage {
        tabs: tabs(&ctx.base, "domains"),
        path_address: ctx.state.app.link(&format!("/o/{slug}/")),
        subdomain: ctx
            .state
            .app
            .config
            .base_domain
            .as_ref()
            .map(|b| format!("{slug}.{b}")),
        domains: list
            .into_iter()
            .map(|d| DomainRow {
                id: d.id.to_string(),
                domain: d.domain,
            })
            .collect(),
        shell,
        domain: String::new(),
        errors: FormErrors::default(),
        notice: None,
    })
}

pub async fn domains(ctx: PageContext, Query(q): Query<Saved>) -> PageResult {
    let (actor, tenant, shell) = admin(&ctx, "settings", "Domains").await?;
    match domains_page(&ctx, &actor, &tenant, shell).await {
        Ok(mut page) => {
            page.notice = saved_notice(&q);
            Ok(render(&page))
        }
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    domain: String,
}

pub async fn add_domain(ctx: PageContext, Form(form): Form<DomainForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "Domains").await?;
    let errors = match ctx
        .state
        .app
        .add_domain(&actor, &tenant, &form.domain, &ctx.meta)
        .await
    {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}/settings/domains?saved=domain",
                ctx.base
            )));
        }
        Err(AppError::Validation(errors)) => FormErrors(errors.0),
        Err(AppError::Conflict { message, .. }) => FormErrors(vec![rapport_domain::FieldError {
            field: "domain".into(),
            message,
        }]),
        Err(other) => return Err(other.into()),
    };
    match domains_page(&ctx, &actor, &tenant, shell).await {
        Ok(mut page) => {
            page.domain = form.domain;
            page.errors = errors;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(page) => Err(page),
    }
}

pub async fn remove_domain(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Domains").await?;
    let Ok(id) = id.parse::<DomainId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .remove_domain(&actor, &tenant, id, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/domains?saved=domain-removed",
            ctx.base
        ))),
        Err(e) => Err(e.into()),
    }
}

// ---- Support access --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "settings_support.html")]
struct SupportPage {
    shell: Shell,
    tabs: Vec<Tab>,
    grants: Vec<SupportRow>,
    /// Whether the person looking may answer (owners).
    is_owner: bool,
    notice: Option<String>,
    error: Option<String>,
}

struct SupportRow {
    id: String,
    requester: String,
    reason: String,
    /// "Read-only" or "Admin".
    access: &'static str,
    hours: i64,
    /// `pending`, `active`, `expired`, `denied` or `revoked`.
    state: &'static str,
    /// "Asked 2 h ago", "Until 7 Dec 2026 15:12 UTC", "Ended 7 Dec 2026 13:20 UTC".
    when: String,
}

async fn support_page(
    ctx: &PageContext,
    notice: Option<String>,
    error: Option<String>,
) -> Result<SupportPage, PageError> {
    let (_, tenant, shell) = admin(ctx, "settings", "Support access").await?;
    let grants = ctx
        .state
        .app
        .support_grants(&tenant)
        .await
        .map_err(PageError::from)?;
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%-d %b %Y %H:%M UTC").to_string();
    Ok(SupportPage {
        tabs: tabs(&ctx.base, "support"),
        is_owner: tenant.role == rapport_domain::Role::Owner,
        grants: grants
            .into_iter()
            .map(|g| {
                let state = rapport_app::support::state(&g);
                SupportRow {
                    id: g.id.to_string(),
                    requester: g
                        .requester_email
                        .clone()
                        .unwrap_or_else(|| "A former administrator".into()),
                    access: if g.access == "admin" {
                        "Admin"
                    } else {
                        "Read-only"
                    },
                    hours: g.hours,
                    when: match state {
                        "pending" => format!("Asked {}", super::records::when(g.created_at)),
                        "active" => g
                            .expires_at
                            .map(|e| format!("Until {}", at(e)))
                            .unwrap_or_default(),
                        "revoked" => g
                            .revoked_at
                            .map(|e| format!("Revoked {}", at(e)))
                            .unwrap_or_default(),
                        "expired" => g
                            .expires_at
                            .map(|e| format!("Ended {}", at(e)))
                            .unwrap_or_default(),
                        _ => g
                            .decided_at
                            .map(|e| format!("Denied {}", at(e)))
                            .unwrap_or_default(),
                    },
                    reason: g.reason,
                    state,
                }
            })
            .collect(),
        shell,
        notice,
        error,
    })
}

#[derive(Deserialize)]
pub struct SupportQuery {
    done: Option<String>,
}

pub async fn support(ctx: PageContext, Query(q): Query<SupportQuery>) -> PageResult {
    let notice = q.done.as_deref().map(|d| {
        match d {
            "approve" => "Approved. Support can open the organization until the time shown.",
            "deny" => "Denied. Nothing was opened.",
            "revoke" => "Revoked. Support access ended now.",
            _ => "Saved.",
        }
        .to_owned()
    });
    Ok(render(&support_page(&ctx, notice, None).await?))
}

/// `POST /settings/support/{id}/{approve|deny|revoke}` (owners).
pub async fn support_action(
    ctx: PageContext,
    axum::extract::Path((id, action)): axum::extract::Path<(String, String)>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Support access").await?;
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| PageError::from(AppError::NotFound))?;
    let app = &ctx.state.app;
    let result = match action.as_str() {
        "approve" => {
            app.decide_support_grant(&actor, &tenant, id, true, &ctx.meta)
                .await
        }
        "deny" => {
            app.decide_support_grant(&actor, &tenant, id, false, &ctx.meta)
                .await
        }
        "revoke" => {
            app.revoke_support_grant(&actor, &tenant, id, &ctx.meta)
                .await
        }
        _ => Err(AppError::NotFound),
    };
    let (status, message) = match result {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}/settings/support?done={action}",
                ctx.base
            )));
        }
        Err(AppError::Conflict { message, .. }) => {
            (StatusCode::CONFLICT, super::sentence(&message))
        }
        Err(AppError::Forbidden) => (
            StatusCode::FORBIDDEN,
            "Only an owner answers support requests.".to_owned(),
        ),
        Err(other) => return Err(other.into()),
    };
    Ok(render_status(
        status,
        &support_page(&ctx, None, Some(message)).await?,
    ))
}
