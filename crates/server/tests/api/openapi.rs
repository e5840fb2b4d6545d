//! The OpenAPI document tells the truth: parameters are where the server reads them, errors are
//! problem documents, and it describes every route the router serves and nothing else.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::TestApp;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(t: &TestApp) -> Value {
    let r = t
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "not OpenAPI 3.1: {}",
        r.body["openapi"]
    );
    r.body
}

/// Every (method, path template, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 100, "only {} operations documented", out.len());
    out
}

fn parameters(op: &Value) -> Vec<(String, String, bool)> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        p["required"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `{name}` segments of a path template.
fn template_names(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

fn is_secured(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| !s.is_empty())
}

fn declares_organization_header(op: &Value) -> bool {
    parameters(op)
        .iter()
        .any(|(name, place, _)| place == "header" && name.eq_ignore_ascii_case("x-organization-id"))
}

#[tokio::test]
async fn parameters_are_where_the_server_reads_them() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    for (method, path, op) in operations(&doc) {
        let params = parameters(&op);
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|(_, place, _)| place == "path")
            .map(|(name, _, _)| name.clone())
            .collect();
        assert_eq!(
            in_path,
            template_names(&path),
            "{method} {path}: path parameters do not match the template"
        );
        for (name, place, required) in &params {
            assert!(
                ["path", "query", "header"].contains(&place.as_str()),
                "{method} {path}: {name} is in {place}"
            );
            if place == "path" {
                assert!(required, "{method} {path}: path parameter {name} optional");
            }
        }
    }
    // A list's filters are optional query parameters.
    let list = &doc["paths"]["/api/v1/leads"]["get"];
    for name in [
        "status",
        "search",
        "owner_id",
        "page",
        "page_size",
        "cursor",
    ] {
        assert!(
            parameters(list).contains(&(name.to_owned(), "query".to_owned(), false)),
            "GET /api/v1/leads: {name} is not an optional query parameter: {}",
            list["parameters"]
        );
    }
}

fn media_types(response: &Value) -> Vec<String> {
    response["content"]
        .as_object()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_error_is_a_problem_document_and_common_answers_are_documented() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let problem = &doc["components"]["schemas"]["Problem"];
    assert!(problem.is_object(), "no Problem schema");
    let required: Vec<&str> = problem["required"]
        .as_array()
        .expect("Problem.required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !required.contains(&"errors"),
        "errors is only present on 422"
    );
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let is_error = status.starts_with('4') || status.starts_with('5');
            // Readiness answers its report either way; it is not an error document.
            if !is_error || (path == "/ready" && status == "503") {
                continue;
            }
            assert_eq!(
                media_types(response),
                ["application/problem+json"],
                "{method} {path} {status}"
            );
            assert_eq!(
                response["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
        let has = |status: &str| responses.contains_key(status);
        if path != "/ready" {
            assert!(has("503"), "{method} {path}: 503 service_busy");
            assert!(
                responses["503"]["headers"].get("Retry-After").is_some(),
                "{method} {path}: 503 without Retry-After"
            );
        }
        assert!(has("408"), "{method} {path}: 408 request_timeout");
        if is_secured(&op) {
            assert!(has("401"), "{method} {path}: secured, no 401");
        }
        if is_secured(&op) && path.starts_with("/api/v1/") {
            let limited = &responses["429"];
            for header in [
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ] {
                assert!(
                    limited["headers"].get(header).is_some(),
                    "{method} {path}: 429 without {header}"
                );
            }
        }
        if declares_organization_header(&op) {
            assert!(has("400") && has("403"), "{method} {path}: 400/403");
        }
        if !template_names(&path).is_empty() {
            assert!(has("404"), "{method} {path}: path ids, no 404");
        }
        let json_body = op["requestBody"]["content"]
            .get("application/json")
            .is_some();
        if json_body {
            for status in ["400", "413", "415", "422"] {
                assert!(has(status), "{method} {path}: JSON body, no {status}");
            }
        }
    }
}

/// The routes `router.rs` declares with `.route(…)`: (method, path) pairs, the `/api/v1` ones
/// with their prefix. Read from the source so the list is never kept twice by hand.
fn declared_routes() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/router.rs");
    let mut routes = BTreeSet::new();
    for (function, prefix) in [("fn api_v1()", "/api/v1"), ("pub fn router(", "")] {
        let start = source.find(function).expect("router function");
        let body = &source[start..];
        let end = body[1..].find("\nfn ").map_or(body.len(), |e| e + 1);
        let body = &body[..end];
        let mut rest = body;
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            let mut depth = 1;
            let close = call
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("balanced route call");
            let args = &call[..close];
            let path = args.split('"').nth(1).expect("route path literal");
            let mut methods = 0;
            for method in METHODS {
                let needle = format!("{method}(");
                let mut from = 0;
                while let Some(i) = args[from..].find(&needle) {
                    let i = from + i;
                    let before = args[..i].chars().last().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        routes.insert((method.to_owned(), format!("{prefix}{path}")));
                        methods += 1;
                    }
                    from = i + needle.len();
                }
            }
            assert!(methods > 0, "no method found in .route({args})");
            rest = &call[close..];
        }
    }
    assert!(routes.len() > 100, "only {} routes read", routes.len());
    routes
}

#[tokio::test]
async fn the_document_describes_every_route_the_router_serves() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let served: BTreeSet<(String, String)> = declared_routes()
        .into_iter()
        // The reference's HTML page and assets are not part of the API.
        .filter(|(_, path)| !path.starts_with("/api/docs"))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served, not documented: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
}

/// The path with every `{name}` replaced by something of the right shape.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{kind}" => "contacts".to_owned(),
            "{token}" => "not-a-token".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::now_v7().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn what_the_document_says_about_credentials_and_organizations_holds() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let ann = t.register("ann@example.com", Some("Acme")).await;
    let mut untrue = Vec::new();
    for (method, path, op) in operations(&doc) {
        if !path.starts_with("/api/v1/") && path != "/ws" {
            continue;
        }
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let url = concrete(&path);
        let anonymous = t.call(method.clone(), &url, None, None).await;
        if anonymous.body["code"] == "route_not_found"
            || anonymous.status == StatusCode::METHOD_NOT_ALLOWED
        {
            untrue.push(format!("{method} {path} is documented but not served"));
        }
        if anonymous.status == StatusCode::UNAUTHORIZED && !is_secured(&op) {
            untrue.push(format!(
                "{method} {path} asks for credentials but declares no security"
            ));
        }
        if !is_secured(&op) {
            continue;
        }
        anonymous.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let signed_in = t.call(method.clone(), &url, Some(&ann.access), None).await;
        let refused = signed_in.body["code"] == "organization_required";
        if refused != declares_organization_header(&op) {
            untrue.push(format!(
                "{method} {path}: answers {} without X-Organization-Id, yet the header is {}",
                signed_in.status,
                if refused { "not declared" } else { "declared" }
            ));
        }
        let status = signed_in.status.as_str().to_owned();
        if op["responses"].get(&status).is_none() {
            untrue.push(format!(
                "{method} {path}: answered {status}, which is not documented: {}",
                signed_in.text
            ));
        }
    }
    assert!(untrue.is_empty(), "{}", untrue.join("\n"));
}

#[tokio::test]
async fn views_exports_and_the_websocket_gateway_are_documented() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let paths = &doc["paths"];
    let ws = &paths["/ws"]["get"];
    assert!(ws["responses"].get("101").is_some(), "/ws: no 101");
    for status in ["400", "401", "403", "429"] {
        assert!(ws["responses"].get(status).is_some(), "/ws: no {status}");
    }
    let described = ws["description"].as_str().unwrap_or_default();
    assert!(described.contains("subscribe") && described.contains("record:"));
    for (name, place) in [
        ("access_token", "query"),
        ("organization_id", "query"),
        ("X-Organization-Id", "header"),
    ] {
        assert!(
            parameters(ws)
                .iter()
                .any(|(n, p, required)| n == name && p == place && !required),
            "/ws: {name} in {place}"
        );
    }
    assert!(paths["/api/v1/views"]["get"].is_object());
    assert!(paths["/api/v1/views"]["post"].is_object());
    assert!(paths["/api/v1/views/{id}"]["delete"].is_object());
    for list in ["contacts", "companies", "leads", "deals"] {
        let export = &paths[format!("/api/v1/{list}/export.csv")]["get"];
        assert!(
            export["responses"]["200"]["content"]
                .get("text/csv")
                .is_some(),
            "{list} export: not text/csv"
        );
        // The same filters as the list, without its paging.
        let list_filters: BTreeSet<String> = parameters(&paths[format!("/api/v1/{list}")]["get"])
            .into_iter()
            .filter(|(name, place, _)| {
                place == "query" && !["page", "page_size", "cursor"].contains(&name.as_str())
            })
            .map(|(name, _, _)| name)
            .collect();
        let export_filters: BTreeSet<String> = parameters(export)
            .into_iter()
            .filter(|(_, place, _)| place == "query")
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(export_filters, list_filters, "{list} export filters");
    }
}
