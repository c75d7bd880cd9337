//! The Sharelock protocol and its cryptography, with no network or database code.
//!
//! Everything a client or the server must agree on lives here, exactly as `docs/protocol.md` specifies:
//! account keys ([`account`]), the record model ([`record`]) and its sealed versions ([`envelope`]), share
//! links and the keys derived from them ([`share`]), the recipient's device key ([`device`]) and signed
//! requests ([`httpsig`]), encrypted file streams ([`stream`]), one-time codes ([`totp`]) and webhook
//! signatures ([`webhook`]).
//!
//! Primitives come from aws-lc-rs (AES-256-GCM, HKDF, HMAC, SHA-256, ECDSA P-256) and the `argon2` crate;
//! the choice and its benchmark are in `docs/benchmarks.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod account;
pub mod attribution;
pub mod crypto;
pub mod device;
pub mod encoding;
pub mod envelope;
mod error;
pub mod httpsig;
pub mod passphrase;
pub mod preface;
pub mod record;
pub mod request;
pub mod share;
pub mod stream;
pub mod totp;
pub mod webhook;

pub use error::Error;
