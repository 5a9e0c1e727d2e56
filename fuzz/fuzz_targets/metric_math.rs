//! Metric math: `parse` on arbitrary text and, when it parses, evaluation against two fixed
//! series and a scalar-free context. Nothing may panic and no NaN or infinite point may come out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_metricmath::{parse, EvalContext, MathValue, Series};
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(expr) = parse(&text) else { return };
    let mut values = HashMap::new();
    values.insert("m1".to_string(), MathValue::Series(Series::new("a", vec![0, 60, 120], vec![1.0, 0.0, -3.5])));
    values.insert("m2".to_string(), MathValue::Series(Series::new("b", vec![60, 180], vec![2.0, 1e300])));
    let ids = vec!["m1".to_string(), "m2".to_string()];
    let ctx = EvalContext { values: &values, metric_ids: &ids, period: 60, start: 0, end: 240 };
    let check = |s: &Series| assert!(s.values.iter().all(|v| v.is_finite()), "{text}: {s:?}");
    match expr.evaluate_value(&ctx) {
        Ok(MathValue::Series(s)) => check(&s),
        Ok(MathValue::Array(a)) => a.iter().for_each(check),
        _ => {}
    }
});
