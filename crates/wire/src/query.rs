//! AWS Query protocol: form-encoded requests (`Action`, `Version`, `A.member.N`, `M.entry.N.key`)
//! decoded into the canonical form, and XML responses and errors.

use crate::ApiError;
use nephoscope_model::meta::{OperationDef, ServiceDef, ShapeDef, ShapeKind};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Deepest parameter key accepted (`A.member.1.B.member.2.C…`); real keys stay far below it,
/// and the bound keeps the tree's depth (and the stack of recursive walks) small.
pub const MAX_KEY_PARTS: usize = 32;

/// Form parameters as a tree split on `.`.
#[derive(Debug, Default)]
pub struct ParamTree {
    value: Option<String>,
    children: BTreeMap<String, ParamTree>,
    /// Why the form cannot be decoded (a key too deep), reported by [`decode`].
    malformed: Option<String>,
}

impl ParamTree {
    pub fn parse(form: &[u8]) -> ParamTree {
        let mut root = ParamTree::default();
        for (k, v) in form_urlencoded::parse(form) {
            if k.split('.').nth(MAX_KEY_PARTS).is_some() {
                root.malformed = Some(format!(
                    "Parameter name has more than {MAX_KEY_PARTS} parts: '{}…'",
                    k.chars().take(64).collect::<String>()
                ));
                continue;
            }
            let mut node = &mut root;
            for part in k.split('.') {
                node = node.children.entry(part.to_string()).or_default();
            }
            node.value = Some(v.into_owned());
        }
        root
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.children.get(key).and_then(|n| n.value.as_deref())
    }
}

fn scalar<'a>(node: &'a ParamTree, path: &str) -> Result<&'a str, ApiError> {
    node.value.as_deref().ok_or_else(|| {
        ApiError::malformed_query(format!("Parameter '{path}' must be a single value"))
    })
}

/// Decodes the parameters of an operation's input structure.
pub fn decode(
    service: &ServiceDef,
    shape: &ShapeDef,
    params: &ParamTree,
) -> Result<Value, ApiError> {
    if let Some(why) = &params.malformed {
        return Err(ApiError::malformed_query(why.clone()));
    }
    decode_node(service, shape, params, "")
}

fn numbered<'a>(node: &'a ParamTree, path: &str) -> Result<Vec<(usize, &'a ParamTree)>, ApiError> {
    let mut items = Vec::new();
    for (k, child) in &node.children {
        let i: usize = k.parse().ok().filter(|i| *i >= 1).ok_or_else(|| {
            ApiError::malformed_query(format!("Invalid list index '{k}' in '{path}'"))
        })?;
        items.push((i, child));
    }
    items.sort_by_key(|(i, _)| *i);
    Ok(items)
}

fn decode_node(
    service: &ServiceDef,
    shape: &ShapeDef,
    node: &ParamTree,
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
            let mut obj = Map::new();
            for m in members.iter() {
                if let Some(child) = node.children.get(m.name) {
                    obj.insert(
                        m.name.to_string(),
                        decode_node(service, service.shape(m.shape), child, &sub(m.name))?,
                    );
                }
            }
            Value::Object(obj)
        }
        ShapeKind::List { member } => {
            let ms = service.shape(*member);
            let mut out = Vec::new();
            // `X=` with no members is the empty list.
            if let Some(members) = node.children.get("member") {
                for (i, child) in numbered(members, path)? {
                    out.push(decode_node(
                        service,
                        ms,
                        child,
                        &format!("{path}.member.{i}"),
                    )?);
                }
            }
            Value::Array(out)
        }
        ShapeKind::Map { key, value } => {
            let (ks, vs) = (service.shape(*key), service.shape(*value));
            let mut obj = Map::new();
            if let Some(entries) = node.children.get("entry") {
                for (i, entry) in numbered(entries, path)? {
                    let p = format!("{path}.entry.{i}");
                    let k = entry
                        .children
                        .get("key")
                        .ok_or_else(|| ApiError::malformed_query(format!("Missing '{p}.key'")))?;
                    let k = decode_node(service, ks, k, &format!("{p}.key"))?;
                    let v = match entry.children.get("value") {
                        Some(v) => decode_node(service, vs, v, &format!("{p}.value"))?,
                        None => Value::Null,
                    };
                    obj.insert(k.as_str().unwrap_or_default().to_string(), v);
                }
            }
            Value::Object(obj)
        }
        ShapeKind::String | ShapeKind::Blob => Value::String(scalar(node, path)?.to_string()),
        ShapeKind::Boolean => match scalar(node, path)? {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => return Err(bad(path, other, "a boolean")),
        },
        ShapeKind::Integer | ShapeKind::Long => {
            let s = scalar(node, path)?;
            let n: i64 = s.trim().parse().map_err(|_| bad(path, s, "an integer"))?;
            if matches!(shape.kind, ShapeKind::Integer) && i32::try_from(n).is_err() {
                return Err(bad(path, s, "a 32-bit integer"));
            }
            Value::Number(n.into())
        }
        ShapeKind::Double | ShapeKind::Float => {
            let s = scalar(node, path)?;
            let n: f64 = s.trim().parse().map_err(|_| bad(path, s, "a number"))?;
            crate::json::double(n)
        }
        ShapeKind::Timestamp => {
            let s = scalar(node, path)?;
            let secs = crate::timestamp::parse_iso8601(s)
                .or_else(|| s.parse::<f64>().ok())
                .ok_or_else(|| bad(path, s, "an ISO-8601 timestamp"))?;
            Value::Number(Number::from_f64(secs).ok_or_else(|| bad(path, s, "a timestamp"))?)
        }
    })
}

fn bad(path: &str, value: &str, what: &str) -> ApiError {
    ApiError::malformed_query(format!(
        "Value '{value}' for parameter '{path}' is not {what}"
    ))
}

pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// `<OpResponse xmlns=…><OpResult>…</OpResult><ResponseMetadata>…</OpResponse>`.
pub fn encode_response(
    service: &ServiceDef,
    op: &OperationDef,
    output: &Value,
    request_id: &str,
) -> String {
    let ns = service.xml_namespace.unwrap_or_default();
    let mut out = String::with_capacity(512);
    write!(out, "<{}Response xmlns=\"{ns}\">", op.name).unwrap();
    if let Some(shape) = op.output {
        let wrapper = op
            .result_wrapper
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}Result", op.name));
        write!(out, "<{wrapper}>").unwrap();
        write_members(service, service.shape(shape), output, &mut out);
        write!(out, "</{wrapper}>").unwrap();
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape(request_id, &mut out);
    write!(out, "</RequestId></ResponseMetadata></{}Response>", op.name).unwrap();
    out
}

fn write_members(service: &ServiceDef, shape: &ShapeDef, v: &Value, out: &mut String) {
    let Some(obj) = v.as_object() else { return };
    for m in shape.members() {
        if let Some(mv) = obj.get(m.name).filter(|mv| !mv.is_null()) {
            write!(out, "<{}>", m.name).unwrap();
            write_value(service, service.shape(m.shape), mv, out);
            write!(out, "</{}>", m.name).unwrap();
        }
    }
}

fn write_value(service: &ServiceDef, shape: &ShapeDef, v: &Value, out: &mut String) {
    match &shape.kind {
        ShapeKind::Structure { .. } => write_members(service, shape, v, out),
        ShapeKind::List { member } => {
            let ms = service.shape(*member);
            for item in v.as_array().into_iter().flatten() {
                out.push_str("<member>");
                write_value(service, ms, item, out);
                out.push_str("</member>");
            }
        }
        ShapeKind::Map { key, value } => {
            let (ks, vs) = (service.shape(*key), service.shape(*value));
            for (k, item) in v.as_object().into_iter().flatten() {
                out.push_str("<entry><key>");
                write_value(service, ks, &Value::String(k.clone()), out);
                out.push_str("</key><value>");
                write_value(service, vs, item, out);
                out.push_str("</value></entry>");
            }
        }
        ShapeKind::Timestamp => {
            if let Some(secs) = v.as_f64() {
                out.push_str(&crate::timestamp::format_iso8601(secs));
            }
        }
        _ => match v {
            Value::String(s) => escape(s, out),
            Value::Number(n) => write!(out, "{n}").unwrap(),
            Value::Bool(b) => write!(out, "{b}").unwrap(),
            _ => {}
        },
    }
}

pub fn encode_error(service: Option<&ServiceDef>, err: &ApiError, request_id: &str) -> String {
    let ns = service
        .and_then(|s| s.xml_namespace)
        .unwrap_or("http://monitoring.amazonaws.com/doc/2010-08-01/");
    let mut out = String::with_capacity(256);
    write!(
        out,
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{}</Type><Code>",
        err.fault()
    )
    .unwrap();
    escape(&err.query_code, &mut out);
    out.push_str("</Code><Message>");
    escape(&err.message, &mut out);
    out.push_str("</Message></Error><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ErrorResponse>");
    out
}
