//! CSV exports of the record lists, streamed page by page. The web app's list exports and the
//! API's `/api/v1/{list}/export.csv` both write them from a list query.

use rapport_app::model::{Company, Contact, Deal, Lead};
use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use rapport_app::companies::CompanyQuery;
use rapport_app::contacts::ContactQuery;
use rapport_app::deals::DealQuery;
use rapport_app::leads::LeadQuery;
use rapport_app::model::CompanySort;
use rapport_app::model::ContactSort;
use rapport_app::model::LeadSort;
use rapport_app::model::SortValue;
use rapport_app::records::RecordView;
use rapport_app::{Actor, App, AppResult, RequestMeta, Tenant};
use rapport_domain::schema::{FieldType, ObjectDef};
use rapport_domain::{Action, Object, Ownership, UserId};

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
    /// The object's custom fields (the last columns, by label).
    custom: Arc<Option<ObjectDef>>,
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
        let key = match object {
            Object::Company => "company",
            Object::Contact => "contact",
            Object::Lead => "lead",
            Object::Deal => "deal",
            _ => "task",
        };
        let custom = app
            .object(&actor, &tenant, key, &meta)
            .await
            .ok()
            .and_then(|o| {
                let mut custom = o.def.custom_part();
                custom
                    .fields
                    .retain(|f| !f.archived && f.field_type != FieldType::Rollup);
                (!custom.fields.is_empty()).then_some(custom)
            });
        Ok(Exporter {
            app,
            actor,
            tenant,
            meta,
            owners: Arc::new(owners),
            custom: Arc::new(custom),
        })
    }

    /// The header: the kind's own columns, then its custom fields' labels.
    fn header(&self, names: &[&str]) -> String {
        let mut all: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        if let Some(object) = self.custom.as_ref() {
            all.extend(object.fields.iter().map(|f| f.label.clone()));
        }
        csv_line(&all)
    }

    /// The names of the records a page's custom relation values point to.
    async fn titles(&self, docs: &[&serde_json::Value]) -> HashMap<uuid::Uuid, String> {
        let Some(object) = self.custom.as_ref() else {
            return HashMap::new();
        };
        let views: Vec<RecordView> = docs
            .iter()
            .map(|d| RecordView {
                id: rapport_domain::RecordId::new(),
                object: object.key.clone(),
                owner_id: self.actor.user_id,
                title: String::new(),
                values: d.as_object().cloned().unwrap_or_default(),
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            })
            .collect();
        self.app
            .relation_titles(&self.tenant, object, &views)
            .await
            .unwrap_or_default()
    }

    /// A record's custom values as cells, as people read them.
    fn custom_cells(
        &self,
        doc: &serde_json::Value,
        titles: &HashMap<uuid::Uuid, String>,
    ) -> Vec<String> {
        let Some(object) = self.custom.as_ref() else {
            return Vec::new();
        };
        object
            .fields
            .iter()
            .map(|f| {
                let Some(v) = doc.get(f.key.as_str()) else {
                    return String::new();
                };
                let name = |id: &str| {
                    id.parse::<uuid::Uuid>()
                        .ok()
                        .and_then(|u| titles.get(&u).cloned())
                        .unwrap_or_else(|| id.to_owned())
                };
                match f.field_type {
                    FieldType::Member => v
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .map(|id| self.owner(UserId(id)))
                        .unwrap_or_default(),
                    FieldType::Relation => match v {
                        serde_json::Value::String(id) => name(id),
                        serde_json::Value::Array(ids) => ids
                            .iter()
                            .filter_map(|i| i.as_str())
                            .map(name)
                            .collect::<Vec<_>>()
                            .join(", "),
                        _ => String::new(),
                    },
                    _ => rapport_domain::values::decode(f, v)
                        .map(|v| v.display(f))
                        .unwrap_or_default(),
                }
            })
            .collect()
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
    let header_line = who.header(&columns);
    csv_response("contacts.csv", header_line, move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list::<Contact>(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            let docs: Vec<&serde_json::Value> = page.items.iter().map(|r| &r.custom.0).collect();
            let titles = who.titles(&docs).await;
            for c in &page.items {
                let mut line = vec![
                    c.id.to_string(),
                    c.name.clone(),
                    c.email.clone().unwrap_or_default(),
                    c.phone.clone().unwrap_or_default(),
                    c.title.clone().unwrap_or_default(),
                    c.company_id.map(|i| i.to_string()).unwrap_or_default(),
                    who.owner(c.owner_id),
                    c.created_at.to_rfc3339(),
                ];
                line.extend(who.custom_cells(&c.custom.0, &titles));
                out.push_str(&csv_line(&line));
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
    let header_line = who.header(&columns);
    csv_response("companies.csv", header_line, move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list::<Company>(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            let docs: Vec<&serde_json::Value> = page.items.iter().map(|r| &r.custom.0).collect();
            let titles = who.titles(&docs).await;
            for c in &page.items {
                let mut line = vec![
                    c.id.to_string(),
                    c.name.clone(),
                    c.domain.clone().unwrap_or_default(),
                    c.industry.clone().unwrap_or_default(),
                    c.size.clone().unwrap_or_default(),
                    c.address.clone().unwrap_or_default(),
                    c.created_at.to_rfc3339(),
                ];
                line.extend(who.custom_cells(&c.custom.0, &titles));
                out.push_str(&csv_line(&line));
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
    let header_line = who.header(&columns);
    csv_response("leads.csv", header_line, move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list::<Lead>(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            let docs: Vec<&serde_json::Value> = page.items.iter().map(|r| &r.custom.0).collect();
            let titles = who.titles(&docs).await;
            for l in &page.items {
                let mut line = vec![
                    l.id.to_string(),
                    l.name.clone(),
                    l.email.clone().unwrap_or_default(),
                    l.phone.clone().unwrap_or_default(),
                    l.company_name.clone().unwrap_or_default(),
                    l.source.clone().unwrap_or_default(),
                    l.status.as_str().to_owned(),
                    l.score.to_string(),
                    l.converted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    l.created_at.to_rfc3339(),
                ];
                line.extend(who.custom_cells(&l.custom.0, &titles));
                out.push_str(&csv_line(&line));
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
    let header_line = who.header(&columns);
    csv_response("deals.csv", header_line, move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = after(cursor.as_deref(), kind);
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list::<Deal>(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            let docs: Vec<&serde_json::Value> = page.items.iter().map(|r| &r.custom.0).collect();
            let titles = who.titles(&docs).await;
            for d in &page.items {
                let mut line = vec![
                    d.id.to_string(),
                    d.title.clone(),
                    format!("{:.2}", d.amount_minor as f64 / 100.0),
                    d.currency.clone(),
                    d.status.as_str().to_owned(),
                    d.stage.clone(),
                    d.close_probability.to_string(),
                    d.expected_close_date
                        .map(|x| x.to_string())
                        .unwrap_or_default(),
                    d.contact_id.map(|x| x.to_string()).unwrap_or_default(),
                    d.company_id.map(|x| x.to_string()).unwrap_or_default(),
                    who.owner(d.owner_id),
                    d.created_at.to_rfc3339(),
                ];
                line.extend(who.custom_cells(&d.custom.0, &titles));
                out.push_str(&csv_line(&line));
            }
            Ok((out, next_cursor(page.next)))
        }
    })
}
