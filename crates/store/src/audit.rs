//! The audit log: append-only. Nothing here updates or deletes an entry (only purging a deleted
//! organization removes its entries, with it).

use chrono::{DateTime, Utc};
use rapport_domain::{AuditEntryId, OrganizationId, UserId};

use crate::{Result, TenantTx, Tx, query};

/// What happened, by whom, to what, from where.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    pub actor_id: Option<UserId>,
    pub actor_email: Option<String>,
    /// Dotted name such as `auth.login_succeeded` or `member.role_changed`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// `{"field": {"before": …, "after": …}}` with secrets already masked.
    pub changes: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// When the actor acted through an API key.
    pub api_key_id: Option<rapport_domain::ApiKeyId>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Entry {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: AuditEntryId,
    pub organization_id: Option<uuid::Uuid>,
    pub actor_id: Option<uuid::Uuid>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub changes: Option<sqlx::types::Json<serde_json::Value>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub api_key_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
}

async fn insert(
    tx: &mut Tx,
    organization_id: Option<OrganizationId>,
    entry: NewEntry,
) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO audit_log (organization_id, id, actor_id, actor_email, action, target_type, target_id, \
             changes, ip, user_agent, request_id, api_key_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(organization_id)
        .bind(AuditEntryId::new())
        .bind(entry.actor_id)
        .bind(entry.actor_email)
        .bind(entry.action)
        .bind(entry.target_type)
        .bind(entry.target_id)
        .bind(entry.changes)
        .bind(entry.ip)
        .bind(entry.user_agent)
        .bind(entry.request_id)
        .bind(entry.api_key_id)
        .bind(crate::now()),
    )
    .await?;
    Ok(())
}

/// Appends an entry to the organization's log.
pub async fn record(tx: &mut TenantTx, entry: NewEntry) -> Result<()> {
    let org = tx.organization_id();
    insert(tx.raw(), Some(org), entry).await
}

/// Appends an entry that belongs to no organization (sign-in, instance administration).
pub async fn record_platform(
    tx: &mut Tx,
    organization_id: Option<OrganizationId>,
    entry: NewEntry,
) -> Result<()> {
    insert(tx, organization_id, entry).await
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub actor_id: Option<UserId>,
    /// An exact action, or a prefix ending in `.` (`auth.` matches every sign-in event).
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset cursor: the (created_at, id) of the last entry of the previous page.
    pub before: Option<(DateTime<Utc>, AuditEntryId)>,
    pub offset: u64,
    pub limit: u64,
}

fn filtered(tx: &TenantTx, select: &str, filter: &Filter) -> crate::Query {
    let mut q = query(select);
    let org = q.push_arg(tx.organization_id());
    q.push_sql(&format!(" WHERE organization_id = {org}"));
    if let Some(actor) = filter.actor_id {
        let p = q.push_arg(actor);
        q.push_sql(&format!(" AND actor_id = {p}"));
    }
    if let Some(action) = &filter.action {
        if action.ends_with('.') {
            let p = q.push_arg(format!("{}%", crate::dialect::escape_like(action)));
            q.push_sql(&format!(" AND action LIKE {p} ESCAPE '\\'"));
        } else {
            let p = q.push_arg(action.as_str());
            q.push_sql(&format!(" AND action = {p}"));
        }
    }
    if let Some(from) = filter.from {
        let p = q.push_arg(from);
        q.push_sql(&format!(" AND created_at >= {p}"));
    }
    if let Some(to) = filter.to {
        let p = q.push_arg(to);
        q.push_sql(&format!(" AND created_at < {p}"));
    }
    q
}

/// Entries newest first.
pub async fn list(tx: &mut TenantTx, filter: &Filter) -> Result<Vec<Entry>> {
    let mut q = filtered(
        tx,
        "SELECT id, organization_id, actor_id, actor_email, action, target_type, target_id, changes, ip, \
         user_agent, request_id, api_key_id, created_at FROM audit_log",
        filter,
    );
    if let Some((created_at, id)) = filter.before {
        let a = q.push_arg(created_at);
        let b = q.push_arg(id);
        q.push_sql(&format!(
            " AND (created_at < {a} OR (created_at = {a} AND id < {b}))"
        ));
    }
    q.push_sql(" ORDER BY created_at DESC, id DESC");
    let limit = q.push_arg(filter.limit as i64);
    let offset = q.push_arg(filter.offset as i64);
    q.push_sql(&format!(" LIMIT {limit} OFFSET {offset}"));
    tx.raw().fetch_all(q).await
}

/// How many entries match, counting at most `cap` so a huge log costs a bounded scan; returns
/// (count, exact).
pub async fn count(tx: &mut TenantTx, filter: &Filter, cap: i64) -> Result<(i64, bool)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let mut q = filtered(
        tx,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM audit_log",
        filter,
    );
    let p = q.push_arg(cap + 1);
    q.push_sql(&format!(" LIMIT {p}) AS capped"));
    let row: Row = tx.raw().fetch_one(q).await?;
    Ok((row.n.min(cap), row.n <= cap))
}

/// Platform entries about one user (sign-ins), newest first; used by tests and the profile page.
pub async fn list_for_actor_email(tx: &mut Tx, email: &str, limit: i64) -> Result<Vec<Entry>> {
    tx.fetch_all(
        query(
            "SELECT id, organization_id, actor_id, actor_email, action, target_type, target_id, changes, ip, \
             user_agent, request_id, api_key_id, created_at FROM audit_log WHERE actor_email = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(email)
        .bind(limit),
    )
    .await
}
