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

async fn contact_of(t: &TestApp, who: &Account, id: &str) -> Value {
    t.org_call(who, Method::GET, &format!("/api/v1/contacts/{id}"), None)
        .await
        .body
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
    // Each change is told on the timeline in the fields' own words, under "Changes".
    b.wait_until(
        "return document.getElementById('timeline').textContent.includes('changed Size to 11-50 employees')",
        "the size change is on the timeline",
    )
    .await;
    b.submit(".chips a[href*='show=changes']").await;
    let changes = b.text(".timeline").await;
    assert!(
        changes.contains("changed Industry from Repairs to Boat repairs")
            && changes.contains("changed Size to 11-50 employees")
            && !changes.contains("Called Marta"),
        "{changes}"
    );
    b.screenshots("record-company-changes").await;
    b.goto(&t.url(&page)).await;

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

/// The new-deal form's contact is a combobox fed by the server: it finds the 1,201st contact,
/// and its company combobox adds a company named by what was typed.
#[tokio::test]
async fn the_deal_form_finds_the_1201st_contact_and_adds_a_company_inline() {
    if !enabled("the_deal_form_finds_the_1201st_contact_and_adds_a_company_inline") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    futures_util::stream::iter(0..1200)
        .map(|i| {
            let (t, owner) = (&t, &owner);
            async move {
                t.create(
                    owner,
                    "/api/v1/contacts",
                    json!({"name": format!("Crew {i:04}")}),
                )
                .await;
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    let last = id(&t
        .create(&owner, "/api/v1/contacts", json!({"name": "Zelda Marsh"}))
        .await);

    let b = Browser::start(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/acme/deals/new")).await;
    assert_eq!(
        b.eval("return [...document.querySelectorAll('select[name=contact_id] option')].some(o => o.text === 'Zelda Marsh')")
            .await,
        json!(false),
        "the 1,201st contact is beyond the menu's first records"
    );
    assert!(b.exists("#contact_id[role=combobox]").await);
    b.fill("#title", "Winter mooring").await;
    b.fill("#amount", "900").await;
    b.combo_pick("#contact_id", "zelda", "Zelda Marsh").await;
    b.combo_pick("#company_id", "Nordic Yachts", "Create “Nordic Yachts”")
        .await;
    b.wait_until(
        "return document.querySelector('select[name=company_id]').value !== ''",
        "the new company is chosen",
    )
    .await;
    b.screenshots("deal-form-combobox").await;
    b.submit("form.card button[type=submit]").await;
    assert_eq!(b.text("h1").await, "Winter mooring");
    let deals = t.org_call(&owner, Method::GET, "/api/v1/deals", None).await;
    let deal = &deals.body["items"][0];
    assert_eq!(deal["contact_id"], json!(last), "{deal}");
    let company = t
        .org_call(
            &owner,
            Method::GET,
            &format!(
                "/api/v1/companies/{}",
                deal["company_id"].as_str().expect("a company")
            ),
            None,
        )
        .await;
    assert_eq!(company.body["name"], "Nordic Yachts");

    // On the deal's page the contact changes in place through the same combobox.
    b.click(".prop[data-prop='contact_id'] .prop-value").await;
    b.combo_pick("#contact_id", "crew 0007", "Crew 0007").await;
    b.wait_until(
        "const p = document.querySelector(\".prop[data-prop='contact_id']\"); \
         return p?.querySelector('.prop-value')?.textContent === 'Crew 0007' \
         && !p.hasAttribute('aria-busy') && !window.__rapportRedrawing",
        "the new contact shows and is saved",
    )
    .await;
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{}", deal["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_ne!(stored.body["contact_id"], json!(last));
    b.screenshot("deal-contact-changed-in-place").await;
    b.close().await;
}

/// A company's People and Deals link records that exist: a contact found by typing gets the
/// company; viewers are offered no link.
#[tokio::test]
async fn a_related_section_links_a_record_that_exists() {
    if !enabled("a_related_section_links_a_record_that_exists") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    t.member(&owner, "viewer@example.com", "viewer").await;
    let company = id(&t
        .create(&owner, "/api/v1/companies", json!({"name": "Busy Marina"}))
        .await);
    let lotta = id(&t
        .create(&owner, "/api/v1/contacts", json!({"name": "Lotta Berg"}))
        .await);
    let (b, vb) = Browser::start_two(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    let page = t.url(&format!("/o/acme/companies/{company}"));
    b.goto(&page).await;
    let people = ".related[aria-label='People']";
    assert_eq!(b.text(&format!("{people} .count")).await, "0");
    b.click(&format!("{people} .link-existing summary")).await;
    b.combo_pick("#link-contact-company_id", "lotta", "Lotta Berg")
        .await;
    b.screenshots("related-link-existing").await;
    b.submit(&format!("{people} .link-form button[type=submit]"))
        .await;
    assert_eq!(b.text("[role=status]").await, "Linked.");
    assert_eq!(b.text(&format!("{people} .count")).await, "1");
    assert!(b.text(people).await.contains("Lotta Berg"));
    assert_eq!(
        contact_of(&t, &owner, &lotta).await["company_id"],
        json!(company)
    );

    sign_in(&vb, &t, "viewer@example.com").await;
    vb.goto(&page).await;
    assert!(vb.exists(people).await);
    assert!(!vb.exists(".link-existing").await, "viewers change nothing");
    vb.close().await;
    b.close().await;
}

/// A list's cells change in place with the record page's own editors: click or press e, Enter
/// saves, a refusal says why in the cell, Esc puts the value back; rows the member may not
/// change offer nothing.
#[tokio::test]
async fn a_list_cell_changes_in_place() {
    if !enabled("a_list_cell_changes_in_place") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let sam = t.member(&owner, "sam@example.com", "member").await;
    let marta = id(&t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Marta Ruiz", "email": "marta@old.example"}),
        )
        .await);
    t.create(
        &sam,
        "/api/v1/contacts",
        json!({"name": "Sam's skipper", "email": "skipper@sam.example"}),
    )
    .await;

    let (b, sb) = Browser::start_two(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/acme/contacts")).await;
    let row = format!("#contacts tr[data-id='{marta}']");
    let email = format!("{row} td[data-edit='email']");
    b.click(&email).await;
    let input = format!("{email} input[name='email']");
    b.type_over(&input, "marta@ruiz.example").await;
    b.client_keys(&input, "\u{E007}").await;
    b.wait_until(
        &format!("const c = document.querySelector(\"{email}\"); return !!c && !c.querySelector('form') && c.textContent.includes('marta@ruiz.example')"),
        "the list shows the new email",
    )
    .await;
    assert_eq!(
        contact_of(&t, &owner, &marta).await["email"],
        "marta@ruiz.example"
    );

    // A refusal stays in the cell with its reason; Esc puts the stored value back.
    b.click(&email).await;
    b.type_over(&input, "not an email").await;
    b.client_keys(&input, "\u{E007}").await;
    b.wait_until(
        &format!("return !!document.querySelector(\"{email} .field-error\")"),
        "the reason shows",
    )
    .await;
    assert!(
        b.text(&format!("{email} .field-error"))
            .await
            .starts_with("Email")
    );
    b.screenshots("list-cell-refused").await;
    b.client_keys(&input, "\u{E00C}").await;
    b.wait_until(
        &format!("const c = document.querySelector(\"{email}\"); return !c.querySelector('form') && c.textContent.trim() === 'marta@ruiz.example'"),
        "the stored value is back",
    )
    .await;
    assert_eq!(
        contact_of(&t, &owner, &marta).await["email"],
        "marta@ruiz.example"
    );

    // By keys: j picks the row, e opens its first cell; the owner menu hands it over.
    b.goto(&t.url("/o/acme/contacts?cols=owner,email")).await;
    b.eval(&format!("document.querySelectorAll('#contacts tbody tr').forEach(r => r.classList.remove('row-current')); document.querySelector(\"{row}\").classList.add('row-current'); document.activeElement.blur(); return null")).await;
    b.client_keys("body", "e").await;
    b.wait_until(
        &format!("return !!document.querySelector(\"{row} td.cell-editing select[name='owner_id'], {row} td.cell-editing input[name='email']\")"),
        "e opens the row's first cell",
    )
    .await;
    b.client_keys(&format!("{row} td.cell-editing .input"), "\u{E00C}")
        .await;

    // The owner is a combobox of members: found by typing, saved once chosen.
    let owner_cell = format!("{row} td[data-edit='owner_id']");
    b.click(&owner_cell).await;
    b.combo_pick(&format!("{owner_cell} .combo-input"), "sa", "sam")
        .await;
    b.wait_until(
        &format!("const c = document.querySelector(\"{owner_cell}\"); return !!c && !c.querySelector('form') && c.textContent.trim() === 'sam'"),
        "the list shows the new owner",
    )
    .await;
    assert_eq!(
        contact_of(&t, &owner, &marta).await["owner_id"],
        json!(sam.user_id)
    );

    // A custom object's cell: the record page's own menu, saved with Enter.
    for (path, body) in [
        (
            "/api/v1/objects",
            json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
        ),
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "status", "label": "Status", "type": "select",
                   "options": [{"key": "free", "label": "Free"}, {"key": "taken", "label": "Taken"}]}),
        ),
    ] {
        t.create(&owner, path, body).await;
    }
    let berth = id(&t
        .create(
            &owner,
            "/api/v1/objects/berth/records",
            json!({"values": {"name": "A-01", "status": "free"}}),
        )
        .await);
    b.goto(&t.url("/o/acme/objects/berth")).await;
    let status = format!("tr[data-id='{berth}'] td[data-edit='values.status']");
    b.click(&status).await;
    let menu = format!("{status} select");
    b.wait_until(
        &format!("return !!document.querySelector(\"{menu}\")"),
        "the menu opens in the cell",
    )
    .await;
    b.eval(&format!(
        "document.querySelector(\"{menu}\").value = 'taken'; return null"
    ))
    .await;
    b.client_keys(&menu, "\u{E007}").await;
    b.wait_until(
        &format!("const c = document.querySelector(\"{status}\"); return !!c && !c.querySelector('form') && c.textContent.includes('Taken')"),
        "the list shows the new status",
    )
    .await;
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records/{berth}"),
            None,
        )
        .await;
    assert_eq!(stored.body["values"]["status"], "taken");

    // Someone else's contact is not changed from a member's list; their own (Marta, handed
    // to them above) is.
    let owners = id(&t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Harbour office"}),
        )
        .await);
    sign_in(&sb, &t, "sam@example.com").await;
    sb.goto(&t.url("/o/acme/contacts")).await;
    let theirs = format!("#contacts tr[data-id='{owners}']");
    assert!(sb.exists(&theirs).await);
    assert!(!sb.exists(&format!("{theirs}[data-href]")).await);
    assert!(!sb.exists(&format!("{theirs} td[data-edit]")).await);
    assert!(
        sb.exists(&format!("{row}[data-href] td[data-edit='email']"))
            .await,
        "their own contact can be changed"
    );
    sb.close().await;
    b.close().await;
}

/// A list narrows as people type, moves by keys, and acts on the rows chosen: hand them to a
/// teammate, tag them, delete them.
#[tokio::test]
async fn a_list_is_searched_as_you_type_and_acts_on_the_rows_chosen() {
    if !enabled("a_list_is_searched_as_you_type_and_acts_on_the_rows_chosen") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let sam = t.member(&owner, "sam@example.com", "member").await;
    for (name, phone) in [
        ("Marta Ruiz", "+34 600 123 456"),
        ("Marc Vidal", "+34 600 765 432"),
        ("Anna Soler", "+34 600 111 222"),
    ] {
        t.create(
            &owner,
            "/api/v1/contacts",
            json!({"name": name, "phone": phone, "title": "Harbour master at the north marina"}),
        )
        .await;
    }
    let tag = id(&t
        .create(
            &owner,
            "/api/v1/tags",
            json!({"name": "VIP", "color": "green"}),
        )
        .await);
    t.create(
        &owner,
        "/api/v1/objects/contact/fields",
        json!({"key": "tier", "label": "Tier", "type": "select",
               "options": [{"key": "gold", "label": "Gold"}, {"key": "silver", "label": "Silver"}]}),
    )
    .await;

    let b = Browser::start(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/acme/contacts")).await;
    // Every row is one line.
    let heights = b
        .eval("return [...document.querySelectorAll('#contacts tbody tr')].map(r => r.getBoundingClientRect().height)")
        .await;
    assert!(
        heights
            .as_array()
            .expect("rows")
            .iter()
            .all(|h| h.as_f64().unwrap_or(99.0) <= 45.0),
        "{heights}"
    );

    // Search as you type: no new page, the address keeps the search.
    b.eval("window.__samePage = true; return null").await;
    b.fill("#search", "mar").await;
    b.wait_until(
        "return document.querySelectorAll('#contacts tbody tr').length === 2",
        "the list narrows to Marta and Marc",
    )
    .await;
    assert_eq!(
        b.eval("return window.__samePage === true").await,
        json!(true)
    );
    assert!(
        b.eval("return location.search")
            .await
            .as_str()
            .unwrap_or_default()
            .contains("search=mar")
    );

    // j moves to a row, x chooses it: the selection bar says so.
    b.click("h1").await;
    b.client_keys("body", "j").await;
    b.client_keys("body", "x").await;
    assert_eq!(b.text("[data-selected-count]").await, "1 selected");
    b.screenshots("list-selection").await;
    b.eval(&format!(
        "document.getElementById('bulk-owner').value = {:?}; return null",
        sam.user_id
    ))
    .await;
    b.submit("#bulk-form button[value=owner]").await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("1 contact handed over")
    );
    let contacts = t
        .org_call(&owner, Method::GET, "/api/v1/contacts", None)
        .await;
    let owners: Vec<&str> = contacts.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|c| c["owner_id"] == json!(sam.user_id))
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(owners.len(), 1, "{owners:?}");

    // The whole page chosen: a select field set for all, a tag for all, then deleted.
    b.goto(&t.url("/o/acme/contacts")).await;
    b.click("input[data-select-all]").await;
    assert_eq!(b.text("[data-selected-count]").await, "3 selected");
    assert_eq!(
        b.eval("return [...document.querySelectorAll('#bulk-set option')].map(o => o.textContent)")
            .await,
        json!(["Set…", "Tier: Gold", "Tier: Silver"])
    );
    b.eval("document.getElementById('bulk-set').value = 'custom.tier=gold'; return null")
        .await;
    b.submit("#bulk-form button[value=set]").await;
    assert!(b.text("[role=status]").await.contains("3 contacts changed"));
    let tiers: Vec<Value> = t
        .org_call(&owner, Method::GET, "/api/v1/contacts", None)
        .await
        .body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["custom"]["tier"].clone())
        .collect();
    assert_eq!(tiers, [json!("gold"), json!("gold"), json!("gold")]);
    // A value the bar did not offer is refused, nothing changed.
    let session = t.browser_session("owner@example.com").await;
    let any = contacts.body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = t
        .form(
            &session,
            "/o/acme/contacts/bulk",
            &[
                ("action", "set"),
                ("set", "custom.tier=platinum"),
                ("id", &any),
            ],
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::BAD_REQUEST, "{}", r.text);
    b.click("input[data-select-all]").await;
    assert_eq!(b.text("[data-selected-count]").await, "3 selected");
    b.eval(&format!(
        "document.getElementById('bulk-tag').value = {tag:?}; return null"
    ))
    .await;
    b.submit("#bulk-form button[value=tag]").await;
    assert!(b.text("[role=status]").await.contains("3 contacts tagged"));
    b.goto(&t.url(&format!("/o/acme/contacts?tag={tag}"))).await;
    assert_eq!(
        b.eval("return document.querySelectorAll('#contacts tbody tr').length")
            .await,
        json!(3),
        "the three are tagged"
    );
    b.click("input[data-select-all]").await;
    b.eval("window.confirm = () => true; return null").await;
    b.submit("#bulk-form button[value=delete]").await;
    assert!(b.text("[role=status]").await.contains("3 contacts deleted"));
    let left = t
        .org_call(&owner, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(left.body["items"], json!([]));
    b.close().await;
}

/// Typing @ in a comment box suggests teammates; the posted comment shows the mention as a
/// highlighted link and notes whom it mentions.
#[tokio::test]
async fn a_comment_mentions_a_teammate_picked_from_suggestions() {
    if !enabled("a_comment_mentions_a_teammate_picked_from_suggestions") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let priya = t.member(&owner, "priya@example.com", "member").await;
    t.member(&owner, "tom@example.com", "member").await;
    let company = id(&t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Harbour Shipyard"}),
        )
        .await);
    let b = Browser::start(1440, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url(&format!("/o/acme/companies/{company}")))
        .await;
    b.fill("#note-text", "Thanks @pri").await;
    b.wait_until(
        "return [...document.querySelectorAll('#note-mentions [role=option]')].map(o => o.dataset.name).join() === 'priya'",
        "Priya alone is suggested",
    )
    .await;
    b.screenshots("mention-suggestions").await;
    b.client_keys("#note-text", "\u{E004}").await;
    b.client_keys("#note-text", "for the quote").await;
    assert_eq!(
        b.eval("return document.getElementById('note-text').value")
            .await,
        json!("Thanks @priya for the quote")
    );
    b.submit(".composer button[type=submit]").await;
    assert_eq!(b.text(".timeline .mention").await, "@priya");
    assert_eq!(
        b.eval("return document.querySelector('.timeline .mention').getAttribute('href')")
            .await,
        json!("mailto:priya@example.com")
    );
    let timeline = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/companies/{company}/activities"),
            None,
        )
        .await;
    assert_eq!(
        timeline.body["items"][0]["payload"]["mentions"],
        json!([priya.user_id])
    );
    b.screenshot("mention-posted").await;
    b.close().await;
}

/// ⌘K reaches settings pages (Pipelines, Webhooks) and runs actions: create a deal, switch the
/// theme.
#[tokio::test]
async fn the_command_palette_reaches_settings_and_runs_actions() {
    if !enabled("the_command_palette_reaches_settings_and_runs_actions") {
        return;
    }
    let t = TestApp::spawn().await;
    t.register("owner@example.com", Some("Acme")).await;
    let b = Browser::start(1280, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    let open = "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true})); return null";
    let shown = "return [...document.querySelectorAll('#palette-list li')].filter(li => !li.hidden).map(li => li.textContent.trim())";
    b.eval(open).await;
    b.type_over(".palette-input", "pipel").await;
    assert_eq!(b.eval(shown).await, json!(["Settings: pipelines"]));
    b.type_over(".palette-input", "webho").await;
    assert_eq!(b.eval(shown).await, json!(["Settings: webhooks"]));
    b.type_over(".palette-input", "create").await;
    b.screenshots("palette-actions").await;

    // Toggle theme runs in place.
    let before = b
        .eval("return document.documentElement.getAttribute('data-theme')")
        .await;
    b.type_over(".palette-input", "theme").await;
    b.client_keys(".palette-input", "\u{E007}").await;
    let after = b
        .eval("return document.documentElement.getAttribute('data-theme')")
        .await;
    assert_ne!(before, after, "the theme switched");
    assert_eq!(
        b.eval("return document.getElementById('palette').open")
            .await,
        json!(false)
    );

    // Create a deal goes to the new-deal form.
    b.eval(open).await;
    b.type_over(".palette-input", "create a deal").await;
    b.eval("window.__rapportLeaving = true; return null").await;
    b.client_keys(".palette-input", "\u{E007}").await;
    let path = b.wait_for_path(|p| p.ends_with("/deals/new")).await;
    assert!(path.ends_with("/deals/new"), "{path}");
    b.close().await;
}
