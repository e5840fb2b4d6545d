//! Colours an organization's brand gives the interface, readable whatever the brand: its text
//! and links in the brand's colour reach WCAG AA (4.5:1) on the light and the dark theme's
//! backgrounds, and text on the brand (a primary button) is white or near-black, whichever reads
//! better.

/// A colour as `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn parse(hex: &str) -> Option<Rgb> {
        let h = hex.strip_prefix('#')?;
        if h.len() != 6 || !h.is_ascii() {
            return None;
        }
        let part = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        Some(Rgb(part(0)?, part(2)?, part(4)?))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance, as WCAG defines it.
    fn luminance(self) -> f64 {
        let f = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * f(self.0) + 0.7152 * f(self.1) + 0.0722 * f(self.2)
    }

    /// `self` mixed with `other`, `share` of `self` (0 to 1).
    fn mix(self, other: Rgb, share: f64) -> Rgb {
        let m = |a: u8, b: u8| (f64::from(a) * share + f64::from(b) * (1.0 - share)).round() as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }
}

/// The contrast ratio of two colours (1 to 21).
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// What text reads at: 4.5:1, with a little room for rounding in browsers.
const READABLE: f64 = 4.6;
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
/// The light theme's darkest text and lightest grey behind text (gray-900, gray-100).
const LIGHT_TEXT: Rgb = Rgb(0x0f, 0x17, 0x2a);
const LIGHT_BACKGROUNDS: [Rgb; 2] = [WHITE, Rgb(0xf1, 0xf5, 0xf9)];
/// The dark theme's lightest text and the greys behind text (gray-100; gray-950, -900, -800).
const DARK_TEXT: Rgb = Rgb(0xf1, 0xf5, 0xf9);
const DARK_BACKGROUNDS: [Rgb; 3] = [
    Rgb(0x02, 0x06, 0x17),
    Rgb(0x0f, 0x17, 0x2a),
    Rgb(0x1e, 0x29, 0x3b),
];

/// The brand mixed towards `toward` just enough to read on every one of `backgrounds`.
fn readable(brand: Rgb, toward: Rgb, backgrounds: &[Rgb]) -> Rgb {
    (0..=20)
        .map(|step| brand.mix(toward, 1.0 - f64::from(step) / 20.0))
        .find(|c| backgrounds.iter().all(|bg| contrast(*c, *bg) >= READABLE))
        .unwrap_or(toward)
}

/// The colours a brand gives the interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrandColors {
    /// Text on the brand's colour (a primary button's label).
    pub on_brand: Rgb,
    /// Text and links in the brand's colour on the light theme.
    pub accent_light: Rgb,
    /// The same on the dark theme.
    pub accent_dark: Rgb,
}

pub fn brand_colors(brand: Rgb) -> BrandColors {
    let near_black = Rgb(0x02, 0x06, 0x17);
    BrandColors {
        on_brand: if contrast(WHITE, brand) >= contrast(near_black, brand) {
            WHITE
        } else {
            near_black
        },
        accent_light: readable(brand, LIGHT_TEXT, &LIGHT_BACKGROUNDS),
        accent_dark: readable(brand, DARK_TEXT, &DARK_BACKGROUNDS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_brand_gives_readable_links_in_both_themes() {
        assert_eq!(Rgb::parse("#4F46E5"), Some(Rgb(0x4f, 0x46, 0xe5)));
        assert_eq!(Rgb::parse("4f46e5"), None);
        // White on black is 21:1, a colour on itself 1:1.
        assert!((contrast(WHITE, Rgb(0, 0, 0)) - 21.0).abs() < 1e-9);
        assert!((contrast(WHITE, WHITE) - 1.0).abs() < 1e-9);
        for hex in [
            "#4f46e5", "#facc15", "#000000", "#ffffff", "#0f172a", "#22c55e", "#e11d48",
        ] {
            let brand = Rgb::parse(hex).expect("colour");
            let c = brand_colors(brand);
            for bg in LIGHT_BACKGROUNDS {
                assert!(contrast(c.accent_light, bg) >= 4.5, "{hex} light on {bg:?}");
            }
            for bg in DARK_BACKGROUNDS {
                assert!(contrast(c.accent_dark, bg) >= 4.5, "{hex} dark on {bg:?}");
            }
            assert!(contrast(c.on_brand, brand) >= 4.5, "{hex}");
        }
        // A brand that reads already is kept as it is.
        let indigo = Rgb::parse("#4f46e5").expect("colour");
        assert_eq!(brand_colors(indigo).accent_light, indigo);
        assert_eq!(brand_colors(indigo).on_brand, WHITE);
        // A yellow brand gets dark text on its buttons and darker links.
        let yellow = Rgb::parse("#facc15").expect("colour");
        assert_ne!(brand_colors(yellow).on_brand, WHITE);
        assert_ne!(brand_colors(yellow).accent_light, yellow);
    }
}
