//! libFuzzer entry for the `time_format` check of [`harness`].
#![no_main]

// Each target uses one check of the shared harness.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::time_format(data));
