//! Records of custom objects, and the value index every record's custom values are written to.
//!
//! A record's values are one JSON document (`data`), read with the record. Each value is also a
//! row of `record_values` (a number in `num`, or a text that sorts like the value in `txt`),
//! which filters probe, sorts walk in order and unique fields are guarded by (migration 0019).
//! Only live records have index rows: deleting a record removes them, restoring writes them again.

use chrono::{DateTime, Utc};
use rapport_domain::{FieldId, ObjectId, OrganizationId, RecordId, UserId};
use serde_json::{Map, Value as Json};
use sqlx::types::Json as JsonColumn;
use uuid::Uuid;

use crate::text::{Searchable, Strategy};
use crate::{Arg, Backend, Error, Query, Result, TenantTx, dialect, keyset, query};

/// A record of a custom object as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RecordRow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: RecordId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub object_id: ObjectId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub data: JsonColumn<Map<String, Json>>,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str = "records.id, records.object_id, records.owner_id, records.data, records.title, \
                       records.created_at, records.updated_at, records.deleted_at";

/// The searchable text of records (`search_key`, kept lowercase by the application).
pub const SEARCH: Searchable = Searchable {
    kind: "record",
    table: "records",
    expr: "records.search_key",
    lowered: Some("records.search_key"),
    fts: "records_fts",
    column: "text",
};

/// What a record holds besides its identity.
pub struct RecordFields<'a> {
    pub owner_id: UserId,
    pub data: &'a Map<String, Json>,
    pub title: &'a str,
    pub search_key: &'a str,
}

pub async fn insert(
    tx: &mut TenantTx,
    object_id: ObjectId,
    id: RecordId,
    f: &RecordFields<'_>,
) -> Result<RecordRow> {
    let org = tx.organization_id();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO records (organization_id, id, object_id, owner_id, data, title, \
                 search_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(org)
            .bind(id)
            .bind(object_id)
            .bind(f.owner_id)
            .bind(Json::Object(f.data.clone()))
            .bind(f.title)
            .bind(f.search_key)
            .bind(now),
        )
        .await?;
    find(tx, object_id, id).await?.ok_or(Error::NotFound)
}

/// A record to insert in bulk ([`insert_many`]).
pub struct NewRecord<'a> {
    pub id: RecordId,
    pub fields: RecordFields<'a>,
    pub created_at: DateTime<Utc>,
}

/// Inserts many records of an object, a few hundred per statement (imports, sample data). Their
/// index rows are written with [`insert_index`].
pub async fn insert_many(
    tx: &mut TenantTx,
    object_id: ObjectId,
    records: &[NewRecord<'_>],
) -> Result<()> {
    let org = tx.organization_id();
    for chunk in records.chunks(300) {
        let mut q = query(
            "INSERT INTO records (organization_id, id, object_id, owner_id, data, title, search_key, \
             created_at, updated_at) VALUES ",
        );
        let o = q.push_arg(org);
        let ob = q.push_arg(object_id);
        for (i, r) in chunk.iter().enumerate() {
            let id = q.push_arg(r.id);
            let owner = q.push_arg(r.fields.owner_id);
            let data = q.push_arg(Json::Object(r.fields.data.clone()));
            let title = q.push_arg(r.fields.title);
            let search = q.push_arg(r.fields.search_key);
            let at = q.push_arg(r.created_at);
            let sep = if i == 0 { "" } else { ", " };
            q.push_sql(&format!(
                "{sep}({o}, {id}, {ob}, {owner}, {data}, {title}, {search}, {at}, {at})"
            ));
        }
        tx.raw().execute(q).await?;
    }
    Ok(())
}

/// Inserts index rows of many records (see [`insert_many`]).
pub async fn insert_index(tx: &mut TenantTx, rows: &[(Uuid, IndexRow)]) -> Result<()> {
    let org = tx.organization_id();
    for chunk in rows.chunks(500) {
        let mut q = query(
            "INSERT INTO record_values (organization_id, record_id, field_id, num, txt, unique_key) VALUES ",
        );
        let o = q.push_arg(org);
        for (i, (record, row)) in chunk.iter().enumerate() {
            let r = q.push_arg(*record);
            let f = q.push_arg(row.field_id);
            let n = q.push_arg(row.num);
            let t = q.push_arg(row.txt.clone());
            let u = q.push_arg(row.unique_key.clone());
            let sep = if i == 0 { "" } else { ", " };
            q.push_sql(&format!("{sep}({o}, {r}, {f}, {n}, {t}, {u})"));
        }
        tx.raw().execute(q).await?;
    }
    Ok(())
}

/// A live record of an object.
pub async fn find(
    tx: &mut TenantTx,
    object_id: ObjectId,
    id: RecordId,
) -> Result<Option<RecordRow>> {
    find_in(tx, object_id, id, false).await
}

/// A live record, locked until the transaction ends (PostgreSQL), to be changed.
pub async fn find_for_update(
    tx: &mut TenantTx,
    object_id: ObjectId,
    id: RecordId,
) -> Result<Option<RecordRow>> {
    find_in(tx, object_id, id, true).await
}

async fn find_in(
    tx: &mut TenantTx,
    object_id: ObjectId,
    id: RecordId,
    lock: bool,
) -> Result<Option<RecordRow>> {
    let org = tx.organization_id();
    let lock = if lock {
        dialect::lock_rows(tx.backend())
    } else {
        ""
    };
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM records WHERE organization_id = $1 AND object_id = $2 \
                 AND id = $3 AND deleted_at IS NULL{lock}"
            ))
            .bind(org)
            .bind(object_id)
            .bind(id),
        )
        .await
}

/// A deleted record of an object (for restoring it).
pub async fn find_deleted(
    tx: &mut TenantTx,
    object_id: ObjectId,
    id: RecordId,
) -> Result<Option<RecordRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM records WHERE organization_id = $1 AND object_id = $2 \
                 AND id = $3 AND deleted_at IS NOT NULL"
            ))
            .bind(org)
            .bind(object_id)
            .bind(id),
        )
        .await
}

pub async fn update(tx: &mut TenantTx, id: RecordId, f: &RecordFields<'_>) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE records SET owner_id = $3, data = $4, title = $5, search_key = $6, \
                 updated_at = $7 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(f.owner_id)
            .bind(Json::Object(f.data.clone()))
            .bind(f.title)
            .bind(f.search_key)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

/// Moves a record to recently deleted (`Some(time)`) or back (`None`).
pub async fn set_deleted(
    tx: &mut TenantTx,
    id: RecordId,
    deleted_at: Option<DateTime<Utc>>,
) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("UPDATE records SET deleted_at = $3 WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(deleted_at),
        )
        .await?
        == 1)
}

/// One row of the value index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexRow {
    pub field_id: FieldId,
    pub num: Option<f64>,
    pub txt: Option<String>,
    pub unique_key: Option<String>,
}

/// Replaces a record's index rows for `fields` by `rows` (rows of other fields stay).
pub async fn replace_index(
    tx: &mut TenantTx,
    record_id: Uuid,
    fields: &[FieldId],
    rows: &[IndexRow],
) -> Result<()> {
    let org = tx.organization_id();
    if !fields.is_empty() {
        let mut q =
            query("DELETE FROM record_values WHERE organization_id = $1 AND record_id = $2")
                .bind(org)
                .bind(record_id);
        let list = in_list(&mut q, fields.iter().map(|f| Arg::from(*f)));
        q.push_sql(&format!(" AND field_id IN ({list})"));
        tx.raw().execute(q).await?;
    }
    // A few hundred rows per statement keeps within both engines' placeholder limits.
    for chunk in rows.chunks(150) {
        let mut q = query(
            "INSERT INTO record_values (organization_id, record_id, field_id, num, txt, unique_key) VALUES ",
        );
        let o = q.push_arg(org);
        let r = q.push_arg(record_id);
        for (i, row) in chunk.iter().enumerate() {
            let f = q.push_arg(row.field_id);
            let n = q.push_arg(row.num);
            let t = q.push_arg(row.txt.clone());
            let u = q.push_arg(row.unique_key.clone());
            let sep = if i == 0 { "" } else { ", " };
            q.push_sql(&format!("{sep}({o}, {r}, {f}, {n}, {t}, {u})"));
        }
        tx.raw().execute(q).await?;
    }
    Ok(())
}

/// Removes every index row of a record (it was deleted).
pub async fn clear_index(tx: &mut TenantTx, record_id: Uuid) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM record_values WHERE organization_id = $1 AND record_id = $2")
                .bind(org)
                .bind(record_id),
        )
        .await?;
    Ok(())
}

/// Removes every index row of a field (its type changed, or its values are rewritten).
pub async fn clear_field_index(tx: &mut TenantTx, field_id: FieldId) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM record_values WHERE organization_id = $1 AND field_id = $2")
                .bind(org)
                .bind(field_id),
        )
        .await?;
    Ok(())
}

/// Another record holding `unique_key` in a unique field, if any.
pub async fn unique_holder(
    tx: &mut TenantTx,
    field_id: FieldId,
    unique_key: &str,
    except: Uuid,
) -> Result<Option<Uuid>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        record_id: Uuid,
    }
    let org = tx.organization_id();
    let row: Option<Row> = tx
        .raw()
        .fetch_optional(
            query(
                "SELECT record_id FROM record_values WHERE organization_id = $1 AND field_id = $2 \
                 AND unique_key = $3 AND record_id <> $4 LIMIT 1",
            )
            .bind(org)
            .bind(field_id)
            .bind(unique_key)
            .bind(except),
        )
        .await?;
    Ok(row.map(|r| r.record_id))
}

/// How many values of a field are shared by more than one record (making it unique would fail).
pub async fn duplicate_values(tx: &mut TenantTx, field_id: FieldId) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM (SELECT txt, num FROM record_values \
                 WHERE organization_id = $1 AND field_id = $2 \
                 GROUP BY lower(COALESCE(txt, '')), num HAVING COUNT(*) > 1) AS shared",
            )
            .bind(org)
            .bind(field_id),
        )
        .await?;
    Ok(row.n)
}

/// Where the records a relation may point to live.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// A built-in object's own table (`contacts`, `deals`…).
    Table(&'static str),
    /// A custom object's records.
    Object(ObjectId),
}

/// Which of `ids` are live records of `target` in this organization.
pub async fn existing(tx: &mut TenantTx, target: Target, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let org = tx.organization_id();
    let mut q = match target {
        Target::Table(table) => {
            query(format!(
                "SELECT id FROM {table} WHERE organization_id = $1{}",
                builtin_live(table)
            ))
            .bind(org)
        }
        Target::Object(object) => query(
            "SELECT id FROM records WHERE organization_id = $1 AND object_id = $2 AND deleted_at IS NULL",
        )
        .bind(org)
        .bind(object),
    };
    let these = q.any_of(tx.backend(), "id", ids);
    q.push_sql(&format!(" AND {these}"));
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The titles of custom records, by id (deleted ones included: a relation may still name them).
pub async fn titles(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<(Uuid, ObjectId, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        #[sqlx(try_from = "uuid::Uuid")]
        object_id: ObjectId,
        title: String,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let org = tx.organization_id();
    let mut q =
        query("SELECT id, object_id, title FROM records WHERE organization_id = $1").bind(org);
    let these = q.any_of(tx.backend(), "id", ids);
    q.push_sql(&format!(" AND {these}"));
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.object_id, r.title))
        .collect())
}

fn in_list(q: &mut Query, args: impl Iterator<Item = Arg>) -> String {
    args.map(|a| q.push_arg(a)).collect::<Vec<_>>().join(", ")
}

/// Which index column holds a field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Num,
    Txt,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Num => "num",
            Column::Txt => "txt",
        }
    }
}

/// A value a condition compares with, already in the index's form.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Num(f64),
    Txt(String),
}

impl Operand {
    fn column(&self) -> Column {
        match self {
            Operand::Num(_) => Column::Num,
            Operand::Txt(_) => Column::Txt,
        }
    }

    fn arg(&self) -> Arg {
        match self {
            Operand::Num(n) => Arg::from(*n),
            Operand::Txt(t) => Arg::from(t.as_str()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Comparison {
    fn sql(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Gt => ">",
            Comparison::Gte => ">=",
            Comparison::Lt => "<",
            Comparison::Lte => "<=",
        }
    }
}

/// One condition on a field's indexed values.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Some value of the field compares so (for a many-valued field: one of them does).
    Compare {
        field: FieldId,
        op: Comparison,
        value: Operand,
    },
    /// Some value of the field is one of these.
    In {
        field: FieldId,
        values: Vec<Operand>,
    },
    /// The field has no value (`true`) or has one (`false`).
    Empty { field: FieldId, empty: bool },
}

impl Condition {
    pub fn field(&self) -> FieldId {
        match self {
            Condition::Compare { field, .. }
            | Condition::In { field, .. }
            | Condition::Empty { field, .. } => *field,
        }
    }

    /// The test of an index row `alias` of this condition's field (none for `Empty`).
    fn value_test(&self, q: &mut Query, alias: &str) -> Option<String> {
        match self {
            Condition::Compare { op, value, .. } => {
                let v = q.push_arg(value.arg());
                Some(format!(
                    "{alias}.{} {} {v}",
                    value.column().name(),
                    op.sql()
                ))
            }
            Condition::In { values, .. } => {
                let column = values.first().map_or(Column::Txt, Operand::column).name();
                let list = in_list(q, values.iter().map(Operand::arg));
                Some(format!("{alias}.{column} IN ({list})"))
            }
            Condition::Empty { .. } => None,
        }
    }
}

/// The SQL of a condition on the record whose id is `id_column` (of the organization bound as
/// `$1`), binding its values: a probe of
/// that record's index rows, written as a scalar subquery so that it stays a probe per record.
/// As `EXISTS`, PostgreSQL's generic plan for a prepared statement (which cannot know how common
/// the value is) turned it into a hash of every matching row — 200,000 for a common status, four
/// seconds for a page of 26.
pub fn condition_sql(q: &mut Query, backend: Backend, id_column: &str, c: &Condition) -> String {
    condition_sql_in(q, backend, "$1", id_column, c)
}

/// [`condition_sql`] where the organization is bound as `org`.
pub fn condition_sql_in(
    q: &mut Query,
    backend: Backend,
    org: &str,
    id_column: &str,
    c: &Condition,
) -> String {
    let f = q.push_arg(c.field());
    let probe = format!(
        "SELECT 1 FROM record_values x{} WHERE x.organization_id = {org} AND x.record_id = {id_column} \
         AND x.field_id = {f}",
        dialect::by_record(backend)
    );
    match (c, c.value_test(q, "x")) {
        (Condition::Empty { empty: true, .. }, _) => format!("({probe} LIMIT 1) IS NULL"),
        (_, Some(test)) => format!("({probe} AND {test} LIMIT 1) IS NOT NULL"),
        (_, None) => format!("({probe} LIMIT 1) IS NOT NULL"),
    }
}

/// A capped count's answer.
#[derive(Clone, sqlx::FromRow)]
struct Counted {
    n: i64,
}

/// How many index rows match a condition, counting at most `cap`: tells a rare value (worth
/// reading the list from) from a common one (the list's own order finds its page sooner). Kept,
/// like a list's total, until the organization next writes.
pub async fn matches_capped(tx: &mut TenantTx, c: &Condition, cap: i64) -> Result<i64> {
    let org = tx.organization_id();
    let mut q = query("").bind(org).bind(c.field());
    let Some(test) = c.value_test(&mut q, "x") else {
        return Ok(cap);
    };
    let l = q.push_arg(cap);
    let q = q.wrap(|_| {
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM record_values x WHERE x.organization_id = $1 \
             AND x.field_id = $2 AND {test} LIMIT {l}) AS capped"
        )
    });
    let rows: Vec<Counted> = crate::statistics::fetch_figure(tx, q).await?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// The order of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Created,
    Updated,
    /// By a single-valued field's indexed value; records without one come last.
    Field {
        field: FieldId,
        column: Column,
    },
}

/// Where a page continues: after the last row of the previous one.
#[derive(Clone, Debug, PartialEq)]
pub enum After {
    /// Sorted by creation or update time.
    Time(DateTime<Utc>, RecordId),
    /// Sorted by a field, among the records that have a value.
    Value(Operand, RecordId),
    /// Sorted by a field, among the records without a value (they come last).
    Empty(RecordId),
}

/// Which records of an object, in which order, how many.
#[derive(Clone, Debug)]
pub struct RecordQuery<'a> {
    pub object_id: ObjectId,
    pub conditions: &'a [Condition],
    /// The owners the list is narrowed to (the reach of who asks), or `None` for every record.
    pub owners: Option<&'a [UserId]>,
    /// A condition few records meet (found by [`matches_capped`]): the list is read from its
    /// matches and sorted, instead of in its order, testing every record.
    pub driver: Option<usize>,
    /// Lowercase text every match contains, and how to look for it.
    pub search: Option<(&'a str, Strategy)>,
    /// SQLite's text index gives few rows for the search (see
    /// [`crate::text::index_gives_few`]): a list in time order is read from them by rowid.
    pub from_text_matches: bool,
    /// The search looks at titles only, not the whole searchable text (the reader may not see
    /// some of the fields it is made of).
    pub search_titles: bool,
    pub sort: Sort,
    pub descending: bool,
    pub after: Option<After>,
    /// Rows wanted; one more is read to tell whether a next page exists.
    pub limit: u64,
}

/// A listed record and the value it was sorted by.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    #[sqlx(flatten)]
    pub record: RecordRow,
    pub sort_num: Option<f64>,
    pub sort_txt: Option<String>,
}

impl Listed {
    /// Where a page ending on this row continues.
    pub fn after(&self, sort: Sort) -> After {
        let id = self.record.id;
        match sort {
            Sort::Created => After::Time(self.record.created_at, id),
            Sort::Updated => After::Time(self.record.updated_at, id),
            Sort::Field { .. } => match (self.sort_num, &self.sort_txt) {
                (Some(n), _) => After::Value(Operand::Num(n), id),
                (None, Some(t)) => After::Value(Operand::Txt(t.clone()), id),
                (None, None) => After::Empty(id),
            },
        }
    }
}

/// The condition that a record's search text contains `text` (lowercase).
fn search_sql(q: &mut Query, backend: Backend, text: &str, strategy: Strategy) -> String {
    let pattern = format!("%{}%", dialect::escape_like(text));
    match (backend, strategy) {
        (Backend::Postgres, Strategy::Index) => {
            let p = q.push_arg(pattern);
            format!("records.id IN (SELECT rapport_text_matches('record', {p}))")
        }
        (Backend::Sqlite, Strategy::Index) if crate::text::fts_answers(text) => {
            crate::text::fts_contains(
                q,
                "records.rowid",
                "records_fts",
                "text",
                "records.search_key",
                text,
            )
        }
        _ => {
            let p = q.push_arg(pattern);
            format!("records.search_key LIKE {p} ESCAPE '\\'")
        }
    }
}

/// The shape of one list statement: where rows come from and what they must meet.
struct Plan<'q, 'a> {
    rq: &'q RecordQuery<'a>,
    backend: Backend,
    /// Conditions left out because the statement already meets them (bounds of the sort).
    skip: Vec<usize>,
}

impl Plan<'_, '_> {
    /// `FROM …` reading the driver's matches first when there is one, then `rest` (tables
    /// joined by CROSS JOIN, which keeps this order on SQLite).
    fn from(&self, q: &mut Query, rest: &str) -> (String, String) {
        match self.rq.driver.and_then(|i| self.rq.conditions.get(i)) {
            Some(c) => {
                let f = q.push_arg(c.field());
                let test = c.value_test(q, "d").unwrap_or_else(|| "1 = 1".into());
                (
                    format!("FROM record_values d CROSS JOIN {rest}"),
                    format!(
                        " AND d.organization_id = $1 AND d.field_id = {f} AND {test} \
                         AND records.organization_id = d.organization_id AND records.id = d.record_id"
                    ),
                )
            }
            None => (format!("FROM {rest}"), String::new()),
        }
    }

    /// The conditions not met otherwise, and the search.
    fn filters(&self, q: &mut Query) -> String {
        let mut sql = String::new();
        for (i, c) in self.rq.conditions.iter().enumerate() {
            if self.skip.contains(&i) || self.rq.driver == Some(i) {
                continue;
            }
            let c = condition_sql(q, self.backend, "records.id", c);
            sql.push_str(&format!(" AND {c}"));
        }
        if let Some((text, strategy)) = self.rq.search {
            let s = if self.rq.search_titles {
                let p = q.push_arg(format!("%{}%", dialect::escape_like(text)));
                format!("LOWER(records.title) LIKE {p} ESCAPE '\\'")
            } else {
                search_sql(q, self.backend, text, strategy)
            };
            sql.push_str(&format!(" AND {s}"));
        }
        if let Some(owners) = self.rq.owners {
            let owned = q.any_user(self.backend, "records.owner_id", owners);
            sql.push_str(&format!(" AND {owned}"));
        }
        sql
    }
}

const LIVE: &str =
    "records.organization_id = $1 AND records.object_id = $2 AND records.deleted_at IS NULL";

/// [`LIVE`] for a list in time order. A search SQLite's text index answers with few rows is
/// read from them by rowid: `+` keeps the planner from walking every record of the object by
/// the `records_live` index instead and testing each against them (a rare phrase among 200,000
/// berths: 39 → 1 ms). The index holds every organization's records, so a text rare here and
/// common elsewhere is read the other way.
fn live_in_time_order(backend: Backend, rq: &RecordQuery<'_>) -> &'static str {
    match (backend, rq.search) {
        (Backend::Sqlite, Some((text, Strategy::Index)))
            if rq.from_text_matches && crate::text::fts_answers(text) =>
        {
            "+records.organization_id = $1 AND +records.object_id = $2 \
             AND records.deleted_at IS NULL"
        }
        _ => LIVE,
    }
}

/// The part of a list sorted by a field that a statement reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Records with a value, in the field's order.
    Valued,
    /// Records without one, which come last.
    Empty,
}

/// The statement of a list sorted by creation or update time.
fn by_time(org: OrganizationId, backend: Backend, rq: &RecordQuery<'_>) -> Result<Query> {
    let column = if rq.sort == Sort::Created {
        "created_at"
    } else {
        "updated_at"
    };
    let plan = Plan {
        rq,
        backend,
        skip: Vec::new(),
    };
    let mut q = query("").bind(org).bind(rq.object_id);
    let (from, joined) = plan.from(&mut q, "records");
    let filters = plan.filters(&mut q);
    let live = live_in_time_order(backend, rq);
    let mut q = q.wrap(|_| {
        format!(
            "SELECT {COLUMNS}, CAST(NULL AS DOUBLE PRECISION) AS sort_num, CAST(NULL AS TEXT) AS sort_txt \
             {from} WHERE {live}{joined}{filters}"
        )
    });
    let after = match &rq.after {
        Some(After::Time(t, id)) => Some((keyset::SortValue::Time(*t), *id)),
        None => None,
        Some(_) => return Err(Error::Corrupt("a cursor of another order".into())),
    };
    let expr = match rq.search {
        Some((_, strategy)) => {
            crate::text::order_by(backend, strategy, &format!("records.{column}"))
        }
        None => format!("records.{column}"),
    };
    keyset::page(
        &mut q,
        &expr,
        after.as_ref().map(|(v, id)| (v, *id)),
        rq.descending,
        (0, rq.limit),
        // Values of any field filter these lists: their plans hang on how common a value is.
        keyset::Plan::EachRun,
    );
    Ok(q)
}

/// How a list sorted by `field` splits: the conditions on the field itself, and whether
/// records without a value (or with one) can match at all.
struct FieldSort {
    field: FieldId,
    column: Column,
    on_sort: Vec<usize>,
    wants_empty: bool,
    wants_value: bool,
}

impl FieldSort {
    fn new(rq: &RecordQuery<'_>, field: FieldId, column: Column) -> FieldSort {
        let on_field = |c: &Condition| c.field() == field;
        let on_sort = rq
            .conditions
            .iter()
            .enumerate()
            .filter(|(_, c)| on_field(c) && !matches!(c, Condition::Empty { .. }))
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        let wants_empty = rq
            .conditions
            .iter()
            .any(|c| on_field(c) && matches!(c, Condition::Empty { empty: true, .. }));
        let wants_value = !on_sort.is_empty()
            || rq
                .conditions
                .iter()
                .any(|c| on_field(c) && matches!(c, Condition::Empty { empty: false, .. }));
        FieldSort {
            field,
            column,
            on_sort,
            wants_empty,
            wants_value,
        }
    }

    /// The statement reading the records that have a value, in the field's order: a walk of
    /// the field's index (bounded by the conditions on the field and the cursor) joined to the
    /// records.
    fn valued(
        &self,
        org: OrganizationId,
        backend: Backend,
        rq: &RecordQuery<'_>,
        limit: i64,
    ) -> Query {
        let (dir, cmp) = direction(rq.descending);
        let col = self.column.name();
        let mut skip = self.on_sort.clone();
        skip.extend(
            rq.conditions
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Condition::Empty { field: f, empty: false } if *f == self.field))
                .map(|(i, _)| i),
        );
        let plan = Plan { rq, backend, skip };
        let mut q = query("").bind(org).bind(rq.object_id).bind(self.field);
        let v_index = if rq.driver.is_some() {
            dialect::by_record(backend)
        } else {
            ""
        };
        let (from, mut joined) = plan.from(
            &mut q,
            &format!("record_values v{v_index} CROSS JOIN records"),
        );
        if rq.driver.is_some() {
            joined.push_str(" AND v.record_id = d.record_id");
        }
        let mut bounds = String::new();
        for i in &self.on_sort {
            if let Some(test) = rq.conditions[*i].value_test(&mut q, "v") {
                bounds.push_str(&format!(" AND {test}"));
            }
        }
        let filters = plan.filters(&mut q);
        let mut cursor = String::new();
        if let Some(After::Value(value, id)) = &rq.after {
            let v = q.push_arg(value.arg());
            let i = q.push_arg(*id);
            // The first condition bounds the index scan (see keyset::page).
            cursor = format!(
                " AND v.{col} {cmp}= {v} AND (v.{col} {cmp} {v} OR (v.{col} = {v} AND v.record_id {cmp} {i}))"
            );
        }
        let l = q.push_arg(limit);
        let (num, txt) = match self.column {
            Column::Num => ("v.num", "CAST(NULL AS TEXT)"),
            Column::Txt => ("CAST(NULL AS DOUBLE PRECISION)", "v.txt"),
        };
        q.wrap(|_| {
            format!(
                "SELECT {COLUMNS}, {num} AS sort_num, {txt} AS sort_txt {from} \
                 WHERE v.organization_id = $1 AND v.field_id = $3 AND v.{col} IS NOT NULL \
                 AND records.organization_id = v.organization_id AND records.id = v.record_id \
                 AND {LIVE}{joined}{bounds}{filters}{cursor} \
                 ORDER BY v.{col} {dir}, v.record_id {dir} LIMIT {l}"
            )
        })
    }

    /// The statement reading the records without a value, by id.
    fn empty(
        &self,
        org: OrganizationId,
        backend: Backend,
        rq: &RecordQuery<'_>,
        limit: i64,
    ) -> Query {
        let (dir, cmp) = direction(rq.descending);
        let plan = Plan {
            rq,
            backend,
            skip: Vec::new(),
        };
        let mut q = query("").bind(org).bind(rq.object_id).bind(self.field);
        let (from, joined) = plan.from(&mut q, "records");
        let filters = plan.filters(&mut q);
        let mut cursor = String::new();
        if let Some(After::Empty(id)) = &rq.after {
            let i = q.push_arg(*id);
            cursor = format!(" AND records.id {cmp} {i}");
        }
        let l = q.push_arg(limit);
        let by_record = dialect::by_record(backend);
        q.wrap(|_| {
            format!(
                "SELECT {COLUMNS}, CAST(NULL AS DOUBLE PRECISION) AS sort_num, CAST(NULL AS TEXT) AS sort_txt \
                 {from} WHERE {LIVE}{joined} AND (SELECT 1 FROM record_values v{by_record} \
                 WHERE v.organization_id = $1 AND v.record_id = records.id AND v.field_id = $3 LIMIT 1) IS NULL{filters}{cursor} \
                 ORDER BY records.id {dir} LIMIT {l}"
            )
        })
    }

    /// Which parts a page reads, in order.
    fn parts(&self, rq: &RecordQuery<'_>) -> Vec<Part> {
        let mut parts = Vec::new();
        if !self.wants_empty && !matches!(rq.after, Some(After::Empty(_))) {
            parts.push(Part::Valued);
        }
        if !self.wants_value {
            parts.push(Part::Empty);
        }
        parts
    }
}

fn direction(descending: bool) -> (&'static str, &'static str) {
    if descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    }
}

/// The statements a page of this list may run, in order, each for a full page (for reading
/// their plans; [`list`] runs them).
pub fn statements(tx: &TenantTx, rq: &RecordQuery<'_>) -> Result<Vec<Query>> {
    let org = tx.organization_id();
    let backend = tx.backend();
    let limit = rq.limit as i64 + 1;
    match rq.sort {
        Sort::Created | Sort::Updated => Ok(vec![by_time(org, backend, rq)?]),
        Sort::Field { field, column } => {
            let sort = FieldSort::new(rq, field, column);
            Ok(sort
                .parts(rq)
                .into_iter()
                .map(|part| match part {
                    Part::Valued => sort.valued(org, backend, rq, limit),
                    Part::Empty => sort.empty(org, backend, rq, limit),
                })
                .collect())
        }
    }
}

/// One page of an object's live records: one statement, or two when a page sorted by a field
/// runs past the records that have a value into those that have none (they come last).
pub async fn list(tx: &mut TenantTx, rq: &RecordQuery<'_>) -> Result<Vec<Listed>> {
    let org = tx.organization_id();
    let backend = tx.backend();
    let limit = rq.limit as i64 + 1;
    let (field, column) = match rq.sort {
        Sort::Created | Sort::Updated => {
            return tx.raw().fetch_all(by_time(org, backend, rq)?).await;
        }
        Sort::Field { field, column } => (field, column),
    };
    let sort = FieldSort::new(rq, field, column);
    let mut rows: Vec<Listed> = Vec::new();
    for part in sort.parts(rq) {
        let wanted = limit - rows.len() as i64;
        if wanted <= 0 {
            break;
        }
        let q = match part {
            Part::Valued => sort.valued(org, backend, rq, wanted),
            Part::Empty => sort.empty(org, backend, rq, wanted),
        };
        let more: Vec<Listed> = tx.raw().fetch_all(q).await?;
        rows.extend(more);
    }
    Ok(rows)
}

/// What a rollup computes over the related records' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Sum,
    Min,
    Max,
}

/// A rollup for each of `records`: over the live records whose relation field `via` points at
/// it, the aggregate of their `value` field (none for a count). Records with nothing related are
/// left out (count 0, no sum).
pub async fn rollups(
    tx: &mut TenantTx,
    via: FieldId,
    aggregate: Aggregate,
    value: Option<FieldId>,
    records: &[Uuid],
    sources: Option<(&str, &[UserId])>,
) -> Result<Vec<(String, f64)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        target: String,
        figure: Option<f64>,
    }
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let org = tx.organization_id();
    let mut q = query("").bind(org).bind(via);
    let (join, figure) = match (aggregate, value) {
        (Aggregate::Count, _) | (_, None) => (
            String::new(),
            "CAST(COUNT(*) AS DOUBLE PRECISION)".to_owned(),
        ),
        (aggregate, Some(field)) => {
            let f = q.push_arg(field);
            let function = match aggregate {
                Aggregate::Sum => "SUM",
                Aggregate::Min => "MIN",
                _ => "MAX",
            };
            (
                format!(
                    " JOIN record_values n ON n.organization_id = v.organization_id \
                     AND n.record_id = v.record_id AND n.field_id = {f}"
                ),
                format!("{function}(n.num)"),
            )
        }
    };
    let list = in_list(&mut q, records.iter().map(|id| Arg::from(id.to_string())));
    // Only the source records of `sources`' owners, when the figures are narrowed to some.
    let reach = match sources {
        Some((table, owners)) => {
            let before = q.sql().len();
            push_reach(&mut q, tx.backend(), table, "s", Some(owners));
            let reached = q.sql()[before..].to_owned();
            format!(
                " AND v.record_id IN (SELECT s.id FROM {table} s WHERE s.organization_id = $1{reached})"
            )
        }
        None => String::new(),
    };
    let q = q.wrap(|_| {
        format!(
            "SELECT v.txt AS target, {figure} AS figure FROM record_values v{join} \
             WHERE v.organization_id = $1 AND v.field_id = $2 AND v.txt IN ({list}){reach} GROUP BY v.txt"
        )
    });
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.figure.map(|f| (r.target, f)))
        .collect())
}

/// The live records whose relation field `via` points at `target` (the other side of a
/// relation), newest first, at most `limit`.
pub async fn related(
    tx: &mut TenantTx,
    via: FieldId,
    target: Uuid,
    limit: i64,
    owners: Option<&[UserId]>,
) -> Result<Vec<RecordRow>> {
    let org = tx.organization_id();
    let mut q = query(format!(
        "SELECT {COLUMNS} FROM record_values v JOIN records ON records.organization_id = v.organization_id \
         AND records.id = v.record_id WHERE v.organization_id = $1 AND v.field_id = $2 \
         AND v.txt = $3 AND records.deleted_at IS NULL"
    ))
    .bind(org)
    .bind(via)
    .bind(target.to_string());
    push_reach(&mut q, tx.backend(), "records", "records", owners);
    let l = q.push_arg(limit);
    q.push_sql(&format!(" ORDER BY records.id DESC LIMIT {l}"));
    tx.raw().fetch_all(q).await
}

/// Appends ` AND …`: the record `alias` names, of `table` (`records` or a built-in kind's), is
/// in reach of `owners` (nothing when `None`: every record is).
pub(crate) fn push_reach(
    q: &mut Query,
    backend: Backend,
    table: &str,
    alias: &str,
    owners: Option<&[UserId]>,
) {
    let Some(owners) = owners else {
        return;
    };
    let reached = match table {
        "tasks" => crate::tasks::reach_sql(q, backend, alias, owners),
        _ => q.any_user(backend, &format!("{alias}.owner_id"), owners),
    };
    q.push_sql(&format!(" AND {reached}"));
}

/// A record's id and what names it (a name or a title).
#[derive(sqlx::FromRow)]
struct Titled {
    id: Uuid,
    title: String,
}

/// The live records of a built-in `table` whose relation field `via` points at `target`, at
/// most `limit`: (id, name or title), newest first.
pub async fn related_builtin(
    tx: &mut TenantTx,
    table: &'static str,
    via: FieldId,
    target: Uuid,
    limit: i64,
    owners: Option<&[UserId]>,
) -> Result<Vec<(Uuid, String)>> {
    let org = tx.organization_id();
    let mut q = query(format!(
        "SELECT t.id AS id, t.{title} AS title FROM record_values v JOIN {table} t \
         ON t.organization_id = v.organization_id AND t.id = v.record_id \
         WHERE v.organization_id = $1 AND v.field_id = $2 AND v.txt = $3{live}",
        title = title_column(table),
        live = builtin_live(table),
    ))
    .bind(org)
    .bind(via)
    .bind(target.to_string());
    push_reach(&mut q, tx.backend(), table, "t", owners);
    let l = q.push_arg(limit);
    q.push_sql(&format!(" ORDER BY t.id DESC LIMIT {l}"));
    let rows: Vec<Titled> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

/// Every live record of an object, for rewriting a field's values (a type change) — read in
/// pages of `limit` after `after`.
pub async fn batch(
    tx: &mut TenantTx,
    object_id: ObjectId,
    after: Option<RecordId>,
    limit: i64,
) -> Result<Vec<RecordRow>> {
    let org = tx.organization_id();
    let mut q = query(format!(
        "SELECT {COLUMNS} FROM records WHERE organization_id = $1 AND object_id = $2 AND deleted_at IS NULL"
    ))
    .bind(org)
    .bind(object_id);
    by_id_after(&mut q, after.map(|id| id.as_uuid()), limit);
    tx.raw().fetch_all(q).await
}

/// Appends ` AND id > after ORDER BY id LIMIT limit`: a batch of rows in id order.
fn by_id_after(q: &mut Query, after: Option<Uuid>, limit: i64) {
    if let Some(id) = after {
        let p = q.push_arg(id);
        q.push_sql(&format!(" AND id > {p}"));
    }
    let l = q.push_arg(limit);
    q.push_sql(&format!(" ORDER BY id LIMIT {l}"));
}

/// Writes a record's values document (a type change converted them) without touching its time.
pub async fn set_data(
    tx: &mut TenantTx,
    id: RecordId,
    data: &Map<String, Json>,
    title: &str,
    search_key: &str,
) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE records SET data = $3, title = $4, search_key = $5 WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(Json::Object(data.clone()))
                .bind(title)
                .bind(search_key),
        )
        .await?;
    Ok(())
}

/// The title of a built-in object's record, by table.
fn title_column(table: &str) -> &'static str {
    match table {
        "deals" | "tasks" => "title",
        _ => "name",
    }
}

/// The names of records of `target` among `ids`, deleted ones included (a relation may still
/// point to a record in recently deleted).
pub async fn target_titles(
    tx: &mut TenantTx,
    target: Target,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let org = tx.organization_id();
    let mut q = match target {
        Target::Table(table) => query(format!(
            "SELECT id, {} AS title FROM {table} WHERE organization_id = $1",
            title_column(table)
        ))
        .bind(org),
        Target::Object(object) => {
            query("SELECT id, title FROM records WHERE organization_id = $1 AND object_id = $2")
                .bind(org)
                .bind(object)
        }
    };
    let these = q.any_of(tx.backend(), "id", ids);
    q.push_sql(&format!(" AND {these}"));
    let rows: Vec<Titled> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

/// Live records of `target` to choose from, by name: the first `limit` whose name contains
/// `contains` (any when empty).
pub async fn target_choices(
    tx: &mut TenantTx,
    target: Target,
    contains: &str,
    limit: i64,
    owners: Option<&[UserId]>,
) -> Result<Vec<(Uuid, String)>> {
    let org = tx.organization_id();
    let pattern = format!(
        "%{}%",
        contains
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let backend = tx.backend();
    let (table, column) = match target {
        Target::Table(table) => (table, title_column(table)),
        Target::Object(_) => ("records", "title"),
    };
    let mut q = query(format!(
        "SELECT id, {column} AS title FROM {table} WHERE organization_id = $1"
    ))
    .bind(org);
    match target {
        Target::Table(table) => q.push_sql(builtin_live(table)),
        Target::Object(object) => {
            let o = q.push_arg(object);
            q.push_sql(&format!(" AND object_id = {o} AND deleted_at IS NULL"));
        }
    }
    let p = q.push_arg(pattern);
    q.push_sql(&format!(" AND LOWER({column}) LIKE {p} ESCAPE '\\'"));
    push_reach(&mut q, backend, table, table, owners);
    let l = q.push_arg(limit);
    q.push_sql(&format!(" ORDER BY LOWER({column}), id LIMIT {l}"));
    let rows: Vec<Titled> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

/// What a live record is, by id alone (tags, tasks and timelines name records by id; ids are
/// unique across objects): its object and owner.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct LiveRecord {
    #[sqlx(try_from = "uuid::Uuid")]
    pub object_id: ObjectId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
}

pub async fn live(tx: &mut TenantTx, id: RecordId) -> Result<Option<LiveRecord>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(
                "SELECT object_id, owner_id FROM records WHERE organization_id = $1 AND id = $2 \
                 AND deleted_at IS NULL",
            )
            .bind(org)
            .bind(id),
        )
        .await
}

/// The live records of an object, counted up to `cap` (a list's total beyond it is "more than").
/// Kept until the organization next writes.
pub async fn count_capped(
    tx: &mut TenantTx,
    object_id: ObjectId,
    cap: i64,
    owners: Option<&[UserId]>,
) -> Result<i64> {
    let org = tx.organization_id();
    let mut q = query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM records WHERE organization_id = $1 \
         AND object_id = $2 AND deleted_at IS NULL",
    )
    .bind(org)
    .bind(object_id);
    push_reach(&mut q, tx.backend(), "records", "records", owners);
    let c = q.push_arg(cap);
    q.push_sql(&format!(" LIMIT {c}) capped"));
    let rows: Vec<Counted> = crate::statistics::fetch_figure(tx, q).await?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// Writes the custom values document of a built-in record (`table`: one of the built-in kinds'
/// tables).
pub async fn set_builtin_custom(
    tx: &mut TenantTx,
    table: &'static str,
    id: Uuid,
    custom: &Map<String, Json>,
) -> Result<()> {
    debug_assert!(matches!(
        table,
        "companies" | "contacts" | "leads" | "deals" | "tasks"
    ));
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(format!(
                "UPDATE {table} SET custom = $3 WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id)
            .bind(Json::Object(custom.clone())),
        )
        .await?;
    Ok(())
}

/// A built-in record's custom values document.
#[derive(Debug, sqlx::FromRow)]
pub struct BuiltinValues {
    pub id: Uuid,
    pub custom: JsonColumn<Map<String, Json>>,
}

/// ` AND deleted_at IS NULL` on the built-in tables that keep deleted rows (tasks do not).
fn builtin_live(table: &str) -> &'static str {
    if table == "tasks" {
        ""
    } else {
        " AND deleted_at IS NULL"
    }
}

/// The custom values of every live record of a built-in table holding some, for rewriting a
/// field's values or index rows — read in pages of `limit` after `after`.
pub async fn builtin_batch(
    tx: &mut TenantTx,
    table: &'static str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<BuiltinValues>> {
    let org = tx.organization_id();
    let mut q = query(format!(
        "SELECT id, custom FROM {table} WHERE organization_id = $1{}",
        builtin_live(table)
    ))
    .bind(org);
    by_id_after(&mut q, after, limit);
    tx.raw().fetch_all(q).await
}

/// The custom values of one built-in record, deleted or not.
pub async fn builtin_values(
    tx: &mut TenantTx,
    table: &'static str,
    id: Uuid,
) -> Result<Option<BuiltinValues>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT id, custom FROM {table} WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}
