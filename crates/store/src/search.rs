//! Search across the record tables of one organization, custom objects' records included.

use crate::{Result, TenantTx, query, text};

/// One record found.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Hit {
    pub kind: String,
    pub id: uuid::Uuid,
    pub title: String,
    /// What else identifies it: an email, a domain, an amount.
    pub detail: Option<String>,
}

/// Records whose searchable fields contain `text` (ignoring case), up to `per_kind` of each kind.
pub async fn find(
    tx: &mut TenantTx,
    text: &str,
    kinds: &[&str],
    per_kind: i64,
) -> Result<Vec<Hit>> {
    let backend = tx.backend();
    // How each kind asked for is read; a contact's texts (name, email and phone, and job title)
    // are judged by one sample.
    let mut strategies = Vec::new();
    for (kind, targets) in [
        ("company", &[&text::COMPANY][..]),
        ("contact", &[&text::CONTACT, &text::CONTACT_TITLE][..]),
        ("lead", &[&text::LEAD][..]),
        ("deal", &[&text::DEAL][..]),
        ("record", &[&crate::records::SEARCH][..]),
    ] {
        if !kinds.contains(&kind) {
            continue;
        }
        let strategy = text::strategy_of_any(tx, targets, text).await?;
        strategies.extend(targets.iter().map(|t| (t.kind, strategy)));
    }
    let how = |kind: &str| {
        strategies
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| *s)
            .unwrap_or(text::Strategy::Scan)
    };
    let mut q = query("");
    let org = q.push_arg(tx.organization_id());
    // Written out, not bound: PostgreSQL costs a bound limit as a tenth of the rows and would
    // plan the statement anew on every run (see `keyset::Plan`).
    let limit = per_kind.max(0);
    let mut m =
        |target: &text::Searchable| text::contains(&mut q, backend, target, text, how(target.kind));
    // A kind read through its index (every target of it) has its matches sorted.
    let by = |column: &str, targets: &[&text::Searchable]| {
        let strategy = if targets.iter().all(|t| how(t.kind) == text::Strategy::Index) {
            text::Strategy::Index
        } else {
            text::Strategy::Scan
        };
        text::order_by(backend, strategy, column)
    };
    let mut parts = Vec::new();
    for kind in kinds {
        let part = match *kind {
            "company" => format!(
                "SELECT 'company' AS kind, id, name AS title, domain AS detail FROM companies \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND {} ORDER BY {} LIMIT {limit}",
                m(&text::COMPANY),
                by("name_key", &[&text::COMPANY])
            ),
            "contact" => format!(
                "SELECT 'contact' AS kind, id, name AS title, COALESCE(email, phone, title) AS detail FROM contacts \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND ({} OR {}) ORDER BY {} LIMIT {limit}",
                m(&text::CONTACT),
                m(&text::CONTACT_TITLE),
                by("name_key", &[&text::CONTACT, &text::CONTACT_TITLE])
            ),
            "lead" => format!(
                "SELECT 'lead' AS kind, id, name AS title, COALESCE(company_name, email) AS detail FROM leads \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND {} ORDER BY {} LIMIT {limit}",
                m(&text::LEAD),
                by("name_key", &[&text::LEAD])
            ),
            "deal" => format!(
                "SELECT 'deal' AS kind, id, title, stage AS detail FROM deals \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND {} ORDER BY {} LIMIT {limit}",
                m(&text::DEAL),
                by("title_key", &[&text::DEAL])
            ),
            // Records of custom objects: the kind is the object's key, the detail its name.
            "record" => format!(
                "SELECT (SELECT key FROM objects o WHERE o.organization_id = records.organization_id \
                 AND o.id = records.object_id) AS kind, id, title, (SELECT singular FROM objects o \
                 WHERE o.organization_id = records.organization_id AND o.id = records.object_id) AS detail \
                 FROM records WHERE organization_id = {org} AND deleted_at IS NULL AND object_id IN \
                 (SELECT id FROM objects WHERE organization_id = {org} AND deleted_at IS NULL) AND {} \
                 LIMIT {limit}",
                m(&crate::records::SEARCH)
            ),
            _ => continue,
        };
        parts.push(format!("SELECT * FROM ({part}) AS {kind}_hits"));
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    q.push_sql(&parts.join(" UNION ALL "));
    tx.raw().fetch_all(q).await
}
