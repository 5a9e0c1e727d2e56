//! awsJson 1.0 / 1.1 bodies. The JSON protocol's form is the canonical form, so decoding is a
//! parse plus a type check against the input shape.

use crate::path::{Path, Seg};
use crate::ApiError;
use nephoscope_model::meta::{ServiceDef, ShapeDef, ShapeKind};
use serde_json::Value;

/// How NaN and the infinities travel in the canonical form (as Smithy JSON writes them).
pub const NON_FINITE: [&str; 3] = ["NaN", "Infinity", "-Infinity"];

/// A double in the canonical form: a JSON number, or the Smithy string for a non-finite value.
pub fn double(n: f64) -> Value {
    match serde_json::Number::from_f64(n) {
        Some(num) => Value::Number(num),
        None if n.is_nan() => Value::String("NaN".into()),
        None if n > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

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
    check(service, shape, &value, &mut Path::default())?;
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

fn mismatch(path: &Path<'_>, want: &str, got: &Value) -> ApiError {
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
        path.json()
    ))
}

/// Checks JSON types against the shape; unknown members are ignored as AWS does.
pub(crate) fn check<'a>(
    service: &ServiceDef,
    shape: &ShapeDef,
    v: &'a Value,
    path: &mut Path<'a>,
) -> Result<(), ApiError> {
    if v.is_null() {
        return Ok(());
    }
    match &shape.kind {
        ShapeKind::Structure { members, .. } => {
            let obj = v.as_object().ok_or_else(|| mismatch(path, "object", v))?;
            for m in members.iter() {
                if let Some(mv) = obj.get(m.name) {
                    path.push(Seg::Member(m.name));
                    check(service, service.shape(m.shape), mv, path)?;
                    path.pop();
                }
            }
        }
        ShapeKind::List { member } => {
            let items = v.as_array().ok_or_else(|| mismatch(path, "array", v))?;
            let ms = service.shape(*member);
            let numbers = matches!(ms.kind, ShapeKind::Double | ShapeKind::Float);
            for (i, item) in items.iter().enumerate() {
                // A number is a valid list member of a double list as it stands.
                if numbers && item.is_number() {
                    continue;
                }
                path.push(Seg::Index(i));
                check(service, ms, item, path)?;
                path.pop();
            }
        }
        ShapeKind::Map { value, .. } => {
            let obj = v.as_object().ok_or_else(|| mismatch(path, "object", v))?;
            let vs = service.shape(*value);
            for (k, item) in obj {
                path.push(Seg::Member(k));
                check(service, vs, item, path)?;
                path.pop();
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
                    "Value at '{}' does not fit a 32-bit integer",
                    path.json()
                )));
            }
        }
        ShapeKind::Long => {
            v.as_i64().ok_or_else(|| mismatch(path, "integer", v))?;
        }
        ShapeKind::Double | ShapeKind::Float => {
            // Smithy JSON spells NaN and the infinities as strings; validation rejects them.
            if v.as_f64().is_none() && !v.as_str().is_some_and(|s| NON_FINITE.contains(&s)) {
                return Err(mismatch(path, "number", v));
            }
        }
        ShapeKind::Timestamp => {
            v.as_f64().ok_or_else(|| mismatch(path, "number", v))?;
        }
    }
    Ok(())
}
