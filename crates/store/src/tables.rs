//! What the tables of the built-in kinds (companies, contacts, leads, deals, tasks) share: reading
//! a live record (with its tags, or locked), deleting one (to recently deleted where the kind
//! keeps them), inserting and changing one from the columns its fields name ([`Columns`]), and a
//! page or a count of a filtered list with text search and a tag filter. A kind brings its
//! table's names and its own filter conditions ([`KindTable`]).

use rapport_domain::{FieldId, OrganizationId, TagId, UserId};
use uuid::Uuid;

use crate::keyset::{SortValue, Window};
use crate::records::{Column, Condition};
use crate::text::{Searchable, Strategy};
use crate::{Arg, Backend, Query, Record, Result, TenantTx, dialect, query};

/// A record's own columns as a write sets them, with their values, in order.
pub type Columns = Vec<(&'static str, Arg)>;

/// The titles of some records of kind `K` (live or deleted), by id: the names a page shows for
/// the records it links to.
pub async fn titles<K: KindTable>(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        title: String,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(format!(
        "SELECT id, {} AS title FROM {} WHERE organization_id = $1",
        K::TITLE_COLUMN,
        K::TABLE
    ))
    .bind(tx.organization_id());
    let these = q.any_of(tx.backend(), "id", ids);
    q.push_sql(&format!(" AND {these}"));
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

/// Inserts a record of kind `K` with `columns` (its organization, a new id and its times are
/// added) and reads it back.
pub async fn insert<K: KindTable>(tx: &mut TenantTx, columns: Columns) -> Result<K> {
    let org = tx.organization_id();
    let id = K::Id::from(Uuid::now_v7());
    let n = columns.len();
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let marks: Vec<String> = (3..3 + n).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} (organization_id, id, {}, created_at, updated_at) VALUES ($1, $2, {}, ${at}, ${at})",
        K::TABLE,
        names.join(", "),
        marks.join(", "),
        at = n + 3,
    );
    let mut q = query(sql).bind(org).bind(id);
    for (_, value) in columns {
        q = q.bind(value);
    }
    tx.raw().execute(q.bind(crate::now())).await?;
    find::<K>(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// Sets `columns` (and the time of the change) on a live record of kind `K`.
pub async fn update<K: KindTable>(tx: &mut TenantTx, id: K::Id, columns: Columns) -> Result<()> {
    let org = tx.organization_id();
    let n = columns.len();
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("{name} = ${}", i + 1))
        .collect();
    let live = if K::SOFT_DELETE {
        " AND deleted_at IS NULL"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE {} SET {}, updated_at = ${} WHERE organization_id = ${} AND id = ${}{live}",
        K::TABLE,
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3,
    );
    let mut q = query(sql);
    for (_, value) in columns {
        q = q.bind(value);
    }
    tx.raw()
        .execute(q.bind(crate::now()).bind(org).bind(id))
        .await?;
    Ok(())
}

/// A built-in kind's table.
pub trait KindTable: Record {
    type Id: Copy + PartialEq + From<Uuid> + Into<Arg> + Send + Sync;
    type Filter: Sync;
    type Sort: Copy + PartialEq + Send + Sync;

    /// The table's name.
    const TABLE: &'static str;
    /// The kind's name, as tags know it (`company`).
    const RECORD_TYPE: &'static str;
    /// The columns a record is read from.
    const COLUMNS: &'static str;
    /// The column that names a record (lists by name sort on its `_key` column).
    const TITLE_COLUMN: &'static str = "name";
    /// Whether a deleted record waits in recently deleted (its `deleted_at` set) rather than go.
    const SOFT_DELETE: bool = true;
    /// Whether its records carry tags.
    const TAGGED: bool = true;
    /// What its list's search looks through, when it has one.
    const SEARCH: Option<Searchable> = None;

    /// The text searched for, if any.
    fn search(_filter: &Self::Filter) -> Option<&str> {
        None
    }
    /// The tag the records must carry, if any.
    fn tag(_filter: &Self::Filter) -> Option<TagId> {
        None
    }
    /// Appends the kind's own conditions (` AND …`).
    fn conditions(q: &mut Query, filter: &Self::Filter);
    /// Appends the condition that a record is in reach of a list narrowed to `owners`
    /// (` AND …`): by default, that one of them owns it.
    fn push_reach(q: &mut Query, backend: Backend, owners: &[UserId]) {
        let owned = q.any_user(backend, &format!("{}.owner_id", Self::TABLE), owners);
        q.push_sql(&format!(" AND {owned}"));
    }
    /// The record's value in a sort, where a page sorted so continues after it.
    fn sort_value(&self, sort: Self::Sort) -> SortValue;
    /// The column (or expression) a sort orders by.
    fn sort_column(sort: Self::Sort) -> &'static str;
}

/// Appends the conditions on a record's custom values (` AND …`): probes of the value index,
/// as on custom objects' records.
fn push_custom(q: &mut Query, backend: Backend, table: &str, conditions: &[Condition]) {
    let id = format!("{table}.id");
    for c in conditions {
        let sql = crate::records::condition_sql(q, backend, &id, c);
        q.push_sql(&format!(" AND {sql}"));
    }
}

/// ` AND deleted_at IS NULL` where deleted records wait in recently deleted.
fn live<T: KindTable>() -> &'static str {
    if T::SOFT_DELETE {
        " AND deleted_at IS NULL"
    } else {
        ""
    }
}

fn find_query<T: KindTable>(org: OrganizationId, id: T::Id, lock: &str) -> Query {
    query(format!(
        "SELECT {} FROM {} WHERE organization_id = $1 AND id = $2{}{lock}",
        T::COLUMNS,
        T::TABLE,
        live::<T>()
    ))
    .bind(org)
    .bind(id)
}

/// A live (not deleted) record of the organization.
pub async fn find<T: KindTable>(tx: &mut TenantTx, id: T::Id) -> Result<Option<T>> {
    let org = tx.organization_id();
    tx.raw().fetch_optional(find_query::<T>(org, id, "")).await
}

/// Like [`find`], locking the row until the transaction ends (so two concurrent changes are
/// judged one after the other).
pub async fn find_for_update<T: KindTable>(tx: &mut TenantTx, id: T::Id) -> Result<Option<T>> {
    let org = tx.organization_id();
    let lock = dialect::lock_rows(tx.backend());
    tx.raw()
        .fetch_optional(find_query::<T>(org, id, lock))
        .await
}

/// A live record and its tags (none for a kind without), in one statement.
pub async fn find_with_tags<T: KindTable>(
    tx: &mut TenantTx,
    id: T::Id,
) -> Result<Option<(T, Vec<crate::tags::Tag>)>> {
    if !T::TAGGED {
        return Ok(find::<T>(tx, id).await?.map(|r| (r, Vec::new())));
    }
    let org = tx.organization_id();
    crate::tags::with_record(tx, find_query::<T>(org, id, ""), T::RECORD_TYPE).await
}

/// Deletes a live record (to recently deleted where the kind keeps them); `false` when there
/// was none.
pub async fn delete<T: KindTable>(tx: &mut TenantTx, id: T::Id) -> Result<bool> {
    let org = tx.organization_id();
    let q = if T::SOFT_DELETE {
        query(format!(
            "UPDATE {} SET deleted_at = $1 WHERE organization_id = $2 AND id = $3 AND deleted_at IS NULL",
            T::TABLE
        ))
        .bind(crate::now())
    } else {
        query(format!(
            "DELETE FROM {} WHERE organization_id = $1 AND id = $2",
            T::TABLE
        ))
    };
    Ok(tx.raw().execute(q.bind(org).bind(id)).await? == 1)
}

/// The text a filter searches for, with what its kind searches through.
fn searched<T: KindTable>(filter: &T::Filter) -> Option<(Searchable, &str)> {
    let text = T::search(filter).map(str::trim).filter(|s| !s.is_empty())?;
    T::SEARCH.map(|index| (index, text))
}

/// How the filter's search runs (see [`crate::text::strategy`]); found once per request and
/// given to both [`list`] and [`count`].
pub async fn search_strategy<T: KindTable>(tx: &mut TenantTx, f: &T::Filter) -> Result<Strategy> {
    match searched::<T>(f) {
        Some((index, text)) => crate::text::strategy(tx, &index, text).await,
        None => Ok(Strategy::Scan),
    }
}

/// `select` (which names the table) over the organization's live records the filter and the
/// custom conditions select.
fn filtered<T: KindTable>(
    tx: &TenantTx,
    select: &str,
    f: &T::Filter,
    custom: &[Condition],
    owners: Option<&[UserId]>,
    strategy: Strategy,
) -> Query {
    let mut q = query(select);
    let org = q.push_arg(tx.organization_id());
    q.push_sql(&format!(
        " WHERE {}.organization_id = {org}{}",
        T::TABLE,
        live::<T>()
    ));
    T::conditions(&mut q, f);
    if let Some(owners) = owners {
        T::push_reach(&mut q, tx.backend(), owners);
    }
    push_custom(&mut q, tx.backend(), T::TABLE, custom);
    if let Some((index, text)) = searched::<T>(f) {
        let m = crate::text::contains(&mut q, tx.backend(), &index, text, strategy);
        q.push_sql(&format!(" AND {m}"));
    }
    if let Some(tag) = T::tag(f) {
        crate::tags::push_tag_filter(&mut q, tx.organization_id(), T::RECORD_TYPE, tag);
    }
    q
}

/// One page of records, plus one row more when there is a next page, and, given a `cap`, how
/// many match in all (at most `cap`; `None` when the page is empty): one statement.
pub async fn list<T: KindTable>(
    tx: &mut TenantTx,
    f: &T::Filter,
    custom: &[Condition],
    owners: Option<&[UserId]>,
    strategy: Strategy,
    window: &Window<'_, T::Sort, T::Id>,
    cap: Option<i64>,
) -> Result<(Vec<T>, Option<(i64, bool)>)> {
    // A total counted since the organization last wrote is the total still.
    let digest = cap.map(|cap| total_digest::<T>(tx, f, custom, owners, strategy, cap));
    if let Some(total) = digest.and_then(|d| crate::statistics::figure(tx, d)) {
        let q = list_query::<T>(tx, f, custom, owners, strategy, window, None);
        let (rows, _) = crate::keyset::fetch_page(tx, q, None).await?;
        return Ok((rows, Some(total)));
    }
    let q = list_query::<T>(tx, f, custom, owners, strategy, window, cap);
    let (rows, total) = crate::keyset::fetch_page(tx, q, cap).await?;
    if let (Some(d), Some(total)) = (digest, total) {
        crate::statistics::keep(tx, d, total);
    }
    Ok((rows, total))
}

/// What names a list's total among those kept (see [`crate::statistics`]): its table, filter
/// custom conditions and cap, as SQL and values.
fn total_digest<T: KindTable>(
    tx: &TenantTx,
    f: &T::Filter,
    custom: &[Condition],
    owners: Option<&[UserId]>,
    strategy: Strategy,
    cap: i64,
) -> u64 {
    let mut q = filtered::<T>(tx, T::TABLE, f, custom, owners, strategy);
    q.push_arg(cap);
    crate::statistics::digest(&q)
}

/// The statement [`list`] runs.
#[allow(clippy::too_many_arguments)]
pub fn list_query<T: KindTable>(
    tx: &TenantTx,
    f: &T::Filter,
    custom: &[Condition],
    owners: Option<&[UserId]>,
    strategy: Strategy,
    window: &Window<'_, T::Sort, T::Id>,
    cap: Option<i64>,
) -> Query {
    let select = format!("SELECT * FROM {}", T::TABLE);
    let select = filtered::<T>(tx, &select, f, custom, owners, strategy);
    let plan = match searched::<T>(f) {
        Some(_) => crate::keyset::Plan::EachRun,
        None => crate::keyset::Plan::Once,
    };
    let column = match searched::<T>(f) {
        Some(_) => crate::text::order_by(tx.backend(), strategy, T::sort_column(window.sort)),
        None => T::sort_column(window.sort).to_owned(),
    };
    window.of(select, &column, cap, plan)
}

/// A list ordered by a custom value: its field and the index column holding its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueSort {
    pub field: FieldId,
    pub column: Column,
    pub descending: bool,
}

/// One page of records ordered by a custom value, plus one row more when there is a next page:
/// the records with a value in its order, then the records without one, by id (see
/// [`value_statements`]). `after`: the sort value and id of the row the previous page ended on
/// ([`SortValue::Missing`] once past the values).
#[allow(clippy::too_many_arguments)]
pub async fn list_by_value<T: KindTable>(
    tx: &mut TenantTx,
    f: &T::Filter,
    custom: &[Condition],
    owners: Option<&[UserId]>,
    strategy: Strategy,
    sort: ValueSort,
    after: Option<(&SortValue, Uuid)>,
    limit: u64,
) -> Result<Vec<T>> {
    let wanted = limit as i64 + 1;
    let list = ByValue::<T> {
        f,
        custom,
        owners,
        strategy,
        sort,
    };
    let mut rows: Vec<T> = Vec::new();
    if let Some(q) = list.valued(tx, after, wanted) {
        rows = tx.raw().fetch_all(q).await?;
    }
    if (rows.len() as i64) < wanted {
        let q = list.without_value(tx, after, wanted - rows.len() as i64);
        let more: Vec<T> = tx.raw().fetch_all(q).await?;
        rows.extend(more);
    }
    Ok(rows)
}

/// The statements [`list_by_value`] may run for a page, each for a full page (for reading their
/// plans).
pub fn value_statements<T: KindTable>(
    tx: &TenantTx,
    f: &T::Filter,
    custom: &[Condition],
    sort: ValueSort,
    after: Option<(&SortValue, Uuid)>,
    limit: u64,
) -> Vec<Query> {
    let wanted = limit as i64 + 1;
    let list = ByValue::<T> {
        f,
        custom,
        owners: None,
        strategy: Strategy::Scan,
        sort,
    };
    list.valued(tx, after, wanted)
        .into_iter()
        .chain([list.without_value(tx, after, wanted)])
        .collect()
}

/// A list ordered by a custom value: the records it selects and its order.
struct ByValue<'a, T: KindTable> {
    f: &'a T::Filter,
    custom: &'a [Condition],
    owners: Option<&'a [UserId]>,
    strategy: Strategy,
    sort: ValueSort,
}

impl<T: KindTable> ByValue<'_, T> {
    /// (`ASC` or `DESC`, the comparison that continues after a row).
    fn order(&self) -> (&'static str, &'static str) {
        if self.sort.descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        }
    }

    /// The table's live rows this list selects: `SELECT * FROM {table} WHERE …`.
    fn rows(&self, tx: &TenantTx) -> Query {
        let select = format!("SELECT * FROM {}", T::TABLE);
        filtered::<T>(tx, &select, self.f, self.custom, self.owners, self.strategy)
    }

    /// The records with a value, in its order: a walk of the field's index rows (bounded by
    /// the cursor) joined to the table's filtered rows; `None` once the cursor is past the
    /// values.
    fn valued(
        &self,
        tx: &TenantTx,
        after: Option<(&SortValue, Uuid)>,
        limit: i64,
    ) -> Option<Query> {
        let (dir, cmp) = self.order();
        let col = match self.sort.column {
            Column::Num => "num",
            Column::Txt => "txt",
        };
        // The table's rows are a subquery so that its own columns (a task's `record_id`) never
        // meet the index's.
        let mut q = self.rows(tx).wrap(|rows| {
            format!(
                "SELECT m.* FROM record_values v CROSS JOIN ({rows}) m WHERE v.organization_id = $1"
            )
        });
        let fid = q.push_arg(self.sort.field);
        q.push_sql(&format!(
            " AND v.field_id = {fid} AND v.{col} IS NOT NULL AND m.id = v.record_id"
        ));
        if let Some((value, id)) = after {
            let v = match value {
                SortValue::Num(n) => q.push_arg(*n),
                SortValue::Text(t) => q.push_arg(t.as_str()),
                _ => return None,
            };
            let i = q.push_arg(id);
            // The first condition is implied by the second; it bounds the index walk.
            q.push_sql(&format!(
                " AND v.{col} {cmp}= {v} AND (v.{col} {cmp} {v} OR (v.{col} = {v} AND v.record_id {cmp} {i}))"
            ));
        }
        let l = q.push_arg(limit);
        q.push_sql(&format!(
            " ORDER BY v.{col} {dir}, v.record_id {dir} LIMIT {l}"
        ));
        Some(q)
    }

    /// The records without a value, by id (after the cursor's when it is past the values).
    fn without_value(&self, tx: &TenantTx, after: Option<(&SortValue, Uuid)>, limit: i64) -> Query {
        let (dir, cmp) = self.order();
        let mut q = self.rows(tx);
        let fid = q.push_arg(self.sort.field);
        q.push_sql(&format!(
            " AND (SELECT 1 FROM record_values v{} WHERE v.organization_id = $1 \
             AND v.record_id = {}.id AND v.field_id = {fid} LIMIT 1) IS NULL",
            dialect::by_record(tx.backend()),
            T::TABLE
        ));
        if let Some((SortValue::Missing, id)) = after {
            let i = q.push_arg(id);
            q.push_sql(&format!(" AND id {cmp} {i}"));
        }
        let l = q.push_arg(limit);
        q.push_sql(&format!(" ORDER BY id {dir} LIMIT {l}"));
        q
    }
}

/// How many records match, counting at most `cap`: (count, exact).
pub async fn count<T: KindTable>(
    tx: &mut TenantTx,
    f: &T::Filter,
    custom: &[Condition],
    owners: Option<&[UserId]>,
    strategy: Strategy,
    cap: i64,
) -> Result<(i64, bool)> {
    let digest = total_digest::<T>(tx, f, custom, owners, strategy, cap);
    if let Some(total) = crate::statistics::figure(tx, digest) {
        return Ok(total);
    }
    let select = format!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM {}", T::TABLE);
    let q = filtered::<T>(tx, &select, f, custom, owners, strategy);
    let total = crate::keyset::capped_count(tx, q, cap).await?;
    crate::statistics::keep(tx, digest, total);
    Ok(total)
}

/// (id, name) of up to `limit` live records by name, for pickers, and `include` (a form's
/// current choice) when it is not among them.
pub async fn choices<T: KindTable>(
    tx: &mut TenantTx,
    limit: i64,
    include: Option<T::Id>,
    owners: Option<&[UserId]>,
) -> Result<Vec<(T::Id, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        name: String,
    }
    let org = tx.organization_id();
    let backend = tx.backend();
    let select = |q: &mut Query| {
        let o = q.push_arg(org);
        q.push_sql(&format!(
            "SELECT id, {title} AS name FROM {table} WHERE {table}.organization_id = {o}{live}",
            title = T::TITLE_COLUMN,
            table = T::TABLE,
            live = live::<T>()
        ));
        if let Some(owners) = owners {
            T::push_reach(q, backend, owners);
        }
    };
    let mut first = query("");
    select(&mut first);
    let l = first.push_arg(limit);
    first.push_sql(&format!(" ORDER BY {}_key, id LIMIT {l}", T::TITLE_COLUMN));
    let mut rows: Vec<(T::Id, String)> = tx
        .raw()
        .fetch_all::<Row>(first)
        .await?
        .into_iter()
        .map(|r| (T::Id::from(r.id), r.name))
        .collect();
    if let Some(id) = include
        && !rows.iter().any(|(r, _)| *r == id)
        && let Some(r) = {
            let mut q = query("");
            select(&mut q);
            let i = q.push_arg(id);
            q.push_sql(&format!(" AND id = {i}"));
            tx.raw().fetch_optional::<Row>(q).await?
        }
    {
        rows.push((id, r.name));
    }
    Ok(rows)
}
