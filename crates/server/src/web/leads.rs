//! Lead pages: the list, adding, a lead's page, and converting a qualified lead.

use axum::Form;
use axum::extract::Path;
use chrono::{DateTime, Utc};
use rapport_app::AppError;
use rapport_app::leads::{Conversion, ConversionDeal, LeadQuery};
use rapport_app::model::{Company, Contact, Deal, Lead, LeadFilter, LeadSort};
use rapport_app::timeline::RecordRef;
use rapport_domain::deal::parse_amount_text;
use rapport_domain::lead::LeadStatus;
use rapport_domain::{Action, LeadId};
use serde::Deserialize;

use super::kinds::{FormKind, ListKind, ListSpec, PageParts, PageView, Row, WebKind, list_query};
use super::lists::{Cell, ColumnDef, FilterSelect, ListState};
use super::record_page::{ConvertBox, Related, RelatedItem};
use super::records::Choice;
use super::{PageContext, PageResult, see_other, sentence};
use crate::error::ApiError;

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
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let Ok(lead_id) = id.parse::<LeadId>() else {
        return Err(ApiError::not_found().into());
    };
    let (session, tenant) = ctx.tenant().await?;
    let back = format!("{}/leads/{lead_id}", ctx.base);
    let refuse = |message: &str| {
        see_other(&format!(
            "{back}?convert_error={}",
            url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
        ))
    };
    let amount = match parse_amount_text(&form.deal_amount) {
        Ok(minor) => minor as f64 / 100.0,
        Err(m) => return Ok(refuse(&sentence(&format!("the amount {m}")))),
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
        Ok(done) => Ok(see_other(&format!(
            "{}/contacts/{}?converted=1",
            ctx.base, done.contact_id
        ))),
        Err(AppError::Validation(errors)) => Ok(refuse(
            &errors
                .0
                .first()
                .map(|e| sentence(&format!("{} {}", e.field.replace('_', " "), e.message)))
                .unwrap_or_default(),
        )),
        Err(AppError::Conflict { message, .. }) => Ok(refuse(&sentence(&message))),
        Err(e) => Err(e.into()),
    }
}

impl WebKind for Lead {
    const PATH: &'static str = "leads";
    const ONE: &'static str = "lead";
    const MANY: &'static str = "leads";
    const TITLE: &'static str = "Leads";
    fn timeline(id: LeadId) -> Option<RecordRef> {
        Some(RecordRef::Lead(id))
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl FormKind for Lead {
    const FORM: &'static [&'static str] = &[
        "name",
        "email",
        "phone",
        "company_name",
        "source",
        "status",
        "score",
    ];
    fn frozen(&self) -> Option<&'static str> {
        self.converted_at.map(|_| {
            "This lead was converted and is kept as a record of where the contact came from; \
             change the contact instead."
        })
    }
    /// Its company and status; once converted, what it became; qualified, the conversion box.
    async fn parts(&self, view: &PageView<'_>) -> PageParts {
        let base = view.base();
        let status = self.status;
        let mut parts = PageParts {
            subtitle: self.company_name.clone(),
            badges: vec![match self.converted_at {
                Some(_) => ("converted".into(), "Converted".into()),
                None => (status.as_str().into(), status.label().into()),
            }],
            pill: self.converted_at.is_none().then(|| "status".to_owned()),
            ..PageParts::default()
        };
        if self.converted_at.is_some() {
            // What it became, or that it is gone.
            let gone = |path: &str, id: uuid::Uuid, what: &str| {
                let href = format!("{base}/{path}/{id}");
                RelatedItem::link(href, &format!("{what} (deleted)"), what)
            };
            let mut items = Vec::new();
            if let Some(c) = self.converted_contact_id {
                let item = view.linked::<Contact>(c, "Contact").await;
                items.push(item.unwrap_or_else(|| gone("contacts", c.as_uuid(), "Contact")));
            }
            if let Some(c) = self.converted_company_id {
                let item = view.linked::<Company>(c, "Company").await;
                items.push(item.unwrap_or_else(|| gone("companies", c.as_uuid(), "Company")));
            }
            if let Some(d) = self.converted_deal_id {
                let item = view.linked::<Deal>(d, "Deal").await;
                items.push(item.unwrap_or_else(|| gone("deals", d.as_uuid(), "Deal")));
            }
            parts.related.push(Related {
                link: None,
                total: None,
                title: "Became".into(),
                empty: String::new(),
                items,
                add: None,
            });
        } else if status == LeadStatus::Qualified && self.may(view.actor, view.tenant, Action::Edit)
        {
            let domain = self
                .email
                .as_deref()
                .and_then(|e| e.split_once('@'))
                .map(|(_, d)| d.to_owned());
            parts.convert = Some(ConvertBox {
                action: format!("{base}/leads/{}/convert", self.id),
                company_hint: match (&domain, &self.company_name) {
                    (Some(d), Some(c)) => format!("the one at {d}, else a new company “{c}”"),
                    (Some(d), None) => format!("the one at {d}, else a new one"),
                    (None, Some(c)) => format!("a new company “{c}”"),
                    (None, None) => "needs a company name or an email".into(),
                },
                deal_title: match &self.company_name {
                    Some(c) => format!("{c} — {}", self.name),
                    None => self.name.clone(),
                },
                error: None,
            });
        }
        parts
    }
}

impl ListKind for Lead {
    const COMPANY_PROP: &'static str = "company_name";
    const LIST_PAGE: ListSpec = ListSpec {
        columns: &[
            ColumnDef::name("Name"),
            ColumnDef::new("email", "Email"),
            ColumnDef::new("company", "Company"),
            ColumnDef::new("source", "Source"),
            ColumnDef::new("status", "Status"),
            ColumnDef::new("score", "Score").sorts("score").numeric(),
            ColumnDef::new("owner", "Owner"),
            ColumnDef::new("tags", "Tags"),
            ColumnDef::new("added", "Added").sorts("created"),
        ],
        default_columns: &["company", "source", "status", "score", "owner", "added"],
        default_sort: "-created",
        search_placeholder: "Name, email or company",
        empty_title: "No leads here",
        no_match: "No lead matches",
        empty_text: "Leads are people who might buy: add them, work them, qualify them, then convert them into contacts and deals.",
    };
    fn page_query(state: &ListState, page_size: u64) -> LeadQuery {
        let status = state.filter("status");
        let filter = LeadFilter {
            search: (!state.search.is_empty()).then(|| state.search.clone()),
            statuses: status
                .filter(|s| LeadStatus::parse(s).is_ok())
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default(),
            owner_id: state.filter("owner").and_then(|o| o.parse().ok()),
            source: state.filter("source").map(str::to_owned),
            converted: status.map(|s| s == "converted"),
            tag_id: state.filter("tag").and_then(|o| o.parse().ok()),
        };
        let sorts = [
            ("created", LeadSort::CreatedAt),
            ("name", LeadSort::Name),
            ("score", LeadSort::Score),
            ("updated", LeadSort::UpdatedAt),
        ];
        list_query(state, &sorts, filter, page_size)
    }
    /// Status first: the open statuses, then converted leads.
    fn filters(state: &ListState) -> Vec<FilterSelect> {
        let current = state.filter("status");
        let mut options: Vec<Choice> = LeadStatus::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: s.label().to_owned(),
                selected: current == Some(s.as_str()),
            })
            .collect();
        options.push(Choice {
            value: "converted".into(),
            label: "Converted".into(),
            selected: current == Some("converted"),
        });
        vec![FilterSelect {
            name: "status".into(),
            label: "Status".into(),
            options,
        }]
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn subtitle(&self, visible: &[&str]) -> Option<String> {
        self.email.clone().filter(|_| !visible.contains(&"email"))
    }
    fn cell(&self, key: &str, _row: &Row) -> Cell {
        match key {
            "status" => status_cell(self),
            "score" => Cell {
                text: self.score.to_string(),
                numeric: true,
                ..Cell::default()
            },
            "email" => Cell::text(self.email.clone().unwrap_or_default()),
            "company" => Cell::text(self.company_name.clone().unwrap_or_default()),
            _ => Cell::text(self.source.clone().unwrap_or_default()),
        }
    }
}
