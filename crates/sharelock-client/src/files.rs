//! Encrypted file attachments (docs/protocol.md §6): every upload gets a fresh file key FK and file id,
//! is encrypted as a chunked stream and sent in parts of at most 16 MiB; every download is decrypted chunk
//! by chunk into a temporary file that is renamed into place only after the final chunk and `H(blob)`
//! verify.

use crate::error::{ClientError, Result};
use crate::session::OwnerSession;
use bytes::Bytes;
use futures::StreamExt;
use reqwest::{Method, Response};
use sharelock_api::ErrorCode;
use sharelock_api::files::{CompleteFile, MAX_PART_BYTES};
use sharelock_core::crypto::{Sha256, random_array};
use sharelock_core::encoding::b64u;
use sharelock_core::record::{FileKey, FileRef, MAX_FILE_NAME_LEN, RecordBody};
use sharelock_core::stream::{DEFAULT_CHUNK_SIZE, StreamDecryptor, StreamEncryptor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// Told about a transfer's progress (a progress bar). Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// The transfer starts; `total` bytes are expected.
    fn start(&self, _total: u64) {}
    /// `bytes` more were transferred.
    fn advance(&self, _bytes: u64) {}
    /// The transfer ended (successfully or not).
    fn finish(&self) {}
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A file name from a record body, checked to be safe as one path component in a download directory.
pub fn safe_file_name(name: &str) -> Result<&str> {
    let bad = name.is_empty()
        || name.len() > MAX_FILE_NAME_LEN
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.chars().any(char::is_control);
    if bad {
        return Err(ClientError::Invalid(format!(
            "refusing to save a file under an unsafe name ({:?})",
            crate::error::printable(name)
        )));
    }
    Ok(name)
}

/// A guess of a MIME type from a file name's extension (the recipient sees it; nothing depends on it).
pub fn guess_mime(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" => "text/plain",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "json" => "application/json",
        "zip" => "application/zip",
        "pem" | "key" => "application/x-pem-file",
        _ => "application/octet-stream",
    }
}

/// Where the parts of an upload go.
pub(crate) trait PartSink {
    /// Sends part `n` of file `file`.
    async fn put_part(&self, file: Uuid, n: u32, bytes: Bytes) -> Result<()>;
    /// Finishes the upload.
    async fn complete(&self, file: Uuid, done: &CompleteFile) -> Result<()>;
}

/// Blob bytes per part. Parts are sent [`UPLOAD_CONCURRENCY`] at a time and each is held by the client
/// until the server acknowledges it, and by the server while it receives and stores it, so this times the
/// concurrency bounds both sides' memory: with 4 MiB parts each side holds at most about 20 MiB of them,
/// at 256 rounds of per-part work (two small database writes and a durable blob write) per GiB
/// (docs/benchmarks.md, "Files").
pub const UPLOAD_PART_BYTES: usize = 4 * 1024 * 1024;
/// Parts in flight at once after the first: enough that one part's network transfer overlaps another's
/// durable write on the server and the next part's encryption here.
pub const UPLOAD_CONCURRENCY: usize = 3;
/// Plaintext read from the file per step.
const READ_BYTES: usize = 1024 * 1024;

const _: () = assert!(UPLOAD_PART_BYTES <= MAX_PART_BYTES);

/// Times a part is offered again to a server that answered `server_busy` (it read none of it: its bound on
/// uploads or bytes in flight was reached), so a busy server slows an upload down instead of failing it.
const BUSY_RETRIES: u32 = 5;
/// Longest pause before offering a part again, whatever the server's `Retry-After` says.
const BUSY_WAIT_CAP_SECS: u64 = 30;

/// Sends one part, offering it again after the server's `Retry-After` while it answers `server_busy`.
async fn put_part<S: PartSink>(sink: &S, file: Uuid, n: u32, bytes: Bytes) -> Result<()> {
    let mut retries = 0;
    loop {
        match sink.put_part(file, n, bytes.clone()).await {
            Err(ClientError::Api {
                code: ErrorCode::ServerBusy,
                retry_after,
                ..
            }) if retries < BUSY_RETRIES => {
                retries += 1;
                let wait = retry_after.unwrap_or(1).min(BUSY_WAIT_CAP_SECS);
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
            other => return other,
        }
    }
}

/// What the sealing thread learned once the whole file went through it.
struct Sealed {
    size: u64,
    blob_len: u64,
    sha256: [u8; 32],
}

/// Reads `file`, encrypts it and hashes the blob on a thread of its own, handing the blob over in parts of
/// [`UPLOAD_PART_BYTES`] (the last may be shorter). At most one finished part waits in `parts` and one is
/// being filled, so memory is bounded whatever the file's size. Stops early when the receiver is gone.
fn seal_parts(
    mut file: std::fs::File,
    mut encryptor: StreamEncryptor,
    parts: tokio::sync::mpsc::Sender<Bytes>,
    what: &Path,
) -> Result<Option<Sealed>> {
    use std::io::Read;
    let capacity = UPLOAD_PART_BYTES + READ_BYTES + READ_BYTES / 1024 + 4096;
    let mut hash = Sha256::new();
    let mut part = Vec::with_capacity(capacity);
    let mut input = vec![0u8; READ_BYTES];
    let (mut size, mut blob_len) = (0u64, 0u64);
    let mut send = |bytes: Vec<u8>, hash: &mut Sha256| {
        hash.update(&bytes);
        blob_len += bytes.len() as u64;
        parts.blocking_send(Bytes::from(bytes)).is_ok()
    };
    loop {
        let n = match file.read(&mut input) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(ClientError::io(
                    format!("cannot read {}", what.display()),
                    e,
                ));
            }
        };
        if n == 0 {
            break;
        }
        size += n as u64;
        encryptor.update_into(&input[..n], &mut part)?;
        if part.len() >= UPLOAD_PART_BYTES {
            let mut next = Vec::with_capacity(capacity);
            next.extend_from_slice(&part[UPLOAD_PART_BYTES..]);
            part.truncate(UPLOAD_PART_BYTES);
            if !send(std::mem::replace(&mut part, next), &mut hash) {
                return Ok(None);
            }
        }
    }
    part.extend_from_slice(&encryptor.finish()?);
    while part.len() > UPLOAD_PART_BYTES {
        let rest = part.split_off(UPLOAD_PART_BYTES);
        if !send(std::mem::replace(&mut part, rest), &mut hash) {
            return Ok(None);
        }
    }
    if !send(part, &mut hash) {
        return Ok(None);
    }
    Ok(Some(Sealed {
        size,
        blob_len,
        sha256: hash.finish(),
    }))
}

/// Shows acknowledged blob bytes as progress through the plaintext (the blob is the plaintext plus 16
/// bytes per 64 KiB and a 72-byte header, so the two differ by well under a percent until the end).
struct Shown<'a> {
    progress: &'a dyn Progress,
    total: u64,
    shown: u64,
}

impl Shown<'_> {
    fn to(&mut self, done: u64) {
        let done = done.min(self.total);
        if done > self.shown {
            self.progress.advance(done - self.shown);
            self.shown = done;
        }
    }
}

/// Encrypts the file at `path` under a fresh key and uploads it in parts; returns its reference for the
/// record body.
///
/// Reading, encryption and hashing run on a blocking thread ahead of the network; part 0 goes alone (it
/// begins the upload on the server, where quotas are first counted), then up to [`UPLOAD_CONCURRENCY`]
/// parts are in flight. The blob is never held whole: memory is about `(UPLOAD_CONCURRENCY + 2)` parts.
pub(crate) async fn upload<S: PartSink>(
    sink: &S,
    path: &Path,
    progress: &dyn Progress,
) -> Result<FileRef> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ClientError::Invalid(format!("{} has no usable file name", path.display())))?
        .to_owned();
    safe_file_name(&name)?;
    let file = std::fs::File::open(path)
        .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let fk = FileKey::generate()?;
    let id = uuid::Builder::from_random_bytes(random_array()?).into_uuid();
    let encryptor = StreamEncryptor::new(fk.as_ref(), id, DEFAULT_CHUNK_SIZE)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let what = path.to_owned();
    let sealer = tokio::task::spawn_blocking(move || seal_parts(file, encryptor, tx, &what));
    progress.start(total);
    let mut shown = Shown {
        progress,
        total,
        shown: 0,
    };
    let sent: Result<u32> = async {
        let Some(first) = rx.recv().await else {
            return Ok(0);
        };
        let mut acked = first.len() as u64;
        put_part(sink, id, 0, first).await?;
        shown.to(acked);
        let rest = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|part| (part, rx))
        });
        let mut uploads = std::pin::pin!(
            rest.enumerate()
                .map(|(i, bytes)| async move {
                    let n = u32::try_from(i + 1).map_err(|_| {
                        ClientError::Invalid("the file is too large to upload".into())
                    })?;
                    let len = bytes.len() as u64;
                    put_part(sink, id, n, bytes).await.map(|()| len)
                })
                .buffer_unordered(UPLOAD_CONCURRENCY)
        );
        let mut parts = 1u32;
        while let Some(sent) = uploads.next().await {
            acked += sent?;
            parts += 1;
            shown.to(acked);
        }
        Ok(parts)
    }
    .await;
    // On a failed part the receiver is gone by now, so the sealing thread stops at its next part.
    let sealed = sealer
        .await
        .map_err(|e| ClientError::State(format!("the encryption task failed: {e}")));
    let (parts, sealed) = match (sent, sealed) {
        (Err(e), _) | (Ok(_), Err(e)) | (Ok(_), Ok(Err(e))) => {
            progress.finish();
            return Err(e);
        }
        (Ok(parts), Ok(Ok(Some(sealed)))) => (parts, sealed),
        (Ok(_), Ok(Ok(None))) => {
            progress.finish();
            return Err(ClientError::State("the upload stopped early".into()));
        }
    };
    let done = CompleteFile {
        parts,
        size: sealed.blob_len,
    };
    let completed = sink.complete(id, &done).await;
    progress.finish();
    completed?;
    Ok(FileRef {
        id,
        mime: guess_mime(&name).to_owned(),
        name,
        size: sealed.size,
        key: fk,
        sha256: sealed.sha256,
    })
}

/// Decrypts a downloaded stream into `dir/<name>`: written to a temporary file first, renamed only after the
/// final chunk verifies and the blob's hash and size match the reference. Refuses to overwrite.
pub(crate) async fn save_download(
    response: Response,
    file: &FileRef,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let name = safe_file_name(&file.name)?;
    let target = dir.join(name);
    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        return Err(already_exists(&target));
    }
    let suffix: [u8; 6] = random_array()?;
    let temp = dir.join(format!(".{name}.{}.part", b64u(&suffix)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let out = options
        .open(&temp)
        .map_err(|e| ClientError::io(format!("cannot create {}", temp.display()), e))?;
    progress.start(file.size);
    let result = decrypt_into(response, file, out, progress).await;
    progress.finish();
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(e);
    }
    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(already_exists(&target));
    }
    tokio::fs::rename(&temp, &target).await.map_err(|e| {
        ClientError::io(
            format!("cannot move the download to {}", target.display()),
            e,
        )
    })?;
    Ok(target)
}

/// Blob chunks waiting for the decrypting thread (each as the connection delivered it, typically tens to
/// hundreds of KiB).
const DOWNLOAD_QUEUE: usize = 16;
/// Plaintext written between two flushes to disk started in the background while the download goes on,
/// so the final `sync_all` has little left to do.
const FLUSH_EVERY: u64 = 64 * 1024 * 1024;

/// Receives the blob on the async side and hands it to a blocking thread that hashes, decrypts and writes
/// it; `out` is synced before this returns Ok.
async fn decrypt_into(
    response: Response,
    file: &FileRef,
    out: std::fs::File,
    progress: &dyn Progress,
) -> Result<()> {
    let decryptor = StreamDecryptor::new(file.key.as_ref(), file.id);
    let written = Arc::new(AtomicU64::new(0));
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(DOWNLOAD_QUEUE);
    let writer = {
        let written = Arc::clone(&written);
        let (size, sha256) = (file.size, file.sha256);
        tokio::task::spawn_blocking(move || {
            write_plaintext(rx, decryptor, out, size, &sha256, &written)
        })
    };
    let mut shown = Shown {
        progress,
        total: file.size,
        shown: 0,
    };
    let mut body = response.bytes_stream();
    let mut received: Result<()> = Ok(());
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                if tx.send(chunk).await.is_err() {
                    // The writer stopped (it says why below).
                    break;
                }
            }
            Err(e) => {
                received = Err(ClientError::Http(e));
                break;
            }
        }
        shown.to(written.load(Ordering::Relaxed));
    }
    drop(tx);
    let wrote = writer
        .await
        .map_err(|e| ClientError::State(format!("the decryption task failed: {e}")))?;
    // A writer's own failure explains a stopped download better than the connection's.
    wrote?;
    received?;
    shown.to(file.size);
    Ok(())
}

/// The decrypting thread: hash, decrypt and write each chunk as it arrives, keep the disk busy with a
/// flushing thread, and check size and `H(blob)` at the end. Everything it writes is authenticated
/// plaintext; the caller removes the file on any error.
fn write_plaintext(
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
    mut decryptor: StreamDecryptor,
    mut out: std::fs::File,
    size: u64,
    sha256: &[u8; 32],
    written: &AtomicU64,
) -> Result<()> {
    use std::io::Write;
    let write_err = |e| ClientError::io("cannot write the download", e);
    let flusher = Flusher::new(&out);
    let mut hash = Sha256::new();
    let mut plain = Vec::new();
    let (mut total, mut unflushed) = (0u64, 0u64);
    let too_long = || ClientError::Unexpected("the file is longer than its reference says".into());
    while let Some(chunk) = rx.blocking_recv() {
        hash.update(&chunk);
        plain.clear();
        decryptor.push_into(&chunk, &mut plain)?;
        total += plain.len() as u64;
        if total > size {
            return Err(too_long());
        }
        out.write_all(&plain).map_err(write_err)?;
        written.store(total, Ordering::Relaxed);
        unflushed += plain.len() as u64;
        if unflushed >= FLUSH_EVERY {
            flusher.kick();
            unflushed = 0;
        }
    }
    let tail = decryptor.finish()?;
    total += tail.len() as u64;
    if total > size {
        return Err(too_long());
    }
    out.write_all(&tail).map_err(write_err)?;
    if total != size {
        return Err(ClientError::Unexpected(
            "the file's size differs from its reference".into(),
        ));
    }
    if hash.finish() != *sha256 {
        return Err(ClientError::Unexpected(
            "the file's hash differs from its reference".into(),
        ));
    }
    flusher.stop();
    out.sync_all().map_err(write_err)?;
    written.store(total, Ordering::Relaxed);
    Ok(())
}

/// A thread that writes a download's data to disk (`fdatasync` through a second handle) whenever asked,
/// while the download goes on. Best effort: the final `sync_all` is what makes the file durable.
struct Flusher {
    kick: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn new(out: &std::fs::File) -> Self {
        let Ok(handle) = out.try_clone() else {
            return Flusher {
                kick: None,
                thread: None,
            };
        };
        let (kick, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("download-flush".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    let _ = handle.sync_data();
                }
            })
            .ok();
        Flusher {
            kick: thread.as_ref().map(|_| kick),
            thread,
        }
    }

    /// Asks for a flush, unless one is already waiting.
    fn kick(&self) {
        if let Some(kick) = &self.kick {
            let _ = kick.try_send(());
        }
    }

    fn stop(mut self) {
        self.kick = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Dropping the sender ends the thread after its current flush; it is not waited for.
        self.kick = None;
    }
}

struct OwnerSink<'a> {
    session: &'a OwnerSession,
    record: Uuid,
}

impl PartSink for OwnerSink<'_> {
    async fn put_part(&self, file: Uuid, n: u32, bytes: Bytes) -> Result<()> {
        let path = format!("/records/{}/files/{file}/parts/{n}", self.record);
        let request = self
            .session
            .authed(Method::PUT, &path)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.session.api.send(request).await?;
        Ok(())
    }

    async fn complete(&self, file: Uuid, done: &CompleteFile) -> Result<()> {
        let path = format!("/records/{}/files/{file}/complete", self.record);
        self.session
            .api
            .send(self.session.authed(Method::POST, &path).json(done))
            .await?;
        Ok(())
    }
}

impl OwnerSession {
    /// Encrypts and uploads files, then adds them to the record as its next version.
    pub async fn attach_files(
        &mut self,
        record: Uuid,
        paths: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<u64> {
        let mut refs = Vec::with_capacity(paths.len());
        for path in paths {
            refs.push(
                upload(
                    &OwnerSink {
                        session: self,
                        record,
                    },
                    path,
                    progress,
                )
                .await?,
            );
        }
        let written = self
            .edit_record(record, None, move |body: &mut RecordBody| {
                body.files.extend(refs);
                Ok(())
            })
            .await?;
        Ok(written.version)
    }

    /// Downloads and decrypts one file of a record into `dir`.
    pub async fn download_file(
        &self,
        record: Uuid,
        file: &FileRef,
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<PathBuf> {
        let path = format!("/records/{record}/files/{}", file.id);
        let response = self.api.send(self.authed(Method::GET, &path)).await?;
        save_download(response, file, dir, progress).await
    }
}

/// A download never replaces a file that is already there (a local failure, not a usage error).
fn already_exists(target: &Path) -> ClientError {
    ClientError::io(
        format!("cannot save {}", target.display()),
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a file of that name exists; not overwriting it",
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn busy(retry_after: u64) -> ClientError {
        ClientError::Api {
            status: 503,
            code: ErrorCode::ServerBusy,
            message: "busy".into(),
            current_version: None,
            current_key_gen: None,
            retry_after: Some(retry_after),
        }
    }

    /// Answers `server_busy` to the first `busy_answers` parts it is offered.
    struct BusySink {
        busy_answers: u32,
        offered: std::sync::Mutex<Vec<Bytes>>,
    }

    impl PartSink for BusySink {
        async fn put_part(&self, _file: Uuid, _n: u32, bytes: Bytes) -> Result<()> {
            let mut offered = self.offered.lock().unwrap();
            offered.push(bytes);
            if offered.len() as u32 <= self.busy_answers {
                Err(busy(0))
            } else {
                Ok(())
            }
        }

        async fn complete(&self, _file: Uuid, _done: &CompleteFile) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_busy_server_gets_the_part_again() {
        let sink = BusySink {
            busy_answers: 2,
            offered: Default::default(),
        };
        put_part(&sink, Uuid::nil(), 0, Bytes::from_static(&[1, 2, 3]))
            .await
            .unwrap();
        {
            let offered = sink.offered.lock().unwrap();
            assert_eq!(offered.len(), 3);
            assert!(offered.iter().all(|bytes| bytes[..] == [1, 2, 3]));
        }

        let always = BusySink {
            busy_answers: u32::MAX,
            offered: Default::default(),
        };
        let error = put_part(&always, Uuid::nil(), 0, Bytes::from_static(&[4]))
            .await
            .unwrap_err();
        assert!(error.is(ErrorCode::ServerBusy), "{error}");
        assert_eq!(
            always.offered.lock().unwrap().len() as u32,
            BUSY_RETRIES + 1,
            "a few offers, then the refusal is the caller's"
        );
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "x\u{7}"] {
            assert!(safe_file_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(safe_file_name("scan.pdf").ok(), Some("scan.pdf"));
        assert_eq!(guess_mime("A.PDF"), "application/pdf");
        assert_eq!(guess_mime("noext"), "application/octet-stream");
    }
}
