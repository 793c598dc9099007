//! rhai's other string functions that read or build a string character by character, with the
//! same results, charged to the per-evaluation budget of `natives` before they do the work.
//!
//! None of them can loop, but each walks up to a whole 4 KB string, and rhai's `sub_string` and
//! `crop` first copy it into a vector of characters: within the operation limit, chains of
//! `.sub_string(1)` cost 41 ms per evaluation and chains of `.to_upper()` 19 ms. Charged, an
//! evaluation reads and builds at most [`super::natives::WORK_PER_EVALUATION`] bytes through
//! them. Their results are rhai 1.27's, case by case (`tests::charged_functions_agree_with_rhai`);
//! what the operators `+`, `==` and `[]` cost, which rhai runs as built-ins, is measured in
//! SECURITY.md.

use super::natives::{Result, charge};
use rhai::{Array, Dynamic, Engine, ImmutableString};
use std::ops::{Range, RangeInclusive};

/// Registers the charged functions over the packages' own.
pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("sub_string", |s: &mut ImmutableString, start: i64, len: i64| sub_string(s, start, len));
    engine.register_fn("sub_string", |s: &mut ImmutableString, start: i64| sub_string(s, start, i64::MAX));
    engine.register_fn("sub_string", |s: &mut ImmutableString, r: Range<i64>| {
        let (start, len) = exclusive(&r);
        sub_string(s, start, len)
    });
    engine.register_fn("sub_string", |s: &mut ImmutableString, r: RangeInclusive<i64>| {
        let (start, len) = inclusive(&r);
        sub_string(s, start, len)
    });
    engine.register_fn("crop", |s: &mut ImmutableString, start: i64, len: i64| crop(s, start, len));
    engine.register_fn("crop", |s: &mut ImmutableString, start: i64| crop(s, start, i64::MAX));
    engine.register_fn("crop", |s: &mut ImmutableString, r: Range<i64>| {
        let (start, len) = exclusive(&r);
        crop(s, start, len)
    });
    engine.register_fn("crop", |s: &mut ImmutableString, r: RangeInclusive<i64>| {
        let (start, len) = inclusive(&r);
        crop(s, start, len)
    });
    engine.register_fn("to_upper", |s: &mut ImmutableString| upper(s));
    engine.register_fn("to_lower", |s: &mut ImmutableString| lower(s));
    engine.register_fn("make_upper", |s: &mut ImmutableString| -> Result<()> {
        *s = upper(s)?;
        Ok(())
    });
    engine.register_fn("make_lower", |s: &mut ImmutableString| -> Result<()> {
        *s = lower(s)?;
        Ok(())
    });
    engine.register_fn("trim", |s: &mut ImmutableString| -> Result<()> {
        charge(s.len())?;
        if s.trim() != s.as_str() {
            *s = s.trim().into();
        }
        Ok(())
    });
    engine.register_fn("truncate", |s: &mut ImmutableString, len: i64| -> Result<()> {
        charge(s.len())?;
        if len <= 0 {
            *s = ImmutableString::new();
        } else if let Some((end, _)) = s.char_indices().nth(usize::try_from(len).unwrap_or(usize::MAX)) {
            *s = s[..end].into();
        }
        Ok(())
    });
    engine.register_fn("remove", |s: &mut ImmutableString, sub: ImmutableString| -> Result<()> {
        charge(2 * s.len())?;
        if !sub.is_empty() {
            *s = s.replace(sub.as_str(), "").into();
        }
        Ok(())
    });
    engine.register_fn("remove", |s: &mut ImmutableString, c: char| -> Result<()> {
        charge(2 * s.len())?;
        *s = s.replace(c, "").into();
        Ok(())
    });
    engine.register_fn("pop", |s: &mut ImmutableString, len: i64| pop(s, len));
    engine.register_fn("split", |s: &mut ImmutableString, index: i64| split_at(s, index));
    engine.register_fn("index_of", |s: &mut ImmutableString, find: ImmutableString| index_of(s, &find, 0));
    engine.register_fn("index_of", |s: &mut ImmutableString, find: char| index_of(s, find.encode_utf8(&mut [0; 4]), 0));
    engine.register_fn("index_of", |s: &mut ImmutableString, find: ImmutableString, start: i64| {
        index_of(s, &find, start)
    });
    engine.register_fn("index_of", |s: &mut ImmutableString, find: char, start: i64| {
        index_of(s, find.encode_utf8(&mut [0; 4]), start)
    });
    engine.register_fn("len", |s: &mut ImmutableString| len(s));
    engine.register_get("len", |s: &mut ImmutableString| len(s));
    engine.register_fn("get", |s: &mut ImmutableString, index: i64| -> Result<Dynamic> {
        charge(s.len())?;
        let c = match usize::try_from(index) {
            Ok(index) => s.chars().nth(index),
            Err(_) => usize::try_from(index.unsigned_abs()).ok().and_then(|back| s.chars().rev().nth(back - 1)),
        };
        Ok(c.map_or(Dynamic::UNIT, Dynamic::from))
    });
    engine.register_fn("set", |s: &mut ImmutableString, index: i64, c: char| -> Result<()> {
        charge(2 * s.len())?;
        let at = match usize::try_from(index) {
            Ok(index) => Some(index),
            Err(_) => s.chars().count().checked_sub(usize::try_from(index.unsigned_abs()).unwrap_or(usize::MAX)),
        };
        if let Some(at) = at {
            *s = s.chars().enumerate().map(|(i, ch)| if i == at { c } else { ch }).collect::<String>().into();
        }
        Ok(())
    });
    engine.register_fn("contains", |s: &mut ImmutableString, find: ImmutableString| -> Result<bool> {
        charge(s.len())?;
        Ok(s.contains(find.as_str()))
    });
    engine.register_fn("contains", |s: &mut ImmutableString, find: char| -> Result<bool> {
        charge(s.len())?;
        Ok(s.contains(find))
    });
    engine.register_fn("to_debug", |s: &mut ImmutableString| -> Result<ImmutableString> {
        charge(s.len())?;
        let text = format!("{:?}", s.as_str());
        charge(text.len())?;
        Ok(text.into())
    });
}

/// `start..end` as rhai's ranged `sub_string` and `crop` take it: a start and a length.
fn exclusive(r: &Range<i64>) -> (i64, i64) {
    let start = r.start.max(0);
    (start, r.end.max(start) - start)
}

fn inclusive(r: &RangeInclusive<i64>) -> (i64, i64) {
    let start = (*r.start()).max(0);
    let end = (*r.end()).max(start).min(i64::MAX - 1);
    (start, end - start + 1)
}

/// The byte range of the `len` characters from character `start` of `s` (from the end when
/// negative), cut to the string as rhai's `sub_string` does; `None` for an empty result.
fn span(s: &str, start: i64, len: i64) -> Option<Range<usize>> {
    if s.is_empty() || len <= 0 {
        return None;
    }
    let chars = s.chars().count();
    let offset = match usize::try_from(start) {
        Ok(start) if start >= chars => return None,
        Ok(start) => start,
        Err(_) => chars.saturating_sub(usize::try_from(start.unsigned_abs()).unwrap_or(usize::MAX)),
    };
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(chars - offset);
    let mut ends = s.char_indices().map(|(at, _)| at).chain([s.len()]).skip(offset);
    let from = ends.next()?;
    let to = ends.nth(len - 1)?;
    Some(from..to)
}

fn sub_string(s: &ImmutableString, start: i64, len: i64) -> Result<ImmutableString> {
    charge(s.len())?;
    let Some(range) = span(s, start, len) else { return Ok(ImmutableString::new()) };
    charge(range.len())?;
    Ok(s[range].into())
}

fn crop(s: &mut ImmutableString, start: i64, len: i64) -> Result<()> {
    if !s.is_empty() {
        *s = sub_string(s, start, len)?;
    }
    Ok(())
}

/// rhai's `to_upper`: the string itself when every character is upper-case already.
fn upper(s: &ImmutableString) -> Result<ImmutableString> {
    charge(s.len())?;
    if s.chars().all(char::is_uppercase) {
        return Ok(s.clone());
    }
    let built = s.to_uppercase();
    charge(built.len())?;
    Ok(built.into())
}

fn lower(s: &ImmutableString) -> Result<ImmutableString> {
    charge(s.len())?;
    if s.is_empty() || s.chars().all(char::is_lowercase) {
        return Ok(s.clone());
    }
    let built = s.to_lowercase();
    charge(built.len())?;
    Ok(built.into())
}

fn len(s: &ImmutableString) -> Result<i64> {
    charge(s.len())?;
    Ok(i64::try_from(s.chars().count()).unwrap_or(i64::MAX))
}

/// rhai's `pop(len)`: the last `len` characters, removed from `s`.
fn pop(s: &mut ImmutableString, len: i64) -> Result<ImmutableString> {
    charge(2 * s.len())?;
    if s.is_empty() || len <= 0 {
        return Ok(ImmutableString::new());
    }
    let chars = s.chars().count();
    match usize::try_from(len) {
        Ok(len) if len < chars => {
            let at = s.char_indices().nth(chars - len).map_or(s.len(), |(at, _)| at);
            let tail: ImmutableString = s[at..].into();
            *s = s[..at].into();
            Ok(tail)
        }
        _ => Ok(std::mem::take(s)),
    }
}

/// rhai's `split(index)`: the string cut in two at a character (from the end when negative).
fn split_at(s: &ImmutableString, index: i64) -> Result<Array> {
    charge(2 * s.len())?;
    let chars = s.chars().count();
    let at = match usize::try_from(index) {
        Ok(index) if index > 0 => Some(index),
        _ => chars.checked_sub(usize::try_from(index.unsigned_abs()).unwrap_or(usize::MAX)),
    };
    let Some(at) = at else { return Ok(vec![ImmutableString::new().into(), s.clone().into()]) };
    let cut = s.char_indices().nth(at).map_or(s.len(), |(at, _)| at);
    Ok(vec![ImmutableString::from(&s[..cut]).into(), ImmutableString::from(&s[cut..]).into()])
}

/// rhai's `index_of`: the character position of `find` in `s` from character `start` (from the
/// end when negative), or -1.
fn index_of(s: &ImmutableString, find: &str, start: i64) -> Result<i64> {
    charge(s.len())?;
    if s.is_empty() {
        return Ok(-1);
    }
    let chars = s.chars().count();
    let from_char = match usize::try_from(start) {
        Ok(0) => 0,
        Ok(start) if start >= chars => return Ok(-1),
        Ok(start) => start,
        Err(_) => chars.saturating_sub(usize::try_from(start.unsigned_abs()).unwrap_or(usize::MAX)),
    };
    let from = s.char_indices().nth(from_char).map_or(s.len(), |(at, _)| at);
    Ok(s[from..].find(find).map_or(-1, |at| i64::try_from(s[..from + at].chars().count()).unwrap_or(-1)))
}

#[cfg(test)]
mod tests {
    use super::super::{Expression, Outcome, sandboxed_engine};
    use rhai::packages::{BasicStringPackage, MoreStringPackage, Package};
    use rhai::{Dynamic, Engine};

    /// Every charged function gives rhai's own result and leaves its receiver as rhai does, on
    /// texts with multi-byte characters, at and past both ends, with negative positions.
    #[test]
    fn charged_functions_agree_with_rhai() {
        let mut plain = Engine::new_raw();
        plain.register_global_module(BasicStringPackage::new().as_shared_module());
        plain.register_global_module(MoreStringPackage::new().as_shared_module());
        let ours = sandboxed_engine();
        let mut calls = Vec::new();
        for start in [-9, -3, -1, 0, 1, 3, 5, 6, 9, i64::MIN, i64::MAX] {
            for len in [-1, 0, 1, 2, 9, i64::MAX] {
                calls.push(format!("sub_string({start}, {len})"));
                calls.push(format!("crop({start}, {len})"));
            }
            calls.extend(
                ["sub_string({s})", "crop({s})", "sub_string({s}..3)", "sub_string({s}..=3)", "crop({s}..4)"]
                    .map(|c| c.replace("{s}", &start.to_string())),
            );
            calls.extend(["sub_string(2..{s})", "crop(1..={s})"].map(|c| c.replace("{s}", &start.to_string())));
            calls.extend(
                ["truncate({s})", "pop({s})", "split({s})", "get({s})", "set({s}, 'x')", "index_of('l', {s})"]
                    .map(|c| c.replace("{s}", &start.to_string())),
            );
            calls
                .extend(["index_of(\"lo\", {s})", "index_of(\"\", {s})"].map(|c| c.replace("{s}", &start.to_string())));
        }
        calls.extend(
            [
                "to_upper()",
                "to_lower()",
                "make_upper()",
                "make_lower()",
                "trim()",
                "remove(\"l\")",
                "remove(\"\")",
                "remove('é')",
                "index_of('l')",
                "index_of(\"lo\")",
                "index_of(\"\")",
                "index_of(\"zz\")",
                "len()",
                "len",
                "contains(\"lo\")",
                "contains('é')",
                "to_debug()",
            ]
            .map(String::from),
        );
        for text in ["", "héllo", " Hé\tllo wörld ", "ÀÉ", "abc", "ß"] {
            for call in &calls {
                let script = format!("let s = {text:?}; let r = s.{call}; [r, s]");
                let expected = plain.eval::<Dynamic>(&script).map_err(|e| e.to_string());
                let found = ours.eval::<Dynamic>(&script).map_err(|e| e.to_string());
                assert_eq!(format!("{found:?}"), format!("{expected:?}"), "{script}");
            }
        }
    }

    fn evaluate(text: &str) -> Result<Outcome, String> {
        let mut e = Expression::compile(&sandboxed_engine(), text).map_err(|e| e.message)?;
        let values = vec![2.0; e.operands().len()];
        e.evaluate(&values)
    }

    /// Chains over a 4 KB string that cost 41 ms (`sub_string`) and 19 ms (`to_upper`) per
    /// evaluation within the operation limit now stop at the budget: 64 KiB is eight 4 KB reads
    /// and builds.
    #[test]
    fn chains_of_string_functions_stop_at_the_budget() {
        let long = format!("(\"{}\" + ${{A}})", "a".repeat(4000));
        for call in [".sub_string(1)", ".to_upper()", ".to_lower()", ".sub_string(-3990)", ".sub_string(0..3999)"] {
            let within = format!("({long}{}).len() > 0", call.repeat(4));
            assert_eq!(evaluate(&within), Ok(Outcome::Bool(true)), "{call}");
            let over = format!("({long}{}).len() > 0", call.repeat(20));
            let err = evaluate(&over).unwrap_err();
            assert!(err.starts_with("String work in one evaluation (64 KiB) too large"), "{call}: {err}");
        }
    }
}
