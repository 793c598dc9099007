//! The fast path's language read into a typed tree: operands, number literals, `true`, `false`,
//! `+ - * / %`, unary `-` and `!`, the six comparisons, `&&` and `||`, parentheses,
//! `if c { a } else { b }` (with `else if`), `abs(x)`, `min(x, y)` and `max(x, y)`. Each
//! sub-expression carries what rhai would compute for it (an integer, a float, either, a bool),
//! and the parser refuses any operation whose rhai result is not a float or bool decided by the
//! types alone: integer-only arithmetic (checked `i64`), comparisons of two integers, logic on
//! numbers, an `if` without `else` or with a bool branch and a number branch.

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Load {
    Operand(usize),
    Number(f64),
}

/// An operation on two values; comparisons give 1.0 for true and 0.0 for false.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// rhai's `min` and `max` of floats: `if x <= y { x } else { y }` and `if x >= y { x } else { y }`.
    Min,
    Max,
}

impl Binary {
    #[inline]
    pub(super) fn apply(self, x: f64, y: f64) -> f64 {
        let truth = |b: bool| f64::from(u8::from(b));
        match self {
            Binary::Add => x + y,
            Binary::Sub => x - y,
            Binary::Mul => x * y,
            Binary::Div => x / y,
            Binary::Rem => x % y,
            Binary::Eq => truth(x == y),
            Binary::Ne => truth(x != y),
            Binary::Lt => truth(x < y),
            Binary::Le => truth(x <= y),
            Binary::Gt => truth(x > y),
            Binary::Ge => truth(x >= y),
            Binary::Min => {
                if x <= y {
                    x
                } else {
                    y
                }
            }
            Binary::Max => {
                if x >= y {
                    x
                } else {
                    y
                }
            }
        }
    }
}

/// An expression of the fast path; bools are the numbers 1.0 and 0.0.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Load(Load),
    Neg(Box<Node>),
    Not(Box<Node>),
    Abs(Box<Node>),
    Binary(Binary, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    If(Box<Node>, Box<Node>, Box<Node>),
}

/// What a sub-expression computes in rhai.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An integer constant: rhai keeps it an `i64` until a float operation meets it.
    Int(i64),
    /// An `if` with an integer constant in a branch: an `i64` or an `f64`, by the condition.
    MaybeInt,
    Float,
    Bool,
}

impl Kind {
    fn is_number(self) -> bool {
        self != Kind::Bool
    }
}

/// A parsed sub-expression: its tree and what rhai computes for it. An integer constant's tree is
/// already the double it becomes wherever it meets a float (`as f64`, as rhai converts it).
pub(super) struct Typed {
    pub(super) kind: Kind,
    pub(super) node: Node,
}

/// The tree of the rewritten text (operands `v0`, `v1`, ...), or `None` when the text is outside
/// the fast path.
pub(super) fn parse(text: &str, operands: usize) -> Option<Typed> {
    let tokens = tokenize(text, operands)?;
    let mut parser = Parser { tokens: &tokens, at: 0 };
    let typed = parser.level(0)?;
    (parser.at == tokens.len()).then_some(typed)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Operand(usize),
    Int(i64),
    Float(f64),
    Bool(bool),
    Word(Word),
    Binary(Binary),
    And,
    Or,
    Bang,
    Open,
    Close,
    OpenBrace,
    CloseBrace,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    If,
    Else,
    Abs,
    Min,
    Max,
}

/// The tokens of `text`, or `None` at anything outside the fast path's language.
fn tokenize(text: &str, operands: usize) -> Option<Vec<Token>> {
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let (token, len) = match (c, next) {
            (b' ' | b'\t' | b'\n' | b'\r', _) => {
                i += 1;
                continue;
            }
            (b'+', _) => (Token::Binary(Binary::Add), 1),
            (b'-', _) => (Token::Binary(Binary::Sub), 1),
            (b'*', _) => (Token::Binary(Binary::Mul), 1),
            // `//` and `/*` start comments, which rhai reads and this path does not.
            (b'/', _) if !matches!(next, Some(b'/' | b'*')) => (Token::Binary(Binary::Div), 1),
            (b'%', _) => (Token::Binary(Binary::Rem), 1),
            (b'=', Some(b'=')) => (Token::Binary(Binary::Eq), 2),
            (b'!', Some(b'=')) => (Token::Binary(Binary::Ne), 2),
            (b'<', Some(b'=')) => (Token::Binary(Binary::Le), 2),
            (b'>', Some(b'=')) => (Token::Binary(Binary::Ge), 2),
            // `<<`, `>>`, `<-`, `->` and `=>` are other tokens in rhai (shifts, reserved symbols).
            (b'<', _) if !matches!(next, Some(b'<' | b'-')) => (Token::Binary(Binary::Lt), 1),
            (b'>', _) if next != Some(b'>') => (Token::Binary(Binary::Gt), 1),
            (b'&', Some(b'&')) => (Token::And, 2),
            (b'|', Some(b'|')) => (Token::Or, 2),
            (b'!', _) => (Token::Bang, 1),
            (b'(', _) => (Token::Open, 1),
            (b')', _) => (Token::Close, 1),
            (b'{', _) => (Token::OpenBrace, 1),
            (b'}', _) => (Token::CloseBrace, 1),
            (b',', _) => (Token::Comma, 1),
            (b'a'..=b'z' | b'A'..=b'Z' | b'_', _) => {
                let len = b[i..].iter().take_while(|d| d.is_ascii_alphanumeric() || **d == b'_').count();
                let word = &text[i..i + len];
                let token = match word {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    "if" => Token::Word(Word::If),
                    "else" => Token::Word(Word::Else),
                    "abs" => Token::Word(Word::Abs),
                    "min" => Token::Word(Word::Min),
                    "max" => Token::Word(Word::Max),
                    _ => {
                        let index: usize = word.strip_prefix('v')?.parse().ok()?;
                        if !word[1..].bytes().all(|d| d.is_ascii_digit()) || index >= operands {
                            return None;
                        }
                        Token::Operand(index)
                    }
                };
                (token, len)
            }
            (b'0'..=b'9', _) => {
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
                let token =
                    if fraction > 0 { Token::Float(literal.parse().ok()?) } else { Token::Int(literal.parse().ok()?) };
                (token, end - i)
            }
            _ => return None,
        };
        tokens.push(token);
        i += len;
    }
    Some(tokens)
}

/// The binary operators by rhai's precedence, loosest first; every level is left-associative.
const LEVELS: [&[Token]; 6] = [
    &[Token::Or],
    &[Token::And],
    &[Token::Binary(Binary::Eq), Token::Binary(Binary::Ne)],
    &[Token::Binary(Binary::Lt), Token::Binary(Binary::Le), Token::Binary(Binary::Gt), Token::Binary(Binary::Ge)],
    &[Token::Binary(Binary::Add), Token::Binary(Binary::Sub)],
    &[Token::Binary(Binary::Mul), Token::Binary(Binary::Div), Token::Binary(Binary::Rem)],
];

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
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

    fn expect(&mut self, token: Token) -> Option<()> {
        (self.next()? == token).then_some(())
    }

    /// The operators of `LEVELS[level]` and tighter ones.
    fn level(&mut self, level: usize) -> Option<Typed> {
        let Some(operators) = LEVELS.get(level) else { return self.unary() };
        let mut left = self.level(level + 1)?;
        while let Some(op) = self.peek().filter(|t| operators.contains(t)) {
            self.at += 1;
            let right = self.level(level + 1)?;
            left = combine(op, left, right)?;
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Typed> {
        match self.peek()? {
            Token::Binary(Binary::Sub) => {
                self.at += 1;
                let inner = self.unary()?;
                match inner.kind {
                    // rhai folds a negated integer literal into a literal.
                    Kind::Int(v) => Some(int(v.checked_neg()?)),
                    Kind::Float => Some(Typed { kind: Kind::Float, node: Node::Neg(Box::new(inner.node)) }),
                    Kind::MaybeInt | Kind::Bool => None,
                }
            }
            Token::Bang => {
                self.at += 1;
                let inner = self.unary()?;
                (inner.kind == Kind::Bool).then(|| Typed { kind: Kind::Bool, node: Node::Not(Box::new(inner.node)) })
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Option<Typed> {
        let float = |node| Some(Typed { kind: Kind::Float, node });
        match self.next()? {
            Token::Operand(i) => float(Node::Load(Load::Operand(i))),
            Token::Float(v) => float(Node::Load(Load::Number(v))),
            Token::Int(v) => Some(int(v)),
            Token::Bool(b) => Some(Typed { kind: Kind::Bool, node: Node::Load(Load::Number(f64::from(u8::from(b)))) }),
            Token::Open => {
                let inner = self.level(0)?;
                self.expect(Token::Close)?;
                Some(inner)
            }
            Token::Word(Word::If) => self.if_else(),
            Token::Word(Word::Abs) => {
                self.expect(Token::Open)?;
                let x = self.level(0)?;
                self.expect(Token::Close)?;
                // `abs` of an integer is rhai's checked integer function.
                (x.kind == Kind::Float).then(|| Typed { kind: Kind::Float, node: Node::Abs(Box::new(x.node)) })
            }
            Token::Word(word @ (Word::Min | Word::Max)) => {
                self.expect(Token::Open)?;
                let x = self.level(0)?;
                self.expect(Token::Comma)?;
                let y = self.level(0)?;
                self.expect(Token::Close)?;
                numeric(if word == Word::Min { Binary::Min } else { Binary::Max }, x, y, Kind::Float)
            }
            _ => None,
        }
    }

    /// After `if`: the condition, the branch, `else` and the other branch (a block or an `if`).
    fn if_else(&mut self) -> Option<Typed> {
        let condition = self.level(0)?;
        let then = self.block()?;
        self.expect(Token::Word(Word::Else))?;
        let otherwise = if self.peek()? == Token::Word(Word::If) {
            self.at += 1;
            self.if_else()?
        } else {
            self.block()?
        };
        let kind = match (then.kind, otherwise.kind) {
            (Kind::Bool, Kind::Bool) => Kind::Bool,
            (Kind::Float, Kind::Float) => Kind::Float,
            (a, b) if a.is_number() && b.is_number() => Kind::MaybeInt,
            _ => return None,
        };
        if condition.kind != Kind::Bool {
            return None;
        }
        Some(Typed { kind, node: Node::If(Box::new(condition.node), Box::new(then.node), Box::new(otherwise.node)) })
    }

    /// `{ expression }`; a block of statements is rhai's.
    fn block(&mut self) -> Option<Typed> {
        self.expect(Token::OpenBrace)?;
        let inner = self.level(0)?;
        self.expect(Token::CloseBrace)?;
        Some(inner)
    }
}

fn int(v: i64) -> Typed {
    Typed { kind: Kind::Int(v), node: Node::Load(Load::Number(v as f64)) }
}

/// `left op right` for a binary operator token.
fn combine(op: Token, left: Typed, right: Typed) -> Option<Typed> {
    match op {
        Token::And | Token::Or => {
            if left.kind != Kind::Bool || right.kind != Kind::Bool {
                return None;
            }
            let (left, right) = (Box::new(left.node), Box::new(right.node));
            let node = if op == Token::And { Node::And(left, right) } else { Node::Or(left, right) };
            Some(Typed { kind: Kind::Bool, node })
        }
        Token::Binary(op @ (Binary::Add | Binary::Sub | Binary::Mul | Binary::Div | Binary::Rem)) => {
            numeric(op, left, right, Kind::Float)
        }
        Token::Binary(op) => numeric(op, left, right, Kind::Bool),
        _ => None,
    }
}

/// `op` on two numbers of which at least one is surely a float, so rhai converts the other with
/// `as f64` and does the float operation (or calls the float comparison or `min`/`max`).
fn numeric(op: Binary, left: Typed, right: Typed, kind: Kind) -> Option<Typed> {
    let float = left.kind == Kind::Float || right.kind == Kind::Float;
    (float && left.kind.is_number() && right.kind.is_number())
        .then(|| Typed { kind, node: Node::Binary(op, Box::new(left.node), Box::new(right.node)) })
}
