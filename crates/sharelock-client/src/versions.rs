//! The owner client's memory (docs/protocol.md §3.2, §7.5), kept across sessions: per record, the highest
//! `(version, H(envelope))` accepted as current and the highest key generation seen (anti-rollback: a
//! malicious server could otherwise replay an old version, an old password, as current, or pass off a write
//! under a key the record rotated away from); and every share seen ended, with the record's version at that
//! moment, so that a server colluding with an ended share's recipient cannot slip in a later version as
//! theirs. The CLI keeps this in its home directory; it holds no secret.

use crate::error::{ClientError, Result};
use serde::{Deserialize, Serialize};
use sharelock_core::encoding::{b64u, b64u_decode_array};
use sharelock_core::envelope::{Envelope, VersionGuard};
use sharelock_core::share::ShareId;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What this client has seen of every record and share, with [`VersionGuard`]'s rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMemory {
    guards: BTreeMap<Uuid, VersionGuard>,
    ended: BTreeMap<ShareIdKey, EndedShare>,
    changed: bool,
}

/// A share id as a map key (b64u text, as saved).
type ShareIdKey = String;

/// A share this client saw ended: its record, and the record's version when the client first saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct EndedShare {
    record: Uuid,
    after: u64,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    records: BTreeMap<Uuid, SavedVersion>,
    #[serde(default)]
    ended_shares: BTreeMap<ShareIdKey, EndedShare>,
}

#[derive(Serialize, Deserialize)]
struct SavedVersion {
    version: u64,
    hash: String,
    /// Absent in memories saved before key generations were remembered (format 1).
    #[serde(default)]
    key_gen: u64,
}

impl VersionMemory {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks that `envelope` may be shown as the current version of its record, without remembering it.
    pub fn check(&self, envelope: &Envelope) -> Result<()> {
        match self.guards.get(&envelope.header.record_id) {
            Some(guard) => guard.check(envelope).map_err(ClientError::Protocol),
            None => Ok(()),
        }
    }

    /// Checks `envelope` and remembers it if it is newer than anything seen of its record.
    pub fn accept(&mut self, envelope: &Envelope) -> Result<()> {
        let guard = self.guards.entry(envelope.header.record_id).or_default();
        let before = *guard;
        guard.accept(envelope).map_err(ClientError::Protocol)?;
        if *guard != before {
            self.changed = true;
        }
        Ok(())
    }

    /// Remembers that `share` (of `record`) has ended, when the record's current version is `version`; a
    /// share already remembered keeps its first entry (an ended share never comes back).
    pub fn note_ended(&mut self, share: &ShareId, record: Uuid, version: u64) {
        if let std::collections::btree_map::Entry::Vacant(e) = self.ended.entry(share.to_b64u()) {
            e.insert(EndedShare {
                record,
                after: version,
            });
            self.changed = true;
        }
    }

    /// The record's version when this client first saw `share` ended, if it did.
    pub fn ended_after(&self, share: &ShareId) -> Option<u64> {
        self.ended.get(&share.to_b64u()).map(|e| e.after)
    }

    /// Forgets a record and its ended shares (after it was deleted).
    pub fn forget(&mut self, record: &Uuid) {
        let before = self.ended.len();
        self.ended.retain(|_, e| e.record != *record);
        if self.guards.remove(record).is_some() || self.ended.len() != before {
            self.changed = true;
        }
    }

    /// The highest `(version, H(envelope))` accepted for `record`.
    pub fn highest(&self, record: &Uuid) -> Option<(u64, [u8; 32])> {
        self.guards.get(record).and_then(VersionGuard::highest)
    }

    /// The highest key generation accepted for `record` (0 if none).
    pub fn key_gen(&self, record: &Uuid) -> u64 {
        self.guards.get(record).map_or(0, VersionGuard::key_gen)
    }

    /// Whether anything was learnt since loading (so the caller knows to save).
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// JSON bytes for a file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let records = self
            .guards
            .iter()
            .filter_map(|(id, g)| {
                g.highest().map(|(version, hash)| {
                    (
                        *id,
                        SavedVersion {
                            version,
                            hash: b64u(&hash),
                            key_gen: g.key_gen(),
                        },
                    )
                })
            })
            .collect();
        let saved = Saved {
            format: 2,
            records,
            ended_shares: self.ended.clone(),
        };
        serde_json::to_vec_pretty(&saved)
            .map_err(|e| ClientError::State(format!("cannot encode the version memory: {e}")))
    }

    /// Reads what [`VersionMemory::to_bytes`] wrote (format 2), or a memory of format 1 (no key generations,
    /// no ended shares).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let damaged =
            |why: String| ClientError::State(format!("the version memory is damaged: {why}"));
        let saved: Saved = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
        if saved.format != 1 && saved.format != 2 {
            return Err(damaged(format!("unknown format {}", saved.format)));
        }
        let mut guards = BTreeMap::new();
        for (id, v) in saved.records {
            let hash = b64u_decode_array::<32>("version hash", &v.hash)
                .map_err(|e| damaged(e.to_string()))?;
            guards.insert(id, VersionGuard::resume(v.version, hash, v.key_gen));
        }
        for share in saved.ended_shares.keys() {
            ShareId::from_b64u(share).map_err(|e| damaged(e.to_string()))?;
        }
        Ok(VersionMemory {
            guards,
            ended: saved.ended_shares,
            changed: false,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use sharelock_core::account::RecordKey;
    use sharelock_core::envelope::{Author, VersionHeader};
    use sharelock_core::record::{RecordBody, RecordType};

    #[test]
    fn refuses_rollback_and_survives_a_round_trip() {
        let rk = RecordKey::from_bytes([1; 32]);
        let body = RecordBody::new(RecordType::Note, "n");
        let id = Uuid::from_bytes([2; 16]);
        let v1 = Envelope::seal(&rk, VersionHeader::first(id, Author::Owner), &body).unwrap();
        let v2 = Envelope::seal(&rk, VersionHeader::next(&v1, 1, Author::Owner), &body).unwrap();
        let mut memory = VersionMemory::new();
        memory.accept(&v1).unwrap();
        memory.accept(&v2).unwrap();
        assert!(memory.is_changed());
        let restored = VersionMemory::from_bytes(&memory.to_bytes().unwrap()).unwrap();
        assert!(!restored.is_changed());
        assert_eq!(restored.highest(&id), Some((2, v2.hash())));
        assert!(
            restored.check(&v1).is_err(),
            "an older version must be refused"
        );
        assert!(restored.check(&v2).is_ok());
        assert!(VersionMemory::from_bytes(b"{\"format\":3,\"records\":{}}").is_err());
    }

    #[test]
    fn remembers_key_generations_and_ended_shares_across_a_round_trip() {
        let id = Uuid::from_bytes([2; 16]);
        let body = RecordBody::new(RecordType::Note, "n");
        let v1 = Envelope::seal(
            &RecordKey::from_bytes([1; 32]),
            VersionHeader::first(id, Author::Owner),
            &body,
        )
        .unwrap();
        let v2 = Envelope::seal(
            &RecordKey::from_bytes([3; 32]),
            VersionHeader::next(&v1, 2, Author::Owner),
            &body,
        )
        .unwrap();
        let share = ShareId::from_bytes([7; 16]);
        let stale = Envelope::seal(
            &RecordKey::from_bytes([1; 32]),
            VersionHeader::next(&v2, 1, Author::Share(share)),
            &body,
        )
        .unwrap();
        let mut memory = VersionMemory::new();
        memory.accept(&v1).unwrap();
        memory.accept(&v2).unwrap();
        memory.note_ended(&share, id, 2);
        memory.note_ended(&share, id, 5);
        let restored = VersionMemory::from_bytes(&memory.to_bytes().unwrap()).unwrap();
        assert_eq!(restored.key_gen(&id), 2);
        assert_eq!(
            restored.ended_after(&share),
            Some(2),
            "the first sighting counts"
        );
        assert!(matches!(
            restored.check(&stale),
            Err(ClientError::Protocol(sharelock_core::Error::Envelope(
                sharelock_core::envelope::EnvelopeError::KeyRollback { seen: 2, got: 1 }
            )))
        ));
        let mut forgetful = restored.clone();
        forgetful.forget(&id);
        assert_eq!(forgetful.ended_after(&share), None);
        // A memory saved before key generations were kept still loads.
        let old = format!(
            "{{\"format\":1,\"records\":{{\"{id}\":{{\"version\":2,\"hash\":\"{}\"}}}}}}",
            b64u(&v2.hash())
        );
        let loaded = VersionMemory::from_bytes(old.as_bytes()).unwrap();
        assert_eq!(loaded.highest(&id), Some((2, v2.hash())));
        assert_eq!(loaded.key_gen(&id), 0);
    }
}
