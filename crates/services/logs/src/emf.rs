//! Embedded Metric Format on ingest: accepted events that are EMF documents publish their
//! metrics into the metric store, as CloudWatch Logs does. Invalid EMF stays an ordinary event.

use nephoscope_metricstore::{Datum, MetricStore, Mutation, Scope, SeriesKey, Values};
use nephoscope_wire::RequestContext;

/// The metric data of the EMF documents among `events` (timestamp, message).
pub(crate) fn collect(events: &[(i64, String)]) -> Vec<Datum> {
    let mut out = Vec::new();
    for (_, message) in events {
        if !nephoscope_emf::might_be_emf(message) {
            continue;
        }
        match nephoscope_emf::extract(message) {
            Ok(metrics) => out.extend(metrics.into_iter().map(|m| Datum {
                key: SeriesKey::new(&m.namespace, &m.name, m.dimensions),
                timestamp_ms: m.timestamp_ms,
                unit: m.unit,
                high_resolution: m.high_resolution,
                values: Values::Raw(m.values.into_iter().map(|v| (v, 1.0)).collect()),
            })),
            Err(nephoscope_emf::EmfError::Invalid(why)) => {
                tracing::debug!(%why, "invalid EMF document stored as a plain event");
            }
            Err(nephoscope_emf::EmfError::NotEmf) => {}
        }
    }
    out
}

pub(crate) async fn publish(metrics: &MetricStore, ctx: &RequestContext, datums: Vec<Datum>) {
    let scope = Scope {
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
    };
    // The log events are already acknowledged-durable; a metric-store failure is logged, not
    // turned into a failed PutLogEvents.
    if let Err(e) = metrics.mutate(Mutation::Put { scope, datums }).await {
        tracing::error!(request_id = %ctx.request_id, error = %e, "EMF metrics were not stored");
    }
}
