//! PutMetricData: AWS's datum rules, then one durable batch into the metric store.

use crate::{invalid_combination, invalid_value, missing, output, scope};
use nephoscope_metricstore::{Datum, MetricStore, Mutation, SeriesKey, StoreError, Values};
use nephoscope_model::types::cloudwatch::*;
use nephoscope_wire::{ApiError, Output, RequestContext};
use serde_json::Value;
use std::collections::HashSet;

/// Data points may be at most two weeks old and two hours in the future.
pub const MAX_AGE_MS: i64 = 14 * 86_400_000;
pub const MAX_FUTURE_MS: i64 = 2 * 3_600_000;
/// Metrics per call, and distinct values per `Values` array (AWS's limits).
pub const MAX_DATUMS: usize = 1000;
pub const MAX_VALUES: usize = 150;
/// CloudWatch rejects values beyond ±2^360.
pub const MAX_MAGNITUDE: f64 = 2.348_542_582_773_833_2e108;

pub(crate) fn storage_error(e: StoreError, request_id: &str) -> ApiError {
    tracing::error!(request_id, error = %e, "metric store failure");
    ApiError::modeled(
        &nephoscope_model::generated::cloudwatch::SERVICE,
        "InternalServiceFault",
        "The service cannot complete the request.",
    )
}

/// `field` names the parameter; it is only built for the error.
fn check_value(v: f64, field: impl FnOnce() -> String) -> Result<(), ApiError> {
    if !v.is_finite() || v.abs() > MAX_MAGNITUDE {
        return Err(invalid_value(format!(
            "The value {v} for parameter {} is invalid.",
            field()
        )));
    }
    Ok(())
}

/// What is wrong with an entity, as AWS names it in `X-Amzn-Failure-Message`.
fn entity_failure(e: Option<&Entity>) -> Option<&'static str> {
    let Some(keys) = e.and_then(|e| e.key_attributes.as_ref()) else {
        return Some("InvalidEntity");
    };
    const ALLOWED: [&str; 5] = ["Type", "ResourceType", "Identifier", "Name", "Environment"];
    if keys.keys().any(|k| !ALLOWED.contains(&k.as_str())) {
        return Some("InvalidKeyAttributes");
    }
    let required: &[&str] = match keys.get("Type").map(String::as_str) {
        Some("Service" | "AWS::Service") => &["Name", "Environment"],
        Some("Resource" | "AWS::Resource") => &["ResourceType", "Identifier"],
        _ => return Some("InvalidTypeValue"),
    };
    if required.iter().any(|k| !keys.contains_key(*k)) {
        return Some("MissingRequiredFields");
    }
    None
}

/// EntityMetricData entries per call.
pub const MAX_ENTITIES: usize = 2;

pub async fn put_metric_data(
    store: &MetricStore,
    ctx: &RequestContext,
    req: PutMetricDataInput,
) -> Result<Output, ApiError> {
    let namespace = req.namespace.unwrap_or_default();
    if namespace.starts_with("AWS/") {
        return Err(invalid_value(format!(
            "The value {namespace} for parameter Namespace is invalid: the AWS/ prefix is reserved."
        )));
    }
    let entities = req.entity_metric_data.unwrap_or_default();
    // The entity's failure, reported in a header when validation is not strict.
    let mut failure: Option<&'static str> = None;
    if !entities.is_empty() {
        let Some(strict) = req.strict_entity_validation else {
            return Err(missing(
                "The parameter StrictEntityValidation is required when EntityMetricData is specified.",
            ));
        };
        failure = if entities.len() > MAX_ENTITIES {
            Some("EntitySizeTooLarge")
        } else {
            entities
                .iter()
                .find_map(|e| entity_failure(e.entity.as_ref()))
        };
        if let (true, Some(f)) = (strict, failure) {
            return Err(invalid_value(format!(
                "The parameter EntityMetricData is invalid: {f}."
            )));
        }
    }
    let metric_data = req.metric_data.unwrap_or_default();
    let total = metric_data.len()
        + entities
            .iter()
            .map(|e| e.metric_data.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
    if total > MAX_DATUMS {
        return Err(invalid_value(format!(
            "The collection MetricData must not have a size greater than {MAX_DATUMS}."
        )));
    }
    let now = store.now();
    let mut datums = Vec::with_capacity(total);
    for (i, d) in metric_data.into_iter().enumerate() {
        datums.push(datum(d, &namespace, now, &|f| {
            format!("MetricData.member.{}.{f}", i + 1)
        })?);
    }
    for (e, entity) in entities.into_iter().enumerate() {
        for (i, d) in entity
            .metric_data
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            datums.push(datum(d, &namespace, now, &|f| {
                format!(
                    "EntityMetricData.member.{}.MetricData.member.{}.{f}",
                    e + 1,
                    i + 1
                )
            })?);
        }
    }
    store
        .mutate(Mutation::Put {
            scope: scope(ctx),
            datums,
        })
        .await
        .map_err(|e| storage_error(e, &ctx.request_id))?;
    let out = Output::from(output(Value::Object(Default::default()))?);
    Ok(match failure {
        Some(f) => out.with_header("X-Amzn-Failure-Message", f.to_string()),
        None => out,
    })
}

/// One datum checked and converted; `at` names its fields for errors.
fn datum(
    d: MetricDatum,
    namespace: &str,
    now: i64,
    at: &dyn Fn(&str) -> String,
) -> Result<Datum, ApiError> {
    let given = [
        d.value.is_some(),
        d.statistic_values.is_some(),
        d.values.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(invalid_combination(format!(
            "The parameters {}, {} and {} are mutually exclusive and you have specified more than one.",
            at("Value"),
            at("StatisticValues"),
            at("Values")
        )));
    }
    let ts = match d.timestamp {
        Some(t) => (t.0 * 1000.0).round() as i64,
        None => now,
    };
    if ts < now - MAX_AGE_MS {
        return Err(invalid_value(format!(
            "The parameter {} must specify a time no more than two weeks in the past.",
            at("Timestamp")
        )));
    }
    if ts > now + MAX_FUTURE_MS {
        return Err(invalid_value(format!(
            "The parameter {} must specify a time no more than two hours in the future.",
            at("Timestamp")
        )));
    }
    let high_resolution = match d.storage_resolution {
        None | Some(60) => false,
        Some(1) => true,
        Some(other) => {
            return Err(invalid_value(format!(
                "The value {other} for parameter {} is invalid: use 1 or 60.",
                at("StorageResolution")
            )))
        }
    };
    let values = if let Some(v) = d.value {
        check_value(v, || at("Value"))?;
        Values::Ones(vec![v])
    } else if let Some(s) = d.statistic_values {
        let (count, sum, min, max) = (
            s.sample_count.unwrap_or_default(),
            s.sum.unwrap_or_default(),
            s.minimum.unwrap_or_default(),
            s.maximum.unwrap_or_default(),
        );
        for (v, f) in [
            (count, "SampleCount"),
            (sum, "Sum"),
            (min, "Minimum"),
            (max, "Maximum"),
        ] {
            check_value(v, || at(&format!("StatisticValues.{f}")))?;
        }
        if count <= 0.0 || min > max {
            return Err(invalid_value(format!(
                "The parameter {} is invalid: SampleCount must be positive and Minimum at most Maximum.",
                at("StatisticValues")
            )));
        }
        Values::Set {
            count,
            sum,
            min,
            max,
        }
    } else if let Some(vs) = d.values {
        let distinct = || {
            vs.iter()
                .map(|v| v.to_bits())
                .collect::<HashSet<u64>>()
                .len()
        };
        if vs.len() > MAX_VALUES && distinct() > MAX_VALUES {
            return Err(invalid_value(format!(
                "The collection {} must not have a size greater than {MAX_VALUES}.",
                at("Values")
            )));
        }
        if d.counts.as_ref().is_some_and(|cs| cs.len() != vs.len()) {
            return Err(invalid_value(format!(
                "The parameters {} and {} must be of the same size.",
                at("Values"),
                at("Counts")
            )));
        }
        match d.counts {
            // Each value counted once (the usual case): the values go on as they came.
            Some(counts) if counts.iter().any(|c| *c != 1.0) => {
                let mut pairs = Vec::with_capacity(vs.len());
                for (v, c) in vs.into_iter().zip(counts) {
                    check_value(v, || at("Values"))?;
                    check_value(c, || at("Counts"))?;
                    if c > 0.0 {
                        pairs.push((v, c));
                    }
                }
                Values::Raw(pairs)
            }
            _ => {
                for v in &vs {
                    check_value(*v, || at("Values"))?;
                }
                Values::Ones(vs)
            }
        }
    } else {
        return Err(invalid_combination(format!(
            "One of the parameters {}, {} or {} must be specified.",
            at("Value"),
            at("StatisticValues"),
            at("Values")
        )));
    };
    // The datum's strings move into the key (`series_key` would copy them).
    let mut dimensions: Vec<(String, String)> = d
        .dimensions
        .unwrap_or_default()
        .into_iter()
        .map(|x| (x.name.unwrap_or_default(), x.value.unwrap_or_default()))
        .collect();
    dimensions.sort();
    Ok(Datum {
        key: SeriesKey {
            namespace: namespace.to_string(),
            name: d.metric_name.unwrap_or_default(),
            dimensions,
        },
        timestamp_ms: ts,
        unit: d.unit.unwrap_or_else(|| "None".into()),
        high_resolution,
        values,
    })
}
