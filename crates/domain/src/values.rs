//! The values records carry, checked in one place against their fields.
//!
//! Input arrives as JSON (the API's `values`, a form turned into JSON); [`parse`] turns one
//! value into a typed [`Value`] or says what is wrong in words; [`check_input`] does a whole
//! record's input and names every field that is wrong. A stored value is read back with
//! [`decode`], which trusts its shape and ignores rules that changed since it was written.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use crate::ids::UserId;
use crate::money::Money;
use crate::organization::Currency;
use crate::schema::{FieldDef, FieldKey, FieldType, ObjectDef};
use crate::validation::ValidationErrors;

/// The longest prefix of a text the indexes keep for sorting and equality.
pub const INDEXED_TEXT_CHARS: usize = 200;
/// Most records one relation field may point to.
pub const MAX_RELATED: usize = 500;

/// A value of a field, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text, long text, email, phone and URL, normalized.
    Text(String),
    /// Number and percent.
    Number(f64),
    Money(Money),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Boolean(bool),
    /// The key of one option.
    Select(String),
    /// Option keys, in the options' order, each once.
    MultiSelect(Vec<String>),
    Member(UserId),
    /// Ids of records of the field's target object, each once.
    Relation(Vec<Uuid>),
}

/// What parsing needs besides the field.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The currency of a money amount given without one.
    pub currency: Currency,
}

/// One entry of the value indexes: numbers (and booleans as 0/1) by `num`, everything else by
/// a text that sorts like the value (lowercase text, ISO dates, keys, ids).
#[derive(Clone, Debug, PartialEq)]
pub struct IndexEntry {
    pub num: Option<f64>,
    pub text: Option<String>,
}

fn type_error(t: FieldType) -> String {
    match t {
        FieldType::Text
        | FieldType::LongText
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url => "must be a text".into(),
        FieldType::Number | FieldType::Percent => "must be a number".into(),
        FieldType::Money => {
            "must be an amount, or {\"amount\": 12.5, \"currency\": \"EUR\"}".into()
        }
        FieldType::Date => "must be a date such as 2026-12-31".into(),
        FieldType::DateTime => "must be a date and time such as 2026-12-31T09:30:00Z".into(),
        FieldType::Boolean => "must be true or false".into(),
        FieldType::Select => "must be the key of one of its options".into(),
        FieldType::MultiSelect => "must be a list of keys of its options".into(),
        FieldType::Member => "must be the id of a member".into(),
        FieldType::Relation => "must be the id of a record".into(),
        FieldType::Rollup => "is computed and cannot be set".into(),
    }
}

/// A signed money amount in minor units, from a number with at most two decimals.
pub fn money_minor(value: f64) -> Result<i64, &'static str> {
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
    Ok(rounded as i64)
}

/// A web address: `http` or `https`, a host; `acme.com/pricing` gets `https://`.
pub fn url(input: &str) -> Result<String, &'static str> {
    const MESSAGE: &str = "must be a web address such as https://acme.com";
    let s = input.trim();
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(MESSAGE);
    }
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_owned(), s),
    };
    if scheme != "http" && scheme != "https" {
        return Err(MESSAGE);
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let name_ok = !name.is_empty()
        && (name.contains('.') || name.eq_ignore_ascii_case("localhost"))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if !name_ok {
        return Err(MESSAGE);
    }
    Ok(format!("{scheme}://{rest}"))
}

fn text(field: &FieldDef, s: &str) -> Result<Option<Value>, String> {
    let t = field.field_type;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let multiline = t == FieldType::LongText;
    if let Some(c) = s
        .chars()
        .find(|&c| c.is_control() && !(multiline && matches!(c, '\t' | '\n' | '\r')))
    {
        return Err(if c == '\n' || c == '\r' {
            "must be one line".into()
        } else {
            crate::validation::forbidden_character_message(c)
        });
    }
    let s = match t {
        FieldType::Email => crate::account::Email::parse(s)?.as_str().to_owned(),
        FieldType::Phone => crate::contact::phone(s)?,
        FieldType::Url => url(s)?,
        _ => s.to_owned(),
    };
    let length = s.chars().count();
    let max = field
        .max
        .map_or(t.max_length(), |m| m as usize)
        .min(t.max_length());
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    if let Some(min) = field.min
        && (length as f64) < min
    {
        return Err(format!("must be at least {min} characters"));
    }
    Ok(Some(Value::Text(s)))
}

fn within_limits(field: &FieldDef, n: f64) -> Result<(), String> {
    if let Some(min) = field.min
        && n < min
    {
        return Err(format!("must be at least {}", number_text(min)));
    }
    if let Some(max) = field.max
        && n > max
    {
        return Err(format!("must be at most {}", number_text(max)));
    }
    Ok(())
}

pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The id a JSON string holds.
pub fn uuid_of(input: &Json) -> Option<Uuid> {
    input.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok())
}

/// Parses one value given for `field`. `null` (and an empty text or list) is `Ok(None)`: no value.
pub fn parse(field: &FieldDef, input: &Json, ctx: Context) -> Result<Option<Value>, String> {
    let t = field.field_type;
    if t == FieldType::Rollup {
        return Err(type_error(t));
    }
    if input.is_null() {
        return Ok(None);
    }
    let wrong = || type_error(t);
    match t {
        FieldType::Text
        | FieldType::LongText
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url => text(field, input.as_str().ok_or_else(wrong)?),
        FieldType::Number | FieldType::Percent => {
            let n = input.as_f64().filter(|n| n.is_finite()).ok_or_else(wrong)?;
            within_limits(field, n)?;
            Ok(Some(Value::Number(n)))
        }
        FieldType::Money => {
            let (amount, currency) = match input {
                Json::Number(n) => (n.as_f64(), None),
                Json::Object(o) => {
                    if let Some(unknown) = o.keys().find(|k| *k != "amount" && *k != "currency") {
                        return Err(format!(
                            "has no part named {unknown}; give amount and currency"
                        ));
                    }
                    (o.get("amount").and_then(Json::as_f64), o.get("currency"))
                }
                _ => return Err(wrong()),
            };
            let amount = amount.ok_or_else(wrong)?;
            let minor = money_minor(amount)?;
            let currency = match currency {
                None | Some(Json::Null) => ctx.currency,
                Some(c) => {
                    Currency::parse(c.as_str().ok_or("currency must be a code such as EUR")?)?
                }
            };
            within_limits(field, minor as f64 / 100.0)?;
            Ok(Some(Value::Money(Money { minor, currency })))
        }
        FieldType::Date => {
            let s = input.as_str().ok_or_else(wrong)?.trim();
            if s.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| Some(Value::Date(d)))
                .map_err(|_| wrong())
        }
        FieldType::DateTime => {
            let s = input.as_str().ok_or_else(wrong)?.trim();
            if s.is_empty() {
                return Ok(None);
            }
            DateTime::parse_from_rfc3339(s)
                .map(|d| {
                    Some(Value::DateTime(crate::values::to_micros(
                        d.with_timezone(&Utc),
                    )))
                })
                .map_err(|_| wrong())
        }
        FieldType::Boolean => input
            .as_bool()
            .map(|b| Some(Value::Boolean(b)))
            .ok_or_else(wrong),
        FieldType::Select => {
            let key = input.as_str().ok_or_else(wrong)?.trim();
            if key.is_empty() {
                return Ok(None);
            }
            if field.option(key).is_none() {
                return Err(format!("must be one of {}", option_keys(field)));
            }
            Ok(Some(Value::Select(key.to_owned())))
        }
        FieldType::MultiSelect => {
            let items = input.as_array().ok_or_else(wrong)?;
            let mut chosen = Vec::with_capacity(items.len());
            for item in items {
                let key = item.as_str().ok_or_else(wrong)?.trim();
                if field.option(key).is_none() {
                    return Err(format!("must hold only {}", option_keys(field)));
                }
                chosen.push(key);
            }
            let keys: Vec<String> = field
                .options
                .iter()
                .filter(|o| chosen.contains(&o.key.as_str()))
                .map(|o| o.key.clone())
                .collect();
            Ok((!keys.is_empty()).then_some(Value::MultiSelect(keys)))
        }
        FieldType::Member => {
            if input.as_str().is_some_and(|s| s.trim().is_empty()) {
                return Ok(None);
            }
            uuid_of(input)
                .map(|u| Some(Value::Member(UserId(u))))
                .ok_or_else(wrong)
        }
        FieldType::Relation => {
            let mut ids = Vec::new();
            if field.many {
                let items = input.as_array().ok_or("must be a list of record ids")?;
                if items.len() > MAX_RELATED {
                    return Err(format!("must hold at most {MAX_RELATED} records"));
                }
                for item in items {
                    let id = uuid_of(item).ok_or("must be a list of record ids")?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            } else {
                if input.as_str().is_some_and(|s| s.trim().is_empty()) {
                    return Ok(None);
                }
                ids.push(uuid_of(input).ok_or_else(wrong)?);
            }
            Ok((!ids.is_empty()).then_some(Value::Relation(ids)))
        }
        FieldType::Rollup => Err(wrong()),
    }
}

fn option_keys(field: &FieldDef) -> String {
    let keys: Vec<&str> = field.options.iter().map(|o| o.key.as_str()).collect();
    keys.join(", ")
}

/// A time truncated to microseconds, the precision both databases keep.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.timestamp_subsec_nanos();
    t - chrono::Duration::nanoseconds(i64::from(nanos % 1_000))
}

/// Reads back a stored value (written by [`Value::to_json`]) by its shape alone: a rule tightened
/// since does not hide what is stored. A value of the wrong shape reads as none.
pub fn decode(field: &FieldDef, stored: &Json) -> Option<Value> {
    match field.field_type {
        FieldType::Text
        | FieldType::LongText
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url => stored.as_str().map(|s| Value::Text(s.to_owned())),
        FieldType::Number | FieldType::Percent => stored.as_f64().map(Value::Number),
        FieldType::Money => {
            let amount = stored.get("amount")?.as_f64()?;
            let currency = Currency::parse(stored.get("currency")?.as_str()?).ok()?;
            Some(Value::Money(Money {
                minor: (amount * 100.0).round() as i64,
                currency,
            }))
        }
        FieldType::Date => NaiveDate::parse_from_str(stored.as_str()?, "%Y-%m-%d")
            .ok()
            .map(Value::Date),
        FieldType::DateTime => DateTime::parse_from_rfc3339(stored.as_str()?)
            .ok()
            .map(|d| Value::DateTime(d.with_timezone(&Utc))),
        FieldType::Boolean => stored.as_bool().map(Value::Boolean),
        FieldType::Select => stored.as_str().map(|s| Value::Select(s.to_owned())),
        FieldType::MultiSelect => Some(Value::MultiSelect(
            stored
                .as_array()?
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
        )),
        FieldType::Member => uuid_of(stored).map(|u| Value::Member(UserId(u))),
        FieldType::Relation => match stored {
            Json::Array(items) => Some(Value::Relation(items.iter().filter_map(uuid_of).collect())),
            other => uuid_of(other).map(|u| Value::Relation(vec![u])),
        },
        FieldType::Rollup => None,
    }
}

impl Value {
    /// The API's shape of the value (also how it is stored).
    pub fn to_json(&self, field: &FieldDef) -> Json {
        match self {
            Value::Text(s) | Value::Select(s) => json!(s),
            Value::Number(n) => json!(n),
            Value::Money(Money { minor, currency }) => {
                json!({"amount": *minor as f64 / 100.0, "currency": currency.code()})
            }
            Value::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => json!(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::Boolean(b) => json!(b),
            Value::MultiSelect(keys) => json!(keys),
            Value::Member(id) => json!(id.to_string()),
            Value::Relation(ids) if field.many => {
                json!(ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
            }
            Value::Relation(ids) => ids.first().map_or(Json::Null, |id| json!(id.to_string())),
        }
    }

    /// The entries the value indexes keep for filters and sorts (several for a multi-select or a
    /// relation to many).
    pub fn index_entries(&self) -> Vec<IndexEntry> {
        let text = |s: String| IndexEntry {
            num: None,
            text: Some(s),
        };
        let num = |n: f64| IndexEntry {
            num: Some(n),
            text: None,
        };
        match self {
            Value::Text(s) => vec![text(index_text(s))],
            Value::Number(n) => vec![num(*n)],
            Value::Money(Money { minor, .. }) => vec![num(*minor as f64 / 100.0)],
            Value::Date(d) => vec![text(d.format("%Y-%m-%d").to_string())],
            Value::DateTime(t) => vec![text(sortable_time(*t))],
            Value::Boolean(b) => vec![num(if *b { 1.0 } else { 0.0 })],
            Value::Select(k) => vec![text(k.clone())],
            Value::MultiSelect(keys) => keys.iter().cloned().map(text).collect(),
            Value::Member(id) => vec![text(id.to_string())],
            Value::Relation(ids) => ids.iter().map(|id| text(id.to_string())).collect(),
        }
    }

    /// What two values of a unique field share when they are duplicates (case-insensitive for
    /// text), or `None` for types that cannot be unique.
    pub fn unique_key(&self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s.to_lowercase()),
            Value::Number(n) => Some(format!("{n}")),
            _ => None,
        }
    }

    /// The value as a person reads it in a cell or a CSV file (member and relation ids are left
    /// to the caller, which knows the names).
    pub fn display(&self, field: &FieldDef) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Number(n) if field.field_type == FieldType::Percent => {
                format!("{} %", number_text(*n))
            }
            Value::Number(n) => number_text(*n),
            Value::Money(Money { minor, currency }) => Money::new(*minor, *currency).to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::DateTime(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            Value::Boolean(b) => if *b { "Yes" } else { "No" }.into(),
            Value::Select(k) => field
                .option(k)
                .map_or_else(|| k.clone(), |o| o.label.clone()),
            Value::MultiSelect(keys) => keys
                .iter()
                .map(|k| field.option(k).map_or(k.as_str(), |o| o.label.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Member(id) => id.to_string(),
            Value::Relation(ids) => ids
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The value as the text a conversion to another type starts from.
    fn conversion_text(&self, field: &FieldDef) -> String {
        match self {
            Value::Money(Money { minor, .. }) => number_text(*minor as f64 / 100.0),
            Value::Number(n) => number_text(*n),
            Value::Boolean(b) => b.to_string(),
            Value::DateTime(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            other => other.display(field),
        }
    }
}

/// A text as the indexes keep it: lowercase, at most [`INDEXED_TEXT_CHARS`] characters.
pub fn index_text(s: &str) -> String {
    s.chars()
        .take(INDEXED_TEXT_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// A time as fixed-width text that sorts in time order.
pub fn sortable_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Converts a value of one field to another field's type, when the value means something there
/// (a number typed as text, a select's label as text, a date as a date and time…).
pub fn convert(value: &Value, from: &FieldDef, to: &FieldDef, ctx: Context) -> Option<Value> {
    let is_choice = matches!(from.field_type, FieldType::Select | FieldType::MultiSelect);
    if is_choice && to.field_type.is_textual() {
        // A choice becomes the words people saw, not its key.
        return parse(to, &json!(value.display(from)), ctx).ok().flatten();
    }
    if let Ok(v) = parse(to, &value.to_json(from), ctx) {
        return v;
    }
    let text = value.conversion_text(from);
    let candidates: Vec<Json> = match to.field_type {
        FieldType::Number | FieldType::Percent | FieldType::Money => {
            let cleaned: String = text
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '%')
                .collect();
            cleaned
                .parse::<f64>()
                .ok()
                .map(|n| json!(n))
                .into_iter()
                .collect()
        }
        FieldType::Boolean => match text.trim().to_lowercase().as_str() {
            "true" | "yes" | "1" => vec![json!(true)],
            "false" | "no" | "0" => vec![json!(false)],
            _ => vec![],
        },
        FieldType::Select => {
            let t = text.trim();
            to.options
                .iter()
                .find(|o| o.key == t || o.label.eq_ignore_ascii_case(t))
                .map(|o| json!(o.key))
                .into_iter()
                .collect()
        }
        FieldType::MultiSelect => {
            let keys: Option<Vec<Json>> = text
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    to.options
                        .iter()
                        .find(|o| o.key == p || o.label.eq_ignore_ascii_case(p))
                        .map(|o| json!(o.key))
                })
                .collect();
            keys.map(|k| vec![Json::Array(k)]).unwrap_or_default()
        }
        FieldType::DateTime => match value {
            Value::Date(d) => vec![json!(format!("{}T00:00:00Z", d.format("%Y-%m-%d")))],
            _ => vec![json!(text)],
        },
        FieldType::Date => match value {
            Value::DateTime(t) => vec![json!(t.format("%Y-%m-%d").to_string())],
            _ => vec![json!(text)],
        },
        FieldType::Relation if to.many => match value {
            Value::Relation(ids) => {
                vec![json!(ids.iter().map(Uuid::to_string).collect::<Vec<_>>())]
            }
            _ => vec![],
        },
        FieldType::Relation | FieldType::Member | FieldType::Rollup => vec![],
        _ => vec![json!(text)],
    };
    candidates
        .into_iter()
        .find_map(|c| parse(to, &c, ctx).ok().flatten())
}

/// What a record's input asks to change: each field given, with its new value or `None` to clear.
pub type Changes = BTreeMap<FieldKey, Option<Value>>;

/// Checks a record's `values` input against its object, naming errors `{prefix}.{key}`.
///
/// Creating (`creating`), fields left out take their default, and required fields must end up
/// with a value; updating, only the fields given change, and a required one may not be cleared.
/// Unknown, archived and computed fields are refused.
pub fn check_input(
    object: &ObjectDef,
    input: &Map<String, Json>,
    creating: bool,
    prefix: &str,
    ctx: Context,
) -> Result<Changes, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut changes = Changes::new();
    for (key, raw) in input {
        let name = format!("{prefix}.{key}");
        let Some(field) = object.field(key) else {
            errors.add(
                &name,
                format!("is not a field of {}", object.plural.to_lowercase()),
            );
            continue;
        };
        if field.archived {
            errors.add(&name, "is archived; restore the field to change it");
            continue;
        }
        match parse(field, raw, ctx) {
            Ok(None) if field.required => errors.add(&name, "is required"),
            Ok(value) => {
                changes.insert(field.key.clone(), value);
            }
            Err(message) => errors.add(&name, message),
        }
    }
    if creating {
        for field in object.live_fields().filter(|f| !f.builtin) {
            if input.contains_key(field.key.as_str()) {
                continue;
            }
            if let Some(default) = &field.default {
                changes.insert(field.key.clone(), Some(default.clone()));
            } else if field.required {
                errors.add(&format!("{prefix}.{}", field.key), "is required");
            }
        }
    }
    errors.into_result().map(|()| changes)
}

/// The text a search looks into: the primary field first, then every other searchable field,
/// lowercase, long texts cut at 2,000 characters.
pub fn search_text(object: &ObjectDef, values: &BTreeMap<FieldKey, Value>) -> String {
    let mut out = String::new();
    let primary = object.primary_field.as_str();
    let fields = object
        .primary()
        .into_iter()
        .chain(object.live_fields().filter(|f| f.key.as_str() != primary));
    for field in fields.filter(|f| f.field_type.is_searchable()) {
        if let Some(Value::Text(s)) = values.get(&field.key) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(s.chars().take(2_000).flat_map(char::to_lowercase));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ObjectId;
    use crate::schema::{ObjectKey, SelectOption};

    const CTX: Context = Context {
        currency: Currency::DEFAULT,
    };

    fn field(key: &str, t: FieldType) -> FieldDef {
        let key = if key.len() < 2 {
            format!("{key}{key}")
        } else {
            key.to_owned()
        };
        let mut f = FieldDef::new(FieldKey::parse(&key).expect("valid"), key.as_str(), t);
        if matches!(t, FieldType::Select | FieldType::MultiSelect) {
            for (key, label) in [
                ("available", "Available"),
                ("sold", "Sold"),
                ("maintenance", "Maintenance"),
            ] {
                f.options.push(SelectOption {
                    key: key.into(),
                    label: label.into(),
                    color: None,
                });
            }
        }
        if t == FieldType::Relation {
            f.target = Some(ObjectKey::parse("contact").expect("valid"));
        }
        f
    }

    fn ok(f: &FieldDef, input: Json) -> Option<Value> {
        parse(f, &input, CTX).unwrap_or_else(|e| panic!("{input} refused: {e}"))
    }

    fn err(f: &FieldDef, input: Json) -> String {
        parse(f, &input, CTX).expect_err(&format!("{input} accepted"))
    }

    #[test]
    fn texts_are_trimmed_one_line_and_bounded() {
        let mut f = field("name", FieldType::Text);
        assert_eq!(
            ok(&f, json!("  Berth A1 ")),
            Some(Value::Text("Berth A1".into()))
        );
        assert_eq!(ok(&f, json!("   ")), None);
        assert_eq!(ok(&f, Json::Null), None);
        assert_eq!(err(&f, json!(12)), "must be a text");
        assert_eq!(err(&f, json!("two\nlines")), "must be one line");
        assert!(err(&f, json!("bell\u{7}")).contains("U+0007"));
        assert_eq!(
            err(&f, json!("x".repeat(501))),
            "must be at most 500 characters"
        );
        f.min = Some(3.0);
        f.max = Some(5.0);
        assert_eq!(err(&f, json!("ab")), "must be at least 3 characters");
        assert_eq!(err(&f, json!("abcdef")), "must be at most 5 characters");
        assert_eq!(
            ok(&f, json!("ébène")),
            Some(Value::Text("ébène".into())),
            "characters, not bytes"
        );
        let long = field("notes", FieldType::LongText);
        assert_eq!(
            ok(&long, json!("a\r\n\tb")),
            Some(Value::Text("a\r\n\tb".into()))
        );
    }

    #[test]
    fn emails_phones_and_urls_are_normalized() {
        assert_eq!(
            ok(&field("e", FieldType::Email), json!(" Ana@Example.COM ")),
            Some(Value::Text("ana@example.com".into()))
        );
        assert!(err(&field("e", FieldType::Email), json!("ana@")).contains("email"));
        assert!(ok(&field("p", FieldType::Phone), json!("+33 1 23 45 67 89")).is_some());
        assert!(err(&field("p", FieldType::Phone), json!("call me")).contains("phone"));
        let u = field("u", FieldType::Url);
        assert_eq!(
            ok(&u, json!("acme.com/pricing")),
            Some(Value::Text("https://acme.com/pricing".into()))
        );
        assert_eq!(
            ok(&u, json!("HTTP://localhost:8080/x")),
            Some(Value::Text("http://localhost:8080/x".into()))
        );
        for bad in [
            "javascript:alert(1)",
            "ftp://acme.com",
            "https://",
            "acme",
            "https://ac me.com",
            "https://user@acme.com",
        ] {
            assert!(parse(&u, &json!(bad), CTX).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_respect_their_limits() {
        let mut f = field("length", FieldType::Number);
        assert_eq!(ok(&f, json!(12.5)), Some(Value::Number(12.5)));
        assert_eq!(err(&f, json!("12")), "must be a number");
        f.min = Some(0.0);
        f.max = Some(100.0);
        assert_eq!(err(&f, json!(-1)), "must be at least 0");
        assert_eq!(err(&f, json!(100.5)), "must be at most 100");
        assert_eq!(
            ok(&field("p", FieldType::Percent), json!(150)),
            Some(Value::Number(150.0))
        );
    }

    #[test]
    fn money_is_an_amount_with_a_currency() {
        let f = field("price", FieldType::Money);
        assert_eq!(
            ok(&f, json!({"amount": 1250.5, "currency": "usd"})),
            Some(Value::Money(Money {
                minor: 125_050,
                currency: Currency::parse("USD").expect("valid")
            }))
        );
        assert_eq!(
            ok(&f, json!(10)),
            Some(Value::Money(Money {
                minor: 1_000,
                currency: Currency::DEFAULT
            }))
        );
        assert_eq!(
            err(&f, json!({"amount": 1.234})),
            "must have at most 2 decimals"
        );
        assert!(err(&f, json!({"amount": 1, "currency": "EURO"})).contains("ISO 4217"));
        assert!(err(&f, json!({"amount": 1, "curency": "EUR"})).contains("curency"));
        assert!(err(&f, json!("10")).starts_with("must be an amount"));
        assert_eq!(
            ok(&f, json!({"amount": -20})),
            Some(Value::Money(Money {
                minor: -2_000,
                currency: Currency::DEFAULT
            })),
            "credits are amounts too unless min says otherwise"
        );
        let v = ok(&f, json!({"amount": 99.99, "currency": "GBP"})).expect("valid");
        assert_eq!(v.to_json(&f), json!({"amount": 99.99, "currency": "GBP"}));
        assert_eq!(decode(&f, &v.to_json(&f)), Some(v));
    }

    #[test]
    fn dates_and_times_have_one_format_each() {
        let d = field("d", FieldType::Date);
        assert_eq!(
            ok(&d, json!("2026-02-28")),
            Some(Value::Date(
                NaiveDate::from_ymd_opt(2026, 2, 28).expect("valid")
            ))
        );
        assert!(parse(&d, &json!("2026-02-30"), CTX).is_err());
        assert!(parse(&d, &json!("28/02/2026"), CTX).is_err());
        let t = field("t", FieldType::DateTime);
        let v = ok(&t, json!("2026-03-01T10:00:00.1234567+02:00")).expect("valid");
        assert_eq!(v.to_json(&t), json!("2026-03-01T08:00:00.123456Z"));
        assert_eq!(
            v.index_entries()[0].text.as_deref(),
            Some("2026-03-01T08:00:00.123456Z")
        );
        assert!(parse(&t, &json!("2026-03-01"), CTX).is_err());
    }

    #[test]
    fn selects_take_their_option_keys() {
        let s = field("status", FieldType::Select);
        assert_eq!(ok(&s, json!("sold")), Some(Value::Select("sold".into())));
        assert_eq!(
            err(&s, json!("Sold")),
            "must be one of available, sold, maintenance"
        );
        let m = field("features", FieldType::MultiSelect);
        assert_eq!(
            ok(&m, json!(["maintenance", "available", "maintenance"])),
            Some(Value::MultiSelect(vec![
                "available".into(),
                "maintenance".into()
            ])),
            "in the options' order, once each"
        );
        assert_eq!(ok(&m, json!([])), None);
        assert!(err(&m, json!(["gone"])).contains("must hold only"));
        assert!(err(&m, json!("sold")).contains("list"));
    }

    #[test]
    fn members_and_relations_are_ids() {
        let id = Uuid::now_v7();
        assert_eq!(
            ok(&field("m", FieldType::Member), json!(id.to_string())),
            Some(Value::Member(UserId(id)))
        );
        assert!(parse(&field("m", FieldType::Member), &json!("ana"), CTX).is_err());
        let one = field("client", FieldType::Relation);
        assert_eq!(
            ok(&one, json!(id.to_string())),
            Some(Value::Relation(vec![id]))
        );
        assert!(parse(&one, &json!([id.to_string()]), CTX).is_err());
        let mut many = field("crew", FieldType::Relation);
        many.many = true;
        let v = ok(&many, json!([id.to_string(), id.to_string()])).expect("valid");
        assert_eq!(v, Value::Relation(vec![id]));
        assert_eq!(v.to_json(&many), json!([id.to_string()]));
        assert_eq!(v.index_entries().len(), 1);
        assert_eq!(
            decode(&one, &json!(id.to_string())),
            Some(Value::Relation(vec![id]))
        );
    }

    #[test]
    fn rollups_cannot_be_set() {
        let f = field("spent", FieldType::Rollup);
        assert_eq!(err(&f, json!(3)), "is computed and cannot be set");
        assert_eq!(err(&f, Json::Null), "is computed and cannot be set");
    }

    #[test]
    fn index_entries_sort_like_the_values() {
        let t = field("name", FieldType::Text);
        let long = "Ä".repeat(300);
        let entry = &ok(&t, json!(long)).expect("valid").index_entries()[0];
        assert_eq!(
            entry.text.as_ref().expect("valid").chars().count(),
            INDEXED_TEXT_CHARS
        );
        assert!(entry.text.as_ref().expect("valid").starts_with('ä'));
        let b = ok(&field("b", FieldType::Boolean), json!(true)).expect("valid");
        assert_eq!(
            b.index_entries(),
            vec![IndexEntry {
                num: Some(1.0),
                text: None
            }]
        );
        assert_eq!(
            ok(&field("price", FieldType::Money), json!(12.34))
                .expect("valid")
                .index_entries()[0]
                .num,
            Some(12.34)
        );
        assert_eq!(
            ok(&t, json!("Ana")).expect("valid").unique_key(),
            ok(&t, json!("ANA")).expect("valid").unique_key()
        );
    }

    fn berth() -> ObjectDef {
        let mut name = field("name", FieldType::Text);
        name.required = true;
        let mut status = field("status", FieldType::Select);
        status.default = Some(Value::Select("available".into()));
        let mut archived = field("old", FieldType::Text);
        archived.archived = true;
        ObjectDef {
            id: ObjectId::new(),
            key: ObjectKey::parse("berth").expect("valid"),
            singular: "Berth".into(),
            plural: "Berths".into(),
            icon: None,
            color: None,
            primary_field: FieldKey::parse("name").expect("valid"),
            board_field: None,
            builtin: false,
            fields: vec![
                name,
                status,
                field("length", FieldType::Number),
                field("notes", FieldType::LongText),
                archived,
            ],
        }
    }

    fn input(v: Json) -> Map<String, Json> {
        v.as_object().expect("valid").clone()
    }

    fn error_fields(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_new_record_gets_defaults_and_needs_its_required_fields() {
        let object = berth();
        let changes = check_input(
            &object,
            &input(json!({"name": "A1", "length": 12})),
            true,
            "values",
            CTX,
        )
        .expect("valid");
        assert_eq!(
            changes[&FieldKey::parse("status").expect("valid")],
            Some(Value::Select("available".into()))
        );
        assert_eq!(changes.len(), 3);
        let e = check_input(
            &object,
            &input(json!({"length": "long", "beam": 4, "old": "x", "status": "gone"})),
            true,
            "values",
            CTX,
        )
        .expect_err("refused");
        assert_eq!(
            error_fields(e),
            [
                "values.beam",
                "values.length",
                "values.old",
                "values.status",
                "values.name"
            ]
        );
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let object = berth();
        let changes = check_input(
            &object,
            &input(json!({"length": null})),
            false,
            "values",
            CTX,
        )
        .expect("valid");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[&FieldKey::parse("length").expect("valid")], None);
        let e = check_input(&object, &input(json!({"name": ""})), false, "custom", CTX)
            .expect_err("refused");
        assert_eq!(e.0[0].field, "custom.name");
        assert_eq!(e.0[0].message, "is required");
    }

    #[test]
    fn search_text_starts_with_the_primary_field() {
        let object = berth();
        let mut values = BTreeMap::new();
        values.insert(
            FieldKey::parse("notes").expect("valid"),
            Value::Text("Near the FUEL dock".into()),
        );
        values.insert(
            FieldKey::parse("name").expect("valid"),
            Value::Text("Pontoon B".into()),
        );
        values.insert(
            FieldKey::parse("status").expect("valid"),
            Value::Select("sold".into()),
        );
        assert_eq!(
            search_text(&object, &values),
            "pontoon b near the fuel dock"
        );
    }

    #[test]
    fn values_convert_where_they_mean_something() {
        let text = field("t", FieldType::Text);
        let number = field("n", FieldType::Number);
        let select = field("s", FieldType::Select);
        let date = field("d", FieldType::Date);
        let when = field("w", FieldType::DateTime);
        let flag = field("b", FieldType::Boolean);
        let money = field("m", FieldType::Money);
        assert_eq!(
            convert(&Value::Text(" 12.5 ".into()), &text, &number, CTX),
            Some(Value::Number(12.5))
        );
        assert_eq!(
            convert(&Value::Text("twelve".into()), &text, &number, CTX),
            None
        );
        assert_eq!(
            convert(&Value::Number(3.0), &number, &text, CTX),
            Some(Value::Text("3".into()))
        );
        assert_eq!(
            convert(&Value::Text("sold".into()), &text, &select, CTX),
            Some(Value::Select("sold".into()))
        );
        assert_eq!(
            convert(&Value::Text("Maintenance".into()), &text, &select, CTX),
            Some(Value::Select("maintenance".into()))
        );
        assert_eq!(
            convert(&Value::Select("sold".into()), &select, &text, CTX),
            Some(Value::Text("Sold".into()))
        );
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).expect("valid");
        let as_time = convert(&Value::Date(d), &date, &when, CTX).expect("valid");
        assert_eq!(convert(&as_time, &when, &date, CTX), Some(Value::Date(d)));
        assert_eq!(
            convert(&Value::Text("yes".into()), &text, &flag, CTX),
            Some(Value::Boolean(true))
        );
        assert_eq!(
            convert(&Value::Number(12.0), &number, &money, CTX),
            Some(Value::Money(Money {
                minor: 1_200,
                currency: Currency::DEFAULT
            }))
        );
        assert_eq!(
            convert(
                &Value::Money(Money {
                    minor: 1_250,
                    currency: Currency::DEFAULT
                }),
                &money,
                &number,
                CTX
            ),
            Some(Value::Number(12.5))
        );
    }
}
