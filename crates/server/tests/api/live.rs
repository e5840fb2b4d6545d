//! The WebSocket gateway: who may connect and subscribe, and what reaches them.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::ws::{self, connect, connect_as};
use crate::support::{Options, TestApp};

#[tokio::test]
async fn the_upgrade_is_refused_without_credentials_and_outside_ones_organizations() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let stranger = t.register("stranger@example.com", Some("Other")).await;
    assert_eq!(
        connect(&t.base, "/ws", &[]).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "no credentials"
    );
    assert_eq!(
        connect(&t.base, "/ws", &[("authorization", "Bearer not-a-token")])
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED),
        "a forged token"
    );
    let path = format!(
        "/ws?access_token={}&organization_id={}",
        stranger.access,
        owner.org()
    );
    assert_eq!(
        connect(&t.base, &path, &[]).await.err(),
        Some(StatusCode::FORBIDDEN),
        "a member of another organization"
    );
    // The query parameters stand for the headers.
    let path = format!(
        "/ws?access_token={}&organization_id={}",
        owner.access,
        owner.org()
    );
    let mut socket = connect(&t.base, &path, &[]).await.expect("accepted");
    socket.send(json!({"type": "ping"})).await;
    assert_eq!(socket.next().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn a_change_reaches_org_and_record_subscribers_with_field_names_but_no_values() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let deal = t
        .create(
            &member,
            "/api/v1/deals",
            json!({"title": "Refit", "amount": 100}),
        )
        .await;
    let id = deal["id"].as_str().expect("id").to_owned();

    let mut watcher = connect_as(&t.base, &owner.access, owner.org()).await;
    assert_eq!(
        watcher.subscribe("org").await,
        json!({"type": "subscribed", "channel": "org"})
    );
    let channel = format!("record:deal:{id}");
    assert_eq!(
        watcher.subscribe(&channel).await,
        json!({"type": "subscribed", "channel": channel})
    );

    let r = t
        .org_call(
            &member,
            Method::PATCH,
            &format!("/api/v1/deals/{id}"),
            Some(json!({"stage": "proposal", "title": "Secret new title"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let mut seen = Vec::new();
    while seen.len() < 4 {
        let event = watcher.next_event().await;
        // Earlier events (the member joining, the creation) may still be on their way when the
        // watcher subscribes.
        if event["event"] != "deal.created" && event["record"]["id"] == id.as_str() {
            seen.push(event);
        }
    }
    let of = |channel: &str, event: &str| {
        seen.iter()
            .find(|m| m["channel"] == channel && m["event"] == event)
            .unwrap_or_else(|| panic!("no {event} on {channel} in {seen:#?}"))
            .clone()
    };
    let updated = of("org", "deal.updated");
    assert_eq!(updated["record"], json!({"type": "deal", "id": id}));
    // Moving the stage also moves the deal's probability to the stage's.
    assert_eq!(
        updated["changed"],
        json!(["close_probability", "stage", "title"])
    );
    assert_eq!(updated["actor_id"], json!(member.user_id));
    assert!(updated["event_id"].as_str().is_some_and(|e| e.len() == 36));
    assert!(updated["at"].as_str().is_some_and(|a| a.ends_with('Z')));
    let moved = of(&channel, "deal.stage_changed");
    assert_eq!(moved["changed"], json!(["stage"]));
    of(&channel, "deal.updated");
    of("org", "deal.stage_changed");
    for message in &seen {
        assert!(
            !message.to_string().contains("Secret new title")
                && !message.to_string().contains("proposal"),
            "an event carries values: {message}"
        );
    }

    // Unsubscribed from the record, only the org channel hears the next change.
    watcher
        .send(json!({"type": "unsubscribe", "channel": channel}))
        .await;
    assert_eq!(watcher.answer().await["type"], "unsubscribed");
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/deals/{id}"),
        Some(json!({"title": "Again"})),
    )
    .await;
    let mut next = watcher.next_event().await;
    while next["event"] == "deal.created" {
        next = watcher.next_event().await;
    }
    assert_eq!(
        (next["channel"].as_str(), next["event"].as_str()),
        (Some("org"), Some("deal.updated"))
    );
    assert!(
        watcher
            .next_within(Duration::from_millis(500))
            .await
            .is_none(),
        "nothing on the record channel"
    );
}

#[tokio::test]
async fn records_of_another_organization_are_not_found_and_their_events_never_arrive() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let other = t.register("other@example.com", Some("Other")).await;
    let theirs = t
        .create(
            &other,
            "/api/v1/deals",
            json!({"title": "Theirs", "amount": 5}),
        )
        .await;
    let theirs = theirs["id"].as_str().expect("id");

    let mut socket = connect_as(&t.base, &owner.access, owner.org()).await;
    let answer = socket.subscribe(&format!("record:deal:{theirs}")).await;
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["code"], "not_found");
    let answer = socket
        .subscribe(&format!("record:deal:{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(answer["code"], "not_found", "a missing record alike");
    for bad in [
        "everything",
        "record:deal:not-a-uuid",
        "record:invoice:0190c0de-0000-7000-8000-000000000000",
    ] {
        let answer = socket.subscribe(bad).await;
        assert_eq!(answer["code"], "bad_request", "{bad}: {answer}");
    }
    socket.send(json!({"type": "dance"})).await;
    assert_eq!(socket.next().await["code"], "bad_request");

    assert_eq!(socket.subscribe("org").await["type"], "subscribed");
    t.org_call(
        &other,
        Method::PATCH,
        &format!("/api/v1/deals/{theirs}"),
        Some(json!({"title": "Changed"})),
    )
    .await;
    // The other organization's change is dispatched, then a change of our own proves the stream
    // is flowing: ours arrives, theirs never did.
    let mine = t
        .create(&owner, "/api/v1/companies", json!({"name": "Ours"}))
        .await;
    let event = socket.next_event().await;
    assert_eq!(
        event["record"]["id"], mine["id"],
        "only our own organization's events: {event}"
    );
}

#[tokio::test]
async fn api_keys_connect_and_session_cookies_only_from_rapports_own_pages() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let key = t
        .post(
            &format!("/api/v1/organizations/{}/api-keys", owner.org()),
            Some(&owner.access),
            json!({"name": "live", "role": "viewer"}),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
    let key = key.body["secret"].as_str().expect("secret");
    let mut socket = connect_as(&t.base, key, owner.org()).await;
    assert_eq!(socket.subscribe("org").await["type"], "subscribed");

    let cookie = t.session_cookie("owner@example.com").await;
    let refused = connect(
        &t.base,
        &format!("/ws?organization_id={}", owner.org()),
        &[("cookie", &cookie), ("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(
        refused.err(),
        Some(StatusCode::FORBIDDEN),
        "cross-site WebSocket hijacking"
    );
    let mut socket = connect(
        &t.base,
        &format!("/ws?organization_id={}", owner.org()),
        &[("cookie", &cookie), ("origin", &t.base)],
    )
    .await
    .expect("the web app's own origin");
    assert_eq!(socket.subscribe("user").await["type"], "subscribed");
}

#[tokio::test]
async fn connections_per_user_are_capped_and_silent_clients_are_dropped() {
    let t = TestApp::spawn_with(Options {
        extra: vec![
            ("RAPPORT_WS_MAX_CONNECTIONS_PER_USER", "2".into()),
            ("RAPPORT_WS_IDLE_TIMEOUT_SECS", "1".into()),
        ],
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let mut first = connect_as(&t.base, &owner.access, owner.org()).await;
    let _second = connect_as(&t.base, &owner.access, owner.org()).await;
    let third = ws::connect(
        &t.base,
        "/ws",
        &[
            ("authorization", &format!("Bearer {}", owner.access)),
            ("x-organization-id", owner.org()),
        ],
    )
    .await;
    assert_eq!(third.err(), Some(StatusCode::TOO_MANY_REQUESTS));

    // A client that answers nothing, not even pings, is disconnected after the idle timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(first.closed_with(Duration::from_secs(5)).await, Some(1001));
    // Its place is free again.
    drop(first);
    drop(_second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _again = connect_as(&t.base, &owner.access, owner.org()).await;
}
