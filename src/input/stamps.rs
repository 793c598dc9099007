//! What a read timestamp becomes once its series is known: `--dst ambiguous=infer` picks one of
//! the two instants of a repeated local time from the order of the series' rows, and
//! `--interval-end` moves a reading stamped at the end of its interval to the interval's start.
//!
//! Inference follows each series (asset x point; asset in wide input, where one timestamp serves
//! every point of a row) in file order. Its rows run forwards or backwards in time (newest-first
//! exports run backwards), as the last step between two different instants says. A repeated local
//! time is read as the first of its instants after the series' previous reading when the rows run
//! forwards, the last before it when they run backwards: so `01:00 01:30 01:00 01:30` on a
//! fall-back night in Dublin is 00:00Z 00:30Z 01:00Z 01:30Z, and the same rows newest first
//! `01:30 01:00 01:30 01:00` are 01:30Z 01:00Z 00:30Z 00:00Z. Where the order cannot tell (the
//! series' first reading, no direction yet with the previous reading between the two instants, or
//! no instant on the side the rows run to) the row is refused, naming the reason.

use super::timestamp::{Ambiguous, Placed, TimeParser};
use crate::time::timestamp_string as text;
use hashbrown::HashMap;
use std::hash::Hash;

/// The interval length of `--interval-end`: given, or inferred from the first rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntervalEnd {
    Given(i64),
    /// The most common step between consecutive readings of a series among the first rows.
    Inferred,
}

/// What a reader does to each timestamp once its series is known.
#[derive(Debug, Clone)]
pub(crate) struct Stamps {
    /// `ambiguous=infer`: the series' orders.
    inference: Option<Inference>,
    /// `--interval-end`: how far a reading moves back, once known.
    interval: i64,
    /// `--interval-end auto` before the first rows have told the length.
    sample_needed: bool,
}

impl Stamps {
    pub(crate) fn new(time: &TimeParser, interval_end: Option<IntervalEnd>) -> Stamps {
        let infer = time.zone.is_some() && time.dst.ambiguous == Ambiguous::Infer;
        let (interval, sample_needed) = match interval_end {
            None => (0, false),
            Some(IntervalEnd::Given(ms)) => (ms, false),
            Some(IntervalEnd::Inferred) => (0, true),
        };
        Stamps { inference: infer.then(Inference::default), interval, sample_needed }
    }

    /// Whether `ambiguous=infer` follows the series' orders.
    pub(crate) fn infers(&self) -> bool {
        self.inference.is_some()
    }

    /// Whether the interval length is still to be inferred from a sample of rows.
    pub(crate) fn needs_sample(&self) -> bool {
        self.sample_needed
    }

    pub(crate) fn set_interval(&mut self, ms: i64) {
        self.interval = ms;
        self.sample_needed = false;
    }

    /// The instant a reading of series `key` stands for: its timestamp's instant (told from the
    /// series' order when the local time is repeated), moved to the start of its interval when
    /// timestamps end intervals. The error says why the order cannot tell.
    /// The instant of a reading no job reads: the earlier of a repeated local time, moved as
    /// [`Stamps::instant`] moves it, without keeping anything per series.
    #[inline]
    pub(crate) fn unread(&self, placed: Placed) -> i64 {
        placed.earliest() - self.interval
    }

    #[inline]
    pub(crate) fn instant(&mut self, key: (u32, u32), placed: Placed) -> Result<i64, String> {
        let ts = match (&mut self.inference, placed) {
            (None, placed) => placed.earliest(),
            (Some(inference), placed) => inference.resolve(key, placed)?,
        };
        Ok(ts - self.interval)
    }
}

/// A series' place in its rows: its previous instant, and whether its rows run backwards.
#[derive(Debug, Clone, Copy)]
struct Order {
    last: i64,
    backwards: Option<bool>,
}

/// The per-series state of `ambiguous=infer`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inference {
    series: HashMap<(u32, u32), Order>,
}

impl Inference {
    /// The instant of a reading of series `key`, and the series' order updated; or why the order
    /// cannot tell which instant a repeated local time is.
    pub(crate) fn resolve(&mut self, key: (u32, u32), placed: Placed) -> Result<i64, String> {
        let order = self.series.get(&key).copied();
        let ts = match (placed, order) {
            (Placed::At(ms), _) => ms,
            (Placed::Either { .. }, None) => {
                return Err("it is the first reading of its series, so the order of the rows cannot tell".to_string());
            }
            (Placed::Either { earlier, later }, Some(Order { last, backwards })) => {
                let after = [earlier, later].into_iter().find(|&c| c > last);
                let before = [later, earlier].into_iter().find(|&c| c < last);
                match backwards {
                    Some(false) => after.ok_or_else(|| {
                        format!(
                            "its series runs forwards and both instants lie at or before its previous reading ({})",
                            text(last)
                        )
                    })?,
                    Some(true) => before.ok_or_else(|| {
                        format!(
                            "its series runs backwards and both instants lie at or after its previous reading ({})",
                            text(last)
                        )
                    })?,
                    None if earlier > last => earlier,
                    None if later < last => later,
                    None => {
                        return Err(format!(
                            "its series' previous reading ({}) lies between the two instants and the rows have shown no \
                             direction yet",
                            text(last)
                        ));
                    }
                }
            }
        };
        let backwards = match order {
            Some(o) if o.last != ts => Some(ts < o.last),
            Some(o) => o.backwards,
            None => None,
        };
        self.series.insert(key, Order { last: ts, backwards });
        Ok(ts)
    }
}

/// The length an interval-end input's readings step by: the most common positive step between
/// consecutive readings of a series (by time) among `sample`, `(series, instant)` pairs; of
/// equally common steps the shortest.
pub(crate) fn common_step<K: Hash + Eq + Clone>(sample: &[(K, i64)]) -> Option<i64> {
    let mut by_series: HashMap<K, Vec<i64>> = HashMap::new();
    for (key, ts) in sample {
        by_series.entry(key.clone()).or_default().push(*ts);
    }
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for stamps in by_series.values_mut() {
        stamps.sort_unstable();
        for pair in stamps.windows(2) {
            if pair[1] > pair[0] {
                *counts.entry(pair[1] - pair[0]).or_default() += 1;
            }
        }
    }
    counts.into_iter().max_by_key(|&(step, n)| (n, std::cmp::Reverse(step))).map(|(step, _)| step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn ms(text: &str) -> i64 {
        parse_timestamp(text.as_bytes()).unwrap()
    }

    /// The Dublin fall-back night of 2023-10-29 at half hours: local 01:00 is 00:00Z or 01:00Z,
    /// 01:30 is 00:30Z or 01:30Z.
    fn either(local: &str) -> Placed {
        match local {
            "01:00" => Placed::Either { earlier: ms("2023-10-29T00:00:00Z"), later: ms("2023-10-29T01:00:00Z") },
            "01:30" => Placed::Either { earlier: ms("2023-10-29T00:30:00Z"), later: ms("2023-10-29T01:30:00Z") },
            "00:30" => Placed::At(ms("2023-10-28T23:30:00Z")),
            "02:00" => Placed::At(ms("2023-10-29T02:00:00Z")),
            _ => unreachable!(),
        }
    }

    fn run(rows: &[&str]) -> Result<Vec<String>, String> {
        let mut inference = Inference::default();
        rows.iter().map(|r| inference.resolve((0, 0), either(r)).map(text)).collect()
    }

    #[test]
    fn forwards_and_backwards() {
        let forwards = run(&["00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]).unwrap();
        let z = |t: &str| format!("2023-10-29T{t}:00.000Z");
        assert_eq!(forwards[1..5], [z("00:00"), z("00:30"), z("01:00"), z("01:30")]);
        let backwards = run(&["02:00", "01:30", "01:00", "01:30", "01:00", "00:30"]).unwrap();
        assert_eq!(backwards[1..5], [z("01:30"), z("01:00"), z("00:30"), z("00:00")]);
        // Hourly readings repeat the same text twice in a row: the second is the later instant.
        assert_eq!(run(&["00:30", "01:00", "01:00"]).unwrap()[1..], [z("00:00"), z("01:00")]);
    }

    #[test]
    fn refused_where_the_order_cannot_tell() {
        assert!(run(&["01:00"]).unwrap_err().contains("first reading of its series"));
        assert!(run(&["00:30", "01:30", "01:00", "01:00", "01:30", "01:00"]).unwrap_err().contains("runs forwards"));
        // One reading shows no direction: both instants after it read as the earlier; a previous
        // reading between the two cannot tell.
        let mut inference = Inference::default();
        inference.resolve((0, 0), Placed::At(ms("2023-10-29T00:20:00Z"))).unwrap();
        assert_eq!(inference.resolve((0, 0), either("01:30")), Ok(ms("2023-10-29T00:30:00Z")));
        let mut inference = Inference::default();
        inference.resolve((0, 0), Placed::At(ms("2023-10-29T00:45:00Z"))).unwrap();
        assert!(inference.resolve((0, 0), either("01:00")).unwrap_err().contains("lies between"));
        // Series are apart: another series' first reading is refused on its own.
        let mut inference = Inference::default();
        inference.resolve((0, 0), either("00:30")).unwrap();
        assert!(inference.resolve((1, 0), either("01:00")).is_err());
    }

    #[test]
    fn the_common_step_of_a_sample() {
        let m = 60_000;
        let sample =
            [((0, 0), 0), ((0, 0), 30 * m), ((1, 0), 30 * m), ((0, 0), 60 * m), ((1, 0), 0), ((0, 0), 2 * 60 * m)];
        assert_eq!(common_step(&sample), Some(30 * m));
        assert_eq!(common_step(&[((0, 0), 5)]), None);
    }
}
