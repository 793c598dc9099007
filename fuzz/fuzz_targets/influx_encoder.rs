//! libFuzzer entry for the `influx_encoder` check of [`harness`].
#![no_main]

// Each target uses one check of the shared harness.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::influx_encoder(data));
