//! The Nephoscope server: configuration, the HTTP edge, authentication and the request path.

pub mod app;
pub mod auth;
pub mod config;
pub mod metrics;
pub mod serve;

use nephoscope_clock::SharedClock;
use nephoscope_logstore::LogStore;
use nephoscope_wire::Service;
use std::path::Path;
use std::sync::Arc;

/// The EMF agent endpoint's sink: received lines become log events (and their metrics) of one
/// account and region.
pub struct EmfAgent {
    pub logs: Arc<LogStore>,
    pub metrics: Arc<nephoscope_metricstore::MetricStore>,
    pub account_id: String,
    pub region: String,
    pub defaults: nephoscope_logs::agent::AgentDefaults,
}

impl EmfAgent {
    pub async fn ingest(&self, lines: &[String]) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let ctx = nephoscope_wire::RequestContext {
            request_id: format!(
                "emf-agent-{}",
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            access_key_id: String::new(),
            principal: "root".into(),
        };
        let out = nephoscope_logs::agent::ingest(
            &self.logs,
            Some(&self.metrics),
            &ctx,
            &self.defaults,
            lines,
        )
        .await;
        if out.dropped > 0 {
            tracing::warn!(
                stored = out.stored,
                dropped = out.dropped,
                "EMF agent endpoint dropped lines"
            );
        }
    }
}

/// The engines behind the services, opened from the data directory.
pub struct Engines {
    pub logs: Arc<LogStore>,
    pub metrics: Arc<nephoscope_metricstore::MetricStore>,
    /// Metrics retention ladder applied by upkeep.
    pub ladder: nephoscope_metricstore::Ladder,
    /// Longest Live Tail session.
    pub live_tail_limit: std::time::Duration,
    /// Logs Insights limits.
    pub query_limits: nephoscope_logs::queries::Limits,
    /// Where ended Logs Insights queries (7 days) and lookup tables are kept.
    pub query_results: Arc<dyn nephoscope_storage::blob::BlobStore>,
}

impl Engines {
    pub fn open(data_dir: &Path, clock: SharedClock) -> Result<Engines, String> {
        Self::open_with(data_dir, clock, false, 24)
    }

    /// [`Engines::open`], with or without the log store's discovered-field columns
    /// (`logs.field_columns`), segments hot for `hot_hours` (`logs.hot_hours`).
    pub fn open_with(
        data_dir: &Path,
        clock: SharedClock,
        field_columns: bool,
        hot_hours: u64,
    ) -> Result<Engines, String> {
        // With `field_columns`, discovered JSON fields are kept as columns beside each message
        // block.
        let policy = nephoscope_logstore::Policy {
            fields: field_columns.then(|| {
                Arc::new(nephoscope_logs::FieldDiscovery) as nephoscope_logstore::fields::Extractor
            }),
            hot_ms: i64::try_from(hot_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let logs = LogStore::open_with(&data_dir.join("logs"), clock.clone(), policy)
            .map_err(|e| format!("cannot open the log store in {}: {e}", data_dir.display()))?;
        let metrics = nephoscope_metricstore::MetricStore::open(&data_dir.join("metrics"), clock)
            .map_err(|e| {
            format!(
                "cannot open the metric store in {}: {e}",
                data_dir.display()
            )
        })?;
        let query_results =
            nephoscope_storage::blob::LocalBlobStore::open(data_dir.join("queries"))
                .map_err(|e| format!("cannot open {}: {e}", data_dir.join("queries").display()))?;
        Ok(Engines {
            query_results: Arc::new(query_results),
            logs: Arc::new(logs),
            metrics: Arc::new(metrics),
            ladder: nephoscope_metricstore::Ladder::default(),
            live_tail_limit: std::time::Duration::from_secs(3 * 3600),
            query_limits: nephoscope_logs::queries::Limits::default(),
        })
    }

    /// Every service the server answers (reading the kept Logs Insights results).
    pub fn services(&self) -> Result<Vec<Arc<dyn Service>>, String> {
        let logs = nephoscope_logs::Logs::new(self.logs.clone())
            .with_metrics(self.metrics.clone())
            .with_live_tail_limit(self.live_tail_limit)
            .with_query_limits(self.query_limits)
            .with_query_results(self.query_results.clone())
            .map_err(|e| format!("cannot read the kept Logs Insights results: {e}"))?
            .with_lookup_tables(self.query_results.clone())
            .map_err(|e| format!("cannot read the lookup tables: {e}"))?;
        Ok(vec![
            Arc::new(nephoscope_sts::Sts),
            Arc::new(logs),
            Arc::new(nephoscope_cloudwatch::CloudWatch::new(self.metrics.clone())),
            Arc::new(unbuilt::Unbuilt(
                &nephoscope_model::generated::events::SERVICE,
            )),
        ])
    }

    /// Background upkeep: every 10 s the log store flushes heads and checkpoints as its policy
    /// says; every minute it sweeps retention.
    pub async fn run_upkeep(self: Arc<Self>) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        let mut rounds: u64 = 0;
        loop {
            tick.tick().await;
            rounds += 1;
            if let Err(e) = self.logs.maintain(false).await {
                tracing::error!(error = %e, "log store upkeep failed");
            }
            // A checkpoint encodes the whole metric state: off the async workers.
            let metrics = self.metrics.clone();
            match tokio::task::spawn_blocking(move || metrics.maintain(false)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "metric store upkeep failed"),
                Err(e) => tracing::error!(error = %e, "metric store upkeep panicked"),
            }
            if rounds.is_multiple_of(6) {
                if let Err(e) = self.logs.expire().await {
                    tracing::error!(error = %e, "retention sweep failed");
                }
                if let Err(e) = self.metrics.rollup(self.ladder).await {
                    tracing::error!(error = %e, "metric rollup failed");
                }
            }
        }
    }

    /// Flushes and checkpoints everything, so the next start replays no log.
    pub async fn shutdown(&self) {
        if let Err(e) = self.logs.maintain(true).await {
            tracing::error!(error = %e, "final flush failed; the write-ahead log still has everything");
        }
        if let Err(e) = self.metrics.maintain(true) {
            tracing::error!(error = %e, "final metric checkpoint failed; the write-ahead log still has everything");
        }
    }
}

/// Services whose model is routed and validated but none of whose operations is built yet.
mod unbuilt {
    use nephoscope_model::meta::{OperationDef, ServiceDef};
    use nephoscope_wire::{ApiError, HandlerFuture, RequestContext, Service};

    pub struct Unbuilt(pub &'static ServiceDef);

    impl Service for Unbuilt {
        fn model(&self) -> &'static ServiceDef {
            self.0
        }
        fn implements(&self, _operation: &str) -> bool {
            false
        }
        fn call(
            &self,
            _ctx: RequestContext,
            op: &'static OperationDef,
            _input: nephoscope_wire::Input,
        ) -> HandlerFuture {
            let e = ApiError::not_implemented(self.0.name, op.name);
            Box::pin(async move { Err(e) })
        }
    }
}
