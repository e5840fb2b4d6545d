//! Company pages: the list, adding, a company's page with its contacts, deals and timeline.

use chrono::{DateTime, Utc};
use rapport_app::companies::CompanyQuery;
use rapport_app::model::{Company, CompanyFilter, CompanySort, Contact, Deal};
use rapport_app::timeline::RecordRef;
use rapport_domain::{Action, CompanyId, Object, Ownership, decide};

use super::PageContext;
use super::PageError;
use super::kinds::{FormKind, ListKind, ListSpec, RecordForm, Row, WebKind, list_query};
use super::lists::{Cell, ColumnDef, ListState};
use super::record_page::{RecordPage, Related, RelatedItem, tag_parts, task_box, timeline_of};
use super::records::{People, money};
use super::workspace::shell;

async fn detail_page(
    ctx: &PageContext,
    id: &str,
    form: Option<&RecordForm>,
) -> Result<RecordPage, PageError> {
    let (session, tenant, company) = super::kinds::open::<Company>(ctx, id).await?;
    let id = company.id;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let own = actor.relation_to(company.owner_id);
    let may =
        |action, object, ownership| decide(tenant.role, action, object, ownership).is_allowed();
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let values = form.cloned().unwrap_or_else(|| RecordForm::of(&company));
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
                custom: Vec::new(),
                custom_sort: None,
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
                custom: Vec::new(),
                custom_sort: None,
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
        super::kinds::form_fields::<Company>(ctx, actor, &tenant, &people, &values).await,
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
                    sub: money(d.amount_minor, d.currency.code()),
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

impl WebKind for Company {
    const PATH: &'static str = "companies";
    const ONE: &'static str = "company";
    const MANY: &'static str = "companies";
    const TITLE: &'static str = "Companies";
    fn timeline(id: CompanyId) -> Option<RecordRef> {
        Some(RecordRef::Company(id))
    }
}

impl FormKind for Company {
    const FORM: &'static [&'static str] = &["name", "domain", "industry", "size", "address"];
    async fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&RecordForm>,
    ) -> Result<RecordPage, PageError> {
        detail_page(ctx, id, form).await
    }
}

impl ListKind for Company {
    const LIST_PAGE: ListSpec = ListSpec {
        columns: &[
            ColumnDef::name("Name"),
            ColumnDef::new("domain", "Domain"),
            ColumnDef::new("industry", "Industry"),
            ColumnDef::new("size", "Size"),
            ColumnDef::new("owner", "Owner"),
            ColumnDef::new("tags", "Tags"),
            ColumnDef::new("added", "Added").sorts("created"),
        ],
        default_columns: &["domain", "industry", "owner", "tags", "added"],
        default_sort: "name",
        search_placeholder: "Name or domain",
        empty_title: "No companies yet",
        no_match: "No company matches",
        empty_text: "Add the organizations you sell to; their contacts and deals gather on their page.",
    };
    fn page_query(state: &ListState, page_size: u64) -> CompanyQuery {
        let filter = CompanyFilter {
            search: (!state.search.is_empty()).then(|| state.search.clone()),
            owner_id: state.filter("owner").and_then(|o| o.parse().ok()),
            industry: state.filter("industry").map(str::to_owned),
            tag_id: state.filter("tag").and_then(|o| o.parse().ok()),
        };
        let sorts = [
            ("name", CompanySort::Name),
            ("created", CompanySort::CreatedAt),
            ("updated", CompanySort::UpdatedAt),
        ];
        list_query(state, &sorts, filter, page_size)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn cell(&self, key: &str, _row: &Row) -> Cell {
        Cell::text(
            match key {
                "domain" => &self.domain,
                "industry" => &self.industry,
                _ => &self.size,
            }
            .clone()
            .unwrap_or_default(),
        )
    }
}
