//! Support access: an instance administrator opens an organization only through a grant its
//! owners approve, for a reason and a number of hours. Being an instance administrator gives no
//! access to records by itself; under an approved grant they act as a viewer (`read`) or an
//! admin (`admin`) with the system role's permissions, until the grant expires or an owner
//! revokes it. Every request made under it is written to the organization's audit log
//! (`support.accessed`, with the route), beside the audit entries of what it changed.

use std::sync::Arc;

use chrono::TimeDelta;
use rapport_domain::access::Grants;
use rapport_domain::{OrganizationId, Role, ValidationErrors};
use rapport_store::organizations::{self as store_orgs, Organization};
use rapport_store::support::{self as store_support, Grant, NewGrant, RequestedGrant};
use rapport_store::{memberships, now};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{entry, with_target};
use crate::mail::Email as Message;
use crate::roles::Access;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// The longest a grant may last.
pub const MAX_HOURS: i64 = 72;

/// What a grant lets its holder do: the system role they act as.
fn level_of(access: &str) -> Option<Role> {
    match access {
        "read" => Some(Role::Viewer),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

/// Where a grant stands now: `pending`, `active`, `expired`, `denied` or `revoked`.
pub fn state(grant: &Grant) -> &'static str {
    match grant.status.as_str() {
        "pending" => "pending",
        "denied" => "denied",
        "revoked" => "revoked",
        _ if grant.expires_at.is_some_and(|e| e > now()) => "active",
        _ => "expired",
    }
}

impl App {
    /// An instance administrator asks to open an organization (403 for anyone else). The
    /// organization's owners are told by email; nothing opens until one approves.
    pub async fn request_support_access(
        &self,
        actor: &Actor,
        organization: OrganizationId,
        reason: &str,
        access: &str,
        hours: i64,
        meta: &RequestMeta,
    ) -> AppResult<Grant> {
        crate::admin::require_instance_admin(actor)?;
        // A person asks, never a key.
        if actor.api_key.is_some() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::new();
        let reason = reason.trim();
        if reason.is_empty() {
            errors.add(
                "reason",
                "is required: say what the organization needs help with",
            );
        } else if reason.chars().count() > 500 {
            errors.add("reason", "must be at most 500 characters");
        }
        if level_of(access).is_none() {
            errors.add("access", "must be read or admin");
        }
        if !(1..=MAX_HOURS).contains(&hours) {
            errors.add("hours", format!("must be between 1 and {MAX_HOURS}"));
        }
        errors.into_result()?;
        let mut read = self.db.platform_read().await?;
        let org = store_orgs::find(&mut read, organization)
            .await?
            .filter(|o| o.deleted_at.is_none())
            .ok_or(AppError::NotFound)?;
        read.commit().await?;
        let mut tx = self.db.tenant(org.id).await?;
        let id = store_support::insert(
            &mut tx,
            &NewGrant {
                requested_by: actor.user_id,
                reason,
                access,
                hours,
            },
        )
        .await?;
        let mut e = with_target(
            entry(Some(actor), meta, "support.requested"),
            "support_grant",
            id,
        );
        e.changes = Some(json!({"reason": reason, "access": access, "hours": hours}));
        crate::events::record(&mut tx, e).await?;
        let owners: Vec<String> = memberships::list(&mut tx)
            .await?
            .into_iter()
            .filter(|m| m.role == Role::Owner && m.is_active())
            .map(|m| m.email)
            .collect();
        let grant = store_support::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        for owner in owners {
            self.mailer
                .send_or_log(Message {
                    to: owner,
                    subject: format!("Support asks to open {} on Rapport", org.name),
                    text: format!(
                        "Hello,\n\n{} ({}), an administrator of this Rapport instance, asks for {} access to {} \
                         for {hours} hours, because:\n\n{reason}\n\nNothing opens until an owner approves. \
                         Approve or deny it here:\n\n{}\n",
                        actor.name,
                        actor.email,
                        if access == "admin" { "admin" } else { "read-only" },
                        org.name,
                        self.link(&format!("/o/{}/settings/support", org.slug)),
                    ),
                })
                .await;
        }
        Ok(grant)
    }

    /// The grants the instance administrator asked for, across organizations.
    pub async fn my_support_grants(&self, actor: &Actor) -> AppResult<Vec<RequestedGrant>> {
        crate::admin::require_instance_admin(actor)?;
        let mut tx = self.db.platform_read().await?;
        let list = store_support::list_requested(&mut tx, actor.user_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// The organization's support grants, newest first (owners and admins).
    pub async fn support_grants(&self, tenant: &Tenant) -> AppResult<Vec<Grant>> {
        if !tenant.role.administers() || tenant.support.is_some() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = store_support::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// An owner approves (for the hours asked, from now) or denies a pending request (403 for
    /// anyone but an owner; 409 `support_grant_decided` once answered).
    pub async fn decide_support_grant(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        approve: bool,
        meta: &RequestMeta,
    ) -> AppResult<Grant> {
        self.require_owner(actor, tenant)?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let grant = store_support::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if grant.status != "pending" {
            return Err(AppError::conflict(
                "support_grant_decided",
                "this request was already answered",
            ));
        }
        let (status, expires_at, action) = match approve {
            true => (
                "approved",
                Some(now() + TimeDelta::hours(grant.hours)),
                "support.approved",
            ),
            false => ("denied", None, "support.denied"),
        };
        store_support::decide(&mut tx, id, status, actor.user_id, expires_at).await?;
        let mut e = with_target(entry(Some(actor), meta, action), "support_grant", id);
        e.changes = Some(json!({"requested_by": grant.requester_email, "expires_at": expires_at}));
        crate::events::record(&mut tx, e).await?;
        let decided = store_support::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(decided)
    }

    /// An owner ends an active grant at once (409 `support_grant_inactive` when it is not).
    pub async fn revoke_support_grant(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Grant> {
        self.require_owner(actor, tenant)?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let grant = store_support::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if state(&grant) != "active" {
            return Err(AppError::conflict(
                "support_grant_inactive",
                "this grant is not active",
            ));
        }
        store_support::revoke(&mut tx, id).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "support.revoked"),
            "support_grant",
            id,
        );
        e.changes = Some(json!({"requested_by": grant.requester_email}));
        crate::events::record(&mut tx, e).await?;
        let revoked = store_support::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(revoked)
    }

    fn require_owner(&self, actor: &Actor, tenant: &Tenant) -> AppResult<()> {
        // A person answers, never a key.
        match tenant.role == Role::Owner
            && actor.api_key.is_none()
            && tenant.support.is_none()
            && tenant.preview.is_none()
        {
            true => Ok(()),
            false => Err(AppError::Forbidden),
        }
    }

    /// The access an active grant gives the instance administrator in `org`, if any.
    pub(crate) async fn support_access(
        &self,
        actor: &Actor,
        org: &Organization,
    ) -> AppResult<Option<(Access, Uuid)>> {
        let Some(grant) = store_support::active_now(&self.db, org.id, actor.user_id, now()).await?
        else {
            return Ok(None);
        };
        let Some(level) = level_of(&grant.access) else {
            return Ok(None);
        };
        Ok(Some((
            Access {
                role: level,
                key: format!("support_{}", grant.access),
                grants: Arc::new(Grants::system(level)),
                teammates: Arc::new(Vec::new()),
            },
            grant.id,
        )))
    }

    /// Writes a request made under a support grant to the organization's audit log.
    pub(crate) async fn note_support_request(
        &self,
        actor: &Actor,
        org: OrganizationId,
        grant: Uuid,
        access: &Access,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let mut tx = self.db.tenant(org).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "support.accessed"),
            "support_grant",
            grant,
        );
        let level = if access.role == Role::Admin {
            "admin"
        } else {
            "read"
        };
        e.changes = Some(json!({"route": meta.route, "access": level}));
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }
}
