//! Custom objects in the browser: an admin defines "Berths" in Settings → Objects and fields,
//! adds records through the generated form, filters the generated list and drags a record on the
//! generated board.

use reqwest::Method;
use serde_json::json;

use crate::browser::{Browser, enabled};
use crate::support::{Account, PASSWORD, TestApp};

async fn sign_in(b: &Browser, t: &TestApp, email: &str) {
    b.goto(&t.url("/login")).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
}

/// Picks an option of a `<select>` by its value, as a person choosing it would (the change event
/// fires).
async fn choose(b: &Browser, css: &str, value: &str) {
    b.eval(&format!(
        "const s = document.querySelector({css:?}); s.value = {value:?}; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value"
    ))
    .await;
}

async fn berth_status(t: &TestApp, who: &Account, id: &str) -> serde_json::Value {
    t.org_call(
        who,
        Method::GET,
        &format!("/api/v1/objects/berth/records/{id}"),
        None,
    )
    .await
    .body["values"]["status"]
        .clone()
}

#[tokio::test]
async fn an_admin_defines_berths_adds_filters_and_drags_them() {
    if !enabled("an_admin_defines_berths_adds_filters_and_drags_them") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    t.create(
        &owner,
        "/api/v1/contacts",
        json!({"name": "Ann Berg", "email": "ann@example.com"}),
    )
    .await;

    let b = Browser::start(1400, 900).await;
    sign_in(&b, &t, "owner@example.com").await;

    // The object, from Settings.
    b.goto(&t.url("/o/marina/settings/objects")).await;
    b.fill("#singular", "Berth").await;
    b.fill("#plural", "Berths").await;
    choose(&b, "#icon", "anchor").await;
    b.submit("form[action$='/settings/objects/new'] button[type=submit]")
        .await;
    assert_eq!(
        b.path().await,
        "/o/marina/settings/objects/berth",
        "{}",
        b.text("main").await
    );
    assert!(b.text(".notice").await.contains("Object created"));

    // A status select with three options (its option rows appear for the type).
    choose(&b, "#new-type", "select").await;
    assert!(
        b.eval("return !document.querySelector('#new-field .option-rows').hidden")
            .await
            == json!(true),
        "options are offered for a select"
    );
    b.fill("#new-label", "Status").await;
    assert_eq!(
        b.text("#preview-new [data-preview-new-label]").await,
        "Status",
        "the field being added shows in the preview"
    );
    b.fill("#new-opt-1", "Available").await;
    b.fill("#new-opt-2", "Under offer").await;
    b.fill("#new-opt-3", "Sold").await;
    b.screenshot("objects-settings-adding-a-field").await;
    b.submit("#new-field button[type=submit]").await;
    assert!(b.text("#field-status").await.contains("Select"));

    // A length number with a lower limit, and a relation to contacts.
    choose(&b, "#new-type", "number").await;
    b.fill("#new-label", "Length").await;
    b.fill("#new-min", "0").await;
    b.fill("#new-help", "Metres, overall.").await;
    b.submit("#new-field button[type=submit]").await;
    choose(&b, "#new-type", "relation").await;
    b.fill("#new-label", "Holder").await;
    choose(&b, "#new-target", "contact").await;
    b.submit("#new-field button[type=submit]").await;
    // A refused field says why next to the field, and keeps what was typed.
    choose(&b, "#new-type", "number").await;
    b.fill("#new-label", "Beam").await;
    b.fill("#new-min", "wide").await;
    b.submit("#new-field button[type=submit]").await;
    assert!(
        b.text("#new-field")
            .await
            .contains("Minimum must be a number")
    );
    assert_eq!(
        b.eval("return document.querySelector('#new-label').value")
            .await,
        json!("Beam")
    );
    b.screenshot("objects-settings").await;

    // The object is in the navigation; its list is empty and says what to do.
    b.submit(".sidebar a[href='/o/marina/objects/berth']").await;
    assert!(b.text(".empty").await.contains("No berths yet"));

    // A record through the generated form: a wrong length is refused next to the field.
    b.goto(&t.url("/o/marina/objects/berth/new")).await;
    b.fill("[id='values.name']", "A-12").await;
    choose(&b, "[id='values.status']", "available").await;
    b.fill("[id='values.length']", "-3").await;
    b.combo_pick("[id='values.holder']", "ann", "Ann Berg")
        .await;
    let ann = b
        .eval("return document.querySelector(\"[name='values.holder']\").value")
        .await;
    let ann = ann.as_str().expect("Ann is chosen").to_owned();
    b.submit("form.record-form button[type=submit]").await;
    assert!(
        b.text("[id='values.length-error']")
            .await
            .contains("Length must be at least 0")
    );
    assert_eq!(
        b.eval("return document.querySelector(\"[id='values.name']\").value")
            .await,
        json!("A-12"),
        "what was typed is kept"
    );
    b.screenshot("objects-record-refused").await;
    b.fill("[id='values.length']", "14.5").await;
    b.submit("form.record-form button[type=submit]").await;
    assert!(b.path().await.starts_with("/o/marina/objects/berth/"));
    assert_eq!(b.text("h1").await, "A-12");
    let a12 = b.path().await.rsplit('/').next().expect("id").to_owned();
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records/{a12}"),
            None,
        )
        .await
        .body;
    assert_eq!(stored["values"]["length"], json!(14.5));
    assert_eq!(stored["values"]["holder"], json!(ann));
    // A comment on its timeline.
    b.fill("#note-text", "Owner asked about winter rates.")
        .await;
    b.submit("form.composer button[type=submit]").await;
    assert!(
        b.text("#timeline")
            .await
            .contains("Owner asked about winter rates.")
    );
    b.screenshot("objects-record").await;

    // Two more, through the API.
    for (name, status, length) in [("B-3", "available", 9.0), ("C-7", "sold", 22.0)] {
        t.create(
            &owner,
            "/api/v1/objects/berth/records",
            json!({"values": {"name": name, "status": status, "length": length}}),
        )
        .await;
    }

    // The list filters by the select and by a range of the number.
    b.goto(&t.url("/o/marina/objects/berth")).await;
    assert_eq!(
        b.eval("return document.querySelectorAll('#objects\\\\/berth tbody tr').length")
            .await,
        json!(3)
    );
    assert!(b.text("#list-total").await.contains("3 berths"));
    b.eval("window.__rapportLeaving = true; return null").await;
    choose(&b, "#f-status", "available").await;
    b.wait_until(
        "return window.__rapportLeaving === undefined && document.readyState === 'complete'",
        "the list filtered by status",
    )
    .await;
    assert_eq!(
        b.eval("return [...document.querySelectorAll('tbody tr td:nth-child(2)')].map(td => td.textContent.trim()).sort().join(',')")
            .await,
        json!("A-12,B-3")
    );
    b.fill("#f-length-min", "10").await;
    b.submit("form.filters button[type=submit]").await;
    assert_eq!(
        b.eval("return [...document.querySelectorAll('tbody tr td:nth-child(2)')].map(td => td.textContent.trim()).join(',')")
            .await,
        json!("A-12")
    );
    assert!(
        b.text("tbody").await.contains("Ann Berg"),
        "the holder by name"
    );
    b.screenshot("objects-list-filtered").await;

    // The board: a column per status; dragging a card changes the status.
    b.goto(&t.url("/o/marina/objects/berth/board")).await;
    let card = format!(".deal-card[data-deal='{a12}']");
    assert!(
        b.exists(&format!(".column[data-stage='available'] {card}"))
            .await
    );
    b.screenshot("objects-board-before").await;
    b.drag(&card, ".column[data-stage='under_offer'] .column-cards")
        .await;
    b.wait_until(
        &format!("return !!document.querySelector(\".column[data-stage='under_offer'] {card}\") && !document.querySelector('[aria-busy]')"),
        "the card is under offer",
    )
    .await;
    let mut status = json!(null);
    for _ in 0..50 {
        status = berth_status(&t, &owner, &a12).await;
        if status == json!("under_offer") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, json!("under_offer"));
    b.screenshot("objects-board-after-move").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
        .await;
    b.screenshot("objects-board-dark").await;
    b.goto(&t.url(&format!("/o/marina/objects/berth/{a12}")))
        .await;
    assert!(
        b.text("#timeline")
            .await
            .contains("changed Status from Available to Under offer")
    );
    b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
        .await;
    b.screenshot("objects-record-dark").await;

    // At phone width, the list and a record still read.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    b.goto(&t.url("/o/marina/objects/berth")).await;
    b.screenshot("mobile-objects-list").await;
    b.goto(&t.url("/o/marina/objects/berth/board")).await;
    b.screenshot("mobile-objects-board").await;
    b.goto(&t.url(&format!("/o/marina/objects/berth/{a12}")))
        .await;
    b.screenshot("mobile-objects-record").await;
    b.close().await;
}

/// A relation's combobox finds a record beyond the first ones as people type in it.
#[tokio::test]
async fn a_long_relation_menu_finds_a_record_as_people_type() {
    if !enabled("a_long_relation_menu_finds_a_record_as_people_type") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    for (path, body) in [
        (
            "/api/v1/objects",
            json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
        ),
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "client", "label": "Client", "type": "relation", "target": "contact"}),
        ),
    ] {
        let r = t.org_call(&owner, Method::POST, path, Some(body)).await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    for i in 0..200 {
        t.create(
            &owner,
            "/api/v1/contacts",
            json!({ "name": format!("Skipper {i:03}") }),
        )
        .await;
    }
    let zoe = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Zoe Quinn"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let b = Browser::start(1280, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/marina/objects/berth/new")).await;
    b.fill("#values\\.name", "A-12").await;
    // The combobox asks the server: the record beyond the first 200 is found by typing.
    b.fill("[id='values.client']", "zoe").await;
    b.wait_until(
        "return [...document.querySelectorAll('.combo-options [role=option]')].some(o => o.textContent === 'Zoe Quinn')",
        "Zoe is offered",
    )
    .await;
    b.screenshots("relation-combobox").await;
    b.client_keys("[id='values.client']", "\u{E007}").await;
    assert_eq!(
        b.eval("return document.querySelector(\"[name='values.client']\").value")
            .await,
        json!(zoe),
        "Enter chooses the record found"
    );
    assert_eq!(
        b.eval("return document.getElementById('values.client').value")
            .await,
        json!("Zoe Quinn")
    );
    b.submit("form.card button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/marina/objects/berth/0"))
        .await;
    let berths = t
        .org_call(&owner, Method::GET, "/api/v1/objects/berth/records", None)
        .await;
    assert_eq!(berths.body["items"][0]["values"]["client"], zoe.as_str());
    b.close().await;
}

/// An admin adds a field to a built-in object from Settings → Objects and fields, fills it in a
/// contact's form and narrows the contacts list to a range of it.
#[tokio::test]
async fn an_admin_adds_a_field_to_contacts_and_filters_by_it() {
    if !enabled("an_admin_adds_a_field_to_contacts_and_filters_by_it") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    for name in ["Ann Berg", "Bob Lund"] {
        t.create(&owner, "/api/v1/contacts", json!({ "name": name }))
            .await;
    }
    let b = Browser::start(1280, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/marina/settings/objects")).await;
    b.screenshot("objects-settings-list").await;
    b.click("a[href='/o/marina/settings/objects/contact']")
        .await;
    b.wait_for_path(|p| p == "/o/marina/settings/objects/contact")
        .await;
    assert!(
        b.text("#field-email")
            .await
            .to_lowercase()
            .contains("built in"),
        "system fields are shown, fixed: {}",
        b.text("main").await
    );
    assert!(
        !b.exists("#object-h").await,
        "a built-in object's names are not edited here"
    );
    choose(&b, "#new-type", "number").await;
    b.fill("#new-label", "Boat length").await;
    b.submit("#new-field button[type=submit]").await;
    assert!(
        b.text("#field-boat_length").await.contains("Number"),
        "{}",
        b.text("main").await
    );
    b.screenshot("objects-settings-built-in").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
        .await;
    b.screenshot("objects-settings-built-in-dark").await;
    b.eval("document.documentElement.setAttribute('data-theme', 'light'); return null")
        .await;

    // The contact form takes it; the list filters by a range of it.
    b.goto(&t.url("/o/marina/contacts")).await;
    b.click("table tbody a").await;
    b.wait_for_path(|p| p.starts_with("/o/marina/contacts/0"))
        .await;
    b.edit_property("custom.boat_length", "12.5").await;
    b.goto(&t.url("/o/marina/contacts?custom.boat_length.min=10"))
        .await;
    let rows = b.text("table tbody").await;
    assert!(
        rows.contains("Ann Berg") && !rows.contains("Bob Lund"),
        "{rows}"
    );
    assert_eq!(
        b.eval("return document.querySelector(\"[name='custom.boat_length.min']\").value")
            .await,
        json!("10"),
        "the range shows what it narrows to"
    );
    b.screenshot("contacts-custom-range").await;
    b.close().await;
}

/// Choosing a value of a deal's custom select in the deals filter bar narrows the board to it
/// (the bar submits itself), and the board keeps its figures for what it shows.
#[tokio::test]
async fn the_deals_board_narrows_to_a_custom_select() {
    if !enabled("the_deals_board_narrows_to_a_custom_select") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/deal/fields",
            Some(
                json!({"key": "berth_size", "label": "Berth size", "type": "select",
                "options": [{"label": "Small"}, {"label": "Large"}]}),
            ),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    for (title, size) in [
        ("Dinghy spot", "small"),
        ("Yacht berth", "large"),
        ("Catamaran", "large"),
    ] {
        t.create(
            &owner,
            "/api/v1/deals",
            json!({"title": title, "amount": 1200, "custom": {"berth_size": size}}),
        )
        .await;
    }
    for (width, suffix) in [(1280, ""), (390, "-phone")] {
        let b = Browser::start(width, 900).await;
        sign_in(&b, &t, "owner@example.com").await;
        b.goto(&t.url("/o/marina/deals")).await;
        choose(&b, "#f-custom\\.berth_size", "large").await;
        b.wait_for_path(|_| true).await;
        b.wait_until(
            "return location.search.includes('custom.berth_size=large')",
            "the filter bar submits the choice",
        )
        .await;
        let board = b.text("#board").await;
        assert!(
            board.contains("Yacht berth") && board.contains("Catamaran"),
            "{board}"
        );
        assert!(!board.contains("Dinghy spot"), "{board}");
        b.screenshot(&format!("deals-custom-filter{suffix}")).await;
        b.eval("document.documentElement.setAttribute('data-theme', 'dark'); return null")
            .await;
        b.screenshot(&format!("deals-custom-filter-dark{suffix}"))
            .await;
        b.close().await;
    }
}

/// A board column longer than its first page loads the rest as its end scrolls into view, and a
/// card loaded that way moves like the others.
#[tokio::test]
async fn a_long_board_column_of_records_loads_the_rest_as_it_scrolls() {
    if !enabled("a_long_board_column_of_records_loads_the_rest_as_it_scrolls") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    for (path, body) in [
        (
            "/api/v1/objects",
            json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
        ),
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "status", "label": "Status", "type": "select", "default": "available",
                   "options": [{"key": "available", "label": "Available", "color": "green"},
                               {"key": "sold", "label": "Sold"}]}),
        ),
    ] {
        let r = t.org_call(&owner, Method::POST, path, Some(body)).await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let mut ids = Vec::new();
    for i in 0..30 {
        let r = t
            .create(
                &owner,
                "/api/v1/objects/berth/records",
                json!({"values": {"name": format!("Berth {i:02}")}}),
            )
            .await;
        ids.push(r["id"].as_str().expect("id").to_owned());
    }
    let b = Browser::start(1400, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/marina/objects/berth/board")).await;
    let column = ".column[data-stage='available']";
    let cards = format!("return document.querySelectorAll(\"{column} .deal-card\").length");
    assert_eq!(b.eval(&cards).await.as_u64(), Some(25));
    assert_eq!(
        b.text(&format!("{column} .column-count")).await.trim(),
        "30",
        "the count covers the cards not loaded yet"
    );
    b.eval(&format!(
        "document.querySelector(\"{column} [data-more]\").scrollIntoView(); return null"
    ))
    .await;
    b.wait_until(
        &format!(
            "return document.querySelectorAll(\"{column} .deal-card\").length === 30 && !document.querySelector(\"{column} [data-more]\")"
        ),
        "the column holds all 30 cards",
    )
    .await;
    b.screenshot("objects-board-column-loaded").await;
    // The oldest berth came with the second page; it moves like any card (on a screen tall
    // enough to hold the column).
    b.client
        .set_window_size(1400, 3600)
        .await
        .expect("a tall window");
    b.eval("window.scrollTo(0, 0); return null").await;
    let card = format!(".deal-card[data-deal='{}']", ids[0]);
    b.drag(&card, ".column[data-stage='sold'] .column-cards")
        .await;
    b.wait_until(
        &format!("return !!document.querySelector(\".column[data-stage='sold'] {card}\") && !document.querySelector('[aria-busy]')"),
        "the card is sold",
    )
    .await;
    let mut status = json!(null);
    for _ in 0..50 {
        status = berth_status(&t, &owner, &ids[0]).await;
        if status == json!("sold") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, json!("sold"));
    b.close().await;
}

/// A custom object's board shows on its cards the fields chosen in its "Fields" menu, kept in
/// its address (so a saved view or a link keeps them); none chosen, the first three.
#[tokio::test]
async fn a_board_shows_the_fields_chosen_for_its_cards() {
    if !enabled("a_board_shows_the_fields_chosen_for_its_cards") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
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
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "pier", "label": "Pier", "type": "text"}),
        ),
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "length", "label": "Length", "type": "number"}),
        ),
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "depth", "label": "Depth", "type": "number"}),
        ),
        (
            "/api/v1/objects/berth/fields",
            json!({"key": "power", "label": "Power", "type": "text"}),
        ),
    ] {
        let r = t.org_call(&owner, Method::POST, path, Some(body)).await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    }
    t.create(
        &owner,
        "/api/v1/objects/berth/records",
        json!({"values": {"name": "A-01", "status": "free", "pier": "North", "length": 12,
                          "depth": 3, "power": "32 A"}}),
    )
    .await;
    let b = Browser::start(1400, 900).await;
    sign_in(&b, &t, "owner@example.com").await;
    b.goto(&t.url("/o/marina/objects/berth/board")).await;
    let labels = "return [...document.querySelectorAll('.deal-card dt')].map(e => e.textContent)";
    assert_eq!(b.eval(labels).await, json!(["Pier", "Length", "Depth"]));
    b.click(".columns-menu summary").await;
    // Length and Power chosen (a box changed sends the form, as the list's column menu does).
    b.eval(
        "for (const [key, on] of [['pier', false], ['depth', false], ['power', true]]) \
           document.querySelector(`.columns-menu input[value='${key}']`).checked = on; return null",
    )
    .await;
    b.submit(".filters button[type=submit]").await;
    assert_eq!(b.eval(labels).await, json!(["Length", "Power"]));
    assert!(
        b.eval("return location.search")
            .await
            .as_str()
            .unwrap_or_default()
            .contains("cols="),
        "the choice is kept in the address"
    );
    b.screenshots("object-board-card-fields").await;
    b.close().await;
}
