//! Deals, pipelines and deal timelines, rule by rule as the API contract states them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, TestApp};

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

async fn patch(t: &TestApp, who: &Account, deal: &Value, body: Value) -> crate::support::Resp {
    t.org_call(
        who,
        Method::PATCH,
        &format!("/api/v1/deals/{}", id(deal)),
        Some(body),
    )
    .await
}

async fn activities(t: &TestApp, who: &Account, deal: &Value) -> Vec<Value> {
    let r = t
        .org_call(
            who,
            Method::GET,
            &format!("/api/v1/deals/{}/activities", id(deal)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn a_new_deal_starts_in_the_default_pipelines_first_stage_with_status_new() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let d = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Berth 12 season", "amount": 1999.99}),
        )
        .await;
    for field in [
        "id",
        "organization_id",
        "contact_id",
        "company_id",
        "owner_id",
        "title",
        "amount",
        "currency",
        "status",
        "stage",
        "pipeline_id",
        "close_probability",
        "expected_close_date",
        "created_at",
        "updated_at",
    ] {
        assert!(d.get(field).is_some(), "{field} missing in {d}");
    }
    assert_eq!(d["status"], "new");
    assert_eq!(d["stage"], "qualification");
    assert_eq!(d["amount"], 1999.99);
    assert_eq!(d["currency"], "EUR");
    assert_eq!(d["owner_id"], owner.user_id.as_str());
    assert_eq!(d["organization_id"], owner.org());
    // The probability comes from the stage, the weighted amount from both.
    assert_eq!(d["close_probability"], 10);
    assert_eq!(d["weighted_amount"], 199.99);

    let pipelines = t
        .org_call(&owner, Method::GET, "/api/v1/pipelines", None)
        .await;
    assert_eq!(pipelines.status, StatusCode::OK);
    let default = &pipelines.body[0];
    assert_eq!(default["is_default"], true);
    assert_eq!(d["pipeline_id"], default["id"]);
    let keys: Vec<&str> = default["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|s| s["key"].as_str())
        .collect();
    assert_eq!(keys, ["qualification", "proposal", "negotiation", "closed"]);
}

#[tokio::test]
async fn an_unknown_stage_is_422() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "X", "stage": "signed"})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "stage");
    let d = t
        .create(&owner, "/api/v1/deals", json!({"title": "Y"}))
        .await;
    patch(&t, &owner, &d, json!({"stage": "nope"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn amounts_are_exact_with_at_most_two_decimals() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let d = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Y", "amount": 0.1, "currency": "usd"}),
        )
        .await;
    assert_eq!(d["amount"], 0.1);
    assert_eq!(d["currency"], "USD");
    let r = patch(&t, &owner, &d, json!({"amount": 10.005})).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "amount");
    let r = patch(&t, &owner, &d, json!({"currency": "ZZZ"})).await;
    assert_eq!(r.body["errors"][0]["field"], "currency");
}

#[tokio::test]
async fn won_with_an_amount_of_zero_or_less_is_409_deal_amount_required_for_won() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "Free", "status": "won"})),
        )
        .await;
    r.assert_problem(StatusCode::CONFLICT, "deal_amount_required_for_won");
    let d = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Zero", "amount": 0}),
        )
        .await;
    patch(&t, &owner, &d, json!({"status": "won"}))
        .await
        .assert_problem(StatusCode::CONFLICT, "deal_amount_required_for_won");
    // Refused: nothing changed, nothing written to the timeline.
    let again = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{}", id(&d)),
            None,
        )
        .await;
    assert_eq!(again.body["status"], "new");
    assert!(activities(&t, &owner, &d).await.is_empty());
    // With an amount in the same change it is won.
    let won = patch(&t, &owner, &d, json!({"status": "won", "amount": 500})).await;
    assert_eq!(won.status, StatusCode::OK, "{}", won.text);
    assert_eq!(won.body["status"], "won");
    assert_eq!(won.body["close_probability"], 100);
    // The status change reads newest; the amount that came with it is told beside it.
    let items = activities(&t, &owner, &d).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["type"], "status_changed");
    assert_eq!(items[1]["type"], "values_changed");
    let amount = &items[1]["payload"]["changes"][0];
    assert_eq!(amount["label"], "Amount", "{amount}");
    assert!(
        amount["to"].as_str().is_some_and(|s| s.contains("500")),
        "{amount}"
    );
}

#[tokio::test]
async fn moving_a_stage_backwards_is_409_stage_rollback_forbidden_except_for_owners_and_admins() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let member = t.member(&owner, "member@example.com", "member").await;

    let d = t
        .create(
            &member,
            "/api/v1/deals",
            json!({"title": "Hull repair", "amount": 100}),
        )
        .await;
    // Forwards is allowed to everyone who may edit the deal.
    let r = patch(&t, &member, &d, json!({"stage": "negotiation"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["close_probability"], 70);
    for who in [&member, &manager] {
        patch(&t, who, &d, json!({"stage": "proposal"}))
            .await
            .assert_problem(StatusCode::CONFLICT, "stage_rollback_forbidden");
    }
    let r = patch(&t, &admin, &d, json!({"stage": "proposal"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = patch(&t, &owner, &d, json!({"stage": "qualification"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stage"], "qualification");
}

#[tokio::test]
async fn every_stage_or_status_change_appends_an_activity_with_from_and_to() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let d = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Refit", "amount": 2500}),
        )
        .await;
    assert!(activities(&t, &owner, &d).await.is_empty());
    patch(&t, &owner, &d, json!({"stage": "proposal"})).await;
    patch(
        &t,
        &owner,
        &d,
        json!({"status": "in_progress", "stage": "negotiation"}),
    )
    .await;
    patch(&t, &owner, &d, json!({"title": "Refit 2027"})).await;
    let items = activities(&t, &owner, &d).await;
    // The title change is told as a change of values, newest.
    assert_eq!(items[0]["type"], "values_changed", "{items:?}");
    assert_eq!(
        items[0]["payload"]["changes"],
        json!([{"key": "title", "label": "Title", "from": "Refit", "to": "Refit 2027"}])
    );
    let seen: Vec<(String, Value, Value)> = items[1..]
        .iter()
        .map(|a| {
            assert_eq!(a["deal_id"], d["id"]);
            assert_eq!(a["author_id"], owner.user_id.as_str());
            (
                a["type"].as_str().expect("type").to_owned(),
                a["payload"]["from"].clone(),
                a["payload"]["to"].clone(),
            )
        })
        .collect();
    // Newest first; the probability that followed the stage is not told.
    assert_eq!(seen.len(), 3, "{items:?}");
    assert!(seen.contains(&(
        "stage_changed".into(),
        json!("proposal"),
        json!("negotiation")
    )));
    assert!(seen.contains(&("status_changed".into(), json!("new"), json!("in_progress"))));
    assert_eq!(
        seen[2],
        (
            "stage_changed".into(),
            json!("qualification"),
            json!("proposal")
        )
    );
}

#[tokio::test]
async fn links_to_records_of_another_organization_are_422_and_reveal_nothing() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("A")).await;
    let b = t.register("b@example.com", Some("B")).await;
    let their_contact = t
        .create(&b, "/api/v1/contacts", json!({"name": "Their Contact"}))
        .await;
    let their_company = t
        .create(&b, "/api/v1/companies", json!({"name": "Their Co"}))
        .await;
    let r = t
        .org_call(
            &a,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "X", "contact_id": id(&their_contact), "company_id": id(&their_company)})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["company_id", "contact_id"]);
    // Same answer as for an id that exists nowhere.
    let r2 = t
        .org_call(
            &a,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "X", "contact_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(r2.body["errors"][0], r.body["errors"][0]);

    let mine = t
        .create(&a, "/api/v1/contacts", json!({"name": "Mine"}))
        .await;
    let d = t
        .create(
            &a,
            "/api/v1/deals",
            json!({"title": "Ok", "contact_id": id(&mine)}),
        )
        .await;
    assert_eq!(d["contact_id"], mine["id"]);
    // A deal in another organization's pipeline is refused too.
    let their_pipeline = t.org_call(&b, Method::GET, "/api/v1/pipelines", None).await;
    patch(
        &t,
        &a,
        &d,
        json!({"pipeline_id": their_pipeline.body[0]["id"]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn deals_of_another_organization_are_404_everywhere() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("A")).await;
    let b = t.register("b@example.com", Some("B")).await;
    let theirs = t
        .create(&b, "/api/v1/deals", json!({"title": "Secret", "amount": 9}))
        .await;
    let path = format!("/api/v1/deals/{}", id(&theirs));
    for (method, p, body) in [
        (Method::GET, path.clone(), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"title": "Mine now"})),
        ),
        (Method::DELETE, path.clone(), None),
        (Method::GET, format!("{path}/activities"), None),
        (
            Method::POST,
            format!("{path}/activities"),
            Some(json!({"type": "comment", "payload": {"text": "hi"}})),
        ),
    ] {
        let r = t.org_call(&a, method.clone(), &p, body).await;
        r.assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    let list = t
        .org_call(&a, Method::GET, "/api/v1/deals?search=Secret", None)
        .await;
    assert_eq!(list.body["total"], 0);
    // Their pipelines are not ours either.
    let their_pipeline = t.org_call(&b, Method::GET, "/api/v1/pipelines", None).await;
    let pid = their_pipeline.body[0]["id"].as_str().expect("id");
    t.org_call(&a, Method::GET, &format!("/api/v1/pipelines/{pid}"), None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    t.org_call(
        &a,
        Method::GET,
        &format!("/api/v1/analytics/deals/funnel?pipeline_id={pid}"),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // And it is untouched.
    let still = t.org_call(&b, Method::GET, &path, None).await;
    assert_eq!(still.body["title"], "Secret");
}

#[tokio::test]
async fn members_change_only_their_own_deals_and_viewers_nothing() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let owners = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Owner's", "amount": 1}),
        )
        .await;
    patch(&t, &member, &owners, json!({"title": "Mine"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(
        &member,
        Method::DELETE,
        &format!("/api/v1/deals/{}", id(&owners)),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .org_call(
            &viewer,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "V"})),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Viewers read.
    let read = t
        .org_call(
            &viewer,
            Method::GET,
            &format!("/api/v1/deals/{}", id(&owners)),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    // A member cannot hand a deal to someone else.
    let own = t
        .create(&member, "/api/v1/deals", json!({"title": "Member's"}))
        .await;
    let r = patch(&t, &member, &own, json!({"owner_id": owner.user_id})).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Denials are in the audit log.
    let audit = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/audit?action=permission.denied",
            None,
        )
        .await;
    let objects: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["target_type"].as_str())
        .collect();
    assert_eq!(objects, ["deal", "deal", "deal"], "{}", audit.text);
}

#[tokio::test]
async fn deal_lists_filter_and_sort_as_the_contract_names_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let contact = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Lena"}))
        .await;
    let mk = |title: &'static str, amount: f64, status: &'static str, stage: &'static str| json!({"title": title, "amount": amount, "status": status, "stage": stage});
    t.create(
        &owner,
        "/api/v1/deals",
        mk("Alpha mooring", 100.0, "new", "qualification"),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/deals",
        mk("beta winter storage", 250.5, "in_progress", "proposal"),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/deals",
        mk("Gamma refit", 1000.0, "won", "closed"),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/deals",
        mk("Delta haul-out", 40.0, "lost", "negotiation"),
    )
    .await;
    let mut with_contact = mk("Epsilon berth", 75.0, "new", "qualification");
    with_contact["contact_id"] = contact["id"].clone();
    t.create(&member, "/api/v1/deals", with_contact).await;

    let titles = |r: &crate::support::Resp| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|d| d["title"].as_str().expect("title").to_owned())
            .collect()
    };
    let get = |q: &str| {
        let q = q.to_owned();
        let t = &t;
        let owner = &owner;
        async move {
            t.org_call(owner, Method::GET, &format!("/api/v1/deals?{q}"), None)
                .await
        }
    };
    assert_eq!(
        titles(&get("status=new&status=in_progress&order_by=title").await),
        ["Alpha mooring", "beta winter storage", "Epsilon berth"]
    );
    assert_eq!(titles(&get("stage=closed").await), ["Gamma refit"]);
    assert_eq!(
        titles(&get("min_amount=75&max_amount=250.5&order_by=amount&order=desc").await),
        ["beta winter storage", "Alpha mooring", "Epsilon berth"]
    );
    assert_eq!(titles(&get("search=REFIT").await), ["Gamma refit"]);
    assert_eq!(
        titles(&get(&format!("owner_id={}", member.user_id)).await),
        ["Epsilon berth"]
    );
    assert_eq!(
        titles(&get(&format!("contact_id={}", id(&contact))).await),
        ["Epsilon berth"]
    );
    let pid = get("").await.body["items"][0]["pipeline_id"].clone();
    assert_eq!(
        get(&format!("pipeline_id={}", pid.as_str().expect("pid")))
            .await
            .body["total"],
        5
    );
    // Keyset paging by amount visits every deal once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("order_by=amount&page_size=2&cursor={c}"),
            None => "order_by=amount&page_size=2".into(),
        };
        let r = get(&q).await;
        seen.extend(titles(&r));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Delta haul-out",
            "Epsilon berth",
            "Alpha mooring",
            "beta winter storage",
            "Gamma refit"
        ]
    );
    // Unknown filters, sorts and statuses are 400.
    get("colour=red")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    get("order_by=colour")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    get("status=maybe")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn expected_close_date_sorts_with_missing_dates_last() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.create(&owner, "/api/v1/deals", json!({"title": "None"}))
        .await;
    t.create(
        &owner,
        "/api/v1/deals",
        json!({"title": "Late", "expected_close_date": "2031-05-01"}),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/deals",
        json!({"title": "Soon", "expected_close_date": "2030-01-15"}),
    )
    .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("order_by=expected_close_date&page_size=1&cursor={c}"),
            None => "order_by=expected_close_date&page_size=1".into(),
        };
        let r = t
            .org_call(&owner, Method::GET, &format!("/api/v1/deals?{q}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        seen.push(
            r.body["items"][0]["title"]
                .as_str()
                .expect("title")
                .to_owned(),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["Soon", "Late", "None"]);
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "Bad", "expected_close_date": "next week"})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn deleting_a_contact_that_still_has_deals_is_409_contact_has_deals() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let c = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Ola"}))
        .await;
    let d = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Ola's boat", "contact_id": id(&c)}),
        )
        .await;
    let path = format!("/api/v1/contacts/{}", id(&c));
    t.org_call(&owner, Method::DELETE, &path, None)
        .await
        .assert_problem(StatusCode::CONFLICT, "contact_has_deals");
    let still = t.org_call(&owner, Method::GET, &path, None).await;
    assert_eq!(still.status, StatusCode::OK);
    t.org_call(
        &owner,
        Method::DELETE,
        &format!("/api/v1/deals/{}", id(&d)),
        None,
    )
    .await;
    let r = t.org_call(&owner, Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn comments_are_added_to_the_timeline_and_system_types_are_refused() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let d = t
        .create(&owner, "/api/v1/deals", json!({"title": "Charter"}))
        .await;
    let path = format!("/api/v1/deals/{}/activities", id(&d));
    let c = t
        .create(
            &member,
            &path,
            json!({"type": "comment", "payload": {"text": "Called them, keen.", "mentions": [owner.user_id]}}),
        )
        .await;
    assert_eq!(c["type"], "comment");
    assert_eq!(c["deal_id"], d["id"]);
    assert_eq!(c["author_id"], member.user_id.as_str());
    assert_eq!(c["payload"]["text"], "Called them, keen.");
    for field in [
        "id",
        "deal_id",
        "author_id",
        "type",
        "payload",
        "created_at",
    ] {
        assert!(c.get(field).is_some(), "{field} missing");
    }
    let call = t
        .create(
            &owner,
            &path,
            json!({"type": "call", "payload": {"duration_minutes": 15, "outcome": "Left a message"}}),
        )
        .await;
    assert_eq!(call["payload"]["duration_minutes"], 15);
    for (body, field) in [
        (
            json!({"type": "stage_changed", "payload": {"from": "a", "to": "b"}}),
            "type",
        ),
        (
            json!({"type": "comment", "payload": {"text": "  "}}),
            "payload.text",
        ),
        (json!({"type": "comment", "payload": {}}), "payload.text"),
        (
            json!({"type": "call", "payload": {"duration_minutes": -3}}),
            "payload.duration_minutes",
        ),
        (
            json!({"type": "comment", "payload": {"text": "x", "mentions": [uuid::Uuid::now_v7()]}}),
            "payload.mentions",
        ),
    ] {
        let r = t.org_call(&owner, Method::POST, &path, Some(body)).await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    t.org_call(
        &viewer,
        Method::POST,
        &path,
        Some(json!({"type": "comment", "payload": {"text": "hi"}})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let items = activities(&t, &viewer, &d).await;
    let kinds: Vec<&str> = items.iter().filter_map(|a| a["type"].as_str()).collect();
    assert_eq!(kinds, ["call", "comment"]);
}

/// The fields a problem names, in order.
fn fields_named(r: &crate::support::Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_stage_requires_fields_before_a_deal_enters_it_and_boards_choose_their_card_fields() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.create(
        &owner,
        "/api/v1/objects/deal/fields",
        json!({"key": "berth", "label": "Berth", "type": "text"}),
    )
    .await;
    let all = t
        .org_call(&owner, Method::GET, "/api/v1/pipelines", None)
        .await;
    let pipeline = &all.body[0];
    assert_eq!(pipeline["card_fields"], json!([]));
    assert_eq!(pipeline["stages"][1]["required_fields"], json!([]));
    let path = format!("/api/v1/pipelines/{}", id(pipeline));
    let stages = json!([
        {"key": "qualification", "name": "Qualification"},
        {"key": "proposal", "name": "Proposal", "required_fields": ["expected_close_date", "berth"]},
        {"key": "negotiation", "name": "Negotiation", "required_fields": ["amount"]},
        {"key": "closed", "name": "Closed"}
    ]);
    // Only deal fields that can be missing are requirements; only deal fields go on cards.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"stages": [{"key": "qualification", "name": "Qualification", "required_fields": ["title"]},
                                   {"key": "proposal", "name": "Proposal"}, {"key": "negotiation", "name": "Negotiation"},
                                   {"key": "closed", "name": "Closed"}]})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(fields_named(&r), ["stages[0].required_fields"]);
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"card_fields": ["amount", "hull_colour"]})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(fields_named(&r), ["card_fields"]);
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"stages": stages, "card_fields": ["berth", "amount", "contact_id"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["card_fields"],
        json!(["berth", "amount", "contact_id"])
    );
    assert_eq!(
        r.body["stages"][1]["required_fields"],
        json!(["expected_close_date", "berth"])
    );
    // A change of name alone keeps both.
    let r = t
        .org_call(&owner, Method::PATCH, &path, Some(json!({"name": "Sales"})))
        .await;
    assert_eq!(
        r.body["card_fields"],
        json!(["berth", "amount", "contact_id"])
    );
    assert_eq!(r.body["stages"][2]["required_fields"], json!(["amount"]));

    // A deal without them is refused at the stage's door, each missing field named; nothing
    // about it changes.
    let d = t
        .create(&owner, "/api/v1/deals", json!({"title": "Winter storage"}))
        .await;
    let r = patch(&t, &owner, &d, json!({"stage": "proposal"})).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        fields_named(&r),
        ["expected_close_date", "custom.berth"],
        "{}",
        r.text
    );
    assert!(r.text.contains("is needed to enter Proposal"), "{}", r.text);
    let r = patch(
        &t,
        &owner,
        &d,
        json!({"stage": "proposal", "expected_close_date": "2027-03-01"}),
    )
    .await;
    assert_eq!(fields_named(&r), ["custom.berth"]);
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{}", id(&d)),
            None,
        )
        .await;
    assert_eq!(stored.body["stage"], "qualification");
    assert_eq!(stored.body["expected_close_date"], Value::Null);
    // Given with the move, they let it in.
    let r = patch(
        &t,
        &owner,
        &d,
        json!({"stage": "proposal", "expected_close_date": "2027-03-01", "custom": {"berth": "B-12"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stage"], "proposal");
    // Moving on needs an amount; a deal created straight into a stage needs its fields too.
    let r = patch(&t, &owner, &d, json!({"stage": "negotiation"})).await;
    assert_eq!(fields_named(&r), ["amount"]);
    let r = patch(
        &t,
        &owner,
        &d,
        json!({"stage": "negotiation", "amount": 900}),
    )
    .await;
    assert_eq!(r.body["stage"], "negotiation", "{}", r.text);
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "Quick sale", "stage": "negotiation"})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(fields_named(&r), ["amount"]);
    // Other changes to a deal already in the stage are not held to it.
    let r = patch(&t, &owner, &d, json!({"title": "Winter storage 2027"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // An archived field asks nothing any more, and leaves the pipeline's lists when they are
    // kept.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            "/api/v1/objects/deal/fields/berth",
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let other = t
        .create(&owner, "/api/v1/deals", json!({"title": "Spring launch"}))
        .await;
    let r = patch(&t, &owner, &other, json!({"stage": "proposal"})).await;
    assert_eq!(fields_named(&r), ["expected_close_date"]);
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"name": "Sales 2027"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["card_fields"], json!(["amount", "contact_id"]));
    assert_eq!(
        r.body["stages"][1]["required_fields"],
        json!(["expected_close_date"])
    );
}

#[tokio::test]
async fn pipelines_are_managed_by_owners_and_admins_and_keep_stages_holding_deals() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let body = json!({"name": "Charters", "stages": [
        {"name": "Enquiry", "probability": 20, "rotting_days": 7},
        {"key": "quoted", "name": "Quoted", "probability": 60},
        {"name": "Booked", "probability": 100}
    ]});
    t.org_call(
        &manager,
        Method::POST,
        "/api/v1/pipelines",
        Some(body.clone()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let p = t.create(&owner, "/api/v1/pipelines", body).await;
    assert_eq!(p["is_default"], false);
    assert_eq!(p["stages"][0]["key"], "enquiry");
    assert_eq!(p["stages"][0]["rotting_days"], 7);
    let d = t
        .create(
            &manager,
            "/api/v1/deals",
            json!({"title": "July week", "pipeline_id": p["id"]}),
        )
        .await;
    assert_eq!(d["stage"], "enquiry");
    assert_eq!(d["close_probability"], 20);
    let path = format!("/api/v1/pipelines/{}", id(&p));
    // Removing the stage that holds the deal is refused; removing another is fine.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"stages": [{"key": "quoted", "name": "Quoted"}]})),
        )
        .await;
    r.assert_problem(StatusCode::CONFLICT, "stage_in_use");
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"stages": [{"key": "enquiry", "name": "Enquiry", "probability": 25}, {"key": "booked", "name": "Booked", "probability": 100}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stages"].as_array().map(Vec::len), Some(2));
    // Duplicate keys and bad probabilities are field errors.
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/pipelines",
            Some(json!({"name": "Bad", "stages": [{"key": "a", "name": "A", "probability": 120}, {"key": "a", "name": "A2"}]})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // A pipeline holding deals cannot be deleted; the default cannot be deleted.
    t.org_call(&owner, Method::DELETE, &path, None)
        .await
        .assert_problem(StatusCode::CONFLICT, "pipeline_in_use");
    let all = t
        .org_call(&owner, Method::GET, "/api/v1/pipelines", None)
        .await;
    let default_id = all.body[0]["id"].as_str().expect("id").to_owned();
    t.org_call(
        &owner,
        Method::DELETE,
        &format!("/api/v1/pipelines/{default_id}"),
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "default_pipeline");
    // Make the new one the default: deals without a pipeline now go there.
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"is_default": true})),
        )
        .await;
    assert_eq!(r.body["is_default"], true);
    let d2 = t
        .create(&owner, "/api/v1/deals", json!({"title": "Next"}))
        .await;
    assert_eq!(d2["pipeline_id"], p["id"]);
}

#[tokio::test]
async fn analytics_summary_counts_amounts_and_win_rate_by_status() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let empty = t
        .org_call(&owner, Method::GET, "/api/v1/analytics/deals/summary", None)
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    assert_eq!(empty.body["win_rate"], 0.0);
    assert_eq!(empty.body["total_count"], 0);
    for (amount, status) in [
        (100.0, "new"),
        (200.5, "in_progress"),
        (300.0, "won"),
        (500.0, "won"),
        (50.0, "lost"),
    ] {
        t.create(
            &owner,
            "/api/v1/deals",
            json!({"title": format!("{status} {amount}"), "amount": amount, "status": status}),
        )
        .await;
    }
    let s = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/analytics/deals/summary?days=7",
            None,
        )
        .await
        .body;
    assert_eq!(s["total_count"], 5);
    assert_eq!(s["by_status"]["new"], json!({"count": 1, "amount": 100.0}));
    assert_eq!(
        s["by_status"]["in_progress"],
        json!({"count": 1, "amount": 200.5})
    );
    assert_eq!(s["by_status"]["won"], json!({"count": 2, "amount": 800.0}));
    assert_eq!(s["by_status"]["lost"], json!({"count": 1, "amount": 50.0}));
    assert_eq!(s["average_won_amount"], 400.0);
    let rate = s["win_rate"].as_f64().expect("win rate");
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");
    assert_eq!(s["days"], 7);
    assert_eq!(s["new_in_last_days"], 5);
    assert_eq!(s["currency"], "EUR");
    t.org_call(
        &owner,
        Method::GET,
        "/api/v1/analytics/deals/summary?days=0",
        None,
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn analytics_funnel_counts_deals_per_stage_and_how_many_got_that_far() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    // qualification: 2 (one lost), proposal: 1, negotiation: 1 won + 1 open, closed: 1 won.
    for (stage, status, amount) in [
        ("qualification", "new", 10.0),
        ("qualification", "lost", 20.0),
        ("proposal", "in_progress", 30.0),
        ("negotiation", "won", 40.0),
        ("negotiation", "in_progress", 50.0),
        ("closed", "won", 60.0),
    ] {
        t.create(
            &owner,
            "/api/v1/deals",
            json!({"title": stage, "stage": stage, "status": status, "amount": amount}),
        )
        .await;
    }
    let f = t
        .org_call(&owner, Method::GET, "/api/v1/analytics/deals/funnel", None)
        .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let stages = f.body["stages"].as_array().expect("stages");
    let row = |i: usize| &stages[i];
    let keys: Vec<&str> = stages.iter().filter_map(|s| s["stage"].as_str()).collect();
    assert_eq!(keys, ["qualification", "proposal", "negotiation", "closed"]);
    assert_eq!(row(0)["count"], 2);
    assert_eq!(
        row(0)["by_status"],
        json!({"new": 1, "in_progress": 0, "won": 0, "lost": 1})
    );
    assert_eq!(row(0)["amount"], 30.0);
    assert_eq!(row(2)["by_status"]["won"], 1);
    // reached = not-won deals at this stage or later + every won deal (2).
    let reached: Vec<i64> = stages
        .iter()
        .filter_map(|s| s["reached"].as_i64())
        .collect();
    assert_eq!(reached, [6, 4, 3, 2]);
    let pct: Vec<f64> = stages
        .iter()
        .filter_map(|s| s["conversion_pct"].as_f64())
        .collect();
    assert_eq!(pct[0], 100.0);
    assert!((pct[1] - 100.0 * 4.0 / 6.0).abs() < 0.01, "{pct:?}");
    assert!((pct[2] - 75.0).abs() < 0.01);
    assert!((pct[3] - 100.0 * 2.0 / 3.0).abs() < 0.01);
    let pipelines = t
        .org_call(&owner, Method::GET, "/api/v1/pipelines", None)
        .await;
    assert_eq!(f.body["pipeline_id"], pipelines.body[0]["id"]);
}

/// The cards of one column of a board page (or of a "more" fragment, `stage` = `None`): the record
/// ids in order, the column's count, and the address of its next cards.
pub(crate) fn board_column(
    html: &str,
    stage: Option<&str>,
) -> (Vec<String>, Option<i64>, Option<String>) {
    let part = match stage {
        Some(stage) => {
            let start = html
                .find(&format!("<section class=\"column\" data-stage=\"{stage}\""))
                .expect("the column");
            let rest = &html[start..];
            &rest[..rest.find("</section>").expect("the column's end")]
        }
        None => html,
    };
    let ids = part
        .split("<li class=\"deal-card")
        .skip(1)
        .map(|card| {
            let at = card.find("data-deal=\"").expect("a card's deal") + "data-deal=\"".len();
            card[at..at + 36].to_owned()
        })
        .collect();
    // An exact count; one said as "at least" ("25+") is none.
    let count = part.find("class=\"column-count\">").and_then(|at| {
        let rest = &part[at + "class=\"column-count\">".len()..];
        rest[..rest.find('<').expect("count end")]
            .trim()
            .parse()
            .ok()
    });
    let more = part.find("data-more=\"").map(|at| {
        let rest = &part[at + "data-more=\"".len()..];
        rest[..rest.find('"').expect("link end")]
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    });
    (ids, count, more)
}

#[tokio::test]
async fn a_board_column_counts_every_deal_and_loads_its_cards_page_by_page() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let other = t.register("other@example.com", Some("Other")).await;
    let mut created = Vec::new();
    for i in 0..123 {
        let d = t
            .create(
                &owner,
                "/api/v1/deals",
                json!({"title": format!("Berth {i:03}"), "amount": 100}),
            )
            .await;
        created.push(id(&d).to_owned());
    }
    t.create(
        &owner,
        "/api/v1/deals",
        json!({"title": "Mooring", "amount": 50, "stage": "proposal"}),
    )
    .await;
    let lost = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Gone", "amount": 7}),
        )
        .await;
    assert_eq!(
        patch(&t, &owner, &lost, json!({"status": "lost"}))
            .await
            .status,
        StatusCode::OK
    );
    t.create(&other, "/api/v1/deals", json!({"title": "Elsewhere"}))
        .await;
    let cookie = t.session_cookie("owner@example.com").await;
    let get = async |path: &str| {
        t.call_with(Method::GET, path, None, None, &[("cookie", &cookie)])
            .await
    };

    // The board opens with the first 50 cards of a column but counts all of them (the lost deal
    // stays off a board of work in progress).
    let board = get("/o/acme/deals").await;
    assert_eq!(board.status, StatusCode::OK);
    let (first, count, more) = board_column(&board.text, Some("qualification"));
    assert_eq!(count, Some(123));
    assert_eq!(first.len(), 50);
    assert!(
        board.text.contains("124 open"),
        "the summary counts every open deal"
    );
    let (proposal, count, none) = board_column(&board.text, Some("proposal"));
    assert_eq!((proposal.len(), count, none), (1, Some(1), None));
    // Most recently moved first: the last deal created leads.
    assert_eq!(first[0], created[122]);

    // The column's next cards, page by page, to the last; nothing twice, nothing missed.
    let mut seen = first.clone();
    let mut next = more;
    let mut pages = 0;
    while let Some(url) = next {
        let fragment = get(&url).await;
        assert_eq!(fragment.status, StatusCode::OK, "{url}");
        let (cards, _, more) = board_column(&fragment.text, None);
        assert!(!cards.is_empty());
        seen.extend(cards);
        next = more;
        pages += 1;
    }
    assert_eq!(pages, 2);
    let expected: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "in order, each card once");

    // Closed deals too, when asked for.
    let all = get("/o/acme/deals?closed=all").await;
    assert_eq!(board_column(&all.text, Some("qualification")).1, Some(124));

    // A broken cursor, a stage the pipeline lacks, another organization: refused.
    let (_, _, more) = board_column(&board.text, Some("qualification"));
    let more = more.expect("a next page");
    let broken = get(&format!(
        "{}not-a-cursor",
        &more[..more.find("after=").expect("cursor") + 6]
    ))
    .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    let unknown = get(&more.replace("stage=qualification", "stage=nowhere")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let other_cookie = t.session_cookie("other@example.com").await;
    let foreign = t
        .call_with(Method::GET, &more, None, None, &[("cookie", &other_cookie)])
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let theirs = more.replace("/o/acme/", "/o/other/");
    let foreign = t
        .call_with(
            Method::GET,
            &theirs,
            None,
            None,
            &[("cookie", &other_cookie)],
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "another organization's pipeline is not found"
    );
}
