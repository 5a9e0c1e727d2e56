//! The server's own metrics in Prometheus text format: requests by service, operation and
//! status, and latency histograms by service and operation.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Renders more metrics into the text (an engine's counters).
pub type Source = Box<dyn Fn(&mut String) + Send + Sync>;

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    sources: Mutex<Vec<Source>>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Adds a source rendered after the request metrics.
    pub fn add_source(&self, source: Source) {
        self.sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(source);
    }

    pub fn observe(&self, service: &str, operation: &str, status: u16, elapsed: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *inner
            .requests
            .entry((service.to_string(), operation.to_string(), status))
            .or_default() += 1;
        let h = inner
            .latency
            .entry((service.to_string(), operation.to_string()))
            .or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP nephoscope_requests_total API requests by service, operation and HTTP status.\n");
        out.push_str("# TYPE nephoscope_requests_total counter\n");
        for ((s, o, st), n) in &inner.requests {
            writeln!(
                out,
                "nephoscope_requests_total{{service=\"{}\",operation=\"{}\",status=\"{st}\"}} {n}",
                escape(s),
                escape(o)
            )
            .unwrap();
        }
        out.push_str("# HELP nephoscope_request_duration_seconds API request latency.\n");
        out.push_str("# TYPE nephoscope_request_duration_seconds histogram\n");
        for ((s, o), h) in &inner.latency {
            let labels = format!("service=\"{}\",operation=\"{}\"", escape(s), escape(o));
            for (i, bound) in BUCKETS.iter().enumerate() {
                writeln!(
                    out,
                    "nephoscope_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                )
                .unwrap();
            }
            writeln!(
                out,
                "nephoscope_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            )
            .unwrap();
            writeln!(
                out,
                "nephoscope_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            )
            .unwrap();
            writeln!(
                out,
                "nephoscope_request_duration_seconds_count{{{labels}}} {}",
                h.count
            )
            .unwrap();
        }
        for source in self
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            source(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("logs", "PutLogEvents", 200, Duration::from_millis(3));
        m.observe("logs", "PutLogEvents", 200, Duration::from_millis(30));
        m.observe("logs", "PutLogEvents", 400, Duration::from_millis(1));
        let text = m.render();
        assert!(text.contains("nephoscope_requests_total{service=\"logs\",operation=\"PutLogEvents\",status=\"200\"} 2"));
        assert!(text.contains("nephoscope_requests_total{service=\"logs\",operation=\"PutLogEvents\",status=\"400\"} 1"));
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("le=\"0.05\"} 3"));
        assert!(text.contains("nephoscope_request_duration_seconds_count{service=\"logs\",operation=\"PutLogEvents\"} 3"));
        m.add_source(Box::new(|out| out.push_str("engine_counter 7\n")));
        assert!(m.render().ends_with("engine_counter 7\n"));
    }
}
