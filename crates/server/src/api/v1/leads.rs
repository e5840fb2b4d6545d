//! `/api/v1/leads` and their conversion.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rapport_app::leads::{Conversion, ConversionDeal};
use rapport_app::model::Lead;
use rapport_app::model::{LeadFilter, LeadSort};
use rapport_domain::lead::LeadStatus;
use rapport_domain::{LeadId, PipelineId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds;
use super::types::{Page, SortKind, present};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

kinds::record_answer! {
    Lead => LeadOut + tags {
        owner_id: Uuid,
        name: String,
        email: Option<String>,
        phone: Option<String>,
        company_name: Option<String>,
        source: Option<String>,
        /// new, working, qualified or disqualified
        status: String = |l| l.status.as_str().to_owned(),
        /// 0..=100
        score: i64,
        /// Set once converted; the lead is then read-only.
        converted_at: Option<DateTime<Utc>>,
        converted_contact_id: Option<Uuid> = |l| l.converted_contact_id.map(Into::into),
        converted_company_id: Option<Uuid> = |l| l.converted_company_id.map(Into::into),
        converted_deal_id: Option<Uuid> = |l| l.converted_deal_id.map(Into::into),
    }
}

impl kinds::ApiKind for Lead {
    type In = LeadIn;
    type Out = LeadOut;
    const PLURAL: &'static str = "leads";
    const SORTS: &'static [(&'static str, LeadSort, SortKind)] = &[
        ("created_at", LeadSort::CreatedAt, SortKind::Time),
        ("name", LeadSort::Name, SortKind::Text),
        ("updated_at", LeadSort::UpdatedAt, SortKind::Time),
        ("score", LeadSort::Score, SortKind::Int),
    ];
    type Params = LeadParams;
    const REPEATED: Option<&'static str> = Some("status");
    fn filter(statuses: Vec<String>, p: LeadParams) -> ApiResult<LeadFilter> {
        for s in &statuses {
            LeadStatus::parse(s)
                .map_err(|m| ApiError::bad_request("invalid_query", format!("status {m}")))?;
        }
        Ok(LeadFilter {
            search: p.search,
            statuses,
            owner_id: p.owner_id.map(UserId),
            source: p.source,
            converted: p.converted,
            tag_id: p.tag_id.map(rapport_domain::TagId),
        })
    }
}

kinds::record_body! {
    LeadIn {
        name: Option<String>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        email: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        phone: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        company_name: Option<Option<String>>,
        /// Where the lead came from: website, referral, event…
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        source: Option<Option<String>>,
        status: Option<String>,
        score: Option<i64>,
        #[schema(value_type = Option<Uuid>)]
        owner_id: Option<UserId>,
    }
}

/// The leads list's filters (and `status`, which may repeat).
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
}

kinds::list_verbs! {
    kind: Lead,
    out: LeadOut,
    params: LeadParams,
    tag: "leads",
    path: "/api/v1/leads",
    order_by: "name, created_at (default), updated_at or score",
    repeated: ("status" = Option<Vec<String>>, Query, description = "Repeatable: status=new&status=working"),
    /// Leads of the organization.
    list,
    /// The leads the list's filters select, as CSV: every page, streamed (roles that may export).
    export: "/api/v1/leads/export.csv",
    columns: "`id, name, email, phone, company_name, source, status, score, converted_at, created_at`",
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
