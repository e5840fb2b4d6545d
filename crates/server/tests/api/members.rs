//! Members, roles, invitations and the last-owner rule.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Options, PASSWORD, SmtpSink, TestApp};

#[tokio::test]
async fn adding_an_existing_user_makes_a_member_at_once() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.register("bob@example.com", None).await;
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "BOB@example.com", "role": "manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["email"], "bob@example.com");
    assert_eq!(r.body["role"], "manager");
    let list = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let emails: Vec<&str> = list
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(emails, ["owner@example.com", "bob@example.com"]);
    for field in ["id", "user_id", "email", "name", "role", "created_at"] {
        assert!(!list.body[0][field].is_null(), "{field}");
    }
    let again = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "bob@example.com", "role": "viewer"}),
        )
        .await;
    again.assert_problem(StatusCode::CONFLICT, "already_member");
}

#[tokio::test]
async fn an_unknown_email_is_invited_by_email_and_the_link_works_once() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme Boats")).await;
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "new@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["invitation"]["email"], "new@example.com");
    assert_eq!(r.body["invitation"]["role"], "member");
    assert!(r.body["invitation"]["expires_at"].is_string());

    let mail = smtp.message_to("new@example.com").await;
    assert!(mail.body.contains("Acme Boats"));
    let link = mail.link_containing("/invite/").expect("invitation link");
    assert!(link.starts_with(&t.base));
    let token = link.rsplit('/').next().expect("token");

    let preview = t
        .call(
            Method::GET,
            &format!("/api/v1/auth/invitations/{token}"),
            None,
            None,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.body["organization_name"], "Acme Boats");
    assert_eq!(preview.body["account_exists"], false);

    let missing_name = t
        .post(
            "/api/v1/auth/invitations/accept",
            None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(missing_name.body["errors"][0]["field"], "name");
    let accepted = t
        .post(
            "/api/v1/auth/invitations/accept",
            None,
            json!({"token": token, "name": "Newcomer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(accepted.body["organization"]["role"], "member");
    let access = accepted.body["access_token"].as_str().expect("signed in");
    let mine = t.get("/api/v1/organizations/me", access).await;
    assert_eq!(mine.body[0]["id"], owner.org());

    let twice = t
        .post(
            "/api/v1/auth/invitations/accept",
            None,
            json!({"token": token, "name": "Again", "password": PASSWORD}),
        )
        .await;
    twice.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let audit = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=member.",
            Some(&owner.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"member.invited") && actions.contains(&"member.invitation_accepted"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn revoked_and_resent_invitations() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let path = format!("/api/v1/organizations/{}/members", owner.org());
    let r = t
        .post(
            &path,
            Some(&owner.access),
            json!({"email": "new@example.com", "role": "viewer"}),
        )
        .await;
    let id = r.body["invitation"]["id"].as_str().expect("id").to_owned();
    let first = smtp.message_to("new@example.com").await;
    let first_token = first
        .link_containing("/invite/")
        .expect("link")
        .rsplit('/')
        .next()
        .expect("t")
        .to_owned();

    let resent = t
        .post(
            &format!(
                "/api/v1/organizations/{}/invitations/{id}/resend",
                owner.org()
            ),
            Some(&owner.access),
            json!({}),
        )
        .await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text);
    let new_id = resent.body["invitation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(smtp.count_to("new@example.com"), 2);
    // The first link no longer works.
    let old = t
        .call(
            Method::GET,
            &format!("/api/v1/auth/invitations/{first_token}"),
            None,
            None,
        )
        .await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY);

    let open = t
        .get(
            &format!("/api/v1/organizations/{}/invitations", owner.org()),
            &owner.access,
        )
        .await;
    assert_eq!(open.body.as_array().map(Vec::len), Some(1));
    let del = t
        .call(
            Method::DELETE,
            &format!("/api/v1/organizations/{}/invitations/{new_id}", owner.org()),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let open = t
        .get(
            &format!("/api/v1/organizations/{}/invitations", owner.org()),
            &owner.access,
        )
        .await;
    assert_eq!(open.body, json!([]));
}

#[tokio::test]
async fn last_owner_cannot_be_demoted_or_removed() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let owner_member = members.body[0]["id"].as_str().expect("id").to_owned();
    let path = format!(
        "/api/v1/organizations/{}/members/{owner_member}",
        owner.org()
    );
    let demote = t
        .call(
            Method::PATCH,
            &path,
            Some(&owner.access),
            Some(json!({"role": "admin"})),
        )
        .await;
    demote.assert_problem(StatusCode::CONFLICT, "last_owner");
    let remove = t
        .call(Method::DELETE, &path, Some(&owner.access), None)
        .await;
    remove.assert_problem(StatusCode::CONFLICT, "last_owner");

    // With a second owner, the first may step down.
    let second = t.member(&owner, "second@example.com", "owner").await;
    let demote = t
        .call(
            Method::PATCH,
            &path,
            Some(&second.access),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(demote.status, StatusCode::OK, "{}", demote.text);
    assert_eq!(demote.body["role"], "admin");
}

#[tokio::test]
async fn only_owners_and_admins_manage_members_and_only_owners_make_owners() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "admin@example.com", "admin").await;
    let manager = t.member(&owner, "manager@example.com", "manager").await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let path = format!("/api/v1/organizations/{}/members", owner.org());

    for who in [&manager, &viewer] {
        let r = t
            .post(
                &path,
                Some(&who.access),
                json!({"email": "x@example.com", "role": "member"}),
            )
            .await;
        r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        // Everyone in the organization may see who is in it.
        assert_eq!(t.get(&path, &who.access).await.status, StatusCode::OK);
    }
    let r = t
        .post(
            &path,
            Some(&admin.access),
            json!({"email": "owner2@example.com", "role": "owner"}),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .post(
            &path,
            Some(&admin.access),
            json!({"email": "newadmin@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    // An admin cannot demote an owner.
    let list = t.get(&path, &owner.access).await;
    let owner_id = list
        .body
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["role"] == "owner")
        .expect("owner")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .call(
            Method::PATCH,
            &format!("{path}/{owner_id}"),
            Some(&admin.access),
            Some(json!({"role": "viewer"})),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let bad = t
        .call(
            Method::PATCH,
            &format!("{path}/{owner_id}"),
            Some(&owner.access),
            Some(json!({"role": "emperor"})),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.body["errors"][0]["field"], "role");

    let denied = t
        .call_with(
            Method::GET,
            "/api/v1/audit?action=permission.denied",
            Some(&owner.access),
            None,
            &[("x-organization-id", owner.org())],
        )
        .await;
    assert!(
        denied.body["items"].as_array().expect("items").len() >= 3,
        "{}",
        denied.text
    );
}

#[tokio::test]
async fn removed_members_lose_access() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let bob = t.member(&owner, "bob@example.com", "member").await;
    let path = format!("/api/v1/organizations/{}/members", owner.org());
    let list = t.get(&path, &owner.access).await;
    let bob_member = list
        .body
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["email"] == "bob@example.com")
        .expect("bob")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .call(
            Method::DELETE,
            &format!("{path}/{bob_member}"),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    t.get(&path, &bob.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let again = t
        .call(
            Method::DELETE,
            &format!("{path}/{bob_member}"),
            Some(&owner.access),
            None,
        )
        .await;
    again.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn members_show_when_each_person_last_signed_in() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "dana@example.com", "member").await;
    let listed = |who| {
        let t = &t;
        async move {
            let r = t
                .org_call(
                    who,
                    Method::GET,
                    &format!("/api/v1/organizations/{}/members", who.org()),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body
                .as_array()
                .expect("members")
                .iter()
                .find(|m| m["email"] == "dana@example.com")
                .expect("dana")
                .clone()
        }
    };
    assert_eq!(
        listed(&owner).await["last_sign_in_at"],
        serde_json::Value::Null
    );
    let before = chrono::Utc::now();
    let signed = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "dana@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let at: chrono::DateTime<chrono::Utc> = listed(&owner).await["last_sign_in_at"]
        .as_str()
        .expect("a time")
        .parse()
        .expect("RFC 3339");
    assert!(at >= before - chrono::Duration::seconds(1), "{at} {before}");
    // A wrong password is no sign-in.
    t.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "dana@example.com", "password": "not-the-password-at-all"}),
    )
    .await;
    let again: chrono::DateTime<chrono::Utc> = listed(&owner).await["last_sign_in_at"]
        .as_str()
        .expect("a time")
        .parse()
        .expect("RFC 3339");
    assert_eq!(again, at);
    // The members page says it.
    let session = t.browser_session("owner@example.com").await;
    let page = t
        .client
        .get(t.url("/o/acme/settings/members"))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("dana@example.com · Last signed in just now"),
        "{page}"
    );
}

/// The membership id of `email` in the owner's organization, as the members list shows it.
async fn membership_of(t: &TestApp, owner: &crate::support::Account, email: &str) -> Value {
    let r = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == email)
        .unwrap_or_else(|| panic!("{email} listed"))
        .clone()
}

#[tokio::test]
async fn deactivated_members_keep_their_records_but_lose_every_way_in_until_reactivated() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let admin = t.member(&owner, "dana@example.com", "admin").await;
    let bob = t.member(&owner, "bob@example.com", "member").await;
    let members = format!("/api/v1/organizations/{}/members", owner.org());
    // Bob owns a contact and has a browser session; Dana made an API key.
    let contact = t
        .create(&bob, "/api/v1/contacts", json!({"name": "Ana Costa"}))
        .await;
    let contact_path = format!("/api/v1/contacts/{}", contact["id"].as_str().expect("id"));
    let bob_browser = t.browser_session("bob@example.com").await;
    let key = t
        .post(
            &format!("/api/v1/organizations/{}/api-keys", owner.org()),
            Some(&admin.access),
            json!({"name": "Sync", "role": "viewer"}),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
    let secret = key.body["secret"].as_str().expect("secret").to_owned();
    let in_acme = [("x-organization-id", owner.org())];
    let key_call = |secret: String| {
        let t = &t;
        async move {
            t.call_with(
                Method::GET,
                "/api/v1/contacts",
                Some(&secret),
                None,
                &in_acme,
            )
            .await
        }
    };
    assert_eq!(key_call(secret.clone()).await.status, StatusCode::OK);

    let bob_id = membership_of(&t, &owner, "bob@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let dana_id = membership_of(&t, &owner, "dana@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Nobody deactivates themselves; an admin does not touch an owner; a member none at all.
    let owner_id = membership_of(&t, &owner, "owner@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.post(
        &format!("{members}/{owner_id}/deactivate"),
        Some(&owner.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "self_deactivation");
    t.post(
        &format!("{members}/{owner_id}/deactivate"),
        Some(&admin.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.post(
        &format!("{members}/{dana_id}/deactivate"),
        Some(&bob.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // The admin deactivates Bob; the owner deactivates Dana.
    let r = t
        .post(
            &format!("{members}/{bob_id}/deactivate"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["role"], "member");
    assert!(r.body["deactivated_at"].is_string(), "{}", r.body);
    let again = t
        .post(
            &format!("{members}/{bob_id}/deactivate"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["deactivated_at"], r.body["deactivated_at"]);
    let r = t
        .post(
            &format!("{members}/{dana_id}/deactivate"),
            Some(&owner.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Every way in is closed. Acme was Bob's only organization, so he is signed out: his access
    // token, his browser session and his refresh token are refused; so is Dana's key.
    t.call_with(
        Method::GET,
        "/api/v1/contacts",
        Some(&bob.access),
        None,
        &in_acme,
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(
        key_call(secret.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = t
        .client
        .get(t.url("/o/acme/contacts"))
        .header("cookie", &bob_browser.0)
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "signed out");
    assert!(
        page.headers()["location"]
            .to_str()
            .expect("location")
            .contains("/login"),
        "{:?}",
        page.headers()
    );
    t.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": bob.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Signing in again works (the account is theirs) but opens no organization.
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let bob_again = login.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mine = t.get("/api/v1/organizations/me", &bob_again).await;
    assert_eq!(mine.body, json!([]), "{}", mine.text);

    // Bob's records stay his, and are found by owner; nobody hands him new ones.
    let kept = t.org_call(&owner, Method::GET, &contact_path, None).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(kept.body["owner_id"].as_str(), Some(bob.user_id.as_str()));
    let by_owner = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/contacts?owner_id={}", bob.user_id),
            None,
        )
        .await;
    assert_eq!(by_owner.status, StatusCode::OK, "{}", by_owner.text);
    assert_eq!(by_owner.body["total"], 1, "{}", by_owner.text);
    t.org_call(
        &owner,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "New", "owner_id": bob.user_id})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let listed = membership_of(&t, &owner, "bob@example.com").await;
    assert_eq!(listed["active"], false);

    // The owner is now the only active owner-level person: stepping down is refused.
    let audit = t
        .org_call(&owner, Method::GET, "/api/v1/audit?action=member.", None)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "member.deactivated")
            .count(),
        2,
        "{actions:?}"
    );

    // Reactivated, Bob comes back with his role and reaches his contact.
    let r = t
        .post(
            &format!("{members}/{bob_id}/reactivate"),
            Some(&owner.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["role"], "member");
    assert_eq!(r.body["deactivated_at"], Value::Null);
    let back = t
        .call_with(Method::GET, &contact_path, Some(&bob_again), None, &in_acme)
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    // A key does not come back with its maker's reactivation unless the maker does: Dana is
    // still out, so is her key.
    assert_eq!(key_call(secret).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deactivation_in_one_organization_leaves_the_others_and_the_last_active_owner_stays() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    // Carol runs her own organization and also works in Acme, as a second owner.
    let mut carol = t.register("carol@example.com", Some("Carol Co")).await;
    let carol_co = carol.org().to_owned();
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "carol@example.com", "role": "owner"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let carol_id = r.body["id"].as_str().expect("id").to_owned();
    let members = format!("/api/v1/organizations/{}/members", owner.org());
    let r = t
        .post(
            &format!("{members}/{carol_id}/deactivate"),
            Some(&owner.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Out of Acme, still at home with the same token.
    carol.org_id = owner.org_id.clone();
    t.org_call(&carol, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    carol.org_id = Some(carol_co);
    let home = t
        .org_call(&carol, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text);
    let mine = t.get("/api/v1/organizations/me", &carol.access).await;
    let names: Vec<&str> = mine
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["Carol Co"]);
    // A deactivated owner does not count: the last active owner cannot step down.
    let owner_id = membership_of(&t, &owner, "owner@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.call(
        Method::PATCH,
        &format!("{members}/{owner_id}"),
        Some(&owner.access),
        Some(json!({"role": "admin"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "last_owner");
}

#[tokio::test]
async fn the_members_page_deactivates_and_reactivates() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "bob@example.com", "member").await;
    let bob_id = membership_of(&t, &owner, "bob@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let session = t.browser_session("owner@example.com").await;
    let r = t
        .form(
            &session,
            &format!("/o/acme/settings/members/{bob_id}/deactivate"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = t
        .client
        .get(t.url("/o/acme/settings/members?done=deactivated"))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    let deactivated = page
        .split("id=\"deactivated-members\"")
        .nth(1)
        .expect("a deactivated section");
    assert!(deactivated.contains("bob@example.com"), "{page}");
    assert!(deactivated.contains(&format!("/settings/members/{bob_id}/reactivate")));
    assert!(page.contains("Member deactivated."), "{page}");
    // Bob is no longer offered as an owner of new records.
    let form = t
        .client
        .get(t.url("/o/acme/contacts/new"))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(!form.contains(">bob<"), "{form}");
    // Oneself: refused next to the list.
    let own_id = membership_of(&t, &owner, "owner@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .form(
            &session,
            &format!("/o/acme/settings/members/{own_id}/deactivate"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.text.contains("You cannot deactivate yourself"),
        "{}",
        r.text
    );
    let r = t
        .form(
            &session,
            &format!("/o/acme/settings/members/{bob_id}/reactivate"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        membership_of(&t, &owner, "bob@example.com").await["active"],
        true
    );
}

#[tokio::test]
async fn records_naming_a_deactivated_member_still_save() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let bob = t.member(&owner, "bob@example.com", "member").await;
    let field = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/contact/fields",
            Some(json!({"key": "account_manager", "label": "Account manager", "type": "member"})),
        )
        .await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.text);
    let contact = t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Ana Costa", "custom": {"account_manager": bob.user_id}}),
        )
        .await;
    let path = format!("/api/v1/contacts/{}", contact["id"].as_str().expect("id"));
    let bob_id = membership_of(&t, &owner, "bob@example.com").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .post(
            &format!(
                "/api/v1/organizations/{}/members/{bob_id}/deactivate",
                owner.org()
            ),
            Some(&owner.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A form sends back what it shows: the same member, with another change.
    let saved = t
        .org_call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"name": "Ana Costa Silva", "custom": {"account_manager": bob.user_id}})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(saved.body["custom"]["account_manager"], json!(bob.user_id));
}

#[tokio::test]
async fn accepting_an_invitation_with_an_existing_account_counts_wrong_passwords_like_a_sign_in() {
    let smtp = SmtpSink::start().await;
    let t = TestApp::spawn_with(Options {
        smtp: Some(smtp.clone()),
        ..Default::default()
    })
    .await;
    let owner = t.register("owner@example.com", Some("Acme Boats")).await;
    let r = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "nia@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let mail = smtp.message_to("nia@example.com").await;
    let link = mail.link_containing("/invite/").expect("invitation link");
    let token = link.rsplit('/').next().expect("token").to_owned();
    // Meanwhile the person made an account of their own.
    t.register("nia@example.com", None).await;

    for _ in 0..5 {
        let wrong = t
            .post(
                "/api/v1/auth/invitations/accept",
                None,
                json!({"token": token, "password": "not the password"}),
            )
            .await;
        wrong.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(wrong.body["errors"][0]["field"], "password");
    }
    // The sixth guess waits, as a sixth wrong sign-in would; the right password too, for now.
    let paused = t
        .post(
            "/api/v1/auth/invitations/accept",
            None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        paused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        paused.text
    );
    assert!(paused.header("retry-after").is_some());
}
