//! Lead pages: the list, adding, a lead's page, and converting a qualified lead.

use axum::Form;
use axum::extract::{Path, Query, RawQuery};
use axum::response::Response;
use rapport_app::leads::{Conversion, ConversionDeal, LeadChange, LeadQuery};
use rapport_app::model::{Company, Contact, Deal, Lead};
use rapport_app::model::{LeadFilter, LeadSort};
use rapport_app::timeline::RecordRef;
use rapport_app::{AppError, Tenant};
use rapport_domain::deal::parse_amount_text;
use rapport_domain::lead::LeadStatus;
use rapport_domain::{Action, LeadId, Object, Ownership, UserId, decide};
use serde::Deserialize;

use super::context::error_page;
use super::kinds::{FormKind, WebKind};
use super::lists::{
    Cell, ColumnDef, FilterSelect, ListPage, ListState, column_choices, headers, is_filtered,
    owner_filter, saved_views, sort_parts, tag_chips, tag_filter, total_label,
};
use super::record_page::{
    ConvertBox, FormField, RecordPage, Related, RelatedItem, tag_parts, timeline_of,
};
use super::records::{Choice, People};
use super::workspace::shell;
use super::{PageContext, render, see_other, sentence};
use crate::api::v1::types::{SortKind, decode_sort_cursor};
use crate::error::ApiError;
use crate::exports::Exporter;

const COLUMNS: [ColumnDef; 9] = [
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
        key: "company",
        label: "Company",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "source",
        label: "Source",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "status",
        label: "Status",
        sort: None,
        numeric: false,
        fixed: false,
    },
    ColumnDef {
        key: "score",
        label: "Score",
        sort: Some("score"),
        numeric: true,
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
const DEFAULT_COLUMNS: [&str; 6] = ["company", "source", "status", "score", "owner", "added"];

fn lead_query(state: &ListState, page_size: u64) -> LeadQuery {
    let (key, descending) = sort_parts(&state.sort);
    let sort = match key {
        "name" => LeadSort::Name,
        "score" => LeadSort::Score,
        "updated" => LeadSort::UpdatedAt,
        _ => LeadSort::CreatedAt,
    };
    let kind = match sort {
        LeadSort::Name => SortKind::Text,
        LeadSort::Score => SortKind::Int,
        _ => SortKind::Time,
    };
    let status = state.filter("status");
    LeadQuery {
        with_total: true,
        filter: LeadFilter {
            search: (!state.search.is_empty()).then(|| state.search.clone()),
            statuses: status
                .filter(|s| LeadStatus::parse(s).is_ok())
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default(),
            owner_id: state.filter("owner").and_then(|o| o.parse().ok()),
            source: state.filter("source").map(str::to_owned),
            converted: match status {
                Some("converted") => Some(true),
                Some(_) => Some(false),
                None => None,
            },
            tag_id: state.filter("tag").and_then(|o| o.parse().ok()),
        },
        sort,
        descending,
        after: state
            .after
            .as_deref()
            .and_then(|c| decode_sort_cursor(c, kind).ok())
            .map(|(v, id)| (v, LeadId(id))),
        page: 1,
        page_size,
    }
}

fn status_cell(l: &Lead) -> Cell {
    let (class, text) = if l.converted_at.is_some() {
        ("converted".to_owned(), "Converted".to_owned())
    } else {
        let s = l.status;
        (s.as_str().to_owned(), s.label().to_owned())
    };
    Cell {
        text,
        badge: Some(class),
        ..Cell::default()
    }
}

pub async fn list(ctx: PageContext, RawQuery(raw): RawQuery) -> Response {
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let state = ListState::parse(raw.as_deref(), "-created");
    let app = &ctx.state.app;
    let actor = &session.actor;
    let result = match app
        .list::<Lead>(actor, &tenant, lead_query(&state, 50), &ctx.meta)
        .await
    {
        Ok(r) => r,
        Err(e) => return error_page(e.into()),
    };
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let tags = &result.tags;
    let base = &ctx.base;
    let path = format!("{base}/leads");
    let visible = state.visible(&COLUMNS, &DEFAULT_COLUMNS);
    let rows = result
        .items
        .iter()
        .map(|l| {
            visible
                .iter()
                .map(|col| match col.key {
                    "name" => Cell {
                        text: l.name.clone(),
                        href: Some(format!("{base}/leads/{}", l.id)),
                        strong: true,
                        sub: l
                            .email
                            .clone()
                            .filter(|_| !visible.iter().any(|v| v.key == "email")),
                        ..Cell::default()
                    },
                    "email" => Cell::text(l.email.clone().unwrap_or_default()),
                    "company" => Cell::text(l.company_name.clone().unwrap_or_default()),
                    "source" => Cell::text(l.source.clone().unwrap_or_default()),
                    "status" => status_cell(l),
                    "score" => Cell {
                        text: l.score.to_string(),
                        numeric: true,
                        ..Cell::default()
                    },
                    "owner" => Cell::text(people.name(l.owner_id)),
                    "tags" => Cell {
                        tags: tag_chips(tags, l.id.as_uuid()),
                        ..Cell::default()
                    },
                    _ => Cell::muted(l.created_at.format("%Y-%m-%d").to_string()),
                })
                .collect()
        })
        .collect();
    let may =
        |action| decide(tenant.role, action, Object::Lead, Ownership::NotApplicable).is_allowed();
    let mut statuses: Vec<Choice> = LeadStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_owned(),
            label: s.label().to_owned(),
            selected: state.filter("status") == Some(s.as_str()),
        })
        .collect();
    statuses.push(Choice {
        value: "converted".into(),
        label: "Converted".into(),
        selected: state.filter("status") == Some("converted"),
    });
    let page = ListPage {
        list: "leads".into(),
        title: "Leads".into(),
        total: total_label(result.total, result.total_is_exact, "lead", "leads"),
        new: may(Action::Create).then(|| (format!("{base}/leads/new"), "Add a lead".into())),
        search: state.search.clone(),
        search_placeholder: "Name, email or company".into(),
        sort: state.sort.clone(),
        filters: vec![
            FilterSelect {
                name: "status".into(),
                label: "Status".into(),
                options: statuses,
            },
            owner_filter(&people, &state),
            tag_filter(&ctx, actor, &tenant, &state).await,
        ],
        headers: headers(&state, &path, &visible),
        rows,
        first: state.first_href(&path),
        next: state.next_href(&path, result.next.as_ref()),
        views: saved_views(&ctx, actor, &tenant, "leads", &path, &state).await,
        query: state.query(),
        columns: column_choices(&COLUMNS, &visible),
        export: may(Action::Export).then(|| format!("{base}/leads/export.csv?{}", state.query())),
        empty_title: if state.search.is_empty() {
            "No leads here".into()
        } else {
            format!("No lead matches “{}”", state.search)
        },
        empty_text: "Leads are people who might buy: add them, work them, qualify them, then convert them into contacts and deals.".into(),
        filtered: is_filtered(&state),
        can_share: may(Action::Create),
        notice: state.notice.clone(),
        path: path.clone(),
        modes: Vec::new(),
        ranges: Vec::new(),
        shell: shell(&ctx, session, &tenant, "leads", &["Leads"]).await,
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
        Object::Lead,
    )
    .await
    {
        Ok(who) => who,
        Err(e) => return super::context::error_page(e.into()),
    };
    let mut state = ListState::parse(raw.as_deref(), "-created");
    state.after = None;
    crate::exports::leads(who, lead_query(&state, 500))
}

#[derive(Deserialize, Default, Clone)]
pub struct LeadForm {
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
    company_name: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    owner_id: String,
}

impl LeadForm {
    fn of(l: &Lead) -> Self {
        LeadForm {
            csrf: String::new(),
            custom: l.custom.0.as_object().cloned(),
            name: l.name.clone(),
            email: l.email.clone().unwrap_or_default(),
            phone: l.phone.clone().unwrap_or_default(),
            company_name: l.company_name.clone().unwrap_or_default(),
            source: l.source.clone().unwrap_or_default(),
            status: l.status.as_str().to_owned(),
            score: l.score.to_string(),
            owner_id: l.owner_id.to_string(),
        }
    }

    fn change(&self) -> Result<LeadChange, rapport_domain::ValidationErrors> {
        let opt = |s: &str| Some((!s.trim().is_empty()).then(|| s.to_owned()));
        let score = match self.score.trim() {
            "" => None,
            s => Some(s.parse::<i64>().map_err(|_| {
                rapport_domain::ValidationErrors::single(
                    "score",
                    "must be a whole number from 0 to 100",
                )
            })?),
        };
        Ok(LeadChange {
            custom: self.custom.clone(),
            name: Some(self.name.clone()),
            email: opt(&self.email),
            phone: opt(&self.phone),
            company_name: opt(&self.company_name),
            source: opt(&self.source),
            status: (!self.status.is_empty()).then(|| self.status.clone()),
            score,
            owner_id: self.owner_id.parse::<UserId>().ok(),
        })
    }

    fn fields(&self, people: &People, me: UserId) -> Vec<FormField> {
        let statuses = LeadStatus::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: s.label().to_owned(),
                selected: self.status == s.as_str()
                    || (self.status.is_empty() && *s == LeadStatus::New),
            })
            .collect();
        vec![
            FormField::new("name", "Name", "text", &self.name),
            FormField::new("email", "Email", "email", &self.email),
            FormField::new("phone", "Phone", "tel", &self.phone),
            FormField::new("company_name", "Company", "text", &self.company_name),
            FormField::new("source", "Source", "text", &self.source)
                .hint("Where they came from: website, referral, boat show…"),
            FormField::select("status", "Status", statuses),
            FormField::new("score", "Score (0–100)", "number", &self.score),
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
    form: &LeadForm,
) -> RecordPage {
    let people = People::load(&ctx.state.app, &session.actor, tenant, &ctx.meta).await;
    RecordPage::form(
        shell(ctx, session, tenant, "leads", &["Leads", "New"]).await,
        "Add a lead",
        format!("{}/leads/new", ctx.base),
        "Add lead",
        format!("{}/leads", ctx.base),
        {
            let mut fields = form.fields(&people, session.actor.user_id);
            fields.extend(
                super::objects::builtin_custom_fields(
                    ctx,
                    &session.actor,
                    tenant,
                    "lead",
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
        Object::Lead,
        Ownership::NotApplicable,
    )
    .is_allowed()
    {
        return error_page(ApiError::forbidden());
    }
    render(&new_page(&ctx, &tenant, session, &LeadForm::default()).await)
}

#[derive(Deserialize)]
pub struct DetailQuery {
    saved: Option<String>,
    converted: Option<String>,
    comment_error: Option<String>,
    convert_error: Option<String>,
}

async fn detail_page(
    ctx: &PageContext,
    id: &str,
    form: Option<&LeadForm>,
) -> Result<RecordPage, Response> {
    let (session, tenant) = ctx.tenant().await?;
    let id = id
        .parse::<LeadId>()
        .map_err(|_| error_page(ApiError::not_found()))?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let lead = app
        .get::<Lead>(actor, &tenant, id, &ctx.meta)
        .await
        .map_err(|e| error_page(e.into()))?;
    let own = actor.relation_to(lead.owner_id);
    let may =
        |action, object, ownership| decide(tenant.role, action, object, ownership).is_allowed();
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let values = form.cloned().unwrap_or_else(|| LeadForm::of(&lead));
    let (tags, tag_options) = tag_parts(ctx, actor, &tenant, "lead", id.as_uuid()).await;
    let converted = lead.converted_at.is_some();
    let can_edit = may(Action::Edit, Object::Lead, own) && !converted;
    let mut page = RecordPage::form(
        shell(ctx, session, &tenant, "leads", &["Leads", &lead.name]).await,
        &lead.name,
        format!("{base}/leads/{id}"),
        "Save changes",
        format!("{base}/leads"),
        {
            let mut fields = values.fields(&people, actor.user_id);
            fields.extend(
                super::objects::builtin_custom_fields(
                    ctx,
                    actor,
                    &tenant,
                    "lead",
                    &serde_json::Value::Object(values.custom.clone().unwrap_or_default()),
                )
                .await,
            );
            fields
        },
    );
    page.subtitle = lead.company_name.clone();
    let status = lead.status;
    page.badges = vec![if converted {
        ("converted".into(), "Converted".into())
    } else {
        (status.as_str().into(), status.label().into())
    }];
    page.can_edit = can_edit;
    page.readonly_note = Some(if converted {
        "This lead was converted and is kept as a record of where the contact came from; change the contact instead.".into()
    } else {
        "You can read this lead; its owner, managers and admins can change it.".into()
    });
    if may(Action::Delete, Object::Lead, own) {
        page.delete_action = Some(format!("{base}/leads/{id}/delete"));
        page.delete_confirm = format!(
            "Delete {}? You can restore it from recently deleted for 30 days.",
            lead.name
        );
    }
    page.tags = tags;
    if can_edit {
        page.tags_action = Some(format!("{base}/leads/{id}/tags"));
        page.tag_options = tag_options;
    }
    if converted {
        let mut items = Vec::new();
        if let Some(c) = lead.converted_contact_id {
            let name = app
                .get::<Contact>(actor, &tenant, rapport_domain::ContactId(c), &ctx.meta)
                .await
                .map(|c| c.name)
                .unwrap_or_else(|_| "Contact (deleted)".into());
            items.push(RelatedItem {
                href: format!("{base}/contacts/{c}"),
                text: name,
                sub: "Contact".into(),
                badge: None,
                badge_text: String::new(),
            });
        }
        if let Some(c) = lead.converted_company_id {
            let name = app
                .get::<Company>(actor, &tenant, rapport_domain::CompanyId(c), &ctx.meta)
                .await
                .map(|c| c.name)
                .unwrap_or_else(|_| "Company (deleted)".into());
            items.push(RelatedItem {
                href: format!("{base}/companies/{c}"),
                text: name,
                sub: "Company".into(),
                badge: None,
                badge_text: String::new(),
            });
        }
        if let Some(d) = lead.converted_deal_id {
            let title = app
                .get::<Deal>(actor, &tenant, rapport_domain::DealId(d), &ctx.meta)
                .await
                .map(|d| d.title)
                .unwrap_or_else(|_| "Deal (deleted)".into());
            items.push(RelatedItem {
                href: format!("{base}/deals/{d}"),
                text: title,
                sub: "Deal".into(),
                badge: None,
                badge_text: String::new(),
            });
        }
        page.related = vec![Related {
            title: "Became".into(),
            empty: "".into(),
            items,
            add: None,
        }];
    } else if status == LeadStatus::Qualified && may(Action::Edit, Object::Lead, own) {
        let domain = lead
            .email
            .as_deref()
            .and_then(|e| e.split_once('@'))
            .map(|(_, d)| d.to_owned());
        page.convert = Some(ConvertBox {
            action: format!("{base}/leads/{id}/convert"),
            company_hint: match (&domain, &lead.company_name) {
                (Some(d), Some(c)) => format!("the one at {d}, else a new company “{c}”"),
                (Some(d), None) => format!("the one at {d}, else a new one"),
                (None, Some(c)) => format!("a new company “{c}”"),
                (None, None) => "needs a company name or an email".into(),
            },
            deal_title: match &lead.company_name {
                Some(c) => format!("{c} — {}", lead.name),
                None => lead.name.clone(),
            },
            error: None,
        });
    }
    page.timeline = Some(timeline_of(ctx, actor, &tenant, &people, RecordRef::Lead(id)).await);
    page.live_channel = Some(format!("record:lead:{id}"));
    if !converted && may(Action::Create, Object::Activity, Ownership::NotApplicable) {
        page.comment_action = Some(format!("{base}/leads/{id}/activities"));
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
            page.notice = if q.converted.is_some() {
                Some("Converted. The lead's history is on the contact now.".to_owned())
            } else {
                q.saved.map(|_| "Saved.".to_owned())
            };
            page.comment_error = q.comment_error.map(|m| m.chars().take(200).collect());
            if let Some(c) = page.convert.as_mut() {
                c.error = q.convert_error.map(|m| m.chars().take(200).collect());
            }
            render(&page)
        }
        Err(p) => p,
    }
}

#[derive(Deserialize)]
pub struct ConvertForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    deal: String,
    #[serde(default)]
    deal_title: String,
    #[serde(default)]
    deal_amount: String,
}

pub async fn convert(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<ConvertForm>,
) -> Response {
    if let Err(p) = ctx.check_csrf(&form.csrf) {
        return p;
    }
    let Ok(lead_id) = id.parse::<LeadId>() else {
        return error_page(ApiError::not_found());
    };
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let back = format!("{}/leads/{lead_id}", ctx.base);
    let refuse = |message: &str| {
        see_other(&format!(
            "{back}?convert_error={}",
            url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
        ))
    };
    let amount = match parse_amount_text(&form.deal_amount) {
        Ok(minor) => minor as f64 / 100.0,
        Err(m) => return refuse(&sentence(&format!("the amount {m}"))),
    };
    let conversion = Conversion {
        with_company: form.company == "1",
        deal: (form.deal == "1").then(|| ConversionDeal {
            title: (!form.deal_title.trim().is_empty()).then(|| form.deal_title.clone()),
            amount: Some(amount),
            pipeline_id: None,
            stage: None,
        }),
    };
    match ctx
        .state
        .app
        .convert_lead(&session.actor, &tenant, lead_id, conversion, &ctx.meta)
        .await
    {
        Ok(done) => see_other(&format!(
            "{}/contacts/{}?converted=1",
            ctx.base, done.contact_id
        )),
        Err(AppError::Validation(errors)) => refuse(
            &errors
                .0
                .first()
                .map(|e| sentence(&format!("{} {}", e.field.replace('_', " "), e.message)))
                .unwrap_or_default(),
        ),
        Err(AppError::Conflict { message, .. }) => refuse(&sentence(&message)),
        Err(e) => error_page(e.into()),
    }
}

impl WebKind for Lead {
    const PATH: &'static str = "leads";
    fn timeline(id: LeadId) -> RecordRef {
        RecordRef::Lead(id)
    }
}

impl FormKind for Lead {
    type Form = LeadForm;
    fn csrf(form: &LeadForm) -> &str {
        &form.csrf
    }
    fn set_custom(form: &mut LeadForm, custom: Option<serde_json::Map<String, serde_json::Value>>) {
        form.custom = custom;
    }
    fn change(
        form: &LeadForm,
    ) -> Result<<Lead as rapport_app::kinds::BuiltinKind>::Change, rapport_domain::ValidationErrors>
    {
        form.change()
    }
    async fn new_page(
        ctx: &PageContext,
        tenant: &Tenant,
        session: &rapport_app::accounts::CurrentSession,
        form: &LeadForm,
    ) -> RecordPage {
        new_page(ctx, tenant, session, form).await
    }
    async fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&LeadForm>,
    ) -> Result<RecordPage, Response> {
        detail_page(ctx, id, form).await
    }
}
