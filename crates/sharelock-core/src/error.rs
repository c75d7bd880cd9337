use thiserror::Error;

/// Every way a protocol operation can fail. Messages never contain key material or plaintext.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A sealed box or stream chunk did not authenticate: wrong key, wrong associated data or tampering.
    #[error("decryption failed: wrong key or the data was altered")]
    Decrypt,
    /// Input bytes do not have the expected structure.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// The kind of input (a link, an envelope, a signature header…).
        what: &'static str,
        /// What is wrong with it, naming no secret.
        why: String,
    },
    /// Input exceeds a protocol size limit.
    #[error("{what} is too large ({size} bytes, limit {limit})")]
    TooLarge {
        /// The kind of input.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A record body or summary failed validation (docs/protocol.md §3.3).
    #[error("invalid record: {0}")]
    Record(#[from] crate::record::RecordError),
    /// A version envelope is malformed or is not the version expected (docs/protocol.md §3.2).
    #[error("invalid version envelope: {0}")]
    Envelope(#[from] crate::envelope::EnvelopeError),
    /// A share link is malformed (docs/protocol.md §4.2).
    #[error("invalid share link: {0}")]
    Link(#[from] crate::share::LinkError),
    /// A share preface is malformed (docs/protocol.md §4.6).
    #[error("invalid share preface: {0}")]
    Preface(crate::preface::PrefaceError),
    /// A new password or passphrase is shorter than clients accept (counted in Unicode scalar values of its
    /// NFC form).
    #[error("the {what} is shorter than {min} characters")]
    TooShort {
        /// `"share passphrase"` or `"master password"`.
        what: &'static str,
        /// The minimum.
        min: usize,
    },
    /// Key derivation parameters are outside what clients accept.
    #[error("unacceptable key derivation parameters: {0}")]
    KdfParams(String),
    /// A signature, MAC or commitment did not verify.
    #[error("{0} did not verify")]
    Verify(&'static str),
    /// A signed request is outside the accepted time window.
    #[error("signature time is outside the accepted window")]
    Stale,
    /// The file stream ended before its final chunk.
    #[error("file stream is truncated")]
    Truncated,
    /// Reading or writing failed (only `stream`'s std::io helpers do I/O).
    #[error("i/o error: {0}")]
    Io(std::io::ErrorKind),
    /// The operating system's random source failed.
    #[error("random number generator failed")]
    Random,
}

impl Error {
    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            why: why.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
