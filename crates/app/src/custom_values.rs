//! Custom fields of the built-in kinds (companies, contacts, leads, deals, tasks): their values
//! live in each record's `custom` document, are given as a `custom` object on create and update,
//! and are checked by the same registry and rules as custom objects' values (errors name
//! `custom.<key>`).

use std::collections::BTreeMap;

use rapport_domain::schema::FieldKey;
use rapport_domain::values::{self, Value};
use rapport_store::TenantTx;
use rapport_store::records as store_records;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::objects::{catalog, value_context};
use crate::records::{rewrite_index, typed_values};
use crate::{App, AppResult, Tenant};

/// A built-in kind whose records carry custom values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Company,
    Contact,
    Lead,
    Deal,
    Task,
}

impl Kind {
    pub fn object_key(self) -> &'static str {
        match self {
            Kind::Company => "company",
            Kind::Contact => "contact",
            Kind::Lead => "lead",
            Kind::Deal => "deal",
            Kind::Task => "task",
        }
    }

    /// The kind whose object key this is.
    pub fn of_key(key: &str) -> Option<Kind> {
        [
            Kind::Company,
            Kind::Contact,
            Kind::Lead,
            Kind::Deal,
            Kind::Task,
        ]
        .into_iter()
        .find(|k| k.object_key() == key)
    }

    /// What the roles' permissions call this kind.
    pub const fn permission_object(self) -> rapport_domain::Object {
        match self {
            Kind::Company => rapport_domain::Object::Company,
            Kind::Contact => rapport_domain::Object::Contact,
            Kind::Lead => rapport_domain::Object::Lead,
            Kind::Deal => rapport_domain::Object::Deal,
            Kind::Task => rapport_domain::Object::Task,
        }
    }

    pub(crate) fn table(self) -> &'static str {
        match self {
            Kind::Company => "companies",
            Kind::Contact => "contacts",
            Kind::Lead => "leads",
            Kind::Deal => "deals",
            Kind::Task => "tasks",
        }
    }
}

/// A built-in record whose custom values change: its kind, id and current values.
pub struct BuiltinRecord<'a> {
    pub kind: Kind,
    pub id: Uuid,
    pub custom: &'a Json,
}

/// What a change did to a record's custom values: the document to keep and the audit pairs
/// (`custom.<key>`, before, after) of the values that changed.
pub struct CustomChange {
    pub document: Map<String, Json>,
    pub diff: Vec<(String, Json, Json)>,
}

impl App {
    /// The errors of the custom values a form gave for a built-in record, checked without
    /// writing: for a form refused before it reached the record's checks (a number that is not
    /// one), so that every wrong field is named at once.
    pub async fn custom_field_errors(
        &self,
        tenant: &Tenant,
        kind: Kind,
        input: Option<&Map<String, Json>>,
        creating: bool,
    ) -> AppResult<Vec<rapport_domain::FieldError>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let errors = self
            .custom_errors(&mut tx, tenant, kind, input, creating)
            .await?;
        tx.commit().await?;
        Ok(errors)
    }

    /// The errors of the custom values given for a built-in record, checked without writing
    /// anything: so a change refused for its own fields names its wrong custom values too.
    pub(crate) async fn custom_errors(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        kind: Kind,
        input: Option<&Map<String, Json>>,
        creating: bool,
    ) -> AppResult<Vec<rapport_domain::FieldError>> {
        let catalog = catalog(tx, tenant.organization.created_at).await?;
        let Some(object) = catalog.get(kind.object_key()).map(|o| o.def.custom_part()) else {
            return Ok(Vec::new());
        };
        let empty = Map::new();
        let checked = values::check_input(
            &object,
            input.unwrap_or(&empty),
            creating,
            "custom",
            value_context(tenant),
        );
        Ok(match checked {
            Err(errors) => errors.0,
            Ok(_) => Vec::new(),
        })
    }

    /// Checks and writes the custom values given for a built-in record in `tx` (`creating`: its
    /// defaults apply and required fields must be given). Values not given stay; `null` clears
    /// one; values of archived fields are kept. Returns what changed, or `None` when nothing did.
    pub(crate) async fn write_custom(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        record: BuiltinRecord<'_>,
        input: Option<&Map<String, Json>>,
        creating: bool,
    ) -> AppResult<Option<CustomChange>> {
        let BuiltinRecord {
            kind,
            id: record,
            custom: current,
        } = record;
        let catalog = catalog(tx, tenant.organization.created_at).await?;
        let Some(object) = catalog.get(kind.object_key()).map(|o| o.def.custom_part()) else {
            return Ok(None);
        };
        if input.is_none() && !(creating && object.live_fields().next().is_some()) {
            return Ok(None);
        }
        let empty = Map::new();
        let changes = values::check_input(
            &object,
            input.unwrap_or(&empty),
            creating,
            "custom",
            value_context(tenant),
        )?;
        if changes.is_empty() {
            return Ok(None);
        }
        self.check_references_as(tx, &catalog, &object, &changes, record, "custom")
            .await?;
        let mut document = current.as_object().cloned().unwrap_or_default();
        let before: BTreeMap<FieldKey, Value> = typed_values(&object, &document);
        let mut diff = Vec::new();
        for (key, value) in &changes {
            let Some(field) = object.field(key.as_str()) else {
                continue;
            };
            let old = before.get(key).map_or(Json::Null, |v| v.to_json(field));
            let new = value.as_ref().map_or(Json::Null, |v| v.to_json(field));
            if old != new {
                diff.push((format!("custom.{key}"), old, new.clone()));
            }
            if new.is_null() {
                document.remove(key.as_str());
            } else {
                document.insert(key.to_string(), new);
            }
        }
        if diff.is_empty() {
            return Ok(None);
        }
        store_records::set_builtin_custom(tx, kind.table(), record, &document).await?;
        rewrite_index(tx, &object, &document, record).await?;
        Ok(Some(CustomChange { document, diff }))
    }

    /// Writes again the value index rows of a built-in record brought back from recently
    /// deleted (deleting it removed them); a unique value another record took meanwhile refuses
    /// the restore.
    pub(crate) async fn index_restored(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        kind: Kind,
        record: Uuid,
    ) -> AppResult<()> {
        let catalog = catalog(tx, tenant.organization.created_at).await?;
        let Some(object) = catalog.get(kind.object_key()).map(|o| o.def.custom_part()) else {
            return Ok(());
        };
        if object.fields.is_empty() {
            return Ok(());
        }
        if let Some(found) = store_records::builtin_values(tx, kind.table(), record).await? {
            rewrite_index(tx, &object, &found.custom.0, record).await?;
        }
        Ok(())
    }
}
