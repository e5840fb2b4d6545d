//! Tenant isolation and resolution: other organizations' ids are 404, their header 403; every
//! way of naming an organization resolves; suspended organizations refuse requests; row-level
//! security on PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, is_postgres};

#[tokio::test]
async fn another_organizations_ids_are_404_and_its_header_403() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    let b = t.register("b@example.com", Some("Beta")).await;
    let a_members = t
        .get(
            &format!("/api/v1/organizations/{}/members", a.org()),
            &a.access,
        )
        .await;
    let a_member_id = a_members.body[0]["id"].as_str().expect("id").to_owned();

    // B names A's organization: refused without saying more.
    for path in [
        format!("/api/v1/organizations/{}", a.org()),
        format!("/api/v1/organizations/{}/members", a.org()),
        format!("/api/v1/organizations/{}/domains", a.org()),
        format!("/api/v1/organizations/{}/invitations", a.org()),
    ] {
        t.get(&path, &b.access)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/organizations/{}", a.org()),
            Some(json!({"name": "Owned"})),
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{}/members", a.org()),
            Some(json!({"email": "b@example.com", "role": "owner"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{}/members/{a_member_id}", a.org()),
            None,
        ),
    ] {
        t.call(method, &path, Some(&b.access), body)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    // A's header used by B.
    for path in ["/api/v1/organization", "/api/v1/audit"] {
        t.call_with(
            Method::GET,
            path,
            Some(&b.access),
            None,
            &[("x-organization-id", a.org())],
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    // An organization that does not exist answers exactly like one the caller is not in.
    let ghost = uuid::Uuid::now_v7().to_string();
    let r = t
        .call_with(
            Method::GET,
            "/api/v1/organization",
            Some(&b.access),
            None,
            &[("x-organization-id", &ghost)],
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // A's membership id used within B's own organization: no such record there.
    let path = format!("/api/v1/organizations/{}/members/{a_member_id}", b.org());
    t.call(
        Method::PATCH,
        &path,
        Some(&b.access),
        Some(json!({"role": "viewer"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    t.call(Method::DELETE, &path, Some(&b.access), None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // A's domain id likewise.
    let dom = t
        .post(
            &format!("/api/v1/organizations/{}/domains", a.org()),
            Some(&a.access),
            json!({"domain": "crm.alpha.test"}),
        )
        .await;
    let dom_id = dom.body["id"].as_str().expect("domain id");
    t.call(
        Method::DELETE,
        &format!("/api/v1/organizations/{}/domains/{dom_id}", b.org()),
        Some(&b.access),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // A's invitation and API key ids likewise.
    let inv = t
        .post(
            &format!("/api/v1/organizations/{}/members", a.org()),
            Some(&a.access),
            json!({"email": "inv@example.com", "role": "viewer"}),
        )
        .await;
    let inv_id = inv.body["invitation"]["id"]
        .as_str()
        .expect("invitation id");
    t.call(
        Method::DELETE,
        &format!("/api/v1/organizations/{}/invitations/{inv_id}", b.org()),
        Some(&b.access),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    t.post(
        &format!(
            "/api/v1/organizations/{}/invitations/{inv_id}/resend",
            b.org()
        ),
        Some(&b.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let key = t
        .post(
            &format!("/api/v1/organizations/{}/api-keys", a.org()),
            Some(&a.access),
            json!({"name": "k", "role": "viewer"}),
        )
        .await;
    let key_id = key.body["id"].as_str().expect("key id");
    t.call(
        Method::DELETE,
        &format!("/api/v1/organizations/{}/api-keys/{key_id}", b.org()),
        Some(&b.access),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let a_keys = t
        .get(
            &format!("/api/v1/organizations/{}/api-keys", a.org()),
            &a.access,
        )
        .await;
    assert_eq!(
        a_keys.body.as_array().map(Vec::len),
        Some(1),
        "A's key survived"
    );
    // Nothing of A was touched.
    let after = t
        .get(
            &format!("/api/v1/organizations/{}/members", a.org()),
            &a.access,
        )
        .await;
    assert_eq!(after.body, a_members.body);
}

#[tokio::test]
async fn scoped_routes_need_an_organization() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    t.get("/api/v1/organization", &a.access)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "organization_required");
    t.call_with(
        Method::GET,
        "/api/v1/organization",
        Some(&a.access),
        None,
        &[("x-organization-id", "not-a-uuid")],
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_organization_id");
}

#[tokio::test]
async fn organizations_resolve_by_domain_subdomain_slug_and_header() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha Marine")).await;
    let b = t.register("b@example.com", Some("Beta Agency")).await;
    t.member(&a, "both@example.com", "viewer").await;
    let both_b = t
        .post(
            &format!("/api/v1/organizations/{}/members", b.org()),
            Some(&b.access),
            json!({"email": "both@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(both_b.status, StatusCode::CREATED);
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "both@example.com", "password": crate::support::PASSWORD}),
        )
        .await;
    let token = login.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/domains", a.org()),
            Some(&a.access),
            json!({"domain": "CRM.Alpha-Marine.test"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let current = |headers: Vec<(&'static str, String)>, path: &'static str| {
        let t = &t;
        let token = token.clone();
        async move {
            let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.call_with(Method::GET, path, Some(&token), None, &hs)
                .await
        }
    };
    // Custom domain.
    let r = current(
        vec![("host", "crm.alpha-marine.test".into())],
        "/api/v1/organization",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], a.org());
    assert_eq!(r.body["role"], "viewer");
    // Subdomain of the base domain (with a port, as browsers send it).
    let r = current(
        vec![("host", "beta-agency.rapport.test:8080".into())],
        "/api/v1/organization",
    )
    .await;
    assert_eq!(r.body["id"], b.org(), "{}", r.text);
    assert_eq!(r.body["role"], "member");
    // `/o/{slug}` prefix.
    let r = current(vec![], "/o/alpha-marine/api/v1/organization").await;
    assert_eq!(r.body["id"], a.org(), "{}", r.text);
    // Header.
    let r = current(
        vec![("x-organization-id", b.org().to_owned())],
        "/api/v1/organization",
    )
    .await;
    assert_eq!(r.body["id"], b.org());
    // First match wins: the domain beats the header.
    let r = current(
        vec![
            ("host", "crm.alpha-marine.test".into()),
            ("x-organization-id", b.org().to_owned()),
        ],
        "/api/v1/organization",
    )
    .await;
    assert_eq!(r.body["id"], a.org());
    // Unknown slug.
    let r = current(vec![], "/o/nobody-here/api/v1/organization").await;
    r.assert_problem(StatusCode::NOT_FOUND, "organization_not_found");
    // An unknown host falls through to the next rule.
    let r = current(
        vec![
            ("host", "unknown.example.org".into()),
            ("x-organization-id", b.org().to_owned()),
        ],
        "/api/v1/organization",
    )
    .await;
    assert_eq!(r.body["id"], b.org());
}

#[tokio::test]
async fn a_suspended_organization_refuses_every_request() {
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    let root = t.register("root@example.com", None).await;
    t.app
        .cli_set_instance_admin("root@example.com", true)
        .await
        .expect("admin");
    let r = t
        .post(
            &format!("/api/v1/admin/organizations/{}/suspend", a.org()),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "suspended");
    for path in [
        format!("/api/v1/organizations/{}", a.org()),
        format!("/api/v1/organizations/{}/members", a.org()),
    ] {
        let r = t.get(&path, &a.access).await;
        r.assert_problem(StatusCode::FORBIDDEN, "organization_suspended");
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("suspended"))
        );
    }
    t.call_with(
        Method::GET,
        "/api/v1/organization",
        Some(&a.access),
        None,
        &[("x-organization-id", a.org())],
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "organization_suspended");
    let r = t
        .post(
            &format!("/api/v1/admin/organizations/{}/restore", a.org()),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["status"], "active");
    assert_eq!(
        t.get(&format!("/api/v1/organizations/{}", a.org()), &a.access)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn row_level_security_hides_other_tenants_from_a_query_without_filter() {
    if !is_postgres() {
        crate::support::say_skipped(
            "row_level_security_hides_other_tenants_from_a_query_without_filter",
            "row-level security exists only on PostgreSQL (set RAPPORT_TEST_POSTGRES_URL)",
        );
        return;
    }
    let t = TestApp::spawn().await;
    let a = t.register("a@example.com", Some("Alpha")).await;
    let b = t.register("b@example.com", Some("Beta")).await;
    t.member(&a, "a2@example.com", "viewer").await;
    let a_id: rapport_domain::OrganizationId = a.org().parse().expect("id");

    #[derive(sqlx::FromRow)]
    struct Row {
        organization_id: uuid::Uuid,
    }
    let forgetful = || rapport_store::query("SELECT organization_id FROM memberships");

    // Platform scope sees every tenant: both organizations' memberships exist.
    let mut platform = t.app.db.platform_read().await.expect("tx");
    let all: Vec<Row> = platform.fetch_all(forgetful()).await.expect("query");
    assert_eq!(all.len(), 3);
    platform.commit().await.expect("commit");

    // Tenant scope: a query that forgets `WHERE organization_id = …` still sees only its tenant.
    let mut tx = t.app.db.tenant(a_id).await.expect("tenant tx");
    let rows: Vec<Row> = tx.raw().fetch_all(forgetful()).await.expect("query");
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.organization_id.to_string() == a.org())
    );
    // The same holds for the organizations table and for writes.
    let orgs: Vec<Row> = tx
        .raw()
        .fetch_all(rapport_store::query(
            "SELECT id AS organization_id FROM organizations",
        ))
        .await
        .expect("query");
    assert_eq!(orgs.len(), 1);
    let touched = tx
        .raw()
        .execute(
            rapport_store::query(
                "UPDATE memberships SET role = 'viewer' WHERE organization_id = $1",
            )
            .bind(b.org().parse::<uuid::Uuid>().expect("uuid")),
        )
        .await
        .expect("update");
    assert_eq!(
        touched, 0,
        "a tenant transaction must not change another tenant's rows"
    );
    let insert = tx
        .raw()
        .execute(
            rapport_store::query(
                "INSERT INTO audit_log (organization_id, id, action, created_at) VALUES ($1, $2, 'forged', $3)",
            )
            .bind(b.org().parse::<uuid::Uuid>().expect("uuid"))
            .bind(uuid::Uuid::now_v7())
            .bind(rapport_store::now()),
        )
        .await;
    assert!(
        insert.is_err(),
        "inserting a row for another tenant must be refused"
    );
}
