//! CloudWatch metrics load: deterministic latency-like values per (series, bucket) with their
//! exact statistics, PutMetricData bodies in the three CloudWatch protocols (JSON 1.0, AWS Query,
//! Smithy RPC v2 CBOR) cut to AWS's limits and optionally gzipped, concurrent writers,
//! GetMetricData request bodies and the comparison of answers with the exact values, and the
//! VictoriaMetrics peer's import lines and `query_range` answers.

use crate::aws::{now_ms, AwsClient, ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};
use crate::procfs::{cpu_seconds, Spawned};
use bytes::Bytes;
use http_body_util::Full;
use nephoscope_sigv4 as sigv4;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// PutMetricData: at most 1,000 datums per call, 150 distinct values per `Values` array, and a
/// request body of at most 1 MB (as sent: compressed when gzipped).
pub const MAX_DATUMS: usize = 1000;
pub const MAX_VALUES: usize = 150;
pub const MAX_BODY: usize = 1_000_000;
/// GetMetricData answers at most this many data points per call (AWS pages beyond it).
pub const MAX_DATA_POINTS: usize = 100_800;
pub const METRIC_NAME: &str = "latency";
pub const DIMENSION: &str = "host";
pub const UNIT: &str = "Milliseconds";
pub const TARGET_PREFIX: &str = "GraniteServiceVersion20100801";

// ------------------------------------------------------------------ protocols

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
    Cbor,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Json, Protocol::Query, Protocol::Cbor];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Json => "JSON 1.0",
            Protocol::Query => "AWS Query",
            Protocol::Cbor => "RPC v2 CBOR",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::Query => "query",
            Protocol::Cbor => "cbor",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.short() == s)
    }

    /// Request path and the protocol's headers (besides host, date and authorization).
    fn route(self, op: &str) -> (String, Vec<(&'static str, String)>) {
        match self {
            Protocol::Json => (
                "/".into(),
                vec![
                    ("content-type", "application/x-amz-json-1.0".into()),
                    ("x-amz-target", format!("{TARGET_PREFIX}.{op}")),
                    ("x-amzn-query-mode", "true".into()),
                ],
            ),
            Protocol::Query => (
                "/".into(),
                vec![(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                )],
            ),
            Protocol::Cbor => (
                format!("/service/{TARGET_PREFIX}/operation/{op}"),
                vec![
                    ("content-type", "application/cbor".into()),
                    ("smithy-protocol", "rpc-v2-cbor".into()),
                    ("accept", "application/cbor".into()),
                ],
            ),
        }
    }
}

/// A CloudWatch client on 127.0.0.1: signs (SigV4, service `monitoring`) and sends.
#[derive(Clone)]
pub struct CwClient {
    pub http: AwsClient,
    host: String,
}

impl CwClient {
    pub fn new(port: u16) -> Self {
        CwClient {
            http: AwsClient::new(port),
            host: format!("127.0.0.1:{port}"),
        }
    }

    /// A signed `op` request in `proto`; with `gzip` the body is already compressed and
    /// `Content-Encoding: gzip` is sent (and signed, over the compressed bytes).
    pub fn signed(
        &self,
        proto: Protocol,
        op: &str,
        body: Bytes,
        gzip: bool,
    ) -> hyper::Request<Full<Bytes>> {
        let (path, mut headers) = proto.route(op);
        headers.push(("host", self.host.clone()));
        headers.push(("x-amz-date", sigv4::format_amz_date(now_ms() / 1000)));
        if gzip {
            headers.push(("content-encoding", "gzip".into()));
        }
        let hv: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        let auth = sigv4::sign(
            &sigv4::Request {
                method: "POST",
                path_and_query: &path,
                headers: &hv,
                body: &body,
            },
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            REGION,
            "monitoring",
            &names,
        );
        let mut b = hyper::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", self.host));
        for (n, v) in &headers {
            b = b.header(*n, v.as_str());
        }
        b.header("authorization", auth)
            .body(Full::new(body))
            .expect("valid request")
    }

    /// An unsigned POST (VictoriaMetrics).
    pub fn plain_post(
        &self,
        path: &str,
        content_type: &str,
        body: Bytes,
        gzip: bool,
    ) -> hyper::Request<Full<Bytes>> {
        let mut b = hyper::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", self.host))
            .header("host", self.host.as_str())
            .header("content-type", content_type);
        if gzip {
            b = b.header("content-encoding", "gzip");
        }
        b.body(Full::new(body)).expect("valid request")
    }
}

// ------------------------------------------------------------------ generator

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The values of series `series` in bucket `t` (epoch seconds): `n` distinct latency-like
/// values in milliseconds, log-normal around a per-series median (10–106 ms) with 2 % outliers
/// up to 20× slower, rounded to 1 µs. Deterministic for (seed, series, t).
pub fn datum_values(seed: u64, series: u32, t: i64, n: usize, out: &mut Vec<f64>) {
    out.clear();
    let mut rng = Rng(mix(seed ^ mix(u64::from(series) ^ mix(t as u64))));
    let median = 10.0 + f64::from(series % 97);
    let sigma = 0.35 + f64::from(series % 7) * 0.05;
    let mut seen = std::collections::HashSet::with_capacity(n * 2);
    while out.len() < n {
        let mut v = median * (sigma * rng.normal()).exp();
        if rng.unit() < 0.02 {
            v *= 1.0 + 19.0 * rng.unit();
        }
        let mut v = ((v * 1000.0).round() / 1000.0).max(0.001);
        while !seen.insert(v.to_bits()) {
            v = ((v + 0.001) * 1000.0).round() / 1000.0;
        }
        out.push(v);
    }
}

/// The exact statistics of one bucket: the average, and the percentile by the rank rule of
/// Nephoscope's sketch (the value at sorted index ⌊q·(n−1)⌋) and by linear interpolation between
/// the neighbouring ranks (Prometheus' and VictoriaMetrics' `quantile`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Exact {
    pub avg: f64,
    pub lower: f64,
    pub interp: f64,
}

pub fn exact(values: &mut [f64], q: f64) -> Exact {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return Exact::default();
    }
    let rank = q * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Exact {
        avg: values.iter().sum::<f64>() / n as f64,
        lower: values[lo],
        interp: values[lo] + (rank - lo as f64) * (values[hi] - values[lo]),
    }
}

/// The data set: `series` standard-resolution series × `minutes` one-minute buckets starting at
/// `start_s`, one datum of `values` distinct values each (Counts all 1). Or, with `step_s` 1, a
/// high-resolution grid of 1-second buckets.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub seed: u64,
    pub series: u32,
    /// Buckets per series.
    pub buckets: u32,
    pub start_s: i64,
    /// 60 (StorageResolution 60) or 1 (StorageResolution 1).
    pub step_s: i64,
    pub values: usize,
    /// First series index (the high-resolution series lives apart from the grid's).
    pub first_series: u32,
}

impl Grid {
    pub fn datums(&self) -> usize {
        self.series as usize * self.buckets as usize
    }
    pub fn total_values(&self) -> u64 {
        self.datums() as u64 * self.values as u64
    }
    /// Datum `i` in publishing order: bucket-major (every series of a minute, then the next
    /// minute), as agents publish.
    pub fn datum(&self, i: usize) -> (u32, i64) {
        let s = (i % self.series as usize) as u32;
        let b = (i / self.series as usize) as i64;
        (self.first_series + s, self.start_s + b * self.step_s)
    }
    pub fn values_of(&self, series: u32, t: i64, out: &mut Vec<f64>) {
        datum_values(self.seed, series, t, self.values, out);
    }
    /// The exact statistics per (series, bucket), index `series * buckets + bucket`.
    pub fn truth(&self, q: f64, threads: usize) -> Vec<Exact> {
        let n = self.datums();
        let mut out = vec![Exact::default(); n];
        let per = n.div_ceil(threads.max(1)).max(1);
        std::thread::scope(|sc| {
            for (k, chunk) in out.chunks_mut(per).enumerate() {
                sc.spawn(move || {
                    let mut buf = Vec::new();
                    for (j, e) in chunk.iter_mut().enumerate() {
                        let idx = k * per + j;
                        let s = (idx / self.buckets as usize) as u32;
                        let b = (idx % self.buckets as usize) as i64;
                        self.values_of(
                            self.first_series + s,
                            self.start_s + b * self.step_s,
                            &mut buf,
                        );
                        *e = exact(&mut buf, q);
                    }
                });
            }
        });
        out
    }
    /// Exact statistics of the high-resolution series merged into `group` buckets (60: minutes).
    pub fn truth_grouped(&self, q: f64, group: u32) -> Vec<Exact> {
        let mut out = Vec::new();
        let (mut all, mut buf) = (Vec::new(), Vec::new());
        for g in 0..self.buckets.div_ceil(group) {
            all.clear();
            for b in g * group..((g + 1) * group).min(self.buckets) {
                self.values_of(
                    self.first_series,
                    self.start_s + i64::from(b) * self.step_s,
                    &mut buf,
                );
                all.extend_from_slice(&buf);
            }
            out.push(exact(&mut all, q));
        }
        out
    }
}

pub fn series_name(series: u32) -> String {
    format!("host-{series:04}")
}

// ------------------------------------------------------------------ PutMetricData bodies

/// `yyyy-mm-ddThh:mm:ssZ`.
pub fn iso8601(secs: i64) -> String {
    let d = sigv4::format_amz_date(secs);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    )
}

/// Form-urlencoding of a value (unreserved characters kept).
pub fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One PutMetricData body for datums `range` of `grid`, uncompressed.
pub fn encode_put(
    proto: Protocol,
    namespace: &str,
    grid: &Grid,
    range: std::ops::Range<usize>,
) -> Vec<u8> {
    let resolution = if grid.step_s == 1 { 1 } else { 60 };
    let mut vals = Vec::with_capacity(grid.values);
    match proto {
        Protocol::Json => {
            let mut s = String::with_capacity(range.len() * (grid.values * 10 + 200) + 64);
            let _ = write!(
                s,
                "{{\"Namespace\":{},\"MetricData\":[",
                Value::from(namespace)
            );
            for (k, i) in range.enumerate() {
                let (series, t) = grid.datum(i);
                grid.values_of(series, t, &mut vals);
                if k > 0 {
                    s.push(',');
                }
                let _ = write!(
                    s,
                    "{{\"MetricName\":\"{METRIC_NAME}\",\"Dimensions\":[{{\"Name\":\"{DIMENSION}\",\"Value\":\"{}\"}}],\"Timestamp\":{t},\"Unit\":\"{UNIT}\",\"StorageResolution\":{resolution},\"Values\":[",
                    series_name(series)
                );
                for (j, v) in vals.iter().enumerate() {
                    if j > 0 {
                        s.push(',');
                    }
                    let _ = write!(s, "{v}");
                }
                s.push_str("],\"Counts\":[");
                for j in 0..vals.len() {
                    s.push_str(if j > 0 { ",1" } else { "1" });
                }
                s.push_str("]}");
            }
            s.push_str("]}");
            s.into_bytes()
        }
        Protocol::Query => {
            let mut s = String::with_capacity(range.len() * (grid.values * 95 + 400) + 128);
            let _ = write!(
                s,
                "Action=PutMetricData&Version=2010-08-01&Namespace={}",
                form_escape(namespace)
            );
            for (k, i) in range.enumerate() {
                let (series, t) = grid.datum(i);
                grid.values_of(series, t, &mut vals);
                let m = k + 1;
                let _ = write!(
                    s,
                    "&MetricData.member.{m}.MetricName={METRIC_NAME}\
                     &MetricData.member.{m}.Dimensions.member.1.Name={DIMENSION}\
                     &MetricData.member.{m}.Dimensions.member.1.Value={}\
                     &MetricData.member.{m}.Timestamp={}\
                     &MetricData.member.{m}.Unit={UNIT}\
                     &MetricData.member.{m}.StorageResolution={resolution}",
                    series_name(series),
                    form_escape(&iso8601(t))
                );
                for (j, v) in vals.iter().enumerate() {
                    let _ = write!(s, "&MetricData.member.{m}.Values.member.{}={v}", j + 1);
                }
                for j in 0..vals.len() {
                    let _ = write!(s, "&MetricData.member.{m}.Counts.member.{}=1", j + 1);
                }
            }
            s.into_bytes()
        }
        Protocol::Cbor => {
            use ciborium::Value as C;
            let text = |s: &str| C::Text(s.to_string());
            let mut data = Vec::with_capacity(range.len());
            for i in range {
                let (series, t) = grid.datum(i);
                grid.values_of(series, t, &mut vals);
                data.push(C::Map(vec![
                    (text("MetricName"), text(METRIC_NAME)),
                    (
                        text("Dimensions"),
                        C::Array(vec![C::Map(vec![
                            (text("Name"), text(DIMENSION)),
                            (text("Value"), C::Text(series_name(series))),
                        ])]),
                    ),
                    // Tag-1 epoch seconds, as the Rust SDK sends them.
                    (text("Timestamp"), C::Tag(1, Box::new(C::Float(t as f64)))),
                    (text("Unit"), text(UNIT)),
                    (text("StorageResolution"), C::Integer(resolution.into())),
                    (
                        text("Values"),
                        C::Array(vals.iter().map(|v| C::Float(*v)).collect()),
                    ),
                    (
                        text("Counts"),
                        C::Array(vals.iter().map(|_| C::Float(1.0)).collect()),
                    ),
                ]));
            }
            let top = C::Map(vec![
                (text("Namespace"), text(namespace)),
                (text("MetricData"), C::Array(data)),
            ]);
            let mut out = Vec::new();
            ciborium::ser::into_writer(&top, &mut out).expect("CBOR into a Vec");
            out
        }
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::fast(),
    );
    e.write_all(data).expect("gzip into a Vec");
    e.finish().expect("gzip into a Vec")
}

/// One prepared request body.
#[derive(Debug, Clone)]
pub struct Batch {
    pub body: Bytes,
    pub gzip: bool,
    pub datums: usize,
    pub values: usize,
    /// Body size before compression.
    pub raw_bytes: usize,
}

/// Encodes datums `range` of `grid`, compressed when `gz`; a body over `MAX_BODY` is split in
/// halves until each fits.
fn encode_fitting(
    proto: Protocol,
    namespace: &str,
    grid: &Grid,
    range: std::ops::Range<usize>,
    gz: bool,
    out: &mut Vec<Batch>,
) {
    let raw = encode_put(proto, namespace, grid, range.clone());
    let raw_bytes = raw.len();
    let body = if gz { gzip(&raw) } else { raw };
    if body.len() > MAX_BODY && range.len() > 1 {
        let mid = range.start + range.len() / 2;
        encode_fitting(proto, namespace, grid, range.start..mid, gz, out);
        encode_fitting(proto, namespace, grid, mid..range.end, gz, out);
        return;
    }
    out.push(Batch {
        body: Bytes::from(body),
        gzip: gz,
        datums: range.len(),
        values: range.len() * grid.values,
        raw_bytes,
    });
}

/// Every PutMetricData batch for `datums` (a prefix of the grid's publishing order), as large as
/// AWS allows: the datums per call are found on the first batch (1,000, or fewer when the body
/// would exceed 1 MB), then the grid is encoded on `threads` threads. Batches stay in order.
pub fn put_batches(
    proto: Protocol,
    namespace: &str,
    grid: &Grid,
    datums: usize,
    gz: bool,
    threads: usize,
) -> Vec<Batch> {
    let mut per = MAX_DATUMS.min(datums.max(1));
    for _ in 0..8 {
        let raw = encode_put(proto, namespace, grid, 0..per);
        let size = if gz { gzip(&raw).len() } else { raw.len() };
        if size <= MAX_BODY || per == 1 {
            break;
        }
        per = ((per as f64 * MAX_BODY as f64 / size as f64 * 0.97) as usize).clamp(1, per - 1);
    }
    let chunks: Vec<std::ops::Range<usize>> = (0..datums)
        .step_by(per)
        .map(|s| s..(s + per).min(datums))
        .collect();
    let threads = threads.clamp(1, 16);
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Vec<Batch>)> = Vec::new();
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(r) = chunks.get(k) else { break };
                        let mut v = Vec::new();
                        encode_fitting(proto, namespace, grid, r.clone(), gz, &mut v);
                        mine.push((k, v));
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            parts.extend(h.join().expect("encoder thread"));
        }
    });
    parts.sort_by_key(|(k, _)| *k);
    parts.into_iter().flat_map(|(_, v)| v).collect()
}

// ------------------------------------------------------------------ writers

/// What a set of concurrent writers achieved.
#[derive(Debug, Default, Clone)]
pub struct IngestStats {
    pub requests: u64,
    pub failed_requests: u64,
    pub datums_acked: u64,
    pub values_acked: u64,
    pub bytes_sent: u64,
    pub raw_bytes_acked: u64,
    pub wall: Duration,
    pub latencies: Vec<Duration>,
    pub failures: Vec<String>,
}

pub fn quantile(v: &[Duration], q: f64) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

impl IngestStats {
    pub fn latency(&self, q: f64) -> Option<Duration> {
        quantile(&self.latencies, q)
    }
}

pub type RequestFor = Arc<dyn Fn(&Batch) -> hyper::Request<Full<Bytes>> + Send + Sync>;

/// Sends every batch once, `concurrency` at a time over keep-alive connections; the request is
/// built (signed) by `build` before its latency clock starts. Success is HTTP 200 or 204.
pub async fn run_writers(
    http: &AwsClient,
    build: RequestFor,
    batches: Arc<Vec<Batch>>,
    concurrency: usize,
) -> IngestStats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (http, build, batches, next) =
            (http.clone(), build.clone(), batches.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut st = IngestStats::default();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(b) = batches.get(k) else { break };
                let req = build(b);
                st.requests += 1;
                st.bytes_sent += b.body.len() as u64;
                match http.send(req).await {
                    Ok(r) if r.status == 200 || r.status == 204 => {
                        st.latencies.push(r.latency);
                        st.datums_acked += b.datums as u64;
                        st.values_acked += b.values as u64;
                        st.raw_bytes_acked += b.raw_bytes as u64;
                    }
                    Ok(r) => {
                        st.failed_requests += 1;
                        if st.failures.len() < 3 {
                            st.failures.push(format!(
                                "HTTP {}: {}",
                                r.status,
                                String::from_utf8_lossy(&r.body[..r.body.len().min(400)])
                            ));
                        }
                    }
                    Err(e) => {
                        st.failed_requests += 1;
                        if st.failures.len() < 3 {
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
            Ok(st) => {
                total.requests += st.requests;
                total.failed_requests += st.failed_requests;
                total.datums_acked += st.datums_acked;
                total.values_acked += st.values_acked;
                total.bytes_sent += st.bytes_sent;
                total.raw_bytes_acked += st.raw_bytes_acked;
                total.latencies.extend(st.latencies);
                total.failures.extend(st.failures);
            }
            Err(e) => total.failures.push(format!("writer task: {e}")),
        }
    }
    total.wall = started.elapsed();
    total
}

/// Waits until `pid` has been idle (≤ 1 clock tick in 0.5 s) after at least `min_wait`, at most
/// `max_wait`. Returns the wait and the CPU seconds it used meanwhile.
pub async fn settle(pid: u32, min_wait: Duration, max_wait: Duration) -> (Duration, f64) {
    let started = Instant::now();
    let first = cpu_seconds(pid);
    let mut last = first;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let c = cpu_seconds(pid);
        let delta = c - last;
        last = c;
        let waited = started.elapsed();
        if (waited >= min_wait && delta <= 0.011) || waited >= max_wait {
            return (waited, last - first);
        }
    }
}

// ------------------------------------------------------------------ GetMetricData

/// A JSON 1.0 GetMetricData body: one MetricStat query per series of `series`.
pub fn get_metric_data_body(
    namespace: &str,
    series: std::ops::Range<u32>,
    stat: &str,
    period: i64,
    start_s: i64,
    end_s: i64,
    max_datapoints: Option<usize>,
) -> Vec<u8> {
    let mut s = String::with_capacity(series.len() * 220 + 200);
    s.push_str("{\"MetricDataQueries\":[");
    for (k, i) in series.enumerate() {
        if k > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"Id\":\"q{i}\",\"MetricStat\":{{\"Metric\":{{\"Namespace\":{},\"MetricName\":\"{METRIC_NAME}\",\"Dimensions\":[{{\"Name\":\"{DIMENSION}\",\"Value\":\"{}\"}}]}},\"Period\":{period},\"Stat\":\"{stat}\"}},\"ReturnData\":true}}",
            Value::from(namespace),
            series_name(i)
        );
    }
    let _ = write!(
        s,
        "],\"StartTime\":{start_s},\"EndTime\":{end_s},\"ScanBy\":\"TimestampAscending\""
    );
    if let Some(m) = max_datapoints {
        let _ = write!(s, ",\"MaxDatapoints\":{m}");
    }
    s.push('}');
    s.into_bytes()
}

/// Relative error of answers against the exact values.
#[derive(Debug, Default, Clone)]
pub struct ErrorStats {
    pub expected: u64,
    pub points: u64,
    /// Answers for buckets not expected (or duplicates).
    pub unexpected: u64,
    pub max: f64,
    pub sum: f64,
    /// Against the interpolated percentile (for percentiles; the same as `max`/`sum` for
    /// averages).
    pub max_interp: f64,
    pub sum_interp: f64,
    /// Answers more than 1 % off the rank-rule value.
    pub over_1pct: u64,
}

impl ErrorStats {
    pub fn mean(&self) -> f64 {
        self.sum / self.points.max(1) as f64
    }
    pub fn mean_interp(&self) -> f64 {
        self.sum_interp / self.points.max(1) as f64
    }
    pub fn add(&mut self, got: f64, want: f64, want_interp: f64) {
        let rel = |w: f64| {
            if w == 0.0 {
                got.abs()
            } else {
                ((got - w) / w).abs()
            }
        };
        let (e, ei) = (rel(want), rel(want_interp));
        self.points += 1;
        self.sum += e;
        self.sum_interp += ei;
        self.max = self.max.max(e);
        self.max_interp = self.max_interp.max(ei);
        if e > 0.01 {
            self.over_1pct += 1;
        }
    }
    pub fn merge(&mut self, o: &ErrorStats) {
        self.expected += o.expected;
        self.points += o.points;
        self.unexpected += o.unexpected;
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.max_interp = self.max_interp.max(o.max_interp);
        self.sum_interp += o.sum_interp;
        self.over_1pct += o.over_1pct;
    }
}

/// Checks a GetMetricData answer whose ids are `q<series>` against `truth` (index
/// `(series - first_series) * buckets + bucket`, buckets of `period` seconds from `start_s`).
/// `percentile` selects the percentile fields of `truth` instead of the average.
pub fn check_gmd_answer(
    body: &[u8],
    truth: &[Exact],
    first_series: u32,
    buckets: usize,
    start_s: i64,
    period: i64,
    percentile: bool,
) -> Result<ErrorStats, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("answer not JSON: {e}"))?;
    let results = v["MetricDataResults"]
        .as_array()
        .ok_or("no MetricDataResults")?;
    let mut st = ErrorStats::default();
    let mut seen = vec![false; truth.len()];
    for r in results {
        let id = r["Id"].as_str().unwrap_or_default();
        let series: u32 = id
            .strip_prefix('q')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unexpected Id {id}"))?;
        let s = series
            .checked_sub(first_series)
            .ok_or("series out of range")? as usize;
        let ts = r["Timestamps"].as_array().ok_or("no Timestamps")?;
        let vs = r["Values"].as_array().ok_or("no Values")?;
        for (t, val) in ts.iter().zip(vs) {
            let (Some(t), Some(val)) = (t.as_f64(), val.as_f64()) else {
                st.unexpected += 1;
                continue;
            };
            let b = (t as i64 - start_s).div_euclid(period);
            let idx = s * buckets + b as usize;
            if b < 0 || b as usize >= buckets || idx >= truth.len() || seen[idx] {
                st.unexpected += 1;
                continue;
            }
            seen[idx] = true;
            let e = truth[idx];
            if percentile {
                st.add(val, e.lower, e.interp);
            } else {
                st.add(val, e.avg, e.avg);
            }
        }
    }
    Ok(st)
}

// ------------------------------------------------------------------ servers

/// Starts `nephoscope serve --listen 127.0.0.1:0 --data-dir DIR --config FILE` (stderr to `log`)
/// and reads the port from its first stdout line.
pub fn start_nephoscope(
    bin: &Path,
    data_dir: &Path,
    config: &Path,
    log: &Path,
) -> Result<(Spawned, u16), String> {
    let stderr = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        // The bench's own variable; the server would warn about it.
        .env_remove("NEPHOSCOPE_BIN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} ({e}); build it first: cargo build --release -p nephoscope-server",
                bin.display()
            )
        })?;
    let mut sp = Spawned {
        name: "nephoscope".into(),
        child,
    };
    let stdout = sp.child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut r, &mut sink);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| format!("no 'listening' line within 30 s; see {}", log.display()))?;
    let port = line
        .trim()
        .strip_prefix("nephoscope listening on http://127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| format!("unexpected first line {line:?}; see {}", log.display()))?;
    Ok((sp, port))
}

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Starts `victoria-metrics -httpListenAddr 127.0.0.1:PORT -storageDataPath DIR` plus `extra`.
pub fn start_victoria(
    bin: &str,
    data_dir: &Path,
    log: &Path,
    extra: &[&str],
) -> Result<(Spawned, u16), String> {
    let port = free_port()?;
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", data_dir.display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {bin} ({e}); apt-get install -y victoria-metrics"))?;
    Ok((
        Spawned {
            name: "victoria-metrics".into(),
            child,
        },
        port,
    ))
}

/// VictoriaMetrics `/api/v1/import` JSON lines for `grid`, one line per (series, run of
/// `minutes_per_line` minutes), bodies of about `body_bytes` before compression. A minute's
/// values get distinct millisecond timestamps inside the minute, never on its first millisecond,
/// so `[60s]` windows ending on the next minute boundary see exactly that minute's values.
/// Series `< labelled` get the label `qset="1"` (the query set).
pub fn victoria_batches(
    grid: &Grid,
    minutes_per_line: u32,
    body_bytes: usize,
    labelled: u32,
    gz: bool,
    threads: usize,
) -> Vec<Batch> {
    let runs: Vec<(u32, u32)> = (0..grid.buckets)
        .step_by(minutes_per_line.max(1) as usize)
        .flat_map(|b| (0..grid.series).map(move |s| (b, s)))
        .collect();
    // Lines per body from the first line's size.
    let line = |b0: u32, s: u32, out: &mut String, vals: &mut Vec<f64>| -> usize {
        let series = grid.first_series + s;
        let q = if series < labelled {
            ",\"qset\":\"1\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "{{\"metric\":{{\"__name__\":\"bench_{METRIC_NAME}\",\"{DIMENSION}\":\"{}\"{q}}},\"values\":[",
            series_name(series)
        );
        let end = (b0 + minutes_per_line).min(grid.buckets);
        let mut ts = String::new();
        let mut n = 0;
        let gap = 59_998 / grid.values.max(1) as i64;
        for b in b0..end {
            let t = grid.start_s + i64::from(b) * grid.step_s;
            grid.values_of(series, t, vals);
            for (j, v) in vals.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                    ts.push(',');
                }
                let _ = write!(out, "{v}");
                let _ = write!(ts, "{}", t * 1000 + 1 + j as i64 * gap);
                n += 1;
            }
        }
        out.push_str("],\"timestamps\":[");
        out.push_str(&ts);
        out.push_str("]}\n");
        n
    };
    let mut probe = String::new();
    line(0, 0, &mut probe, &mut Vec::new());
    let per_body = (body_bytes / probe.len().max(1)).max(1);
    let chunks: Vec<&[(u32, u32)]> = runs.chunks(per_body).collect();
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Batch)> = Vec::new();
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads.clamp(1, 16))
            .map(|_| {
                sc.spawn(|| {
                    let mut mine = Vec::new();
                    let mut vals = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = chunks.get(k) else { break };
                        let mut s = String::with_capacity(body_bytes + body_bytes / 4);
                        let mut n = 0;
                        for (b, ser) in c.iter() {
                            n += line(*b, *ser, &mut s, &mut vals);
                        }
                        let raw_bytes = s.len();
                        let body = if gz {
                            gzip(s.as_bytes())
                        } else {
                            s.into_bytes()
                        };
                        mine.push((
                            k,
                            Batch {
                                body: Bytes::from(body),
                                gzip: gz,
                                datums: c.len(),
                                values: n,
                                raw_bytes,
                            },
                        ));
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            parts.extend(h.join().expect("encoder thread"));
        }
    });
    parts.sort_by_key(|(k, _)| *k);
    parts.into_iter().map(|(_, b)| b).collect()
}

/// The `query_range` form body for `query` over the grid's minutes: points at the end of each
/// minute (`start_s + 60`, …, `start_s + 60·minutes`), step 60.
pub fn victoria_query_body(query: &str, start_s: i64, minutes: u32) -> Bytes {
    Bytes::from(format!(
        "query={}&start={}&end={}&step=60",
        form_escape(query),
        start_s + 60,
        start_s + 60 * i64::from(minutes)
    ))
}

/// Checks a VictoriaMetrics `query_range` answer (series labelled `host`) against `truth`, as
/// [`check_gmd_answer`] does; a point at `t` is the minute ending at `t`.
pub fn check_victoria_answer(
    body: &[u8],
    truth: &[Exact],
    buckets: usize,
    start_s: i64,
    percentile: bool,
) -> Result<(ErrorStats, usize), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("answer not JSON: {e}"))?;
    if v["status"] != "success" {
        return Err(format!(
            "status {}: {}",
            v["status"],
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    let results = v["data"]["result"].as_array().ok_or("no data.result")?;
    let mut st = ErrorStats::default();
    let mut seen = vec![false; truth.len()];
    for r in results {
        let host = r["metric"][DIMENSION].as_str().unwrap_or_default();
        let s: usize = host
            .strip_prefix("host-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unexpected series {}", r["metric"]))?;
        for p in r["values"].as_array().ok_or("no values")? {
            let (Some(t), Some(val)) = (
                p[0].as_f64(),
                p[1].as_str().and_then(|x| x.parse::<f64>().ok()),
            ) else {
                st.unexpected += 1;
                continue;
            };
            let b = (t as i64 - start_s) / 60 - 1;
            let idx = s * buckets + b as usize;
            if b < 0 || b as usize >= buckets || idx >= truth.len() || seen[idx] {
                st.unexpected += 1;
                continue;
            }
            seen[idx] = true;
            let e = truth[idx];
            if percentile {
                st.add(val, e.lower, e.interp);
            } else {
                st.add(val, e.avg, e.avg);
            }
        }
    }
    Ok((st, results.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_distinct_deterministic_and_positive() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        datum_values(7, 3, 1_795_000_000, MAX_VALUES, &mut a);
        datum_values(7, 3, 1_795_000_000, MAX_VALUES, &mut b);
        assert_eq!(a, b);
        let set: std::collections::HashSet<u64> = a.iter().map(|v| v.to_bits()).collect();
        assert_eq!(set.len(), MAX_VALUES);
        assert!(a.iter().all(|v| *v > 0.0 && v.is_finite()));
    }

    #[test]
    fn exact_rank_rules() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let e = exact(&mut v, 0.99);
        assert_eq!(e.lower, 99.0);
        assert!((e.interp - 99.01).abs() < 1e-9);
        assert!((e.avg - 50.5).abs() < 1e-12);
    }

    #[test]
    fn bodies_fit_and_iso_dates() {
        assert_eq!(iso8601(1_795_636_080), "2026-11-25T19:48:00Z");
        let grid = Grid {
            seed: 1,
            series: 10,
            buckets: 5,
            start_s: 1_795_636_080,
            step_s: 60,
            values: MAX_VALUES,
            first_series: 0,
        };
        for p in Protocol::ALL {
            let b = put_batches(p, "Nephoscope/Bench", &grid, grid.datums(), true, 2);
            assert_eq!(b.iter().map(|b| b.datums).sum::<usize>(), grid.datums());
            assert!(b.iter().all(|b| b.body.len() <= MAX_BODY));
        }
        let q = String::from_utf8(encode_put(Protocol::Query, "A/B", &grid, 0..1)).unwrap();
        assert!(q.contains("Namespace=A%2FB&MetricData.member.1.MetricName=latency"));
        assert!(q.contains("Timestamp=2026-11-25T19%3A48%3A00Z"));
        let j: Value =
            serde_json::from_slice(&encode_put(Protocol::Json, "A", &grid, 0..2)).unwrap();
        assert_eq!(
            j["MetricData"][1]["Values"].as_array().unwrap().len(),
            MAX_VALUES
        );
    }
}
