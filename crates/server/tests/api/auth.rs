use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Options, PASSWORD, SmtpSink, TestApp};

#[tokio::test]
async fn register_creates_the_user_and_an_owned_organization() {
    let t = TestApp::spawn().await;
    let r = t
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": " Ann@Example.COM ", "password": PASSWORD, "name": "Ann", "organization_name": "Acme Boats"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert_eq!(r.body["organization"]["role"], "owner");
    assert_eq!(r.body["organization"]["slug"], "acme-boats");
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    let access = r.body["access_token"].as_str().expect("token");
    let mine = t.get("/api/v1/organizations/me", access).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body[0]["name"], "Acme Boats");
    assert_eq!(mine.body[0]["role"], "owner");
}

#[tokio::test]
async fn register_without_organization_gives_null_organization() {
    let t = TestApp::spawn().await;
    let r = t
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "solo@example.com", "password": PASSWORD, "name": "Solo"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body["organization"].is_null());
    let mine = t
        .get(
            "/api/v1/organizations/me",
            r.body["access_token"].as_str().expect("token"),
        )
        .await;
    assert_eq!(mine.body, json!([]));
}

#[tokio::test]
async fn email_taken_is_409_whatever_the_case() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let r = t
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "ANN@example.com", "password": PASSWORD, "name": "Ann 2"}),
        )
        .await;
    r.assert_problem(StatusCode::CONFLICT, "email_taken");
}

#[tokio::test]
async fn weak_passwords_are_422_with_a_field_error() {
    let t = TestApp::spawn().await;
    for password in ["short-pw-1", "password1234", "aaaaaaaaaaaaaaaa"] {
        let r = t
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": "bob@example.com", "password": password, "name": "Bob"}),
            )
            .await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "password", "{password}");
    }
    let r = t
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": PASSWORD, "name": ""}),
        )
        .await;
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["email", "name"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    let wrong = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": "not-the-password"}),
        )
        .await;
    let unknown = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "not-the-password"}),
        )
        .await;
    wrong.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    unknown.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    let ok = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ANN@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["user"]["email"], "ann@example.com");
    assert!(ok.body["refresh_token"].is_string());
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", None).await;
    let first = t
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ann.refresh}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let newest = first.body["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(newest, ann.refresh);
    let new_access = first.body["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(
        t.get("/api/v1/auth/me", &new_access).await.status,
        StatusCode::OK
    );

    // The spent token presented again: theft. Refused, and the newest token dies with it.
    let reuse = t
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ann.refresh}),
        )
        .await;
    reuse.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let after = t
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": newest}),
        )
        .await;
    after.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Access tokens of the revoked sign-in stop working too.
    t.get("/api/v1/auth/me", &new_access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");

    let mut tx = t.app.db.platform_read().await.expect("tx");
    let entries = rapport_store::audit::list_for_actor_email(&mut tx, "ann@example.com", 20)
        .await
        .expect("audit");
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.refresh_token_reused")
    );
}

#[tokio::test]
async fn logout_revokes_the_family() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", None).await;
    let r = t
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": ann.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    t.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": ann.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    t.get("/api/v1/auth/me", &ann.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Another sign-in of the same user is unaffected.
    let other = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        t.get(
            "/api/v1/auth/me",
            other.body["access_token"].as_str().expect("t")
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn invalid_credentials_are_401_with_www_authenticate() {
    let t = TestApp::spawn().await;
    let none = t.call(Method::GET, "/api/v1/auth/me", None, None).await;
    none.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    t.get("/api/v1/auth/me", "not.a.jwt")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let basic = t
        .call_with(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("authorization", "Basic YTpi")],
        )
        .await;
    basic.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_ACCESS_TOKEN_TTL_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    let ann = t.register("ann@example.com", None).await;
    assert_eq!(
        t.get("/api/v1/auth/me", &ann.access).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    t.get("/api/v1/auth/me", &ann.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn five_failures_throttle_sign_in_with_retry_after_and_an_audit_entry() {
    let t = TestApp::spawn().await;
    t.register("ann@example.com", None).await;
    for _ in 0..5 {
        let r = t
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": "ann@example.com", "password": "wrong-password-x"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while throttled.
    let r = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    r.assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    // Another account from the same address is not affected.
    t.register("bob@example.com", None).await;
    let bob = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(bob.status, StatusCode::OK);

    let mut tx = t.app.db.platform_read().await.expect("tx");
    let entries = rapport_store::audit::list_for_actor_email(&mut tx, "ann@example.com", 20)
        .await
        .expect("audit");
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "auth.login_failed")
            .count(),
        5
    );
    assert!(entries.iter().any(|e| e.action == "auth.login_throttled"));
    assert!(entries.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")));
}

#[tokio::test]
async fn password_reset_link_arrives_over_smtp_and_works_once() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let ann = t.register("ann@example.com", None).await;

    let r = t
        .post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "ANN@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let mail = smtp.message_to("ann@example.com").await;
    assert!(mail.header("subject").is_some_and(|s| s.contains("Reset")));
    let link = mail
        .link_containing("/reset-password/")
        .expect("reset link in the email");
    assert!(link.starts_with(&t.base), "{link}");
    let token = link.rsplit('/').next().expect("token");

    let r = t
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "new-harbour-password-7"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Single use.
    let again = t
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "another-password-8x"}),
        )
        .await;
    again.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(again.body["errors"][0]["field"], "token");

    let old = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": "new-harbour-password-7"}),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
    // Sign-ins from before the reset are over.
    t.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": ann.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn password_reset_for_an_unknown_email_answers_the_same_and_sends_nothing() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let r = t
        .post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.count_to("ghost@example.com"), 0);
    let bad = t
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": "made-up", "password": "new-harbour-password-7"}),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn change_password_needs_the_current_one() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", None).await;
    let wrong = t
        .post(
            "/api/v1/auth/password",
            Some(&ann.access),
            json!({"current_password": "nope-nope-nope", "password": "new-harbour-password-7"}),
        )
        .await;
    assert_eq!(wrong.body["errors"][0]["field"], "current_password");
    let ok = t
        .post(
            "/api/v1/auth/password",
            Some(&ann.access),
            json!({"current_password": PASSWORD, "password": "new-harbour-password-7"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ann@example.com", "password": "new-harbour-password-7"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test]
async fn the_instance_sets_what_new_passwords_must_be() {
    let t = TestApp::spawn_with(Options {
        extra: vec![
            ("RAPPORT_PASSWORD_MIN_LENGTH", "16".into()),
            ("RAPPORT_PASSWORD_MIN_KINDS", "3".into()),
        ],
        ..Options::default()
    })
    .await;
    let register = |password: &'static str| {
        let t = &t;
        async move {
            t.post(
                "/api/v1/auth/register",
                None,
                json!({"email": "ines@example.com", "password": password, "name": "Ines"}),
            )
            .await
        }
    };
    let short = register("Tidal-harbour-4").await;
    short.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(short.body["errors"][0]["field"], "password");
    assert_eq!(
        short.body["errors"][0]["message"],
        "must be at least 16 characters"
    );
    let plain = register("tidalharbourmarina42").await;
    assert_eq!(
        plain.body["errors"][0]["message"],
        "must mix at least 3 of: lowercase letters, uppercase letters, digits, symbols"
    );
    let made = register("Tidal-harbour-2027").await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    // The forms say so.
    let page = t
        .client
        .get(t.url("/signup"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains(
            "At least 16 characters, mixing 3 of: lowercase, uppercase, digits, symbols."
        ),
        "{page}"
    );
}
