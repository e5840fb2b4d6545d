//! Files in the web app: each record page's "Files" box (drag-and-drop uploads with progress),
//! a file's own page (preview, versions, a new version, delete), the organization-wide "Files"
//! list with search and filters, and the file's bytes for the signed-in member.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rapport_app::files::{FileListQuery, FileView};
use rapport_app::{Actor, Tenant};
use rapport_domain::UserId;
use rapport_domain::file::{FileKind, human_size};
use serde::Deserialize;
use uuid::Uuid;

use super::records::{Choice, People, when};
use super::workspace::{Shell, shell};
use super::{PageContext, PageResult, render, see_other};
use crate::api::v1::files::{Target, receive};
use crate::error::ApiError;

/// A file in a list.
pub struct FileItem {
    pub id: String,
    pub name: String,
    /// The file's page.
    pub href: String,
    /// Its bytes, to save.
    pub download: String,
    /// An image's own address, shown small.
    pub thumb: Option<String>,
    /// `image`, `pdf`, `document`… (the icon's colour).
    pub kind: String,
    /// The extension shown on the icon (`PDF`, `DOCX`).
    pub badge: String,
    pub size: String,
    pub by: String,
    pub when: String,
    pub version: i32,
    /// The record it is on, in the organization-wide list: its title and page.
    pub record: Option<(String, String)>,
}

fn badge(name: &str, kind: Option<FileKind>) -> String {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_uppercase())
        .filter(|e| e.len() <= 4 && !e.is_empty());
    ext.unwrap_or_else(|| match kind {
        Some(FileKind::Text) => "TXT".into(),
        Some(FileKind::Image) => "IMG".into(),
        _ => "FILE".into(),
    })
}

fn item(base: &str, people: &People, v: &FileView, with_record: bool) -> FileItem {
    let f = &v.file;
    let kind = v.kind();
    let content = format!("{base}/files/{}/content", f.id);
    FileItem {
        id: f.id.to_string(),
        name: f.name.clone(),
        href: format!("{base}/files/{}", f.id),
        download: format!("{content}?download=1"),
        thumb: (rapport_app::files::thumbnail::applies(&f.content_type)
            && f.size <= rapport_app::files::thumbnail::MAX_SOURCE_BYTES)
            .then(|| format!("{base}/files/{}/thumbnail?v={}", f.id, f.current_version_id)),
        kind: kind.map(|k| k.key()).unwrap_or("text").to_owned(),
        badge: badge(&f.name, kind),
        size: human_size(f.size.max(0) as u64),
        by: people.name_of(f.updated_by.or(f.created_by)),
        when: when(f.updated_at),
        version: f.version,
        record: with_record.then(|| {
            (
                v.record_title.clone().unwrap_or_default(),
                super::objects::record_href(base, &v.record_kind, &f.record_id.to_string()),
            )
        }),
    }
}

/// The "Files" box of a record page.
pub struct FilesBox {
    pub files: Vec<FileItem>,
    /// Where uploads go, when the member may attach files.
    pub upload: Option<String>,
    /// The size limit, in words.
    pub limit: String,
    pub limit_bytes: u64,
}

/// The box for a record (`kind`: a built-in kind's key or a custom object's key); none when the
/// files cannot be read.
pub async fn files_box(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    people: &People,
    kind: &str,
    id: Uuid,
) -> Option<FilesBox> {
    let app = &ctx.state.app;
    let found = app
        .record_files(actor, tenant, kind, id, &ctx.meta)
        .await
        .ok()?;
    let (files, may_attach) = (found.files, found.may_attach);
    let base = &ctx.base;
    let limit = app.config.file_max_bytes;
    Some(FilesBox {
        files: files.iter().map(|v| item(base, people, v, false)).collect(),
        upload: may_attach
            .then(|| format!("{base}/files/upload?record_type={kind}&record_id={id}")),
        limit: human_size(limit),
        limit_bytes: limit,
    })
}

#[derive(Deserialize, Default)]
pub struct UploadTarget {
    record_type: Option<String>,
    record_id: Option<Uuid>,
}

/// The problem an upload's script shows next to the file.
fn problem(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

/// The CSRF token an upload's script sends in its header.
fn csrf_of(request: &Request) -> String {
    request
        .headers()
        .get(crate::extract::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The member sending an upload from a page: its CSRF token travels in a header (the body is
/// the file).
async fn uploader(
    ctx: &PageContext,
    csrf: String,
) -> Result<(&rapport_app::accounts::CurrentSession, Tenant), Response> {
    ctx.check_csrf(&csrf).map_err(IntoResponse::into_response)?;
    ctx.tenant().await.map_err(IntoResponse::into_response)
}

/// `POST /files/upload?record_type=…&record_id=…`: one file (a `multipart/form-data` part named
/// `file`), sent by the Files box's script.
pub async fn upload(
    ctx: PageContext,
    Query(target): Query<UploadTarget>,
    request: Request,
) -> Response {
    let (session, tenant) = match uploader(&ctx, csrf_of(&request)).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let (Some(kind), Some(record_id)) = (target.record_type.as_deref(), target.record_id) else {
        return ApiError::bad_request("invalid_upload", "name the record the file is for")
            .into_response();
    };
    let (actor, meta) = (&session.actor, &ctx.meta);
    if let Err(e) = ctx
        .state
        .app
        .may_attach(actor, &tenant, kind, record_id, meta)
        .await
    {
        return problem(e);
    }
    let target = Target::Record(kind, record_id);
    match receive(&ctx.state, actor, &tenant, meta, request, target).await {
        Ok(view) => created(&view),
        Err(e) => e.into_response(),
    }
}

/// `POST /files/{id}/versions`: a new version (as an upload), from the file's page.
pub async fn upload_version(
    ctx: PageContext,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (session, tenant) = match uploader(&ctx, csrf_of(&request)).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return ApiError::not_found().into_response();
    };
    let (actor, meta) = (&session.actor, &ctx.meta);
    if let Err(e) = ctx
        .state
        .app
        .may_replace_file(actor, &tenant, id, meta)
        .await
    {
        return problem(e);
    }
    match receive(
        &ctx.state,
        actor,
        &tenant,
        meta,
        request,
        Target::Version(id),
    )
    .await
    {
        Ok(view) => created(&view),
        Err(e) => e.into_response(),
    }
}

/// What the Files box's script reads of an upload taken in.
fn created(view: &FileView) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "id": view.file.id,
            "name": view.file.name,
            "version": view.file.version,
        })),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct ContentQuery {
    version: Option<Uuid>,
    download: Option<String>,
}

/// `GET /files/{id}/content`: the bytes, shown in the page when the type allows (images, PDFs,
/// video, audio) unless `download` asks to save them.
pub async fn content(
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<ContentQuery>,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ApiError::not_found().into());
    };
    let download = ctx
        .state
        .app
        .file_content(&session.actor, &tenant, id, q.version, &ctx.meta)
        .await?;
    Ok(crate::downloads::file_response(
        download,
        q.download.is_none(),
    ))
}

/// `GET /files/{id}/thumbnail`: a small picture of an image file, for lists.
pub async fn thumbnail(ctx: PageContext, Path(id): Path<String>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ApiError::not_found().into());
    };
    let download = ctx
        .state
        .app
        .file_thumbnail(&session.actor, &tenant, id, &ctx.meta)
        .await?;
    Ok(crate::downloads::file_response(download, true))
}

/// A version in the file's page.
pub struct VersionItem {
    pub id: String,
    pub number: i32,
    pub name: String,
    pub size: String,
    pub by: String,
    pub when: String,
    pub current: bool,
    pub restored_from: Option<i32>,
    pub download: String,
}

#[derive(Template)]
#[template(path = "file.html")]
pub struct FilePage {
    pub shell: Shell,
    pub file: FileItem,
    pub content_type: String,
    pub sha256: String,
    /// How it is previewed: `image`, `pdf`, `video`, `audio`, or none.
    pub preview: Option<&'static str>,
    pub content: String,
    pub record_title: String,
    pub record_href: String,
    pub versions: Vec<VersionItem>,
    pub may_change: bool,
    pub limit: String,
    pub limit_bytes: u64,
    pub notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct FilePageQuery {
    notice: Option<String>,
}

/// `GET /files/{id}`: a file's page.
pub async fn page(
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<FilePageQuery>,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ApiError::not_found().into());
    };
    let app = &ctx.state.app;
    let actor = &session.actor;
    let view = app.file(actor, &tenant, id, &ctx.meta).await?;
    let (_, versions) = app.file_versions(actor, &tenant, id, &ctx.meta).await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let item = item(base, &people, &view, true);
    let preview = match view.kind() {
        Some(FileKind::Image) if view.inline() => Some("image"),
        Some(FileKind::Pdf) => Some("pdf"),
        Some(FileKind::Video) if view.inline() => Some("video"),
        Some(FileKind::Audio) => Some("audio"),
        _ => None,
    };
    let current = view.file.current_version_id;
    let content = format!("{base}/files/{id}/content");
    let versions = versions
        .into_iter()
        .map(|v| VersionItem {
            id: v.id.to_string(),
            number: v.number,
            download: format!("{content}?version={}&download=1", v.id),
            name: v.name,
            size: human_size(v.size.max(0) as u64),
            by: people.name_of(v.uploaded_by),
            when: when(v.created_at),
            current: v.id == current,
            restored_from: v.restored_from,
        })
        .collect();
    let (record_title, record_href) = item.record.clone().unwrap_or_default();
    let limit = app.config.file_max_bytes;
    let crumb = item.name.clone();
    Ok(render(&FilePage {
        shell: shell(&ctx, session, &tenant, "files", &["Files", &crumb]).await,
        content_type: view.file.content_type.clone(),
        sha256: view.file.sha256.clone(),
        preview,
        content,
        record_title,
        record_href,
        versions,
        may_change: view.may_change,
        limit: human_size(limit),
        limit_bytes: limit,
        notice: match q.notice.as_deref() {
            Some("restored") => Some("That version is the current one again."),
            _ => None,
        },
        file: item,
    }))
}

/// `POST /files/{id}/versions/{version}/restore`.
pub async fn restore_version(
    ctx: PageContext,
    Path((id, version)): Path<(String, String)>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let (Ok(id), Ok(version)) = (id.parse::<Uuid>(), version.parse::<Uuid>()) else {
        return Err(ApiError::not_found().into());
    };
    ctx.state
        .app
        .restore_file_version(&session.actor, &tenant, id, version, &ctx.meta)
        .await?;
    Ok(see_other(&format!(
        "{}/files/{id}?notice=restored",
        ctx.base
    )))
}

/// `POST /files/{id}/delete`: to "recently deleted", then back to the record.
pub async fn delete(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ApiError::not_found().into());
    };
    let app = &ctx.state.app;
    let view = app.file(&session.actor, &tenant, id, &ctx.meta).await?;
    app.delete_file(&session.actor, &tenant, id, &ctx.meta)
        .await?;
    let back = super::objects::record_href(
        &ctx.base,
        &view.record_kind,
        &view.file.record_id.to_string(),
    );
    Ok(see_other(&format!("{back}?notice=file-deleted#files")))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    record_type: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "files.html")]
pub struct FilesPage {
    pub shell: Shell,
    pub files: Vec<FileItem>,
    pub q: String,
    pub kinds: Vec<Choice>,
    pub record_types: Vec<Choice>,
    pub uploaders: Vec<Choice>,
    /// Whether any filter is on (the empty state then says so).
    pub filtered: bool,
    /// The next page's address.
    pub more: Option<String>,
}

/// `GET /files`: every file the member sees, most recently changed first.
pub async fn list(ctx: PageContext, Query(q): Query<ListQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let kind = FileKind::parse(&q.kind);
    let by = q.by.parse::<Uuid>().ok().map(UserId);
    let after = crate::api::v1::types::Paging {
        page: None,
        page_size: None,
        cursor: (!q.after.is_empty()).then(|| q.after.clone()),
    }
    .cursor()
    .ok()
    .flatten();
    let record_kind = (!q.record_type.is_empty()).then(|| q.record_type.clone());
    let page = app
        .files(
            actor,
            &tenant,
            &FileListQuery {
                search: (!q.q.trim().is_empty()).then(|| q.q.trim().to_owned()),
                kind,
                record_kind: record_kind.clone(),
                record_id: None,
                uploaded_by: by,
                after,
                limit: 50,
            },
            &ctx.meta,
        )
        .await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let base = &ctx.base;
    let files = page
        .items
        .iter()
        .map(|v| item(base, &people, v, true))
        .collect();
    let mut kinds = vec![Choice {
        value: String::new(),
        label: "All types".into(),
        selected: kind.is_none(),
    }];
    kinds.extend(FileKind::ALL.iter().map(|k| Choice {
        value: k.key().into(),
        label: k.label().into(),
        selected: kind == Some(*k),
    }));
    let mut record_types = vec![Choice {
        value: String::new(),
        label: "On any record".into(),
        selected: record_kind.is_none(),
    }];
    let catalog = app
        .objects(actor, &tenant, &ctx.meta)
        .await
        .unwrap_or_default();
    for o in &catalog.objects {
        if o.def.key.as_str() == "task"
            || !tenant.may_kind(
                rapport_domain::access::RecordAction::View,
                o.def.key.as_str(),
                rapport_domain::Ownership::NotApplicable,
            )
        {
            continue;
        }
        record_types.push(Choice {
            value: o.def.key.as_str().to_owned(),
            label: format!("On {}", o.def.plural.to_lowercase()),
            selected: record_kind.as_deref() == Some(o.def.key.as_str()),
        });
    }
    let mut uploaders = vec![Choice {
        value: String::new(),
        label: "Anyone".into(),
        selected: by.is_none(),
    }];
    uploaders.extend(people.filter_options(by));
    let more = page.next.map(|(at, id)| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", q.q.as_str()),
            ("kind", q.kind.as_str()),
            ("record_type", q.record_type.as_str()),
            ("by", q.by.as_str()),
        ] {
            if !v.is_empty() {
                query.append_pair(k, v);
            }
        }
        query.append_pair("after", &crate::api::v1::types::encode_cursor(at, id));
        format!("{base}/files?{}", query.finish())
    });
    Ok(render(&FilesPage {
        shell: shell(&ctx, session, &tenant, "files", &["Files"]).await,
        files,
        filtered: !q.q.trim().is_empty() || kind.is_some() || record_kind.is_some() || by.is_some(),
        q: q.q,
        kinds,
        record_types,
        uploaders,
        more,
    }))
}

/// What a signed link carries.
#[derive(Debug, Deserialize)]
pub struct SignedQuery {
    o: Uuid,
    f: Uuid,
    v: Uuid,
    u: Uuid,
    e: i64,
    d: String,
    s: String,
}

/// `GET /files/download?…`: a signed link's file, for anyone holding the link until it expires
/// (410), as long as whoever asked for it still sees the file (else 404).
pub async fn signed_download(
    ctx: PageContext,
    query: Result<Query<SignedQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return ApiError::not_found().into_response();
    };
    let params = rapport_app::files::LinkParams {
        o: q.o,
        f: q.f,
        v: q.v,
        u: q.u,
        e: q.e,
        d: q.d,
        s: q.s,
    };
    let inline = params.d == "inline";
    match ctx.state.app.open_file_link(&params).await {
        Ok(download) => crate::downloads::file_response(download, inline),
        Err(e) => problem(e),
    }
}
