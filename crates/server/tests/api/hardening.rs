//! What a pre-launch probe found, each as a test that failed before its fix: sign-in throttled
//! per address, API keys bounded by their creator's role, redirect targets, control characters,
//! password changes ending other sign-ins, other organizations' ids in web forms, pooled
//! connections never reused inside a transaction, and a full pool answering 503.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, PASSWORD, TestApp};

/// The organization's slug, for `/o/{slug}/…` pages.
async fn slug(t: &TestApp, who: &Account) -> String {
    let org = t
        .get(&format!("/api/v1/organizations/{}", who.org()), &who.access)
        .await;
    org.body["slug"].as_str().expect("slug").to_owned()
}

async fn membership_id(t: &TestApp, owner: &Account, email: &str) -> String {
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    members
        .body
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["email"] == email)
        .expect("member")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Sign-in throttling

#[tokio::test]
async fn one_address_trying_many_emails_is_refused_with_429() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_LOGIN_ADDRESS_LIMIT", "8".into())],
        ..Default::default()
    })
    .await;
    for n in 0..8 {
        let r = t
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": format!("nobody{n}@example.com"), "password": "wrong password 1"}),
            )
            .await;
        r.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    // A ninth email, never tried before, from the same address: refused before any hashing.
    let r = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "fresh@example.com", "password": "wrong password 1"}),
        )
        .await;
    r.assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&retry), "{retry}");
}

#[tokio::test]
async fn wrong_passwords_from_elsewhere_do_not_lock_the_owner_out() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_TRUST_PROXY", "true".into())],
        ..Default::default()
    })
    .await;
    t.register("victim@example.com", Some("Acme")).await;
    let attempt = |ip: &'static str, password: &'static str| {
        let t = &t;
        async move {
            t.call_with(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "victim@example.com", "password": password})),
                &[("x-forwarded-for", ip)],
            )
            .await
        }
    };
    // An attacker's address: five failures are free, then each attempt must wait, doubling.
    for _ in 0..5 {
        attempt("203.0.113.9", "not the password")
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let throttled = attempt("203.0.113.9", "not the password").await;
    throttled.assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let wait: i64 = throttled
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        (1..=30).contains(&wait),
        "first delay is about 30 s: {wait}"
    );
    // Even the right password waits there: the delay does not reveal it.
    attempt("203.0.113.9", PASSWORD)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    // The owner, from their own address, signs in at once.
    let own = attempt("198.51.100.7", PASSWORD).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
}

// ---------------------------------------------------------------------------------------------
// API keys

#[tokio::test]
async fn an_api_key_acts_with_no_more_than_its_creators_current_role() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let keys = format!("/api/v1/organizations/{}/api-keys", owner.org());
    let created = t
        .post(
            &keys,
            Some(&admin.access),
            json!({"name": "sync", "role": "admin"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["secret"].as_str().expect("secret").to_owned();
    let h = [("x-organization-id", owner.org())];
    let audit = || t.call_with(Method::GET, "/api/v1/audit", Some(&key), None, &h);
    assert_eq!(
        audit().await.status,
        StatusCode::OK,
        "an admin key reads the audit log"
    );

    // The owner demotes the key's creator to viewer.
    let admin_member = membership_id(&t, &owner, "admin@example.com").await;
    let member_path = format!(
        "/api/v1/organizations/{}/members/{admin_member}",
        owner.org()
    );
    let demoted = t
        .call(
            Method::PATCH,
            &member_path,
            Some(&owner.access),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.text);

    // The key now acts as a viewer: it cannot re-promote its creator, mint keys, invite
    // admins, or read the audit log. It still reads records.
    t.call(
        Method::PATCH,
        &member_path,
        Some(&key),
        Some(json!({"role": "admin"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(&keys, Some(&key), json!({"name": "more", "role": "admin"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(
        &format!("/api/v1/organizations/{}/members", owner.org()),
        Some(&key),
        json!({"email": "new-admin@example.com", "role": "admin"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    audit()
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let current = t
        .call_with(Method::GET, "/api/v1/organization", Some(&key), None, &h)
        .await;
    assert_eq!(current.body["role"], "viewer", "{}", current.text);
    let contacts = t
        .call_with(Method::GET, "/api/v1/contacts", Some(&key), None, &h)
        .await;
    assert_eq!(contacts.status, StatusCode::OK, "{}", contacts.text);

    // The keys list says so.
    let listed = t.get(&keys, &owner.access).await;
    let entry = listed
        .body
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["name"] == "sync")
        .expect("the key")
        .clone();
    assert_eq!(entry["role"], "admin");
    assert_eq!(entry["effective_role"], "viewer");

    // Promoted again, the creator's key is an admin key again.
    t.call(
        Method::PATCH,
        &member_path,
        Some(&owner.access),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(audit().await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Redirect targets

/// A web sign-in through the form, with `next`.
async fn form_login(t: &TestApp, next: &str) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", "ann@example.com")
        .append_pair("password", PASSWORD)
        .append_pair("next", next)
        .finish();
    t.client
        .post(t.url("/login"))
        .header("origin", &t.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn sign_in_redirects_only_to_paths_on_this_site() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let acme = slug(&t, &ann).await;
    let contacts_page = format!("/o/{acme}/contacts?page=2");
    for (next, expected) in [
        ("/\t/evil.example.com", "/".to_owned()),
        ("/\n/evil.example.com", "/".to_owned()),
        ("//evil.example.com", "/".to_owned()),
        ("/\\evil.example.com", "/".to_owned()),
        ("https://evil.example.com/", "/".to_owned()),
        ("/x\r\nSet-Cookie: stolen=1", "/".to_owned()),
        (contacts_page.as_str(), contacts_page.clone()),
    ] {
        let r = form_login(&t, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "next {next:?}");
        assert_eq!(
            r.headers().get("location").and_then(|v| v.to_str().ok()),
            Some(expected.as_str()),
            "next {next:?}"
        );
        assert!(
            r.headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("rapport_session=")),
            "a successful sign-in sets its cookie whatever next says ({next:?})"
        );
    }
    // Signed in already, the sign-in page sends the browser on, but only on this site.
    let cookie = t.session_cookie("ann@example.com").await;
    let r = t
        .client
        .get(t.url("/login?next=/%09/evil.example.com"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/")
    );
}

#[tokio::test]
async fn saved_views_never_redirect_off_site_or_fail_on_line_breaks() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let acme = slug(&t, &ann).await;
    let browser = t.browser_session("ann@example.com").await;
    let path = format!("/o/{acme}/views");
    // A back address that a browser would turn into //evil.example.com.
    let r = t
        .form(
            &browser,
            &path,
            &[
                ("list", "contacts"),
                ("name", "Mine"),
                ("query", "q=ann"),
                ("back", "/\t/evil.example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let location = r.header("location").expect("location").to_owned();
    assert!(
        location.starts_with("/?q=ann&view="),
        "back fell back to this site: {location}"
    );
    // Line breaks in the saved query: refused with a message, never a 500.
    let r = t
        .form(
            &browser,
            &path,
            &[
                ("list", "contacts"),
                ("name", "Broken"),
                ("query", "q=a\r\nSet-Cookie: x=1"),
                ("back", &format!("/o/{acme}/contacts")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let location = r.header("location").expect("location");
    assert!(
        location.starts_with(&format!("/o/{acme}/contacts?notice=")),
        "{location}"
    );
    let r = t
        .client
        .get(t.url(&format!("/o/{acme}/contacts")))
        .header("cookie", &browser.0)
        .send()
        .await
        .expect("sent");
    let page = r.text().await.expect("page");
    assert!(page.contains("Mine"), "the good view was saved");
    assert!(!page.contains("Broken"), "the bad view was not");
}

// ---------------------------------------------------------------------------------------------
// Control characters

#[tokio::test]
async fn control_characters_are_refused_with_422_naming_the_field() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;

    // Sign-in, unauthenticated.
    let r = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann\u{0}@example.com", "password": PASSWORD}),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "email", "{}", r.text);

    // A record's field, and a nested one.
    let r = t
        .org_call(
            &ann,
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"name": "Ann\u{0} Lee"})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "name");
    let r = t
        .org_call(
            &ann,
            Method::POST,
            "/api/v1/pipelines",
            Some(json!({"name": "P", "stages": [{"key": "a", "name": "A"}, {"key": "b", "name": "B\u{7}"}]})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "stages[1].name");

    // Searches and filters.
    for query in [
        "/api/v1/contacts?search=%00",
        "/api/v1/deals?status=%00",
        "/api/v1/search?q=a%1Bb",
    ] {
        let r = t.org_call(&ann, Method::GET, query, None).await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            r.body["errors"][0]["field"].is_string(),
            "{query}: {}",
            r.text
        );
    }

    // A web form.
    let browser = t.browser_session("ann@example.com").await;
    let r = t
        .form(
            &browser,
            "/login",
            &[("email", "x\u{0}@example.com"), ("password", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // In the address: no resource has such a name.
    let r = t
        .call(Method::GET, "/api/v1/auth/invitations/ab%00cd", None, None)
        .await;
    r.assert_problem(StatusCode::NOT_FOUND, "not_found");

    // Nothing was stored.
    let list = t
        .org_call(&ann, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(list.body["total"], 0, "{}", list.text);

    // Tabs and line breaks are text, kept as typed.
    let deal = t
        .create(
            &ann,
            "/api/v1/deals",
            json!({"title": "Berth A12", "amount": 100}),
        )
        .await;
    let note = "first line\r\nsecond\tline";
    let added = t
        .org_call(
            &ann,
            Method::POST,
            &format!(
                "/api/v1/deals/{}/activities",
                deal["id"].as_str().expect("id")
            ),
            Some(json!({"type": "comment", "payload": {"text": note}})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let timeline = t
        .org_call(
            &ann,
            Method::GET,
            &format!(
                "/api/v1/deals/{}/activities",
                deal["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let stored: Vec<&Value> = timeline.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["type"] == "comment")
        .collect();
    assert_eq!(stored.len(), 1, "{}", timeline.text);
    assert!(
        timeline.text.contains("first line\\r\\nsecond\\tline"),
        "{}",
        timeline.text
    );
}

// ---------------------------------------------------------------------------------------------
// Password change

#[tokio::test]
async fn changing_the_password_ends_every_other_sign_in() {
    let t = TestApp::spawn().await;
    let first = t.register("ann@example.com", Some("Acme")).await;
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    let second_access = login.body["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let second_refresh = login.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let browser = t.session_cookie("ann@example.com").await;
    let new_password = "a brand new harbour 77";

    // Changed through the second API sign-in.
    let r = t
        .post(
            "/api/v1/auth/password",
            Some(&second_access),
            json!({"current_password": PASSWORD, "password": new_password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The other API sign-in is over: its access token at once, its refresh token too.
    t.get("/api/v1/auth/me", &first.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    t.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": first.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    // So is the browser session.
    let r = t
        .client
        .get(t.url("/api/v1/auth/session"))
        .header("cookie", &browser)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The sign-in that made the change goes on.
    assert_eq!(
        t.get("/api/v1/auth/me", &second_access).await.status,
        StatusCode::OK
    );
    let refreshed = t
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": second_refresh}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);

    // Changed through a browser session: that session stays, the API sign-in ends.
    let opened = t
        .post(
            "/api/v1/auth/session",
            None,
            json!({"email": "ann@example.com", "password": new_password}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
    let browser = (
        opened
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("cookie")
            .to_owned(),
        opened.body["csrf_token"].as_str().expect("csrf").to_owned(),
    );
    let api = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": new_password}),
        )
        .await;
    let api_access = api.body["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let r = t
        .client
        .post(t.url("/api/v1/auth/password"))
        .header("cookie", &browser.0)
        .header("x-csrf-token", &browser.1)
        .json(&json!({"current_password": new_password, "password": "yet another harbour 88"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    t.get("/api/v1/auth/me", &api_access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let r = t
        .client
        .get(t.url("/api/v1/auth/session"))
        .header("cookie", &browser.0)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Web forms and other organizations' ids

#[tokio::test]
async fn member_forms_answer_another_organizations_ids_with_404() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let other = t.register("other@example.com", Some("Other")).await;
    t.member(&other, "theirs@example.com", "member").await;
    let theirs = membership_id(&t, &other, "theirs@example.com").await;
    let acme = slug(&t, &owner).await;
    let browser = t.browser_session("owner@example.com").await;
    for (path, fields) in [
        (
            format!("/o/{acme}/settings/members/{theirs}/role"),
            vec![("role", "viewer")],
        ),
        (
            format!("/o/{acme}/settings/members/{theirs}/remove"),
            vec![],
        ),
    ] {
        let r = t.form(&browser, &path, &fields).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
    // Still a member over there.
    membership_id(&t, &other, "theirs@example.com").await;
}

// ---------------------------------------------------------------------------------------------
// Connection hygiene

#[tokio::test]
async fn clients_dropping_mid_request_never_leave_a_pooled_connection_in_a_transaction() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    for n in 0..20 {
        t.create(
            &ann,
            "/api/v1/contacts",
            json!({"name": format!("Contact {n}")}),
        )
        .await;
    }
    let before = t
        .app
        .db
        .inspect_pooled_connections()
        .await
        .expect("inspect");
    assert!(
        before.iter().all(|s| s.is_clean()),
        "clean before any client drops: {before:?}"
    );
    let org = ann.org().to_owned();
    let mut clients = Vec::new();
    for n in 0..600u64 {
        let base = t.base.clone();
        let access = ann.access.clone();
        let org = org.clone();
        clients.push(tokio::spawn(async move {
            // Each client gives up after a few milliseconds: many requests are dropped while
            // the server is beginning, running or committing their transaction.
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_micros(300 + (n * 397) % 6000))
                .build()
                .expect("client");
            let request = match n % 3 {
                0 => client.get(format!("{base}/api/v1/contacts?search=contact")),
                1 => client
                    .post(format!("{base}/api/v1/contacts"))
                    .json(&json!({"name": format!("Dropped {n}")})),
                _ => client.get(format!("{base}/api/v1/contacts")),
            };
            let _ = request
                .bearer_auth(access)
                .header("x-organization-id", org)
                .send()
                .await;
        }));
    }
    for c in clients {
        c.await.expect("client task");
    }
    // Let the server finish what the dropped requests left behind.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let states = t
        .app
        .db
        .inspect_pooled_connections()
        .await
        .expect("inspect");
    assert!(!states.is_empty(), "the pool holds idle connections");
    let dirty: Vec<_> = states.iter().filter(|s| !s.is_clean()).collect();
    assert!(
        dirty.is_empty(),
        "{} of {} idle connections were left dirty: {dirty:?}",
        dirty.len(),
        states.len()
    );
    // And the server still serves, each request in its own clean transaction.
    let list = t
        .org_call(&ann, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
}

#[tokio::test]
async fn transactions_abandoned_at_any_point_leave_no_connection_dirty() {
    // What a dropped request does to its transaction, done directly and at every moment: the
    // futures that begin, scope, use and commit transactions are abandoned after a few
    // microseconds, many at once.
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let org: rapport_domain::OrganizationId = ann.org().parse().expect("organization id");
    let mut tasks = Vec::new();
    for n in 0..400u64 {
        let db = t.app.db.clone();
        tasks.push(tokio::spawn(async move {
            let work = async {
                let mut tx = db.tenant(org).await?;
                tx.raw()
                    .execute(
                        rapport_store::query(
                            "SELECT count(*) FROM contacts WHERE organization_id = $1",
                        )
                        .bind(org),
                    )
                    .await?;
                tx.commit().await
            };
            let _ =
                tokio::time::timeout(std::time::Duration::from_micros(20 + (n * 37) % 900), work)
                    .await;
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let states = t
        .app
        .db
        .inspect_pooled_connections()
        .await
        .expect("inspect");
    assert!(
        !states.is_empty(),
        "no idle connection to inspect: {:?}",
        t.app.db.stats()
    );
    let dirty: Vec<_> = states.iter().filter(|s| !s.is_clean()).collect();
    assert!(
        dirty.is_empty(),
        "{} of {} idle connections left dirty: {dirty:?}",
        dirty.len(),
        states.len()
    );
    // Every write transaction still gets its turn.
    let created = t
        .org_call(
            &ann,
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"name": "After"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after_and_the_web_app_asks_to_try_again() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_DB_ACQUIRE_TIMEOUT_MS", "300".into())],
        ..Default::default()
    })
    .await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let cookie = t.session_cookie("ann@example.com").await;
    let acme = slug(&t, &ann).await;
    // Take every connection the pool will give, as long requests would.
    let mut held = Vec::new();
    loop {
        match t.app.db.platform_read().await {
            Ok(tx) => held.push(tx),
            Err(rapport_store::Error::Busy) => break,
            Err(other) => panic!("unexpected: {other}"),
        }
        assert!(held.len() <= 5, "the pool is bounded");
    }
    let r = t
        .org_call(&ann, Method::GET, "/api/v1/contacts", None)
        .await;
    r.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_busy");
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    // A page: told to try again, not sent to the sign-in page.
    let page = t
        .client
        .get(t.url(&format!("/o/{acme}/contacts")))
        .header("cookie", &cookie)
        .header("accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers().get("retry-after").is_some());
    let html = page.text().await.expect("html");
    assert!(html.contains("try again"), "{html}");
    for tx in held {
        tx.commit().await.expect("release");
    }
    let r = t
        .org_call(&ann, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn connections_lost_under_requests_answer_503_then_the_pool_recovers() {
    use sqlx::Connection;
    if !crate::support::is_postgres() {
        crate::support::say_skipped(
            "connections_lost_under_requests_answer_503_then_the_pool_recovers",
            "ending a server's connections needs PostgreSQL (set RAPPORT_TEST_POSTGRES_URL)",
        );
        return;
    }
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    for _ in 0..3 {
        let r = t
            .org_call(&ann, Method::GET, "/api/v1/contacts", None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    // An administrator (or a restarting database) ends every connection the server holds.
    let url = t.app.config.database_url.expose().to_owned();
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .expect("terminate");
    // Requests on the lost connections are told to try again, never 500; the pool then opens
    // fresh connections.
    let mut answered = Vec::new();
    for _ in 0..12 {
        let r = t
            .org_call(&ann, Method::GET, "/api/v1/contacts", None)
            .await;
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(r.header("retry-after").is_some());
        }
        answered.push(r.status);
    }
    assert!(
        answered
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{answered:?}"
    );
    assert_eq!(answered.last(), Some(&StatusCode::OK), "{answered:?}");
}

// ---------------------------------------------------------------------------------------------
// Found by schemathesis

#[tokio::test]
async fn a_pipeline_whose_deals_are_in_recently_deleted_is_409_not_500() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let pipeline = t
        .create(
            &ann,
            "/api/v1/pipelines",
            json!({"name": "Berths", "stages": [{"key": "enquiry", "name": "Enquiry"}]}),
        )
        .await;
    let pipeline_id = pipeline["id"].as_str().expect("id").to_owned();
    let deal = t
        .create(
            &ann,
            "/api/v1/deals",
            json!({"title": "Berth A12", "pipeline_id": pipeline_id}),
        )
        .await;
    let deleted = t
        .org_call(
            &ann,
            Method::DELETE,
            &format!("/api/v1/deals/{}", deal["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    // The deal is in Recently deleted and still points at the pipeline.
    t.org_call(
        &ann,
        Method::DELETE,
        &format!("/api/v1/pipelines/{pipeline_id}"),
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "pipeline_in_use");
    let still = t
        .org_call(
            &ann,
            Method::GET,
            &format!("/api/v1/pipelines/{pipeline_id}"),
            None,
        )
        .await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.text);
}

// ---------------------------------------------------------------------------------------------
// Least privilege on PostgreSQL

#[tokio::test]
async fn the_tenant_role_reaches_only_tenant_tables_and_cannot_choose_its_tenant() {
    use sqlx::{Connection, Row};
    if !crate::support::is_postgres() {
        crate::support::say_skipped(
            "the_tenant_role_reaches_only_tenant_tables_and_cannot_choose_its_tenant",
            "database roles exist only on PostgreSQL (set RAPPORT_TEST_POSTGRES_URL)",
        );
        return;
    }
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    let b = t.register("b@example.com", Some("Beta")).await;
    for n in 0..3 {
        t.create(
            &a,
            "/api/v1/contacts",
            json!({"name": format!("Alpha {n}")}),
        )
        .await;
    }
    t.create(&b, "/api/v1/contacts", json!({"name": "Beta 0"}))
        .await;
    let url = t.app.config.database_url.expose().to_owned();

    // The platform role makes seals; the tenant role cannot.
    let mut platform = sqlx::PgConnection::connect(&url).await.expect("connect");
    let seal = |org: String| {
        let url = url.clone();
        async move {
            let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
            let row = sqlx::query("SELECT rapport_tenant_seal($1::uuid) AS s")
                .bind(org)
                .fetch_one(&mut c)
                .await
                .expect("seal");
            row.get::<String, _>("s")
        }
    };
    let sealed_a = seal(a.org().to_owned()).await;
    let sealed_b = seal(b.org().to_owned()).await;

    // A session with exactly the tenant role's privileges.
    let mut tenant = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("SET ROLE rapport_tenant")
        .execute(&mut tenant)
        .await
        .expect("become the tenant role");
    let denied = async |c: &mut sqlx::PgConnection, sql: &str| {
        let error = sqlx::raw_sql(sql).execute(&mut *c).await.expect_err(sql);
        let code = error
            .as_database_error()
            .and_then(|e| e.code().map(|c| c.into_owned()));
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {error}");
    };

    // Platform tables: out of reach, read or write.
    for table in [
        "users",
        "sessions",
        "refresh_tokens",
        "password_resets",
        "login_failures",
        "email_outbox",
        "job_schedules",
        "notification_preferences",
        "_sqlx_migrations",
    ] {
        denied(&mut tenant, &format!("SELECT * FROM {table} LIMIT 1")).await;
        denied(&mut tenant, &format!("DELETE FROM {table}")).await;
    }
    denied(&mut tenant, "SELECT password_hash FROM users").await;
    denied(&mut tenant, "SELECT is_instance_admin FROM users").await;
    denied(&mut tenant, "UPDATE users SET is_instance_admin = true").await;
    // People's names and emails, which records show, are readable.
    sqlx::raw_sql("SELECT id, name, email FROM users")
        .execute(&mut tenant)
        .await
        .expect("names and emails");
    // It cannot make a seal.
    denied(
        &mut tenant,
        &format!("SELECT rapport_tenant_seal('{}')", b.org()),
    )
    .await;

    let count = async |c: &mut sqlx::PgConnection| -> i64 {
        sqlx::query("SELECT count(*) AS n FROM contacts")
            .fetch_one(&mut *c)
            .await
            .expect("count")
            .get("n")
    };
    let set = async |c: &mut sqlx::PgConnection, value: &str| {
        sqlx::query("SELECT set_config('rapport.organization_id', $1, false)")
            .bind(value)
            .execute(&mut *c)
            .await
            .expect("set");
    };
    // No setting: no rows. A setting it wrote itself, bare or with a forged seal: no rows.
    assert_eq!(count(&mut tenant).await, 0);
    set(&mut tenant, b.org()).await;
    assert_eq!(count(&mut tenant).await, 0, "an unsealed id opens nothing");
    set(&mut tenant, &format!("{}.{}", b.org(), "0".repeat(64))).await;
    assert_eq!(count(&mut tenant).await, 0, "a forged seal opens nothing");
    let mut near = sealed_a.clone().into_bytes();
    near[0] = if near[0] == b'0' { b'1' } else { b'0' };
    set(&mut tenant, &String::from_utf8(near).expect("ascii")).await;
    assert_eq!(
        count(&mut tenant).await,
        0,
        "a seal one character off opens nothing"
    );
    // The scope secrets are readable only by a transaction that already holds one, and only its own.
    let scopes = async |c: &mut sqlx::PgConnection| -> i64 {
        sqlx::query("SELECT count(*) AS n FROM tenant_scopes")
            .fetch_one(&mut *c)
            .await
            .expect("count scopes")
            .get("n")
    };
    assert_eq!(scopes(&mut tenant).await, 0, "no secret without one");
    denied(&mut tenant, "UPDATE tenant_scopes SET secret = 'x'").await;
    denied(
        &mut tenant,
        &format!(
            "INSERT INTO tenant_scopes (organization_id, secret) VALUES ('{}', 'mine')",
            b.org()
        ),
    )
    .await;
    // Sealed by the platform, the setting opens exactly its organization.
    set(&mut tenant, &sealed_a).await;
    assert_eq!(count(&mut tenant).await, 3);
    assert_eq!(scopes(&mut tenant).await, 1, "its own secret only");
    set(&mut tenant, &sealed_b).await;
    assert_eq!(count(&mut tenant).await, 1);
    assert_ne!(sealed_a, sealed_b);

    // Every table is either a tenant table (row-level security, granted to the tenant role) or a
    // platform table (neither): nothing in between, but for the scope secrets (row-level
    // security, read only).
    let tables = sqlx::query(
        "SELECT c.relname::text AS name, c.relrowsecurity AS rls, \
         has_table_privilege('rapport_tenant', c.oid, 'SELECT') AS readable, \
         has_table_privilege('rapport_tenant', c.oid, 'INSERT') AS writable \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r'",
    )
    .fetch_all(&mut platform)
    .await
    .expect("tables");
    assert!(tables.len() > 20);
    for row in tables {
        let name: String = row.get("name");
        let rls: bool = row.get("rls");
        let readable: bool = row.get("readable");
        let writable: bool = row.get("writable");
        let expected = if name == "tenant_scopes" {
            (true, true, false)
        } else {
            (rls, rls, rls)
        };
        assert_eq!(
            (rls, readable, writable),
            expected,
            "{name}: row-level security {rls}, tenant may read {readable}, write {writable}"
        );
    }
}
