//! `/api/v1/objects`: the record engine — objects, their fields, and the records of custom
//! objects (contract: "Objects and fields" in `docs/API.md`).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use rapport_app::objects::{FieldInput, ObjectInput, field_json, object_json};
use rapport_app::records::{RecordInput, RecordListQuery, RecordView};
use rapport_domain::{RecordId, UserId};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::kinds;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

/// Runs `$body` with `$k` standing for the built-in kind the object key names: `Some` of what it
/// gives, `None` for a custom object.
macro_rules! on_builtin {
    ($object:expr, $k:ident => $body:expr) => {
        match $object {
            "company" => {
                type $k = rapport_app::model::Company;
                Some($body)
            }
            "contact" => {
                type $k = rapport_app::model::Contact;
                Some($body)
            }
            "lead" => {
                type $k = rapport_app::model::Lead;
                Some($body)
            }
            "deal" => {
                type $k = rapport_app::model::Deal;
                Some($body)
            }
            "task" => {
                type $k = rapport_app::model::Task;
                Some($body)
            }
            _ => None,
        }
    };
}

fn record_json(r: &RecordView, organization_id: Uuid) -> Value {
    json!({
        "id": r.id,
        "object": r.object.as_str(),
        "organization_id": organization_id,
        "owner_id": r.owner_id,
        "title": r.title,
        "values": Value::Object(r.values.clone()),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

/// Every object of the organization (built-in and custom) with its fields.
#[utoipa::path(get, path = "/api/v1/objects", tag = "objects", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, description = "`{items: [object]}`", body = Object)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<Value>> {
    let catalog = state
        .app
        .objects(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    let items: Vec<Value> = catalog.objects.iter().map(object_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// One object with its fields.
#[utoipa::path(get, path = "/api/v1/objects/{object}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(object): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let o = state
        .app
        .object(&scope.auth.actor, &scope.tenant, &object, &meta)
        .await?;
    Ok(Json(object_json(&o)))
}

/// Define a custom object (owners and admins). Without `primary_field`, a required `name` text
/// field is made.
#[utoipa::path(post, path = "/api/v1/objects", tag = "objects", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = Object,
    responses((status = 201, body = Object), (status = 403, body = Problem),
              (status = 409, description = "`object_key_taken`", body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ObjectInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let o = state
        .app
        .create_object(&scope.auth.actor, &scope.tenant, body, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(object_json(&o))))
}

/// Rename a custom object, or change its icon, colour, primary field or board field.
#[utoipa::path(patch, path = "/api/v1/objects/{object}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("X-Organization-Id" = Uuid, Header)), request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`builtin_object`", body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(object): ApiPath<String>,
    ApiJson(body): ApiJson<ObjectInput>,
) -> ApiResult<Json<Value>> {
    let o = state
        .app
        .update_object(&scope.auth.actor, &scope.tenant, &object, body, &meta)
        .await?;
    Ok(Json(object_json(&o)))
}

/// Delete a custom object: it and its records move to recently deleted.
#[utoipa::path(delete, path = "/api/v1/objects/{object}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`builtin_object`", body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(object): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_object(&scope.auth.actor, &scope.tenant, &object, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a field to an object (custom or built-in).
#[utoipa::path(post, path = "/api/v1/objects/{object}/fields", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("X-Organization-Id" = Uuid, Header)), request_body = Object,
    responses((status = 201, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`field_key_taken`", body = Problem), (status = 422, body = Problem)))]
pub async fn create_field(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(object): ApiPath<String>,
    ApiJson(body): ApiJson<FieldInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = state
        .app
        .create_field(&scope.auth.actor, &scope.tenant, &object, body, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(field_json(&f))))
}

/// Change a field: label, help, options, required, unique, limits, default, archived, or type
/// (409 `field_type_conversion` with `count` when stored values would not convert).
#[utoipa::path(patch, path = "/api/v1/objects/{object}/fields/{key}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("key" = String, Path), ("X-Organization-Id" = Uuid, Header)), request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`builtin_field`, `field_type_conversion` (with `count`), `field_not_unique`", body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_field(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, key)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<FieldInput>,
) -> ApiResult<Json<Value>> {
    let f = state
        .app
        .update_field(&scope.auth.actor, &scope.tenant, &object, &key, body, &meta)
        .await?;
    Ok(Json(field_json(&f)))
}

/// Archive a field: hidden everywhere, its values kept (`PATCH {"archived": false}` restores it).
#[utoipa::path(delete, path = "/api/v1/objects/{object}/fields/{key}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("key" = String, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Archived"), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`builtin_field`", body = Problem)))]
pub async fn archive_field(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, key)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .archive_field(&scope.auth.actor, &scope.tenant, &object, &key, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A record's body: its values, and (optionally) its owner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordIn {
    #[serde(default)]
    pub values: Map<String, Value>,
    pub owner_id: Option<Uuid>,
}

/// Splits the contract's list query: `filter[key]=v`, `filter[key][op]=v`, `search`, `sort`,
/// `page_size`, `cursor`; anything else is a 400.
fn list_query(raw: Option<&str>) -> ApiResult<RecordListQuery> {
    let mut q = RecordListQuery {
        page_size: 25,
        ..RecordListQuery::default()
    };
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let v = v.into_owned();
        match k.as_ref() {
            "search" => q.search = Some(v),
            "sort" => q.sort = Some(v),
            "cursor" => q.cursor = Some(v).filter(|c| !c.is_empty()),
            "page_size" => {
                q.page_size = v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request("invalid_query", "page_size must be from 1 to 100")
                    })?;
            }
            other => {
                let Some(rest) = other.strip_prefix("filter[") else {
                    return Err(ApiError::bad_request(
                        "unknown_parameter",
                        format!("{other} is not a parameter of this list"),
                    ));
                };
                let malformed = || {
                    ApiError::bad_request(
                        "invalid_filter",
                        format!("{other} is not a filter (filter[key] or filter[key][op])"),
                    )
                };
                let (key, rest) = rest.split_once(']').ok_or_else(malformed)?;
                let op = match rest {
                    "" => None,
                    _ => Some(
                        rest.strip_prefix('[')
                            .and_then(|r| r.strip_suffix(']'))
                            .filter(|op| !op.is_empty() && !op.contains(['[', ']']))
                            .ok_or_else(malformed)?
                            .to_owned(),
                    ),
                };
                q.filters.push((key.to_owned(), op, v));
            }
        }
    }
    Ok(q)
}

/// A page of an object's records (built-in objects too: their system fields filtered by
/// equality on what their own lists filter by, their custom fields like any object's): filtered (`filter[key]=v`, `filter[key][gte|gt|lte|lt|in|empty]=v`),
/// searched (`search`), sorted (`sort=key` or `sort=-key`, ties by id), paged by `cursor`.
#[utoipa::path(get, path = "/api/v1/objects/{object}/records", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("X-Organization-Id" = Uuid, Header),
           ("search" = Option<String>, Query), ("sort" = Option<String>, Query),
           ("page_size" = Option<u64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "`{items: [record], next_cursor}`", body = Object),
              (status = 400, description = "unknown field, operator or parameter", body = Problem),
              (status = 404, body = Problem)))]
pub async fn list_records(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(object): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = list_query(raw.as_deref())?;
    if let Some(page) = on_builtin!(object.as_str(), K => kinds::list_records::<K>(&state, &scope, &meta, &query).await)
    {
        return page.map(Json);
    }
    let page = state
        .app
        .list_records(&scope.auth.actor, &scope.tenant, &object, &query, &meta)
        .await?;
    let org = scope.tenant.id().as_uuid();
    let items: Vec<Value> = page.items.iter().map(|r| record_json(r, org)).collect();
    Ok(Json(
        json!({ "items": items, "next_cursor": page.next_cursor }),
    ))
}

/// Create a record.
#[utoipa::path(post, path = "/api/v1/objects/{object}/records", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("X-Organization-Id" = Uuid, Header)), request_body = Object,
    responses((status = 201, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`field_not_unique`", body = Problem),
              (status = 422, description = "field errors named `values.<key>`", body = Problem)))]
pub async fn create_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(object): ApiPath<String>,
    ApiJson(body): ApiJson<RecordIn>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if let Some(created) = on_builtin!(object.as_str(), K => kinds::create_record::<K>(&state, &scope, &meta, body.values.clone(), body.owner_id).await)
    {
        return Ok((StatusCode::CREATED, Json(created?)));
    }
    let r = state
        .app
        .create_record(
            &scope.auth.actor,
            &scope.tenant,
            &object,
            &RecordInput {
                values: body.values,
                owner_id: body.owner_id.map(UserId),
            },
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(record_json(&r, scope.tenant.id().as_uuid())),
    ))
}

/// One record.
#[utoipa::path(get, path = "/api/v1/objects/{object}/records/{id}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<Value>> {
    if let Some(found) =
        on_builtin!(object.as_str(), K => kinds::get_record::<K>(&state, &scope, &meta, id).await)
    {
        return found.map(Json);
    }
    let r = state
        .app
        .record(
            &scope.auth.actor,
            &scope.tenant,
            &object,
            RecordId(id),
            &meta,
        )
        .await?;
    Ok(Json(record_json(&r, scope.tenant.id().as_uuid())))
}

/// Change a record: only the values given change, `null` clears one.
#[utoipa::path(patch, path = "/api/v1/objects/{object}/records/{id}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`field_not_unique`", body = Problem), (status = 422, body = Problem)))]
pub async fn update_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, id)): ApiPath<(String, Uuid)>,
    ApiJson(body): ApiJson<RecordIn>,
) -> ApiResult<Json<Value>> {
    if let Some(changed) = on_builtin!(object.as_str(), K => kinds::update_record::<K>(&state, &scope, &meta, id, body.values.clone(), body.owner_id).await)
    {
        return changed.map(Json);
    }
    let r = state
        .app
        .update_record(
            &scope.auth.actor,
            &scope.tenant,
            &object,
            RecordId(id),
            &RecordInput {
                values: body.values,
                owner_id: body.owner_id.map(UserId),
            },
            &meta,
        )
        .await?;
    Ok(Json(record_json(&r, scope.tenant.id().as_uuid())))
}

/// Delete a record: it moves to recently deleted.
#[utoipa::path(delete, path = "/api/v1/objects/{object}/records/{id}", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    if let Some(deleted) = on_builtin!(object.as_str(), K => kinds::delete_record::<K>(&state, &scope, &meta, id).await)
    {
        return deleted;
    }
    state
        .app
        .delete_record(
            &scope.auth.actor,
            &scope.tenant,
            &object,
            RecordId(id),
            &meta,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a deleted record back.
#[utoipa::path(post, path = "/api/v1/objects/{object}/records/{id}/restore", tag = "objects", security(("bearer" = [])),
    params(("object" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "`field_not_unique`: another record took one of its unique values", body = Problem)))]
pub async fn restore_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<Value>> {
    if let Some(restored) = on_builtin!(object.as_str(), K => kinds::restore_record::<K>(&state, &scope, &meta, id).await)
    {
        return restored.map(Json);
    }
    let r = state
        .app
        .restore_record(
            &scope.auth.actor,
            &scope.tenant,
            &object,
            RecordId(id),
            &meta,
        )
        .await?;
    Ok(Json(record_json(&r, scope.tenant.id().as_uuid())))
}
