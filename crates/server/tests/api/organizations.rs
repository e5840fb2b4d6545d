//! Organization settings, branding, domains, creation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn owners_change_settings_and_each_change_is_audited() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let path = format!("/api/v1/organizations/{}", owner.org());
    let r = t
        .call(Method::PATCH, &path, Some(&owner.access), Some(json!({"name": "Acme Boats", "currency": "usd", "time_zone": "Europe/Paris", "primary_color": "#4F46E5"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Acme Boats");
    assert_eq!(r.body["currency"], "USD");
    assert_eq!(r.body["time_zone"], "Europe/Paris");
    assert_eq!(r.body["primary_color"], "#4f46e5");
    assert_eq!(r.body["slug"], "acme");

    let audit = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=organization.settings_changed",
            Some(&owner.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    let changes = &audit.body["items"][0]["changes"];
    assert_eq!(
        changes["name"],
        json!({"before": "Acme", "after": "Acme Boats"})
    );
    assert_eq!(
        changes["currency"],
        json!({"before": "EUR", "after": "USD"})
    );
    assert!(
        changes.get("slug").is_none(),
        "unchanged fields are not logged"
    );

    let cleared = t
        .call(
            Method::PATCH,
            &path,
            Some(&owner.access),
            Some(json!({"primary_color": null})),
        )
        .await;
    assert!(cleared.body["primary_color"].is_null());
    assert_eq!(cleared.body["name"], "Acme Boats");
}

#[tokio::test]
async fn invalid_settings_are_refused_field_by_field_and_nothing_changes() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.register("other@example.com", Some("Taken Slug")).await;
    let path = format!("/api/v1/organizations/{}", owner.org());
    let r = t
        .call(Method::PATCH, &path, Some(&owner.access), Some(json!({"name": "Fine", "currency": "XXQ", "time_zone": "Mars/Base", "slug": "Bad Slug", "primary_color": "blue"})))
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["currency", "primary_color", "slug", "time_zone"]);
    let taken = t
        .call(
            Method::PATCH,
            &path,
            Some(&owner.access),
            Some(json!({"slug": "taken-slug"})),
        )
        .await;
    assert_eq!(taken.body["errors"][0]["field"], "slug");
    let unknown = t
        .call(
            Method::PATCH,
            &path,
            Some(&owner.access),
            Some(json!({"colour": "#ffffff"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let now = t.get(&path, &owner.access).await;
    assert_eq!(now.body["name"], "Acme");
    assert_eq!(now.body["slug"], "acme");
}

#[tokio::test]
async fn managers_and_members_cannot_change_settings() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let path = format!("/api/v1/organizations/{}", owner.org());
    for role in ["manager", "member", "viewer"] {
        let who = t.member(&owner, &format!("{role}@example.com"), role).await;
        t.call(
            Method::PATCH,
            &path,
            Some(&who.access),
            Some(json!({"name": "Mine now"})),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(t.get(&path, &who.access).await.body["role"], role);
    }
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let r = t
        .call(
            Method::PATCH,
            &path,
            Some(&admin.access),
            Some(json!({"name": "Admin renamed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn logos_are_png_jpeg_or_harmless_svg_up_to_one_mebibyte() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let path = format!("/api/v1/organizations/{}/logo", owner.org());
    let put = |content_type: &'static str, data: Vec<u8>| {
        let req = t
            .client
            .put(t.url(&path))
            .bearer_auth(&owner.access)
            .header("content-type", content_type)
            .body(data);
        async move { crate::support::Resp::from(req.send().await.expect("sent")).await }
    };
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    assert_eq!(
        put("image/png", png.clone()).await.status,
        StatusCode::NO_CONTENT
    );
    let got = t
        .client
        .get(t.url(&path))
        .bearer_auth(&owner.access)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        got.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), png);
    let org = t
        .get(
            &format!("/api/v1/organizations/{}", owner.org()),
            &owner.access,
        )
        .await;
    assert_eq!(org.body["logo_url"], path.as_str());

    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><circle cx="2" cy="2" r="2" fill="#0ea5e9"/></svg>"##.to_vec();
    assert_eq!(
        put("image/svg+xml", svg).await.status,
        StatusCode::NO_CONTENT
    );
    let evil = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="fetch('/api')"><script>alert(1)</script></svg>"#.to_vec();
    let r = put("image/svg+xml", evil).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "logo");
    put("image/gif", b"GIF89a....".to_vec())
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    put("image/png", b"not really a png".to_vec())
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(1024 * 1024 + 10, 0);
    put("image/png", big)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // The SVG stored before is still there.
    let got = t
        .client
        .get(t.url(&path))
        .bearer_auth(&owner.access)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        got.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/svg+xml")
    );
    assert!(
        got.headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("sandbox"))
    );

    assert_eq!(
        t.call(Method::DELETE, &path, Some(&owner.access), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    t.get(&path, &owner.access)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn custom_domains_are_unique_across_organizations() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    let b = t.register("b@example.com", Some("Beta")).await;
    let path = |o: &str| format!("/api/v1/organizations/{o}/domains");
    let r = t
        .post(
            &path(a.org()),
            Some(&a.access),
            json!({"domain": "crm.alpha.test"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = t.get(&path(a.org()), &a.access).await;
    assert_eq!(list.body["items"][0]["domain"], "crm.alpha.test");
    assert_eq!(list.body["subdomain"], "alpha.rapport.test");
    t.post(
        &path(b.org()),
        Some(&b.access),
        json!({"domain": "CRM.alpha.test"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "domain_taken");
    for bad in ["localhost", "10.0.0.1", "a b.test", "x.rapport.test"] {
        let r = t
            .post(&path(b.org()), Some(&b.access), json!({"domain": bad}))
            .await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let id = r.body["id"].as_str().expect("id");
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("{}/{id}", path(a.org())),
            Some(&a.access),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let r = t
        .post(
            &path(b.org()),
            Some(&b.access),
            json!({"domain": "crm.alpha.test"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "a released domain can be taken"
    );
}

#[tokio::test]
async fn users_create_organizations_they_own() {
    let t = TestApp::spawn().await;
    let ann = t.register("ann@example.com", None).await;
    let r = t
        .post(
            "/api/v1/organizations",
            Some(&ann.access),
            json!({"name": "Marina del Sol", "currency": "EUR", "time_zone": "Europe/Madrid"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["slug"], "marina-del-sol");
    assert_eq!(r.body["role"], "owner");
    let again = t
        .post(
            "/api/v1/organizations",
            Some(&ann.access),
            json!({"name": "Marina del Sol"}),
        )
        .await;
    assert_eq!(again.body["slug"], "marina-del-sol-2");
    let taken = t
        .post(
            "/api/v1/organizations",
            Some(&ann.access),
            json!({"name": "X", "slug": "marina-del-sol"}),
        )
        .await;
    assert_eq!(taken.body["errors"][0]["field"], "slug");
    let empty = t
        .post(
            "/api/v1/organizations",
            Some(&ann.access),
            json!({"name": "  "}),
        )
        .await;
    assert_eq!(empty.body["errors"][0]["field"], "name");
}

#[tokio::test]
async fn ai_settings_keep_the_key_secret_and_are_for_administrators() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let path = format!("/api/v1/organizations/{}/ai-settings", owner.org());
    t.get(&path, &manager.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let body = json!({"base_url": "https://api.example.com/v1/", "api_key": "sk-secret-98765", "default_model": "small-1", "monthly_token_budget": 1000000, "max_tokens_per_request": 2000});
    let r = t
        .call(Method::PUT, &path, Some(&owner.access), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["api_key_last4"], "8765");
    assert_eq!(r.body["base_url"], "https://api.example.com/v1");
    assert!(!r.text.contains("sk-secret"));
    // Absent key: kept. Empty key: removed.
    let kept = t
        .call(
            Method::PUT,
            &path,
            Some(&owner.access),
            Some(json!({"default_model": "small-2"})),
        )
        .await;
    assert_eq!(kept.body["api_key_last4"], "8765");
    let log = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=organization.ai_settings_changed",
            Some(&owner.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    assert!(!log.text.contains("sk-secret"), "{}", log.text);
    let removed = t
        .call(
            Method::PUT,
            &path,
            Some(&owner.access),
            Some(json!({"api_key": ""})),
        )
        .await;
    assert!(removed.body["api_key_last4"].is_null());
    let bad = t
        .call(
            Method::PUT,
            &path,
            Some(&owner.access),
            Some(json!({"base_url": "ftp://x", "max_tokens_per_request": 0})),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}
