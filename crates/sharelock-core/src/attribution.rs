//! Who wrote a version, as the owner's client establishes it (docs/protocol.md §7.5).
//!
//! The server says who wrote each version and lists the owner's shares, but its word counts for nothing by
//! itself: an owner version must carry an HMAC only DK's holder can make; a recipient version must be
//! signed by a device whose bind tag only a holder of the link's S′ can make, through a share whose owner
//! secret opens as an **editable share of this very record** (the facts sealed at creation, [`ShareGrant`]),
//! and which this client does not remember as ended before that version. Anything else is an unverified
//! change, with the [`Unattributed`] reason.
//!
//! [`attribute`] is pure: the caller matches the envelope's record id, version and generation against what
//! the server states, finds the listed share the server names, and looks up its own memory of ended shares.

use crate::account::DataKey;
use crate::device::{DevicePublicKey, fingerprint};
use crate::encoding::Id;
use crate::envelope::{Author, Envelope};
use crate::share::{ShareFacts, ShareGrant, ShareId, ShareKeys};

/// A share as the server lists it to its owner: only what the checks use.
#[derive(Debug, Clone, Copy)]
pub struct ListedShare<'a> {
    /// The listed share id (`ShareInfo.share_id`).
    pub share_id: ShareId,
    /// The owner's sealed `S ‖ S′` (`ShareInfo.owner_secret`).
    pub owner_secret: &'a [u8],
    /// The bound device's public key, once opened.
    pub device_key: Option<&'a [u8]>,
    /// The device's bind tag, once opened.
    pub bind_tag: Option<&'a [u8]>,
}

/// Who the server says wrote a version.
#[derive(Debug, Clone, Copy)]
pub enum ServerAuthor<'a> {
    /// `{"kind": "owner"}`.
    Owner,
    /// `{"kind": "share", "share": handle}`, with the listed share of that handle (`None`: not listed).
    Share(Option<ListedShare<'a>>),
}

/// An established author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// The owner tag verifies: this account wrote it.
    Owner,
    /// Signed by the device bound to an editable share of this record, whose bind tag verifies.
    Recipient {
        /// The device's fingerprint (docs/protocol.md §4.3), computed from its key.
        fingerprint: String,
    },
}

/// Why a version could not be attributed. [`Unattributed::kind`] gives the stable name the test vectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unattributed {
    /// The envelope's author and the server's disagree (owner against a share).
    #[error("the server's author does not match the version's")]
    AuthorMismatch,
    /// An owner version whose owner tag does not verify.
    #[error("the owner tag does not verify")]
    OwnerTag,
    /// The server names a share its listing does not hold.
    #[error("written through a share that is not listed")]
    UnknownShare,
    /// The listed share's id is not the share id the envelope names.
    #[error("the version names another share than the server says")]
    WrongShare,
    /// The share's owner secret does not open as a share of this record (another record's share, another
    /// share's box, or a damaged one).
    #[error("the share's sealed facts do not make it a share of this record")]
    ShareFacts,
    /// The share was created before share facts were authenticated: its editability is the server's word.
    #[error(
        "the share was created before its facts were authenticated, so its editability is unproven"
    )]
    LegacyShare,
    /// The share's sealed facts say it is read-only.
    #[error("written through a read-only share")]
    ReadOnly,
    /// This client remembers the share as ended before this version.
    #[error("written through a share that had ended (after version {ended_after})")]
    ShareEnded {
        /// The record's version when this client learnt that the share ended.
        ended_after: u64,
    },
    /// No device key or bind tag: the share was never opened.
    #[error("written through a share no device has opened")]
    NotOpened,
    /// The device's bind tag does not verify under the share's BK.
    #[error("the device's bind tag does not verify")]
    BindTag,
    /// The device key is not a P-256 point.
    #[error("the device key is not a valid public key")]
    BadDeviceKey,
    /// The version's proof is not the device's signature over it.
    #[error("the device signature does not verify")]
    EditSignature,
}

impl Unattributed {
    /// The stable name of this reason in the test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            Unattributed::AuthorMismatch => "author_mismatch",
            Unattributed::OwnerTag => "owner_tag",
            Unattributed::UnknownShare => "unknown_share",
            Unattributed::WrongShare => "wrong_share",
            Unattributed::ShareFacts => "share_facts",
            Unattributed::LegacyShare => "legacy_share",
            Unattributed::ReadOnly => "read_only",
            Unattributed::ShareEnded { .. } => "share_ended",
            Unattributed::NotOpened => "not_opened",
            Unattributed::BindTag => "bind_tag",
            Unattributed::BadDeviceKey => "bad_device_key",
            Unattributed::EditSignature => "edit_signature",
        }
    }
}

/// Establishes who wrote `envelope` (a version of `record_id`, with `proof`), in the order of
/// docs/protocol.md §7.5. `ended_after` is this client's memory for the envelope's share: the record's
/// version when it learnt that the share ended, if it did.
pub fn attribute(
    dk: &DataKey,
    record_id: &Id,
    envelope: &Envelope,
    proof: &[u8],
    author: ServerAuthor<'_>,
    ended_after: Option<u64>,
) -> Result<Attribution, Unattributed> {
    match (envelope.header.author, author) {
        (Author::Owner, ServerAuthor::Owner) => envelope
            .verify_owner_tag(&dk.owner_key(), proof)
            .map(|()| Attribution::Owner)
            .map_err(|_| Unattributed::OwnerTag),
        (Author::Share(share_id), ServerAuthor::Share(listed)) => {
            let share = listed.ok_or(Unattributed::UnknownShare)?;
            attribute_recipient(
                dk,
                record_id,
                envelope,
                proof,
                &share_id,
                &share,
                ended_after,
            )
        }
        _ => Err(Unattributed::AuthorMismatch),
    }
}

fn attribute_recipient(
    dk: &DataKey,
    record_id: &Id,
    envelope: &Envelope,
    proof: &[u8],
    share_id: &ShareId,
    share: &ListedShare<'_>,
    ended_after: Option<u64>,
) -> Result<Attribution, Unattributed> {
    if share.share_id != *share_id {
        return Err(Unattributed::WrongShare);
    }
    let keys =
        match ShareKeys::open_owner_secret_of(dk, share.owner_secret, share_id, record_id, true) {
            Ok((keys, ShareFacts::Granted(ShareGrant { editable: true, .. }))) => keys,
            Ok((_, ShareFacts::Granted(_))) => return Err(Unattributed::ReadOnly),
            Ok((_, ShareFacts::Legacy)) => return Err(Unattributed::LegacyShare),
            // Another record's share, another share's box, or a damaged one.
            Err(_) => return Err(Unattributed::ShareFacts),
        };
    if let Some(ended_after) = ended_after
        && envelope.header.v > ended_after
    {
        return Err(Unattributed::ShareEnded { ended_after });
    }
    let (Some(device_key), Some(bind_tag)) = (share.device_key, share.bind_tag) else {
        return Err(Unattributed::NotOpened);
    };
    keys.bind_key()
        .verify_bind_tag(share_id, device_key, bind_tag)
        .map_err(|_| Unattributed::BindTag)?;
    let device = DevicePublicKey::from_sec1(device_key).map_err(|_| Unattributed::BadDeviceKey)?;
    envelope
        .verify_edit(&device, proof)
        .map_err(|_| Unattributed::EditSignature)?;
    Ok(Attribution::Recipient {
        fingerprint: fingerprint(device_key),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::account::RecordKey;
    use crate::device::DeviceKey;
    use crate::envelope::VersionHeader;
    use crate::record::{RecordBody, RecordType};
    use crate::share::LinkSecret;

    struct World {
        dk: DataKey,
        record: Id,
        keys: ShareKeys,
        device: DeviceKey,
        v1: Envelope,
        v2: Envelope,
        signature: [u8; 64],
    }

    fn world() -> World {
        let dk = DataKey::from_bytes([1; 32]);
        let record = Id::from_bytes([2; 16]);
        let keys = ShareKeys::derive(LinkSecret::from_bytes([3; 32]), None).unwrap();
        let rk = RecordKey::from_bytes([4; 32]);
        let body = RecordBody::new(RecordType::Note, "n");
        let v1 = Envelope::seal(&rk, VersionHeader::first(record, Author::Owner), &body).unwrap();
        let v2 = Envelope::seal(
            &rk,
            VersionHeader::next(&v1, 1, Author::Share(keys.share_id())),
            &body,
        )
        .unwrap();
        let device = DeviceKey::generate().unwrap();
        let signature = v2.sign_edit(&device).unwrap();
        World {
            dk,
            record,
            keys,
            device,
            v1,
            v2,
            signature,
        }
    }

    fn run(
        w: &World,
        editable: bool,
        grant_record: Id,
        ended_after: Option<u64>,
    ) -> Result<Attribution, Unattributed> {
        let sealed = w
            .keys
            .seal_owner_secret(
                &w.dk,
                &ShareGrant {
                    record_id: grant_record,
                    editable,
                },
            )
            .unwrap();
        let tag = w
            .keys
            .bind_key()
            .bind_tag(&w.keys.share_id(), w.device.public_key());
        let listed = ListedShare {
            share_id: w.keys.share_id(),
            owner_secret: &sealed,
            device_key: Some(w.device.public_key()),
            bind_tag: Some(&tag),
        };
        attribute(
            &w.dk,
            &w.record,
            &w.v2,
            &w.signature,
            ServerAuthor::Share(Some(listed)),
            ended_after,
        )
    }

    #[test]
    fn recipient_versions_need_an_editable_live_share_of_this_record() {
        let w = world();
        assert!(matches!(
            run(&w, true, w.record, None),
            Ok(Attribution::Recipient { .. })
        ));
        assert_eq!(run(&w, false, w.record, None), Err(Unattributed::ReadOnly));
        assert_eq!(
            run(&w, true, Id::from_bytes([9; 16]), None),
            Err(Unattributed::ShareFacts)
        );
        assert_eq!(
            run(&w, true, w.record, Some(1)),
            Err(Unattributed::ShareEnded { ended_after: 1 })
        );
        // A version the client had already seen before the share ended stays attributed.
        assert!(run(&w, true, w.record, Some(2)).is_ok());
    }

    #[test]
    fn owner_versions_and_mismatched_authors() {
        let w = world();
        let tag = w.v1.owner_tag(&w.dk.owner_key());
        assert_eq!(
            attribute(&w.dk, &w.record, &w.v1, &tag, ServerAuthor::Owner, None),
            Ok(Attribution::Owner)
        );
        assert_eq!(
            attribute(&w.dk, &w.record, &w.v1, &[0; 32], ServerAuthor::Owner, None),
            Err(Unattributed::OwnerTag)
        );
        assert_eq!(
            attribute(
                &w.dk,
                &w.record,
                &w.v1,
                &tag,
                ServerAuthor::Share(None),
                None
            ),
            Err(Unattributed::AuthorMismatch)
        );
        assert_eq!(
            attribute(
                &w.dk,
                &w.record,
                &w.v2,
                &w.signature,
                ServerAuthor::Share(None),
                None
            ),
            Err(Unattributed::UnknownShare)
        );
    }
}
