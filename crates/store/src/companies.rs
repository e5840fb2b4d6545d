//! Companies (accounts).

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, OrganizationId, UserId};

use rapport_domain::TagId;

use crate::keyset::SortValue;
use crate::tables::{self, KindTable};
use crate::text::Searchable;
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
    tables::find::<Company>(tx, id)
        .await?
        .ok_or(crate::Error::NotFound)
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

impl KindTable for Company {
    type Id = CompanyId;
    type Filter = CompanyFilter;
    type Sort = CompanySort;
    const TABLE: &'static str = "companies";
    const RECORD_TYPE: &'static str = "company";
    const COLUMNS: &'static str = COLUMNS;
    const SEARCH: Option<Searchable> = Some(crate::text::COMPANY);
    fn search(f: &CompanyFilter) -> Option<&str> {
        f.search.as_deref()
    }
    fn tag(f: &CompanyFilter) -> Option<TagId> {
        f.tag_id
    }
    fn conditions(q: &mut Query, f: &CompanyFilter) {
        q.and("owner_id =", f.owner_id);
        q.and("industry =", f.industry.as_deref());
    }
    fn sort_value(&self, sort: CompanySort) -> SortValue {
        match sort {
            CompanySort::Name => SortValue::Text(self.name.clone()),
            CompanySort::CreatedAt => SortValue::Time(self.created_at),
            CompanySort::UpdatedAt => SortValue::Time(self.updated_at),
        }
    }
    fn sort_column(sort: CompanySort) -> &'static str {
        match sort {
            CompanySort::Name => "name_key",
            CompanySort::CreatedAt => "created_at",
            CompanySort::UpdatedAt => "updated_at",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CompanyFilter {
    /// Case-insensitive substring of the name or domain.
    pub search: Option<String>,
    pub owner_id: Option<UserId>,
    pub industry: Option<String>,
    pub tag_id: Option<TagId>,
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
