//! Test harness: runs the real `nephoscope` binary and builds AWS SDK clients pointed at it.
//!
//! The binary is taken from `NEPHOSCOPE_BIN`, else `<repo>/target/debug/nephoscope`
//! (`cargo build -p nephoscope-server` in the repository root builds it). It is started as
//! `nephoscope serve --listen 127.0.0.1:0 --ephemeral` (plus `--config FILE` for
//! [`Server::start_with_config`]), as `docs/dev/server-contract.md` describes, and stopped with SIGTERM (so it removes its data directory) when the
//! [`Server`] is dropped.

use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cloudwatch::config::{Credentials, Region};
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::operation::RequestId;

/// Access key and secret that the server accepts out of the box on a loopback listener.
pub const DEV_ACCESS_KEY: &str = "test";
pub const DEV_SECRET_KEY: &str = "test";
pub const REGION: &str = "us-east-1";

/// How long the server may take to print its address and to answer the health check.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
/// Interval between two health-check attempts.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Upper bound for one SDK call, so that a hung server fails the test instead of hanging it.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Path of the server binary under test.
pub fn server_binary() -> PathBuf {
    match std::env::var_os("NEPHOSCOPE_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/nephoscope"),
    }
}

/// A running `nephoscope serve --ephemeral` process, killed on drop.
pub struct Server {
    child: Child,
    port: u16,
    endpoint: String,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The `--config` file written for this server, removed on drop.
    config_file: Option<PathBuf>,
}

impl Server {
    /// Starts the server on an ephemeral port and waits until `/_nephoscope/health` answers 200.
    /// Panics with the server's stderr when it does not come up.
    pub fn start() -> Server {
        Server::launch(None)
    }

    /// Like [`Server::start`], with `toml` written to a temporary file passed as `--config FILE`
    /// (e.g. `"[logs]\nlive_tail_max_seconds = 2\n"`). The file is removed when the server is dropped.
    pub fn start_with_config(toml: &str) -> Server {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        // Process id and a counter: unique among concurrent tests and test runs.
        let path = std::env::temp_dir().join(format!(
            "nephoscope-rust-sdk-{}-{}.toml",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, toml).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        Server::launch(Some(path))
    }

    fn launch(config_file: Option<PathBuf>) -> Server {
        let bin = server_binary();
        if !bin.is_file() {
            if let Some(path) = &config_file {
                let _ = std::fs::remove_file(path);
            }
            panic!(
                "nephoscope binary not found at {}: build it with `cargo build -p nephoscope-server` \
                 in the repository root, or point NEPHOSCOPE_BIN at it",
                bin.display()
            );
        }
        let mut command = Command::new(&bin);
        command.args(["serve", "--listen", "127.0.0.1:0", "--ephemeral"]);
        if let Some(path) = &config_file {
            command.arg("--config").arg(path);
        }
        let spawned = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                if let Some(path) = &config_file {
                    let _ = std::fs::remove_file(path);
                }
                panic!("cannot start {}: {e}", bin.display())
            }
        };

        // Collect stderr (the server's logs) so that failures can show it.
        let stderr = Arc::new(Mutex::new(Vec::new()));
        {
            let sink = Arc::clone(&stderr);
            let mut pipe = child.stderr.take().expect("stderr is piped");
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }

        // The first stdout line carries the address; keep draining stdout afterwards so the
        // server never blocks on a full pipe.
        let (tx, rx) = mpsc::channel::<std::io::Result<String>>();
        {
            let stdout = child.stdout.take().expect("stdout is piped");
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut first = String::new();
                let res = reader.read_line(&mut first).map(|_| first);
                let _ = tx.send(res);
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
            });
        }

        let deadline = Instant::now() + STARTUP_DEADLINE;
        let mut server = Server {
            child,
            port: 0,
            endpoint: String::new(),
            stderr,
            config_file,
        };
        let first_line = match rx.recv_timeout(STARTUP_DEADLINE) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => server.startup_failure(&format!("reading stdout failed: {e}")),
            Err(_) => server.startup_failure("no line on stdout before the deadline"),
        };
        let line = first_line.trim_end();
        let endpoint = match line.strip_prefix("nephoscope listening on ") {
            Some(url) => url.to_string(),
            None => server.startup_failure(&format!(
                "first stdout line is {line:?}, expected `nephoscope listening on http://127.0.0.1:PORT`"
            )),
        };
        let port = match endpoint
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok())
        {
            Some(port) if port != 0 => port,
            _ => server.startup_failure(&format!(
                "cannot read a port from {line:?}, expected `nephoscope listening on http://127.0.0.1:PORT`"
            )),
        };
        server.port = port;
        server.endpoint = endpoint;

        // Poll the health endpoint until it answers 200, with an overall deadline.
        let mut last;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                server.startup_failure(&format!("server exited with {status} before becoming healthy"));
            }
            match server.http("GET", "/_nephoscope/health") {
                Ok((200, _)) => break,
                Ok((status, body)) => last = format!("HTTP {status}: {body}"),
                Err(e) => last = format!("{e}"),
            }
            if Instant::now() >= deadline {
                server.startup_failure(&format!(
                    "GET /_nephoscope/health did not answer 200 before the deadline (last: {last})"
                ));
            }
            thread::sleep(HEALTH_POLL_INTERVAL);
        }
        server
    }

    fn startup_failure(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = self.config_file.take() {
            let _ = std::fs::remove_file(path);
        }
        panic!(
            "nephoscope ({}) did not start: {what}\n--- server stderr ---\n{}",
            server_binary().display(),
            self.stderr_log()
        );
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the server wrote to stderr so far.
    pub fn stderr_log(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// A minimal HTTP/1.1 request without a body (for the server's own `/_nephoscope/...` paths).
    /// Returns the status code and the body.
    pub fn http(&self, method: &str, path: &str) -> std::io::Result<(u16, String)> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not an HTTP response: {text:?}"),
                )
            })?;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let chunked = head.lines().any(|l| {
            l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.to_ascii_lowercase().contains("chunked")
        });
        let body = if chunked { dechunk(body) } else { body.to_string() };
        Ok((status, body))
    }

    /// SDK configuration with the dev credential (`test`/`test`).
    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_with(DEV_ACCESS_KEY, DEV_SECRET_KEY).await
    }

    /// SDK configuration pointed at this server with the given static credentials.
    pub async fn sdk_config_with(&self, access_key_id: &str, secret_access_key: &str) -> SdkConfig {
        let credentials = Credentials::new(access_key_id, secret_access_key, None, None, "nephoscope-tests");
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(credentials)
            // Plain HTTP to 127.0.0.1: no TLS stack needed (see Cargo.toml).
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            // One attempt per call: a retry would hide what the server answered first.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .load()
            .await
    }

    pub async fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk_config().await)
    }

    pub async fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config().await)
    }

    pub async fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk_config().await)
    }

    /// A Logs client for `StartLiveTail`: the operation's endpoint host prefix makes the SDK dial
    /// `stream-127.0.0.1`, which does not resolve, and the Rust SDK has no switch to turn host
    /// prefixes off, so the returned interceptor strips `stream-` before the request is signed.
    /// Its [`StripStreamHostPrefix::rewrites`] tells how many requests it rewrote.
    pub async fn live_tail_logs(&self) -> (aws_sdk_cloudwatchlogs::Client, StripStreamHostPrefix) {
        let interceptor = StripStreamHostPrefix::default();
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(&self.sdk_config().await)
            .interceptor(interceptor.clone())
            .build();
        (aws_sdk_cloudwatchlogs::Client::from_conf(config), interceptor)
    }
}

impl Server {
    /// Sends SIGTERM, as an operator stopping the server would, and waits up to 15 s for it to
    /// exit: how long it took, or `None` if it was still running (the drop then kills it).
    pub fn terminate(&mut self) -> Option<std::time::Duration> {
        let started = std::time::Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        while sent && started.elapsed() < std::time::Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(started.elapsed());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    /// Stops the server with SIGTERM, as an operator would, so it removes its `--ephemeral`
    /// data directory on the way out; SIGKILL only if it has not exited within 15 s. (A server
    /// [`Server::terminate`] already stopped is not signalled again.)
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.terminate();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = self.config_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Interceptor that rewrites `http://stream-HOST:PORT/...` to `http://HOST:PORT/...` before signing,
/// so that the signature covers the host the request is really sent to. Requests without the
/// prefix pass through unchanged.
#[derive(Clone, Debug, Default)]
pub struct StripStreamHostPrefix {
    rewrites: Arc<AtomicUsize>,
}

impl StripStreamHostPrefix {
    /// How many requests had their host rewritten so far.
    pub fn rewrites(&self) -> usize {
        self.rewrites.load(Ordering::SeqCst)
    }
}

impl aws_sdk_cloudwatchlogs::config::Intercept for StripStreamHostPrefix {
    fn name(&self) -> &'static str {
        "StripStreamHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_cloudwatchlogs::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &aws_sdk_cloudwatchlogs::config::RuntimeComponents,
        _cfg: &mut aws_sdk_cloudwatchlogs::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        let uri = request.uri().to_string();
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(());
        };
        let Some(rest) = rest.strip_prefix("stream-") else {
            return Ok(());
        };
        request.set_uri(format!("{scheme}://{rest}"))?;
        // A Host header set earlier in the pipeline would be signed too: keep it in step.
        if let Some(host) = request.headers().get("host").map(str::to_string) {
            if let Some(stripped) = host.strip_prefix("stream-") {
                request.headers_mut().insert("host", stripped.to_string());
            }
        }
        self.rewrites.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size_line, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].strip_prefix("\r\n").unwrap_or(&after[size..]);
    }
    out
}

/// A service error together with what the raw HTTP response said.
#[derive(Debug)]
pub struct ServiceFailure<E> {
    pub status: u16,
    /// Response headers, names lowercased.
    pub headers: Vec<(String, String)>,
    pub err: E,
}

impl<E> ServiceFailure<E> {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

impl<E: ProvideErrorMetadata> ServiceFailure<E> {
    pub fn code(&self) -> Option<&str> {
        self.err.code()
    }

    pub fn message(&self) -> Option<&str> {
        self.err.message()
    }

    /// The `type` extra the SDK fills from `x-amzn-query-error: Code;Type` (query-compatible services).
    pub fn query_error_type(&self) -> Option<&str> {
        self.err.meta().extra("type")
    }
}

/// Expects `res` to be an error answered by the service (as opposed to a transport, timeout,
/// construction or response-parsing failure) and checks that it carries a request id, both
/// as the `x-amzn-RequestId` header and as the SDK-parsed request id.
pub fn expect_service_error<O, E>(what: &str, res: Result<O, SdkError<E>>) -> ServiceFailure<E>
where
    O: Debug,
    E: ProvideErrorMetadata + RequestId + std::error::Error + Debug + 'static,
{
    match res {
        Ok(out) => panic!("{what}: expected an error from the server, got success: {out:?}"),
        Err(SdkError::ServiceError(ctx)) => {
            let raw = ctx.raw();
            let status = raw.status().as_u16();
            let headers: Vec<(String, String)> = raw
                .headers()
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect();
            let header_id = raw.headers().get("x-amzn-requestid").map(str::to_string);
            let err = ctx.into_err();
            assert!(
                header_id.as_deref().is_some_and(|id| !id.is_empty()),
                "{what}: error response (HTTP {status}) has no x-amzn-RequestId header; headers: {headers:?}"
            );
            assert_eq!(
                err.request_id(),
                header_id.as_deref(),
                "{what}: SDK-parsed request id differs from the x-amzn-RequestId header"
            );
            ServiceFailure { status, headers, err }
        }
        Err(other) => panic!(
            "{what}: expected a service error, got a non-service failure: {}",
            DisplayErrorContext(&other)
        ),
    }
}

/// Outcome of a call to an operation that may not be built yet.
pub enum Outcome<O> {
    /// The operation answered; the caller checks that the output is well formed.
    Implemented(O),
    /// The server answered the contract's not-built error.
    NotImplemented,
}

/// Accepts either a successful response (with a request id) or the contract's not-built error:
/// HTTP 501, code `NotImplemented`, message
/// `Nephoscope does not implement <service> operation <op> yet`. Anything else (another error
/// code, a transport failure, a response the SDK cannot parse) fails the test.
pub fn not_implemented_or_ok<O, E>(service: &str, op: &str, res: Result<O, SdkError<E>>) -> Outcome<O>
where
    O: Debug + RequestId,
    E: ProvideErrorMetadata + RequestId + std::error::Error + Debug + 'static,
{
    let what = format!("{service} {op}");
    match res {
        Ok(out) => {
            assert!(
                out.request_id().is_some_and(|id| !id.is_empty()),
                "{what}: successful response has no request id (x-amzn-RequestId): {out:?}"
            );
            Outcome::Implemented(out)
        }
        Err(err) => {
            let failure = expect_service_error(&what, Err::<O, _>(err));
            assert_eq!(
                failure.code(),
                Some("NotImplemented"),
                "{what}: expected success or NotImplemented, got HTTP {} {:?}",
                failure.status,
                failure.err
            );
            assert_eq!(failure.status, 501, "{what}: NotImplemented must be HTTP 501");
            let expected = format!("Nephoscope does not implement {service} operation {op} yet");
            assert_eq!(failure.message(), Some(expected.as_str()), "{what}: not-built message");
            Outcome::NotImplemented
        }
    }
}

/// `n` copies of `c`.
pub fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}
