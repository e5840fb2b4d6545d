//! Companies (accounts).

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, OrganizationId, UserId};

use crate::{Query, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Company {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: CompanyId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub address: Option<String>,
    pub custom: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, owner_id, name, domain, industry, size, address, custom, created_at, updated_at";

/// A new company's fields.
#[derive(Clone, Debug)]
pub struct NewCompany {
    pub owner_id: UserId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub address: Option<String>,
}

pub async fn insert(tx: &mut TenantTx, new: &NewCompany) -> Result<Company> {
    let org = tx.organization_id();
    let id = CompanyId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO companies (organization_id, id, owner_id, name, domain, industry, size, address, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(new.owner_id)
            .bind(&new.name)
            .bind(new.domain.clone())
            .bind(new.industry.clone())
            .bind(new.size.clone())
            .bind(new.address.clone())
            .bind(now),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// A live (not deleted) company of the organization.
fn find_query(org: OrganizationId, id: CompanyId) -> Query {
    query(format!(
        "SELECT {COLUMNS} FROM companies WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(org)
    .bind(id)
}

pub async fn find(tx: &mut TenantTx, id: CompanyId) -> Result<Option<Company>> {
    let org = tx.organization_id();
    tx.raw().fetch_optional(find_query(org, id)).await
}

/// A company and its tags, in one statement.
pub async fn find_with_tags(
    tx: &mut TenantTx,
    id: CompanyId,
) -> Result<Option<(Company, Vec<crate::tags::Tag>)>> {
    let org = tx.organization_id();
    crate::tags::with_record(tx, find_query(org, id), "company").await
}

/// (id, name) of up to `limit` companies by name, for pickers; plus `include` when given.
pub async fn choices(
    tx: &mut TenantTx,
    limit: i64,
    include: Option<CompanyId>,
) -> Result<Vec<(CompanyId, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        id: CompanyId,
        name: String,
    }
    let org = tx.organization_id();
    let mut rows: Vec<Row> = tx
        .raw()
        .fetch_all(
            query(
                "SELECT id, name FROM companies WHERE organization_id = $1 AND deleted_at IS NULL \
                 ORDER BY name_key, id LIMIT $2",
            )
            .bind(org)
            .bind(limit),
        )
        .await?;
    if let Some(id) = include
        && !rows.iter().any(|r| r.id == id)
        && let Some(c) = find(tx, id).await?
    {
        rows.push(Row {
            id: c.id,
            name: c.name,
        });
    }
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

pub async fn update(tx: &mut TenantTx, id: CompanyId, f: &NewCompany) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE companies SET owner_id = $1, name = $2, domain = $3, industry = $4, size = $5, address = $6, \
                 updated_at = $7 WHERE organization_id = $8 AND id = $9 AND deleted_at IS NULL",
            )
            .bind(f.owner_id)
            .bind(&f.name)
            .bind(f.domain.clone())
            .bind(f.industry.clone())
            .bind(f.size.clone())
            .bind(f.address.clone())
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

pub async fn soft_delete(tx: &mut TenantTx, id: CompanyId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("UPDATE companies SET deleted_at = $1 WHERE organization_id = $2 AND id = $3 AND deleted_at IS NULL")
                .bind(crate::now())
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}

/// A live company whose web domain is this one.
pub async fn find_by_domain(tx: &mut TenantTx, domain: &str) -> Result<Option<Company>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM companies WHERE organization_id = $1 AND domain = $2 AND deleted_at IS NULL \
                 ORDER BY created_at LIMIT 1"
            ))
            .bind(org)
            .bind(domain),
        )
        .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompanySort {
    Name,
    CreatedAt,
    UpdatedAt,
}

impl CompanySort {
    fn expr(self) -> &'static str {
        match self {
            CompanySort::Name => "name_key",
            CompanySort::CreatedAt => "created_at",
            CompanySort::UpdatedAt => "updated_at",
        }
    }

    pub fn value_of(self, c: &Company) -> crate::keyset::SortValue {
        use crate::keyset::SortValue;
        match self {
            CompanySort::Name => SortValue::Text(c.name.clone()),
            CompanySort::CreatedAt => SortValue::Time(c.created_at),
            CompanySort::UpdatedAt => SortValue::Time(c.updated_at),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CompanyFilter {
    /// Case-insensitive substring of the name or domain.
    pub search: Option<String>,
    pub owner_id: Option<UserId>,
    pub industry: Option<String>,
    pub tag_id: Option<rapport_domain::TagId>,
}

fn filtered(
    tx: &TenantTx,
    select: &str,
    f: &CompanyFilter,
    strategy: crate::text::Strategy,
) -> crate::Query {
    let mut q = query(select);
    let org = q.push_arg(tx.organization_id());
    q.push_sql(&format!(
        " WHERE organization_id = {org} AND deleted_at IS NULL"
    ));
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let m = crate::text::contains(
            &mut q,
            tx.backend(),
            &crate::text::COMPANY,
            search,
            strategy,
        );
        q.push_sql(&format!(" AND {m}"));
    }
    if let Some(o) = f.owner_id {
        let p = q.push_arg(o);
        q.push_sql(&format!(" AND owner_id = {p}"));
    }
    if let Some(i) = &f.industry {
        let p = q.push_arg(i.as_str());
        q.push_sql(&format!(" AND industry = {p}"));
    }
    if let Some(tag) = f.tag_id {
        crate::tags::push_tag_filter(&mut q, tx.organization_id(), "company", tag);
    }
    q
}

/// One page of companies, plus one row more when there is a next page, and, given a `cap`, how
/// many match in all (at most `cap`; `None` when the page is empty): one statement.
pub async fn list(
    tx: &mut TenantTx,
    f: &CompanyFilter,
    strategy: crate::text::Strategy,
    window: &crate::keyset::Window<'_, CompanySort, CompanyId>,
    cap: Option<i64>,
) -> Result<(Vec<Company>, Option<(i64, bool)>)> {
    let select = filtered(tx, "SELECT * FROM companies", f, strategy);
    let q = window.of(select, window.sort.expr(), cap);
    crate::keyset::fetch_page(tx, q, cap).await
}

pub async fn count(
    tx: &mut TenantTx,
    f: &CompanyFilter,
    strategy: crate::text::Strategy,
    cap: i64,
) -> Result<(i64, bool)> {
    let q = filtered(
        tx,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM companies",
        f,
        strategy,
    );
    crate::keyset::capped_count(tx, q, cap).await
}

/// The names of some companies (live or deleted), for lists showing a contact's company.
pub async fn names(tx: &mut TenantTx, ids: &[uuid::Uuid]) -> Result<Vec<(uuid::Uuid, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: uuid::Uuid,
        name: String,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query("SELECT id, name FROM companies WHERE organization_id = $1 AND id IN (")
        .bind(tx.organization_id());
    let ps: Vec<String> = ids.iter().map(|id| q.push_arg(*id)).collect();
    q.push_sql(&ps.join(", "));
    q.push_sql(")");
    let rows: Vec<Row> = tx.raw().fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// How the filter's search runs (see [`crate::text::strategy`]); found once per request and
/// given to both [`list`] and [`count`].
pub async fn search_strategy(
    tx: &mut TenantTx,
    f: &CompanyFilter,
) -> Result<crate::text::Strategy> {
    match f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => crate::text::strategy(tx, &crate::text::COMPANY, text).await,
        None => Ok(crate::text::Strategy::Scan),
    }
}
