//! Deals: opportunities moving through a pipeline's stages.

use chrono::{DateTime, NaiveDate, Utc};
use rapport_domain::deal::{DealStatus, StageKey};
use rapport_domain::money::Money;
use rapport_domain::{CompanyId, ContactId, DealId, OrganizationId, PipelineId, UserId};

use crate::keyset::SortValue;
use rapport_domain::TagId;

use crate::tables::{self, Columns, KindTable};
use crate::text::Searchable;
use crate::{Query, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Deal {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: DealId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub pipeline_id: PipelineId,
    #[sqlx(try_from = "String")]
    pub stage: StageKey,
    #[sqlx(try_from = "crate::Link")]
    pub contact_id: Option<ContactId>,
    #[sqlx(try_from = "crate::Link")]
    pub company_id: Option<CompanyId>,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub title: String,
    #[sqlx(flatten, try_from = "crate::Amount")]
    pub amount: Money,
    #[sqlx(try_from = "String")]
    pub status: DealStatus,
    pub close_probability: i64,
    pub expected_close_date: Option<NaiveDate>,
    pub stage_changed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub custom: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, organization_id, pipeline_id, stage, contact_id, company_id, owner_id, title, amount_minor, \
    currency, status, close_probability, expected_close_date, stage_changed_at, closed_at, custom, created_at, updated_at";

/// The fields a deal is written with.
#[derive(Clone, Debug, PartialEq)]
pub struct DealFields {
    pub pipeline_id: PipelineId,
    pub stage: StageKey,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub owner_id: UserId,
    pub title: String,
    pub amount: Money,
    pub status: DealStatus,
    pub close_probability: i64,
    pub expected_close_date: Option<NaiveDate>,
}

impl DealFields {
    fn columns(&self) -> Columns {
        vec![
            ("pipeline_id", self.pipeline_id.into()),
            ("stage", (&self.stage).into()),
            ("contact_id", self.contact_id.into()),
            ("company_id", self.company_id.into()),
            ("owner_id", self.owner_id.into()),
            ("title", (&self.title).into()),
            ("amount_minor", self.amount.minor.into()),
            ("currency", self.amount.currency.into()),
            ("status", self.status.as_str().into()),
            ("close_probability", self.close_probability.into()),
            ("expected_close_date", self.expected_close_date.into()),
        ]
    }
}

pub async fn insert(tx: &mut TenantTx, fields: &DealFields) -> Result<Deal> {
    let now = crate::now();
    let mut columns = fields.columns();
    columns.push(("stage_changed_at", now.into()));
    columns.push(("closed_at", fields.status.is_closed().then_some(now).into()));
    tables::insert(tx, columns).await
}

/// Writes the fields; `stage_changed_at` and `closed_at` follow the stage and status.
pub async fn update(tx: &mut TenantTx, current: &Deal, fields: &DealFields) -> Result<()> {
    let now = crate::now();
    let stage_changed_at =
        if current.stage != fields.stage || current.pipeline_id != fields.pipeline_id {
            now
        } else {
            current.stage_changed_at
        };
    let closed = fields.status.is_closed();
    let closed_at = match (closed, current.status == fields.status) {
        (false, _) => None,
        (true, true) => current.closed_at.or(Some(now)),
        (true, false) => Some(now),
    };
    let mut columns = fields.columns();
    columns.push(("stage_changed_at", stage_changed_at.into()));
    columns.push(("closed_at", closed_at.into()));
    tables::update::<Deal>(tx, current.id, columns).await
}

/// Live deals linked to a contact.
pub async fn count_for_contact(tx: &mut TenantTx, contact: ContactId) -> Result<i64> {
    count_where(tx, "contact_id", contact.as_uuid()).await
}

/// Deals (live or deleted: deleted ones may be restored) still in a pipeline stage.
pub async fn count_in_stage(
    tx: &mut TenantTx,
    pipeline: PipelineId,
    stage: &StageKey,
) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query("SELECT COUNT(*) AS n FROM deals WHERE organization_id = $1 AND pipeline_id = $2 AND stage = $3")
                .bind(org)
                .bind(pipeline)
                .bind(stage),
        )
        .await?;
    Ok(row.n)
}

/// Deals in a pipeline, those in Recently deleted included: they still point at it until they
/// are purged, so it cannot go before them.
pub async fn count_in_pipeline(tx: &mut TenantTx, pipeline: PipelineId) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM deals WHERE organization_id = $1 AND pipeline_id = $2",
            )
            .bind(org)
            .bind(pipeline),
        )
        .await?;
    Ok(row.n)
}

async fn count_where(tx: &mut TenantTx, column: &str, id: uuid::Uuid) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query(format!(
                "SELECT COUNT(*) AS n FROM deals WHERE organization_id = $1 AND {column} = $2 AND deleted_at IS NULL"
            ))
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(row.n)
}

/// What a deal list is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DealSort {
    Amount,
    CreatedAt,
    UpdatedAt,
    Title,
    ExpectedCloseDate,
}

/// The date missing close dates sort as (see [`crate::keyset::NO_DATE`]).
fn no_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

#[derive(Clone, Debug, Default)]
pub struct DealFilter {
    pub statuses: Vec<DealStatus>,
    pub stage: Option<StageKey>,
    pub pipeline_id: Option<PipelineId>,
    pub owner_id: Option<UserId>,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    /// Case-insensitive substring of the title.
    pub search: Option<String>,
    pub tag_id: Option<TagId>,
}

impl KindTable for Deal {
    type Id = DealId;
    type Filter = DealFilter;
    type Sort = DealSort;
    const TABLE: &'static str = "deals";
    const TITLE_COLUMN: &'static str = "title";
    const RECORD_TYPE: &'static str = "deal";
    const COLUMNS: &'static str = COLUMNS;
    const SEARCH: Option<Searchable> = Some(crate::text::DEAL);
    fn search(f: &DealFilter) -> Option<&str> {
        f.search.as_deref()
    }
    fn tag(f: &DealFilter) -> Option<TagId> {
        f.tag_id
    }
    fn conditions(q: &mut Query, f: &DealFilter) {
        q.and_in("status", &f.statuses);
        q.and("stage =", f.stage.as_ref());
        q.and("pipeline_id =", f.pipeline_id);
        q.and("owner_id =", f.owner_id);
        q.and("contact_id =", f.contact_id);
        q.and("company_id =", f.company_id);
        q.and("amount_minor >=", f.min_amount);
        q.and("amount_minor <=", f.max_amount);
    }
    fn sort_value(&self, sort: DealSort) -> SortValue {
        match sort {
            DealSort::Amount => SortValue::Int(self.amount.minor),
            DealSort::CreatedAt => SortValue::Time(self.created_at),
            DealSort::UpdatedAt => SortValue::Time(self.updated_at),
            DealSort::Title => SortValue::Text(self.title.clone()),
            DealSort::ExpectedCloseDate => {
                SortValue::Date(self.expected_close_date.unwrap_or_else(no_date))
            }
        }
    }
    fn sort_column(sort: DealSort) -> &'static str {
        match sort {
            DealSort::Amount => "amount_minor",
            DealSort::CreatedAt => "created_at",
            DealSort::UpdatedAt => "updated_at",
            DealSort::Title => "title_key",
            DealSort::ExpectedCloseDate => "close_key",
        }
    }
}

/// The deals a pipeline's board shows.
#[derive(Clone, Debug)]
pub struct BoardFilter {
    pub pipeline_id: PipelineId,
    pub owner_id: Option<UserId>,
    /// `Some(moment)`: work in progress only: no lost deals, and won deals only when won since
    /// the moment. `None`: closed deals too.
    pub won_since: Option<DateTime<Utc>>,
    /// Conditions on the deals' custom values.
    pub custom: Vec<crate::records::Condition>,
    /// The owners whose deals it shows (the reach of who looks), or `None` for every deal.
    pub owners: Option<Vec<UserId>>,
}

/// Appends ` WHERE …` (the live deals a board shows) to `q`.
fn push_board_filter(q: &mut Query, tx: &TenantTx, f: &BoardFilter) {
    let org = q.push_arg(tx.organization_id());
    let pipeline = q.push_arg(f.pipeline_id);
    q.push_sql(&format!(
        " WHERE organization_id = {org} AND pipeline_id = {pipeline} AND deleted_at IS NULL"
    ));
    if let Some(owner) = f.owner_id {
        let o = q.push_arg(owner);
        q.push_sql(&format!(" AND owner_id = {o}"));
    }
    if let Some(owners) = &f.owners {
        let owned = q.any_user(tx.backend(), "owner_id", owners);
        q.push_sql(&format!(" AND {owned}"));
    }
    if let Some(since) = f.won_since {
        let s = q.push_arg(since);
        q.push_sql(&format!(
            " AND status <> 'lost' AND (status <> 'won' OR closed_at >= {s})"
        ));
    }
    for c in &f.custom {
        let sql = crate::records::condition_sql_in(q, tx.backend(), &org, "deals.id", c);
        q.push_sql(&format!(" AND {sql}"));
    }
}

/// A board's figures: for each (stage, status), how many deals and their amount in `currency`
/// (one grouped statement; the cards come column page by column page, the figures count every
/// deal).
pub async fn board_totals(
    tx: &mut TenantTx,
    f: &BoardFilter,
    currency: &str,
) -> Result<Vec<StageStatusTotal>> {
    let mut q = figures_select(currency, None);
    push_board_filter(&mut q, tx, f);
    q.push_sql(" GROUP BY pipeline_id, stage, status");
    // Read by every board; kept until the organization writes again.
    crate::statistics::fetch_figure(tx, q).await
}

/// The first `per_stage` cards of each of `stages` (most recently moved first), in one
/// statement: one index seek per stage, however many deals the pipeline holds.
pub async fn board_first_cards(
    tx: &mut TenantTx,
    f: &BoardFilter,
    stages: &[StageKey],
    per_stage: i64,
) -> Result<Vec<Deal>> {
    if stages.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query("");
    for (i, stage) in stages.iter().enumerate() {
        if i > 0 {
            q.push_sql(" UNION ALL ");
        }
        q.push_sql(&format!("SELECT * FROM (SELECT {COLUMNS} FROM deals"));
        push_board_filter(&mut q, tx, f);
        let s = q.push_arg(stage);
        let l = q.push_arg(per_stage);
        q.push_sql(&format!(
            " AND stage = {s} ORDER BY stage_changed_at DESC, id DESC LIMIT {l}) AS column_{i}"
        ));
    }
    let mut cards: Vec<Deal> = tx.raw().fetch_all(q).await?;
    // A union keeps no order of its own: each column's cards, most recently moved first.
    cards.sort_by(|a, b| {
        (&a.stage, b.stage_changed_at, b.id).cmp(&(&b.stage, a.stage_changed_at, a.id))
    });
    Ok(cards)
}

/// The next `limit` cards of one stage after the card a column ended on (its `stage_changed_at`
/// and id), plus one more when there are further cards.
pub async fn board_more_cards(
    tx: &mut TenantTx,
    f: &BoardFilter,
    stage: &str,
    after: (DateTime<Utc>, DealId),
    limit: i64,
) -> Result<Vec<Deal>> {
    let mut q = query(format!("SELECT {COLUMNS} FROM deals"));
    push_board_filter(&mut q, tx, f);
    let s = q.push_arg(stage);
    let t = q.push_arg(after.0);
    let i = q.push_arg(after.1);
    let l = q.push_arg(limit + 1);
    q.push_sql(&format!(
        " AND stage = {s} AND stage_changed_at <= {t} \
         AND (stage_changed_at < {t} OR (stage_changed_at = {t} AND id < {i})) \
         ORDER BY stage_changed_at DESC, id DESC LIMIT {l}"
    ));
    tx.raw().fetch_all(q).await
}

/// Open deals' weighted amount (in `currency`) per owner: the dashboard's forecast by person.
pub async fn open_weighted_by_owner(
    tx: &mut TenantTx,
    pipeline: PipelineId,
    currency: &str,
    owners: Option<&[UserId]>,
) -> Result<Vec<(UserId, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        owner_id: UserId,
        weighted: i64,
    }
    let mut q = query(
        "SELECT owner_id, CAST(COALESCE(SUM(amount_minor * close_probability / 100), 0) AS BIGINT) AS weighted \
         FROM deals WHERE organization_id = $1 AND pipeline_id = $2 AND deleted_at IS NULL \
         AND status IN ('new', 'in_progress') AND currency = $3",
    )
    .bind(tx.organization_id())
    .bind(pipeline)
    .bind(currency);
    push_owners(&mut q, tx.backend(), owners);
    q.push_sql(" GROUP BY owner_id");
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| (r.owner_id, r.weighted)).collect())
}

/// Figures by (pipeline, stage, status): count and amount in the given currency.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StageStatusTotal {
    #[sqlx(try_from = "uuid::Uuid")]
    pub pipeline_id: PipelineId,
    #[sqlx(try_from = "String")]
    pub stage: StageKey,
    #[sqlx(try_from = "String")]
    pub status: DealStatus,
    pub n: i64,
    pub amount: i64,
    /// Of the `n`, those created since the moment asked for (0 when none was).
    pub created_since: i64,
}

/// `SELECT … FROM deals` of a [`StageStatusTotal`] row per group, without its `WHERE` or
/// `GROUP BY pipeline_id, stage, status`: amounts in `currency`, and deals created since `since`.
fn figures_select(currency: &str, since: Option<DateTime<Utc>>) -> Query {
    let mut q = query("");
    let c = q.push_arg(currency);
    let created = match since {
        Some(since) => {
            let s = q.push_arg(since);
            format!(
                "CAST(COALESCE(SUM(CASE WHEN created_at >= {s} THEN 1 ELSE 0 END), 0) AS BIGINT)"
            )
        }
        None => "CAST(0 AS BIGINT)".to_owned(),
    };
    q.push_sql(&format!(
        "SELECT pipeline_id, stage, status, COUNT(*) AS n, \
         CAST(COALESCE(SUM(CASE WHEN currency = {c} THEN amount_minor ELSE 0 END), 0) AS BIGINT) AS amount, \
         {created} AS created_since FROM deals"
    ));
    q
}

pub async fn totals_by_stage_and_status(
    tx: &mut TenantTx,
    pipeline: Option<PipelineId>,
    currency: &str,
    owners: Option<&[UserId]>,
) -> Result<Vec<StageStatusTotal>> {
    totals_and_created_since(tx, pipeline, currency, None, owners).await
}

/// Appends ` AND …`: the deal is owned by one of `owners`, when the figures are narrowed to some.
fn push_owners(q: &mut Query, backend: crate::Backend, owners: Option<&[UserId]>) {
    if let Some(owners) = owners {
        let owned = q.any_user(backend, "owner_id", owners);
        q.push_sql(&format!(" AND {owned}"));
    }
}

/// [`totals_by_stage_and_status`], each row also counting its deals created since a moment, in
/// the same pass over the deals.
/// Kept between the organization's writes (see [`crate::statistics`]), for the same moment.
pub async fn totals_and_created_since(
    tx: &mut TenantTx,
    pipeline: Option<PipelineId>,
    currency: &str,
    since: Option<DateTime<Utc>>,
    owners: Option<&[UserId]>,
) -> Result<Vec<StageStatusTotal>> {
    let mut q = figures_select(currency, since);
    let org = q.push_arg(tx.organization_id());
    q.push_sql(&format!(
        " WHERE organization_id = {org} AND deleted_at IS NULL"
    ));
    if let Some(p) = pipeline {
        let a = q.push_arg(p);
        q.push_sql(&format!(" AND pipeline_id = {a}"));
    }
    push_owners(&mut q, tx.backend(), owners);
    q.push_sql(" GROUP BY pipeline_id, stage, status");
    // Read by every dashboard and summary; kept until the organization writes again.
    crate::statistics::fetch_figure(tx, q).await
}

/// Closed deals (won or lost) closed since a moment: for the won/lost-by-month chart.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClosedDeal {
    #[sqlx(try_from = "String")]
    pub status: DealStatus,
    pub amount_minor: i64,
    pub currency: String,
    pub closed_at: DateTime<Utc>,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
}

pub async fn closed_since(
    tx: &mut TenantTx,
    since: DateTime<Utc>,
    owners: Option<&[UserId]>,
) -> Result<Vec<ClosedDeal>> {
    let org = tx.organization_id();
    let mut q = query(
        "SELECT status, amount_minor, currency, closed_at, owner_id FROM deals \
         WHERE organization_id = $1 AND deleted_at IS NULL AND closed_at >= $2 AND status IN ('won', 'lost')",
    )
    .bind(org)
    .bind(since);
    push_owners(&mut q, tx.backend(), owners);
    tx.raw().fetch_all(q).await
}

/// Open deals (new or in progress) in a currency: (count, amount, weighted amount).
pub async fn open_totals(
    tx: &mut TenantTx,
    currency: &str,
    owners: Option<&[UserId]>,
) -> Result<(i64, i64, i64)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
        amount: i64,
        weighted: i64,
    }
    let org = tx.organization_id();
    let mut q = query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS amount, \
         CAST(COALESCE(SUM(amount_minor * close_probability / 100), 0) AS BIGINT) AS weighted \
         FROM deals WHERE organization_id = $1 AND deleted_at IS NULL AND currency = $2 \
         AND status IN ('new', 'in_progress')",
    )
    .bind(org)
    .bind(currency);
    push_owners(&mut q, tx.backend(), owners);
    let row: Row = tx.raw().fetch_one(q).await?;
    Ok((row.n, row.amount, row.weighted))
}

/// How the filter's search runs (see [`crate::text::strategy`]); found once per request and
/// given to both [`list`] and [`count`].
pub async fn search_strategy(tx: &mut TenantTx, f: &DealFilter) -> Result<crate::text::Strategy> {
    match f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => crate::text::strategy(tx, &crate::text::DEAL, text).await,
        None => Ok(crate::text::Strategy::Scan),
    }
}

/// The titles of some deals (live or deleted), for lists showing a task's deal.
pub async fn titles(tx: &mut TenantTx, ids: &[uuid::Uuid]) -> Result<Vec<(uuid::Uuid, String)>> {
    crate::tables::titles::<Deal>(tx, ids).await
}
