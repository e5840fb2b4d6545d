//! The signed-in workspace: choosing an organization, creating one, its dashboard, members.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_app::members::Added;
use rapport_app::organizations::NewOrganizationInput;
use rapport_app::{AppError, Tenant};
use rapport_domain::{Action, Object, Ownership, Role, decide};
use serde::Deserialize;

use super::context::error_page;
use super::{FormErrors, PageContext, initials, render, render_status, see_other};

/// One of the user's organizations, as lists show it.
pub struct OrgItem {
    pub name: String,
    pub slug: String,
    pub role: String,
    pub initials: String,
}

pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub icon: &'static str,
    pub current: bool,
    pub section: bool,
}

/// What the app shell shows around every page of an organization.
pub struct Shell {
    pub base: String,
    pub org_name: String,
    pub org_initials: String,
    pub logo_url: Option<String>,
    pub user_name: String,
    pub user_email: String,
    pub user_initials: String,
    pub role: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub breadcrumbs: Vec<String>,
    pub organizations: Vec<OrgItem>,
}

async fn shell(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    tenant: &Tenant,
    current: &str,
    crumbs: &[&str],
) -> Shell {
    let base = ctx.base.clone();
    let may =
        |action, object| decide(tenant.role, action, object, Ownership::NotApplicable).is_allowed();
    let mut nav = vec![NavItem {
        label: "Home",
        href: format!("{base}/"),
        icon: "⌂",
        current: current == "home",
        section: false,
    }];
    if may(Action::Create, Object::Member) {
        nav.push(NavItem {
            label: "Administration",
            href: String::new(),
            icon: "",
            current: false,
            section: true,
        });
        nav.push(NavItem {
            label: "Members",
            href: format!("{base}/settings/members"),
            icon: "◎",
            current: current == "members",
            section: false,
        });
    }
    let organizations = ctx
        .state
        .app
        .my_organizations(&session.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|o| OrgItem {
            initials: initials(&o.name),
            name: o.name,
            slug: o.slug,
            role: o.role.as_str().to_owned(),
        })
        .collect();
    let org = &tenant.organization;
    Shell {
        logo_url: org
            .has_logo
            .then(|| format!("/api/v1/organizations/{}/logo", org.id)),
        org_initials: initials(&org.name),
        org_name: org.name.clone(),
        user_name: session.actor.name.clone(),
        user_email: session.actor.email.clone(),
        user_initials: initials(&session.actor.name),
        role: tenant.role.as_str().to_owned(),
        csrf: session.session.csrf_token.clone(),
        nav,
        breadcrumbs: crumbs.iter().map(|c| (*c).to_owned()).collect(),
        organizations,
        base,
    }
}

#[derive(Template)]
#[template(path = "pick_organization.html")]
struct PickPage {
    organizations: Vec<OrgItem>,
    email: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    member_count: usize,
    invitation_count: usize,
    currency: String,
    time_zone: String,
    can_admin: bool,
}

/// `/`: the organization's dashboard when the address names one; otherwise the user's only
/// organization, a choice between several, or the page to create a first one.
pub async fn home(ctx: PageContext) -> Response {
    let session = match ctx.require_session() {
        Ok(s) => s,
        Err(redirect) => return redirect,
    };
    match ctx.organization() {
        Err(page) => return page,
        Ok(Some(_)) => return dashboard(&ctx).await,
        Ok(None) => {}
    }
    let orgs = match ctx.state.app.my_organizations(&session.actor).await {
        Ok(orgs) => orgs,
        Err(e) => return error_page(e.into()),
    };
    match orgs.as_slice() {
        [] => see_other("/organizations/new"),
        [only] => see_other(&format!("/o/{}/", only.slug)),
        _ => render(&PickPage {
            organizations: orgs
                .into_iter()
                .map(|o| OrgItem {
                    initials: initials(&o.name),
                    name: o.name,
                    slug: o.slug,
                    role: o.role.as_str().to_owned(),
                })
                .collect(),
            email: session.actor.email.clone(),
            csrf: session.session.csrf_token.clone(),
        }),
    }
}

async fn dashboard(ctx: &PageContext) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let app = &ctx.state.app;
    let members = app
        .list_members(&session.actor, &tenant, &ctx.meta)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let can_admin = tenant.role.administers();
    let invitations = if can_admin {
        app.list_invitations(&session.actor, &tenant, &ctx.meta)
            .await
            .map(|i| i.len())
            .unwrap_or(0)
    } else {
        0
    };
    let page = DashboardPage {
        shell: shell(ctx, session, &tenant, "home", &["Home"]).await,
        member_count: members,
        invitation_count: invitations,
        currency: tenant.organization.currency.clone(),
        time_zone: tenant.organization.time_zone.clone(),
        can_admin,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "new_organization.html")]
struct NewOrganizationPage {
    first: bool,
    name: String,
    errors: FormErrors,
    email: String,
    csrf: String,
}

pub async fn new_organization_form(ctx: PageContext) -> Response {
    let session = match ctx.require_session() {
        Ok(s) => s,
        Err(redirect) => return redirect,
    };
    let first = ctx
        .state
        .app
        .my_organizations(&session.actor)
        .await
        .map(|o| o.is_empty())
        .unwrap_or(true);
    render(&NewOrganizationPage {
        first,
        name: String::new(),
        errors: FormErrors::default(),
        email: session.actor.email.clone(),
        csrf: session.session.csrf_token.clone(),
    })
}

#[derive(Deserialize)]
pub struct NewOrganizationForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    name: String,
}

pub async fn new_organization(ctx: PageContext, Form(form): Form<NewOrganizationForm>) -> Response {
    let session = match ctx.check_csrf(&form.csrf) {
        Ok(s) => s,
        Err(page) => return page,
    };
    let input = NewOrganizationInput {
        name: form.name.clone(),
        ..Default::default()
    };
    match ctx
        .state
        .app
        .create_organization(&session.actor, input, &ctx.meta)
        .await
    {
        Ok(org) => see_other(&format!("/o/{}/", org.slug)),
        Err(AppError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewOrganizationPage {
                first: false,
                name: form.name,
                errors: FormErrors(errors.0),
                email: session.actor.email.clone(),
                csrf: session.session.csrf_token.clone(),
            },
        ),
        Err(other) => error_page(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------

pub struct MemberRow {
    pub name: String,
    pub email: String,
    pub role: String,
    pub initials: String,
}

pub struct InvitationRow {
    pub email: String,
    pub role: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    shell: Shell,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    roles: Vec<&'static str>,
    email: String,
    role: String,
    errors: FormErrors,
    error: Option<String>,
    notice: Option<String>,
}

impl MembersPage {
    fn is_selected(&self, role: &str) -> bool {
        self.role == role
    }
}

#[derive(Deserialize)]
pub struct MembersQuery {
    notice: Option<String>,
}

async fn members_page(
    ctx: &PageContext,
    email: String,
    role: String,
    errors: FormErrors,
    error: Option<String>,
    notice: Option<String>,
) -> Result<MembersPage, Response> {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let members = app
        .list_members(&session.actor, &tenant, &ctx.meta)
        .await
        .map_err(|e| error_page(e.into()))?;
    let invitations = app
        .list_invitations(&session.actor, &tenant, &ctx.meta)
        .await
        .map_err(|e| error_page(e.into()))?;
    let roles = Role::ALL
        .into_iter()
        .filter(|r| tenant.role.may_grant(*r))
        .map(Role::as_str)
        .collect();
    Ok(MembersPage {
        shell: shell(ctx, session, &tenant, "members", &["Members"]).await,
        members: members
            .into_iter()
            .map(|m| MemberRow {
                initials: initials(&m.name),
                name: m.name,
                email: m.email,
                role: m.role.as_str().to_owned(),
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|i| InvitationRow {
                email: i.email,
                role: i.role.as_str().to_owned(),
                expires: i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        roles,
        email,
        role,
        errors,
        error,
        notice,
    })
}

pub async fn members(ctx: PageContext, Query(q): Query<MembersQuery>) -> Response {
    let notice = q
        .notice
        .map(|email| format!("{email} was invited. The invitation email is on its way."));
    match members_page(
        &ctx,
        String::new(),
        "member".into(),
        FormErrors::default(),
        None,
        notice,
    )
    .await
    {
        Ok(page) => render(&page),
        Err(page) => page,
    }
}

#[derive(Deserialize)]
pub struct InviteMemberForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    email: String,
    role: String,
}

pub async fn invite_member(ctx: PageContext, Form(form): Form<InviteMemberForm>) -> Response {
    if let Err(page) = ctx.check_csrf(&form.csrf) {
        return page;
    }
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let role: Role = match form.role.parse() {
        Ok(role) => role,
        Err(e) => {
            let errors = FormErrors(vec![rapport_domain::FieldError {
                field: "role".into(),
                message: format!("{e}"),
            }]);
            return match members_page(&ctx, form.email, form.role, errors, None, None).await {
                Ok(page) => render_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
                Err(page) => page,
            };
        }
    };
    let result = ctx
        .state
        .app
        .add_member(&session.actor, &tenant, &form.email, role, &ctx.meta)
        .await;
    let (errors, error) = match result {
        Ok(Added::Invited(invitation)) => {
            let email: String =
                url::form_urlencoded::byte_serialize(invitation.email.as_bytes()).collect();
            return see_other(&format!("{}/settings/members?notice={email}", ctx.base));
        }
        Ok(Added::Member(_)) => return see_other(&format!("{}/settings/members", ctx.base)),
        Err(AppError::Validation(errors)) => (FormErrors(errors.0), None),
        Err(AppError::Conflict { message, .. }) => (
            FormErrors::default(),
            Some(format!("{}.", capitalize_first(&message))),
        ),
        Err(AppError::Forbidden) => (
            FormErrors::default(),
            Some("Your role cannot invite with this role.".into()),
        ),
        Err(other) => return error_page(other.into()),
    };
    match members_page(&ctx, form.email, form.role, errors, error, None).await {
        Ok(page) => render_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
        Err(page) => page,
    }
}

fn capitalize_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `/brand.css`: the organization's primary colour as a design token, so branding needs no inline
/// style (which the content security policy forbids).
pub async fn brand_css(ctx: PageContext) -> Response {
    let color = match ctx.organization() {
        Ok(Some(org)) => org.primary_color.clone(),
        _ => None,
    };
    let body = match color {
        Some(c) => format!(":root {{ --brand: {c}; }}\n"),
        None => String::from("/* default brand colour */\n"),
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
