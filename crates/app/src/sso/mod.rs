//! Single sign-on: an organization names its OpenID Connect provider (issuer, client id and
//! secret), and its people sign in there instead of with a Rapport password.
//!
//! - The sign-in is the authorization code flow with PKCE: [`App::begin_single_sign_on`] sends
//!   the browser to the provider with a fresh `state`, `nonce` and verifier, kept in a sealed,
//!   short-lived cookie; [`App::finish_single_sign_on`] checks them, trades the code for an ID
//!   token and checks its signature, issuer, audience, expiry and nonce ([`oidc`]).
//! - The person is found by the provider's subject (once linked), else by a verified email:
//!   a member of the organization is linked; an open invitation for the email is accepted; a
//!   person new to Rapport joins with the default role when the organization allows automatic
//!   membership. An existing account that is not a member is never joined by the provider's
//!   word alone. Email domains can be restricted.
//! - A session opened this way reaches that organization only, and changes nothing of the
//!   account beyond it (password, email, two-factor, other organizations): the provider vouches
//!   for the person in its organization, not elsewhere.

pub mod oidc;

use chrono::{DateTime, TimeDelta, Utc};
use rapport_domain::account::{Email, PersonName};
use rapport_domain::organization::OrganizationStatus;
use rapport_domain::{OrganizationId, Role, ValidationErrors};
use rapport_store::organizations::{self as store_orgs, Organization};
use rapport_store::sso::{self as store_sso, Provider};
use rapport_store::users::{self, User};
use rapport_store::{invitations, memberships, now};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::OpenedSession;
use crate::audit::{entry, with_target};
use crate::crypto::{constant_time_eq, random_token};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// The cookie that carries a sign-in in progress from the start to the callback.
pub const STATE_COOKIE: &str = "rapport_sso";
/// Where the provider sends the browser back, one address per organization (registered with
/// its provider as the redirect URI). A code that comes back to another organization's address
/// than the sign-in started for is refused: one provider cannot have another's code sent to it.
pub fn callback_path(organization: OrganizationId) -> String {
    format!("/sso/callback/{organization}")
}
/// What a sealed sign-in state starts with, so nothing else sealed with the instance's key
/// passes for one.
const STATE_PURPOSE: &str = "sso-state:";
/// How long a sign-in may take at the provider.
pub const STATE_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// The most email domains an organization restricts sign-in to.
const MAX_DOMAINS: usize = 50;

/// An organization's single sign-on as its administrators see it (the secret never returns).
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
    pub label: String,
    pub allowed_domains: Vec<String>,
    pub auto_join: bool,
    /// Its emails count as verified without the `email_verified` claim.
    pub trust_email: bool,
    pub default_role: String,
    pub enabled: bool,
    /// Members other than owners enter only through it.
    pub required: bool,
    /// The address to register with the provider.
    pub redirect_uri: String,
    /// People who have signed in through it.
    pub linked: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an administrator saves.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettingsInput {
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; kept as it was when left out later.
    pub client_secret: Option<String>,
    pub label: Option<String>,
    pub allowed_domains: Vec<String>,
    pub auto_join: bool,
    pub trust_email: bool,
    pub default_role: Option<String>,
    pub enabled: bool,
    /// Members other than owners enter only through it (owners keep their password, so a
    /// provider out of order never locks the organization out).
    pub required: bool,
}

/// Where to send the browser to sign in, and the sealed cookie that comes back with it.
pub struct Begun {
    pub location: String,
    pub state_cookie: String,
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer, from providers that name themselves (RFC 9207).
    pub iss: Option<String>,
}

/// A finished sign-in: the new session, the organization it opens, and where to go.
pub struct Finished {
    pub opened: OpenedSession,
    pub organization: Organization,
    pub next: String,
}

/// What travels in the state cookie, sealed.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The organization.
    o: OrganizationId,
    /// `state`, `nonce` and the PKCE verifier.
    s: String,
    n: String,
    v: String,
    /// Where to go afterwards (a path inside the organization).
    t: String,
    /// Unix seconds after which the sign-in is stale.
    e: i64,
}

fn settings_of(app: &App, provider: &Provider, linked: i64, required: bool) -> Settings {
    Settings {
        issuer: provider.issuer.clone(),
        client_id: provider.client_id.clone(),
        label: provider.label.clone(),
        allowed_domains: provider
            .allowed_domains
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        auto_join: provider.auto_join,
        trust_email: provider.trust_email,
        default_role: provider.default_role.clone(),
        enabled: provider.enabled,
        required,
        redirect_uri: app.sso_redirect_uri(provider.organization_id),
        linked,
        created_at: provider.created_at,
        updated_at: provider.updated_at,
    }
}

/// An email domain as a restriction lists it: lowercase labels of letters, digits and hyphens.
fn parse_domain(raw: &str) -> Result<String, &'static str> {
    let domain = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let valid = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(domain)
    } else {
        Err("must be email domains such as example.com, separated by spaces or commas")
    }
}

/// The part of an email after `@`, lowercase.
fn domain_of(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// A refusal shown to the person signing in.
fn refused(message: impl Into<String>) -> AppError {
    AppError::SignInRefused(message.into())
}

impl App {
    /// The redirect URI of an organization's provider: its callback on the instance's address.
    pub fn sso_redirect_uri(&self, organization: OrganizationId) -> String {
        self.link(&callback_path(organization))
    }

    /// Only an owner, signed in as a person of the organization (not a key, not support
    /// access), sees or changes how its people sign in: a provider vouches for everyone,
    /// owners included, so choosing it is an owner's decision, like making owners.
    async fn authorize_sso(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            rapport_domain::Action::Edit,
            rapport_domain::Object::Organization,
            rapport_domain::Ownership::NotApplicable,
        )
        .await?;
        if tenant.role != Role::Owner
            || actor.api_key.is_some()
            || tenant.support.is_some()
            || tenant.preview.is_some()
        {
            return Err(AppError::Forbidden);
        }
        Ok(())
    }

    /// The organization's provider as stored, if it has one.
    async fn provider(&self, organization: OrganizationId) -> AppResult<Option<Provider>> {
        let mut tx = self.db.tenant_read(organization).await?;
        let found = store_sso::find(&mut tx).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The organization's single sign-on, if it has one (owners).
    pub async fn single_sign_on(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Option<Settings>> {
        self.authorize_sso(actor, tenant, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let provider = store_sso::find(&mut tx).await?;
        let linked = store_sso::count_linked(&mut tx).await?;
        tx.commit().await?;
        let required = tenant.organization.sso_required;
        Ok(provider.map(|p| settings_of(self, &p, linked, required)))
    }

    /// Saves the organization's provider after asking it for its discovery document, so a
    /// wrong issuer is refused here (422 `issuer`) rather than at someone's sign-in.
    pub async fn save_single_sign_on(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: SettingsInput,
        meta: &RequestMeta,
    ) -> AppResult<Settings> {
        self.authorize_sso(actor, tenant, meta).await?;
        let before = self.provider(tenant.id()).await?;
        let mut errors = ValidationErrors::new();
        let issuer = input.issuer.trim().trim_end_matches('/').to_owned();
        let issuer_ok = match oidc::check_issuer(&issuer, self.config.sso_allow_private) {
            _ if issuer.is_empty() => {
                errors.add("issuer", "is required");
                false
            }
            Ok(_) => true,
            Err(m) => {
                errors.add("issuer", m.trim_start_matches("the issuer "));
                false
            }
        };
        let client_id = input.client_id.trim().to_owned();
        if client_id.is_empty() {
            errors.add("client_id", "is required");
        } else if client_id.len() > 255 {
            errors.add("client_id", "must be at most 255 characters");
        }
        let secret = match input.client_secret.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => {
                if s.len() > 2000 {
                    errors.add("client_secret", "must be at most 2000 characters");
                }
                Some(s.to_owned())
            }
            _ if before.is_some() => None,
            _ => {
                errors.add("client_secret", "is required");
                None
            }
        };
        let label = input
            .label
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or("Single sign-on")
            .to_owned();
        if label.chars().count() > 60 {
            errors.add("label", "must be at most 60 characters");
        }
        let mut domains: Vec<String> = Vec::new();
        for raw in input
            .allowed_domains
            .iter()
            .flat_map(|d| d.split([',', ' ', '\n', '\t', ';']))
            .filter(|d| !d.trim().is_empty())
        {
            match parse_domain(raw) {
                Ok(d) if !domains.contains(&d) => domains.push(d),
                Ok(_) => {}
                Err(m) => {
                    errors.add("allowed_domains", m);
                    break;
                }
            }
        }
        if domains.len() > MAX_DOMAINS {
            errors.add(
                "allowed_domains",
                format!("must list at most {MAX_DOMAINS} domains"),
            );
        }
        let role_key = input
            .default_role
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("member")
            .to_owned();
        let role = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let choice = crate::roles::choose_role(&mut tx, &role_key, "default_role").await;
            tx.commit().await?;
            choice
        };
        let role_key = match role {
            Ok(choice) if choice.level == Role::Owner => {
                errors.add("default_role", "cannot be owner: owners are made by hand");
                None
            }
            Ok(choice) => Some(choice.key),
            Err(AppError::Validation(e)) => {
                errors.0.extend(e.0);
                None
            }
            Err(other) => return Err(other),
        };
        if issuer_ok && let Err(problem) = self.oidc.discover(&issuer, true).await {
            errors.add("issuer", problem);
        }
        errors.into_result()?;
        let at = now();
        let provider = Provider {
            organization_id: tenant.id(),
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret: match (&secret, &before) {
                (Some(s), _) => self.keys.seal(s),
                (None, Some(b)) => b.client_secret.clone(),
                (None, None) => return Err(AppError::invalid("client_secret", "is required")),
            },
            label,
            allowed_domains: domains.join(" "),
            auto_join: input.auto_join,
            trust_email: input.trust_email,
            default_role: role_key.unwrap_or_else(|| "member".into()),
            enabled: input.enabled,
            created_at: before.as_ref().map_or(at, |b| b.created_at),
            updated_at: at,
        };
        // Sessions opened through what the provider was end when it is turned off or becomes
        // another one; links to another issuer's subjects go.
        let (ends_sessions, other_issuer) = match &before {
            Some(b) => (
                (b.enabled && !provider.enabled)
                    || b.issuer != provider.issuer
                    || b.client_id != provider.client_id,
                b.issuer != provider.issuer,
            ),
            None => (false, false),
        };
        let mut tx = self.db.tenant(tenant.id()).await?;
        store_sso::save(&mut tx, &provider).await?;
        let required = input.required && provider.enabled;
        store_sso::set_required(&mut tx, required).await?;
        if other_issuer {
            store_sso::unlink_all(&mut tx).await?;
        }
        let mut e = with_target(
            entry(Some(actor), meta, "sso.configured"),
            "organization",
            tenant.id(),
        );
        let was = |f: fn(&Provider) -> serde_json::Value| before.as_ref().map(f);
        e.changes = Some(json!({
            "issuer": {"before": was(|b| json!(b.issuer)), "after": provider.issuer},
            "client_id": {"before": was(|b| json!(b.client_id)), "after": provider.client_id},
            "client_secret": {"before": null, "after": if secret.is_some() { "changed" } else { "kept" }},
            "allowed_domains": {"before": was(|b| json!(b.allowed_domains)), "after": provider.allowed_domains},
            "auto_join": {"before": was(|b| json!(b.auto_join)), "after": provider.auto_join},
            "default_role": {"before": was(|b| json!(b.default_role)), "after": provider.default_role},
            "enabled": {"before": was(|b| json!(b.enabled)), "after": provider.enabled},
            "trust_email": {"before": was(|b| json!(b.trust_email)), "after": provider.trust_email},
            "required": {"before": tenant.organization.sso_required, "after": required},
        }));
        crate::events::record(&mut tx, e).await?;
        let linked = store_sso::count_linked(&mut tx).await?;
        let mut platform = tx.into_platform().await?;
        if ends_sessions {
            rapport_store::auth::revoke_organization_sessions(&mut platform, tenant.id()).await?;
        }
        platform.commit().await?;
        Ok(settings_of(self, &provider, linked, required))
    }

    /// Removes the organization's single sign-on and every link to it (404 when there is
    /// none). Sessions opened through it end: they could only ever reach this organization.
    pub async fn remove_single_sign_on(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_sso(actor, tenant, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if !store_sso::delete(&mut tx).await? {
            return Err(AppError::NotFound);
        }
        store_sso::set_required(&mut tx, false).await?;
        let e = with_target(
            entry(Some(actor), meta, "sso.removed"),
            "organization",
            tenant.id(),
        );
        crate::events::record(&mut tx, e).await?;
        let mut platform = tx.into_platform().await?;
        rapport_store::auth::revoke_organization_sessions(&mut platform, tenant.id()).await?;
        platform.commit().await?;
        Ok(())
    }

    /// The label of the organization's sign-in button, when single sign-on is on.
    pub async fn sso_button(&self, organization: OrganizationId) -> AppResult<Option<String>> {
        let provider = self.provider(organization).await?;
        Ok(provider.filter(|p| p.enabled).map(|p| p.label))
    }

    /// The live organizations whose single sign-on takes this email's domain.
    pub async fn sso_organizations_for(&self, email: &str) -> AppResult<Vec<Organization>> {
        let domain = domain_of(email.trim());
        if domain.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.platform_read().await?;
        let ids = store_sso::organizations_for_domain(&mut tx, &domain).await?;
        let mut found = Vec::new();
        for id in ids {
            if let Some(org) = store_orgs::find(&mut tx, id).await?
                && org.deleted_at.is_none()
                && org.status != OrganizationStatus::Suspended
            {
                found.push(org);
            }
        }
        tx.commit().await?;
        Ok(found)
    }

    /// Starts a sign-in at the organization's provider: where to send the browser, and the
    /// sealed state to keep in a cookie until it comes back. `next` is a path to open after.
    pub async fn begin_single_sign_on(
        &self,
        organization: &Organization,
        next: &str,
        login_hint: Option<&str>,
    ) -> AppResult<Begun> {
        if organization.deleted_at.is_some() {
            return Err(AppError::NotFound);
        }
        if organization.status == OrganizationStatus::Suspended {
            return Err(AppError::OrganizationSuspended);
        }
        let provider = self.provider(organization.id).await?;
        // Not set up, or turned off: 404, unlike a provider out of reach (a refusal).
        let provider = provider.filter(|p| p.enabled).ok_or(AppError::NotFound)?;
        let found = self.oidc.discover(&provider.issuer, false).await.map_err(|problem| {
            tracing::warn!(organization = %organization.id, %problem, "single sign-on provider unreachable");
            refused(format!(
                "{}'s sign-in provider cannot be reached right now ({problem}). Try again in a moment, or tell an administrator.",
                organization.name
            ))
        })?;
        let pending = Pending {
            o: organization.id,
            s: oidc::random_value(),
            n: oidc::random_value(),
            v: oidc::random_value(),
            t: next.to_owned(),
            e: (now() + STATE_LIFETIME).timestamp(),
        };
        let location = oidc::authorization_url(
            &found,
            &provider.client_id,
            &self.sso_redirect_uri(organization.id),
            &pending.s,
            &pending.n,
            &pending.v,
            login_hint.map(str::trim).filter(|h| !h.is_empty()),
        );
        let sealed =
            serde_json::to_string(&pending).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Begun {
            location: location.to_string(),
            state_cookie: self.keys.seal(&format!("{STATE_PURPOSE}{sealed}")),
        })
    }

    /// Finishes a sign-in the provider sent back to `arrived_for`'s callback: checks it (the
    /// organization it started for, its state, the issuer when the provider names it), finds
    /// or joins the person, and
    /// opens a session confined to the organization. A refusal is
    /// [`AppError::SignInRefused`], in words for the person, and is written to the
    /// organization's audit log.
    pub async fn finish_single_sign_on(
        &self,
        arrived_for: OrganizationId,
        state_cookie: Option<&str>,
        callback: &Callback,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<Finished> {
        const STALE: &str = "This sign-in expired or was started in another browser. Start again from the sign-in page.";
        let pending: Pending = state_cookie
            .and_then(|c| self.keys.open(c))
            .and_then(|plain| {
                plain
                    .strip_prefix(STATE_PURPOSE)
                    .and_then(|json| serde_json::from_str(json).ok())
            })
            .ok_or_else(|| refused(STALE))?;
        let given = callback.state.as_deref().unwrap_or_default();
        if pending.e < now().timestamp()
            || !constant_time_eq(pending.s.as_bytes(), given.as_bytes())
            || pending.o != arrived_for
        {
            return Err(refused(STALE));
        }
        let organization = {
            let mut tx = self.db.platform_read().await?;
            let found = store_orgs::find(&mut tx, pending.o).await?;
            tx.commit().await?;
            found
                .filter(|o| o.deleted_at.is_none())
                .ok_or_else(|| refused(STALE))?
        };
        if organization.status == OrganizationStatus::Suspended {
            return Err(AppError::OrganizationSuspended);
        }
        match self
            .sign_in_through_provider(&organization, &pending, callback, previous_token, meta)
            .await
        {
            Ok(opened) => Ok(Finished {
                opened,
                organization,
                next: pending.t,
            }),
            Err(AppError::SignInRefused(reason)) => {
                let mut tx = self.db.tenant(organization.id).await?;
                let mut e = entry(None, meta, "auth.sso_refused");
                e.changes = Some(json!({ "reason": reason }));
                crate::events::record(&mut tx, e).await?;
                tx.commit().await?;
                Err(AppError::SignInRefused(reason))
            }
            Err(other) => Err(other),
        }
    }

    async fn sign_in_through_provider(
        &self,
        organization: &Organization,
        pending: &Pending,
        callback: &Callback,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedSession> {
        let org_name = organization.name.as_str();
        if let Some(error) = &callback.error {
            let said = callback.error_description.as_deref().unwrap_or(error);
            return Err(refused(format!(
                "{org_name}'s sign-in provider did not sign you in: {said}."
            )));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                refused("The sign-in provider sent no authorization code back. Start again.")
            })?;
        let provider = {
            let found = self.provider(organization.id).await?;
            found.filter(|p| p.enabled).ok_or_else(|| {
                refused(format!(
                    "{org_name} no longer signs in with single sign-on."
                ))
            })?
        };
        let broken = |problem: String| {
            tracing::warn!(organization = %organization.id, %problem, "single sign-on failed");
            refused(format!(
                "{org_name}'s sign-in could not be completed: {problem}."
            ))
        };
        let found = self
            .oidc
            .discover(&provider.issuer, false)
            .await
            .map_err(broken)?;
        // RFC 9207: a provider that names itself in the response must be this one.
        if let Some(iss) = &callback.iss
            && iss.trim_end_matches('/') != found.issuer.trim_end_matches('/')
        {
            return Err(refused(format!(
                "The sign-in came back from another provider than {org_name}'s. Start again."
            )));
        }
        let secret = self.keys.open(&provider.client_secret).ok_or_else(|| {
            broken("its client secret cannot be read; an administrator must save it again".into())
        })?;
        let id_token = self
            .oidc
            .exchange(
                &found,
                &provider.client_id,
                &secret,
                code,
                &pending.v,
                &self.sso_redirect_uri(organization.id),
            )
            .await
            .map_err(broken)?;
        let person = self
            .oidc
            .verify(&found, &id_token, &provider.client_id, &pending.n)
            .await
            .map_err(broken)?;

        // Who this is.
        let email = person.email.as_deref().ok_or_else(|| {
            refused(format!(
                "{org_name}'s sign-in provider did not share your email address. An administrator must release the email claim to Rapport."
            ))
        })?;
        let email = Email::parse(email).map_err(|_| {
            refused(format!(
                "The email address the sign-in provider gave ({email}) is not valid."
            ))
        })?;
        let email = email.as_str().to_owned();
        // Verified when the provider says so, or when the organization trusts its addresses and
        // it does not say otherwise.
        let verified = person.email_verified == Some(true)
            || (provider.trust_email && person.email_verified.is_none());
        let domains: Vec<&str> = provider.allowed_domains.split_whitespace().collect();
        if !domains.is_empty() && !domains.contains(&domain_of(&email).as_str()) {
            return Err(refused(format!(
                "{org_name} signs in only addresses at {}; {email} is not one of them.",
                domains.join(", ")
            )));
        }
        let linked = {
            let mut tx = self.db.tenant_read(organization.id).await?;
            let found = store_sso::linked_user(&mut tx, &provider.issuer, &person.subject).await?;
            tx.commit().await?;
            found
        };
        // Without a link, the email is what finds (or makes) the account: the provider must say
        // it verified it.
        if linked.is_none() && !verified {
            return Err(refused(format!(
                "{org_name}'s sign-in provider has not confirmed that {email} is verified. Verify the address there (the provider must send email_verified), then sign in again."
            )));
        }
        let existing = {
            let mut tx = self.db.platform_read().await?;
            let found = match linked {
                Some(id) => users::find(&mut tx, id).await?,
                None => users::find_by_email(&mut tx, &email).await?,
            };
            tx.commit().await?;
            found
        };
        // A person new to Rapport gets an account with a password nobody knows; "forgot
        // password" sets one when they want to sign in without the provider.
        let new_user = match &existing {
            Some(_) => None,
            None => {
                let name = person
                    .name
                    .as_deref()
                    .and_then(|n| PersonName::parse(n).ok())
                    .or_else(|| PersonName::parse(email.split('@').next().unwrap_or("")).ok())
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_else(|| email.clone());
                let at = now();
                Some(User {
                    id: rapport_domain::UserId::new(),
                    email: email.clone(),
                    name,
                    password_hash: self.passwords.hash(random_token()).await?,
                    is_instance_admin: false,
                    created_at: at,
                    updated_at: at,
                    two_factor: false,
                })
            }
        };

        let mut platform = self.db.platform().await?;
        let (user, is_new) = match (existing, new_user) {
            (Some(user), _) => (user, false),
            (None, Some(user)) => {
                crate::accounts::insert_user(&mut platform, &user)
                    .await
                    .map_err(|e| match e {
                        AppError::Conflict { .. } => refused(
                            "Your account was being created at the same moment. Sign in again.",
                        ),
                        other => other,
                    })?;
                (user, true)
            }
            (None, None) => return Err(AppError::Internal("no user to sign in".into())),
        };
        let actor = Actor::from(&user);
        let mut tx = platform.into_tenant(organization.id).await?;
        match memberships::find_any_by_user(&mut tx, user.id).await? {
            Some(member) if member.deactivated_at.is_some() => {
                return Err(refused(format!(
                    "Your membership of {org_name} is deactivated. Ask an administrator to reactivate it."
                )));
            }
            Some(_) => {}
            None => {
                let at = now();
                let invitation = invitations::list_open(&mut tx)
                    .await?
                    .into_iter()
                    .find(|i| i.email.eq_ignore_ascii_case(&email) && i.expires_at > at);
                let (role, custom, how) = if let Some(invitation) = invitation {
                    if !invitations::mark_accepted(&mut tx, invitation.id, at).await? {
                        return Err(refused(
                            "Your invitation was used at the same moment. Sign in again.",
                        ));
                    }
                    (
                        invitation.role,
                        invitation.role_id.map(rapport_domain::RoleId),
                        "member.invitation_accepted",
                    )
                } else if !is_new {
                    // An account that is not a member (never was, or was removed): the
                    // provider's word alone does not bring it into the organization.
                    return Err(refused(format!(
                        "An account with {email} already exists in Rapport and is not a member of {org_name}. Ask an administrator of {org_name} to invite it, then sign in again."
                    )));
                } else if provider.auto_join {
                    let choice = crate::roles::choose_role(&mut tx, &provider.default_role, "default_role")
                        .await
                        .map_err(|_| {
                            refused(format!(
                                "{org_name}'s single sign-on names a role that no longer exists ({}). Ask an administrator to choose another.",
                                provider.default_role
                            ))
                        })?;
                    (choice.level, choice.custom, "member.joined")
                } else {
                    return Err(refused(format!(
                        "{org_name} lets only its members sign in. Ask an administrator of {org_name} for an invitation."
                    )));
                };
                let member = memberships::insert(&mut tx, user.id, role, custom)
                    .await
                    .map_err(|e| {
                        if e.is_conflict_on("memberships_organization_id_user_id_key") {
                            refused("You were joining at the same moment from another window. Sign in again.")
                        } else {
                            e.into()
                        }
                    })?;
                let mut e = with_target(entry(Some(&actor), meta, how), "membership", member.id);
                e.changes = Some(json!({
                    "email": member.email,
                    "role": {"before": null, "after": member.role_key()},
                    "via": "single_sign_on",
                }));
                crate::events::record(&mut tx, e).await?;
            }
        }
        store_sso::link(&mut tx, &provider.issuer, &person.subject, user.id)
            .await
            .map_err(|e| match e {
                rapport_store::Error::Conflict { .. } => refused(
                    "You were signing in at the same moment from another window. Sign in again.",
                ),
                other => other.into(),
            })?;
        let mut e = entry(Some(&actor), meta, "auth.sso_login");
        e.changes = Some(json!({ "subject": person.subject, "new_account": is_new }));
        crate::events::record(&mut tx, e).await?;
        let mut platform = tx.into_platform().await?;
        users::note_sign_in(&mut platform, user.id).await?;
        let opened = self
            .replace_session(
                &mut platform,
                user,
                previous_token,
                Some(organization.id),
                meta,
            )
            .await?;
        platform.commit().await?;
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lowercase_hostnames() {
        assert_eq!(parse_domain(" Example.COM ").as_deref(), Ok("example.com"));
        assert_eq!(
            parse_domain("@corp.example.co.uk").as_deref(),
            Ok("corp.example.co.uk")
        );
        assert!(parse_domain("localhost").is_err());
        assert!(parse_domain("exa mple.com").is_err());
        assert!(parse_domain("-bad.com").is_err());
        assert!(parse_domain("a..com").is_err());
    }

    #[test]
    fn the_domain_of_an_email_is_after_the_last_at() {
        assert_eq!(domain_of("Ann@Example.com"), "example.com");
        assert_eq!(domain_of("nobody"), "");
    }
}
