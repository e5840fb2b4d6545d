//! Contact pages: the list (search, sort, pages), adding, reading, changing and deleting.

use chrono::{DateTime, Utc};
use rapport_app::contacts::ContactQuery;
use rapport_app::model::{
    Company, Contact, ContactFilter, ContactSort, Deal, DealFilter, DealSort,
};
use rapport_app::timeline::RecordRef;
use rapport_domain::{CompanyId, ContactId, Object};

use super::kinds::{
    FormKind, ListKind, ListSpec, PageParts, PageView, RecordForm, Row, WebKind, list_query,
};
use super::lists::{Cell, ColumnDef, ListState};
use super::record_page::{Related, deal_item, line};

impl WebKind for Contact {
    const PATH: &'static str = "contacts";
    const ONE: &'static str = "contact";
    const MANY: &'static str = "contacts";
    const TITLE: &'static str = "Contacts";
    fn timeline(id: ContactId) -> Option<RecordRef> {
        Some(RecordRef::Contact(id))
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl FormKind for Contact {
    const FORM: &'static [&'static str] = &["name", "email", "phone", "title", "company_id"];
    const TASK_LINK: Option<&'static str> = Some("contact_id");
    /// `?company=…`: a contact added from a company's page belongs to it.
    fn prefill(query: &str, form: &mut RecordForm) {
        if let Some((_, company)) =
            url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "company")
        {
            form.values
                .insert("company_id".to_owned(), company.into_owned().into());
        }
    }
    /// Its job title and company; its latest deals.
    async fn parts(&self, view: &PageView<'_>) -> PageParts {
        let (base, id) = (view.base(), self.id);
        let company = match self.company_id {
            Some(c) => view.get::<Company>(c).await,
            None => None,
        };
        let deals = DealFilter {
            contact_id: Some(id),
            ..Default::default()
        };
        let (deals, deals_total) = view
            .first::<Deal>(deals, DealSort::UpdatedAt, true, 20)
            .await;
        let stage_name = view.stage_namer().await;
        PageParts {
            subtitle: line([
                self.title.as_deref(),
                company.as_ref().map(|c| c.name.as_str()),
            ]),
            related: vec![Related {
                link: view.link(
                    Object::Deal,
                    "deal",
                    "contact_id",
                    id,
                    "deal",
                    format!("{base}/contacts/{id}"),
                ),
                total: deals_total,
                title: "Deals".into(),
                empty: "No deals with this contact yet.".into(),
                items: deals
                    .iter()
                    .map(|d| {
                        let amount = d.amount;
                        let stage = stage_name(d.stage.as_str());
                        deal_item(base, d, format!("{amount} · {stage}"))
                    })
                    .collect(),
                add: view
                    .may_create(Object::Deal)
                    .then(|| (format!("{base}/deals/new?contact={id}"), "New deal".into())),
            }],
            ..PageParts::default()
        }
    }
}

impl ListKind for Contact {
    const LIST_PAGE: ListSpec = ListSpec {
        columns: &[
            ColumnDef::name("Name"),
            ColumnDef::new("email", "Email"),
            ColumnDef::new("phone", "Phone"),
            ColumnDef::new("title", "Job title"),
            ColumnDef::new("company", "Company"),
            ColumnDef::new("owner", "Owner"),
            ColumnDef::new("tags", "Tags"),
            ColumnDef::new("added", "Added").sorts("created"),
        ],
        default_columns: &["email", "phone", "company", "owner", "added"],
        default_sort: "name",
        search_placeholder: "Name, email or phone",
        empty_title: "No contacts yet",
        no_match: "Nobody matches",
        empty_text: "Add the people you work with; link them to their company as you go.",
    };
    fn page_query(state: &ListState, page_size: u64) -> ContactQuery {
        let filter = ContactFilter {
            search: (!state.search.is_empty()).then(|| state.search.clone()),
            owner_id: state.filter("owner").and_then(|o| o.parse().ok()),
            company_id: state.filter("company").and_then(|o| o.parse().ok()),
            tag_id: state.filter("tag").and_then(|o| o.parse().ok()),
        };
        let sorts = [
            ("name", ContactSort::Name),
            ("created", ContactSort::CreatedAt),
            ("updated", ContactSort::UpdatedAt),
        ];
        list_query(state, &sorts, filter, page_size)
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn company(&self) -> Option<CompanyId> {
        self.company_id
    }
    fn subtitle(&self, visible: &[&str]) -> Option<String> {
        self.title.clone().filter(|_| !visible.contains(&"title"))
    }
    fn cell(&self, key: &str, row: &Row) -> Cell {
        match key {
            "company" => match self.company_id {
                Some(id) => Cell {
                    text: row
                        .companies
                        .iter()
                        .find(|(cid, _)| *cid == id.as_uuid())
                        .map(|(_, n)| n.clone())
                        .unwrap_or_default(),
                    href: Some(format!("{}/companies/{id}", row.base)),
                    ..Cell::default()
                },
                None => Cell::default(),
            },
            "email" => Cell::text(self.email.clone().unwrap_or_default()),
            "phone" => Cell::text(self.phone.clone().unwrap_or_default()),
            _ => Cell::text(self.title.clone().unwrap_or_default()),
        }
    }
}
