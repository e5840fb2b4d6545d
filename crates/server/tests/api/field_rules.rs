//! Field rules: a role that may not see a field finds its values nowhere (records, lists,
//! boards, exports, search, filters, sorts, rollups, timelines, the audit log, webhooks), and a
//! role that may not change a field is refused (403 naming it), always or at some stages only.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::{Account, Options, Resp, TestApp};

async fn call(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Resp {
    t.org_call(who, method, path, body).await
}

async fn ok(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = call(t, who, method, path, body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text);
    r.body
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

/// The fields named by a 403 `field_forbidden`.
fn refused(r: &Resp) -> Vec<String> {
    r.assert_problem(StatusCode::FORBIDDEN, "field_forbidden");
    r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

/// An organization whose deals have a commission (hidden from agents), a deposit (read-only
/// for them in negotiation) and a link to a berth; berths have a private note (hidden), a price
/// (read-only once under offer) and a rollup of the fees (hidden) of their expressions of
/// interest.
async fn marina(t: &TestApp) -> (Account, Account) {
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let post = Method::POST;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "Berth", "plural": "Berths"})),
    )
    .await;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "note", "label": "Private note", "type": "text"})),
    )
    .await;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "price", "label": "Price", "type": "number"})),
    )
    .await;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "registry", "label": "Registry no.", "type": "text", "unique": true})),
    )
    .await;
    ok(t, &owner, post.clone(), "/api/v1/objects/berth/fields",
        Some(json!({"key": "status", "label": "Status", "type": "select",
            "options": [{"key": "free", "label": "Free"}, {"key": "offer", "label": "Under offer"}]}))).await;
    ok(
        t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/berth",
        Some(json!({"board_field": "status"})),
    )
    .await;
    for field in [
        json!({"key": "commission", "label": "Commission", "type": "number"}),
        json!({"key": "deposit", "label": "Deposit", "type": "number"}),
        json!({"key": "berth", "label": "Berth", "type": "relation", "target": "berth"}),
    ] {
        ok(
            t,
            &owner,
            post.clone(),
            "/api/v1/objects/deal/fields",
            Some(field),
        )
        .await;
    }
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/lead/fields",
        Some(json!({"key": "budget", "label": "Budget", "type": "number"})),
    )
    .await;
    // Expressions of interest in a berth, each with the broker's fee (hidden from agents).
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects",
        Some(json!({"key": "eoi", "singular": "EOI", "plural": "EOIs"})),
    )
    .await;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/eoi/fields",
        Some(json!({"key": "fee", "label": "Broker fee", "type": "number"})),
    )
    .await;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/eoi/fields",
        Some(json!({"key": "berth", "label": "Berth", "type": "relation", "target": "berth"})),
    )
    .await;
    ok(
        t,
        &owner,
        post.clone(),
        "/api/v1/objects/berth/fields",
        Some(
            json!({"key": "commissions", "label": "Fees", "type": "rollup",
            "rollup": {"object": "eoi", "via": "berth", "function": "sum", "field": "fee"}}),
        ),
    )
    .await;
    let role = call(
        t,
        &owner,
        post,
        "/api/v1/roles",
        Some(json!({
            "name": "Agent", "copy_of": "member",
            "field_rules": {
                "deal": {
                    "commission": "hidden",
                    "deposit": {"access": "read_only", "stages": ["negotiation"]},
                    "amount": "read_only",
                    "close_probability": "read_only",
                },
                "berth": {
                    "note": "hidden",
                    "registry": "hidden",
                    "price": {"access": "read_only", "stages": ["offer"]},
                },
                "eoi": {"fee": "hidden"},
                "lead": {"budget": "hidden"},
            },
        })),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    assert_eq!(role.body["field_rules"]["deal"]["commission"], "hidden");
    assert_eq!(
        role.body["field_rules"]["deal"]["deposit"],
        json!({"access": "read_only", "stages": ["negotiation"]})
    );
    let agent = t.member(&owner, "agent@example.com", "agent").await;
    (owner, agent)
}

#[tokio::test]
async fn a_hidden_field_leaks_through_no_answer_list_search_export_rollup_or_timeline() {
    let t = TestApp::spawn().await;
    let (owner, agent) = marina(&t).await;
    let berth = t
        .create(&owner, "/api/v1/objects/berth/records",
            json!({"values": {"name": "Pontoon A-12", "note": "seller desperate", "price": 40000, "status": "free"}}))
        .await;
    let berth_id = berth["id"].as_str().expect("id");
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({
                "title": "A-12 for the Olsens", "amount": 40000,
                "custom": {"commission": 73519, "deposit": 500, "berth": berth_id},
            }),
        )
        .await;
    let deal_id = deal["id"].as_str().expect("id");
    t.create(
        &owner,
        "/api/v1/objects/eoi/records",
        json!({"values": {"name": "Olsen EOI", "fee": 73519, "berth": berth_id}}),
    )
    .await;

    // The owner sees everything.
    let theirs = ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/deals/{deal_id}"),
        None,
    )
    .await;
    assert_eq!(theirs["custom"]["commission"], 73519.0);
    let b = ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/objects/berth/records/{berth_id}"),
        None,
    )
    .await;
    assert_eq!(b["values"]["note"], "seller desperate");
    assert_eq!(b["values"]["commissions"], 73519.0);

    // The agent: the record, the engine's shape, the list.
    let mine = ok(
        &t,
        &agent,
        Method::GET,
        &format!("/api/v1/deals/{deal_id}"),
        None,
    )
    .await;
    assert_eq!(mine["custom"].get("commission"), None, "{mine}");
    assert_eq!(mine["custom"]["deposit"], 500.0);
    let engine = ok(
        &t,
        &agent,
        Method::GET,
        &format!("/api/v1/objects/deal/records/{deal_id}"),
        None,
    )
    .await;
    assert_eq!(engine["values"].get("commission"), None, "{engine}");
    let list = ok(&t, &agent, Method::GET, "/api/v1/deals", None).await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|d| d["custom"].get("commission").is_none())
    );
    let b = ok(
        &t,
        &agent,
        Method::GET,
        &format!("/api/v1/objects/berth/records/{berth_id}"),
        None,
    )
    .await;
    assert_eq!(b["values"].get("note"), None, "{b}");
    assert_eq!(
        b["values"].get("commissions"),
        None,
        "a rollup of a hidden field is hidden: {b}"
    );
    assert_eq!(b["values"]["price"], 40000.0);
    let berths = ok(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/berth/records",
        None,
    )
    .await;
    assert_eq!(berths["items"][0]["values"].get("note"), None);

    // The schema names no hidden field.
    let schema = ok(&t, &agent, Method::GET, "/api/v1/objects/berth", None).await;
    let keys: Vec<&str> = schema["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"price") && !keys.contains(&"note") && !keys.contains(&"commissions"),
        "{keys:?}"
    );

    // Filtering or sorting by a hidden field is as naming no field; the owner may.
    let by_owner = call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/deal/records?filter[commission]=73519",
        None,
    )
    .await;
    assert_eq!(by_owner.status, StatusCode::OK, "{}", by_owner.text);
    assert_eq!(by_owner.body["items"].as_array().map(Vec::len), Some(1));
    let filtered = call(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/deal/records?filter[commission]=73519",
        None,
    )
    .await;
    assert_eq!(
        filtered.status,
        StatusCode::BAD_REQUEST,
        "{}",
        filtered.text
    );
    let filtered = call(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/berth/records?filter[note]=seller%20desperate",
        None,
    )
    .await;
    assert_eq!(
        filtered.status,
        StatusCode::BAD_REQUEST,
        "{}",
        filtered.text
    );
    let sorted = call(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/berth/records?sort=note",
        None,
    )
    .await;
    assert_eq!(sorted.status, StatusCode::BAD_REQUEST, "{}", sorted.text);
    let sorted = call(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/deal/records?sort=-commission",
        None,
    )
    .await;
    assert_eq!(sorted.status, StatusCode::BAD_REQUEST, "{}", sorted.text);

    // Searching finds records by what the role sees, never by a hidden value.
    let found = ok(&t, &owner, Method::GET, "/api/v1/search?q=desperate", None).await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let found = ok(&t, &agent, Method::GET, "/api/v1/search?q=desperate", None).await;
    assert_eq!(found.as_array().map(Vec::len), Some(0), "{found}");
    let found = ok(&t, &agent, Method::GET, "/api/v1/search?q=pontoon", None).await;
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(1),
        "by its title: {found}"
    );
    let listed = ok(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/berth/records?search=desperate",
        None,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
    let listed = ok(
        &t,
        &agent,
        Method::GET,
        "/api/v1/objects/berth/records?search=a-12",
        None,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    // Exports leave the column out.
    let csv = call(&t, &owner, Method::GET, "/api/v1/deals/export.csv", None).await;
    assert!(
        csv.text.contains("Commission") && csv.text.contains("73519"),
        "{}",
        csv.text
    );
    let csv = call(&t, &agent, Method::GET, "/api/v1/deals/export.csv", None).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(csv.text.contains("Deposit"), "{}", csv.text);
    assert!(
        !csv.text.contains("Commission") && !csv.text.contains("73519"),
        "{}",
        csv.text
    );

    // A change of the hidden field is on the owner's timeline, not on the agent's.
    ok(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/deals/{deal_id}"),
        Some(json!({"custom": {"commission": 86420, "deposit": 600}})),
    )
    .await;
    let timeline = |who| {
        let path = format!("/api/v1/deals/{deal_id}/activities");
        let t = &t;
        async move { call(t, who, Method::GET, &path, None).await }
    };
    let theirs = timeline(&owner).await;
    assert!(theirs.text.contains("Commission"), "{}", theirs.text);
    let mine = timeline(&agent).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert!(mine.text.contains("Deposit"), "{}", mine.text);
    assert!(
        !mine.text.contains("Commission")
            && !mine.text.contains("86420")
            && !mine.text.contains("86,420"),
        "{}",
        mine.text
    );
    ok(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/deals/{deal_id}"),
        Some(json!({"custom": {"commission": 97531}})),
    )
    .await;
    let mine = timeline(&agent).await;
    assert!(
        !mine.text.contains("97531") && !mine.text.contains("97,531"),
        "an entry of hidden fields only goes: {}",
        mine.text
    );

    // Pages: the record, the list and the board show no hidden value.
    let session = t.browser_session("agent@example.com").await;
    let deal_page = page(&t, &session, &format!("/o/marina/deals/{deal_id}")).await;
    assert_eq!(deal_page.status, StatusCode::OK);
    assert!(deal_page.text.contains("Deposit"));
    assert!(
        !deal_page.text.contains("Commission")
            && !deal_page.text.contains("97531")
            && !deal_page.text.contains("97,531")
    );
    let berth_page = page(&t, &session, &format!("/o/marina/objects/berth/{berth_id}")).await;
    assert_eq!(berth_page.status, StatusCode::OK);
    assert!(berth_page.text.contains("Pontoon A-12"));
    assert!(
        !berth_page.text.contains("seller desperate") && !berth_page.text.contains("Private note")
    );
    let board = page(&t, &session, "/o/marina/objects/berth/board").await;
    assert!(!board.text.contains("seller desperate"));
    let table = page(&t, &session, "/o/marina/objects/berth?cols=name,note,price").await;
    assert_eq!(table.status, StatusCode::OK);
    assert!(!table.text.contains("seller desperate") && !table.text.contains("Private note"));
}

#[tokio::test]
async fn read_only_fields_are_refused_by_name_always_or_at_their_stages() {
    let t = TestApp::spawn().await;
    let (owner, agent) = marina(&t).await;
    let agent_id = ok(&t, &agent, Method::GET, "/api/v1/auth/me", None).await["user"]["id"].clone();
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({
                "title": "A-14", "amount": 1000, "owner_id": agent_id,
                "custom": {"commission": 10, "deposit": 100},
            }),
        )
        .await;
    let deal_id = deal["id"].as_str().expect("id");
    let path = format!("/api/v1/deals/{deal_id}");

    // Read-only always: the amount; hidden: the commission, whatever the value sent.
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"amount": 86420})),
    )
    .await;
    assert_eq!(refused(&r), ["amount"]);
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"custom": {"commission": 10}})),
    )
    .await;
    assert_eq!(
        refused(&r),
        ["custom.commission"],
        "a hidden value cannot be tested by writing it"
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("hidden")
    );
    // Sending a read-only field's own value changes nothing, and is no refusal.
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"amount": 1000, "title": "A-14 (Olsen)"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "A-14 (Olsen)");

    // Read-only in negotiation: the deposit changes before, not after.
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"custom": {"deposit": 150}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    ok(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"stage": "negotiation"})),
    )
    .await;
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"custom": {"deposit": 175}})),
    )
    .await;
    assert_eq!(refused(&r), ["custom.deposit"]);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at this stage")
    );
    let now = ok(&t, &owner, Method::GET, &path, None).await;
    assert_eq!(now["custom"]["deposit"], 150.0, "nothing written");
    // The owner is not bound by the agent's rules.
    ok(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"custom": {"deposit": 175}, "amount": 3000})),
    )
    .await;

    // A new record: a hidden or read-only field cannot be given.
    let r = call(
        &t,
        &agent,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"title": "Mine", "custom": {"commission": 1}})),
    )
    .await;
    assert_eq!(refused(&r), ["custom.commission"]);
    let r = call(
        &t,
        &agent,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"title": "Mine", "amount": 5})),
    )
    .await;
    assert_eq!(refused(&r), ["amount"]);
    let made = call(
        &t,
        &agent,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"title": "Mine"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);

    // Custom objects: the board field's option is the stage.
    let berth = t
        .create(
            &agent,
            "/api/v1/objects/berth/records",
            json!({"values": {"name": "B-1", "price": 10, "status": "free"}}),
        )
        .await;
    let berth_path = format!(
        "/api/v1/objects/berth/records/{}",
        berth["id"].as_str().expect("id")
    );
    ok(
        &t,
        &agent,
        Method::PATCH,
        &berth_path,
        Some(json!({"values": {"price": 12}})),
    )
    .await;
    ok(
        &t,
        &agent,
        Method::PATCH,
        &berth_path,
        Some(json!({"values": {"status": "offer"}})),
    )
    .await;
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &berth_path,
        Some(json!({"values": {"price": 13}})),
    )
    .await;
    assert_eq!(refused(&r), ["values.price"]);
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &berth_path,
        Some(json!({"values": {"note": "x"}})),
    )
    .await;
    assert_eq!(refused(&r), ["values.note"]);
    let r = call(
        &t,
        &agent,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "B-2", "price": 5, "status": "offer"}})),
    )
    .await;
    assert_eq!(refused(&r), ["values.price"], "a new record under offer");

    // A hidden field is refused before anything else could answer: a value taken by another
    // record (409) or one that is not a number (422) would tell what it holds.
    t.create(
        &owner,
        "/api/v1/objects/berth/records",
        json!({"values": {"name": "B-9", "registry": "REG-77"}}),
    )
    .await;
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &berth_path,
        Some(json!({"values": {"registry": "REG-77"}})),
    )
    .await;
    assert_eq!(refused(&r), ["values.registry"]);
    let r = call(
        &t,
        &agent,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "B-10", "registry": "REG-77"}})),
    )
    .await;
    assert_eq!(refused(&r), ["values.registry"]);
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"custom": {"commission": "lots"}})),
    )
    .await;
    assert_eq!(refused(&r), ["custom.commission"]);
    // The currency goes with a read-only amount.
    let r = call(
        &t,
        &agent,
        Method::PATCH,
        &path,
        Some(json!({"currency": "JPY"})),
    )
    .await;
    assert_eq!(refused(&r), ["amount"]);

    // Converting a lead answers it without its hidden values.
    let lead = t
        .create(
            &owner,
            "/api/v1/leads",
            json!({
                "name": "Ines Olsen", "company_name": "Olsen Yachts", "owner_id": agent_id, "status": "qualified",
                "custom": {"budget": 250000},
            }),
        )
        .await;
    let converted = ok(
        &t,
        &agent,
        Method::POST,
        &format!("/api/v1/leads/{}/convert", lead["id"].as_str().expect("id")),
        Some(json!({})),
    )
    .await;
    assert!(
        converted["lead"]["custom"].get("budget").is_none(),
        "{converted}"
    );
    assert!(!converted.to_string().contains("250000"), "{converted}");

    // Refusals are audited as permission denials.
    let audit = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=permission.denied",
        None,
    )
    .await;
    assert!(
        audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["changes"]["action"] == "change_field"),
        "{audit}"
    );

    // A page shows read-only fields as text and saves the rest.
    let session = t.browser_session("agent@example.com").await;
    let deal_page = page(&t, &session, &format!("/o/marina/deals/{deal_id}")).await;
    assert!(
        deal_page
            .text
            .contains("name=\"_readonly\" value=\"amount\""),
        "the amount is shown read-only: {}",
        &deal_page.text[deal_page.text.find("Amount").unwrap_or(0)..]
            [..600.min(deal_page.text.len() - deal_page.text.find("Amount").unwrap_or(0))]
    );
    assert!(
        deal_page
            .text
            .contains("name=\"_readonly\" value=\"custom.deposit\""),
        "so is the deposit, in negotiation"
    );
    let form = t
        .form(
            &session,
            &format!("/o/marina/deals/{deal_id}/edit"),
            &[
                ("title", "A-14 renamed"),
                ("_readonly", "amount"),
                ("_readonly", "custom.deposit"),
                ("place", ""),
                ("status", "in_progress"),
                ("owner_id", agent_id.as_str().unwrap_or_default()),
            ],
        )
        .await;
    assert!(
        form.status.is_redirection() || form.status == StatusCode::OK,
        "{} {:?}",
        form.status,
        form.text
            .lines()
            .filter(|l| l.contains("error"))
            .collect::<Vec<_>>()
    );
    let now = ok(&t, &owner, Method::GET, &path, None).await;
    assert_eq!(now["title"], "A-14 renamed");
    assert_eq!(now["custom"]["deposit"], 175.0);
    assert_eq!(now["amount"], json!(3000.0));
}

#[tokio::test]
async fn rules_are_checked_and_the_audit_log_and_webhooks_keep_to_the_readers_role() {
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_WEBHOOK_ALLOW_PRIVATE", "true".into())],
        ..Options::default()
    })
    .await;
    let (owner, _agent) = marina(&t).await;
    let bad = |rules: Value| {
        let (t, owner) = (&t, &owner);
        async move {
            call(
                t,
                owner,
                Method::PATCH,
                "/api/v1/roles/agent",
                Some(json!({"field_rules": rules})),
            )
            .await
        }
    };
    let names = |r: &Resp| -> Vec<String> {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        r.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        names(&bad(json!({"deal": {"title": "hidden"}})).await),
        ["field_rules.deal.title"]
    );
    assert_eq!(
        names(&bad(json!({"deal": {"nope": "read_only"}})).await),
        ["field_rules.deal.nope"]
    );
    assert_eq!(
        names(&bad(json!({"yacht": {"x": "read_only"}})).await),
        ["field_rules.yacht"]
    );
    assert_eq!(
        names(&bad(json!({"berth": {"name": "hidden"}})).await),
        ["field_rules.berth.name"]
    );
    assert_eq!(
        names(
            &bad(json!({"deal": {"deposit": {"access": "read_only", "stages": ["moon"]}}})).await
        ),
        ["field_rules.deal.deposit"]
    );
    assert_eq!(
        names(
            &bad(json!({"deal": {"commission": {"access": "hidden", "stages": ["closed"]}}})).await
        ),
        ["field_rules"]
    );
    assert_eq!(
        names(&bad(json!({"deal": {"commission": "secret"}})).await),
        ["field_rules"]
    );
    let kept = ok(&t, &owner, Method::GET, "/api/v1/roles/agent", None).await;
    assert_eq!(
        kept["field_rules"]["deal"]["commission"], "hidden",
        "refusals change nothing"
    );
    // `editable` removes a rule.
    let changed = ok(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/agent",
        Some(json!({"field_rules": {"deal": {"amount": "editable"}}})),
    )
    .await;
    assert_eq!(
        changed["field_rules"]["deal"].get("amount"),
        None,
        "{changed}"
    );
    assert_eq!(changed["field_rules"]["deal"]["commission"], "hidden");

    // An administrator whose role hides the commission.
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({
            "name": "Office", "copy_of": "admin",
            "field_rules": {"deal": {"commission": "hidden"}},
        })),
    )
    .await;
    let office = t.member(&owner, "office@example.com", "office").await;
    let theirs = Receiver::start(&[]).await;
    let ours = Receiver::start(&[]).await;
    let mut hooks = Vec::new();
    for (who, receiver) in [(&owner, &theirs), (&office, &ours)] {
        let hook = ok(
            &t,
            who,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": receiver.url, "event_types": ["deal.created", "deal.updated"]})),
        )
        .await;
        hooks.push(hook["id"].as_str().expect("id").to_owned());
    }
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "C-3", "custom": {"commission": 7654321}}),
        )
        .await;
    let path = format!("/api/v1/deals/{}", deal["id"].as_str().expect("id"));
    ok(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"title": "C-3 sold", "custom": {"commission": 5555555}})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"custom": {"commission": 6666666}})),
    )
    .await;
    let all = theirs.wait_for(3).await;
    let told = ours.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        all.iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("5555555"))
    );
    assert_eq!(
        ours.received().len(),
        2,
        "a change of the hidden field only is not sent"
    );
    for r in &told {
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("commission") && !body.contains("5555555") && !body.contains("7654321"),
            "{body}"
        );
    }
    let updated = told
        .iter()
        .map(|r| r.json())
        .find(|b| b["type"] == "deal.updated")
        .expect("the update");
    assert_eq!(updated["data"]["changed"], json!(["title"]));
    assert_eq!(updated["data"]["payload"]["title"]["after"], "C-3 sold");

    // The owner's endpoint's messages, read by the office, leave the commission out.
    let listed = ok(
        &t,
        &office,
        Method::GET,
        &format!("/api/v1/webhooks/{}/deliveries", hooks[0]),
        None,
    )
    .await;
    let mut owner_saw = false;
    for d in listed["items"].as_array().expect("items") {
        let one = call(
            &t,
            &office,
            Method::GET,
            &format!(
                "/api/v1/webhooks/{}/deliveries/{}",
                hooks[0],
                d["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.text);
        assert!(
            !one.text.contains("7654321") && !one.text.contains("5555555"),
            "{}",
            one.text
        );
        let theirs = call(
            &t,
            &owner,
            Method::GET,
            &format!(
                "/api/v1/webhooks/{}/deliveries/{}",
                hooks[0],
                d["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
        owner_saw |= theirs.text.contains("5555555");
    }
    assert!(owner_saw, "the owner reads what was sent");
    // Once the office points the owner's endpoint elsewhere, what goes there keeps to its rules.
    let elsewhere = Receiver::start(&[]).await;
    ok(
        &t,
        &office,
        Method::PATCH,
        &format!("/api/v1/webhooks/{}", hooks[0]),
        Some(json!({"url": elsewhere.url})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"title": "C-3 resold", "custom": {"commission": 8888888}})),
    )
    .await;
    let sent = elsewhere.wait_for(1).await;
    let body = String::from_utf8_lossy(&sent[0].body).to_string();
    assert!(
        body.contains("C-3 resold") && !body.contains("8888888"),
        "{body}"
    );

    // The audit log: the owner reads the commission's changes, the office does not.
    let log = call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=deal.updated",
        None,
    )
    .await;
    assert!(log.text.contains("5555555"), "{}", log.text);
    let log = call(
        &t,
        &office,
        Method::GET,
        "/api/v1/audit?action=deal.updated",
        None,
    )
    .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    assert!(log.text.contains("C-3 sold"), "{}", log.text);
    assert!(
        !log.text.contains("5555555")
            && !log.text.contains("6666666")
            && !log.text.contains("commission"),
        "{}",
        log.text
    );
}
