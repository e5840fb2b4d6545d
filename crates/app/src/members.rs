//! Members and invitations of an organization, and the last-owner rule.

use rapport_domain::account::{Email, NewPassword, PersonName};
use rapport_domain::{
    Action, InvitationId, MembershipId, Object, Ownership, Role, TokenFamilyId, ValidationErrors,
};
use rapport_store::invitations::{self, Invitation, NewInvitation};
use rapport_store::memberships::{self, Member, UserOrganization};
use rapport_store::users::{self, User};
use rapport_store::{now, organizations as store_orgs};
use serde_json::json;

use crate::accounts::{TokenPair, insert_user};
use crate::audit::{entry, with_target};
use crate::crypto::random_token;
use crate::mail::Email as Message;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// What adding someone by email did.
pub enum Added {
    /// They had an account and are now a member.
    Member(Member),
    /// They had no account; an invitation was emailed.
    Invited(Invitation),
}

/// What an invitation link shows before it is accepted.
pub struct InvitationDetails {
    pub invitation: Invitation,
    pub organization_name: String,
    /// Whether an account with the invited email exists (then its password is asked for).
    pub account_exists: bool,
}

/// Input of [`App::accept_invitation`].
#[derive(Clone, Debug, Default)]
pub struct Acceptance {
    pub token: String,
    /// For a new account.
    pub name: Option<String>,
    /// The new account's password, or the existing account's.
    pub password: String,
    /// An existing account with two-factor on: its current code or a recovery code.
    pub two_factor_code: Option<String>,
}

pub struct Accepted {
    pub user: User,
    pub organization: UserOrganization,
    pub tokens: TokenPair,
}

const LAST_OWNER: &str = "an organization needs at least one owner; make someone else owner first";
const INVALID_INVITATION: &str =
    "this invitation is invalid, expired, revoked or already used; ask for a new one";

impl App {
    pub async fn list_members(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Member>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = memberships::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Refuses to hand out a role above the actor's own reach (only owners make owners).
    async fn check_grant(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        role: Role,
    ) -> AppResult<()> {
        if tenant.role.may_grant(role) {
            Ok(())
        } else {
            self.record_denial(actor, tenant, meta, Action::Edit, Object::Member)
                .await;
            Err(AppError::Forbidden)
        }
    }

    /// Adds an existing user as a member, or emails an invitation to an unknown address.
    pub async fn add_member(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        email: &str,
        role: &str,
        meta: &RequestMeta,
    ) -> AppResult<Added> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        let email = Email::parse(email).map_err(|m| AppError::invalid("email", m))?;
        let role = self.choose_role(tenant, role).await?;
        self.check_grant(actor, tenant, meta, role.level).await?;
        // Accounts are platform data, out of a tenant transaction's reach: looked up first.
        let mut read = self.db.platform_read().await?;
        let existing = users::find_by_email(&mut read, email.as_str()).await?;
        read.commit().await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if let Some(user) = existing {
            let member = memberships::insert(&mut tx, user.id, role.level, role.custom)
                .await
                .map_err(|e| {
                    if e.is_conflict_on("memberships_organization_id_user_id_key") {
                        AppError::conflict(
                            "already_member",
                            "this person is already a member (a deactivated member is reactivated from the members list)",
                        )
                    } else {
                        e.into()
                    }
                })?;
            let mut e = with_target(
                entry(Some(actor), meta, "member.added"),
                "membership",
                member.id,
            );
            e.changes =
                Some(json!({"email": member.email, "role": {"before": null, "after": role.key}}));
            crate::events::record(&mut tx, e).await?;
            tx.commit().await?;
            return Ok(Added::Member(member));
        }
        invitations::revoke_open_for_email(&mut tx, email.as_str()).await?;
        let (invitation, token) = self
            .insert_invitation(&mut tx, actor, email.as_str(), &role)
            .await?;
        let mut e = with_target(
            entry(Some(actor), meta, "member.invited"),
            "invitation",
            invitation.id,
        );
        e.changes =
            Some(json!({"email": invitation.email, "role": {"before": null, "after": role.key}}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        self.send_invitation(actor, tenant, &invitation, &token)
            .await;
        Ok(Added::Invited(invitation))
    }

    async fn insert_invitation(
        &self,
        tx: &mut rapport_store::TenantTx,
        actor: &Actor,
        email: &str,
        role: &crate::roles::RoleChoice,
    ) -> AppResult<(Invitation, String)> {
        let token = random_token();
        let ttl = chrono::TimeDelta::from_std(self.config.invitation_ttl)
            .unwrap_or(chrono::TimeDelta::days(7));
        let invitation = invitations::insert(
            tx,
            NewInvitation {
                email,
                role: role.level,
                role_id: role.custom,
                token_hash: self.keys.hash_token(&token),
                invited_by: actor.user_id,
                expires_at: now() + ttl,
            },
        )
        .await?;
        Ok((invitation, token))
    }

    async fn send_invitation(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        invitation: &Invitation,
        token: &str,
    ) {
        let days = self.config.invitation_ttl.as_secs().div_ceil(86_400);
        self.mailer
            .send_or_log(Message {
                to: invitation.email.clone(),
                subject: format!("{} invited you to {} on Rapport", actor.name, tenant.organization.name),
                text: format!(
                    "Hello,\n\n{} ({}) invited you to join {} on Rapport as {}.\n\nAccept the invitation here:\n\n{}\n\n\
                     The link works once and expires in {days} days.\n",
                    actor.name,
                    actor.email,
                    tenant.organization.name,
                    invitation.role_key(),
                    self.link(&format!("/invite/{token}")),
                ),
            })
            .await;
    }

    pub async fn list_invitations(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Invitation>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = invitations::list_open(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn revoke_invitation(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: InvitationId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if invitations::revoke(&mut tx, id).await? == 0 {
            return Err(AppError::NotFound);
        }
        crate::events::record(
            &mut tx,
            with_target(
                entry(Some(actor), meta, "member.invitation_revoked"),
                "invitation",
                id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces an open invitation with a fresh one (new link, new expiry) and emails it.
    pub async fn resend_invitation(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: InvitationId,
        meta: &RequestMeta,
    ) -> AppResult<Invitation> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let old = invitations::find(&mut tx, id)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none())
            .ok_or(AppError::NotFound)?;
        self.check_grant(actor, tenant, meta, old.role).await?;
        invitations::revoke(&mut tx, id).await?;
        let (invitation, token) = self
            .insert_invitation(
                &mut tx,
                actor,
                &old.email,
                &crate::roles::RoleChoice {
                    level: old.role,
                    custom: old.role_id.map(rapport_domain::RoleId),
                    key: old.role_key().to_owned(),
                },
            )
            .await?;
        crate::events::record(
            &mut tx,
            with_target(
                entry(Some(actor), meta, "member.invitation_resent"),
                "invitation",
                invitation.id,
            ),
        )
        .await?;
        tx.commit().await?;
        self.send_invitation(actor, tenant, &invitation, &token)
            .await;
        Ok(invitation)
    }

    /// Changes a member's role, keeping at least one owner.
    pub async fn change_role(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: MembershipId,
        role: &str,
        meta: &RequestMeta,
    ) -> AppResult<Member> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        // Touching an owner, or making one, is for owners. Checked before the write transaction,
        // because a refusal writes its own audit entry.
        let current = self.find_member(tenant, id).await?;
        let choice = self.choose_role(tenant, role).await?;
        let role = choice.level;
        if current.role == Role::Owner || role == Role::Owner {
            self.check_grant(actor, tenant, meta, Role::Owner).await?;
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let member = memberships::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if member.role == Role::Owner && !tenant.role.may_grant(Role::Owner) {
            return Err(AppError::Forbidden);
        }
        if member.role_key() == choice.key {
            tx.commit().await?;
            return Ok(member);
        }
        if !tenant.role.may_grant(role) && role != member.role {
            return Err(AppError::Forbidden);
        }
        if member.role == Role::Owner
            && role != Role::Owner
            && member.is_active()
            && memberships::count_owners(&mut tx).await? <= 1
        {
            return Err(AppError::conflict("last_owner", LAST_OWNER));
        }
        memberships::set_role(&mut tx, id, role, choice.custom).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "member.role_changed"),
            "membership",
            id,
        );
        e.changes = Some(
            json!({"email": member.email, "role": {"before": member.role_key(), "after": choice.key}}),
        );
        crate::events::record(&mut tx, e).await?;
        let updated = memberships::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Removes a member, keeping at least one owner.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: MembershipId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        if self.find_member(tenant, id).await?.role == Role::Owner {
            self.check_grant(actor, tenant, meta, Role::Owner).await?;
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let member = memberships::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if member.role == Role::Owner {
            if !tenant.role.may_grant(Role::Owner) {
                return Err(AppError::Forbidden);
            }
            if member.is_active() && memberships::count_owners(&mut tx).await? <= 1 {
                return Err(AppError::conflict("last_owner", LAST_OWNER));
            }
        }
        memberships::delete(&mut tx, id).await?;
        rapport_store::teams::forget_member(&mut tx, member.user_id).await?;
        // Single sign-on no longer knows them here: it does not bring them back by itself.
        rapport_store::sso::unlink_user(&mut tx, member.user_id).await?;
        let mut e = with_target(entry(Some(actor), meta, "member.removed"), "membership", id);
        e.changes =
            Some(json!({"email": member.email, "role": {"before": member.role, "after": null}}));
        crate::events::record(&mut tx, e).await?;
        // Sessions its single sign-on opened for them end: they could reach nothing else.
        let mut platform = tx.into_platform().await?;
        rapport_store::auth::revoke_member_sessions(&mut platform, tenant.id(), member.user_id)
            .await?;
        platform.commit().await?;
        Ok(())
    }

    /// Deactivates a member: they keep their role, their records and everything they wrote,
    /// but can no longer enter the organization (pages, API, API keys they made, live
    /// connections: all refused from the next request), are no longer offered as an owner or
    /// assignee, and receive nothing from it. When it was the last organization they were active
    /// in, their sessions and API sign-ins end too. Nobody deactivates themselves, and an
    /// organization keeps at least one active owner.
    pub async fn deactivate_member(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: MembershipId,
        meta: &RequestMeta,
    ) -> AppResult<Member> {
        self.set_member_active(actor, tenant, id, false, meta).await
    }

    /// Reactivates a deactivated member with the role they had.
    pub async fn reactivate_member(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: MembershipId,
        meta: &RequestMeta,
    ) -> AppResult<Member> {
        self.set_member_active(actor, tenant, id, true, meta).await
    }

    async fn set_member_active(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: MembershipId,
        active: bool,
        meta: &RequestMeta,
    ) -> AppResult<Member> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        // Only owners touch an owner: checked before the write transaction, because a refusal
        // writes its own audit entry.
        if self.find_member(tenant, id).await?.role == Role::Owner {
            self.check_grant(actor, tenant, meta, Role::Owner).await?;
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let member = memberships::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if member.role == Role::Owner && !tenant.role.may_grant(Role::Owner) {
            return Err(AppError::Forbidden);
        }
        if member.is_active() == active {
            tx.commit().await?;
            return Ok(member);
        }
        if !active {
            if member.user_id == actor.user_id {
                return Err(AppError::conflict(
                    "self_deactivation",
                    "you cannot deactivate yourself; ask another administrator",
                ));
            }
            if member.role == Role::Owner && memberships::count_owners(&mut tx).await? <= 1 {
                return Err(AppError::conflict(
                    "last_owner",
                    "an organization needs at least one active owner; make someone else owner first",
                ));
            }
        }
        let at = (!active).then(now);
        memberships::set_deactivated(&mut tx, id, member.user_id, at).await?;
        let action = if active {
            "member.reactivated"
        } else {
            "member.deactivated"
        };
        let mut e = with_target(entry(Some(actor), meta, action), "membership", id);
        e.changes = Some(json!({"email": member.email, "role": member.role_key()}));
        crate::events::record(&mut tx, e).await?;
        let updated = memberships::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        if !active {
            self.end_sessions_when_inactive(member.user_id).await?;
        }
        Ok(updated)
    }

    /// Signs a person out everywhere once no organization counts them as an active member (a
    /// deactivation in one organization must not sign them out of another they work in).
    async fn end_sessions_when_inactive(&self, user: rapport_domain::UserId) -> AppResult<()> {
        let mut tx = self.db.platform().await?;
        if memberships::count_active_for_user(&mut tx, user).await? == 0 {
            rapport_store::auth::revoke_user_sessions(&mut tx, user, None).await?;
            rapport_store::auth::revoke_all_refresh_tokens(&mut tx, user).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The role a request names (422 `role` when the organization has none of that key).
    async fn choose_role(&self, tenant: &Tenant, key: &str) -> AppResult<crate::roles::RoleChoice> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let choice = crate::roles::choose_role(&mut tx, key.trim(), "role").await?;
        tx.commit().await?;
        Ok(choice)
    }

    async fn find_member(&self, tenant: &Tenant, id: MembershipId) -> AppResult<Member> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let member = memberships::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(member)
    }

    /// What an invitation link is about, if it is still usable.
    pub async fn invitation_details(&self, token: &str) -> AppResult<InvitationDetails> {
        let mut tx = self.db.platform_read().await?;
        let invitation = invitations::find_by_token_hash(&mut tx, &self.keys.hash_token(token))
            .await?
            .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > now())
            .ok_or_else(|| AppError::invalid("token", INVALID_INVITATION))?;
        let org = store_orgs::find(&mut tx, invitation.organization_id)
            .await?
            .filter(|o| o.deleted_at.is_none())
            .ok_or_else(|| AppError::invalid("token", INVALID_INVITATION))?;
        let account_exists = users::find_by_email(&mut tx, &invitation.email)
            .await?
            .is_some();
        tx.commit().await?;
        Ok(InvitationDetails {
            invitation,
            organization_name: org.name,
            account_exists,
        })
    }

    /// Accepts an invitation: creates the account when there is none (name and password) or
    /// checks the existing account's password, adds the membership, and signs in.
    pub async fn accept_invitation(
        &self,
        input: Acceptance,
        meta: &RequestMeta,
    ) -> AppResult<Accepted> {
        let details = self.invitation_details(&input.token).await?;
        let invitation = details.invitation;
        let mut read = self.db.platform_read().await?;
        let existing = users::find_by_email(&mut read, &invitation.email).await?;
        read.commit().await?;
        // The password is checked or hashed before the write transaction opens, so the slow
        // part never holds the database's write lock.
        let (user, is_new) = match existing {
            Some(_) => {
                // Checked like a sign-in: failures counted and throttled per address, so an
                // invitation link is no way around the limits on guessing a password.
                let user = match self
                    .check_credentials(&invitation.email, &input.password, meta)
                    .await
                {
                    Ok(user) => user,
                    Err(AppError::Unauthenticated(_)) => {
                        return Err(AppError::invalid(
                            "password",
                            "is not the password of your existing account",
                        ));
                    }
                    Err(other) => return Err(other),
                };
                // Joining signs in: an account with two-factor gives its second factor too.
                let given = crate::two_factor::SecondFactor {
                    code: input.two_factor_code.clone(),
                    device: None,
                };
                self.check_second_factor(&user, &given, meta).await?;
                (user, false)
            }
            None => {
                let mut errors = ValidationErrors::new();
                let email = Email::parse(&invitation.email).ok();
                errors.check(
                    "name",
                    PersonName::parse(input.name.as_deref().unwrap_or("")),
                );
                errors.check(
                    "password",
                    NewPassword::parse(
                        &input.password,
                        email.as_ref(),
                        &self.config.password_policy,
                    ),
                );
                errors.into_result()?;
                let user = crate::accounts::new_user(
                    self,
                    &invitation.email,
                    input.name.as_deref().unwrap_or(""),
                    &input.password,
                )
                .await?;
                (user, true)
            }
        };
        let mut platform = self.db.platform().await?;
        if is_new {
            insert_user(&mut platform, &user).await?;
        }
        let actor = Actor::from(&user);
        let mut tx = platform.into_tenant(invitation.organization_id).await?;
        if !invitations::mark_accepted(&mut tx, invitation.id, now()).await? {
            return Err(AppError::invalid("token", INVALID_INVITATION));
        }
        let custom = invitation.role_id.map(rapport_domain::RoleId);
        let member = match memberships::insert(&mut tx, user.id, invitation.role, custom).await {
            Ok(member) => member,
            Err(e) if e.is_conflict_on("memberships_organization_id_user_id_key") => {
                return Err(AppError::conflict(
                    "already_member",
                    "you are already a member of this organization",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let mut e = with_target(
            entry(Some(&actor), meta, "member.invitation_accepted"),
            "membership",
            member.id,
        );
        e.changes =
            Some(json!({"email": member.email, "role": {"before": null, "after": member.role}}));
        crate::events::record(&mut tx, e).await?;
        let org = store_orgs::current(&mut tx).await?;
        let mut platform = tx.into_platform().await?;
        let tokens = self.issue_tokens_for(&mut platform, user.id).await?;
        platform.commit().await?;
        Ok(Accepted {
            organization: UserOrganization {
                id: org.id,
                name: org.name,
                slug: org.slug,
                role: member.role,
                role_key: member.role_key.clone(),
                two_factor_required: org.two_factor_required,
                created_at: org.created_at,
            },
            user,
            tokens,
        })
    }

    pub(crate) async fn issue_tokens_for(
        &self,
        tx: &mut rapport_store::Tx,
        user: rapport_domain::UserId,
    ) -> AppResult<TokenPair> {
        self.issue_tokens(tx, user, TokenFamilyId::new()).await
    }
}
