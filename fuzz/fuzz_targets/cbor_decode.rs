//! Smithy RPC v2 CBOR bodies (CloudWatch) → canonical value → validation, and the round-trip
//! property: see `nephoscope_wire::fuzzing::cbor_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_wire::fuzzing::cbor_decode(data);
});
