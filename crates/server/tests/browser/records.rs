//! Record pages: a header, properties edited in place, related records as tables, a timeline
//! gathered from the related records and narrowed by kind.

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, enabled};
use crate::support::{Account, PASSWORD, TestApp};

async fn sign_in(b: &Browser, t: &TestApp, email: &str) {
    b.goto(&t.url("/login")).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
}

async fn comment(t: &TestApp, who: &Account, on: &str, kind: &str, text: &str) {
    let r = t
        .org_call(
            who,
            Method::POST,
            &format!("/api/v1/{on}/activities"),
            Some(json!({"type": kind, "payload": {"text": text, "notes": text}})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
}

async fn company_of(t: &TestApp, who: &Account, id: &str) -> Value {
    t.org_call(who, Method::GET, &format!("/api/v1/companies/{id}"), None)
        .await
        .body
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_company_page_edits_in_place_and_gathers_its_peoples_and_deals_timelines() {
    if !enabled("a_company_page_edits_in_place_and_gathers_its_peoples_and_deals_timelines") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let company = id(&t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Harbour Shipyard", "domain": "harbourshipyard.example", "industry": "Repairs"}),
        )
        .await);
    let marta = id(&t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Marta Ruiz", "title": "Harbour master", "company_id": company}),
        )
        .await);
    let deal = id(&t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Winter berths", "amount": 1200, "company_id": company}),
        )
        .await);
    comment(
        &t,
        &owner,
        &format!("companies/{company}"),
        "comment",
        "Own note on the yard",
    )
    .await;
    comment(
        &t,
        &owner,
        &format!("contacts/{marta}"),
        "call",
        "Called Marta about the slipway",
    )
    .await;
    comment(
        &t,
        &owner,
        &format!("deals/{deal}"),
        "comment",
        "Quote sent for the winter",
    )
    .await;

    let b = Browser::start(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    let page = format!("/o/acme/companies/{company}");
    b.goto(&t.url(&page)).await;
    assert_eq!(b.text(".record-head h1").await, "Harbour Shipyard");
    assert!(
        b.text(".record-facts")
            .await
            .contains("harbourshipyard.example")
    );

    // Related records are tables with their counts.
    let people = b.text(".related[aria-label='People']").await;
    assert!(
        people.contains("Marta Ruiz") && people.contains("Harbour master"),
        "{people}"
    );
    assert!(
        b.text(".related[aria-label='Deals']")
            .await
            .contains("Winter berths")
    );

    // The timeline gathers the contact's call and the deal's comment, each naming its record.
    let timeline = b.text(".timeline").await;
    assert!(timeline.contains("Own note on the yard"), "{timeline}");
    assert!(
        timeline.contains("Called Marta about the slipway"),
        "{timeline}"
    );
    assert!(timeline.contains("on Marta Ruiz"), "{timeline}");
    assert!(timeline.contains("on Winter berths"), "{timeline}");
    b.screenshot("record-company").await;

    // Narrowed to calls: only the contact's call.
    b.submit(".chips a[href*='show=calls']").await;
    let calls = b.text(".timeline").await;
    assert!(
        calls.contains("Called Marta") && !calls.contains("Quote sent"),
        "{calls}"
    );
    assert_eq!(b.text(".chip-on").await, "Calls");
    b.submit(".chips a[href*='show=meetings']").await;
    assert!(
        b.text("#timeline")
            .await
            .contains("Nothing of this kind yet")
    );
    b.goto(&t.url(&page)).await;

    // A property opens in place; Enter saves it without leaving the page.
    b.eval("window.__samePage = true; return null").await;
    b.edit_property("industry", "Boat repairs").await;
    b.wait_until(
        "return document.querySelector('.record-facts').textContent.includes('Boat repairs')",
        "the header shows the new industry",
    )
    .await;
    assert_eq!(
        company_of(&t, &owner, &company).await["industry"],
        "Boat repairs"
    );
    assert_eq!(
        b.eval("return window.__samePage === true").await,
        json!(true),
        "no page load"
    );

    // A refused value: the reason shows under the field and the stored value stays.
    b.edit_property("name", "").await;
    assert!(
        b.text(".prop[data-prop='name'] .field-error")
            .await
            .contains("Name"),
        "the refusal is said next to the field"
    );
    assert_eq!(
        company_of(&t, &owner, &company).await["name"],
        "Harbour Shipyard"
    );
    b.screenshot("record-company-refused").await;
    // Esc puts the stored value back and closes the editor.
    b.client_keys(".prop[data-prop='name'] .prop-editor .input", "\u{E00C}")
        .await;
    assert_eq!(
        b.eval("const p = document.querySelector(\".prop[data-prop='name']\"); return [p.classList.contains('editing') || p.classList.contains('has-error'), document.getElementById('name').value]").await,
        json!([false, "Harbour Shipyard"])
    );
    assert_eq!(
        b.text(".prop[data-prop='name'] .prop-value").await,
        "Harbour Shipyard"
    );

    // Leaving a refused value for another property puts the stored value back, unsent.
    b.edit_property("domain", "not a domain").await;
    assert!(
        b.exists(".prop[data-prop='domain'].has-error").await,
        "refused"
    );
    b.click(".prop[data-prop='industry'] .prop-value").await;
    b.wait_until(
        "return !document.querySelector(\".prop[data-prop='domain']\").classList.contains('has-error')",
        "the refused domain is put back",
    )
    .await;
    assert_eq!(
        b.text(".prop[data-prop='domain'] .prop-value").await,
        "harbourshipyard.example"
    );
    b.client_keys("#industry", "\u{E00C}").await;
    assert_eq!(
        company_of(&t, &owner, &company).await["domain"],
        "harbourshipyard.example"
    );

    // A menu saves as soon as a choice is made.
    b.choose_property("size", "11-50").await;
    b.wait_until(
        "return document.querySelector(\".prop[data-prop='size'] .prop-value\").textContent.includes('11')",
        "the size shows",
    )
    .await;
    assert_eq!(company_of(&t, &owner, &company).await["size"], "11-50");

    // A deal's page: the amount and the stage change in place too.
    b.goto(&t.url(&format!("/o/acme/deals/{deal}"))).await;
    b.edit_property("amount", "2 500").await;
    b.wait_until(
        "return document.querySelector('.record-facts').textContent.replace(/\\s/g, '').includes('2500')",
        "the header shows the new amount",
    )
    .await;
    let stored = t
        .org_call(&owner, Method::GET, &format!("/api/v1/deals/{deal}"), None)
        .await
        .body;
    assert_eq!(stored["amount"].as_f64(), Some(2500.0), "{stored}");
    assert_eq!(stored["title"], "Winter berths", "nothing else changed");
    let proposal = b
        .eval("return [...document.querySelectorAll(\".prop[data-prop='place'] option\")].find(o => o.text.includes('Proposal')).value")
        .await;
    b.choose_property("place", proposal.as_str().expect("a stage"))
        .await;
    let stored = t
        .org_call(&owner, Method::GET, &format!("/api/v1/deals/{deal}"), None)
        .await
        .body;
    assert_eq!(stored["stage"], "proposal", "{stored}");
    b.screenshot("record-deal").await;

    for (theme, name) in [("dark", "record-company-dark")] {
        b.eval(&format!(
            "localStorage.setItem('rapport.theme', '{theme}'); return null"
        ))
        .await;
        b.goto(&t.url(&page)).await;
        b.screenshot(name).await;
    }
    b.close().await;

    let phone = Browser::start(390, 844).await;
    sign_in(&phone, &t, "owner@example.com").await;
    phone.goto(&t.url(&page)).await;
    assert_eq!(
        phone
            .eval("return document.documentElement.scrollWidth <= window.innerWidth")
            .await,
        json!(true),
        "no sideways scroll on a phone"
    );
    phone.screenshot("record-company-phone").await;
    phone.close().await;
}

/// A company with 200 people and 2,000 timeline entries: its page's server time is printed
/// (the figure the record page is held to; not asserted here).
#[tokio::test]
async fn a_busy_company_page_reports_its_server_time() {
    if !enabled("a_busy_company_page_reports_its_server_time") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let company = id(&t
        .create(&owner, "/api/v1/companies", json!({"name": "Busy Marina"}))
        .await);
    let people: Vec<String> = futures_util::stream::iter(0..200)
        .map(|i| {
            let (t, owner, company) = (&t, &owner, &company);
            async move {
                id(&t
                    .create(
                        owner,
                        "/api/v1/contacts",
                        json!({"name": format!("Skipper {i:03}"), "company_id": company}),
                    )
                    .await)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    futures_util::stream::iter(0..2000)
        .map(|i| {
            let on = format!("contacts/{}", people[i % people.len()]);
            let (t, owner) = (&t, &owner);
            async move { comment(t, owner, &on, "comment", &format!("Note {i}")).await }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;

    let b = Browser::start(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    let page = t.url(&format!("/o/acme/companies/{company}"));
    let mut times = Vec::new();
    for _ in 0..6 {
        b.goto(&page).await;
        let ms = b
            .eval("const n = performance.getEntriesByType('navigation')[0]; return n.responseStart - n.requestStart")
            .await
            .as_f64()
            .expect("a time");
        times.push(ms);
    }
    assert_eq!(b.text(".related[aria-label='People'] .count").await, "200");
    assert_eq!(
        b.eval("return document.querySelectorAll('.timeline-item').length")
            .await,
        json!(50),
        "the newest entries, the rest behind a link"
    );
    assert!(b.exists("a[href*='before=']").await);
    times.sort_by(f64::total_cmp);
    println!(
        "company page with 200 contacts and 2,000 timeline entries: server time median {:.0} ms, worst {:.0} ms (debug build)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    b.close().await;
}
