//! Settings → Objects and fields: owners and admins define custom objects and their fields —
//! create, rename, reorder, retype, archive — with a preview of the record form as it will look.

use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use rapport_app::AppError;
use rapport_app::objects::{FieldInput, ObjectInput, ObjectView};
use rapport_domain::schema::{COLORS, FieldDef, FieldType, ObjectDef, OptionInput};
use serde::Deserialize;

use super::record_page::FormField;
use super::records::Choice;
use super::settings::{Tab, admin, tabs};
use super::workspace::Shell;
use super::{
    FormErrors, PageContext, PageError, PageResult, form_pairs, form_value, render, render_status,
    see_other, sentence,
};

/// A field's row in the settings: what it is, and its edit form's current values.
pub struct FieldRow {
    pub key: String,
    pub label: String,
    pub type_label: &'static str,
    pub field_type: &'static str,
    pub help: String,
    pub required: bool,
    pub unique: bool,
    pub archived: bool,
    pub builtin: bool,
    pub primary: bool,
    pub first: bool,
    pub last: bool,
    pub target: String,
    pub many: bool,
    pub min: String,
    pub max: String,
    /// Options (select, multi-select), then blank rows to add more.
    pub options: Vec<OptionRow>,
    /// The row's form is open (it was just refused).
    pub open: bool,
    pub errors: FormErrors,
    pub error: Option<String>,
}

pub struct OptionRow {
    pub key: String,
    pub label: String,
    pub color: String,
}

pub struct ObjectRow {
    pub key: String,
    pub singular: String,
    pub plural: String,
    /// The icon's name, and what it shows.
    pub icon: String,
    pub glyph: String,
    pub color: String,
    pub fields: usize,
    pub builtin: bool,
    pub href: String,
    /// Its records' list.
    pub records: String,
}

#[derive(Template)]
#[template(path = "settings_objects.html")]
struct ObjectsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    objects: Vec<ObjectRow>,
    colors: &'static [&'static str],
    icons: &'static [(&'static str, &'static str)],
    form: NewObjectForm,
    errors: FormErrors,
    notice: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct NewObjectForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    singular: String,
    #[serde(default)]
    plural: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    icon: String,
    #[serde(default)]
    color: String,
}

#[derive(Template)]
#[template(path = "settings_object.html")]
struct ObjectPage {
    shell: Shell,
    tabs: Vec<Tab>,
    object: ObjectRow,
    primary_choices: Vec<Choice>,
    board_choices: Vec<Choice>,
    colors: &'static [&'static str],
    icons: &'static [(&'static str, &'static str)],
    fields: Vec<FieldRow>,
    types: Vec<Choice>,
    targets: Vec<Choice>,
    preview: Vec<FormField>,
    new_field: FieldRow,
    object_errors: FormErrors,
    notice: Option<String>,
    records_href: String,
}

fn object_row(base: &str, o: &ObjectView) -> ObjectRow {
    let d = &o.def;
    ObjectRow {
        key: d.key.to_string(),
        singular: d.singular.clone(),
        plural: d.plural.clone(),
        icon: d.icon.clone().unwrap_or_default(),
        glyph: super::workspace::glyph(d.icon.as_deref(), &d.plural),
        color: d.color.clone().unwrap_or_else(|| "gray".into()),
        fields: d.live_fields().count(),
        builtin: d.builtin,
        href: format!("{base}/settings/objects/{}", d.key),
        records: records_href(base, d),
    }
}

/// Where an object's records are listed: a built-in kind's own list, else the engine's.
fn records_href(base: &str, d: &ObjectDef) -> String {
    let builtin = match d.key.as_str() {
        "company" => Some("companies"),
        "contact" => Some("contacts"),
        "lead" => Some("leads"),
        "deal" => Some("deals"),
        "task" => Some("tasks"),
        _ => None,
    };
    match builtin.filter(|_| d.builtin) {
        Some(path) => format!("{base}/{path}"),
        None => format!("{base}/objects/{}", d.key),
    }
}

#[derive(Deserialize)]
pub struct Notice {
    saved: Option<String>,
}

fn notice_of(q: &Notice) -> Option<String> {
    q.saved.as_deref().map(|s| {
        match s {
            "object" => "Object created. Add its fields below; its records are in the sidebar.",
            "field" => "Field added.",
            "archived" => "Field archived: hidden everywhere, its values kept.",
            "restored" => "Field restored with its values.",
            "deleted" => "Object moved to recently deleted, with its records.",
            _ => "Changes saved.",
        }
        .to_owned()
    })
}

async fn objects_page(
    ctx: &PageContext,
    form: NewObjectForm,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<ObjectsPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Objects").await?;
    let catalog = ctx
        .state
        .app
        .objects_to_define(&actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let mut objects: Vec<ObjectRow> = catalog
        .objects
        .iter()
        .map(|o| object_row(&ctx.base, o))
        .collect();
    // Custom objects first: they are what this page is for.
    objects.sort_by_key(|o| o.builtin);
    Ok(ObjectsPage {
        tabs: tabs(&ctx.base, "objects"),
        shell,
        objects,
        colors: &COLORS,
        icons: &super::workspace::ICONS,
        form,
        errors,
        notice,
    })
}

pub async fn list(ctx: PageContext, Query(q): Query<Notice>) -> PageResult {
    match objects_page(
        &ctx,
        NewObjectForm::default(),
        FormErrors::default(),
        notice_of(&q),
    )
    .await
    {
        Ok(page) => Ok(render(&page)),
        Err(p) => Err(p),
    }
}

pub async fn new_form(ctx: PageContext) -> PageResult {
    list(ctx, Query(Notice { saved: None })).await
}

fn blank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub async fn create(ctx: PageContext, axum::Form(form): axum::Form<NewObjectForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Objects").await?;
    let key = blank(&form.key)
        .unwrap_or_else(|| rapport_domain::schema::key_from_label(form.singular.trim()));
    let input = ObjectInput {
        key: Some(key),
        singular: Some(form.singular.clone()),
        plural: Some(form.plural.clone()),
        icon: Some(blank(&form.icon)),
        color: Some(blank(&form.color)),
        primary_field: None,
        board_field: None,
    };
    match ctx
        .state
        .app
        .create_object(&actor, &tenant, input, &ctx.meta)
        .await
    {
        Ok(o) => Ok(see_other(&format!(
            "{}/settings/objects/{}?saved=object",
            ctx.base, o.def.key
        ))),
        Err(AppError::Validation(errors)) => {
            refused(
                &ctx,
                form,
                FormErrors(errors.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict { message, .. }) => {
            let errors = FormErrors(vec![rapport_domain::FieldError {
                field: "key".into(),
                message,
            }]);
            refused(&ctx, form, errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn refused(
    ctx: &PageContext,
    form: NewObjectForm,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    match objects_page(ctx, form, errors, None).await {
        Ok(page) => Ok(render_status(status, &page)),
        Err(p) => Err(p),
    }
}

fn option_rows(f: Option<&FieldDef>, blanks: usize) -> Vec<OptionRow> {
    let mut rows: Vec<OptionRow> = f
        .map(|f| {
            f.options
                .iter()
                .map(|o| OptionRow {
                    key: o.key.clone(),
                    label: o.label.clone(),
                    color: o.color.clone().unwrap_or_else(|| "gray".into()),
                })
                .collect()
        })
        .unwrap_or_default();
    let start = rows.len();
    rows.extend((0..blanks).map(|i| OptionRow {
        key: String::new(),
        label: String::new(),
        color: COLORS[(start + i + 1) % COLORS.len()].to_owned(),
    }));
    rows
}

fn number_setting(n: Option<f64>) -> String {
    n.map(rapport_domain::values::number_text)
        .unwrap_or_default()
}

fn field_row(object: &ObjectDef, f: &FieldDef, i: usize, count: usize) -> FieldRow {
    FieldRow {
        key: f.key.to_string(),
        label: f.label.clone(),
        type_label: f.field_type.label(),
        field_type: f.field_type.as_str(),
        help: f.help.clone().unwrap_or_default(),
        required: f.required,
        unique: f.unique,
        archived: f.archived,
        builtin: f.builtin,
        primary: f.key == object.primary_field,
        first: i == 0,
        last: i + 1 == count,
        target: f.target.as_ref().map(|t| t.to_string()).unwrap_or_default(),
        many: f.many,
        min: number_setting(f.min),
        max: number_setting(f.max),
        options: option_rows(Some(f), 2),
        open: false,
        errors: FormErrors::default(),
        error: None,
    }
}

fn new_field_row() -> FieldRow {
    FieldRow {
        key: String::new(),
        label: String::new(),
        type_label: FieldType::Text.label(),
        field_type: FieldType::Text.as_str(),
        help: String::new(),
        required: false,
        unique: false,
        archived: false,
        builtin: false,
        primary: false,
        first: false,
        last: false,
        target: String::new(),
        many: false,
        min: String::new(),
        max: String::new(),
        options: option_rows(None, 5),
        open: false,
        errors: FormErrors::default(),
        error: None,
    }
}

/// The record form as the object's fields make it, for the preview.
fn preview(object: &ObjectDef) -> Vec<FormField> {
    object
        .live_fields()
        .map(|f| {
            let kind = match f.field_type {
                FieldType::LongText => "textarea",
                FieldType::Boolean => "checkbox",
                FieldType::Select
                | FieldType::MultiSelect
                | FieldType::Member
                | FieldType::Relation => "select",
                FieldType::Date => "date",
                FieldType::Number | FieldType::Percent | FieldType::Rollup => "number",
                _ => "text",
            };
            let mut field = FormField::new(format!("preview-{}", f.key), &f.label, kind, "");
            field.required = f.required;
            if let Some(h) = &f.help {
                field.hint = h.clone();
            }
            if f.field_type == FieldType::Select || f.field_type == FieldType::MultiSelect {
                field.options = f
                    .options
                    .iter()
                    .take(1)
                    .map(|o| Choice {
                        value: o.key.clone(),
                        label: o.label.clone(),
                        selected: false,
                    })
                    .collect();
            }
            field
        })
        .collect()
}

async fn object_page(
    ctx: &PageContext,
    key: &str,
    notice: Option<String>,
    adjust: impl FnOnce(&mut ObjectPage),
) -> Result<ObjectPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Objects").await?;
    let catalog = ctx
        .state
        .app
        .objects_to_define(&actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let view = catalog
        .get(key)
        .ok_or_else(|| PageError::from(crate::error::ApiError::not_found()))?;
    let object = &view.def;
    // A built-in object's system fields come first and stay put; its own fields move among
    // themselves.
    let movable = object.fields.iter().filter(|f| !f.builtin).count();
    let offset = object.fields.len() - movable;
    let fields = object
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| field_row(object, f, i.saturating_sub(offset), movable))
        .collect();
    let texts = |t: FieldType| {
        object
            .live_fields()
            .filter(move |f| f.field_type == t)
            .map(|f| Choice {
                value: f.key.to_string(),
                label: f.label.clone(),
                selected: false,
            })
    };
    let primary_choices = texts(FieldType::Text)
        .map(|mut c| {
            c.selected = c.value == object.primary_field.as_str();
            c
        })
        .collect();
    let mut board_choices = vec![Choice {
        value: String::new(),
        label: "No board".into(),
        selected: object.board_field.is_none(),
    }];
    board_choices.extend(texts(FieldType::Select).map(|mut c| {
        c.selected = object
            .board_field
            .as_ref()
            .is_some_and(|b| b.as_str() == c.value);
        c
    }));
    let types = FieldType::ALL
        .iter()
        .map(|t| Choice {
            value: t.as_str().into(),
            label: t.label().into(),
            selected: false,
        })
        .collect();
    let targets = catalog
        .objects
        .iter()
        .map(|o| Choice {
            value: o.def.key.to_string(),
            label: o.def.plural.clone(),
            selected: false,
        })
        .collect();
    let mut page = ObjectPage {
        tabs: tabs(&ctx.base, "objects"),
        shell,
        object: object_row(&ctx.base, view),
        primary_choices,
        board_choices,
        colors: &COLORS,
        icons: &super::workspace::ICONS,
        fields,
        types,
        targets,
        preview: preview(object),
        new_field: new_field_row(),
        object_errors: FormErrors::default(),
        notice,
        records_href: records_href(&ctx.base, object),
    };
    adjust(&mut page);
    Ok(page)
}

pub async fn edit(
    ctx: PageContext,
    Path(key): Path<String>,
    Query(q): Query<Notice>,
) -> PageResult {
    match object_page(&ctx, &key, notice_of(&q), |_| {}).await {
        Ok(page) => Ok(render(&page)),
        Err(p) => Err(p),
    }
}

/// A posted form of these settings: its fields, once its CSRF token and the caller's role are
/// checked.
async fn admin_form(
    ctx: &PageContext,
    raw: &[u8],
) -> Result<
    (
        Vec<(String, String)>,
        rapport_app::Actor,
        rapport_app::Tenant,
    ),
    PageError,
> {
    let form = form_pairs(raw);
    ctx.check_csrf(&form_value(&form, "_csrf"))?;
    let (actor, tenant, _) = admin(ctx, "settings", "Objects").await?;
    Ok((form, actor, tenant))
}

pub async fn save(ctx: PageContext, Path(key): Path<String>, RawForm(raw): RawForm) -> PageResult {
    let (form, actor, tenant) = admin_form(&ctx, &raw).await?;
    let input = ObjectInput {
        key: None,
        singular: Some(form_value(&form, "singular")),
        plural: Some(form_value(&form, "plural")),
        icon: Some(blank(&form_value(&form, "icon"))),
        color: Some(blank(&form_value(&form, "color"))),
        primary_field: blank(&form_value(&form, "primary_field")),
        board_field: Some(blank(&form_value(&form, "board_field"))),
    };
    match ctx
        .state
        .app
        .update_object(&actor, &tenant, &key, input, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/objects/{key}?saved=1",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            match object_page(&ctx, &key, None, |p| p.object_errors = FormErrors(errors.0)).await {
                Ok(page) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)),
                Err(p) => Err(p),
            }
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    ctx: PageContext,
    Path(key): Path<String>,
    axum::Form(form): axum::Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Objects").await?;
    match ctx
        .state
        .app
        .delete_object(&actor, &tenant, &key, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/objects?saved=deleted",
            ctx.base
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The options a field form names: rows of key (kept for existing ones), label and colour; rows
/// left without a label are dropped.
fn options_of(form: &[(String, String)]) -> Vec<OptionInput> {
    let keys: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "option_key")
        .map(|(_, v)| v.as_str())
        .collect();
    let labels: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "option_label")
        .map(|(_, v)| v.as_str())
        .collect();
    let colors: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "option_color")
        .map(|(_, v)| v.as_str())
        .collect();
    labels
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| OptionInput {
            key: keys.get(i).and_then(|k| blank(k)),
            label: Some(l.trim().to_owned()),
            color: colors.get(i).and_then(|c| blank(c)),
        })
        .collect()
}

fn limit(form: &[(String, String)], name: &str) -> Result<Option<f64>, String> {
    match blank(&form_value(form, name)) {
        None => Ok(None),
        Some(s) => s
            .replace([',', ' '], "")
            .parse::<f64>()
            .map(Some)
            .map_err(|_| "must be a number".to_owned()),
    }
}

/// A field form's settings as the engine takes them; `creating` adds key, target and many.
fn field_input(form: &[(String, String)], creating: bool) -> Result<FieldInput, FormErrors> {
    let checked = |name: &str| form.iter().any(|(k, v)| k == name && v == "1");
    let field_type = form_value(form, "type");
    let (min, max) = (limit(form, "min"), limit(form, "max"));
    let mut errors = Vec::new();
    for (name, r) in [("min", &min), ("max", &max)] {
        if let Err(m) = r {
            errors.push(rapport_domain::FieldError {
                field: name.into(),
                message: m.clone(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(FormErrors(errors));
    }
    let typed = FieldType::parse(&field_type).ok();
    let with_options = matches!(typed, Some(FieldType::Select | FieldType::MultiSelect));
    let with_limits = typed.is_some_and(|t| t.is_numeric() || t.is_textual());
    Ok(FieldInput {
        key: if creating {
            blank(&form_value(form, "key"))
        } else {
            None
        },
        label: Some(form_value(form, "label")),
        field_type: Some(field_type),
        help: Some(blank(&form_value(form, "help"))),
        required: Some(checked("required")),
        unique: Some(checked("unique")),
        archived: None,
        options: with_options.then(|| options_of(form)),
        target: if creating {
            blank(&form_value(form, "target"))
        } else {
            None
        },
        many: creating.then(|| checked("many")),
        min: with_limits.then(|| min.ok().flatten()),
        max: with_limits.then(|| max.ok().flatten()),
        default: None,
        rollup: None,
    })
}

/// Field errors as the form names them: `options[2].label` is shown on the options.
fn field_errors(errors: Vec<rapport_domain::FieldError>) -> FormErrors {
    FormErrors(
        errors
            .into_iter()
            .map(|e| rapport_domain::FieldError {
                field: if e.field.starts_with("options") {
                    "options".into()
                } else {
                    e.field
                },
                message: e.message,
            })
            .collect(),
    )
}

/// The row as it was sent, to show it again with what was wrong.
fn refused_row(
    form: &[(String, String)],
    base: FieldRow,
    errors: FormErrors,
    error: Option<String>,
) -> FieldRow {
    let options: Vec<OptionRow> = {
        let keys: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "option_key")
            .map(|(_, v)| v.clone())
            .collect();
        let labels: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "option_label")
            .map(|(_, v)| v.clone())
            .collect();
        let colors: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "option_color")
            .map(|(_, v)| v.clone())
            .collect();
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| OptionRow {
                key: keys.get(i).cloned().unwrap_or_default(),
                label: l.clone(),
                color: colors.get(i).cloned().unwrap_or_else(|| "gray".into()),
            })
            .collect()
    };
    let checked = |name: &str| form.iter().any(|(k, v)| k == name && v == "1");
    let typed = FieldType::parse(&form_value(form, "type")).unwrap_or(FieldType::Text);
    FieldRow {
        key: if base.key.is_empty() {
            form_value(form, "key")
        } else {
            base.key
        },
        label: form_value(form, "label"),
        type_label: typed.label(),
        field_type: typed.as_str(),
        help: form_value(form, "help"),
        required: checked("required"),
        unique: checked("unique"),
        target: if base.target.is_empty() {
            form_value(form, "target")
        } else {
            base.target
        },
        many: checked("many") || base.many,
        min: form_value(form, "min"),
        max: form_value(form, "max"),
        options: if options.is_empty() {
            base.options
        } else {
            options
        },
        open: true,
        errors,
        error,
        ..base
    }
}

pub async fn add_field(
    ctx: PageContext,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let (form, actor, tenant) = admin_form(&ctx, &raw).await?;
    let result = match field_input(&form, true) {
        Ok(input) => {
            ctx.state
                .app
                .create_field(&actor, &tenant, &key, input, &ctx.meta)
                .await
        }
        Err(errors) => Err(AppError::Validation(rapport_domain::ValidationErrors(
            errors.0,
        ))),
    };
    let (errors, status) = match result {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}/settings/objects/{key}?saved=field#fields",
                ctx.base
            )));
        }
        Err(AppError::Validation(errors)) => {
            (field_errors(errors.0), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AppError::Conflict { code, message }) => {
            let field = if code == "field_key_taken" {
                "key"
            } else {
                "label"
            };
            (
                FormErrors(vec![rapport_domain::FieldError {
                    field: field.into(),
                    message,
                }]),
                StatusCode::CONFLICT,
            )
        }
        Err(other) => return Err(other.into()),
    };
    match object_page(&ctx, &key, None, |p| {
        p.new_field = refused_row(&form, new_field_row(), errors, None);
    })
    .await
    {
        Ok(page) => Ok(render_status(status, &page)),
        Err(p) => Err(p),
    }
}

pub async fn save_field(
    ctx: PageContext,
    Path((key, field)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> PageResult {
    let (form, actor, tenant) = admin_form(&ctx, &raw).await?;
    let result = match field_input(&form, false) {
        Ok(input) => {
            ctx.state
                .app
                .update_field(&actor, &tenant, &key, &field, input, &ctx.meta)
                .await
        }
        Err(errors) => Err(AppError::Validation(rapport_domain::ValidationErrors(
            errors.0,
        ))),
    };
    let (errors, error, status) = match result {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}/settings/objects/{key}?saved=1#field-{field}",
                ctx.base
            )));
        }
        Err(AppError::Validation(errors)) => (
            field_errors(errors.0),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::NotConvertible { count, .. }) => (
            FormErrors(vec![rapport_domain::FieldError {
                field: "type".into(),
                message: format!(
                    "can't change: {count} stored {} would not convert. Nothing was changed; fix or clear {} first, or add a new field.",
                    if count == 1 { "value" } else { "values" },
                    if count == 1 { "it" } else { "them" }
                ),
            }]),
            None,
            StatusCode::CONFLICT,
        ),
        Err(AppError::Conflict { message, .. }) => (
            FormErrors::default(),
            Some(sentence(&message)),
            StatusCode::CONFLICT,
        ),
        Err(e) => return Err(e.into()),
    };
    match object_page(&ctx, &key, None, |p| {
        if let Some(row) = p.fields.iter_mut().find(|r| r.key == field) {
            let base = std::mem::replace(row, new_field_row());
            *row = refused_row(&form, base, errors, error);
        }
    })
    .await
    {
        Ok(page) => Ok(render_status(status, &page)),
        Err(p) => Err(p),
    }
}

pub async fn archive_field(
    ctx: PageContext,
    Path((key, field)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> PageResult {
    let (form, actor, tenant) = admin_form(&ctx, &raw).await?;
    let restore = form_value(&form, "restore") == "1";
    let input = FieldInput {
        archived: Some(!restore),
        ..FieldInput::default()
    };
    match ctx
        .state
        .app
        .update_field(&actor, &tenant, &key, &field, input, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/objects/{key}?saved={}#fields",
            ctx.base,
            if restore { "restored" } else { "archived" }
        ))),
        Err(e @ (AppError::Conflict { .. } | AppError::Validation(_))) => {
            let message = match &e {
                AppError::Validation(v) => {
                    v.0.first()
                        .map(|x| sentence(&format!("{} {}", x.field, x.message)))
                        .unwrap_or_default()
                }
                other => sentence(&other.to_string()),
            };
            match object_page(&ctx, &key, Some(message), |_| {}).await {
                Ok(page) => Ok(render_status(StatusCode::CONFLICT, &page)),
                Err(p) => Err(p),
            }
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn move_field(
    ctx: PageContext,
    Path((key, field)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> PageResult {
    let (form, actor, tenant) = admin_form(&ctx, &raw).await?;
    let up = form_value(&form, "direction") == "up";
    match ctx
        .state
        .app
        .move_field(&actor, &tenant, &key, &field, up, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/objects/{key}#field-{field}",
            ctx.base
        ))),
        Err(e) => Err(e.into()),
    }
}
