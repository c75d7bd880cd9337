//! Writes the seeds (protocol vectors, one valid body per API request type) into `<dir>/<target>/`, named
//! each named by the first 16 hex digits of its SHA-256.
//! Usage: `cargo run -p sharelock-fuzz --example seed-corpus -- fuzz/corpus`
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: seed-corpus <dir>"));
    for (target, data) in sharelock_fuzz::seeds() {
        // Huge seeds (size-limit cases) stay in memory only: the replay test runs them anyway.
        if data.len() > 64 * 1024 {
            continue;
        }
        let name = data_encoding::HEXLOWER.encode(&sharelock_core::crypto::sha256(&data)[..8]);
        let dir = dir.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), &data).unwrap();
    }
}
