//! The dispatch of input readings: each counted, looked up by point and series, and handed to the
//! jobs that read it. A run of readings (a parsed chunk's) goes through [`Pipeline::push_run`],
//! one loop in which what holds for the whole run (the feed, the reading count, the jobs'
//! figures) is settled once and the usual reading, read by one job that hands nothing on, costs
//! no call of its own.

use super::operator::Readers;
use super::stats::count_into;
use super::{Feed, NO_MODEL, Pipeline, Reading, Sink};

impl Pipeline {
    pub(super) fn push_fed(&mut self, r: Reading, feed: Feed, sink: &mut dyn Sink) {
        self.readings += 1;
        self.dispatch(r, feed, sink);
    }

    /// Runs the input readings of `run` through the jobs, in order, as many calls of
    /// [`Pipeline::push`] would, while `next` lets each go in (it is called before each with the
    /// sink, and may hand the reading to it); returns how many went in. The figures are whole
    /// when it returns: the sink cannot read them meanwhile.
    #[inline]
    pub(crate) fn push_run<S: Sink>(
        &mut self,
        run: &[Reading],
        sink: &mut S,
        mut next: impl FnMut(&Reading, &mut S) -> bool,
    ) -> usize {
        let mut taken = 0;
        for r in run {
            if !next(r, sink) {
                break;
            }
            taken += 1;
            self.dispatch(*r, Feed::Input, sink);
        }
        self.readings += taken as u64;
        self.settle_figures();
        taken
    }

    /// Everything [`Pipeline::push_fed`] does but count the reading.
    #[inline(always)]
    fn dispatch(&mut self, r: Reading, feed: Feed, sink: &mut dyn Sink) {
        count_into(&mut self.input_points, r.point);
        let other_model = r.model != NO_MODEL && {
            count_into(&mut self.input_models, r.model);
            !self.models.contains(&r.model)
        };
        let readers = self.readers.get(r.point as usize).copied().unwrap_or(Readers::None);
        if other_model || readers == Readers::None {
            self.unrouted += 1;
            return;
        }
        let series = self.series.reading(r.asset, r.point, r.ts);
        // The usual input point is read by one job: no loop over routes, nothing to filter, and
        // the reading is noted for the late count only when the job hands something on.
        if let Readers::One(op) = readers {
            self.operators[op].push(r, feed, &mut self.scratch[op]);
            if !self.scratch[op].is_empty() {
                self.hand_on(op, series, r, sink);
            }
            return;
        }
        self.route_input(series, r, feed, sink);
    }

    /// Delivers what job `op` produced from input reading `r` of series `series`.
    #[inline(never)]
    fn hand_on(&mut self, op: usize, series: usize, r: Reading, sink: &mut dyn Sink) {
        self.routing = Some((series, r));
        let mut out = std::mem::take(&mut self.scratch[op]);
        self.deliver(&mut out, sink);
        self.scratch[op] = out;
        self.routing = None;
    }

    /// Input reading `r` of series `series` to each of the jobs that read its point.
    #[inline(never)]
    fn route_input(&mut self, series: usize, r: Reading, feed: Feed, sink: &mut dyn Sink) {
        self.routing = Some((series, r));
        self.route(r, feed, None, sink);
        self.routing = None;
    }
}
