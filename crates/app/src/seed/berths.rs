//! The marina's berths: a custom object with twenty fields of every common type, and as many
//! berths as asked (a few dozen for the demo, a million for the record engine's benchmark).

use chrono::{Duration, NaiveDate, Utc};
use rapport_domain::money::Money;
use rapport_domain::organization::Currency;
use rapport_domain::schema::{FieldDef, FieldKey, FieldType, ObjectDef, ObjectKey, SelectOption};
use rapport_domain::values::Value;
use rapport_domain::{OrganizationId, UserId};
use rapport_store::objects::{self as store_objects, ObjectFields};
use rapport_store::{Db, contacts};

use super::{BATCH, Rng};
use crate::AppResult;
use crate::records::{Prepared, insert_prepared};

const STATUSES: [(&str, &str, &str); 5] = [
    ("available", "Available", "green"),
    ("under_offer", "Under offer", "amber"),
    ("reserved", "Reserved", "blue"),
    ("sold", "Sold", "gray"),
    ("maintenance", "Maintenance", "red"),
];
const FEATURES: [(&str, &str); 5] = [
    ("power", "Power"),
    ("water", "Water"),
    ("wifi", "Wi-Fi"),
    ("fuel", "Fuel nearby"),
    ("security", "Gated"),
];
const PONTOONS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
const NOTES: [&str; 6] = [
    "Sheltered from the north wind",
    "Close to the harbour office",
    "Deep water at low tide",
    "Wide finger pontoon",
    "Quiet end of the marina",
    "Next to the fuel dock",
];

fn key(k: &str) -> FieldKey {
    FieldKey::parse(k).expect("sample field keys are valid")
}

fn field(k: &str, label: &str, t: FieldType) -> FieldDef {
    FieldDef::new(key(k), label, t)
}

fn options(items: &[(&str, &str, Option<&str>)]) -> Vec<SelectOption> {
    items
        .iter()
        .map(|(k, l, c)| SelectOption {
            key: (*k).into(),
            label: (*l).into(),
            color: c.map(str::to_owned),
        })
        .collect()
}

/// The berth object's fields: name, then nineteen more.
fn fields() -> Vec<FieldDef> {
    let mut name = field("name", "Name", FieldType::Text);
    name.required = true;
    let mut code = field("code", "Code", FieldType::Text);
    code.unique = true;
    let mut status = field("status", "Status", FieldType::Select);
    status.options = options(
        &STATUSES
            .iter()
            .map(|(k, l, c)| (*k, *l, Some(*c)))
            .collect::<Vec<_>>(),
    );
    status.default = Some(Value::Select("available".into()));
    let mut pontoon = field("pontoon", "Pontoon", FieldType::Select);
    pontoon.options = PONTOONS
        .iter()
        .map(|k| SelectOption {
            key: (*k).into(),
            label: format!("Pontoon {}", k.to_uppercase()),
            color: None,
        })
        .collect();
    let mut features = field("features", "Features", FieldType::MultiSelect);
    features.options = options(
        &FEATURES
            .iter()
            .map(|(k, l)| (*k, *l, None))
            .collect::<Vec<_>>(),
    );
    let mut length = field("length", "Length (m)", FieldType::Number);
    length.min = Some(0.0);
    let mut client = field("client", "Client", FieldType::Relation);
    client.target = Some(ObjectKey::parse("contact").expect("valid"));
    vec![
        name,
        code,
        status,
        pontoon,
        length,
        field("beam", "Beam (m)", FieldType::Number),
        field("draft", "Draft (m)", FieldType::Number),
        field("price", "Price", FieldType::Money),
        field("available_from", "Available from", FieldType::Date),
        field("last_inspection", "Last inspection", FieldType::DateTime),
        field("covered", "Covered", FieldType::Boolean),
        features,
        client,
        field("harbour_master", "Harbour master", FieldType::Member),
        field("notes", "Notes", FieldType::LongText),
        field("contact_email", "Contact email", FieldType::Email),
        field("contact_phone", "Contact phone", FieldType::Phone),
        field("listing", "Listing", FieldType::Url),
        field("occupancy", "Occupancy", FieldType::Percent),
        field("waiting_list", "Waiting list", FieldType::Number),
    ]
}

/// Defines the berth object in an organization and writes `n` berths, in transactions of a few
/// thousand. Returns how many were written.
pub(crate) async fn seed(
    db: &Db,
    org: OrganizationId,
    users: &[UserId],
    n: usize,
    seed_value: u64,
) -> AppResult<usize> {
    let mut tx = db.tenant(org).await?;
    let row = store_objects::insert(
        &mut tx,
        &ObjectFields {
            created_by: users[0],
            key: "berth",
            singular: "Berth",
            plural: "Berths",
            icon: Some("anchor"),
            color: Some("blue"),
            primary_field: "name",
            board_field: Some("status"),
        },
    )
    .await?;
    let defs = fields();
    for def in &defs {
        store_objects::insert_field(&mut tx, "berth", def).await?;
    }
    let clients: Vec<uuid::Uuid> =
        rapport_store::tables::choices::<contacts::Contact>(&mut tx, 400, None, None)
            .await?
            .into_iter()
            .map(|(id, _)| id.as_uuid())
            .collect();
    tx.commit().await?;
    let object = ObjectDef {
        id: row.id,
        key: ObjectKey::parse("berth").expect("valid"),
        singular: "Berth".into(),
        plural: "Berths".into(),
        icon: row.icon,
        color: row.color,
        primary_field: key("name"),
        board_field: Some(key("status")),
        builtin: false,
        fields: defs,
    };
    let mut rng = Rng(seed_value ^ 0xBE27);
    let today = Utc::now().date_naive();
    let mut written = 0;
    while written < n {
        let count = BATCH.min(n - written);
        let items: Vec<Prepared> = (written..written + count)
            .map(|i| berth(&mut rng, i, users, &clients, today))
            .collect();
        let mut tx = db.tenant(org).await?;
        insert_prepared(&mut tx, &object, &items).await?;
        tx.commit().await?;
        written += count;
    }
    Ok(written)
}

fn berth(
    rng: &mut Rng,
    i: usize,
    users: &[UserId],
    clients: &[uuid::Uuid],
    today: NaiveDate,
) -> Prepared {
    let pontoon = PONTOONS[i % PONTOONS.len()];
    let mut v = std::collections::BTreeMap::new();
    let mut put = |k: &str, value: Value| {
        v.insert(key(k), value);
    };
    put(
        "name",
        Value::Text(format!("Berth {}{}", pontoon.to_uppercase(), i / 8 + 1)),
    );
    put(
        "code",
        Value::Text(format!("{}-{:07}", pontoon.to_uppercase(), i)),
    );
    let status = STATUSES[rng.below(STATUSES.len())].0;
    put("status", Value::Select(status.into()));
    put("pontoon", Value::Select(pontoon.into()));
    let length = 6.0 + rng.below(600) as f64 / 10.0;
    put("length", Value::Number(length));
    put("beam", Value::Number((length / 3.2 * 10.0).round() / 10.0));
    put("draft", Value::Number(1.0 + rng.below(40) as f64 / 10.0));
    put(
        "price",
        Value::Money(Money {
            minor: (length * 1_800.0) as i64 * 100 + rng.between(0, 99) * 100,
            currency: Currency::DEFAULT,
        }),
    );
    put(
        "available_from",
        Value::Date(today + Duration::days(rng.between(-200, 400))),
    );
    if rng.chance(70) {
        put(
            "last_inspection",
            Value::DateTime(
                rapport_domain::values::to_micros(Utc::now())
                    - Duration::minutes(rng.between(60, 60 * 24 * 500)),
            ),
        );
    }
    put("covered", Value::Boolean(rng.chance(20)));
    let features: Vec<String> = FEATURES
        .iter()
        .filter(|_| rng.chance(40))
        .map(|(k, _)| (*k).to_owned())
        .collect();
    if !features.is_empty() {
        put("features", Value::MultiSelect(features));
    }
    if status != "available" && !clients.is_empty() && rng.chance(80) {
        put("client", Value::Relation(vec![*rng.pick(clients)]));
    }
    put("harbour_master", Value::Member(*rng.pick(users)));
    if rng.chance(30) {
        put("notes", Value::Text((*rng.pick(&NOTES)).to_owned()));
    }
    if rng.chance(50) {
        put(
            "contact_email",
            Value::Text(format!("berth{i}@harbour.example")),
        );
        put(
            "contact_phone",
            Value::Text(format!("+34 600 {:03} {:03}", i % 1000, (i / 1000) % 1000)),
        );
    }
    if rng.chance(10) {
        put(
            "listing",
            Value::Text(format!("https://harbour.example/berths/{i}")),
        );
    }
    put("occupancy", Value::Number(rng.below(101) as f64));
    put("waiting_list", Value::Number(rng.below(12) as f64));
    Prepared {
        owner_id: *rng.pick(users),
        values: v,
        created_at: rapport_store::now() - Duration::minutes(rng.between(0, 60 * 24 * 365)),
    }
}
