//! Cross-cutting request handling: request ids, the `/o/{slug}` prefix, security headers,
//! metrics, and problem documents re-rendered as pages for browsers.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{ApiError, ProblemMarker};
use crate::state::AppState;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, echoed in `X-Request-Id` and carried by logs and audit.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The organization slug of an `/o/{slug}/…` URL, removed from the path before routing.
#[derive(Clone, Debug)]
pub struct PathSlug(pub String);

/// A caller-supplied id is kept when it is a sane token; otherwise a fresh UUIDv7 is used.
fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

/// Runs first: assigns the request id and strips the `/o/{slug}` prefix so one set of routes
/// serves every way of naming an organization.
pub async fn request_id_and_prefix(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));

    // The address as asked, for whatever records it (support access's audit).
    if req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .is_none()
    {
        let asked = axum::extract::OriginalUri(req.uri().clone());
        req.extensions_mut().insert(asked);
    }
    let path = req.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/o/") {
        let (slug, tail) = match rest.split_once('/') {
            Some((slug, tail)) => (slug.to_owned(), format!("/{tail}")),
            None => (rest.to_owned(), "/".to_owned()),
        };
        if !slug.is_empty() {
            let path_and_query = match req.uri().query() {
                Some(q) => format!("{tail}?{q}"),
                None => tail,
            };
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = path_and_query.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                    req.extensions_mut().insert(PathSlug(slug));
                }
            }
        }
    }

    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    let mut response = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    span.in_scope(|| {
        let status = response.status().as_u16();
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, millis, "request served");
        } else {
            tracing::info!(status, millis, "request served");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// Security headers on every response.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // A file shown in this server's own pages says so itself; everything else is never framed.
    if !headers.contains_key(header::X_FRAME_OPTIONS) {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
    }
    if state.app.config.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}

/// Counts requests by route and status and times them.
pub async fn metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let (response, round_trips) = rapport_app::model::count_round_trips(next.run(req)).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
        round_trips,
    );
    response
}

/// A browser that asked for a page gets the error as a page rather than JSON (API paths always
/// answer JSON).
pub async fn html_errors(req: Request, next: Next) -> Response {
    let wants_html = !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(req).await;
    if !wants_html {
        return response;
    }
    match response.extensions().get::<ProblemMarker>().cloned() {
        Some(ProblemMarker(problem)) => {
            let mut error = ApiError::new(response.status(), "error", problem.detail);
            error.retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let mut html = error.into_html_response();
            for name in [&X_REQUEST_ID] {
                if let Some(v) = response.headers().get(name) {
                    html.headers_mut().insert(name.clone(), v.clone());
                }
            }
            html
        }
        None => response,
    }
}

/// Turns an empty-bodied error from the framework (such as a request timeout) into a problem
/// document.
pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_bare = (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<ProblemMarker>().is_none()
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if !is_bare {
        return response;
    }
    let (code, detail) = match status.as_u16() {
        408 => (
            "request_timeout",
            "the request took too long and was stopped",
        ),
        413 => ("payload_too_large", "the body is larger than 1 MiB"),
        _ => ("error", "the request could not be served"),
    };
    let mut problem =
        axum::response::IntoResponse::into_response(ApiError::new(status, code, detail));
    for (name, value) in response.headers() {
        if !problem.headers().contains_key(name) {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

/// HTML forms cannot set headers, so a form posted with the session cookie carries its CSRF token
/// in a `_csrf` field. This lifts the field into the `X-CSRF-Token` header the credential check
/// reads, leaving the body intact for the handler.
pub async fn csrf_form_field(req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let unsafe_method = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !is_form || !unsafe_method || req.headers().contains_key(crate::extract::CSRF_HEADER) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::router::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return axum::response::IntoResponse::into_response(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than 1 MiB",
            ));
        }
    };
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.into_owned());
    if let Some(token) = token
        && let Ok(value) = HeaderValue::from_str(&token)
    {
        parts.headers.insert(crate::extract::CSRF_HEADER, value);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Where the extractors leave the rate limit a request counted against (the tighter of the
/// caller's and the organization's), for [`rate_limit_headers`] to report.
#[derive(Clone, Default)]
pub struct RateSlot(pub std::sync::Arc<std::sync::Mutex<Option<rapport_app::rate_limit::Quota>>>);

impl RateSlot {
    /// Keeps the tighter of what is there and `quota`.
    pub fn note(&self, quota: rapport_app::rate_limit::Quota) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(match *slot {
            Some(held) => held.tighter(quota),
            None => quota,
        });
    }
}

/// API responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
/// (seconds until the window ends) of the limit the request counted against.
pub async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    let quota = *slot.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(q) = quota {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", q.limit),
            ("x-ratelimit-remaining", q.remaining),
            ("x-ratelimit-reset", q.reset_secs),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
                headers.insert(name, v);
            }
        }
    }
    response
}

/// Applies the one text rule ([`rapport_domain::validation::first_forbidden_character`]) to
/// everything a request carries as text before any handler sees it: the path, the query string,
/// and form or JSON bodies. A control character in a field is 422 naming the field (a page for a
/// browser), the same on SQLite and PostgreSQL; in the path it is 404, as no resource has such a
/// name. Other bodies (file uploads) pass untouched.
pub async fn refuse_control_characters(req: Request, next: Next) -> Response {
    use rapport_domain::validation::first_forbidden_character;

    if first_forbidden_character(&percent_decode(req.uri().path())).is_some() {
        return axum::response::IntoResponse::into_response(ApiError::not_found());
    }
    if let Some(query) = req.uri().query()
        && let Some(error) = form_error(query.as_bytes(), "query parameter")
    {
        return axum::response::IntoResponse::into_response(error);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_json = content_type.starts_with("application/json")
        || (content_type.starts_with("application/") && content_type.contains("+json"));
    if !is_form && !is_json {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::router::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return axum::response::IntoResponse::into_response(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than 1 MiB",
            ));
        }
    };
    let error = if is_form {
        form_error(&bytes, "field")
    } else {
        // Most bodies cannot hold one, which a glance at the bytes tells; only the others are
        // parsed, to name the field. Malformed JSON is left for the JSON extractor (400).
        may_hold_control_characters(&bytes)
            .then(|| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .flatten()
            .and_then(|value| json_error(&value, String::new()))
            .map(|(field, c)| control_character_error(&field, c, "field"))
    };
    if let Some(error) = error {
        return axum::response::IntoResponse::into_response(error);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn control_character_error(field: &str, c: char, what: &str) -> ApiError {
    let mut error = ApiError::invalid(
        field,
        rapport_domain::validation::forbidden_character_message(c),
    );
    error.detail = format!("the {what} “{field}” contains a control character");
    error
}

/// The first name or value of a form (or query string) holding a forbidden character.
fn form_error(raw: &[u8], what: &str) -> Option<ApiError> {
    use rapport_domain::validation::first_forbidden_character;
    url::form_urlencoded::parse(raw).find_map(|(name, value)| {
        let c = first_forbidden_character(&name).or_else(|| first_forbidden_character(&value))?;
        let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        Some(control_character_error(&shown, c, what))
    })
}

/// The path (`stages[1].name`) of the first JSON string or key holding a forbidden character.
fn json_error(value: &serde_json::Value, at: String) -> Option<(String, char)> {
    use rapport_domain::validation::first_forbidden_character;
    match value {
        serde_json::Value::String(s) => first_forbidden_character(s)
            .map(|c| (if at.is_empty() { "body".into() } else { at }, c)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| json_error(item, format!("{at}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match first_forbidden_character(key) {
                Some(c) => Some((here.chars().filter(|c| !c.is_control()).collect(), c)),
                None => json_error(item, here),
            }
        }),
        _ => None,
    }
}

/// Whether a JSON text may hold a control character in a string: JSON writes C0 controls as
/// `\u00XX` escapes (raw, they are invalid JSON), while DEL and the C1 controls may also appear
/// raw (bytes `7F`, and `C2 80`–`C2 9F` in UTF-8). False means certainly none.
fn may_hold_control_characters(json: &[u8]) -> bool {
    json.windows(4).any(|w| w == b"\\u00")
        || json.contains(&0x7f)
        || json
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
}

/// Percent-decodes a URL path (invalid escapes are kept as they are).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (
                (bytes[i + 1] as char).to_digit(16),
                (bytes[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every request has the request timeout to be answered, except uploads of files (a `POST` of
/// `multipart/form-data` to an upload address), which have what the largest file allowed takes
/// at 100 kB/s on top of it; an upload that stops arriving is let go sooner (see
/// `rapport_app::files`).
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.app.config;
    let limit = if is_upload(&req) {
        config.request_timeout + std::time::Duration::from_secs(config.file_max_bytes / 100_000)
    } else {
        config.request_timeout
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = Response::new(axum::body::Body::empty());
            *response.status_mut() = axum::http::StatusCode::REQUEST_TIMEOUT;
            response
        }
    }
}

/// Whether a request brings a file: `POST` of `multipart/form-data` to `…/files`,
/// `…/files/upload` or `…/files/{id}/versions`.
fn is_upload(req: &Request) -> bool {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    let path = req.uri().path();
    let upload_path = path.ends_with("/files")
        || path.ends_with("/files/upload")
        || (path.ends_with("/versions") && path.contains("/files/"));
    req.method() == axum::http::Method::POST && multipart && upload_path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glance_at_json_bytes_never_misses_a_control_character() {
        for text in [
            "nul\0",
            "bell\u{7}",
            "esc\u{1b}",
            "del\u{7f}",
            "c1\u{85}",
            "\u{9f}",
        ] {
            let json = serde_json::to_vec(&serde_json::json!({ "name": text })).expect("json");
            assert!(may_hold_control_characters(&json), "{text:?}");
            let value: serde_json::Value = serde_json::from_slice(&json).expect("parse");
            assert_eq!(
                json_error(&value, String::new()).map(|(f, _)| f),
                Some("name".into())
            );
        }
        for text in ["plain", "tab\tand\r\nlines", "ünïcode ✓ ¢", "\u{a0}"] {
            let json = serde_json::to_vec(&serde_json::json!({ "name": text })).expect("json");
            assert!(!may_hold_control_characters(&json), "{text:?}");
        }
    }
}
