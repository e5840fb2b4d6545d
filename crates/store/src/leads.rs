//! Leads: people who may become customers, worked until qualified, then converted.

use chrono::{DateTime, Utc};
use rapport_domain::lead::LeadStatus;
use rapport_domain::{CompanyId, ContactId, DealId, LeadId, OrganizationId, UserId};

use crate::keyset::SortValue;
use crate::{Query, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Lead {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: LeadId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub source: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: LeadStatus,
    pub score: i64,
    pub custom: sqlx::types::Json<serde_json::Value>,
    pub converted_at: Option<DateTime<Utc>>,
    pub converted_contact_id: Option<uuid::Uuid>,
    pub converted_company_id: Option<uuid::Uuid>,
    pub converted_deal_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, owner_id, name, email, phone, company_name, source, status, score, custom, \
    converted_at, converted_contact_id, converted_company_id, converted_deal_id, created_at, updated_at";

#[derive(Clone, Debug, PartialEq)]
pub struct LeadFields {
    pub owner_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub source: Option<String>,
    pub status: LeadStatus,
    pub score: i64,
}

pub async fn insert(tx: &mut TenantTx, f: &LeadFields) -> Result<Lead> {
    let org = tx.organization_id();
    let id = LeadId::new();
    tx.raw()
        .execute(
            query(
                "INSERT INTO leads (organization_id, id, owner_id, name, email, phone, company_name, source, status, score, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            )
            .bind(org)
            .bind(id)
            .bind(f.owner_id)
            .bind(&f.name)
            .bind(f.email.clone())
            .bind(f.phone.clone())
            .bind(f.company_name.clone())
            .bind(f.source.clone())
            .bind(f.status.as_str())
            .bind(f.score)
            .bind(crate::now()),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

fn find_query(org: OrganizationId, id: LeadId) -> Query {
    query(format!(
        "SELECT {COLUMNS} FROM leads WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(org)
    .bind(id)
}

pub async fn find(tx: &mut TenantTx, id: LeadId) -> Result<Option<Lead>> {
    let org = tx.organization_id();
    tx.raw().fetch_optional(find_query(org, id)).await
}

/// A lead and its tags, in one statement.
pub async fn find_with_tags(
    tx: &mut TenantTx,
    id: LeadId,
) -> Result<Option<(Lead, Vec<crate::tags::Tag>)>> {
    let org = tx.organization_id();
    crate::tags::with_record(tx, find_query(org, id), "lead").await
}

pub async fn update(tx: &mut TenantTx, id: LeadId, f: &LeadFields) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE leads SET owner_id = $1, name = $2, email = $3, phone = $4, company_name = $5, source = $6, \
                 status = $7, score = $8, updated_at = $9 WHERE organization_id = $10 AND id = $11 AND deleted_at IS NULL",
            )
            .bind(f.owner_id)
            .bind(&f.name)
            .bind(f.email.clone())
            .bind(f.phone.clone())
            .bind(f.company_name.clone())
            .bind(f.source.clone())
            .bind(f.status.as_str())
            .bind(f.score)
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Records what a lead became.
pub async fn mark_converted(
    tx: &mut TenantTx,
    id: LeadId,
    contact: ContactId,
    company: Option<CompanyId>,
    deal: Option<DealId>,
) -> Result<()> {
    let org = tx.organization_id();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "UPDATE leads SET converted_at = $1, converted_contact_id = $2, converted_company_id = $3, \
                 converted_deal_id = $4, updated_at = $1 WHERE organization_id = $5 AND id = $6",
            )
            .bind(now)
            .bind(contact)
            .bind(company)
            .bind(deal)
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

pub async fn soft_delete(tx: &mut TenantTx, id: LeadId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("UPDATE leads SET deleted_at = $1 WHERE organization_id = $2 AND id = $3 AND deleted_at IS NULL")
                .bind(crate::now())
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadSort {
    Name,
    CreatedAt,
    UpdatedAt,
    Score,
}

impl LeadSort {
    fn expr(self) -> &'static str {
        match self {
            LeadSort::Name => "name_key",
            LeadSort::CreatedAt => "created_at",
            LeadSort::UpdatedAt => "updated_at",
            LeadSort::Score => "score",
        }
    }

    pub fn value_of(self, l: &Lead) -> SortValue {
        match self {
            LeadSort::Name => SortValue::Text(l.name.clone()),
            LeadSort::CreatedAt => SortValue::Time(l.created_at),
            LeadSort::UpdatedAt => SortValue::Time(l.updated_at),
            LeadSort::Score => SortValue::Int(l.score),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Case-insensitive substring of the name, email or company name.
    pub search: Option<String>,
    pub statuses: Vec<String>,
    pub owner_id: Option<UserId>,
    pub source: Option<String>,
    /// Some(true): converted only; Some(false): not converted.
    pub converted: Option<bool>,
    pub tag_id: Option<rapport_domain::TagId>,
}

fn filtered(
    tx: &TenantTx,
    select: &str,
    f: &LeadFilter,
    strategy: crate::text::Strategy,
) -> crate::Query {
    let mut q = query(select);
    let org = q.push_arg(tx.organization_id());
    q.push_sql(&format!(
        " WHERE organization_id = {org} AND deleted_at IS NULL"
    ));
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let m = crate::text::contains(&mut q, tx.backend(), &crate::text::LEAD, search, strategy);
        q.push_sql(&format!(" AND {m}"));
    }
    if !f.statuses.is_empty() {
        let ps: Vec<String> = f.statuses.iter().map(|s| q.push_arg(s.as_str())).collect();
        q.push_sql(&format!(" AND status IN ({})", ps.join(", ")));
    }
    if let Some(o) = f.owner_id {
        let p = q.push_arg(o);
        q.push_sql(&format!(" AND owner_id = {p}"));
    }
    if let Some(s) = &f.source {
        let p = q.push_arg(s.as_str());
        q.push_sql(&format!(" AND source = {p}"));
    }
    match f.converted {
        Some(true) => q.push_sql(" AND converted_at IS NOT NULL"),
        Some(false) => q.push_sql(" AND converted_at IS NULL"),
        None => {}
    }
    if let Some(tag) = f.tag_id {
        crate::tags::push_tag_filter(&mut q, tx.organization_id(), "lead", tag);
    }
    q
}

/// One page of leads, plus one row more when there is a next page, and, given a `cap`, how
/// many match in all (at most `cap`; `None` when the page is empty): one statement.
pub async fn list(
    tx: &mut TenantTx,
    f: &LeadFilter,
    strategy: crate::text::Strategy,
    window: &crate::keyset::Window<'_, LeadSort, LeadId>,
    cap: Option<i64>,
) -> Result<(Vec<Lead>, Option<(i64, bool)>)> {
    let select = filtered(tx, "SELECT * FROM leads", f, strategy);
    let q = window.of(select, window.sort.expr(), cap);
    crate::keyset::fetch_page(tx, q, cap).await
}

pub async fn count(
    tx: &mut TenantTx,
    f: &LeadFilter,
    strategy: crate::text::Strategy,
    cap: i64,
) -> Result<(i64, bool)> {
    let q = filtered(
        tx,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM leads",
        f,
        strategy,
    );
    crate::keyset::capped_count(tx, q, cap).await
}

/// Leads created since a moment, and how many of them were converted with a deal.
pub async fn created_and_converted_since(
    tx: &mut TenantTx,
    since: DateTime<Utc>,
) -> Result<(i64, i64)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
        converted: i64,
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n, \
                 CAST(COALESCE(SUM(CASE WHEN converted_deal_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS converted \
                 FROM leads WHERE organization_id = $1 AND deleted_at IS NULL AND created_at >= $2",
            )
            .bind(org)
            .bind(since),
        )
        .await?;
    Ok((row.n, row.converted))
}

/// How the filter's search runs (see [`crate::text::strategy`]); found once per request and
/// given to both [`list`] and [`count`].
pub async fn search_strategy(tx: &mut TenantTx, f: &LeadFilter) -> Result<crate::text::Strategy> {
    match f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => crate::text::strategy(tx, &crate::text::LEAD, text).await,
        None => Ok(crate::text::Strategy::Scan),
    }
}
