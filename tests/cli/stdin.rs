//! Standard input, plain or compressed: with no `--input`, meterflow reads stdin and tells gzip and
//! zstd from plain text by their magic bytes (there is no file name to go by).

use std::io::Write;
use std::process::Stdio;

const TEXT: &str =
    "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,3\n2024-01-01T00:04:00Z,m1,Reading,5\n";
const EXPECTED: &str = "timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,MaxReading10Min,5\n2024-01-01T00:00:00.000Z,m1,MinReading10Min,3\n";

fn run_with_stdin(bytes: &[u8]) -> String {
    let job = concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml");
    let mut child = crate::support::meterflow()
        .args(["run", job, "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("meterflow runs");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write stdin");
    let output = child.wait_with_output().expect("meterflow ends");
    assert!(output.status.success(), "exit status {:?}", output.status);
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn plain_stdin() {
    assert_eq!(run_with_stdin(TEXT.as_bytes()), EXPECTED);
}

#[test]
fn gzip_stdin() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(TEXT.as_bytes()).unwrap();
    assert_eq!(run_with_stdin(&encoder.finish().unwrap()), EXPECTED);
}

#[test]
fn zstd_stdin() {
    assert_eq!(run_with_stdin(&zstd::encode_all(TEXT.as_bytes(), 3).unwrap()), EXPECTED);
}
