//! CloudWatch Logs load: PutLogEvents batches cut to AWS's limits, concurrent writers (one log
//! stream each) over keep-alive connections, visibility probes and paged FilterLogEvents scans.

use crate::apigw::ApiGwEvent;
use crate::aws::{now_ms, AwsClient};
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Value};
use std::iter::Peekable;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};

/// PutLogEvents: at most 1,048,576 bytes, counted as the UTF-8 messages plus 26 bytes per event,
/// and at most 10,000 events.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// One PutLogEvents batch, its `logEvents` array already encoded as JSON.
#[derive(Debug, Clone)]
pub struct Batch {
    pub events_json: Bytes,
    pub events: usize,
    /// Sum of the UTF-8 message lengths (the "raw log bytes").
    pub raw_bytes: u64,
}

/// The largest chronological batch that fits AWS's limits, taken from `events`; `visit` sees
/// every event that goes in. `None` when `events` is exhausted.
pub fn next_batch<I: Iterator<Item = ApiGwEvent>>(
    events: &mut Peekable<I>,
    max_events: usize,
    mut visit: impl FnMut(&ApiGwEvent),
) -> Option<Batch> {
    let mut buf = BytesMut::with_capacity(MAX_BATCH_BYTES + 64 * 1024);
    let mut counted = 0usize;
    let mut n = 0usize;
    let mut raw = 0u64;
    buf.put_u8(b'[');
    while n < max_events.min(MAX_BATCH_EVENTS) {
        let Some(next) = events.peek() else { break };
        let size = next.message.len() + EVENT_OVERHEAD;
        if counted + size > MAX_BATCH_BYTES && n > 0 {
            break;
        }
        let e = events.next()?;
        visit(&e);
        if n > 0 {
            buf.put_u8(b',');
        }
        buf.put_slice(b"{\"timestamp\":");
        buf.put_slice(e.timestamp_ms.to_string().as_bytes());
        buf.put_slice(b",\"message\":");
        let mut w = (&mut buf).writer();
        serde_json::to_writer(&mut w, &e.message).expect("a string always serialises");
        buf.put_u8(b'}');
        counted += size;
        raw += e.message.len() as u64;
        n += 1;
    }
    buf.put_u8(b']');
    (n > 0).then(|| Batch {
        events_json: buf.freeze(),
        events: n,
        raw_bytes: raw,
    })
}

/// Where writers take batches from: pre-generated (all queued before the clock starts) or fed
/// by a generator thread through a bounded channel.
pub type BatchSource = Arc<Mutex<mpsc::Receiver<Batch>>>;

pub fn pregenerated(batches: Vec<Batch>) -> BatchSource {
    let (tx, rx) = mpsc::channel(batches.len().max(1));
    for b in batches {
        tx.try_send(b).expect("the channel holds every batch");
    }
    Arc::new(Mutex::new(rx))
}

#[derive(Debug, Default)]
pub struct IngestStats {
    pub requests: u64,
    pub events_acked: u64,
    pub raw_bytes_acked: u64,
    pub events_rejected: u64,
    pub failed_requests: u64,
    /// The first few failures, verbatim.
    pub failures: Vec<String>,
    /// Acknowledgement latency of each successful request (signed request sent → whole
    /// response read).
    pub latencies: Vec<Duration>,
    pub wall: Duration,
}

impl IngestStats {
    fn absorb(&mut self, o: IngestStats) {
        self.requests += o.requests;
        self.events_acked += o.events_acked;
        self.raw_bytes_acked += o.raw_bytes_acked;
        self.events_rejected += o.events_rejected;
        self.failed_requests += o.failed_requests;
        for f in o.failures {
            if self.failures.len() < 5 {
                self.failures.push(f);
            }
        }
        self.latencies.extend(o.latencies);
    }

    /// The `q` quantile (0..=1) of the acknowledgement latencies, nearest rank.
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        let mut v = self.latencies.clone();
        if v.is_empty() {
            return None;
        }
        v.sort();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

/// Number of events AWS's `rejectedLogEventsInfo` says were not stored.
fn rejected_count(info: &Value, events: usize) -> u64 {
    let idx = |k: &str| info.get(k).and_then(Value::as_u64);
    let old = idx("tooOldLogEventEndIndex")
        .unwrap_or(0)
        .max(idx("expiredLogEventEndIndex").unwrap_or(0));
    let new = idx("tooNewLogEventStartIndex")
        .map(|i| events as u64 - i.min(events as u64))
        .unwrap_or(0);
    old + new
}

/// `streams.len()` writers, each putting to its own stream, until `source` is empty.
pub async fn run_writers(
    client: &AwsClient,
    group: &str,
    streams: &[String],
    source: BatchSource,
) -> IngestStats {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for stream in streams {
        let client = client.clone();
        let source = source.clone();
        let prefix = serde_json::to_vec(&json!({"logGroupName": group, "logStreamName": stream}))
            .expect("JSON");
        tasks.push(tokio::spawn(async move {
            let mut st = IngestStats::default();
            loop {
                let batch = { source.lock().await.recv().await };
                let Some(batch) = batch else { break };
                // {"logGroupName":..,"logStreamName":..,"logEvents":[...]}
                let mut body = BytesMut::with_capacity(prefix.len() + batch.events_json.len() + 16);
                body.put_slice(&prefix[..prefix.len() - 1]);
                body.put_slice(b",\"logEvents\":");
                body.put_slice(&batch.events_json);
                body.put_u8(b'}');
                st.requests += 1;
                let outcome = client
                    .logs("PutLogEvents", body.freeze())
                    .await
                    .and_then(|r| r.ok_json().map(|v| (v, r.latency)));
                match outcome {
                    Ok((v, latency)) => {
                        let rejected = v
                            .get("rejectedLogEventsInfo")
                            .map(|i| rejected_count(i, batch.events))
                            .unwrap_or(0);
                        if rejected > 0 && st.failures.len() < 5 {
                            st.failures.push(format!(
                                "rejectedLogEventsInfo: {}",
                                v["rejectedLogEventsInfo"]
                            ));
                        }
                        st.events_rejected += rejected;
                        st.events_acked += batch.events as u64 - rejected;
                        st.raw_bytes_acked += batch.raw_bytes;
                        st.latencies.push(latency);
                    }
                    Err(e) => {
                        st.failed_requests += 1;
                        if st.failures.len() < 5 {
                            st.failures.push(e);
                        }
                    }
                }
            }
            st
        }));
    }
    let mut total = IngestStats::default();
    for t in tasks {
        match t.await {
            Ok(st) => total.absorb(st),
            Err(e) => total.failures.push(format!("writer task failed: {e}")),
        }
    }
    total.wall = started.elapsed();
    total
}

/// Creates a log group (tolerating "already exists") and its streams.
pub async fn create_group(
    client: &AwsClient,
    group: &str,
    streams: &[String],
) -> Result<(), String> {
    let r = client
        .logs(
            "CreateLogGroup",
            json!({ "logGroupName": group }).to_string(),
        )
        .await?;
    if r.status != 200 && !String::from_utf8_lossy(&r.body).contains("AlreadyExists") {
        return Err(format!(
            "CreateLogGroup {group}: {}",
            r.ok_json().unwrap_err()
        ));
    }
    for s in streams {
        let r = client
            .logs(
                "CreateLogStream",
                json!({ "logGroupName": group, "logStreamName": s }).to_string(),
            )
            .await?;
        if r.status != 200 && !String::from_utf8_lossy(&r.body).contains("AlreadyExists") {
            return Err(format!("CreateLogStream {s}: {}", r.ok_json().unwrap_err()));
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Probe {
    /// PutLogEvents latency of the marker.
    pub put_latency: Duration,
    /// Time from the marker's acknowledgement to the first FilterLogEvents answer containing it.
    pub visible_after: Option<Duration>,
    pub polls: u32,
}

static MARKER_SEQ: AtomicU64 = AtomicU64::new(0);

/// Puts one marker event with a unique term into `stream`, then polls FilterLogEvents (that
/// stream, startTime a second before the marker, the marker as a term pattern) until the event
/// comes back or `deadline` passes.
pub async fn visibility_probe(
    client: &AwsClient,
    group: &str,
    stream: &str,
    deadline: Duration,
) -> Result<Probe, String> {
    let marker = format!(
        "VISMARK_{:x}_{}",
        now_ms(),
        MARKER_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let ts = now_ms();
    let message = format!(r#"{{"marker":"{marker}","note":"nephoscope-bench visibility probe"}}"#);
    let put = client
        .logs(
            "PutLogEvents",
            json!({"logGroupName": group, "logStreamName": stream,
                   "logEvents": [{"timestamp": ts, "message": message}]})
            .to_string(),
        )
        .await?;
    put.ok_json()
        .map_err(|e| format!("marker PutLogEvents: {e}"))?;
    let acked = Instant::now();
    let query = json!({"logGroupName": group, "logStreamNames": [stream],
                       "filterPattern": marker, "startTime": ts - 1000})
    .to_string();
    let mut polls = 0;
    while acked.elapsed() < deadline {
        polls += 1;
        let r = client.logs("FilterLogEvents", query.clone()).await?;
        let v = r
            .ok_json()
            .map_err(|e| format!("marker FilterLogEvents: {e}"))?;
        let found = v["events"]
            .as_array()
            .is_some_and(|es| es.iter().any(|e| e["message"].as_str() == Some(&message)));
        if found {
            return Ok(Probe {
                put_latency: put.latency,
                visible_after: Some(acked.elapsed()),
                polls,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(Probe {
        put_latency: put.latency,
        visible_after: None,
        polls,
    })
}

#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    pub matches: u64,
    pub pages: u64,
    pub wall: Duration,
    /// Longest single page.
    pub slowest_page: Duration,
}

/// FilterLogEvents over the whole group with `pattern`, following nextToken to the end.
/// Bounded by `max_pages` and `deadline`; an unchanged token is reported as an error.
pub async fn filter_scan(
    client: &AwsClient,
    group: &str,
    pattern: &str,
    max_pages: u64,
    deadline: Duration,
) -> Result<ScanStats, String> {
    let started = Instant::now();
    let mut st = ScanStats::default();
    let mut token: Option<String> = None;
    loop {
        let mut q = json!({"logGroupName": group, "filterPattern": pattern});
        if let Some(t) = &token {
            q["nextToken"] = json!(t);
        }
        let r = client.logs("FilterLogEvents", q.to_string()).await?;
        st.slowest_page = st.slowest_page.max(r.latency);
        let v = r
            .ok_json()
            .map_err(|e| format!("FilterLogEvents page {}: {e}", st.pages + 1))?;
        st.pages += 1;
        st.matches += v["events"].as_array().map(Vec::len).unwrap_or(0) as u64;
        let next = v["nextToken"].as_str().map(str::to_string);
        match next {
            None => break,
            Some(t) if token.as_deref() == Some(t.as_str()) => {
                return Err(format!(
                    "FilterLogEvents returned the same nextToken twice (page {})",
                    st.pages
                ))
            }
            Some(t) => token = Some(t),
        }
        if st.pages >= max_pages || started.elapsed() > deadline {
            return Err(format!(
                "stopped after {} pages / {:?} with nextToken still set ({} matches so far)",
                st.pages,
                started.elapsed(),
                st.matches
            ));
        }
    }
    st.wall = started.elapsed();
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::ApiGwGenerator;

    #[test]
    fn batches_fit_aws_limits_and_keep_every_event() {
        let n = 12_000u64;
        let mut it = ApiGwGenerator::new(7, n, 1_795_608_000_000, 3_600_000).peekable();
        let mut seen = 0u64;
        let mut total = 0u64;
        while let Some(b) = next_batch(&mut it, MAX_BATCH_EVENTS, |_| seen += 1) {
            let v: Vec<Value> = serde_json::from_slice(&b.events_json).unwrap();
            assert_eq!(v.len(), b.events);
            let counted: usize = v
                .iter()
                .map(|e| e["message"].as_str().unwrap().len() + EVENT_OVERHEAD)
                .sum();
            assert!(counted <= MAX_BATCH_BYTES);
            let ts: Vec<i64> = v.iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
            assert!(ts.windows(2).all(|w| w[0] <= w[1]));
            total += b.events as u64;
        }
        assert_eq!(total, n);
        assert_eq!(seen, n);
    }
}
