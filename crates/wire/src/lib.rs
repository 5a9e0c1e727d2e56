//! The wire layer: every AWS protocol Nephoscope speaks, written once and driven by the service
//! models. Requests are decoded into the canonical form (the JSON protocol's: timestamps as epoch
//! seconds, blobs as base64), validated against the model's constraints, handed to a
//! [`Service`], and the canonical output or [`ApiError`] is encoded back in the caller's protocol.

pub mod cbor;
mod error;
pub mod eventstream;
pub mod fuzzing;
pub mod json;
mod path;
pub mod query;
mod service;
pub mod timestamp;
pub mod typed;
pub mod validate;

pub use error::ApiError;
pub use service::{
    validation_error, HandlerFuture, Input, Output, RequestContext, Service, StreamFuture,
    TypedOutput,
};

use nephoscope_model::meta::{OperationDef, ServiceDef};
use serde_json::Value;

/// The protocol of one request, which is also the protocol of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireProtocol {
    /// awsJson1.1 (Logs, EventBridge).
    Json11,
    /// awsJson1.0 (CloudWatch, query-compatible).
    Json10,
    /// AWS Query with XML responses (CloudWatch, STS).
    Query,
    /// Smithy RPC v2 CBOR (CloudWatch).
    Cbor,
}

impl WireProtocol {
    pub fn name(self) -> &'static str {
        match self {
            WireProtocol::Json11 => "json1.1",
            WireProtocol::Json10 => "json1.0",
            WireProtocol::Query => "query",
            WireProtocol::Cbor => "rpcv2cbor",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            WireProtocol::Json11 => "application/x-amz-json-1.1",
            WireProtocol::Json10 => "application/x-amz-json-1.0",
            WireProtocol::Query => "text/xml",
            WireProtocol::Cbor => "application/cbor",
        }
    }
}

/// A response body ready for the edge: status, extra headers and bytes.
#[derive(Debug)]
pub struct Encoded {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The request body of an operation, in its protocol's encoding.
pub enum RequestBody<'a> {
    Bytes(&'a [u8]),
    Query(&'a query::ParamTree),
}

/// Decodes an operation's input into the canonical form and checks JSON/CBOR types.
pub fn decode_input(
    protocol: WireProtocol,
    service: &ServiceDef,
    op: &OperationDef,
    body: RequestBody<'_>,
) -> Result<Value, ApiError> {
    let Some(shape) = op.input.map(|s| service.shape(s)) else {
        return Ok(Value::Object(Default::default()));
    };
    match (protocol, body) {
        (WireProtocol::Json10 | WireProtocol::Json11, RequestBody::Bytes(b)) => {
            json::decode(service, shape, b)
        }
        (WireProtocol::Cbor, RequestBody::Bytes(b)) => cbor::decode(service, shape, b),
        (WireProtocol::Query, RequestBody::Query(params)) => query::decode(service, shape, params),
        (WireProtocol::Query, RequestBody::Bytes(b)) => {
            query::decode(service, shape, &query::ParamTree::parse(b))
        }
        (_, RequestBody::Query(_)) => Err(ApiError::serialization("unexpected form body")),
    }
}

/// Encodes a successful output.
pub fn encode_output(
    protocol: WireProtocol,
    service: &ServiceDef,
    op: &OperationDef,
    output: Output,
    request_id: &str,
) -> Result<Encoded, ApiError> {
    let failed = |e: serde_json::Error| ApiError::serialization(e.to_string());
    let mut headers = Vec::new();
    let mut output = output;
    while let Output::WithHeaders(inner, extra) = output {
        headers.extend(extra);
        output = *inner;
    }
    let body = match (protocol, output) {
        (WireProtocol::Json10 | WireProtocol::Json11, _) if op.output.is_none() => b"{}".to_vec(),
        (WireProtocol::Json10 | WireProtocol::Json11, Output::Typed(t)) => {
            t.json().map_err(failed)?
        }
        (WireProtocol::Json10 | WireProtocol::Json11, Output::Value(v)) => {
            serde_json::to_vec(&v).map_err(failed)?
        }
        (_, Output::WithHeaders(..)) => unreachable!("unwrapped above"),
        (WireProtocol::Query, out) => {
            query::encode_response(service, op, &out.into_value().map_err(failed)?, request_id)
                .into_bytes()
        }
        (WireProtocol::Cbor, out) => match op.output {
            Some(shape) => cbor::encode(
                service,
                service.shape(shape),
                &out.into_value().map_err(failed)?,
            ),
            None => Vec::new(),
        },
    };
    if protocol == WireProtocol::Cbor {
        headers.push(("smithy-protocol", "rpc-v2-cbor".to_string()));
    }
    Ok(Encoded {
        status: 200,
        content_type: protocol.content_type(),
        headers,
        body,
    })
}

/// The JSON form of an error: `__type`, `message` and any further modeled members.
fn error_body(err: &ApiError) -> Value {
    let mut body = serde_json::json!({ "__type": err.code, "message": err.message });
    for (k, v) in &err.fields {
        body[*k] = v.clone();
    }
    body
}

/// Encodes an error. `service` is `None` when the request never reached one (auth, routing).
pub fn encode_error(
    protocol: WireProtocol,
    service: Option<&ServiceDef>,
    err: &ApiError,
    request_id: &str,
) -> Encoded {
    let mut headers = Vec::new();
    let query_compatible = service.is_none_or(|s| s.query_compatible);
    let body = match protocol {
        WireProtocol::Json10 | WireProtocol::Json11 => {
            if protocol == WireProtocol::Json10 && query_compatible {
                headers.push((
                    "x-amzn-query-error",
                    format!("{};{}", err.query_code, err.fault()),
                ));
            }
            serde_json::to_vec(&error_body(err)).expect("error bodies serialize")
        }
        WireProtocol::Query => query::encode_error(service, err, request_id).into_bytes(),
        WireProtocol::Cbor => {
            headers.push(("smithy-protocol", "rpc-v2-cbor".to_string()));
            if query_compatible {
                headers.push((
                    "x-amzn-query-error",
                    format!("{};{}", err.query_code, err.fault()),
                ));
            }
            cbor::encode_error(&error_body(err))
        }
    };
    headers.push(("x-amzn-ErrorType", err.code.to_string()));
    Encoded {
        status: err.status,
        content_type: protocol.content_type(),
        headers,
        body,
    }
}
