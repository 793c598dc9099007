//! `meterflow partition-keys` (hidden plumbing for the Spark runner in `spark/`): reads one CSV
//! input from stdin with the run's input flags and prints, for every record, its line number and
//! its asset exactly as `run` resolves it (column aliases, `--asset-column`, a constant `--asset`,
//! wide files, delimiter detection), so the runner partitions rows by the very key meterflow uses;
//! or, with `--describe`, where in a row the asset is, for the runner to find it itself.

use crate::engine::names::Names;
use crate::input::columns::{Columns, Source};
use crate::input::{InputOptions, source};
use anyhow::{Context, Result, bail};
use csv::ByteRecord;
use std::io::{Read, Write};

/// Writes `LINE<TAB>ASSET` per record of `input` (header excluded) to `out`. A record whose asset
/// field is missing (a short row) gets an empty asset: it is a bad row wherever it goes. A field
/// holding a line break is refused: the runner cuts its input at line breaks. (The runner drops
/// empty lines before, as the CSV reader skips them, so records and lines correspond one to one.)
pub(crate) fn write_keys(options: &InputOptions, input: Box<dyn Read + Send>, out: &mut dyn Write) -> Result<()> {
    let Keyed { mut csv, columns, names, .. } = keyed(options, input)?;
    let mut record = ByteRecord::new();
    while csv.read_byte_record(&mut record).with_context(|| "<stdin>: malformed CSV".to_string())? {
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().any(|f| f.contains(&b'\n') || f.contains(&b'\r')) {
            bail!("<stdin>:{line}: a quoted field holds a line break; the Spark runner reads input line by line");
        }
        let asset: &[u8] = match columns.asset {
            Source::Constant(id) => names.assets.name(id).as_bytes(),
            Source::Column(c) => record.get(c).map_or(&b""[..], <[u8]>::trim_ascii),
        };
        write!(out, "{line}\t")?;
        out.write_all(asset)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Writes how the rows of `input` are keyed, from its header: `delimiter<TAB>BYTE` (decimal), then
/// `asset-column<TAB>INDEX` (from 0) or `asset<TAB>NAME` (a constant asset). The rest of the input
/// is not read.
pub(crate) fn describe(options: &InputOptions, input: Box<dyn Read + Send>, out: &mut dyn Write) -> Result<()> {
    let Keyed { columns, names, delimiter, .. } = keyed(options, input)?;
    writeln!(out, "delimiter\t{delimiter}")?;
    match columns.asset {
        Source::Column(c) => writeln!(out, "asset-column\t{c}")?,
        Source::Constant(id) => writeln!(out, "asset\t{}", names.assets.name(id))?,
    }
    out.flush()?;
    Ok(())
}

/// An input with its header read and its columns resolved as `run` resolves them.
struct Keyed {
    csv: csv::Reader<Box<dyn Read + Send>>,
    columns: Columns,
    names: Names,
    delimiter: u8,
}

fn keyed(options: &InputOptions, input: Box<dyn Read + Send>) -> Result<Keyed> {
    let (source, detected) = source::prepare(input).context("failed to read <stdin>")?;
    let delimiter = options.delimiter.unwrap_or(detected);
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(true).delimiter(delimiter).from_reader(source);
    let header = csv.byte_headers().context("failed to read the header of <stdin>")?;
    let header: Vec<String> = header.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    let mut names = Names::default();
    let columns = Columns::resolve("<stdin>", &header, options, &mut names)?;
    Ok(Keyed { csv, columns, names, delimiter })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Mode = fn(&InputOptions, Box<dyn Read + Send>, &mut dyn Write) -> Result<()>;

    fn output(mode: Mode, text: &str, set: impl FnOnce(&mut crate::input::InputSettings)) -> Result<String> {
        let mut settings = crate::input::InputSettings::default();
        set(&mut settings);
        let options = InputOptions::from_settings(&settings)?;
        let mut out = Vec::new();
        mode(&options, Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    fn keys(text: &str, set: impl FnOnce(&mut crate::input::InputSettings)) -> Result<String> {
        output(write_keys, text, set)
    }

    #[test]
    fn each_record_gets_its_line_and_the_trimmed_asset_of_its_aliased_column() {
        let text = "Time;Meter_ID;Point;Value\n1000; m1 ;Reading;1\n2000;m2;Reading;2\n3000\n";
        assert_eq!(keys(text, |_| {}).unwrap(), "2\tm1\n3\tm2\n4\t\n");
    }

    #[test]
    fn a_constant_asset_keys_every_wide_row() {
        let text = "ts,a,b\n1000,1,2\n2000,3,4\n";
        let got = keys(text, |a| {
            a.wide = true;
            a.asset = Some("house".into());
        });
        assert_eq!(got.unwrap(), "2\thouse\n3\thouse\n");
    }

    #[test]
    fn a_line_break_inside_a_quoted_field_is_refused_with_its_line() {
        let err = keys("timestamp,asset,point,value\n1000,\"m\n1\",Reading,1\n", |_| {}).unwrap_err();
        assert!(err.to_string().starts_with("<stdin>:2: a quoted field holds a line break"), "{err}");
    }

    #[test]
    fn describe_names_the_detected_delimiter_and_the_aliased_asset_column() {
        // `Meter_ID` is an alias of the asset column, the third of four once `;` splits the header;
        // a BOM and CRLF do not change the answer, and the data row after the header is not read.
        let text = "\u{feff}Time;Value;Meter_ID;Point\r\nnot;a;row\r\n";
        assert_eq!(output(describe, text, |_| {}).unwrap(), "delimiter\t59\nasset-column\t2\n");
    }

    #[test]
    fn describe_follows_the_flags_a_constant_asset_and_a_given_delimiter() {
        let constant = output(describe, "ts|a|b\n", |s| {
            s.wide = true;
            s.asset = Some("house".into());
            s.delimiter = Some("|".into());
        });
        assert_eq!(constant.unwrap(), "delimiter\t124\nasset\thouse\n");
        let named = output(describe, "time,asset,where,value,point\n", |s| s.asset_column = Some("where".into()));
        assert_eq!(named.unwrap(), "delimiter\t44\nasset-column\t2\n");
    }

    #[test]
    fn describe_fails_as_run_does_on_a_header_without_an_asset_column() {
        let err = output(describe, "timestamp,point,value\n", |_| {}).unwrap_err();
        assert!(format!("{err:#}").contains("no asset column"), "{err:#}");
    }
}
