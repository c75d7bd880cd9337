//! Encrypted file streams, stored as numbered parts through `object_store` (local directory or any
//! S3-compatible service). The server only ever sees ciphertext here.
