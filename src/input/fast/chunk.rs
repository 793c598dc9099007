//! One chunk of whole input lines and its parse into readings: a splitter that touches each byte
//! about once ([`super::fields`]), names numbered by the parser ([`super::names`]), timestamps through
//! the fixed-layout cache and values through an exact short-decimal path. Nothing is allocated per
//! row: a chunk's buffers are reused from one chunk to the next.
//!
//! The parse takes only lines it can read with certainty, with exactly the result the general
//! reader ([`crate::input::Reader`]) would give. At the first other line (quotes, a CR anywhere in a
//! line, a missing-value marker, a malformed field, a blank line, ...) it stops and records where,
//! and the general reader takes the input over from that line: so every error message, skip rule
//! and counter stays the general reader's.

use super::fields::{RepeatedField, ends_field, field_end, parse_short_decimal_prefix, trimmed_field};
use super::layout::{Layout, Role};
use super::lines::Source;
use super::names::{ASSET, MODEL, NameTable, POINT, Parser, Translation};
use crate::engine::names::Names;
use crate::engine::{NO_MODEL, Reading, UNREAD_ASSET};
use crate::input::name_field::passes_name_checks;
use crate::time::FixedLayoutCache;
use memchr::{memchr, memchr2};
use std::io;

/// Names a chunk's parser met first in it: their spans in the chunk, in id order from `first`.
#[derive(Default)]
struct Fresh {
    first: usize,
    spans: Vec<(usize, usize)>,
}

/// A run of whole lines of one input and what the fast path read from it.
#[derive(Default)]
pub struct Chunk {
    /// Position in the input, counted from 0.
    pub(crate) seq: u64,
    /// The lines are `buffer[..len]`; the rest is room kept for the next use.
    buffer: Vec<u8>,
    len: usize,
    /// One reading per line taken, in line order, with the run's name ids once
    /// [`Chunk::intern`] has translated those listed in `untranslated`.
    pub readings: Vec<Reading>,
    /// The readings (by index) that the parser left with its own ids: it did not know the run's
    /// id of one of their names yet.
    untranslated: Vec<usize>,
    /// The parser that parsed the chunk, and the names it met first here, by kind.
    parser: usize,
    fresh: [Fresh; 3],
    /// Offset in [`Chunk::raw`] of the first line the fast path did not take; the general reader
    /// reads the input from there.
    pub(crate) stop: Option<usize>,
    /// The input ended before this chunk (it holds no bytes).
    pub(crate) end: bool,
    /// Reading the input failed here.
    pub(crate) error: Option<io::Error>,
}

impl Chunk {
    /// A chunk holding `text`, which must be whole lines.
    pub fn from_text(text: &[u8]) -> Chunk {
        Chunk { buffer: text.to_vec(), len: text.len(), ..Chunk::default() }
    }

    /// The chunk's lines.
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buffer[..self.len]
    }

    /// Takes the next lines of `source` in place of this chunk's; records the end of input or a
    /// read error instead when there are none.
    pub(crate) fn fill(&mut self, source: &mut Source) {
        self.end = false;
        self.error = None;
        self.len = 0;
        match source.fill(&mut self.buffer) {
            Ok(0) => self.end = true,
            Ok(len) => self.len = len,
            Err(e) => self.error = Some(e),
        }
    }

    /// Parses the lines into `readings`, stopping at the first line the fast path does not take.
    pub fn parse(&mut self, layout: &Layout, parser: &mut Parser) {
        // The decimal separator is a constant of each instance, so the usual one costs nothing.
        if layout.numbers.decimal == b',' {
            self.parse_with::<b','>(layout, parser);
        } else {
            self.parse_with::<b'.'>(layout, parser);
        }
    }

    fn parse_with<const DECIMAL: u8>(&mut self, layout: &Layout, parser: &mut Parser) {
        self.readings.clear();
        self.untranslated.clear();
        self.stop = None;
        parser.learn();
        self.parser = parser.id;
        for (fresh, table) in self.fresh.iter_mut().zip(&parser.names) {
            fresh.first = table.len();
            fresh.spans.clear();
        }
        let raw = &self.buffer[..self.len];
        let mut line = Line {
            layout,
            names: &mut parser.names,
            fresh: &mut self.fresh,
            timestamps: &mut parser.timestamps,
            asset_width: 0,
            point: RepeatedField::none(PointIds::default()),
            point_missed: u32::MAX,
        };
        // `"` and `\r` are the only bytes that can make a line's fields or line number differ from
        // a plain split (quoting; CR ending a record, and the csv crate numbering the lines after
        // a CRLF one too low, rust-csv issue 395), so a line holding either is the general
        // reader's. One vectorised scan tells whether the chunk has any, and chunks without them
        // skip every per-line check. (A file whose header ends in CRLF reaches here as LF.)
        let careful = memchr2(b'"', b'\r', raw).is_some();
        let canonical = layout.roles == [Role::Timestamp, Role::Asset, Role::Point, Role::Value];
        let mut pos = 0;
        while pos < raw.len() {
            let parsed = if careful {
                let newline = memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i);
                if memchr2(b'"', b'\r', &raw[pos..newline]).is_some() {
                    None
                } else {
                    parse_line::<DECIMAL>(&raw[..newline], pos, &mut line).map(|(r, _, p)| (r, newline + 1, p))
                }
            } else if canonical {
                // Pushed here, not merged with the general line's result: merged, the reading
                // went through a stack copy whose 16-byte reloads of the fields just stored
                // stalled on store forwarding (half of this function's `perf` samples).
                if let Some((reading, next, parser_ids)) = parse_canonical_line::<DECIMAL>(raw, pos, &mut line) {
                    if parser_ids {
                        self.untranslated.push(self.readings.len());
                    }
                    self.readings.push(reading);
                    pos = next;
                    continue;
                }
                parse_line::<DECIMAL>(raw, pos, &mut line)
            } else {
                parse_line::<DECIMAL>(raw, pos, &mut line)
            };
            match parsed {
                Some((reading, next, parser_ids)) => {
                    if parser_ids {
                        self.untranslated.push(self.readings.len());
                    }
                    self.readings.push(reading);
                    pos = next;
                }
                None => {
                    // Names first met on the line not taken are the general reader's to meet.
                    for fresh in &mut self.fresh {
                        fresh.spans.retain(|&(s, _)| s < pos);
                    }
                    self.stop = Some(pos);
                    return;
                }
            }
        }
    }

    /// Interns the names the parser met first in this chunk, in the order it met them, hands
    /// their run ids to the parser, and gives the readings the parser left with its own ids the
    /// run's.
    pub fn intern(&mut self, names: &mut Names, translation: &mut Translation) {
        let raw = &self.buffer[..self.len];
        let tables = [&mut names.assets, &mut names.points, &mut names.models];
        for ((kind, fresh), table) in self.fresh.iter().enumerate().zip(tables) {
            // A parser's chunks come here in its order, each adding the names it met first, so
            // the map holds `fresh.first` ids already.
            let map = translation.map(self.parser, kind);
            for &(s, e) in &fresh.spans {
                map.push(table.intern(&String::from_utf8_lossy(&raw[s..e])));
            }
        }
        if self.fresh.iter().any(|fresh| !fresh.spans.is_empty()) {
            translation.publish(self.parser);
        }
        if self.untranslated.is_empty() {
            return;
        }
        let assets = std::mem::take(translation.map(self.parser, ASSET));
        let points = std::mem::take(translation.map(self.parser, POINT));
        let models = std::mem::take(translation.map(self.parser, MODEL));
        for &i in &self.untranslated {
            let r = &mut self.readings[i];
            // A reading no job reads has no asset id to translate.
            if let Some(&asset) = assets.get(r.asset as usize) {
                r.asset = asset;
            }
            r.point = points[r.point as usize];
            if r.model != NO_MODEL {
                r.model = models[r.model as usize];
            }
        }
        *translation.map(self.parser, ASSET) = assets;
        *translation.map(self.parser, POINT) = points;
        *translation.map(self.parser, MODEL) = models;
    }
}

/// What parsing a line needs besides its bytes.
struct Line<'a> {
    layout: &'a Layout,
    names: &'a mut [NameTable; 3],
    fresh: &'a mut [Fresh; 3],
    timestamps: &'a mut FixedLayoutCache,
    /// The length of the last asset name the canonical line scanned for ([`Line::known_asset`]).
    asset_width: usize,
    /// The canonical line's last point field. Its run id and whether a job reads it stay true for
    /// the chunk: the parser learns run ids only before a chunk.
    point: RepeatedField<PointIds>,
    /// The point of the last line whose point field `point` did not hold.
    point_missed: u32,
}

/// A point's parser id, its run id if the parser knows it, and whether a job reads it.
#[derive(Clone, Copy, Default)]
struct PointIds {
    id: u32,
    run: Option<u32>,
    reads: bool,
}

/// Parses the line at `start` of `raw` (which ends at a newline or at the end of `raw`); returns
/// the reading, where the next line starts and whether the reading kept the parser's ids (see
/// [`Line::run_ids`]), or `None` when the fast path does not take it.
#[inline]
fn parse_line<const DECIMAL: u8>(raw: &[u8], start: usize, line: &mut Line<'_>) -> Option<(Reading, usize, bool)> {
    let delimiter = line.layout.delimiter;
    let mut reading = Reading { asset: 0, point: 0, model: NO_MODEL, ts: 0, value: 0.0, quality: 0 };
    let last = line.layout.roles.len() - 1;
    let mut pos = start;
    let mut asset = (0, 0);
    for (column, &role) in line.layout.roles.iter().enumerate() {
        // Timestamps, values and repeated names are parsed where they start and end where their
        // syntax ends; other fields end at the next delimiter. Either way the field must end
        // where a delimiter (or, for the last column, the line) does.
        let end = match role {
            Role::Timestamp => {
                let (ts, len) = line.timestamps.parse_prefix(&raw[pos..])?;
                reading.ts = ts;
                pos + len
            }
            Role::Value => match parse_short_decimal_prefix::<DECIMAL>(&raw[pos..]) {
                Some((v, len)) if ends_field(raw, pos + len, delimiter) => {
                    reading.value = v;
                    pos + len
                }
                _ => {
                    let end = field_end(raw, pos, delimiter);
                    reading.value = line.layout.numbers.parse(raw[pos..end].trim_ascii())?;
                    end
                }
            },
            Role::Asset => {
                let (s, e, end) = trimmed_field(raw, pos, delimiter);
                asset = (s, e);
                end
            }
            Role::Point => {
                let (id, end) = line.name(POINT, raw, pos)?;
                reading.point = id?;
                end
            }
            // An empty model means "every model".
            Role::Model => {
                let (id, end) = line.name(MODEL, raw, pos)?;
                reading.model = id.unwrap_or(NO_MODEL);
                end
            }
            Role::Other => field_end(raw, pos, delimiter),
        };
        let ends_line = match raw.get(end) {
            None | Some(b'\n') => true,
            Some(&b) if b == delimiter => false,
            Some(_) => return None,
        };
        if ends_line != (column == last) {
            return None;
        }
        pos = end + 1;
    }
    reading.asset = line.asset(raw, asset, reading.point, reading.model)?;
    let parser_ids = match line.run_ids(reading.asset, reading.point, reading.model) {
        Some((asset, point, model)) => {
            (reading.asset, reading.point, reading.model) = (asset, point, model);
            false
        }
        None => true,
    };
    Some((reading, pos.min(raw.len()), parser_ids))
}

impl Line<'_> {
    /// The run's ids of a line's asset, point and model (the parser's ids), or `None` while the
    /// parser does not know one of them: the reading then keeps the parser's ids for
    /// [`Chunk::intern`] to translate.
    #[inline(always)]
    fn run_ids(&self, asset: u32, point: u32, model: u32) -> Option<(u32, u32, u32)> {
        let asset = self.asset_run_id(asset)?;
        let point = *self.names[POINT].run.get(point as usize)?;
        let model = match model {
            NO_MODEL => NO_MODEL,
            model => *self.names[MODEL].run.get(model as usize)?,
        };
        Some((asset, point, model))
    }

    /// The run's id of a line's asset (the parser's id), [`UNREAD_ASSET`] for a line no job reads,
    /// or `None` while the parser does not know it.
    #[inline(always)]
    fn asset_run_id(&self, asset: u32) -> Option<u32> {
        match asset {
            UNREAD_ASSET => Some(UNREAD_ASSET),
            asset => self.names[ASSET].run.get(asset as usize).copied(),
        }
    }

    /// The point or model field (`kind`) at `pos`: its id (`None` when empty after trimming) and
    /// where it ends; `None` when it is not UTF-8.
    #[inline(always)]
    fn name(&mut self, kind: usize, raw: &[u8], pos: usize) -> Option<(Option<u32>, usize)> {
        let delimiter = self.layout.delimiter;
        let table = &mut self.names[kind];
        // Meter files repeat the point (and model) name on every row: when the last name is
        // what follows, the field ends right after it.
        if let Some((id, end)) = table.last_at(raw, pos)
            && ends_field(raw, end, delimiter)
        {
            return Some((Some(id), end));
        }
        let (s, e, end) = trimmed_field(raw, pos, delimiter);
        if s == e {
            return Some((None, end));
        }
        let (id, new) = table.id(&raw[s..e])?;
        table.remember(id);
        if new {
            self.fresh[kind].spans.push((s, e));
            let read = self.layout.reads(kind, &raw[s..e]);
            self.names[kind].read.push(read);
        }
        Some((Some(id), end))
    }

    /// Whether a job reads a line of `point` and `model` (parser ids).
    #[inline(always)]
    fn reads(&self, point: u32, model: u32) -> bool {
        self.names[POINT].read[point as usize] && (model == NO_MODEL || self.names[MODEL].read[model as usize])
    }

    /// The id and end of the asset field at `at` when the field is a name this parser knows of
    /// the length of the last one scanned: meter names mostly have one length, and a known name
    /// has no delimiter, newline or white space at its ends, so one lookup replaces the scan.
    #[inline(always)]
    fn known_asset(&self, raw: &[u8], at: usize) -> Option<(u32, usize)> {
        let end = at + self.asset_width;
        if raw.get(end) != Some(&self.layout.delimiter) {
            return None;
        }
        Some((self.names[ASSET].find(&raw[at..end])?, end))
    }

    /// The id of the asset at `span` of a line of `point` and `model` (parser ids), or
    /// [`UNREAD_ASSET`] when no job reads the line: that name is checked as the general reader
    /// checks it, and not kept. `None` when the general reader is to take the line.
    #[inline(always)]
    fn asset(&mut self, raw: &[u8], (s, e): (usize, usize), point: u32, model: u32) -> Option<u32> {
        if s == e {
            return None;
        }
        let name = &raw[s..e];
        if !self.reads(point, model) {
            return passes_name_checks(name).then_some(UNREAD_ASSET);
        }
        let (id, new) = self.names[ASSET].id(name)?;
        if new {
            self.fresh[ASSET].spans.push((s, e));
        }
        Some(id)
    }
}

/// [`parse_line`] for the usual layout, `timestamp,asset,point,value`, with plain numbers:
/// straight-line code, without the per-column dispatch. `None` leaves the line to [`parse_line`].
#[inline(always)]
fn parse_canonical_line<const DECIMAL: u8>(
    raw: &[u8],
    start: usize,
    line: &mut Line<'_>,
) -> Option<(Reading, usize, bool)> {
    let delimiter = line.layout.delimiter;
    let (ts, len) = line.timestamps.parse_prefix(&raw[start..])?;
    let after_timestamp = start + len;
    if raw.get(after_timestamp) != Some(&delimiter) {
        return None;
    }
    let at = after_timestamp + 1;
    let known = line.known_asset(raw, at);
    let (asset_start, asset_end, after_asset) = match known {
        Some((_, end)) => (at, end, end),
        None => {
            let field = trimmed_field(raw, at, delimiter);
            line.asset_width = field.1 - field.0;
            field
        }
    };
    if raw.get(after_asset) != Some(&delimiter) {
        return None;
    }
    let at = after_asset + 1;
    let after_point = match line.point.at(raw, at) {
        Some(end) => end,
        None => {
            let (id, end) = line.name(POINT, raw, at)?;
            if raw.get(end) != Some(&delimiter) {
                return None;
            }
            let id = id?;
            let ids =
                PointIds { id, run: line.names[POINT].run.get(id as usize).copied(), reads: line.reads(id, NO_MODEL) };
            // Kept once the point repeats: lines whose points take turns would only pay for it.
            line.point =
                if id == line.point_missed { RepeatedField::new(raw, at, end, ids) } else { RepeatedField::none(ids) };
            line.point_missed = id;
            end
        }
    };
    let (value, len) = parse_short_decimal_prefix::<DECIMAL>(&raw[after_point + 1..])?;
    let end = after_point + 1 + len;
    let next = match raw.get(end) {
        None => end,
        Some(b'\n') => end + 1,
        Some(_) => return None,
    };
    let point = line.point.value;
    let asset = match known {
        Some((asset, _)) if point.reads => asset,
        Some(_) => UNREAD_ASSET,
        None => line.asset(raw, (asset_start, asset_end), point.id, NO_MODEL)?,
    };
    let run = match point.run {
        Some(run) => line.asset_run_id(asset).map(|asset| (asset, run)),
        None => None,
    };
    let (asset, point, parser_ids) = match run {
        Some((asset, point)) => (asset, point, false),
        None => (asset, point.id, true),
    };
    Some((Reading { asset, point, model: NO_MODEL, ts, value, quality: 0 }, next, parser_ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::number::NumberFormat;

    fn layout() -> Layout {
        Layout {
            delimiter: b',',
            roles: vec![Role::Timestamp, Role::Asset, Role::Point, Role::Value],
            numbers: NumberFormat::PLAIN,
            read: None,
        }
    }

    fn parse(text: &str) -> (Chunk, Names) {
        let mut chunk = Chunk::from_text(text.as_bytes());
        chunk.parse(&layout(), &mut Parser::default());
        let mut names = Names::default();
        chunk.intern(&mut names, &mut Translation::default());
        (chunk, names)
    }

    #[test]
    fn plain_lines_become_readings_with_run_wide_ids() {
        let (chunk, names) = parse(
            "2024-01-01T00:00:00.006Z,m2,Reading,61.677\n2024-01-01T00:00:15Z, m1 ,Reading,-0.5\n2024-01-01T00:00:30Z,m2,Reading,1e2",
        );
        assert_eq!(chunk.stop, None);
        let r = &chunk.readings;
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].ts, r[0].value, names.assets.name(r[0].asset)), (1_704_067_200_006, 61.677, "m2"));
        assert_eq!((r[1].value, names.assets.name(r[1].asset)), (-0.5, "m1"));
        assert_eq!((r[2].value, r[2].asset, r[2].point), (100.0, r[0].asset, r[0].point));
        assert_eq!(names.points.name(r[0].point), "Reading");
    }

    fn assets(chunk: &Chunk, names: &Names) -> Vec<String> {
        chunk.readings.iter().map(|r| names.assets.name(r.asset).to_string()).collect()
    }

    /// Two parsers taking turns at the chunks: run ids follow first appearance in the input
    /// (chunk order), not either parser's order; a parser writes the run's ids itself for the
    /// names whose ids the calling thread handed back before it parsed the chunk, and leaves
    /// the other readings to `intern`.
    #[test]
    fn parsers_write_the_run_ids_they_were_handed() {
        let line = |asset: &str| format!("2024-01-01T00:00:00Z,{asset},Reading,1\n");
        let text = |assets: &[&str]| assets.iter().map(|a| line(a)).collect::<String>();
        let (mut names, mut translation) = (Names::default(), Translation::default());
        let (mut a, mut b) = (translation.parser(), translation.parser());
        let chunk = |assets: &[&str], parser: &mut Parser| {
            let mut chunk = Chunk::from_text(text(assets).as_bytes());
            chunk.parse(&layout(), parser);
            chunk
        };
        // Parser b parses the second chunk before the first is interned, as a worker running
        // ahead does: it knows no run id yet.
        let mut first = chunk(&["m2", "m1"], &mut a);
        let mut second = chunk(&["m3", "m1"], &mut b);
        first.intern(&mut names, &mut translation);
        second.intern(&mut names, &mut translation);
        assert_eq!(second.untranslated, [0, 1]);
        assert_eq!(names.assets.names().collect::<Vec<_>>(), ["m2", "m1", "m3"]);
        // Now both know their names' run ids: b's own ids for m3 and m1 are 0 and 1, the run's 2
        // and 1.
        let mut third = chunk(&["m1", "m3", "m4", "m1"], &mut b);
        assert_eq!(third.untranslated, [2]);
        // m4 is new: its reading keeps b's id for it, 2.
        assert_eq!(third.readings.iter().map(|r| r.asset).collect::<Vec<_>>(), [1, 2, 2, 1]);
        third.intern(&mut names, &mut translation);
        assert_eq!(assets(&third, &names), ["m1", "m3", "m4", "m1"]);
        let mut fourth = chunk(&["m3", "m2", "m1"], &mut a);
        assert_eq!(fourth.untranslated, [0]);
        fourth.intern(&mut names, &mut translation);
        assert_eq!(assets(&fourth, &names), ["m3", "m2", "m1"]);
        let mut fifth = chunk(&["m4", "m3"], &mut b);
        assert!(fifth.untranslated.is_empty());
        let before: Vec<u32> = fifth.readings.iter().map(|r| r.asset).collect();
        fifth.intern(&mut names, &mut translation);
        assert_eq!(fifth.readings.iter().map(|r| r.asset).collect::<Vec<_>>(), before);
        assert_eq!(assets(&fifth, &names), ["m4", "m3"]);
        assert_eq!(names.assets.names().collect::<Vec<_>>(), ["m2", "m1", "m3", "m4"]);
    }

    #[test]
    fn stops_at_the_first_line_it_does_not_take() {
        for (second_line, why) in [
            ("2024-01-01T00:00:15Z,m1,Reading,NA\n", "missing-value marker"),
            ("2024-01-01T00:00:15Z,\"m,1\",Reading,1\n", "quotes"),
            ("2024-01-01T00:00:15Z,m1,Reading\n", "too few fields"),
            ("2024-01-01T00:00:15Z,m1,Reading,1,2\n", "too many fields"),
            ("\n", "blank line"),
            ("1704067215000,m1,Reading,1\n", "not the fixed layout"),
            ("2024-01-01T00:00:15Z,,Reading,1\n", "empty asset"),
            ("2024-01-01T00:00:15Z,m\r1,Reading,1\n", "CR inside a line"),
            ("2024-01-01T00:00:15Z,m1,Reading,inf\n", "not finite"),
        ] {
            let first = "2024-01-01T00:00:00Z,m1,Reading,1\n";
            let (chunk, _) = parse(&format!("{first}{second_line}2024-01-01T00:00:30Z,m1,Reading,2\n"));
            assert_eq!(chunk.readings.len(), 1, "{why}");
            assert_eq!(chunk.stop, Some(first.len()), "{why}");
        }
    }

    #[test]
    fn a_decimal_comma_is_read_in_place_and_a_point_is_not_taken_for_it() {
        let layout = Layout { delimiter: b';', numbers: NumberFormat { decimal: b',', thousands: None }, ..layout() };
        let mut chunk = Chunk::from_text(b"2024-01-01T00:00:00Z;m1;Reading;1,25\n2024-01-01T00:00:01Z;m1;Reading;-0,5\n2024-01-01T00:00:02Z;m1;Reading;1.5\n");
        chunk.parse(&layout, &mut Parser::default());
        assert_eq!(chunk.readings.iter().map(|r| r.value).collect::<Vec<_>>(), [1.25, -0.5]);
        assert_eq!(chunk.stop, Some(74));
    }

    #[test]
    fn crlf_lines_are_left_to_the_general_reader() {
        let (chunk, _) = parse(
            "2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:15Z,m1,Reading,2\r\n2024-01-01T00:00:30Z,m1,Reading,3\n",
        );
        assert_eq!(chunk.stop, Some(34));
        assert_eq!(chunk.readings.iter().map(|r| r.value).collect::<Vec<_>>(), [1.0]);
    }

    #[test]
    fn columns_in_any_order_and_an_empty_model() {
        let layout = Layout {
            delimiter: b',',
            roles: vec![Role::Other, Role::Value, Role::Model, Role::Point, Role::Asset, Role::Timestamp],
            numbers: NumberFormat::PLAIN,
            read: None,
        };
        let mut chunk = Chunk::from_text(b"x,2.5,,P,A,2024-01-01T00:00:00Z\ny,3,M,P,B,2024-01-01T00:00:01Z\n");
        chunk.parse(&layout, &mut Parser::default());
        let mut names = Names::default();
        chunk.intern(&mut names, &mut Translation::default());
        assert_eq!(chunk.stop, None);
        assert_eq!(chunk.readings[0].model, NO_MODEL);
        assert_eq!(names.models.name(chunk.readings[1].model), "M");
        assert_eq!(names.assets.name(chunk.readings[1].asset), "B");
        assert_eq!(chunk.readings[1].ts, 1_704_067_201_000);
    }
}
