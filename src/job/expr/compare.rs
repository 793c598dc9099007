//! Comparisons of numbers in expressions, exact on IEEE doubles as the platform's language (like
//! Java and JavaScript) compares them.
//!
//! rhai built without its `unchecked` feature compares floats with a tolerance: `x == y` when
//! `|x - y| / max(|x|, |y|) <= f64::EPSILON`, with the divisor 1.0 when either side is zero. So
//! `${X} > 0` was false and `${X} == 0.0` true for X = 1e-17, and `1.0 == 1.0000000000000002`
//! was true: a sign test or a threshold near zero billed the wrong branch with exit status 0.
//! `unchecked` would also remove the overflow checks and the sandbox's limits, so instead the six
//! operators are registered for (float, float), (float, integer) and (integer, float) with Rust's
//! own comparisons (NaN compares false except `!=`, -0 equals 0). An integer compared with a
//! float is first converted as rhai converts it for mixed arithmetic (`as f64`: rounded to the
//! nearest double, ties to even), so above 2^53 `9007199254740993 == 9007199254740992.0` holds,
//! as `9007199254740993 + 0.0` is that double.
//!
//! rhai's fast operators run its built-in comparison before looking for a registered one, for
//! every operand that is not a custom type; they are turned off so the overloads are found. The
//! other operators then take rhai's function lookup, which finds the packages' functions or falls
//! back to the same built-ins, with the same results (only an integer negation's overflow is
//! worded differently), but each counts one more operation (the call) toward the limit. The
//! lookup costs about 700 instructions per operator: a point-triggered merge with two comparisons
//! over 1M rows took 0.45 s of CPU instead of 0.37 s (release build, medians of five paired
//! runs). Expressions of float arithmetic, these comparisons, logic and `if`/`else` no longer
//! reach rhai (`arith` computes them as registered here), so only the other shapes pay for it.

use rhai::{Engine, INT};

/// Registers the exact comparisons over rhai's built-in ones.
pub(crate) fn register(engine: &mut Engine) {
    engine.set_fast_operators(false);
    macro_rules! operators {
        ($($op:tt),*) => {$(
            engine.register_fn(stringify!($op), |x: f64, y: f64| x $op y);
            engine.register_fn(stringify!($op), |x: f64, y: INT| x $op y as f64);
            engine.register_fn(stringify!($op), |x: INT, y: f64| (x as f64) $op y);
        )*};
    }
    operators!(==, !=, <, <=, >, >=);
}

#[cfg(test)]
mod tests {
    use super::super::arith::agree::double;
    use super::super::{Expression, Outcome, sandboxed_engine};
    use proptest::prelude::*;
    use std::rc::Rc;

    fn evaluate(text: &str, values: &[f64]) -> Result<Outcome, String> {
        let mut e = Expression::compile(&sandboxed_engine(), text).map_err(|e| e.message)?;
        e.evaluate(values)
    }

    fn truth(text: &str, values: &[f64]) -> bool {
        match evaluate(text, values) {
            Ok(Outcome::Bool(b)) => b,
            other => panic!("{text} with {values:?}: {other:?}"),
        }
    }

    const OPERATORS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

    /// Rust's own comparison, the model the expressions must follow.
    fn model(op: &str, x: f64, y: f64) -> bool {
        match op {
            "==" => x == y,
            "!=" => x != y,
            "<" => x < y,
            "<=" => x <= y,
            ">" => x > y,
            ">=" => x >= y,
            _ => unreachable!("{op}"),
        }
    }

    /// The cases rhai's tolerance got wrong, and the ones it must keep.
    #[test]
    fn comparisons_near_zero_and_one_ulp_apart_are_exact() {
        assert!(truth("${X} > 0", &[1e-17]));
        assert!(!truth("${X} == 0.0", &[1e-17]));
        assert!(truth("${X} < 0", &[-1e-17]));
        assert_eq!(
            evaluate("if ${X} > 0 { 1 } else if ${X} < 0 { -1 } else { 0 }", &[1e-17]),
            Ok(Outcome::Number(1.0))
        );
        assert!(!truth("1.0 == 1.0000000000000002", &[]));
        assert!(truth("1.0 < 1.0000000000000002", &[]));
        assert!(truth("5e-324 > -2.8e-312", &[]));
        assert!(truth("${X} == 0", &[-0.0]));
        assert!(truth("${X} == ${Y}", &[0.0, -0.0]));
        let nan = "(${X} - ${X}) / 0.0";
        for op in OPERATORS {
            assert_eq!(truth(&format!("{nan} {op} {nan}"), &[1.0]), op == "!=", "NaN {op} NaN");
            assert_eq!(truth(&format!("{nan} {op} 0"), &[1.0]), op == "!=", "NaN {op} 0");
        }
    }

    /// An integer compared with a float is rounded to the nearest double first, as in mixed
    /// arithmetic; integers with integers and strings with strings compare as before.
    #[test]
    fn integers_and_strings() {
        assert!(truth("9007199254740993 == 9007199254740992.0", &[]));
        assert!(truth("9007199254740993 == ${X}", &[9_007_199_254_740_992.0]));
        assert!(!truth("9007199254740993 == 9007199254740992", &[]));
        assert!(truth("9007199254740993 > 9007199254740992", &[]));
        assert!(truth("${X} < 9223372036854775807", &[9.2e18]));
        assert!(!truth("${X} < 9223372036854775807", &[9_223_372_036_854_775_808.0]));
        assert!(truth(r#""abc" < "abd" && "a" == "a" && 'b' > 'a'"#, &[]));
        assert!(truth(r#"'b' in "abc" && "bc" in "abc""#, &[]));
        assert_eq!(evaluate("switch 1 + 1 { 2 => 20, _ => 0 }", &[]), Ok(Outcome::Number(20.0)));
    }

    /// Everything but a comparison involving a float gives what rhai's fast operators gave:
    /// results, errors and their messages, and the operation limit's verdict.
    #[test]
    fn everything_else_is_rhais() {
        let mut fast = Rc::into_inner(sandboxed_engine()).expect("a fresh engine");
        fast.set_fast_operators(true);
        let (fast, ours) = (Rc::new(fast), sandboxed_engine());
        let chain = format!("({})", vec!["${A}"; 50].join(" + "));
        let long = format!("[{}][0]", vec![chain.as_str(); 100].join(", "));
        for text in [
            "${A} + ${B} * 2 - 7 / 2 % 3",
            "${A} ** 2 + ${A} ** 0.5 + 2 ** 10 + (-${A}) + -(3)",
            "-(-9223372036854775807 - 1)",
            "9223372036854775807 * 2",
            "7 / 0",
            "7 % 0",
            "${A} / 0",
            "1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3 && 1 == 1 && 1 != 2",
            r#""abc" < "abd" && "b" >= "a" && "x" == "x" && "x" != "y" && 'a' < 'b' && "a" + 'b' == "ab""#,
            r#"if ${A} > ${B} { "a" + ${A} } else { `${B} is ${B}` }"#,
            "true == false || () == () || true != true",
            r#"1 == "1" || 1.0 == "1" || "x" < 1"#,
            "switch 3 { 1 | 2 => 10, 3 => 30, _ => 0 }",
            r#"switch "b" { "a" => 1, "b" => 2 }"#,
            "abs(${A}) + min(${A}, 2) + max(1, ${B}) + floor(${A}) + round(${B})",
            "(1 < 2) < (2 < 1)",
            "[1, 2, 3][1] + #{a: 4}.a",
            "1 <= ()",
            long.as_str(),
        ] {
            for values in [[1.5, -2.0], [-3.0, 3.0], [0.0, -0.0]] {
                let run = |engine: &Rc<rhai::Engine>| match Expression::compile(engine, text) {
                    Ok(mut e) => format!("{:?}", e.evaluate(&values[..e.operands().len()])),
                    Err(err) => format!("compile: {}", err.message),
                };
                let (expected, found) = (run(&fast), run(&ours));
                // Only the operation count may differ (an operator counts twice now), and the
                // message of a negation overflow, which rhai's package function words better.
                if text == "-(-9223372036854775807 - 1)" {
                    assert_eq!(expected, "Err(\"integer overflow at column 1\")");
                    assert_eq!(found, "Err(\"Negation overflow: --9223372036854775808 at column 1\")");
                } else if text == long {
                    assert!(
                        expected.starts_with("Ok(Number(") && found.contains("Too many operations"),
                        "{expected} {found}"
                    );
                } else {
                    assert_eq!(found, expected, "{text} with {values:?}");
                }
            }
        }
    }

    fn integer() -> impl Strategy<Value = i64> {
        prop_oneof![
            -20i64..20,
            (1i64 << 53) - 4..(1i64 << 53) + 4,
            -(1i64 << 53) - 4..-(1i64 << 53) + 4,
            Just(i64::MAX),
            Just(i64::MIN + 1),
            i64::MIN + 1..=i64::MAX,
        ]
    }

    proptest! {
        /// Each operator on two operands, on an operand and the next double up or down, and
        /// on an operand and an integer literal either side, gives Rust's own comparison.
        #[test]
        fn comparisons_are_rusts(x in double(), y in double(), n in integer(), up in any::<bool>()) {
            let next = if x.is_nan() { x } else if up { x.next_up() } else { x.next_down() };
            for op in OPERATORS {
                for (a, b) in [(x, y), (x, next), (next, x)] {
                    prop_assert_eq!(truth(&format!("${{X}} {op} ${{Y}}"), &[a, b]), model(op, a, b), "{:e} {} {:e}", a, op, b);
                }
                // rhai reads a negative literal as a negation of a positive one.
                prop_assert_eq!(truth(&format!("${{X}} {op} ({n})"), &[x]), model(op, x, n as f64), "{:e} {} {}", x, op, n);
                prop_assert_eq!(truth(&format!("({n}) {op} ${{X}}"), &[x]), model(op, n as f64, x), "{} {} {:e}", n, op, x);
            }
        }
    }
}
