"""Shared helpers for the client tests: the server process, signed raw requests, error parsing.

Everything here follows docs/dev/server-contract.md; the tests import it as `support`.
"""

from __future__ import annotations

import datetime
import gzip
import http.client
import json
import os
import queue
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import boto3
import cbor2
import pytest
import requests
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[2]
LISTEN_PREFIX = "nephoscope listening on "
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 20.0


def _sanitize_aws_environment() -> None:
    """Keep the developer's own AWS settings out of every client the tests run."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            del os.environ[key]
    tmp = Path(tempfile.gettempdir())
    os.environ.update(
        {
            "AWS_CONFIG_FILE": str(tmp / "nephoscope-tests-no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "nephoscope-tests-no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "AWS_PAGER": "",
            "AWS_CLI_AUTO_PROMPT": "off",
        }
    )


_sanitize_aws_environment()


def binary_path() -> Path:
    """NEPHOSCOPE_BIN (relative to the working directory), else the repository's debug build."""
    if os.environ.get("NEPHOSCOPE_BIN"):
        return Path(os.environ["NEPHOSCOPE_BIN"]).resolve()
    return REPO / "target" / "debug" / "nephoscope"


class Server:
    """One running `nephoscope serve` process."""

    def __init__(self, args: list[str], workdir: Path, wait_healthy: bool = True):
        self.args = args
        self.workdir = workdir
        self.stderr_path = workdir / "stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=workdir,
        )
        self.stdout_lines: list[str] = []
        self._first_line: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        self.url = ""
        self.host = ""
        self.port = 0
        self.returncode: int | None = None
        try:
            self._wait_ready(wait_healthy)
        except BaseException:
            self.kill()
            raise

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        first = True
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            if first:
                self._first_line.put(line)
                first = False
        if first:
            self._first_line.put(None)
        self.proc.stdout.close()  # EOF: the process is gone

    def log(self) -> str:
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def _fail(self, why: str) -> None:
        tail = "\n".join(self.log().splitlines()[-40:])
        pytest.fail(f"{why}\ncommand: {' '.join(self.args)}\nstderr (tail):\n{tail}", pytrace=False)

    def _wait_ready(self, wait_healthy: bool) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        try:
            line = self._first_line.get(timeout=START_DEADLINE_S)
        except queue.Empty:
            self._fail(f"no stdout line within {START_DEADLINE_S}s")
        if line is None:
            self._fail(f"server exited (code {self.proc.wait()}) before printing its address")
        if not line.startswith(LISTEN_PREFIX + "http://"):
            self._fail(f"first stdout line is {line!r}, expected '{LISTEN_PREFIX}http://HOST:PORT'")
        self.url = line[len(LISTEN_PREFIX):].strip().rstrip("/")
        hostport = self.url[len("http://"):]
        self.host, _, port = hostport.rpartition(":")
        if not port.isdigit() or int(port) == 0:
            self._fail(f"first stdout line {line!r} does not name a real port")
        self.port = int(port)
        if not wait_healthy:
            return

        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"server exited with code {self.proc.returncode} before becoming healthy")
            try:
                resp = requests.get(self.url + "/_nephoscope/health", timeout=2)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except requests.RequestException as exc:
                last = repr(exc)
            time.sleep(0.05)  # poll interval, bounded by the deadline above
        self._fail(f"health check did not answer 200 within {START_DEADLINE_S}s (last: {last})")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server and wait for it to exit; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._stderr.close()
                pytest.fail(f"server did not exit within {STOP_DEADLINE_S}s of signal {sig}", pytrace=False)
        self._stderr.close()
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


def launch(workdir: Path, *, ephemeral: bool = True, config: str | None = None,
           data_dir: Path | None = None, extra_args: tuple[str, ...] = (),
           wait_healthy: bool = True) -> Server:
    binary = binary_path()
    if not binary.exists():
        pytest.fail(
            f"nephoscope binary not found at {binary} (build it with `cargo build`, "
            "or point NEPHOSCOPE_BIN at one)",
            pytrace=False,
        )
    workdir.mkdir(parents=True, exist_ok=True)
    args = [str(binary), "serve", "--listen", "127.0.0.1:0"]
    if ephemeral:
        args.append("--ephemeral")
    if config is not None:
        config_path = workdir / "nephoscope.toml"
        config_path.write_text(config)
        args += ["--config", str(config_path)]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    args += list(extra_args)
    return Server(args, workdir, wait_healthy)


def require_tool(path: Path, what: str, ci: bool) -> None:
    if path.exists():
        return
    if ci:
        pytest.fail(f"{what} missing at {path} (CI is set; run scripts/install-test-deps)", pytrace=False)
    pytest.skip(f"{what} missing at {path}; run scripts/install-test-deps")


# --------------------------------------------------------------------------------------------
# Credentials and SDK clients

REGION = "us-east-1"
DEV_ACCESS_KEY = "test"
DEV_SECRET_KEY = "test"
DEV_ACCOUNT = "000000000000"

# A second account from the config file (fixture `alice_server` in conftest.py starts a server with it).
ALICE_ACCESS_KEY = "AKIDALICE"
ALICE_SECRET_KEY = "alicesecret"
ALICE_ACCOUNT = "111111111111"
ALICE_CONFIG = f"""
[auth]
dev_credentials = true
max_skew_seconds = 900

[[auth.credentials]]
access_key_id = "{ALICE_ACCESS_KEY}"
secret_access_key = "{ALICE_SECRET_KEY}"
account_id = "{ALICE_ACCOUNT}"
principal = "user/alice"
"""


def boto_client(server: Server, service: str, access_key: str = DEV_ACCESS_KEY,
                secret_key: str = DEV_SECRET_KEY, **config):
    """A current-boto3 client pointed at `server`, one attempt per call (no retries)."""
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION
    )
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60, **config)
    return session.client(service, endpoint_url=server.url, config=cfg)


def client_env(server: Server | None = None, access_key: str = DEV_ACCESS_KEY,
               secret_key: str = DEV_SECRET_KEY) -> dict[str, str]:
    """Environment for a client subprocess (CLI, old boto3): sanitized AWS_* plus credentials."""
    env = dict(os.environ)
    env["AWS_ACCESS_KEY_ID"] = access_key
    env["AWS_SECRET_ACCESS_KEY"] = secret_key
    if server is not None:
        env["NEPHOSCOPE_URL"] = server.url
    return env


# --------------------------------------------------------------------------------------------
# Hand-built signed requests

CW_TARGET = "GraniteServiceVersion20100801"
LOGS_TARGET = "Logs_20140328"
EVENTS_TARGET = "AWSEvents"
CW_QUERY_VERSION = "2010-08-01"
STS_QUERY_VERSION = "2011-06-15"
CBOR_PATH = "/service/GraniteServiceVersion20100801/operation/"


@dataclass
class RawRequest:
    """An unsigned request: SigV4 scope service, path, headers, body bytes."""

    service: str
    path: str
    headers: dict
    body: bytes
    method: str = "POST"


def json_request(target: str, operation: str, payload, *, service: str | None = None,
                 gzip_body: bool = False) -> RawRequest:
    """AWS JSON request: 1.0 (query-compatible) for CloudWatch, 1.1 for Logs and Events."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if target == CW_TARGET:
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-mode": "true"}
        service = service or "monitoring"
    else:
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        service = service or {LOGS_TARGET: "logs", EVENTS_TARGET: "events"}[target]
    headers["X-Amz-Target"] = f"{target}.{operation}"
    if gzip_body:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return RawRequest(service, "/", headers, body)


def query_request(action: str, params: dict | None = None, *, service: str = "monitoring",
                  version: str | None = None) -> RawRequest:
    """AWS Query request (form body), CloudWatch by default, STS with service='sts'."""
    if version is None:
        version = STS_QUERY_VERSION if service == "sts" else CW_QUERY_VERSION
    fields = {"Action": action, "Version": version, **(params or {})}
    body = urllib.parse.urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return RawRequest(service, "/", headers, body)


def cbor_indefinite_map(items: dict) -> bytes:
    """A CBOR map with indefinite length (0xbf ... 0xff), as aws-sdk-rust sends it."""
    out = bytearray(b"\xbf")
    for key, value in items.items():
        out += cbor2.dumps(key)
        out += cbor2.dumps(value)
    out += b"\xff"
    return bytes(out)


def cbor_request(operation: str, body: bytes) -> RawRequest:
    headers = {
        "Content-Type": "application/cbor",
        "Accept": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-query-mode": "true",
    }
    return RawRequest("monitoring", CBOR_PATH + operation, headers, body)


class _SigV4AtTime(SigV4Auth):
    """botocore's SigV4 signer with a chosen signing time instead of now."""

    def __init__(self, credentials, service, region, when: datetime.datetime):
        super().__init__(credentials, service, region)
        self._when = when

    def add_auth(self, request):
        request.context["timestamp"] = self._when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def sign(server: Server, req: RawRequest, *, access_key: str = DEV_ACCESS_KEY,
         secret_key: str = DEV_SECRET_KEY, when: datetime.datetime | None = None) -> dict:
    """Headers for `req` signed with botocore's SigV4Auth (now, or at `when`)."""
    aws = AWSRequest(method=req.method, url=server.url + req.path, data=req.body,
                     headers=dict(req.headers))
    creds = Credentials(access_key, secret_key)
    if when is None:
        SigV4Auth(creds, req.service, REGION).add_auth(aws)
    else:
        _SigV4AtTime(creds, req.service, REGION, when).add_auth(aws)
    return dict(aws.headers.items())


def send(server: Server, req: RawRequest, *, signed: bool = True, body: bytes | None = None,
         **sign_args) -> requests.Response:
    """Send `req` (signed unless signed=False); `body` replaces the body after signing."""
    headers = sign(server, req, **sign_args) if signed else dict(req.headers)
    data = req.body if body is None else body
    return requests.request(req.method, server.url + req.path, data=data, headers=headers,
                            timeout=60)


def _server_answered(sock: socket.socket, wait: float) -> bool:
    """True once a final response is waiting; swallows interim `100 Continue` responses."""
    while select.select([sock], [], [], wait)[0]:
        peek = sock.recv(16, socket.MSG_PEEK)
        if not peek:
            return True  # closed: let the response reader report what (if anything) came
        if not peek.startswith(b"HTTP/1.1 100"):
            return True
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            byte = sock.recv(1)
            if not byte:
                return True
            interim += byte
    return False


def send_large(server: Server, req: RawRequest, *, chunked: bool = False,
               **sign_args) -> tuple[int, dict, bytes]:
    """POST a big signed body over a raw socket with `Expect: 100-continue`.

    A server may refuse an oversized body before reading it, or read part of it and answer
    while the client is still sending; both are legal, and a plain client would see a broken
    pipe or a reset instead of the answer. Here the body goes out in chunks and sending stops
    as soon as the server has answered. `chunked` sends `Transfer-Encoding: chunked` instead of
    a Content-Length, so the server only learns the size while reading. Returns (status,
    lowercased headers, body).
    """
    headers = sign(server, req, **sign_args)
    headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {server.host}:{server.port}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(req.body)}")
    head += ["Expect: 100-continue", "Connection: close"]
    step = 64 * 1024
    if chunked:
        pieces = [b"%x\r\n" % len(req.body[i:i + step]) + req.body[i:i + step] + b"\r\n"
                  for i in range(0, len(req.body), step)] + [b"0\r\n\r\n"]
    else:
        pieces = [req.body[i:i + step] for i in range(0, len(req.body), step)]
    sock = socket.create_connection((server.host, server.port), timeout=60)
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        # Wait briefly for "100 Continue" (go on) or a final answer (stop before the body).
        final_first = _server_answered(sock, wait=3.0) if select.select([sock], [], [], 3.0)[0] else False
        if not final_first:
            try:
                for piece in pieces:
                    sock.sendall(piece)
                    if _server_answered(sock, wait=0):
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
        resp = http.client.HTTPResponse(sock)  # skips interim 100 responses
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        sock.close()


# --------------------------------------------------------------------------------------------
# Reading AWS error responses


@dataclass
class AwsError:
    status: int
    kind: str  # "json", "cbor" or "xml"
    code: str  # __type without namespace, or the Query <Code>
    message: str
    query_error: str | None  # x-amzn-query-error header
    request_id: str | None  # x-amzn-RequestId header
    xml_request_id: str | None = None  # <RequestId> of a Query ErrorResponse

    @property
    def query_code(self) -> str | None:
        return self.query_error.split(";")[0] if self.query_error else None


def _strip_type(value: str) -> str:
    return value.rsplit("#", 1)[-1].split(":", 1)[0]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_error(status: int, headers, body: bytes) -> AwsError:
    """Decode an AWS error response in whichever protocol it came."""
    headers = {k.lower(): v for k, v in dict(headers).items()}
    ctype = headers.get("content-type", "")
    qerr = headers.get("x-amzn-query-error")
    rid = headers.get("x-amzn-requestid")
    if "cbor" in ctype:
        doc = cbor2.loads(body)
        assert isinstance(doc, dict), f"CBOR error body is not a map: {doc!r}"
        return AwsError(status, "cbor", _strip_type(str(doc.get("__type", ""))),
                        str(doc.get("message", doc.get("Message", ""))), qerr, rid)
    if "xml" in ctype or body.lstrip().startswith(b"<"):
        root = ET.fromstring(body)
        assert _local(root.tag) == "ErrorResponse", f"XML error root is {root.tag}: {body[:300]!r}"
        code = message = xml_rid = None
        for el in root.iter():
            name = _local(el.tag)
            if name == "Code" and code is None:
                code = el.text or ""
            elif name == "Message" and message is None:
                message = el.text or ""
            elif name == "RequestId":
                xml_rid = el.text
        return AwsError(status, "xml", code or "", message or "", qerr, rid, xml_rid)
    try:
        doc = json.loads(body)
    except ValueError:
        raise AssertionError(f"HTTP {status} error body is neither JSON, CBOR nor XML "
                             f"(content-type {ctype!r}): {body[:300]!r}") from None
    assert isinstance(doc, dict), f"JSON error body is not an object: {doc!r}"
    return AwsError(status, "json", _strip_type(str(doc.get("__type", ""))),
                    str(doc.get("message", doc.get("Message", ""))), qerr, rid)


def error_of(resp: requests.Response) -> AwsError:
    return parse_error(resp.status_code, resp.headers, resp.content)


def not_implemented_message(service: str, operation: str) -> str:
    """The contract's message for a modeled operation that is not built yet."""
    return f"Nephoscope does not implement {service} operation {operation} yet"


# --------------------------------------------------------------------------------------------
# CloudWatch Logs helpers


def now_ms() -> int:
    return int(time.time() * 1000)


def unique(prefix: str = "") -> str:
    """A short random name part, so tests sharing the session server never collide."""
    return prefix + uuid.uuid4().hex[:12]


def wait_for(fetch, accept, *, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Call fetch() until accept(value) holds and return that value; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if accept(value):
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {value!r}"[:4000],
                        pytrace=False)
        time.sleep(interval)  # poll interval, bounded by the deadline above


def read_stream(logs, group: str, stream: str, *, limit: int | None = None,
                max_pages: int = 10_000) -> list[dict]:
    """Every event of a stream, oldest first: GetLogEvents with startFromHead, following
    nextForwardToken until the same token comes back (the documented end of a stream)."""
    events: list[dict] = []
    token = None
    for _ in range(max_pages):
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if limit is not None:
            kwargs["limit"] = limit
        if token is not None:
            kwargs["nextToken"] = token
        resp = logs.get_log_events(**kwargs)
        events += resp["events"]
        assert resp.get("nextForwardToken"), f"GetLogEvents answered without nextForwardToken: {resp}"
        if resp["nextForwardToken"] == token:
            return events
        token = resp["nextForwardToken"]
    raise AssertionError(f"GetLogEvents paging did not end within {max_pages} pages "
                         f"({len(events)} events so far)")


def messages(events: list[dict]) -> list[str]:
    return [e["message"] for e in events]
