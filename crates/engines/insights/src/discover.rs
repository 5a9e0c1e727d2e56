//! JSON auto-discovery (flattening) and GetLogGroupFields statistics.

use crate::value::Value;
use std::collections::HashMap;

/// At most this many fields are reported per log group.
pub const MAX_DISCOVERED_FIELDS: usize = 1000;

/// Flatten a JSON-object message into `name → value` pairs: nested keys joined with `.`,
/// array elements by index (`a.items.0.id`), JSON nulls and empty containers skipped, and a
/// name that already starts with `@` exposed with an extra `@` (`@@example.com`). A VPC flow
/// log or Route 53 query log line gives its format's fields instead
/// ([`crate::servicelogs`]). Returns false when the message is none of these.
pub fn flatten_message(msg: &str, f: &mut dyn FnMut(String, Value)) -> bool {
    let t = msg.trim_start();
    if !t.starts_with('{') {
        return crate::servicelogs::service_fields(msg, &mut |k, v| {
            f(k.to_string(), Value::Str(v.to_string()))
        });
    }
    let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(t) else {
        return false;
    };
    for (k, v) in &o {
        let name = if k.starts_with('@') {
            format!("@{k}")
        } else {
            k.clone()
        };
        walk(name, v, f);
    }
    true
}

pub(crate) fn walk(name: String, v: &serde_json::Value, f: &mut dyn FnMut(String, Value)) {
    match v {
        serde_json::Value::Null => {}
        serde_json::Value::Bool(b) => f(name, Value::Str(b.to_string())),
        serde_json::Value::Number(n) => f(name, Value::Str(n.to_string())),
        serde_json::Value::String(s) => f(name, Value::Str(s.clone())),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(format!("{name}.{i}"), x, f);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                walk(format!("{name}.{k}"), x, f);
            }
        }
    }
}

/// The discovered fields of one message with their values as query results render them
/// (GetLogRecord); empty for a message without any ([`flatten_message`]).
pub fn message_fields(msg: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    flatten_message(msg, &mut |k, v| out.push((k, v.render())));
    out
}

/// GetLogGroupFields: every field with the percentage of the given events that contain it,
/// system fields included, sorted by percent (descending) then name.
pub fn discover_fields<'a>(messages: impl Iterator<Item = &'a str>) -> Vec<(String, f64)> {
    let mut total = 0usize;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for m in messages {
        total += 1;
        let mut seen: Vec<String> = Vec::new();
        flatten_message(m, &mut |k, _| seen.push(k));
        seen.sort();
        seen.dedup();
        for k in seen {
            *counts.entry(k).or_default() += 1;
        }
    }
    if total == 0 {
        return Vec::new();
    }
    for s in [
        "@timestamp",
        "@message",
        "@logStream",
        "@log",
        "@ingestionTime",
    ] {
        counts.insert(s.to_string(), total);
    }
    let mut out: Vec<(String, f64)> = counts
        .into_iter()
        .map(|(k, c)| (k, c as f64 * 100.0 / total as f64))
        .collect();
    out.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    out.truncate(MAX_DISCOVERED_FIELDS);
    out
}
