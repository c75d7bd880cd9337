//! Large files go through the blob store in constant memory: a 256 MiB file written part by part and
//! read back as one stream raises this process's peak RSS no more than a 32 MiB file does (plus a
//! margin), on a local directory and on S3. One test in a binary of its own, so nothing else runs in
//! the process while its peak is measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use futures::StreamExt as _;
use sharelock_store::testing::s3;
use sharelock_store::{BlobStore, PartBlob};
use uuid::Uuid;

const MIB: u64 = 1024 * 1024;
/// The server's part size (sharelock_api::files::MAX_PART_BYTES).
const PART: u64 = 16 * MIB;

fn byte_at(part: u64, i: u64) -> u8 {
    (i ^ (i >> 8) ^ part.wrapping_mul(37)) as u8
}

fn make_part(part: u64) -> Bytes {
    Bytes::from((0..PART).map(|i| byte_at(part, i)).collect::<Vec<u8>>())
}

/// Writes a `size`-byte file in 16 MiB parts and reads it back as one stream, checking every byte.
async fn stream_through(blobs: &BlobStore, size: u64) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    let parts: Vec<PartBlob> = (0..size / PART)
        .map(|part| PartBlob {
            record,
            file,
            part: part as u32,
            write: Uuid::new_v4(),
        })
        .collect();
    for part in &parts {
        blobs
            .put_part(part, make_part(u64::from(part.part)))
            .await
            .expect("put part");
    }
    let mut stream = blobs.open(parts);
    let mut offset = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("read");
        for (k, byte) in chunk.iter().enumerate() {
            let at = offset + k as u64;
            assert_eq!(*byte, byte_at(at / PART, at % PART), "byte {at}");
        }
        offset += chunk.len() as u64;
    }
    assert_eq!(offset, size, "the whole file came back");
    blobs.delete_file(record, file).await.expect("delete");
}

/// Peak resident set size since the last reset, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// Resets the peak to the current RSS (Linux's clear_refs, value 5).
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

async fn peak_while(blobs: &BlobStore, size: u64) -> u64 {
    reset_peak_rss();
    stream_through(blobs, size).await;
    peak_rss()
}

#[test]
fn large_files_stream_in_constant_memory() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let local = BlobStore::local(dir.path().join("blobs")).expect("local");
        let bucket = s3::fresh_bucket().await;
        let remote = bucket.blob_store(Some("large"));
        for (name, blobs) in [("local", &local), ("s3", &remote)] {
            // Warm-up: the allocator and clients reach their working size.
            stream_through(blobs, 2 * PART).await;
            let small = peak_while(blobs, 32 * MIB).await;
            let large = peak_while(blobs, 256 * MIB).await;
            eprintln!(
                "{name}: peak RSS {} MiB streaming 32 MiB, {} MiB streaming 256 MiB",
                small / MIB,
                large / MIB
            );
            // Holding the file would add 224 MiB; a few parts in flight are allowed.
            assert!(
                large < small + 48 * MIB,
                "{name}: the peak grew with the file: {} MiB for 32 MiB, {} MiB for 256 MiB",
                small / MIB,
                large / MIB
            );
            assert!(
                large < 160 * MIB,
                "{name}: {} MiB peak for a 256 MiB file",
                large / MIB
            );
        }
    });
}
