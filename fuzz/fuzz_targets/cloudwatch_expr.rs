//! GetMetricData's SEARCH expressions, Metrics Insights SQL and dynamic labels: every parser on arbitrary text
//! never panic, and a parsed query can be asked about a metric.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_cloudwatch::{labels, metricsql, search};
use nephoscope_metricstore::SeriesKey;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let key = SeriesKey::new(
        "AWS/EC2",
        "CPUUtilization",
        vec![("InstanceId".into(), "i-1".into())],
    );
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
});
