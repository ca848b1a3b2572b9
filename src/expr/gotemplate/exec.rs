//! Execution as Go's `text/template` executes (Go 1.19, `missingkey=error`): field and map
//! lookups through `interface {}` values, nil handling, argument type checks against each
//! function's Go signature, `and`/`or` short-circuits, pipelines, variables, `range`/`with`/`if`,
//! `break`/`continue`, `template`, and Go's error texts with their location and context
//! (`template: template:1:3: executing "template" at <.missing>: map has no entry for key
//! "missing"`).

use super::fmt;
use super::parse::{Arg, Branch, Command, Node, Number, Pipe, TreeSet};
use super::value::{Rv, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A Go parameter type of a template function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `interface {}`.
    Any,
    Str,
    Int,
    Int64,
    Float,
    Bool,
    Time,
    /// `reflect.Value` (the builtins that see values as they are).
    Reflect,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Int64 => "int64",
            Ty::Float => "float64",
            Ty::Bool => "bool",
            Ty::Time => "time.Time",
            Ty::Reflect => "reflect.Value",
        }
    }

    /// Whether a value of dynamic type `v` may be passed for this type.
    fn holds(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Ty::Str, Value::String(_))
                | (Ty::Int, Value::Int(_))
                | (Ty::Int64, Value::Int64(_))
                | (Ty::Float, Value::Float(_))
                | (Ty::Bool, Value::Bool(_))
                | (Ty::Time, Value::Time(_))
        )
    }
}

text_error!(
    /// A template function's failure: Go's text, printed after `error calling <name>: `.
    FuncError
);

pub type FnImpl = Arc<dyn Fn(&[Rv]) -> Result<Rv, FuncError> + Send + Sync>;

/// A template function with its Go signature.
#[derive(Clone)]
pub struct Func {
    pub params: Vec<Ty>,
    pub variadic: Option<Ty>,
    pub builtin: bool,
    pub call: FnImpl,
}

impl Func {
    pub fn new(
        params: &[Ty],
        variadic: Option<Ty>,
        call: impl Fn(&[Rv]) -> Result<Rv, FuncError> + Send + Sync + 'static,
    ) -> Func {
        Func {
            params: params.to_vec(),
            variadic,
            builtin: false,
            call: Arc::new(call),
        }
    }

    fn num_in(&self) -> usize {
        self.params.len() + usize::from(self.variadic.is_some())
    }
}

pub type FuncMap = HashMap<String, Func>;

/// How deep `{{template}}` calls may nest (Go allows 100,000, which overflows a 2 MiB stack).
pub const MAX_DEPTH: usize = 100;
/// How many lists and pipelines may run nested at once, across template calls: the bound on the
/// executor's recursion, so that a render fits a tokio worker's 2 MiB stack.
pub const MAX_FRAMES: usize = 250;
/// The most bytes one render writes.
pub const MAX_OUTPUT: usize = 16 << 20;
/// The most actions and commands one render runs.
pub const MAX_STEPS: u64 = 10_000_000;

/// An execution error with Go's full text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExecError(pub String);

/// The node an error is reported at (Go's `state.node`).
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Arg(&'a Arg),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Template(usize, &'a Node),
}

impl At<'_> {
    fn pos_and_text(&self) -> Option<(usize, String)> {
        match self {
            At::None => None,
            At::Arg(a) => Some((a.pos(), a.to_string())),
            At::Pipe(p) => Some((p.pos, p.to_string())),
            At::Cmd(c) => Some((c.pos, c.to_string())),
            At::Template(pos, n) => Some((*pos, n.to_string())),
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, ExecError>;

/// A parsed template set, ready to execute.
pub struct Program<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub trees: &'a TreeSet,
    pub funcs: &'a FuncMap,
    /// The step budget ([`MAX_STEPS`] unless a test sets a smaller one).
    pub max_steps: u64,
}

struct State<'a> {
    prog: &'a Program<'a>,
    /// The name of the template executing (Go's `s.tmpl.Name()`).
    tmpl: &'a str,
    out: String,
    vars: Vec<(&'a str, Rv)>,
    node: At<'a>,
    depth: usize,
    frames: usize,
    steps: u64,
}

impl<'a> State<'a> {
    fn at(&mut self, a: At<'a>) {
        self.node = a;
    }

    fn errorf<T>(&self, msg: impl std::fmt::Display) -> R<T> {
        Err(match self.node.pos_and_text() {
            None => ExecError(format!("template: {}: {msg}", self.tmpl)),
            Some((pos, context)) => {
                let before = &self.prog.text[..pos.min(self.prog.text.len())];
                let (line, col) = match before.rfind('\n') {
                    Some(i) => (1 + before.matches('\n').count(), pos - i - 1),
                    None => (1, pos),
                };
                ExecError(format!(
                    "template: {}:{line}:{col}: executing {} at <{context}>: {msg}",
                    self.prog.name,
                    fmt::quote(self.tmpl)
                ))
            }
        })
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.prog.max_steps {
            let max = self.prog.max_steps;
            return self.errorf(format!("template execution took more than {max} steps"));
        }
        Ok(())
    }

    /// Runs `f` one frame deeper, refusing to nest more than [`MAX_FRAMES`] lists and pipelines.
    fn enter<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        if self.frames >= MAX_FRAMES {
            return self.errorf(format!(
                "template execution nested deeper than {MAX_FRAMES} lists and pipelines"
            ));
        }
        self.frames += 1;
        let r = f(self);
        self.frames -= 1;
        r
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > MAX_OUTPUT {
            return self.errorf(format!("template output larger than {MAX_OUTPUT} bytes"));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn var_value(&self, name: &str) -> R<Rv> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: Rv) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn walk_list(&mut self, dot: &Rv, list: &'a [Node]) -> R<Flow> {
        self.enter(|s| {
            for n in list {
                match s.walk(dot, n)? {
                    Flow::Normal => {}
                    other => return Ok(other),
                }
            }
            Ok(Flow::Normal)
        })
    }

    fn walk(&mut self, dot: &Rv, node: &'a Node) -> R<Flow> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(t)?,
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let text = if v.is_valid() {
                        fmt::sprint(std::slice::from_ref(&v.v))
                    } else {
                        "<no value>".to_string()
                    };
                    self.write(&text)?;
                }
            }
            Node::If(b) => return self.walk_if_or_with(false, dot, b),
            Node::With(b) => return self.walk_if_or_with(true, dot, b),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template { pos, name, pipe } => {
                self.walk_template(dot, *pos, node, name, pipe)?
            }
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Rv, b: &'a Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.v.truth() {
                if with {
                    self.walk_list(&val, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Rv, b: &'a Branch) -> R<Flow> {
        let mark0 = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark0);
        r.map(|_| Flow::Normal)
    }

    fn walk_range_inner(&mut self, dot: &Rv, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let items: Vec<(Rv, Rv)> = match &val.v {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, e)| (Rv::concrete(Value::Int(i as i64)), Rv::boxed(e.clone())))
                .collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, e)| (Rv::concrete(Value::String(k.clone())), Rv::boxed(e.clone())))
                .collect(),
            Value::Nil if !val.iface => Vec::new(),
            other => {
                let shown = fmt::sprint(std::slice::from_ref(other));
                return self.errorf(format!("range can't iterate over {shown}"));
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                self.walk_list(dot, e)?;
            }
            return Ok(());
        }
        let n = b.pipe.decl.len();
        for (index, elem) in items {
            if n > 0 {
                let at = self.vars.len() - 1;
                self.vars[at].1 = elem.clone();
            }
            if n > 1 {
                let at = self.vars.len() - 2;
                self.vars[at].1 = index;
            }
            let flow = self.walk_list(&elem, &b.list);
            self.vars.truncate(mark);
            match flow? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Rv,
        pos: usize,
        node: &'a Node,
        name: &'a str,
        pipe: &'a Option<Pipe>,
    ) -> R<()> {
        self.at(At::Template(pos, node));
        let Some((tname, tree)) = self.prog.trees.get_key_value(name) else {
            return self.errorf(format!("template {} not defined", fmt::quote(name)));
        };
        if self.depth >= MAX_DEPTH {
            return self.errorf(format!("exceeded maximum template depth ({MAX_DEPTH})"));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Rv::INVALID,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let saved_tmpl = std::mem::replace(&mut self.tmpl, tname.as_str());
        self.depth += 1;
        let r = self.walk_list(&new_dot, tree);
        self.depth -= 1;
        self.vars = saved_vars;
        self.tmpl = saved_tmpl;
        r.map(|_| ())
    }

    fn eval_pipeline(&mut self, dot: &Rv, pipe: &'a Pipe) -> R<Rv> {
        self.enter(|s| s.eval_pipeline_inner(dot, pipe))
    }

    fn eval_pipeline_inner(&mut self, dot: &Rv, pipe: &'a Pipe) -> R<Rv> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Rv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value)?;
            value = Some(v.unboxed());
        }
        let value = value.unwrap_or(Rv::INVALID);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Rv>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Rv, cmd: &'a Command, fin: Option<Rv>) -> R<Rv> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, ident, Some(&cmd.args), fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, Some(&cmd.args), fin),
            Arg::Identifier(_, name) => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), Some(&cmd.args), fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, Some(&cmd.args), fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool(_, b) => Ok(Rv::concrete(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => self.errorf("nil is not a command"),
            Arg::Number(_, n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(Rv::concrete(Value::str(text))),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                fmt::quote(&first.to_string())
            )),
        }
    }

    fn ideal_constant(&mut self, node: &'a Arg, n: &Number) -> R<Rv> {
        self.at(At::Arg(node));
        let hex_int = n.text.len() > 2
            && n.text.starts_with('0')
            && matches!(n.text.as_bytes()[1], b'x' | b'X')
            && !n.text.contains(['p', 'P']);
        let rune_int = n.text.starts_with('\'');
        if n.is_complex {
            return self.errorf(format!("complex constant {} is not supported", n.text));
        }
        if n.is_float && !hex_int && !rune_int && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Rv::concrete(Value::Float(n.float)));
        }
        if n.is_int {
            return Ok(Rv::concrete(Value::Int(n.int)));
        }
        if n.is_uint {
            return self.errorf(format!("{} overflows int", n.text));
        }
        Ok(Rv::INVALID)
    }

    fn eval_chain(
        &mut self,
        dot: &Rv,
        chain: &'a Arg,
        args: Option<&'a [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return self.errorf("internal error: not a chain");
        };
        if let Arg::Nil(_) = node.as_ref() {
            return self.errorf(format!("indirection through explicit nil in {chain}"));
        }
        let pipe = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, pipe, chain, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Rv,
        var: &'a Arg,
        args: Option<&'a [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(var));
        let Arg::Variable { ident, .. } = var else {
            return self.errorf("internal error: not a variable");
        };
        let value = self.var_value(&ident[0])?;
        if ident.len() == 1 {
            if let Some(args) = args {
                self.not_a_function(args, &fin)?;
            } else if fin.is_some() {
                self.not_a_function(std::slice::from_ref(var), &fin)?;
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Rv,
        mut receiver: Rv,
        node: &'a Arg,
        ident: &'a [String],
        args: Option<&'a [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(dot, name, node, None, None, receiver)?;
        }
        self.eval_field(dot, &ident[n - 1], node, args, fin, receiver)
    }

    fn eval_function(
        &mut self,
        dot: &Rv,
        node: &'a Arg,
        name: &'a str,
        cmd: At<'a>,
        args: Option<&'a [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        let Some(f) = self.prog.funcs.get(name) else {
            return self.errorf(format!("{} is not a defined function", fmt::quote(name)));
        };
        self.eval_call(dot, f, cmd, name, args, fin)
    }

    fn eval_field(
        &mut self,
        dot: &Rv,
        name: &'a str,
        node: &'a Arg,
        args: Option<&'a [Arg]>,
        fin: Option<Rv>,
        receiver: Rv,
    ) -> R<Rv> {
        if !receiver.is_valid() {
            return self.errorf(format!("nil data; no entry for key {}", fmt::quote(name)));
        }
        let typ = receiver.type_name();
        if receiver.iface && receiver.v == Value::Nil {
            return self.errorf(format!("nil pointer evaluating {typ}.{name}"));
        }
        if let Value::Time(t) = &receiver.v
            && let Some(method) = super::builtins::time_method(name, *t)
        {
            return self.eval_call(dot, &method, At::Arg(node), name, args, fin);
        }
        let has_args = args.is_some_and(|a| a.len() > 1) || fin.is_some();
        if let Value::Map(m) = &receiver.v {
            if has_args {
                return self.errorf(format!("{name} is not a method but has arguments"));
            }
            return match m.get(name) {
                Some(v) => Ok(Rv::boxed(v.clone())),
                None => self.errorf(format!("map has no entry for key {}", fmt::quote(name))),
            };
        }
        self.errorf(format!("can't evaluate field {name} in type {typ}"))
    }

    fn eval_call(
        &mut self,
        dot: &Rv,
        f: &Func,
        node: At<'a>,
        name: &str,
        args: Option<&'a [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        let args: &'a [Arg] = match args {
            Some(a) if !a.is_empty() => &a[1..],
            _ => &[],
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let mut num_fixed = args.len();
        if f.variadic.is_some() {
            num_fixed = f.params.len();
            if num_in < num_fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    f.params.len(),
                    args.len()
                ));
            }
        } else if num_in != f.params.len() {
            return self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                f.params.len()
            ));
        }
        if f.builtin && (name == "and" || name == "or") {
            let mut v = Rv::INVALID;
            for a in args {
                v = self.eval_arg(dot, Some(Ty::Reflect), a)?;
                if v.v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(fin) = fin {
                v = self.validate_type(fin, Some(Ty::Reflect))?;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(f.params[i]), &args[i])?);
            i += 1;
        }
        if let Some(vt) = f.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        if let Some(fin) = fin {
            let t = match f.variadic {
                Some(vt) => {
                    if num_in - 1 < num_fixed {
                        f.params[num_in - 1]
                    } else {
                        vt
                    }
                }
                None => f.params[f.num_in() - 1],
            };
            argv.push(self.validate_type(fin, Some(t))?);
        }
        match (f.call)(&argv) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(node);
                self.errorf(format!("error calling {name}: {e}"))
            }
        }
    }

    fn validate_type(&self, value: Rv, typ: Option<Ty>) -> R<Rv> {
        if !value.is_valid() {
            return match typ {
                None | Some(Ty::Reflect) => Ok(Rv::INVALID),
                Some(Ty::Any) => Ok(Rv::boxed(Value::Nil)),
                Some(t) => self.errorf(format!("invalid value; expected {}", t.name())),
            };
        }
        let Some(t) = typ else {
            return Ok(value);
        };
        if matches!(t, Ty::Reflect | Ty::Any) {
            return Ok(value);
        }
        if !value.iface && t.holds(&value.v) {
            return Ok(value);
        }
        if value.iface && value.v != Value::Nil {
            let inner = value.unboxed();
            if t.holds(&inner.v) {
                return Ok(inner);
            }
            return self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                t.name(),
                inner.type_name()
            ));
        }
        self.errorf(format!(
            "wrong type for value; expected {}; got {}",
            t.name(),
            value.type_name()
        ))
    }

    fn eval_arg(&mut self, dot: &Rv, typ: Option<Ty>, n: &'a Arg) -> R<Rv> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot(_) => return self.validate_type(dot.clone(), typ),
            Arg::Nil(_) => {
                return match typ {
                    Some(Ty::Any) => Ok(Rv::boxed(Value::Nil)),
                    Some(Ty::Reflect) | None => Ok(Rv::INVALID),
                    Some(t) => self.errorf(format!("cannot assign nil to {}", t.name())),
                };
            }
            Arg::Field { ident, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    ident,
                    Some(std::slice::from_ref(n)),
                    None,
                )?;
                return self.validate_type(v, typ);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, n, None, None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier(_, name) => {
                let v = self.eval_function(dot, n, name, At::Arg(n), None, None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, None, None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        let Some(typ) = typ else {
            return self.errorf(format!("can't handle {n} for arg of type <nil>"));
        };
        match (typ, n) {
            (Ty::Bool, Arg::Bool(_, b)) => Ok(Rv::concrete(Value::Bool(*b))),
            (Ty::Bool, _) => self.errorf(format!("expected bool; found {n}")),
            (Ty::Float, Arg::Number(_, num)) if num.is_float => {
                Ok(Rv::concrete(Value::Float(num.float)))
            }
            (Ty::Float, _) => self.errorf(format!("expected float; found {n}")),
            (Ty::Int, Arg::Number(_, num)) if num.is_int => Ok(Rv::concrete(Value::Int(num.int))),
            (Ty::Int64, Arg::Number(_, num)) if num.is_int => {
                Ok(Rv::concrete(Value::Int64(num.int)))
            }
            (Ty::Int | Ty::Int64, _) => self.errorf(format!("expected integer; found {n}")),
            (Ty::Str, Arg::String { text, .. }) => Ok(Rv::concrete(Value::str(text))),
            (Ty::Str, _) => self.errorf(format!("expected string; found {n}")),
            (Ty::Any | Ty::Reflect, _) => self.eval_empty_interface(n),
            (Ty::Time, _) => self.errorf(format!("can't handle {n} for arg of type time.Time")),
        }
    }

    fn eval_empty_interface(&mut self, n: &'a Arg) -> R<Rv> {
        self.at(At::Arg(n));
        match n {
            Arg::Bool(_, b) => Ok(Rv::concrete(Value::Bool(*b))),
            Arg::Number(_, num) => self.ideal_constant(n, num),
            Arg::String { text, .. } => Ok(Rv::concrete(Value::str(text))),
            _ => self.errorf(format!(
                "can't handle assignment of {n} to empty interface argument"
            )),
        }
    }
}

impl Program<'_> {
    /// Executes the template `name` of the set with `data` as dot.
    pub fn execute(&self, data: Value) -> Result<String, ExecError> {
        let Some((tname, root)) = self.trees.get_key_value(self.name) else {
            return Err(ExecError(format!(
                "template: {}: {} is an incomplete or empty template",
                self.name,
                fmt::quote(self.name)
            )));
        };
        let dot = if data == Value::Nil {
            Rv::INVALID
        } else {
            Rv::concrete(data)
        };
        let mut s = State {
            prog: self,
            tmpl: tname,
            out: String::new(),
            vars: vec![("$", dot.clone())],
            node: At::None,
            depth: 0,
            frames: 0,
            steps: 0,
        };
        s.walk_list(&dot, root)?;
        Ok(s.out)
    }
}

#[cfg(test)]
mod bounds {
    use super::super::{Compiled, FuncMap, Value, func_map, parse::MAX_NESTING};
    use super::{ExecError, MAX_DEPTH, MAX_FRAMES, MAX_OUTPUT};
    use std::collections::BTreeMap;

    /// Runs `f` on a thread with a tokio worker's stack (2 MiB), where a render runs in serve.
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("the render overflowed its stack")
    }

    /// Parse errors as their text, like execution errors.
    fn compile(text: &str) -> Result<Compiled, ExecError> {
        Compiled::parse("template", text, func_map(FuncMap::new()))
            .map_err(|e| ExecError(e.to_string()))
    }

    fn render(text: &str, data: Value) -> Result<String, ExecError> {
        compile(text)?.execute(&data)
    }

    #[test]
    fn recursive_template_calls_stop_at_the_depth_bound() {
        let err = on_worker_stack(|| {
            render(
                r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#,
                Value::Nil,
            )
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(&format!("exceeded maximum template depth ({MAX_DEPTH})")),
            "{err}"
        );
    }

    #[test]
    fn nested_lists_across_template_calls_stop_at_the_frame_bound() {
        // Each call opens six lists and pipelines, so the frame bound is reached before the depth
        // bound.
        let body =
            "{{if 1}}{{if 1}}{{if 1}}{{if 1}}{{template \"r\" .}}{{end}}{{end}}{{end}}{{end}}";
        let text = format!(r#"{{{{define "r"}}}}{body}{{{{end}}}}{{{{template "r" .}}}}"#);
        let err = on_worker_stack(move || render(&text, Value::Nil))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!(
                "nested deeper than {MAX_FRAMES} lists and pipelines"
            )),
            "{err}"
        );
    }

    #[test]
    fn parse_refuses_nesting_past_the_bound_and_accepts_it_up_to_the_bound() {
        let parens = |n: usize| format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
        let ifs = |n: usize| format!("{}x{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
        for make in [&parens as &dyn Fn(usize) -> String, &ifs] {
            let ok = make(MAX_NESTING);
            let deep = make(MAX_NESTING + 1);
            let (ok, deep) = on_worker_stack(move || {
                (render(&ok, Value::Nil), compile(&deep).err().map(|e| e.0))
            });
            assert!(ok.is_ok(), "{ok:?}");
            assert_eq!(
                deep.as_deref(),
                Some(
                    format!("template: template:1: template nesting deeper than {MAX_NESTING}")
                        .as_str()
                )
            );
        }
        // A definition is a level too: the same ifs inside one go one past the bound.
        let defines = format!("{{{{define \"d\"}}}}{}{{{{end}}}}", ifs(MAX_NESTING));
        let err = on_worker_stack(move || compile(&defines).err().expect("nesting refused").0);
        assert!(
            err.ends_with(&format!("nesting deeper than {MAX_NESTING}")),
            "{err}"
        );
    }

    #[test]
    fn output_stops_at_the_size_bound() {
        let mut data = BTreeMap::new();
        data.insert("s".into(), Value::str(&"x".repeat(1 << 20)));
        data.insert("l".into(), Value::List(vec![Value::Nil; 20].into()));
        let err = render("{{range .l}}{{$.s}}{{end}}", Value::Map(data.into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!("template output larger than {MAX_OUTPUT} bytes")),
            "{err}"
        );
    }

    #[test]
    fn execution_stops_at_the_step_budget() {
        let list = Value::List(vec![Value::Nil; 2_000].into());
        let t = compile("{{range .}}x{{end}}").unwrap();
        assert_eq!(t.execute_bounded(&list, 10_000).map(|s| s.len()), Ok(2_000));
        let err = t.execute_bounded(&list, 1_000).unwrap_err().to_string();
        assert!(
            err.ends_with("template execution took more than 1000 steps"),
            "{err}"
        );
    }
}
