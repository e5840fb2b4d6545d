//! The client portal, as the organization's members run it: what it shows, the clients they
//! invite (each linked to a company or contact), and the deals and records they share with
//! one client. What a client does there is in [`client`].
//!
//! Clients are not users. They have no membership and no role; their sessions live in the
//! organization's own tables and cookie, which nothing on the staff side reads, so no path
//! leads from a client's sign-in to the staff pages or the API.

pub mod client;

use std::collections::{BTreeMap, BTreeSet};

use rapport_domain::account::{Email, PersonName};
use rapport_domain::schema::FieldType;
use rapport_domain::{Action, CompanyId, ContactId, Object, Ownership};
use rapport_store::portal::{self as store, UserFields};
use rapport_store::{TenantTx, tables};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{entry, with_target};
use crate::crypto::random_token;
use crate::mail::Email as Message;
use crate::model::{Company, Contact, Deal};
use crate::objects::catalog;
use crate::timeline::RecordRef;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

pub use rapport_store::portal::PortalUser as Client;

/// How long an invitation link works.
const INVITATION_TTL: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// How long a password reset link works.
const RESET_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(2);
/// The longest welcome text.
const WELCOME_MAX: usize = 2_000;

/// What the portal shows, as the organization set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalSettings {
    pub enabled: bool,
    /// A few words on the portal's home page.
    pub welcome: String,
    /// Deals linked to a client's company or contact appear (shared ones always do).
    pub show_deals: bool,
    /// Deals show their amount.
    pub show_amounts: bool,
    /// Custom objects whose records linked to a client's company or contact appear, with the
    /// fields shown of them besides their title and stage.
    pub objects: BTreeMap<String, Vec<String>>,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            enabled: false,
            welcome: String::new(),
            show_deals: true,
            show_amounts: false,
            objects: BTreeMap::new(),
        }
    }
}

impl From<store::Settings> for PortalSettings {
    fn from(s: store::Settings) -> Self {
        let objects =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s.objects)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let fields = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|f| f.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    (k, fields)
                })
                .collect();
        PortalSettings {
            enabled: s.enabled,
            welcome: s.welcome,
            show_deals: s.show_deals,
            show_amounts: s.show_amounts,
            objects,
        }
    }
}

/// Whether a field's values may be shown to clients: plain values only (a member, a link to
/// another record or a figure rolled up from others would name what the client does not see).
pub fn shown_to_clients(field_type: FieldType) -> bool {
    !matches!(
        field_type,
        FieldType::Relation | FieldType::Member | FieldType::Rollup
    )
}

pub(crate) async fn settings_in(tx: &mut TenantTx) -> AppResult<PortalSettings> {
    Ok(store::settings(tx)
        .await?
        .map(PortalSettings::from)
        .unwrap_or_default())
}

/// A client as a member writes them: email, name, and the company and contact they speak for.
#[derive(Clone, Debug, Default)]
pub struct ClientInput {
    pub email: String,
    pub name: String,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
}

/// A client of the organization as a record's page knows them: whether they see the record,
/// and whether it was shared with them (rather than reaching them through their company or
/// contact).
#[derive(Clone, Debug)]
pub struct RecordClient {
    pub client: Client,
    pub sees: bool,
    pub shared: bool,
}

/// A unique index refusing an email taken by a concurrent request, as the check says it.
fn email_taken(e: rapport_store::Error) -> AppError {
    match e {
        rapport_store::Error::Conflict { .. } => {
            AppError::invalid("email", "is already a client of this organization")
        }
        other => other.into(),
    }
}

/// Whether a client is active, invited (no password chosen yet) or deactivated.
pub fn status(c: &Client) -> &'static str {
    if c.deactivated_at.is_some() {
        "deactivated"
    } else if c.password_hash.is_none() {
        "invited"
    } else {
        "active"
    }
}

impl App {
    async fn authorize_clients(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: Action,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            action,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await
    }

    /// What the portal shows. Every member may read it (record pages say who sees a record).
    pub async fn portal_settings(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<PortalSettings> {
        self.authorize_clients(actor, tenant, meta, Action::View)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let settings = settings_in(&mut tx).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Changes what the portal shows (owners and admins). Objects and fields are checked
    /// against the organization's own: a custom object, a live field of a kind shown to
    /// clients.
    pub async fn save_portal_settings(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: PortalSettings,
        meta: &RequestMeta,
    ) -> AppResult<PortalSettings> {
        self.authorize_clients(actor, tenant, meta, Action::Edit)
            .await?;
        let mut errors = rapport_domain::ValidationErrors::new();
        let welcome = input.welcome.trim().to_owned();
        if welcome.chars().count() > WELCOME_MAX {
            errors.add(
                "welcome",
                format!("must be at most {WELCOME_MAX} characters"),
            );
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let mut objects = BTreeMap::new();
        for (key, fields) in &input.objects {
            let Some(object) = catalog.get(key).filter(|o| !o.def.builtin) else {
                errors.add(
                    &format!("objects.{key}"),
                    "must be a custom object of this organization",
                );
                continue;
            };
            let mut chosen = BTreeSet::new();
            for f in fields {
                match object.def.field(f) {
                    Some(def) if !def.archived && shown_to_clients(def.field_type) => {
                        chosen.insert(f.clone());
                    }
                    _ => errors.add(
                        &format!("objects.{key}"),
                        format!("{f:?} is not a field clients may see"),
                    ),
                }
            }
            objects.insert(key.clone(), chosen.into_iter().collect::<Vec<_>>());
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let before = settings_in(&mut tx).await?;
        let after = PortalSettings {
            enabled: input.enabled,
            welcome,
            show_deals: input.show_deals,
            show_amounts: input.show_amounts,
            objects,
        };
        store::save_settings(
            &mut tx,
            &store::Settings {
                enabled: after.enabled,
                welcome: after.welcome.clone(),
                show_deals: after.show_deals,
                show_amounts: after.show_amounts,
                objects: json!(after.objects).to_string(),
                updated_at: rapport_store::now(),
            },
        )
        .await?;
        let changed = crate::audit::changes(&[
            ("enabled", json!(before.enabled), json!(after.enabled)),
            ("welcome", json!(before.welcome), json!(after.welcome)),
            (
                "show_deals",
                json!(before.show_deals),
                json!(after.show_deals),
            ),
            (
                "show_amounts",
                json!(before.show_amounts),
                json!(after.show_amounts),
            ),
            ("objects", json!(before.objects), json!(after.objects)),
        ]);
        if let Some(changed) = changed {
            let mut e = entry(Some(actor), meta, "portal.settings_changed");
            e.changes = Some(changed);
            rapport_store::audit::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// The organization's clients, by name.
    pub async fn clients(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Client>> {
        self.authorize_clients(actor, tenant, meta, Action::View)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = store::list_users(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// One client.
    pub async fn client(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Client> {
        self.authorize_clients(actor, tenant, meta, Action::View)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let client = store::find_user(&mut tx, id).await?;
        tx.commit().await?;
        client.ok_or(AppError::NotFound)
    }

    /// Checks a client's fields: a valid email not used by another client, a name, and a company
    /// and contact that are live records of the organization.
    async fn client_fields(
        tx: &mut TenantTx,
        input: &ClientInput,
        current: Option<Uuid>,
    ) -> AppResult<UserFields> {
        let mut errors = rapport_domain::ValidationErrors::new();
        let email = match Email::parse(&input.email) {
            Ok(e) => Some(e),
            Err(m) => {
                errors.add("email", m);
                None
            }
        };
        let name = match PersonName::parse(&input.name) {
            Ok(n) => Some(n),
            Err(m) => {
                errors.add("name", m);
                None
            }
        };
        let company_id = match input.company_id {
            Some(id) => {
                let id = CompanyId::from(id);
                if tables::find::<Company>(tx, id).await?.is_none() {
                    errors.add("company_id", "no such company in this organization");
                }
                Some(id)
            }
            None => None,
        };
        let contact_id = match input.contact_id {
            Some(id) => {
                let id = ContactId::from(id);
                if tables::find::<Contact>(tx, id).await?.is_none() {
                    errors.add("contact_id", "no such contact in this organization");
                }
                Some(id)
            }
            None => None,
        };
        if let Some(email) = &email
            && let Some(other) = store::find_user_by_email(tx, email.as_str()).await?
            && Some(other.id) != current
        {
            errors.add("email", "is already a client of this organization");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        Ok(UserFields {
            email: email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            name: name.map(|n| n.as_str().to_owned()).unwrap_or_default(),
            company_id,
            contact_id,
        })
    }

    /// Invites a client: they get an email with a link to choose their password.
    pub async fn invite_client(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: ClientInput,
        meta: &RequestMeta,
    ) -> AppResult<Client> {
        self.authorize_clients(actor, tenant, meta, Action::Create)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = Self::client_fields(&mut tx, &input, None).await?;
        let id = store::insert_user(&mut tx, &fields, actor.user_id)
            .await
            .map_err(email_taken)?;
        let token = self
            .new_client_link(&mut tx, id, "invitation", INVITATION_TTL)
            .await?;
        let mut e = with_target(
            entry(Some(actor), meta, "portal.client_invited"),
            "client",
            id,
        );
        e.changes = Some(json!({
            "email": fields.email, "name": fields.name,
            "company_id": fields.company_id, "contact_id": fields.contact_id,
        }));
        rapport_store::audit::record(&mut tx, e).await?;
        let client = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        self.send_client_link(
            &tenant.organization,
            &client,
            "invitation",
            &token,
            Some(actor),
        )
        .await;
        Ok(client)
    }

    /// Changes a client's email, name, company or contact.
    pub async fn update_client(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        input: ClientInput,
        meta: &RequestMeta,
    ) -> AppResult<Client> {
        self.authorize_clients(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let before = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = Self::client_fields(&mut tx, &input, Some(id)).await?;
        store::update_user(&mut tx, id, &fields)
            .await
            .map_err(email_taken)?;
        // Another address is another person: links sent to the old one stop working, and
        // whoever signed in with it is signed out.
        if fields.email != before.email {
            store::expire_tokens(&mut tx, id).await?;
            store::revoke_user_sessions(&mut tx, id).await?;
        }
        let changed = crate::audit::changes(&[
            ("email", json!(before.email), json!(fields.email)),
            ("name", json!(before.name), json!(fields.name)),
            (
                "company_id",
                json!(before.company_id),
                json!(fields.company_id),
            ),
            (
                "contact_id",
                json!(before.contact_id),
                json!(fields.contact_id),
            ),
        ]);
        if let Some(changed) = changed {
            let mut e = with_target(
                entry(Some(actor), meta, "portal.client_changed"),
                "client",
                id,
            );
            e.changes = Some(changed);
            rapport_store::audit::record(&mut tx, e).await?;
        }
        let client = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(client)
    }

    /// Emails a client a fresh link: the invitation again while they have no password, else a
    /// link to choose a new one. Earlier links stop working.
    pub async fn send_client_sign_in_link(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Client> {
        self.authorize_clients(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let client = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if client.deactivated_at.is_some() {
            return Err(AppError::conflict(
                "client_deactivated",
                "this client is deactivated; reactivate them first",
            ));
        }
        let (purpose, ttl) = if client.password_hash.is_none() {
            ("invitation", INVITATION_TTL)
        } else {
            ("reset", RESET_TTL)
        };
        let token = self.new_client_link(&mut tx, id, purpose, ttl).await?;
        rapport_store::audit::record(
            &mut tx,
            with_target(
                entry(Some(actor), meta, "portal.client_link_sent"),
                "client",
                id,
            ),
        )
        .await?;
        tx.commit().await?;
        self.send_client_link(&tenant.organization, &client, purpose, &token, Some(actor))
            .await;
        Ok(client)
    }

    /// Deactivates a client (their sessions end; they keep their comments and shares) or makes
    /// them active again.
    pub async fn set_client_active(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        active: bool,
        meta: &RequestMeta,
    ) -> AppResult<Client> {
        self.authorize_clients(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let before = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if before.deactivated_at.is_none() != active {
            store::set_deactivated(&mut tx, id, (!active).then(rapport_store::now)).await?;
            if !active {
                store::revoke_user_sessions(&mut tx, id).await?;
                store::expire_tokens(&mut tx, id).await?;
            }
            let action = if active {
                "portal.client_reactivated"
            } else {
                "portal.client_deactivated"
            };
            rapport_store::audit::record(
                &mut tx,
                with_target(entry(Some(actor), meta, action), "client", id),
            )
            .await?;
        }
        let client = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(client)
    }

    /// Removes a client: their sessions, links and shares go; their comments stay under their
    /// name.
    pub async fn remove_client(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_clients(actor, tenant, meta, Action::Delete)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let client = store::find_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        store::delete_user(&mut tx, id).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "portal.client_removed"),
            "client",
            id,
        );
        e.changes = Some(json!({"email": client.email, "name": client.name}));
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn new_client_link(
        &self,
        tx: &mut TenantTx,
        client: Uuid,
        purpose: &str,
        ttl: chrono::TimeDelta,
    ) -> AppResult<String> {
        let token = random_token();
        store::insert_token(
            tx,
            client,
            purpose,
            &self.keys.hash_token(&token),
            rapport_store::now() + ttl,
        )
        .await?;
        Ok(token)
    }

    /// The address of a page of an organization's portal, which works whatever the way the
    /// organization is reached.
    pub fn portal_link(&self, organization: &crate::model::Organization, path: &str) -> String {
        self.link(&format!("/o/{}/portal{path}", organization.slug))
    }

    async fn send_client_link(
        &self,
        org: &crate::model::Organization,
        client: &Client,
        purpose: &str,
        token: &str,
        by: Option<&Actor>,
    ) {
        let message = self.client_link_message(org, client, purpose, token, by);
        self.mailer.send_or_log(message).await;
    }

    /// The email carrying a client's link: an invitation, or a new password.
    fn client_link_message(
        &self,
        org: &crate::model::Organization,
        client: &Client,
        purpose: &str,
        token: &str,
        by: Option<&Actor>,
    ) -> Message {
        if purpose == "invitation" {
            Message {
                to: client.email.clone(),
                subject: format!("Your client portal at {}", org.name),
                text: format!(
                    "Hello {},\n\n{} invited you to {}'s client portal, where you can follow your deals, \
                     see what is shared with you and write to the team.\n\nChoose your password here:\n\n{}\n\n\
                     The link works once and expires in {} days.\n",
                    client.name,
                    by.map_or_else(|| org.name.clone(), |a| a.name.clone()),
                    org.name,
                    self.portal_link(org, &format!("/welcome/{token}")),
                    INVITATION_TTL.num_days(),
                ),
            }
        } else {
            Message {
                to: client.email.clone(),
                subject: format!("Choose a new password for {}'s client portal", org.name),
                text: format!(
                    "Hello {},\n\nChoose a new password for {}'s client portal here:\n\n{}\n\n\
                     The link works once and expires in {} hours. If you did not ask for it, \
                     ignore this email: your password stays as it is.\n",
                    client.name,
                    org.name,
                    self.portal_link(org, &format!("/welcome/{token}")),
                    RESET_TTL.num_hours(),
                ),
            }
        }
    }

    /// The organization's clients and which of them see a deal or a custom record: those it is
    /// shared with, and those whose company or contact it is linked to (when the portal shows
    /// such records).
    pub async fn record_clients(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
        meta: &RequestMeta,
    ) -> AppResult<Vec<RecordClient>> {
        self.authorize_clients(actor, tenant, meta, Action::View)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let Some(shared_record) = self.shared_record(&mut tx, actor, tenant, record).await? else {
            return Err(AppError::NotFound);
        };
        let settings = settings_in(&mut tx).await?;
        let linked = client::links_of(&settings, &shared_record);
        let shared: BTreeSet<Uuid> = store::shared_with(&mut tx, record.id())
            .await?
            .into_iter()
            .collect();
        let clients = store::list_users(&mut tx).await?;
        tx.commit().await?;
        Ok(clients
            .into_iter()
            .map(|c| {
                let shared = shared.contains(&c.id);
                let linked = c
                    .company_id
                    .is_some_and(|id| linked.companies.contains(&id.as_uuid()))
                    || c.contact_id
                        .is_some_and(|id| linked.contacts.contains(&id.as_uuid()));
                RecordClient {
                    client: c,
                    sees: shared || linked,
                    shared,
                }
            })
            .collect())
    }

    /// A deal or custom record the actor sees, as the portal knows it.
    async fn shared_record(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
    ) -> AppResult<Option<client::Shared>> {
        Ok(match record {
            RecordRef::Deal(id) => tables::find::<Deal>(tx, id)
                .await?
                .filter(|d| tenant.sees("deal", tenant.relation(actor, d.owner_id)))
                .map(client::Shared::Deal),
            RecordRef::Record(id) => match rapport_store::records::live(tx, id).await? {
                Some(live) => {
                    let catalog = catalog(tx, tenant.organization.created_at).await?;
                    let object = catalog
                        .objects
                        .iter()
                        .find(|o| o.def.id == live.object_id)
                        .map(|o| o.def.clone());
                    match object {
                        Some(object)
                            if tenant.sees(
                                object.key.as_str(),
                                tenant.relation(actor, live.owner_id),
                            ) =>
                        {
                            rapport_store::records::find(tx, object.id, id)
                                .await?
                                .map(|row| client::Shared::Record(object, row))
                        }
                        _ => None,
                    }
                }
                None => None,
            },
            _ => None,
        })
    }

    /// Shares a deal or custom record with a client, or stops sharing it. The member needs to
    /// be allowed to change the record.
    pub async fn share_with_client(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
        client_id: Uuid,
        share: bool,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let (kind, owner) = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let found = self.shared_record(&mut tx, actor, tenant, record).await?;
            tx.commit().await?;
            match found {
                Some(client::Shared::Deal(d)) => ("deal".to_owned(), d.owner_id),
                Some(client::Shared::Record(object, row)) => {
                    (object.key.as_str().to_owned(), row.owner_id)
                }
                // A deleted record's share can still be withdrawn, by those who run clients.
                None if !share => {
                    self.authorize_clients(actor, tenant, meta, Action::Edit)
                        .await?;
                    let mut tx = self.db.tenant(tenant.id()).await?;
                    let removed = store::unshare(&mut tx, client_id, record.id()).await?;
                    tx.commit().await?;
                    return if removed {
                        Ok(())
                    } else {
                        Err(AppError::NotFound)
                    };
                }
                None => return Err(AppError::NotFound),
            }
        };
        self.authorize_kind(
            actor,
            tenant,
            meta,
            rapport_domain::access::RecordAction::Edit,
            &kind,
            tenant.relation(actor, owner),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let client = store::find_user(&mut tx, client_id)
            .await?
            .ok_or_else(|| AppError::invalid("client_id", "no such client in this organization"))?;
        let changed = if share {
            store::share(
                &mut tx,
                client.id,
                record.kind(),
                record.id(),
                actor.user_id,
            )
            .await?
        } else {
            store::unshare(&mut tx, client.id, record.id()).await?
        };
        if changed {
            let action = if share {
                "portal.record_shared"
            } else {
                "portal.record_unshared"
            };
            let mut e = with_target(entry(Some(actor), meta, action), record.kind(), record.id());
            e.changes = Some(json!({"client": {"id": client.id, "email": client.email}}));
            rapport_store::audit::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The records shared with a client one by one, newest first.
    pub async fn client_shares(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Vec<store::Share>> {
        // Owners and admins: the list names records the caller's own role may not see.
        self.authorize_clients(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        if store::find_user(&mut tx, id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let shares = store::shares_of(&mut tx, id).await?;
        tx.commit().await?;
        Ok(shares)
    }
}
