//! The owner's side of one-time shares (docs/protocol.md §4): create (a key rotation, a fresh link secret
//! and everything derived from it), list, delete, and the live events.

use crate::error::{ClientError, Result};
use crate::http::Transport;
use crate::records::{is_live, share_id_of};
use crate::session::OwnerSession;
use eventsource_stream::Eventsource;
use futures::stream::{BoxStream, Stream, StreamExt};
use reqwest::Method;
use sharelock_api::events::Event;
use sharelock_api::records::{CreateRecord, Rotation};
use sharelock_api::shares::{
    CreateShare, Expiry, RequestSpec, ShareCreated, ShareInfo, ShareState,
};
use sharelock_core::account::RecordKey;
use sharelock_core::device::fingerprint;
use sharelock_core::envelope::{Author, Envelope, VersionHeader};
use sharelock_core::preface::{SharePreface, seal_preface};
use sharelock_core::record::{RecordBody, RecordType};
use sharelock_core::request::{open_request, seal_request};
use sharelock_core::share::{
    Link, LinkSecret, ShareFacts, ShareGrant, ShareKeys, open_label, seal_label,
};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// An owner's API request built ahead of sending it ([`OwnerSession::prepare_record_and_share`]).
#[derive(Clone)]
pub struct PreparedRequest {
    pub method: Method,
    /// The path under the API prefix (`/records`, `/records/{id}/shares`).
    pub path: String,
    /// The session token for `Authorization: Bearer`.
    pub bearer: Zeroizing<String>,
    /// The JSON body.
    pub json: Vec<u8>,
}

impl std::fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("bytes", &self.json.len())
            .finish_non_exhaustive()
    }
}

/// A new record and a share of it, prepared offline: send `record`, then `share`; `link` is the share's.
#[derive(Debug)]
pub struct PreparedShare {
    pub record: PreparedRequest,
    pub share: PreparedRequest,
    pub link: Link,
}

/// What a new share allows.
pub struct ShareOptions {
    /// When it expires.
    pub expires: Expiry,
    /// Whether the recipient may edit the record.
    pub editable: bool,
    /// End the share this many seconds after it is opened.
    pub burn_after_secs: Option<u64>,
    /// A label only the owner can read (at most 256 bytes).
    pub label: Option<String>,
    /// A passphrase the recipient must also know (sent by another channel).
    pub passphrase: Option<Zeroizing<String>>,
    /// End the share at its first fetch: the record is shown once (not with `editable`).
    pub view_once: bool,
    /// The sender's display name the recipient sees before Click to Open (at most 128 bytes of one line;
    /// `None` or empty: no name). The record's type is shown with it either way (docs/protocol.md §4.6).
    pub from: Option<String>,
    /// A self-destructing record (docs/protocol.md §4.7): once the share is opened, the server deletes the
    /// record itself this many seconds later, or at the share's end if that comes first.
    pub destroy_after_secs: Option<u64>,
}

impl std::fmt::Debug for ShareOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareOptions")
            .field("expires", &self.expires)
            .field("editable", &self.editable)
            .field("burn_after_secs", &self.burn_after_secs)
            .field("passphrase", &self.passphrase.is_some())
            .field("view_once", &self.view_once)
            .field("from", &self.from.as_deref().is_some_and(|f| !f.is_empty()))
            .field("destroy_after_secs", &self.destroy_after_secs)
            .finish_non_exhaustive()
    }
}

/// What a new request asks for (docs/protocol.md §4.5).
pub struct RequestOptions {
    /// The blank record's type.
    pub record_type: RecordType,
    /// The blank record's title.
    pub title: String,
    /// The fields to fill in; empty: the type's standard fields.
    pub fields: Vec<String>,
    /// What the sender asks for, shown to the respondent (sealed under the share key).
    pub instructions: String,
    /// How many versions the respondent may write before the share ends (1 to 100).
    pub max_answers: u32,
    /// The deadline.
    pub expires: Expiry,
    /// A label only the owner can read.
    pub label: Option<String>,
    /// A passphrase the respondent must also know.
    pub passphrase: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("record_type", &self.record_type)
            .field("fields", &self.fields.len())
            .field("max_answers", &self.max_answers)
            .field("expires", &self.expires)
            .field("passphrase", &self.passphrase.is_some())
            .finish_non_exhaustive()
    }
}

/// A request just created: its blank record and the share that answers it.
#[derive(Debug)]
pub struct CreatedRequest {
    /// The record the answers go to.
    pub record_id: Uuid,
    /// The share: its link goes to the respondent.
    pub share: CreatedShare,
}

/// A request's facts as its owner reads them.
#[derive(Debug, Clone)]
pub struct RequestEntry {
    /// How many versions the respondent may write.
    pub max_answers: u32,
    /// The instructions, opened under the share key with the stated `max_answers` (or why they do not
    /// open: the server changed the request).
    pub instructions: std::result::Result<String, String>,
}

/// The share preface of `options` for a record of `record_type`, checked before anything is sent.
fn preface_of(options: &ShareOptions, record_type: RecordType) -> Result<SharePreface> {
    let preface = SharePreface {
        from: options.from.clone().unwrap_or_default(),
        record_type,
    };
    sharelock_core::preface::check_from(&preface.from)
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
    Ok(preface)
}

/// A share just created.
#[derive(Debug)]
pub struct CreatedShare {
    /// The link: its fragment is the only key; give it to the recipient only.
    pub link: Link,
    /// The owner's handle of the share.
    pub handle: Uuid,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// The record's version after the rotation that preceded the share.
    pub version: u64,
}

/// A share as its owner sees it, with its label decrypted and its device checked.
#[derive(Debug)]
pub struct ShareEntry {
    /// The owner's handle.
    pub handle: Uuid,
    /// The shared record.
    pub record_id: Uuid,
    /// Active, opened, expired or deleted.
    pub state: ShareState,
    /// Whether the recipient may edit: as sealed in the owner secret when it opens (see `legacy`), else as
    /// the server says.
    pub editable: bool,
    /// The share's owner secret predates share facts: its editability is only the server's word, its
    /// recipient's versions are not verified, and the next rotation of its record ends it.
    pub legacy: bool,
    /// Whether the link needs a passphrase.
    pub passphrase: bool,
    /// The owner's label, if any (or why it could not be read).
    pub label: Option<std::result::Result<String, String>>,
    /// The link again (the owner keeps the secret sealed under the data key).
    pub link: Option<Link>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it expires (or expired).
    pub expires_at: OffsetDateTime,
    /// Burn after open, in seconds.
    pub burn_after_secs: Option<u64>,
    /// When a device opened it.
    pub opened_at: Option<OffsetDateTime>,
    /// The opening device's fingerprint, computed here from its public key.
    pub device_fingerprint: Option<String>,
    /// Whether that device's bind tag verifies under the share's secrets (None: not opened).
    pub device_verified: Option<bool>,
    /// When it ended.
    pub ended_at: Option<OffsetDateTime>,
    /// Why it ended: deleted, recipient_done, record_deleted, expired.
    pub end_reason: Option<String>,
    /// The recipient's last access.
    pub last_access_at: Option<OffsetDateTime>,
    /// Versions the recipient wrote.
    pub edit_count: u64,
    /// Why the share's secrets could not be opened, if they could not.
    pub problem: Option<String>,
    /// Wrong access tokens (wrong passphrases) since the last right one.
    pub failed_attempts: u64,
    /// When the last of them was counted.
    pub last_failed_at: Option<OffsetDateTime>,
    /// When another device with the link was last refused (the share stays with its device).
    pub refused_at: Option<OffsetDateTime>,
    /// The share ends at its first fetch.
    pub view_once: bool,
    /// A request: its answers so far are `edit_count`.
    pub request: Option<RequestEntry>,
    /// Opens: the bound device's fetches of the record, those within a minute of the last one counted once.
    pub open_count: u64,
    /// Every time another device with the link was refused.
    pub refused_count: u64,
    /// Every wrong access token (wrong passphrase) counted, never cleared.
    pub failed_total: u64,
    /// The record destroys itself this long after the share is opened.
    pub destroy_after_secs: Option<u64>,
    /// When the record is destroyed, once the share was opened.
    pub destroy_at: Option<OffsetDateTime>,
}

impl ShareEntry {
    /// Whether the share can still be opened or used.
    pub fn is_live(&self) -> bool {
        matches!(self.state, ShareState::Active | ShareState::Opened)
    }
}

/// Derives the share keys off the async threads (one Argon2id run with a passphrase).
async fn derive_share_keys(
    secret: LinkSecret,
    passphrase: Option<Zeroizing<String>>,
) -> Result<ShareKeys> {
    tokio::task::spawn_blocking(move || {
        ShareKeys::derive(secret, passphrase.as_deref().map(String::as_str))
    })
    .await
    .map_err(|e| ClientError::State(format!("the key derivation task failed: {e}")))?
    .map_err(ClientError::from)
}

impl OwnerSession {
    /// Creates a one-time share of a record: the record key is rotated first (so the recipient cannot read
    /// older versions), then a fresh link secret S gives the share id, the access token, the share key
    /// wrapping the new record key, and the owner's sealed copy of the secrets.
    pub async fn create_share(
        &mut self,
        record: Uuid,
        options: ShareOptions,
    ) -> Result<CreatedShare> {
        self.create_share_with(record, options, None).await
    }

    /// Creates a request (docs/protocol.md §4.5): a blank record of the chosen type (or fields), then an
    /// editable share of it carrying the sealed instructions and the number of answers the server lets
    /// through. If the share cannot be created, the blank record is deleted again.
    pub async fn create_request(&mut self, options: RequestOptions) -> Result<CreatedRequest> {
        if !sharelock_core::request::is_max_answers(options.max_answers) {
            return Err(ClientError::Invalid(format!(
                "a request takes 1 to {} answers",
                sharelock_core::request::MAX_ANSWERS
            )));
        }
        sharelock_core::request::check_instructions(&options.instructions)
            .map_err(|e| ClientError::Invalid(format!("the instructions: {e}")))?;
        let body = sharelock_core::request::blank_body(
            options.record_type,
            &options.title,
            &options.fields,
        )
        .map_err(|e| ClientError::Invalid(format!("the blank record: {e}")))?;
        let policy = self.policy().await?;
        if !policy.requests {
            return Err(ClientError::Invalid(
                "this server does not allow requests".into(),
            ));
        }
        let record_id = self.create_record(&body).await?;
        let share = ShareOptions {
            expires: options.expires,
            editable: true,
            burn_after_secs: None,
            label: options.label,
            passphrase: options.passphrase,
            view_once: false,
            from: None,
            destroy_after_secs: None,
        };
        let request = (options.max_answers, options.instructions);
        match self
            .create_share_with(record_id, share, Some(request))
            .await
        {
            Ok(share) => Ok(CreatedRequest { record_id, share }),
            Err(e) => {
                // Nothing half-made stays behind: the blank record goes with the failed share.
                let _ = self.delete_record(record_id).await;
                Err(e)
            }
        }
    }

    async fn create_share_with(
        &mut self,
        record: Uuid,
        options: ShareOptions,
        request: Option<(u32, String)>,
    ) -> Result<CreatedShare> {
        if let Some(label) = &options.label
            && label.len() > sharelock_core::share::MAX_LABEL_LEN
        {
            return Err(ClientError::Invalid(
                "the label is longer than 256 bytes".into(),
            ));
        }
        if let Some(passphrase) = &options.passphrase {
            sharelock_core::passphrase::check_new(passphrase)
                .map_err(|e| ClientError::Invalid(e.to_string()))?;
        }
        // The name is judged before any key is derived or anything fetched.
        preface_of(&options, RecordType::General)?;
        let keys = derive_share_keys(LinkSecret::generate()?, options.passphrase.clone()).await?;
        let share_id = keys.share_id();
        let current = self.current_verified(record).await?;
        let preface = preface_of(&options, current.body.record_type)?;
        let sealed_preface = seal_preface(&keys.preface_key(), &share_id, &preface)?;
        let grant = ShareGrant {
            record_id: record,
            editable: options.editable,
        };
        let mut attempt = 0;
        loop {
            let shares = self.rotation_shares(record, current.version()).await?;
            let (rotation, envelope, rk) = self.build_rotation(&current, &shares)?;
            let k = current.key_gen() + 1;
            let request = CreateShare {
                rotation,
                share_id: share_id.as_bytes().to_vec().into(),
                access_hash: keys.access_token().access_hash().to_vec().into(),
                wrapped_key: rk
                    .wrap_for_share(keys.share_key(), &share_id, &record, k)?
                    .into(),
                owner_secret: keys.seal_owner_secret(&self.dk, &grant)?.into(),
                label: match &options.label {
                    Some(label) if !label.is_empty() => {
                        Some(seal_label(&self.dk, &share_id, label)?.into())
                    }
                    _ => None,
                },
                expires: options.expires,
                editable: options.editable,
                burn_after_secs: options.burn_after_secs,
                passphrase: keys.has_passphrase(),
                view_once: options.view_once,
                request: match &request {
                    Some((max_answers, instructions)) => Some(RequestSpec {
                        max_answers: *max_answers,
                        instructions: seal_request(
                            keys.share_key(),
                            &share_id,
                            *max_answers,
                            instructions,
                        )?
                        .into(),
                    }),
                    None => None,
                },
                preface: Some(sealed_preface.clone().into()),
                destroy_after_secs: options.destroy_after_secs,
            };
            let path = format!("/records/{record}/shares");
            let result: Result<ShareCreated> = self
                .api
                .json(self.authed(Method::POST, &path).json(&request))
                .await;
            match result {
                Err(e) if e.is(sharelock_api::ErrorCode::ShareSetMismatch) && attempt < 2 => {
                    attempt += 1
                }
                Err(e) => return Err(e),
                Ok(created) => {
                    self.versions.accept(&envelope)?;
                    let link = keys
                        .link(self.api.base())
                        .map_err(sharelock_core::Error::from)?;
                    return Ok(CreatedShare {
                        link,
                        handle: created.handle,
                        expires_at: created.expires_at,
                        version: created.version,
                    });
                }
            }
        }
    }

    /// A new record and a one-off share of it, built without sending anything: the record's first version,
    /// then the share with its rotation to version 2 (the new record has no other share to re-wrap the key
    /// for). Sent in order and unchanged, the two requests have the effect of [`OwnerSession::create_record`]
    /// then [`OwnerSession::create_share`]; this session's version memory has not seen them. For load tests
    /// and batch tools that must not spend their sending time on cryptography.
    pub fn prepare_record_and_share(
        &self,
        body: &RecordBody,
        options: &ShareOptions,
    ) -> Result<PreparedShare> {
        body.validate().map_err(ClientError::record)?;
        let id = Uuid::new_v4();
        let rk1 = RecordKey::generate()?;
        let first = Envelope::seal(&rk1, VersionHeader::first(id, Author::Owner), body)?;
        let record = CreateRecord {
            id,
            wrapped_key: rk1.wrap_for_owner(&self.dk, &id, 1)?.into(),
            envelope: first.to_bytes().into(),
            proof: first.owner_tag(&self.k_own).to_vec().into(),
        };
        let keys = ShareKeys::derive(
            LinkSecret::generate()?,
            options.passphrase.as_deref().map(String::as_str),
        )?;
        let share_id = keys.share_id();
        let preface = preface_of(options, body.record_type)?;
        let rk2 = RecordKey::generate()?;
        let second = Envelope::seal(&rk2, VersionHeader::next(&first, 2, Author::Owner), body)?;
        let grant = ShareGrant {
            record_id: id,
            editable: options.editable,
        };
        let share = CreateShare {
            rotation: Rotation {
                base_version: 1,
                envelope: second.to_bytes().into(),
                proof: second.owner_tag(&self.k_own).to_vec().into(),
                wrapped_key: rk2.wrap_for_owner(&self.dk, &id, 2)?.into(),
                share_keys: Vec::new(),
            },
            share_id: share_id.as_bytes().to_vec().into(),
            access_hash: keys.access_token().access_hash().to_vec().into(),
            wrapped_key: rk2
                .wrap_for_share(keys.share_key(), &share_id, &id, 2)?
                .into(),
            owner_secret: keys.seal_owner_secret(&self.dk, &grant)?.into(),
            label: match &options.label {
                Some(label) if !label.is_empty() => {
                    Some(seal_label(&self.dk, &share_id, label)?.into())
                }
                _ => None,
            },
            expires: options.expires,
            editable: options.editable,
            burn_after_secs: options.burn_after_secs,
            passphrase: keys.has_passphrase(),
            view_once: options.view_once,
            request: None,
            preface: Some(seal_preface(&keys.preface_key(), &share_id, &preface)?.into()),
            destroy_after_secs: options.destroy_after_secs,
        };
        Ok(PreparedShare {
            record: self.prepared(Method::POST, "/records".to_owned(), &record)?,
            share: self.prepared(Method::POST, format!("/records/{id}/shares"), &share)?,
            link: keys
                .link(self.api.base())
                .map_err(sharelock_core::Error::from)?,
        })
    }

    fn prepared<T: serde::Serialize>(
        &self,
        method: Method,
        path: String,
        body: &T,
    ) -> Result<PreparedRequest> {
        Ok(PreparedRequest {
            method,
            path,
            bearer: Zeroizing::new(self.token().to_owned()),
            json: serde_json::to_vec(body)
                .map_err(|e| ClientError::State(format!("cannot encode: {e}")))?,
        })
    }

    /// Lists the shares of one record, or of all records, with labels decrypted and devices checked.
    pub async fn list_shares(&self, record: Option<Uuid>) -> Result<Vec<ShareEntry>> {
        let shares = self.fetch_shares(record).await?;
        Ok(shares.into_iter().map(|s| self.share_entry(s)).collect())
    }

    /// The handles of every share (nothing is decrypted).
    pub async fn share_handles(&self) -> Result<Vec<Uuid>> {
        Ok(self
            .fetch_shares(None)
            .await?
            .into_iter()
            .map(|s| s.handle)
            .collect())
    }

    fn share_entry(&self, share: ShareInfo) -> ShareEntry {
        let mut problem = None;
        let mut editable = share.editable;
        let mut legacy = false;
        let opened =
            share_id_of(&share).and_then(|id| self.open_share(&share, &id).map(|o| (id, o)));
        let unopened = |why: &str| {
            share.request.as_ref().map(|r| RequestEntry {
                max_answers: r.max_answers,
                instructions: Err(why.to_owned()),
            })
        };
        let (label, link, device_verified, request) = match opened {
            Err(e) => {
                problem = Some(format!(
                    "the share's secrets do not open as a share of this record: {e}"
                ));
                let request = unopened("the share's secrets do not open");
                (None, None, None, request)
            }
            Ok((share_id, (keys, facts))) => {
                match facts {
                    ShareFacts::Granted(grant) => {
                        if grant.editable != share.editable {
                            problem = Some(format!(
                                "the server says the share is {}, but it was created {}",
                                if share.editable {
                                    "editable"
                                } else {
                                    "read-only"
                                },
                                if grant.editable {
                                    "editable"
                                } else {
                                    "read-only"
                                },
                            ));
                        }
                        editable = grant.editable;
                    }
                    ShareFacts::Legacy => legacy = true,
                }
                let label = share.label.as_ref().map(|l| {
                    open_label(&self.dk, &share_id, l.as_slice()).map_err(|e| e.to_string())
                });
                let link = keys.link(self.api.base()).ok();
                let verified = match (&share.device_key, &share.bind_tag) {
                    (Some(key), Some(tag)) => Some(
                        keys.bind_key()
                            .verify_bind_tag(&share_id, key.as_slice(), tag.as_slice())
                            .is_ok(),
                    ),
                    (Some(_), None) => Some(false),
                    _ => None,
                };
                let request = share.request.as_ref().map(|r| RequestEntry {
                    max_answers: r.max_answers,
                    instructions: open_request(
                        keys.share_key(),
                        &share_id,
                        r.max_answers,
                        r.instructions.as_slice(),
                    )
                    .map_err(|e| format!("the request's instructions do not open: {e}")),
                });
                (label, link, verified, request)
            }
        };
        ShareEntry {
            handle: share.handle,
            record_id: share.record_id,
            state: share.state,
            editable,
            legacy,
            passphrase: share.passphrase,
            label,
            link,
            created_at: share.created_at,
            expires_at: share.expires_at,
            burn_after_secs: share.burn_after_secs,
            opened_at: share.opened_at,
            device_fingerprint: share.device_key.as_ref().map(|k| fingerprint(k.as_slice())),
            device_verified,
            ended_at: share.ended_at,
            end_reason: share.end_reason,
            last_access_at: share.last_access_at,
            edit_count: share.edit_count,
            problem,
            failed_attempts: share.failed_attempts,
            last_failed_at: share.last_failed_at,
            refused_at: share.refused_at,
            view_once: share.view_once,
            request,
            open_count: share.open_count,
            refused_count: share.refused_count,
            failed_total: share.failed_total,
            destroy_after_secs: share.destroy_after_secs,
            destroy_at: share.destroy_at,
        }
    }

    /// Ends a share at once. Its record is marked for a key rotation, which the next write performs. This
    /// client remembers the share as ended from the record's current version on (docs/protocol.md §7.5).
    pub async fn delete_share(&mut self, handle: Uuid) -> Result<ShareEntry> {
        let info: ShareInfo = self
            .api
            .json(self.authed(Method::DELETE, &format!("/shares/{handle}")))
            .await?;
        match self.record_version(info.record_id).await {
            Ok(version) => self.observe_ended(std::slice::from_ref(&info), |_| Some(version)),
            // The record is gone: nothing of it can be attributed any more.
            Err(e) if e.is(sharelock_api::ErrorCode::NotFound) => {}
            Err(e) => return Err(e),
        }
        Ok(self.share_entry(info))
    }

    /// Whether any live share of `record` exists (so callers can explain a rotation).
    pub async fn has_live_shares(&self, record: Uuid) -> Result<bool> {
        Ok(self.fetch_shares(Some(record)).await?.iter().any(is_live))
    }

    /// The owner's live events (share opened, record edited, share ended, access failures), resuming after
    /// `after` (an event id) if given, else from now. A dropped connection is re-established with
    /// `Last-Event-ID`, so no event is lost or repeated. Connection failures are yielded as
    /// [`ClientError::Http`] and retried with a growing pause; any other error ends the stream.
    pub fn events(&self, after: Option<i64>) -> impl Stream<Item = Result<Event>> + Send + 'static {
        let state = EventState {
            api: self.api.clone(),
            token: Zeroizing::new(self.token().to_owned()),
            last_id: after,
            inner: None,
            failures: 0,
            done: false,
        };
        futures::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        })
    }
}

type RawEvents = BoxStream<'static, std::result::Result<eventsource_stream::Event, String>>;

struct EventState {
    api: Transport,
    token: Zeroizing<String>,
    last_id: Option<i64>,
    inner: Option<RawEvents>,
    failures: u32,
    done: bool,
}

impl EventState {
    fn pause(&self) -> Duration {
        Duration::from_secs(1u64 << self.failures.min(5)).min(Duration::from_secs(30))
    }

    async fn connect(&mut self) -> Result<()> {
        let mut request = self
            .api
            .request(Method::GET, "/events")
            .bearer_auth(self.token.as_str());
        request = request.header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = self.last_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = self.api.send(request).await?;
        let events = response
            .bytes_stream()
            .eventsource()
            .map(|r| r.map_err(|e| e.to_string()));
        self.inner = Some(events.boxed());
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if self.done {
                return None;
            }
            let Some(inner) = self.inner.as_mut() else {
                if self.failures > 0 {
                    tokio::time::sleep(self.pause()).await;
                }
                match self.connect().await {
                    Ok(()) => continue,
                    Err(e @ ClientError::Http(_)) => {
                        self.failures += 1;
                        return Some(Err(e));
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            };
            match inner.next().await {
                Some(Ok(raw)) => {
                    self.failures = 0;
                    if raw.data.trim().is_empty() {
                        continue;
                    }
                    let event: Event = match serde_json::from_str(&raw.data) {
                        Ok(e) => e,
                        Err(e) => {
                            return Some(Err(ClientError::Unexpected(format!(
                                "an event is not valid: {e}"
                            ))));
                        }
                    };
                    self.last_id = Some(event.id);
                    return Some(Ok(event));
                }
                // The connection dropped or ended: resume after the last event seen.
                Some(Err(_)) | None => {
                    self.inner = None;
                    self.failures = self.failures.max(1);
                }
            }
        }
    }
}
