//! AWS-shaped errors as the wire layer renders them.
//!
//! An [`ApiError`] carries everything every protocol needs: the error type (`__type` / shape
//! name), the legacy query code, the HTTP status and the Sender/Receiver fault. Services build
//! modeled errors with [`ApiError::modeled`]; the common errors of the edge (auth, routing, bodies)
//! have constructors here so their codes and messages live in one place.

use nephoscope_model::meta::ServiceDef;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error type: the exception shape name for modeled errors (`InvalidParameterValueException`).
    pub code: Cow<'static, str>,
    /// Legacy query code (`InvalidParameterValue`); the Query protocol's `<Code>` and the
    /// `x-amzn-query-error` header of query-compatible JSON/CBOR.
    pub query_code: Cow<'static, str>,
    pub status: u16,
    pub sender_fault: bool,
    pub message: String,
    /// Further members of the modeled exception (`queryCompileError`), rendered in JSON and
    /// CBOR error bodies.
    pub fields: Vec<(&'static str, serde_json::Value)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// An error that is the same in every protocol.
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiError {
            code: Cow::Borrowed(code),
            query_code: Cow::Borrowed(code),
            status,
            sender_fault: status < 500,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Adds a member of the modeled exception shape.
    pub fn with_field(mut self, name: &'static str, value: serde_json::Value) -> Self {
        self.fields.push((name, value));
        self
    }

    /// An error whose Query code differs from its JSON type.
    pub fn with_query_code(mut self, query_code: &'static str) -> Self {
        self.query_code = Cow::Borrowed(query_code);
        self
    }

    /// A modeled exception of `service`, by shape name or query code. Falls back to a 400 with
    /// that code when the model lacks it (common errors such as `ValidationException`).
    pub fn modeled(service: &ServiceDef, name: &str, message: impl Into<String>) -> Self {
        match service.error(name) {
            Some(shape) => {
                let e = shape
                    .error
                    .as_ref()
                    .expect("error shapes carry error metadata");
                ApiError {
                    code: Cow::Borrowed(shape.name),
                    query_code: Cow::Borrowed(e.code),
                    status: e.http_status,
                    sender_fault: e.sender_fault,
                    message: message.into(),
                    fields: Vec::new(),
                }
            }
            None => ApiError {
                code: Cow::Owned(name.to_string()),
                query_code: Cow::Owned(name.to_string()),
                status: 400,
                sender_fault: true,
                message: message.into(),
                fields: Vec::new(),
            },
        }
    }

    pub fn fault(&self) -> &'static str {
        if self.sender_fault {
            "Sender"
        } else {
            "Receiver"
        }
    }

    // --- common errors -------------------------------------------------------------------

    pub fn not_implemented(service: &str, operation: &str) -> Self {
        let mut e = ApiError::new(
            "NotImplemented",
            501,
            format!("Nephoscope does not implement {service} operation {operation} yet"),
        );
        e.sender_fault = false;
        e
    }

    pub fn unknown_operation(what: &str) -> Self {
        ApiError::new(
            "UnknownOperationException",
            400,
            format!("Unknown operation {what}"),
        )
    }

    pub fn invalid_action(action: &str) -> Self {
        ApiError::new(
            "InvalidAction",
            400,
            format!("The action {action} is not valid for this web service."),
        )
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        ApiError::new("SerializationException", 400, message)
    }

    pub fn malformed_query(message: impl Into<String>) -> Self {
        ApiError::new("MalformedQueryString", 400, message)
    }

    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            "RequestEntityTooLarge",
            413,
            format!("Request body exceeds the maximum size of {limit} bytes"),
        )
    }

    pub fn internal(request_id: &str) -> Self {
        let mut e = ApiError::new(
            "InternalFailure",
            500,
            format!("The request processing has failed because of an unknown error, exception or failure. Request id {request_id}"),
        );
        e.sender_fault = false;
        e
    }
}
