//! Instance administration: running the platform. Being an instance administrator grants no
//! access to any organization's records; these use cases only touch organizations as tenants.

use chrono::{DateTime, TimeDelta, Utc};
use rapport_domain::organization::OrganizationStatus;
use rapport_domain::{OrganizationId, Role, UserId};
use rapport_store::email_outbox::StoredEmail;
use rapport_store::memberships::UserOrganization;
use rapport_store::organizations::{self as store_orgs, Organization, OrganizationFilter};
use rapport_store::users::{self, User};
use rapport_store::{audit as store_audit, memberships, now};
use serde_json::json;

use crate::audit::{entry, with_target};
use crate::organizations::NewOrganizationInput;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// A page of organizations for the instance administrators.
#[derive(Clone, Debug, Default)]
pub struct OrganizationQuery {
    pub search: Option<String>,
    pub status: Option<OrganizationStatus>,
    pub include_deleted: bool,
    pub after: Option<(DateTime<Utc>, OrganizationId)>,
    pub page: u64,
    pub page_size: u64,
}

pub(crate) fn require_instance_admin(actor: &Actor) -> AppResult<()> {
    if actor.is_instance_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

impl App {
    /// Organizations, oldest first; returns one more than asked so callers know there is more.
    pub async fn admin_list_organizations(
        &self,
        actor: &Actor,
        q: OrganizationQuery,
    ) -> AppResult<Vec<Organization>> {
        require_instance_admin(actor)?;
        let mut tx = self.db.platform_read().await?;
        let list = store_orgs::list(
            &mut tx,
            &OrganizationFilter {
                search: q.search.filter(|s| !s.trim().is_empty()),
                status: q.status,
                include_deleted: q.include_deleted,
                after: q.after,
                offset: if q.after.is_some() {
                    0
                } else {
                    (q.page.max(1) - 1) * q.page_size
                },
                limit: q.page_size + 1,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn admin_organization(
        &self,
        actor: &Actor,
        id: OrganizationId,
    ) -> AppResult<Organization> {
        require_instance_admin(actor)?;
        let mut tx = self.db.platform_read().await?;
        let org = store_orgs::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(org)
    }

    /// Creates an organization owned by an existing user (by email).
    pub async fn admin_create_organization(
        &self,
        actor: &Actor,
        input: NewOrganizationInput,
        owner_email: &str,
        meta: &RequestMeta,
    ) -> AppResult<UserOrganization> {
        require_instance_admin(actor)?;
        self.create_organization_for(input, owner_email, Some(actor), meta)
            .await
    }

    /// Creates an organization for the owner named by email (also used by the command line,
    /// where nobody is signed in).
    pub async fn create_organization_for(
        &self,
        input: NewOrganizationInput,
        owner_email: &str,
        by: Option<&Actor>,
        meta: &RequestMeta,
    ) -> AppResult<UserOrganization> {
        let mut tx = self.db.platform().await?;
        let owner = users::find_by_email(&mut tx, &owner_email.trim().to_lowercase())
            .await?
            .ok_or_else(|| AppError::invalid("owner_email", "no account has this email"))?;
        let owner = Actor::from(&owner);
        let (org, tx) = self
            .create_organization_in(tx, &owner, meta, &input.name.clone(), Some(&input))
            .await?;
        let mut tx = tx.into_tenant(org.id).await?;
        if let Some(by) = by {
            let e = with_target(
                entry(Some(by), meta, "admin.organization_created"),
                "organization",
                org.id,
            );
            store_audit::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(org)
    }

    async fn set_lifecycle(
        &self,
        actor: &Actor,
        id: OrganizationId,
        action: &str,
        meta: &RequestMeta,
        change: impl AsyncFnOnce(&mut rapport_store::Tx) -> rapport_store::Result<()>,
    ) -> AppResult<Organization> {
        require_instance_admin(actor)?;
        let mut tx = self.db.platform().await?;
        let before = store_orgs::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        change(&mut tx).await?;
        let after = store_orgs::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut e = with_target(entry(Some(actor), meta, action), "organization", id);
        e.changes = crate::audit::changes(&[
            ("status", json!(before.status), json!(after.status)),
            (
                "deleted_at",
                json!(before.deleted_at),
                json!(after.deleted_at),
            ),
        ]);
        store_audit::record_platform(&mut tx, Some(id), e).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn admin_suspend_organization(
        &self,
        actor: &Actor,
        id: OrganizationId,
        meta: &RequestMeta,
    ) -> AppResult<Organization> {
        self.set_lifecycle(
            actor,
            id,
            "admin.organization_suspended",
            meta,
            async |tx| store_orgs::set_status(tx, id, OrganizationStatus::Suspended).await,
        )
        .await
    }

    /// Reactivates a suspended organization, or brings a deleted one back before it is purged.
    pub async fn admin_restore_organization(
        &self,
        actor: &Actor,
        id: OrganizationId,
        meta: &RequestMeta,
    ) -> AppResult<Organization> {
        self.set_lifecycle(actor, id, "admin.organization_restored", meta, async |tx| {
            store_orgs::restore(tx, id).await
        })
        .await
    }

    /// Soft-deletes an organization; it is purged after the grace period.
    pub async fn admin_delete_organization(
        &self,
        actor: &Actor,
        id: OrganizationId,
        meta: &RequestMeta,
    ) -> AppResult<Organization> {
        let grace = TimeDelta::from_std(self.config.organization_purge_after)
            .unwrap_or(TimeDelta::days(30));
        self.set_lifecycle(actor, id, "admin.organization_deleted", meta, async |tx| {
            store_orgs::soft_delete(tx, id, now() + grace).await
        })
        .await
    }

    /// Purges organizations whose grace period is over. Run periodically by the server.
    pub async fn purge_deleted_organizations(&self) -> AppResult<Vec<OrganizationId>> {
        let mut tx = self.db.platform().await?;
        let purged = store_orgs::purge_expired(&mut tx, now()).await?;
        for id in &purged {
            let mut e = entry(None, &RequestMeta::default(), "admin.organization_purged");
            e.target_type = Some("organization".into());
            e.target_id = Some(id.to_string());
            store_audit::record_platform(&mut tx, None, e).await?;
        }
        let pruned =
            rapport_store::auth::prune_expired(&mut tx, now(), now() - TimeDelta::days(1)).await?;
        tx.commit().await?;
        if !purged.is_empty() || pruned > 0 {
            tracing::info!(
                organizations = purged.len(),
                credentials = pruned,
                "purged expired data"
            );
        }
        Ok(purged)
    }

    /// The development outbox (instance administrators).
    pub async fn admin_outbox(
        &self,
        actor: &Actor,
        to: Option<&str>,
        limit: i64,
    ) -> AppResult<Vec<StoredEmail>> {
        require_instance_admin(actor)?;
        let mut tx = self.db.platform_read().await?;
        let list = rapport_store::email_outbox::list(&mut tx, to, limit).await?;
        tx.commit().await?;
        Ok(list)
    }

    // -----------------------------------------------------------------------------------------
    // Command-line administration (whoever runs the binary with database access is trusted).

    pub async fn cli_create_user(
        &self,
        email: &str,
        name: &str,
        password: &str,
        instance_admin: bool,
    ) -> AppResult<User> {
        let mut user = crate::accounts::new_user(self, email, name, password).await?;
        user.is_instance_admin = instance_admin;
        let mut tx = self.db.platform().await?;
        crate::accounts::insert_user(&mut tx, &user).await?;
        let mut e = with_target(
            entry(None, &cli_meta(), "admin.user_created"),
            "user",
            user.id,
        );
        e.changes = Some(json!({"email": user.email, "is_instance_admin": instance_admin}));
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn cli_set_instance_admin(&self, email: &str, value: bool) -> AppResult<User> {
        let mut tx = self.db.platform().await?;
        let user = users::find_by_email(&mut tx, &email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        users::set_instance_admin(&mut tx, user.id, value).await?;
        let mut e = with_target(
            entry(None, &cli_meta(), "admin.instance_admin_changed"),
            "user",
            user.id,
        );
        e.changes = crate::audit::changes(&[(
            "is_instance_admin",
            json!(user.is_instance_admin),
            json!(value),
        )]);
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(User {
            is_instance_admin: value,
            ..user
        })
    }

    pub async fn cli_reset_password(&self, email: &str, password: &str) -> AppResult<()> {
        let mut tx = self.db.platform().await?;
        let user = users::find_by_email(&mut tx, &email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        let parsed = rapport_domain::account::Email::parse(&user.email).ok();
        let password = rapport_domain::account::NewPassword::parse(
            password,
            parsed.as_ref(),
            &self.config.password_policy,
        )
        .map_err(|m| AppError::invalid("password", m))?;
        let hash = self.hash_password(&password).await?;
        users::set_password_hash(&mut tx, user.id, &hash).await?;
        rapport_store::auth::revoke_all_refresh_tokens(&mut tx, user.id).await?;
        rapport_store::auth::revoke_user_sessions(&mut tx, user.id, None).await?;
        rapport_store::two_factor::forget_devices(&mut tx, user.id).await?;
        let mut e = with_target(
            entry(None, &cli_meta(), "admin.password_reset"),
            "user",
            user.id,
        );
        e.changes = crate::audit::changes(&[("password", json!("old"), json!("new"))]);
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns a person's two-factor authentication off from the command line, for someone who
    /// lost both their device and their recovery codes: the secret, the codes and the remembered
    /// browsers go, and their sign-ins end. An organization that requires it asks them to set it
    /// up again.
    pub async fn cli_reset_two_factor(&self, email: &str) -> AppResult<()> {
        let mut tx = self.db.platform().await?;
        let user = users::find_by_email(&mut tx, &email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        rapport_store::two_factor::disable(&mut tx, user.id).await?;
        rapport_store::auth::revoke_all_refresh_tokens(&mut tx, user.id).await?;
        rapport_store::auth::revoke_user_sessions(&mut tx, user.id, None).await?;
        let e = with_target(
            entry(None, &cli_meta(), "admin.two_factor_reset"),
            "user",
            user.id,
        );
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cli_add_member(
        &self,
        organization: &str,
        email: &str,
        role: Role,
    ) -> AppResult<()> {
        let hint = match organization.parse::<OrganizationId>() {
            Ok(id) => crate::organizations::TenantHint::Id(id),
            Err(_) => crate::organizations::TenantHint::Slug(organization),
        };
        let org = self
            .resolve_organization(hint)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = self.db.platform().await?;
        let user: User = users::find_by_email(&mut tx, &email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = tx.into_tenant(org.id).await?;
        let member = memberships::insert(&mut tx, user.id, role, None)
            .await
            .map_err(|e| {
                if e.is_conflict_on("memberships_organization_id_user_id_key") {
                    AppError::conflict("already_member", "this person is already a member")
                } else {
                    e.into()
                }
            })?;
        let mut e = with_target(
            entry(None, &cli_meta(), "member.added"),
            "membership",
            member.id,
        );
        e.changes = Some(json!({"email": user.email, "role": {"before": null, "after": role}}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cli_list_organizations(&self) -> AppResult<Vec<Organization>> {
        let mut tx = self.db.platform_read().await?;
        let list = store_orgs::list(
            &mut tx,
            &OrganizationFilter {
                include_deleted: true,
                limit: 10_000,
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn find_user_id(&self, email: &str) -> AppResult<UserId> {
        let mut tx = self.db.platform_read().await?;
        let user = users::find_by_email(&mut tx, &email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(user.id)
    }
}

fn cli_meta() -> RequestMeta {
    RequestMeta {
        ip: None,
        user_agent: Some("rapport admin (command line)".into()),
        request_id: None,
        route: None,
    }
}
