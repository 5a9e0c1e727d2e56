//! Entry points shared by the fuzz targets (`fuzz/`) and the tests that replay their seeds.

use crate::{decode_input, encode_error, typed, validate, RequestBody, WireProtocol};
use nephoscope_model::generated::{cloudwatch, logs};
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_model::types::{cloudwatch::PutMetricDataInput, logs::PutLogEventsRequest};

/// `json_decode`: awsJson 1.1 (Logs) and 1.0 (CloudWatch) request bodies → canonical value →
/// validation, and for the hot operations the typed fast path, which must accept only what the
/// canonical path accepts, giving the same input.
///
/// Input: one selector byte (the operation, `sel % 6`; ASCII `'0'`..`'5'` pick them in order),
/// then the request body.
pub fn json_decode(data: &[u8]) {
    const OPS: [(WireProtocol, &ServiceDef, &str); 6] = [
        (WireProtocol::Json11, &logs::SERVICE, "PutLogEvents"),
        (WireProtocol::Json11, &logs::SERVICE, "CreateLogGroup"),
        (WireProtocol::Json11, &logs::SERVICE, "FilterLogEvents"),
        (WireProtocol::Json11, &logs::SERVICE, "StartQuery"),
        (WireProtocol::Json10, &cloudwatch::SERVICE, "PutMetricData"),
        (WireProtocol::Json10, &cloudwatch::SERVICE, "GetMetricData"),
    ];
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (protocol, service, op) = OPS[usize::from(sel) % OPS.len()];
    let op = service.operation(op).expect("operation in model");
    let canonical = match decode_input(protocol, service, op, RequestBody::Bytes(body)) {
        Ok(value) => {
            let violations = op
                .input
                .map(|shape| validate::validate(service, shape, &value))
                .unwrap_or_default();
            let _ = validate::message(&violations);
            violations.is_empty().then_some(value)
        }
        Err(e) => {
            let _ = encode_error(protocol, Some(service), &e, "fuzz");
            None
        }
    };
    match op.name {
        "PutLogEvents" => same::<PutLogEventsRequest>(service, op, body, canonical),
        "PutMetricData" => same::<PutMetricDataInput>(service, op, body, canonical),
        _ => {}
    }
}

/// The fast path accepts `body` only if the canonical path does, with the same input.
fn same<T>(
    service: &'static ServiceDef,
    op: &OperationDef,
    body: &[u8],
    canonical: Option<serde_json::Value>,
) where
    T: serde::de::DeserializeOwned
        + serde::Serialize
        + Send
        + PartialEq
        + std::fmt::Debug
        + 'static,
{
    let Some(fast) = typed::decode_json::<T>(service, op, body) else {
        return;
    };
    let fast: T = fast.parse().expect("the fast path's own type");
    let canonical = canonical.expect("the fast path accepted a body the canonical path rejects");
    let slow: T = serde_json::from_value(canonical).expect("a valid canonical input is typed");
    assert_eq!(fast, slow, "the fast path decoded another input");
}

/// `query_decode`: AWS Query form bodies (CloudWatch) → `ParamTree` → canonical value →
/// validation; `Action` and `Version` as the server's routing reads them; and PutMetricData's
/// form fast path, which must accept only what the canonical path accepts, with the same input.
///
/// Input: the whole form body. The operation is the one `Action` names when the CloudWatch model
/// has it (as the server routes), else PutMetricData / GetMetricStatistics / ListMetrics by the
/// first byte (`% 3`).
pub fn query_decode(data: &[u8]) {
    use crate::query::ParamTree;
    const OPS: [&str; 3] = ["PutMetricData", "GetMetricStatistics", "ListMetrics"];
    let service = &cloudwatch::SERVICE;
    let params = ParamTree::parse(data);
    let (action, version) = typed::form_action_version(data);
    assert_eq!(
        action.as_deref(),
        params.get("Action"),
        "Action read differently"
    );
    assert_eq!(
        version.as_deref(),
        params.get("Version"),
        "Version read differently"
    );
    let op = match params.get("Action").and_then(|a| service.operation(a)) {
        Some(op) => op,
        None => {
            let Some(&sel) = data.first() else { return };
            service
                .operation(OPS[usize::from(sel) % OPS.len()])
                .expect("operation in model")
        }
    };
    let canonical = match decode_input(
        WireProtocol::Query,
        service,
        op,
        RequestBody::Query(&params),
    ) {
        Ok(value) => {
            let violations = op
                .input
                .map(|shape| validate::validate(service, shape, &value))
                .unwrap_or_default();
            let _ = validate::message(&violations);
            violations.is_empty().then_some(value)
        }
        Err(e) => {
            let _ = encode_error(WireProtocol::Query, Some(service), &e, "fuzz");
            None
        }
    };
    if op.name == "PutMetricData" {
        if let Some(fast) = typed::put_metric_data_form(service, op, data) {
            let fast: PutMetricDataInput = fast.parse().expect("the fast path's own type");
            let canonical =
                canonical.expect("the form fast path accepted a body the canonical path rejects");
            let slow: PutMetricDataInput =
                serde_json::from_value(canonical).expect("a valid canonical input is typed");
            assert_eq!(fast, slow, "the form fast path decoded another input");
        }
    }
}

/// `cbor_decode`: Smithy RPC v2 CBOR bodies (CloudWatch) → canonical value → validation, and the
/// round-trip property (the canonical value re-encoded with `cbor::encode` decodes to an equal
/// value); for PutMetricData also the typed CBOR fast path (`typed::put_metric_data_cbor`), which
/// must accept only bodies the canonical path accepts, giving the same input.
///
/// Input: one selector byte (PutMetricData / GetMetricData / ListMetrics by `sel % 3`; ASCII
/// `'0'`..`'2'` pick them in order), then the CBOR body.
pub fn cbor_decode(data: &[u8]) {
    const OPS: [&str; 3] = ["PutMetricData", "GetMetricData", "ListMetrics"];
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let service = &cloudwatch::SERVICE;
    let op = service
        .operation(OPS[usize::from(sel) % OPS.len()])
        .expect("operation in model");
    let shape_id = op.input.expect("operation has an input");
    let decoded = decode_input(WireProtocol::Cbor, service, op, RequestBody::Bytes(body));
    if op.name == "PutMetricData" {
        if let Some(fast) = typed::put_metric_data_cbor(service, op, body) {
            let fast: PutMetricDataInput = fast.parse().expect("the fast path's own type");
            let canonical = match &decoded {
                Ok(v) => v.clone(),
                Err(e) => {
                    panic!("the CBOR fast path accepted a body the canonical path rejects: {e:?}")
                }
            };
            let violations = validate::validate(service, shape_id, &canonical);
            assert!(
                violations.is_empty(),
                "the CBOR fast path accepted an input the canonical path finds invalid: {}",
                validate::message(&violations)
            );
            let slow: PutMetricDataInput =
                serde_json::from_value(canonical).expect("a valid canonical input is typed");
            assert_eq!(fast, slow, "the CBOR fast path decoded another input");
        }
    }
    let value = match decoded {
        Ok(v) => v,
        Err(e) => {
            let _ = encode_error(WireProtocol::Cbor, Some(service), &e, "fuzz");
            return;
        }
    };
    let violations = validate::validate(service, shape_id, &value);
    let _ = validate::message(&violations);

    let encoded = crate::cbor::encode(service, service.shape(shape_id), &value);
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
}
