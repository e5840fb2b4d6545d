//! Company pages: the list, adding, a company's page with its contacts, deals and timeline.

use chrono::{DateTime, Utc};
use rapport_app::companies::CompanyQuery;
use rapport_app::model::{
    Company, CompanyFilter, CompanySort, Contact, ContactFilter, ContactSort, Deal, DealFilter,
    DealSort,
};
use rapport_app::timeline::RecordRef;
use rapport_domain::{CompanyId, Object};

use super::kinds::{FormKind, ListKind, ListSpec, PageParts, PageView, Row, WebKind, list_query};
use super::lists::{Cell, ColumnDef, ListState};
use super::record_page::{Related, RelatedItem, deal_item, line};

impl WebKind for Company {
    const PATH: &'static str = "companies";
    const ONE: &'static str = "company";
    const MANY: &'static str = "companies";
    const TITLE: &'static str = "Companies";
    fn timeline(id: CompanyId) -> Option<RecordRef> {
        Some(RecordRef::Company(id))
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl FormKind for Company {
    const FORM: &'static [&'static str] = &["name", "domain", "industry", "size", "address"];
    const TASK_LINK: Option<&'static str> = Some("company_id");
    /// Its web domain and industry; its people and its latest deals.
    async fn parts(&self, view: &PageView<'_>) -> PageParts {
        let (base, id) = (view.base(), self.id);
        let people = ContactFilter {
            company_id: Some(id),
            ..Default::default()
        };
        let (contacts, people_total) = view
            .first::<Contact>(people, ContactSort::Name, false, 50)
            .await;
        let deals = DealFilter {
            company_id: Some(id),
            ..Default::default()
        };
        let (deals, deals_total) = view
            .first::<Deal>(deals, DealSort::UpdatedAt, true, 20)
            .await;
        let stage_name = view.stage_namer().await;
        PageParts {
            subtitle: line([self.domain.as_deref(), self.industry.as_deref()]),
            related: vec![
                Related {
                    link: view.link(
                        Object::Contact,
                        "contact",
                        "company_id",
                        id,
                        "contact",
                        format!("{base}/companies/{id}"),
                    ),
                    total: people_total,
                    title: "People".into(),
                    empty: "No contacts at this company yet.".into(),
                    items: contacts
                        .iter()
                        .map(|c| {
                            let sub = c.title.as_ref().or(c.email.as_ref());
                            RelatedItem::link(
                                format!("{base}/contacts/{}", c.id),
                                &c.name,
                                sub.map_or("", |s| s),
                            )
                        })
                        .collect(),
                    add: view.may_create(Object::Contact).then(|| {
                        (
                            format!("{base}/contacts/new?company={id}"),
                            "Add a contact".into(),
                        )
                    }),
                },
                Related {
                    link: view.link(
                        Object::Deal,
                        "deal",
                        "company_id",
                        id,
                        "deal",
                        format!("{base}/companies/{id}"),
                    ),
                    total: deals_total,
                    title: "Deals".into(),
                    empty: "No deals with this company yet.".into(),
                    items: deals
                        .iter()
                        .map(|d| {
                            let stage = stage_name(d.stage.as_str());
                            deal_item(base, d, format!("{} · {stage}", d.amount))
                        })
                        .collect(),
                    add: view
                        .may_create(Object::Deal)
                        .then(|| (format!("{base}/deals/new?company={id}"), "New deal".into())),
                },
            ],
            ..PageParts::default()
        }
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
