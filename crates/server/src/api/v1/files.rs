//! `/api/v1/files` and each record's `…/files`: files attached to records, their versions, their
//! bytes, and short-lived signed links to them. Uploads are `multipart/form-data` with one part
//! named `file`, streamed to the file store; its type is told from its content.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rapport_app::files::{FileListQuery, FileView};
use rapport_app::model::VersionRow;
use rapport_app::{Actor, RequestMeta, Tenant};
use rapport_domain::file::FileKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::types::encode_cursor;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

/// A file attached to a record, as its current version describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileOut {
    pub id: Uuid,
    /// The record's kind: company, contact, lead, deal, or a custom object's key.
    pub record_type: String,
    pub record_id: Uuid,
    /// The record's title (in lists and single reads).
    pub record_title: Option<String>,
    pub name: String,
    /// Told from the content when it was uploaded.
    pub content_type: String,
    /// image, pdf, document, spreadsheet, presentation, video, audio, archive or text.
    pub kind: Option<String>,
    /// Bytes.
    pub size: i64,
    /// The current version's number (1 for a file never replaced).
    pub version: i32,
    /// SHA-256 of the current version's bytes, hex.
    pub sha256: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    /// Whether the caller may replace, delete or restore it.
    pub may_change: bool,
}

impl From<FileView> for FileOut {
    fn from(v: FileView) -> Self {
        let kind = v.kind().map(|k| k.key().to_owned());
        let f = v.file;
        Self {
            id: f.id,
            record_type: v.record_kind,
            record_id: f.record_id,
            record_title: v.record_title,
            name: f.name,
            content_type: f.content_type,
            kind,
            size: f.size,
            version: f.version,
            sha256: f.sha256,
            created_by: f.created_by,
            created_at: f.created_at,
            updated_by: f.updated_by,
            updated_at: f.updated_at,
            may_change: v.may_change,
        }
    }
}

/// One version of a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileVersionOut {
    pub id: Uuid,
    pub number: i32,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// The number of the older version this one brought back.
    pub restored_from: Option<i32>,
    pub uploaded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Whether it is the file's current version.
    pub current: bool,
}

fn version_out(v: VersionRow, current: Uuid) -> FileVersionOut {
    FileVersionOut {
        current: v.id == current,
        id: v.id,
        number: v.number,
        name: v.name,
        content_type: v.content_type,
        size: v.size,
        sha256: v.sha256,
        restored_from: v.restored_from,
        uploaded_by: v.uploaded_by,
        created_at: v.created_at,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileListOut {
    pub items: Vec<FileOut>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileVersionsOut {
    pub items: Vec<FileVersionOut>,
}

/// A link that downloads the file without credentials until it expires.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileLinkOut {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// An upload: one part named `file` (its filename is the file's name).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FileParams {
    /// Words in the file's name.
    pub search: Option<String>,
    /// image, pdf, document, spreadsheet, presentation, video, audio, archive or text.
    pub kind: Option<String>,
    /// Files on records of one kind: company, contact, lead, deal, or a custom object's key.
    pub record_type: Option<String>,
    /// Files on one record.
    pub record_id: Option<Uuid>,
    /// Files first uploaded by one member.
    pub uploaded_by: Option<Uuid>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadTarget {
    /// company, contact, lead, deal, or a custom object's key.
    pub record_type: String,
    pub record_id: Uuid,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContentParams {
    /// A version's id (default: the current version).
    pub version: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkParams {
    /// A version's id (default: the current version).
    pub version: Option<Uuid>,
    /// `attachment` (default: the browser saves it) or `inline` (shown when it is an image, a
    /// PDF, video or audio).
    pub disposition: Option<String>,
}

/// A built-in kind's plural in paths, as its key.
fn kind_of_path(kind: &str) -> Result<&'static str, ApiError> {
    match kind {
        "companies" => Ok("company"),
        "contacts" => Ok("contact"),
        "leads" => Ok("lead"),
        "deals" => Ok("deal"),
        _ => Err(ApiError::not_found()),
    }
}

/// The `file` part of an upload, streamed into the record (or into a new version); the API's
/// and the pages' uploads alike.
pub(crate) async fn receive(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    meta: &RequestMeta,
    request: Request,
    target: Target<'_>,
) -> ApiResult<FileView> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_request("invalid_upload", e.body_text()))?;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request("invalid_upload", e.body_text()))?;
        let Some(field) = field else {
            return Err(ApiError::bad_request(
                "invalid_upload",
                "the upload has no part named file",
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let view = match target {
            Target::Record(kind, id) => {
                state
                    .app
                    .attach_file(actor, tenant, (kind, id), &name, field, meta)
                    .await?
            }
            Target::Version(id) => {
                let name = (!name.trim().is_empty()).then_some(name.as_str());
                state
                    .app
                    .add_file_version(actor, tenant, id, name, field, meta)
                    .await?
            }
        };
        return Ok(view);
    }
}

/// Where an upload goes.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Record(&'a str, Uuid),
    Version(Uuid),
}

/// The organization's files the caller sees (on records in their reach), most recently changed
/// first.
#[utoipa::path(get, path = "/api/v1/files", tag = "files", security(("bearer" = [])),
    params(FileParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileListOut), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(params): ApiQuery<FileParams>,
) -> ApiResult<Json<FileListOut>> {
    let limit = match params.page_size {
        None => 25,
        Some(n) if (1..=100).contains(&n) => n as i64,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "page_size must be between 1 and 100",
            ));
        }
    };
    let kind = match params.kind.as_deref() {
        None => None,
        Some(k) => Some(FileKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                "kind must be image, pdf, document, spreadsheet, presentation, video, audio, archive or text",
            )
        })?),
    };
    let after = super::types::Paging {
        page: None,
        page_size: None,
        cursor: params.cursor,
    }
    .cursor()?;
    let page = state
        .app
        .files(
            &scope.auth.actor,
            &scope.tenant,
            &FileListQuery {
                search: params.search,
                kind,
                record_kind: params.record_type,
                record_id: params.record_id,
                uploaded_by: params.uploaded_by.map(rapport_domain::UserId),
                after,
                limit,
            },
            &meta,
        )
        .await?;
    Ok(Json(FileListOut {
        items: page.items.into_iter().map(FileOut::from).collect(),
        next_cursor: page.next.map(|(at, id)| encode_cursor(at, id)),
    }))
}

/// Attach a file to a record (`record_type` and `record_id` name it): `multipart/form-data`
/// with one part named `file`. Refused: 413 over the size limit, 415 when the content is not an
/// accepted type (documents, images, PDFs, spreadsheets, presentations, video, audio, ZIP,
/// plain text).
#[utoipa::path(post, path = "/api/v1/files", tag = "files", security(("bearer" = [])),
    params(UploadTarget, ("X-Organization-Id" = Uuid, Header)),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses((status = 201, body = FileOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(target): ApiQuery<UploadTarget>,
    request: Request,
) -> ApiResult<(StatusCode, Json<FileOut>)> {
    let (actor, tenant) = (&scope.auth.actor, &scope.tenant);
    let kind = target.record_type.as_str();
    state
        .app
        .may_attach(actor, tenant, kind, target.record_id, &meta)
        .await?;
    let view = receive(
        &state,
        actor,
        tenant,
        &meta,
        request,
        Target::Record(kind, target.record_id),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// A record's files, newest first (`kind`: companies, contacts, leads or deals).
#[utoipa::path(get, path = "/api/v1/{kind}/{id}/files", tag = "files", security(("bearer" = [])),
    params(("kind" = String, Path, description = "companies, contacts, leads or deals"), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileListOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn for_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((kind, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<FileListOut>> {
    let kind = kind_of_path(&kind)?;
    record_files(&state, &scope, kind, id, &meta).await
}

async fn record_files(
    state: &AppState,
    scope: &Scope,
    kind: &str,
    id: Uuid,
    meta: &RequestMeta,
) -> ApiResult<Json<FileListOut>> {
    let files = state
        .app
        .record_files(&scope.auth.actor, &scope.tenant, kind, id, meta)
        .await?;
    Ok(Json(FileListOut {
        items: files.files.into_iter().map(FileOut::from).collect(),
        next_cursor: None,
    }))
}

/// Attach a file to a record (`kind`: companies, contacts, leads or deals); as `POST /files`.
#[utoipa::path(post, path = "/api/v1/{kind}/{id}/files", tag = "files", security(("bearer" = [])),
    params(("kind" = String, Path, description = "companies, contacts, leads or deals"), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses((status = 201, body = FileOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn attach(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((kind, id)): ApiPath<(String, Uuid)>,
    request: Request,
) -> ApiResult<(StatusCode, Json<FileOut>)> {
    let kind = kind_of_path(&kind)?;
    attach_to(&state, &scope, kind, id, &meta, request).await
}

async fn attach_to(
    state: &AppState,
    scope: &Scope,
    kind: &str,
    id: Uuid,
    meta: &RequestMeta,
    request: Request,
) -> ApiResult<(StatusCode, Json<FileOut>)> {
    let (actor, tenant) = (&scope.auth.actor, &scope.tenant);
    state.app.may_attach(actor, tenant, kind, id, meta).await?;
    let view = receive(
        state,
        actor,
        tenant,
        meta,
        request,
        Target::Record(kind, id),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// A custom object's record's files, newest first.
#[utoipa::path(get, path = "/api/v1/objects/{object}/records/{id}/files", tag = "files", security(("bearer" = [])),
    params(("object" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileListOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn for_custom_record(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<FileListOut>> {
    if kind_of_path(&format!("{object}s")).is_ok() || object == "company" {
        return Err(ApiError::not_found());
    }
    record_files(&state, &scope, &object, id, &meta).await
}

/// Attach a file to a custom object's record; as `POST /files`.
#[utoipa::path(post, path = "/api/v1/objects/{object}/records/{id}/files", tag = "files", security(("bearer" = [])),
    params(("object" = String, Path), ("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses((status = 201, body = FileOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn attach_custom(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((object, id)): ApiPath<(String, Uuid)>,
    request: Request,
) -> ApiResult<(StatusCode, Json<FileOut>)> {
    if kind_of_path(&format!("{object}s")).is_ok() || object == "company" {
        return Err(ApiError::not_found());
    }
    attach_to(&state, &scope, &object, id, &meta, request).await
}

/// One file.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<FileOut>> {
    let view = state
        .app
        .file(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(Json(view.into()))
}

/// Move a file to "recently deleted" (restore it with `POST /trash/file/{id}/restore`).
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_file(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The file's bytes (its current version, or `version`), streamed, as an attachment.
#[utoipa::path(get, path = "/api/v1/files/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), ContentParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, description = "The file's bytes, of its own type", content_type = "*/*"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn content(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<ContentParams>,
) -> ApiResult<Response> {
    let download = state
        .app
        .file_content(&scope.auth.actor, &scope.tenant, id, params.version, &meta)
        .await?;
    Ok(crate::downloads::file_response(download, false))
}

/// A short-lived link that downloads the file (its current version, or `version`) without
/// credentials; it stops working when it expires, or when its asker no longer sees the file.
#[utoipa::path(post, path = "/api/v1/files/{id}/link", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), LinkParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileLinkOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn link(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<LinkParams>,
) -> ApiResult<Json<FileLinkOut>> {
    let inline = match params.disposition.as_deref() {
        None | Some("attachment") => false,
        Some("inline") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "disposition must be attachment or inline",
            ));
        }
    };
    let link = state
        .app
        .file_link(
            &scope.auth.actor,
            &scope.tenant,
            id,
            params.version,
            inline,
            &meta,
        )
        .await?;
    Ok(Json(FileLinkOut {
        url: state.app.link(&link.path),
        expires_at: link.expires_at,
    }))
}

/// A file's versions, newest first.
#[utoipa::path(get, path = "/api/v1/files/{id}/versions", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileVersionsOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn versions(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<FileVersionsOut>> {
    let (view, versions) = state
        .app
        .file_versions(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    let current = view.file.current_version_id;
    Ok(Json(FileVersionsOut {
        items: versions
            .into_iter()
            .map(|v| version_out(v, current))
            .collect(),
    }))
}

/// Upload a new version of a file (it becomes the current one); as `POST /files`. The part's
/// filename, when given, renames the file.
#[utoipa::path(post, path = "/api/v1/files/{id}/versions", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses((status = 201, body = FileOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn add_version(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    request: Request,
) -> ApiResult<(StatusCode, Json<FileOut>)> {
    let (actor, tenant) = (&scope.auth.actor, &scope.tenant);
    state.app.may_replace_file(actor, tenant, id, &meta).await?;
    let view = receive(&state, actor, tenant, &meta, request, Target::Version(id)).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Make an older version current again (as a new version with its bytes).
#[utoipa::path(post, path = "/api/v1/files/{id}/versions/{version_id}/restore", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("version_id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = FileOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn restore_version(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((id, version_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<FileOut>> {
    let view = state
        .app
        .restore_file_version(&scope.auth.actor, &scope.tenant, id, version_id, &meta)
        .await?;
    Ok(Json(view.into()))
}
