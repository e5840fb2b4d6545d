//! Deals, pipelines and their stages: the values they hold and the rules that move them.

/// Where a deal stands, independently of its stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DealStatus {
    New,
    InProgress,
    Won,
    Lost,
}

/// A status read back that is not one of [`DealStatus::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown deal status {0:?}")]
pub struct UnknownStatus(pub String);

impl TryFrom<String> for DealStatus {
    type Error = UnknownStatus;
    fn try_from(s: String) -> Result<Self, UnknownStatus> {
        DealStatus::parse(&s).map_err(|_| UnknownStatus(s))
    }
}

impl serde::Serialize for DealStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for DealStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DealStatus {
    pub const ALL: [DealStatus; 4] = [
        DealStatus::New,
        DealStatus::InProgress,
        DealStatus::Won,
        DealStatus::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DealStatus::New => "new",
            DealStatus::InProgress => "in_progress",
            DealStatus::Won => "won",
            DealStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or("must be one of new, in_progress, won, lost")
    }

    /// Won and lost deals are closed.
    pub fn is_closed(self) -> bool {
        matches!(self, DealStatus::Won | DealStatus::Lost)
    }

    pub fn label(self) -> &'static str {
        match self {
            DealStatus::New => "New",
            DealStatus::InProgress => "In progress",
            DealStatus::Won => "Won",
            DealStatus::Lost => "Lost",
        }
    }
}

/// A money amount in minor units (cents), parsed from a JSON number with at most 2 decimals.
pub fn amount_minor(value: f64) -> Result<i64, &'static str> {
    if !value.is_finite() {
        return Err("must be a number");
    }
    let scaled = value * 100.0;
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
        return Err("must have at most 2 decimals");
    }
    if rounded.abs() >= 1e15 {
        return Err("is too large");
    }
    if rounded < 0.0 {
        return Err("must not be negative");
    }
    Ok(rounded as i64)
}

/// An amount typed in a form: `1 250.50`, `1,250.50` or `1250,5`.
pub fn parse_amount_text(input: &str) -> Result<i64, &'static str> {
    let s: String = input
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    if s.is_empty() {
        return Ok(0);
    }
    // A comma followed by 1–2 digits at the end is a decimal comma; other commas group thousands.
    let normalized = match s.rfind(',') {
        Some(i) if !s.contains('.') && (1..=2).contains(&(s.len() - i - 1)) => {
            format!("{}.{}", s[..i].replace(',', ""), &s[i + 1..])
        }
        _ => s.replace(',', ""),
    };
    if !normalized.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("must be an amount such as 1250.50");
    }
    let value: f64 = normalized
        .parse()
        .map_err(|_| "must be an amount such as 1250.50")?;
    amount_minor(value)
}

/// Minor units back to the JSON number the API shows.
pub fn amount_major(minor: i64) -> f64 {
    minor as f64 / 100.0
}

/// `12 500.00` style, with the currency code after.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let units = minor / 100;
    let cents = (minor % 100).abs();
    let digits = units.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    let sign = if minor < 0 { "-" } else { "" };
    if cents == 0 {
        format!("{sign}{grouped} {currency}")
    } else {
        format!("{sign}{grouped}.{cents:02} {currency}")
    }
}

/// A short amount for charts and board columns: `12.5k`, `3.2M`.
pub fn compact_amount(minor: i64) -> String {
    let v = minor as f64 / 100.0;
    let (n, suffix) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if suffix.is_empty() || n.abs() >= 100.0 {
        format!("{n:.0}{suffix}")
    } else {
        let s = format!("{n:.1}");
        format!("{}{suffix}", s.trim_end_matches(".0"))
    }
}

crate::schema::schema_key!(
    /// A stage's key within its pipeline (`qualification`, `won`): what deals are in, boards
    /// are grouped by and the API names.
    StageKey
);

impl StageKey {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        stage_key(input).map(Self)
    }

    /// A stage key derived from its name: `Needs analysis` → `needs_analysis`.
    pub fn from_name(name: &str) -> Self {
        Self(stage_key_from_name(name))
    }
}

impl PartialEq<&str> for StageKey {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A stage key: lower-case letters, digits and underscores, starting with a letter.
fn stage_key(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be 1–40 lower-case letters, digits or underscores, starting with a letter")
    }
}

fn stage_key_from_name(name: &str) -> String {
    let mut key = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_');
    let key = if key.starts_with(|c: char| c.is_ascii_lowercase()) {
        key.to_owned()
    } else {
        format!("stage_{key}")
    };
    key.chars().take(40).collect()
}

/// A probability in percent.
pub fn probability(value: i64) -> Result<i64, &'static str> {
    if (0..=100).contains(&value) {
        Ok(value)
    } else {
        Err("must be between 0 and 100")
    }
}

/// The amount weighted by the chance of winning, in minor units.
pub fn weighted(amount_minor: i64, probability: i64) -> i64 {
    (amount_minor as i128 * probability as i128 / 100) as i64
}

/// The stages every organization starts with: (key, name, win probability, rotting days).
pub const DEFAULT_STAGES: [(&str, &str, i64, Option<i64>); 4] = [
    ("qualification", "Qualification", 10, Some(14)),
    ("proposal", "Proposal", 40, Some(14)),
    ("negotiation", "Negotiation", 70, Some(21)),
    ("closed", "Closed", 100, None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_two_decimals_exactly() {
        assert_eq!(amount_minor(1500.0), Ok(150_000));
        assert_eq!(amount_minor(19.99), Ok(1999));
        assert_eq!(amount_minor(0.1 + 0.2), Ok(30));
        assert!(amount_minor(1.005).is_err());
        assert!(amount_minor(-1.0).is_err());
        assert!(amount_minor(f64::NAN).is_err());
        assert_eq!(amount_major(1999), 19.99);
    }

    #[test]
    fn typed_amounts_accept_grouping_and_decimal_commas() {
        assert_eq!(parse_amount_text("1 250.50"), Ok(125_050));
        assert_eq!(parse_amount_text("1,250.50"), Ok(125_050));
        assert_eq!(parse_amount_text("1250,5"), Ok(125_050));
        assert_eq!(parse_amount_text("12,000"), Ok(1_200_000));
        assert_eq!(parse_amount_text(""), Ok(0));
        assert!(parse_amount_text("ten").is_err());
    }

    #[test]
    fn amounts_format_for_people() {
        assert_eq!(format_amount(1_250_050, "EUR"), "12\u{202f}500.50 EUR");
        assert_eq!(format_amount(100, "USD"), "1 USD");
        assert_eq!(compact_amount(1_250_000), "12.5k");
        assert_eq!(compact_amount(300_000_000), "3M");
        assert_eq!(compact_amount(99_900), "999");
    }

    #[test]
    fn stage_keys() {
        assert_eq!(stage_key("needs_analysis"), Ok("needs_analysis".into()));
        assert!(stage_key("Needs analysis").is_err());
        assert!(stage_key("1st").is_err());
        assert_eq!(stage_key_from_name("Needs analysis"), "needs_analysis");
        assert_eq!(stage_key_from_name("1st call"), "stage_1st_call");
    }

    #[test]
    fn weighted_amounts_round_down() {
        assert_eq!(weighted(10_000, 33), 3_300);
        assert_eq!(weighted(999, 50), 499);
    }
}
