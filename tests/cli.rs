//! The `rapport` binary: configuration errors, migrations, administration commands, serving and
//! graceful shutdown. Runs on SQLite, and on PostgreSQL when `RAPPORT_TEST_POSTGRES_URL` is set.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rapport");
const SECRET: &str = "cli-test-secret-key-long-enough-0123456789";

struct Env {
    dir: PathBuf,
    database_url: String,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn env() -> Env {
    let dir = std::env::temp_dir().join(format!("rapport-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let database_url = match std::env::var("RAPPORT_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        None => format!("sqlite:{}", dir.join("rapport.db").display()),
        Some(base) => {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&base)
                .await
                .expect("PostgreSQL reachable");
            let name = format!("rapport_test_{}", uuid::Uuid::now_v7().simple());
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create db");
            let mut url = url::Url::parse(&base).expect("url");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    };
    Env { dir, database_url }
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RAPPORT_DATABASE_URL", &self.database_url)
            .env("RAPPORT_DATA_DIR", &self.dir)
            .env("RAPPORT_SECRET_KEY", SECRET)
            .env("RAPPORT_LOG", "warn");
        cmd
    }

    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).output().expect("rapport runs")
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn a_bad_variable_is_named_and_the_exit_code_is_2() {
    let e = env().await;
    let out = e.run(&["migrate"], &[("RAPPORT_BIND", "not-an-address")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("RAPPORT_BIND"), "{}", text(&out));
    let out = e.run(&["migrate"], &[("RAPPORT_SECRET_KEY", "short")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("RAPPORT_SECRET_KEY"));
}

#[tokio::test]
async fn administration_from_the_command_line() {
    let e = env().await;
    let out = e.run(&["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    let pw = [("RAPPORT_NEW_PASSWORD", "tidal-harbour-42")];
    let out = e.run(
        &[
            "admin",
            "create-user",
            "--email",
            "Root@Example.com",
            "--name",
            "Root",
            "--instance-admin",
        ],
        &pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("root@example.com"));
    let out = e.run(
        &[
            "admin",
            "create-user",
            "--email",
            "weak@example.com",
            "--name",
            "Weak",
        ],
        &[("RAPPORT_NEW_PASSWORD", "short")],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("password"), "{}", text(&out));
    let out = e.run(
        &[
            "admin",
            "create-user",
            "--email",
            "bob@example.com",
            "--name",
            "Bob",
        ],
        &pw,
    );
    assert!(out.status.success(), "{}", text(&out));

    let out = e.run(&["admin", "list-organizations"], &[]);
    assert!(
        text(&out).contains("No organizations yet"),
        "{}",
        text(&out)
    );
    let out = e.run(
        &[
            "admin",
            "create-organization",
            "--name",
            "Harbour Lights",
            "--owner-email",
            "root@example.com",
            "--currency",
            "GBP",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = e.run(
        &[
            "admin",
            "add-member",
            "--organization",
            "harbour-lights",
            "--email",
            "bob@example.com",
            "--role",
            "manager",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = e.run(
        &[
            "admin",
            "add-member",
            "--organization",
            "harbour-lights",
            "--email",
            "bob@example.com",
            "--role",
            "king",
        ],
        &[],
    );
    assert!(!out.status.success());
    let out = e.run(&["admin", "list-organizations"], &[]);
    assert!(
        text(&out).contains("harbour-lights") && text(&out).contains("active"),
        "{}",
        text(&out)
    );
    let out = e.run(
        &["admin", "reset-password", "--email", "bob@example.com"],
        &[("RAPPORT_NEW_PASSWORD", "new-harbour-password-7")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = e.run(
        &[
            "admin",
            "set-instance-admin",
            "--email",
            "root@example.com",
            "--value",
            "false",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));

    // What the commands did is visible through the API of a server on the same database.
    let port = free_port();
    let mut server = e
        .command(&["serve"])
        .env("RAPPORT_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(
            &serde_json::json!({"email": "bob@example.com", "password": "new-harbour-password-7"}),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let body: serde_json::Value = login.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token");
    let orgs: serde_json::Value = client
        .get(format!("{base}/api/v1/organizations/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("orgs")
        .json()
        .await
        .expect("json");
    assert_eq!(orgs[0]["slug"], "harbour-lights");
    assert_eq!(orgs[0]["role"], "manager");
    terminate(&mut server);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn wait_healthy(base: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not become healthy");
}

fn terminate(server: &mut std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(exit) = server.try_wait().expect("wait") {
            assert!(exit.success(), "rapport exits cleanly on SIGTERM: {exit:?}");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "rapport did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_prints_its_url_and_stops_gracefully_on_sigterm() {
    let e = env().await;
    let port = free_port();
    let mut server = e
        .command(&["serve", "--migrate"])
        .env("RAPPORT_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let ready: serde_json::Value = reqwest::get(format!("{base}/ready"))
        .await
        .expect("ready")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["status"], "ok");
    // A request in flight when the signal arrives still completes: its body is half sent
    // before the signal (the server has it in hand, whatever the machine's load) and the rest
    // after.
    let body = serde_json::to_vec(
        &serde_json::json!({"email": "late@example.com", "password": "tidal-harbour-42", "name": "Late"}),
    )
    .expect("json");
    let (first, second) = body.split_at(body.len() / 2);
    let (send, parts) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let stream = futures_util::stream::unfold(parts, |mut parts| async move {
        parts.recv().await.map(|part| (part, parts))
    });
    let slow = tokio::spawn({
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/auth/register"))
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    send.send(Ok(first.to_vec())).await.expect("first half");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Stopping waits for the server to exit; meanwhile the rest of the body goes.
    let stopping = tokio::task::spawn_blocking(move || {
        terminate(&mut server);
        server
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    send.send(Ok(second.to_vec())).await.expect("second half");
    drop(send);
    let status = slow.await.expect("task");
    assert!(matches!(status, Ok(201)), "{status:?}");
    let mut server = stopping.await.expect("stopped");
    let mut stdout = String::new();
    use std::io::Read;
    server
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read");
    assert!(
        stdout.contains(&format!("Rapport is running at http://127.0.0.1:{port}/")),
        "{stdout}"
    );
    // Reaped already by `terminate`; this only reads its status again.
    let _ = server.wait();
}

#[tokio::test]
async fn postgres_without_migrations_refuses_to_serve_until_migrated() {
    let e = env().await;
    if !e.database_url.starts_with("postgres") {
        {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED postgres_without_migrations_refuses_to_serve_until_migrated: needs RAPPORT_TEST_POSTGRES_URL"
            );
        }
        return;
    }
    let out = e.run(&["serve"], &[("RAPPORT_BIND", "127.0.0.1:0")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("rapport migrate"), "{}", text(&out));
    let out = e.run(&["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = e.run(&["migrate"], &[]);
    assert!(text(&out).contains("up to date"), "{}", text(&out));
}

#[tokio::test]
async fn embedded_mode_generates_and_keeps_a_secret_key() {
    let e = env().await;
    if e.database_url.starts_with("postgres") {
        let out = e.run(&["migrate"], &[("RAPPORT_SECRET_KEY", "")]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("RAPPORT_SECRET_KEY"), "{}", text(&out));
        return;
    }
    let out = e.run(&["migrate"], &[("RAPPORT_SECRET_KEY", "")]);
    assert!(out.status.success(), "{}", text(&out));
    let key_path = e.dir.join("secret.key");
    let key = std::fs::read_to_string(&key_path).expect("generated key");
    assert!(key.trim().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let out = e.run(&["migrate"], &[("RAPPORT_SECRET_KEY", "")]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&key_path).expect("key"),
        key,
        "the key is kept, not regenerated"
    );
}

#[tokio::test]
async fn seed_demo_creates_an_organization_people_can_sign_in_to() {
    let e = env().await;
    if e.database_url.starts_with("postgres") {
        let m = e.run(&["migrate"], &[]);
        assert!(m.status.success(), "{}", text(&m));
    }
    let pw = [("RAPPORT_NEW_PASSWORD", "demo-harbour-2027")];
    let out = e.run(&["seed", "--demo"], &pw);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Harbourline Marine"), "{said}");
    assert!(said.contains("demo@rapport.example"), "{said}");
    assert!(said.contains("demo-harbour-2027"), "{said}");
    let records: usize = said
        .split("Marine (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a record count");
    assert!(records > 2_000, "a few thousand records, got {records}");
    // The organization exists with its owner.
    let list = e.run(&["admin", "list-organizations"], &[]);
    assert!(text(&list).contains("demo"), "{}", text(&list));
    // Seeding the demo again is refused clearly, not half-done.
    let again = e.run(&["seed", "--demo"], &pw);
    assert!(!again.status.success());
    assert!(
        text(&again).to_lowercase().contains("slug"),
        "{}",
        text(&again)
    );
    // Nothing to seed is a usage error.
    let none = e.run(&["seed"], &[]);
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
}

#[tokio::test]
async fn seed_scale_writes_many_contacts_over_several_transactions() {
    use sqlx::Connection;
    let e = env().await;
    if e.database_url.starts_with("postgres") {
        let m = e.run(&["migrate"], &[]);
        assert!(m.status.success(), "{}", text(&m));
    }
    // Past one transaction's worth (5,000), so the last ones go in a second.
    let out = e.run(
        &["seed", "--scale", "1", "--contacts", "5003"],
        &[("RAPPORT_NEW_PASSWORD", "scale-harbour-2027")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let sql = "SELECT COUNT(*) FROM contacts";
    let contacts: i64 = if e.database_url.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(&e.database_url)
            .await
            .expect("connect");
        sqlx::query_scalar(sql).fetch_one(&mut db).await
    } else {
        let mut db = sqlx::SqliteConnection::connect(&e.database_url)
            .await
            .expect("connect");
        sqlx::query_scalar(sql).fetch_one(&mut db).await
    }
    .expect("count");
    assert_eq!(contacts, 5003, "{}", text(&out));
}

// Several servers

/// A running `rapport` process, stopped when dropped.
struct Process {
    child: std::process::Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Env {
    fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Process {
        let port = free_port();
        let mut cmd = self.command(args);
        cmd.env("RAPPORT_BIND", format!("127.0.0.1:{port}"))
            .env("RAPPORT_BASE_URL", format!("http://127.0.0.1:{port}"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rapport starts");
        Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client of `base`, subscribed to the organization's channel.
async fn live_client(base: &str, token: &str, org: &str) -> Socket {
    use futures_util::{SinkExt, StreamExt};
    let url = format!(
        "{}/ws?access_token={token}&organization_id={org}",
        base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket upgrade");
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            r#"{"type":"subscribe","channel":"org"}"#.into(),
        ))
        .await
        .expect("send");
    let answer = socket.next().await.expect("answer").expect("frame");
    assert!(answer.to_string().contains("subscribed"), "{answer}");
    socket
}

/// The next event on `socket` about `record_id`, within 15 seconds.
async fn event_about(socket: &mut Socket, record_id: &str) -> serde_json::Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no event about {record_id} within 15 seconds"))
            .expect("open")
            .expect("frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            let message: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            if message["type"] == "event" && message["record"]["id"] == record_id {
                return message;
            }
        }
    }
}

/// Registers a user with an organization through `base`; returns (access token, organization id).
async fn register(base: &str, email: &str) -> (String, String) {
    let client = reqwest::Client::new();
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&serde_json::json!({"email": email, "password": "tidal-harbour-42", "name": "Ann", "organization_name": "Harbourline"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = r["access_token"].as_str().expect("token").to_owned();
    let org = r["organization"]["id"]
        .as_str()
        .expect("organization")
        .to_owned();
    (token, org)
}

async fn create_deal(base: &str, token: &str, org: &str, title: &str) -> String {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/deals"))
        .bearer_auth(token)
        .header("x-organization-id", org)
        .json(&serde_json::json!({"title": title, "amount": 100}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    r["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a deal: {r}"))
        .to_owned()
}

/// The Redis of this run; when there is none, says the test is skipped (a failure where
/// `RAPPORT_TEST_NO_SKIP=1`).
fn redis_or_skip(test: &str) -> Option<String> {
    let redis = std::env::var("RAPPORT_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if redis.is_none() {
        assert!(
            std::env::var("RAPPORT_TEST_NO_SKIP").as_deref() != Ok("1"),
            "{test} needs RAPPORT_TEST_REDIS_URL"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: set RAPPORT_TEST_REDIS_URL to run it"
        );
    }
    redis
}

/// Whether this run has PostgreSQL (several servers need a shared database); says so when not.
fn several_servers_possible(e: &Env, test: &str) -> bool {
    if e.database_url.starts_with("postgres") {
        return true;
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: several servers share a PostgreSQL database (set RAPPORT_TEST_POSTGRES_URL)"
    );
    false
}

#[tokio::test]
async fn a_change_through_server_a_reaches_a_websocket_client_of_server_b_through_redis() {
    let test = "a_change_through_server_a_reaches_a_websocket_client_of_server_b_through_redis";
    let e = env().await;
    if !several_servers_possible(&e, test) {
        return;
    }
    let Some(redis) = redis_or_skip(test) else {
        return;
    };
    let migrated = e.run(&["migrate"], &[]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let redis = [
        ("RAPPORT_REDIS_URL", redis.as_str()),
        ("RAPPORT_RATE_LIMIT", "4"),
        ("RAPPORT_RATE_LIMIT_WINDOW_SECS", "3600"),
    ];
    let a = e.spawn(&["serve"], &redis);
    let b = e.spawn(&["serve"], &redis);
    wait_healthy(&a.base).await;
    wait_healthy(&b.base).await;

    let (token, org) = register(&a.base, "ann@example.com").await;
    let mut on_b = live_client(&b.base, &token, &org).await;
    let deal = create_deal(&a.base, &token, &org, "Through Redis").await;
    let event = event_about(&mut on_b, &deal).await;
    assert_eq!(event["event"], "deal.created");
    assert_eq!(event["channel"], "org");

    // The rate limit is one count across both servers: one request made, three more allowed.
    let get = |base: &str| {
        reqwest::Client::new()
            .get(format!("{base}/api/v1/deals"))
            .bearer_auth(&token)
            .header("x-organization-id", &org)
            .send()
    };
    let mut statuses = Vec::new();
    for base in [&a.base, &b.base, &b.base, &a.base] {
        statuses.push(get(base).await.expect("sent").status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}

#[tokio::test]
async fn without_redis_servers_and_a_separate_worker_share_events_through_postgres() {
    let test = "without_redis_servers_and_a_separate_worker_share_events_through_postgres";
    let e = env().await;
    if !several_servers_possible(&e, test) {
        return;
    }
    let migrated = e.run(&["migrate"], &[]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    // Neither server dispatches; a worker process does, and PostgreSQL NOTIFY carries the events.
    let a = e.spawn(&["serve", "--no-worker"], &[]);
    let b = e.spawn(&["serve", "--no-worker"], &[]);
    wait_healthy(&a.base).await;
    wait_healthy(&b.base).await;
    let (token, org) = register(&a.base, "ann@example.com").await;
    let mut on_b = live_client(&b.base, &token, &org).await;
    let mut on_a = live_client(&a.base, &token, &org).await;
    let _worker = e.spawn(&["worker", "--concurrency", "2"], &[]);
    let deal = create_deal(&a.base, &token, &org, "Through PostgreSQL").await;
    assert_eq!(event_about(&mut on_b, &deal).await["event"], "deal.created");
    assert_eq!(event_about(&mut on_a, &deal).await["event"], "deal.created");
}

/// A small API client for the identity tests: every call returns the status and the body.
struct Caller {
    client: reqwest::Client,
}

impl Caller {
    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        bearer: &str,
        org: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, url).bearer_auth(bearer);
        if let Some(org) = org {
            request = request.header("x-organization-id", org);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Two servers on one database, each caching identities: every change made through server A is
/// refused by server B on its very next request, whatever B had cached.
async fn identity_changes_reach_the_other_server(e: &Env, extra: &[(&str, &str)]) {
    use reqwest::Method;
    let migrated = e.run(&["migrate"], &[]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    // Caches that would keep entries for an hour: only invalidation can end them.
    let mut env: Vec<(&str, &str)> = vec![("RAPPORT_IDENTITY_CACHE_SECS", "3600")];
    env.extend_from_slice(extra);
    let a = e.spawn(&["serve"], &env);
    let b = e.spawn(&["serve"], &env);
    wait_healthy(&a.base).await;
    wait_healthy(&b.base).await;
    let api = Caller {
        client: reqwest::Client::new(),
    };
    let (a_api, b_api) = (format!("{}/api/v1", a.base), format!("{}/api/v1", b.base));
    let (ann, org) = register(&a.base, "ann@example.com").await;
    let org = org.as_str();
    let (bob, _) = add_member(&a.base, &ann, org, "bob@example.com").await;
    let (cid, _) = add_member(&a.base, &ann, org, "cid@example.com").await;
    let members = api
        .call(
            Method::GET,
            format!("{a_api}/organizations/{org}/members"),
            &ann,
            None,
            None,
        )
        .await
        .1;
    let membership = |email: &str| {
        members["items"]
            .as_array()
            .or(members.as_array())
            .unwrap_or_else(|| panic!("members: {members}"))
            .iter()
            .find(|m| m["email"] == email)
            .and_then(|m| m["id"].as_str())
            .unwrap_or_else(|| panic!("{email} in {members}"))
            .to_owned()
    };
    let (bob_membership, cid_membership) =
        (membership("bob@example.com"), membership("cid@example.com"));
    let contact = |n: u32| Some(serde_json::json!({"name": format!("Marta {n}")}));

    // Everyone is known to server B.
    assert_eq!(
        api.call(
            Method::POST,
            format!("{b_api}/contacts"),
            &bob,
            Some(org),
            contact(1)
        )
        .await
        .0,
        201
    );
    assert_eq!(
        api.call(
            Method::GET,
            format!("{b_api}/contacts"),
            &cid,
            Some(org),
            None
        )
        .await
        .0,
        200
    );
    let key = api
        .call(
            Method::POST,
            format!("{a_api}/organizations/{org}/api-keys"),
            &ann,
            None,
            Some(serde_json::json!({"name": "Sync", "role": "manager"})),
        )
        .await;
    assert_eq!(key.0, 201, "{}", key.1);
    let secret = key.1["secret"].as_str().expect("secret").to_owned();
    let key_id = key.1["id"].as_str().expect("key id").to_owned();
    assert_eq!(
        api.call(
            Method::GET,
            format!("{b_api}/contacts"),
            &secret,
            Some(org),
            None
        )
        .await
        .0,
        200
    );

    // A role change: Bob, now a viewer, may no longer create contacts on B.
    let changed = api
        .call(
            Method::PATCH,
            format!("{a_api}/organizations/{org}/members/{bob_membership}"),
            &ann,
            None,
            Some(serde_json::json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(changed.0, 200, "{}", changed.1);
    let refused = api
        .call(
            Method::POST,
            format!("{b_api}/contacts"),
            &bob,
            Some(org),
            contact(2),
        )
        .await;
    assert_eq!(
        refused.0, 403,
        "a demoted member still creates on the other server: {}",
        refused.1
    );

    // A removed member.
    let removed = api
        .call(
            Method::DELETE,
            format!("{a_api}/organizations/{org}/members/{cid_membership}"),
            &ann,
            None,
            None,
        )
        .await;
    assert_eq!(removed.0, 204, "{}", removed.1);
    assert_eq!(
        api.call(
            Method::GET,
            format!("{b_api}/contacts"),
            &cid,
            Some(org),
            None
        )
        .await
        .0,
        403,
        "a removed member still reads on the other server"
    );

    // A revoked key.
    let revoked = api
        .call(
            Method::DELETE,
            format!("{a_api}/organizations/{org}/api-keys/{key_id}"),
            &ann,
            None,
            None,
        )
        .await;
    assert_eq!(revoked.0, 204, "{}", revoked.1);
    assert_eq!(
        api.call(
            Method::GET,
            format!("{b_api}/contacts"),
            &secret,
            Some(org),
            None
        )
        .await
        .0,
        401,
        "a revoked key still works on the other server"
    );

    // A signed-out sign-in: Dan signs in, is seen by B, signs out through A.
    let (dan, _) = add_member(&a.base, &ann, org, "dan@example.com").await;
    let login: serde_json::Value = api
        .client
        .post(format!("{a_api}/auth/login"))
        .json(&serde_json::json!({"email": "dan@example.com", "password": "tidal-harbour-42"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let (access, refresh) = (
        login["access_token"].as_str().expect("access token"),
        login["refresh_token"].as_str().expect("refresh token"),
    );
    assert_eq!(
        api.call(Method::GET, format!("{b_api}/auth/me"), access, None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        api.call(Method::GET, format!("{b_api}/auth/me"), &dan, None, None)
            .await
            .0,
        200
    );
    let out = api
        .client
        .post(format!("{a_api}/auth/logout"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(
        api.call(Method::GET, format!("{b_api}/auth/me"), access, None, None)
            .await
            .0,
        401,
        "a signed-out access token still works on the other server"
    );
    assert_eq!(
        api.call(Method::GET, format!("{b_api}/auth/me"), &dan, None, None)
            .await
            .0,
        200,
        "signing out one sign-in leaves the others"
    );

    // A browser session closed through A.
    let opened = api
        .client
        .post(format!("{a_api}/auth/session"))
        .json(&serde_json::json!({"email": "dan@example.com", "password": "tidal-harbour-42"}))
        .send()
        .await
        .expect("session");
    assert_eq!(opened.status().as_u16(), 200);
    let cookie = opened
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let csrf = opened.json::<serde_json::Value>().await.expect("json")["csrf_token"]
        .as_str()
        .expect("csrf token")
        .to_owned();
    let with_cookie = |base: &str| {
        api.client
            .get(format!("{base}/api/v1/auth/me"))
            .header("cookie", &cookie)
            .send()
    };
    assert_eq!(
        with_cookie(&b.base).await.expect("me").status().as_u16(),
        200
    );
    let closed = api
        .client
        .delete(format!("{a_api}/auth/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("close");
    assert_eq!(closed.status().as_u16(), 204);
    assert_eq!(
        with_cookie(&b.base).await.expect("me").status().as_u16(),
        401,
        "a closed session still works on the other server"
    );

    // A suspended organization: Ann was seen by B a moment ago.
    assert_eq!(
        api.call(
            Method::GET,
            format!("{b_api}/contacts"),
            &ann,
            Some(org),
            None
        )
        .await
        .0,
        200
    );
    // The command runs with the servers' configuration (their bus), as an operator's would.
    let made_admin = e.run(
        &["admin", "set-instance-admin", "--email", "ann@example.com"],
        extra,
    );
    assert!(made_admin.status.success(), "{}", text(&made_admin));
    // A command does not listen to the bus, so it does not wait for the servers to hear of its
    // change: A learns of it a moment later.
    let mut admin = 0;
    for _ in 0..50 {
        admin = api
            .call(
                Method::GET,
                format!("{a_api}/admin/organizations"),
                &ann,
                None,
                None,
            )
            .await
            .0;
        if admin == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(admin, 200, "the command's change reached server A");
    let suspended = api
        .call(
            Method::POST,
            format!("{a_api}/admin/organizations/{org}/suspend"),
            &ann,
            None,
            None,
        )
        .await;
    assert!(suspended.0 < 300, "{} {}", suspended.0, suspended.1);
    let after = api
        .call(
            Method::GET,
            format!("{b_api}/contacts"),
            &ann,
            Some(org),
            None,
        )
        .await;
    assert_eq!(
        after.0, 403,
        "a suspended organization still answers on the other server: {}",
        after.1
    );
    assert_eq!(after.1["code"], "organization_suspended");
}

#[tokio::test]
async fn identity_changes_reach_every_server_through_postgres() {
    let e = env().await;
    if !several_servers_possible(&e, "identity_changes_reach_every_server_through_postgres") {
        return;
    }
    identity_changes_reach_the_other_server(&e, &[]).await;
}

#[tokio::test]
async fn identity_changes_reach_every_server_through_redis() {
    let test = "identity_changes_reach_every_server_through_redis";
    let e = env().await;
    if !several_servers_possible(&e, test) {
        return;
    }
    let Some(redis) = redis_or_skip(test) else {
        return;
    };
    identity_changes_reach_the_other_server(&e, &[("RAPPORT_REDIS_URL", redis.as_str())]).await;
}

/// A list's total on each of two servers follows writes made through the other: a server keeps
/// the totals it counted only until an organization writes, and hears of writes elsewhere
/// through the live bus.
async fn totals_follow_writes_through_the_other_server(e: &Env, extra: &[(&str, &str)]) {
    let migrated = e.run(&["migrate"], &[]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    // Without workers: no background write in the organization tells a server of the others'.
    let a = e.spawn(&["serve", "--no-worker"], extra);
    let b = e.spawn(&["serve", "--no-worker"], extra);
    wait_healthy(&a.base).await;
    wait_healthy(&b.base).await;
    let (token, org) = register(&a.base, "ann@example.com").await;
    let client = reqwest::Client::new();
    let total = |base: &str| {
        let request = client
            .get(format!("{base}/api/v1/contacts"))
            .bearer_auth(&token)
            .header("x-organization-id", &org)
            .send();
        async move {
            let r: serde_json::Value = request.await.expect("list").json().await.expect("json");
            r["total"]
                .as_i64()
                .unwrap_or_else(|| panic!("a total: {r}"))
        }
    };
    // Within two seconds, far less than the ten a kept total lives without news.
    let becomes = |base: String, expected: i64| {
        let total = &total;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            loop {
                let now = total(&base).await;
                if now == expected {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{base}: total {now}, not {expected}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let create = |base: &str, name: &str| {
        client
            .post(format!("{base}/api/v1/contacts"))
            .bearer_auth(&token)
            .header("x-organization-id", &org)
            .json(&serde_json::json!({"name": name}))
            .send()
    };
    for name in ["Ann", "Bob"] {
        let r = create(&a.base, name).await.expect("create");
        assert_eq!(r.status().as_u16(), 201);
    }
    // Counted, and kept, on both.
    for base in [&a.base, &b.base, &a.base, &b.base] {
        assert_eq!(total(base).await, 2);
    }
    let r = create(&a.base, "Cid").await.expect("create");
    assert_eq!(r.status().as_u16(), 201);
    let cid: serde_json::Value = r.json().await.expect("json");
    becomes(b.base.clone(), 3).await;
    let r = client
        .delete(format!(
            "{}/api/v1/contacts/{}",
            b.base,
            cid["id"].as_str().expect("id")
        ))
        .bearer_auth(&token)
        .header("x-organization-id", &org)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status().as_u16(), 204);
    becomes(a.base.clone(), 2).await;

    // Objects and fields are kept too, but a change to them reaches the other server before its
    // answer does: asked at once, with no waiting, B knows what A just defined.
    let call =
        |method: reqwest::Method, base: &str, path: &str, body: Option<serde_json::Value>| {
            let mut request = client
                .request(method, format!("{base}{path}"))
                .bearer_auth(&token)
                .header("x-organization-id", &org);
            if let Some(body) = body {
                request = request.json(&body);
            }
            async move {
                let r = request.send().await.expect("sent");
                let status = r.status().as_u16();
                (status, r.text().await.expect("text"))
            }
        };
    for base in [&a.base, &b.base, &b.base] {
        let (status, body) = call(reqwest::Method::GET, base, "/api/v1/objects", None).await;
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains("\"berth\""), "{body}");
    }
    let (status, body) = call(
        reqwest::Method::POST,
        &a.base,
        "/api/v1/objects",
        Some(serde_json::json!({"key": "berth", "singular": "Berth", "plural": "Berths"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(reqwest::Method::GET, &b.base, "/api/v1/objects/berth", None).await;
    assert_eq!(status, 200, "B knows the object at once: {body}");
    let (status, body) = call(
        reqwest::Method::POST,
        &a.base,
        "/api/v1/objects/berth/fields",
        Some(serde_json::json!({"key": "length", "label": "Length", "type": "number"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        reqwest::Method::POST,
        &b.base,
        "/api/v1/objects/berth/records",
        Some(serde_json::json!({"values": {"name": "A-1", "length": 12.5}})),
    )
    .await;
    assert_eq!(status, 201, "B knows the field at once: {body}");
    assert!(body.contains("12.5"), "{body}");
}

#[tokio::test]
async fn list_totals_follow_writes_through_the_other_server_through_postgres() {
    let test = "list_totals_follow_writes_through_the_other_server_through_postgres";
    let e = env().await;
    if !several_servers_possible(&e, test) {
        return;
    }
    totals_follow_writes_through_the_other_server(&e, &[]).await;
}

#[tokio::test]
async fn list_totals_follow_writes_through_the_other_server_through_redis() {
    let test = "list_totals_follow_writes_through_the_other_server_through_redis";
    let e = env().await;
    if !several_servers_possible(&e, test) {
        return;
    }
    let Some(redis) = redis_or_skip(test) else {
        return;
    };
    totals_follow_writes_through_the_other_server(&e, &[("RAPPORT_REDIS_URL", redis.as_str())])
        .await;
}

// Crash safety

fn kill_hard(process: &mut Process) {
    let _ = process.child.kill();
    let _ = process.child.wait();
}

/// Registers `email` without an organization and adds them to `org` as a member; returns their
/// access token.
async fn add_member(base: &str, owner_token: &str, org: &str, email: &str) -> (String, String) {
    let client = reqwest::Client::new();
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&serde_json::json!({"email": email, "password": "tidal-harbour-42", "name": "Bob"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = r["access_token"].as_str().expect("token").to_owned();
    let user = r["user"]["id"].as_str().expect("user id").to_owned();
    let added = client
        .post(format!("{base}/api/v1/organizations/{org}/members"))
        .bearer_auth(owner_token)
        .json(&serde_json::json!({"email": email, "role": "member"}))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), 201);
    (token, user)
}

/// The kinds of the caller's notifications in `org`.
async fn notification_kinds(base: &str, token: &str, org: &str) -> Vec<String> {
    let r: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/notifications"))
        .bearer_auth(token)
        .header("x-organization-id", org)
        .send()
        .await
        .expect("notifications")
        .json()
        .await
        .expect("json");
    r["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {r}"))
        .iter()
        .filter_map(|n| n["kind"].as_str().map(str::to_owned))
        .collect()
}

async fn wait_for_kinds(base: &str, token: &str, org: &str, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let kinds = notification_kinds(base, token, org).await;
        if kinds.len() >= n {
            return kinds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} notifications arrived");
}

#[tokio::test]
async fn a_change_committed_before_a_crash_is_delivered_once_after_the_restart() {
    let e = env().await;
    let migrated = e.run(&["migrate"], &[]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    // A server without a worker: changes are committed, nothing delivers them.
    let mut first = e.spawn(&["serve", "--no-worker"], &[]);
    wait_healthy(&first.base).await;
    let (owner, org) = register(&first.base, "ann@example.com").await;
    let (bob, bob_id) = add_member(&first.base, &owner, &org, "bob@example.com").await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/tasks", first.base))
        .bearer_auth(&owner)
        .header("x-organization-id", &org)
        .json(&serde_json::json!({"title": "Scrape the hull", "assignee_id": bob_id}))
        .send()
        .await
        .expect("task");
    assert_eq!(created.status(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(notification_kinds(&first.base, &bob, &org).await.is_empty());
    // The process dies with the event committed and undelivered.
    kill_hard(&mut first);

    let second = e.spawn(&["serve"], &[]);
    wait_healthy(&second.base).await;
    assert_eq!(
        wait_for_kinds(&second.base, &bob, &org, 1).await,
        ["task_assigned"]
    );
    drop(second);
    // Another restart delivers nothing again.
    let third = e.spawn(&["serve"], &[]);
    wait_healthy(&third.base).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        notification_kinds(&third.base, &bob, &org).await,
        ["task_assigned"]
    );
}

#[tokio::test]
async fn a_reminder_set_before_a_crash_fires_once_after_the_restart() {
    let e = env().await;
    let migrated = e.run(&["migrate"], &[]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let mut first = e.spawn(&["serve"], &[]);
    wait_healthy(&first.base).await;
    let (owner, org) = register(&first.base, "ann@example.com").await;
    let remind_at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/tasks", first.base))
        .bearer_auth(&owner)
        .header("x-organization-id", &org)
        .json(&serde_json::json!({"title": "Renew the insurance", "remind_at": remind_at}))
        .send()
        .await
        .expect("task");
    assert_eq!(created.status(), 201);
    kill_hard(&mut first);
    // Down when the reminder falls due; back up after.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = e.spawn(&["serve"], &[]);
    wait_healthy(&second.base).await;
    assert_eq!(
        wait_for_kinds(&second.base, &owner, &org, 1).await,
        ["task_reminder"]
    );
    drop(second);
    let third = e.spawn(&["serve"], &[]);
    wait_healthy(&third.base).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        notification_kinds(&third.base, &owner, &org).await,
        ["task_reminder"]
    );
}

/// The resident memory of a process, from `/proc` (Linux), in MiB.
fn resident_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024)
}

#[tokio::test]
async fn bursts_of_failed_sign_ins_keep_the_server_s_memory_bounded() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!(
            "SKIPPED bursts_of_failed_sign_ins_keep_the_server_s_memory_bounded: needs /proc"
        );
        return;
    }
    let e = env().await;
    let port = free_port();
    let mut server = e
        .command(&["serve", "--migrate"])
        .env("RAPPORT_BIND", format!("127.0.0.1:{port}"))
        // Throttling would stop the bursts early; the bound must hold without it.
        .env("RAPPORT_LOGIN_ADDRESS_LIMIT", "100000")
        .env("RAPPORT_PASSWORD_HASHERS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let client = reqwest::Client::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for burst in 0..4 {
        let attempts = (0..128).map(|n| {
            let client = client.clone();
            let base = base.clone();
            async move {
                client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&serde_json::json!({
                        "email": format!("nobody-{burst}-{n}@example.com"),
                        "password": "certainly not the password",
                    }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        });
        for status in futures_util::future::join_all(attempts).await {
            *statuses.entry(status).or_default() += 1;
        }
    }
    let rss = resident_mib(server.id()).expect("resident memory");
    terminate(&mut server);
    // 512 failed sign-ins: each refused (401), or told to come back (503) when the hashers
    // stayed busy; nothing else.
    assert!(
        statuses.keys().all(|s| matches!(s, 401 | 503)),
        "{statuses:?}"
    );
    assert!(statuses.get(&401).copied().unwrap_or(0) > 0, "{statuses:?}");
    // Unbounded, this took gigabytes (19 MiB per concurrent hash, kept by each thread).
    assert!(rss < 300, "resident memory after the bursts: {rss} MiB");
    eprintln!("memory after 4 bursts of 128 failed sign-ins: {rss} MiB; {statuses:?}");
}
