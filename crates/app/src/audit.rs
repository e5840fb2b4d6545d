//! Audit helpers: building entries, masking secrets, recording denials, reading the log.

use chrono::{DateTime, Utc};
use rapport_domain::{Action, AuditEntryId, Object, Ownership, UserId};
use rapport_store::audit::{Entry, Filter, NewEntry};
use serde_json::{Value, json};

use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Field names whose values never reach the log.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "password_hash",
    "token",
    "secret",
    "api_key",
    "refresh_token",
];

/// Masks a value if its field is secret.
pub fn mask(field: &str, value: Value) -> Value {
    if SECRET_FIELDS.iter().any(|s| field.contains(s)) && !value.is_null() {
        Value::String("***".into())
    } else {
        value
    }
}

/// `{"field": {"before": …, "after": …}}` for the fields that changed.
pub fn changes(fields: &[(&str, Value, Value)]) -> Option<Value> {
    let mut map = serde_json::Map::new();
    for (field, before, after) in fields {
        if before != after {
            map.insert(
                (*field).to_owned(),
                json!({"before": mask(field, before.clone()), "after": mask(field, after.clone())}),
            );
        }
    }
    if map.is_empty() {
        None
    } else {
        Some(Value::Object(map))
    }
}

/// [`changes`] of a built-in record's own fields and of its custom values.
pub fn changes_and(
    fields: &[(&str, Value, Value)],
    custom: Option<&crate::custom_values::CustomChange>,
) -> Option<Value> {
    let mut all: Vec<(&str, Value, Value)> = fields.to_vec();
    if let Some(c) = custom {
        all.extend(
            c.diff
                .iter()
                .map(|(k, b, a)| (k.as_str(), b.clone(), a.clone())),
        );
    }
    changes(&all)
}

/// An entry with the actor and request filled in.
pub fn entry(actor: Option<&Actor>, meta: &RequestMeta, action: &str) -> NewEntry {
    NewEntry {
        actor_id: actor.map(|a| a.user_id),
        actor_email: actor.map(|a| a.email.clone()),
        action: action.to_owned(),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        api_key_id: actor.and_then(|a| a.api_key.as_ref().map(|k| k.id)),
        ..NewEntry::default()
    }
}

pub fn with_target(mut entry: NewEntry, kind: &str, id: impl ToString) -> NewEntry {
    entry.target_type = Some(kind.to_owned());
    entry.target_id = Some(id.to_string());
    entry
}

/// The page of audit entries asked for.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, AuditEntryId)>,
    pub page: u64,
    pub page_size: u64,
}

pub struct AuditPage {
    pub items: Vec<Entry>,
    pub total: i64,
    pub total_is_exact: bool,
    pub has_more: bool,
}

/// Counting stops here; beyond it the total is reported as a lower bound.
const COUNT_CAP: i64 = 10_000;

impl App {
    /// Allows the action or answers 403, writing the denial to the organization's audit log
    /// (in a transaction of its own, so it survives the refused request).
    pub async fn authorize(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: Action,
        object: Object,
        ownership: Ownership,
    ) -> AppResult<()> {
        if tenant.may(action, object, ownership) {
            return Ok(());
        }
        self.record_denial(actor, tenant, meta, action, object)
            .await;
        Err(AppError::Forbidden)
    }

    /// [`App::authorize`] for a record kind the matrix names by key (a custom object's).
    pub async fn authorize_kind(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: rapport_domain::access::RecordAction,
        kind: &str,
        ownership: Ownership,
    ) -> AppResult<()> {
        if tenant.may_kind(action, kind, ownership) {
            return Ok(());
        }
        self.record_denial_of(actor, tenant, meta, action.as_str(), kind)
            .await;
        Err(AppError::Forbidden)
    }

    pub(crate) async fn record_denial(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: Action,
        object: Object,
    ) {
        self.record_denial_of(actor, tenant, meta, action.as_str(), object.as_str())
            .await;
    }

    /// Writes a refusal to the audit log: what was asked (`action`) of what (`target`).
    pub(crate) async fn record_denial_of(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: &str,
        target: &str,
    ) {
        let result = async {
            let mut tx = self.db.tenant(tenant.id()).await?;
            let mut e = entry(Some(actor), meta, "permission.denied");
            e.target_type = Some(target.to_owned());
            e.changes = Some(json!({"action": action, "role": tenant.access.key}));
            rapport_store::audit::record(&mut tx, e).await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::error!(%error, "could not record a permission denial in the audit log");
        }
    }

    /// The organization's audit log, newest first (owner/admin).
    pub async fn audit_log(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        q: AuditQuery,
    ) -> AppResult<AuditPage> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::AuditLog,
            Ownership::NotApplicable,
        )
        .await?;
        let mut filter = Filter {
            actor_id: q.actor_id,
            action: q.action,
            from: q.from,
            to: q.to,
            before: q.before,
            offset: if q.before.is_some() {
                0
            } else {
                (q.page.max(1) - 1) * q.page_size
            },
            limit: q.page_size + 1,
        };
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let mut items = rapport_store::audit::list(&mut tx, &filter).await?;
        let has_more = items.len() as u64 > q.page_size;
        items.truncate(q.page_size as usize);
        filter.before = None;
        let (total, total_is_exact) =
            rapport_store::audit::count(&mut tx, &filter, COUNT_CAP).await?;
        // What an entry says of a field the reader's role hides is left out.
        let hidden = crate::fields::HiddenByKind::load(
            &mut tx,
            &tenant.access.grants,
            tenant.organization.created_at,
        )
        .await?;
        tx.commit().await?;
        if !hidden.is_empty() {
            for item in &mut items {
                if let (Some(kind), Some(changes)) = (&item.target_type, &mut item.changes) {
                    crate::fields::hide_changes(&mut changes.0, &hidden.of(kind));
                }
            }
        }
        Ok(AuditPage {
            items,
            total,
            total_is_exact,
            has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_unchanged_fields_left_out() {
        let c = changes(&[
            ("name", json!("Acme"), json!("Acme Boats")),
            ("slug", json!("acme"), json!("acme")),
            ("api_key", json!("sk-old"), json!("sk-new")),
        ])
        .expect("some changes");
        assert_eq!(c["name"]["after"], json!("Acme Boats"));
        assert!(c.get("slug").is_none());
        assert_eq!(c["api_key"]["before"], json!("***"));
        assert_eq!(c["api_key"]["after"], json!("***"));
        assert!(changes(&[("slug", json!("a"), json!("a"))]).is_none());
    }
}
