//! awsJson 1.0 / 1.1 bodies. The JSON protocol's form is the canonical form, so decoding is a
//! parse plus a type check against the input shape.

use crate::ApiError;
use nephoscope_model::meta::{ServiceDef, ShapeDef, ShapeKind};
use serde_json::Value;

pub fn decode(service: &ServiceDef, shape: &ShapeDef, body: &[u8]) -> Result<Value, ApiError> {
    let body = trim_ascii(body);
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("Request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::serialization(
            "Request body must be a JSON object",
        ));
    }
    check(service, shape, &value, "")?;
    Ok(value)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn mismatch(path: &str, want: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    ApiError::serialization(format!(
        "Expected {want} at '{}' but found {kind}",
        if path.is_empty() { "$" } else { path }
    ))
}

/// Checks JSON types against the shape; unknown members are ignored as AWS does.
pub(crate) fn check(
    service: &ServiceDef,
    shape: &ShapeDef,
    v: &Value,
    path: &str,
) -> Result<(), ApiError> {
    if v.is_null() {
        return Ok(());
    }
    let sub = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    match &shape.kind {
        ShapeKind::Structure { members, .. } => {
            let obj = v.as_object().ok_or_else(|| mismatch(path, "object", v))?;
            for m in members.iter() {
                if let Some(mv) = obj.get(m.name) {
                    check(service, service.shape(m.shape), mv, &sub(m.name))?;
                }
            }
        }
        ShapeKind::List { member } => {
            let items = v.as_array().ok_or_else(|| mismatch(path, "array", v))?;
            let ms = service.shape(*member);
            for (i, item) in items.iter().enumerate() {
                check(service, ms, item, &format!("{path}[{i}]"))?;
            }
        }
        ShapeKind::Map { value, .. } => {
            let obj = v.as_object().ok_or_else(|| mismatch(path, "object", v))?;
            let vs = service.shape(*value);
            for (k, item) in obj {
                check(service, vs, item, &sub(k))?;
            }
        }
        ShapeKind::String | ShapeKind::Blob => {
            v.as_str().ok_or_else(|| mismatch(path, "string", v))?;
        }
        ShapeKind::Boolean => {
            v.as_bool().ok_or_else(|| mismatch(path, "boolean", v))?;
        }
        ShapeKind::Integer => {
            let n = v.as_i64().ok_or_else(|| mismatch(path, "integer", v))?;
            if i32::try_from(n).is_err() {
                return Err(ApiError::serialization(format!(
                    "Value at '{path}' does not fit a 32-bit integer"
                )));
            }
        }
        ShapeKind::Long => {
            v.as_i64().ok_or_else(|| mismatch(path, "integer", v))?;
        }
        ShapeKind::Double | ShapeKind::Float | ShapeKind::Timestamp => {
            v.as_f64().ok_or_else(|| mismatch(path, "number", v))?;
        }
    }
    Ok(())
}
