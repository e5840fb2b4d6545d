//! Keyset paging: a list continues after the last row it showed (its sort value and id), so pages
//! stay stable under inserts and cost the same at row 10 and row 1,000,000.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{Arg, Query};

/// The sort value of the row a page ended on.
#[derive(Clone, Debug, PartialEq)]
pub enum SortValue {
    /// Compared without regard to case (the sort column holds `lower(…)`, and the value is
    /// lowered the same way).
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
    /// A nullable date sorted with missing dates last: its sort column (`close_key`, `due_key`)
    /// holds [`NO_DATE`] where the date is missing.
    Date(NaiveDate),
    /// A number of the value index (a custom value a list is sorted by).
    Num(f64),
    /// No value: in a list sorted by a custom value, past the records that have one.
    Missing,
}

/// The date that stands for "no date" in sort columns, so rows without one sort last.
pub const NO_DATE: &str = "9999-12-31";

/// The part of a list one page shows: its order, the row the previous page ended on (its sort
/// value and id), the rows to skip (numbered pages) and how many rows to show.
#[derive(Clone, Copy, Debug)]
pub struct Window<'a, S, Id> {
    pub sort: S,
    pub descending: bool,
    pub after: Option<&'a (SortValue, Id)>,
    pub offset: u64,
    pub limit: u64,
}

impl<S, Id: Copy + Into<Arg>> Window<'_, S, Id> {
    /// The window's rows of `select` (a `SELECT … FROM … WHERE …`) ordered by the sort column
    /// `expr`, with the count [`page_and_count`] adds: one statement, run by [`fetch_page`].
    pub fn of(&self, select: Query, expr: &str, cap: Option<i64>, plan: Plan) -> Query {
        page_and_count(
            select,
            expr,
            self.after.map(|(v, id)| (v, *id)),
            self.descending,
            (self.offset, self.limit),
            cap,
            plan,
        )
    }
}

/// How PostgreSQL plans a page's statement, prepared once per connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Once, for any values: the limit is written out (PostgreSQL costs a bound limit as a tenth
    /// of the rows, so a page with one never looked cheap enough to keep a generic plan and was
    /// planned anew on every run). For conditions whose best plan does not hang on their values.
    Once,
    /// For each run's values: the limit and offset are bound. For a text search, whose plan
    /// (read in order, or through the index) depends on how common the text is.
    EachRun,
}

/// Appends `AND expr >= v AND (expr > v OR (expr = v AND id > last_id))` (or `<` when
/// descending), then the ORDER BY and a LIMIT one row over `limit` (to tell whether a next page
/// exists). `expr` is a plain column (see the sort keys of migration 0014): on PostgreSQL, under
/// row-level security, only such a condition bounds the index scan.
pub fn page(
    q: &mut Query,
    expr: &str,
    after: Option<(&SortValue, impl Into<Arg>)>,
    descending: bool,
    (offset, limit): (u64, u64),
    plan: Plan,
) {
    let (cmp, dir) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((value, id)) = after {
        let v = match value {
            SortValue::Text(t) => format!("lower({})", q.push_arg(t.as_str())),
            SortValue::Time(t) => q.push_arg(*t),
            SortValue::Int(i) => q.push_arg(*i),
            SortValue::Date(d) => q.push_arg(*d),
            SortValue::Num(n) => q.push_arg(*n),
            // Not a position in a column's order: nothing follows it there.
            SortValue::Missing => "NULL".to_owned(),
        };
        let i = q.push_arg(id);
        // The first condition is implied by the second; it is what bounds the index scan, so a
        // page deep in a list costs what the first one does.
        q.push_sql(&format!(
            " AND {expr} {cmp}= {v} AND ({expr} {cmp} {v} OR ({expr} = {v} AND id {cmp} {i}))"
        ));
    }
    q.push_sql(&format!(" ORDER BY {expr} {dir}, id {dir}"));
    match plan {
        // A page by cursor, or the first, skips nothing, and says so by saying nothing.
        Plan::Once => {
            q.push_sql(&format!(" LIMIT {}", limit + 1));
            if offset > 0 {
                let o = q.push_arg(offset as i64);
                q.push_sql(&format!(" OFFSET {o}"));
            }
        }
        Plan::EachRun => {
            let l = q.push_arg(limit as i64 + 1);
            let o = q.push_arg(offset as i64);
            q.push_sql(&format!(" LIMIT {l} OFFSET {o}"));
        }
    }
}

/// One page of the rows `select` finds (a `SELECT * FROM … WHERE …`, without order or limit), as
/// [`page`] cuts it, and, given a `cap`, how many rows `select` finds in all, counting at most
/// `cap`: one statement (run it with [`fetch_page`]).
pub fn page_and_count(
    select: Query,
    expr: &str,
    after: Option<(&SortValue, impl Into<Arg>)>,
    descending: bool,
    window: (u64, u64),
    cap: Option<i64>,
    plan: Plan,
) -> Query {
    let total = match cap {
        Some(cap) => format!(
            "(SELECT COUNT(*) FROM (SELECT 1 FROM matching LIMIT {}) AS capped)",
            cap + 1
        ),
        None => "CAST(0 AS BIGINT)".to_owned(),
    };
    // Not materialized: each use is planned as the plain query it is, so the page still seeks
    // through its index and the count stops at the cap.
    let mut q = select.wrap(|matching| {
        format!(
            "WITH matching AS NOT MATERIALIZED ({matching}) \
             SELECT matching.*, {total} AS total_capped FROM matching WHERE 1 = 1"
        )
    });
    page(&mut q, expr, after, descending, window, plan);
    q
}

/// Runs a [`page_and_count`] query: the rows, and the count when one was asked for and the page
/// is not empty (the count comes with the rows): (count, exact).
pub async fn fetch_page<T: crate::Record>(
    tx: &mut crate::TenantTx,
    q: Query,
    cap: Option<i64>,
) -> crate::Result<(Vec<T>, Option<(i64, bool)>)> {
    #[derive(sqlx::FromRow)]
    struct Counted<T> {
        #[sqlx(flatten)]
        record: T,
        total_capped: i64,
    }
    let rows: Vec<Counted<T>> = tx.raw().fetch_all(q).await?;
    let total = match (cap, rows.first()) {
        (Some(cap), Some(row)) => Some((row.total_capped.min(cap), row.total_capped <= cap)),
        _ => None,
    };
    Ok((rows.into_iter().map(|r| r.record).collect(), total))
}

/// Runs `SELECT COUNT(*) AS n FROM (SELECT 1 FROM … WHERE …` (the query so far), counting at most
/// `cap` rows: (count, exact). A big list is never counted whole.
pub async fn capped_count(
    tx: &mut crate::TenantTx,
    mut q: Query,
    cap: i64,
) -> crate::Result<(i64, bool)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let p = q.push_arg(cap + 1);
    q.push_sql(&format!(" LIMIT {p}) AS capped"));
    let row: Row = tx.raw().fetch_one(q).await?;
    Ok((row.n.min(cap), row.n <= cap))
}
