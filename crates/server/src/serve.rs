//! The HTTP edge: one listener (HTTP/1.1 and HTTP/2, optional TLS) for every service, body caps,
//! and graceful shutdown. Only this module opens sockets.

use crate::app::{App, IncomingRequest, Response};
use crate::config::{Config, ConfigError};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use nephoscope_wire::ApiError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Time granted to in-flight requests after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

pub struct Bound {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

pub async fn bind(config: &Config) -> Result<Bound, ConfigError> {
    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ConfigError::Invalid(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let tls = match &config.tls {
        Some(t) => Some(tls_acceptor(t)?),
        None => None,
    };
    Ok(Bound {
        listener,
        addr,
        tls,
    })
}

fn tls_acceptor(t: &crate::config::TlsConfig) -> Result<tokio_rustls::TlsAcceptor, ConfigError> {
    use tokio_rustls::rustls;
    let read = |p: &std::path::Path| {
        std::fs::read(p)
            .map_err(|e| ConfigError::Invalid(format!("tls: cannot read {}: {e}", p.display())))
    };
    let certs: Vec<_> = rustls_pemfile::certs(&mut &read(&t.cert_file)?[..])
        .collect::<Result<_, _>>()
        .map_err(|e| ConfigError::Invalid(format!("tls: bad certificate: {e}")))?;
    let key = rustls_pemfile::private_key(&mut &read(&t.key_file)?[..])
        .map_err(|e| ConfigError::Invalid(format!("tls: bad key: {e}")))?
        .ok_or_else(|| ConfigError::Invalid("tls: no private key in key_file".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Invalid(format!("tls: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ConfigError::Invalid(format!("tls: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

/// Reads the whole body under the cap. A body over the cap is answered by the app in the
/// request's protocol, with a request id like every other response.
async fn read_request(app: &App, req: hyper::Request<Incoming>, max_body: usize) -> Response {
    let (parts, body) = req.into_parts();
    let mut headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    // HTTP/2 carries the host as :authority.
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(a) = parts.uri.authority() {
            headers.push(("host".into(), a.as_str().as_bytes().to_vec()));
        }
    }
    let mut incoming = IncomingRequest {
        method: parts.method.as_str().to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        headers,
        body: Bytes::new(),
    };
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|l| l > max_body);
    if declared_too_large {
        return app.reject(&incoming, ApiError::too_large(max_body));
    }
    match Limited::new(body, max_body).collect().await {
        Ok(c) => {
            incoming.body = c.to_bytes();
            app.handle(incoming).await
        }
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            app.reject(&incoming, ApiError::too_large(max_body))
        }
        Err(e) => app.reject(
            &incoming,
            ApiError::serialization(format!("cannot read request body: {e}")),
        ),
    }
}

/// A whole body, or a first chunk followed by chunks from a channel (event streams).
pub enum EdgeBody {
    Full(Option<Bytes>),
    Stream(Option<Bytes>, tokio::sync::mpsc::Receiver<Vec<u8>>),
}

impl hyper::body::Body for EdgeBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        use std::task::Poll;
        match self.get_mut() {
            EdgeBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(hyper::body::Frame::data(b)))),
            EdgeBody::Stream(first, rx) => {
                if let Some(b) = first.take() {
                    return Poll::Ready(Some(Ok(hyper::body::Frame::data(b))));
                }
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(chunk)) => {
                        Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from(chunk)))))
                    }
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, EdgeBody::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            EdgeBody::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            EdgeBody::Full(None) => hyper::body::SizeHint::with_exact(0),
            EdgeBody::Stream(..) => hyper::body::SizeHint::default(),
        }
    }
}

fn to_hyper(resp: Response) -> hyper::Response<EdgeBody> {
    let mut b = hyper::Response::builder()
        .status(resp.status)
        .header(http::header::CONTENT_TYPE, resp.content_type);
    for (n, v) in resp.headers {
        b = b.header(n, v);
    }
    let body = match resp.stream {
        None => EdgeBody::Full(Some(Bytes::from(resp.body))),
        Some(rx) => EdgeBody::Stream(Some(Bytes::from(resp.body)), rx),
    };
    b.body(body)
        .unwrap_or_else(|_| hyper::Response::new(EdgeBody::Full(None)))
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    bound: Bound,
    app: Arc<App>,
    max_body: usize,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = bound.listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            async move {
                let resp = read_request(&app, req, max_body).await;
                Ok::<_, std::convert::Infallible>(to_hyper(resp))
            }
        });
        match &bound.tls {
            None => {
                let conn = builder
                    .serve_connection(TokioIo::new(stream), svc)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let conn = builder
                                .serve_connection(TokioIo::new(tls), svc)
                                .into_owned();
                            if let Err(e) = watcher.watch(conn).await {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        }
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                });
            }
        }
    }
    tracing::info!("shutting down");
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("drain timed out; closing remaining connections"),
    }
}

/// Installs the SIGINT and SIGTERM handlers now (so a signal that arrives right after start-up
/// is already a graceful shutdown) and returns a future that resolves on either.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// The EMF agent endpoint's sockets: TCP and UDP on one address.
pub struct AgentBound {
    pub tcp: TcpListener,
    pub udp: tokio::net::UdpSocket,
    pub addr: SocketAddr,
}

/// Binds the EMF agent endpoint when `[emf_agent] listen` is set.
pub async fn bind_emf_agent(config: &Config) -> Result<Option<AgentBound>, ConfigError> {
    let Some(listen) = &config.emf_agent.listen else {
        return Ok(None);
    };
    let addr: SocketAddr = listen.parse().map_err(|_| {
        ConfigError::Invalid(format!(
            "emf_agent.listen {listen:?} is not ADDR:PORT (e.g. 127.0.0.1:25888)"
        ))
    })?;
    let cannot = |e: std::io::Error| ConfigError::Invalid(format!("cannot listen on {addr}: {e}"));
    let tcp = TcpListener::bind(addr).await.map_err(cannot)?;
    let addr = tcp.local_addr().map_err(cannot)?;
    let udp = tokio::net::UdpSocket::bind(addr).await.map_err(cannot)?;
    Ok(Some(AgentBound { tcp, udp, addr }))
}

/// Longest EMF line the agent endpoint takes (a log event's limit).
const MAX_AGENT_LINE: usize = 1_048_576;
/// Lines stored together when a client sends faster than they are stored.
const AGENT_BATCH: usize = 1000;

/// Serves the EMF agent endpoint until the process ends: each TCP connection and each UDP
/// datagram carries newline-delimited documents.
pub async fn run_emf_agent(bound: AgentBound, agent: Arc<crate::EmfAgent>) {
    let udp_agent = agent.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        loop {
            match bound.udp.recv_from(&mut buf).await {
                Ok((n, _)) => {
                    let lines: Vec<String> = String::from_utf8_lossy(&buf[..n])
                        .lines()
                        .map(str::to_string)
                        .collect();
                    udp_agent.ingest(&lines).await;
                }
                Err(e) => tracing::warn!(error = %e, "EMF agent endpoint: UDP receive failed"),
            }
        }
    });
    loop {
        let (stream, peer) = match bound.tcp.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "EMF agent endpoint: accept failed");
                continue;
            }
        };
        let agent = agent.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncBufReadExt, AsyncReadExt};
            let mut reader = tokio::io::BufReader::new(stream);
            let mut batch = Vec::new();
            loop {
                let mut line = Vec::new();
                let read = (&mut reader)
                    .take(MAX_AGENT_LINE as u64 + 1)
                    .read_until(b'\n', &mut line)
                    .await;
                match read {
                    Ok(0) => break,
                    Ok(_) if line.len() > MAX_AGENT_LINE => {
                        tracing::warn!(%peer, "EMF agent endpoint: line over 1 MiB; closing the connection");
                        break;
                    }
                    Ok(_) => batch.push(String::from_utf8_lossy(&line).into_owned()),
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "EMF agent connection ended with an error");
                        break;
                    }
                }
                if reader.buffer().is_empty() || batch.len() >= AGENT_BATCH {
                    agent.ingest(&std::mem::take(&mut batch)).await;
                }
            }
            if !batch.is_empty() {
                agent.ingest(&batch).await;
            }
        });
    }
}
