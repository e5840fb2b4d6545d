//! The pages every custom object gets without code written for it, read as a browser reads
//! them (session cookie, forms): list with filters, board, the record form with errors next to
//! fields, the timeline of changes, CSV export, saved views, and other organizations kept out.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::deals::board_column;
use crate::objects::define_berths;
use crate::support::{Account, Resp, TestApp};

async fn page(t: &TestApp, session: &(String, String), path: &str) -> Resp {
    let r = t
        .client
        .get(t.url(path))
        .header("cookie", &session.0)
        .send()
        .await
        .expect("sent");
    Resp::from(r).await
}

async fn berth(t: &TestApp, who: &Account, values: Value) -> String {
    t.create(
        who,
        "/api/v1/objects/berth/records",
        json!({ "values": values }),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn a_custom_object_gets_list_board_form_timeline_and_export_pages() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let ann = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Ann Berg"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let a12 = berth(
        &t,
        &owner,
        json!({"name": "A-12, east pontoon", "status": "available", "length": 14.5, "client": ann}),
    )
    .await;
    berth(
        &t,
        &owner,
        json!({"name": "=B-3", "status": "sold", "length": 9}),
    )
    .await;
    berth(
        &t,
        &owner,
        json!({"name": "C-7", "status": "under_offer", "length": 22}),
    )
    .await;
    let browser = t.browser_session("owner@example.com").await;

    // The list: every record, values as people read them (labels, names), filters by select
    // and by range.
    let list = page(&t, &browser, "/o/marina/objects/berth").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("3 berths"), "{}", list.text);
    assert!(list.text.contains("Under offer") && !list.text.contains("Ann Berg"));
    let chosen = page(&t, &browser, "/o/marina/objects/berth?cols=status,client").await;
    assert!(
        chosen.text.contains("Ann Berg"),
        "a chosen column: the client by name"
    );
    assert!(
        !chosen.text.contains("Length (m)</a></th>"),
        "columns not chosen are left out"
    );
    assert!(
        list.text.contains("Length (m)</a></th>"),
        "a sortable column by default"
    );
    let sold = page(&t, &browser, "/o/marina/objects/berth?status=sold").await;
    assert!(sold.text.contains("=B-3") && !sold.text.contains("C-7"));
    let long = page(
        &t,
        &browser,
        "/o/marina/objects/berth?length.min=10&length.max=20",
    )
    .await;
    assert!(
        long.text.contains("A-12") && !long.text.contains("C-7") && !long.text.contains("=B-3")
    );
    let sorted = page(&t, &browser, "/o/marina/objects/berth?sort=-length").await;
    let (c7, a) = (
        sorted.text.find("C-7").expect("C-7"),
        sorted.text.find("A-12").expect("A-12"),
    );
    assert!(c7 < a, "longest first");
    // A filter the engine refuses (not a number) says so and shows the list, never an error page.
    let bad = page(&t, &browser, "/o/marina/objects/berth?length.min=long").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.text.contains("class=\"notice\""), "{}", bad.text);

    // A saved view of the list.
    let r = t
        .form(
            &browser,
            "/o/marina/views",
            &[
                ("list", "objects/berth"),
                ("name", "Sold"),
                ("query", "status=sold&sort=-created_at&cols=status,length"),
                ("back", "/o/marina/objects/berth"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let list = page(&t, &browser, "/o/marina/objects/berth").await;
    assert!(list.text.contains(">Sold<"), "the view is offered");

    // The board: a column per status, in the options' order, with exact counts.
    let board = page(&t, &browser, "/o/marina/objects/berth/board").await;
    assert_eq!(board.status, StatusCode::OK);
    let cols: Vec<usize> = [
        "data-stage=\"available\"",
        "data-stage=\"under_offer\"",
        "data-stage=\"sold\"",
    ]
    .iter()
    .map(|c| board.text.find(c).expect(c))
    .collect();
    assert!(cols.windows(2).all(|w| w[0] < w[1]), "options' order");
    assert!(board.text.contains(&format!("data-deal=\"{a12}\"")));
    // Moving a card (the board's script asks for JSON).
    let moved = t
        .client
        .post(t.url(&format!("/o/marina/objects/berth/{a12}/move")))
        .header("cookie", &browser.0)
        .header("origin", &t.base)
        .header("x-requested-with", "fetch")
        .form(&[
            ("_csrf", browser.1.as_str()),
            ("field", "status"),
            ("stage", "reserved"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(moved.status(), StatusCode::OK);
    let refused = t
        .client
        .post(t.url(&format!("/o/marina/objects/berth/{a12}/move")))
        .header("cookie", &browser.0)
        .header("origin", &t.base)
        .header("x-requested-with", "fetch")
        .form(&[
            ("_csrf", browser.1.as_str()),
            ("field", "status"),
            ("stage", "sunk"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = refused.json().await.expect("json");
    assert_eq!(answer["ok"], false);
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains("must be one of")
    );

    // Without script, a card's "Move" menu posts the board's one form, naming the card.
    let stage_field = format!("stage.{a12}");
    let r = t
        .form(
            &browser,
            "/o/marina/objects/berth/move",
            &[
                ("field", "status"),
                ("record", &a12),
                (&stage_field, "under_offer"),
                ("back", "/o/marina/objects/berth/board"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let moved = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records/{a12}"),
            None,
        )
        .await;
    assert_eq!(moved.body["values"]["status"], "under_offer");
    let r = t
        .form(
            &browser,
            "/o/marina/objects/berth/move",
            &[
                ("field", "status"),
                ("record", &a12),
                (&stage_field, "reserved"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    // The form: errors next to each field, nothing stored; then a record is made.
    let r = t
        .form(
            &browser,
            "/o/marina/objects/berth/new",
            &[
                ("values.name", ""),
                ("values.length", "very long"),
                ("values.status", "available"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("id=\"values.name-error\""), "{}", r.text);
    assert!(r.text.contains("id=\"values.length-error\""));
    assert!(
        r.text.contains("value=\"very long\""),
        "what was typed is kept"
    );
    let r = t
        .form(
            &browser,
            "/o/marina/objects/berth/new",
            &[
                ("values.name", "D-1"),
                ("values.length", "1,2.5"),
                ("values.price", "48000"),
                ("values.price.currency", "gbp"),
                ("values.features", "water"),
                ("values.features", "power"),
                ("values.covered", "true"),
                ("values.available_from", "2027-04-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let d1 = r
        .header("location")
        .expect("location")
        .split('/')
        .next_back()
        .expect("id")
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records/{d1}"),
            None,
        )
        .await
        .body;
    assert_eq!(stored["values"]["name"], "D-1");
    assert_eq!(
        stored["values"]["length"],
        json!(12.5),
        "typed as people write numbers"
    );
    assert_eq!(
        stored["values"]["price"],
        json!({"amount": 48000.0, "currency": "GBP"})
    );
    assert_eq!(stored["values"]["features"], json!(["power", "water"]));
    assert_eq!(stored["values"]["covered"], json!(true));
    assert_eq!(stored["values"]["available_from"], "2027-04-01");
    assert_eq!(stored["values"]["status"], "available", "the default");

    // The record page shows the change on its timeline, in the fields' words.
    let record = page(&t, &browser, &format!("/o/marina/objects/berth/{a12}")).await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(
        record
            .text
            .contains("changed Status from Available to Reserved"),
        "{}",
        record.text
    );

    // Tags, from the record's page; shown on it and in the list's tag column.
    let r = t
        .form(
            &browser,
            &format!("/o/marina/records/{a12}/tags"),
            &[("new_tag", "Winter rate")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let record = page(&t, &browser, &format!("/o/marina/objects/berth/{a12}")).await;
    assert!(record.text.contains("Winter rate"), "{}", record.text);
    let tagged = page(&t, &browser, "/o/marina/objects/berth?cols=tags").await;
    assert!(tagged.text.contains("Winter rate"));
    // The API sets them the same way (and a record of another object id is not found).
    let tag_id = t
        .org_call(&owner, Method::GET, "/api/v1/tags", None)
        .await
        .body[0]["id"]
        .clone();
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            &format!("/api/v1/records/{ann}/tags"),
            Some(json!({"tag_ids": [tag_id]})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a contact is not a custom record"
    );
    let r = t
        .org_call(
            &owner,
            Method::PUT,
            &format!("/api/v1/records/{a12}/tags"),
            Some(json!({"tag_ids": [tag_id]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[0]["name"], "Winter rate");

    // Tasks about the record: from its page, and through the API.
    let r = t
        .form(
            &browser,
            "/o/marina/tasks",
            &[
                ("title", "Inspect the pontoon cleats"),
                ("record_id", &a12),
                ("back", &format!("/o/marina/objects/berth/{a12}")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Send the winter contract", "record_id": a12}),
        )
        .await;
    assert_eq!(task["record_id"], a12.as_str());
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"title": "Nowhere", "record_id": ann})),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "record_id");
    let listed = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/tasks?record_id={a12}"),
            None,
        )
        .await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        listed.text
    );
    let record = page(&t, &browser, &format!("/o/marina/objects/berth/{a12}")).await;
    assert!(record.text.contains("Inspect the pontoon cleats"));
    assert!(
        record
            .text
            .contains("added the task “Send the winter contract”"),
        "on the timeline"
    );

    // A notification's link names the record alone; it leads to the record's page.
    let by_id = page(&t, &browser, &format!("/o/marina/records/{a12}")).await;
    assert!(
        by_id.status == StatusCode::SEE_OTHER || by_id.text.contains("<h1>A-12"),
        "{}",
        by_id.status
    );
    if by_id.status == StatusCode::SEE_OTHER {
        assert_eq!(
            by_id.headers["location"],
            format!("/o/marina/objects/berth/{a12}").as_str()
        );
    }

    // The other side of the relation: the contact's page lists the berths pointing at her.
    let contact = page(&t, &browser, &format!("/o/marina/contacts/{ann}")).await;
    assert!(contact.text.contains("Berths (Client)"), "{}", contact.text);
    assert!(
        contact
            .text
            .contains(&format!("/o/marina/objects/berth/{a12}"))
    );

    // A built-in object's custom fields join its form; a wrong value is shown next to the field.
    t.create(
        &owner,
        "/api/v1/objects/contact/fields",
        json!({"key": "boat", "label": "Boat name", "type": "text", "max": 20}),
    )
    .await;
    let contact = page(&t, &browser, &format!("/o/marina/contacts/{ann}")).await;
    assert!(
        contact.text.contains("name=\"custom.boat\""),
        "{}",
        contact.text
    );
    let r = t
        .form(
            &browser,
            &format!("/o/marina/contacts/{ann}"),
            &[("name", "Ann Berg"), ("custom.boat", &"x".repeat(21))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("id=\"custom.boat-error\""), "{}", r.text);
    let r = t
        .form(
            &browser,
            &format!("/o/marina/contacts/{ann}"),
            &[("name", "Ann Berg"), ("custom.boat", "Sea Breeze")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/contacts/{ann}"),
            None,
        )
        .await
        .body;
    assert_eq!(stored["custom"]["boat"], "Sea Breeze");

    // Deals too: their form shows the custom fields, keeps what was typed when one is wrong, and
    // saves them on creation and on edit.
    t.create(
        &owner,
        "/api/v1/objects/deal/fields",
        json!({"key": "season", "label": "Season", "type": "select", "required": true,
               "options": [{"key": "summer", "label": "Summer"}, {"key": "winter", "label": "Winter"}]}),
    )
    .await;
    let form = page(&t, &browser, "/o/marina/deals/new").await;
    assert!(
        form.text.contains("name=\"custom.season\""),
        "{}",
        form.text
    );
    let r = t
        .form(
            &browser,
            "/o/marina/deals/new",
            &[
                ("title", "Berth A-12, 2027"),
                ("amount", "1200"),
                ("custom.season", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("id=\"custom.season-error\""), "{}", r.text);
    assert!(r.text.contains("Berth A-12, 2027"), "what was typed stays");
    let r = t
        .form(
            &browser,
            "/o/marina/deals/new",
            &[
                ("title", "Berth A-12, 2027"),
                ("amount", "1200"),
                ("custom.season", "summer"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let deal_path = r.headers["location"].to_str().expect("location").to_owned();
    let deal_id = deal_path.rsplit('/').next().expect("id").to_owned();
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{deal_id}"),
            None,
        )
        .await
        .body;
    assert_eq!(stored["custom"]["season"], "summer");
    let edit = page(&t, &browser, &format!("{deal_path}/edit")).await;
    assert!(
        edit.text.contains("<option value=\"summer\" selected>"),
        "{}",
        edit.text
    );
    let r = t
        .form(
            &browser,
            &format!("{deal_path}/edit"),
            &[
                ("title", "Berth A-12, 2027"),
                ("amount", "1200"),
                ("custom.season", "winter"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{deal_id}"),
            None,
        )
        .await
        .body;
    assert_eq!(stored["custom"]["season"], "winter");

    // ⌘K and the API's global search find custom records too, by their object.
    let found = page(&t, &browser, "/o/marina/search?q=east%20pont").await;
    assert_eq!(found.body[0]["kind"], "Berth", "{}", found.text);
    assert_eq!(found.body[0]["title"], "A-12, east pontoon");
    assert_eq!(
        found.body[0]["href"],
        format!("/o/marina/objects/berth/{a12}")
    );
    let api = t
        .org_call(&owner, Method::GET, "/api/v1/search?q=pontoon", None)
        .await;
    assert_eq!(api.body[0]["kind"], "berth", "{}", api.text);
    assert_eq!(api.body[0]["id"], a12.as_str());

    // CSV: every field by label, values by name, formulas neutralized, filters kept.
    let csv = page(&t, &browser, "/o/marina/objects/berth/export.csv?sort=name").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(
        lines[0].starts_with("id,Name,Code,Status,Length (m),Price"),
        "{}",
        lines[0]
    );
    assert!(
        lines.iter().any(|l| l.contains("'=B-3")),
        "formula neutralized"
    );
    assert!(lines.iter().any(|l| l.contains("\"A-12, east pontoon\"")
        && l.contains("Ann Berg")
        && l.contains("Reserved")));
    let only_sold = page(
        &t,
        &browser,
        "/o/marina/objects/berth/export.csv?status=sold",
    )
    .await;
    assert_eq!(only_sold.text.lines().count(), 2, "{}", only_sold.text);

    // Another organization sees none of it.
    let other = t.register("other@example.com", Some("Agency")).await;
    let _ = other;
    let outsider = t.browser_session("other@example.com").await;
    let r = page(&t, &outsider, &format!("/o/marina/objects/berth/{a12}")).await;
    assert!(
        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.status
    );
    let r = page(&t, &outsider, "/o/agency/objects/berth").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = page(&t, &outsider, &format!("/o/agency/objects/berth/{a12}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A board column opens with its first 25 cards; its "more" address gives the next ones (in
/// the board's order and search), the column without a value included.
#[tokio::test]
async fn a_board_column_opens_with_its_first_cards_and_loads_the_rest() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let mut created = Vec::new();
    for i in 1..=30 {
        created.push(berth(&t, &owner, json!({"name": format!("Berth {i:02}")})).await);
    }
    berth(
        &t,
        &owner,
        json!({"name": "Dry dock", "status": "maintenance"}),
    )
    .await;
    let mut unset = Vec::new();
    for i in 1..=27 {
        unset.push(
            berth(
                &t,
                &owner,
                json!({"name": format!("Spare {i:02}"), "status": null}),
            )
            .await,
        );
    }
    let browser = t.browser_session("owner@example.com").await;

    let board = page(&t, &browser, "/o/marina/objects/berth/board?by=status").await;
    assert_eq!(board.status, StatusCode::OK);
    let (first, count, more) = board_column(&board.text, Some("available"));
    // Newest first, a page of 25; the count covers the whole column.
    let newest: Vec<String> = created.iter().rev().take(25).cloned().collect();
    assert_eq!(first, newest);
    assert_eq!(count, Some(30));
    let (maintenance, _, none) = board_column(&board.text, Some("maintenance"));
    assert_eq!(
        (maintenance.len(), none),
        (1, None),
        "a short column has no more"
    );

    let more = more.expect("the column has more");
    assert!(
        more.contains("/o/marina/objects/berth/board/more?"),
        "{more}"
    );
    let next = page(&t, &browser, &more).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
    let (rest, _, after) = board_column(&next.text, None);
    let oldest: Vec<String> = created.iter().rev().skip(25).cloned().collect();
    assert_eq!(rest, oldest, "the rest, in the same order, none twice");
    assert_eq!(after, None, "the last page links to nothing more");
    assert!(
        next.text.contains("name=\"stage.") && !next.text.contains("<html"),
        "a fragment of cards with their move menus: {}",
        next.text
    );

    // A searched board pages within the search.
    let searched = page(
        &t,
        &browser,
        "/o/marina/objects/berth/board?by=status&search=Berth%200",
    )
    .await;
    let (found, _, more) = board_column(&searched.text, Some("available"));
    assert_eq!(found.len(), 9, "Berth 01 to 09");
    assert_eq!(more, None);
    let searched = page(
        &t,
        &browser,
        "/o/marina/objects/berth/board?by=status&search=Berth",
    )
    .await;
    let (found, _, more) = board_column(&searched.text, Some("available"));
    assert_eq!(found.len(), 25);
    let more = more.expect("more berths");
    assert!(more.contains("search=Berth"), "{more}");
    let (rest, _, _) = board_column(&page(&t, &browser, &more).await.text, None);
    assert_eq!(
        rest,
        created.iter().rev().skip(25).cloned().collect::<Vec<_>>()
    );
    assert!(!searched.text.contains("Spare 01"), "no spare is a berth");

    // A card's menu can also clear the status (the field may be empty).
    assert!(
        board.text.contains("<option value=\"\">No status</option>"),
        "{}",
        board.text
    );

    // The column of berths without a status pages too.
    let (first, count, more) = board_column(&board.text, Some(""));
    let newest: Vec<String> = unset.iter().rev().take(25).cloned().collect();
    assert_eq!(
        (first, count),
        (newest, Some(27)),
        "the count: the object's records less those with a status"
    );
    let next = page(&t, &browser, &more.expect("more without a status")).await;
    let (rest, _, after) = board_column(&next.text, None);
    let oldest: Vec<String> = unset.iter().rev().skip(25).cloned().collect();
    assert_eq!((rest, after), (oldest, None));

    // A column that is no option of the field, or no position, is not found.
    for bad in [
        "/o/marina/objects/berth/board/more?by=status&board.column=sunk&after=x",
        "/o/marina/objects/berth/board/more?by=status&board.column=available",
    ] {
        assert_eq!(
            page(&t, &browser, bad).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // Someone of another organization is refused the cards.
    t.register("other@example.com", Some("Other")).await;
    let other = t.browser_session("other@example.com").await;
    let theirs = page(&t, &other, &more_of(&board.text)).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN);
    assert!(!theirs.text.contains("Berth 0"), "{}", theirs.text);
}

/// The first "more" address of a board page.
fn more_of(html: &str) -> String {
    board_column(html, Some("available")).2.expect("more")
}

/// A built-in list offers its custom fields as columns: chosen, they show values as people read
/// them (an option's label, a related record's name linking to it); not chosen, they stay out.
#[tokio::test]
async fn built_in_lists_show_custom_fields_as_columns() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let a12 = berth(&t, &owner, json!({"name": "A-12"})).await;
    for field in [
        json!({"key": "tier", "label": "Tier", "type": "select", "options": [{"label": "Gold"}, {"label": "Silver"}]}),
        json!({"key": "berth", "label": "Berth", "type": "relation", "target": "berth"}),
        json!({"key": "old_note", "label": "Old note", "type": "text"}),
        json!({"key": "crafts", "label": "Crafts", "type": "multi_select", "options": [{"label": "Sail"}, {"label": "Motor"}]}),
        json!({"key": "length", "label": "Length", "type": "number"}),
    ] {
        let r = t
            .org_call(
                &owner,
                Method::POST,
                "/api/v1/objects/contact/fields",
                Some(field),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = t
        .org_call(
            &owner,
            Method::PATCH,
            "/api/v1/objects/contact/fields/old_note",
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ann = t
        .create(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Ann Berg", "email": "ann@example.com", "custom": {"tier": "gold", "berth": a12, "crafts": ["sail"], "length": 12}}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.create(
        &owner,
        "/api/v1/contacts",
        json!({"name": "Bob Lund", "custom": {"tier": "silver", "crafts": ["motor", "sail"], "length": 6}}),
    )
    .await;
    t.create(&owner, "/api/v1/contacts", json!({"name": "Cleo Ray"}))
        .await;
    let browser = t.browser_session("owner@example.com").await;

    // The berth's page lists the contacts whose custom relation points at it.
    let berth_page = page(&t, &browser, &format!("/o/marina/objects/berth/{a12}")).await;
    assert!(
        berth_page.text.contains("Contacts (Berth)")
            && berth_page
                .text
                .contains(&format!("href=\"/o/marina/contacts/{ann}\">Ann Berg</a>")),
        "{}",
        berth_page.text
    );

    let list = page(&t, &browser, "/o/marina/contacts").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("value=\"tier\""), "offered as a column");
    assert!(list.text.contains("value=\"berth\""), "offered as a column");
    assert!(
        !list.text.contains("value=\"old_note\""),
        "archived: not offered"
    );
    assert!(
        !list.text.contains(">Tier</a></th>"),
        "not chosen: not shown"
    );

    let list = page(&t, &browser, "/o/marina/contacts?cols=email,tier,berth").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains(">Tier</a></th>"), "sorts: {}", list.text);
    assert!(
        list.text.contains(">Berth</th>"),
        "a relation does not sort: {}",
        list.text
    );
    assert!(list.text.contains("Gold"), "the option's label");
    assert!(
        list.text
            .contains(&format!("href=\"/o/marina/objects/berth/{a12}\">A-12</a>")),
        "the related record's name, linking to it: {}",
        list.text
    );
    assert!(list.text.contains("ann@example.com"));

    // Filtered by a custom select from the filter bar: the list, and its CSV export.
    assert!(
        list.text.contains("name=\"custom.tier\""),
        "a filter for the select"
    );
    assert!(
        list.text.contains("name=\"custom.crafts\""),
        "a filter for the multi-select"
    );
    let gold = page(&t, &browser, "/o/marina/contacts?custom.tier=gold").await;
    assert!(gold.text.contains("Ann Berg") && !gold.text.contains("Bob Lund"));
    assert!(!gold.text.contains("Cleo Ray"));
    let motor = page(&t, &browser, "/o/marina/contacts?custom.crafts=motor").await;
    assert!(motor.text.contains("Bob Lund") && !motor.text.contains("Ann Berg"));
    // A custom number is a range (from / to) in the filter bar.
    assert!(
        list.text.contains("name=\"custom.length.min\""),
        "a range for the number: {}",
        list.text
    );
    let long = page(&t, &browser, "/o/marina/contacts?custom.length.min=10").await;
    assert!(long.text.contains("Ann Berg") && !long.text.contains("Bob Lund"));
    let short = page(
        &t,
        &browser,
        "/o/marina/contacts?custom.length.max=10&custom.tier=silver",
    )
    .await;
    assert!(short.text.contains("Bob Lund") && !short.text.contains("Ann Berg"));
    // A custom column sorts the list (records without a value last); a sort by a field that is
    // not there is dropped, and said.
    let by_length = page(
        &t,
        &browser,
        "/o/marina/contacts?cols=length&sort=custom.length",
    )
    .await;
    assert!(
        by_length.text.contains("sort=-custom.length"),
        "the header sorts the other way next: {}",
        by_length.text
    );
    let order = |text: &str| -> Vec<usize> {
        ["Bob Lund", "Ann Berg", "Cleo Ray"]
            .iter()
            .map(|n| text.find(n).unwrap_or(usize::MAX))
            .collect()
    };
    let at = order(&by_length.text);
    assert!(at[0] < at[1] && at[1] < at[2], "6 m, 12 m, none: {at:?}");
    let longest = page(
        &t,
        &browser,
        "/o/marina/contacts?cols=length&sort=-custom.length",
    )
    .await;
    let at = order(&longest.text);
    assert!(at[1] < at[0] && at[0] < at[2], "12 m, 6 m, none: {at:?}");
    let gone = page(&t, &browser, "/o/marina/contacts?sort=custom.nothing").await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert!(
        gone.text.contains("cannot be sorted by nothing"),
        "{}",
        gone.text
    );

    // A range that is not a number: the whole list, and why.
    let wrong = page(&t, &browser, "/o/marina/contacts?custom.length.min=long").await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.text);
    assert!(wrong.text.contains("Ann Berg") && wrong.text.contains("Bob Lund"));
    assert!(wrong.text.contains("must be a number"), "{}", wrong.text);
    let csv = page(
        &t,
        &browser,
        "/o/marina/contacts/export.csv?custom.tier=silver",
    )
    .await;
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(lines[1].contains("Bob Lund"), "{}", csv.text);

    // The same through the API's record grammar, custom keys beside the kind's own.
    let names = |r: &Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["values"]["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let r = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/objects/contact/records?filter[tier]=gold",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r), ["Ann Berg"]);
    let r = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/objects/contact/records?filter[crafts][in]=sail,motor&sort=name",
            None,
        )
        .await;
    assert_eq!(names(&r), ["Ann Berg", "Bob Lund"], "{}", r.text);
    let r = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/objects/contact/records?filter[tier]=silver&search=lund",
            None,
        )
        .await;
    assert_eq!(names(&r), ["Bob Lund"], "{}", r.text);
    // An archived field is not one to filter on; a select has no range.
    t.org_call(
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?filter[old_note]=x",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "unknown_filter");
    t.org_call(
        &owner,
        Method::GET,
        "/api/v1/objects/contact/records?filter[tier][gt]=gold",
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_filter");
}

/// A form refused before it reaches the record's checks (an amount or a score that is not a
/// number) names its wrong custom values in the same answer, next to their fields.
#[tokio::test]
async fn a_form_refused_early_names_its_wrong_custom_values_too() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    for object in ["deal", "lead"] {
        let r = t
            .org_call(
                &owner,
                Method::POST,
                &format!("/api/v1/objects/{object}/fields"),
                Some(json!({"key": "boat", "label": "Boat", "type": "text", "max": 5})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let browser = t.browser_session("owner@example.com").await;
    for (path, form) in [
        (
            "/o/marina/deals/new",
            vec![
                ("title", "Winter berth"),
                ("amount", "bogus"),
                ("custom.boat", "Sea Breeze"),
            ],
        ),
        (
            "/o/marina/leads/new",
            vec![
                ("name", "Ann Berg"),
                ("score", "many"),
                ("custom.boat", "Sea Breeze"),
            ],
        ),
    ] {
        let mut fields = vec![("_csrf", browser.1.as_str())];
        fields.extend(form);
        let r = t
            .client
            .post(t.url(path))
            .header("cookie", &browser.0)
            .header("origin", &t.base)
            .form(&fields)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let html = r.text().await.expect("html");
        let own = if path.contains("deals") {
            "amount"
        } else {
            "score"
        };
        assert!(
            html.contains(&format!("id=\"{own}-error\"")),
            "{path}: {html}"
        );
        assert!(html.contains("id=\"custom.boat-error\""), "{path}: {html}");
        assert!(html.contains("Sea Breeze"), "what was typed stays: {path}");
    }
}

/// A task has a page of its own: what it is about, its form with its custom fields (changed,
/// refused with every wrong field named), and deleting it.
#[tokio::test]
async fn a_task_is_changed_with_its_custom_fields_on_its_page() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/task/fields",
            Some(json!({"key": "dock", "label": "Dock", "type": "select", "options": [{"label": "North"}, {"label": "South"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Winter berth"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let task = t
        .create(
            &owner,
            "/api/v1/tasks",
            json!({"title": "Call about the berth", "deal_id": deal}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let browser = t.browser_session("owner@example.com").await;
    let path = format!("/o/marina/tasks/{task}");
    let shown = page(&t, &browser, &path).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert!(shown.text.contains("Call about the berth"));
    assert!(
        shown.text.contains("name=\"custom.dock\""),
        "its custom field"
    );
    assert!(
        shown
            .text
            .contains(&format!("href=\"/o/marina/deals/{deal}\"")),
        "what it is about"
    );
    let post = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("_csrf", browser.1.clone())];
        form.extend(fields);
        t.client
            .post(t.url(&path))
            .header("cookie", &browser.0)
            .header("origin", &t.base)
            .form(&form)
            .send()
    };
    // Every wrong field named at once; nothing written.
    let refused = post(vec![
        ("title", "Call back".into()),
        ("due_date", "someday".into()),
        ("custom.dock", "east".into()),
    ])
    .await
    .expect("sent");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.expect("html");
    assert!(html.contains("id=\"due_date-error\""), "{html}");
    assert!(html.contains("id=\"custom.dock-error\""), "{html}");
    let saved = post(vec![
        ("title", "Call back about the berth".into()),
        ("due_date", "2031-01-15".into()),
        ("assignee_id", owner.user_id.clone()),
        ("is_done", "true".into()),
        ("custom.dock", "north".into()),
    ])
    .await
    .expect("sent");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let now = t
        .org_call(&owner, Method::GET, &format!("/api/v1/tasks/{task}"), None)
        .await;
    assert_eq!(now.body["title"], "Call back about the berth");
    assert_eq!(now.body["due_date"], "2031-01-15");
    assert_eq!(now.body["is_done"], true);
    assert_eq!(now.body["custom"]["dock"], "north");
    assert_eq!(now.body["deal_id"], deal.as_str(), "its deal stays");

    let deleted = t
        .client
        .post(t.url(&format!("{path}/delete")))
        .header("cookie", &browser.0)
        .header("origin", &t.base)
        .form(&[("_csrf", browser.1.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let gone = page(&t, &browser, &path).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_custom_date_and_time_is_entered_and_read_in_the_person_s_time_zone() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let r = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/contact/fields",
            Some(json!({"key": "met_at", "label": "Met at", "type": "datetime"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // New York is UTC−5 in January.
    let zoned = t
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&owner.access),
            Some(json!({"time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(zoned.status, StatusCode::OK, "{}", zoned.text);
    let contact = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Ann Berg"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let browser = t.browser_session("owner@example.com").await;
    let path = format!("/o/marina/contacts/{contact}");
    let saved = t
        .client
        .post(t.url(&path))
        .header("cookie", &browser.0)
        .header("origin", &t.base)
        .form(&[
            ("_csrf", browser.1.as_str()),
            ("name", "Ann Berg"),
            ("owner_id", owner.user_id.as_str()),
            ("custom.met_at", "2031-01-15T09:30"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stored = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/contacts/{contact}"),
            None,
        )
        .await;
    assert_eq!(
        stored.body["custom"]["met_at"], "2031-01-15T14:30:00Z",
        "09:30 in New York is 14:30 UTC"
    );
    let shown = page(&t, &browser, &path).await;
    assert!(
        shown.text.contains("value=\"2031-01-15T09:30\""),
        "the form shows the person's time"
    );
    assert!(shown.text.contains("In your time zone (America/New_York)."));
    let list = page(&t, &browser, "/o/marina/contacts?cols=met_at").await;
    assert!(
        list.text.contains("2031-01-15 09:30"),
        "the list shows the person's time"
    );
    // The CSV says UTC, whoever exports it.
    let csv = page(&t, &browser, "/o/marina/contacts/export.csv?cols=met_at").await;
    assert!(csv.text.contains("2031-01-15 14:30 UTC"), "{}", csv.text);
}

#[tokio::test]
async fn built_in_forms_are_drawn_from_their_definitions() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    let browser = t.browser_session("owner@example.com").await;

    // A company's form: the registry's labels, help and size options.
    let company = page(&t, &browser, "/o/marina/companies/new").await;
    assert_eq!(company.status, StatusCode::OK, "{}", company.text);
    assert!(company.text.contains(">Web domain<"));
    assert!(
        company
            .text
            .contains("https://www.example.com becomes example.com")
    );
    assert!(
        company
            .text
            .contains("<option value=\"11-50\">11-50 employees</option>")
    );
    assert!(
        company.text.contains("name=\"owner_id\""),
        "the owner follows"
    );

    // A new lead starts as "new"; its status offers no "none".
    let lead = page(&t, &browser, "/o/marina/leads/new").await;
    assert!(
        lead.text
            .contains("<option value=\"new\" selected>New</option>"),
        "{}",
        lead.text
    );
    assert!(!lead.text.contains("<option value=\"\" selected>—</option>"));

    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("_csrf", browser.1.as_str())];
        form.extend(fields);
        t.client
            .post(t.url(path))
            .header("cookie", &browser.0)
            .header("origin", &t.base)
            .form(&form)
            .send()
    };
    // Every wrong field is named next to itself; nothing is written.
    let refused = post(
        "/o/marina/leads/new",
        vec![("name", ""), ("score", "lots"), ("status", "new")],
    )
    .await
    .expect("sent");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.expect("html");
    assert!(html.contains("id=\"score-error\""), "{html}");
    let leads = t.org_call(&owner, Method::GET, "/api/v1/leads", None).await;
    assert_eq!(leads.body["items"].as_array().map(Vec::len), Some(0));

    // Saved as typed: the size's key, the status, a whole score.
    let saved = post(
        "/o/marina/companies/new",
        vec![
            ("name", "Blue Marine"),
            ("size", "11-50"),
            ("domain", "https://www.bluemarine.example/"),
        ],
    )
    .await
    .expect("sent");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let companies = t
        .org_call(&owner, Method::GET, "/api/v1/companies", None)
        .await;
    assert_eq!(companies.body["items"][0]["size"], "11-50");
    assert_eq!(companies.body["items"][0]["domain"], "bluemarine.example");
    let saved = post(
        "/o/marina/leads/new",
        vec![
            ("name", "Jon Ferrer"),
            ("score", "40"),
            ("status", "working"),
        ],
    )
    .await
    .expect("sent");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let leads = t.org_call(&owner, Method::GET, "/api/v1/leads", None).await;
    assert_eq!(leads.body["items"][0]["score"], 40);
    assert_eq!(leads.body["items"][0]["status"], "working");
}

#[tokio::test]
async fn a_relation_is_a_combobox_that_finds_records_as_people_type_and_adds_one() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    define_berths(&t, &owner).await;
    let browser = t.browser_session("owner@example.com").await;

    let ann = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Ann Berg"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for i in 0..200 {
        t.create(
            &owner,
            "/api/v1/contacts",
            json!({ "name": format!("Skipper {i:03}") }),
        )
        .await;
    }
    // The form draws a combobox fed by the finder, never a menu of every contact.
    let form = page(&t, &browser, "/o/marina/objects/berth/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert!(
        form.text.contains(
            "data-combo=\"/o/marina/objects/contact/choices\" data-combo-create=\"/o/marina/objects/contact/quick\""
        ),
        "{}",
        form.text
    );
    // Without script the menu still offers the first records.
    assert!(form.text.contains("Skipper 000"));
    let found = page(&t, &browser, "/o/marina/objects/contact/choices?q=berg").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let hits: Value = serde_json::from_str(&found.text).expect("json");
    assert_eq!(hits, json!([{"id": ann, "title": "Ann Berg"}]));
    let some: Value = serde_json::from_str(
        &page(
            &t,
            &browser,
            "/o/marina/objects/contact/choices?q=skipper%2019",
        )
        .await
        .text,
    )
    .expect("json");
    assert_eq!(
        some.as_array().map(Vec::len),
        Some(10),
        "Skipper 190 to 199"
    );

    // "Create …": a contact named by what was typed, with its id for the form.
    let quick = t
        .form(
            &browser,
            "/o/marina/objects/contact/quick",
            &[("title", "Zoe Quinn")],
        )
        .await;
    assert_eq!(quick.status, StatusCode::CREATED, "{}", quick.text);
    let made = quick.body;
    assert_eq!(made["title"], "Zoe Quinn");
    let zoe = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/contacts/{}", made["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(zoe.body["name"], "Zoe Quinn");
    // A berth needs more than its name: the problem names what is missing.
    let refused = t
        .form(&browser, "/o/marina/objects/berth/quick", &[("title", "")])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["code"], "validation_failed",
        "{}",
        refused.text
    );

    // Another organization's member finds none of them.
    t.register("other@example.com", Some("Elsewhere")).await;
    let other = t.browser_session("other@example.com").await;
    let elsewhere = page(&t, &other, "/o/elsewhere/objects/contact/choices?q=berg").await;
    assert_eq!(elsewhere.text, "[]");
    let crossing = page(&t, &other, "/o/marina/objects/contact/choices?q=berg").await;
    assert_ne!(crossing.status, StatusCode::OK, "{}", crossing.text);
}

/// The deals board, its table and its CSV export narrow to custom values like the other lists:
/// a menu per custom select, a from/to range per custom number, carried on the page's links.
#[tokio::test]
async fn the_deals_board_and_table_filter_by_custom_values() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    for field in [
        json!({"key": "berth_size", "label": "Berth size", "type": "select", "options": [{"label": "Small"}, {"label": "Large"}]}),
        json!({"key": "boat_length", "label": "Boat length", "type": "number"}),
    ] {
        let r = t
            .org_call(
                &owner,
                Method::POST,
                "/api/v1/objects/deal/fields",
                Some(field),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for (title, size, length) in [("Dinghy spot", "small", 4), ("Yacht berth", "large", 18)] {
        t.create(
            &owner,
            "/api/v1/deals",
            json!({"title": title, "custom": {"berth_size": size, "boat_length": length}}),
        )
        .await;
    }
    t.create(&owner, "/api/v1/deals", json!({"title": "Unsized"}))
        .await;
    let browser = t.browser_session("owner@example.com").await;

    let board = page(&t, &browser, "/o/marina/deals").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text);
    assert!(
        board.text.contains("name=\"custom.berth_size\""),
        "a menu for the select"
    );
    assert!(
        board.text.contains("name=\"custom.boat_length.min\""),
        "a range for the number"
    );
    assert!(board.text.contains("Dinghy spot") && board.text.contains("Unsized"));

    let large = page(&t, &browser, "/o/marina/deals?custom.berth_size=large").await;
    assert!(large.text.contains("Yacht berth"), "{}", large.text);
    assert!(!large.text.contains("Dinghy spot") && !large.text.contains("Unsized"));
    assert!(
        large.text.contains("1 open"),
        "the figures count what is shown: {}",
        large.text
    );
    assert!(
        large.text.contains("view=table&pipeline=")
            && large.text.contains("&#38;custom.berth_size=large\">Table"),
        "the table link keeps the filter: {}",
        large.text
    );

    let long = page(
        &t,
        &browser,
        "/o/marina/deals?view=table&custom.boat_length.min=10",
    )
    .await;
    assert!(long.text.contains("Yacht berth") && !long.text.contains("Dinghy spot"));
    let short = page(
        &t,
        &browser,
        "/o/marina/deals?view=table&custom.boat_length.max=10&custom.berth_size=small",
    )
    .await;
    assert!(short.text.contains("Dinghy spot") && !short.text.contains("Yacht berth"));

    assert!(
        large.text.contains("None that match here."),
        "an empty column says the filter empties it"
    );
    let none = page(
        &t,
        &browser,
        "/o/marina/deals?view=table&custom.boat_length.min=100",
    )
    .await;
    assert!(none.text.contains("No deal matches"), "{}", none.text);
    let csv = page(
        &t,
        &browser,
        "/o/marina/deals/export.csv?custom.berth_size=small",
    )
    .await;
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(lines[1].contains("Dinghy spot"), "{}", csv.text);

    // A range that is not a number: every deal, and why.
    let wrong = page(&t, &browser, "/o/marina/deals?custom.boat_length.min=long").await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.text);
    assert!(wrong.text.contains("must be a number"), "{}", wrong.text);
    assert!(wrong.text.contains("Dinghy spot") && wrong.text.contains("Yacht berth"));
}

/// A deal's page lists the records whose relation fields point at it (an agency's expenses).
#[tokio::test]
async fn a_deal_s_page_lists_the_records_pointing_at_it() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Agency")).await;
    for (path, body) in [
        (
            "/api/v1/objects",
            json!({"key": "expense", "singular": "Expense", "plural": "Expenses"}),
        ),
        (
            "/api/v1/objects/expense/fields",
            json!({"key": "deal", "label": "Deal", "type": "relation", "target": "deal"}),
        ),
    ] {
        let r = t.org_call(&owner, Method::POST, path, Some(body)).await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let deal = t
        .create(&owner, "/api/v1/deals", json!({"title": "Spring campaign"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let expense = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/expense/records",
            Some(json!({"values": {"name": "Print run", "deal": deal}})),
        )
        .await;
    assert_eq!(expense.status, StatusCode::CREATED, "{}", expense.text);
    let expense = expense.body["id"].as_str().expect("id").to_owned();
    let browser = t.browser_session("owner@example.com").await;
    let deal_page = page(&t, &browser, &format!("/o/agency/deals/{deal}")).await;
    assert_eq!(deal_page.status, StatusCode::OK, "{}", deal_page.text);
    assert!(
        deal_page.text.contains("Expenses (Deal)")
            && deal_page.text.contains(&format!(
                "href=\"/o/agency/objects/expense/{expense}\">Print run</a>"
            )),
        "{}",
        deal_page.text
    );
}

#[tokio::test]
async fn lead_and_task_pages_list_the_records_pointing_at_them() {
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Marina")).await;
    for (path, body) in [
        (
            "/api/v1/objects",
            json!({"key": "visit", "singular": "Visit", "plural": "Visits"}),
        ),
        (
            "/api/v1/objects/visit/fields",
            json!({"key": "lead", "label": "Lead", "type": "relation", "target": "lead"}),
        ),
        (
            "/api/v1/objects/visit/fields",
            json!({"key": "task", "label": "Follow-up", "type": "relation", "target": "task"}),
        ),
    ] {
        let r = t.org_call(&owner, Method::POST, path, Some(body)).await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let id = |v: serde_json::Value| v["id"].as_str().expect("id").to_owned();
    let lead = id(t
        .create(&owner, "/api/v1/leads", json!({"name": "Ana Costa"}))
        .await);
    let task = id(t
        .create(&owner, "/api/v1/tasks", json!({"title": "Call back"}))
        .await);
    let visit = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/objects/visit/records",
            Some(json!({"values": {"name": "Pontoon B tour", "lead": lead, "task": task}})),
        )
        .await;
    assert_eq!(visit.status, StatusCode::CREATED, "{}", visit.text);
    let visit = id(visit.body);
    let link = format!("href=\"/o/marina/objects/visit/{visit}\">Pontoon B tour</a>");
    let browser = t.browser_session("owner@example.com").await;
    for (path, section) in [
        (format!("/o/marina/leads/{lead}"), "Visits (Lead)"),
        (format!("/o/marina/tasks/{task}"), "Visits (Follow-up)"),
    ] {
        let shown = page(&t, &browser, &path).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
        assert!(
            shown.text.contains(section) && shown.text.contains(&link),
            "{path}: {}",
            shown.text
        );
    }
}
