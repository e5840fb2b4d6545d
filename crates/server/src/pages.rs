//! The few pages the server itself renders: error pages and the API reference.

use axum::http::header;
use axum::response::{Html, IntoResponse};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A plain, self-contained error page in Rapport's look, in the theme the person chose. A busy
/// moment (503) reads as one and offers to try again.
pub fn error_page(status: u16, title: &str, detail: &str) -> String {
    let (title, again) = if status == 503 {
        (
            "Busy right now",
            r#"<a class="error-retry" href="">Try again</a> · "#,
        )
    } else {
        (title, "")
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} · {title} · Rapport</title>
<script src="/assets/theme.js"></script>
<link rel="stylesheet" href="/api/docs/style.css">
</head>
<body class="error-page">
<main>
<p class="error-code">{status}</p>
<h1>{title}</h1>
<p>{detail}</p>
<p>{again}<a href="/">Back to Rapport</a></p>
</main>
</body>
</html>"#,
        title = escape(title),
        detail = escape(detail),
    )
}

const DOCS_HTML: &str = include_str!("../assets/api-docs.html");
const DOCS_JS: &str = include_str!("../assets/api-docs.js");
const DOCS_CSS: &str = include_str!("../assets/api-docs.css");

/// `/api/docs`: the API reference, rendered in the browser from `/api/v1/openapi.json` by a small
/// embedded script; nothing is fetched from elsewhere.
pub async fn api_docs() -> impl IntoResponse {
    Html(DOCS_HTML)
}

pub async fn api_docs_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        DOCS_JS,
    )
}

pub async fn api_docs_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        DOCS_CSS,
    )
}
