//! Encrypted file streams, stored as numbered parts through `object_store` (local directory or any
//! S3-compatible service). The server only ever sees ciphertext here.
//!
//! A file is the parts `files/<record>/<file>/<part:08>` (part numbers from 0), written one request
//! at a time as a recipient or owner uploads, and read back in order as one stream.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::model::Id;
use crate::{Result, StoreError};

/// Where an S3-compatible bucket is and how to reach it.
pub struct S3Config {
    /// e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:9000`; `None` for AWS's default.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// `None`: taken from the environment or instance metadata, as the AWS SDKs do.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow a plain-http endpoint (a local MinIO, for instance).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// The file part store.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.store)
    }
}

impl BlobStore {
    /// Parts as files under `dir` (created if missing). Each write is fsynced (file and directory)
    /// before it returns, so an acknowledged part survives a crash; empty directories are removed
    /// when a file is deleted.
    pub fn local(dir: impl AsRef<FsPath>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("creating the blob directory: {e}")))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(blob_error)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(Self::from_object_store(Arc::new(store)))
    }

    /// Parts as objects in an S3-compatible bucket (path-style requests).
    pub fn s3(config: S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(config.bucket)
            .with_region(config.region)
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = config.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        Ok(Self::from_object_store(Arc::new(
            builder.build().map_err(blob_error)?,
        )))
    }

    /// Parts in memory, for tests.
    pub fn memory() -> Self {
        Self::from_object_store(Arc::new(InMemory::new()))
    }

    /// Any other `object_store` backend.
    pub fn from_object_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Stores one part (overwriting a retried upload of the same part). Durable when it returns.
    pub async fn put_part(&self, record: Id, file: Id, part: u32, bytes: Bytes) -> Result<()> {
        self.store
            .put(
                &part_path(record, file, part),
                PutPayload::from_bytes(bytes),
            )
            .await
            .map_err(blob_error)?;
        Ok(())
    }

    /// The file's parts `0..parts` in order as one stream of chunks. Each part is fetched only when
    /// the previous one has been consumed, so a large file is never held in memory. A missing part
    /// ends the stream with `NotFound`.
    pub fn open(&self, record: Id, file: Id, parts: u32) -> BoxStream<'static, Result<Bytes>> {
        let store = Arc::clone(&self.store);
        stream::iter(0..parts)
            .then(move |part| {
                let store = Arc::clone(&store);
                async move {
                    store
                        .get(&part_path(record, file, part))
                        .await
                        .map_err(blob_error)
                }
            })
            .map_ok(|part| part.into_stream().map_err(blob_error))
            .try_flatten()
            .boxed()
    }

    /// Deletes every stored part of a file (none is fine).
    pub async fn delete_file(&self, record: Id, file: Id) -> Result<()> {
        let prefix = file_prefix(record, file);
        let locations = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        self.store
            .delete_stream(locations)
            .try_for_each(|_| async { Ok(()) })
            .await
            .or_else(|e| match e {
                object_store::Error::NotFound { .. } => Ok(()),
                other => Err(blob_error(other)),
            })
    }
}

fn file_prefix(record: Id, file: Id) -> Path {
    Path::from_iter(["files".to_owned(), record.to_string(), file.to_string()])
}

fn part_path(record: Id, file: Id, part: u32) -> Path {
    file_prefix(record, file).join(format!("{part:08}"))
}

fn blob_error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => StoreError::Backend(format!("blob store: {other}")),
    }
}
