//! Logs Insights benchmark pieces: the six queries of the benchmark issue, the answers the
//! generator expects (computed from the typed records, no parsing), StartQuery +
//! GetQueryResults polling, and normalisation of Nephoscope's and the SQL peers' rows into one
//! comparable form.
//!
//! Percentile definitions differ between engines: Nephoscope's `pct(x, p)` is the nearest rank
//! (1-based rank `ceil(p/100 · n)` of the sorted values, like the generator's expectation);
//! chDB's `quantileExact(0.99)` takes the element at 0-based position `floor(0.99 · n)`; DuckDB's
//! `quantile_disc(x, 0.99)` is another discrete quantile. All of them return one of the values,
//! and for the same data they are at most one rank apart, so [`agree`] accepts values whose
//! ranks in the true sorted data are within one of each other.

use crate::apigw::ApiGwEvent;
use crate::aws::AwsClient;
use crate::procfs::cpu_seconds;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// One benchmark query: its id (`a`..`f`, the issue's letters), what it stands for, and the
/// Logs Insights text sent to StartQuery.
#[derive(Debug, Clone, Copy)]
pub struct QuerySpec {
    pub id: &'static str,
    pub title: &'static str,
    pub insights: &'static str,
    /// Which of the issue's per-core targets applies.
    pub target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Text filters: ≥ 2 GB/s per core (raw-equivalent).
    TextFilter,
    /// Stats on discovered (JSON) fields: ≥ 100 M rows/s per core and ≥ 1.5 GB/s per core
    /// schema-on-read.
    FieldStats,
    /// Schema-on-read stats (parse): ≥ 1.5 GB/s per core.
    ParseStats,
    /// No per-core target; only "not slower than chDB".
    None,
}

/// The case-insensitive regex of query (b), as rg gets it (with `-i`).
pub const RG_REGEX: &str = r"python-requests/2\.\d+";

pub const QUERIES: [QuerySpec; 6] = [
    QuerySpec {
        id: "a",
        title: "filter status >= 500, count by bin(5m)",
        insights: "filter status >= 500 | stats count(*) by bin(5m)",
        target: Target::FieldStats,
    },
    QuerySpec {
        id: "b",
        title: "case-insensitive regex like, count",
        insights: r"filter @message like /(?i)python-requests\/2\.\d+/ | stats count(*)",
        target: Target::TextFilter,
    },
    QuerySpec {
        id: "c",
        title: "parse + avg by parsed field",
        insights: r#"parse @message /"resourcePath":"(?<route>[^"]+)".*"responseLatency":(?<latency>\d+)/ | stats avg(latency) by route"#,
        target: Target::ParseStats,
    },
    QuerySpec {
        id: "d",
        title: "sort @timestamp desc, limit 100",
        insights: "sort @timestamp desc | limit 100",
        target: Target::None,
    },
    QuerySpec {
        id: "e",
        title: "count_distinct(user) by route",
        insights: "stats count_distinct(user) by resourcePath",
        target: Target::FieldStats,
    },
    QuerySpec {
        id: "f",
        title: "pct(latency, 99) by route",
        insights: "stats pct(responseLatency, 99) by resourcePath",
        target: Target::FieldStats,
    },
];

/// A query's answer in a form every engine's rows reduce to.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Group key → one number (a single-row aggregate has the key `""`). Keys of time bins are
    /// epoch milliseconds.
    Keyed(BTreeMap<String, f64>),
    /// `(timestamp ms, message)` rows in order.
    Rows(Vec<(i64, String)>),
}

impl Answer {
    pub fn len(&self) -> usize {
        match self {
            Answer::Keyed(m) => m.len(),
            Answer::Rows(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A short human summary (`12 groups, total 2,745` or `100 rows`).
    pub fn summary(&self) -> String {
        match self {
            Answer::Keyed(m) if m.len() == 1 && m.contains_key("") => fmt_num(m[""]),
            Answer::Keyed(m) => format!("{} groups", m.len()),
            Answer::Rows(r) => format!("{} rows", r.len()),
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.6}")
    }
}

/// What the generator knows about the data set: enough to answer every query exactly.
#[derive(Debug, Default)]
pub struct Expected {
    pub events: u64,
    pub raw_bytes: u64,
    pub min_ts: Option<i64>,
    pub max_ts: Option<i64>,
    bins_5xx: BTreeMap<i64, u64>,
    regex_matches: u64,
    latency_by_route: BTreeMap<&'static str, (f64, u64)>,
    users_by_route: HashMap<&'static str, HashSet<Option<u32>>>,
    latencies_by_route: HashMap<&'static str, Vec<u32>>,
    /// The newest 100 events (timestamps ascend in generation order).
    newest: std::collections::VecDeque<(i64, String)>,
    sorted: bool,
}

impl Expected {
    pub fn observe(&mut self, e: &ApiGwEvent) {
        let r = &e.record;
        self.events += 1;
        self.raw_bytes += e.message.len() as u64;
        self.min_ts = Some(
            self.min_ts
                .map_or(e.timestamp_ms, |m| m.min(e.timestamp_ms)),
        );
        self.max_ts = Some(
            self.max_ts
                .map_or(e.timestamp_ms, |m| m.max(e.timestamp_ms)),
        );
        if r.status >= 500 {
            *self
                .bins_5xx
                .entry(e.timestamp_ms.div_euclid(300_000) * 300_000)
                .or_default() += 1;
        }
        // /(?i)python-requests\/2\.\d+/: only the userAgent field can hold it.
        self.regex_matches += u64::from(r.user_agent.starts_with("python-requests/2."));
        let l = self.latency_by_route.entry(r.resource_path).or_default();
        l.0 += f64::from(r.response_latency);
        l.1 += 1;
        self.users_by_route
            .entry(r.resource_path)
            .or_default()
            .insert(r.user);
        self.latencies_by_route
            .entry(r.resource_path)
            .or_default()
            .push(r.response_latency);
        let mut slot = if self.newest.len() == 100 {
            self.newest.pop_front().map(|(_, s)| s).unwrap_or_default()
        } else {
            String::new()
        };
        slot.clear();
        slot.push_str(&e.message);
        self.newest.push_back((e.timestamp_ms, slot));
        self.sorted = false;
    }

    fn sort(&mut self) {
        if !self.sorted {
            for v in self.latencies_by_route.values_mut() {
                v.sort_unstable();
            }
            self.sorted = true;
        }
    }

    /// The exact answer of query `id`, percentiles by nearest rank.
    pub fn answer(&mut self, id: &str) -> Answer {
        self.sort();
        let keyed = |it: &mut dyn Iterator<Item = (String, f64)>| Answer::Keyed(it.collect());
        match id {
            "a" => keyed(
                &mut self
                    .bins_5xx
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v as f64)),
            ),
            "b" => keyed(&mut std::iter::once((
                String::new(),
                self.regex_matches as f64,
            ))),
            "c" => keyed(
                &mut self
                    .latency_by_route
                    .iter()
                    .map(|(k, (s, n))| (k.to_string(), s / *n as f64)),
            ),
            "d" => Answer::Rows(self.newest.iter().rev().cloned().collect()),
            "e" => keyed(
                &mut self
                    .users_by_route
                    .iter()
                    .map(|(k, s)| (k.to_string(), s.len() as f64)),
            ),
            "f" => keyed(&mut self.latencies_by_route.iter().map(|(k, v)| {
                let rank = ((0.99 * v.len() as f64).ceil() as usize).clamp(1, v.len());
                (k.to_string(), f64::from(v[rank - 1]))
            })),
            _ => Answer::Keyed(BTreeMap::new()),
        }
    }

    /// The 0-based rank interval of `v` in route `key`'s sorted latencies (values equal to `v`;
    /// an empty interval at the insertion point when absent).
    fn ranks(&mut self, key: &str, v: f64) -> Option<(usize, usize)> {
        self.sort();
        let s = self.latencies_by_route.get(key)?;
        let lo = s.partition_point(|x| f64::from(*x) < v);
        let hi = s.partition_point(|x| f64::from(*x) <= v);
        Some((lo, hi.max(lo + 1) - 1))
    }
}

/// Whether two answers to query `id` agree: counts and keys exactly, averages to 1e-9
/// relative, percentiles (`f`) when their ranks in the true data are at most one apart.
/// Returns the differences found (at most `max_notes`).
pub fn agree(
    id: &str,
    ours: &Answer,
    theirs: &Answer,
    truth: &mut Expected,
    max_notes: usize,
) -> Vec<String> {
    let mut notes = Vec::new();
    match (ours, theirs) {
        (Answer::Keyed(a), Answer::Keyed(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (a.get(k), b.get(k));
                let ok = match (x, y) {
                    (Some(x), Some(y)) => match id {
                        "c" => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                        "f" => match (truth.ranks(k, *x), truth.ranks(k, *y)) {
                            (Some((l1, h1)), Some((l2, h2))) => {
                                l1 <= h2.saturating_add(1) && l2 <= h1.saturating_add(1)
                            }
                            _ => x == y,
                        },
                        _ => x == y,
                    },
                    _ => false,
                };
                if !ok && notes.len() < max_notes {
                    let show = |v: Option<&f64>| v.map_or("(missing)".into(), |v| fmt_num(*v));
                    notes.push(format!(
                        "{}: {} vs {}",
                        if k.is_empty() { "(value)" } else { k.as_str() },
                        show(x),
                        show(y)
                    ));
                }
            }
        }
        (Answer::Rows(a), Answer::Rows(b)) => {
            if a.len() != b.len() {
                notes.push(format!("{} rows vs {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if x != y && notes.len() < max_notes {
                    notes.push(format!(
                        "row {i}: ({}, {}…) vs ({}, {}…)",
                        x.0,
                        x.1.chars().take(60).collect::<String>(),
                        y.0,
                        y.1.chars().take(60).collect::<String>()
                    ));
                }
            }
        }
        _ => notes.push("different answer shapes".into()),
    }
    notes
}

/// `2026-11-25 12:05:00.000` (UTC) → epoch ms.
pub fn parse_insights_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 23 || b[4] != b'-' || b[10] != b' ' || b[19] != b'.' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se, ms) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..23)?);
    // days from civil (proleptic Gregorian)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms)
}

/// Nephoscope's GetQueryResults rows (`[[{field, value}, ...], ...]`) → [`Answer`].
/// Aggregated rows are `[group key, value]` or `[value]`; query `a`'s key is a bin time.
pub fn nephoscope_answer(id: &str, results: &Value) -> Result<Answer, String> {
    let rows = results.as_array().ok_or("results is not an array")?;
    let cells = |row: &Value| -> Vec<(String, String)> {
        row.as_array()
            .map(|r| {
                r.iter()
                    .map(|c| {
                        (
                            c["field"].as_str().unwrap_or_default().to_string(),
                            c["value"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if id == "d" {
        let mut out = Vec::new();
        for r in rows {
            let c = cells(r);
            let get = |name: &str| c.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let ts = get("@timestamp")
                .and_then(|t| parse_insights_time(&t))
                .ok_or_else(|| format!("row without a parsable @timestamp: {c:?}"))?;
            out.push((ts, get("@message").ok_or("row without @message")?));
        }
        return Ok(Answer::Rows(out));
    }
    let mut m = BTreeMap::new();
    for r in rows {
        let c = cells(r);
        let (key, val) = match c.as_slice() {
            [(_, v)] => (String::new(), v.clone()),
            [(_, k), (_, v)] => (k.clone(), v.clone()),
            other => return Err(format!("unexpected row shape {other:?}")),
        };
        let key = if id == "a" && !key.is_empty() {
            parse_insights_time(&key)
                .ok_or_else(|| format!("bin value {key:?} is not a time"))?
                .to_string()
        } else {
            key
        };
        let v: f64 = val
            .parse()
            .map_err(|_| format!("value {val:?} is not a number"))?;
        if m.insert(key.clone(), v).is_some() {
            return Err(format!("group {key:?} appears twice"));
        }
    }
    Ok(Answer::Keyed(m))
}

/// A SQL peer's rows (`[[key, value], ...]`, `[[value]]`, or `[[ts, message], ...]` for `d`)
/// → [`Answer`].
pub fn peer_answer(id: &str, rows: &Value) -> Result<Answer, String> {
    let rows = rows.as_array().ok_or("rows is not an array")?;
    let num = |v: &Value| -> Result<f64, String> {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| format!("{v} is not a number"))
    };
    let text = |v: &Value| -> String {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| match v.as_f64() {
                Some(x) => fmt_num(x),
                None => v.to_string(),
            })
    };
    if id == "d" {
        return rows
            .iter()
            .map(|r| {
                let ts = num(&r[0])? as i64;
                Ok((
                    ts,
                    r[1].as_str().ok_or("message is not a string")?.to_string(),
                ))
            })
            .collect::<Result<_, String>>()
            .map(Answer::Rows);
    }
    let mut m = BTreeMap::new();
    for r in rows {
        let r = r.as_array().ok_or("row is not an array")?;
        let (k, v) = match r.as_slice() {
            [v] => (String::new(), num(v)?),
            [k, v] => (text(k), num(v)?),
            other => return Err(format!("unexpected row {other:?}")),
        };
        m.insert(k, v);
    }
    Ok(Answer::Keyed(m))
}

/// One StartQuery → GetQueryResults run.
#[derive(Debug, Clone)]
pub struct QueryRun {
    pub query_id: String,
    pub status: String,
    /// StartQuery sent → final status read.
    pub wall: Duration,
    /// Server CPU time over the same interval, from its `process_cpu_seconds_total`
    /// (includes answering the polls and the two readings).
    pub server_cpu: f64,
    pub polls: u32,
    pub results: Value,
    pub statistics: Value,
}

/// Starts `query` over `group` for `[start_s, end_s]` (epoch seconds) and polls
/// GetQueryResults every `poll` until the status is final or `deadline` passes (then the query
/// is stopped and an error returned).
#[allow(clippy::too_many_arguments)]
pub async fn run_query(
    client: &AwsClient,
    server_pid: u32,
    group: &str,
    query: &str,
    start_s: i64,
    end_s: i64,
    poll: Duration,
    deadline: Duration,
) -> Result<QueryRun, String> {
    let body = json!({
        "logGroupName": group,
        "startTime": start_s,
        "endTime": end_s,
        "queryString": query,
        "limit": 10_000,
    })
    .to_string();
    // The server's own clock when it has one (nanoseconds), else /proc's 10 ms ticks.
    let cpu0 = client.server_cpu().await;
    let ticks0 = cpu_seconds(server_pid);
    let started = Instant::now();
    let r = client.logs("StartQuery", body).await?;
    let v = r.ok_json().map_err(|e| format!("StartQuery: {e}"))?;
    let id = v["queryId"]
        .as_str()
        .ok_or_else(|| format!("StartQuery answer without queryId: {v}"))?
        .to_string();
    let req = json!({ "queryId": id }).to_string();
    let mut polls = 0u32;
    // The first poll at once, then waits doubling from 1 ms up to `poll`: a fast query is
    // timed to about its own duration, a slow one is not polled more often than every `poll`.
    let mut wait = Duration::ZERO;
    loop {
        // (A zero sleep would still wait for the timer's next millisecond tick.)
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait = (wait * 2).clamp(Duration::from_millis(1), poll);
        polls += 1;
        let r = client.logs("GetQueryResults", req.clone()).await?;
        let v = r
            .ok_json()
            .map_err(|e| format!("GetQueryResults (poll {polls}): {e}"))?;
        let status = v["status"].as_str().unwrap_or("?").to_string();
        if !matches!(status.as_str(), "Scheduled" | "Running") {
            return Ok(QueryRun {
                query_id: id,
                status,
                wall: started.elapsed(),
                server_cpu: match (cpu0, client.server_cpu().await) {
                    (Some(a), Some(b)) => b - a,
                    _ => cpu_seconds(server_pid) - ticks0,
                },
                polls,
                results: v["results"].clone(),
                statistics: v["statistics"].clone(),
            });
        }
        if started.elapsed() > deadline {
            let _ = client
                .logs("StopQuery", json!({ "queryId": id }).to_string())
                .await;
            return Err(format!(
                "query {id} still {status} after {:?} ({polls} polls); stopped",
                started.elapsed()
            ));
        }
    }
}

/// Waits until the server has been idle (≤ 1 clock tick in 0.5 s) after at least `min_wait`;
/// gives up at `max_wait`. Returns the wait and the server CPU seconds used meanwhile.
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

/// Polls `GET /_nephoscope/health` until it answers 200.
pub async fn wait_healthy(client: &AwsClient, deadline: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < deadline {
        match client.get("/_nephoscope/health").await {
            Ok(r) if r.status == 200 => return Ok(started.elapsed()),
            Ok(r) => last = format!("HTTP {}", r.status),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("not healthy within {deadline:?}: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::ApiGwGenerator;

    #[test]
    fn insights_time_round_trip() {
        assert_eq!(
            parse_insights_time("2023-11-14 22:13:20.123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_insights_time("2000-02-29 00:00:00.000"),
            Some(951_782_400_000)
        );
        assert_eq!(parse_insights_time("1970-01-01 00:00:00.000"), Some(0));
        assert_eq!(parse_insights_time("2023-11-14T22:13:20Z"), None);
    }

    #[test]
    fn expected_answers_from_the_generator() {
        let mut ex = Expected::default();
        let events: Vec<ApiGwEvent> =
            ApiGwGenerator::new(3, 20_000, 1_795_608_000_000, 3_600_000).collect();
        for e in &events {
            ex.observe(e);
        }
        let Answer::Keyed(a) = ex.answer("a") else {
            panic!()
        };
        let n5xx = events.iter().filter(|e| e.record.status >= 500).count() as f64;
        assert_eq!(a.values().sum::<f64>(), n5xx);
        assert!(a.len() >= 10, "{} bins", a.len());
        let Answer::Keyed(b) = ex.answer("b") else {
            panic!()
        };
        let rx = events
            .iter()
            .filter(|e| {
                e.message
                    .to_ascii_lowercase()
                    .contains("python-requests/2.")
            })
            .count() as f64;
        assert_eq!(b[""], rx);
        let Answer::Rows(d) = ex.answer("d") else {
            panic!()
        };
        assert_eq!(d.len(), 100);
        assert_eq!(d[0].0, events.last().unwrap().timestamp_ms);
        assert!(d.windows(2).all(|w| w[0].0 > w[1].0));
        let Answer::Keyed(e) = ex.answer("e") else {
            panic!()
        };
        assert_eq!(e.len(), 10);
        // Percentile tolerance: one rank either side agrees, two ranks off does not.
        let f = ex.answer("f");
        let Answer::Keyed(fm) = &f else { panic!() };
        let route = fm.keys().next().unwrap().clone();
        let mut lat: Vec<u32> = events
            .iter()
            .filter(|e| e.record.resource_path == route)
            .map(|e| e.record.response_latency)
            .collect();
        lat.sort_unstable();
        let rank = (0.99 * lat.len() as f64).ceil() as usize;
        assert_eq!(fm[&route], f64::from(lat[rank - 1]));
        let with = |v: f64| {
            let mut m = fm.clone();
            m.insert(route.clone(), v);
            Answer::Keyed(m)
        };
        assert!(agree("f", &f, &with(f64::from(lat[rank])), &mut ex, 5).is_empty());
        let far = lat[(rank + 40).min(lat.len() - 1)];
        if far > lat[rank] {
            assert!(!agree("f", &f, &with(f64::from(far)), &mut ex, 5).is_empty());
        }
    }

    #[test]
    fn rows_of_nephoscope_and_peers_normalise_alike() {
        let neph = json!([
            [{"field": "bin(5m)", "value": "2023-11-14 22:10:00.000"}, {"field": "count(*)", "value": "3"}],
            [{"field": "bin(5m)", "value": "2023-11-14 22:15:00.000"}, {"field": "count(*)", "value": "1"}]
        ]);
        let peer = json!([[1_700_000_100_000i64, 1], [1_699_999_800_000i64, "3"]]);
        assert_eq!(
            nephoscope_answer("a", &neph).unwrap(),
            peer_answer("a", &peer).unwrap()
        );
        let n1 = json!([[{"field": "count(*)", "value": "42"}]]);
        assert_eq!(
            nephoscope_answer("b", &n1).unwrap(),
            peer_answer("b", &json!([[42]])).unwrap()
        );
        let nd = json!([[{"field": "@timestamp", "value": "2023-11-14 22:13:20.123"},
                         {"field": "@message", "value": "{}"}, {"field": "@ptr", "value": "x"}]]);
        assert_eq!(
            nephoscope_answer("d", &nd).unwrap(),
            Answer::Rows(vec![(1_700_000_000_123, "{}".into())])
        );
    }
}
