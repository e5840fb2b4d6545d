//! A role that sees only its own records: every list, page, count, search, export, figure and
//! picker keeps to the records its holder owns, and a record out of reach is not there (404),
//! for built-in kinds and custom objects alike.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, Resp, TestApp};

async fn call(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Resp {
    t.org_call(who, method, path, body).await
}

async fn page(t: &TestApp, session: &(String, String), path: &str) -> Resp {
    let r = t
        .client
        .get(t.url(path))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent");
    Resp::from(r).await
}

fn titles(list: &Resp, field: &str) -> Vec<String> {
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let mut out: Vec<String> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i[field].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn an_agent_who_sees_their_own_records_finds_no_one_elses_anywhere() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.create(
        &owner,
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    let role = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "Agent", "copy_of": "member",
        "permissions": {
            "deal": {"view": "own", "export": "own"},
            "contact": {"view": "own"},
            "berth": {"view": "own"},
        }})),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    assert_eq!(role.body["permissions"]["deal"]["view"], "own");
    let agent = t.member(&owner, "agent@example.com", "agent").await;

    // The owner's records and the agent's own.
    let theirs = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Harbour lease", "amount": 900}),
        )
        .await;
    let mine = t
        .create(
            &agent,
            "/api/v1/deals",
            json!({"title": "Harbour mooring", "amount": 100}),
        )
        .await;
    let their_contact = t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Harbour Master Olsen"}),
        )
        .await;
    t.create(
        &agent,
        "/api/v1/contacts",
        json!({"name": "Harbour Pilot Berg"}),
    )
    .await;
    let their_berth = t
        .create(
            &owner,
            "/api/v1/objects/berth/records",
            json!({"values": {"name": "Harbour A-01"}}),
        )
        .await;
    t.create(
        &agent,
        "/api/v1/objects/berth/records",
        json!({"values": {"name": "Harbour B-02"}}),
    )
    .await;
    let their_deal = theirs["id"].as_str().expect("id");
    let their_contact = their_contact["id"].as_str().expect("id");
    let their_berth = their_berth["id"].as_str().expect("id");

    // Lists and totals.
    let deals = call(&t, &agent, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&deals, "title"), ["Harbour mooring"]);
    assert_eq!(deals.body["total"], 1, "{}", deals.text);
    let everyone = call(&t, &owner, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(
        titles(&everyone, "title"),
        ["Harbour lease", "Harbour mooring"]
    );
    let contacts = call(&t, &agent, Method::GET, "/api/v1/contacts", None).await;
    assert_eq!(titles(&contacts, "name"), ["Harbour Pilot Berg"]);
    let berths = call(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/berth/records",
        None,
    )
    .await;
    assert_eq!(
        titles(&berths, "title"),
        ["Harbour B-02"],
        "{}",
        berths.text
    );
    // Asking for someone else's records by owner finds none.
    let by_owner = call(
        &t,
        &agent,
        Method::GET,
        &format!("/api/v1/deals?owner_id={}", owner.user_id),
        None,
    )
    .await;
    assert_eq!(titles(&by_owner, "title"), Vec::<String>::new());

    // Someone else's record is not there: read, change, delete, timeline, comment.
    for path in [
        format!("/api/v1/deals/{their_deal}"),
        format!("/api/v1/deals/{their_deal}/activities"),
        format!("/api/v1/contacts/{their_contact}"),
        format!("/api/v1/objects/berth/records/{their_berth}"),
    ] {
        call(&t, &agent, Method::GET, &path, None)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    call(
        &t,
        &agent,
        Method::PATCH,
        &format!("/api/v1/deals/{their_deal}"),
        Some(json!({"title": "Mine now"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(
        &t,
        &agent,
        Method::DELETE,
        &format!("/api/v1/objects/berth/records/{their_berth}"),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(
        &t,
        &agent,
        Method::POST,
        &format!("/api/v1/deals/{their_deal}/activities"),
        Some(json!({"type": "comment", "payload": {"text": "hello"}})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // The owner still reads it, unchanged.
    let still = call(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/deals/{their_deal}"),
        None,
    )
    .await;
    assert_eq!(still.body["title"], "Harbour lease");

    // Search: the agent's own deal, contact and berth, none of the owner's.
    let found = call(&t, &agent, Method::GET, "/api/v1/search?q=harbour", None).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let mut hits: Vec<&str> = found
        .body
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["title"].as_str())
        .collect();
    hits.sort_unstable();
    assert_eq!(
        hits,
        ["Harbour B-02", "Harbour Pilot Berg", "Harbour mooring"]
    );
    let all_hits = call(&t, &owner, Method::GET, "/api/v1/search?q=harbour", None).await;
    assert_eq!(all_hits.body.as_array().map(Vec::len), Some(6));

    // Figures count what the agent sees.
    let summary = call(
        &t,
        &agent,
        Method::GET,
        "/api/v1/analytics/deals/summary",
        None,
    )
    .await;
    assert_eq!(summary.body["total_count"], 1, "{}", summary.text);
    let summary = call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/analytics/deals/summary",
        None,
    )
    .await;
    assert_eq!(summary.body["total_count"], 2);

    // The export writes the rows in reach, as far as exporting reaches.
    let csv = call(&t, &agent, Method::GET, "/api/v1/deals/export.csv", None).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(csv.text.contains("Harbour mooring"), "{}", csv.text);
    assert!(!csv.text.contains("Harbour lease"), "{}", csv.text);

    // The web app: list, board, dashboard and the berths' list keep to the agent's records.
    let browser = t.browser_session("agent@example.com").await;
    for path in ["/o/acme/deals", "/o/acme/deals?view=list", "/o/acme/"] {
        let p = page(&t, &browser, path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(
            !p.text.contains("Harbour lease"),
            "{path} shows someone else's deal"
        );
    }
    let board = page(&t, &browser, "/o/acme/deals").await;
    assert!(board.text.contains("Harbour mooring"), "{}", board.text);
    let berths = page(&t, &browser, "/o/acme/objects/berth").await;
    assert!(berths.text.contains("1 berth"), "{}", berths.text);
    assert!(!berths.text.contains("Harbour A-01"));
    let other = page(&t, &browser, &format!("/o/acme/deals/{their_deal}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // Relation pickers offer only berths in reach.
    let picked = page(&t, &browser, "/o/acme/objects/berth/choices?q=harbour").await;
    assert_eq!(picked.status, StatusCode::OK, "{}", picked.text);
    assert!(picked.text.contains("Harbour B-02"), "{}", picked.text);
    assert!(!picked.text.contains("Harbour A-01"), "{}", picked.text);
    let picked = page(&t, &browser, "/o/acme/objects/deal/choices?q=harbour").await;
    assert!(!picked.text.contains("Harbour lease"), "{}", picked.text);

    // The agent's own deal, changed by the owner, stays theirs to see; handed to the owner,
    // it leaves their reach.
    let mine_id = mine["id"].as_str().expect("id");
    let handed = call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/deals/{mine_id}"),
        Some(json!({"owner_id": owner.user_id})),
    )
    .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.text);
    call(
        &t,
        &agent,
        Method::GET,
        &format!("/api/v1/deals/{mine_id}"),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let deals = call(&t, &agent, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(deals.body["total"], 0);
}

#[tokio::test]
async fn an_export_scope_narrower_than_viewing_narrows_the_export_only() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let role = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "Analyst", "copy_of": "member",
            "permissions": {"contact": {"view": "all", "export": "own"}}})),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let analyst = t.member(&owner, "analyst@example.com", "analyst").await;
    t.create(&owner, "/api/v1/contacts", json!({"name": "Olsen"}))
        .await;
    t.create(&analyst, "/api/v1/contacts", json!({"name": "Berg"}))
        .await;
    let listed = call(&t, &analyst, Method::GET, "/api/v1/contacts", None).await;
    assert_eq!(titles(&listed, "name"), ["Berg", "Olsen"]);
    let csv = call(
        &t,
        &analyst,
        Method::GET,
        "/api/v1/contacts/export.csv",
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(
        csv.text.contains("Berg") && !csv.text.contains("Olsen"),
        "{}",
        csv.text
    );
}

#[tokio::test]
async fn rollups_count_only_the_source_records_in_reach() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for (key, singular, plural) in [
        ("campaign", "Campaign", "Campaigns"),
        ("expense", "Expense", "Expenses"),
    ] {
        t.create(
            &owner,
            "/api/v1/objects",
            json!({"key": key, "singular": singular, "plural": plural}),
        )
        .await;
    }
    for field in [
        json!({"key": "amount", "label": "Amount", "type": "number"}),
        json!({"key": "campaign", "label": "Campaign", "type": "relation", "target": "campaign"}),
    ] {
        t.create(&owner, "/api/v1/objects/expense/fields", field)
            .await;
    }
    t.create(
        &owner,
        "/api/v1/objects/campaign/fields",
        json!({"key": "spent", "label": "Spent", "type": "rollup",
            "rollup": {"object": "expense", "via": "campaign", "function": "sum", "field": "amount"}}),
    )
    .await;
    let role = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "Spender", "copy_of": "member",
            "permissions": {"expense": {"view": "own"}}})),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let spender = t.member(&owner, "spender@example.com", "spender").await;
    let spring = t
        .create(
            &owner,
            "/api/v1/objects/campaign/records",
            json!({"values": {"name": "Spring"}}),
        )
        .await;
    let spring = spring["id"].as_str().expect("id");
    for (who, amount) in [(&owner, 400), (&spender, 25)] {
        t.create(
            who,
            "/api/v1/objects/expense/records",
            json!({"values": {"name": "Print", "amount": amount, "campaign": spring}}),
        )
        .await;
    }
    let path = format!("/api/v1/objects/campaign/records/{spring}");
    let theirs = call(&t, &spender, Method::GET, &path, None).await;
    assert_eq!(theirs.body["values"]["spent"], 25.0, "{}", theirs.text);
    let all = call(&t, &owner, Method::GET, &path, None).await;
    assert_eq!(all.body["values"]["spent"], 425.0, "{}", all.text);
    let listed = call(
        &t,
        &spender,
        Method::GET,
        "/api/v1/objects/campaign/records",
        None,
    )
    .await;
    assert_eq!(
        listed.body["items"][0]["values"]["spent"], 25.0,
        "{}",
        listed.text
    );
}

#[tokio::test]
async fn a_team_scope_reaches_the_records_of_everyone_who_shares_a_team() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let role = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "Rep", "copy_of": "member",
            "permissions": {"deal": {"view": "team", "edit": "team"}}})),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    assert_eq!(role.body["permissions"]["deal"]["view"], "team");
    let alice = t.member(&owner, "alice@example.com", "rep").await;
    let bob = t.member(&owner, "bob@example.com", "rep").await;
    let carol = t.member(&owner, "carol@example.com", "rep").await;
    let mut deals = Vec::new();
    for (who, title) in [(&alice, "Alpha"), (&bob, "Bravo"), (&carol, "Charlie")] {
        let d = t
            .create(who, "/api/v1/deals", json!({"title": title}))
            .await;
        deals.push(d["id"].as_str().expect("id").to_owned());
    }

    // Without teams, "team" reaches one's own records.
    let listed = call(&t, &alice, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&listed, "title"), ["Alpha"]);

    // Teams are shaped by owners and admins, read by everyone.
    call(
        &t,
        &alice,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "North"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "North", "members": [uuid::Uuid::nil()]})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let north = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/teams",
        Some(
            json!({"name": "North", "description": "Harbours north of the river",
            "lead_id": alice.user_id, "members": [bob.user_id]}),
        ),
    )
    .await;
    assert_eq!(north.status, StatusCode::CREATED, "{}", north.text);
    assert_eq!(north.body["lead_id"], alice.user_id.as_str());
    assert_eq!(
        north.body["members"],
        json!([alice.user_id, bob.user_id]),
        "the lead is a member"
    );
    call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "NORTH"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "team_name_taken");
    let read = call(&t, &carol, Method::GET, "/api/v1/teams", None).await;
    assert_eq!(read.body["items"][0]["name"], "North", "{}", read.text);
    let north_id = north.body["id"].as_str().expect("id").to_owned();

    // Alice and Bob see each other's deals and change them; Carol's stay out of reach.
    let listed = call(&t, &alice, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&listed, "title"), ["Alpha", "Bravo"]);
    assert_eq!(listed.body["total"], 2);
    let changed = call(
        &t,
        &alice,
        Method::PATCH,
        &format!("/api/v1/deals/{}", deals[1]),
        Some(json!({"title": "Bravo, seen by Alice"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    call(
        &t,
        &alice,
        Method::GET,
        &format!("/api/v1/deals/{}", deals[2]),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let found = call(&t, &bob, Method::GET, "/api/v1/search?q=ha", None).await;
    let hits: Vec<&str> = found
        .body
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["title"].as_str())
        .collect();
    assert!(
        hits.contains(&"Alpha") && !hits.contains(&"Charlie"),
        "{hits:?}"
    );
    let carols = call(&t, &carol, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&carols, "title"), ["Charlie"]);

    // Alice hands records to teammates only.
    let refused = call(
        &t,
        &alice,
        Method::PATCH,
        &format!("/api/v1/deals/{}", deals[0]),
        Some(json!({"owner_id": carol.user_id})),
    )
    .await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(refused.text.contains("teammate"), "{}", refused.text);
    let handed = call(
        &t,
        &alice,
        Method::PATCH,
        &format!("/api/v1/deals/{}", deals[0]),
        Some(json!({"owner_id": bob.user_id})),
    )
    .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.text);
    let back = call(
        &t,
        &bob,
        Method::PATCH,
        &format!("/api/v1/deals/{}", deals[0]),
        Some(json!({"owner_id": alice.user_id})),
    )
    .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);

    // Bob leaves the team: the next request knows it.
    let moved = call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/teams/{north_id}"),
        Some(json!({"members": [alice.user_id, carol.user_id]})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let listed = call(&t, &alice, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&listed, "title"), ["Alpha", "Charlie"]);
    let bobs = call(&t, &bob, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&bobs, "title"), ["Bravo, seen by Alice"]);

    // Deleted, the team reaches no one.
    let gone = call(
        &t,
        &owner,
        Method::DELETE,
        &format!("/api/v1/teams/{north_id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let listed = call(&t, &alice, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(titles(&listed, "title"), ["Alpha"]);
}

#[tokio::test]
async fn a_records_timeline_leaves_out_tasks_out_of_reach() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let role = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "Helper", "copy_of": "member",
            "permissions": {"task": {"view": "own"}}})),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let helper = t.member(&owner, "helper@example.com", "helper").await;
    let company = t
        .create(&owner, "/api/v1/companies", json!({"name": "Harbour Ltd"}))
        .await;
    let company = company["id"].as_str().expect("id");
    for (title, assignee) in [
        ("Call the harbour master", &owner.user_id),
        ("Send the berth plan", &helper.user_id),
    ] {
        t.create(
            &owner,
            "/api/v1/tasks",
            json!({"title": title, "company_id": company, "assignee_id": assignee}),
        )
        .await;
    }
    let path = format!("/api/v1/companies/{company}/activities");
    let theirs = call(&t, &helper, Method::GET, &path, None).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.text);
    assert!(
        theirs.text.contains("Send the berth plan"),
        "{}",
        theirs.text
    );
    assert!(
        !theirs.text.contains("Call the harbour master"),
        "{}",
        theirs.text
    );
    let all = call(&t, &owner, Method::GET, &path, None).await;
    assert!(all.text.contains("Call the harbour master"), "{}", all.text);
}
