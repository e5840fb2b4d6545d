//! Accounts: who signs in, and the rules their credentials follow.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// An email address, normalised to lowercase so that uniqueness is case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        const INVALID: &str = "must be a valid email address";
        let s = input.trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(INVALID);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(INVALID)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(INVALID);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
            || domain
                .chars()
                .any(|c| !(c.is_alphanumeric() || c == '-' || c == '.'))
        {
            return Err(INVALID);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        crate::validation::display_name(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the policy. Holds the secret; its `Debug` never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Hashing cost grows with length; nobody needs a longer passphrase than this.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn common_passwords() -> &'static std::collections::HashSet<String> {
    static LIST: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// What a new password must be, as the instance sets it: a length, and how many kinds of
/// characters (lowercase and uppercase letters, digits, others) it mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    /// 1 to 4.
    pub min_kinds: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: MIN_PASSWORD_CHARS,
            min_kinds: 1,
        }
    }
}

/// The kinds of characters a password may mix.
fn kinds_of(input: &str) -> usize {
    let mut kinds = [false; 4];
    for c in input.chars() {
        let kind = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        kinds[kind] = true;
    }
    kinds.iter().filter(|k| **k).count()
}

impl PasswordPolicy {
    /// What a form says of it: "At least 12 characters."
    pub fn hint(&self) -> String {
        match self.min_kinds {
            0 | 1 => format!("At least {} characters.", self.min_chars),
            n => format!(
                "At least {} characters, mixing {n} of: lowercase, uppercase, digits, symbols.",
                self.min_chars
            ),
        }
    }
}

impl NewPassword {
    /// Checks the policy: at least `policy.min_chars` characters mixing `policy.min_kinds`
    /// kinds, not a well-known password, not one character repeated, and not the account's own
    /// email address.
    pub fn parse(
        input: &str,
        email: Option<&Email>,
        policy: &PasswordPolicy,
    ) -> Result<Self, String> {
        if input.chars().count() < policy.min_chars {
            return Err(format!("must be at least {} characters", policy.min_chars));
        }
        if input.len() > MAX_PASSWORD_BYTES {
            return Err("must be at most 1024 bytes".into());
        }
        if kinds_of(input) < policy.min_kinds {
            return Err(format!(
                "must mix at least {} of: lowercase letters, uppercase letters, digits, symbols",
                policy.min_kinds
            ));
        }
        let lower = input.to_lowercase();
        if common_passwords().contains(&lower) {
            return Err("is too common, please choose a less guessable password".into());
        }
        let mut chars = lower.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err("must not be a single character repeated".into());
        }
        if let Some(email) = email
            && (lower == email.as_str() || email.as_str().split('@').next() == Some(lower.as_str()))
        {
            return Err("must not be your email address".into());
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_to_lowercase() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").map(|e| e.0),
            Ok("ann@example.com".into())
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "a n@example.com",
            "ann@-example.com",
            "ann@exa_mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(NewPassword::parse("short-pass1", None, &PasswordPolicy::default()).is_err());
        assert!(NewPassword::parse("tidal-harbour-42", None, &PasswordPolicy::default()).is_ok());
        // Twelve characters, not twelve bytes.
        assert!(NewPassword::parse("ééééééééééé1", None, &PasswordPolicy::default()).is_ok());
    }

    #[test]
    fn the_policy_sets_the_length_and_the_kinds_of_characters() {
        let strict = PasswordPolicy {
            min_chars: 16,
            min_kinds: 3,
        };
        assert_eq!(
            NewPassword::parse("tidalharbourmarina42", None, &strict).err(),
            Some(
                "must mix at least 3 of: lowercase letters, uppercase letters, digits, symbols"
                    .into()
            )
        );
        assert_eq!(
            NewPassword::parse("Tidal-harbour-4", None, &strict).err(),
            Some("must be at least 16 characters".into())
        );
        assert!(NewPassword::parse("Tidal-harbour-42", None, &strict).is_ok());
        assert_eq!(
            strict.hint(),
            "At least 16 characters, mixing 3 of: lowercase, uppercase, digits, symbols."
        );
        assert_eq!(PasswordPolicy::default().hint(), "At least 12 characters.");
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert!(NewPassword::parse("Password1234", None, &PasswordPolicy::default()).is_err());
        assert!(NewPassword::parse("QWERTYUIOP123", None, &PasswordPolicy::default()).is_err());
    }

    #[test]
    fn repeated_characters_and_own_email_are_refused() {
        assert!(NewPassword::parse("zzzzzzzzzzzzzzzz", None, &PasswordPolicy::default()).is_err());
        let email = Email::parse("harbourmaster@example.com").ok();
        assert!(
            NewPassword::parse("harbourmaster", email.as_ref(), &PasswordPolicy::default())
                .is_err()
        );
        assert!(
            NewPassword::parse(
                "harbourmaster@example.com",
                email.as_ref(),
                &PasswordPolicy::default()
            )
            .is_err()
        );
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let password =
            NewPassword::parse("tidal-harbour-42", None, &PasswordPolicy::default()).ok();
        assert!(!format!("{password:?}").contains("tidal"));
    }
}
