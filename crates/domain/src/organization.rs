//! The organization (tenant) and the values that describe it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The short name of an organization in URLs (`/o/{slug}`) and subdomains (`{slug}.example.com`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

/// Names that would collide with Rapport's own paths or well-known host names.
const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "auth",
    "billing",
    "blog",
    "cdn",
    "dashboard",
    "docs",
    "help",
    "health",
    "login",
    "logout",
    "mail",
    "metrics",
    "new",
    "o",
    "ready",
    "root",
    "settings",
    "signup",
    "static",
    "status",
    "support",
    "system",
    "www",
    "ws",
];

impl Slug {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.len() < 3 || s.len() > 48 {
            return Err("must be between 3 and 48 characters");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("may contain only lowercase letters, digits and hyphens");
        }
        if !s.as_bytes()[0].is_ascii_lowercase() {
            return Err("must start with a letter");
        }
        if s.ends_with('-') || s.contains("--") {
            return Err("must not end with a hyphen or contain two hyphens in a row");
        }
        if RESERVED_SLUGS.contains(&s) {
            return Err("is reserved, please choose another");
        }
        Ok(Self(s.to_owned()))
    }

    /// A slug suggested from an organization's name ("Acme Boats Ltd." → "acme-boats-ltd").
    /// The result may still be taken or reserved; callers add a suffix when it is.
    pub fn suggest(name: &str) -> String {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            if out.len() >= 40 {
                break;
            }
        }
        let trimmed = out.trim_end_matches('-');
        let mut slug = if trimmed.starts_with(|c: char| c.is_ascii_lowercase()) {
            trimmed.to_owned()
        } else {
            format!("org-{trimmed}")
        };
        slug = slug.trim_end_matches('-').to_owned();
        while slug.len() < 3 {
            slug.push('x');
        }
        slug
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization's display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrganizationName(String);

impl OrganizationName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        crate::validation::display_name(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency code in active use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(&'static str);

const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
];

impl Currency {
    pub const DEFAULT: Currency = Currency("EUR");

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let upper = input.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|code| **code == upper)
            .map(|code| Currency(code))
            .ok_or("must be an ISO 4217 currency code such as EUR or USD")
    }

    pub fn code(self) -> &'static str {
        self.0
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::DEFAULT
    }
}

impl TryFrom<String> for Currency {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.0.to_owned()
    }
}

impl PartialEq<str> for Currency {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for Currency {
    fn eq(&self, other: &String) -> bool {
        self.0 == other
    }
}

/// An IANA time zone name such as `Europe/Paris`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub const DEFAULT: TimeZone = TimeZone(chrono_tz::Tz::UTC);

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        chrono_tz::Tz::from_str(input.trim())
            .map(TimeZone)
            .map_err(|_| "must be an IANA time zone name such as Europe/Paris")
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }
}

/// A brand colour as `#rrggbb`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrandColor(String);

impl BrandColor {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        let hex = s.strip_prefix('#').ok_or("must be a colour like #4f46e5")?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("must be a colour like #4f46e5");
        }
        Ok(Self(format!("#{}", hex.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A host name an organization serves its workspace on (`crm.acme.com`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim().trim_end_matches('.').to_ascii_lowercase();
        if s.len() > 253 || s.is_empty() {
            return Err("must be a host name such as crm.example.com");
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err("must be a host name such as crm.example.com");
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err("must be a host name such as crm.example.com");
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("must be a host name, not an IP address");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether an organization may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrganizationStatus {
    Active,
    /// Refuses every request until an instance administrator restores it.
    Suspended,
}

impl OrganizationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationStatus::Active => "active",
            OrganizationStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

impl TryFrom<String> for OrganizationStatus {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert!(Slug::parse("acme-boats").is_ok());
        assert!(Slug::parse("acme2").is_ok());
        assert!(Slug::parse("ab").is_err());
        assert!(Slug::parse("Acme").is_err());
        assert!(Slug::parse("2acme").is_err());
        assert!(Slug::parse("acme-").is_err());
        assert!(Slug::parse("ac--me").is_err());
        assert!(Slug::parse("acme boats").is_err());
        assert!(Slug::parse("admin").is_err());
        assert!(Slug::parse(&"a".repeat(49)).is_err());
    }

    #[test]
    fn suggested_slugs_parse() {
        for name in [
            "Acme Boats Ltd.",
            "42",
            "Über GmbH",
            "a",
            "  ---  ",
            "Marina d'Or",
        ] {
            let suggestion = Slug::suggest(name);
            assert!(Slug::parse(&suggestion).is_ok(), "{name} → {suggestion}");
        }
        assert_eq!(Slug::suggest("Acme Boats Ltd."), "acme-boats-ltd");
    }

    #[test]
    fn currencies_are_iso_codes() {
        assert_eq!(Currency::parse("usd").map(Currency::code), Ok("USD"));
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Europe/Paris").map(TimeZone::name),
            Ok("Europe/Paris")
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn brand_colours_are_hex_triplets() {
        assert_eq!(
            BrandColor::parse("#4F46E5").map(|c| c.as_str().to_owned()),
            Ok("#4f46e5".to_owned())
        );
        assert!(BrandColor::parse("4f46e5").is_err());
        assert!(BrandColor::parse("#4f46e").is_err());
        assert!(BrandColor::parse("#zzzzzz").is_err());
    }

    #[test]
    fn domains_are_host_names() {
        assert_eq!(
            DomainName::parse("CRM.Acme.com.").map(|d| d.as_str().to_owned()),
            Ok("crm.acme.com".to_owned())
        );
        assert!(DomainName::parse("localhost").is_err());
        assert!(DomainName::parse("10.0.0.1").is_err());
        assert!(DomainName::parse("-bad.example.com").is_err());
        assert!(DomainName::parse("crm.example.com/path").is_err());
    }
}
