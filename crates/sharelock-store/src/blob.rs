//! Encrypted file streams, stored as numbered parts through `object_store` (local directory or any
//! S3-compatible service). The server only ever sees ciphertext here.
//!
//! A file is its parts, written one request at a time as a recipient or owner uploads, and read back in
//! order as one stream. Every write of a part is an object of its own,
//! `files/<record>/<file>/<part:08>.<write>`, never overwritten: which write is a part's bytes is the
//! database's to say ([`crate::Store::attach_part`]), so a write that loses a race with the file's
//! completion changes nothing a reader sees. Parts stored before that scheme keep their old key,
//! `files/<record>/<file>/<part:08>`: their rows carry [`PartBlob::legacy_write`] (migration 0007), which
//! names that key. On S3 the keys can sit under a configured prefix
//! (`<prefix>/files/…`). The same suite (`testing::blobs`) runs against memory, a local directory and a
//! real S3 server (moto, `testing::s3`).

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use crate::model::{Id, PartBlob};
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
    /// Every key is put under this prefix (`<prefix>/files/…`), so one bucket can hold other data, or
    /// several deployments. `None` or empty: keys start at the bucket's root.
    pub prefix: Option<String>,
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
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A few quick retries, then the error: when S3 is down a part request fails within seconds (the
/// client gets 503 and retries itself) instead of holding its connection and body for minutes
/// (`object_store`'s default is 10 retries over up to 3 minutes).
const S3_RETRY: RetryConfig = RetryConfig {
    backoff: BackoffConfig {
        init_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        base: 2.,
    },
    max_retries: 4,
    retry_timeout: Duration::from_secs(20),
};

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

/// `create_dir_all`, the directories it creates readable by their owner only (0700): the blobs are
/// ciphertext, but their names and sizes are metadata.
pub fn create_owner_only_dir(dir: &FsPath) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl BlobStore {
    /// Parts as files under `dir` (created if missing). Each write is fsynced (file and directory)
    /// before it returns, so an acknowledged part survives a crash; empty directories are removed
    /// when a file is deleted.
    pub fn local(dir: impl AsRef<FsPath>) -> Result<Self> {
        let dir = dir.as_ref();
        create_owner_only_dir(dir)
            .map_err(|e| StoreError::Backend(format!("creating the blob directory: {e}")))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(blob_error)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(Self::from_object_store(Arc::new(store)))
    }

    /// Parts as objects in an S3-compatible bucket (path-style requests), under `config.prefix` if any.
    pub fn s3(config: S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(config.bucket)
            .with_region(config.region)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(config.allow_http)
            .with_retry(S3_RETRY);
        if let Some(endpoint) = config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = config.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let s3 = builder.build().map_err(blob_error)?;
        let prefix = config.prefix.as_deref().map(|p| p.trim_matches('/'));
        match prefix.filter(|p| !p.is_empty()) {
            Some(prefix) => {
                let prefix = Path::parse(prefix).map_err(|e| {
                    StoreError::Backend(format!("the S3 key prefix is not a valid key: {e}"))
                })?;
                Ok(Self::from_object_store(Arc::new(PrefixStore::new(
                    s3, prefix,
                ))))
            }
            None => Ok(Self::from_object_store(Arc::new(s3))),
        }
    }

    /// Parts in memory, for tests.
    pub fn memory() -> Self {
        Self::from_object_store(Arc::new(InMemory::new()))
    }

    /// Any other `object_store` backend.
    pub fn from_object_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// The object store underneath, for copying a whole store (`crate::copy`).
    pub(crate) fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Stores one part write. Durable when it returns.
    pub async fn put_part(&self, blob: &PartBlob, bytes: Bytes) -> Result<()> {
        self.store
            .put(&part_path(blob), PutPayload::from_bytes(bytes))
            .await
            .map_err(blob_error)?;
        Ok(())
    }

    /// The given part writes in order as one stream of chunks. Each is fetched only when the previous
    /// one has been consumed, so a large file is never held in memory. A missing object ends the
    /// stream with `NotFound`.
    pub fn open(&self, parts: Vec<PartBlob>) -> BoxStream<'static, Result<Bytes>> {
        let store = Arc::clone(&self.store);
        stream::iter(parts)
            .then(move |blob| {
                let store = Arc::clone(&store);
                async move { store.get(&part_path(&blob)).await.map_err(blob_error) }
            })
            .map_ok(part_stream)
            .try_flatten()
            .boxed()
    }

    /// Deletes one part write (already gone is fine).
    pub async fn delete_part(&self, blob: &PartBlob) -> Result<()> {
        match self.store.delete(&part_path(blob)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(blob_error(other)),
        }
    }

    /// Deletes every stored part write of a file (none is fine).
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

/// Bytes read from a local part file per step. `object_store` reads local files 8 KiB at a time, each
/// read a hop to a blocking thread; a 1 GiB download was then 131,072 hops and far below the disk's
/// speed (docs/benchmarks.md, "Files"). One chunk per hop is what a download holds beyond the socket's
/// buffers.
const LOCAL_READ_CHUNK: usize = 512 * 1024;

/// A fetched part as a stream of chunks: a local file is read [`LOCAL_READ_CHUNK`] at a time, anything
/// else as its store streams it.
fn part_stream(part: object_store::GetResult) -> BoxStream<'static, Result<Bytes>> {
    match part.payload {
        object_store::GetResultPayload::File(file, _) => {
            let remaining = part.range.end.saturating_sub(part.range.start);
            let start = part.range.start;
            stream::try_unfold(
                (Some(file), remaining, start),
                |(file, remaining, at)| async move {
                    let Some(file) = file else { return Ok(None) };
                    if remaining == 0 {
                        return Ok(None);
                    }
                    let want = remaining.min(LOCAL_READ_CHUNK as u64);
                    let (file, chunk) =
                        tokio::task::spawn_blocking(move || read_at(file, at, want))
                            .await
                            .map_err(|e| StoreError::Backend(format!("blob read task: {e}")))??;
                    let got = chunk.len() as u64;
                    Ok(Some((chunk, (Some(file), remaining - got, at + got))))
                },
            )
            .boxed()
        }
        object_store::GetResultPayload::Stream(s) => s.map_err(blob_error).boxed(),
    }
}

/// Reads exactly `len` bytes at `offset` (a part shorter than its metadata said is an error).
fn read_at(mut file: std::fs::File, offset: u64, len: u64) -> Result<(std::fs::File, Bytes)> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e: std::io::Error| StoreError::Backend(format!("blob store: reading a part: {e}"));
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = Vec::with_capacity(len as usize);
    (&mut file).take(len).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 != len {
        return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok((file, Bytes::from(buf)))
}

fn file_prefix(record: Id, file: Id) -> Path {
    Path::from_iter(["files".to_owned(), record.to_string(), file.to_string()])
}

fn part_path(blob: &PartBlob) -> Path {
    let file = file_prefix(blob.record, blob.file);
    if blob.is_legacy() {
        // Stored before part writes had keys of their own (see `PartBlob::legacy_write`).
        file.join(format!("{:08}", blob.part))
    } else {
        file.join(format!("{:08}.{}", blob.part, blob.write.simple()))
    }
}

/// Where a part write lies under a local blob directory (its key, as `files/<record>/<file>/<part:08>.<write>`
/// or a legacy part's `…/<part:08>`, joined to `dir`).
pub fn local_part_path(dir: &FsPath, blob: &PartBlob) -> std::path::PathBuf {
    part_path(blob)
        .parts()
        .fold(dir.to_path_buf(), |path, part| path.join(part.as_ref()))
}

/// The error for logs. Object keys hold record and file ids, and `object_store` puts them in its
/// messages (the location, or the request URL of a failed S3 call): every id-like run is cut out.
pub(crate) fn blob_error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => StoreError::Backend(format!("blob store: {}", redact_ids(&other.to_string()))),
    }
}

/// `text` with every run of hex digits and hyphens that holds 32 or more hex digits (a UUID in any
/// form, a hash) replaced by `<id>`.
fn redact_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_hexdigit).count() >= 32 {
            out.push_str("<id>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() || c == '-' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The on-disk layout is `files/<record>/<file>/<part:08>.<write>`, and deleting a file leaves no empty
    /// directories behind. (The behaviour every backend shares is in `testing::blobs`.)
    #[tokio::test]
    async fn local_layout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("blobs");
        let blobs = BlobStore::local(&root).expect("local");
        let part = PartBlob {
            record: Id::new_v4(),
            file: Id::new_v4(),
            part: 12,
            write: Id::new_v4(),
        };
        blobs
            .put_part(&part, Bytes::from_static(b"x"))
            .await
            .expect("put");
        let dir_of_file = root.join(format!("files/{}/{}", part.record, part.file));
        let on_disk = dir_of_file.join(format!("00000012.{}", part.write.simple()));
        assert_eq!(std::fs::read(&on_disk).expect("part file"), b"x");
        blobs.delete_part(&part).await.expect("delete");
        assert!(!on_disk.exists());
        assert!(!dir_of_file.exists(), "empty directories go too");
    }

    #[test]
    fn ids_are_cut_out_of_error_messages() {
        let (record, file) = (Id::new_v4(), Id::new_v4());
        let message = format!(
            "error sending request for url (http://127.0.0.1:9/b/files/{record}/{file}/00000001): \
             at /srv/blobs/files/{}/x, ok-deadbeef 2026-01-01",
            record.simple()
        );
        let redacted = redact_ids(&message);
        assert_eq!(
            redacted,
            "error sending request for url (http://127.0.0.1:9/b/files/<id>/<id>/00000001): \
             at /srv/blobs/files/<id>/x, ok-deadbeef 2026-01-01"
        );
    }
    #[test]
    fn s3_config_debug_hides_the_secret() {
        let config = S3Config {
            endpoint: Some("http://127.0.0.1:9000".into()),
            bucket: "sharelock".into(),
            region: "us-east-1".into(),
            access_key_id: Some("access".into()),
            secret_access_key: Some("very-secret".into()),
            allow_http: true,
            prefix: None,
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret"));
        assert!(shown.contains("<redacted>"));
        BlobStore::s3(config).expect("an S3 client builds without contacting the endpoint");
    }
}
