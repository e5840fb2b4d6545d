//! The signed-in workspace: choosing an organization, creating one, its dashboard, members.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use rapport_app::members::Added;
use rapport_app::organizations::NewOrganizationInput;
use rapport_app::{AppError, Tenant};
use rapport_domain::{Action, Object, Ownership, Role};
use serde::Deserialize;

use super::{
    FormErrors, PageContext, PageError, PageResult, initials, render, render_status, see_other,
};

/// One of the user's organizations, as lists show it.
pub struct OrgItem {
    pub name: String,
    pub slug: String,
    pub role: String,
    pub initials: String,
}

pub struct NavItem {
    pub label: String,
    pub href: String,
    pub icon: String,
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
    /// The signed-in member's id: live updates they caused themselves are not news to them.
    pub user_id: String,
    pub user_initials: String,
    pub role: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub breadcrumbs: Vec<String>,
    pub organizations: Vec<OrgItem>,
    pub instance_admin: bool,
    /// More destinations for the command palette, beyond the sidebar.
    pub palette: Vec<PaletteItem>,
    /// Unread notifications (the bell).
    pub unread: i64,
    /// The role an owner or admin is previewing, by name.
    pub preview: Option<String>,
    /// Whether the person is here through support access (an instance administrator).
    pub support: bool,
}

pub struct PaletteItem {
    pub label: String,
    pub href: String,
}

/// The icons an object may have: (name, glyph). Names are what the API stores.
pub const ICONS: [(&str, &str); 29] = [
    ("anchor", "⚓"),
    ("ship", "⛵"),
    ("flag", "⚑"),
    ("star", "★"),
    ("megaphone", "✺"),
    ("briefcase", "▣"),
    ("calendar", "▤"),
    ("box", "▢"),
    ("folder", "▥"),
    ("file", "▯"),
    ("book", "▧"),
    ("home", "⌂"),
    ("truck", "⛟"),
    ("tag", "⌗"),
    ("wrench", "⚒"),
    ("key", "⚿"),
    ("heart", "♥"),
    ("globe", "◍"),
    ("map-pin", "⌖"),
    ("money", "¤"),
    ("chart", "▲"),
    ("users", "☻"),
    ("bolt", "ϟ"),
    ("circle", "●"),
    // The built-in objects' icons (their glyphs in the navigation too).
    ("handshake", "◆"),
    ("check-square", "✓"),
    ("sparkles", "✦"),
    ("user", "☺"),
    ("building", "▦"),
];

/// The glyph an object shows: its icon's, or the first letter of its plural name.
pub fn glyph(icon: Option<&str>, plural: &str) -> String {
    icon.and_then(|i| ICONS.iter().find(|(n, _)| *n == i))
        .map(|(_, g)| (*g).to_owned())
        .unwrap_or_else(|| plural.chars().next().unwrap_or('•').to_string())
}

pub async fn shell(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    tenant: &Tenant,
    current: &str,
    crumbs: &[&str],
) -> Shell {
    let base = ctx.base.clone();
    let may = |action, object| tenant.may(action, object, Ownership::NotApplicable);
    let mut nav = vec![NavItem {
        label: "Home".into(),
        href: format!("{base}/"),
        icon: "⌂".into(),
        current: current == "home",
        section: false,
    }];
    for (label, page, icon, object) in [
        ("Deals", "deals", "◆", Object::Deal),
        ("Tasks", "tasks", "✓", Object::Task),
        ("Leads", "leads", "✦", Object::Lead),
        ("Contacts", "contacts", "☺", Object::Contact),
        ("Companies", "companies", "▦", Object::Company),
        ("Recently deleted", "trash", "↺", Object::Contact),
    ] {
        if may(Action::View, object) {
            nav.push(NavItem {
                label: label.into(),
                href: format!("{base}/{page}"),
                icon: icon.into(),
                current: current == page,
                section: false,
            });
        }
    }
    // Custom objects, each with its list, after the built-in kinds.
    let catalog = ctx
        .state
        .app
        .objects(&session.actor, tenant, &ctx.meta)
        .await
        .unwrap_or_default();
    // Each one the role may see, by its own row of the matrix.
    let custom: Vec<&rapport_app::objects::ObjectView> = catalog
        .objects
        .iter()
        .filter(|o| {
            !o.def.builtin
                && tenant.may_kind(
                    Action::View.into(),
                    o.def.key.as_str(),
                    Ownership::NotApplicable,
                )
        })
        .collect();
    if !custom.is_empty() {
        let at = nav
            .iter()
            .position(|n| n.href.ends_with("/trash"))
            .unwrap_or(nav.len());
        for (i, o) in custom.iter().enumerate() {
            let page = format!("objects/{}", o.def.key);
            nav.insert(
                at + i,
                NavItem {
                    label: o.def.plural.clone(),
                    href: format!("{base}/{page}"),
                    icon: glyph(o.def.icon.as_deref(), &o.def.plural),
                    current: current == page,
                    section: false,
                },
            );
        }
    }
    // Every file attached to the records the member sees, before "Recently deleted".
    if may(Action::View, Object::Contact) {
        let at = nav
            .iter()
            .position(|n| n.href.ends_with("/trash"))
            .unwrap_or(nav.len());
        nav.insert(
            at,
            NavItem {
                label: "Files".into(),
                href: format!("{base}/files"),
                icon: "▤".into(),
                current: current == "files",
                section: false,
            },
        );
    }
    if may(Action::Create, Object::Member) {
        nav.push(NavItem {
            label: "Administration".into(),
            href: String::new(),
            icon: "".into(),
            current: false,
            section: true,
        });
        nav.push(NavItem {
            label: "Settings".into(),
            href: format!("{base}/settings/general"),
            icon: "⚙".into(),
            current: current == "settings",
            section: false,
        });
        nav.push(NavItem {
            label: "Members".into(),
            href: format!("{base}/settings/members"),
            icon: "◎".into(),
            current: current == "members",
            section: false,
        });
    }
    let organizations = ctx
        .my_organizations(session)
        .await
        .into_iter()
        .map(|o| OrgItem {
            initials: initials(&o.name),
            name: o.name,
            slug: o.slug,
            role: o.role.as_str().to_owned(),
        })
        .collect();
    let unread = ctx
        .state
        .app
        .unread_notifications(&session.actor, tenant)
        .await
        .unwrap_or(0);
    let org = &tenant.organization;
    Shell {
        unread,
        logo_url: org
            .has_logo
            .then(|| format!("/api/v1/organizations/{}/logo", org.id)),
        org_initials: initials(&org.name),
        org_name: org.name.clone(),
        user_name: session.actor.name.clone(),
        user_email: session.actor.email.clone(),
        user_id: session.actor.user_id.to_string(),
        user_initials: initials(&session.actor.name),
        role: tenant.access.key.clone(),
        csrf: crate::csrf::masked(&session.session.csrf_token),
        nav,
        breadcrumbs: crumbs.iter().map(|c| (*c).to_owned()).collect(),
        organizations,
        instance_admin: session.actor.is_instance_admin,
        palette: palette(&base, tenant, session.actor.is_instance_admin),
        // Administration pages read with the person's own role; the banner stays there too.
        support: tenant.support.is_some(),
        preview: tenant
            .preview
            .clone()
            .or_else(|| ctx.preview_key(tenant.id())),
        base,
    }
}

fn palette(base: &str, tenant: &Tenant, instance_admin: bool) -> Vec<PaletteItem> {
    let mut items = vec![
        PaletteItem {
            label: "Your profile".into(),
            href: format!("{base}/profile"),
        },
        PaletteItem {
            label: "Notifications".into(),
            href: format!("{base}/notifications"),
        },
        PaletteItem {
            label: "Notification settings".into(),
            href: format!("{base}/notifications/settings"),
        },
    ];
    // Actions: what the member may add, in a word.
    for (label, path, object) in [
        ("Create a deal", "deals/new", Object::Deal),
        ("Add a contact", "contacts/new", Object::Contact),
        ("Add a company", "companies/new", Object::Company),
        ("Add a lead", "leads/new", Object::Lead),
        ("Add a task", "tasks", Object::Task),
    ] {
        if tenant.may(Action::Create, object, Ownership::NotApplicable) {
            items.push(PaletteItem {
                label: label.into(),
                href: format!("{base}/{path}"),
            });
        }
    }
    if tenant.role.administers() {
        for (label, page) in [
            ("Settings: general", "general"),
            ("Settings: branding", "branding"),
            ("Settings: domains", "domains"),
            ("Settings: AI", "ai"),
            ("Settings: objects and fields", "objects"),
            ("Settings: pipelines", "pipelines"),
            ("Settings: webhooks", "webhooks"),
            ("Settings: API keys", "api-keys"),
            ("Audit log", "audit"),
            ("Members", "members"),
            ("Invite a teammate", "members"),
        ] {
            items.push(PaletteItem {
                label: label.into(),
                href: format!("{base}/settings/{page}"),
            });
        }
    }
    items.push(PaletteItem {
        label: "Create an organization".into(),
        href: "/organizations/new".into(),
    });
    items.push(PaletteItem {
        label: "API reference".into(),
        href: "/api/docs".into(),
    });
    if instance_admin {
        items.push(PaletteItem {
            label: "Platform administration".into(),
            href: "/admin".into(),
        });
        items.push(PaletteItem {
            label: "Design system".into(),
            href: "/_styleguide".into(),
        });
    }
    items
}

#[derive(Template)]
#[template(path = "pick_organization.html")]
struct PickPage {
    organizations: Vec<OrgItem>,
    email: String,
    csrf: String,
}

/// `/`: the organization's dashboard when the address names one; otherwise the user's only
/// organization, a choice between several, or the page to create a first one.
pub async fn home(ctx: PageContext) -> PageResult {
    let session = ctx.require_session()?;
    match ctx.organization() {
        Err(page) => return Err(page),
        Ok(Some(_)) => return super::dashboard::dashboard(&ctx).await,
        Ok(None) => {}
    }
    let orgs = ctx.state.app.my_organizations(&session.actor).await?;
    match orgs.as_slice() {
        // An instance administrator who is in no organization runs the platform.
        [] if session.actor.is_instance_admin => Ok(see_other("/admin")),
        [] => Ok(see_other("/organizations/new")),
        [only] => Ok(see_other(&format!("/o/{}/", only.slug))),
        _ => Ok(render(&PickPage {
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
            csrf: crate::csrf::masked(&session.session.csrf_token),
        })),
    }
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

pub async fn new_organization_form(ctx: PageContext) -> PageResult {
    let session = ctx.require_session()?;
    let first = ctx
        .state
        .app
        .my_organizations(&session.actor)
        .await
        .map(|o| o.is_empty())
        .unwrap_or(true);
    Ok(render(&NewOrganizationPage {
        first,
        name: String::new(),
        errors: FormErrors::default(),
        email: session.actor.email.clone(),
        csrf: crate::csrf::masked(&session.session.csrf_token),
    }))
}

#[derive(Deserialize)]
pub struct NewOrganizationForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    name: String,
}

pub async fn new_organization(
    ctx: PageContext,
    Form(form): Form<NewOrganizationForm>,
) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
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
        Ok(org) => Ok(see_other(&format!("/o/{}/", org.slug))),
        Err(AppError::Validation(errors)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewOrganizationPage {
                first: false,
                name: form.name,
                errors: FormErrors(errors.0),
                email: session.actor.email.clone(),
                csrf: crate::csrf::masked(&session.session.csrf_token),
            },
        )),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------

pub struct MemberRow {
    pub id: String,
    /// Whether the viewer may change this member's role or remove them.
    pub editable: bool,
    pub name: String,
    pub email: String,
    pub role: String,
    /// What people read: the role's name.
    pub role_name: String,
    pub initials: String,
    /// "Last signed in 3 hours ago", or "Not signed in yet".
    pub last_sign_in: String,
    /// "Deactivated 2 days ago" for a deactivated member.
    pub deactivated: Option<String>,
}

pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    shell: Shell,
    tabs: Vec<super::settings::Tab>,
    row_error: Option<String>,
    members: Vec<MemberRow>,
    /// Deactivated members, apart: they keep their records and may be reactivated.
    deactivated: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    roles: Vec<super::settings::RoleOption>,
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
    done: Option<String>,
}

async fn members_page(
    ctx: &PageContext,
    email: String,
    role: String,
    errors: FormErrors,
    error: Option<String>,
    notice: Option<String>,
) -> Result<MembersPage, PageError> {
    let (session, tenant) = ctx.own_tenant().await?;
    if !tenant.role.administers() {
        return Err(PageError::from(crate::error::ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you do not have permission to manage members; owners and admins do",
        )));
    }
    let app = &ctx.state.app;
    let members = app
        .list_members(&session.actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let invitations = app
        .list_invitations(&session.actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let roles = super::settings::grantable_roles(ctx, &session.actor, &tenant).await?;
    let viewer = tenant.role;
    let rows: Vec<MemberRow> = members
        .into_iter()
        .map(|m| MemberRow {
            id: m.id.to_string(),
            editable: m.user_id != session.actor.user_id
                && (m.role != Role::Owner || viewer == Role::Owner),
            initials: initials(&m.name),
            role: m.role_key().to_owned(),
            role_name: m
                .role_name
                .clone()
                .unwrap_or_else(|| super::capitalized(m.role.as_str())),
            last_sign_in: match m.last_sign_in_at {
                Some(at) => format!("Last signed in {}", super::records::when(at)),
                None => "Not signed in yet".to_owned(),
            },
            deactivated: m
                .deactivated_at
                .map(|at| format!("Deactivated {}", super::records::when(at))),
            name: m.name,
            email: m.email,
        })
        .collect();
    let (members, deactivated): (Vec<MemberRow>, Vec<MemberRow>) =
        rows.into_iter().partition(|m| m.deactivated.is_none());
    Ok(MembersPage {
        shell: shell(ctx, session, &tenant, "members", &["Settings", "Members"]).await,
        tabs: super::settings::tabs(&ctx.base, "members"),
        row_error: None,
        members,
        deactivated,
        invitations: invitations
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id.to_string(),
                role: i.role_key().to_owned(),
                email: i.email,
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

pub async fn members(ctx: PageContext, Query(q): Query<MembersQuery>) -> PageResult {
    let notice = match (q.notice, q.done.as_deref()) {
        (Some(email), _) => Some(format!(
            "{email} was invited. The invitation email is on its way."
        )),
        (None, Some("role")) => Some("Role changed.".to_owned()),
        (None, Some("removed")) => Some("Member removed.".to_owned()),
        (None, Some("deactivated")) => Some(
            "Member deactivated. Their records stay; they can no longer sign in here.".to_owned(),
        ),
        (None, Some("reactivated")) => {
            Some("Member reactivated, with the role they had.".to_owned())
        }
        (None, Some("resent")) => Some("Invitation sent again, with a new link.".to_owned()),
        (None, Some("revoked")) => Some("Invitation revoked.".to_owned()),
        (None, Some("added")) => Some("Member added.".to_owned()),
        _ => None,
    };
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
        Ok(page) => Ok(render(&page)),
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct InviteMemberForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    email: String,
    role: String,
}

pub async fn invite_member(ctx: PageContext, Form(form): Form<InviteMemberForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let role = form.role.clone();
    let result = ctx
        .state
        .app
        .add_member(&session.actor, &tenant, &form.email, &role, &ctx.meta)
        .await;
    let (errors, error) = match result {
        Ok(Added::Invited(invitation)) => {
            let email: String =
                url::form_urlencoded::byte_serialize(invitation.email.as_bytes()).collect();
            return Ok(see_other(&format!(
                "{}/settings/members?notice={email}",
                ctx.base
            )));
        }
        Ok(Added::Member(_)) => {
            return Ok(see_other(&format!(
                "{}/settings/members?done=added",
                ctx.base
            )));
        }
        Err(AppError::Validation(errors)) => (FormErrors(errors.0), None),
        Err(AppError::Conflict { message, .. }) => {
            (FormErrors::default(), Some(super::sentence(&message)))
        }
        Err(AppError::Forbidden) => (
            FormErrors::default(),
            Some("Your role cannot invite with this role.".into()),
        ),
        Err(other) => return Err(other.into()),
    };
    match members_page(&ctx, form.email, form.role, errors, error, None).await {
        Ok(page) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)),
        Err(page) => Err(page),
    }
}

/// `/brand.css`: the organization's primary colour as a design token, so branding needs no inline
/// style (which the content security policy forbids).
pub async fn brand_css(ctx: PageContext) -> PageResult {
    let color = match ctx.organization() {
        Ok(Some(org)) => org.primary_color.clone(),
        _ => None,
    };
    // Text on the brand and text in the brand's colour are worked out from it, so that any
    // brand reads at 4.5:1 in both themes.
    let brand = color.as_deref().and_then(rapport_domain::color::Rgb::parse);
    let body = match brand {
        Some(b) => {
            let c = rapport_domain::color::brand_colors(b);
            format!(
                ":root {{ --brand: {}; --brand-contrast: {}; --accent: {}; }}\n\
                 :root[data-theme=\"dark\"] {{ --accent: {}; }}\n",
                b.hex(),
                c.on_brand.hex(),
                c.accent_light.hex(),
                c.accent_dark.hex()
            )
        }
        None => String::from("/* default brand colour */\n"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// What a member action did, or why it could not, for the members page.
async fn member_action(
    ctx: PageContext,
    csrf: &str,
    action: impl AsyncFnOnce(
        &PageContext,
        &rapport_app::Actor,
        &Tenant,
    ) -> Result<&'static str, AppError>,
) -> PageResult {
    ctx.check_csrf(csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    // The page comes back with the reason next to the list, and the status says what kind of
    // refusal it was: an id of another organization (or none) is simply not found here.
    let (status, message) = match action(&ctx, &session.actor, &tenant).await {
        Ok(done) => {
            return Ok(see_other(&format!(
                "{}/settings/members?done={done}",
                ctx.base
            )));
        }
        Err(AppError::Conflict { message, .. }) => {
            (StatusCode::CONFLICT, super::sentence(&message))
        }
        Err(AppError::Forbidden) => (
            StatusCode::FORBIDDEN,
            "Your role does not allow this change. Only owners grant or change the owner role."
                .to_owned(),
        ),
        Err(AppError::NotFound) => (
            StatusCode::NOT_FOUND,
            "That member or invitation is not in this organization (it may have been removed)."
                .to_owned(),
        ),
        Err(AppError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()),
        Err(other) => return Err(other.into()),
    };
    match members_page(
        &ctx,
        String::new(),
        "member".into(),
        FormErrors::default(),
        None,
        None,
    )
    .await
    {
        Ok(mut page) => {
            page.row_error = Some(message);
            Ok(render_status(status, &page))
        }
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    role: String,
}

pub async fn change_role(
    ctx: PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<RoleForm>,
) -> PageResult {
    member_action(ctx, &form.csrf.clone(), async move |ctx, actor, tenant| {
        let id = id
            .parse::<rapport_domain::MembershipId>()
            .map_err(|_| AppError::NotFound)?;
        ctx.state
            .app
            .change_role(actor, tenant, id, &form.role, &ctx.meta)
            .await?;
        Ok("role")
    })
    .await
}

pub async fn remove_member(
    ctx: PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    member_action(ctx, &form.csrf, async move |ctx, actor, tenant| {
        let id = id
            .parse::<rapport_domain::MembershipId>()
            .map_err(|_| AppError::NotFound)?;
        ctx.state
            .app
            .remove_member(actor, tenant, id, &ctx.meta)
            .await?;
        Ok("removed")
    })
    .await
}

pub async fn deactivate_member(
    ctx: PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    member_action(ctx, &form.csrf, async move |ctx, actor, tenant| {
        let id = id
            .parse::<rapport_domain::MembershipId>()
            .map_err(|_| AppError::NotFound)?;
        ctx.state
            .app
            .deactivate_member(actor, tenant, id, &ctx.meta)
            .await?;
        Ok("deactivated")
    })
    .await
}

pub async fn reactivate_member(
    ctx: PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    member_action(ctx, &form.csrf, async move |ctx, actor, tenant| {
        let id = id
            .parse::<rapport_domain::MembershipId>()
            .map_err(|_| AppError::NotFound)?;
        ctx.state
            .app
            .reactivate_member(actor, tenant, id, &ctx.meta)
            .await?;
        Ok("reactivated")
    })
    .await
}

pub async fn resend_invitation(
    ctx: PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    member_action(ctx, &form.csrf, async move |ctx, actor, tenant| {
        let id = id
            .parse::<rapport_domain::InvitationId>()
            .map_err(|_| AppError::NotFound)?;
        ctx.state
            .app
            .resend_invitation(actor, tenant, id, &ctx.meta)
            .await?;
        Ok("resent")
    })
    .await
}

pub async fn revoke_invitation(
    ctx: PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    member_action(ctx, &form.csrf, async move |ctx, actor, tenant| {
        let id = id
            .parse::<rapport_domain::InvitationId>()
            .map_err(|_| AppError::NotFound)?;
        ctx.state
            .app
            .revoke_invitation(actor, tenant, id, &ctx.meta)
            .await?;
        Ok("revoked")
    })
    .await
}
