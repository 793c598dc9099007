//! How messages write a number of things: `1 row`, `2 rows`, `0 rows`. Every count a message
//! gives with its noun goes through [`count`], so none says "1 rows" or "164 missing operand".

/// `n` with its noun, the singular for exactly 1: `count(1, "row", "rows")` is `1 row`.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", noun(n, one, many))
}

/// The noun alone, for a count written apart from it.
pub(crate) fn noun<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The name among `known` that `typed` is most likely a slip for: the same but for case or
/// separators (`electricmeter`, `Electric_Meter` for `ElectricMeter`), else one or two letters off
/// (`Readng` for `Reading`) in a name long enough for that to mean something.
pub(crate) fn closest<'a>(typed: &str, known: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let typed_folded = fold(typed);
    if let Some(same) = known.iter().find(|k| fold(k) == typed_folded) {
        return Some(same);
    }
    let allowed = match typed_folded.chars().count() {
        0..=3 => return None,
        4..=7 => 1,
        _ => 2,
    };
    known
        .iter()
        .map(|k| (edit_distance(&typed_folded, &fold(k)), *k))
        .filter(|&(d, _)| d <= allowed)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Insertions, deletions and substitutions that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "row", "rows"), "1 row");
        assert_eq!(count(0, "missing operand", "missing operands"), "0 missing operands");
        assert_eq!(count(164, "missing operand", "missing operands"), "164 missing operands");
        assert_eq!(noun(2, "holds", "hold"), "hold");
    }

    #[test]
    fn slips_of_case_separators_and_a_letter_are_found() {
        let known = ["ElectricMeter", "GasMeter", "Reading"];
        assert_eq!(closest("electricmeter", &known), Some("ElectricMeter"));
        assert_eq!(closest("Electric_Meter", &known), Some("ElectricMeter"));
        assert_eq!(closest("Readng", &known), Some("Reading"));
        assert_eq!(closest("WaterMeter", &known), None);
        assert_eq!(closest("Gas", &["Gaz"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
