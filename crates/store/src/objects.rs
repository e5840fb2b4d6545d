//! Definitions of the record engine: the organization's custom objects and the fields it added
//! (to its objects and to the built-in ones). Rows are read into `rapport_domain::schema` types.

use chrono::{DateTime, Utc};
use rapport_domain::schema::{FieldDef, FieldKey, FieldType, ObjectKey, Rollup, SelectOption};
use rapport_domain::{FieldId, ObjectId, UserId, values};
use serde_json::Value as Json;
use sqlx::types::Json as JsonColumn;

use crate::{Error, Result, TenantTx, query};

/// A custom object as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ObjectRow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: ObjectId,
    pub key: String,
    pub singular: String,
    pub plural: String,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub primary_field: String,
    pub board_field: Option<String>,
    pub position: i64,
    #[sqlx(try_from = "uuid::Uuid")]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const OBJECT_COLUMNS: &str = "id, key, singular, plural, icon, color, primary_field, board_field, \
                              position, created_by, created_at, updated_at, deleted_at";

/// A field as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FieldRow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: FieldId,
    pub object_key: String,
    pub key: String,
    pub label: String,
    #[sqlx(rename = "type")]
    pub field_type: String,
    pub help: Option<String>,
    pub required: bool,
    pub is_unique: bool,
    pub archived: bool,
    pub options: JsonColumn<Vec<SelectOption>>,
    pub target: Option<String>,
    pub many: bool,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub default_value: Option<JsonColumn<Json>>,
    pub rollup: Option<JsonColumn<Rollup>>,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const FIELD_COLUMNS: &str = "id, object_key, key, label, type, help, required, is_unique, archived, \
                             options, target, many, min_value, max_value, default_value, rollup, \
                             position, created_at, updated_at";

impl FieldRow {
    /// The field as the domain knows it. A row the application did not write is an error.
    pub fn into_def(self) -> Result<FieldDef> {
        let corrupt = |what: &str| Error::Corrupt(format!("field {}: {what}", self.id));
        let key = FieldKey::parse(&self.key).map_err(|_| corrupt("key"))?;
        let field_type = FieldType::parse(&self.field_type).map_err(|_| corrupt("type"))?;
        let target = match &self.target {
            Some(t) => Some(ObjectKey::parse(t).map_err(|_| corrupt("target"))?),
            None => None,
        };
        let mut def = FieldDef::new(key, self.label.clone(), field_type);
        def.id = self.id;
        def.help = self.help.clone();
        def.required = self.required;
        def.unique = self.is_unique;
        def.archived = self.archived;
        def.options = self.options.0.clone();
        def.target = target;
        def.many = self.many;
        def.min = self.min_value;
        def.max = self.max_value;
        def.rollup = self.rollup.as_ref().map(|r| r.0.clone());
        def.position = self.position;
        def.default = self
            .default_value
            .as_ref()
            .and_then(|d| values::decode(&def, &d.0));
        Ok(def)
    }
}

/// Objects and fields are read from a kept copy (see [`list`]): a change to them is told to
/// every server before its commit returns, as a change to the organization's own row is.
fn definitions_changed(tx: &mut TenantTx) {
    let org = tx.organization_id();
    tx.raw().changed(crate::Changed::Organization(org));
}

/// The organization's live custom objects, in navigation order. Read by nearly every request,
/// they are kept like a figure until the organization next writes.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<ObjectRow>> {
    let org = tx.organization_id();
    crate::statistics::fetch_figure(
        tx,
        query(format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE organization_id = $1 \
             AND deleted_at IS NULL ORDER BY position, lower(plural), id"
        ))
        .bind(org),
    )
    .await
}

/// A custom object by key, deleted or not.
pub async fn find_by_key(tx: &mut TenantTx, key: &str) -> Result<Option<ObjectRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE organization_id = $1 AND key = $2"
            ))
            .bind(org)
            .bind(key),
        )
        .await
}

/// A custom object by id, deleted or not.
pub async fn find(tx: &mut TenantTx, id: ObjectId) -> Result<Option<ObjectRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// What an object is called and how it looks.
pub struct ObjectFields<'a> {
    pub created_by: UserId,
    pub key: &'a str,
    pub singular: &'a str,
    pub plural: &'a str,
    pub icon: Option<&'a str>,
    pub color: Option<&'a str>,
    pub primary_field: &'a str,
    pub board_field: Option<&'a str>,
}

/// Adds an object at the end of the navigation. A taken key is
/// `Conflict { constraint: "objects_organization_id_key_key" }`.
pub async fn insert(tx: &mut TenantTx, f: &ObjectFields<'_>) -> Result<ObjectRow> {
    definitions_changed(tx);
    let org = tx.organization_id();
    let id = ObjectId::new();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO objects (organization_id, id, key, singular, plural, icon, color, \
                 primary_field, board_field, position, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 (SELECT COALESCE(MAX(position), 0) + 1 FROM objects WHERE organization_id = $1), $11, $10, $10)",
            )
            .bind(org)
            .bind(id)
            .bind(f.key)
            .bind(f.singular)
            .bind(f.plural)
            .bind(f.icon)
            .bind(f.color)
            .bind(f.primary_field)
            .bind(f.board_field)
            .bind(now)
            .bind(f.created_by),
        )
        .await?;
    find(tx, id).await?.ok_or(Error::NotFound)
}

/// Renames an object or changes its look, primary field or board field (its key never changes).
pub async fn update(tx: &mut TenantTx, id: ObjectId, f: &ObjectFields<'_>) -> Result<()> {
    definitions_changed(tx);
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE objects SET singular = $3, plural = $4, icon = $5, color = $6, \
                 primary_field = $7, board_field = $8, updated_at = $9 \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(f.singular)
            .bind(f.plural)
            .bind(f.icon)
            .bind(f.color)
            .bind(f.primary_field)
            .bind(f.board_field)
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

/// Moves an object to (or, with `None`, back from) recently deleted.
pub async fn set_deleted(
    tx: &mut TenantTx,
    id: ObjectId,
    deleted_at: Option<DateTime<Utc>>,
) -> Result<bool> {
    definitions_changed(tx);
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("UPDATE objects SET deleted_at = $3 WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(deleted_at),
        )
        .await?
        == 1)
}

/// Every field the organization added, to every object, in display order (kept like
/// [`list`]).
pub async fn fields(tx: &mut TenantTx) -> Result<Vec<FieldRow>> {
    let org = tx.organization_id();
    crate::statistics::fetch_figure(
        tx,
        query(format!(
            "SELECT {FIELD_COLUMNS} FROM fields WHERE organization_id = $1 \
             ORDER BY object_key, position, id"
        ))
        .bind(org),
    )
    .await
}

/// The fields of one object, in display order.
pub async fn fields_of(tx: &mut TenantTx, object_key: &str) -> Result<Vec<FieldRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {FIELD_COLUMNS} FROM fields WHERE organization_id = $1 AND object_key = $2 \
                 ORDER BY position, id"
            ))
            .bind(org)
            .bind(object_key),
        )
        .await
}

fn default_json(def: &FieldDef) -> Option<Json> {
    def.default.as_ref().map(|v| v.to_json(def))
}

/// Adds a field at the end of an object's fields. A taken key is
/// `Conflict { constraint: "fields_organization_id_object_key_key_key" }`.
pub async fn insert_field(tx: &mut TenantTx, object_key: &str, def: &FieldDef) -> Result<()> {
    definitions_changed(tx);
    let org = tx.organization_id();
    let now = crate::now();
    tx.raw()
        .execute(
            query(
                "INSERT INTO fields (organization_id, id, object_key, key, label, type, help, \
                 required, is_unique, archived, options, target, many, min_value, max_value, \
                 default_value, rollup, position, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 (SELECT COALESCE(MAX(position), 0) + 1 FROM fields WHERE organization_id = $1 AND object_key = $3), \
                 $18, $18)",
            )
            .bind(org)
            .bind(def.id)
            .bind(object_key)
            .bind(def.key.as_str())
            .bind(def.label.as_str())
            .bind(def.field_type.as_str())
            .bind(def.help.as_deref())
            .bind(def.required)
            .bind(def.unique)
            .bind(def.archived)
            .bind(serde_json::json!(def.options))
            .bind(def.target.as_ref().map(|t| t.as_str()))
            .bind(def.many)
            .bind(def.min)
            .bind(def.max)
            .bind(default_json(def))
            .bind(def.rollup.as_ref().map(|r| serde_json::json!(r)))
            .bind(now),
        )
        .await?;
    Ok(())
}

/// Writes a field's settings (everything but its key, object and position).
pub async fn update_field(tx: &mut TenantTx, def: &FieldDef) -> Result<()> {
    definitions_changed(tx);
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE fields SET label = $3, type = $4, help = $5, required = $6, is_unique = $7, \
                 archived = $8, options = $9, target = $10, many = $11, min_value = $12, \
                 max_value = $13, default_value = $14, rollup = $15, updated_at = $16 \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(def.id)
            .bind(def.label.as_str())
            .bind(def.field_type.as_str())
            .bind(def.help.as_deref())
            .bind(def.required)
            .bind(def.unique)
            .bind(def.archived)
            .bind(serde_json::json!(def.options))
            .bind(def.target.as_ref().map(|t| t.as_str()))
            .bind(def.many)
            .bind(def.min)
            .bind(def.max)
            .bind(default_json(def))
            .bind(def.rollup.as_ref().map(|r| serde_json::json!(r)))
            .bind(crate::now()),
        )
        .await?;
    Ok(())
}

/// Puts an object's fields in the given order (ids not named keep their place after them).
pub async fn reorder_fields(tx: &mut TenantTx, object_key: &str, order: &[FieldId]) -> Result<()> {
    definitions_changed(tx);
    let org = tx.organization_id();
    for (i, id) in order.iter().enumerate() {
        tx.raw()
            .execute(
                query(
                    "UPDATE fields SET position = $4 WHERE organization_id = $1 AND object_key = $2 AND id = $3",
                )
                .bind(org)
                .bind(object_key)
                .bind(*id)
                .bind(i as i64 + 1),
            )
            .await?;
    }
    Ok(())
}
