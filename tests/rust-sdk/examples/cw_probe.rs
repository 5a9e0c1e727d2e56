//! A command-line probe: one CloudWatch call through aws-sdk-cloudwatch (Smithy RPC v2 CBOR),
//! printed as one line of JSON. `tests/clients/test_metrics_protocols.py` runs it next to boto3
//! (JSON 1.0) and botocore 1.42.6 (Query) to check that all three protocols give the same answers.
//!
//! ```text
//! cw_probe ENDPOINT put NAMESPACE        datums on stdin, one per line, space-separated key=value:
//!                                        name=M [ts=EPOCH_S] [unit=U] [res=1|60] [dim=K:V]... and
//!                                        value=X | values=X,Y,.. [counts=C,..] | stats=N,SUM,MIN,MAX
//! cw_probe ENDPOINT gms ARG...           GetMetricStatistics: ns= name= dim=K:V start= end= period=
//!                                        stat=S... ext=pNN... unit=U
//! cw_probe ENDPOINT gmd ARG...           GetMetricData: start= end= scan=TimestampAscending|...
//!                                        q=id=ID;ns=NS;name=M;period=P;stat=S[;label=L][;unit=U]
//!                                          [;dim=K:V]...[;return=false]   (one q= per query)
//! cw_probe ENDPOINT lm ARG...            ListMetrics: ns= name= dimf=K[:V]... recent=PT3H token=T
//! ```
//!
//! Output: `{"ok":true,"request_id":..,"result":{..}}` with the output's members under their
//! AWS names (timestamps as epoch seconds, doubles printed so that they parse back to the same
//! f64), or `{"ok":false,"status":..,"code":..,"message":..,"error_type":..,"variant":..}` for a
//! service error (`variant` is the SDK's modeled error variant, e.g.
//! `InvalidParameterCombinationException`, or `Unhandled`). Exit status 0 in both cases; 2 for a
//! usage error, 3 for a failure that is not a service error (transport, response parsing).
//! Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default `test`/`test`).

use std::fmt::Write as _;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatch::config::{Credentials, Region};
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::operation::RequestId;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Datapoint, Dimension, DimensionFilter, Metric, MetricDataQuery, MetricDataResult, MetricDatum, MetricStat,
    RecentlyActive, ScanBy, StandardUnit, Statistic, StatisticSet,
};

/// A JSON value built by hand (the probe has no JSON dependency).
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn obj(members: Vec<(&str, J)>) -> J {
        J::Obj(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn opt_str(s: Option<&str>) -> J {
        s.map_or(J::Null, |s| J::Str(s.to_string()))
    }

    fn opt_num(n: Option<f64>) -> J {
        n.map_or(J::Null, J::Num)
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => {
                let _ = write!(out, "{i}");
            }
            // `{:?}` prints the shortest decimal that parses back to the same f64 ("2.5",
            // "0.30000000000000004", "1e-7"); non-finite numbers have no JSON form.
            J::Num(n) if n.is_finite() => {
                let _ = write!(out, "{n:?}");
            }
            J::Num(n) => J::Str(format!("{n}")).write(out),
            J::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    J::Str(k.clone()).write(out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn time(t: &DateTime) -> J {
    J::Num(t.as_secs_f64())
}

fn usage(why: &str) -> ! {
    eprintln!("cw_probe: {why}\nusage: cw_probe ENDPOINT put NAMESPACE | gms ARGS | gmd ARGS | lm ARGS");
    std::process::exit(2)
}

fn num(what: &str, s: &str) -> f64 {
    s.parse::<f64>()
        .unwrap_or_else(|_| usage(&format!("{what}: not a number: {s:?}")))
}

fn dimension(s: &str) -> Dimension {
    let (k, v) = s
        .split_once(':')
        .unwrap_or_else(|| usage(&format!("dimension {s:?} is not K:V")));
    Dimension::builder().name(k).value(v).build()
}

fn pairs(args: &[String]) -> Vec<(&str, &str)> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .unwrap_or_else(|| usage(&format!("argument {a:?} is not key=value")))
        })
        .collect()
}

fn datum(line: &str) -> MetricDatum {
    let mut b = MetricDatum::builder();
    for field in line.split_whitespace() {
        let (k, v) = field
            .split_once('=')
            .unwrap_or_else(|| usage(&format!("datum field {field:?}")));
        b = match k {
            "name" => b.metric_name(v),
            "ts" => b.timestamp(DateTime::from_secs_f64(num("ts", v))),
            "unit" => b.unit(StandardUnit::from(v)),
            "res" => b.storage_resolution(num("res", v) as i32),
            "dim" => b.dimensions(dimension(v)),
            "value" => b.value(num("value", v)),
            "values" => b.set_values(Some(v.split(',').map(|x| num("values", x)).collect())),
            "counts" => b.set_counts(Some(v.split(',').map(|x| num("counts", x)).collect())),
            "stats" => {
                let s: Vec<f64> = v.split(',').map(|x| num("stats", x)).collect();
                if s.len() != 4 {
                    usage("stats= needs SampleCount,Sum,Minimum,Maximum");
                }
                b.statistic_values(
                    StatisticSet::builder()
                        .sample_count(s[0])
                        .sum(s[1])
                        .minimum(s[2])
                        .maximum(s[3])
                        .build(),
                )
            }
            other => usage(&format!("unknown datum field {other:?}")),
        };
    }
    b.build()
}

fn datapoint(p: &Datapoint) -> J {
    let mut members = vec![
        ("Timestamp", p.timestamp().map_or(J::Null, time)),
        ("SampleCount", J::opt_num(p.sample_count())),
        ("Average", J::opt_num(p.average())),
        ("Sum", J::opt_num(p.sum())),
        ("Minimum", J::opt_num(p.minimum())),
        ("Maximum", J::opt_num(p.maximum())),
        ("Unit", J::opt_str(p.unit().map(|u| u.as_str()))),
    ];
    if let Some(ext) = p.extended_statistics() {
        let mut keys: Vec<&String> = ext.keys().collect();
        keys.sort();
        members.push((
            "ExtendedStatistics",
            J::Obj(keys.into_iter().map(|k| (k.clone(), J::Num(ext[k]))).collect()),
        ));
    }
    J::obj(members)
}

fn data_result(r: &MetricDataResult) -> J {
    J::obj(vec![
        ("Id", J::opt_str(r.id())),
        ("Label", J::opt_str(r.label())),
        ("Timestamps", J::Arr(r.timestamps().iter().map(time).collect())),
        ("Values", J::Arr(r.values().iter().map(|v| J::Num(*v)).collect())),
        ("StatusCode", J::opt_str(r.status_code().map(|s| s.as_str()))),
        (
            "Messages",
            J::Arr(
                r.messages()
                    .iter()
                    .map(|m| J::obj(vec![("Code", J::opt_str(m.code())), ("Value", J::opt_str(m.value()))]))
                    .collect(),
            ),
        ),
    ])
}

fn metric(m: &Metric) -> J {
    J::obj(vec![
        ("Namespace", J::opt_str(m.namespace())),
        ("MetricName", J::opt_str(m.metric_name())),
        (
            "Dimensions",
            J::Arr(
                m.dimensions()
                    .iter()
                    .map(|d| J::obj(vec![("Name", J::opt_str(d.name())), ("Value", J::opt_str(d.value()))]))
                    .collect(),
            ),
        ),
    ])
}

fn query(spec: &str) -> MetricDataQuery {
    let mut q = MetricDataQuery::builder();
    let mut m = Metric::builder();
    let mut s = MetricStat::builder();
    for field in spec.split(';') {
        let (k, v) = field
            .split_once('=')
            .unwrap_or_else(|| usage(&format!("query field {field:?}")));
        match k {
            "id" => q = q.id(v),
            "label" => q = q.label(v),
            "return" => q = q.return_data(v == "true"),
            "ns" => m = m.namespace(v),
            "name" => m = m.metric_name(v),
            "dim" => m = m.dimensions(dimension(v)),
            "period" => s = s.period(num("period", v) as i32),
            "stat" => s = s.stat(v),
            "unit" => s = s.unit(StandardUnit::from(v)),
            other => usage(&format!("unknown query field {other:?}")),
        }
    }
    q.metric_stat(s.metric(m.build()).build()).build()
}

/// The JSON line for a call's outcome.
fn outcome<O, E>(res: Result<O, SdkError<E>>, ok: impl FnOnce(&O) -> J) -> Result<J, String>
where
    O: RequestId,
    E: ProvideErrorMetadata + std::error::Error + std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(out) => Ok(J::obj(vec![
            ("ok", J::Bool(true)),
            ("request_id", J::opt_str(out.request_id())),
            ("result", ok(&out)),
        ])),
        Err(SdkError::ServiceError(ctx)) => {
            let status = ctx.raw().status().as_u16();
            let err = ctx.into_err();
            let debug = format!("{err:?}");
            let variant = debug.split(['(', ' ', '{']).next().unwrap_or_default().to_string();
            Ok(J::obj(vec![
                ("ok", J::Bool(false)),
                ("status", J::Int(i64::from(status))),
                ("code", J::opt_str(err.code())),
                ("message", J::opt_str(err.message())),
                ("error_type", J::opt_str(err.meta().extra("type"))),
                ("variant", J::Str(variant)),
            ]))
        }
        Err(other) => Err(format!("{}", DisplayErrorContext(&other))),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        usage("missing ENDPOINT or COMMAND");
    }
    let (endpoint, command, rest) = (&args[0], args[1].as_str(), &args[2..]);
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into());
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into());
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "cw_probe"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await;
    let cw = aws_sdk_cloudwatch::Client::new(&config);

    let line = match command {
        "put" => {
            let namespace = rest.first().unwrap_or_else(|| usage("put needs NAMESPACE"));
            let mut input = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut input) {
                usage(&format!("cannot read stdin: {e}"));
            }
            let datums: Vec<MetricDatum> = input.lines().filter(|l| !l.trim().is_empty()).map(datum).collect();
            let res = cw
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(datums))
                .send()
                .await;
            outcome(res, |_| J::obj(vec![]))
        }
        "gms" => {
            let mut b = cw.get_metric_statistics();
            for (k, v) in pairs(rest) {
                b = match k {
                    "ns" => b.namespace(v),
                    "name" => b.metric_name(v),
                    "dim" => b.dimensions(dimension(v)),
                    "start" => b.start_time(DateTime::from_secs_f64(num("start", v))),
                    "end" => b.end_time(DateTime::from_secs_f64(num("end", v))),
                    "period" => b.period(num("period", v) as i32),
                    "stat" => b.statistics(Statistic::from(v)),
                    "ext" => b.extended_statistics(v),
                    "unit" => b.unit(StandardUnit::from(v)),
                    other => usage(&format!("unknown gms argument {other:?}")),
                };
            }
            outcome(b.send().await, |out| {
                J::obj(vec![
                    ("Label", J::opt_str(out.label())),
                    ("Datapoints", J::Arr(out.datapoints().iter().map(datapoint).collect())),
                ])
            })
        }
        "gmd" => {
            let mut b = cw.get_metric_data();
            for (k, v) in pairs(rest) {
                b = match k {
                    "start" => b.start_time(DateTime::from_secs_f64(num("start", v))),
                    "end" => b.end_time(DateTime::from_secs_f64(num("end", v))),
                    "scan" => b.scan_by(ScanBy::from(v)),
                    "q" => b.metric_data_queries(query(v)),
                    other => usage(&format!("unknown gmd argument {other:?}")),
                };
            }
            outcome(b.send().await, |out| {
                J::obj(vec![
                    (
                        "MetricDataResults",
                        J::Arr(out.metric_data_results().iter().map(data_result).collect()),
                    ),
                    ("NextToken", J::opt_str(out.next_token())),
                ])
            })
        }
        "lm" => {
            let mut b = cw.list_metrics();
            for (k, v) in pairs(rest) {
                b = match k {
                    "ns" => b.namespace(v),
                    "name" => b.metric_name(v),
                    "dimf" => b.dimensions(match v.split_once(':') {
                        Some((n, val)) => DimensionFilter::builder().name(n).value(val).build(),
                        None => DimensionFilter::builder().name(v).build(),
                    }),
                    "recent" => b.recently_active(RecentlyActive::from(v)),
                    "token" => b.next_token(v),
                    other => usage(&format!("unknown lm argument {other:?}")),
                };
            }
            outcome(b.send().await, |out| {
                J::obj(vec![
                    ("Metrics", J::Arr(out.metrics().iter().map(metric).collect())),
                    ("NextToken", J::opt_str(out.next_token())),
                ])
            })
        }
        other => usage(&format!("unknown command {other:?}")),
    };
    match line {
        Ok(json) => {
            let mut out = String::new();
            json.write(&mut out);
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cw_probe: call failed outside the service: {e}");
            ExitCode::from(3)
        }
    }
}
