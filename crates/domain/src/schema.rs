//! The record engine's schema: every kind of record is an *object* described by its *fields*.
//!
//! Built-in objects (companies, contacts, leads, deals, tasks) and the objects an organization
//! defines (berths, campaigns…) share one description. This module holds the vocabulary and the
//! rules of a definition; [`crate::values`] holds the rules of the values records carry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{FieldId, ObjectId};
use crate::validation::ValidationErrors;
use crate::values::Value;

/// The keys every record has outside its values, which no field may take.
pub const RESERVED_FIELD_KEYS: [&str; 11] = [
    "id",
    "object",
    "organization_id",
    "owner_id",
    "values",
    "custom",
    "tags",
    "created_at",
    "updated_at",
    "deleted_at",
    "search",
];

/// The objects every organization has; a custom object cannot take their keys.
pub const BUILTIN_OBJECT_KEYS: [&str; 5] = ["company", "contact", "lead", "deal", "task"];

/// The colours an option (or a tag, or an object) may have; each reads well on light and dark.
pub const COLORS: [&str; 10] = [
    "gray", "red", "orange", "amber", "green", "teal", "blue", "indigo", "purple", "pink",
];

/// Most fields an object may have, archived ones included.
pub const MAX_FIELDS: usize = 200;
/// Most options a select may offer.
pub const MAX_OPTIONS: usize = 200;

/// `[a-z][a-z0-9_]{1,40}`: the grammar of object and field keys.
fn key_grammar(input: &str) -> Result<String, &'static str> {
    const MESSAGE: &str =
        "must be 2 to 41 lowercase letters, digits or underscores, starting with a letter";
    let s = input.trim();
    let mut chars = s.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_with_letter || !rest_ok || !(2..=41).contains(&s.len()) {
        return Err(MESSAGE);
    }
    Ok(s.to_owned())
}

/// A key made from a label: `Under offer` → `under_offer`, `2nd hand` → `f_2nd_hand`.
pub fn key_from_label(label: &str) -> String {
    let mut key = String::new();
    for c in label.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let mut key = key.trim_matches('_').to_owned();
    if key.is_empty() {
        key = "field".to_owned();
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        key.insert_str(0, "f_");
    }
    key.truncate(41);
    let mut key = key.trim_end_matches('_').to_owned();
    if key.len() < 2 {
        key.push_str("_1");
    }
    key
}

macro_rules! schema_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = &'static str;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

pub(crate) use schema_key;

schema_key!(
    /// The singular key naming an object in URLs, events and channels: `deal`, `berth`.
    ObjectKey
);
schema_key!(
    /// The stable key of a field, used by the API, imports and filters: `length`, `status`.
    FieldKey
);

impl ObjectKey {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        key_grammar(input).map(Self)
    }

    /// Whether this names one of the objects every organization has.
    pub fn is_builtin(&self) -> bool {
        BUILTIN_OBJECT_KEYS.contains(&self.0.as_str())
    }
}

impl FieldKey {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let key = key_grammar(input)?;
        if RESERVED_FIELD_KEYS.contains(&key.as_str()) {
            return Err("is a name every record already has; choose another key");
        }
        Ok(Self(key))
    }
}

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    LongText,
    Number,
    Money,
    Percent,
    Date,
    #[serde(rename = "datetime")]
    DateTime,
    Boolean,
    Select,
    MultiSelect,
    Email,
    Phone,
    Url,
    /// A person of the organization.
    Member,
    /// A record of any object, one or many.
    Relation,
    /// A figure computed over related records (count, sum, min, max); read-only.
    Rollup,
}

impl FieldType {
    pub const ALL: [FieldType; 16] = [
        FieldType::Text,
        FieldType::LongText,
        FieldType::Number,
        FieldType::Money,
        FieldType::Percent,
        FieldType::Date,
        FieldType::DateTime,
        FieldType::Boolean,
        FieldType::Select,
        FieldType::MultiSelect,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
        FieldType::Member,
        FieldType::Relation,
        FieldType::Rollup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::LongText => "long_text",
            FieldType::Number => "number",
            FieldType::Money => "money",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Boolean => "boolean",
            FieldType::Select => "select",
            FieldType::MultiSelect => "multi_select",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Member => "member",
            FieldType::Relation => "relation",
            FieldType::Rollup => "rollup",
        }
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == input.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            })
    }

    /// The name a person reads in forms and settings.
    pub fn label(self) -> &'static str {
        match self {
            FieldType::Text => "Text",
            FieldType::LongText => "Long text",
            FieldType::Number => "Number",
            FieldType::Money => "Money",
            FieldType::Percent => "Percent",
            FieldType::Date => "Date",
            FieldType::DateTime => "Date and time",
            FieldType::Boolean => "Yes / no",
            FieldType::Select => "Select",
            FieldType::MultiSelect => "Multi-select",
            FieldType::Email => "Email",
            FieldType::Phone => "Phone",
            FieldType::Url => "URL",
            FieldType::Member => "Member",
            FieldType::Relation => "Relation",
            FieldType::Rollup => "Rollup",
        }
    }

    /// Text a search looks into.
    pub fn is_searchable(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::LongText
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
    }

    /// Holds a number (and so takes numeric limits, range filters, sums).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Number | FieldType::Money | FieldType::Percent
        )
    }

    /// Holds a text whose length limits apply.
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::LongText
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
    }

    /// The longest text a value of this type may hold.
    pub fn max_length(self) -> usize {
        match self {
            FieldType::LongText => 20_000,
            FieldType::Url => 2_000,
            FieldType::Email => 254,
            FieldType::Phone => 40,
            _ => 500,
        }
    }

    /// Whether "unique within the organization" means something for this type.
    pub fn can_be_unique(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Number
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One choice of a select or multi-select.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectOption {
    pub key: String,
    pub label: String,
    pub color: Option<String>,
}

/// An option as it is given: its key may be left out (made from the label).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OptionInput {
    pub key: Option<String>,
    pub label: Option<String>,
    pub color: Option<String>,
}

/// `[a-z0-9][a-z0-9_]{0,40}`: option keys may start with a digit (`2024`).
fn option_key(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    let ok = !s.is_empty()
        && s.len() <= 41
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with('_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be 1 to 41 lowercase letters, digits or underscores")
    }
}

/// A label: trimmed, 1 to `max` characters, one line.
pub fn label(input: &str, max: usize) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

/// A colour of [`COLORS`].
pub fn color(input: &str) -> Result<String, String> {
    let c = input.trim().to_lowercase();
    if COLORS.contains(&c.as_str()) {
        Ok(c)
    } else {
        Err(format!("must be one of {}", COLORS.join(", ")))
    }
}

/// Parses a select's options, in order, recording problems under `options[i].…`.
pub fn parse_options(errors: &mut ValidationErrors, inputs: &[OptionInput]) -> Vec<SelectOption> {
    if inputs.is_empty() {
        errors.add("options", "must offer at least one option");
    }
    if inputs.len() > MAX_OPTIONS {
        errors.add(
            "options",
            format!("must offer at most {MAX_OPTIONS} options"),
        );
        return Vec::new();
    }
    let mut options: Vec<SelectOption> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let at = |what: &str| format!("options[{i}].{what}");
        let Some(label) = errors.check(
            &at("label"),
            label(input.label.as_deref().unwrap_or(""), 80),
        ) else {
            continue;
        };
        let key = match input.key.as_deref() {
            Some(k) => match errors.check(&at("key"), option_key(k)) {
                Some(k) => k,
                None => continue,
            },
            None => key_from_label(&label),
        };
        let color = match input.color.as_deref() {
            Some(c) if !c.trim().is_empty() => match errors.check(&at("color"), color(c)) {
                Some(c) => Some(c),
                None => continue,
            },
            _ => None,
        };
        if options.iter().any(|o| o.key == key) {
            errors.add(&at("key"), format!("repeats the option key {key}"));
            continue;
        }
        options.push(SelectOption { key, label, color });
    }
    options
}

/// What a rollup computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupFunction {
    Count,
    Sum,
    Min,
    Max,
}

impl RollupFunction {
    pub fn as_str(self) -> &'static str {
        match self {
            RollupFunction::Count => "count",
            RollupFunction::Sum => "sum",
            RollupFunction::Min => "min",
            RollupFunction::Max => "max",
        }
    }
}

/// A rollup's source: the records of `object` whose relation field `via` points at the record,
/// and the figure computed over their `field` (none for a count).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    pub object: ObjectKey,
    pub via: FieldKey,
    pub function: RollupFunction,
    pub field: Option<FieldKey>,
}

/// A field of an object: its identity, type and rules.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    pub id: FieldId,
    pub key: FieldKey,
    pub label: String,
    pub field_type: FieldType,
    pub help: Option<String>,
    pub required: bool,
    pub unique: bool,
    pub archived: bool,
    /// Select and multi-select choices, in order.
    pub options: Vec<SelectOption>,
    /// The object a relation points to.
    pub target: Option<ObjectKey>,
    /// A relation to many records.
    pub many: bool,
    /// Numeric fields: the smallest and largest value; text fields: the shortest and longest.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The value a new record gets when none is given.
    pub default: Option<Value>,
    pub rollup: Option<Rollup>,
    /// A field every organization's object has, with its own column (not deletable or retypable).
    pub builtin: bool,
    pub position: i64,
}

impl FieldDef {
    /// A plain field of a type, with no rules yet.
    pub fn new(key: FieldKey, label: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            id: FieldId::new(),
            key,
            label: label.into(),
            field_type,
            help: None,
            required: false,
            unique: false,
            archived: false,
            options: Vec::new(),
            target: None,
            many: false,
            min: None,
            max: None,
            default: None,
            rollup: None,
            builtin: false,
            position: 0,
        }
    }

    /// Holds several values (a multi-select, a relation to many): filters test membership, and
    /// lists cannot sort by it.
    pub fn is_multi_valued(&self) -> bool {
        self.field_type == FieldType::MultiSelect
            || (self.field_type == FieldType::Relation && self.many)
    }

    /// Lists can be sorted by it.
    pub fn is_sortable(&self) -> bool {
        !self.is_multi_valued() && self.field_type != FieldType::Rollup
    }

    pub fn option(&self, key: &str) -> Option<&SelectOption> {
        self.options.iter().find(|o| o.key == key)
    }

    /// The rules that hold between a field's settings, whatever the object: options only on
    /// selects, a target only on relations, limits that make sense for the type, uniqueness only
    /// where it means something. Errors name the setting.
    pub fn check_settings(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let t = self.field_type;
        let is_select = matches!(t, FieldType::Select | FieldType::MultiSelect);
        if is_select && self.options.is_empty() {
            errors.add("options", "must offer at least one option");
        }
        if !is_select && !self.options.is_empty() {
            errors.add("options", format!("only selects have options, not {t}"));
        }
        if t == FieldType::Relation && self.target.is_none() {
            errors.add("target", "must name the object the relation points to");
        }
        if t != FieldType::Relation && self.target.is_some() {
            errors.add("target", format!("only relations have a target, not {t}"));
        }
        if t != FieldType::Relation && self.many {
            errors.add("many", "only relations may hold many records");
        }
        if t == FieldType::Rollup {
            match &self.rollup {
                None => errors.add("rollup", "must say what the rollup computes"),
                Some(r) => {
                    if r.function != RollupFunction::Count && r.field.is_none() {
                        errors.add(
                            "rollup.field",
                            format!("must name the field to {}", r.function.as_str()),
                        );
                    }
                }
            }
            if self.required || self.unique || self.default.is_some() {
                errors.add(
                    "type",
                    "a rollup is computed: it cannot be required, unique or have a default",
                );
            }
        } else if self.rollup.is_some() {
            errors.add("rollup", format!("only rollups compute a figure, not {t}"));
        }
        if self.unique && !t.can_be_unique() {
            errors.add(
                "unique",
                format!("a {} field cannot be unique", t.label().to_lowercase()),
            );
        }
        let limited = t.is_numeric() || t.is_textual();
        if !limited && (self.min.is_some() || self.max.is_some()) {
            errors.add(
                "min",
                format!("a {} field takes no limits", t.label().to_lowercase()),
            );
        }
        if t.is_textual() {
            for (name, limit) in [("min", self.min), ("max", self.max)] {
                if let Some(v) = limit
                    && (v < 0.0 || v.fract() != 0.0 || v > t.max_length() as f64)
                {
                    errors.add(
                        name,
                        format!(
                            "must be a whole number of characters from 0 to {}",
                            t.max_length()
                        ),
                    );
                }
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            errors.add("max", "must not be below min");
        }
        if self.archived && self.builtin {
            errors.add("archived", "a built-in field cannot be archived");
        }
        errors.into_result()
    }
}

/// A kind of record: its names, look and fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDef {
    pub id: ObjectId,
    pub key: ObjectKey,
    pub singular: String,
    pub plural: String,
    pub icon: Option<String>,
    pub color: Option<String>,
    /// The field that names a record (shown as its title, searched first).
    pub primary_field: FieldKey,
    /// The select field a board groups by, when the object has one.
    pub board_field: Option<FieldKey>,
    pub builtin: bool,
    /// Every field, archived ones included, in display order.
    pub fields: Vec<FieldDef>,
}

impl ObjectDef {
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key.as_str() == key)
    }

    /// The fields a form shows and a record carries: every field not archived.
    pub fn live_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| !f.archived)
    }

    pub fn primary(&self) -> Option<&FieldDef> {
        self.field(self.primary_field.as_str())
    }

    /// A built-in object's custom fields as an object of their own (its system fields have
    /// their own columns, rules and forms).
    pub fn custom_part(&self) -> ObjectDef {
        ObjectDef {
            fields: self.fields.iter().filter(|f| !f.builtin).cloned().collect(),
            ..self.clone()
        }
    }
}

/// An icon name: a short lowercase word from the icon set (`anchor`, `megaphone`).
pub fn icon(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    if s.is_empty()
        || s.len() > 40
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("must be an icon name such as anchor or megaphone");
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_and_field_keys_follow_one_grammar() {
        assert!(ObjectKey::parse("berth").is_ok());
        assert!(ObjectKey::parse("ad_campaign2").is_ok());
        assert!(ObjectKey::parse("b").is_err(), "too short");
        assert!(ObjectKey::parse("Berth").is_err(), "uppercase");
        assert!(ObjectKey::parse("2berth").is_err(), "starts with a digit");
        assert!(ObjectKey::parse("ber-th").is_err());
        assert!(ObjectKey::parse(&"a".repeat(41)).is_ok());
        assert!(ObjectKey::parse(&"a".repeat(42)).is_err());
        assert!(ObjectKey::parse("deal").expect("valid").is_builtin());
        assert!(!ObjectKey::parse("berth").expect("valid").is_builtin());
        assert!(FieldKey::parse("length_m").is_ok());
        for reserved in RESERVED_FIELD_KEYS {
            assert!(FieldKey::parse(reserved).is_err(), "{reserved}");
        }
    }

    #[test]
    fn keys_are_made_from_labels() {
        assert_eq!(key_from_label("Under offer"), "under_offer");
        assert_eq!(key_from_label("  Length (m) "), "length_m");
        assert_eq!(key_from_label("2nd hand"), "f_2nd_hand");
        assert_eq!(key_from_label("Été"), "t_1");
        assert_eq!(key_from_label("€"), "field");
        assert_eq!(key_from_label("x"), "x_1");
        assert!(FieldKey::parse(&key_from_label(&"Long name ".repeat(10))).is_ok());
    }

    #[test]
    fn field_types_round_trip_their_names() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()), Ok(t));
            let json = serde_json::to_value(t).expect("valid");
            assert_eq!(json, serde_json::json!(t.as_str()));
        }
        assert!(
            FieldType::parse("string")
                .expect_err("refused")
                .contains("multi_select")
        );
    }

    #[test]
    fn options_get_keys_from_labels_and_refuse_repeats() {
        let mut errors = ValidationErrors::new();
        let inputs = vec![
            OptionInput {
                key: None,
                label: Some("Available".into()),
                color: Some("Green".into()),
            },
            OptionInput {
                key: Some("under_offer".into()),
                label: Some("Under offer".into()),
                color: None,
            },
            OptionInput {
                key: None,
                label: Some("available".into()),
                color: None,
            },
            OptionInput {
                key: None,
                label: Some(" ".into()),
                color: None,
            },
            OptionInput {
                key: None,
                label: Some("Sold".into()),
                color: Some("mauve".into()),
            },
        ];
        let options = parse_options(&mut errors, &inputs);
        assert_eq!(
            options.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
            ["available", "under_offer"]
        );
        assert_eq!(options[0].color.as_deref(), Some("green"));
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["options[2].key", "options[3].label", "options[4].color"]
        );
        let mut errors = ValidationErrors::new();
        parse_options(&mut errors, &[]);
        assert_eq!(errors.0[0].field, "options");
    }

    fn field(t: FieldType) -> FieldDef {
        FieldDef::new(FieldKey::parse("f1").expect("valid"), "F", t)
    }

    fn problems(f: &FieldDef) -> Vec<String> {
        match f.check_settings() {
            Ok(()) => Vec::new(),
            Err(e) => e.0.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn settings_must_fit_the_type() {
        assert_eq!(problems(&field(FieldType::Select)), ["options"]);
        let mut text = field(FieldType::Text);
        text.options.push(SelectOption {
            key: "a".into(),
            label: "A".into(),
            color: None,
        });
        text.many = true;
        text.target = Some(ObjectKey::parse("contact").expect("valid"));
        assert_eq!(problems(&text), ["options", "target", "many"]);
        assert_eq!(problems(&field(FieldType::Relation)), ["target"]);
        assert_eq!(problems(&field(FieldType::Rollup)), ["rollup"]);

        let mut rollup = field(FieldType::Rollup);
        rollup.rollup = Some(Rollup {
            object: ObjectKey::parse("expense").expect("valid"),
            via: FieldKey::parse("campaign").expect("valid"),
            function: RollupFunction::Sum,
            field: None,
        });
        rollup.required = true;
        assert_eq!(problems(&rollup), ["rollup.field", "type"]);

        let mut flag = field(FieldType::Boolean);
        flag.unique = true;
        flag.min = Some(1.0);
        assert_eq!(problems(&flag), ["unique", "min"]);
    }

    #[test]
    fn limits_are_lengths_for_text_and_bounds_for_numbers() {
        let mut text = field(FieldType::Text);
        text.min = Some(2.0);
        text.max = Some(10.0);
        assert!(problems(&text).is_empty());
        text.max = Some(2.5);
        assert_eq!(problems(&text), ["max"]);
        text.max = Some(1.0);
        assert_eq!(problems(&text), ["max"], "below min");
        text.max = Some(501.0);
        assert_eq!(problems(&text), ["max"], "past the type's own limit");

        let mut number = field(FieldType::Number);
        number.min = Some(-5.5);
        number.max = Some(1e9);
        assert!(problems(&number).is_empty());
    }

    #[test]
    fn icons_are_simple_names() {
        assert_eq!(icon(" anchor "), Ok("anchor".into()));
        assert!(icon("arrow-up-2").is_ok());
        assert!(icon("<svg>").is_err());
        assert!(icon("").is_err());
    }
}
