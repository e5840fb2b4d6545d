//! `TestApp`: a real Rapport server on port 0 over its own fresh database — a new SQLite file, or
//! a new PostgreSQL database when `RAPPORT_TEST_POSTGRES_URL` is set.

pub mod receiver;
pub mod smtp;
pub mod totp;
pub mod wire;
pub mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;

use rapport_app::config::Config;
use rapport_app::{App, MigrateOnStart};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use smtp::SmtpSink;

pub const PASSWORD: &str = "tidal-harbour-42";

/// Options of a test server.
#[derive(Default)]
pub struct Options {
    pub smtp: Option<SmtpSink>,
    pub extra: Vec<(&'static str, String)>,
    /// On PostgreSQL, route the server's connections through a [`wire::Wire`] that counts them.
    pub count_round_trips: bool,
    /// Serve without the in-process worker (whose polling would also use the database).
    pub no_worker: bool,
}

pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub client: reqwest::Client,
    /// The counting relay, when [`Options::count_round_trips`] asked for one on PostgreSQL.
    pub wire: Option<wire::Wire>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var("RAPPORT_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Says why a test does not run here, visibly. With `RAPPORT_TEST_NO_SKIP=1` (set by `.ci/run`)
/// a skip is a failure instead: what the gate switched on must run.
pub fn skip(test: &str, reason: &str) {
    if std::env::var("RAPPORT_TEST_NO_SKIP").is_ok_and(|v| v == "1") {
        panic!("{test} would be skipped ({reason}), but RAPPORT_TEST_NO_SKIP=1 requires it to run");
    }
    say_skipped(test, reason);
}

/// Writes past the test harness's output capture, so a skip shows in a plain `cargo test` run.
pub fn say_skipped(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// The Redis of the test run, when there is one.
pub fn redis_url() -> Option<String> {
    std::env::var("RAPPORT_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

pub fn is_postgres() -> bool {
    postgres_url().is_some()
}

static ROLE_SETUP: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// Creates an empty database for one test and returns its URL.
async fn fresh_postgres_database(base_url: &str) -> String {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(base_url)
        .await
        .unwrap_or_else(|e| {
            panic!("RAPPORT_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}")
        });
    {
        // The tenant role is cluster-wide; create it once, not concurrently from each migration.
        let mut done = ROLE_SETUP.lock().await;
        if !*done {
            sqlx::raw_sql(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_tenant') THEN \
                 CREATE ROLE rapport_tenant NOLOGIN; END IF; END $$;",
            )
            .execute(&mut admin)
            .await
            .expect("create the rapport_tenant role");
            *done = true;
        }
    }
    let name = format!("rapport_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(base_url).expect("RAPPORT_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> TestApp {
        let dir =
            TempDir(std::env::temp_dir().join(format!("rapport-test-{}", uuid::Uuid::now_v7())));
        std::fs::create_dir_all(&dir.0).expect("temp dir");
        let mut database_url = match postgres_url() {
            Some(base) => fresh_postgres_database(&base).await,
            None => format!("sqlite:{}", dir.0.join("rapport.db").display()),
        };
        let mut wire = None;
        if options.count_round_trips && is_postgres() {
            let mut url = url::Url::parse(&database_url).expect("a URL");
            let upstream = format!(
                "{}:{}",
                url.host_str().unwrap_or("127.0.0.1"),
                url.port().unwrap_or(5432)
            );
            let relay = wire::Wire::start(upstream).await;
            url.set_host(Some("127.0.0.1")).expect("host");
            url.set_port(Some(relay.port)).expect("port");
            // In clear, so the relay can read it.
            url.query_pairs_mut().append_pair("sslmode", "disable");
            database_url = url.to_string();
            wire = Some(relay);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("RAPPORT_DATABASE_URL".into(), database_url);
        env.insert("RAPPORT_DATA_DIR".into(), dir.0.display().to_string());
        env.insert(
            "RAPPORT_SECRET_KEY".into(),
            "test-secret-key-that-is-long-enough-0123456789".into(),
        );
        env.insert("RAPPORT_BASE_URL".into(), base.clone());
        env.insert("RAPPORT_BASE_DOMAIN".into(), "rapport.test".into());
        env.insert("RAPPORT_DB_MAX_CONNECTIONS".into(), "5".into());
        // Tests that seed hundreds of records in a second are not what the limits are for; the
        // rate-limit tests set their own.
        env.insert("RAPPORT_RATE_LIMIT".into(), "100000".into());
        env.insert("RAPPORT_RATE_LIMIT_ORGANIZATION".into(), "100000".into());
        if let Some(smtp) = &options.smtp {
            env.insert("RAPPORT_SMTP_URL".into(), smtp.url());
        }
        for (k, v) in options.extra {
            env.insert(k.to_owned(), v);
        }
        let config = Config::load(None, env).expect("test configuration is valid");
        let app = App::start(config, MigrateOnStart::Always)
            .await
            .expect("app starts");
        let (tx, rx) = oneshot::channel::<()>();
        let served = app.clone();
        let serve_options = rapport_server::ServeOptions {
            worker: if options.no_worker {
                None
            } else {
                rapport_server::ServeOptions::default().worker
            },
        };
        tokio::spawn(async move {
            rapport_server::serve_with(served, listener, serve_options, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base,
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            wire,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Resp::from(req.send().await.expect("request sent")).await
    }

    /// A request in `who`'s organization (bearer token + `X-Organization-Id`).
    pub async fn org_call(
        &self,
        who: &Account,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        self.call_with(
            method,
            path,
            Some(&who.access),
            body,
            &[("x-organization-id", who.org())],
        )
        .await
    }

    /// A signed-in browser: its session cookie (`name=value`) and CSRF token.
    pub async fn browser_session(&self, email: &str) -> (String, String) {
        let r = self
            .post(
                "/api/v1/auth/session",
                None,
                serde_json::json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let cookie = r
            .header("set-cookie")
            .expect("cookie")
            .split(';')
            .next()
            .expect("pair")
            .to_owned();
        (
            cookie,
            r.body["csrf_token"].as_str().expect("csrf").to_owned(),
        )
    }

    /// Posts an HTML form as that browser would (cookie, CSRF field, own origin).
    pub async fn form(
        &self,
        session: &(String, String),
        path: &str,
        fields: &[(&str, &str)],
    ) -> Resp {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("_csrf", &session.1);
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let r = self
            .client
            .post(self.url(path))
            .header("cookie", &session.0)
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .expect("sent");
        Resp::from(r).await
    }

    /// A signed-in browser's session cookie (`name=value`).
    pub async fn session_cookie(&self, email: &str) -> String {
        self.browser_session(email).await.0
    }

    /// Creates a record in `who`'s organization and returns it (asserting 201).
    pub async fn create(&self, who: &Account, path: &str, body: Value) -> Value {
        let r = self.org_call(who, Method::POST, path, Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "POST {path}: {}", r.text);
        r.body
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Registers a user with a new organization; returns the user, organization id and tokens.
    pub async fn register(&self, email: &str, org: Option<&str>) -> Account {
        let mut body = json!({"email": email, "password": PASSWORD, "name": email.split('@').next().unwrap_or("someone")});
        if let Some(org) = org {
            body["organization_name"] = json!(org);
        }
        let r = self.post("/api/v1/auth/register", None, body).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "register {email}: {}",
            r.body
        );
        Account {
            user_id: r.body["user"]["id"].as_str().expect("user id").to_owned(),
            org_id: r.body["organization"]["id"].as_str().map(str::to_owned),
            access: r.body["access_token"].as_str().expect("access").to_owned(),
            refresh: r.body["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// Registers `email` and adds them to `org_id` with `role`, through the owner's token.
    pub async fn member(&self, owner: &Account, email: &str, role: &str) -> Account {
        let mut account = self.register(email, None).await;
        account.org_id = owner.org_id.clone();
        let r = self
            .post(
                &format!("/api/v1/organizations/{}/members", owner.org()),
                Some(&owner.access),
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "add {email}: {}", r.body);
        account
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub struct Account {
    pub user_id: String,
    pub org_id: Option<String>,
    pub access: String,
    pub refresh: String,
}

impl Account {
    pub fn org(&self) -> &str {
        self.org_id.as_deref().expect("account has an organization")
    }
}

/// A response, read whole.
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub async fn from(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem document with this status and code.
    pub fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type; body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        assert_eq!(self.body["status"], status.as_u16());
        assert!(
            self.body["type"].is_string()
                && self.body["title"].is_string()
                && self.body["detail"].is_string()
        );
    }
}
