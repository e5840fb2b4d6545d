//! `/api/v1/analytics/deals/*`: the figures of the sales dashboard.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use rapport_domain::PipelineId;
use rapport_domain::deal::amount_major;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct CountAmountOut {
    pub count: i64,
    pub amount: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    pub total_count: i64,
    /// new, in_progress, won, lost
    pub by_status: BTreeMap<String, CountAmountOut>,
    pub average_won_amount: f64,
    /// won / (won + lost); 0 when both are 0.
    pub win_rate: f64,
    pub days: i64,
    /// Deals created in the last `days` days.
    pub new_in_last_days: i64,
    /// Amounts are sums over deals in this currency (the organization's).
    pub currency: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryParams {
    /// 1..=3650, default 30.
    pub days: Option<i64>,
}

/// Deal counts and amounts by status, win rate and recent deals.
#[utoipa::path(get, path = "/api/v1/analytics/deals/summary", tag = "analytics", security(("bearer" = [])),
    params(SummaryParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = SummaryOut), (status = 422, body = Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<SummaryParams>,
) -> ApiResult<Json<SummaryOut>> {
    let s = state
        .app
        .deal_summary(
            &scope.auth.actor,
            &scope.tenant,
            p.days.unwrap_or(30),
            &meta,
        )
        .await?;
    Ok(Json(SummaryOut {
        total_count: s.total_count,
        by_status: s
            .by_status
            .iter()
            .map(|(status, c)| {
                (
                    status.as_str().to_owned(),
                    CountAmountOut {
                        count: c.count,
                        amount: amount_major(c.amount),
                    },
                )
            })
            .collect(),
        average_won_amount: amount_major(s.average_won_amount),
        win_rate: s.win_rate,
        days: s.days,
        new_in_last_days: s.new_in_last_days,
        currency: s.currency,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelStageOut {
    pub stage: String,
    pub count: i64,
    /// Deal counts by status among the deals in this stage.
    pub by_status: BTreeMap<String, i64>,
    pub amount: f64,
    /// Deals that got at least this far.
    pub reached: i64,
    pub conversion_pct: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelOut {
    pub pipeline_id: Uuid,
    pub stages: Vec<FunnelStageOut>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelParams {
    /// Default: the organization's default pipeline.
    pub pipeline_id: Option<Uuid>,
}

/// The pipeline funnel: deals per stage and how many got that far.
#[utoipa::path(get, path = "/api/v1/analytics/deals/funnel", tag = "analytics", security(("bearer" = [])),
    params(FunnelParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FunnelOut), (status = 404, body = Problem)))]
pub async fn funnel(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<FunnelParams>,
) -> ApiResult<Json<FunnelOut>> {
    let f = state
        .app
        .deal_funnel(
            &scope.auth.actor,
            &scope.tenant,
            p.pipeline_id.map(PipelineId),
            &meta,
        )
        .await?;
    Ok(Json(FunnelOut {
        pipeline_id: f.pipeline.id.as_uuid(),
        stages: f
            .stages
            .into_iter()
            .map(|s| FunnelStageOut {
                stage: s.key.into(),
                count: s.count,
                by_status: s
                    .by_status
                    .iter()
                    .map(|(status, n)| (status.as_str().to_owned(), *n))
                    .collect(),
                amount: amount_major(s.amount),
                reached: s.reached,
                conversion_pct: s.conversion_pct,
            })
            .collect(),
    }))
}
