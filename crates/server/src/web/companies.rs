//! Company pages: the list, adding, a company's page with its contacts, deals and timeline.

use axum::extract::{Path, Query, RawQuery};
use axum::response::Response;
use rapport_app::Tenant;
use rapport_app::companies::{CompanyChange, CompanyQuery, SIZES};
use rapport_app::model::{Company, Contact, Deal};
use rapport_app::model::{CompanyFilter, CompanySort};
use rapport_app::timeline::RecordRef;
use rapport_domain::{Action, CompanyId, Object, Ownership, UserId, decide};
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

const COLUMNS: [ColumnDef; 7] = [
    ColumnDef {
        key: "name",
        label: "Name",
        sort: Some("name"),
        numeric: false,
        fixed: true,
    },
    ColumnDef {
        key: "domain",
        label: "Domain",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "industry",
        label: "Industry",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "size",
        label: "Size",
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
const DEFAULT_COLUMNS: [&str; 5] = ["domain", "industry", "owner", "tags", "added"];

fn company_query(state: &ListState, page_size: u64) -> CompanyQuery {
    let (key, descending) = sort_parts(&state.sort);
    let sort = match key {
        "created" => CompanySort::CreatedAt,
        "updated" => CompanySort::UpdatedAt,
        _ => CompanySort::Name,
    };
    let kind = if sort == CompanySort::Name {
        SortKind::Text
    } else {
        SortKind::Time
    };
    CompanyQuery {
        with_total: true,
        filter: CompanyFilter {
            search: (!state.search.is_empty()).then(|| state.search.clone()),
            owner_id: state.filter("owner").and_then(|o| o.parse().ok()),
            industry: state.filter("industry").map(str::to_owned),
            tag_id: state.filter("tag").and_then(|o| o.parse().ok()),
        },
        sort,
        descending,
        after: state
            .after
            .as_deref()
            .and_then(|c| decode_sort_cursor(c, kind).ok())
            .map(|(v, id)| (v, CompanyId(id))),
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
        .list::<Company>(actor, &tenant, company_query(&state, 50), &ctx.meta)
        .await
    {
        Ok(r) => r,
        Err(e) => return error_page(e.into()),
    };
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let tags = &result.tags;
    let base = &ctx.base;
    let path = format!("{base}/companies");
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
                        href: Some(format!("{base}/companies/{}", c.id)),
                        strong: true,
                        ..Cell::default()
                    },
                    "domain" => Cell::text(c.domain.clone().unwrap_or_default()),
                    "industry" => Cell::text(c.industry.clone().unwrap_or_default()),
                    "size" => Cell::text(c.size.clone().unwrap_or_default()),
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
            Object::Company,
            Ownership::NotApplicable,
        )
        .is_allowed()
    };
    let page = ListPage {
        list: "companies".into(),
        title: "Companies".into(),
        total: total_label(result.total, result.total_is_exact, "company", "companies"),
        new: may(Action::Create).then(|| (format!("{base}/companies/new"), "Add a company".into())),
        search: state.search.clone(),
        search_placeholder: "Name or domain".into(),
        sort: state.sort.clone(),
        filters: vec![
            owner_filter(&people, &state),
            tag_filter(&ctx, actor, &tenant, &state).await,
        ],
        headers: headers(&state, &path, &visible),
        rows,
        first: state.first_href(&path),
        next: state.next_href(&path, result.next.as_ref()),
        views: saved_views(&ctx, actor, &tenant, "companies", &path, &state).await,
        query: state.query(),
        columns: column_choices(&COLUMNS, &visible),
        export: may(Action::Export)
            .then(|| format!("{base}/companies/export.csv?{}", state.query())),
        empty_title: if state.search.is_empty() {
            "No companies yet".into()
        } else {
            format!("No company matches “{}”", state.search)
        },
        empty_text:
            "Add the organizations you sell to; their contacts and deals gather on their page."
                .into(),
        filtered: is_filtered(&state),
        can_share: may(Action::Create),
        notice: state.notice.clone(),
        path: path.clone(),
        modes: Vec::new(),
        ranges: Vec::new(),
        shell: shell(&ctx, session, &tenant, "companies", &["Companies"]).await,
    };
    render(&page)
}

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
        Object::Company,
    )
    .await
    {
        Ok(who) => who,
        Err(e) => return super::context::error_page(e.into()),
    };
    let mut state = ListState::parse(raw.as_deref(), "name");
    state.after = None;
    crate::exports::companies(who, company_query(&state, 500))
}

#[derive(Deserialize, Default, Clone)]
pub struct CompanyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// Custom field values, read from the `custom.<key>` fields apart.
    #[serde(skip)]
    custom: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    owner_id: String,
}

impl CompanyForm {
    fn of(c: &Company) -> Self {
        CompanyForm {
            csrf: String::new(),
            custom: c.custom.0.as_object().cloned(),
            name: c.name.clone(),
            domain: c.domain.clone().unwrap_or_default(),
            industry: c.industry.clone().unwrap_or_default(),
            size: c.size.clone().unwrap_or_default(),
            address: c.address.clone().unwrap_or_default(),
            owner_id: c.owner_id.to_string(),
        }
    }

    fn change(&self) -> CompanyChange {
        let opt = |s: &str| Some((!s.trim().is_empty()).then(|| s.to_owned()));
        CompanyChange {
            custom: self.custom.clone(),
            name: Some(self.name.clone()),
            domain: opt(&self.domain),
            industry: opt(&self.industry),
            size: opt(&self.size),
            address: opt(&self.address),
            owner_id: self.owner_id.parse::<UserId>().ok(),
        }
    }

    fn fields(&self, people: &People, me: UserId) -> Vec<FormField> {
        let mut sizes = vec![Choice {
            value: String::new(),
            label: "Unknown".into(),
            selected: self.size.is_empty(),
        }];
        sizes.extend(SIZES.iter().map(|s| Choice {
            value: (*s).to_owned(),
            label: format!("{s} employees"),
            selected: self.size == *s,
        }));
        vec![
            FormField::new("name", "Name", "text", &self.name),
            FormField::new("domain", "Web domain", "text", &self.domain)
                .hint("Pasting the website's address is fine: https://www.example.com becomes example.com."),
            FormField::new("industry", "Industry", "text", &self.industry),
            FormField::select("size", "Size", sizes),
            FormField::new("address", "Address", "textarea", &self.address),
            FormField::select(
                "owner_id",
                "Owner",
                people.options(self.owner_id.parse().ok().or(Some(me))),
            ),
        ]
    }
}

async fn new_page(
    ctx: &PageContext,
    tenant: &Tenant,
    session: &rapport_app::accounts::CurrentSession,
    form: &CompanyForm,
) -> RecordPage {
    let people = People::load(&ctx.state.app, &session.actor, tenant, &ctx.meta).await;
    RecordPage::form(
        shell(ctx, session, tenant, "companies", &["Companies", "New"]).await,
        "Add a company",
        format!("{}/companies/new", ctx.base),
        "Add company",
        format!("{}/companies", ctx.base),
        {
            let mut fields = form.fields(&people, session.actor.user_id);
            fields.extend(
                super::objects::builtin_custom_fields(
                    ctx,
                    &session.actor,
                    tenant,
                    "company",
                    &serde_json::Value::Object(form.custom.clone().unwrap_or_default()),
                )
                .await,
            );
            fields
        },
    )
}

pub async fn new_form(ctx: PageContext) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    if !decide(
        tenant.role,
        Action::Create,
        Object::Company,
        Ownership::NotApplicable,
    )
    .is_allowed()
    {
        return error_page(ApiError::forbidden());
    }
    render(&new_page(&ctx, &tenant, session, &CompanyForm::default()).await)
}

#[derive(Deserialize)]
pub struct DetailQuery {
    saved: Option<String>,
    comment_error: Option<String>,
}

async fn detail_page(
    ctx: &PageContext,
    id: &str,
    form: Option<&CompanyForm>,
) -> Result<RecordPage, Response> {
    let (session, tenant) = ctx.tenant().await?;
    let id = id
        .parse::<CompanyId>()
        .map_err(|_| error_page(ApiError::not_found()))?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let company = app
        .get::<Company>(actor, &tenant, id, &ctx.meta)
        .await
        .map_err(|e| error_page(e.into()))?;
    let own = actor.relation_to(company.owner_id);
    let may =
        |action, object, ownership| decide(tenant.role, action, object, ownership).is_allowed();
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let values = form.cloned().unwrap_or_else(|| CompanyForm::of(&company));
    let contacts = app
        .list::<Contact>(
            actor,
            &tenant,
            rapport_app::contacts::ContactQuery {
                with_total: true,
                filter: rapport_app::model::ContactFilter {
                    company_id: Some(id),
                    ..Default::default()
                },
                sort: rapport_app::model::ContactSort::Name,
                descending: false,
                after: None,
                page: 1,
                page_size: 50,
            },
            &ctx.meta,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let deals = app
        .list::<Deal>(
            actor,
            &tenant,
            rapport_app::deals::DealQuery {
                with_total: true,
                filter: rapport_app::model::DealFilter {
                    company_id: Some(id),
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
    let (tags, tag_options) = tag_parts(ctx, actor, &tenant, "company", id.as_uuid()).await;
    let mut page = RecordPage::form(
        shell(
            ctx,
            session,
            &tenant,
            "companies",
            &["Companies", &company.name],
        )
        .await,
        &company.name,
        format!("{base}/companies/{id}"),
        "Save changes",
        format!("{base}/companies"),
        {
            let mut fields = values.fields(&people, actor.user_id);
            fields.extend(
                super::objects::builtin_custom_fields(
                    ctx,
                    actor,
                    &tenant,
                    "company",
                    &serde_json::Value::Object(values.custom.clone().unwrap_or_default()),
                )
                .await,
            );
            fields
        },
    );
    page.subtitle = match (&company.domain, &company.industry) {
        (Some(d), Some(i)) => Some(format!("{d} · {i}")),
        (Some(d), None) => Some(d.clone()),
        (None, Some(i)) => Some(i.clone()),
        (None, None) => None,
    };
    let can_edit = may(Action::Edit, Object::Company, own);
    page.can_edit = can_edit;
    page.readonly_note =
        Some("You can read this company; its owner, managers and admins can change it.".into());
    if may(Action::Delete, Object::Company, own) {
        page.delete_action = Some(format!("{base}/companies/{id}/delete"));
        page.delete_confirm = format!(
            "Delete {}? You can restore it from recently deleted for 30 days.",
            company.name
        );
    }
    page.tags = tags;
    if can_edit {
        page.tags_action = Some(format!("{base}/companies/{id}/tags"));
        page.tag_options = tag_options;
    }
    page.related = vec![
        Related {
            title: "People".into(),
            empty: "No contacts at this company yet.".into(),
            items: contacts
                .iter()
                .map(|c| RelatedItem {
                    href: format!("{base}/contacts/{}", c.id),
                    text: c.name.clone(),
                    sub: c.title.clone().or(c.email.clone()).unwrap_or_default(),
                    badge: None,
                    badge_text: String::new(),
                })
                .collect(),
            add: may(Action::Create, Object::Contact, Ownership::NotApplicable).then(|| {
                (
                    format!("{base}/contacts/new?company={id}"),
                    "Add a contact".into(),
                )
            }),
        },
        Related {
            title: "Deals".into(),
            empty: "No deals with this company yet.".into(),
            items: deals
                .iter()
                .map(|d| RelatedItem {
                    href: format!("{base}/deals/{}", d.id),
                    text: d.title.clone(),
                    sub: money(d.amount_minor, &d.currency),
                    badge: Some(d.status.as_str().to_owned()),
                    badge_text: d.status.label().to_owned(),
                })
                .collect(),
            add: may(Action::Create, Object::Deal, Ownership::NotApplicable)
                .then(|| (format!("{base}/deals/new?company={id}"), "New deal".into())),
        },
    ];
    page.related.extend(
        super::objects::inverse_sections(ctx, actor, &tenant, "company", id.as_uuid(), "company")
            .await,
    );
    page.tasks = Some(
        task_box(
            ctx,
            actor,
            &tenant,
            &people,
            ("company_id", id.to_string()),
            format!("{base}/companies/{id}"),
        )
        .await,
    );
    page.timeline = Some(timeline_of(ctx, actor, &tenant, &people, RecordRef::Company(id)).await);
    page.live_channel = Some(format!("record:company:{id}"));
    if may(Action::Create, Object::Activity, Ownership::NotApplicable) {
        page.comment_action = Some(format!("{base}/companies/{id}/activities"));
    }
    Ok(page)
}

pub async fn detail(
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    match detail_page(&ctx, &id, None).await {
        Ok(mut page) => {
            page.notice = q.saved.map(|_| "Saved.".to_owned());
            page.comment_error = q.comment_error.map(|m| m.chars().take(200).collect());
            render(&page)
        }
        Err(p) => p,
    }
}

impl WebKind for Company {
    const PATH: &'static str = "companies";
    fn timeline(id: CompanyId) -> RecordRef {
        RecordRef::Company(id)
    }
}

impl FormKind for Company {
    type Form = CompanyForm;
    fn csrf(form: &CompanyForm) -> &str {
        &form.csrf
    }
    fn set_custom(
        form: &mut CompanyForm,
        custom: Option<serde_json::Map<String, serde_json::Value>>,
    ) {
        form.custom = custom;
    }
    fn change(
        form: &CompanyForm,
    ) -> Result<
        <Company as rapport_app::kinds::BuiltinKind>::Change,
        rapport_domain::ValidationErrors,
    > {
        Ok(form.change())
    }
    async fn new_page(
        ctx: &PageContext,
        tenant: &Tenant,
        session: &rapport_app::accounts::CurrentSession,
        form: &CompanyForm,
    ) -> RecordPage {
        new_page(ctx, tenant, session, form).await
    }
    async fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&CompanyForm>,
    ) -> Result<RecordPage, Response> {
        detail_page(ctx, id, form).await
    }
}
