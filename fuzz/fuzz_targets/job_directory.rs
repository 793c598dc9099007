//! libFuzzer entry for the `job_directory` check of [`harness`].
#![no_main]

// Each target uses one check of the shared harness.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::job_directory(data));
