//! CloudWatch Logs on the log store: groups, streams, events, retention, tags.
//!
//! Each operation family lives in its own module; this file dispatches, and holds what they
//! share: identifiers and ARNs, pagination tokens, and the mapping of store errors to AWS errors.

pub mod agent;
mod emf;
mod events;
mod groups;
mod livetail;
pub mod lookups;
mod metricfilters;
pub mod queries;
mod querydefs;
mod queryscan;
mod streams;
mod tags;

pub use queryscan::FieldDiscovery;

pub mod fuzzing;

use base64::Engine;
use nephoscope_logstore::{LogStore, Rejection, Scope, StoreError};
use nephoscope_model::generated::logs::SERVICE;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_wire::{ApiError, HandlerFuture, Input, RequestContext, Service};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Operations this crate builds.
const BUILT: &[&str] = &[
    "CreateLogGroup",
    "CreateLogStream",
    "CreateLookupTable",
    "DeleteLogGroup",
    "DeleteLogStream",
    "DeleteLookupTable",
    "DeleteMetricFilter",
    "DeleteQueryDefinition",
    "DeleteRetentionPolicy",
    "DescribeLogGroups",
    "DescribeLogStreams",
    "DescribeLookupTables",
    "DescribeMetricFilters",
    "DescribeQueries",
    "DescribeQueryDefinitions",
    "FilterLogEvents",
    "GetLogEvents",
    "GetLogGroupFields",
    "GetLogRecord",
    "GetLookupTable",
    "GetQueryResults",
    "ListTagsForResource",
    "ListTagsLogGroup",
    "PutLogEvents",
    "PutLogGroupDeletionProtection",
    "PutMetricFilter",
    "PutQueryDefinition",
    "PutRetentionPolicy",
    "StartLiveTail",
    "StartQuery",
    "StopQuery",
    "TagLogGroup",
    "TagResource",
    "TestMetricFilter",
    "UntagLogGroup",
    "UntagResource",
    "UpdateLookupTable",
];

pub struct Logs {
    store: Arc<LogStore>,
    /// Where metrics extracted from EMF log events go.
    metrics: Option<Arc<nephoscope_metricstore::MetricStore>>,
    queries: Arc<queries::Queries>,
    lookups: Arc<lookups::LookupTables>,
    live_tail_limit: std::time::Duration,
}

impl Logs {
    pub fn new(store: Arc<LogStore>) -> Self {
        Logs {
            store,
            metrics: None,
            queries: Arc::default(),
            lookups: Arc::default(),
            live_tail_limit: livetail::DEFAULT_SESSION_LIMIT,
        }
    }

    /// Publishes the metrics of Embedded Metric Format events into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<nephoscope_metricstore::MetricStore>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Logs Insights limits (concurrency, log groups per query, timeout) other than AWS's.
    pub fn with_query_limits(mut self, limits: queries::Limits) -> Self {
        self.queries_mut().limits = limits;
        self
    }

    /// Keeps Logs Insights results in `blobs` for 7 days, across restarts.
    pub fn with_query_results(
        mut self,
        blobs: Arc<dyn nephoscope_storage::blob::BlobStore>,
    ) -> std::io::Result<Self> {
        let now = self.store.now();
        self.queries_mut().keep_results(blobs, now)?;
        Ok(self)
    }

    /// Keeps lookup tables in `blobs`, across restarts.
    pub fn with_lookup_tables(
        mut self,
        blobs: Arc<dyn nephoscope_storage::blob::BlobStore>,
    ) -> std::io::Result<Self> {
        Arc::get_mut(&mut self.lookups)
            .expect("the lookup tables are not shared while building")
            .keep_in(blobs)?;
        Ok(self)
    }

    fn queries_mut(&mut self) -> &mut queries::Queries {
        Arc::get_mut(&mut self.queries).expect("the queries are not shared while building")
    }

    /// Ends Live Tail sessions after `limit` instead of AWS's three hours.
    pub fn with_live_tail_limit(mut self, limit: std::time::Duration) -> Self {
        self.live_tail_limit = limit;
        self
    }

    pub fn store(&self) -> &Arc<LogStore> {
        &self.store
    }
}

pub(crate) fn error(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::modeled(&SERVICE, code, message)
}

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    error("InvalidParameterException", message)
}

pub(crate) fn store_error(e: StoreError, request_id: &str) -> ApiError {
    match e {
        StoreError::Rejected(r) => rejection(r),
        StoreError::Storage(detail) => {
            // Storage trouble is retryable for clients; the detail stays in our log.
            tracing::error!(request_id, %detail, "storage failure");
            error(
                "ServiceUnavailableException",
                "The service cannot complete the request.",
            )
        }
    }
}

pub(crate) fn rejection(r: Rejection) -> ApiError {
    let message = r.to_string();
    match r {
        Rejection::GroupExists | Rejection::StreamExists => {
            error("ResourceAlreadyExistsException", message)
        }
        Rejection::GroupNotFound
        | Rejection::StreamNotFound
        | Rejection::FilterNotFound
        | Rejection::QueryDefinitionNotFound => error("ResourceNotFoundException", message),
        Rejection::DeletionProtected => error("ValidationException", message),
        Rejection::TooManyFilters | Rejection::TooManyQueryDefinitions => {
            error("LimitExceededException", message)
        }
    }
}

pub(crate) fn scope(ctx: &RequestContext) -> Scope {
    Scope {
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
    }
}

pub(crate) fn group_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{name}",
        scope.region, scope.account
    )
}

/// A log group named by `logGroupName`, `logGroupIdentifier` (name or ARN, with or without the
/// trailing `:*`), or both absent (an error).
pub(crate) fn group_name(
    scope: &Scope,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<String, ApiError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(n), None) => Ok(n.to_string()),
        (None, Some(id)) => resolve_identifier(scope, id),
        (None, None) => Err(invalid(
            "Either parameter logGroupName or logGroupIdentifier must be specified.",
        )),
    }
}

/// A log-group identifier (name or ARN) → the name, within the caller's account and region.
pub(crate) fn resolve_identifier(scope: &Scope, id: &str) -> Result<String, ApiError> {
    let Some(rest) = id.strip_prefix("arn:") else {
        return Ok(id.to_string());
    };
    // arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    if parts.len() != 5 || parts[1] != "logs" || !parts[4].starts_with("log-group:") {
        return Err(invalid(format!("Invalid log group ARN: {id}")));
    }
    let name = &parts[4]["log-group:".len()..];
    let name = name.strip_suffix(":*").unwrap_or(name);
    if parts[3] != scope.account || parts[2] != scope.region {
        // Cross-account / cross-region access is not offered: the group is not visible.
        return Err(error(
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ));
    }
    Ok(name.to_string())
}

/// Opaque pagination tokens: base64 of our own position text.
pub(crate) fn encode_token(position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position.as_bytes())
}

pub(crate) fn decode_token(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid("The specified nextToken is invalid."))
}

pub(crate) fn parse<T: DeserializeOwned + 'static>(input: Input) -> Result<T, ApiError> {
    input.parse()
}

pub(crate) fn output<T: Serialize>(out: T) -> Result<Value, ApiError> {
    serde_json::to_value(out).map_err(|e| ApiError::serialization(e.to_string()))
}

impl Service for Logs {
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
        self.queries.clear();
        self.lookups.clear();
        Box::pin(async move {
            store
                .mutate(nephoscope_logstore::Mutation::Reset)
                .await
                .map(|_| ())
                .map_err(|e| store_error(e, "reset"))
        })
    }

    fn call_stream(
        &self,
        ctx: RequestContext,
        op: &'static OperationDef,
        input: Input,
    ) -> nephoscope_wire::StreamFuture {
        let store = self.store.clone();
        let limit = self.live_tail_limit;
        Box::pin(async move {
            match op.name {
                "StartLiveTail" => livetail::start(store, ctx, parse(input)?, limit).await,
                other => Err(ApiError::not_implemented(SERVICE.name, other)),
            }
        })
    }

    fn decode_json(&self, op: &'static OperationDef, body: &[u8]) -> Option<Input> {
        match op.name {
            "PutLogEvents" => nephoscope_wire::typed::decode_json::<
                nephoscope_model::types::logs::PutLogEventsRequest,
            >(&SERVICE, op, body),
            _ => None,
        }
    }

    fn call(&self, ctx: RequestContext, op: &'static OperationDef, input: Input) -> HandlerFuture {
        let store = self.store.clone();
        let queries = self.queries.clone();
        let lookups = self.lookups.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let s = &store;
            let out = match op.name {
                "StartQuery" => queries::start(s, &queries, &lookups, &ctx, parse(input)?).await,
                "CreateLookupTable" => {
                    lookups::create(&lookups, &queries, &ctx, s.now(), parse(input)?)
                }
                "UpdateLookupTable" => {
                    lookups::update(&lookups, &queries, &ctx, s.now(), parse(input)?)
                }
                "GetLookupTable" => lookups::get(&lookups, &ctx, parse(input)?),
                "DescribeLookupTables" => lookups::describe(&lookups, &ctx, parse(input)?),
                "DeleteLookupTable" => lookups::delete(&lookups, &ctx, parse(input)?),
                "PutMetricFilter" => metricfilters::put(s, &ctx, parse(input)?).await,
                "PutQueryDefinition" => querydefs::put(s, &ctx, parse(input)?).await,
                "DescribeQueryDefinitions" => querydefs::describe(s, &ctx, parse(input)?),
                "DeleteQueryDefinition" => querydefs::delete(s, &ctx, parse(input)?).await,
                "DeleteMetricFilter" => metricfilters::delete(s, &ctx, parse(input)?).await,
                "DescribeMetricFilters" => metricfilters::describe(s, &ctx, parse(input)?),
                "TestMetricFilter" => metricfilters::test(parse(input)?),
                "GetQueryResults" => return queries::results(&queries, &ctx, parse(input)?),
                "StopQuery" => queries::stop(&queries, &ctx, parse(input)?),
                "DescribeQueries" => queries::describe(&queries, &ctx, parse(input)?),
                "GetLogRecord" => queries::log_record(s, &ctx, parse(input)?),
                "GetLogGroupFields" => queries::group_fields(s, &ctx, parse(input)?),
                "CreateLogGroup" => groups::create(s, &ctx, parse(input)?).await,
                "DeleteLogGroup" => groups::delete(s, &ctx, parse(input)?).await,
                "DescribeLogGroups" => groups::describe(s, &ctx, parse(input)?),
                "PutRetentionPolicy" => groups::put_retention(s, &ctx, parse(input)?).await,
                "DeleteRetentionPolicy" => groups::delete_retention(s, &ctx, parse(input)?).await,
                "PutLogGroupDeletionProtection" => {
                    groups::put_deletion_protection(s, &ctx, parse(input)?).await
                }
                "CreateLogStream" => streams::create(s, &ctx, parse(input)?).await,
                "DeleteLogStream" => streams::delete(s, &ctx, parse(input)?).await,
                "DescribeLogStreams" => streams::describe(s, &ctx, parse(input)?),
                "PutLogEvents" => events::put(s, metrics.as_deref(), &ctx, parse(input)?).await,
                "GetLogEvents" => events::get(s, &ctx, parse(input)?),
                "FilterLogEvents" => events::filter(s, &ctx, parse(input)?),
                "TagResource" => tags::tag_resource(s, &ctx, parse(input)?).await,
                "UntagResource" => tags::untag_resource(s, &ctx, parse(input)?).await,
                "ListTagsForResource" => tags::list_for_resource(s, &ctx, parse(input)?),
                "TagLogGroup" => tags::tag_log_group(s, &ctx, parse(input)?).await,
                "UntagLogGroup" => tags::untag_log_group(s, &ctx, parse(input)?).await,
                "ListTagsLogGroup" => tags::list_log_group(s, &ctx, parse(input)?),
                other => Err(ApiError::not_implemented(SERVICE.name, other)),
            };
            out.map(nephoscope_wire::Output::from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_table() {
        let s = Scope {
            account: "000000000000".into(),
            region: "us-east-1".into(),
        };
        for (id, want) in [
            ("g1", Some("g1")),
            ("/aws/batch/job", Some("/aws/batch/job")),
            (
                "arn:aws:logs:us-east-1:000000000000:log-group:g1",
                Some("g1"),
            ),
            (
                "arn:aws:logs:us-east-1:000000000000:log-group:/a/b:*",
                Some("/a/b"),
            ),
            ("arn:aws:logs:us-east-1:111111111111:log-group:g1", None),
            ("arn:aws:logs:eu-west-1:000000000000:log-group:g1", None),
            ("arn:aws:s3:::bucket", None),
        ] {
            assert_eq!(resolve_identifier(&s, id).ok().as_deref(), want, "{id}");
        }
    }
}
