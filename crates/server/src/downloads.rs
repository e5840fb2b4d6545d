//! Files on their way out: one response for the API, the pages and signed links. Each says
//! exactly what it is (type, length, its SHA-256 as the ETag), is never sniffed, and runs nothing: only images,
//! PDFs, video and audio are shown in a page (of this server's only), anything else is saved.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use rapport_app::files::Download;

/// Marks a response carrying a file (sent as stored, never compressed on the way).
#[derive(Clone, Copy, Debug)]
pub struct FileBody;

/// The response carrying a file; `inline` asks to show it in the page when its type allows.
pub fn file_response(download: Download, inline: bool) -> Response {
    let inline = inline && download.inline;
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        ascii_name(&download.name),
        encode_name(&download.name)
    );
    // A PDF is shown by the browser's own viewer, which a sandboxed page cannot host; anything
    // else shown in a page is sandboxed (no script, no form, no origin).
    let policy = if inline && download.content_type == "application/pdf" {
        "default-src 'none'; frame-ancestors 'self'"
    } else {
        "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
    };
    let mut response = Response::new(Body::from_stream(download.body));
    *response.status_mut() = StatusCode::OK;
    response.extensions_mut().insert(FileBody);
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set(header::CONTENT_TYPE, download.content_type.clone());
    set(header::CONTENT_LENGTH, download.size.to_string());
    set(header::CONTENT_DISPOSITION, disposition);
    set(header::CONTENT_SECURITY_POLICY, policy.to_owned());
    set(header::ETAG, format!("\"{}\"", download.sha256));
    set(header::CACHE_CONTROL, "private, max-age=300".to_owned());
    set(header::X_FRAME_OPTIONS, "SAMEORIGIN".to_owned());
    response
}

/// The name with anything but printable ASCII (and quotes) replaced, for old clients.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect()
}

/// RFC 8187 encoding of the name.
fn encode_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(*b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_travel_safely_in_the_header() {
        assert_eq!(ascii_name("Zoë \"B-12\".pdf"), "Zo_ _B-12_.pdf");
        assert_eq!(encode_name("Zoë B.pdf"), "Zo%C3%AB%20B.pdf");
    }
}
