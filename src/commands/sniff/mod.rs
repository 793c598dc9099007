//! `sniff`: the head of an unknown meter export looked at and the input settings that read it
//! proposed. [`dialect`] finds the delimiter, quoting, line ends and BOM; [`columns`] what each
//! column holds and its role; [`crate::input::time_layout`] the timestamp layout and its `--time-format`;
//! [`names`] matches the points the jobs read to the file's columns or point texts; [`report`]
//! words the findings, the command line and the input-config file. The proposal is then tried by
//! running meterflow's own reader over the head, so the readings shown are the ones a run sees.

pub mod columns;
mod command;
pub mod dialect;
mod intervals;
pub mod names;
pub mod report;

pub use command::{Settings, sniff};

use crate::engine::names::Names;
use crate::input::number::NumberFormat;
use crate::input::options::InputOptions;
use crate::input::timestamp::{DstPolicy, TimeFormat, TimeParser};
use crate::input::{BadRowPolicy, BadRows, InputCounts, InputSettings, Reader, source};
use anyhow::{Context, Result};
use chrono::Offset;
use columns::{Column, Roles, Timestamp};
use dialect::Dialect;
use std::collections::HashMap;
use std::io::{Cursor, Read};

/// Readings shown in the report.
const SHOWN_READINGS: usize = 5;
/// Most bytes of a head read, whatever the number of rows asked for.
const MAX_HEAD_BYTES: usize = 16 << 20;

/// What `sniff` is asked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// Data rows looked at.
    pub(crate) rows: usize,
    /// Settings the user already knows; they win over detection.
    pub(crate) given: InputSettings,
    /// Points the jobs read from their input (`Model::` prefixes dropped), to name the file's
    /// points after.
    pub(crate) job_points: Vec<String>,
}

/// Order of the sampled rows' timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    /// Newest first.
    Descending,
    /// The first line (1-based, header is 1) whose timestamp goes back.
    Unordered(u64),
    /// Some timestamp did not parse.
    Unknown,
}

/// One reading as the reader produced it from the head.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShownReading {
    pub(crate) timestamp: String,
    pub(crate) asset: String,
    pub(crate) point: String,
    pub(crate) value: f64,
}

/// Repeated (asset, point, timestamp) keys among the readings of the sample: what a run's
/// `duplicates` rule decides about.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Repeats {
    pub(crate) count: u64,
    /// Of those, the ones with another value than the first reading of their key.
    pub(crate) changed: u64,
    /// The first repeat.
    pub(crate) first: Option<ShownReading>,
}

/// Everything found about one file.
#[derive(Debug, Clone)]
pub(crate) struct Sniffed {
    pub(crate) file: String,
    pub(crate) dialect: Dialect,
    /// Data rows sampled.
    pub(crate) rows: usize,
    /// Whether the sample is the whole file.
    pub(crate) whole_file: bool,
    pub(crate) columns: Vec<Column>,
    pub(crate) time: Option<Timestamp>,
    pub(crate) roles: Roles,
    pub(crate) order: Order,
    /// The settings that read the file.
    pub(crate) proposal: InputSettings,
    /// The head read with the proposal: the first readings, the count, or the reader's error.
    pub(crate) readings: Vec<ShownReading>,
    pub(crate) reading_count: u64,
    /// Readings of the sample whose (asset, point, timestamp) an earlier one had.
    pub(crate) repeats: Repeats,
    pub(crate) read_error: Option<String>,
    /// Things the user should know or check, in words.
    pub(crate) notes: Vec<String>,
}

/// Looks at the head of `source` (decompressed), named `file` in the report.
pub(crate) fn sniff_file(file: &str, source: Box<dyn Read + Send>, request: &Request) -> Result<Sniffed> {
    // The head is capped anyway; a cap the user gave still applies to it.
    let mut source: Box<dyn Read + Send> = match request.given.max_line_bytes {
        Some(cap) => Box::new(source::LineCap::new(source, file, cap)),
        None => source,
    };
    let (head, whole_file) = read_head(&mut source, request.rows).with_context(|| format!("failed to read {file}"))?;
    let dialect = Dialect::of(&head);
    let delimiter = match &request.given.delimiter {
        Some(text) if text == "tab" => b'\t',
        Some(text) if text.len() == 1 => text.as_bytes()[0],
        _ => dialect.delimiter,
    };
    let body = if dialect.bom { &head[3..] } else { &head[..] };
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(body);
    let mut records = csv.records().filter_map(|r| r.ok());
    let header: Vec<String> =
        records.next().map(|h| h.iter().map(|c| c.trim().to_string()).collect()).unwrap_or_default();
    let rows: Vec<Vec<String>> =
        records.take(request.rows).map(|r| r.iter().map(|c| c.trim().to_string()).collect()).collect();
    let rows_ref: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    let cells: Vec<Vec<&str>> =
        (0..header.len()).map(|i| rows_ref.iter().filter_map(|r| r.get(i).copied()).collect()).collect();
    let mut notes = Vec::new();
    let given_numbers = request.given.decimal.is_some() || request.given.thousands.is_some();
    let numbers = match NumberFormat::from_texts(request.given.decimal.as_deref(), request.given.thousands.as_deref()) {
        Ok(given) if given_numbers => given,
        _ => {
            let (found, note) = columns::numbers(&cells, delimiter);
            notes.extend(note);
            found
        }
    };
    let mut columns: Vec<Column> =
        header.iter().zip(&cells).map(|(name, cells)| Column::sample(name, cells, &numbers)).collect();
    let time = columns::timestamp(&columns, &request.given);
    let roles = match &time {
        Some(time) => columns::assign(&mut columns, time, &rows_ref, &request.given),
        None => {
            notes.push(
                "no column reads as a timestamp: name it with --time-column and its layout with --time-format"
                    .to_string(),
            );
            Roles::default()
        }
    };
    let order = match &time {
        Some(t) => order(t, &rows_ref, request.given.time_format.as_deref()),
        None => Order::Unknown,
    };
    let mut sniffed = Sniffed {
        file: file.to_string(),
        dialect,
        rows: rows.len(),
        whole_file,
        columns,
        time,
        roles,
        order,
        proposal: InputSettings::default(),
        readings: Vec::new(),
        reading_count: 0,
        repeats: Repeats::default(),
        read_error: None,
        notes,
    };
    let header_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let (mut proposal, notes) = propose(&sniffed, source::detect_delimiter(header_line), request);
    if !numbers.is_plain() && !given_numbers {
        proposal.decimal = Some(numbers.decimal_text().to_string());
        proposal.thousands = numbers.thousands_text().map(str::to_string);
    }
    sniffed.notes.extend(notes);
    if let Some(t) = &sniffed.time {
        time_zone(t, &sniffed.columns, &mut proposal, &mut sniffed.notes);
        let found = (t, sniffed.columns.as_slice(), &sniffed.roles, &sniffed.order);
        intervals::propose(found, &rows_ref, &mut proposal, &mut sniffed.notes);
    }
    if sniffed.time.is_some() {
        try_read(&mut sniffed, &proposal, head);
    }
    proposal.rejects = None;
    sniffed.proposal = proposal;
    Ok(sniffed)
}

/// The first `rows` data rows (and the header), cut at a line end; `true` when that is the whole
/// source.
fn read_head(source: &mut dyn Read, rows: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut head = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut lines = 0;
    loop {
        let n = source.read(&mut chunk)?;
        if n == 0 {
            return Ok((head, true));
        }
        lines += memchr::memchr_iter(b'\n', &chunk[..n]).count();
        head.extend_from_slice(&chunk[..n]);
        if lines > rows || head.len() >= MAX_HEAD_BYTES {
            break;
        }
    }
    let mut ends = memchr::memchr_iter(b'\n', &head);
    if let Some(end) = ends.nth(rows) {
        head.truncate(end + 1);
    } else if let Some(last) = memchr::memrchr(b'\n', &head) {
        head.truncate(last + 1);
    }
    Ok((head, false))
}

/// The joined timestamp texts of the sampled rows read in order.
fn order(time: &Timestamp, rows: &[Vec<&str>], given_format: Option<&str>) -> Order {
    let format_text = given_format.map(str::to_string).or_else(|| time.format.clone());
    let format = match format_text.as_deref().map(TimeFormat::parse) {
        None => TimeFormat::Auto,
        Some(Ok(f)) => f,
        Some(Err(_)) => return Order::Unknown,
    };
    let parser = TimeParser { format, zone: None, dst: DstPolicy::default() };
    let mut stamps = Vec::with_capacity(rows.len());
    for row in rows {
        let text: Vec<&str> = time.columns.iter().map(|&c| row.get(c).copied().unwrap_or("")).collect();
        match parser.parse(text.join(" ").as_bytes()) {
            Ok(ms) => stamps.push(ms),
            Err(_) => return Order::Unknown,
        }
    }
    if stamps.windows(2).all(|w| w[0] <= w[1]) {
        Order::Ascending
    } else if stamps.windows(2).all(|w| w[0] >= w[1]) {
        Order::Descending
    } else {
        let back = stamps.windows(2).position(|w| w[1] < w[0]).unwrap_or(0);
        Order::Unordered(back as u64 + 3)
    }
}

/// The settings that read the file: the given ones, completed by what was found (`header_choice`:
/// the delimiter `run` would detect from the header line), and notes for the user.
fn propose(found: &Sniffed, header_choice: u8, request: &Request) -> (InputSettings, Vec<String>) {
    let Sniffed { file, columns, roles, order, dialect, .. } = found;
    let mut notes = Vec::new();
    let mut s = request.given.clone();
    let Some(time) = &found.time else { return (s, notes) };
    let name = |i: usize| columns[i].name.clone();
    s.wide = roles.wide;
    s.time_column = Some(time.columns.iter().map(|&i| name(i)).collect::<Vec<_>>().join(","));
    if s.time_format.is_none() {
        s.time_format = time.format.clone();
    }
    if s.asset.is_none() && s.asset_column.is_none() {
        match roles.asset {
            Some(a) => s.asset_column = Some(name(a)),
            None => {
                let asset = constant_asset(file, columns, roles);
                notes.push(format!(
                    "no column holds the asset: every reading gets --asset {asset:?}; give --asset NAME to choose another"
                ));
                s.asset = Some(asset);
            }
        }
    }
    if !roles.wide {
        if s.point.is_none() && s.point_column.is_none() {
            match roles.point {
                Some(p) => s.point_column = Some(name(p)),
                None => notes.push("no column holds the point: give --point-column NAME or --point NAME".to_string()),
            }
        }
        if s.value_column.is_none() {
            match roles.value {
                Some(v) => s.value_column = Some(name(v)),
                None => notes.push("no column holds numbers: give --value-column NAME".to_string()),
            }
        }
    }
    if s.points.is_none() {
        s.points = names::points(columns, roles, &request.job_points, &mut notes);
    }
    if s.delimiter.is_none() && header_choice != dialect.delimiter {
        s.delimiter = Some(dialect.delimiter_text());
    }
    if !s.sort_input {
        match order {
            Order::Ascending | Order::Unknown => {}
            Order::Descending => {
                notes.push("rows are newest first: --sort-input replays them in time order".to_string());
                s.sort_input = true;
            }
            Order::Unordered(line) => {
                notes.push(format!(
                    "timestamps go back at line {line}: --sort-input replays the rows in time order (without it, \
                     readings older than a window's lateness are dropped as late)"
                ));
                s.sort_input = true;
            }
        }
    }
    (s, notes)
}

/// Time-zone advice: naive timestamps are UTC unless a zone is given, and a zone with DST changes
/// repeats an hour each autumn, which the reader refuses unless `--dst` says which one it is: the
/// proposal tells them apart by the order of each series' rows.
fn time_zone(time: &Timestamp, columns: &[Column], proposal: &mut InputSettings, notes: &mut Vec<String>) {
    let shown: Vec<&str> = time.columns.iter().map(|&c| columns[c].name.as_str()).collect();
    if time.day_month_ambiguous {
        notes.push(format!(
            "no date in the sample has a day above 12, so day and month order cannot be told apart: day first \
             was assumed ({}); swap %d and %m if the file is month first",
            proposal.time_format.as_deref().unwrap_or_default()
        ));
    }
    if time.has_offset {
        return;
    }
    match proposal.timezone.as_deref().map(|z| z.trim().parse::<chrono_tz::Tz>()) {
        None => notes.push(format!(
            "{} carries no UTC offset: it is read as UTC; if it is local time, give --timezone ZONE \
             (e.g. Europe/Dublin) to sniff and run",
            shown.join("+")
        )),
        Some(Ok(zone)) if proposal.dst.is_empty() && has_dst(zone) => {
            notes.push(format!(
                "{} observes DST: a local time repeated when clocks go back is refused unless --dst says which \
                 one it is; --dst ambiguous=infer (proposed) reads the repeats of each series in the order of its \
                 rows, forwards or backwards, as the first instant then the second (and refuses a row whose order \
                 cannot tell); ambiguous=earlier or later reads every repeat as the first or the second",
                zone.name()
            ));
            proposal.dst.push("ambiguous=infer".to_string());
        }
        Some(_) => {}
    }
}

fn has_dst(zone: chrono_tz::Tz) -> bool {
    use chrono::TimeZone;
    let offset = |month: u32| {
        zone.with_ymd_and_hms(2024, month, 1, 12, 0, 0).single().map(|t| t.offset().fix().local_minus_utc())
    };
    offset(1) != offset(7)
}

/// The asset of a file without an asset column: the common prefix of its point columns
/// (`DE_KN_residential4_pv`, `DE_KN_residential4_ev` -> `DE_KN_residential4`), else the file
/// name without extensions.
fn constant_asset(file: &str, columns: &[Column], roles: &Roles) -> String {
    let point_names: Vec<&str> = roles.points.iter().map(|&i| columns[i].name.as_str()).collect();
    if let Some(prefix) = names::common_prefix(&point_names) {
        return prefix;
    }
    let base = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or("meter");
    let stem = base.split('.').next().filter(|s| !s.is_empty() && file != "<stdin>").unwrap_or("meter");
    stem.to_string()
}

/// Runs the reader over the head with the proposal.
fn try_read(sniffed: &mut Sniffed, proposal: &InputSettings, head: Vec<u8>) {
    let mut settings = proposal.clone();
    settings.rejects = None;
    settings.on_bad_row = BadRowPolicy::Fail;
    let result = (|| -> Result<()> {
        let options = InputOptions::from_settings(&settings)?;
        let mut names = Names::default();
        let mut counts = InputCounts::default();
        let mut bad_rows = BadRows::new(BadRowPolicy::Fail, None)?;
        let mut reader = Reader::new(&sniffed.file, Box::new(Cursor::new(head)), &options, &mut names)?;
        let mut seen: HashMap<(u32, u32, i64), u64> = HashMap::new();
        while let Some(r) = reader.next(&mut names, &mut counts, &mut bad_rows)? {
            sniffed.reading_count += 1;
            let shown = |r: &crate::engine::Reading, names: &Names| {
                let mut ts = Vec::new();
                crate::time::format_timestamp(r.ts, &mut ts);
                ShownReading {
                    timestamp: String::from_utf8_lossy(&ts).into_owned(),
                    asset: names.assets.name(r.asset).to_string(),
                    point: names.points.name(r.point).to_string(),
                    value: r.value,
                }
            };
            if let Some(&bits) = seen.get(&(r.asset, r.point, r.ts)) {
                let repeats = &mut sniffed.repeats;
                repeats.count += 1;
                repeats.changed += u64::from(bits != r.value.to_bits());
                repeats.first.get_or_insert_with(|| shown(&r, &names));
            } else {
                seen.insert((r.asset, r.point, r.ts), r.value.to_bits());
            }
            if sniffed.readings.len() < SHOWN_READINGS {
                sniffed.readings.push(shown(&r, &names));
            }
        }
        if let Some(first) = &sniffed.repeats.first {
            let r = &sniffed.repeats;
            sniffed.notes.push(format!(
                "{} of the sample repeat the asset, point and timestamp of an earlier one ({} with another value; \
                 the first: {} {} {}): a run keeps the value read first (duplicates: first); if later values are \
                 corrections, run with --duplicates last",
                if r.count == 1 { "1 reading".to_owned() } else { format!("{} readings", r.count) },
                r.changed,
                first.timestamp,
                first.asset,
                first.point
            ));
        }
        Ok(())
    })();
    if let Err(e) = result {
        sniffed.read_error = Some(format!("{e:#}"));
    }
}
