//! The sign-in flows, in a real browser.

use crate::browser::{Browser, enabled};
use crate::support::{Options, PASSWORD, SmtpSink, TestApp};

async fn sign_up(b: &Browser, t: &TestApp, name: &str, email: &str, org: &str) {
    b.goto(&t.url("/signup")).await;
    b.fill("#name", name).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.fill("#organization_name", org).await;
    b.submit("button[type=submit]").await;
}

async fn sign_in(b: &Browser, t: &TestApp, email: &str, password: &str) {
    b.goto(&t.url("/login")).await;
    b.fill("#email", email).await;
    b.fill("#password", password).await;
    b.submit("form[action='/login'] button[type=submit]").await;
}

#[tokio::test]
async fn sign_up_lands_on_the_new_organization() {
    if !enabled("sign_up_lands_on_the_new_organization") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/signup")).await;
    b.screenshot("signup").await;
    // A mistake is explained next to its field, and what was typed stays.
    b.fill("#name", "Ann Lee").await;
    b.fill("#email", "ann@example.com").await;
    b.fill("#password", "short").await;
    b.fill("#organization_name", "Acme Boats").await;
    b.submit("button[type=submit]").await;
    let error = b.text("#password-error").await;
    assert!(error.contains("at least 12 characters"), "{error}");
    assert_eq!(
        b.eval("return document.querySelector('#email').value")
            .await,
        "ann@example.com"
    );
    b.screenshot("signup-error").await;

    b.fill("#password", PASSWORD).await;
    b.submit("button[type=submit]").await;
    let path = b.wait_for_path(|p| p.starts_with("/o/")).await;
    assert_eq!(path, "/o/acme-boats/");
    assert_eq!(b.text(".org-name").await, "Acme Boats");
    assert!(b.text(".page-head").await.contains("Acme Boats"));
    assert!(b.text(".page-head").await.to_lowercase().contains("owner"));
    // A new organization has no deals yet: the landing page says what to do first.
    assert!(b.text("body").await.contains("Add your first deal"));
    b.screenshot("dashboard").await;
    b.close().await;
}

#[tokio::test]
async fn sign_out_then_sign_in_again() {
    if !enabled("sign_out_then_sign_in_again") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    sign_up(&b, &t, "Ann Lee", "ann@example.com", "Acme").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.click("[aria-controls=user-menu]").await;
    b.submit("#user-menu button[type=submit]").await;
    b.wait_for_path(|p| p == "/login").await;
    assert!(b.text("[role=status]").await.contains("signed out"));
    // Signed out for real: the workspace asks to sign in again.
    b.goto(&t.url("/o/acme/")).await;
    assert_eq!(b.wait_for_path(|p| p == "/login").await, "/login");

    b.fill("#email", "ann@example.com").await;
    b.fill("#password", "wrong-password-1").await;
    b.submit("form[action='/login'] button[type=submit]").await;
    assert!(
        b.text("[role=alert]")
            .await
            .contains("Wrong email or password")
    );
    b.screenshot("login-error").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    // Back where the sign-in was asked for.
    assert_eq!(b.wait_for_path(|p| p.starts_with("/o/")).await, "/o/acme/");
    b.close().await;
}

#[tokio::test]
async fn forgotten_password_reset_through_the_emailed_link() {
    if !enabled("forgotten_password_reset_through_the_emailed_link") {
        return;
    }
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    t.register("ann@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.submit("a[href='/forgot-password']").await;
    b.fill("#email", "ann@example.com").await;
    b.submit("button[type=submit]").await;
    assert!(b.text("[role=status]").await.contains("ann@example.com"));
    b.screenshot("forgot-password-sent").await;

    let mail = smtp.message_to("ann@example.com").await;
    let link = mail.link_containing("/reset-password/").expect("link");
    b.goto(&link).await;
    b.fill("#password", "short").await;
    b.submit("button[type=submit]").await;
    assert!(b.text("#password-error").await.contains("12 characters"));
    b.fill("#password", "a-brand-new-harbour-9").await;
    b.submit("button[type=submit]").await;
    b.wait_for_path(|p| p == "/login").await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("password is changed")
    );
    sign_in(&b, &t, "ann@example.com", "a-brand-new-harbour-9").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    // The link works once.
    b.goto(&link).await;
    assert!(b.text("[role=alert]").await.contains("invalid"));
    b.screenshot("reset-link-used").await;
    b.close().await;
}

#[tokio::test]
async fn an_invited_teammate_accepts_by_email_and_joins() {
    if !enabled("an_invited_teammate_accepts_by_email_and_joins") {
        return;
    }
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let b = Browser::start(1280, 900).await;
    sign_up(&b, &t, "Ann Lee", "ann@example.com", "Acme Boats").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.submit("a[href='/o/acme-boats/settings/members']").await;
    b.fill("#email", "bob@example.com").await;
    b.eval("document.querySelector('#role').value = 'manager'; return null")
        .await;
    b.submit("form[action$='/settings/members'] button[type=submit]")
        .await;
    assert!(b.text("[role=status]").await.contains("bob@example.com"));
    assert!(b.text("#invitations").await.contains("bob@example.com"));
    b.screenshot("members-invited").await;

    let mail = smtp.message_to("bob@example.com").await;
    let link = mail.link_containing("/invite/").expect("invitation link");
    b.forget_cookies().await;
    b.goto(&link).await;
    assert!(b.text("h1").await.contains("Acme Boats"));
    b.screenshot("invitation").await;
    b.fill("#name", "Bob Marsh").await;
    b.fill("#password", PASSWORD).await;
    b.submit("button[type=submit]").await;
    assert_eq!(
        b.wait_for_path(|p| p.starts_with("/o/")).await,
        "/o/acme-boats/"
    );
    assert!(
        b.text(".page-head")
            .await
            .to_lowercase()
            .contains("manager")
    );
    b.close().await;
}

#[tokio::test]
async fn repeated_wrong_passwords_pause_sign_in_and_say_for_how_long() {
    if !enabled("repeated_wrong_passwords_pause_sign_in_and_say_for_how_long") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("ann@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    for _ in 0..6 {
        sign_in(&b, &t, "ann@example.com", "wrong-password-1").await;
    }
    let message = b.text("[role=alert]").await;
    assert!(
        message.contains("paused for") && message.contains("seconds"),
        "{message}"
    );
    // What was typed stays, so trying again later is one click.
    assert_eq!(
        b.eval("return document.querySelector('#email').value")
            .await,
        "ann@example.com"
    );
    b.screenshot("login-throttled").await;
    b.close().await;
}

#[tokio::test]
async fn a_busy_database_asks_to_try_again_without_signing_out() {
    if !enabled("a_busy_database_asks_to_try_again_without_signing_out") {
        return;
    }
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_DB_ACQUIRE_TIMEOUT_MS", "300".into())],
        ..Default::default()
    })
    .await;
    // A desktop browser, signed in, and a phone that is not.
    let (b, phone) = Browser::start_two(1280, 900).await;
    phone
        .client
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    sign_up(&b, &t, "Ann Lee", "ann@example.com", "Acme").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    // Every connection taken, as a burst of slow requests would.
    let mut held = Vec::new();
    while let Ok(tx) = t.app.db.platform_read().await {
        held.push(tx);
        assert!(held.len() <= 5, "the pool is bounded");
    }
    b.goto(&t.url("/o/acme/contacts")).await;
    let page = b.text("body").await;
    assert!(page.contains("try again"), "{page}");
    assert!(page.contains("still signed in"), "{page}");
    assert_eq!(
        b.path().await,
        "/o/acme/contacts",
        "not sent to the sign-in page"
    );
    b.screenshot("busy").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
        .await;
    b.screenshot("busy-dark").await;
    // Signing in while busy: told so next to the form.
    phone.goto(&t.url("/login")).await;
    phone.fill("#email", "ann@example.com").await;
    phone.fill("#password", PASSWORD).await;
    phone
        .submit("form[action='/login'] button[type=submit]")
        .await;
    let answer = phone.text("[role=alert]").await;
    assert!(answer.contains("busy"), "{answer}");
    phone.screenshot("mobile-login-busy").await;
    phone.close().await;
    // Once the database frees up, "Try again" carries on where the person was, still signed in.
    for tx in held {
        tx.commit().await.expect("release");
    }
    b.submit(".error-retry").await;
    b.wait_until(
        "return !document.body.classList.contains('error-page')",
        "the contacts page",
    )
    .await;
    assert_eq!(b.path().await, "/o/acme/contacts");
    b.close().await;
}
