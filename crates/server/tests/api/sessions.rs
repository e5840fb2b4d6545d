//! Browser sessions: the cookie, CSRF protection, rotation and timeouts.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Options, PASSWORD, TestApp};

struct Browser {
    cookie: String,
    csrf: String,
}

async fn sign_in(t: &TestApp, email: &str, previous: Option<&str>) -> (Browser, String) {
    let mut headers = vec![];
    let cookie_header;
    if let Some(p) = previous {
        cookie_header = format!("rapport_session={p}");
        headers.push(("cookie", cookie_header.as_str()));
    }
    let r = t
        .call_with(
            Method::POST,
            "/api/v1/auth/session",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
            &headers,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let set_cookie = r.header("set-cookie").expect("Set-Cookie").to_owned();
    let value = set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("rapport_session="))
        .expect("session cookie")
        .to_owned();
    (
        Browser {
            cookie: format!("rapport_session={value}"),
            csrf: r.body["csrf_token"].as_str().expect("csrf").to_owned(),
        },
        set_cookie,
    )
}

#[tokio::test]
async fn signing_in_sets_an_http_only_lax_cookie_that_authenticates() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", Some("Acme")).await;
    let (browser, set_cookie) = sign_in(&t, "ann@example.com", None).await;
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    // Plain HTTP base URL: not Secure (a Secure cookie would never come back).
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let me = t
        .call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &browser.cookie)],
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["user"]["email"], "ann@example.com");
}

#[tokio::test]
async fn session_cookies_are_secure_behind_https() {
    // The cookie flag and HSTS follow the configured public URL.
    let https = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_BASE_URL", "https://crm.example.com".into())],
        ..Default::default()
    })
    .await;
    https.register("ann@example.com", None).await;
    let r = https
        .call_with(
            Method::POST,
            "/api/v1/auth/session",
            None,
            Some(json!({"email": "ann@example.com", "password": PASSWORD})),
            &[],
        )
        .await;
    let set_cookie = r.header("set-cookie").expect("cookie");
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(r.header("strict-transport-security").is_some());
}

#[tokio::test]
async fn state_changing_requests_with_a_cookie_need_the_csrf_token() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let (browser, _) = sign_in(&t, "ann@example.com", None).await;
    let body = json!({"name": "Forged Org"});
    let missing = t
        .call_with(
            Method::POST,
            "/api/v1/organizations",
            None,
            Some(body.clone()),
            &[("cookie", &browser.cookie)],
        )
        .await;
    missing.assert_problem(StatusCode::FORBIDDEN, "csrf_failed");
    let wrong = t
        .call_with(
            Method::POST,
            "/api/v1/organizations",
            None,
            Some(body.clone()),
            &[("cookie", &browser.cookie), ("x-csrf-token", "guess")],
        )
        .await;
    wrong.assert_problem(StatusCode::FORBIDDEN, "csrf_failed");
    let cross_site = t
        .call_with(
            Method::POST,
            "/api/v1/organizations",
            None,
            Some(body.clone()),
            &[
                ("cookie", &browser.cookie),
                ("x-csrf-token", &browser.csrf),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    cross_site.assert_problem(StatusCode::FORBIDDEN, "csrf_failed");
    let ok = t
        .call_with(
            Method::POST,
            "/api/v1/organizations",
            None,
            Some(body),
            &[("cookie", &browser.cookie), ("x-csrf-token", &browser.csrf)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    // Reads need no token.
    let read = t
        .call_with(
            Method::GET,
            "/api/v1/organizations/me",
            None,
            None,
            &[("cookie", &browser.cookie)],
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body[0]["name"], "Forged Org");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let (browser, _) = sign_in(&t, "ann@example.com", None).await;
    let without = t
        .call_with(
            Method::DELETE,
            "/api/v1/auth/session",
            None,
            None,
            &[("cookie", &browser.cookie)],
        )
        .await;
    without.assert_problem(StatusCode::FORBIDDEN, "csrf_failed");
    let out = t
        .call_with(
            Method::DELETE,
            "/api/v1/auth/session",
            None,
            None,
            &[("cookie", &browser.cookie), ("x-csrf-token", &browser.csrf)],
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    let me = t
        .call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &browser.cookie)],
        )
        .await;
    me.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn signing_in_again_rotates_the_session() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let (first, _) = sign_in(&t, "ann@example.com", None).await;
    let old_value = first
        .cookie
        .trim_start_matches("rapport_session=")
        .to_owned();
    let (second, _) = sign_in(&t, "ann@example.com", Some(&old_value)).await;
    assert_ne!(first.cookie, second.cookie);
    let old = t
        .call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &first.cookie)],
        )
        .await;
    old.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let new = t
        .call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &second.cookie)],
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_SESSION_IDLE_TIMEOUT_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    t.register("ann@example.com", None).await;
    let (browser, _) = sign_in(&t, "ann@example.com", None).await;
    assert_eq!(
        t.call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &browser.cookie)]
        )
        .await
        .status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = t
        .call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &browser.cookie)],
        )
        .await;
    r.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("expired"))
    );
}

#[tokio::test]
async fn sessions_end_at_their_absolute_timeout_even_when_active() {
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_SESSION_ABSOLUTE_TIMEOUT_SECS", "2".into())],
        ..Default::default()
    })
    .await;
    t.register("ann@example.com", None).await;
    let (browser, _) = sign_in(&t, "ann@example.com", None).await;
    for _ in 0..2 {
        assert_eq!(
            t.call_with(
                Method::GET,
                "/api/v1/auth/me",
                None,
                None,
                &[("cookie", &browser.cookie)]
            )
            .await
            .status,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    t.call_with(
        Method::GET,
        "/api/v1/auth/me",
        None,
        None,
        &[("cookie", &browser.cookie)],
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn users_list_and_end_their_other_sessions() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let (laptop, _) = sign_in(&t, "ann@example.com", None).await;
    let (phone, _) = sign_in(&t, "ann@example.com", None).await;
    let list = t
        .call_with(
            Method::GET,
            "/api/v1/auth/sessions",
            None,
            None,
            &[("cookie", &laptop.cookie)],
        )
        .await;
    let sessions = list.body.as_array().expect("array");
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let r = t
        .call_with(
            Method::POST,
            "/api/v1/auth/sessions/revoke-others",
            None,
            None,
            &[("cookie", &laptop.cookie), ("x-csrf-token", &laptop.csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &phone.cookie)]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &laptop.cookie)]
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn html_forms_carry_the_csrf_token_in_a_field() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let (laptop, _) = sign_in(&t, "ann@example.com", None).await;
    let (phone, _) = sign_in(&t, "ann@example.com", None).await;
    let post = |body: String| {
        t.client
            .post(t.url("/api/v1/auth/sessions/revoke-others"))
            .header("cookie", &laptop.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let forged = post("_csrf=guess".into()).await.expect("sent");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let missing = post("other=1".into()).await.expect("sent");
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let ok = post(format!("other=1&_csrf={}", laptop.csrf))
        .await
        .expect("sent");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        t.call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &phone.cookie)]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
}
