//! `/api/v1/roles`: the organization's roles and their permission matrices.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_app::roles::{NewRole, RoleChange, RoleList, RoleView};
use rapport_domain::Role;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

/// A role: its level decides administration (owner, admin: settings, members, roles), its
/// permissions decide records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    pub id: Option<Uuid>,
    pub key: String,
    pub name: String,
    pub description: String,
    /// owner, admin, manager, member or viewer
    pub level: String,
    pub system: bool,
    pub editable: bool,
    pub members: i64,
    /// For every kind of record (built-in and custom, by object key), each of its actions
    /// with a scope: none, own, team or all.
    #[schema(value_type = Object)]
    pub permissions: BTreeMap<String, BTreeMap<String, String>>,
    /// What the role may do to kinds added later.
    #[schema(value_type = Object)]
    pub default: BTreeMap<String, String>,
    /// Fields the role may not change or see, by kind and field key: `"read_only"`,
    /// `"hidden"`, or `{"access": "read_only", "stages": [...]}` for a rule that holds at some
    /// stages only. Fields not named are editable.
    #[schema(value_type = Object)]
    pub field_rules: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleListOut {
    pub items: Vec<RoleOut>,
}

fn out(
    role: &RoleView,
    list_kinds: &[(String, Vec<rapport_domain::access::RecordAction>)],
) -> RoleOut {
    let permissions = list_kinds
        .iter()
        .map(|(kind, actions)| {
            let row = actions
                .iter()
                .map(|a| {
                    (
                        a.as_str().to_owned(),
                        role.grants.scope(kind, *a).as_str().to_owned(),
                    )
                })
                .collect();
            (kind.clone(), row)
        })
        .collect();
    let default = role
        .grants
        .default
        .iter()
        .map(|(a, s)| (a.as_str().to_owned(), s.as_str().to_owned()))
        .collect();
    RoleOut {
        id: role.id.map(|id| id.as_uuid()),
        key: role.key.clone(),
        name: role.name.clone(),
        description: role.description.clone(),
        level: role.level.as_str().to_owned(),
        system: role.system,
        editable: role.editable,
        members: role.members,
        permissions,
        default,
        field_rules: role.grants.to_json()["fields"].clone(),
    }
}

fn kinds_of(list: &RoleList) -> Vec<(String, Vec<rapport_domain::access::RecordAction>)> {
    list.kinds
        .iter()
        .map(|k| (k.key.clone(), k.actions.clone()))
        .collect()
}

/// A role just written, with a row for every kind of record the organization has now.
async fn shown(
    state: &AppState,
    scope: &Scope,
    meta: &rapport_app::RequestMeta,
    role: &RoleView,
) -> ApiResult<RoleOut> {
    let list = state
        .app
        .list_roles(&scope.auth.actor, &scope.tenant, meta)
        .await?;
    Ok(out(role, &kinds_of(&list)))
}

fn parse_level(raw: Option<&str>) -> Result<Option<Role>, ApiError> {
    raw.map(|l| {
        l.parse::<Role>()
            .map_err(|e| ApiError::invalid("level", e.to_string()))
    })
    .transpose()
}

/// The organization's roles: the five system roles, then its own.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = RoleListOut)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<RoleListOut>> {
    let list = state
        .app
        .list_roles(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    let kinds = kinds_of(&list);
    Ok(Json(RoleListOut {
        items: list.roles.iter().map(|r| out(r, &kinds)).collect(),
    }))
}

/// One role by key.
#[utoipa::path(get, path = "/api/v1/roles/{key}", tag = "roles", security(("bearer" = [])),
    params(("key" = String, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = RoleOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<RoleOut>> {
    let list = state
        .app
        .list_roles(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    let kinds = kinds_of(&list);
    let role = list
        .roles
        .iter()
        .find(|r| r.key == key)
        .ok_or_else(|| ApiError::from(rapport_app::AppError::NotFound))?;
    Ok(Json(out(role, &kinds)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The role it starts as a copy of (default `member`).
    pub copy_of: Option<String>,
    /// admin, manager, member or viewer (default: the copied role's)
    pub level: Option<String>,
    /// Cells of the matrix to change: `{"deal": {"edit": "own"}}`.
    #[schema(value_type = Object)]
    pub permissions: Option<Value>,
    /// Cells of the row for kinds added later: `{"delete": "none"}`.
    #[schema(value_type = Object)]
    pub default: Option<Value>,
    /// Field rules to change: `{"deal": {"commission": "hidden", "notes": "editable"}}`
    /// (`editable` or `null` removes a rule).
    #[schema(value_type = Object)]
    pub field_rules: Option<Value>,
}

/// Create a custom role (owners and admins), a copy of another. Its key comes from its name
/// (409 `role_key_taken` when taken).
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = RoleIn,
    responses((status = 201, body = RoleOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RoleIn>,
) -> ApiResult<(StatusCode, Json<RoleOut>)> {
    let level = parse_level(body.level.as_deref())?;
    let created = state
        .app
        .create_role(
            &scope.auth.actor,
            &scope.tenant,
            NewRole {
                name: body.name.clone().unwrap_or_default(),
                description: body.description.clone().unwrap_or_default(),
                copy_of: body.copy_of.clone(),
                level,
                grants: (body.permissions.is_some()
                    || body.default.is_some()
                    || body.field_rules.is_some())
                .then(|| grants_of(&body)),
            },
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(shown(&state, &scope, &meta, &created).await?),
    ))
}

fn grants_of(body: &RoleIn) -> Value {
    let mut grants = serde_json::Map::new();
    if let Some(p) = &body.permissions {
        grants.insert("kinds".into(), p.clone());
    }
    if let Some(d) = &body.default {
        grants.insert("default".into(), d.clone());
    }
    if let Some(f) = &body.field_rules {
        grants.insert("fields".into(), f.clone());
    }
    Value::Object(grants)
}

/// Change a role (owners and admins): a custom role's name, description, level and
/// permissions; a system role's permissions only (409 `system_role`); the owner role not at all
/// (409 `role_not_editable`).
#[utoipa::path(patch, path = "/api/v1/roles/{key}", tag = "roles", security(("bearer" = [])),
    params(("key" = String, Path), ("X-Organization-Id" = Uuid, Header)), request_body = RoleIn,
    responses((status = 200, body = RoleOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<RoleIn>,
) -> ApiResult<Json<RoleOut>> {
    if body.copy_of.is_some() {
        return Err(ApiError::invalid(
            "copy_of",
            "only a new role is a copy; create one",
        ));
    }
    let level = parse_level(body.level.as_deref())?;
    let grants =
        (body.permissions.is_some() || body.default.is_some() || body.field_rules.is_some())
            .then(|| grants_of(&body));
    let role = state
        .app
        .update_role(
            &scope.auth.actor,
            &scope.tenant,
            &key,
            RoleChange {
                name: body.name,
                description: body.description,
                level,
                grants,
            },
            &meta,
        )
        .await?;
    Ok(Json(shown(&state, &scope, &meta, &role).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// The role its members, invitations and API keys move to.
    pub move_to: Option<String>,
}

/// Delete a custom role (owners and admins); whoever holds it moves to `move_to`.
#[utoipa::path(delete, path = "/api/v1/roles/{key}", tag = "roles", security(("bearer" = [])),
    params(("key" = String, Path), DeleteQuery, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_role(
            &scope.auth.actor,
            &scope.tenant,
            &key,
            q.move_to.as_deref().unwrap_or(""),
            &meta,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
