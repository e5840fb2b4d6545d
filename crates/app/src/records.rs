//! Records of custom objects: created, read, changed, listed and deleted through their object's
//! definition, with no code written per object. Values are checked by `domain::values`, indexed
//! for filters and sorts, audited with field diffs and announced as `record.*` events.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rapport_domain::access::{Reach, RecordAction};
use rapport_domain::schema::{FieldDef, FieldKey, FieldType, ObjectDef, ObjectKey};
use rapport_domain::values::{self, Value};
use rapport_domain::{Action, Ownership, RecordId, UserId, ValidationErrors};
use rapport_store::memberships;
use rapport_store::records::{
    self as store_records, After, Aggregate, Column, Comparison, Condition, IndexRow, Listed,
    Operand, RecordFields, RecordQuery, RecordRow, Sort, Target,
};
use rapport_store::{TenantTx, text};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use crate::audit::{entry, with_target};
use crate::changes::missing_reference;
use crate::objects::{Catalog, catalog, value_context};
use crate::timeline::note_values_changed;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// A record as members see it: every live field of its object, `null` where empty.
#[derive(Clone, Debug)]
pub struct RecordView {
    pub id: RecordId,
    pub object: ObjectKey,
    pub owner_id: UserId,
    pub title: String,
    pub values: Map<String, Json>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a request asks of a record: values (only those given change; `null` clears) and,
/// optionally, a new owner.
#[derive(Clone, Debug, Default)]
pub struct RecordInput {
    pub values: Map<String, Json>,
    pub owner_id: Option<UserId>,
}

/// A page of records and where the next one starts.
#[derive(Clone, Debug)]
pub struct RecordPage {
    pub items: Vec<RecordView>,
    pub next_cursor: Option<String>,
}

/// A list request in the contract's grammar: `filter[key]=v`, `filter[key][op]=v`, `search`,
/// `sort=key` / `sort=-key`, `page_size`, `cursor`.
#[derive(Clone, Debug, Default)]
pub struct RecordListQuery {
    /// (field key, operator or `None` for equality, raw value), in the order given.
    pub filters: Vec<(String, Option<String>, String)>,
    pub search: Option<String>,
    pub sort: Option<String>,
    pub page_size: u64,
    pub cursor: Option<String>,
}

/// The typed values stored in a record's document (fields no longer there, or values of another
/// shape, are left out).
pub(crate) fn typed_values(
    object: &ObjectDef,
    data: &Map<String, Json>,
) -> BTreeMap<FieldKey, Value> {
    object
        .fields
        .iter()
        .filter_map(|f| {
            let v = values::decode(f, data.get(f.key.as_str())?)?;
            Some((f.key.clone(), v))
        })
        .collect()
}

/// The record's title: its primary field's text.
pub(crate) fn title_of(object: &ObjectDef, typed: &BTreeMap<FieldKey, Value>) -> String {
    match (object.primary(), typed.get(&object.primary_field)) {
        (Some(f), Some(v)) => v.display(f).chars().take(500).collect(),
        _ => String::new(),
    }
}

/// The index rows of a record's values (of one field only, with `only`).
pub(crate) fn index_rows(
    object: &ObjectDef,
    typed: &BTreeMap<FieldKey, Value>,
    only: Option<rapport_domain::FieldId>,
) -> Vec<IndexRow> {
    let mut rows = Vec::new();
    for field in object
        .fields
        .iter()
        .filter(|f| only.is_none_or(|id| f.id == id))
    {
        let Some(value) = typed.get(&field.key) else {
            continue;
        };
        let unique = field.unique.then(|| value.unique_key()).flatten();
        for (i, e) in value.index_entries().into_iter().enumerate() {
            rows.push(IndexRow {
                field_id: field.id,
                num: e.num,
                txt: e.text,
                unique_key: if i == 0 { unique.clone() } else { None },
            });
        }
    }
    rows
}

pub(crate) fn target_of(catalog: &Catalog, key: &ObjectKey) -> Option<Target> {
    builtin_target(key.as_str())
        .or_else(|| catalog.get(key.as_str()).map(|o| Target::Object(o.def.id)))
}

/// Where a built-in object's records are kept: its own table (`None` for a custom object).
pub(crate) fn builtin_target(key: &str) -> Option<Target> {
    Some(Target::Table(match key {
        "company" => "companies",
        "contact" => "contacts",
        "lead" => "leads",
        "deal" => "deals",
        "task" => "tasks",
        _ => return None,
    }))
}

/// The cursor of a page: opaque to clients, it names the order it belongs to.
fn encode_cursor(sort: &str, after: &After) -> String {
    let body = match after {
        After::Time(t, id) => json!({"s": sort, "t": t, "id": id}),
        After::Value(Operand::Num(n), id) => json!({"s": sort, "n": n, "id": id}),
        After::Value(Operand::Txt(v), id) => json!({"s": sort, "v": v, "id": id}),
        After::Empty(id) => json!({"s": sort, "e": true, "id": id}),
    };
    URL_SAFE_NO_PAD.encode(body.to_string())
}

fn decode_cursor(sort: &str, cursor: &str) -> AppResult<After> {
    let bad = || {
        AppError::bad_request(
            "invalid_cursor",
            "the cursor is not one this list gave, or belongs to another order",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let body: Json = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if body["s"] != json!(sort) {
        return Err(bad());
    }
    let id: RecordId = body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    if let Some(t) = body["t"].as_str() {
        let t = DateTime::parse_from_rfc3339(t).map_err(|_| bad())?;
        return Ok(After::Time(t.with_timezone(&Utc), id));
    }
    if let Some(n) = body["n"].as_f64() {
        return Ok(After::Value(Operand::Num(n), id));
    }
    if let Some(v) = body["v"].as_str() {
        return Ok(After::Value(Operand::Txt(v.to_owned()), id));
    }
    if body["e"] == json!(true) {
        return Ok(After::Empty(id));
    }
    Err(bad())
}

/// The index column a field's values are kept in.
pub(crate) fn column_of(field: &FieldDef) -> Column {
    if field.field_type.is_numeric() || field.field_type == FieldType::Boolean {
        Column::Num
    } else {
        Column::Txt
    }
}

/// A filter value in the index's form, checked against the field (400 when it cannot match
/// anything a field of this type holds).
fn operand(field: &FieldDef, raw: &str) -> AppResult<Operand> {
    let bad = |what: &str| {
        AppError::bad_request("invalid_filter", format!("filter[{}] {what}", field.key))
    };
    let raw = raw.trim();
    Ok(match field.field_type {
        FieldType::Number | FieldType::Percent | FieldType::Money => Operand::Num(
            raw.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| bad("must be a number"))?,
        ),
        FieldType::Boolean => match raw {
            "true" | "1" => Operand::Num(1.0),
            "false" | "0" => Operand::Num(0.0),
            _ => return Err(bad("must be true or false")),
        },
        FieldType::Date => {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| bad("must be a date such as 2026-12-31"))?;
            Operand::Txt(raw.to_owned())
        }
        FieldType::DateTime => {
            let t = DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
                })
                .map_err(|_| bad("must be a date and time such as 2026-12-31T09:30:00Z"))?;
            Operand::Txt(values::sortable_time(values::to_micros(t)))
        }
        FieldType::Select | FieldType::MultiSelect => {
            if field.option(raw).is_none() {
                return Err(bad(&format!(
                    "must be one of {}",
                    field
                        .options
                        .iter()
                        .map(|o| o.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Operand::Txt(raw.to_owned())
        }
        FieldType::Member | FieldType::Relation => Operand::Txt(
            Uuid::parse_str(raw)
                .map_err(|_| bad("must be an id"))?
                .to_string(),
        ),
        FieldType::Rollup => return Err(bad("cannot filter a computed field")),
        _ => Operand::Txt(values::index_text(raw)),
    })
}

/// Turns the contract's filters into conditions on the value index.
pub(crate) fn conditions(
    object: &ObjectDef,
    filters: &[(String, Option<String>, String)],
) -> AppResult<Vec<Condition>> {
    let mut out = Vec::new();
    for (key, op, raw) in filters {
        let field = object
            .live_fields()
            .find(|f| f.key.as_str() == key)
            .ok_or_else(|| {
                AppError::bad_request(
                    "unknown_filter",
                    format!("{} have no field {key} to filter by", object.plural),
                )
            })?;
        if field.field_type == FieldType::Rollup {
            return Err(AppError::bad_request(
                "unknown_filter",
                format!("{key} is computed and cannot be filtered"),
            ));
        }
        let comparison = |c| -> AppResult<Condition> {
            if field.is_multi_valued()
                || matches!(
                    field.field_type,
                    FieldType::Select | FieldType::Member | FieldType::Relation
                )
            {
                return Err(AppError::bad_request(
                    "invalid_filter",
                    format!("{key} cannot be compared by range"),
                ));
            }
            Ok(Condition::Compare {
                field: field.id,
                op: c,
                value: operand(field, raw)?,
            })
        };
        let condition = match op.as_deref() {
            None | Some("eq") => Condition::Compare {
                field: field.id,
                op: Comparison::Eq,
                value: operand(field, raw)?,
            },
            Some("gt") => comparison(Comparison::Gt)?,
            Some("gte") => comparison(Comparison::Gte)?,
            Some("lt") => comparison(Comparison::Lt)?,
            Some("lte") => comparison(Comparison::Lte)?,
            Some("in") => {
                let values = raw
                    .split(',')
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| operand(field, v))
                    .collect::<AppResult<Vec<_>>>()?;
                if values.is_empty() || values.len() > 100 {
                    return Err(AppError::bad_request(
                        "invalid_filter",
                        format!("filter[{key}][in] takes 1 to 100 values"),
                    ));
                }
                Condition::In {
                    field: field.id,
                    values,
                }
            }
            Some("empty") => match raw.trim() {
                "true" => Condition::Empty {
                    field: field.id,
                    empty: true,
                },
                "false" => Condition::Empty {
                    field: field.id,
                    empty: false,
                },
                _ => {
                    return Err(AppError::bad_request(
                        "invalid_filter",
                        format!("filter[{key}][empty] must be true or false"),
                    ));
                }
            },
            Some(other) => {
                return Err(AppError::bad_request(
                    "unknown_filter",
                    format!("{other} is not a filter operator (gte, gt, lte, lt, in, empty)"),
                ));
            }
        };
        out.push(condition);
    }
    Ok(out)
}

/// Matches under which a filter is rare enough to read the list from.
const RARE: i64 = 1_000;

/// Records of an object counted, at most, to weigh a rare filter against reading in order.
const SIZED: i64 = 10_000;

/// The filter a list is best read from: an equality on a unique field always; otherwise, in an
/// organization with more than `small` records (its size is known without asking, see
/// `store::statistics`), the rarest of its value filters when it matches fewer than [`RARE`]
/// records (one capped count per filter) and fewer than reading the list in its order would test
/// to fill a page; otherwise none, and the list is read in its order, testing each record.
async fn driver(
    tx: &mut TenantTx,
    small: i64,
    object: &ObjectDef,
    conditions: &[Condition],
    page_size: u64,
) -> AppResult<Option<usize>> {
    // A record matches a condition once per matching index row: several for a multi-valued
    // field tested against several values, so those never drive.
    let many = |c: &Condition| {
        matches!(c, Condition::In { .. })
            && object
                .fields
                .iter()
                .any(|f| f.id == c.field() && f.is_multi_valued())
    };
    let candidates: Vec<usize> = conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| !matches!(c, Condition::Empty { .. }) && !many(c))
        .map(|(i, _)| i)
        .collect();
    // Equality on a unique field matches one record at most: it drives, with nothing counted.
    let unique = candidates.iter().copied().find(|i| {
        matches!(
            &conditions[*i],
            Condition::Compare {
                op: Comparison::Eq,
                ..
            }
        ) && object
            .fields
            .iter()
            .any(|f| f.id == conditions[*i].field() && f.unique)
    });
    if unique.is_some() {
        return Ok(unique);
    }
    if candidates.is_empty()
        || (small > 0 && rapport_store::statistics::live_rows(tx, "records", small).await? <= small)
    {
        return Ok(None);
    }
    let mut best: Option<(usize, i64)> = None;
    for i in candidates {
        let n = store_records::matches_capped(tx, &conditions[i], RARE).await?;
        if n < RARE && best.is_none_or(|(_, m)| n < m) {
            best = Some((i, n));
        }
    }
    let Some((i, n)) = best else {
        return Ok(None);
    };
    // Read from the filter, a page costs its `n` matches (read, then sorted); read in the list's
    // order, about `(page + 1) × total / n` records tested, each for about as much. The filter
    // drives when the object holds more than `n² / (page + 1)` records. The object is counted
    // once (kept until the next write) up to [`SIZED`]: beyond, it is large, and fewer than
    // [`RARE`] matches are the quicker read, or near enough.
    let threshold = n * n / (page_size as i64 + 1);
    if threshold == 0 {
        return Ok(Some(i));
    }
    let total = store_records::count_capped(tx, object.id, SIZED, None).await?;
    Ok((total >= SIZED || total > threshold).then_some(i))
}

fn sort_of(object: &ObjectDef, sort: Option<&str>) -> AppResult<(Sort, bool, String)> {
    let raw = sort
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("-created_at");
    let (descending, key) = match raw.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, raw),
    };
    let sort = match key {
        "created_at" => Sort::Created,
        "updated_at" => Sort::Updated,
        _ => {
            let field = object
                .live_fields()
                .find(|f| f.key.as_str() == key)
                .ok_or_else(|| {
                    AppError::bad_request(
                        "unknown_sort",
                        format!("{} cannot be sorted by {key}", object.plural),
                    )
                })?;
            if !field.is_sortable() {
                return Err(AppError::bad_request(
                    "unknown_sort",
                    format!(
                        "{key} holds several values or is computed: lists cannot be sorted by it"
                    ),
                ));
            }
            Sort::Field {
                field: field.id,
                column: column_of(field),
            }
        }
    };
    Ok((sort, descending, raw.to_owned()))
}

impl App {
    /// The catalogue and a custom object of it, in `tx` (404 for built-in objects, which are
    /// served by their own endpoints until they run on the engine).
    async fn custom_object(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        key: &str,
    ) -> AppResult<(Catalog, ObjectDef)> {
        let catalog = catalog(tx, tenant.organization.created_at).await?;
        let object = catalog.require(key)?.def.clone();
        if object.builtin {
            return Err(AppError::bad_request(
                "builtin_object",
                format!(
                    "{} are read and written through /{}",
                    object.plural.to_lowercase(),
                    builtin_path(key)
                ),
            ));
        }
        Ok((catalog, object))
    }

    /// What a record looks like to members: every live field, rollups computed.
    async fn view(
        &self,
        tx: &mut TenantTx,
        (actor, tenant): (&Actor, &Tenant),
        object: &ObjectDef,
        catalog: &Catalog,
        rows: Vec<RecordRow>,
    ) -> AppResult<Vec<RecordView>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id.as_uuid()).collect();
        let hidden = tenant.hidden_fields(object);
        let shown = |f: &&FieldDef| !hidden.iter().any(|h| h == f.key.as_str());
        let mut rollups: BTreeMap<(FieldKey, String), f64> = BTreeMap::new();
        for field in object
            .live_fields()
            .filter(shown)
            .filter(|f| f.field_type == FieldType::Rollup)
        {
            let Some(r) = &field.rollup else { continue };
            let Some(source) = catalog.get(r.object.as_str()) else {
                continue;
            };
            let Some(via) = source.def.field(r.via.as_str()) else {
                continue;
            };
            let value = r
                .field
                .as_ref()
                .and_then(|k| source.def.field(k.as_str()))
                .map(|f| f.id);
            let aggregate = match r.function {
                rapport_domain::schema::RollupFunction::Count => Aggregate::Count,
                rapport_domain::schema::RollupFunction::Sum => Aggregate::Sum,
                rapport_domain::schema::RollupFunction::Min => Aggregate::Min,
                rapport_domain::schema::RollupFunction::Max => Aggregate::Max,
            };
            // Of the source's records, those in the reader's reach.
            let reach = tenant.reach(actor, RecordAction::View, source.def.key.as_str());
            let table = crate::custom_values::Kind::of_key(source.def.key.as_str())
                .filter(|_| source.def.builtin)
                .map_or("records", |k| k.table());
            let sources = reach.owners().map(|owners| (table, owners));
            for (target, figure) in
                store_records::rollups(tx, via.id, aggregate, value, &ids, sources).await?
            {
                rollups.insert((field.key.clone(), target), figure);
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let typed = typed_values(object, &row.data.0);
                let mut values = Map::new();
                for field in object.live_fields().filter(shown) {
                    let v = if field.field_type == FieldType::Rollup {
                        let figure = rollups
                            .get(&(field.key.clone(), row.id.to_string()))
                            .copied();
                        let counted = field.rollup.as_ref().is_some_and(|r| {
                            r.function == rapport_domain::schema::RollupFunction::Count
                        });
                        match figure {
                            Some(f) => json!(f),
                            None if counted => json!(0),
                            None => Json::Null,
                        }
                    } else {
                        typed
                            .get(&field.key)
                            .map_or(Json::Null, |v| v.to_json(field))
                    };
                    values.insert(field.key.to_string(), v);
                }
                RecordView {
                    id: row.id,
                    object: object.key.clone(),
                    owner_id: row.owner_id,
                    title: row.title,
                    values,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                }
            })
            .collect())
    }

    /// Checks what only the database can tell: members belong to the organization, related
    /// records exist in it (never revealing another organization's), unique values are free.
    pub(crate) async fn check_references(
        &self,
        tx: &mut TenantTx,
        catalog: &Catalog,
        object: &ObjectDef,
        changes: &BTreeMap<FieldKey, Option<Value>>,
        record: Uuid,
    ) -> AppResult<()> {
        self.check_references_as(tx, catalog, object, changes, record, "values")
            .await
    }

    /// [`Self::check_references`], naming fields `{prefix}.{key}`.
    pub(crate) async fn check_references_as(
        &self,
        tx: &mut TenantTx,
        catalog: &Catalog,
        object: &ObjectDef,
        changes: &BTreeMap<FieldKey, Option<Value>>,
        record: Uuid,
        prefix: &str,
    ) -> AppResult<()> {
        let mut errors = ValidationErrors::new();
        for (key, value) in changes {
            let (Some(field), Some(value)) = (object.field(key.as_str()), value) else {
                continue;
            };
            let target = field.target.as_ref().and_then(|t| target_of(catalog, t));
            if let Some(message) = missing_reference(tx, field, value, target).await? {
                errors.add(&format!("{prefix}.{key}"), message);
            }
        }
        errors.into_result()?;
        for (key, value) in changes {
            let (Some(field), Some(value)) = (object.field(key.as_str()), value) else {
                continue;
            };
            if !field.unique {
                continue;
            }
            if let Some(k) = value.unique_key()
                && store_records::unique_holder(tx, field.id, &k, record)
                    .await?
                    .is_some()
            {
                return Err(AppError::conflict(
                    "field_not_unique",
                    format!(
                        "another {} already has this {}",
                        object.singular.to_lowercase(),
                        field.label.to_lowercase()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A new owner must be a member, and one whose records of the kind the role changes (the
    /// actor, a teammate, anyone: its edit scope).
    async fn check_new_owner(
        tx: &mut TenantTx,
        tenant: &Tenant,
        actor: &Actor,
        kind: &str,
        owner: UserId,
    ) -> AppResult<()> {
        if let Err(why) = crate::changes::may_hand_over(tenant, actor, kind, owner) {
            return Err(AppError::invalid("owner_id", why));
        }
        if memberships::find_by_user(tx, owner).await?.is_none() {
            return Err(AppError::invalid(
                "owner_id",
                "must be a member of this organization",
            ));
        }
        Ok(())
    }

    /// Creates a record of a custom object.
    pub async fn create_record(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        input: &RecordInput,
        meta: &RequestMeta,
    ) -> AppResult<RecordView> {
        let (owner_id, input) = (input.owner_id, &input.values);
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::Create.into(),
            object_key,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let (catalog, object) = self.custom_object(&mut tx, tenant, object_key).await?;
        // Values given to fields hidden from the role are refused before anything else is
        // checked: no other answer may tell what such a field holds.
        let given: Vec<String> = input.keys().map(|k| format!("values.{k}")).collect();
        if let Err(e) =
            crate::fields::check_hidden_given(tenant, object_key, given.iter().map(String::as_str))
        {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, "change_field", object_key)
                .await;
            return Err(e);
        }
        let changes = values::check_input(&object, input, true, "values", value_context(tenant))?;
        let stage = board_stage(&object, |key| {
            changes
                .iter()
                .find(|(k, _)| k.as_str() == key)
                .and_then(|(_, v)| match v {
                    Some(Value::Select(s)) => Some(Json::String(s.clone())),
                    _ => None,
                })
        });
        let given: Vec<String> = input.keys().map(|k| format!("values.{k}")).collect();
        let valued: Vec<String> = crate::fields::valued(input)
            .into_iter()
            .map(|k| format!("values.{k}"))
            .collect();
        if let Err(e) = crate::fields::check_writes(
            tenant,
            object_key,
            stage.as_deref(),
            given.iter().map(String::as_str),
            valued.iter().map(String::as_str),
        ) {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, "change_field", object_key)
                .await;
            return Err(e);
        }
        let owner = owner_id.unwrap_or(actor.user_id);
        if owner != actor.user_id {
            Self::check_new_owner(&mut tx, tenant, actor, object_key, owner).await?;
        }
        let id = RecordId::new();
        self.check_references(&mut tx, &catalog, &object, &changes, id.as_uuid())
            .await?;
        let typed: BTreeMap<FieldKey, Value> = changes
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        let data = to_document(&object, &typed);
        let title = title_of(&object, &typed);
        let search = values::search_text(&object, &typed);
        let fields = RecordFields {
            owner_id: owner,
            data: &data,
            title: &title,
            search_key: &search,
        };
        let row = store_records::insert(&mut tx, object.id, id, &fields).await?;
        write_index(&mut tx, &object, &typed, id.as_uuid(), None).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "record.created"),
            object.key.as_str(),
            id,
        );
        e.changes = Some(json!({"title": title, "values": Json::Object(data.clone())}));
        crate::events::record(&mut tx, e).await?;
        let view = self
            .view(&mut tx, (actor, tenant), &object, &catalog, vec![row])
            .await?;
        tx.commit().await?;
        view.into_iter().next().ok_or(AppError::NotFound)
    }

    /// One record of a custom object.
    pub async fn record(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        id: RecordId,
        meta: &RequestMeta,
    ) -> AppResult<RecordView> {
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::View.into(),
            object_key,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (catalog, object) = self.custom_object(&mut tx, tenant, object_key).await?;
        let row = store_records::find(&mut tx, object.id, id)
            .await?
            .filter(|r| tenant.sees(object_key, tenant.relation(actor, r.owner_id)))
            .ok_or(AppError::NotFound)?;
        let view = self
            .view(&mut tx, (actor, tenant), &object, &catalog, vec![row])
            .await?;
        tx.commit().await?;
        view.into_iter().next().ok_or(AppError::NotFound)
    }

    /// Changes the values given (`null` clears one) and, optionally, the owner.
    pub async fn update_record(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        id: RecordId,
        input: &RecordInput,
        meta: &RequestMeta,
    ) -> AppResult<RecordView> {
        let (owner_id, input) = (input.owner_id, &input.values);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (catalog, object) = self.custom_object(&mut tx, tenant, object_key).await?;
        let current = store_records::find(&mut tx, object.id, id)
            .await?
            .filter(|r| tenant.sees(object_key, tenant.relation(actor, r.owner_id)))
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::Edit.into(),
            object_key,
            tenant.relation(actor, current.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_records::find_for_update(&mut tx, object.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Values given to fields hidden from the role are refused before anything else is
        // checked: no other answer may tell what such a field holds.
        let given: Vec<String> = input.keys().map(|k| format!("values.{k}")).collect();
        if let Err(e) =
            crate::fields::check_hidden_given(tenant, object_key, given.iter().map(String::as_str))
        {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, "change_field", object_key)
                .await;
            return Err(e);
        }
        let changes = values::check_input(&object, input, false, "values", value_context(tenant))?;
        let owner = owner_id.unwrap_or(current.owner_id);
        if owner != current.owner_id {
            Self::check_new_owner(&mut tx, tenant, actor, object_key, owner).await?;
        }
        self.check_references(&mut tx, &catalog, &object, &changes, id.as_uuid())
            .await?;
        let before = typed_values(&object, &current.data.0);
        let mut typed = before.clone();
        for (key, value) in &changes {
            match value {
                Some(v) => typed.insert(key.clone(), v.clone()),
                None => typed.remove(key),
            };
        }
        let mut diff: Vec<(String, Json, Json)> = Vec::new();
        for key in changes.keys() {
            let Some(field) = object.field(key.as_str()) else {
                continue;
            };
            let b = before.get(key).map_or(Json::Null, |v| v.to_json(field));
            let a = typed.get(key).map_or(Json::Null, |v| v.to_json(field));
            if a != b {
                diff.push((key.to_string(), b, a));
            }
        }
        let stage = board_stage(&object, |key| current.data.0.get(key).cloned());
        let given: Vec<String> = input.keys().map(|k| format!("values.{k}")).collect();
        let changed: Vec<String> = diff.iter().map(|(k, _, _)| format!("values.{k}")).collect();
        if let Err(e) = crate::fields::check_writes(
            tenant,
            object_key,
            stage.as_deref(),
            given.iter().map(String::as_str),
            changed.iter().map(String::as_str),
        ) {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, "change_field", object_key)
                .await;
            return Err(e);
        }
        if owner != current.owner_id {
            diff.push(("owner_id".into(), json!(current.owner_id), json!(owner)));
        }
        if diff.is_empty() {
            let view = self
                .view(&mut tx, (actor, tenant), &object, &catalog, vec![current])
                .await?;
            tx.commit().await?;
            return view.into_iter().next().ok_or(AppError::NotFound);
        }
        let mut data = current.data.0.clone();
        for (key, value) in &changes {
            match value
                .as_ref()
                .and_then(|v| object.field(key.as_str()).map(|f| v.to_json(f)))
            {
                Some(json) => data.insert(key.to_string(), json),
                None => data.remove(key.as_str()),
            };
        }
        let title = title_of(&object, &typed);
        let search = values::search_text(&object, &typed);
        let fields = RecordFields {
            owner_id: owner,
            data: &data,
            title: &title,
            search_key: &search,
        };
        store_records::update(&mut tx, id, &fields).await?;
        let changed: Vec<rapport_domain::FieldId> = changes
            .keys()
            .filter_map(|k| object.field(k.as_str()).map(|f| f.id))
            .collect();
        let changed_typed: BTreeMap<FieldKey, Value> = typed
            .iter()
            .filter(|(k, _)| changes.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let rows = index_rows(&object, &changed_typed, None);
        store_records::replace_index(&mut tx, id.as_uuid(), &changed, &rows).await?;
        let pairs: Vec<(&str, Json, Json)> = diff
            .iter()
            .map(|(k, b, a)| (k.as_str(), b.clone(), a.clone()))
            .collect();
        // The timeline tells what changed, in the words of the fields as they were then.
        note_values_changed(&mut tx, actor, ("record", id.as_uuid()), &object, &pairs).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "record.updated"),
            object.key.as_str(),
            id,
        );
        e.changes = crate::audit::changes(&pairs);
        crate::events::record(&mut tx, e).await?;
        let row = store_records::find(&mut tx, object.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let view = self
            .view(&mut tx, (actor, tenant), &object, &catalog, vec![row])
            .await?;
        tx.commit().await?;
        view.into_iter().next().ok_or(AppError::NotFound)
    }

    /// Moves a record to recently deleted (its values leave the indexes until it is restored).
    pub async fn delete_record(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        id: RecordId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (_, object) = self.custom_object(&mut tx, tenant, object_key).await?;
        let current = store_records::find(&mut tx, object.id, id)
            .await?
            .filter(|r| tenant.sees(object_key, tenant.relation(actor, r.owner_id)))
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::Delete.into(),
            object_key,
            tenant.relation(actor, current.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_records::find_for_update(&mut tx, object.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_records::set_deleted(&mut tx, id, Some(rapport_store::now())).await?;
        store_records::clear_index(&mut tx, id.as_uuid()).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "record.deleted"),
            object.key.as_str(),
            id,
        );
        e.changes = Some(json!({"title": current.title}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Brings a deleted record back, with its values indexed again (409 `field_not_unique` when
    /// another record took one of its unique values meanwhile).
    pub async fn restore_record(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        id: RecordId,
        meta: &RequestMeta,
    ) -> AppResult<RecordView> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (catalog, object) = self.custom_object(&mut tx, tenant, object_key).await?;
        let row = store_records::find_deleted(&mut tx, object.id, id)
            .await?
            .filter(|r| tenant.sees(object_key, tenant.relation(actor, r.owner_id)))
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::Delete.into(),
            object_key,
            tenant.relation(actor, row.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let row = store_records::find_deleted(&mut tx, object.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let typed = typed_values(&object, &row.data.0);
        let as_changes: BTreeMap<FieldKey, Option<Value>> = typed
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        for (key, value) in &as_changes {
            let (Some(field), Some(value)) = (object.field(key.as_str()), value) else {
                continue;
            };
            if let Some(k) = value.unique_key().filter(|_| field.unique)
                && store_records::unique_holder(&mut tx, field.id, &k, id.as_uuid())
                    .await?
                    .is_some()
            {
                return Err(AppError::conflict(
                    "field_not_unique",
                    format!(
                        "another {} now has this {}",
                        object.singular.to_lowercase(),
                        field.label.to_lowercase()
                    ),
                ));
            }
        }
        store_records::set_deleted(&mut tx, id, None).await?;
        write_index(&mut tx, &object, &typed, id.as_uuid(), None).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "record.restored"),
            object.key.as_str(),
            id,
        );
        e.changes = Some(json!({"title": row.title}));
        crate::events::record(&mut tx, e).await?;
        let row = store_records::find(&mut tx, object.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let view = self
            .view(&mut tx, (actor, tenant), &object, &catalog, vec![row])
            .await?;
        tx.commit().await?;
        view.into_iter().next().ok_or(AppError::NotFound)
    }

    /// A page of a custom object's records, filtered, searched and sorted by any field.
    pub async fn list_records(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        query: &RecordListQuery,
        meta: &RequestMeta,
    ) -> AppResult<RecordPage> {
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::View.into(),
            object_key,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (catalog, object) = self.custom_object(&mut tx, tenant, object_key).await?;
        let small = self.config.list_scan_limit;
        let reach = tenant.reach(actor, RecordAction::View, object_key);
        let page = self
            .list_in(
                &mut tx,
                (actor, tenant),
                &catalog,
                &object,
                query,
                &reach,
                small,
            )
            .await?;
        tx.commit().await?;
        Ok(page)
    }

    /// A page of `object`'s records in `tx`. Up to `small` records in the organization, the list
    /// is read in its order without counting filters first (0: always count them).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn list_in(
        &self,
        tx: &mut TenantTx,
        who: (&Actor, &Tenant),
        catalog: &Catalog,
        object: &ObjectDef,
        query: &RecordListQuery,
        reach: &Reach,
        small: i64,
    ) -> AppResult<RecordPage> {
        // Hidden fields neither filter nor sort: naming one is naming no field.
        let (actor, tenant) = who;
        let visible = crate::fields::without_hidden(tenant, object.clone());
        let conditions = conditions(&visible, &query.filters)?;
        let (sort, descending, sort_name) = sort_of(&visible, query.sort.as_deref())?;
        // A role that may not see a searchable field searches records by their titles.
        let search_titles = object.fields.iter().any(|f| {
            f.field_type.is_searchable() && !visible.fields.iter().any(|v| v.key == f.key)
        });
        let after = query
            .cursor
            .as_deref()
            .map(|c| decode_cursor(&sort_name, c))
            .transpose()?;
        let search = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(values::index_text);
        let search = match search {
            Some(s) if search_titles => Some((s, text::Strategy::Scan)),
            Some(s) => {
                let strategy = text::strategy(tx, &store_records::SEARCH, &s).await?;
                Some((s, strategy))
            }
            None => None,
        };
        let page_size = query.page_size.clamp(1, 100);
        let driver = driver(tx, small, object, &conditions, page_size).await?;
        let from_text_matches = match &search {
            Some((s, text::Strategy::Index)) if driver.is_none() => {
                text::index_gives_few(tx, &store_records::SEARCH, s).await?
            }
            _ => false,
        };
        let rq = RecordQuery {
            object_id: object.id,
            conditions: &conditions,
            owners: reach.owners(),
            driver,
            search: search.as_ref().map(|(s, st)| (s.as_str(), *st)),
            from_text_matches,
            search_titles,
            sort,
            descending,
            after,
            limit: page_size,
        };
        let mut rows: Vec<Listed> = store_records::list(tx, &rq).await?;
        let more = rows.len() as u64 > page_size;
        rows.truncate(page_size as usize);
        let next_cursor = if more {
            rows.last()
                .map(|r| encode_cursor(&sort_name, &r.after(sort)))
        } else {
            None
        };
        let items = self
            .view(
                tx,
                (actor, tenant),
                object,
                catalog,
                rows.into_iter().map(|l| l.record).collect(),
            )
            .await?;
        Ok(RecordPage { items, next_cursor })
    }
}

/// The stage of a record of `object` for field rules: its board field's option, read by `value`
/// (stored JSON) — `None` for an object without a board field or a record without a value.
fn board_stage(object: &ObjectDef, value: impl Fn(&str) -> Option<Json>) -> Option<String> {
    let board = object.board_field.as_ref()?;
    value(board.as_str()).and_then(|v| v.as_str().map(str::to_owned))
}

/// A record to create in bulk: its values are already typed and checked.
pub(crate) struct Prepared {
    pub owner_id: UserId,
    pub values: BTreeMap<FieldKey, Value>,
    pub created_at: DateTime<Utc>,
}

/// Writes many records of a custom object in `tx`, with their indexed values (sample data,
/// imports): the same documents, titles, search text and index rows as one by one.
pub(crate) async fn insert_prepared(
    tx: &mut TenantTx,
    object: &ObjectDef,
    items: &[Prepared],
) -> AppResult<()> {
    let ids: Vec<RecordId> = items.iter().map(|_| RecordId::new()).collect();
    let docs: Vec<(Map<String, Json>, String, String)> = items
        .iter()
        .map(|p| {
            (
                to_document(object, &p.values),
                title_of(object, &p.values),
                values::search_text(object, &p.values),
            )
        })
        .collect();
    let rows: Vec<store_records::NewRecord<'_>> = items
        .iter()
        .zip(&ids)
        .zip(&docs)
        .map(
            |((p, id), (data, title, search))| store_records::NewRecord {
                id: *id,
                fields: RecordFields {
                    owner_id: p.owner_id,
                    data,
                    title,
                    search_key: search,
                },
                created_at: p.created_at,
            },
        )
        .collect();
    store_records::insert_many(tx, object.id, &rows).await?;
    let index: Vec<(Uuid, IndexRow)> = items
        .iter()
        .zip(&ids)
        .flat_map(|(p, id)| {
            index_rows(object, &p.values, None)
                .into_iter()
                .map(move |r| (id.as_uuid(), r))
        })
        .collect();
    store_records::insert_index(tx, &index).await?;
    Ok(())
}

fn builtin_path(key: &str) -> &'static str {
    match key {
        "company" => "companies",
        "contact" => "contacts",
        "lead" => "leads",
        "deal" => "deals",
        _ => "tasks",
    }
}

/// A record's values as its stored document.
fn to_document(object: &ObjectDef, typed: &BTreeMap<FieldKey, Value>) -> Map<String, Json> {
    typed
        .iter()
        .filter_map(|(k, v)| {
            object
                .field(k.as_str())
                .map(|f| (k.to_string(), v.to_json(f)))
        })
        .collect()
}

/// Writes a record's index rows (all of them, or one field's with `only`).
async fn write_index(
    tx: &mut TenantTx,
    object: &ObjectDef,
    typed: &BTreeMap<FieldKey, Value>,
    record: Uuid,
    only: Option<rapport_domain::FieldId>,
) -> AppResult<()> {
    let rows = index_rows(object, typed, only);
    put_index(tx, record, &[], &rows).await
}

/// Replaces the index rows of a record's values of every field of `object` (a built-in
/// record's custom values changed, or it was restored).
pub(crate) async fn rewrite_index(
    tx: &mut TenantTx,
    object: &ObjectDef,
    document: &Map<String, Json>,
    record: Uuid,
) -> AppResult<()> {
    let typed = typed_values(object, document);
    let rows = index_rows(object, &typed, None);
    let fields: Vec<rapport_domain::FieldId> = object.fields.iter().map(|f| f.id).collect();
    put_index(tx, record, &fields, &rows).await
}

/// Replaces a record's index rows of `fields` by `rows`; a unique value another record took
/// meanwhile is a conflict.
async fn put_index(
    tx: &mut TenantTx,
    record: Uuid,
    fields: &[rapport_domain::FieldId],
    rows: &[IndexRow],
) -> AppResult<()> {
    match store_records::replace_index(tx, record, fields, rows).await {
        Err(e) if e.is_conflict_on("record_values_organization_id_field_id_unique_key_key") => {
            Err(AppError::conflict(
                "field_not_unique",
                "another record already has one of these unique values",
            ))
        }
        other => Ok(other?),
    }
}
