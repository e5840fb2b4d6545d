//! What the main read paths cost the database, counted on the wire between Rapport and
//! PostgreSQL (see `support::wire`): a regression that adds a query per row, a second
//! transaction or a lookup the identity cache should have answered fails here.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Account, Options, TestApp, is_postgres, say_skipped};

/// The most round trips reading one record may take: open the transaction in its tenant scope,
/// read (the record with its tags). The transaction's end rides on the driver's check of the
/// connection handed back to the pool, after the answer.
const READ_BUDGET: usize = 2;

/// A list page: open the transaction, read the page with its total, read the page's tags.
const LIST_BUDGET: usize = 3;

async fn spawn(test: &str) -> Option<TestApp> {
    if !is_postgres() {
        say_skipped(
            test,
            "round trips are counted on PostgreSQL's wire (set RAPPORT_TEST_POSTGRES_URL)",
        );
        return None;
    }
    let t = TestApp::spawn_with(Options {
        count_round_trips: true,
        no_worker: true,
        ..Options::default()
    })
    .await;
    // The identity cache works once the server hears the others.
    for _ in 0..100 {
        if t.app.identity.is_listening() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(t.app.identity.is_listening(), "the live relay subscribed");
    Some(t)
}

/// The round trips of `path` once warm (statements prepared, identities cached).
async fn cost(t: &TestApp, who: &Account, path: &str) -> crate::support::wire::Traffic {
    let wire = t.wire.as_ref().expect("counted");
    for _ in 0..2 {
        let r = t.org_call(who, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    wire.take();
    let r = t.org_call(who, Method::GET, path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    wire.take()
}

async fn assert_within(t: &TestApp, who: &Account, path: &str, budget: usize) {
    let traffic = cost(t, who, path).await;
    assert!(
        traffic.round_trips <= budget,
        "GET {path} took {} round trips (budget {budget}), messages {}:\n{}",
        traffic.round_trips,
        traffic.messages,
        traffic.sql.join("\n")
    );
}

#[tokio::test]
async fn reading_one_record_takes_one_transaction_of_three_round_trips() {
    let Some(t) = spawn("reading_one_record_takes_one_transaction_of_three_round_trips").await
    else {
        return;
    };
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let tag = t
        .create(
            &ann,
            "/api/v1/tags",
            json!({"name": "vip", "color": "amber"}),
        )
        .await;
    let contact = t
        .create(&ann, "/api/v1/contacts", json!({"name": "Marta Ruiz"}))
        .await;
    let contact_id = contact["id"].as_str().expect("id");
    let tagged = t
        .org_call(
            &ann,
            Method::PUT,
            &format!("/api/v1/contacts/{contact_id}/tags"),
            Some(json!({"tag_ids": [tag["id"]]})),
        )
        .await;
    assert!(tagged.status.is_success(), "{}", tagged.text);
    let deal = t
        .create(
            &ann,
            "/api/v1/deals",
            json!({"title": "Berth 12", "amount": 1200}),
        )
        .await;
    let deal_id = deal["id"].as_str().expect("id");

    // The tags come with the record, in the same transaction.
    let r = t
        .org_call(
            &ann,
            Method::GET,
            &format!("/api/v1/contacts/{contact_id}"),
            None,
        )
        .await;
    assert_eq!(r.body["tags"][0]["name"], "vip", "{}", r.text);
    assert_within(
        &t,
        &ann,
        &format!("/api/v1/contacts/{contact_id}"),
        READ_BUDGET,
    )
    .await;
    assert_within(&t, &ann, &format!("/api/v1/deals/{deal_id}"), READ_BUDGET).await;
    let company = t
        .create(&ann, "/api/v1/companies", json!({"name": "Harbour Works"}))
        .await;
    let lead = t
        .create(&ann, "/api/v1/leads", json!({"name": "Quay Ltd"}))
        .await;
    for (kind, record) in [("companies", &company), ("leads", &lead)] {
        let id = record["id"].as_str().expect("id");
        assert_within(&t, &ann, &format!("/api/v1/{kind}/{id}"), READ_BUDGET).await;
    }
    assert_within(&t, &ann, "/api/v1/organization", 0).await;
}

#[tokio::test]
async fn a_page_of_a_list_costs_the_same_for_twenty_five_rows_as_for_one() {
    let Some(t) = spawn("a_page_of_a_list_costs_the_same_for_twenty_five_rows_as_for_one").await
    else {
        return;
    };
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let tag = t
        .create(
            &ann,
            "/api/v1/tags",
            json!({"name": "vip", "color": "amber"}),
        )
        .await;
    let mut first = None;
    for n in 0..30 {
        let c = t
            .create(
                &ann,
                "/api/v1/contacts",
                json!({"name": format!("Marta {n:02}")}),
            )
            .await;
        let id = c["id"].as_str().expect("id").to_owned();
        let tagged = t
            .org_call(
                &ann,
                Method::PUT,
                &format!("/api/v1/contacts/{id}/tags"),
                Some(json!({"tag_ids": [tag["id"]]})),
            )
            .await;
        assert!(tagged.status.is_success(), "{}", tagged.text);
        t.create(
            &ann,
            "/api/v1/deals",
            json!({"title": format!("Berth {n}"), "amount": 100 + n, "contact_id": id}),
        )
        .await;
        first.get_or_insert(id);
    }
    let one = cost(&t, &ann, "/api/v1/contacts?page_size=1").await;
    let page = cost(&t, &ann, "/api/v1/contacts?page_size=25").await;
    assert_eq!(
        one.round_trips,
        page.round_trips,
        "one query per row?\n{}",
        page.sql.join("\n")
    );
    let listed = t
        .org_call(&ann, Method::GET, "/api/v1/contacts?page_size=25", None)
        .await;
    assert_eq!(listed.body["items"][0]["tags"][0]["name"], "vip");
    assert_eq!(listed.body["total"], 30);

    // The main lists and search, each within one transaction.
    for path in [
        "/api/v1/contacts?page_size=25",
        "/api/v1/contacts?search=marta&page_size=25",
        "/api/v1/deals?status=new&order_by=amount&order=desc&page_size=25",
        "/api/v1/analytics/deals/summary",
        "/api/v1/companies?page_size=25",
        "/api/v1/leads?page_size=25",
    ] {
        let traffic = cost(&t, &ann, path).await;
        let begins = traffic
            .sql
            .iter()
            .filter(|s| s.trim_start().starts_with("BEGIN"))
            .count();
        assert_eq!(
            begins,
            1,
            "{path} opened {begins} transactions:\n{}",
            traffic.sql.join("\n")
        );
        assert!(
            traffic.round_trips <= LIST_BUDGET,
            "GET {path} took {} round trips (budget {LIST_BUDGET}), messages {}:\n{}",
            traffic.round_trips,
            traffic.messages,
            traffic.sql.join("\n")
        );
    }
}

#[tokio::test]
async fn a_page_deep_in_a_list_starts_its_index_scan_at_the_cursor() {
    use rapport_store::contacts::{ContactFilter, ContactSort, SortValue};
    let test = "a_page_deep_in_a_list_starts_its_index_scan_at_the_cursor";
    let Some(t) = spawn(test).await else {
        return;
    };
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let org: rapport_domain::OrganizationId = ann.org().parse().expect("organization id");
    #[derive(sqlx::FromRow)]
    struct Plan {
        #[sqlx(rename = "QUERY PLAN")]
        line: String,
    }
    let last = rapport_domain::ContactId::new();
    let now = chrono::Utc::now();
    for (sort, value, key) in [
        (
            ContactSort::Name,
            SortValue::Text("Marta".into()),
            "name_key",
        ),
        (ContactSort::CreatedAt, SortValue::Time(now), "created_at"),
        (ContactSort::UpdatedAt, SortValue::Time(now), "updated_at"),
    ] {
        for descending in [false, true] {
            let mut tx = t.app.db.tenant(org).await.expect("tenant transaction");
            // A handful of rows would be read whole; the plan must still be able to seek.
            tx.raw()
                .execute(rapport_store::query("SET LOCAL enable_seqscan = off"))
                .await
                .expect("set");
            let after = (value.clone(), last);
            let window = rapport_store::keyset::Window {
                sort,
                descending,
                after: Some(&after),
                offset: 0,
                limit: 25,
            };
            let q = rapport_store::tables::list_query::<rapport_store::contacts::Contact>(
                &tx,
                &ContactFilter::default(),
                &[],
                None,
                rapport_store::text::Strategy::Scan,
                &window,
                Some(10_000),
            )
            .wrap(|sql| format!("EXPLAIN {sql}"));
            let plan: Vec<Plan> = tx.raw().fetch_all(q).await.expect("explain");
            let plan: Vec<String> = plan.into_iter().map(|p| p.line).collect();
            let bounded = plan
                .iter()
                .any(|line| line.contains("Index Cond") && line.contains(key));
            assert!(
                bounded,
                "sorted by {key} (descending: {descending}), the cursor does not bound the index scan:\n{}",
                plan.join("\n")
            );
        }
    }
}

/// A record's page reads many parts (the record, its form's choices, the records it gathers,
/// tags, tasks, timeline, the navigation); they share one transaction of the organization.
#[tokio::test]
async fn a_record_page_reads_its_organization_in_one_transaction() {
    let Some(t) = spawn("a_record_page_reads_its_organization_in_one_transaction").await else {
        return;
    };
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let company = t
        .create(&ann, "/api/v1/companies", json!({"name": "Harbour Ltd"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for body in [
        json!({"name": "Ana Costa", "company_id": company}),
        json!({"name": "Rui Lopes", "company_id": company}),
    ] {
        t.create(&ann, "/api/v1/contacts", body).await;
    }
    t.create(
        &ann,
        "/api/v1/deals",
        json!({"title": "Pontoon B", "company_id": company, "amount": 1200}),
    )
    .await;
    let browser = t.browser_session("ann@example.com").await;
    let wire = t.wire.as_ref().expect("counted");
    let path = format!("/o/acme/companies/{company}");
    let get = || async {
        let r = t
            .client
            .get(t.url(&path))
            .header("cookie", &browser.0)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.expect("page");
        assert!(
            text.contains("Ana Costa") && text.contains("Pontoon B"),
            "{text}"
        );
    };
    get().await;
    get().await;
    wire.take();
    get().await;
    let traffic = wire.take();
    let scoped = traffic
        .sql
        .iter()
        .filter(|sql| sql.contains("set_config('rapport.organization_id'"))
        .count();
    assert_eq!(
        scoped,
        1,
        "the page opened {scoped} transactions of the organization:\n{}",
        traffic.sql.join("\n")
    );
    // The person's organizations (the menu) come from the identity cache once warm.
    let begun = traffic
        .sql
        .iter()
        .filter(|sql| sql.trim_start().to_uppercase().starts_with("BEGIN"))
        .count();
    assert_eq!(
        begun,
        1,
        "the page opened {begun} transactions:\n{}",
        traffic.sql.join("\n")
    );
}
