//! A fast path for plain arithmetic merge expressions (`${A} - ${B}`, `(${A} + ${B}) * 0.5`, ...):
//! operands, number literals, `+ - * / %`, unary minus and parentheses, compiled to a small stack
//! program over `f64`. It takes only expressions whose every operation rhai would also do on
//! floats (an integer literal next to a float is converted to a float, as rhai converts it), so
//! the result is bit for bit rhai's; anything else (functions, comparisons, `if`, integer-only
//! arithmetic, which rhai does in checked `i64`) is left to rhai.

/// One step of the parsed expression, in postfix order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Operand(usize),
    Number(f64),
    Neg,
    Binary(Arith),
}

/// A binary operation on floats.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl Arith {
    #[inline]
    fn apply(self, x: f64, y: f64) -> f64 {
        match self {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
            Arith::Rem => x % y,
        }
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Load {
    Operand(usize),
    Number(f64),
}

/// One step of the compiled program, which keeps the latest value in an accumulator rather than on
/// the stack. A value loaded only to be the right side of the next operation (`v0 * 15.0`) is
/// folded into that operation, so a chain like `v0 * 15.0 / 3600 - 0.5` never touches the stack.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// Pushes the accumulator and loads a value into it.
    Push(Load),
    Neg,
    /// Pops the left side; the accumulator is the right side.
    Pop(Arith),
    /// The accumulator is the left side; the right side is loaded.
    With(Arith, Load),
}

/// A compiled expression: the first value, the steps after it, and a reused evaluation stack. Each
/// step does the same float operation on the same sides as the postfix form, so results are the same.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    first: Load,
    steps: Vec<Step>,
    stack: Vec<f64>,
}

/// `ops` (postfix) as accumulator steps: the first load, then the rest.
fn fold(ops: &[Op]) -> Option<(Load, Vec<Step>)> {
    let load = |op: &Op| match *op {
        Op::Operand(i) => Some(Load::Operand(i)),
        Op::Number(v) => Some(Load::Number(v)),
        _ => None,
    };
    let first = load(ops.first()?)?;
    let mut steps = Vec::with_capacity(ops.len());
    let mut at = 1;
    while at < ops.len() {
        let step = match (load(&ops[at]), ops.get(at + 1)) {
            (Some(right), Some(&Op::Binary(arith))) => {
                at += 1;
                Step::With(arith, right)
            }
            (Some(value), _) => Step::Push(value),
            (None, _) => match ops[at] {
                Op::Binary(arith) => Step::Pop(arith),
                _ => Step::Neg,
            },
        };
        steps.push(step);
        at += 1;
    }
    Some((first, steps))
}

impl Program {
    /// Compiles the rewritten text of an expression (operands named `v0`, `v1`, ...), or `None` when
    /// it is outside the fast path. `operands` is how many there are.
    pub(crate) fn compile(text: &str, operands: usize) -> Option<Program> {
        let tokens = tokenize(text, operands)?;
        let mut parser = Parser { tokens: &tokens, at: 0, ops: Vec::new() };
        let kind = parser.expression()?;
        if parser.at != tokens.len() || kind != Kind::Float {
            return None;
        }
        let (first, steps) = fold(&parser.ops)?;
        let pushes = steps.iter().filter(|s| matches!(s, Step::Push(_))).count();
        Some(Program { first, steps, stack: Vec::with_capacity(pushes) })
    }

    /// The value for operand values `values` (one per operand, in order).
    #[inline]
    pub(crate) fn evaluate(&mut self, values: &[f64]) -> f64 {
        let load = |from: Load| match from {
            Load::Operand(i) => values[i],
            Load::Number(v) => v,
        };
        let stack = &mut self.stack;
        stack.clear();
        let mut acc = load(self.first);
        for &step in &self.steps {
            acc = match step {
                Step::Push(from) => {
                    stack.push(acc);
                    load(from)
                }
                Step::Neg => -acc,
                Step::Pop(arith) => arith.apply(stack.pop().unwrap_or_default(), acc),
                Step::With(arith, from) => arith.apply(acc, load(from)),
            };
        }
        acc
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Operand(usize),
    Int(i64),
    Float(f64),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Open,
    Close,
}

/// The tokens of `text`, or `None` at anything outside the fast path's language.
fn tokenize(text: &str, operands: usize) -> Option<Vec<Token>> {
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let token = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'+' => Token::Plus,
            b'-' => Token::Minus,
            b'*' => Token::Star,
            // `//` and `/*` start comments, which rhai reads and this path does not.
            b'/' if !matches!(b.get(i + 1), Some(b'/' | b'*')) => Token::Slash,
            b'%' => Token::Percent,
            b'(' => Token::Open,
            b')' => Token::Close,
            b'v' => {
                let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
                let index: usize = text.get(i + 1..i + 1 + digits)?.parse().ok()?;
                if index >= operands || b.get(i + 1 + digits).is_some_and(|&d| d.is_ascii_alphanumeric() || d == b'_') {
                    return None;
                }
                i += 1 + digits;
                tokens.push(Token::Operand(index));
                continue;
            }
            b'0'..=b'9' => {
                let int = b[i..].iter().take_while(|d| d.is_ascii_digit()).count();
                let fraction = match (b.get(i + int), b.get(i + int + 1)) {
                    (Some(b'.'), Some(d)) if d.is_ascii_digit() => {
                        1 + b[i + int + 1..].iter().take_while(|d| d.is_ascii_digit()).count()
                    }
                    _ => 0,
                };
                let end = i + int + fraction;
                // Exponents, `_` separators, suffixes and `1.` are rhai's to read.
                if b.get(end).is_some_and(|&d| d.is_ascii_alphanumeric() || d == b'_' || d == b'.') {
                    return None;
                }
                let literal = &text[i..end];
                i = end;
                tokens.push(if fraction > 0 {
                    Token::Float(literal.parse().ok()?)
                } else {
                    Token::Int(literal.parse().ok()?)
                });
                continue;
            }
            _ => return None,
        };
        tokens.push(token);
        i += 1;
    }
    Some(tokens)
}

/// What a sub-expression computes in rhai: an `i64` or an `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int(i64),
    Float,
}

/// Recursive descent with rhai's precedence: unary minus, then `* / %`, then `+ -`, all binary
/// operators left-associative. Integer sub-expressions are only ever single literals (negated or
/// not); they are emitted as floats where a float operation meets them.
struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    ops: Vec<Op>,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).copied();
        self.at += 1;
        t
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.at).copied()
    }

    fn expression(&mut self) -> Option<Kind> {
        let mut left = self.term()?;
        while let Some(op @ (Token::Plus | Token::Minus)) = self.peek() {
            self.at += 1;
            let right = self.term()?;
            left = self.binary(left, right, if op == Token::Plus { Arith::Add } else { Arith::Sub })?;
        }
        Some(left)
    }

    fn term(&mut self) -> Option<Kind> {
        let mut left = self.unary()?;
        while let Some(op @ (Token::Star | Token::Slash | Token::Percent)) = self.peek() {
            self.at += 1;
            let right = self.unary()?;
            let op = match op {
                Token::Star => Arith::Mul,
                Token::Slash => Arith::Div,
                _ => Arith::Rem,
            };
            left = self.binary(left, right, op)?;
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Kind> {
        if self.peek() == Some(Token::Minus) {
            self.at += 1;
            return match self.unary()? {
                Kind::Int(v) => Some(Kind::Int(v.checked_neg()?)),
                Kind::Float => {
                    self.ops.push(Op::Neg);
                    Some(Kind::Float)
                }
            };
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Kind> {
        match self.next()? {
            Token::Operand(i) => {
                self.ops.push(Op::Operand(i));
                Some(Kind::Float)
            }
            Token::Float(v) => {
                self.ops.push(Op::Number(v));
                Some(Kind::Float)
            }
            Token::Int(v) => Some(Kind::Int(v)),
            Token::Open => {
                let inner = self.expression()?;
                (self.next()? == Token::Close).then_some(inner)
            }
            _ => None,
        }
    }

    /// Emits `left op right` where at least one side is a float; an integer side, not emitted
    /// yet, becomes a float number at its place. Integer-only operations are rhai's.
    fn binary(&mut self, left: Kind, right: Kind, op: Arith) -> Option<Kind> {
        match (left, right) {
            (Kind::Int(_), Kind::Int(_)) => return None,
            (Kind::Int(x), Kind::Float) => {
                // The right side's steps are already out: the left number goes before them.
                let right_start = self.start_of_last_operand()?;
                self.ops.insert(right_start, Op::Number(x as f64));
            }
            (Kind::Float, Kind::Int(y)) => self.ops.push(Op::Number(y as f64)),
            (Kind::Float, Kind::Float) => {}
        }
        self.ops.push(Op::Binary(op));
        Some(Kind::Float)
    }

    /// Where the steps of the last complete operand (a sub-expression leaving one value) begin.
    fn start_of_last_operand(&self) -> Option<usize> {
        let mut needed: usize = 1;
        for (i, op) in self.ops.iter().enumerate().rev() {
            match op {
                Op::Operand(_) | Op::Number(_) => needed -= 1,
                Op::Neg => {}
                _ => needed += 1,
            }
            if needed == 0 {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, values: &[f64]) -> Option<f64> {
        Program::compile(text, values.len()).map(|mut p| p.evaluate(values))
    }

    #[test]
    fn precedence_associativity_and_conversion() {
        assert_eq!(eval("v0 - v1", &[7.0, 2.0]), Some(5.0));
        assert_eq!(eval("v0 - v1 - v0", &[7.0, 2.0]), Some(-2.0));
        assert_eq!(eval("v0 + v1 * 2", &[1.0, 3.0]), Some(7.0));
        assert_eq!(eval("(v0 + v1) * 2", &[1.0, 3.0]), Some(8.0));
        assert_eq!(eval("2 * v0 / 4", &[3.0]), Some(1.5));
        assert_eq!(eval("10 % v0", &[4.0]), Some(2.0));
        assert_eq!(eval("-v0 * -2", &[3.0]), Some(6.0));
        assert_eq!(eval("v0 * 15.0 / 3600 - 0.5", &[36.0]), Some(36.0 * 15.0 / 3600.0 - 0.5));
        assert_eq!(eval("v0 / 0", &[1.0]), Some(f64::INFINITY));
    }

    #[test]
    fn nested_sides_go_through_the_stack() {
        assert_eq!(eval("v0 * (v1 - 2)", &[3.0, 7.0]), Some(15.0));
        assert_eq!(eval("(v0 - 1) / (v1 + 1) - (v0 % v1)", &[9.0, 3.0]), Some(2.0));
        assert_eq!(eval("v0 - -(v1 * 2)", &[1.0, 3.0]), Some(7.0));
        assert_eq!(eval("1.5 - (2 - (3 - (4 - v0)))", &[5.0]), Some(1.5 - (2.0 - (3.0 - (4.0 - 5.0)))));
        let p = Program::compile("v0 * 15.0 / 3600 - 0.5", 1).unwrap();
        assert!(p.steps.iter().all(|s| matches!(s, Step::With(..))), "{:?}", p.steps);
        assert_eq!(p.stack.capacity(), 0);
    }

    #[test]
    fn leaves_everything_else_to_rhai() {
        for text in [
            "1 + 2",
            "7 / 2 * v0",
            "abs(v0)",
            "v0 > 1",
            "if v0 { 1.0 }",
            "v0 ** 2",
            "1e3 * v0",
            "1_000 * v0",
            "v0 // c",
            "v2",
            "v0 +",
            "(v0",
            "v0 v1",
            "v01x",
        ] {
            assert!(Program::compile(text, 2).is_none(), "{text}");
        }
    }
}
