//! What each column of a sampled file holds (numbers, text, a timestamp or half of one, missing
//! markers) and the role it gets: the timestamp, asset, point, value, model, a point of a wide
//! file, or none. Settings the user gave (`--time-column`, `--wide`, ...) win over detection.

use crate::input::InputSettings;
use crate::input::columns::{ASSET_NAMES, MODEL_NAMES, POINT_NAMES, TIMESTAMP_NAMES, VALUE_NAMES};
use crate::input::number::NumberFormat;
use crate::input::options::DEFAULT_NULL_VALUES;
use crate::input::time_layout::{self, Layout, Part};
use std::collections::BTreeMap;

/// Distinct texts kept per column (the point texts of a long file are renamed from these).
const KEPT: usize = 64;

/// What the sampled cells of one column look like.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// Cells that are neither empty nor a missing marker.
    pub(crate) present: usize,
    /// Empty cells and marker texts (as written), with their counts.
    pub(crate) missing: BTreeMap<String, usize>,
    /// Every present cell is a finite number.
    pub(crate) numeric: bool,
    /// A layout reading every present cell as a timestamp or half of one.
    pub(crate) time: Option<Layout>,
    /// The first present cell, as an example.
    pub(crate) first: Option<String>,
    /// Distinct present texts in text order, the first `KEPT`.
    pub(crate) distinct: Vec<String>,
    pub(crate) distinct_count: usize,
    pub(crate) role: Role,
}

/// The role a column gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Timestamp,
    Asset,
    Point,
    Value,
    Model,
    /// A point column of a wide file.
    WidePoint,
    /// Not read (the reason is in the report).
    Unused,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Timestamp => "timestamp",
            Role::Asset => "asset",
            Role::Point => "point",
            Role::Value => "value",
            Role::Model => "model",
            Role::WidePoint => "point (wide)",
            Role::Unused => "unused",
        }
    }
}

impl Column {
    /// Looks at the cells of one column (`cells` trimmed), numbers written as `numbers` says.
    pub(crate) fn sample(name: &str, cells: &[&str], numbers: &NumberFormat) -> Column {
        let mut missing = BTreeMap::new();
        let mut present = Vec::new();
        for &cell in cells {
            if cell.is_empty() || DEFAULT_NULL_VALUES.iter().any(|m| m.eq_ignore_ascii_case(cell)) {
                let shown = if cell.is_empty() { "(empty)".to_string() } else { cell.to_string() };
                *missing.entry(shown).or_insert(0) += 1;
            } else {
                present.push(cell);
            }
        }
        let numeric = !present.is_empty() && present.iter().all(|c| numbers.number(c.as_bytes()).is_some());
        let digits_are_time = time_layout::named_like_time(name);
        let time = if present.is_empty() { None } else { time_layout::detect(&present, digits_are_time) };
        // A number column is not a time unless its name says so.
        let time = time.filter(|_| !numeric || digits_are_time);
        let mut distinct: Vec<&str> = present.clone();
        distinct.sort_unstable();
        distinct.dedup();
        Column {
            name: name.to_string(),
            present: present.len(),
            first: present.first().map(|s| s.to_string()),
            missing,
            numeric: numeric && time.is_none(),
            time,
            distinct_count: distinct.len(),
            distinct: distinct.iter().take(KEPT).map(|s| s.to_string()).collect(),
            role: Role::Unused,
        }
    }

    fn is_text(&self) -> bool {
        self.present > 0 && !self.numeric && self.time.is_none()
    }

    fn named(&self, aliases: &[&str]) -> bool {
        aliases.contains(&self.name.trim().to_ascii_lowercase().as_str())
    }
}

/// How the sampled cells write numbers, and a note when that is a guess: a decimal comma when a
/// column that is not plain numbers reads as numbers with one. `1,234` alone could be a decimal
/// comma or a thousands separator, so it counts only in a `;`-separated file, where a comma is
/// not the delimiter because it is the decimal separator.
pub(crate) fn numbers(columns: &[Vec<&str>], delimiter: u8) -> (NumberFormat, Option<String>) {
    let comma = NumberFormat { decimal: b',', thousands: Some(b'.') };
    let mut example = None;
    let (mut grouped, mut unambiguous, mut commas) = (false, false, false);
    for cells in columns {
        let present: Vec<&str> = cells
            .iter()
            .copied()
            .filter(|c| !c.is_empty() && !DEFAULT_NULL_VALUES.iter().any(|m| m.eq_ignore_ascii_case(c)))
            .collect();
        let reads = |f: &NumberFormat| present.iter().all(|c| f.number(c.as_bytes()).is_some());
        if present.is_empty() || reads(&NumberFormat::PLAIN) || !reads(&comma) {
            continue;
        }
        for cell in present.iter().filter(|c| c.contains(',')) {
            commas = true;
            example.get_or_insert(cell.to_string());
            grouped |= cell.contains('.');
            let fraction = cell.rsplit(',').next().unwrap_or_default();
            unambiguous |= cell.contains('.') || fraction.bytes().take_while(u8::is_ascii_digit).count() != 3;
        }
    }
    let Some(example) = example.filter(|_| commas) else { return (NumberFormat::PLAIN, None) };
    if !unambiguous && delimiter != b';' {
        let note = format!(
            "values such as {example:?} read as a decimal comma (--decimal comma) or as a thousands separator \
             (--thousands ,): give the one the file uses"
        );
        return (NumberFormat::PLAIN, Some(note));
    }
    let thousands = if grouped { " and `.` between thousands (--thousands .)" } else { "" };
    let format = NumberFormat { decimal: b',', thousands: grouped.then_some(b'.') };
    (format, Some(format!("values are written with a decimal comma ({example:?}){thousands}: --decimal comma")))
}

/// The timestamp: the columns and their layout.
#[derive(Debug, Clone)]
pub(crate) struct Timestamp {
    pub(crate) columns: Vec<usize>,
    pub(crate) format: Option<String>,
    pub(crate) day_month_ambiguous: bool,
    /// The layout carries an offset (or `Z`): no time zone needed.
    pub(crate) has_offset: bool,
}

/// Finds the timestamp column(s): the one named by the settings, else a date-and-time column
/// (an alias name first, then one named `utc`, then the first), else a date column and a time
/// column joined.
pub(crate) fn timestamp(columns: &[Column], settings: &InputSettings) -> Option<Timestamp> {
    let find = |name: &str| columns.iter().position(|c| c.name.trim().eq_ignore_ascii_case(name.trim()));
    let of = |indices: Vec<usize>| {
        let layouts: Vec<&Layout> = indices.iter().filter_map(|&i| columns[i].time.as_ref()).collect();
        if layouts.len() != indices.len() {
            return Timestamp { columns: indices, format: None, day_month_ambiguous: false, has_offset: false };
        }
        let format = if layouts.iter().all(|l| l.format.is_none()) {
            None
        } else {
            Some(layouts.iter().filter_map(|l| l.format.clone()).collect::<Vec<_>>().join(" "))
        };
        let has_offset = format.as_deref().is_some_and(|f| f.contains('z') || f.ends_with('Z'))
            || (format.is_none() && indices.iter().all(|&i| columns[i].distinct.iter().all(|d| has_offset(d))));
        Timestamp {
            columns: indices,
            format,
            day_month_ambiguous: layouts.iter().any(|l| l.day_month_ambiguous),
            has_offset,
        }
    };
    if let Some(named) = &settings.time_column {
        let indices: Option<Vec<usize>> = named.split(',').map(find).collect();
        return indices.map(of);
    }
    let full: Vec<usize> =
        (0..columns.len()).filter(|&i| columns[i].time.as_ref().is_some_and(|l| l.part == Part::DateTime)).collect();
    let preferred = full
        .iter()
        .copied()
        .find(|&i| columns[i].named(TIMESTAMP_NAMES))
        .or_else(|| full.iter().copied().find(|&i| columns[i].name.to_ascii_lowercase().contains("utc")))
        .or_else(|| full.first().copied());
    if let Some(i) = preferred {
        return Some(of(vec![i]));
    }
    let part = |p: Part| (0..columns.len()).find(|&i| columns[i].time.as_ref().is_some_and(|l| l.part == p));
    Some(of(vec![part(Part::Date)?, part(Part::Time)?]))
}

fn has_offset(text: &str) -> bool {
    text.ends_with('Z') || text.rfind(['+', '-']).is_some_and(|i| i > 10)
}

/// Roles found for a sample: the columns' roles are set in place.
#[derive(Debug, Clone, Default)]
pub(crate) struct Roles {
    pub(crate) wide: bool,
    pub(crate) asset: Option<usize>,
    pub(crate) point: Option<usize>,
    pub(crate) value: Option<usize>,
    pub(crate) model: Option<usize>,
    /// Wide: the point columns.
    pub(crate) points: Vec<usize>,
    /// Why the file was taken as long or wide.
    pub(crate) layout_reason: String,
}

/// Gives every column a role. `rows` are the trimmed sampled rows, for telling long from wide: a
/// long file repeats a timestamp on rows that differ in a text column (the point).
pub(crate) fn assign(columns: &mut [Column], time: &Timestamp, rows: &[Vec<&str>], settings: &InputSettings) -> Roles {
    let find = |columns: &[Column], name: &Option<String>| {
        name.as_ref().and_then(|n| columns.iter().position(|c| c.name.trim().eq_ignore_ascii_case(n.trim())))
    };
    let mut roles = Roles::default();
    for &i in &time.columns {
        columns[i].role = Role::Timestamp;
    }
    let free = |columns: &[Column], i: usize| columns[i].role == Role::Unused;
    roles.model = (0..columns.len()).find(|&i| free(columns, i) && columns[i].named(MODEL_NAMES));
    if let Some(i) = roles.model {
        columns[i].role = Role::Model;
    }
    // The text column whose value differs between rows with the same timestamp.
    let varies_within_a_timestamp = |i: usize| {
        let mut seen: BTreeMap<Vec<&str>, &str> = BTreeMap::new();
        rows.iter().filter(|r| r.len() == columns.len()).any(|r| {
            let key: Vec<&str> = time.columns.iter().map(|&t| r[t]).collect();
            match seen.insert(key, r[i]) {
                Some(before) => before != r[i],
                None => false,
            }
        })
    };
    let point_by_flag = find(columns, &settings.point_column);
    let point_candidate =
        point_by_flag.or_else(|| {
            let texts: Vec<usize> = (0..columns.len()).filter(|&i| free(columns, i) && columns[i].is_text()).collect();
            texts.iter().copied().find(|&i| columns[i].named(POINT_NAMES)).or_else(|| {
                texts.iter().copied().find(|&i| columns[i].distinct_count > 1 && varies_within_a_timestamp(i))
            })
        });
    let long_by_settings =
        settings.point_column.is_some() || settings.value_column.is_some() || settings.point.is_some();
    roles.wide = settings.wide || (!long_by_settings && point_candidate.is_none());
    roles.layout_reason = match (settings.wide, long_by_settings, point_candidate) {
        (true, _, _) => "wide (as given)".to_string(),
        (false, true, _) => "long (as given)".to_string(),
        (false, false, Some(p)) => {
            format!("long: rows with the same timestamp differ in {:?}, the point", columns[p].name)
        }
        (false, false, None) => {
            "wide: no text column changes between rows with the same timestamp, so each number column is a point"
                .to_string()
        }
    };
    if !roles.wide {
        roles.point = point_candidate.filter(|_| settings.point.is_none());
        if let Some(p) = roles.point {
            columns[p].role = Role::Point;
        }
        let numbers: Vec<usize> = (0..columns.len()).filter(|&i| free(columns, i) && columns[i].numeric).collect();
        roles.value = find(columns, &settings.value_column).or_else(|| {
            numbers
                .iter()
                .copied()
                .find(|&i| columns[i].named(VALUE_NAMES) || columns[i].name.to_ascii_lowercase().contains("value"))
                .or_else(|| numbers.first().copied())
        });
        if let Some(v) = roles.value {
            columns[v].role = Role::Value;
        }
    }
    if settings.asset.is_none() {
        roles.asset = find(columns, &settings.asset_column).or_else(|| {
            let texts: Vec<usize> = (0..columns.len())
                .filter(|&i| free(columns, i) && columns[i].is_text() && columns[i].missing.is_empty())
                .collect();
            texts.iter().copied().find(|&i| columns[i].named(ASSET_NAMES)).or_else(|| texts.first().copied())
        });
        if let Some(a) = roles.asset {
            columns[a].role = Role::Asset;
        }
    }
    if roles.wide {
        roles.points = (0..columns.len())
            .filter(|&i| free(columns, i) && (columns[i].numeric || columns[i].present == 0))
            .collect();
        for &i in &roles.points {
            columns[i].role = Role::WidePoint;
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str) -> (Vec<Column>, Vec<Vec<String>>) {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(|c| c.trim().to_string()).collect()).collect();
        let columns = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                Column::sample(h, &rows.iter().map(|r| r[i].as_str()).collect::<Vec<_>>(), &NumberFormat::PLAIN)
            })
            .collect();
        (columns, rows)
    }

    fn roles(text: &str, settings: &InputSettings) -> (Vec<Role>, Roles, Timestamp) {
        let (mut columns, rows) = sample(text);
        let time = timestamp(&columns, settings).unwrap();
        let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
        let roles = assign(&mut columns, &time, &rows, settings);
        (columns.iter().map(|c| c.role).collect(), roles, time)
    }

    #[test]
    fn long_file_with_a_repeated_timestamp() {
        let (r, roles, time) = roles(
            "MPRN,Serial,Read Value,Read Type,End\nX,Y,0.1,Import,04-10-2024 01:00\nX,Y,0.0,Export,04-10-2024 01:00\n",
            &InputSettings::default(),
        );
        assert_eq!(r, [Role::Asset, Role::Unused, Role::Value, Role::Point, Role::Timestamp]);
        assert!(!roles.wide);
        assert_eq!(time.format.as_deref(), Some("%d-%m-%Y %H:%M"));
        assert!(time.day_month_ambiguous);
    }

    #[test]
    fn wide_file_with_two_timestamps_and_a_text_column_with_blanks() {
        let (r, roles, time) = roles(
            "utc_timestamp,cet,a_x,a_y,notes\n2015-10-04T01:00:00Z,2015-10-04T03:00:00+0200,,1.5,\n2015-10-04T02:00:00Z,2015-10-04T04:00:00+0200,2,1.6,a_x | a_y\n",
            &InputSettings::default(),
        );
        assert_eq!(r, [Role::Timestamp, Role::Unused, Role::WidePoint, Role::WidePoint, Role::Unused]);
        assert!(roles.wide);
        assert_eq!(roles.asset, None);
        assert!(time.has_offset);
        assert_eq!(time.format, None);
    }

    #[test]
    fn decimal_commas_are_told_from_thousands_separators() {
        let found = |cells: &[&str], delimiter| numbers(&[cells.to_vec()], delimiter);
        let (format, note) = found(&["1,25", "0,5", "12"], b',');
        assert_eq!(format, NumberFormat { decimal: b',', thousands: None });
        assert_eq!(note.unwrap(), "values are written with a decimal comma (\"1,25\"): --decimal comma");
        let (format, note) = found(&["1.234,5", "2,5"], b';');
        assert_eq!(format, NumberFormat { decimal: b',', thousands: Some(b'.') });
        assert!(note.unwrap().contains("--thousands ."));
        // `1,234` is a decimal comma or a thousands separator: a `;` file tells, a `,` file does not.
        assert_eq!(found(&["1,234", "2,500"], b';').0.decimal, b',');
        let (format, note) = found(&["1,234", "2,500"], b',');
        assert!(format.is_plain() && note.unwrap().contains("--thousands ,"));
        assert_eq!(found(&["1.5", "2"], b';'), (NumberFormat::PLAIN, None));
        assert_eq!(found(&["01.03.2024 00:00", "Z1"], b';'), (NumberFormat::PLAIN, None));
    }

    #[test]
    fn date_and_time_columns_join_and_markers_are_counted() {
        let (columns, _) = sample("Date,Time,P,Q\n16/12/2006,17:24:00,4.2,?\n8/1/2007,0:00:00,?,\n");
        assert_eq!(columns[2].missing, BTreeMap::from([("?".to_string(), 1)]));
        assert_eq!(columns[3].missing, BTreeMap::from([("(empty)".to_string(), 1), ("?".to_string(), 1)]));
        let (r, roles, time) =
            roles("Date,Time,P,Q\n16/12/2006,17:24:00,4.2,?\n8/1/2007,0:00:00,?,\n", &InputSettings::default());
        assert_eq!(time.columns, [0, 1]);
        assert_eq!(time.format.as_deref(), Some("%d/%m/%Y %H:%M:%S"));
        assert_eq!(r, [Role::Timestamp, Role::Timestamp, Role::WidePoint, Role::WidePoint]);
        assert!(roles.wide);
    }
}
