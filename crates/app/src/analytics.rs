//! Sales figures: the deal summary and the pipeline funnel of the contract, which the dashboard
//! shows too. Amounts are summed over deals in the organization's currency (there are no
//! exchange rates); counts include every deal.

use chrono::{Duration, DurationRound, Utc};
use rapport_domain::access::RecordAction;
use rapport_domain::deal::{DealStatus, StageKey};
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
    pub key: StageKey,
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
                        .filter(|t| t.status == status)
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
        // From the start of a minute: the same question for a minute, whose answer is kept
        // until the organization writes.
        let since = Utc::now() - Duration::days(days);
        let since = since.duration_trunc(Duration::minutes(1)).unwrap_or(since);
        let reach = tenant.reach(actor, RecordAction::View, "deal");
        let totals = store_deals::totals_and_created_since(
            &mut tx,
            None,
            &currency,
            Some(since),
            reach.owners(),
        )
        .await?;
        tx.commit().await?;
        let new_in_last_days = totals.iter().map(|t| t.created_since).sum();
        let by_status = DealStatus::ALL.map(|status| {
            let rows = totals.iter().filter(|t| t.status == status);
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
        let reach = tenant.reach(actor, RecordAction::View, "deal");
        let totals = store_deals::totals_by_stage_and_status(
            &mut tx,
            Some(pipeline.id),
            &tenant.organization.currency,
            reach.owners(),
        )
        .await?;
        tx.commit().await?;
        let stages = funnel_of(&pipeline, &totals);
        Ok(Funnel { pipeline, stages })
    }
}

/// Won and lost amounts of one calendar month.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthTotals {
    /// `2026-11`
    pub month: String,
    pub won: CountAmount,
    pub lost: CountAmount,
}

/// A member's results over the dashboard's period.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerTotals {
    pub owner_id: rapport_domain::UserId,
    pub won: CountAmount,
    pub open_weighted: i64,
}

/// Everything the sales dashboard shows, in the organization's currency.
#[derive(Clone, Debug)]
pub struct SalesDashboard {
    pub currency: String,
    pub open: CountAmount,
    pub weighted_forecast: i64,
    pub won_this_month: CountAmount,
    /// won / (won + lost) over deals closed in the last 90 days; `None` when none closed.
    pub win_rate_90_days: Option<f64>,
    pub funnel: Funnel,
    pub months: Vec<MonthTotals>,
    pub top_owners: Vec<OwnerTotals>,
    /// Leads created this month.
    pub new_leads_this_month: i64,
    /// Of the leads created in the last 90 days, the share converted with a deal; `None` when
    /// there were none.
    pub lead_to_deal_90_days: Option<f64>,
}

/// The first day of the month `back` months before `today`'s.
fn month_start(today: chrono::NaiveDate, back: u32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let mut year = today.year();
    let mut month = today.month() as i32 - back as i32;
    while month <= 0 {
        month += 12;
        year -= 1;
    }
    chrono::NaiveDate::from_ymd_opt(year, month as u32, 1).unwrap_or(today)
}

impl App {
    pub async fn sales_dashboard(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<SalesDashboard> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let currency = tenant.organization.currency.clone();
        let today = tenant.today();
        // Months and "this month" follow the organization's calendar; the boundaries are taken
        // at midnight UTC, close enough for monthly figures.
        let oldest = month_start(today, 5);
        let since = oldest.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let ninety_days_ago = Utc::now() - Duration::days(90);
        // Every figure counts the records the actor may see.
        let deals = tenant.reach(actor, RecordAction::View, "deal");
        let deals = deals.owners();
        let leads = tenant.reach(actor, RecordAction::View, "lead");
        let leads = leads.owners();
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (open_count, open_amount, weighted) =
            store_deals::open_totals(&mut tx, &currency, deals).await?;
        let closed = store_deals::closed_since(&mut tx, since.min(ninety_days_ago), deals).await?;
        let pipeline = store_pipelines::default(&mut tx)
            .await?
            .ok_or(AppError::NotFound)?;
        let totals =
            store_deals::totals_by_stage_and_status(&mut tx, Some(pipeline.id), &currency, deals)
                .await?;
        let open_weighted =
            store_deals::open_weighted_by_owner(&mut tx, pipeline.id, &currency, deals).await?;
        let month_began = month_start(today, 0)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let (new_leads_this_month, _) =
            rapport_store::leads::created_and_converted_since(&mut tx, month_began, leads).await?;
        let (leads_90, converted_90) =
            rapport_store::leads::created_and_converted_since(&mut tx, ninety_days_ago, leads)
                .await?;
        tx.commit().await?;

        let mut months: Vec<MonthTotals> = (0..6)
            .rev()
            .map(|back| MonthTotals {
                month: month_start(today, back).format("%Y-%m").to_string(),
                won: CountAmount::default(),
                lost: CountAmount::default(),
            })
            .collect();
        let mut won_90 = 0;
        let mut lost_90 = 0;
        let mut owners: Vec<OwnerTotals> = Vec::new();
        for d in &closed {
            let in_currency = d.currency == currency;
            if d.closed_at >= ninety_days_ago {
                if d.status == DealStatus::Won {
                    won_90 += 1;
                } else {
                    lost_90 += 1;
                }
            }
            let key = d.closed_at.format("%Y-%m").to_string();
            if let Some(m) = months.iter_mut().find(|m| m.month == key) {
                let slot = if d.status == DealStatus::Won {
                    &mut m.won
                } else {
                    &mut m.lost
                };
                slot.count += 1;
                if in_currency {
                    slot.amount += d.amount_minor;
                }
            }
            if d.status == DealStatus::Won && d.closed_at >= ninety_days_ago {
                let entry = match owners.iter_mut().position(|o| o.owner_id == d.owner_id) {
                    Some(i) => &mut owners[i],
                    None => {
                        owners.push(OwnerTotals {
                            owner_id: d.owner_id,
                            won: CountAmount::default(),
                            open_weighted: 0,
                        });
                        owners.last_mut().expect("just pushed")
                    }
                };
                entry.won.count += 1;
                if in_currency {
                    entry.won.amount += d.amount_minor;
                }
            }
        }
        for (owner, weighted) in open_weighted {
            if let Some(o) = owners.iter_mut().find(|o| o.owner_id == owner) {
                o.open_weighted += weighted;
            }
        }
        owners.sort_by_key(|o| std::cmp::Reverse(o.won.amount));
        owners.truncate(5);
        let this_month = months.last().map(|m| m.won).unwrap_or_default();
        Ok(SalesDashboard {
            currency,
            open: CountAmount {
                count: open_count,
                amount: open_amount,
            },
            weighted_forecast: weighted,
            won_this_month: this_month,
            win_rate_90_days: (won_90 + lost_90 > 0)
                .then(|| won_90 as f64 / (won_90 + lost_90) as f64),
            funnel: Funnel {
                stages: funnel_of(&pipeline, &totals),
                pipeline,
            },
            months,
            top_owners: owners,
            new_leads_this_month,
            lead_to_deal_90_days: (leads_90 > 0).then(|| converted_90 as f64 / leads_90 as f64),
        })
    }
}
