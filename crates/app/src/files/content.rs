//! What an upload is, told from its first bytes: the name never decides whether a file is
//! accepted, only, among containers the bytes show (a ZIP, an OLE compound file, plain text),
//! which document of that family it is.

use rapport_domain::file::{Accepted, FileName, accepted};

/// How many of an upload's first bytes are looked at.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The accepted type of an upload whose first bytes are `head` (`complete`: the whole file), or
/// why it is refused.
pub fn recognise(
    head: &[u8],
    complete: bool,
    name: &FileName,
) -> Result<&'static Accepted, String> {
    let ext = name.extension();
    let by_name_within = |family: &[(&str, &'static str)]| {
        ext.as_deref().and_then(|e| {
            family
                .iter()
                .find(|(x, _)| *x == e)
                .and_then(|(_, t)| accepted(t))
        })
    };
    let found = infer::get(head).map(|t| t.mime_type());
    let chosen = match found {
        // Office documents are ZIP or OLE containers; when the first bytes do not show which
        // document the container holds, its extension chooses among that family.
        Some("application/zip") => by_name_within(&[
            (
                "docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                "pptx",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ),
            ("odt", "application/vnd.oasis.opendocument.text"),
            ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
            ("odp", "application/vnd.oasis.opendocument.presentation"),
        ])
        .or_else(|| accepted("application/zip")),
        Some("application/x-ole-storage") => by_name_within(&[
            ("doc", "application/msword"),
            ("xls", "application/vnd.ms-excel"),
            ("ppt", "application/vnd.ms-powerpoint"),
        ]),
        Some(mime) => accepted(mime),
        None if is_text(head, complete) => {
            if ext.as_deref() == Some("csv") {
                accepted("text/csv")
            } else {
                accepted("text/plain")
            }
        }
        None => None,
    };
    chosen.ok_or_else(|| match found {
        Some(mime) => format!("files of type {mime} are not accepted"),
        None if head.is_empty() => "the file is empty".to_owned(),
        None => "this kind of file is not accepted (its content is not a known document, image, \
                 video, archive or plain text)"
            .to_owned(),
    })
}

/// Plain text: UTF-8 (a character cut at the end of an incomplete head allowed) without NUL,
/// and not markup that a browser would run (HTML, SVG, XML).
fn is_text(head: &[u8], complete: bool) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none(),
    };
    if !valid {
        return false;
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(1024)]);
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    ![
        "<!doctype",
        "<html",
        "<svg",
        "<?xml",
        "<script",
        "<head",
        "<body",
    ]
    .iter()
    .any(|m| start.starts_with(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> FileName {
        FileName::parse(n).expect("name")
    }

    #[test]
    fn the_bytes_decide_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(
            recognise(png, true, &name("photo.pdf"))
                .expect("png")
                .content_type,
            "image/png"
        );
        assert_eq!(
            recognise(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", false, &name("eoi"))
                .expect("pdf")
                .content_type,
            "application/pdf"
        );
        // A program named like a document is refused.
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0";
        assert!(recognise(elf, true, &name("contract.pdf")).is_err());
        // Markup that could run script is not text.
        for markup in [
            &b"<!DOCTYPE html><html><script>alert(1)</script>"[..],
            b"  <svg xmlns='http://www.w3.org/2000/svg' onload='x()'/>",
            b"<?xml version='1.0'?><a/>",
        ] {
            assert!(recognise(markup, true, &name("notes.txt")).is_err());
        }
    }

    #[test]
    fn text_is_utf8_without_nul() {
        let csv = "name,berth\nAna,B-12\nZoë,C-3\n".as_bytes();
        assert_eq!(
            recognise(csv, true, &name("list.csv"))
                .expect("csv")
                .content_type,
            "text/csv"
        );
        assert_eq!(
            recognise(csv, true, &name("list"))
                .expect("text")
                .content_type,
            "text/plain"
        );
        // A head that ends inside a character is still text; a whole file may not.
        let cut = &"Zoë".as_bytes()[..3];
        assert!(recognise(cut, false, &name("a.txt")).is_ok());
        assert!(recognise(cut, true, &name("a.txt")).is_err());
        assert!(recognise(b"a\0b", true, &name("a.txt")).is_err());
        assert_eq!(
            recognise(b"", true, &name("a.txt")).expect_err("empty"),
            "the file is empty"
        );
    }

    #[test]
    fn containers_take_their_document_type_from_the_family() {
        // A ZIP whose first entry does not tell what it holds.
        let zip = b"PK\x03\x04\x14\0\0\0\x08\0\0\0!\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\0\0a.txt";
        assert_eq!(
            recognise(zip, false, &name("brief.docx"))
                .expect("docx")
                .content_type,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(
            recognise(zip, false, &name("photos.zip"))
                .expect("zip")
                .content_type,
            "application/zip"
        );
        assert_eq!(
            recognise(zip, false, &name("trick.exe"))
                .expect("a zip stays a zip")
                .content_type,
            "application/zip"
        );
    }
}
