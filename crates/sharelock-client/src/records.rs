//! The owner's vault: records, their versions and their keys (docs/protocol.md §3).
//!
//! Every version the owner's client reads is checked before it is shown or built upon: the owner tag for
//! the owner's own versions; for a recipient's version, the signature of a device whose bind tag verifies
//! under the share's secrets, for an editable share of this very record. Anything else is
//! [`ClientError::Unverified`] and is never resealed. The current version must also not go back
//! ([`crate::VersionMemory`]).

use crate::error::{ClientError, Result};
use crate::session::OwnerSession;
use reqwest::Method;
use sharelock_api::ErrorCode;
use sharelock_api::records::{
    Author as ApiAuthor, CreateRecord, History, Record, RecordList, Rotation,
    ShareKey as ApiShareKey, UpdateRecord, VersionWritten,
};
use sharelock_api::shares::{ShareInfo, ShareList, ShareState};
use sharelock_core::account::RecordKey;
use sharelock_core::crypto::sha256;
use sharelock_core::device::{DevicePublicKey, fingerprint};
use sharelock_core::envelope::{Author, Envelope, VersionHeader};
use sharelock_core::record::{RecordBody, Summary};
use sharelock_core::share::{ShareId, ShareKeys};
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
    /// The decrypted summary, or why it could not be read.
    pub summary: std::result::Result<Summary, String>,
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

    /// Opens the owner's copy of a share's secrets.
    pub(crate) fn share_keys(&self, share: &ShareInfo, share_id: &ShareId) -> Result<ShareKeys> {
        Ok(ShareKeys::open_owner_secret(
            &self.dk,
            share.owner_secret.as_slice(),
            share_id,
        )?)
    }

    /// Establishes who wrote `envelope` (with `proof`), given the record's shares.
    pub(crate) fn verify_version(
        &self,
        record: Uuid,
        envelope: &Envelope,
        proof: &[u8],
        author: &ApiAuthor,
        shares: &[ShareInfo],
    ) -> Verification {
        match (envelope.header.author, author) {
            (Author::Owner, ApiAuthor::Owner) => {
                match envelope.verify_owner_tag(&self.k_own, proof) {
                    Ok(()) => Verification::Owner,
                    Err(_) => Verification::Unverified("the owner tag does not verify".into()),
                }
            }
            (Author::Share(share_id), ApiAuthor::Share { share: handle }) => {
                match self.verify_recipient(record, envelope, proof, &share_id, *handle, shares) {
                    Ok(fingerprint) => Verification::Recipient {
                        handle: *handle,
                        fingerprint,
                    },
                    Err(why) => Verification::Unverified(why),
                }
            }
            _ => {
                Verification::Unverified("the server's author does not match the version's".into())
            }
        }
    }

    fn verify_recipient(
        &self,
        record: Uuid,
        envelope: &Envelope,
        proof: &[u8],
        share_id: &ShareId,
        handle: Uuid,
        shares: &[ShareInfo],
    ) -> std::result::Result<String, String> {
        let share = shares
            .iter()
            .find(|s| s.handle == handle)
            .ok_or_else(|| "written through a share that is no longer listed".to_owned())?;
        if share.record_id != record {
            return Err("written through a share of another record".into());
        }
        if !share.editable {
            return Err("written through a read-only share".into());
        }
        let (Some(device_key), Some(bind_tag)) = (&share.device_key, &share.bind_tag) else {
            return Err("written through a share no device has opened".into());
        };
        let keys = self
            .share_keys(share, share_id)
            .map_err(|_| "the share's secrets do not open for this version's share".to_owned())?;
        keys.bind_key()
            .verify_bind_tag(share_id, device_key.as_slice(), bind_tag.as_slice())
            .map_err(|_| "the device's bind tag does not verify".to_owned())?;
        let device = DevicePublicKey::from_sec1(device_key.as_slice())
            .map_err(|_| "the device key is not a valid public key".to_owned())?;
        envelope
            .verify_edit(&device, proof)
            .map_err(|_| "the device signature does not verify".to_owned())?;
        Ok(fingerprint(device_key.as_slice()))
    }

    /// Fetches a record's current version, checks it fits what the server says about it, and opens it.
    /// The caller decides what an unverified author means.
    pub(crate) async fn fetch_current(
        &self,
        id: Uuid,
        shares: Option<&[ShareInfo]>,
    ) -> Result<Current> {
        let record: Record = self
            .api
            .json(self.authed(Method::GET, &path_of(id)))
            .await?;
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
        let verification = match (h.author, shares) {
            (Author::Owner, _) => {
                self.verify_version(id, &envelope, record.proof.as_slice(), &head.author, &[])
            }
            (Author::Share(_), Some(shares)) => {
                self.verify_version(id, &envelope, record.proof.as_slice(), &head.author, shares)
            }
            (Author::Share(_), None) => {
                let shares = self.fetch_shares(Some(id)).await?;
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

    /// The ids of every record, most recently changed first (nothing is decrypted).
    pub async fn record_ids(&self) -> Result<Vec<Uuid>> {
        let list: RecordList = self.api.json(self.authed(Method::GET, "/records")).await?;
        Ok(list.records.into_iter().map(|r| r.id).collect())
    }

    /// Creates a record: a random id, a fresh record key RK_1, version 1 sealed and tagged by the owner.
    pub async fn create_record(&mut self, body: &RecordBody) -> Result<Uuid> {
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
        let _: VersionWritten = self
            .api
            .json(self.authed(Method::POST, "/records").json(&request))
            .await?;
        self.versions.accept(&envelope)?;
        Ok(id)
    }

    /// Lists the records with their decrypted summaries (each current version is checked as by
    /// [`OwnerSession::show_record`], but an unverified one is listed, marked, rather than refused).
    pub async fn list_records(&mut self) -> Result<Vec<RecordListEntry>> {
        let list: RecordList = self.api.json(self.authed(Method::GET, "/records")).await?;
        let needs_shares = list
            .records
            .iter()
            .any(|r| matches!(r.author, ApiAuthor::Share { .. }));
        let shares = if needs_shares {
            self.fetch_shares(None).await?
        } else {
            Vec::new()
        };
        let mut out = Vec::with_capacity(list.records.len());
        for head in list.records {
            // The list's summary box is sealed with the version header, which only the envelope carries.
            let entry = match self.fetch_current(head.id, Some(&shares)).await {
                Ok(current) => {
                    let summary = current
                        .envelope
                        .open_summary(&current.rk)
                        .map_err(|e| e.to_string());
                    if current.verification.is_verified() {
                        self.versions.accept(&current.envelope)?;
                    }
                    RecordListEntry {
                        id: head.id,
                        version: current.version(),
                        key_gen: current.key_gen(),
                        summary,
                        verification: current.verification,
                        updated_at: current.record.head.updated_at,
                        rotate_pending: current.record.head.rotate_pending,
                    }
                }
                Err(ClientError::Api {
                    code: ErrorCode::NotFound,
                    ..
                }) => continue,
                Err(e) => RecordListEntry {
                    id: head.id,
                    version: head.version,
                    key_gen: head.key_gen,
                    summary: Err(e.to_string()),
                    verification: Verification::Unverified(e.to_string()),
                    updated_at: head.updated_at,
                    rotate_pending: head.rotate_pending,
                },
            };
            out.push(entry);
        }
        Ok(out)
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
    pub async fn record_history(&self, id: Uuid) -> Result<Vec<HistoryEntry>> {
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
        let keys: HashMap<u64, Vec<u8>> = history
            .keys
            .into_iter()
            .map(|k| (k.key_gen, k.wrapped_key.into_vec()))
            .collect();
        let mut out = Vec::with_capacity(history.versions.len());
        let mut prev: Option<[u8; 32]> = None;
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
                        _ => Ok(env),
                    }
                });
            prev = Some(sha256(bytes));
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
        for head in list.records.into_iter().filter(|h| h.rotate_pending) {
            self.rotate_record(head.id).await?;
            done.push(head.id);
        }
        Ok(done)
    }

    async fn rotate_current(&mut self, current: Current) -> Result<VersionWritten> {
        let id = current.id();
        let mut attempt = 0;
        loop {
            let shares = self.fetch_shares(Some(id)).await?;
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

    /// The rotation that reseals `current` under a fresh key for the owner and the live shares among
    /// `shares`; returns it, the new envelope and the new key.
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
            let keys = self.share_keys(share, &share_id)?;
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
