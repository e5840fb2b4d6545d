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
    // A request in flight when the signal arrives still completes.
    let slow = tokio::spawn({
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/auth/register"))
                .json(&serde_json::json!({"email": "late@example.com", "password": "tidal-harbour-42", "name": "Late"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    terminate(&mut server);
    let status = slow.await.expect("task");
    assert!(matches!(status, Ok(201)), "{status:?}");
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
