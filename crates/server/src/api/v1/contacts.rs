//! `/api/v1/contacts` (and the company endpoints contacts link to).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rapport_app::contacts::{ContactChange, ContactQuery};
use rapport_app::model::Contact;
use rapport_app::model::{ContactFilter, ContactSort};
use rapport_domain::{CompanyId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::{self, Order, RecordOut};
use super::types::{Page, SortKind, TagOut, present};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub owner_id: Uuid,
    pub company_id: Option<Uuid>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    /// Custom field values.
    #[schema(value_type = Object)]
    pub custom: serde_json::Value,
    pub tags: Vec<TagOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl kinds::ApiKind for Contact {
    type In = ContactIn;
    type Out = ContactOut;
    const PLURAL: &'static str = "contacts";
    const SORTS: &'static [(&'static str, ContactSort)] = &[
        ("created_at", ContactSort::CreatedAt),
        ("name", ContactSort::Name),
        ("updated_at", ContactSort::UpdatedAt),
    ];
    fn sort_kind(sort: ContactSort) -> SortKind {
        match sort {
            ContactSort::Name => SortKind::Text,
            ContactSort::CreatedAt | ContactSort::UpdatedAt => SortKind::Time,
        }
    }
    fn query(raw: &str) -> ApiResult<rapport_app::kinds::ListQuery<Contact>> {
        contact_query(crate::extract::parse_query(raw)?)
    }
}

impl RecordOut<Contact> for ContactOut {
    fn set_tags(&mut self, tags: Vec<TagOut>) {
        self.tags = tags;
    }
}

impl From<rapport_app::model::Contact> for ContactOut {
    fn from(c: rapport_app::model::Contact) -> Self {
        Self {
            id: c.id.as_uuid(),
            organization_id: c.organization_id.as_uuid(),
            owner_id: c.owner_id.as_uuid(),
            company_id: c.company_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            title: c.title,
            custom: c.custom.0,
            tags: Vec::new(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    /// A company of the same organization; null unlinks.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<Option<Uuid>>,
    /// Defaults to the caller.
    pub owner_id: Option<Uuid>,
    /// Custom field values by key (checked against the object's fields; `null` clears one, keys
    /// not given stay).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<ContactIn> for ContactChange {
    fn from(c: ContactIn) -> Self {
        ContactChange {
            name: c.name,
            email: c.email,
            phone: c.phone,
            title: c.title,
            company_id: c.company_id.map(|o| o.map(CompanyId)),
            owner_id: c.owner_id.map(UserId),
            custom: c.custom,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactParams {
    /// Case-insensitive part of the name, email or phone.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub tag_id: Option<Uuid>,
    /// name, created_at (default) or updated_at
    pub order_by: Option<String>,
    /// asc (default) or desc
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
    pub cursor: Option<String>,
}

/// The list's filters, for an export (every page, no paging).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactExportParams {
    /// Case-insensitive part of the name, email or phone.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub tag_id: Option<Uuid>,
    /// name, created_at (default) or updated_at
    pub order_by: Option<String>,
    /// asc (default) or desc
    pub order: Option<String>,
}

impl From<ContactExportParams> for ContactParams {
    fn from(p: ContactExportParams) -> Self {
        ContactParams {
            search: p.search,
            owner_id: p.owner_id,
            company_id: p.company_id,
            tag_id: p.tag_id,
            order_by: p.order_by,
            order: p.order,
            ..ContactParams::default()
        }
    }
}

/// The query a list's parameters ask for.
fn contact_query(p: ContactParams) -> ApiResult<ContactQuery> {
    let filter = ContactFilter {
        search: p.search.clone(),
        owner_id: p.owner_id.map(UserId),
        company_id: p.company_id.map(CompanyId),
        tag_id: p.tag_id.map(rapport_domain::TagId),
    };
    kinds::list_query(Order::from(&p), filter)
}

/// Contacts of the organization.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])),
    params(ContactParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<ContactOut>), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<ContactParams>,
) -> ApiResult<Json<Page<ContactOut>>> {
    let query = contact_query(p)?;
    kinds::list(&state, &scope, &meta, query).await
}

/// The contacts the list's filters select, as CSV: every page, streamed (roles that may export).
#[utoipa::path(get, path = "/api/v1/contacts/export.csv", tag = "contacts", security(("bearer" = [])),
    params(ContactExportParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, description = "`id, name, email, phone, title, company_id, owner, created_at`", body = String, content_type = "text/csv"),
              (status = 403, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<ContactExportParams>,
) -> ApiResult<Response> {
    let query = contact_query(p.into())?;
    kinds::export::<Contact>(&state, scope, meta, query).await
}

kinds::record_verbs! {
    kind: Contact,
    body: ContactIn,
    out: ContactOut,
    tag: "contacts",
    path: "/api/v1/contacts",
    item: "/api/v1/contacts/{id}",
    /// Create a contact (owner defaults to the caller).
    create,
    /// One contact.
    get,
    /// Change a contact (members: only contacts they own).
    update,
    /// Delete a contact (it stays restorable for 30 days).
    delete [(status = 409, description = "`contact_has_deals`: deals still link the contact", body = Problem)],
}
