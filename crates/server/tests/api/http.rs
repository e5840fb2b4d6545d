//! HTTP behaviour shared by every endpoint.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn malformed_json_is_400() {
    let t = TestApp::spawn().await;
    let r = t
        .client
        .post(t.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("sent");
    crate::support::Resp::from(r)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "malformed_json");
}

#[tokio::test]
async fn a_body_of_the_wrong_type_is_415_and_missing_fields_422() {
    let t = TestApp::spawn().await;
    let r = t
        .client
        .post(t.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .expect("sent");
    crate::support::Resp::from(r)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = t
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "a@example.com"}),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "password");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let t = TestApp::spawn().await;
    let huge = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(1024 * 1024 + 1)
    );
    let r = t
        .client
        .post(t.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("sent");
    crate::support::Resp::from(r)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let t = TestApp::spawn().await;
    t.call(Method::GET, "/api/v1/nothing-here", None, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "route_not_found");
    let r = t
        .call(Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    r.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn browsers_get_error_pages_and_api_clients_problem_documents() {
    let t = TestApp::spawn().await;
    let page = t
        .call_with(
            Method::GET,
            "/no-such-page",
            None,
            None,
            &[("accept", "text/html,application/xhtml+xml")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(page.text.contains("there is nothing at this address"));
    assert!(page.header("x-request-id").is_some());
    // API paths answer JSON even to browsers.
    let api = t
        .call_with(
            Method::GET,
            "/api/v1/nothing",
            None,
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(api.header("content-type"), Some("application/problem+json"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_echoing_sane_ones() {
    let t = TestApp::spawn().await;
    let fresh = t.call(Method::GET, "/health", None, None).await;
    let id = fresh.header("x-request-id").expect("request id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let echoed = t
        .call_with(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "abc-123.DEF_4")],
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123.DEF_4"));
    let insane = t
        .call_with(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "<script>alert(1)</script>")],
        )
        .await;
    let replaced = insane.header("x-request-id").expect("request id");
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
    let error = t.call(Method::GET, "/api/v1/nope", None, None).await;
    assert!(error.header("x-request-id").is_some());
}

#[tokio::test]
async fn security_headers_are_set() {
    let t = TestApp::spawn().await;
    let r = t.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        r.header("referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
    assert!(
        r.header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'"))
    );
    // Plain HTTP: no HSTS.
    assert!(r.header("strict-transport-security").is_none());
    // CORS is off by default.
    let pre = t
        .call_with(
            Method::OPTIONS,
            "/api/v1/auth/login",
            None,
            None,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
    assert!(pre.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_CORS_ORIGINS", "https://app.example.com".into())],
        ..Default::default()
    })
    .await;
    let ok = t
        .call_with(
            Method::OPTIONS,
            "/api/v1/auth/login",
            None,
            None,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let other = t
        .call_with(
            Method::OPTIONS,
            "/api/v1/auth/login",
            None,
            None,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn slow_requests_time_out_with_a_problem_document() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_REQUEST_TIMEOUT_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    // A body that never finishes arriving keeps the request waiting past the timeout.
    let addr = t.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"email\":"
    );
    socket.write_all(head.as_bytes()).await.expect("write");
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("the server answers within the timeout")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_METRICS_TOKEN", "scrape-secret".into())],
        ..Default::default()
    })
    .await;
    let health = t.call(Method::GET, "/health", None, None).await;
    assert_eq!(health.body["status"], "ok");
    let ready = t.call(Method::GET, "/ready", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert!(
        ready.body["database"]
            .as_str()
            .is_some_and(|d| d.ends_with("ok"))
    );
    t.call(Method::GET, "/api/v1/organizations/me", None, None)
        .await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let contact = t
        .create(
            &ann,
            "/api/v1/contacts",
            serde_json::json!({"name": "Marta Ruiz"}),
        )
        .await;
    let path = format!("/api/v1/contacts/{}", contact["id"].as_str().expect("id"));
    for _ in 0..2 {
        let r = t.org_call(&ann, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let metrics = t
        .client
        .get(t.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("rapport_http_requests_total{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/api/v1/organizations/me\""),
        "{metrics}"
    );
    assert!(metrics.contains("status=\"401\""));
    assert!(metrics.contains("rapport_http_request_duration_seconds_bucket"));
    // Round trips to the database, per request and route: none for a request refused before it
    // reached the database; a few for reading a contact (begin, read, and lookups the identity
    // cache did not have yet).
    let reading = "{method=\"GET\",route=\"/api/v1/contacts/{id}\"}";
    assert!(
        metrics.contains(&format!("rapport_db_round_trips_count{reading} 2")),
        "{metrics}"
    );
    let sum: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("rapport_db_round_trips_sum{reading} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a sum of round trips: {metrics}"));
    assert!(
        (2.0..=12.0).contains(&sum),
        "{sum} round trips for two reads"
    );
    assert!(
        metrics.contains(
            "rapport_db_round_trips_sum{method=\"GET\",route=\"/api/v1/organizations/me\"} 0"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("rapport_db_pool_max_connections 5"));
    assert!(
        metrics.contains("rapport_websocket_connections 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rapport_outbox_undispatched_events "),
        "{metrics}"
    );
    assert!(
        metrics.contains("rapport_jobs{status=\"dead\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_METRICS_TOKEN", "scrape-secret".into())],
        ..Default::default()
    })
    .await;
    t.call(Method::GET, "/metrics", None, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    t.call(Method::GET, "/metrics", Some("wrong"), None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let ok = t
        .client
        .get(t.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_not_public_without_a_token_and_a_private_address_serves_them() {
    // Without a token, the public address does not serve metrics at all.
    let t = TestApp::spawn().await;
    t.call(Method::GET, "/metrics", None, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // With RAPPORT_METRICS_BIND they are served there, without a token, and still not on the
    // public address.
    let private = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = private.local_addr().expect("addr");
    drop(private);
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_METRICS_BIND", addr.to_string())],
        ..Default::default()
    })
    .await;
    t.call(Method::GET, "/metrics", None, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let mut scraped = None;
    for _ in 0..50 {
        if let Ok(r) = t.client.get(format!("http://{addr}/metrics")).send().await {
            scraped = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let scraped = scraped.expect("the private metrics address answers");
    assert_eq!(scraped.status(), StatusCode::OK);
    let text = scraped.text().await.expect("text");
    assert!(text.contains("rapport_db_pool_max_connections 5"), "{text}");
    // The private address serves nothing else.
    let other = t
        .client
        .get(format!("http://{addr}/api/v1/organizations/me"))
        .send()
        .await
        .expect("sent");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn readiness_checks_a_configured_redis() {
    let Some(url) = std::env::var("RAPPORT_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        crate::support::skip(
            "readiness_checks_a_configured_redis",
            "set RAPPORT_TEST_REDIS_URL to run it",
        );
        return;
    };
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_REDIS_URL", url)],
        ..Default::default()
    })
    .await;
    let ready = t.call(Method::GET, "/ready", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.body["redis"], "ok");
}

#[tokio::test]
async fn readiness_reports_an_unreachable_redis() {
    let t = TestApp::spawn_with(crate::support::Options {
        extra: vec![("RAPPORT_REDIS_URL", "redis://127.0.0.1:1".into())],
        ..Default::default()
    })
    .await;
    let ready = t.call(Method::GET, "/ready", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["redis"], "unavailable");
    assert_eq!(
        t.call(Method::GET, "/health", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let t = TestApp::spawn().await;
    let doc = t
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/organizations/me",
        "/api/v1/organizations/{id}/members",
        "/api/v1/organizations/{id}/members/{member_id}",
        "/api/v1/audit",
        "/api/v1/admin/organizations",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    let page = t.call(Method::GET, "/api/docs", None, None).await;
    assert!(page.text.contains("/api/docs/app.js"));
    let js = t.call(Method::GET, "/api/docs/app.js", None, None).await;
    assert!(js.text.contains("openapi.json"));
}

/// Answers compressed for a client that accepts it, read back whole.
async fn fetch(
    t: &TestApp,
    path: &str,
    encoding: Option<&str>,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = t.client.get(t.url(path));
    if let Some(e) = encoding {
        request = request.header("accept-encoding", e);
    }
    let response = request.send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (headers, body)
}

fn decoded(headers: &reqwest::header::HeaderMap, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
    {
        Some("br") => {
            brotli_decompressor::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .expect("brotli");
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .expect("gzip");
        }
        None => out.extend_from_slice(body),
        Some(other) => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test]
async fn pages_scripts_and_json_are_compressed_and_assets_kept_by_fingerprint() {
    let t = TestApp::spawn().await;
    let (_, plain_page) = fetch(&t, "/login", None).await;
    let page = String::from_utf8(plain_page.clone()).expect("utf-8");
    // The page links its stylesheet and script by names that carry their fingerprint.
    let linked = |prefix: &str, suffix: &str| -> String {
        page.split('"')
            .find(|part| part.starts_with(prefix) && part.ends_with(suffix))
            .unwrap_or_else(|| panic!("{prefix}…{suffix} in {page}"))
            .to_owned()
    };
    let css = linked("/assets/app.", ".css");
    let js = linked("/assets/app.", ".js");
    assert!(css.len() > "/assets/app..css".len() + 8, "{css}");

    // Pages, stylesheets, scripts and JSON come compressed, and decompress to the same bytes.
    for (path, encoding) in [
        ("/login", "br"),
        ("/login", "gzip"),
        (css.as_str(), "br, gzip"),
        (js.as_str(), "gzip"),
        ("/api/v1/openapi.json", "br"),
    ] {
        let (plain_headers, plain) = fetch(&t, path, None).await;
        assert!(plain_headers.get("content-encoding").is_none(), "{path}");
        let (headers, body) = fetch(&t, path, Some(encoding)).await;
        let used = headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        assert!(
            encoding.starts_with(&used),
            "{path}: {encoding} asked, {used} used"
        );
        assert!(
            body.len() * 2 < plain.len(),
            "{path}: {} of {}",
            body.len(),
            plain.len()
        );
        assert_eq!(decoded(&headers, &body), plain, "{path}");
    }

    // A fingerprinted asset is kept for a year; by its plain name, for five minutes; and an
    // unchanged one is not sent again.
    let (headers, _) = fetch(&t, &css, None).await;
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    let etag = headers.get("etag").expect("etag").clone();
    let (plain_headers, _) = fetch(&t, "/assets/app.css", None).await;
    assert_eq!(
        plain_headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=300")
    );
    let again = t
        .client
        .get(t.url(&css))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let any = t
        .client
        .get(t.url(&css))
        .header("if-none-match", "*")
        .send()
        .await
        .expect("send");
    assert_eq!(any.status(), StatusCode::NOT_MODIFIED);
    // A page of another build (a rolling deploy) gets this build's stylesheet, kept briefly.
    let (other, _) = fetch(&t, "/assets/app.0123456789.css", None).await;
    assert_eq!(
        other.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("public, max-age=60")
    );
    let unknown = t
        .client
        .get(t.url("/assets/app.nothex1234.css"))
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // The stylesheet names the bundled font by its fingerprint; the font is served as it is
    // (WOFF2 is compressed already).
    let (_, sheet) = fetch(&t, &css, None).await;
    let sheet = String::from_utf8(sheet).expect("utf-8");
    let start = sheet
        .find("/assets/inter-regular.")
        .expect("font in the stylesheet");
    let font = &sheet[start..start + sheet[start..].find(".woff2").expect("woff2") + 6];
    let (font_headers, font_body) = fetch(&t, font, Some("br, gzip")).await;
    assert!(font_headers.get("content-encoding").is_none());
    assert_eq!(
        font_headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("font/woff2")
    );
    assert_eq!(&font_body[..4], b"wOF2");

    // A CSV export streams compressed to its end.
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for i in 0..300 {
        t.create(
            &owner,
            "/api/v1/companies",
            json!({"name": format!("Company {i:03}")}),
        )
        .await;
    }
    for encoding in ["gzip", "br"] {
        let r = t
            .client
            .get(t.url("/api/v1/companies/export.csv"))
            .bearer_auth(&owner.access)
            .header("x-organization-id", owner.org())
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
        let headers = r.headers().clone();
        assert_eq!(
            headers
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some(encoding)
        );
        let body = r.bytes().await.expect("the whole export");
        let csv = String::from_utf8(decoded(&headers, &body)).expect("utf-8");
        assert_eq!(csv.lines().count(), 301, "{encoding}");
        assert!(csv.contains("Company 299"));
    }
}
