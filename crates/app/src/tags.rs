//! Tags: per organization, with a colour from the design palette, on companies, contacts, leads
//! and deals.

use rapport_domain::{
    Action, CompanyId, ContactId, DealId, LeadId, Object, Ownership, TagId, UserId,
    ValidationErrors,
};
use rapport_store::tags::{self as store_tags, Tag};
use rapport_store::{TenantTx, audit as store_audit};
use serde_json::json;

use crate::audit::{entry, with_target};
use crate::timeline::RecordRef;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// The colours a tag may have; each reads well on light and dark backgrounds.
pub const COLORS: [&str; 10] = [
    "gray", "red", "orange", "amber", "green", "teal", "blue", "indigo", "purple", "pink",
];

/// A record that can carry tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taggable {
    Company(CompanyId),
    Contact(ContactId),
    Lead(LeadId),
    Deal(DealId),
    /// A record of a custom object.
    Record(rapport_domain::RecordId),
}

impl Taggable {
    pub fn kind(self) -> &'static str {
        match self {
            Taggable::Company(_) => "company",
            Taggable::Contact(_) => "contact",
            Taggable::Lead(_) => "lead",
            Taggable::Deal(_) => "deal",
            Taggable::Record(_) => "record",
        }
    }

    pub fn id(self) -> uuid::Uuid {
        match self {
            Taggable::Company(id) => id.as_uuid(),
            Taggable::Contact(id) => id.as_uuid(),
            Taggable::Lead(id) => id.as_uuid(),
            Taggable::Deal(id) => id.as_uuid(),
            Taggable::Record(id) => id.as_uuid(),
        }
    }

    /// The record's kind (a custom record's object key) and owner, when it exists in this
    /// organization.
    async fn owner(self, tx: &mut TenantTx) -> AppResult<Option<(String, UserId)>> {
        let record = match self {
            Taggable::Company(id) => RecordRef::Company(id),
            Taggable::Contact(id) => RecordRef::Contact(id),
            Taggable::Lead(id) => RecordRef::Lead(id),
            Taggable::Deal(id) => RecordRef::Deal(id),
            Taggable::Record(id) => RecordRef::Record(id),
        };
        record.kind_and_owner(tx).await
    }
}

fn checked(name: &str, color: &str) -> AppResult<(String, String)> {
    let mut errors = ValidationErrors::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        errors.add("name", "must be 1 to 40 characters");
    }
    if name.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
    }
    let color = color.trim().to_lowercase();
    if !COLORS.contains(&color.as_str()) {
        errors.add("color", format!("must be one of {}", COLORS.join(", ")));
    }
    errors.into_result()?;
    Ok((name.to_owned(), color))
}

impl App {
    pub async fn tags(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Tag>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Tag,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let tags = store_tags::list(&mut tx).await?;
        tx.commit().await?;
        Ok(tags)
    }

    /// Creates a tag; a name already used (ignoring case) is 409 `tag_exists`.
    pub async fn create_tag(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        name: &str,
        color: &str,
        meta: &RequestMeta,
    ) -> AppResult<Tag> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Tag,
            Ownership::NotApplicable,
        )
        .await?;
        let (name, color) = checked(name, color)?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if store_tags::find_by_name(&mut tx, &name).await?.is_some() {
            return Err(AppError::conflict(
                "tag_exists",
                format!("a tag named {name} already exists"),
            ));
        }
        let tag = match store_tags::insert(&mut tx, &name, &color).await {
            Err(rapport_store::Error::Conflict { .. }) => {
                return Err(AppError::conflict(
                    "tag_exists",
                    format!("a tag named {name} already exists"),
                ));
            }
            other => other?,
        };
        let mut e = with_target(entry(Some(actor), meta, "tag.created"), "tag", tag.id);
        e.changes = Some(json!({"name": tag.name, "color": tag.color}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(tag)
    }

    pub async fn update_tag(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TagId,
        name: Option<&str>,
        color: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<Tag> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Tag,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_tags::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (name, color) = checked(
            name.unwrap_or(&current.name),
            color.unwrap_or(&current.color),
        )?;
        if let Some(other) = store_tags::find_by_name(&mut tx, &name).await?
            && other.id != id
        {
            return Err(AppError::conflict(
                "tag_exists",
                format!("a tag named {name} already exists"),
            ));
        }
        store_tags::update(&mut tx, id, &name, &color).await?;
        let mut e = with_target(entry(Some(actor), meta, "tag.updated"), "tag", id);
        e.changes = crate::audit::changes(&[
            ("name", json!(current.name), json!(name)),
            ("color", json!(current.color), json!(color)),
        ]);
        store_audit::record(&mut tx, e).await?;
        let tag = store_tags::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(tag)
    }

    pub async fn delete_tag(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TagId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::Tag,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_tags::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_tags::delete(&mut tx, id).await?;
        let mut e = with_target(entry(Some(actor), meta, "tag.deleted"), "tag", id);
        e.changes = Some(json!({"name": current.name}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a record's tags (whoever may edit the record). Unknown tags are a 422.
    pub async fn set_tags(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: Taggable,
        tag_ids: &[TagId],
        meta: &RequestMeta,
    ) -> AppResult<Vec<Tag>> {
        let (kind, owner) = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let owner = record.owner(&mut tx).await?;
            tx.commit().await?;
            owner.ok_or(AppError::NotFound)?
        };
        // A record out of the actor's reach is not there for them; its own kind's row decides.
        let relation = tenant.relation(actor, owner);
        if !tenant.sees(&kind, relation) {
            return Err(AppError::NotFound);
        }
        self.authorize_kind(actor, tenant, meta, Action::Edit.into(), &kind, relation)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if record.owner(&mut tx).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let mut ids: Vec<TagId> = tag_ids.to_vec();
        ids.sort_by_key(|t| t.as_uuid());
        ids.dedup();
        for id in &ids {
            if store_tags::find(&mut tx, *id).await?.is_none() {
                return Err(AppError::invalid(
                    "tag_ids",
                    "must name tags of this organization",
                ));
            }
        }
        store_tags::set_for(&mut tx, record.kind(), record.id(), &ids).await?;
        let tags = store_tags::of_records(&mut tx, record.kind(), &[record.id()])
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>();
        let mut e = with_target(
            entry(Some(actor), meta, &format!("{}.tagged", record.kind())),
            record.kind(),
            record.id(),
        );
        e.changes = Some(json!({"tags": tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>()}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(tags)
    }

    /// The tags of some records of one kind (for lists and pages).
    pub async fn tags_of(
        &self,
        tenant: &Tenant,
        record_type: &str,
        ids: &[uuid::Uuid],
    ) -> AppResult<Vec<(uuid::Uuid, Tag)>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let tags = store_tags::of_records(&mut tx, record_type, ids).await?;
        tx.commit().await?;
        Ok(tags)
    }
}
