//! CloudWatch metrics on the metric store: PutMetricData, ListMetrics, GetMetricStatistics and
//! GetMetricData (metric statistics, metric math, SEARCH, Metrics Insights queries, dynamic
//! labels) and anomaly detectors (PutAnomalyDetector, DescribeAnomalyDetectors,
//! DeleteAnomalyDetector). Every protocol (JSON 1.0, Query, RPC v2 CBOR) reaches the same code through the wire
//! layer.

pub mod anomaly;
pub mod detectors;
pub mod fuzzing;
pub mod labels;
pub mod metricsql;
mod put;
mod read;
pub mod search;
mod stat;
mod training;

use nephoscope_metricstore::{MetricStore, Scope, SeriesKey};
use nephoscope_model::generated::cloudwatch::SERVICE;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_model::types::cloudwatch::Dimension;
use nephoscope_wire::{ApiError, HandlerFuture, Input, Output, RequestContext, Service};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

const BUILT: &[&str] = &[
    "DeleteAnomalyDetector",
    "DescribeAnomalyDetectors",
    "GetMetricData",
    "GetMetricStatistics",
    "ListMetrics",
    "PutAnomalyDetector",
    "PutMetricData",
];

pub struct CloudWatch {
    store: Arc<MetricStore>,
    pages: Arc<read::PageCache>,
}

impl CloudWatch {
    pub fn new(store: Arc<MetricStore>) -> Self {
        CloudWatch {
            store,
            pages: Default::default(),
        }
    }
}

pub(crate) fn invalid_value(message: impl Into<String>) -> ApiError {
    ApiError::modeled(&SERVICE, "InvalidParameterValueException", message)
}

pub(crate) fn invalid_combination(message: impl Into<String>) -> ApiError {
    ApiError::modeled(&SERVICE, "InvalidParameterCombinationException", message)
}

pub(crate) fn missing(message: impl Into<String>) -> ApiError {
    ApiError::modeled(&SERVICE, "MissingRequiredParameterException", message)
}

pub(crate) fn scope(ctx: &RequestContext) -> Scope {
    Scope {
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
    }
}

pub(crate) fn series_key(namespace: &str, name: &str, dims: &[Dimension]) -> SeriesKey {
    SeriesKey::new(
        namespace,
        name,
        dims.iter()
            .map(|d| {
                (
                    d.name.clone().unwrap_or_default(),
                    d.value.clone().unwrap_or_default(),
                )
            })
            .collect(),
    )
}

pub(crate) fn parse<T: DeserializeOwned + 'static>(input: Input) -> Result<T, ApiError> {
    input.parse()
}

pub(crate) fn output<T: Serialize>(out: T) -> Result<Value, ApiError> {
    serde_json::to_value(out).map_err(|e| ApiError::serialization(e.to_string()))
}

impl Service for CloudWatch {
    fn model(&self) -> &'static ServiceDef {
        &SERVICE
    }

    fn implements(&self, operation: &str) -> bool {
        BUILT.contains(&operation)
    }

    fn reset(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send>> {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .mutate(nephoscope_metricstore::Mutation::Reset)
                .await
                .map_err(|e| put::storage_error(e, "reset"))
        })
    }

    fn decode_json(&self, op: &'static OperationDef, body: &[u8]) -> Option<Input> {
        match op.name {
            "PutMetricData" => nephoscope_wire::typed::decode_json::<
                nephoscope_model::types::cloudwatch::PutMetricDataInput,
            >(&SERVICE, op, body),
            _ => None,
        }
    }

    fn decode_query(&self, op: &'static OperationDef, form: &[u8]) -> Option<Input> {
        match op.name {
            "PutMetricData" => nephoscope_wire::typed::put_metric_data_form(&SERVICE, op, form),
            _ => None,
        }
    }

    fn decode_cbor(&self, op: &'static OperationDef, body: &[u8]) -> Option<Input> {
        match op.name {
            "PutMetricData" => nephoscope_wire::typed::put_metric_data_cbor(&SERVICE, op, body),
            _ => None,
        }
    }

    fn call(&self, ctx: RequestContext, op: &'static OperationDef, input: Input) -> HandlerFuture {
        let store = self.store.clone();
        let pages = self.pages.clone();
        Box::pin(async move {
            let out = match op.name {
                "PutMetricData" => return put::put_metric_data(&store, &ctx, parse(input)?).await,
                "ListMetrics" => read::list_metrics(&store, &ctx, parse(input)?),
                "GetMetricStatistics" => read::get_metric_statistics(&store, &ctx, parse(input)?),
                "PutAnomalyDetector" => {
                    detectors::put_anomaly_detector(&store, &ctx, parse(input)?).await
                }
                "DeleteAnomalyDetector" => {
                    detectors::delete_anomaly_detector(&store, &ctx, parse(input)?).await
                }
                "DescribeAnomalyDetectors" => {
                    detectors::describe_anomaly_detectors(&store, &ctx, parse(input)?)
                }
                "GetMetricData" => {
                    return read::get_metric_data(&store, &pages, &ctx, parse(input)?)
                }
                other => Err(ApiError::not_implemented(SERVICE.name, other)),
            };
            out.map(Output::from)
        })
    }
}
