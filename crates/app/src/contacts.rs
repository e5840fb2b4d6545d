//! Contacts: the people the CRM keeps, with record ownership; a contact with deals stays until
//! they are deleted or relinked.

use rapport_domain::validation::text;
use rapport_domain::{Action, CompanyId, ContactId, Object, Ownership, UserId, ValidationErrors};
use rapport_store::companies::Company;
use rapport_store::contacts::{self as store_contacts, Contact, ContactFields};
use rapport_store::tables;
use rapport_store::{Result, TenantTx};
use serde_json::{Value as Json, json};

use crate::custom_values::Kind;
use crate::kinds::{
    BuiltinKind, ListPage, ListQuery, PersonChange, builtin_record, link_after, owner_after,
    person_fields,
};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// A change to a contact. For `Option<Option<_>>` fields, `None` leaves the value as it is and
/// `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct ContactChange {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub company_id: Option<Option<CompanyId>>,
    pub owner_id: Option<UserId>,
    /// Custom field values (`null` clears one; those not given stay).
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Which contacts, in which order, which page; and the page.
pub type ContactQuery = ListQuery<Contact>;
pub type ContactPage = ListPage<Contact>;

/// Checks the fields of a contact about to be written; the company and owner must belong to this
/// organization (a record of another organization is "not found", never linked).
async fn check(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    current: Option<&Contact>,
    change: &ContactChange,
) -> AppResult<ContactFields> {
    let mut errors = ValidationErrors::new();
    let (name, email, phone) = person_fields(
        &mut errors,
        PersonChange {
            name: change.name.as_deref(),
            email: &change.email,
            phone: &change.phone,
        },
        current.map(|c| (c.name.as_str(), c.email.as_deref(), c.phone.as_deref())),
    );
    let title = errors.optional(
        "title",
        &change.title,
        current.and_then(|c| c.title.clone()),
        text(120, true),
    );
    let company_id = link_after::<Company>(
        tx,
        &mut errors,
        "company_id",
        change.company_id,
        current.and_then(|c| c.company_id),
    )
    .await?;
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
    Ok(ContactFields {
        owner_id,
        company_id,
        name,
        email,
        phone,
        title,
    })
}

impl BuiltinKind for Contact {
    type Change = ContactChange;
    type Fields = ContactFields;
    const KIND: Kind = Kind::Contact;
    const OBJECT: Object = Object::Contact;

    builtin_record! {
        id: ContactId,
        owner: owner_id,
        change: ContactChange,
        check: check,
        diff: [name, email, phone, title, company_id, owner_id],
    }

    fn named(&self) -> Json {
        json!({"name": self.name})
    }

    /// A contact with deals stays: deleting it would orphan them.
    async fn before_delete(&self, tx: &mut TenantTx) -> AppResult<()> {
        let deals = rapport_store::deals::count_for_contact(tx, self.id).await?;
        if deals > 0 {
            return Err(AppError::conflict(
                "contact_has_deals",
                format!(
                    "this contact still has {deals} deal{}; delete or relink them first",
                    if deals == 1 { "" } else { "s" }
                ),
            ));
        }
        Ok(())
    }

    async fn insert(tx: &mut TenantTx, _actor: &Actor, fields: &ContactFields) -> Result<Self> {
        store_contacts::insert(tx, fields).await
    }
    async fn update(tx: &mut TenantTx, current: &Self, fields: &ContactFields) -> Result<()> {
        store_contacts::update(tx, current.id, fields).await
    }
}

impl App {
    /// Contacts to pick from in a form (the first 500 by name, and the one already chosen).
    pub async fn contact_choices(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        selected: Option<ContactId>,
        meta: &RequestMeta,
    ) -> AppResult<Vec<(ContactId, String)>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Contact,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let rows = tables::choices::<Contact>(&mut tx, 500, selected).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Companies to pick from in a form (the first 500 by name, and the one already chosen).
    pub async fn company_choices(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        selected: Option<CompanyId>,
        meta: &RequestMeta,
    ) -> AppResult<Vec<(CompanyId, String)>> {
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
        let rows = tables::choices::<Company>(&mut tx, 500, selected).await?;
        tx.commit().await?;
        Ok(rows)
    }
}
