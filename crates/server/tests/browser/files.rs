//! Files in the browser: files dropped on a deal's Files box upload side by side with their
//! progress (a refused one says why, next to it), show as a list with a thumbnail, open on a
//! page that previews them, take a new version, and are found on the Files page.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, enabled};
use crate::support::{PASSWORD, TestApp};

/// Drops files on the drop zone of `box_css`, as a person dragging them from their desktop:
/// a picture drawn on a canvas, a one-page PDF, and markup that is refused.
fn drop_script(box_css: &str, which: &[&str]) -> String {
    format!(
        r##"
const files = [];
const want = {which:?};
if (want.includes("png")) {{
  const c = document.createElement("canvas"); c.width = 480; c.height = 300;
  const g = c.getContext("2d");
  const sky = g.createLinearGradient(0, 0, 0, 300); sky.addColorStop(0, "#7dd3fc"); sky.addColorStop(1, "#0369a1");
  g.fillStyle = sky; g.fillRect(0, 0, 480, 300);
  g.fillStyle = "#f8fafc"; g.fillRect(40, 190, 400, 22); g.fillRect(60, 150, 16, 60); g.fillRect(400, 150, 16, 60);
  g.fillStyle = "#0f172a"; g.font = "bold 34px sans-serif"; g.fillText("Pontoon A-12", 40, 80);
  const data = atob(c.toDataURL("image/png").split(",")[1]);
  files.push(new File([Uint8Array.from(data, ch => ch.charCodeAt(0))], "Pontoon A-12 view.png", {{type: "image/png"}}));
}}
if (want.includes("pdf")) {{
  const text = "BT /F1 18 Tf 40 740 Td (Expression of interest - Berth A-12) Tj ET BT /F1 11 Tf 40 710 Td (The Olsens wish to take berth A-12 from 1 March 2027.) Tj ET";
  const pdf = "%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n" +
    "3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources <</Font <</F1 5 0 R>>>>>> endobj\n" +
    "4 0 obj <</Length " + text.length + ">> stream\n" + text + "\nendstream endobj\n" +
    "5 0 obj <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
  files.push(new File([pdf], "EOI Berth A-12.pdf", {{type: "application/pdf"}}));
}}
if (want.includes("pdf2")) {{
  files.push(new File(["%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"], "EOI Berth A-12 signed.pdf", {{type: "application/pdf"}}));
}}
if (want.includes("html")) {{
  files.push(new File(["<!DOCTYPE html><script>alert(1)</script>"], "notes.html", {{type: "text/html"}}));
}}
const dt = new DataTransfer();
files.forEach(f => dt.items.add(f));
const zone = document.querySelector("{box_css} [data-files-drop]");
zone.dispatchEvent(new DragEvent("dragenter", {{bubbles: true, cancelable: true, dataTransfer: dt}}));
zone.dispatchEvent(new DragEvent("dragover", {{bubbles: true, cancelable: true, dataTransfer: dt}}));
zone.dispatchEvent(new DragEvent("drop", {{bubbles: true, cancelable: true, dataTransfer: dt}}));
return files.length;
"##
    )
}

#[tokio::test]
async fn files_dropped_on_a_deal_upload_preview_and_take_new_versions() {
    if !enabled("files_dropped_on_a_deal_upload_preview_and_take_new_versions") {
        return;
    }
    let t = TestApp::spawn().await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let deal = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/deals",
            Some(json!({"title": "A-12 for the Olsens", "amount": 40000})),
        )
        .await;
    let deal_id = deal.body["id"].as_str().expect("id").to_owned();

    let b = Browser::start(1280, 900).await;
    b.goto(&t.url("/login")).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    b.wait_for_path(|p| p.starts_with("/o/")).await;
    b.goto(&t.url(&format!("/o/acme/deals/{deal_id}"))).await;
    assert!(b.text("#files").await.contains("No files yet"));
    b.screenshot("deal-files-empty").await;

    // Three dropped at once: two go in, the markup is refused with the server's reason.
    b.eval(&drop_script("#files", &["png", "pdf", "html"]))
        .await;
    b.wait_until(
        "return document.querySelectorAll('#files .file-row').length === 2 \
         && document.querySelector('#files .upload-failed') !== null",
        "two files listed and one refusal shown",
    )
    .await;
    let refusal = b.text("#files .upload-failed").await;
    assert!(refusal.contains("notes.html"), "{refusal}");
    assert!(refusal.contains("not accepted"), "{refusal}");
    // The picture shows as a thumbnail made for the list, not as itself.
    b.wait_until(
        "const i = document.querySelector('#files .file-row img.file-thumb'); \
         return !!i && i.complete && i.naturalWidth === 160",
        "the thumbnail loaded, 160 pixels wide",
    )
    .await;
    let listed = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{deal_id}/files"),
            None,
        )
        .await;
    let mut names: Vec<&str> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    names.sort();
    assert_eq!(names, ["EOI Berth A-12.pdf", "Pontoon A-12 view.png"]);
    b.screenshots("deal-files").await;

    // The PDF's page previews it; a new version dropped on it becomes the current one.
    let pdf: &Value = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|f| f["kind"] == "pdf")
        .expect("the pdf");
    let pdf_id = pdf["id"].as_str().expect("id").to_owned();
    b.click(&format!("#files a[href$='/files/{pdf_id}']")).await;
    b.wait_for_path(|p| p.ends_with(&pdf_id)).await;
    assert!(
        b.exists(".file-preview iframe").await,
        "a PDF is previewed in the page"
    );
    let preview = b
        .eval("return document.querySelector('.file-preview iframe').getAttribute('src')")
        .await;
    let (status, content_type) = {
        let cookie = b
            .client
            .get_named_cookie("rapport_session")
            .await
            .expect("session cookie");
        let r = t
            .client
            .get(t.url(preview.as_str().expect("src")))
            .header("cookie", format!("rapport_session={}", cookie.value()))
            .send()
            .await
            .expect("preview");
        (
            r.status(),
            r.headers()["content-disposition"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        )
    };
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(content_type.starts_with("inline;"), "{content_type}");
    // The browser's own viewer draws the page in its frame.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    b.screenshots("file-pdf").await;
    b.eval(&drop_script("#versions", &["pdf2"])).await;
    b.wait_until(
        "return document.querySelectorAll('.version-list .version').length === 2",
        "the new version listed",
    )
    .await;
    assert!(
        b.text(".version-current")
            .await
            .contains("EOI Berth A-12 signed.pdf")
    );
    assert!(
        b.exists(".version-list form button").await,
        "the older version can be restored"
    );
    b.screenshot("file-versions").await;

    // The picture's page shows it whole.
    let png = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|f| f["kind"] == "image")
        .expect("the picture")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    b.goto(&t.url(&format!("/o/acme/files/{png}"))).await;
    b.wait_until(
        "const i = document.querySelector('.file-preview img'); return !!i && i.complete && i.naturalWidth === 480",
        "the picture loaded",
    )
    .await;
    b.screenshot("file-image").await;

    // Every file, found by name on the Files page.
    b.goto(&t.url("/o/acme/files")).await;
    assert_eq!(
        b.eval("return document.querySelectorAll('#files-list .file-row').length")
            .await,
        json!(2)
    );
    b.screenshots("files").await;
    b.fill("#files-q", "pontoon").await;
    b.submit("form[role=search] button[type=submit]").await;
    b.wait_until(
        "return document.querySelectorAll('#files-list .file-row').length === 1",
        "one file found",
    )
    .await;
    assert!(
        b.text("#files-list")
            .await
            .contains("Pontoon A-12 view.png")
    );
    b.close().await;
}
