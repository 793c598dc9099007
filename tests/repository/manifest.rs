//! Promises that live in Cargo.toml and that no test run can see, since `cargo test` builds the
//! package with the dev-dependencies' features added to its own.

/// JSON lines input reads numbers with serde_json, whose default parser can read a 17-digit value
/// one unit in the last place off (`0.41000000000000003` as `0.41`); `float_roundtrip` makes it
/// round correctly. A dev-dependency turns the feature on too, so the golden case
/// `input_jsonl_exact_floats` passes under `cargo test` even without it: this check keeps it on
/// for the binary users build.
#[test]
fn json_numbers_are_read_exactly_in_the_shipped_binary() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let dependencies = manifest.split("\n[dependencies]\n").nth(1).expect("a [dependencies] table");
    let dependencies = dependencies.split("\n[").next().unwrap_or_default();
    let serde_json = dependencies.lines().find(|l| l.starts_with("serde_json ")).expect("serde_json is a dependency");
    assert!(serde_json.contains("\"float_roundtrip\""), "{serde_json}");
}
