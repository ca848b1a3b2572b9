//! `has()` as cel-go evaluates it in the Go adapter: cel-go's default
//! (`errorOnBadPresenceTest` off) answers `false` when the operand is null or a scalar, where
//! the `cel` crate (which follows the conformance suite's stricter mode) raises
//! `no matching overload for '_._'`. Guards such as `has(a.spec) && has(a.spec.x)` over API data
//! with an explicit `spec: null` rely on it.
//!
//! Each presence test `has(x.f)` is rewritten, after parsing, into a call of [`HAS`] with the
//! operand and the field name; the function keeps the crate's answer for maps and optionals.

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::objects::{Key, OptionalValue};
use cel::{ExecutionError, Value as Cel};
use std::sync::Arc;

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
pub(crate) fn has(args: &[Cel]) -> Result<Cel, ExecutionError> {
    let (Some(operand), Some(Cel::String(field))) = (args.first(), args.get(1)) else {
        return Err(ExecutionError::function_error(
            HAS,
            "takes an operand and a field name",
        ));
    };
    let operand = match operand {
        Cel::Opaque(o) => match o.downcast_ref::<OptionalValue>() {
            Some(opt) => match opt.value() {
                Some(v) => v,
                None => return Ok(Cel::Bool(false)),
            },
            None => operand,
        },
        other => other,
    };
    Ok(Cel::Bool(match operand {
        Cel::Map(m) => m.map.contains_key(&Key::String(Arc::clone(field))),
        _ => false,
    }))
}
