//! AWS Query form bodies (CloudWatch) → `ParamTree` → canonical value → validation.
//!
//! Input: the whole form body. The operation is the one `Action` names when the CloudWatch model
//! has it (as the server routes), else PutMetricData / GetMetricStatistics / ListMetrics by the
//! first byte (`% 3`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_model::generated::cloudwatch;
use nephoscope_wire::query::ParamTree;
use nephoscope_wire::{decode_input, encode_error, validate, RequestBody, WireProtocol};

const OPS: [&str; 3] = ["PutMetricData", "GetMetricStatistics", "ListMetrics"];

fuzz_target!(|data: &[u8]| {
    let service = &cloudwatch::SERVICE;
    let params = ParamTree::parse(data);
    let _ = params.get("Version");
    let op = match params.get("Action").and_then(|a| service.operation(a)) {
        Some(op) => op,
        None => {
            let Some(&sel) = data.first() else { return };
            service
                .operation(OPS[usize::from(sel) % OPS.len()])
                .expect("operation in model")
        }
    };
    let decoded = decode_input(
        WireProtocol::Query,
        service,
        op,
        RequestBody::Query(&params),
    );
    match decoded {
        Ok(value) => {
            if let Some(shape) = op.input {
                let violations = validate::validate(service, shape, &value);
                let _ = validate::message(&violations);
            }
        }
        Err(e) => {
            let _ = encode_error(WireProtocol::Query, Some(service), &e, "fuzz");
        }
    }
});
