//! Rapport's persistence layer.
//!
//! - [`db`]: the pool, transactions and queries shared by SQLite and PostgreSQL;
//! - [`dialect`]: the little SQL that differs between them;
//! - one module per table family, each a set of functions whose first argument is the scope:
//!   a [`TenantTx`] for tenant-owned data (no unscoped finder exists for it) or a platform
//!   [`Tx`] for global data (users, sign-in, tenant resolution).

pub mod activities;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod companies;
pub mod contacts;
pub mod db;
pub mod deals;
pub mod dialect;
pub mod domains;
pub mod email_outbox;
pub mod events;
pub mod files;
pub mod invitations;
pub mod jobs;
pub mod keyset;
pub mod leads;
pub mod memberships;
pub mod notifications;
pub mod objects;
pub mod organizations;
pub mod pipelines;
pub mod portal;
pub mod records;
pub mod roles;
pub mod search;
pub mod seed;
pub mod sso;
pub mod statistics;
pub mod support;
pub mod tables;
pub mod tags;
pub mod tasks;
pub mod teams;
pub mod text;
pub mod trash;
pub mod two_factor;
pub mod users;
pub mod views;
pub mod webhooks;

pub use db::{
    Arg, Backend, Changed, Db, IdentityWatcher, PoolOptions, PoolStats, PooledConnectionState,
    Query, ReadTx, Record, Signal, Signals, SqliteSync, TenantTx, Tx, count_round_trips, now,
    one_read, query,
};

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such row")]
    NotFound,
    /// A unique constraint refused the write. The name follows PostgreSQL's default naming on
    /// both engines: `{table}_{column}[_{column}…]_key`.
    #[error("unique constraint {constraint} violated")]
    Conflict { constraint: String },
    #[error("the database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    /// The database could not serve in time: no connection free within the pool's wait, a
    /// statement past its timeout, SQLite's lock held too long, or a connection lost (the server
    /// restarting, a connection ended by an administrator). The caller may try again.
    #[error("the database stayed busy; try again")]
    Busy,
    /// A text value held a NUL character, which PostgreSQL cannot store; refused on both engines
    /// alike (the HTTP layer refuses control characters before this is ever reached).
    #[error("text must not contain NUL characters")]
    NulInText,
    /// A stored row the application could not have written (a definition edited by hand).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("could not bind a query argument: {0}")]
    Bind(sqlx::error::BoxDynError),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A nullable link to another record as a row stores it, read into that record's typed id:
/// `#[sqlx(try_from = "Link")] pub company_id: Option<CompanyId>`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct Link(Option<uuid::Uuid>);

impl<T: From<uuid::Uuid>> From<Link> for Option<T> {
    fn from(link: Link) -> Self {
        link.0.map(T::from)
    }
}

/// An amount of money as a row stores it, in two columns, read into one value:
/// `#[sqlx(flatten, try_from = "Amount")] pub amount: Money`.
#[derive(sqlx::FromRow)]
pub struct Amount {
    amount_minor: i64,
    #[sqlx(try_from = "String")]
    currency: rapport_domain::organization::Currency,
}

impl From<Amount> for rapport_domain::money::Money {
    fn from(amount: Amount) -> Self {
        rapport_domain::money::Money::new(amount.amount_minor, amount.currency)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether this is a unique violation of the named constraint (see [`Error::Conflict`]).
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, Error::Conflict { constraint } if constraint == name)
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::PoolTimedOut => Error::Busy,
            // PostgreSQL: statement_timeout or lock_timeout (57014, 55P03); SQLite: busy, locked,
            // or interrupted by the statement time limit (5, 6, 9).
            sqlx::Error::Database(db)
                if matches!(
                    db.code().as_deref(),
                    Some("57014" | "55P03" | "5" | "6" | "9")
                ) =>
            {
                Error::Busy
            }
            // A connection lost under the statement: ended by an administrator or a shutdown
            // (57P01-57P03), a connection failure (class 08), the socket closed.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                Error::Busy
            }
            sqlx::Error::Io(_) => Error::Busy,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let constraint = match db.constraint() {
                    Some(name) => name.to_owned(),
                    None => sqlite_constraint_name(db.message()),
                };
                Error::Conflict { constraint }
            }
            other => Error::Database(other),
        }
    }
}

/// SQLite names the columns rather than the constraint ("UNIQUE constraint failed: users.email");
/// rebuild PostgreSQL's default name from them.
fn sqlite_constraint_name(message: &str) -> String {
    let columns = message.rsplit(": ").next().unwrap_or(message);
    let mut table = "";
    let mut names = Vec::new();
    for qualified in columns.split(", ") {
        let (t, c) = qualified.split_once('.').unwrap_or(("", qualified));
        table = t;
        names.push(c);
    }
    format!("{table}_{}_key", names.join("_"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_unique_messages_map_to_postgres_names() {
        assert_eq!(
            super::sqlite_constraint_name("UNIQUE constraint failed: users.email"),
            "users_email_key"
        );
        assert_eq!(
            super::sqlite_constraint_name(
                "UNIQUE constraint failed: memberships.organization_id, memberships.user_id"
            ),
            "memberships_organization_id_user_id_key"
        );
    }
}
