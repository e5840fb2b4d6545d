//! Saved views and CSV exports of the record lists, through the API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, TestApp};

async fn create(t: &TestApp, who: &Account, path: &str, body: Value) -> Value {
    let r = t.org_call(who, Method::POST, path, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
    r.body
}

fn names(views: &Value) -> Vec<String> {
    let mut names: Vec<String> = views
        .as_array()
        .expect("a list of views")
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn saved_views_are_personal_or_shared_and_deleted_by_whom_may() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;

    let mine = create(
        &t,
        &member,
        "/api/v1/views",
        json!({"list": "contacts", "name": "My harbour", "query": "?search=harbour&sort=-name", "columns": ["email", "tags"]}),
    )
    .await;
    assert_eq!(mine["list"], "contacts");
    assert_eq!(mine["query"], "search=harbour&sort=-name");
    assert_eq!(mine["columns"], json!(["email", "tags"]));
    assert_eq!(mine["shared"], false);
    assert_eq!(mine["owner_id"], member.user_id.as_str());
    let shared = create(
        &t,
        &member,
        "/api/v1/views",
        json!({"list": "contacts", "name": "Team", "shared": true}),
    )
    .await;
    create(
        &t,
        &member,
        "/api/v1/views",
        json!({"list": "deals", "name": "Big deals"}),
    )
    .await;

    let listed = t
        .org_call(&member, Method::GET, "/api/v1/views?list=contacts", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(names(&listed.body), ["My harbour", "Team"]);
    // Others see the shared view only.
    let seen = t
        .org_call(&viewer, Method::GET, "/api/v1/views?list=contacts", None)
        .await;
    assert_eq!(names(&seen.body), ["Team"]);

    // A viewer keeps views for themself but may not share one.
    t.org_call(
        &viewer,
        Method::POST,
        "/api/v1/views",
        Some(json!({"list": "contacts", "name": "Everyone", "shared": true})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    create(
        &t,
        &viewer,
        "/api/v1/views",
        json!({"list": "contacts", "name": "Mine"}),
    )
    .await;

    // Input the view cannot hold.
    for (body, field) in [
        (json!({"list": "planets", "name": "x"}), "list"),
        (json!({"list": "contacts", "name": " "}), "name"),
        (
            json!({"list": "contacts", "name": "x", "columns": ["salary"]}),
            "columns",
        ),
    ] {
        let r = t
            .org_call(&member, Method::POST, "/api/v1/views", Some(body))
            .await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    t.org_call(&member, Method::GET, "/api/v1/views?list=planets", None)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    t.org_call(&member, Method::GET, "/api/v1/views", None)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");

    // Someone else's personal view does not exist for them; a shared one is the owners' and
    // admins' to delete.
    let mine_path = format!("/api/v1/views/{}", mine["id"].as_str().expect("id"));
    let shared_path = format!("/api/v1/views/{}", shared["id"].as_str().expect("id"));
    t.org_call(&owner, Method::DELETE, &mine_path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    t.org_call(&viewer, Method::DELETE, &shared_path, None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t.org_call(&owner, Method::DELETE, &shared_path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = t.org_call(&member, Method::DELETE, &mine_path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let left = t
        .org_call(&member, Method::GET, "/api/v1/views?list=contacts", None)
        .await;
    assert_eq!(names(&left.body), Vec::<String>::new());
    t.org_call(&member, Method::DELETE, "/api/v1/views/not-an-id", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn views_belong_to_their_organization() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let bob = t.register("bob@example.com", Some("Globex")).await;
    let view = create(
        &t,
        &ann,
        "/api/v1/views",
        json!({"list": "leads", "name": "Hot", "shared": true}),
    )
    .await;
    let seen = t
        .org_call(&bob, Method::GET, "/api/v1/views?list=leads", None)
        .await;
    assert_eq!(names(&seen.body), Vec::<String>::new());
    t.org_call(
        &bob,
        Method::DELETE,
        &format!("/api/v1/views/{}", view["id"].as_str().expect("id")),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

/// The data lines of a CSV answer, after checking its type.
async fn csv(t: &TestApp, who: &Account, path: &str) -> Vec<String> {
    let r = t.org_call(who, Method::GET, path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "{path}: not an attachment"
    );
    r.text.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn exports_apply_the_list_filters_and_the_export_permission() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let marta = create(
        &t,
        &owner,
        "/api/v1/contacts",
        json!({"name": "Marta Ruiz", "email": "marta@example.com", "title": "=1+1"}),
    )
    .await;
    create(
        &t,
        &owner,
        "/api/v1/contacts",
        json!({"name": "Olav Berg", "email": "olav@example.com"}),
    )
    .await;

    let all = csv(&t, &owner, "/api/v1/contacts/export.csv?order_by=name").await;
    assert_eq!(
        all[0],
        "id,name,email,phone,title,company_id,owner,created_at"
    );
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all[1].starts_with(&format!(
        "{},Marta Ruiz,marta@example.com,,'=1+1,,owner,",
        marta["id"].as_str().expect("id")
    )));
    assert!(all[2].contains(",Olav Berg,"));
    let desc = csv(
        &t,
        &owner,
        "/api/v1/contacts/export.csv?order_by=name&order=desc",
    )
    .await;
    assert!(desc[1].contains(",Olav Berg,"), "{desc:?}");
    let found = csv(&t, &owner, "/api/v1/contacts/export.csv?search=marta").await;
    assert_eq!(found.len(), 2, "{found:?}");

    // Paging belongs to the list, not to the export; unknown sorts are refused like the list's.
    t.org_call(
        &owner,
        Method::GET,
        "/api/v1/contacts/export.csv?page=2",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    t.org_call(
        &owner,
        Method::GET,
        "/api/v1/contacts/export.csv?order_by=salary",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");

    create(
        &t,
        &owner,
        "/api/v1/leads",
        json!({"name": "Quay Ltd", "status": "qualified"}),
    )
    .await;
    create(
        &t,
        &owner,
        "/api/v1/leads",
        json!({"name": "Pier Co", "status": "new"}),
    )
    .await;
    let qualified = csv(
        &t,
        &owner,
        "/api/v1/leads/export.csv?status=qualified&status=working",
    )
    .await;
    assert_eq!(qualified.len(), 2, "{qualified:?}");
    assert!(qualified[1].contains(",Quay Ltd,"));

    create(
        &t,
        &owner,
        "/api/v1/companies",
        json!({"name": "Harbour Works", "industry": "marine"}),
    )
    .await;
    let companies = csv(&t, &owner, "/api/v1/companies/export.csv?industry=marine").await;
    assert_eq!(companies.len(), 2, "{companies:?}");
    create(
        &t,
        &owner,
        "/api/v1/deals",
        json!({"title": "Berth 12", "amount": 1200.5}),
    )
    .await;
    let deals = csv(&t, &owner, "/api/v1/deals/export.csv?min_amount=1000").await;
    assert_eq!(deals.len(), 2, "{deals:?}");
    assert!(deals[1].contains(",Berth 12,1200.50,"), "{deals:?}");
    let none = csv(&t, &owner, "/api/v1/deals/export.csv?min_amount=5000").await;
    assert_eq!(none.len(), 1, "{none:?}");

    // A viewer may read the lists but not export them.
    for list in ["contacts", "companies", "leads", "deals"] {
        t.org_call(
            &viewer,
            Method::GET,
            &format!("/api/v1/{list}/export.csv"),
            None,
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    t.call(Method::GET, "/api/v1/contacts/export.csv", None, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_page_past_the_last_numbered_one_is_refused_not_a_server_error() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for list in ["contacts", "companies", "leads", "deals", "tasks", "audit"] {
        for page in ["9223372036854775808", "1000001"] {
            t.org_call(
                &owner,
                Method::GET,
                &format!("/api/v1/{list}?page={page}"),
                None,
            )
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
        }
        let last = t
            .org_call(
                &owner,
                Method::GET,
                &format!("/api/v1/{list}?page=1000000&page_size=100"),
                None,
            )
            .await;
        assert_eq!(last.status, StatusCode::OK, "{list}: {}", last.text);
    }
}

/// What `path` answers, asked for twice: the same both times (the second answer may come from what
/// the server kept).
async fn same_twice(t: &TestApp, who: &Account, path: &str) -> Value {
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = t.org_call(who, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        answers.push(r.body);
    }
    assert_eq!(answers[0], answers[1], "{path}: the same answer twice");
    answers.remove(0)
}

/// The `total` of a list, asked for twice.
async fn total_twice(t: &TestApp, who: &Account, path: &str) -> i64 {
    same_twice(t, who, path).await["total"]
        .as_i64()
        .expect("a total")
}

/// The deal summary, asked for twice.
async fn summary_twice(t: &TestApp, who: &Account) -> Value {
    same_twice(t, who, "/api/v1/analytics/deals/summary").await
}

#[tokio::test]
async fn list_totals_follow_every_write() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let id = |v: &Value| v["id"].as_str().expect("id").to_owned();
    let ann = create(
        &t,
        &owner,
        "/api/v1/contacts",
        json!({"name": "Ann Harbour"}),
    )
    .await;
    let bob = create(&t, &owner, "/api/v1/contacts", json!({"name": "Bob Quay"})).await;
    assert_eq!(total_twice(&t, &owner, "/api/v1/contacts").await, 2);
    assert_eq!(
        total_twice(&t, &owner, "/api/v1/contacts?search=harbour").await,
        1
    );

    // Created, renamed into a search, deleted, restored: each total moves at once.
    create(&t, &owner, "/api/v1/contacts", json!({"name": "Cid"})).await;
    assert_eq!(total_twice(&t, &owner, "/api/v1/contacts").await, 3);
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/contacts/{}", id(&bob)),
            Some(json!({"name": "Bob Harbour"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        total_twice(&t, &owner, "/api/v1/contacts?search=harbour").await,
        2
    );
    let r = t
        .org_call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/contacts/{}", id(&ann)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(total_twice(&t, &owner, "/api/v1/contacts").await, 2);
    assert_eq!(
        total_twice(&t, &owner, "/api/v1/contacts?search=harbour").await,
        1
    );
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/trash/contact/{}/restore", id(&ann)),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(total_twice(&t, &owner, "/api/v1/contacts").await, 3);

    // Tagging moves the tag's list.
    let vip = create(
        &t,
        &owner,
        "/api/v1/tags",
        json!({"name": "VIP", "color": "amber"}),
    )
    .await;
    let tagged = format!("/api/v1/contacts?tag_id={}", id(&vip));
    assert_eq!(total_twice(&t, &owner, &tagged).await, 0);
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            &format!("/api/v1/contacts/{}/tags", id(&ann)),
            Some(json!({"tag_ids": [vip["id"]]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(total_twice(&t, &owner, &tagged).await, 1);

    // A deal won moves the list of won deals, and the summary.
    assert_eq!(summary_twice(&t, &owner).await["total_count"], 0);
    let deal = create(
        &t,
        &owner,
        "/api/v1/deals",
        json!({"title": "Berth 12", "amount": 5000}),
    )
    .await;
    let before = summary_twice(&t, &owner).await;
    assert_eq!(before["total_count"], 1);
    assert_eq!(before["new_in_last_days"], 1);
    assert_eq!(before["by_status"]["won"]["count"], 0);
    let won = "/api/v1/deals?status=won";
    assert_eq!(total_twice(&t, &owner, won).await, 0);
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/deals/{}", id(&deal)),
            Some(json!({"status": "won"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(total_twice(&t, &owner, won).await, 1);
    let after = summary_twice(&t, &owner).await;
    assert_eq!(after["by_status"]["won"]["count"], 1);
    assert_eq!(after["by_status"]["won"]["amount"], 5000.0);

    // Another organization's writes and lists are its own.
    let other = t.register("other@example.com", Some("Other")).await;
    create(
        &t,
        &other,
        "/api/v1/contacts",
        json!({"name": "Dee Harbour"}),
    )
    .await;
    assert_eq!(total_twice(&t, &other, "/api/v1/contacts").await, 1);
    assert_eq!(total_twice(&t, &owner, "/api/v1/contacts").await, 3);
}

/// Past ten thousand contacts, a search for a text few of them hold goes through the text index
/// and one many hold reads the list in order; both find what they should, and on SQLite the rare
/// one sorts its matches instead of walking every contact in the list's order.
#[tokio::test]
async fn a_big_organization_searches_a_rare_text_through_the_index() {
    use rapport_store::contacts::{Contact, ContactFilter, ContactSort};
    use rapport_store::text::{self, Strategy};
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    create(
        &t,
        &owner,
        "/api/v1/contacts",
        json!({"name": "Zoltan Quixote", "email": "zq@windmill.example"}),
    )
    .await;
    let org: rapport_domain::OrganizationId = owner.org().parse().expect("organization id");
    let mut tx = t.app.db.tenant(org).await.expect("tenant transaction");
    let backend = tx.backend();
    let new_id = match backend {
        rapport_store::Backend::Postgres => "gen_random_uuid()",
        rapport_store::Backend::Sqlite => "randomblob(16)",
    };
    let written = tx
        .raw()
        .execute(
            rapport_store::query(format!(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 10050) \
                 INSERT INTO contacts (organization_id, id, owner_id, name, email, created_at, updated_at) \
                 SELECT $1, {new_id}, (SELECT owner_id FROM contacts WHERE organization_id = $1 LIMIT 1), \
                 'Person ' || n, 'person' || n || '@common.example', $2, $2 FROM g"
            ))
            .bind(org)
            .bind(chrono::Utc::now()),
        )
        .await
        .expect("contacts written");
    assert_eq!(written, 10050);
    tx.commit().await.expect("commit");

    let mut tx = t.app.db.tenant(org).await.expect("tenant transaction");
    for (text, expected) in [
        ("quixote", Strategy::Index),
        ("windmill", Strategy::Index),
        ("person", Strategy::Scan),
        ("common.example", Strategy::Scan),
    ] {
        let chosen = text::strategy(&mut tx, &text::CONTACT, text)
            .await
            .expect("strategy");
        assert_eq!(chosen, expected, "searching {text:?}");
    }
    if backend == rapport_store::Backend::Sqlite {
        #[derive(sqlx::FromRow)]
        struct Line {
            detail: String,
        }
        let filter = ContactFilter {
            search: Some("quixote".into()),
            ..ContactFilter::default()
        };
        for sort in [ContactSort::CreatedAt, ContactSort::Name] {
            let window = rapport_store::keyset::Window {
                sort,
                descending: false,
                after: None,
                offset: 0,
                limit: 25,
            };
            let q = rapport_store::tables::list_query::<Contact>(
                &tx,
                &filter,
                &[],
                None,
                Strategy::Index,
                &window,
                Some(10_000),
            )
            .wrap(|sql| format!("EXPLAIN QUERY PLAN {sql}"));
            let plan: Vec<Line> = tx.raw().fetch_all(q).await.expect("explain");
            let plan: Vec<String> = plan.into_iter().map(|l| l.detail).collect();
            assert!(
                plan.iter().any(|l| l.contains("TEMP B-TREE FOR ORDER BY"))
                    && !plan
                        .iter()
                        .any(|l| l.split_whitespace().take(2).eq(["SCAN", "contacts"])),
                "{sort:?}: the matches are not what the page is read from:\n{}",
                plan.join("\n")
            );
        }
    }
    drop(tx);

    let rare = same_twice(&t, &owner, "/api/v1/contacts?search=quixote").await;
    assert_eq!(rare["total"], 1, "{rare}");
    assert_eq!(rare["items"][0]["name"], "Zoltan Quixote");
    let by_name = same_twice(&t, &owner, "/api/v1/contacts?search=Quixote&order_by=name").await;
    assert_eq!(by_name["items"][0]["name"], "Zoltan Quixote");
    let common = same_twice(&t, &owner, "/api/v1/contacts?search=person").await;
    let items = common["items"].as_array().expect("items");
    assert_eq!(items.len(), 25, "{common}");
    assert!(
        items
            .iter()
            .all(|c| { c["name"].as_str().is_some_and(|n| n.starts_with("Person ")) })
    );
    assert_eq!(common["total"], 10_000, "counted up to the cap: {common}");
    assert_eq!(common["total_is_exact"], false);
    let none = same_twice(&t, &owner, "/api/v1/contacts?search=nobody-holds-this").await;
    assert_eq!(none["total"], 0, "{none}");
    // A phrase is looked up by its rarest-looking word, then tested whole.
    let phrase = same_twice(&t, &owner, "/api/v1/contacts?search=person%209999").await;
    assert_eq!(phrase["total"], 1, "{phrase}");
    assert_eq!(phrase["items"][0]["name"], "Person 9999");
    let mixed = same_twice(&t, &owner, "/api/v1/contacts?search=zoltan%209999").await;
    assert_eq!(mixed["total"], 0, "the word found, the phrase not: {mixed}");
    let global = same_twice(&t, &owner, "/api/v1/search?q=windmill").await;
    assert!(global.to_string().contains("Zoltan Quixote"), "{global}");
}
