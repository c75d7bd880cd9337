//! Compares the candidate crypto libraries on the operations that bound Sharelock's hot paths: ECDSA P-256
//! verify (every signed recipient request) and sign (every request a client makes), and AES-256-GCM (files
//! and sealed boxes). Prints a markdown table; see docs/benchmarks.md for how it was run and what it decided.
//!
//! Run: `cargo run --release` in this directory. Each figure is the median of 3 timed runs of about a second,
//! one thread.

use std::hint::black_box;
use std::time::{Duration, Instant};

const GCM_LEN: usize = 64 * 1024;
const MSG: &[u8] = b"\"@method\": GET\n\"@target-uri\": https://share.example/api/v1/recipient/share\n\"sharelock-share\": AAECAwQFBgcICQoLDA0ODw\n\"@signature-params\": (\"@method\" \"@target-uri\" \"sharelock-share\");created=1767225600;nonce=\"AAAAAAAAAAAAAAAAAAAAAA\";keyid=\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\";alg=\"ecdsa-p256-sha256\";tag=\"sharelock/v1\"";
const PRIVATE: [u8; 32] = [
    0x52, 0x9b, 0x85, 0xf3, 0x59, 0x7e, 0x90, 0xec, 0x5b, 0x8d, 0xfe, 0xd3, 0xe2, 0x63, 0x52, 0xbf, 0x4a, 0xf9,
    0xb4, 0xde, 0xbb, 0x1a, 0x29, 0xbb, 0xae, 0x77, 0xfa, 0x10, 0x5a, 0x5c, 0x60, 0x3b,
];

/// Operations per second of `f`, median of three runs of about `secs` seconds each.
fn rate(secs: f64, mut f: impl FnMut()) -> f64 {
    // Calibrate: how many calls take roughly 50 ms.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() > Duration::from_millis(50) {
            break;
        }
        n *= 2;
    }
    let mut runs = Vec::new();
    for _ in 0..3 {
        let target = Duration::from_secs_f64(secs);
        let t = Instant::now();
        let mut calls = 0u64;
        while t.elapsed() < target {
            for _ in 0..n {
                f();
            }
            calls += n;
        }
        runs.push(calls as f64 / t.elapsed().as_secs_f64());
    }
    runs.sort_by(f64::total_cmp);
    runs[1]
}

struct Row {
    lib: &'static str,
    verify: f64,
    sign: f64,
    seal: f64,
    open: f64,
}

fn aws_lc() -> Row {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, ParsedPublicKey,
    };
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &PRIVATE, &public_point())
        .unwrap();
    let sig = pair.sign(&rng, MSG).unwrap();
    let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).unwrap();
    let verify = rate(1.0, || public.verify_sig(black_box(MSG), sig.as_ref()).unwrap());
    let sign = rate(1.0, || {
        black_box(pair.sign(&rng, black_box(MSG)).unwrap());
    });
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let mut buf = vec![0u8; GCM_LEN];
    let seal = rate(1.0, || {
        let nonce = Nonce::assume_unique_for_key([1; 12]);
        let _ = black_box(key.seal_in_place_separate_tag(nonce, Aad::empty(), &mut buf).unwrap());
    });
    let mut sealed = vec![0u8; GCM_LEN];
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key([1; 12]), Aad::empty(), &mut sealed)
        .unwrap();
    sealed.extend_from_slice(tag.as_ref());
    let mut work = sealed.clone();
    let open = rate(1.0, || {
        work.copy_from_slice(&sealed);
        let nonce = Nonce::assume_unique_for_key([1; 12]);
        black_box(key.open_in_place(nonce, Aad::empty(), &mut work).unwrap());
    });
    Row { lib: "aws-lc-rs 1.x", verify, sign, seal: seal * GCM_LEN as f64, open: open * GCM_LEN as f64 }
}

fn ring() -> Row {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use ring::rand::SystemRandom;
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
    };
    let rng = SystemRandom::new();
    let pair =
        EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &PRIVATE, &public_point(), &rng)
            .unwrap();
    let sig = pair.sign(&rng, MSG).unwrap();
    // ring has no pre-parsed public key type: every verification parses the point.
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref().to_vec());
    let verify = rate(1.0, || public.verify(black_box(MSG), sig.as_ref()).unwrap());
    let sign = rate(1.0, || {
        black_box(pair.sign(&rng, black_box(MSG)).unwrap());
    });
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let mut buf = vec![0u8; GCM_LEN];
    let seal = rate(1.0, || {
        let nonce = Nonce::assume_unique_for_key([1; 12]);
        let _ = black_box(key.seal_in_place_separate_tag(nonce, Aad::empty(), &mut buf).unwrap());
    });
    let mut sealed = vec![0u8; GCM_LEN];
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key([1; 12]), Aad::empty(), &mut sealed)
        .unwrap();
    sealed.extend_from_slice(tag.as_ref());
    let mut work = sealed.clone();
    let open = rate(1.0, || {
        work.copy_from_slice(&sealed);
        let nonce = Nonce::assume_unique_for_key([1; 12]);
        black_box(key.open_in_place(nonce, Aad::empty(), &mut work).unwrap());
    });
    Row { lib: "ring 0.17", verify, sign, seal: seal * GCM_LEN as f64, open: open * GCM_LEN as f64 }
}

fn rustcrypto() -> Row {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    use aes_gcm::{Aes256Gcm, Nonce};
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    let signing = SigningKey::from_bytes(&PRIVATE.into()).unwrap();
    let verifying = VerifyingKey::from(&signing);
    let sig: Signature = signing.sign(MSG);
    let verify = rate(1.0, || verifying.verify(black_box(MSG), &sig).unwrap());
    let sign = rate(1.0, || {
        let s: Signature = signing.sign(black_box(MSG));
        black_box(s);
    });
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::from([1u8; 12]);
    let mut buf = vec![0u8; GCM_LEN];
    let seal = rate(1.0, || {
        black_box(cipher.encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into()).unwrap());
    });
    let mut sealed = vec![0u8; GCM_LEN];
    let tag = cipher.encrypt_inout_detached(&nonce, b"", sealed.as_mut_slice().into()).unwrap();
    let mut work = sealed.clone();
    let open = rate(1.0, || {
        work.copy_from_slice(&sealed);
        cipher.decrypt_inout_detached(&nonce, b"", work.as_mut_slice().into(), &tag).unwrap();
    });
    Row { lib: "RustCrypto (p256 0.14, aes-gcm 0.11)", verify, sign, seal: seal * GCM_LEN as f64, open: open * GCM_LEN as f64 }
}

/// The uncompressed public point of [`PRIVATE`], computed with the RustCrypto implementation so the three
/// libraries sign with the same key.
fn public_point() -> Vec<u8> {
    let signing = p256::ecdsa::SigningKey::from_bytes(&PRIVATE.into()).unwrap();
    p256::ecdsa::VerifyingKey::from(&signing).to_sec1_point(false).as_bytes().to_vec()
}

fn main() {
    let rows = [aws_lc(), ring(), rustcrypto()];
    println!("| library | P-256 verify /s | P-256 sign /s | AES-256-GCM seal, 64 KiB | AES-256-GCM open, 64 KiB |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.1} k | {:.1} k | {:.2} GB/s | {:.2} GB/s |",
            r.lib,
            r.verify / 1e3,
            r.sign / 1e3,
            r.seal / 1e9,
            r.open / 1e9
        );
    }
}
