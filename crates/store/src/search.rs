//! Search across the record tables of one organization.

use crate::{Result, TenantTx, dialect, query};

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
    let like = dialect::ilike(tx.backend());
    let mut q = query("");
    let org = q.push_arg(tx.organization_id());
    let pattern = q.push_arg(format!("%{}%", dialect::escape_like(text)));
    let limit = q.push_arg(per_kind);
    let m = |column: &str| format!("{column} {like} {pattern} ESCAPE '\\'");
    let mut parts = Vec::new();
    for kind in kinds {
        let part = match *kind {
            "company" => format!(
                "SELECT 'company' AS kind, id, name AS title, domain AS detail FROM companies \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND ({} OR {}) ORDER BY lower(name) LIMIT {limit}",
                m("name"),
                m("domain")
            ),
            "contact" => format!(
                "SELECT 'contact' AS kind, id, name AS title, COALESCE(email, phone, title) AS detail FROM contacts \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND ({} OR {} OR {} OR {}) ORDER BY lower(name) LIMIT {limit}",
                m("name"),
                m("email"),
                m("phone"),
                m("title")
            ),
            "lead" => format!(
                "SELECT 'lead' AS kind, id, name AS title, COALESCE(company_name, email) AS detail FROM leads \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND ({} OR {} OR {} OR {}) ORDER BY lower(name) LIMIT {limit}",
                m("name"),
                m("email"),
                m("phone"),
                m("company_name")
            ),
            "deal" => format!(
                "SELECT 'deal' AS kind, id, title, stage AS detail FROM deals \
                 WHERE organization_id = {org} AND deleted_at IS NULL AND {} ORDER BY lower(title) LIMIT {limit}",
                m("title")
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
