//! Small pictures of images, for lists: made the first time they are asked for, from the
//! image's bytes, and kept in the file store beside the image (`{key}.thumb`), so a list of
//! photos loads kilobytes, not megabytes.

use std::io::Cursor;

/// The longest side of a thumbnail, in pixels (twice what lists show, for dense screens).
pub const EDGE: u32 = 160;

/// Images larger than this are not read to make a thumbnail (their lists show an icon).
pub const MAX_SOURCE_BYTES: i64 = 40_000_000;

/// What decoding an image may take: its sides, and its memory.
const MAX_SIDE: u32 = 16_384;
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// The key of a version's thumbnail.
pub fn key(version_key: &str) -> String {
    format!("{version_key}.thumb")
}

/// Whether images of this type get a thumbnail.
pub fn applies(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// A thumbnail of an image: JPEG when it is opaque, PNG when it has transparency; its bytes and
/// content type. Decoding is bounded in sides and memory, whatever the image declares.
pub fn make(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), String> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| e.to_string())?;
    let small = picture.thumbnail(EDGE, EDGE);
    let mut out = Cursor::new(Vec::new());
    if small.color().has_alpha() {
        small
            .write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok((out.into_inner(), "image/png"))
    } else {
        image::DynamicImage::ImageRgb8(small.to_rgb8())
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .map_err(|e| e.to_string())?;
        Ok((out.into_inner(), "image/jpeg"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let picture = if alpha {
            image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(width, height, |x, y| {
                image::Rgba([
                    (x % 256) as u8,
                    (y % 256) as u8,
                    90,
                    if x < 10 { 0 } else { 255 },
                ])
            }))
        } else {
            image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
                image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
            }))
        };
        picture
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    }

    #[test]
    fn photos_shrink_to_a_small_jpeg_keeping_their_shape() {
        let (bytes, kind) = make(&png(1200, 600, false)).expect("thumbnail");
        assert_eq!(kind, "image/jpeg");
        let back = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((back.width(), back.height()), (EDGE, EDGE / 2));
    }

    #[test]
    fn transparency_stays_in_a_png() {
        let (bytes, kind) = make(&png(400, 400, true)).expect("thumbnail");
        assert_eq!(kind, "image/png");
        let back = image::load_from_memory(&bytes).expect("decodes");
        assert!(back.color().has_alpha());
        assert_eq!(back.width(), EDGE);
    }

    #[test]
    fn an_image_claiming_huge_sides_is_refused_before_it_is_decoded() {
        // A PNG header declaring 100000 × 100000 pixels.
        let mut bomb = png(1, 1, false);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(make(&bomb).is_err());
        assert!(make(b"not an image").is_err());
    }
}
