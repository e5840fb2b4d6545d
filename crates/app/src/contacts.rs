//! Contacts and companies: the first CRM records, with record ownership.

use rapport_domain::account::{Email, PersonName};
use rapport_domain::contact::{optional_text, phone};
use rapport_domain::{
    Action, CompanyId, ContactId, Object, Ownership, Role, UserId, ValidationErrors,
};
use rapport_store::companies as store_companies;
use rapport_store::contacts::{
    self as store_contacts, Contact, ContactFields, ContactFilter, ContactSort, SortValue,
};
use rapport_store::tags::Tag;
use rapport_store::{TenantTx, memberships};
use serde_json::json;

use crate::audit::{changes_and, entry, with_target};
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

/// Which contacts, in which order, which page.
#[derive(Clone, Debug)]
pub struct ContactQuery {
    /// Whether the page comes with the total (an export, reading every page, needs none).
    pub with_total: bool,
    pub search: Option<String>,
    pub owner_id: Option<UserId>,
    pub company_id: Option<CompanyId>,
    pub tag_id: Option<rapport_domain::TagId>,
    pub sort: ContactSort,
    pub descending: bool,
    pub after: Option<(SortValue, ContactId)>,
    pub page: u64,
    pub page_size: u64,
}

pub struct ContactPage {
    pub items: Vec<Contact>,
    /// The tags of the page's contacts, as (contact id, tag) pairs.
    pub tags: Vec<(uuid::Uuid, Tag)>,
    pub total: i64,
    pub total_is_exact: bool,
    /// The position to continue from, when there is a next page.
    pub next: Option<(SortValue, ContactId)>,
}

/// Counting stops here on big lists; the total is then a lower bound.
const COUNT_CAP: i64 = 10_000;

fn ownership(actor: &Actor, owner: UserId) -> Ownership {
    if actor.user_id == owner {
        Ownership::Own
    } else {
        Ownership::Others
    }
}

impl App {
    /// Checks the fields of a contact about to be written; the company and owner must belong to
    /// this organization (a record of another organization is "not found", never linked).
    async fn validate_contact(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        current: Option<&Contact>,
        change: &ContactChange,
    ) -> AppResult<ContactFields> {
        let mut errors = ValidationErrors::new();
        let name = match (&change.name, current) {
            (Some(raw), _) => errors
                .check("name", PersonName::parse(raw))
                .map(|n| n.as_str().to_owned()),
            (None, Some(c)) => Some(c.name.clone()),
            (None, None) => {
                errors.add("name", "is required");
                None
            }
        };
        let email = match &change.email {
            Some(Some(raw)) if !raw.trim().is_empty() => errors
                .check("email", Email::parse(raw))
                .map(|e| e.as_str().to_owned()),
            Some(_) => None,
            None => current.and_then(|c| c.email.clone()),
        };
        let phone = match &change.phone {
            Some(Some(raw)) if !raw.trim().is_empty() => errors.check("phone", phone(raw)),
            Some(_) => None,
            None => current.and_then(|c| c.phone.clone()),
        };
        let title = match &change.title {
            Some(raw) => optional_text(&mut errors, "title", raw.as_deref(), 120),
            None => current.and_then(|c| c.title.clone()),
        };
        let company_id = match change.company_id {
            Some(Some(id)) => {
                if store_companies::find(tx, id).await?.is_none() {
                    errors.add("company_id", "no such company in this organization");
                }
                Some(id)
            }
            Some(None) => None,
            None => current.and_then(|c| c.company_id.map(CompanyId)),
        };
        let owner_id = change
            .owner_id
            .or(current.map(|c| c.owner_id))
            .unwrap_or(actor.user_id);
        if change
            .owner_id
            .is_some_and(|o| Some(o) != current.map(|c| c.owner_id))
        {
            if memberships::find_by_user(tx, owner_id).await?.is_none() {
                errors.add("owner_id", "must be a member of this organization");
            } else if tenant.role == Role::Member && owner_id != actor.user_id {
                errors.add("owner_id", "members may only own records themselves");
            }
        }
        errors.into_result()?;
        Ok(ContactFields {
            owner_id,
            company_id,
            name: name.unwrap_or_default(),
            email,
            phone,
            title,
        })
    }

    pub async fn create_contact(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        change: ContactChange,
        meta: &RequestMeta,
    ) -> AppResult<Contact> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Contact,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = self
            .validate_contact(&mut tx, actor, tenant, None, &change)
            .await?;
        let mut contact = store_contacts::insert(&mut tx, &fields).await?;
        if let Some(c) = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Contact,
                    id: contact.id.as_uuid(),
                    custom: &contact.custom.0,
                },
                change.custom.as_ref(),
                true,
            )
            .await?
        {
            contact.custom.0 = serde_json::Value::Object(c.document);
        }
        let mut e = with_target(
            entry(Some(actor), meta, "contact.created"),
            "contact",
            contact.id,
        );
        e.changes = Some(json!({"name": contact.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(contact)
    }

    pub async fn contact(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ContactId,
        meta: &RequestMeta,
    ) -> AppResult<Contact> {
        Ok(self.contact_with_tags(actor, tenant, id, meta).await?.0)
    }

    /// One contact and its tags, read together.
    pub async fn contact_with_tags(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ContactId,
        meta: &RequestMeta,
    ) -> AppResult<(Contact, Vec<Tag>)> {
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
        let found = store_contacts::find_with_tags(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(found)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ContactId,
        change: ContactChange,
        meta: &RequestMeta,
    ) -> AppResult<Contact> {
        let before = self.contact(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Contact,
            ownership(actor, before.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_contacts::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = self
            .validate_contact(&mut tx, actor, tenant, Some(&current), &change)
            .await?;
        store_contacts::update(&mut tx, id, &fields).await?;
        let custom = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Contact,
                    id: id.as_uuid(),
                    custom: &current.custom.0,
                },
                change.custom.as_ref(),
                false,
            )
            .await?;
        let after = store_contacts::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(diff) = changes_and(
            &[
                ("name", json!(current.name), json!(after.name)),
                ("email", json!(current.email), json!(after.email)),
                ("phone", json!(current.phone), json!(after.phone)),
                ("title", json!(current.title), json!(after.title)),
                (
                    "company_id",
                    json!(current.company_id),
                    json!(after.company_id),
                ),
                ("owner_id", json!(current.owner_id), json!(after.owner_id)),
            ],
            custom.as_ref(),
        ) {
            let mut e = with_target(entry(Some(actor), meta, "contact.updated"), "contact", id);
            e.changes = Some(diff);
            crate::events::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Moves a contact to "recently deleted".
    pub async fn delete_contact(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ContactId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let before = self.contact(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::Contact,
            ownership(actor, before.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let deals = rapport_store::deals::count_for_contact(&mut tx, id).await?;
        if deals > 0 {
            return Err(AppError::conflict(
                "contact_has_deals",
                format!(
                    "this contact still has {deals} deal{}; delete or relink them first",
                    if deals == 1 { "" } else { "s" }
                ),
            ));
        }
        if !store_contacts::soft_delete(&mut tx, id).await? {
            return Err(AppError::NotFound);
        }
        let mut e = with_target(entry(Some(actor), meta, "contact.deleted"), "contact", id);
        e.changes = Some(json!({"name": before.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_contacts(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        q: ContactQuery,
        meta: &RequestMeta,
    ) -> AppResult<ContactPage> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Contact,
            Ownership::NotApplicable,
        )
        .await?;
        let mut filter = ContactFilter {
            search: q.search,
            owner_id: q.owner_id,
            company_id: q.company_id,
            tag_id: q.tag_id,
            sort: q.sort,
            descending: q.descending,
            offset: crate::paging::offset(q.after.is_some(), q.page, q.page_size),
            after: q.after,
            limit: q.page_size,
        };
        let cap = q.with_total.then_some(COUNT_CAP);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let strategy = store_contacts::search_strategy(&mut tx, &filter).await?;
        let (mut items, counted) = store_contacts::list(&mut tx, &filter, strategy, cap).await?;
        let has_more = crate::paging::cut(&mut items, q.page_size);
        let (total, total_is_exact) = match counted {
            Some(counted) => counted,
            None if !q.with_total => (0, false),
            // An empty page past the end of the list: count on its own.
            None => {
                filter.after = None;
                store_contacts::count(&mut tx, &filter, strategy, COUNT_CAP).await?
            }
        };
        let ids: Vec<uuid::Uuid> = items.iter().map(|c| c.id.as_uuid()).collect();
        let tags = rapport_store::tags::of_records(&mut tx, "contact", &ids).await?;
        tx.commit().await?;
        let next = if has_more {
            items.last().map(|c| {
                let value = match q.sort {
                    ContactSort::Name => SortValue::Text(c.name.clone()),
                    ContactSort::CreatedAt => SortValue::Time(c.created_at),
                    ContactSort::UpdatedAt => SortValue::Time(c.updated_at),
                };
                (value, c.id)
            })
        } else {
            None
        };
        Ok(ContactPage {
            items,
            tags,
            total,
            total_is_exact,
            next,
        })
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
        let rows = store_contacts::choices(&mut tx, 500, selected).await?;
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
        let rows = store_companies::choices(&mut tx, 500, selected).await?;
        tx.commit().await?;
        Ok(rows)
    }
}
