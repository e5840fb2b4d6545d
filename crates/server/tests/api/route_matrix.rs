//! Every API route has a permission decision, written here; a route added without one fails
//! this test (the OpenAPI test holds the document to the router, so a route cannot hide from
//! both). Then each route is called as nobody (401), as a person of another organization naming
//! this one (403 or 404), as a viewer where it changes something or administers (403 or 404), and
//! as an organization's owner where it runs the instance (403), on both engines. What a role's
//! matrix lets it reach record by record (own, team, everyone's) is tested in `reach.rs`.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};

use crate::support::TestApp;

/// Who a route is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone, signed in or not (sign-in, registration, health, the document itself).
    Public,
    /// Any signed-in person, outside any organization (their own account).
    Person,
    /// A member of the organization, as far as their role's matrix and the record reach.
    Member,
    /// The organization's owners and admins (settings, members, roles, keys, webhooks, audit).
    Administration,
    /// A member's own things in the organization (their notifications): any role, no one else.
    Own,
    /// The instance's administrators.
    Instance,
}
use Access::*;

const ROUTES: &[(&str, &str, Access)] = &[
    ("delete", "/api/v1/admin/organizations/{id}", Instance),
    ("delete", "/api/v1/auth/session", Person),
    ("delete", "/api/v1/auth/sessions/{id}", Person),
    ("delete", "/api/v1/companies/{id}", Member),
    ("delete", "/api/v1/contacts/{id}", Member),
    ("delete", "/api/v1/deals/{id}", Member),
    ("delete", "/api/v1/leads/{id}", Member),
    ("delete", "/api/v1/objects/{object}", Administration),
    (
        "delete",
        "/api/v1/objects/{object}/fields/{key}",
        Administration,
    ),
    ("delete", "/api/v1/objects/{object}/records/{id}", Member),
    (
        "delete",
        "/api/v1/organizations/{id}/api-keys/{key_id}",
        Administration,
    ),
    (
        "delete",
        "/api/v1/organizations/{id}/domains/{domain_id}",
        Administration,
    ),
    (
        "delete",
        "/api/v1/organizations/{id}/single-sign-on",
        Administration,
    ),
    (
        "delete",
        "/api/v1/organizations/{id}/invitations/{invitation_id}",
        Administration,
    ),
    ("delete", "/api/v1/organizations/{id}/logo", Administration),
    (
        "delete",
        "/api/v1/organizations/{id}/members/{member_id}",
        Administration,
    ),
    ("delete", "/api/v1/pipelines/{id}", Administration),
    ("delete", "/api/v1/roles/{key}", Administration),
    ("delete", "/api/v1/tags/{id}", Member),
    ("delete", "/api/v1/tasks/{id}", Member),
    ("delete", "/api/v1/teams/{id}", Administration),
    ("delete", "/api/v1/portal/clients/{id}", Administration),
    (
        "delete",
        "/api/v1/portal/clients/{id}/shares/{record_id}",
        Member,
    ),
    ("delete", "/api/v1/views/{id}", Member),
    ("delete", "/api/v1/files/{id}", Member),
    ("get", "/api/v1/files", Member),
    ("get", "/api/v1/files/{id}", Member),
    ("get", "/api/v1/files/{id}/content", Member),
    ("get", "/api/v1/files/{id}/versions", Member),
    ("get", "/api/v1/{kind}/{id}/files", Member),
    ("get", "/api/v1/objects/{object}/records/{id}/files", Member),
    ("post", "/api/v1/files", Member),
    ("post", "/api/v1/files/{id}/link", Member),
    ("post", "/api/v1/files/{id}/versions", Member),
    (
        "post",
        "/api/v1/files/{id}/versions/{version_id}/restore",
        Member,
    ),
    ("post", "/api/v1/{kind}/{id}/files", Member),
    (
        "post",
        "/api/v1/objects/{object}/records/{id}/files",
        Member,
    ),
    ("delete", "/api/v1/webhooks/{id}", Administration),
    ("get", "/api/v1/admin/jobs", Instance),
    ("get", "/api/v1/admin/organizations", Instance),
    ("get", "/api/v1/admin/organizations/{id}", Instance),
    ("get", "/api/v1/admin/outbox", Instance),
    ("get", "/api/v1/admin/support-access", Instance),
    ("get", "/api/v1/analytics/deals/funnel", Member),
    ("get", "/api/v1/analytics/deals/summary", Member),
    ("get", "/api/v1/audit", Administration),
    ("get", "/api/v1/auth/invitations/{token}", Public),
    ("get", "/api/v1/auth/me", Person),
    ("get", "/api/v1/auth/session", Person),
    ("get", "/api/v1/auth/sessions", Person),
    ("get", "/api/v1/auth/two-factor", Person),
    ("get", "/api/v1/companies", Member),
    ("get", "/api/v1/companies/export.csv", Member),
    ("get", "/api/v1/companies/{id}", Member),
    ("get", "/api/v1/contacts", Member),
    ("get", "/api/v1/contacts/export.csv", Member),
    ("get", "/api/v1/contacts/{id}", Member),
    ("get", "/api/v1/deals", Member),
    ("get", "/api/v1/deals/export.csv", Member),
    ("get", "/api/v1/deals/{id}", Member),
    ("get", "/api/v1/deals/{id}/activities", Member),
    ("get", "/api/v1/leads", Member),
    ("get", "/api/v1/leads/export.csv", Member),
    ("get", "/api/v1/leads/{id}", Member),
    ("get", "/api/v1/notifications", Own),
    ("get", "/api/v1/notifications/preferences", Person),
    ("get", "/api/v1/objects", Member),
    ("get", "/api/v1/objects/{object}", Member),
    ("get", "/api/v1/objects/{object}/records", Member),
    ("get", "/api/v1/objects/{object}/records/{id}", Member),
    ("get", "/api/v1/openapi.json", Public),
    ("get", "/api/v1/organization", Member),
    ("get", "/api/v1/organizations/me", Person),
    ("get", "/api/v1/organizations/{id}", Member),
    (
        "get",
        "/api/v1/organizations/{id}/ai-settings",
        Administration,
    ),
    (
        "get",
        "/api/v1/organizations/{id}/single-sign-on",
        Administration,
    ),
    ("get", "/api/v1/organizations/{id}/api-keys", Administration),
    ("get", "/api/v1/organizations/{id}/domains", Member),
    (
        "get",
        "/api/v1/organizations/{id}/invitations",
        Administration,
    ),
    ("get", "/api/v1/organizations/{id}/logo", Member),
    ("get", "/api/v1/organizations/{id}/members", Member),
    ("get", "/api/v1/pipelines", Member),
    ("get", "/api/v1/pipelines/{id}", Member),
    ("get", "/api/v1/roles", Member),
    ("get", "/api/v1/roles/{key}", Member),
    ("get", "/api/v1/search", Member),
    ("get", "/api/v1/support-access", Administration),
    ("get", "/api/v1/tags", Member),
    ("get", "/api/v1/tasks", Member),
    ("get", "/api/v1/tasks/{id}", Member),
    ("get", "/api/v1/teams", Member),
    ("get", "/api/v1/portal/settings", Member),
    ("get", "/api/v1/portal/clients", Member),
    ("get", "/api/v1/portal/clients/{id}", Member),
    ("get", "/api/v1/portal/clients/{id}/shares", Administration),
    ("get", "/api/v1/teams/{id}", Member),
    ("get", "/api/v1/trash", Member),
    ("get", "/api/v1/views", Member),
    ("get", "/api/v1/webhooks", Administration),
    ("get", "/api/v1/webhooks/{id}", Administration),
    ("get", "/api/v1/webhooks/{id}/deliveries", Administration),
    (
        "get",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}",
        Administration,
    ),
    ("get", "/api/v1/{kind}/{id}/activities", Member),
    ("get", "/health", Public),
    ("get", "/metrics", Public),
    ("get", "/ready", Public),
    ("get", "/ws", Member),
    ("patch", "/api/v1/companies/{id}", Member),
    ("patch", "/api/v1/contacts/{id}", Member),
    ("patch", "/api/v1/deals/{id}", Member),
    ("patch", "/api/v1/leads/{id}", Member),
    ("patch", "/api/v1/objects/{object}", Administration),
    (
        "patch",
        "/api/v1/objects/{object}/fields/{key}",
        Administration,
    ),
    ("patch", "/api/v1/objects/{object}/records/{id}", Member),
    ("patch", "/api/v1/organizations/{id}", Administration),
    (
        "patch",
        "/api/v1/organizations/{id}/members/{member_id}",
        Administration,
    ),
    ("patch", "/api/v1/pipelines/{id}", Administration),
    ("patch", "/api/v1/roles/{key}", Administration),
    ("patch", "/api/v1/tags/{id}", Member),
    ("patch", "/api/v1/tasks/{id}", Member),
    ("patch", "/api/v1/teams/{id}", Administration),
    ("patch", "/api/v1/portal/clients/{id}", Administration),
    ("patch", "/api/v1/webhooks/{id}", Administration),
    ("post", "/api/v1/admin/jobs/{id}/retry", Instance),
    ("post", "/api/v1/admin/organizations", Instance),
    ("post", "/api/v1/admin/organizations/{id}/restore", Instance),
    (
        "post",
        "/api/v1/admin/organizations/{id}/support-access",
        Instance,
    ),
    ("post", "/api/v1/admin/organizations/{id}/suspend", Instance),
    ("post", "/api/v1/auth/invitations/accept", Public),
    ("post", "/api/v1/auth/login", Public),
    ("post", "/api/v1/auth/logout", Public),
    ("post", "/api/v1/auth/password", Person),
    ("post", "/api/v1/auth/password-reset", Public),
    ("post", "/api/v1/auth/password-reset/confirm", Public),
    ("post", "/api/v1/auth/refresh", Public),
    ("post", "/api/v1/auth/register", Public),
    ("post", "/api/v1/auth/session", Public),
    ("post", "/api/v1/auth/sessions/revoke-others", Person),
    ("post", "/api/v1/auth/two-factor/disable", Person),
    ("post", "/api/v1/auth/two-factor/enable", Person),
    ("post", "/api/v1/auth/two-factor/recovery-codes", Person),
    ("post", "/api/v1/auth/two-factor/setup", Person),
    ("post", "/api/v1/companies", Member),
    ("post", "/api/v1/contacts", Member),
    ("post", "/api/v1/deals", Member),
    ("post", "/api/v1/deals/{id}/activities", Member),
    ("post", "/api/v1/leads", Member),
    ("post", "/api/v1/leads/{id}/convert", Member),
    ("post", "/api/v1/notifications/read-all", Own),
    ("post", "/api/v1/notifications/{id}/read", Own),
    ("post", "/api/v1/objects", Administration),
    ("post", "/api/v1/objects/{object}/fields", Administration),
    ("post", "/api/v1/objects/{object}/records", Member),
    (
        "post",
        "/api/v1/objects/{object}/records/{id}/restore",
        Member,
    ),
    ("post", "/api/v1/organizations", Person),
    (
        "post",
        "/api/v1/organizations/{id}/api-keys",
        Administration,
    ),
    ("post", "/api/v1/organizations/{id}/domains", Administration),
    (
        "post",
        "/api/v1/organizations/{id}/invitations/{invitation_id}/resend",
        Administration,
    ),
    ("post", "/api/v1/organizations/{id}/members", Administration),
    (
        "post",
        "/api/v1/organizations/{id}/members/{member_id}/deactivate",
        Administration,
    ),
    (
        "post",
        "/api/v1/organizations/{id}/members/{member_id}/reactivate",
        Administration,
    ),
    ("post", "/api/v1/pipelines", Administration),
    ("post", "/api/v1/roles", Administration),
    (
        "post",
        "/api/v1/support-access/{id}/approve",
        Administration,
    ),
    ("post", "/api/v1/support-access/{id}/deny", Administration),
    ("post", "/api/v1/support-access/{id}/revoke", Administration),
    ("post", "/api/v1/tags", Member),
    ("post", "/api/v1/tasks", Member),
    ("post", "/api/v1/teams", Administration),
    ("post", "/api/v1/portal/clients", Administration),
    ("post", "/api/v1/portal/clients/{id}/link", Administration),
    ("post", "/api/v1/trash/{kind}/{id}/restore", Member),
    ("post", "/api/v1/views", Member),
    ("post", "/api/v1/webhooks", Administration),
    (
        "post",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend",
        Administration,
    ),
    (
        "post",
        "/api/v1/webhooks/{id}/rotate-secret",
        Administration,
    ),
    ("post", "/api/v1/webhooks/{id}/test", Administration),
    ("post", "/api/v1/{kind}/{id}/activities", Member),
    ("put", "/api/v1/notifications/preferences", Person),
    (
        "put",
        "/api/v1/organizations/{id}/ai-settings",
        Administration,
    ),
    (
        "put",
        "/api/v1/organizations/{id}/single-sign-on",
        Administration,
    ),
    ("put", "/api/v1/organizations/{id}/logo", Administration),
    ("put", "/api/v1/portal/settings", Administration),
    (
        "put",
        "/api/v1/portal/clients/{id}/shares/{record_id}",
        Member,
    ),
    ("put", "/api/v1/{kind}/{id}/tags", Member),
];

async fn spec_operations(t: &TestApp) -> BTreeSet<(String, String)> {
    let r = t
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut out = BTreeSet::new();
    for (path, item) in r.body["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_has_a_permission_decision() {
    let t = TestApp::spawn().await;
    let spec = spec_operations(&t).await;
    let decided: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<String> = spec
        .difference(&decided)
        .map(|(m, p)| format!("    (\"{m}\", \"{p}\", Member),"))
        .collect();
    let stale: Vec<String> = decided
        .difference(&spec)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a decision (add them to ROUTES):\n{}\nrouting no more: {stale:?}",
        missing.join("\n")
    );
}

/// A route's path with its parameters filled: the organization's own id where a path names an
/// organization, built-in names where it names an object or a kind, and ids that exist nowhere
/// elsewhere (a refusal must come before any lookup).
fn fill(path: &str, organization: &str) -> String {
    let unknown = "0190c6c4-0000-7000-8000-000000000001";
    let mut out = path.replace(
        "/organizations/{id}",
        &format!("/organizations/{organization}"),
    );
    for (param, value) in [
        ("{object}", "contact"),
        ("/roles/{key}", "/roles/member"),
        ("/fields/{key}", "/fields/name"),
        ("{kind}", "contacts"),
        ("{token}", "not-a-token"),
    ] {
        out = out.replace(param, value);
    }
    // The upload names its record in the query.
    if out == "/api/v1/files" {
        out.push_str("?record_type=contact&record_id={record_id}");
    }
    for param in [
        "{id}",
        "{member_id}",
        "{key_id}",
        "{domain_id}",
        "{invitation_id}",
        "{delivery_id}",
        "{record_id}",
        "{version_id}",
    ] {
        out = out.replace(param, unknown);
    }
    out
}

/// A body the route accepts, where it reads its body before deciding who may call it (so the
/// decision, not the body's shape, answers); `{}` elsewhere.
fn body(template: &str) -> serde_json::Value {
    use serde_json::json;
    match template {
        "/api/v1/organizations/{id}/members" => {
            json!({"email": "new@example.com", "role": "member"})
        }
        "/api/v1/organizations/{id}/members/{member_id}" => json!({"role": "member"}),
        "/api/v1/organizations/{id}/api-keys" => json!({"name": "Sync", "role": "viewer"}),
        "/api/v1/organizations/{id}/domains" => json!({"domain": "crm.example.com"}),
        "/api/v1/admin/organizations" => {
            json!({"name": "Another", "owner_email": "owner@example.com"})
        }
        "/api/v1/admin/organizations/{id}/support-access" => {
            json!({"reason": "Help", "access": "read", "hours": 1})
        }
        "/api/v1/deals/{id}/activities" | "/api/v1/{kind}/{id}/activities" => {
            json!({"type": "comment", "payload": {"text": "Hello"}})
        }
        "/api/v1/views" => {
            json!({"list": "contacts", "name": "Everyone's", "query": "", "shared": true})
        }
        "/api/v1/{kind}/{id}/tags" => json!({"tag_ids": []}),
        _ => json!({}),
    }
}

async fn call(
    t: &TestApp,
    method: &str,
    template: &str,
    path: &str,
    token: Option<&str>,
    organization: &str,
) -> StatusCode {
    let method: Method = method.to_uppercase().parse().expect("method");
    let body = (method != Method::GET && method != Method::DELETE).then(|| body(template));
    t.call_with(
        method,
        path,
        token,
        body,
        &[("x-organization-id", organization)],
    )
    .await
    .status
}

#[tokio::test]
async fn every_route_refuses_those_its_decision_keeps_out() {
    let smtp = crate::support::smtp::SmtpSink::start().await;
    let t = TestApp::spawn_with(crate::support::Options {
        smtp: Some(smtp.clone()),
        ..crate::support::Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let stranger = t.register("stranger@example.com", Some("Elsewhere")).await;
    let acme = owner.org().to_owned();
    // A client signed in to the organization's portal.
    let owner_session = t.browser_session("owner@example.com").await;
    crate::portal::open_portal(&t, &owner_session, "acme", &[]).await;
    let client = crate::portal::invite_client(
        &t,
        &owner_session,
        &smtp,
        "acme",
        "client@example.com",
        None,
    )
    .await;
    let token = client.trim_start_matches("rapport_portal=").to_owned();
    let mut wrong: Vec<String> = Vec::new();
    for (method, template, access) in ROUTES {
        let path = fill(template, &acme);
        let mut expect = |who: &str, got: StatusCode, allowed: &[StatusCode]| {
            if !allowed.contains(&got) {
                wrong.push(format!(
                    "{method} {template} as {who}: {got}, expected one of {allowed:?}"
                ));
            }
        };
        let anonymous = call(&t, method, template, &path, None, &acme).await;
        match access {
            Public => {
                if anonymous == StatusCode::UNAUTHORIZED || anonymous.is_server_error() {
                    wrong.push(format!("{method} {template} as nobody: {anonymous}"));
                }
                continue;
            }
            _ => expect("nobody", anonymous, &[StatusCode::UNAUTHORIZED]),
        }
        // A client's cookie, their token as a session or a bearer token: nobody, to the API.
        let as_session = format!("rapport_session={token}");
        for (who, headers) in [
            ("a client", vec![("cookie", client.as_str())]),
            (
                "a client's token as a session",
                vec![("cookie", as_session.as_str())],
            ),
        ] {
            let mut headers = headers;
            headers.push(("x-organization-id", acme.as_str()));
            headers.push(("origin", t.base.as_str()));
            let method: Method = method.to_uppercase().parse().expect("method");
            let body = (method != Method::GET && method != Method::DELETE).then(|| body(template));
            let got = t
                .call_with(method, &path, None, body, &headers)
                .await
                .status;
            expect(who, got, &[StatusCode::UNAUTHORIZED]);
        }
        let got = call(&t, method, template, &path, Some(&token), &acme).await;
        expect(
            "a client's token as a bearer token",
            got,
            &[StatusCode::UNAUTHORIZED],
        );
        match access {
            Member | Administration | Own => {
                let got = call(&t, method, template, &path, Some(&stranger.access), &acme).await;
                expect(
                    "a person of another organization",
                    got,
                    &[StatusCode::FORBIDDEN, StatusCode::NOT_FOUND],
                );
            }
            _ => {}
        }
        if *access == Administration {
            let got = call(&t, method, template, &path, Some(&viewer.access), &acme).await;
            expect("a viewer", got, &[StatusCode::FORBIDDEN]);
        }
        if *access == Member && *method != "get" {
            let got = call(&t, method, template, &path, Some(&viewer.access), &acme).await;
            expect(
                "a viewer writing",
                got,
                &[StatusCode::FORBIDDEN, StatusCode::NOT_FOUND],
            );
        }
        if *access == Instance {
            let got = call(&t, method, template, &path, Some(&owner.access), &acme).await;
            expect("an organization's owner", got, &[StatusCode::FORBIDDEN]);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} refusals missing:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
