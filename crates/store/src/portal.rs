//! The client portal: its settings, the clients (portal users) an organization invites, their
//! sign-in links and sessions, the records shared with them, and the reads of what a client
//! sees. See `app/portal/`. Every function runs in the organization's own transaction.

use chrono::{DateTime, Utc};
use rapport_domain::{CompanyId, ContactId, UserId};
use uuid::Uuid;

use crate::activities::Activity;
use crate::deals::Deal;
use crate::records::RecordRow;
use crate::tasks::Task;
use crate::{Result, TenantTx, query};

// ---------------------------------------------------------------------------------------------
// Settings

/// What the portal shows, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Settings {
    pub enabled: bool,
    /// A few words on the portal's home page.
    pub welcome: String,
    /// Deals linked to a client's company or contact appear (shared ones always do).
    pub show_deals: bool,
    pub show_amounts: bool,
    /// A JSON document, `{"object key": ["field key", …]}`: custom objects whose linked records
    /// appear, and the fields shown of them.
    pub objects: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn settings(tx: &mut TenantTx) -> Result<Option<Settings>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(
                "SELECT enabled, welcome, show_deals, show_amounts, objects, updated_at \
                 FROM portal_settings WHERE organization_id = $1",
            )
            .bind(org),
        )
        .await
}

pub async fn save_settings(tx: &mut TenantTx, s: &Settings) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "INSERT INTO portal_settings (organization_id, enabled, welcome, show_deals, show_amounts, objects, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (organization_id) DO UPDATE SET \
                 enabled = excluded.enabled, welcome = excluded.welcome, show_deals = excluded.show_deals, \
                 show_amounts = excluded.show_amounts, objects = excluded.objects, updated_at = excluded.updated_at",
            )
            .bind(org)
            .bind(s.enabled)
            .bind(&s.welcome)
            .bind(s.show_deals)
            .bind(s.show_amounts)
            .bind(&s.objects)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Clients

/// A client of the organization, with the names of the company and contact they speak for.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PortalUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "crate::Link")]
    pub company_id: Option<CompanyId>,
    #[sqlx(try_from = "crate::Link")]
    pub contact_id: Option<ContactId>,
    pub company_name: Option<String>,
    pub contact_name: Option<String>,
    pub password_hash: Option<String>,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

const USER: &str = "SELECT p.id, p.email, p.name, p.company_id, p.contact_id, \
     co.name AS company_name, ct.name AS contact_name, p.password_hash, p.invited_by, \
     p.created_at, p.updated_at, p.last_sign_in_at, p.deactivated_at FROM portal_users p \
     LEFT JOIN companies co ON co.organization_id = p.organization_id AND co.id = p.company_id AND co.deleted_at IS NULL \
     LEFT JOIN contacts ct ON ct.organization_id = p.organization_id AND ct.id = p.contact_id AND ct.deleted_at IS NULL";

/// What a client is written with.
#[derive(Clone, Debug)]
pub struct UserFields {
    pub email: String,
    pub name: String,
    pub company_id: Option<CompanyId>,
    pub contact_id: Option<ContactId>,
}

pub async fn insert_user(tx: &mut TenantTx, f: &UserFields, invited_by: UserId) -> Result<Uuid> {
    let org = tx.organization_id();
    let id = Uuid::now_v7();
    let at = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO portal_users (organization_id, id, email, name, company_id, contact_id, invited_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(org)
            .bind(id)
            .bind(&f.email)
            .bind(&f.name)
            .bind(f.company_id)
            .bind(f.contact_id)
            .bind(invited_by)
            .bind(at),
        )
        .await?;
    Ok(id)
}

pub async fn update_user(tx: &mut TenantTx, id: Uuid, f: &UserFields) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_users SET email = $3, name = $4, company_id = $5, contact_id = $6, updated_at = $7 \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(&f.email)
            .bind(&f.name)
            .bind(f.company_id)
            .bind(f.contact_id)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

pub async fn find_user(tx: &mut TenantTx, id: Uuid) -> Result<Option<PortalUser>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!("{USER} WHERE p.organization_id = $1 AND p.id = $2"))
                .bind(org)
                .bind(id),
        )
        .await
}

/// A client by email (stored lowercase).
pub async fn find_user_by_email(tx: &mut TenantTx, email: &str) -> Result<Option<PortalUser>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "{USER} WHERE p.organization_id = $1 AND p.email = $2"
            ))
            .bind(org)
            .bind(email),
        )
        .await
}

/// The organization's clients, by name.
pub async fn list_users(tx: &mut TenantTx) -> Result<Vec<PortalUser>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "{USER} WHERE p.organization_id = $1 ORDER BY p.name, p.email, p.id"
            ))
            .bind(org),
        )
        .await
}

/// The clients a record is shared with.
pub async fn shared_with(tx: &mut TenantTx, record_id: Uuid) -> Result<Vec<Uuid>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        portal_user_id: Uuid,
    }
    let org = tx.organization_id();
    let rows: Vec<Row> = tx
        .raw()
        .fetch_all(
            query(
                "SELECT portal_user_id FROM portal_shares WHERE organization_id = $1 AND record_id = $2",
            )
            .bind(org)
            .bind(record_id),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.portal_user_id).collect())
}

pub async fn set_password(tx: &mut TenantTx, id: Uuid, hash: &str) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_users SET password_hash = $3, updated_at = $4 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(hash)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

pub async fn set_deactivated(tx: &mut TenantTx, id: Uuid, at: Option<DateTime<Utc>>) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_users SET deactivated_at = $3, updated_at = $4 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(at)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

pub async fn note_sign_in(tx: &mut TenantTx, id: Uuid) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_users SET last_sign_in_at = $3 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

/// Removes a client with their links, sessions and shares (their comments stay, under their
/// name as it was).
pub async fn delete_user(tx: &mut TenantTx, id: Uuid) -> Result<bool> {
    let org = tx.organization_id();
    let done = tx
        .raw()
        .execute(
            query("DELETE FROM portal_users WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    Ok(done > 0)
}

// ---------------------------------------------------------------------------------------------
// Links by email

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Token {
    pub id: Uuid,
    pub portal_user_id: Uuid,
    /// `invitation` or `reset`.
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Every unused link of the client stops working.
pub async fn expire_tokens(tx: &mut TenantTx, user: Uuid) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_tokens SET used_at = $3 WHERE organization_id = $1 AND portal_user_id = $2 AND used_at IS NULL",
            )
            .bind(org)
            .bind(user)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

/// A new link; earlier unused links of the client (for any purpose) stop working.
pub async fn insert_token(
    tx: &mut TenantTx,
    user: Uuid,
    purpose: &str,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<()> {
    expire_tokens(tx, user).await?;
    let org = tx.organization_id();
    let at = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO portal_tokens (organization_id, id, portal_user_id, purpose, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org)
            .bind(Uuid::now_v7())
            .bind(user)
            .bind(purpose)
            .bind(token_hash.to_vec())
            .bind(at)
            .bind(expires_at),
        )
        .await?;
    Ok(())
}

pub async fn find_token(tx: &mut TenantTx, token_hash: &[u8]) -> Result<Option<Token>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(
                "SELECT id, portal_user_id, purpose, expires_at, used_at FROM portal_tokens \
                 WHERE organization_id = $1 AND token_hash = $2",
            )
            .bind(org)
            .bind(token_hash.to_vec()),
        )
        .await
}

/// When the client's latest link for `purpose` was made.
pub async fn latest_token_at(
    tx: &mut TenantTx,
    user: Uuid,
    purpose: &str,
) -> Result<Option<DateTime<Utc>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        created_at: DateTime<Utc>,
    }
    let org = tx.organization_id();
    let row: Option<Row> = tx
        .raw()
        .fetch_optional(
            query(
                "SELECT created_at FROM portal_tokens WHERE organization_id = $1 AND portal_user_id = $2 \
                 AND purpose = $3 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(org)
            .bind(user)
            .bind(purpose),
        )
        .await?;
    Ok(row.map(|r| r.created_at))
}

/// Spends a link; `false` when it was spent already (two requests racing).
pub async fn use_token(tx: &mut TenantTx, id: Uuid) -> Result<bool> {
    let org = tx.organization_id();
    let done = tx
        .raw()
        .execute(
            query(
                "UPDATE portal_tokens SET used_at = $3 WHERE organization_id = $1 AND id = $2 AND used_at IS NULL",
            )
            .bind(org)
            .bind(id)
            .bind(crate::now()),
        )
        .await?;
    Ok(done == 1)
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub portal_user_id: Uuid,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewSession<'a> {
    pub user: Uuid,
    pub token_hash: &'a [u8],
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_session(tx: &mut TenantTx, s: NewSession<'_>) -> Result<()> {
    let org = tx.organization_id();
    let at = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO portal_sessions (organization_id, id, portal_user_id, token_hash, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
            )
            .bind(org)
            .bind(Uuid::now_v7())
            .bind(s.user)
            .bind(s.token_hash.to_vec())
            .bind(s.csrf_token)
            .bind(s.ip.map(str::to_owned))
            .bind(s.user_agent.map(str::to_owned))
            .bind(at)
            .bind(s.expires_at),
        )
        .await?;
    Ok(())
}

/// A live session (not revoked, not past its end) of an active client.
pub async fn find_session(tx: &mut TenantTx, token_hash: &[u8]) -> Result<Option<Session>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(
                "SELECT s.id, s.portal_user_id, s.csrf_token, s.last_seen_at, s.expires_at FROM portal_sessions s \
                 JOIN portal_users p ON p.organization_id = s.organization_id AND p.id = s.portal_user_id \
                 WHERE s.organization_id = $1 AND s.token_hash = $2 AND s.revoked_at IS NULL \
                 AND s.expires_at > $3 AND p.deactivated_at IS NULL",
            )
            .bind(org)
            .bind(token_hash.to_vec())
            .bind(crate::now()),
        )
        .await
}

pub async fn touch_session(tx: &mut TenantTx, id: Uuid) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE portal_sessions SET last_seen_at = $3 WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(crate::now()),
        )
        .await?;
    Ok(())
}

pub async fn revoke_session(tx: &mut TenantTx, id: Uuid) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_sessions SET revoked_at = $3 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(org)
            .bind(id)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

/// Ends every session of a client (deactivated, or a new password set).
pub async fn revoke_user_sessions(tx: &mut TenantTx, user: Uuid) -> Result<u64> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE portal_sessions SET revoked_at = $3 WHERE organization_id = $1 AND portal_user_id = $2 AND revoked_at IS NULL",
            )
            .bind(org)
            .bind(user)
            .bind(crate::now()),
        )
        .await
}

// ---------------------------------------------------------------------------------------------
// Shares

/// A record shared with a client.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Share {
    /// `deal` or `record`.
    pub record_type: String,
    pub record_id: Uuid,
    pub shared_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Its title, while it is live.
    pub title: Option<String>,
    /// A custom record's object.
    pub object_key: Option<String>,
}

/// Shares a record with a client; sharing it again changes nothing.
pub async fn share(
    tx: &mut TenantTx,
    user: Uuid,
    record_type: &str,
    record_id: Uuid,
    by: UserId,
) -> Result<bool> {
    let org = tx.organization_id();
    let done = tx
        .raw()
        .execute(
            query(
                "INSERT INTO portal_shares (organization_id, portal_user_id, record_type, record_id, shared_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (portal_user_id, record_id) DO NOTHING",
            )
            .bind(org)
            .bind(user)
            .bind(record_type)
            .bind(record_id)
            .bind(by)
            .bind(crate::now()),
        )
        .await?;
    Ok(done == 1)
}

pub async fn unshare(tx: &mut TenantTx, user: Uuid, record_id: Uuid) -> Result<bool> {
    let org = tx.organization_id();
    let done = tx
        .raw()
        .execute(
            query(
                "DELETE FROM portal_shares WHERE organization_id = $1 AND portal_user_id = $2 AND record_id = $3",
            )
            .bind(org)
            .bind(user)
            .bind(record_id),
        )
        .await?;
    Ok(done == 1)
}

/// The records shared with a client, newest first.
pub async fn shares_of(tx: &mut TenantTx, user: Uuid) -> Result<Vec<Share>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(
                "SELECT s.record_type, s.record_id, s.shared_by, s.created_at, COALESCE(d.title, r.title) AS title, \
                 o.key AS object_key FROM portal_shares s \
                 LEFT JOIN deals d ON d.organization_id = s.organization_id AND d.id = s.record_id AND d.deleted_at IS NULL \
                 LEFT JOIN records r ON r.organization_id = s.organization_id AND r.id = s.record_id AND r.deleted_at IS NULL \
                 LEFT JOIN objects o ON o.organization_id = r.organization_id AND o.id = r.object_id \
                 WHERE s.organization_id = $1 AND s.portal_user_id = $2 ORDER BY s.created_at DESC, s.record_id",
            )
            .bind(org)
            .bind(user),
        )
        .await
}

// ---------------------------------------------------------------------------------------------
// What a client sees

/// The live deals shared with a client, and with `linked`, those of their company or contact;
/// the most recently changed first.
pub async fn deals_of(tx: &mut TenantTx, user: &PortalUser, linked: bool) -> Result<Vec<Deal>> {
    let org = tx.organization_id();
    let mut q = query(format!(
        "SELECT {} FROM deals WHERE organization_id = $1 AND deleted_at IS NULL AND (id IN \
         (SELECT record_id FROM portal_shares WHERE organization_id = $1 AND portal_user_id = $2)",
        crate::deals::COLUMNS
    ))
    .bind(org)
    .bind(user.id);
    if linked {
        let company = q.push_arg(user.company_id);
        let contact = q.push_arg(user.contact_id);
        q.push_sql(&format!(
            " OR (company_id IS NOT NULL AND company_id = {company}) OR (contact_id IS NOT NULL AND contact_id = {contact})"
        ));
    }
    q.push_sql(") ORDER BY updated_at DESC, id DESC LIMIT 500");
    tx.raw().fetch_all(q).await
}

/// The live records of custom objects shared with a client, and those of `objects` whose
/// relation fields `fields` name the client's company or contact; the most recently changed
/// first.
pub async fn records_of(
    tx: &mut TenantTx,
    user: &PortalUser,
    objects: &[Uuid],
    fields: &[Uuid],
) -> Result<Vec<RecordRow>> {
    let org = tx.organization_id();
    let backend = tx.backend();
    let mut q = query(format!(
        "SELECT {} FROM records WHERE records.organization_id = $1 AND records.deleted_at IS NULL AND (records.id IN \
         (SELECT record_id FROM portal_shares WHERE organization_id = $1 AND portal_user_id = $2)",
        crate::records::COLUMNS
    ))
    .bind(org)
    .bind(user.id);
    let targets: Vec<String> = [
        user.company_id.map(|c| c.as_uuid()),
        user.contact_id.map(|c| c.as_uuid()),
    ]
    .into_iter()
    .flatten()
    .map(|id| id.to_string())
    .collect();
    if !objects.is_empty() && !fields.is_empty() && !targets.is_empty() {
        let in_objects = q.any_of(backend, "records.object_id", objects);
        let in_fields = q.any_of(backend, "v.field_id", fields);
        let ps: Vec<String> = targets.iter().map(|t| q.push_arg(t.as_str())).collect();
        q.push_sql(&format!(
            " OR ({in_objects} AND EXISTS (SELECT 1 FROM record_values v WHERE v.organization_id = $1 \
             AND v.record_id = records.id AND {in_fields} AND v.txt IN ({})))",
            ps.join(", ")
        ));
    }
    q.push_sql(") ORDER BY records.updated_at DESC, records.id DESC LIMIT 500");
    tx.raw().fetch_all(q).await
}

/// The tasks marked visible to clients on the records given (deals and custom records the
/// client reaches), and on the client's company and contact when they are on no other record or
/// on one of those: open ones by due date first, then done ones.
pub async fn tasks_of(
    tx: &mut TenantTx,
    records: &[Uuid],
    company: Option<CompanyId>,
    contact: Option<ContactId>,
) -> Result<Vec<Task>> {
    let org = tx.organization_id();
    let backend = tx.backend();
    let mut q = query(format!(
        "SELECT {} FROM tasks WHERE organization_id = $1 AND portal_visible AND (FALSE",
        crate::tasks::COLUMNS
    ))
    .bind(org);
    // A task on the client's company or contact that is also on a deal or record shows only
    // when the client reaches that one too.
    let (reached_deal, reached_record) = if records.is_empty() {
        ("deal_id IS NULL".to_owned(), "record_id IS NULL".to_owned())
    } else {
        let deals = q.any_of(backend, "deal_id", records);
        let others = q.any_of(backend, "record_id", records);
        q.push_sql(&format!(" OR {deals} OR {others}"));
        (
            format!(
                "(deal_id IS NULL OR {})",
                q.any_of(backend, "deal_id", records)
            ),
            format!(
                "(record_id IS NULL OR {})",
                q.any_of(backend, "record_id", records)
            ),
        )
    };
    for (column, value) in [
        ("company_id", company.map(|c| c.as_uuid())),
        ("contact_id", contact.map(|c| c.as_uuid())),
    ] {
        if let Some(id) = value {
            let p = q.push_arg(id);
            q.push_sql(&format!(
                " OR ({column} = {p} AND {reached_deal} AND {reached_record})"
            ));
        }
    }
    q.push_sql(
        ") ORDER BY is_done, CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date, created_at LIMIT 500",
    );
    tx.raw().fetch_all(q).await
}

/// The comments of a record its clients see, oldest first (the latest 500).
pub async fn comments_of(tx: &mut TenantTx, record_id: Uuid) -> Result<Vec<Activity>> {
    let org = tx.organization_id();
    let mut rows: Vec<Activity> = tx
        .raw()
        .fetch_all(
            query(format!(
                "SELECT {} FROM activities WHERE organization_id = $1 AND record_id = $2 AND portal \
                 AND type = 'comment' ORDER BY created_at DESC, id DESC LIMIT 500",
                crate::activities::COLUMNS
            ))
            .bind(org)
            .bind(record_id),
        )
        .await?;
    rows.reverse();
    Ok(rows)
}
