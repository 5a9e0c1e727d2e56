//! Synthetic API Gateway (REST, JSON access-log format) events — the Rust port of
//! `shared/reference/perf-scripts/gen_apigw.py`.
//!
//! Deterministic for a seed: the same seed, count and time range give the same events. One JSON
//! object per event, ~377 bytes, with the same fields, key order and distributions as the Python
//! generator: `requestId` (random UUID v4), `extendedRequestId` (8 hex digits), `ip` (5,000
//! distinct), `user` (`user-00000`..`user-19999` for 60 % of requests, else `-`), `requestTime`
//! (common log format), `httpMethod` (70 % GET), `resourcePath` (10 routes), `status` (88 % 200,
//! 0.5 % 5xx), `responseLength`, `integrationLatency` / `responseLatency` (log-normal ms),
//! `userAgent`, `stage`. Timestamps ascend evenly over `span_ms` ending at `end_ms`, so a stream
//! of events can be cut into chronological PutLogEvents batches.
//!
//! The random stream is not Python's Mersenne Twister, so the events differ from the Python
//! script's; the shape (sizes, cardinalities, skew) is the same. The typed [`ApiGwRecord`] is kept
//! next to the rendered message so that benchmarks can compute expected answers (match counts,
//! aggregates) without parsing.

use std::fmt::Write as _;

const METHODS: [(&str, u32); 4] = [("GET", 70), ("POST", 20), ("PUT", 5), ("DELETE", 5)];
const PATHS: [&str; 10] = [
    "/pets",
    "/pets/{petId}",
    "/orders",
    "/orders/{orderId}",
    "/users/{userId}",
    "/users/{userId}/cart",
    "/search",
    "/health",
    "/login",
    "/checkout",
];
/// Status codes with weights per 1,000 requests (mostly 200s, some 4xx and 5xx).
pub const STATUSES: [(u16, u32); 13] = [
    (200, 880),
    (201, 40),
    (204, 10),
    (301, 5),
    (304, 15),
    (400, 15),
    (401, 8),
    (403, 7),
    (404, 12),
    (429, 3),
    (500, 3),
    (502, 1),
    (503, 1),
];
const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (X11; Linux x86_64)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "aws-sdk-java/2.25.1",
    "okhttp/4.12.0",
    "Go-http-client/2.0",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Distinct client IPs and user names, as in the Python generator.
pub const IP_POOL: usize = 5_000;
pub const USER_POOL: u32 = 20_000;

/// xoshiro256** seeded through SplitMix64: small, fast and reproducible everywhere.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (`n > 0`; the multiply-shift bias is below 2^-32 for our sizes).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u32 = table.iter().map(|(_, w)| w).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (v, w) in table {
            if r < *w {
                return *v;
            }
            r -= w;
        }
        table[table.len() - 1].0
    }
}

/// The fields of one access-log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiGwRecord {
    pub request_id: u128,
    pub extended_request_id: u32,
    /// Index into the generator's IP pool; the text is in [`ApiGwEvent::message`].
    pub ip: u16,
    /// `Some(n)` renders as `user-0000n`; `None` as `-`.
    pub user: Option<u32>,
    pub http_method: &'static str,
    pub resource_path: &'static str,
    pub status: u16,
    pub response_length: u32,
    pub integration_latency: u32,
    pub response_latency: u32,
    pub user_agent: &'static str,
}

/// One generated event: its timestamp, typed fields and the rendered JSON message.
#[derive(Debug, Clone)]
pub struct ApiGwEvent {
    pub timestamp_ms: i64,
    pub record: ApiGwRecord,
    pub message: String,
}

/// `user-01234`, the form of the `user` field.
pub fn user_name(n: u32) -> String {
    format!("user-{n:05}")
}

/// An endless (or `n`-bounded, see [`ApiGwGenerator::new`]) iterator of events.
#[derive(Debug, Clone)]
pub struct ApiGwGenerator {
    rng: Rng,
    ips: Vec<String>,
    start_ms: i64,
    step_ms: f64,
    i: u64,
    n: u64,
}

impl ApiGwGenerator {
    /// `n` events with timestamps spread evenly over the `span_ms` milliseconds ending at
    /// `end_ms` (ascending), like `gen_apigw.py N OUT --seed S --span-s .. --end-ms ..`.
    pub fn new(seed: u64, n: u64, end_ms: i64, span_ms: i64) -> Self {
        let mut rng = Rng::new(seed);
        let ips = (0..IP_POOL)
            .map(|_| {
                format!(
                    "{}.{}.{}.{}",
                    rng.range(1, 223),
                    rng.range(0, 255),
                    rng.range(0, 255),
                    rng.range(1, 254)
                )
            })
            .collect();
        ApiGwGenerator {
            rng,
            ips,
            start_ms: end_ms - span_ms,
            step_ms: span_ms as f64 / n.max(1) as f64,
            i: 0,
            n,
        }
    }

    pub fn ip(&self, index: u16) -> &str {
        &self.ips[usize::from(index)]
    }

    fn record(&mut self) -> ApiGwRecord {
        let r = &mut self.rng;
        let status = r.weighted(&STATUSES);
        let resource_path = PATHS[r.below(PATHS.len() as u64) as usize];
        let lat = r.lognormal(3.0, 0.8) as u32 + 1;
        let request_id = (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64());
        let extended_request_id = r.next_u64() as u32;
        let ip = r.below(IP_POOL as u64) as u16;
        let user = if r.unit() < 0.6 {
            Some(r.below(u64::from(USER_POOL)) as u32)
        } else {
            None
        };
        let http_method = r.weighted(&METHODS);
        let response_length = if status < 300 {
            r.range(0, 20_000)
        } else {
            r.range(0, 300)
        } as u32;
        let response_latency = lat + r.range(1, 15) as u32;
        let user_agent = AGENTS[r.below(AGENTS.len() as u64) as usize];
        ApiGwRecord {
            // UUID version 4, RFC 4122 variant.
            request_id: (request_id & !(0xF000u128 << 64) & !(0xC000u128 << 48))
                | (0x4000u128 << 64)
                | (0x8000u128 << 48),
            extended_request_id,
            ip,
            user,
            http_method,
            resource_path,
            status,
            response_length,
            integration_latency: lat,
            response_latency,
            user_agent,
        }
    }

    /// Renders `rec` at `timestamp_ms` as compact JSON (keys in the Python generator's order).
    pub fn render(&self, rec: &ApiGwRecord, timestamp_ms: i64, out: &mut String) {
        let id = rec.request_id;
        let _ = write!(
            out,
            r#"{{"requestId":"{:08x}-{:04x}-{:04x}-{:04x}-{:012x}","extendedRequestId":"{:08X}","ip":"{}","caller":"-","user":""#,
            (id >> 96) as u32,
            (id >> 80) as u16,
            (id >> 64) as u16,
            (id >> 48) as u16,
            id as u64 & 0xFFFF_FFFF_FFFF,
            rec.extended_request_id,
            self.ip(rec.ip),
        );
        match rec.user {
            Some(n) => {
                let _ = write!(out, "user-{n:05}");
            }
            None => out.push('-'),
        }
        out.push_str(r#"","requestTime":""#);
        clf_time(timestamp_ms, out);
        let _ = write!(
            out,
            r#"","httpMethod":"{}","resourcePath":"{}","status":{},"protocol":"HTTP/1.1","responseLength":{},"integrationLatency":{},"responseLatency":{},"userAgent":"{}","stage":"prod"}}"#,
            rec.http_method,
            rec.resource_path,
            rec.status,
            rec.response_length,
            rec.integration_latency,
            rec.response_latency,
            rec.user_agent,
        );
    }
}

impl Iterator for ApiGwGenerator {
    type Item = ApiGwEvent;

    fn next(&mut self) -> Option<ApiGwEvent> {
        if self.i >= self.n {
            return None;
        }
        let timestamp_ms = self.start_ms + (self.i as f64 * self.step_ms) as i64;
        self.i += 1;
        let record = self.record();
        let mut message = String::with_capacity(400);
        self.render(&record, timestamp_ms, &mut message);
        Some(ApiGwEvent {
            timestamp_ms,
            record,
            message,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.n - self.i) as usize;
        (left, Some(left))
    }
}

/// `25/Nov/2026:12:00:00 +0000` (UTC).
pub fn clf_time(ms: i64, out: &mut String) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const END: i64 = 1_795_608_000_000; // 2026-11-25T12:00:00Z

    #[test]
    fn deterministic_for_a_seed() {
        let a: Vec<String> = ApiGwGenerator::new(42, 100, END, 3_600_000)
            .map(|e| e.message)
            .collect();
        let b: Vec<String> = ApiGwGenerator::new(42, 100, END, 3_600_000)
            .map(|e| e.message)
            .collect();
        let c: Vec<String> = ApiGwGenerator::new(43, 100, END, 3_600_000)
            .map(|e| e.message)
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn shape_matches_the_python_generator() {
        let events: Vec<ApiGwEvent> = ApiGwGenerator::new(42, 20_000, END, 3_600_000).collect();
        assert_eq!(events.len(), 20_000);
        assert!(events
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
        assert!(events[0].timestamp_ms >= END - 3_600_000);
        assert!(events.last().unwrap().timestamp_ms < END);
        let bytes: usize = events.iter().map(|e| e.message.len()).sum();
        let mean = bytes as f64 / events.len() as f64;
        assert!((360.0..400.0).contains(&mean), "mean size {mean}");
        let ok = events.iter().filter(|e| e.record.status == 200).count();
        assert!((17_000..18_200).contains(&ok), "{ok} × 200");
        for e in events.iter().take(500) {
            let v: serde_json::Value = serde_json::from_str(&e.message).unwrap();
            assert_eq!(v["status"], e.record.status);
            assert_eq!(v["responseLatency"], e.record.response_latency);
            let id = v["requestId"].as_str().unwrap();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
            assert!("89ab".contains(&id[19..20]));
            match e.record.user {
                Some(n) => assert_eq!(v["user"], user_name(n)),
                None => assert_eq!(v["user"], "-"),
            }
        }
    }

    #[test]
    fn clf_time_format() {
        let mut s = String::new();
        clf_time(END + 3_723_000, &mut s);
        assert_eq!(s, "25/Nov/2026:13:02:03 +0000");
        s.clear();
        clf_time(951_782_400_000, &mut s); // 2000-02-29
        assert_eq!(s, "29/Feb/2000:00:00:00 +0000");
    }
}
