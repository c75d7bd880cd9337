//! Encrypted file attachments (docs/protocol.md §6): every upload gets a fresh file key FK and file id,
//! is encrypted as a chunked stream and sent in parts of at most 16 MiB; every download is decrypted chunk
//! by chunk into a temporary file that is renamed into place only after the final chunk and `H(blob)`
//! verify.

use crate::error::{ClientError, Result};
use crate::session::OwnerSession;
use futures::StreamExt;
use reqwest::{Method, Response};
use sharelock_api::ErrorCode;
use sharelock_api::files::{CompleteFile, MAX_PART_BYTES};
use sharelock_core::crypto::{Sha256, random_array};
use sharelock_core::encoding::b64u;
use sharelock_core::record::{FileKey, FileRef, MAX_FILE_NAME_LEN, RecordBody};
use sharelock_core::stream::{DEFAULT_CHUNK_SIZE, StreamDecryptor, StreamEncryptor};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    async fn put_part(&self, file: Uuid, n: u32, bytes: Vec<u8>) -> Result<()>;
    /// Finishes the upload.
    async fn complete(&self, file: Uuid, done: &CompleteFile) -> Result<()>;
}

/// Times a part is offered again to a server that answered `server_busy` (it read none of it: its bound on
/// uploads or bytes in flight was reached), so a busy server slows an upload down instead of failing it.
const BUSY_RETRIES: u32 = 5;
/// Longest pause before offering a part again, whatever the server's `Retry-After` says.
const BUSY_WAIT_CAP_SECS: u64 = 30;

/// Sends one part, offering it again after the server's `Retry-After` while it answers `server_busy`.
async fn put_part<S: PartSink>(sink: &S, file: Uuid, n: u32, bytes: Vec<u8>) -> Result<()> {
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

/// Encrypts the file at `path` under a fresh key and uploads it in parts; returns its reference for the
/// record body.
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
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
    let total = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let fk = FileKey::generate()?;
    let id = uuid::Builder::from_random_bytes(random_array()?).into_uuid();
    let mut encryptor = StreamEncryptor::new(fk.as_ref(), id, DEFAULT_CHUNK_SIZE)?;
    let mut hash = Sha256::new();
    let mut part = Vec::with_capacity(MAX_PART_BYTES.min(total as usize + 1024));
    let mut input = vec![0u8; DEFAULT_CHUNK_SIZE as usize];
    let (mut parts, mut blob_len, mut size) = (0u32, 0u64, 0u64);
    progress.start(total);
    let result: Result<()> = async {
        loop {
            let n = file
                .read(&mut input)
                .await
                .map_err(|e| ClientError::io(format!("cannot read {}", path.display()), e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            encryptor.update_into(&input[..n], &mut part)?;
            while part.len() >= MAX_PART_BYTES {
                let rest = part.split_off(MAX_PART_BYTES);
                let full = std::mem::replace(&mut part, rest);
                hash.update(&full);
                blob_len += full.len() as u64;
                put_part(sink, id, parts, full).await?;
                parts += 1;
            }
            progress.advance(n as u64);
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        progress.finish();
        return Err(e);
    }
    part.extend_from_slice(&encryptor.finish()?);
    let mut offset = 0;
    while offset < part.len() {
        let end = (offset + MAX_PART_BYTES).min(part.len());
        let bytes = part[offset..end].to_vec();
        hash.update(&bytes);
        blob_len += bytes.len() as u64;
        put_part(sink, id, parts, bytes).await?;
        parts += 1;
        offset = end;
    }
    sink.complete(
        id,
        &CompleteFile {
            parts,
            size: blob_len,
        },
    )
    .await?;
    progress.finish();
    Ok(FileRef {
        id,
        mime: guess_mime(&name).to_owned(),
        name,
        size,
        key: fk,
        sha256: hash.finish(),
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
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut out = options
        .open(&temp)
        .await
        .map_err(|e| ClientError::io(format!("cannot create {}", temp.display()), e))?;
    progress.start(file.size);
    let result = decrypt_into(response, file, &mut out, progress).await;
    progress.finish();
    let result = match result {
        Ok(()) => out
            .sync_all()
            .await
            .map_err(|e| ClientError::io(format!("cannot write {}", temp.display()), e)),
        Err(e) => Err(e),
    };
    drop(out);
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

async fn decrypt_into(
    response: Response,
    file: &FileRef,
    out: &mut tokio::fs::File,
    progress: &dyn Progress,
) -> Result<()> {
    let mut decryptor = StreamDecryptor::new(file.key.as_ref(), file.id);
    let mut hash = Sha256::new();
    let mut written = 0u64;
    let mut plain = Vec::new();
    let mut body = response.bytes_stream();
    let write_err = |e| ClientError::io("cannot write the download", e);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ClientError::Http)?;
        hash.update(&chunk);
        plain.clear();
        decryptor.push_into(&chunk, &mut plain)?;
        written += plain.len() as u64;
        if written > file.size {
            return Err(ClientError::Unexpected(
                "the file is longer than its reference says".into(),
            ));
        }
        out.write_all(&plain).await.map_err(write_err)?;
        progress.advance(plain.len() as u64);
    }
    let tail = decryptor.finish()?;
    written += tail.len() as u64;
    out.write_all(&tail).await.map_err(write_err)?;
    progress.advance(tail.len() as u64);
    if written != file.size {
        return Err(ClientError::Unexpected(
            "the file's size differs from its reference".into(),
        ));
    }
    if hash.finish() != file.sha256 {
        return Err(ClientError::Unexpected(
            "the file's hash differs from its reference".into(),
        ));
    }
    Ok(())
}

struct OwnerSink<'a> {
    session: &'a OwnerSession,
    record: Uuid,
}

impl PartSink for OwnerSink<'_> {
    async fn put_part(&self, file: Uuid, n: u32, bytes: Vec<u8>) -> Result<()> {
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
        offered: std::sync::Mutex<Vec<Vec<u8>>>,
    }

    impl PartSink for BusySink {
        async fn put_part(&self, _file: Uuid, _n: u32, bytes: Vec<u8>) -> Result<()> {
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
        put_part(&sink, Uuid::nil(), 0, vec![1, 2, 3])
            .await
            .unwrap();
        {
            let offered = sink.offered.lock().unwrap();
            assert_eq!(offered.len(), 3);
            assert!(offered.iter().all(|bytes| bytes == &[1, 2, 3]));
        }

        let always = BusySink {
            busy_answers: u32::MAX,
            offered: Default::default(),
        };
        let error = put_part(&always, Uuid::nil(), 0, vec![4])
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
