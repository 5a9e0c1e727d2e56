//! Metric filters: Put/Describe/Delete/TestMetricFilter, and their application to events as they
//! are ingested (not retroactively, as AWS): a matching event publishes `metricValue` (a number,
//! `$.json.selector` or `$field`) with dimensions taken from the event; a non-matching event
//! publishes `defaultValue` when one is set.

use crate::{decode_token, encode_token, invalid, output, rejection, scope, store_error};
use nephoscope_filter_pattern::{json_value, FilterPattern};
use nephoscope_logstore::{LogStore, MetricFilter, Mutation, Rejection, Scope, Transformation};
use nephoscope_metricstore::{Datum, SeriesKey, Values};
use nephoscope_model::types::logs::{MetricFilter as AwsMetricFilter, *};
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;
use std::collections::BTreeMap;

/// Dimensions per transformation (AWS's limit).
pub const MAX_DIMENSIONS: usize = 3;

fn pattern(p: &str) -> Result<FilterPattern, ApiError> {
    FilterPattern::parse(p).map_err(|e| invalid(format!("Invalid metric filter pattern: {e}")))
}

/// A transformation's value or dimension reference: a literal number or a field reference.
fn check_reference(r: &str, what: &str) -> Result<(), ApiError> {
    if r.parse::<f64>().is_ok() || (r.starts_with('$') && r.len() > 1) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid {what} '{r}': use a number, $.selector or $field"
        )))
    }
}

pub async fn put(
    store: &LogStore,
    ctx: &RequestContext,
    req: PutMetricFilterRequest,
) -> Result<Value, ApiError> {
    for (field, set) in [
        (
            "applyOnTransformedLogs",
            req.apply_on_transformed_logs == Some(true),
        ),
        (
            "fieldSelectionCriteria",
            req.field_selection_criteria.is_some(),
        ),
        (
            "emitSystemFieldDimensions",
            req.emit_system_field_dimensions
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
        ),
    ] {
        if set {
            return Err(invalid(format!(
                "{field} is not supported by Nephoscope yet."
            )));
        }
    }
    let filter_pattern = req.filter_pattern.unwrap_or_default();
    pattern(&filter_pattern)?;
    let mut transformations = Vec::new();
    for t in req.metric_transformations.unwrap_or_default() {
        let value = t.metric_value.unwrap_or_default();
        check_reference(&value, "metricValue")?;
        let dimensions = t.dimensions.unwrap_or_default();
        if dimensions.len() > MAX_DIMENSIONS {
            return Err(invalid(format!(
                "A metric transformation can have at most {MAX_DIMENSIONS} dimensions."
            )));
        }
        for v in dimensions.values() {
            check_reference(v, "dimension value")?;
        }
        if !dimensions.is_empty() && t.default_value.is_some() {
            return Err(invalid("defaultValue cannot be used with dimensions."));
        }
        transformations.push(Transformation {
            metric_name: t.metric_name.unwrap_or_default(),
            namespace: t.metric_namespace.unwrap_or_default(),
            value,
            default_value: t.default_value,
            dimensions,
            unit: t.unit,
        });
    }
    store
        .mutate(Mutation::PutMetricFilter {
            scope: scope(ctx),
            group: req.log_group_name.unwrap_or_default(),
            name: req.filter_name.unwrap_or_default(),
            filter: MetricFilter {
                pattern: filter_pattern,
                creation_time: store.now(),
                transformations,
            },
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    output(Value::Object(Default::default()))
}

pub async fn delete(
    store: &LogStore,
    ctx: &RequestContext,
    req: DeleteMetricFilterRequest,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::DeleteMetricFilter {
            scope: scope(ctx),
            group: req.log_group_name.unwrap_or_default(),
            name: req.filter_name.unwrap_or_default(),
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    output(Value::Object(Default::default()))
}

fn aws_filter(group: &str, name: &str, f: &MetricFilter) -> AwsMetricFilter {
    AwsMetricFilter {
        filter_name: Some(name.to_string()),
        filter_pattern: Some(f.pattern.clone()),
        metric_transformations: Some(
            f.transformations
                .iter()
                .map(|t| MetricTransformation {
                    metric_name: Some(t.metric_name.clone()),
                    metric_namespace: Some(t.namespace.clone()),
                    metric_value: Some(t.value.clone()),
                    default_value: t.default_value,
                    dimensions: (!t.dimensions.is_empty()).then(|| t.dimensions.clone()),
                    unit: t.unit.clone(),
                })
                .collect(),
        ),
        creation_time: Some(f.creation_time),
        log_group_name: Some(group.to_string()),
        apply_on_transformed_logs: Some(false),
        ..AwsMetricFilter::default()
    }
}

pub fn describe(
    store: &LogStore,
    ctx: &RequestContext,
    req: DescribeMetricFiltersRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    if req.metric_name.is_some() != req.metric_namespace.is_some() {
        return Err(invalid(
            "metricName and metricNamespace must be specified together.",
        ));
    }
    // AWS uses filterNamePrefix "only if you also include the logGroupName parameter".
    let prefix = req
        .log_group_name
        .as_ref()
        .and(req.filter_name_prefix.as_ref());
    let st = store.read();
    let groups: Vec<(&String, &nephoscope_logstore::Group)> = match &req.log_group_name {
        Some(g) => vec![st
            .scopes
            .get(&scope)
            .and_then(|m| m.get_key_value(g))
            .ok_or_else(|| rejection(Rejection::GroupNotFound))?],
        None => st
            .scopes
            .get(&scope)
            .map(|m| m.iter().collect())
            .unwrap_or_default(),
    };
    let mut all = Vec::new();
    for (gname, g) in groups {
        for (name, f) in &g.metric_filters {
            if prefix.is_some_and(|p| !name.starts_with(p.as_str())) {
                continue;
            }
            let metric_match = match (&req.metric_name, &req.metric_namespace) {
                (Some(n), Some(ns)) => f
                    .transformations
                    .iter()
                    .any(|t| &t.metric_name == n && &t.namespace == ns),
                _ => true,
            };
            if metric_match {
                all.push(aws_filter(gname, name, f));
            }
        }
    }
    let offset: usize = match &req.next_token {
        Some(t) => decode_token(t)?
            .parse()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let limit = req.limit.map_or(50, |l| l as usize);
    let next_token =
        (offset + limit < all.len()).then(|| encode_token(&(offset + limit).to_string()));
    let page = all.into_iter().skip(offset).take(limit).collect();
    output(DescribeMetricFiltersResponse {
        metric_filters: Some(page),
        next_token,
    })
}

pub fn test(req: TestMetricFilterRequest) -> Result<Value, ApiError> {
    let p = pattern(req.filter_pattern.as_deref().unwrap_or_default())?;
    let matches = req
        .log_event_messages
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let values = p.extract(&m)?;
            Some(MetricFilterMatchRecord {
                event_number: Some(i as i64 + 1),
                event_message: Some(m),
                extracted_values: Some(values),
            })
        })
        .collect();
    output(TestMetricFilterResponse {
        matches: Some(matches),
    })
}

/// Resolves a reference against an event: from the pattern's extracted values, else (JSON
/// selectors) from the event itself.
fn resolve(reference: &str, extracted: &BTreeMap<String, String>, message: &str) -> Option<String> {
    if let Some(v) = extracted.get(reference) {
        return Some(v.clone());
    }
    if reference.starts_with("$.") {
        return json_value(message, reference);
    }
    None
}

/// The metric data the group's metric filters publish for `events` (timestamp, message).
pub(crate) fn apply(
    store: &LogStore,
    scope: &Scope,
    group: &str,
    events: &[(i64, String)],
) -> Vec<Datum> {
    let filters: Vec<MetricFilter> = {
        let st = store.read();
        match st.group(scope, group) {
            Some(g) if !g.metric_filters.is_empty() => g.metric_filters.values().cloned().collect(),
            _ => return Vec::new(),
        }
    };
    let mut out = Vec::new();
    for f in filters {
        let Ok(p) = FilterPattern::parse(&f.pattern) else {
            continue;
        };
        for (ts, message) in events {
            let extracted = p.extract(message);
            for t in &f.transformations {
                let unit = t.unit.clone().unwrap_or_else(|| "None".into());
                let (value, dimensions) = match &extracted {
                    Some(ex) => {
                        let value = if t.value.starts_with('$') {
                            resolve(&t.value, ex, message).and_then(|v| v.parse::<f64>().ok())
                        } else {
                            t.value.parse::<f64>().ok()
                        };
                        // An event without a numeric value or a dimension value publishes nothing.
                        let dims: Option<Vec<(String, String)>> = t
                            .dimensions
                            .iter()
                            .map(|(k, r)| resolve(r, ex, message).map(|v| (k.clone(), v)))
                            .collect();
                        match (value, dims) {
                            (Some(v), Some(d)) => (v, d),
                            _ => continue,
                        }
                    }
                    None => match t.default_value {
                        Some(d) => (d, Vec::new()),
                        None => continue,
                    },
                };
                out.push(Datum {
                    key: SeriesKey::new(&t.namespace, &t.metric_name, dimensions),
                    timestamp_ms: *ts,
                    unit,
                    high_resolution: false,
                    values: Values::Raw(vec![(value, 1.0)]),
                });
            }
        }
    }
    out
}
