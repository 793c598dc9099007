//! Where input bytes come from and what they look like before CSV parsing: a file or stdin,
//! decompressed when gzip (`.gz`, several members allowed) or zstd (`.zst`) by file extension or,
//! failing that, by magic bytes (so compressed stdin works too); then the header line is looked at
//! once to drop a UTF-8 byte-order mark, to detect the delimiter and to see CRLF line ends, which
//! are turned into LF before CSV parsing because the csv crate reports the line of a record one
//! too low after a CRLF (rust-csv issue 395) and messages must name the right line.

use super::live::{self, Idle};
use super::stop::Stop;
use anyhow::{Context, Result};
use std::io::{self, BufRead, BufReader, Cursor, Read};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BOM: &[u8] = b"\xef\xbb\xbf";
/// The delimiters told apart by detection, in order of preference on a tie.
const DETECTED: &[u8] = b",;\t";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Plain,
    Gzip,
    Zstd,
}

/// Opens an input path for reading, decompressed; `-` is stdin.
pub fn open(path: &str) -> Result<Box<dyn Read + Send>> {
    open_watched(path, &Idle::default(), &Stop::default())
}

/// [`open`], and a live input (see [`live`]) calls `idle` before each read that would block and
/// ends when `stop` is requested while it waits.
pub fn open_watched(path: &str, idle: &Idle, stop: &Stop) -> Result<Box<dyn Read + Send>> {
    // Unlocked: a parsing thread may read it. Reads go through a 64 KiB buffer, so the lock taken
    // per read costs nothing measurable.
    let raw = live::open_raw(path, idle, stop).with_context(|| format!("failed to open input {path}"))?;
    let lower = path.to_ascii_lowercase();
    let by_name = if lower.ends_with(".gz") {
        Some(Codec::Gzip)
    } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
        Some(Codec::Zstd)
    } else {
        None
    };
    let (codec, raw) = match by_name {
        Some(codec) => (codec, raw),
        None => sniff_codec(raw).with_context(|| format!("failed to read input {path}"))?,
    };
    let reader = BufReader::with_capacity(1 << 16, raw);
    Ok(match codec {
        Codec::Plain => Box::new(reader),
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Codec::Zstd => {
            Box::new(zstd::Decoder::with_buffer(reader).with_context(|| format!("failed to read zstd input {path}"))?)
        }
    })
}

/// The codec the first bytes of `raw` say, and `raw` with the bytes read put back. A pipe may hand
/// them over a few at a time (a writer's first short write), so reads go on while what has come is
/// the start of a magic number, and stop as soon as it is not: a plain live input is not held back
/// for bytes not yet written. Each read asks for 64 KiB, as the buffered reads after it do: stdin
/// serves a smaller read from a buffer of its own, filled from the pipe, and the bytes it holds
/// there would wait unseen while a live input's reader waits for the pipe.
fn sniff_codec(mut raw: Box<dyn Read + Send>) -> io::Result<(Codec, Box<dyn Read + Send>)> {
    let mut head = vec![0u8; 1 << 16];
    let mut len = 0;
    while [GZIP_MAGIC, ZSTD_MAGIC].iter().any(|magic| magic.len() > len && magic.starts_with(&head[..len])) {
        match raw.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(len);
    let codec = if head.starts_with(GZIP_MAGIC) {
        Codec::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Codec::Zstd
    } else {
        Codec::Plain
    };
    Ok((codec, Box::new(Cursor::new(head).chain(raw))))
}

/// The source with its BOM dropped and CRLF line ends made LF, and the delimiter most frequent
/// outside quotes in the header line (`,` when none occurs).
pub(crate) fn prepare(source: Box<dyn Read + Send>) -> io::Result<(Box<dyn Read + Send>, u8)> {
    let mut reader = BufReader::with_capacity(1 << 16, source);
    let mut header = Vec::new();
    reader.read_until(b'\n', &mut header)?;
    if header.starts_with(BOM) {
        header.drain(..BOM.len());
    }
    let delimiter = detect_delimiter(&header);
    let prepared: Box<dyn Read + Send> = if header.ends_with(b"\r\n") {
        Box::new(CrlfToLf { inner: BufReader::new(Cursor::new(header).chain(reader)), pending_cr: false })
    } else {
        Box::new(Cursor::new(header).chain(reader))
    };
    Ok((prepared, delimiter))
}

/// Drops each `\r` directly followed by `\n`.
struct CrlfToLf<R> {
    inner: R,
    /// A `\r` ended the previous chunk: whether it is kept depends on the next byte.
    pending_cr: bool,
}

impl<R: BufRead> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n == 0 && !out.is_empty() {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                if std::mem::take(&mut self.pending_cr) {
                    out[0] = b'\r';
                    return Ok(1);
                }
                return Ok(0);
            }
            if std::mem::take(&mut self.pending_cr) && chunk[0] != b'\n' {
                out[n] = b'\r';
                n += 1;
            }
            let mut i = 0;
            while i < chunk.len() && n < out.len() {
                let b = chunk[i];
                i += 1;
                if b == b'\r' {
                    match chunk.get(i) {
                        Some(b'\n') => continue,
                        None => {
                            self.pending_cr = true;
                            break;
                        }
                        Some(_) => {}
                    }
                }
                out[n] = b;
                n += 1;
            }
            self.inner.consume(i);
        }
        Ok(n)
    }
}

/// `--max-line-bytes`: hands out the bytes of `inner` until a line grows past `cap` bytes, then
/// fails with the file and line, so a line of gigabytes (also one a small `.gz` decompresses to)
/// stops the run with a message instead of holding the whole line in memory. It wraps the
/// decompressed stream, so compressed and plain input are bounded alike.
pub(crate) struct LineCap<R> {
    inner: R,
    file: String,
    cap: u64,
    /// The line being read (1 for the header) and its bytes so far.
    line: u64,
    run: u64,
}

impl<R> LineCap<R> {
    pub(crate) fn new(inner: R, file: &str, cap: u64) -> LineCap<R> {
        LineCap { inner, file: file.to_string(), cap, line: 1, run: 0 }
    }

    fn too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{}: a line longer than {} bytes (--max-line-bytes)", self.file, self.line, self.cap),
        )
    }
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &out[..n]) {
            if self.run + (end - start) as u64 > self.cap {
                return Err(self.too_long());
            }
            self.line += 1;
            self.run = 0;
            start = end + 1;
        }
        self.run += (n - start) as u64;
        if self.run > self.cap {
            return Err(self.too_long());
        }
        Ok(n)
    }
}

/// The delimiter most frequent outside quotes in `header` (`,` when none occurs).
pub(crate) fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; DETECTED.len()];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(k) = DETECTED.iter().position(|&d| d == b) {
            counts[k] += 1;
        }
    }
    let best = (0..DETECTED.len()).rev().max_by_key(|&k| counts[k]).unwrap_or(0);
    if counts[best] == 0 { b',' } else { DETECTED[best] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn delimiter_detection() {
        assert_eq!(detect_delimiter(b"Date;Time;Global_active_power\r\n"), b';');
        assert_eq!(detect_delimiter(b"timestamp,asset,point,value\n"), b',');
        assert_eq!(detect_delimiter(b"timestamp\tasset\tvalue\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(detect_delimiter(b"timestamp\n"), b',');
        assert_eq!(detect_delimiter(b"a;b,c\n"), b',');
    }

    fn read(source: Box<dyn Read + Send>) -> String {
        let mut text = String::new();
        let (mut prepared, _) = prepare(source).unwrap();
        prepared.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn bom_is_dropped_and_crlf_becomes_lf() {
        let bytes = b"\xef\xbb\xbftimestamp;value\r\n1;2\r\n3\r;4\r\n".to_vec();
        assert_eq!(read(Box::new(Cursor::new(bytes))), "timestamp;value\n1;2\n3\r;4\n");
        let lf = b"timestamp;value\n1;2\r\n".to_vec();
        assert_eq!(read(Box::new(Cursor::new(lf))), "timestamp;value\n1;2\r\n");
    }

    /// Reads one byte at a time, so every `\r` ends a chunk.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.get(self.1), out.first_mut()) {
                (Some(&b), Some(slot)) => {
                    *slot = b;
                    self.1 += 1;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn crlf_split_across_chunks() {
        let text = b"a\r\nb\rc\r\n\r".to_vec();
        let mut out = Vec::new();
        CrlfToLf { inner: BufReader::with_capacity(1, Trickle(text, 0)), pending_cr: false }
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"a\nb\rc\n\r");
    }

    fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path.to_str().unwrap().to_string())
    }

    const TEXT: &str = "timestamp,asset,point,value\n1970-01-01T00:00:01Z,m1,Reading,1\n";

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_by_extension_and_by_magic_with_several_members() {
        let mut bytes = gzip("timestamp,asset,point,value\n");
        bytes.extend(gzip("1970-01-01T00:00:01Z,m1,Reading,1\n"));
        for name in ["in.csv.gz", "in.csv"] {
            let (_dir, path) = temp_file(name, &bytes);
            assert_eq!(read(open(&path).unwrap()), TEXT, "{name}");
        }
    }

    #[test]
    fn zstd_by_extension_and_by_magic() {
        let bytes = zstd::encode_all(TEXT.as_bytes(), 3).unwrap();
        for name in ["in.csv.zst", "in.dat"] {
            let (_dir, path) = temp_file(name, &bytes);
            assert_eq!(read(open(&path).unwrap()), TEXT, "{name}");
        }
    }

    /// Hands out one byte per read, as a pipe does when its writer's first writes are short.
    struct ByteAtATime(Cursor<Vec<u8>>);

    impl Read for ByteAtATime {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    struct FailingRead;

    impl Read for FailingRead {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("not written yet"))
        }
    }

    /// The magic number of a compressed stdin arriving a byte at a time is still recognised (it was
    /// looked for in the first read alone, which then held one byte: zstd and gzip bytes were read
    /// as text, and the run failed on a header of binary noise); plain text is read unchanged.
    #[test]
    fn magic_bytes_that_arrive_one_at_a_time() {
        let zstd = zstd::encode_all(TEXT.as_bytes(), 3).unwrap();
        for (bytes, codec) in [(zstd, Codec::Zstd), (gzip(TEXT), Codec::Gzip), (TEXT.as_bytes().to_vec(), Codec::Plain)]
        {
            let (found, mut rest) = sniff_codec(Box::new(ByteAtATime(Cursor::new(bytes.clone())))).unwrap();
            assert_eq!(found, codec);
            let mut all = Vec::new();
            rest.read_to_end(&mut all).unwrap();
            assert_eq!(all, bytes, "{codec:?}: the bytes looked at are put back");
        }
        // The start of a magic number broken off is plain text.
        let (found, _) = sniff_codec(Box::new(ByteAtATime(Cursor::new(vec![0x28, 0xb5, 0x2f, b'\n'])))).unwrap();
        assert_eq!(found, Codec::Plain);
        // A first byte that starts no magic number is all that is read: a live input's next bytes
        // may not have been written yet (here, a second read would fail).
        let first_only = Cursor::new(b"t".to_vec()).chain(FailingRead);
        assert_eq!(sniff_codec(Box::new(first_only)).unwrap().0, Codec::Plain);
    }

    #[test]
    fn a_gz_name_on_plain_text_is_an_error() {
        let (_dir, path) = temp_file("in.csv.gz", TEXT.as_bytes());
        let mut text = String::new();
        let err = open(&path).unwrap().read_to_string(&mut text).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }
}
