//! The text each kind of record is searched by ("contains", any case).
//!
//! PostgreSQL: trigram GIN indexes cover these exact expressions (migration 0006), and the
//! `rapport_text_matches` function searches them for the transaction's organization (row-level
//! security would otherwise keep `ILIKE` from using an index). SQLite: FTS5 tables with the trigram tokenizer hold
//! the same text (kept in step by triggers) and serve `LIKE '%…%'` for three letters or more;
//! shorter or wildcard-bearing searches scan the organization's rows.

use crate::{Backend, Query, dialect};

/// A searchable text of a table.
pub struct Searchable {
    /// Its name for PostgreSQL's `rapport_text_matches(kind, pattern)` (migration 0006).
    pub kind: &'static str,
    /// The table of the records.
    pub table: &'static str,
    /// The text as an SQL expression over the table's columns.
    pub expr: &'static str,
    /// PostgreSQL: a stored column holding `lower(expr)` (migrations 0014, 0017), which a scan
    /// compares with `LIKE` instead of `ILIKE` over `expr`.
    pub lowered: Option<&'static str>,
    /// The SQLite FTS5 table and column holding the same text.
    pub fts: &'static str,
    pub column: &'static str,
}

/// A contact's name, email and phone.
pub const CONTACT: Searchable = Searchable {
    kind: "contact",
    table: "contacts",
    expr: "(name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, ''))",
    lowered: Some("search_key"),
    fts: "contacts_fts",
    column: "text",
};
/// A contact's job title (global search only).
pub const CONTACT_TITLE: Searchable = Searchable {
    kind: "contact_title",
    table: "contacts",
    expr: "COALESCE(title, '')",
    lowered: None,
    fts: "contacts_fts",
    column: "title",
};
/// A company's name and web domain.
pub const COMPANY: Searchable = Searchable {
    kind: "company",
    table: "companies",
    expr: "(name || ' ' || COALESCE(domain, ''))",
    lowered: Some("search_key"),
    fts: "companies_fts",
    column: "text",
};
/// A lead's name, email, phone and company name.
pub const LEAD: Searchable = Searchable {
    kind: "lead",
    table: "leads",
    expr: "(name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company_name, ''))",
    lowered: Some("search_key"),
    fts: "leads_fts",
    column: "text",
};
/// A deal's title.
pub const DEAL: Searchable = Searchable {
    kind: "deal",
    table: "deals",
    expr: "title",
    lowered: Some("title_key"),
    fts: "deals_fts",
    column: "text",
};

/// How a search is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Through the index (PostgreSQL's trigram index, SQLite's FTS5 table).
    Index,
    /// By reading the organization's rows in the list's order, testing each: faster than the
    /// index when the text is common, since the first page fills at once.
    Scan,
}

/// Matches past which a text counts as common (its search then reads rows in order).
const COMMON: i64 = 2_000;

/// Records an organization may have of a kind and still be searched row by row whatever the
/// text: reading them all costs less than going through the index.
const SMALL: i64 = 10_000;

/// Chooses how to search `text`. An organization with few records of the kind is read row by
/// row (its size is known from [`crate::statistics`], without asking each time); for a bigger
/// one, the index is asked whether the text is rare enough for the index to pay (reading at most
/// 2,000 matches to find out).
pub async fn strategy(
    tx: &mut crate::TenantTx,
    target: &Searchable,
    text: &str,
) -> crate::Result<Strategy> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    if crate::statistics::live_rows(tx, target.table, SMALL).await? <= SMALL {
        return Ok(Strategy::Scan);
    }
    let plain = !text.contains(['%', '_', '\\']);
    let row: Row = match tx.backend() {
        Backend::Postgres => {
            tx.raw()
                .fetch_one(
                    crate::query("SELECT rapport_text_count($1, $2, $3) AS n")
                        .bind(target.kind)
                        .bind(format!("%{}%", dialect::escape_like(text)))
                        .bind(COMMON),
                )
                .await?
        }
        Backend::Sqlite if plain && text.chars().count() >= 3 => tx
            .raw()
            .fetch_one(
                crate::query(format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {} WHERE {} LIKE $1 LIMIT {COMMON})",
                    target.fts, target.column
                ))
                .bind(format!("%{text}%")),
            )
            .await?,
        Backend::Sqlite => return Ok(Strategy::Scan),
    };
    Ok(if row.n >= COMMON {
        Strategy::Scan
    } else {
        Strategy::Index
    })
}

/// The condition "this record's text contains `text`", binding the pattern into the query.
pub fn contains(
    q: &mut Query,
    backend: Backend,
    target: &Searchable,
    text: &str,
    strategy: Strategy,
) -> String {
    match (backend, strategy) {
        (Backend::Sqlite, Strategy::Index) => {
            let p = q.push_arg(format!("%{text}%"));
            format!(
                "rowid IN (SELECT rowid FROM {} WHERE {} LIKE {p})",
                target.fts, target.column
            )
        }
        (Backend::Postgres, Strategy::Index) => {
            let p = q.push_arg(format!("%{}%", dialect::escape_like(text)));
            let k = q.push_arg(target.kind);
            format!("id IN (SELECT rapport_text_matches({k}, {p}))")
        }
        (backend, Strategy::Scan) => {
            let p = q.push_arg(format!("%{}%", dialect::escape_like(text)));
            match (backend, target.lowered) {
                (Backend::Postgres, Some(column)) => {
                    format!("{column} LIKE lower({p}) ESCAPE '\\'")
                }
                _ => format!(
                    "{} {} {p} ESCAPE '\\'",
                    target.expr,
                    dialect::ilike(backend)
                ),
            }
        }
    }
}
