//! The app shell: theme, mobile drawer, navigation by permission.

use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{Browser, enabled};
use crate::support::{PASSWORD, TestApp};

async fn signed_in(t: &TestApp, b: &Browser, email: &str) {
    b.goto(&t.url("/login")).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
}

#[tokio::test]
async fn the_chosen_theme_persists_across_pages() {
    if !enabled("the_chosen_theme_persists_across_pages") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("ann@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    signed_in(&t, &b, "ann@example.com").await;
    assert_eq!(
        b.eval("return document.documentElement.dataset.theme")
            .await,
        "light"
    );
    b.click("[aria-controls=user-menu]").await;
    b.screenshot("user-menu").await;
    b.click("[data-set-theme=dark]").await;
    assert_eq!(
        b.eval("return document.documentElement.dataset.theme")
            .await,
        "dark"
    );
    b.goto(&t.url("/o/acme/settings/members")).await;
    assert_eq!(
        b.eval("return document.documentElement.dataset.theme")
            .await,
        "dark"
    );
    let background = b
        .eval("return getComputedStyle(document.body).backgroundColor")
        .await;
    assert_eq!(background, "rgb(2, 6, 23)", "the dark palette applies");
    b.screenshot("members-dark").await;
    b.close().await;
}

#[tokio::test]
async fn below_768_pixels_the_sidebar_is_a_drawer() {
    if !enabled("below_768_pixels_the_sidebar_is_a_drawer") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("ann@example.com", Some("Acme")).await;
    let b = Browser::start(390, 844).await;
    signed_in(&t, &b, "ann@example.com").await;
    let hidden = b
        .eval("return document.querySelector('.sidebar').getBoundingClientRect().right <= 0")
        .await;
    assert_eq!(hidden, true, "the drawer starts closed");
    b.screenshot("mobile-dashboard").await;
    b.click(".menu-button").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let shown = b
        .eval("return document.querySelector('.sidebar').getBoundingClientRect().left >= 0")
        .await;
    assert_eq!(shown, true, "the drawer opens");
    b.screenshot("mobile-drawer").await;
    b.close().await;
}

#[tokio::test]
async fn viewers_do_not_see_administration() {
    if !enabled("viewers_do_not_see_administration") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "viewer@example.com", "viewer").await;
    let b = Browser::start(1280, 900).await;
    signed_in(&t, &b, "viewer@example.com").await;
    assert!(!b.exists("a[href='/o/acme/settings/members']").await);
    assert!(!b.text(".sidebar").await.contains("Administration"));
    b.screenshot("viewer-dashboard").await;
    // The page itself refuses too.
    b.goto(&t.url("/o/acme/settings/members")).await;
    assert!(b.text("body").await.contains("permission"));
    b.close().await;
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "x@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_command_palette_jumps_to_a_page() {
    if !enabled("the_command_palette_jumps_to_a_page") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("ann@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    signed_in(&t, &b, "ann@example.com").await;
    // The keyboard shortcut, as a person presses it.
    b.eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true})); return null").await;
    assert_eq!(
        b.eval("return document.getElementById('palette').open")
            .await,
        true
    );
    b.fill(".palette-input", "brand").await;
    assert_eq!(b.eval("return [...document.querySelectorAll('.palette-list li')].filter(li => !li.hidden).length").await, 1);
    b.screenshot("command-palette").await;
    // Enter goes to the highlighted page.
    b.fill(".palette-input", "\u{E007}").await;
    assert_eq!(
        b.wait_for_path(|p| p.ends_with("/settings/branding")).await,
        "/o/acme/settings/branding"
    );
    b.close().await;
}

#[tokio::test]
async fn the_design_system_page_shows_every_component_in_both_themes() {
    if !enabled("the_design_system_page_shows_every_component_in_both_themes") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("root@example.com", None).await;
    t.app
        .cli_set_instance_admin("root@example.com", true)
        .await
        .expect("flag");
    let b = Browser::start(1280, 2400).await;
    b.goto(&t.url("/login?next=/_styleguide")).await;
    b.fill("#email", "root@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p == "/_styleguide").await;
    for section in [
        "tokens",
        "buttons",
        "forms",
        "table",
        "cards",
        "navigation",
        "feedback",
        "empty",
    ] {
        assert!(b.exists(&format!("#{section}")).await, "{section}");
    }
    // The bundled font is what the page is set in: its faces load from the app itself.
    let loaded = "return [...document.fonts].filter(f => f.family.replace(/\"/g, '') === 'Inter' \
                  && f.status === 'loaded').map(f => f.weight)";
    let mut faces = b.eval(loaded).await;
    for _ in 0..50 {
        if faces.as_array().is_some_and(|f| f.len() >= 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        faces = b.eval(loaded).await;
    }
    assert!(
        faces.as_array().is_some_and(|f| f.len() >= 2),
        "Inter's faces loaded: {faces}"
    );
    let family = b
        .eval("return getComputedStyle(document.body).fontFamily")
        .await;
    assert!(
        family
            .as_str()
            .is_some_and(|f| f.starts_with("Inter") || f.starts_with("\"Inter\"")),
        "{family}"
    );
    b.click("[data-open-dialog=sg-dialog]").await;
    assert_eq!(
        b.eval("return document.getElementById('sg-dialog').open")
            .await,
        true
    );
    b.click("#sg-dialog [data-close-dialog]").await;
    b.click("[data-toast]").await;
    let toasts = b
        .eval("return document.getElementById('toasts').textContent")
        .await;
    assert!(
        toasts.as_str().is_some_and(|t| t.contains("Saved")),
        "{toasts}"
    );
    b.screenshot("styleguide-light").await;
    b.click(".page-head [data-set-theme=dark]").await;
    // Let the colour transitions finish before looking.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    b.screenshot("styleguide-dark").await;
    b.close().await;
}

#[tokio::test]
async fn the_collapsed_sidebar_is_remembered_and_expired_sessions_are_explained() {
    if !enabled("the_collapsed_sidebar_is_remembered_and_expired_sessions_are_explained") {
        return;
    }
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_SESSION_IDLE_TIMEOUT_SECS", "3".into())],
        ..Default::default()
    })
    .await;
    t.register("ann@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    signed_in(&t, &b, "ann@example.com").await;
    b.click("[data-collapse-sidebar]").await;
    assert_eq!(
        b.eval("return document.querySelector('.shell').dataset.sidebar")
            .await,
        "collapsed"
    );
    b.goto(&t.url("/o/acme/")).await;
    assert_eq!(
        b.eval("return document.querySelector('.shell').dataset.sidebar")
            .await,
        "collapsed"
    );
    let width = b
        .eval("return document.querySelector('.sidebar').getBoundingClientRect().width")
        .await;
    assert_eq!(width, 64, "only icons remain");
    b.screenshot("sidebar-collapsed").await;

    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    b.goto(&t.url("/o/acme/settings/members")).await;
    b.wait_for_path(|p| p == "/login").await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("session has expired")
    );
    b.close().await;
}
