//! Rows and expression evaluation.

use crate::ast::*;
use crate::functions::{self, Env};
use crate::value::{loose_cmp, loose_eq, text_of, Value};
use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Debug, Default)]
pub struct Row {
    pub ts: i64,
    pub ptr: String,
    pub fields: Vec<(String, Value)>,
    /// Strings of a recycled row, reused for the next record's fields (see [`Row::recycle`]).
    spare: Vec<String>,
}

impl Clone for Row {
    fn clone(&self) -> Row {
        Row {
            ts: self.ts,
            ptr: self.ptr.clone(),
            fields: self.fields.clone(),
            spare: Vec::new(),
        }
    }
}

/// A recycled row keeps at most this many spare strings.
const MAX_SPARE: usize = 64;

impl Row {
    pub fn new(ts: i64, ptr: String, fields: Vec<(String, Value)>) -> Row {
        Row {
            ts,
            ptr,
            fields,
            spare: Vec::new(),
        }
    }

    /// Empty the row, keeping its strings' buffers for the next fill.
    pub fn recycle(&mut self) {
        for (k, v) in self.fields.drain(..) {
            if self.spare.len() < MAX_SPARE {
                self.spare.push(k);
                if let Value::Str(s) = v {
                    self.spare.push(s);
                }
            }
        }
    }

    fn string(&mut self, s: &str) -> String {
        let mut x = self.spare.pop().unwrap_or_default();
        x.clear();
        x.push_str(s);
        x
    }

    /// Append a field (reusing a spare buffer for its name).
    pub fn push(&mut self, name: &str, v: Value) {
        let k = self.string(name);
        self.fields.push((k, v));
    }

    /// Append a string field, reusing spare buffers.
    pub fn push_str(&mut self, name: &str, v: &str) {
        let v = self.string(v);
        self.push(name, Value::Str(v));
    }

    /// `set(name, Value::Str(v))` without allocating when a buffer can be reused.
    pub fn set_str(&mut self, name: &str, v: &str) {
        if let Some(i) = self.fields.iter().position(|(k, _)| k == name) {
            if let Value::Str(s) = &mut self.fields[i].1 {
                s.clear();
                s.push_str(v);
            } else {
                let v = self.string(v);
                self.fields[i].1 = Value::Str(v);
            }
        } else {
            self.push_str(name, v);
        }
    }

    /// The field stored under exactly this name (the last one), if any.
    #[inline]
    pub fn get_ref(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn get(&self, name: &str) -> Value {
        if let Some(v) = self.get_ref(name) {
            return v.clone();
        }
        // `m.key.sub` / `list.0` navigation into jsonParse values
        let mut idx = name.len();
        while let Some(p) = name[..idx].rfind('.') {
            if let Some((_, base @ (Value::Map(_) | Value::List(_)))) =
                self.fields.iter().rev().find(|(k, _)| k == &name[..p])
            {
                let mut cur = base.clone();
                for seg in name[p + 1..].split('.') {
                    cur = index(&cur, &Value::Str(seg.to_string()));
                }
                return cur;
            }
            idx = p;
        }
        Value::Null
    }
    pub fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| k == name) {
            slot.1 = v;
        } else {
            self.fields.push((name.to_string(), v));
        }
    }
}

fn index(base: &Value, i: &Value) -> Value {
    match base {
        Value::List(l) => i
            .as_num()
            .and_then(|n| l.get(n as usize))
            .cloned()
            .unwrap_or(Value::Null),
        Value::Map(m) => {
            let k = i.render();
            m.iter()
                .find(|(x, _)| *x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

pub struct Evaluator<'a> {
    pub env: &'a Env,
    pub aggs: &'a [Value],
    pub bin_offset: i64,
}

/// How deep lambdas may nest, and how many times the bodies of one outermost call may run.
const LAMBDA_NESTING: usize = 8;
const LAMBDA_BUDGET_START: usize = 1_000_000;

thread_local! {
    static LAMBDA_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static LAMBDA_BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The size of the values a lambda has produced so far, against
/// [`functions::MAX_BUILT_VALUE`].
#[derive(Default)]
struct Size(usize);

impl Size {
    /// Counts one more value: false once the total passes the limit.
    fn add(&mut self, v: &Value) -> bool {
        self.0 = self.0.saturating_add(functions::weight(v));
        self.0 <= functions::MAX_BUILT_VALUE
    }
}

impl Evaluator<'_> {
    /// SQL's higher-order functions over an array, their lambda's body evaluated per element
    /// with its parameters set as the hidden fields the call names:
    /// `ppl_transform(a, body, x[, i])`, `ppl_filter(a, body, x[, i])`, `ppl_exists(a, body,
    /// x)`, `ppl_forall(a, body, x)`, `ppl_aggregate(a, start, merge, acc, x[, finish, acc])`.
    /// `exists`/`forall` are three-valued as Spark's (a NULL body makes an undecided answer
    /// NULL).
    fn higher_order(&self, name: &str, args: &[Expr], row: &Row) -> Value {
        // Lambdas nest at most LAMBDA_NESTING deep, and the outermost call's bodies (nested
        // ones' included) run at most LAMBDA_BUDGET times in all; past either, NULL.
        let depth = LAMBDA_DEPTH.with(|d| d.get());
        if depth >= LAMBDA_NESTING {
            return Value::Null;
        }
        if depth == 0 {
            LAMBDA_BUDGET.with(|b| b.set(LAMBDA_BUDGET_START));
            functions::REFUSED.with(|r| r.set(false));
        }
        // (Restored on the way out, a panic's unwinding included: threads run many queries.)
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                LAMBDA_DEPTH.with(|d| d.set(self.0));
            }
        }
        let _restore = Restore(depth);
        LAMBDA_DEPTH.with(|d| d.set(depth + 1));
        let v = self.higher_order_call(name, args, row);
        // (A result past the sizes a built value may have is NULL too.)
        if LAMBDA_BUDGET.with(|b| b.get()) == 0
            || functions::REFUSED.with(|r| r.get())
            || !functions::buildable(std::iter::once(&v))
        {
            return Value::Null;
        }
        v
    }

    /// One lambda body's evaluation, counted against the budget (`None` once it is spent).
    fn body(&self, body: &Expr, row: &Row) -> Option<Value> {
        let left = LAMBDA_BUDGET.with(|b| {
            let n = b.get();
            b.set(n.saturating_sub(1));
            n
        });
        (left > 0).then(|| self.eval(body, row))
    }

    fn higher_order_call(&self, name: &str, args: &[Expr], row: &Row) -> Value {
        let param = |i: usize| match args.get(i) {
            Some(Expr::Str(s)) => Some(s.as_str()),
            _ => None,
        };
        // Over a map's entries: `ppl_map_filter(m, body, k, v)`, `ppl_transform_values`,
        // `ppl_transform_keys` (a key that is no text, or NULL, makes the map NULL).
        if matches!(
            name,
            "ppl_map_filter" | "ppl_transform_values" | "ppl_transform_keys"
        ) {
            let (Value::Map(m), Some(k), Some(v)) = (self.eval(&args[0], row), param(2), param(3))
            else {
                return Value::Null;
            };
            let mut r = row.clone();
            let mut out: Vec<(String, Value)> = Vec::new();
            let mut size = Size::default();
            for (key, val) in m {
                r.set(k, Value::Str(key.clone()));
                r.set(v, val.clone());
                let Some(x) = self.body(&args[1], &r) else {
                    return Value::Null;
                };
                if !size.add(&x) {
                    return Value::Null;
                }
                match name {
                    "ppl_map_filter" if x.truthy() => out.push((key, val)),
                    "ppl_transform_values" => out.push((key, x)),
                    "ppl_transform_keys" => match crate::value::text_of(&x) {
                        Some(t) => out.push((t.into_owned(), val)),
                        None => return Value::Null,
                    },
                    _ => {}
                }
            }
            return Value::Map(out);
        }
        let Some(items) = functions::list_of(&self.eval(&args[0], row)) else {
            return Value::Null;
        };
        let mut r = row.clone();
        // `ppl_zip_with(a, b, body, x, y)`: the shorter array padded with NULLs.
        if name == "ppl_zip_with" {
            let (Some(others), Some(x), Some(y)) = (
                functions::list_of(&self.eval(&args[1], row)),
                param(3),
                param(4),
            ) else {
                return Value::Null;
            };
            let n = items.len().max(others.len());
            let mut out = Vec::with_capacity(n);
            let mut size = Size::default();
            for i in 0..n {
                r.set(x, items.get(i).cloned().unwrap_or(Value::Null));
                r.set(y, others.get(i).cloned().unwrap_or(Value::Null));
                let Some(v) = self.body(&args[2], &r) else {
                    return Value::Null;
                };
                if !size.add(&v) {
                    return Value::Null;
                }
                out.push(v);
            }
            return Value::List(out);
        }
        match name {
            // `array_sort(a, (l, r) -> …)`: the body's number orders two elements (negative: `l`
            // first). A stable merge sort, each comparison a body's evaluation; a comparison
            // that is no number makes the call NULL (Spark fails the query).
            "ppl_array_sort_by" => {
                let (Some(l), Some(rn)) = (param(2), param(3)) else {
                    return Value::Null;
                };
                let mut before = |a: &Value, b: &Value| -> Option<bool> {
                    r.set(l, a.clone());
                    r.set(rn, b.clone());
                    // (`b` goes first only when the body says it comes strictly before `a`.)
                    Some(self.body(&args[1], &r)?.as_num()? > 0.0)
                };
                match merge_sort(items, &mut before) {
                    Some(sorted) => Value::List(sorted),
                    None => Value::Null,
                }
            }
            "ppl_aggregate" => {
                let (Some(acc), Some(x)) = (param(3), param(4)) else {
                    return Value::Null;
                };
                let mut v = self.eval(&args[1], row);
                for it in items {
                    r.set(acc, v);
                    r.set(x, it);
                    let Some(next) = self.body(&args[2], &r) else {
                        return Value::Null;
                    };
                    v = next;
                }
                match (args.get(5), param(6)) {
                    (Some(finish), Some(acc)) => {
                        r.set(acc, v);
                        self.body(finish, &r).unwrap_or(Value::Null)
                    }
                    _ => v,
                }
            }
            _ => {
                let Some(x) = param(2) else {
                    return Value::Null;
                };
                let index = param(3);
                let mut out = Vec::new();
                let mut unknown = false;
                let mut size = Size::default();
                for (i, it) in items.into_iter().enumerate() {
                    r.set(x, it.clone());
                    if let Some(n) = index {
                        r.set(n, Value::Num(i as f64));
                    }
                    let Some(v) = self.body(&args[1], &r) else {
                        return Value::Null;
                    };
                    match name {
                        "ppl_transform" if !size.add(&v) => return Value::Null,
                        "ppl_transform" => out.push(v),
                        "ppl_filter" if v.truthy() => out.push(it),
                        "ppl_exists" if v.is_null() => unknown = true,
                        "ppl_exists" if v.truthy() => return Value::Bool(true),
                        "ppl_forall" if v.is_null() => unknown = true,
                        "ppl_forall" if !v.truthy() => return Value::Bool(false),
                        _ => {}
                    }
                }
                match name {
                    "ppl_exists" | "ppl_forall" if unknown => Value::Null,
                    "ppl_exists" => Value::Bool(false),
                    "ppl_forall" => Value::Bool(true),
                    _ => Value::List(out),
                }
            }
        }
    }

    /// [`Evaluator::eval`], borrowing a field's value from the row instead of copying it.
    #[inline]
    pub fn eval_ref<'r>(&self, e: &Expr, row: &'r Row) -> Cow<'r, Value> {
        if let Expr::Field(f) = e {
            if let Some(v) = row.get_ref(f) {
                return Cow::Borrowed(v);
            }
        }
        Cow::Owned(self.eval(e, row))
    }

    pub fn eval(&self, e: &Expr, row: &Row) -> Value {
        match e {
            Expr::Field(f) => row.get(f),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Num(n) => Value::Num(*n),
            Expr::Regex(r) => Value::Str(r.re.as_str().to_string()),
            Expr::Dur(n, u) => Value::Num((*n * functions::unit_ms(*u)) as f64),
            Expr::Star => Value::Null,
            Expr::List(l) => Value::List(l.iter().map(|x| self.eval(x, row)).collect()),
            Expr::AggRef(i) => self.aggs.get(*i).cloned().unwrap_or(Value::Null),
            Expr::Neg(a) => self
                .eval(a, row)
                .as_num()
                .map(|n| Value::Num(-n))
                .unwrap_or(Value::Null),
            Expr::Not(a) => Value::Bool(!self.eval(a, row).truthy()),
            Expr::Index(a, i) => index(&self.eval(a, row), &self.eval(i, row)),
            Expr::Bin(op, a, b) => self.binop(*op, a, b, row),
            Expr::Like { expr, pat, negated } => {
                let v = self.eval_ref(expr, row);
                let Some(s) = text_of(&v) else {
                    return Value::Bool(false);
                };
                let m = match &**pat {
                    Expr::Regex(r) => r.re.is_match(&s),
                    Expr::Str(sub) => s.contains(sub.as_str()),
                    p => match self.eval(p, row).as_str() {
                        Some(sub) => s.contains(&sub),
                        None => return Value::Bool(false),
                    },
                };
                Value::Bool(m != *negated)
            }
            Expr::In {
                expr,
                list,
                negated,
            } => {
                let v = self.eval_ref(expr, row);
                if v.is_null() {
                    return Value::Bool(false);
                }
                let found = list
                    .iter()
                    .any(|x| loose_eq(&v, &self.eval(x, row)) == Some(true));
                Value::Bool(found != *negated)
            }
            Expr::InSub {
                expr, set, negated, ..
            } => {
                let v = self.eval_ref(expr, row);
                if v.is_null() {
                    return Value::Bool(false);
                }
                // (The set holds the keys of the subquery's rendered values: a time or a
                // boolean compares by its text too.)
                let found = set.as_ref().is_some_and(|s| s.contains(&v.text_key()));
                Value::Bool(found != *negated)
            }
            Expr::Call { name, args, text } => {
                // A column produced by stats (e.g. `count(*)`, `bin(5m)`) is referenced by its text.
                if let Some((_, v)) = row.fields.iter().rev().find(|(k, _)| k == text) {
                    return v.clone();
                }
                match name.as_str() {
                    "bin" | "datefloor" | "dateceil" => self.period_fn(name, args, row),
                    "ppl_transform"
                    | "ppl_filter"
                    | "ppl_exists"
                    | "ppl_forall"
                    | "ppl_aggregate"
                    | "ppl_zip_with"
                    | "ppl_array_sort_by"
                    | "ppl_map_filter"
                    | "ppl_transform_values"
                    | "ppl_transform_keys" => self.higher_order(name, args, row),
                    "regexreplace" => {
                        let mut vals: Vec<Value> = args.iter().map(|a| self.eval(a, row)).collect();
                        if let Some(Expr::Regex(r)) = args.get(1) {
                            let (Some(s), Some(rep)) = (vals[0].as_str(), vals[2].as_str()) else {
                                return Value::Null;
                            };
                            return Value::Str(r.re.replace_all(&s, rep.as_str()).into_owned());
                        }
                        vals.truncate(3);
                        functions::call(name, &vals, self.env)
                    }
                    _ => {
                        let vals: Vec<Value> = args.iter().map(|a| self.eval(a, row)).collect();
                        functions::call(name, &vals, self.env)
                    }
                }
            }
        }
    }

    fn period_fn(&self, name: &str, args: &[Expr], row: &Row) -> Value {
        let (ts, period) = if name == "bin" {
            (Some(row.ts), args.first())
        } else {
            (
                self.eval(&args[0], row).as_num().map(|n| n as i64),
                args.get(1),
            )
        };
        let Some(ts) = ts else { return Value::Null };
        let (n, u) = match period {
            Some(Expr::Dur(n, u)) => (*n, *u),
            _ => return Value::Null,
        };
        let off = if name == "bin" { self.bin_offset } else { 0 };
        Value::Time(match name {
            "dateceil" => functions::ceil_period(ts, n, u),
            _ => functions::floor_period(ts - off, n, u) + off,
        })
    }

    fn binop(&self, op: BinOp, a: &Expr, b: &Expr, row: &Row) -> Value {
        match op {
            BinOp::And => {
                return Value::Bool(self.eval(a, row).truthy() && self.eval(b, row).truthy())
            }
            BinOp::Or => {
                return Value::Bool(self.eval(a, row).truthy() || self.eval(b, row).truthy())
            }
            _ => {}
        }
        let (x, y) = (self.eval_ref(a, row), self.eval_ref(b, row));
        let (x, y) = (&*x, &*y);
        let cmp = |f: fn(Ordering) -> bool| Value::Bool(loose_cmp(x, y).is_some_and(f));
        match op {
            BinOp::Eq => Value::Bool(loose_eq(x, y) == Some(true)),
            BinOp::Ne => Value::Bool(loose_eq(x, y) == Some(false)),
            BinOp::Lt => cmp(|o| o == Ordering::Less),
            BinOp::Le => cmp(|o| o != Ordering::Greater),
            BinOp::Gt => cmp(|o| o == Ordering::Greater),
            BinOp::Ge => cmp(|o| o != Ordering::Less),
            _ => {
                let (Some(p), Some(q)) = (x.as_num(), y.as_num()) else {
                    return Value::Null;
                };
                let r = match op {
                    BinOp::Add => p + q,
                    BinOp::Sub => p - q,
                    BinOp::Mul => p * q,
                    BinOp::Div if q != 0.0 => p / q,
                    BinOp::Mod if q != 0.0 => p % q,
                    BinOp::Pow => p.powf(q),
                    _ => return Value::Null,
                };
                if !r.is_finite() {
                    return Value::Null;
                }
                match (x, y, op) {
                    (Value::Time(_), Value::Num(_), BinOp::Add | BinOp::Sub) => {
                        Value::Time(r as i64)
                    }
                    _ => Value::Num(r),
                }
            }
        }
    }
}

/// A stable merge sort of `items` by `b_first(a, b)` (whether `b` goes before `a`, `a` coming
/// earlier); `None` when a comparison fails. Whatever the answers, it ends without panicking
/// (the standard sorts may panic on a comparison that is no total order).
fn merge_sort(
    items: Vec<Value>,
    b_first: &mut impl FnMut(&Value, &Value) -> Option<bool>,
) -> Option<Vec<Value>> {
    if items.len() <= 1 {
        return Some(items);
    }
    let mut items = items;
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, b_first)?;
    let right = merge_sort(right, b_first)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut li, mut ri) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (li.peek(), ri.peek()) {
        if b_first(a, b)? {
            out.extend(ri.next());
        } else {
            out.extend(li.next());
        }
    }
    out.extend(li);
    out.extend(ri);
    Some(out)
}
