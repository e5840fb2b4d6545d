//! Contact pages: the list (search, sort, pages), adding, reading, changing and deleting.

use axum::extract::{Path, Query, RawQuery};
use axum::response::Response;
use rapport_app::Tenant;
use rapport_app::contacts::{ContactChange, ContactQuery};
use rapport_app::model::{Company, Contact, Deal};
use rapport_app::model::{ContactFilter, ContactSort};
use rapport_app::timeline::RecordRef;
use rapport_domain::{Action, CompanyId, ContactId, Object, Ownership, UserId, decide};
use serde::Deserialize;

use super::context::error_page;
use super::kinds::{FormKind, WebKind};
use super::lists::{
    Cell, ColumnDef, ListPage, ListState, column_choices, headers, is_filtered, owner_filter,
    saved_views, sort_parts, tag_chips, tag_filter, total_label,
};
use super::record_page::{
    FormField, RecordPage, Related, RelatedItem, tag_parts, task_box, timeline_of,
};
use super::records::{Choice, People, money};
use super::workspace::shell;
use super::{PageContext, render};
use crate::api::v1::types::{SortKind, decode_sort_cursor};
use crate::error::ApiError;
use crate::exports::Exporter;

const PAGE_SIZE: u64 = 50;

const COLUMNS: [ColumnDef; 8] = [
    ColumnDef {
        key: "name",
        label: "Name",
        sort: Some("name"),
        numeric: false,
        fixed: true,
    },
    ColumnDef {
        key: "email",
        label: "Email",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "phone",
        label: "Phone",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "title",
        label: "Job title",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "company",
        label: "Company",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "owner",
        label: "Owner",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "tags",
        label: "Tags",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "added",
        label: "Added",
        sort: Some("created"),
        numeric: false,
        fixed: false,
    },
];
const DEFAULT_COLUMNS: [&str; 5] = ["email", "phone", "company", "owner", "added"];

/// The contacts a list state asks for, one page (`after`: the cursor to continue from).
fn contact_query(state: &ListState, page_size: u64) -> ContactQuery {
    let (key, descending) = sort_parts(&state.sort);
    let sort = match key {
        "created" => ContactSort::CreatedAt,
        "updated" => ContactSort::UpdatedAt,
        _ => ContactSort::Name,
    };
    let kind = match sort {
        ContactSort::Name => SortKind::Text,
        _ => SortKind::Time,
    };
    ContactQuery {
        with_total: true,
        filter: ContactFilter {
            search: (!state.search.is_empty()).then(|| state.search.clone()),
            owner_id: state.filter("owner").and_then(|o| o.parse().ok()),
            company_id: state.filter("company").and_then(|o| o.parse().ok()),
            tag_id: state.filter("tag").and_then(|o| o.parse().ok()),
        },
        sort,
        descending,
        after: state
            .after
            .as_deref()
            .and_then(|c| decode_sort_cursor(c, kind).ok())
            .map(|(v, id)| (v, ContactId(id))),
        page: 1,
        page_size,
    }
}

pub async fn list(ctx: PageContext, RawQuery(raw): RawQuery) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let state = ListState::parse(raw.as_deref(), "name");
    let app = &ctx.state.app;
    let actor = &session.actor;
    let result = match app
        .list::<Contact>(actor, &tenant, contact_query(&state, PAGE_SIZE), &ctx.meta)
        .await
    {
        Ok(r) => r,
        Err(e) => return error_page(e.into()),
    };
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let tags = &result.tags;
    let company_ids: Vec<uuid::Uuid> = result.items.iter().filter_map(|c| c.company_id).collect();
    let companies = app
        .company_names(&tenant, &company_ids)
        .await
        .unwrap_or_default();
    let base = &ctx.base;
    let path = format!("{base}/contacts");
    let visible = state.visible(&COLUMNS, &DEFAULT_COLUMNS);
    let rows = result
        .items
        .iter()
        .map(|c| {
            visible
                .iter()
                .map(|col| match col.key {
                    "name" => Cell {
                        text: c.name.clone(),
                        href: Some(format!("{base}/contacts/{}", c.id)),
                        strong: true,
                        sub: if visible.iter().any(|v| v.key == "title") {
                            None
                        } else {
                            c.title.clone()
                        },
                        ..Cell::default()
                    },
                    "email" => Cell::text(c.email.clone().unwrap_or_default()),
                    "phone" => Cell::text(c.phone.clone().unwrap_or_default()),
                    "title" => Cell::text(c.title.clone().unwrap_or_default()),
                    "company" => match c.company_id {
                        Some(id) => Cell {
                            text: companies
                                .iter()
                                .find(|(cid, _)| *cid == id)
                                .map(|(_, n)| n.clone())
                                .unwrap_or_default(),
                            href: Some(format!("{base}/companies/{id}")),
                            ..Cell::default()
                        },
                        None => Cell::default(),
                    },
                    "owner" => Cell::text(people.name(c.owner_id)),
                    "tags" => Cell {
                        tags: tag_chips(tags, c.id.as_uuid()),
                        ..Cell::default()
                    },
                    _ => Cell::muted(c.created_at.format("%Y-%m-%d").to_string()),
                })
                .collect()
        })
        .collect();
    let may = |action| {
        decide(
            tenant.role,
            action,
            Object::Contact,
            Ownership::NotApplicable,
        )
        .is_allowed()
    };
    let page = ListPage {
        list: "contacts".into(),
        title: "Contacts".into(),
        total: total_label(result.total, result.total_is_exact, "contact", "contacts"),
        new: may(Action::Create).then(|| (format!("{base}/contacts/new"), "Add a contact".into())),
        search: state.search.clone(),
        search_placeholder: "Name, email or phone".into(),
        sort: state.sort.clone(),
        filters: vec![
            owner_filter(&people, &state),
            tag_filter(&ctx, actor, &tenant, &state).await,
        ],
        headers: headers(&state, &path, &visible),
        rows,
        first: state.first_href(&path),
        next: state.next_href(&path, result.next.as_ref()),
        views: saved_views(&ctx, actor, &tenant, "contacts", &path, &state).await,
        query: state.query(),
        columns: column_choices(&COLUMNS, &visible),
        export: may(Action::Export)
            .then(|| format!("{base}/contacts/export.csv?{}", state.query())),
        empty_title: if state.search.is_empty() {
            "No contacts yet".into()
        } else {
            format!("Nobody matches “{}”", state.search)
        },
        empty_text: "Add the people you work with; link them to their company as you go.".into(),
        filtered: is_filtered(&state),
        can_share: may(Action::Create),
        notice: state.notice.clone(),
        path: path.clone(),
        modes: Vec::new(),
        ranges: Vec::new(),
        shell: shell(&ctx, session, &tenant, "contacts", &["Contacts"]).await,
    };
    render(&page)
}

/// The contacts of a list state as CSV, every page, streamed.
pub async fn export(ctx: PageContext, RawQuery(raw): RawQuery) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let who = match Exporter::new(
        ctx.state.app.clone(),
        session.actor.clone(),
        tenant,
        ctx.meta.clone(),
        Object::Contact,
    )
    .await
    {
        Ok(who) => who,
        Err(e) => return super::context::error_page(e.into()),
    };
    let mut state = ListState::parse(raw.as_deref(), "name");
    state.after = None;
    crate::exports::contacts(who, contact_query(&state, 500))
}

#[derive(Deserialize, Default)]
pub struct ContactForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// Custom field values, read from the `custom.<key>` fields apart.
    #[serde(skip)]
    custom: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    owner_id: String,
}

impl ContactForm {
    fn of(c: &Contact) -> Self {
        ContactForm {
            csrf: String::new(),
            custom: c.custom.0.as_object().cloned(),
            name: c.name.clone(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            title: c.title.clone().unwrap_or_default(),
            company_id: c.company_id.map(|i| i.to_string()).unwrap_or_default(),
            owner_id: c.owner_id.to_string(),
        }
    }

    fn change(&self) -> ContactChange {
        let opt = |s: &str| Some((!s.trim().is_empty()).then(|| s.to_owned()));
        ContactChange {
            custom: self.custom.clone(),
            name: Some(self.name.clone()),
            email: opt(&self.email),
            phone: opt(&self.phone),
            title: opt(&self.title),
            company_id: Some(self.company_id.parse::<CompanyId>().ok()),
            owner_id: self.owner_id.parse::<UserId>().ok(),
        }
    }

    async fn fields(
        &self,
        ctx: &PageContext,
        actor: &rapport_app::Actor,
        tenant: &Tenant,
        people: &People,
    ) -> Vec<FormField> {
        let companies = ctx
            .state
            .app
            .company_choices(actor, tenant, self.company_id.parse().ok(), &ctx.meta)
            .await
            .unwrap_or_default();
        let mut company_options = vec![Choice {
            value: String::new(),
            label: "None".into(),
            selected: self.company_id.is_empty(),
        }];
        company_options.extend(companies.into_iter().map(|(id, name)| Choice {
            selected: id.to_string() == self.company_id,
            value: id.to_string(),
            label: name,
        }));
        vec![
            FormField::new("name", "Name", "text", &self.name),
            FormField::new("email", "Email", "email", &self.email),
            FormField::new("phone", "Phone", "tel", &self.phone),
            FormField::new("title", "Job title", "text", &self.title),
            FormField::select("company_id", "Company", company_options),
            FormField::select(
                "owner_id",
                "Owner",
                people.options(self.owner_id.parse().ok().or(Some(actor.user_id))),
            ),
        ]
    }
}

async fn new_page(
    ctx: &PageContext,
    tenant: &Tenant,
    session: &rapport_app::accounts::CurrentSession,
    form: &ContactForm,
) -> RecordPage {
    let people = People::load(&ctx.state.app, &session.actor, tenant, &ctx.meta).await;
    RecordPage::form(
        shell(ctx, session, tenant, "contacts", &["Contacts", "New"]).await,
        "Add a contact",
        format!("{}/contacts/new", ctx.base),
        "Add contact",
        format!("{}/contacts", ctx.base),
        {
            let mut fields = form.fields(ctx, &session.actor, tenant, &people).await;
            fields.extend(
                super::objects::builtin_custom_fields(
                    ctx,
                    &session.actor,
                    tenant,
                    "contact",
                    &serde_json::Value::Object(form.custom.clone().unwrap_or_default()),
                )
                .await,
            );
            fields
        },
    )
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    company: Option<String>,
}

pub async fn new_form(ctx: PageContext, Query(q): Query<NewQuery>) -> Response {
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
    let form = ContactForm {
        company_id: q.company.unwrap_or_default(),
        ..ContactForm::default()
    };
    render(&new_page(&ctx, &tenant, session, &form).await)
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
    converted: Option<String>,
    comment_error: Option<String>,
    notice: Option<String>,
}

async fn detail_page(
    ctx: &PageContext,
    id: &str,
    form: Option<&ContactForm>,
) -> Result<(RecordPage, rapport_app::Actor, Tenant), Response> {
    let (session, tenant) = ctx.tenant().await?;
    let id = id
        .parse::<ContactId>()
        .map_err(|_| error_page(ApiError::not_found()))?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let contact = app
        .get::<Contact>(actor, &tenant, id, &ctx.meta)
        .await
        .map_err(|e| error_page(e.into()))?;
    let own = actor.relation_to(contact.owner_id);
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let values = form.map_or_else(
        || ContactForm::of(&contact),
        |f| ContactForm { ..clone_form(f) },
    );
    let may =
        |action, object, ownership| decide(tenant.role, action, object, ownership).is_allowed();
    let can_edit = may(Action::Edit, Object::Contact, own);
    let deals = app
        .list::<Deal>(
            actor,
            &tenant,
            rapport_app::deals::DealQuery {
                with_total: true,
                filter: rapport_app::model::DealFilter {
                    contact_id: Some(id),
                    ..Default::default()
                },
                sort: rapport_app::model::DealSort::UpdatedAt,
                descending: true,
                after: None,
                page: 1,
                page_size: 20,
            },
            &ctx.meta,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let company = match contact.company_id {
        Some(c) => app
            .get::<Company>(actor, &tenant, CompanyId(c), &ctx.meta)
            .await
            .ok(),
        None => None,
    };
    let (tags, tag_options) = tag_parts(ctx, actor, &tenant, "contact", contact.id.as_uuid()).await;
    let mut page = RecordPage::form(
        shell(
            ctx,
            session,
            &tenant,
            "contacts",
            &["Contacts", &contact.name],
        )
        .await,
        &contact.name,
        format!("{base}/contacts/{}", contact.id),
        "Save changes",
        format!("{base}/contacts"),
        {
            let mut fields = values.fields(ctx, actor, &tenant, &people).await;
            fields.extend(
                super::objects::builtin_custom_fields(
                    ctx,
                    actor,
                    &tenant,
                    "contact",
                    &serde_json::Value::Object(values.custom.clone().unwrap_or_default()),
                )
                .await,
            );
            fields
        },
    );
    page.subtitle = match (&contact.title, &company) {
        (Some(t), Some(c)) => Some(format!("{t} · {}", c.name)),
        (Some(t), None) => Some(t.clone()),
        (None, Some(c)) => Some(c.name.clone()),
        (None, None) => None,
    };
    page.can_edit = can_edit;
    page.readonly_note =
        Some("You can read this contact; its owner, managers and admins can change it.".into());
    if may(Action::Delete, Object::Contact, own) {
        page.delete_action = Some(format!("{base}/contacts/{}/delete", contact.id));
        page.delete_confirm = format!(
            "Delete {}? You can restore it from recently deleted for 30 days.",
            contact.name
        );
    }
    page.tags = tags;
    if can_edit {
        page.tags_action = Some(format!("{base}/contacts/{}/tags", contact.id));
        page.tag_options = tag_options;
    }
    page.related = vec![Related {
        title: "Deals".into(),
        empty: "No deals with this contact yet.".into(),
        items: deals
            .iter()
            .map(|d| RelatedItem {
                href: format!("{base}/deals/{}", d.id),
                text: d.title.clone(),
                sub: format!(
                    "{} · {}",
                    money(d.amount_minor, &d.currency),
                    d.stage.replace('_', " ")
                ),
                badge: Some(d.status.as_str().to_owned()),
                badge_text: d.status.label().to_owned(),
            })
            .collect(),
        add: may(Action::Create, Object::Deal, Ownership::NotApplicable).then(|| {
            (
                format!("{base}/deals/new?contact={}", contact.id),
                "New deal".into(),
            )
        }),
    }];
    page.related.extend(
        super::objects::inverse_sections(
            ctx,
            actor,
            &tenant,
            "contact",
            contact.id.as_uuid(),
            "contact",
        )
        .await,
    );
    page.tasks = Some(
        task_box(
            ctx,
            actor,
            &tenant,
            &people,
            ("contact_id", contact.id.to_string()),
            format!("{base}/contacts/{}", contact.id),
        )
        .await,
    );
    page.timeline = Some(timeline_of(ctx, actor, &tenant, &people, RecordRef::Contact(id)).await);
    page.live_channel = Some(format!("record:contact:{id}"));
    if may(Action::Create, Object::Activity, Ownership::NotApplicable) {
        page.comment_action = Some(format!("{base}/contacts/{}/activities", contact.id));
    }
    Ok((page, actor.clone(), tenant))
}

fn clone_form(f: &ContactForm) -> ContactForm {
    ContactForm {
        csrf: String::new(),
        custom: f.custom.clone(),
        name: f.name.clone(),
        email: f.email.clone(),
        phone: f.phone.clone(),
        title: f.title.clone(),
        company_id: f.company_id.clone(),
        owner_id: f.owner_id.clone(),
    }
}

pub async fn detail(ctx: PageContext, Path(id): Path<String>, Query(q): Query<Saved>) -> Response {
    match detail_page(&ctx, &id, None).await {
        Ok((mut page, _, _)) => {
            page.notice = match (q.saved, q.notice.as_deref()) {
                _ if q.converted.is_some() => {
                    Some("Converted from a lead. Its history is on this timeline.".to_owned())
                }
                (_, Some("tag_name")) => Some("A tag name has 1 to 40 characters.".to_owned()),
                (Some(_), _) => Some("Saved.".to_owned()),
                _ => None,
            };
            page.comment_error = q.comment_error.map(|m| m.chars().take(200).collect());
            render(&page)
        }
        Err(p) => p,
    }
}

impl WebKind for Contact {
    const PATH: &'static str = "contacts";
    fn timeline(id: ContactId) -> RecordRef {
        RecordRef::Contact(id)
    }
}

impl FormKind for Contact {
    type Form = ContactForm;
    fn csrf(form: &ContactForm) -> &str {
        &form.csrf
    }
    fn set_custom(
        form: &mut ContactForm,
        custom: Option<serde_json::Map<String, serde_json::Value>>,
    ) {
        form.custom = custom;
    }
    fn change(
        form: &ContactForm,
    ) -> Result<
        <Contact as rapport_app::kinds::BuiltinKind>::Change,
        rapport_domain::ValidationErrors,
    > {
        Ok(form.change())
    }
    async fn new_page(
        ctx: &PageContext,
        tenant: &Tenant,
        session: &rapport_app::accounts::CurrentSession,
        form: &ContactForm,
    ) -> RecordPage {
        new_page(ctx, tenant, session, form).await
    }
    async fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&ContactForm>,
    ) -> Result<RecordPage, Response> {
        detail_page(ctx, id, form).await.map(|(page, _, _)| page)
    }
}
