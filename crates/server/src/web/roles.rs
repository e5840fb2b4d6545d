//! Settings → Roles: the organization's roles, a new one from a copy, and each role's page with
//! its permission matrix (every kind of record × its actions, a scope in each cell) that saves
//! as cells change, a summary of what the role may do, and its details.

use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rapport_app::AppError;
use rapport_app::fields::RuleKind;
use rapport_app::roles::{NewRole, PermissionKind, RoleChange, RoleView};
use rapport_domain::Role;
use rapport_domain::access::{FieldAccess, Grants, RecordAction, Scope};
use serde::Deserialize;
use serde_json::json;

use super::settings::{RoleOption, Tab, admin, tabs};
use super::workspace::Shell;
use super::{
    FormErrors, PageContext, PageError, PageResult, form_pairs, form_value, render, render_status,
    see_other,
};

/// One role of the list.
pub struct RoleRow {
    pub key: String,
    pub name: String,
    pub description: String,
    pub level: String,
    pub members: i64,
    pub system: bool,
}

#[derive(Template)]
#[template(path = "settings_roles.html")]
struct RolesPage {
    shell: Shell,
    tabs: Vec<Tab>,
    roles: Vec<RoleRow>,
    /// The roles a new one may copy.
    sources: Vec<RoleOption>,
    name: String,
    description: String,
    copy_of: String,
    errors: FormErrors,
    notice: Option<String>,
}

/// One cell of the matrix.
pub struct Cell {
    /// `kind.action`, the form field's name.
    pub name: String,
    pub label: String,
    /// Empty when the kind has no such action.
    pub options: Vec<(&'static str, &'static str, bool)>,
}

pub struct MatrixRow {
    pub key: String,
    pub name: String,
    pub cells: Vec<Cell>,
}

/// One field's row of the field rules: its access, and the stages a read-only rule holds at.
pub struct FieldRow {
    /// `kind.field`, the access menu's name (`kind.field.stages` for its stages).
    pub name: String,
    pub label: String,
    /// (value, label, chosen, offered)
    pub options: Vec<(&'static str, &'static str, bool, bool)>,
    pub read_only: bool,
    /// (value, label, chosen)
    pub stages: Vec<(String, String, bool)>,
}

/// One kind's field rules.
pub struct FieldKind {
    pub key: String,
    pub name: String,
    /// How many of its fields have a rule.
    pub ruled: usize,
    pub has_stages: bool,
    pub rows: Vec<FieldRow>,
}

/// The field rules' rows of every kind, as `grants` has them.
fn field_kinds(grants: &Grants, kinds: &[RuleKind]) -> Vec<FieldKind> {
    kinds
        .iter()
        .map(|kind| {
            let rules = grants.fields.get(&kind.key);
            let rows: Vec<FieldRow> = kind
                .fields
                .iter()
                .map(|field| {
                    let rule = rules.and_then(|r| r.get(&field.key));
                    let access = rule.map_or(FieldAccess::Editable, |r| r.access);
                    let stages = kind
                        .stages
                        .iter()
                        .map(|(value, label)| {
                            // A stage key alone holds in every pipeline.
                            let key = value.rsplit_once('/').map_or(value.as_str(), |(_, k)| k);
                            let chosen = rule
                                .is_some_and(|r| r.stages.iter().any(|s| s == value || s == key));
                            (value.clone(), label.clone(), chosen)
                        })
                        .collect();
                    FieldRow {
                        name: format!("{}.{}", kind.key, field.key),
                        label: field.label.clone(),
                        options: FieldAccess::ALL
                            .into_iter()
                            .map(|a| {
                                let offered = match a {
                                    FieldAccess::Editable => true,
                                    FieldAccess::ReadOnly => field.may_lock,
                                    FieldAccess::Hidden => field.may_hide,
                                };
                                (a.as_str(), a.label(), a == access, offered || a == access)
                            })
                            .collect(),
                        read_only: access == FieldAccess::ReadOnly,
                        stages,
                    }
                })
                .collect();
            FieldKind {
                key: kind.key.clone(),
                name: kind.name.clone(),
                ruled: rules.map_or(0, |r| {
                    r.keys()
                        .filter(|k| kind.fields.iter().any(|f| &f.key == *k))
                        .count()
                }),
                has_stages: !kind.stages.is_empty(),
                rows,
            }
        })
        .filter(|k| !k.rows.is_empty())
        .collect()
}

/// What the field rules say, in sentences: the fields hidden, and those read-only (always or at
/// some stages), with their kinds.
pub fn field_summary(grants: &Grants, kinds: &[RuleKind]) -> Vec<String> {
    let mut hidden = Vec::new();
    let mut locked = Vec::new();
    for kind in kinds {
        let Some(rules) = grants.fields.get(&kind.key) else {
            continue;
        };
        for field in &kind.fields {
            let Some(rule) = rules.get(&field.key) else {
                continue;
            };
            let named = format!("{} ({})", field.label, kind.name);
            match rule.access {
                FieldAccess::Hidden => hidden.push(named),
                FieldAccess::ReadOnly if rule.stages.is_empty() => locked.push(named),
                FieldAccess::ReadOnly => {
                    let at: Vec<String> = kind
                        .stages
                        .iter()
                        .filter(|(value, _)| {
                            let key = value.rsplit_once('/').map_or(value.as_str(), |(_, k)| k);
                            rule.stages.iter().any(|s| s == value || s == key)
                        })
                        .map(|(_, label)| label.clone())
                        .collect();
                    locked.push(format!("{named} at {}", joined_or(&at)));
                }
                FieldAccess::Editable => {}
            }
        }
    }
    let mut lines = Vec::new();
    if !hidden.is_empty() {
        lines.push(format!("Never sees: {}.", joined(&hidden)));
    }
    if !locked.is_empty() {
        lines.push(format!("Sees but cannot change: {}.", joined(&locked)));
    }
    lines
}

/// Names joined with "or": "A", "A or B", "A, B or C".
fn joined_or(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[derive(Template)]
#[template(path = "settings_role.html")]
struct RolePage {
    shell: Shell,
    tabs: Vec<Tab>,
    key: String,
    name: String,
    description: String,
    level: String,
    system: bool,
    editable: bool,
    members: i64,
    columns: Vec<&'static str>,
    rows: Vec<MatrixRow>,
    field_kinds: Vec<FieldKind>,
    summary: Vec<String>,
    levels: Vec<(&'static str, &'static str, bool)>,
    move_choices: Vec<RoleOption>,
    errors: FormErrors,
    notice: Option<String>,
}

fn level_label(level: Role) -> &'static str {
    match level {
        Role::Owner => "Owner",
        Role::Admin => "Admin: runs the organization",
        Role::Manager => "Manager",
        Role::Member => "Member",
        Role::Viewer => "Viewer",
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn notice_of(done: Option<&str>) -> Option<String> {
    match done {
        Some("created") => Some(
            "Role created, with the permissions of the role it copies. Change them below.".into(),
        ),
        Some("saved") => Some("Saved.".into()),
        Some("deleted") => Some("Role deleted; its members moved to the role chosen.".into()),
        _ => None,
    }
}

async fn roles_page(
    ctx: &PageContext,
    errors: FormErrors,
    form: (String, String, String),
    notice: Option<String>,
) -> Result<RolesPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Roles").await?;
    let list = ctx
        .state
        .app
        .list_roles(&actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let (name, description, copy_of) = form;
    Ok(RolesPage {
        shell,
        tabs: tabs(&ctx.base, "roles"),
        sources: list
            .roles
            .iter()
            .filter(|r| r.level != Role::Owner)
            .map(|r| RoleOption {
                key: r.key.clone(),
                name: r.name.clone(),
            })
            .collect(),
        roles: list
            .roles
            .into_iter()
            .map(|r| RoleRow {
                level: super::capitalized(r.level.as_str()),
                key: r.key,
                name: r.name,
                description: r.description,
                members: r.members,
                system: r.system,
            })
            .collect(),
        name,
        description,
        copy_of,
        errors,
        notice,
    })
}

/// `/settings/roles`.
pub async fn list(ctx: PageContext, Query(q): Query<Done>) -> PageResult {
    let page = roles_page(
        &ctx,
        FormErrors::default(),
        (String::new(), String::new(), "member".into()),
        notice_of(q.done.as_deref()),
    )
    .await?;
    Ok(render(&page))
}

/// Creates a role from a copy, then opens it.
pub async fn create(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Roles").await?;
    let name = form_value(&pairs, "name");
    let description = form_value(&pairs, "description");
    let copy_of = form_value(&pairs, "copy_of");
    let created = ctx
        .state
        .app
        .create_role(
            &actor,
            &tenant,
            NewRole {
                name: name.clone(),
                description: description.clone(),
                copy_of: Some(copy_of.clone()),
                level: None,
                grants: None,
            },
            &ctx.meta,
        )
        .await;
    match created {
        Ok(role) => Ok(see_other(&format!(
            "{}/settings/roles/{}?done=created",
            ctx.base, role.key
        ))),
        Err(e) => {
            let errors = form_errors(e, "name")?;
            let page = roles_page(&ctx, errors, (name, description, copy_of), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// A refusal a form shows next to its fields: validation errors as they are, a conflict on the
/// field it is about; anything else is the page's error.
fn form_errors(e: AppError, field: &str) -> Result<FormErrors, PageError> {
    match e {
        AppError::Validation(v) => Ok(FormErrors(v.0)),
        AppError::Conflict { code, message } => Ok(FormErrors(vec![rapport_domain::FieldError {
            field: field.into(),
            message: if code == "role_key_taken" {
                "is already another role's; choose another".into()
            } else {
                message
            },
        }])),
        other => Err(other.into()),
    }
}

/// The matrix's columns: every action some kind has.
const COLUMNS: [RecordAction; 7] = RecordAction::ALL;

fn matrix(grants: &Grants, kinds: &[PermissionKind]) -> Vec<MatrixRow> {
    kinds
        .iter()
        .map(|kind| MatrixRow {
            key: kind.key.clone(),
            name: kind.name.clone(),
            cells: COLUMNS
                .iter()
                .map(|action| {
                    let present = kind.actions.contains(action);
                    let current = grants.scope(&kind.key, *action);
                    Cell {
                        name: format!("{}.{}", kind.key, action.as_str()),
                        label: format!("{}: {}", kind.name, action.label()),
                        options: if present {
                            action
                                .scopes()
                                .iter()
                                .map(|s| (s.as_str(), s.label(), *s == current))
                                .collect()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
        })
        .collect()
}

/// Names joined as people write them: "A", "A and B", "A, B and C".
fn joined(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What the role may do, in sentences: each action with the kinds it reaches in effect, by
/// scope (no action reaches further than viewing).
pub fn summary(grants: &Grants, kinds: &[PermissionKind]) -> Vec<String> {
    let mut lines = Vec::new();
    for action in COLUMNS {
        let of = |scope: Scope| -> Vec<String> {
            kinds
                .iter()
                .filter(|k| {
                    k.actions.contains(&action) && grants.effective(&k.key, action) == scope
                })
                .map(|k| k.name.clone())
                .collect()
        };
        let (all, team, own) = (of(Scope::All), of(Scope::Team), of(Scope::Own));
        if all.is_empty() && team.is_empty() && own.is_empty() {
            if kinds.iter().any(|k| k.actions.contains(&action)) {
                lines.push(format!("{}: nothing.", action.label()));
            }
            continue;
        }
        let mut parts = Vec::new();
        if !all.is_empty() {
            parts.push(if action.is_scoped() {
                format!("every record of {}", joined(&all))
            } else {
                joined(&all)
            });
        }
        if !team.is_empty() {
            parts.push(format!("their teams' {}", joined(&team)));
        }
        if !own.is_empty() {
            parts.push(format!("their own {}", joined(&own)));
        }
        lines.push(format!("{}: {}.", action.label(), parts.join("; ")));
    }
    lines
}

async fn role_page(
    ctx: &PageContext,
    key: &str,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<RolePage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Roles").await?;
    let list = ctx
        .state
        .app
        .list_roles(&actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let Some(role) = list.roles.iter().find(|r| r.key == key).cloned() else {
        return Err(AppError::NotFound.into());
    };
    let RoleView {
        key,
        name,
        description,
        level,
        system,
        editable,
        grants,
        members,
        ..
    } = role;
    Ok(RolePage {
        shell,
        tabs: tabs(&ctx.base, "roles"),
        columns: COLUMNS.iter().map(|a| a.label()).collect(),
        rows: matrix(&grants, &list.kinds),
        field_kinds: field_kinds(&grants, &list.rule_kinds),
        summary: summary(&grants, &list.kinds)
            .into_iter()
            .chain(field_summary(&grants, &list.rule_kinds))
            .collect(),
        levels: [Role::Admin, Role::Manager, Role::Member, Role::Viewer]
            .into_iter()
            .filter(|l| tenant.role.may_grant(*l))
            .map(|l| (l.as_str(), level_label(l), l == level))
            .collect(),
        move_choices: list
            .roles
            .iter()
            .filter(|r| r.key != key && tenant.role.may_grant(r.level))
            .map(|r| RoleOption {
                key: r.key.clone(),
                name: r.name.clone(),
            })
            .collect(),
        level: level.as_str().to_owned(),
        key,
        name,
        description,
        system,
        // Roles that administer are the owners' to shape.
        editable: editable && (!level.administers() || tenant.role == Role::Owner),
        members,
        errors,
        notice,
    })
}

/// `/settings/roles/{key}`.
pub async fn show(ctx: PageContext, Path(key): Path<String>, Query(q): Query<Done>) -> PageResult {
    let page = role_page(
        &ctx,
        &key,
        FormErrors::default(),
        notice_of(q.done.as_deref()),
    )
    .await?;
    Ok(render(&page))
}

/// Saves cells of the matrix (`kind.action=scope`, all of them or those that changed). Asked
/// by the page's script it answers 204, or a problem naming the cell; otherwise it goes back
/// to the page.
pub async fn save_permissions(
    ctx: PageContext,
    headers: HeaderMap,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let pairs = form_pairs(&raw);
    let mut kinds = serde_json::Map::new();
    for (name, value) in &pairs {
        let Some((kind, action)) = name.split_once('.') else {
            continue;
        };
        let row = kinds.entry(kind.to_owned()).or_insert_with(|| json!({}));
        row[action] = json!(value);
    }
    let change = json!({ "kinds": kinds });
    save_grants(&ctx, &headers, &key, &pairs, change, ("grants", "")).await
}

/// Saves field rules (`kind.field=editable|read_only|hidden`, and `kind.field.stages=…` for
/// the stages a read-only rule holds at; none: every stage) for the fields the form names.
/// Asked by the page's script it answers 204, or a problem naming the field.
pub async fn save_fields(
    ctx: PageContext,
    headers: HeaderMap,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let pairs = form_pairs(&raw);
    let mut fields = serde_json::Map::new();
    for (name, value) in &pairs {
        let Some((kind, field)) = name.split_once('.') else {
            continue;
        };
        if field.contains('.') {
            continue;
        }
        let stages_name = format!("{name}.stages");
        let stages: Vec<&str> = pairs
            .iter()
            .filter(|(n, _)| *n == stages_name)
            .map(|(_, v)| v.as_str())
            .collect();
        let rule = match FieldAccess::parse(value) {
            Some(FieldAccess::ReadOnly) if !stages.is_empty() => {
                json!({"access": "read_only", "stages": stages})
            }
            _ => json!(value),
        };
        let row = fields.entry(kind.to_owned()).or_insert_with(|| json!({}));
        row[field] = rule;
    }
    let change = json!({ "fields": fields });
    save_grants(
        &ctx,
        &headers,
        &key,
        &pairs,
        change,
        ("field_rules", "#field-rules"),
    )
    .await
}

/// Writes part of a role's matrix (`change`, in the stored shape) from the role's page. Asked by
/// the page's script it answers 204, or a problem naming what was refused; otherwise it goes
/// back to the page (at `anchor`), or shows it again with the refusal under `errors_at`.
async fn save_grants(
    ctx: &PageContext,
    headers: &HeaderMap,
    key: &str,
    pairs: &[(String, String)],
    change: serde_json::Value,
    (errors_at, anchor): (&str, &str),
) -> PageResult {
    ctx.check_csrf(&form_value(pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(ctx, "settings", "Roles").await?;
    let wants_json = headers
        .get("x-requested-with")
        .is_some_and(|v| v == "fetch");
    let result = ctx
        .state
        .app
        .update_role(
            &actor,
            &tenant,
            key,
            RoleChange {
                grants: Some(change),
                ..RoleChange::default()
            },
            &ctx.meta,
        )
        .await;
    match result {
        Ok(_) if wants_json => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/roles/{key}?done=saved{anchor}",
            ctx.base
        ))),
        // The page's script reads the refusal as problem JSON, naming the cell or field.
        Err(e) if wants_json => Ok(crate::error::ApiError::from(e).into_response()),
        Err(e) => {
            let errors = form_errors(e, errors_at)?;
            let page = role_page(ctx, key, errors, None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Saves a custom role's name, description and level.
pub async fn save_details(
    ctx: PageContext,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Roles").await?;
    let level = form_value(&pairs, "level").parse::<Role>().ok();
    let result = ctx
        .state
        .app
        .update_role(
            &actor,
            &tenant,
            &key,
            RoleChange {
                name: Some(form_value(&pairs, "name")),
                description: Some(form_value(&pairs, "description")),
                level,
                grants: None,
            },
            &ctx.meta,
        )
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/roles/{key}?done=saved",
            ctx.base
        ))),
        Err(e) => {
            let errors = form_errors(e, "name")?;
            let page = role_page(&ctx, &key, errors, None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Deletes a custom role, moving its members to the role chosen.
pub async fn delete(
    ctx: PageContext,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Roles").await?;
    let result = ctx
        .state
        .app
        .delete_role(
            &actor,
            &tenant,
            &key,
            &form_value(&pairs, "move_to"),
            &ctx.meta,
        )
        .await;
    match result {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/roles?done=deleted",
            ctx.base
        ))),
        Err(e) => {
            let errors = form_errors(e, "move_to")?;
            let page = role_page(&ctx, &key, errors, None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Starts looking at the organization as a role would (owners and admins): pages then read
/// through its permissions and refuse changes, until the preview stops.
pub async fn preview(
    ctx: PageContext,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (_, tenant, _) = admin(&ctx, "settings", "Roles").await?;
    ctx.state
        .app
        .preview_role(&tenant, &key)
        .await
        .map_err(PageError::from)?;
    let mut response = see_other(&format!("{}/", ctx.base));
    let value = format!("{}.{key}", tenant.id());
    response.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        crate::extract::preview_cookie(&ctx.state, &value, 8 * 3600),
    );
    Ok(response)
}

/// Stops a preview and goes back to the roles.
pub async fn stop_preview(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let mut response = see_other(&format!("{}/settings/roles", ctx.base));
    response.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        crate::extract::preview_cookie(&ctx.state, "", 0),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> Vec<PermissionKind> {
        ["company", "deal", "berth"]
            .into_iter()
            .zip(["Companies", "Deals", "Berths"])
            .map(|(key, name)| PermissionKind {
                key: key.into(),
                name: name.into(),
                actions: RecordAction::of_kind(key),
            })
            .collect()
    }

    #[test]
    fn the_summary_says_what_a_role_may_do_in_sentences() {
        let mut g = Grants::system(Role::Member);
        g.set("deal", RecordAction::View, Scope::None);
        g.set("berth", RecordAction::View, Scope::Own);
        g.set("berth", RecordAction::Edit, Scope::All);
        let lines = summary(&g, &kinds());
        assert_eq!(
            lines[0],
            "View: every record of Companies; their own Berths."
        );
        // Nothing reaches further than viewing: no deals, and only their own berths.
        assert_eq!(lines[2], "Edit: their own Companies and Berths.");
        assert!(lines.contains(&"Change stage: nothing.".to_owned()));
        assert!(
            !lines.iter().any(|l| l.starts_with("Convert")),
            "no lead here"
        );
        let viewer = summary(&Grants::system(Role::Viewer), &kinds());
        assert!(viewer.contains(&"Delete: nothing.".to_owned()));
    }
}
