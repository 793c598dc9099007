//! Point names for a sniffed file: the `--points` list. With jobs given, each point a job reads
//! is matched to the one column (wide) or point text (long) whose words contain its words
//! (`GridImport` -> `DE_KN_residential4_grid_import`, `Import` -> `Active Import Interval (kWh)`,
//! `Energy` -> `energy(kWh/hh)`). Without jobs, wide point columns that share a prefix lose it.

use super::columns::{Column, Roles};

/// The `--points` text, or `None` when the file's own names do.
pub fn points(columns: &[Column], roles: &Roles, job_points: &[String], notes: &mut Vec<String>) -> Option<String> {
    let candidates: Vec<&str> = if roles.wide {
        roles.points.iter().map(|&i| columns[i].name.as_str()).collect()
    } else {
        roles.point.map(|p| columns[p].distinct.iter().map(String::as_str).collect()).unwrap_or_default()
    };
    if !job_points.is_empty() {
        let mut matched: Vec<(String, &str)> = Vec::new();
        for point in job_points {
            let found: Vec<&str> = candidates.iter().copied().filter(|c| contains_words(c, point)).collect();
            match found.as_slice() {
                [one] => matched.push((point.clone(), one)),
                [] => notes.push(format!(
                    "the jobs read point {point:?}, which no {} matches: add COLUMN={point} to --points",
                    if roles.wide { "column" } else { "point text" }
                )),
                several => notes.push(format!(
                    "the jobs read point {point:?}, which matches several {}: {}; choose one in --points",
                    if roles.wide { "columns" } else { "point texts" },
                    several.join(", ")
                )),
            }
        }
        // In the order of the file's columns or point texts, whatever the order of the jobs.
        matched.sort_by_key(|(_, from)| candidates.iter().position(|c| c == from));
        if !matched.is_empty() {
            return Some(matched.iter().map(|(to, from)| entry(from, to)).collect::<Vec<_>>().join(","));
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
pub fn common_prefix(names: &[&str]) -> Option<String> {
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
    fn shared_prefixes_end_at_a_separator() {
        assert_eq!(
            common_prefix(&["DE_KN_residential4_pv", "DE_KN_residential4_ev"]),
            Some("DE_KN_residential4".into())
        );
        assert_eq!(common_prefix(&["Global_active_power", "Global_reactive_power", "Voltage"]), None);
        assert_eq!(common_prefix(&["only_one"]), None);
    }
}
