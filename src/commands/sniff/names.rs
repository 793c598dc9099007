//! Point names for a sniffed file: the `--points` list. With jobs given, each point a job reads
//! is matched to the one column (wide) or point text (long) whose words contain its words
//! (`GridImport` -> `DE_KN_residential4_grid_import`, `Import` -> `Active Import Interval (kWh)`,
//! `Energy` -> `energy(kWh/hh)`). Without jobs, wide point columns that share a prefix lose it.

use super::columns::{Column, Roles};

/// The `--points` text, or `None` when the file's own names do.
pub(crate) fn points(
    columns: &[Column],
    roles: &Roles,
    job_points: &[String],
    notes: &mut Vec<String>,
) -> Option<String> {
    let candidates: Vec<&str> = if roles.wide {
        roles.points.iter().map(|&i| columns[i].name.as_str()).collect()
    } else {
        roles.point.map(|p| columns[p].distinct.iter().map(String::as_str).collect()).unwrap_or_default()
    };
    if !job_points.is_empty() {
        let kind = if roles.wide { ("column", "columns") } else { ("point text", "point texts") };
        let mut matched: Vec<(String, &str)> = Vec::new();
        for point in job_points {
            let found: Vec<&str> = candidates.iter().copied().filter(|c| contains_words(c, point)).collect();
            match found.as_slice() {
                [one] => matched.push((point.clone(), one)),
                [] => notes.push(format!(
                    "the jobs read point {point:?}, which no {} matches: add COLUMN={point} to --points",
                    kind.0
                )),
                several => notes.push(format!(
                    "the jobs read point {point:?}, which matches several {}: {}; choose one in --points",
                    kind.1,
                    several.join(", ")
                )),
            }
        }
        // One column (or point text) becomes one point: of the points that match it, the one
        // with the most words matches it best (`GridImport`, not `Import`, is `..._grid_import`).
        matched
            .sort_by_key(|(point, from)| (candidates.iter().position(|c| c == from), usize::MAX - words(point).len()));
        let mut taken: Vec<(String, &str)> = Vec::new();
        for (point, from) in matched {
            match taken.iter().find(|(_, f)| *f == from) {
                Some((winner, _)) => notes.push(format!(
                    "the jobs read point {point:?}, whose only match, {} {from:?}, is read as {winner:?} (a closer \
                     match); add COLUMN={point} to --points if another {} holds it",
                    kind.0, kind.0
                )),
                None => taken.push((point, from)),
            }
        }
        if !taken.is_empty() {
            return Some(taken.iter().map(|(to, from)| entry(from, to)).collect::<Vec<_>>().join(","));
        }
    }
    if !roles.wide {
        return None;
    }
    let names: Vec<&str> = candidates.clone();
    let prefix = common_prefix(&names)?;
    Some(
        names
            .iter()
            .map(|n| {
                let rest = n[prefix.len()..].trim_start_matches(['_', '-', '.', ' ']);
                entry(n, if rest.is_empty() { n } else { rest })
            })
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// `FROM=TO`, or `FROM` when the name stays.
fn entry(from: &str, to: &str) -> String {
    if from == to { from.to_string() } else { format!("{from}={to}") }
}

/// The prefix (at least 2 characters, ending before a `_`, `-`, `.` or space) shared by two or
/// more names, without its separator.
pub(crate) fn common_prefix(names: &[&str]) -> Option<String> {
    let (first, rest) = names.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut len = first.len();
    for n in rest {
        len = len.min(first.bytes().zip(n.bytes()).take_while(|(a, b)| a == b).count());
    }
    let cut = first[..len].rfind(['_', '-', '.', ' '])?;
    let prefix = first[..cut].trim_end_matches(['_', '-', '.', ' ']);
    (prefix.len() >= 2).then(|| prefix.to_string())
}

/// Lower-case words: split at anything not a letter or digit and where a lower-case letter is
/// followed by an upper-case one (`GridImport` -> `grid`, `import`).
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether the words of `point` appear in a row among the words of `candidate`.
fn contains_words(candidate: &str, point: &str) -> bool {
    let have = words(candidate);
    let want = words(point);
    !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_job_points_are_found_in_column_names() {
        assert!(contains_words("DE_KN_residential4_grid_import", "GridImport"));
        assert!(!contains_words("DE_KN_residential4_grid_export", "GridImport"));
        assert!(contains_words("DE_KN_residential4_pv", "PV"));
        assert!(contains_words("Active Import Interval (kWh)", "Import"));
        assert!(contains_words("energy(kWh/hh)", "Energy"));
        assert!(!contains_words("Global_active_power", "Reading"));
    }

    #[test]
    fn a_column_becomes_one_point_the_closest_match() {
        use crate::input::number::NumberFormat;
        let columns: Vec<Column> = ["DE_KN_residential4_grid_import", "DE_KN_residential4_pv"]
            .iter()
            .map(|name| Column::sample(name, &["1.5"], &NumberFormat::PLAIN))
            .collect();
        let roles = Roles { wide: true, points: vec![0, 1], ..Roles::default() };
        let mut notes = Vec::new();
        let jobs = ["Import".to_string(), "GridImport".to_string(), "PV".to_string()];
        assert_eq!(
            points(&columns, &roles, &jobs, &mut notes).as_deref(),
            Some("DE_KN_residential4_grid_import=GridImport,DE_KN_residential4_pv=PV")
        );
        assert_eq!(
            notes,
            [
                "the jobs read point \"Import\", whose only match, column \"DE_KN_residential4_grid_import\", is read as \
              \"GridImport\" (a closer match); add COLUMN=Import to --points if another column holds it"
            ]
        );
    }

    #[test]
    fn shared_prefixes_end_at_a_separator() {
        assert_eq!(
            common_prefix(&["DE_KN_residential4_pv", "DE_KN_residential4_ev"]),
            Some("DE_KN_residential4".into())
        );
        assert_eq!(common_prefix(&["Global_active_power", "Global_reactive_power", "Voltage"]), None);
        assert_eq!(common_prefix(&["only_one"]), None);
    }
}
