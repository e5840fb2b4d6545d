//! Contacts and companies: the values a record may hold.

use crate::validation::ValidationErrors;

/// A phone number as people type it: digits with spaces, dots, dashes, parentheses and a leading +.
pub fn phone(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s.chars().enumerate().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')') || (c == '+' && i == 0)
    });
    if !allowed || !(4..=20).contains(&digits) || s.len() > 40 {
        return Err("must be a phone number such as +33 1 23 45 67 89");
    }
    Ok(s.to_owned())
}

/// An optional short text (title, industry…): trimmed, empty means none, at most `max` characters.
pub fn optional_text(
    errors: &mut ValidationErrors,
    field: &str,
    input: Option<&str>,
    max: usize,
) -> Option<String> {
    let s = input?.trim();
    if s.is_empty() {
        return None;
    }
    if s.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
        return None;
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        errors.add(field, "must not contain control characters");
        return None;
    }
    Some(s.to_owned())
}

/// A company's web domain, from what people paste: `https://www.Acme.com/about` → `acme.com`.
pub fn web_domain(input: &str) -> Result<String, &'static str> {
    let mut s = input.trim().to_ascii_lowercase();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_owned();
        }
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    crate::organization::DomainName::parse(host)
        .map(|d| d.as_str().to_owned())
        .map_err(|_| "must be a web domain such as acme.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_digits_with_the_usual_punctuation() {
        assert!(phone("+33 1 23 45 67 89").is_ok());
        assert!(phone("(555) 123-4567").is_ok());
        assert!(phone("12").is_err());
        assert!(phone("call me").is_err());
        assert!(phone("1+2345").is_err());
    }

    #[test]
    fn web_domains_are_cleaned_from_urls() {
        assert_eq!(
            web_domain("https://www.Acme.com/about"),
            Ok("acme.com".into())
        );
        assert_eq!(web_domain("acme.co.uk"), Ok("acme.co.uk".into()));
        assert!(web_domain("not a domain").is_err());
    }

    #[test]
    fn optional_texts_are_trimmed_and_bounded() {
        let mut errors = ValidationErrors::new();
        assert_eq!(
            optional_text(&mut errors, "title", Some("  CEO "), 10),
            Some("CEO".into())
        );
        assert_eq!(optional_text(&mut errors, "title", Some("   "), 10), None);
        assert_eq!(optional_text(&mut errors, "title", None, 10), None);
        assert!(errors.is_empty());
        assert_eq!(
            optional_text(&mut errors, "title", Some("far too long a title"), 10),
            None
        );
        assert_eq!(errors.0.len(), 1);
    }
}
