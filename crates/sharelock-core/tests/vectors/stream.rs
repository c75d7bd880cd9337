//! `stream.json`: encrypted file streams (docs/protocol.md §6).
//!
//! Every case gives the writer's inputs: `fk`, `file_id` (UUID text), `salt` (hex), `chunk_size`, and the
//! plaintext, either as hex (`plaintext`) or as a length (`plaintext_len`) of the pattern byte i = i mod 251
//! (which keeps the file small). Encrypting that with the given salt yields the blob.
//!
//! Positive cases give what the writer must produce: `header`, `stream_key` and `commit` (hex), each chunk's
//! `tag`, `blob_len`, `blob_sha256`, and for small streams the whole `blob` (hex); a reader must get the
//! plaintext back. Negative cases give a `mutation` applied to that blob (see [`mutate`]), optionally another
//! key or file id for the reader (`reader_fk`, `reader_file_id`), and the error kind the reader must report.

use crate::common::{Case, error_kind, hex, run_area, seq, unhex};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_json::{Value, json};
use sharelock_core::crypto::{Key32, hkdf_salted, sha256};
use sharelock_core::encoding::Id;
use sharelock_core::stream::{self, HEADER_LEN, StreamDecryptor, StreamEncryptor};

const CS: u32 = 16 * 1024;
const SEALED: usize = CS as usize + 16;

fn fk() -> [u8; 32] {
    seq::<32>(0x60)
}

fn file_id() -> Id {
    Id::from_bytes(seq::<16>(0x30))
}

fn salt() -> [u8; 32] {
    seq::<32>(0x80)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn plaintext(case: &Case) -> Vec<u8> {
    if case.has("plaintext") {
        case.bytes("plaintext")
    } else {
        pattern(case.u64("plaintext_len") as usize)
    }
}

fn seal(fk: &[u8; 32], id: Id, salt: [u8; 32], cs: u32, plain: &[u8]) -> Vec<u8> {
    let mut enc = StreamEncryptor::with_salt(&Key32::from_bytes(*fk), id, cs, salt).unwrap();
    let mut blob = Vec::new();
    // Feed in uneven pieces, as a reader would.
    for piece in plain.chunks(5000) {
        blob.extend(enc.update(piece).unwrap());
    }
    blob.extend(enc.finish().unwrap());
    blob
}

/// The stream key and commitment, computed here from the formulas in docs/protocol.md §6 (not by the
/// stream module), so the vectors cross-check the implementation.
fn formula_keys(fk: &[u8; 32], id: Id, salt: &[u8; 32], cs: u32) -> ([u8; 32], [u8; 32]) {
    let key = hkdf_salted(
        fk,
        salt,
        &[b"sharelock/v1/file", id.as_bytes(), &cs.to_be_bytes()],
    );
    let commit = hkdf_salted(fk, salt, &[b"sharelock/v1/file-commit", id.as_bytes()]);
    (*key.expose(), *commit.expose())
}

fn nonce(i: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&i.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// The chunks of a blob by the framing rules: all but the last are chunk_size + 16 bytes.
fn chunks(blob: &[u8], cs: u32) -> Vec<&[u8]> {
    let body = &blob[HEADER_LEN..];
    let sealed = cs as usize + 16;
    let n = body.len().div_ceil(sealed).max(1);
    (0..n)
        .map(|i| &body[i * sealed..((i + 1) * sealed).min(body.len())])
        .collect()
}

/// Applies a negative case's mutation to a valid blob. Ops: `truncate` to `len` bytes; `swap` chunks `a` and
/// `b`; `duplicate` chunk `chunk` (the copy follows it); `drop` chunk `chunk`; `flip` bit `bit` of the byte at
/// `offset`; `append` the bytes `hex`; `set` the bytes at `offset` to `hex`; `none`; `empty_final_chunk`:
/// keep chunk 0 and follow it with an authentic empty final chunk (index 1), which only the key holder can
/// make and which a reader must still refuse.
fn mutate(blob: &[u8], m: &Value, case: &Case) -> Vec<u8> {
    let field = |k: &str| {
        m[k].as_u64()
            .unwrap_or_else(|| panic!("mutation needs {k}")) as usize
    };
    let cs = case.u64("chunk_size") as u32;
    let (head, parts) = (&blob[..HEADER_LEN], chunks(blob, cs));
    let join = |list: Vec<&[u8]>| [&[head][..], &list[..]].concat().concat();
    match m["op"].as_str().unwrap() {
        "none" => blob.to_vec(),
        "truncate" => blob[..field("len")].to_vec(),
        "swap" => {
            let mut p = parts.clone();
            p.swap(field("a"), field("b"));
            join(p)
        }
        "duplicate" => {
            let mut p = parts.clone();
            p.insert(field("chunk") + 1, parts[field("chunk")]);
            join(p)
        }
        "drop" => {
            let mut p = parts.clone();
            p.remove(field("chunk"));
            join(p)
        }
        "flip" => {
            let mut b = blob.to_vec();
            b[field("offset")] ^= 1 << field("bit");
            b
        }
        "append" => [blob, &unhex(m["hex"].as_str().unwrap())].concat(),
        "set" => {
            let mut b = blob.to_vec();
            let bytes = unhex(m["hex"].as_str().unwrap());
            b[field("offset")..field("offset") + bytes.len()].copy_from_slice(&bytes);
            b
        }
        "empty_final_chunk" => {
            let (key, _) =
                formula_keys(&case.array("fk"), file_id_of(case), &case.array("salt"), cs);
            let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
            let mut empty = Vec::new();
            let tag = key
                .seal_in_place_separate_tag(nonce(1, true), Aad::from(head), &mut empty)
                .unwrap();
            join(vec![parts[0], tag.as_ref()])
        }
        other => panic!("unknown mutation {other:?}"),
    }
}

fn file_id_of(case: &Case) -> Id {
    Id::parse_str(case.str("file_id")).unwrap()
}

fn read(fk: &[u8; 32], id: Id, blob: &[u8]) -> Result<Vec<u8>, sharelock_core::Error> {
    let mut dec = StreamDecryptor::new(&Key32::from_bytes(*fk), id);
    let mut out = Vec::new();
    for piece in blob.chunks(7000) {
        out.extend(dec.push(piece)?);
    }
    out.extend(dec.finish()?);
    Ok(out)
}

fn generate() -> Vec<Value> {
    let inputs = |name: &str, valid: bool, plain: Result<&[u8], usize>| {
        let mut c = json!({"name": name, "valid": valid, "fk": hex(fk()), "file_id": file_id().to_string(),
            "salt": hex(salt()), "chunk_size": CS});
        match plain {
            Ok(p) => c["plaintext"] = json!(hex(p)),
            Err(len) => c["plaintext_len"] = json!(len),
        }
        c
    };
    let ok = |name: &str, plain: Result<&[u8], usize>, full_blob: bool| {
        let mut c = inputs(name, true, plain);
        let bytes = match plain {
            Ok(p) => p.to_vec(),
            Err(len) => pattern(len),
        };
        let blob = seal(&fk(), file_id(), salt(), CS, &bytes);
        let (key, commit) = formula_keys(&fk(), file_id(), &salt(), CS);
        c["header"] = json!(hex(&blob[..HEADER_LEN]));
        c["stream_key"] = json!(hex(key));
        c["commit"] = json!(hex(commit));
        c["tags"] = json!(
            chunks(&blob, CS)
                .iter()
                .map(|ch| hex(&ch[ch.len() - 16..]))
                .collect::<Vec<_>>()
        );
        c["blob_len"] = json!(blob.len());
        c["blob_sha256"] = json!(hex(sha256(&blob)));
        if full_blob {
            c["blob"] = json!(hex(&blob));
        }
        c
    };
    let three = 2 * CS as usize + 1000;
    let two = 2 * CS as usize;
    let blob_len = stream::blob_len(three as u64, CS) as usize;
    let bad = |name: &str, error: &str, len: usize, mutation: Value| {
        let mut c = inputs(name, false, Err(len));
        c["error"] = json!(error);
        c["mutation"] = mutation;
        c
    };
    let cut = |n: usize| json!({"op": "truncate", "len": n});
    let set_cs = |cs: u32| json!({"op": "set", "offset": 4, "hex": hex(cs.to_be_bytes())});
    vec![
        ok("empty file: one empty final chunk", Ok(b""), true),
        ok(
            "one short chunk",
            Ok(b"Sharelock file stream, version 1."),
            true,
        ),
        ok("three chunks, the last short", Err(three), false),
        ok("two full chunks, the last full", Err(two), false),
        bad(
            "cut at a chunk boundary (final chunk missing)",
            "truncated",
            three,
            cut(HEADER_LEN + 2 * SEALED),
        ),
        bad("only the header", "truncated", three, cut(HEADER_LEN)),
        bad("header cut short", "truncated", three, cut(40)),
        bad(
            "cut inside the final chunk",
            "decrypt",
            three,
            cut(blob_len - 1),
        ),
        bad(
            "chunks reordered",
            "decrypt",
            three,
            json!({"op": "swap", "a": 0, "b": 1}),
        ),
        bad(
            "chunk duplicated",
            "decrypt",
            three,
            json!({"op": "duplicate", "chunk": 0}),
        ),
        bad(
            "middle chunk dropped",
            "decrypt",
            three,
            json!({"op": "drop", "chunk": 1}),
        ),
        bad(
            "bit flipped in chunk 1",
            "decrypt",
            three,
            json!({"op": "flip", "offset": HEADER_LEN + SEALED + 5, "bit": 7}),
        ),
        bad(
            "bit flipped in the final tag",
            "decrypt",
            three,
            json!({"op": "flip", "offset": blob_len - 1, "bit": 0}),
        ),
        bad(
            "bit flipped in the salt",
            "verify",
            three,
            json!({"op": "flip", "offset": 8, "bit": 0}),
        ),
        bad(
            "bit flipped in the commitment",
            "verify",
            three,
            json!({"op": "flip", "offset": 71, "bit": 3}),
        ),
        bad(
            "bad magic",
            "malformed",
            three,
            json!({"op": "set", "offset": 0, "hex": hex(b"SLF2")}),
        ),
        bad("chunk size 8 KiB", "malformed", three, set_cs(8 * 1024)),
        bad(
            "chunk size 8 MiB",
            "malformed",
            three,
            set_cs(8 * 1024 * 1024),
        ),
        bad(
            "chunk size not a power of two",
            "malformed",
            three,
            set_cs(20_000),
        ),
        bad(
            "chunk size changed to another allowed size",
            "decrypt",
            three,
            set_cs(32 * 1024),
        ),
        bad(
            "trailing byte after a short final chunk",
            "decrypt",
            three,
            json!({"op": "append", "hex": "00"}),
        ),
        bad(
            "trailing byte after a full final chunk",
            "malformed",
            two,
            json!({"op": "append", "hex": "00"}),
        ),
        bad(
            "authentic empty chunk after a full chunk",
            "malformed",
            two,
            json!({"op": "empty_final_chunk"}),
        ),
        {
            let mut c = bad(
                "wrong key: commitment fails",
                "verify",
                three,
                json!({"op": "none"}),
            );
            c["reader_fk"] = json!(hex(seq::<32>(0x61)));
            c
        },
        {
            let mut c = bad(
                "wrong file id: commitment fails",
                "verify",
                three,
                json!({"op": "none"}),
            );
            c["reader_file_id"] = json!(Id::from_bytes(seq::<16>(0x31)).to_string());
            c
        },
    ]
}

fn check(case: &Case) {
    let fk = case.array::<32>("fk");
    let id = file_id_of(case);
    let salt = case.array::<32>("salt");
    let cs = case.u64("chunk_size") as u32;
    let plain = plaintext(case);
    let blob = seal(&fk, id, salt, cs, &plain);

    if case.valid() {
        assert_eq!(hex(&blob[..HEADER_LEN]), case.str("header"));
        assert_eq!(blob.len() as u64, case.u64("blob_len"));
        assert_eq!(hex(sha256(&blob)), case.str("blob_sha256"));
        if case.has("blob") {
            assert_eq!(hex(&blob), case.str("blob"));
        }
        // The header, spelled out.
        let (key, commit) = formula_keys(&fk, id, &salt, cs);
        assert_eq!(hex(key), case.str("stream_key"));
        assert_eq!(hex(commit), case.str("commit"));
        assert_eq!(&blob[..4], b"SLF1");
        assert_eq!(&blob[4..8], &cs.to_be_bytes());
        assert_eq!(&blob[8..40], &salt);
        assert_eq!(&blob[40..72], &commit);
        // Every chunk opens with the formula's key and nonce, the header as associated data.
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
        let parts = chunks(&blob, cs);
        let tags: Vec<String> = parts.iter().map(|c| hex(&c[c.len() - 16..])).collect();
        let expected: Vec<String> = case
            .get("tags")
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(tags, expected);
        let mut manual = Vec::new();
        for (i, c) in parts.iter().enumerate() {
            let mut buf = c.to_vec();
            let last = i + 1 == parts.len();
            let p = key
                .open_in_place(
                    nonce(i as u64, last),
                    Aad::from(&blob[..HEADER_LEN]),
                    &mut buf,
                )
                .unwrap();
            manual.extend_from_slice(p);
        }
        assert_eq!(manual, plain);
        // And through the reader, push-style and with the std::io helper.
        assert_eq!(read(&fk, id, &blob).unwrap(), plain);
        let mut out = Vec::new();
        let info = stream::decrypt(&Key32::from_bytes(fk), id, &blob[..], &mut out).unwrap();
        assert_eq!(out, plain);
        assert_eq!(hex(info.blob_sha256), case.str("blob_sha256"));
    } else {
        let blob = mutate(&blob, case.get("mutation"), case);
        let reader_fk = if case.has("reader_fk") {
            case.array::<32>("reader_fk")
        } else {
            fk
        };
        let reader_id = case
            .opt_str("reader_file_id")
            .map_or(id, |t| Id::parse_str(t).unwrap());
        match read(&reader_fk, reader_id, &blob) {
            Ok(_) => panic!("expected {:?}, the stream opened", case.error()),
            Err(e) => assert_eq!(error_kind(&e), case.error(), "{e}"),
        }
    }
}

#[test]
fn vectors() {
    run_area(
        "stream",
        "Encrypted file streams (docs/protocol.md §6). plaintext_len means the pattern byte i = i mod 251. \
         Negative cases mutate the blob the inputs produce: truncate (to len), swap (chunks a, b), duplicate \
         (chunk, copy follows), drop (chunk), flip (bit of the byte at offset), append (hex), set (hex at \
         offset), none, empty_final_chunk (chunk 0, then an authentic empty final chunk 1).",
        generate,
        check,
    );
}
