//! The CRM pages in the browser.

use crate::browser::{Browser, enabled};
use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn a_contact_is_created_found_changed_and_deleted() {
    if !enabled("a_contact_is_created_found_changed_and_deleted") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("owner@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.submit("a[href='/o/acme/contacts']").await;
    assert!(b.text(".empty").await.contains("No contacts yet"));
    b.screenshot("contacts-empty").await;

    b.submit(".page-head a[href='/o/acme/contacts/new']").await;
    b.fill("#email", "not-an-email").await;
    b.submit("form.card button[type=submit]").await;
    assert!(b.text("#name-error").await.contains("must not be empty"));
    assert!(b.text("#email-error").await.contains("valid email"));
    b.fill("#name", "Marta Ruiz").await;
    b.fill("#email", "marta@portvell.example").await;
    b.fill("#phone", "+34 600 123 456").await;
    b.fill("#title", "Harbour master").await;
    b.submit("form.card button[type=submit]").await;
    assert_eq!(b.text("h1").await, "Marta Ruiz");
    assert!(b.text("[role=status]").await.contains("Saved"));

    for name in ["Bruno Mas", "anna Soler"] {
        b.goto(&t.url("/o/acme/contacts/new")).await;
        b.fill("#name", name).await;
        b.submit("form.card button[type=submit]").await;
    }
    b.goto(&t.url("/o/acme/contacts")).await;
    let names = b.eval("return [...document.querySelectorAll('#contacts tbody strong')].map(e => e.textContent)").await;
    assert_eq!(
        names,
        serde_json::json!(["anna Soler", "Bruno Mas", "Marta Ruiz"])
    );
    b.submit("th[aria-sort] a").await;
    let names = b.eval("return [...document.querySelectorAll('#contacts tbody strong')].map(e => e.textContent)").await;
    assert_eq!(
        names,
        serde_json::json!(["Marta Ruiz", "Bruno Mas", "anna Soler"]),
        "the header sorts descending"
    );
    b.fill("#search", "portvell").await;
    b.submit(".filters button[type=submit]").await;
    assert_eq!(
        b.eval("return document.querySelectorAll('#contacts tbody tr').length")
            .await,
        1
    );
    b.screenshot("contacts-list").await;

    b.submit("#contacts tbody a").await;
    b.edit_property("title", "Port director").await;
    assert!(b.text(".record-head").await.contains("Port director"));
    b.eval("window.confirm = () => true; return null").await;
    b.submit(".record-actions form button").await;
    assert_eq!(b.path().await, "/o/acme/contacts");
    assert!(!b.text("body").await.contains("Marta Ruiz"));
    b.close().await;
}

/// A contact list shows a custom select as a column and filters by it from the filter bar.
#[tokio::test]
async fn a_contact_list_shows_and_filters_a_custom_field() {
    if !enabled("a_contact_list_shows_and_filters_a_custom_field") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let r = t
        .org_call(
            &owner,
            reqwest::Method::POST,
            "/api/v1/objects/contact/fields",
            Some(json!({"key": "tier", "label": "Tier", "type": "select",
                "options": [{"label": "Gold", "color": "amber"}, {"label": "Silver", "color": "gray"}]})),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    for (name, tier) in [
        ("Marta Ruiz", "gold"),
        ("Bruno Mas", "silver"),
        ("Anna Soler", "gold"),
    ] {
        t.create(
            &owner,
            "/api/v1/contacts",
            json!({"name": name, "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")), "custom": {"tier": tier}}),
        )
        .await;
    }
    for (width, suffix) in [(1280, ""), (390, "-phone")] {
        let b = Browser::start(width, 900).await;
        b.goto(&t.url("/login")).await;
        b.fill("#email", "owner@example.com").await;
        b.fill("#password", PASSWORD).await;
        b.submit("form[action='/login'] button[type=submit]").await;
        b.goto(&t.url("/o/acme/contacts?cols=email,tier,owner,added"))
            .await;
        assert!(b.text("#contacts thead").await.contains("Tier"));
        b.eval("window.__rapportLeaving = true; return null").await;
        b.eval(
            "const s = document.querySelector(\"[name='custom.tier']\"); s.value = 'gold'; \
             s.dispatchEvent(new Event('change', {bubbles: true})); return s.value",
        )
        .await;
        b.wait_until(
            "return window.__rapportLeaving === undefined && document.readyState === 'complete'",
            "the list filtered by tier",
        )
        .await;
        let names = b
            .eval("return [...document.querySelectorAll('#contacts tbody strong')].map(e => e.textContent)")
            .await;
        assert_eq!(names, json!(["Anna Soler", "Marta Ruiz"]));
        let tiers = b
            .eval("return [...document.querySelectorAll('#contacts tbody tr')].map(r => r.textContent.includes('Gold'))")
            .await;
        assert_eq!(
            tiers,
            json!([true, true]),
            "the option's label in its column: {}",
            b.eval("return document.querySelector('#contacts thead').innerHTML + location.href")
                .await
        );
        b.screenshot(&format!("contacts-custom-filter{suffix}"))
            .await;
        b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
            .await;
        b.screenshot(&format!("contacts-custom-filter-dark{suffix}"))
            .await;
        b.close().await;
    }
}

/// A task opens from "My tasks" on a page of its own, where it is changed and its custom field
/// set.
#[tokio::test]
async fn a_task_opens_on_its_own_page_and_is_changed() {
    if !enabled("a_task_opens_on_its_own_page_and_is_changed") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.org_call(
        &owner,
        reqwest::Method::POST,
        "/api/v1/objects/task/fields",
        Some(
            json!({"key": "channel", "label": "Channel", "type": "select",
            "options": [{"label": "Phone"}, {"label": "Visit"}]}),
        ),
    )
    .await;
    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Winter berth"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.create(
        &owner,
        "/api/v1/tasks",
        json!({"title": "Call Marta", "deal_id": deal, "due_date": "2031-01-15"}),
    )
    .await;
    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.goto(&t.url("/o/acme/tasks")).await;
    b.submit("a.task-title").await;
    assert_eq!(b.text("h1").await, "Call Marta");
    assert!(
        b.text("main").await.contains("Winter berth"),
        "what it is about"
    );
    b.fill("#title", "Call Marta back").await;
    b.eval(
        "const s = document.querySelector(\"[name='custom.channel']\"); s.value = 'visit'; return s.value",
    )
    .await;
    b.submit("form.card button[type=submit]").await;
    assert_eq!(b.text("h1").await, "Call Marta back");
    assert!(b.text("[role=status]").await.contains("Saved"));
    b.screenshot("task-page").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
        .await;
    b.eval("return new Promise(r => setTimeout(() => r(null), 300))")
        .await;
    b.screenshot("task-page-dark").await;
    b.close().await;
}
