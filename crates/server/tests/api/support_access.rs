//! Support access: an instance administrator opens an organization only through a grant its
//! owner approves, for a time; every request under it is in the organization's audit log.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Account, Options, SmtpSink, TestApp};

async fn root(t: &TestApp) -> Account {
    let root = t.register("root@example.com", None).await;
    t.app
        .cli_set_instance_admin("root@example.com", true)
        .await
        .expect("flag");
    root
}

/// `who` acting in the owner's organization.
fn in_org(who: &Account, owner: &Account) -> Account {
    Account {
        user_id: who.user_id.clone(),
        org_id: owner.org_id.clone(),
        access: who.access.clone(),
        refresh: who.refresh.clone(),
    }
}

#[tokio::test]
async fn support_opens_an_organization_only_while_an_owner_approved_grant_lasts() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "dana@example.com", "admin").await;
    let root = root(&t).await;
    let support = in_org(&root, &owner);
    t.create(&owner, "/api/v1/contacts", json!({"name": "Ana Costa"}))
        .await;

    // Being an instance administrator opens nothing by itself.
    t.org_call(&support, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Only instance administrators ask; a reason, an access and hours are required.
    let ask = format!("/api/v1/admin/organizations/{}/support-access", owner.org());
    t.post(
        &ask,
        Some(&admin.access),
        json!({"reason": "x", "access": "read", "hours": 2}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let bad = t
        .post(
            &ask,
            Some(&root.access),
            json!({"reason": " ", "access": "all", "hours": 100}),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["reason", "access", "hours"]);
    let asked = t
        .post(
            &ask,
            Some(&root.access),
            json!({"reason": "Imports fail with a 422; customer ticket 4411", "access": "read", "hours": 2}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text);
    assert_eq!(asked.body["state"], "pending");
    let grant = asked.body["id"].as_str().expect("id").to_owned();
    // The owner is told, with the way to answer.
    let mail = smtp.message_to("owner@example.com").await;
    assert!(mail.body.contains("ticket 4411"), "{}", mail.body);
    assert!(
        mail.link_containing("/o/acme/settings/support").is_some(),
        "{}",
        mail.body
    );
    // Pending opens nothing.
    t.org_call(&support, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Admins see the request but only an owner answers it.
    let listed = t
        .org_call(&admin, Method::GET, "/api/v1/support-access", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body[0]["requester_email"], "root@example.com");
    t.org_call(
        &admin,
        Method::POST,
        &format!("/api/v1/support-access/{grant}/approve"),
        None,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let approved = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/support-access/{grant}/approve"),
            None,
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["state"], "active");
    let expires: chrono::DateTime<chrono::Utc> = approved.body["expires_at"]
        .as_str()
        .expect("expiry")
        .parse()
        .expect("time");
    let hours = (expires - chrono::Utc::now()).num_minutes();
    assert!((118..=120).contains(&hours), "{hours} minutes");
    t.org_call(
        &owner,
        Method::POST,
        &format!("/api/v1/support-access/{grant}/deny"),
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "support_grant_decided");

    // Now support reads, as a viewer: no writes, no settings.
    let read = t
        .org_call(&support, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["total"], 1);
    t.org_call(
        &support,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Not allowed"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(&support, Method::GET, "/api/v1/support-access", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // The instance administrator's own list says where they may go.
    let mine = t.get("/api/v1/admin/support-access", &root.access).await;
    assert_eq!(mine.body[0]["organization_slug"], "acme", "{}", mine.text);
    assert_eq!(mine.body[0]["status"], "approved");

    // Every request under the grant is in the organization's audit log, route and all.
    let audit = t
        .org_call(&owner, Method::GET, "/api/v1/audit?action=support.", None)
        .await;
    let items = audit.body["items"].as_array().expect("items").clone();
    let accessed: Vec<&serde_json::Value> = items
        .iter()
        .filter(|e| e["action"] == "support.accessed")
        .collect();
    assert!(
        accessed
            .iter()
            .any(|e| e["changes"]["route"] == "GET /api/v1/contacts"
                && e["actor_email"] == "root@example.com"),
        "{items:?}"
    );
    for action in ["support.requested", "support.approved"] {
        assert!(
            items.iter().any(|e| e["action"] == action),
            "{action}: {items:?}"
        );
    }

    // The owner revokes it: closed at once.
    let revoked = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/support-access/{grant}/revoke"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.body["state"], "revoked");
    t.org_call(&support, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(
        &owner,
        Method::POST,
        &format!("/api/v1/support-access/{grant}/revoke"),
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "support_grant_inactive");
}

#[tokio::test]
async fn an_admin_grant_acts_as_an_admin_and_a_denied_or_expired_one_opens_nothing() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let other = t.register("other@example.com", Some("Other")).await;
    let root = root(&t).await;
    let support = in_org(&root, &owner);
    let ask = |org: String, access: &'static str| {
        let t = &t;
        let root = &root;
        async move {
            let r = t
                .post(
                    &format!("/api/v1/admin/organizations/{org}/support-access"),
                    Some(&root.access),
                    json!({"reason": "Fix the pipeline stages", "access": access, "hours": 1}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.body["id"].as_str().expect("id").to_owned()
        }
    };
    // Denied: nothing opens.
    let denied = ask(owner.org().to_owned(), "admin").await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/support-access/{denied}/deny"),
            None,
        )
        .await;
    assert_eq!(r.body["state"], "denied", "{}", r.text);
    t.org_call(&support, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // An owner of another organization cannot answer for this one.
    let granted = ask(owner.org().to_owned(), "admin").await;
    t.org_call(
        &other,
        Method::POST,
        &format!("/api/v1/support-access/{granted}/approve"),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/support-access/{granted}/approve"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Admin access: writes and settings, recorded as the instance administrator.
    let created = t
        .org_call(
            &support,
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"name": "Fixed by support", "owner_id": owner.user_id})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let renamed = t
        .call(
            Method::PATCH,
            &format!("/api/v1/organizations/{}", owner.org()),
            Some(&root.access),
            Some(json!({"time_zone": "Europe/Lisbon"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    // Nothing that could outlast the grant: no members, keys or webhooks, no security changes.
    t.org_call(
        &support,
        Method::POST,
        &format!("/api/v1/organizations/{}/members", owner.org()),
        Some(json!({"email": "root@example.com", "role": "admin"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(
        &format!("/api/v1/organizations/{}/api-keys", owner.org()),
        Some(&root.access),
        json!({"name": "Mine", "role": "viewer"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.org_call(
        &support,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": "https://example.com/hook", "event_types": ["contact.created"]})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.call(
        Method::PATCH,
        &format!("/api/v1/organizations/{}", owner.org()),
        Some(&root.access),
        Some(json!({"two_factor_required": true})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // The grant is for Acme only.
    let elsewhere = in_org(&root, &other);
    t.org_call(&elsewhere, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Past its end, nothing opens.
    sqlx_expire(&t, &granted).await;
    t.org_call(&support, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let listed = t
        .org_call(&owner, Method::GET, "/api/v1/support-access", None)
        .await;
    let states: Vec<&str> = listed
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|g| g["state"].as_str())
        .collect();
    assert_eq!(states, ["expired", "denied"]);
}

/// Moves a grant's end into the past, as time would.
async fn sqlx_expire(t: &TestApp, grant: &str) {
    let id: uuid::Uuid = grant.parse().expect("uuid");
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let mut tx = t.app.db.platform().await.expect("tx");
    tx.execute(
        rapport_store::query("UPDATE support_grants SET expires_at = $1 WHERE id = $2")
            .bind(past)
            .bind(id),
    )
    .await
    .expect("expired");
    tx.commit().await.expect("commit");
}
