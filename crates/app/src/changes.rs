//! A change to a built-in record (a company, contact, lead, deal or task) and the one place its
//! fields are checked: by the kind's description in the registry
//! ([`rapport_domain::builtin`]), with the same parser and rules as a custom object's values
//! (lengths, emails, phones, options, limits, dates, links to records and members of the
//! organization). A kind then only reads the checked values into its columns and adds what is
//! its own (a deal's pipeline and amount, a task's due date and reminder).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rapport_domain::deal::DealStatus;
use rapport_domain::lead::LeadStatus;
use rapport_domain::schema::FieldDef;
use rapport_domain::values::{self, Value};
use rapport_domain::{UserId, ValidationErrors};
use rapport_store::records::{self as store_records, Target};
use rapport_store::{TenantTx, memberships};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::kinds::BuiltinKind;
use crate::records::builtin_target;
use crate::{Actor, AppError, AppResult, Tenant};

/// A change to a built-in record as a form or the API gives it.
#[derive(Clone, Debug, Default)]
pub struct RecordChange {
    /// Its fields by key, as the record's shape has them (`null` clears one; those not given
    /// stay): the system fields its registry entry describes, `owner_id`, and the inputs a kind
    /// reads itself (a deal's `pipeline_id` and `currency`, a task's `record_id`).
    pub values: Map<String, Json>,
    /// Custom field values (`null` clears one; those not given stay).
    pub custom: Option<Map<String, Json>>,
}

impl RecordChange {
    /// A change of one field.
    pub fn of(key: &str, value: impl Serialize) -> Self {
        RecordChange::default().set(key, value)
    }

    /// The change with one field more (`None` clears it).
    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        self.values.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Json::Null),
        );
        self
    }
}

/// What a column of a kind is read from: the checked value of its field.
pub trait Column: Sized {
    fn of(value: &Value) -> Option<Self>;
}

impl Column for String {
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) | Value::Select(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl Column for i64 {
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => Some(n.round() as i64),
            _ => None,
        }
    }
}

/// Columns read from the value of one variant, as it is.
macro_rules! column {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl Column for $ty {
            fn of(value: &Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => Some(*v),
                    _ => None,
                }
            }
        })*
    };
}

column! {
    bool => Boolean,
    NaiveDate => Date,
    DateTime<Utc> => DateTime,
    UserId => Member,
}

impl Column for LeadStatus {
    fn of(value: &Value) -> Option<Self> {
        String::of(value).and_then(|key| LeadStatus::parse(&key).ok())
    }
}

impl Column for DealStatus {
    fn of(value: &Value) -> Option<Self> {
        String::of(value).and_then(|key| DealStatus::parse(&key).ok())
    }
}

/// A change's fields checked against the kind's registry entry: the values it gives, typed, the
/// owner it leaves the record with, and every field that is wrong.
pub struct Checked<'a> {
    /// Who changes the record, and in which organization.
    pub actor: &'a Actor,
    pub tenant: &'a Tenant,
    given: BTreeMap<String, Option<Value>>,
    /// The inputs the kind reads itself, as given.
    pub(crate) inputs: Map<String, Json>,
    /// The record's owner after the change (the actor's, for a new record without one).
    pub owner: UserId,
    pub errors: ValidationErrors,
}

impl<'a> Checked<'a> {
    /// Checks each field the change gives (a new record's required fields must be given, and
    /// those left out take their default); links must name live records of the organization
    /// and members must belong to it. The kind's `OWN_INPUTS` are kept as given, for it to read.
    pub(crate) async fn new<K: BuiltinKind>(
        tx: &mut TenantTx,
        actor: &'a Actor,
        tenant: &'a Tenant,
        current: Option<&K>,
        change: &RecordChange,
    ) -> AppResult<Self> {
        let object = rapport_domain::builtin::described(K::KIND.object_key())
            .expect("every built-in kind is described");
        let ctx = crate::objects::value_context(tenant);
        let mut errors = ValidationErrors::new();
        let mut given = BTreeMap::new();
        let mut inputs = Map::new();
        let mut owner = None;
        for (key, raw) in &change.values {
            if K::OWN_INPUTS.contains(&key.as_str()) {
                inputs.insert(key.clone(), raw.clone());
            } else if key == "owner_id" {
                match values::uuid_of(raw) {
                    Some(id) => owner = Some(UserId(id)),
                    None => errors.add(key, "must be the id of a member"),
                }
            } else if object.field(key).is_none() {
                errors.add(
                    key,
                    format!("is not a field of {}", object.plural.to_lowercase()),
                );
            }
        }
        // In the order of the kind's fields, so errors read as its form does.
        for field in &object.fields {
            let key = field.key.as_str();
            let Some(raw) = change.values.get(key) else {
                continue;
            };
            if K::OWN_INPUTS.contains(&key) {
                continue;
            }
            match values::parse(field, raw, ctx) {
                Ok(None) if field.required => errors.add(
                    key,
                    if raw.is_string() {
                        "must not be empty"
                    } else {
                        "is required"
                    },
                ),
                Ok(value) => {
                    if let Some(value) = &value
                        && let Some(message) = missing_reference(
                            tx,
                            field,
                            value,
                            field
                                .target
                                .as_ref()
                                .and_then(|t| builtin_target(t.as_str())),
                        )
                        .await?
                    {
                        errors.add(key, message);
                    }
                    given.insert(key.to_owned(), value);
                }
                Err(message) => errors.add(key, message),
            }
        }
        if current.is_none() {
            for field in &object.fields {
                let key = field.key.as_str();
                if change.values.contains_key(key) || K::OWN_INPUTS.contains(&key) {
                    continue;
                }
                if let Some(default) = &field.default {
                    given.insert(key.to_owned(), Some(default.clone()));
                } else if field.required {
                    errors.add(key, "is required");
                }
            }
        }
        let owner = owner_after(
            tx,
            tenant,
            actor,
            K::KIND.object_key(),
            &mut errors,
            owner,
            current.map(K::owner),
        )
        .await?;
        Ok(Checked {
            actor,
            tenant,
            given,
            inputs,
            owner,
            errors,
        })
    }

    /// Whether the change gives a field, and its value (`None`: cleared).
    pub fn given(&self, key: &str) -> Option<Option<&Value>> {
        self.given.get(key).map(Option::as_ref)
    }

    /// A text input the kind reads itself, when given; anything else given (`null` included)
    /// is refused with `message`.
    pub fn text_input(&mut self, key: &str, message: &str) -> Option<String> {
        match self.inputs.get(key) {
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => {
                self.errors.add(key, message);
                None
            }
            None => None,
        }
    }

    /// Refuses the change now when a field is wrong already: before rules that would answer
    /// with something else (a conflict) for a change that is not even well formed.
    pub fn settle(&mut self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(std::mem::take(&mut self.errors)))
        }
    }

    /// An optional column after the change: the value given (`None` when cleared), else the
    /// current one.
    pub fn optional<T: Column>(&self, key: &str, current: Option<T>) -> Option<T> {
        match self.given(key) {
            Some(value) => value.and_then(T::of),
            None => current,
        }
    }

    /// A column that always has a value: the value given, else the current one (a missing one
    /// was refused already; the default stands in and is never written).
    pub fn required<T: Column + Default>(&self, key: &str, current: Option<T>) -> T {
        self.optional(key, current).unwrap_or_default()
    }

    /// A link to a record after the change.
    pub fn link<I: From<Uuid>>(&self, key: &str, current: Option<I>) -> Option<I> {
        match self.given(key) {
            Some(Some(Value::Relation(ids))) => ids.first().map(|id| I::from(*id)),
            Some(_) => None,
            None => current,
        }
    }
}

/// What is wrong with a link or member value: `None` when it names live records (kept at
/// `target`), or members, of the organization.
pub(crate) async fn missing_reference(
    tx: &mut TenantTx,
    field: &FieldDef,
    value: &Value,
    target: Option<Target>,
) -> AppResult<Option<String>> {
    match value {
        // A deactivated member still counts: records keep naming them, and a form sends back
        // what it shows.
        Value::Member(user) => Ok(memberships::find_any_by_user(tx, *user)
            .await?
            .is_none()
            .then(|| "must be a member of this organization".to_owned())),
        Value::Relation(ids) => {
            let what = field.target.as_ref().map_or("record", |t| t.as_str());
            let Some(target) = target else {
                return Ok(Some("points to an object that no longer exists".into()));
            };
            let found = store_records::existing(tx, target, ids).await?;
            Ok((found.len() != ids.len()).then(|| {
                if field.many {
                    format!("must name {what} records of this organization")
                } else {
                    format!("no such {what} in this organization")
                }
            }))
        }
        _ => Ok(None),
    }
}

/// The owner a change leaves a record with (the actor, for a new record without one), checked
/// when the change names another.
/// The owner after a change. Handing a record to someone else is for roles that change the
/// records that person would own (`kind`'s edit scope): a role that changes only its own keeps
/// what it owns; one that changes its teams' gives to teammates.
async fn owner_after(
    tx: &mut TenantTx,
    tenant: &Tenant,
    actor: &Actor,
    kind: &str,
    errors: &mut ValidationErrors,
    change: Option<UserId>,
    current: Option<UserId>,
) -> AppResult<UserId> {
    let owner = change.or(current).unwrap_or(actor.user_id);
    if change.is_some_and(|o| Some(o) != current) {
        if memberships::find_by_user(tx, owner).await?.is_none() {
            errors.add("owner_id", "must be a member of this organization");
        } else if let Err(why) = may_hand_over(tenant, actor, kind, owner) {
            errors.add("owner_id", why);
        }
    }
    Ok(owner)
}

/// What a role that changes only its own records is told when it names another owner.
pub(crate) const OWN_ONLY: &str =
    "must be you: your role changes only its own records of this kind";

/// What a role that changes its teams' records is told when it names someone outside them.
pub(crate) const TEAM_ONLY: &str =
    "must be you or a teammate: your role changes only its teams' records of this kind";

/// Whether the role may give a record of `kind` to `to`: it changes the records `to` would
/// own (anyone's, or its teammates'). `Err` says why not.
pub(crate) fn may_hand_over(
    tenant: &Tenant,
    actor: &Actor,
    kind: &str,
    to: UserId,
) -> Result<(), &'static str> {
    use rapport_domain::access::{RecordAction, Scope};
    if tenant.may_kind(RecordAction::Edit, kind, tenant.relation(actor, to)) {
        return Ok(());
    }
    match tenant.access.grants.effective(kind, RecordAction::Edit) {
        Scope::Team => Err(TEAM_ONLY),
        _ => Err(OWN_ONLY),
    }
}
