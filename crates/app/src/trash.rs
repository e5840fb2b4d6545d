//! "Recently deleted": companies, contacts, leads, deals, custom objects and their records stay
//! restorable for 30 days, then the hourly maintenance removes them for good.

use chrono::{Duration, Utc};
use rapport_domain::{Action, Object, ObjectId, Ownership, RecordId, UserId};
use rapport_store::trash::{self as store_trash, Deleted};
use serde_json::json;

use crate::audit::{entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// How long deleted records can be restored.
pub const KEEP_DAYS: i64 = 30;

fn object(record_type: &str) -> Option<Object> {
    match record_type {
        "company" => Some(Object::Company),
        "contact" => Some(Object::Contact),
        "lead" => Some(Object::Lead),
        "deal" => Some(Object::Deal),
        _ => None,
    }
}

impl App {
    /// What was deleted in the last 30 days, newest first.
    pub async fn recently_deleted(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Deleted>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Contact,
            Ownership::NotApplicable,
        )
        .await?;
        let since = Utc::now() - Duration::days(KEEP_DAYS);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let mut items = store_trash::list(&mut tx, since, 500).await?;
        tx.commit().await?;
        // Only what the role may see, of the records in its reach: deleted objects
        // (definitions) are every member's to see.
        items.retain(|d| {
            d.record_type == "object"
                || tenant.sees(
                    d.about.as_deref().unwrap_or(&d.record_type),
                    tenant.relation(actor, UserId(d.owner_id)),
                )
        });
        Ok(items)
    }

    /// Brings a deleted record back (whoever may delete it may restore it).
    pub async fn restore(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record_type: &str,
        id: uuid::Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let Some(object) = object(record_type) else {
            return match record_type {
                "object" => self.restore_object(actor, tenant, ObjectId(id), meta).await,
                "file" => self.restore_file(actor, tenant, id, meta).await,
                custom => self
                    .restore_record(actor, tenant, custom, RecordId(id), meta)
                    .await
                    .map(|_| ()),
            };
        };
        let since = Utc::now() - Duration::days(KEEP_DAYS);
        let found = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let found = store_trash::find(&mut tx, record_type, id, since).await?;
            tx.commit().await?;
            found.ok_or(AppError::NotFound)?
        };
        let relation = tenant.relation(actor, UserId(found.owner_id));
        if !tenant.sees(record_type, relation) {
            return Err(AppError::NotFound);
        }
        self.authorize(actor, tenant, meta, Action::Delete, object, relation)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if !store_trash::restore(&mut tx, record_type, id).await? {
            return Err(AppError::NotFound);
        }
        if let Some(kind) = crate::custom_values::Kind::of_key(record_type) {
            self.index_restored(&mut tx, tenant, kind, id).await?;
        }
        let mut e = with_target(
            entry(Some(actor), meta, &format!("{record_type}.restored")),
            record_type,
            id,
        );
        e.changes = Some(json!({"name": found.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes for good what was deleted more than 30 days ago (maintenance).
    pub async fn purge_deleted_records(&self) -> AppResult<u64> {
        let mut tx = self.db.platform().await?;
        let n = store_trash::purge_before(&mut tx, Utc::now() - Duration::days(KEEP_DAYS)).await?;
        tx.commit().await?;
        // Then the files deleted as long ago, those of the records just removed, and their
        // objects in the file store.
        Ok(n + self.purge_files().await?)
    }
}
