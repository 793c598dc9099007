//! Reading a window policy's rules beyond the platform's six fields into [`PolicyRules`]: the
//! register rules of `delta`, the integration of `integral` and `twa`, and what a window must hold
//! to be written. Each field is refused on an aggregation it does not apply to, so a rule never
//! sits in a job file doing nothing.

use super::fields::window_policy as policy;
use super::plan::{Aggregation, Boundary, Method, PolicyRules, Reset, ResetKind};
use super::read_common::read_duration;
use crate::job::threshold::Threshold;
use crate::time::duration::format_duration;
use crate::time::period::Period;
use crate::yaml::{Field, Listing, Located, Mapping, Reader, choice};

/// Which aggregations a rule field applies to, in words for the message refusing it elsewhere.
struct Applies {
    field: &'static Field,
    to: fn(Aggregation) -> bool,
    words: &'static str,
}

const APPLIES: &[Applies] = &[
    Applies { field: &policy::BOUNDARY, to: is_delta, words: "`delta`" },
    Applies { field: &policy::RESET, to: is_delta, words: "`delta`" },
    Applies { field: &policy::ROLLOVER_AT, to: is_delta, words: "`delta`" },
    Applies { field: &policy::RESET_TOLERANCE, to: is_delta, words: "`delta`" },
    Applies { field: &policy::SLOPE, to: is_delta, words: "`delta`" },
    Applies { field: &policy::SCALE, to: is_delta, words: "`delta`" },
    Applies { field: &policy::METHOD, to: Aggregation::is_integral, words: "`integral` and `twa`" },
    Applies { field: &policy::MAX_GAP, to: Aggregation::is_integral, words: "`integral` and `twa`" },
    Applies { field: &policy::UNIT, to: is_integral_only, words: "`integral` (a `twa` is in the value's own unit)" },
];

fn is_delta(a: Aggregation) -> bool {
    a == Aggregation::Delta
}

fn is_integral_only(a: Aggregation) -> bool {
    a == Aggregation::Integral
}

/// The rules of policy `p` aggregating `aggregation` over windows of `window_size` (either `None`
/// when it was invalid, reported already: then only the fields themselves are checked).
pub(crate) fn read_rules(
    reader: &mut Reader<'_>,
    p: &Mapping<'_>,
    aggregation: Option<Aggregation>,
    window_size: Option<Period>,
    sliding: bool,
) -> Option<PolicyRules> {
    let mut ok = true;
    if let Some(a) = aggregation {
        for rule in APPLIES {
            if !(rule.to)(a)
                && let Some(at) = p.scalar(reader, rule.field)
            {
                let message = format!(
                    "`{}` applies to {} only; this policy's aggregation is `{}`",
                    rule.field.name,
                    rule.words,
                    a.name()
                );
                reader.error(&at, message);
                ok = false;
            }
        }
    }
    let mut rules = PolicyRules::default();
    let register = &mut rules.register;
    register.boundary = match p.scalar(reader, &policy::BOUNDARY) {
        Some(at) => choice(reader, &at, "boundary", &Boundary::NAMES, Listing::Or).unwrap_or_else(|| {
            ok = false;
            Boundary::None
        }),
        None if aggregation == Some(Aggregation::Delta) => Boundary::default_for(sliding),
        None => Boundary::None,
    };
    let kind = match p.scalar(reader, &policy::RESET) {
        Some(at) => choice(reader, &at, "reset", &ResetKind::NAMES, Listing::Or),
        None => Some(ResetKind::Zero),
    };
    let rollover_at = p.scalar(reader, &policy::ROLLOVER_AT);
    match (kind, rollover_at) {
        (Some(ResetKind::Rollover), Some(at)) => match positive(reader, &at, "the value the register wraps at") {
            Some(value) => {
                warn_largest_reading(reader, &at, value);
                register.reset = Reset::Rollover { at: value };
            }
            None => ok = false,
        },
        (Some(ResetKind::Rollover), None) => {
            reader.error_span(
                p.span(),
                p.path(),
                "`reset: rollover` needs `rollover_at`, the value at which the register wraps to 0 (100000 for a \
                 register showing 99999.9 at most)",
            );
            ok = false;
        }
        (Some(_), Some(at)) => {
            reader.error(&at, "`rollover_at` applies to `reset: rollover` only");
            ok = false;
        }
        (Some(ResetKind::Exchange), None) => register.reset = Reset::Exchange,
        (Some(ResetKind::Zero), None) => {}
        (None, _) => ok = false,
    }
    if let Some(at) = p.scalar(reader, &policy::RESET_TOLERANCE) {
        match number(reader, &at).filter(|v| {
            let fine = *v >= 0.0;
            if !fine {
                reader.error(&at, "the reset tolerance is a size of drop: 0 or more");
            }
            fine
        }) {
            Some(v) => register.reset_tolerance = v,
            None => ok = false,
        }
    }
    if let Some(at) = p.scalar(reader, &policy::SLOPE) {
        match Threshold::parse(at.text) {
            Ok(slope) => register.slope = Some(slope),
            Err(e) => {
                reader.error(&at, e.replacen("threshold", "slope", 1));
                ok = false;
            }
        }
    }
    if let Some(at) = p.scalar(reader, &policy::SCALE) {
        match positive(reader, &at, "the scale") {
            Some(v) => register.scale = v,
            None => ok = false,
        }
    }
    ok &= read_integration(reader, p, aggregation, &mut rules);
    ok &= read_coverage(reader, p, aggregation, window_size, &mut rules);
    ok = ok && refuse_sliding(reader, p, aggregation, &rules, sliding);
    ok.then_some(rules)
}

/// A policy whose windows wait for the series' next reading (see [`Aggregation::reads_next`])
/// runs on tumbling windows only: sliding windows overlap, so the readings on either side of one
/// window lie inside its neighbours, which the engine does not yet read across.
fn refuse_sliding(
    reader: &mut Reader<'_>,
    p: &Mapping<'_>,
    aggregation: Option<Aggregation>,
    rules: &PolicyRules,
    sliding: bool,
) -> bool {
    let Some(a) = aggregation.filter(|a| sliding && a.reads_next(rules)) else { return true };
    let (field, text) = match p.scalar(reader, &policy::BOUNDARY) {
        Some(at) if a == Aggregation::Delta => (at.clone(), format!("`boundary: {}`", at.text.trim())),
        _ => match p.scalar(reader, &policy::AGGREGATION) {
            Some(at) => (at, format!("the aggregation `{}`", a.name())),
            None => return false,
        },
    };
    reader.error(
        &field,
        format!(
            "{text} runs on tumbling windows only: this version of meterflow does not run it on sliding windows{}",
            if a == Aggregation::Delta { " (`boundary: none` does)" } else { "" }
        ),
    );
    false
}

fn read_integration(
    reader: &mut Reader<'_>,
    p: &Mapping<'_>,
    aggregation: Option<Aggregation>,
    rules: &mut PolicyRules,
) -> bool {
    let mut ok = true;
    let integration = &mut rules.integration;
    match p.scalar(reader, &policy::METHOD) {
        Some(at) => match choice(reader, &at, "method", &Method::NAMES, Listing::Or) {
            Some(m) => integration.method = m,
            None => ok = false,
        },
        None if aggregation.is_some_and(Aggregation::is_integral) => {
            let message = format!(
                "`{}` needs `method`: `left` (each value holds until the next reading: instant power) or `trapezoid` \
                 (the mean of each two neighbouring readings: average power)",
                aggregation.map(Aggregation::name).unwrap_or_default()
            );
            reader.error_span(p.span(), p.path(), message);
            ok = false;
        }
        None => {}
    }
    if let Some(at) = p.scalar(reader, &policy::UNIT) {
        match longer_than_zero(reader, &at) {
            Some(ms) => integration.unit = ms,
            None => ok = false,
        }
    }
    if let Some(at) = p.scalar(reader, &policy::MAX_GAP) {
        match longer_than_zero(reader, &at) {
            Some(ms) => integration.max_gap = Some(ms),
            None => ok = false,
        }
    }
    ok
}

fn read_coverage(
    reader: &mut Reader<'_>,
    p: &Mapping<'_>,
    aggregation: Option<Aggregation>,
    window_size: Option<Period>,
    rules: &mut PolicyRules,
) -> bool {
    let mut ok = true;
    let coverage = &mut rules.coverage;
    if let Some(at) = p.scalar(reader, &policy::EXPECTED_INTERVAL) {
        match longer_than_zero(reader, &at) {
            Some(ms) => match window_size {
                Some(Period::Fixed(size)) if size % ms != 0 => {
                    let message = format!(
                        "the window size {} is not a multiple of the expected interval {}: a window would expect a \
                         fraction of a reading",
                        format_duration(size),
                        format_duration(ms)
                    );
                    reader.error(&at, message);
                    ok = false;
                }
                _ => coverage.expected_interval = Some(ms),
            },
            None => ok = false,
        }
    }
    let needs_interval = |what: &str| {
        format!(
            "{what} needs `expected_interval`, the meter's reading interval (e.g. expected_interval: 30m), to know how \
             many readings a window should hold"
        )
    };
    if aggregation == Some(Aggregation::Coverage) && p.get(&policy::EXPECTED_INTERVAL).is_none() {
        reader.error_span(p.span(), p.path(), needs_interval("`coverage`"));
        ok = false;
    }
    if let Some(at) = p.scalar(reader, &policy::MIN_COVERAGE) {
        match number(reader, &at) {
            Some(v) if v > 0.0 && v <= 1.0 => coverage.min_coverage = Some(v),
            Some(v) => {
                let hint = if v > 1.0 && v <= 100.0 { format!(" ({} for {v}%)", v / 100.0) } else { String::new() };
                reader.error(
                    &at,
                    format!("the minimum coverage is a share of the expected readings, above 0 and at most 1{hint}"),
                );
                ok = false;
            }
            None => ok = false,
        }
        if p.get(&policy::EXPECTED_INTERVAL).is_none() {
            reader.error(&at, needs_interval("`min_coverage`"));
            ok = false;
        }
    }
    if let Some(at) = p.scalar(reader, &policy::MIN_COUNT) {
        match at.text.trim().parse::<u64>() {
            Ok(n) if n >= 1 => coverage.min_count = Some(n),
            _ => {
                reader.error(&at, format!("invalid count {:?}: expected a whole number, 1 or more", at.text.trim()));
                ok = false;
            }
        }
    }
    ok
}

/// A finite number, or `None` (reported).
fn number(reader: &mut Reader<'_>, at: &Located<'_>) -> Option<f64> {
    let value = at.text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    if value.is_none() {
        reader.error(at, format!("invalid number {:?}", at.text.trim()));
    }
    value
}

/// A finite number above 0, or `None` (reported as `what` must be).
fn positive(reader: &mut Reader<'_>, at: &Located<'_>, what: &str) -> Option<f64> {
    let value = number(reader, at)?;
    if value <= 0.0 {
        reader.error(at, format!("{what} must be greater than 0"));
        return None;
    }
    Some(value)
}

fn longer_than_zero(reader: &mut Reader<'_>, at: &Located<'_>) -> Option<i64> {
    let ms = read_duration(reader, at)?;
    if ms == 0 {
        reader.error(at, "must be longer than 0s");
        return None;
    }
    Some(ms)
}

/// `rollover_at: 99999.9` is most likely the register's largest reading, not where it wraps: with
/// it the step 99999.9 -> 0.0 would book nothing instead of 0.1.
fn warn_largest_reading(reader: &mut Reader<'_>, at: &Located<'_>, value: f64) {
    let text = at.text.trim();
    let nines = text.bytes().filter(|b| *b != b'.').all(|b| b == b'9');
    if !nines {
        return;
    }
    let decimals = text.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
    let step = 10f64.powi(-decimals);
    let wraps = ((value + step) * 10f64.powi(decimals)).round() / 10f64.powi(decimals);
    reader.warning(
        at,
        format!(
            "`rollover_at: {text}` looks like the register's largest reading: a register showing {text} at most wraps \
             at {wraps}, so with {text} the step {text} -> 0 books 0 instead of {step}; write `rollover_at: {wraps}`"
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::job::load_sources;
    use crate::job::{Aggregation, JobKind};

    const JOB: &str = "template: time_window_aggregation\nmodel: M\npolicies:\n  - input: R\n    window_size: 1h\n    \
                       output: O\n";

    /// The problems of the job whose policy has the extra `lines`, as (field, message).
    fn problems(lines: &str) -> Vec<(String, String)> {
        let yaml = format!("{JOB}{}", lines.lines().map(|l| format!("    {l}\n")).collect::<String>());
        match load_sources(vec![("job.yaml".to_string(), yaml.into_bytes())]) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|d| (d.field, d.message)).collect(),
        }
    }

    fn one(lines: &str) -> (String, String) {
        let mut all = problems(lines);
        assert_eq!(all.len(), 1, "{lines}: {all:?}");
        all.remove(0)
    }

    #[test]
    fn count_is_the_platform_spelling_of_cnt() {
        let yaml = format!("{JOB}    aggregation: count\n");
        let jobs = load_sources(vec![("job.yaml".to_string(), yaml.into_bytes())]).unwrap();
        let JobKind::Window(w) = &jobs[0].kind else { panic!("a window job") };
        assert_eq!(w.policies[0].aggregation, Aggregation::Cnt);
        assert_eq!(w.policies[0].aggregation.name(), "cnt");
    }

    #[test]
    fn percentiles_are_p_and_a_share_with_two_decimals_at_most() {
        let parsed = |w: &str| Aggregation::parse(w);
        assert_eq!(parsed("p95"), Some(Aggregation::Percentile(9500)));
        assert_eq!(parsed("p99.9"), Some(Aggregation::Percentile(9990)));
        assert_eq!(parsed("p0.05"), Some(Aggregation::Percentile(5)));
        assert_eq!(parsed("p100"), Some(Aggregation::Percentile(10_000)));
        for bad in ["p", "p101", "p100.5", "p9.999", "p95.", "p050", "p-1", "pmax", "P95"] {
            assert_eq!(parsed(bad), None, "{bad}");
        }
        assert_eq!(Aggregation::Percentile(9990).name(), "p99.9");
        assert_eq!(Aggregation::Percentile(9500).name(), "p95");
        let (_, message) = one("aggregation: p101");
        assert!(
            message.ends_with("a percentile is `p` and 0 to 100 with at most two decimals, such as `p95` or `p99.9`")
        );
    }

    #[test]
    fn a_rule_is_refused_on_an_aggregation_it_does_not_apply_to() {
        assert_eq!(
            one("aggregation: max\nboundary: previous"),
            (
                "policies[0].boundary".into(),
                "`boundary` applies to `delta` only; this policy's aggregation is `max`".into()
            )
        );
        assert_eq!(
            one("aggregation: sum\nmax_gap: 1h").1,
            "`max_gap` applies to `integral` and `twa` only; this policy's aggregation is `sum`"
        );
    }

    #[test]
    fn rule_values_are_checked() {
        let cases = [
            ("aggregation: delta\nreset: rollover", "`reset: rollover` needs `rollover_at`"),
            ("aggregation: delta\nrollover_at: 100000", "`rollover_at` applies to `reset: rollover` only"),
            (
                "aggregation: delta\nreset: rollover\nrollover_at: 0",
                "the value the register wraps at must be greater than 0",
            ),
            ("aggregation: delta\nreset: wrap", "unknown reset `wrap`, expected `zero`, `rollover` or `exchange`"),
            ("aggregation: delta\nreset_tolerance: -1", "the reset tolerance is a size of drop: 0 or more"),
            ("aggregation: delta\nscale: 0", "the scale must be greater than 0"),
            ("aggregation: delta\nslope: \"[0, 5\"", "invalid slope \"[0, 5\": it must end with ']' or ')'"),
            ("aggregation: integral", "`integral` needs `method`: `left`"),
            (
                "aggregation: twa\nmethod: left\nunit: 1h",
                "`unit` applies to `integral` (a `twa` is in the value's own unit) only",
            ),
            ("aggregation: coverage", "`coverage` needs `expected_interval`"),
            ("aggregation: max\nmin_coverage: 0.5", "`min_coverage` needs `expected_interval`"),
            (
                "aggregation: max\nexpected_interval: 7m",
                "the window size 1h is not a multiple of the expected interval 7m",
            ),
            ("aggregation: max\nexpected_interval: 30m\nmin_coverage: 90", "at most 1 (0.9 for 90%)"),
            ("aggregation: max\nmin_count: 0", "invalid count \"0\": expected a whole number, 1 or more"),
        ];
        for (lines, expected) in cases {
            let all = problems(lines);
            assert!(all.iter().any(|(_, m)| m.contains(expected)), "{lines}: {all:?}");
        }
    }

    #[test]
    fn rules_reading_the_next_window_run_on_tumbling_windows_only() {
        for runs in [
            "aggregation: integral\nmethod: left",
            "aggregation: twa\nmethod: trapezoid\nmax_gap: 30m",
            "aggregation: delta\nboundary: previous",
            "aggregation: delta\nboundary: interpolate\nreset: zero",
            "aggregation: median",
            "aggregation: delta\nscale: 40",
        ] {
            assert!(problems(runs).is_empty(), "{runs}");
        }
        let sliding = |lines: &str| {
            let yaml = format!(
                "template: time_window_aggregation\nmodel: M\nwindow:\n  type: sliding\n  slide: 30m\npolicies:\n  - \
                 input: R\n    window_size: 1h\n    output: O\n{lines}"
            );
            match load_sources(vec![("job.yaml".to_string(), yaml.into_bytes())]) {
                Ok(_) => Vec::new(),
                Err(e) => e.0.into_iter().map(|d| (d.field, d.message)).collect::<Vec<_>>(),
            }
        };
        assert_eq!(
            sliding("    aggregation: delta\n    boundary: previous\n"),
            vec![(
                "policies[0].boundary".to_string(),
                "`boundary: previous` runs on tumbling windows only: this version of meterflow does not run it on \
                 sliding windows (`boundary: none` does)"
                    .to_string()
            )]
        );
        assert_eq!(
            sliding("    aggregation: integral\n    method: left\n").into_iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![
                "the aggregation `integral` runs on tumbling windows only: this version of meterflow does not run it on \
                 sliding windows"
                    .to_string()
            ]
        );
        assert!(sliding("    aggregation: delta\n    boundary: none\n").is_empty());
    }
}
