//! Contacts, as the API contract describes them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, Resp, TestApp};

async fn call(t: &TestApp, who: &Account, method: Method, path: &str, body: Option<Value>) -> Resp {
    t.call_with(
        method,
        path,
        Some(&who.access),
        body,
        &[("x-organization-id", who.org())],
    )
    .await
}

async fn create(t: &TestApp, who: &Account, body: Value) -> Value {
    let r = call(t, who, Method::POST, "/api/v1/contacts", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

#[tokio::test]
async fn contacts_are_created_with_the_caller_as_owner() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let c = create(&t, &owner, json!({"name": "Marta Ruiz", "email": "Marta@Example.com", "phone": "+34 600 123 456", "title": "Harbour master"})).await;
    for field in [
        "id",
        "organization_id",
        "owner_id",
        "company_id",
        "name",
        "email",
        "phone",
        "created_at",
        "updated_at",
    ] {
        assert!(c.get(field).is_some(), "{field} missing");
    }
    assert_eq!(c["owner_id"], owner.user_id.as_str());
    assert_eq!(c["organization_id"], owner.org());
    assert_eq!(c["email"], "marta@example.com");
    assert!(c["company_id"].is_null());
    let got = call(
        &t,
        &owner,
        Method::GET,
        &format!("/api/v1/contacts/{}", c["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(got.body, c);
}

#[tokio::test]
async fn invalid_contacts_are_422_field_by_field() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"email": "nope", "phone": "call me"})),
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
    assert_eq!(fields, ["email", "name", "phone"]);
    let unknown = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "X", "nickname": "Y"})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn contacts_list_searches_filters_and_sorts() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let bob = t.member(&owner, "bob@example.com", "manager").await;
    let company = call(
        &t,
        &owner,
        Method::POST,
        "/api/v1/companies",
        Some(json!({"name": "Port Vell Marina", "domain": "https://www.portvell.example/"})),
    )
    .await;
    assert_eq!(company.body["domain"], "portvell.example");
    let company_id = company.body["id"].as_str().expect("id").to_owned();
    create(
        &t,
        &owner,
        json!({"name": "Carla Vidal", "email": "carla@portvell.example", "company_id": company_id}),
    )
    .await;
    create(
        &t,
        &owner,
        json!({"name": "anna Soler", "phone": "+34 611 222 333"}),
    )
    .await;
    create(
        &t,
        &bob,
        json!({"name": "Bruno Mas", "email": "BRUNO@mail.example"}),
    )
    .await;

    let list = |q: &str| {
        let q = q.to_owned();
        let t = &t;
        let owner = &owner;
        async move {
            call(
                t,
                owner,
                Method::GET,
                &format!("/api/v1/contacts?{q}"),
                None,
            )
            .await
        }
    };
    let names = |r: &Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };

    let all = list("").await;
    assert_eq!(all.body["total"], 3);
    assert_eq!(
        names(&all),
        ["Carla Vidal", "anna Soler", "Bruno Mas"],
        "oldest first by default"
    );
    assert_eq!(
        names(&list("order_by=name").await),
        ["anna Soler", "Bruno Mas", "Carla Vidal"]
    );
    assert_eq!(
        names(&list("order_by=created_at&order=desc").await),
        ["Bruno Mas", "anna Soler", "Carla Vidal"]
    );
    // Search: case-insensitive substring of name, email or phone.
    assert_eq!(names(&list("search=ANNA").await), ["anna Soler"]);
    assert_eq!(names(&list("search=bruno@").await), ["Bruno Mas"]);
    assert_eq!(names(&list("search=611").await), ["anna Soler"]);
    assert_eq!(
        names(&list("search=%25").await),
        Vec::<String>::new(),
        "% is literal"
    );
    assert_eq!(
        names(&list(&format!("owner_id={}", bob.user_id)).await),
        ["Bruno Mas"]
    );
    assert_eq!(
        names(&list(&format!("company_id={company_id}")).await),
        ["Carla Vidal"]
    );
    for bad in [
        "order_by=email",
        "order=sideways",
        "colour=red",
        "page_size=500",
        "cursor=xyz",
        "owner_id=not-a-uuid",
    ] {
        list(bad).await.assert_problem(
            StatusCode::BAD_REQUEST,
            if bad.starts_with("cursor") {
                "invalid_cursor"
            } else {
                "invalid_query"
            },
        );
    }
}

#[tokio::test]
async fn contacts_page_by_number_or_by_a_cursor_stable_under_inserts() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for n in 0..7 {
        create(&t, &owner, json!({"name": format!("Contact {n:02}")})).await;
    }
    let page = |q: String| {
        let t = &t;
        let owner = &owner;
        async move {
            call(
                t,
                owner,
                Method::GET,
                &format!("/api/v1/contacts?order_by=name&page_size=3&{q}"),
                None,
            )
            .await
        }
    };
    let first = page(String::new()).await;
    assert_eq!(first.body["items"][0]["name"], "Contact 00");
    assert_eq!(first.body["total"], 7);
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    // A contact added before the cursor's position does not shift the next page.
    create(&t, &owner, json!({"name": "Contact 00a"})).await;
    let second = page(format!("cursor={cursor}")).await;
    assert_eq!(second.body["items"][0]["name"], "Contact 03");
    let third_by_number = page("page=3".into()).await;
    assert_eq!(
        third_by_number.body["items"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(third_by_number.body["next_cursor"].is_null());
}

#[tokio::test]
async fn members_change_only_the_contacts_they_own_and_viewers_only_read() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let theirs = create(&t, &owner, json!({"name": "Owner's contact"})).await;
    let mine = create(&t, &member, json!({"name": "Member's contact"})).await;
    let path = |c: &Value| format!("/api/v1/contacts/{}", c["id"].as_str().expect("id"));

    call(
        &t,
        &member,
        Method::PATCH,
        &path(&theirs),
        Some(json!({"name": "Taken"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(&t, &member, Method::DELETE, &path(&theirs), None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let ok = call(
        &t,
        &member,
        Method::PATCH,
        &path(&mine),
        Some(json!({"title": "Buyer"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    // A member cannot hand a record to someone else.
    let give = call(
        &t,
        &member,
        Method::PATCH,
        &path(&mine),
        Some(json!({"owner_id": owner.user_id})),
    )
    .await;
    assert_eq!(give.body["errors"][0]["field"], "owner_id");

    call(
        &t,
        &viewer,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Nope"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    call(
        &t,
        &viewer,
        Method::PATCH,
        &path(&mine),
        Some(json!({"name": "Nope"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        call(&t, &viewer, Method::GET, &path(&mine), None)
            .await
            .status,
        StatusCode::OK
    );

    // The owner may change anyone's, and reassign them.
    let moved = call(
        &t,
        &owner,
        Method::PATCH,
        &path(&mine),
        Some(json!({"owner_id": owner.user_id, "title": null})),
    )
    .await;
    assert_eq!(moved.body["owner_id"], owner.user_id.as_str());
    assert!(moved.body["title"].is_null());
    let log = call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=permission.denied",
        None,
    )
    .await;
    assert!(log.body["total"].as_i64().unwrap_or(0) >= 4, "{}", log.text);
    let updates = call(
        &t,
        &owner,
        Method::GET,
        "/api/v1/audit?action=contact.updated",
        None,
    )
    .await;
    assert_eq!(
        updates.body["items"][0]["changes"]["owner_id"]["after"],
        owner.user_id.as_str()
    );
}

#[tokio::test]
async fn deleted_contacts_are_gone_from_reads_and_lists() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let c = create(&t, &owner, json!({"name": "Short-lived"})).await;
    let path = format!("/api/v1/contacts/{}", c["id"].as_str().expect("id"));
    assert_eq!(
        call(&t, &owner, Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    call(&t, &owner, Method::GET, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(&t, &owner, Method::DELETE, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        call(&t, &owner, Method::GET, "/api/v1/contacts", None)
            .await
            .body["total"],
        0
    );
}

#[tokio::test]
async fn contacts_of_another_organization_are_404_and_never_linked() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    let b = t.register("b@example.com", Some("Beta")).await;
    let a_contact = create(
        &t,
        &a,
        json!({"name": "Alpha's client", "email": "client@alpha.example"}),
    )
    .await;
    let a_company = call(
        &t,
        &a,
        Method::POST,
        "/api/v1/companies",
        Some(json!({"name": "Alpha Corp"})),
    )
    .await
    .body;
    let path = format!("/api/v1/contacts/{}", a_contact["id"].as_str().expect("id"));

    // Read, update, delete with B's organization: not found.
    call(&t, &b, Method::GET, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(
        &t,
        &b,
        Method::PATCH,
        &path,
        Some(json!({"name": "Stolen"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(&t, &b, Method::DELETE, &path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    call(
        &t,
        &b,
        Method::GET,
        &format!(
            "/api/v1/companies/{}",
            a_company["id"].as_str().expect("id")
        ),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // List and search do not show it.
    let list = call(&t, &b, Method::GET, "/api/v1/contacts?search=client", None).await;
    assert_eq!(list.body["total"], 0);
    // Linking to A's company: a field error, not a link.
    let link = call(
        &t,
        &b,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Sneaky", "company_id": a_company["id"]})),
    )
    .await;
    link.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(link.body["errors"][0]["field"], "company_id");
    // A's header used by B.
    t.call_with(
        Method::GET,
        "/api/v1/contacts",
        Some(&b.access),
        None,
        &[("x-organization-id", a.org())],
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // A's contact is untouched.
    let still = call(&t, &a, Method::GET, &path, None).await;
    assert_eq!(still.body["name"], "Alpha's client");
}

#[tokio::test]
async fn refused_writes_leave_no_lock_behind_for_the_next_ones() {
    // Validation runs inside the write transaction; a refused change abandons it. Mixed with
    // accepted ones, concurrently, every request must still get its own answer, never a 500.
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let ghost_company = uuid::Uuid::now_v7();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let client = t.client.clone();
        let url = t.url("/api/v1/contacts");
        let token = owner.access.clone();
        let org = owner.org().to_owned();
        let body = if n % 2 == 0 {
            json!({"name": format!("Valid {n}")})
        } else {
            json!({"name": format!("Invalid {n}"), "company_id": ghost_company})
        };
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("x-organization-id", org)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut created = 0;
    for task in tasks {
        let status = task.await.expect("task").expect("response");
        assert!(
            status == StatusCode::CREATED || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status}"
        );
        if status == StatusCode::CREATED {
            created += 1;
        }
    }
    assert_eq!(created, 20);
    assert_eq!(
        call(&t, &owner, Method::GET, "/api/v1/contacts", None)
            .await
            .body["total"],
        20
    );
}
