//! The audit log endpoint: who may read it, filters, paging.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn the_audit_log_is_for_owners_and_admins_and_records_denials() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let r = t
        .call_with(
            Method::GET,
            "/api/v1/audit",
            Some(&manager.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=permission.denied",
            Some(&owner.access),
            None,
            &[
                ("x-organization-id", owner.org()),
                ("user-agent", "audit-test"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let entry = &r.body["items"][0];
    assert_eq!(entry["actor_email"], "manager@example.com");
    assert_eq!(entry["target_type"], "audit_log");
    assert_eq!(entry["changes"]["role"], "manager");
    assert_eq!(entry["ip"], "127.0.0.1");
    assert!(entry["request_id"].is_string());
}

#[tokio::test]
async fn role_changes_carry_before_and_after_and_the_request() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "bob@example.com", "viewer").await;
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let bob = members
        .body
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["email"] == "bob@example.com")
        .expect("bob")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .call_with(
            Method::PATCH,
            &format!("/api/v1/organizations/{}/members/{bob}", owner.org()),
            Some(&owner.access),
            Some(json!({"role": "manager"})),
            &[
                ("x-request-id", "trace-42"),
                ("user-agent", "integration-test/1.0"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let log = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=member.role_changed",
            Some(&owner.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    let e = &log.body["items"][0];
    assert_eq!(
        e["changes"]["role"],
        json!({"before": "viewer", "after": "manager"})
    );
    assert_eq!(e["target_id"], bob.as_str());
    assert_eq!(e["actor_id"], owner.user_id.as_str());
    assert_eq!(e["request_id"], "trace-42");
    assert_eq!(e["user_agent"], "integration-test/1.0");
}

#[tokio::test]
async fn the_audit_log_filters_and_pages() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for n in 0..7 {
        let r = t
            .call(
                Method::PATCH,
                &format!("/api/v1/organizations/{}", owner.org()),
                Some(&owner.access),
                Some(json!({"name": format!("Acme {n}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let h = [("x-organization-id", owner.org())];
    let page1 = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=organization.settings_changed&page_size=3",
            Some(&owner.access),
            None,
            &h,
        )
        .await;
    assert_eq!(page1.body["total"], 7);
    assert_eq!(page1.body["total_is_exact"], true);
    assert_eq!(page1.body["page_size"], 3);
    let items = page1.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0]["changes"]["name"]["after"], "Acme 6",
        "newest first"
    );
    let cursor = page1.body["next_cursor"].as_str().expect("more pages");
    let page2 = t
        .call_with(
            Method::GET,
            &format!(
                "/api/v1/audit?action=organization.settings_changed&page_size=3&cursor={cursor}"
            ),
            Some(&owner.access),
            None,
            &h,
        )
        .await;
    assert_eq!(page2.body["items"][0]["changes"]["name"]["after"], "Acme 3");
    let page3 = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=organization.settings_changed&page_size=3&page=3",
            Some(&owner.access),
            None,
            &h,
        )
        .await;
    assert_eq!(page3.body["items"].as_array().map(Vec::len), Some(1));
    assert!(page3.body["next_cursor"].is_null());

    let by_actor = t
        .call_with(
            Method::GET,
            &format!("/api/v1/audit?actor_id={}", owner.user_id),
            Some(&owner.access),
            None,
            &h,
        )
        .await;
    assert!(
        by_actor.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["actor_id"] == owner.user_id.as_str())
    );
    let future = t
        .call_with(
            Method::GET,
            "/api/v1/audit?from=2999-01-01T00:00:00Z",
            Some(&owner.access),
            None,
            &h,
        )
        .await;
    assert_eq!(future.body["total"], 0);
    for bad in [
        "page_size=0",
        "page_size=101",
        "page=0",
        "cursor=garbage",
        "sort=wrong",
        "from=yesterday",
    ] {
        let r = t
            .call_with(
                Method::GET,
                &format!("/api/v1/audit?{bad}"),
                Some(&owner.access),
                None,
                &h,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
}
