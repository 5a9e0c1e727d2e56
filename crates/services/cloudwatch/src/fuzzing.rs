//! Entry points shared by the fuzz targets (`fuzz/`) and the tests that replay their seeds, so
//! both exercise exactly the same code.

use crate::{anomaly, labels, metricsql, search};
use nephoscope_metricstore::SeriesKey;

/// `cloudwatch_expr`: every parser of GetMetricData expression text (SEARCH, Metrics Insights
/// SQL, nested SEARCH calls, ANOMALY_DETECTION_BAND, dynamic labels, time zones) on arbitrary
/// text never panics, and what parses can be asked about a metric.
pub fn expressions(data: &[u8]) {
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
    let _ = anomaly::parse(&text);
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
}
