//! CSV exports of the record lists, streamed page by page. The web app's list exports and the
//! API's `/api/v1/{list}/export.csv` both write them from a list query.

use rapport_app::model::{Company, Contact, Deal, Lead};
use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use rapport_app::kinds::ListQuery;
use rapport_app::{Actor, App, AppResult, RequestMeta, Tenant};
use rapport_domain::schema::{FieldType, ObjectDef};
use rapport_domain::{Action, Object, Ownership, UserId};

use crate::api::v1::kinds::ApiKind;
use crate::api::v1::types::{decode_sort_cursor, encode_sort_cursor};
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
            // Its pages are read as far as the role may export, not view.
            tenant: tenant.exporting(),
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
        let values: Vec<&serde_json::Map<String, serde_json::Value>> =
            docs.iter().filter_map(|d| d.as_object()).collect();
        self.app
            .relation_titles(&self.tenant, object, &values)
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

/// A built-in kind as a CSV file: its name, its own columns and a record's cells in them (the
/// custom fields follow, by label).
pub trait CsvKind: ApiKind {
    const FILE: &'static str;
    const CSV_COLUMNS: &'static [&'static str];
    fn cells(&self, who: &Exporter) -> Vec<String>;
}

/// The records `query` selects, every page.
pub fn export<K: CsvKind>(who: Exporter, query: ListQuery<K>) -> Response {
    let kind = K::sort_kind(query.sort);
    let header_line = who.header(K::CSV_COLUMNS);
    csv_response(K::FILE, header_line, move |cursor| {
        let who = who.clone();
        let mut query = query.clone();
        query.after = cursor
            .as_deref()
            .and_then(|c| decode_sort_cursor(c, kind).ok())
            .map(|(v, id)| (v, K::Id::from(id)));
        query.page = 1;
        query.page_size = EXPORT_PAGE;
        query.with_total = false;
        async move {
            let page = who
                .app
                .list::<K>(&who.actor, &who.tenant, query, &who.meta)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            let docs: Vec<&serde_json::Value> = page.items.iter().map(|r| r.custom()).collect();
            let titles = who.titles(&docs).await;
            for record in &page.items {
                let mut line = record.cells(&who);
                line.extend(who.custom_cells(record.custom(), &titles));
                out.push_str(&csv_line(&line));
            }
            let next = page.next.map(|(v, id)| encode_sort_cursor(&v, id.into()));
            Ok((out, next))
        }
    })
}

impl CsvKind for Contact {
    const FILE: &'static str = "contacts.csv";
    const CSV_COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "email",
        "phone",
        "title",
        "company_id",
        "owner",
        "created_at",
    ];
    fn cells(&self, who: &Exporter) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.email.clone().unwrap_or_default(),
            self.phone.clone().unwrap_or_default(),
            self.title.clone().unwrap_or_default(),
            self.company_id.map(|i| i.to_string()).unwrap_or_default(),
            who.owner(self.owner_id),
            self.created_at.to_rfc3339(),
        ]
    }
}

impl CsvKind for Company {
    const FILE: &'static str = "companies.csv";
    const CSV_COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "domain",
        "industry",
        "size",
        "address",
        "created_at",
    ];
    fn cells(&self, _who: &Exporter) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.domain.clone().unwrap_or_default(),
            self.industry.clone().unwrap_or_default(),
            self.size.clone().unwrap_or_default(),
            self.address.clone().unwrap_or_default(),
            self.created_at.to_rfc3339(),
        ]
    }
}

impl CsvKind for Lead {
    const FILE: &'static str = "leads.csv";
    const CSV_COLUMNS: &'static [&'static str] = &[
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
    fn cells(&self, _who: &Exporter) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.email.clone().unwrap_or_default(),
            self.phone.clone().unwrap_or_default(),
            self.company_name.clone().unwrap_or_default(),
            self.source.clone().unwrap_or_default(),
            self.status.as_str().to_owned(),
            self.score.to_string(),
            self.converted_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            self.created_at.to_rfc3339(),
        ]
    }
}

impl CsvKind for Deal {
    const FILE: &'static str = "deals.csv";
    const CSV_COLUMNS: &'static [&'static str] = &[
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
    fn cells(&self, who: &Exporter) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.title.clone(),
            format!("{:.2}", self.amount.major()),
            self.amount.currency.to_string(),
            self.status.as_str().to_owned(),
            self.stage.to_string(),
            self.close_probability.to_string(),
            self.expected_close_date
                .map(|x| x.to_string())
                .unwrap_or_default(),
            self.contact_id.map(|x| x.to_string()).unwrap_or_default(),
            self.company_id.map(|x| x.to_string()).unwrap_or_default(),
            who.owner(self.owner_id),
            self.created_at.to_rfc3339(),
        ]
    }
}
