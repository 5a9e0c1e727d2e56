//! A minimal SigV4-signing JSON 1.1 client over hyper's pooled keep-alive HTTP/1.1 connections.
//! Loopback only: the endpoint is always `http://127.0.0.1:PORT`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nephoscope_clock::{Clock, SystemClock};
use nephoscope_sigv4 as sigv4;
use std::time::{Duration, Instant};

pub const ACCESS_KEY_ID: &str = "test";
pub const SECRET_ACCESS_KEY: &str = "test";
pub const REGION: &str = "us-east-1";

/// The answer to one call: HTTP status, body, and the time from sending the (already signed)
/// request to having read the whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    pub latency: Duration,
}

impl Reply {
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "HTTP {} with a body that is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }

    /// The body as JSON when the status is 200, else an error naming status and body.
    pub fn ok_json(&self) -> Result<serde_json::Value, String> {
        if self.status != 200 {
            return Err(format!(
                "HTTP {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            ));
        }
        self.json()
    }
}

#[derive(Clone)]
pub struct AwsClient {
    http: Client<HttpConnector, Full<Bytes>>,
    host: String,
    uri: hyper::Uri,
    /// Per-request deadline.
    pub timeout: Duration,
}

/// Wall-clock milliseconds since the epoch (event timestamps, `x-amz-date`).
pub fn now_ms() -> i64 {
    SystemClock.now_millis()
}

impl AwsClient {
    pub fn new(port: u16) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(connector);
        let host = format!("127.0.0.1:{port}");
        AwsClient {
            http,
            uri: format!("http://{host}/").parse().expect("loopback URI"),
            host,
            timeout: Duration::from_secs(600),
        }
    }

    /// Signs a JSON 1.1 `POST /` for `service` (`logs`) and `target`
    /// (`Logs_20140328.PutLogEvents`). Signing happens before the latency clock starts.
    pub fn signed_json(
        &self,
        service: &str,
        target: &str,
        body: Bytes,
    ) -> hyper::Request<Full<Bytes>> {
        let amz_date = sigv4::format_amz_date(now_ms() / 1000);
        let headers: [(&str, &str); 4] = [
            ("host", &self.host),
            ("x-amz-date", &amz_date),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ];
        let hv: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        let auth = sigv4::sign(
            &sigv4::Request {
                method: "POST",
                path_and_query: "/",
                headers: &hv,
                body: &body,
            },
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            REGION,
            service,
            &names,
        );
        let mut b = hyper::Request::builder()
            .method("POST")
            .uri(self.uri.clone());
        for (n, v) in headers {
            b = b.header(n, v);
        }
        b.header("authorization", auth)
            .body(Full::new(body))
            .expect("valid request")
    }

    /// The server's own CPU seconds (`process_cpu_seconds_total` of `GET /metrics`: every
    /// thread, ended ones included, to the nanosecond), `None` if it cannot be read.
    pub async fn server_cpu(&self) -> Option<f64> {
        let req = hyper::Request::builder()
            .method("GET")
            .uri(format!("http://{}/metrics", self.host))
            .header("host", &self.host)
            .body(Full::new(Bytes::new()))
            .ok()?;
        let reply = self.send(req).await.ok()?;
        let text = std::str::from_utf8(&reply.body).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
            .and_then(|v| v.trim().parse().ok())
    }

    pub async fn send(&self, req: hyper::Request<Full<Bytes>>) -> Result<Reply, String> {
        let started = Instant::now();
        let fut = async {
            let resp = self.http.request(req).await.map_err(|e| format!("{e:?}"))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the response: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))??;
        Ok(Reply {
            status,
            body,
            latency: started.elapsed(),
        })
    }

    /// One CloudWatch Logs JSON 1.1 call (`op` without the `Logs_20140328.` prefix).
    pub async fn logs(&self, op: &str, body: impl Into<Bytes>) -> Result<Reply, String> {
        let req = self.signed_json("logs", &format!("Logs_20140328.{op}"), body.into());
        self.send(req).await
    }

    /// `GET path`, unsigned (health checks).
    pub async fn get(&self, path: &str) -> Result<Reply, String> {
        let req = hyper::Request::builder()
            .method("GET")
            .uri(format!("http://{}{path}", self.host))
            .header("host", &self.host)
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        self.send(req).await
    }
}
