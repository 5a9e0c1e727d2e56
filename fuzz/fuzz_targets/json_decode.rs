//! awsJson 1.1 (Logs) and 1.0 (CloudWatch) request bodies → canonical value → validation, and
//! the typed fast path's equivalence: see `nephoscope_wire::fuzzing::json_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_wire::fuzzing::json_decode(data);
});
