//! What `--interval-end auto` chose for an input, and how far the sample it chose from agrees with
//! the choice. It moves every reading of the input, so the run says which length it took and from
//! what; and a sample whose series do not all step by that length (a file mixing 15-minute and
//! half-hourly meters, readings off the grid) is a warning, since some readings then moved by a
//! length that is not theirs.

use super::stamps::common_step;
use crate::time::duration::format_duration;
use hashbrown::HashMap;

/// A row's series as its text (asset, point), before names are interned; a part that is not a
/// column (`--asset`, `--point`, the point of a wide row) is empty, the same for every row.
pub(crate) type SeriesText = (Vec<u8>, Vec<u8>);

/// A series of the sample by its names: `None` for a part that is not a column (`--asset`,
/// `--point`, the point of a wide row), the same for every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesName {
    pub asset: Option<String>,
    pub point: Option<String>,
}

/// `--interval-end auto`'s choice for one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalChoice {
    /// The input, as messages name it.
    pub input: String,
    /// The interval length taken, in milliseconds: every reading moved back by it.
    pub length: i64,
    /// Rows read for the sample.
    pub rows: u64,
    /// Series with at least one step (two readings at different instants) among those rows.
    pub series: u64,
    /// Steps between consecutive readings of a series (by time), and how many were the length.
    pub steps: u64,
    pub steps_at_length: u64,
    /// Steps that are no whole multiple of the length (a longer multiple is a gap).
    pub steps_off_length: u64,
    /// Series that do not step by the length: one of their steps is off it, or two or more steps
    /// and none is the length.
    pub series_at_other_lengths: u64,
    /// The first such series (by name) and its own most common step.
    pub example: Option<(SeriesName, i64)>,
    /// Decided on the rows at hand when a live input fell silent (`--idle-timeout`), before
    /// the sample's full count of rows had arrived.
    pub when_silent: bool,
}

impl IntervalChoice {
    /// The length taken for `input` from `sample`, `(series, instant)` pairs of its first `rows`
    /// rows, and how the sample agrees with it; `None` when no series has a step.
    pub(crate) fn from_sample(
        input: &str,
        sample: &[(SeriesText, i64)],
        rows: u64,
        when_silent: bool,
    ) -> Option<IntervalChoice> {
        let length = common_step(sample)?;
        let mut by_series: HashMap<&SeriesText, Vec<i64>> = HashMap::new();
        for (key, ts) in sample {
            by_series.entry(key).or_default().push(*ts);
        }
        let mut series: Vec<(&SeriesText, Vec<i64>)> = by_series.into_iter().collect();
        // By name, so that the example is the same whatever the hash order.
        series.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut choice = IntervalChoice {
            input: input.to_string(),
            length,
            rows,
            series: 0,
            steps: 0,
            steps_at_length: 0,
            steps_off_length: 0,
            series_at_other_lengths: 0,
            example: None,
            when_silent,
        };
        for (key, mut stamps) in series {
            stamps.sort_unstable();
            let steps: Vec<i64> = stamps.windows(2).map(|p| p[1] - p[0]).filter(|&s| s > 0).collect();
            if steps.is_empty() {
                continue;
            }
            let at = steps.iter().filter(|&&s| s == length).count() as u64;
            let off = steps.iter().filter(|&&s| s % length != 0).count() as u64;
            choice.series += 1;
            choice.steps += steps.len() as u64;
            choice.steps_at_length += at;
            choice.steps_off_length += off;
            if off > 0 || (steps.len() >= 2 && at == 0) {
                choice.series_at_other_lengths += 1;
                if choice.example.is_none() {
                    let own: Vec<((), i64)> = stamps.iter().map(|&ts| ((), ts)).collect();
                    choice.example = common_step(&own).map(|step| (series_name(key), step));
                }
            }
        }
        Some(choice)
    }

    /// The note a run says of the choice, even with `-q`: it moved every reading of the input.
    pub fn note(&self) -> String {
        let length = format_duration(self.length);
        let rows = match self.when_silent {
            true => format!("the {} read before the input fell silent", crate::text::count(self.rows, "row", "rows")),
            false => format!("its first {}", crate::text::count(self.rows, "row", "rows")),
        };
        format!(
            "meterflow: --interval-end auto: {} took {length} as its interval length and moved each reading back \
             {length}: {} of the {} between consecutive readings of {} in {rows} were {length}",
            self.input,
            self.steps_at_length,
            crate::text::count(self.steps, "step", "steps"),
            crate::text::count(self.series, "series", "series"),
        )
    }

    /// The warning when some series of the sample do not step by the length taken.
    pub fn warning(&self) -> Option<String> {
        if self.series_at_other_lengths == 0 {
            return None;
        }
        let length = format_duration(self.length);
        let example = self.example.as_ref().map_or_else(String::new, |(name, step)| {
            format!(" ({} steps by {})", series_label(name), format_duration(*step))
        });
        Some(format!(
            "meterflow: warning: --interval-end auto: {} of the {} series in the sample of {} do not step by {length}{example}, \
             yet their readings moved back {length} too; give the length (--interval-end {length}) if it is right for \
             every series, or give each interval length's series in an input of their own with its length",
            self.series_at_other_lengths, self.series, self.input,
        ))
    }
}

/// A series of the sample by its names.
fn series_name((asset, point): &SeriesText) -> SeriesName {
    let text = |t: &[u8]| (!t.is_empty()).then(|| String::from_utf8_lossy(t).into_owned());
    SeriesName { asset: text(asset), point: text(point) }
}

/// A series of the sample as messages name it.
fn series_label(name: &SeriesName) -> String {
    match (&name.asset, &name.point) {
        (Some(asset), Some(point)) => format!("series `{asset}` / `{point}`"),
        (Some(asset), None) => format!("asset `{asset}`"),
        (None, Some(point)) => format!("point `{point}`"),
        (None, None) => "its one series".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    fn key(asset: &str, point: &str) -> SeriesText {
        (asset.as_bytes().to_vec(), point.as_bytes().to_vec())
    }

    #[test]
    fn a_sample_that_agrees() {
        // m1 steps 30m, 30m, 60m (a gap, a multiple); m2 steps 30m: 3 of 4 steps are 30m.
        let sample = [
            (key("m1", "E"), 0),
            (key("m2", "E"), 0),
            (key("m1", "E"), 30 * M),
            (key("m2", "E"), 30 * M),
            (key("m1", "E"), 60 * M),
            (key("m1", "E"), 120 * M),
            (key("m3", "E"), 5),
        ];
        let choice = IntervalChoice::from_sample("in.csv", &sample, 7, false).unwrap();
        assert_eq!((choice.length, choice.series, choice.steps, choice.steps_at_length), (30 * M, 2, 4, 3));
        assert_eq!((choice.steps_off_length, choice.series_at_other_lengths, &choice.example), (0, 0, &None));
        assert_eq!(choice.warning(), None);
        assert!(IntervalChoice::from_sample("in.csv", &[(key("m1", "E"), 0)], 1, false).is_none());
    }

    #[test]
    fn series_at_another_length() {
        // a/E steps 30m thrice; b/E and c/E 15m twice each: 4 steps of 15m, 3 of 30m. 15m is
        // taken; a/E, whose steps are all 30m, is the series at another length. Then d/E at 10m
        // among the 30m of a/E: 10m steps are off a 30m grid.
        let mut sample = Vec::new();
        for k in 0..4 {
            sample.push((key("a", "E"), k * 30 * M));
        }
        for k in 0..3 {
            sample.push((key("b", "E"), k * 15 * M));
            sample.push((key("c", "E"), k * 15 * M));
        }
        let choice = IntervalChoice::from_sample("in.csv", &sample, 10, true).unwrap();
        assert_eq!((choice.length, choice.steps, choice.steps_at_length), (15 * M, 7, 4));
        assert_eq!((choice.steps_off_length, choice.series_at_other_lengths), (0, 1));
        let a = SeriesName { asset: Some("a".to_string()), point: Some("E".to_string()) };
        assert_eq!(choice.example, Some((a, 30 * M)));
        let sample = [
            (key("a", "E"), 0),
            (key("a", "E"), 30 * M),
            (key("a", "E"), 60 * M),
            (key("d", "E"), 0),
            (key("d", "E"), 10 * M),
        ];
        let choice = IntervalChoice::from_sample("in.csv", &sample, 5, false).unwrap();
        assert_eq!((choice.length, choice.steps_off_length, choice.series_at_other_lengths), (30 * M, 1, 1));
        assert!(choice.warning().unwrap().contains("1 of the 2 series in the sample of in.csv do not step by 30m"));
    }
}
