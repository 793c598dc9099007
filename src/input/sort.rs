//! `--sort-input`: replaying readings in event-time order instead of arrival order, in bounded
//! memory. Readings are gathered in runs of at most [`RUN_LEN`]; a full run is sorted and spilled
//! to an unnamed temporary file, and the runs are merged k-way at the end. Equal timestamps keep
//! their arrival order (stable sort within a run, earlier run first across runs), so the replay is
//! deterministic. Each reading keeps whether it came from an input of revisions (see
//! [`crate::engine::Pipeline::push_revision`]).

use crate::engine::Reading;
use anyhow::{Context, Result};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Readings held in memory at once: about 32 MiB.
pub(crate) const RUN_LEN: usize = 1 << 20;

/// Bytes of one spilled reading: asset, point, model, timestamp, value bits, quality, revision.
const RECORD_LEN: usize = 4 + 4 + 4 + 8 + 8 + 4 + 1;

/// A reading and whether it is a revision.
pub(crate) type Marked = (Reading, bool);

/// Gathers readings in arrival order.
pub struct Sorter {
    run_len: usize,
    run: Vec<Marked>,
    spilled: Vec<File>,
}

impl Default for Sorter {
    fn default() -> Self {
        Sorter::with_run_len(RUN_LEN)
    }
}

impl Sorter {
    /// A sorter that spills every `run_len` readings.
    pub(crate) fn with_run_len(run_len: usize) -> Sorter {
        Sorter { run_len: run_len.max(1), run: Vec::new(), spilled: Vec::new() }
    }

    pub(crate) fn push(&mut self, reading: Reading, revision: bool) -> Result<()> {
        self.run.push((reading, revision));
        if self.run.len() >= self.run_len {
            self.spill().context("failed to write a sort run to the temporary directory")?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.run.sort_by_key(|r| r.0.ts);
        let mut out = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
        for r in self.run.drain(..) {
            out.write_all(&encode(&r))?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        self.spilled.push(file);
        Ok(())
    }

    /// The readings in event-time order.
    pub(crate) fn finish(mut self) -> Result<Sorted> {
        self.run.sort_by_key(|r| r.0.ts);
        let mut runs: Vec<Run> =
            self.spilled.into_iter().map(|f| Run::File(BufReader::with_capacity(1 << 16, f))).collect();
        runs.push(Run::Memory(self.run.into_iter()));
        let mut sorted = Sorter::merge(runs);
        sorted.fill_heap().context("failed to read a sort run back from the temporary directory")?;
        Ok(sorted)
    }

    fn merge(runs: Vec<Run>) -> Sorted {
        let heads = vec![None; runs.len()];
        Sorted { heap: BinaryHeap::with_capacity(runs.len()), runs, heads }
    }
}

enum Run {
    File(BufReader<File>),
    Memory(std::vec::IntoIter<Marked>),
}

impl Run {
    fn next(&mut self) -> io::Result<Option<Marked>> {
        match self {
            Run::Memory(it) => Ok(it.next()),
            Run::File(f) => {
                let mut buf = [0u8; RECORD_LEN];
                match f.read_exact(&mut buf) {
                    Ok(()) => Ok(Some(decode(&buf))),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// The merge of the sorted runs.
pub(crate) struct Sorted {
    runs: Vec<Run>,
    /// The next reading of each run.
    heads: Vec<Option<Marked>>,
    /// (timestamp, run index) of each run's head: the run index breaks ties in arrival order.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
}

impl Sorted {
    fn fill_heap(&mut self) -> io::Result<()> {
        for k in 0..self.runs.len() {
            self.advance(k)?;
        }
        Ok(())
    }

    fn advance(&mut self, k: usize) -> io::Result<()> {
        self.heads[k] = self.runs[k].next()?;
        if let Some((r, _)) = self.heads[k] {
            self.heap.push(Reverse((r.ts, k)));
        }
        Ok(())
    }

    /// The next reading in event-time order, `None` when all are out.
    pub(crate) fn next_reading(&mut self) -> Result<Option<Marked>> {
        let Some(Reverse((_, k))) = self.heap.pop() else { return Ok(None) };
        let reading = self.heads[k].take();
        self.advance(k).context("failed to read a sort run back from the temporary directory")?;
        Ok(reading)
    }
}

fn encode((r, revision): &Marked) -> [u8; RECORD_LEN] {
    let mut buf = [0u8; RECORD_LEN];
    buf[32] = u8::from(*revision);
    buf[0..4].copy_from_slice(&r.asset.to_le_bytes());
    buf[4..8].copy_from_slice(&r.point.to_le_bytes());
    buf[8..12].copy_from_slice(&r.model.to_le_bytes());
    buf[12..20].copy_from_slice(&r.ts.to_le_bytes());
    buf[20..28].copy_from_slice(&r.value.to_bits().to_le_bytes());
    buf[28..32].copy_from_slice(&r.quality.to_le_bytes());
    buf
}

fn decode(buf: &[u8; RECORD_LEN]) -> Marked {
    let u32_at = |at: usize| u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let reading = Reading {
        asset: u32_at(0),
        point: u32_at(4),
        model: u32_at(8),
        ts: u64_at(12) as i64,
        value: f64::from_bits(u64_at(20)),
        quality: u32_at(28) as i32,
    };
    (reading, buf[32] != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reading(ts: i64, seq: u32) -> Reading {
        Reading {
            asset: seq,
            point: 7,
            model: crate::engine::NO_MODEL,
            ts,
            value: f64::from(seq) * 0.5,
            quality: seq as i32 - 3,
        }
    }

    fn sorted(readings: &[Reading], run_len: usize) -> Vec<Reading> {
        let mut sorter = Sorter::with_run_len(run_len);
        for &r in readings {
            sorter.push(r, r.asset % 3 == 0).unwrap();
        }
        let mut out = sorter.finish().unwrap();
        let mut all = Vec::new();
        while let Some((r, revision)) = out.next_reading().unwrap() {
            assert_eq!(revision, r.asset % 3 == 0, "the revision mark travels with its reading");
            all.push(r);
        }
        all
    }

    #[test]
    fn newest_first_becomes_oldest_first_with_ties_in_arrival_order() {
        let input = [reading(30, 0), reading(20, 1), reading(20, 2), reading(10, 3), reading(20, 4), reading(-5, 5)];
        let expected = [reading(-5, 5), reading(10, 3), reading(20, 1), reading(20, 2), reading(20, 4), reading(30, 0)];
        for run_len in [1, 2, 4, RUN_LEN] {
            assert_eq!(sorted(&input, run_len), expected, "run_len {run_len}");
        }
    }

    #[test]
    fn spilled_records_round_trip() {
        let r = Reading {
            asset: u32::MAX - 1,
            point: 3,
            model: crate::engine::NO_MODEL,
            ts: i64::MIN + 1,
            value: -0.0,
            quality: i32::MIN,
        };
        let (back, revision) = decode(&encode(&(r, true)));
        assert_eq!(
            (back.asset, back.point, back.model, back.ts, back.value.to_bits(), back.quality, revision),
            (r.asset, r.point, r.model, r.ts, r.value.to_bits(), r.quality, true)
        );
    }

    proptest! {
        /// Any spill size gives the stable sort of the input.
        #[test]
        fn spilling_changes_nothing(stamps in proptest::collection::vec(-50i64..50, 0..200), run_len in 1usize..40) {
            let input: Vec<Reading> = stamps.iter().enumerate().map(|(i, &ts)| reading(ts, i as u32)).collect();
            let mut expected = input.clone();
            expected.sort_by_key(|r| r.ts);
            prop_assert_eq!(sorted(&input, run_len), expected);
        }
    }
}
