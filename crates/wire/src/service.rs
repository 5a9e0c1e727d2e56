//! The interface between the wire layer and the service crates.

use crate::validate::{self, Violation};
use crate::ApiError;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// Who is calling, where, and under which request id.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub account_id: String,
    pub region: String,
    pub access_key_id: String,
    /// `root`, `user/NAME` or `role/NAME`.
    pub principal: String,
}

impl RequestContext {
    pub fn principal_arn(&self) -> String {
        format!("arn:aws:iam::{}:{}", self.account_id, self.principal)
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Output, ApiError>> + Send>>;

/// A handler's decoded, validated input: the canonical JSON value, or — for the operations a
/// service decodes itself ([`Service::decode_json`]) — the typed input already.
pub enum Input {
    Value(Value),
    Typed(Box<dyn std::any::Any + Send>),
}

impl Input {
    /// The typed input.
    pub fn parse<T: serde::de::DeserializeOwned + 'static>(self) -> Result<T, ApiError> {
        match self {
            Input::Value(v) => {
                serde_json::from_value(v).map_err(|e| ApiError::serialization(e.to_string()))
            }
            Input::Typed(t) => t.downcast::<T>().map(|t| *t).map_err(|_| {
                ApiError::serialization("the operation's input was decoded as another type")
            }),
        }
    }
}

impl From<Value> for Input {
    fn from(v: Value) -> Input {
        Input::Value(v)
    }
}

/// A handler's answer: the canonical JSON value, or the typed output itself, which the JSON
/// protocols serialize straight to bytes (large answers such as GetMetricData's skip building
/// a value tree; the other protocols convert it to the canonical value first).
pub enum Output {
    Value(Value),
    Typed(Box<dyn TypedOutput>),
    /// An output with extra response headers (PutMetricData's `X-Amzn-Failure-Message`).
    WithHeaders(Box<Output>, Vec<(&'static str, String)>),
}

/// An output shape that serializes to its canonical JSON form.
pub trait TypedOutput: Send {
    fn json(&self) -> serde_json::Result<Vec<u8>>;
    fn value(&self) -> serde_json::Result<Value>;
}

impl<T: serde::Serialize + Send> TypedOutput for T {
    fn json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }
    fn value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }
}

impl From<Value> for Output {
    fn from(v: Value) -> Output {
        Output::Value(v)
    }
}

impl Output {
    pub fn typed<T: serde::Serialize + Send + 'static>(out: T) -> Output {
        Output::Typed(Box::new(out))
    }

    /// The canonical value (converting a typed output).
    pub fn into_value(self) -> serde_json::Result<Value> {
        match self {
            Output::Value(v) => Ok(v),
            Output::Typed(t) => t.value(),
            Output::WithHeaders(o, _) => o.into_value(),
        }
    }

    pub fn with_header(self, name: &'static str, value: String) -> Output {
        match self {
            Output::WithHeaders(o, mut hs) => {
                hs.push((name, value));
                Output::WithHeaders(o, hs)
            }
            other => Output::WithHeaders(Box::new(other), vec![(name, value)]),
        }
    }
}

/// The answer of an event-stream operation: the stream, or an error before it starts.
pub type StreamFuture =
    Pin<Box<dyn Future<Output = Result<crate::eventstream::EventStream, ApiError>> + Send>>;

/// One AWS service. The wire layer has decoded and validated the input; the service turns it
/// into domain calls and returns the canonical output.
pub trait Service: Send + Sync + 'static {
    fn model(&self) -> &'static ServiceDef;

    /// Whether `operation` is built. Operations that are not get the `NotImplemented` error.
    fn implements(&self, operation: &str) -> bool;

    fn call(&self, ctx: RequestContext, op: &'static OperationDef, input: Input) -> HandlerFuture;

    /// The typed input of a JSON-protocol request for the (hot) operations a service decodes
    /// itself, when it is certainly valid (see [`crate::typed`]); `None` takes the canonical
    /// path, which gives every error.
    fn decode_json(&self, _op: &'static OperationDef, _body: &[u8]) -> Option<Input> {
        None
    }

    /// [`Service::decode_json`] for AWS Query form bodies.
    fn decode_query(&self, _op: &'static OperationDef, _form: &[u8]) -> Option<Input> {
        None
    }

    /// [`Service::decode_json`] for RPC v2 CBOR bodies.
    fn decode_cbor(&self, _op: &'static OperationDef, _body: &[u8]) -> Option<Input> {
        None
    }

    /// Operations whose output is an event stream (`StartLiveTail`).
    fn call_stream(
        &self,
        _ctx: RequestContext,
        op: &'static OperationDef,
        _input: Input,
    ) -> StreamFuture {
        let e = ApiError::not_implemented(self.model().name, op.name);
        Box::pin(async move { Err(e) })
    }

    /// The error for constraint violations of a request.
    fn validation_error(&self, violations: &[Violation]) -> ApiError {
        validation_error(self.model(), violations)
    }

    /// Forgets every account's state (ephemeral servers' `/_nephoscope/reset`).
    fn reset(&self) -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send>> {
        Box::pin(async { Ok(()) })
    }
}

/// Each service's own code for constraint violations.
pub fn validation_error(model: &ServiceDef, violations: &[Violation]) -> ApiError {
    let message = validate::message(violations);
    match model.name {
        "cloudwatch" => {
            if violations.iter().all(|v| v.missing) {
                let names: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
                ApiError::modeled(
                    model,
                    "MissingRequiredParameterException",
                    format!("The parameter {} is required.", names.join(", ")),
                )
            } else {
                ApiError::modeled(model, "InvalidParameterValueException", message)
            }
        }
        "logs" => ApiError::modeled(model, "InvalidParameterException", message),
        "sts" => ApiError::new("ValidationError", 400, message),
        _ => ApiError::new("ValidationException", 400, message),
    }
}
