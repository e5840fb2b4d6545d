//! The job queue against the real database: retries with backoff, the dead letter, priorities,
//! delays, leases taken over from a dead worker, recurring jobs, and several workers sharing one
//! queue without ever running a job twice at once. Tests use their own queue, which the server's
//! own worker does not serve.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rapport_app::jobs::cron::Cron;
use rapport_app::jobs::runner::{self, Backoff, Handler, JobFailure, RunnerOptions, Schedule};
use rapport_domain::JobId;
use rapport_store::jobs::{self as store_jobs, Job, NewJob};
use serde_json::json;
use tokio::sync::watch;

use crate::support::TestApp;

const QUEUE: &str = "test";

/// Fails a job's first `failures[kind]` attempts, records every run, and notes overlapping runs.
#[derive(Default)]
struct Recorder {
    failures: HashMap<String, i64>,
    fatal: Vec<String>,
    runs: Mutex<Vec<(JobId, String, i64)>>,
    running: Mutex<HashMap<JobId, usize>>,
    overlaps: Mutex<usize>,
    hold: Duration,
}

impl Handler for Recorder {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        {
            let mut running = self.running.lock().expect("lock");
            let n = running.entry(job.id).or_insert(0);
            *n += 1;
            if *n > 1 {
                *self.overlaps.lock().expect("lock") += 1;
            }
        }
        self.runs
            .lock()
            .expect("lock")
            .push((job.id, job.kind.clone(), job.attempts));
        tokio::time::sleep(self.hold).await;
        *self
            .running
            .lock()
            .expect("lock")
            .get_mut(&job.id)
            .expect("running") -= 1;
        if self.fatal.contains(&job.kind) {
            return Err(JobFailure::Fatal("the receiver is gone".into()));
        }
        if job.attempts <= self.failures.get(&job.kind).copied().unwrap_or(0) {
            return Err(JobFailure::Retry(format!(
                "attempt {} failed",
                job.attempts
            )));
        }
        Ok(())
    }

    fn backoff(&self, _job: &Job) -> Backoff {
        Backoff {
            base: Duration::from_millis(40),
            cap: Duration::from_millis(200),
        }
    }
}

fn options(name: &str) -> RunnerOptions {
    let mut options = RunnerOptions::new(name, &[QUEUE]);
    options.poll = Duration::from_millis(100);
    options
}

async fn enqueue(
    t: &TestApp,
    kind: &str,
    priority: i64,
    max_attempts: i64,
    delay: TimeDelta,
) -> JobId {
    let mut tx = t.app.db.platform().await.expect("tx");
    let id = store_jobs::enqueue(
        &mut tx,
        NewJob {
            queue: QUEUE.into(),
            kind: kind.into(),
            payload: json!({}),
            priority,
            max_attempts,
            run_at: rapport_store::now() + delay,
            dedupe_key: None,
            organization_id: None,
        },
    )
    .await
    .expect("enqueue")
    .expect("queued");
    tx.commit().await.expect("commit");
    id
}

async fn job(t: &TestApp, id: JobId) -> Job {
    let mut tx = t.app.db.platform_read().await.expect("tx");
    let job = store_jobs::get(&mut tx, id)
        .await
        .expect("get")
        .expect("exists");
    tx.commit().await.expect("commit");
    job
}

/// Waits (up to 20 s) until the job reaches `status`.
async fn until_status(t: &TestApp, id: JobId, status: &str) -> Job {
    for _ in 0..400 {
        let job = job(t, id).await;
        if job.status == status {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job never became {status}: {:?}", job(t, id).await);
}

fn start(
    t: &TestApp,
    handler: Arc<Recorder>,
    options: RunnerOptions,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(runner::run(t.app.db.clone(), handler, options, stopped));
    (stop, task)
}

#[tokio::test]
async fn a_failing_job_is_retried_with_growing_waits_then_dead_lettered_and_an_admin_retry_runs_it_again()
 {
    let t = TestApp::spawn().await;
    let handler = Arc::new(Recorder {
        failures: HashMap::from([("flaky".into(), 2), ("broken".into(), 100)]),
        ..Recorder::default()
    });
    let flaky = enqueue(&t, "flaky", 0, 5, TimeDelta::zero()).await;
    let broken = enqueue(&t, "broken", 0, 3, TimeDelta::zero()).await;
    let (stop, task) = start(&t, handler.clone(), options("w1"));

    let done = until_status(&t, flaky, "succeeded").await;
    assert_eq!(done.attempts, 3, "failed twice, then succeeded");
    assert_eq!(done.last_error.as_deref(), Some("attempt 2 failed"));
    assert!(done.finished_at.is_some());

    let dead = until_status(&t, broken, "dead").await;
    assert_eq!(dead.attempts, 3, "gave up after max_attempts");
    assert_eq!(dead.last_error.as_deref(), Some("attempt 3 failed"));

    // The waits between attempts grew: each gap at least half the full backoff of its attempt.
    let runs = handler.runs.lock().expect("lock").clone();
    assert_eq!(runs.iter().filter(|r| r.0 == broken).count(), 3);
    let dead_runs: Vec<i64> = runs.iter().filter(|r| r.0 == broken).map(|r| r.2).collect();
    assert_eq!(dead_runs, [1, 2, 3]);

    // An administrator's retry puts the dead job back; it runs (and fails) three times again.
    let mut tx = t.app.db.platform().await.expect("tx");
    assert!(store_jobs::retry_now(&mut tx, broken).await.expect("retry"));
    tx.commit().await.expect("commit");
    let again = until_status(&t, broken, "dead").await;
    assert_eq!(again.attempts, 3);
    assert_eq!(
        handler
            .runs
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.0 == broken)
            .count(),
        6
    );

    stop.send(true).expect("stop");
    task.await.expect("runner stops");
}

#[tokio::test]
async fn a_fatal_failure_is_dead_at_once() {
    let t = TestApp::spawn().await;
    let handler = Arc::new(Recorder {
        fatal: vec!["gone".into()],
        ..Recorder::default()
    });
    let id = enqueue(&t, "gone", 0, 8, TimeDelta::zero()).await;
    let (stop, task) = start(&t, handler, options("w1"));
    let dead = until_status(&t, id, "dead").await;
    assert_eq!(dead.attempts, 1);
    assert_eq!(dead.last_error.as_deref(), Some("the receiver is gone"));
    stop.send(true).expect("stop");
    task.await.expect("runner stops");
}

#[tokio::test]
async fn urgent_jobs_run_first_and_delayed_jobs_wait_for_their_time() {
    let t = TestApp::spawn().await;
    let handler = Arc::new(Recorder::default());
    // Taken before the delayed job is queued: its due time is 1.5 s after a moment after this.
    let started = Utc::now();
    let later = enqueue(&t, "later", 100, 3, TimeDelta::milliseconds(1500)).await;
    let low = enqueue(&t, "low", 0, 3, TimeDelta::zero()).await;
    let high = enqueue(&t, "high", 10, 3, TimeDelta::zero()).await;
    let mut one_at_a_time = options("w1");
    one_at_a_time.concurrency = 1;
    let (stop, task) = start(&t, handler.clone(), one_at_a_time);
    until_status(&t, low, "succeeded").await;
    until_status(&t, high, "succeeded").await;
    assert_eq!(job(&t, later).await.status, "queued", "not due yet");
    until_status(&t, later, "succeeded").await;
    assert!(
        Utc::now() - started >= TimeDelta::milliseconds(1500),
        "ran no earlier than asked"
    );
    let order: Vec<String> = handler
        .runs
        .lock()
        .expect("lock")
        .iter()
        .map(|r| r.1.clone())
        .collect();
    assert_eq!(order, ["high", "low", "later"]);
    stop.send(true).expect("stop");
    task.await.expect("runner stops");
}

#[tokio::test]
async fn several_workers_share_a_queue_without_running_a_job_twice() {
    let t = TestApp::spawn().await;
    let handler = Arc::new(Recorder {
        hold: Duration::from_millis(5),
        ..Recorder::default()
    });
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(enqueue(&t, &format!("job{i}"), i % 3, 3, TimeDelta::zero()).await);
    }
    let workers: Vec<_> = (0..3)
        .map(|w| start(&t, handler.clone(), options(&format!("worker-{w}"))))
        .collect();
    for id in &ids {
        until_status(&t, *id, "succeeded").await;
    }
    for (stop, task) in workers {
        stop.send(true).expect("stop");
        task.await.expect("runner stops");
    }
    let runs = handler.runs.lock().expect("lock").clone();
    assert_eq!(runs.len(), 120, "each job ran exactly once");
    assert_eq!(*handler.overlaps.lock().expect("lock"), 0);
    for id in &ids {
        let job = job(&t, *id).await;
        assert_eq!(job.attempts, 1, "{job:?}");
    }
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_when_its_lease_expires() {
    let t = TestApp::spawn().await;
    let id = enqueue(&t, "orphan", 0, 5, TimeDelta::zero()).await;
    // A worker claims the job and dies: its lease runs out a moment later.
    let mut tx = t.app.db.platform().await.expect("tx");
    let now = rapport_store::now();
    let claimed = store_jobs::claim(
        &mut tx,
        &[QUEUE.into()],
        "dead-worker",
        now,
        now + TimeDelta::milliseconds(300),
    )
    .await
    .expect("claim")
    .expect("a job");
    tx.commit().await.expect("commit");
    assert_eq!(claimed.id, id);
    tokio::time::sleep(Duration::from_millis(400)).await;

    let handler = Arc::new(Recorder::default());
    let (stop, task) = start(&t, handler.clone(), options("w2"));
    let done = until_status(&t, id, "succeeded").await;
    assert_eq!(done.attempts, 2, "the lost attempt counts");
    assert_eq!(handler.runs.lock().expect("lock").len(), 1);

    // The dead worker's late report changes nothing.
    let mut tx = t.app.db.platform().await.expect("tx");
    let mine = store_jobs::finish(
        &mut tx,
        id,
        "dead-worker",
        store_jobs::Outcome::Dead {
            error: "late".into(),
        },
    )
    .await
    .expect("finish");
    tx.commit().await.expect("commit");
    assert!(!mine);
    assert_eq!(job(&t, id).await.status, "succeeded");
    stop.send(true).expect("stop");
    task.await.expect("runner stops");
}

#[tokio::test]
async fn a_recurring_job_runs_once_per_slot_however_many_workers_there_are() {
    let t = TestApp::spawn().await;
    let expression = "*/5 * * * *";
    let schedule = Schedule {
        kind: "test.tick".into(),
        cron: Cron::parse(expression).expect("cron"),
        expression: expression.into(),
        queue: QUEUE.into(),
    };
    // Away from a five-minute edge, so the slot after the one that fell due is still ahead when
    // the workers stop (a run started a second after an edge would find it already past).
    let into_slot = Utc::now().timestamp() % 300;
    if into_slot < 3 {
        tokio::time::sleep(Duration::from_secs(3)).await;
    } else if into_slot > 285 {
        tokio::time::sleep(Duration::from_secs((303 - into_slot) as u64)).await;
    }
    // The slot fell due a moment ago.
    let due = rapport_store::now() - TimeDelta::seconds(1);
    let mut tx = t.app.db.platform().await.expect("tx");
    store_jobs::ensure_schedule(&mut tx, "test.tick", expression, due)
        .await
        .expect("schedule");
    tx.commit().await.expect("commit");

    let handler = Arc::new(Recorder::default());
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let mut o = options(&format!("worker-{w}"));
            o.schedules = vec![schedule.clone()];
            start(&t, handler.clone(), o)
        })
        .collect();
    for _ in 0..100 {
        if !handler.runs.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (stop, task) in workers {
        stop.send(true).expect("stop");
        task.await.expect("runner stops");
    }
    let ticks = handler
        .runs
        .lock()
        .expect("lock")
        .iter()
        .filter(|r| r.1 == "test.tick")
        .count();
    assert_eq!(ticks, 1, "one run for the slot");
    let mut tx = t.app.db.platform_read().await.expect("tx");
    let state = store_jobs::schedules(&mut tx)
        .await
        .expect("schedules")
        .into_iter()
        .find(|s| s.name == "test.tick")
        .expect("kept");
    tx.commit().await.expect("commit");
    assert_eq!(state.last_run_at, Some(due));
    assert!(state.next_run_at > Utc::now(), "moved to the next slot");
    assert_eq!(state.next_run_at.timestamp() % 300, 0, "a five-minute slot");
}

#[tokio::test]
async fn the_servers_own_schedules_are_registered() {
    let t = TestApp::spawn().await;
    let mut names = Vec::new();
    for _ in 0..100 {
        let mut tx = t.app.db.platform_read().await.expect("tx");
        names = store_jobs::schedules(&mut tx)
            .await
            .expect("schedules")
            .into_iter()
            .map(|s| s.name)
            .collect();
        tx.commit().await.expect("commit");
        if names.len() == rapport_app::jobs::SCHEDULES.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut expected: Vec<String> = rapport_app::jobs::SCHEDULES
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}
