//! Organization administration in the browser: settings, branding, members, audit log.

use crate::browser::{Browser, enabled};
use crate::support::{PASSWORD, TestApp};

async fn owner_signed_in(t: &TestApp, b: &Browser) {
    t.register("owner@example.com", Some("Acme")).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
}

#[tokio::test]
async fn owners_brand_their_organization() {
    if !enabled("owners_brand_their_organization") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    b.submit("a[href='/o/acme/settings/general']").await;
    b.submit(".tabs a[href='/o/acme/settings/branding']").await;

    let logo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/logo.png");
    b.fill("#logo", &logo.display().to_string()).await;
    b.submit("form[action$='/settings/branding/logo'] button[type=submit]")
        .await;
    assert!(b.text("[role=status]").await.contains("Logo updated"));
    let shown = b.eval("const i = document.querySelector('.sidebar .logo-mark img'); return i !== null && i.complete && i.naturalWidth === 64").await;
    assert_eq!(shown, true, "the new logo shows in the sidebar");

    b.fill("#primary_color", "not a colour").await;
    b.submit("form[action$='/settings/branding'] button[type=submit]")
        .await;
    assert!(b.text(".field-error").await.contains("must be a colour"));
    b.fill("#primary_color", "#0ea5e9").await;
    b.submit("form[action$='/settings/branding'] button[type=submit]")
        .await;
    assert!(b.text("[role=status]").await.contains("saved"));
    let brand = b
        .eval(
            "return getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()",
        )
        .await;
    assert_eq!(brand, "#0ea5e9");
    b.screenshot("settings-branding").await;
    b.close().await;
}

#[tokio::test]
async fn owners_change_general_settings_with_errors_in_words() {
    if !enabled("owners_change_general_settings_with_errors_in_words") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    b.goto(&t.url("/o/acme/settings/general")).await;
    b.fill("#currency", "EURO").await;
    b.fill("#time_zone", "Europe/Atlantis").await;
    b.submit("form[action$='/settings/general'] button[type=submit]")
        .await;
    assert!(b.text("#currency-error").await.contains("ISO 4217"));
    assert!(b.text("#time_zone-error").await.contains("IANA"));
    b.screenshot("settings-general-errors").await;
    b.fill("#name", "Acme Boats").await;
    b.fill("#slug", "acme-boats").await;
    b.fill("#currency", "gbp").await;
    b.fill("#time_zone", "Europe/London").await;
    b.submit("form[action$='/settings/general'] button[type=submit]")
        .await;
    // The address follows the new slug.
    assert_eq!(
        b.wait_for_path(|p| p.starts_with("/o/acme-boats/")).await,
        "/o/acme-boats/settings/general"
    );
    assert!(b.text(".breadcrumbs").await.contains("Acme Boats"));
    assert_eq!(
        b.eval("return document.querySelector('#currency').value")
            .await,
        "GBP"
    );
    b.close().await;
}

#[tokio::test]
async fn members_are_managed_and_every_change_is_in_the_audit_log() {
    if !enabled("members_are_managed_and_every_change_is_in_the_audit_log") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    t.register("bob@example.com", None).await;
    b.goto(&t.url("/o/acme/settings/members")).await;
    b.fill("#email", "bob@example.com").await;
    b.submit("form.form-inline button[type=submit]").await;
    assert!(b.text("[role=status]").await.contains("Member added"));
    assert!(b.text("#members").await.contains("bob@example.com"));

    let select = "#members li:nth-child(2) select";
    b.eval(&format!(
        "document.querySelector('{select}').value = 'admin'; return null"
    ))
    .await;
    b.submit("#members li:nth-child(2) form[action$='/role'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("Role changed"));
    b.screenshot("settings-members").await;

    b.eval("window.confirm = () => true; return null").await;
    b.submit("#members li:nth-child(2) form[action$='/remove'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("Member removed"));
    assert!(!b.text("#members").await.contains("bob@example.com"));

    b.submit(".tabs a[href='/o/acme/settings/audit']").await;
    let log = b.text("#audit").await;
    assert!(
        log.contains("member.added")
            && log.contains("member.role_changed")
            && log.contains("member.removed"),
        "{log}"
    );
    assert!(log.contains("role: member → admin"), "{log}");
    b.eval("document.querySelector('#action').value = 'member.'; return null")
        .await;
    b.submit(".filters button[type=submit]").await;
    assert!(!b.text("#audit").await.contains("organization.created"));
    b.screenshot("settings-audit").await;
    b.close().await;
}

#[tokio::test]
async fn users_manage_their_profile_and_sessions() {
    if !enabled("users_manage_their_profile_and_sessions") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    // A second sign-in elsewhere, through the API.
    let elsewhere = t
        .call_with(
            reqwest::Method::POST,
            "/api/v1/auth/session",
            None,
            Some(serde_json::json!({"email": "owner@example.com", "password": PASSWORD})),
            &[(
                "user-agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1",
            )],
        )
        .await;
    let other_cookie = elsewhere
        .header("set-cookie")
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();

    b.click("[aria-controls=user-menu]").await;
    b.submit("#user-menu a[href='/o/acme/profile']").await;
    b.fill("#name", "Olivia Owner").await;
    b.submit("form[action$='/profile/name'] button").await;
    assert!(b.text("[role=status]").await.contains("Name saved"));
    assert_eq!(
        b.eval("return document.querySelector('#name').value").await,
        "Olivia Owner"
    );

    b.fill("#current_password", "not-my-password").await;
    b.fill("#password", "another-harbour-77").await;
    b.submit("form[action$='/profile/password'] button").await;
    assert!(
        b.text("#current_password-error")
            .await
            .contains("not your current password")
    );

    // Changing the email asks for the password again.
    b.fill("#email", "olivia@example.com").await;
    b.fill("#email_password", "wrong-password-9").await;
    b.submit("form[action$='/profile/email'] button").await;
    assert!(
        b.text("#email_password-error")
            .await
            .contains("not your current password")
    );
    b.fill("#email_password", PASSWORD).await;
    b.submit("form[action$='/profile/email'] button").await;
    assert!(b.text("[role=status]").await.contains("Email changed"));
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": "olivia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, reqwest::StatusCode::OK);

    let sessions = b.text("#sessions").await;
    assert!(
        sessions.to_lowercase().contains("this browser") && sessions.contains("Safari on iPhone"),
        "{sessions}"
    );
    b.screenshot("profile").await;
    b.submit("form[action$='/profile/sessions/revoke-others'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("everywhere else"));
    let r = t
        .call_with(
            reqwest::Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &other_cookie)],
        )
        .await;
    assert_eq!(
        r.status,
        reqwest::StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    b.close().await;
}

#[tokio::test]
async fn the_ai_api_key_is_stored_encrypted_and_never_shown_again() {
    if !enabled("the_ai_api_key_is_stored_encrypted_and_never_shown_again") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    b.goto(&t.url("/o/acme/settings/ai")).await;
    b.fill("#base_url", "not a url").await;
    b.fill("#monthly_token_budget", "lots").await;
    b.submit("form[action$='/settings/ai'] button[type=submit]")
        .await;
    assert!(b.text("#base_url-error").await.contains("URL"));
    assert!(
        b.text("#monthly_token_budget-error")
            .await
            .contains("whole number")
    );

    b.fill("#base_url", "https://api.openai.com/v1").await;
    b.fill("#api_key", "sk-test-abcdefgh1234").await;
    b.fill("#default_model", "gpt-4o-mini").await;
    b.fill("#monthly_token_budget", "2000000").await;
    b.fill("#max_tokens_per_request", "4000").await;
    b.submit("form[action$='/settings/ai'] button[type=submit]")
        .await;
    assert!(b.text("[role=status]").await.contains("saved"));
    let html = b.eval("return document.documentElement.outerHTML").await;
    let html = html.as_str().unwrap_or_default().to_owned();
    assert!(
        !html.contains("sk-test-abcdefgh"),
        "the key never comes back to the browser"
    );
    assert!(html.contains("ending in 1234"));
    assert_eq!(
        b.eval("return document.querySelector('#default_model').value")
            .await,
        "gpt-4o-mini"
    );
    b.screenshot("settings-ai").await;

    // Stored encrypted, and still usable by the AI features.
    let mut tx = t.app.db.platform_read().await.expect("tx");
    #[derive(sqlx::FromRow)]
    struct Row {
        settings: sqlx::types::Json<serde_json::Value>,
    }
    let row: Row = tx
        .fetch_one(rapport_store::query(
            "SELECT settings FROM organizations WHERE slug = 'acme'",
        ))
        .await
        .expect("row");
    let stored = row.settings.0.to_string();
    assert!(!stored.contains("sk-test-abcdefgh"), "{stored}");
    let organization = t
        .app
        .resolve_organization(rapport_app::organizations::TenantHint::Slug("acme"))
        .await
        .expect("lookup")
        .expect("organization");
    let tenant = rapport_app::Tenant {
        organization,
        role: rapport_domain::Role::Owner,
        access: rapport_app::roles::Access::system(rapport_domain::Role::Owner),
        preview: None,
        support: None,
    };
    assert_eq!(
        t.app.ai_api_key(&tenant).await.expect("key").as_deref(),
        Some("sk-test-abcdefgh1234")
    );
    b.close().await;
}

#[tokio::test]
async fn owners_connect_a_webhook_and_follow_its_deliveries() {
    if !enabled("owners_connect_a_webhook_and_follow_its_deliveries") {
        return;
    }
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_WEBHOOK_ALLOW_PRIVATE", "true".into())],
        ..Default::default()
    })
    .await;
    let receiver = crate::support::receiver::Receiver::start(&[]).await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    b.goto(&t.url("/o/acme/settings/webhooks")).await;
    b.fill("#url", "ftp://nowhere").await;
    b.submit("form[action$='/settings/webhooks'] button[type=submit]")
        .await;
    assert!(
        b.text(".field-error")
            .await
            .contains("URL must start with https://")
    );
    b.fill("#url", &receiver.url).await;
    b.fill("#description", "Warehouse sync").await;
    b.submit("form[action$='/settings/webhooks'] button[type=submit]")
        .await;
    let secret = b.text("#new-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    b.screenshot("settings-webhooks-created").await;
    b.submit(".secret-callout a.btn").await;
    b.submit("form[action$='/test'] button[type=submit]").await;
    assert!(b.text("[role=status]").await.contains("test message"));
    receiver.wait_for(1).await;
    // The log shows the delivery once it succeeded.
    let page = b
        .eval("return location.href")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for _ in 0..50 {
        b.goto(&page).await;
        if b.exists("#deliveries .delivery-succeeded").await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(b.text("#deliveries").await.contains("webhook.test"));
    b.screenshot("settings-webhook-deliveries").await;
    b.submit("#deliveries a").await;
    assert!(
        b.text("#request-body")
            .await
            .contains("\"type\": \"webhook.test\"")
    );
    assert!(b.text("#attempts").await.contains("200"));
    b.close().await;
}

#[tokio::test]
async fn owners_see_what_each_api_key_can_do_now_create_and_revoke_keys() {
    if !enabled("owners_see_what_each_api_key_can_do_now_create_and_revoke_keys") {
        return;
    }
    use serde_json::json;
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    // The admin makes an admin key, then the owner demotes the admin to viewer.
    let keys = format!("/api/v1/organizations/{}/api-keys", owner.org());
    let made = t
        .post(
            &keys,
            Some(&admin.access),
            json!({"name": "Warehouse sync", "role": "admin"}),
        )
        .await;
    assert_eq!(made.status, reqwest::StatusCode::CREATED, "{}", made.text);
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let membership = members
        .body
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == "admin@example.com")
        .expect("admin")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.call(
        reqwest::Method::PATCH,
        &format!("/api/v1/organizations/{}/members/{membership}", owner.org()),
        Some(&owner.access),
        Some(json!({"role": "viewer"})),
    )
    .await;

    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url("/o/acme/settings/api-keys")).await;
    let listed = b.text("#api-keys").await;
    assert!(listed.contains("Warehouse sync"), "{listed}");
    assert!(listed.contains("admin"), "{listed}");
    let limited = b.text("[data-limited]").await;
    assert!(limited.contains("Acts as viewer"), "{limited}");

    // A key made here: its secret shown once, then listed; revoked, it is gone.
    b.fill("#name", "Accounting export").await;
    b.eval("document.querySelector('#role').value = 'manager'; return null")
        .await;
    b.eval("document.querySelector('#expires').value = '90'; return null")
        .await;
    b.submit("form[action$='/settings/api-keys'] button[type=submit]")
        .await;
    let secret = b.text("#new-secret").await;
    assert!(secret.starts_with("rpk_"), "{secret}");
    let works = t
        .call_with(
            reqwest::Method::GET,
            "/api/v1/organization",
            Some(&secret),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    assert_eq!(works.body["role"], "manager", "{}", works.text);
    assert!(b.text("#api-keys").await.contains("Accounting export"));
    assert!(b.text("#api-keys").await.contains("expires"));
    b.screenshot("settings-api-keys").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
        .await;
    b.screenshot("settings-api-keys-dark").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'light'); return null")
        .await;
    b.submit("button[aria-label='Revoke Accounting export']")
        .await;
    assert!(b.text("[role=status]").await.contains("revoked"));
    assert!(!b.text("#api-keys").await.contains("Accounting export"));
    let stopped = t
        .call_with(
            reqwest::Method::GET,
            "/api/v1/organization",
            Some(&secret),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    assert_eq!(stopped.status, reqwest::StatusCode::UNAUTHORIZED);
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    b.goto(&t.url("/o/acme/settings/api-keys")).await;
    b.screenshot("mobile-settings-api-keys").await;
    b.close().await;
}

#[tokio::test]
async fn owners_shape_a_role_in_the_permission_matrix_which_saves_as_they_click() {
    if !enabled("owners_shape_a_role_in_the_permission_matrix_which_saves_as_they_click") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    b.goto(&t.url("/o/acme/settings/roles")).await;
    let listed = b.text("#roles").await;
    for name in ["Owner", "Admin", "Manager", "Member", "Viewer"] {
        assert!(listed.contains(name), "{listed}");
    }
    // A name another role has is said next to the field.
    b.fill("#name", "Viewer").await;
    b.submit("form[action$='/settings/roles'] button[type=submit]")
        .await;
    assert_eq!(
        b.text("#name-error").await,
        "Name is already another role's; choose another"
    );
    // Finance starts as a copy of the viewer role.
    b.fill("#name", "Finance").await;
    b.fill("#description", "Invoices and expenses; no pipelines")
        .await;
    b.eval("document.getElementById('copy_of').value = 'viewer'; return null")
        .await;
    b.submit("form[action$='/settings/roles'] button[type=submit]")
        .await;
    b.wait_for_path(|p| p == "/o/acme/settings/roles/finance")
        .await;
    let cell = |name: &str| format!("select[name='{name}']");
    assert_eq!(
        b.eval(&format!(
            "return document.querySelector(\"{}\").value",
            cell("deal.view")
        ))
        .await,
        "all"
    );
    // A cell changed saves by itself; the summary follows.
    let choose = |name: &str, value: &str| {
        format!(
            "const s = document.querySelector(\"select[name='{name}']\"); s.value = '{value}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return null"
        )
    };
    b.eval(&choose("deal.view", "none")).await;
    b.eval(&choose("contact.edit", "all")).await;
    b.wait_until(
        "return [...document.querySelectorAll('.toast')].some(t => t.textContent.includes('Permissions saved'))",
        "the save is confirmed",
    )
    .await;
    b.wait_until(
        "return !document.querySelector('form[data-matrix][aria-busy]') && !document.getElementById('role-summary').textContent.includes('Deals and')",
        "the summary is drawn again",
    )
    .await;
    let summary = b.text("#role-summary").await;
    assert!(
        summary.contains("View: every record of Companies, Contacts, Leads and Tasks."),
        "{summary}"
    );
    // Viewing reaches some records too: none, own, team or all.
    assert_eq!(
        b.eval("return [...document.querySelector(\"select[name='contact.view']\").options].map(o => o.value)")
            .await,
        serde_json::json!(["none", "own", "team", "all"])
    );
    assert!(
        summary.contains("Edit: every record of Contacts."),
        "{summary}"
    );
    b.screenshots("settings-role-matrix").await;

    // Undo puts the last change back, stored too.
    b.eval(&choose("company.delete", "all")).await;
    b.wait_until(
        "return [...document.querySelectorAll('.toast')].filter(t => t.textContent.includes('Permissions saved')).length >= 2",
        "the second save is confirmed",
    )
    .await;
    b.eval("const a = [...document.querySelectorAll('.toast .toast-action')]; a[a.length - 1].click(); return null")
        .await;
    b.wait_until(
        "return [...document.querySelectorAll('.toast')].some(t => t.textContent.includes('Undone'))",
        "the undo is confirmed",
    )
    .await;
    b.goto(&t.url("/o/acme/settings/roles/finance")).await;
    let stored = b
        .eval("return ['deal.view', 'contact.edit', 'company.delete'].map(n => document.querySelector(`select[name='${n}']`).value)")
        .await;
    assert_eq!(stored, serde_json::json!(["none", "all", "none"]));

    // Viewing as the role: the pages read through it, changes to records are refused, and the
    // banner ends it.
    b.submit("form[action$='/settings/roles/finance/preview'] button")
        .await;
    b.wait_for_path(|p| p == "/o/acme/").await;
    assert!(b.text(".preview-banner").await.contains("Finance"));
    assert!(
        !b.exists(".sidebar a[href='/o/acme/deals']").await,
        "no deals for finance"
    );
    b.goto(&t.url("/o/acme/contacts")).await;
    assert!(
        !b.exists("a[href='/o/acme/contacts/new']").await,
        "finance creates no contacts"
    );
    b.screenshots("settings-role-preview").await;
    // Any change is refused while previewing (saving a view, here).
    b.eval(
        "window.__status = null; \
         const body = new URLSearchParams({_csrf: document.querySelector('input[name=_csrf]').value, name: 'Mine', list: 'contacts'}); \
         fetch('/o/acme/views', {method: 'POST', body, redirect: 'manual'}).then(r => window.__status = r.status); return null",
    )
    .await;
    b.wait_until("return window.__status !== null", "the change is answered")
        .await;
    assert_eq!(b.eval("return window.__status").await, 403);
    b.submit(".preview-banner button").await;
    b.wait_for_path(|p| p == "/o/acme/settings/roles").await;
    assert!(!b.exists(".preview-banner").await);
    assert!(b.exists(".sidebar a[href='/o/acme/deals']").await);

    // The owner role reads but does not change; the finance role is given to a newcomer.
    b.goto(&t.url("/o/acme/settings/roles/owner")).await;
    assert_eq!(
        b.eval("return [...document.querySelectorAll('select.scope')].every(s => s.disabled)")
            .await,
        true
    );
    b.goto(&t.url("/o/acme/settings/members")).await;
    let offered = b
        .eval("return [...document.querySelectorAll('#role option')].map(o => o.textContent)")
        .await;
    assert!(
        offered
            .as_array()
            .is_some_and(|o| o.iter().any(|n| n == "Finance")),
        "{offered}"
    );
    b.close().await;
}

#[tokio::test]
async fn owners_make_a_team_choose_its_members_and_lead_and_see_it_listed() {
    if !enabled("owners_make_a_team_choose_its_members_and_lead_and_see_it_listed") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let priya = t.member(&owner, "priya@example.com", "member").await;
    t.member(&owner, "tom@example.com", "member").await;
    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url("/o/acme/settings/teams")).await;
    assert!(b.text(".teams-card").await.contains("No teams yet"));
    b.screenshots("settings-teams-empty").await;
    // A nameless team is refused next to the field.
    b.submit("form[action$='/settings/teams'] button[type=submit]")
        .await;
    assert_eq!(
        b.text("#name-error").await,
        "Name must be between 1 and 60 characters"
    );
    b.fill("#name", "North harbours").await;
    b.fill("#description", "Berths north of the river").await;
    b.submit("form[action$='/settings/teams'] button[type=submit]")
        .await;
    b.wait_for_path(|p| p.starts_with("/o/acme/settings/teams/"))
        .await;
    assert!(b.text(".notice").await.contains("Team created"));
    // Priya leads it; Tom is checked as a member.
    b.eval(&format!(
        "document.querySelector(\"input[name=lead][value='{}']\").click(); \
         [...document.querySelectorAll('.team-member')].find(li => li.textContent.includes('tom@example.com')).querySelector('input[name=member]').click(); \
         return null",
        priya.user_id
    ))
    .await;
    assert_eq!(
        b.eval(&format!(
            "return document.querySelector(\"input[name=member][value='{}']\").checked",
            priya.user_id
        ))
        .await,
        true,
        "choosing a lead checks them"
    );
    b.screenshots("settings-team").await;
    b.submit("form[action^='/o/acme/settings/teams/'] button.btn-primary")
        .await;
    b.wait_until(
        "return (document.querySelector('.notice') || {}).textContent === 'Saved.'",
        "the team is saved",
    )
    .await;
    assert!(b.text(".page-head").await.contains("2 members"));
    let lead_checked = b
        .eval(&format!(
            "return document.querySelector(\"input[name=lead][value='{}']\").checked",
            priya.user_id
        ))
        .await;
    assert_eq!(lead_checked, true, "the lead is kept and made a member");
    b.goto(&t.url("/o/acme/settings/teams")).await;
    let listed = b.text("#teams").await;
    assert!(listed.contains("North harbours"), "{listed}");
    assert!(listed.contains("Led by priya"), "{listed}");
    assert!(listed.contains("2 members"), "{listed}");
    b.screenshots("settings-teams").await;
    b.close().await;
}

#[tokio::test]
async fn owners_hide_and_lock_fields_for_a_role_whose_members_then_see_them_so() {
    if !enabled("owners_hide_and_lock_fields_for_a_role_whose_members_then_see_them_so") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for (key, label) in [("commission", "Commission"), ("deposit", "Deposit")] {
        t.create(
            &owner,
            "/api/v1/objects/deal/fields",
            serde_json::json!({"key": key, "label": label, "type": "number"}),
        )
        .await;
    }
    t.create(
        &owner,
        "/api/v1/roles",
        serde_json::json!({"name": "Agent", "copy_of": "member"}),
    )
    .await;
    let agent = t.member(&owner, "agent@example.com", "agent").await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            serde_json::json!({"title": "Berth C-7 for the Lindqvists", "amount": 12000,
                "stage": "negotiation", "owner_id": agent.user_id,
                "custom": {"commission": 73519, "deposit": 1500}}),
        )
        .await;
    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url("/o/acme/settings/roles/agent")).await;
    assert!(b.text("#field-rules").await.contains("All editable"));
    // Deals' rules: the commission hidden, the deposit read-only in negotiation.
    b.click("#field-rules details[data-kind='deal'] > summary")
        .await;
    let choose = |name: &str, value: &str| {
        format!(
            "const s = document.querySelector(\"select[name='{name}']\"); s.value = '{value}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return null"
        )
    };
    assert_eq!(
        b.eval("return [...document.querySelector(\"select[name='deal.title']\").options].map(o => o.value)")
            .await,
        serde_json::json!(["editable", "read_only"]),
        "a built-in field can be read-only, not hidden"
    );
    b.eval(&choose("deal.commission", "hidden")).await;
    b.eval(&choose("deal.deposit", "read_only")).await;
    assert_eq!(
        b.eval("return document.querySelector(\"tr:has(select[name='deal.deposit']) fieldset\").disabled")
            .await,
        false,
        "a read-only rule offers its stages"
    );
    b.eval(
        "const box = [...document.querySelectorAll(\"input[name='deal.deposit.stages']\")].find(i => i.parentElement.textContent.includes('Negotiation')); \
         box.click(); return null",
    )
    .await;
    b.wait_until(
        "return !document.querySelector('form[data-field-rules][aria-busy]') && document.getElementById('role-summary').textContent.includes('Deposit (Deals) at Negotiation')",
        "the rules are saved and summarised",
    )
    .await;
    let summary = b.text("#role-summary").await;
    assert!(
        summary.contains("Never sees: Commission (Deals)."),
        "{summary}"
    );
    b.eval("document.getElementById('field-rules').scrollIntoView(); return null")
        .await;
    b.screenshots("settings-role-fields").await;
    b.goto(&t.url("/o/acme/settings/roles/agent")).await;
    let stored = b
        .eval("return [document.querySelector(\"select[name='deal.commission']\").value, document.querySelector(\"select[name='deal.deposit']\").value, [...document.querySelectorAll(\"input[name='deal.deposit.stages']:checked\")].map(i => i.parentElement.textContent.trim())]")
        .await;
    assert_eq!(
        stored,
        serde_json::json!(["hidden", "read_only", ["Negotiation"]])
    );
    let badge = b
        .text("#field-rules details[data-kind='deal'] summary")
        .await;
    assert!(badge.to_lowercase().contains("2 rules"), "{badge}");

    // The agent's deal: no commission anywhere, the deposit as text with a lock.
    b.forget_cookies().await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "agent@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    let id = deal["id"].as_str().expect("id");
    b.goto(&t.url(&format!("/o/acme/deals/{id}"))).await;
    let page = b.text("main").await;
    assert!(
        !page.contains("Commission") && !page.contains("73,519") && !page.contains("73519"),
        "{page}"
    );
    assert!(b.text(".prop-readonly").await.contains("Deposit"));
    assert!(!b.exists("button[data-edit][aria-label^='Deposit']").await);
    // What the role may change still changes in place.
    b.edit_property("title", "Berth C-7, Lindqvist family")
        .await;
    b.wait_until(
        "return document.querySelector('h1').textContent.includes('Lindqvist family')",
        "the title is saved",
    )
    .await;
    b.screenshots("deal-read-only-fields").await;
    b.goto(&t.url(&format!("/o/acme/deals/{id}/edit"))).await;
    assert!(b.text(".field-readonly").await.contains("Deposit"));
    assert!(!b.text("main").await.contains("Commission"));
    b.close().await;
}

#[tokio::test]
async fn a_person_sets_up_two_factor_with_a_qr_code_and_then_signs_in_with_a_code() {
    if !enabled("a_person_sets_up_two_factor_with_a_qr_code_and_then_signs_in_with_a_code") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    b.goto(&t.url("/o/acme/profile")).await;
    assert!(b.text("#two-factor").await.contains("Off"));
    b.submit("#two-factor a.btn").await;
    b.wait_for_path(|p| p == "/profile/security").await;
    b.submit("form[action='/profile/security/setup'] button")
        .await;
    assert!(b.exists(".qr svg").await, "a QR code to scan");
    crate::support::totp::settle().await;
    let secret = b.text("#totp-secret").await;
    b.fill("#code", "000000").await;
    b.fill("#enable-password", PASSWORD).await;
    b.submit("form[action='/profile/security/enable'] button")
        .await;
    assert!(
        b.text("#code-error")
            .await
            .contains("not what your authenticator app shows")
    );
    b.screenshots("two-factor-setup").await;
    b.fill("#code", &crate::support::totp::code(&secret, 0))
        .await;
    b.fill("#enable-password", PASSWORD).await;
    b.submit("form[action='/profile/security/enable'] button")
        .await;
    let codes = b.text("#recovery-codes").await;
    assert_eq!(
        b.eval("return document.querySelectorAll('.recovery-codes li').length")
            .await,
        10,
        "{codes}"
    );
    b.screenshots("two-factor-recovery-codes").await;
    b.submit("#recovery-codes a.btn").await;
    b.wait_for_path(|p| p == "/o/acme/profile").await;
    assert!(b.text("#two-factor").await.contains("On"));

    // Signing in again asks for the code after the password.
    b.forget_cookies().await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    assert!(b.exists("form[action='/login/two-factor']").await);
    b.fill("#code", "123456").await;
    b.submit("form[action='/login/two-factor'] button").await;
    assert!(b.text("#code-error").await.contains("not valid"));
    b.screenshots("sign-in-two-factor").await;
    b.fill("#code", &crate::support::totp::code(&secret, 1))
        .await;
    b.click("input[name=remember]").await;
    b.submit("form[action='/login/two-factor'] button").await;
    b.wait_for_path(|p| p.starts_with("/o/acme")).await;
    b.close().await;
}

#[tokio::test]
async fn owners_deactivate_a_member_who_then_shows_apart_and_can_be_reactivated() {
    if !enabled("owners_deactivate_a_member_who_then_shows_apart_and_can_be_reactivated") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;
    t.register("bob@example.com", None).await;
    b.goto(&t.url("/o/acme/settings/members")).await;
    b.fill("#email", "bob@example.com").await;
    b.submit("form.form-inline button[type=submit]").await;
    b.eval("window.confirm = () => true; return null").await;
    b.submit("#members li:nth-child(2) form[action$='/deactivate'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("Member deactivated"));
    assert!(!b.text("#members").await.contains("bob@example.com"));
    assert!(
        b.text("#deactivated-members")
            .await
            .contains("bob@example.com")
    );
    b.screenshots("settings-members-deactivated").await;
    b.submit("#deactivated-members form[action$='/reactivate'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("reactivated"));
    assert!(b.text("#members").await.contains("bob@example.com"));
    b.close().await;
}

async fn sign_in(t: &TestApp, b: &Browser, email: &str) {
    b.forget_cookies().await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
}

#[tokio::test]
async fn support_asks_an_owner_approves_and_support_opens_the_organization_under_audit() {
    if !enabled("support_asks_an_owner_approves_and_support_opens_the_organization_under_audit") {
        return;
    }
    let t = TestApp::spawn().await;
    let b = Browser::start(1280, 900).await;
    t.register("owner@example.com", Some("Acme")).await;
    t.register("root@example.com", None).await;
    t.app
        .cli_set_instance_admin("root@example.com", true)
        .await
        .expect("flag");

    // The instance administrator asks, from the console.
    sign_in(&t, &b, "root@example.com").await;
    b.goto(&t.url("/admin")).await;
    b.click("#organizations details.support-ask summary").await;
    b.fill(
        "#organizations textarea[name=reason]",
        "Their CSV import stops at row 812",
    )
    .await;
    b.submit("#organizations form[action$='/support'] button")
        .await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("Support access requested")
    );
    assert!(
        b.text("#support-access")
            .await
            .to_lowercase()
            .contains("pending")
    );

    // The owner approves it in Settings → Support access.
    sign_in(&t, &b, "owner@example.com").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url("/o/acme/settings/support")).await;
    assert!(b.text("#support-grants").await.contains("row 812"));
    b.screenshots("settings-support-pending").await;
    b.eval("window.confirm = () => true; return null").await;
    b.submit("#support-grants form[action$='/approve'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("Approved"));
    assert!(
        b.text("#support-grants")
            .await
            .to_lowercase()
            .contains("active")
    );

    // Support opens it from the console, with a banner saying so.
    sign_in(&t, &b, "root@example.com").await;
    b.goto(&t.url("/admin")).await;
    b.submit("#support-access a.btn").await;
    b.wait_for_path(|p| p.starts_with("/o/acme")).await;
    assert!(b.text(".preview-banner").await.contains("support access"));
    b.goto(&t.url("/o/acme/contacts")).await;
    b.screenshots("support-session").await;

    // The owner sees each page support opened, and ends it.
    sign_in(&t, &b, "owner@example.com").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url("/o/acme/settings/audit?action=support."))
        .await;
    let log = b.text("#audit").await;
    assert!(
        log.contains("support.accessed") && log.contains("/o/acme/contacts"),
        "{log}"
    );
    b.goto(&t.url("/o/acme/settings/support")).await;
    b.eval("window.confirm = () => true; return null").await;
    b.submit("#support-grants form[action$='/revoke'] button")
        .await;
    assert!(b.text("[role=status]").await.contains("Revoked"));
    b.close().await;
}

#[tokio::test]
async fn an_owner_sets_up_single_sign_on_and_people_sign_in_through_the_provider() {
    let test = "an_owner_sets_up_single_sign_on_and_people_sign_in_through_the_provider";
    if !enabled(test) {
        return;
    }
    let Some(provider) = std::env::var("RAPPORT_TEST_OIDC_URL")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        crate::support::skip(
            test,
            "RAPPORT_TEST_OIDC_URL is not set (no OpenID Connect provider)",
        );
        return;
    };
    let provider = provider.trim_end_matches('/').to_owned();
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_SSO_ALLOW_PRIVATE", "true".into())],
        ..Default::default()
    })
    .await;
    let b = Browser::start(1280, 900).await;
    owner_signed_in(&t, &b).await;

    // Settings → Single sign-on: a wrong issuer is refused next to its field, then saved.
    b.goto(&t.url("/o/acme/settings/single-sign-on")).await;
    assert!(b.text("#redirect-uri").await.contains("/sso/callback/"));
    b.fill("#issuer", "http://127.0.0.1:9/").await;
    b.fill("#client_id", "rapport-acme").await;
    b.fill("#client_secret", "very-secret").await;
    b.submit("#sso-form button[type=submit]").await;
    assert!(b.text("#issuer-error").await.contains("discovery document"));
    b.fill("#issuer", &provider).await;
    b.fill("#client_secret", "very-secret").await;
    b.fill("#label", "Sign in with Acme ID").await;
    b.fill("#allowed_domains", "acme.test").await;
    b.click("input[name=auto_join]").await;
    b.eval("document.querySelector('#default_role').value = 'viewer'; return null")
        .await;
    b.submit("#sso-form button[type=submit]").await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("Single sign-on saved")
    );
    assert_eq!(
        b.eval("return document.querySelector('#client_secret').value")
            .await,
        ""
    );
    b.screenshots("settings-single-sign-on").await;

    // Someone new signs in from the organization's sign-in page.
    let claims = reqwest::Client::new()
        .put(format!("{provider}/users/nora-b"))
        .json(&serde_json::json!({"email": "nora@acme.test", "email_verified": true, "name": "Nora Quinn"}))
        .send()
        .await
        .expect("the provider answers");
    assert!(claims.status().is_success());
    b.forget_cookies().await;
    b.goto(&t.url("/o/acme/login")).await;
    assert_eq!(b.text("#sso-button").await, "Sign in with Acme ID");
    b.screenshots("sign-in-single-sign-on").await;
    b.submit("#sso-button").await;
    assert!(
        b.eval("return location.href")
            .await
            .as_str()
            .unwrap_or("")
            .starts_with(&provider)
    );
    b.fill("input[name=sub]", "nora-b").await;
    b.submit("button[type=submit]:not([name])").await;
    b.wait_for_path(|p| p.starts_with("/o/acme")).await;
    b.goto(&t.url("/o/acme/profile")).await;
    assert!(b.text("#single-sign-on").await.contains("single sign-on"));
    assert!(
        !b.exists("form[action$='/profile/password']").await,
        "no password form"
    );
    b.screenshots("profile-single-sign-on").await;

    // An address outside the organization's domains is refused, in words.
    let claims = reqwest::Client::new()
        .put(format!("{provider}/users/eve-b"))
        .json(&serde_json::json!({"email": "eve@elsewhere.test", "email_verified": true}))
        .send()
        .await
        .expect("the provider answers");
    assert!(claims.status().is_success());
    b.forget_cookies().await;
    b.goto(&t.url("/login/sso")).await;
    b.fill("#email", "someone@nowhere.test").await;
    b.submit("form[action='/login/sso'] button").await;
    assert!(b.text("#email-error").await.contains("No organization"));
    b.fill("#email", "eve@acme.test").await;
    b.submit("form[action='/login/sso'] button").await;
    assert_eq!(b.text("#sso-choices a").await, "Continue to Acme");
    b.screenshots("sign-in-single-sign-on-choice").await;
    b.submit("#sso-choices a").await;
    assert!(
        b.eval("return location.href")
            .await
            .as_str()
            .unwrap_or("")
            .starts_with(&provider)
    );
    assert!(
        b.eval("return location.href")
            .await
            .as_str()
            .unwrap_or("")
            .starts_with(&provider)
    );
    b.fill("input[name=sub]", "eve-b").await;
    b.submit("button[type=submit]:not([name])").await;
    assert!(
        b.text("[role=alert]")
            .await
            .contains("signs in only addresses at acme.test")
    );
    b.screenshots("sign-in-single-sign-on-refused").await;

    // Someone signed in with a password is asked before a sign-in through the provider
    // replaces their session.
    sign_in(&t, &b, "owner@example.com").await;
    b.goto(&t.url("/sso/start?organization=acme")).await;
    assert!(
        b.text("#sso-confirm")
            .await
            .contains("Stay signed in as owner@example.com")
    );
    b.screenshots("sign-in-single-sign-on-confirm").await;
    b.close().await;
}
