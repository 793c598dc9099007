//! Merge expressions: the platform's `${Model::point}` syntax compiled once with rhai.
//!
//! rhai does not accept `$`, `{` or `::` in variable names, so each distinct point reference is
//! rewritten to a plain variable (`v0`, `v1`, ...) before compiling, and every compile error's
//! position is mapped back to the column of the user's original text. Operands are handed to rhai
//! as `f64` so `${A} / ${B}` with A = 7 and B = 2 gives 3.5. The rhai engine is sandboxed: no loops,
//! no functions, no modules, no `eval`, and limits on operations, depth and string sizes. Float
//! arithmetic, comparisons, logic and `if`/`else` skip rhai at run time through `arith`, with
//! identical results.
//!
//! The operands are not variables of a rhai scope: rhai looks a scope's variables up name by name,
//! at compile time and on every read, so an expression of 40,000 operands took seconds to compile
//! and an evaluation of many reads paid for every operand. A variable resolver reads `v17` as
//! the 18th value of the evaluation running on this thread instead, and the compiled tree is
//! walked once to refuse any other variable, as rhai's strict mode would.

mod arith;
mod charged;
mod compare;
mod division;
mod natives;
mod operands;

use operands::{operand, set_operands, undefined_variable};
use rhai::packages::{
    ArithmeticPackage, BasicMathPackage, BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{AST, Dynamic, Engine, OptimizationLevel, Position};
use std::collections::HashMap;
use std::rc::Rc;

pub use division::{IntegerDivision, integer_divisions};
pub use natives::WORK_PER_EVALUATION;
use natives::{MAX_ARRAY_SIZE, MAX_STRING_SIZE};

/// The most operations one evaluation may take; enough for any branching arithmetic.
const MAX_OPERATIONS: u64 = 10_000;

/// Builds the rhai engine every expression of a run shares.
///
/// It starts from a raw engine and adds only the arithmetic, comparison, math and string
/// packages: rhai's language-core package would bring `sleep` (which blocks the run, and panics
/// on a huge argument) and function pointers, and its time package reads the wall clock, which
/// would make the output depend on when it ran.
pub fn sandboxed_engine() -> Rc<Engine> {
    let mut engine = Engine::new_raw();
    for package in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(package);
    }
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_expr_depths(64)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(256)
        .set_allow_looping(false)
        .set_optimization_level(OptimizationLevel::Simple);
    // Operands are read through the resolver; `Expression::compile` refuses other variables.
    // rhai marks `on_var` deprecated only to say its signature may change between releases.
    #[allow(deprecated)]
    engine.on_var(|name, _, _| Ok(operand(name)));
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine.register_fn("pow", |base: f64, exp: f64| base.powf(exp));
    engine.register_fn("pow", |base: f64, exp: i64| base.powf(exp as f64));
    engine.register_fn("pow", |base: i64, exp: i64| (base as f64).powf(exp as f64));
    engine.register_fn("pow", |base: i64, exp: f64| (base as f64).powf(exp));
    natives::register(&mut engine);
    charged::register(&mut engine);
    compare::register(&mut engine);
    Rc::new(engine)
}

/// A compile error with its 1-based line and column in the user's original expression text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub(crate) message: String,
}

/// A point referenced by an expression, as written (`Model::point` or `point`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operand {
    pub(crate) model: Option<String>,
    pub(crate) point: String,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Number(f64),
    Bool(bool),
    Text(String),
    /// An `if` without `else` whose condition was false.
    Empty,
}

/// A compiled expression and the operands it reads, in variable order (`v0` is `operands[0]`).
pub struct Expression {
    engine: Rc<Engine>,
    ast: AST,
    operands: Vec<Operand>,
    rewritten: String,
    /// The user's text and how positions map back to it, for evaluation errors.
    original: String,
    map: OffsetMap,
    /// The same expression as a float program, when it is in the fast path's language.
    arithmetic: Option<arith::Program>,
}

impl Expression {
    /// Rewrites point references and compiles `text`.
    pub fn compile(engine: &Rc<Engine>, text: &str) -> Result<Expression, CompileError> {
        let (rewritten, operands, map) = rewrite(text)?;
        let located = |position: Position, message: String| {
            let (line, column) = (position.line().unwrap_or(1), position.position().unwrap_or(1));
            let (line, column) = map.original_position(&rewritten, text, line, column);
            CompileError { line, column, message }
        };
        let ast = engine.compile_expression(&rewritten).map_err(|err| located(err.1, err.0.to_string()))?;
        if let Some((name, position)) = undefined_variable(&ast, operands.len()) {
            return Err(located(position, format!("Undefined variable: {name}")));
        }
        let arithmetic = arith::Program::compile(&rewritten, operands.len());
        Ok(Expression {
            engine: Rc::clone(engine),
            ast,
            operands,
            rewritten,
            original: text.to_string(),
            map,
            arithmetic,
        })
    }

    /// Evaluates once with every operand 1.0: a function called with arguments it does not take
    /// (`sqrt(x, 2)`) fails whatever the values, so the job loader refuses it rather than every
    /// evaluation of the run failing.
    pub(crate) fn check_calls(&mut self) -> Result<(), CompileError> {
        if self.arithmetic.is_some() {
            return Ok(());
        }
        set_operands(self.operands.iter().map(|_| 1.0));
        natives::start_evaluation();
        let Err(mut error) = self.engine.eval_ast::<Dynamic>(&self.ast) else {
            return Ok(());
        };
        if !matches!(*error, rhai::EvalAltResult::ErrorFunctionNotFound(..)) {
            return Ok(());
        }
        let position = error.take_position();
        let (line, column) = match (position.line(), position.position()) {
            (Some(line), Some(column)) => self.map.original_position(&self.rewritten, &self.original, line, column),
            _ => (1, 1),
        };
        Err(CompileError {
            line,
            column,
            message: format!("{error}: no function of that name takes these arguments (operands are numbers)"),
        })
    }

    /// The points this expression reads, in the order [`Expression::evaluate`] expects values.
    pub fn operands(&self) -> &[Operand] {
        &self.operands
    }

    /// The expression as rhai compiled it, for `explain`.
    pub(crate) fn compiled_text(&self) -> &str {
        &self.rewritten
    }

    /// Evaluates with one value per operand.
    pub fn evaluate(&mut self, values: &[f64]) -> Result<Outcome, String> {
        if let Some(program) = &mut self.arithmetic {
            return Ok(program.evaluate(values));
        }
        self.evaluate_with_rhai(values)
    }

    fn evaluate_with_rhai(&mut self, values: &[f64]) -> Result<Outcome, String> {
        set_operands(values.iter().copied());
        natives::start_evaluation();
        let result: Dynamic = self.engine.eval_ast(&self.ast).map_err(|e| self.describe_error(*e))?;
        if result.is_unit() {
            return Ok(Outcome::Empty);
        }
        if let Ok(f) = result.as_float() {
            return Ok(Outcome::Number(f));
        }
        if let Ok(i) = result.as_int() {
            return Ok(Outcome::Number(i as f64));
        }
        if let Ok(b) = result.as_bool() {
            return Ok(Outcome::Bool(b));
        }
        if result.is_string() || result.is_char() {
            return Ok(Outcome::Text(result.to_string()));
        }
        Err(format!("the result is a {}, expected a number, boolean or string", result.type_name()))
    }
}

impl Expression {
    /// An evaluation error located in the user's text (rhai knows only the rewritten one).
    fn describe_error(&self, mut error: rhai::EvalAltResult) -> String {
        let position = error.take_position();
        let (Some(line), Some(column)) = (position.line(), position.position()) else { return error.to_string() };
        let (line, column) = self.map.original_position(&self.rewritten, &self.original, line, column);
        if self.original.contains('\n') {
            format!("{error} at line {line}, column {column}")
        } else {
            format!("{error} at column {column}")
        }
    }
}

/// The rhai variable an expression's `i`-th operand is rewritten to.
pub(crate) fn variable_name(i: usize) -> String {
    format!("v{i}")
}

/// How character offsets of the rewritten text map back to the original: one entry per
/// rewritten reference, (rewritten start, rewritten length, original start, original length).
struct OffsetMap(Vec<(usize, usize, usize, usize)>);

impl OffsetMap {
    fn original_offset(&self, rewritten_offset: usize) -> usize {
        let mut shift: isize = 0;
        for &(r_start, r_len, o_start, o_len) in &self.0 {
            if rewritten_offset < r_start {
                break;
            }
            if rewritten_offset < r_start + r_len {
                return o_start;
            }
            shift += o_len as isize - r_len as isize;
        }
        (rewritten_offset as isize + shift) as usize
    }

    /// Maps a rhai (line, column) in `rewritten` to (line, column) in `original`.
    fn original_position(&self, rewritten: &str, original: &str, line: usize, column: usize) -> (usize, usize) {
        let offset = char_offset(rewritten, line, column);
        let target = self.original_offset(offset);
        line_column(original, target)
    }
}

fn char_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += l.chars().count() + 1;
    }
    offset
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    for c in text.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Replaces every `${Model::point}` / `${point}` with a variable, outside string literals.
fn rewrite(text: &str) -> Result<(String, Vec<Operand>, OffsetMap), CompileError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut out_len = 0usize;
    let mut operands: Vec<Operand> = Vec::new();
    // Each distinct reference's variable, found in constant time: an expression may have tens of
    // thousands.
    let mut index_of: HashMap<Operand, usize> = HashMap::new();
    let mut map = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' && i + 1 < chars.len() {
                out.push(c);
                out.push(chars[i + 1]);
                out_len += 2;
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else if c == '"' || c == '`' || c == '\'' {
            quote = Some(c);
        } else if (c.is_alphabetic() || c == '_') && (i == 0 || !is_identifier_char(chars[i - 1])) {
            let end = chars[i..].iter().position(|&c| !is_identifier_char(c)).map_or(chars.len(), |n| i + n);
            if is_variable_name(&chars[i..end]) {
                let (line, column) = line_column(text, i);
                let name: String = chars[i..end].iter().collect();
                let message = format!("`{name}` is not a variable here: operands are written ${{Model::point}}");
                return Err(CompileError { line, column, message });
            }
            out.extend(&chars[i..end]);
            out_len += end - i;
            i = end;
            continue;
        } else if c == '$' {
            // Located only on error: counting lines up to every reference would be quadratic.
            let err = |message: String| {
                let (line, column) = line_column(text, i);
                CompileError { line, column, message }
            };
            if chars.get(i + 1) != Some(&'{') {
                return Err(err("`$` must start a point reference such as ${ElectricMeter::Reading}".to_string()));
            }
            let Some(close) = chars[i + 2..].iter().position(|&c| c == '}') else {
                return Err(err("point reference is not closed with `}`".to_string()));
            };
            let inner: String = chars[i + 2..i + 2 + close].iter().collect();
            let operand = parse_reference(inner.trim()).map_err(err)?;
            let index = *index_of.entry(operand).or_insert_with_key(|operand| {
                operands.push(operand.clone());
                operands.len() - 1
            });
            let name = variable_name(index);
            let original_len = close + 3;
            map.push((out_len, name.chars().count(), i, original_len));
            out.push_str(&name);
            out_len += name.chars().count();
            i += original_len;
            continue;
        }
        out.push(c);
        out_len += 1;
        i += 1;
    }
    Ok((out, operands, OffsetMap(map)))
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `word` has the form of [`variable_name`] (`v0`, `v17`): the rewritten operands, which
/// the user's own text must not reach by name.
fn is_variable_name(word: &[char]) -> bool {
    word.len() > 1 && word[0] == 'v' && word[1..].iter().all(char::is_ascii_digit)
}

fn parse_reference(inner: &str) -> Result<Operand, String> {
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    match inner.split_once("::") {
        Some((model, point)) if valid(model) && valid(point) => {
            Ok(Operand { model: Some(model.to_string()), point: point.to_string() })
        }
        None if valid(inner) => Ok(Operand { model: None, point: inner.to_string() }),
        _ => Err(format!("invalid point reference ${{{inner}}}: expected ${{Model::point}} or ${{point}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Expression, CompileError> {
        Expression::compile(&sandboxed_engine(), text)
    }

    #[test]
    fn rewrites_references_and_evaluates_as_floats() {
        let mut e = compile("${ElectricMeter::A} / ${ElectricMeter::B} + ${ElectricMeter::A} * 0").unwrap();
        assert_eq!(e.operands().len(), 2);
        assert_eq!(e.compiled_text(), "v0 / v1 + v0 * 0");
        assert_eq!(e.evaluate(&[7.0, 2.0]), Ok(Outcome::Number(3.5)));
    }

    #[test]
    fn branches_comparisons_and_logic() {
        let mut e =
            compile(r#"if ${A} > 50 && !(${B} < 0) | false { "high" } else if ${A} > 10 { "mid" } else { "low" }"#)
                .unwrap();
        assert_eq!(e.evaluate(&[60.0, 1.0]), Ok(Outcome::Text("high".into())));
        assert_eq!(e.evaluate(&[20.0, 1.0]), Ok(Outcome::Text("mid".into())));
        assert_eq!(e.evaluate(&[1.0, 1.0]), Ok(Outcome::Text("low".into())));
        let mut empty = compile("if ${A} > 0 { 1 }").unwrap();
        assert_eq!(empty.evaluate(&[-1.0]), Ok(Outcome::Empty));
    }

    #[test]
    fn math_functions() {
        let mut e =
            compile("abs(${A}) + min(${A}, 1.0) + max(${A}, 1.0) + round(2.4) + sqrt(16.0) + pow(${A}, 2)").unwrap();
        assert_eq!(e.evaluate(&[-2.0]), Ok(Outcome::Number(2.0 - 2.0 + 1.0 + 2.0 + 4.0 + 4.0)));
    }

    #[test]
    fn errors_map_to_original_columns() {
        // `)` is missing: rhai reports the end of the rewritten text, which is the end of the original.
        let err = compile("(${ElectricMeter::MaxReading10Min} - ${ElectricMeter::MinReading10Min}").err().unwrap();
        assert_eq!((err.line, err.column), (1, 71));
        // An unknown variable after a long reference points at the variable itself.
        let err = compile("${ElectricMeter::MaxReading10Min} - x").err().unwrap();
        assert_eq!((err.line, err.column), (1, 37));
        let err = compile("1 + $A").err().unwrap();
        assert_eq!((err.line, err.column), (1, 5));
    }

    fn compile_error(text: &str) -> String {
        compile(text).err().unwrap_or_else(|| panic!("{text:?} should not compile")).message
    }

    fn evaluate_ones(text: &str) -> Result<Outcome, String> {
        let mut e = compile(text).unwrap_or_else(|err| panic!("{text:?} should compile: {}", err.message));
        let values = vec![1.0; e.operands().len()];
        e.evaluate(&values)
    }

    /// `n` copies of `item` joined by `sep`.
    fn repeat(item: &str, n: usize, sep: &str) -> String {
        vec![item; n].join(sep)
    }

    #[test]
    fn sandbox_rejects_loops_functions_modules_and_eval_at_load() {
        for (text, message) in [
            ("loop { 1 }", "Unexpected 'loop'"),
            ("while true { 1 }", "Unexpected 'while'"),
            ("do { 1 } while true", "Unexpected 'do'"),
            ("for x in 0..10 { x }", "Unexpected 'for'"),
            ("fn f() { f() } f()", "'fn' is a reserved keyword"),
            ("|x| x + 1", "Unexpected '|'"),
            (r#"import "file" as m"#, "'import' is a reserved keyword"),
            (r#"eval("1")"#, "reserved keyword 'eval' is disabled"),
            ("let x = 1; x", "Unexpected 'let'"),
        ] {
            assert_eq!(compile_error(text), message, "{text}");
        }
    }

    #[test]
    fn sandbox_depth_limit_applies_at_load() {
        assert_eq!(evaluate_ones(&repeat("${A}", 64, " + ")), Ok(Outcome::Number(64.0)));
        assert_eq!(compile_error(&repeat("${A}", 65, " + ")), "Expression exceeds maximum complexity");
        let nested = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(compile_error(&nested), "Expression exceeds maximum complexity");
    }

    #[test]
    fn sandbox_string_and_array_limits() {
        // A literal over the limit is visible at load; a string built at run time fails the row.
        assert_eq!(
            compile_error(&format!("\"{}\"", "x".repeat(MAX_STRING_SIZE + 1))),
            "Length of string exceeds the maximum limit (4096)"
        );
        let built = format!("\"{}\" + \"{}\"", "x".repeat(3000), "y".repeat(3000));
        assert!(evaluate_ones(&built).unwrap_err().starts_with("Length of string too large"));
        assert!(evaluate_ones(r#""x".pad(100000, "y")"#).unwrap_err().starts_with("Length of string too large"));
        let array = format!("[{}][0]", repeat("1", 257, ", "));
        assert_eq!(compile_error(&array), "Size of array literal exceeds the maximum limit (256)");
        let fields: Vec<String> = (0..257).map(|i| format!("a{i}: 1")).collect();
        let map = format!("#{{{}}}.a0", fields.join(", "));
        assert_eq!(compile_error(&map), "Number of properties in object map literal exceeds the maximum limit (256)");
    }

    #[test]
    fn sandbox_operation_limit_fails_the_evaluation() {
        // 250 array items of 50 additions each: within the depth limit, over 10,000 operations.
        // An operator counts twice, evaluated and called (`compare`), so 60 chains fit.
        let chain = format!("({})", repeat("${A}", 50, " + "));
        let text = format!("[{}][0]", repeat(&chain, 250, ", "));
        assert!(evaluate_ones(&text).unwrap_err().starts_with("Too many operations"));
        let within = format!("[{}][0]", repeat(&chain, 60, ", "));
        assert_eq!(evaluate_ones(&within), Ok(Outcome::Number(50.0)));
    }

    #[test]
    fn sandbox_has_no_clock_or_sleep() {
        assert_eq!(evaluate_ones("sleep(1000000)").unwrap_err(), "Function not found: sleep (i64) at column 1");
        assert_eq!(evaluate_ones("sleep(1e300)").unwrap_err(), "Function not found: sleep (f64) at column 1");
        assert_eq!(evaluate_ones("timestamp()").unwrap_err(), "Function not found: timestamp () at column 1");
        assert_eq!(
            evaluate_ones(r#"Fn("sleep").call(1)"#).unwrap_err(),
            "Function not found: sleep (i64) at column 13"
        );
    }

    #[test]
    fn evaluation_errors_point_into_the_original_text() {
        let err = evaluate_ones(r#"${ElectricMeter::A} + "x".pad(100000, "y")"#).unwrap_err();
        assert_eq!(err, "Length of string too large at column 27");
        let err = evaluate_ones("${A} +\n  sleep(1)").unwrap_err();
        assert_eq!(err, "Function not found: sleep (i64) at line 2, column 3");
    }

    #[test]
    fn integer_overflow_fails_the_evaluation() {
        assert!(evaluate_ones("9223372036854775807 + 1").unwrap_err().starts_with("Addition overflow"));
        assert!(evaluate_ones("2 ** 100").unwrap_err().starts_with("Exponential overflow"));
    }

    /// `v0` is what `${A}` becomes inside; written by the user it was an undocumented alias.
    #[test]
    fn internal_operand_names_are_not_reachable() {
        for (text, column) in [("${A} + v0", 8), ("v1", 1), ("abs(v12)", 5), ("#{a: 1}.v0", 9)] {
            let err = compile(text).err().unwrap_or_else(|| panic!("{text} compiled"));
            assert_eq!((err.line, err.column), (1, column), "{text}");
            assert!(err.message.ends_with("is not a variable here: operands are written ${Model::point}"), "{text}");
        }
        // Other names that start with `v` are rhai's to judge, and text in strings is text.
        assert_eq!(compile("value").err().unwrap().message, "Undefined variable: value");
        assert_eq!(compile(r#"${A} + "v0".len()"#).unwrap().evaluate(&[1.0]), Ok(Outcome::Number(3.0)));
        assert!(compile("${A} + v").is_err());
    }

    #[test]
    fn references_inside_strings_are_left_alone() {
        let mut e = compile(r#"if ${A} > 0 { "${A}" } else { "none" }"#).unwrap();
        assert_eq!(e.operands().len(), 1);
        assert_eq!(e.evaluate(&[1.0]), Ok(Outcome::Text("${A}".into())));
    }
}
