//! Contacts: the people the CRM keeps, with record ownership; a contact with deals stays until
//! they are deleted or relinked.

use rapport_domain::{Action, CompanyId, ContactId, Object, Ownership};
use rapport_store::TenantTx;
use rapport_store::companies::Company;
use rapport_store::contacts::{self as store_contacts, Contact, ContactFields};
use rapport_store::tables;

use crate::changes::Checked;
use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Which contacts, in which order, which page; and the page.
pub type ContactQuery = ListQuery<Contact>;
pub type ContactPage = ListPage<Contact>;

impl BuiltinKind for Contact {
    type Fields = ContactFields;
    const KIND: Kind = Kind::Contact;

    builtin_record! {
        id: ContactId,
        owner: owner_id,
        named: name,
        store: store_contacts,
        diff: [name, email, phone, title, company_id, owner_id],
    }

    async fn columns(
        _tx: &mut TenantTx,
        current: Option<&Self>,
        v: &mut Checked<'_>,
    ) -> AppResult<ContactFields> {
        Ok(ContactFields {
            owner_id: v.owner,
            company_id: v.link("company_id", current.and_then(|c| c.company_id)),
            name: v.required("name", current.map(|c| c.name.clone())),
            email: v.optional("email", current.and_then(|c| c.email.clone())),
            phone: v.optional("phone", current.and_then(|c| c.phone.clone())),
            title: v.optional("title", current.and_then(|c| c.title.clone())),
        })
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
