//! Smithy RPC v2 CBOR bodies ⇄ the canonical form. Indefinite-length containers and tag-1
//! (epoch) timestamps are accepted; responses use definite lengths and tag-1 floats.

use crate::ApiError;
use base64::Engine;
use ciborium::value::{Integer, Value as Cbor};
use nephoscope_model::meta::{ServiceDef, ShapeDef, ShapeKind};
use serde_json::{Map, Number, Value};

pub fn decode(service: &ServiceDef, shape: &ShapeDef, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let cbor: Cbor = ciborium::de::from_reader(body)
        .map_err(|e| ApiError::serialization(format!("Request body is not valid CBOR: {e}")))?;
    if !matches!(cbor, Cbor::Map(_)) {
        return Err(ApiError::serialization("Request body must be a CBOR map"));
    }
    to_canonical(service, shape, &cbor, "")
}

fn mismatch(path: &str, want: &str) -> ApiError {
    ApiError::serialization(format!(
        "Expected {want} at '{}'",
        if path.is_empty() { "$" } else { path }
    ))
}

fn number(c: &Cbor) -> Option<f64> {
    match c {
        Cbor::Integer(i) => Some(i128::from(*i) as f64),
        Cbor::Float(f) => Some(*f),
        _ => None,
    }
}

fn to_canonical(
    service: &ServiceDef,
    shape: &ShapeDef,
    c: &Cbor,
    path: &str,
) -> Result<Value, ApiError> {
    let sub = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    Ok(match &shape.kind {
        ShapeKind::Structure { members, .. } => {
            let Cbor::Map(entries) = c else {
                return Err(mismatch(path, "map"));
            };
            let mut obj = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else {
                    return Err(mismatch(path, "text keys"));
                };
                if matches!(v, Cbor::Null) {
                    continue;
                }
                if let Some(m) = members.iter().find(|m| m.name == k) {
                    obj.insert(
                        k.clone(),
                        to_canonical(service, service.shape(m.shape), v, &sub(k))?,
                    );
                }
            }
            Value::Object(obj)
        }
        ShapeKind::List { member } => {
            let Cbor::Array(items) = c else {
                return Err(mismatch(path, "array"));
            };
            let ms = service.shape(*member);
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(if matches!(item, Cbor::Null) {
                    Value::Null
                } else {
                    to_canonical(service, ms, item, &format!("{path}[{i}]"))?
                });
            }
            Value::Array(out)
        }
        ShapeKind::Map { value, .. } => {
            let Cbor::Map(entries) = c else {
                return Err(mismatch(path, "map"));
            };
            let vs = service.shape(*value);
            let mut obj = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else {
                    return Err(mismatch(path, "text keys"));
                };
                let v = if matches!(v, Cbor::Null) {
                    Value::Null
                } else {
                    to_canonical(service, vs, v, &sub(k))?
                };
                obj.insert(k.clone(), v);
            }
            Value::Object(obj)
        }
        ShapeKind::String => match c {
            Cbor::Text(s) => Value::String(s.clone()),
            _ => return Err(mismatch(path, "text")),
        },
        ShapeKind::Blob => match c {
            Cbor::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            _ => return Err(mismatch(path, "bytes")),
        },
        ShapeKind::Boolean => match c {
            Cbor::Bool(b) => Value::Bool(*b),
            _ => return Err(mismatch(path, "boolean")),
        },
        ShapeKind::Integer | ShapeKind::Long => match c {
            Cbor::Integer(i) => {
                let n = i128::from(*i);
                let fits = if matches!(shape.kind, ShapeKind::Integer) {
                    i32::try_from(n).is_ok()
                } else {
                    i64::try_from(n).is_ok()
                };
                if !fits {
                    return Err(mismatch(path, "an integer in range"));
                }
                Value::Number((n as i64).into())
            }
            _ => return Err(mismatch(path, "integer")),
        },
        ShapeKind::Double | ShapeKind::Float => {
            let n = number(c).ok_or_else(|| mismatch(path, "number"))?;
            crate::json::double(n)
        }
        ShapeKind::Timestamp => {
            let inner = match c {
                Cbor::Tag(1, inner) => inner.as_ref(),
                other => other,
            };
            let n = number(inner).ok_or_else(|| mismatch(path, "epoch timestamp"))?;
            Value::Number(Number::from_f64(n).ok_or_else(|| mismatch(path, "a finite timestamp"))?)
        }
    })
}

pub fn encode(service: &ServiceDef, shape: &ShapeDef, v: &Value) -> Vec<u8> {
    let cbor = from_canonical(service, shape, v);
    let mut out = Vec::with_capacity(256);
    ciborium::ser::into_writer(&cbor, &mut out).expect("writing CBOR to a Vec cannot fail");
    out
}

fn from_canonical(service: &ServiceDef, shape: &ShapeDef, v: &Value) -> Cbor {
    match (&shape.kind, v) {
        (_, Value::Null) => Cbor::Null,
        (ShapeKind::Structure { .. }, Value::Object(obj)) => Cbor::Map(
            shape
                .members()
                .iter()
                .filter_map(|m| {
                    let mv = obj.get(m.name).filter(|mv| !mv.is_null())?;
                    Some((
                        Cbor::Text(m.name.to_string()),
                        from_canonical(service, service.shape(m.shape), mv),
                    ))
                })
                .collect(),
        ),
        (ShapeKind::List { member }, Value::Array(items)) => {
            let ms = service.shape(*member);
            Cbor::Array(
                items
                    .iter()
                    .map(|i| from_canonical(service, ms, i))
                    .collect(),
            )
        }
        (ShapeKind::Map { value, .. }, Value::Object(obj)) => {
            let vs = service.shape(*value);
            Cbor::Map(
                obj.iter()
                    .map(|(k, i)| (Cbor::Text(k.clone()), from_canonical(service, vs, i)))
                    .collect(),
            )
        }
        (ShapeKind::Timestamp, Value::Number(n)) => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or_default())))
        }
        (ShapeKind::Blob, Value::String(s)) => Cbor::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .unwrap_or_default(),
        ),
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => match n.as_i64() {
            Some(i) => Cbor::Integer(Integer::from(i)),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        (ShapeKind::Double | ShapeKind::Float, Value::String(s))
            if crate::json::NON_FINITE.contains(&s.as_str()) =>
        {
            Cbor::Float(match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            })
        }
        (ShapeKind::Double | ShapeKind::Float, Value::Number(n)) => {
            Cbor::Float(n.as_f64().unwrap_or_default())
        }
        (_, other) => generic(other),
    }
}

/// Shape-less conversion (used for error bodies and values that do not match their shape).
pub fn generic(v: &Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(Integer::from(i)),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(a) => Cbor::Array(a.iter().map(generic).collect()),
        Value::Object(o) => Cbor::Map(
            o.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), generic(v)))
                .collect(),
        ),
    }
}

/// An error body (`__type`, `message`, further members) as CBOR.
pub fn encode_error(body: &Value) -> Vec<u8> {
    let v = generic(body);
    let mut out = Vec::new();
    ciborium::ser::into_writer(&v, &mut out).expect("writing CBOR to a Vec cannot fail");
    out
}
