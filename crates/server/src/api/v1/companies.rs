//! `/api/v1/companies`.

use rapport_app::model::Company;
use rapport_app::model::{CompanyFilter, CompanySort};
use rapport_domain::UserId;
use serde::Deserialize;
use uuid::Uuid;

use super::kinds;
use super::types::{Page, SortKind, present};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

kinds::record_answer! {
    Company => CompanyOut + tags {
        owner_id: Uuid,
        name: String,
        domain: Option<String>,
        industry: Option<String>,
        /// 1-10, 11-50, 51-200, 201-500, 501-1000 or 1000+ employees
        size: Option<String>,
        address: Option<String>,
    }
}

impl kinds::ApiKind for Company {
    type In = CompanyIn;
    type Out = CompanyOut;
    const PLURAL: &'static str = "companies";
    const SORTS: &'static [(&'static str, CompanySort, SortKind)] = &[
        ("created_at", CompanySort::CreatedAt, SortKind::Time),
        ("name", CompanySort::Name, SortKind::Text),
        ("updated_at", CompanySort::UpdatedAt, SortKind::Time),
    ];
    type Params = CompanyParams;
    fn filter(_: Vec<String>, p: CompanyParams) -> ApiResult<CompanyFilter> {
        Ok(CompanyFilter {
            search: p.search,
            owner_id: p.owner_id.map(UserId),
            industry: p.industry,
            tag_id: p.tag_id.map(rapport_domain::TagId),
        })
    }
}

kinds::record_body! {
    CompanyIn {
        name: Option<String>,
        /// A web domain; pasted URLs are reduced to it.
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        domain: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        industry: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        size: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        address: Option<Option<String>>,
        #[schema(value_type = Option<Uuid>)]
        owner_id: Option<UserId>,
    }
}

/// The companies list's filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompanyParams {
    /// Case-insensitive part of the name or domain.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub industry: Option<String>,
    pub tag_id: Option<Uuid>,
}

kinds::list_verbs! {
    kind: Company,
    out: CompanyOut,
    params: CompanyParams,
    tag: "companies",
    path: "/api/v1/companies",
    order_by: "name, created_at (default) or updated_at",
    /// Companies of the organization.
    list,
    /// The companies the list's filters select, as CSV: every page, streamed (roles that may export).
    export: "/api/v1/companies/export.csv",
    columns: "`id, name, domain, industry, size, address, created_at`",
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
