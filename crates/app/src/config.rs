//! Configuration: defaults, then an optional TOML file, then `RAPPORT_*` environment variables,
//! parsed into typed values and validated once at start-up. Every error names the variable (or
//! file key) at fault. Secrets are wrapped in [`Secret`], whose `Debug` shows nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A URL that may carry a password (`postgres://user:pass@…`, `smtp://user:pass@…`): shown with
/// the password replaced.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password masked, for logs.
    pub fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything Rapport reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// `RAPPORT_DATABASE_URL`: `sqlite:…` or `postgres://…`. Default: `sqlite:{data_dir}/rapport.db`.
    pub database_url: SecretUrl,
    /// `RAPPORT_DATA_DIR`: where the embedded database and generated secret key live. Default `./data`.
    pub data_dir: PathBuf,
    /// `RAPPORT_BIND`: the listening address. Default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `RAPPORT_BASE_URL`: the public URL, used in emailed links. Default `http://{bind}`.
    pub base_url: Url,
    /// `RAPPORT_BASE_DOMAIN`: organizations are also served on `{slug}.{base_domain}`.
    pub base_domain: Option<String>,
    /// `RAPPORT_SECRET_KEY`: at least 32 characters. Signs tokens and keys token hashes.
    pub secret_key: Option<Secret>,
    /// `RAPPORT_SMTP_URL`: `smtp://` or `smtps://user:pass@host:port`. Without it email goes to
    /// the development outbox.
    pub smtp_url: Option<SecretUrl>,
    /// `RAPPORT_MAIL_FROM`: the sender of Rapport's email.
    pub mail_from: String,
    /// `RAPPORT_REDIS_URL`: optional; checked by `/ready`.
    pub redis_url: Option<SecretUrl>,
    /// `RAPPORT_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `RAPPORT_LOG`: a tracing filter such as `info,rapport=debug`. Default `info`.
    pub log_filter: String,
    /// `RAPPORT_ACCESS_TOKEN_TTL_SECS`, default 900.
    pub access_token_ttl: Duration,
    /// `RAPPORT_REFRESH_TOKEN_TTL_SECS`, default 30 days.
    pub refresh_token_ttl: Duration,
    /// `RAPPORT_SESSION_IDLE_TIMEOUT_SECS`, default 2 hours.
    pub session_idle_timeout: Duration,
    /// What new passwords must be: `RAPPORT_PASSWORD_MIN_LENGTH` (default 12, 8 to 128) and
    /// `RAPPORT_PASSWORD_MIN_KINDS` (default 1, up to 4: lowercase, uppercase, digits, others).
    pub password_policy: rapport_domain::account::PasswordPolicy,
    /// `RAPPORT_SESSION_ABSOLUTE_TIMEOUT_SECS`, default 7 days.
    pub session_absolute_timeout: Duration,
    /// `RAPPORT_REQUEST_TIMEOUT_SECS`, default 30.
    pub request_timeout: Duration,
    /// `RAPPORT_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser.
    /// Empty (the default) turns CORS off.
    pub cors_origins: Vec<String>,
    /// `RAPPORT_TRUST_PROXY`: read the client address from `X-Forwarded-For`. Default false.
    pub trust_proxy: bool,
    /// `RAPPORT_DB_MAX_CONNECTIONS`, default 10.
    pub db_max_connections: u32,
    /// `RAPPORT_DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a free database connection
    /// before it is answered 503 with `Retry-After`. Default 5000.
    pub db_acquire_timeout: Duration,
    /// `RAPPORT_DB_STATEMENT_TIMEOUT_SECS`: a statement running longer is cancelled (SQLite: a
    /// transaction's statements still running that long after it began) and the request
    /// answered 503. Default 20, under the request timeout.
    pub db_statement_timeout: Duration,
    /// `RAPPORT_ORGANIZATION_PURGE_DAYS`: grace period before a deleted organization is purged.
    /// Default 30.
    pub organization_purge_after: Duration,
    /// `RAPPORT_INVITATION_TTL_HOURS`, default 168 (7 days).
    pub invitation_ttl: Duration,
    /// `RAPPORT_PASSWORD_RESET_TTL_MINUTES`, default 60.
    pub password_reset_ttl: Duration,
    /// `RAPPORT_ALLOW_SIGNUP`: whether anyone may register. Default true.
    pub allow_signup: bool,
    /// `RAPPORT_METRICS_TOKEN`: when set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// `RAPPORT_WS_MAX_CONNECTIONS_PER_USER`: WebSocket connections one user may hold open on one
    /// server. Default 20.
    pub ws_max_connections_per_user: usize,
    /// `RAPPORT_WS_IDLE_TIMEOUT_SECS`: a WebSocket client silent this long (not even answering
    /// the server's pings, sent every third of it) is disconnected. Default 60.
    pub ws_idle_timeout: Duration,
    /// `RAPPORT_IDENTITY_CACHE_SECS`: how long a server keeps sessions, sign-ins, API keys,
    /// organizations and roles in memory at most (changes are forgotten at once on every server
    /// that hears the live bus; this bounds what a server that missed one keeps); 0 turns the
    /// cache off. Default 30.
    pub identity_cache_ttl: Duration,
    /// `RAPPORT_LIST_SCAN_LIMIT`: an organization with at most this many records of custom
    /// objects has its filtered lists read in their order, testing each record; a bigger one
    /// first asks how common each filter's value is and reads the list from a rare one.
    /// Default 10000.
    pub list_scan_limit: i64,
    /// `RAPPORT_WEBHOOK_ALLOW_PRIVATE`: let webhooks reach private, loopback and link-local
    /// addresses (an internal receiver; tests). Default false.
    pub webhook_allow_private: bool,
    /// `RAPPORT_SSO_ALLOW_PRIVATE`: let organizations name single sign-on providers on private,
    /// loopback and link-local addresses, over plain http too (a provider inside the network;
    /// tests). Default false: providers are public and https.
    pub sso_allow_private: bool,
    /// `RAPPORT_WEBHOOK_TIMEOUT_SECS`: how long a receiver has to answer. Default 15.
    pub webhook_timeout: Duration,
    /// `RAPPORT_WEBHOOK_RETRY_BASE_MS`: the wait before the first retry, doubled each time up to
    /// 1440 times it (12 hours by default). Default 30000.
    pub webhook_retry_base: Duration,
    /// `RAPPORT_RATE_LIMIT`: API requests one caller (API key or user) may make per window;
    /// 0 turns the limit off. Default 600.
    pub rate_limit: u64,
    /// `RAPPORT_RATE_LIMIT_ORGANIZATION`: API requests per window in one organization, all callers
    /// together; 0 turns it off. Default 3000.
    pub rate_limit_organization: u64,
    /// `RAPPORT_RATE_LIMIT_WINDOW_SECS`: the window the limits count in. Default 60.
    pub rate_limit_window: Duration,
    /// `RAPPORT_PASSWORD_HASHERS`: how many password hashes (19 MiB and tens of milliseconds
    /// each) may run at once. Default: one per CPU core.
    pub password_hashers: usize,
    /// `RAPPORT_PASSWORD_QUEUE_WAIT_MS`: how long a sign-in waits for a free hasher before it is
    /// answered 503 with `Retry-After`. Default 2000.
    pub password_queue_wait: Duration,
    /// `RAPPORT_LOGIN_ADDRESS_LIMIT`: failed sign-ins one client address may make within 15
    /// minutes, whatever the emails tried, before it is refused with 429. Default 50.
    pub login_address_limit: usize,
    /// `RAPPORT_SQLITE_SYNCHRONOUS`: `full` (default: a committed change survives a power cut)
    /// or `normal` (faster commits; survives a killed process, may lose the last commits on a
    /// power cut or kernel crash).
    pub sqlite_synchronous: rapport_store::SqliteSync,
    /// `RAPPORT_METRICS_BIND`: an address (such as 127.0.0.1:9100) on which `/metrics` is served
    /// without a token, for a scraper on a private network. Unset by default.
    pub metrics_bind: Option<SocketAddr>,
    /// Where attached files' bytes are kept: the disk under `{data_dir}/files` (the default), or
    /// an S3-compatible bucket when `RAPPORT_S3_BUCKET` is set (see [`S3Config`]).
    pub file_storage: FileStorage,
    /// `RAPPORT_FILE_MAX_MB`: the largest file one upload may bring, in megabytes (10⁶ bytes).
    /// Default 50.
    pub file_max_bytes: u64,
    /// `RAPPORT_FILE_LINK_TTL_SECS`: how long a signed download link works. Default 300.
    pub file_link_ttl: Duration,
}

/// Where attached files' bytes are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStorage {
    /// A folder on this machine (every server of a deployment must share it).
    Disk(PathBuf),
    S3(S3Config),
}

/// An S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph, R2 …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// `RAPPORT_S3_BUCKET`.
    pub bucket: String,
    /// `RAPPORT_S3_ENDPOINT`: the service's URL, for anything but AWS (`http://127.0.0.1:8333`).
    pub endpoint: Option<String>,
    /// `RAPPORT_S3_REGION`, default `us-east-1`.
    pub region: String,
    /// `RAPPORT_S3_ACCESS_KEY_ID` and `RAPPORT_S3_SECRET_ACCESS_KEY`; without them the
    /// standard AWS sources (environment, instance metadata) are asked.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// `RAPPORT_S3_PREFIX`: a folder inside the bucket under which Rapport keeps its objects.
    pub prefix: String,
}

/// A configuration value was missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {name} {problem}")]
pub struct ConfigError {
    pub name: String,
    pub problem: String,
}

fn bad(name: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name: name.to_owned(),
        problem: problem.into(),
    }
}

/// Where raw values come from: environment variables win over the TOML file.
struct Source {
    values: BTreeMap<String, String>,
}

impl Source {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| bad(name, format!("must be {what}, got {raw:?}"))),
        }
    }

    fn bool(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(bad(name, format!("must be true or false, got {v:?}"))),
        }
    }

    fn secs(&self, name: &str, default: u64, unit: u64) -> Result<Duration, ConfigError> {
        let n: u64 = self.parse(name, default, "a positive whole number")?;
        if n == 0 {
            return Err(bad(name, "must be greater than zero"));
        }
        Ok(Duration::from_secs(n * unit))
    }
}

impl Config {
    /// Reads the process environment and, when `RAPPORT_CONFIG` names one, a TOML file.
    pub fn from_env() -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("RAPPORT_"))
            .collect();
        let file = env.get("RAPPORT_CONFIG").cloned();
        Self::load(file.as_deref().map(Path::new), env)
    }

    /// Builds a configuration from a TOML file (keys are the variable names without `RAPPORT_`,
    /// in lowercase: `bind = "0.0.0.0:8080"`) overridden by the given variables.
    pub fn load(file: Option<&Path>, env: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let mut values = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                bad(
                    "RAPPORT_CONFIG",
                    format!("could not read {}: {e}", path.display()),
                )
            })?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| bad("RAPPORT_CONFIG", format!("is not valid TOML: {e}")))?;
            for (key, value) in table {
                let name = format!("RAPPORT_{}", key.to_ascii_uppercase());
                let raw = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Array(items) => items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| i.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                values.insert(name, raw);
            }
        }
        values.extend(env);
        Self::from_source(&Source { values })
    }

    fn from_source(src: &Source) -> Result<Config, ConfigError> {
        let data_dir = PathBuf::from(src.get("RAPPORT_DATA_DIR").unwrap_or("./data"));
        let data_dir_for_files = data_dir.join("files");
        let database_url = match src.get("RAPPORT_DATABASE_URL") {
            Some(url) => url.trim().to_owned(),
            None => format!("sqlite:{}", data_dir.join("rapport.db").display()),
        };
        if rapport_store::Backend::from_url(&database_url).is_none() {
            return Err(bad(
                "RAPPORT_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        let bind: SocketAddr = src.parse(
            "RAPPORT_BIND",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "an address such as 127.0.0.1:8080",
        )?;
        let base_url = match src.get("RAPPORT_BASE_URL") {
            Some(raw) => {
                let url = Url::parse(raw.trim())
                    .map_err(|e| bad("RAPPORT_BASE_URL", format!("is not a URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(bad(
                        "RAPPORT_BASE_URL",
                        "must be an http:// or https:// URL",
                    ));
                }
                url
            }
            None => {
                let host = if bind.ip().is_unspecified() {
                    format!("localhost:{}", bind.port())
                } else {
                    bind.to_string()
                };
                Url::parse(&format!("http://{host}/"))
                    .map_err(|e| bad("RAPPORT_BIND", format!("gives no usable base URL: {e}")))?
            }
        };
        let base_domain = match src.get("RAPPORT_BASE_DOMAIN") {
            None => None,
            Some(raw) => Some(
                rapport_domain::organization::DomainName::parse(raw)
                    .map_err(|e| bad("RAPPORT_BASE_DOMAIN", e))?
                    .as_str()
                    .to_owned(),
            ),
        };
        let secret_key = match src.get("RAPPORT_SECRET_KEY") {
            None => None,
            Some(raw) if raw.chars().count() < 32 => {
                return Err(bad(
                    "RAPPORT_SECRET_KEY",
                    "must be at least 32 characters (try: openssl rand -base64 48)",
                ));
            }
            Some(raw) => Some(Secret::new(raw)),
        };
        let smtp_url = match src.get("RAPPORT_SMTP_URL") {
            None => None,
            Some(raw) => {
                let url = Url::parse(raw.trim())
                    .map_err(|e| bad("RAPPORT_SMTP_URL", format!("is not a URL: {e}")))?;
                if !matches!(url.scheme(), "smtp" | "smtps") || url.host().is_none() {
                    return Err(bad(
                        "RAPPORT_SMTP_URL",
                        "must be smtp://host:port or smtps://host:port",
                    ));
                }
                Some(SecretUrl(raw.trim().to_owned()))
            }
        };
        let redis_url = match src.get("RAPPORT_REDIS_URL") {
            None => None,
            Some(raw) => {
                let url = Url::parse(raw.trim())
                    .map_err(|e| bad("RAPPORT_REDIS_URL", format!("is not a URL: {e}")))?;
                if !matches!(url.scheme(), "redis" | "rediss") {
                    return Err(bad("RAPPORT_REDIS_URL", "must be a redis:// URL"));
                }
                Some(SecretUrl(raw.trim().to_owned()))
            }
        };
        let log_format = match src.get("RAPPORT_LOG_FORMAT").map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(
                    "RAPPORT_LOG_FORMAT",
                    format!("must be text or json, got {other:?}"),
                ));
            }
        };
        let cors_origins = src
            .get("RAPPORT_CORS_ORIGINS")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|origin| {
                        let url = Url::parse(origin).map_err(|_| {
                            bad(
                                "RAPPORT_CORS_ORIGINS",
                                format!(
                                    "{origin:?} is not an origin such as https://app.example.com"
                                ),
                            )
                        })?;
                        Ok(url.origin().ascii_serialization())
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()
            })
            .transpose()?
            .unwrap_or_default();
        let db_max_connections: u32 = src.parse(
            "RAPPORT_DB_MAX_CONNECTIONS",
            10,
            "a whole number between 1 and 1000",
        )?;
        if !(1..=1000).contains(&db_max_connections) {
            return Err(bad(
                "RAPPORT_DB_MAX_CONNECTIONS",
                "must be between 1 and 1000",
            ));
        }
        let default_hashers = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        let password_hashers: usize = src.parse(
            "RAPPORT_PASSWORD_HASHERS",
            default_hashers,
            "a whole number between 1 and 64",
        )?;
        if !(1..=64).contains(&password_hashers) {
            return Err(bad("RAPPORT_PASSWORD_HASHERS", "must be between 1 and 64"));
        }
        let login_address_limit: usize = src.parse(
            "RAPPORT_LOGIN_ADDRESS_LIMIT",
            50,
            "a whole number of at least 5",
        )?;
        if login_address_limit < 5 {
            return Err(bad("RAPPORT_LOGIN_ADDRESS_LIMIT", "must be at least 5"));
        }
        let sqlite_synchronous = match src
            .get("RAPPORT_SQLITE_SYNCHRONOUS")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("full") => rapport_store::SqliteSync::Full,
            Some("normal") => rapport_store::SqliteSync::Normal,
            Some(other) => {
                return Err(bad(
                    "RAPPORT_SQLITE_SYNCHRONOUS",
                    format!("must be full or normal, got {other:?}"),
                ));
            }
        };
        let metrics_bind = match src.get("RAPPORT_METRICS_BIND") {
            None => None,
            Some(raw) => Some(raw.trim().parse::<SocketAddr>().map_err(|_| {
                bad(
                    "RAPPORT_METRICS_BIND",
                    format!("must be an address such as 127.0.0.1:9100, got {raw:?}"),
                )
            })?),
        };
        Ok(Config {
            database_url: SecretUrl(database_url),
            data_dir,
            bind,
            base_url,
            base_domain,
            secret_key,
            smtp_url,
            mail_from: src
                .get("RAPPORT_MAIL_FROM")
                .unwrap_or("Rapport <no-reply@localhost>")
                .to_owned(),
            redis_url,
            log_format,
            log_filter: src.get("RAPPORT_LOG").unwrap_or("info").to_owned(),
            access_token_ttl: src.secs("RAPPORT_ACCESS_TOKEN_TTL_SECS", 900, 1)?,
            refresh_token_ttl: src.secs("RAPPORT_REFRESH_TOKEN_TTL_SECS", 30 * 86_400, 1)?,
            session_idle_timeout: src.secs("RAPPORT_SESSION_IDLE_TIMEOUT_SECS", 2 * 3600, 1)?,
            password_policy: {
                let min_chars: usize =
                    src.parse("RAPPORT_PASSWORD_MIN_LENGTH", 12, "a whole number")?;
                if !(8..=128).contains(&min_chars) {
                    return Err(bad(
                        "RAPPORT_PASSWORD_MIN_LENGTH",
                        "must be from 8 to 128 characters",
                    ));
                }
                let min_kinds: usize =
                    src.parse("RAPPORT_PASSWORD_MIN_KINDS", 1, "a whole number")?;
                if !(1..=4).contains(&min_kinds) {
                    return Err(bad(
                        "RAPPORT_PASSWORD_MIN_KINDS",
                        "must be from 1 to 4 (lowercase, uppercase, digits, others)",
                    ));
                }
                rapport_domain::account::PasswordPolicy {
                    min_chars,
                    min_kinds,
                }
            },
            session_absolute_timeout: src.secs(
                "RAPPORT_SESSION_ABSOLUTE_TIMEOUT_SECS",
                7 * 86_400,
                1,
            )?,
            request_timeout: src.secs("RAPPORT_REQUEST_TIMEOUT_SECS", 30, 1)?,
            cors_origins,
            trust_proxy: src.bool("RAPPORT_TRUST_PROXY", false)?,
            db_max_connections,
            db_acquire_timeout: Duration::from_millis(src.parse(
                "RAPPORT_DB_ACQUIRE_TIMEOUT_MS",
                5000u64,
                "a whole number of milliseconds",
            )?),
            db_statement_timeout: src.secs("RAPPORT_DB_STATEMENT_TIMEOUT_SECS", 20, 1)?,
            organization_purge_after: src.secs("RAPPORT_ORGANIZATION_PURGE_DAYS", 30, 86_400)?,
            invitation_ttl: src.secs("RAPPORT_INVITATION_TTL_HOURS", 168, 3600)?,
            password_reset_ttl: src.secs("RAPPORT_PASSWORD_RESET_TTL_MINUTES", 60, 60)?,
            allow_signup: src.bool("RAPPORT_ALLOW_SIGNUP", true)?,
            metrics_token: src
                .get("RAPPORT_METRICS_TOKEN")
                .map(|t| Secret::new(t.trim())),
            ws_max_connections_per_user: src.parse(
                "RAPPORT_WS_MAX_CONNECTIONS_PER_USER",
                20,
                "a whole number",
            )?,
            ws_idle_timeout: src.secs("RAPPORT_WS_IDLE_TIMEOUT_SECS", 60, 1)?,
            identity_cache_ttl: Duration::from_secs(src.parse(
                "RAPPORT_IDENTITY_CACHE_SECS",
                30u64,
                "a whole number of seconds (0: no cache)",
            )?),
            list_scan_limit: src.parse("RAPPORT_LIST_SCAN_LIMIT", 10_000i64, "a whole number")?,
            webhook_allow_private: src.bool("RAPPORT_WEBHOOK_ALLOW_PRIVATE", false)?,
            sso_allow_private: src.bool("RAPPORT_SSO_ALLOW_PRIVATE", false)?,
            webhook_timeout: src.secs("RAPPORT_WEBHOOK_TIMEOUT_SECS", 15, 1)?,
            webhook_retry_base: Duration::from_millis(src.parse(
                "RAPPORT_WEBHOOK_RETRY_BASE_MS",
                30_000u64,
                "a whole number of milliseconds",
            )?),
            rate_limit: src.parse("RAPPORT_RATE_LIMIT", 600u64, "a whole number (0: no limit)")?,
            rate_limit_organization: src.parse(
                "RAPPORT_RATE_LIMIT_ORGANIZATION",
                3000u64,
                "a whole number (0: no limit)",
            )?,
            rate_limit_window: src.secs("RAPPORT_RATE_LIMIT_WINDOW_SECS", 60, 1)?,
            password_hashers,
            password_queue_wait: Duration::from_millis(src.parse(
                "RAPPORT_PASSWORD_QUEUE_WAIT_MS",
                2000u64,
                "a whole number of milliseconds",
            )?),
            login_address_limit,
            sqlite_synchronous,
            metrics_bind,
            file_storage: match src.get("RAPPORT_S3_BUCKET") {
                None => FileStorage::Disk(data_dir_for_files),
                Some(bucket) => {
                    let endpoint = src.get("RAPPORT_S3_ENDPOINT").map(|e| e.trim().to_owned());
                    if let Some(e) = &endpoint
                        && !matches!(
                            Url::parse(e).map(|u| u.scheme().to_owned()).as_deref(),
                            Ok("http" | "https")
                        )
                    {
                        return Err(bad("RAPPORT_S3_ENDPOINT", "must be an http or https URL"));
                    }
                    let access_key_id = src
                        .get("RAPPORT_S3_ACCESS_KEY_ID")
                        .map(|k| k.trim().to_owned());
                    let secret_access_key = src
                        .get("RAPPORT_S3_SECRET_ACCESS_KEY")
                        .map(|k| Secret::new(k.trim()));
                    if access_key_id.is_some() != secret_access_key.is_some() {
                        return Err(bad(
                            "RAPPORT_S3_SECRET_ACCESS_KEY",
                            "and RAPPORT_S3_ACCESS_KEY_ID must be set together",
                        ));
                    }
                    FileStorage::S3(S3Config {
                        bucket: bucket.trim().to_owned(),
                        endpoint,
                        region: src
                            .get("RAPPORT_S3_REGION")
                            .unwrap_or("us-east-1")
                            .trim()
                            .to_owned(),
                        access_key_id,
                        secret_access_key,
                        prefix: src
                            .get("RAPPORT_S3_PREFIX")
                            .unwrap_or("")
                            .trim()
                            .trim_matches('/')
                            .to_owned(),
                    })
                }
            },
            file_max_bytes: {
                let mb: u64 =
                    src.parse("RAPPORT_FILE_MAX_MB", 50, "a whole number of megabytes")?;
                if !(1..=100_000).contains(&mb) {
                    return Err(bad("RAPPORT_FILE_MAX_MB", "must be from 1 to 100000"));
                }
                mb * 1_000_000
            },
            file_link_ttl: src.secs("RAPPORT_FILE_LINK_TTL_SECS", 300, 1)?,
        })
    }

    pub fn backend(&self) -> rapport_store::Backend {
        rapport_store::Backend::from_url(self.database_url.expose())
            .unwrap_or(rapport_store::Backend::Sqlite)
    }

    /// Whether the public URL is HTTPS, which makes cookies `Secure` and turns on HSTS.
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// The secret key: the configured one, or on SQLite one generated on first start and kept in
    /// `{data_dir}/secret.key`. PostgreSQL deployments run several processes that must agree on
    /// the key, so there it has to be configured.
    pub fn resolve_secret_key(&self) -> Result<Secret, ConfigError> {
        if let Some(key) = &self.secret_key {
            return Ok(key.clone());
        }
        if self.backend() == rapport_store::Backend::Postgres {
            return Err(bad(
                "RAPPORT_SECRET_KEY",
                "is required with PostgreSQL (at least 32 characters; try: openssl rand -base64 48)",
            ));
        }
        let path = self.data_dir.join("secret.key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let key = existing.trim().to_owned();
            if key.len() >= 32 {
                return Ok(Secret(key));
            }
            return Err(bad(
                "RAPPORT_SECRET_KEY",
                format!("file {} is too short", path.display()),
            ));
        }
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| bad("RAPPORT_DATA_DIR", format!("could not be created: {e}")))?;
        let key = crate::crypto::random_token();
        write_private(&path, &key).map_err(|e| {
            bad(
                "RAPPORT_DATA_DIR",
                format!("could not store the generated secret key: {e}"),
            )
        })?;
        tracing::info!(path = %path.display(), "generated a secret key for this installation");
        Ok(Secret(key))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load(
            None,
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost() {
        let config = load(&[]).expect("defaults are valid");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert!(config.database_url.expose().starts_with("sqlite:"));
        assert_eq!(config.base_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn errors_name_the_variable() {
        let err = load(&[("RAPPORT_BIND", "nowhere")]).err().map(|e| e.name);
        assert_eq!(err.as_deref(), Some("RAPPORT_BIND"));
        let err = load(&[("RAPPORT_SECRET_KEY", "short")])
            .err()
            .map(|e| e.name);
        assert_eq!(err.as_deref(), Some("RAPPORT_SECRET_KEY"));
        let err = load(&[("RAPPORT_DATABASE_URL", "mysql://x")])
            .err()
            .map(|e| e.name);
        assert_eq!(err.as_deref(), Some("RAPPORT_DATABASE_URL"));
        let err = load(&[("RAPPORT_LOG_FORMAT", "xml")]).err().map(|e| e.name);
        assert_eq!(err.as_deref(), Some("RAPPORT_LOG_FORMAT"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let config = load(&[
            (
                "RAPPORT_SECRET_KEY",
                "a-very-long-secret-key-of-at-least-32-chars",
            ),
            (
                "RAPPORT_DATABASE_URL",
                "postgres://rapport:hunter2hunter2@db/rapport",
            ),
            (
                "RAPPORT_SMTP_URL",
                "smtp://mailer:mailpass@smtp.example.com:587",
            ),
        ])
        .expect("valid");
        let shown = format!("{config:?}");
        assert!(!shown.contains("a-very-long-secret"));
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("mailpass"));
        assert!(shown.contains("db/rapport"));
    }

    #[test]
    fn postgres_requires_a_secret_key() {
        let config =
            load(&[("RAPPORT_DATABASE_URL", "postgres://localhost/rapport")]).expect("valid");
        assert_eq!(
            config.resolve_secret_key().err().map(|e| e.name).as_deref(),
            Some("RAPPORT_SECRET_KEY")
        );
    }

    #[test]
    fn the_toml_file_is_overridden_by_the_environment() {
        let dir = std::env::temp_dir().join(format!("rapport-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("rapport.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\nlog_format = \"json\"\ncors_origins = [\"https://a.example.com\"]\n")
            .expect("write");
        let config = Config::load(
            Some(&path),
            [("RAPPORT_LOG_FORMAT".to_owned(), "text".to_owned())].into(),
        )
        .expect("valid");
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(
            config.cors_origins,
            vec!["https://a.example.com".to_owned()]
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
