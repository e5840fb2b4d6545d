//! Contact pages: the list (search, sort, pages), adding, reading, changing and deleting.

use chrono::{DateTime, Utc};
use rapport_app::contacts::ContactQuery;
use rapport_app::model::{Company, Contact, ContactFilter, ContactSort, Deal};
use rapport_app::timeline::RecordRef;
use rapport_domain::{Action, CompanyId, ContactId, Object, Ownership, decide};
use uuid::Uuid;

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
    let (session, tenant, contact) = super::kinds::open::<Contact>(ctx, id).await?;
    let id = contact.id;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let own = actor.relation_to(contact.owner_id);
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let values = form.cloned().unwrap_or_else(|| RecordForm::of(&contact));
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
        super::kinds::form_fields::<Contact>(ctx, actor, &tenant, &people, &values).await,
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
                    money(d.amount_minor, d.currency.code()),
                    d.stage.as_str().replace('_', " ")
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
    Ok(page)
}

impl WebKind for Contact {
    const PATH: &'static str = "contacts";
    const ONE: &'static str = "contact";
    const MANY: &'static str = "contacts";
    const TITLE: &'static str = "Contacts";
    fn timeline(id: ContactId) -> Option<RecordRef> {
        Some(RecordRef::Contact(id))
    }
}

impl FormKind for Contact {
    const FORM: &'static [&'static str] = &["name", "email", "phone", "title", "company_id"];
    /// `?company=…`: a contact added from a company's page belongs to it.
    fn prefill(query: &str, form: &mut RecordForm) {
        if let Some((_, company)) =
            url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "company")
        {
            form.values
                .insert("company_id".to_owned(), company.into_owned().into());
        }
    }
    async fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&RecordForm>,
    ) -> Result<RecordPage, PageError> {
        detail_page(ctx, id, form).await
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
    fn name(&self) -> &str {
        &self.name
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn company(&self) -> Option<Uuid> {
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
                        .find(|(cid, _)| *cid == id)
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
