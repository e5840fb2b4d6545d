//! Files attached to records: their names, and the types of content accepted.

/// The longest file name kept, in bytes (what common file systems allow).
pub const MAX_NAME_BYTES: usize = 255;

/// A file name as people gave it, made safe to store, show and offer back as a download: no
/// folders, no control or reserved characters, no leading dots, at most
/// [`MAX_NAME_BYTES`] bytes with its extension kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Cleans a name; refuses one with nothing left.
    pub fn parse(raw: &str) -> Result<FileName, &'static str> {
        // Only the last part of a path (browsers on Windows once sent `C:\…\name`).
        let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
        let mut name: String = base
            .chars()
            // Marks that reorder or hide text (`invoice\u{202E}fdp.js` shown as
            // `invoicesj.pdf`) go.
            .filter(|c| !is_format_mark(*c))
            .map(|c| match c {
                c if c.is_control() => ' ',
                ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
                c => c,
            })
            .collect();
        // Runs of spaces become one; leading dots (hidden files, `..`) and spaces go.
        name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let name = name
            .trim_start_matches(['.', ' '])
            .trim_end_matches(['.', ' ']);
        if name.is_empty() {
            return Err("must name the file");
        }
        Ok(FileName(shorten(name)))
    }

    /// The name with an extension of its type: kept when it is one, else the type's own is
    /// added (`notes.js` of plain text is saved as `notes.js.txt`, never run by a double click).
    pub fn typed(self, accepted: &Accepted) -> FileName {
        match self.extension() {
            Some(ext) if accepted.extensions.contains(&ext.as_str()) => self,
            _ => {
                let ext = accepted.extensions[0];
                let mut name = self.0;
                // Room for the extension within the limit.
                while name.len() + ext.len() + 1 > MAX_NAME_BYTES {
                    name.pop();
                }
                FileName(format!("{}.{ext}", name.trim_end()))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The extension, in lowercase, without its dot.
    pub fn extension(&self) -> Option<String> {
        extension(&self.0)
    }
}

/// Unicode's invisible format marks that change how text reads: bidirectional embeddings,
/// overrides and isolates, zero-width characters, the byte order mark.
fn is_format_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 10 && !ext.contains(' '))
        .then(|| ext.to_ascii_lowercase())
}

/// Cuts a name to [`MAX_NAME_BYTES`], keeping its extension and whole characters.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let ext = extension(name).map(|e| format!(".{e}")).unwrap_or_default();
    let mut stem = &name[..name.len() - ext.len()];
    let room = MAX_NAME_BYTES - ext.len();
    let mut end = room.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    stem = stem[..end].trim_end();
    format!("{stem}{ext}")
}

/// What a file is, for its icon and for filtering lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Image,
    Pdf,
    Document,
    Spreadsheet,
    Presentation,
    Video,
    Audio,
    Archive,
    Text,
}

impl FileKind {
    pub const ALL: [FileKind; 9] = [
        FileKind::Image,
        FileKind::Pdf,
        FileKind::Document,
        FileKind::Spreadsheet,
        FileKind::Presentation,
        FileKind::Video,
        FileKind::Audio,
        FileKind::Archive,
        FileKind::Text,
    ];

    pub fn key(self) -> &'static str {
        match self {
            FileKind::Image => "image",
            FileKind::Pdf => "pdf",
            FileKind::Document => "document",
            FileKind::Spreadsheet => "spreadsheet",
            FileKind::Presentation => "presentation",
            FileKind::Video => "video",
            FileKind::Audio => "audio",
            FileKind::Archive => "archive",
            FileKind::Text => "text",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileKind::Image => "Images",
            FileKind::Pdf => "PDFs",
            FileKind::Document => "Documents",
            FileKind::Spreadsheet => "Spreadsheets",
            FileKind::Presentation => "Presentations",
            FileKind::Video => "Videos",
            FileKind::Audio => "Audio",
            FileKind::Archive => "Archives",
            FileKind::Text => "Text",
        }
    }

    pub fn parse(key: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The content types of this kind that are accepted.
    pub fn content_types(self) -> impl Iterator<Item = &'static str> {
        ACCEPTED
            .iter()
            .filter(move |t| t.kind == self)
            .map(|t| t.content_type)
    }
}

/// A type of content accepted in uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub content_type: &'static str,
    pub kind: FileKind,
    /// Whether browsers may show it in the page (images, PDFs, video and audio); anything else
    /// is only ever downloaded.
    pub inline: bool,
    /// The extensions a name of this type may end with, the usual one first.
    pub extensions: &'static [&'static str],
}

const fn accept(
    content_type: &'static str,
    kind: FileKind,
    inline: bool,
    extensions: &'static [&'static str],
) -> Accepted {
    Accepted {
        content_type,
        kind,
        inline,
        extensions,
    }
}

/// Every content type accepted, as recognised from the bytes (never from the name). Markup
/// that can run script (HTML, SVG, XML), executables and unknown binaries are refused.
pub const ACCEPTED: &[Accepted] = &[
    accept("image/png", FileKind::Image, true, &["png"]),
    accept(
        "image/jpeg",
        FileKind::Image,
        true,
        &["jpg", "jpeg", "jfif"],
    ),
    accept("image/gif", FileKind::Image, true, &["gif"]),
    accept("image/webp", FileKind::Image, true, &["webp"]),
    accept("image/heif", FileKind::Image, false, &["heic", "heif"]),
    accept("image/tiff", FileKind::Image, false, &["tif", "tiff"]),
    accept("application/pdf", FileKind::Pdf, true, &["pdf"]),
    accept(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        FileKind::Document,
        false,
        &["docx"],
    ),
    accept("application/msword", FileKind::Document, false, &["doc"]),
    accept(
        "application/vnd.oasis.opendocument.text",
        FileKind::Document,
        false,
        &["odt"],
    ),
    accept("application/rtf", FileKind::Document, false, &["rtf"]),
    accept(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        FileKind::Spreadsheet,
        false,
        &["xlsx"],
    ),
    accept(
        "application/vnd.ms-excel",
        FileKind::Spreadsheet,
        false,
        &["xls"],
    ),
    accept(
        "application/vnd.oasis.opendocument.spreadsheet",
        FileKind::Spreadsheet,
        false,
        &["ods"],
    ),
    accept(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        FileKind::Presentation,
        false,
        &["pptx"],
    ),
    accept(
        "application/vnd.ms-powerpoint",
        FileKind::Presentation,
        false,
        &["ppt"],
    ),
    accept(
        "application/vnd.oasis.opendocument.presentation",
        FileKind::Presentation,
        false,
        &["odp"],
    ),
    accept("video/mp4", FileKind::Video, true, &["mp4", "m4v"]),
    accept("video/quicktime", FileKind::Video, false, &["mov"]),
    accept("video/webm", FileKind::Video, true, &["webm"]),
    accept("audio/mpeg", FileKind::Audio, true, &["mp3"]),
    accept("audio/x-wav", FileKind::Audio, true, &["wav"]),
    accept("application/zip", FileKind::Archive, false, &["zip"]),
    accept(
        "text/plain",
        FileKind::Text,
        false,
        &["txt", "text", "md", "log"],
    ),
    accept("text/csv", FileKind::Text, false, &["csv"]),
];

/// What is known of an accepted content type.
pub fn accepted(content_type: &str) -> Option<&'static Accepted> {
    ACCEPTED.iter().find(|t| t.content_type == content_type)
}

/// A size in words: `812 B`, `14.2 KB`, `3.4 MB` (decimal units, as file managers show).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    // One decimal below 100, unless it is nought: `1.5 MB`, `50 MB`, `120 MB`.
    let tenths = (value * 10.0).round();
    if value >= 100.0 || tenths % 10.0 == 0.0 {
        format!("{:.0} {}", tenths / 10.0, UNITS[unit])
    } else {
        format!("{:.1} {}", tenths / 10.0, UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_folders_and_unsafe_characters() {
        let ok = |raw: &str| FileName::parse(raw).expect(raw).into_string();
        assert_eq!(ok("C:\\Users\\ana\\EOI draft.pdf"), "EOI draft.pdf");
        assert_eq!(ok("../../etc/passwd"), "passwd");
        assert_eq!(ok("..hidden.txt"), "hidden.txt");
        assert_eq!(ok("a\u{0}b\nc.pdf"), "a b c.pdf");
        assert_eq!(ok("what?<now>|\"x\".png"), "what__now___x_.png");
        assert_eq!(ok("  spaced   out  .docx "), "spaced out .docx");
        assert_eq!(ok("Brief für März.pdf"), "Brief für März.pdf");
        assert!(FileName::parse("").is_err());
        assert!(FileName::parse(" . .. ").is_err());
        assert!(FileName::parse("folder/").is_err());
    }

    #[test]
    fn names_lose_marks_that_disguise_them() {
        let name = FileName::parse("invoice\u{202E}fdp.js").expect("name");
        assert_eq!(name.as_str(), "invoicefdp.js");
    }

    #[test]
    fn names_take_an_extension_of_their_type() {
        let text = accepted("text/plain").expect("text");
        let typed = |raw: &str| FileName::parse(raw).expect(raw).typed(text).into_string();
        assert_eq!(typed("notes.js"), "notes.js.txt");
        assert_eq!(typed("run.BAT"), "run.BAT.txt");
        assert_eq!(typed("README"), "README.txt");
        assert_eq!(typed("minutes.md"), "minutes.md");
        let png = accepted("image/png").expect("png");
        assert_eq!(
            FileName::parse("photo.pdf").expect("x").typed(png).as_str(),
            "photo.pdf.png"
        );
        let long = FileName::parse(&format!("{}.exe", "a".repeat(300))).expect("long");
        let typed = long.typed(accepted("application/zip").expect("zip"));
        assert!(typed.as_str().len() <= MAX_NAME_BYTES && typed.as_str().ends_with(".zip"));
    }

    #[test]
    fn long_names_keep_their_extension_and_whole_characters() {
        let raw = format!("{}.pdf", "é".repeat(300));
        let name = FileName::parse(&raw).expect("long");
        assert!(name.as_str().len() <= MAX_NAME_BYTES);
        assert!(name.as_str().ends_with("é.pdf"));
        assert_eq!(name.extension().as_deref(), Some("pdf"));
        assert_eq!(FileName::parse("README").expect("x").extension(), None);
    }

    #[test]
    fn markup_and_programs_are_not_accepted() {
        for refused in [
            "text/html",
            "image/svg+xml",
            "application/xml",
            "application/x-executable",
            "application/javascript",
        ] {
            assert!(accepted(refused).is_none(), "{refused}");
        }
        assert!(accepted("application/pdf").is_some_and(|a| a.inline));
        assert!(accepted("text/plain").is_some_and(|a| !a.inline));
    }

    #[test]
    fn sizes_read_as_file_managers_show_them() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(14_200), "14.2 KB");
        assert_eq!(human_size(3_400_000), "3.4 MB");
        assert_eq!(human_size(200_000_000), "200 MB");
        assert_eq!(human_size(999_999), "1 MB");
        assert_eq!(human_size(50_000_000), "50 MB");
        assert_eq!(human_size(1_500_000), "1.5 MB");
    }
}
