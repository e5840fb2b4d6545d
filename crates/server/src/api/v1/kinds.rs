//! The API's verbs on the built-in kinds (companies, contacts, leads, deals, tasks), written once
//! over the app's common path. Each kind's module keeps what is its own: its shapes (`CompanyOut`,
//! `CompanyIn`), its list parameters and its documented handlers, which call these. The same
//! verbs serve the built-in objects under `/objects/{object}/records` in the record shape.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use rapport_app::RequestMeta;
use rapport_app::changes::RecordChange;
use rapport_app::kinds::{BuiltinKind, ListQuery};
use rapport_app::records::RecordListQuery;
use rapport_domain::ValidationErrors;
use rapport_domain::builtin;
use rapport_domain::schema::{FieldType, ObjectDef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::types::{
    Page, SortKind, TagOut, decode_sort_cursor, descending, encode_sort_cursor, group_tags,
    page_and_size, tags_for,
};
use crate::error::{ApiError, ApiResult};
use crate::exports::{CsvKind, Exporter};
use crate::extract::{Scope, parse_query};
use crate::state::AppState;

/// The API's shape of a record of kind `K`.
pub trait RecordOut<K: BuiltinKind>: From<K> + Serialize + utoipa::ToSchema {
    /// Shows the record's tags (a kind without tags has none to show).
    fn set_tags(&mut self, _tags: Vec<TagOut>) {}
}

/// A record as answered, with its tags.
fn answer<K: BuiltinKind, O: RecordOut<K>>(record: K, tags: Vec<TagOut>) -> O {
    let mut out = O::from(record);
    out.set_tags(tags);
    out
}

pub async fn get<K: BuiltinKind, O: RecordOut<K>>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: K::Id,
) -> ApiResult<Json<O>> {
    let (record, tags) = state
        .app
        .read::<K>(&scope.auth.actor, &scope.tenant, id, meta)
        .await?;
    Ok(Json(answer(record, tags.iter().map(Into::into).collect())))
}

pub async fn create<K: BuiltinKind, O: RecordOut<K>>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    change: RecordChange,
) -> ApiResult<(StatusCode, Json<O>)> {
    let record = state
        .app
        .create::<K>(&scope.auth.actor, &scope.tenant, change, meta)
        .await?;
    Ok((StatusCode::CREATED, Json(answer(record, Vec::new()))))
}

/// Changes a record and answers it with its tags.
pub async fn update<K: BuiltinKind, O: RecordOut<K>>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: K::Id,
    change: RecordChange,
) -> ApiResult<Json<O>> {
    let record = state
        .app
        .update::<K>(&scope.auth.actor, &scope.tenant, id, change, meta)
        .await?;
    let tags = if K::TAGGED {
        let ids = [id.into()];
        tags_for(&state.app, &scope.tenant, K::KIND.object_key(), &ids)
            .await?
            .pop()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Json(answer(record, tags)))
}

pub async fn delete<K: BuiltinKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: K::Id,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete::<K>(&scope.auth.actor, &scope.tenant, id, meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a list with its records' tags, its total and the cursor of the next page.
pub async fn list<K: BuiltinKind, O: RecordOut<K>>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    query: ListQuery<K>,
) -> ApiResult<Json<Page<O>>> {
    let (page, page_size) = (query.page, query.page_size);
    let result = state
        .app
        .list::<K>(&scope.auth.actor, &scope.tenant, query, meta)
        .await?;
    let ids: Vec<Uuid> = result.items.iter().map(|r| r.id().into()).collect();
    let tags = group_tags(&ids, &result.tags);
    Ok(Json(Page {
        next_cursor: result
            .next
            .as_ref()
            .map(|(v, id)| encode_sort_cursor(v, (*id).into())),
        items: result
            .items
            .into_iter()
            .zip(tags)
            .map(|(record, tags)| answer(record, tags))
            .collect(),
        total: result.total,
        total_is_exact: result.total_is_exact,
        page,
        page_size,
    }))
}

/// The CSV of every record `query` selects (roles that may export), streamed.
pub async fn export<K: CsvKind>(
    state: &AppState,
    scope: Scope,
    meta: RequestMeta,
    query: ListQuery<K>,
) -> ApiResult<Response> {
    let who = Exporter::new(
        state.app.clone(),
        scope.auth.actor,
        scope.tenant,
        meta,
        K::OBJECT,
    )
    .await?;
    Ok(crate::exports::export(who, query))
}

/// A built-in kind as the API speaks of it: its body and answer shapes and its list's parameters.
/// With these, `/objects/{object}/records` serves the built-in objects in the record shape of the
/// contract (`{id, object, owner_id, values, …}`), through the same path as their own endpoints.
pub trait ApiKind: BuiltinKind {
    type In: DeserializeOwned + Into<RecordChange>;
    type Out: RecordOut<Self>;
    /// What its lists are called in messages ("companies").
    const PLURAL: &'static str;
    /// The sorts its lists take, by their API names, with the kind of value each sorts by (how
    /// its cursors are read); the first is the default.
    const SORTS: &'static [(&'static str, Self::Sort, SortKind)];
    /// How a cursor of a list in `sort` order is read.
    fn sort_kind(sort: Self::Sort) -> SortKind {
        Self::SORTS
            .iter()
            .find(|(_, s, _)| *s == sort)
            .map_or(SortKind::Time, |(_, _, kind)| *kind)
    }
    /// Its lists' filter parameters.
    type Params: DeserializeOwned;
    /// A filter parameter its lists take more than once (`status=new&status=won`).
    const REPEATED: Option<&'static str> = None;
    /// The filter its lists' parameters ask for, with the repeatable parameter's values.
    fn filter(repeated: Vec<String>, params: Self::Params) -> ApiResult<Self::Filter>;
}

/// The documented endpoints that create, read, change and delete a built-in kind's records,
/// written into the kind's module (`companies::create` and so on), each a call to this module's
/// verbs. Each verb comes with its documentation and, in brackets, the answers it has beyond the
/// usual ones.
macro_rules! record_verbs {
    (
        kind: $kind:ident,
        body: $in:ident,
        out: $out:ident,
        tag: $tag:literal,
        path: $path:literal,
        item: $item:literal,
        $(#[$create:meta])* create $([$($create_more:tt)*])?,
        $(#[$get:meta])* get,
        $(#[$update:meta])* update $([$($update_more:tt)*])?,
        $(#[$delete:meta])* delete $([$($delete_more:tt)*])? $(,)?
    ) => {
        $(#[$create])*
        #[utoipa::path(post, path = $path, tag = $tag, security(("bearer" = [])),
            params(("X-Organization-Id" = Uuid, Header)), request_body = $in,
            responses((status = 201, body = $out), (status = 403, body = Problem),
                (status = 422, body = Problem) $($(, $create_more)*)?))]
        pub async fn create(
            axum::extract::State(state): axum::extract::State<AppState>,
            scope: Scope,
            Meta(meta): Meta,
            ApiJson(body): ApiJson<$in>,
        ) -> ApiResult<(axum::http::StatusCode, axum::Json<$out>)> {
            kinds::create::<$kind, _>(&state, &scope, &meta, body.into()).await
        }

        $(#[$get])*
        #[utoipa::path(get, path = $item, tag = $tag, security(("bearer" = [])),
            params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
            responses((status = 200, body = $out), (status = 404, body = Problem)))]
        pub async fn get(
            axum::extract::State(state): axum::extract::State<AppState>,
            scope: Scope,
            Meta(meta): Meta,
            ApiPath(id): ApiPath<Uuid>,
        ) -> ApiResult<axum::Json<$out>> {
            kinds::get::<$kind, _>(&state, &scope, &meta, id.into()).await
        }

        $(#[$update])*
        #[utoipa::path(patch, path = $item, tag = $tag, security(("bearer" = [])),
            params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = $in,
            responses((status = 200, body = $out), (status = 403, body = Problem),
                (status = 404, body = Problem), (status = 422, body = Problem)
                $($(, $update_more)*)?))]
        pub async fn update(
            axum::extract::State(state): axum::extract::State<AppState>,
            scope: Scope,
            Meta(meta): Meta,
            ApiPath(id): ApiPath<Uuid>,
            ApiJson(body): ApiJson<$in>,
        ) -> ApiResult<axum::Json<$out>> {
            kinds::update::<$kind, _>(&state, &scope, &meta, id.into(), body.into()).await
        }

        $(#[$delete])*
        #[utoipa::path(delete, path = $item, tag = $tag, security(("bearer" = [])),
            params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
            responses((status = 204, description = "Deleted"), (status = 403, body = Problem),
                (status = 404, body = Problem) $($(, $delete_more)*)?))]
        pub async fn delete(
            axum::extract::State(state): axum::extract::State<AppState>,
            scope: Scope,
            Meta(meta): Meta,
            ApiPath(id): ApiPath<Uuid>,
        ) -> ApiResult<axum::http::StatusCode> {
            kinds::delete::<$kind>(&state, &scope, &meta, id.into()).await
        }
    };
}

pub(crate) use record_verbs;

/// The answer shape of a built-in kind (`CompanyOut`) and how a record becomes it. The fields
/// every answer has are written here (`id`, `organization_id`, `custom`, `created_at`,
/// `updated_at`, and `tags` for a tagged kind, filled apart); the kind lists its own, each
/// converted from the record's field of the same name (typed ids become UUIDs) or computed from
/// the record (`name: Type = |record| …`).
macro_rules! record_answer {
    (
        $(#[$meta:meta])*
        $kind:ident => $out:ident $(+ $tags:ident)? {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty $(= $computed:expr)?),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $out {
            pub id: Uuid,
            pub organization_id: Uuid,
            $($(#[$field_meta])* pub $field: $ty,)*
            /// Custom field values by key.
            #[schema(value_type = Object)]
            pub custom: serde_json::Value,
            $(pub $tags: Vec<$crate::api::v1::types::TagOut>,)?
            pub created_at: chrono::DateTime<chrono::Utc>,
            pub updated_at: chrono::DateTime<chrono::Utc>,
        }

        impl From<$kind> for $out {
            fn from(record: $kind) -> Self {
                $($(
                let $field = {
                    let value: fn(&$kind) -> $ty = $computed;
                    value(&record)
                };
                )?)*
                Self {
                    id: record.id.into(),
                    organization_id: record.organization_id.into(),
                    $($field: kinds::record_answer!(@value record, $field $(, $computed)?),)*
                    custom: record.custom.0,
                    $($tags: Vec::new(),)?
                    created_at: record.created_at,
                    updated_at: record.updated_at,
                }
            }
        }

        impl kinds::RecordOut<$kind> for $out {
            $(
            fn set_tags(&mut self, tags: Vec<$crate::api::v1::types::TagOut>) {
                self.$tags = tags;
            }
            )?
        }
    };
    (@value $record:ident, $field:ident) => { From::from($record.$field) };
    (@value $record:ident, $field:ident, $computed:expr) => { $field };
}

pub(crate) use record_answer;

/// The body a built-in kind is created and changed with (`CompanyIn`), each field the app's
/// change field of the same name and type (typed ids read as UUIDs), and the custom values every
/// kind takes.
macro_rules! record_body {
    (
        $(#[$meta:meta])*
        $in:ident {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $in {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// Custom field values by key (checked against the object's fields; `null` clears
            /// one, keys not given stay).
            #[schema(value_type = Option<Object>)]
            pub custom: Option<serde_json::Map<String, serde_json::Value>>,
        }

        /// The fields the body gives, by key (`null` where it clears one).
        impl From<$in> for rapport_app::changes::RecordChange {
            fn from(body: $in) -> Self {
                let mut change = rapport_app::changes::RecordChange {
                    custom: body.custom,
                    ..Default::default()
                };
                $(if let Some(value) = body.$field {
                    change = change.set(stringify!($field), value);
                })*
                change
            }
        }
    };
}

pub(crate) use record_body;

/// The order and paging every built-in list takes besides its kind's filters. `order_by` is
/// documented with each list, since the names it takes are the kind's.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[param(ignore)]
    pub order_by: Option<String>,
    /// asc (default) or desc
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
    pub cursor: Option<String>,
}

/// The order of a CSV export (it has every page, so no paging).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    #[param(ignore)]
    pub order_by: Option<String>,
    /// asc (default) or desc
    pub order: Option<String>,
}

/// The names `ListParams` reads; a list's other parameters are its kind's filters.
const ORDER_AND_PAGING: [&str; 5] = ["order_by", "order", "page", "page_size", "cursor"];

/// A list's query string taken apart: the values of the kind's repeatable parameter, its
/// filters, and its order and paging.
fn split_query(raw: &str, repeated: Option<&str>) -> (Vec<String>, String, String) {
    let mut values = Vec::new();
    let mut filters = url::form_urlencoded::Serializer::new(String::new());
    let mut order = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if Some(k.as_ref()) == repeated {
            values.push(v.into_owned());
        } else if ORDER_AND_PAGING.contains(&k.as_ref()) {
            order.append_pair(&k, &v);
        } else {
            filters.append_pair(&k, &v);
        }
    }
    (values, filters.finish(), order.finish())
}

/// The list query a kind's list (`paged`) or export asks for in its query string `raw`
/// (`invalid_query` or `invalid_cursor` naming what is wrong).
pub fn list_query<K: ApiKind>(raw: &str, paged: bool) -> ApiResult<ListQuery<K>> {
    let (repeated, filters, order) = split_query(raw, K::REPEATED);
    let filter = K::filter(repeated, parse_query(&filters)?)?;
    let order: ListParams = if paged {
        parse_query(&order)?
    } else {
        let export: ExportParams = parse_query(&order)?;
        ListParams {
            order_by: export.order_by,
            order: export.order,
            ..ListParams::default()
        }
    };
    let (page, page_size) = page_and_size(order.page, order.page_size)?;
    let sort = match order.order_by.as_deref() {
        None => K::SORTS[0].1,
        Some(name) => K::SORTS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, sort, _)| *sort)
            .ok_or_else(|| {
                let names: Vec<&str> = K::SORTS.iter().map(|(n, _, _)| *n).collect();
                ApiError::bad_request(
                    "invalid_query",
                    format!(
                        "{} cannot be sorted by {name:?}; use {}",
                        K::PLURAL,
                        names.join(", ")
                    ),
                )
            })?,
    };
    let after = order
        .cursor
        .as_deref()
        .map(|c| decode_sort_cursor(c, K::sort_kind(sort)))
        .transpose()?
        .map(|(v, id)| (v, K::Id::from(id)));
    Ok(ListQuery {
        with_total: true,
        filter,
        custom: Vec::new(),
        custom_sort: None,
        sort,
        descending: descending(order.order.as_deref())?,
        after,
        page,
        page_size,
    })
}

/// The documented list endpoint of a built-in kind and, for kinds that export, its CSV export,
/// written into the kind's module (`companies::list`, `companies::export`). `order_by` says the
/// sorts the list takes; `repeated` documents the kind's repeatable parameter.
macro_rules! list_verbs {
    (
        kind: $kind:ident,
        out: $out:ident,
        params: $params:ident,
        tag: $tag:literal,
        path: $path:literal,
        order_by: $order_by:literal,
        $(repeated: $repeated:tt,)?
        $(#[$list:meta])* list $(, $($export:tt)*)?
    ) => {
        $(#[$list])*
        #[utoipa::path(get, path = $path, tag = $tag, security(("bearer" = [])),
            params($params, kinds::ListParams,
                ("order_by" = Option<String>, Query, description = $order_by),
                $($repeated,)?
                ("X-Organization-Id" = Uuid, Header)),
            responses((status = 200, body = Page<$out>), (status = 400, body = Problem)))]
        pub async fn list(
            axum::extract::State(state): axum::extract::State<AppState>,
            scope: Scope,
            Meta(meta): Meta,
            axum::extract::RawQuery(raw): axum::extract::RawQuery,
        ) -> ApiResult<axum::Json<Page<$out>>> {
            let query = kinds::list_query::<$kind>(raw.as_deref().unwrap_or(""), true)?;
            kinds::list(&state, &scope, &meta, query).await
        }

        kinds::list_verbs!(@export $kind, $params, $tag, $order_by, [$($repeated)?], $($($export)*)?);
    };
    (@export $kind:ident, $params:ident, $tag:literal, $order_by:literal, [$($repeated:tt)?],) => {};
    (
        @export $kind:ident, $params:ident, $tag:literal, $order_by:literal, [$($repeated:tt)?],
        $(#[$export:meta])* export: $export_path:literal, columns: $columns:literal $(,)?
    ) => {
        $(#[$export])*
        #[utoipa::path(get, path = $export_path, tag = $tag, security(("bearer" = [])),
            params($params, kinds::ExportParams,
                ("order_by" = Option<String>, Query, description = $order_by),
                $($repeated,)?
                ("X-Organization-Id" = Uuid, Header)),
            responses((status = 200, description = $columns, body = String, content_type = "text/csv"),
                (status = 403, body = Problem)))]
        pub async fn export(
            axum::extract::State(state): axum::extract::State<AppState>,
            scope: Scope,
            Meta(meta): Meta,
            axum::extract::RawQuery(raw): axum::extract::RawQuery,
        ) -> ApiResult<axum::response::Response> {
            let query = kinds::list_query::<$kind>(raw.as_deref().unwrap_or(""), false)?;
            kinds::export::<$kind>(&state, scope, meta, query).await
        }
    };
}

pub(crate) use list_verbs;

/// The object a built-in kind is (its system fields, in the registry's words).
pub(crate) fn definition<K: ApiKind>() -> ObjectDef {
    builtin::object_by_key(K::KIND.object_key()).expect("every built-in kind is a built-in object")
}

/// A built-in record's answer as JSON, with its system fields' values by key (money as
/// `{amount, currency}`).
fn answer_and_values<K: ApiKind>(record: K, def: &ObjectDef) -> (Value, Map<String, Value>) {
    let out = serde_json::to_value(K::Out::from(record)).unwrap_or(Value::Null);
    let field = |key: &str| out.get(key).cloned().unwrap_or(Value::Null);
    let mut values = Map::new();
    for f in &def.fields {
        let key = f.key.as_str();
        let value = match f.field_type {
            FieldType::Money => json!({"amount": field(key), "currency": field("currency")}),
            _ => field(key),
        };
        values.insert(key.to_owned(), value);
    }
    (out, values)
}

/// A built-in record's system fields' values by key, as the record shape has them (the web
/// app's forms show them).
pub(crate) fn system_values<K: ApiKind>(record: K) -> Map<String, Value> {
    answer_and_values(record, &definition::<K>()).1
}

/// A built-in record in the contract's record shape: its system fields and custom values under
/// `values` by field key (money as `{amount, currency}`).
fn record_json<K: ApiKind>(record: K, organization_id: Uuid) -> Value {
    let def = definition::<K>();
    let (out, mut values) = answer_and_values(record, &def);
    let field = |key: &str| out.get(key).cloned().unwrap_or(Value::Null);
    if let Some(Value::Object(custom)) = out.get("custom") {
        values.extend(custom.clone());
    }
    let owner = out
        .get("owner_id")
        .or_else(|| out.get("assignee_id"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "id": field("id"),
        "object": def.key.as_str(),
        "organization_id": organization_id,
        "owner_id": owner,
        "title": field(def.primary_field.as_str()),
        "values": values,
        "created_at": field("created_at"),
        "updated_at": field("updated_at"),
    })
}

/// The kind's own body made of a record body: system fields by key (money split into amount
/// and currency), the other keys as custom values, the owner (a task's assignee).
fn record_input<K: ApiKind>(
    values: Map<String, Value>,
    owner_id: Option<Uuid>,
) -> ApiResult<K::In> {
    let def = definition::<K>();
    let mut body = Map::new();
    let mut custom = Map::new();
    for (key, value) in values {
        match def.fields.iter().find(|f| f.key.as_str() == key) {
            Some(f) if f.field_type == FieldType::Money => match value {
                Value::Object(money) => {
                    for part in ["amount", "currency"] {
                        if let Some(v) = money.get(part) {
                            body.insert(part.to_owned(), v.clone());
                        }
                    }
                }
                _ => {
                    return Err(invalid_values(
                        &key,
                        "must be an object {\"amount\": number, \"currency\": code}",
                    ));
                }
            },
            Some(_) => {
                body.insert(key, value);
            }
            None => {
                custom.insert(key, value);
            }
        }
    }
    if !custom.is_empty() {
        body.insert("custom".to_owned(), Value::Object(custom));
    }
    if let Some(owner) = owner_id {
        let key = if def.fields.iter().any(|f| f.key.as_str() == "assignee_id") {
            "assignee_id"
        } else {
            "owner_id"
        };
        body.insert(key.to_owned(), json!(owner));
    }
    serde_json::from_value(Value::Object(body)).map_err(|e| invalid_values("", &e.to_string()))
}

fn invalid_values(key: &str, message: &str) -> ApiError {
    let mut errors = ValidationErrors::new();
    let field = if key.is_empty() {
        "values".to_owned()
    } else {
        format!("values.{key}")
    };
    errors.add(&field, message);
    ApiError::from(rapport_app::AppError::Validation(errors))
}

/// The kind's field errors named as the record shape names them: `values.<key>`.
fn as_record_errors(error: rapport_app::AppError) -> ApiError {
    let mut e = ApiError::from(error);
    for f in &mut e.errors {
        let key = f.field.strip_prefix("custom.").unwrap_or(&f.field);
        f.field = match key {
            "owner_id" | "assignee_id" => "owner_id".to_owned(),
            "currency" => "values.amount".to_owned(),
            key => format!("values.{key}"),
        };
    }
    e
}

/// The contract's list grammar (`search`, `sort=key|-key`, `filter[key]=v`,
/// `filter[key][in]=a,b`, `page_size`, `cursor`) as the kind's own list parameters. Built-in lists
/// filter by equality on the fields their own endpoints filter by; other operators are 400.
fn list_params(q: &RecordListQuery) -> ApiResult<String> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if let Some(search) = &q.search {
        out.append_pair("search", search);
    }
    if let Some(sort) = &q.sort {
        let (key, descending) = match sort.strip_prefix('-') {
            Some(key) => (key, true),
            None => (sort.as_str(), false),
        };
        out.append_pair("order_by", key);
        out.append_pair("order", if descending { "desc" } else { "asc" });
    }
    out.append_pair("page_size", &q.page_size.to_string());
    if let Some(cursor) = &q.cursor {
        out.append_pair("cursor", cursor);
    }
    for (key, op, value) in &q.filters {
        match op.as_deref() {
            None => {
                out.append_pair(key, value);
            }
            Some("in") => {
                for v in value.split(',') {
                    out.append_pair(key, v);
                }
            }
            Some(op) => {
                return Err(ApiError::bad_request(
                    "unknown_filter",
                    format!(
                        "filter[{key}][{op}]: lists of built-in objects filter by equality \
                         (filter[key]=v, filter[status][in]=a,b)"
                    ),
                ));
            }
        }
    }
    Ok(out.finish())
}

/// `GET /objects/{builtin}/records`: `{items, next_cursor}` in the record shape.
pub async fn list_records<K: ApiKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    q: &RecordListQuery,
) -> ApiResult<Value> {
    // Custom fields' keys filter on custom values and sort by them; the others are the kind's
    // own parameters. The definition is read only for a filtered list or another sort than the
    // kind's own.
    let (sort_key, descending) = match q.sort.as_deref() {
        Some(sort) => match sort.strip_prefix('-') {
            Some(key) => (Some(key), true),
            None => (Some(sort), false),
        },
        None => (None, false),
    };
    let other_sort = sort_key.filter(|key| !K::SORTS.iter().any(|(name, _, _)| name == key));
    let object = if q.filters.is_empty() && other_sort.is_none() {
        None
    } else {
        Some(
            state
                .app
                .object(&scope.auth.actor, &scope.tenant, K::KIND.object_key(), meta)
                .await?
                .def
                .custom_part(),
        )
    };
    let custom_field = |key: &str| object.as_ref().and_then(|o| o.field(key));
    let (custom, own): (Vec<_>, Vec<_>) = q
        .filters
        .iter()
        .cloned()
        .partition(|(key, _, _)| custom_field(key).is_some());
    let custom_sort = other_sort.filter(|key| custom_field(key).is_some());
    let own = RecordListQuery {
        filters: own,
        sort: q.sort.clone().filter(|_| custom_sort.is_none()),
        cursor: q.cursor.clone().filter(|_| custom_sort.is_none()),
        ..q.clone()
    };
    let mut query = list_query::<K>(&list_params(&own)?, true)?;
    query.with_total = false;
    query.custom = custom;
    if let Some(key) = custom_sort {
        query.custom_sort = Some(key.to_owned());
        query.descending = descending;
        query.after = match &q.cursor {
            Some(c) => {
                let (value, id) = decode_sort_cursor(c, SortKind::Value)?;
                Some((value, K::Id::from(id)))
            }
            None => None,
        };
    }
    let result = state
        .app
        .list::<K>(&scope.auth.actor, &scope.tenant, query, meta)
        .await?;
    let org = scope.tenant.id().as_uuid();
    let next_cursor = result
        .next
        .as_ref()
        .map(|(v, id)| encode_sort_cursor(v, (*id).into()));
    let items: Vec<Value> = result
        .items
        .into_iter()
        .map(|r| record_json(r, org))
        .collect();
    Ok(json!({"items": items, "next_cursor": next_cursor}))
}

pub async fn get_record<K: ApiKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: Uuid,
) -> ApiResult<Value> {
    let record = state
        .app
        .get::<K>(&scope.auth.actor, &scope.tenant, id_of::<K>(id), meta)
        .await?;
    Ok(record_json(record, scope.tenant.id().as_uuid()))
}

pub async fn create_record<K: ApiKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    values: Map<String, Value>,
    owner_id: Option<Uuid>,
) -> ApiResult<Value> {
    let body = record_input::<K>(values, owner_id)?;
    let record = state
        .app
        .create::<K>(&scope.auth.actor, &scope.tenant, body.into(), meta)
        .await
        .map_err(as_record_errors)?;
    Ok(record_json(record, scope.tenant.id().as_uuid()))
}

pub async fn update_record<K: ApiKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: Uuid,
    values: Map<String, Value>,
    owner_id: Option<Uuid>,
) -> ApiResult<Value> {
    let body = record_input::<K>(values, owner_id)?;
    let record = state
        .app
        .update::<K>(
            &scope.auth.actor,
            &scope.tenant,
            id_of::<K>(id),
            body.into(),
            meta,
        )
        .await
        .map_err(as_record_errors)?;
    Ok(record_json(record, scope.tenant.id().as_uuid()))
}

pub async fn delete_record<K: ApiKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: Uuid,
) -> ApiResult<StatusCode> {
    delete::<K>(state, scope, meta, id_of::<K>(id)).await
}

/// Brings a deleted record back (tasks are deleted for good: 404).
pub async fn restore_record<K: ApiKind>(
    state: &AppState,
    scope: &Scope,
    meta: &RequestMeta,
    id: Uuid,
) -> ApiResult<Value> {
    state
        .app
        .restore(
            &scope.auth.actor,
            &scope.tenant,
            K::KIND.object_key(),
            id,
            meta,
        )
        .await?;
    get_record::<K>(state, scope, meta, id).await
}

fn id_of<K: BuiltinKind>(id: Uuid) -> K::Id {
    K::Id::from(id)
}
