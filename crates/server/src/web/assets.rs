//! Static assets, embedded in the binary. Pages link each under a name that carries a
//! fingerprint of its content (`/assets/app.3f9c1a2b7d.css`), which browsers keep for a year
//! without asking again: a new build changes the name of what changed. The plain name
//! (`/assets/app.css`) answers too, kept for five minutes. The stylesheet names the fonts by
//! their fingerprinted names as well.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../../assets/web/app.css");
const APP_JS: &str = include_str!("../../assets/web/app.js");
const THEME_JS: &str = include_str!("../../assets/web/theme.js");
const FONTS: [(&str, &[u8]); 3] = [
    (
        "inter-regular.woff2",
        include_bytes!("../../assets/web/fonts/inter-regular.woff2"),
    ),
    (
        "inter-medium.woff2",
        include_bytes!("../../assets/web/fonts/inter-medium.woff2"),
    ),
    (
        "inter-semibold.woff2",
        include_bytes!("../../assets/web/fonts/inter-semibold.woff2"),
    ),
];

/// How long a browser keeps an asset asked for by its plain name.
const PLAIN_MAX_AGE: &str = "public, max-age=300";
/// How long it keeps one asked for by its fingerprinted name: it never changes.
const FINGERPRINTED_MAX_AGE: &str = "public, max-age=31536000, immutable";
/// How long it keeps this build's version of one asked for by another build's fingerprint.
const OTHER_BUILD_MAX_AGE: &str = "public, max-age=60";

struct Asset {
    /// `app.css`.
    name: &'static str,
    /// `app.3f9c1a2b7d.css`.
    fingerprinted: String,
    content_type: &'static str,
    body: Bytes,
}

/// The first ten hex digits of the content's FNV-1a hash: enough to tell builds apart.
fn fingerprint(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")[..10].to_owned()
}

fn asset(name: &'static str, content_type: &'static str, body: Vec<u8>) -> Asset {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    Asset {
        fingerprinted: format!("{stem}.{}.{extension}", fingerprint(&body)),
        name,
        content_type,
        body: Bytes::from(body),
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let mut assets: Vec<Asset> = FONTS
        .iter()
        .map(|(name, body)| asset(name, "font/woff2", body.to_vec()))
        .collect();
    let mut css = APP_CSS.to_owned();
    for font in &assets {
        css = css.replace(
            &format!("/assets/{}", font.name),
            &format!("/assets/{}", font.fingerprinted),
        );
    }
    assets.push(asset(
        "app.css",
        "text/css; charset=utf-8",
        css.into_bytes(),
    ));
    assets.push(asset(
        "app.js",
        "text/javascript; charset=utf-8",
        APP_JS.as_bytes().to_vec(),
    ));
    assets.push(asset(
        "theme.js",
        "text/javascript; charset=utf-8",
        THEME_JS.as_bytes().to_vec(),
    ));
    assets
});

/// The address pages link an asset by: its fingerprinted name.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => format!("/assets/{}", a.fingerprinted),
        None => format!("/assets/{name}"),
    }
}

/// Whether `file` names `asset` with another build's fingerprint (`app.0123456789.css`).
fn another_build(asset: &Asset, file: &str) -> bool {
    let (stem, extension) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
    file.strip_prefix(stem)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(extension))
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|print| print.len() == 10 && print.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether an `If-None-Match` header names this version (`*`, or its tag, weak or not).
fn unchanged(headers: &HeaderMap, fingerprint: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|tag| tag == "*" || tag == fingerprint)
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    // While servers of two builds answer side by side (a rolling deploy), a page of one may ask
    // another for its assets: that one answers with its own version, kept only briefly.
    let found = ASSETS.iter().find_map(|a| {
        if a.fingerprinted == file {
            Some((a, FINGERPRINTED_MAX_AGE))
        } else if a.name == file {
            Some((a, PLAIN_MAX_AGE))
        } else if another_build(a, &file) {
            Some((a, OTHER_BUILD_MAX_AGE))
        } else {
            None
        }
    });
    let Some((asset, cache)) = found else {
        return crate::error::ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "there is nothing at this address",
        )
        .into_response();
    };
    // Weak: the same version goes out plain, gzip- or brotli-compressed.
    let etag = format!("W/\"{}\"", asset.fingerprinted);
    let vary = (header::VARY, "accept-encoding".to_owned());
    if unchanged(&headers, &asset.fingerprinted) {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache.to_owned()),
                vary,
            ],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, asset.content_type.to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
            (header::ETAG, etag),
            vary,
        ],
        asset.body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_linked_by_a_name_that_changes_with_its_content() {
        let css = url("app.css");
        assert!(
            css.starts_with("/assets/app.") && css.ends_with(".css") && css.len() > 20,
            "{css}"
        );
        assert_ne!(
            fingerprint(b"body { color: red }"),
            fingerprint(b"body { color: blue }")
        );
        let sheet = ASSETS.iter().find(|a| a.name == "app.css").expect("css");
        assert!(another_build(sheet, "app.0123456789.css"));
        assert!(!another_build(sheet, "app.css") && !another_build(sheet, "app.js"));
        assert!(!another_build(sheet, "app.zz23456789.css"));
        // The stylesheet names the fonts by their fingerprinted names.
        let sheet = ASSETS.iter().find(|a| a.name == "app.css").expect("css");
        let sheet = String::from_utf8_lossy(&sheet.body);
        for (font, _) in FONTS {
            let linked = url(font);
            assert_ne!(linked, format!("/assets/{font}"));
            assert!(sheet.contains(&linked), "{font} is not linked by {linked}");
        }
    }
}
