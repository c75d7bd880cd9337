//! Anti-rollback memory (docs/protocol.md §3.2): the highest `(version, H(envelope))` the owner's client
//! has accepted as current, per record. A malicious server could otherwise replay an old version (an old
//! password) as current. The CLI keeps this in its home directory; it holds no secret.

use crate::error::{ClientError, Result};
use serde::{Deserialize, Serialize};
use sharelock_core::encoding::{b64u, b64u_decode_array};
use sharelock_core::envelope::{Envelope, VersionGuard};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The highest version seen of every record, with [`VersionGuard`]'s rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMemory {
    guards: BTreeMap<Uuid, VersionGuard>,
    changed: bool,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    records: BTreeMap<Uuid, SavedVersion>,
}

#[derive(Serialize, Deserialize)]
struct SavedVersion {
    version: u64,
    hash: String,
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
        let before = guard.highest();
        guard.accept(envelope).map_err(ClientError::Protocol)?;
        if guard.highest() != before {
            self.changed = true;
        }
        Ok(())
    }

    /// Forgets a record (after it was deleted).
    pub fn forget(&mut self, record: &Uuid) {
        if self.guards.remove(record).is_some() {
            self.changed = true;
        }
    }

    /// The highest `(version, H(envelope))` accepted for `record`.
    pub fn highest(&self, record: &Uuid) -> Option<(u64, [u8; 32])> {
        self.guards.get(record).and_then(VersionGuard::highest)
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
                        },
                    )
                })
            })
            .collect();
        serde_json::to_vec_pretty(&Saved { format: 1, records })
            .map_err(|e| ClientError::State(format!("cannot encode the version memory: {e}")))
    }

    /// Reads what [`VersionMemory::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let damaged =
            |why: String| ClientError::State(format!("the version memory is damaged: {why}"));
        let saved: Saved = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
        if saved.format != 1 {
            return Err(damaged(format!("unknown format {}", saved.format)));
        }
        let mut guards = BTreeMap::new();
        for (id, v) in saved.records {
            let hash = b64u_decode_array::<32>("version hash", &v.hash)
                .map_err(|e| damaged(e.to_string()))?;
            guards.insert(id, VersionGuard::resume(v.version, hash));
        }
        Ok(VersionMemory {
            guards,
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
        assert!(VersionMemory::from_bytes(b"{\"format\":2,\"records\":{}}").is_err());
    }
}
