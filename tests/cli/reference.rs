//! docs/reference/cli.md is generated from the command line's own definitions, so the reference
//! cannot drift from `--help`. `METERFLOW_BLESS=1 cargo test --test cli reference` rewrites it.

use meterflow::cli::Cli;
use std::path::Path;

const HEADER: &str = "<!-- Generated from the command line's definitions by tests/cli/reference.rs: \
                      `METERFLOW_BLESS=1 cargo test --test cli reference` rewrites it. Do not edit by hand. -->\n\n";

#[test]
fn the_cli_reference_is_generated_from_the_command_line() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference/cli.md");
    let generated = format!("{HEADER}{}", clap_markdown::help_markdown::<Cli>());
    if std::env::var_os("METERFLOW_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the reference");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/reference/cli.md is not what the command line defines: run `METERFLOW_BLESS=1 cargo test --test cli \
         reference` and commit the result"
    );
}
