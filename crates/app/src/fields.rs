//! Field rules: what a role sees and changes of each field of the records it reaches. The rules
//! live in the role's matrix ([`rapport_domain::access::Grants::fields`]); this module is the one
//! place that applies them. Every path that hands out a record's values (answers, pages, lists,
//! cards, exports, relations, timelines, the audit log, webhooks) removes the hidden ones with
//! [`hide_values`], and every write passes [`check_writes`].
//!
//! Only the fields an organization adds can be hidden: the built-in fields name records,
//! find duplicates and make up the sales figures. Any field, built-in or added, can be
//! read-only, always or at chosen stages (a deal's pipeline stages, or the options of a custom
//! object's board field), judged at the stage the record is in before the change.

use rapport_domain::ValidationErrors;
use rapport_domain::access::{FieldAccess, Grants};
use rapport_domain::schema::ObjectDef;
use serde_json::{Map, Value as Json};

use crate::{AppError, AppResult, Tenant};

impl Tenant {
    /// How the role may treat `field` of a `kind` record at `stage`.
    pub fn field_access(&self, kind: &str, field: &str, stage: Option<&str>) -> FieldAccess {
        self.access.grants.field_access(kind, field, stage)
    }

    /// Whether the role hides a field of any kind (then rollups over it are hidden too).
    pub fn hides_fields(&self) -> bool {
        hides_any(&self.access.grants)
    }

    /// The fields of `object` the role never sees: those its rules hide, and rollups computed
    /// over a hidden field (or through a hidden link) of their source.
    pub fn hidden_fields(&self, object: &ObjectDef) -> Vec<String> {
        hidden_in(&self.access.grants, object)
    }
}

/// Whether a matrix hides a field of any kind.
pub(crate) fn hides_any(grants: &Grants) -> bool {
    grants
        .fields
        .values()
        .any(|rules| rules.values().any(|r| r.access == FieldAccess::Hidden))
}

/// The fields of a built-in kind a matrix hides, when that needs no look at the organization's
/// objects: the matrix hides fields of built-in kinds only, so no rollup (whose source is
/// always a custom object) is hidden with them, and a built-in kind's primary field is its own.
fn hidden_without_objects(grants: &Grants, kind: &str) -> Option<Vec<String>> {
    let builtin = |k: &str| rapport_domain::schema::BUILTIN_OBJECT_KEYS.contains(&k);
    let custom_hidden = grants
        .fields
        .iter()
        .any(|(k, rules)| !builtin(k) && rules.values().any(|r| r.access == FieldAccess::Hidden));
    (builtin(kind) && !custom_hidden)
        .then(|| grants.hidden_fields(kind).map(str::to_owned).collect())
}

/// The fields of `object` a matrix hides, rollups over hidden fields included.
pub(crate) fn hidden_in(grants: &Grants, object: &ObjectDef) -> Vec<String> {
    if !hides_any(grants) {
        return Vec::new();
    }
    let kind = object.key.as_str();
    let hides =
        |kind: &str, field: &str| grants.field_access(kind, field, None) == FieldAccess::Hidden;
    object
        .fields
        .iter()
        .filter(|f| {
            // The primary field names the records (their titles): it is never hidden, even when
            // it became primary after a rule hid it.
            !f.builtin
                && object.primary_field != f.key
                && (hides(kind, f.key.as_str())
                    || f.rollup.as_ref().is_some_and(|r| {
                        hides(r.object.as_str(), r.via.as_str())
                            || r.field
                                .as_ref()
                                .is_some_and(|x| hides(r.object.as_str(), x.as_str()))
                    }))
        })
        .map(|f| f.key.to_string())
        .collect()
}

/// Removes the hidden fields' values from a record's values.
pub fn hide_values(values: &mut Map<String, Json>, hidden: &[String]) {
    for key in hidden {
        values.remove(key);
    }
}

/// [`hide_values`] on a JSON object (anything else is left as it is).
pub fn hide_json(values: &mut Json, hidden: &[String]) {
    if let Json::Object(map) = values {
        hide_values(map, hidden);
    }
}

/// Refuses a change that gives a value to a field hidden from the role, or changes a field
/// that is read-only for it at the record's `stage` (before the change): 403 naming each field
/// as the change names it (`amount`, `custom.commission`, `values.price`). A hidden field is
/// refused whatever the value, so that a write cannot test what it holds.
pub(crate) fn check_writes<'a>(
    tenant: &Tenant,
    kind: &str,
    stage: Option<&str>,
    given: impl IntoIterator<Item = &'a str>,
    changed: impl IntoIterator<Item = &'a str>,
) -> AppResult<()> {
    let grants = &tenant.access.grants;
    if !grants.has_field_rules(kind) {
        return Ok(());
    }
    let key_of = |name: &'a str| {
        name.strip_prefix("custom.")
            .or_else(|| name.strip_prefix("values."))
            .unwrap_or(name)
    };
    let mut errors = ValidationErrors::new();
    for name in given {
        if grants.field_access(kind, key_of(name), None) == FieldAccess::Hidden {
            errors.add(name, "is hidden from your role");
        }
    }
    for name in changed {
        if errors.0.iter().any(|e| e.field == name) {
            continue;
        }
        let key = key_of(name);
        match grants.field_access(kind, key, stage) {
            FieldAccess::ReadOnly
                if grants.field_access(kind, key, None) == FieldAccess::ReadOnly =>
            {
                errors.add(name, "is read-only for your role")
            }
            FieldAccess::ReadOnly => errors.add(name, "is read-only for your role at this stage"),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::FieldForbidden(errors))
    }
}

/// The fields of the object `kind` hidden from the role: none, without reading the
/// organization's objects, for a role that hides nothing.
pub(crate) async fn hidden_of(
    tx: &mut rapport_store::TenantTx,
    tenant: &Tenant,
    kind: &str,
) -> AppResult<Vec<String>> {
    if !tenant.hides_fields() {
        return Ok(Vec::new());
    }
    if let Some(hidden) = hidden_without_objects(&tenant.access.grants, kind) {
        return Ok(hidden);
    }
    let catalog = crate::objects::catalog(tx, tenant.organization.created_at).await?;
    Ok(catalog
        .get(kind)
        .map(|o| tenant.hidden_fields(&o.def))
        .unwrap_or_default())
}

/// The object as the role may filter and sort it: without its hidden fields, so that naming one
/// is answered as naming a field that does not exist.
pub(crate) fn without_hidden(tenant: &Tenant, mut object: ObjectDef) -> ObjectDef {
    let hidden = tenant.hidden_fields(&object);
    if !hidden.is_empty() {
        object
            .fields
            .retain(|f| !hidden.contains(&f.key.to_string()));
    }
    object
}

/// The keys a change gives a value to (a text left empty gives none).
pub(crate) fn valued<'a>(values: impl IntoIterator<Item = (&'a String, &'a Json)>) -> Vec<&'a str> {
    values
        .into_iter()
        .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
        .map(|(k, _)| k.as_str())
        .collect()
}

/// Removes the hidden fields from what an audit entry or an event says of a change: their
/// `{before, after}` (keyed `commission` or `custom.commission`) and their value among a new
/// record's `values`.
pub fn hide_changes(changes: &mut Json, hidden: &[String]) {
    let Json::Object(map) = changes else { return };
    for key in hidden {
        map.remove(key);
        map.remove(&format!("custom.{key}"));
    }
    if let Some(values) = map.get_mut("values") {
        hide_json(values, hidden);
    }
}

/// Whether a changed field's name (`commission`, `custom.commission`) is hidden.
pub fn is_hidden_name(name: &str, hidden: &[String]) -> bool {
    let key = name.strip_prefix("custom.").unwrap_or(name);
    hidden.iter().any(|h| h == key)
}

/// The fields hidden from a role, by object key, read once for the entries of a page.
pub(crate) struct HiddenByKind<'a> {
    grants: &'a Grants,
    catalog: Option<crate::objects::Catalog>,
}

impl<'a> HiddenByKind<'a> {
    /// Reads the organization's objects only when the role hides something.
    pub(crate) async fn load(
        tx: &mut rapport_store::TenantTx,
        grants: &'a Grants,
        org_created: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<HiddenByKind<'a>> {
        let catalog = if hides_any(grants) {
            Some(crate::objects::catalog(tx, org_created).await?)
        } else {
            None
        };
        Ok(HiddenByKind { grants, catalog })
    }

    /// The fields of the object `kind` hidden from the role (none for what is no object).
    pub(crate) fn of(&self, kind: &str) -> Vec<String> {
        self.catalog
            .as_ref()
            .and_then(|c| c.get(kind))
            .map(|o| hidden_in(self.grants, &o.def))
            .unwrap_or_default()
    }

    /// The organization's objects, when they were read.
    pub(crate) fn catalog(&self) -> Option<&crate::objects::Catalog> {
        self.catalog.as_ref()
    }

    /// Whether nothing is hidden at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.catalog.is_none()
    }
}

/// Checks the field rules a role change sends (`sent`: the `fields` part of its `grants`): each
/// kind is an object of the organization, each field one of its fields, a hidden field one the
/// organization added (not its primary field), and each stage one of the kind's (a deal's
/// pipeline stages, a custom object's board options). Errors are named
/// `field_rules.{kind}.{field}`.
pub(crate) async fn check_rules(
    tx: &mut rapport_store::TenantTx,
    tenant: &Tenant,
    grants: &Grants,
    sent: Option<&Json>,
) -> AppResult<()> {
    let Some(Json::Object(sent)) = sent.and_then(|g| g.get("fields")) else {
        return Ok(());
    };
    let catalog = crate::objects::catalog(tx, tenant.organization.created_at).await?;
    let pipelines = rapport_store::pipelines::list(tx).await?;
    let mut errors = ValidationErrors::new();
    for (kind, rules) in sent {
        let Some(object) = catalog.get(kind).map(|o| &o.def) else {
            errors.add(
                &format!("field_rules.{kind}"),
                "is not an object of this organization",
            );
            continue;
        };
        let Some(rules) = rules.as_object() else {
            continue;
        };
        for key in rules.keys() {
            let name = format!("field_rules.{kind}.{key}");
            let Some(field) = object.field(key) else {
                errors.add(
                    &name,
                    format!("is not a field of {}", object.plural.to_lowercase()),
                );
                continue;
            };
            let Some(rule) = grants.fields.get(kind).and_then(|r| r.get(key)) else {
                continue;
            };
            if rule.access == FieldAccess::Hidden {
                if field.builtin {
                    errors.add(
                        &name,
                        "is a built-in field, which can be read-only but not hidden",
                    );
                } else if object.primary_field == field.key {
                    errors.add(&name, "names the records and cannot be hidden");
                } else if field.required && field.default.is_none() {
                    errors.add(
                        &name,
                        "is required and has no default: members who cannot see it could not create records",
                    );
                }
            }
            for stage in &rule.stages {
                let known = if kind == "deal" {
                    pipelines.iter().any(|p| {
                        p.stages.iter().any(|s| {
                            stage == s.key.as_str()
                                || *stage == format!("{}/{}", p.id, s.key.as_str())
                        })
                    })
                } else {
                    object
                        .board_field
                        .as_ref()
                        .and_then(|b| object.field(b.as_str()))
                        .is_some_and(|b| b.option(stage).is_some())
                };
                if !known {
                    errors.add(
                        &name,
                        format!(
                            "`{stage}` is not a stage of {}",
                            object.plural.to_lowercase()
                        ),
                    );
                }
            }
        }
    }
    errors.into_result().map_err(AppError::Validation)
}

/// A kind of record as the field rules of Settings → Roles list it: its fields and the stages a
/// read-only rule may hold at.
#[derive(Clone, Debug)]
pub struct RuleKind {
    pub key: String,
    pub name: String,
    pub fields: Vec<RuleField>,
    /// (value, label): a deal's pipeline stages (`{pipeline id}/{stage key}`), or the options of
    /// a custom object's board field.
    pub stages: Vec<(String, String)>,
}

/// A field a rule may name.
#[derive(Clone, Debug)]
pub struct RuleField {
    pub key: String,
    pub label: String,
    /// The organization added it, and it does not name the records.
    pub may_hide: bool,
    /// It is written, not computed (a rollup is never written).
    pub may_lock: bool,
}

/// Every kind's fields and stages, for the rules' page.
pub(crate) fn rule_kinds(
    catalog: &crate::objects::Catalog,
    pipelines: &[rapport_store::pipelines::Pipeline],
) -> Vec<RuleKind> {
    use rapport_domain::schema::FieldType;
    catalog
        .objects
        .iter()
        .map(|o| {
            let def = &o.def;
            let stages = if def.key.as_str() == "deal" {
                let named = pipelines.len() > 1;
                pipelines
                    .iter()
                    .flat_map(|p| {
                        p.stages.iter().map(move |s| {
                            (
                                format!("{}/{}", p.id, s.key.as_str()),
                                if named {
                                    format!("{} · {}", p.name, s.name)
                                } else {
                                    s.name.clone()
                                },
                            )
                        })
                    })
                    .collect()
            } else {
                def.board_field
                    .as_ref()
                    .and_then(|b| def.field(b.as_str()))
                    .map(|b| {
                        b.options
                            .iter()
                            .map(|o| (o.key.clone(), o.label.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            RuleKind {
                key: def.key.to_string(),
                name: def.plural.clone(),
                fields: def
                    .live_fields()
                    .map(|f| RuleField {
                        key: f.key.to_string(),
                        label: f.label.clone(),
                        may_hide: !f.builtin && def.primary_field != f.key,
                        may_lock: f.field_type != FieldType::Rollup,
                    })
                    .collect(),
                stages,
            }
        })
        .collect()
}

/// Refuses, before anything else is checked, a change that gives a field hidden from the role:
/// so that no other answer (a value refused, a unique value taken) can tell what it holds.
pub(crate) fn check_hidden_given<'a>(
    tenant: &Tenant,
    kind: &str,
    given: impl IntoIterator<Item = &'a str>,
) -> AppResult<()> {
    check_writes(tenant, kind, None, given, [])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_domain::Role;
    use rapport_domain::access::FieldRule;

    fn hidden() -> FieldRule {
        FieldRule {
            access: FieldAccess::Hidden,
            stages: Vec::new(),
        }
    }

    #[test]
    fn built_in_kinds_hidden_fields_need_no_look_at_the_objects_until_a_custom_one_hides_some() {
        let mut g = Grants::system(Role::Member);
        g.set_field("deal", "commission", hidden());
        assert_eq!(
            hidden_without_objects(&g, "deal"),
            Some(vec!["commission".to_owned()])
        );
        assert_eq!(hidden_without_objects(&g, "contact"), Some(Vec::new()));
        assert_eq!(hidden_without_objects(&g, "berth"), None);
        // A custom object's hidden field may be summed by a rollup on any kind.
        g.set_field("berth", "price", hidden());
        assert_eq!(hidden_without_objects(&g, "deal"), None);
    }
}
