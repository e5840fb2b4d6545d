//! Pages of a custom object's records — the list, the board, a record's page, adding one — all
//! drawn from the object's definition: a new object gets them with no code written for it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, RawForm, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rapport_app::records::{RecordInput, RecordListQuery, RecordView};
use rapport_app::relations::BOARD_COLUMN_SIZE;
use rapport_app::timeline::RecordRef;
use rapport_app::{Actor, AppError, Tenant};
use rapport_domain::organization::TimeZone;
use rapport_domain::schema::{FieldDef, FieldType, ObjectDef};
use rapport_domain::values::Value;
use rapport_domain::{Action, Object, Ownership, RecordId, UserId};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::lists::{
    Cell, ColumnChoice, FilterSelect, HeaderCell, ListPage, ListState, Mode, RangeFilter, TagChip,
    csv_line, csv_response, is_filtered, saved_views, tag_chips, total_label,
};
use super::record_page::{
    FormField, LinkBox, RecordPage, Related, RelatedItem, inline_answer, inline_fields, keep_named,
    timeline_of,
};
use super::records::{Choice, People, day};
use super::workspace::{Shell, shell};
use super::{
    FormErrors, PageContext, PageError, PageResult, form_pairs, form_value, render, render_status,
    see_other, sentence,
};
use crate::error::ApiError;

/// Records a list page shows at once.
const PAGE_SIZE: u64 = 50;
/// Records a relation field's menu offers.
const CHOICES: i64 = 200;

/// The custom object a page is about (404 for unknown and built-in keys, which have their own
/// pages).
async fn custom_object(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    key: &str,
) -> Result<ObjectDef, PageError> {
    match ctx.state.app.object(actor, tenant, key, &ctx.meta).await {
        Ok(o) if !o.def.builtin => Ok(o.def),
        Ok(_) => Err(PageError::from(ApiError::not_found())),
        Err(e) => Err(PageError::from(e)),
    }
}

/// Whether the member may do `action` to records of the custom object `kind` (its key).
fn may(tenant: &Tenant, kind: &str, action: Action, ownership: Ownership) -> bool {
    tenant.may_kind(action.into(), kind, ownership)
}

/// Whether a list can be narrowed to one value of the field (a menu of its values).
fn is_choice(f: &FieldDef) -> bool {
    matches!(
        f.field_type,
        FieldType::Select | FieldType::MultiSelect | FieldType::Boolean | FieldType::Member
    )
}

/// Whether a list can be narrowed to a range of the field (from / to).
fn is_range(f: &FieldDef) -> bool {
    matches!(
        f.field_type,
        FieldType::Number | FieldType::Money | FieldType::Percent | FieldType::Date
    )
}

/// The list's address state in the engine's grammar: `key=v` is equality, `key.min` / `key.max`
/// a range. Names that are not fields are left out.
fn list_query(object: &ObjectDef, state: &ListState, page_size: u64) -> RecordListQuery {
    RecordListQuery {
        filters: engine_filters(object, state, ""),
        search: (!state.search.is_empty()).then(|| state.search.clone()),
        sort: Some(state.sort.clone()),
        page_size,
        cursor: state.after.clone(),
    }
}

/// The filters of a list state on `object`'s fields, named `{prefix}{key}` in the address
/// (`custom.` on built-in lists), in the engine's grammar: (key, operator, value).
pub(super) fn engine_filters(
    object: &ObjectDef,
    state: &ListState,
    prefix: &str,
) -> Vec<(String, Option<String>, String)> {
    let mut filters = Vec::new();
    for (name, value) in &state.filters {
        let Some(name) = name.strip_prefix(prefix) else {
            continue;
        };
        let (key, op) = match name.rsplit_once('.') {
            Some((k, "min")) => (k, Some("gte")),
            Some((k, "max")) => (k, Some("lte")),
            _ => (name, None),
        };
        let Some(field) = object.live_fields().find(|f| f.key.as_str() == key) else {
            continue;
        };
        let fits = match op {
            None => is_choice(field),
            Some(_) => is_range(field),
        };
        if fits && !value.is_empty() {
            filters.push((key.to_owned(), op.map(str::to_owned), value.clone()));
        }
    }
    filters
}

/// The columns a list shows before any are chosen: the first six fields after the name.
fn default_columns(object: &ObjectDef) -> Vec<String> {
    object
        .live_fields()
        .filter(|f| f.key != object.primary_field)
        .take(6)
        .map(|f| f.key.to_string())
        .collect()
}

/// Names of members and of related records, to show values as people read them.
pub(super) struct Names<'a> {
    pub(super) people: &'a People,
    pub(super) records: HashMap<Uuid, String>,
    /// The zone times are shown in (the viewer's); `None`: UTC, said so (exports).
    pub(super) zone: Option<TimeZone>,
}

impl Names<'_> {
    fn record(&self, id: &str) -> String {
        id.parse::<Uuid>()
            .ok()
            .and_then(|u| self.records.get(&u).cloned())
            .unwrap_or_else(|| "Deleted record".into())
    }
}

/// Whether the member may add records of an object (named by its key), as a relation's
/// combobox offers to.
pub(super) fn may_create(tenant: &Tenant, target: &str) -> bool {
    // A task is made from its own form, never inline.
    target != "task" && tenant.may_kind(Action::Create.into(), target, Ownership::NotApplicable)
}

/// The path of a record's page, whatever its object.
pub(super) fn record_href(base: &str, target: &str, id: &str) -> String {
    match target {
        "company" => format!("{base}/companies/{id}"),
        "contact" => format!("{base}/contacts/{id}"),
        "lead" => format!("{base}/leads/{id}"),
        "deal" => format!("{base}/deals/{id}"),
        "task" => format!("{base}/tasks/{id}"),
        custom => format!("{base}/objects/{custom}/{id}"),
    }
}

use rapport_domain::values::number_text;

/// A value as a table cell.
pub(super) fn cell(base: &str, field: &FieldDef, value: &Json, names: &Names) -> Cell {
    if value.is_null() {
        return Cell::default();
    }
    match field.field_type {
        FieldType::Rollup => Cell {
            text: value.as_f64().map(number_text).unwrap_or_default(),
            numeric: true,
            ..Cell::default()
        },
        FieldType::Select | FieldType::MultiSelect => {
            let keys: Vec<&str> = match value {
                Json::String(k) => vec![k.as_str()],
                Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            Cell {
                tags: keys
                    .into_iter()
                    .map(|k| {
                        let o = field.option(k);
                        TagChip {
                            name: o.map_or_else(|| k.to_owned(), |o| o.label.clone()),
                            color: o
                                .and_then(|o| o.color.clone())
                                .unwrap_or_else(|| "gray".into()),
                        }
                    })
                    .collect(),
                ..Cell::default()
            }
        }
        FieldType::Member => Cell::text(
            value
                .as_str()
                .and_then(|s| s.parse().ok())
                .map(|id| names.people.name(UserId(id)))
                .unwrap_or_default(),
        ),
        FieldType::Relation => {
            let target = field.target.as_ref().map_or("", |t| t.as_str());
            match value {
                Json::String(id) => Cell {
                    text: names.record(id),
                    href: Some(record_href(base, target, id)),
                    ..Cell::default()
                },
                Json::Array(ids) => Cell::text(
                    ids.iter()
                        .filter_map(Json::as_str)
                        .map(|id| names.record(id))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => Cell::default(),
            }
        }
        FieldType::Url => {
            let text = value.as_str().unwrap_or_default().to_owned();
            Cell {
                href: Some(text.clone()),
                text,
                ..Cell::default()
            }
        }
        FieldType::DateTime => Cell {
            text: match (rapport_domain::values::decode(field, value), names.zone) {
                (Some(Value::DateTime(t)), Some(zone)) => t
                    .with_timezone(&zone.tz())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                (Some(v), _) => v.display(field),
                (None, _) => String::new(),
            },
            muted: true,
            ..Cell::default()
        },
        t => {
            let text = rapport_domain::values::decode(field, value)
                .map(|v| v.display(field))
                .unwrap_or_default();
            Cell {
                text,
                numeric: t.is_numeric(),
                muted: matches!(t, FieldType::Date | FieldType::DateTime),
                ..Cell::default()
            }
        }
    }
}

/// Loads the names a page of records needs.
async fn names_for<'a>(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object: &ObjectDef,
    records: impl IntoIterator<Item = &RecordView>,
    people: &'a People,
) -> Names<'a> {
    let values: Vec<_> = records.into_iter().map(|r| &r.values).collect();
    Names {
        people,
        zone: Some(person_zone(ctx, actor, tenant, object).await),
        records: ctx
            .state
            .app
            .relation_titles(tenant, object, &values)
            .await
            .unwrap_or_default(),
    }
}

fn modes(base: &str, object: &ObjectDef, board: bool) -> Vec<Mode> {
    let Some(field) = board_field(object, None) else {
        return Vec::new();
    };
    let key = &object.key;
    vec![
        Mode {
            label: "Table",
            href: format!("{base}/objects/{key}"),
            current: !board,
        },
        Mode {
            label: "Board",
            href: format!("{base}/objects/{key}/board?by={}", field.key),
            current: board,
        },
    ]
}

/// The select field a board groups by: the one asked for, else the object's board field, else
/// its first select.
fn board_field<'a>(object: &'a ObjectDef, asked: Option<&str>) -> Option<&'a FieldDef> {
    let selects = || {
        object
            .live_fields()
            .filter(|f| f.field_type == FieldType::Select)
    };
    asked
        .and_then(|k| selects().find(|f| f.key.as_str() == k))
        .or_else(|| {
            object
                .board_field
                .as_ref()
                .and_then(|k| selects().find(|f| f.key == *k))
        })
        .or_else(|| selects().next())
}

/// The filter bar's menus for `object`'s choice fields, named `{prefix}{key}`.
pub(super) fn choice_filters(
    object: &ObjectDef,
    state: &ListState,
    people: &People,
    prefix: &str,
) -> Vec<FilterSelect> {
    object
        .live_fields()
        .filter(|f| is_choice(f))
        .map(|f| choice_filter(f, format!("{prefix}{}", f.key), state, people))
        .collect()
}

/// The filter bar's menu for a choice field (a select, multi-select, boolean or member), named
/// `name` in the list's address.
pub(super) fn choice_filter(
    f: &FieldDef,
    name: String,
    state: &ListState,
    people: &People,
) -> FilterSelect {
    let current = state.filter(&name);
    let options = match f.field_type {
        FieldType::Boolean => [("true", "Yes"), ("false", "No")]
            .iter()
            .map(|(v, l)| Choice {
                value: (*v).into(),
                label: (*l).into(),
                selected: current == Some(*v),
            })
            .collect(),
        FieldType::Member => people.options(current.and_then(|c| c.parse().ok())),
        _ => f
            .options
            .iter()
            .map(|o| Choice {
                selected: current == Some(o.key.as_str()),
                value: o.key.clone(),
                label: o.label.clone(),
            })
            .collect(),
    };
    FilterSelect {
        name,
        label: f.label.clone(),
        options,
    }
}

/// The filter bar's ranges (from / to) for `object`'s numbers, amounts and dates, named
/// `{prefix}{key}.min` and `.max`.
pub(super) fn range_filters(
    object: &ObjectDef,
    state: &ListState,
    prefix: &str,
) -> Vec<RangeFilter> {
    object
        .live_fields()
        .filter(|f| is_range(f))
        .map(|f| {
            let name = format!("{prefix}{}", f.key);
            RangeFilter {
                kind: if f.field_type == FieldType::Date {
                    "date"
                } else {
                    "number"
                },
                min: state
                    .filter(&format!("{name}.min"))
                    .unwrap_or_default()
                    .to_owned(),
                max: state
                    .filter(&format!("{name}.max"))
                    .unwrap_or_default()
                    .to_owned(),
                label: f.label.clone(),
                name,
            }
        })
        .collect()
}

/// What a refused list query says (a number that is not one, a sort that does not exist).
pub(super) fn refusal(e: &AppError) -> Option<String> {
    match e {
        AppError::BadRequest { message, .. } => Some(sentence(message)),
        AppError::Validation(errors) => errors
            .0
            .first()
            .map(|e| sentence(&format!("{} {}", e.field, e.message))),
        _ => None,
    }
}

pub async fn list(
    ctx: PageContext,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let actor = &session.actor;
    let object = custom_object(&ctx, actor, &tenant, &key).await?;
    let app = &ctx.state.app;
    let mut state = ListState::parse(raw.as_deref(), "-created_at");
    let query = list_query(&object, &state, PAGE_SIZE);
    let (page, notice) = match app
        .list_records(actor, &tenant, &key, &query, &ctx.meta)
        .await
    {
        Ok(p) => (p, None),
        Err(e) => match refusal(&e) {
            // A list asked for in a way it cannot be read: the first page, and why.
            Some(message) => {
                state = ListState {
                    search: state.search.clone(),
                    ..ListState::parse(None, "-created_at")
                };
                let retry = list_query(&object, &state, PAGE_SIZE);
                match app
                    .list_records(actor, &tenant, &key, &retry, &ctx.meta)
                    .await
                {
                    Ok(p) => (p, Some(message)),
                    Err(e) => return Err(e.into()),
                }
            }
            None => return Err(e.into()),
        },
    };
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let names = names_for(&ctx, &session.actor, &tenant, &object, &page.items, &people).await;
    let ids: Vec<Uuid> = page.items.iter().map(|r| r.id.as_uuid()).collect();
    let tags = app
        .tags_of(&tenant, "record", &ids)
        .await
        .unwrap_or_default();
    let base = &ctx.base;
    let path = format!("{base}/objects/{key}");
    let chosen: Vec<String> = if state.cols.is_empty() {
        default_columns(&object)
    } else {
        state.cols.clone()
    };
    let primary = object.primary();
    // (key, label, sortable, numeric): the name first, then the chosen fields, owner, added.
    let mut columns: Vec<(String, String, bool, bool)> = Vec::new();
    if let Some(p) = primary {
        columns.push((p.key.to_string(), p.label.clone(), p.is_sortable(), false));
    }
    let mut choices = Vec::new();
    for f in object
        .live_fields()
        .filter(|f| f.key != object.primary_field)
    {
        let visible = chosen.iter().any(|c| c == f.key.as_str());
        choices.push(ColumnChoice {
            key: f.key.to_string(),
            label: f.label.clone(),
            visible,
        });
        if visible {
            let numeric = f.field_type.is_numeric() || f.field_type == FieldType::Rollup;
            columns.push((f.key.to_string(), f.label.clone(), f.is_sortable(), numeric));
        }
    }
    for (k, label, sortable) in [
        ("tags", "Tags", false),
        ("owner", "Owner", false),
        ("created_at", "Added", true),
    ] {
        let visible = chosen.iter().any(|c| c == k);
        choices.push(ColumnChoice {
            key: k.into(),
            label: label.into(),
            visible,
        });
        if visible {
            columns.push((k.into(), label.into(), sortable, false));
        }
    }
    let headers = columns
        .iter()
        .map(|(k, label, sortable, numeric)| HeaderCell {
            label: label.clone(),
            sort: sortable.then(|| state.sort_header(&path, k)),
            numeric: *numeric,
        })
        .collect();
    let rows = page
        .items
        .iter()
        .map(|r| super::lists::ListRow {
            id: r.id.to_string(),
            edit_href: may(
                &tenant,
                object.key.as_str(),
                Action::Edit,
                tenant.relation(actor, r.owner_id),
            )
            .then(|| format!("{path}/{}", r.id)),
            cells: columns
                .iter()
                .enumerate()
                .map(|(i, (k, _, _, _))| {
                    if i == 0 && primary.is_some() {
                        return Cell {
                            text: display_title(&object, r),
                            href: Some(format!("{path}/{}", r.id)),
                            strong: true,
                            ..Cell::default()
                        };
                    }
                    // The record page's property the column shows, changed in place.
                    let prop = match k.as_str() {
                        "owner" => Some("owner_id".to_owned()),
                        key => object
                            .field(key)
                            .filter(|f| f.field_type != FieldType::Rollup)
                            .map(|f| format!("values.{}", f.key)),
                    };
                    let cell = match k.as_str() {
                        "tags" => Cell {
                            tags: tag_chips(&tags, r.id.as_uuid()),
                            ..Cell::default()
                        },
                        "owner" => Cell::text(people.name(r.owner_id)),
                        "created_at" => Cell::muted(day(r.created_at.date_naive())),
                        key => object
                            .field(key)
                            .map(|f| {
                                cell(base, f, r.values.get(key).unwrap_or(&Json::Null), &names)
                            })
                            .unwrap_or_default(),
                    };
                    Cell { edit: prop, ..cell }
                })
                .collect(),
        })
        .collect();
    let (one, many) = (object.singular.to_lowercase(), object.plural.to_lowercase());
    let total = if state.after.is_some() {
        format!("{} more {many}", page.items.len())
    } else if is_filtered(&state) {
        match (page.items.len(), page.next_cursor.is_some()) {
            (n, true) => format!("The first {n} matching {many}"),
            (1, false) => format!("1 {one} matches"),
            (n, false) => format!("{n} {many} match"),
        }
    } else {
        let n = app
            .count_records(actor, &tenant, &key, 10_000, &ctx.meta)
            .await
            .unwrap_or(0);
        total_label(n, n < 10_000, &one, &many)
    };
    let list_name = format!("objects/{key}");
    let next = page
        .next_cursor
        .as_ref()
        .map(|c| state.with_after(c.clone()).href(&path));
    let may_edit = may(&tenant, object.key.as_str(), Action::Edit, Ownership::Own);
    let can_delete = may(&tenant, object.key.as_str(), Action::Delete, Ownership::Own);
    let bulk = match may_edit || can_delete {
        true => Some(super::lists::Bulk {
            action: format!("{path}/bulk"),
            owners: match may_edit {
                true => people.options(None),
                false => Vec::new(),
            },
            tags: match may_edit {
                true => super::lists::tag_choices(&ctx, actor, &tenant).await,
                false => Vec::new(),
            },
            selects: match may_edit {
                true => super::lists::select_choices(&object.live_fields().collect::<Vec<_>>(), ""),
                false => Vec::new(),
            },
            can_delete,
        }),
        false => None,
    };
    let page = ListPage {
        bulk,
        list: list_name.clone(),
        title: object.plural.clone(),
        total,
        new: may(
            &tenant,
            object.key.as_str(),
            Action::Create,
            Ownership::NotApplicable,
        )
        .then(|| {
            (
                format!("{path}/new"),
                format!("Add a {}", object.singular.to_lowercase()),
            )
        }),
        search: state.search.clone(),
        search_placeholder: format!("Search {}", object.plural.to_lowercase()),
        sort: state.sort.clone(),
        filters: choice_filters(&object, &state, &people, ""),
        ranges: range_filters(&object, &state, ""),
        headers,
        rows,
        first: state.first_href(&path),
        next,
        views: saved_views(&ctx, actor, &tenant, &list_name, &path, &state).await,
        query: state.query(),
        columns: choices,
        export: may(
            &tenant,
            object.key.as_str(),
            Action::Export,
            Ownership::NotApplicable,
        )
        .then(|| format!("{path}/export.csv?{}", state.query())),
        empty_title: if state.search.is_empty() {
            format!("No {} yet", object.plural.to_lowercase())
        } else {
            format!(
                "No {} matches “{}”",
                object.singular.to_lowercase(),
                state.search
            )
        },
        empty_text: format!(
            "Add the first {} here, or import them; every field of the object is a column, a filter and a sort.",
            object.singular.to_lowercase()
        ),
        filtered: is_filtered(&state),
        can_share: may(
            &tenant,
            object.key.as_str(),
            Action::Create,
            Ownership::NotApplicable,
        ),
        notice: notice.or(state.notice.clone()),
        modes: modes(base, &object, false),
        path: path.clone(),
        shell: shell(
            &ctx,
            session,
            &tenant,
            &format!("objects/{key}"),
            &[&object.plural],
        )
        .await,
    };
    Ok(render(&page))
}

/// A record's title, or what stands for it when its name is empty.
fn display_title(object: &ObjectDef, r: &RecordView) -> String {
    if r.title.trim().is_empty() {
        format!("Untitled {}", object.singular.to_lowercase())
    } else {
        r.title.clone()
    }
}

pub async fn export(
    ctx: PageContext,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let actor = session.actor.clone();
    if !may(&tenant, &key, Action::Export, Ownership::NotApplicable) {
        return Err(ApiError::forbidden().into());
    }
    let object = custom_object(&ctx, &actor, &tenant, &key).await?;
    let mut state = ListState::parse(raw.as_deref(), "-created_at");
    state.after = None;
    let query = list_query(&object, &state, 100);
    // Every live field, in order, then owner and dates; member and relation values by name.
    let fields: Vec<FieldDef> = object.live_fields().cloned().collect();
    let mut header: Vec<String> = vec!["id".into()];
    header.extend(fields.iter().map(|f| f.label.clone()));
    header.extend(["Owner".into(), "Added".into(), "Updated".into()]);
    let app = ctx.state.app.clone();
    let people = People::load(&app, &actor, &tenant, &ctx.meta).await;
    let meta = ctx.meta.clone();
    let filename = format!("{}.csv", object.plural.to_lowercase().replace(' ', "-"));
    // Its pages are read as far as the role may export, not view.
    let tenant = tenant.exporting();
    let shared = std::sync::Arc::new((app, actor, tenant, meta, object, fields, people, query));
    Ok(csv_response(&filename, csv_line(&header), move |cursor| {
        let shared = shared.clone();
        async move {
            let (app, actor, tenant, meta, object, fields, people, query) = &*shared;
            if cursor.as_deref() == Some("") {
                return Ok((String::new(), None));
            }
            let mut q = query.clone();
            q.cursor = cursor;
            let page = app
                .list_records(actor, tenant, object.key.as_str(), &q, meta)
                .await
                .map_err(|e| e.to_string())?;
            let titles = app
                .relation_titles(
                    tenant,
                    object,
                    &page.items.iter().map(|r| &r.values).collect::<Vec<_>>(),
                )
                .await
                .map_err(|e| e.to_string())?;
            let names = Names {
                people,
                records: titles,
                zone: None,
            };
            let mut out = String::new();
            for r in &page.items {
                let mut line = vec![r.id.to_string()];
                for f in fields {
                    let c = cell(
                        "",
                        f,
                        r.values.get(f.key.as_str()).unwrap_or(&Json::Null),
                        &names,
                    );
                    let text = if c.tags.is_empty() {
                        c.text
                    } else {
                        c.tags
                            .into_iter()
                            .map(|t| t.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    line.push(text);
                }
                line.push(people.name(r.owner_id));
                line.push(r.created_at.to_rfc3339());
                line.push(r.updated_at.to_rfc3339());
                out.push_str(&csv_line(&line));
            }
            Ok((out, page.next_cursor))
        }
    }))
}

// ----- the board -----

pub struct BoardCard {
    pub id: String,
    pub title: String,
    pub href: String,
    pub stage: String,
    pub details: Vec<(String, String)>,
    pub owner: String,
    pub owner_initials: String,
    pub can_move: bool,
}

/// A column a card can move to (its card's "Move" menu).
pub struct MoveTarget {
    pub key: String,
    pub name: String,
}

pub struct BoardColumnView {
    pub key: String,
    pub name: String,
    pub color: String,
    pub count: String,
    pub cards: Vec<BoardCard>,
    /// The column's next cards (the fragment the board's script appends) and, without script,
    /// the table narrowed to the column.
    pub more: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "object_board.html")]
pub struct BoardPage {
    pub shell: Shell,
    pub title: String,
    pub singular: String,
    pub path: String,
    pub modes: Vec<Mode>,
    pub group_by: Vec<Choice>,
    pub group_key: String,
    pub search: String,
    pub columns: Vec<BoardColumnView>,
    pub targets: Vec<MoveTarget>,
    pub new: Option<String>,
    pub notice: Option<String>,
    pub empty: bool,
    /// The fields a card may show, marked when it does (the board's "Fields" menu).
    pub card_fields: Vec<super::lists::ColumnChoice>,
}

/// The next cards of one board column.
#[derive(Template)]
#[template(path = "object_cards.html")]
pub struct BoardCards {
    pub cards: Vec<BoardCard>,
    pub targets: Vec<MoveTarget>,
    pub more: Option<(String, String)>,
}

/// The name in a board's address of the column a page of cards belongs to (the option's key;
/// empty for the records without a value). Not a field key: those have no dot.
const COLUMN_PARAM: &str = "board.column";

/// The fields a board's card can show: the object's, but its name, the field the board is
/// grouped by and long texts.
fn card_choices<'a>(object: &'a ObjectDef, field: &FieldDef) -> Vec<&'a FieldDef> {
    object
        .live_fields()
        .filter(|f| f.key != object.primary_field && f.key != field.key)
        .filter(|f| !matches!(f.field_type, FieldType::LongText))
        .collect()
}

/// What a board's cards are made of: the object, the field it is grouped by and what a card shows.
struct CardMaker<'a> {
    object: &'a ObjectDef,
    field: &'a FieldDef,
    path: &'a str,
    base: &'a str,
    /// A card shows the name and up to three other values.
    shown: Vec<&'a FieldDef>,
    tenant: &'a Tenant,
    actor: &'a Actor,
}

impl<'a> CardMaker<'a> {
    /// `chosen`: the fields the board's cards show (its address's `cols`, as a list's columns),
    /// in order; none chosen: the first three.
    fn new(
        ctx: &'a PageContext,
        object: &'a ObjectDef,
        field: &'a FieldDef,
        path: &'a str,
        tenant: &'a Tenant,
        actor: &'a Actor,
        chosen: &[String],
    ) -> CardMaker<'a> {
        let shown = match chosen.is_empty() {
            true => card_choices(object, field).into_iter().take(3).collect(),
            false => chosen
                .iter()
                .filter_map(|k| {
                    card_choices(object, field)
                        .into_iter()
                        .find(|f| f.key.as_str() == k)
                })
                .collect(),
        };
        CardMaker {
            object,
            field,
            path,
            base: &ctx.base,
            shown,
            tenant,
            actor,
        }
    }

    fn card(&self, r: &RecordView, stage: &str, names: &Names, people: &People) -> BoardCard {
        BoardCard {
            id: r.id.to_string(),
            title: display_title(self.object, r),
            href: format!("{}/{}", self.path, r.id),
            stage: stage.to_owned(),
            details: self
                .shown
                .iter()
                .filter_map(|f| {
                    let text =
                        cell(self.base, f, r.values.get(f.key.as_str())?, names).into_plain();
                    (!text.is_empty()).then(|| (f.label.clone(), text))
                })
                .collect(),
            owner: people.name(r.owner_id),
            owner_initials: people.initials(r.owner_id),
            can_move: may(
                self.tenant,
                self.object.key.as_str(),
                Action::Edit,
                self.tenant.relation(self.actor, r.owner_id),
            ),
        }
    }

    /// The name of the column of records without a value ("No status").
    fn no_value(&self) -> String {
        format!("No {}", self.field.label.to_lowercase())
    }

    /// The object as its cards show it: the names and zone a card needs are those of its
    /// shown fields only.
    fn card_object(&self) -> ObjectDef {
        ObjectDef {
            fields: self.shown.iter().map(|f| (*f).clone()).collect(),
            ..self.object.clone()
        }
    }

    /// The columns a card's "Move" menu offers: the field's options, and its "No …" column when
    /// the field may be left empty.
    fn targets(&self) -> Vec<MoveTarget> {
        let none = (!self.field.required).then(|| MoveTarget {
            key: String::new(),
            name: self.no_value(),
        });
        self.field
            .options
            .iter()
            .map(|o| MoveTarget {
                key: o.key.clone(),
                name: o.label.clone(),
            })
            .chain(none)
            .collect()
    }

    /// A column's links to its cards after `cursor`: the fragment, and the table narrowed to the
    /// column for a page without script.
    fn more(
        &self,
        state: &ListState,
        column: &str,
        cursor: Option<String>,
    ) -> Option<(String, String)> {
        let cursor = cursor?;
        let mut next = state.clone();
        next.filters.retain(|(k, _)| k != "by" && k != COLUMN_PARAM);
        next.filters.push(("by".into(), self.field.key.to_string()));
        next.filters.push((COLUMN_PARAM.into(), column.to_owned()));
        next.after = Some(cursor);
        next.view = None;
        let mut table = state.clone();
        table.after = None;
        table
            .filters
            .retain(|(k, _)| k != "by" && k != COLUMN_PARAM && k != self.field.key.as_str());
        if !column.is_empty() {
            table
                .filters
                .push((self.field.key.to_string(), column.to_owned()));
        }
        Some((
            next.href(&format!("{}/board/more", self.path)),
            table.href(self.path),
        ))
    }
}

pub async fn board(
    ctx: PageContext,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let actor = &session.actor;
    let object = custom_object(&ctx, actor, &tenant, &key).await?;
    let state = ListState::parse(raw.as_deref(), "-created_at");
    let base = &ctx.base;
    let path = format!("{base}/objects/{key}");
    let Some(field) = board_field(&object, state.filter("by")).cloned() else {
        // No select to group by: the table is the only view.
        return Ok(see_other(&path));
    };
    let mut query = list_query(&object, &state, BOARD_COLUMN_SIZE);
    query.cursor = None;
    let app = &ctx.state.app;
    let columns = app
        .record_board(actor, &tenant, &key, field.key.as_str(), &query, &ctx.meta)
        .await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let maker = CardMaker::new(&ctx, &object, &field, &path, &tenant, actor, &state.cols);
    let all = columns.iter().flat_map(|c| &c.items);
    let names = names_for(&ctx, actor, &tenant, &maker.card_object(), all, &people).await;
    let empty = columns.iter().all(|c| c.items.is_empty());
    let views = columns
        .into_iter()
        .map(|c| {
            let (key_of, name, color) = match &c.option {
                Some(o) => (
                    o.key.clone(),
                    o.label.clone(),
                    o.color.clone().unwrap_or_else(|| "gray".into()),
                ),
                None => (String::new(), maker.no_value(), "gray".into()),
            };
            let more = c.next_cursor.is_some();
            let count = match c.count {
                Some(n) if n >= rapport_app::relations::BOARD_COUNT_CAP => format!("{n}+"),
                Some(n) => n.to_string(),
                None if more => format!("{}+", c.items.len()),
                None => c.items.len().to_string(),
            };
            BoardColumnView {
                cards: c
                    .items
                    .iter()
                    .map(|r| maker.card(r, &key_of, &names, &people))
                    .collect(),
                more: maker.more(&state, &key_of, c.next_cursor),
                key: key_of,
                name,
                color,
                count,
            }
        })
        .collect();
    let group_by = object
        .live_fields()
        .filter(|f| f.field_type == FieldType::Select)
        .map(|f| Choice {
            value: f.key.to_string(),
            label: f.label.clone(),
            selected: f.key == field.key,
        })
        .collect();
    let page = BoardPage {
        title: object.plural.clone(),
        singular: object.singular.to_lowercase(),
        path: path.clone(),
        modes: modes(base, &object, true),
        group_by,
        group_key: field.key.to_string(),
        search: state.search.clone(),
        columns: views,
        targets: maker.targets(),
        new: may(
            &tenant,
            object.key.as_str(),
            Action::Create,
            Ownership::NotApplicable,
        )
        .then(|| format!("{path}/new")),
        notice: state.notice.clone(),
        empty,
        card_fields: card_choices(&object, &field)
            .into_iter()
            .map(|f| super::lists::ColumnChoice {
                key: f.key.to_string(),
                label: f.label.clone(),
                visible: maker.shown.iter().any(|s| s.key == f.key),
            })
            .collect(),
        shell: shell(
            &ctx,
            session,
            &tenant,
            &format!("objects/{key}"),
            &[&object.plural, "Board"],
        )
        .await,
    };
    Ok(render(&page))
}

/// The next cards of one board column, after the `after` cursor (an HTML fragment the board
/// appends as the column's end scrolls into view), with the link to the cards after them.
pub async fn board_more(
    ctx: PageContext,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let actor = &session.actor;
    let object = custom_object(&ctx, actor, &tenant, &key).await?;
    let state = ListState::parse(raw.as_deref(), "-created_at");
    let path = format!("{}/objects/{key}", ctx.base);
    let field = board_field(&object, state.filter("by"))
        .filter(|f| state.filter("by").is_some_and(|by| by == f.key.as_str()))
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    let column = state.filter(COLUMN_PARAM).unwrap_or_default().to_owned();
    if state.after.is_none() || !(column.is_empty() || field.option(&column).is_some()) {
        return Err(ApiError::not_found().into());
    }
    // The board's own filters (the column's name is none of the object's fields).
    let mut query = list_query(&object, &state, BOARD_COLUMN_SIZE);
    query.filters.push(if column.is_empty() {
        (field.key.to_string(), Some("empty".into()), "true".into())
    } else {
        (field.key.to_string(), None, column.clone())
    });
    let app = &ctx.state.app;
    let page = app
        .list_records(actor, &tenant, &key, &query, &ctx.meta)
        .await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let maker = CardMaker::new(&ctx, &object, &field, &path, &tenant, actor, &state.cols);
    let names = names_for(
        &ctx,
        actor,
        &tenant,
        &maker.card_object(),
        &page.items,
        &people,
    )
    .await;
    let fragment = BoardCards {
        cards: page
            .items
            .iter()
            .map(|r| maker.card(r, &column, &names, &people))
            .collect(),
        targets: maker.targets(),
        more: maker.more(&state, &column, page.next_cursor),
    };
    Ok(render(&fragment))
}

#[derive(serde::Deserialize)]
pub struct MoveForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    back: String,
}

/// Moves a record to another column of a board: sets the board's select field. Answers JSON to
/// the board's script, a redirect to the form on a card.
pub async fn move_record(
    ctx: PageContext,
    Path((key, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<MoveForm>,
) -> PageResult {
    apply_move(ctx, &key, &id, headers, form).await
}

/// The board's "Move" menus without script: one form around the board, each card's button naming
/// its record (`record`) and its menu (`stage.{id}`).
pub async fn move_from_board(
    ctx: PageContext,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> PageResult {
    let pairs = form_pairs(&raw);
    let one = |name: &str| form_value(&pairs, name);
    let record = one("record");
    let form = MoveForm {
        csrf: one("_csrf"),
        field: one("field"),
        stage: one(&format!("stage.{record}")),
        back: one("back"),
    };
    apply_move(ctx, &key, &record, headers, form).await
}

async fn apply_move(
    ctx: PageContext,
    key: &str,
    id: &str,
    headers: HeaderMap,
    form: MoveForm,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(record_id) = id.parse::<RecordId>() else {
        return Err(ApiError::not_found().into());
    };
    let mut values = Map::new();
    values.insert(
        form.field.clone(),
        if form.stage.is_empty() {
            Json::Null
        } else {
            json!(form.stage)
        },
    );
    let result = ctx
        .state
        .app
        .update_record(
            &session.actor,
            &tenant,
            key,
            record_id,
            &RecordInput {
                values,
                owner_id: None,
            },
            &ctx.meta,
        )
        .await;
    let wants_json = headers
        .get("x-requested-with")
        .is_some_and(|v| v == "fetch");
    let back = super::safe_next(if form.back.is_empty() {
        "/"
    } else {
        &form.back
    });
    match result {
        Ok(_) if wants_json => Ok(axum::Json(json!({"ok": true})).into_response()),
        Ok(_) => Ok(see_other(&back)),
        Err(e) if wants_json => {
            let status = match &e {
                AppError::Forbidden | AppError::FieldForbidden(_) => StatusCode::FORBIDDEN,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let message = match &e {
                AppError::Forbidden => "You may not change this record.".to_owned(),
                AppError::Validation(errors) => errors
                    .0
                    .first()
                    .map(|e| sentence(&format!("this value {}", e.message)))
                    .unwrap_or_default(),
                other => sentence(&other.to_string()),
            };
            Ok((status, axum::Json(json!({"ok": false, "message": message}))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ----- a record's page and form -----

/// The form's values, as the engine reads them: every field of the form (`values.<key>`), typed
/// from what the browser sent; what does not parse is passed as text, for the engine to refuse
/// by name.
pub(super) fn values_from_form(
    object: &ObjectDef,
    raw: &[u8],
    prefix: &str,
    zone: TimeZone,
) -> Map<String, Json> {
    let pairs = form_pairs(raw);
    // Fields the form showed read-only are not sent: they stay as they are.
    let read_only: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "_readonly")
        .map(|(_, v)| v.as_str())
        .collect();
    let all = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
            .collect()
    };
    let mut out = Map::new();
    for f in object
        .live_fields()
        .filter(|f| f.field_type != FieldType::Rollup)
    {
        let name = field_name(prefix, f.key.as_str());
        if read_only.contains(&name.as_str()) {
            continue;
        }
        let one = all(&name).first().map(|v| v.trim().to_owned());
        let value = match f.field_type {
            FieldType::Boolean => json!(one.as_deref() == Some("true")),
            FieldType::MultiSelect => json!(all(&name)),
            FieldType::Relation if f.many => json!(all(&name)),
            FieldType::Number | FieldType::Percent => match one {
                None => Json::Null,
                Some(s) => number(&s).map_or(json!(s), |n| json!(n)),
            },
            FieldType::Money => match one {
                None => Json::Null,
                Some(s) => {
                    let currency = all(&format!("{name}.currency"))
                        .first()
                        .map(|c| json!(c.trim().to_uppercase()))
                        .unwrap_or(Json::Null);
                    match number(&s) {
                        Some(n) => json!({"amount": n, "currency": currency}),
                        None => json!(s),
                    }
                }
            },
            FieldType::DateTime => match one {
                None => Json::Null,
                // A browser's date-time has no zone: it is the person's (the form says so).
                Some(s) => local_time(&s, zone).map_or(json!(s), |t| json!(t.to_rfc3339())),
            },
            _ => one.map_or(Json::Null, |s| json!(s)),
        };
        out.insert(f.key.to_string(), value);
    }
    out
}

/// A field's name in a form: `custom.tier` for a built-in record's custom field, `values.length`
/// for a custom record's, the key alone for a built-in record's own fields.
fn field_name(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The zone the person looking types and reads an object's date-times in (theirs, else the
/// organization's), looked up only for an object with a date-time field.
pub(super) async fn person_zone(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object: &ObjectDef,
) -> TimeZone {
    if object
        .live_fields()
        .any(|f| f.field_type == FieldType::DateTime)
    {
        ctx.state.app.time_zone_of(actor, tenant).await
    } else {
        TimeZone::DEFAULT
    }
}

/// A date and time as a browser's `datetime-local` field sends it (`2026-12-05T14:30`, seconds
/// optional), in `zone`; a time that does not exist there (a clock change) is not one.
fn local_time(s: &str, zone: TimeZone) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone as _;
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    zone.tz()
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A number as people type it: `1,250.5`, `1 250`, `12`.
fn number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '_'))
        .collect();
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The form of a record: a field per live field of its object (rollups are shown, not edited).
#[allow(clippy::too_many_arguments)]
pub(super) async fn form_fields(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object: &ObjectDef,
    values: &Map<String, Json>,
    people: &People,
    titles: &HashMap<Uuid, String>,
    prefix: &str,
) -> Vec<FormField> {
    let zone = person_zone(ctx, actor, tenant, object).await;
    // A custom object's stage is its board field's option.
    let stage = object
        .board_field
        .as_ref()
        .and_then(|b| values.get(b.as_str()))
        .and_then(Json::as_str);
    let mut out = Vec::new();
    for f in object
        .live_fields()
        .filter(|f| f.field_type != FieldType::Rollup)
    {
        let name = field_name(prefix, f.key.as_str());
        let v = values.get(f.key.as_str()).unwrap_or(&Json::Null);
        let text = || -> String {
            match v {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.as_f64().map(number_text).unwrap_or_default(),
                _ => String::new(),
            }
        };
        let mut field = match f.field_type {
            FieldType::LongText => FormField::new(&name, &f.label, "textarea", text()),
            FieldType::Email => FormField::new(&name, &f.label, "email", text()),
            FieldType::Phone => FormField::new(&name, &f.label, "tel", text()),
            FieldType::Url => FormField::new(&name, &f.label, "url", text()),
            FieldType::Number | FieldType::Percent => {
                let mut field = FormField::new(&name, &f.label, "number", text());
                field.min = f.min.map(number_text);
                field.max = f.max.map(number_text);
                field
            }
            FieldType::Date => FormField::new(&name, &f.label, "date", text()),
            FieldType::DateTime => {
                let local = v
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| {
                        t.with_timezone(&zone.tz())
                            .format("%Y-%m-%dT%H:%M")
                            .to_string()
                    })
                    .unwrap_or_else(text);
                let said = f.help.as_deref().map_or(String::new(), |h| format!("{h} "));
                FormField::new(&name, &f.label, "datetime-local", local)
                    .hint(format!("{said}In your time zone ({}).", zone.name()))
            }
            FieldType::Boolean => FormField::new(
                &name,
                &f.label,
                "checkbox",
                if v == &json!(true) { "true" } else { "" },
            ),
            FieldType::Money => {
                let (amount, currency) = match v {
                    Json::Object(o) => (
                        o.get("amount")
                            .and_then(Json::as_f64)
                            .map(|a| format!("{a:.2}"))
                            .unwrap_or_default(),
                        o.get("currency")
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    ),
                    Json::String(s) => (s.clone(), String::new()),
                    _ => (String::new(), String::new()),
                };
                let mut field = FormField::new(&name, &f.label, "money", amount);
                field.currency = if currency.is_empty() {
                    tenant.organization.currency.clone()
                } else {
                    currency
                };
                field
            }
            FieldType::Select | FieldType::MultiSelect => {
                let chosen: Vec<&str> = match v {
                    Json::String(s) => vec![s.as_str()],
                    Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
                    _ => Vec::new(),
                };
                let mut options: Vec<Choice> = Vec::new();
                // A required select with a value has nothing to offer for "none".
                let settled = f.required && (!chosen.is_empty() || f.default.is_some());
                if f.field_type == FieldType::Select && !settled {
                    options.push(Choice {
                        value: String::new(),
                        label: "—".into(),
                        selected: chosen.is_empty(),
                    });
                }
                options.extend(f.options.iter().map(|o| Choice {
                    selected: chosen.contains(&o.key.as_str()),
                    value: o.key.clone(),
                    label: o.label.clone(),
                }));
                let mut field = FormField::select(&name, &f.label, options);
                if f.field_type == FieldType::MultiSelect {
                    field.kind = "multiselect";
                }
                field
            }
            FieldType::Member => {
                let mut options = vec![Choice {
                    value: String::new(),
                    label: "—".into(),
                    selected: v.is_null(),
                }];
                options.extend(people.options(v.as_str().and_then(|s| s.parse().ok())));
                super::record_page::member_picker(&ctx.base, &name, &f.label, options)
            }
            FieldType::Relation => {
                let chosen: Vec<String> = match v {
                    Json::String(s) => vec![s.clone()],
                    Json::Array(items) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                let target = f.target.as_ref().map_or("", |t| t.as_str());
                let url = format!("{}/objects/{target}/choices", ctx.base);
                // The menu lists the first records (what a page without script chooses from).
                // One record: script makes it a combobox that asks the server as people type.
                // Several: typing above the menu finds the others.
                let mut found = ctx
                    .state
                    .app
                    .relation_choices(actor, tenant, target, "", CHOICES, &ctx.meta)
                    .await
                    .unwrap_or_default();
                let finder = (!f.many || found.len() as i64 >= CHOICES).then_some(url);
                // What the record points to stays a choice even beyond the first ones.
                for id in &chosen {
                    if let Ok(u) = id.parse::<Uuid>()
                        && !found.iter().any(|(f, _)| *f == u)
                    {
                        found.push((u, titles.get(&u).cloned().unwrap_or_else(|| id.clone())));
                    }
                }
                let mut options = Vec::new();
                if !f.many {
                    options.push(Choice {
                        value: String::new(),
                        label: "—".into(),
                        selected: chosen.is_empty(),
                    });
                }
                options.extend(found.into_iter().map(|(id, title)| Choice {
                    selected: chosen.contains(&id.to_string()),
                    value: id.to_string(),
                    label: title,
                }));
                let mut field = FormField::select(&name, &f.label, options);
                if f.many {
                    field.kind = "multiselect";
                }
                field.finder = finder;
                if !f.many && may_create(tenant, target) {
                    field.creates = Some(format!("{}/objects/{target}/quick", ctx.base));
                }
                if let [one] = chosen.as_slice() {
                    field.href = Some(record_href(&ctx.base, target, one));
                }
                field
            }
            _ => FormField::new(&name, &f.label, "text", text()),
        };
        field.required = f.required;
        if let Some(help) = &f.help
            && f.field_type != FieldType::DateTime
        {
            field.hint = help.clone();
        }
        field.read_only = tenant.field_access(object.key.as_str(), f.key.as_str(), stage)
            == rapport_domain::access::FieldAccess::ReadOnly;
        out.push(field);
    }
    out
}

async fn new_page(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    tenant: &Tenant,
    object: &ObjectDef,
    values: &Map<String, Json>,
) -> RecordPage {
    let app = &ctx.state.app;
    let people = People::load(app, &session.actor, tenant, &ctx.meta).await;
    let key = &object.key;
    let path = format!("{}/objects/{key}", ctx.base);
    let fields = form_fields(
        ctx,
        &session.actor,
        tenant,
        object,
        values,
        &people,
        &HashMap::new(),
        "values",
    )
    .await;
    RecordPage::form(
        shell(
            ctx,
            session,
            tenant,
            &format!("objects/{key}"),
            &[&object.plural, "New"],
        )
        .await,
        &format!("Add a {}", object.singular.to_lowercase()),
        format!("{path}/new"),
        "Add",
        path,
        fields,
    )
}

/// The defaults a new record's form starts from.
pub(super) fn defaults(object: &ObjectDef) -> Map<String, Json> {
    object
        .live_fields()
        .filter_map(|f| Some((f.key.to_string(), f.default.as_ref()?.to_json(f))))
        .collect()
}

pub async fn new_form(ctx: PageContext, Path(key): Path<String>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    if !may(&tenant, &key, Action::Create, Ownership::NotApplicable) {
        return Err(ApiError::forbidden().into());
    }
    let object = custom_object(&ctx, &session.actor, &tenant, &key).await?;
    Ok(render(
        &new_page(&ctx, session, &tenant, &object, &defaults(&object)).await,
    ))
}

fn csrf_of(raw: &[u8]) -> String {
    form_value(&form_pairs(raw), "_csrf")
}

fn owner_of(raw: &[u8]) -> Option<UserId> {
    form_value(&form_pairs(raw), "owner_id").parse().ok()
}

pub async fn create(
    ctx: PageContext,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    ctx.check_csrf(&csrf_of(&raw))?;
    let (session, tenant) = ctx.tenant().await?;
    let object = custom_object(&ctx, &session.actor, &tenant, &key).await?;
    let zone = person_zone(&ctx, &session.actor, &tenant, &object).await;
    let mut values = values_from_form(&object, &raw, "values", zone);
    // Left empty on a new record: the field's default applies, as when the API leaves it out.
    values.retain(|_, v| !v.is_null() && v != &json!([]));
    match ctx
        .state
        .app
        .create_record(
            &session.actor,
            &tenant,
            &key,
            &RecordInput {
                values: values.clone(),
                owner_id: None,
            },
            &ctx.meta,
        )
        .await
        .map_err(super::field_errors)
    {
        Ok(r) => Ok(see_other(&format!(
            "{}/objects/{key}/{}?saved=1",
            ctx.base, r.id
        ))),
        Err(AppError::Validation(errors)) => {
            let mut page = new_page(&ctx, session, &tenant, &object, &values).await;
            page.errors = FormErrors(errors.0);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e @ AppError::Conflict { .. }) => {
            let mut page = new_page(&ctx, session, &tenant, &object, &values).await;
            page.notice = Some(sentence(&e.to_string()));
            Ok(render_status(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn detail_page(
    ctx: &PageContext,
    key: &str,
    id: &str,
    submitted: Option<(&Map<String, Json>, Option<UserId>)>,
) -> Result<RecordPage, PageError> {
    let (session, tenant) = ctx.tenant().await?;
    let actor = &session.actor;
    let object = custom_object(ctx, actor, &tenant, key).await?;
    let record_id = id
        .parse::<RecordId>()
        .map_err(|_| PageError::from(ApiError::not_found()))?;
    let app = &ctx.state.app;
    let record = app
        .record(actor, &tenant, key, record_id, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let titles = app
        .relation_titles(&tenant, &object, &[&record.values])
        .await
        .unwrap_or_default();
    let base = &ctx.base;
    let path = format!("{base}/objects/{key}");
    let values = submitted.map_or(&record.values, |(v, _)| v);
    let mut fields = form_fields(
        ctx, actor, &tenant, &object, values, &people, &titles, "values",
    )
    .await;
    let own = tenant.relation(actor, record.owner_id);
    let owner = submitted.and_then(|(_, o)| o).unwrap_or(record.owner_id);
    fields.push(super::record_page::member_picker(
        &ctx.base,
        "owner_id",
        "Owner",
        people.options(Some(owner)),
    ));
    let title = display_title(&object, &record);
    let mut page = RecordPage::form(
        shell(
            ctx,
            session,
            &tenant,
            &format!("objects/{key}"),
            &[&object.plural, &title],
        )
        .await,
        &title,
        format!("{path}/{record_id}"),
        "Save changes",
        path.clone(),
        fields,
    );
    let figures: Vec<String> = object
        .live_fields()
        .filter(|f| f.field_type == FieldType::Rollup)
        .filter_map(|f| {
            let n = record.values.get(f.key.as_str())?.as_f64()?;
            Some(format!("{}: {}", f.label, number_text(n)))
        })
        .collect();
    let mut subtitle = vec![
        object.singular.clone(),
        format!("added {}", day(record.created_at.date_naive())),
    ];
    subtitle.extend(figures);
    page.subtitle = Some(subtitle.join(" · "));
    if let Some(field) = board_field(&object, None)
        && let Some(o) = record
            .values
            .get(field.key.as_str())
            .and_then(Json::as_str)
            .and_then(|k| field.option(k))
    {
        page.badges = vec![(
            format!("option tag-{}", o.color.as_deref().unwrap_or("gray")),
            o.label.clone(),
        )];
        page.pill = Some(format!("values.{}", field.key));
    }
    page.owner = Some((
        people.initials(record.owner_id),
        people.name(record.owner_id),
    ));
    page.can_edit = may(&tenant, object.key.as_str(), Action::Edit, own);
    page.readonly_note = Some(format!(
        "You can read this {}; its owner, managers and admins can change it.",
        object.singular.to_lowercase()
    ));
    if may(&tenant, object.key.as_str(), Action::Delete, own) {
        page.delete_action = Some(format!("{path}/{record_id}/delete"));
        page.delete_confirm =
            format!("Delete {title}? You can restore it from recently deleted for 30 days.");
    }
    let (tags, tag_options) =
        super::record_page::tag_parts(ctx, actor, &tenant, "record", record_id.as_uuid()).await;
    page.tags = tags;
    if page.can_edit {
        page.tags_action = Some(format!("{base}/records/{record_id}/tags"));
        page.tag_options = tag_options;
    }
    // The other side of relations: what points at this record.
    page.related = inverse_sections(
        ctx,
        actor,
        &tenant,
        key,
        record_id.as_uuid(),
        &object.singular,
    )
    .await;
    page.tasks = Some(
        super::record_page::task_box(
            ctx,
            actor,
            &tenant,
            &people,
            ("record_id", record_id.to_string()),
            format!("{path}/{record_id}"),
        )
        .await,
    );
    page.clients = super::portal_settings::clients_box(
        ctx,
        actor,
        &tenant,
        RecordRef::Record(record_id),
        format!("{path}/{record_id}"),
        page.can_edit,
    )
    .await;
    page.files =
        super::files::files_box(ctx, actor, &tenant, &people, key, record_id.as_uuid()).await;
    page.timeline =
        Some(timeline_of(ctx, actor, &tenant, &people, RecordRef::Record(record_id)).await);
    page.live_channel = Some(format!("record:{key}:{record_id}"));
    page.kind = object.singular.clone();
    if tenant.may(Action::Create, Object::Activity, Ownership::NotApplicable) {
        page.comment_action = Some(format!("{path}/{record_id}/activities"));
    }
    Ok(page)
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    saved: Option<String>,
    comment_error: Option<String>,
    notice: Option<String>,
}

pub async fn detail(
    ctx: PageContext,
    Path((key, id)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<DetailQuery>,
) -> PageResult {
    match detail_page(&ctx, &key, &id, None).await {
        Ok(mut page) => {
            page.notice = match q
                .notice
                .as_deref()
                .and_then(super::record_page::link_notice)
            {
                Some(said) => Some(said.to_owned()),
                None => q.saved.map(|_| "Saved.".to_owned()),
            };
            page.comment_error = q.comment_error.map(|m| m.chars().take(200).collect());
            Ok(render(&page))
        }
        Err(p) => Err(p),
    }
}

pub async fn update(
    ctx: PageContext,
    Path((key, id)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> PageResult {
    ctx.check_csrf(&csrf_of(&raw))?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(record_id) = id.parse::<RecordId>() else {
        return Err(ApiError::not_found().into());
    };
    let object = custom_object(&ctx, &session.actor, &tenant, &key).await?;
    let zone = person_zone(&ctx, &session.actor, &tenant, &object).await;
    let mut values = values_from_form(&object, &raw, "values", zone);
    let mut owner = owner_of(&raw);
    let inline = inline_fields(&raw);
    if let Some(names) = &inline {
        keep_named(&mut values, "values", names);
        if !names.iter().any(|n| n == "owner_id") {
            owner = None;
        }
    }
    let result = ctx
        .state
        .app
        .update_record(
            &session.actor,
            &tenant,
            &key,
            record_id,
            &RecordInput {
                values: values.clone(),
                owner_id: owner,
            },
            &ctx.meta,
        )
        .await
        .map_err(super::field_errors);
    if inline.is_some() {
        return Ok(inline_answer(result));
    }
    match result {
        Ok(r) => Ok(see_other(&format!(
            "{}/objects/{key}/{}?saved=1",
            ctx.base, r.id
        ))),
        Err(AppError::Validation(errors)) => {
            match detail_page(&ctx, &key, &id, Some((&values, owner))).await {
                Ok(mut page) => {
                    page.errors = FormErrors(errors.0);
                    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
                }
                Err(p) => Err(p),
            }
        }
        Err(e @ AppError::Conflict { .. }) => {
            match detail_page(&ctx, &key, &id, Some((&values, owner))).await {
                Ok(mut page) => {
                    page.notice = Some(sentence(&e.to_string()));
                    Ok(render_status(StatusCode::CONFLICT, &page))
                }
                Err(p) => Err(p),
            }
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    ctx: PageContext,
    Path((key, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(record_id) = id.parse::<RecordId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .delete_record(&session.actor, &tenant, &key, record_id, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/objects/{key}", ctx.base))),
        Err(e) => Err(e.into()),
    }
}

pub async fn comment(
    ctx: PageContext,
    Path((key, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<super::deals::ActivityForm>,
) -> PageResult {
    let Ok(record_id) = id.parse::<RecordId>() else {
        return Err(ApiError::not_found().into());
    };
    let back = format!("{}/objects/{key}/{record_id}", ctx.base);
    match super::deals::add_activity(&ctx, RecordRef::Record(record_id), form, &back).await {
        Ok(()) => Ok(see_other(&format!("{back}#timeline"))),
        Err(r) => Err(r),
    }
}

/// Whether the member may change records of an object (their own ones at least).
fn may_change_some(tenant: &Tenant, object_key: &str) -> bool {
    tenant.may_kind(Action::Edit.into(), object_key, Ownership::Own)
}

/// The sections of a record's page listing the custom records whose relation fields point at
/// it (the other side of each relation), one per field.
pub(super) async fn inverse_sections(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object_key: &str,
    id: Uuid,
    singular: &str,
) -> Vec<Related> {
    let base = &ctx.base;
    ctx.state
        .app
        .inverse_relations(actor, tenant, object_key, id, &ctx.meta)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|inv| Related {
            // A relation to one record: a record that exists is linked by pointing it here.
            link: (!inv.many
                && inv.object.key.as_str() != "task"
                && may_change_some(tenant, inv.object.key.as_str()))
            .then(|| {
                let field = match inv.object.builtin {
                    true => format!("{}{}", super::kinds::CUSTOM, inv.field_key),
                    false => inv.field_key.clone(),
                };
                LinkBox::new(
                    base,
                    inv.object.key.as_str(),
                    &field,
                    id,
                    &inv.object.singular,
                    record_href(base, object_key, &id.to_string()),
                )
            }),
            total: None,
            title: format!("{} ({})", inv.object.plural, inv.field_label),
            empty: format!(
                "No {} point to this {} yet.",
                inv.object.plural.to_lowercase(),
                singular.to_lowercase()
            ),
            items: inv
                .items
                .into_iter()
                .map(|(id, t)| RelatedItem {
                    href: record_href(base, inv.object.key.as_str(), &id.to_string()),
                    text: if t.is_empty() { "Untitled".into() } else { t },
                    sub: String::new(),
                    badge: None,
                    badge_text: String::new(),
                })
                .collect(),
            add: None,
        })
        .collect()
}

/// The custom fields of a built-in object (its system fields have their own form), or `None`
/// when it has none.
pub(super) async fn custom_part(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object_key: &str,
) -> Option<ObjectDef> {
    let object = ctx
        .state
        .app
        .object(actor, tenant, object_key, &ctx.meta)
        .await
        .ok()?
        .def
        .custom_part();
    (!object.fields.is_empty()).then_some(object)
}

/// The form fields of a built-in record's custom values (named `custom.<key>`), after its own.
pub(super) async fn builtin_custom_fields(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object_key: &str,
    values: &Json,
) -> Vec<FormField> {
    let Some(object) = custom_part(ctx, actor, tenant, object_key).await else {
        return Vec::new();
    };
    let values = values.as_object().cloned().unwrap_or_default();
    let people = People::load(&ctx.state.app, actor, tenant, &ctx.meta).await;
    let titles = ctx
        .state
        .app
        .relation_titles(tenant, &object, &[&values])
        .await
        .unwrap_or_default();
    form_fields(
        ctx, actor, tenant, &object, &values, &people, &titles, "custom",
    )
    .await
}

/// The custom values a built-in record's form sent (`None` when the object has no custom
/// fields). On a new record, fields left empty are left out so their defaults apply.
pub(super) async fn builtin_custom_values(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    object_key: &str,
    raw: &[u8],
    creating: bool,
) -> Option<Map<String, Json>> {
    let object = custom_part(ctx, actor, tenant, object_key).await?;
    let zone = person_zone(ctx, actor, tenant, &object).await;
    let mut values = values_from_form(&object, raw, "custom", zone);
    if creating {
        values.retain(|_, v| !v.is_null() && v != &json!([]));
    }
    Some(values)
}

#[derive(Deserialize)]
pub struct ChoicesQuery {
    #[serde(default)]
    q: String,
}

/// `GET /objects/{key}/choices?q=`: the records of an object (custom or built-in) whose title
/// holds `q`, as JSON `[{id, title}]` for a relation menu's type-ahead (the first 50).
pub async fn choices(
    ctx: PageContext,
    Path(key): Path<String>,
    Query(q): Query<ChoicesQuery>,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let found = ctx
        .state
        .app
        .relation_choices(&session.actor, &tenant, &key, q.q.trim(), 50, &ctx.meta)
        .await?;
    let out: Vec<Json> = found
        .into_iter()
        .map(|(id, title)| json!({"id": id, "title": title}))
        .collect();
    Ok(axum::Json(out).into_response())
}

/// `POST /objects/{key}/bulk`: hands the records chosen in the list to a member, adds a tag to
/// them or deletes them, each on its own, then the list again saying what was done.
pub async fn bulk(ctx: PageContext, Path(key): Path<String>, RawForm(raw): RawForm) -> PageResult {
    let list = format!("{}/objects/{key}", ctx.base);
    let form = super::lists::BulkForm::read(&ctx, &raw, &list)?;
    let (session, tenant) = ctx.tenant().await?;
    let actor = &session.actor;
    let object = custom_object(&ctx, actor, &tenant, &key).await?;
    let app = &ctx.state.app;
    let offered = super::lists::select_choices(&object.live_fields().collect::<Vec<_>>(), "");
    let (mut changed, mut refused) = (0, Vec::new());
    for &id in &form.ids {
        let record = RecordId(id);
        let result = match (form.action.as_str(), form.owner, form.tag) {
            ("owner", Some(owner), _) => {
                let input = RecordInput {
                    values: Map::new(),
                    owner_id: Some(owner),
                };
                app.update_record(actor, &tenant, &key, record, &input, &ctx.meta)
                    .await
                    .map(|_| ())
            }
            ("tag", _, Some(tag)) => {
                let t = rapport_app::tags::Taggable::Record(record);
                super::lists::add_tag(&ctx, actor, &tenant, t, tag).await
            }
            ("delete", _, _) => {
                app.delete_record(actor, &tenant, &key, record, &ctx.meta)
                    .await
            }
            ("set", _, _) if form.set_among(&offered).is_some() => {
                let (field, option) = form.set_among(&offered).unwrap_or_default();
                let input = RecordInput {
                    values: Map::from_iter([(field.to_owned(), Json::from(option))]),
                    owner_id: None,
                };
                app.update_record(actor, &tenant, &key, record, &input, &ctx.meta)
                    .await
                    .map(|_| ())
            }
            _ => {
                let why = "choose what to do with the records: to whom, which tag or which value";
                return Err(ApiError::bad_request("bulk_action", why).into());
            }
        };
        match result {
            Ok(()) => changed += 1,
            Err(e) => refused.push(e),
        }
    }
    let (one, many) = (object.singular.to_lowercase(), object.plural.to_lowercase());
    Ok(form.done(changed, &refused, &one, &many))
}

#[derive(Deserialize)]
pub struct QuickForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    title: String,
}

/// `POST /objects/{key}/quick`: a record of an object named by `title` alone, added from a
/// relation's combobox ("Create “…”"): 201 with JSON `{id, title}`, or the problem (the other
/// fields it needs named).
pub async fn quick_create(
    ctx: PageContext,
    Path(key): Path<String>,
    axum::Form(form): axum::Form<QuickForm>,
) -> PageResult {
    use rapport_app::changes::RecordChange;
    use rapport_app::model::{Company, Contact, Deal, Lead};
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let (actor, title) = (&session.actor, form.title.trim());
    async fn quick<K: super::kinds::WebKind>(
        ctx: &PageContext,
        actor: &Actor,
        tenant: &Tenant,
        field: &str,
        title: &str,
    ) -> Result<(Uuid, String), AppError> {
        let app = &ctx.state.app;
        let made = app
            .create::<K>(actor, tenant, RecordChange::of(field, title), &ctx.meta)
            .await?;
        Ok((made.id().into(), made.name().to_owned()))
    }
    let made = match key.as_str() {
        "company" => quick::<Company>(&ctx, actor, &tenant, "name", title).await,
        "contact" => quick::<Contact>(&ctx, actor, &tenant, "name", title).await,
        "lead" => quick::<Lead>(&ctx, actor, &tenant, "name", title).await,
        "deal" => quick::<Deal>(&ctx, actor, &tenant, "title", title).await,
        "task" => return Err(ApiError::not_found().into()),
        _ => {
            let object = custom_object(&ctx, actor, &tenant, &key).await?;
            let mut values = Map::new();
            values.insert(object.primary_field.to_string(), json!(title));
            let input = RecordInput {
                values,
                owner_id: None,
            };
            let app = &ctx.state.app;
            app.create_record(actor, &tenant, &key, &input, &ctx.meta)
                .await
                .map(|r| (r.id.as_uuid(), display_title(&object, &r)))
        }
    };
    Ok(match made {
        Ok((id, title)) => (
            StatusCode::CREATED,
            axum::Json(json!({"id": id, "title": title})),
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    })
}

/// `/records/{id}`: a custom record by id alone (notifications link here), sent to its page.
pub async fn by_id(
    ctx: PageContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let Ok(record_id) = id.parse::<RecordId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .record_object(&session.actor, &tenant, record_id, &ctx.meta)
        .await
    {
        Ok(key) => {
            // A notice asked for (`?saved=1` after tags are saved) goes along.
            let query = raw
                .filter(|q| q.starts_with("saved=") || q.starts_with("notice="))
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            Ok(see_other(&format!(
                "{}/objects/{key}/{record_id}{query}",
                ctx.base
            )))
        }
        Err(e) => Err(e.into()),
    }
}
