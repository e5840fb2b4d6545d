//! The API's verbs on the built-in kinds (companies, contacts, leads, deals, tasks), written once
//! over the app's common path. Each kind's module keeps what is its own: its shapes (`CompanyOut`,
//! `CompanyIn`), its list parameters and its documented handlers, which call these.

use axum::Json;
use axum::http::StatusCode;
use rapport_app::RequestMeta;
use rapport_app::kinds::{BuiltinKind, ListQuery};
use serde::Serialize;
use uuid::Uuid;

use super::types::{Page, TagOut, encode_sort_cursor, group_tags, tags_for};
use crate::error::ApiResult;
use crate::extract::Scope;
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
    change: K::Change,
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
    change: K::Change,
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
