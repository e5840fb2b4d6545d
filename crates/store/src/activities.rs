//! Timelines: what happened to a record, newest first. One table serves every kind of record,
//! named by (record_type, record_id).

use chrono::{DateTime, Utc};
use rapport_domain::{ActivityId, OrganizationId, UserId};

use crate::{Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Activity {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ActivityId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub record_type: String,
    pub record_id: uuid::Uuid,
    pub author_id: Option<uuid::Uuid>,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub payload: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str =
    "id, organization_id, record_type, record_id, author_id, type, payload, created_at";

/// A new timeline entry.
#[derive(Clone, Debug)]
pub struct NewActivity {
    pub record_type: &'static str,
    pub record_id: uuid::Uuid,
    pub author_id: Option<UserId>,
    pub kind: String,
    pub payload: serde_json::Value,
}

pub async fn insert(tx: &mut TenantTx, new: NewActivity) -> Result<Activity> {
    let org = tx.organization_id();
    let id = ActivityId::new();
    // A comment its record's clients see in the portal says so in its payload.
    let portal = new.kind == "comment"
        && new
            .payload
            .get("portal")
            .and_then(serde_json::Value::as_bool)
            == Some(true);
    tx.raw()
        .execute(
            query(
                "INSERT INTO activities (organization_id, id, record_type, record_id, author_id, type, payload, created_at, portal) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(new.record_type)
            .bind(new.record_id)
            .bind(new.author_id)
            .bind(new.kind)
            .bind(new.payload)
            .bind(crate::now())
            .bind(portal),
        )
        .await?;
    tx.raw()
        .fetch_one(
            query(format!(
                "SELECT {COLUMNS} FROM activities WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// One page of a record's timeline, newest first, plus one row more when there is a next page.
pub async fn list(
    tx: &mut TenantTx,
    record_type: &str,
    record_id: uuid::Uuid,
    before: Option<(DateTime<Utc>, ActivityId)>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Activity>> {
    let org = tx.organization_id();
    let mut q = query(format!(
        "SELECT {COLUMNS} FROM activities WHERE organization_id = $1 AND record_type = $2 AND record_id = $3"
    ))
    .bind(org)
    .bind(record_type)
    .bind(record_id);
    newest_first(&mut q, before, (offset, limit));
    tx.raw().fetch_all(q).await
}

/// The records whose timelines a record's page gathers with its own: a company's contacts and
/// deals, a contact's deals (those not deleted).
fn gathered_from(record_type: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match record_type {
        "company" => &[
            ("contact", "contacts", "company_id"),
            ("deal", "deals", "company_id"),
        ],
        "contact" => &[("deal", "deals", "contact_id")],
        _ => &[],
    }
}

/// One page of a record's timeline, gathered with those of its related records when `related`
/// (see [`gathered_from`]), newest first, of the entry types given (all when empty), plus one row
/// more when there is a next page.
pub async fn gathered(
    tx: &mut TenantTx,
    record: (&str, uuid::Uuid),
    related: bool,
    types: &[&str],
    before: Option<(DateTime<Utc>, ActivityId)>,
    limit: u64,
) -> Result<Vec<Activity>> {
    let org = tx.organization_id();
    let (record_type, record_id) = record;
    // One branch per timeline, each read through the activities index: a related kind's records
    // are found by their link first, then their entries by their ids (on PostgreSQL as an array
    // computed once, so the index is searched by id whatever the statistics say).
    let mut branches = vec![format!(
        "SELECT {COLUMNS} FROM activities WHERE organization_id = $1 AND record_type = $2 AND record_id = $3"
    )];
    let gather = if related {
        gathered_from(record_type)
    } else {
        &[]
    };
    for (kind, table, column) in gather {
        let ids = format!(
            "SELECT id FROM {table} WHERE organization_id = $1 AND {column} = $3 AND deleted_at IS NULL"
        );
        let among = match tx.backend() {
            crate::Backend::Postgres => format!("= ANY(ARRAY({ids}))"),
            crate::Backend::Sqlite => format!("IN ({ids})"),
        };
        branches.push(format!(
            "SELECT {COLUMNS} FROM activities WHERE organization_id = $1 \
             AND record_type = '{kind}' AND record_id {among}"
        ));
    }
    let mut q = query(format!(
        "SELECT {COLUMNS} FROM ({}) AS gathered WHERE 1 = 1",
        branches.join(" UNION ALL ")
    ))
    .bind(org)
    .bind(record_type)
    .bind(record_id);
    q.and_in(
        "type",
        &types.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
    );
    newest_first(&mut q, before, (0, limit));
    tx.raw().fetch_all(q).await
}

/// Orders a timeline's entries newest first, from after the entry a previous page ended on.
fn newest_first(
    q: &mut crate::Query,
    before: Option<(DateTime<Utc>, ActivityId)>,
    window: (u64, u64),
) {
    let after = before.map(|(at, id)| (crate::keyset::SortValue::Time(at), id));
    crate::keyset::page(
        q,
        "created_at",
        after.as_ref().map(|(v, id)| (v, *id)),
        true,
        window,
        crate::keyset::Plan::Once,
    );
}

/// How many entries a record's timeline holds.
pub async fn count(tx: &mut TenantTx, record_type: &str, record_id: uuid::Uuid) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query("SELECT COUNT(*) AS n FROM activities WHERE organization_id = $1 AND record_type = $2 AND record_id = $3")
                .bind(org)
                .bind(record_type)
                .bind(record_id),
        )
        .await?;
    Ok(row.n)
}

/// Moves a record's timeline onto another record (a converted lead's history follows it).
pub async fn reattach(
    tx: &mut TenantTx,
    from: (&str, uuid::Uuid),
    to: (&'static str, uuid::Uuid),
) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE activities SET record_type = $1, record_id = $2 \
                 WHERE organization_id = $3 AND record_type = $4 AND record_id = $5",
            )
            .bind(to.0)
            .bind(to.1)
            .bind(org)
            .bind(from.0)
            .bind(from.1),
        )
        .await
}
