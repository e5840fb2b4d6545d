//! Global search: companies, contacts, leads, deals and custom objects' records matching a few
//! letters, within the organization, for the command palette. A custom record's hit names its
//! object's key as its kind and the object's singular name as its detail.

use rapport_domain::{Action, Object, Ownership};
use rapport_store::search::{self as store_search, Hit};

use crate::{Actor, App, AppResult, Tenant};

impl App {
    /// Up to `per_kind` matches of each kind the actor may read.
    pub async fn search(
        &self,
        _actor: &Actor,
        tenant: &Tenant,
        text: &str,
        per_kind: i64,
    ) -> AppResult<Vec<Hit>> {
        let text = text.trim();
        if text.chars().count() < 2 {
            return Ok(Vec::new());
        }
        let may = |o| tenant.may(Action::View, o, Ownership::NotApplicable);
        let mut kinds = Vec::new();
        for (kind, object) in [
            ("company", Object::Company),
            ("contact", Object::Contact),
            ("lead", Object::Lead),
            ("deal", Object::Deal),
            ("record", Object::Record),
        ] {
            if may(object) {
                kinds.push(kind);
            }
        }
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let hits = store_search::find(&mut tx, text, &kinds, per_kind).await?;
        tx.commit().await?;
        Ok(hits)
    }
}
