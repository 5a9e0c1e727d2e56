//! Replays the `cloudwatch_expr` fuzz target's seeds and saved crash inputs under `cargo test`.

use nephoscope_cloudwatch::{labels, metricsql, search};
use nephoscope_metricstore::SeriesKey;
use std::path::Path;

#[test]
fn cloudwatch_expr_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let key = SeriesKey::new(
        "AWS/EC2",
        "CPUUtilization",
        vec![("InstanceId".into(), "i-1".into())],
    );
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/cloudwatch_expr"),
        root.join("tests/fuzz-regressions/cloudwatch_expr"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
            if let Some(Ok(s)) = search::parse(&text) {
                let _ = s.selects(&key);
            }
            if let Some(Ok(q)) = metricsql::parse(&text) {
                let _ = q.selects(&key);
                let _ = q.group_of(&key);
            }
            if let Ok((_, calls)) = search::extract_calls(&text, |n| format!("s{n}")) {
                for call in calls {
                    let _ = search::parse(&call);
                }
            }
            let _ = labels::parse_timezone(&text);
            let env = labels::LabelEnv {
                account: "000000000000",
                region: "us-east-1",
                offset_seconds: -28_800,
                now: 1_700_000_000,
            };
            let pts = [
                (1_699_999_000, 1.5),
                (i64::MIN / 2, f64::NAN),
                (i64::MAX / 2, -0.0),
            ];
            let props = labels::Props {
                dimensions: vec![("InstanceId".into(), "i-1".into())],
                ..Default::default()
            };
            let _ = labels::render(&text, "default", Some(&props), 60, &pts, &env);
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
