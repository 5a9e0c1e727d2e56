//! AWS Query form bodies (CloudWatch) → canonical value → validation, the routing's reading of
//! `Action`/`Version`, and PutMetricData's form fast path: see
//! `nephoscope_wire::fuzzing::query_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_wire::fuzzing::query_decode(data);
});
