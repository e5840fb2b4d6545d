//! Outgoing email: SMTP when configured, otherwise the development outbox.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rapport_store::Db;

use crate::config::Config;

/// A message to send.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox,
}

/// Sends Rapport's email.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    db: Db,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("configuration: RAPPORT_SMTP_URL {0}")]
    Config(String),
    #[error("configuration: RAPPORT_MAIL_FROM {0}")]
    From(String),
    #[error("could not send email: {0}")]
    Send(String),
}

impl Mailer {
    pub fn new(config: &Config, db: Db) -> Result<Mailer, MailError> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| MailError::From(format!("is not a mailbox: {e}")))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| MailError::Config(e.to_string()))?
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build(),
            ),
            None => Transport::Outbox,
        };
        Ok(Mailer {
            transport,
            from,
            db,
        })
    }

    pub fn uses_outbox(&self) -> bool {
        matches!(self.transport, Transport::Outbox)
    }

    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                let to: Mailbox = email
                    .to
                    .parse()
                    .map_err(|e| MailError::Send(format!("bad recipient: {e}")))?;
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(&email.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone())
                    .map_err(|e| MailError::Send(e.to_string()))?;
                smtp.send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                tracing::info!(to = %email.to, subject = %email.subject, "email sent");
            }
            Transport::Outbox => {
                let mut tx = self
                    .db
                    .platform()
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                rapport_store::email_outbox::insert(
                    &mut tx,
                    &email.to,
                    &email.subject,
                    &email.text,
                )
                .await
                .map_err(|e| MailError::Send(e.to_string()))?;
                tx.commit()
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    "no SMTP server configured: email kept in the development outbox"
                );
            }
        }
        Ok(())
    }

    /// Sends and logs a failure instead of returning it: for email whose loss the user can
    /// recover from (resend an invitation, ask for another reset link).
    pub async fn send_or_log(&self, email: Email) {
        let to = email.to.clone();
        if let Err(error) = self.send(email).await {
            tracing::error!(%to, %error, "email could not be delivered");
        }
    }
}
