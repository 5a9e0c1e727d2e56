//! Constraint validation of canonical values against the model: required members, lengths,
//! ranges, patterns and enums, with AWS's "N validation errors detected" messages.

use crate::path::{Path, Seg};
use nephoscope_model::meta::{ServiceDef, ShapeDef, ShapeId, ShapeKind};
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// One failed constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Member path as AWS prints it (`logEvents.1.member.message`).
    pub path: String,
    /// The offending value rendered as AWS prints it, `None` for a missing member.
    pub value: Option<String>,
    pub constraint: String,
    /// True when the violation is a missing required member.
    pub missing: bool,
}

impl Violation {
    pub fn describe(&self) -> String {
        match &self.value {
            Some(v) => format!(
                "Value '{v}' at '{}' failed to satisfy constraint: {}",
                self.path, self.constraint
            ),
            None => format!(
                "Value null at '{}' failed to satisfy constraint: {}",
                self.path, self.constraint
            ),
        }
    }
}

/// AWS's summary message of a list of violations.
pub fn message(violations: &[Violation]) -> String {
    let n = violations.len();
    let list: Vec<String> = violations.iter().map(Violation::describe).collect();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        list.join("; ")
    )
}

/// At most this many violations are reported, as AWS does.
const MAX_REPORTED: usize = 10;

pub fn validate(service: &ServiceDef, shape: ShapeId, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    walk(
        service,
        service.shape(shape),
        value,
        &mut Path::default(),
        &mut out,
    );
    out.truncate(MAX_REPORTED);
    out
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// Pattern regexes, compiled once. `None` when the model's (Java) pattern is not valid for the
/// `regex` crate; such patterns are listed by a test so none goes unnoticed.
pub fn pattern_regex(pattern: &'static str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(pattern)
        .or_insert_with(|| Regex::new(&format!("^(?:{})$", translate_pattern(pattern))).ok())
        .clone()
}

/// Rewrites the Java regex constructs the models use that the `regex` crate spells differently.
fn translate_pattern(pattern: &str) -> String {
    match pattern {
        // "not only whitespace": Java writes it as a negative lookahead.
        p if p.starts_with("^(?!\\s*$)") => "(?s:.*\\S.*)".to_string(),
        // In a Java class, `-` after a class escape such as `\w` is a literal.
        p => p.replace("\\w-", "\\w\\-"),
    }
}

fn walk<'a>(
    service: &ServiceDef,
    shape: &ShapeDef,
    value: &'a Value,
    path: &mut Path<'a>,
    out: &mut Vec<Violation>,
) {
    if out.len() >= MAX_REPORTED || value.is_null() {
        return;
    }
    let fail = |out: &mut Vec<Violation>, path: &Path<'_>, constraint: String| {
        out.push(Violation {
            path: path.aws(),
            value: Some(render(value)),
            constraint,
            missing: false,
        })
    };
    match &shape.kind {
        ShapeKind::Structure { members, .. } => {
            let Some(obj) = value.as_object() else { return };
            for m in members.iter() {
                path.push(Seg::Member(m.name));
                match obj.get(m.name) {
                    None | Some(Value::Null) if m.required => out.push(Violation {
                        path: path.aws(),
                        value: None,
                        constraint: "Member must not be null".into(),
                        missing: true,
                    }),
                    Some(v) => walk(service, service.shape(m.shape), v, path, out),
                    None => {}
                }
                path.pop();
            }
        }
        ShapeKind::List { member } => {
            let Some(items) = value.as_array() else {
                return;
            };
            if let Some(c) = length_violation(shape, items.len()) {
                fail(out, path, c);
            }
            let ms = service.shape(*member);
            // Unconstrained numbers (PutMetricData's Values and Counts) need no walk per item.
            let plain_numbers = matches!(
                ms.kind,
                ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double | ShapeKind::Float
            ) && ms.min.is_none()
                && ms.max.is_none();
            for (i, item) in items.iter().enumerate() {
                if plain_numbers && !item.is_string() {
                    continue;
                }
                path.push(Seg::Index(i));
                walk(service, ms, item, path, out);
                path.pop();
            }
        }
        ShapeKind::Map { key, value: vs } => {
            let Some(obj) = value.as_object() else { return };
            if let Some(c) = length_violation(shape, obj.len()) {
                fail(out, path, c);
            }
            let (ks, vs) = (service.shape(*key), service.shape(*vs));
            for (k, v) in obj {
                for c in string_violations(ks, k) {
                    path.push(Seg::Member("key"));
                    out.push(Violation {
                        path: path.aws(),
                        value: Some(k.clone()),
                        constraint: c,
                        missing: false,
                    });
                    path.pop();
                }
                path.push(Seg::Member(k));
                walk(service, vs, v, path, out);
                path.pop();
            }
        }
        ShapeKind::String => {
            let Some(s) = value.as_str() else { return };
            for c in string_violations(shape, s) {
                fail(out, path, c);
            }
        }
        ShapeKind::Blob => {
            // Canonical blobs are base64; the constraint is on the decoded length.
            let Some(s) = value.as_str() else { return };
            if let Some(c) = length_violation(shape, s.len() / 4 * 3) {
                fail(out, path, c);
            }
        }
        ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double | ShapeKind::Float => {
            let Some(n) = value.as_f64() else {
                if value.is_string() {
                    fail(out, path, "Member must be a finite number".into());
                }
                return;
            };
            if let Some(min) = shape.min {
                if n < min as f64 {
                    fail(
                        out,
                        path,
                        format!("Member must have value greater than or equal to {min}"),
                    );
                }
            }
            if let Some(max) = shape.max {
                if n > max as f64 {
                    fail(
                        out,
                        path,
                        format!("Member must have value less than or equal to {max}"),
                    );
                }
            }
        }
        ShapeKind::Boolean | ShapeKind::Timestamp => {}
    }
}

/// Failed constraints of a string: length, then enum or pattern (each reported, as AWS does).
pub(crate) fn string_violations(shape: &ShapeDef, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    // A UTF-8 byte length bounds the character count from above, and from below by a factor
    // of four: count characters only when the bytes cannot decide.
    let bytes = s.len() as i64;
    let undecided =
        shape.max.is_some_and(|m| bytes > m) || shape.min.is_some_and(|m| bytes < m * 4);
    let len = if undecided {
        s.chars().count()
    } else {
        s.len()
    };
    out.extend(length_violation(shape, len));
    if !shape.enum_values.is_empty() {
        if !shape.enum_values.contains(&s) {
            out.push(format!(
                "Member must satisfy enum value set: [{}]",
                shape.enum_values.join(", ")
            ));
        }
    } else if let Some(pattern) = shape.pattern {
        if pattern_regex(pattern).is_some_and(|re| !re.is_match(s)) {
            out.push(format!(
                "Member must satisfy regular expression pattern: {pattern}"
            ));
        }
    }
    out
}

pub(crate) fn length_violation(shape: &ShapeDef, len: usize) -> Option<String> {
    if let Some(min) = shape.min {
        if (len as i64) < min {
            return Some(format!(
                "Member must have length greater than or equal to {min}"
            ));
        }
    }
    if let Some(max) = shape.max {
        if (len as i64) > max {
            return Some(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use nephoscope_model::generated::{cloudwatch, logs};
    use serde_json::json;

    fn check(service: &ServiceDef, op: &str, input: Value, want: &[&str]) {
        let op = service.operation(op).unwrap();
        let got: Vec<String> = validate(service, op.input.unwrap(), &input)
            .iter()
            .map(Violation::describe)
            .collect();
        assert_eq!(got, want, "{input}");
    }

    #[test]
    fn validation_table() {
        let long = "x".repeat(300);
        check(&cloudwatch::SERVICE, "ListMetrics", json!({}), &[]);
        check(
            &cloudwatch::SERVICE,
            "ListMetrics",
            json!({ "Namespace": long }),
            &[&format!("Value '{long}' at 'Namespace' failed to satisfy constraint: Member must have length less than or equal to 255")],
        );
        check(
            &cloudwatch::SERVICE,
            "ListMetrics",
            json!({ "RecentlyActive": "PT1H" }),
            &["Value 'PT1H' at 'RecentlyActive' failed to satisfy constraint: Member must satisfy enum value set: [PT3H]"],
        );
        check(
            &logs::SERVICE,
            "CreateLogGroup",
            json!({}),
            &["Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"],
        );
        check(
            &logs::SERVICE,
            "CreateLogGroup",
            json!({ "logGroupName": "bad name" }),
            &["Value 'bad name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"],
        );
        check(
            &logs::SERVICE,
            "PutLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": [{ "timestamp": 1 }] }),
            &["Value null at 'logEvents.1.member.message' failed to satisfy constraint: Member must not be null"],
        );
        check(
            &logs::SERVICE,
            "ListTagsForResource",
            json!({ "resourceArn": "arn:aws:logs:us-east-1:000000000000:log-group:g" }),
            &[],
        );
        check(
            &cloudwatch::SERVICE,
            "PutMetricData",
            json!({ "Namespace": "n", "MetricData": [{ "MetricName": "m", "Value": "NaN" }] }),
            &["Value 'NaN' at 'MetricData.1.member.Value' failed to satisfy constraint: Member must be a finite number"],
        );
        check(
            &logs::SERVICE,
            "DescribeLogGroups",
            json!({ "limit": 0 }),
            &["Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"],
        );
    }

    #[test]
    fn message_counts_violations() {
        let v = Violation {
            path: "a".into(),
            value: None,
            constraint: "Member must not be null".into(),
            missing: true,
        };
        assert_eq!(
            message(&[v.clone(), v]),
            "2 validation errors detected: Value null at 'a' failed to satisfy constraint: Member must not be null; Value null at 'a' failed to satisfy constraint: Member must not be null"
        );
    }

    /// Every pattern of every model compiles (after the Java rewrites of `translate_pattern`).
    #[test]
    fn model_patterns_compile() {
        let mut failing = Vec::new();
        for service in nephoscope_model::services() {
            for shape in service.shapes {
                if let Some(p) = shape.pattern {
                    if pattern_regex(p).is_none() {
                        failing.push(format!("{}:{}", service.name, shape.name));
                    }
                }
            }
        }
        assert_eq!(failing, Vec::<String>::new());
    }
}
