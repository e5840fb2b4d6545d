//! The development outbox: where email goes when no SMTP server is configured, so that sign-up,
//! invitations and password resets still work and their links can be read by an instance
//! administrator.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Result, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct StoredEmail {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(tx: &mut Tx, to: &str, subject: &str, text_body: &str) -> Result<Uuid> {
    let id = Uuid::now_v7();
    tx.execute(
        query(
            "INSERT INTO email_outbox (id, to_address, subject, text_body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(to)
        .bind(subject)
        .bind(text_body)
        .bind(crate::now()),
    )
    .await?;
    Ok(id)
}

/// Newest first, optionally only those sent to one address.
pub async fn list(tx: &mut Tx, to: Option<&str>, limit: i64) -> Result<Vec<StoredEmail>> {
    tx.fetch_all(
        query(
            "SELECT id, to_address, subject, text_body, created_at FROM email_outbox \
             WHERE ($1 IS NULL OR to_address = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(to)
        .bind(limit),
    )
    .await
}
