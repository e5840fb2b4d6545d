//! Roles as data: the system roles and their matrices, custom roles created from a copy,
//! assigned to members, invitations and API keys, enforced, tuned and deleted.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, Resp, TestApp};

async fn call(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Resp {
    t.org_call(who, method, path, body).await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

#[tokio::test]
async fn the_system_roles_read_as_the_contracts_table_cell_by_cell() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    t.create(
        &owner,
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    // Every member reads the roles; the five system roles come first.
    let list = call(&t, &member, Method::GET, "/api/v1/roles", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().expect("items");
    let keys: Vec<&str> = items.iter().filter_map(|r| r["key"].as_str()).collect();
    assert_eq!(keys, ["owner", "admin", "manager", "member", "viewer"]);
    let role = |key: &str| {
        items
            .iter()
            .find(|r| r["key"] == key)
            .expect("role")
            .clone()
    };
    assert_eq!(role("owner")["editable"], false);
    assert_eq!(role("member")["members"], 1);
    let m = role("member")["permissions"].clone();
    assert_eq!(m["deal"]["view"], "all");
    assert_eq!(m["deal"]["edit"], "own");
    assert_eq!(m["deal"]["change_stage"], "own");
    assert_eq!(m["lead"]["convert"], "own");
    assert_eq!(m["berth"]["delete"], "own", "custom objects have a row");
    assert!(
        m["company"].get("change_stage").is_none(),
        "deals' own action"
    );
    let v = role("viewer")["permissions"].clone();
    assert_eq!(v["contact"]["view"], "all");
    assert_eq!(v["contact"]["create"], "none");
    assert_eq!(role("manager")["permissions"]["task"]["delete"], "all");
}

#[tokio::test]
async fn a_custom_role_is_a_copy_given_to_members_and_enforced_on_records() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let created = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(
            json!({"name": "Finance", "description": "Invoices and expenses, no pipelines",
                    "copy_of": "viewer",
                    "permissions": {"deal": {"view": "none"}, "contact": {"edit": "all"}}}),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["key"], "finance");
    assert_eq!(created.body["level"], "viewer");
    assert_eq!(created.body["system"], false);
    assert_eq!(created.body["permissions"]["deal"]["view"], "none");
    assert_eq!(created.body["permissions"]["company"]["view"], "all");
    assert_eq!(created.body["permissions"]["contact"]["delete"], "none");
    // The same name again, or a system role's, is refused.
    for name in ["Finance", "Admin"] {
        call(
            &t,
            &owner,
            Method::POST,
            "/api/v1/roles",
            Some(json!({"name": name})),
        )
        .await
        .assert_problem(StatusCode::CONFLICT, "role_key_taken");
    }

    let fiona = t.member(&owner, "fiona@example.com", "finance").await;
    let members = t
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            None,
        )
        .await;
    assert!(
        members
            .body
            .as_array()
            .expect("members")
            .iter()
            .any(|m| m["email"] == "fiona@example.com" && m["role"] == "finance"),
        "{}",
        members.text
    );
    let here = call(&t, &fiona, Method::GET, "/api/v1/organization", None).await;
    assert_eq!(here.body["role"], "finance");

    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Berth 12"}))
        .await;
    let contact = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Marta Ruiz"}))
        .await;
    // No pipelines: deals are refused, one by one and as a list.
    call(&t, &fiona, Method::GET, "/api/v1/deals", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(
        &t,
        &fiona,
        Method::GET,
        &format!("/api/v1/deals/{}", id(&deal)),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Contacts: changed, even someone else's; not deleted, not created.
    let changed = call(
        &t,
        &fiona,
        Method::PATCH,
        &format!("/api/v1/contacts/{}", id(&contact)),
        Some(json!({"phone": "+34 600 000 000"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    call(
        &t,
        &fiona,
        Method::DELETE,
        &format!("/api/v1/contacts/{}", id(&contact)),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(
        &t,
        &fiona,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "New"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // A viewer-level role administers nothing.
    call(
        &t,
        &fiona,
        Method::PATCH,
        "/api/v1/roles/finance",
        Some(json!({"permissions": {"deal": {"view": "all"}}})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Every change is audited, the refusals with the role that was refused.
    let audit = call(&t, &owner, Method::GET, "/api/v1/audit", None).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"role.created"), "{actions:?}");
    let denied = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "permission.denied")
        .expect("a denial");
    assert_eq!(denied["changes"]["role"], "finance", "{denied}");
}

#[tokio::test]
async fn tuning_a_system_role_applies_at_once_and_the_owner_role_stays_as_it_is() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Refit", "amount": 100}),
        )
        .await;
    let path = format!("/api/v1/deals/{}", id(&deal));
    call(
        &t,
        &member,
        Method::PATCH,
        &path,
        Some(json!({"title": "Mine now?"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let tuned = call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"permissions": {"deal": {"edit": "all", "change_stage": "none"}}})),
    )
    .await;
    assert_eq!(tuned.status, StatusCode::OK, "{}", tuned.text);
    assert_eq!(tuned.body["permissions"]["deal"]["edit"], "all");
    assert_eq!(tuned.body["permissions"]["contact"]["edit"], "own");
    // Members may now change anyone's deal, but not move it.
    let r = call(
        &t,
        &member,
        Method::PATCH,
        &path,
        Some(json!({"title": "Refit 2027"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    call(
        &t,
        &member,
        Method::PATCH,
        &path,
        Some(json!({"stage": "proposal"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(
        &t,
        &member,
        Method::PATCH,
        &path,
        Some(json!({"status": "won"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let stored = call(&t, &owner, Method::GET, &path, None).await;
    assert_eq!(
        stored.body["stage"], "qualification",
        "nothing was half-written"
    );
    assert_eq!(stored.body["status"], "new");
    // Nor made straight into a later stage, or already won; the first stage is theirs to use.
    for body in [
        json!({"title": "Later", "stage": "proposal"}),
        json!({"title": "Done", "status": "won", "amount": 10}),
    ] {
        call(&t, &member, Method::POST, "/api/v1/deals", Some(body))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let first = call(
        &t,
        &member,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"title": "New"})),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let deals = call(&t, &owner, Method::GET, "/api/v1/deals", None).await;
    assert_eq!(
        deals.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        deals.text
    );

    // Handing a record to someone else is for roles that change anyone's records of its kind.
    let given = json!({"name": "For the owner", "owner_id": owner.user_id});
    let r = call(
        &t,
        &member,
        Method::POST,
        "/api/v1/contacts",
        Some(given.clone()),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(r.text.contains("owner_id"), "{}", r.text);
    call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"permissions": {"contact": {"edit": "all"}}})),
    )
    .await;
    let r = call(&t, &member, Method::POST, "/api/v1/contacts", Some(given)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["owner_id"], owner.user_id.as_str());

    // The owner role is never changed; a system role keeps its name; nonsense is named.
    call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/owner",
        Some(json!({"permissions": {"deal": {"view": "none"}}})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "role_not_editable");
    call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"name": "Sales"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "system_role");
    for (cells, says) in [
        (json!({"deal": {"fly": "all"}}), "fly"),
        (json!({"deal": {"edit": "most"}}), "most"),
        (json!({"deal": {"edit": "everyone"}}), "everyone"),
        (json!({"deal": {"create": "own"}}), "create"),
    ] {
        let r = call(
            &t,
            &owner,
            Method::PATCH,
            "/api/v1/roles/member",
            Some(json!({ "permissions": cells })),
        )
        .await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(r.text.contains(says), "{}", r.text);
    }
    // Roles that run the organization are the owners' to shape: an admin does not loosen or
    // tighten their own.
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let cells = json!({"permissions": {"deal": {"delete": "own"}}});
    call(
        &t,
        &admin,
        Method::PATCH,
        "/api/v1/roles/admin",
        Some(cells.clone()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/admin",
        Some(cells),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tuned_by_admin = call(
        &t,
        &admin,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"permissions": {"task": {"delete": "all"}}})),
    )
    .await;
    assert_eq!(
        tuned_by_admin.status,
        StatusCode::OK,
        "{}",
        tuned_by_admin.text
    );

    // Members read roles but do not change them.
    call(
        &t,
        &member,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"permissions": {"deal": {"delete": "all"}}})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_lead_is_converted_only_by_roles_that_may_convert() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let lead = t
        .create(
            &member,
            "/api/v1/leads",
            json!({"name": "Jon Ferrer", "status": "qualified"}),
        )
        .await;
    call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"permissions": {"lead": {"convert": "none"}}})),
    )
    .await;
    let path = format!("/api/v1/leads/{}/convert", id(&lead));
    call(&t, &member, Method::POST, &path, Some(json!({})))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(
        &t,
        &owner,
        Method::PATCH,
        "/api/v1/roles/member",
        Some(json!({"permissions": {"lead": {"convert": "own"}}})),
    )
    .await;
    let done = call(&t, &member, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
}

#[tokio::test]
async fn a_deleted_role_moves_its_members_invitations_and_keys_to_the_role_chosen() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "Client viewer", "copy_of": "viewer",
                    "permissions": {"company": {"view": "none"}}})),
    )
    .await;
    let carla = t.member(&owner, "carla@example.com", "client_viewer").await;
    let invited = t
        .call(
            Method::POST,
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            Some(json!({"email": "new@example.com", "role": "client_viewer"})),
        )
        .await;
    assert_eq!(invited.status, StatusCode::ACCEPTED, "{}", invited.text);
    assert_eq!(invited.body["invitation"]["role"], "client_viewer");
    // An API key of the role acts with it.
    let key = t
        .call(
            Method::POST,
            &format!("/api/v1/organizations/{}/api-keys", owner.org()),
            Some(&owner.access),
            Some(json!({"name": "Portal sync", "role": "client_viewer"})),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
    assert_eq!(key.body["role"], "client_viewer");
    let secret = key.body["secret"].as_str().expect("secret").to_owned();
    let h = [("x-organization-id", owner.org())];
    t.call_with(Method::GET, "/api/v1/companies", Some(&secret), None, &h)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(&t, &carla, Method::GET, "/api/v1/companies", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Deleting needs a role to move to; system roles stay.
    call(
        &t,
        &owner,
        Method::DELETE,
        "/api/v1/roles/client_viewer",
        None,
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    call(
        &t,
        &owner,
        Method::DELETE,
        "/api/v1/roles/viewer?move_to=member",
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "system_role");
    let gone = call(
        &t,
        &owner,
        Method::DELETE,
        "/api/v1/roles/client_viewer?move_to=viewer",
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    call(&t, &owner, Method::GET, "/api/v1/roles/client_viewer", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // Carla and the key are viewers now: companies are theirs to read again.
    let read = call(&t, &carla, Method::GET, "/api/v1/companies", None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let read = t
        .call_with(Method::GET, "/api/v1/companies", Some(&secret), None, &h)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let open = t
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{}/invitations", owner.org()),
            Some(&owner.access),
            None,
        )
        .await;
    assert!(open.text.contains("\"role\":\"viewer\""), "{}", open.text);
}

#[tokio::test]
async fn a_custom_objects_own_row_decides_its_records_everywhere() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.create(
        &owner,
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/objects/berth/records",
        json!({"values": {"name": "A-01 harbour"}}),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/contacts",
        json!({"name": "Harbour master"}),
    )
    .await;
    call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "No berths", "copy_of": "member",
                    "permissions": {"berth": {"view": "none"}}})),
    )
    .await;
    let sam = t.member(&owner, "sam@example.com", "no_berths").await;
    call(&t, &sam, Method::GET, "/api/v1/objects/berth/records", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Search keeps to what the role sees: the contact, not the berth.
    let found = call(&t, &sam, Method::GET, "/api/v1/search?q=harbour", None).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert!(found.text.contains("Harbour master"), "{}", found.text);
    assert!(!found.text.contains("A-01"), "{}", found.text);
    // The owner still reads both.
    let all = call(&t, &owner, Method::GET, "/api/v1/search?q=harbour", None).await;
    assert!(all.text.contains("A-01"), "{}", all.text);
}
