//! Background jobs: what Rapport does outside a request. The queue lives in the database
//! (`rapport_store::jobs`); [`runner`] claims and runs jobs; this module names the kinds of job,
//! what each does, how often recurring ones run, and the admin view of the queue.

pub mod cron;
pub mod runner;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rapport_domain::{JobId, OrganizationId};
use rapport_store::jobs::{self as store_jobs, Job, NewJob};
use serde_json::Value;

use crate::admin::require_instance_admin;
use crate::audit::{entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta};
use cron::Cron;
use runner::{Backoff, Handler, JobFailure, RunnerOptions, Schedule};

/// The queues a worker serves unless told otherwise.
pub const QUEUES: [&str; 3] = [queue::DEFAULT, queue::WEBHOOKS, queue::MAINTENANCE];

pub mod queue {
    /// Notifications, reminders and other work users wait for.
    pub const DEFAULT: &str = "default";
    /// Outgoing webhook deliveries (slow receivers must not hold up the rest).
    pub const WEBHOOKS: &str = "webhooks";
    /// Purges and pruning.
    pub const MAINTENANCE: &str = "maintenance";
}

/// The kinds of job and what they do.
pub mod kind {
    /// Purge organizations past their grace period and forget expired credentials.
    pub const PURGE_ORGANIZATIONS: &str = "organizations.purge";
    /// Remove records deleted more than 30 days ago.
    pub const PURGE_RECORDS: &str = "records.purge";
    /// Delete outbox events dispatched long ago.
    pub const PRUNE_OUTBOX: &str = "outbox.prune";
    /// Delete finished jobs: succeeded after a week, dead after 30 days.
    pub const PRUNE_JOBS: &str = "jobs.prune";
    /// Email one notification (payload `{"id"}`).
    pub const EMAIL_NOTIFICATION: &str = "notification.email";
    /// Email the daily digests that fall due this hour.
    pub const SEND_DIGESTS: &str = "notifications.digest";
    /// Remind a task's assignee (payload `{"task_id", "remind_at"}`), at the reminder's time.
    pub const TASK_REMINDER: &str = "task.remind";
    /// Tell assignees of their tasks due today or overdue, at 8:00 in the organization's time zone.
    pub const TASKS_DUE: &str = "tasks.due";
    /// One attempt of a webhook delivery (payload `{"delivery_id"}`).
    pub const DELIVER_WEBHOOK: &str = "webhook.deliver";
}

/// The recurring jobs: (kind, cron expression in UTC).
pub const SCHEDULES: [(&str, &str); 6] = [
    (kind::SEND_DIGESTS, "0 * * * *"),
    (kind::TASKS_DUE, "0 * * * *"),
    (kind::PURGE_ORGANIZATIONS, "7 * * * *"),
    (kind::PURGE_RECORDS, "17 * * * *"),
    (kind::PRUNE_OUTBOX, "23 3 * * *"),
    (kind::PRUNE_JOBS, "33 3 * * *"),
];

/// How long dispatched outbox events are kept (for investigation and late consumers).
pub const OUTBOX_RETENTION: TimeDelta = TimeDelta::days(7);

/// The runner's options for this application: every recurring job, the given queues.
pub fn runner_options(worker: String, queues: &[&str], concurrency: usize) -> RunnerOptions {
    let mut options = RunnerOptions::new(worker, queues);
    options.concurrency = concurrency;
    // The recurring jobs are queued by the workers that serve their queue.
    if !queues.contains(&queue::MAINTENANCE) {
        return options;
    }
    options.schedules = SCHEDULES
        .iter()
        .map(|(kind, expression)| Schedule {
            kind: (*kind).to_owned(),
            cron: Cron::parse(expression).expect("the built-in schedules are valid"),
            expression: (*expression).to_owned(),
            queue: queue::MAINTENANCE.to_owned(),
        })
        .collect();
    options
}

/// Runs this application's jobs.
pub struct AppJobs(pub Arc<App>);

impl Handler for AppJobs {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        let app = &self.0;
        let failed = |e: AppError| JobFailure::Retry(e.to_string());
        match job.kind.as_str() {
            kind::PURGE_ORGANIZATIONS => {
                let purged = app.purge_deleted_organizations().await.map_err(failed)?;
                if !purged.is_empty() {
                    tracing::info!(organizations = purged.len(), "purged deleted organizations");
                }
                Ok(())
            }
            kind::PURGE_RECORDS => {
                let n = app.purge_deleted_records().await.map_err(failed)?;
                if n > 0 {
                    tracing::info!(records = n, "removed records deleted more than 30 days ago");
                }
                Ok(())
            }
            kind::PRUNE_OUTBOX => {
                let mut tx = app.db.platform().await.map_err(|e| failed(e.into()))?;
                let n =
                    rapport_store::events::prune_dispatched(&mut tx, Utc::now() - OUTBOX_RETENTION)
                        .await
                        .map_err(|e| failed(e.into()))?;
                tx.commit().await.map_err(|e| failed(e.into()))?;
                tracing::info!(events = n, "pruned dispatched outbox events");
                Ok(())
            }
            kind::PRUNE_JOBS => {
                let now = Utc::now();
                let mut tx = app.db.platform().await.map_err(|e| failed(e.into()))?;
                let n =
                    store_jobs::prune(&mut tx, now - TimeDelta::days(7), now - TimeDelta::days(30))
                        .await
                        .map_err(|e| failed(e.into()))?;
                tx.commit().await.map_err(|e| failed(e.into()))?;
                tracing::info!(jobs = n, "pruned finished jobs");
                Ok(())
            }
            kind::EMAIL_NOTIFICATION => {
                let org = job.organization_id.map(OrganizationId);
                app.email_notification(org, &job.payload.0)
                    .await
                    .map_err(|e| match e {
                        AppError::Validation(_) => JobFailure::Fatal(e.to_string()),
                        other => failed(other),
                    })
            }
            kind::DELIVER_WEBHOOK => app.deliver_webhook(job).await,
            kind::TASK_REMINDER => {
                app.send_task_reminder(&job.payload.0)
                    .await
                    .map_err(|e| match e {
                        AppError::Validation(_) => JobFailure::Fatal(e.to_string()),
                        other => failed(other),
                    })
            }
            kind::TASKS_DUE => {
                let n = app.notify_due_tasks().await.map_err(failed)?;
                if n > 0 {
                    tracing::info!(notifications = n, "told assignees of tasks due");
                }
                Ok(())
            }
            kind::SEND_DIGESTS => {
                let n = app.send_digests().await.map_err(failed)?;
                if n > 0 {
                    tracing::info!(digests = n, "sent notification digests");
                }
                Ok(())
            }
            other => Err(JobFailure::Fatal(format!("unknown job kind {other:?}"))),
        }
    }

    fn backoff(&self, job: &Job) -> Backoff {
        match job.kind.as_str() {
            kind::DELIVER_WEBHOOK => crate::webhooks::backoff(self.0.config.webhook_retry_base),
            _ => Backoff {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(3600),
            },
        }
    }
}

/// A job to queue.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub queue: &'static str,
    pub kind: &'static str,
    pub payload: Value,
    pub priority: i64,
    pub max_attempts: i64,
    pub run_at: chrono::DateTime<Utc>,
    pub dedupe_key: Option<String>,
}

impl JobSpec {
    pub fn new(queue: &'static str, kind: &'static str, payload: Value) -> JobSpec {
        JobSpec {
            queue,
            kind,
            payload,
            priority: 0,
            max_attempts: 8,
            run_at: rapport_store::now(),
            dedupe_key: None,
        }
    }

    pub(crate) fn into_new_job(
        self,
        organization_id: Option<rapport_domain::OrganizationId>,
    ) -> NewJob {
        NewJob {
            queue: self.queue.to_owned(),
            kind: self.kind.to_owned(),
            payload: self.payload,
            priority: self.priority,
            max_attempts: self.max_attempts,
            run_at: self.run_at,
            dedupe_key: self.dedupe_key,
            organization_id,
        }
    }
}

/// The admin view of the queue.
#[derive(Clone, Debug)]
pub struct JobsOverview {
    /// (status, count) for every status, zero included.
    pub counts: Vec<(&'static str, i64)>,
    pub jobs: Vec<Job>,
    pub schedules: Vec<store_jobs::Schedule>,
    /// Outbox events committed but not yet dispatched.
    pub undispatched_events: i64,
}

impl App {
    /// Queues a platform job (not tied to one organization).
    pub async fn enqueue(&self, job: JobSpec) -> AppResult<Option<JobId>> {
        let mut tx = self.db.platform().await?;
        let id = store_jobs::enqueue(&mut tx, job.into_new_job(None)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The queue for instance administrators: counts per status and the latest jobs of the given
    /// status (all when `None`).
    pub async fn jobs_overview(
        &self,
        actor: &Actor,
        status: Option<&str>,
        limit: i64,
    ) -> AppResult<JobsOverview> {
        require_instance_admin(actor)?;
        if let Some(status) = status
            && !store_jobs::STATUSES.contains(&status)
        {
            return Err(AppError::invalid("status", "is not a job status"));
        }
        let mut tx = self.db.platform_read().await?;
        let found = store_jobs::counts(&mut tx).await?;
        let counts = store_jobs::STATUSES
            .iter()
            .map(|s| {
                let n = found.iter().find(|(f, _)| f == s).map_or(0, |(_, n)| *n);
                (*s, n)
            })
            .collect();
        let jobs = store_jobs::list(&mut tx, status.as_slice(), limit).await?;
        let schedules = store_jobs::schedules(&mut tx).await?;
        let undispatched_events = rapport_store::events::undispatched_count(&mut tx).await?;
        tx.commit().await?;
        Ok(JobsOverview {
            counts,
            jobs,
            schedules,
            undispatched_events,
        })
    }

    /// Outbox events waiting for dispatch and jobs per status, for `/metrics`.
    pub async fn queue_readings(&self) -> AppResult<(i64, Vec<(String, i64)>)> {
        let mut tx = self.db.platform_read().await?;
        let backlog = rapport_store::events::undispatched_count(&mut tx).await?;
        let counts = store_jobs::counts(&mut tx).await?;
        tx.commit().await?;
        Ok((backlog, counts))
    }

    /// Runs a dead (or waiting) job again now. Audited.
    pub async fn retry_job(&self, actor: &Actor, meta: &RequestMeta, id: JobId) -> AppResult<()> {
        require_instance_admin(actor)?;
        let mut tx = self.db.platform().await?;
        let Some(job) = store_jobs::get(&mut tx, id).await? else {
            return Err(AppError::NotFound);
        };
        if !store_jobs::retry_now(&mut tx, id).await? {
            return Err(AppError::conflict(
                "job_not_retryable",
                format!(
                    "the job is {}; only dead or waiting jobs can be retried",
                    job.status
                ),
            ));
        }
        rapport_store::audit::record_platform(
            &mut tx,
            None,
            with_target(
                entry(Some(actor), meta, "job.retried"),
                "job",
                id.to_string(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
