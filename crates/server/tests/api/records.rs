//! Companies, leads and their conversion, tags, global search and recently deleted records.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, Resp, TestApp};

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

async fn get(t: &TestApp, who: &Account, path: &str) -> Resp {
    t.org_call(who, Method::GET, path, None).await
}

#[tokio::test]
async fn companies_are_listed_searched_changed_and_deleted() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let c = t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Port Vell Marina", "domain": "https://www.portvell.example/about", "industry": "Marinas", "size": "51-200", "address": "Moll d'Espanya, Barcelona"}),
        )
        .await;
    assert_eq!(c["domain"], "portvell.example");
    assert_eq!(c["size"], "51-200");
    t.create(&owner, "/api/v1/companies", json!({"name": "Blue Sails"}))
        .await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/companies",
            Some(json!({"name": "X", "size": "huge"})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let found = get(&t, &owner, "/api/v1/companies?search=PORTVELL").await;
    assert_eq!(found.body["total"], 1);
    let sorted = get(&t, &owner, "/api/v1/companies?order_by=name").await;
    let names: Vec<&str> = sorted.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Blue Sails", "Port Vell Marina"]);
    let path = format!("/api/v1/companies/{}", id(&c));
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"industry": null, "name": "Port Vell"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["industry"].is_null());
    assert_eq!(r.body["name"], "Port Vell");
    let r = t.org_call(&owner, Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    get(&t, &owner, &path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

/// The `values_changed` entries of a record's timeline, newest first: each as its lines
/// (label, from, to).
async fn told_changes(t: &TestApp, who: &Account, path: &str) -> Vec<Vec<(String, Value, Value)>> {
    let timeline = get(t, who, &format!("{path}/activities")).await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.text);
    timeline.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["type"] == "values_changed")
        .map(|a| {
            a["payload"]["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .map(|c| {
                    let label = c["label"].as_str().expect("label").to_owned();
                    (label, c["from"].clone(), c["to"].clone())
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn changing_a_records_fields_tells_its_timeline_in_their_labels_and_shown_values() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let field = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/contact/fields",
            Some(json!({"key": "boat", "label": "Boat name", "type": "text"})),
        )
        .await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.text);
    let contact = t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Ann Berg", "email": "ann@old.example"}),
        )
        .await;
    let path = format!("/api/v1/contacts/{}", id(&contact));
    assert!(told_changes(&t, &owner, &path).await.is_empty());
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"email": "ann@new.example", "title": "Skipper", "custom": {"boat": "Aurora"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A change that changes nothing tells nothing.
    let same = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"email": "ann@new.example"})),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    let told = told_changes(&t, &owner, &path).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let lines = &told[0];
    assert!(
        lines.contains(&(
            "Email".into(),
            json!("ann@old.example"),
            json!("ann@new.example")
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("Job title".into(), Value::Null, json!("Skipper"))),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("Boat name".into(), Value::Null, json!("Aurora"))),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3, "{lines:?}");

    // A lead's status reads by its label; a company's size too.
    let lead = t
        .create(&owner, "/api/v1/leads", json!({"name": "Jon Ferrer"}))
        .await;
    let lead_path = format!("/api/v1/leads/{}", id(&lead));
    t.org_call(
        &owner,
        Method::PATCH,
        &lead_path,
        Some(json!({"status": "qualified"})),
    )
    .await;
    assert_eq!(
        told_changes(&t, &owner, &lead_path).await,
        vec![vec![("Status".into(), json!("New"), json!("Qualified"))]]
    );
    let company = t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Blue Sails", "size": "1-10"}),
        )
        .await;
    let company_path = format!("/api/v1/companies/{}", id(&company));
    t.org_call(
        &owner,
        Method::PATCH,
        &company_path,
        Some(json!({"size": "11-50"})),
    )
    .await;
    let told = told_changes(&t, &owner, &company_path).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0],
        vec![(
            "Size".into(),
            json!("1-10 employees"),
            json!("11-50 employees")
        )]
    );
}

#[tokio::test]
async fn a_qualified_lead_converts_into_a_contact_company_and_deal_keeping_its_timeline() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let existing = t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Blue Sails", "domain": "bluesails.example"}),
        )
        .await;
    let lead = t
        .create(
            &owner,
            "/api/v1/leads",
            json!({"name": "Jon Ferrer", "email": "jon@bluesails.example", "company_name": "Blue Sails SL", "source": "website", "score": 40}),
        )
        .await;
    assert_eq!(lead["status"], "new");
    let path = format!("/api/v1/leads/{}", id(&lead));
    t.create(
        &owner,
        &format!("{path}/activities"),
        json!({"type": "call", "payload": {"notes": "Wants a berth for a 12 m boat", "duration_minutes": 10}}),
    )
    .await;
    // Only qualified leads convert.
    t.org_call(
        &owner,
        Method::POST,
        &format!("{path}/convert"),
        Some(json!({})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "lead_not_qualified");
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"status": "qualified"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let done = t
        .org_call(
            &owner,
            Method::POST,
            &format!("{path}/convert"),
            Some(json!({"create_company": true, "create_deal": true, "deal_amount": 3200})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    // The company was matched by the email's domain, not created again.
    assert_eq!(done.body["company_id"], existing["id"]);
    assert_eq!(done.body["company_created"], false);
    let contact_id = done.body["contact_id"]
        .as_str()
        .expect("contact")
        .to_owned();
    let contact = get(&t, &owner, &format!("/api/v1/contacts/{contact_id}")).await;
    assert_eq!(contact.body["name"], "Jon Ferrer");
    assert_eq!(contact.body["email"], "jon@bluesails.example");
    assert_eq!(contact.body["company_id"], existing["id"]);
    let deal_id = done.body["deal_id"].as_str().expect("deal");
    let deal = get(&t, &owner, &format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(deal.body["contact_id"], contact_id.as_str());
    assert_eq!(deal.body["amount"], 3200.0);
    // The lead's call is on the contact's timeline now, with the conversion.
    let timeline = get(
        &t,
        &owner,
        &format!("/api/v1/contacts/{contact_id}/activities"),
    )
    .await;
    let kinds: Vec<&str> = timeline.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"call") && kinds.contains(&"converted"),
        "{kinds:?}"
    );
    // The lead links to what it became and is read-only.
    let after = get(&t, &owner, &path).await;
    assert_eq!(after.body["converted_contact_id"], contact_id.as_str());
    assert_eq!(after.body["converted_deal_id"], deal_id);
    assert!(after.body["converted_at"].is_string());
    t.org_call(
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"name": "Someone"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "lead_converted");
    t.org_call(
        &owner,
        Method::POST,
        &format!("{path}/convert"),
        Some(json!({})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "lead_already_converted");
    t.org_call(
        &owner,
        Method::POST,
        &format!("{path}/activities"),
        Some(json!({"type": "comment", "payload": {"text": "late note"}})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "lead_converted");
}

#[tokio::test]
async fn converting_without_a_matching_company_creates_one_named_after_the_lead() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let lead = t
        .create(
            &owner,
            "/api/v1/leads",
            json!({"name": "Ana Puig", "email": "ana@gmail.example", "company_name": "Puig Charters", "status": "qualified"}),
        )
        .await;
    let done = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/leads/{}/convert", id(&lead)),
            Some(json!({"create_company": true})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["company_created"], true);
    assert!(done.body["deal_id"].is_null());
    let company = get(
        &t,
        &owner,
        &format!(
            "/api/v1/companies/{}",
            done.body["company_id"].as_str().expect("company")
        ),
    )
    .await;
    assert_eq!(company.body["name"], "Puig Charters");
}

#[tokio::test]
async fn leads_filter_by_status_and_members_convert_only_their_own() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    for (name, status) in [
        ("A", "new"),
        ("B", "working"),
        ("C", "qualified"),
        ("D", "disqualified"),
    ] {
        t.create(
            &owner,
            "/api/v1/leads",
            json!({"name": name, "status": status}),
        )
        .await;
    }
    let r = get(
        &t,
        &owner,
        "/api/v1/leads?status=new&status=qualified&order_by=name",
    )
    .await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["A", "C"]);
    get(&t, &owner, "/api/v1/leads?status=hot")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    let c = &r.body["items"][1];
    t.org_call(
        &member,
        Method::POST,
        &format!("/api/v1/leads/{}/convert", id(c)),
        Some(json!({})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn tags_are_put_on_records_and_filter_lists() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let vip = t
        .create(
            &owner,
            "/api/v1/tags",
            json!({"name": "VIP", "color": "amber"}),
        )
        .await;
    t.org_call(
        &owner,
        Method::POST,
        "/api/v1/tags",
        Some(json!({"name": "vip", "color": "red"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "tag_exists");
    t.org_call(
        &owner,
        Method::POST,
        "/api/v1/tags",
        Some(json!({"name": "Odd", "color": "#123456"})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let a = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Tagged"}))
        .await;
    t.create(&owner, "/api/v1/contacts", json!({"name": "Plain"}))
        .await;
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            &format!("/api/v1/contacts/{}/tags", id(&a)),
            Some(json!({"tag_ids": [vip["id"]]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = get(&t, &owner, &format!("/api/v1/contacts?tag_id={}", id(&vip))).await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["items"][0]["tags"][0]["name"], "VIP");
    // Every tagged kind answers a change with the record's tags.
    for (kind, body, change) in [
        ("contacts", json!({"name": "Kept"}), json!({"title": "CEO"})),
        (
            "companies",
            json!({"name": "Kept Ltd"}),
            json!({"industry": "Ships"}),
        ),
        ("leads", json!({"name": "Kept Lead"}), json!({"score": 40})),
        (
            "deals",
            json!({"title": "Kept deal"}),
            json!({"close_probability": 30}),
        ),
    ] {
        let record = t.create(&owner, &format!("/api/v1/{kind}"), body).await;
        let path = format!("/api/v1/{kind}/{}", id(&record));
        let r = t
            .org_call(
                &owner,
                Method::PUT,
                &format!("{path}/tags"),
                Some(json!({"tag_ids": [vip["id"]]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text);
        let changed = t.org_call(&owner, Method::PATCH, &path, Some(change)).await;
        assert_eq!(changed.status, StatusCode::OK, "{kind}: {}", changed.text);
        assert_eq!(
            changed.body["tags"][0]["name"], "VIP",
            "{kind}: {}",
            changed.text
        );
    }
    // Members can't retag what they don't own, nor rename tags.
    t.org_call(
        &member,
        Method::PUT,
        &format!("/api/v1/contacts/{}/tags", id(&a)),
        Some(json!({"tag_ids": []})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(
        &member,
        Method::PATCH,
        &format!("/api/v1/tags/{}", id(&vip)),
        Some(json!({"name": "V"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Another organization's tag is unknown here.
    let other = t.register("b@example.com", Some("B")).await;
    let theirs = t
        .create(
            &other,
            "/api/v1/tags",
            json!({"name": "Theirs", "color": "blue"}),
        )
        .await;
    t.org_call(
        &owner,
        Method::PUT,
        &format!("/api/v1/contacts/{}/tags", id(&a)),
        Some(json!({"tag_ids": [theirs["id"]]})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    t.org_call(
        &other,
        Method::PUT,
        &format!("/api/v1/contacts/{}/tags", id(&a)),
        Some(json!({"tag_ids": []})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // Deleting the tag takes it off the record.
    t.org_call(
        &owner,
        Method::DELETE,
        &format!("/api/v1/tags/{}", id(&vip)),
        None,
    )
    .await;
    let after = get(&t, &owner, &format!("/api/v1/contacts/{}", id(&a))).await;
    assert_eq!(after.body["tags"], json!([]));
}

#[tokio::test]
async fn global_search_finds_every_kind_within_the_organization_only() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("A")).await;
    let b = t.register("b@example.com", Some("B")).await;
    t.create(
        &a,
        "/api/v1/companies",
        json!({"name": "Harbour Lights", "domain": "harbour.example"}),
    )
    .await;
    t.create(
        &a,
        "/api/v1/contacts",
        json!({"name": "Ines Vidal", "email": "ines@harbour.example"}),
    )
    .await;
    t.create(&a, "/api/v1/leads", json!({"name": "Pere Harbour"}))
        .await;
    t.create(
        &a,
        "/api/v1/deals",
        json!({"title": "Harbour crane rental"}),
    )
    .await;
    t.create(&b, "/api/v1/contacts", json!({"name": "Harbour Spy"}))
        .await;
    let r = get(&t, &a, "/api/v1/search?q=HARBOUR").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut kinds: Vec<&str> = r
        .body
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["kind"].as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["company", "contact", "deal", "lead"]);
    assert!(!r.text.contains("Spy"));
    let one = get(&t, &b, "/api/v1/search?q=harbour").await;
    assert_eq!(one.body.as_array().map(Vec::len), Some(1));
    get(&t, &a, "/api/v1/search?q=harbour&limit=500")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn deleted_records_are_listed_and_restored_by_whoever_may_delete_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let c = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Gone Soon"}))
        .await;
    let d = t
        .create(&owner, "/api/v1/deals", json!({"title": "Lost cause"}))
        .await;
    t.org_call(
        &owner,
        Method::DELETE,
        &format!("/api/v1/contacts/{}", id(&c)),
        None,
    )
    .await;
    t.org_call(
        &owner,
        Method::DELETE,
        &format!("/api/v1/deals/{}", id(&d)),
        None,
    )
    .await;
    let trash = get(&t, &owner, "/api/v1/trash").await;
    let names: Vec<&str> = trash
        .body
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|x| x["name"].as_str())
        .collect();
    assert_eq!(names, ["Lost cause", "Gone Soon"]);
    t.org_call(
        &member,
        Method::POST,
        &format!("/api/v1/trash/contact/{}/restore", id(&c)),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let other = t.register("b@example.com", Some("B")).await;
    t.org_call(
        &other,
        Method::POST,
        &format!("/api/v1/trash/contact/{}/restore", id(&c)),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/trash/contact/{}/restore", id(&c)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        get(&t, &owner, &format!("/api/v1/contacts/{}", id(&c)))
            .await
            .body["name"],
        "Gone Soon"
    );
    assert_eq!(
        get(&t, &owner, "/api/v1/trash")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn companies_and_leads_of_another_organization_are_404() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("A")).await;
    let b = t.register("b@example.com", Some("B")).await;
    let company = t
        .create(&b, "/api/v1/companies", json!({"name": "Theirs"}))
        .await;
    let lead = t
        .create(
            &b,
            "/api/v1/leads",
            json!({"name": "Their lead", "status": "qualified"}),
        )
        .await;
    for path in [
        format!("/api/v1/companies/{}", id(&company)),
        format!("/api/v1/leads/{}", id(&lead)),
    ] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"name": "Mine"}))),
            (Method::DELETE, None),
        ] {
            t.org_call(&a, method, &path, body)
                .await
                .assert_problem(StatusCode::NOT_FOUND, "not_found");
        }
        get(&t, &a, &format!("{path}/activities"))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    t.org_call(
        &a,
        Method::POST,
        &format!("/api/v1/leads/{}/convert", id(&lead)),
        Some(json!({})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(get(&t, &a, "/api/v1/companies").await.body["total"], 0);
    assert_eq!(get(&t, &a, "/api/v1/leads").await.body["total"], 0);
    get(
        &t,
        &a,
        "/api/v1/widgets/00000000-0000-0000-0000-000000000000/activities",
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn search_follows_changes_and_takes_short_and_wildcard_text_literally() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let c = t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Oskar Lind", "email": "oskar@lind.example"}),
        )
        .await;
    t.create(&owner, "/api/v1/contacts", json!({"name": "Olga Stern"}))
        .await;
    let names = |r: Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|x| x["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(
        names(get(&t, &owner, "/api/v1/contacts?search=OSKAR").await),
        ["Oskar Lind"]
    );
    // Two letters, and a % that is a character, not a wildcard.
    assert_eq!(
        names(get(&t, &owner, "/api/v1/contacts?search=ga").await),
        ["Olga Stern"]
    );
    t.create(&owner, "/api/v1/companies", json!({"name": "100% Sails"}))
        .await;
    t.create(&owner, "/api/v1/companies", json!({"name": "10x Sails"}))
        .await;
    assert_eq!(
        names(get(&t, &owner, "/api/v1/companies?search=100%25").await),
        ["100% Sails"]
    );
    assert!(names(get(&t, &owner, "/api/v1/companies?search=10_%25").await).is_empty());
    // A renamed contact is found by its new name only; a deleted one not at all.
    t.org_call(
        &owner,
        Method::PATCH,
        &format!("/api/v1/contacts/{}", id(&c)),
        Some(json!({"name": "Per Holm"})),
    )
    .await;
    assert!(names(get(&t, &owner, "/api/v1/contacts?search=oskar%20lind").await).is_empty());
    assert_eq!(
        names(get(&t, &owner, "/api/v1/contacts?search=holm").await),
        ["Per Holm"]
    );
    let hits = get(&t, &owner, "/api/v1/search?q=holm").await;
    assert_eq!(hits.body.as_array().map(Vec::len), Some(1));
    t.org_call(
        &owner,
        Method::DELETE,
        &format!("/api/v1/contacts/{}", id(&c)),
        None,
    )
    .await;
    assert!(names(get(&t, &owner, "/api/v1/contacts?search=holm").await).is_empty());
    assert_eq!(
        get(&t, &owner, "/api/v1/search?q=holm").await.body,
        json!([])
    );
}

async fn page(t: &TestApp, cookie: &str, path: &str) -> Resp {
    t.call_with(Method::GET, path, None, None, &[("cookie", cookie)])
        .await
}

#[tokio::test]
async fn csv_exports_stream_the_filtered_list_of_the_organization_only() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "viewer@example.com", "viewer").await;
    let other = t.register("other@example.com", Some("Other")).await;
    for i in 0..620 {
        t.create(
            &owner,
            "/api/v1/contacts",
            json!({"name": format!("Sailor {i:04}")}),
        )
        .await;
    }
    t.create(
        &owner,
        "/api/v1/contacts",
        json!({"name": "Formula Person", "title": "=HYPERLINK(\"x\")"}),
    )
    .await;
    t.create(
        &other,
        "/api/v1/contacts",
        json!({"name": "Sailor Elsewhere"}),
    )
    .await;
    let cookie = t.session_cookie("owner@example.com").await;
    let all = page(&t, &cookie, "/o/acme/contacts/export.csv").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        all.header("content-disposition")
            .unwrap_or_default()
            .contains("contacts.csv")
    );
    let lines: Vec<&str> = all.text.lines().collect();
    assert!(lines[0].starts_with("id,name,email"));
    // Every page of the list (more than one page of 500), nothing from the other organization.
    assert_eq!(lines.len(), 1 + 621);
    assert!(!all.text.contains("Elsewhere"));
    assert!(all.text.contains("'=HYPERLINK"), "formulas are neutralized");
    let some = page(
        &t,
        &cookie,
        "/o/acme/contacts/export.csv?search=sailor%2000",
    )
    .await;
    assert_eq!(some.text.lines().count(), 1 + 100);
    // Viewers read but do not export.
    let viewer_cookie = t.session_cookie("viewer@example.com").await;
    let refused = page(&t, &viewer_cookie, "/o/acme/contacts/export.csv").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Another organization's address is not a way in.
    let other_cookie = t.session_cookie("other@example.com").await;
    let foreign = page(&t, &other_cookie, "/o/acme/contacts/export.csv").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let deals = page(&t, &cookie, "/o/acme/deals/export.csv").await;
    assert_eq!(deals.status, StatusCode::OK);
    assert!(deals.text.starts_with("id,title,amount"));
}

#[tokio::test]
async fn saved_views_are_private_or_shared_and_never_cross_organizations() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "member@example.com", "member").await;
    t.register("other@example.com", Some("Other")).await;
    let owner_s = t.browser_session("owner@example.com").await;
    let member_s = t.browser_session("member@example.com").await;
    let other_s = t.browser_session("other@example.com").await;
    let save = |s: &(String, String), name: &'static str, shared: &'static str| {
        let s = s.clone();
        let t = &t;
        async move {
            t.form(
                &s,
                "/o/acme/views",
                &[
                    ("list", "contacts"),
                    ("name", name),
                    ("query", "search=mar&sort=name"),
                    ("back", "/o/acme/contacts"),
                    ("shared", shared),
                ],
            )
            .await
        }
    };
    let r = save(&owner_s, "Shared Mars", "1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    save(&owner_s, "Private Mars", "").await;
    save(&member_s, "Member's own", "").await;
    let chips = |cookie: &str| {
        let cookie = cookie.to_owned();
        let t = &t;
        async move {
            let page = page(t, &cookie, "/o/acme/contacts").await;
            [
                "Shared Mars",
                "Private Mars",
                "Member&#x27;s own",
                "Member's own",
            ]
            .into_iter()
            .filter(|n| page.text.contains(n))
            .map(str::to_owned)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(chips(&owner_s.0).await, ["Shared Mars", "Private Mars"]);
    let member_sees = chips(&member_s.0).await;
    assert!(member_sees.contains(&"Shared Mars".to_owned()));
    assert!(!member_sees.contains(&"Private Mars".to_owned()));
    // The shared view's id, from the owner's page.
    let owner_page = page(&t, &owner_s.0, "/o/acme/contacts").await;
    let view_id = owner_page
        .text
        .split("view-chip-wrap")
        .find(|chunk| chunk.contains("Shared Mars"))
        .and_then(|chunk| chunk.split("/views/").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("the shared view's id")
        .to_owned();
    // Someone else's private view is not even there for a member.
    let private_id = owner_page
        .text
        .split("view-chip-wrap")
        .find(|chunk| chunk.contains("Private Mars"))
        .and_then(|chunk| chunk.split("/views/").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("the private view's id")
        .to_owned();
    let r = t
        .form(
            &member_s,
            &format!("/o/acme/views/{private_id}/delete"),
            &[("back", "/o/acme/contacts")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A member may not delete someone else's shared view; another organization can't reach it.
    let r = t
        .form(
            &member_s,
            &format!("/o/acme/views/{view_id}/delete"),
            &[("back", "/o/acme/contacts")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .form(
            &other_s,
            &format!("/o/other/views/{view_id}/delete"),
            &[("back", "/o/other/contacts")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .form(
            &owner_s,
            &format!("/o/acme/views/{view_id}/delete"),
            &[("back", "/o/acme/contacts")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!chips(&member_s.0).await.contains(&"Shared Mars".to_owned()));
}

/// The fields of a problem's `errors`, in order, with their messages.
fn field_errors(r: &Resp) -> Vec<(String, String)> {
    r.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_built_in_kinds_are_checked_by_the_rules_their_fields_publish() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let post = |path: &'static str, body: Value| {
        let (t, owner) = (&t, &owner);
        async move { t.org_call(owner, Method::POST, path, Some(body)).await }
    };

    // The registry publishes each system field's limits, and they are the ones applied.
    let company = get(&t, &owner, "/api/v1/objects/company").await;
    let industry = company.body["fields"]
        .as_array()
        .expect("items")
        .iter()
        .find(|f| f["key"] == "industry")
        .expect("industry")
        .clone();
    assert_eq!(industry["max"], 80.0);
    let r = post(
        "/api/v1/companies",
        json!({"name": "Long", "industry": "x".repeat(81)}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        field_errors(&r),
        [("industry".into(), "must be at most 80 characters".into())]
    );
    let r = post(
        "/api/v1/companies",
        json!({"name": "Long", "industry": "x".repeat(80)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A company's web address is reduced to its domain, however long the address.
    let long = format!("https://www.harbour.example/?utm={}", "x".repeat(600));
    let r = post(
        "/api/v1/companies",
        json!({"name": "Harbour", "domain": long}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["domain"], "harbour.example");
    let path = format!("/api/v1/companies/{}", id(&r.body));
    let r = t
        .org_call(&owner, Method::PATCH, &path, Some(json!({"domain": null})))
        .await;
    assert!(r.body["domain"].is_null(), "{}", r.text);
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"domain": "not a domain"})),
        )
        .await;
    assert_eq!(
        field_errors(&r),
        [(
            "domain".into(),
            "must be a web domain such as acme.com".into()
        )]
    );

    // Every wrong field at once, in the order of the kind's fields.
    let r = post(
        "/api/v1/contacts",
        json!({"name": "   ", "email": "nope", "company_id": uuid::Uuid::now_v7()}),
    )
    .await;
    let fields: Vec<String> = field_errors(&r).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["name", "email", "company_id"], "{}", r.text);
    assert_eq!(field_errors(&r)[0].1, "must not be empty");

    // Numbers keep to their range; a lead's status to its options.
    let r = post("/api/v1/leads", json!({"name": "Ana", "score": 101})).await;
    assert_eq!(
        field_errors(&r),
        [("score".into(), "must be at most 100".into())]
    );
    let r = post("/api/v1/leads", json!({"name": "Ana", "status": "hot"})).await;
    assert_eq!(field_errors(&r)[0].0, "status");
    let lead = post("/api/v1/leads", json!({"name": "Ana", "score": 100})).await;
    assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.text);
    assert_eq!(lead.body["status"], "new");
    assert_eq!(lead.body["score"], 100);

    // A deal that is not well formed is refused as such before its own rules answer (a won
    // deal needs an amount: 409 for a well-formed one).
    let r = post(
        "/api/v1/deals",
        json!({"title": "Berth", "status": "won", "close_probability": 120}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(field_errors(&r)[0].0, "close_probability");
    post("/api/v1/deals", json!({"title": "Berth", "status": "won"}))
        .await
        .assert_problem(StatusCode::CONFLICT, "deal_amount_required_for_won");

    // A task's assignee is a member of the organization.
    let r = post(
        "/api/v1/tasks",
        json!({"title": "Call", "assignee_id": uuid::Uuid::now_v7()}),
    )
    .await;
    assert_eq!(
        field_errors(&r),
        [(
            "assignee_id".into(),
            "must be a member of this organization".into()
        )]
    );
}
