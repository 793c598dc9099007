//! A fast path for merge expressions of float arithmetic, comparisons and logic (`${A} - ${B}`,
//! `(${A} + ${B}) * 0.5`, `if ${A} > ${B} { ${A} } else { 0 }`, ...), compiled to a small program
//! over `f64` that skips rhai at run time. `parse` reads the language and refuses every operation
//! whose rhai result is not decided by the types alone; what it takes is computed as rhai computes
//! it (an integer literal next to a float converted `as f64`, comparisons exact as `compare`
//! registers them, `min`/`max` as rhai's float functions), so the result is bit for bit rhai's,
//! of the same type. None of these operations can fail in rhai, so the only error left is the
//! operation limit: an expression that could reach it is left to rhai (see [`operations`]).

mod parse;

use super::{MAX_OPERATIONS, Outcome};
use parse::{Binary, Kind, Load, Node};

/// At least the operations rhai counts in one evaluation of `node`, plus one for the statement
/// around it (checked against rhai's own count by `agree::fast_path_is_rhai`): a value counts
/// one; an operator or function two, evaluated and called (`compare` turns rhai's fast operators
/// off); `&&` and `||` one (two here); an `if` its condition, the branch taken and two for the
/// blocks (four here, and both branches).
fn operations(node: &Node) -> usize {
    let (own, children): (usize, [Option<&Node>; 3]) = match node {
        Node::Load(_) => (1, [None; 3]),
        Node::Neg(x) | Node::Not(x) | Node::Abs(x) => (2, [Some(x), None, None]),
        Node::Binary(_, l, r) | Node::And(l, r) | Node::Or(l, r) => (2, [Some(l), Some(r), None]),
        Node::If(c, a, b) => (4, [Some(c), Some(a), Some(b)]),
    };
    children.into_iter().flatten().fold(own, |sum, child| sum.saturating_add(operations(child)))
}

/// One step of the compiled program, which keeps the latest value in an accumulator rather than on
/// the stack. A value loaded only to be the right side of the next operation (`v0 * 15.0`) is
/// folded into that operation, so a chain like `v0 * 15.0 / 3600 - 0.5` never touches the stack.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// Loads a value into the accumulator, whose value is not needed any more.
    Set(Load),
    /// Pushes the accumulator and loads a value into it.
    Push(Load),
    Neg,
    Not,
    Abs,
    /// Pops the left side; the accumulator is the right side.
    Pop(Binary),
    /// The accumulator is the left side; the right side is loaded.
    With(Binary, Load),
    /// Goes to the step when the accumulator is false (0.0), keeping it.
    JumpIfFalse(usize),
    /// Goes to the step when the accumulator is true (1.0), keeping it.
    JumpIfTrue(usize),
    Jump(usize),
}

/// A compiled expression: its steps, whether its result is a bool, and a reused evaluation stack.
/// Each step does the same float operation on the same sides as rhai, so results are the same.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    steps: Vec<Step>,
    boolean: bool,
    stack: Vec<f64>,
}

impl Program {
    /// Compiles the rewritten text of an expression (operands named `v0`, `v1`, ...), or `None` when
    /// it is outside the fast path. `operands` is how many there are.
    pub(crate) fn compile(text: &str, operands: usize) -> Option<Program> {
        let typed = parse::parse(text, operands)?;
        // rhai gives an integer constant (`5`) an `i64` result of its own; only floats and bools here.
        let boolean = match typed.kind {
            Kind::Bool => true,
            Kind::Float | Kind::MaybeInt => false,
            Kind::Int(_) => return None,
        };
        // A tree of a few thousand operations fits rhai's depth limit (a balanced sum of 8,192
        // operands is 14 levels deep), so the limit is reachable: such expressions stay rhai's.
        if operations(&typed.node).saturating_add(1) > MAX_OPERATIONS as usize {
            return None;
        }
        let mut code = Code { steps: Vec::new(), depth: 0, deepest: 0 };
        code.emit(&typed.node, false);
        Some(Program { steps: code.steps, boolean, stack: Vec::with_capacity(code.deepest) })
    }

    /// The result for operand values `values` (one per operand, in order).
    #[inline]
    pub(crate) fn evaluate(&mut self, values: &[f64]) -> Outcome {
        let value = self.run(values);
        if self.boolean { Outcome::Bool(value != 0.0) } else { Outcome::Number(value) }
    }

    #[inline]
    fn run(&mut self, values: &[f64]) -> f64 {
        let load = |from: Load| match from {
            Load::Operand(i) => values[i],
            Load::Number(v) => v,
        };
        let stack = &mut self.stack;
        stack.clear();
        let mut acc = 0.0;
        let mut at = 0;
        while let Some(&step) = self.steps.get(at) {
            at += 1;
            acc = match step {
                Step::Set(from) => load(from),
                Step::Push(from) => {
                    stack.push(acc);
                    load(from)
                }
                Step::Neg => -acc,
                Step::Not => f64::from(u8::from(acc == 0.0)),
                Step::Abs => acc.abs(),
                Step::Pop(op) => op.apply(stack.pop().unwrap_or_default(), acc),
                Step::With(op, from) => op.apply(acc, load(from)),
                Step::JumpIfFalse(to) => {
                    if acc == 0.0 {
                        at = to;
                    }
                    acc
                }
                Step::JumpIfTrue(to) => {
                    if acc != 0.0 {
                        at = to;
                    }
                    acc
                }
                Step::Jump(to) => {
                    at = to;
                    acc
                }
            };
        }
        acc
    }
}

/// The steps being emitted, and the stack depth they reach.
struct Code {
    steps: Vec<Step>,
    depth: usize,
    deepest: usize,
}

impl Code {
    /// Emits steps that leave `node`'s value in the accumulator; with `save`, the accumulator is
    /// pushed first (by the first load, every node's first step), to be popped by the caller.
    /// Both ways out of a jump have the same stack, so a jump target needs no bookkeeping.
    fn emit(&mut self, node: &Node, save: bool) {
        match node {
            Node::Load(from) => {
                if save {
                    self.depth += 1;
                    self.deepest = self.deepest.max(self.depth);
                    self.steps.push(Step::Push(*from));
                } else {
                    self.steps.push(Step::Set(*from));
                }
            }
            Node::Neg(x) | Node::Not(x) | Node::Abs(x) => {
                self.emit(x, save);
                self.steps.push(match node {
                    Node::Neg(_) => Step::Neg,
                    Node::Not(_) => Step::Not,
                    _ => Step::Abs,
                });
            }
            Node::Binary(op, left, right) => {
                self.emit(left, save);
                if let Node::Load(from) = **right {
                    self.steps.push(Step::With(*op, from));
                } else {
                    self.emit(right, true);
                    self.depth -= 1;
                    self.steps.push(Step::Pop(*op));
                }
            }
            Node::And(left, right) | Node::Or(left, right) => {
                self.emit(left, save);
                let jump = self.steps.len();
                self.steps.push(Step::Jump(0));
                self.emit(right, false);
                let end = self.steps.len();
                self.steps[jump] =
                    if matches!(node, Node::And(..)) { Step::JumpIfFalse(end) } else { Step::JumpIfTrue(end) };
            }
            Node::If(condition, then, otherwise) => {
                self.emit(condition, save);
                let branch = self.steps.len();
                self.steps.push(Step::Jump(0));
                self.emit(then, false);
                let skip = self.steps.len();
                self.steps.push(Step::Jump(0));
                self.steps[branch] = Step::JumpIfFalse(self.steps.len());
                self.emit(otherwise, false);
                self.steps[skip] = Step::Jump(self.steps.len());
            }
        }
    }
}

#[cfg(test)]
pub(super) mod agree;

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, values: &[f64]) -> Option<Outcome> {
        Program::compile(text, values.len()).map(|mut p| p.evaluate(values))
    }

    fn number(text: &str, values: &[f64]) -> Option<f64> {
        match eval(text, values) {
            Some(Outcome::Number(v)) => Some(v),
            other => panic!("{text}: {other:?}"),
        }
    }

    fn truth(text: &str, values: &[f64]) -> bool {
        match eval(text, values) {
            Some(Outcome::Bool(b)) => b,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn precedence_associativity_and_conversion() {
        assert_eq!(number("v0 - v1", &[7.0, 2.0]), Some(5.0));
        assert_eq!(number("v0 - v1 - v0", &[7.0, 2.0]), Some(-2.0));
        assert_eq!(number("v0 + v1 * 2", &[1.0, 3.0]), Some(7.0));
        assert_eq!(number("(v0 + v1) * 2", &[1.0, 3.0]), Some(8.0));
        assert_eq!(number("2 * v0 / 4", &[3.0]), Some(1.5));
        assert_eq!(number("10 % v0", &[4.0]), Some(2.0));
        assert_eq!(number("-v0 * -2", &[3.0]), Some(6.0));
        assert_eq!(number("v0 * 15.0 / 3600 - 0.5", &[36.0]), Some(36.0 * 15.0 / 3600.0 - 0.5));
        assert_eq!(number("v0 / 0", &[1.0]), Some(f64::INFINITY));
    }

    #[test]
    fn nested_sides_go_through_the_stack() {
        assert_eq!(number("v0 * (v1 - 2)", &[3.0, 7.0]), Some(15.0));
        assert_eq!(number("(v0 - 1) / (v1 + 1) - (v0 % v1)", &[9.0, 3.0]), Some(2.0));
        assert_eq!(number("v0 - -(v1 * 2)", &[1.0, 3.0]), Some(7.0));
        assert_eq!(number("1.5 - (2 - (3 - (4 - v0)))", &[5.0]), Some(1.5 - (2.0 - (3.0 - (4.0 - 5.0)))));
        let p = Program::compile("v0 * 15.0 / 3600 - 0.5", 1).unwrap();
        assert!(p.steps[1..].iter().all(|s| matches!(s, Step::With(..))), "{:?}", p.steps);
        assert_eq!(p.stack.capacity(), 0);
    }

    /// Comparisons bind looser than arithmetic, `&&` looser than comparisons and `||` loosest; `!`
    /// binds to the operand after it.
    #[test]
    fn comparisons_and_logic() {
        assert!(truth("v0 + 1 > v1 * 2", &[4.0, 2.0]));
        assert!(truth("v0 < v1 || v1 < v0 || v0 + 1 == v1 + 1", &[1.0, 1.0]));
        assert!(truth("v0 > 0 || v0 < 0 && v1 > 0", &[1.0, -1.0]));
        assert!(!truth("(v0 > 0 || v0 < 0) && v1 > 0", &[1.0, -1.0]));
        assert!(truth("!(v0 > v1) && !false", &[f64::NAN, 0.0]));
        assert!(truth("v0 != v0", &[f64::NAN]));
        assert!(truth("v0 == 0 && v1 == -0.0", &[-0.0, 0.0]));
        assert!(truth("9007199254740993 == v0", &[9_007_199_254_740_992.0]));
        assert!(truth("v0 >= 1 && v0 <= 1.0", &[1.0]));
    }

    #[test]
    fn branches_and_functions() {
        let sign = "if v0 > 0 { 1 } else if v0 < 0 { -1 } else { 0 }";
        assert_eq!(number(sign, &[1e-17]), Some(1.0));
        assert_eq!(number(sign, &[-5e-324]), Some(-1.0));
        assert_eq!(number(sign, &[-0.0]), Some(0.0));
        assert_eq!(number(sign, &[f64::NAN]), Some(0.0));
        assert_eq!(number("v1 + if v0 > 0 { v0 } else { 0.0 } * 2", &[3.0, 1.0]), Some(7.0));
        assert!(!truth("if v0 > 0 { v1 > 0 } else { true }", &[1.0, 0.0]));
        // rhai's `max` and `min` compare, so a NaN or -0 on the right wins only when the left loses.
        assert_eq!(number("max(v0, v1)", &[f64::NAN, 1.0]).map(f64::to_bits), Some(1f64.to_bits()));
        assert!(number("max(v0, v1)", &[1.0, f64::NAN]).unwrap().is_nan());
        assert_eq!(number("max(v0, v1)", &[-0.0, 0.0]).map(f64::to_bits), Some((-0f64).to_bits()));
        assert_eq!(number("min(v0, 2)", &[3.0]), Some(2.0));
        assert_eq!(number("abs(v0 - 4)", &[1.0]), Some(3.0));
        // Jumps skip the other branch: its pushes are never popped.
        let p = Program::compile("if v0 > v1 { v0 * (v1 - 1) } else { (v0 - 1) * v1 }", 2).unwrap();
        assert!(p.steps.iter().any(|s| matches!(s, Step::JumpIfFalse(_))), "{:?}", p.steps);
        assert_eq!(p.stack.capacity(), 1);
        assert_eq!(number("if v0 > v1 { v0 * (v1 - 1) } else { (v0 - 1) * v1 }", &[2.0, 5.0]), Some(5.0));
    }

    #[test]
    fn leaves_everything_else_to_rhai() {
        for text in [
            // Integer arithmetic and integer results: checked `i64` in rhai.
            "1 + 2",
            "5",
            "-5",
            "7 / 2 * v0",
            "1 < 2",
            "abs(1)",
            "max(1, 2)",
            "(if v0 > 0 { 1 } else { 2 }) * 2",
            "-(if v0 > 0 { 1 } else { 2 })",
            "if v0 > 0 { 1 } else { 2 } == 1",
            // An `if` without `else` (unit), a condition or logic that is not a bool, mixed branches.
            "if v0 > 1 { 1.0 }",
            "if v0 { 1.0 } else { 2.0 }",
            "if v0 > 0 { true } else { 1.0 }",
            "v0 && true",
            "!v0",
            "!v0 > v1",
            "v0 > v1 == true",
            "v0 + true",
            // Other operators, functions and forms.
            "v0 | v1 > 0",
            "v0 > 0 & true",
            "v0 << 1",
            "v0 ** 2",
            "v0.abs()",
            "sign(v0)",
            "min(v0)",
            "max(v0, v1, 1.0)",
            "if v0 > 0 { 1.0; } else { 2.0 }",
            "{ v0 }",
            "1e3 * v0",
            "1_000 * v0",
            "v0 // c",
            "v2",
            "v0 +",
            "(v0",
            "v0 v1",
            "v01x",
            "ifv0",
        ] {
            assert!(Program::compile(text, 2).is_none(), "{text}");
        }
    }
}
