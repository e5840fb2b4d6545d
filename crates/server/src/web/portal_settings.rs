//! Settings → Client portal: whether the portal is open and what it shows, the organization's
//! clients (invited, changed, sent a new link, deactivated, removed), and sharing a deal or
//! record with one client from its page.

use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use rapport_app::portal::{Client, ClientInput, PortalSettings, shown_to_clients, status};
use rapport_app::{Actor, AppError, Tenant};
use serde::Deserialize;

use super::record_page::FormField;
use super::records::{Choice, when};
use super::settings::{Tab, admin, tabs};
use super::workspace::Shell;
use super::{
    FormErrors, PageContext, PageError, PageResult, form_pairs, form_value, redirect_target,
    render, render_status, see_other,
};

/// A custom object the portal may show, with its fields.
pub struct ObjectChoice {
    pub key: String,
    pub plural: String,
    pub on: bool,
    /// Whether it has a relation to companies or contacts (without one, only shared records
    /// of it reach clients).
    pub linkable: bool,
    pub fields: Vec<FieldChoice>,
}

pub struct FieldChoice {
    pub key: String,
    pub label: String,
    pub on: bool,
}

/// A client in the list.
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Their company and contact, as one line.
    pub speaks_for: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub last_sign_in: String,
}

fn client_row(c: &Client) -> ClientRow {
    let st = status(c);
    ClientRow {
        id: c.id.to_string(),
        name: c.name.clone(),
        email: c.email.clone(),
        speaks_for: [c.company_name.clone(), c.contact_name.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        status: st,
        status_label: match st {
            "deactivated" => "Deactivated",
            "invited" => "Invited",
            _ => "Active",
        },
        last_sign_in: c.last_sign_in_at.map(when).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "settings_portal.html")]
struct PortalPage {
    shell: Shell,
    tabs: Vec<Tab>,
    address: String,
    settings: PortalSettings,
    objects: Vec<ObjectChoice>,
    clients: Vec<ClientRow>,
    name: String,
    email: String,
    /// The company and contact menus.
    pickers: Vec<FormField>,
    errors: FormErrors,
    invite_errors: FormErrors,
    notice: Option<String>,
}

/// A relation menu of companies or contacts: the first 50, the chosen one, and a type-ahead.
async fn record_picker(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    target: &str,
    label: &str,
    chosen: Option<(uuid::Uuid, String)>,
) -> Result<FormField, PageError> {
    let found = ctx
        .state
        .app
        .relation_choices(actor, tenant, target, "", 50, &ctx.meta)
        .await
        .unwrap_or_default();
    let none = if target == "company" {
        "No company"
    } else {
        "No contact"
    };
    let mut options = vec![Choice {
        value: String::new(),
        label: none.to_owned(),
        selected: chosen.is_none(),
    }];
    if let Some((id, title)) = &chosen
        && !found.iter().any(|(f, _)| f == id)
    {
        options.push(Choice {
            value: id.to_string(),
            label: title.clone(),
            selected: true,
        });
    }
    options.extend(found.into_iter().map(|(id, title)| Choice {
        selected: chosen.as_ref().is_some_and(|(c, _)| *c == id),
        value: id.to_string(),
        label: title,
    }));
    let mut field = FormField::select(format!("{target}_id"), label, options);
    field.finder = Some(format!("{}/objects/{target}/choices", ctx.base));
    Ok(field)
}

fn notice_of(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "saved" => "Portal settings saved.",
            "invited" => "Invitation sent. The client chooses a password from the link in it.",
            "link" => "A new sign-in link is on its way to the client.",
            "deactivated" => "Client deactivated; they are signed out.",
            "reactivated" => "Client reactivated.",
            "removed" => "Client removed.",
            "client-saved" => "Client saved.",
            _ => return None,
        }
        .to_owned(),
    )
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

struct Shown {
    settings: Option<PortalSettings>,
    invite: ClientInput,
    errors: FormErrors,
    invite_errors: FormErrors,
    notice: Option<String>,
}

async fn portal_page(ctx: &PageContext, shown: Shown) -> Result<PortalPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Client portal").await?;
    let app = &ctx.state.app;
    let stored = app.portal_settings(&actor, &tenant, &ctx.meta).await?;
    let settings = shown.settings.unwrap_or(stored);
    let catalog = app.objects_to_define(&actor, &tenant, &ctx.meta).await?;
    let objects = catalog
        .objects
        .iter()
        .filter(|o| !o.def.builtin)
        .map(|o| {
            let chosen = settings.objects.get(o.def.key.as_str());
            ObjectChoice {
                key: o.def.key.as_str().to_owned(),
                plural: o.def.plural.clone(),
                on: chosen.is_some(),
                linkable: o.def.fields.iter().any(|f| {
                    !f.archived
                        && matches!(
                            f.target.as_ref().map(|t| t.as_str()),
                            Some("company" | "contact")
                        )
                }),
                fields: o
                    .def
                    .fields
                    .iter()
                    .filter(|f| {
                        !f.archived
                            && shown_to_clients(f.field_type)
                            && f.key != o.def.primary_field
                            && Some(&f.key) != o.def.board_field.as_ref()
                    })
                    .map(|f| FieldChoice {
                        key: f.key.as_str().to_owned(),
                        label: f.label.clone(),
                        on: chosen.is_some_and(|c| c.iter().any(|k| k == f.key.as_str())),
                    })
                    .collect(),
            }
        })
        .collect();
    let clients = app.clients(&actor, &tenant, &ctx.meta).await?;
    let company = record_picker(
        ctx,
        &actor,
        &tenant,
        "company",
        "Company",
        shown
            .invite
            .company_id
            .map(|id| (id, String::from("Chosen company"))),
    )
    .await?;
    let contact = record_picker(
        ctx,
        &actor,
        &tenant,
        "contact",
        "Contact",
        shown
            .invite
            .contact_id
            .map(|id| (id, String::from("Chosen contact"))),
    )
    .await?;
    Ok(PortalPage {
        address: app.portal_link(&tenant.organization, ""),
        shell,
        tabs: tabs(&ctx.base, "portal"),
        settings,
        objects,
        clients: clients.iter().map(client_row).collect(),
        name: shown.invite.name,
        email: shown.invite.email,
        pickers: vec![company, contact],
        errors: shown.errors,
        invite_errors: shown.invite_errors,
        notice: shown.notice,
    })
}

/// `GET /settings/portal`.
pub async fn page(ctx: PageContext, Query(q): Query<Done>) -> PageResult {
    let page = portal_page(
        &ctx,
        Shown {
            settings: None,
            invite: ClientInput::default(),
            errors: FormErrors::default(),
            invite_errors: FormErrors::default(),
            notice: notice_of(q.done.as_deref()),
        },
    )
    .await?;
    Ok(render(&page))
}

/// `POST /settings/portal`: what the portal shows.
pub async fn save(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Client portal").await?;
    let on = |name: &str| pairs.iter().any(|(k, _)| k == name);
    let mut objects = std::collections::BTreeMap::new();
    for (k, v) in &pairs {
        if k == "object" {
            let fields = pairs
                .iter()
                .filter(|(fk, _)| *fk == format!("field.{v}"))
                .map(|(_, f)| f.clone())
                .collect();
            objects.insert(v.clone(), fields);
        }
    }
    let input = PortalSettings {
        enabled: on("enabled"),
        welcome: form_value(&pairs, "welcome"),
        show_deals: on("show_deals"),
        show_amounts: on("show_amounts"),
        objects,
    };
    match ctx
        .state
        .app
        .save_portal_settings(&actor, &tenant, input.clone(), &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/portal?done=saved",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            let page = portal_page(
                &ctx,
                Shown {
                    settings: Some(input),
                    invite: ClientInput::default(),
                    errors: FormErrors(errors.0),
                    invite_errors: FormErrors::default(),
                    notice: None,
                },
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

fn client_input(pairs: &[(String, String)]) -> ClientInput {
    let id = |name: &str| form_value(pairs, name).trim().parse().ok();
    ClientInput {
        email: form_value(pairs, "email"),
        name: form_value(pairs, "name"),
        company_id: id("company_id"),
        contact_id: id("contact_id"),
    }
}

/// `POST /settings/portal/clients`: invites a client.
pub async fn invite(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Client portal").await?;
    let input = client_input(&pairs);
    match ctx
        .state
        .app
        .invite_client(&actor, &tenant, input.clone(), &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/portal?done=invited#clients",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            let page = portal_page(
                &ctx,
                Shown {
                    settings: None,
                    invite: input,
                    errors: FormErrors::default(),
                    invite_errors: FormErrors(errors.0),
                    notice: None,
                },
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// A record shared with a client, on their page.
pub struct ShareRow {
    pub title: String,
    pub href: Option<String>,
    pub kind: String,
    pub record: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "settings_portal_client.html")]
struct ClientPage {
    shell: Shell,
    tabs: Vec<Tab>,
    row: ClientRow,
    name: String,
    email: String,
    /// The company and contact menus.
    pickers: Vec<FormField>,
    shares: Vec<ShareRow>,
    errors: FormErrors,
    notice: Option<String>,
}

fn client_id(id: &str) -> Result<uuid::Uuid, PageError> {
    id.parse().map_err(|_| PageError::from(AppError::NotFound))
}

async fn client_page(
    ctx: &PageContext,
    id: uuid::Uuid,
    input: Option<ClientInput>,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<ClientPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Client portal").await?;
    let app = &ctx.state.app;
    let client = app.client(&actor, &tenant, id, &ctx.meta).await?;
    let shares = app.client_shares(&actor, &tenant, id, &ctx.meta).await?;
    let input = input.unwrap_or_else(|| ClientInput {
        email: client.email.clone(),
        name: client.name.clone(),
        company_id: client.company_id.map(|c| c.as_uuid()),
        contact_id: client.contact_id.map(|c| c.as_uuid()),
    });
    let named = |id: Option<uuid::Uuid>, current: Option<uuid::Uuid>, name: &Option<String>| {
        id.map(|id| {
            let title = if Some(id) == current {
                name.clone()
            } else {
                None
            };
            (id, title.unwrap_or_else(|| "Chosen".to_owned()))
        })
    };
    let company = record_picker(
        ctx,
        &actor,
        &tenant,
        "company",
        "Company",
        named(
            input.company_id,
            client.company_id.map(|c| c.as_uuid()),
            &client.company_name,
        ),
    )
    .await?;
    let contact = record_picker(
        ctx,
        &actor,
        &tenant,
        "contact",
        "Contact",
        named(
            input.contact_id,
            client.contact_id.map(|c| c.as_uuid()),
            &client.contact_name,
        ),
    )
    .await?;
    let base = &ctx.base;
    Ok(ClientPage {
        shell,
        tabs: tabs(base, "portal"),
        row: client_row(&client),
        name: input.name,
        email: input.email,
        pickers: vec![company, contact],
        shares: shares
            .into_iter()
            .map(|s| {
                let href = match (s.record_type.as_str(), &s.object_key, &s.title) {
                    (_, _, None) => None,
                    ("deal", _, _) => Some(format!("{base}/deals/{}", s.record_id)),
                    (_, Some(key), _) => Some(format!("{base}/objects/{key}/{}", s.record_id)),
                    _ => None,
                };
                ShareRow {
                    title: s.title.unwrap_or_else(|| "A deleted record".to_owned()),
                    href,
                    kind: s.record_type,
                    record: s.record_id.to_string(),
                    when: when(s.created_at),
                }
            })
            .collect(),
        errors,
        notice,
    })
}

/// `GET /settings/portal/clients/{id}`.
pub async fn client(ctx: PageContext, Path(id): Path<String>, Query(q): Query<Done>) -> PageResult {
    let id = client_id(&id)?;
    let page = client_page(
        &ctx,
        id,
        None,
        FormErrors::default(),
        notice_of(q.done.as_deref()),
    )
    .await?;
    Ok(render(&page))
}

/// `POST /settings/portal/clients/{id}`: changes a client.
pub async fn save_client(
    ctx: PageContext,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let id = client_id(&id)?;
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Client portal").await?;
    let input = client_input(&pairs);
    match ctx
        .state
        .app
        .update_client(&actor, &tenant, id, input.clone(), &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/portal/clients/{id}?done=client-saved",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            let page = client_page(&ctx, id, Some(input), FormErrors(errors.0), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// A client action from a list or a client's page, then back to the list.
async fn client_action(
    ctx: PageContext,
    id: String,
    raw: &[u8],
    done: &str,
    act: impl AsyncFnOnce(&PageContext, &Actor, &Tenant, uuid::Uuid) -> Result<(), AppError>,
) -> PageResult {
    let id = client_id(&id)?;
    let pairs = form_pairs(raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Client portal").await?;
    match act(&ctx, &actor, &tenant, id).await {
        Ok(()) => {}
        Err(AppError::Conflict { message, .. }) => {
            let page = client_page(
                &ctx,
                id,
                None,
                FormErrors::default(),
                Some(super::sentence(&message)),
            )
            .await?;
            return Ok(render_status(StatusCode::CONFLICT, &page));
        }
        Err(other) => return Err(other.into()),
    }
    let back = form_value(&pairs, "back");
    let to = if back.is_empty() || done == "removed" {
        format!("{}/settings/portal", ctx.base)
    } else {
        redirect_target(&back).unwrap_or_else(|| format!("{}/settings/portal", ctx.base))
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{to}{sep}done={done}#clients")))
}

/// `POST /settings/portal/clients/{id}/link`.
pub async fn send_link(
    ctx: PageContext,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    client_action(ctx, id, &raw, "link", async |ctx, actor, tenant, id| {
        ctx.state
            .app
            .send_client_sign_in_link(actor, tenant, id, &ctx.meta)
            .await
            .map(|_| ())
    })
    .await
}

/// `POST /settings/portal/clients/{id}/deactivate`.
pub async fn deactivate(
    ctx: PageContext,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    client_action(
        ctx,
        id,
        &raw,
        "deactivated",
        async |ctx, actor, tenant, id| {
            ctx.state
                .app
                .set_client_active(actor, tenant, id, false, &ctx.meta)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// `POST /settings/portal/clients/{id}/reactivate`.
pub async fn reactivate(
    ctx: PageContext,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    client_action(
        ctx,
        id,
        &raw,
        "reactivated",
        async |ctx, actor, tenant, id| {
            ctx.state
                .app
                .set_client_active(actor, tenant, id, true, &ctx.meta)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// `POST /settings/portal/clients/{id}/remove`.
pub async fn remove(ctx: PageContext, Path(id): Path<String>, RawForm(raw): RawForm) -> PageResult {
    client_action(ctx, id, &raw, "removed", async |ctx, actor, tenant, id| {
        ctx.state
            .app
            .remove_client(actor, tenant, id, &ctx.meta)
            .await
    })
    .await
}

/// `POST /clients/share`: shares a deal or record with a client (`action=share`) or stops
/// (`action=unshare`), from the record's page; back to it.
pub async fn share(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (session, tenant) = ctx.tenant().await?;
    let record = form_value(&pairs, "record");
    let Some((kind, id)) = record
        .split_once(':')
        .and_then(|(k, id)| Some((k.to_owned(), id.parse::<uuid::Uuid>().ok()?)))
    else {
        return Err(AppError::invalid("record", "must name a deal or a record").into());
    };
    let Ok(client) = form_value(&pairs, "client_id").parse::<uuid::Uuid>() else {
        let back = super::safe_next(&form_value(&pairs, "back"));
        let sep = if back.contains('?') { '&' } else { '?' };
        return Ok(see_other(&format!(
            "{back}{sep}notice=choose-client#clients"
        )));
    };
    let on = form_value(&pairs, "action") != "unshare";
    ctx.state
        .app
        .share_with_client(
            &session.actor,
            &tenant,
            rapport_app::portal::client::deal_or_record(&kind, id),
            client,
            on,
            &ctx.meta,
        )
        .await?;
    let back = super::safe_next(&form_value(&pairs, "back"));
    let sep = if back.contains('?') { '&' } else { '?' };
    let notice = if on { "shared" } else { "unshared" };
    Ok(see_other(&format!("{back}{sep}notice={notice}#clients")))
}

/// A client who sees a record, in its page's side panel.
pub struct RecordClientRow {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Shared one by one (then it can be unshared), rather than through their company or contact.
    pub shared: bool,
    pub active: bool,
}

/// The "Clients" box of a deal's or custom record's page: who sees it in the portal, and
/// sharing it with one more.
pub struct ClientsBox {
    /// `deal:{id}` or `record:{id}`.
    pub record: String,
    pub back: String,
    pub clients: Vec<RecordClientRow>,
    /// Clients it could be shared with.
    pub options: Vec<Choice>,
    pub can_share: bool,
    /// Where an administrator invites clients.
    pub settings: Option<String>,
}

/// The box for a record's page, when the organization's portal is open.
pub async fn clients_box(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    record: rapport_app::timeline::RecordRef,
    back: String,
    can_share: bool,
) -> Option<ClientsBox> {
    let app = &ctx.state.app;
    let settings = app.portal_settings(actor, tenant, &ctx.meta).await.ok()?;
    if !settings.enabled {
        return None;
    }
    let (seeing, others): (Vec<_>, Vec<_>) = app
        .record_clients(actor, tenant, record, &ctx.meta)
        .await
        .ok()?
        .into_iter()
        .partition(|c| c.sees);
    let options = others
        .iter()
        .map(|o| &o.client)
        .filter(|c| c.deactivated_at.is_none())
        .map(|c| Choice {
            value: c.id.to_string(),
            label: match &c.company_name {
                Some(company) => format!("{} ({company})", c.name),
                None => c.name.clone(),
            },
            selected: false,
        })
        .collect();
    Some(ClientsBox {
        record: format!("{}:{}", record.kind(), record.id()),
        back,
        clients: seeing
            .into_iter()
            .map(|s| RecordClientRow {
                id: s.client.id.to_string(),
                name: s.client.name,
                email: s.client.email,
                shared: s.shared,
                active: s.client.deactivated_at.is_none(),
            })
            .collect(),
        options,
        can_share,
        settings: tenant
            .role
            .administers()
            .then(|| format!("{}/settings/portal", ctx.base)),
    })
}
