//! GetMetricData's expression parsers (SEARCH, Metrics Insights SQL, ANOMALY_DETECTION_BAND,
//! dynamic labels) on arbitrary text: see `nephoscope_cloudwatch::fuzzing::expressions`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_cloudwatch::fuzzing::expressions(data);
});
