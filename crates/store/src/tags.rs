//! Tags of an organization and the records they are put on.

use chrono::{DateTime, Utc};
use rapport_domain::{OrganizationId, TagId};

use crate::{Query, Record, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Tag {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: TagId,
    pub name: String,
    pub color: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(tx: &mut TenantTx, name: &str, color: &str) -> Result<Tag> {
    let org = tx.organization_id();
    let id = TagId::new();
    tx.raw()
        .execute(
            query("INSERT INTO tags (organization_id, id, name, color, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(org)
                .bind(id)
                .bind(name)
                .bind(color)
                .bind(crate::now()),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn find(tx: &mut TenantTx, id: TagId) -> Result<Option<Tag>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query("SELECT id, name, color, created_at FROM tags WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await
}

/// A tag by name, ignoring case.
pub async fn find_by_name(tx: &mut TenantTx, name: &str) -> Result<Option<Tag>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query("SELECT id, name, color, created_at FROM tags WHERE organization_id = $1 AND lower(name) = lower($2)")
                .bind(org)
                .bind(name),
        )
        .await
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Tag>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query("SELECT id, name, color, created_at FROM tags WHERE organization_id = $1 ORDER BY lower(name)")
                .bind(org),
        )
        .await
}

pub async fn update(tx: &mut TenantTx, id: TagId, name: &str, color: &str) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE tags SET name = $1, color = $2 WHERE organization_id = $3 AND id = $4")
                .bind(name)
                .bind(color)
                .bind(org)
                .bind(id),
        )
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut TenantTx, id: TagId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("DELETE FROM tags WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}

/// Replaces the tags of a record.
pub async fn set_for(
    tx: &mut TenantTx,
    record_type: &str,
    record_id: uuid::Uuid,
    tags: &[TagId],
) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM record_tags WHERE organization_id = $1 AND record_type = $2 AND record_id = $3")
                .bind(org)
                .bind(record_type)
                .bind(record_id),
        )
        .await?;
    for tag in tags {
        tx.raw()
            .execute(
                query(
                    "INSERT INTO record_tags (organization_id, tag_id, record_type, record_id) VALUES ($1, $2, $3, $4)",
                )
                .bind(org)
                .bind(*tag)
                .bind(record_type)
                .bind(record_id),
            )
            .await?;
    }
    Ok(())
}

/// The tags of some records of one type: (record id, tag), by tag name.
/// One record and its tags, in one statement. `record` selects at most one row that has `id`
/// and `organization_id` columns; the record's tags are joined to it (a row per tag).
pub async fn with_record<T: Record>(
    tx: &mut TenantTx,
    record: Query,
    record_type: &str,
) -> Result<Option<(T, Vec<Tag>)>> {
    #[derive(sqlx::FromRow)]
    struct Row<T> {
        #[sqlx(flatten)]
        record: T,
        tag_id: Option<uuid::Uuid>,
        tag_name: Option<String>,
        tag_color: Option<String>,
        tag_created_at: Option<DateTime<Utc>>,
    }
    let mut q = record;
    let kind = q.push_arg(record_type);
    let q = q.wrap(|record| {
        format!(
            "WITH r AS ({record}) SELECT r.*, t.id AS tag_id, t.name AS tag_name, \
             t.color AS tag_color, t.created_at AS tag_created_at FROM r \
             LEFT JOIN record_tags rt ON rt.organization_id = r.organization_id \
             AND rt.record_type = {kind} AND rt.record_id = r.id \
             LEFT JOIN tags t ON t.organization_id = rt.organization_id AND t.id = rt.tag_id \
             ORDER BY lower(t.name)"
        )
    });
    let rows: Vec<Row<T>> = tx.raw().fetch_all(q).await?;
    let mut found = None;
    let mut tags = Vec::new();
    for row in rows {
        if let (Some(id), Some(name), Some(color), Some(created_at)) =
            (row.tag_id, row.tag_name, row.tag_color, row.tag_created_at)
        {
            tags.push(Tag {
                id: TagId(id),
                name,
                color,
                created_at,
            });
        }
        found.get_or_insert(row.record);
    }
    Ok(found.map(|record| (record, tags)))
}

pub async fn of_records(
    tx: &mut TenantTx,
    record_type: &str,
    ids: &[uuid::Uuid],
) -> Result<Vec<(uuid::Uuid, Tag)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        record_id: uuid::Uuid,
        #[sqlx(try_from = "uuid::Uuid")]
        id: TagId,
        name: String,
        color: String,
        created_at: DateTime<Utc>,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(
        "SELECT rt.record_id, t.id, t.name, t.color, t.created_at FROM record_tags rt \
         JOIN tags t ON t.organization_id = rt.organization_id AND t.id = rt.tag_id \
         WHERE rt.organization_id = $1 AND rt.record_type = $2",
    )
    .bind(tx.organization_id())
    .bind(record_type);
    let these = q.any_of(tx.backend(), "rt.record_id", ids);
    q.push_sql(&format!(" AND {these} ORDER BY lower(t.name)"));
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.record_id,
                Tag {
                    id: r.id,
                    name: r.name,
                    color: r.color,
                    created_at: r.created_at,
                },
            )
        })
        .collect())
}

/// Restricts a query on a record table (whose id column is `id`) to records with this tag.
pub fn push_tag_filter(q: &mut Query, org: OrganizationId, record_type: &str, tag: TagId) {
    let o = q.push_arg(org);
    let r = q.push_arg(record_type);
    let t = q.push_arg(tag);
    q.push_sql(&format!(
        " AND id IN (SELECT record_id FROM record_tags WHERE organization_id = {o} AND record_type = {r} AND tag_id = {t})"
    ));
}
