//! Companies (accounts): the organizations the CRM's contacts and deals belong to.

use rapport_domain::CompanyId;
use rapport_domain::contact::web_domain;
use rapport_store::TenantTx;
use rapport_store::companies::{self as store_companies, Company, NewCompany};
use serde_json::Value as Json;

use crate::changes::Checked;
use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record};
use crate::{App, AppResult, Tenant};

/// A page of the companies list asked for, and the page.
pub type CompanyQuery = ListQuery<Company>;
pub type CompanyPage = ListPage<Company>;

impl BuiltinKind for Company {
    type Fields = NewCompany;
    const KIND: Kind = Kind::Company;

    builtin_record! {
        id: CompanyId,
        owner: owner_id,
        named: name,
        store: store_companies,
        diff: [name, domain, industry, size, address, owner_id],
    }

    /// A pasted web address keeps only its domain (`https://www.acme.com/about` → `acme.com`),
    /// however long the address.
    const OWN_INPUTS: &'static [&'static str] = &["domain"];

    async fn columns(
        _tx: &mut TenantTx,
        current: Option<&Self>,
        v: &mut Checked<'_>,
    ) -> AppResult<NewCompany> {
        let domain = match v.inputs.get("domain") {
            None => current.and_then(|c| c.domain.clone()),
            Some(Json::Null) => None,
            Some(Json::String(d)) if d.trim().is_empty() => None,
            Some(given) => {
                let parsed = given
                    .as_str()
                    .ok_or("must be a web domain such as acme.com");
                v.errors.check("domain", parsed.and_then(web_domain))
            }
        };
        Ok(NewCompany {
            owner_id: v.owner,
            name: v.required("name", current.map(|c| c.name.clone())),
            domain,
            industry: v.optional("industry", current.and_then(|c| c.industry.clone())),
            size: v.optional("size", current.and_then(|c| c.size.clone())),
            address: v.optional("address", current.and_then(|c| c.address.clone())),
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
