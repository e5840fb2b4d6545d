//! The outbox: each committed change writes its domain events in its own transaction.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

/// (type, record id, changed) of every event so far, oldest first.
async fn events(t: &TestApp) -> Vec<(String, Option<String>, Vec<String>, String)> {
    t.app
        .events_after(None, 1000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| {
            (
                e.event_type,
                e.record_id.map(|r| r.to_string()),
                e.changed.0,
                e.organization_id.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn changes_write_their_events_and_refused_changes_write_none() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let before = events(&t).await.len();
    let d = t
        .create(
            &member,
            "/api/v1/deals",
            json!({"title": "Refit", "amount": 100}),
        )
        .await;
    let id = d["id"].as_str().expect("id").to_owned();
    let r = t
        .org_call(
            &member,
            Method::PATCH,
            &format!("/api/v1/deals/{id}"),
            Some(json!({"stage": "proposal"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Refused: a member moving back, and won without an amount. No event.
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/deals/{id}"),
        Some(json!({"stage": "qualification"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "stage_rollback_forbidden");
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/deals/{id}"),
        Some(json!({"status": "won", "amount": 0})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "deal_amount_required_for_won");
    t.create(
        &owner,
        &format!("/api/v1/deals/{id}/activities"),
        json!({"type": "comment", "payload": {"text": "Looks good"}}),
    )
    .await;
    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Call", "assignee_id": member.user_id, "deal_id": id}),
        )
        .await;
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/tasks/{}", task["id"].as_str().expect("id")),
        Some(json!({"is_done": true})),
    )
    .await;
    let all = events(&t).await;
    let new: Vec<(&str, Option<&str>, Vec<&str>)> = all[before..]
        .iter()
        .map(|(k, r, c, _)| {
            (
                k.as_str(),
                r.as_deref(),
                c.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let task_id = task["id"].as_str();
    assert_eq!(
        new,
        [
            ("deal.created", Some(id.as_str()), vec![]),
            (
                "deal.updated",
                Some(id.as_str()),
                vec!["close_probability", "stage"]
            ),
            ("deal.stage_changed", Some(id.as_str()), vec!["stage"]),
            ("comment.created", Some(id.as_str()), vec![]),
            ("task.created", task_id, vec![]),
            ("task.assigned", task_id, vec!["assignee_id"]),
            ("task.updated", task_id, vec!["is_done"]),
            ("task.completed", task_id, vec!["is_done"]),
        ]
    );
    assert!(all.iter().all(|(_, _, _, org)| org == owner.org()));
}

#[tokio::test]
async fn each_organization_s_events_carry_its_id_and_member_changes_are_events() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("A")).await;
    let b = t.register("b@example.com", Some("B")).await;
    t.create(&a, "/api/v1/contacts", json!({"name": "Ann"}))
        .await;
    t.create(&b, "/api/v1/contacts", json!({"name": "Bob"}))
        .await;
    t.member(&a, "c@example.com", "viewer").await;
    let all = events(&t).await;
    let of = |org: &str| -> Vec<String> {
        all.iter()
            .filter(|(_, _, _, o)| o == org)
            .map(|(k, _, _, _)| k.clone())
            .collect()
    };
    assert_eq!(of(a.org()), ["contact.created", "member.added"]);
    assert_eq!(of(b.org()), ["contact.created"]);
}
