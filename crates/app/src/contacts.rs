//! Contacts: the people the CRM keeps, with record ownership; a contact with deals stays until
//! they are deleted or relinked.

use rapport_domain::ContactId;
use rapport_store::TenantTx;
use rapport_store::contacts::{self as store_contacts, Contact, ContactFields};

use crate::changes::Checked;
use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record};
use crate::{AppError, AppResult};

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

    /// A contact with deals stays: deleting it would orphan them. (How many is not said: some
    /// may be out of the member's reach.)
    async fn before_delete(&self, tx: &mut TenantTx) -> AppResult<()> {
        let deals = rapport_store::deals::count_for_contact(tx, self.id).await?;
        if deals > 0 {
            return Err(AppError::conflict(
                "contact_has_deals",
                "this contact still has deals; delete them or link them to another contact first",
            ));
        }
        Ok(())
    }
}
