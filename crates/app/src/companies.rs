//! Companies (accounts): the organizations the CRM's contacts and deals belong to.

use rapport_domain::contact::{optional_text, web_domain};
use rapport_domain::organization::OrganizationName;
use rapport_domain::{Action, CompanyId, Object, Ownership, UserId, ValidationErrors};
use rapport_store::TenantTx;
use rapport_store::companies::{
    self as store_companies, Company, CompanyFilter, CompanySort, NewCompany,
};
use rapport_store::keyset::SortValue;
use serde_json::json;

use crate::audit::{changes_and, entry, with_target};
use crate::deals::check_owner;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// The sizes a company may be given (employees).
pub const SIZES: [&str; 6] = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1000+"];

#[derive(Clone, Debug, Default)]
pub struct CompanyChange {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub size: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub owner_id: Option<UserId>,
    /// Custom field values (`null` clears one; those not given stay).
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Clone, Debug)]
pub struct CompanyQuery {
    /// Whether the page comes with the total (an export, reading every page, needs none).
    pub with_total: bool,
    pub filter: CompanyFilter,
    pub sort: CompanySort,
    pub descending: bool,
    pub after: Option<(SortValue, CompanyId)>,
    pub page: u64,
    pub page_size: u64,
}

pub struct CompanyPage {
    pub items: Vec<Company>,
    /// The tags of the page's companies, as (company id, tag) pairs.
    pub tags: Vec<(uuid::Uuid, rapport_store::tags::Tag)>,
    pub total: i64,
    pub total_is_exact: bool,
    pub next: Option<(SortValue, CompanyId)>,
}

const COUNT_CAP: i64 = 10_000;

impl App {
    async fn company_fields(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        current: Option<&Company>,
        change: &CompanyChange,
    ) -> AppResult<NewCompany> {
        let mut errors = ValidationErrors::new();
        let name = match (&change.name, current) {
            (Some(raw), _) => errors
                .check("name", OrganizationName::parse(raw))
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            (None, Some(c)) => c.name.clone(),
            (None, None) => {
                errors.add("name", "is required");
                String::new()
            }
        };
        let domain = match &change.domain {
            Some(Some(raw)) if !raw.trim().is_empty() => errors.check("domain", web_domain(raw)),
            Some(_) => None,
            None => current.and_then(|c| c.domain.clone()),
        };
        let industry = match &change.industry {
            Some(raw) => optional_text(&mut errors, "industry", raw.as_deref(), 80),
            None => current.and_then(|c| c.industry.clone()),
        };
        let size = match &change.size {
            Some(Some(raw)) if !raw.trim().is_empty() => {
                let s = raw.trim();
                if SIZES.contains(&s) {
                    Some(s.to_owned())
                } else {
                    errors.add("size", format!("must be one of {}", SIZES.join(", ")));
                    None
                }
            }
            Some(_) => None,
            None => current.and_then(|c| c.size.clone()),
        };
        let address = match &change.address {
            Some(raw) => optional_text(&mut errors, "address", raw.as_deref(), 300),
            None => current.and_then(|c| c.address.clone()),
        };
        let owner_id = change
            .owner_id
            .or(current.map(|c| c.owner_id))
            .unwrap_or(actor.user_id);
        if change
            .owner_id
            .is_some_and(|o| Some(o) != current.map(|c| c.owner_id))
        {
            check_owner(tx, tenant, actor, &mut errors, owner_id).await?;
        }
        errors.into_result()?;
        Ok(NewCompany {
            owner_id,
            name,
            domain,
            industry,
            size,
            address,
        })
    }

    pub async fn create_company(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        change: CompanyChange,
        meta: &RequestMeta,
    ) -> AppResult<Company> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Company,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = self
            .company_fields(&mut tx, actor, tenant, None, &change)
            .await?;
        let mut company = store_companies::insert(&mut tx, &fields).await?;
        if let Some(c) = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Company,
                    id: company.id.as_uuid(),
                    custom: &company.custom.0,
                },
                change.custom.as_ref(),
                true,
            )
            .await?
        {
            company.custom.0 = serde_json::Value::Object(c.document);
        }
        let mut e = with_target(
            entry(Some(actor), meta, "company.created"),
            "company",
            company.id,
        );
        e.changes = Some(json!({"name": company.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(company)
    }

    /// One company and its tags, read together.
    pub async fn company_with_tags(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: CompanyId,
        meta: &RequestMeta,
    ) -> AppResult<(Company, Vec<rapport_store::tags::Tag>)> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Company,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let found = store_companies::find_with_tags(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(found)
    }

    pub async fn company(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: CompanyId,
        meta: &RequestMeta,
    ) -> AppResult<Company> {
        Ok(self.company_with_tags(actor, tenant, id, meta).await?.0)
    }

    pub async fn update_company(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: CompanyId,
        change: CompanyChange,
        meta: &RequestMeta,
    ) -> AppResult<Company> {
        let before = self.company(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Company,
            actor.relation_to(before.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_companies::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = self
            .company_fields(&mut tx, actor, tenant, Some(&current), &change)
            .await?;
        store_companies::update(&mut tx, id, &fields).await?;
        let custom = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Company,
                    id: id.as_uuid(),
                    custom: &current.custom.0,
                },
                change.custom.as_ref(),
                false,
            )
            .await?;
        let after = store_companies::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(diff) = changes_and(
            &[
                ("name", json!(current.name), json!(after.name)),
                ("domain", json!(current.domain), json!(after.domain)),
                ("industry", json!(current.industry), json!(after.industry)),
                ("size", json!(current.size), json!(after.size)),
                ("address", json!(current.address), json!(after.address)),
                ("owner_id", json!(current.owner_id), json!(after.owner_id)),
            ],
            custom.as_ref(),
        ) {
            let mut e = with_target(entry(Some(actor), meta, "company.updated"), "company", id);
            e.changes = Some(diff);
            crate::events::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_company(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: CompanyId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let before = self.company(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::Company,
            actor.relation_to(before.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if !store_companies::soft_delete(&mut tx, id).await? {
            return Err(AppError::NotFound);
        }
        let mut e = with_target(entry(Some(actor), meta, "company.deleted"), "company", id);
        e.changes = Some(json!({"name": before.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_companies(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        q: CompanyQuery,
        meta: &RequestMeta,
    ) -> AppResult<CompanyPage> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Company,
            Ownership::NotApplicable,
        )
        .await?;
        let offset = crate::paging::offset(q.after.is_some(), q.page, q.page_size);
        let cap = q.with_total.then_some(COUNT_CAP);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let strategy = store_companies::search_strategy(&mut tx, &q.filter).await?;
        let (mut items, counted) = store_companies::list(
            &mut tx,
            &q.filter,
            strategy,
            q.sort,
            q.descending,
            q.after.as_ref(),
            offset,
            q.page_size,
            cap,
        )
        .await?;
        let has_more = crate::paging::cut(&mut items, q.page_size);
        let (total, total_is_exact) = match counted {
            Some(counted) => counted,
            None if !q.with_total => (0, false),
            // An empty page past the end of the list: count on its own.
            None => store_companies::count(&mut tx, &q.filter, strategy, COUNT_CAP).await?,
        };
        let ids: Vec<uuid::Uuid> = items.iter().map(|r| r.id.as_uuid()).collect();
        let tags = rapport_store::tags::of_records(&mut tx, "company", &ids).await?;
        tx.commit().await?;
        let next = if has_more {
            items.last().map(|c| (q.sort.value_of(c), c.id))
        } else {
            None
        };
        Ok(CompanyPage {
            items,
            tags,
            total,
            total_is_exact,
            next,
        })
    }
}

impl App {
    /// Names of companies by id (for lists that show a record's company).
    pub async fn company_names(
        &self,
        tenant: &Tenant,
        ids: &[uuid::Uuid],
    ) -> AppResult<Vec<(uuid::Uuid, String)>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let names = store_companies::names(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(names)
    }
}
