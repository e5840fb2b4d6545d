//! CSV exports of the record lists, streamed page by page. The web app's list exports and the
//! API's `/api/v1/{list}/export.csv` both write them from a list query.

use std::sync::Arc;

use axum::response::Response;
use rapport_app::companies::CompanyQuery;
use rapport_app::contacts::ContactQuery;
use rapport_app::deals::DealQuery;
use rapport_app::leads::LeadQuery;
use rapport_app::{Actor, App, AppResult, RequestMeta, Tenant};
use rapport_domain::{Action, Object, Ownership, UserId};
use rapport_store::companies::CompanySort;
use rapport_store::contacts::ContactSort;
use rapport_store::keyset::SortValue;
use rapport_store::leads::LeadSort;

use crate::api::v1::types::{SortKind, decode_sort_cursor, encode_sort_cursor};
use crate::web::lists::{csv_line, csv_response};
use crate::web::records::People;

/// Rows fetched per page of an export.
const EXPORT_PAGE: u64 = 500;

/// Who exports, in which organization, and the names of its members for the owner columns.
#[derive(Clone)]
pub struct Exporter {
    pub app: Arc<App>,
    pub actor: Actor,
    pub tenant: Tenant,
    pub meta: RequestMeta,
    owners: Arc<Vec<(UserId, String)>>,
}

impl Exporter {
    /// Checks that the caller's role may export `object` (a refusal is audited like any other).
    pub async fn new(
        app: Arc<App>,
        actor: Actor,
        tenant: Tenant,
        meta: RequestMeta,
        object: Object,
    ) -> AppResult<Exporter> {
        app.authorize(
            &actor,
            &tenant,
            &meta,
            Action::Export,
            object,
            Ownership::NotApplicable,
        )
        .await?;
        let people = People::load(&app, &actor, &tenant, &meta).await;
        let owners = people.0.into_iter().map(|m| (m.user_id, m.name)).collect();
        Ok(Exporter {
            app,
            actor,
            tenant,
            meta,
            owners: Arc::new(owners),
        })
    }

    fn owner(&self, id: UserId) -> String {
        self.owners
            .iter()
            .find(|(user, _)| *user == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default()
    }
}

/// The keyset position a page's cursor names.
fn after<I: From<uuid::Uuid>>(cursor: Option<&str>, kind: SortKind) -> Option<(SortValue, I)> {
    cursor
        .and_then(|c| decode_sort_cursor(c, kind).ok())
        .map(|(v, id)| (v, I::from(id)))
}

fn header(names: &[&str]) -> String {
    csv_line(&names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
}

fn next_cursor<I: Into<uuid::Uuid>>(next: Option<(SortValue, I)>) -> Option<String> {
    next.map(|(v, id)| encode_sort_cursor(&v, id.into()))
}

/// The contacts `query` selects, every page.
pub fn contacts(who: Exporter, query: ContactQuery) -> Response {
    let kind = match query.sort {
        ContactSort::Name => SortKind::Text,
        ContactSort::CreatedAt | ContactSort::UpdatedAt => SortKind::Time,
    };
    let columns = [
        "id",
        "name",
        "email",
        "phone",
        "title",
        "company_id",
        "owner",
        "created_at",
    ];
    csv_response("contacts.csv", header(&columns), move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list_contacts(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            for c in &page.items {
                out.push_str(&csv_line(&[
                    c.id.to_string(),
                    c.name.clone(),
                    c.email.clone().unwrap_or_default(),
                    c.phone.clone().unwrap_or_default(),
                    c.title.clone().unwrap_or_default(),
                    c.company_id.map(|i| i.to_string()).unwrap_or_default(),
                    who.owner(c.owner_id),
                    c.created_at.to_rfc3339(),
                ]));
            }
            Ok((out, next_cursor(page.next)))
        }
    })
}

/// The companies `query` selects, every page.
pub fn companies(who: Exporter, query: CompanyQuery) -> Response {
    let kind = match query.sort {
        CompanySort::Name => SortKind::Text,
        _ => SortKind::Time,
    };
    let columns = [
        "id",
        "name",
        "domain",
        "industry",
        "size",
        "address",
        "created_at",
    ];
    csv_response("companies.csv", header(&columns), move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list_companies(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            for c in &page.items {
                out.push_str(&csv_line(&[
                    c.id.to_string(),
                    c.name.clone(),
                    c.domain.clone().unwrap_or_default(),
                    c.industry.clone().unwrap_or_default(),
                    c.size.clone().unwrap_or_default(),
                    c.address.clone().unwrap_or_default(),
                    c.created_at.to_rfc3339(),
                ]));
            }
            Ok((out, next_cursor(page.next)))
        }
    })
}

/// The leads `query` selects, every page.
pub fn leads(who: Exporter, query: LeadQuery) -> Response {
    let kind = match query.sort {
        LeadSort::Name => SortKind::Text,
        LeadSort::Score => SortKind::Int,
        LeadSort::CreatedAt | LeadSort::UpdatedAt => SortKind::Time,
    };
    let columns = [
        "id",
        "name",
        "email",
        "phone",
        "company_name",
        "source",
        "status",
        "score",
        "converted_at",
        "created_at",
    ];
    csv_response("leads.csv", header(&columns), move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list_leads(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            for l in &page.items {
                out.push_str(&csv_line(&[
                    l.id.to_string(),
                    l.name.clone(),
                    l.email.clone().unwrap_or_default(),
                    l.phone.clone().unwrap_or_default(),
                    l.company_name.clone().unwrap_or_default(),
                    l.source.clone().unwrap_or_default(),
                    l.status.clone(),
                    l.score.to_string(),
                    l.converted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    l.created_at.to_rfc3339(),
                ]));
            }
            Ok((out, next_cursor(page.next)))
        }
    })
}

/// The deals `query` selects, every page.
pub fn deals(who: Exporter, query: DealQuery) -> Response {
    let kind = crate::api::v1::deals::sort_kind(query.sort);
    let columns = [
        "id",
        "title",
        "amount",
        "currency",
        "status",
        "stage",
        "close_probability",
        "expected_close_date",
        "contact_id",
        "company_id",
        "owner",
        "created_at",
    ];
    csv_response("deals.csv", header(&columns), move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list_deals(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            for d in &page.items {
                out.push_str(&csv_line(&[
                    d.id.to_string(),
                    d.title.clone(),
                    format!("{:.2}", d.amount_minor as f64 / 100.0),
                    d.currency.clone(),
                    d.status.clone(),
                    d.stage.clone(),
                    d.close_probability.to_string(),
                    d.expected_close_date
                        .map(|x| x.to_string())
                        .unwrap_or_default(),
                    d.contact_id.map(|x| x.to_string()).unwrap_or_default(),
                    d.company_id.map(|x| x.to_string()).unwrap_or_default(),
                    who.owner(d.owner_id),
                    d.created_at.to_rfc3339(),
                ]));
            }
            Ok((out, next_cursor(page.next)))
        }
    })
}
