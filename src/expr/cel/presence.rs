//! `has()` as cel-go evaluates it in the Go adapter: cel-go's default
//! (`errorOnBadPresenceTest` off) answers `false` when the operand is null or a scalar, where
//! the `cel` crate (which follows the conformance suite's stricter mode) raises
//! `no matching overload for '_._'`. Guards such as `has(a.spec) && has(a.spec.x)` over API data
//! with an explicit `spec: null` rely on it.
//!
//! Each presence test `has(x.f)` is rewritten, after parsing, into a call of [`HAS`] with the
//! operand and the field name; the function keeps the crate's answer for maps and optionals.

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::traits::Container;
use cel::common::types::{CelBool, CelString};
use cel::common::value::{BuiltinRef, CowVal, Val};
use cel::{ExecutionError, FunctionContext};

/// The function a presence test becomes (not a name CEL text can call).
pub(crate) const HAS: &str = "@hyperfleet_has";

/// `expr` with every presence test rewritten.
pub(super) fn lenient(expr: &IdedExpr) -> IdedExpr {
    let mut e = expr.clone();
    rewrite(&mut e);
    e
}

fn rewrite(e: &mut IdedExpr) {
    match &mut e.expr {
        Expr::Select(sel) if sel.test => {
            rewrite(&mut sel.operand);
            let operand = (*sel.operand).clone();
            let field = IdedExpr {
                id: e.id,
                expr: Expr::Literal(LiteralValue::String(sel.field.clone().into())),
            };
            e.expr = Expr::Call(CallExpr {
                func_name: HAS.to_string(),
                target: None,
                args: vec![operand, field],
            });
        }
        Expr::Select(sel) => rewrite(&mut sel.operand),
        Expr::Call(call) => {
            if let Some(t) = call.target.as_mut() {
                rewrite(t);
            }
            call.args.iter_mut().for_each(rewrite);
        }
        Expr::Comprehension(c) => {
            for part in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                rewrite(part);
            }
        }
        Expr::List(l) => l.elements.iter_mut().for_each(rewrite),
        Expr::Map(m) => m
            .entries
            .iter_mut()
            .for_each(|entry| entry_rewrite(&mut entry.expr)),
        Expr::Struct(s) => s
            .entries
            .iter_mut()
            .for_each(|entry| entry_rewrite(&mut entry.expr)),
        _ => {}
    }
}

fn entry_rewrite(e: &mut EntryExpr) {
    match e {
        EntryExpr::MapEntry(m) => {
            rewrite(&mut m.key);
            rewrite(&mut m.value);
        }
        EntryExpr::StructField(f) => rewrite(&mut f.value),
    }
}

/// `has(operand.field)`: the key's presence in a map (or in an optional's value); `false` for
/// null, scalars, lists and `optional.none()`.
///
/// Registered as a raw function over the evaluator's own values: the operand (often a whole
/// Kubernetes object) is looked at where it lives, not converted into an argument list first
/// (that conversion and its drop were a third of a status payload's build time).
pub(crate) fn has<'c, 'a>(
    ftx: &mut FunctionContext<'c, 'a>,
) -> Result<CowVal<'c, 'a>, ExecutionError> {
    let (Some(operand), Some(field)) = (ftx.args.first(), ftx.args.get(1)) else {
        return Err(takes_two());
    };
    let field: &dyn Val = field.as_ref();
    if field.downcast_ref::<CelString>().is_none() {
        return Err(takes_two());
    }
    let mut operand: &dyn Val = operand.as_ref();
    if let BuiltinRef::Optional(opt) = operand.as_builtin() {
        match opt.inner() {
            Some(v) => operand = v,
            None => return Ok(CowVal::owned(CelBool::from(false))),
        }
    }
    let present = match operand.as_builtin() {
        BuiltinRef::Map(m) => m.contains(field)?,
        _ => false,
    };
    Ok(CowVal::owned(CelBool::from(present)))
}

fn takes_two() -> ExecutionError {
    ExecutionError::function_error(HAS, "takes an operand and a field name")
}
