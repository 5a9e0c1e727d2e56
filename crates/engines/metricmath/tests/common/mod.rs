//! Shared table-test helpers: series written as `"30 - 20"` on a 60-second grid starting at
//! 2024-01-01T00:00:00Z (a Monday), `-` marking a missing point.
#![allow(dead_code)]

use std::collections::HashMap;

use nephoscope_metricmath::{parse, EvalContext, MathError, MathValue, Series};

pub const T0: i64 = 1_704_067_200;
pub const PERIOD: i64 = 60;

/// Parses `"1 - 3"` into a series labelled `label` on the grid.
pub fn series(label: &str, spec: &str) -> Series {
    let mut s = Series::empty(label);
    for (i, word) in spec.split_whitespace().enumerate() {
        if word != "-" {
            s.timestamps.push(T0 + i as i64 * PERIOD);
            s.values
                .push(word.parse().unwrap_or_else(|_| panic!("bad value {word}")));
        }
    }
    s
}

/// Renders a series on the grid of `n` slots (points off the grid are shown as `@ts=v`).
pub fn render_series(s: &Series, n: usize) -> String {
    assert_eq!(s.timestamps.len(), s.values.len(), "ragged series");
    assert!(
        s.timestamps.windows(2).all(|w| w[0] < w[1]),
        "timestamps not ascending: {s:?}"
    );
    assert!(
        s.values.iter().all(|v| v.is_finite()),
        "non-finite value in {s:?}"
    );
    let mut slots = vec!["-".to_string(); n];
    let mut extra = Vec::new();
    for (t, v) in s.timestamps.iter().zip(&s.values) {
        let off = t - T0;
        if off >= 0 && off % PERIOD == 0 && ((off / PERIOD) as usize) < n {
            slots[(off / PERIOD) as usize] = fmt(*v);
        } else {
            extra.push(format!("@{t}={}", fmt(*v)));
        }
    }
    slots.extend(extra);
    slots.join(" ")
}

fn fmt(v: f64) -> String {
    let r = (v * 1e9).round() / 1e9;
    if r == 0.0 {
        "0".into()
    } else {
        format!("{r}")
    }
}

/// `S:x`, `a b c` for a series, `label=a b; label=c d` for an array (`[]` when empty).
pub fn render(v: &MathValue, n: usize) -> String {
    match v {
        MathValue::Scalar(x) => format!("S:{}", fmt(*x)),
        MathValue::Series(s) => render_series(s, n),
        MathValue::Array(a) if a.is_empty() => "[]".into(),
        MathValue::Array(a) => a
            .iter()
            .map(|s| format!("{}={}", s.label, render_series(s, n)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Inputs are `(id, spec)`; ids are both the metric ids (request order) and the labels.
pub struct Fixture {
    pub values: HashMap<String, MathValue>,
    pub ids: Vec<String>,
    pub n: usize,
}

pub fn fixture(inputs: &[(&str, &str)]) -> Fixture {
    let n = inputs
        .iter()
        .map(|(_, s)| s.split_whitespace().count())
        .max()
        .unwrap_or(5)
        .max(1);
    let mut values = HashMap::new();
    let mut ids = Vec::new();
    for (id, spec) in inputs {
        values.insert(id.to_string(), MathValue::Series(series(id, spec)));
        ids.push(id.to_string());
    }
    Fixture { values, ids, n }
}

impl Fixture {
    pub fn ctx(&self) -> EvalContext<'_> {
        EvalContext {
            values: &self.values,
            metric_ids: &self.ids,
            period: PERIOD,
            start: T0,
            end: T0 + self.n as i64 * PERIOD,
        }
    }

    /// Evaluates allowing scalars (`evaluate_value`).
    pub fn eval(&self, expr: &str) -> Result<MathValue, MathError> {
        parse(expr)?.evaluate_value(&self.ctx())
    }
}

/// Runs a table of `(expression, inputs, expected rendering)` rows, reporting every mismatch.
/// One table row: expression, inputs `(id, spec)`, expected rendering.
pub type Row = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

pub fn check_table(rows: &[Row]) {
    let mut failures = Vec::new();
    for (expr, inputs, expected) in rows {
        let fx = fixture(inputs);
        match fx.eval(expr) {
            Ok(v) => {
                let got = render(&v, fx.n);
                if got != *expected {
                    failures.push(format!("{expr}: expected `{expected}`, got `{got}`"));
                }
            }
            Err(e) => failures.push(format!("{expr}: expected `{expected}`, got error {e:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
