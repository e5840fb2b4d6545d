//! Two-factor authentication: set-up, sign-in with codes, recovery codes, remembered browsers,
//! throttling, turning it off, and organizations that require it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Account, PASSWORD, TestApp, totp};

/// Sets up and turns on two-factor for `who`; answers the secret and the recovery codes.
async fn turn_on(t: &TestApp, who: &Account) -> (String, Vec<String>) {
    totp::settle().await;
    let setup = t
        .post(
            "/api/v1/auth/two-factor/setup",
            Some(&who.access),
            json!({}),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.text);
    let secret = setup.body["secret"].as_str().expect("secret").to_owned();
    let enabled = t
        .post(
            "/api/v1/auth/two-factor/enable",
            Some(&who.access),
            json!({"code": totp::code(&secret, 0), "password": PASSWORD}),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let codes: Vec<String> = enabled.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    (secret, codes)
}

async fn login(t: &TestApp, email: &str, code: Option<&str>) -> crate::support::Resp {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(code) = code {
        body["two_factor_code"] = json!(code);
    }
    t.post("/api/v1/auth/login", None, body).await
}

#[tokio::test]
async fn two_factor_is_set_up_with_an_authenticator_and_asked_at_every_sign_in() {
    let t = TestApp::spawn().await;
    let ana = t.register("ana@example.com", Some("Harbour")).await;
    let status = t.get("/api/v1/auth/two-factor", &ana.access).await;
    assert_eq!(status.body["enabled"], false, "{}", status.text);

    // Set-up: a secret and the address a QR code carries; nothing changes until confirmed.
    totp::settle().await;
    let setup = t
        .post(
            "/api/v1/auth/two-factor/setup",
            Some(&ana.access),
            json!({}),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.text);
    let secret = setup.body["secret"].as_str().expect("secret").to_owned();
    let uri = setup.body["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/Rapport%3Aana%40example.com?secret=")
            && uri.contains(&secret),
        "{uri}"
    );
    assert_eq!(
        login(&t, "ana@example.com", None).await.status,
        StatusCode::OK
    );
    let wrong = t
        .post(
            "/api/v1/auth/two-factor/enable",
            Some(&ana.access),
            json!({"code": "000000", "password": PASSWORD}),
        )
        .await;
    wrong.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(wrong.body["errors"][0]["field"], "code");
    let enabled = t
        .post(
            "/api/v1/auth/two-factor/enable",
            Some(&ana.access),
            json!({"code": totp::code(&secret, 0), "password": PASSWORD}),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let codes: Vec<String> = enabled.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let status = t.get("/api/v1/auth/two-factor", &ana.access).await;
    assert_eq!(status.body["enabled"], true);
    assert_eq!(status.body["recovery_codes_left"], 10);
    // Setting up again is refused while it is on.
    t.post(
        "/api/v1/auth/two-factor/setup",
        Some(&ana.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "two_factor_enabled");

    // The password alone no longer signs in, for the API nor for a browser.
    login(&t, "ana@example.com", None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "two_factor_required");
    t.post(
        "/api/v1/auth/session",
        None,
        json!({"email": "ana@example.com", "password": PASSWORD}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "two_factor_required");
    // A wrong password is still just a wrong password (the second factor is never hinted at).
    t.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "ana@example.com", "password": "not-the-password", "two_factor_code": "123456"}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    login(&t, "ana@example.com", Some("123456"))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    // The code that turned it on is spent; the next step's is good, once.
    login(&t, "ana@example.com", Some(&totp::code(&secret, 0)))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    let next = totp::code(&secret, 1);
    let ok = login(&t, "ana@example.com", Some(&next)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    login(&t, "ana@example.com", Some(&next))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    // A recovery code works once, however it is typed.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let ok = login(&t, "ana@example.com", Some(&typed)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    login(&t, "ana@example.com", Some(&codes[0]))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    let status = t.get("/api/v1/auth/two-factor", &ana.access).await;
    assert_eq!(status.body["recovery_codes_left"], 9);

    // New recovery codes need the password; the old ones stop working.
    t.post(
        "/api/v1/auth/two-factor/recovery-codes",
        Some(&ana.access),
        json!({"password": "wrong-password-here"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fresh = t
        .post(
            "/api/v1/auth/two-factor/recovery-codes",
            Some(&ana.access),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
    login(&t, "ana@example.com", Some(&codes[1]))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    let new_code = fresh.body["recovery_codes"][0].as_str().expect("code");
    assert_eq!(
        login(&t, "ana@example.com", Some(new_code)).await.status,
        StatusCode::OK
    );

    // Turning it off needs the password; then the password alone signs in again.
    t.post(
        "/api/v1/auth/two-factor/disable",
        Some(&ana.access),
        json!({"password": "wrong-password-here"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let off = t
        .post(
            "/api/v1/auth/two-factor/disable",
            Some(&ana.access),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(off.status, StatusCode::NO_CONTENT, "{}", off.text);
    assert_eq!(
        login(&t, "ana@example.com", None).await.status,
        StatusCode::OK
    );

    // Every step is in the audit log.
    let mut tx = t.app.db.platform_read().await.expect("tx");
    let entries = rapport_store::audit::list_for_actor_email(&mut tx, "ana@example.com", 100)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for wanted in [
        "auth.two_factor_enabled",
        "auth.two_factor_failed",
        "auth.two_factor_passed",
        "auth.recovery_codes_replaced",
        "auth.two_factor_disabled",
    ] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
}

#[tokio::test]
async fn guessing_codes_is_throttled_even_with_the_right_password() {
    let t = TestApp::spawn().await;
    let ana = t.register("ana@example.com", Some("Harbour")).await;
    let (secret, _) = turn_on(&t, &ana).await;
    for guess in ["111111", "222222", "333333", "444444", "555555"] {
        login(&t, "ana@example.com", Some(guess))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    }
    // The right password does not reset the count: even the right code waits now.
    let r = login(&t, "ana@example.com", Some(&totp::code(&secret, 1))).await;
    r.assert_problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn an_organization_that_requires_two_factor_admits_only_members_who_use_it() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let bob = t.member(&owner, "bob@example.com", "member").await;
    let org_path = format!("/api/v1/organizations/{}", owner.org());
    let key = t
        .post(
            &format!("{org_path}/api-keys"),
            Some(&owner.access),
            json!({"name": "Sync", "role": "viewer"}),
        )
        .await;
    let secret_key = key.body["secret"].as_str().expect("secret").to_owned();

    // Nobody requires of others what they do not use themselves.
    t.call(
        Method::PATCH,
        &org_path,
        Some(&owner.access),
        Some(json!({"two_factor_required": true})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "two_factor_not_enabled");
    turn_on(&t, &owner).await;
    let r = t
        .call(
            Method::PATCH,
            &org_path,
            Some(&owner.access),
            Some(json!({"two_factor_required": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["two_factor_required"], true);

    // Bob, without it, is turned away from the organization, but not from his own account.
    t.org_call(&bob, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "two_factor_enrollment_required");
    assert_eq!(
        t.get("/api/v1/auth/me", &bob.access).await.status,
        StatusCode::OK
    );
    // Keys are not people: the key still works.
    let by_key = t
        .call_with(
            Method::GET,
            "/api/v1/contacts",
            Some(&secret_key),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    assert_eq!(by_key.status, StatusCode::OK, "{}", by_key.text);
    // In a browser, the pages send him to set it up, and say why.
    let browser = t.browser_session("bob@example.com").await;
    let page = t
        .client
        .get(t.url("/o/acme/contacts"))
        .header("cookie", &browser.0)
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let to = page.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.starts_with("/profile/security?required=acme"), "{to}");
    let security = t
        .client
        .get(t.url(&to))
        .header("cookie", &browser.0)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        security.contains("Acme requires two-factor authentication"),
        "{security}"
    );

    // Once he turns it on he is in, and cannot turn it off while Acme requires it.
    turn_on(&t, &bob).await;
    let r = t
        .org_call(&bob, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    t.post(
        "/api/v1/auth/two-factor/disable",
        Some(&bob.access),
        json!({"password": PASSWORD}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "two_factor_required_by_organization");
}

/// Posts a sign-in form as a browser without a session would.
async fn post_form(
    t: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    let mut req = t
        .client
        .post(t.url(path))
        .header("origin", &t.base)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.body(body.finish()).send().await.expect("sent")
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_sign_in_page_asks_for_the_code_and_remembers_the_browser_when_asked() {
    let t = TestApp::spawn().await;
    let ana = t.register("ana@example.com", Some("Harbour")).await;
    let (secret, _) = turn_on(&t, &ana).await;
    let credentials = [
        ("email", "ana@example.com"),
        ("password", PASSWORD),
        ("next", "/"),
    ];
    let first = post_form(&t, "/login", None, &credentials).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        set_cookie(&first, "rapport_session").is_none(),
        "no session before the code"
    );
    let html = first.text().await.expect("text");
    assert!(html.contains("Two-factor authentication"), "{html}");
    let ticket = html
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a ticket")
        .to_owned();
    // A wrong code: the page again, the error next to the field.
    let wrong = post_form(
        &t,
        "/login/two-factor",
        None,
        &[("ticket", &ticket), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let html = wrong.text().await.expect("text");
    assert!(html.contains("id=\"code-error\""), "{html}");
    // A forged ticket goes back to the password.
    let forged = post_form(
        &t,
        "/login/two-factor",
        None,
        &[
            ("ticket", "bm90LWEtdGlja2V0"),
            ("code", &totp::code(&secret, 1)),
        ],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // The right code, remembering this browser.
    let done = post_form(
        &t,
        "/login/two-factor",
        None,
        &[
            ("ticket", &ticket),
            ("code", &totp::code(&secret, 1)),
            ("remember", "1"),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&done, "rapport_session").is_some());
    let device = set_cookie(&done, "rapport_device").expect("the browser is remembered");
    // From this browser the password is enough; from another it is not.
    let again = post_form(&t, "/login", Some(&device), &credentials).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&again, "rapport_session").is_some());
    let elsewhere = post_form(
        &t,
        "/login",
        Some("rapport_device=someone-elses"),
        &credentials,
    )
    .await;
    assert_eq!(elsewhere.status(), StatusCode::OK, "asked for the code");
    // Turning two-factor off forgets remembered browsers: on again, the code is asked.
    let off = t
        .post(
            "/api/v1/auth/two-factor/disable",
            Some(&ana.access),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(off.status, StatusCode::NO_CONTENT);
    turn_on(&t, &ana).await;
    let after = post_form(&t, "/login", Some(&device), &credentials).await;
    assert_eq!(after.status(), StatusCode::OK, "asked for the code again");
}

#[tokio::test]
async fn the_command_line_turns_two_factor_off_for_someone_locked_out() {
    let t = TestApp::spawn().await;
    let ana = t.register("ana@example.com", Some("Harbour")).await;
    turn_on(&t, &ana).await;
    login(&t, "ana@example.com", None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "two_factor_required");
    t.app
        .cli_reset_two_factor("ana@example.com")
        .await
        .expect("reset");
    // Their sign-ins ended; the password alone signs in again.
    t.get("/api/v1/auth/me", &ana.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let again = login(&t, "ana@example.com", None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let token = again.body["access_token"].as_str().expect("token");
    let status = t.get("/api/v1/auth/two-factor", token).await;
    assert_eq!(status.body["enabled"], false);
    assert_eq!(status.body["recovery_codes_left"], 0);
}

#[tokio::test]
async fn joining_an_organization_asks_an_existing_account_for_its_second_factor() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let ana = t.register("ana@example.com", Some("Harbour")).await;
    let (secret, _) = turn_on(&t, &ana).await;
    // An existing account is added at once, so the invitation is made as one to an address
    // without an account would be, and its token is the one the email would carry.
    let token = "a-known-invitation-token-for-this-test-0123456789".to_owned();
    let org: rapport_domain::OrganizationId = owner.org().parse().expect("org");
    let mut tx = t.app.db.tenant(org).await.expect("tx");
    rapport_store::invitations::insert(
        &mut tx,
        rapport_store::invitations::NewInvitation {
            email: "ana@example.com",
            role: rapport_domain::Role::Member,
            role_id: None,
            token_hash: t.app.keys.hash_token(&token),
            invited_by: rapport_domain::UserId(owner.user_id.parse().expect("id")),
            expires_at: chrono::Utc::now() + chrono::Duration::days(1),
        },
    )
    .await
    .expect("invitation");
    tx.commit().await.expect("commit");
    let accept = |code: Option<String>| {
        let t = &t;
        let token = token.clone();
        async move {
            let mut body = json!({"token": token, "password": PASSWORD});
            if let Some(code) = code {
                body["two_factor_code"] = json!(code);
            }
            t.post("/api/v1/auth/invitations/accept", None, body).await
        }
    };
    accept(None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "two_factor_required");
    accept(Some("000000".into()))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_two_factor_code");
    let joined = accept(Some(totp::code(&secret, 1))).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert_eq!(joined.body["organization"]["slug"], "acme");
}
