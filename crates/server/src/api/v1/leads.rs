//! `/api/v1/leads` and their conversion.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rapport_app::leads::{Conversion, ConversionDeal, LeadChange, LeadQuery};
use rapport_app::model::Lead;
use rapport_app::model::{LeadFilter, LeadSort};
use rapport_domain::lead::LeadStatus;
use rapport_domain::{LeadId, PipelineId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::{self, Order, RecordOut};
use super::types::{Page, SortKind, TagOut, present};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope, query_with_repeated};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadOut {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub source: Option<String>,
    /// new, working, qualified or disqualified
    pub status: String,
    /// 0..=100
    pub score: i64,
    /// Set once converted; the lead is then read-only.
    pub converted_at: Option<DateTime<Utc>>,
    pub converted_contact_id: Option<Uuid>,
    pub converted_company_id: Option<Uuid>,
    pub converted_deal_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub custom: serde_json::Value,
    pub tags: Vec<TagOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl kinds::ApiKind for Lead {
    type In = LeadIn;
    type Out = LeadOut;
    const PLURAL: &'static str = "leads";
    const SORTS: &'static [(&'static str, LeadSort)] = &[
        ("created_at", LeadSort::CreatedAt),
        ("name", LeadSort::Name),
        ("updated_at", LeadSort::UpdatedAt),
        ("score", LeadSort::Score),
    ];
    fn sort_kind(sort: LeadSort) -> SortKind {
        match sort {
            LeadSort::Name => SortKind::Text,
            LeadSort::Score => SortKind::Int,
            LeadSort::CreatedAt | LeadSort::UpdatedAt => SortKind::Time,
        }
    }
    fn query(raw: &str) -> ApiResult<rapport_app::kinds::ListQuery<Lead>> {
        {
            let (statuses, p) = query_with_repeated(Some(raw), "status")?;
            lead_query(statuses, p)
        }
    }
}

impl RecordOut<Lead> for LeadOut {
    fn set_tags(&mut self, tags: Vec<TagOut>) {
        self.tags = tags;
    }
}

impl From<rapport_app::model::Lead> for LeadOut {
    fn from(l: rapport_app::model::Lead) -> Self {
        Self {
            id: l.id.as_uuid(),
            organization_id: l.organization_id.as_uuid(),
            owner_id: l.owner_id.as_uuid(),
            name: l.name,
            email: l.email,
            phone: l.phone,
            company_name: l.company_name,
            source: l.source,
            status: l.status.as_str().to_owned(),
            score: l.score,
            converted_at: l.converted_at,
            converted_contact_id: l.converted_contact_id,
            converted_company_id: l.converted_company_id,
            converted_deal_id: l.converted_deal_id,
            custom: l.custom.0,
            tags: Vec::new(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub company_name: Option<Option<String>>,
    /// Where the lead came from: website, referral, event…
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    pub status: Option<String>,
    pub score: Option<i64>,
    pub owner_id: Option<Uuid>,
    /// Custom field values by key (checked against the object's fields; `null` clears one, keys
    /// not given stay).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<LeadIn> for LeadChange {
    fn from(l: LeadIn) -> Self {
        LeadChange {
            name: l.name,
            email: l.email,
            phone: l.phone,
            company_name: l.company_name,
            source: l.source,
            status: l.status,
            score: l.score,
            owner_id: l.owner_id.map(UserId),
            custom: l.custom,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadParams {
    /// Case-insensitive part of the name, email or company name.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub source: Option<String>,
    /// true: converted leads only; false: not converted.
    pub converted: Option<bool>,
    pub tag_id: Option<Uuid>,
    /// name, created_at (default), updated_at or score
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
pub struct LeadExportParams {
    /// Case-insensitive part of the name, email or company name.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub source: Option<String>,
    /// true: converted leads only; false: not converted.
    pub converted: Option<bool>,
    pub tag_id: Option<Uuid>,
    /// name, created_at (default), updated_at or score
    pub order_by: Option<String>,
    pub order: Option<String>,
}

impl From<LeadExportParams> for LeadParams {
    fn from(p: LeadExportParams) -> Self {
        LeadParams {
            search: p.search,
            owner_id: p.owner_id,
            source: p.source,
            converted: p.converted,
            tag_id: p.tag_id,
            order_by: p.order_by,
            order: p.order,
            ..LeadParams::default()
        }
    }
}

/// The query a list's parameters ask for (`status` may repeat, so it comes apart).
fn lead_query(statuses: Vec<String>, p: LeadParams) -> ApiResult<LeadQuery> {
    for s in &statuses {
        LeadStatus::parse(s)
            .map_err(|m| ApiError::bad_request("invalid_query", format!("status {m}")))?;
    }
    let filter = LeadFilter {
        search: p.search.clone(),
        statuses,
        owner_id: p.owner_id.map(UserId),
        source: p.source.clone(),
        converted: p.converted,
        tag_id: p.tag_id.map(rapport_domain::TagId),
    };
    kinds::list_query(Order::from(&p), filter)
}

/// Leads of the organization.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", security(("bearer" = [])),
    params(LeadParams,
        ("status" = Option<Vec<String>>, Query, description = "Repeatable: status=new&status=working"),
        ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<LeadOut>), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Page<LeadOut>>> {
    let (statuses, p): (Vec<String>, LeadParams) = query_with_repeated(raw.as_deref(), "status")?;
    let query = lead_query(statuses, p)?;
    kinds::list(&state, &scope, &meta, query).await
}

/// The leads the list's filters select, as CSV: every page, streamed (roles that may export).
#[utoipa::path(get, path = "/api/v1/leads/export.csv", tag = "leads", security(("bearer" = [])),
    params(LeadExportParams,
        ("status" = Option<Vec<String>>, Query, description = "Repeatable: status=new&status=working"),
        ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, description = "`id, name, email, phone, company_name, source, status, score, converted_at, created_at`", body = String, content_type = "text/csv"),
              (status = 403, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (statuses, p): (Vec<String>, LeadExportParams) =
        query_with_repeated(raw.as_deref(), "status")?;
    let query = lead_query(statuses, p.into())?;
    kinds::export::<Lead>(&state, scope, meta, query).await
}

kinds::record_verbs! {
    kind: Lead,
    body: LeadIn,
    out: LeadOut,
    tag: "leads",
    path: "/api/v1/leads",
    item: "/api/v1/leads/{id}",
    /// Create a lead.
    create,
    /// One lead.
    get,
    /// Change a lead (a converted lead is read-only: 409 `lead_converted`).
    update [(status = 409, body = Problem)],
    /// Delete a lead (restorable for 30 days).
    delete,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertIn {
    /// Link the contact to a company: the one whose domain is the email's, else a new one.
    #[serde(default)]
    pub create_company: bool,
    /// Also open a deal.
    #[serde(default)]
    pub create_deal: bool,
    pub deal_title: Option<String>,
    pub deal_amount: Option<f64>,
    pub pipeline_id: Option<Uuid>,
    pub stage: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConvertOut {
    pub lead: LeadOut,
    pub contact_id: Uuid,
    pub company_id: Option<Uuid>,
    /// Whether the company was created (false: an existing one was matched by domain).
    pub company_created: bool,
    pub deal_id: Option<Uuid>,
}

/// Convert a qualified lead into a contact, and optionally a company and a deal (409
/// `lead_not_qualified`, `lead_already_converted`).
#[utoipa::path(post, path = "/api/v1/leads/{id}/convert", tag = "leads", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = ConvertIn,
    responses((status = 200, body = ConvertOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn convert(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ConvertIn>,
) -> ApiResult<Json<ConvertOut>> {
    let done = state
        .app
        .convert_lead(
            &scope.auth.actor,
            &scope.tenant,
            LeadId(id),
            Conversion {
                with_company: body.create_company,
                deal: body.create_deal.then(|| ConversionDeal {
                    title: body.deal_title,
                    amount: body.deal_amount,
                    pipeline_id: body.pipeline_id.map(PipelineId),
                    stage: body.stage,
                }),
            },
            &meta,
        )
        .await?;
    Ok(Json(ConvertOut {
        lead: done.lead.into(),
        contact_id: done.contact_id.as_uuid(),
        company_id: done.company_id.map(|c| c.as_uuid()),
        company_created: done.company_created,
        deal_id: done.deal_id.map(|d| d.as_uuid()),
    }))
}
