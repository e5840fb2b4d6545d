//! API keys: organization-scoped credentials with a role.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn an_api_key_acts_with_its_role_in_its_organization_only() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let other = t.register("other@example.com", Some("Other")).await;
    let path = format!("/api/v1/organizations/{}/api-keys", owner.org());
    let created = t
        .post(
            &path,
            Some(&owner.access),
            json!({"name": "Zapier sync", "role": "viewer"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.body["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("rpk_"));
    assert!(secret.starts_with(created.body["prefix"].as_str().expect("prefix")));

    let h = [("x-organization-id", owner.org())];
    let current = t
        .call_with(Method::GET, "/api/v1/organization", Some(&secret), None, &h)
        .await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.text);
    assert_eq!(current.body["role"], "viewer");
    // Its role, not its creator's: a viewer key cannot change settings.
    t.call(
        Method::PATCH,
        &format!("/api/v1/organizations/{}", owner.org()),
        Some(&secret),
        Some(json!({"name": "Renamed"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Another organization: refused, even one its creator could join.
    t.call_with(
        Method::GET,
        "/api/v1/organization",
        Some(&secret),
        None,
        &[("x-organization-id", other.org())],
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let mine = t.get("/api/v1/organizations/me", &secret).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
    assert_eq!(mine.body[0]["role"], "viewer");
    // A key is not a person.
    t.post(
        "/api/v1/organizations",
        Some(&secret),
        json!({"name": "Spawned"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(
        "/api/v1/auth/password",
        Some(&secret),
        json!({"current_password": "x", "password": "tidal-harbour-99"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Listed without the secret, with its last use.
    let list = t.get(&path, &owner.access).await;
    assert_eq!(list.body[0]["name"], "Zapier sync");
    assert!(list.body[0].get("secret").is_none());
    assert!(list.body[0]["last_used_at"].is_string());
    assert!(!list.text.contains(&secret));

    // Revoked: refused at once.
    let id = created.body["id"].as_str().expect("id");
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("{path}/{id}"),
            Some(&owner.access),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    t.call_with(Method::GET, "/api/v1/organization", Some(&secret), None, &h)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    t.get("/api/v1/organizations/me", "rpk_made-up-key")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn only_owners_and_admins_manage_keys_and_only_owners_mint_owner_keys() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let path = format!("/api/v1/organizations/{}/api-keys", owner.org());
    t.post(
        &path,
        Some(&manager.access),
        json!({"name": "m", "role": "viewer"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.get(&path, &manager.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(
        &path,
        Some(&admin.access),
        json!({"name": "a", "role": "owner"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let ok = t
        .post(
            &path,
            Some(&admin.access),
            json!({"name": "a", "role": "admin"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let bad = t
        .post(
            &path,
            Some(&owner.access),
            json!({"name": " ", "role": "viewer", "expires_at": "2000-01-01T00:00:00Z"}),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let past = t
        .post(
            &path,
            Some(&owner.access),
            json!({"name": "old", "role": "viewer", "expires_at": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.body["errors"][0]["field"], "expires_at");
}

#[tokio::test]
async fn keys_stop_working_when_their_creator_leaves_and_their_use_is_audited() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let path = format!("/api/v1/organizations/{}/api-keys", owner.org());
    let created = t
        .post(
            &path,
            Some(&admin.access),
            json!({"name": "crm-sync", "role": "manager"}),
        )
        .await;
    let secret = created.body["secret"].as_str().expect("secret").to_owned();
    let key_id = created.body["id"].as_str().expect("id").to_owned();

    // Through the key, a denied action is audited with the key's id.
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&secret),
            json!({"email": "x@example.com", "role": "viewer"}),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let log = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=permission.denied",
            Some(&owner.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    assert_eq!(log.body["items"][0]["api_key_id"], key_id.as_str());
    assert_eq!(log.body["items"][0]["actor_email"], "admin@example.com");

    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let admin_member = members
        .body
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["email"] == "admin@example.com")
        .expect("admin")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.call(
        Method::DELETE,
        &format!(
            "/api/v1/organizations/{}/members/{admin_member}",
            owner.org()
        ),
        Some(&owner.access),
        None,
    )
    .await;
    t.get(&format!("/api/v1/organizations/{}", owner.org()), &secret)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let _ = admin;
}
