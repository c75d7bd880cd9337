//! The link holder's side (docs/protocol.md §4–§5): status, "Click to Open" (a fresh device key bound to
//! the share), the signed fetch, edits, files and ending the share.
//!
//! Every request after status is signed by this device's key for the share (RFC 9421, core
//! [`sharelock_core::httpsig`]), with `created` taken from the server's clock when the local one is off.
//! The device key is kept by a [`DeviceStore`]; losing it loses the share, by design (there is no unbind).

use crate::error::{ClientError, Result};
use crate::files::{NoProgress, PartSink, Progress, save_download, upload};
use crate::http::{Transport, decode};
use reqwest::{Method, Response};
use sharelock_api::files::CompleteFile;
use sharelock_api::recipient::{
    BindRequest, BindResponse, EditRequest, EndRequest, ShareView, Status,
};
use sharelock_api::records::VersionWritten;
use sharelock_api::{ACCESS_HEADER, ErrorCode, SHARE_HEADER};
use sharelock_core::account::RecordKey;
use sharelock_core::crypto::random_array;
use sharelock_core::device::{DeviceKey, fingerprint};
use sharelock_core::encoding::{b64u, b64u_decode_array};
use sharelock_core::envelope::{Author, Envelope, VersionGuard, VersionHeader};
use sharelock_core::httpsig::{RequestParts, content_digest, sign};
use sharelock_core::preface::{SharePreface, open_preface};
use sharelock_core::record::{FileRef, RecordBody};
use sharelock_core::request::open_request;
use sharelock_core::share::{Link, LinkSecret, ShareId, ShareKeys};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Where a recipient's device keys live, one per share id, with what this device has seen of each share's
/// record (anti-rollback, docs/protocol.md §3.2).
pub trait DeviceStore: Send + Sync {
    /// The key bound (or being bound) to `share`, if this device has one.
    fn load(&self, share: &ShareId) -> Result<Option<DeviceKey>>;
    /// Keeps a new key for `share`. Must not replace an existing one.
    fn save(&self, share: &ShareId, key: &DeviceKey) -> Result<()>;
    /// Forgets the key for `share` and what was seen of it (the share ended, or the bind was refused).
    fn remove(&self, share: &ShareId) -> Result<()>;
    /// The newest version this device accepted through `share`, if any.
    fn load_seen(&self, share: &ShareId) -> Result<Option<SeenVersion>>;
    /// Replaces the newest version this device accepted through `share`.
    fn save_seen(&self, share: &ShareId, seen: &SeenVersion) -> Result<()>;
}

/// The newest version a recipient's device accepted through a share: `(v, E)` and the highest key
/// generation, what [`VersionGuard`] needs to resume. Not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenVersion {
    /// The version number.
    pub version: u64,
    /// `H(envelope)`.
    pub hash: [u8; 32],
    /// The highest key generation seen.
    pub key_gen: u64,
}

impl SeenVersion {
    fn of(guard: &VersionGuard) -> Option<Self> {
        guard.highest().map(|(version, hash)| SeenVersion {
            version,
            hash,
            key_gen: guard.key_gen(),
        })
    }

    fn guard(&self) -> VersionGuard {
        VersionGuard::resume(self.version, self.hash, self.key_gen)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedSeen {
    version: u64,
    hash: String,
    key_gen: u64,
}

/// Device keys as PKCS#8 files, one per share, in a directory readable by its owner only (0700, files
/// 0600 on Unix), each with a small JSON file of the newest version seen through it. File names are the
/// b64u share ids (`<id>.p8`, `<id>.seen`).
#[derive(Debug, Clone)]
pub struct FileDeviceStore {
    dir: PathBuf,
}

impl FileDeviceStore {
    /// Keys in `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileDeviceStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, share: &ShareId) -> PathBuf {
        self.dir.join(format!("{}.p8", share.to_b64u()))
    }

    fn seen_path(&self, share: &ShareId) -> PathBuf {
        self.dir.join(format!("{}.seen", share.to_b64u()))
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClientError::io(
            format!("cannot remove {}", path.display()),
            e,
        )),
    }
}

impl DeviceStore for FileDeviceStore {
    fn load(&self, share: &ShareId) -> Result<Option<DeviceKey>> {
        let path = self.path(share);
        match std::fs::read(&path) {
            Ok(der) => {
                let der = Zeroizing::new(der);
                DeviceKey::from_pkcs8(&der).map(Some).map_err(|_| {
                    ClientError::State(format!("the device key {} is damaged", path.display()))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClientError::io(
                format!("cannot read {}", path.display()),
                e,
            )),
        }
    }

    fn save(&self, share: &ShareId, key: &DeviceKey) -> Result<()> {
        create_private_dir(&self.dir)?;
        let der = Zeroizing::new(key.to_pkcs8()?);
        write_private_file(&self.path(share), &der, false)
    }

    fn remove(&self, share: &ShareId) -> Result<()> {
        remove_if_present(&self.path(share))?;
        remove_if_present(&self.seen_path(share))
    }

    fn load_seen(&self, share: &ShareId) -> Result<Option<SeenVersion>> {
        let path = self.seen_path(share);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ClientError::io(
                    format!("cannot read {}", path.display()),
                    e,
                ));
            }
        };
        let damaged = || ClientError::State(format!("{} is damaged", path.display()));
        let saved: SavedSeen = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
        Ok(Some(SeenVersion {
            version: saved.version,
            hash: b64u_decode_array("version hash", &saved.hash).map_err(|_| damaged())?,
            key_gen: saved.key_gen,
        }))
    }

    fn save_seen(&self, share: &ShareId, seen: &SeenVersion) -> Result<()> {
        create_private_dir(&self.dir)?;
        let saved = SavedSeen {
            version: seen.version,
            hash: b64u(&seen.hash),
            key_gen: seen.key_gen,
        };
        let bytes = serde_json::to_vec(&saved)
            .map_err(|e| ClientError::State(format!("cannot encode: {e}")))?;
        write_private_file(&self.seen_path(share), &bytes, true)
    }
}

/// Creates a directory (and its parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| ClientError::io(format!("cannot create {}", dir.display()), e))
}

/// Writes a file readable by its owner only (0600 on Unix), durably: a temporary file in the same
/// directory, synced, then renamed over the target (or, with `replace` false, linked only if no file is
/// there yet).
pub fn write_private_file(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let suffix: [u8; 6] = random_array()?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", b64u(&suffix)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if replace {
            std::fs::rename(&temp, path)
        } else {
            let linked = std::fs::hard_link(&temp, path);
            std::fs::remove_file(&temp)?;
            linked
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|e| ClientError::io(format!("cannot write {}", path.display()), e))
}

/// Device keys in memory (tests, or a process that must leave nothing behind).
#[derive(Default)]
pub struct MemoryDeviceStore {
    keys: Mutex<HashMap<ShareId, Zeroizing<Vec<u8>>>>,
    seen: Mutex<HashMap<ShareId, SeenVersion>>,
}

impl std::fmt::Debug for MemoryDeviceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryDeviceStore(..)")
    }
}

impl MemoryDeviceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<ShareId, Zeroizing<Vec<u8>>>>> {
        self.keys
            .lock()
            .map_err(|_| ClientError::State("the device store is poisoned".into()))
    }

    fn seen_lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<ShareId, SeenVersion>>> {
        self.seen
            .lock()
            .map_err(|_| ClientError::State("the device store is poisoned".into()))
    }
}

impl DeviceStore for MemoryDeviceStore {
    fn load(&self, share: &ShareId) -> Result<Option<DeviceKey>> {
        match self.lock()?.get(share) {
            Some(der) => Ok(Some(DeviceKey::from_pkcs8(der)?)),
            None => Ok(None),
        }
    }

    fn save(&self, share: &ShareId, key: &DeviceKey) -> Result<()> {
        let mut keys = self.lock()?;
        if keys.contains_key(share) {
            return Err(ClientError::State(
                "a device key for this share already exists".into(),
            ));
        }
        keys.insert(*share, Zeroizing::new(key.to_pkcs8()?));
        Ok(())
    }

    fn remove(&self, share: &ShareId) -> Result<()> {
        self.lock()?.remove(share);
        self.seen_lock()?.remove(share);
        Ok(())
    }

    fn load_seen(&self, share: &ShareId) -> Result<Option<SeenVersion>> {
        Ok(self.seen_lock()?.get(share).copied())
    }

    fn save_seen(&self, share: &ShareId, seen: &SeenVersion) -> Result<()> {
        self.seen_lock()?.insert(*share, *seen);
        Ok(())
    }
}

/// What a recipient learns before Click to Open: the share's status and, if the sender made one, the share
/// preface (docs/protocol.md §4.6) opened with the link's keys. A preface that does not open or validate is
/// reported as its error and shown as nothing: it is the sender's words, passed on by the server.
#[derive(Debug)]
pub struct Preview {
    /// The unsigned status.
    pub status: Status,
    /// The sender's display name and the record's type, if the share has a preface.
    pub preface: Option<std::result::Result<SharePreface, String>>,
}

impl Preview {
    fn of(status: Status, keys: &ShareKeys) -> Self {
        let preface = status.preface.as_ref().map(|sealed| {
            open_preface(&keys.preface_key(), &keys.share_id(), sealed.as_slice())
                .map_err(|e| e.to_string())
        });
        Preview { status, preface }
    }
}

/// The share's status and preface, without binding anything (no side effect but counting a wrong
/// passphrase, §5.4).
pub async fn share_preview(link: &Link, passphrase: Option<&str>) -> Result<Preview> {
    let keys = derive_keys(link, passphrase).await?;
    let api = Transport::new(&link.base)?;
    let status = status(&api, &keys).await?;
    Ok(Preview::of(status, &keys))
}

/// A share's state as the unsigned status call reports it (no side effect).
pub async fn share_status(link: &Link, passphrase: Option<&str>) -> Result<Status> {
    let keys = derive_keys(link, passphrase).await?;
    let api = Transport::new(&link.base)?;
    status(&api, &keys).await
}

async fn derive_keys(link: &Link, passphrase: Option<&str>) -> Result<ShareKeys> {
    let passphrase = match (link.passphrase, passphrase) {
        (true, None) => return Err(ClientError::PassphraseRequired),
        (true, Some(p)) => Some(Zeroizing::new(p.to_owned())),
        (false, _) => None,
    };
    let secret = LinkSecret::from_bytes(*link.secret.expose());
    tokio::task::spawn_blocking(move || {
        ShareKeys::derive(secret, passphrase.as_deref().map(String::as_str))
    })
    .await
    .map_err(|e| ClientError::State(format!("the key derivation task failed: {e}")))?
    .map_err(ClientError::from)
}

async fn status(api: &Transport, keys: &ShareKeys) -> Result<Status> {
    let request = api
        .request(Method::GET, "/recipient/status")
        .header(SHARE_HEADER, keys.share_id().to_b64u())
        .header(ACCESS_HEADER, keys.access_token().to_b64u());
    api.json(request).await
}

/// One signed request (docs/protocol.md §5.2). A `stale_request` answer is retried once, signed with the
/// server's time from that answer's `Date`.
async fn signed(
    api: &Transport,
    share: &ShareId,
    device: &DeviceKey,
    method: Method,
    path: &str,
    body: Option<(bytes::Bytes, &'static str)>,
) -> Result<Response> {
    let mut strict = false;
    loop {
        let url = api.url(path);
        let share_header = share.to_b64u();
        let digest = body.as_ref().map(|(bytes, _)| content_digest(bytes));
        let parts = RequestParts {
            method: method.as_str(),
            target_uri: &url,
            share_header: &share_header,
            content_type: body.as_ref().map(|(_, t)| *t),
            content_digest: digest.as_deref(),
        };
        let created = if strict {
            api.server_now_strict()
        } else {
            api.server_now()
        };
        let headers = sign(device, &parts, created, random_array()?)?;
        let mut request = api
            .request(method.clone(), path)
            .header(SHARE_HEADER, &share_header)
            .header("signature-input", headers.signature_input)
            .header("signature", headers.signature);
        if let (Some((bytes, content_type)), Some(digest)) = (&body, &digest) {
            request = request
                .header(reqwest::header::CONTENT_TYPE, *content_type)
                .header("content-digest", digest)
                .body(bytes.clone());
        }
        match api.send(request).await {
            Err(e) if e.is(ErrorCode::StaleRequest) && !strict => strict = true,
            other => return other,
        }
    }
}

/// An opened share: this device is bound to it, and the record is decrypted.
pub struct Recipient<'d> {
    api: Transport,
    keys: ShareKeys,
    device: DeviceKey,
    devices: &'d dyn DeviceStore,
    fingerprint: String,
    view: ShareView,
    envelope: Envelope,
    rk: RecordKey,
    body: RecordBody,
    summary_mismatch: bool,
    guard: VersionGuard,
    instructions: Option<String>,
}

impl std::fmt::Debug for Recipient<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient")
            .field("server", &self.api.base())
            .field("fingerprint", &self.fingerprint)
            .field("version", &self.view.version)
            .finish_non_exhaustive()
    }
}

struct Fetched {
    view: ShareView,
    envelope: Envelope,
    rk: RecordKey,
    body: RecordBody,
    summary_mismatch: bool,
    /// A request's instructions, opened under the share key.
    instructions: Option<String>,
}

/// What a request (docs/protocol.md §4.5) asks of its respondent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAsked {
    /// The sender's instructions, as sealed under the share key.
    pub instructions: String,
    /// How many versions the respondent may write in all.
    pub max_answers: u32,
    /// How many it has written.
    pub answers: u64,
}

impl<'d> Recipient<'d> {
    /// Opens a link on this device and fetches and decrypts the record.
    ///
    /// A device that already holds the key bound to the share goes straight to the signed fetch: no status,
    /// no bind, so a link holder who keeps the share's access-token backoff busy cannot lock it out
    /// (docs/protocol.md §5.3). Otherwise ("Click to Open") it checks the share's status, makes a new key
    /// (kept by `devices`) and binds it. What this device has seen of the record is kept by `devices` too,
    /// so a server cannot roll it back between runs.
    ///
    /// Fails with `share_bound_to_other_device` if another device opened it first, `share_ended` once it
    /// expired or was deleted, `wrong_passphrase` with a wrong passphrase (which leaves the share untouched).
    pub async fn open(
        link: &Link,
        passphrase: Option<&str>,
        devices: &'d dyn DeviceStore,
    ) -> Result<Self> {
        Self::open_with_preview(link, passphrase, devices, &|_| Ok(())).await
    }

    /// [`Recipient::open`], calling `before_bind` with the share's [`Preview`] when this device is about to
    /// bind it (first use), before any key is made: it may show who sent what, and stop the open with an
    /// error. A device that already holds the share's key does not call it.
    pub async fn open_with_preview(
        link: &Link,
        passphrase: Option<&str>,
        devices: &'d dyn DeviceStore,
        before_bind: &(dyn Fn(&Preview) -> Result<()> + Sync),
    ) -> Result<Self> {
        let keys = derive_keys(link, passphrase).await?;
        let api = Transport::new(&link.base)?;
        let share_id = keys.share_id();
        let guard = devices
            .load_seen(&share_id)?
            .map_or_else(VersionGuard::new, |seen| seen.guard());
        if let Some(device) = devices.load(&share_id)? {
            match fetch(&api, &keys, &device).await {
                Ok(fetched) => return Self::opened(api, keys, device, devices, guard, fetched),
                // The key was kept, but its bind never took effect (the answer was lost, or another device
                // won): bind as on first use, which says which.
                Err(e) if e.is(ErrorCode::ShareNotBound) || e.is(ErrorCode::InvalidSignature) => {
                    status(&api, &keys).await?;
                    bind(&api, &keys, &device).await?;
                    let fetched = fetch(&api, &keys, &device).await?;
                    return Self::opened(api, keys, device, devices, guard, fetched);
                }
                Err(e) => return Err(e),
            }
        }
        let preview = Preview::of(status(&api, &keys).await?, &keys);
        before_bind(&preview)?;
        let device = DeviceKey::generate()?;
        devices.save(&share_id, &device)?;
        if let Err(e) = bind(&api, &keys, &device).await {
            // A definite refusal makes the new key useless; keep it if the outcome is unknown (the bind may
            // have reached the server, and then only this key can ever open the share).
            if matches!(e, ClientError::Api { .. }) {
                devices.remove(&share_id)?;
            }
            return Err(e);
        }
        let fetched = fetch(&api, &keys, &device).await?;
        Self::opened(api, keys, device, devices, guard, fetched)
    }

    fn opened(
        api: Transport,
        keys: ShareKeys,
        device: DeviceKey,
        devices: &'d dyn DeviceStore,
        guard: VersionGuard,
        fetched: Fetched,
    ) -> Result<Self> {
        let mut recipient = Recipient {
            fingerprint: fingerprint(device.public_key()),
            api,
            keys,
            device,
            devices,
            view: fetched.view,
            envelope: fetched.envelope,
            rk: fetched.rk,
            body: fetched.body,
            summary_mismatch: fetched.summary_mismatch,
            guard,
            instructions: fetched.instructions,
        };
        let envelope = recipient.envelope.clone();
        recipient.accept(&envelope)?;
        Ok(recipient)
    }

    /// Checks `envelope` against what this device has seen (§3.2) and keeps it if it is newer.
    fn accept(&mut self, envelope: &Envelope) -> Result<()> {
        self.guard.accept(envelope)?;
        if let Some(seen) = SeenVersion::of(&self.guard) {
            self.devices.save_seen(&self.keys.share_id(), &seen)?;
        }
        Ok(())
    }

    /// The share preface (docs/protocol.md §4.6) as the signed fetch carries it, opened with the link's
    /// keys: `None` without one, or if it does not open or validate.
    pub fn preface(&self) -> Option<SharePreface> {
        let sealed = self.view.preface.as_ref()?;
        open_preface(
            &self.keys.preface_key(),
            &self.keys.share_id(),
            sealed.as_slice(),
        )
        .ok()
    }

    /// When the server deletes the shared record itself (a self-destructing record, docs/protocol.md §4.7).
    pub fn destroy_at(&self) -> Option<OffsetDateTime> {
        self.view.destroy_at
    }

    /// The sealed summary differs from the summary of the body: the writer of this version made the
    /// sender's record list say something else than the record (docs/protocol.md §3.2).
    pub fn summary_mismatch(&self) -> bool {
        self.summary_mismatch
    }

    /// The record as last fetched.
    pub fn body(&self) -> &RecordBody {
        &self.body
    }

    /// The record's id.
    pub fn record_id(&self) -> Uuid {
        self.view.record_id
    }

    /// The record's current version.
    pub fn version(&self) -> u64 {
        self.view.version
    }

    /// Whether this share may edit the record.
    pub fn editable(&self) -> bool {
        self.view.editable
    }

    /// When the share ends.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.view.expires_at
    }

    /// This device's fingerprint (the owner sees the same one).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The server's time as best known (for one-time codes).
    pub fn server_now(&self) -> i64 {
        self.api.server_now()
    }

    /// Fetches the record again (it may have been edited or rotated meanwhile).
    pub async fn refresh(&mut self) -> Result<()> {
        let fetched = fetch(&self.api, &self.keys, &self.device).await?;
        self.accept(&fetched.envelope)?;
        self.view = fetched.view;
        self.envelope = fetched.envelope;
        self.rk = fetched.rk;
        self.body = fetched.body;
        self.summary_mismatch = fetched.summary_mismatch;
        self.instructions = fetched.instructions;
        Ok(())
    }

    /// The request this share is, if it is one: the instructions (verified: they open under the share
    /// key with the stated number of answers) and the answers left.
    pub fn request(&self) -> Option<RequestAsked> {
        let request = self.view.request.as_ref()?;
        Some(RequestAsked {
            instructions: self.instructions.clone()?,
            max_answers: request.max_answers,
            answers: self.view.edit_count,
        })
    }

    /// Answers a request, or edits any editable share, as **one** version: uploads `files` first, then
    /// sets `fields`, the notes (when given) and adds the files. The server counts it as one answer; the
    /// last one ends the share.
    pub async fn answer(
        &mut self,
        fields: &[(String, String)],
        notes: Option<&str>,
        files: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<u64> {
        if !self.view.editable {
            return Err(ClientError::Invalid("this share is read-only".into()));
        }
        // Refuse a bad value before anything is uploaded.
        let mut check = crate::clone_body(&self.body)?;
        for (name, value) in fields {
            check
                .set_field(name, value.as_str())
                .map_err(ClientError::record)?;
        }
        let mut refs = Vec::with_capacity(files.len());
        for path in files {
            refs.push(upload(self, path, progress).await?);
        }
        let version = self
            .edit(move |body| {
                for (name, value) in fields {
                    body.set_field(name, value.as_str())
                        .map_err(ClientError::record)?;
                }
                if let Some(notes) = notes {
                    body.notes = notes.to_owned();
                }
                body.files.extend(refs);
                Ok(())
            })
            .await?;
        self.view.edit_count += 1;
        Ok(version)
    }

    /// Writes the next version of the record (an editable share only): `change` edits the current body;
    /// the envelope names this share as author and is signed by this device. Returns the new version.
    /// Someone else's write since the last fetch answers `version_conflict`, a key rotation
    /// `stale_record_key` ([`ClientError::Api`]); nothing is lost, fetch again and retry.
    pub async fn edit<F>(&mut self, change: F) -> Result<u64>
    where
        F: FnOnce(&mut RecordBody) -> Result<()>,
    {
        if !self.view.editable {
            return Err(ClientError::Invalid("this share is read-only".into()));
        }
        let mut body = crate::clone_body(&self.body)?;
        change(&mut body)?;
        body.validate().map_err(ClientError::record)?;
        let share_id = self.keys.share_id();
        let header =
            VersionHeader::next(&self.envelope, self.view.key_gen, Author::Share(share_id));
        let envelope = Envelope::seal(&self.rk, header, &body)?;
        let request = EditRequest {
            base_version: self.view.version,
            envelope: envelope.to_bytes().into(),
            signature: envelope.sign_edit(&self.device)?.to_vec().into(),
        };
        let json = serde_json::to_vec(&request)
            .map_err(|e| ClientError::State(format!("cannot encode: {e}")))?;
        let response = signed(
            &self.api,
            &share_id,
            &self.device,
            Method::POST,
            "/recipient/edit",
            Some((json.into(), "application/json")),
        )
        .await?;
        let written: VersionWritten = decode(response).await?;
        if written.version != envelope.header.v {
            return Err(ClientError::Unexpected(
                "the server stored another version number".into(),
            ));
        }
        self.accept(&envelope)?;
        self.view.version = written.version;
        self.envelope = envelope;
        self.body = body;
        self.summary_mismatch = false;
        Ok(written.version)
    }

    /// Sets fields (by name; a new name becomes a field of its standard kind, or text) as one new version.
    pub async fn set_fields(&mut self, fields: &[(String, String)]) -> Result<u64> {
        self.edit(|body| {
            for (name, value) in fields {
                body.set_field(name, value.as_str())
                    .map_err(ClientError::record)?;
            }
            Ok(())
        })
        .await
    }

    /// Ends the share from the recipient's side ("I have it, delete it").
    pub async fn end(&self) -> Result<()> {
        let json = serde_json::to_vec(&EndRequest {})
            .map_err(|e| ClientError::State(format!("cannot encode: {e}")))?;
        signed(
            &self.api,
            &self.keys.share_id(),
            &self.device,
            Method::POST,
            "/recipient/end",
            Some((json.into(), "application/json")),
        )
        .await?;
        Ok(())
    }

    /// Downloads and decrypts one of the record's files into `dir` (never overwriting a file there).
    pub async fn download(
        &self,
        file: &FileRef,
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<PathBuf> {
        let path = format!("/recipient/files/{}", file.id);
        let response = signed(
            &self.api,
            &self.keys.share_id(),
            &self.device,
            Method::GET,
            &path,
            None,
        )
        .await?;
        save_download(response, file, dir, progress).await
    }

    /// Encrypts and uploads files (an editable share only), then adds them to the record as a new version.
    pub async fn attach_files(
        &mut self,
        paths: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<u64> {
        if !self.view.editable {
            return Err(ClientError::Invalid("this share is read-only".into()));
        }
        let mut refs = Vec::with_capacity(paths.len());
        for path in paths {
            refs.push(upload(self, path, progress).await?);
        }
        self.edit(move |body| {
            body.files.extend(refs);
            Ok(())
        })
        .await
    }

    /// Downloads every file of the record into `dir`.
    pub async fn download_all(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for file in &self.body.files {
            out.push(self.download(file, dir, &NoProgress).await?);
        }
        Ok(out)
    }
}

impl PartSink for Recipient<'_> {
    async fn put_part(&self, file: Uuid, n: u32, bytes: bytes::Bytes) -> Result<()> {
        let path = format!("/recipient/files/{file}/parts/{n}");
        signed(
            &self.api,
            &self.keys.share_id(),
            &self.device,
            Method::PUT,
            &path,
            Some((bytes, "application/octet-stream")),
        )
        .await?;
        Ok(())
    }

    async fn complete(&self, file: Uuid, done: &CompleteFile) -> Result<()> {
        let path = format!("/recipient/files/{file}/complete");
        let json = serde_json::to_vec(done)
            .map_err(|e| ClientError::State(format!("cannot encode: {e}")))?;
        signed(
            &self.api,
            &self.keys.share_id(),
            &self.device,
            Method::POST,
            &path,
            Some((json.into(), "application/json")),
        )
        .await?;
        Ok(())
    }
}

/// Binds `device` to the share: the new key signs its own request; the body proves knowledge of S′.
async fn bind(api: &Transport, keys: &ShareKeys, device: &DeviceKey) -> Result<BindResponse> {
    let share_id = keys.share_id();
    let request = BindRequest {
        access: keys.access_token().expose().to_vec().into(),
        device_key: device.public_key().to_vec().into(),
        bind_tag: keys
            .bind_key()
            .bind_tag(&share_id, device.public_key())
            .to_vec()
            .into(),
    };
    let json = Zeroizing::new(
        serde_json::to_vec(&request)
            .map_err(|e| ClientError::State(format!("cannot encode: {e}")))?,
    );
    let response = signed(
        api,
        &share_id,
        device,
        Method::POST,
        "/recipient/bind",
        Some((json.to_vec().into(), "application/json")),
    )
    .await?;
    let bound: BindResponse = decode(response).await?;
    if bound.fingerprint != fingerprint(device.public_key()) {
        return Err(ClientError::Unexpected(
            "the server bound another device key".into(),
        ));
    }
    Ok(bound)
}

/// The signed fetch: the current envelope and the record key wrapped for this share, opened and checked.
async fn fetch(api: &Transport, keys: &ShareKeys, device: &DeviceKey) -> Result<Fetched> {
    let share_id = keys.share_id();
    let response = signed(
        api,
        &share_id,
        device,
        Method::GET,
        "/recipient/share",
        None,
    )
    .await?;
    let view: ShareView = decode(response).await?;
    let envelope = Envelope::parse(view.envelope.as_slice())?;
    let h = &envelope.header;
    if h.record_id != view.record_id || h.k != view.key_gen || h.v != view.version {
        return Err(ClientError::Unexpected(
            "the shared version does not match its envelope".into(),
        ));
    }
    let rk = RecordKey::unwrap_for_share(
        keys.share_key(),
        view.wrapped_key.as_slice(),
        &share_id,
        &view.record_id,
        view.key_gen,
    )?;
    let body = envelope.open_body(&rk)?;
    let summary_mismatch = envelope.check_summary(&rk, &body).is_err();
    // A request box that does not open was changed by the server: refuse the share rather than show
    // instructions nobody sealed (docs/protocol.md §4.5).
    let instructions = match &view.request {
        Some(request) => Some(open_request(
            keys.share_key(),
            &share_id,
            request.max_answers,
            request.instructions.as_slice(),
        )?),
        None => None,
    };
    Ok(Fetched {
        view,
        envelope,
        rk,
        body,
        summary_mismatch,
        instructions,
    })
}
