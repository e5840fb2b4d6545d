//! Organizations: creation, tenant resolution, settings, branding and custom domains.

use rapport_domain::organization::{
    BrandColor, Currency, DomainName, OrganizationName, OrganizationStatus, Slug, TimeZone,
};
use rapport_domain::{
    Action, DomainId, Object, OrganizationId, Ownership, Role, UserId, ValidationErrors,
};
use rapport_store::domains::Domain;
use rapport_store::memberships::UserOrganization;
use rapport_store::organizations::{
    self as store_orgs, Logo, NewOrganization, Organization, Settings,
};
use rapport_store::{Tx, audit as store_audit, memberships};
use serde_json::json;

use crate::audit::{changes, entry, with_target};
use crate::identity::OrganizationKey;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// Input of [`App::create_organization`].
#[derive(Clone, Debug, Default)]
pub struct NewOrganizationInput {
    pub name: String,
    pub slug: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
}

/// A partial update of an organization's settings; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SettingsUpdate {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    /// `Some(None)` clears the colour.
    pub primary_color: Option<Option<String>>,
    /// Whether members must use two-factor authentication. Turning it on needs it on for the
    /// person doing so (409 `two_factor_not_enabled`), so nobody locks themselves out.
    pub two_factor_required: Option<bool>,
}

/// How a request named its organization; see [`App::resolve_organization`].
#[derive(Clone, Debug)]
pub enum TenantHint<'a> {
    Domain(&'a str),
    Slug(&'a str),
    Id(OrganizationId),
}

impl App {
    /// Creates an organization owned by `actor` inside an open platform transaction, handing the
    /// transaction back (now scoped to the new organization) for the caller to commit.
    pub(crate) async fn create_organization_in(
        &self,
        mut tx: Tx,
        actor: &Actor,
        meta: &RequestMeta,
        name: &str,
        input: Option<&NewOrganizationInput>,
    ) -> AppResult<(UserOrganization, Tx)> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", OrganizationName::parse(name));
        let slug = match input.and_then(|i| i.slug.as_deref()) {
            Some(raw) => errors
                .check("slug", Slug::parse(raw))
                .map(|s| s.as_str().to_owned()),
            None => None,
        };
        let currency = match input.and_then(|i| i.currency.as_deref()) {
            Some(raw) => errors.check("currency", Currency::parse(raw)),
            None => Some(Currency::DEFAULT),
        };
        let time_zone = match input.and_then(|i| i.time_zone.as_deref()) {
            Some(raw) => errors.check("time_zone", TimeZone::parse(raw)),
            None => Some(TimeZone::DEFAULT),
        };
        errors.into_result()?;
        let (Some(name), Some(currency), Some(time_zone)) = (name, currency, time_zone) else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        let slug = match slug {
            Some(slug) => {
                if store_orgs::slug_taken(&mut tx, &slug).await? {
                    return Err(AppError::invalid("slug", "is already taken"));
                }
                slug
            }
            None => free_slug(&mut tx, name.as_str()).await?,
        };
        let id = OrganizationId::new();
        let org = store_orgs::insert(
            &mut tx,
            &NewOrganization {
                id,
                slug,
                name: name.as_str().to_owned(),
                currency: currency.code().to_owned(),
                time_zone: time_zone.name().to_owned(),
            },
        )
        .await
        .map_err(|e| {
            if e.is_conflict_on("organizations_slug_key") {
                AppError::invalid("slug", "is already taken")
            } else {
                e.into()
            }
        })?;
        let mut scoped = tx.into_tenant(id).await?;
        memberships::insert(&mut scoped, actor.user_id, Role::Owner, None).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "organization.created"),
            "organization",
            id,
        );
        e.changes = Some(json!({"name": org.name, "slug": org.slug}));
        store_audit::record(&mut scoped, e).await?;
        let created = UserOrganization {
            id,
            name: org.name,
            slug: org.slug,
            role: Role::Owner,
            role_key: None,
            two_factor_required: false,
            created_at: org.created_at,
        };
        Ok((created, scoped.into_platform().await?))
    }

    /// Self-service creation: the actor becomes the owner.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        input: NewOrganizationInput,
        meta: &RequestMeta,
    ) -> AppResult<UserOrganization> {
        actor.require_whole_account()?;
        if actor.api_key.is_some() {
            return Err(AppError::Forbidden);
        }
        let tx = self.db.platform().await?;
        let (org, tx) = self
            .create_organization_in(tx, actor, meta, &input.name.clone(), Some(&input))
            .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// The organizations the actor belongs to.
    pub async fn my_organizations(&self, actor: &Actor) -> AppResult<Vec<UserOrganization>> {
        let mut list = match self.identity.memberships(actor.user_id) {
            Some(list) => list,
            None => {
                let ticket = self.identity.ticket();
                let mut tx = self.db.platform_read().await?;
                let list = memberships::list_for_user(&mut tx, actor.user_id).await?;
                tx.commit().await?;
                self.identity.put_memberships(ticket, actor.user_id, &list);
                list
            }
        };
        if let Some(only) = actor.confined_to {
            // A single sign-on reaches its own organization only.
            list.retain(|o| o.id == only);
        }
        if let Some(key) = &actor.api_key {
            // An API key sees its own organization, with its own role.
            list.retain(|o| o.id == key.organization_id);
            for org in &mut list {
                org.role = key.role;
            }
        }
        Ok(list)
    }

    /// Finds the live organization a request names, first by custom domain, then subdomain of
    /// the base domain, then slug, then id. `None` when nothing matches.
    pub async fn resolve_organization(
        &self,
        hint: TenantHint<'_>,
    ) -> AppResult<Option<Organization>> {
        Ok(match hint {
            TenantHint::Domain(host) => {
                let host = host.to_ascii_lowercase();
                match self
                    .organization_by(OrganizationKey::Domain(host.clone()))
                    .await?
                {
                    Some(org) => Some(org),
                    None => match self.subdomain_slug(&host) {
                        Some(slug) => {
                            self.organization_by(OrganizationKey::Slug(slug.into()))
                                .await?
                        }
                        None => None,
                    },
                }
            }
            TenantHint::Slug(slug) => {
                self.organization_by(OrganizationKey::Slug(slug.into()))
                    .await?
            }
            TenantHint::Id(id) => self.organization_by(OrganizationKey::Id(id)).await?,
        })
    }

    /// A live organization, from the identity cache or the database.
    async fn organization_by(&self, key: OrganizationKey) -> AppResult<Option<Organization>> {
        use rapport_store::organizations::lookup;
        if let Some(known) = self.identity.organization(&key) {
            return Ok(known);
        }
        let ticket = self.identity.ticket();
        let found = match &key {
            OrganizationKey::Domain(host) => lookup::by_domain(&self.db, host).await?,
            OrganizationKey::Slug(slug) => lookup::by_slug(&self.db, slug).await?,
            OrganizationKey::Id(id) => lookup::by_id(&self.db, *id).await?,
        };
        self.identity.put_organization(ticket, key, found.as_ref());
        Ok(found)
    }

    /// What a member may do in an organization now (their role and its permissions), from the
    /// identity cache or the database; `None` when they are not a member.
    pub async fn access_in(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> AppResult<Option<crate::roles::Access>> {
        if let Some(access) = self.identity.access(organization, user) {
            return Ok(Some(access));
        }
        let ticket = self.identity.ticket();
        let standing = rapport_store::roles::standing_now(&self.db, organization, user).await?;
        let access = standing.map(crate::roles::Access::from_standing);
        if let Some(access) = &access {
            self.identity.put_access(ticket, organization, user, access);
        }
        Ok(access)
    }

    /// The member's role in an organization now.
    pub async fn role_in(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> AppResult<Option<Role>> {
        Ok(self.access_in(organization, user).await?.map(|a| a.role))
    }

    /// `acme` for `acme.crm.example.com` when the base domain is `crm.example.com`.
    pub fn subdomain_slug<'h>(&self, host: &'h str) -> Option<&'h str> {
        let base = self.config.base_domain.as_deref()?;
        let label = host.strip_suffix(base)?.strip_suffix('.')?;
        (!label.is_empty() && !label.contains('.')).then_some(label)
    }

    /// The actor's standing in an organization: 403 when not a member (or the organization does
    /// not exist, which must not be told apart), 403 `organization_suspended` when suspended.
    pub async fn enter_organization(
        &self,
        actor: &Actor,
        org: Organization,
        meta: &RequestMeta,
    ) -> AppResult<Tenant> {
        // A sign-in through an organization's single sign-on reaches that organization only.
        if actor.confined_to.is_some_and(|only| only != org.id) {
            return Err(AppError::Forbidden);
        }
        let access = match &actor.api_key {
            // A key works in its own organization only, with its own role.
            Some(key) if key.organization_id == org.id => Some(key.access.clone()),
            Some(_) => None,
            None => self.access_in(org.id, actor.user_id).await?,
        };
        // An instance administrator who is not a member enters only through a support grant
        // an owner approved, and every request under it is audited.
        let (access, support) = match access {
            Some(access) => (access, None),
            None if actor.is_instance_admin && actor.api_key.is_none() => {
                match self.support_access(actor, &org).await? {
                    Some((access, grant)) => (access, Some(grant)),
                    None => return Err(AppError::Forbidden),
                }
            }
            None => return Err(AppError::Forbidden),
        };
        if org.deleted_at.is_some() {
            return Err(AppError::Forbidden);
        }
        if org.status == OrganizationStatus::Suspended {
            return Err(AppError::OrganizationSuspended);
        }
        // An organization that requires its single sign-on lets people (not keys) in through
        // it alone; owners keep their password, so a provider out of order locks nobody out.
        // Asked first: such a sign-in is the provider's to secure, so a second factor set up
        // here would be for nothing.
        if org.sso_required
            && actor.api_key.is_none()
            && support.is_none()
            && actor.confined_to != Some(org.id)
            && access.role != Role::Owner
        {
            return Err(AppError::SingleSignOnRequired);
        }
        // A person (not a key) without a second factor does not enter an organization that
        // requires one; their own profile, where they turn it on, is outside any organization.
        // A sign-in through its own single sign-on is the provider's to secure.
        if org.two_factor_required
            && actor.api_key.is_none()
            && !actor.two_factor
            && actor.confined_to != Some(org.id)
        {
            return Err(AppError::TwoFactorEnrollmentRequired);
        }
        // Only a request let in is written down as made under the grant.
        if let Some(grant) = support {
            self.note_support_request(actor, org.id, grant, &access, meta)
                .await?;
        }
        Ok(Tenant {
            organization: org,
            role: access.role,
            access,
            preview: None,
            support,
        })
    }

    /// [`App::enter_organization`] by id.
    pub async fn enter_organization_by_id(
        &self,
        actor: &Actor,
        id: OrganizationId,
        meta: &RequestMeta,
    ) -> AppResult<Tenant> {
        let org = self
            .resolve_organization(TenantHint::Id(id))
            .await?
            .ok_or(AppError::Forbidden)?;
        self.enter_organization(actor, org, meta).await
    }

    /// Changes an organization's settings (owner/admin), auditing each changed field.
    pub async fn update_organization(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        update: SettingsUpdate,
        meta: &RequestMeta,
    ) -> AppResult<Organization> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let before = store_orgs::current(&mut tx).await?;
        let mut errors = ValidationErrors::new();
        let name = match &update.name {
            Some(raw) => errors
                .check("name", OrganizationName::parse(raw))
                .map(|n| n.as_str().to_owned()),
            None => Some(before.name.clone()),
        };
        let slug = match &update.slug {
            Some(raw) => errors
                .check("slug", Slug::parse(raw))
                .map(|s| s.as_str().to_owned()),
            None => Some(before.slug.clone()),
        };
        let currency = match &update.currency {
            Some(raw) => errors
                .check("currency", Currency::parse(raw))
                .map(|c| c.code().to_owned()),
            None => Some(before.currency.clone()),
        };
        let time_zone = match &update.time_zone {
            Some(raw) => errors
                .check("time_zone", TimeZone::parse(raw))
                .map(|t| t.name().to_owned()),
            None => Some(before.time_zone.clone()),
        };
        let primary_color = match &update.primary_color {
            Some(Some(raw)) => errors
                .check("primary_color", BrandColor::parse(raw))
                .map(|c| Some(c.as_str().to_owned())),
            Some(None) => Some(None),
            None => Some(before.primary_color.clone()),
        };
        let two_factor_required = update
            .two_factor_required
            .unwrap_or(before.two_factor_required);
        if two_factor_required != before.two_factor_required && tenant.support.is_some() {
            return Err(AppError::Forbidden);
        }
        if two_factor_required && !before.two_factor_required && !actor.two_factor {
            return Err(AppError::conflict(
                "two_factor_not_enabled",
                "turn on two-factor authentication for your own account before requiring it of everyone",
            ));
        }
        errors.into_result()?;
        let (Some(name), Some(slug), Some(currency), Some(time_zone), Some(primary_color)) =
            (name, slug, currency, time_zone, primary_color)
        else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        store_orgs::update_settings(
            &mut tx,
            &Settings {
                name: name.clone(),
                slug: slug.clone(),
                currency: currency.clone(),
                time_zone: time_zone.clone(),
                primary_color: primary_color.clone(),
                two_factor_required,
            },
        )
        .await
        .map_err(|e| {
            if e.is_conflict_on("organizations_slug_key") {
                AppError::invalid("slug", "is already taken")
            } else {
                e.into()
            }
        })?;
        if let Some(diff) = changes(&[
            ("name", json!(before.name), json!(name)),
            ("slug", json!(before.slug), json!(slug)),
            ("currency", json!(before.currency), json!(currency)),
            ("time_zone", json!(before.time_zone), json!(time_zone)),
            (
                "primary_color",
                json!(before.primary_color),
                json!(primary_color),
            ),
            (
                "two_factor_required",
                json!(before.two_factor_required),
                json!(two_factor_required),
            ),
        ]) {
            let mut e = with_target(
                entry(Some(actor), meta, "organization.settings_changed"),
                "organization",
                tenant.id(),
            );
            e.changes = Some(diff);
            store_audit::record(&mut tx, e).await?;
        }
        let after = store_orgs::current(&mut tx).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The organization as its members see it: as the request found it (a change to it reaches
    /// every server's identity cache before the change is answered).
    pub fn organization(&self, tenant: &Tenant) -> Organization {
        tenant.organization.clone()
    }

    /// Stores a logo after checking it really is a PNG, a JPEG or a harmless SVG.
    pub async fn set_logo(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        content_type: &str,
        data: Vec<u8>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let kind = crate::organizations::logo::check(content_type, &data)
            .map_err(|m| AppError::invalid("logo", m))?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        store_orgs::set_logo(&mut tx, kind, data).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "organization.logo_changed"),
            "organization",
            tenant.id(),
        );
        e.changes = Some(json!({"logo": {"content_type": kind}}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn logo(&self, tenant: &Tenant) -> AppResult<Option<Logo>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let logo = store_orgs::logo(&mut tx).await?;
        tx.commit().await?;
        Ok(logo)
    }

    pub async fn delete_logo(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if store_orgs::delete_logo(&mut tx).await? {
            let e = with_target(
                entry(Some(actor), meta, "organization.logo_removed"),
                "organization",
                tenant.id(),
            );
            store_audit::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn domains(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Domain>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = rapport_store::domains::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn add_domain(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        domain: &str,
        meta: &RequestMeta,
    ) -> AppResult<Domain> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let domain = DomainName::parse(domain).map_err(|m| AppError::invalid("domain", m))?;
        if let Some(base) = &self.config.base_domain
            && (domain.as_str() == base || domain.as_str().ends_with(&format!(".{base}")))
        {
            return Err(AppError::invalid(
                "domain",
                format!(
                    "must not be under {base}; the organization is already served on its own subdomain"
                ),
            ));
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let added = rapport_store::domains::insert(&mut tx, domain.as_str())
            .await
            .map_err(|e| {
                if e.is_conflict_on("organization_domains_domain_key") {
                    AppError::conflict(
                        "domain_taken",
                        "this domain is already used by an organization",
                    )
                } else {
                    e.into()
                }
            })?;
        let mut e = with_target(
            entry(Some(actor), meta, "organization.domain_added"),
            "domain",
            added.id,
        );
        e.changes = Some(json!({"domain": {"before": null, "after": added.domain}}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(added)
    }

    pub async fn remove_domain(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: DomainId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let removed = rapport_store::domains::delete(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut e = with_target(
            entry(Some(actor), meta, "organization.domain_removed"),
            "domain",
            id,
        );
        e.changes = Some(json!({"domain": {"before": removed.domain, "after": null}}));
        store_audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A free slug derived from the name, with a numeric suffix when taken.
async fn free_slug(tx: &mut Tx, name: &str) -> AppResult<String> {
    let base = Slug::suggest(name);
    let base = if Slug::parse(&base).is_ok() {
        base
    } else {
        format!("{base}-org")
    };
    for n in 0..50 {
        let candidate = if n == 0 {
            base.clone()
        } else {
            format!("{base}-{}", n + 1)
        };
        if Slug::parse(&candidate).is_ok() && !store_orgs::slug_taken(tx, &candidate).await? {
            return Ok(candidate);
        }
    }
    let suffix = &crate::crypto::random_token()[..6]
        .to_ascii_lowercase()
        .replace(['-', '_'], "x");
    Ok(format!("{base}-{suffix}"))
}

pub mod logo {
    //! What a logo may be. Raster images are recognised by their signature; SVG is text that
    //! browsers execute, so anything that can run script or fetch elsewhere is refused.

    /// The content type to store, or why the image is refused.
    pub fn check(content_type: &str, data: &[u8]) -> Result<&'static str, String> {
        if data.is_empty() {
            return Err("is empty".into());
        }
        if data.len() > super::MAX_LOGO_BYTES {
            return Err("must be at most 1 MiB".into());
        }
        let declared = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match declared.as_str() {
            "image/png" if data.starts_with(b"\x89PNG\r\n\x1a\n") => Ok("image/png"),
            "image/jpeg" if data.starts_with(&[0xFF, 0xD8, 0xFF]) => Ok("image/jpeg"),
            "image/svg+xml" => check_svg(data).map(|()| "image/svg+xml"),
            "image/png" | "image/jpeg" => Err(format!("is not a valid {declared} image")),
            _ => Err("must be a PNG, JPEG or SVG image".into()),
        }
    }

    fn check_svg(data: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(data).map_err(|_| "is not a valid SVG image".to_owned())?;
        let lower = text.to_ascii_lowercase();
        if !lower.contains("<svg") {
            return Err("is not a valid SVG image".into());
        }
        const FORBIDDEN: &[&str] = &[
            "<script",
            "<foreignobject",
            "<iframe",
            "<embed",
            "<object",
            "<!entity",
            "<!doctype",
            "javascript:",
            "data:text/html",
            "<use",
            "<image",
            "<a ",
            "<a>",
            "@import",
            "url(",
            "<animate",
            "<set",
            "<handler",
            "<listener",
        ];
        if let Some(found) = FORBIDDEN.iter().find(|f| lower.contains(*f)) {
            return Err(format!(
                "contains {found:?}, which is not allowed in a logo (scripts and external content are refused)"
            ));
        }
        // Event handler attributes: on…= anywhere inside a tag.
        let bytes = lower.as_bytes();
        for (i, window) in bytes.windows(3).enumerate() {
            if window[0].is_ascii_whitespace() && window[1] == b'o' && window[2] == b'n' {
                let rest = &lower[i + 3..];
                let name_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
                let after = rest[name_len..].trim_start();
                if name_len > 0 && after.starts_with('=') {
                    return Err(
                        "contains an event handler attribute, which is not allowed in a logo"
                            .into(),
                    );
                }
            }
        }
        if lower.contains("href") {
            // Only fragment references (#id) are harmless.
            for part in lower.split("href").skip(1) {
                let value = part
                    .trim_start()
                    .trim_start_matches('=')
                    .trim_start()
                    .trim_start_matches(['"', '\'']);
                if !value.starts_with('#') {
                    return Err("links to external content, which is not allowed in a logo".into());
                }
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::check;

        #[test]
        fn raster_images_must_match_their_type() {
            assert_eq!(
                check("image/png", b"\x89PNG\r\n\x1a\nrest"),
                Ok("image/png")
            );
            assert_eq!(
                check("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]),
                Ok("image/jpeg")
            );
            assert!(check("image/png", b"GIF89a").is_err());
            assert!(check("image/gif", b"GIF89a").is_err());
            assert!(check("image/png", &[]).is_err());
        }

        #[test]
        fn harmless_svg_is_accepted() {
            let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect width="10" height="10" fill="#4f46e5"/></svg>"##;
            assert_eq!(check("image/svg+xml", svg), Ok("image/svg+xml"));
        }

        #[test]
        fn svg_that_runs_or_fetches_is_refused() {
            for bad in [
                r#"<svg><script>alert(1)</script></svg>"#,
                r#"<svg onload="alert(1)"></svg>"#,
                r#"<svg><rect onclick = "x()"/></svg>"#,
                r#"<svg><foreignObject><div/></foreignObject></svg>"#,
                r#"<svg><a href="javascript:alert(1)">x</a></svg>"#,
                r#"<svg><image href="https://evil.example/x.png"/></svg>"#,
                r#"<svg><style>@import url(https://evil.example/x.css)</style></svg>"#,
                r#"<!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>"#,
            ] {
                assert!(check("image/svg+xml", bad.as_bytes()).is_err(), "{bad}");
            }
        }

        #[test]
        fn oversized_logos_are_refused() {
            let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
            big.resize(super::super::MAX_LOGO_BYTES + 1, 0);
            assert!(check("image/png", &big).is_err());
        }
    }
}
