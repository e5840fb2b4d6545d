//! The record engine through the API: objects and fields defined by an organization, and the
//! records of a custom object — validation per type, filters, sorts, search, keyset pages,
//! uniqueness, relations, type changes, audit, events, recently deleted, tenancy.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::ws::connect_as;
use crate::support::{Account, Resp, TestApp};

async fn call(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Resp {
    t.org_call(who, method, path, body).await
}

async fn ok(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = call(t, who, method.clone(), path, body).await;
    assert!(
        r.status.is_success(),
        "{method} {path}: {} {}",
        r.status,
        r.text
    );
    r.body
}

/// Berths: the marina's object, with one field of most types.
pub(crate) async fn define_berths(t: &TestApp, owner: &Account) {
    let object = ok(t, owner, Method::POST, "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "Berth", "plural": "Berths", "icon": "anchor", "color": "blue"}))).await;
    assert_eq!(object["key"], "berth");
    assert_eq!(object["builtin"], false);
    assert_eq!(object["primary_field"], "name");
    assert_eq!(object["fields"][0]["key"], "name");
    assert_eq!(object["fields"][0]["required"], true);
    for field in [
        json!({"key": "code", "label": "Code", "type": "text", "unique": true, "max": 12}),
        json!({"label": "Status", "type": "select", "options": [
            {"label": "Available", "color": "green"}, {"label": "Under offer", "color": "amber"},
            {"label": "Reserved"}, {"label": "Sold", "color": "gray"}, {"label": "Maintenance"}],
            "default": "available"}),
        json!({"key": "length", "label": "Length (m)", "type": "number", "min": 0, "max": 200}),
        json!({"key": "price", "label": "Price", "type": "money"}),
        json!({"key": "available_from", "label": "Available from", "type": "date"}),
        json!({"key": "features", "label": "Features", "type": "multi_select", "options": [
            {"key": "power", "label": "Power"}, {"key": "water", "label": "Water"}, {"key": "wifi", "label": "Wi-Fi"}]}),
        json!({"key": "client", "label": "Client", "type": "relation", "target": "contact"}),
        json!({"key": "harbour_master", "label": "Harbour master", "type": "member"}),
        json!({"key": "notes", "label": "Notes", "type": "long_text"}),
        json!({"key": "covered", "label": "Covered", "type": "boolean"}),
    ] {
        let r = call(
            t,
            owner,
            Method::POST,
            "/api/v1/objects/berth/fields",
            Some(field.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{field}: {}", r.text);
    }
}

fn keys(items: &Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["values"][field].to_string().trim_matches('"').to_owned())
        .collect()
}

#[tokio::test]
async fn an_organization_defines_objects_and_fields_with_clear_refusals() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;

    let all = ok(&t, &owner, Method::GET, "/api/v1/objects", None).await;
    let listed: Vec<&str> = all["items"]
        .as_array()
        .expect("present")
        .iter()
        .map(|o| o["key"].as_str().expect("present"))
        .collect();
    assert_eq!(
        listed,
        ["company", "contact", "lead", "deal", "task", "berth"]
    );
    let deal = &all["items"][3];
    assert_eq!(deal["builtin"], true);
    assert!(
        deal["fields"]
            .as_array()
            .expect("present")
            .iter()
            .any(|f| f["key"] == "stage" && f["builtin"] == true)
    );

    let berth = ok(&t, &owner, Method::GET, "/api/v1/objects/berth", None).await;
    let status = berth["fields"]
        .as_array()
        .expect("present")
        .iter()
        .find(|f| f["key"] == "status")
        .expect("present")
        .clone();
    assert_eq!(status["type"], "select");
    assert_eq!(
        status["options"][1],
        json!({"key": "under_offer", "label": "Under offer", "color": "amber"})
    );
    assert_eq!(status["default"], "available");

    // Keys: taken, built in, malformed.
    let again = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "B", "plural": "Bs"})),
    )
    .await;
    again.assert_problem(StatusCode::CONFLICT, "object_key_taken");
    let builtin = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "deal", "singular": "D", "plural": "Ds"})),
    )
    .await;
    builtin.assert_problem(StatusCode::CONFLICT, "object_key_taken");
    let bad = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "Berths!", "singular": "", "plural": "x", "color": "mauve"})),
    )
    .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let named: Vec<&str> = bad.body["errors"]
        .as_array()
        .expect("present")
        .iter()
        .map(|e| e["field"].as_str().expect("present"))
        .collect();
    assert_eq!(named, ["key", "singular", "color"]);

    // Fields: taken key, settings that do not fit the type, unknown target, built-in fields.
    let taken = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "length", "label": "L", "type": "text"})),
    )
    .await;
    taken.assert_problem(StatusCode::CONFLICT, "field_key_taken");
    let misfit = call(&t, &owner, Method::POST, "/api/v1/objects/berth/fields",
        Some(json!({"key": "flag", "label": "Flag", "type": "boolean", "unique": true, "options": [{"label": "A"}]}))).await;
    misfit.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let named: Vec<&str> = misfit.body["errors"]
        .as_array()
        .expect("present")
        .iter()
        .map(|e| e["field"].as_str().expect("present"))
        .collect();
    assert_eq!(named, ["options", "unique"]);
    let nowhere = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "boat", "label": "Boat", "type": "relation", "target": "boat"})),
    )
    .await;
    assert_eq!(nowhere.body["errors"][0]["field"], "target");
    let typo = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "x1", "label": "X", "type": "string"})),
    )
    .await;
    assert_eq!(typo.body["errors"][0]["field"], "type");
    let retype = call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/deal/fields/title",
        Some(json!({"type": "number"})),
    )
    .await;
    retype.assert_problem(StatusCode::CONFLICT, "builtin_field");

    // A custom field on a built-in object is listed with it.
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/contact/fields",
        Some(json!({"key": "boat_name", "label": "Boat name", "type": "text"})),
    )
    .await;
    let contact = ok(&t, &owner, Method::GET, "/api/v1/objects/contact", None).await;
    let last = contact["fields"]
        .as_array()
        .expect("present")
        .last()
        .expect("present")
        .clone();
    assert_eq!(
        (last["key"].as_str(), last["builtin"].as_bool()),
        (Some("boat_name"), Some(false))
    );

    // Definitions are read by every member and changed by owners and admins only.
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    ok(&t, &manager, Method::GET, "/api/v1/objects/berth", None).await;
    let denied = call(
        &t,
        &manager,
        Method::POST,
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "x2", "label": "X", "type": "text"})),
    )
    .await;
    denied.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let denied = call(
        &t,
        &manager,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "boat", "singular": "Boat", "plural": "Boats"})),
    )
    .await;
    denied.assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Another organization sees none of it.
    let stranger = t.register("stranger@example.com", Some("Elsewhere")).await;
    call(&t, &stranger, Method::GET, "/api/v1/objects/berth", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(
        &t,
        &stranger,
        Method::GET,
        "/api/v1/objects/berth/records",
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn records_are_validated_per_field_and_written_with_audit_events_and_restore() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let ana = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Ana Lopez"}))
        .await;
    let ana_id = ana["id"].as_str().expect("present");

    let created = ok(&t, &owner, Method::POST, "/api/v1/objects/berth/records", Some(json!({"values": {
        "name": "  A1 ", "code": "PV-A1", "length": 12.5, "price": {"amount": 45000, "currency": "EUR"},
        "available_from": "2027-04-01", "features": ["water", "power", "water"], "client": ana_id,
        "harbour_master": owner.user_id, "covered": true,
    }}))).await;
    let id = created["id"].as_str().expect("present").to_owned();
    assert_eq!(created["object"], "berth");
    assert_eq!(created["organization_id"], owner.org());
    assert_eq!(created["owner_id"], owner.user_id.as_str());
    let v = &created["values"];
    assert_eq!(v["name"], "A1", "trimmed");
    assert_eq!(v["status"], "available", "the default");
    assert_eq!(
        v["features"],
        json!(["power", "water"]),
        "options' order, once each"
    );
    assert_eq!(v["price"], json!({"amount": 45000.0, "currency": "EUR"}));
    assert_eq!(v["client"], ana_id);
    assert_eq!(v["notes"], Value::Null, "every live field is present");

    // Every wrong value is named at once.
    let bad = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {
            "length": 250, "status": "sunk", "available_from": "01/04/2027", "features": "power",
            "price": {"amount": 1.234}, "covered": "yes", "draft": 2, "code": "x".repeat(13),
        }})),
    )
    .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let named: HashSet<&str> = bad.body["errors"]
        .as_array()
        .expect("present")
        .iter()
        .map(|e| e["field"].as_str().expect("present"))
        .collect();
    let expected: HashSet<&str> = [
        "values.length",
        "values.status",
        "values.available_from",
        "values.features",
        "values.price",
        "values.covered",
        "values.draft",
        "values.code",
        "values.name",
    ]
    .into_iter()
    .collect();
    assert_eq!(named, expected, "{}", bad.body);

    // Relations and members must belong to this organization; its existence elsewhere is not told.
    let stranger = t.register("stranger@example.com", Some("Elsewhere")).await;
    let theirs = t
        .create(&stranger, "/api/v1/contacts", json!({"name": "Theirs"}))
        .await;
    let r = call(&t, &owner, Method::POST, "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "A2", "client": theirs["id"], "harbour_master": stranger.user_id}}))).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let named: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("present")
        .iter()
        .map(|e| e["field"].as_str().expect("present"))
        .collect();
    assert_eq!(named, ["values.client", "values.harbour_master"]);

    // Unique values, case-insensitively.
    let dup = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "A3", "code": "pv-a1"}})),
    )
    .await;
    dup.assert_problem(StatusCode::CONFLICT, "field_not_unique");

    // A change names only what changes; null clears; the audit keeps the diff.
    let path = format!("/api/v1/objects/berth/records/{id}");
    let changed = ok(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"values": {"length": 14, "covered": null, "status": "under_offer"}})),
    )
    .await;
    assert_eq!(changed["values"]["length"], 14.0);
    assert_eq!(changed["values"]["covered"], Value::Null);
    assert_eq!(changed["values"]["name"], "A1", "untouched");
    let cleared = call(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"values": {"name": null}})),
    )
    .await;
    assert_eq!(
        cleared.body["errors"][0],
        json!({"field": "values.name", "message": "is required"})
    );
    let audit = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=record.updated",
        None,
    )
    .await;
    let entry = &audit["items"][0];
    assert_eq!(entry["target_type"], "berth");
    assert_eq!(entry["target_id"], id.as_str());
    assert_eq!(
        entry["changes"]["length"],
        json!({"before": 12.5, "after": 14.0})
    );
    assert_eq!(
        entry["changes"]["status"],
        json!({"before": "available", "after": "under_offer"})
    );
    assert!(entry["changes"].get("name").is_none());

    // A member may create records and change only their own.
    let member = t.member(&owner, "member@example.com", "member").await;
    call(
        &t,
        &member,
        Method::PATCH,
        &path,
        Some(json!({"values": {"length": 1}})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let mine = ok(
        &t,
        &member,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "B1"}})),
    )
    .await;
    ok(
        &t,
        &member,
        Method::PATCH,
        &format!(
            "/api/v1/objects/berth/records/{}",
            mine["id"].as_str().expect("present")
        ),
        Some(json!({"values": {"length": 8}})),
    )
    .await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    call(
        &t,
        &viewer,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "V"}})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Another organization cannot reach the record even knowing its id.
    call(&t, &stranger, Method::GET, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // Deleted: gone from reads and lists, its unique value free; restored: back, unless taken.
    let r = call(&t, &owner, Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    call(&t, &owner, Method::GET, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let list = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records",
        None,
    )
    .await;
    assert_eq!(keys(&list["items"], "name"), ["B1"]);
    let taker = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "A1 bis", "code": "PV-A1"}})),
    )
    .await;
    call(&t, &owner, Method::POST, &format!("{path}/restore"), None)
        .await
        .assert_problem(StatusCode::CONFLICT, "field_not_unique");
    ok(
        &t,
        &owner,
        Method::DELETE,
        &format!(
            "/api/v1/objects/berth/records/{}",
            taker["id"].as_str().expect("present")
        ),
        None,
    )
    .await;
    let back = ok(&t, &owner, Method::POST, &format!("{path}/restore"), None).await;
    assert_eq!(back["values"]["code"], "PV-A1");
    let found = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records?filter[code]=PV-A1",
        None,
    )
    .await;
    assert_eq!(
        found["items"].as_array().expect("present").len(),
        1,
        "indexed again"
    );
}

#[tokio::test]
async fn lists_filter_sort_search_and_page_on_any_field() {
    lists_on_any_field(TestApp::spawn().await).await;
}

/// The same lists read from their rarest filter (what a big organization does) give the same
/// answers.
#[tokio::test]
async fn lists_read_from_a_rare_filter_give_the_same_pages() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_LIST_SCAN_LIMIT", "0".into())],
        ..crate::support::Options::default()
    })
    .await;
    lists_on_any_field(t).await;
}

async fn lists_on_any_field(t: TestApp) {
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    // 23 berths: lengths 10..=32 (none for every fifth), statuses in turn, some with power.
    let statuses = [
        "available",
        "under_offer",
        "reserved",
        "sold",
        "maintenance",
    ];
    for i in 0..23_i64 {
        let mut values = json!({"name": format!("Berth {:02}", i), "status": statuses[i as usize % 5],
            "available_from": format!("2027-{:02}-01", 1 + i % 12)});
        if i % 5 != 4 {
            values["length"] = json!(10 + i);
        }
        if i % 3 == 0 {
            values["features"] = json!(["power"]);
        }
        if i == 7 {
            values["notes"] = json!("Next to the FUEL dock");
        }
        ok(
            &t,
            &owner,
            Method::POST,
            "/api/v1/objects/berth/records",
            Some(json!({"values": values})),
        )
        .await;
    }
    let list = |q: &str| {
        let path = format!("/api/v1/objects/berth/records?{q}");
        let owner = &owner;
        let t = &t;
        async move { ok(t, owner, Method::GET, &path, None).await }
    };

    let sold = list("filter[status]=sold&page_size=100").await;
    assert_eq!(
        keys(&sold["items"], "name"),
        ["Berth 18", "Berth 13", "Berth 08", "Berth 03"],
        "newest first by default"
    );
    let long = list("filter[length][gte]=30&sort=length").await;
    assert_eq!(keys(&long["items"], "length"), ["30.0", "31.0", "32.0"]);
    let range = list("filter[length][gt]=12&filter[length][lt]=16&sort=-length").await;
    assert_eq!(
        keys(&range["items"], "length"),
        ["15.0", "13.0"],
        "14 has no length (every fifth)"
    );
    let either = list("filter[status][in]=sold,reserved&page_size=100").await;
    assert_eq!(either["items"].as_array().expect("present").len(), 9);
    let powered = list("filter[features]=power&page_size=100").await;
    assert_eq!(
        powered["items"].as_array().expect("present").len(),
        8,
        "multi-select: contains"
    );
    let unmeasured = list("filter[length][empty]=true&page_size=100").await;
    assert_eq!(
        keys(&unmeasured["items"], "name"),
        ["Berth 19", "Berth 14", "Berth 09", "Berth 04"]
    );
    let spring = list("filter[available_from][gte]=2027-03-01&filter[available_from][lte]=2027-04-30&page_size=100").await;
    assert_eq!(spring["items"].as_array().expect("present").len(), 4);
    let fuel = list("search=fuel").await;
    assert_eq!(
        keys(&fuel["items"], "name"),
        ["Berth 07"],
        "text fields are searched, any case"
    );
    let named = list("search=BERTH 2&sort=name").await;
    assert_eq!(
        keys(&named["items"], "name"),
        ["Berth 20", "Berth 21", "Berth 22"]
    );

    // Keyset pages sorted by a field: every record once, those without a value last.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("sort=length&page_size=5&cursor={c}"),
            None => "sort=length&page_size=5".to_owned(),
        };
        let page = list(&q).await;
        seen.extend(keys(&page["items"], "length"));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    let mut expected: Vec<String> = (0..23)
        .filter(|i| i % 5 != 4)
        .map(|i| format!("{}.0", 10 + i))
        .collect();
    expected.extend(std::iter::repeat_n("null".to_owned(), 4));
    assert_eq!(seen, expected);
    // Descending, by date, across every page.
    let mut dates = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("sort=-available_from&page_size=7&cursor={c}"),
            None => "sort=-available_from&page_size=7".to_owned(),
        };
        let page = list(&q).await;
        dates.extend(keys(&page["items"], "available_from"));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates.len(), 23);
    assert_eq!(dates, sorted);

    // What the grammar does not know is a 400, never an empty list.
    for (q, code) in [
        ("filter[draft]=2", "unknown_filter"),
        ("filter[length][near]=2", "unknown_filter"),
        ("filter[length]=long", "invalid_filter"),
        ("filter[status]=sunk", "invalid_filter"),
        ("filter[status][gte]=sold", "invalid_filter"),
        ("filter[length", "invalid_filter"),
        ("sort=features", "unknown_sort"),
        ("sort=depth", "unknown_sort"),
        ("order_by=name", "unknown_parameter"),
        ("page_size=0", "invalid_query"),
        ("cursor=bm90LWEtY3Vyc29y", "invalid_cursor"),
    ] {
        let r = call(
            &t,
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records?{q}"),
            None,
        )
        .await;
        r.assert_problem(StatusCode::BAD_REQUEST, code);
    }
    // A cursor of one order does not continue another.
    let first = list("sort=length&page_size=2").await;
    let c = first["next_cursor"].as_str().expect("present");
    call(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/objects/berth/records?sort=name&cursor={c}"),
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_cursor");
}

#[tokio::test]
async fn a_field_changes_type_only_when_every_value_converts() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "Berth", "plural": "Berths"})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "beam", "label": "Beam", "type": "text"})),
    )
    .await;
    for (name, beam) in [("A", "4.5"), ("B", "5"), ("C", "wide"), ("D", "narrow")] {
        ok(
            &t,
            &owner,
            Method::POST,
            "/api/v1/objects/berth/records",
            Some(json!({"values": {"name": name, "beam": beam}})),
        )
        .await;
    }
    let refused = call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/berth/fields/beam",
        Some(json!({"type": "number"})),
    )
    .await;
    refused.assert_problem(StatusCode::CONFLICT, "field_type_conversion");
    assert_eq!(refused.body["count"], 2);
    let unchanged = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records?filter[beam]=wide",
        None,
    )
    .await;
    assert_eq!(
        unchanged["items"].as_array().expect("present").len(),
        1,
        "nothing was converted"
    );

    for name in ["C", "D"] {
        let rows = ok(
            &t,
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records?search={name}&sort=name"),
            None,
        )
        .await;
        let row = rows["items"]
            .as_array()
            .expect("present")
            .iter()
            .find(|r| r["values"]["name"] == name)
            .expect("present")
            .clone();
        ok(
            &t,
            &owner,
            Method::PATCH,
            &format!(
                "/api/v1/objects/berth/records/{}",
                row["id"].as_str().expect("present")
            ),
            Some(json!({"values": {"beam": null}})),
        )
        .await;
    }
    let field = ok(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/berth/fields/beam",
        Some(json!({"type": "number", "min": 0})),
    )
    .await;
    assert_eq!(field["type"], "number");
    let wide = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records?filter[beam][gte]=4.6&sort=beam",
        None,
    )
    .await;
    assert_eq!(
        keys(&wide["items"], "beam"),
        ["5.0"],
        "converted values are numbers, indexed as such"
    );

    // Archived: hidden, refused on write, kept; restored: back with its values.
    let r = call(
        &t,
        &owner,
        Method::DELETE,
        "/api/v1/objects/berth/fields/beam",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let list = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records?sort=name",
        None,
    )
    .await;
    assert!(list["items"][0]["values"].get("beam").is_none());
    let r = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "E", "beam": 3}})),
    )
    .await;
    assert_eq!(r.body["errors"][0]["field"], "values.beam");
    ok(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/berth/fields/beam",
        Some(json!({"archived": false})),
    )
    .await;
    let list = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records?sort=name",
        None,
    )
    .await;
    assert_eq!(keys(&list["items"], "beam"), ["4.5", "5.0", "null", "null"]);
    let audit = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=field.archived",
        None,
    )
    .await;
    assert_eq!(
        audit["items"][0]["changes"]["archived"],
        json!({"before": false, "after": true})
    );
}

#[tokio::test]
async fn record_events_reach_websocket_subscribers_of_the_object() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "Berth", "plural": "Berths"})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/fields",
        Some(json!({"key": "length", "label": "Length", "type": "number"})),
    )
    .await;
    let berth = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "A1"}})),
    )
    .await;
    let id = berth["id"].as_str().expect("present").to_owned();

    let mut socket = connect_as(&t.base, &owner.access, owner.org()).await;
    let channel = format!("record:berth:{id}");
    assert_eq!(
        socket.subscribe(&channel).await,
        json!({"type": "subscribed", "channel": channel})
    );
    let unknown = socket.subscribe(&format!("record:boat:{id}")).await;
    assert_eq!(unknown["code"], "bad_request");
    let missing = socket
        .subscribe(&format!("record:berth:{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(missing["code"], "not_found");

    ok(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/objects/berth/records/{id}"),
        Some(json!({"values": {"length": 12}})),
    )
    .await;
    let event = loop {
        let e = socket.next_event().await;
        if e["channel"] == channel.as_str() && e["event"] == "record.updated" {
            break e;
        }
    };
    assert_eq!(event["record"], json!({"type": "berth", "id": id}));
    assert_eq!(event["changed"], json!(["length"]));
    assert!(
        event.get("payload").is_none() && event.get("values").is_none(),
        "names, never values: {event}"
    );
}

#[tokio::test]
async fn a_deleted_object_and_its_records_wait_in_recently_deleted() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let kept = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "Kept"}})),
    )
    .await;
    let binned = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "Binned"}})),
    )
    .await;
    let binned_id = binned["id"].as_str().expect("id");
    ok(
        &t,
        &owner,
        Method::DELETE,
        &format!("/api/v1/objects/berth/records/{binned_id}"),
        None,
    )
    .await;
    let trash = ok(&t, &owner, Method::GET, "/api/v1/trash", None).await;
    assert_eq!(trash[0]["record_type"], "berth");
    assert_eq!(trash[0]["kind"], "Berth");
    assert_eq!(trash[0]["name"], "Binned");
    let r = call(
        &t,
        &owner,
        Method::POST,
        &format!("/api/v1/trash/berth/{binned_id}/restore"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/objects/berth/records/{binned_id}"),
        None,
    )
    .await;

    // Deleting the object hides it and its records; only owners and admins may.
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    call(&t, &manager, Method::DELETE, "/api/v1/objects/berth", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(&t, &owner, Method::DELETE, "/api/v1/objects/deal", None)
        .await
        .assert_problem(StatusCode::CONFLICT, "builtin_object");
    let r = call(&t, &owner, Method::DELETE, "/api/v1/objects/berth", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    call(&t, &owner, Method::GET, "/api/v1/objects/berth", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(
        &t,
        &owner,
        Method::GET,
        &format!(
            "/api/v1/objects/berth/records/{}",
            kept["id"].as_str().expect("id")
        ),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let again = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "Berth", "plural": "Berths"})),
    )
    .await;
    again.assert_problem(StatusCode::CONFLICT, "object_key_taken");
    let trash = ok(&t, &owner, Method::GET, "/api/v1/trash", None).await;
    let object = trash
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["record_type"] == "object")
        .expect("the object")
        .clone();
    assert_eq!(object["name"], "Berths");
    assert!(
        trash
            .as_array()
            .expect("items")
            .iter()
            .all(|d| d["record_type"] != "berth"),
        "its records go with it"
    );
    call(
        &t,
        &manager,
        Method::POST,
        &format!(
            "/api/v1/trash/object/{}/restore",
            object["id"].as_str().expect("id")
        ),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = call(
        &t,
        &owner,
        Method::POST,
        &format!(
            "/api/v1/trash/object/{}/restore",
            object["id"].as_str().expect("id")
        ),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let back = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/berth/records?sort=name",
        None,
    )
    .await;
    assert_eq!(keys(&back["items"], "name"), ["Binned", "Kept"]);
    let restored = ok(&t, &owner, Method::GET, "/api/v1/objects/berth", None).await;
    assert_eq!(
        restored["fields"].as_array().expect("fields").len(),
        11,
        "with its fields"
    );
}

#[tokio::test]
async fn rollups_count_and_sum_related_records() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Agency")).await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "campaign", "singular": "Campaign", "plural": "Campaigns"})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "expense", "singular": "Expense", "plural": "Expenses"})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/expense/fields",
        Some(json!({"key": "amount", "label": "Amount", "type": "money"})),
    )
    .await;
    ok(&t, &owner, Method::POST, "/api/v1/objects/expense/fields",
        Some(json!({"key": "campaign", "label": "Campaign", "type": "relation", "target": "campaign"}))).await;
    let bad = call(&t, &owner, Method::POST, "/api/v1/objects/campaign/fields",
        Some(json!({"key": "spent", "label": "Spent", "type": "rollup", "rollup": {"object": "expense", "via": "amount", "function": "sum", "field": "amount"}}))).await;
    assert_eq!(bad.body["errors"][0]["field"], "rollup.via", "{}", bad.text);
    ok(&t, &owner, Method::POST, "/api/v1/objects/campaign/fields",
        Some(json!({"key": "spent", "label": "Spent", "type": "rollup", "rollup": {"object": "expense", "via": "campaign", "function": "sum", "field": "amount"}}))).await;
    ok(&t, &owner, Method::POST, "/api/v1/objects/campaign/fields",
        Some(json!({"key": "expenses", "label": "Expenses", "type": "rollup", "rollup": {"object": "expense", "via": "campaign", "function": "count"}}))).await;
    let spring = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/campaign/records",
        Some(json!({"values": {"name": "Spring"}})),
    )
    .await;
    let quiet = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/campaign/records",
        Some(json!({"values": {"name": "Quiet"}})),
    )
    .await;
    let spring_id = spring["id"].as_str().expect("id");
    let mut last = String::new();
    for amount in [120.5, 79.5, 300.0] {
        let e = ok(
            &t,
            &owner,
            Method::POST,
            "/api/v1/objects/expense/records",
            Some(json!({"values": {"name": "Print", "amount": amount, "campaign": spring_id}})),
        )
        .await;
        last = e["id"].as_str().expect("id").to_owned();
    }
    let read = ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/objects/campaign/records/{spring_id}"),
        None,
    )
    .await;
    assert_eq!(read["values"]["spent"], 500.0);
    assert_eq!(read["values"]["expenses"], 3.0);
    let set = call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/objects/campaign/records/{spring_id}"),
        Some(json!({"values": {"spent": 1}})),
    )
    .await;
    assert_eq!(set.body["errors"][0]["field"], "values.spent");
    ok(
        &t,
        &owner,
        Method::DELETE,
        &format!("/api/v1/objects/expense/records/{last}"),
        None,
    )
    .await;
    let list = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/campaign/records?sort=name",
        None,
    )
    .await;
    assert_eq!(keys(&list["items"], "name"), ["Quiet", "Spring"]);
    assert_eq!(list["items"][0]["values"]["spent"], Value::Null);
    assert_eq!(list["items"][0]["values"]["expenses"], 0);
    assert_eq!(
        list["items"][1]["values"]["spent"], 200.0,
        "a deleted expense no longer counts"
    );
    assert_eq!(list["items"][1]["values"]["expenses"], 2.0);
    assert_eq!(quiet["values"]["expenses"], 0);
}

#[tokio::test]
async fn record_events_are_delivered_to_webhooks() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_WEBHOOK_ALLOW_PRIVATE", "true".into())],
        ..crate::support::Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "berth", "singular": "Berth", "plural": "Berths"})),
    )
    .await;
    let receiver = crate::support::receiver::Receiver::start(&[]).await;
    let hook = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": receiver.url, "event_types": ["record.created"]})),
    )
    .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let berth = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "A1"}})),
    )
    .await;
    let got = receiver.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["type"], "record.created");
    assert_eq!(
        body["data"]["record"],
        json!({"type": "berth", "id": berth["id"]})
    );
}

#[tokio::test]
async fn records_and_objects_deleted_long_ago_are_purged_with_their_values() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let old = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "Old", "code": "OLD-1"}})),
    )
    .await;
    let old_id: rapport_domain::RecordId = old["id"].as_str().expect("id").parse().expect("uuid");
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "boat", "singular": "Boat", "plural": "Boats"})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/boat/records",
        Some(json!({"values": {"name": "Sea Breeze"}})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::DELETE,
        &format!("/api/v1/objects/berth/records/{old_id}"),
        None,
    )
    .await;
    ok(&t, &owner, Method::DELETE, "/api/v1/objects/boat", None).await;

    // Thirty-one days pass.
    let org: rapport_domain::OrganizationId = owner.org().parse().expect("id");
    let long_ago = rapport_store::now() - chrono::TimeDelta::days(31);
    let mut tx = t.app.db.tenant(org).await.expect("tx");
    rapport_store::records::set_deleted(&mut tx, old_id, Some(long_ago))
        .await
        .expect("backdate");
    let boat = rapport_store::objects::find_by_key(&mut tx, "boat")
        .await
        .expect("read")
        .expect("the boat object");
    rapport_store::objects::set_deleted(&mut tx, boat.id, Some(long_ago))
        .await
        .expect("backdate");
    tx.commit().await.expect("commit");

    assert!(
        t.app.purge_deleted_records().await.expect("purge") >= 3,
        "the record, the boat, its record"
    );
    let trash = ok(&t, &owner, Method::GET, "/api/v1/trash", None).await;
    assert_eq!(trash, json!([]));
    let mut tx = t.app.db.tenant(org).await.expect("tx");
    assert!(
        rapport_store::objects::find_by_key(&mut tx, "boat")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        rapport_store::objects::fields_of(&mut tx, "boat")
            .await
            .expect("read")
            .is_empty()
    );
    tx.commit().await.expect("commit");
    // The key is free again, and so is the purged record's unique value.
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects",
        Some(json!({"key": "boat", "singular": "Boat", "plural": "Boats"})),
    )
    .await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "New", "code": "OLD-1"}})),
    )
    .await;
}

/// The plans of custom objects' lists seek through indexes on both engines: a page deep in a
/// field's order starts its walk of the value index at the cursor, a page in time order at its
/// cursor, and a rare filter is read from the value index.
#[tokio::test]
async fn list_statements_seek_through_the_value_indexes() {
    use rapport_store::records::{
        After, Column, Comparison, Condition, Operand, RecordQuery, Sort,
    };
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    for i in 0..5 {
        ok(
            &t,
            &owner,
            Method::POST,
            "/api/v1/objects/berth/records",
            Some(json!({"values": {"name": format!("B{i}"), "length": 10 + i, "status": "sold"}})),
        )
        .await;
    }
    let (mut tx, fields) = planning(&t, &owner, "berth").await;
    let object = rapport_store::objects::find_by_key(&mut tx, "berth")
        .await
        .expect("read")
        .expect("berth");
    let id_of = |key: &str| fields.iter().find(|f| f.key == key).expect("field").id;
    let postgres = tx.backend() == rapport_store::Backend::Postgres;
    let last = rapport_domain::RecordId::new();
    let status = [Condition::Compare {
        field: id_of("status"),
        op: Comparison::Eq,
        value: Operand::Txt("sold".into()),
    }];
    let mut cases: Vec<(&str, RecordQuery<'_>, &str)> = vec![
        (
            "by length, after 40",
            RecordQuery {
                object_id: object.id,
                conditions: &[],
                owners: None,
                driver: None,
                search: None,
                from_text_matches: false,
                search_titles: false,
                sort: Sort::Field {
                    field: id_of("length"),
                    column: Column::Num,
                },
                descending: false,
                after: Some(After::Value(Operand::Num(40.0), last)),
                limit: 25,
            },
            "record_values_num",
        ),
        (
            "newest first, after a time",
            RecordQuery {
                object_id: object.id,
                conditions: &[],
                owners: None,
                driver: None,
                search: None,
                from_text_matches: false,
                search_titles: false,
                sort: Sort::Created,
                descending: true,
                after: Some(After::Time(chrono::Utc::now(), last)),
                limit: 25,
            },
            "records_created",
        ),
        (
            "read from a rare status",
            RecordQuery {
                object_id: object.id,
                conditions: &status,
                owners: None,
                driver: Some(0),
                search: None,
                from_text_matches: false,
                search_titles: false,
                sort: Sort::Created,
                descending: true,
                after: None,
                limit: 25,
            },
            "record_values_txt",
        ),
    ];
    if !postgres {
        // A rare phrase SQLite finds through its text index is read from the matches by rowid,
        // not by walking every record of the object and testing each.
        cases.push((
            "a rare phrase through the text index",
            RecordQuery {
                object_id: object.id,
                conditions: &[],
                owners: None,
                driver: None,
                search: Some(("b3 sold", rapport_store::text::Strategy::Index)),
                from_text_matches: true,
                search_titles: false,
                sort: Sort::Created,
                descending: true,
                after: None,
                limit: 25,
            },
            "INTEGER PRIMARY KEY",
        ));
    }
    for (what, rq, index) in cases {
        let statements = rapport_store::records::statements(&tx, &rq).expect("statements");
        let first = statements.into_iter().next().expect("a statement");
        let lines = plan_lines(&mut tx, first).await;
        let seeks = lines.iter().any(|l| {
            l.contains(index)
                && if postgres {
                    l.contains("Index")
                } else {
                    l.contains("SEARCH")
                }
        });
        assert!(
            seeks,
            "{what}: no seek through {index}:\n{}",
            lines.join("\n")
        );
        if index == "record_values_num" {
            // The cursor bounds the walk: the index condition names the value.
            let bounded = if postgres {
                lines
                    .iter()
                    .any(|l| l.contains("Index Cond") && l.contains("num >="))
            } else {
                lines
                    .iter()
                    .any(|l| l.contains("record_values_num") && l.contains("num>?"))
            };
            assert!(
                bounded,
                "{what}: the cursor does not bound the walk:\n{}",
                lines.join("\n")
            );
        }
    }
    tx.commit().await.expect("commit");
}

/// A tenant transaction of the owner's organization in which plans are read, and the fields of
/// `object`. On PostgreSQL sequential scans are off: a handful of rows would be read whole, and
/// the plans must still be able to seek.
async fn planning(
    t: &TestApp,
    owner: &Account,
    object: &str,
) -> (
    rapport_store::TenantTx,
    Vec<rapport_store::objects::FieldRow>,
) {
    let org: rapport_domain::OrganizationId = owner.org().parse().expect("id");
    let mut tx = t.app.db.tenant(org).await.expect("tx");
    let fields = rapport_store::objects::fields_of(&mut tx, object)
        .await
        .expect("fields");
    if tx.backend() == rapport_store::Backend::Postgres {
        tx.raw()
            .execute(rapport_store::query("SET LOCAL enable_seqscan = off"))
            .await
            .expect("set");
    }
    (tx, fields)
}

/// The plan of a statement as the engine explains it, a line each.
async fn plan_lines(tx: &mut rapport_store::TenantTx, q: rapport_store::Query) -> Vec<String> {
    if tx.backend() == rapport_store::Backend::Postgres {
        #[derive(sqlx::FromRow)]
        struct Line {
            #[sqlx(rename = "QUERY PLAN")]
            line: String,
        }
        let plan: Vec<Line> = tx
            .raw()
            .fetch_all(q.wrap(|sql| format!("EXPLAIN {sql}")))
            .await
            .expect("explain");
        plan.into_iter().map(|l| l.line).collect()
    } else {
        #[derive(sqlx::FromRow)]
        struct Line {
            detail: String,
        }
        let plan: Vec<Line> = tx
            .raw()
            .fetch_all(q.wrap(|sql| format!("EXPLAIN QUERY PLAN {sql}")))
            .await
            .expect("explain");
        plan.into_iter().map(|l| l.detail).collect()
    }
}

/// A built-in list sorted by a custom value walks the field's index from the cursor, filters
/// by another custom value through the index, and finds the records without a value by probing
/// it, on both engines.
#[tokio::test]
async fn built_in_lists_by_custom_values_seek_through_the_value_index() {
    use rapport_store::keyset::SortValue;
    use rapport_store::records::{Column, Comparison, Condition, Operand};
    use rapport_store::tables::{ValueSort, value_statements};
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    contacts_with_custom_values(&t, &owner).await;
    let (mut tx, fields) = planning(&t, &owner, "contact").await;
    let id_of = |key: &str| fields.iter().find(|f| f.key == key).expect("field").id;
    let postgres = tx.backend() == rapport_store::Backend::Postgres;
    let since = [Condition::Compare {
        field: id_of("since"),
        op: Comparison::Gte,
        value: Operand::Txt("2024-01-01".into()),
    }];
    let sort = ValueSort {
        field: id_of("length"),
        column: Column::Num,
        descending: false,
    };
    let cursor = SortValue::Num(10.0);
    let statements = value_statements::<rapport_store::contacts::Contact>(
        &tx,
        &rapport_store::contacts::ContactFilter::default(),
        &since,
        sort,
        Some((&cursor, uuid::Uuid::now_v7())),
        25,
    );
    assert_eq!(
        statements.len(),
        2,
        "the values, then the records without one"
    );
    let mut plans = Vec::new();
    for q in statements {
        plans.push(plan_lines(&mut tx, q).await);
    }
    tx.commit().await.expect("commit");
    let (valued, empty) = (&plans[0], &plans[1]);
    // What a line of each plan must say: a walk bounded by the cursor, probes by record.
    let probe = if postgres {
        ["Index Cond", "record_id = contacts.id"]
    } else {
        ["record_values_record", "record_id=?"]
    };
    let walk = if postgres {
        ["Index Cond", "num >="]
    } else {
        ["record_values_num", "num>?"]
    };
    let checks = [
        (
            "the sort walks the number index from the cursor",
            valued,
            walk,
        ),
        ("the filter probes the index by record", valued, probe),
        (
            "the records without a value are found by probes",
            empty,
            probe,
        ),
    ];
    for (what, plan, words) in checks {
        let found = plan.iter().any(|l| words.iter().all(|w| l.contains(w)));
        assert!(found, "{what}:\n{}", plan.join("\n"));
    }
}

#[tokio::test]
async fn built_in_records_take_custom_values_checked_by_the_registry() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let berth = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/berth/records",
        Some(json!({"values": {"name": "A-12"}})),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for field in [
        json!({"key": "boat", "label": "Boat name", "type": "text", "max": 40}),
        json!({"key": "tier", "label": "Tier", "type": "select", "options": [{"label": "Gold"}, {"label": "Silver"}], "default": "silver"}),
        json!({"key": "budget", "label": "Budget", "type": "money"}),
        json!({"key": "berth", "label": "Berth", "type": "relation", "target": "berth"}),
    ] {
        let r = call(
            &t,
            &owner,
            Method::POST,
            "/api/v1/objects/contact/fields",
            Some(field),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    // Created with custom values: typed, defaults applied.
    let c = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Ann Berg", "custom": {"boat": "Sea Breeze", "budget": 1200.5, "berth": berth}})),
    )
    .await;
    let id = c["id"].as_str().expect("id").to_owned();
    assert_eq!(c["custom"]["boat"], "Sea Breeze");
    assert_eq!(c["custom"]["tier"], "silver", "the default");
    assert_eq!(
        c["custom"]["budget"],
        json!({"amount": 1200.5, "currency": "EUR"})
    );
    assert_eq!(c["custom"]["berth"], berth.as_str());
    // Each wrong value named; unknown keys and system fields refused; nothing written.
    let r = call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"custom": {"boat": "x".repeat(41), "tier": "bronze", "name": "Bob", "berth": id}})),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: HashSet<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["custom.boat", "custom.tier", "custom.name"]),
        "{}",
        r.text
    );
    // A change refused for its own fields names its wrong custom values too.
    let r = call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"name": "", "custom": {"boat": "x".repeat(41)}})),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: HashSet<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, HashSet::from(["name", "custom.boat"]), "{}", r.text);
    let r = call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"custom": {"berth": id}})),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "custom.berth");
    // Changed and cleared: only the keys given change; the audit names them.
    let c = ok(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"title": "Skipper", "custom": {"tier": "gold", "budget": null}})),
    )
    .await;
    assert_eq!(c["custom"]["tier"], "gold");
    assert_eq!(c["custom"]["boat"], "Sea Breeze");
    assert!(c["custom"].get("budget").is_none(), "{}", c["custom"]);
    let audit = call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=contact.updated",
        None,
    )
    .await;
    let changes = &audit.body["items"][0]["changes"];
    assert_eq!(
        changes["custom.tier"],
        json!({"before": "silver", "after": "gold"}),
        "{changes}"
    );
    assert_eq!(changes["title"]["after"], "Skipper");
    // The CSV export ends with the custom fields, values as people read them.
    let r = call(&t, &owner, Method::GET, "/api/v1/contacts/export.csv", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lines: Vec<&str> = r.text.lines().collect();
    assert!(
        lines[0].ends_with(",Boat name,Tier,Budget,Berth"),
        "{}",
        lines[0]
    );
    assert!(lines[1].ends_with(",Sea Breeze,Gold,,A-12"), "{}", lines[1]);
    // Deals, leads, companies and tasks take them the same way.
    call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/deal/fields",
        Some(json!({"key": "boat_length", "label": "Boat length", "type": "number", "min": 0})),
    )
    .await;
    let r = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"title": "Winter berth", "custom": {"boat_length": -1}})),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "custom.boat_length");
    let d = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"title": "Winter berth", "custom": {"boat_length": 12}})),
    )
    .await;
    assert_eq!(d["custom"]["boat_length"], json!(12.0));
}

/// The names of a list answer's items, in order.
fn item_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["values"]["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Three contacts with custom values of several types: Ann (licence AB-1, 12 m, since
/// 2024-01-10, a VIP), Bob (CD-2, 8.5 m, since 2025-06-01), Cy (none).
async fn contacts_with_custom_values(t: &TestApp, owner: &Account) -> Vec<String> {
    for field in [
        json!({"key": "licence", "label": "Licence", "type": "text", "unique": true}),
        json!({"key": "length", "label": "Boat length", "type": "number"}),
        json!({"key": "since", "label": "Client since", "type": "date"}),
        json!({"key": "vip", "label": "VIP", "type": "boolean"}),
        json!({"key": "crafts", "label": "Crafts", "type": "multi_select", "options": [{"label": "Sail"}, {"label": "Motor"}]}),
        json!({"key": "met_at", "label": "Met at", "type": "datetime"}),
        json!({"key": "budget", "label": "Budget", "type": "money"}),
    ] {
        let r = call(
            t,
            owner,
            Method::POST,
            "/api/v1/objects/contact/fields",
            Some(field),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let mut ids = Vec::new();
    for body in [
        json!({"name": "Ann Berg", "custom": {"licence": "AB-1", "length": 12, "since": "2024-01-10", "vip": true, "crafts": ["sail", "motor"], "met_at": "2024-01-10T09:30:00Z", "budget": 1200.5}}),
        json!({"name": "Bob Lund", "custom": {"licence": "CD-2", "length": 8.5, "since": "2025-06-01", "vip": false, "crafts": ["motor"]}}),
        json!({"name": "Cy Holm"}),
    ] {
        let c = ok(t, owner, Method::POST, "/api/v1/contacts", Some(body)).await;
        ids.push(c["id"].as_str().expect("id").to_owned());
    }
    ids
}

/// A built-in kind's custom values are in the value index like a custom record's: lists filter
/// them by equality, ranges and emptiness, a unique field refuses a second holder (deleting
/// frees the value, restoring is refused while another holds it), and a field's type changes
/// when every value converts.
#[tokio::test]
async fn built_in_custom_values_are_indexed_for_filters_unique_values_and_type_changes() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let ids = contacts_with_custom_values(&t, &owner).await;
    let (ann, bob) = (&ids[0], &ids[1]);
    let list = |query: &'static str| {
        let t = &t;
        let owner = &owner;
        async move {
            let path = format!("/api/v1/objects/contact/records?sort=name&{query}");
            item_names(&ok(t, owner, Method::GET, &path, None).await)
        }
    };
    assert_eq!(list("filter[length][gte]=10").await, ["Ann Berg"]);
    assert_eq!(
        list("filter[length][lt]=10&filter[vip]=false").await,
        ["Bob Lund"]
    );
    assert_eq!(list("filter[since][lt]=2025-01-01").await, ["Ann Berg"]);
    assert_eq!(list("filter[vip]=true").await, ["Ann Berg"]);
    assert_eq!(
        list("filter[licence]=ab-1").await,
        ["Ann Berg"],
        "text ignores case"
    );
    assert_eq!(list("filter[licence][empty]=true").await, ["Cy Holm"]);
    assert_eq!(list("filter[crafts]=motor").await, ["Ann Berg", "Bob Lund"]);
    assert_eq!(
        list("filter[met_at][gte]=2024-01-10T09:00:00Z").await,
        ["Ann Berg"]
    );
    assert_eq!(list("filter[budget][gt]=1000").await, ["Ann Berg"]);
    call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?filter[length][gte]=long",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_filter");

    // Sorted by a custom value: values in order, records without one last; one record a page,
    // the cursors walk across both parts.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => {
                format!("/api/v1/objects/contact/records?sort=length&page_size=1&cursor={c}")
            }
            None => "/api/v1/objects/contact/records?sort=length&page_size=1".to_owned(),
        };
        let page = ok(&t, &owner, Method::GET, &path, None).await;
        walked.extend(item_names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(walked.len() < 5, "{walked:?}");
    }
    assert_eq!(walked, ["Bob Lund", "Ann Berg", "Cy Holm"]);
    assert_eq!(
        item_names(
            &ok(
                &t,
                &owner,
                Method::GET,
                "/api/v1/objects/contact/records?sort=-length",
                None
            )
            .await
        ),
        ["Ann Berg", "Bob Lund", "Cy Holm"]
    );
    assert_eq!(
        item_names(
            &ok(
                &t,
                &owner,
                Method::GET,
                "/api/v1/objects/contact/records?sort=-since&filter[vip]=false",
                None
            )
            .await
        ),
        ["Bob Lund"]
    );
    call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?sort=crafts",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "unknown_sort");

    // Unique: a second holder is refused on create and on change, whatever the case.
    call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Dee Falk", "custom": {"licence": "ab-1"}})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "field_not_unique");
    call(
        &t,
        &owner,
        Method::PATCH,
        &format!("/api/v1/contacts/{bob}"),
        Some(json!({"custom": {"licence": "AB-1"}})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "field_not_unique");
    // Deleting Ann frees her licence and takes her out of filtered lists; restoring her is
    // refused while Dee holds it, and allowed once Dee is gone.
    let r = call(
        &t,
        &owner,
        Method::DELETE,
        &format!("/api/v1/contacts/{ann}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(list("filter[length][gte]=10").await.is_empty());
    let dee = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Dee Falk", "custom": {"licence": "AB-1"}})),
    )
    .await;
    let restore = format!("/api/v1/trash/contact/{ann}/restore");
    call(&t, &owner, Method::POST, &restore, None)
        .await
        .assert_problem(StatusCode::CONFLICT, "field_not_unique");
    let dee_path = format!("/api/v1/contacts/{}", dee["id"].as_str().expect("id"));
    let r = call(&t, &owner, Method::DELETE, &dee_path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = call(&t, &owner, Method::POST, &restore, None).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    assert_eq!(list("filter[length][gte]=10").await, ["Ann Berg"]);

    // A type change converts every value or refuses with the count that would not convert.
    let r = call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/contact/fields/licence",
        Some(json!({"type": "number"})),
    )
    .await;
    r.assert_problem(StatusCode::CONFLICT, "field_type_conversion");
    assert!(r.text.contains("2 values"), "{}", r.text);
    let r = call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/objects/contact/fields/length",
        Some(json!({"type": "text"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ann_now = ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/contacts/{ann}"),
        None,
    )
    .await;
    assert_eq!(ann_now["custom"]["length"], "12");
    assert_eq!(list("filter[length]=8.5").await, ["Bob Lund"]);
}

/// Values stored before built-in kinds' custom values were indexed get their index rows from
/// the migration that introduced it: the rows it writes are those the application writes.
#[tokio::test]
async fn the_migration_indexes_built_in_custom_values_stored_before() {
    #[derive(sqlx::FromRow, Debug, PartialEq, PartialOrd)]
    struct IndexRow {
        record_id: uuid::Uuid,
        field_id: uuid::Uuid,
        num: Option<f64>,
        txt: Option<String>,
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    contacts_with_custom_values(&t, &owner).await;
    let deleted = t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Gone", "custom": {"licence": "X-9"}}),
        )
        .await;
    let r = call(
        &t,
        &owner,
        Method::DELETE,
        &format!("/api/v1/contacts/{}", deleted["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let read = "SELECT record_id, field_id, num, txt FROM record_values \
                WHERE field_id IN (SELECT id FROM fields WHERE object_key = 'contact') \
                ORDER BY record_id, field_id, txt, num";
    let mut tx = t.app.db.platform().await.expect("tx");
    let written: Vec<IndexRow> = tx
        .fetch_all(rapport_store::query(read))
        .await
        .expect("rows");
    assert!(written.len() >= 11, "{written:?}");
    tx.execute(rapport_store::query(
        "DELETE FROM record_values WHERE field_id IN (SELECT id FROM fields WHERE object_key = 'contact')",
    ))
    .await
    .expect("delete");
    let migration = match tx.backend() {
        rapport_store::Backend::Postgres => {
            include_str!("../../../store/migrations/postgres/0021_builtin_value_index.sql")
        }
        rapport_store::Backend::Sqlite => {
            include_str!("../../../store/migrations/sqlite/0021_builtin_value_index.sql")
        }
    };
    tx.execute(rapport_store::query(migration))
        .await
        .expect("backfill");
    let backfilled: Vec<IndexRow> = tx
        .fetch_all(rapport_store::query(read))
        .await
        .expect("rows");
    tx.commit().await.expect("commit");
    assert_eq!(backfilled, written);
}

/// The built-in objects answer under `/objects/{object}/records` in the record shape, through the
/// same path as their own endpoints: system fields and custom values together under `values`.
#[tokio::test]
async fn built_in_objects_answer_in_the_record_shape() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/contact/fields",
        Some(json!({"key": "boat", "label": "Boat", "type": "text"})),
    )
    .await;
    let company = t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Harbour Works"}),
        )
        .await;
    let r = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/contact/records",
        Some(json!({"values": {
            "name": "Marta Ruiz", "email": "marta@example.com",
            "company_id": company["id"], "boat": "Sea Breeze"
        }})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["object"], "contact");
    assert_eq!(r.body["title"], "Marta Ruiz");
    assert_eq!(r.body["values"]["email"], "marta@example.com");
    assert_eq!(r.body["values"]["company_id"], company["id"]);
    assert_eq!(r.body["values"]["boat"], "Sea Breeze");
    let marta = r.body["id"].as_str().expect("id").to_owned();

    // The same contact through its own endpoint: the custom value under `custom`.
    let own = ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/contacts/{marta}"),
        None,
    )
    .await;
    assert_eq!(own["custom"]["boat"], "Sea Breeze");
    assert_eq!(own["owner_id"], r.body["owner_id"]);

    // Only the keys given change; `null` clears a custom value.
    let path = format!("/api/v1/objects/contact/records/{marta}");
    let changed = ok(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"values": {"title": "Skipper", "boat": null}})),
    )
    .await;
    assert_eq!(changed["values"]["title"], "Skipper");
    assert_eq!(changed["values"]["email"], "marta@example.com");
    assert!(changed["values"]["boat"].is_null(), "{changed}");
    let read = ok(&t, &owner, Method::GET, &path, None).await;
    assert_eq!(read["values"]["title"], "Skipper");

    // Errors name `values.<key>`, system fields and custom ones alike; nothing is written.
    let bad = call(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"values": {"email": "not-an-email", "title": "Harbour master"}})),
    )
    .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        bad.body["errors"][0]["field"], "values.email",
        "{}",
        bad.text
    );
    let bad = call(
        &t,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"values": {"mooring": "B12"}})),
    )
    .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        bad.body["errors"][0]["field"], "values.mooring",
        "{}",
        bad.text
    );
    let read = ok(&t, &owner, Method::GET, &path, None).await;
    assert_eq!(read["values"]["title"], "Skipper");

    // Money is {amount, currency}; a task's owner is its assignee.
    let deal = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/deal/records",
        Some(json!({"values": {"title": "Berth 12", "amount": {"amount": 1200.5}, "contact_id": marta}})),
    )
    .await;
    assert_eq!(deal["values"]["amount"]["amount"], 1200.5);
    assert!(deal["values"]["amount"]["currency"].is_string(), "{deal}");
    assert_eq!(deal["values"]["status"], "new");
    let task = ok(
        &t,
        &owner,
        Method::POST,
        "/api/v1/objects/task/records",
        Some(json!({"values": {"title": "Call Marta", "contact_id": marta}})),
    )
    .await;
    assert_eq!(task["owner_id"], task["values"]["assignee_id"]);
    assert_eq!(task["values"]["is_done"], false);

    // Lists: sort, keyset pages, search, equality filters; other operators are refused.
    let ana = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Ana Lopez"}))
        .await;
    let first = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?sort=name&page_size=1",
        None,
    )
    .await;
    assert_eq!(first["items"][0]["values"]["name"], "Ana Lopez");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = ok(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/objects/contact/records?sort=name&page_size=1&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(second["items"][0]["values"]["name"], "Marta Ruiz");
    assert!(second["next_cursor"].is_null(), "{second}");
    let descending = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?sort=-name",
        None,
    )
    .await;
    assert_eq!(descending["items"][0]["values"]["name"], "Marta Ruiz");
    let found = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?search=marta",
        None,
    )
    .await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1));
    let at_company = ok(
        &t,
        &owner,
        Method::GET,
        &format!(
            "/api/v1/objects/contact/records?filter[company_id]={}",
            company["id"].as_str().expect("id")
        ),
        None,
    )
    .await;
    assert_eq!(at_company["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(at_company["items"][0]["id"], marta.as_str());
    let won = ok(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/deal/records?filter[status][in]=new,won",
        None,
    )
    .await;
    assert_eq!(won["items"][0]["values"]["title"], "Berth 12");
    call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?filter[name][gte]=b",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "unknown_filter");
    call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?filter[berth]=12",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");

    // Deleted to recently deleted and back; the contacts' deals guard holds here too.
    let ana_path = format!(
        "/api/v1/objects/contact/records/{}",
        ana["id"].as_str().expect("id")
    );
    let r = call(&t, &owner, Method::DELETE, &ana_path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    call(&t, &owner, Method::GET, &ana_path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let back = ok(
        &t,
        &owner,
        Method::POST,
        &format!("{ana_path}/restore"),
        None,
    )
    .await;
    assert_eq!(back["values"]["name"], "Ana Lopez");
    call(&t, &owner, Method::DELETE, &path, None)
        .await
        .assert_problem(StatusCode::CONFLICT, "contact_has_deals");

    // Another organization's records are not found here.
    let other = t.register("other@example.com", Some("Other")).await;
    call(&t, &other, Method::GET, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let theirs = ok(
        &t,
        &other,
        Method::GET,
        "/api/v1/objects/contact/records",
        None,
    )
    .await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0));
}
