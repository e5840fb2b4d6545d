//! Files attached to records and their versions: what each object in the file store is, whose,
//! and on which record. The bytes themselves are the file store's (`app/files/`).

use chrono::{DateTime, Utc};
use rapport_domain::{ObjectId, UserId};
use uuid::Uuid;

use crate::{Result, TenantTx, Tx, query};

/// A file, described by its current version.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FileRow {
    pub id: Uuid,
    /// `company`, `contact`, `lead`, `deal`, or `record` (a custom object's).
    pub record_type: String,
    pub record_id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// The current version's number.
    pub version: i32,
    pub current_version_id: Uuid,
    pub sha256: String,
    pub storage_key: String,
    pub created_by: Option<Uuid>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    pub updated_by_name: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const FILE: &str = "SELECT f.id, f.record_type, f.record_id, f.name, f.content_type, f.size, f.version, \
     f.current_version_id, v.sha256, v.storage_key, f.created_by, cu.name AS created_by_name, f.created_at, \
     f.updated_by, uu.name AS updated_by_name, f.updated_at, f.deleted_at FROM files f \
     JOIN file_versions v ON v.organization_id = f.organization_id AND v.id = f.current_version_id \
     LEFT JOIN users cu ON cu.id = f.created_by LEFT JOIN users uu ON uu.id = f.updated_by";

/// One version of a file.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct VersionRow {
    pub id: Uuid,
    pub file_id: Uuid,
    pub number: i32,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    /// The number of the older version this one brought back.
    pub restored_from: Option<i32>,
    pub uploaded_by: Option<Uuid>,
    pub uploaded_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

const VERSION: &str = "SELECT v.id, v.file_id, v.number, v.name, v.content_type, v.size, v.sha256, \
     v.storage_key, v.restored_from, v.uploaded_by, u.name AS uploaded_by_name, v.created_at \
     FROM file_versions v LEFT JOIN users u ON u.id = v.uploaded_by";

/// What an uploaded (or restored) version is.
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub restored_from: Option<i32>,
}

/// Attaches a new file, `version` being its first version.
pub async fn insert(
    tx: &mut TenantTx,
    id: Uuid,
    record_type: &str,
    record_id: Uuid,
    version: &NewVersion,
    by: UserId,
) -> Result<()> {
    let org = tx.organization_id();
    let at = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO files (organization_id, id, record_type, record_id, name, content_type, size, version, \
                 current_version_id, created_by, created_at, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $9, $10)",
            )
            .bind(org)
            .bind(id)
            .bind(record_type)
            .bind(record_id)
            .bind(&version.name)
            .bind(&version.content_type)
            .bind(version.size)
            .bind(version.id)
            .bind(by)
            .bind(at),
        )
        .await?;
    insert_version(tx, id, 1, version, by, at).await
}

async fn insert_version(
    tx: &mut TenantTx,
    file_id: Uuid,
    number: i32,
    v: &NewVersion,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "INSERT INTO file_versions (organization_id, id, file_id, number, name, content_type, size, sha256, \
                 storage_key, restored_from, uploaded_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(org)
            .bind(v.id)
            .bind(file_id)
            .bind(number)
            .bind(&v.name)
            .bind(&v.content_type)
            .bind(v.size)
            .bind(&v.sha256)
            .bind(&v.storage_key)
            .bind(v.restored_from)
            .bind(by)
            .bind(at),
        )
        .await?;
    Ok(())
}

/// Adds a version on top of a live file's and makes it current; its number.
pub async fn add_version(
    tx: &mut TenantTx,
    file_id: Uuid,
    version: &NewVersion,
    by: UserId,
) -> Result<i32> {
    let org = tx.organization_id();
    let at = crate::now();
    // The number is taken under the row's write lock: two uploads at once get two numbers.
    let changed = tx
        .raw()
        .execute(
            query(
                "UPDATE files SET version = version + 1, name = $1, content_type = $2, size = $3, \
                 current_version_id = $4, updated_by = $5, updated_at = $6 \
                 WHERE organization_id = $7 AND id = $8 AND deleted_at IS NULL",
            )
            .bind(&version.name)
            .bind(&version.content_type)
            .bind(version.size)
            .bind(version.id)
            .bind(by)
            .bind(at)
            .bind(org)
            .bind(file_id),
        )
        .await?;
    if changed != 1 {
        return Err(crate::Error::NotFound);
    }
    let (number,): (i32,) = tx
        .raw()
        .fetch_one(
            query("SELECT version FROM files WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(file_id),
        )
        .await?;
    insert_version(tx, file_id, number, version, by, at).await?;
    Ok(number)
}

/// A file of the organization, live or recently deleted.
pub async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Option<FileRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!("{FILE} WHERE f.organization_id = $1 AND f.id = $2"))
                .bind(org)
                .bind(id),
        )
        .await
}

/// The live files attached to a record, newest first.
pub async fn for_record(
    tx: &mut TenantTx,
    record_type: &str,
    record_id: Uuid,
) -> Result<Vec<FileRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "{FILE} WHERE f.organization_id = $1 AND f.record_type = $2 AND f.record_id = $3 \
                 AND f.deleted_at IS NULL ORDER BY f.created_at DESC, f.id DESC LIMIT 500"
            ))
            .bind(org)
            .bind(record_type)
            .bind(record_id),
        )
        .await
}

/// A file's versions, newest first.
pub async fn versions(tx: &mut TenantTx, file_id: Uuid) -> Result<Vec<VersionRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "{VERSION} WHERE v.organization_id = $1 AND v.file_id = $2 ORDER BY v.number DESC"
            ))
            .bind(org)
            .bind(file_id),
        )
        .await
}

/// One version of a file.
pub async fn version(tx: &mut TenantTx, file_id: Uuid, id: Uuid) -> Result<Option<VersionRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "{VERSION} WHERE v.organization_id = $1 AND v.file_id = $2 AND v.id = $3"
            ))
            .bind(org)
            .bind(file_id)
            .bind(id),
        )
        .await
}

/// Moves a live file to "recently deleted".
pub async fn delete(tx: &mut TenantTx, id: Uuid, by: UserId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query(
                "UPDATE files SET deleted_at = $1, deleted_by = $2 \
                 WHERE organization_id = $3 AND id = $4 AND deleted_at IS NULL",
            )
            .bind(crate::now())
            .bind(by)
            .bind(org)
            .bind(id),
        )
        .await?
        == 1)
}

/// Brings a deleted file back.
pub async fn restore(tx: &mut TenantTx, id: Uuid) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query(
                "UPDATE files SET deleted_at = NULL, deleted_by = NULL \
                 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NOT NULL",
            )
            .bind(org)
            .bind(id),
        )
        .await?
        == 1)
}

/// Which files a list shows.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Words in the name (ignoring case).
    pub search: Option<String>,
    /// Content types, any of them (empty: any).
    pub content_types: Vec<String>,
    /// Files on records of these built-in kinds (`deal`), or of these custom objects; both
    /// empty: any.
    pub record_types: Vec<String>,
    pub objects: Vec<ObjectId>,
    pub uploaded_by: Option<UserId>,
    /// Files on one record.
    pub record_id: Option<Uuid>,
    /// After the file a previous page ended on (by last change, newest first).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// What a member reaches of each kind of record: the built-in kinds and custom objects they see
/// records of, each with the owners it is narrowed to (`None`: every record). A file is listed
/// only when its record is live and in reach.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    pub kinds: Vec<(&'static str, Option<Vec<UserId>>)>,
    pub objects: Vec<(ObjectId, Option<Vec<UserId>>)>,
}

/// A file in the organization-wide list, with what it is attached to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListedFile {
    #[sqlx(flatten)]
    pub file: FileRow,
    /// The record's kind: a built-in kind's key or the custom object's key.
    pub kind: String,
    pub record_title: String,
    pub record_owner_id: Uuid,
}

/// The live files on live records in reach, most recently changed first.
pub async fn list(tx: &mut TenantTx, reach: &Reach, q: &ListQuery) -> Result<Vec<ListedFile>> {
    let backend = tx.backend();
    let org = tx.organization_id();
    let mut sql = query("");
    let o = sql.push_arg(org);
    let mut reached = Vec::new();
    for (kind, table) in [
        ("company", "c"),
        ("contact", "ct"),
        ("lead", "l"),
        ("deal", "d"),
    ] {
        let Some((_, owners)) = reach.kinds.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        if (!q.record_types.is_empty() || !q.objects.is_empty())
            && !q.record_types.iter().any(|t| t == kind)
        {
            continue;
        }
        let mut part = format!("(f.record_type = '{kind}' AND {table}.id IS NOT NULL");
        if let Some(owners) = owners {
            part.push_str(&format!(
                " AND {}",
                sql.any_user(backend, &format!("{table}.owner_id"), owners)
            ));
        }
        part.push(')');
        reached.push(part);
    }
    let mut objects = Vec::new();
    for (object, owners) in &reach.objects {
        if (!q.record_types.is_empty() || !q.objects.is_empty()) && !q.objects.contains(object) {
            continue;
        }
        let p = sql.push_arg(object.as_uuid());
        let mut part = format!("(r.object_id = {p}");
        if let Some(owners) = owners {
            part.push_str(&format!(
                " AND {}",
                sql.any_user(backend, "r.owner_id", owners)
            ));
        }
        part.push(')');
        objects.push(part);
    }
    if !objects.is_empty() {
        reached.push(format!(
            "(f.record_type = 'record' AND r.id IS NOT NULL AND ob.id IS NOT NULL AND ({}))",
            objects.join(" OR ")
        ));
    }
    if reached.is_empty() {
        return Ok(Vec::new());
    }
    let mut filters = String::new();
    if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = sql.push_arg(format!(
            "%{}%",
            crate::dialect::escape_like(&search.to_lowercase())
        ));
        filters.push_str(&format!(" AND LOWER(f.name) LIKE {p} ESCAPE '\\'"));
    }
    if !q.content_types.is_empty() {
        let ps: Vec<String> = q
            .content_types
            .iter()
            .map(|t| sql.push_arg(t.clone()))
            .collect();
        filters.push_str(&format!(" AND f.content_type IN ({})", ps.join(", ")));
    }
    if let Some(by) = q.uploaded_by {
        let p = sql.push_arg(by);
        filters.push_str(&format!(" AND f.created_by = {p}"));
    }
    if let Some(record) = q.record_id {
        let p = sql.push_arg(record);
        filters.push_str(&format!(" AND f.record_id = {p}"));
    }
    if let Some((at, id)) = q.after {
        let a = sql.push_arg(at);
        let i = sql.push_arg(id);
        filters.push_str(&format!(
            " AND (f.updated_at < {a} OR (f.updated_at = {a} AND f.id < {i}))"
        ));
    }
    let limit = sql.push_arg(q.limit);
    let live = |alias: &str, table: &str| {
        format!(
            "LEFT JOIN {table} {alias} ON {alias}.organization_id = f.organization_id AND {alias}.id = f.record_id \
             AND {alias}.deleted_at IS NULL"
        )
    };
    sql.push_sql(&format!(
        "{FILE_LISTED} {} {} {} {} {} \
         LEFT JOIN objects ob ON ob.organization_id = r.organization_id AND ob.id = r.object_id AND ob.deleted_at IS NULL \
         WHERE f.organization_id = {o} AND f.deleted_at IS NULL AND ({}){filters} \
         ORDER BY f.updated_at DESC, f.id DESC LIMIT {limit}",
        live("c", "companies"),
        live("ct", "contacts"),
        live("l", "leads"),
        live("d", "deals"),
        live("r", "records"),
        reached.join(" OR "),
    ));
    tx.raw().fetch_all(sql).await
}

const FILE_LISTED: &str = "SELECT f.id, f.record_type, f.record_id, f.name, f.content_type, f.size, f.version, \
     f.current_version_id, v.sha256, v.storage_key, f.created_by, cu.name AS created_by_name, f.created_at, \
     f.updated_by, uu.name AS updated_by_name, f.updated_at, f.deleted_at, \
     CASE f.record_type WHEN 'record' THEN ob.key ELSE f.record_type END AS kind, \
     COALESCE(c.name, ct.name, l.name, d.title, r.title, '') AS record_title, \
     COALESCE(c.owner_id, ct.owner_id, l.owner_id, d.owner_id, r.owner_id) AS record_owner_id FROM files f \
     JOIN file_versions v ON v.organization_id = f.organization_id AND v.id = f.current_version_id \
     LEFT JOIN users cu ON cu.id = f.created_by LEFT JOIN users uu ON uu.id = f.updated_by";

/// The title of the live record a file is on.
pub async fn record_title(
    tx: &mut TenantTx,
    record_type: &str,
    record_id: Uuid,
) -> Result<Option<String>> {
    let (table, column) = match record_type {
        "company" => ("companies", "name"),
        "contact" => ("contacts", "name"),
        "lead" => ("leads", "name"),
        "deal" => ("deals", "title"),
        _ => ("records", "title"),
    };
    let org = tx.organization_id();
    let row: Option<(String,)> = tx
        .raw()
        .fetch_optional(
            query(format!(
                "SELECT {column} FROM {table} WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
            ))
            .bind(org)
            .bind(record_id),
        )
        .await?;
    Ok(row.map(|(t,)| t))
}

/// The people who uploaded the organization's live files (for the list's filter).
pub async fn uploaders(tx: &mut TenantTx) -> Result<Vec<(Uuid, String)>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(
                "SELECT DISTINCT u.id, u.name FROM files f JOIN users u ON u.id = f.created_by \
                 WHERE f.organization_id = $1 AND f.deleted_at IS NULL ORDER BY u.name",
            )
            .bind(org),
        )
        .await
}

/// Removes for good, in every organization, the files deleted before a moment and those whose
/// record is gone (purged), leaving their objects in `file_garbage` for the store to forget.
pub async fn purge_before(tx: &mut Tx, before: DateTime<Utc>) -> Result<u64> {
    let gone = "SELECT id FROM files WHERE deleted_at < $1 \
        OR (record_type = 'company' AND NOT EXISTS (SELECT 1 FROM companies x WHERE x.id = files.record_id)) \
        OR (record_type = 'contact' AND NOT EXISTS (SELECT 1 FROM contacts x WHERE x.id = files.record_id)) \
        OR (record_type = 'lead' AND NOT EXISTS (SELECT 1 FROM leads x WHERE x.id = files.record_id)) \
        OR (record_type = 'deal' AND NOT EXISTS (SELECT 1 FROM deals x WHERE x.id = files.record_id)) \
        OR (record_type = 'record' AND NOT EXISTS (SELECT 1 FROM records x WHERE x.id = files.record_id))";
    // Listed as of the purge's own cut-off, so the next sweep removes them.
    tx.execute(
        query(format!(
            "INSERT INTO file_garbage (storage_key, created_at) \
             SELECT DISTINCT storage_key, $1 FROM file_versions WHERE file_id IN ({gone}) \
             ON CONFLICT (storage_key) DO NOTHING"
        ))
        .bind(before),
    )
    .await?;
    tx.execute(
        query(format!(
            "DELETE FROM file_versions WHERE file_id IN ({gone})"
        ))
        .bind(before),
    )
    .await?;
    tx.execute(query(format!("DELETE FROM files WHERE id IN ({gone})")).bind(before))
        .await
}

/// Objects no file row speaks of any more and listed before `before` (an upload in progress
/// is listed when it starts), oldest first. Listings of objects a version did come to speak of
/// are forgotten on the way.
pub async fn garbage(tx: &mut Tx, before: DateTime<Utc>, limit: i64) -> Result<Vec<String>> {
    tx.execute(
        query(
            "DELETE FROM file_garbage WHERE created_at < $1 AND EXISTS \
             (SELECT 1 FROM file_versions v WHERE v.storage_key = file_garbage.storage_key)",
        )
        .bind(before),
    )
    .await?;
    let rows: Vec<(String,)> = tx
        .fetch_all(
            query(
                "SELECT g.storage_key FROM file_garbage g WHERE g.created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM file_versions v WHERE v.storage_key = g.storage_key) \
                 ORDER BY g.created_at LIMIT $2",
            )
            .bind(before)
            .bind(limit),
        )
        .await?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// Lists an object that is to be removed from the store unless a version comes to speak of it:
/// an upload starting (so that one cut off halfway is not left behind), or one whose row could
/// not be written.
pub async fn add_garbage(tx: &mut Tx, key: &str) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO file_garbage (storage_key, created_at) VALUES ($1, $2) \
             ON CONFLICT (storage_key) DO NOTHING",
        )
        .bind(key)
        .bind(crate::now()),
    )
    .await?;
    Ok(())
}

/// Forgets objects the store has removed.
pub async fn forget_garbage(tx: &mut Tx, keys: &[String]) -> Result<()> {
    for key in keys {
        tx.execute(query("DELETE FROM file_garbage WHERE storage_key = $1").bind(key.as_str()))
            .await?;
    }
    Ok(())
}
