//! awsJson 1.1 (Logs) and 1.0 (CloudWatch) request bodies → canonical value → validation.
//!
//! Input: one selector byte (the operation, `sel % 6`; ASCII `'0'`..`'5'` pick them in order),
//! then the request body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_model::generated::{cloudwatch, logs};
use nephoscope_model::meta::ServiceDef;
use nephoscope_wire::{decode_input, encode_error, validate, RequestBody, WireProtocol};

const OPS: [(WireProtocol, &ServiceDef, &str); 6] = [
    (WireProtocol::Json11, &logs::SERVICE, "PutLogEvents"),
    (WireProtocol::Json11, &logs::SERVICE, "CreateLogGroup"),
    (WireProtocol::Json11, &logs::SERVICE, "FilterLogEvents"),
    (WireProtocol::Json11, &logs::SERVICE, "StartQuery"),
    (WireProtocol::Json10, &cloudwatch::SERVICE, "PutMetricData"),
    (WireProtocol::Json10, &cloudwatch::SERVICE, "GetMetricData"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (protocol, service, op) = OPS[usize::from(sel) % OPS.len()];
    let op = service.operation(op).expect("operation in model");
    match decode_input(protocol, service, op, RequestBody::Bytes(body)) {
        Ok(value) => {
            if let Some(shape) = op.input {
                let violations = validate::validate(service, shape, &value);
                let _ = validate::message(&violations);
            }
        }
        Err(e) => {
            let _ = encode_error(protocol, Some(service), &e, "fuzz");
        }
    }
});
