//! The job queue: background work stored in the database, claimed by workers as leases.
//!
//! A job is `queued` (or `retrying` after a failure) until its `run_at`; a worker claims the most
//! urgent due job (highest priority, then earliest) and holds it `running` until `locked_until`.
//! It then finishes it as `succeeded`, schedules another attempt (`retrying`), or gives up (`dead`,
//! the dead letter, which an admin may retry). A lease that expires (its worker died) is taken
//! back by [`recover_expired`]. On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so several
//! workers never hold one job at once; on SQLite a claim runs in the single write transaction.

use chrono::{DateTime, Utc};
use rapport_domain::{JobId, OrganizationId};
use serde_json::Value;

use crate::{Backend, Result, Signal, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Job {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub payload: sqlx::types::Json<Value>,
    pub priority: i64,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub organization_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, queue, kind, payload, priority, status, attempts, max_attempts, run_at, locked_by, \
     locked_until, last_error, dedupe_key, organization_id, created_at, updated_at, finished_at";

/// The statuses a job goes through.
pub const STATUSES: [&str; 5] = ["queued", "running", "retrying", "succeeded", "dead"];

/// A job about to be queued.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub queue: String,
    pub kind: String,
    pub payload: Value,
    pub priority: i64,
    pub max_attempts: i64,
    pub run_at: DateTime<Utc>,
    /// At most one job with this key exists; queuing another is a no-op.
    pub dedupe_key: Option<String>,
    pub organization_id: Option<OrganizationId>,
}

/// Queues a job in the caller's transaction; workers are woken when it commits. Returns `None`
/// when a job with the same dedupe key already exists.
pub async fn enqueue(tx: &mut Tx, job: NewJob) -> Result<Option<JobId>> {
    let id = JobId::new();
    let now = crate::now();
    let inserted = tx
        .execute(
            query(
                "INSERT INTO jobs (id, queue, kind, payload, priority, status, attempts, max_attempts, run_at, \
                 dedupe_key, organization_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(id)
            .bind(job.queue)
            .bind(job.kind)
            .bind(job.payload)
            .bind(job.priority)
            .bind(job.max_attempts.max(1))
            .bind(job.run_at)
            .bind(job.dedupe_key)
            .bind(job.organization_id)
            .bind(now),
        )
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    tx.raise(Signal::Jobs).await?;
    Ok(Some(id))
}

/// Claims the most urgent due job of `queues` for `worker` until `locked_until`.
pub async fn claim(
    tx: &mut Tx,
    queues: &[String],
    worker: &str,
    now: DateTime<Utc>,
    locked_until: DateTime<Utc>,
) -> Result<Option<Job>> {
    if queues.is_empty() {
        return Ok(None);
    }
    let mut q = query("");
    let worker = q.push_arg(worker);
    let until = q.push_arg(locked_until);
    let at = q.push_arg(now);
    let names: Vec<String> = queues
        .iter()
        .map(|name| q.push_arg(name.as_str()))
        .collect();
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    q.push_sql(&format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = {worker}, \
         locked_until = {until}, updated_at = {at} \
         WHERE id = (SELECT id FROM jobs WHERE status IN ('queued', 'retrying') AND run_at <= {at} \
         AND queue IN ({}) ORDER BY priority DESC, run_at, id LIMIT 1{lock}) RETURNING {COLUMNS}",
        names.join(", ")
    ));
    tx.fetch_optional(q).await
}

/// How a claimed job ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Succeeded,
    /// Failed; try again at the given time.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Failed for good: the dead letter.
    Dead {
        error: String,
    },
}

/// Records how a job `worker` claimed ended. Returns false when the lease was no longer the
/// worker's (it expired and another worker took the job over), in which case nothing changes.
pub async fn finish(tx: &mut Tx, id: JobId, worker: &str, outcome: Outcome) -> Result<bool> {
    let now = crate::now();
    let (status, run_at, error, finished) = match outcome {
        Outcome::Succeeded => ("succeeded", None, None, Some(now)),
        Outcome::Retry { at, error } => ("retrying", Some(at), Some(error), None),
        Outcome::Dead { error } => ("dead", None, Some(error), Some(now)),
    };
    let changed = tx
        .execute(
            query(
                "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), \
                 last_error = COALESCE($3, last_error), finished_at = $4, locked_by = NULL, \
                 locked_until = NULL, updated_at = $5 \
                 WHERE id = $6 AND status = 'running' AND locked_by = $7",
            )
            .bind(status)
            .bind(run_at)
            .bind(error)
            .bind(finished)
            .bind(now)
            .bind(id)
            .bind(worker),
        )
        .await?;
    Ok(changed == 1)
}

/// Takes back jobs whose lease expired (their worker stopped mid-run): they are retried now, or
/// become dead when out of attempts. Returns how many.
pub async fn recover_expired(tx: &mut Tx, now: DateTime<Utc>) -> Result<u64> {
    tx.execute(
        query(
            "UPDATE jobs SET \
             status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, \
             finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
             last_error = 'the worker running it stopped before finishing', \
             run_at = $1, locked_by = NULL, locked_until = NULL, updated_at = $1 \
             WHERE status = 'running' AND locked_until < $1",
        )
        .bind(now),
    )
    .await
}

/// When the next job of `queues` falls due (`None` when none waits).
pub async fn next_due(tx: &mut Tx, queues: &[String]) -> Result<Option<DateTime<Utc>>> {
    #[derive(sqlx::FromRow)]
    struct Due {
        run_at: Option<DateTime<Utc>>,
    }
    if queues.is_empty() {
        return Ok(None);
    }
    let mut q = query("");
    let names: Vec<String> = queues
        .iter()
        .map(|name| q.push_arg(name.as_str()))
        .collect();
    q.push_sql(&format!(
        "SELECT MIN(run_at) AS run_at FROM jobs WHERE status IN ('queued', 'retrying') AND queue IN ({})",
        names.join(", ")
    ));
    Ok(tx.fetch_one::<Due>(q).await?.run_at)
}

/// Puts a dead or waiting job back in the queue to run now, with its attempts counted afresh.
/// Returns false when the job is missing, running or already succeeded.
pub async fn retry_now(tx: &mut Tx, id: JobId) -> Result<bool> {
    let now = crate::now();
    let changed = tx
        .execute(
            query(
                "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, finished_at = NULL, \
                 updated_at = $1 WHERE id = $2 AND status IN ('dead', 'retrying', 'queued')",
            )
            .bind(now)
            .bind(id),
        )
        .await?;
    if changed == 1 {
        tx.raise(Signal::Jobs).await?;
    }
    Ok(changed == 1)
}

pub async fn get(tx: &mut Tx, id: JobId) -> Result<Option<Job>> {
    tx.fetch_optional(query(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1")).bind(id))
        .await
}

/// Jobs with one of `statuses` (all when empty), most recently changed first.
pub async fn list(tx: &mut Tx, statuses: &[&str], limit: i64) -> Result<Vec<Job>> {
    let mut q = query("");
    let mut sql = format!("SELECT {COLUMNS} FROM jobs");
    if !statuses.is_empty() {
        let marks: Vec<String> = statuses.iter().map(|s| q.push_arg(*s)).collect();
        sql.push_str(&format!(" WHERE status IN ({})", marks.join(", ")));
    }
    let limit = q.push_arg(limit);
    sql.push_str(&format!(" ORDER BY updated_at DESC, id DESC LIMIT {limit}"));
    q.push_sql(&sql);
    tx.fetch_all(q).await
}

/// How many jobs are in each status.
pub async fn counts(tx: &mut Tx) -> Result<Vec<(String, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Count {
        status: String,
        n: i64,
    }
    let rows: Vec<Count> = tx
        .fetch_all(query(
            "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status ORDER BY status",
        ))
        .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

/// Deletes jobs that succeeded before `succeeded_before` and dead jobs that died before
/// `dead_before`; returns how many.
pub async fn prune(
    tx: &mut Tx,
    succeeded_before: DateTime<Utc>,
    dead_before: DateTime<Utc>,
) -> Result<u64> {
    tx.execute(
        query(
            "DELETE FROM jobs WHERE (status = 'succeeded' AND finished_at < $1) \
             OR (status = 'dead' AND finished_at < $2)",
        )
        .bind(succeeded_before)
        .bind(dead_before),
    )
    .await
}

// Recurring jobs

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Schedule {
    pub name: String,
    pub cron: String,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
}

/// Creates a schedule, or changes its cron expression (and next run) when it differs.
pub async fn ensure_schedule(
    tx: &mut Tx,
    name: &str,
    cron: &str,
    next_run_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        query(
            "INSERT INTO job_schedules (name, cron, next_run_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(cron)
        .bind(next_run_at),
    )
    .await?;
    tx.execute(
        query(
            "UPDATE job_schedules SET cron = $2, next_run_at = $3 WHERE name = $1 AND cron <> $2",
        )
        .bind(name)
        .bind(cron)
        .bind(next_run_at),
    )
    .await?;
    Ok(())
}

pub async fn schedules(tx: &mut Tx) -> Result<Vec<Schedule>> {
    tx.fetch_all(query(
        "SELECT name, cron, next_run_at, last_run_at FROM job_schedules ORDER BY name",
    ))
    .await
}

/// Moves a schedule from the slot `due` to `next`, if no other worker did it first: the caller
/// that gets `true` enqueues that slot's run.
pub async fn advance_schedule(
    tx: &mut Tx,
    name: &str,
    due: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<bool> {
    let changed = tx
        .execute(
            query(
                "UPDATE job_schedules SET next_run_at = $1, last_run_at = $2 \
                 WHERE name = $3 AND next_run_at = $2",
            )
            .bind(next)
            .bind(due)
            .bind(name),
        )
        .await?;
    Ok(changed == 1)
}
