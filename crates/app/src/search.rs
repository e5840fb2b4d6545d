//! Global search: companies, contacts, leads, deals and custom objects' records matching a few
//! letters, within the organization, for the command palette. A custom record's hit names its
//! object's key as its kind and the object's singular name as its detail.

use rapport_domain::access::{Reach, RecordAction};
use rapport_store::search::{self as store_search, Hit, Searched};

use crate::{Actor, App, AppResult, Tenant};

impl App {
    /// Up to `per_kind` matches of each kind the actor may read, among the records in their
    /// reach.
    pub async fn search(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        text: &str,
        per_kind: i64,
    ) -> AppResult<Vec<Hit>> {
        let text = text.trim();
        if text.chars().count() < 2 {
            return Ok(Vec::new());
        }
        let reach = |kind: &str| match tenant.reach(actor, RecordAction::View, kind) {
            Reach::All => Some(None),
            Reach::Owners(owners) if owners.is_empty() => None,
            Reach::Owners(owners) => Some(Some(owners)),
        };
        let mut searched = Searched::default();
        for kind in ["company", "contact", "lead", "deal"] {
            if let Some(owners) = reach(kind) {
                searched.kinds.push((kind, owners));
            }
        }
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        // An object with a searchable field hidden from the role is searched by title only.
        let hidden = crate::fields::HiddenByKind::load(
            &mut tx,
            &tenant.access.grants,
            tenant.organization.created_at,
        )
        .await?;
        let hides_searchable = |key: &str| {
            let keys = hidden.of(key);
            hidden.catalog().and_then(|c| c.get(key)).is_some_and(|o| {
                o.def.fields.iter().any(|f| {
                    f.field_type.is_searchable() && keys.iter().any(|k| k == f.key.as_str())
                })
            })
        };
        for object in rapport_store::objects::list(&mut tx).await? {
            if let Some(owners) = reach(&object.key) {
                if hides_searchable(&object.key) {
                    searched.titled.push((object.id, owners));
                } else {
                    searched.objects.push((object.id, owners));
                }
            }
        }
        let hits = store_search::find(&mut tx, text, &searched, per_kind).await?;
        tx.commit().await?;
        Ok(hits)
    }
}
