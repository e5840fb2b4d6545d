//! Leads: people who may become customers, worked until qualified, then converted.

use chrono::{DateTime, Utc};
use rapport_domain::lead::LeadStatus;
use rapport_domain::{CompanyId, ContactId, DealId, LeadId, OrganizationId, UserId};

use crate::keyset::SortValue;
use rapport_domain::TagId;

use crate::tables::{self, Columns, KindTable};
use crate::text::Searchable;
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
    #[sqlx(try_from = "crate::Link")]
    pub converted_contact_id: Option<ContactId>,
    #[sqlx(try_from = "crate::Link")]
    pub converted_company_id: Option<CompanyId>,
    #[sqlx(try_from = "crate::Link")]
    pub converted_deal_id: Option<DealId>,
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

impl LeadFields {
    fn columns(&self) -> Columns {
        vec![
            ("owner_id", self.owner_id.into()),
            ("name", (&self.name).into()),
            ("email", self.email.clone().into()),
            ("phone", self.phone.clone().into()),
            ("company_name", self.company_name.clone().into()),
            ("source", self.source.clone().into()),
            ("status", self.status.as_str().into()),
            ("score", self.score.into()),
        ]
    }
}

pub async fn insert(tx: &mut TenantTx, f: &LeadFields) -> Result<Lead> {
    tables::insert(tx, f.columns()).await
}

pub async fn update(tx: &mut TenantTx, id: LeadId, f: &LeadFields) -> Result<()> {
    tables::update::<Lead>(tx, id, f.columns()).await
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadSort {
    Name,
    CreatedAt,
    UpdatedAt,
    Score,
}

impl KindTable for Lead {
    type Id = LeadId;
    type Filter = LeadFilter;
    type Sort = LeadSort;
    const TABLE: &'static str = "leads";
    const RECORD_TYPE: &'static str = "lead";
    const COLUMNS: &'static str = COLUMNS;
    const SEARCH: Option<Searchable> = Some(crate::text::LEAD);
    fn search(f: &LeadFilter) -> Option<&str> {
        f.search.as_deref()
    }
    fn tag(f: &LeadFilter) -> Option<TagId> {
        f.tag_id
    }
    fn conditions(q: &mut Query, f: &LeadFilter) {
        q.and_in("status", &f.statuses);
        q.and("owner_id =", f.owner_id);
        q.and("source =", f.source.as_deref());
        match f.converted {
            Some(true) => q.push_sql(" AND converted_at IS NOT NULL"),
            Some(false) => q.push_sql(" AND converted_at IS NULL"),
            None => {}
        }
    }
    fn sort_value(&self, sort: LeadSort) -> SortValue {
        match sort {
            LeadSort::Name => SortValue::Text(self.name.clone()),
            LeadSort::CreatedAt => SortValue::Time(self.created_at),
            LeadSort::UpdatedAt => SortValue::Time(self.updated_at),
            LeadSort::Score => SortValue::Int(self.score),
        }
    }
    fn sort_column(sort: LeadSort) -> &'static str {
        match sort {
            LeadSort::Name => "name_key",
            LeadSort::CreatedAt => "created_at",
            LeadSort::UpdatedAt => "updated_at",
            LeadSort::Score => "score",
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
    pub tag_id: Option<TagId>,
}

/// Leads created since a moment, and how many of them were converted with a deal.
pub async fn created_and_converted_since(
    tx: &mut TenantTx,
    since: DateTime<Utc>,
    owners: Option<&[UserId]>,
) -> Result<(i64, i64)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
        converted: i64,
    }
    let org = tx.organization_id();
    let mut q = query(
        "SELECT COUNT(*) AS n, \
         CAST(COALESCE(SUM(CASE WHEN converted_deal_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS converted \
         FROM leads WHERE organization_id = $1 AND deleted_at IS NULL AND created_at >= $2",
    )
    .bind(org)
    .bind(since);
    if let Some(owners) = owners {
        let owned = q.any_user(tx.backend(), "owner_id", owners);
        q.push_sql(&format!(" AND {owned}"));
    }
    let row: Row = tx.raw().fetch_one(q).await?;
    Ok((row.n, row.converted))
}
