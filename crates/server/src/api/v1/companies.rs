//! `/api/v1/companies`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rapport_app::companies::{CompanyChange, CompanyQuery};
use rapport_app::model::Company;
use rapport_app::model::{CompanyFilter, CompanySort};
use rapport_domain::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::{self, Order, RecordOut};
use super::types::{Page, SortKind, TagOut, present};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyOut {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    /// 1-10, 11-50, 51-200, 201-500, 501-1000 or 1000+ employees
    pub size: Option<String>,
    pub address: Option<String>,
    #[schema(value_type = Object)]
    pub custom: serde_json::Value,
    pub tags: Vec<TagOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl kinds::ApiKind for Company {
    type In = CompanyIn;
    type Out = CompanyOut;
    const PLURAL: &'static str = "companies";
    const SORTS: &'static [(&'static str, CompanySort)] = &[
        ("created_at", CompanySort::CreatedAt),
        ("name", CompanySort::Name),
        ("updated_at", CompanySort::UpdatedAt),
    ];
    fn sort_kind(sort: CompanySort) -> SortKind {
        match sort {
            CompanySort::Name => SortKind::Text,
            CompanySort::CreatedAt | CompanySort::UpdatedAt => SortKind::Time,
        }
    }
    fn query(raw: &str) -> ApiResult<rapport_app::kinds::ListQuery<Company>> {
        company_query(crate::extract::parse_query(raw)?)
    }
}

impl RecordOut<Company> for CompanyOut {
    fn set_tags(&mut self, tags: Vec<TagOut>) {
        self.tags = tags;
    }
}

impl From<rapport_app::model::Company> for CompanyOut {
    fn from(c: rapport_app::model::Company) -> Self {
        Self {
            id: c.id.as_uuid(),
            organization_id: c.organization_id.as_uuid(),
            owner_id: c.owner_id.as_uuid(),
            name: c.name,
            domain: c.domain,
            industry: c.industry,
            size: c.size,
            address: c.address,
            custom: c.custom.0,
            tags: Vec::new(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyIn {
    pub name: Option<String>,
    /// A web domain; pasted URLs are reduced to it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub size: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    pub owner_id: Option<Uuid>,
    /// Custom field values by key (checked against the object's fields; `null` clears one, keys
    /// not given stay).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<CompanyIn> for CompanyChange {
    fn from(c: CompanyIn) -> Self {
        CompanyChange {
            name: c.name,
            domain: c.domain,
            industry: c.industry,
            size: c.size,
            address: c.address,
            owner_id: c.owner_id.map(UserId),
            custom: c.custom,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompanyParams {
    /// Case-insensitive part of the name or domain.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub industry: Option<String>,
    pub tag_id: Option<Uuid>,
    /// name, created_at (default) or updated_at
    pub order_by: Option<String>,
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
pub struct CompanyExportParams {
    /// Case-insensitive part of the name or domain.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub industry: Option<String>,
    pub tag_id: Option<Uuid>,
    /// name, created_at (default) or updated_at
    pub order_by: Option<String>,
    pub order: Option<String>,
}

impl From<CompanyExportParams> for CompanyParams {
    fn from(p: CompanyExportParams) -> Self {
        CompanyParams {
            search: p.search,
            owner_id: p.owner_id,
            industry: p.industry,
            tag_id: p.tag_id,
            order_by: p.order_by,
            order: p.order,
            ..CompanyParams::default()
        }
    }
}

/// The query a list's parameters ask for.
fn company_query(p: CompanyParams) -> ApiResult<CompanyQuery> {
    let filter = CompanyFilter {
        search: p.search.clone(),
        owner_id: p.owner_id.map(UserId),
        industry: p.industry.clone(),
        tag_id: p.tag_id.map(rapport_domain::TagId),
    };
    kinds::list_query(Order::from(&p), filter)
}

/// Companies of the organization.
#[utoipa::path(get, path = "/api/v1/companies", tag = "companies", security(("bearer" = [])),
    params(CompanyParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<CompanyOut>), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<CompanyParams>,
) -> ApiResult<Json<Page<CompanyOut>>> {
    let query = company_query(p)?;
    kinds::list(&state, &scope, &meta, query).await
}

/// The companies the list's filters select, as CSV: every page, streamed (roles that may export).
#[utoipa::path(get, path = "/api/v1/companies/export.csv", tag = "companies", security(("bearer" = [])),
    params(CompanyExportParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, description = "`id, name, domain, industry, size, address, created_at`", body = String, content_type = "text/csv"),
              (status = 403, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<CompanyExportParams>,
) -> ApiResult<Response> {
    let query = company_query(p.into())?;
    kinds::export::<Company>(&state, scope, meta, query).await
}

kinds::record_verbs! {
    kind: Company,
    body: CompanyIn,
    out: CompanyOut,
    tag: "companies",
    path: "/api/v1/companies",
    item: "/api/v1/companies/{id}",
    /// Create a company.
    create,
    /// One company.
    get,
    /// Change a company (members: only companies they own).
    update,
    /// Delete a company (restorable for 30 days).
    delete,
}
