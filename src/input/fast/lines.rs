//! Cutting an input stream into chunks of whole lines, reusing the chunks' buffers.

use std::io::{self, Read};

/// Bytes a chunk holds before it is cut at its last newline: big enough that per-chunk costs
/// vanish, small enough that a few chunks in flight stay a few MiB. A chunk grows to hold a line
/// longer than this, and keeps that size for the rest of the input.
pub(crate) const CHUNK_BYTES: usize = 1 << 19;

/// An input being read chunk by chunk.
pub(crate) struct Source {
    inner: Box<dyn Read + Send>,
    /// Bytes read past the last whole line of the previous chunk.
    leftover: Vec<u8>,
    exhausted: bool,
}

impl Source {
    /// `leftover` holds bytes already read from `inner` (after the header).
    pub(crate) fn new(inner: Box<dyn Read + Send>, leftover: Vec<u8>) -> Source {
        Source { inner, leftover, exhausted: false }
    }

    /// What is left to read: the bytes read past the last chunk, then the rest of the input. An
    /// input that has ended is not read again: a terminal would wait for a second end of input.
    pub(crate) fn remainder(self) -> Box<dyn Read + Send> {
        let rest: Box<dyn Read + Send> = if self.exhausted { Box::new(io::empty()) } else { self.inner };
        Box::new(io::Cursor::new(self.leftover).chain(rest))
    }

    /// Reads the next whole lines of the input (its last line may lack a newline) into the start
    /// of `buffer` and returns how many bytes they take, 0 when the input is exhausted. `buffer`
    /// only ever grows, so its bytes stay initialised from one chunk to the next and are never
    /// zeroed again.
    pub(crate) fn fill(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize> {
        let mut len = self.leftover.len();
        if buffer.len() < len.max(CHUNK_BYTES) {
            buffer.resize(len.max(CHUNK_BYTES), 0);
        }
        buffer[..len].copy_from_slice(&self.leftover);
        self.leftover.clear();
        let mut searched = 0;
        let mut target = CHUNK_BYTES;
        loop {
            while !self.exhausted && len < target {
                if buffer.len() < target {
                    buffer.resize(target, 0);
                }
                match self.inner.read(&mut buffer[len..target]) {
                    Ok(0) => self.exhausted = true,
                    Ok(n) => {
                        len += n;
                        // A short read means no more data is ready (a pipe): hand out the whole
                        // lines so far rather than wait, so a live stream is not held back.
                        if len < target && memchr::memrchr(b'\n', &buffer[len - n..len]).is_some() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if self.exhausted {
                return Ok(len);
            }
            match memchr::memrchr(b'\n', &buffer[searched..len]) {
                Some(i) => {
                    let cut = searched + i + 1;
                    self.leftover.extend_from_slice(&buffer[cut..len]);
                    return Ok(cut);
                }
                // A line longer than a chunk: read on until it ends.
                None => {
                    searched = len;
                    target = len + CHUNK_BYTES;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call, like a pipe.
    struct Trickle(Vec<u8>, usize, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.2).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn chunks_end_at_newlines_and_lose_nothing() {
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        text.extend_from_slice(&[b'x'; 3 * CHUNK_BYTES]);
        text.extend_from_slice(b"\nlast line without newline");
        let mut source = Source::new(Box::new(Trickle(text[5..].to_vec(), 0, 10_000)), text[..5].to_vec());
        let (mut buffer, mut all, mut chunks) = (Vec::new(), Vec::new(), 0);
        loop {
            let len = source.fill(&mut buffer).unwrap();
            if len == 0 {
                break;
            }
            chunks += 1;
            assert!(buffer[..len].ends_with(b"\n") || buffer[..len].ends_with(b"newline"));
            all.extend_from_slice(&buffer[..len]);
        }
        assert_eq!(all, text);
        assert!(chunks > 3, "{chunks}");
        assert_eq!(source.fill(&mut buffer).unwrap(), 0);
    }
}
