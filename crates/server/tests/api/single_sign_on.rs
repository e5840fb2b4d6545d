//! Single sign-on through a real OpenID Connect provider (`oidc-provider-mock`, which `.ci/run`
//! starts; `RAPPORT_TEST_OIDC_URL` names it): the browser's whole round trip (start, the
//! provider's sign-in form, the callback), who gets in and who is refused, and what a session
//! opened this way may reach.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Account, Options, TestApp, skip};

/// The provider of the test run.
struct Idp {
    base: String,
    http: reqwest::Client,
}

impl Idp {
    fn from_env(test: &str) -> Option<Idp> {
        let Some(base) = std::env::var("RAPPORT_TEST_OIDC_URL")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            skip(
                test,
                "RAPPORT_TEST_OIDC_URL is not set (no OpenID Connect provider)",
            );
            return None;
        };
        Some(Idp {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        })
    }

    /// What the provider says of `sub` from now on.
    async fn person(&self, sub: &str, claims: Value) {
        let r = self
            .http
            .put(format!("{}/users/{sub}", self.base))
            .json(&claims)
            .send()
            .await
            .expect("the provider answers");
        assert!(
            r.status().is_success(),
            "set claims of {sub}: {}",
            r.status()
        );
    }
}

/// The answer of the callback, as a browser gets it.
struct Back {
    status: StatusCode,
    location: Option<String>,
    /// `rapport_session=…`, when a session was opened.
    session: Option<String>,
    body: String,
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")) && pair.len() > name.len() + 1)
        .map(str::to_owned)
}

/// A browser signs in through the provider as `sub`, from `start` (a path of Rapport's).
/// `tamper` may change the callback address before the browser follows it.
async fn sign_in_as(
    t: &TestApp,
    idp: &Idp,
    start: &str,
    sub: &str,
    tamper: impl FnOnce(String) -> String,
) -> Back {
    let started = t.client.get(t.url(start)).send().await.expect("start");
    assert_eq!(started.status(), StatusCode::SEE_OTHER, "start {start}");
    let to_provider = started
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("sent to the provider")
        .to_owned();
    assert!(
        to_provider.starts_with(&format!("{}/oauth2/authorize?", idp.base)),
        "{to_provider}"
    );
    let state = set_cookie(&started, "rapport_sso").expect("the sign-in's state cookie");
    // The person signs in at the provider, which sends them back with a code.
    let signed = idp
        .http
        .post(&to_provider)
        .form(&[("sub", sub)])
        .send()
        .await
        .expect("provider");
    assert_eq!(signed.status(), StatusCode::FOUND, "the provider signs in");
    let back = signed
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("back to Rapport")
        .to_owned();
    assert!(back.starts_with(&t.url("/sso/callback/")), "{back}");
    let answer = t
        .client
        .get(tamper(back))
        .header("cookie", state)
        .send()
        .await
        .expect("callback");
    Back {
        status: answer.status(),
        location: answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        session: set_cookie(&answer, "rapport_session"),
        body: answer.text().await.unwrap_or_default(),
    }
}

async fn sign_in(t: &TestApp, idp: &Idp, start: &str, sub: &str) -> Back {
    sign_in_as(t, idp, start, sub, |u| u).await
}

/// A request with a browser's session cookie (and its CSRF token for changes).
async fn with_cookie(
    t: &TestApp,
    cookie: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    organization: Option<&str>,
) -> (StatusCode, Value) {
    let csrf = t
        .client
        .get(t.url("/api/v1/auth/session"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("session");
    let csrf: Value = csrf.json().await.unwrap_or(Value::Null);
    let mut request = t
        .client
        .request(method, t.url(path))
        .header("cookie", cookie)
        .header("origin", &t.base)
        .header("x-csrf-token", csrf["csrf_token"].as_str().unwrap_or(""));
    if let Some(org) = organization {
        request = request.header("x-organization-id", org);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.expect("sent");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn configure(t: &TestApp, owner: &Account, body: Value) -> crate::support::Resp {
    t.call(
        Method::PUT,
        &format!("/api/v1/organizations/{}/single-sign-on", owner.org()),
        Some(&owner.access),
        Some(body),
    )
    .await
}

fn slug_start() -> &'static str {
    "/sso/start?organization=acme"
}

async fn audit_actions(t: &TestApp, owner: &Account) -> Vec<String> {
    let r = t
        .org_call(owner, Method::GET, "/api/v1/audit?page_size=100", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn people_sign_in_through_the_provider_and_the_session_opens_that_organization_only() {
    let Some(idp) = Idp::from_env("single_sign_on::people_sign_in") else {
        return;
    };
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_SSO_ALLOW_PRIVATE", "true".into())],
        ..Default::default()
    })
    .await;
    let owner = t.register("olga@acme.test", Some("Acme")).await;
    // The owner also owns another organization, which the provider has no say over.
    let beta = t
        .post(
            "/api/v1/organizations",
            Some(&owner.access),
            json!({"name": "Beta"}),
        )
        .await;
    assert_eq!(beta.status, StatusCode::CREATED, "{}", beta.text);
    let beta_id = beta.body["id"].as_str().expect("id").to_owned();

    // Set up: Rapport reads the provider's discovery document, keeps the secret to itself.
    let saved = configure(
        &t,
        &owner,
        json!({
            "issuer": idp.base,
            "client_id": "rapport-acme",
            "client_secret": "very-secret",
            "label": "Sign in with Acme ID",
            "allowed_domains": ["acme.test"],
            "auto_join": true,
            "default_role": "viewer"
        }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(
        saved.body["redirect_uri"],
        t.url(&format!("/sso/callback/{}", owner.org()))
    );
    assert_eq!(saved.body["allowed_domains"], json!(["acme.test"]));
    assert_eq!(saved.body["enabled"], true);
    assert!(
        !saved.text.contains("very-secret"),
        "the secret never comes back"
    );

    // The organization's sign-in page offers the button.
    let login = t
        .client
        .get(t.url("/o/acme/login"))
        .send()
        .await
        .expect("login page");
    let html = login.text().await.expect("html");
    assert!(html.contains("Sign in with Acme ID"), "{html}");

    // A work email finds the organization from its domain.
    let found = t
        .client
        .post(t.url("/login/sso"))
        .header("origin", &t.base)
        .form(&[("email", "nora@acme.test"), ("next", "/")])
        .send()
        .await
        .expect("find");
    assert_eq!(found.status(), StatusCode::OK);
    let html = found.text().await.expect("html");
    assert!(
        html.contains(
            r#"href="/sso/start?organization=acme&#38;next=%2F&#38;email=nora%40acme.test">Continue to Acme</a>"#
        ),
        "{html}"
    );

    // A person new to Rapport joins with the default role, and lands in the organization.
    idp.person(
        "nora-1",
        json!({"email": "nora@acme.test", "email_verified": true, "name": "Nora Quinn"}),
    )
    .await;
    let nora = sign_in(&t, &idp, slug_start(), "nora-1").await;
    assert_eq!(nora.status, StatusCode::SEE_OTHER, "{}", nora.body);
    assert_eq!(nora.location.as_deref(), Some("/o/acme/"));
    let nora_cookie = nora.session.expect("a session");
    let (status, mine) = with_cookie(
        &t,
        &nora_cookie,
        Method::GET,
        "/api/v1/organizations/me",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine[0]["name"], "Acme");
    assert_eq!(mine[0]["role"], "viewer");
    let (_, me) = with_cookie(
        &t,
        &nora_cookie,
        Method::GET,
        "/api/v1/auth/session",
        None,
        None,
    )
    .await;
    assert_eq!(me["user"]["name"], "Nora Quinn");
    // Signing in again finds her by the provider's subject: the same account.
    let again = sign_in(&t, &idp, slug_start(), "nora-1").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let noras = members
        .body
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["email"] == "nora@acme.test")
        .count();
    assert_eq!(noras, 1, "one membership, one account");

    // Someone removed from the organization is signed out of it, and the provider alone does
    // not bring them back: their account now exists, and is not a member.
    idp.person(
        "rob-1",
        json!({"email": "rob@acme.test", "email_verified": true}),
    )
    .await;
    let rob = sign_in(&t, &idp, slug_start(), "rob-1").await;
    assert_eq!(rob.status, StatusCode::SEE_OTHER, "{}", rob.body);
    let rob_cookie = rob.session.expect("a session");
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let rob_id = members
        .body
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == "rob@acme.test")
        .and_then(|m| m["id"].as_str())
        .expect("rob joined")
        .to_owned();
    let removed = t
        .call(
            Method::DELETE,
            &format!("/api/v1/organizations/{}/members/{rob_id}", owner.org()),
            Some(&owner.access),
            None,
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.text);
    let (status, _) = with_cookie(
        &t,
        &rob_cookie,
        Method::GET,
        "/api/v1/organizations/me",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let again = sign_in(&t, &idp, slug_start(), "rob-1").await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
    assert!(
        again.body.contains("is not a member of Acme"),
        "{}",
        again.body
    );

    // The owner signs in through it too: linked to the account they have.
    idp.person(
        "olga-1",
        json!({"email": "olga@acme.test", "email_verified": true}),
    )
    .await;
    let olga = sign_in(&t, &idp, slug_start(), "olga-1").await;
    assert_eq!(olga.status, StatusCode::SEE_OTHER, "{}", olga.body);
    let olga_cookie = olga.session.expect("a session");
    // That session reaches Acme only: not Beta, though the account owns it ...
    let (status, mine) = with_cookie(
        &t,
        &olga_cookie,
        Method::GET,
        "/api/v1/organizations/me",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = mine
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["Acme"]);
    let (status, _) = with_cookie(
        &t,
        &olga_cookie,
        Method::GET,
        "/api/v1/contacts",
        None,
        Some(&beta_id),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = with_cookie(
        &t,
        &olga_cookie,
        Method::GET,
        "/api/v1/contacts",
        None,
        Some(owner.org()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // ... and changes nothing account-wide.
    let (status, problem) = with_cookie(
        &t,
        &olga_cookie,
        Method::POST,
        "/api/v1/auth/password",
        Some(json!({"current_password": crate::support::PASSWORD, "password": "another long passphrase 42"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "whole_account_required");
    let (status, problem) = with_cookie(
        &t,
        &olga_cookie,
        Method::POST,
        "/api/v1/auth/two-factor/setup",
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "whole_account_required");
    let (status, _) = with_cookie(
        &t,
        &olga_cookie,
        Method::POST,
        "/api/v1/organizations",
        Some(json!({"name": "Gamma"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The password sign-in still reaches both.
    let all = t.get("/api/v1/organizations/me", &owner.access).await;
    assert_eq!(all.body.as_array().expect("list").len(), 2);

    let actions = audit_actions(&t, &owner).await;
    assert!(actions.iter().any(|a| a == "sso.configured"), "{actions:?}");
    assert!(
        actions.iter().filter(|a| *a == "auth.sso_login").count() >= 3,
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "member.joined"), "{actions:?}");

    // Required: members enter only through it; owners keep their password; keys are not
    // affected.
    let mo = t.member(&owner, "mo@acme.test", "member").await;
    let mo_browser = t.browser_session("mo@acme.test").await;
    let required = configure(
        &t,
        &owner,
        json!({
            "issuer": idp.base,
            "client_id": "rapport-acme",
            "label": "Sign in with Acme ID",
            "allowed_domains": ["acme.test"],
            "auto_join": true,
            "default_role": "viewer",
            "required": true
        }),
    )
    .await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.text);
    assert_eq!(required.body["required"], true);
    t.org_call(&mo, Method::GET, "/api/v1/contacts", None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "single_sign_on_required");
    let r = t
        .org_call(&owner, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "owners keep their password");
    let (status, _) = with_cookie(
        &t,
        &nora_cookie,
        Method::GET,
        "/api/v1/contacts",
        None,
        Some(owner.org()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a sign-in through the provider enters"
    );
    // Pages send the member to the provider's sign-in, which asks before replacing the
    // browser's session; a link without the browser's own confirmation only asks.
    let page = t
        .client
        .get(t.url("/o/acme/deals"))
        .header("cookie", &mo_browser.0)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let to = page.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(to, "/sso/start?organization=acme&next=%2Fo%2Facme%2Fdeals");
    for start in [to.clone(), format!("{to}&confirm=00112233")] {
        let asked = t
            .client
            .get(t.url(&start))
            .header("cookie", &mo_browser.0)
            .send()
            .await
            .expect("start");
        assert_eq!(asked.status(), StatusCode::OK, "{start}");
        assert!(
            set_cookie(&asked, "rapport_sso").is_none(),
            "nothing started"
        );
        let html = asked.text().await.expect("html");
        assert!(
            html.contains("requires signing in through its single sign-on"),
            "{html}"
        );
        assert!(html.contains("&#38;confirm="), "{html}");
    }
    // The page's own link goes on to the provider.
    let asked = t
        .client
        .get(t.url(&to))
        .header("cookie", &mo_browser.0)
        .send()
        .await
        .expect("start")
        .text()
        .await
        .expect("html");
    let continue_href = asked
        .split("href=\"")
        .map(|rest| rest.split('"').next().unwrap_or(""))
        .find(|href| href.contains("confirm="))
        .expect("a continue link")
        .replace("&#38;", "&");
    let going = t
        .client
        .get(t.url(&continue_href))
        .header("cookie", &mo_browser.0)
        .send()
        .await
        .expect("start");
    assert_eq!(going.status(), StatusCode::SEE_OTHER, "{continue_href}");
    assert!(
        going.headers()["location"]
            .to_str()
            .expect("location")
            .starts_with(&idp.base)
    );
    assert!(set_cookie(&going, "rapport_sso").is_some());
    let closed = configure(
        &t,
        &owner,
        json!({"issuer": idp.base, "client_id": "rapport-acme", "allowed_domains": ["acme.test"], "auto_join": true, "default_role": "viewer"}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
    let r = t.org_call(&mo, Method::GET, "/api/v1/contacts", None).await;
    assert_eq!(r.status, StatusCode::OK, "no longer required");

    // Removing single sign-on ends the sessions opened through it.
    let removed = t
        .call(
            Method::DELETE,
            &format!("/api/v1/organizations/{}/single-sign-on", owner.org()),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let (status, _) = with_cookie(
        &t,
        &nora_cookie,
        Method::GET,
        "/api/v1/organizations/me",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let gone = t
        .get(
            &format!("/api/v1/organizations/{}/single-sign-on", owner.org()),
            &owner.access,
        )
        .await;
    gone.assert_problem(StatusCode::NOT_FOUND, "not_found");
    // And the button goes from the sign-in page.
    let html = t
        .client
        .get(t.url("/o/acme/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("Sign in with Acme ID"));
}

#[tokio::test]
async fn the_provider_alone_never_lets_in_whom_the_organization_did_not_choose() {
    let Some(idp) = Idp::from_env("single_sign_on::refusals") else {
        return;
    };
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_SSO_ALLOW_PRIVATE", "true".into())],
        ..Default::default()
    })
    .await;
    let owner = t.register("olga@acme.test", Some("Acme")).await;
    let saved = configure(
        &t,
        &owner,
        json!({
            "issuer": idp.base,
            "client_id": "rapport-acme",
            "client_secret": "very-secret",
            "allowed_domains": ["acme.test"],
            "auto_join": false
        }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let refused = |back: &Back, words: &str| {
        assert_eq!(back.status, StatusCode::FORBIDDEN, "{}", back.body);
        assert!(back.session.is_none(), "no session");
        assert!(
            back.body.contains(words),
            "expected “{words}” in {}",
            back.body
        );
    };

    // Without automatic membership, a newcomer is told to ask for an invitation.
    idp.person(
        "pat-1",
        json!({"email": "pat@acme.test", "email_verified": true}),
    )
    .await;
    refused(
        &sign_in(&t, &idp, slug_start(), "pat-1").await,
        "lets only its members sign in",
    );
    // An invitation lets them in, with the invitation's role.
    let invited = t
        .post(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            Some(&owner.access),
            json!({"email": "pat@acme.test", "role": "manager"}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::ACCEPTED, "{}", invited.text);
    let pat = sign_in(&t, &idp, slug_start(), "pat-1").await;
    assert_eq!(pat.status, StatusCode::SEE_OTHER, "{}", pat.body);
    let members = t
        .get(
            &format!("/api/v1/organizations/{}/members", owner.org()),
            &owner.access,
        )
        .await;
    let pat_member = members
        .body
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == "pat@acme.test")
        .expect("pat joined")
        .clone();
    assert_eq!(pat_member["role"], "manager");

    // An existing account that is not a member is not brought in by the provider's word.
    t.register("sam@acme.test", Some("Sam's own")).await;
    idp.person(
        "sam-1",
        json!({"email": "sam@acme.test", "email_verified": true}),
    )
    .await;
    refused(
        &sign_in(&t, &idp, slug_start(), "sam-1").await,
        "already exists in Rapport and is not a member of Acme",
    );
    // Another domain, an unverified address, no address at all.
    idp.person(
        "eve-1",
        json!({"email": "eve@elsewhere.test", "email_verified": true}),
    )
    .await;
    refused(
        &sign_in(&t, &idp, slug_start(), "eve-1").await,
        "signs in only addresses at acme.test",
    );
    idp.person(
        "una-1",
        json!({"email": "una@acme.test", "email_verified": false}),
    )
    .await;
    refused(
        &sign_in(&t, &idp, slug_start(), "una-1").await,
        "has not confirmed that una@acme.test is verified",
    );
    idp.person("nob-1", json!({"name": "Nobody"})).await;
    refused(
        &sign_in(&t, &idp, slug_start(), "nob-1").await,
        "did not share your email address",
    );
    // A provider that does not say whether an address is verified: refused, unless the
    // organization trusts its addresses (then the usual rules decide).
    idp.person("tia-1", json!({"email": "tia@acme.test"})).await;
    refused(
        &sign_in(&t, &idp, slug_start(), "tia-1").await,
        "has not confirmed that tia@acme.test is verified",
    );
    let trusting = configure(
        &t,
        &owner,
        json!({"issuer": idp.base, "client_id": "rapport-acme", "allowed_domains": ["acme.test"], "trust_email": true}),
    )
    .await;
    assert_eq!(trusting.status, StatusCode::OK, "{}", trusting.text);
    assert_eq!(trusting.body["trust_email"], true);
    refused(
        &sign_in(&t, &idp, slug_start(), "tia-1").await,
        "lets only its members sign in",
    );
    // A deactivated member stays out.
    let member_id = pat_member["id"].as_str().expect("id");
    let r = t
        .post(
            &format!(
                "/api/v1/organizations/{}/members/{member_id}/deactivate",
                owner.org()
            ),
            Some(&owner.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    refused(
        &sign_in(&t, &idp, slug_start(), "pat-1").await,
        "is deactivated",
    );
    // A callback whose state is not the browser's own is refused (a forged or replayed
    // sign-in); so is one the person denied at the provider.
    idp.person(
        "olga-1",
        json!({"email": "olga@acme.test", "email_verified": true}),
    )
    .await;
    refused(
        &sign_in_as(&t, &idp, slug_start(), "olga-1", |u| {
            u.replace("state=", "state=x")
        })
        .await,
        "expired or was started in another browser",
    );
    refused(
        &sign_in_as(&t, &idp, slug_start(), "olga-1", |u| {
            format!(
                "{}?error=access_denied&error_description=The+user+said+no&state={}",
                u.split('?').next().unwrap_or(""),
                u.split("state=").nth(1).unwrap_or("")
            )
        })
        .await,
        "The user said no",
    );
    // A code sent back to another organization's address than the sign-in began for is
    // refused: one provider cannot have the code another provider issued sent to it.
    let other = t.register("oz@other.test", Some("Other")).await;
    refused(
        &sign_in_as(&t, &idp, slug_start(), "olga-1", |u| {
            u.replace(owner.org(), other.org())
        })
        .await,
        "expired or was started in another browser",
    );
    // The provider takes a code once: replaying the same callback does not sign in again.
    let started = t
        .client
        .get(t.url(slug_start()))
        .send()
        .await
        .expect("start");
    let to_provider = started.headers()["location"]
        .to_str()
        .expect("loc")
        .to_owned();
    let state = set_cookie(&started, "rapport_sso").expect("state");
    let signed = idp
        .http
        .post(&to_provider)
        .form(&[("sub", "olga-1")])
        .send()
        .await
        .expect("provider");
    let back = signed.headers()["location"]
        .to_str()
        .expect("loc")
        .to_owned();
    let first = t
        .client
        .get(&back)
        .header("cookie", &state)
        .send()
        .await
        .expect("cb");
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let second = t
        .client
        .get(&back)
        .header("cookie", &state)
        .send()
        .await
        .expect("cb");
    assert_eq!(second.status(), StatusCode::FORBIDDEN);

    let actions = audit_actions(&t, &owner).await;
    assert!(
        actions.iter().filter(|a| *a == "auth.sso_refused").count() >= 7,
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "member.invitation_accepted"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn setting_up_single_sign_on_checks_the_provider_and_is_for_administrators() {
    let Some(idp) = Idp::from_env("single_sign_on::settings") else {
        return;
    };
    let t = TestApp::spawn_with(Options {
        extra: vec![("RAPPORT_SSO_ALLOW_PRIVATE", "true".into())],
        ..Default::default()
    })
    .await;
    let owner = t.register("olga@acme.test", Some("Acme")).await;
    let member = t.member(&owner, "mo@acme.test", "member").await;
    let admin = t.member(&owner, "ada@acme.test", "admin").await;
    let path = format!("/api/v1/organizations/{}/single-sign-on", owner.org());
    let good = json!({"issuer": idp.base, "client_id": "c", "client_secret": "s"});

    let r = t
        .call(Method::PUT, &path, Some(&member.access), Some(good.clone()))
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = t.get(&path, &member.access).await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // A provider vouches for everyone, owners included: choosing it is for owners alone.
    let r = t
        .call(Method::PUT, &path, Some(&admin.access), Some(good.clone()))
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    t.get(&path, &owner.access)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let fields = |r: &crate::support::Resp| -> Vec<String> {
        r.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Nothing answers there: the issuer is refused before anyone tries to sign in.
    let r = configure(
        &t,
        &owner,
        json!({"issuer": "http://127.0.0.1:9/", "client_id": "c", "client_secret": "s"}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(fields(&r), ["issuer"]);
    // Something answers, but no discovery document is there.
    let r = configure(
        &t,
        &owner,
        json!({"issuer": format!("{}/tenants/none", idp.base), "client_id": "c", "client_secret": "s"}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(fields(&r), ["issuer"]);
    // Each field named.
    let r = configure(
        &t,
        &owner,
        json!({"issuer": idp.base, "client_id": " ", "allowed_domains": ["not a domain"], "default_role": "owner"}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        fields(&r),
        [
            "client_id",
            "client_secret",
            "allowed_domains",
            "default_role"
        ]
    );
    assert!(
        t.get(&path, &owner.access).await.status == StatusCode::NOT_FOUND,
        "nothing was saved"
    );
    // Saved; a later change may leave the secret out and keeps it.
    let r = configure(&t, &owner, good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = configure(
        &t,
        &owner,
        json!({"issuer": idp.base, "client_id": "c2", "enabled": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["client_id"], "c2");
    assert_eq!(r.body["enabled"], false);
    // Turned off: no button, and a sign-in is refused at the start.
    let started = t
        .client
        .get(t.url(slug_start()))
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), StatusCode::NOT_FOUND);
    let html = started.text().await.expect("html");
    assert!(
        html.contains("does not sign in with single sign-on"),
        "{html}"
    );
}

#[tokio::test]
async fn an_instance_that_does_not_allow_private_providers_refuses_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("olga@acme.test", Some("Acme")).await;
    let r = configure(
        &t,
        &owner,
        json!({"issuer": "http://127.0.0.1:9400", "client_id": "c", "client_secret": "s"}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "issuer");
    assert_eq!(
        r.body["errors"][0]["message"], "must start with https://",
        "{}",
        r.text
    );
    // https, but the name resolves to this machine: refused before any request is made.
    let r = configure(
        &t,
        &owner,
        json!({"issuer": "https://127.0.0.1:9400", "client_id": "c", "client_secret": "s"}),
    )
    .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let message = r.body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("not a public address"), "{message}");
}
