//! Issue 27's rule for repeated readings against an independent model: for random inputs in
//! which some readings are read again (with another value or the same) while their windows can
//! still change, a run with `duplicates: last` in `final` mode writes what a run over the input
//! deduplicated beforehand writes, each key keeping its last value at the position of its first
//! arrival. Every aggregation, tumbling and sliding windows, thresholds (not `last_value`: see
//! the contract), both merge triggers, every watermark scope, and random
//! `--state` cuts of the input with repeats.

use crate::state_split::{JobSet, csv, job_sets, run, split_runs};
use meterflow::engine::{Duplicates, EmitMode, EngineOptions, WatermarkScope};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// A data line of meter `m{asset}`, point A or B.
fn line(ts: i64, asset: u8, b: bool, value: i64) -> String {
    format!("{ts},m{asset},{},{value}", if b { "B" } else { "A" })
}

/// A reading as it arrives: (arrival, row, ts, asset, point B, value, values of its repeats).
type Arriving = (i64, usize, i64, u8, bool, i64, Vec<i64>);

/// Distinct keys of two meters and two points over two hours, mostly in time order, some 30
/// minutes late (as the split test's input), each with up to two repeats of random values.
/// `near`: every repeat follows its reading at once, so its windows can still change whatever
/// the lateness; otherwise repeats land anywhere later and the jobs' lateness covers the input.
/// Returns the input with repeats and the input deduplicated (first position, last value).
fn with_repeats(near: bool) -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let row = (0u8..2, any::<bool>(), 0i64..7_200_000, -20i64..100, 0u8..8);
    let repeats = prop::collection::vec(-20i64..100, 0..3);
    let rows = prop::collection::vec((row, repeats, prop::bool::weighted(0.3), any::<prop::sample::Index>()), 1..50);
    rows.prop_map(move |rows| {
        let mut seen = BTreeSet::new();
        let mut arriving: Vec<Arriving> = Vec::new();
        for (k, ((asset, b, ts, value, late), repeats, repeated, _)) in rows.iter().enumerate() {
            if !seen.insert((*asset, *b, *ts)) {
                continue;
            }
            let arrival = if *late == 0 { ts + 1_800_000 } else { *ts };
            let repeats = if *repeated { repeats.clone() } else { Vec::new() };
            arriving.push((arrival, k, *ts, *asset, *b, *value, repeats));
        }
        arriving.sort_by_key(|r| (r.0, r.1));
        let dedup: Vec<String> = arriving
            .iter()
            .map(|(_, _, ts, asset, b, value, repeats)| line(*ts, *asset, *b, *repeats.last().unwrap_or(value)))
            .collect();
        let mut input: Vec<String> =
            arriving.iter().map(|(_, _, ts, asset, b, value, _)| line(*ts, *asset, *b, *value)).collect();
        // Repeats go in from the last reading back, so positions found earlier stay right.
        for (i, (_, k, ts, asset, b, _, repeats)) in arriving.iter().enumerate().rev() {
            let mut at = i + 1;
            for value in repeats {
                if !near {
                    let after = input.len() - at + 1;
                    at += rows[*k].3.index(after);
                }
                input.insert(at, line(*ts, *asset, *b, *value));
                at += 1;
            }
        }
        (input, dedup)
    })
}

fn last(emit: EmitMode, watermark: WatermarkScope) -> EngineOptions {
    EngineOptions { emit, watermark, duplicates: Some(Duplicates::Last), ..EngineOptions::default() }
}

fn scopes() -> impl Strategy<Value = WatermarkScope> {
    prop::sample::select(vec![WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn last_equals_the_input_deduplicated_beforehand(
        jobs in job_sets(),
        scope in scopes(),
        (near, (input, dedup)) in any::<bool>().prop_flat_map(|near| (Just(near), with_repeats(near))),
        cuts in prop::collection::vec(0usize..80, 0..4),
    ) {
        let mut jobs: JobSet = jobs;
        if !near {
            jobs.latency = "4h";
        }
        // `last_value` lends the value valid when an out-of-threshold reading arrives, and a
        // correction does not lend again (docs/reference/contract.md): outside this model.
        jobs.last_value = false;
        let options = last(EmitMode::Final, scope);
        let expected = run(&jobs, options, &csv(&dedup), None, false).0;
        prop_assert_eq!(&run(&jobs, options, &csv(&input), None, false).0, &expected, "one run");
        prop_assert_eq!(&split_runs(&jobs, options, &input, &cuts).0, &expected, "runs cut with --state");
    }
}
