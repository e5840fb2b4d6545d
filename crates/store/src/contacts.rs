//! Contacts: people the organization deals with.

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, ContactId, OrganizationId, UserId};

use rapport_domain::TagId;

use crate::tables::{self, Columns, KindTable};
use crate::text::Searchable;
use crate::{Query, Result, TenantTx};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Contact {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ContactId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    #[sqlx(try_from = "crate::Link")]
    pub company_id: Option<CompanyId>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub custom: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, owner_id, company_id, name, email, phone, title, custom, created_at, updated_at";

/// The fields a contact is written with.
#[derive(Clone, Debug)]
pub struct ContactFields {
    pub owner_id: UserId,
    pub company_id: Option<CompanyId>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
}

impl ContactFields {
    fn columns(&self) -> Columns {
        vec![
            ("owner_id", self.owner_id.into()),
            ("company_id", self.company_id.into()),
            ("name", (&self.name).into()),
            ("email", self.email.clone().into()),
            ("phone", self.phone.clone().into()),
            ("title", self.title.clone().into()),
        ]
    }
}

pub async fn insert(tx: &mut TenantTx, fields: &ContactFields) -> Result<Contact> {
    tables::insert(tx, fields.columns()).await
}

pub async fn update(tx: &mut TenantTx, id: ContactId, fields: &ContactFields) -> Result<()> {
    tables::update::<Contact>(tx, id, fields.columns()).await
}

/// What a contact list is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactSort {
    Name,
    CreatedAt,
    UpdatedAt,
}

pub use crate::keyset::SortValue;

impl KindTable for Contact {
    type Id = ContactId;
    type Filter = ContactFilter;
    type Sort = ContactSort;
    const TABLE: &'static str = "contacts";
    const RECORD_TYPE: &'static str = "contact";
    const COLUMNS: &'static str = COLUMNS;
    const SEARCH: Option<Searchable> = Some(crate::text::CONTACT);
    fn search(f: &ContactFilter) -> Option<&str> {
        f.search.as_deref()
    }
    fn tag(f: &ContactFilter) -> Option<TagId> {
        f.tag_id
    }
    fn conditions(q: &mut Query, f: &ContactFilter) {
        q.and("owner_id =", f.owner_id);
        q.and("company_id =", f.company_id);
    }
    /// Names sort without regard to case, as people expect.
    fn sort_value(&self, sort: ContactSort) -> SortValue {
        match sort {
            ContactSort::Name => SortValue::Text(self.name.clone()),
            ContactSort::CreatedAt => SortValue::Time(self.created_at),
            ContactSort::UpdatedAt => SortValue::Time(self.updated_at),
        }
    }
    fn sort_column(sort: ContactSort) -> &'static str {
        match sort {
            ContactSort::Name => "name_key",
            ContactSort::CreatedAt => "created_at",
            ContactSort::UpdatedAt => "updated_at",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    /// Case-insensitive substring of the name, email or phone.
    pub search: Option<String>,
    pub owner_id: Option<UserId>,
    pub company_id: Option<CompanyId>,
    pub tag_id: Option<TagId>,
}
