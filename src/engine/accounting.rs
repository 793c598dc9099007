//! The row accounting invariant: at every stage each row is counted in exactly one bucket, so no
//! row is lost without a trace. The figures come from different places (the input reader, the
//! pipeline's router and sink, each operator's per-policy counters), so a balance that does not
//! hold is a bug in meterflow, reported as an internal error at the end of the run.

use super::stats::JobStats;
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

/// One equation `total = sum of parts` over the figures of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// What the equation is about: `input`, `output`, `job meter-max-min`, `job x policy Y`.
    pub(crate) scope: String,
    pub(crate) total: (String, u64),
    pub(crate) parts: Vec<(String, u64)>,
}

impl Balance {
    pub fn holds(&self) -> bool {
        self.parts.iter().try_fold(0u64, |sum, (_, n)| sum.checked_add(*n)) == Some(self.total.1)
    }

    /// `input: 10 rows = 8 readings + 2 missing values`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.parts.iter().map(|(name, n)| format!("{n} {name}")).collect();
        format!("{}: {} {} = {}", self.scope, self.total.1, self.total.0, parts.join(" + "))
    }

    /// The equation without figures: `rows = readings + missing values`.
    pub(crate) fn equation(&self) -> String {
        let parts: Vec<&str> = self.parts.iter().map(|(name, _)| name.as_str()).collect();
        format!("{} = {}", self.total.0, parts.join(" + "))
    }
}

/// `{scope, equation, total, parts: {name: n, ...}, holds}`: the parts keyed by name, in order.
impl Serialize for Balance {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Parts<'a>(&'a [(String, u64)]);
        impl Serialize for Parts<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (name, n) in self.0 {
                    map.serialize_entry(name, n)?;
                }
                map.end()
            }
        }
        let mut s = serializer.serialize_struct("Balance", 5)?;
        s.serialize_field("scope", &self.scope)?;
        s.serialize_field("equation", &self.equation())?;
        s.serialize_field("total", &self.total.1)?;
        s.serialize_field("parts", &Parts(&self.parts))?;
        s.serialize_field("holds", &self.holds())?;
        s.end()
    }
}

/// What the input side counted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InputFigures {
    /// Data rows of all inputs, those read whole and those rejected as bad rows.
    pub(crate) rows: u64,
    pub(crate) whole_rows: u64,
    pub(crate) rejected: u64,
    /// Value cells of the rows read whole (one per long row, one per point column of a wide row),
    /// and those holding a missing-value marker.
    pub(crate) values: u64,
    pub(crate) missing: u64,
}

/// The figures of one run that the balances are drawn from.
pub(crate) struct RunFigures<'a> {
    pub(crate) input: InputFigures,
    /// Readings handed to the pipeline.
    pub(crate) readings: u64,
    /// Output rows and late rows the pipeline handed to its sink.
    pub(crate) points_written: u64,
    pub(crate) late_written: u64,
    pub(crate) jobs: &'a [&'a JobStats],
}

/// Every balance of a run, in a fixed order: input, each job (and its policies), output.
pub(crate) fn balances(run: &RunFigures<'_>) -> Vec<Balance> {
    let input = run.input;
    let mut all = vec![
        balance(
            "input rows",
            ("rows", input.rows),
            &[("rows read whole", input.whole_rows), ("rejected rows", input.rejected)],
        ),
        balance(
            "input values",
            ("value cells", input.values),
            &[("readings", run.readings), ("missing values", input.missing)],
        ),
    ];
    for job in run.jobs {
        let scope = format!("job {}", job.name);
        // Readings held back as too far ahead and never confirmed reach no policy: a part of their
        // own, named only in a run that had some.
        let skewed = (job.future_skewed > 0).then(|| ("too far ahead".to_string(), job.future_skewed));
        let mut parts = vec![("kept".to_string(), job.kept), ("late dropped".to_string(), job.late_dropped)];
        parts.extend(skewed.clone());
        all.push(Balance { scope: scope.clone(), total: ("rows read".to_string(), job.rows_read), parts });
        if job.policies.is_empty() {
            continue;
        }
        // Each reading reaches every policy on its point, so the rows of a job are the reads of
        // one policy per distinct input point.
        let mut per_input: Vec<(&str, u64)> = Vec::new();
        for p in &job.policies {
            if !per_input.iter().any(|(input, _)| *input == p.input) {
                per_input.push((&p.input, p.read));
            }
            // An out-of-threshold reading replaced by the last valid value counts on both sides.
            all.push(balance(
                &format!("{scope} policy {}", p.output),
                ("read + interpolated", p.read + p.interpolated),
                &[
                    ("valid", p.valid),
                    ("out of threshold", p.out_of_threshold),
                    ("late dropped", p.late_dropped),
                    ("repeats", p.repeats),
                ],
            ));
        }
        let mut parts: Vec<(String, u64)> =
            per_input.iter().map(|&(input, read)| (format!("{input} readings"), read)).collect();
        parts.extend(skewed);
        all.push(Balance { scope: format!("{scope} inputs"), total: ("rows read".to_string(), job.rows_read), parts });
    }
    let sum = |f: fn(&JobStats) -> u64| run.jobs.iter().map(|j| f(j)).sum::<u64>();
    all.push(balance(
        "output",
        ("rows written", run.points_written),
        &[("rows the jobs wrote", sum(|j| j.rows_written))],
    ));
    let mut late = balance(
        "late output",
        ("late rows", run.late_written),
        &[
            ("readings dropped as late", sum(|j| j.late_dropped)),
            ("readings partially late", sum(|j| j.partially_late)),
        ],
    );
    let skewed = sum(|j| j.future_skewed);
    if skewed > 0 {
        late.parts.push(("readings too far ahead".to_string(), skewed));
    }
    all.push(late);
    all
}

fn balance(scope: &str, total: (&str, u64), parts: &[(&str, u64)]) -> Balance {
    Balance {
        scope: scope.to_string(),
        total: (total.0.to_string(), total.1),
        parts: parts.iter().map(|&(name, n)| (name.to_string(), n)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_and_checks_an_equation() {
        let b = balance("input", ("rows", 10), &[("readings", 8), ("missing values", 2)]);
        assert!(b.holds());
        assert_eq!(b.describe(), "input: 10 rows = 8 readings + 2 missing values");
        assert_eq!(b.equation(), "rows = readings + missing values");
        let off = balance("input", ("rows", 11), &[("readings", 8), ("missing values", 2)]);
        assert!(!off.holds());
        let overflow = balance("x", ("rows", 0), &[("a", u64::MAX), ("b", 1)]);
        assert!(!overflow.holds());
    }
}
