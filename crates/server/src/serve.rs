//! The HTTP edge: one listener (HTTP/1.1 and HTTP/2, optional TLS) for every service, body caps,
//! and graceful shutdown. Only this module opens sockets.

use crate::app::{App, IncomingRequest, Response};
use crate::config::{Config, ConfigError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
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

async fn to_incoming(
    req: hyper::Request<Incoming>,
    max_body: usize,
) -> Result<IncomingRequest, Response> {
    let (parts, body) = req.into_parts();
    let too_large = || {
        let e = nephoscope_wire::ApiError::too_large(max_body);
        Response::from(nephoscope_wire::encode_error(
            nephoscope_wire::WireProtocol::Json11,
            None,
            &e,
            "-",
        ))
    };
    if let Some(len) = parts.headers.get(http::header::CONTENT_LENGTH) {
        if len
            .to_str()
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
            .is_some_and(|l| l > max_body)
        {
            return Err(too_large());
        }
    }
    let body = match Limited::new(body, max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(too_large())
        }
        Err(e) => {
            let e =
                nephoscope_wire::ApiError::serialization(format!("cannot read request body: {e}"));
            return Err(Response::from(nephoscope_wire::encode_error(
                nephoscope_wire::WireProtocol::Json11,
                None,
                &e,
                "-",
            )));
        }
    };
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
    Ok(IncomingRequest {
        method: parts.method.as_str().to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        headers,
        body,
    })
}

fn to_hyper(resp: Response) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder()
        .status(resp.status)
        .header(http::header::CONTENT_TYPE, resp.content_type);
    for (n, v) in resp.headers {
        b = b.header(n, v);
    }
    b.body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
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
                let resp = match to_incoming(req, max_body).await {
                    Ok(req) => app.handle(req).await,
                    Err(resp) => resp,
                };
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

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
