//! The fast reader against the general one: the same readings, counts and errors, whatever the
//! number of threads and wherever the fast path hands over.

use super::*;

/// A reading with its names, comparable across name tables, and its asset, point and model ids:
/// the general reader numbers names in order of first appearance, which the fast reader must keep
/// whichever parser met a name first.
type Row = (i64, u64, String, String, Option<String>, [u32; 3]);

fn rows(readings: &[Reading], names: &Names) -> Vec<Row> {
    readings
        .iter()
        .map(|r| {
            let model = (r.model != crate::engine::NO_MODEL).then(|| names.models.name(r.model).to_string());
            (
                r.ts,
                r.value.to_bits(),
                names.assets.name(r.asset).to_string(),
                names.points.name(r.point).to_string(),
                model,
                [r.asset, r.point, r.model],
            )
        })
        .collect()
}

fn options() -> InputOptions {
    options_with(|_| {})
}

fn options_with(edit: impl FnOnce(&mut crate::input::InputSettings)) -> InputOptions {
    let mut args = crate::input::InputSettings::default();
    edit(&mut args);
    InputOptions::from_settings(&args).unwrap()
}

/// Everything the fast reader gives for `text`: rows, counts, and the error that ended it.
fn fast(text: &[u8], threads: usize) -> (Vec<Row>, InputCounts, Option<String>) {
    fast_with(text, threads, &options())
}

fn fast_with(text: &[u8], threads: usize, options: &InputOptions) -> (Vec<Row>, InputCounts, Option<String>) {
    let (options, mut names, mut counts, mut out) =
        (options.clone(), Names::default(), InputCounts::default(), Vec::new());
    let mut bad_rows = BadRows::new(options.on_bad_row, None).unwrap();
    let mut reader =
        match InputReader::open("in.csv", Box::new(Cursor::new(text.to_vec())), &options, &mut names, threads) {
            Ok(reader) => reader,
            Err(e) => return (out, counts, Some(format!("{e:#}"))),
        };
    loop {
        match reader.next(&mut names, &mut counts, &mut bad_rows) {
            Ok(Some(r)) => out.extend(rows(&[r], &names)),
            Ok(None) => return (out, counts, None),
            Err(e) => return (out, counts, Some(format!("{e:#}"))),
        }
    }
}

/// The same from the general reader alone.
fn general(text: &[u8], options: &InputOptions) -> (Vec<Row>, InputCounts, Option<String>) {
    let (options, mut names, mut counts, mut out) =
        (options.clone(), Names::default(), InputCounts::default(), Vec::new());
    let mut bad_rows = BadRows::new(options.on_bad_row, None).unwrap();
    let mut reader = match Reader::new("in.csv", Box::new(Cursor::new(text.to_vec())), &options, &mut names) {
        Ok(reader) => reader,
        Err(e) => return (out, counts, Some(format!("{e:#}"))),
    };
    loop {
        match reader.next(&mut names, &mut counts, &mut bad_rows) {
            Ok(Some(r)) => out.extend(rows(&[r], &names)),
            Ok(None) => return (out, counts, None),
            Err(e) => return (out, counts, Some(format!("{e:#}"))),
        }
    }
}

/// Plain meter rows spanning several chunks, with `odd` put in as line `at` (1 = header).
fn big_input(odd: &str, at: usize) -> Vec<u8> {
    let mut text = b"timestamp,device,point,value\n".to_vec();
    for i in 2..120_000usize {
        if i == at {
            text.extend_from_slice(odd.as_bytes());
            continue;
        }
        let ms = 1_704_067_200_000 + i as i64 * 997;
        let mut stamp = Vec::new();
        crate::time::format_timestamp(ms, &mut stamp);
        let line =
            format!("{},meter{:03},Reading,{}.{:03}\n", String::from_utf8_lossy(&stamp), i % 700, i % 97, i % 1000);
        text.extend_from_slice(line.as_bytes());
    }
    text
}

fn assert_same(text: &[u8], what: &str) {
    assert_same_with(text, what, &options());
}

fn assert_same_with(text: &[u8], what: &str, options: &InputOptions) {
    let expected = general(text, options);
    for threads in [1, 2, 3] {
        let actual = fast_with(text, threads, options);
        assert_eq!(actual.1, expected.1, "{what}, {threads} threads: counts");
        assert_eq!(actual.2, expected.2, "{what}, {threads} threads: error");
        assert!(
            actual.0 == expected.0,
            "{what}, {threads} threads: readings differ ({} vs {})",
            actual.0.len(),
            expected.0.len()
        );
    }
}

#[test]
fn small_inputs_read_as_the_general_reader_reads_them() {
    let cases: &[(&str, &str)] = &[
        (
            "plain",
            "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1.5\n2024-01-01T00:00:15.250Z,m2,Reading,-3\n",
        ),
        ("no final newline", "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1.5"),
        (
            "CRLF",
            "timestamp,asset,point,value\r\n2024-01-01T00:00:00Z,m1,Reading,1.5\r\n2024-01-01T00:00:15Z,m1,Reading,2\r\n",
        ),
        ("markers", "Time,Device,PointId,Val\n2024-01-01T00:00:00Z,m1,Reading,NA\n2024-01-01T00:00:15Z,m1,Reading,2\n"),
        (
            "quotes",
            "timestamp,asset,point,value\n2024-01-01T00:00:00Z,\"m,1\",Reading,1\n2024-01-01T00:00:15Z,m1,Reading,2\n",
        ),
        ("quoted header", "\"timestamp\",asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n"),
        (
            "BOM and model",
            "\u{feff}timestamp,model,asset,point,value,extra\n2024-01-01T00:00:00Z,,m1,Reading,1,x\n2024-01-01T00:00:00Z,EM,m1,Reading,1,y\n",
        ),
        ("epoch milliseconds", "timestamp,asset,point,value\n1704067200000,m1,Reading,1\n"),
        ("blank lines", "timestamp,asset,point,value\n\n2024-01-01T00:00:00Z,m1,Reading,1\n\n"),
        ("blank line before the header", "\ntimestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n"),
        (
            "bad value",
            "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:15Z,m1,Reading,abc\n",
        ),
        (
            "short row",
            "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:15Z,m1,Reading\n",
        ),
        ("header only", "timestamp,asset,point,value\n"),
        (
            "leap second",
            "timestamp,asset,point,value\n2024-01-01T00:00:59Z,m1,Reading,1\n2024-01-01T00:00:60Z,m1,Reading,2\n",
        ),
        (
            "negative and exponent values, a long asset name",
            "timestamp,asset,point,value\n2024-01-01T00:00:00Z,meter-with-a-long-name-0001,Reading,-1.5\n2024-01-01T00:00:01Z,meter-with-a-long-name-0001,Reading,-2.5e-3\n2024-01-01T00:00:02Z,m,Reading,+1234567.125\n",
        ),
        ("empty", ""),
        ("no point column", "timestamp,asset,value\n2024-01-01T00:00:00Z,m1,1\n"),
    ];
    for (what, text) in cases {
        assert_same(text.as_bytes(), what);
    }
}

#[test]
fn a_line_the_fast_path_leaves_hands_the_rest_over_with_line_numbers() {
    let ts = "2024-01-01T10:00:00Z";
    for (odd, at) in [
        (format!("{ts},m1,Reading,\n"), 70_000),
        (format!("{ts},\"m1\",Reading,1\n"), 50_000),
        (format!("{ts},m1,Reading,1\n\n"), 30_001),
        (format!("{ts},m1,Reading,oops\n"), 90_000),
        (format!("{ts},m1,Reading\n"), 2),
        (format!("{ts},m1,Reading,1,2\n"), 119_999),
    ] {
        assert_same(&big_input(&odd, at), &format!("{odd:?} at line {at}"));
    }
    let (rows, counts, error) = fast(&big_input(&format!("{ts},m1,Reading,oops\n"), 90_000), 2);
    assert_eq!(
        error.as_deref(),
        Some("in.csv:90000: column 4 (value): invalid value \"oops\": expected a finite number")
    );
    assert_eq!((rows.len(), counts.rows), (89_998, 89_999));
}

/// A decimal comma goes through the fast path with the general reader's results, thousands
/// separators and all; with `,` as the delimiter too, the general reader reads the file.
#[test]
fn decimal_commas_read_as_the_general_reader_reads_them() {
    let comma = options_with(|a| {
        a.decimal = Some("comma".into());
        a.thousands = Some(".".into());
    });
    let mut text = String::from("timestamp;device;point;value\n");
    for i in 0..100_000u64 {
        let value = match i % 1000 {
            7 => "1.234,5".to_string(),
            8 => "-2,5e1".to_string(),
            k => format!("{},{:03}", i % 97, k),
        };
        let mut stamp = Vec::new();
        crate::time::format_timestamp(1_704_067_200_000 + i as i64 * 997, &mut stamp);
        text.push_str(&format!("{};meter{:03};Reading;{value}\n", String::from_utf8_lossy(&stamp), i % 700));
    }
    let (rows, _, error) = fast_with(text.as_bytes(), 1, &comma);
    assert_eq!((rows.len(), error), (100_000, None));
    let values: Vec<f64> = rows[5..9].iter().map(|r| f64::from_bits(r.1)).collect();
    assert_eq!(values, [5.005, 6.006, 1234.5, -25.0]);
    assert_same_with(text.as_bytes(), "decimal comma", &comma);
    let quoted = b"timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,\"1,5\"\n";
    assert_same_with(quoted, "decimal comma in a comma-separated file", &comma);
    assert_eq!(fast_with(quoted, 1, &comma).0[0].1, 1.5f64.to_bits());
}

/// Options the fast path must leave to the general reader: one column given two roles (the
/// asset read from the model column, the asset from the timestamp column), and delimiters that
/// occur inside timestamps or numbers.
#[test]
fn options_the_fast_path_leaves_alone() {
    let model_as_asset = options_with(|a| a.asset_column = Some("model".into()));
    assert_same_with(
        b"timestamp,model,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n",
        "asset from the model column",
        &model_as_asset,
    );
    let time_as_asset = options_with(|a| a.asset_column = Some("timestamp".into()));
    assert_same_with(
        b"timestamp,point,value\n2024-01-01T00:00:00Z,Reading,1\n",
        "asset from the timestamp column",
        &time_as_asset,
    );
    let space = options_with(|a| a.delimiter = Some(" ".into()));
    let (rows, _, error) = fast_with(b"timestamp asset point value\n2024-01-01 00:00:00 m1 Reading 1\n", 2, &space);
    assert_eq!((rows.len(), error.as_deref()), (0, Some("in.csv:2: expected 4 fields as in the header, found 5")));
    let dot = options_with(|a| a.delimiter = Some(".".into()));
    assert_same_with(
        b"timestamp.asset.point.value\n2024-01-01T00:00:00Z.m1.Reading.1.5\n",
        "delimiter inside a number",
        &dot,
    );
}

/// Rows of a point or a model no job reads keep no asset name: 6 million distinct assets in such
/// rows took 683 MB. So in the fast reader on one thread and two, in the general reader it hands
/// over to at a quoted field, and in the general reader alone (wide input).
#[test]
fn rows_no_job_reads_keep_no_asset_name() {
    let mut text = String::from("timestamp,asset,point,value,model\n");
    for i in 0..2000 {
        text += &format!("2024-01-01T00:00:00Z,u{i},Voltage,high,M\n");
    }
    text += "2024-01-01T00:00:00Z,m1,Reading,2,M\n2024-01-01T00:00:00Z,o1,Reading,2,Other\n";
    text += "2024-01-01T00:00:00Z,m2,Reading,2,\n2024-01-01T00:00:00Z,\"q1\",Voltage,1,M\n";
    text += "2024-01-01T00:00:00Z,m3,Reading,3,M\n2024-01-01T00:00:00Z,q2,Voltage,1,M\n";
    let read = |text: &[u8], threads: usize, wide: bool| {
        let mut names = Names::default();
        let reading = names.points.intern("Reading");
        let model = names.models.intern("M");
        let mut options = options_with(|s| s.wide = wide);
        options.read_points = Some(vec![reading == 0].into());
        options.read_models = Some(vec![model == 0].into());
        let (mut counts, mut bad_rows) = (InputCounts::default(), BadRows::new(options.on_bad_row, None).unwrap());
        let mut reader =
            InputReader::open("in.csv", Box::new(Cursor::new(text.to_vec())), &options, &mut names, threads).unwrap();
        let mut unread = 0;
        while let Some(r) = reader.next(&mut names, &mut counts, &mut bad_rows).unwrap() {
            unread += usize::from(r.asset == crate::engine::UNREAD_ASSET);
        }
        (names.assets.names().map(str::to_string).collect::<Vec<_>>(), unread)
    };
    for threads in [1, 2] {
        assert_eq!(read(text.as_bytes(), threads, false), (vec!["m1".into(), "m2".into(), "m3".into()], 2003));
    }
    let wide = "timestamp,asset,Voltage\n2024-01-01T00:00:00Z,u1,1\n2024-01-01T00:00:00Z,u2,1\n";
    assert_eq!(read(wide.as_bytes(), 1, true), (Vec::new(), 2));
}

/// The canonical line looks its asset field up as a known name of the last scanned name's length
/// first: names of that length it does not know yet, a known name with more bytes after it, a
/// shorter one, one padded with a space, and a known name on a line no job reads (no name kept
/// for it) give what the general reader gives, and the names kept are those of read lines only.
#[test]
fn asset_fields_of_the_last_names_length_are_looked_up_first() {
    let mut text = String::from("timestamp,asset,point,value\n");
    for (asset, point) in [
        ("meter0001", "Reading"),
        ("meter0002", "Reading"),
        ("meter0001", "Reading"),
        ("meter0001x", "Reading"),
        ("meter000", "Reading"),
        ("meter0001 ", "Reading"),
        ("meter0002", "Voltage"),
        ("meter0003", "Voltage"),
        ("meter0003", "Reading"),
        ("meter0002", "Reading"),
    ] {
        text += &format!("2024-01-01T00:00:00Z,{asset},{point},1\n");
    }
    assert_same(text.as_bytes(), "assets of one length");
    let read = |threads: usize| {
        let mut names = Names::default();
        let reading = names.points.intern("Reading");
        let mut options = options();
        options.read_points = Some(vec![reading == 0].into());
        let (mut counts, mut bad_rows) = (InputCounts::default(), BadRows::new(options.on_bad_row, None).unwrap());
        let mut reader = InputReader::open(
            "in.csv",
            Box::new(Cursor::new(text.clone().into_bytes())),
            &options,
            &mut names,
            threads,
        )
        .unwrap();
        let mut assets = Vec::new();
        while let Some(r) = reader.next(&mut names, &mut counts, &mut bad_rows).unwrap() {
            assets.push(
                if r.asset == crate::engine::UNREAD_ASSET { "-" } else { names.assets.name(r.asset) }.to_string(),
            );
        }
        (names.assets.names().map(str::to_string).collect::<Vec<_>>(), assets)
    };
    let kept = ["meter0001", "meter0002", "meter0001x", "meter000", "meter0003"].map(String::from).to_vec();
    let rows = [
        "meter0001",
        "meter0002",
        "meter0001",
        "meter0001x",
        "meter000",
        "meter0001",
        "-",
        "-",
        "meter0003",
        "meter0002",
    ];
    for threads in [1, 2] {
        assert_eq!(read(threads), (kept.clone(), rows.map(String::from).to_vec()), "{threads} threads");
    }
}

/// Readings taken in runs of a chunk ([`InputReader::pending`], [`InputReader::took`]), mixed
/// with `next`, as the replay takes them: the same readings and counts as the general reader's,
/// with an asset first seen in a later chunk, the general reader taking over after some chunks,
/// and runs cut anywhere in a chunk.
#[test]
fn readings_taken_in_runs_are_those_next_gives() {
    let ts = "2024-01-01T10:00:00Z";
    let mut text = big_input(&format!("{ts},\"m1\",Reading,1\n"), 100_000);
    // After several chunks: a meter no earlier chunk named (the general reader reads it here).
    text.extend_from_slice(format!("{ts},late-meter,Reading,4\n").as_bytes());
    let fresh = big_input(&format!("{ts},late-meter,Reading,5\n"), 60_000);
    let options = options();
    for threads in [1, 2, 3] {
        for text in [&text, &fresh] {
            let (mut names, mut counts, mut out) = (Names::default(), InputCounts::default(), Vec::new());
            let mut bad_rows = BadRows::new(options.on_bad_row, None).unwrap();
            let mut reader =
                InputReader::open("in.csv", Box::new(Cursor::new(text.to_vec())), &options, &mut names, threads)
                    .unwrap();
            let mut cut = 0;
            loop {
                let run = reader.pending();
                if run.is_empty() {
                    match reader.next(&mut names, &mut counts, &mut bad_rows).unwrap() {
                        Some(r) => out.extend(rows(&[r], &names)),
                        None => break,
                    }
                    continue;
                }
                // Runs of 1, 1000 and 4097 readings, and whatever is left of the chunk.
                cut = (cut + 1) % 4;
                let n = [1, 1000, 4097, run.len()][cut].min(run.len());
                out.extend(rows(&run[..n], &names));
                for _ in 0..n {
                    counts.fast_row();
                }
                reader.took(n);
            }
            let expected = general(text, &options);
            assert_eq!(counts, expected.1, "{threads} threads: counts");
            assert!(out == expected.0, "{threads} threads: readings differ ({} vs {})", out.len(), expected.0.len());
            assert!(out.iter().any(|r| r.2 == "late-meter"));
        }
    }
}

/// A reader's `next`, the fast one's or the general one's.
type NextReading = Box<dyn FnMut(&mut Names) -> Result<Option<Reading>>>;

/// The asset name of a row no job reads is checked as the general reader checks it, whether it is
/// plain ASCII, other UTF-8, holds a byte-order mark or is not UTF-8: the same readings and the
/// same error on one thread and two.
#[test]
fn unread_rows_check_their_asset_names_as_the_general_reader_does() {
    let outcome = |text: &[u8], threads: Option<usize>| {
        let mut names = Names::default();
        let reading = names.points.intern("Reading");
        let mut options = options();
        options.read_points = Some(vec![reading == 0].into());
        let (mut counts, mut bad_rows) = (InputCounts::default(), BadRows::new(options.on_bad_row, None).unwrap());
        let file = Box::new(Cursor::new(text.to_vec()));
        let mut reader: NextReading = match threads {
            Some(threads) => {
                let mut r = InputReader::open("in.csv", file, &options, &mut names, threads).unwrap();
                Box::new(move |names| r.next(names, &mut counts, &mut bad_rows))
            }
            None => {
                let mut r = Reader::new("in.csv", file, &options, &mut names).unwrap();
                Box::new(move |names| r.next(names, &mut counts, &mut bad_rows))
            }
        };
        let mut seen = Vec::new();
        loop {
            match reader(&mut names) {
                Ok(Some(r)) if r.asset == crate::engine::UNREAD_ASSET => seen.push("unread".to_string()),
                Ok(Some(r)) => seen.push(names.assets.name(r.asset).to_string()),
                Ok(None) => return (seen, None),
                Err(e) => return (seen, Some(format!("{e:#}"))),
            }
        }
    };
    for asset in
        ["u1", "zähler-7", "m\u{feff}1", "\u{feff}", "a-very-long-meter-name-0001", "m\0-1", "m\u{85}1", "m\u{7f}"]
    {
        for bytes in [asset.as_bytes().to_vec(), [asset.as_bytes(), b"\xff"].concat()] {
            let mut text = b"timestamp,asset,point,value\n".to_vec();
            for (point, name) in [("Voltage", &b"u0"[..]), ("Voltage", &bytes), ("Reading", b"m1")] {
                text.extend_from_slice(b"2024-01-01T00:00:00Z,");
                text.extend_from_slice(name);
                text.extend_from_slice(format!(",{point},1\n").as_bytes());
            }
            let expected = outcome(&text, None);
            assert!(!expected.0.is_empty(), "{asset}");
            for threads in [1, 2] {
                assert_eq!(outcome(&text, Some(threads)), expected, "{asset:?} {bytes:?}, {threads} threads");
            }
        }
    }
}

/// A source that hands out its pieces, at most one per read, then panics, as a decoder with a
/// bug might.
struct PanicsAfter(Vec<&'static [u8]>);

impl Read for PanicsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let piece = self.0.first_mut().expect("a bug in the source");
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        *piece = &piece[n..];
        if piece.is_empty() {
            self.0.remove(0);
        }
        Ok(n)
    }
}

/// A thread reading or parsing the input that stops (a panic) fails the read, naming the input,
/// whichever thread it is: never an end of input, which would end the run as if it had read
/// everything.
#[test]
fn a_thread_that_stops_is_a_failed_read_naming_the_input_never_an_end() {
    const HEADER: &[u8] = b"timestamp,asset,point,value\n";
    const PLAIN: &[u8] = b"2024-01-01T00:00:00Z,m1,R,1\n2024-01-01T00:00:01Z,m1,R,2\n";
    const QUOTED: &[u8] = b"2024-01-01T00:00:00Z,m1,R,1\n2024-01-01T00:00:01Z,\"m1\",R,2\n";
    let cases = [
        ("parsing threads", PLAIN, false, 2),
        ("parsing threads, after the hand-over to the general reader", QUOTED, false, 2),
        ("read ahead", PLAIN, true, 1),
        ("read ahead, after the hand-over to the general reader", QUOTED, true, 1),
    ];
    for (what, lines, idle_clock, threads) in cases {
        let mut options = options();
        options.idle_clock = idle_clock;
        let (mut names, mut counts) = (Names::default(), InputCounts::default());
        let mut bad_rows = BadRows::new(options.on_bad_row, None).unwrap();
        let source = Box::new(PanicsAfter(vec![HEADER, lines]));
        let mut reader = InputReader::open("in.csv", source, &options, &mut names, threads).unwrap();
        let outcome = loop {
            match reader.next(&mut names, &mut counts, &mut bad_rows) {
                Ok(Some(_)) => {}
                Ok(None) => break Ok(()),
                Err(e) => break Err(format!("{e:#}")),
            }
        };
        let error = outcome.expect_err(what);
        assert!(error.starts_with("failed to read in.csv: "), "{what}: {error}");
        assert!(error.contains("thread") && error.contains("stopped"), "{what}: {error}");
    }
}

proptest::proptest! {
    /// Lines of the usual layout whose point fields take every shape the canonical line's
    /// repeated field meets (the field with its delimiter kept as two words, up to 16 bytes), and
    /// shapes beside it: point names padded with spaces, of 15 to 17 bytes with the delimiter,
    /// differing in their last byte, empty, with a control character; values with signs, long,
    /// empty or not numbers. Lines the fast path leaves hand the rest of the input over, so they are rare here.
    /// The fast reader gives the general reader's readings, counts and errors.
    #[test]
    fn generated_lines_read_as_the_general_reader_reads_them(
        lines in proptest::collection::vec((
            0usize..4,
            proptest::sample::select(vec!["meter0001", "meter0002", " meter0003", "m1"]),
            proptest::prop_oneof![
                30 => proptest::sample::select(vec![
                    "Reading", "Reading ", " Reading", "Readinh", "R", "Voltage", "ReadingReadingR",
                    "ReadingReadingS", "ReadingReadingRe", "ReadingReadingRea",
                ]),
                1 => proptest::sample::select(vec!["", "Re\u{1}ding"]),
            ],
            proptest::prop_oneof![
                30 => "[-+]?[0-9]{0,4}([.][0-9]{0,4})?",
                1 => "[0-9]{5,9}([.][0-9]{0,8})?|NA|1e3|-",
            ],
        ), 1..40),
    ) {
        let mut text = String::from("timestamp,asset,point,value\n");
        for (second, asset, point, value) in &lines {
            text += &format!("2024-01-01T00:00:0{second}.250Z,{asset},{point},{value}\n");
        }
        assert_same(text.as_bytes(), &text);
    }
}
