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

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send>>;

/// The answer of an event-stream operation: the stream, or an error before it starts.
pub type StreamFuture =
    Pin<Box<dyn Future<Output = Result<crate::eventstream::EventStream, ApiError>> + Send>>;

/// One AWS service. The wire layer has decoded and validated the input; the service turns it
/// into domain calls and returns the canonical output.
pub trait Service: Send + Sync + 'static {
    fn model(&self) -> &'static ServiceDef;

    /// Whether `operation` is built. Operations that are not get the `NotImplemented` error.
    fn implements(&self, operation: &str) -> bool;

    fn call(&self, ctx: RequestContext, op: &'static OperationDef, input: Value) -> HandlerFuture;

    /// Operations whose output is an event stream (`StartLiveTail`).
    fn call_stream(
        &self,
        _ctx: RequestContext,
        op: &'static OperationDef,
        _input: Value,
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
