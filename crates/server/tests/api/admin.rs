//! Instance administration.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

async fn root(t: &TestApp) -> crate::support::Account {
    let root = t.register("root@example.com", None).await;
    t.app
        .cli_set_instance_admin("root@example.com", true)
        .await
        .expect("flag");
    root
}

#[tokio::test]
async fn only_instance_administrators_run_the_platform() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for path in ["/api/v1/admin/organizations", "/api/v1/admin/outbox"] {
        t.get(path, &owner.access)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    t.post(
        &format!("/api/v1/admin/organizations/{}/suspend", owner.org()),
        Some(&owner.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn the_instance_flag_grants_no_access_to_organizations() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let root = root(&t).await;
    t.get(
        &format!("/api/v1/organizations/{}/members", owner.org()),
        &root.access,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.call_with(
        Method::GET,
        "/api/v1/audit",
        Some(&root.access),
        None,
        &[("x-organization-id", owner.org())],
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn administrators_list_search_create_and_page_organizations() {
    let t = TestApp::spawn().await;
    for name in ["Alpha Marine", "Beta Agency", "Gamma Boats"] {
        t.register(
            &format!(
                "{}@example.com",
                name.split(' ').next().unwrap_or("x").to_lowercase()
            ),
            Some(name),
        )
        .await;
    }
    let root = root(&t).await;
    let all = t.get("/api/v1/admin/organizations", &root.access).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["items"].as_array().map(Vec::len), Some(3));
    let search = t
        .get("/api/v1/admin/organizations?search=MARINE", &root.access)
        .await;
    assert_eq!(search.body["items"][0]["name"], "Alpha Marine");
    assert_eq!(search.body["items"].as_array().map(Vec::len), Some(1));
    let literal = t
        .get("/api/v1/admin/organizations?search=%25", &root.access)
        .await;
    assert_eq!(literal.body["items"], json!([]), "% is matched literally");

    let page1 = t
        .get("/api/v1/admin/organizations?page_size=2", &root.access)
        .await;
    let cursor = page1.body["next_cursor"].as_str().expect("cursor");
    let page2 = t
        .get(
            &format!("/api/v1/admin/organizations?page_size=2&cursor={cursor}"),
            &root.access,
        )
        .await;
    assert_eq!(page2.body["items"][0]["name"], "Gamma Boats");
    assert!(page2.body["next_cursor"].is_null());

    let created = t
        .post(
            "/api/v1/admin/organizations",
            Some(&root.access),
            json!({"name": "Delta Co", "owner_email": "alpha@example.com", "currency": "GBP"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "alpha@example.com", "password": crate::support::PASSWORD}),
        )
        .await;
    let mine = t
        .get(
            "/api/v1/organizations/me",
            login.body["access_token"].as_str().expect("t"),
        )
        .await;
    assert!(
        mine.body
            .as_array()
            .expect("list")
            .iter()
            .any(|o| o["name"] == "Delta Co" && o["role"] == "owner")
    );
    let no_owner = t
        .post(
            "/api/v1/admin/organizations",
            Some(&root.access),
            json!({"name": "Nobody's", "owner_email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(no_owner.body["errors"][0]["field"], "owner_email");
}

#[tokio::test]
async fn deleted_organizations_vanish_then_are_purged_after_the_grace_period() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let root = root(&t).await;
    let r = t
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/organizations/{}", owner.org()),
            Some(&root.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["deleted_at"].is_string());
    assert!(r.body["purge_after"].is_string());
    assert_eq!(
        t.get("/api/v1/organizations/me", &owner.access).await.body,
        json!([])
    );
    t.get(
        &format!("/api/v1/organizations/{}", owner.org()),
        &owner.access,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        t.get("/api/v1/admin/organizations", &root.access)
            .await
            .body["items"],
        json!([])
    );
    let with_deleted = t
        .get(
            "/api/v1/admin/organizations?include_deleted=true",
            &root.access,
        )
        .await;
    assert_eq!(with_deleted.body["items"].as_array().map(Vec::len), Some(1));

    // Restore within the grace period.
    let restored = t
        .post(
            &format!("/api/v1/admin/organizations/{}/restore", owner.org()),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert!(restored.body["deleted_at"].is_null());
    assert_eq!(
        t.get(
            &format!("/api/v1/organizations/{}", owner.org()),
            &owner.access
        )
        .await
        .status,
        StatusCode::OK
    );

    // Delete again and let the grace period pass.
    t.call(
        Method::DELETE,
        &format!("/api/v1/admin/organizations/{}", owner.org()),
        Some(&root.access),
        None,
    )
    .await;
    let id: rapport_domain::OrganizationId = owner.org().parse().expect("id");
    let mut tx = t.app.db.platform().await.expect("tx");
    rapport_store::organizations::soft_delete(
        &mut tx,
        id,
        rapport_store::now() - chrono::TimeDelta::seconds(1),
    )
    .await
    .expect("expire");
    tx.commit().await.expect("commit");
    let purged = t.app.purge_deleted_organizations().await.expect("purge");
    assert_eq!(purged, vec![id]);
    t.get(
        &format!("/api/v1/admin/organizations/{}", owner.org()),
        &root.access,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // The owner's account survives its organization.
    assert_eq!(
        t.get("/api/v1/auth/me", &owner.access).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_smtp_email_lands_in_the_development_outbox() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let root = root(&t).await;
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "new@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let outbox = t
        .get("/api/v1/admin/outbox?to=NEW@example.com", &root.access)
        .await;
    assert_eq!(outbox.status, StatusCode::OK, "{}", outbox.text);
    let message = &outbox.body[0];
    assert_eq!(message["to"], "new@example.com");
    let text = message["text"].as_str().expect("text");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/invite/"))
        .expect("link");
    let token = link.rsplit('/').next().expect("token");
    let preview = t
        .call(
            Method::GET,
            &format!("/api/v1/auth/invitations/{token}"),
            None,
            None,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "the outbox link works");
    t.get("/api/v1/admin/outbox?limit=0", &root.access)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn administrators_see_dead_jobs_and_run_them_again() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let root = root(&t).await;
    // A job no worker knows how to do: it fails for good at its first attempt.
    let id = t
        .app
        .enqueue(rapport_app::jobs::JobSpec::new(
            rapport_app::jobs::queue::DEFAULT,
            "nobody.knows",
            json!({}),
        ))
        .await
        .expect("enqueue")
        .expect("queued")
        .to_string();
    let dead = |body: &serde_json::Value| {
        body["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["id"] == id.as_str())
            .cloned()
    };
    let mut job = None;
    for _ in 0..100 {
        let r = t.get("/api/v1/admin/jobs?status=dead", &root.access).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if let Some(j) = dead(&r.body) {
            assert!(r.body["counts"]["dead"].as_i64().is_some_and(|n| n >= 1));
            job = Some(j);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let job = job.expect("the job died");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["last_error"], "unknown job kind \"nobody.knows\"");

    t.get("/api/v1/admin/jobs", &owner.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(
        &format!("/api/v1/admin/jobs/{id}/retry"),
        Some(&owner.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.get("/api/v1/admin/jobs?status=sleeping", &root.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // The web page lists it with a button to run it again.
    let cookie = t.session_cookie("root@example.com").await;
    let page = t
        .call_with(
            Method::GET,
            "/admin/jobs?status=dead",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains(&format!("data-job=\"{id}\"")),
        "{}",
        page.text
    );
    assert!(page.text.contains(&format!("/admin/jobs/{id}/retry")));

    let r = t
        .post(
            &format!("/api/v1/admin/jobs/{id}/retry"),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // It ran again (and died again: still nobody knows how).
    let mut runs = 0;
    for _ in 0..100 {
        let r = t.get("/api/v1/admin/jobs?status=dead", &root.access).await;
        if let Some(j) = dead(&r.body)
            && j["updated_at"] != job["updated_at"]
        {
            runs += 1;
            assert_eq!(j["attempts"], 1, "attempts counted afresh");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(runs, 1, "the retried job ran");
    let missing = uuid::Uuid::now_v7();
    t.post(
        &format!("/api/v1/admin/jobs/{missing}/retry"),
        Some(&root.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}
