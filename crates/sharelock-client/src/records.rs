//! The owner's vault: records, their versions and their keys (docs/protocol.md §3).
//!
//! Every version the owner's client reads is checked before it is shown or built upon
//! ([`sharelock_core::attribution`]): the owner tag for the owner's own versions; for a recipient's version,
//! the signature of a device whose bind tag verifies, through a share whose sealed facts make it an editable
//! share of this very record, and which this client has not seen end before that version. Anything else is
//! [`ClientError::Unverified`] and is never resealed. The current version must also not go back, in version
//! or key generation ([`crate::VersionMemory`]).

use crate::error::{ClientError, Result};
use crate::session::OwnerSession;
use reqwest::Method;
use sharelock_api::ErrorCode;
use sharelock_api::records::{
    Author as ApiAuthor, CreateRecord, History, Record, RecordHead, RecordList, Rotation,
    ShareKey as ApiShareKey, UpdateRecord, VersionWritten,
};
use sharelock_api::shares::{ShareInfo, ShareList, ShareState};
use sharelock_core::account::RecordKey;
use sharelock_core::attribution::{Attribution, ListedShare, ServerAuthor, attribute};
use sharelock_core::crypto::sha256;
use sharelock_core::envelope::{Author, Envelope, VersionHeader};
use sharelock_core::record::{RecordBody, Summary};
use sharelock_core::share::{ShareFacts, ShareId, ShareKeys};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// How the owner's client established who wrote a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The owner tag verifies: this account wrote it.
    Owner,
    /// Signed by the device bound to an editable share of this record, whose bind tag verifies.
    Recipient {
        /// The share's handle.
        handle: Uuid,
        /// The device's fingerprint.
        fingerprint: String,
    },
    /// Neither: an unverified change (the reason says why), never resealed.
    Unverified(String),
}

impl Verification {
    /// Whether the author is established.
    pub fn is_verified(&self) -> bool {
        !matches!(self, Verification::Unverified(_))
    }
}

/// A record's current version, decrypted and verified.
#[derive(Debug)]
pub struct RecordView {
    /// The record id.
    pub id: Uuid,
    /// The current version.
    pub version: u64,
    /// The key generation sealing it.
    pub key_gen: u64,
    /// The body.
    pub body: RecordBody,
    /// Who wrote it ([`Verification::Owner`] or [`Verification::Recipient`], never unverified).
    pub verification: Verification,
    /// When the record was created.
    pub created_at: OffsetDateTime,
    /// When the current version was written.
    pub updated_at: OffsetDateTime,
    /// A share ended since the last rotation: the next write rotates the record key first.
    pub rotate_pending: bool,
    /// The sealed summary (what the record list shows) is not the summary of this body: the writer made
    /// the list say something else than the record (docs/protocol.md §3.2).
    pub summary_mismatch: bool,
}

/// What became of one record of [`OwnerSession::create_records`].
#[derive(Debug)]
pub enum CreateOutcome {
    /// The server stored it.
    Created,
    /// The request failed: with an answer from the server, the record was not stored; without one
    /// (a broken connection), it may have been.
    Failed(ClientError),
    /// Not sent, because an earlier one failed.
    NotSent,
}

/// One line of the record list.
#[derive(Debug)]
pub struct RecordListEntry {
    /// The record id.
    pub id: Uuid,
    /// The current version.
    pub version: u64,
    /// The current key generation.
    pub key_gen: u64,
    /// The summary of the current body (computed from it, since the body is opened anyway), or why it
    /// could not be read.
    pub summary: std::result::Result<Summary, String>,
    /// The sealed summary differs from the body's: the list line its writer chose is not the record's.
    pub summary_mismatch: bool,
    /// Who wrote the current version.
    pub verification: Verification,
    /// When the current version was written.
    pub updated_at: OffsetDateTime,
    /// A rotation is due.
    pub rotate_pending: bool,
}

/// One version in a record's history, oldest first.
#[derive(Debug)]
pub struct HistoryEntry {
    /// The version number.
    pub version: u64,
    /// The key generation sealing it.
    pub key_gen: u64,
    /// When it was written.
    pub created_at: OffsetDateTime,
    /// Who wrote it, as the server says.
    pub author: ApiAuthor,
    /// Who wrote it, as checked by this client.
    pub verification: Verification,
    /// The decrypted body, or why it could not be read.
    pub body: std::result::Result<RecordBody, String>,
}

/// A record's current version as fetched, parsed and decrypted, before the caller decides what to do.
pub(crate) struct Current {
    pub record: Record,
    pub envelope: Envelope,
    pub rk: RecordKey,
    pub body: RecordBody,
    pub verification: Verification,
    pub summary_mismatch: bool,
}

impl Current {
    pub fn id(&self) -> Uuid {
        self.record.head.id
    }
    pub fn version(&self) -> u64 {
        self.record.head.version
    }
    pub fn key_gen(&self) -> u64 {
        self.record.head.key_gen
    }
}

/// Whether the server counts a share as live (its key must be rewrapped at rotation).
pub(crate) fn is_live(share: &ShareInfo) -> bool {
    matches!(share.state, ShareState::Active | ShareState::Opened)
}

/// What the attribution checks use of a listed share (`None` if its share id is malformed).
fn listed(share: &ShareInfo) -> Option<ListedShare<'_>> {
    Some(ListedShare {
        share_id: share_id_of(share).ok()?,
        owner_secret: share.owner_secret.as_slice(),
        device_key: share.device_key.as_ref().map(|k| k.as_slice()),
        bind_tag: share.bind_tag.as_ref().map(|t| t.as_slice()),
    })
}

/// The share id of a share listed to its owner.
pub(crate) fn share_id_of(share: &ShareInfo) -> Result<ShareId> {
    share
        .share_id
        .to_array::<16>()
        .map(ShareId::from_bytes)
        .ok_or_else(|| ClientError::Unexpected("a share id is not 16 bytes".into()))
}

fn path_of(id: Uuid) -> String {
    format!("/records/{id}")
}

impl OwnerSession {
    /// Every share of `record` (all states), or of every record.
    pub(crate) async fn fetch_shares(&self, record: Option<Uuid>) -> Result<Vec<ShareInfo>> {
        let path = match record {
            Some(id) => format!("/shares?record={id}"),
            None => "/shares".to_owned(),
        };
        let list: ShareList = self.api.json(self.authed(Method::GET, &path)).await?;
        Ok(list.shares)
    }

    /// Remembers every share in `shares` that the server shows ended, at its record's current version as
    /// `version_of` gives it (docs/protocol.md §7.5): from then on, no later version of that share is
    /// attributed to its recipient, whatever the server says of the share.
    pub(crate) fn observe_ended(
        &mut self,
        shares: &[ShareInfo],
        version_of: impl Fn(Uuid) -> Option<u64>,
    ) {
        for share in shares
            .iter()
            .filter(|s| matches!(s.state, ShareState::Expired | ShareState::Deleted))
        {
            if let (Ok(id), Some(version)) = (share_id_of(share), version_of(share.record_id)) {
                self.versions.note_ended(&id, share.record_id, version);
            }
        }
    }

    /// Opens the owner's copy of a listed share's secrets, as a share of the record the server lists it
    /// under, and what the box authenticates about it.
    pub(crate) fn open_share(
        &self,
        share: &ShareInfo,
        share_id: &ShareId,
    ) -> Result<(ShareKeys, ShareFacts)> {
        Ok(ShareKeys::open_owner_secret_of(
            &self.dk,
            share.owner_secret.as_slice(),
            share_id,
            &share.record_id,
            share.editable,
        )?)
    }

    /// Establishes who wrote `envelope` (with `proof`), given the record's shares (docs/protocol.md §7.5).
    pub(crate) fn verify_version(
        &self,
        record: Uuid,
        envelope: &Envelope,
        proof: &[u8],
        author: &ApiAuthor,
        shares: &[ShareInfo],
    ) -> Verification {
        let (server, handle) = match author {
            ApiAuthor::Owner => (ServerAuthor::Owner, None),
            ApiAuthor::Share { share: handle } => (
                ServerAuthor::Share(shares.iter().find(|s| s.handle == *handle).and_then(listed)),
                Some(*handle),
            ),
        };
        let ended_after = match envelope.header.author {
            Author::Share(id) => self.versions.ended_after(&id),
            Author::Owner => None,
        };
        match attribute(&self.dk, &record, envelope, proof, server, ended_after) {
            Ok(Attribution::Owner) => Verification::Owner,
            Ok(Attribution::Recipient { fingerprint }) => Verification::Recipient {
                handle: handle.unwrap_or_default(),
                fingerprint,
            },
            Err(why) => Verification::Unverified(why.to_string()),
        }
    }

    /// Fetches a record's current version, checks it fits what the server says about it, and opens it.
    /// The caller decides what an unverified author means.
    pub(crate) async fn fetch_current(
        &mut self,
        id: Uuid,
        shares: Option<&[ShareInfo]>,
    ) -> Result<Current> {
        let record: Record = self
            .api
            .json(self.authed(Method::GET, &path_of(id)))
            .await?;
        self.open_current(id, record, shares).await
    }

    /// Checks a record's current version as the server sent it (by itself or in the list) against what
    /// the server says about it, and opens it. The caller decides what an unverified author means.
    async fn open_current(
        &mut self,
        id: Uuid,
        record: Record,
        shares: Option<&[ShareInfo]>,
    ) -> Result<Current> {
        let head = &record.head;
        let envelope = Envelope::parse(record.envelope.as_slice())?;
        let h = &envelope.header;
        if head.id != id || h.record_id != id || h.k != head.key_gen || h.v != head.version {
            return Err(ClientError::Unexpected(
                "the record's version does not match its envelope".into(),
            ));
        }
        let rk =
            RecordKey::unwrap_for_owner(&self.dk, head.wrapped_key.as_slice(), &id, head.key_gen)?;
        let body = envelope.open_body(&rk)?;
        let summary_mismatch = envelope.check_summary(&rk, &body).is_err();
        let version = head.version;
        let verification = match (h.author, shares) {
            (Author::Owner, _) => {
                self.verify_version(id, &envelope, record.proof.as_slice(), &head.author, &[])
            }
            (Author::Share(_), Some(shares)) => {
                self.observe_ended(shares, |r| (r == id).then_some(version));
                self.verify_version(id, &envelope, record.proof.as_slice(), &head.author, shares)
            }
            (Author::Share(_), None) => {
                let shares = self.fetch_shares(Some(id)).await?;
                self.observe_ended(&shares, |r| (r == id).then_some(version));
                self.verify_version(
                    id,
                    &envelope,
                    record.proof.as_slice(),
                    &head.author,
                    &shares,
                )
            }
        };
        Ok(Current {
            record,
            envelope,
            rk,
            body,
            verification,
            summary_mismatch,
        })
    }

    /// The current version, refused unless its author is verified and it does not go back; remembered.
    pub(crate) async fn current_verified(&mut self, id: Uuid) -> Result<Current> {
        let current = self.fetch_current(id, None).await?;
        if let Verification::Unverified(why) = &current.verification {
            return Err(ClientError::Unverified(format!(
                "version {} of record {id} cannot be attributed ({why}); it is not shown or built upon",
                current.version()
            )));
        }
        self.versions.accept(&current.envelope)?;
        Ok(current)
    }

    /// A record's current version as the server states it (nothing is decrypted).
    pub(crate) async fn record_version(&self, id: Uuid) -> Result<u64> {
        let record: Record = self
            .api
            .json(self.authed(Method::GET, &path_of(id)))
            .await?;
        Ok(record.head.version)
    }

    /// The ids of every record, most recently changed first (nothing is decrypted).
    pub async fn record_ids(&self) -> Result<Vec<Uuid>> {
        let list: RecordList = self.api.json(self.authed(Method::GET, "/records")).await?;
        Ok(list.records.into_iter().map(|r| r.head.id).collect())
    }

    /// A new record's first version and its creation request: a random id, a fresh record key RK_1,
    /// version 1 sealed and tagged by the owner. Nothing is sent.
    fn seal_new_record(&self, body: &RecordBody) -> Result<(Envelope, CreateRecord)> {
        body.validate().map_err(ClientError::record)?;
        let id = Uuid::new_v4();
        let rk = RecordKey::generate()?;
        let envelope = Envelope::seal(&rk, VersionHeader::first(id, Author::Owner), body)?;
        let request = CreateRecord {
            id,
            wrapped_key: rk.wrap_for_owner(&self.dk, &id, 1)?.into(),
            envelope: envelope.to_bytes().into(),
            proof: envelope.owner_tag(&self.k_own).to_vec().into(),
        };
        Ok((envelope, request))
    }

    /// Creates a record: a random id, a fresh record key RK_1, version 1 sealed and tagged by the owner.
    pub async fn create_record(&mut self, body: &RecordBody) -> Result<Uuid> {
        let (envelope, request) = self.seal_new_record(body)?;
        let id = request.id;
        let _: VersionWritten = self
            .api
            .json(self.authed(Method::POST, "/records").json(&request))
            .await?;
        self.versions.accept(&envelope)?;
        Ok(id)
    }

    /// Creates many records (an import): each body is validated and sealed first, then up to
    /// `in_flight` requests run at once. After the first failure no new request starts; the ones
    /// already sent finish. Returns one outcome per body, in order, each with the id the record was
    /// (or would have been) created under, so a caller can say exactly which exist.
    pub async fn create_records(
        &mut self,
        bodies: &[&RecordBody],
        in_flight: usize,
    ) -> Result<Vec<(Uuid, CreateOutcome)>> {
        use futures::StreamExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut prepared = Vec::with_capacity(bodies.len());
        for body in bodies {
            prepared.push(self.seal_new_record(body)?);
        }
        let failed = AtomicBool::new(false);
        let this = &*self;
        let outcomes: Vec<CreateOutcome> = futures::stream::iter(prepared.iter())
            .map(|(_, request)| {
                let failed = &failed;
                async move {
                    if failed.load(Ordering::SeqCst) {
                        return CreateOutcome::NotSent;
                    }
                    let sent: Result<VersionWritten> = this
                        .api
                        .json(this.authed(Method::POST, "/records").json(request))
                        .await;
                    match sent {
                        Ok(_) => CreateOutcome::Created,
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            CreateOutcome::Failed(e)
                        }
                    }
                }
            })
            .buffered(in_flight.max(1))
            .collect()
            .await;
        let mut out = Vec::with_capacity(outcomes.len());
        for ((envelope, request), outcome) in prepared.iter().zip(outcomes) {
            if matches!(outcome, CreateOutcome::Created) {
                self.versions.accept(envelope)?;
            }
            out.push((request.id, outcome));
        }
        Ok(out)
    }

    /// Every record's current version, fetched, opened and attributed (the list carries the current
    /// version of every record but the largest; those are fetched one by one). A record deleted meanwhile
    /// is left out; one that cannot be read keeps its head and why.
    async fn read_all(&mut self) -> Result<Vec<(RecordHead, Result<Current>)>> {
        let list: RecordList = self.api.json(self.authed(Method::GET, "/records")).await?;
        let needs_shares = list
            .records
            .iter()
            .any(|r| matches!(r.head.author, ApiAuthor::Share { .. }));
        let shares = if needs_shares {
            self.fetch_shares(None).await?
        } else {
            Vec::new()
        };
        let versions: HashMap<Uuid, u64> = list
            .records
            .iter()
            .map(|r| (r.head.id, r.head.version))
            .collect();
        self.observe_ended(&shares, |r| versions.get(&r).copied());
        let mut out = Vec::with_capacity(list.records.len());
        for listed in list.records {
            let head = listed.head;
            let current = match (listed.envelope, listed.proof) {
                (Some(envelope), Some(proof)) => {
                    let record = Record {
                        head: head.clone(),
                        envelope,
                        proof,
                    };
                    self.open_current(head.id, record, Some(&shares)).await
                }
                _ => self.fetch_current(head.id, Some(&shares)).await,
            };
            if let Err(ClientError::Api {
                code: ErrorCode::NotFound,
                ..
            }) = current
            {
                continue;
            }
            // A verified author still must not go back (version or key generation).
            let current = current.map(|mut c| {
                if c.verification.is_verified()
                    && let Err(e) = self.versions.accept(&c.envelope)
                {
                    c.verification = Verification::Unverified(e.to_string());
                }
                c
            });
            out.push((head, current));
        }
        Ok(out)
    }

    /// Lists the records with their decrypted summaries (each current version is checked as by
    /// [`OwnerSession::show_record`], but an unverified one is listed, marked, rather than refused).
    pub async fn list_records(&mut self) -> Result<Vec<RecordListEntry>> {
        Ok(self
            .read_all()
            .await?
            .into_iter()
            .map(|(head, current)| match current {
                Ok(current) => RecordListEntry {
                    id: head.id,
                    version: current.version(),
                    key_gen: current.key_gen(),
                    summary: Ok(current.body.summary()),
                    summary_mismatch: current.summary_mismatch,
                    verification: current.verification,
                    updated_at: current.record.head.updated_at,
                    rotate_pending: current.record.head.rotate_pending,
                },
                Err(e) => RecordListEntry {
                    id: head.id,
                    version: head.version,
                    key_gen: head.key_gen,
                    summary: Err(e.to_string()),
                    summary_mismatch: false,
                    verification: Verification::Unverified(e.to_string()),
                    updated_at: head.updated_at,
                    rotate_pending: head.rotate_pending,
                },
            })
            .collect())
    }

    /// Every record's current version, decrypted, for an export: the verified ones as by
    /// [`OwnerSession::show_record`], and for each other record its id with why it is left out (a version
    /// whose author cannot be verified is never handed on as the owner's).
    pub async fn all_records(&mut self) -> Result<(Vec<RecordView>, Vec<(Uuid, String)>)> {
        let mut views = Vec::new();
        let mut left_out = Vec::new();
        for (head, current) in self.read_all().await? {
            match current {
                Ok(current) => {
                    if let Verification::Unverified(why) = &current.verification {
                        left_out.push((head.id, why.clone()));
                        continue;
                    }
                    views.push(RecordView {
                        id: head.id,
                        version: current.version(),
                        key_gen: current.key_gen(),
                        verification: current.verification,
                        created_at: current.record.head.created_at,
                        updated_at: current.record.head.updated_at,
                        rotate_pending: current.record.head.rotate_pending,
                        summary_mismatch: current.summary_mismatch,
                        body: current.body,
                    });
                }
                Err(e) => left_out.push((head.id, e.to_string())),
            }
        }
        Ok((views, left_out))
    }

    /// The current version of a record, decrypted; refused if its author cannot be verified or if it is
    /// older than a version already seen.
    pub async fn show_record(&mut self, id: Uuid) -> Result<RecordView> {
        let current = self.current_verified(id).await?;
        Ok(RecordView {
            id,
            version: current.version(),
            key_gen: current.key_gen(),
            verification: current.verification,
            created_at: current.record.head.created_at,
            updated_at: current.record.head.updated_at,
            rotate_pending: current.record.head.rotate_pending,
            summary_mismatch: current.summary_mismatch,
            body: current.body,
        })
    }

    /// Writes the next version: `change` edits the current body. With `if_version`, nothing is written
    /// unless the record is still at that version ([`ClientError::Conflict`]). A pending key rotation runs
    /// first. A concurrent write answers `version_conflict` ([`ClientError::Api`]).
    pub async fn edit_record<F>(
        &mut self,
        id: Uuid,
        if_version: Option<u64>,
        change: F,
    ) -> Result<VersionWritten>
    where
        F: FnOnce(&mut RecordBody) -> Result<()>,
    {
        let mut current = self.current_verified(id).await?;
        if let Some(expected) = if_version
            && expected != current.version()
        {
            return Err(ClientError::Conflict {
                current_version: current.version(),
            });
        }
        if current.record.head.rotate_pending {
            self.rotate_current(current).await?;
            current = self.current_verified(id).await?;
        }
        let Current {
            record,
            envelope: base,
            rk,
            mut body,
            ..
        } = current;
        change(&mut body)?;
        body.validate().map_err(ClientError::record)?;
        let header = VersionHeader::next(&base, record.head.key_gen, Author::Owner);
        let envelope = Envelope::seal(&rk, header, &body)?;
        let request = UpdateRecord {
            base_version: record.head.version,
            envelope: envelope.to_bytes().into(),
            proof: envelope.owner_tag(&self.k_own).to_vec().into(),
        };
        let written: VersionWritten = self
            .api
            .json(self.authed(Method::PUT, &path_of(id)).json(&request))
            .await?;
        self.versions.accept(&envelope)?;
        Ok(written)
    }

    /// Deletes a record, its history and files; its shares end.
    pub async fn delete_record(&mut self, id: Uuid) -> Result<()> {
        self.api
            .send(self.authed(Method::DELETE, &path_of(id)))
            .await?;
        self.versions.forget(&id);
        Ok(())
    }

    /// Every version of a record, oldest first, each decrypted under its own key generation and checked
    /// (owner tag or verified device), and the hash chain between them.
    pub async fn record_history(&mut self, id: Uuid) -> Result<Vec<HistoryEntry>> {
        let history: History = self
            .api
            .json(self.authed(Method::GET, &format!("{}/history", path_of(id))))
            .await?;
        let shares = if history
            .versions
            .iter()
            .any(|v| matches!(v.author, ApiAuthor::Share { .. }))
        {
            self.fetch_shares(Some(id)).await?
        } else {
            Vec::new()
        };
        if let Some(last) = history.versions.last() {
            let current = last.version;
            self.observe_ended(&shares, |r| (r == id).then_some(current));
        }
        let keys: HashMap<u64, Vec<u8>> = history
            .keys
            .into_iter()
            .map(|k| (k.key_gen, k.wrapped_key.into_vec()))
            .collect();
        let mut out = Vec::with_capacity(history.versions.len());
        let mut prev: Option<[u8; 32]> = None;
        let mut prev_k = 0;
        for entry in history.versions {
            let bytes = entry.envelope.as_slice();
            let parsed = Envelope::parse(bytes)
                .map_err(|e| e.to_string())
                .and_then(|env| {
                    let h = &env.header;
                    if h.record_id != id || h.v != entry.version || h.k != entry.key_gen {
                        return Err(
                            "the envelope does not match its place in the history".to_owned()
                        );
                    }
                    match prev {
                        Some(p) if h.prev != p => {
                            Err("the envelope does not follow the version before it".to_owned())
                        }
                        None if entry.version != 1 => {
                            Err("the history does not start at version 1".to_owned())
                        }
                        // Generations never go back along the chain: a lower one is a write under a key the
                        // record had rotated away from.
                        _ if h.k < prev_k => Err(format!(
                            "sealed under key generation {}, older than generation {prev_k} before it",
                            h.k
                        )),
                        _ => Ok(env),
                    }
                });
            prev = Some(sha256(bytes));
            prev_k = prev_k.max(entry.key_gen);
            let (verification, body) = match parsed {
                Err(why) => (Verification::Unverified(why.clone()), Err(why)),
                Ok(env) => {
                    let verification = self.verify_version(
                        id,
                        &env,
                        entry.proof.as_slice(),
                        &entry.author,
                        &shares,
                    );
                    let body = keys
                        .get(&entry.key_gen)
                        .ok_or_else(|| format!("key generation {} is missing", entry.key_gen))
                        .and_then(|w| {
                            RecordKey::unwrap_for_owner(&self.dk, w, &id, entry.key_gen)
                                .map_err(|e| e.to_string())
                        })
                        .and_then(|rk| env.open_body(&rk).map_err(|e| e.to_string()));
                    (verification, body)
                }
            };
            out.push(HistoryEntry {
                version: entry.version,
                key_gen: entry.key_gen,
                created_at: entry.created_at,
                author: entry.author,
                verification,
                body,
            });
        }
        Ok(out)
    }

    /// Rotates a record's key (docs/protocol.md §3.1): the current body resealed under a fresh RK_k+1 as the
    /// next version, RK_k+1 wrapped for the owner and for every live share.
    pub async fn rotate_record(&mut self, id: Uuid) -> Result<VersionWritten> {
        let current = self.current_verified(id).await?;
        self.rotate_current(current).await
    }

    /// Rotates every record the server marks `rotate_pending` (a share ended since the last rotation).
    /// Returns the records rotated.
    pub async fn rotate_pending(&mut self) -> Result<Vec<Uuid>> {
        let list: RecordList = self.api.json(self.authed(Method::GET, "/records")).await?;
        let mut done = Vec::new();
        for head in list
            .records
            .into_iter()
            .map(|l| l.head)
            .filter(|h| h.rotate_pending)
        {
            self.rotate_record(head.id).await?;
            done.push(head.id);
        }
        Ok(done)
    }

    async fn rotate_current(&mut self, current: Current) -> Result<VersionWritten> {
        let id = current.id();
        let mut attempt = 0;
        loop {
            let shares = self.rotation_shares(id, current.version()).await?;
            let (rotation, envelope, _) = self.build_rotation(&current, &shares)?;
            let result: Result<VersionWritten> = self
                .api
                .json(
                    self.authed(Method::POST, &format!("{}/rotate", path_of(id)))
                        .json(&rotation),
                )
                .await;
            match result {
                // A share ended or expired between the list and the rotation: list again.
                Err(e) if e.is(ErrorCode::ShareSetMismatch) && attempt < 2 => attempt += 1,
                Err(e) => return Err(e),
                Ok(written) => {
                    self.versions.accept(&envelope)?;
                    return Ok(written);
                }
            }
        }
    }

    /// The shares of `record` (at `version`) for a rotation, after ending every live share whose owner
    /// secret predates share facts: nothing binds such a share to its record, so wrapping this record's new
    /// key for it could hand the key to another record's recipient (docs/protocol.md §4.1). Refuses a
    /// listing that calls live a share this client saw end, or that lists a share of another record.
    pub(crate) async fn rotation_shares(
        &mut self,
        record: Uuid,
        version: u64,
    ) -> Result<Vec<ShareInfo>> {
        for _ in 0..2 {
            let shares = self.fetch_shares(Some(record)).await?;
            self.observe_ended(&shares, |r| (r == record).then_some(version));
            let mut legacy = Vec::new();
            for share in shares
                .iter()
                .filter(|s| is_live(s) && s.record_id == record)
            {
                let share_id = share_id_of(share)?;
                if self.versions.ended_after(&share_id).is_some() {
                    return Err(ClientError::Unexpected(format!(
                        "the server lists share {} as live, but it has ended",
                        share.handle
                    )));
                }
                match self.open_share(share, &share_id) {
                    Ok((_, ShareFacts::Legacy)) => legacy.push(share.handle),
                    Ok(_) => {}
                    Err(_) => {
                        return Err(ClientError::Unexpected(format!(
                            "the server lists share {} under record {record}, but its sealed facts name another record",
                            share.handle
                        )));
                    }
                }
            }
            if legacy.is_empty() {
                return Ok(shares);
            }
            for handle in legacy {
                self.delete_share(handle).await?;
            }
        }
        Err(ClientError::Unexpected(
            "the server keeps listing ended shares as live".into(),
        ))
    }

    /// The rotation that reseals `current` under a fresh key for the owner and the live shares among
    /// `shares` (as [`OwnerSession::rotation_shares`] returns them); returns it, the new envelope and the
    /// new key.
    pub(crate) fn build_rotation(
        &self,
        current: &Current,
        shares: &[ShareInfo],
    ) -> Result<(Rotation, Envelope, RecordKey)> {
        let id = current.id();
        let k = current.key_gen() + 1;
        let rk = RecordKey::generate()?;
        let envelope = Envelope::seal(
            &rk,
            VersionHeader::next(&current.envelope, k, Author::Owner),
            &current.body,
        )?;
        let mut share_keys = Vec::new();
        for share in shares.iter().filter(|s| is_live(s) && s.record_id == id) {
            let share_id = share_id_of(share)?;
            let keys = match self.open_share(share, &share_id)? {
                (keys, ShareFacts::Granted(_)) => keys,
                (_, ShareFacts::Legacy) => {
                    return Err(ClientError::Unexpected(
                        "a share without sealed facts cannot get a new record key".into(),
                    ));
                }
            };
            share_keys.push(ApiShareKey {
                share: share.handle,
                wrapped_key: rk
                    .wrap_for_share(keys.share_key(), &share_id, &id, k)?
                    .into(),
            });
        }
        let rotation = Rotation {
            base_version: current.version(),
            envelope: envelope.to_bytes().into(),
            proof: envelope.owner_tag(&self.k_own).to_vec().into(),
            wrapped_key: rk.wrap_for_owner(&self.dk, &id, k)?.into(),
            share_keys,
        };
        Ok((rotation, envelope, rk))
    }
}
