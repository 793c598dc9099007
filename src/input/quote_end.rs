//! An input must not end inside a quoted CSV field. The csv crate ends such a field, and its
//! record, at the end of the input as if the closing quote were there, so an export cut short in
//! its last value (`..."12` of `..."12.5"`) gave a row of 12 and the run exited 0. [`QuoteEnd`]
//! follows the quoting of the bytes the general reader reads, as the csv crate splits them (a
//! quote opens a quoted field only at the start of a field, two quotes inside one stand for a
//! quote, and a quote elsewhere is text), and fails the read that meets the end of the input
//! inside a quoted field, as a truncated gzip stream fails.

use memchr::{memchr, memchr3};
use std::fmt;
use std::io::{self, Read};

/// Where the bytes read so far leave the CSV quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a field (also of a record).
    FieldStart,
    /// Inside a field that did not start with a quote: a quote is text.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// A quote inside a quoted field: it closes the field unless another quote follows.
    QuoteInQuoted,
}

/// A source whose end must not fall inside a quoted field.
pub(crate) struct QuoteEnd<R> {
    source: R,
    delimiter: u8,
    quoting: Quoting,
}

/// The error of a read that met the end of the input inside a quoted field, for the reader to
/// name with its file and the line of the record it cut.
#[derive(Debug)]
pub(crate) struct CutShort;

impl fmt::Display for CutShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a quoted field of this row has no closing quote: the input ends inside it (a file cut short?), so the \
             row would be read from part of its text",
        )
    }
}

impl std::error::Error for CutShort {}

impl<R: Read> QuoteEnd<R> {
    /// `source` split into fields by `delimiter`, read from the start of a record.
    pub(crate) fn new(source: R, delimiter: u8) -> QuoteEnd<R> {
        QuoteEnd { source, delimiter, quoting: Quoting::FieldStart }
    }

    fn follow(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else { return };
        let delimiter = self.delimiter;
        let ends_field = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
        // Most pieces hold no quote: then only their last byte tells where they leave a field
        // that is not quoted.
        if matches!(self.quoting, Quoting::FieldStart | Quoting::Unquoted) && memchr(b'"', bytes).is_none() {
            self.quoting = if ends_field(last) { Quoting::FieldStart } else { Quoting::Unquoted };
            return;
        }
        // A field at a time: inside one only its end (a quote, or a delimiter or line end)
        // changes anything, and the search for it is vectorised.
        let mut at = 0;
        while at < bytes.len() {
            let (skip, then) = match self.quoting {
                Quoting::Quoted => match memchr(b'"', &bytes[at..]) {
                    Some(i) => (i + 1, Quoting::QuoteInQuoted),
                    None => break,
                },
                Quoting::Unquoted => match memchr3(delimiter, b'\n', b'\r', &bytes[at..]) {
                    Some(i) => (i + 1, Quoting::FieldStart),
                    None => break,
                },
                Quoting::FieldStart | Quoting::QuoteInQuoted if bytes[at] == b'"' => (1, Quoting::Quoted),
                Quoting::FieldStart | Quoting::QuoteInQuoted if ends_field(bytes[at]) => (1, Quoting::FieldStart),
                Quoting::FieldStart | Quoting::QuoteInQuoted => (1, Quoting::Unquoted),
            };
            at += skip;
            self.quoting = then;
        }
    }
}

impl<R: Read> Read for QuoteEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read(buf)?;
        self.follow(&buf[..n]);
        if n == 0 && !buf.is_empty() && self.quoting == Quoting::Quoted {
            return Err(io::Error::other(CutShort));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What reading `text` whole in pieces of `piece` bytes gives: the bytes, or the error.
    fn read_all(text: &[u8], piece: usize) -> io::Result<Vec<u8>> {
        let mut reader = QuoteEnd::new(text, b',');
        let mut out = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn only_an_end_inside_a_quoted_field_fails() {
        let whole: [&[u8]; 8] = [
            b"a,b\n1,2",
            b"a,b\n1,\"2\"",
            b"a,b\n1,\"2\"\"\"",
            b"a,b\n1,\"\"",
            b"a,b\n1,x\"2",
            b"a,b\n1,\"2\"x\n",
            b"a,b\r\n\"1\r\n2\",3\r\n",
            b"",
        ];
        let cut: [&[u8]; 7] = [
            b"a,b\n1,\"2",
            b"a,b\n1,\"2\"\"",
            b"a,b\n\"1\n2",
            b"a,b\n1,\"",
            b"\"a,b\n1,2\n",
            b"\"a\",\"b\"\n\"1\",\"x\n\"\"\n",
            b"a,b\n\"1\",\"2\"\r\n3,\"\"\"",
        ];
        for piece in [1, 2, 3, 64] {
            for text in whole {
                assert_eq!(read_all(text, piece).unwrap(), text, "{:?}", String::from_utf8_lossy(text));
            }
            for text in cut {
                let e = read_all(text, piece).unwrap_err();
                assert!(
                    e.get_ref().is_some_and(|e| e.is::<CutShort>()),
                    "{:?} in pieces of {piece}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    /// The rule follows the csv crate's own splitting, on random inputs of the bytes that matter:
    /// an input ends inside a quoted field exactly when a line `Z,Z` added after a line end is
    /// not a record of its own (the quoted field takes it as text).
    #[test]
    fn it_agrees_with_the_csv_crate_on_random_inputs() {
        let alphabet = b"ab,\"\"\n\r ";
        let mut seed = 11u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let (mut inside, mut outside) = (0, 0);
        for _ in 0..5000 {
            let len = (next() % 24) as usize;
            let text: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let added = [text.as_slice(), b"\nZ,Z\n"].concat();
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(added.as_slice());
            let last = csv.byte_records().map(Result::unwrap).last().unwrap();
            let quoted = last != vec!["Z", "Z"];
            assert_eq!(
                read_all(&text, 1 + (next() % 4) as usize).is_err(),
                quoted,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            if quoted { inside += 1 } else { outside += 1 }
        }
        assert!(inside > 500 && outside > 500, "{inside} {outside}");
    }
}
