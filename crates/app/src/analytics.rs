//! Sales figures: the deal summary and the pipeline funnel of the contract, which the dashboard
//! shows too. Amounts are summed over deals in the organization's currency (there are no
//! exchange rates); counts include every deal.

use chrono::{Duration, Utc};
use rapport_domain::deal::DealStatus;
use rapport_domain::{Action, Object, Ownership, PipelineId};
use rapport_store::deals::{self as store_deals, StageStatusTotal};
use rapport_store::pipelines::{self as store_pipelines, Pipeline};

use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CountAmount {
    pub count: i64,
    /// Minor units.
    pub amount: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DealSummary {
    pub total_count: i64,
    /// In the order of `DealStatus::ALL`.
    pub by_status: [(DealStatus, CountAmount); 4],
    pub average_won_amount: i64,
    pub win_rate: f64,
    pub days: i64,
    pub new_in_last_days: i64,
    pub currency: String,
}

impl DealSummary {
    pub fn of(&self, status: DealStatus) -> CountAmount {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunnelStage {
    pub key: String,
    pub name: String,
    pub count: i64,
    pub by_status: [(DealStatus, i64); 4],
    pub amount: i64,
    pub reached: i64,
    pub conversion_pct: f64,
}

#[derive(Clone, Debug)]
pub struct Funnel {
    pub pipeline: Pipeline,
    pub stages: Vec<FunnelStage>,
}

/// Builds the funnel of a pipeline from totals by (stage, status).
pub fn funnel_of(pipeline: &Pipeline, totals: &[StageStatusTotal]) -> Vec<FunnelStage> {
    let mut stages: Vec<FunnelStage> = pipeline
        .stages
        .iter()
        .map(|s| {
            let rows: Vec<&StageStatusTotal> = totals
                .iter()
                .filter(|t| t.pipeline_id == pipeline.id && t.stage == s.key)
                .collect();
            let by_status = DealStatus::ALL.map(|status| {
                (
                    status,
                    rows.iter()
                        .filter(|t| t.status == status.as_str())
                        .map(|t| t.n)
                        .sum(),
                )
            });
            FunnelStage {
                key: s.key.clone(),
                name: s.name.clone(),
                count: rows.iter().map(|t| t.n).sum(),
                by_status,
                amount: rows.iter().map(|t| t.amount).sum(),
                reached: 0,
                conversion_pct: 0.0,
            }
        })
        .collect();
    let won_total: i64 = stages.iter().map(|s| s.by_status[2].1).sum();
    for i in 0..stages.len() {
        let not_won_here_or_later: i64 =
            stages[i..].iter().map(|s| s.count - s.by_status[2].1).sum();
        stages[i].reached = not_won_here_or_later + won_total;
    }
    for i in 0..stages.len() {
        stages[i].conversion_pct = if i == 0 {
            100.0
        } else if stages[i - 1].reached == 0 {
            0.0
        } else {
            let pct = 100.0 * stages[i].reached as f64 / stages[i - 1].reached as f64;
            (pct * 100.0).round() / 100.0
        };
    }
    stages
}

impl App {
    pub async fn deal_summary(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        days: i64,
        meta: &RequestMeta,
    ) -> AppResult<DealSummary> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        if !(1..=3650).contains(&days) {
            return Err(AppError::invalid("days", "must be between 1 and 3650"));
        }
        let currency = tenant.organization.currency.clone();
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let totals = store_deals::totals_by_stage_and_status(&mut tx, None, &currency).await?;
        let new_in_last_days =
            store_deals::count_created_since(&mut tx, Utc::now() - Duration::days(days)).await?;
        tx.commit().await?;
        let by_status = DealStatus::ALL.map(|status| {
            let rows = totals.iter().filter(|t| t.status == status.as_str());
            let mut c = CountAmount::default();
            for r in rows {
                c.count += r.n;
                c.amount += r.amount;
            }
            (status, c)
        });
        let won = by_status[2].1;
        let lost = by_status[3].1;
        let win_rate = if won.count + lost.count == 0 {
            0.0
        } else {
            won.count as f64 / (won.count + lost.count) as f64
        };
        Ok(DealSummary {
            total_count: by_status.iter().map(|(_, c)| c.count).sum(),
            average_won_amount: if won.count == 0 {
                0
            } else {
                won.amount / won.count
            },
            by_status,
            win_rate,
            days,
            new_in_last_days,
            currency,
        })
    }

    pub async fn deal_funnel(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        pipeline_id: Option<PipelineId>,
        meta: &RequestMeta,
    ) -> AppResult<Funnel> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let pipeline = match pipeline_id {
            Some(id) => store_pipelines::find(&mut tx, id).await?,
            None => store_pipelines::default(&mut tx).await?,
        }
        .ok_or(AppError::NotFound)?;
        let totals = store_deals::totals_by_stage_and_status(
            &mut tx,
            Some(pipeline.id),
            &tenant.organization.currency,
        )
        .await?;
        tx.commit().await?;
        let stages = funnel_of(&pipeline, &totals);
        Ok(Funnel { pipeline, stages })
    }
}
