//! The job runner: claims due jobs, runs them a few at a time, records how each ended, fires
//! recurring schedules and takes back jobs whose worker died. Generic over what a job does
//! ([`Handler`]), so the queue's guarantees are tested apart from the jobs themselves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rapport_store::jobs::{self as store_jobs, Job, NewJob, Outcome};
use rapport_store::{Db, Signals};
use tokio::sync::{Notify, Semaphore, watch};

use super::cron::Cron;

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobFailure {
    /// Worth another attempt (the network, a receiver that answered 5xx).
    Retry(String),
    /// Will never succeed (an unknown job kind, a receiver that is gone): dead at once.
    Fatal(String),
}

/// How long to wait before each further attempt: exponential from `base`, capped at `cap`, with
/// jitter so that jobs failing together do not all come back together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The wait after the `attempt`-th failed attempt (1-based): between half and all of
    /// `base × 2^(attempt−1)`, at most `cap`.
    pub fn delay(&self, attempt: i64) -> Duration {
        let exponent = attempt.clamp(1, 40) as u32 - 1;
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(exponent.min(31)))
            .min(self.cap);
        let half = full / 2;
        let spread = half.as_millis() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            getrandom::u64().unwrap_or(0) % (spread + 1)
        };
        half + Duration::from_millis(jitter)
    }
}

/// What the jobs of a queue do.
pub trait Handler: Send + Sync + 'static {
    fn run(&self, job: &Job) -> impl Future<Output = Result<(), JobFailure>> + Send;
    /// The waits between attempts of this job.
    fn backoff(&self, job: &Job) -> Backoff;
}

/// A recurring job: the job of kind `kind` queued at each time `cron` names.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub kind: String,
    pub cron: Cron,
    pub expression: String,
    pub queue: String,
}

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// This worker's name in job leases (host and process).
    pub worker: String,
    pub queues: Vec<String>,
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// How long a claim lasts; a job running longer is cut off and retried.
    pub lease: Duration,
    /// How often to look for due work when nothing wakes the runner.
    pub poll: Duration,
    pub schedules: Vec<Schedule>,
}

impl RunnerOptions {
    pub fn new(worker: impl Into<String>, queues: &[&str]) -> RunnerOptions {
        RunnerOptions {
            worker: worker.into(),
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            concurrency: 4,
            lease: Duration::from_secs(300),
            poll: Duration::from_secs(5),
            schedules: Vec::new(),
        }
    }
}

/// Runs jobs until `stop` turns true, then waits (up to the lease) for running jobs to finish.
pub async fn run<H: Handler>(
    db: Db,
    handler: Arc<H>,
    options: RunnerOptions,
    mut stop: watch::Receiver<bool>,
) {
    let signals: Arc<Signals> = db.signals();
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let freed = Arc::new(Notify::new());
    let mut housekeeping_due = Utc::now();
    loop {
        if *stop.borrow() {
            break;
        }
        let now = Utc::now();
        if now >= housekeeping_due {
            if let Err(error) = housekeeping(&db, &options, now).await {
                tracing::error!(%error, "job runner housekeeping failed");
            }
            housekeeping_due = now + TimeDelta::seconds(15);
        }
        // Claim while there are free slots and due jobs.
        loop {
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            let job = match claim(&db, &options).await {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(%error, "claiming a job failed");
                    break;
                }
            };
            let (db, handler, worker, lease, freed) = (
                db.clone(),
                handler.clone(),
                options.worker.clone(),
                options.lease,
                freed.clone(),
            );
            tokio::spawn(async move {
                execute(&db, handler.as_ref(), &worker, lease, job).await;
                drop(slot);
                freed.notify_one();
            });
        }
        let wait = match next_due(&db, &options).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(20), options.poll),
            _ => options.poll,
        };
        let wait = wait.min(
            (housekeeping_due - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO),
        );
        tokio::select! {
            () = signals.jobs.notified() => {}
            () = freed.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    let all = u32::try_from(options.concurrency.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(options.lease, slots.acquire_many(all)).await;
}

async fn claim(db: &Db, options: &RunnerOptions) -> rapport_store::Result<Option<Job>> {
    let now = rapport_store::now();
    let until = now + TimeDelta::from_std(options.lease).unwrap_or(TimeDelta::minutes(5));
    let mut tx = db.platform().await?;
    let job = store_jobs::claim(&mut tx, &options.queues, &options.worker, now, until).await?;
    tx.commit().await?;
    Ok(job)
}

async fn next_due(
    db: &Db,
    options: &RunnerOptions,
) -> rapport_store::Result<Option<DateTime<Utc>>> {
    let mut tx = db.platform_read().await?;
    let due = store_jobs::next_due(&mut tx, &options.queues).await?;
    tx.commit().await?;
    Ok(due)
}

/// Runs one claimed job and records its outcome.
async fn execute<H: Handler>(db: &Db, handler: &H, worker: &str, lease: Duration, job: Job) {
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(lease, handler.run(&job)).await {
        Ok(result) => result,
        Err(_) => Err(JobFailure::Retry(format!(
            "did not finish within {} seconds",
            lease.as_secs()
        ))),
    };
    let outcome = match result {
        Ok(()) => Outcome::Succeeded,
        Err(JobFailure::Fatal(error)) => Outcome::Dead { error },
        Err(JobFailure::Retry(error)) if job.attempts >= job.max_attempts => {
            Outcome::Dead { error }
        }
        Err(JobFailure::Retry(error)) => {
            let delay = handler.backoff(&job).delay(job.attempts);
            Outcome::Retry {
                at: rapport_store::now()
                    + TimeDelta::from_std(delay).unwrap_or(TimeDelta::hours(1)),
                error,
            }
        }
    };
    let status = match &outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Retry { .. } => "retrying",
        Outcome::Dead { .. } => "dead",
    };
    match &outcome {
        Outcome::Dead { error } => tracing::warn!(
            job = %job.id, kind = %job.kind, attempts = job.attempts, %error,
            "job failed for good"
        ),
        Outcome::Retry { error, at } => tracing::info!(
            job = %job.id, kind = %job.kind, attempts = job.attempts, %error, retry_at = %at,
            "job failed; will retry"
        ),
        Outcome::Succeeded => tracing::debug!(
            job = %job.id, kind = %job.kind, elapsed_ms = started.elapsed().as_millis() as u64,
            "job done"
        ),
    }
    let recorded = async {
        let mut tx = db.platform().await?;
        let mine = store_jobs::finish(&mut tx, job.id, worker, outcome).await?;
        tx.commit().await?;
        Ok::<bool, rapport_store::Error>(mine)
    };
    match recorded.await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            job = %job.id, status,
            "job's lease had expired: another worker took it over, its outcome here is dropped"
        ),
        Err(error) => tracing::error!(job = %job.id, %error, "recording a job's outcome failed"),
    }
}

/// Takes back expired leases and queues the recurring jobs that fell due.
async fn housekeeping(
    db: &Db,
    options: &RunnerOptions,
    now: DateTime<Utc>,
) -> rapport_store::Result<()> {
    let mut tx = db.platform().await?;
    let recovered = store_jobs::recover_expired(&mut tx, now).await?;
    if recovered > 0 {
        tracing::warn!(
            jobs = recovered,
            "took back jobs whose worker stopped mid-run"
        );
    }
    for schedule in &options.schedules {
        if let Some(next) = schedule.cron.next_after(now) {
            store_jobs::ensure_schedule(&mut tx, &schedule.kind, &schedule.expression, next)
                .await?;
        }
    }
    let known = store_jobs::schedules(&mut tx).await?;
    for schedule in &options.schedules {
        let Some(state) = known.iter().find(|s| s.name == schedule.kind) else {
            continue;
        };
        if state.next_run_at > now {
            continue;
        }
        let Some(next) = schedule.cron.next_after(now) else {
            continue;
        };
        if store_jobs::advance_schedule(&mut tx, &schedule.kind, state.next_run_at, next).await? {
            store_jobs::enqueue(
                &mut tx,
                NewJob {
                    queue: schedule.queue.clone(),
                    kind: schedule.kind.clone(),
                    payload: serde_json::json!({"scheduled_for": state.next_run_at}),
                    priority: 0,
                    max_attempts: 3,
                    run_at: now,
                    dedupe_key: Some(format!(
                        "schedule:{}:{}",
                        schedule.kind,
                        state.next_run_at.timestamp()
                    )),
                    organization_id: None,
                },
            )
            .await?;
        }
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter_below_the_full_wait() {
        let backoff = Backoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(300),
        };
        for attempt in 1..=10 {
            let full = Duration::from_secs((10 * 2u64.pow(attempt as u32 - 1)).min(300));
            for _ in 0..20 {
                let delay = backoff.delay(attempt);
                assert!(
                    delay >= full / 2 && delay <= full,
                    "attempt {attempt}: {delay:?}"
                );
            }
        }
    }
}
