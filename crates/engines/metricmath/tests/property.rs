//! Property tests over random sparse series (deterministic xorshift generator): arithmetic on a
//! series and itself through different paths agrees, and no path ever yields NaN or infinity.

mod common;

use std::collections::HashMap;

use common::{render, PERIOD, T0};
use nephoscope_metricmath::{parse, EvalContext, MathValue, Series};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A sparse series over `n` slots: ~25% missing, ~15% zeros, otherwise values in ±1000
    /// with a fractional part.
    fn series(&mut self, label: &str, n: usize) -> Series {
        let mut s = Series::empty(label);
        for i in 0..n {
            let value = match self.below(20) {
                0..=4 => continue,
                5..=7 => 0.0,
                _ => (self.below(200_000) as f64 - 100_000.0) / 100.0,
            };
            s.timestamps.push(T0 + i as i64 * PERIOD);
            s.values.push(value);
        }
        s
    }
}

/// Pairs of expressions that must give identical points (labels ignored).
const EQUIVALENT: &[(&str, &str)] = &[
    ("m1 + m1", "2 * m1"),
    ("m1 + m1", "m1 * 2"),
    ("m1 - m1", "0 * m1"),
    ("m1 + m2", "m2 + m1"),
    ("m1 * m2", "m2 * m1"),
    ("m1 + m2", "SUM([m1, m2])"),
    ("m1 - m2", "-(m2 - m1)"),
    ("-(-m1)", "m1"),
    ("m1 / m1", "IF(m1 != 0, 1)"),
    ("AVG([m1, m1])", "m1"),
    ("MAX([m1, m1])", "ABS(m1) * 0 + m1"),
    ("m1 * 2 / 2", "m1"),
    ("(m1 > m2) + (m1 <= m2)", "(m1 == m1) + (m2 == m2) >= 1"),
    ("m1 AND m2", "(m1 != 0) * (m2 != 0)"),
    ("FIRST([m1, m2])", "LAST([m2, m1])"),
    ("RUNNING_SUM(m1) - m1", "RUNNING_SUM(m1) - m1 * 1"),
    ("DIFF(RUNNING_SUM(m1))", "IF(DIFF_TIME(m1), m1)"),
    ("FILL(m1, 0) + 0", "FILL(FILL(m1, 0), 5)"),
    ("IF(m1, m1, 0)", "m1"),
];

fn points(v: MathValue) -> Vec<(i64, f64)> {
    match v {
        MathValue::Series(s) => s.timestamps.into_iter().zip(s.values).collect(),
        other => panic!("expected a series, got {other:?}"),
    }
}

#[test]
fn equivalent_paths_agree() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let n = 24;
    for round in 0..200 {
        let mut values = HashMap::new();
        values.insert("m1".to_string(), MathValue::Series(rng.series("m1", n)));
        values.insert("m2".to_string(), MathValue::Series(rng.series("m2", n)));
        let ids = vec!["m1".to_string(), "m2".to_string()];
        let ctx = EvalContext {
            values: &values,
            metric_ids: &ids,
            period: PERIOD,
            start: T0,
            end: T0 + n as i64 * PERIOD,
        };
        for (a, b) in EQUIVALENT {
            let pa = points(parse(a).unwrap().evaluate(&ctx).unwrap());
            let pb = points(parse(b).unwrap().evaluate(&ctx).unwrap());
            assert!(pa.iter().chain(&pb).all(|(_, v)| v.is_finite()));
            let close = pa.len() == pb.len()
                && pa
                    .iter()
                    .zip(&pb)
                    .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() <= 1e-9 * x.1.abs().max(1.0));
            assert!(
                close,
                "round {round}: `{a}` = {pa:?}\n but `{b}` = {pb:?}\n inputs {values:?}"
            );
        }
    }
}

/// Every function and operator over random inputs (with zeros, negatives and gaps) yields only
/// finite, strictly ascending points.
#[test]
fn never_produces_nan() {
    const EXPRS: &[&str] = &[
        "m1 / m2",
        "m2 / m1",
        "m1 ^ m2",
        "m1 ^ 0.5",
        "LOG(m1)",
        "LOG10(m2)",
        "m1 / (m1 - m1)",
        "RATE(m1)",
        "m1 / STDDEV(m1)",
        "m1 / AVG(m2)",
        "FILL(m1, LINEAR) / m2",
        "FILL(METRICS(), REPEAT)",
        "STDDEV(METRICS())",
        "AVG(METRICS()) / MIN(METRICS())",
        "IF(m1 > m2, m1 / m2, m2 / m1)",
        "SORT(LOG(METRICS()), AVG, DESC)",
        "TIME_SERIES(SUM(m1) / DATAPOINT_COUNT(m1))",
        "m1 * 1e308 * 10",
    ];
    let mut rng = Rng(42);
    for _ in 0..100 {
        let mut values = HashMap::new();
        values.insert("m1".to_string(), MathValue::Series(rng.series("m1", 12)));
        values.insert("m2".to_string(), MathValue::Series(rng.series("m2", 12)));
        let ids = vec!["m1".to_string(), "m2".to_string()];
        let ctx = EvalContext {
            values: &values,
            metric_ids: &ids,
            period: PERIOD,
            start: T0,
            end: T0 + 12 * PERIOD,
        };
        for expr in EXPRS {
            let v = parse(expr).unwrap().evaluate(&ctx).unwrap();
            render(&v, 12); // asserts finiteness and ordering
        }
    }
}
