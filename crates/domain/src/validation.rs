//! Field-level validation errors, carried unchanged to the API's `errors` array and the UI's
//! inline messages.

use serde::Serialize;

/// The rule every display name follows (a person's, an organization's): trimmed, not empty, at
/// most 120 characters, no control characters.
pub fn display_name(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.chars().count() > 120 {
        return Err("must be at most 120 characters");
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(s.to_owned())
}

/// One field and what is wrong with it, in words a person understands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found in one piece of input, so a form can show them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Runs a parse, recording its error under `field`; returns the value when it parsed.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was wrong, the collected errors otherwise.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// The one rule for text Rapport accepts from outside, on every engine and every way in (API
/// bodies and query strings, web forms, sign-in): control characters are refused, except the
/// tab, line feed and carriage return that long text (notes, descriptions, comments) may hold.
/// Refused means 422 naming the field, never silently changed: what a person typed is stored as
/// typed or not at all. Single-line fields are stricter still (see [`display_name`]).
pub fn first_forbidden_character(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The message of [`first_forbidden_character`]'s refusal.
pub fn forbidden_character_message(c: char) -> String {
    format!(
        "must not contain control characters (found U+{:04X})",
        u32::from(c)
    )
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_except_tab_and_line_breaks() {
        assert_eq!(first_forbidden_character("plain text, ünïcode ✓"), None);
        assert_eq!(first_forbidden_character("two\r\nlines\tand a tab"), None);
        assert_eq!(first_forbidden_character("nul\0byte"), Some('\0'));
        assert_eq!(first_forbidden_character("bell\u{7}"), Some('\u{7}'));
        assert_eq!(first_forbidden_character("del\u{7f}"), Some('\u{7f}'));
        assert_eq!(first_forbidden_character("c1\u{85}"), Some('\u{85}'));
        assert_eq!(
            forbidden_character_message('\0'),
            "must not contain control characters (found U+0000)"
        );
    }
}
