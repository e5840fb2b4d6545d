//! What the pages of records need around their values: the names of the records relations point
//! to, the records a relation may be set to, the other side of relations (the records pointing at
//! one), and boards of records grouped by a select field.

use std::collections::HashMap;

use rapport_domain::access::{Reach, RecordAction};
use rapport_domain::schema::{FieldType, ObjectDef, SelectOption};
use rapport_domain::{Action, Object, Ownership, RecordId};
use rapport_store::TenantTx;
use rapport_store::records::{self as store_records, Comparison, Condition, Operand};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::objects::{Catalog, catalog};
use crate::records::{RecordListQuery, RecordView, target_of};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Records of one object whose relation field points at a record (the inverse of a relation).
#[derive(Clone, Debug)]
pub struct Inverse {
    /// The object and the field that point here.
    pub object: ObjectDef,
    pub field_label: String,
    pub field_key: String,
    /// The field points to several records (a record is linked by adding to them).
    pub many: bool,
    /// (id, title), newest first.
    pub items: Vec<(Uuid, String)>,
}

/// One column of a board: the records holding one option (or none) of the field.
#[derive(Clone, Debug)]
pub struct BoardColumn {
    /// `None`: the records without a value.
    pub option: Option<SelectOption>,
    /// How many records hold it (up to [`BOARD_COUNT_CAP`]), when known without counting a
    /// filtered list.
    pub count: Option<i64>,
    pub items: Vec<RecordView>,
    /// Where the column's next records start, when it has more than shown.
    pub next_cursor: Option<String>,
}

/// A board column's page: it opens with this many records and loads as many more each time its
/// end comes into view.
pub const BOARD_COLUMN_SIZE: u64 = 25;

/// A board column counts its records up to this many ("10000+" beyond): a count costs at most
/// this many index entries, whatever the organization's size.
pub const BOARD_COUNT_CAP: i64 = 10_000;

/// The record ids that `records`' relation values name, by target object.
fn related_ids(object: &ObjectDef, records: &[&Map<String, Json>]) -> Vec<(String, Vec<Uuid>)> {
    let mut out: Vec<(String, Vec<Uuid>)> = Vec::new();
    for field in object
        .live_fields()
        .filter(|f| f.field_type == FieldType::Relation)
    {
        let Some(target) = &field.target else {
            continue;
        };
        let mut ids: Vec<Uuid> = Vec::new();
        for record in records {
            match record.get(field.key.as_str()) {
                Some(Json::String(s)) => ids.extend(s.parse::<Uuid>().ok()),
                Some(Json::Array(items)) => ids.extend(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().and_then(|s| s.parse::<Uuid>().ok())),
                ),
                _ => {}
            }
        }
        match out.iter_mut().find(|(k, _)| k == target.as_str()) {
            Some((_, all)) => all.extend(ids),
            None => out.push((target.to_string(), ids)),
        }
    }
    out
}

impl App {
    /// The names of the records that relation fields point to, by id, for records of `object`
    /// holding `values`.
    pub async fn relation_titles(
        &self,
        tenant: &Tenant,
        object: &ObjectDef,
        values: &[&Map<String, Json>],
    ) -> AppResult<HashMap<Uuid, String>> {
        let wanted = related_ids(object, values);
        if wanted.iter().all(|(_, ids)| ids.is_empty()) {
            return Ok(HashMap::new());
        }
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let mut titles = HashMap::new();
        for (target, mut ids) in wanted {
            ids.sort_unstable();
            ids.dedup();
            let Some(target) = catalog.get(&target).map(|o| o.def.key.clone()) else {
                continue;
            };
            if let Some(t) = target_of(&catalog, &target) {
                for chunk in ids.chunks(500) {
                    titles.extend(store_records::target_titles(&mut tx, t, chunk).await?);
                }
            }
        }
        tx.commit().await?;
        Ok(titles)
    }

    /// Records of `target` a relation may be set to, by name (the first `limit` containing
    /// `contains`).
    pub async fn relation_choices(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        target: &str,
        contains: &str,
        limit: i64,
        meta: &RequestMeta,
    ) -> AppResult<Vec<(Uuid, String)>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let object = catalog.require(target)?.def.clone();
        tx.commit().await?;
        // Built-in or custom, the target's own row of the matrix decides.
        self.authorize_kind(
            actor,
            tenant,
            meta,
            Action::View.into(),
            object.key.as_str(),
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let Some(t) = target_of(&catalog, &object.key) else {
            return Ok(Vec::new());
        };
        let reach = tenant.reach(actor, RecordAction::View, object.key.as_str());
        let choices =
            store_records::target_choices(&mut tx, t, contains.trim(), limit, reach.owners())
                .await?;
        tx.commit().await?;
        Ok(choices)
    }

    /// The records of every object whose relation fields point at a record (at most 50 per
    /// field), for the other side of relations on the record's page.
    pub async fn inverse_relations(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Inverse>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Record,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        let mut out = Vec::new();
        for source in &catalog.objects {
            // A built-in kind's records, through its custom relation fields, for roles that
            // may see that kind.
            let builtin = crate::custom_values::Kind::of_key(source.def.key.as_str())
                .filter(|_| source.def.builtin);
            let visible = match builtin {
                Some(kind) => tenant.may(
                    Action::View,
                    kind.permission_object(),
                    Ownership::NotApplicable,
                ),
                None => tenant.may_kind(
                    Action::View.into(),
                    source.def.key.as_str(),
                    Ownership::NotApplicable,
                ),
            };
            if !visible {
                continue;
            }
            let hidden = tenant.hidden_fields(&source.def);
            for field in source.def.live_fields().filter(|f| {
                !hidden.iter().any(|h| h == f.key.as_str())
                    && !f.builtin
                    && f.field_type == FieldType::Relation
                    && f.target.as_ref().is_some_and(|t| t.as_str() == object_key)
            }) {
                let reach = tenant.reach(actor, RecordAction::View, source.def.key.as_str());
                let owners = reach.owners();
                let items = match builtin {
                    Some(kind) => {
                        store_records::related_builtin(
                            &mut tx,
                            kind.table(),
                            field.id,
                            id,
                            50,
                            owners,
                        )
                        .await?
                    }
                    None => store_records::related(&mut tx, field.id, id, 50, owners)
                        .await?
                        .into_iter()
                        .map(|r| (r.id.as_uuid(), r.title))
                        .collect(),
                };
                out.push(Inverse {
                    object: source.def.clone(),
                    field_label: field.label.clone(),
                    field_key: field.key.to_string(),
                    many: field.many,
                    items,
                });
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A board of a custom object's records grouped by one of its select fields: a column per
    /// option in the options' order, then one for records without a value when there are any.
    /// The query's filters and search narrow every column; its sort orders each.
    pub async fn record_board(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        field_key: &str,
        query: &RecordListQuery,
        meta: &RequestMeta,
    ) -> AppResult<Vec<BoardColumn>> {
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
        let (catalog, object) = self.custom_object_in(&mut tx, tenant, object_key).await?;
        let hidden = tenant.hidden_fields(&object);
        let field = object
            .field(field_key)
            .filter(|f| f.field_type == FieldType::Select && !f.archived)
            .filter(|f| !hidden.iter().any(|h| h == f.key.as_str()))
            .ok_or_else(|| {
                AppError::bad_request(
                    "unknown_field",
                    format!("{field_key} is not a select field of this object"),
                )
            })?
            .clone();
        let reach = tenant.reach(actor, RecordAction::View, object_key);
        // Counts are of every record: a board narrowed to some owners' records counts none.
        let narrowed = reach != Reach::All
            || !query.filters.is_empty()
            || query
                .search
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty());
        // Each option's count (up to the cap) when the board is not narrowed.
        let mut counts: Vec<Option<i64>> = Vec::new();
        for o in &field.options {
            counts.push(if narrowed {
                None
            } else {
                Some(
                    store_records::matches_capped(
                        &mut tx,
                        &Condition::Compare {
                            field: field.id,
                            op: Comparison::Eq,
                            value: Operand::Txt(o.key.clone()),
                        },
                        BOARD_COUNT_CAP,
                    )
                    .await?,
                )
            });
        }
        // Records without a value have no index entry to find them by: their column is read
        // only when they may exist — a narrowed board, or exact counts that fall short of the
        // object's records, by as many as the column holds. (Beyond the cap, the table's "empty"
        // filter finds them.)
        let with_values: Option<i64> = counts
            .iter()
            .map(|c| c.filter(|n| *n < BOARD_COUNT_CAP))
            .sum();
        let empty: Option<Option<i64>> = match with_values {
            _ if narrowed => Some(None),
            None => None,
            Some(n) => {
                let cap = (n + 1).max(BOARD_COUNT_CAP);
                let total = store_records::count_capped(&mut tx, object.id, cap, None).await?;
                if total == cap {
                    Some(None)
                } else {
                    (total > n).then_some(Some(total - n))
                }
            }
        };
        let mut columns = Vec::new();
        let mut options: Vec<(Option<SelectOption>, Option<i64>)> = field
            .options
            .iter()
            .cloned()
            .map(Some)
            .zip(counts)
            .collect();
        if let Some(count) = empty {
            options.push((None, count));
        }
        for (option, count) in options {
            let mut q = query.clone();
            q.cursor = None;
            q.page_size = BOARD_COLUMN_SIZE;
            match &option {
                Some(o) => q.filters.push((field.key.to_string(), None, o.key.clone())),
                None => {
                    q.filters
                        .push((field.key.to_string(), Some("empty".into()), "true".into()))
                }
            }
            // A column is a filter: a rare option is read from its index entries, whatever the
            // organization's size; an option counted at 0 has nothing to read.
            let page = if count == Some(0) {
                crate::records::RecordPage {
                    items: Vec::new(),
                    next_cursor: None,
                }
            } else {
                self.list_in(&mut tx, (actor, tenant), &catalog, &object, &q, &reach, 0)
                    .await?
            };
            if option.is_none() && page.items.is_empty() {
                continue;
            }
            columns.push(BoardColumn {
                option,
                count,
                next_cursor: page.next_cursor,
                items: page.items,
            });
        }
        tx.commit().await?;
        Ok(columns)
    }

    /// How many live records a custom object has, counted up to `cap`.
    pub async fn count_records(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        object_key: &str,
        cap: i64,
        meta: &RequestMeta,
    ) -> AppResult<i64> {
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
        let (_, object) = self.custom_object_in(&mut tx, tenant, object_key).await?;
        let reach = tenant.reach(actor, RecordAction::View, object_key);
        let n = store_records::count_capped(&mut tx, object.id, cap, reach.owners()).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The key of the object a live record belongs to.
    pub async fn record_object(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: RecordId,
        meta: &RequestMeta,
    ) -> AppResult<rapport_domain::schema::ObjectKey> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Record,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let object_id = store_records::live(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?
            .object_id;
        let catalog = catalog(&mut tx, tenant.organization.created_at).await?;
        tx.commit().await?;
        catalog
            .objects
            .iter()
            .find(|o| o.def.id == object_id)
            .map(|o| o.def.key.clone())
            .ok_or(AppError::NotFound)
    }

    async fn custom_object_in(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        key: &str,
    ) -> AppResult<(Catalog, ObjectDef)> {
        let catalog = catalog(tx, tenant.organization.created_at).await?;
        let object = catalog.require(key)?.def.clone();
        if object.builtin {
            return Err(AppError::NotFound);
        }
        Ok((catalog, object))
    }
}
