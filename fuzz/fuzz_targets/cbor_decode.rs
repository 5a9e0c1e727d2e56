//! Smithy RPC v2 CBOR bodies (CloudWatch) → canonical value → validation, plus the round-trip
//! property: the canonical value re-encoded with `cbor::encode` decodes to an equal value.
//!
//! Input: one selector byte (PutMetricData / GetMetricData / ListMetrics by `sel % 3`; ASCII
//! `'0'`..`'2'` pick them in order), then the CBOR body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_model::generated::cloudwatch;
use nephoscope_wire::{cbor, decode_input, encode_error, validate, RequestBody, WireProtocol};

const OPS: [&str; 3] = ["PutMetricData", "GetMetricData", "ListMetrics"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let service = &cloudwatch::SERVICE;
    let op = service
        .operation(OPS[usize::from(sel) % OPS.len()])
        .expect("operation in model");
    let shape_id = op.input.expect("operation has an input");
    let value = match decode_input(WireProtocol::Cbor, service, op, RequestBody::Bytes(body)) {
        Ok(v) => v,
        Err(e) => {
            let _ = encode_error(WireProtocol::Cbor, Some(service), &e, "fuzz");
            return;
        }
    };
    let violations = validate::validate(service, shape_id, &value);
    let _ = validate::message(&violations);

    let encoded = cbor::encode(service, service.shape(shape_id), &value);
    let again = decode_input(
        WireProtocol::Cbor,
        service,
        op,
        RequestBody::Bytes(&encoded),
    )
    .unwrap_or_else(|e| {
        panic!("re-encoded canonical value does not decode: {e:?}\nvalue: {value}")
    });
    assert_eq!(again, value, "CBOR round trip changed the canonical value");
});
