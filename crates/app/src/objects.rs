//! Objects and fields: the definitions every record kind is read, validated and listed by.
//! Every member reads them; owners and admins change them, and every change is audited.

use chrono::{DateTime, Utc};
use rapport_domain::organization::Currency;
use rapport_domain::schema::{
    self, FieldDef, FieldKey, FieldType, ObjectDef, ObjectKey, OptionInput, Rollup, RollupFunction,
};
use rapport_domain::values::{self, Context};
use rapport_domain::{Action, Object, ObjectId, Ownership, RecordId, ValidationErrors, builtin};
use rapport_store::TenantTx;
use rapport_store::objects::{self as store_objects, ObjectFields};
use rapport_store::records::{self as store_records, IndexRow};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use crate::audit::{entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// An object with its fields, as members see it.
#[derive(Clone, Debug)]
pub struct ObjectView {
    pub def: ObjectDef,
    pub created_at: DateTime<Utc>,
}

/// Every object of an organization, built-in and custom, with their fields.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub objects: Vec<ObjectView>,
}

impl Catalog {
    pub fn get(&self, key: &str) -> Option<&ObjectView> {
        self.objects.iter().find(|o| o.def.key.as_str() == key)
    }

    /// The object a key names, or 404.
    pub fn require(&self, key: &str) -> AppResult<&ObjectView> {
        self.get(key).ok_or(AppError::NotFound)
    }
}

/// Reads the organization's catalogue inside a transaction.
pub(crate) async fn catalog(tx: &mut TenantTx, org_created: DateTime<Utc>) -> AppResult<Catalog> {
    let rows = store_objects::list(tx).await?;
    let fields = store_objects::fields(tx).await?;
    let mut defs: Vec<ObjectView> = builtin::objects()
        .into_iter()
        .map(|def| ObjectView {
            def,
            created_at: org_created,
        })
        .collect();
    for row in rows {
        let key = ObjectKey::parse(&row.key)
            .map_err(|_| AppError::Internal(format!("object {} has an invalid key", row.id)))?;
        let primary = FieldKey::parse(&row.primary_field).map_err(|_| {
            AppError::Internal(format!("object {} has an invalid primary field", row.id))
        })?;
        defs.push(ObjectView {
            def: ObjectDef {
                id: row.id,
                key,
                singular: row.singular,
                plural: row.plural,
                icon: row.icon,
                color: row.color,
                primary_field: primary,
                board_field: row.board_field.and_then(|b| FieldKey::parse(&b).ok()),
                builtin: false,
                fields: Vec::new(),
            },
            created_at: row.created_at,
        });
    }
    for row in fields {
        let object_key = row.object_key.clone();
        let def = row.into_def()?;
        if let Some(o) = defs.iter_mut().find(|o| o.def.key.as_str() == object_key) {
            o.def.fields.push(def);
        }
    }
    Ok(Catalog { objects: defs })
}

/// An object as given to create or change it. Absent settings stay as they are.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectInput {
    pub key: Option<String>,
    pub singular: Option<String>,
    pub plural: Option<String>,
    #[serde(default, with = "double_option")]
    pub icon: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    pub color: Option<Option<String>>,
    pub primary_field: Option<String>,
    #[serde(default, with = "double_option")]
    pub board_field: Option<Option<String>>,
}

/// A field as given to create or change it. Absent settings stay as they are (or take their
/// default on creation); `null` clears the nullable ones.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    pub key: Option<String>,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub field_type: Option<String>,
    #[serde(default, with = "double_option")]
    pub help: Option<Option<String>>,
    pub required: Option<bool>,
    pub unique: Option<bool>,
    pub archived: Option<bool>,
    pub options: Option<Vec<OptionInput>>,
    pub target: Option<String>,
    pub many: Option<bool>,
    #[serde(default, with = "double_option")]
    pub min: Option<Option<f64>>,
    #[serde(default, with = "double_option")]
    pub max: Option<Option<f64>>,
    #[serde(default, with = "double_option")]
    pub default: Option<Option<Json>>,
    #[serde(default, with = "double_option")]
    pub rollup: Option<Option<RollupInput>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupInput {
    pub object: String,
    pub via: String,
    pub function: String,
    pub field: Option<String>,
}

/// `Option<Option<T>>` from JSON: absent → `None`, `null` → `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// The context values are parsed in for an organization.
pub(crate) fn value_context(tenant: &Tenant) -> Context {
    Context {
        currency: Currency::parse(&tenant.organization.currency).unwrap_or(Currency::DEFAULT),
    }
}

fn text_setting(
    errors: &mut ValidationErrors,
    name: &str,
    input: Option<&str>,
    max: usize,
) -> Option<String> {
    errors.check(name, schema::label(input.unwrap_or(""), max))
}

/// The API's shape of a field.
pub fn field_json(f: &FieldDef) -> Json {
    let options = matches!(f.field_type, FieldType::Select | FieldType::MultiSelect)
        .then(|| json!(f.options));
    json!({
        "key": f.key.as_str(),
        "label": f.label,
        "type": f.field_type.as_str(),
        "required": f.required,
        "unique": f.unique,
        "archived": f.archived,
        "options": options,
        "target": f.target.as_ref().map(|t| t.as_str()),
        "many": f.many,
        "min": f.min,
        "max": f.max,
        "help": f.help,
        "default": f.default.as_ref().map(|v| v.to_json(f)),
        "rollup": f.rollup.as_ref().map(|r| json!({
            "object": r.object.as_str(), "via": r.via.as_str(),
            "function": r.function.as_str(), "field": r.field.as_ref().map(|k| k.as_str()),
        })),
        "builtin": f.builtin,
    })
}

/// The API's shape of an object.
pub fn object_json(o: &ObjectView) -> Json {
    let d = &o.def;
    json!({
        "key": d.key.as_str(),
        "singular": d.singular,
        "plural": d.plural,
        "builtin": d.builtin,
        "icon": d.icon,
        "color": d.color,
        "primary_field": d.primary_field.as_str(),
        "board_field": d.board_field.as_ref().map(|k| k.as_str()),
        "fields": d.fields.iter().map(field_json).collect::<Vec<_>>(),
        "created_at": o.created_at,
    })
}

impl App {
    async fn authorize_schema(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: Action,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            action,
            Object::Schema,
            Ownership::NotApplicable,
        )
        .await
    }

    /// Every object of the organization with the fields the actor's role may see: what
    /// pages, forms, lists, exports and the schema API show. Fields hidden from the role are
    /// not there (see [`crate::fields`]).
    pub async fn objects(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Catalog> {
        let mut catalog = self.objects_to_define(actor, tenant, meta).await?;
        if tenant.hides_fields() {
            for o in &mut catalog.objects {
                o.def = crate::fields::without_hidden(tenant, o.def.clone());
            }
        }
        Ok(catalog)
    }

    /// Every object of the organization with all its fields, hidden ones included: what the
    /// settings that define objects and fields show.
    pub async fn objects_to_define(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Catalog> {
        self.authorize_schema(actor, tenant, meta, Action::View)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        tx.commit().await?;
        Ok(catalog)
    }

    /// One object with its fields.
    pub async fn object(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        key: &str,
        meta: &RequestMeta,
    ) -> AppResult<ObjectView> {
        let catalog = self.objects(actor, tenant, meta).await?;
        catalog.require(key).cloned()
    }

    /// Defines a custom object. Without a primary field, a required `name` text field is made.
    pub async fn create_object(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: ObjectInput,
        meta: &RequestMeta,
    ) -> AppResult<ObjectView> {
        self.authorize_schema(actor, tenant, meta, Action::Create)
            .await?;
        let mut errors = ValidationErrors::new();
        let key = match input.key.as_deref() {
            Some(k) => errors.check("key", ObjectKey::parse(k)),
            None => {
                errors.add("key", "is required");
                None
            }
        };
        let singular = text_setting(&mut errors, "singular", input.singular.as_deref(), 60);
        let plural = text_setting(&mut errors, "plural", input.plural.as_deref(), 60);
        let icon = match input.icon.flatten() {
            Some(i) if !i.trim().is_empty() => errors.check("icon", schema::icon(&i)),
            _ => None,
        };
        let color = match input.color.flatten() {
            Some(c) if !c.trim().is_empty() => errors.check("color", schema::color(&c)),
            _ => None,
        };
        let primary = match input.primary_field.as_deref() {
            Some(p) => errors.check("primary_field", FieldKey::parse(p)),
            None => Some(FieldKey::parse("name").expect("valid key")),
        };
        if input.board_field.flatten().is_some() {
            errors.add(
                "board_field",
                "add the select field first, then choose it for the board",
            );
        }
        errors.into_result()?;
        let (key, singular, plural, primary) = (
            key.expect("checked"),
            singular.expect("checked"),
            plural.expect("checked"),
            primary.expect("checked"),
        );
        if key.is_builtin() {
            return Err(AppError::conflict(
                "object_key_taken",
                format!("{key} is a built-in object"),
            ));
        }
        // Names "recently deleted" and the record engine give their own entries.
        if ["file", "object", "record"].contains(&key.as_str()) {
            return Err(AppError::conflict(
                "object_key_taken",
                format!("{key} is a name Rapport keeps for itself; choose another key"),
            ));
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = ObjectFields {
            created_by: actor.user_id,
            key: key.as_str(),
            singular: &singular,
            plural: &plural,
            icon: icon.as_deref(),
            color: color.as_deref(),
            primary_field: primary.as_str(),
            board_field: None,
        };
        let row = match store_objects::insert(&mut tx, &fields).await {
            Err(e) if e.is_conflict_on("objects_organization_id_key_key") => {
                return Err(AppError::conflict(
                    "object_key_taken",
                    format!("an object (perhaps recently deleted) already has the key {key}"),
                ));
            }
            other => other?,
        };
        let mut name = FieldDef::new(
            primary.clone(),
            title_case(primary.as_str()),
            FieldType::Text,
        );
        name.required = true;
        store_objects::insert_field(&mut tx, key.as_str(), &name).await?;
        let mut e = with_target(entry(Some(actor), meta, "object.created"), "object", row.id);
        e.changes = Some(json!({"key": key.as_str(), "singular": singular, "plural": plural}));
        crate::events::record(&mut tx, e).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        tx.commit().await?;
        catalog.require(key.as_str()).cloned()
    }

    /// Renames an object, or changes its icon, colour, primary field or board field.
    pub async fn update_object(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        key: &str,
        input: ObjectInput,
        meta: &RequestMeta,
    ) -> AppResult<ObjectView> {
        self.authorize_schema(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let current = catalog.require(key)?.def.clone();
        if current.builtin {
            return Err(AppError::conflict(
                "builtin_object",
                "built-in objects keep their names and fields",
            ));
        }
        let mut errors = ValidationErrors::new();
        if input.key.as_deref().is_some_and(|k| k != key) {
            errors.add("key", "an object's key never changes");
        }
        let singular = match input.singular.as_deref() {
            Some(s) => text_setting(&mut errors, "singular", Some(s), 60),
            None => Some(current.singular.clone()),
        };
        let plural = match input.plural.as_deref() {
            Some(s) => text_setting(&mut errors, "plural", Some(s), 60),
            None => Some(current.plural.clone()),
        };
        let icon = match input.icon {
            Some(Some(i)) if !i.trim().is_empty() => errors.check("icon", schema::icon(&i)),
            Some(_) => None,
            None => current.icon.clone(),
        };
        let color = match input.color {
            Some(Some(c)) if !c.trim().is_empty() => errors.check("color", schema::color(&c)),
            Some(_) => None,
            None => current.color.clone(),
        };
        let primary = match input.primary_field.as_deref() {
            Some(p) => match current.field(p) {
                Some(f) if f.field_type.is_searchable() && !f.archived => Some(f.key.clone()),
                _ => {
                    errors.add("primary_field", "must be a text field of the object");
                    None
                }
            },
            None => Some(current.primary_field.clone()),
        };
        let board = match input.board_field {
            Some(Some(b)) if !b.trim().is_empty() => match current.field(b.trim()) {
                Some(f) if f.field_type == FieldType::Select && !f.archived => Some(f.key.clone()),
                _ => {
                    errors.add("board_field", "must be a select field of the object");
                    None
                }
            },
            Some(_) => None,
            None => current.board_field.clone(),
        };
        errors.into_result()?;
        let fields = ObjectFields {
            created_by: actor.user_id,
            key,
            singular: singular.as_deref().unwrap_or_default(),
            plural: plural.as_deref().unwrap_or_default(),
            icon: icon.as_deref(),
            color: color.as_deref(),
            primary_field: primary.as_ref().map_or("", |p| p.as_str()),
            board_field: board.as_ref().map(|b| b.as_str()),
        };
        store_objects::update(&mut tx, current.id, &fields).await?;
        let changes = crate::audit::changes(&[
            ("singular", json!(current.singular), json!(fields.singular)),
            ("plural", json!(current.plural), json!(fields.plural)),
            ("icon", json!(current.icon), json!(fields.icon)),
            ("color", json!(current.color), json!(fields.color)),
            (
                "primary_field",
                json!(current.primary_field.as_str()),
                json!(fields.primary_field),
            ),
            (
                "board_field",
                json!(current.board_field.as_ref().map(|b| b.as_str())),
                json!(fields.board_field),
            ),
        ]);
        if changes.is_some() {
            let mut e = with_target(
                entry(Some(actor), meta, "object.updated"),
                "object",
                current.id,
            );
            e.changes = changes;
            crate::events::record(&mut tx, e).await?;
        }
        let catalog = self::catalog(&mut tx, tenant.organization.created_at).await?;
        tx.commit().await?;
        catalog.require(key).cloned()
    }

    /// Moves a custom object, with its records, to recently deleted.
    pub async fn delete_object(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        key: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_schema(actor, tenant, meta, Action::Delete)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let object = catalog.require(key)?.def.clone();
        if object.builtin {
            return Err(AppError::conflict(
                "builtin_object",
                "built-in objects cannot be deleted",
            ));
        }
        store_objects::set_deleted(&mut tx, object.id, Some(rapport_store::now())).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "object.deleted"),
            "object",
            object.id,
        );
        e.changes = Some(json!({"key": key}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Brings a deleted custom object back, with its fields and records.
    pub async fn restore_object(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ObjectId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_schema(actor, tenant, meta, Action::Delete)
            .await?;
        let since = Utc::now() - chrono::Duration::days(crate::trash::KEEP_DAYS);
        let mut tx = self.db.tenant(tenant.id()).await?;
        let row = store_objects::find(&mut tx, id)
            .await?
            .filter(|o| o.deleted_at.is_some_and(|d| d >= since))
            .ok_or(AppError::NotFound)?;
        store_objects::set_deleted(&mut tx, id, None).await?;
        let mut e = with_target(entry(Some(actor), meta, "object.restored"), "object", id);
        e.changes = Some(json!({"key": row.key}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a field to an object (custom or built-in).
    pub async fn create_field(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        input: FieldInput,
        meta: &RequestMeta,
    ) -> AppResult<FieldDef> {
        self.authorize_schema(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let object = catalog.require(object_key)?.def.clone();
        let mut errors = ValidationErrors::new();
        let label = text_setting(&mut errors, "label", input.label.as_deref(), 80);
        let key = match (input.key.as_deref(), &label) {
            (Some(k), _) => errors.check("key", FieldKey::parse(k)),
            (None, Some(l)) => errors.check("key", FieldKey::parse(&schema::key_from_label(l))),
            (None, None) => None,
        };
        let field_type = match input.field_type.as_deref() {
            Some(t) => errors.check("type", FieldType::parse(t)),
            None => {
                errors.add("type", "is required");
                None
            }
        };
        errors.into_result()?;
        let (key, label, field_type) = (
            key.expect("checked"),
            label.expect("checked"),
            field_type.expect("checked"),
        );
        if object.fields.len() >= schema::MAX_FIELDS {
            return Err(AppError::conflict(
                "too_many_fields",
                format!("an object has at most {} fields", schema::MAX_FIELDS),
            ));
        }
        if object.field(key.as_str()).is_some() {
            return Err(AppError::conflict(
                "field_key_taken",
                format!("{} already has a field {key}", object.plural),
            ));
        }
        let mut def = FieldDef::new(key, label, field_type);
        apply_settings(&mut def, &input, &catalog, &object, tenant)?;
        if let Err(e) = store_objects::insert_field(&mut tx, object_key, &def).await {
            return Err(
                if e.is_conflict_on("fields_organization_id_object_key_key_key") {
                    AppError::conflict(
                        "field_key_taken",
                        format!("{} already has a field {}", object.plural, def.key),
                    )
                } else {
                    e.into()
                },
            );
        }
        let mut e = with_target(
            entry(Some(actor), meta, "field.created"),
            "object",
            object.id,
        );
        e.changes = Some(json!({"object": object_key, "field": field_json(&def)}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(def)
    }

    /// Changes a field's settings or type. A type change converts every stored value or, when
    /// some would not convert, changes nothing and says how many (409 `field_type_conversion`).
    pub async fn update_field(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        field_key: &str,
        input: FieldInput,
        meta: &RequestMeta,
    ) -> AppResult<FieldDef> {
        self.authorize_schema(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let object = catalog.require(object_key)?.def.clone();
        let current = object.field(field_key).ok_or(AppError::NotFound)?.clone();
        if input.key.as_deref().is_some_and(|k| k != field_key) {
            return Err(AppError::invalid("key", "a field's key never changes"));
        }
        if current.builtin {
            return Err(AppError::conflict(
                "builtin_field",
                "built-in fields cannot be changed here",
            ));
        }
        let mut def = current.clone();
        if let Some(label) = input.label.as_deref() {
            def.label = schema::label(label, 80).map_err(|m| AppError::invalid("label", m))?;
        }
        if let Some(t) = input.field_type.as_deref() {
            def.field_type = FieldType::parse(t).map_err(|m| AppError::invalid("type", m))?;
        }
        apply_settings(&mut def, &input, &catalog, &object, tenant)?;
        if def.archived && object.primary_field == def.key {
            return Err(AppError::conflict(
                "primary_field",
                "the primary field cannot be archived; choose another first",
            ));
        }
        if def.field_type != current.field_type
            || def.many != current.many
            || def.target != current.target
        {
            self.convert_values(&mut tx, tenant, &object, &current, &def)
                .await?;
        } else if def.unique != current.unique || def.options != current.options {
            if def.unique && !current.unique {
                let shared = store_records::duplicate_values(&mut tx, def.id).await?;
                if shared > 0 {
                    return Err(AppError::conflict(
                        "field_not_unique",
                        format!(
                            "{shared} values of {} are shared by several records",
                            def.label
                        ),
                    ));
                }
            }
            reindex_field(&mut tx, &object, &def).await?;
        }
        store_objects::update_field(&mut tx, &def).await?;
        let before = field_json(&current);
        let after = field_json(&def);
        let pairs: Vec<(&str, Json, Json)> = after
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), before[k].clone(), v.clone()))
            .collect();
        let changes = crate::audit::changes(&pairs);
        if let Some(mut changes) = changes {
            if let Some(map) = changes.as_object_mut() {
                map.insert("object".into(), json!(object_key));
                map.insert("field".into(), json!(field_key));
            }
            let action = match (current.archived, def.archived) {
                (false, true) => "field.archived",
                (true, false) => "field.restored",
                _ => "field.updated",
            };
            let mut e = with_target(entry(Some(actor), meta, action), "object", object.id);
            e.changes = Some(changes);
            crate::events::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(def)
    }

    /// Moves a field one place up or down among its object's fields (the order of forms,
    /// columns and exports).
    pub async fn move_field(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        field_key: &str,
        up: bool,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_schema(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let object = catalog.require(object_key)?.def.clone();
        // A built-in object's system fields keep their place; its own fields move among
        // themselves.
        let mut order: Vec<&FieldDef> = object.fields.iter().filter(|f| !f.builtin).collect();
        let at = order
            .iter()
            .position(|f| f.key.as_str() == field_key)
            .ok_or(AppError::NotFound)?;
        let to = if up {
            at.checked_sub(1)
        } else {
            (at + 1 < order.len()).then_some(at + 1)
        };
        let Some(to) = to else {
            tx.commit().await?;
            return Ok(());
        };
        order.swap(at, to);
        let ids: Vec<rapport_domain::FieldId> = order.iter().map(|f| f.id).collect();
        store_objects::reorder_fields(&mut tx, object_key, &ids).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "field.reordered"),
            "object",
            object.id,
        );
        e.changes = Some(json!({
            "object": object_key,
            "order": order.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(),
        }));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Archives a field: hidden everywhere, its values kept (restored by un-archiving it).
    pub async fn archive_field(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        field_key: &str,
        meta: &RequestMeta,
    ) -> AppResult<FieldDef> {
        let input = FieldInput {
            archived: Some(true),
            ..FieldInput::default()
        };
        self.update_field(actor, tenant, object_key, field_key, input, meta)
            .await
    }

    /// Converts every stored value of a field to its new type, or refuses with the count of
    /// values that would not convert.
    async fn convert_values(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        object: &ObjectDef,
        from: &FieldDef,
        to: &FieldDef,
    ) -> AppResult<()> {
        let ctx = value_context(tenant);
        let object_after = with_field(object, to);
        let mut failed = 0_i64;
        let mut converted = Vec::new();
        let mut after = None;
        loop {
            let batch = documents(tx, object, after).await?;
            let Some((last, _)) = batch.last() else { break };
            after = Some(*last);
            for (record, mut data) in batch {
                let Some(stored) = data.get(from.key.as_str()).cloned() else {
                    continue;
                };
                let Some(value) = values::decode(from, &stored) else {
                    continue;
                };
                match values::convert(&value, from, to, ctx) {
                    Some(new) => {
                        data.insert(to.key.to_string(), new.to_json(to));
                        converted.push((record, data));
                    }
                    None => failed += 1,
                }
            }
        }
        if failed > 0 {
            return Err(AppError::NotConvertible {
                message: format!(
                    "{failed} values of {} would not convert to {}",
                    from.label,
                    to.field_type.label().to_lowercase()
                ),
                count: failed,
            });
        }
        store_records::clear_field_index(tx, to.id).await?;
        for (record, data) in converted {
            let typed = crate::records::typed_values(&object_after, &data);
            match builtin_table(object) {
                Some(table) => store_records::set_builtin_custom(tx, table, record, &data).await?,
                None => {
                    let title = crate::records::title_of(&object_after, &typed);
                    let search = values::search_text(&object_after, &typed);
                    store_records::set_data(tx, RecordId(record), &data, &title, &search).await?;
                }
            }
            let rows = crate::records::index_rows(&object_after, &typed, Some(to.id));
            store_records::replace_index(tx, record, &[], &rows).await?;
        }
        Ok(())
    }
}

/// The object with `def` in place of its field of the same id.
fn with_field(object: &ObjectDef, def: &FieldDef) -> ObjectDef {
    let mut after = object.clone();
    if let Some(slot) = after.fields.iter_mut().find(|f| f.id == def.id) {
        *slot = def.clone();
    }
    after
}

/// The table of a built-in object, whose records keep their custom values in its `custom`
/// column; `None` for a custom object (its records are rows of `records`).
fn builtin_table(object: &ObjectDef) -> Option<&'static str> {
    object
        .builtin
        .then(|| crate::custom_values::Kind::of_key(object.key.as_str()))
        .flatten()
        .map(crate::custom_values::Kind::table)
}

/// A page of the values documents of an object's live records (by id, after `after`): custom
/// records' values, or the custom values of a built-in kind's records.
async fn documents(
    tx: &mut TenantTx,
    object: &ObjectDef,
    after: Option<Uuid>,
) -> AppResult<Vec<(Uuid, Map<String, Json>)>> {
    Ok(match builtin_table(object) {
        Some(table) => store_records::builtin_batch(tx, table, after, 500)
            .await?
            .into_iter()
            .map(|r| (r.id, r.custom.0))
            .collect(),
        None => store_records::batch(tx, object.id, after.map(RecordId), 500)
            .await?
            .into_iter()
            .map(|r| (r.id.as_uuid(), r.data.0))
            .collect(),
    })
}

/// Rewrites a field's index rows from the stored values (uniqueness or options changed).
async fn reindex_field(tx: &mut TenantTx, object: &ObjectDef, def: &FieldDef) -> AppResult<()> {
    let object_after = with_field(object, def);
    store_records::clear_field_index(tx, def.id).await?;
    let mut after = None;
    loop {
        let batch = documents(tx, object, after).await?;
        let Some((last, _)) = batch.last() else { break };
        after = Some(*last);
        for (record, data) in batch {
            let typed = crate::records::typed_values(&object_after, &data);
            let rows: Vec<IndexRow> =
                crate::records::index_rows(&object_after, &typed, Some(def.id));
            store_records::replace_index(tx, record, &[], &rows).await?;
        }
    }
    Ok(())
}

fn title_case(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Applies a field input's settings to `def` and checks them: the rules between settings
/// (domain), then those that need the catalogue (a relation's target, a rollup's source).
fn apply_settings(
    def: &mut FieldDef,
    input: &FieldInput,
    catalog: &Catalog,
    object: &ObjectDef,
    tenant: &Tenant,
) -> AppResult<()> {
    let mut errors = ValidationErrors::new();
    if let Some(help) = &input.help {
        def.help = match help.as_deref().map(str::trim) {
            Some(h) if !h.is_empty() => errors.check("help", schema::label(h, 500)),
            _ => None,
        };
    }
    if let Some(v) = input.required {
        def.required = v;
    }
    if let Some(v) = input.unique {
        def.unique = v;
    }
    if let Some(v) = input.archived {
        def.archived = v;
    }
    if let Some(v) = input.many {
        def.many = v;
    }
    if let Some(v) = input.min {
        def.min = v;
    }
    if let Some(v) = input.max {
        def.max = v;
    }
    let is_select = matches!(def.field_type, FieldType::Select | FieldType::MultiSelect);
    if let Some(options) = &input.options {
        def.options = schema::parse_options(&mut errors, options);
    } else if !is_select {
        def.options.clear();
    }
    if let Some(target) = &input.target {
        match ObjectKey::parse(target) {
            Ok(t) if catalog.get(t.as_str()).is_some() => def.target = Some(t),
            _ => errors.add(
                "target",
                "must be the key of an object of this organization",
            ),
        }
    } else if def.field_type != FieldType::Relation {
        def.target = None;
    }
    if let Some(rollup) = &input.rollup {
        def.rollup = match rollup {
            None => None,
            Some(r) => check_rollup(&mut errors, r, catalog, object),
        };
    } else if def.field_type != FieldType::Rollup {
        def.rollup = None;
    }
    if def.field_type != FieldType::Relation {
        def.many = false;
    }
    errors.into_result()?;
    def.check_settings()?;
    if let Some(default) = &input.default {
        def.default = match default {
            None => None,
            Some(raw) => values::parse(def, raw, value_context(tenant))
                .map_err(|m| AppError::invalid("default", m))?,
        };
    }
    if matches!(def.field_type, FieldType::Relation | FieldType::Member) && def.default.is_some() {
        return Err(AppError::invalid(
            "default",
            "relations and members take no default",
        ));
    }
    if def.unique && def.default.is_some() {
        return Err(AppError::invalid(
            "default",
            "a unique field takes no default",
        ));
    }
    Ok(())
}

fn check_rollup(
    errors: &mut ValidationErrors,
    r: &RollupInput,
    catalog: &Catalog,
    object: &ObjectDef,
) -> Option<Rollup> {
    let function = match r.function.as_str() {
        "count" => RollupFunction::Count,
        "sum" => RollupFunction::Sum,
        "min" => RollupFunction::Min,
        "max" => RollupFunction::Max,
        _ => {
            errors.add("rollup.function", "must be one of count, sum, min, max");
            return None;
        }
    };
    let Some(source) = catalog.get(&r.object).filter(|o| !o.def.builtin) else {
        errors.add(
            "rollup.object",
            "must be the key of a custom object of this organization",
        );
        return None;
    };
    let via = source.def.field(&r.via).filter(|f| {
        f.field_type == FieldType::Relation && f.target.as_ref().is_some_and(|t| *t == object.key)
    });
    let Some(via) = via else {
        errors.add(
            "rollup.via",
            format!(
                "must be a relation of {} to {}",
                source.def.plural, object.plural
            ),
        );
        return None;
    };
    let field = match (&r.field, function) {
        (None, _) => None,
        (Some(k), _) => match source.def.field(k).filter(|f| f.field_type.is_numeric()) {
            Some(f) => Some(f.key.clone()),
            None => {
                errors.add(
                    "rollup.field",
                    format!(
                        "must be a number, money or percent field of {}",
                        source.def.plural
                    ),
                );
                return None;
            }
        },
    };
    Some(Rollup {
        object: source.def.key.clone(),
        via: via.key.clone(),
        function,
        field,
    })
}
