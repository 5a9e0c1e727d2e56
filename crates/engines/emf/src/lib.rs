//! Embedded Metric Format: a log event whose message is a JSON object with an `_aws` member
//! carrying `CloudWatchMetrics` directives publishes metrics. [`extract`] turns one message into
//! the metric values it declares, or says why it is not valid EMF; invalid EMF stays an ordinary
//! log event (the caller stores it either way).

use serde_json::{Map, Value};

/// Metrics per directive, dimension keys per set, values per metric (AWS's limits).
pub const MAX_METRICS: usize = 100;
pub const MAX_DIMENSIONS: usize = 30;
pub const MAX_VALUES: usize = 100;

/// One metric value set produced by a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub namespace: String,
    pub name: String,
    /// (dimension name, value), in the set's order.
    pub dimensions: Vec<(String, String)>,
    pub values: Vec<f64>,
    pub unit: String,
    pub high_resolution: bool,
    /// `_aws.Timestamp`, epoch milliseconds.
    pub timestamp_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmfError {
    /// Not JSON, or not an object, or no `_aws.CloudWatchMetrics`: an ordinary event (AWS counts
    /// malformed JSON under EMFParsingErrors).
    #[error("not an EMF document")]
    NotEmf,
    /// An EMF document that breaks the specification (AWS: EMFValidationErrors).
    #[error("invalid EMF: {0}")]
    Invalid(String),
}

fn invalid(m: impl Into<String>) -> EmfError {
    EmfError::Invalid(m.into())
}

/// Quick test before parsing: EMF documents are JSON objects mentioning `_aws`.
pub fn might_be_emf(message: &str) -> bool {
    message.trim_start().starts_with('{') && message.contains("\"_aws\"")
}

pub fn extract(message: &str) -> Result<Vec<Extracted>, EmfError> {
    if !might_be_emf(message) {
        return Err(EmfError::NotEmf);
    }
    let root: Map<String, Value> = match serde_json::from_str(message.trim()) {
        Ok(Value::Object(m)) => m,
        _ => return Err(EmfError::NotEmf),
    };
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or(EmfError::NotEmf)?;
    let directives = aws
        .get("CloudWatchMetrics")
        .ok_or(EmfError::NotEmf)?
        .as_array()
        .ok_or_else(|| invalid("_aws.CloudWatchMetrics must be an array"))?;
    let timestamp_ms = aws
        .get("Timestamp")
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid("_aws.Timestamp must be a number of epoch milliseconds"))?
        as i64;
    let mut out = Vec::new();
    for (i, d) in directives.iter().enumerate() {
        let d = d
            .as_object()
            .ok_or_else(|| invalid(format!("directive {i} must be an object")))?;
        let namespace = d
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 1024)
            .ok_or_else(|| {
                invalid(format!(
                    "directive {i}: Namespace must be a string of 1 to 1024 characters"
                ))
            })?;
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                invalid(format!(
                    "directive {i}: Dimensions must be an array of dimension sets"
                ))
            })?;
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid(format!("directive {i}: Metrics must be an array")))?;
        if metrics.len() > MAX_METRICS {
            return Err(invalid(format!(
                "directive {i}: more than {MAX_METRICS} metrics"
            )));
        }
        // Resolve every dimension set first: a missing or non-string dimension value invalidates
        // the document.
        let mut resolved_sets = Vec::new();
        for set in sets {
            let keys = set
                .as_array()
                .ok_or_else(|| invalid("a dimension set must be an array of keys"))?;
            if keys.len() > MAX_DIMENSIONS {
                return Err(invalid(format!(
                    "a dimension set has more than {MAX_DIMENSIONS} keys"
                )));
            }
            let mut dims = Vec::new();
            for k in keys {
                let k = k
                    .as_str()
                    .filter(|k| !k.is_empty() && k.len() <= 250)
                    .ok_or_else(|| {
                        invalid("dimension keys must be strings of 1 to 250 characters")
                    })?;
                let v = root
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|v| v.len() <= 1024)
                    .ok_or_else(|| {
                        invalid(format!(
                            "dimension {k} must be a root member with a string value"
                        ))
                    })?;
                dims.push((k.to_string(), v.to_string()));
            }
            resolved_sets.push(dims);
        }
        for m in metrics {
            let m = m
                .as_object()
                .ok_or_else(|| invalid("a metric definition must be an object"))?;
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.len() <= 1024)
                .ok_or_else(|| invalid("metric Name must be a string of 1 to 1024 characters"))?;
            let unit = match m.get("Unit") {
                None => "None".to_string(),
                Some(Value::String(u)) => u.clone(),
                Some(_) => return Err(invalid(format!("metric {name}: Unit must be a string"))),
            };
            let high_resolution = match m.get("StorageResolution").and_then(Value::as_i64) {
                None | Some(60) => false,
                Some(1) => true,
                Some(_) => {
                    return Err(invalid(format!(
                        "metric {name}: StorageResolution must be 1 or 60"
                    )))
                }
            };
            let values = match root.get(name) {
                Some(Value::Number(n)) => vec![n.as_f64().unwrap_or_default()],
                Some(Value::Array(a)) if a.len() <= MAX_VALUES => a
                    .iter()
                    .map(|v| {
                        v.as_f64().ok_or_else(|| {
                            invalid(format!("metric {name}: values must be numbers"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(Value::Array(_)) => {
                    return Err(invalid(format!(
                        "metric {name}: more than {MAX_VALUES} values"
                    )))
                }
                Some(_) => {
                    return Err(invalid(format!(
                        "metric {name} must be a number or an array of numbers"
                    )))
                }
                None => return Err(invalid(format!("metric {name} has no root member"))),
            };
            for dims in &resolved_sets {
                out.push(Extracted {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    dimensions: dims.clone(),
                    values: values.clone(),
                    unit: unit.clone(),
                    high_resolution,
                    timestamp_ms,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"],[]],"Metrics":[{"Name":"time","Unit":"Milliseconds","StorageResolution":60},{"Name":"BookingSuccess"}]}]},"functionVersion":"$LATEST","time":100,"BookingSuccess":[1,1],"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}"#;

    #[test]
    fn documented_example_extracts_per_dimension_set() {
        let got = extract(DOC).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].name, "time");
        assert_eq!(
            got[0].dimensions,
            vec![("functionVersion".to_string(), "$LATEST".to_string())]
        );
        assert_eq!(got[0].values, vec![100.0]);
        assert_eq!(got[0].unit, "Milliseconds");
        assert!(got[1].dimensions.is_empty());
        assert_eq!(got[2].values, vec![1.0, 1.0]);
        assert_eq!(got[2].unit, "None");
        assert_eq!(got[0].timestamp_ms, 1_574_109_732_004);
    }

    #[test]
    fn not_emf_and_invalid_table() {
        for (msg, want) in [
            ("plain text", Err(EmfError::NotEmf)),
            ("{\"a\":1}", Err(EmfError::NotEmf)),
            ("{\"_aws\": {}}", Err(EmfError::NotEmf)),
            ("{\"_aws\": [] }", Err(EmfError::NotEmf)),
            ("{not json \"_aws\"", Err(EmfError::NotEmf)),
        ] {
            assert_eq!(extract(msg), want, "{msg}");
        }
        for bad in [
            r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":1}"#, // no Timestamp
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[{"Name":"m"}]}]},"m":1}"#, // missing dimension
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":"x"}"#, // non-numeric
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m","StorageResolution":5}]}]},"m":1}"#,
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"","Dimensions":[[]],"Metrics":[]}]}}"#,
        ] {
            assert!(matches!(extract(bad), Err(EmfError::Invalid(_))), "{bad}");
        }
    }
}
