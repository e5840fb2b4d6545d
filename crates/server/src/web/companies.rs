//! Company pages: the list, adding, a company's page with its contacts, deals and timeline.

use chrono::{DateTime, Utc};
use rapport_app::companies::{CompanyChange, CompanyQuery, SIZES};
use rapport_app::model::{Company, CompanyFilter, CompanySort, Contact, Deal};
use rapport_app::timeline::RecordRef;
use rapport_app::{Actor, Tenant};
use rapport_domain::{Action, CompanyId, Object, Ownership, UserId, ValidationErrors, decide};
use serde::Deserialize;

use super::PageContext;
use super::PageError;
use super::kinds::{FormKind, ListKind, ListSpec, Row, WebKind, list_query};
use super::lists::{Cell, ColumnDef, ListState};
use super::record_page::{
    FormField, RecordPage, Related, RelatedItem, tag_parts, task_box, timeline_of,
};
use super::records::{Choice, People, money};
use super::workspace::shell;

#[derive(Deserialize, Default, Clone)]
pub struct CompanyForm {
    #[serde(default, rename = "_csrf")]
    pub(super) csrf: String,
    /// Custom field values, read from the `custom.<key>` fields apart.
    #[serde(skip)]
    pub(super) custom: Option<serde_json::Map<String, serde_json::Value>>,
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

async fn detail_page(
    ctx: &PageContext,
    id: &str,
    form: Option<&CompanyForm>,
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
                custom: Vec::new(),
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
    type Form = CompanyForm;
    fn change(form: &CompanyForm) -> Result<CompanyChange, ValidationErrors> {
        Ok(form.change())
    }
    async fn fields(
        form: &CompanyForm,
        _ctx: &PageContext,
        actor: &Actor,
        _tenant: &Tenant,
        people: &People,
    ) -> Vec<FormField> {
        form.fields(people, actor.user_id)
    }
    async fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&CompanyForm>,
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
