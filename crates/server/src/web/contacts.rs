//! Contact pages: the list (search, sort, pages), adding, reading, changing and deleting.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use rapport_app::contacts::{ContactChange, ContactQuery};
use rapport_app::{AppError, Tenant};
use rapport_domain::{Action, ContactId, Object, Ownership, decide};
use rapport_store::contacts::ContactSort;
use serde::Deserialize;

use super::context::error_page;
use super::workspace::{Shell, shell};
use super::{FormErrors, PageContext, render, render_status, see_other};
use crate::error::ApiError;

const PAGE_SIZE: u64 = 50;

pub struct Row {
    pub id: String,
    pub name: String,
    pub title: Option<String>,
    pub email: String,
    pub phone: String,
    pub owner: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    total: String,
    search: String,
    sort: String,
    name_sort: &'static str,
    created_sort: &'static str,
    name_link: String,
    created_link: String,
    prev: Option<String>,
    next: Option<String>,
    can_create: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    search: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
}

fn link(base: &str, search: &str, sort: &str, page: u64) -> String {
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        params.append_pair("search", search);
    }
    params.append_pair("sort", sort);
    if page > 1 {
        params.append_pair("page", &page.to_string());
    }
    format!("{base}/contacts?{}", params.finish())
}

pub async fn list(ctx: PageContext, Query(q): Query<ListQuery>) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let search = q.search.clone().unwrap_or_default().trim().to_owned();
    let sort_key = q.sort.clone().unwrap_or_else(|| "name".into());
    let (sort, descending) = match sort_key.as_str() {
        "-name" => (ContactSort::Name, true),
        "created" => (ContactSort::CreatedAt, false),
        "-created" => (ContactSort::CreatedAt, true),
        _ => (ContactSort::Name, false),
    };
    let page = q.page.unwrap_or(1).max(1);
    let app = &ctx.state.app;
    let result = app
        .list_contacts(
            &session.actor,
            &tenant,
            ContactQuery {
                search: (!search.is_empty()).then(|| search.clone()),
                owner_id: None,
                company_id: None,
                tag_id: None,
                sort,
                descending,
                after: None,
                page,
                page_size: PAGE_SIZE,
            },
            &ctx.meta,
        )
        .await;
    let result = match result {
        Ok(r) => r,
        Err(e) => return error_page(e.into()),
    };
    let members = app
        .list_members(&session.actor, &tenant, &ctx.meta)
        .await
        .unwrap_or_default();
    let owner_name = |id| {
        members
            .iter()
            .find(|m| m.user_id == id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "Former member".into())
    };
    let base = &ctx.base;
    let aria = |key: &str| match (sort_key.as_str(), key) {
        ("name" | "", "name") => "ascending",
        ("-name", "name") => "descending",
        ("created", "created") => "ascending",
        ("-created", "created") => "descending",
        _ => "none",
    };
    let total = match (result.total, result.total_is_exact) {
        (1, true) => "1 contact".to_owned(),
        (n, true) => format!("{n} contacts"),
        (n, false) => format!("More than {n} contacts"),
    };
    let page_view = ListPage {
        rows: result
            .items
            .into_iter()
            .map(|c| Row {
                id: c.id.to_string(),
                owner: owner_name(c.owner_id),
                name: c.name,
                title: c.title,
                email: c.email.unwrap_or_default(),
                phone: c.phone.unwrap_or_default(),
                added: c.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        total,
        name_sort: aria("name"),
        created_sort: aria("created"),
        name_link: link(
            base,
            &search,
            if sort_key == "name" { "-name" } else { "name" },
            1,
        ),
        created_link: link(
            base,
            &search,
            if sort_key == "-created" {
                "created"
            } else {
                "-created"
            },
            1,
        ),
        prev: (page > 1).then(|| link(base, &search, &sort_key, page - 1)),
        next: result
            .next
            .is_some()
            .then(|| link(base, &search, &sort_key, page + 1)),
        can_create: decide(
            tenant.role,
            Action::Create,
            Object::Contact,
            Ownership::NotApplicable,
        )
        .is_allowed(),
        shell: shell(&ctx, session, &tenant, "contacts", &["Contacts"]).await,
        search,
        sort: sort_key,
    };
    render(&page_view)
}

#[derive(Template)]
#[template(path = "contact_form.html")]
struct FormPage {
    shell: Shell,
    heading: String,
    subtitle: Option<String>,
    action: String,
    submit: &'static str,
    id: String,
    name: String,
    email: String,
    phone: String,
    title: String,
    errors: FormErrors,
    notice: Option<String>,
    can_edit: bool,
    can_delete: bool,
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    title: String,
}

impl ContactForm {
    fn change(&self) -> ContactChange {
        let opt = |s: &str| Some((!s.trim().is_empty()).then(|| s.to_owned()));
        ContactChange {
            name: Some(self.name.clone()),
            email: opt(&self.email),
            phone: opt(&self.phone),
            title: opt(&self.title),
            company_id: None,
            owner_id: None,
        }
    }
}

async fn new_page(
    ctx: &PageContext,
    tenant: &Tenant,
    session: &rapport_app::accounts::CurrentSession,
) -> FormPage {
    FormPage {
        shell: shell(ctx, session, tenant, "contacts", &["Contacts", "New"]).await,
        heading: "Add a contact".into(),
        subtitle: None,
        action: format!("{}/contacts/new", ctx.base),
        submit: "Add contact",
        id: String::new(),
        name: String::new(),
        email: String::new(),
        phone: String::new(),
        title: String::new(),
        errors: FormErrors::default(),
        notice: None,
        can_edit: true,
        can_delete: false,
    }
}

pub async fn new_form(ctx: PageContext) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    if !decide(
        tenant.role,
        Action::Create,
        Object::Contact,
        Ownership::NotApplicable,
    )
    .is_allowed()
    {
        return error_page(ApiError::forbidden());
    }
    render(&new_page(&ctx, &tenant, session).await)
}

pub async fn create(ctx: PageContext, Form(form): Form<ContactForm>) -> Response {
    if let Err(p) = ctx.check_csrf(&form.csrf) {
        return p;
    }
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    match ctx
        .state
        .app
        .create_contact(&session.actor, &tenant, form.change(), &ctx.meta)
        .await
    {
        Ok(c) => see_other(&format!("{}/contacts/{}?saved=1", ctx.base, c.id)),
        Err(AppError::Validation(errors)) => {
            let mut page = new_page(&ctx, &tenant, session).await;
            page.name = form.name;
            page.email = form.email;
            page.phone = form.phone;
            page.title = form.title;
            page.errors = FormErrors(errors.0);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => error_page(other.into()),
    }
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

async fn detail_page(
    ctx: &PageContext,
    id: &str,
) -> Result<(FormPage, rapport_app::Actor, Tenant), Response> {
    let (session, tenant) = ctx.tenant().await?;
    let id = id
        .parse::<ContactId>()
        .map_err(|_| error_page(ApiError::not_found()))?;
    let contact = ctx
        .state
        .app
        .contact(&session.actor, &tenant, id, &ctx.meta)
        .await
        .map_err(|e| error_page(e.into()))?;
    let own = if contact.owner_id == session.actor.user_id {
        Ownership::Own
    } else {
        Ownership::Others
    };
    let page = FormPage {
        shell: shell(
            ctx,
            session,
            &tenant,
            "contacts",
            &["Contacts", &contact.name],
        )
        .await,
        heading: contact.name.clone(),
        subtitle: contact.title.clone(),
        action: format!("{}/contacts/{}", ctx.base, contact.id),
        submit: "Save changes",
        id: contact.id.to_string(),
        name: contact.name,
        email: contact.email.unwrap_or_default(),
        phone: contact.phone.unwrap_or_default(),
        title: contact.title.unwrap_or_default(),
        errors: FormErrors::default(),
        notice: None,
        can_edit: decide(tenant.role, Action::Edit, Object::Contact, own).is_allowed(),
        can_delete: decide(tenant.role, Action::Delete, Object::Contact, own).is_allowed(),
    };
    Ok((page, session.actor.clone(), tenant))
}

pub async fn detail(ctx: PageContext, Path(id): Path<String>, Query(q): Query<Saved>) -> Response {
    match detail_page(&ctx, &id).await {
        Ok((mut page, _, _)) => {
            page.notice = q.saved.map(|_| "Saved.".to_owned());
            render(&page)
        }
        Err(p) => p,
    }
}

pub async fn update(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> Response {
    if let Err(p) = ctx.check_csrf(&form.csrf) {
        return p;
    }
    let (mut page, actor, tenant) = match detail_page(&ctx, &id).await {
        Ok(v) => v,
        Err(p) => return p,
    };
    let Ok(contact_id) = id.parse::<ContactId>() else {
        return error_page(ApiError::not_found());
    };
    match ctx
        .state
        .app
        .update_contact(&actor, &tenant, contact_id, form.change(), &ctx.meta)
        .await
    {
        Ok(c) => see_other(&format!("{}/contacts/{}?saved=1", ctx.base, c.id)),
        Err(AppError::Validation(errors)) => {
            page.name = form.name;
            page.email = form.email;
            page.phone = form.phone;
            page.title = form.title;
            page.errors = FormErrors(errors.0);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => error_page(other.into()),
    }
}

pub async fn delete(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if let Err(p) = ctx.check_csrf(&form.csrf) {
        return p;
    }
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let Ok(contact_id) = id.parse::<ContactId>() else {
        return error_page(ApiError::not_found());
    };
    match ctx
        .state
        .app
        .delete_contact(&session.actor, &tenant, contact_id, &ctx.meta)
        .await
    {
        Ok(()) => see_other(&format!("{}/contacts", ctx.base)),
        Err(e) => error_page(e.into()),
    }
}
