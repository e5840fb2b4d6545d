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

/// Records an organization may have of a kind and still be searched row by row whatever the
/// text: reading them all costs less than going through the index.
const SMALL: i64 = 10_000;

/// Records of the organization read to judge how common a text is.
const SAMPLE: i64 = 1_000;

/// Matches among the sample from which a text counts as common (one record in two hundred):
/// reading in the list's order then fills a page after a few thousand records, while the index
/// would hand over thousands of matches to sort.
const COMMON: i64 = 5;

/// Chooses how to search `text`. An organization with few records of the kind is read row by
/// row (its size is known from [`crate::statistics`], without asking each time); for a bigger
/// one, a thousand of its records are tested, and a text found in fewer than five of them goes
/// through the index. Testing a sample costs the same for any text, where asking the index how
/// often a common text occurs reads every match; its answer is kept until the organization
/// next writes.
pub async fn strategy(
    tx: &mut crate::TenantTx,
    target: &Searchable,
    text: &str,
) -> crate::Result<Strategy> {
    strategy_of_any(tx, &[target], text).await
}

/// [`strategy`] for a text looked for in any of `targets`, texts of one table (a contact's name,
/// email and phone, and its job title): one sample tests them all.
pub async fn strategy_of_any(
    tx: &mut crate::TenantTx,
    targets: &[&Searchable],
    text: &str,
) -> crate::Result<Strategy> {
    #[derive(Clone, sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let Some(target) = targets.first() else {
        return Ok(Strategy::Scan);
    };
    if crate::statistics::live_rows(tx, target.table, SMALL).await? <= SMALL {
        return Ok(Strategy::Scan);
    }
    // SQLite's text index answers texts of three characters or more, without wildcards.
    if tx.backend() == Backend::Sqlite && !fts_answers(text) {
        return Ok(Strategy::Scan);
    }
    let mut q = crate::query("");
    let org = q.push_arg(tx.organization_id());
    let backend = tx.backend();
    let matches: Vec<String> = targets
        .iter()
        .map(|t| contains(&mut q, backend, t, text, Strategy::Scan))
        .collect();
    let matches = matches.join(" OR ");
    q.push_sql(&format!(
        "SELECT COUNT(*) AS n FROM (SELECT * FROM {t} WHERE organization_id = {org} \
         AND deleted_at IS NULL LIMIT {SAMPLE}) AS {t} WHERE {matches}",
        t = target.table
    ));
    // Kept, like a list's total, until the organization next writes.
    let rows: Vec<Row> = crate::statistics::fetch_figure(tx, q).await?;
    let n = rows.first().map_or(0, |r| r.n);
    Ok(if n >= COMMON {
        Strategy::Scan
    } else {
        Strategy::Index
    })
}

/// Most rows SQLite's text index may give a search for a list to be read from them.
const FEW_FOUND: i64 = 5_000;

/// Whether SQLite's text index gives fewer than 5,000 rows for `text` in `target`, across
/// organizations (the index is shared): counted once and kept until the organization next
/// writes.
pub async fn index_gives_few(
    tx: &mut crate::TenantTx,
    target: &Searchable,
    text: &str,
) -> crate::Result<bool> {
    #[derive(Clone, sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    if tx.backend() != Backend::Sqlite || !fts_answers(text) {
        return Ok(false);
    }
    let mut q = crate::query("");
    let p = q.push_arg(format!("%{}%", index_term(text)));
    q.push_sql(&format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {fts} WHERE {column} LIKE {p} LIMIT {FEW_FOUND}) \
         AS found",
        fts = target.fts,
        column = target.column
    ));
    let rows: Vec<Row> = crate::statistics::fetch_figure(tx, q).await?;
    Ok(rows.first().is_some_and(|r| r.n < FEW_FOUND))
}

/// Whether SQLite's trigram index answers a search for `text`: three characters or more, no
/// wildcards.
pub fn fts_answers(text: &str) -> bool {
    !text.contains(['%', '_', '\\']) && text.chars().count() >= 3
}

/// The expression a search's page is ordered by. When the index is read (few records match),
/// SQLite is told to sort the matches: `+column` is served by no index, so it cannot walk the
/// list's order testing every record against them (every record, when none match).
pub fn order_by(backend: Backend, strategy: Strategy, column: &str) -> String {
    match (backend, strategy) {
        (Backend::Sqlite, Strategy::Index) => format!("+{column}"),
        _ => column.to_owned(),
    }
}

/// The part of a search SQLite's trigram index is asked for: its longest word of three letters
/// or more (one holding a digit first), likely the rarest; the whole text is then tested on the
/// rows found. The index intersects the lists of every trigram it is asked for, and a phrase's
/// common words ("berth" in "berth c1234", among a million berths) add lists as long as the
/// table (that search: 162 → 131 ms; its digits' trigrams stay common).
pub fn index_term(text: &str) -> &str {
    text.split_whitespace()
        .filter(|w| w.chars().count() >= 3)
        .max_by_key(|w| (w.chars().any(|c| c.is_ascii_digit()), w.chars().count()))
        .unwrap_or(text)
}

/// SQLite's condition "the text `whole` (an expression of the row) contains `text`", read
/// through the FTS5 table `fts`(`column`) whose rowids are the row's `rowid`: the index is asked
/// for [`index_term`], and the whole text tested on the rows it gives when that is only a part.
pub(crate) fn fts_contains(
    q: &mut Query,
    rowid: &str,
    fts: &str,
    column: &str,
    whole: &str,
    text: &str,
) -> String {
    let term = index_term(text);
    let p = q.push_arg(format!("%{term}%"));
    let found = format!("{rowid} IN (SELECT rowid FROM {fts} WHERE {column} LIKE {p})");
    if term == text {
        return found;
    }
    let all = q.push_arg(format!("%{}%", dialect::escape_like(text)));
    format!("({found} AND {whole} LIKE {all} ESCAPE '\\')")
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
            fts_contains(q, "rowid", target.fts, target.column, target.expr, text)
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

#[cfg(test)]
mod tests {
    use super::index_term;

    #[test]
    fn the_index_is_asked_for_the_rarest_looking_word() {
        assert_eq!(index_term("berth c1234"), "c1234", "a word with a digit");
        assert_eq!(index_term("ann bergström"), "bergström", "else the longest");
        assert_eq!(index_term("mar"), "mar");
        assert_eq!(
            index_term("a b c"),
            "a b c",
            "no word of three letters: the whole text"
        );
        assert_eq!(index_term("costa.1"), "costa.1");
    }
}
