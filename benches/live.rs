//! Live pipeline figures: events per second through the outbox dispatcher, and the latency from
//! a committed change to its arrival at WebSocket clients.
//!
//!   cargo bench --bench live
//!   RAPPORT_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/rapport_bench_live \
//!   RAPPORT_BENCH_REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench live
//!
//! On SQLite one server does everything. On PostgreSQL (an empty database) changes go through
//! server A and the clients listen on server B, so every event crosses between processes (through
//! Redis when its URL is given, else PostgreSQL NOTIFY). Client, servers and database share the
//! machine: the figures are a floor.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_rapport");
const CHANGES: usize = 3000;
const WRITERS: usize = 8;
const CLIENTS: usize = 50;
const ROUNDS: usize = 300;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: std::path::PathBuf,
    database_url: String,
    redis_url: Option<String>,
}

impl Setup {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RAPPORT_DATABASE_URL", &self.database_url)
            .env("RAPPORT_DATA_DIR", &self.dir)
            .env(
                "RAPPORT_SECRET_KEY",
                "bench-secret-key-that-is-long-enough-0123456789",
            )
            .env("RAPPORT_LOG", "warn")
            .env("RAPPORT_DB_MAX_CONNECTIONS", "20")
            // The benchmark's own burst is not what the limits are for.
            .env("RAPPORT_METRICS_TOKEN", "bench-metrics-token")
            .env("RAPPORT_RATE_LIMIT", "0")
            .env("RAPPORT_RATE_LIMIT_ORGANIZATION", "0")
            // Fifty clients of one user.
            .env("RAPPORT_WS_MAX_CONNECTIONS_PER_USER", "100")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(redis) = &self.redis_url {
            cmd.env("RAPPORT_REDIS_URL", redis);
        }
        cmd
    }

    async fn serve(&self, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let server = Server {
            child: self
                .command(args)
                .env("RAPPORT_BIND", format!("127.0.0.1:{port}"))
                .env("RAPPORT_BASE_URL", format!("http://127.0.0.1:{port}"))
                .spawn()
                .expect("rapport starts"),
            base: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if reqwest::get(format!("{}/health", server.base))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }
}

async fn backlog(base: &str) -> i64 {
    let text = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth("bench-metrics-token")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("rapport_outbox_undispatched_events "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the backlog gauge")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("rapport-bench-live-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let postgres = std::env::var("RAPPORT_BENCH_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    let setup = Setup {
        database_url: postgres
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", dir.join("rapport.db").display())),
        redis_url: std::env::var("RAPPORT_BENCH_REDIS_URL")
            .ok()
            .filter(|s| !s.is_empty()),
        dir: dir.clone(),
    };
    if postgres.is_some() {
        let out = setup.command(&["migrate"]).output().expect("migrate");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let transport = match (&postgres, &setup.redis_url) {
        (None, _) => "SQLite, one server, in-process",
        (Some(_), Some(_)) => "PostgreSQL, two servers, Redis pub/sub",
        (Some(_), None) => "PostgreSQL, two servers, PostgreSQL NOTIFY",
    };
    println!("live pipeline: {transport}");

    // 1. Changes committed while nothing dispatches: the outbox fills.
    let writer = setup.serve(&["serve", "--no-worker"]).await;
    let http = reqwest::Client::new();
    let registered: Value = http
        .post(format!("{}/api/v1/auth/register", writer.base))
        .json(&json!({"email": "bench@example.com", "password": "tidal-harbour-42", "name": "Bench", "organization_name": "Bench"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = registered["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let org = registered["organization"]["id"]
        .as_str()
        .expect("org")
        .to_owned();
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (http, base, token, org) = (
                http.clone(),
                writer.base.clone(),
                token.clone(),
                org.clone(),
            );
            tokio::spawn(async move {
                for i in 0..CHANGES / WRITERS {
                    let r = http
                        .post(format!("{base}/api/v1/companies"))
                        .bearer_auth(&token)
                        .header("x-organization-id", &org)
                        .json(&json!({"name": format!("Company {w}-{i}")}))
                        .send()
                        .await
                        .expect("create");
                    assert_eq!(r.status(), 201);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let writes = started.elapsed();
    let waiting = backlog(&writer.base).await;
    println!(
        "  {} changes over HTTP ({WRITERS} writers): {:.0} changes/s; {waiting} events waiting",
        CHANGES,
        CHANGES as f64 / writes.as_secs_f64()
    );

    // 2. A worker drains the outbox.
    let started = Instant::now();
    let worker = setup
        .command(&["worker"])
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    let worker = Server {
        child: worker,
        base: String::new(),
    };
    while backlog(&writer.base).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    println!(
        "  outbox dispatch: {waiting} events in {:.2} s = {:.0} events/s (including the worker's start)",
        drained.as_secs_f64(),
        waiting as f64 / drained.as_secs_f64()
    );
    drop(worker);
    drop(writer);

    // 3. Latency from a committed change to WebSocket clients.
    let a = setup.serve(&["serve"]).await;
    let b = if postgres.is_some() {
        Some(setup.serve(&["serve"]).await)
    } else {
        None
    };
    let listen_base = b.as_ref().map_or(a.base.clone(), |b| b.base.clone());
    let deal: Value = http
        .post(format!("{}/api/v1/deals", a.base))
        .bearer_auth(&token)
        .header("x-organization-id", &org)
        .json(&json!({"title": "Latency", "amount": 100}))
        .send()
        .await
        .expect("deal")
        .json()
        .await
        .expect("json");
    let deal_id = deal["id"].as_str().expect("id").to_owned();
    let (arrivals, mut arrived) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    for client in 0..CLIENTS {
        let url = format!(
            "{}/ws?access_token={token}&organization_id={org}",
            listen_base.replacen("http", "ws", 1)
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        socket
            .send(Message::Text(
                json!({"type": "subscribe", "channel": format!("record:deal:{deal_id}")})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("subscribe");
        let subscribed = socket.next().await.expect("answer").expect("frame");
        assert!(
            subscribed.to_string().contains("subscribed"),
            "{subscribed}"
        );
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                if let Message::Text(text) = frame {
                    let message: Value = serde_json::from_str(&text).expect("json");
                    if message["event"] == "deal.updated" {
                        let _ = arrivals.send((client, Instant::now()));
                    }
                }
            }
        });
    }
    let mut first = Vec::new();
    let mut all = Vec::new();
    for round in 0..ROUNDS {
        let r = http
            .patch(format!("{}/api/v1/deals/{deal_id}", a.base))
            .bearer_auth(&token)
            .header("x-organization-id", &org)
            .json(&json!({"title": format!("Latency {round}")}))
            .send()
            .await
            .expect("patch");
        assert_eq!(r.status(), 200);
        let committed = Instant::now();
        let mut got = 0;
        let mut earliest = None;
        let mut latest = committed;
        while got < CLIENTS {
            let (_, at) = tokio::time::timeout(Duration::from_secs(10), arrived.recv())
                .await
                .expect("every client hears of the change within 10 s")
                .expect("open");
            got += 1;
            earliest.get_or_insert(at);
            latest = latest.max(at);
        }
        first.push(
            earliest
                .unwrap_or(committed)
                .saturating_duration_since(committed),
        );
        all.push(latest.saturating_duration_since(committed));
    }
    first.sort();
    all.sort();
    println!(
        "  change → first of {CLIENTS} clients ({ROUNDS} changes): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        percentile(&first, 0.5),
        percentile(&first, 0.95),
        percentile(&first, 0.99)
    );
    println!(
        "  change → all {CLIENTS} clients: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        percentile(&all, 0.99)
    );
    drop(b);
    drop(a);
    let _ = std::fs::remove_dir_all(&dir);
}
