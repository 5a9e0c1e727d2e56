//! Replays the `metric_math` fuzz target's seeds and saved crash inputs under `cargo test`
//! (a copy of the target's driver: keep the two in step).

use nephoscope_metricmath::{parse, EvalContext, MathValue, Series};
use std::collections::HashMap;
use std::path::Path;

fn drive(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(expr) = parse(&text) else { return };
    let mut values = HashMap::new();
    values.insert(
        "m1".to_string(),
        MathValue::Series(Series::new("a", vec![0, 60, 120], vec![1.0, 0.0, -3.5])),
    );
    values.insert(
        "m2".to_string(),
        MathValue::Series(Series::new("b", vec![60, 180], vec![2.0, 1e300])),
    );
    let ids = vec!["m1".to_string(), "m2".to_string()];
    let ctx = EvalContext {
        values: &values,
        metric_ids: &ids,
        period: 60,
        start: 0,
        end: 240,
    };
    let check = |s: &Series| assert!(s.values.iter().all(|v| v.is_finite()), "{text}: {s:?}");
    match expr.evaluate_value(&ctx) {
        Ok(MathValue::Series(s)) => check(&s),
        Ok(MathValue::Array(a)) => a.iter().for_each(check),
        _ => {}
    }
}

#[test]
fn metric_math_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/metric_math"),
        root.join("tests/fuzz-regressions/metric_math"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            drive(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
