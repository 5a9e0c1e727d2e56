//! The request path, independent of sockets: classify by protocol, authenticate, undo gzip,
//! decode, validate, dispatch to a service, encode. The edge (`serve.rs`) feeds it; benchmarks
//! and tests call [`App::handle`] directly.

use crate::auth::{Authenticator, Identity};
use crate::config::Config;
use crate::metrics::Metrics;
use bytes::Bytes;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_sigv4::Request as SignedRequest;
use nephoscope_wire::query::ParamTree;
use nephoscope_wire::{
    self as wire, ApiError, Encoded, RequestBody, RequestContext, Service, WireProtocol,
};
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

pub const HEALTH_PATH: &str = "/_nephoscope/health";
pub const RESET_PATH: &str = "/_nephoscope/reset";
pub const METRICS_PATH: &str = "/metrics";
const CBOR_PREFIX: &str = "/service/";

/// A request as the edge hands it over: head plus the whole (size-capped) body.
pub struct IncomingRequest {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

impl IncomingRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(&self.path_and_query, |(p, _)| p)
    }

    fn query_string(&self) -> &str {
        self.path_and_query.split_once('?').map_or("", |(_, q)| q)
    }
}

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// For event streams: encoded messages follow `body` as they are produced.
    pub stream: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
}

impl From<Encoded> for Response {
    fn from(e: Encoded) -> Self {
        Response {
            status: e.status,
            content_type: e.content_type,
            headers: e.headers,
            body: e.body,
            stream: None,
        }
    }
}

/// What the head of a request says it is.
enum Target {
    /// JSON or CBOR: the service is known from the target prefix or path.
    Operation {
        service: Option<usize>,
        prefix: String,
        operation: String,
    },
    /// Query: the service and action come from the form.
    Query,
}

pub struct App {
    services: Vec<Arc<dyn Service>>,
    auth: Authenticator,
    max_decompressed: usize,
    ephemeral: bool,
    pub metrics: Metrics,
}

impl App {
    pub fn new(
        config: &Config,
        addr: &std::net::SocketAddr,
        clock: nephoscope_clock::SharedClock,
        services: Vec<Arc<dyn Service>>,
        ephemeral: bool,
    ) -> Self {
        App {
            services,
            auth: Authenticator::new(config, addr, clock),
            max_decompressed: config.limits.max_decompressed_bytes,
            ephemeral,
            metrics: Metrics::default(),
        }
    }

    fn service_by_target(&self, prefix: &str) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.model().target_prefix == Some(prefix))
    }

    fn service_by_signing_name(&self, name: &str) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.model().signing_name == name)
    }

    pub async fn handle(&self, req: IncomingRequest) -> Response {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let path = req.path().to_string();
        let (mut resp, labels) = match (req.method.as_str(), path.as_str()) {
            ("GET", HEALTH_PATH) => (json_response(200, br#"{"status":"ok"}"#), None),
            ("GET", METRICS_PATH) => (
                Response {
                    status: 200,
                    content_type: "text/plain; version=0.0.4",
                    headers: Vec::new(),
                    body: self.metrics.render().into_bytes(),
                    stream: None,
                },
                None,
            ),
            ("POST", RESET_PATH) if self.ephemeral => {
                let mut failed = false;
                for s in &self.services {
                    if let Err(e) = s.reset().await {
                        tracing::error!(service = s.model().name, error = %e, "reset failed");
                        failed = true;
                    }
                }
                tracing::info!("state reset");
                if failed {
                    (json_response(500, br#"{"reset":false}"#), None)
                } else {
                    (json_response(200, br#"{"reset":true}"#), None)
                }
            }
            (_, RESET_PATH) | (_, HEALTH_PATH) | (_, METRICS_PATH) => {
                (json_response(404, br#"{"message":"Not Found"}"#), None)
            }
            _ => {
                let (resp, service, operation, account) = self.handle_api(&req, &request_id).await;
                (resp, Some((service, operation, account)))
            }
        };
        resp.headers.push(("x-amzn-RequestId", request_id.clone()));
        if let Some((service, operation, account)) = labels {
            let elapsed = started.elapsed();
            self.metrics
                .observe(&service, &operation, resp.status, elapsed);
            tracing::info!(
                request_id = %request_id,
                service = %service,
                operation = %operation,
                account = %account,
                status = resp.status,
                latency_ms = elapsed.as_secs_f64() * 1000.0,
                "request"
            );
        }
        resp
    }

    /// Answers a request that failed before it could be read (body over the cap), in the
    /// protocol its head announces.
    pub fn reject(&self, req: &IncomingRequest, err: ApiError) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let protocol = classify(req).map_or(WireProtocol::Json11, |(p, _)| p);
        let mut resp = Response::from(wire::encode_error(protocol, None, &err, &request_id));
        resp.headers.push(("x-amzn-RequestId", request_id.clone()));
        self.metrics
            .observe("-", "-", resp.status, std::time::Duration::ZERO);
        tracing::info!(request_id = %request_id, status = resp.status, code = %err.code, "request rejected");
        resp
    }

    /// Returns the response and the (service, operation, account) labels for logs and metrics.
    async fn handle_api(
        &self,
        req: &IncomingRequest,
        request_id: &str,
    ) -> (Response, String, String, String) {
        let (protocol, target) = match classify(req) {
            Ok(x) => x,
            Err(e) => {
                let enc = wire::encode_error(WireProtocol::Json11, None, &e, request_id);
                return (enc.into(), "-".into(), "-".into(), "-".into());
            }
        };
        let target = match target {
            Target::Operation {
                prefix, operation, ..
            } => Target::Operation {
                service: self.service_by_target(&prefix),
                prefix,
                operation,
            },
            t => t,
        };
        let headers: Vec<(&str, &[u8])> = req
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let signed = SignedRequest {
            method: &req.method,
            path_and_query: &req.path_and_query,
            headers: &headers,
            body: &req.body,
        };
        // Before authentication the service is a guess, used only to shape errors.
        let guess = match &target {
            Target::Operation { service, .. } => *service,
            Target::Query => {
                Authenticator::scope(&signed).and_then(|a| self.service_by_signing_name(&a.service))
            }
        };
        let guess_model = guess.map(|i| self.services[i].model());
        let fail = |e: ApiError, model: Option<&'static ServiceDef>, op: &str, account: &str| {
            let enc = wire::encode_error(protocol, model, &e, request_id);
            (
                Response::from(enc),
                model.map_or("-", |m| m.name).to_string(),
                op.to_string(),
                account.to_string(),
            )
        };
        let identity = match self.auth.authenticate(&signed) {
            Ok(id) => id,
            Err(f) => return fail(f.to_api_error(protocol), guess_model, "-", "-"),
        };
        let body = match self.decoded_body(req) {
            Ok(b) => b,
            Err(e) => return fail(e, guess_model, "-", &identity.account_id),
        };

        // Resolve service and operation.
        let params;
        let (service_idx, op_name, body) = match target {
            Target::Operation {
                service,
                prefix,
                operation,
            } => match service {
                Some(i) => (i, operation, RequestBody::Bytes(&body)),
                None => {
                    let e = ApiError::unknown_operation(&format!("{prefix}.{operation}"));
                    return fail(e, None, &operation, &identity.account_id);
                }
            },
            Target::Query => {
                // A POSTed form is parsed by the operation (hot operations decode it typed);
                // routing reads only Action and Version.
                let (action, version) = if req.method == "GET" {
                    params = ParamTree::parse(req.query_string().as_bytes());
                    (
                        params.get("Action").map(str::to_string),
                        params.get("Version").map(str::to_string),
                    )
                } else {
                    params = ParamTree::default();
                    wire::typed::form_action_version(&body)
                };
                let Some(action) = action else {
                    let e = ApiError::new(
                        "MissingAction",
                        400,
                        "Request is missing the Action parameter",
                    );
                    return fail(e, guess_model, "-", &identity.account_id);
                };
                let service = match version.as_deref() {
                    Some(v) => self.services.iter().position(|s| {
                        s.model().api_version == v
                            && s.model()
                                .protocols
                                .contains(&nephoscope_model::meta::Protocol::Query)
                    }),
                    None => self.service_by_signing_name(&identity.service),
                };
                match service {
                    Some(i) if req.method == "GET" => (i, action, RequestBody::Query(&params)),
                    Some(i) => (i, action, RequestBody::Bytes(&body)),
                    None => {
                        let e = ApiError::invalid_action(&action);
                        return fail(e, guess_model, &action, &identity.account_id);
                    }
                }
            }
        };
        let service = &self.services[service_idx];
        let model = service.model();
        let Some(op) = model.operation(&op_name) else {
            let e = if protocol == WireProtocol::Query {
                ApiError::invalid_action(&op_name)
            } else {
                ApiError::unknown_operation(&op_name)
            };
            return fail(e, Some(model), &op_name, &identity.account_id);
        };
        if op.is_event_stream(model) {
            return match self
                .call_stream(
                    service.as_ref(),
                    protocol,
                    op,
                    body,
                    identity.clone(),
                    request_id,
                )
                .await
            {
                Ok(stream) => (
                    event_stream_response(stream),
                    model.name.to_string(),
                    op.name.to_string(),
                    identity.account_id,
                ),
                Err(e) => fail(e, Some(model), op.name, &identity.account_id),
            };
        }
        match self
            .call(
                service.as_ref(),
                protocol,
                op,
                body,
                identity.clone(),
                request_id,
            )
            .await
        {
            Ok(out) => {
                let enc = match wire::encode_output(protocol, model, op, out, request_id) {
                    Ok(enc) => enc,
                    Err(e) => return fail(e, Some(model), op.name, &identity.account_id),
                };
                (
                    enc.into(),
                    model.name.to_string(),
                    op.name.to_string(),
                    identity.account_id,
                )
            }
            Err(e) => {
                if e.status >= 500 && e.code == "InternalFailure" {
                    tracing::error!(request_id, operation = op.name, "internal failure");
                }
                fail(e, Some(model), op.name, &identity.account_id)
            }
        }
    }

    /// [`App::prepare`], with a panic turned into `InternalFailure` instead of a dropped
    /// connection.
    fn prepare_guarded(
        &self,
        service: &dyn Service,
        protocol: WireProtocol,
        op: &'static OperationDef,
        body: RequestBody<'_>,
        identity: Identity,
        request_id: &str,
    ) -> Result<(RequestContext, wire::Input), ApiError> {
        let run = std::panic::AssertUnwindSafe(|| {
            self.prepare(service, protocol, op, body, identity, request_id)
        });
        std::panic::catch_unwind(run).unwrap_or_else(|_| {
            tracing::error!(request_id, operation = op.name, "request decoding panicked");
            Err(ApiError::internal(request_id))
        })
    }

    /// Decodes and validates the input, and checks the operation is built.
    fn prepare(
        &self,
        service: &dyn Service,
        protocol: WireProtocol,
        op: &'static OperationDef,
        body: RequestBody<'_>,
        identity: Identity,
        request_id: &str,
    ) -> Result<(RequestContext, wire::Input), ApiError> {
        let model = service.model();
        let ctx = RequestContext {
            request_id: request_id.to_string(),
            account_id: identity.account_id,
            region: identity.region,
            access_key_id: identity.access_key_id,
            principal: identity.principal,
        };
        // Hot operations: typed straight from the body when certainly valid.
        if let RequestBody::Bytes(bytes) = &body {
            if service.implements(op.name) {
                let fast = match protocol {
                    WireProtocol::Json10 | WireProtocol::Json11 => service.decode_json(op, bytes),
                    WireProtocol::Query => service.decode_query(op, bytes),
                    WireProtocol::Cbor => service.decode_cbor(op, bytes),
                };
                if let Some(input) = fast {
                    return Ok((ctx, input));
                }
            }
        }
        let input = wire::decode_input(protocol, model, op, body)?;
        if let Some(shape) = op.input {
            let violations = wire::validate::validate(model, shape, &input);
            if !violations.is_empty() {
                return Err(service.validation_error(&violations));
            }
        }
        if !service.implements(op.name) {
            return Err(ApiError::not_implemented(model.name, op.name));
        }
        Ok((ctx, input.into()))
    }

    async fn call(
        &self,
        service: &dyn Service,
        protocol: WireProtocol,
        op: &'static OperationDef,
        body: RequestBody<'_>,
        identity: Identity,
        request_id: &str,
    ) -> Result<wire::Output, ApiError> {
        let (ctx, input) =
            self.prepare_guarded(service, protocol, op, body, identity, request_id)?;
        contain(tokio::spawn(service.call(ctx, op, input)).await, request_id)
    }

    async fn call_stream(
        &self,
        service: &dyn Service,
        protocol: WireProtocol,
        op: &'static OperationDef,
        body: RequestBody<'_>,
        identity: Identity,
        request_id: &str,
    ) -> Result<wire::eventstream::EventStream, ApiError> {
        let (ctx, input) =
            self.prepare_guarded(service, protocol, op, body, identity, request_id)?;
        contain(
            tokio::spawn(service.call_stream(ctx, op, input)).await,
            request_id,
        )
    }

    /// The body with any `Content-Encoding: gzip` undone, capped.
    fn decoded_body(&self, req: &IncomingRequest) -> Result<Bytes, ApiError> {
        match req.header("content-encoding").map(str::trim) {
            None | Some("") | Some("identity") => Ok(req.body.clone()),
            Some(enc) if enc.eq_ignore_ascii_case("gzip") => {
                let limit = self.max_decompressed as u64;
                // A gzip member ends with its size mod 2^32: room for that (within the limit)
                // means the output is never copied as it grows. Only a hint.
                let isize_hint = req
                    .body
                    .len()
                    .checked_sub(4)
                    .and_then(|at| req.body.get(at..))
                    .and_then(|t| <[u8; 4]>::try_from(t).ok())
                    .map_or(0, |t| u64::from(u32::from_le_bytes(t)));
                let room = isize_hint.max(req.body.len() as u64 * 4).min(limit + 1);
                if let Some(out) = inflate_whole(&req.body, room as usize, limit) {
                    return Ok(out.into());
                }
                let mut out = Vec::with_capacity(room as usize);
                // `bufread`: the body is read where it lies, not through another buffer.
                flate2::bufread::MultiGzDecoder::new(&req.body[..])
                    .take(limit + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| {
                        ApiError::serialization(format!("Invalid gzip request body: {e}"))
                    })?;
                if out.len() as u64 > limit {
                    return Err(ApiError::too_large(self.max_decompressed));
                }
                Ok(out.into())
            }
            Some(other) => Err(ApiError::serialization(format!(
                "Unsupported Content-Encoding: {other}"
            ))),
        }
    }
}

/// `body` inflated in one call into `room` bytes when it is one gzip member with the plain
/// 10-byte header (no optional fields) ending exactly at the body's end, holding at most `limit`
/// bytes, with a matching CRC-32 and size; `None` for anything else or any failure, which the
/// general reader then decodes — to the same bytes, or its error. Every request gzip body
/// SDKs send is that single member: inflating it whole writes the output once, without
/// zero-filling it first or stopping every few kilobytes.
fn inflate_whole(body: &[u8], room: usize, limit: u64) -> Option<Vec<u8>> {
    // ID1 ID2, CM = deflate, FLG = 0.
    if body.len() < 18 || body[..4] != [0x1f, 0x8b, 8, 0] {
        return None;
    }
    let mut out = Vec::with_capacity(room);
    // zlib's gzip wrapper checks the trailer's CRC-32 and size itself.
    let mut z = flate2::Decompress::new_gzip(15);
    match z.decompress_vec(body, &mut out, flate2::FlushDecompress::Finish) {
        Ok(flate2::Status::StreamEnd)
            if z.total_in() == body.len() as u64 && out.len() as u64 <= limit =>
        {
            Some(out)
        }
        _ => None,
    }
}

/// A handler's result, with a panic contained as `InternalFailure` (the detail goes to the log).
fn contain<T>(
    joined: Result<Result<T, ApiError>, tokio::task::JoinError>,
    request_id: &str,
) -> Result<T, ApiError> {
    joined.unwrap_or_else(|e| {
        tracing::error!(request_id, error = %e, "request handler failed");
        Err(ApiError::internal(request_id))
    })
}

fn json_response(status: u16, body: &[u8]) -> Response {
    Response {
        status,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.to_vec(),
        stream: None,
    }
}

/// The response of an event-stream operation: the initial-response message, then each item as
/// the service produces it, until the service ends the stream or the client goes away.
fn event_stream_response(mut stream: wire::eventstream::EventStream) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    tokio::spawn(async move {
        while let Some(item) = stream.items.recv().await {
            let last = matches!(item, wire::eventstream::StreamItem::Exception { .. });
            if tx
                .send(wire::eventstream::encode_item(&item))
                .await
                .is_err()
                || last
            {
                break;
            }
        }
    });
    Response {
        status: 200,
        content_type: "application/vnd.amazon.eventstream",
        headers: Vec::new(),
        body: wire::eventstream::initial_response(),
        stream: Some(rx),
    }
}

/// Decides the protocol and target from the request head.
fn classify(req: &IncomingRequest) -> Result<(WireProtocol, Target), ApiError> {
    let path = req.path();
    if let Some(rest) = path.strip_prefix(CBOR_PREFIX) {
        // /service/<Target>/operation/<Op>
        let mut parts = rest.split('/');
        return match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(prefix), Some("operation"), Some(op), None)
                if !prefix.is_empty() && !op.is_empty() =>
            {
                Ok((
                    WireProtocol::Cbor,
                    Target::Operation {
                        service: None,
                        prefix: prefix.to_string(),
                        operation: op.to_string(),
                    },
                ))
            }
            _ => Err(ApiError::unknown_operation(path)),
        };
    }
    if let Some(target) = req.header("x-amz-target") {
        let (prefix, op) = target.split_once('.').unwrap_or((target, ""));
        let json10 = req
            .header("content-type")
            .is_some_and(|c| c.contains("json-1.0"))
            || prefix == "GraniteServiceVersion20100801";
        return Ok((
            if json10 {
                WireProtocol::Json10
            } else {
                WireProtocol::Json11
            },
            Target::Operation {
                service: None,
                prefix: prefix.to_string(),
                operation: op.to_string(),
            },
        ));
    }
    let form = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let get_action = req.method == "GET"
        && req
            .query_string()
            .split('&')
            .any(|p| p.starts_with("Action="));
    if (req.method == "POST" && form) || get_action {
        return Ok((WireProtocol::Query, Target::Query));
    }
    Err(ApiError::unknown_operation(&format!(
        "{} {}",
        req.method, path
    )))
}

#[cfg(test)]
mod tests {
    use super::inflate_whole;
    use std::io::{Read, Write};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// What the general reader makes of a body.
    fn general(body: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        flate2::bufread::MultiGzDecoder::new(body)
            .read_to_end(&mut out)
            .ok()
            .map(|_| out)
    }

    #[test]
    fn whole_inflation_takes_only_plain_single_members() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| {
                format!(
                    "MetricData.member.{}.Values.member.{}={}&",
                    i / 150,
                    i % 150,
                    i % 977
                )
                .into_bytes()
            })
            .collect();
        let one = gzip(&data);
        let named = {
            let mut e = flate2::GzBuilder::new()
                .filename("body")
                .write(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let two = [gzip(&data[..1000]), gzip(&data[1000..])].concat();
        let mut bad_crc = one.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let mut bad_size = one.clone();
        bad_size[n - 4] ^= 1;
        let mut trailing = one.clone();
        trailing.push(0);
        let cut = one[..n - 1].to_vec();
        let big = data.len();
        // (body, room, limit, taken whole)
        for (what, body, room, limit, whole) in [
            ("one member", &one, big, big as u64, true),
            ("room for more", &one, big + 10, big as u64 + 10, true),
            ("too little room", &one, big - 1, big as u64, false),
            ("over the limit", &one, big, big as u64 - 1, false),
            ("a file name", &named, big, big as u64, false),
            ("two members", &two, big, big as u64, false),
            ("bad CRC", &bad_crc, big, big as u64, false),
            ("bad size", &bad_size, big, big as u64, false),
            ("trailing byte", &trailing, big, big as u64, false),
            ("cut short", &cut, big, big as u64, false),
        ] {
            let got = inflate_whole(body, room, limit);
            assert_eq!(got.is_some(), whole, "{what}");
            if let Some(got) = got {
                assert_eq!(Some(got), general(body), "{what}");
            }
        }
        assert_eq!(general(&two).as_deref(), Some(&data[..]));
        assert_eq!(inflate_whole(&gzip(b""), 0, 0), Some(Vec::new()));
    }
}
