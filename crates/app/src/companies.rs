//! Companies (accounts): the organizations the CRM's contacts and deals belong to.

use rapport_domain::builtin::COMPANY_SIZES;
use rapport_domain::contact::web_domain;
use rapport_domain::organization::OrganizationName;
use rapport_domain::validation::text;
use rapport_domain::{CompanyId, Object, UserId, ValidationErrors};
use rapport_store::companies::{self as store_companies, Company, NewCompany};
use rapport_store::{Result, TenantTx};
use serde_json::{Value as Json, json};

use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record, owner_after};
use crate::{Actor, App, AppResult, Tenant};

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

/// A page of the companies list asked for, and the page.
pub type CompanyQuery = ListQuery<Company>;
pub type CompanyPage = ListPage<Company>;

/// Checks a change to a company and gives the columns to write.
async fn check(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    current: Option<&Company>,
    change: &CompanyChange,
) -> AppResult<NewCompany> {
    let mut errors = ValidationErrors::new();
    let name = errors.required(
        "name",
        change.name.as_deref(),
        current.map(|c| c.name.clone()),
        |raw| OrganizationName::parse(raw).map(|n| n.as_str().to_owned()),
    );
    let domain = errors.optional(
        "domain",
        &change.domain,
        current.and_then(|c| c.domain.clone()),
        web_domain,
    );
    let industry = errors.optional(
        "industry",
        &change.industry,
        current.and_then(|c| c.industry.clone()),
        text(80, true),
    );
    let size = errors.optional(
        "size",
        &change.size,
        current.and_then(|c| c.size.clone()),
        |raw| match COMPANY_SIZES.iter().find(|(key, _)| *key == raw.trim()) {
            Some((key, _)) => Ok((*key).to_owned()),
            None => {
                let keys: Vec<&str> = COMPANY_SIZES.iter().map(|(key, _)| *key).collect();
                Err(format!("must be one of {}", keys.join(", ")))
            }
        },
    );
    let address = errors.optional(
        "address",
        &change.address,
        current.and_then(|c| c.address.clone()),
        text(300, true),
    );
    let owner_id = owner_after(
        tx,
        tenant,
        actor,
        &mut errors,
        change.owner_id,
        current.map(|c| c.owner_id),
    )
    .await?;
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

impl BuiltinKind for Company {
    type Change = CompanyChange;
    type Fields = NewCompany;
    const KIND: Kind = Kind::Company;
    const OBJECT: Object = Object::Company;

    builtin_record! {
        id: CompanyId,
        owner: owner_id,
        change: CompanyChange,
        check: check,
        diff: [name, domain, industry, size, address, owner_id],
    }

    fn named(&self) -> Json {
        json!({"name": self.name})
    }

    async fn insert(tx: &mut TenantTx, _actor: &Actor, fields: &NewCompany) -> Result<Self> {
        store_companies::insert(tx, fields).await
    }
    async fn update(tx: &mut TenantTx, current: &Self, fields: &NewCompany) -> Result<()> {
        store_companies::update(tx, current.id, fields).await
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
