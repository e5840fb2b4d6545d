//! Static assets, embedded in the binary.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../../assets/web/app.css");
const APP_JS: &str = include_str!("../../assets/web/app.js");
const THEME_JS: &str = include_str!("../../assets/web/theme.js");

pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "theme.js" => ("text/javascript; charset=utf-8", THEME_JS),
        _ => {
            return crate::error::ApiError::new(
                StatusCode::NOT_FOUND,
                "route_not_found",
                "there is nothing at this address",
            )
            .into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}
