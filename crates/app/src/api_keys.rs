//! API keys: organization-scoped credentials with a role, for integrations. The secret is shown
//! once, at creation; only its keyed hash is stored.

use chrono::{DateTime, TimeDelta, Utc};
use rapport_domain::{Action, ApiKeyId, Object, Ownership, Role};
use rapport_store::api_keys::{self as store_keys, ApiKey, NewApiKey};
use rapport_store::{audit as store_audit, now, users};
use serde_json::json;

use crate::audit::{entry, with_target};
use crate::crypto::random_token;
use crate::{Actor, ApiKeyPrincipal, App, AppError, AppResult, RequestMeta, Tenant};

/// Every key starts with this, so a leaked one is easy to recognise (and to scan for).
pub const KEY_PREFIX: &str = "rpk_";
/// A key's last use is written at most this often.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);

/// A key as listed: what it acts with now.
pub struct ListedKey {
    pub key: ApiKey,
    /// The lesser of the key's role and its creator's current role; `None` when the creator has
    /// left the organization, which stops the key.
    pub effective_role: Option<Role>,
    /// Who created it.
    pub creator_name: Option<String>,
}

/// A key just created, with its secret.
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

impl App {
    /// Creates a key (owner/admin). Only owners create owner keys.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        name: &str,
        role: &str,
        expires_at: Option<DateTime<Utc>>,
        meta: &RequestMeta,
    ) -> AppResult<CreatedKey> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::ApiKey,
            Ownership::NotApplicable,
        )
        .await?;
        let mut read = self.db.tenant_read(tenant.id()).await?;
        let choice = crate::roles::choose_role(&mut read, role.trim(), "role").await?;
        read.commit().await?;
        let role = choice.level;
        if !tenant.role.may_grant(role) {
            self.record_denial(actor, tenant, meta, Action::Create, Object::ApiKey)
                .await;
            return Err(AppError::Forbidden);
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::invalid(
                "name",
                "must be between 1 and 80 characters",
            ));
        }
        if expires_at.is_some_and(|at| at <= now()) {
            return Err(AppError::invalid("expires_at", "must be in the future"));
        }
        let secret = format!("{KEY_PREFIX}{}", random_token());
        let prefix: String = secret.chars().take(KEY_PREFIX.len() + 6).collect();
        let mut tx = self.db.tenant(tenant.id()).await?;
        let key = store_keys::insert(
            &mut tx,
            NewApiKey {
                name,
                role,
                role_id: choice.custom,
                prefix: &prefix,
                key_hash: self.keys.hash_token(&secret),
                created_by: actor.user_id,
                expires_at,
            },
        )
        .await?;
        let mut e = with_target(
            entry(Some(actor), meta, "api_key.created"),
            "api_key",
            key.id,
        );
        e.changes = Some(json!({"name": key.name, "role": {"before": null, "after": role}}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(CreatedKey { key, secret })
    }

    pub async fn list_api_keys(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<ListedKey>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::ApiKey,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let keys = store_keys::list_with_creator_role(&mut tx).await?;
        tx.commit().await?;
        Ok(keys
            .into_iter()
            .map(|listed| {
                let creator_role = listed.creator_role.and_then(|r| r.parse::<Role>().ok());
                ListedKey {
                    effective_role: creator_role.map(|cap| listed.key.role.at_most(cap)),
                    creator_name: listed.creator_name,
                    key: listed.key,
                }
            })
            .collect())
    }

    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ApiKeyId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::ApiKey,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if store_keys::revoke(&mut tx, id).await? == 0 {
            return Err(AppError::NotFound);
        }
        store_audit::record(
            &mut tx,
            with_target(entry(Some(actor), meta, "api_key.revoked"), "api_key", id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The principal an API key speaks for: its creator, in the key's organization, with the
    /// lesser of the key's role and the creator's role there now — a key never does more than
    /// the person who made it could do today. Revoked and expired keys, and keys whose creator
    /// left, are refused.
    pub async fn authenticate_api_key(&self, secret: &str) -> AppResult<Actor> {
        const INVALID: AppError = AppError::Unauthenticated("invalid, expired or revoked API key");
        let at = now();
        let hash = self.keys.hash_token(secret);
        let live = |key: &ApiKey| key.revoked_at.is_none() && key.expires_at.is_none_or(|e| e > at);
        let found = match self.identity.key(&hash) {
            Some(cached) => cached,
            None => {
                let ticket = self.identity.ticket();
                let mut tx = self.db.platform_read().await?;
                let key = store_keys::find_by_hash(&mut tx, &hash)
                    .await?
                    .filter(live)
                    .ok_or(INVALID)?;
                let creator = users::find(&mut tx, key.created_by).await?.ok_or(INVALID)?;
                tx.commit().await?;
                // The key cannot outlive its creator's membership, nor exceed the creator's role.
                let creator_access =
                    rapport_store::roles::standing_now(&self.db, key.organization_id, creator.id)
                        .await?
                        .map(crate::roles::Access::from_standing)
                        .ok_or(INVALID)?;
                let own = rapport_store::roles::standing_of_role_now(
                    &self.db,
                    key.organization_id,
                    key.role,
                    key.role_id.map(rapport_domain::RoleId),
                )
                .await?;
                let own = crate::roles::Access::from_standing(own);
                let found = crate::identity::CachedKey {
                    key,
                    creator: Actor::from(&creator),
                    creator_access,
                    own,
                };
                self.identity.put_key(ticket, hash.clone(), &found);
                found
            }
        };
        if !live(&found.key) {
            return Err(INVALID);
        }
        if found
            .key
            .last_used_at
            .is_none_or(|last| at - last >= TOUCH_INTERVAL)
        {
            let mut tx = self.db.platform().await?;
            store_keys::touch(&mut tx, found.key.id, at).await?;
            tx.commit().await?;
            self.identity.key_used(&hash, at);
        }
        let mut actor = found.creator;
        actor.is_instance_admin = false;
        actor.api_key = Some(ApiKeyPrincipal {
            id: found.key.id,
            organization_id: found.key.organization_id,
            role: found.key.role.at_most(found.creator_access.role),
            access: crate::roles::Access {
                role: found.key.role.at_most(found.creator_access.role),
                // Capped by its creator's lesser level, it speaks as that level.
                key: if found.key.role.at_most(found.creator_access.role) == found.key.role {
                    found.own.key.clone()
                } else {
                    found.creator_access.role.as_str().to_owned()
                },
                grants: std::sync::Arc::new(found.own.grants.at_most(&found.creator_access.grants)),
                // It acts as its creator: their teams are its.
                teammates: found.creator_access.teammates.clone(),
            },
        });
        Ok(actor)
    }
}
