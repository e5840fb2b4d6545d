//! Files attached to records: uploads (streamed to the file store, checked by content, limited
//! in size), versions, "recently deleted", the organization-wide list, and downloads, both
//! through the caller's own credentials and through short-lived signed links.
//!
//! Who may do what follows the record a file is on: whoever sees the record sees and downloads
//! its files; whoever may change the record attaches, replaces, deletes and restores them.
//! A file on a record someone cannot see does not exist for them, by any address.

pub mod content;
pub mod storage;
pub mod thumbnail;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use rapport_domain::access::{Reach, RecordAction};
use rapport_domain::file::{Accepted, FileKind, FileName};
use rapport_domain::{OrganizationId, Ownership, RecordId, UserId};
use rapport_store::files::{self as store_files, FileRow, ListedFile, NewVersion, VersionRow};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use storage::FileStore;

use crate::audit::{entry, with_target};
use crate::timeline::RecordRef;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// A record named by its kind (a built-in kind's key, or a custom object's key) and id.
pub fn record_of(kind: &str, id: Uuid) -> RecordRef {
    match kind {
        "company" => RecordRef::Company(rapport_domain::CompanyId(id)),
        "contact" => RecordRef::Contact(rapport_domain::ContactId(id)),
        "lead" => RecordRef::Lead(rapport_domain::LeadId(id)),
        "deal" => RecordRef::Deal(rapport_domain::DealId(id)),
        _ => RecordRef::Record(RecordId(id)),
    }
}

/// A file as a member sees it.
#[derive(Clone, Debug)]
pub struct FileView {
    pub file: FileRow,
    /// The record's kind: a built-in kind's key or the custom object's key.
    pub record_kind: String,
    /// The record's title, where the caller read it.
    pub record_title: Option<String>,
    /// Whether the member may replace, delete or restore it (they may change its record).
    pub may_change: bool,
}

impl FileView {
    pub fn accepted(&self) -> Option<&'static Accepted> {
        rapport_domain::file::accepted(&self.file.content_type)
    }

    pub fn kind(&self) -> Option<FileKind> {
        self.accepted().map(|a| a.kind)
    }

    /// Whether a browser may show it in the page.
    pub fn inline(&self) -> bool {
        self.accepted().is_some_and(|a| a.inline)
    }
}

/// A record's files, newest first (at most 500).
pub struct RecordFiles {
    pub files: Vec<FileView>,
    /// Whether the member may attach files to it (they may change it).
    pub may_attach: bool,
}

/// Which files the organization-wide list shows.
#[derive(Clone, Debug, Default)]
pub struct FileListQuery {
    pub search: Option<String>,
    pub kind: Option<FileKind>,
    /// Files on records of one kind (a built-in kind's key or a custom object's key).
    pub record_kind: Option<String>,
    pub record_id: Option<Uuid>,
    pub uploaded_by: Option<UserId>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

pub struct FilePage {
    pub items: Vec<FileView>,
    /// Where the next page starts, when there is one.
    pub next: Option<(DateTime<Utc>, Uuid)>,
}

/// A file's bytes on their way out.
pub struct Download {
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Whether a browser may show it in the page (else it is only ever saved).
    pub inline: bool,
    pub body: BoxStream<'static, std::io::Result<Bytes>>,
}

/// A short-lived link that downloads one version of a file without further credentials.
#[derive(Clone, Debug)]
pub struct SignedLink {
    /// The link's path and query (`/files/download?…`), to be put after the server's address.
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// What a signed link carries (its query).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct LinkParams {
    /// The organization.
    pub o: Uuid,
    /// The file and its version.
    pub f: Uuid,
    pub v: Uuid,
    /// The member who asked for it; their access is checked again when it is opened.
    pub u: Uuid,
    /// When it stops working (Unix seconds).
    pub e: i64,
    /// `inline` or `attachment`.
    pub d: String,
    /// The signature.
    pub s: String,
}

/// An object written to the file store for an upload, not yet recorded.
struct Stored {
    version_id: Uuid,
    key: String,
    size: i64,
    sha256: String,
    accepted: &'static Accepted,
}

impl App {
    /// Streams an upload into the file store: its first bytes decide whether it is accepted,
    /// and it stops (leaving nothing behind) as soon as it passes the size limit or the
    /// client's stream breaks. At most a few parts are held in memory, whatever the size.
    async fn store_upload<S, E>(
        &self,
        organization: OrganizationId,
        name: &FileName,
        mut body: S,
    ) -> AppResult<Stored>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let max = self.config.file_max_bytes;
        let broken = |e: E| {
            AppError::bad_request("upload_interrupted", format!("the upload broke off: {e}"))
        };
        // A client that stops sending for as long as a whole request may take is let go.
        let idle = self.config.request_timeout;
        let stalled =
            || AppError::bad_request("upload_stalled", "the upload stopped arriving; try again");
        let mut head: Vec<u8> = Vec::new();
        let mut ended = false;
        while head.len() < content::HEAD_BYTES {
            let next = tokio::time::timeout(idle, body.next())
                .await
                .map_err(|_| stalled())?;
            match next {
                Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(broken(e)),
                None => {
                    ended = true;
                    break;
                }
            }
            if head.len() as u64 > max {
                return Err(AppError::FileTooLarge { limit: max });
            }
        }
        if ended && head.is_empty() {
            return Err(AppError::invalid("file", "is empty"));
        }
        let looked = &head[..head.len().min(content::HEAD_BYTES)];
        let accepted =
            content::recognise(looked, ended, name).map_err(AppError::UnsupportedFileType)?;
        let version_id = Uuid::now_v7();
        let key = FileStore::key(organization, version_id);
        // Listed before a byte is written: an upload cut off anywhere from here on (the client
        // gone, the server stopped) leaves nothing the maintenance job does not find.
        {
            let mut tx = self.db.platform().await?;
            store_files::add_garbage(&mut tx, &key).await?;
            tx.commit().await?;
        }
        let mut writer = self.files.writer(&key).await?;
        let mut hasher = Sha256::new();
        let mut size = head.len() as u64;
        hasher.update(&head);
        let written: AppResult<()> = async {
            writer.write(&head).await?;
            drop(head);
            while let Some(chunk) = tokio::time::timeout(idle, body.next())
                .await
                .map_err(|_| stalled())?
            {
                let chunk = chunk.map_err(broken)?;
                size += chunk.len() as u64;
                if size > max {
                    return Err(AppError::FileTooLarge { limit: max });
                }
                hasher.update(&chunk);
                writer.write(&chunk).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            writer.abort().await;
            self.discard(&key).await;
            return Err(e);
        }
        if let Err(e) = writer.finish().await {
            self.discard(&key).await;
            return Err(e.into());
        }
        Ok(Stored {
            version_id,
            key,
            size: size as i64,
            sha256: data_encoding::HEXLOWER.encode(&hasher.finalize()),
            accepted,
        })
    }

    /// Removes an object whose row was never written; when the store fails, the maintenance
    /// job removes it later (it was listed when the upload began).
    async fn discard(&self, key: &str) {
        if self.files.delete(key).await.is_ok() {
            self.forget_pending(key).await;
        }
    }

    /// Takes an upload's object off the maintenance job's list: a version speaks of it now, or
    /// it is gone. Should this fail, the job forgets it a day later.
    async fn forget_pending(&self, key: &str) {
        if let Ok(mut tx) = self.db.platform().await
            && store_files::forget_garbage(&mut tx, &[key.to_owned()])
                .await
                .is_ok()
        {
            let _ = tx.commit().await;
        }
    }

    /// The live record's kind and owner when the member sees it; else not found.
    async fn seen_record(
        &self,
        tx: &mut rapport_store::TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
    ) -> AppResult<(String, Ownership)> {
        let (kind, owner) = record.kind_and_owner(tx).await?.ok_or(AppError::NotFound)?;
        let relation = tenant.relation(actor, owner);
        if !tenant.sees(&kind, relation) {
            return Err(AppError::NotFound);
        }
        Ok((kind, relation))
    }

    /// A file the member sees (on a live record in their reach); deleted ones only when asked.
    async fn seen_file(
        &self,
        tx: &mut rapport_store::TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        deleted: bool,
    ) -> AppResult<FileView> {
        let file = store_files::find(tx, id)
            .await?
            .filter(|f| f.deleted_at.is_some() == deleted)
            .ok_or(AppError::NotFound)?;
        let record = record_of(&file.record_type, file.record_id);
        let (kind, relation) = self.seen_record(tx, actor, tenant, record).await?;
        let may_change = tenant.may_kind(RecordAction::Edit, &kind, relation);
        Ok(FileView {
            file,
            record_kind: kind,
            record_title: None,
            may_change,
        })
    }

    /// [`App::seen_file`] in a read transaction of its own.
    async fn read_file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        deleted: bool,
    ) -> AppResult<FileView> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let view = self.seen_file(&mut tx, actor, tenant, id, deleted).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A live file the member sees and one of its versions: the one named, else the current.
    async fn seen_version(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        version: Option<Uuid>,
    ) -> AppResult<(FileView, VersionRow)> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let view = self.seen_file(&mut tx, actor, tenant, id, false).await?;
        let version =
            store_files::version(&mut tx, id, version.unwrap_or(view.file.current_version_id))
                .await?
                .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok((view, version))
    }

    /// The files attached to a record, newest first, and whether the member may attach more.
    pub async fn record_files(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record_kind: &str,
        record_id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<RecordFiles> {
        let _ = meta;
        let record = record_of(record_kind, record_id);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (kind, relation) = self.seen_record(&mut tx, actor, tenant, record).await?;
        if kind != record_kind && record_kind != "record" {
            return Err(AppError::NotFound);
        }
        let rows = store_files::for_record(&mut tx, record.kind(), record.id()).await?;
        tx.commit().await?;
        let may_change = tenant.may_kind(RecordAction::Edit, &kind, relation);
        Ok(RecordFiles {
            may_attach: may_change,
            files: rows
                .into_iter()
                .map(|file| FileView {
                    file,
                    record_kind: kind.clone(),
                    record_title: None,
                    may_change,
                })
                .collect(),
        })
    }

    /// Attaches an uploaded file to a record. `record`: its kind (a built-in kind's key or a
    /// custom object's key) and id. Callers ask [`App::may_attach`] before reading the body;
    /// the record is checked again when the file is recorded.
    pub async fn attach_file<S, E>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        (record_kind, record_id): (&str, Uuid),
        name: &str,
        body: S,
        meta: &RequestMeta,
    ) -> AppResult<FileView>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let record = record_of(record_kind, record_id);
        let name = FileName::parse(name).map_err(|m| AppError::invalid("name", m))?;
        let stored = self.store_upload(tenant.id(), &name, body).await?;
        let name = name.typed(stored.accepted);
        let key = stored.key.clone();
        match self
            .record_attachment(actor, tenant, record, record_kind, &name, stored, meta)
            .await
        {
            Ok(view) => {
                self.forget_pending(&key).await;
                Ok(view)
            }
            Err(e) => {
                self.discard(&key).await;
                Err(e)
            }
        }
    }

    /// Refuses (404, then 403) a member who may not attach files to a record: asked before an
    /// upload's bytes are read.
    pub async fn may_attach(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record_kind: &str,
        record_id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let (kind, relation) = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let found = self
                .seen_record(&mut tx, actor, tenant, record_of(record_kind, record_id))
                .await?;
            tx.commit().await?;
            found
        };
        if kind != record_kind && record_kind != "record" {
            return Err(AppError::NotFound);
        }
        self.authorize_kind(actor, tenant, meta, RecordAction::Edit, &kind, relation)
            .await
    }

    /// Refuses (404, then 403) a member who may not replace a file: asked before an upload's
    /// bytes are read.
    pub async fn may_replace_file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let view = self.read_file(actor, tenant, id, false).await?;
        self.may_change_file(actor, tenant, &view, meta).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_attachment(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
        record_kind: &str,
        name: &FileName,
        stored: Stored,
        meta: &RequestMeta,
    ) -> AppResult<FileView> {
        let mut tx = self.db.tenant(tenant.id()).await?;
        // Checked again in the transaction: the record may have gone while the bytes came.
        let (kind, relation) = self.seen_record(&mut tx, actor, tenant, record).await?;
        if !tenant.may_kind(RecordAction::Edit, &kind, relation)
            || (kind != record_kind && record_kind != "record")
        {
            return Err(AppError::NotFound);
        }
        let id = Uuid::now_v7();
        let version = NewVersion {
            id: stored.version_id,
            name: name.as_str().to_owned(),
            content_type: stored.accepted.content_type.to_owned(),
            size: stored.size,
            sha256: stored.sha256,
            storage_key: stored.key,
            restored_from: None,
        };
        store_files::insert(
            &mut tx,
            id,
            record.kind(),
            record.id(),
            &version,
            actor.user_id,
        )
        .await?;
        let file = store_files::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.file_written(
            &mut tx,
            actor,
            meta,
            &file,
            &kind,
            "file.uploaded",
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(FileView {
            file,
            record_kind: kind,
            record_title: None,
            may_change: true,
        })
    }

    /// The audit entry and the event of a change to a file, in its transaction. The event is
    /// the record's (its page hears it; webhooks name the record and the file).
    #[allow(clippy::too_many_arguments)]
    async fn file_written(
        &self,
        tx: &mut rapport_store::TenantTx,
        actor: &Actor,
        meta: &RequestMeta,
        file: &FileRow,
        record_kind: &str,
        action: &str,
        extra: serde_json::Value,
    ) -> AppResult<()> {
        let mut details = json!({
            "file_id": file.id,
            "record_type": file.record_type,
            "record_id": file.record_id,
            // A custom record's object.
            "record_kind": record_kind,
            "name": file.name,
            "content_type": file.content_type,
            "size": file.size,
            "version": file.version,
            "sha256": file.sha256,
        });
        if let (Some(map), serde_json::Value::Object(more)) = (details.as_object_mut(), extra) {
            map.extend(more);
        }
        let mut e = with_target(entry(Some(actor), meta, action), "file", file.id);
        e.changes = Some(details.clone());
        crate::events::record(tx, e).await?;
        crate::events::publish(
            tx,
            rapport_store::events::NewEvent {
                event_type: action.to_owned(),
                version: crate::events::VERSION,
                record_type: Some(file.record_type.clone()),
                record_id: Some(file.record_id),
                changed: Vec::new(),
                actor_id: Some(actor.user_id),
                payload: details,
            },
        )
        .await
    }

    /// One file the member sees.
    pub async fn file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<FileView> {
        let _ = meta;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let mut view = self.seen_file(&mut tx, actor, tenant, id, false).await?;
        let record = record_of(&view.file.record_type, view.file.record_id);
        view.record_title = store_files::record_title(&mut tx, record.kind(), record.id()).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A file's versions, newest first.
    pub async fn file_versions(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<(FileView, Vec<VersionRow>)> {
        let _ = meta;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let view = self.seen_file(&mut tx, actor, tenant, id, false).await?;
        let versions = store_files::versions(&mut tx, id).await?;
        tx.commit().await?;
        Ok((view, versions))
    }

    /// Uploads a new version of a file; it becomes the current one.
    pub async fn add_file_version<S, E>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        name: Option<&str>,
        body: S,
        meta: &RequestMeta,
    ) -> AppResult<FileView>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let view = self.read_file(actor, tenant, id, false).await?;
        self.may_change_file(actor, tenant, &view, meta).await?;
        let name = FileName::parse(name.unwrap_or(&view.file.name))
            .map_err(|m| AppError::invalid("name", m))?;
        let stored = self.store_upload(tenant.id(), &name, body).await?;
        let name = name.typed(stored.accepted);
        let key = stored.key.clone();
        let version = NewVersion {
            id: stored.version_id,
            name: name.into_string(),
            content_type: stored.accepted.content_type.to_owned(),
            size: stored.size,
            sha256: stored.sha256,
            storage_key: stored.key,
            restored_from: None,
        };
        match self
            .record_version(actor, tenant, id, version, "file.version_added", meta)
            .await
        {
            Ok(view) => {
                self.forget_pending(&key).await;
                Ok(view)
            }
            Err(e) => {
                self.discard(&key).await;
                Err(e)
            }
        }
    }

    async fn may_change_file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        view: &FileView,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        if view.may_change {
            return Ok(());
        }
        // Refused, and written down as such.
        self.authorize_kind(
            actor,
            tenant,
            meta,
            RecordAction::Edit,
            &view.record_kind,
            Ownership::Others,
        )
        .await?;
        Err(AppError::Forbidden)
    }

    async fn record_version(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        version: NewVersion,
        action: &str,
        meta: &RequestMeta,
    ) -> AppResult<FileView> {
        let mut tx = self.db.tenant(tenant.id()).await?;
        let view = self.seen_file(&mut tx, actor, tenant, id, false).await?;
        if !view.may_change {
            return Err(AppError::Forbidden);
        }
        let restored_from = version.restored_from;
        store_files::add_version(&mut tx, id, &version, actor.user_id).await?;
        let file = store_files::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let extra = match restored_from {
            Some(n) => json!({"restored_from": n}),
            None => json!({}),
        };
        self.file_written(
            &mut tx,
            actor,
            meta,
            &file,
            &view.record_kind,
            action,
            extra,
        )
        .await?;
        tx.commit().await?;
        Ok(FileView { file, ..view })
    }

    /// Makes an older version current again (as a new version with the same bytes).
    pub async fn restore_file_version(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        version_id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<FileView> {
        let (view, old) = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let view = self.seen_file(&mut tx, actor, tenant, id, false).await?;
            let old = store_files::version(&mut tx, id, version_id)
                .await?
                .ok_or(AppError::NotFound)?;
            tx.commit().await?;
            (view, old)
        };
        self.may_change_file(actor, tenant, &view, meta).await?;
        if old.id == view.file.current_version_id {
            return Err(AppError::conflict(
                "version_current",
                "this version is the current one already",
            ));
        }
        let version = NewVersion {
            id: Uuid::now_v7(),
            name: old.name,
            content_type: old.content_type,
            size: old.size,
            sha256: old.sha256,
            storage_key: old.storage_key,
            restored_from: Some(old.number),
        };
        self.record_version(actor, tenant, id, version, "file.version_restored", meta)
            .await
    }

    /// Moves a file to "recently deleted".
    pub async fn delete_file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.move_file(actor, tenant, id, false, meta).await
    }

    /// Brings a deleted file back (from "recently deleted").
    pub async fn restore_file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.move_file(actor, tenant, id, true, meta).await
    }

    /// Deletes a live file, or restores a deleted one (`restoring`) while it is recent enough.
    async fn move_file(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        restoring: bool,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let view = self.read_file(actor, tenant, id, restoring).await?;
        let keep = chrono::Duration::days(crate::trash::KEEP_DAYS);
        if view
            .file
            .deleted_at
            .is_some_and(|at| at < Utc::now() - keep)
        {
            return Err(AppError::NotFound);
        }
        self.may_change_file(actor, tenant, &view, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let view = self
            .seen_file(&mut tx, actor, tenant, id, restoring)
            .await?;
        let moved = view.may_change
            && if restoring {
                store_files::restore(&mut tx, id).await?
            } else {
                store_files::delete(&mut tx, id, actor.user_id).await?
            };
        if !moved {
            return Err(AppError::NotFound);
        }
        let action = if restoring {
            "file.restored"
        } else {
            "file.deleted"
        };
        self.file_written(
            &mut tx,
            actor,
            meta,
            &view.file,
            &view.record_kind,
            action,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organization's files the member sees, most recently changed first.
    pub async fn files(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        q: &FileListQuery,
        meta: &RequestMeta,
    ) -> AppResult<FilePage> {
        let _ = meta;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let objects = rapport_store::objects::list(&mut tx).await?;
        let owners = |kind: &str| match tenant.reach(actor, RecordAction::View, kind) {
            Reach::All => Some(None),
            Reach::Owners(o) if o.is_empty() => None,
            Reach::Owners(o) => Some(Some(o)),
        };
        let mut reach = store_files::Reach::default();
        for kind in ["company", "contact", "lead", "deal"] {
            if let Some(o) = owners(kind) {
                reach.kinds.push((kind, o));
            }
        }
        for object in &objects {
            if let Some(o) = owners(&object.key) {
                reach.objects.push((object.id, o));
            }
        }
        let mut list = store_files::ListQuery {
            search: q.search.clone(),
            content_types: q
                .kind
                .map(|k| k.content_types().map(str::to_owned).collect())
                .unwrap_or_default(),
            uploaded_by: q.uploaded_by,
            record_id: q.record_id,
            after: q.after,
            limit: q.limit + 1,
            ..Default::default()
        };
        match q.record_kind.as_deref() {
            None => {}
            Some(k @ ("company" | "contact" | "lead" | "deal")) => {
                list.record_types = vec![k.to_owned()]
            }
            Some(key) => match objects.iter().find(|o| o.key == key) {
                Some(o) => list.objects = vec![o.id],
                None => {
                    return Ok(FilePage {
                        items: Vec::new(),
                        next: None,
                    });
                }
            },
        }
        let mut rows: Vec<ListedFile> = store_files::list(&mut tx, &reach, &list).await?;
        tx.commit().await?;
        let next = (rows.len() as i64 > q.limit).then(|| {
            rows.truncate(q.limit as usize);
            rows.last().map(|r| (r.file.updated_at, r.file.id))
        });
        let items = rows
            .into_iter()
            .map(|r| FileView {
                may_change: tenant.may_kind(
                    RecordAction::Edit,
                    &r.kind,
                    tenant.relation(actor, UserId(r.record_owner_id)),
                ),
                record_kind: r.kind,
                record_title: Some(r.record_title),
                file: r.file,
            })
            .collect();
        Ok(FilePage {
            items,
            next: next.flatten(),
        })
    }

    /// The bytes of a file the member sees: its current version, or the one named.
    pub async fn file_content(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        version: Option<Uuid>,
        meta: &RequestMeta,
    ) -> AppResult<Download> {
        let _ = meta;
        let (_, version) = self.seen_version(actor, tenant, id, version).await?;
        self.download(version).await
    }

    /// A small picture of an image file's current version, made the first time it is asked
    /// for and kept beside the image; not found for other files and very large images.
    pub async fn file_thumbnail(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Download> {
        let _ = meta;
        let (_, version) = self.seen_version(actor, tenant, id, None).await?;
        if !thumbnail::applies(&version.content_type) || version.size > thumbnail::MAX_SOURCE_BYTES
        {
            return Err(AppError::NotFound);
        }
        let key = thumbnail::key(&version.storage_key);
        let bytes = match self.files.read_small(&key, 4_000_000).await? {
            Some(bytes) => bytes,
            None => {
                let source = self
                    .files
                    .read_all(&version.storage_key, thumbnail::MAX_SOURCE_BYTES as usize)
                    .await?;
                let made = tokio::task::spawn_blocking(move || thumbnail::make(&source))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                let (bytes, _) = made.map_err(|e| {
                    tracing::info!(file = %id, error = %e, "no thumbnail for an image");
                    AppError::NotFound
                })?;
                self.files.put(&key, bytes.clone()).await?;
                bytes
            }
        };
        let content_type = match bytes.get(..4) {
            Some(b"\x89PNG") => "image/png",
            _ => "image/jpeg",
        };
        Ok(Download {
            name: format!("thumbnail of {}", version.name),
            content_type: content_type.to_owned(),
            size: bytes.len() as i64,
            sha256: format!("{}-thumbnail", version.sha256),
            inline: true,
            body: futures_util::stream::once(async move { Ok(Bytes::from(bytes)) }).boxed(),
        })
    }

    async fn download(&self, version: VersionRow) -> AppResult<Download> {
        let body = self.files.read(&version.storage_key).await?;
        Ok(Download {
            inline: rapport_domain::file::accepted(&version.content_type).is_some_and(|a| a.inline),
            name: version.name,
            content_type: version.content_type,
            size: version.size,
            sha256: version.sha256,
            body,
        })
    }

    fn link_signature(&self, p: &LinkParams) -> String {
        let mac = self.keys.hash_token(&format!(
            "file link v1 {} {} {} {} {} {}",
            p.o, p.f, p.v, p.u, p.e, p.d
        ));
        data_encoding::BASE64URL_NOPAD.encode(&mac)
    }

    /// A signed link to a version of a file the member sees (the current one by default),
    /// working for [`crate::config::Config::file_link_ttl`].
    pub async fn file_link(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        version: Option<Uuid>,
        inline: bool,
        meta: &RequestMeta,
    ) -> AppResult<SignedLink> {
        let _ = meta;
        let (_, version) = self.seen_version(actor, tenant, id, version).await?;
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.config.file_link_ttl)
                .unwrap_or(chrono::Duration::minutes(5));
        let mut params = LinkParams {
            o: tenant.id().as_uuid(),
            f: id,
            v: version.id,
            u: actor.user_id.as_uuid(),
            e: expires_at.timestamp(),
            d: if inline { "inline" } else { "attachment" }.to_owned(),
            s: String::new(),
        };
        params.s = self.link_signature(&params);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("o", &params.o.to_string())
            .append_pair("f", &params.f.to_string())
            .append_pair("v", &params.v.to_string())
            .append_pair("u", &params.u.to_string())
            .append_pair("e", &params.e.to_string())
            .append_pair("d", &params.d)
            .append_pair("s", &params.s)
            .finish();
        Ok(SignedLink {
            path: format!("/files/download?{query}"),
            expires_at,
        })
    }

    /// Opens a signed link: its signature and time are checked, then whether the member who
    /// asked for it still sees the file (their role or the record may have changed since).
    pub async fn open_file_link(&self, p: &LinkParams) -> AppResult<Download> {
        let expected = self.link_signature(p);
        if !crate::crypto::constant_time_eq(expected.as_bytes(), p.s.as_bytes()) {
            return Err(AppError::NotFound);
        }
        if Utc::now().timestamp() > p.e {
            return Err(AppError::LinkExpired);
        }
        let organization = self
            .resolve_organization(crate::organizations::TenantHint::Id(OrganizationId(p.o)))
            .await?
            .filter(|o| {
                o.deleted_at.is_none()
                    && o.status != rapport_domain::organization::OrganizationStatus::Suspended
            })
            .ok_or(AppError::NotFound)?;
        let user = UserId(p.u);
        let access = self
            .access_in(organization.id, user)
            .await?
            .ok_or(AppError::NotFound)?;
        let tenant = Tenant {
            organization,
            role: access.role,
            access,
            preview: None,
            support: None,
        };
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let file = store_files::find(&mut tx, p.f)
            .await?
            .filter(|f| f.deleted_at.is_none())
            .ok_or(AppError::NotFound)?;
        let (kind, owner) = record_of(&file.record_type, file.record_id)
            .kind_and_owner(&mut tx)
            .await?
            .ok_or(AppError::NotFound)?;
        if !tenant.sees(&kind, tenant.relation_of(user, owner)) {
            return Err(AppError::NotFound);
        }
        let version = store_files::version(&mut tx, p.f, p.v)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        let mut download = self.download(version).await?;
        download.inline &= p.d == "inline";
        Ok(download)
    }

    /// Removes for good the files deleted more than 30 days ago and those of purged records,
    /// then the objects no file speaks of any more (maintenance).
    pub async fn purge_files(&self) -> AppResult<u64> {
        let mut tx = self.db.platform().await?;
        let n = store_files::purge_before(
            &mut tx,
            Utc::now() - chrono::Duration::days(crate::trash::KEEP_DAYS),
        )
        .await?;
        tx.commit().await?;
        // Uploads still arriving are listed too: only those listed a day ago are due.
        let due = Utc::now() - chrono::Duration::days(1);
        loop {
            let mut tx = self.db.platform().await?;
            let keys = store_files::garbage(&mut tx, due, 200).await?;
            tx.commit().await?;
            if keys.is_empty() {
                break;
            }
            let mut removed = Vec::new();
            for key in keys {
                // With its thumbnail, when one was made.
                let _ = self.files.delete(&thumbnail::key(&key)).await;
                match self.files.delete(&key).await {
                    Ok(()) => removed.push(key),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not remove a file's object; will try again");
                    }
                }
            }
            let mut tx = self.db.platform().await?;
            store_files::forget_garbage(&mut tx, &removed).await?;
            tx.commit().await?;
            if removed.is_empty() {
                break;
            }
        }
        Ok(n)
    }
}
