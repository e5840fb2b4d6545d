//! Webhooks: signed deliveries checked by an independent verifier (the `standardwebhooks`
//! crate), retries against a receiver that fails first, 410 Gone, secret rotation, the delivery
//! log and resending, SSRF refusals, and who may manage endpoints.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::receiver::{Received, Receiver};
use crate::support::{Account, Options, TestApp};

/// A server whose webhooks may reach this machine, retrying quickly.
async fn app() -> TestApp {
    TestApp::spawn_with(Options {
        extra: vec![
            ("RAPPORT_WEBHOOK_ALLOW_PRIVATE", "true".into()),
            ("RAPPORT_WEBHOOK_RETRY_BASE_MS", "150".into()),
        ],
        ..Options::default()
    })
    .await
}

async fn register(t: &TestApp, who: &Account, url: &str, events: Value) -> Value {
    let r = t
        .org_call(
            who,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": url, "event_types": events, "description": "CRM sync"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

fn verify(secret: &str, request: &Received) {
    let verifier = standardwebhooks::Webhook::new(secret).expect("a whsec_ secret");
    verifier
        .verify(&request.body, &request.headers)
        .unwrap_or_else(|e| panic!("the signature does not verify: {e:?}"));
}

async fn deliveries(t: &TestApp, who: &Account, hook: &str) -> Vec<Value> {
    let r = t
        .org_call(
            who,
            Method::GET,
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().expect("items").clone()
}

/// Waits for the delivery of `event_type` to reach `status`.
async fn delivery_in(t: &TestApp, who: &Account, hook: &str, status: &str) -> Value {
    for _ in 0..300 {
        if let Some(d) = deliveries(t, who, hook)
            .await
            .into_iter()
            .find(|d| d["status"] == status)
        {
            let full = t
                .org_call(
                    who,
                    Method::GET,
                    &format!(
                        "/api/v1/webhooks/{hook}/deliveries/{}",
                        d["id"].as_str().expect("id")
                    ),
                    None,
                )
                .await;
            return full.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no delivery became {status}: {:?}",
        deliveries(t, who, hook).await
    );
}

#[tokio::test]
async fn wanted_events_arrive_signed_and_an_independent_verifier_accepts_them() {
    let t = app().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let receiver = Receiver::start(&[]).await;
    let hook = register(&t, &owner, &receiver.url, json!(["deal.created"])).await;
    let secret = hook["secret"].as_str().expect("the secret, once");
    assert!(secret.starts_with("whsec_"));
    let id = hook["id"].as_str().expect("id");
    let shown = t
        .org_call(&owner, Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(shown.body.get("secret"), None, "never shown again");

    t.create(&owner, "/api/v1/companies", json!({"name": "Not wanted"}))
        .await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Wanted", "amount": 10}),
        )
        .await;
    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "only the wanted type");
    let request = &got[0];
    verify(secret, request);
    assert_eq!(request.header("content-type"), "application/json");
    let body = request.json();
    assert_eq!(body["type"], "deal.created");
    assert_eq!(
        body["data"]["record"],
        json!({"type": "deal", "id": deal["id"]})
    );
    assert_eq!(body["data"]["organization_id"], json!(owner.org()));
    assert_eq!(
        request.header("webhook-id"),
        body["data"]["event_id"].as_str().expect("event id")
    );
    let timestamp: i64 = request
        .header("webhook-timestamp")
        .parse()
        .expect("seconds");
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    // Tampering is caught by the same verifier.
    let mut forged = request.clone();
    let mut tampered = request.body.to_vec();
    tampered.push(b' ');
    forged.body = axum::body::Bytes::from(tampered);
    let verifier = standardwebhooks::Webhook::new(secret).expect("secret");
    assert!(verifier.verify(&forged.body, &forged.headers).is_err());

    let done = delivery_in(&t, &owner, id, "succeeded").await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["last_status_code"], 200);
    assert_eq!(
        done["request_body"].as_str().map(str::as_bytes),
        Some(&request.body[..])
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_the_same_message_until_it_succeeds() {
    let t = app().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let receiver = Receiver::start(&[500, 503]).await;
    let hook = register(&t, &owner, &receiver.url, json!([])).await;
    let (id, secret) = (
        hook["id"].as_str().expect("id"),
        hook["secret"].as_str().expect("secret"),
    );
    t.create(
        &owner,
        "/api/v1/deals",
        json!({"title": "Retry me", "amount": 10}),
    )
    .await;
    let got = receiver.wait_for(3).await;
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one message id across attempts: {ids:?}"
    );
    for request in &got {
        verify(secret, request);
    }
    let done = delivery_in(&t, &owner, id, "succeeded").await;
    assert_eq!(done["attempts"], 3);
    let codes: Vec<i64> = done["attempt_log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|a| a["status_code"].as_i64())
        .collect();
    assert_eq!(codes, [500, 503, 200]);
    assert!(
        done["attempt_log"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("500"))
    );
    assert!(
        done["attempt_log"]
            .as_array()
            .expect("log")
            .iter()
            .all(|a| a["latency_ms"].as_i64().is_some())
    );
    let endpoint = t
        .org_call(&owner, Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(
        endpoint.body["failing_since"],
        Value::Null,
        "a success clears the failure"
    );

    // Resending sends the same message again.
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/resend",
                done["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let again = receiver.wait_for(4).await;
    assert_eq!(again[3].header("webhook-id"), ids[0]);
    assert_eq!(again[3].body, got[2].body);
}

#[tokio::test]
async fn a_receiver_that_answers_410_is_turned_off_and_the_admins_are_told() {
    let t = app().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let receiver = Receiver::start(&[410]).await;
    let hook = register(&t, &owner, &receiver.url, json!([])).await;
    let id = hook["id"].as_str().expect("id");
    t.create(&owner, "/api/v1/companies", json!({"name": "First"}))
        .await;
    let failed = delivery_in(&t, &owner, id, "failed").await;
    assert_eq!(failed["attempts"], 1, "no retry after 410");
    let endpoint = t
        .org_call(&owner, Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(endpoint.body["active"], false);
    assert_eq!(
        endpoint.body["disabled_reason"],
        "the receiver answered 410 Gone"
    );
    let mut told = Value::Null;
    for _ in 0..100 {
        let r = t
            .org_call(&owner, Method::GET, "/api/v1/notifications", None)
            .await;
        if let Some(n) = r.body["items"]
            .as_array()
            .and_then(|i| i.iter().find(|n| n["kind"] == "webhook_disabled").cloned())
        {
            told = n;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        told["link"],
        format!("/o/acme/settings/webhooks/{id}"),
        "{told}"
    );
    // Turned off: later events are not sent.
    t.create(&owner, "/api/v1/companies", json!({"name": "Second"}))
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 1);
    // Turned back on, it receives again.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(r.body["disabled_reason"], Value::Null);
    t.create(&owner, "/api/v1/companies", json!({"name": "Third"}))
        .await;
    receiver.wait_for(2).await;
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_for_a_day() {
    let t = app().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let receiver = Receiver::start(&[]).await;
    let hook = register(&t, &owner, &receiver.url, json!(["company.created"])).await;
    let id = hook["id"].as_str().expect("id");
    let old = hook["secret"].as_str().expect("secret").to_owned();
    let rotated = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new = rotated.body["secret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert_ne!(old, new);
    assert!(rotated.body["previous_secret_until"].is_string());
    t.create(&owner, "/api/v1/companies", json!({"name": "Rotated"}))
        .await;
    let request = &receiver.wait_for(1).await[0];
    assert_eq!(request.header("webhook-signature").split(' ').count(), 2);
    verify(&old, request);
    verify(&new, request);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_the_instance_allows_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://[::1]/",
        "http://0x7f000001/",
        "ftp://example.com/",
        "https://user:secret@example.com/",
    ] {
        let r = t
            .org_call(
                &owner,
                Method::POST,
                "/api/v1/webhooks",
                Some(json!({"url": url})),
            )
            .await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "url", "{url}");
    }
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/in", "event_types": ["deal.exploded"]})),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "event_types");

    // An endpoint that reaches a private address at sending time (its name could resolve
    // anywhere by then) is refused when sending, and not retried.
    let receiver = Receiver::start(&[]).await;
    let mut tx = t
        .app
        .db
        .tenant(owner.org().parse().expect("org"))
        .await
        .expect("tx");
    let endpoint = rapport_store::webhooks::insert(
        &mut tx,
        rapport_store::webhooks::NewEndpoint {
            url: receiver.url.clone(),
            description: String::new(),
            event_types: Vec::new(),
            secret_sealed: t.app.keys.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            active: true,
            created_by: owner.user_id.parse().expect("user"),
        },
    )
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    t.create(&owner, "/api/v1/companies", json!({"name": "Probe"}))
        .await;
    let failed = delivery_in(&t, &owner, &endpoint.id.to_string(), "failed").await;
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("127.0.0.1") && e.contains("not a public address")),
        "{failed}"
    );
    assert_eq!(failed["attempts"], 1);
    assert!(
        receiver.received().is_empty(),
        "nothing reached the address"
    );
}

#[tokio::test]
async fn only_owners_and_admins_manage_webhooks_and_only_their_own() {
    let t = app().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let other = t.register("other@example.com", Some("Other")).await;
    let receiver = Receiver::start(&[]).await;
    let hook = register(&t, &owner, &receiver.url, json!([])).await;
    let id = hook["id"].as_str().expect("id");
    t.org_call(&manager, Method::GET, "/api/v1/webhooks", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(
        &manager,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": receiver.url})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    for (method, path) in [
        (Method::GET, format!("/api/v1/webhooks/{id}")),
        (Method::PATCH, format!("/api/v1/webhooks/{id}")),
        (Method::DELETE, format!("/api/v1/webhooks/{id}")),
        (Method::POST, format!("/api/v1/webhooks/{id}/rotate-secret")),
        (Method::GET, format!("/api/v1/webhooks/{id}/deliveries")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"active": false}));
        t.org_call(&other, method.clone(), &path, body)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    // Another organization's events never reach this endpoint; a test message does.
    t.create(&other, "/api/v1/companies", json!({"name": "Theirs"}))
        .await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/webhooks/{id}/test"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(got[0].json()["type"], "webhook.test");
    let r = t
        .org_call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        t.org_call(&owner, Method::GET, "/api/v1/webhooks", None)
            .await
            .body
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}
