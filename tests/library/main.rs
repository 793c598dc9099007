//! The library driven directly: property tests against independent models (windows, the --state
//! split guarantee, arrival orders) and the fuzz corpus replayed as regression tests.

mod energy;
mod fuzz_regressions;
mod input_shapes;
mod lane;
mod local_windows;
mod meter_data;
mod point_merge;
mod properties;
mod repeats;
mod shared_buf;
mod state_split;
mod window_properties;
