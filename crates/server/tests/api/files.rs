//! Files attached to records, on both file stores: the disk, and an S3-protocol server when
//! `RAPPORT_TEST_S3_URL` names one (`.ci/run` starts SeaweedFS). Uploads and downloads, their
//! checks (size, type by content, names), versions, recently deleted, signed links, and every
//! file address refused to those who may not see the record.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Account, Options, TestApp};

/// Which store a test runs on.
#[derive(Clone, Copy, Debug)]
enum Store {
    Disk,
    S3,
}

/// The S3-protocol server of the run, when there is one.
fn s3_url() -> Option<String> {
    std::env::var("RAPPORT_TEST_S3_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A server on `store` (with `extra` settings); `None` when S3 is asked for and there is none
/// (said visibly, or a failure under `.ci/run`).
async fn spawn(store: Store, test: &str, extra: Vec<(&'static str, String)>) -> Option<TestApp> {
    let mut extra = extra;
    if let Store::S3 = store {
        let Some(url) = s3_url() else {
            crate::support::skip(test, "RAPPORT_TEST_S3_URL is not set");
            return None;
        };
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        extra.push((
            "RAPPORT_S3_BUCKET",
            var("RAPPORT_TEST_S3_BUCKET", "rapport-test"),
        ));
        extra.push(("RAPPORT_S3_ENDPOINT", url));
        extra.push((
            "RAPPORT_S3_ACCESS_KEY_ID",
            var("RAPPORT_TEST_S3_ACCESS_KEY_ID", "rapport"),
        ));
        extra.push((
            "RAPPORT_S3_SECRET_ACCESS_KEY",
            var("RAPPORT_TEST_S3_SECRET_ACCESS_KEY", "rapport-s3-secret"),
        ));
        // Each test under a folder of its own.
        extra.push((
            "RAPPORT_S3_PREFIX",
            format!("test-{}", uuid::Uuid::now_v7()),
        ));
    }
    Some(
        TestApp::spawn_with(Options {
            extra,
            ..Options::default()
        })
        .await,
    )
}

const BOUNDARY: &str = "rapport-test-boundary-7d1f";

/// A `multipart/form-data` body with one part named `file`.
fn multipart(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    t: &TestApp,
    who: &Account,
    path: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let r = t
        .client
        .post(t.url(path))
        .bearer_auth(&who.access)
        .header("x-organization-id", who.org())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(name, bytes))
        .send()
        .await
        .expect("upload sent");
    let status = r.status();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The bytes of an address, with its response headers.
async fn fetch(
    t: &TestApp,
    who: Option<&Account>,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = t.client.get(if url.starts_with("http") {
        url.to_owned()
    } else {
        t.url(url)
    });
    if let Some(who) = who {
        req = req
            .bearer_auth(&who.access)
            .header("x-organization-id", who.org());
    }
    let r = req.send().await.expect("fetch sent");
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("bytes").to_vec())
}

/// A small but real PDF.
fn pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
         3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n% {text}\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    .into_bytes()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn files_round_trip_on_disk() {
    round_trip(Store::Disk, "files_round_trip_on_disk").await;
}

#[tokio::test]
async fn files_round_trip_on_s3() {
    round_trip(Store::S3, "files_round_trip_on_s3").await;
}

/// Attach, list, read, replace, restore a version, delete and bring back, link.
async fn round_trip(store: Store, test: &str) {
    let Some(t) = spawn(store, test, Vec::new()).await else {
        return;
    };
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Berth 12", "amount": 900}),
        )
        .await;
    let deal_id = deal["id"].as_str().expect("id").to_owned();
    let eoi = pdf("expression of interest");
    let (status, file) = upload(
        &t,
        &owner,
        &format!("/api/v1/deals/{deal_id}/files"),
        "EOI Berth 12.pdf",
        &eoi,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    let id = file["id"].as_str().expect("file id").to_owned();
    assert_eq!(file["name"], "EOI Berth 12.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["kind"], "pdf");
    assert_eq!(file["size"], eoi.len());
    assert_eq!(file["version"], 1);
    assert_eq!(file["record_type"], "deal");
    assert_eq!(file["sha256"], hex(&eoi));

    // A photo through the general address, named by the query.
    let company = t
        .create(
            &owner,
            "/api/v1/companies",
            json!({"name": "Harbour Works"}),
        )
        .await;
    let company_id = company["id"].as_str().expect("id");
    let (status, photo) = upload(
        &t,
        &owner,
        &format!("/api/v1/files?record_type=company&record_id={company_id}"),
        "../../quay.png",
        PNG,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{photo}");
    assert_eq!(photo["name"], "quay.png", "folders are dropped from names");
    assert_eq!(photo["kind"], "image");

    // A custom object's record takes files too.
    t.create(
        &owner,
        "/api/v1/objects",
        json!({"key": "berth", "singular": "Berth", "plural": "Berths"}),
    )
    .await;
    let berth = t
        .create(
            &owner,
            "/api/v1/objects/berth/records",
            json!({"values": {"name": "Pontoon A-12"}}),
        )
        .await;
    let berth_id = berth["id"].as_str().expect("id").to_owned();
    let (status, plan) = upload(
        &t,
        &owner,
        &format!("/api/v1/objects/berth/records/{berth_id}/files"),
        "plan.txt",
        b"Pontoon A, berth 12",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["record_type"], "berth");
    let on_berths = t
        .org_call(&owner, Method::GET, "/api/v1/files?record_type=berth", None)
        .await;
    let names: Vec<&str> = on_berths.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["plan.txt"], "only the berths' files");
    assert_eq!(on_berths.body["items"][0]["record_title"], "Pontoon A-12");
    let wrong_object = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/objects/berth/records/{deal_id}/files"),
            None,
        )
        .await;
    assert_eq!(
        wrong_object.status,
        StatusCode::NOT_FOUND,
        "a deal is not a berth"
    );
    let deleted = t
        .org_call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/files/{}", plan["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    // The record's list, the organization's list and its filters.
    let listed = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/deals/{deal_id}/files"),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["items"].as_array().expect("items").len(), 1);
    let all = t.org_call(&owner, Method::GET, "/api/v1/files", None).await;
    assert_eq!(all.body["items"].as_array().expect("items").len(), 2);
    let pdfs = t
        .org_call(&owner, Method::GET, "/api/v1/files?kind=pdf", None)
        .await;
    let names: Vec<&str> = pdfs.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["EOI Berth 12.pdf"]);
    assert_eq!(pdfs.body["items"][0]["record_title"], "Berth 12");
    let found = t
        .org_call(&owner, Method::GET, "/api/v1/files?search=quay", None)
        .await;
    assert_eq!(found.body["items"].as_array().expect("items").len(), 1);
    let on_companies = t
        .org_call(
            &owner,
            Method::GET,
            "/api/v1/files?record_type=company",
            None,
        )
        .await;
    assert_eq!(on_companies.body["items"][0]["name"], "quay.png");
    let paged = t
        .org_call(&owner, Method::GET, "/api/v1/files?page_size=1", None)
        .await;
    let cursor = paged.body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/files?page_size=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(rest.body["items"].as_array().expect("items").len(), 1);
    assert_ne!(rest.body["items"][0]["id"], paged.body["items"][0]["id"]);
    assert!(rest.body["next_cursor"].is_null());

    // The bytes, as stored, saved rather than shown, with their digest.
    let (status, headers, bytes) =
        fetch(&t, Some(&owner), &format!("/api/v1/files/{id}/content")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, eoi);
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().expect("ascii");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''EOI%20Berth%2012.pdf"),
        "{disposition}"
    );
    assert_eq!(headers["etag"], format!("\"{}\"", hex(&eoi)).as_str());
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // A second version, then the first brought back as a third.
    let v2 = pdf("signed expression of interest");
    let (status, replaced) = upload(
        &t,
        &owner,
        &format!("/api/v1/files/{id}/versions"),
        "EOI Berth 12 signed.pdf",
        &v2,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{replaced}");
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["name"], "EOI Berth 12 signed.pdf");
    let (_, _, bytes) = fetch(&t, Some(&owner), &format!("/api/v1/files/{id}/content")).await;
    assert_eq!(bytes, v2);
    let versions = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/files/{id}/versions"),
            None,
        )
        .await;
    let items = versions.body["items"].as_array().expect("versions");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["number"], 2);
    assert_eq!(items[0]["current"], true);
    let first = items[1]["id"].as_str().expect("v1").to_owned();
    let (_, _, old) = fetch(
        &t,
        Some(&owner),
        &format!("/api/v1/files/{id}/content?version={first}"),
    )
    .await;
    assert_eq!(old, eoi, "an older version stays readable");
    let restored = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/files/{id}/versions/{first}/restore"),
            None,
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
    assert_eq!(restored.body["version"], 3);
    assert_eq!(restored.body["name"], "EOI Berth 12.pdf");
    let (_, _, bytes) = fetch(&t, Some(&owner), &format!("/api/v1/files/{id}/content")).await;
    assert_eq!(bytes, eoi);
    let versions = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/files/{id}/versions"),
            None,
        )
        .await;
    assert_eq!(versions.body["items"][0]["restored_from"], 1);
    let current = versions.body["items"][0]["id"]
        .as_str()
        .expect("v3")
        .to_owned();
    let again = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/files/{id}/versions/{current}/restore"),
            None,
        )
        .await;
    again.assert_problem(StatusCode::CONFLICT, "version_current");

    // A signed link works without credentials, shown in the page when asked; altered, it
    // works for nothing.
    let link = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/files/{id}/link?disposition=inline"),
            None,
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.text);
    let url = link.body["url"].as_str().expect("url").to_owned();
    let (status, headers, bytes) = fetch(&t, None, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, eoi);
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("inline;")
    );
    let forged = url.replace("d=inline", "d=attachment");
    assert_eq!(fetch(&t, None, &forged).await.0, StatusCode::NOT_FOUND);
    let other_version = url.replace(&format!("v={current}"), &format!("v={first}"));
    assert_ne!(other_version, url);
    assert_eq!(
        fetch(&t, None, &other_version).await.0,
        StatusCode::NOT_FOUND
    );

    // Deleted: gone from every address, waiting in recently deleted, and back.
    let deleted = t
        .org_call(&owner, Method::DELETE, &format!("/api/v1/files/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        t.org_call(&owner, Method::GET, &format!("/api/v1/files/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&t, Some(&owner), &format!("/api/v1/files/{id}/content"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&t, None, &url).await.0,
        StatusCode::NOT_FOUND,
        "a link dies with its file"
    );
    let trash = t.org_call(&owner, Method::GET, "/api/v1/trash", None).await;
    assert!(trash.text.contains("EOI Berth 12.pdf"), "{}", trash.text);
    let back = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/trash/file/{id}/restore"),
            None,
        )
        .await;
    assert_eq!(back.status, StatusCode::NO_CONTENT, "{}", back.text);
    let (_, _, bytes) = fetch(&t, Some(&owner), &format!("/api/v1/files/{id}/content")).await;
    assert_eq!(bytes, eoi);

    // The audit log and the outbox tell of each step, naming the record.
    let audit = t
        .org_call(&owner, Method::GET, "/api/v1/audit?page_size=100", None)
        .await;
    for action in [
        "file.uploaded",
        "file.version_added",
        "file.version_restored",
        "file.deleted",
        "file.restored",
    ] {
        assert!(
            audit.text.contains(action),
            "{action} audited: {}",
            audit.text
        );
    }
    let mut tx = t.app.db.platform_read().await.expect("read");
    let events = rapport_store::events::after(&mut tx, None, 500)
        .await
        .expect("events");
    tx.commit().await.expect("commit");
    let uploaded = events
        .iter()
        .find(|e| e.event_type == "file.uploaded" && e.payload.0["file_id"] == json!(id))
        .expect("a file.uploaded event");
    assert_eq!(uploaded.record_type.as_deref(), Some("deal"));
    assert_eq!(
        uploaded.record_id.map(|r| r.to_string()),
        Some(deal_id.clone())
    );

    // A record deleted takes its files out of reach.
    let gone = t
        .org_call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/deals/{deal_id}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.org_call(&owner, Method::GET, &format!("/api/v1/files/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let all = t.org_call(&owner, Method::GET, "/api/v1/files", None).await;
    assert_eq!(all.body["items"].as_array().expect("items").len(), 1);
}

#[tokio::test]
async fn uploads_are_checked_on_disk() {
    refusals(Store::Disk, "uploads_are_checked_on_disk").await;
}

#[tokio::test]
async fn uploads_are_checked_on_s3() {
    refusals(Store::S3, "uploads_are_checked_on_s3").await;
}

/// Too large, of a type not accepted (whatever its name), empty, without a file: refused with
/// a problem, and nothing kept.
async fn refusals(store: Store, test: &str) {
    let Some(t) = spawn(store, test, vec![("RAPPORT_FILE_MAX_MB", "1".into())]).await else {
        return;
    };
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let contact = t
        .create(&owner, "/api/v1/contacts", json!({"name": "Marta Ruiz"}))
        .await;
    let path = format!(
        "/api/v1/contacts/{}/files",
        contact["id"].as_str().expect("id")
    );
    let mut big = pdf("big");
    big.resize(1_500_000, b' ');
    let (status, body) = upload(&t, &owner, &path, "big.pdf", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "file_too_large");
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0";
    let (status, body) = upload(&t, &owner, &path, "contract.pdf", elf).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "unsupported_file_type");
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let (status, _) = upload(&t, &owner, &path, "notes.txt", html).await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "markup is refused as text"
    );
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let (status, _) = upload(&t, &owner, &path, "logo.png", svg).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = upload(&t, &owner, &path, "empty.txt", b"").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = upload(&t, &owner, &path, "..", b"plain words").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let r = t
        .client
        .post(t.url(&path))
        .bearer_auth(&owner.access)
        .header("x-organization-id", owner.org())
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--{BOUNDARY}--\r\n"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Nothing of the refused uploads is listed, and a text file with a CSV name is taken as CSV.
    let listed = t.org_call(&owner, Method::GET, &path, None).await;
    assert_eq!(listed.body["items"].as_array().expect("items").len(), 0);
    let (status, csv) = upload(
        &t,
        &owner,
        &path,
        "berths.csv",
        "berth,length\nB-12,14.5\n".as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{csv}");
    assert_eq!(csv["content_type"], "text/csv");
    // A script is text, kept under a name that opens it as text, never runs it; marks that
    // would disguise a name go.
    let (status, script) = upload(&t, &owner, &path, "invoice\u{202E}fdp.js", b"alert('hi')").await;
    assert_eq!(status, StatusCode::CREATED, "{script}");
    assert_eq!(script["name"], "invoicefdp.js.txt");
    assert_eq!(script["content_type"], "text/plain");
    if let Store::Disk = store {
        // Only the accepted file's object is on the disk.
        let dir = match &t.app.config.file_storage {
            rapport_app::config::FileStorage::Disk(dir) => dir.clone(),
            rapport_app::config::FileStorage::S3(_) => unreachable!(),
        };
        let mut objects = 0;
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
                if entry.path().is_dir() {
                    stack.push(entry.path());
                } else {
                    objects += 1;
                }
            }
        }
        assert_eq!(objects, 2, "refused uploads leave nothing behind");
    }
}

#[tokio::test]
async fn file_addresses_follow_the_record_on_disk() {
    permissions(Store::Disk, "file_addresses_follow_the_record_on_disk").await;
}

#[tokio::test]
async fn file_addresses_follow_the_record_on_s3() {
    permissions(Store::S3, "file_addresses_follow_the_record_on_s3").await;
}

/// Every address of a file answers only those who see its record: not another organization,
/// not a member whose role reaches their own deals only; a viewer reads but changes nothing; a
/// signed link dies when its asker loses the record.
async fn permissions(store: Store, test: &str) {
    let Some(t) = spawn(store, test, Vec::new()).await else {
        return;
    };
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let viewer = t.member(&owner, "viewer@example.com", "viewer").await;
    let stranger = t.register("stranger@example.com", Some("Elsewhere")).await;
    let role = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/roles",
            Some(json!({"name": "Agent", "copy_of": "member", "permissions": {"deal": {"view": "own"}}})),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let agent = t.member(&owner, "agent@example.com", "agent").await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Berth 12", "amount": 900}),
        )
        .await;
    let deal_id = deal["id"].as_str().expect("id").to_owned();
    let (status, file) = upload(
        &t,
        &owner,
        &format!("/api/v1/deals/{deal_id}/files"),
        "eoi.pdf",
        &pdf("eoi"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = file["id"].as_str().expect("id").to_owned();
    let version = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/files/{id}/versions"),
            None,
        )
        .await
        .body["items"][0]["id"]
        .as_str()
        .expect("version")
        .to_owned();

    let reads = [
        format!("/api/v1/files/{id}"),
        format!("/api/v1/files/{id}/content"),
        format!("/api/v1/files/{id}/versions"),
        format!("/api/v1/deals/{deal_id}/files"),
    ];
    let writes = [
        (Method::POST, format!("/api/v1/files/{id}/link")),
        (Method::DELETE, format!("/api/v1/files/{id}")),
        (
            Method::POST,
            format!("/api/v1/files/{id}/versions/{version}/restore"),
        ),
        (Method::POST, format!("/api/v1/trash/file/{id}/restore")),
    ];
    // Another organization's member, naming theirs or this one: nothing is there.
    for (org, who) in [(stranger.org(), "their own"), (owner.org(), "this one")] {
        for path in &reads {
            let r = t
                .call_with(
                    Method::GET,
                    path,
                    Some(&stranger.access),
                    None,
                    &[("x-organization-id", org)],
                )
                .await;
            assert!(
                matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "GET {path} by a stranger in {who} organization: {}",
                r.status
            );
        }
        for (method, path) in &writes {
            let r = t
                .call_with(
                    method.clone(),
                    path,
                    Some(&stranger.access),
                    None,
                    &[("x-organization-id", org)],
                )
                .await;
            assert!(
                matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "{method} {path}: {}",
                r.status
            );
        }
        let r = t
            .client
            .post(t.url(&format!("/api/v1/files/{id}/versions")))
            .bearer_auth(&stranger.access)
            .header("x-organization-id", org)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart("x.pdf", &pdf("x")))
            .send()
            .await
            .expect("sent");
        assert!(matches!(
            r.status(),
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
        ));
    }
    // A member who sees only their own deals: as if the file did not exist.
    for path in &reads {
        assert_eq!(
            t.org_call(&agent, Method::GET, path, None).await.status,
            StatusCode::NOT_FOUND,
            "GET {path} by the agent"
        );
    }
    for (method, path) in &writes {
        assert_eq!(
            t.org_call(&agent, method.clone(), path, None).await.status,
            StatusCode::NOT_FOUND,
            "{method} {path} by the agent"
        );
    }
    let listed = t.org_call(&agent, Method::GET, "/api/v1/files", None).await;
    assert_eq!(
        listed.body["items"].as_array().expect("items").len(),
        0,
        "{}",
        listed.text
    );
    // The pages' addresses, in a browser: the file's page, its bytes, its thumbnail, a new
    // version, deleting it.
    let pages = [
        format!("/o/acme/files/{id}"),
        format!("/o/acme/files/{id}/content"),
        format!("/o/acme/files/{id}/content?version={version}&download=1"),
        format!("/o/acme/files/{id}/thumbnail"),
    ];
    for email in ["stranger@example.com", "agent@example.com"] {
        let (cookie, csrf) = t.browser_session(email).await;
        for page in &pages {
            let r = t
                .client
                .get(t.url(page))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("sent");
            assert!(
                matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "GET {page} by {email}: {}",
                r.status()
            );
        }
        for form in [
            format!("/o/acme/files/{id}/delete"),
            format!("/o/acme/files/{id}/versions/{version}/restore"),
        ] {
            let r = t
                .client
                .post(t.url(&form))
                .header("cookie", &cookie)
                .header("origin", &t.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("_csrf={csrf}"))
                .send()
                .await
                .expect("sent");
            assert!(
                matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "POST {form} by {email}: {}",
                r.status()
            );
        }
        let r = t
            .client
            .post(t.url(&format!(
                "/o/acme/files/upload?record_type=deal&record_id={deal_id}"
            )))
            .header("cookie", &cookie)
            .header("origin", &t.base)
            .header("x-csrf-token", &csrf)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart("x.pdf", &pdf("x")))
            .send()
            .await
            .expect("sent");
        assert!(
            matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "upload by {email}: {}",
            r.status()
        );
    }
    let still = t
        .org_call(&owner, Method::GET, &format!("/api/v1/files/{id}"), None)
        .await;
    assert_eq!(still.status, StatusCode::OK, "nothing was changed by them");
    assert_eq!(still.body["version"], 1);
    // A viewer reads and downloads, and changes nothing.
    let (status, _, _) = fetch(&t, Some(&viewer), &format!("/api/v1/files/{id}/content")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = upload(
        &t,
        &viewer,
        &format!("/api/v1/deals/{deal_id}/files"),
        "mine.pdf",
        &pdf("v"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = upload(
        &t,
        &viewer,
        &format!("/api/v1/files/{id}/versions"),
        "mine.pdf",
        &pdf("v"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.org_call(
            &viewer,
            Method::DELETE,
            &format!("/api/v1/files/{id}"),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // A viewer's link works while they see the deal, and stops when the deal moves out of reach.
    let link = t
        .org_call(
            &viewer,
            Method::POST,
            &format!("/api/v1/files/{id}/link"),
            None,
        )
        .await;
    let url = link.body["url"].as_str().expect("url").to_owned();
    assert_eq!(fetch(&t, None, &url).await.0, StatusCode::OK);
    let removed = t
        .org_call(
            &owner,
            Method::GET,
            &format!("/api/v1/organizations/{}/members", owner.org()),
            None,
        )
        .await;
    let member_id = removed
        .body
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == "viewer@example.com")
        .and_then(|m| m["id"].as_str())
        .expect("the viewer's membership")
        .to_owned();
    let r = t
        .org_call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/organizations/{}/members/{member_id}", owner.org()),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        fetch(&t, None, &url).await.0,
        StatusCode::NOT_FOUND,
        "a former member's link is dead"
    );
}

#[tokio::test]
async fn signed_links_expire() {
    let Some(t) = spawn(
        Store::Disk,
        "signed_links_expire",
        vec![("RAPPORT_FILE_LINK_TTL_SECS", "1".into())],
    )
    .await
    else {
        return;
    };
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let lead = t
        .create(&owner, "/api/v1/leads", json!({"name": "Quay Ltd"}))
        .await;
    let (status, file) = upload(
        &t,
        &owner,
        &format!("/api/v1/leads/{}/files", lead["id"].as_str().expect("id")),
        "brief.txt",
        b"A brief.",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let link = t
        .org_call(
            &owner,
            Method::POST,
            &format!("/api/v1/files/{}/link", file["id"].as_str().expect("id")),
            None,
        )
        .await;
    let url = link.body["url"].as_str().expect("url").to_owned();
    assert_eq!(fetch(&t, None, &url).await.0, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, _, body) = fetch(&t, None, &url).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(String::from_utf8_lossy(&body).contains("link_expired"));
}

#[tokio::test]
async fn large_files_stream_through_on_disk() {
    streams(Store::Disk, "large_files_stream_through_on_disk").await;
}

#[tokio::test]
async fn large_files_stream_through_on_s3() {
    streams(Store::S3, "large_files_stream_through_on_s3").await;
}

/// A file several times larger than the parts the server holds goes to the store while it is
/// still arriving, and comes back whole.
async fn streams(store: Store, test: &str) {
    const MB: usize = 1_000_000;
    const SIZE: usize = 64 * MB;
    let Some(t) = spawn(store, test, vec![("RAPPORT_FILE_MAX_MB", "100".into())]).await else {
        return;
    };
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let deal = t
        .create(
            &owner,
            "/api/v1/deals",
            json!({"title": "Creatives", "amount": 1}),
        )
        .await;
    let path = format!("/api/v1/deals/{}/files", deal["id"].as_str().expect("id"));
    // Text in 1 MB chunks, the multipart framing around them; halfway the sender waits until
    // told to go on.
    let (go_on, wait) = tokio::sync::oneshot::channel::<()>();
    let (halfway, reached) = tokio::sync::oneshot::channel::<()>();
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"reel.txt\"\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let chunk: bytes::Bytes = bytes::Bytes::from(
        (0..MB)
            .map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[i % 27])
            .collect::<Vec<u8>>(),
    );
    let expected = {
        let mut h = Sha256::new();
        for _ in 0..SIZE / MB {
            h.update(&chunk);
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let body = async_stream(head, tail, chunk, SIZE / MB, halfway, wait);
    let request = t
        .client
        .post(t.url(&path))
        .bearer_auth(&owner.access)
        .header("x-organization-id", owner.org())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(reqwest::Body::wrap_stream(body));
    let sending = tokio::spawn(async move { request.send().await });
    reached.await.expect("the sender reached halfway");
    if let Store::Disk = store {
        // Half the file is on its way: the store holds a good part of it already.
        let dir = match &t.app.config.file_storage {
            rapport_app::config::FileStorage::Disk(dir) => dir.clone(),
            rapport_app::config::FileStorage::S3(_) => unreachable!(),
        };
        let mut stored = 0u64;
        for _ in 0..100 {
            stored = disk_bytes(&dir);
            if stored >= 20 * MB as u64 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            stored >= 20 * MB as u64,
            "only {stored} bytes written while half the file had arrived"
        );
    }
    let _ = go_on.send(());
    let response = sending.await.expect("joined").expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.expect("json");
    assert_eq!(file["size"], SIZE);
    assert_eq!(file["sha256"], expected.as_str());
    // Read back as a stream, hashed as it comes.
    let r = t
        .client
        .get(t.url(&format!(
            "/api/v1/files/{}/content",
            file["id"].as_str().expect("id")
        )))
        .bearer_auth(&owner.access)
        .header("x-organization-id", owner.org())
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], SIZE.to_string().as_str());
    let mut h = Sha256::new();
    let mut total = 0;
    let mut stream = r.bytes_stream();
    use futures_util::StreamExt;
    while let Some(part) = stream.next().await {
        let part = part.expect("a chunk");
        total += part.len();
        h.update(&part);
    }
    assert_eq!(total, SIZE);
    let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, expected);
}

fn disk_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The upload's body: `head`, `count` chunks (telling `halfway` and waiting for `wait` in the
/// middle), then `tail`.
fn async_stream(
    head: String,
    tail: String,
    chunk: bytes::Bytes,
    count: usize,
    halfway: tokio::sync::oneshot::Sender<()>,
    wait: tokio::sync::oneshot::Receiver<()>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let state = (0usize, Some(halfway), Some(wait), Some(head), Some(tail));
    futures_util::stream::unfold(
        state,
        move |(i, mut halfway, mut wait, mut head, mut tail)| {
            let chunk = chunk.clone();
            async move {
                if let Some(h) = head.take() {
                    return Some((Ok(bytes::Bytes::from(h)), (i, halfway, wait, head, tail)));
                }
                if i == count / 2 {
                    if let Some(tell) = halfway.take() {
                        let _ = tell.send(());
                    }
                    if let Some(w) = wait.take() {
                        let _ = w.await;
                    }
                }
                if i < count {
                    return Some((Ok(chunk), (i + 1, halfway, wait, head, tail)));
                }
                tail.take()
                    .map(|t| (Ok(bytes::Bytes::from(t)), (i, halfway, wait, head, tail)))
            }
        },
    )
}
