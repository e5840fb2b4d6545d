//! The client portal: an organization opens it, invites a client linked to a company, and the
//! client sees exactly the deals, records and tasks that concern them, writes to the team and
//! reads the team's answers; nothing else, in this organization or another. That a client's
//! cookie opens no staff page and no API route is asked of every route in `page_matrix.rs` and
//! `route_matrix.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::smtp::SmtpSink;
use crate::support::{Options, Resp, TestApp};

/// A strong password for clients.
const CLIENT_PASSWORD: &str = "Marina-berths-2026!";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// Opens the portal of the organization at `/o/{slug}` through its settings page.
pub async fn open_portal(
    t: &TestApp,
    owner: &(String, String),
    slug: &str,
    extra: &[(&str, &str)],
) {
    let mut fields = vec![
        ("enabled", "1"),
        ("show_deals", "1"),
        ("welcome", "Welcome aboard."),
    ];
    fields.extend_from_slice(extra);
    let r = t
        .form(owner, &format!("/o/{slug}/settings/portal"), &fields)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
}

/// Posts a form to a portal page as the client's browser would (their cookie, own origin).
pub async fn client_form(t: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Resp {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut request = t
        .client
        .post(t.url(path))
        .header("origin", &t.base)
        .header("content-type", "application/x-www-form-urlencoded");
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    Resp::from(request.body(body).send().await.expect("sent")).await
}

pub async fn client_get(t: &TestApp, cookie: &str, path: &str) -> Resp {
    let mut request = t.client.get(t.url(path));
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    Resp::from(request.send().await.expect("sent")).await
}

/// The `rapport_portal=…` pair a response sets.
fn portal_cookie(r: &Resp) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("rapport_portal="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no portal cookie in {:?}", r.headers))
        .to_owned()
}

/// The CSRF token a portal page's forms carry.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF field");
    let rest = &page[at + "name=\"_csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("closed")].to_owned()
}

/// Invites a client through the settings page, follows the emailed link and chooses a
/// password: the client's portal cookie.
pub async fn invite_client(
    t: &TestApp,
    owner: &(String, String),
    smtp: &SmtpSink,
    slug: &str,
    email: &str,
    company: Option<&str>,
) -> String {
    let mut fields = vec![("name", "Olga Olsen"), ("email", email)];
    if let Some(c) = company {
        fields.push(("company_id", c));
    }
    let r = t
        .form(
            owner,
            &format!("/o/{slug}/settings/portal/clients"),
            &fields,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let mail = smtp.message_to(email).await;
    let link = mail
        .link_containing("/portal/welcome/")
        .expect("an invitation link");
    let path = link.trim_start_matches(&t.base).to_owned();
    let page = client_get(t, "", &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Choose a password"), "{}", page.text);
    let r = client_form(t, "", &path, &[("password", CLIENT_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    portal_cookie(&r)
}

#[tokio::test]
async fn a_client_sees_what_concerns_them_and_writes_to_the_team() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let session = t.browser_session("owner@example.com").await;
    // The portal is closed until the organization opens it.
    assert_eq!(
        client_get(&t, "", "/o/acme/portal/login").await.status,
        StatusCode::NOT_FOUND
    );
    let olsen = t
        .create(&owner, "/api/v1/companies", json!({"name": "Olsen Yachts"}))
        .await;
    let other = t
        .create(&owner, "/api/v1/companies", json!({"name": "Bergen Boats"}))
        .await;
    // Berths, linked to a company; one field shown to clients, one kept in.
    let post = |path: &'static str, body: Value| {
        let (t, owner) = (&t, &owner);
        async move {
            let r = t.org_call(owner, Method::POST, path, Some(body)).await;
            assert!(r.status.is_success(), "{path}: {}", r.text);
            r.body
        }
    };
    post(
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    post(
        "/api/v1/objects/berth/fields",
        json!({"key": "length", "label": "Length", "type": "number"}),
    )
    .await;
    post(
        "/api/v1/objects/berth/fields",
        json!({"key": "note", "label": "Private note", "type": "text"}),
    )
    .await;
    post(
        "/api/v1/objects/berth/fields",
        json!({"key": "holder", "label": "Holder", "type": "relation", "target": "company"}),
    )
    .await;
    let theirs = post("/api/v1/objects/berth/records", json!({"values": {"name": "Pontoon A-12", "length": 14, "note": "seller desperate", "holder": id(&olsen)}})).await;
    let others = post(
        "/api/v1/objects/berth/records",
        json!({"values": {"name": "Pontoon C-3", "holder": id(&other)}}),
    )
    .await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "A-12 for the Olsens", "amount": 40000, "company_id": id(&olsen)}),
        )
        .await;
    let hidden = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Bergen refit", "company_id": id(&other)}),
        )
        .await;
    let shared = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Winter storage", "company_id": id(&other)}),
        )
        .await;
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Sign the EOI", "deal_id": id(&deal), "portal_visible": true}),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Chase the broker fee", "deal_id": id(&deal)}),
    )
    .await;
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Bergen survey", "deal_id": id(&hidden), "portal_visible": true}),
    )
    .await;

    open_portal(
        &t,
        &session,
        "acme",
        &[("object", "berth"), ("field.berth", "length")],
    )
    .await;
    // Settings name what is wrong: an object that is not the organization's.
    let r = t
        .form(
            &session,
            "/o/acme/settings/portal",
            &[("enabled", "1"), ("object", "yachts")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("must be a custom object"), "{}", r.text);

    // A weak password is refused next to its field, and the link still works.
    let r = t
        .form(
            &session,
            "/o/acme/settings/portal/clients",
            &[
                ("name", "Olga Olsen"),
                ("email", "olga@olsen.example"),
                ("company_id", &id(&olsen)),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let link = smtp
        .message_to("olga@olsen.example")
        .await
        .link_containing("/portal/welcome/")
        .expect("link");
    let path = link.trim_start_matches(&t.base).to_owned();
    let r = client_form(&t, "", &path, &[("password", "short")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("Password must be at least"), "{}", r.text);
    // The same email cannot be invited twice.
    let r = t
        .form(
            &session,
            "/o/acme/settings/portal/clients",
            &[("name", "Olga again"), ("email", "Olga@Olsen.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("already a client"), "{}", r.text);
    let r = client_form(&t, "", &path, &[("password", CLIENT_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let cookie = portal_cookie(&r);
    // The link works once.
    assert_eq!(
        client_get(&t, "", &path).await.status,
        StatusCode::NOT_FOUND
    );

    // Share one of the other company's deals with her, from its page.
    let r = t
        .form(
            &session,
            "/o/acme/clients/share",
            &[
                ("record", &format!("deal:{}", id(&shared))),
                ("client_id", &client_id(&t, &owner).await),
                ("action", "share"),
                ("back", &format!("/o/acme/deals/{}", id(&shared))),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    let home = client_get(&t, &cookie, "/o/acme/portal").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text);
    for seen in [
        "Hello, Olga",
        "Olsen Yachts",
        "Welcome aboard.",
        "A-12 for the Olsens",
        "Winter storage",
        "Pontoon A-12",
        "Length",
        "Sign the EOI",
    ] {
        assert!(home.text.contains(seen), "the home page shows {seen}");
    }
    for unseen in [
        "Bergen refit",
        "Pontoon C-3",
        "Chase the broker fee",
        "Bergen survey",
        "seller desperate",
        "40\u{202f}000",
    ] {
        assert!(
            !home.text.contains(unseen),
            "the home page keeps {unseen} out"
        );
    }
    let berth = client_get(
        &t,
        &cookie,
        &format!("/o/acme/portal/records/{}", id(&theirs)),
    )
    .await;
    assert_eq!(berth.status, StatusCode::OK, "{}", berth.text);
    assert!(berth.text.contains("Length") && berth.text.contains("14"));
    assert!(!berth.text.contains("seller desperate") && !berth.text.contains("Private note"));
    // Amounts show once the organization says so.
    open_portal(
        &t,
        &session,
        "acme",
        &[
            ("object", "berth"),
            ("field.berth", "length"),
            ("show_amounts", "1"),
        ],
    )
    .await;
    let home = client_get(&t, &cookie, "/o/acme/portal").await;
    assert!(home.text.contains("40\u{202f}000 EUR"), "{}", home.text);
    assert!(
        !home.text.contains(">0 EUR"),
        "a deal without an amount shows none"
    );

    // What she does not reach is not found, whatever it is.
    for unreached in [
        id(&hidden),
        id(&others),
        id(&olsen),
        "0190c6c4-0000-7000-8000-000000000001".to_owned(),
    ] {
        let r = client_get(&t, &cookie, &format!("/o/acme/portal/records/{unreached}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{unreached}");
        let r = client_form(
            &t,
            &cookie,
            &format!("/o/acme/portal/records/{unreached}/comments"),
            &[("_csrf", &csrf_of(&home.text)), ("text", "hello?")],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{unreached}");
    }

    // She writes on her deal; the owner hears of it and sees it on the timeline.
    let page = client_get(
        &t,
        &cookie,
        &format!("/o/acme/portal/records/{}", id(&deal)),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Sign the EOI") && !page.text.contains("Chase the broker fee"));
    let comments = format!("/o/acme/portal/records/{}/comments", id(&deal));
    let r = client_form(
        &t,
        &cookie,
        &comments,
        &[("_csrf", "forged"), ("text", "Hi")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = client_form(
        &t,
        &cookie,
        &comments,
        &[("_csrf", &csrf_of(&page.text)), ("text", "  ")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("must not be empty"));
    let r = client_form(
        &t,
        &cookie,
        &comments,
        &[
            ("_csrf", &csrf_of(&page.text)),
            ("text", "Can we sign on Friday?"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let timeline = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{}/activities", id(&deal)),
            None,
        )
        .await;
    let said = timeline.body["items"].as_array().expect("items");
    assert!(
        said.iter()
            .any(|a| a["payload"]["text"] == "Can we sign on Friday?"
                && a["payload"]["client"]["email"] == "olga@olsen.example"),
        "{}",
        timeline.text
    );
    let deal_page = t
        .client
        .get(t.url(&format!("/o/acme/deals/{}", id(&deal))))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        deal_page.contains("Olga Olsen (client)"),
        "the deal's timeline names her"
    );
    let mut told = false;
    for _ in 0..50 {
        let n = t
            .org_call(&owner, Method::GET, "/api/v1/notifications", None)
            .await;
        if n.text.contains("Olga Olsen (client) wrote") {
            told = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(told, "the deal's owner is notified");

    // The team answers: a comment shown to clients reaches her, an internal one does not.
    let activities = format!("/api/v1/deals/{}/activities", id(&deal));
    t.create(
        &owner,
        &activities,
        json!({"type": "comment", "payload": {"text": "Friday works.", "portal": true}}),
    )
    .await;
    t.create(
        &owner,
        &activities,
        json!({"type": "comment", "payload": {"text": "Push for a bigger deposit"}}),
    )
    .await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/companies/{}/activities", id(&olsen)),
            Some(json!({"type": "comment", "payload": {"text": "x", "portal": true}})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let page = client_get(
        &t,
        &cookie,
        &format!("/o/acme/portal/records/{}", id(&deal)),
    )
    .await;
    assert!(page.text.contains("Can we sign on Friday?") && page.text.contains("Friday works."));
    assert!(!page.text.contains("bigger deposit"));

    // Another organization's portal does not know her cookie, nor her email.
    let elsewhere = t.register("other@example.com", Some("Elsewhere")).await;
    let other_session = t.browser_session("other@example.com").await;
    open_portal(&t, &other_session, "elsewhere", &[]).await;
    let r = client_get(&t, &cookie, "/o/elsewhere/portal").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = client_form(
        &t,
        "",
        "/o/elsewhere/portal/login",
        &[
            ("email", "olga@olsen.example"),
            ("password", CLIENT_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let _ = elsewhere;

    // Signing in and out.
    let r = client_form(
        &t,
        "",
        "/o/acme/portal/login",
        &[
            ("email", "olga@olsen.example"),
            ("password", "wrong-password-1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("Wrong email or password"));
    let r = client_form(
        &t,
        "",
        "/o/acme/portal/login",
        &[
            ("email", "OLGA@olsen.example"),
            ("password", CLIENT_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let second = portal_cookie(&r);
    let page = client_get(&t, &second, "/o/acme/portal").await;
    let r = client_form(
        &t,
        &second,
        "/o/acme/portal/logout",
        &[("_csrf", &csrf_of(&page.text))],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = client_get(&t, &second, "/o/acme/portal").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with("/portal/login"))
    );

    // A forgotten password: a link by email, and the same answer for an unknown address.
    let r = client_form(
        &t,
        "",
        "/o/acme/portal/forgot",
        &[("email", "nobody@olsen.example")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = client_form(
        &t,
        "",
        "/o/acme/portal/forgot",
        &[("email", "olga@olsen.example")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let reset = smtp
        .message_containing("olga@olsen.example", "new password")
        .await
        .link_containing("/portal/welcome/")
        .expect("a reset link");
    assert_eq!(smtp.count_to("nobody@olsen.example"), 0);
    let reset_path = reset.trim_start_matches(&t.base).to_owned();
    let r = client_form(
        &t,
        "",
        &reset_path,
        &[("password", "Another-strong-pass-9")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // A new password ends her other sessions.
    assert_eq!(
        client_get(&t, &cookie, "/o/acme/portal").await.status,
        StatusCode::SEE_OTHER
    );
    let cookie = portal_cookie(&r);
    assert_eq!(
        client_get(&t, &cookie, "/o/acme/portal").await.status,
        StatusCode::OK
    );

    // Deactivated, she is signed out and cannot sign in.
    let client = client_id(&t, &owner).await;
    let r = t
        .form(
            &session,
            &format!("/o/acme/settings/portal/clients/{client}/deactivate"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        client_get(&t, &cookie, "/o/acme/portal").await.status,
        StatusCode::SEE_OTHER
    );
    let r = client_form(
        &t,
        "",
        "/o/acme/portal/login",
        &[
            ("email", "olga@olsen.example"),
            ("password", "Another-strong-pass-9"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Closing the portal closes every page of it.
    let r = t
        .form(&session, "/o/acme/settings/portal", &[("show_deals", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        client_get(&t, "", "/o/acme/portal/login").await.status,
        StatusCode::NOT_FOUND
    );

    // Each step is in the organization's audit log.
    for action in [
        "portal.settings_changed",
        "portal.client_invited",
        "portal.invitation_accepted",
        "portal.record_shared",
        "portal.commented",
        "portal.signed_in",
        "portal.sign_in_failed",
        "portal.password_reset",
        "portal.client_deactivated",
    ] {
        let audit = t
            .org_call(
                &owner,
                Method::GET,
                &format!("/api/v1/audit?action={action}"),
                None,
            )
            .await;
        assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
        assert!(
            !audit.body["items"].as_array().expect("items").is_empty(),
            "audited: {action}"
        );
    }
}

/// The id of the organization's first client, read from its settings page.
async fn client_id(t: &TestApp, owner: &crate::support::Account) -> String {
    let _ = owner;
    let session = t.browser_session("owner@example.com").await;
    let page = t
        .client
        .get(t.url("/o/acme/settings/portal"))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    let at = page
        .find("/settings/portal/clients/")
        .expect("a client in the list");
    let rest = &page[at + "/settings/portal/clients/".len()..];
    rest[..36].to_owned()
}

#[tokio::test]
async fn integrators_run_the_portal_through_the_api() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let company = t
        .create(&owner, "/api/v1/companies", json!({"name": "Olsen Yachts"}))
        .await;
    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Charter"}))
        .await;

    // Settings: whole, checked, owners and admins only.
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            "/api/v1/portal/settings",
            Some(json!({"enabled": true, "objects": {"deal": []}})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "objects.deal");
    let r = t
        .org_call(
            &viewer,
            Method::PUT,
            "/api/v1/portal/settings",
            Some(json!({"enabled": true})),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            "/api/v1/portal/settings",
            Some(json!({"enabled": true, "welcome": "Hello", "show_deals": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["address"], format!("{}/o/acme/portal", t.base));
    let r = t
        .org_call(&viewer, Method::GET, "/api/v1/portal/settings", None)
        .await;
    assert_eq!(r.body["welcome"], "Hello");

    // Clients: invited with an email, each field checked.
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/portal/clients",
            Some(json!({"email": "nope", "name": "", "company_id": id(&deal)})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["email", "name", "company_id"]);
    let client = t
        .create(&owner, "/api/v1/portal/clients", json!({"email": "Olga@Olsen.example", "name": "Olga Olsen", "company_id": id(&company)}))
        .await;
    assert_eq!(client["email"], "olga@olsen.example");
    assert_eq!(client["status"], "invited");
    assert!(
        smtp.message_to("olga@olsen.example")
            .await
            .link_containing("/o/acme/portal/welcome/")
            .is_some()
    );
    let path = format!("/api/v1/portal/clients/{}", id(&client));
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"name": "Olga B. Olsen", "company_id": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Olga B. Olsen");
    assert_eq!(r.body["company_id"], Value::Null);
    let r = t
        .org_call(&viewer, Method::PATCH, &path, Some(json!({"name": "X"})))
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Shares: a deal, by id; an unknown record is 404, an unknown client 422.
    let share = format!("{path}/shares/{}", id(&deal));
    let r = t.org_call(&owner, Method::PUT, &share, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = t.org_call(&owner, Method::PUT, &share, None).await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "sharing again changes nothing"
    );
    let r = t.org_call(&viewer, Method::PUT, &share, None).await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            &format!("{path}/shares/0190c6c4-0000-7000-8000-000000000001"),
            None,
        )
        .await;
    r.assert_problem(StatusCode::NOT_FOUND, "not_found");
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            &format!(
                "/api/v1/portal/clients/0190c6c4-0000-7000-8000-000000000001/shares/{}",
                id(&deal)
            ),
            None,
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t
        .org_call(&owner, Method::GET, &format!("{path}/shares"), None)
        .await;
    assert_eq!(r.body["items"][0]["record_type"], "deal");
    assert_eq!(r.body["items"][0]["title"], "Charter");
    assert_eq!(r.body["items"].as_array().expect("items").len(), 1);

    // What clients read is said by those who may change the record: a member cannot show a
    // comment or a task on the owner's deal or company to its clients.
    let member = t.member(&owner, "member@example.com", "member").await;
    let activities = format!("/api/v1/deals/{}/activities", id(&deal));
    let r = t
        .org_call(
            &member,
            Method::POST,
            &activities,
            Some(json!({"type": "comment", "payload": {"text": "Hi there", "portal": true}})),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .org_call(
            &member,
            Method::POST,
            &activities,
            Some(json!({"type": "comment", "payload": {"text": "Noted"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .org_call(
            &member,
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"title": "Pay now", "company_id": id(&company), "portal_visible": true})),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .org_call(
            &member,
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"title": "Call back", "company_id": id(&company)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .org_call(&member, Method::GET, &format!("{path}/shares"), None)
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Another organization sees none of it.
    let stranger = t.register("stranger@example.com", Some("Elsewhere")).await;
    let r = t.org_call(&stranger, Method::GET, &path, None).await;
    r.assert_problem(StatusCode::NOT_FOUND, "not_found");
    let r = t
        .org_call(&stranger, Method::GET, "/api/v1/portal/clients", None)
        .await;
    assert_eq!(r.body["items"], json!([]));

    // A new link, deactivation, removal.
    let r = t
        .org_call(&owner, Method::POST, &format!("{path}/link"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(smtp.count_to("olga@olsen.example"), 2);
    let r = t
        .org_call(&owner, Method::PATCH, &path, Some(json!({"active": false})))
        .await;
    assert_eq!(r.body["status"], "deactivated");
    let r = t
        .org_call(&owner, Method::POST, &format!("{path}/link"), None)
        .await;
    r.assert_problem(StatusCode::CONFLICT, "client_deactivated");
    let r = t.org_call(&owner, Method::DELETE, &share, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t.org_call(&owner, Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t.org_call(&owner, Method::GET, &path, None).await;
    r.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_clients_session_ends_when_idle_like_a_members() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        extra: vec![("RAPPORT_SESSION_IDLE_TIMEOUT_SECS", "2".to_owned())],
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            "/api/v1/portal/settings",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    t.create(
        &owner,
        "/api/v1/portal/clients",
        json!({"email": "olga@olsen.example", "name": "Olga Olsen"}),
    )
    .await;
    let link = smtp
        .message_to("olga@olsen.example")
        .await
        .link_containing("/portal/welcome/")
        .expect("link");
    let r = client_form(
        &t,
        "",
        link.trim_start_matches(&t.base),
        &[("password", CLIENT_PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let cookie = portal_cookie(&r);
    // Activity keeps it alive…
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        assert_eq!(
            client_get(&t, &cookie, "/o/acme/portal").await.status,
            StatusCode::OK
        );
    }
    // …and quiet ends it.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let r = client_get(&t, &cookie, "/o/acme/portal").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with("/portal/login"))
    );
}
