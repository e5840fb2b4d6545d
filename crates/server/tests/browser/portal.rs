//! The client portal in the browser: an owner opens it and invites a client linked to a
//! company; the client chooses a password from the emailed link, sees their deal and records,
//! reads the team's message, writes back, and is kept out of the staff pages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, enabled};
use crate::support::{Options, PASSWORD, SmtpSink, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_client_follows_their_deal_in_the_portal_and_writes_to_the_team() {
    if !enabled("a_client_follows_their_deal_in_the_portal_and_writes_to_the_team") {
        return;
    }
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Options::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let api = |method: Method, path: &'static str, body: Value| {
        let (t, owner) = (&t, &owner);
        async move {
            let r = t.org_call(owner, method, path, Some(body)).await;
            assert!(r.status.is_success(), "{path}: {}", r.text);
            r.body
        }
    };
    let olsen = api(
        Method::POST,
        "/api/v1/companies",
        json!({"name": "Olsen Yachts"}),
    )
    .await;
    api(
        Method::POST,
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    api(
        Method::POST,
        "/api/v1/objects/berth/fields",
        json!({"key": "length", "label": "Length (m)", "type": "number"}),
    )
    .await;
    api(
        Method::POST,
        "/api/v1/objects/berth/fields",
        json!({"key": "holder", "label": "Holder", "type": "relation", "target": "company"}),
    )
    .await;
    api(
        Method::POST,
        "/api/v1/objects/berth/records",
        json!({"values": {"name": "Pontoon A-12", "length": 14, "holder": id(&olsen)}}),
    )
    .await;
    let deal = api(Method::POST, "/api/v1/deals", json!({"title": "A-12 for the Olsens", "amount": 40000, "company_id": id(&olsen), "expected_close_date": "2027-03-01"})).await;
    api(Method::POST, "/api/v1/tasks", json!({"title": "Sign the expression of interest", "deal_id": id(&deal), "portal_visible": true, "description": "The EOI is in your inbox."})).await;
    api(
        Method::POST,
        "/api/v1/tasks",
        json!({"title": "Check the broker's fee", "deal_id": id(&deal)}),
    )
    .await;

    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;

    // Settings → Client portal: open it, show berths with their length.
    b.goto(&t.url("/o/acme/settings/portal")).await;
    assert!(b.text("#clients").await.contains("No clients yet"));
    b.eval("document.querySelector('#portal-form input[name=enabled]').click(); \
            document.querySelector('#portal-form input[name=show_amounts]').click(); \
            document.querySelector(\"#portal-form input[name=object][value=berth]\").click(); \
            document.querySelector(\"#portal-form input[name='field.berth'][value=length]\").click(); return null").await;
    b.fill(
        "#welcome",
        "Everything about your berth at Acme Marina, in one place.",
    )
    .await;
    b.submit("#portal-form button[type=submit]").await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("Portal settings saved")
    );
    // An invitation without a name or email says so next to each field.
    b.submit("#invite-client button[type=submit]").await;
    assert!(b.text("#name-error").await.starts_with("Name "));
    assert!(b.text("#email-error").await.starts_with("Email "));
    b.fill("#name", "Olga Olsen").await;
    b.fill("#email", "olga@olsen.example").await;
    b.combo_pick("#company_id", "olsen", "Olsen Yachts").await;
    b.submit("#invite-client button[type=submit]").await;
    assert!(b.text("[role=status]").await.contains("Invitation sent"));
    let listed = b.text("#client-list").await;
    assert!(
        listed.contains("Olga Olsen")
            && listed.contains("Invited")
            && listed.contains("Olsen Yachts"),
        "{listed}"
    );
    b.screenshots("settings-portal").await;

    // The deal's page says who sees it; the team writes to the client.
    b.goto(&t.url(&format!("/o/acme/deals/{}", id(&deal))))
        .await;
    assert!(b.text("#clients").await.contains("Olga Olsen"));
    b.fill("#note-text", "Your EOI is ready: sign it when you can.")
        .await;
    b.click("#note-portal").await;
    b.submit("form.composer button[type=submit]").await;
    b.wait_until(
        "return document.querySelector('.timeline').textContent.includes('Visible to clients')",
        "the comment is marked for clients",
    )
    .await;
    b.fill("#note-text", "Internal: push for a bigger deposit.")
        .await;
    b.submit("form.composer button[type=submit]").await;
    b.wait_until(
        "return document.querySelector('.timeline').textContent.includes('bigger deposit')",
        "the internal note is on the timeline",
    )
    .await;
    b.screenshot("deal-clients").await;

    // The client chooses a password from the emailed link and lands in the portal.
    let link = smtp
        .message_to("olga@olsen.example")
        .await
        .link_containing("/portal/welcome/")
        .expect("an invitation link");
    b.forget_cookies().await;
    b.goto(&link).await;
    assert!(b.text("h1").await.contains("Welcome, Olga Olsen"));
    b.fill("#password", "short").await;
    b.submit("form[action*='/portal/welcome/'] button[type=submit]")
        .await;
    assert!(b.text("#password-error").await.contains("at least"));
    b.screenshots("portal-welcome").await;
    b.fill("#password", "Marina-berths-2026!").await;
    b.submit("form[action*='/portal/welcome/'] button[type=submit]")
        .await;
    b.wait_for_path(|p| p == "/o/acme/portal").await;
    assert!(b.text("h1").await.contains("Hello, Olga"));
    let home = b.text("main").await;
    for seen in [
        "Olsen Yachts",
        "Everything about your berth",
        "A-12 for the Olsens",
        "Pontoon A-12",
        "Length (m)",
        "Sign the expression of interest",
        "40",
    ] {
        assert!(home.contains(seen), "the home page shows {seen}: {home}");
    }
    assert!(
        !home.contains("broker's fee"),
        "an internal task stays internal"
    );
    b.screenshots("portal-home").await;

    // Their deal: the team's message, not its internal note; they write back.
    b.submit(&format!("a[href='/o/acme/portal/records/{}']", id(&deal)))
        .await;
    let page = b.text("main").await;
    assert!(
        page.contains("Your EOI is ready") && !page.contains("bigger deposit"),
        "{page}"
    );
    b.submit("#conversation button[type=submit]").await;
    assert!(b.text("#text-error").await.contains("must not be empty"));
    b.fill("#text", "Thanks! I can sign on Friday.").await;
    b.submit("#conversation button[type=submit]").await;
    assert!(b.text("[role=status]").await.contains("Message sent"));
    assert!(
        b.text(".portal-thread")
            .await
            .contains("I can sign on Friday")
    );
    b.screenshots("portal-record").await;

    // Staff pages do not know them.
    b.goto(&t.url("/o/acme/deals")).await;
    b.wait_for_path(|p| p == "/login").await;
    b.goto(&t.url("/o/acme/portal")).await;
    b.submit(".portal-who button[type=submit]").await;
    b.wait_for_path(|p| p == "/o/acme/portal/login").await;
    assert!(b.text("[role=status]").await.contains("signed out"));
    b.screenshots("portal-sign-in").await;

    // The team sees their message on the deal, as a client's.
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url(&format!("/o/acme/deals/{}", id(&deal))))
        .await;
    assert!(b.text(".timeline").await.contains("Olga Olsen (client)"));
    b.close().await;
}
