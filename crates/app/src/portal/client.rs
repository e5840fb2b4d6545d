//! The client portal as a client uses it: the links that let them choose a password, signing
//! in and out, and what they see — the deals and records shared with them or linked to their
//! company or contact, the tasks marked for them, and the comments both sides write.
//!
//! Every function here starts from the organization the address names and a client's session
//! in it; none takes an [`Actor`](crate::Actor), and none reads anything a member's role
//! decides. What a client reaches is decided once, by [`reach`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rapport_domain::schema::{FieldType, ObjectDef};
use rapport_domain::{DealId, RecordId, UserId};
use rapport_store::activities::{self, NewActivity};
use rapport_store::portal::{self as store, PortalUser};
use rapport_store::records::RecordRow;
use rapport_store::{TenantTx, pipelines};
use serde_json::json;
use uuid::Uuid;

use super::{Client, PortalSettings, settings_in, shown_to_clients};
use crate::accounts::{THROTTLE_WINDOW, login_delay};
use crate::audit::{entry, with_target};
use crate::crypto::random_token;
use crate::model::{Deal, Organization};
use crate::objects::catalog;
use crate::records::typed_values;
use crate::{App, AppError, AppResult, RequestMeta};

/// How long a client's session lasts at most (it ends sooner when idle for
/// `RAPPORT_SESSION_IDLE_TIMEOUT_SECS`).
const SESSION_LENGTH: chrono::TimeDelta = chrono::TimeDelta::days(14);
/// A session's last activity is written at most this often.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The longest comment.
const COMMENT_MAX: usize = 10_000;

/// A deal or custom record, as the portal reads it.
pub enum Shared {
    Deal(Deal),
    Record(ObjectDef, RecordRow),
}

/// The companies and contacts a record is linked to, as far as the portal counts links.
#[derive(Default)]
pub(crate) struct Links {
    pub companies: BTreeSet<Uuid>,
    pub contacts: BTreeSet<Uuid>,
}

/// The companies and contacts whose clients a record reaches without being shared: a deal's
/// company and contact when the portal shows deals, a custom record's relations to companies
/// and contacts when the portal shows its object.
pub(crate) fn links_of(settings: &PortalSettings, record: &Shared) -> Links {
    let mut links = Links::default();
    match record {
        Shared::Deal(d) if settings.show_deals => {
            links.companies.extend(d.company_id.map(|c| c.as_uuid()));
            links.contacts.extend(d.contact_id.map(|c| c.as_uuid()));
        }
        Shared::Record(object, row) if settings.objects.contains_key(object.key.as_str()) => {
            let typed = typed_values(object, &row.data.0);
            for field in object.fields.iter().filter(|f| !f.archived) {
                let Some(rapport_domain::values::Value::Relation(ids)) = typed.get(&field.key)
                else {
                    continue;
                };
                match field.target.as_ref().map(|t| t.as_str()) {
                    Some("company") => links.companies.extend(ids.iter().copied()),
                    Some("contact") => links.contacts.extend(ids.iter().copied()),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    links
}

/// A client signed in to an organization's portal.
#[derive(Clone, Debug)]
pub struct ClientSession {
    pub organization: Organization,
    pub client: Client,
    pub session_id: Uuid,
    /// Sent back by the portal's forms.
    pub csrf_token: String,
    pub settings: PortalSettings,
}

/// A session just opened: the cookie's value and when it ends.
#[derive(Clone, Debug)]
pub struct OpenedPortalSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A link from an email, still good: whose it is and what for.
#[derive(Clone, Debug)]
pub struct ClientLink {
    pub client: Client,
    /// `invitation` or `reset`.
    pub purpose: String,
}

/// A deal or record as a client sees it.
#[derive(Clone, Debug)]
pub struct PortalItem {
    /// `deal`, or the custom object's key.
    pub kind: String,
    /// "Deal", or the object's singular name.
    pub kind_label: String,
    pub id: Uuid,
    pub title: String,
    /// Its stage (a deal's pipeline stage, a record's board column).
    pub stage: Option<String>,
    /// A deal's status key: `new`, `in_progress`, `won`, `lost`.
    pub status: Option<String>,
    /// A deal's amount (minor units, currency) when the portal shows amounts.
    pub amount: Option<(i64, String)>,
    pub close_date: Option<NaiveDate>,
    /// The fields the organization chose to show: (label, value).
    pub fields: Vec<(String, String)>,
    pub updated_at: DateTime<Utc>,
}

/// A task a client sees.
#[derive(Clone, Debug)]
pub struct PortalTask {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub is_done: bool,
    /// The deal or record it is about, when the client sees it: (kind, id, title).
    pub about: Option<(String, Uuid, String)>,
}

/// A comment a client sees.
#[derive(Clone, Debug)]
pub struct PortalComment {
    pub author: String,
    /// Written by a client (this one or another of the record's).
    pub from_client: bool,
    /// Written by the client reading.
    pub mine: bool,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// The portal's home: everything the client reaches.
#[derive(Clone, Debug)]
pub struct PortalHome {
    pub items: Vec<PortalItem>,
    pub tasks: Vec<PortalTask>,
}

/// One deal or record, with its tasks and comments.
#[derive(Clone, Debug)]
pub struct PortalRecord {
    pub item: PortalItem,
    pub tasks: Vec<PortalTask>,
    pub comments: Vec<PortalComment>,
}

/// What a client reaches: the items, with the records behind them.
struct Reach {
    items: Vec<(PortalItem, Shared)>,
}

/// Everything a client reaches, read in `tx`. This is the one place that decides it.
async fn reach(
    tx: &mut TenantTx,
    organization: &Organization,
    settings: &PortalSettings,
    client: &PortalUser,
) -> AppResult<Reach> {
    let catalog = catalog(tx, organization.created_at).await?;
    let mut items = Vec::new();
    let deals = store::deals_of(tx, client, settings.show_deals).await?;
    if !deals.is_empty() {
        let pipelines = pipelines::list(tx).await?;
        for d in deals {
            let stage = pipelines
                .iter()
                .find(|p| p.id == d.pipeline_id)
                .and_then(|p| p.stage(d.stage.as_str()))
                .map(|s| s.name.clone());
            let item = PortalItem {
                kind: "deal".into(),
                kind_label: "Deal".into(),
                id: d.id.as_uuid(),
                title: d.title.clone(),
                stage,
                status: Some(d.status.as_str().to_owned()),
                amount: (settings.show_amounts && d.amount.minor != 0)
                    .then(|| (d.amount.minor, d.amount.currency.to_string())),
                close_date: d.expected_close_date,
                fields: Vec::new(),
                updated_at: d.updated_at,
            };
            items.push((item, Shared::Deal(d)));
        }
    }
    // Custom objects shown to clients, and their relation fields to companies and contacts.
    let mut objects = Vec::new();
    let mut fields = Vec::new();
    for key in settings.objects.keys() {
        if let Some(o) = catalog.get(key).filter(|o| !o.def.builtin) {
            objects.push(o.def.id.as_uuid());
            fields.extend(
                o.def
                    .fields
                    .iter()
                    .filter(|f| {
                        !f.archived
                            && f.field_type == FieldType::Relation
                            && matches!(
                                f.target.as_ref().map(|t| t.as_str()),
                                Some("company" | "contact")
                            )
                    })
                    .map(|f| f.id.as_uuid()),
            );
        }
    }
    for row in store::records_of(tx, client, &objects, &fields).await? {
        let Some(object) = catalog
            .objects
            .iter()
            .find(|o| o.def.id == row.object_id)
            .map(|o| o.def.clone())
        else {
            continue;
        };
        let typed = typed_values(&object, &row.data.0);
        let stage = object.board_field.as_ref().and_then(|key| {
            let field = object.field(key.as_str())?;
            Some(typed.get(key)?.display(field))
        });
        let chosen = settings.objects.get(object.key.as_str());
        let shown = object
            .fields
            .iter()
            .filter(|f| {
                !f.archived
                    && shown_to_clients(f.field_type)
                    && f.key != object.primary_field
                    && Some(&f.key) != object.board_field.as_ref()
                    && chosen.is_some_and(|c| c.iter().any(|k| k == f.key.as_str()))
            })
            .filter_map(|f| Some((f.label.clone(), typed.get(&f.key)?.display(f))))
            .collect();
        let item = PortalItem {
            kind: object.key.as_str().to_owned(),
            kind_label: object.singular.clone(),
            id: row.id.as_uuid(),
            title: row.title.clone(),
            stage,
            status: None,
            amount: None,
            close_date: None,
            fields: shown,
            updated_at: row.updated_at,
        };
        items.push((item, Shared::Record(object, row)));
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.0.updated_at));
    Ok(Reach { items })
}

/// The tasks marked for clients on what the client reaches (and on their company and contact).
async fn tasks_in(
    tx: &mut TenantTx,
    reach: &Reach,
    client: &PortalUser,
    only: Option<Uuid>,
) -> AppResult<Vec<PortalTask>> {
    let ids: Vec<Uuid> = match only {
        Some(id) => vec![id],
        None => reach.items.iter().map(|(i, _)| i.id).collect(),
    };
    let (company, contact) = match only {
        Some(_) => (None, None),
        None => (client.company_id, client.contact_id),
    };
    let titles: HashMap<Uuid, (&str, &str)> = reach
        .items
        .iter()
        .map(|(i, _)| (i.id, (i.kind.as_str(), i.title.as_str())))
        .collect();
    Ok(store::tasks_of(tx, &ids, company, contact)
        .await?
        .into_iter()
        .map(|t| {
            let on = t
                .deal_id
                .map(|d| d.as_uuid())
                .or(t.record_id.map(|r| r.as_uuid()));
            PortalTask {
                id: t.id.as_uuid(),
                title: t.title,
                description: t.description,
                due_date: t.due_date,
                is_done: t.is_done,
                about: on.and_then(|id| {
                    titles
                        .get(&id)
                        .map(|(k, title)| ((*k).to_owned(), id, (*title).to_owned()))
                }),
            }
        })
        .collect())
}

fn sign_in_key(organization: &Organization, email: &str) -> String {
    format!("portal {} {email}", organization.id)
}

impl App {
    /// What the portal of an organization shows, for its pages before anyone signs in (whether
    /// it is open at all).
    pub async fn portal_open(&self, organization: &Organization) -> AppResult<bool> {
        let mut tx = self.db.tenant_read(organization.id).await?;
        let settings = settings_in(&mut tx).await?;
        tx.commit().await?;
        Ok(settings.enabled
            && organization.status == rapport_domain::organization::OrganizationStatus::Active)
    }

    /// The organization's logo, for the portal's header.
    pub async fn portal_logo(
        &self,
        organization: &Organization,
    ) -> AppResult<Option<rapport_store::organizations::Logo>> {
        let mut tx = self.db.tenant_read(organization.id).await?;
        let logo = rapport_store::organizations::logo(&mut tx).await?;
        tx.commit().await?;
        Ok(logo)
    }

    /// Signs a client in with their email and password. Wrong emails and passwords, and
    /// deactivated clients, get the same answer, after the same work; failures count against the
    /// address and the email as members' sign-ins do.
    pub async fn portal_sign_in(
        &self,
        organization: &Organization,
        email: &str,
        password: &str,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedPortalSession> {
        if !self.portal_open(organization).await? {
            return Err(AppError::NotFound);
        }
        let email = email.trim().to_lowercase();
        let key = sign_in_key(organization, &email);
        let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
        let at = rapport_store::now();
        let since = at - THROTTLE_WINDOW;
        let mut read = self.db.platform_read().await?;
        let failures =
            rapport_store::auth::login_failures_since(&mut read, &key, &ip, since).await?;
        let from_address =
            rapport_store::auth::address_failures_since(&mut read, &ip, since).await?;
        read.commit().await?;
        let wait = login_delay(&failures, at).or_else(|| {
            (from_address.count >= self.config.login_address_limit as i64)
                .then(|| {
                    from_address
                        .oldest
                        .map(|oldest| oldest + THROTTLE_WINDOW - at)
                })
                .flatten()
        });
        if let Some(wait) = wait {
            return Err(AppError::TooManyRequests {
                retry_after_secs: wait.num_seconds().max(1) as u64,
            });
        }
        let mut read = self.db.tenant_read(organization.id).await?;
        let client = store::find_user_by_email(&mut read, &email).await?;
        read.commit().await?;
        let hash = client
            .as_ref()
            .filter(|c| c.deactivated_at.is_none())
            .and_then(|c| c.password_hash.clone());
        let matches = self
            .passwords
            .verify_or_dummy(password.to_owned(), hash.clone())
            .await?
            && hash.is_some();
        let mut tx = self.db.tenant(organization.id).await?;
        let audit_entry = |action: &str| {
            let mut e = entry(None, meta, action);
            e.actor_email = Some(email.clone());
            e
        };
        match client {
            Some(client) if matches => {
                let opened = self
                    .open_portal_session(&mut tx, &client, previous_token, meta)
                    .await?;
                rapport_store::audit::record(
                    &mut tx,
                    with_target(audit_entry("portal.signed_in"), "client", client.id),
                )
                .await?;
                tx.commit().await?;
                let mut platform = self.db.platform().await?;
                rapport_store::auth::clear_login_failures(&mut platform, &key, &ip).await?;
                platform.commit().await?;
                Ok(opened)
            }
            found => {
                let mut e = audit_entry("portal.sign_in_failed");
                if let Some(c) = found {
                    e = with_target(e, "client", c.id);
                }
                rapport_store::audit::record(&mut tx, e).await?;
                tx.commit().await?;
                let mut platform = self.db.platform().await?;
                rapport_store::auth::record_login_failure(&mut platform, &key, &ip).await?;
                platform.commit().await?;
                Err(AppError::Unauthenticated("invalid email or password"))
            }
        }
    }

    async fn open_portal_session(
        &self,
        tx: &mut TenantTx,
        client: &PortalUser,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedPortalSession> {
        if let Some(previous) = previous_token
            && let Some(old) = store::find_session(tx, &self.keys.hash_token(previous)).await?
        {
            store::revoke_session(tx, old.id).await?;
        }
        let token = random_token();
        let expires_at = rapport_store::now() + SESSION_LENGTH;
        store::insert_session(
            tx,
            store::NewSession {
                user: client.id,
                token_hash: &self.keys.hash_token(&token),
                csrf_token: &random_token(),
                ip: meta.ip.as_deref(),
                user_agent: meta.user_agent.as_deref(),
                expires_at,
            },
        )
        .await?;
        store::note_sign_in(tx, client.id).await?;
        Ok(OpenedPortalSession { token, expires_at })
    }

    /// The client a portal cookie belongs to in this organization, if it is a live session of an
    /// active client and the portal is open.
    pub async fn portal_session(
        &self,
        organization: &Organization,
        token: &str,
    ) -> AppResult<Option<ClientSession>> {
        if organization.status != rapport_domain::organization::OrganizationStatus::Active {
            return Ok(None);
        }
        let hash = self.keys.hash_token(token);
        let mut tx = self.db.tenant_read(organization.id).await?;
        let settings = settings_in(&mut tx).await?;
        if !settings.enabled {
            tx.commit().await?;
            return Ok(None);
        }
        let Some(session) = store::find_session(&mut tx, &hash).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let client = store::find_user(&mut tx, session.portal_user_id).await?;
        tx.commit().await?;
        let Some(client) = client else {
            return Ok(None);
        };
        // Idle as long as a member's session may be, it ends; activity is written often
        // enough that an active client never reaches that.
        let idle = chrono::TimeDelta::from_std(self.config.session_idle_timeout)
            .unwrap_or(chrono::TimeDelta::hours(2));
        let quiet = rapport_store::now() - session.last_seen_at;
        if quiet > idle {
            return Ok(None);
        }
        if quiet > TOUCH_EVERY.min(idle / 2) {
            let mut tx = self.db.tenant(organization.id).await?;
            store::touch_session(&mut tx, session.id).await?;
            tx.commit().await?;
        }
        Ok(Some(ClientSession {
            organization: organization.clone(),
            client,
            session_id: session.id,
            csrf_token: session.csrf_token,
            settings,
        }))
    }

    /// Ends a client's session.
    pub async fn portal_sign_out(
        &self,
        session: &ClientSession,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let mut tx = self.db.tenant(session.organization.id).await?;
        store::revoke_session(&mut tx, session.session_id).await?;
        let mut e = with_target(
            entry(None, meta, "portal.signed_out"),
            "client",
            session.client.id,
        );
        e.actor_email = Some(session.client.email.clone());
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The client and purpose of an emailed link, while it is unused and unexpired.
    pub async fn portal_link_of(
        &self,
        organization: &Organization,
        token: &str,
    ) -> AppResult<ClientLink> {
        let mut tx = self.db.tenant_read(organization.id).await?;
        let link = store::find_token(&mut tx, &self.keys.hash_token(token)).await?;
        let found = match link {
            Some(l) if l.used_at.is_none() && l.expires_at > rapport_store::now() => {
                store::find_user(&mut tx, l.portal_user_id)
                    .await?
                    .filter(|c| c.deactivated_at.is_none())
                    .map(|client| ClientLink {
                        client,
                        purpose: l.purpose,
                    })
            }
            _ => None,
        };
        tx.commit().await?;
        found.ok_or(AppError::NotFound)
    }

    /// Sets a client's password from an emailed link (spent by it), ends their other sessions
    /// and signs them in.
    pub async fn portal_choose_password(
        &self,
        organization: &Organization,
        token: &str,
        password: &str,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedPortalSession> {
        if !self.portal_open(organization).await? {
            return Err(AppError::NotFound);
        }
        let link = self.portal_link_of(organization, token).await?;
        let email = rapport_domain::account::Email::parse(&link.client.email).ok();
        let password = rapport_domain::account::NewPassword::parse(
            password,
            email.as_ref(),
            &self.config.password_policy,
        )
        .map_err(|m| AppError::invalid("password", m))?;
        let hash = self.passwords.hash(password.expose().to_owned()).await?;
        let mut tx = self.db.tenant(organization.id).await?;
        let Some(found) = store::find_token(&mut tx, &self.keys.hash_token(token)).await? else {
            return Err(AppError::NotFound);
        };
        if !store::use_token(&mut tx, found.id).await? {
            return Err(AppError::NotFound);
        }
        store::set_password(&mut tx, link.client.id, &hash).await?;
        store::revoke_user_sessions(&mut tx, link.client.id).await?;
        let opened = self
            .open_portal_session(&mut tx, &link.client, previous_token, meta)
            .await?;
        let action = if link.purpose == "invitation" {
            "portal.invitation_accepted"
        } else {
            "portal.password_reset"
        };
        let mut e = with_target(entry(None, meta, action), "client", link.client.id);
        e.actor_email = Some(link.client.email.clone());
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(opened)
    }

    /// Emails a client who forgot their password a link to choose another (their invitation
    /// again when they never chose one). Says nothing of whether the email is a client's; a
    /// link of the same kind made within the last minute means no second email.
    pub async fn portal_forgot_password(
        &self,
        organization: &Organization,
        email: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        if !self.portal_open(organization).await? {
            return Err(AppError::NotFound);
        }
        let Ok(email) = rapport_domain::account::Email::parse(email) else {
            return Err(AppError::invalid("email", "must be a valid email address"));
        };
        let mut tx = self.db.tenant(organization.id).await?;
        let Some(client) = store::find_user_by_email(&mut tx, email.as_str())
            .await?
            .filter(|c| c.deactivated_at.is_none())
        else {
            tx.commit().await?;
            return Ok(());
        };
        let purpose = if client.password_hash.is_none() {
            "invitation"
        } else {
            "reset"
        };
        if store::latest_token_at(&mut tx, client.id, purpose)
            .await?
            .is_some_and(|at| rapport_store::now() - at < chrono::TimeDelta::minutes(1))
        {
            tx.commit().await?;
            return Ok(());
        }
        let ttl = if purpose == "invitation" {
            super::INVITATION_TTL
        } else {
            super::RESET_TTL
        };
        let token = self
            .new_client_link(&mut tx, client.id, purpose, ttl)
            .await?;
        let mut e = with_target(
            entry(None, meta, "portal.password_reset_requested"),
            "client",
            client.id,
        );
        e.actor_email = Some(client.email.clone());
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        // Sent after answering: how long the answer takes says nothing of whether the address
        // is a client's.
        let message = self.client_link_message(organization, &client, purpose, &token, None);
        let mailer = self.mailer.clone();
        tokio::spawn(async move { mailer.send_or_log(message).await });
        Ok(())
    }

    /// The portal's home: what the client reaches, and the tasks marked for them.
    pub async fn portal_home(&self, session: &ClientSession) -> AppResult<PortalHome> {
        let mut tx = self.db.tenant_read(session.organization.id).await?;
        let reach = reach(
            &mut tx,
            &session.organization,
            &session.settings,
            &session.client,
        )
        .await?;
        let tasks = tasks_in(&mut tx, &reach, &session.client, None).await?;
        tx.commit().await?;
        Ok(PortalHome {
            items: reach.items.into_iter().map(|(i, _)| i).collect(),
            tasks,
        })
    }

    /// One deal or record the client reaches (404 otherwise, whether it exists or not), with
    /// its tasks and the comments clients see.
    pub async fn portal_record(
        &self,
        session: &ClientSession,
        id: Uuid,
    ) -> AppResult<PortalRecord> {
        let mut tx = self.db.tenant_read(session.organization.id).await?;
        let reach = reach(
            &mut tx,
            &session.organization,
            &session.settings,
            &session.client,
        )
        .await?;
        let Some(item) = reach
            .items
            .iter()
            .find(|(i, _)| i.id == id)
            .map(|(i, _)| i.clone())
        else {
            return Err(AppError::NotFound);
        };
        let tasks = tasks_in(&mut tx, &reach, &session.client, Some(id)).await?;
        let rows = store::comments_of(&mut tx, id).await?;
        // Clients see their own messages and their colleagues' (the same company), not those of
        // another company's clients the record is also shared with.
        let colleagues: BTreeSet<String> = match session.client.company_id {
            Some(company) => store::list_users(&mut tx)
                .await?
                .into_iter()
                .filter(|c| c.company_id == Some(company))
                .map(|c| c.id.to_string())
                .collect(),
            None => BTreeSet::new(),
        };
        let me = session.client.id.to_string();
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|a| match a.payload.0["client"]["id"].as_str() {
                Some(author) => author == me || colleagues.contains(author),
                None => true,
            })
            .collect();
        let mut names: BTreeMap<Uuid, String> = BTreeMap::new();
        for author in rows.iter().filter_map(|a| a.author_id) {
            if let std::collections::btree_map::Entry::Vacant(v) = names.entry(author) {
                let person = rapport_store::users::person(tx.raw(), UserId(author)).await?;
                v.insert(person.map_or_else(|| "Former member".to_owned(), |p| p.name));
            }
        }
        tx.commit().await?;
        let comments = rows
            .into_iter()
            .map(|a| {
                let payload = &a.payload.0;
                let client = payload.get("client");
                let text = payload["text"].as_str().unwrap_or_default().to_owned();
                match (a.author_id, client) {
                    (Some(author), _) => PortalComment {
                        author: names.get(&author).cloned().unwrap_or_default(),
                        from_client: false,
                        mine: false,
                        text,
                        at: a.created_at,
                    },
                    (None, client) => PortalComment {
                        author: client
                            .and_then(|c| c["name"].as_str())
                            .unwrap_or("Client")
                            .to_owned(),
                        from_client: true,
                        mine: client.and_then(|c| c["id"].as_str())
                            == Some(session.client.id.to_string().as_str()),
                        text,
                        at: a.created_at,
                    },
                }
            })
            .collect();
        Ok(PortalRecord {
            item,
            tasks,
            comments,
        })
    }

    /// A client's comment on a deal or record they reach: on its timeline for the members, in
    /// the portal for its clients, and a notification to its owner.
    pub async fn portal_comment(
        &self,
        session: &ClientSession,
        id: Uuid,
        text: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AppError::invalid("text", "must not be empty"));
        }
        if text.chars().count() > COMMENT_MAX {
            return Err(AppError::invalid(
                "text",
                format!("must be at most {COMMENT_MAX} characters"),
            ));
        }
        let mut tx = self.db.tenant(session.organization.id).await?;
        let reach = reach(
            &mut tx,
            &session.organization,
            &session.settings,
            &session.client,
        )
        .await?;
        let Some(record_type) =
            reach
                .items
                .iter()
                .find(|(i, _)| i.id == id)
                .map(|(_, s)| match s {
                    Shared::Deal(_) => "deal",
                    Shared::Record(..) => "record",
                })
        else {
            return Err(AppError::NotFound);
        };
        let client = json!({
            "id": session.client.id,
            "name": session.client.name,
            "email": session.client.email,
        });
        let activity = activities::insert(
            &mut tx,
            NewActivity {
                record_type,
                record_id: id,
                author_id: None,
                kind: "comment".into(),
                payload: json!({"text": text, "portal": true, "client": client}),
            },
        )
        .await?;
        crate::events::publish(
            &mut tx,
            rapport_store::events::NewEvent {
                event_type: "comment.created".into(),
                version: crate::events::VERSION,
                record_type: Some(record_type.to_owned()),
                record_id: Some(id),
                changed: Vec::new(),
                actor_id: None,
                payload: json!({
                    "activity_id": activity.id, "type": "comment", "mentions": null,
                    "portal": true, "client": client, "text": text,
                }),
            },
        )
        .await?;
        let mut e = with_target(entry(None, meta, "portal.commented"), record_type, id);
        e.actor_email = Some(session.client.email.clone());
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Ids of a deal and a record, for callers that name one.
pub fn deal_or_record(kind: &str, id: Uuid) -> crate::timeline::RecordRef {
    if kind == "deal" {
        crate::timeline::RecordRef::Deal(DealId::from(id))
    } else {
        crate::timeline::RecordRef::Record(RecordId::from(id))
    }
}
