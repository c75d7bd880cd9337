//! Core primitive benchmarks: `cargo bench -p sharelock-core` (results and method in docs/benchmarks.md).
//!
//! Groups: AES-256-GCM sealed boxes, file streams per chunk size, P-256 sign and verify, the server's whole
//! signed-request check, HKDF, and Argon2id at the default account parameters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use sharelock_core::account::{KdfParams, MasterKey};
use sharelock_core::crypto::{self, Key32};
use sharelock_core::device::{DeviceKey, DevicePublicKey};
use sharelock_core::encoding::Id;
use sharelock_core::httpsig::{self, ParsedSignature, RequestParts};
use sharelock_core::stream::{StreamDecryptor, StreamEncryptor};
use std::hint::black_box;
use std::time::Duration;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

fn aead(c: &mut Criterion) {
    let key = Key32::from_bytes([7; 32]);
    let ad = crypto::aad(crypto::AadKind::Record, &[&[1; 16]]);
    let mut g = c.benchmark_group("aes-256-gcm");
    for size in [KIB, 64 * KIB, MIB] {
        let plain = vec![0x5a; size];
        let sealed = crypto::seal(&key, &plain, &ad).unwrap();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("seal", size), &plain, |b, p| {
            b.iter(|| crypto::seal(&key, black_box(p), &ad).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("open", size), &sealed, |b, s| {
            b.iter(|| crypto::open(&key, black_box(s), &ad).unwrap())
        });
    }
    g.finish();
}

/// Plaintext per stream iteration, fed as 64 KiB reads (what a socket or file reader hands over).
const STREAM_LEN: usize = 16 * MIB;
const READ: usize = 64 * KIB;

fn stream(c: &mut Criterion) {
    let fk = Key32::from_bytes([9; 32]);
    let id = Id::from_bytes([3; 16]);
    let plain: Vec<u8> = (0..STREAM_LEN).map(|i| i as u8).collect();
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Bytes(STREAM_LEN as u64));
    g.sample_size(20);
    for cs in [16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB] {
        let cs32 = cs as u32;
        let mut out = Vec::with_capacity(2 * cs + READ);
        g.bench_function(BenchmarkId::new("encrypt", cs), |b| {
            b.iter(|| {
                let mut enc = StreamEncryptor::new(&fk, id, cs32).unwrap();
                let mut total = 0;
                for piece in plain.chunks(READ) {
                    out.clear();
                    enc.update_into(piece, &mut out).unwrap();
                    total += out.len();
                }
                total + enc.finish().unwrap().len()
            })
        });
        let mut blob = Vec::new();
        let mut enc = StreamEncryptor::new(&fk, id, cs32).unwrap();
        enc.update_into(&plain, &mut blob).unwrap();
        blob.extend(enc.finish().unwrap());
        g.bench_function(BenchmarkId::new("decrypt", cs), |b| {
            b.iter(|| {
                let mut dec = StreamDecryptor::new(&fk, id);
                let mut total = 0;
                for piece in blob.chunks(READ) {
                    out.clear();
                    dec.push_into(piece, &mut out).unwrap();
                    total += out.len();
                }
                total + dec.finish().unwrap().len()
            })
        });
    }
    g.finish();
}

const SHARE: &str = "AAECAwQFBgcICQoLDA0ODw";
const URI: &str = "https://share.example/api/v1/recipient/edit";

fn p256(c: &mut Criterion) {
    let key = DeviceKey::generate().unwrap();
    // Parsed once, as the server caches the bound key.
    let public = DevicePublicKey::from_sec1(key.public_key()).unwrap();
    let msg = [0x42u8; 300];
    let sig = key.sign(&msg).unwrap();
    let mut g = c.benchmark_group("p256");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| b.iter(|| key.sign(black_box(&msg)).unwrap()));
    g.bench_function("verify", |b| {
        b.iter(|| public.verify(black_box(&msg), &sig).unwrap())
    });
    g.bench_function("parse-public-key", |b| {
        b.iter(|| DevicePublicKey::from_sec1(black_box(key.public_key())).unwrap())
    });
    g.finish();

    // The server's whole check of a signed request with a small JSON body: parse both headers, check the
    // digest, rebuild the base, verify.
    let body = br#"{"base_version":3,"envelope":"AAAA","signature":"AAAA"}"#;
    let digest = httpsig::content_digest(body);
    let parts = RequestParts {
        method: "POST",
        target_uri: URI,
        share_header: SHARE,
        content_type: Some("application/json"),
        content_digest: Some(&digest),
    };
    let now = 1_767_225_600;
    let h = httpsig::sign(&key, &parts, now, [1; 16]).unwrap();
    let mut g = c.benchmark_group("signed-request");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify", |b| {
        b.iter(|| {
            let parsed =
                ParsedSignature::parse(black_box(&h.signature_input), &h.signature).unwrap();
            httpsig::verify_content_digest(&digest, body).unwrap();
            parsed.verify(&public, &parts, now).unwrap();
        })
    });
    g.bench_function("parse-only", |b| {
        b.iter(|| ParsedSignature::parse(black_box(&h.signature_input), &h.signature).unwrap())
    });
    g.finish();
}

fn kdf(c: &mut Criterion) {
    let mut g = c.benchmark_group("kdf");
    g.throughput(Throughput::Elements(1));
    let ikm = [5u8; 32];
    g.bench_function("hkdf-sha256", |b| {
        b.iter(|| crypto::hkdf(black_box(&ikm), &[b"sharelock/v1/share-key"]))
    });
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4));
    g.bench_function("argon2id-m64MiB-t3-p4", |b| {
        b.iter(|| {
            MasterKey::derive(
                "correct horse",
                "ada@example.com",
                &[1; 16],
                &KdfParams::DEFAULT,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = aead, stream, p256, kdf
}
criterion_main!(benches);
