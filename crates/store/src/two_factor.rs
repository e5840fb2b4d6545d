//! A person's second factor: the TOTP secret (sealed by the application), one-time recovery
//! codes and remembered browsers, kept as keyed hashes. Platform data: no tenant reads it.

use chrono::{DateTime, Utc};
use rapport_domain::UserId;
use uuid::Uuid;

use crate::{Changed, Result, Tx, query};

/// What is stored of a person's second factor.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct Stored {
    /// The sealed secret, once enabled.
    pub totp_secret: Option<String>,
    /// The sealed secret being enrolled, until a code confirms it.
    pub totp_pending: Option<String>,
    pub totp_enabled_at: Option<DateTime<Utc>>,
}

pub async fn find(tx: &mut Tx, user: UserId) -> Result<Stored> {
    Ok(tx
        .fetch_optional(
            query("SELECT totp_secret, totp_pending, totp_enabled_at FROM users WHERE id = $1")
                .bind(user),
        )
        .await?
        .unwrap_or_default())
}

/// Locks the person's row for the rest of the transaction, so that checks of their second
/// factor run one at a time (SQLite's write transactions already do).
pub async fn lock_user(tx: &mut Tx, user: UserId) -> Result<()> {
    let lock = crate::dialect::lock_rows(tx.backend());
    #[derive(sqlx::FromRow)]
    struct Row {
        #[allow(dead_code)]
        id: Uuid,
    }
    let _: Option<Row> = tx
        .fetch_optional(query(format!("SELECT id FROM users WHERE id = $1{lock}")).bind(user))
        .await?;
    Ok(())
}

/// Keeps a secret being enrolled (replacing any earlier one not confirmed).
pub async fn set_pending(tx: &mut Tx, user: UserId, sealed: &str) -> Result<()> {
    tx.execute(
        query("UPDATE users SET totp_pending = $1 WHERE id = $2")
            .bind(sealed)
            .bind(user),
    )
    .await?;
    Ok(())
}

/// Turns two-factor on with the confirmed secret; `step` is the time step of the code that
/// confirmed it (spent).
pub async fn enable(tx: &mut Tx, user: UserId, sealed: &str, step: i64) -> Result<()> {
    tx.changed(Changed::User(user));
    tx.execute(
        query(
            "UPDATE users SET totp_secret = $1, totp_pending = NULL, totp_enabled_at = $2, \
             totp_last_step = $3, updated_at = $2 WHERE id = $4",
        )
        .bind(sealed)
        .bind(crate::now())
        .bind(step)
        .bind(user),
    )
    .await?;
    Ok(())
}

/// Turns two-factor off: the secret, the recovery codes and the remembered browsers go.
pub async fn disable(tx: &mut Tx, user: UserId) -> Result<()> {
    tx.changed(Changed::User(user));
    tx.execute(
        query(
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_enabled_at = NULL, \
             totp_last_step = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(crate::now())
        .bind(user),
    )
    .await?;
    tx.execute(query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user))
        .await?;
    forget_devices(tx, user).await?;
    Ok(())
}

/// Spends the time step of an accepted code: `false` when it (or a later one) was spent
/// already, so a code cannot be replayed, even by two requests at once.
pub async fn spend_step(tx: &mut Tx, user: UserId, step: i64) -> Result<bool> {
    let n = tx
        .execute(
            query(
                "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
                 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(user),
        )
        .await?;
    Ok(n == 1)
}

/// Replaces the person's recovery codes by these (hashes).
pub async fn replace_recovery_codes(tx: &mut Tx, user: UserId, hashes: &[Vec<u8>]) -> Result<()> {
    tx.execute(query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user))
        .await?;
    let at = crate::now();
    for hash in hashes {
        tx.execute(
            query(
                "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(Uuid::now_v7())
            .bind(user)
            .bind(hash.clone())
            .bind(at),
        )
        .await?;
    }
    Ok(())
}

/// Spends a recovery code: `false` when it is not one of the person's unused codes.
pub async fn spend_recovery_code(tx: &mut Tx, user: UserId, hash: &[u8]) -> Result<bool> {
    let n = tx
        .execute(
            query(
                "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
                 AND used_at IS NULL",
            )
            .bind(crate::now())
            .bind(user)
            .bind(hash.to_vec()),
        )
        .await?;
    Ok(n == 1)
}

/// How many unused recovery codes the person has.
pub async fn recovery_codes_left(tx: &mut Tx, user: UserId) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let c: Count = tx
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user),
        )
        .await?;
    Ok(c.n)
}

/// Remembers a browser for the person until `expires_at`.
pub async fn remember_device(
    tx: &mut Tx,
    user: UserId,
    token_hash: Vec<u8>,
    user_agent: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO trusted_devices (id, user_id, token_hash, user_agent, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(user)
        .bind(token_hash)
        .bind(user_agent)
        .bind(crate::now())
        .bind(expires_at),
    )
    .await?;
    Ok(())
}

/// Whether the browser holding the token behind `token_hash` is remembered for the person now.
pub async fn is_remembered(
    tx: &mut Tx,
    user: UserId,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let c: Count = tx
        .fetch_one(
            query(
                "SELECT COUNT(*) AS n FROM trusted_devices WHERE user_id = $1 AND token_hash = $2 \
                 AND expires_at > $3",
            )
            .bind(user)
            .bind(token_hash.to_vec())
            .bind(now),
        )
        .await?;
    Ok(c.n > 0)
}

/// Forgets every browser remembered for the person.
pub async fn forget_devices(tx: &mut Tx, user: UserId) -> Result<u64> {
    tx.execute(query("DELETE FROM trusted_devices WHERE user_id = $1").bind(user))
        .await
}
