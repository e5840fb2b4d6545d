//! Users: global accounts, one per email address.

use chrono::{DateTime, Utc};
use rapport_domain::UserId;

use crate::{Changed, Result, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_instance_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the person signs in with a second factor (read, never written through this row).
    #[sqlx(default)]
    pub two_factor: bool,
}

const COLUMNS: &str = "id, email, name, password_hash, is_instance_admin, created_at, updated_at";
/// What is read of a user: the stored columns, and whether two-factor is on.
const READ: &str = "id, email, name, password_hash, is_instance_admin, created_at, updated_at, \
     (totp_enabled_at IS NOT NULL) AS two_factor";

/// Inserts a user. A taken email is [`crate::Error::Conflict`] on `users_email_key`.
pub async fn insert(tx: &mut Tx, user: &User) -> Result<()> {
    tx.execute(
        query(format!(
            "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.is_instance_admin)
        .bind(user.created_at)
        .bind(user.updated_at),
    )
    .await?;
    Ok(())
}

pub async fn find(tx: &mut Tx, id: UserId) -> Result<Option<User>> {
    tx.fetch_optional(query(format!("SELECT {READ} FROM users WHERE id = $1")).bind(id))
        .await
}

/// Looks a user up by email; `email` must already be normalised (lowercase).
pub async fn find_by_email(tx: &mut Tx, email: &str) -> Result<Option<User>> {
    tx.fetch_optional(query(format!("SELECT {READ} FROM users WHERE email = $1")).bind(email))
        .await
}

pub async fn set_password_hash(tx: &mut Tx, id: UserId, hash: &str) -> Result<()> {
    tx.changed(Changed::User(id));
    tx.execute(
        query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// Notes that the person signed in now. Nothing cached holds it, so the identity cache is not
/// told.
pub async fn note_sign_in(tx: &mut Tx, id: UserId) -> Result<()> {
    tx.execute(
        query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

pub async fn set_name(tx: &mut Tx, id: UserId, name: &str) -> Result<()> {
    tx.changed(Changed::User(id));
    tx.execute(
        query("UPDATE users SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

pub async fn set_instance_admin(tx: &mut Tx, id: UserId, is_admin: bool) -> Result<()> {
    tx.changed(Changed::User(id));
    tx.execute(
        query("UPDATE users SET is_instance_admin = $1, updated_at = $2 WHERE id = $3")
            .bind(is_admin)
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// Changes a user's email (normalised). A taken one is a conflict on `users_email_key`.
pub async fn set_email(tx: &mut Tx, id: UserId, email: &str) -> Result<()> {
    tx.changed(Changed::User(id));
    tx.execute(
        query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
            .bind(email)
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// What an organization's transaction may read of a person: who they are and where they live
/// (never their password hash or administrator flag).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Person {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub time_zone: Option<String>,
}

/// A person by id, in any transaction (a tenant's too).
pub async fn person(tx: &mut Tx, id: UserId) -> Result<Option<Person>> {
    tx.fetch_optional(query("SELECT id, email, name, time_zone FROM users WHERE id = $1").bind(id))
        .await
}

/// The user's own time zone, if they chose one.
pub async fn time_zone(tx: &mut Tx, id: UserId) -> Result<Option<String>> {
    #[derive(sqlx::FromRow)]
    struct Zone {
        time_zone: Option<String>,
    }
    Ok(tx
        .fetch_optional::<Zone>(query("SELECT time_zone FROM users WHERE id = $1").bind(id))
        .await?
        .and_then(|z| z.time_zone))
}

pub async fn set_time_zone(tx: &mut Tx, id: UserId, time_zone: Option<&str>) -> Result<()> {
    tx.changed(Changed::User(id));
    tx.execute(
        query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
            .bind(time_zone)
            .bind(crate::now())
            .bind(id),
    )
    .await?;
    Ok(())
}
