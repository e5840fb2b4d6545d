//! Rapport's use cases. Each takes who is acting and in which organization, checks permissions
//! with the domain's `decide`, validates, writes through the store in one transaction, and
//! appends to the audit log in that same transaction.

pub mod accounts;
pub mod admin;
pub mod ai_settings;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod changes;
pub mod companies;
pub mod config;
pub mod contacts;
pub mod context;
pub mod crypto;
pub mod custom_values;
pub mod deals;
pub mod dispatch;
pub mod egress;
pub mod error;
pub mod events;
pub mod fields;
pub mod files;
pub mod identity;
pub mod jobs;
pub mod kinds;
pub mod leads;
pub mod live;
pub mod mail;
pub mod members;
pub mod model;
pub mod notifications;
pub mod objects;
pub mod organizations;
mod paging;
pub mod passwords;
pub mod portal;
pub mod rate_limit;
pub mod records;
pub mod relations;
pub mod roles;
pub mod search;
pub mod seed;
pub mod sso;
pub mod support;
pub mod tags;
pub mod tasks;
pub mod teams;
pub mod timeline;
pub mod trash;
pub mod two_factor;
pub mod views;
pub mod webhooks;
pub mod worker;

use std::sync::Arc;

pub use context::{Actor, ApiKeyPrincipal, RequestMeta, SignIn, Tenant};
pub use error::{AppError, AppResult};

use config::Config;
use crypto::Keys;
use mail::Mailer;
use rapport_store::{Backend, Db, PoolOptions};

/// The application: configuration, database and the services built on them.
pub struct App {
    pub config: Config,
    pub db: Db,
    pub keys: Keys,
    pub mailer: Mailer,
    /// Live events between server processes and to WebSocket clients.
    pub live: Arc<live::Bus>,
    /// API rate limits, shared through Redis when configured.
    pub limiter: rate_limit::RateLimiter,
    /// Password hashing at a bounded cost.
    pub passwords: passwords::PasswordHasher,
    /// Sessions, sign-ins, API keys, organizations and roles, kept in memory for a short while.
    pub identity: Arc<identity::IdentityCache>,
    /// Organizations' single sign-on providers, their documents and keys remembered a while.
    pub oidc: sso::oidc::Client,
    /// Where attached files' bytes live.
    pub files: files::FileStore,
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] rapport_store::Error),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
    #[error("{0}")]
    Live(String),
    #[error(
        "the PostgreSQL database has {0} pending migration(s); run `rapport migrate` or start with `rapport serve --migrate`"
    )]
    PendingMigrations(usize),
}

/// Whether to apply pending migrations at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateOnStart {
    /// SQLite: always; PostgreSQL: only when asked (`--migrate`).
    Default,
    Always,
}

impl App {
    /// Connects to the database, applies or checks migrations, and prepares keys and mail.
    pub async fn start(config: Config, migrate: MigrateOnStart) -> Result<Arc<App>, StartError> {
        let secret = config.resolve_secret_key()?;
        if config.backend() == Backend::Sqlite {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| config::ConfigError {
                name: "RAPPORT_DATA_DIR".into(),
                problem: format!("could not be created: {e}"),
            })?;
        }
        let db = Db::connect(
            config.database_url.expose(),
            &PoolOptions {
                max_connections: config.db_max_connections,
                acquire_timeout: config.db_acquire_timeout,
                statement_timeout: config.db_statement_timeout,
                sqlite_synchronous: config.sqlite_synchronous,
            },
        )
        .await?;
        if db.backend() == Backend::Sqlite || migrate == MigrateOnStart::Always {
            db.migrate().await?;
        } else {
            let pending = db.pending_migrations().await?;
            if pending > 0 {
                return Err(StartError::PendingMigrations(pending));
            }
        }
        let mailer = Mailer::new(&config, db.clone())?;
        // With the in-process bus this process is the only one, so its cache hears everything
        // from the start; otherwise it caches once its relay is subscribed.
        let in_process = config.redis_url.is_none() && db.backend() == Backend::Sqlite;
        let identity = Arc::new(identity::IdentityCache::new(
            config.identity_cache_ttl,
            in_process,
        ));
        let keys = Keys::new(&secret);
        let installation: String = keys.hash_token("live bus installation")[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let live = Arc::new(
            live::Bus::new(
                config.redis_url.as_ref().map(|u| u.expose()),
                &db,
                identity.clone(),
                &installation,
            )
            .map_err(StartError::Live)?,
        );
        db.signals()
            .watch_identity(Arc::new(live::IdentityPublisher(Arc::downgrade(&live))));
        let limiter = rate_limit::RateLimiter::new(
            config.rate_limit,
            config.rate_limit_organization,
            config.rate_limit_window,
            config.redis_url.as_ref().map(|u| u.expose()),
        )
        .map_err(StartError::Live)?;
        let passwords =
            passwords::PasswordHasher::new(config.password_hashers, config.password_queue_wait);
        let oidc = sso::oidc::Client::new(config.sso_allow_private);
        let files = files::FileStore::open(&config.file_storage).map_err(|e| {
            StartError::Config(config::ConfigError {
                name: "RAPPORT_S3_BUCKET".into(),
                problem: format!("(the file store) could not be opened: {e}"),
            })
        })?;
        Ok(Arc::new(App {
            files,
            oidc,
            passwords,
            keys,
            config,
            db,
            mailer,
            live,
            identity,
            limiter,
        }))
    }

    /// A link into the web app, for email.
    pub fn link(&self, path: &str) -> String {
        let base = self.config.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}
