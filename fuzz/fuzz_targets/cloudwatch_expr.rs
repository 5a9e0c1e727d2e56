//! GetMetricData's SEARCH expressions and Metrics Insights SQL: both parsers on arbitrary text
//! never panic, and a parsed query can be asked about a metric.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_cloudwatch::{metricsql, search};
use nephoscope_metricstore::SeriesKey;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let key = SeriesKey::new("AWS/EC2", "CPUUtilization", vec![("InstanceId".into(), "i-1".into())]);
    if let Some(Ok(s)) = search::parse(&text) {
        let _ = s.selects(&key);
    }
    if let Some(Ok(q)) = metricsql::parse(&text) {
        let _ = q.selects(&key);
        let _ = q.group_of(&key);
    }
});
