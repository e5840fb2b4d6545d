//! Readability: every piece of text on the main pages has the contrast WCAG AA asks against what
//! is behind it (4.5:1, or 3:1 for large text), in the light and the dark theme; and the main
//! pages fit a phone's width.

use crate::browser::{Browser, enabled};
use crate::support::{PASSWORD, TestApp};

/// Finds the visible text whose contrast is below AA, as lines `ratio text (selector)`. Colours
/// are composited: each background over the ones behind it, the text's colour over its
/// background. Text of disabled controls is exempt, as WCAG says.
const FAILURES: &str = r##"
const parse = (c) => {
  let m = c.match(/^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/);
  if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
  m = c.match(/^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)$/);
  if (m) return [m[1] * 255, m[2] * 255, m[3] * 255, m[4] === undefined ? 1 : +m[4]];
  return null;
};
const over = (top, below) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat([1]);
};
const luminance = (c) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) layers.push(c);
  }
  let result = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) result = over(layers[i], result);
  return result;
};
const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
  (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
const failures = [];
let checked = 0;
for (const el of document.querySelectorAll("body *")) {
  if (el.closest("svg, [disabled], [aria-disabled=true], .skeleton")) continue;
  const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent.trim()).join(" ");
  if (!own) continue;
  const style = getComputedStyle(el);
  if (style.visibility !== "visible" || el.getClientRects().length === 0) continue;
  let opacity = 1;
  for (let e = el; e; e = e.parentElement) opacity *= +getComputedStyle(e).opacity;
  if (opacity === 0) continue;
  const rect = el.getBoundingClientRect();
  if (rect.width === 0 || rect.height === 0) continue;
  const color = parse(style.color);
  if (!color) { failures.push("unreadable colour " + style.color + " " + describe(el)); continue; }
  const bg = background(el);
  // A translucent element's text shows through it onto what is behind.
  const fg = over([color[0], color[1], color[2], color[3] * opacity], bg);
  checked++;
  const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && +style.fontWeight >= 700);
  if (ratio < (large ? 3 : 4.5)) {
    failures.push(ratio.toFixed(2) + " " + JSON.stringify(own.slice(0, 40)) + " (" + describe(el) + ")");
  }
}
return {checked, theme: document.documentElement.dataset.theme, failures};
"##;

/// Gives the demo organization a brand colour, as its owner would in Settings.
async fn set_brand(t: &TestApp, colour: &str) {
    let login = t
        .post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": "demo@rapport.example", "password": PASSWORD}),
        )
        .await;
    let token = login.body["access_token"].as_str().expect("token");
    let orgs = t.get("/api/v1/organizations/me", token).await;
    let org = orgs.body[0]["id"].as_str().expect("organization");
    let r = t
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/organizations/{org}"),
            Some(token),
            Some(serde_json::json!({"primary_color": colour})),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn text_and_links_are_readable_in_both_themes() {
    if !enabled("text_and_links_are_readable_in_both_themes") {
        return;
    }
    let t = TestApp::spawn().await;
    t.app.seed_demo(PASSWORD).await.expect("demo data");
    let b = Browser::start(1400, 1000).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "demo@rapport.example").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    let first_contact = {
        b.goto(&t.url("/o/demo/contacts")).await;
        b.eval("return document.querySelector('table a[href*=\"/contacts/0\"], table a[href*=\"/contacts/\"]').getAttribute('href')")
            .await
            .as_str()
            .expect("a contact's page")
            .to_owned()
    };
    let pages = [
        "/o/demo/",
        "/o/demo/contacts",
        first_contact.as_str(),
        "/o/demo/companies",
        "/o/demo/leads",
        "/o/demo/deals",
        "/o/demo/tasks",
        "/o/demo/settings/members",
        "/o/demo/settings/roles/member",
        "/o/demo/settings/objects",
    ];
    let mut failures = Vec::new();
    // The demo's brand, then a light one (yellow) and a dark one (navy): the colours worked out
    // from a brand read on both themes whatever it is.
    for brand in [None, Some("#facc15"), Some("#0f1f4b")] {
        if let Some(colour) = brand {
            set_brand(&t, colour).await;
        }
        for theme in ["light", "dark"] {
            b.eval(&format!(
                "localStorage.setItem('rapport.theme', '{theme}'); return null"
            ))
            .await;
            for page in pages {
                b.goto(&t.url(page)).await;
                let found = b.eval(FAILURES).await;
                assert_eq!(found["theme"], theme, "{page}");
                let checked = found["checked"].as_u64().unwrap_or(0);
                assert!(
                    checked >= 20,
                    "{page} ({theme}): only {checked} texts checked"
                );
                for line in found["failures"].as_array().into_iter().flatten() {
                    failures.push(format!(
                        "{} {theme} {page}: {}",
                        brand.unwrap_or("demo brand"),
                        line.as_str().unwrap_or("?")
                    ));
                }
            }
        }
        if brand.is_none() {
            b.screenshot("contrast-demo-dark").await;
        }
    }
    b.close().await;
    assert!(
        failures.is_empty(),
        "{} texts below AA contrast:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every main page fits a phone's width: nothing makes the page scroll sideways (wide tables
/// scroll inside their own frame).
#[tokio::test]
async fn main_pages_fit_a_phone_without_sideways_scrolling() {
    if !enabled("main_pages_fit_a_phone_without_sideways_scrolling") {
        return;
    }
    let t = TestApp::spawn().await;
    t.app.seed_demo(PASSWORD).await.expect("demo data");
    let b = Browser::start(390, 844).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "demo@rapport.example").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    // A record of each kind too: the first of its list.
    let mut records = Vec::new();
    for (list, link) in [
        ("/o/demo/contacts", "#contacts tbody a"),
        ("/o/demo/companies", "#companies tbody a"),
        ("/o/demo/deals?view=table", "#deals-table tbody a"),
        ("/o/demo/objects/berth", "table tbody a"),
    ] {
        b.goto(&t.url(list)).await;
        let href = b
            .eval(&format!(
                "return new URL(document.querySelector({link:?}).href).pathname"
            ))
            .await;
        records.push(href.as_str().expect("a record").to_owned());
    }
    let mut wide = Vec::new();
    let mut small = Vec::new();
    for page in [
        "/o/demo/",
        "/o/demo/contacts",
        "/o/demo/companies",
        "/o/demo/leads",
        "/o/demo/deals",
        "/o/demo/tasks",
        "/o/demo/notifications",
        "/o/demo/trash",
        "/o/demo/settings/general",
        "/o/demo/settings/branding",
        "/o/demo/settings/webhooks",
        "/o/demo/settings/audit",
        "/o/demo/settings/members",
        "/o/demo/settings/roles",
        "/o/demo/settings/roles/member",
        "/o/demo/settings/pipelines",
        "/o/demo/settings/objects",
    ]
    .into_iter()
    .chain(records.iter().map(String::as_str))
    {
        b.goto(&t.url(page)).await;
        assert!(b.exists(".shell .content").await, "{page} opens in the app");
        // Named by what the page is (a record's id left out).
        let name = page
            .trim_start_matches("/o/demo/")
            .split('/')
            .map(|part| if part.len() == 36 { "record" } else { part })
            .collect::<Vec<_>>()
            .join("-");
        b.screenshot(&format!(
            "phone-{}",
            if name.is_empty() { "home" } else { &name }
        ))
        .await;
        // Controls a thumb taps are at least 40 px tall (links inside text are not controls).
        let tiny = b
            .eval(
                "return [...document.querySelectorAll('.content .btn, .content button, .content select, .content input:not([type=checkbox]):not([type=radio]):not([type=hidden]), .content summary, .topbar button, .topbar a')]                  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.height < 40 && getComputedStyle(e).visibility !== 'hidden'; })                  .map(e => (e.id || e.className || e.tagName) + ' ' + Math.round(e.getBoundingClientRect().height) + 'px')",
            )
            .await;
        if let Some(list) = tiny.as_array().filter(|l| !l.is_empty()) {
            small.push(format!("{page}: {list:?}"));
        }
        let width = b
            .eval("return [document.documentElement.scrollWidth, window.innerWidth]")
            .await;
        let scroll = width[0].as_u64().unwrap_or(u64::MAX);
        let inner = width[1].as_u64().unwrap_or(0);
        if scroll > inner {
            wide.push(format!("{page}: {scroll} px wide in {inner}"));
        }
    }
    // Members: each one's role menu and buttons sit clear of their name.
    b.goto(&t.url("/o/demo/settings/members")).await;
    b.eval("document.querySelector('#members li:nth-child(2)').scrollIntoView(); return null")
        .await;
    b.screenshot("phone-settings-members-list").await;
    let covered = b
        .eval(
            "const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;              return [...document.querySelectorAll('#members .member-row')].filter(row => {                const name = row.querySelector('strong').getBoundingClientRect();                return [...row.querySelectorAll('select, button, .badge')].some(c => hit(name, c.getBoundingClientRect()));              }).map(row => row.querySelector('strong').textContent)",
        )
        .await;
    assert_eq!(
        covered,
        serde_json::json!([]),
        "names covered by their controls"
    );
    b.close().await;
    assert!(
        wide.is_empty(),
        "pages scroll sideways:\n{}",
        wide.join("\n")
    );
    assert!(
        small.is_empty(),
        "controls under 40 px on a phone:\n{}",
        small.join("\n")
    );
}
