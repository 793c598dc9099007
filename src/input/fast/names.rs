//! Names as the fast path sees them. Each parser (a worker thread, or the calling thread) numbers
//! the asset, point and model names it meets in its own order of first sight; a chunk lists the
//! names its parser met first in it, and the calling thread maps parser ids to the run's ids as
//! chunks arrive in input order. So a name is interned once per parser, not once per row, and the
//! run's ids still follow first appearance in the input.
//!
//! The calling thread hands each parser its map back ([`RunIds`]), and the parser writes the run's
//! ids itself for every name it has the run's id of: once a file's names have all been seen
//! (after its first chunks, for meter files), the calling thread has no reading to translate and
//! does not touch a chunk's readings before the jobs do.

use crate::input::name_field::{has_bom, has_control};
use crate::time::FixedLayoutCache;
use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Index of each kind of name in the arrays below.
pub(crate) const ASSET: usize = 0;
pub(crate) const POINT: usize = 1;
pub(crate) const MODEL: usize = 2;

/// A name in the hash table: its id, and for a name of 4 to 16 bytes its bytes as the two
/// overlapping [`words`], so a lookup compares the entry it probes without reaching for the name's
/// span and bytes (two more cache lines a row).
#[derive(Clone, Copy)]
struct Entry {
    words: (u64, u64),
    len: u32,
    id: u32,
}

/// The id of a slot that holds no name.
const VACANT: u32 = u32::MAX;

/// A slot that holds no name.
const EMPTY: Entry = Entry { words: (0, 0), len: 0, id: VACANT };

/// One parser's names of one kind, with their bytes.
#[derive(Default)]
pub(crate) struct NameTable {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// The hash table: open addressing with linear probing over a power of two of slots, at most
    /// three quarters full. A hit (every row's asset) is one probe or two and no call, where a
    /// general table's group probe took about 70 instructions.
    slots: Vec<Entry>,
    hasher: DefaultHashBuilder,
    /// The name to try first ([`NameTable::remember`]): meter files repeat a point name on every
    /// row.
    last: Option<Entry>,
    /// Points and models: whether a job reads each, by id (see `chunk::Layout::read`).
    pub(crate) read: Vec<bool>,
    /// The run's id of each name, by id, for the first names: those the calling thread has
    /// interned and handed back so far ([`Parser::learn`]).
    pub(crate) run: Vec<u32>,
}

impl NameTable {
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// When the bytes of `raw` from `at` begin with the remembered name (the caller tries it
    /// first where names repeat, as point names do): its id and where it ends in `raw`. The field
    /// is the name only if it ends there.
    #[inline]
    pub(crate) fn last_at(&self, raw: &[u8], at: usize) -> Option<(u32, usize)> {
        let last = self.last?;
        let end = at + last.len as usize;
        let field = raw.get(at..end)?;
        let same = if (4..=16).contains(&field.len()) {
            words(field) == last.words
        } else {
            let (s, e) = self.spans[last.id as usize];
            self.bytes[s..e] == *field
        };
        same.then_some((last.id, end))
    }

    /// The id of `name` and whether it is new; `None` when it is not UTF-8 or holds a byte-order
    /// mark (the general reader then reports it).
    #[inline]
    pub(crate) fn id(&mut self, name: &[u8]) -> Option<(u32, bool)> {
        let words = words(name);
        let hash = hash_name(name, words, &self.hasher);
        match self.probe(name, words, hash) {
            Some(id) => Some((id, false)),
            None => self.insert(name, words, hash),
        }
    }

    /// The id of `name` when the table holds it. A name it holds was a field's whole trimmed
    /// content: valid UTF-8 without a byte-order mark, and free of delimiters and newlines.
    #[inline]
    pub(crate) fn find(&self, name: &[u8]) -> Option<u32> {
        let words = words(name);
        self.probe(name, words, hash_name(name, words, &self.hasher))
    }

    #[inline(always)]
    fn probe(&self, name: &[u8], words: (u64, u64), hash: u64) -> Option<u32> {
        let short = (4..=16).contains(&name.len());
        // With no slots yet, the mask is all ones and the first probe finds nothing.
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = hash as usize & mask;
        while let Some(entry) = self.slots.get(at)
            && entry.id != VACANT
        {
            if entry.len as usize == name.len() && if short { entry.words == words } else { self.holds(entry.id, name) }
            {
                return Some(entry.id);
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Whether name `id` is `name`, for names without [`words`]. Out of line, so the probe's loop
    /// keeps only the slots in registers (inline, it loaded the name store's fields before the
    /// loop and spilled them to the stack on every look-up).
    #[inline(never)]
    fn holds(&self, id: u32, name: &[u8]) -> bool {
        let (s, e) = self.spans[id as usize];
        self.bytes[s..e] == *name
    }

    /// A name [`NameTable::id`] did not find: its new id.
    #[inline(never)]
    fn insert(&mut self, name: &[u8], words: (u64, u64), hash: u64) -> Option<(u32, bool)> {
        if std::str::from_utf8(name).is_err() || has_bom(name) || has_control(name) {
            return None;
        }
        let id = u32::try_from(self.spans.len()).ok().filter(|&id| id != VACANT)?;
        let len = u32::try_from(name.len()).ok()?;
        if (self.spans.len() + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.spans.push((start, self.bytes.len()));
        self.place(Entry { words, len, id }, hash);
        Some((id, true))
    }

    /// Puts `entry` into the first vacant slot from its hash's.
    fn place(&mut self, entry: Entry, hash: u64) {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while self.slots[at].id != VACANT {
            at = (at + 1) & mask;
        }
        self.slots[at] = entry;
    }

    /// Twice the slots (16 at first), every name placed again.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        for entry in old.into_iter().filter(|entry| entry.id != VACANT) {
            let (s, e) = self.spans[entry.id as usize];
            let hash = hash_name(&self.bytes[s..e], entry.words, &self.hasher);
            self.place(entry, hash);
        }
    }

    /// Makes `id` the name [`NameTable::last_at`] tries first.
    pub(crate) fn remember(&mut self, id: u32) {
        let (s, e) = self.spans[id as usize];
        let name = &self.bytes[s..e];
        self.last = Some(Entry { words: words(name), len: name.len() as u32, id });
    }
}

/// The two overlapping words (or half-words, below 8 bytes) that cover every byte of a name of 4
/// to 16 bytes: two such names of one length are equal exactly when their words are, which
/// compares them without a call to `memcmp`. Zeros for other lengths.
#[inline]
fn words(name: &[u8]) -> (u64, u64) {
    let n = name.len();
    match n {
        8..=16 => (word(name, 0), word(name, n - 8)),
        4..=7 => (half(name, 0), half(name, n - 4)),
        _ => (0, 0),
    }
}

#[inline]
fn word(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or_default())
}

#[inline]
fn half(s: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or_default()))
}

/// A hash of a name whose [`words`] are `(a, b)`. Meter and point names are mostly 4 to 16
/// bytes: those are hashed from their two words, mixed by one 64x64->128-bit multiply folded to 64
/// bits (as foldhash does), several times cheaper than hashing byte slices generically. Other
/// lengths go through `hasher`.
#[inline]
fn hash_name(name: &[u8], (a, b): (u64, u64), hasher: &DefaultHashBuilder) -> u64 {
    let n = name.len();
    if !(4..=16).contains(&n) {
        return hasher.hash_one(name);
    }
    let product = u128::from(a ^ 0x243f_6a88_85a3_08d3) * u128::from(b ^ 0x1319_8a2e_0370_7344 ^ n as u64);
    (product as u64) ^ ((product >> 64) as u64)
}

/// One parser's map from its ids to the run's, per kind, as the calling thread extends it; shared
/// with that parser.
#[derive(Default)]
pub(crate) struct RunIds {
    ids: Mutex<[Vec<u32>; 3]>,
    /// How many ids `ids` holds in all: the parser takes the lock only when this grew.
    count: AtomicUsize,
}

/// What one parser keeps from chunk to chunk.
#[derive(Default)]
pub struct Parser {
    /// Which parser this is, so the calling thread knows whose ids a chunk carries.
    pub(crate) id: usize,
    pub(crate) timestamps: FixedLayoutCache,
    pub(crate) names: [NameTable; 3],
    /// The run's ids of this parser's names, from the calling thread; a parser made apart from
    /// a [`Translation`] never learns any, and leaves every id to [`super::Chunk::intern`].
    run_ids: Arc<RunIds>,
    learned: usize,
}

impl Parser {
    /// Takes the run's ids the calling thread has added since the last call into the name
    /// tables. Once a chunk, so the lock is no cost; a later chunk may be parsed before the
    /// calling thread has interned an earlier one's names, which then stay the parser's ids.
    pub(crate) fn learn(&mut self) {
        let count = self.run_ids.count.load(Ordering::Acquire);
        if count == self.learned {
            return;
        }
        let ids = self.run_ids.ids.lock().unwrap_or_else(PoisonError::into_inner);
        for (table, ids) in self.names.iter_mut().zip(ids.iter()) {
            let known = table.run.len();
            table.run.extend_from_slice(&ids[known..]);
        }
        self.learned = ids.iter().map(Vec::len).sum();
    }
}

/// On the calling thread: the run's id of every parser id, per parser and kind.
#[derive(Default)]
pub struct Translation {
    maps: Vec<[Vec<u32>; 3]>,
    /// The same maps, shared with the parsers made by [`Translation::parser`].
    shared: Vec<Arc<RunIds>>,
}

impl Translation {
    /// A new parser, which the calling thread tells the run's ids of its names.
    pub fn parser(&mut self) -> Parser {
        let run_ids = Arc::new(RunIds::default());
        self.shared.push(Arc::clone(&run_ids));
        Parser { id: self.shared.len() - 1, run_ids, ..Parser::default() }
    }

    /// The map of `parser` for `kind`.
    pub(crate) fn map(&mut self, parser: usize, kind: usize) -> &mut Vec<u32> {
        if self.maps.len() <= parser {
            self.maps.resize_with(parser + 1, Default::default);
        }
        &mut self.maps[parser][kind]
    }

    /// Hands `parser` the ids its map gained since the last call.
    pub(crate) fn publish(&mut self, parser: usize) {
        let (Some(shared), Some(maps)) = (self.shared.get(parser), self.maps.get(parser)) else { return };
        let mut ids = shared.ids.lock().unwrap_or_else(PoisonError::into_inner);
        for (ids, map) in ids.iter_mut().zip(maps) {
            let known = ids.len();
            ids.extend_from_slice(&map[known..]);
        }
        shared.count.store(ids.iter().map(Vec::len).sum(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_order_of_first_sight() {
        let mut t = NameTable::default();
        assert_eq!(t.id(b"meter0002"), Some((0, true)));
        assert_eq!(t.id(b"meter0001"), Some((1, true)));
        assert_eq!(t.id(b"meter0002"), Some((0, false)));
        assert_eq!(t.id(b"meter0002"), Some((0, false)));
        assert_eq!(t.id(b"\xff"), None);
        assert_eq!(t.id("m\u{feff}1".as_bytes()), None);
        assert_eq!(t.len(), 2);
    }

    /// Names of every length from 0 to 20 bytes, among them pairs that share both words' ends or
    /// differ in one byte only, get one id each, found again by the same bytes only.
    #[test]
    fn ids_for_names_of_every_length() {
        let mut names: Vec<Vec<u8>> = Vec::new();
        for n in 0..=20usize {
            let base: Vec<u8> = (0..n).map(|i| b'a' + i as u8).collect();
            for i in 0..n {
                let mut other = base.clone();
                other[i] = b'#';
                names.push(other);
            }
            names.push(base);
        }
        let mut t = NameTable::default();
        for (id, name) in names.iter().enumerate() {
            assert_eq!(t.id(name), Some((id as u32, true)), "{name:?}");
        }
        for (id, name) in names.iter().enumerate().rev() {
            assert_eq!(t.id(name), Some((id as u32, false)), "{name:?}");
            t.remember(id as u32);
            let line = [&b"x,"[..], name, b",y"].concat();
            assert_eq!(t.last_at(&line, 2), Some((id as u32, 2 + name.len())), "{name:?}");
            if !name.is_empty() {
                assert_eq!(t.last_at(&line, 1), None, "{name:?}");
            }
        }
    }

    #[test]
    fn words_cover_every_byte() {
        for n in 4..=16 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + i as u8).collect();
            for i in 0..n {
                let mut c = a.clone();
                c[i] = b'#';
                assert_ne!(words(&a), words(&c), "{a:?} {i}");
            }
            assert_eq!(words(&a), words(&a.clone()));
        }
    }
}
