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
        for object in rapport_store::objects::list(&mut tx).await? {
            if let Some(owners) = reach(&object.key) {
                searched.objects.push((object.id, owners));
            }
        }
        let hits = store_search::find(&mut tx, text, &searched, per_kind).await?;
        tx.commit().await?;
        Ok(hits)
    }
}
