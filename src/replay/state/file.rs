//! The state file container: a fixed header that tells a meterflow state from any other file and
//! says which format version wrote it, then the payload compressed with zstd.
//!
//! Layout (integers little-endian):
//!
//! | bytes | field                                                   |
//! |-------|---------------------------------------------------------|
//! | 0..8  | magic `MFSTATE\0`                                       |
//! | 8..10 | format version (this build writes and reads [`VERSION`]) |
//! | 10..12| flags, zero (a newer writer may set them: refused)      |
//! | 12..20| length of the payload in bytes                          |
//! | 20..24| CRC-32 of the payload                                   |
//! | 24..  | payload: one zstd frame                                 |
//!
//! The CRC catches a damaged payload (zstd's own checksum leaves the frame header out); the length
//! catches a truncated or appended one, so a reader never acts on part of a state.

use std::fmt;

/// The first bytes of every state file.
pub(crate) const MAGIC: [u8; 8] = *b"MFSTATE\0";

/// The format version this build writes; it reads this one only. Version 4: window jobs keep
/// fused slot rings and each series' log of open timestamps (see `engine::window`), and the
/// duplicates rule is part of the fingerprint. Version 5: each series carries its last reading
/// across a window edge, windows waiting for the series' next reading are kept, and the figures
/// count intervals beyond `max_gap` and windows with nothing integrated. Version 6: a clock's
/// future-skew guard keeps the reading it holds back whole (it is in no window until confirmed),
/// and each input series counts its readings dropped as too far ahead. A version 5 state cannot be
/// mapped: its held reading was already in a window, with no record of which.
pub(crate) const VERSION: u16 = 6;

const HEADER_LEN: usize = 24;

/// zstd level: state is written once per run, so a mid level is cheap and keeps files small.
const LEVEL: i32 = 3;

/// How many times its compressed size a payload may expand to: states of real runs expand about 5
/// times (200,000 series: 4.5 MB of file, 24 MB of payload).
const MAX_EXPANSION: u64 = 256;

/// The cap for small files, whose expansion says little.
const MIN_PAYLOAD_CAP: u64 = 64 << 20;

/// Why bytes are not a state this build can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than its header says (an interrupted copy, a cut file).
    Truncated { expected: u64, found: u64 },
    /// Not a meterflow state file at all.
    Foreign,
    /// Written by a newer meterflow.
    NewerVersion { version: u16 },
    /// Written by an older meterflow, in a format this one no longer reads.
    OlderVersion { version: u16 },
    /// Header or payload do not check out.
    Damaged(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { expected, found } => {
                write!(f, "truncated state file: {found} bytes where {expected} were written")
            }
            DecodeError::Foreign => write!(f, "not a meterflow state file (no MFSTATE header)"),
            DecodeError::NewerVersion { version } => write!(
                f,
                "state file format version {version} was written by a newer meterflow; this one reads version {VERSION}"
            ),
            DecodeError::OlderVersion { version } => write!(
                f,
                "state file format version {version} was written by an older meterflow; this one reads version {VERSION}: \
                 finish that stream with the meterflow that wrote it (run --state FILE --finish), or replay from the \
                 first input with a new state file"
            ),
            DecodeError::Damaged(why) => write!(f, "damaged state file: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Wraps `payload` in the container.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut encoder = zstd::Encoder::new(Vec::new(), LEVEL).expect("zstd accepts level 3");
    std::io::Write::write_all(&mut encoder, payload).expect("writing into a Vec does not fail");
    let body = encoder.finish().expect("finishing into a Vec does not fail");
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The payload of a container, or why there is none.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let magic_seen = bytes.len().min(MAGIC.len());
    if bytes[..magic_seen] != MAGIC[..magic_seen] {
        return Err(DecodeError::Foreign);
    }
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(DecodeError::Truncated { expected: HEADER_LEN as u64, found: bytes.len() as u64 });
    };
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version > VERSION {
        return Err(DecodeError::NewerVersion { version });
    }
    // Version 1 was written by the first releases with `--state`; 0 never was.
    if version == 0 {
        return Err(DecodeError::Damaged(format!("format version {version} was never written")));
    }
    if version < VERSION {
        return Err(DecodeError::OlderVersion { version });
    }
    if header[10..12] != [0, 0] {
        return Err(DecodeError::NewerVersion { version });
    }
    let mut length = [0; 8];
    length.copy_from_slice(&header[12..20]);
    let length = u64::from_le_bytes(length);
    let body = &bytes[HEADER_LEN..];
    let found = body.len() as u64;
    if found < length {
        return Err(DecodeError::Truncated { expected: HEADER_LEN as u64 + length, found: bytes.len() as u64 });
    }
    if found > length {
        return Err(DecodeError::Damaged(format!("{} bytes after the payload", found - length)));
    }
    let crc = u32::from_le_bytes([header[20], header[21], header[22], header[23]]);
    if crc32fast::hash(body) != crc {
        return Err(DecodeError::Damaged("payload checksum does not match".to_owned()));
    }
    decompress(body)
}

/// The payload, refused past [`MAX_EXPANSION`] times the compressed size (with a floor of
/// [`MIN_PAYLOAD_CAP`]): zstd compresses a run of zeros 30,000 to 1, so a 245 KB file with a valid
/// checksum would otherwise ask for gigabytes before postcard could refuse the contents.
fn decompress(body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let cap = (body.len() as u64).saturating_mul(MAX_EXPANSION).max(MIN_PAYLOAD_CAP);
    let decoder = zstd::Decoder::new(body).map_err(|e| DecodeError::Damaged(format!("payload: {e}")))?;
    let mut payload = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(decoder, cap + 1), &mut payload)
        .map_err(|e| DecodeError::Damaged(format!("payload: {e}")))?;
    if payload.len() as u64 > cap {
        return Err(DecodeError::Damaged(format!(
            "the payload expands past {cap} bytes, {MAX_EXPANSION} times its compressed size; a state written by \
             meterflow expands about 5 times"
        )));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..2000u32).flat_map(|i| (i % 97).to_le_bytes()).collect()
    }

    #[test]
    fn payload_comes_back_unchanged() {
        let payload = sample();
        let file = encode(&payload);
        assert_eq!(&file[..8], b"MFSTATE\0");
        assert_eq!(decode(&file), Ok(payload));
        assert_eq!(decode(&encode(&[])), Ok(Vec::new()));
    }

    #[test]
    fn every_cut_of_a_file_is_refused_as_truncated() {
        let file = encode(&sample());
        for len in 0..file.len() {
            match decode(&file[..len]) {
                Err(DecodeError::Truncated { found, .. }) => assert_eq!(found, len as u64),
                other => panic!("cut at {len}: {other:?}"),
            }
        }
    }

    #[test]
    fn bytes_appended_are_damage() {
        let mut file = encode(&sample());
        file.push(0);
        assert!(matches!(decode(&file), Err(DecodeError::Damaged(_))));
    }

    #[test]
    fn any_flipped_checksum_or_payload_byte_is_damage() {
        let file = encode(&sample());
        for at in 20..file.len() {
            let mut bad = file.clone();
            bad[at] ^= 0x40;
            assert!(matches!(decode(&bad), Err(DecodeError::Damaged(_))), "flip at {at} went unnoticed");
        }
    }

    #[test]
    fn other_files_are_foreign() {
        assert_eq!(decode(b"timestamp,asset,point,value\n"), Err(DecodeError::Foreign));
        assert_eq!(decode(b"MFX"), Err(DecodeError::Foreign));
        let mut file = encode(b"x");
        file[0] = b'm';
        assert_eq!(decode(&file), Err(DecodeError::Foreign));
    }

    #[test]
    fn other_versions_and_flags_are_refused_by_version() {
        let mut file = encode(b"x");
        file[8..10].copy_from_slice(&(VERSION + 1).to_le_bytes());
        assert_eq!(decode(&file), Err(DecodeError::NewerVersion { version: VERSION + 1 }));
        let mut file = encode(b"x");
        file[8..10].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(decode(&file), Err(DecodeError::OlderVersion { version: 1 }));
        let mut file = encode(b"x");
        file[10] = 1;
        assert_eq!(decode(&file), Err(DecodeError::NewerVersion { version: VERSION }));
        let mut file = encode(b"x");
        file[8] = 0;
        assert!(matches!(decode(&file), Err(DecodeError::Damaged(_))));
        // Version 3, main's before the window store of fused slots and repeat logs.
        let mut file = encode(b"x");
        file[8] = 3;
        assert_eq!(decode(&file), Err(DecodeError::OlderVersion { version: 3 }));
    }
}
