//! Contacts: people the organization deals with.

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, ContactId, OrganizationId, UserId};

use crate::{Query, Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Contact {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ContactId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub owner_id: UserId,
    pub company_id: Option<uuid::Uuid>,
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

pub async fn insert(tx: &mut TenantTx, fields: &ContactFields) -> Result<Contact> {
    let org = tx.organization_id();
    let id = ContactId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO contacts (organization_id, id, owner_id, company_id, name, email, phone, title, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(org)
            .bind(id)
            .bind(fields.owner_id)
            .bind(fields.company_id)
            .bind(&fields.name)
            .bind(fields.email.clone())
            .bind(fields.phone.clone())
            .bind(fields.title.clone())
            .bind(now),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// A live (not deleted) contact of the organization.
fn find_query(org: OrganizationId, id: ContactId) -> Query {
    query(format!(
        "SELECT {COLUMNS} FROM contacts WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(org)
    .bind(id)
}

pub async fn find(tx: &mut TenantTx, id: ContactId) -> Result<Option<Contact>> {
    let org = tx.organization_id();
    tx.raw().fetch_optional(find_query(org, id)).await
}

/// A contact and its tags, in one statement.
pub async fn find_with_tags(
    tx: &mut TenantTx,
    id: ContactId,
) -> Result<Option<(Contact, Vec<crate::tags::Tag>)>> {
    let org = tx.organization_id();
    crate::tags::with_record(tx, find_query(org, id), "contact").await
}

pub async fn update(tx: &mut TenantTx, id: ContactId, fields: &ContactFields) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE contacts SET owner_id = $1, company_id = $2, name = $3, email = $4, phone = $5, title = $6, \
                 updated_at = $7 WHERE organization_id = $8 AND id = $9 AND deleted_at IS NULL",
            )
            .bind(fields.owner_id)
            .bind(fields.company_id)
            .bind(&fields.name)
            .bind(fields.email.clone())
            .bind(fields.phone.clone())
            .bind(fields.title.clone())
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Moves a contact to "recently deleted".
pub async fn soft_delete(tx: &mut TenantTx, id: ContactId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("UPDATE contacts SET deleted_at = $1 WHERE organization_id = $2 AND id = $3 AND deleted_at IS NULL")
                .bind(crate::now())
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}

/// What a contact list is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactSort {
    Name,
    CreatedAt,
    UpdatedAt,
}

impl ContactSort {
    /// The sort expression; names sort without regard to case, as people expect.
    fn column(self) -> &'static str {
        match self {
            ContactSort::Name => "name_key",
            ContactSort::CreatedAt => "created_at",
            ContactSort::UpdatedAt => "updated_at",
        }
    }

    pub fn value_of(self, c: &Contact) -> SortValue {
        match self {
            ContactSort::Name => SortValue::Text(c.name.clone()),
            ContactSort::CreatedAt => SortValue::Time(c.created_at),
            ContactSort::UpdatedAt => SortValue::Time(c.updated_at),
        }
    }
}

pub use crate::keyset::SortValue;

#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    /// Case-insensitive substring of the name, email or phone.
    pub search: Option<String>,
    pub owner_id: Option<UserId>,
    pub company_id: Option<CompanyId>,
    pub tag_id: Option<rapport_domain::TagId>,
}

fn filtered(
    tx: &TenantTx,
    select: &str,
    f: &ContactFilter,
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
            &crate::text::CONTACT,
            search,
            strategy,
        );
        q.push_sql(&format!(" AND {m}"));
    }
    if let Some(owner) = f.owner_id {
        let p = q.push_arg(owner);
        q.push_sql(&format!(" AND owner_id = {p}"));
    }
    if let Some(company) = f.company_id {
        let p = q.push_arg(company);
        q.push_sql(&format!(" AND company_id = {p}"));
    }
    if let Some(tag) = f.tag_id {
        crate::tags::push_tag_filter(&mut q, tx.organization_id(), "contact", tag);
    }
    q
}

/// One page of contacts, plus one row more when there is a next page, and, given a `cap`, how
/// many contacts match in all (at most `cap`; `None` when the page is empty): one statement.
pub async fn list(
    tx: &mut TenantTx,
    f: &ContactFilter,
    strategy: crate::text::Strategy,
    window: &crate::keyset::Window<'_, ContactSort, ContactId>,
    cap: Option<i64>,
) -> Result<(Vec<Contact>, Option<(i64, bool)>)> {
    let q = list_query(tx, f, strategy, window, cap);
    crate::keyset::fetch_page(tx, q, cap).await
}

/// The query [`list`] runs (public for tests that read its plan).
pub fn list_query(
    tx: &TenantTx,
    f: &ContactFilter,
    strategy: crate::text::Strategy,
    window: &crate::keyset::Window<'_, ContactSort, ContactId>,
    cap: Option<i64>,
) -> Query {
    let select = filtered(tx, "SELECT * FROM contacts", f, strategy);
    window.of(select, window.sort.column(), cap)
}

/// How many contacts match, counting at most `cap`: (count, exact).
pub async fn count(
    tx: &mut TenantTx,
    f: &ContactFilter,
    strategy: crate::text::Strategy,
    cap: i64,
) -> Result<(i64, bool)> {
    let q = filtered(
        tx,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM contacts",
        f,
        strategy,
    );
    crate::keyset::capped_count(tx, q, cap).await
}

/// (id, name) of up to `limit` contacts by name, for pickers; plus `include` when given.
pub async fn choices(
    tx: &mut TenantTx,
    limit: i64,
    include: Option<ContactId>,
) -> Result<Vec<(ContactId, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        id: ContactId,
        name: String,
    }
    let org = tx.organization_id();
    let mut rows: Vec<Row> = tx
        .raw()
        .fetch_all(
            query(
                "SELECT id, name FROM contacts WHERE organization_id = $1 AND deleted_at IS NULL \
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

/// How the filter's search runs (see [`crate::text::strategy`]); found once per request and
/// given to both [`list`] and [`count`].
pub async fn search_strategy(
    tx: &mut TenantTx,
    f: &ContactFilter,
) -> Result<crate::text::Strategy> {
    match f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => crate::text::strategy(tx, &crate::text::CONTACT, text).await,
        None => Ok(crate::text::Strategy::Scan),
    }
}
