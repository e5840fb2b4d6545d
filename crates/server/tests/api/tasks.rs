//! Tasks, rule by rule as the API contract states them.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, Resp, TestApp};

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

/// Dates relative to today in UTC (the organizations of these tests work in UTC).
fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

async fn post_task(t: &TestApp, who: &Account, body: Value) -> Resp {
    t.org_call(who, Method::POST, "/api/v1/tasks", Some(body))
        .await
}

#[tokio::test]
async fn tasks_have_the_contracts_fields_and_default_to_the_caller() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Send the berth contract", "due_date": day(0)}),
        )
        .await;
    for field in [
        "id",
        "organization_id",
        "deal_id",
        "assignee_id",
        "title",
        "description",
        "due_date",
        "is_done",
        "created_at",
        "updated_at",
    ] {
        assert!(task.get(field).is_some(), "{field} missing");
    }
    assert_eq!(task["assignee_id"], owner.user_id.as_str());
    assert_eq!(task["is_done"], false);
    assert_eq!(task["due_date"], day(0));
}

#[tokio::test]
async fn a_due_date_in_the_past_is_422_on_create_and_when_changed() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = post_task(&t, &owner, json!({"title": "Late", "due_date": day(-1)})).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "due_date");
    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Soon", "due_date": day(2)}),
        )
        .await;
    let path = format!("/api/v1/tasks/{}", id(&task));
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"due_date": day(-3)})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Other changes leave an unchanged date alone; clearing it is allowed.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"due_date": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["due_date"].is_null());
}

#[tokio::test]
async fn the_past_is_judged_in_the_organizations_time_zone() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    // Kiritimati is UTC+14: its today is UTC's tomorrow for most of the day, so UTC's today
    // may already be past there; Pago Pago (UTC-11) is the other way round.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/organizations/{}", owner.org()),
            Some(json!({"time_zone": "Pacific/Kiritimati"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let today_there = Utc::now()
        .with_timezone(&chrono_tz::Pacific::Kiritimati)
        .date_naive();
    let yesterday_there = (today_there - Duration::days(1)).to_string();
    post_task(
        &t,
        &owner,
        json!({"title": "x", "due_date": yesterday_there}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let ok = post_task(
        &t,
        &owner,
        json!({"title": "x", "due_date": today_there.to_string()}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

#[tokio::test]
async fn a_member_may_only_create_tasks_on_deals_they_own() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let owners_deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Owner's deal"}))
        .await;
    let members_deal = t
        .create(&member, "/api/v1/deals", json!({"title": "Member's deal"}))
        .await;
    post_task(
        &t,
        &member,
        json!({"title": "x", "deal_id": id(&owners_deal)}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let ok = post_task(
        &t,
        &member,
        json!({"title": "x", "deal_id": id(&members_deal)}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    // Moving a task onto someone else's deal is refused the same way.
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/tasks/{}", id(&ok.body)),
        Some(json!({"deal_id": id(&owners_deal)})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // The refusal is in the audit log.
    let audit = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/audit?action=permission.denied",
            None,
        )
        .await;
    assert_eq!(
        audit.body["items"][0]["target_type"], "task",
        "{}",
        audit.text
    );
    // Managers may put tasks on any deal.
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let r = post_task(
        &t,
        &manager,
        json!({"title": "x", "deal_id": id(&owners_deal)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_deal_of_another_organization_is_422_and_its_tasks_404() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("A")).await;
    let b = t.register("b@example.com", Some("B")).await;
    let their_deal = t.create(&b, "/api/v1/deals", json!({"title": "B's"})).await;
    let r = post_task(&t, &a, json!({"title": "x", "deal_id": id(&their_deal)})).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "deal_id");
    let r = post_task(&t, &a, json!({"title": "x", "assignee_id": b.user_id})).await;
    assert_eq!(r.body["errors"][0]["field"], "assignee_id");
    let their_task = t
        .create(&b, "/api/v1/tasks", json!({"title": "B's task"}))
        .await;
    let path = format!("/api/v1/tasks/{}", id(&their_task));
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"is_done": true}))),
        (Method::DELETE, None),
    ] {
        t.org_call(&a, method, &path, body)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    let list = t.org_call(&a, Method::GET, "/api/v1/tasks", None).await;
    assert_eq!(list.body["total"], 0);
    let list = t
        .org_call(
            &a,
            Method::GET,
            &format!("/api/v1/tasks?deal_id={}", id(&their_deal)),
            None,
        )
        .await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test]
async fn members_change_tasks_assigned_to_them_or_on_their_deals_only() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let other = t.member(&owner, "other@example.com", "member").await;
    let members_deal = t
        .create(&member, "/api/v1/deals", json!({"title": "Member's deal"}))
        .await;
    let assigned = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "For member", "assignee_id": member.user_id}),
        )
        .await;
    let on_deal = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "On member's deal", "assignee_id": other.user_id, "deal_id": id(&members_deal)}),
        )
        .await;
    let unrelated = t
        .create(&owner, "/api/v1/tasks", json!({"title": "Owner's own"}))
        .await;
    for task in [&assigned, &on_deal] {
        let r = t
            .org_call(
                &member,
                Method::PATCH,
                &format!("/api/v1/tasks/{}", id(task)),
                Some(json!({"is_done": true})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/tasks/{}", id(&unrelated)),
        Some(json!({"is_done": true})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(
        &member,
        Method::DELETE,
        &format!("/api/v1/tasks/{}", id(&unrelated)),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    post_task(&t, &viewer, json!({"title": "x"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn creating_and_completing_a_task_writes_the_deals_timeline() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Sale"}))
        .await;
    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Call back", "deal_id": id(&deal)}),
        )
        .await;
    let path = format!("/api/v1/tasks/{}", id(&task));
    let done = t
        .org_call(&owner, Method::PATCH, &path, Some(json!({"is_done": true})))
        .await;
    assert_eq!(done.body["is_done"], true);
    // Completing twice writes once.
    t.org_call(
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"is_done": true, "title": "Call back!"})),
    )
    .await;
    let timeline = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{}/activities", id(&deal)),
            None,
        )
        .await;
    let kinds: Vec<&str> = timeline.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(kinds, ["task_completed", "task_created"]);
    assert_eq!(timeline.body["items"][0]["payload"]["task_id"], task["id"]);
}

#[tokio::test]
async fn task_lists_filter_by_the_contracts_parameters() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Sale"}))
        .await;
    let mk = |title: &str, due: Option<i64>| {
        let mut b = json!({"title": title});
        if let Some(d) = due {
            b["due_date"] = json!(day(d));
        }
        b
    };
    t.create(&owner, "/api/v1/tasks", mk("today", Some(0)))
        .await;
    let mut on_deal = mk("in five days", Some(5));
    on_deal["deal_id"] = deal["id"].clone();
    t.create(&owner, "/api/v1/tasks", on_deal).await;
    let mut for_member = mk("in ten days", Some(10));
    for_member["assignee_id"] = json!(member.user_id);
    t.create(&owner, "/api/v1/tasks", for_member).await;
    let no_date = t.create(&owner, "/api/v1/tasks", mk("no date", None)).await;
    t.org_call(
        &owner,
        Method::PATCH,
        &format!("/api/v1/tasks/{}", id(&no_date)),
        Some(json!({"is_done": true})),
    )
    .await;
    let titles = |r: Resp| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|x| x["title"].as_str().expect("title").to_owned())
            .collect()
    };
    let get = |q: String| {
        let (t, owner) = (&t, &owner);
        async move {
            t.org_call(owner, Method::GET, &format!("/api/v1/tasks?{q}"), None)
                .await
        }
    };
    assert_eq!(
        titles(get(format!("deal_id={}", id(&deal))).await),
        ["in five days"]
    );
    assert_eq!(
        titles(get(format!("assignee_id={}", member.user_id)).await),
        ["in ten days"]
    );
    assert_eq!(titles(get("is_done=true".into()).await), ["no date"]);
    assert_eq!(
        titles(get("only_open=true&order_by=due_date".into()).await),
        ["today", "in five days", "in ten days"]
    );
    assert_eq!(
        titles(get(format!("due_before={}&order_by=due_date", day(6))).await),
        ["today", "in five days"]
    );
    assert_eq!(
        titles(get(format!("due_after={}", day(5))).await),
        ["in ten days"]
    );
    get("done=yes".into())
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    get("is_done=perhaps".into())
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}
