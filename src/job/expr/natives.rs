//! rhai's string functions that can loop or blow up, replaced by bounded ones, and the budget of
//! string work one evaluation may spend in them.
//!
//! Checked one by one against rhai 1.27 (the newest release; its `pad` still loops): `pad` with an
//! empty padding never returns (a native function, so the operation limit never fires); `replace`
//! with an empty pattern inserts the replacement between every character (a 4 KB string and a
//! 4 KB replacement build 16 MB before any size check, 87 ms); `split` and `to_chars` build every
//! piece (4,097 strings from a 4 KB string) before the array limit refuses them. The others of the
//! string, math, logic and arithmetic packages do work linear in their arguments, which the string
//! and array limits bound (those that walk a string are charged to the same budget in `charged`),
//! and no package with loops, closures or iterators is registered.
//!
//! The replacements keep rhai's results and messages, size their output before building it, and
//! charge the bytes they read and build to a per-evaluation budget ([`WORK_PER_EVALUATION`]): a
//! long chain of `pad`s (73 ms per evaluation before) fails as an evaluation error instead.

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Position};
use std::cell::Cell;

/// Longest string an expression may build, in bytes.
pub(crate) const MAX_STRING_SIZE: usize = 4_096;
/// Most items an array may hold.
pub(crate) const MAX_ARRAY_SIZE: usize = 256;
/// Bytes the functions here may read and build in one evaluation: sixteen strings of the longest.
pub const WORK_PER_EVALUATION: usize = 64 * 1024;

thread_local! {
    /// Bytes of string work left to the evaluation running on this thread (an engine and its
    /// expressions never leave the thread that built them).
    static WORK_LEFT: Cell<usize> = const { Cell::new(WORK_PER_EVALUATION) };
}

/// Gives the evaluation about to start its whole budget.
#[inline]
pub(crate) fn start_evaluation() {
    WORK_LEFT.with(|left| left.set(WORK_PER_EVALUATION));
}

pub(super) type Result<T> = std::result::Result<T, Box<EvalAltResult>>;

fn too_large(what: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorDataTooLarge(what.to_string(), Position::NONE).into()
}

/// Takes `bytes` from the budget, or fails the evaluation when it does not hold them.
pub(super) fn charge(bytes: usize) -> Result<()> {
    WORK_LEFT.with(|left| match left.get().checked_sub(bytes) {
        Some(rest) => {
            left.set(rest);
            Ok(())
        }
        None => {
            left.set(0);
            Err(too_large("String work in one evaluation (64 KiB)"))
        }
    })
}

/// Registers the replacements; functions registered on the engine are found before those of the
/// packages.
pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("pad", |s: &mut ImmutableString, len: i64, padding: ImmutableString| pad(s, len, &padding));
    engine.register_fn("pad", |s: &mut ImmutableString, len: i64, c: char| pad(s, len, c.encode_utf8(&mut [0; 4])));
    engine.register_fn("replace", |s: &mut ImmutableString, find: ImmutableString, with: ImmutableString| {
        replace(s, &find, &with)
    });
    engine.register_fn("replace", |s: &mut ImmutableString, find: ImmutableString, with: char| {
        replace(s, &find, with.encode_utf8(&mut [0; 4]))
    });
    engine.register_fn("replace", |s: &mut ImmutableString, find: char, with: ImmutableString| {
        replace(s, find.encode_utf8(&mut [0; 4]), &with)
    });
    engine.register_fn("replace", |s: &mut ImmutableString, find: char, with: char| {
        replace(s, find.encode_utf8(&mut [0; 4]), with.encode_utf8(&mut [0; 4]))
    });
    engine.register_fn("to_chars", |s: &mut ImmutableString| -> Result<Array> {
        charge(s.len())?;
        within_limit(s.chars())?;
        Ok(s.chars().map(Dynamic::from).collect::<Array>())
    });
    engine.register_fn("split", |s: &mut ImmutableString| -> Result<Array> {
        charge(s.len())?;
        if s.is_empty() { whole(s) } else { strings(s.split_whitespace()) }
    });
    engine.register_fn("split", |s: &mut ImmutableString, d: ImmutableString| split(s, &d, None, false));
    engine.register_fn("split", |s: &mut ImmutableString, d: char| split(s, d.encode_utf8(&mut [0; 4]), None, false));
    engine.register_fn("split", |s: &mut ImmutableString, d: ImmutableString, n: i64| split(s, &d, Some(n), false));
    engine.register_fn("split", |s: &mut ImmutableString, d: char, n: i64| {
        split(s, d.encode_utf8(&mut [0; 4]), Some(n), false)
    });
    engine.register_fn("split_rev", |s: &mut ImmutableString, d: ImmutableString| split(s, &d, None, true));
    engine
        .register_fn("split_rev", |s: &mut ImmutableString, d: char| split(s, d.encode_utf8(&mut [0; 4]), None, true));
    engine.register_fn("split_rev", |s: &mut ImmutableString, d: ImmutableString, n: i64| split(s, &d, Some(n), true));
    engine.register_fn("split_rev", |s: &mut ImmutableString, d: char, n: i64| {
        split(s, d.encode_utf8(&mut [0; 4]), Some(n), true)
    });
}

/// `s` padded to `len` characters by repeating `padding`, as rhai's `pad`; an empty padding that
/// has something to fill is an error (rhai loops forever on it).
fn pad(s: &mut ImmutableString, len: i64, padding: &str) -> Result<()> {
    let Ok(len) = usize::try_from(len) else { return Ok(()) };
    if len > MAX_STRING_SIZE {
        return Err(too_large("Length of string"));
    }
    let missing = len.saturating_sub(s.chars().count());
    if missing == 0 {
        return Ok(());
    }
    if padding.is_empty() {
        return Err(EvalAltResult::ErrorRuntime("pad: the padding is empty".into(), Position::NONE).into());
    }
    let added: usize = padding.chars().cycle().take(missing).map(char::len_utf8).sum();
    let bytes = s.len() + added;
    if bytes > MAX_STRING_SIZE {
        return Err(too_large("Length of string"));
    }
    charge(bytes)?;
    let mut out = String::with_capacity(bytes);
    out.push_str(s);
    out.extend(padding.chars().cycle().take(missing));
    *s = out.into();
    Ok(())
}

/// `s` with every `find` replaced by `with`, as rhai's `replace`, sized before it is built.
fn replace(s: &mut ImmutableString, find: &str, with: &str) -> Result<()> {
    let matches = s.matches(find).count();
    let bytes = (s.len() - matches * find.len()).saturating_add(matches.saturating_mul(with.len()));
    if bytes > MAX_STRING_SIZE {
        return Err(too_large("Length of string"));
    }
    charge(s.len() + bytes)?;
    if matches > 0 {
        *s = s.replace(find, with).into();
    }
    Ok(())
}

/// rhai's `split` and `split_rev` with a delimiter and optionally a number of segments, the
/// pieces counted before any is built.
fn split(s: &mut ImmutableString, delimiter: &str, segments: Option<i64>, reverse: bool) -> Result<Array> {
    charge(s.len())?;
    let absent = !delimiter.is_empty() && !s.contains(delimiter);
    if s.is_empty() || absent || segments.is_some_and(|n| n <= 1) {
        return whole(s);
    }
    let n = segments.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    match (reverse, segments.is_some()) {
        (false, false) => strings(s.split(delimiter)),
        (false, true) => strings(s.splitn(n, delimiter)),
        (true, false) => strings(s.rsplit(delimiter)),
        (true, true) => strings(s.rsplitn(n, delimiter)),
    }
}

fn whole(s: &ImmutableString) -> Result<Array> {
    Ok(vec![s.clone().into()])
}

/// The pieces as an array of strings, refused before any is built when there are too many.
fn strings<'a>(pieces: impl Iterator<Item = &'a str> + Clone) -> Result<Array> {
    within_limit(pieces.clone())?;
    Ok(pieces.map(Into::into).collect())
}

/// Refuses more items than an array may hold, counting them without building any.
fn within_limit<T>(mut items: impl Iterator<Item = T>) -> Result<()> {
    match items.nth(MAX_ARRAY_SIZE) {
        Some(_) => Err(too_large("Size of array/BLOB")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Expression, Outcome, sandboxed_engine};
    use super::*;
    use rhai::packages::{MoreStringPackage, Package};

    fn evaluate(text: &str) -> std::result::Result<Outcome, String> {
        let mut e = Expression::compile(&sandboxed_engine(), text).map_err(|e| e.message)?;
        let values = vec![2.0; e.operands().len()];
        e.evaluate(&values)
    }

    #[test]
    fn pad_with_an_empty_padding_fails_instead_of_looping() {
        assert_eq!(
            evaluate(r#""abc".pad(5, "") + ${A}"#),
            Err("Runtime error: pad: the padding is empty at column 7".into())
        );
        // Nothing to fill: no error, as in rhai.
        assert_eq!(evaluate(r#"type_of("abc".pad(2, ""))"#), Ok(Outcome::Text("()".into())));
    }

    #[test]
    fn replace_is_sized_before_it_is_built() {
        let long = format!("\"{}\"", "y".repeat(4000));
        let err = evaluate(&format!("{long}.replace(\"\", {long})")).unwrap_err();
        assert!(err.starts_with("Length of string too large"), "{err}");
        let err = evaluate(&format!("{long}.replace('y', \"yy\")")).unwrap_err();
        assert!(err.starts_with("Length of string too large"), "{err}");
    }

    #[test]
    fn split_counts_its_pieces_before_building_them() {
        let long = format!("\"{}\"", "y".repeat(4000));
        for call in ["split(\"\")", "split('y')", "split(\"\", 4000)", "split_rev(\"y\")", "to_chars()"] {
            let err = evaluate(&format!("{long}.{call}")).unwrap_err();
            assert!(err.starts_with("Size of array/BLOB too large"), "{call}: {err}");
        }
    }

    /// Sixteen strings of the longest fill the budget; the seventeenth fails the evaluation.
    #[test]
    fn string_work_is_budgeted_per_evaluation() {
        let pads = |n: usize| vec![r#"("x".pad(4096, "y") == ())"#; n].join(" && ");
        assert_eq!(evaluate(&pads(8)), Ok(Outcome::Bool(true)));
        let err = evaluate(&pads(17)).unwrap_err();
        assert!(err.starts_with("String work in one evaluation (64 KiB) too large"), "{err}");
        // The budget is per evaluation: the same expression evaluates again from a full budget.
        let mut e = Expression::compile(&sandboxed_engine(), &pads(8)).unwrap();
        for _ in 0..3 {
            assert_eq!(e.evaluate(&[]), Ok(Outcome::Bool(true)));
        }
    }

    /// The replacements give rhai's own results wherever rhai's stay within the limits.
    #[test]
    fn replacements_agree_with_rhai() {
        let mut plain = Engine::new_raw();
        plain.register_global_module(MoreStringPackage::new().as_shared_module());
        let ours = sandboxed_engine();
        for text in [
            r#""a,b,,c".split(",")"#,
            r#""a,b,,c".split(',')"#,
            r#""a,b,,c".split(",", 2)"#,
            r#""a,b,,c".split(',', 0)"#,
            r#""a,b,,c".split_rev(",")"#,
            r#""a,b,,c".split_rev(',', 3)"#,
            r#""a,b,,c".split_rev(";")"#,
            r#""abc".split("")"#,
            r#""".split(",")"#,
            r#"" a  b ".split()"#,
            r#""".split()"#,
            r#""héllo".to_chars()"#,
            r#""".to_chars()"#,
        ] {
            let expected = plain.eval_expression::<Dynamic>(text).unwrap();
            let found = ours.eval_expression::<Dynamic>(text).unwrap();
            assert_eq!(format!("{found:?}"), format!("{expected:?}"), "{text}");
        }
    }
}
