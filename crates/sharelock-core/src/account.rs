//! Account keys (docs/protocol.md §2) and record keys (§3.1).
//!
//! - The master key MK is Argon2id of the password. Argon2id because it is the memory-hard function RFC 9106
//!   recommends; m = 64 MiB, t = 3, p = 4 is RFC 9106's second recommended option, the strongest one a
//!   phone or a browser tab can run in well under a second. The parameters are stored per account so they
//!   can be raised, and a client refuses anything weaker than the default, so a compromised server cannot
//!   downgrade a login to a cheap hash; it also refuses absurdly large values, so a server cannot make a
//!   client allocate without bound.
//! - The Argon2 salt is `H("sharelock/v1/kdf-salt" ‖ email ‖ r16)`: r16 makes it unique even if an account
//!   is deleted and its email registered again, the email makes a server that serves one account's r16 for
//!   another email produce an unrelated key, and the hash gives every client the same 32-byte salt.
//! - AK and WK are separate HKDF outputs of MK, so the login proof AK the server sees says nothing about the
//!   wrapping key WK. The server keeps only `H(AK)`: AK is already a stretched, 256-bit key, so a fast hash
//!   is enough and the unauthenticated login path costs the server nothing.
//! - The data key DK is random rather than derived, so a password change rewraps one key instead of
//!   re-encrypting the vault. Record keys RK_k are random per record and key generation, wrapped by DK
//!   for the owner and by each share's SK for its recipient.
//!
//! Argon2id runs with the `argon2` crate's `parallel` feature: the four lanes of a slice are independent by
//! the algorithm's design (RFC 9106 §3.4), the crate checks at run time that a lane never borrows another
//! lane's blocks of the current slice, and the output is identical to the sequential computation (the RFC
//! test vector below checks it). On the reference 2-core machine one default derivation takes about 140 ms
//! with lanes in parallel and about 200 ms without (release build).

use crate::crypto::{self, AadKind, KEY_LEN, Key32, sha256, sha256_parts};
use crate::encoding::Id;
use crate::error::{Error, Result};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

/// Declares a 32-byte secret key type: no Clone, no Serialize, a Debug that prints only the type name,
/// wiped on drop (the inner [`Key32`] zeroizes itself).
macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(pub(crate) $crate::crypto::Key32);

        impl $name {
            /// Wraps raw key bytes: a key loaded from storage, or a fixed key in test vectors.
            pub fn from_bytes(bytes: [u8; $crate::crypto::KEY_LEN]) -> Self {
                Self($crate::crypto::Key32::from_bytes(bytes))
            }

            /// The raw key bytes. Never log them, and never store them outside a sealed box.
            pub fn expose(&self) -> &[u8; $crate::crypto::KEY_LEN] {
                self.0.expose()
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}
pub(crate) use key_type;

/// Argon2id cost parameters, stored per account (`{"alg":"argon2id","m":…,"t":…,"p":…}` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes (degree of parallelism).
    pub p: u32,
}

impl KdfParams {
    /// The default and the floor for memory: 64 MiB.
    pub const MIN_M: u32 = 65_536;
    /// The largest memory a client agrees to spend: 1 GiB.
    pub const MAX_M: u32 = 1_048_576;
    /// The default and the floor for passes.
    pub const MIN_T: u32 = 3;
    /// The most passes a client agrees to run.
    pub const MAX_T: u32 = 16;
    /// The most lanes a client agrees to use.
    pub const MAX_P: u32 = 16;

    /// m = 64 MiB, t = 3, p = 4: RFC 9106's second recommended option. Also the fixed parameters of a link
    /// passphrase in link version 1.
    pub const DEFAULT: KdfParams = KdfParams {
        m: Self::MIN_M,
        t: Self::MIN_T,
        p: 4,
    };

    /// Refuses parameters a client must not use: weaker than the default (a downgrade by a compromised
    /// server) or large enough to exhaust the client.
    pub fn check_for_client(&self) -> Result<()> {
        if self.m < Self::MIN_M {
            return Err(Error::KdfParams(format!(
                "memory {} KiB is below the minimum {} KiB",
                self.m,
                Self::MIN_M
            )));
        }
        if self.m > Self::MAX_M {
            return Err(Error::KdfParams(format!(
                "memory {} KiB is above the maximum {} KiB",
                self.m,
                Self::MAX_M
            )));
        }
        if self.t < Self::MIN_T {
            return Err(Error::KdfParams(format!(
                "{} passes is below the minimum {}",
                self.t,
                Self::MIN_T
            )));
        }
        if self.t > Self::MAX_T {
            return Err(Error::KdfParams(format!(
                "{} passes is above the maximum {}",
                self.t,
                Self::MAX_T
            )));
        }
        if self.p < 1 || self.p > Self::MAX_P {
            return Err(Error::KdfParams(format!(
                "{} lanes is outside 1..={}",
                self.p,
                Self::MAX_P
            )));
        }
        Ok(())
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Argon2id, version 0x13, 32-byte tag. The memory matrix is allocated fallibly (a failed allocation is an
/// error, not an abort) and wiped before it is freed.
pub(crate) fn argon2id(password: &[u8], salt: &[u8], params: &KdfParams) -> Result<Key32> {
    let p = Params::new(params.m, params.t, params.p, Some(KEY_LEN))
        .map_err(|e| Error::KdfParams(format!("argon2: {e}")))?;
    let ctx = Argon2::new(Algorithm::Argon2id, Version::V0x13, p.clone());
    let blocks_len = p.block_count();
    let mut blocks: Vec<Block> = Vec::new();
    blocks
        .try_reserve_exact(blocks_len)
        .map_err(|_| Error::KdfParams(format!("cannot allocate {} KiB", params.m)))?;
    blocks.resize(blocks_len, Block::new());
    let mut out = [0u8; KEY_LEN];
    let result = ctx.hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..]);
    blocks.zeroize();
    let key = result
        .map(|()| Key32::from_bytes(out))
        .map_err(|e| Error::KdfParams(format!("argon2: {e}")));
    out.zeroize();
    key
}

/// The account's email as it enters the salt: Unicode NFC, then ASCII `A`–`Z` mapped to `a`–`z` (no other
/// case folding, which would differ between Unicode versions). Not trimmed.
pub fn normalize_email(email: &str) -> String {
    let mut out: String = email.nfc().collect();
    out.make_ascii_lowercase();
    out
}

/// The shortest master password a client accepts for a new account or a password change, in characters
/// (Unicode scalar values of its NFC form): the vault is only as strong as it (docs/security.md).
pub const MIN_MASTER_PASSWORD_CHARS: usize = 10;

/// Refuses a new master password shorter than [`MIN_MASTER_PASSWORD_CHARS`] (`too_short`). Logging in
/// with an existing one is never refused for its length.
pub fn check_new_master_password(password: &str) -> Result<()> {
    crate::passphrase::check_length("master password", password, MIN_MASTER_PASSWORD_CHARS)
}

/// A password or passphrase as it enters Argon2id: Unicode NFC, never trimmed (a space is part of it).
pub fn normalize_secret_text(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.nfc().collect())
}

/// The Argon2id salt of an account: `H("sharelock/v1/kdf-salt" ‖ UTF-8(email_n) ‖ r16)`.
pub fn kdf_salt(email: &str, r16: &[u8; 16]) -> [u8; 32] {
    let email_n = normalize_email(email);
    sha256_parts(&[b"sharelock/v1/kdf-salt", email_n.as_bytes(), r16])
}

key_type!(
    /// MK: Argon2id of the password. Only ever used to derive [`AuthKey`] and [`WrapKey`].
    MasterKey
);
key_type!(
    /// AK: the login proof, sent to the server, which stores only its SHA-256 ([`auth_hash`]).
    AuthKey
);
key_type!(
    /// WK: wraps the data key; never leaves the client.
    WrapKey
);
key_type!(
    /// DK: the vault's random data key. Wraps record keys and the owner's copy of share secrets.
    DataKey
);
key_type!(
    /// K_own: authenticates versions the owner writes (`owner_tag`, docs/protocol.md §3.2).
    OwnerKey
);
key_type!(
    /// RK_k: the random key of one record's key generation `k`; seals that generation's versions.
    RecordKey
);

impl MasterKey {
    /// Derives MK from the password, the account's email and r16, after refusing parameters a client must
    /// not accept ([`KdfParams::check_for_client`]). Costs one Argon2id run (about 0.15 s by default).
    pub fn derive(password: &str, email: &str, r16: &[u8; 16], params: &KdfParams) -> Result<Self> {
        params.check_for_client()?;
        let password = normalize_secret_text(password);
        let salt = kdf_salt(email, r16);
        argon2id(password.as_bytes(), &salt, params).map(MasterKey)
    }

    /// `AK = HKDF(MK, "sharelock/v1/auth")`.
    pub fn auth_key(&self) -> AuthKey {
        AuthKey(crypto::hkdf(self.0.expose(), &[b"sharelock/v1/auth"]))
    }

    /// `WK = HKDF(MK, "sharelock/v1/wrap")`.
    pub fn wrap_key(&self) -> WrapKey {
        WrapKey(crypto::hkdf(self.0.expose(), &[b"sharelock/v1/wrap"]))
    }
}

impl AuthKey {
    /// `H(AK)`, what the server stores.
    pub fn auth_hash(&self) -> [u8; 32] {
        auth_hash(self.0.expose())
    }
}

/// `H(AK)` of a login proof received by the server.
pub fn auth_hash(auth_key: &[u8]) -> [u8; 32] {
    sha256(auth_key)
}

/// Checks a received login proof against the stored `H(AK)` in constant time. A proof that is not 32 bytes
/// never matches.
pub fn verify_auth_key(auth_key: &[u8], stored_hash: &[u8]) -> bool {
    auth_key.len() == KEY_LEN && crypto::ct_eq(&auth_hash(auth_key), stored_hash)
}

pub(crate) fn data_key_aad(r16: &[u8; 16]) -> Vec<u8> {
    crypto::aad(AadKind::DataKey, &[r16])
}

pub(crate) fn record_key_aad(record_id: &Id, k: u64) -> Vec<u8> {
    crypto::aad(
        AadKind::RecordKey,
        &[record_id.as_bytes(), &k.to_be_bytes()],
    )
}

impl WrapKey {
    /// `AEAD(WK, DK, AAD("data-key", r16))`, stored by the server as the account's wrapped data key.
    pub fn wrap_data_key(&self, dk: &DataKey, r16: &[u8; 16]) -> Result<Vec<u8>> {
        crypto::wrap_key(&self.0, &dk.0, &data_key_aad(r16))
    }

    /// Opens the wrapped data key; fails with [`Error::Decrypt`] on a wrong password (WK), another
    /// account's r16 or any change to the box.
    pub fn unwrap_data_key(&self, wrapped: &[u8], r16: &[u8; 16]) -> Result<DataKey> {
        crypto::unwrap_key(&self.0, wrapped, &data_key_aad(r16)).map(DataKey)
    }
}

impl DataKey {
    /// A fresh random data key, made once at registration.
    pub fn generate() -> Result<Self> {
        Key32::random().map(DataKey)
    }

    /// `K_own = HKDF(DK, "sharelock/v1/owner-auth")`.
    pub fn owner_key(&self) -> OwnerKey {
        OwnerKey(crypto::hkdf(self.0.expose(), &[b"sharelock/v1/owner-auth"]))
    }
}

impl RecordKey {
    /// A fresh random record key, made for a new record and at every rotation.
    pub fn generate() -> Result<Self> {
        Key32::random().map(RecordKey)
    }

    /// `AEAD(DK, RK_k, AAD("record-key", record_id ‖ u64(k)))`: the owner's copy.
    pub fn wrap_for_owner(&self, dk: &DataKey, record_id: &Id, k: u64) -> Result<Vec<u8>> {
        crypto::wrap_key(&dk.0, &self.0, &record_key_aad(record_id, k))
    }

    /// Opens the owner's copy of `RK_k`.
    pub fn unwrap_for_owner(dk: &DataKey, wrapped: &[u8], record_id: &Id, k: u64) -> Result<Self> {
        crypto::unwrap_key(&dk.0, wrapped, &record_key_aad(record_id, k)).map(RecordKey)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .unwrap()
    }

    /// RFC 9106 §5.3: Argon2id version 0x13 with secret and associated data, through the same crate and
    /// features (lanes in parallel) the protocol uses.
    #[test]
    fn argon2id_matches_rfc9106_section_5_3() {
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .data(argon2::AssociatedData::new(&[0x04; 12]).unwrap())
            .output_len(32)
            .build()
            .unwrap();
        let secret = [0x03; 8];
        let ctx =
            Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
        let mut out = [0u8; 32];
        ctx.hash_password_into(&[0x01; 32], &[0x02; 16], &mut out)
            .unwrap();
        assert_eq!(
            out.to_vec(),
            hex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
        );
    }

    /// Our own wrapper (fallible allocation, wiped memory) agrees with the crate's allocating path.
    #[test]
    fn argon2id_wrapper_matches_crate() {
        let params = KdfParams { m: 64, t: 1, p: 2 };
        let ours = argon2id(b"password", &[9; 16], &params).unwrap();
        let ctx = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 2, Some(32)).unwrap(),
        );
        let mut out = [0u8; 32];
        ctx.hash_password_into(b"password", &[9; 16], &mut out)
            .unwrap();
        assert_eq!(ours.expose(), &out);
    }

    #[test]
    fn client_refuses_weak_and_huge_parameters() {
        assert!(KdfParams::DEFAULT.check_for_client().is_ok());
        assert!(
            KdfParams {
                m: 1_048_576,
                t: 16,
                p: 16
            }
            .check_for_client()
            .is_ok()
        );
        for bad in [
            KdfParams {
                m: 65_535,
                t: 3,
                p: 4,
            },
            KdfParams {
                m: 1_048_577,
                t: 3,
                p: 4,
            },
            KdfParams {
                m: 65_536,
                t: 2,
                p: 4,
            },
            KdfParams {
                m: 65_536,
                t: 17,
                p: 4,
            },
            KdfParams {
                m: 65_536,
                t: 3,
                p: 0,
            },
            KdfParams {
                m: 65_536,
                t: 3,
                p: 17,
            },
        ] {
            assert!(
                matches!(bad.check_for_client(), Err(Error::KdfParams(_))),
                "{bad:?}"
            );
            assert!(matches!(
                MasterKey::derive("pw", "a@b", &[0; 16], &bad),
                Err(Error::KdfParams(_))
            ));
        }
    }

    #[test]
    fn email_and_password_normalisation() {
        // "É" decomposed (E + U+0301) composes, then only ASCII is lowercased: "é" stays, "É" stays upper.
        assert_eq!(
            normalize_email("Ada.E\u{301}@Example.ORG"),
            "ada.\u{c9}@example.org"
        );
        assert_eq!(normalize_email(" x@y "), " x@y ", "never trimmed");
        assert_eq!(normalize_secret_text("pa\u{301}ss ").as_str(), "p\u{e1}ss ");
        assert_eq!(kdf_salt("A@B", &[1; 16]), kdf_salt("a@b", &[1; 16]));
        assert_ne!(kdf_salt("a@b", &[1; 16]), kdf_salt("a@b", &[2; 16]));
    }

    #[test]
    fn subkeys_are_distinct_and_hash_verifies() {
        let mk = MasterKey::from_bytes([5; 32]);
        let ak = mk.auth_key();
        let wk = mk.wrap_key();
        assert_ne!(ak.expose(), wk.expose());
        assert_eq!(ak.auth_hash(), sha256(ak.expose()));
        assert!(verify_auth_key(ak.expose(), &ak.auth_hash()));
        assert!(!verify_auth_key(wk.expose(), &ak.auth_hash()));
        assert!(!verify_auth_key(
            &ak.expose()[..31],
            &sha256(&ak.expose()[..31])
        ));
        assert_eq!(format!("{mk:?} {ak:?}"), "MasterKey(..) AuthKey(..)");
    }

    #[test]
    fn data_key_and_record_key_wraps() {
        let wk = WrapKey::from_bytes([1; 32]);
        let dk = DataKey::generate().unwrap();
        let wrapped = wk.wrap_data_key(&dk, &[7; 16]).unwrap();
        assert_eq!(wrapped.len(), 60);
        assert_eq!(
            wk.unwrap_data_key(&wrapped, &[7; 16]).unwrap().expose(),
            dk.expose()
        );
        assert_eq!(
            wk.unwrap_data_key(&wrapped, &[8; 16]).unwrap_err(),
            Error::Decrypt
        );
        assert_eq!(
            WrapKey::from_bytes([2; 32])
                .unwrap_data_key(&wrapped, &[7; 16])
                .unwrap_err(),
            Error::Decrypt
        );

        let rk = RecordKey::generate().unwrap();
        let id = Id::from_bytes([3; 16]);
        let w = rk.wrap_for_owner(&dk, &id, 2).unwrap();
        assert_eq!(
            RecordKey::unwrap_for_owner(&dk, &w, &id, 2)
                .unwrap()
                .expose(),
            rk.expose()
        );
        assert!(RecordKey::unwrap_for_owner(&dk, &w, &id, 3).is_err());
        assert!(RecordKey::unwrap_for_owner(&dk, &w, &Id::from_bytes([4; 16]), 2).is_err());
        assert_ne!(dk.owner_key().expose(), dk.expose());
    }

    proptest::proptest! {
        /// Any single-bit change of a wrapped key (nonce, ciphertext or tag) is refused.
        #[test]
        fn wrapped_keys_refuse_any_bit_flip(bit in 0usize..60 * 8, key in proptest::prelude::any::<[u8; 32]>()) {
            let wk = WrapKey::from_bytes([1; 32]);
            let dk = DataKey::from_bytes(key);
            let mut wrapped = wk.wrap_data_key(&dk, &[7; 16]).unwrap();
            wrapped[bit / 8] ^= 1 << (bit % 8);
            proptest::prop_assert_eq!(wk.unwrap_data_key(&wrapped, &[7; 16]).unwrap_err(), Error::Decrypt);

            let id = Id::from_bytes([3; 16]);
            let mut w = RecordKey::from_bytes(key).wrap_for_owner(&dk, &id, 1).unwrap();
            w[bit / 8] ^= 1 << (bit % 8);
            proptest::prop_assert_eq!(RecordKey::unwrap_for_owner(&dk, &w, &id, 1).unwrap_err(), Error::Decrypt);
        }
    }

    #[test]
    fn master_key_derivation_is_deterministic_and_normalised() {
        let a = MasterKey::derive(
            "pa\u{301}ss",
            "Ada@Example.org",
            &[1; 16],
            &KdfParams::DEFAULT,
        )
        .unwrap();
        let b = MasterKey::derive(
            "p\u{e1}ss",
            "ada@example.org",
            &[1; 16],
            &KdfParams::DEFAULT,
        )
        .unwrap();
        assert_eq!(a.expose(), b.expose());
    }
}
