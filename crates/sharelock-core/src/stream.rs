//! Encrypted file streams (docs/protocol.md §6): files of any size in constant memory.
//!
//! ```text
//! header     = "SLF1" ‖ u32(chunk_size) ‖ salt[32] ‖ commit[32]                          72 bytes
//! stream key = HKDF(ikm = FK, salt, "sharelock/v1/file" ‖ file_id ‖ u32(chunk_size))
//! commit     = HKDF(ikm = FK, salt, "sharelock/v1/file-commit" ‖ file_id)
//! chunk i    = AES-256-GCM(stream key, nonce = u88(i) ‖ last, aad = header)        ciphertext ‖ tag
//! blob       = header ‖ chunk 0 ‖ … ‖ chunk n−1
//! ```
//!
//! Why each piece:
//! - a fresh random salt per stream gives a fresh stream key, so the counter nonces never repeat under a key
//!   even if an uploader reused FK;
//! - the file id and chunk size are bound into the key, so a stream cannot be passed off as another file or
//!   be re-framed; the whole header is the associated data of every chunk;
//! - the commitment, checked before any chunk, makes a wrong key fail at once with a clear error, and commits
//!   the stream to one key (AES-GCM alone is not key-committing);
//! - the counter orders the chunks (no reordering, duplication or dropping in the middle) and the last-chunk
//!   flag marks the end (no truncation at a chunk boundary, no extension).
//!
//! A reader learns a chunk is not the last only when a byte follows it, so it buffers at most one chunk and
//! one byte. Plaintext from [`StreamDecryptor::push`] is authentic but may still belong to a stream that later
//! turns out truncated: write it to a temporary file and keep it only once [`StreamDecryptor::finish`]
//! succeeds.

use crate::crypto::{Key32, Sha256, TAG_LEN, ct_eq, hkdf_salted, random_array};
use crate::encoding::Id;
use crate::error::{Error, Result};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use std::io::{Read, Write};

/// The magic at the start of every stream; also its format version.
pub const MAGIC: &[u8; 4] = b"SLF1";
/// Length of the stream header.
pub const HEADER_LEN: usize = 4 + 4 + 32 + 32;
/// Smallest allowed chunk size (16 KiB).
pub const MIN_CHUNK_SIZE: u32 = 16 * 1024;
/// Largest allowed chunk size (4 MiB).
pub const MAX_CHUNK_SIZE: u32 = 4 * 1024 * 1024;
/// The chunk size writers use unless told otherwise; chosen by benchmark (docs/benchmarks.md).
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;

const STREAM_LABEL: &[u8] = b"sharelock/v1/file";
const COMMIT_LABEL: &[u8] = b"sharelock/v1/file-commit";
const WHAT: &str = "file stream";

/// Refuses chunk sizes outside the protocol's set (a power of two in [16 KiB, 4 MiB]).
pub fn check_chunk_size(chunk_size: u32) -> Result<()> {
    if chunk_size.is_power_of_two() && (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(Error::malformed(
            WHAT,
            "chunk size must be a power of two from 16 KiB to 4 MiB",
        ))
    }
}

/// Sizes and digest of a finished stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamInfo {
    /// Plaintext bytes.
    pub plaintext_len: u64,
    /// Blob bytes, header included.
    pub blob_len: u64,
    /// `H(blob)`, as the record's file reference holds it.
    pub blob_sha256: [u8; 32],
}

/// Bytes of the blob for a plaintext of `plaintext_len` bytes.
pub fn blob_len(plaintext_len: u64, chunk_size: u32) -> u64 {
    let chunks = plaintext_len.div_ceil(u64::from(chunk_size)).max(1);
    HEADER_LEN as u64 + plaintext_len + chunks * TAG_LEN as u64
}

/// The keys of one stream: the AES-GCM key schedule and the header, which is every chunk's associated data.
struct Keys {
    aead: LessSafeKey,
    header: [u8; HEADER_LEN],
    chunk_size: usize,
    index: u64,
}

fn stream_key(fk: &Key32, file_id: &Id, salt: &[u8; 32], chunk_size: u32) -> Result<LessSafeKey> {
    let key = hkdf_salted(
        fk.expose(),
        salt,
        &[STREAM_LABEL, file_id.as_bytes(), &chunk_size.to_be_bytes()],
    );
    let unbound = UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| Error::Decrypt)?;
    Ok(LessSafeKey::new(unbound))
}

fn commitment(fk: &Key32, file_id: &Id, salt: &[u8; 32]) -> Key32 {
    hkdf_salted(fk.expose(), salt, &[COMMIT_LABEL, file_id.as_bytes()])
}

impl Keys {
    fn nonce(&self, last: bool) -> Nonce {
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&self.index.to_be_bytes());
        n[11] = u8::from(last);
        Nonce::assume_unique_for_key(n)
    }

    /// Appends `plain` sealed as the next chunk to `out`.
    fn seal(&mut self, plain: &[u8], last: bool, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.reserve(plain.len() + TAG_LEN);
        out.extend_from_slice(plain);
        let tag = self
            .aead
            .seal_in_place_separate_tag(
                self.nonce(last),
                Aad::from(&self.header),
                &mut out[start..],
            )
            .map_err(|_| Error::Decrypt)?;
        out.extend_from_slice(tag.as_ref());
        self.index += 1;
        Ok(())
    }

    /// Appends the plaintext of `chunk` (ciphertext ‖ tag) to `out`, or leaves `out` as it was on failure.
    fn open(&mut self, chunk: &[u8], last: bool, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.extend_from_slice(chunk);
        let opened =
            self.aead
                .open_in_place(self.nonce(last), Aad::from(&self.header), &mut out[start..]);
        match opened {
            Ok(plain) => {
                let n = plain.len();
                out.truncate(start + n);
                self.index += 1;
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(Error::Decrypt)
            }
        }
    }

    /// Whether `chunk` opens under the given flag, without consuming the index (error diagnosis only).
    fn opens_as(&self, chunk: &[u8], last: bool) -> bool {
        let mut buf = chunk.to_vec();
        self.aead
            .open_in_place(self.nonce(last), Aad::from(&self.header), &mut buf)
            .is_ok()
    }
}

/// Encrypts a stream pushed in pieces of any size; usable from async code (it does no I/O).
///
/// Everything [`StreamEncryptor::update`] and [`StreamEncryptor::finish`] return, concatenated, is the blob,
/// header first. Memory use is one chunk whatever the file size.
pub struct StreamEncryptor {
    keys: Keys,
    buf: Vec<u8>,
    header_sent: bool,
    plaintext_len: u64,
}

impl std::fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StreamEncryptor(chunk {}, {} bytes in)",
            self.keys.chunk_size, self.plaintext_len
        )
    }
}

impl StreamEncryptor {
    /// Starts a stream under `fk` for file `file_id` with a fresh random salt. `chunk_size` must pass
    /// [`check_chunk_size`]; use [`DEFAULT_CHUNK_SIZE`] unless there is a reason not to.
    pub fn new(fk: &Key32, file_id: Id, chunk_size: u32) -> Result<Self> {
        Self::with_salt(fk, file_id, chunk_size, random_array()?)
    }

    /// Starts a stream with a caller-chosen salt; only for reproducible test vectors.
    #[doc(hidden)]
    pub fn with_salt(fk: &Key32, file_id: Id, chunk_size: u32, salt: [u8; 32]) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4..8].copy_from_slice(&chunk_size.to_be_bytes());
        header[8..40].copy_from_slice(&salt);
        header[40..].copy_from_slice(commitment(fk, &file_id, &salt).expose());
        let keys = Keys {
            aead: stream_key(fk, &file_id, &salt, chunk_size)?,
            header,
            chunk_size: chunk_size as usize,
            index: 0,
        };
        Ok(StreamEncryptor {
            buf: Vec::with_capacity(keys.chunk_size),
            keys,
            header_sent: false,
            plaintext_len: 0,
        })
    }

    /// The stream header (also the start of the first output).
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.keys.header
    }

    /// Takes more plaintext; returns the blob bytes now ready (possibly none).
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.update_into(data, &mut out)?;
        Ok(out)
    }

    /// Like [`StreamEncryptor::update`], appending to a caller's buffer (no allocation once it is large enough).
    pub fn update_into(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.send_header(out);
        self.plaintext_len += data.len() as u64;
        let cs = self.keys.chunk_size;
        while !data.is_empty() {
            if self.buf.len() == cs {
                // A byte follows the buffered chunk, so it is not the last.
                self.keys.seal(&self.buf, false, out)?;
                self.buf.clear();
            }
            if self.buf.is_empty() && data.len() > cs {
                // Fast path: a whole chunk with more after it goes straight from input to output.
                self.keys.seal(&data[..cs], false, out)?;
                data = &data[cs..];
                continue;
            }
            let take = (cs - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals the final chunk (short, full, or empty when the whole file is empty) and returns the rest of the
    /// blob.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.buf.len() + TAG_LEN + HEADER_LEN);
        self.send_header(&mut out);
        let buf = std::mem::take(&mut self.buf);
        self.keys.seal(&buf, true, &mut out)?;
        Ok(out)
    }

    fn send_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_sent {
            out.extend_from_slice(&self.keys.header);
            self.header_sent = true;
        }
    }
}

enum DecState {
    /// Collecting the header; the key is kept only until the header arrives.
    Header {
        fk: Key32,
        file_id: Id,
    },
    Body(Keys),
}

/// Decrypts a stream pushed in pieces of any size; usable from async code (it does no I/O).
///
/// The header is checked as soon as it is complete: magic, chunk size (before any buffer is allocated), then
/// the key commitment. Every chunk is authenticated before its plaintext is returned.
pub struct StreamDecryptor {
    state: DecState,
    buf: Vec<u8>,
    plaintext_len: u64,
}

impl std::fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamDecryptor({} bytes out)", self.plaintext_len)
    }
}

impl StreamDecryptor {
    /// Starts reading the stream of file `file_id` under `fk` (both from the record's file reference).
    pub fn new(fk: &Key32, file_id: Id) -> Self {
        StreamDecryptor {
            state: DecState::Header {
                fk: Key32::from_bytes(*fk.expose()),
                file_id,
            },
            buf: Vec::with_capacity(HEADER_LEN),
            plaintext_len: 0,
        }
    }

    /// Takes more blob bytes; returns the plaintext of every chunk now known to be complete and authentic.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.push_into(data, &mut out)?;
        Ok(out)
    }

    /// Like [`StreamDecryptor::push`], appending to a caller's buffer.
    pub fn push_into(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if let DecState::Header { fk, file_id } = &self.state {
            let take = (HEADER_LEN - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() < HEADER_LEN {
                return Ok(());
            }
            let keys = open_header(fk, file_id, &self.buf)?;
            self.buf = Vec::with_capacity(keys.chunk_size + TAG_LEN + 1);
            self.state = DecState::Body(keys);
        }
        let DecState::Body(keys) = &mut self.state else {
            return Ok(());
        };
        let before = out.len();
        let sealed = keys.chunk_size + TAG_LEN;
        while !data.is_empty() {
            if self.buf.len() == sealed {
                open_middle(keys, &self.buf, out)?;
                self.buf.clear();
            }
            if self.buf.is_empty() && data.len() > sealed {
                open_middle(keys, &data[..sealed], out)?;
                data = &data[sealed..];
                continue;
            }
            let take = (sealed - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.plaintext_len += (out.len() - before) as u64;
        Ok(())
    }

    /// Ends the stream: opens the final chunk and returns its plaintext. Fails with [`Error::Truncated`] when
    /// the stream stops before its final chunk (including a stream cut inside its header).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let DecState::Body(keys) = &mut self.state else {
            return Err(Error::Truncated);
        };
        if self.buf.len() < TAG_LEN {
            // Nothing, or less than a tag, after the last complete chunk (or after the header).
            return Err(Error::Truncated);
        }
        if self.buf.len() == TAG_LEN && keys.index > 0 {
            return Err(Error::malformed(
                WHAT,
                "an empty chunk is allowed only as the only chunk",
            ));
        }
        let mut out = Vec::with_capacity(self.buf.len() - TAG_LEN);
        if let Err(e) = keys.open(&self.buf, true, &mut out) {
            // A chunk that opens as a middle chunk means the stream was cut after it.
            return Err(if keys.opens_as(&self.buf, false) {
                Error::Truncated
            } else {
                e
            });
        }
        Ok(out)
    }
}

fn open_header(fk: &Key32, file_id: &Id, header: &[u8]) -> Result<Keys> {
    let header: [u8; HEADER_LEN] = header
        .try_into()
        .map_err(|_| Error::malformed(WHAT, "header is not 72 bytes"))?;
    if &header[..4] != MAGIC {
        return Err(Error::malformed(
            WHAT,
            "not a Sharelock file stream (bad magic)",
        ));
    }
    let mut cs = [0u8; 4];
    cs.copy_from_slice(&header[4..8]);
    let chunk_size = u32::from_be_bytes(cs);
    check_chunk_size(chunk_size)?;
    let mut salt = [0u8; 32];
    salt.copy_from_slice(&header[8..40]);
    if !ct_eq(commitment(fk, file_id, &salt).expose(), &header[40..]) {
        return Err(Error::Verify("file key commitment"));
    }
    Ok(Keys {
        aead: stream_key(fk, file_id, &salt, chunk_size)?,
        header,
        chunk_size: chunk_size as usize,
        index: 0,
    })
}

/// Opens a chunk known to be followed by more bytes. If it only opens as a final chunk, the bytes after it
/// are trailing garbage: say so.
fn open_middle(keys: &mut Keys, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
    keys.open(chunk, false, out).map_err(|e| {
        if keys.opens_as(chunk, true) {
            Error::malformed(WHAT, "bytes after the final chunk")
        } else {
            e
        }
    })
}

fn io_error(e: std::io::Error) -> Error {
    Error::Io(e.kind())
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
    Ok(filled)
}

/// Encrypts everything `reader` yields into `writer` as one stream; returns sizes and `H(blob)`.
pub fn encrypt<R: Read, W: Write>(
    fk: &Key32,
    file_id: Id,
    chunk_size: u32,
    mut reader: R,
    writer: W,
) -> Result<StreamInfo> {
    let mut enc = StreamEncryptor::new(fk, file_id, chunk_size)?;
    let mut input = vec![0u8; chunk_size as usize];
    let mut out = Vec::with_capacity(chunk_size as usize + TAG_LEN + HEADER_LEN);
    let mut sink = HashingWriter {
        writer,
        hash: Sha256::new(),
        len: 0,
    };
    let mut plaintext_len = 0u64;
    loop {
        let n = read_full(&mut reader, &mut input)?;
        if n == 0 {
            break;
        }
        plaintext_len += n as u64;
        out.clear();
        enc.update_into(&input[..n], &mut out)?;
        sink.write(&out)?;
    }
    sink.write(&enc.finish()?)?;
    sink.writer.flush().map_err(io_error)?;
    Ok(StreamInfo {
        plaintext_len,
        blob_len: sink.len,
        blob_sha256: sink.hash.finish(),
    })
}

/// Writes the blob while hashing and counting it.
struct HashingWriter<W> {
    writer: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hash.update(bytes);
        self.len += bytes.len() as u64;
        self.writer.write_all(bytes).map_err(io_error)
    }
}

/// Decrypts the stream `reader` yields into `writer`; returns sizes and `H(blob)`.
///
/// On error, `writer` may already hold authentic plaintext of a stream that is incomplete or damaged further
/// on: write to a temporary file and discard it unless this returns `Ok`.
pub fn decrypt<R: Read, W: Write>(
    fk: &Key32,
    file_id: Id,
    mut reader: R,
    mut writer: W,
) -> Result<StreamInfo> {
    let mut dec = StreamDecryptor::new(fk, file_id);
    let mut input = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    let mut hash = Sha256::new();
    let mut info = StreamInfo {
        plaintext_len: 0,
        blob_len: 0,
        blob_sha256: [0; 32],
    };
    loop {
        let n = read_full(&mut reader, &mut input)?;
        if n == 0 {
            break;
        }
        hash.update(&input[..n]);
        info.blob_len += n as u64;
        out.clear();
        dec.push_into(&input[..n], &mut out)?;
        info.plaintext_len += out.len() as u64;
        writer.write_all(&out).map_err(io_error)?;
    }
    let tail = dec.finish()?;
    info.plaintext_len += tail.len() as u64;
    writer.write_all(&tail).map_err(io_error)?;
    writer.flush().map_err(io_error)?;
    info.blob_sha256 = hash.finish();
    Ok(info)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::crypto::sha256;

    const CS: u32 = MIN_CHUNK_SIZE;
    const SEALED: usize = CS as usize + TAG_LEN;

    fn fk() -> Key32 {
        Key32::from_bytes([0x42; 32])
    }

    fn id() -> Id {
        Id::from_bytes([0x11; 16])
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn seal_all(plain: &[u8], cs: u32) -> Vec<u8> {
        let mut enc = StreamEncryptor::with_salt(&fk(), id(), cs, [5; 32]).unwrap();
        let mut blob = enc.update(plain).unwrap();
        blob.extend(enc.finish().unwrap());
        blob
    }

    fn open_all(blob: &[u8]) -> Result<Vec<u8>> {
        let mut dec = StreamDecryptor::new(&fk(), id());
        let mut out = dec.push(blob)?;
        out.extend(dec.finish()?);
        Ok(out)
    }

    #[test]
    fn round_trips_at_every_boundary_and_any_split() {
        let cs = CS as usize;
        for len in [0, 1, cs - 1, cs, cs + 1, 2 * cs, 3 * cs - 5] {
            let plain = data(len);
            let blob = seal_all(&plain, CS);
            assert_eq!(blob.len() as u64, blob_len(len as u64, CS), "len {len}");
            assert_eq!(open_all(&blob).unwrap(), plain, "len {len}");
            // Feed both sides in awkward pieces.
            for piece in [1usize, 71, 4096, cs + 3] {
                let mut enc = StreamEncryptor::with_salt(&fk(), id(), CS, [5; 32]).unwrap();
                let mut b = Vec::new();
                for p in plain.chunks(piece) {
                    b.extend(enc.update(p).unwrap());
                }
                b.extend(enc.finish().unwrap());
                assert_eq!(b, blob, "encrypt split {piece} len {len}");
                let mut dec = StreamDecryptor::new(&fk(), id());
                let mut p = Vec::new();
                for c in blob.chunks(piece) {
                    p.extend(dec.push(c).unwrap());
                }
                p.extend(dec.finish().unwrap());
                assert_eq!(p, plain, "decrypt split {piece} len {len}");
            }
        }
    }

    #[test]
    fn full_last_chunk_is_marked_last_not_followed_by_an_empty_chunk() {
        let blob = seal_all(&data(2 * CS as usize), CS);
        assert_eq!(blob.len(), HEADER_LEN + 2 * SEALED);
    }

    #[test]
    fn detects_truncation_reordering_duplication_tampering_and_trailing_bytes() {
        let plain = data(3 * CS as usize - 100);
        let blob = seal_all(&plain, CS);
        let (h, body) = blob.split_at(HEADER_LEN);
        let c0 = &body[..SEALED];
        let c1 = &body[SEALED..2 * SEALED];
        let c2 = &body[2 * SEALED..];

        // Truncation: at a chunk boundary, inside a chunk, inside the header, empty.
        assert_eq!(open_all(&[h, c0, c1].concat()), Err(Error::Truncated));
        assert_eq!(open_all(&[h, c0].concat()), Err(Error::Truncated));
        assert_eq!(open_all(h), Err(Error::Truncated));
        assert_eq!(open_all(&h[..40]), Err(Error::Truncated));
        assert_eq!(open_all(&[]), Err(Error::Truncated));
        assert_eq!(open_all(&blob[..blob.len() - 1]), Err(Error::Decrypt));
        // Reordering and duplication.
        assert_eq!(open_all(&[h, c1, c0, c2].concat()), Err(Error::Decrypt));
        assert_eq!(open_all(&[h, c0, c0, c1, c2].concat()), Err(Error::Decrypt));
        // A dropped middle chunk.
        assert_eq!(open_all(&[h, c0, c2].concat()), Err(Error::Decrypt));
        // Every bit of every region matters.
        for pos in [
            HEADER_LEN + 3,
            HEADER_LEN + SEALED - 1,
            blob.len() - 1,
            9,
            5,
        ] {
            let mut b = blob.clone();
            b[pos] ^= 0x01;
            assert!(open_all(&b).is_err(), "flip at {pos}");
        }
        // Trailing bytes after a full final chunk, and after a short one.
        let full = seal_all(&data(2 * CS as usize), CS);
        assert!(matches!(
            open_all(&[&full[..], b"x"].concat()),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(open_all(&[&blob[..], b"x"].concat()), Err(Error::Decrypt));
    }

    #[test]
    fn header_is_checked_before_chunks() {
        let blob = seal_all(b"hello", CS);
        // Wrong key: the commitment fails before any chunk is tried.
        let mut dec = StreamDecryptor::new(&Key32::from_bytes([0x43; 32]), id());
        assert_eq!(
            dec.push(&blob[..HEADER_LEN]),
            Err(Error::Verify("file key commitment"))
        );
        // Wrong file id, too.
        let mut dec = StreamDecryptor::new(&fk(), Id::from_bytes([0x12; 16]));
        assert_eq!(dec.push(&blob), Err(Error::Verify("file key commitment")));
        // Chunk sizes outside the set are refused before allocating, even with a valid commitment.
        for cs in [
            0u32,
            1,
            8192,
            16 * 1024 + 1,
            3 * 16 * 1024,
            8 * 1024 * 1024,
            u32::MAX,
        ] {
            let mut b = blob.clone();
            b[4..8].copy_from_slice(&cs.to_be_bytes());
            assert!(
                matches!(open_all(&b), Err(Error::Malformed { .. })),
                "chunk size {cs}"
            );
            assert!(StreamEncryptor::new(&fk(), id(), cs).is_err());
        }
        let mut b = blob.clone();
        b[0] = b'X';
        assert!(matches!(open_all(&b), Err(Error::Malformed { .. })));
        // A different salt with the old commitment fails the commitment.
        let mut b = blob.clone();
        b[8] ^= 1;
        assert_eq!(open_all(&b), Err(Error::Verify("file key commitment")));
    }

    #[test]
    fn empty_chunk_only_as_the_only_chunk() {
        let empty = seal_all(b"", CS);
        assert_eq!(empty.len(), HEADER_LEN + TAG_LEN);
        assert_eq!(open_all(&empty).unwrap(), Vec::<u8>::new());
        // A full chunk followed by a (forged-shape) empty final chunk is refused by shape.
        let two = seal_all(&data(CS as usize + 1), CS);
        let forged = [&two[..HEADER_LEN + SEALED], &[0u8; TAG_LEN][..]].concat();
        assert!(matches!(open_all(&forged), Err(Error::Malformed { .. })));
    }

    #[test]
    fn io_helpers_round_trip_and_report_sizes_and_digest() {
        let plain = data(200_000);
        let mut blob = Vec::new();
        let info = encrypt(&fk(), id(), CS, &plain[..], &mut blob).unwrap();
        assert_eq!(info.plaintext_len, 200_000);
        assert_eq!(info.blob_len, blob.len() as u64);
        assert_eq!(info.blob_sha256, sha256(&blob));
        let mut back = Vec::new();
        let info2 = decrypt(&fk(), id(), &blob[..], &mut back).unwrap();
        assert_eq!(back, plain);
        assert_eq!(info2, info);
        // Salts are fresh: two encryptions differ.
        let mut blob2 = Vec::new();
        encrypt(&fk(), id(), CS, &plain[..], &mut blob2).unwrap();
        assert_ne!(blob, blob2);
        let mut sink = Vec::new();
        assert_eq!(
            decrypt(&fk(), id(), &blob[..blob.len() - SEALED], &mut sink),
            Err(Error::Decrypt)
        );
    }
}
