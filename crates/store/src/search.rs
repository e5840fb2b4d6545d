//! Search across the record tables of one organization, custom objects' records included.

use rapport_domain::{ObjectId, UserId};

use crate::{Result, TenantTx, query, text};

/// What a search may find: the built-in kinds (`company`, `contact`, `lead`, `deal`) and the
/// custom objects it looks through, each with the owners it is narrowed to (`None`: every
/// record).
#[derive(Clone, Debug, Default)]
pub struct Searched {
    pub kinds: Vec<(&'static str, Option<Vec<UserId>>)>,
    pub objects: Vec<(ObjectId, Option<Vec<UserId>>)>,
    /// Custom objects looked through by their records' titles only (the searcher may not see
    /// some of the fields their searchable text is made of).
    pub titled: Vec<(ObjectId, Option<Vec<UserId>>)>,
}

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
    searched: &Searched,
    per_kind: i64,
) -> Result<Vec<Hit>> {
    let backend = tx.backend();
    let mut kinds: Vec<&str> = searched.kinds.iter().map(|(k, _)| *k).collect();
    if !searched.objects.is_empty() || !searched.titled.is_empty() {
        kinds.push("record");
    }
    let owners_of = |kind: &str| {
        searched
            .kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, o)| o.as_deref())
    };
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
    let m = |q: &mut crate::Query, target: &text::Searchable| {
        text::contains(q, backend, target, text, how(target.kind))
    };
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
    for kind in &kinds {
        // ` AND …`: the kind's records in reach, or of the custom objects searched.
        let reach = match *kind {
            "record" if searched.titled.is_empty() => {
                format!(" AND ({})", objects_sql(&mut q, backend, &searched.objects))
            }
            "record" => {
                let whole = objects_sql(&mut q, backend, &searched.objects);
                let matched = m(&mut q, &crate::records::SEARCH);
                let titled = objects_sql(&mut q, backend, &searched.titled);
                let p = q.push_arg(format!(
                    "%{}%",
                    crate::dialect::escape_like(&text.to_lowercase())
                ));
                format!(
                    " AND (({whole} AND {matched}) OR ({titled} AND LOWER(title) LIKE {p} ESCAPE '\\'))"
                )
            }
            kind => match owners_of(kind) {
                Some(owners) => format!(" AND {}", q.any_user(backend, "owner_id", owners)),
                None => String::new(),
            },
        };
        let part = match *kind {
            "company" => format!(
                "SELECT 'company' AS kind, id, name AS title, domain AS detail FROM companies \
                 WHERE organization_id = {org} AND deleted_at IS NULL{reach} AND {} ORDER BY {} LIMIT {limit}",
                m(&mut q, &text::COMPANY),
                by("name_key", &[&text::COMPANY])
            ),
            "contact" => format!(
                "SELECT 'contact' AS kind, id, name AS title, COALESCE(email, phone, title) AS detail FROM contacts \
                 WHERE organization_id = {org} AND deleted_at IS NULL{reach} AND ({} OR {}) ORDER BY {} LIMIT {limit}",
                m(&mut q, &text::CONTACT),
                m(&mut q, &text::CONTACT_TITLE),
                by("name_key", &[&text::CONTACT, &text::CONTACT_TITLE])
            ),
            "lead" => format!(
                "SELECT 'lead' AS kind, id, name AS title, COALESCE(company_name, email) AS detail FROM leads \
                 WHERE organization_id = {org} AND deleted_at IS NULL{reach} AND {} ORDER BY {} LIMIT {limit}",
                m(&mut q, &text::LEAD),
                by("name_key", &[&text::LEAD])
            ),
            "deal" => format!(
                "SELECT 'deal' AS kind, id, title, stage AS detail FROM deals \
                 WHERE organization_id = {org} AND deleted_at IS NULL{reach} AND {} ORDER BY {} LIMIT {limit}",
                m(&mut q, &text::DEAL),
                by("title_key", &[&text::DEAL])
            ),
            // Records of custom objects: the kind is the object's key, the detail its name.
            "record" => format!(
                "SELECT (SELECT key FROM objects o WHERE o.organization_id = records.organization_id \
                 AND o.id = records.object_id) AS kind, id, title, (SELECT singular FROM objects o \
                 WHERE o.organization_id = records.organization_id AND o.id = records.object_id) AS detail \
                 FROM records WHERE organization_id = {org} AND deleted_at IS NULL AND object_id IN \
                 (SELECT id FROM objects WHERE organization_id = {org} AND deleted_at IS NULL){reach}{} \
                 LIMIT {limit}",
                if searched.titled.is_empty() {
                    format!(" AND {}", m(&mut q, &crate::records::SEARCH))
                } else {
                    String::new()
                }
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

/// The condition that a record is of one of `objects` and in its reach: objects reaching the
/// same owners are tested together.
fn objects_sql(
    q: &mut crate::Query,
    backend: crate::Backend,
    objects: &[(ObjectId, Option<Vec<UserId>>)],
) -> String {
    let mut groups: Vec<(&Option<Vec<UserId>>, Vec<uuid::Uuid>)> = Vec::new();
    for (object, owners) in objects {
        match groups.iter_mut().find(|(o, _)| *o == owners) {
            Some((_, ids)) => ids.push(object.as_uuid()),
            None => groups.push((owners, vec![object.as_uuid()])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(owners, ids)| {
            let of = q.any_of(backend, "object_id", &ids);
            match owners {
                Some(owners) => format!("({of} AND {})", q.any_user(backend, "owner_id", owners)),
                None => of,
            }
        })
        .collect();
    if parts.is_empty() {
        "1 = 0".to_owned()
    } else {
        parts.join(" OR ")
    }
}
