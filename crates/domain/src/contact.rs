//! Contacts and companies: the values a record may hold.

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
}
