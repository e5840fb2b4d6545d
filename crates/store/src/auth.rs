//! Credentials that are not passwords: refresh tokens, browser sessions, password-reset tokens,
//! and the record of failed sign-ins that throttling reads. Tokens are stored only as hashes.

use chrono::{DateTime, Utc};
use rapport_domain::{SessionId, TokenFamilyId, UserId};
use uuid::Uuid;

use crate::{Changed, Result, Tx, query};

// ---------------------------------------------------------------------------------------------
// Refresh tokens

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: Uuid,
    #[sqlx(try_from = "uuid::Uuid")]
    pub family_id: TokenFamilyId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert_refresh_token(
    tx: &mut Tx,
    family_id: TokenFamilyId,
    user_id: UserId,
    token_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(crate::now())
        .bind(expires_at),
    )
    .await?;
    Ok(())
}

/// Finds a refresh token by hash, locking it so two concurrent refreshes cannot both spend it.
pub async fn find_refresh_token(tx: &mut Tx, token_hash: &[u8]) -> Result<Option<RefreshToken>> {
    let lock = crate::dialect::lock_rows(tx.backend());
    tx.fetch_optional(
        query(format!(
            "SELECT id, family_id, user_id, created_at, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1{lock}"
        ))
        .bind(token_hash.to_vec()),
    )
    .await
}

/// Spends a token; false when it was already spent (a concurrent refresh won).
pub async fn mark_refresh_token_used(tx: &mut Tx, id: Uuid) -> Result<bool> {
    Ok(tx
        .execute(
            query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(crate::now())
                .bind(id),
        )
        .await?
        == 1)
}

/// Revokes every token of a family (a whole sign-in). Returns how many were still live.
pub async fn revoke_family(tx: &mut Tx, user_id: UserId, family_id: TokenFamilyId) -> Result<u64> {
    tx.changed(Changed::User(user_id));
    tx.execute(
        query(
            "UPDATE refresh_tokens SET revoked_at = $1 \
             WHERE family_id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(crate::now())
        .bind(family_id)
        .bind(user_id),
    )
    .await
}

/// Revokes every refresh token of a user (after a password reset).
pub async fn revoke_all_refresh_tokens(tx: &mut Tx, user_id: UserId) -> Result<u64> {
    revoke_other_refresh_tokens(tx, user_id, None).await
}

/// Ends every API sign-in (token family) of the user but `keep`.
pub async fn revoke_other_refresh_tokens(
    tx: &mut Tx,
    user_id: UserId,
    keep: Option<TokenFamilyId>,
) -> Result<u64> {
    tx.changed(Changed::User(user_id));
    tx.execute(
        query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
             AND ($3 IS NULL OR family_id <> $3)",
        )
        .bind(crate::now())
        .bind(user_id)
        .bind(keep),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Browser sessions

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Session {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: SessionId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub csrf_token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session, however active it is.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set when the session was opened through this organization's single sign-on: it opens
    /// that organization only.
    pub organization_id: Option<uuid::Uuid>,
}

const SESSION_COLUMNS: &str = "id, user_id, csrf_token, ip, user_agent, created_at, last_seen_at, \
     expires_at, revoked_at, organization_id";

pub struct NewSession<'a> {
    pub user_id: UserId,
    pub token_hash: Vec<u8>,
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    /// The organization whose single sign-on opened it, if any.
    pub organization_id: Option<rapport_domain::OrganizationId>,
}

pub async fn insert_session(tx: &mut Tx, new: NewSession<'_>) -> Result<SessionId> {
    let id = SessionId::new();
    let now = crate::now();
    tx.execute(
        query(format!(
            "INSERT INTO sessions (token_hash, {SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)"
        ))
        .bind(new.token_hash)
        .bind(id)
        .bind(new.user_id)
        .bind(new.csrf_token)
        .bind(new.ip)
        .bind(new.user_agent)
        .bind(now)
        .bind(now)
        .bind(new.expires_at)
        .bind(new.organization_id),
    )
    .await?;
    Ok(id)
}

pub async fn find_session(tx: &mut Tx, token_hash: &[u8]) -> Result<Option<Session>> {
    tx.fetch_optional(
        query(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"
        ))
        .bind(token_hash.to_vec()),
    )
    .await
}

pub async fn touch_session(tx: &mut Tx, id: SessionId, at: DateTime<Utc>) -> Result<()> {
    tx.execute(
        query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id),
    )
    .await?;
    Ok(())
}

pub async fn revoke_session(tx: &mut Tx, user_id: UserId, id: SessionId) -> Result<()> {
    tx.changed(Changed::User(user_id));
    tx.execute(
        query(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(crate::now())
        .bind(id)
        .bind(user_id),
    )
    .await?;
    Ok(())
}

/// Revokes every session of a user, except `keep` when given.
pub async fn revoke_user_sessions(
    tx: &mut Tx,
    user_id: UserId,
    keep: Option<SessionId>,
) -> Result<u64> {
    tx.changed(Changed::User(user_id));
    tx.execute(
        query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
             AND ($3 IS NULL OR id <> $3)",
        )
        .bind(crate::now())
        .bind(user_id)
        .bind(keep),
    )
    .await
}

/// Ends one person's sessions opened through an organization's single sign-on (they left it).
pub async fn revoke_member_sessions(
    tx: &mut Tx,
    organization_id: rapport_domain::OrganizationId,
    user_id: UserId,
) -> Result<u64> {
    tx.changed(Changed::User(user_id));
    tx.execute(
        query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE organization_id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(crate::now())
        .bind(organization_id)
        .bind(user_id),
    )
    .await
}

/// Ends every session opened through an organization's single sign-on; how many.
pub async fn revoke_organization_sessions(
    tx: &mut Tx,
    organization_id: rapport_domain::OrganizationId,
) -> Result<u64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
    }
    let users: Vec<Row> = tx
        .fetch_all(
            query(
                "SELECT DISTINCT user_id FROM sessions WHERE organization_id = $1 AND revoked_at IS NULL",
            )
            .bind(organization_id),
        )
        .await?;
    for row in &users {
        tx.changed(Changed::User(row.user_id));
    }
    tx.execute(
        query(
            "UPDATE sessions SET revoked_at = $1 WHERE organization_id = $2 AND revoked_at IS NULL",
        )
        .bind(crate::now())
        .bind(organization_id),
    )
    .await
}

/// The user's sessions still usable, newest first.
pub async fn list_live_sessions(
    tx: &mut Tx,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<Session>> {
    tx.fetch_all(
        query(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 ORDER BY last_seen_at DESC"
        ))
        .bind(user_id)
        .bind(now),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Password resets

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PasswordReset {
    pub id: Uuid,
    #[sqlx(try_from = "uuid::Uuid")]
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn insert_password_reset(
    tx: &mut Tx,
    user_id: UserId,
    token_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(token_hash)
        .bind(crate::now())
        .bind(expires_at),
    )
    .await?;
    Ok(())
}

pub async fn find_password_reset(tx: &mut Tx, token_hash: &[u8]) -> Result<Option<PasswordReset>> {
    tx.fetch_optional(
        query("SELECT id, user_id, expires_at, used_at FROM password_resets WHERE token_hash = $1")
            .bind(token_hash.to_vec()),
    )
    .await
}

/// Spends a reset token; false when it was already used.
pub async fn use_password_reset(tx: &mut Tx, id: Uuid) -> Result<bool> {
    Ok(tx
        .execute(
            query("UPDATE password_resets SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(crate::now())
                .bind(id),
        )
        .await?
        == 1)
}

/// Spends every other open reset token of the user, so an older email link stops working.
pub async fn expire_password_resets(tx: &mut Tx, user_id: UserId) -> Result<()> {
    tx.execute(
        query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(crate::now())
            .bind(user_id),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sign-in throttling

pub async fn record_login_failure(tx: &mut Tx, email: &str, ip: &str) -> Result<()> {
    tx.execute(
        query("INSERT INTO login_failures (id, email, ip, attempted_at) VALUES ($1, $2, $3, $4)")
            .bind(Uuid::now_v7())
            .bind(email)
            .bind(ip)
            .bind(crate::now()),
    )
    .await?;
    Ok(())
}

/// Failures for (email, ip) since `since`, oldest first; throttling needs the count and the time
/// the oldest one falls out of the window.
pub async fn login_failures_since(
    tx: &mut Tx,
    email: &str,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        attempted_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = tx
        .fetch_all(
            query(
                "SELECT attempted_at FROM login_failures WHERE email = $1 AND ip = $2 AND attempted_at > $3 \
                 ORDER BY attempted_at",
            )
            .bind(email)
            .bind(ip)
            .bind(since),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.attempted_at).collect())
}

/// Failed sign-ins from one address since `since`, whatever the emails.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct AddressFailures {
    pub count: i64,
    pub oldest: Option<DateTime<Utc>>,
}

pub async fn address_failures_since(
    tx: &mut Tx,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<AddressFailures> {
    tx.fetch_one(
        query(
            "SELECT COUNT(*) AS count, MIN(attempted_at) AS oldest FROM login_failures \
             WHERE ip = $1 AND attempted_at > $2",
        )
        .bind(ip)
        .bind(since),
    )
    .await
}

/// Failed sign-ins of one account from any address since `since` (the second factor's cap).
pub async fn email_failures_since(
    tx: &mut Tx,
    email: &str,
    since: DateTime<Utc>,
) -> Result<AddressFailures> {
    tx.fetch_one(
        query(
            "SELECT COUNT(*) AS count, MIN(attempted_at) AS oldest FROM login_failures \
             WHERE email = $1 AND attempted_at > $2",
        )
        .bind(email)
        .bind(since),
    )
    .await
}

/// A successful sign-in clears the failures of that (email, ip).
pub async fn clear_login_failures(tx: &mut Tx, email: &str, ip: &str) -> Result<()> {
    tx.execute(
        query("DELETE FROM login_failures WHERE email = $1 AND ip = $2")
            .bind(email)
            .bind(ip),
    )
    .await?;
    Ok(())
}

/// Forgets what no rule looks at any more: expired tokens and sessions, old failures.
pub async fn prune_expired(
    tx: &mut Tx,
    now: DateTime<Utc>,
    failures_before: DateTime<Utc>,
) -> Result<u64> {
    let mut removed = 0;
    removed += tx
        .execute(query("DELETE FROM refresh_tokens WHERE expires_at < $1").bind(now))
        .await?;
    removed += tx
        .execute(query("DELETE FROM sessions WHERE expires_at < $1").bind(now))
        .await?;
    removed += tx
        .execute(query("DELETE FROM password_resets WHERE expires_at < $1").bind(now))
        .await?;
    removed += tx
        .execute(query("DELETE FROM login_failures WHERE attempted_at < $1").bind(failures_before))
        .await?;
    Ok(removed)
}

/// Whether a sign-in (refresh token family) still has a live token: after logout or detected
/// reuse it has none, and its access tokens stop being accepted.
pub async fn family_is_live(
    tx: &mut Tx,
    family_id: TokenFamilyId,
    now: DateTime<Utc>,
) -> Result<bool> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[allow(dead_code)]
        one: i32,
    }
    Ok(tx
        .fetch_optional::<Row>(
            query(
                "SELECT 1 AS one FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL \
                 AND expires_at > $2 LIMIT 1",
            )
            .bind(family_id)
            .bind(now),
        )
        .await?
        .is_some())
}

/// The user of a sign-in whose family is still live, in one statement (see
/// [`crate::Db::platform_fetch_optional`]).
pub async fn user_of_live_family(
    db: &crate::Db,
    user_id: UserId,
    family_id: TokenFamilyId,
    now: DateTime<Utc>,
) -> Result<Option<crate::users::User>> {
    db.platform_fetch_optional(
        query(
            "SELECT u.id, u.email, u.name, u.password_hash, u.is_instance_admin, u.created_at, u.updated_at, \
             (u.totp_enabled_at IS NOT NULL) AS two_factor \
             FROM users u WHERE u.id = $1 AND EXISTS (SELECT 1 FROM refresh_tokens t \
             WHERE t.family_id = $2 AND t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > $3)",
        )
        .bind(user_id)
        .bind(family_id)
        .bind(now),
    )
    .await
}
