//! The background half of Rapport: the outbox dispatcher and the job runner. `rapport worker`
//! runs only this; `rapport serve` runs it beside the HTTP server unless told not to.

use std::sync::Arc;
use std::time::Duration;

use rapport_store::Signal;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::App;
use crate::jobs::{self, AppJobs};

/// What a worker does.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The job queues served (every queue by default).
    pub queues: Vec<String>,
    /// Jobs run at once.
    pub concurrency: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            queues: jobs::QUEUES.iter().map(|q| (*q).to_owned()).collect(),
            concurrency: 4,
        }
    }
}

/// A running worker; [`Worker::stop`] lets running jobs finish.
pub struct Worker {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Worker {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The name of this worker in job leases: host and process id.
fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "rapport".into());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    )
}

impl App {
    /// Starts the dispatcher and the job runner in the background.
    pub fn start_worker(self: &Arc<Self>, options: WorkerOptions) -> Worker {
        let (stop, stopped) = watch::channel(false);
        let queues: Vec<&str> = options.queues.iter().map(String::as_str).collect();
        let runner_options = jobs::runner_options(worker_name(), &queues, options.concurrency);
        let tasks = vec![
            tokio::spawn(self.clone().run_dispatcher(stopped.clone())),
            tokio::spawn(jobs::runner::run(
                self.db.clone(),
                Arc::new(AppJobs(self.clone())),
                runner_options,
                stopped.clone(),
            )),
            tokio::spawn(forward_wakeups(self.clone(), stopped)),
        ];
        Worker { stop, tasks }
    }
}

/// On PostgreSQL, turns `NOTIFY`s of commits made by other processes into this process's
/// wake-ups, so a worker reacts at once to a change served by another server.
async fn forward_wakeups(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let channels = [Signal::Outbox.channel(), Signal::Jobs.channel()];
    let signals = app.db.signals();
    loop {
        let listening = async {
            let Some(mut listener) = app.db.listen(&channels).await? else {
                // SQLite: one process, woken directly by its own commits.
                std::future::pending::<()>().await;
                return Ok(());
            };
            loop {
                let notification = listener.recv().await?;
                if notification.channel() == Signal::Outbox.channel() {
                    signals.outbox.notify_one();
                } else {
                    signals.jobs.notify_one();
                }
            }
        };
        let result: rapport_store::Result<()> = tokio::select! {
            r = listening => r,
            _ = stop.changed() => return,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "listening for wake-ups failed; polling until reconnected");
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
