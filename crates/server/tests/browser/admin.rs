//! Instance administration in the browser.

use serde_json::json;

use crate::browser::{Browser, enabled};
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn instance_administrators_run_organizations_from_the_browser() {
    if !enabled("instance_administrators_run_organizations_from_the_browser") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t
        .register("owner@example.com", Some("Harbour Lights"))
        .await;
    t.register("other@example.com", Some("Beta Agency")).await;
    t.register("root@example.com", None).await;
    t.app
        .cli_set_instance_admin("root@example.com", true)
        .await
        .expect("flag");
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "new@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::ACCEPTED);

    let b = Browser::start(1280, 900).await;
    // A regular member is refused.
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url("/admin")).await;
    assert!(b.text("body").await.contains("administrators"));
    b.forget_cookies().await;

    // An administrator in no organization lands on the administration pages.
    b.goto(&t.url("/login")).await;
    b.fill("#email", "root@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p == "/admin").await;
    let table = b.text("#organizations").await;
    assert!(
        table.contains("Harbour Lights") && table.contains("Beta Agency"),
        "{table}"
    );
    b.fill("#q", "harbour").await;
    b.submit(".filters button[type=submit]").await;
    assert!(!b.text("#organizations").await.contains("Beta Agency"));
    b.screenshots("admin-organizations").await;

    b.eval("window.confirm = () => true; return null").await;
    b.submit("#organizations form[action$='/suspend'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("suspended"));
    let r = t
        .get(
            &format!("/api/v1/organizations/{}", owner.org()),
            &owner.access,
        )
        .await;
    r.assert_problem(reqwest::StatusCode::FORBIDDEN, "organization_suspended");
    b.submit("#organizations form[action$='/restore'] button")
        .await;
    assert_eq!(
        t.get(
            &format!("/api/v1/organizations/{}", owner.org()),
            &owner.access
        )
        .await
        .status,
        reqwest::StatusCode::OK
    );

    // Deleting asks for the address, typed exactly.
    b.goto(&t.url("/admin?q=harbour")).await;
    b.click("#organizations details.danger-zone summary").await;
    b.fill(
        "#organizations details.danger-zone input[name=confirm]",
        "harbour",
    )
    .await;
    b.submit("#organizations details.danger-zone form button")
        .await;
    assert!(b.text("[role=alert]").await.contains("was not deleted"));
    b.goto(&t.url("/admin?q=harbour")).await;
    b.click("#organizations details.danger-zone summary").await;
    b.fill(
        "#organizations details.danger-zone input[name=confirm]",
        "harbour-lights",
    )
    .await;
    b.submit("#organizations details.danger-zone form button")
        .await;
    assert!(b.text("[role=status]").await.contains("deleted"));

    b.submit("a[href='/admin/outbox']").await;
    b.click("#outbox summary").await;
    assert!(b.text("#outbox").await.contains("/invite/"));
    b.screenshot("admin-outbox").await;
    b.close().await;
}
