//! The file store: where attached files' bytes live. One interface (`object_store`'s
//! `ObjectStore`) over two places: a folder on the disk (the default, under the data directory)
//! and an S3-compatible bucket. Objects are keyed `{organization}/{version}`: each organization's
//! files sit under its own prefix, and nothing is ever read by a key a request could choose.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, WriteMultipart};
use rapport_domain::OrganizationId;

use crate::config::FileStorage;

/// How many parts of an upload may be on their way to the store at once; with the default part
/// size (5 MiB) an upload holds at most a few parts in memory, whatever the file's size.
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Option<String>,
    kind: &'static str,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileStore({})", self.kind)
    }
}

/// The store failed (unreachable, refused, out of space).
#[derive(Debug, thiserror::Error)]
#[error("file store: {0}")]
pub struct StoreError(String);

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<StoreError> for crate::AppError {
    fn from(e: StoreError) -> Self {
        crate::AppError::Internal(e.0)
    }
}

impl FileStore {
    /// Opens the configured store (creating the disk folder when needed).
    pub fn open(config: &FileStorage) -> Result<FileStore, StoreError> {
        match config {
            FileStorage::Disk(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError(format!("could not create {}: {e}", dir.display())))?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(dir)?
                    .with_automatic_cleanup(true);
                Ok(FileStore {
                    inner: Arc::new(local),
                    prefix: None,
                    kind: "disk",
                })
            }
            FileStorage::S3(s3) => {
                // The standard AWS sources first (environment, web identity, container and
                // instance roles), then what Rapport's own settings name.
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret.expose());
                }
                Ok(FileStore {
                    inner: Arc::new(builder.build()?),
                    prefix: (!s3.prefix.is_empty()).then(|| s3.prefix.clone()),
                    kind: "s3",
                })
            }
        }
    }

    /// `disk` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The key of a version's object.
    pub fn key(organization: OrganizationId, version: uuid::Uuid) -> String {
        format!("{}/{}", organization.as_uuid(), version)
    }

    fn path(&self, key: &str) -> StorePath {
        match &self.prefix {
            Some(prefix) => StorePath::from(format!("{prefix}/{key}")),
            None => StorePath::from(key),
        }
    }

    /// Starts writing an object; nothing is visible under its key until [`Writer::finish`].
    pub async fn writer(&self, key: &str) -> Result<Writer, StoreError> {
        let upload = self.inner.put_multipart(&self.path(key)).await?;
        Ok(Writer {
            upload: WriteMultipart::new(upload),
        })
    }

    /// Reads an object as a stream of chunks.
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, StoreError> {
        let got = self.inner.get(&self.path(key)).await?;
        Ok(got
            .into_stream()
            .map_err(|e| std::io::Error::other(e.to_string()))
            .boxed())
    }

    /// Reads a whole object (for small ones: a thumbnail's source, a document to sign).
    pub async fn read_all(&self, key: &str, limit: usize) -> Result<Vec<u8>, StoreError> {
        let mut stream = self.read(key).await?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| StoreError(e.to_string()))?;
            if out.len() + chunk.len() > limit {
                return Err(StoreError(format!("{key} is larger than {limit} bytes")));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Reads a small object whole; `None` when there is none under the key.
    pub async fn read_small(&self, key: &str, limit: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.inner.get(&self.path(key)).await {
            Ok(got) if got.meta.size as usize > limit => {
                Err(StoreError(format!("{key} is larger than {limit} bytes")))
            }
            Ok(got) => Ok(Some(got.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a small object at once.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner
            .put(&self.path(key), Bytes::from(bytes).into())
            .await?;
        Ok(())
    }

    /// Removes an object; one already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// An object being written, part by part.
pub struct Writer {
    upload: WriteMultipart,
}

impl Writer {
    /// Writes a chunk, first waiting while too many parts are still on their way.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.upload.write(chunk);
        Ok(())
    }

    /// Makes the object visible under its key.
    pub async fn finish(self) -> Result<(), StoreError> {
        self.upload.finish().await?;
        Ok(())
    }

    /// Gives the upload up: what was written is removed.
    pub async fn abort(self) {
        if let Err(e) = self.upload.abort().await {
            tracing::warn!(error = %e, "could not abort a file upload");
        }
    }
}
