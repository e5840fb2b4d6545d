//! The sales dashboard, the organization's landing page: the figures of the pipeline and two
//! charts drawn on the server as SVG (styled by the theme, readable in light and dark).

use std::fmt::Write;

use askama::Template;
use rapport_app::analytics::{CountAmount, FunnelStage, MonthTotals, SalesDashboard};
use rapport_app::model::TaskFilter;
use rapport_domain::deal::compact_amount;

use super::deals::{TaskRow, task_rows};
use super::records::{People, money};
use super::workspace::{Shell, shell};
use super::{PageContext, PageResult, render};

pub struct OwnerRow {
    pub name: String,
    pub won: String,
    pub won_count: i64,
    pub open_weighted: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    open_value: String,
    open_count: i64,
    forecast: String,
    won_month: String,
    won_month_count: i64,
    win_rate: String,
    new_leads: i64,
    lead_conversion: String,
    funnel_svg: String,
    funnel_label: String,
    months_svg: String,
    months_label: String,
    owners: Vec<OwnerRow>,
    overdue: Vec<TaskRow>,
    has_deals: bool,
    can_admin: bool,
    member_count: usize,
    branded: bool,
    back: String,
}

/// Escapes text for SVG/HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal, centred bars: one row per stage, as wide as the deals that reached it.
pub fn funnel_svg(stages: &[FunnelStage], currency: &str) -> String {
    let width = 460.0;
    let row = 40.0;
    let height = (stages.len() as f64 * row).max(row);
    let max = stages.iter().map(|s| s.reached).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-hidden="true" focusable="false">"#
    );
    let bar_area = 170.0;
    for (i, s) in stages.iter().enumerate() {
        let y = i as f64 * row;
        let w = (s.reached as f64 / max * bar_area).max(2.0);
        let x = 112.0 + (bar_area - w) / 2.0;
        let _ = write!(
            svg,
            r#"<text class="chart-label" x="0" y="{ty}">{name}</text><rect class="chart-bar" x="{x:.1}" y="{by}" width="{w:.1}" height="{bh}" rx="4"><title>{name}: {reached} reached, {count} here</title></rect><text class="chart-value" x="{vx}" y="{ty}">{count} · {amount} · {pct:.0}%</text>"#,
            ty = y + row / 2.0 + 5.0,
            by = y + 6.0,
            bh = row - 12.0,
            name = esc(&s.name),
            reached = s.reached,
            count = s.count,
            vx = 112.0 + bar_area + 10.0,
            amount = esc(&format!("{} {currency}", compact_amount(s.amount))),
            pct = s.conversion_pct,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A column's label: whole thousands past 10k, so neighbouring labels don't collide.
fn short(minor: i64) -> String {
    if minor.abs() >= 1_000_000 && minor.abs() < 100_000_000 {
        format!("{}k", minor / 100_000)
    } else {
        compact_amount(minor)
    }
}

/// Won and lost amounts per month, as pairs of columns.
pub fn months_svg(months: &[MonthTotals]) -> String {
    let (width, height, base) = (460.0, 200.0, 172.0);
    let max = months
        .iter()
        .flat_map(|m| [m.won.amount, m.lost.amount])
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = width / months.len().max(1) as f64;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-hidden="true" focusable="false"><line class="chart-axis" x1="0" y1="{base}" x2="{width}" y2="{base}"/>"#
    );
    let height_of =
        |v: &CountAmount| (v.amount as f64 / max * 140.0).max(if v.count > 0 { 2.0 } else { 0.0 });
    for (i, m) in months.iter().enumerate() {
        let x = i as f64 * slot + slot / 2.0;
        // Two amounts written at about the same height would run into each other ("155k184k"):
        // then each leans away from the other, the won one ending and the lost one starting
        // near its column's middle.
        let side_by_side = m.won.count > 0
            && m.lost.count > 0
            && (height_of(&m.won) - height_of(&m.lost)).abs() < 12.0;
        for (j, (class, v)) in [("chart-won", m.won), ("chart-lost", m.lost)]
            .into_iter()
            .enumerate()
        {
            let h = height_of(&v);
            let bx = x - 23.0 + j as f64 * 24.0;
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{bx:.1}" y="{y:.1}" width="22" height="{h:.1}" rx="3"><title>{label}: {count} {what}, {amount}</title></rect>"#,
                y = base - h,
                label = esc(&m.month),
                count = v.count,
                what = if j == 0 { "won" } else { "lost" },
                amount = compact_amount(v.amount),
            );
            if v.count > 0 {
                let (tx, anchor) = match (side_by_side, j) {
                    (false, _) => (bx + 11.0, "middle"),
                    (true, 0) => (bx + 17.0, "end"),
                    (true, _) => (bx + 5.0, "start"),
                };
                let _ = write!(
                    svg,
                    r#"<text class="chart-value" x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}">{amount}</text>"#,
                    ty = base - h - 6.0,
                    amount = short(v.amount),
                );
            }
        }
        let label = chrono::NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d")
            .map(|d| d.format("%b").to_string())
            .unwrap_or_else(|_| m.month.clone());
        let _ = write!(
            svg,
            r#"<text class="chart-label" x="{x:.1}" y="{ly}" text-anchor="middle">{label}</text>"#,
            ly = base + 20.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The home of a role that sees no deals: where its work is.
#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    shell: super::workspace::Shell,
}

pub async fn dashboard(ctx: &PageContext) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    if !tenant.may(
        rapport_domain::Action::View,
        rapport_domain::Object::Deal,
        rapport_domain::Ownership::NotApplicable,
    ) {
        let shell = shell(ctx, session, &tenant, "home", &["Home"]).await;
        return Ok(super::render(&HomePage { shell }));
    }
    let d: SalesDashboard = app.sales_dashboard(actor, &tenant, &ctx.meta).await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let today = tenant.today();
    let overdue = task_rows(
        ctx,
        actor,
        &tenant,
        &people,
        TaskFilter {
            assignee_id: Some(actor.user_id),
            is_done: Some(false),
            due_before: Some(today),
            ..TaskFilter::default()
        },
    )
    .await;
    let cur = &d.currency;
    let funnel_label = d
        .funnel
        .stages
        .iter()
        .map(|s| format!("{}: {} reached, {} here", s.name, s.reached, s.count))
        .collect::<Vec<_>>()
        .join("; ");
    let months_label = d
        .months
        .iter()
        .map(|m| {
            format!(
                "{}: won {} ({}), lost {} ({})",
                m.month,
                m.won.count,
                money(m.won.amount, cur),
                m.lost.count,
                money(m.lost.amount, cur)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let has_deals = d.funnel.stages.iter().any(|s| s.count > 0) || d.open.count > 0;
    let page = DashboardPage {
        shell: shell(ctx, session, &tenant, "home", &["Home"]).await,
        open_value: money(d.open.amount, cur),
        open_count: d.open.count,
        forecast: money(d.weighted_forecast, cur),
        won_month: money(d.won_this_month.amount, cur),
        won_month_count: d.won_this_month.count,
        win_rate: d
            .win_rate_90_days
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "—".into()),
        new_leads: d.new_leads_this_month,
        lead_conversion: d
            .lead_to_deal_90_days
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "—".into()),
        funnel_svg: funnel_svg(&d.funnel.stages, cur),
        funnel_label,
        months_svg: months_svg(&d.months),
        months_label,
        owners: d
            .top_owners
            .iter()
            .map(|o| OwnerRow {
                name: people.name(o.owner_id),
                won: money(o.won.amount, cur),
                won_count: o.won.count,
                open_weighted: money(o.open_weighted, cur),
            })
            .collect(),
        overdue,
        has_deals,
        can_admin: tenant.role.administers(),
        member_count: people.active(),
        branded: tenant.organization.has_logo || tenant.organization.primary_color.is_some(),
        back: format!("{}/", ctx.base),
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_domain::deal::DealStatus;

    #[test]
    fn stage_names_are_escaped_in_charts() {
        let stage = FunnelStage {
            key: rapport_domain::deal::StageKey::from_name("x"),
            name: "<script>alert(1)</script>".into(),
            count: 1,
            by_status: DealStatus::ALL.map(|s| (s, 0)),
            amount: 100,
            reached: 1,
            conversion_pct: 100.0,
        };
        let svg = funnel_svg(&[stage], "EUR");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn month_columns_scale_to_the_largest_amount() {
        let m = |month: &str, won: i64, lost: i64| MonthTotals {
            month: month.into(),
            won: CountAmount {
                count: 1,
                amount: won,
            },
            lost: CountAmount {
                count: 1,
                amount: lost,
            },
        };
        let svg = months_svg(&[m("2026-10", 1000, 500), m("2026-11", 2000, 0)]);
        // The largest column is the full 140 units tall; half the amount, half the height.
        assert!(svg.contains(r#"height="140.0""#), "{svg}");
        assert!(svg.contains(r#"height="70.0""#), "{svg}");
        assert!(svg.contains(">Oct<") && svg.contains(">Nov<"));
        // Far apart, each amount stands centred over its column.
        // (Four amounts and two month names.)
        assert_eq!(svg.matches(r#"text-anchor="middle">"#).count(), 6, "{svg}");
    }

    #[test]
    fn amounts_of_columns_of_about_the_same_height_lean_apart() {
        let m = |won: i64, lost: i64| MonthTotals {
            month: "2026-09".into(),
            won: CountAmount {
                count: 2,
                amount: won,
            },
            lost: CountAmount {
                count: 3,
                amount: lost,
            },
        };
        let svg = months_svg(&[m(15_500_000, 18_400_000), m(100_000_000, 10_000_000)]);
        let won = svg.find(r#"text-anchor="end">155k<"#);
        let lost = svg.find(r#"text-anchor="start">184k<"#);
        assert!(won.is_some() && lost.is_some(), "{svg}");
        // The other month's columns differ by far: their two amounts stay centred, like the two
        // month names.
        assert_eq!(svg.matches(r#"text-anchor="middle">"#).count(), 4, "{svg}");
    }
}
