//! PutMetricData: AWS's datum rules, then one durable batch into the metric store.

use crate::{invalid_combination, invalid_value, output, scope, series_key};
use nephoscope_metricstore::{Datum, MetricStore, Mutation, StoreError, Values};
use nephoscope_model::types::cloudwatch::*;
use nephoscope_wire::{ApiError, RequestContext};
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

pub async fn put_metric_data(
    store: &MetricStore,
    ctx: &RequestContext,
    req: PutMetricDataInput,
) -> Result<Value, ApiError> {
    let namespace = req.namespace.unwrap_or_default();
    if namespace.starts_with("AWS/") {
        return Err(invalid_value(format!(
            "The value {namespace} for parameter Namespace is invalid: the AWS/ prefix is reserved."
        )));
    }
    if req
        .entity_metric_data
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(invalid_value(
            "EntityMetricData is not supported by Nephoscope yet.",
        ));
    }
    let metric_data = req.metric_data.unwrap_or_default();
    if metric_data.len() > MAX_DATUMS {
        return Err(invalid_value(format!(
            "The collection MetricData must not have a size greater than {MAX_DATUMS}."
        )));
    }
    let now = store.now();
    let mut datums = Vec::new();
    for (i, d) in metric_data.into_iter().enumerate() {
        let at = |f: &str| format!("MetricData.member.{}.{f}", i + 1);
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
            Values::Raw(vec![(v, 1.0)])
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
            let counts = d.counts.unwrap_or_else(|| vec![1.0; vs.len()]);
            if counts.len() != vs.len() {
                return Err(invalid_value(format!(
                    "The parameters {} and {} must be of the same size.",
                    at("Values"),
                    at("Counts")
                )));
            }
            let mut pairs = Vec::with_capacity(vs.len());
            for (v, c) in vs.into_iter().zip(counts) {
                check_value(v, || at("Values"))?;
                check_value(c, || at("Counts"))?;
                if c > 0.0 {
                    pairs.push((v, c));
                }
            }
            Values::Raw(pairs)
        } else {
            return Err(invalid_combination(format!(
                "One of the parameters {}, {} or {} must be specified.",
                at("Value"),
                at("StatisticValues"),
                at("Values")
            )));
        };
        datums.push(Datum {
            key: series_key(
                &namespace,
                d.metric_name.as_deref().unwrap_or_default(),
                d.dimensions.as_deref().unwrap_or_default(),
            ),
            timestamp_ms: ts,
            unit: d.unit.unwrap_or_else(|| "None".into()),
            high_resolution,
            values,
        });
    }
    store
        .mutate(Mutation::Put {
            scope: scope(ctx),
            datums,
        })
        .await
        .map_err(|e| storage_error(e, &ctx.request_id))?;
    output(Value::Object(Default::default()))
}
