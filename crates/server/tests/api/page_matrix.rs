//! Every web page and form has a permission decision, written here; a route added to the web
//! app without one fails this test, which reads the router's own source. Then each is asked as
//! nobody (sent to sign in, or refused), as a person of another organization (refused), as a
//! viewer where it administers (refused), and as an organization's owner where it runs the
//! instance (refused), on both engines. `route_matrix.rs` does the same for the API.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::support::TestApp;

/// Who a page is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone: signing in and up, links from email, assets.
    Public,
    /// A signed-in person, outside any organization or in their own (profile, new organization).
    Person,
    /// A member of the organization, as far as their role's matrix reaches.
    Member,
    /// The organization's owners and admins.
    Administration,
    /// The organization's owners alone (how its people sign in).
    Owners,
    /// The instance's administrators.
    Instance,
    /// A client of the organization, signed in to its portal (their own cookie).
    Client,
}
use Access::*;

const PAGES: &[(&str, &str, Access)] = &[
    ("get", "/", Person),
    ("get", "/login", Public),
    ("post", "/login", Public),
    ("post", "/login/two-factor", Public),
    ("get", "/login/sso", Public),
    ("post", "/login/sso", Public),
    ("get", "/sso/start", Public),
    ("get", "/sso/callback/{organization}", Public),
    ("get", "/signup", Public),
    ("post", "/signup", Public),
    ("post", "/logout", Person),
    ("get", "/forgot-password", Public),
    ("post", "/forgot-password", Public),
    ("get", "/reset-password/{token}", Public),
    ("post", "/reset-password/{token}", Public),
    ("get", "/invite/{token}", Public),
    ("post", "/invite/{token}", Public),
    ("get", "/organizations/new", Person),
    ("post", "/organizations/new", Person),
    ("get", "/profile", Person),
    ("get", "/profile/security", Person),
    ("post", "/profile/security/setup", Person),
    ("post", "/profile/security/enable", Person),
    ("post", "/profile/security/disable", Person),
    ("post", "/profile/security/recovery-codes", Person),
    ("post", "/profile/name", Person),
    ("post", "/profile/email", Person),
    ("post", "/profile/password", Person),
    ("post", "/profile/sessions/revoke-others", Person),
    ("post", "/profile/sessions/{id}/revoke", Person),
    ("post", "/preview/stop", Person),
    ("get", "/brand.css", Public),
    // The client portal: its own sign-in, then a client's pages.
    ("get", "/portal/login", Public),
    ("post", "/portal/login", Public),
    ("get", "/portal/welcome/{token}", Public),
    ("post", "/portal/welcome/{token}", Public),
    ("get", "/portal/forgot", Public),
    ("post", "/portal/forgot", Public),
    ("get", "/portal/logo", Public),
    ("get", "/portal", Client),
    ("post", "/portal/logout", Client),
    ("get", "/portal/records/{id}", Client),
    ("post", "/portal/records/{id}/comments", Client),
    ("get", "/assets/{file}", Public),
    // The organization's work.
    ("get", "/files/download", Public),
    ("get", "/files", Member),
    ("get", "/files/{id}", Member),
    ("get", "/files/{id}/content", Member),
    ("get", "/files/{id}/thumbnail", Member),
    ("post", "/files/upload", Member),
    ("post", "/files/{id}/delete", Member),
    ("post", "/files/{id}/versions", Member),
    ("post", "/files/{id}/versions/{version}/restore", Member),
    ("get", "/notifications", Member),
    ("post", "/notifications/read-all", Member),
    ("get", "/notifications/settings", Member),
    ("post", "/notifications/settings", Member),
    ("post", "/notifications/{id}/open", Member),
    ("post", "/leads/{id}/convert", Member),
    ("get", "/objects/{key}", Member),
    ("get", "/objects/{key}/board", Member),
    ("get", "/objects/{key}/board/more", Member),
    ("post", "/objects/{key}/move", Member),
    ("get", "/objects/{key}/export.csv", Member),
    ("get", "/objects/{key}/choices", Member),
    ("post", "/objects/{key}/quick", Member),
    ("post", "/objects/{key}/bulk", Member),
    ("get", "/objects/{key}/new", Member),
    ("post", "/objects/{key}/new", Member),
    ("get", "/objects/{key}/{id}", Member),
    ("post", "/objects/{key}/{id}", Member),
    ("post", "/objects/{key}/{id}/delete", Member),
    ("post", "/objects/{key}/{id}/move", Member),
    ("post", "/objects/{key}/{id}/activities", Member),
    ("get", "/records/{id}", Member),
    ("get", "/search", Member),
    ("get", "/mentions", Member),
    ("get", "/members/choices", Member),
    ("get", "/trash", Member),
    ("post", "/trash/{kind}/{id}/restore", Member),
    ("post", "/views", Member),
    ("post", "/views/{id}/delete", Member),
    ("post", "/{kind}/{id}/tags", Member),
    ("get", "/deals", Member),
    ("get", "/deals/board/more", Member),
    ("get", "/deals/new", Member),
    ("post", "/deals/new", Member),
    ("get", "/deals/export.csv", Member),
    ("get", "/deals/{id}", Member),
    ("get", "/deals/{id}/edit", Member),
    ("post", "/deals/{id}/edit", Member),
    ("post", "/deals/{id}/move", Member),
    ("post", "/link", Member),
    ("post", "/clients/share", Member),
    ("post", "/deals/{id}/activities", Member),
    ("post", "/deals/{id}/delete", Member),
    ("get", "/tasks", Member),
    ("post", "/tasks", Member),
    ("get", "/tasks/{id}", Member),
    ("post", "/tasks/{id}", Member),
    ("post", "/tasks/{id}/delete", Member),
    ("post", "/tasks/{id}/done", Member),
    ("get", "{kind}", Member),
    ("get", "{kind}/export.csv", Member),
    ("get", "{kind}/new", Member),
    ("post", "{kind}/new", Member),
    ("get", "{kind}/{id}", Member),
    ("post", "{kind}/{id}", Member),
    ("post", "{kind}/{id}/delete", Member),
    ("post", "{kind}/{id}/activities", Member),
    ("post", "{kind}/bulk", Member),
    // Its settings.
    ("get", "/settings/general", Administration),
    ("post", "/settings/general", Administration),
    ("post", "/settings/security", Administration),
    ("get", "/settings/branding", Administration),
    ("post", "/settings/branding", Administration),
    ("post", "/settings/branding/logo", Administration),
    ("post", "/settings/branding/logo/remove", Administration),
    ("get", "/settings/domains", Administration),
    ("post", "/settings/domains", Administration),
    ("post", "/settings/domains/{id}/remove", Administration),
    ("get", "/settings/members", Administration),
    ("post", "/settings/members", Administration),
    ("post", "/settings/members/{id}/role", Administration),
    ("post", "/settings/members/{id}/remove", Administration),
    ("post", "/settings/members/{id}/deactivate", Administration),
    ("post", "/settings/members/{id}/reactivate", Administration),
    ("post", "/settings/invitations/{id}/resend", Administration),
    ("post", "/settings/invitations/{id}/revoke", Administration),
    ("get", "/settings/audit", Administration),
    ("get", "/settings/ai", Administration),
    ("post", "/settings/ai", Administration),
    ("get", "/settings/api-keys", Administration),
    ("post", "/settings/api-keys", Administration),
    ("post", "/settings/api-keys/{id}/revoke", Administration),
    ("get", "/settings/roles", Administration),
    ("post", "/settings/roles", Administration),
    ("get", "/settings/roles/{key}", Administration),
    ("post", "/settings/roles/{key}", Administration),
    ("post", "/settings/roles/{key}/permissions", Administration),
    ("post", "/settings/roles/{key}/fields", Administration),
    ("post", "/settings/roles/{key}/delete", Administration),
    ("post", "/settings/roles/{key}/preview", Administration),
    ("get", "/settings/teams", Administration),
    ("post", "/settings/teams", Administration),
    ("get", "/settings/teams/{id}", Administration),
    ("post", "/settings/teams/{id}", Administration),
    ("post", "/settings/teams/{id}/delete", Administration),
    ("get", "/settings/webhooks", Administration),
    ("post", "/settings/webhooks", Administration),
    ("get", "/settings/webhooks/{id}", Administration),
    ("post", "/settings/webhooks/{id}", Administration),
    (
        "get",
        "/settings/webhooks/{id}/deliveries/{delivery}",
        Administration,
    ),
    (
        "post",
        "/settings/webhooks/{id}/deliveries/{delivery}/resend",
        Administration,
    ),
    ("post", "/settings/webhooks/{id}/{action}", Administration),
    ("get", "/settings/objects", Administration),
    ("get", "/settings/objects/new", Administration),
    ("post", "/settings/objects/new", Administration),
    ("get", "/settings/objects/{key}", Administration),
    ("post", "/settings/objects/{key}", Administration),
    ("post", "/settings/objects/{key}/delete", Administration),
    ("post", "/settings/objects/{key}/fields", Administration),
    (
        "post",
        "/settings/objects/{key}/fields/{field}",
        Administration,
    ),
    (
        "post",
        "/settings/objects/{key}/fields/{field}/archive",
        Administration,
    ),
    (
        "post",
        "/settings/objects/{key}/fields/{field}/move",
        Administration,
    ),
    ("get", "/settings/pipelines", Administration),
    ("post", "/settings/pipelines/{id}", Administration),
    ("post", "/settings/pipelines/{id}/default", Administration),
    ("post", "/settings/pipelines/{id}/delete", Administration),
    ("get", "/settings/support", Administration),
    ("post", "/settings/support/{id}/{action}", Administration),
    ("get", "/settings/portal", Administration),
    ("post", "/settings/portal", Administration),
    ("post", "/settings/portal/clients", Administration),
    ("get", "/settings/portal/clients/{id}", Administration),
    ("post", "/settings/portal/clients/{id}", Administration),
    ("post", "/settings/portal/clients/{id}/link", Administration),
    (
        "post",
        "/settings/portal/clients/{id}/deactivate",
        Administration,
    ),
    (
        "post",
        "/settings/portal/clients/{id}/reactivate",
        Administration,
    ),
    (
        "post",
        "/settings/portal/clients/{id}/remove",
        Administration,
    ),
    ("get", "/settings/single-sign-on", Owners),
    ("post", "/settings/single-sign-on", Owners),
    ("post", "/settings/single-sign-on/remove", Owners),
    // The instance.
    ("get", "/admin", Instance),
    ("post", "/admin/organizations", Instance),
    ("post", "/admin/organizations/{id}/{action}", Instance),
    ("get", "/admin/outbox", Instance),
    ("get", "/admin/jobs", Instance),
    ("post", "/admin/jobs/{id}/retry", Instance),
    ("get", "/_styleguide", Instance),
];

/// The built-in kinds whose pages `web/kinds.rs` makes from one template (`{kind}` above), by
/// the type `web/mod.rs` merges them for.
const KINDS: [(&str, &str); 3] = [
    ("Company", "/companies"),
    ("Contact", "/contacts"),
    ("Lead", "/leads"),
];

/// The routers `web/mod.rs` merges in: the kinds' pages, each of [`KINDS`]. Another would hold
/// routes this test does not read, so it fails until it is read here too.
fn merged_kinds() -> Vec<&'static str> {
    let source = include_str!("../../src/web/mod.rs");
    assert!(
        !source.contains(".nest("),
        "web/mod.rs nests a router this test does not read"
    );
    source
        .match_indices(".merge(")
        .map(|(at, _)| {
            let call = &source[at + ".merge(".len()..];
            let call = &call[..call.find(')').unwrap_or(call.len())];
            let kind = call
                .strip_prefix("kinds::pages::<")
                .and_then(|k| k.split('>').next())
                .unwrap_or_else(|| {
                    panic!("web/mod.rs merges `{call}`, which this test does not read")
                });
            KINDS
                .iter()
                .find(|(name, _)| *name == kind)
                .map(|(_, path)| *path)
                .unwrap_or_else(|| panic!("the kind {kind} has pages: add it to KINDS"))
        })
        .collect()
}

/// The `(method, path)` of each route the web app's router declares, read from its source:
/// `.route("path", get(..).post(..))` in `web/mod.rs`, and the per-kind routes of
/// `web/kinds.rs` (`{path}` standing for each kind's).
fn declared() -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (source, kind_template) in [
        (include_str!("../../src/web/mod.rs"), false),
        (include_str!("../../src/web/kinds.rs"), true),
    ] {
        let mut rest = source;
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            // The call's own text, to its closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in call.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &call[..end];
            rest = &rest[at + ".route(".len() + end..];
            if !call.trim_start().starts_with('"') {
                // Only the kinds' template builds its paths; anywhere else a path that is not
                // written out would escape this test.
                assert!(
                    kind_template,
                    "web/mod.rs has a route whose path is not a literal: .route({call})"
                );
                if call.trim_start().starts_with("&path") {
                    collect(&mut found, "{kind}", call);
                } else {
                    // `&format!("{path}/…")`, then the handlers after its closing parenthesis.
                    let open = call.find('"').expect("a path");
                    let close = open + 1 + call[open + 1..].find('"').expect("a closed string");
                    let path = call[open + 1..close]
                        .replace("{path}", "{kind}")
                        .replace("{{id}}", "{id}");
                    collect(&mut found, &path, &call[close..]);
                }
                continue;
            }
            let open = call.find('"').expect("a path");
            let close = open + 1 + call[open + 1..].find('"').expect("a closed string");
            let path = call[open + 1..close]
                .replace("{path}", "{kind}")
                .replace("{{id}}", "{id}");
            collect(&mut found, &path, &call[close..]);
        }
    }
    found
}

fn collect(found: &mut BTreeSet<(String, String)>, path: &str, handlers: &str) {
    for method in ["get", "post", "put", "patch", "delete"] {
        let call = format!("{method}(");
        let named = handlers.match_indices(&call).any(|(i, _)| {
            i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        if named {
            found.insert((method.to_owned(), path.to_owned()));
        }
    }
}

#[test]
fn every_page_has_a_permission_decision() {
    let declared = declared();
    assert!(
        declared.len() > 100,
        "the router's routes were read: {declared:?}"
    );
    let decided: BTreeSet<(String, String)> = PAGES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let undecided: Vec<_> = declared.difference(&decided).collect();
    let stale: Vec<_> = decided.difference(&declared).collect();
    assert!(
        undecided.is_empty(),
        "pages without a permission decision in page_matrix.rs: {undecided:?}"
    );
    assert!(
        stale.is_empty(),
        "decisions for pages the router no longer has: {stale:?}"
    );
}

fn fill(template: &str, kind: &str, organization: &str) -> String {
    let unknown = "0190c6c4-0000-7000-8000-000000000001";
    let mut out = template.replace("{kind}", kind);
    for (param, value) in [
        ("{organization}", organization),
        ("{key}", "contact"),
        ("{field}", "name"),
        ("{token}", "not-a-token"),
        ("{file}", "app.css"),
        ("{action}", "approve"),
        ("{delivery}", unknown),
        ("{id}", unknown),
    ] {
        out = out.replace(param, value);
    }
    out
}

/// The fields of a form that reads them before deciding who may send it (so the decision, not
/// the form's shape, answers); none elsewhere. A query for a page that needs one.
fn fields(template: &str) -> &'static [(&'static str, &'static str)] {
    match template {
        "/organizations/new" => &[("name", "Another")],
        "/profile/name" => &[("name", "Someone")],
        "/profile/email" => &[("email", "new@example.com"), ("email_password", "x")],
        "/profile/password" => &[("current_password", "x"), ("password", "y")],
        "/settings/general" => &[
            ("name", "Acme"),
            ("slug", "acme"),
            ("currency", "EUR"),
            ("time_zone", "UTC"),
        ],
        "/settings/branding" => &[("primary_color", "#336699")],
        "/settings/domains" => &[("domain", "crm.example.com")],
        "/settings/members" => &[("email", "new@example.com"), ("role", "member")],
        "/settings/members/{id}/role" => &[("role", "member")],
        "/admin/organizations" => &[("name", "Another"), ("owner_email", "owner@example.com")],
        "/admin/jobs/{id}/retry" => &[("_csrf", "")],
        "/deals/board/more" => &[("pipeline", ""), ("stage", ""), ("after", "")],
        _ => &[],
    }
}

/// A multipart body with only the CSRF field, for the logo upload.
const BOUNDARY: &str = "rapport-page-matrix";

async fn ask(
    t: &TestApp,
    method: &str,
    template: &str,
    path: &str,
    session: Option<&(String, String)>,
) -> (StatusCode, String) {
    let response = if method == "get" {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields(template))
            .finish();
        let path = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let mut request = t.client.get(t.url(&path));
        if let Some((cookie, _)) = session {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("sent")
    } else {
        let csrf = session.map(|(_, csrf)| csrf.as_str()).unwrap_or("");
        let mut request = t.client.post(t.url(path)).header("origin", &t.base);
        if let Some((cookie, _)) = session {
            request = request.header("cookie", cookie);
        }
        if template == "/settings/branding/logo" {
            let body = format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--{BOUNDARY}--\r\n"
            );
            request
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(body)
        } else {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            if !csrf.is_empty() {
                body.append_pair("_csrf", csrf);
            }
            body.extend_pairs(fields(template).iter().filter(|(k, _)| *k != "_csrf"));
            if fields(template).iter().any(|(k, _)| *k == "_csrf") && csrf.is_empty() {
                body.append_pair("_csrf", "");
            }
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.finish())
        }
        .send()
        .await
        .expect("sent")
    };
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (response.status(), location)
}

#[tokio::test]
async fn every_page_refuses_those_its_decision_keeps_out() {
    let smtp = crate::support::smtp::SmtpSink::start().await;
    let t = TestApp::spawn_with(crate::support::Options {
        smtp: Some(smtp.clone()),
        ..crate::support::Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "viewer@example.com", "viewer").await;
    t.member(&owner, "admin@example.com", "admin").await;
    t.register("stranger@example.com", Some("Elsewhere")).await;
    let acme = owner.org().to_owned();
    let owner_session = t.browser_session("owner@example.com").await;
    let viewer = t.browser_session("viewer@example.com").await;
    let admin = t.browser_session("admin@example.com").await;
    let stranger = t.browser_session("stranger@example.com").await;
    // A client signed in to the organization's portal: their cookie is nobody's anywhere else.
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
    let client_session = (client.clone(), String::new());
    // The portal's own cookie under the staff cookie's name opens nothing either.
    let disguised = (
        client.replacen("rapport_portal=", "rapport_session=", 1),
        String::new(),
    );
    let mut wrong: Vec<String> = Vec::new();
    for (method, template, access) in PAGES {
        let kinds: Vec<&str> = if template.starts_with("{kind}") {
            merged_kinds()
        } else if template.contains("{kind}") {
            vec!["contacts"]
        } else {
            vec![""]
        };
        for kind in kinds {
            let path = fill(template, kind, &acme);
            let in_org = format!("/o/acme{path}");
            let mut expect = |who: &str, got: (StatusCode, String), allowed: &[StatusCode]| {
                if !allowed.contains(&got.0) {
                    wrong.push(format!(
                        "{method} {path} as {who}: {} {}, expected one of {allowed:?}",
                        got.0, got.1
                    ));
                }
            };
            if !matches!(access, Public | Client) {
                let at = if matches!(access, Person | Instance) {
                    &path
                } else {
                    &in_org
                };
                for (who, cookie) in [
                    ("a client", &client_session),
                    ("a client's token as a session", &disguised),
                ] {
                    let got = ask(&t, method, template, at, Some(cookie)).await;
                    let sent_to_sign_in =
                        got.0 == StatusCode::SEE_OTHER && got.1.contains("/login");
                    if !sent_to_sign_in {
                        expect(who, got, &[StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN]);
                    }
                }
            }
            if *access == Client {
                // Signed out, to the portal's sign-in; a member's session is not a client's.
                for (who, session) in [("nobody", None), ("the owner", Some(&owner_session))] {
                    let got = ask(&t, method, template, &in_org, session).await;
                    if !(got.0 == StatusCode::SEE_OTHER && got.1.ends_with("/o/acme/portal/login"))
                    {
                        expect(&format!("{who}, expecting the portal's sign-in"), got, &[]);
                    }
                }
                // The same path of another organization knows no such client.
                let elsewhere = fill(template, kind, &acme);
                let got = ask(
                    &t,
                    method,
                    template,
                    &format!("/o/elsewhere{elsewhere}"),
                    Some(&client_session),
                )
                .await;
                expect(
                    "a client of another organization",
                    got,
                    &[StatusCode::NOT_FOUND, StatusCode::SEE_OTHER],
                );
                continue;
            }
            match access {
                Public => {
                    let got = ask(&t, method, template, &path, None).await;
                    if got.0.is_server_error() || got.0 == StatusCode::UNAUTHORIZED {
                        wrong.push(format!("{method} {path} as nobody: {}", got.0));
                    }
                    continue;
                }
                Person => {
                    let got = ask(&t, method, template, &path, None).await;
                    let sent_to_sign_in =
                        got.0 == StatusCode::SEE_OTHER && got.1.contains("/login");
                    if !sent_to_sign_in {
                        expect(
                            "nobody",
                            got,
                            &[StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN],
                        );
                    }
                    continue;
                }
                _ => {}
            }
            let got = ask(&t, method, template, &in_org, None).await;
            let sent_to_sign_in = got.0 == StatusCode::SEE_OTHER && got.1.contains("/login");
            if !sent_to_sign_in {
                expect(
                    "nobody",
                    got,
                    &[StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN],
                );
            }
            let refused = [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND];
            match access {
                Member | Administration | Owners => {
                    let got = ask(&t, method, template, &in_org, Some(&stranger)).await;
                    expect("a person of another organization", got, &refused);
                }
                _ => {}
            }
            if matches!(access, Administration | Owners) {
                let got = ask(&t, method, template, &in_org, Some(&viewer)).await;
                expect("a viewer", got, &refused);
            }
            if *access == Owners {
                let got = ask(&t, method, template, &in_org, Some(&admin)).await;
                expect("an admin", got, &refused);
            }
            if *access == Instance {
                let got = ask(&t, method, template, &path, Some(&owner_session)).await;
                expect("an organization's owner", got, &refused);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} refusals missing:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
