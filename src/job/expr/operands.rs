//! How an evaluation reads its operands: rhai's variable resolver takes `v17` as the 18th value
//! of the evaluation running on this thread, and a compiled expression is walked once to refuse
//! any other variable (see the parent module for why operands are not a rhai scope).

use rhai::{AST, ASTNode, Dynamic, Expr, Position};
use std::cell::RefCell;

thread_local! {
    /// The operand values of the evaluation running on this thread, which the engine's variable
    /// resolver reads (an engine and its expressions never leave the thread that built them).
    static OPERANDS: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Makes `values` the operands of the evaluation about to start on this thread.
pub(super) fn set_operands(values: impl IntoIterator<Item = f64>) {
    OPERANDS.with(|operands| {
        let mut operands = operands.borrow_mut();
        operands.clear();
        operands.extend(values);
    });
}

/// The value of variable `name` in the evaluation running on this thread, when it names an operand.
pub(super) fn operand(name: &str) -> Option<Dynamic> {
    let index = operand_index(name)?;
    OPERANDS.with(|operands| operands.borrow().get(index).copied()).map(Dynamic::from)
}

/// `17` for `v17`, the form of [`super::variable_name`].
fn operand_index(name: &str) -> Option<usize> {
    let digits = name.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The first variable of `ast` that is none of its `operands` operands, and where it is.
pub(super) fn undefined_variable(ast: &AST, operands: usize) -> Option<(String, Position)> {
    let mut found = None;
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::Variable(variable, _, position))) = path.last()
            && operand_index(&variable.1).is_none_or(|i| i >= operands)
        {
            found = Some((variable.1.to_string(), *position));
        }
        found.is_none()
    });
    found
}
