//! `/api/v1/deals`, their timeline (`/deals/{id}/activities`) and `/api/v1/pipelines`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use rapport_app::deals::{PipelineChange, StageInput};
use rapport_app::model::Deal;
use rapport_app::model::{DealFilter, DealSort};
use rapport_app::timeline::{RecordRef, TimelinePaging};
use rapport_domain::deal::{DealStatus, StageKey, amount_minor};
use rapport_domain::{ActivityId, CompanyId, ContactId, DealId, PipelineId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds;
use super::types::{Page, Paging, SortKind, encode_cursor, present};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

kinds::record_answer! {
    Deal => DealOut + tags {
        contact_id: Option<Uuid> = |d| d.contact_id.map(Into::into),
        company_id: Option<Uuid> = |d| d.company_id.map(Into::into),
        owner_id: Uuid,
        title: String,
        /// At most 2 decimals.
        amount: f64 = |d| d.amount.major(),
        currency: String = |d| d.amount.currency.to_string(),
        /// new, in_progress, won or lost
        status: String = |d| d.status.as_str().to_owned(),
        /// The key of a stage of the deal's pipeline.
        stage: String,
        pipeline_id: Uuid,
        /// Percent, 0..=100; defaults from the stage.
        close_probability: i64,
        /// amount × close_probability / 100
        weighted_amount: f64 = |d| d.amount.weighted(d.close_probability).major(),
        expected_close_date: Option<NaiveDate>,
    }
}

impl kinds::ApiKind for Deal {
    type In = DealIn;
    type Out = DealOut;
    const PLURAL: &'static str = "deals";
    const SORTS: &'static [(&'static str, DealSort, SortKind)] = &[
        ("created_at", DealSort::CreatedAt, SortKind::Time),
        ("amount", DealSort::Amount, SortKind::Int),
        ("updated_at", DealSort::UpdatedAt, SortKind::Time),
        ("title", DealSort::Title, SortKind::Text),
        (
            "expected_close_date",
            DealSort::ExpectedCloseDate,
            SortKind::Date,
        ),
    ];
    type Params = DealParams;
    const REPEATED: Option<&'static str> = Some("status");
    fn filter(statuses: Vec<String>, p: DealParams) -> ApiResult<DealFilter> {
        let statuses = statuses
            .iter()
            .map(|s| {
                DealStatus::parse(s)
                    .map_err(|m| ApiError::bad_request("invalid_query", format!("status {m}")))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let stage = p
            .stage
            .as_deref()
            .map(StageKey::parse)
            .transpose()
            .map_err(|m| ApiError::bad_request("invalid_query", format!("stage {m}")))?;
        Ok(DealFilter {
            statuses,
            stage,
            pipeline_id: p.pipeline_id.map(PipelineId),
            owner_id: p.owner_id.map(UserId),
            contact_id: p.contact_id.map(ContactId),
            company_id: p.company_id.map(CompanyId),
            min_amount: amount_param("min_amount", p.min_amount)?,
            max_amount: amount_param("max_amount", p.max_amount)?,
            search: p.search,
            tag_id: p.tag_id.map(rapport_domain::TagId),
        })
    }
}

kinds::record_body! {
    DealIn {
        title: Option<String>,
        /// A number with at most 2 decimals.
        amount: Option<f64>,
        /// ISO 4217; defaults to the organization's currency.
        currency: Option<String>,
        /// new (default), in_progress, won or lost
        status: Option<String>,
        /// A stage key of the pipeline (default: its first stage).
        stage: Option<String>,
        /// Default: the organization's default pipeline.
        #[schema(value_type = Option<Uuid>)]
        pipeline_id: Option<PipelineId>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        contact_id: Option<Option<ContactId>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        company_id: Option<Option<CompanyId>>,
        /// Defaults to the caller.
        #[schema(value_type = Option<Uuid>)]
        owner_id: Option<UserId>,
        /// Percent, 0..=100 (default: the stage's win probability).
        close_probability: Option<i64>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<NaiveDate>)]
        expected_close_date: Option<Option<NaiveDate>>,
    }
}

/// The deals list's filters (and `status`, which may repeat).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DealParams {
    pub stage: Option<String>,
    pub pipeline_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub min_amount: Option<f64>,
    pub max_amount: Option<f64>,
    /// Case-insensitive part of the title.
    pub search: Option<String>,
    pub tag_id: Option<Uuid>,
}

fn amount_param(field: &str, v: Option<f64>) -> Result<Option<i64>, ApiError> {
    v.map(|a| {
        amount_minor(a).map_err(|m| ApiError::bad_request("invalid_query", format!("{field} {m}")))
    })
    .transpose()
}

kinds::list_verbs! {
    kind: Deal,
    out: DealOut,
    params: DealParams,
    tag: "deals",
    path: "/api/v1/deals",
    order_by: "amount, created_at (default), updated_at, title or expected_close_date",
    repeated: ("status" = Option<Vec<String>>, Query, description = "Repeatable: status=new&status=in_progress"),
    /// Deals of the organization.
    list,
    /// The deals the list's filters select, as CSV: every page, streamed (roles that may export).
    export: "/api/v1/deals/export.csv",
    columns: "`id, title, amount, currency, status, stage, close_probability, expected_close_date, contact_id, company_id, owner, created_at`",
}

kinds::record_verbs! {
    kind: Deal,
    body: DealIn,
    out: DealOut,
    tag: "deals",
    path: "/api/v1/deals",
    item: "/api/v1/deals/{id}",
    /// Create a deal.
    create [(status = 409, body = Problem)],
    /// One deal.
    get,
    /// Change a deal: stage moves backwards only for owners and admins (409
    /// `stage_rollback_forbidden`); `won` needs an amount above 0 (409 `deal_amount_required_for_won`).
    update [(status = 409, body = Problem)],
    /// Delete a deal.
    delete,
}

// ---- Activities -------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityOut {
    pub id: Uuid,
    pub deal_id: Uuid,
    /// Null for entries written by the system without a person behind them.
    pub author_id: Option<Uuid>,
    /// comment, call, meeting, email (written by people); stage_changed, status_changed,
    /// owner_changed, task_created, task_completed (written by the system)
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<rapport_app::model::Activity> for ActivityOut {
    fn from(a: rapport_app::model::Activity) -> Self {
        Self {
            id: a.id.as_uuid(),
            deal_id: a.record_id,
            author_id: a.author_id,
            kind: a.kind,
            payload: a.payload.0,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityIn {
    /// comment, call, meeting or email
    #[serde(rename = "type")]
    pub kind: String,
    /// comment: `{text, mentions?: [user id], portal?: bool}` (`portal`: shown to the clients of a deal or custom record in the client portal); call/meeting/email: `{occurred_at?, duration_minutes?,
    /// outcome?, notes?}`
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// A deal's timeline, newest first.
#[utoipa::path(get, path = "/api/v1/deals/{id}/activities", tag = "deals", security(("bearer" = [])),
    params(("id" = Uuid, Path), Paging, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<ActivityOut>), (status = 404, body = Problem)))]
pub async fn activities(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<ActivityOut>>> {
    let (page, page_size) = (paging.page()?, paging.page_size()?);
    let before = paging.cursor()?.map(|(at, id)| (at, ActivityId(id)));
    let result = state
        .app
        .timeline(
            &scope.auth.actor,
            &scope.tenant,
            RecordRef::Deal(DealId(id)),
            TimelinePaging {
                before,
                page,
                page_size,
            },
            &meta,
        )
        .await?;
    Ok(Json(Page {
        next_cursor: result.next.map(|(at, id)| encode_cursor(at, id.as_uuid())),
        items: result.items.into_iter().map(Into::into).collect(),
        total: result.total,
        total_is_exact: true,
        page,
        page_size,
    }))
}

/// Add a comment (or a logged call, meeting or email) to a deal's timeline.
#[utoipa::path(post, path = "/api/v1/deals/{id}/activities", tag = "deals", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = ActivityIn,
    responses((status = 201, body = ActivityOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_activity(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ActivityIn>,
) -> ApiResult<(StatusCode, Json<ActivityOut>)> {
    let activity = state
        .app
        .add_activity(
            &scope.auth.actor,
            &scope.tenant,
            RecordRef::Deal(DealId(id)),
            &body.kind,
            body.payload,
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(activity.into())))
}

// ---- Pipelines --------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct StageOut {
    pub key: String,
    pub name: String,
    pub position: i64,
    /// Win probability in percent: the default `close_probability` of deals in this stage.
    pub probability: i64,
    /// A deal sitting this many days in the stage is "rotting"; null: never.
    pub rotting_days: Option<i64>,
    /// Deal fields a deal must have to enter this stage (`amount`, `expected_close_date`,
    /// `contact_id`, `company_id` or a custom field's key); a change that would enter it
    /// without them → 422 naming each missing field.
    pub required_fields: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineOut {
    pub id: Uuid,
    pub name: String,
    pub is_default: bool,
    pub stages: Vec<StageOut>,
    /// The fields the board's cards show under their title, in order (empty: amount and owner).
    pub card_fields: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<rapport_app::model::Pipeline> for PipelineOut {
    fn from(p: rapport_app::model::Pipeline) -> Self {
        Self {
            id: p.id.as_uuid(),
            name: p.name,
            is_default: p.is_default,
            stages: p
                .stages
                .into_iter()
                .map(|s| StageOut {
                    key: s.key.into(),
                    name: s.name,
                    position: s.position,
                    probability: s.probability,
                    rotting_days: s.rotting_days,
                    required_fields: s.required_fields.0,
                })
                .collect(),
            card_fields: p.card_fields.0,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageIn {
    /// Lower-case letters, digits, underscores; derived from the name when absent.
    pub key: Option<String>,
    pub name: String,
    pub probability: Option<i64>,
    pub rotting_days: Option<i64>,
    /// Deal fields a deal must have to enter this stage; absent on update: the stage keeps
    /// the ones it has.
    pub required_fields: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineIn {
    pub name: Option<String>,
    /// The whole ordered list of stages (replaces the current one on update).
    pub stages: Option<Vec<StageIn>>,
    /// The fields the board's cards show (`amount`, `owner`, `close_probability`,
    /// `expected_close_date`, `contact_id`, `company_id` or a custom field's key); absent on
    /// update: kept.
    pub card_fields: Option<Vec<String>>,
    /// Make this the organization's default pipeline.
    #[serde(default)]
    pub is_default: bool,
}

fn stage_inputs(stages: Vec<StageIn>) -> Vec<StageInput> {
    stages
        .into_iter()
        .map(|s| StageInput {
            key: s.key,
            name: s.name,
            probability: s.probability,
            rotting_days: s.rotting_days,
            required_fields: s.required_fields,
        })
        .collect()
}

/// Pipelines with their stages, the default first.
#[utoipa::path(get, path = "/api/v1/pipelines", tag = "deals", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = [PipelineOut])))]
pub async fn pipelines(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<Vec<PipelineOut>>> {
    let mut list = state
        .app
        .pipelines(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    list.sort_by_key(|p| !p.is_default);
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One pipeline.
#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = PipelineOut), (status = 404, body = Problem)))]
pub async fn pipeline(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PipelineOut>> {
    Ok(Json(
        state
            .app
            .pipeline(
                &scope.auth.actor,
                &scope.tenant,
                Some(PipelineId(id)),
                &meta,
            )
            .await?
            .into(),
    ))
}

/// Create a pipeline (owner/admin).
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "deals", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = PipelineIn,
    responses((status = 201, body = PipelineOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_pipeline(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PipelineIn>,
) -> ApiResult<(StatusCode, Json<PipelineOut>)> {
    let app = &state.app;
    let created = app
        .create_pipeline(
            &scope.auth.actor,
            &scope.tenant,
            body.name.as_deref().unwrap_or(""),
            stage_inputs(body.stages.unwrap_or_default()),
            body.card_fields.unwrap_or_default(),
            &meta,
        )
        .await?;
    let created = if body.is_default {
        app.update_pipeline(
            &scope.auth.actor,
            &scope.tenant,
            created.id,
            PipelineChange {
                make_default: true,
                ..PipelineChange::default()
            },
            &meta,
        )
        .await?
    } else {
        created
    };
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Rename a pipeline, replace its stages, or make it the default (owner/admin). A stage still
/// holding deals cannot be removed (409 `stage_in_use`).
#[utoipa::path(patch, path = "/api/v1/pipelines/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = PipelineIn,
    responses((status = 200, body = PipelineOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_pipeline(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PipelineIn>,
) -> ApiResult<Json<PipelineOut>> {
    Ok(Json(
        state
            .app
            .update_pipeline(
                &scope.auth.actor,
                &scope.tenant,
                PipelineId(id),
                PipelineChange {
                    name: body.name,
                    stages: body.stages.map(stage_inputs),
                    card_fields: body.card_fields,
                    make_default: body.is_default,
                },
                &meta,
            )
            .await?
            .into(),
    ))
}

/// Delete a pipeline without deals that is not the default (owner/admin).
#[utoipa::path(delete, path = "/api/v1/pipelines/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_pipeline(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_pipeline(&scope.auth.actor, &scope.tenant, PipelineId(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
