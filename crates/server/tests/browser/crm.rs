//! The CRM pages in the browser.

use crate::browser::{Browser, enabled};
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
    b.fill("#title", "Port director").await;
    b.submit("form.card button[type=submit]").await;
    assert!(b.text(".page-head").await.contains("Port director"));
    b.eval("window.confirm = () => true; return null").await;
    b.submit(".page-head form button").await;
    assert_eq!(b.path().await, "/o/acme/contacts");
    assert!(!b.text("body").await.contains("Marta Ruiz"));
    b.close().await;
}
