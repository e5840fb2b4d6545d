//! The database handle, transactions and queries — one code path for SQLite and PostgreSQL.
//!
//! Queries are plain SQL with `$1, $2, …` placeholders, which both engines understand, and values
//! bound through [`Arg`], which knows how to hand itself to either driver. Rows are decoded with
//! `sqlx::FromRow`, derived once per row type and valid for both engines. What differs between the
//! engines lives in [`crate::dialect`].

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rapport_domain::{OrganizationId, UserId};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, FromRow, PgPool, Postgres, Sqlite, SqlitePool};
use uuid::Uuid;

use crate::{Error, Result};

/// Which engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The engine a database URL names, if it is one Rapport speaks.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// How long a SQLite write transaction waits for its turn before giving up.
const WRITER_WAIT: Duration = Duration::from_secs(30);

tokio::task_local! {
    /// The round trips to the database of the work running in [`count_round_trips`].
    static ROUND_TRIPS: std::sync::Arc<std::sync::atomic::AtomicU32>;
}

/// Runs `work` (a request), counting the round trips it makes to the database: statements, and
/// the start and end of transactions that wait for the database. Work it spawns is not counted.
pub async fn count_round_trips<F: std::future::Future>(work: F) -> (F::Output, u32) {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let output = ROUND_TRIPS.scope(counter.clone(), work).await;
    (output, counter.load(std::sync::atomic::Ordering::Relaxed))
}

tokio::task_local! {
    /// The read transaction the work running in [`one_read`] shares.
    static SHARED_READ: std::sync::Arc<tokio::sync::Mutex<Option<TenantTx>>>;
}

/// Runs `work` (a page being drawn) so that its reads of one organization share one read
/// transaction, opened by the first ([`Db::tenant_read`]) and ended when `work` ends: the page
/// sees one snapshot of the organization and pays for one transaction. Reads that overlap (two at
/// once), or of another organization, open their own. A write transaction opened meanwhile ends
/// the shared read first, so what is read after a write sees it; a read that fails (ends without
/// [`ReadTx::commit`]) drops the shared transaction, and the next read opens a fresh one.
pub async fn one_read<F: std::future::Future>(work: F) -> F::Output {
    let shared = std::sync::Arc::new(tokio::sync::Mutex::new(None));
    let output = SHARED_READ.scope(shared.clone(), work).await;
    end_shared_read(&shared).await;
    output
}

/// Within a page's shared read (see [`one_read`]), ends it before the request asks for another
/// connection: a request never waits for a connection while it holds one, and what it reads
/// after a write sees the write.
async fn leave_shared_read() {
    if let Ok(shared) = SHARED_READ.try_with(|s| s.clone()) {
        end_shared_read(&shared).await;
    }
}

async fn end_shared_read(shared: &tokio::sync::Mutex<Option<TenantTx>>) {
    let open = match shared.try_lock() {
        Ok(mut slot) => slot.take(),
        Err(_) => None,
    };
    if let Some(tx) = open
        && let Err(error) = tx.commit().await
    {
        tracing::warn!(%error, "ending a page's read transaction failed");
    }
}

/// A read transaction of one organization: its own, or the one the page being drawn shares
/// (see [`one_read`]). It is used as a [`TenantTx`].
pub struct ReadTx {
    open: ReadOpen,
}

enum ReadOpen {
    Own(TenantTx),
    Shared {
        slot: tokio::sync::OwnedMutexGuard<Option<TenantTx>>,
        done: bool,
    },
    Done,
}

impl ReadTx {
    /// Ends the reads: its own transaction ends; a shared one stays open for the page's next read.
    pub async fn commit(mut self) -> Result<()> {
        if let ReadOpen::Shared { done, .. } = &mut self.open {
            *done = true;
            return Ok(());
        }
        match std::mem::replace(&mut self.open, ReadOpen::Done) {
            ReadOpen::Own(tx) => tx.commit().await,
            _ => Ok(()),
        }
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        // A shared read that did not end well (an error, a dropped request) is not reused: its
        // transaction may be aborted. Dropping it rolls it back.
        if let ReadOpen::Shared { slot, done: false } = &mut self.open {
            slot.take();
        }
    }
}

impl std::ops::Deref for ReadTx {
    type Target = TenantTx;
    fn deref(&self) -> &TenantTx {
        match &self.open {
            ReadOpen::Own(tx) => tx,
            ReadOpen::Shared { slot, .. } => slot.as_ref().expect("a shared read is open"),
            ReadOpen::Done => unreachable!("a read transaction is used after its end"),
        }
    }
}

impl std::ops::DerefMut for ReadTx {
    fn deref_mut(&mut self) -> &mut TenantTx {
        match &mut self.open {
            ReadOpen::Own(tx) => tx,
            ReadOpen::Shared { slot, .. } => slot.as_mut().expect("a shared read is open"),
            ReadOpen::Done => unreachable!("a read transaction is used after its end"),
        }
    }
}

fn round_trip() {
    let _ = ROUND_TRIPS.try_with(|n| n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
}

/// A pooled PostgreSQL connection idle this long is checked before it is used again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// How hard SQLite works to make a commit durable (`PRAGMA synchronous`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// A committed transaction survives a power cut or an operating system crash.
    #[default]
    Full,
    /// Faster commits (WAL is synced at checkpoints only): a committed transaction survives the
    /// process being killed, but the last ones may be lost on a power cut or kernel crash.
    Normal,
}

/// Pool sizing and timeouts.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// How long a request waits for a free connection before it is told the service is busy.
    pub acquire_timeout: Duration,
    /// The longest a statement may run before it is cancelled and the request told the service is
    /// busy (PostgreSQL's `statement_timeout`; on SQLite, a progress handler).
    pub statement_timeout: Duration,
    pub sqlite_synchronous: SqliteSync,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            sqlite_synchronous: SqliteSync::Full,
        }
    }
}

/// SQLite virtual-machine steps between two looks at a transaction's deadline (well under a
/// millisecond of work).
const SQLITE_PROGRESS_OPS: i32 = 10_000;

/// Gives a SQLite transaction its deadline, `limit_ms` from now (0: none): SQLite's progress
/// handler, consulted while a statement runs, interrupts any statement of the transaction still
/// running past it, and the request is answered 503 like a busy database. This plays the part of
/// PostgreSQL's `statement_timeout`, for a transaction rather than a statement: SQLite cannot
/// otherwise stop a statement whose request was dropped, and a burst of slow statements kept every
/// connection busy long after their clients had gone.
async fn arm_sqlite(tx: &mut sqlx::Transaction<'static, Sqlite>, limit_ms: u64) -> Result<()> {
    let deadline = (limit_ms > 0).then(|| Instant::now() + Duration::from_millis(limit_ms));
    tx.lock_handle()
        .await?
        .set_progress_handler(SQLITE_PROGRESS_OPS, move || {
            deadline.is_none_or(|d| Instant::now() < d)
        });
    Ok(())
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A pool of connections to Rapport's database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// SQLite: how long a transaction's statements may run, in milliseconds from its start (0: no
    /// limit); see `arm_sqlite`.
    sqlite_limit: u64,
    /// SQLite has one writer at a time. Write transactions queue here, in order, rather than
    /// contending for the file lock, where a busy writer fails after its timeout.
    writer: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    signals: std::sync::Arc<Signals>,
    /// Record counts per organization, for choosing how to search.
    statistics: std::sync::Arc<crate::statistics::Statistics>,
}

/// Wake-ups for the background workers of this process, raised when a transaction that wrote
/// outbox events or jobs commits (see [`Tx::raise`]). Other processes learn of such commits
/// through PostgreSQL `NOTIFY` (see [`Db::listen`]) or by polling.
#[derive(Default)]
pub struct Signals {
    /// New outbox events were committed.
    pub outbox: tokio::sync::Notify,
    /// New jobs were committed.
    pub jobs: tokio::sync::Notify,
    /// Told of every committed transaction that changed identity rows (see [`Tx::changed`]).
    identity: std::sync::OnceLock<std::sync::Arc<dyn IdentityWatcher>>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field("identity_watched", &self.identity.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Signals {
    /// Installs the watcher of identity changes (once; later calls are ignored).
    pub fn watch_identity(&self, watcher: std::sync::Arc<dyn IdentityWatcher>) {
        let _ = self.identity.set(watcher);
    }
}

/// Identity rows a transaction changed: what a request's credentials, organization and role are
/// read from. Caches of them forget what a committed transaction changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Changed {
    /// A user's row, sessions, sign-ins (token families) or API keys they created.
    User(rapport_domain::UserId),
    /// An organization's row, domains, memberships or API keys.
    Organization(OrganizationId),
}

/// Learns of committed identity changes. Runs inside the commit, after the database confirmed
/// it and before the caller hears of it, so a caller that goes on to the next request finds every
/// cache already told.
pub trait IdentityWatcher: Send + Sync {
    fn committed(
        &self,
        changes: Vec<Changed>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;

    /// An organization committed a write (its records' totals may have changed): other
    /// processes are told, without waiting for them (see [`crate::statistics`]).
    fn wrote(&self, _organization: OrganizationId) {}
}

/// What a committed transaction wakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Outbox,
    Jobs,
}

impl Signal {
    /// The PostgreSQL `NOTIFY` channel of this signal.
    pub fn channel(self) -> &'static str {
        match self {
            Signal::Outbox => "rapport_outbox",
            Signal::Jobs => "rapport_jobs",
        }
    }
}

/// What [`Db::inspect_pooled_connections`] found on one idle connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PooledConnectionState {
    /// Still inside a transaction (it would run the next request's statements in it).
    pub in_transaction: bool,
    /// PostgreSQL: the tenant setting left on the session, if any.
    pub tenant_setting: Option<String>,
    /// PostgreSQL: the role is not the one the connection logged in as.
    pub role_switched: bool,
}

impl PooledConnectionState {
    pub fn is_clean(&self) -> bool {
        !self.in_transaction && self.tenant_setting.is_none() && !self.role_switched
    }
}

/// A snapshot of the pool for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// How much of a SQLite file is read through a memory map.
const SQLITE_MMAP_BYTES: u64 = 1 << 30;

impl Db {
    /// Connects to the database a URL names (`sqlite:…` or `postgres://…`). A SQLite file is
    /// created when missing.
    pub async fn connect(url: &str, options: &PoolOptions) -> Result<Db> {
        let sqlite_limit = options.statement_timeout.as_millis() as u64;
        let pool = match Backend::from_url(url) {
            Some(Backend::Sqlite) => {
                let connect = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(match options.sqlite_synchronous {
                        SqliteSync::Full => SqliteSynchronous::Full,
                        SqliteSync::Normal => SqliteSynchronous::Normal,
                    })
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Pages are read through a memory map (no system call and copy per page
                    // read) and each connection keeps 16 MiB of them (2 MiB by default).
                    .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                    .pragma("cache_size", "-16384");
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Sqlite(pool)
            }
            Some(Backend::Postgres) => {
                let timeout_ms = options.statement_timeout.as_millis().to_string();
                let connect = PgConnectOptions::from_str(url)?
                    .application_name("rapport")
                    .options([("statement_timeout", timeout_ms.as_str())]);
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    // A connection in steady use is not pinged before each use (a round trip per
                    // transaction); one idle for a while is, since the server may have dropped it.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= IDLE_BEFORE_PING {
                                use sqlx::Connection;
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(connect)
                    .await?;
                Pool::Postgres(pool)
            }
            None => return Err(Error::UnsupportedUrl),
        };
        let writer = matches!(pool, Pool::Sqlite(_))
            .then(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)));
        Ok(Db {
            pool,
            sqlite_limit,
            writer,
            signals: std::sync::Arc::default(),
            statistics: std::sync::Arc::default(),
        })
    }

    /// This process's wake-ups for background workers.
    pub fn signals(&self) -> std::sync::Arc<Signals> {
        self.signals.clone()
    }

    /// On PostgreSQL, a connection listening to `NOTIFY` on `channels`: how a process learns of
    /// commits made by other processes. `None` on SQLite, where one process writes.
    pub async fn listen(&self, channels: &[&str]) -> Result<Option<sqlx::postgres::PgListener>> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen_all(channels.iter().copied()).await?;
                Ok(Some(listener))
            }
        }
    }

    /// On PostgreSQL, sends `payload` to every listener of `channel` (outside any transaction).
    /// Does nothing on SQLite.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                // Migrations may rewrite large tables: no time limit for them (the connection's
                // next transaction sets its own, see `arm_sqlite`).
                let mut conn = pool.acquire().await?;
                conn.lock_handle()
                    .await?
                    .set_progress_handler(SQLITE_PROGRESS_OPS, || true);
                sqlx::migrate!("./migrations/sqlite")
                    .run(&mut *conn)
                    .await?;
            }
            Pool::Postgres(pool) => {
                // Migrations may rewrite large tables: no statement timeout for them.
                let mut conn = pool.acquire().await?;
                sqlx::query("SET statement_timeout = 0")
                    .execute(&mut *conn)
                    .await?;
                let migrated = sqlx::migrate!("./migrations/postgres")
                    .run(&mut *conn)
                    .await;
                sqlx::query("RESET statement_timeout")
                    .execute(&mut *conn)
                    .await?;
                migrated?;
            }
        }
        Ok(())
    }

    /// How many migrations this binary knows that the database has not applied yet.
    pub async fn pending_migrations(&self) -> Result<usize> {
        let (migrator, applied): (sqlx::migrate::Migrator, Vec<i64>) = match &self.pool {
            Pool::Sqlite(pool) => (
                sqlx::migrate!("./migrations/sqlite"),
                applied_versions(pool.acquire().await?.as_mut()).await?,
            ),
            Pool::Postgres(pool) => (
                sqlx::migrate!("./migrations/postgres"),
                applied_versions(pool.acquire().await?.as_mut()).await?,
            ),
        };
        Ok(migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    /// Runs one read-only statement on platform data outside any explicit transaction: one round
    /// trip instead of three, for the lookups every request makes (credentials, tenant
    /// resolution). Never for tenant data, which is read in a [`TenantTx`].
    pub async fn platform_fetch_optional<T: Record>(&self, query: Query) -> Result<Option<T>> {
        leave_shared_read().await;
        round_trip();
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let (sql, args) = query.sqlite_args()?;
                sqlx::query_as_with(&sql, args).fetch_optional(pool).await?
            }
            Pool::Postgres(pool) => {
                let (sql, args) = query.postgres_args()?;
                sqlx::query_as_with(&sql, args).fetch_optional(pool).await?
            }
        })
    }

    /// Every row of one statement outside an explicit transaction (see
    /// [`Db::platform_fetch_optional`]).
    pub async fn platform_fetch_all<T: Record>(&self, query: Query) -> Result<Vec<T>> {
        leave_shared_read().await;
        round_trip();
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let (sql, args) = query.sqlite_args()?;
                sqlx::query_as_with(&sql, args).fetch_all(pool).await?
            }
            Pool::Postgres(pool) => {
                let (sql, args) = query.postgres_args()?;
                sqlx::query_as_with(&sql, args).fetch_all(pool).await?
            }
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Pool::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub fn stats(&self) -> PoolStats {
        match &self.pool {
            Pool::Sqlite(pool) => PoolStats {
                size: pool.size(),
                idle: pool.num_idle() as u32,
                max: pool.options().get_max_connections(),
            },
            Pool::Postgres(pool) => PoolStats {
                size: pool.size(),
                idle: pool.num_idle() as u32,
                max: pool.options().get_max_connections(),
            },
        }
    }

    /// Takes every idle connection of the pool at once and reports the state each is in: what
    /// the next request would get. For the tests and checks that prove no connection goes back
    /// to the pool inside a transaction, or with a tenant setting or role left behind.
    pub async fn inspect_pooled_connections(&self) -> Result<Vec<PooledConnectionState>> {
        let mut states = Vec::new();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut held = Vec::new();
                while let Some(conn) = pool.try_acquire() {
                    held.push(conn);
                }
                for conn in &mut held {
                    // `BEGIN` inside a transaction is an error: the probe for an open one.
                    let in_transaction = sqlx::raw_sql("BEGIN").execute(&mut **conn).await.is_err();
                    if !in_transaction {
                        sqlx::raw_sql("ROLLBACK").execute(&mut **conn).await?;
                    }
                    states.push(PooledConnectionState {
                        in_transaction,
                        tenant_setting: None,
                        role_switched: false,
                    });
                }
            }
            Pool::Postgres(pool) => {
                #[derive(sqlx::FromRow)]
                struct Probe {
                    tenant: String,
                    own_role: bool,
                }
                let mut held = Vec::new();
                while let Some(conn) = pool.try_acquire() {
                    held.push(conn);
                }
                for conn in &mut held {
                    // A savepoint can only be made inside a transaction block: the probe for an
                    // open one (released at once when it succeeds).
                    let in_transaction = sqlx::raw_sql("SAVEPOINT rapport_probe")
                        .execute(&mut **conn)
                        .await
                        .is_ok();
                    if in_transaction {
                        sqlx::raw_sql("RELEASE SAVEPOINT rapport_probe")
                            .execute(&mut **conn)
                            .await?;
                    }
                    let probe: Probe = sqlx::query_as(
                        "SELECT coalesce(current_setting('rapport.organization_id', true), '') AS tenant, \
                         current_user = session_user AS own_role",
                    )
                    .fetch_one(&mut **conn)
                    .await?;
                    states.push(PooledConnectionState {
                        in_transaction,
                        tenant_setting: (!probe.tenant.is_empty()).then_some(probe.tenant),
                        role_switched: !probe.own_role,
                    });
                }
            }
        }
        Ok(states)
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Opens a transaction. The `BEGIN` runs in a task of its own, so a request dropped while it
    /// is in flight (the client went away, a timeout) cannot leave a connection inside a
    /// transaction nobody tracks: the task finishes, and the transaction it opened is rolled
    /// back when its result is dropped, before the connection serves anyone else.
    async fn begin(&self, write: bool, tenant: Option<OrganizationId>) -> Result<Tx> {
        leave_shared_read().await;
        round_trip();
        let generation = tenant.map(|org| self.statistics.generation(org));
        let tx = match &self.pool {
            // SQLite allows one writer. A deferred transaction that reads and then writes fails
            // when another connection committed in between; taking the write lock up front makes
            // it wait its turn instead.
            Pool::Sqlite(pool) if write => {
                let permit = match &self.writer {
                    Some(writer) => Some(
                        tokio::time::timeout(WRITER_WAIT, writer.clone().acquire_owned())
                            .await
                            .map_err(|_| Error::Busy)?
                            .map_err(|_| Error::Busy)?,
                    ),
                    None => None,
                };
                let pool = pool.clone();
                let limit = self.sqlite_limit;
                // The writer's turn travels with the transaction, so it is handed on only once
                // the transaction is over, however the caller fares.
                let (begun, permit) = detached(async move {
                    let begun = match pool.begin_with("BEGIN IMMEDIATE").await {
                        Ok(mut tx) => arm_sqlite(&mut tx, limit).await.map(|()| tx),
                        Err(e) => Err(e.into()),
                    };
                    (begun, permit)
                })
                .await?;
                Tx::sqlite(begun?, permit)
            }
            Pool::Sqlite(pool) => {
                let pool = pool.clone();
                let limit = self.sqlite_limit;
                let begun = detached(async move {
                    let mut tx = pool.begin().await?;
                    arm_sqlite(&mut tx, limit).await?;
                    Ok::<_, Error>(tx)
                })
                .await??;
                Tx::sqlite(begun, None)
            }
            Pool::Postgres(pool) => {
                let pool = pool.clone();
                // A tenant transaction enters its scope in the same round trip as `BEGIN`. A read
                // is `READ ONLY`: PostgreSQL refuses any write in it, so ending it without
                // waiting (see `Tx::commit`) can never lose one. It is `REPEATABLE READ`: every
                // statement of it sees the same snapshot, so what one read model puts together
                // (a count and the rows it counts) agrees; a read-only transaction at that level
                // never fails to serialize.
                let begin = if write {
                    "BEGIN"
                } else {
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                };
                let statement = match tenant {
                    Some(org) => {
                        std::borrow::Cow::Owned(crate::dialect::begin_in_tenant_scope(begin, org))
                    }
                    None => std::borrow::Cow::Borrowed(begin),
                };
                let mut tx =
                    Tx::postgres(detached(async move { pool.begin_with(statement).await }).await??);
                tx.read_only = !write;
                tx
            }
        };
        let mut tx = tx.with_signals(self.signals.clone());
        tx.statistics = Some(self.statistics.clone());
        tx.generation = generation;
        tx.writes_in = tenant.filter(|_| write);
        Ok(tx)
    }

    /// Another process committed a write in `organization`: the totals kept of it are forgotten
    /// (see [`crate::statistics`]).
    pub fn organization_wrote(&self, organization: OrganizationId) {
        self.statistics.wrote(organization);
    }

    /// Whether this process hears every other process's writes (it is alone, or listens to the
    /// live bus): the record totals kept are forgotten, and kept from now on only if so.
    pub fn hear_writes(&self, heard: bool) {
        self.statistics.hear_writes(heard);
    }

    /// A transaction for platform data that belongs to no single organization: users, sign-in,
    /// tenant resolution, instance administration. It is not confined by row-level security.
    pub async fn platform(&self) -> Result<Tx> {
        self.begin(true, None).await
    }

    /// A read-only flavour of [`Db::platform`]; on SQLite it does not wait for the write lock.
    pub async fn platform_read(&self) -> Result<Tx> {
        self.begin(false, None).await
    }

    /// A transaction confined to one organization. On PostgreSQL it runs under the
    /// `rapport_tenant` role with `rapport.organization_id` set, so row-level security hides every
    /// other organization's rows even from a query that forgets its filter.
    pub async fn tenant(&self, organization_id: OrganizationId) -> Result<TenantTx> {
        Ok(TenantTx {
            tx: self.begin(true, Some(organization_id)).await?,
            organization_id,
        })
    }

    /// A read-only flavour of [`Db::tenant`]; within [`one_read`], the page's shared one.
    pub async fn tenant_read(&self, organization_id: OrganizationId) -> Result<ReadTx> {
        if let Ok(shared) = SHARED_READ.try_with(|s| s.clone())
            && let Ok(mut slot) = shared.try_lock_owned()
        {
            match slot.as_ref() {
                Some(open) if open.organization_id == organization_id => {
                    return Ok(ReadTx {
                        open: ReadOpen::Shared { slot, done: false },
                    });
                }
                // Another organization's: ended before this one begins.
                Some(_) => drop(slot),
                None => {
                    *slot = Some(TenantTx {
                        tx: self.begin(false, Some(organization_id)).await?,
                        organization_id,
                    });
                    return Ok(ReadTx {
                        open: ReadOpen::Shared { slot, done: false },
                    });
                }
            }
        }
        Ok(ReadTx {
            open: ReadOpen::Own(TenantTx {
                tx: self.begin(false, Some(organization_id)).await?,
                organization_id,
            }),
        })
    }
}

/// Runs `work` in a task of its own and waits for it: dropping the waiting future does not stop
/// the work, which finishes (and drops its result, rolling back a transaction it opened).
async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    match tokio::spawn(work).await {
        Ok(done) => Ok(done),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(Error::Busy),
    }
}

async fn applied_versions<C>(conn: &mut C) -> Result<Vec<i64>>
where
    C: sqlx::migrate::Migrate + ?Sized,
{
    conn.ensure_migrations_table().await?;
    Ok(conn
        .list_applied_migrations()
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect())
}

/// A value bound to a placeholder. Each variant maps to the natural column type of both engines.
#[derive(Clone, Debug)]
pub enum Arg {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>),
    Date(Option<chrono::NaiveDate>),
    Json(Option<serde_json::Value>),
    Bytes(Option<Vec<u8>>),
    /// Several ids as one PostgreSQL array (`uuid[]`); see [`Query::any_of`].
    Uuids(Vec<Uuid>),
}

macro_rules! arg_from {
    ($variant:ident, $t:ty, $conv:expr) => {
        impl From<$t> for Arg {
            fn from(value: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(Some(($conv)(value)))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(value: Option<$t>) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(value.map($conv))
            }
        }
    };
}

arg_from!(Uuid, Uuid, |v| v);
arg_from!(Text, String, |v| v);
arg_from!(Text, &str, |v: &str| v.to_owned());
arg_from!(Text, &String, |v: &String| v.clone());
arg_from!(Int, i64, |v| v);
arg_from!(Int, i32, i64::from);
arg_from!(Float, f64, |v| v);
arg_from!(Bool, bool, |v| v);
arg_from!(Time, DateTime<Utc>, |v| v);
arg_from!(Date, chrono::NaiveDate, |v| v);
arg_from!(Json, serde_json::Value, |v| v);
arg_from!(Bytes, Vec<u8>, |v| v);
arg_from!(
    Text,
    rapport_domain::organization::Currency,
    |v: rapport_domain::organization::Currency| v.code().to_owned()
);
arg_from!(
    Text,
    &rapport_domain::deal::StageKey,
    |v: &rapport_domain::deal::StageKey| v.to_string()
);
arg_from!(
    Text,
    rapport_domain::deal::DealStatus,
    |v: rapport_domain::deal::DealStatus| v.as_str().to_owned()
);

macro_rules! arg_from_id {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(value: $t) -> Self {
                Arg::Uuid(Some(value.as_uuid()))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(value: Option<$t>) -> Self {
                Arg::Uuid(value.map(|v| v.as_uuid()))
            }
        }
    )*};
}

arg_from_id!(
    rapport_domain::OrganizationId,
    rapport_domain::UserId,
    rapport_domain::MembershipId,
    rapport_domain::InvitationId,
    rapport_domain::DomainId,
    rapport_domain::AuditEntryId,
    rapport_domain::SessionId,
    rapport_domain::TokenFamilyId,
    rapport_domain::ApiKeyId,
    rapport_domain::CompanyId,
    rapport_domain::ContactId,
    rapport_domain::PipelineId,
    rapport_domain::StageId,
    rapport_domain::DealId,
    rapport_domain::TaskId,
    rapport_domain::ActivityId,
    rapport_domain::LeadId,
    rapport_domain::TagId,
    rapport_domain::ViewId,
    rapport_domain::EventId,
    rapport_domain::JobId,
    rapport_domain::NotificationId,
    rapport_domain::WebhookId,
    rapport_domain::DeliveryId,
    rapport_domain::ObjectId,
    rapport_domain::FieldId,
    rapport_domain::RecordId,
    rapport_domain::RoleId,
    rapport_domain::TeamId
);

impl Arg {
    /// Refuses text PostgreSQL could not store, on both engines, so they never disagree.
    fn check(&self) -> Result<()> {
        let has_nul = match self {
            Arg::Text(Some(text)) => text.contains('\0'),
            Arg::Json(Some(value)) => json_has_nul(value),
            _ => false,
        };
        if has_nul {
            Err(Error::NulInText)
        } else {
            Ok(())
        }
    }

    fn add_to_sqlite<'q>(self, args: &mut sqlx::sqlite::SqliteArguments<'q>) -> Result<()> {
        self.check()?;
        let added = match self {
            Arg::Uuid(v) => args.add(v),
            Arg::Text(v) => args.add(v),
            Arg::Int(v) => args.add(v),
            Arg::Float(v) => args.add(v),
            Arg::Bool(v) => args.add(v),
            Arg::Time(v) => args.add(v),
            Arg::Date(v) => args.add(v),
            Arg::Json(v) => args.add(v.map(sqlx::types::Json)),
            Arg::Bytes(v) => args.add(v),
            Arg::Uuids(_) => Err("SQLite binds no arrays: Query::any_of lists the ids".into()),
        };
        added.map_err(Error::Bind)
    }

    fn add_to_postgres(self, args: &mut sqlx::postgres::PgArguments) -> Result<()> {
        self.check()?;
        let added = match self {
            Arg::Uuid(v) => args.add(v),
            Arg::Text(v) => args.add(v),
            Arg::Int(v) => args.add(v),
            Arg::Float(v) => args.add(v),
            Arg::Bool(v) => args.add(v),
            Arg::Time(v) => args.add(v),
            Arg::Date(v) => args.add(v),
            Arg::Json(v) => args.add(v.map(sqlx::types::Json)),
            Arg::Bytes(v) => args.add(v),
            Arg::Uuids(v) => args.add(v),
        };
        added.map_err(Error::Bind)
    }
}

fn json_has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(json_has_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// SQL text with its bound values.
#[derive(Clone, Debug)]
pub struct Query {
    sql: String,
    args: Vec<Arg>,
}

/// Starts a query. Placeholders are `$1, $2, …` in the order of [`Query::bind`] calls.
pub fn query(sql: impl Into<String>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Binds a value and returns its placeholder, for SQL assembled piece by piece.
    pub fn push_arg(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// Makes this query part of a bigger one: `f` gets its SQL and returns the new SQL, which
    /// keeps the placeholders bound so far and may add more with [`Query::push_arg`].
    pub fn wrap(mut self, f: impl FnOnce(&str) -> String) -> Self {
        self.sql = f(&self.sql);
        self
    }

    pub fn push_sql(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// Appends ` AND {condition} {value}` when there is a value: `q.and("owner_id =", owner)`.
    pub fn and<V: Into<Arg>>(&mut self, condition: &str, value: Option<V>) {
        if let Some(v) = value {
            let p = self.push_arg(v);
            self.sql.push_str(&format!(" AND {condition} {p}"));
        }
    }

    /// The condition "`column` is one of `ids`", binding them. On PostgreSQL the ids travel as
    /// one array (`column = ANY($n)`): one prepared statement whatever their number, and an array
    /// built once per statement rather than once per row tested. SQLite gets a placeholder each.
    pub fn any_of(&mut self, backend: Backend, column: &str, ids: &[Uuid]) -> String {
        match backend {
            Backend::Postgres => {
                let p = self.push_arg(Arg::Uuids(ids.to_vec()));
                format!("{column} = ANY({p})")
            }
            Backend::Sqlite => {
                let ps: Vec<String> = ids.iter().map(|id| self.push_arg(*id)).collect();
                format!("{column} IN ({})", ps.join(", "))
            }
        }
    }

    /// `{column}` is one of `users` (the condition, with its arguments bound).
    pub fn any_user(&mut self, backend: Backend, column: &str, users: &[UserId]) -> String {
        let ids: Vec<Uuid> = users.iter().map(|u| u.as_uuid()).collect();
        self.any_of(backend, column, &ids)
    }

    /// Appends ` AND {column} IN (…)` when there are values.
    pub fn and_in<V: Into<Arg> + Clone>(&mut self, column: &str, values: &[V]) {
        if !values.is_empty() {
            let ps: Vec<String> = values.iter().map(|v| self.push_arg(v.clone())).collect();
            self.sql
                .push_str(&format!(" AND {column} IN ({})", ps.join(", ")));
        }
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn args(&self) -> &[Arg] {
        &self.args
    }

    fn sqlite_args(self) -> Result<(String, sqlx::sqlite::SqliteArguments<'static>)> {
        let mut args = sqlx::sqlite::SqliteArguments::default();
        for arg in self.args {
            arg.add_to_sqlite(&mut args)?;
        }
        Ok((self.sql, args))
    }

    fn postgres_args(self) -> Result<(String, sqlx::postgres::PgArguments)> {
        let mut args = sqlx::postgres::PgArguments::default();
        for arg in self.args {
            arg.add_to_postgres(&mut args)?;
        }
        Ok((self.sql, args))
    }
}

/// A row type decodable from both engines; derive `sqlx::FromRow` to get it.
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

enum Open {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// An open transaction. Dropped without [`Tx::commit`] (an early return on an error), it is rolled
/// back right away in the background, and only then are its connection and, on SQLite, the
/// writer's turn handed on: an abandoned transaction never keeps holding a lock.
pub struct Tx {
    open: Option<Open>,
    /// On SQLite, the writer's permit of a write transaction.
    writer: Option<tokio::sync::OwnedSemaphorePermit>,
    signals: Option<std::sync::Arc<Signals>>,
    statistics: Option<std::sync::Arc<crate::statistics::Statistics>>,
    raised: Vec<Signal>,
    changes: Vec<Changed>,
    /// A PostgreSQL transaction begun `READ ONLY`.
    read_only: bool,
    /// A tenant transaction's organization's generation when it began (see
    /// [`crate::statistics`]): taken before its snapshot, so a total it counts is at least as
    /// new as that generation.
    pub(crate) generation: Option<u64>,
    /// The organization a write transaction writes in: its generation moves when it commits.
    writes_in: Option<OrganizationId>,
}

impl Tx {
    fn sqlite(
        tx: sqlx::Transaction<'static, Sqlite>,
        writer: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Tx {
        Tx {
            open: Some(Open::Sqlite(tx)),
            writer,
            signals: None,
            statistics: None,
            raised: Vec::new(),
            changes: Vec::new(),
            read_only: false,
            generation: None,
            writes_in: None,
        }
    }

    fn postgres(tx: sqlx::Transaction<'static, Postgres>) -> Tx {
        Tx {
            open: Some(Open::Postgres(tx)),
            writer: None,
            signals: None,
            statistics: None,
            raised: Vec::new(),
            changes: Vec::new(),
            read_only: false,
            generation: None,
            writes_in: None,
        }
    }

    fn with_signals(mut self, signals: std::sync::Arc<Signals>) -> Tx {
        self.signals = Some(signals);
        self
    }

    /// Wakes the workers waiting for `signal` once this transaction commits: those of this process
    /// directly, those of other processes through PostgreSQL `NOTIFY`, which is delivered on commit
    /// and dropped on rollback.
    pub async fn raise(&mut self, signal: Signal) -> Result<()> {
        if self.raised.contains(&signal) {
            return Ok(());
        }
        if self.backend() == Backend::Postgres {
            self.execute(query("SELECT pg_notify($1, '')").bind(signal.channel()))
                .await?;
        }
        self.raised.push(signal);
        Ok(())
    }

    /// Marks identity rows this transaction changed; once it commits, every server forgets what
    /// it had cached of them (see [`IdentityWatcher`]). Repository functions that write users,
    /// sessions, sign-ins, organizations, domains, memberships or API keys call it, so no path
    /// that changes them can forget to.
    pub fn changed(&mut self, what: Changed) {
        if !self.changes.contains(&what) {
            self.changes.push(what);
        }
    }

    /// The process's record counts (see [`crate::statistics`]).
    pub(crate) fn statistics(&self) -> Option<std::sync::Arc<crate::statistics::Statistics>> {
        self.statistics.clone()
    }

    /// A write transaction in an organization: what it reads may include its own writes.
    pub(crate) fn writes(&self) -> bool {
        self.writes_in.is_some()
    }

    fn open(&mut self) -> &mut Open {
        self.open
            .as_mut()
            .expect("a transaction stays open until commit consumes it")
    }

    pub fn backend(&self) -> Backend {
        match self.open {
            Some(Open::Postgres(_)) => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// Commits. Like `BEGIN`, the `COMMIT` runs in a task of its own: once asked for, it
    /// completes even if the caller is dropped meanwhile, so a connection never goes back to the
    /// pool between a sent `COMMIT` and its answer.
    pub async fn commit(mut self) -> Result<()> {
        if self.read_only
            && let Some(Open::Postgres(tx)) = self.open.take()
        {
            // Nothing to make durable: the driver queues the end of the transaction and sends it
            // with the check it makes on every connection handed back to the pool, which
            // completes before the connection serves anyone else. The request does not wait.
            drop(tx);
            return Ok(());
        }
        round_trip();
        let open = self.open.take();
        let writer = self.writer.take();
        let signals = self.signals.take();
        let raised = std::mem::take(&mut self.raised);
        let changes = std::mem::take(&mut self.changes);
        let wrote = self.writes_in.zip(self.statistics.clone());
        detached(async move {
            // The organization's totals are forgotten before the `COMMIT` (no count begun from
            // here on is kept under the old generation) and after it (nor one counted while it
            // was in flight, which may not show it).
            if let Some((org, statistics)) = &wrote {
                statistics.wrote(*org);
            }
            let committed = match open {
                Some(Open::Sqlite(tx)) => tx.commit().await,
                Some(Open::Postgres(tx)) => tx.commit().await,
                None => Ok(()),
            };
            if let Some((org, statistics)) = &wrote {
                statistics.wrote(*org);
                if let Some(watcher) = signals.as_ref().and_then(|s| s.identity.get()) {
                    watcher.wrote(*org);
                }
            }
            committed?;
            drop(writer);
            if !changes.is_empty()
                && let Some(watcher) = signals.as_ref().and_then(|s| s.identity.get())
            {
                watcher.committed(changes).await;
            }
            if let Some(signals) = &signals {
                for signal in &raised {
                    match signal {
                        Signal::Outbox => signals.outbox.notify_one(),
                        Signal::Jobs => signals.jobs.notify_one(),
                    }
                }
            }
            Ok::<(), Error>(())
        })
        .await?
    }

    /// Runs a statement; returns the number of rows it touched.
    pub async fn execute(&mut self, query: Query) -> Result<u64> {
        round_trip();
        Ok(match self.open() {
            Open::Sqlite(tx) => {
                let (sql, args) = query.sqlite_args()?;
                sqlx::query_with(&sql, args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
            Open::Postgres(tx) => {
                let (sql, args) = query.postgres_args()?;
                sqlx::query_with(&sql, args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
        })
    }

    pub async fn fetch_optional<T: Record>(&mut self, query: Query) -> Result<Option<T>> {
        round_trip();
        Ok(match self.open() {
            Open::Sqlite(tx) => {
                let (sql, args) = query.sqlite_args()?;
                sqlx::query_as_with(&sql, args)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            Open::Postgres(tx) => {
                let (sql, args) = query.postgres_args()?;
                sqlx::query_as_with(&sql, args)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        })
    }

    /// One row, or [`Error::NotFound`].
    pub async fn fetch_one<T: Record>(&mut self, query: Query) -> Result<T> {
        self.fetch_optional(query).await?.ok_or(Error::NotFound)
    }

    pub async fn fetch_all<T: Record>(&mut self, query: Query) -> Result<Vec<T>> {
        round_trip();
        Ok(match self.open() {
            Open::Sqlite(tx) => {
                let (sql, args) = query.sqlite_args()?;
                sqlx::query_as_with(&sql, args).fetch_all(&mut **tx).await?
            }
            Open::Postgres(tx) => {
                let (sql, args) = query.postgres_args()?;
                sqlx::query_as_with(&sql, args).fetch_all(&mut **tx).await?
            }
        })
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(open) = self.open.take() else { return };
        let writer = self.writer.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let rolled_back = match open {
                    Open::Sqlite(tx) => tx.rollback().await,
                    Open::Postgres(tx) => tx.rollback().await,
                };
                if let Err(error) = rolled_back {
                    tracing::warn!(%error, "rolling back an abandoned transaction failed");
                }
                drop(writer);
            });
        }
    }
}

/// A transaction confined to one organization; see [`Db::tenant`]. Every tenant repository
/// function takes it first, so the organization in scope is never forgotten.
pub struct TenantTx {
    tx: Tx,
    organization_id: OrganizationId,
}

impl TenantTx {
    pub fn organization_id(&self) -> OrganizationId {
        self.organization_id
    }

    pub fn backend(&self) -> Backend {
        self.tx.backend()
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    /// Marks the organization's identity rows (its row, domains, memberships, API keys) changed;
    /// see [`Tx::changed`].
    pub fn organization_changed(&mut self) {
        self.tx.changed(Changed::Organization(self.organization_id));
    }

    /// The raw transaction, for repository code. Queries written through it must still filter by
    /// [`TenantTx::organization_id`]; row-level security on PostgreSQL is the safety net, not the
    /// rule.
    pub fn raw(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

/// The current time as stored: UTC, truncated to microseconds, the precision both engines keep.
pub fn now() -> DateTime<Utc> {
    use chrono::DurationRound;
    let now = Utc::now();
    now.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(now)
}

impl Tx {
    /// Confines an already open transaction to an organization, for flows that first write
    /// platform rows (a new user, a new organization) and then tenant rows, atomically.
    pub async fn into_tenant(mut self, organization_id: OrganizationId) -> Result<TenantTx> {
        // It may already be scoped (an organization created, then a member added to it): the
        // seal is made by the platform role, so step back to it first.
        if let Some(sql) = crate::dialect::leave_tenant_scope(self.backend()) {
            self.execute(query(sql)).await?;
        }
        if let Some(sql) = crate::dialect::enter_tenant_scope(self.backend()) {
            self.execute(query(sql).bind(organization_id.to_string()))
                .await?;
        }
        // It writes in the organization: its commit moves the organization's generation, and
        // it neither uses nor keeps figures.
        if !self.read_only {
            self.writes_in = Some(organization_id);
        }
        Ok(TenantTx {
            tx: self,
            organization_id,
        })
    }
}

impl TenantTx {
    /// Gives the transaction back as a platform transaction: on PostgreSQL the role returns to the
    /// platform role, for flows that write platform rows after tenant rows (tokens for someone
    /// who just joined), atomically.
    pub async fn into_platform(mut self) -> Result<Tx> {
        if let Some(sql) = crate::dialect::leave_tenant_scope(self.backend()) {
            self.tx.execute(query(sql)).await?;
        }
        Ok(self.tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite(max_connections: u32) -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("rapport-store-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = format!("sqlite:{}", dir.join("t.db").display());
        let db = Db::connect(
            &url,
            &PoolOptions {
                max_connections,
                ..PoolOptions::default()
            },
        )
        .await
        .expect("connect");
        db.migrate().await.expect("migrate");
        (db, dir)
    }

    #[tokio::test]
    async fn an_abandoned_write_transaction_does_not_block_the_next_writer() {
        let (db, dir) = sqlite(1).await;
        for round in 0..50 {
            let mut tx = db
                .platform()
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            tx.execute(
                query("INSERT INTO email_outbox (id, to_address, subject, text_body, created_at) VALUES ($1, 'a@b.c', 's', 't', $2)")
                    .bind(Uuid::now_v7())
                    .bind(now()),
            )
            .await
            .expect("insert");
            // Dropped without commit, as an early return on an error does.
            drop(tx);
        }
        let mut tx = db.platform().await.expect("a writer still gets its turn");
        #[derive(sqlx::FromRow)]
        struct Count {
            n: i64,
        }
        let count: Count = tx
            .fetch_one(query("SELECT COUNT(*) AS n FROM email_outbox"))
            .await
            .expect("count");
        assert_eq!(count.n, 0, "abandoned transactions were rolled back");
        tx.commit().await.expect("commit");
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_transaction_abandoned_mid_query_does_not_break_the_next_writer() {
        // A request cancelled while its transaction runs a statement (the client went away).
        let (db, dir) = sqlite(1).await;
        for round in 0..5 {
            let mut tx = db
                .platform()
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            let slow = tx.execute(query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c",
            ));
            let _ = tokio::time::timeout(Duration::from_millis(5), slow).await;
            drop(tx);
        }
        let mut tx = db.platform().await.expect("a writer still gets its turn");
        tx.execute(query("SELECT 1")).await.expect("usable");
        tx.commit().await.expect("commit");
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_sqlite_statement_past_the_time_limit_is_interrupted_as_busy() {
        let dir = std::env::temp_dir().join(format!("rapport-store-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = format!("sqlite:{}", dir.join("t.db").display());
        let options = PoolOptions {
            max_connections: 1,
            statement_timeout: Duration::from_millis(300),
            ..PoolOptions::default()
        };
        let db = Db::connect(&url, &options).await.expect("connect");
        db.migrate()
            .await
            .expect("migrations run without the limit");
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
        let started = Instant::now();
        let mut tx = db.platform_read().await.expect("tx");
        let failed = tx.execute(query(endless)).await;
        assert!(matches!(failed, Err(Error::Busy)), "{failed:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "interrupted after {took:?}");
        drop(tx);
        // The connection serves the next statement, with a fresh clock.
        let mut tx = db.platform_read().await.expect("tx");
        let short = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT count(*) FROM c";
        tx.execute(query(short))
            .await
            .expect("a short statement runs");
        tx.commit().await.expect("commit");
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
