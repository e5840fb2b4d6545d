//! Companies (accounts).

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, OrganizationId, UserId};

use rapport_domain::TagId;

use crate::keyset::SortValue;
use crate::tables::{self, Columns, KindTable};
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

impl NewCompany {
    fn columns(&self) -> Columns {
        vec![
            ("owner_id", self.owner_id.into()),
            ("name", (&self.name).into()),
            ("domain", self.domain.clone().into()),
            ("industry", self.industry.clone().into()),
            ("size", self.size.clone().into()),
            ("address", self.address.clone().into()),
        ]
    }
}

pub async fn insert(tx: &mut TenantTx, new: &NewCompany) -> Result<Company> {
    tables::insert(tx, new.columns()).await
}

pub async fn update(tx: &mut TenantTx, id: CompanyId, f: &NewCompany) -> Result<()> {
    tables::update::<Company>(tx, id, f.columns()).await
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
    crate::tables::titles::<Company>(tx, ids).await
}
