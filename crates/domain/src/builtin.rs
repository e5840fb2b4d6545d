//! The objects every organization has, described like any other: their system fields (held in
//! their own columns) come first; the fields an organization adds follow.

use uuid::Uuid;

use crate::deal::DealStatus;
use crate::ids::{FieldId, ObjectId};
use crate::lead::LeadStatus;
use crate::schema::{FieldDef, FieldKey, FieldType, ObjectDef, ObjectKey, SelectOption};
use crate::values::Value;

struct System<'a> {
    key: &'a str,
    label: &'a str,
    field_type: FieldType,
    required: bool,
    target: Option<&'a str>,
    options: &'a [(&'a str, &'a str)],
    help: Option<&'a str>,
    /// A select's option a new record gets.
    default: Option<&'a str>,
    /// A text's longest length in characters, or a number's smallest and largest value.
    min: Option<f64>,
    max: Option<f64>,
}

const fn f<'a>(key: &'a str, label: &'a str, field_type: FieldType) -> System<'a> {
    System {
        key,
        label,
        field_type,
        required: false,
        target: None,
        options: &[],
        help: None,
        default: None,
        min: None,
        max: None,
    }
}

/// A text of at most `max` characters.
const fn up_to(mut s: System<'_>, max: u32) -> System<'_> {
    s.max = Some(max as f64);
    s
}

/// A number from `min` to `max`.
const fn between(mut s: System<'_>, min: i32, max: i32) -> System<'_> {
    s.min = Some(min as f64);
    s.max = Some(max as f64);
    s
}

const fn help<'a>(mut s: System<'a>, text: &'a str) -> System<'a> {
    s.help = Some(text);
    s
}

const fn required(mut s: System<'_>) -> System<'_> {
    s.required = true;
    s
}

const fn to<'a>(mut s: System<'a>, target: &'a str) -> System<'a> {
    s.target = Some(target);
    s
}

const LEAD_STATUSES: [(&str, &str); 4] = [
    ("new", "New"),
    ("working", "Working"),
    ("qualified", "Qualified"),
    ("disqualified", "Disqualified"),
];

/// A company's size, in employees (the keys are what the API speaks).
pub const COMPANY_SIZES: [(&str, &str); 6] = [
    ("1-10", "1-10 employees"),
    ("11-50", "11-50 employees"),
    ("51-200", "51-200 employees"),
    ("201-500", "201-500 employees"),
    ("501-1000", "501-1000 employees"),
    ("1000+", "1000+ employees"),
];

const DEAL_STATUSES: [(&str, &str); 4] = [
    ("new", "New"),
    ("in_progress", "In progress"),
    ("won", "Won"),
    ("lost", "Lost"),
];

/// A stable id per built-in field: `object index << 8 | field index`, in a range no UUIDv7 uses.
fn system_field_id(object: usize, field: usize) -> FieldId {
    FieldId(Uuid::from_u128(
        ((object as u128) << 8) | field as u128 | 1 << 64,
    ))
}

fn object(
    index: usize,
    key: &str,
    singular: &str,
    plural: &str,
    icon: &str,
    fields: &[System<'_>],
) -> ObjectDef {
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut def = FieldDef::new(
                FieldKey::parse(s.key).expect("built-in field keys are valid"),
                s.label,
                s.field_type,
            );
            def.id = system_field_id(index, i);
            def.required = s.required;
            def.help = s.help.map(str::to_owned);
            def.default = s.default.map(|key| Value::Select(key.to_owned()));
            def.min = s.min;
            def.max = s.max;
            def.builtin = true;
            def.position = i as i64;
            def.target = s
                .target
                .map(|t| ObjectKey::parse(t).expect("built-in objects are valid"));
            def.options = s
                .options
                .iter()
                .map(|(key, label)| SelectOption {
                    key: (*key).into(),
                    label: (*label).into(),
                    color: None,
                })
                .collect();
            def
        })
        .collect();
    ObjectDef {
        id: ObjectId(Uuid::from_u128(index as u128 | 1 << 64)),
        key: ObjectKey::parse(key).expect("built-in object keys are valid"),
        singular: singular.into(),
        plural: plural.into(),
        icon: Some(icon.into()),
        color: None,
        primary_field: FieldKey::parse(if key == "deal" || key == "task" {
            "title"
        } else {
            "name"
        })
        .expect("valid"),
        board_field: None,
        builtin: true,
        fields,
    }
}

/// The built-in objects with their system fields, in navigation order.
pub fn objects() -> Vec<ObjectDef> {
    use FieldType::*;
    let lead_status = System {
        options: &LEAD_STATUSES,
        default: Some("new"),
        ..required(f("status", "Status", Select))
    };
    let deal_status = System {
        options: &DEAL_STATUSES,
        default: Some("new"),
        ..required(f("status", "Status", Select))
    };
    let company_size = System {
        options: &COMPANY_SIZES,
        ..f("size", "Size", Select)
    };
    debug_assert_eq!(LeadStatus::ALL.len(), LEAD_STATUSES.len());
    debug_assert!(
        DEAL_STATUSES
            .iter()
            .all(|(k, _)| DealStatus::parse(k).is_ok())
    );
    vec![
        object(
            1,
            "company",
            "Company",
            "Companies",
            "building",
            &[
                required(up_to(f("name", "Name", Text), 120)),
                help(
                    f("domain", "Web domain", Text),
                    "Pasting the website's address is fine: https://www.example.com becomes \
                     example.com.",
                ),
                up_to(f("industry", "Industry", Text), 80),
                company_size,
                up_to(f("address", "Address", LongText), 300),
            ],
        ),
        object(
            2,
            "contact",
            "Contact",
            "Contacts",
            "user",
            &[
                required(up_to(f("name", "Name", Text), 120)),
                f("email", "Email", Email),
                f("phone", "Phone", Phone),
                up_to(f("title", "Job title", Text), 120),
                to(f("company_id", "Company", Relation), "company"),
            ],
        ),
        object(
            3,
            "lead",
            "Lead",
            "Leads",
            "sparkles",
            &[
                required(up_to(f("name", "Name", Text), 120)),
                f("email", "Email", Email),
                f("phone", "Phone", Phone),
                up_to(f("company_name", "Company", Text), 120),
                up_to(f("source", "Source", Text), 60),
                lead_status,
                between(f("score", "Score", Number), 0, 100),
            ],
        ),
        object(
            4,
            "deal",
            "Deal",
            "Deals",
            "handshake",
            &[
                required(up_to(f("title", "Title", Text), 200)),
                f("amount", "Amount", Money),
                deal_status,
                f("stage", "Stage", Text),
                between(f("close_probability", "Probability", Percent), 0, 100),
                f("expected_close_date", "Expected close", Date),
                to(f("contact_id", "Contact", Relation), "contact"),
                to(f("company_id", "Company", Relation), "company"),
            ],
        ),
        object(
            5,
            "task",
            "Task",
            "Tasks",
            "check-square",
            &[
                required(up_to(f("title", "Title", Text), 200)),
                up_to(f("description", "Description", LongText), 10_000),
                f("due_date", "Due", Date),
                f("is_done", "Done", Boolean),
                f("assignee_id", "Assigned to", Member),
                to(f("deal_id", "Deal", Relation), "deal"),
                to(f("contact_id", "Contact", Relation), "contact"),
                to(f("company_id", "Company", Relation), "company"),
                help(
                    f("remind_at", "Reminder", DateTime),
                    "The assignee is told then, in the app and by email if they chose.",
                ),
                help(
                    f("portal_visible", "Visible to clients", Boolean),
                    "Clients who see its record in the client portal see this task too.",
                ),
            ],
        ),
    ]
}

/// A built-in object by key.
pub fn object_by_key(key: &str) -> Option<ObjectDef> {
    described(key).cloned()
}

/// A built-in object by key, described once for the life of the process.
pub fn described(key: &str) -> Option<&'static ObjectDef> {
    static OBJECTS: std::sync::OnceLock<Vec<ObjectDef>> = std::sync::OnceLock::new();
    OBJECTS
        .get_or_init(objects)
        .iter()
        .find(|o| o.key.as_str() == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_object_is_described_with_valid_settings() {
        let objects = objects();
        let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, crate::schema::BUILTIN_OBJECT_KEYS);
        for o in &objects {
            assert!(o.primary().is_some(), "{} has its primary field", o.key);
            for field in &o.fields {
                field
                    .check_settings()
                    .unwrap_or_else(|e| panic!("{}.{}: {e}", o.key, field.key));
                if let Some(target) = &field.target {
                    assert!(keys.contains(&target.as_str()));
                }
            }
        }
        let ids: std::collections::HashSet<_> = objects
            .iter()
            .flat_map(|o| o.fields.iter().map(|f| f.id))
            .collect();
        assert_eq!(
            ids.len(),
            objects.iter().map(|o| o.fields.len()).sum::<usize>()
        );
        assert_eq!(
            object_by_key("deal")
                .expect("valid")
                .field("status")
                .expect("valid")
                .options
                .len(),
            4
        );
    }
}
