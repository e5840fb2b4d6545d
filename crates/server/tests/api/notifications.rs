//! Notifications: who hears of what, in the app, live and by email, as each person chose.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::smtp::SmtpSink;
use crate::support::ws::connect_as;
use crate::support::{Account, Options, PASSWORD, TestApp};

/// The member's notifications once `expected` of them exist (waits up to 10 s for dispatch).
async fn inbox(t: &TestApp, who: &Account, expected: usize) -> Value {
    for _ in 0..200 {
        let r = t
            .org_call(who, Method::GET, "/api/v1/notifications", None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["items"].as_array().map_or(0, Vec::len) >= expected {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {expected} notifications arrived");
}

/// Waits until every event so far is dispatched, so that "nothing arrived" means something.
async fn settled(t: &TestApp) {
    for _ in 0..200 {
        let (backlog, _) = t.app.queue_readings().await.expect("readings");
        if backlog == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("events stayed undispatched");
}

async fn deal(t: &TestApp, who: &Account, title: &str) -> String {
    t.create(who, "/api/v1/deals", json!({"title": title, "amount": 500}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn an_assigned_task_notifies_the_assignee_live_and_by_email_once() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let mut socket = connect_as(&t.base, &member.access, member.org()).await;
    assert_eq!(socket.subscribe("user").await["type"], "subscribed");

    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Call the harbour master", "assignee_id": member.user_id}),
        )
        .await;

    let live = socket.next_event().await;
    assert_eq!(live["channel"], "user");
    assert_eq!(live["event"], "notification.created");
    let body = inbox(&t, &member, 1).await;
    assert_eq!(body["unread"], 1);
    let n = &body["items"][0];
    assert_eq!(n["kind"], "task_assigned");
    assert_eq!(n["title"], "owner assigned you “Call the harbour master”");
    assert_eq!(n["record_id"], task["id"]);
    assert_eq!(n["actor_id"], json!(owner.user_id));
    assert_eq!(live["record"]["id"], n["id"]);

    let mail = smtp.message_to("member@example.com").await;
    assert!(
        mail.body.contains("Call the harbour master"),
        "{}",
        mail.body
    );
    assert!(
        mail.link_containing("/o/acme/tasks").is_some(),
        "{}",
        mail.body
    );
    assert!(
        mail.link_containing("/o/acme/notifications/settings")
            .is_some()
    );

    // The one who assigned it hears nothing; assigning oneself notifies nobody.
    t.create(
        &member,
        "/api/v1/tasks",
        json!({"title": "My own", "assignee_id": member.user_id}),
    )
    .await;
    settled(&t).await;
    assert_eq!(inbox(&t, &owner, 0).await["items"], json!([]));
    assert_eq!(
        inbox(&t, &member, 1).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.count_to("member@example.com"), 1, "one email");

    // Read it; the unread count follows.
    let id = n["id"].as_str().expect("id");
    let r = t
        .org_call(
            &member,
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(inbox(&t, &member, 1).await["unread"], 0);
    // Another's notification is not found.
    t.org_call(
        &owner,
        Method::POST,
        &format!("/api/v1/notifications/{id}/read"),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn mentions_and_changes_to_ones_deals_notify_and_read_all_clears_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let id = deal(&t, &member, "Hull repair").await;

    // The owner moves the member's deal and mentions them (and themselves, which is no news).
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/deals/{id}"),
            Some(json!({"stage": "proposal"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/deals/{id}/activities"),
            Some(json!({"type": "comment", "payload": {"text": "@member can you call them?", "mentions": [member.user_id, owner.user_id]}})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    settled(&t).await;
    // The member changing their own deal is no news to them.
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/deals/{id}"),
        Some(json!({"title": "Hull repair and paint"})),
    )
    .await;
    settled(&t).await;

    let body = inbox(&t, &member, 2).await;
    let kinds: Vec<&str> = body["items"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["mention", "deal_changed"], "newest first");
    assert_eq!(
        body["items"][0]["title"],
        "owner mentioned you on “Hull repair”"
    );
    assert_eq!(body["items"][0]["link"], format!("/o/acme/deals/{id}"));
    assert_eq!(
        body["items"][1]["title"],
        "owner moved “Hull repair” to proposal"
    );
    assert_eq!(
        inbox(&t, &owner, 0).await["items"],
        json!([]),
        "no self-notification"
    );

    let r = t
        .org_call(
            &member,
            Method::POST,
            "/api/v1/notifications/read-all",
            None,
        )
        .await;
    assert_eq!(r.body["marked"], 2);
    let unread = t
        .org_call(
            &member,
            Method::GET,
            "/api/v1/notifications?unread=true",
            None,
        )
        .await;
    assert_eq!(unread.body["items"], json!([]));
    assert_eq!(unread.body["unread"], 0);
}

#[tokio::test]
async fn an_accepted_invitation_notifies_whoever_sent_it() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "new@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = smtp
        .message_to("new@example.com")
        .await
        .link_containing("/invite/")
        .expect("link");
    let token = link.rsplit('/').next().expect("token");
    let r = t
        .post(
            "/api/v1/auth/invitations/accept",
            None,
            json!({"token": token, "name": "Newcomer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = inbox(&t, &owner, 1).await;
    assert_eq!(body["items"][0]["kind"], "invitation_accepted");
    assert_eq!(
        body["items"][0]["title"],
        "Newcomer (new@example.com) accepted your invitation"
    );
}

#[tokio::test]
async fn preferences_silence_a_kind_or_change_how_it_is_emailed() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;

    let defaults = t
        .get("/api/v1/notifications/preferences", &member.access)
        .await;
    assert_eq!(defaults.status, StatusCode::OK);
    let find = |body: &Value, kind: &str| {
        body["kinds"]
            .as_array()
            .expect("list")
            .iter()
            .find(|p| p["kind"] == kind)
            .cloned()
            .expect("kind listed")
    };
    assert_eq!(
        find(&defaults.body, "mention"),
        json!({"kind": "mention", "in_app": true, "email": "immediate"})
    );
    assert_eq!(find(&defaults.body, "deal_changed")["email"], "digest");

    let r = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&member.access),
            Some(json!({"kinds": [{"kind": "task_assigned", "in_app": false, "email": "never"}, {"kind": "mention", "in_app": false, "email": "immediate"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        find(&r.body, "task_assigned"),
        json!({"kind": "task_assigned", "in_app": false, "email": "never"})
    );
    let bad = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&member.access),
            Some(json!({"kinds": [{"kind": "gossip", "in_app": true, "email": "hourly"}]})),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["kinds[0].kind", "kinds[0].email"]);
    let bad_zone = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&member.access),
            Some(json!({"time_zone": "Mars/Olympus"})),
        )
        .await;
    bad_zone.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad_zone.body["errors"][0]["field"], "time_zone");
    let zoned = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&member.access),
            Some(json!({"time_zone": "Europe/Lisbon"})),
        )
        .await;
    assert_eq!(zoned.body["time_zone"], "Europe/Lisbon");
    assert_eq!(
        find(&zoned.body, "task_assigned")["in_app"],
        false,
        "kinds kept"
    );
    assert_eq!(defaults.body["time_zone"], Value::Null);

    // Silenced: an assignment leaves no trace. Email only: a mention is emailed, not shown.
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Quiet", "assignee_id": member.user_id}),
    )
    .await;
    let id = deal(&t, &owner, "Mast").await;
    t.org_call(
        &owner,
        Method::POST,
        &format!("/api/v1/deals/{id}/activities"),
        Some(json!({"type": "comment", "payload": {"text": "@member look", "mentions": [member.user_id]}})),
    )
    .await;
    let mail = smtp.message_to("member@example.com").await;
    assert!(
        mail.body.contains("mentioned you on “Mast”"),
        "{}",
        mail.body
    );
    settled(&t).await;
    let body = inbox(&t, &member, 0).await;
    assert_eq!(body["unread"], 0, "nothing unread in the app");
    assert!(
        body["items"]
            .as_array()
            .expect("data")
            .iter()
            .all(|n| n["kind"] != "task_assigned"),
        "{body}"
    );
    assert_eq!(
        smtp.count_to("member@example.com"),
        1,
        "no email for the silenced kind"
    );
}

#[tokio::test]
async fn dispatching_an_event_again_does_not_notify_twice() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Once", "assignee_id": member.user_id}),
    )
    .await;
    inbox(&t, &member, 1).await;
    settled(&t).await;
    // As if the dispatcher had died after its effects but before recording progress: every
    // event is handed out again.
    let mut tx = t.app.db.platform().await.expect("tx");
    tx.execute(rapport_store::query(
        "UPDATE outbox_events SET dispatched_at = NULL",
    ))
    .await
    .expect("reset");
    tx.commit().await.expect("commit");
    let redelivered = t.app.dispatch_outbox(1000).await.expect("dispatch");
    assert!(redelivered > 0);
    settled(&t).await;
    let body = inbox(&t, &member, 1).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
}

#[tokio::test]
async fn the_bell_counts_unread_notifications_and_the_page_opens_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let id = deal(&t, &member, "Sails").await;
    t.org_call(
        &owner,
        Method::PATCH,
        &format!("/api/v1/deals/{id}"),
        Some(json!({"amount": 900})),
    )
    .await;
    let n = inbox(&t, &member, 1).await["items"][0].clone();
    let session = t.browser_session("member@example.com").await;
    let cookie = session.0.clone();
    let page = t
        .call_with(
            Method::GET,
            "/o/acme/notifications",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("class=\"bell-count\" aria-hidden=\"true\">1<"),
        "the bell shows 1"
    );
    assert!(page.text.contains("owner changed “Sails”"), "{}", page.text);
    let nid = n["id"].as_str().expect("id");
    let opened = t
        .form(&session, &format!("/o/acme/notifications/{nid}/open"), &[])
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(
        opened.header("location"),
        Some(format!("/o/acme/deals/{id}").as_str())
    );
    assert_eq!(inbox(&t, &member, 1).await["unread"], 0);
}

fn in_ms(ms: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::milliseconds(ms)).to_rfc3339()
}

async fn kinds(t: &TestApp, who: &Account) -> Vec<String> {
    let r = t
        .org_call(who, Method::GET, "/api/v1/notifications", None)
        .await;
    r.body["items"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|n| n["kind"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_reminder_fires_once_at_its_time_and_follows_when_moved() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;

    let past = t
        .org_call(
            &member,
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"title": "Too late", "remind_at": in_ms(-60_000)})),
        )
        .await;
    past.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(past.body["errors"][0]["field"], "remind_at");

    let task = t
        .create(
            &member,
            "/api/v1/tasks",
            json!({"title": "Order antifouling", "remind_at": in_ms(1500)}),
        )
        .await;
    let id = task["id"].as_str().expect("id").to_owned();
    assert!(task["remind_at"].is_string());
    assert_eq!(task["reminded_at"], Value::Null);
    // Moved later before it fired: only the later time counts.
    let r = t
        .org_call(
            &member,
            Method::PATCH,
            &format!("/api/v1/tasks/{id}"),
            Some(json!({"remind_at": in_ms(3000)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A second task completed before its reminder: no reminder.
    let done = t
        .create(
            &member,
            "/api/v1/tasks",
            json!({"title": "Done early", "remind_at": in_ms(1500)}),
        )
        .await;
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/tasks/{}", done["id"].as_str().expect("id")),
        Some(json!({"is_done": true})),
    )
    .await;

    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(kinds(&t, &member).await.is_empty(), "not at the first time");
    let body = inbox(&t, &member, 1).await;
    assert_eq!(body["items"][0]["kind"], "task_reminder");
    assert_eq!(body["items"][0]["title"], "Reminder: “Order antifouling”");
    let fetched = t
        .org_call(&member, Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert!(fetched.body["reminded_at"].is_string());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        kinds(&t, &member).await,
        ["task_reminder"],
        "once, and none for the done task"
    );
}

#[tokio::test]
async fn a_reminder_entered_in_the_web_app_is_read_in_the_persons_time_zone() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&owner.access),
            Some(json!({"time_zone": "Asia/Tokyo"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let session = t.browser_session("owner@example.com").await;
    let cookie = session.0.clone();
    // Tomorrow at 09:30 in Tokyo (UTC+9, no daylight saving) is 00:30 UTC that day.
    let tokyo_tomorrow =
        (chrono::Utc::now() + chrono::TimeDelta::hours(9)).date_naive() + chrono::Days::new(1);
    let local = format!("{tokyo_tomorrow}T09:30");
    let sent = t
        .form(
            &session,
            "/o/acme/tasks",
            &[
                ("title", "Haul out"),
                ("remind_at", local.as_str()),
                ("back", "/o/acme/tasks"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let location = sent.header("location").expect("location").to_owned();
    assert!(!location.contains("task_error"), "{location}");
    let tasks = t.org_call(&owner, Method::GET, "/api/v1/tasks", None).await;
    let task = &tasks.body["items"][0];
    assert_eq!(task["title"], "Haul out");
    assert_eq!(
        task["remind_at"]
            .as_str()
            .map(|s| s.get(..19).unwrap_or_default().to_owned()),
        Some(format!("{tokyo_tomorrow}T00:30:00")),
        "{task}"
    );
    let page = t
        .call_with(
            Method::GET,
            "/o/acme/tasks",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert!(
        page.text.contains(&format!(
            "reminder {}, 09:30",
            tokyo_tomorrow.format("%-d %b")
        )),
        "shown in Tokyo time"
    );
}

/// A fixed-offset time zone in which it is now 8 in the morning (the digest hour).
fn zone_at_eight() -> String {
    use chrono::Timelike;
    let hour = chrono::Utc::now().hour() as i32;
    let mut offset = 8 - hour;
    if offset < -12 {
        offset += 24;
    }
    if offset > 14 {
        offset -= 24;
    }
    // Etc/GMT names count the other way round: Etc/GMT-3 is three hours ahead of UTC.
    match offset {
        0 => "Etc/GMT".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

#[tokio::test]
async fn the_morning_jobs_send_the_digest_and_due_task_notices_once() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let r = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&member.access),
            Some(json!({"time_zone": zone_at_eight()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A change to the member's deal is a digest notification by default.
    let id = deal(&t, &member, "Winter berth").await;
    t.org_call(
        &owner,
        Method::PATCH,
        &format!("/api/v1/deals/{id}"),
        Some(json!({"amount": 750})),
    )
    .await;
    inbox(&t, &member, 1).await;
    // A task of the member's due today where they are (the organization works there too, so
    // today is a valid due date).
    let zone = zone_at_eight();
    let r = t
        .call(
            Method::PATCH,
            &format!("/api/v1/organizations/{}", owner.org()),
            Some(&owner.access),
            Some(json!({"time_zone": zone})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tz: chrono_tz::Tz = zone.parse().expect("zone");
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Pump the bilge", "assignee_id": member.user_id, "due_date": today}),
    )
    .await;
    settled(&t).await;

    let run = |kind: &'static str| {
        let app = t.app.clone();
        async move {
            app.enqueue(rapport_app::jobs::JobSpec::new(
                rapport_app::jobs::queue::MAINTENANCE,
                kind,
                json!({}),
            ))
            .await
            .expect("enqueue");
        }
    };
    run(rapport_app::jobs::kind::SEND_DIGESTS).await;
    let digest = smtp
        .message_containing("member@example.com", "since the last digest")
        .await;
    assert!(
        digest.header("subject").is_some_and(|s| s.contains("Acme")),
        "{}",
        digest.raw
    );
    assert!(
        digest.body.contains("owner changed “Winter berth”"),
        "{}",
        digest.body
    );
    run(rapport_app::jobs::kind::TASKS_DUE).await;
    let mut kinds = Vec::new();
    for _ in 0..100 {
        kinds = t
            .org_call(&member, Method::GET, "/api/v1/notifications", None)
            .await
            .body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|n| n["kind"].as_str().map(str::to_owned))
            .collect::<Vec<_>>();
        if kinds.iter().any(|k| k == "task_due") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(kinds.iter().any(|k| k == "task_due"), "{kinds:?}");

    // The due-task notice goes out in the next digest (its default), and once.
    run(rapport_app::jobs::kind::SEND_DIGESTS).await;
    let second = smtp
        .message_containing("member@example.com", "“Pump the bilge” is due today")
        .await;
    assert!(
        second.body.contains("since the last digest"),
        "{}",
        second.body
    );
    assert!(!second.body.contains("Winter berth"), "already sent");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let emails = smtp.count_to("member@example.com");
    run(rapport_app::jobs::kind::SEND_DIGESTS).await;
    run(rapport_app::jobs::kind::TASKS_DUE).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        smtp.count_to("member@example.com"),
        emails,
        "each digest went once"
    );
    let due = t
        .org_call(&member, Method::GET, "/api/v1/notifications", None)
        .await
        .body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|n| n["kind"] == "task_due")
        .count();
    assert_eq!(due, 1, "one notice per task and day");
}

#[tokio::test]
async fn custom_records_handed_over_or_changed_by_others_notify_their_owner() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    t.create(
        &owner,
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/objects/berth/fields",
        json!({"key": "length", "label": "Length", "type": "number"}),
    )
    .await;
    // Made for the member by the owner: handed over.
    let id = t
        .create(
            &owner,
            "/api/v1/objects/berth/records",
            json!({"values": {"name": "A-12"}, "owner_id": member.user_id}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The member changing their own record is no news to them; the owner changing it is.
    for who in [&member, &owner] {
        let r = t
            .org_call(
                who,
                Method::PATCH,
                &format!("/api/v1/objects/berth/records/{id}"),
                Some(
                    json!({"values": {"length": if std::ptr::eq(who, &member) { 10 } else { 12 }}}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        settled(&t).await;
    }
    let body = inbox(&t, &member, 2).await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{body}");
    assert!(items.iter().all(|n| n["kind"] == "record_changed"));
    assert_eq!(items[0]["title"], "owner changed “A-12”");
    assert_eq!(items[0]["body"], "Changed: length");
    assert_eq!(items[1]["title"], "owner gave you “A-12”");
    // Opening it leads to the record's page, whatever its object.
    let link = items[0]["link"].as_str().expect("link");
    assert!(link.ends_with(&format!("/records/{id}")), "{link}");
    // The owner, who did it all, has nothing.
    let mine = t
        .org_call(&owner, Method::GET, "/api/v1/notifications", None)
        .await;
    assert_eq!(mine.body["items"], json!([]));
}

#[tokio::test]
async fn a_mention_notifies_only_members_who_may_see_the_record() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let role = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/roles",
            Some(json!({"name": "Agent", "copy_of": "member",
                "permissions": {"deal": {"view": "own"}}})),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let agent = t.member(&owner, "agent@example.com", "agent").await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let id = deal(&t, &owner, "Secret harbour bid").await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/deals/{id}/activities"),
            Some(
                json!({"type": "comment", "payload": {"text": "@agent @member thoughts?",
                "mentions": [agent.user_id, member.user_id]}}),
            ),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    settled(&t).await;
    // The member, who sees every deal, is told; the agent, who sees only their own, is not
    // (the notification would name the deal).
    let told = inbox(&t, &member, 1).await;
    assert_eq!(told["items"][0]["kind"], "mention");
    let untold = t
        .org_call(&agent, Method::GET, "/api/v1/notifications", None)
        .await;
    assert_eq!(untold.body["items"], json!([]), "{}", untold.text);
}
