//! "Recently deleted": records deleted in the last days, restorable until they are purged.

use chrono::{DateTime, Utc};

use crate::{Result, TenantTx, query};

/// The tables whose rows are deleted softly, by record type.
pub const TABLES: [(&str, &str); 4] = [
    ("company", "companies"),
    ("contact", "contacts"),
    ("lead", "leads"),
    ("deal", "deals"),
];

fn label(record_type: &str) -> &'static str {
    match record_type {
        "company" => "Company",
        "contact" => "Contact",
        "lead" => "Lead",
        _ => "Deal",
    }
}

fn table(record_type: &str) -> Option<&'static str> {
    TABLES
        .iter()
        .find(|(t, _)| *t == record_type)
        .map(|(_, table)| *table)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Deleted {
    /// A built-in object's key, a custom object's key, or `object` for a deleted custom object.
    pub record_type: String,
    /// What the record is, in words: `Contact`, `Berth`, `Object`.
    pub kind: String,
    pub id: uuid::Uuid,
    pub name: String,
    pub owner_id: uuid::Uuid,
    pub deleted_at: DateTime<Utc>,
    /// For a file (`record_type` `file`): the kind of the record it is on (whose owner is
    /// `owner_id`).
    pub about: Option<String>,
}

/// Records deleted since a moment, most recent first.
pub async fn list(tx: &mut TenantTx, since: DateTime<Utc>, limit: i64) -> Result<Vec<Deleted>> {
    let org = tx.organization_id();
    let mut parts: Vec<String> = TABLES
        .iter()
        .map(|(kind, table)| {
            let name = if *table == "deals" { "title" } else { "name" };
            let label = label(kind);
            format!(
                "SELECT '{kind}' AS record_type, '{label}' AS kind, id, {name} AS name, owner_id, deleted_at, \
                 NULL AS about FROM {table} WHERE organization_id = $1 AND deleted_at IS NOT NULL AND deleted_at >= $2"
            )
        })
        .collect();
    // Records of custom objects (those of a deleted object go and come back with it) and the
    // deleted objects themselves.
    parts.push(
        "SELECT o.key AS record_type, o.singular AS kind, r.id, r.title AS name, r.owner_id, r.deleted_at, \
         NULL AS about FROM records r JOIN objects o ON o.organization_id = r.organization_id AND o.id = r.object_id \
         WHERE r.organization_id = $1 AND r.deleted_at IS NOT NULL AND r.deleted_at >= $2 \
         AND o.deleted_at IS NULL"
            .to_owned(),
    );
    parts.push(
        "SELECT 'object' AS record_type, 'Object' AS kind, id, plural AS name, created_by AS owner_id, deleted_at, \
         NULL AS about FROM objects WHERE organization_id = $1 AND deleted_at IS NOT NULL AND deleted_at >= $2"
            .to_owned(),
    );
    // Files deleted on their own, on live records (those of deleted records go with them).
    parts.push(
        "SELECT 'file' AS record_type, 'File' AS kind, f.id, f.name, \
         COALESCE(c.owner_id, ct.owner_id, l.owner_id, d.owner_id, r.owner_id) AS owner_id, f.deleted_at, \
         CASE f.record_type WHEN 'record' THEN ob.key ELSE f.record_type END AS about FROM files f \
         LEFT JOIN companies c ON f.record_type = 'company' AND c.organization_id = f.organization_id AND c.id = f.record_id AND c.deleted_at IS NULL \
         LEFT JOIN contacts ct ON f.record_type = 'contact' AND ct.organization_id = f.organization_id AND ct.id = f.record_id AND ct.deleted_at IS NULL \
         LEFT JOIN leads l ON f.record_type = 'lead' AND l.organization_id = f.organization_id AND l.id = f.record_id AND l.deleted_at IS NULL \
         LEFT JOIN deals d ON f.record_type = 'deal' AND d.organization_id = f.organization_id AND d.id = f.record_id AND d.deleted_at IS NULL \
         LEFT JOIN records r ON f.record_type = 'record' AND r.organization_id = f.organization_id AND r.id = f.record_id AND r.deleted_at IS NULL \
         LEFT JOIN objects ob ON ob.organization_id = r.organization_id AND ob.id = r.object_id AND ob.deleted_at IS NULL \
         WHERE f.organization_id = $1 AND f.deleted_at IS NOT NULL AND f.deleted_at >= $2 \
         AND COALESCE(c.id, ct.id, l.id, d.id, ob.id) IS NOT NULL"
            .to_owned(),
    );
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT * FROM ({}) AS deleted ORDER BY deleted_at DESC LIMIT $3",
                parts.join(" UNION ALL ")
            ))
            .bind(org)
            .bind(since)
            .bind(limit),
        )
        .await
}

/// The owner of a deleted record, if it is deleted and recent enough to restore.
pub async fn find(
    tx: &mut TenantTx,
    record_type: &str,
    id: uuid::Uuid,
    since: DateTime<Utc>,
) -> Result<Option<Deleted>> {
    let Some(t) = table(record_type) else {
        return Ok(None);
    };
    let name = if t == "deals" { "title" } else { "name" };
    let label = label(record_type);
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT '{record_type}' AS record_type, '{label}' AS kind, id, {name} AS name, owner_id, \
                 deleted_at, NULL AS about FROM {t} \
                 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NOT NULL AND deleted_at >= $3"
            ))
            .bind(org)
            .bind(id)
            .bind(since),
        )
        .await
}

pub async fn restore(tx: &mut TenantTx, record_type: &str, id: uuid::Uuid) -> Result<bool> {
    let Some(t) = table(record_type) else {
        return Ok(false);
    };
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query(format!(
                "UPDATE {t} SET deleted_at = NULL, updated_at = $1 WHERE organization_id = $2 AND id = $3 AND deleted_at IS NOT NULL"
            ))
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?
        == 1)
}

/// Removes for good what was deleted before a moment, in every organization (platform job).
/// Links from other records are cleared first so nothing points at a removed row.
pub async fn purge_before(tx: &mut crate::Tx, before: DateTime<Utc>) -> Result<u64> {
    let mut removed = 0;
    for sql in [
        "UPDATE tasks SET deal_id = NULL WHERE deal_id IN (SELECT id FROM deals WHERE deleted_at < $1)",
        "DELETE FROM deals WHERE deleted_at < $1",
        "UPDATE deals SET contact_id = NULL WHERE contact_id IN (SELECT id FROM contacts WHERE deleted_at < $1)",
        "UPDATE tasks SET contact_id = NULL WHERE contact_id IN (SELECT id FROM contacts WHERE deleted_at < $1)",
        "DELETE FROM contacts WHERE deleted_at < $1",
        "UPDATE contacts SET company_id = NULL WHERE company_id IN (SELECT id FROM companies WHERE deleted_at < $1)",
        "UPDATE deals SET company_id = NULL WHERE company_id IN (SELECT id FROM companies WHERE deleted_at < $1)",
        "UPDATE tasks SET company_id = NULL WHERE company_id IN (SELECT id FROM companies WHERE deleted_at < $1)",
        "DELETE FROM companies WHERE deleted_at < $1",
        "DELETE FROM leads WHERE deleted_at < $1",
        // Custom objects' records, then deleted objects with their fields and records.
        "DELETE FROM record_values WHERE record_id IN (SELECT id FROM records WHERE deleted_at < $1)",
        "DELETE FROM records WHERE deleted_at < $1",
        "DELETE FROM record_values WHERE field_id IN (SELECT f.id FROM fields f JOIN objects o \
         ON o.organization_id = f.organization_id AND o.key = f.object_key WHERE o.deleted_at < $1)",
        "DELETE FROM fields WHERE EXISTS (SELECT 1 FROM objects o WHERE o.organization_id = fields.organization_id \
         AND o.key = fields.object_key AND o.deleted_at < $1)",
        "DELETE FROM objects WHERE deleted_at < $1",
    ] {
        let n = tx.execute(query(sql).bind(before)).await?;
        if sql.starts_with("DELETE") {
            removed += n;
        }
    }
    Ok(removed)
}
