"""Embedded Metric Format end to end: EMF documents shipped with PutLogEvents become CloudWatch
metrics (namespace, dimension sets, units, values, StorageResolution, `_aws.Timestamp`), read back
with GetMetricStatistics and ListMetrics.

What AWS documents (CloudWatch user guide, "Specification: Embedded metric format"; summarised
in the surface reference §5): a log event whose message is a JSON object with a root `_aws`
member holding `CloudWatchMetrics` publishes, for every directive, every metric once per
dimension set, into the directive's namespace, at `_aws.Timestamp`; a metric member may be a
number or an array of numbers; `StorageResolution` 1 makes a high-resolution metric; an invalid
document is still stored as a plain log event. The `x-amzn-logs-format: json/emf` header is no
longer needed, but clients (the CloudWatch agent) still send it and it must be accepted.

Extraction may be asynchronous in AWS, so metrics are polled with a deadline; the absence of a
metric is only judged after a later document of the same batch has been seen published.

Part (a) drives the real `aws-embedded-metrics` Python library (environment "Local": it prints
the EMF JSON lines to stdout) in a subprocess, and ships what it printed.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError

from support import boto_client, messages, now_ms, read_stream, unique, wait_for

UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


@pytest.fixture(scope="module")
def cw(server):
    return boto_client(server, "cloudwatch")


def at(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, UTC)


def recent_minute(minutes_ago: int = 10) -> int:
    """Epoch seconds of a whole minute `minutes_ago` minutes back (inside the 3 h of 1-second data)."""
    return int(time.time()) // 60 * 60 - 60 * minutes_ago


def new_stream(logs) -> tuple[str, str]:
    group = f"/neph/emf/{unique()}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    return group, "app"


def ship(logs, group: str, stream: str, lines: list[str]) -> None:
    """One PutLogEvents with these messages, event timestamps now (not the EMF timestamps)."""
    ts = now_ms()
    resp = logs.put_log_events(logGroupName=group, logStreamName=stream,
                               logEvents=[{"timestamp": ts, "message": m} for m in lines])
    assert not resp.get("rejectedLogEventsInfo"), resp


def dimset(**kv) -> tuple:
    return tuple(sorted(kv.items()))


def listed(cw, namespace: str) -> list[tuple[str, tuple]]:
    resp = cw.list_metrics(Namespace=namespace)
    assert "NextToken" not in resp, resp
    out = []
    for m in resp["Metrics"]:
        assert m["Namespace"] == namespace, m
        out.append((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))))
    return sorted(out)


def wait_listed(cw, namespace: str, want: list[tuple[str, tuple]]) -> None:
    got = wait_for(lambda: listed(cw, namespace), lambda v: len(v) >= len(want), timeout=15,
                   what=f"{len(want)} metrics in ListMetrics(Namespace={namespace!r})")
    assert got == sorted(want), f"ListMetrics({namespace!r}) = {got}, want {sorted(want)}"


def datapoints(cw, namespace: str, name: str, dims: tuple, start: float, end: float, period: int,
               samples: float, **kwargs) -> list[dict]:
    """GetMetricStatistics, polled until the datapoints hold `samples` samples in all; sorted by time."""
    stats = kwargs.pop("Statistics", ["SampleCount", "Sum", "Minimum", "Maximum"])

    def fetch():
        resp = cw.get_metric_statistics(
            Namespace=namespace, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dims],
            StartTime=at(start), EndTime=at(end), Period=period, Statistics=stats, **kwargs)
        return sorted(resp["Datapoints"], key=lambda p: p["Timestamp"])

    return wait_for(fetch, lambda ps: sum(p["SampleCount"] for p in ps) >= samples, timeout=15,
                    what=f"{samples} samples of {namespace}/{name} {dims}")


def summary(p: dict) -> tuple:
    """(epoch seconds, SampleCount, Sum, Minimum, Maximum, Unit) of a datapoint."""
    return (p["Timestamp"].timestamp(), p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"], p["Unit"])


# --------------------------------------------------------------------------------------------
# (a) the aws-embedded-metrics library, environment "Local"

LIBRARY_SCRIPT = r"""
import datetime, json, sys
from aws_embedded_metrics import metric_scope
from aws_embedded_metrics.storage_resolution import StorageResolution

cfg = json.loads(sys.argv[1])
ts = datetime.datetime.fromtimestamp(cfg["ts"], datetime.timezone.utc)


@metric_scope
def checkout(metrics):
    metrics.set_namespace(cfg["ns"])
    metrics.set_timestamp(ts)
    metrics.put_dimensions({"Operation": "Checkout"})
    metrics.put_metric("Latency", 100, "Milliseconds")
    metrics.put_metric("Latency", 250.5, "Milliseconds")
    metrics.put_metric("Orders", 3, "Count")
    metrics.put_metric("Burst", 7, "Count", StorageResolution.HIGH)
    metrics.set_property("RequestId", "req-1")


@metric_scope
def refund(metrics):
    metrics.set_namespace(cfg["ns"])
    metrics.set_timestamp(ts + datetime.timedelta(seconds=20))
    metrics.set_dimensions({"Operation": "Refund"}, {"Operation": "Refund", "Currency": "EUR"})
    metrics.put_metric("Amount", 12.5)


checkout()
refund()
"""


def run_library(namespace: str, ts: float) -> list[str]:
    try:
        import aws_embedded_metrics  # noqa: F401  (only to see whether it is installed)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("aws-embedded-metrics missing (CI is set; run scripts/install-test-deps)", pytrace=False)
        pytest.skip("aws-embedded-metrics missing; run scripts/install-test-deps")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_EMF_")}
    env.update({"AWS_EMF_ENVIRONMENT": "Local", "AWS_EMF_SERVICE_NAME": "shop",
                "AWS_EMF_SERVICE_TYPE": "PyTest"})
    proc = subprocess.run([sys.executable, "-c", LIBRARY_SCRIPT, json.dumps({"ns": namespace, "ts": ts})],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"library script failed:\n{proc.stderr[-3000:]}"
    return [line for line in proc.stdout.splitlines() if line.strip()]


def test_aws_embedded_metrics_library_lines_become_metrics(logs, cw):
    namespace = unique("neph-emf-lib/")
    t0 = recent_minute()
    ts = t0 + 17.25  # _aws.Timestamp 1795...250 ms: the metric's time, not the event's
    lines = run_library(namespace, ts)
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 2, lines
    assert all("_aws" in d and d["_aws"]["Timestamp"] in (int(ts * 1000), int(ts * 1000) + 20_000)
               for d in docs), lines
    group, stream = new_stream(logs)
    ship(logs, group, stream, lines)
    assert messages(read_stream(logs, group, stream)) == lines

    # Local environment defaults: LogGroup "<service>-metrics", ServiceName, ServiceType, prepended
    # to put_dimensions; set_dimensions replaces them.
    checkout = dimset(LogGroup="shop-metrics", ServiceName="shop", ServiceType="PyTest", Operation="Checkout")
    refund, refund_eur = dimset(Operation="Refund"), dimset(Operation="Refund", Currency="EUR")
    wait_listed(cw, namespace, [("Latency", checkout), ("Orders", checkout), ("Burst", checkout),
                                ("Amount", refund), ("Amount", refund_eur)])

    # Window from the metric minute to after the events' own timestamps: one datapoint, at _aws.Timestamp.
    end = time.time() + 120
    got = datapoints(cw, namespace, "Latency", checkout, t0, end, 60, 2)
    assert [summary(p) for p in got] == [(t0, 2.0, 350.5, 100.0, 250.5, "Milliseconds")], got
    got = datapoints(cw, namespace, "Orders", checkout, t0, end, 60, 1)
    assert [summary(p) for p in got] == [(t0, 1.0, 3.0, 3.0, 3.0, "Count")], got
    # StorageResolution 1: its own second with Period=1.
    got = datapoints(cw, namespace, "Burst", checkout, t0, t0 + 60, 1, 1)
    assert [summary(p) for p in got] == [(t0 + 17, 1.0, 7.0, 7.0, 7.0, "Count")], got
    for dims in (refund, refund_eur):
        got = datapoints(cw, namespace, "Amount", dims, t0, end, 60, 1)
        assert [summary(p) for p in got] == [(t0, 1.0, 12.5, 12.5, 12.5, "None")], (dims, got)
    # The unit is the library's: asking for another one finds nothing.
    resp = cw.get_metric_statistics(Namespace=namespace, MetricName="Latency",
                                    Dimensions=[{"Name": k, "Value": v} for k, v in checkout],
                                    StartTime=at(t0), EndTime=at(t0 + 60), Period=60,
                                    Statistics=["SampleCount"], Unit="Seconds")
    assert resp["Datapoints"] == [], resp["Datapoints"]


# --------------------------------------------------------------------------------------------
# (b) hand-written documents


def emf(ts_ms: int, directives: list[dict], **members) -> str:
    return json.dumps({"_aws": {"Timestamp": ts_ms, "CloudWatchMetrics": directives}, **members})


def test_dimension_sets_directives_and_value_arrays(logs, cw):
    ns, ns2 = unique("neph-emf/"), unique("neph-emf/")
    t0 = recent_minute()
    doc = emf((t0 + 5) * 1000, [
        {"Namespace": ns, "Dimensions": [["Service"], ["Service", "Host"], []],
         "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Errors", "Unit": "Count"}]},
        {"Namespace": ns2, "Dimensions": [["Host"]], "Metrics": [{"Name": "Latency"}]},
    ], Service="api", Host="h1", Latency=[10, 20, 30.5], Errors=2, requestId="r-1", note="not a metric")
    group, stream = new_stream(logs)
    ship(logs, group, stream, [doc])
    assert messages(read_stream(logs, group, stream)) == [doc]

    sets = [dimset(Service="api"), dimset(Service="api", Host="h1"), ()]
    wait_listed(cw, ns, [(name, s) for name in ("Latency", "Errors") for s in sets])
    wait_listed(cw, ns2, [("Latency", dimset(Host="h1"))])
    end = time.time() + 120
    for s in sets:
        # An array is one sample per element.
        got = datapoints(cw, ns, "Latency", s, t0, end, 60, 3)
        assert [summary(p) for p in got] == [(t0, 3.0, 60.5, 10.0, 30.5, "Milliseconds")], (s, got)
        got = datapoints(cw, ns, "Errors", s, t0, end, 60, 1)
        assert [summary(p) for p in got] == [(t0, 1.0, 2.0, 2.0, 2.0, "Count")], (s, got)
    got = datapoints(cw, ns2, "Latency", dimset(Host="h1"), t0, end, 60, 3)
    assert [summary(p) for p in got] == [(t0, 3.0, 60.5, 10.0, 30.5, "None")], got


def test_members_are_referenced_by_top_level_key(logs, cw):
    """"a reference "A.a" matches key "A.a", not nested A.a": names are root keys, not paths."""
    ns = unique("neph-emf/")
    t0 = recent_minute()
    doc = json.dumps({"_aws": {"Timestamp": (t0 + 2) * 1000, "CloudWatchMetrics": [
        {"Namespace": ns, "Dimensions": [["svc.name"]], "Metrics": [{"Name": "req.count", "Unit": "Count"}]}]},
        "svc.name": "flat", "svc": {"name": "nested"}, "req.count": 3, "req": {"count": 5}})
    group, stream = new_stream(logs)
    ship(logs, group, stream, [doc])
    wait_listed(cw, ns, [("req.count", (("svc.name", "flat"),))])
    got = datapoints(cw, ns, "req.count", (("svc.name", "flat"),), t0, t0 + 60, 60, 1)
    assert [summary(p) for p in got] == [(t0, 1.0, 3.0, 3.0, 3.0, "Count")], got


def test_storage_resolution_1_is_queryable_per_second(logs, cw):
    ns = unique("neph-emf/")
    t0 = recent_minute()
    directive = [{"Namespace": ns, "Dimensions": [["Service"]],
                  "Metrics": [{"Name": "Hits", "Unit": "Count", "StorageResolution": 1},
                              {"Name": "Slow", "Unit": "Count", "StorageResolution": 60}]}]
    lines = [emf((t0 + 3) * 1000 + 100, directive, Service="api", Hits=5, Slow=1),
             emf((t0 + 3) * 1000 + 900, directive, Service="api", Hits=[1, 2], Slow=1),
             emf((t0 + 4) * 1000, directive, Service="api", Hits=7, Slow=1)]
    group, stream = new_stream(logs)
    ship(logs, group, stream, lines)
    svc = dimset(Service="api")
    wait_listed(cw, ns, [("Hits", svc), ("Slow", svc)])
    got = datapoints(cw, ns, "Hits", svc, t0, t0 + 60, 1, 4)
    assert [summary(p) for p in got] == [(t0 + 3, 3.0, 8.0, 1.0, 5.0, "Count"),
                                         (t0 + 4, 1.0, 7.0, 7.0, 7.0, "Count")], got
    got = datapoints(cw, ns, "Hits", svc, t0, t0 + 60, 60, 4)
    assert [summary(p) for p in got] == [(t0, 4.0, 15.0, 1.0, 7.0, "Count")], got
    got = datapoints(cw, ns, "Slow", svc, t0, t0 + 60, 60, 3)
    assert [summary(p) for p in got] == [(t0, 3.0, 3.0, 1.0, 1.0, "Count")], got


def test_invalid_documents_are_stored_and_publish_nothing(logs, cw):
    ns = unique("neph-emf/")
    t0 = recent_minute()
    ms = (t0 + 1) * 1000
    ghost = emf(ms, [{"Namespace": ns, "Dimensions": [["Service"]], "Metrics": [{"Name": "Ghost"}]}],
                Service="api", Other=1)  # declared, but no root member "Ghost"
    broken = '{"_aws": {"Timestamp": %d, "CloudWatchMetrics": [{"Namespace": "%s", "Dimensions": [[]], ' \
             '"Metrics": [{"Name": "Broken"}]}]}, "Broken": 1' % (ms, ns)  # not valid JSON
    barrier = emf(ms + 1000, [{"Namespace": ns, "Dimensions": [[]], "Metrics": [{"Name": "Barrier"}]}],
                  Barrier=1)
    lines = [ghost, broken, barrier]
    group, stream = new_stream(logs)
    ship(logs, group, stream, lines)
    assert messages(read_stream(logs, group, stream)) == lines
    # Once the later, valid document's metric is visible, the invalid ones had their chance.
    got = datapoints(cw, ns, "Barrier", (), t0, t0 + 60, 60, 1)
    assert [summary(p) for p in got] == [(t0, 1.0, 1.0, 1.0, 1.0, "None")], got
    assert listed(cw, ns) == [("Barrier", ())]
    for name, dims in (("Ghost", dimset(Service="api")), ("Broken", ())):
        resp = cw.get_metric_statistics(Namespace=ns, MetricName=name,
                                        Dimensions=[{"Name": k, "Value": v} for k, v in dims],
                                        StartTime=at(t0), EndTime=at(t0 + 60), Period=60,
                                        Statistics=["SampleCount"])
        assert resp["Datapoints"] == [], (name, resp["Datapoints"])


def test_json_emf_format_header_is_accepted(server, cw):
    logs = boto_client(server, "logs")  # its own client: the hooks stay on it
    sent_headers: list[dict] = []

    def add_header(request, **_):
        request.headers["x-amzn-logs-format"] = "json/emf"

    def record(request, **_):
        sent_headers.append({k.lower(): v.decode() if isinstance(v, bytes) else v
                             for k, v in request.headers.items()})
        return None  # a non-None answer would replace the HTTP response

    logs.meta.events.register("before-sign.logs.PutLogEvents", add_header)
    logs.meta.events.register("before-send.logs.PutLogEvents", record)
    ns = unique("neph-emf/")
    t0 = recent_minute()
    doc = emf((t0 + 30) * 1000, [{"Namespace": ns, "Dimensions": [["Function"]],
                                  "Metrics": [{"Name": "Duration", "Unit": "Seconds"}]}],
              Function="f", Duration=0.5)
    group, stream = new_stream(logs)
    try:
        ship(logs, group, stream, [doc])
    except ClientError as exc:
        pytest.fail(f"PutLogEvents with x-amzn-logs-format: json/emf refused: {exc.response}", pytrace=False)
    assert len(sent_headers) == 1 and sent_headers[0].get("x-amzn-logs-format") == "json/emf", sent_headers
    # Added before signing, so the server verified a signature that covers it.
    assert "x-amzn-logs-format" in sent_headers[0]["authorization"].split("SignedHeaders=")[1].split(",")[0], \
        sent_headers[0]["authorization"]
    assert messages(read_stream(logs, group, stream)) == [doc]
    got = datapoints(cw, ns, "Duration", dimset(Function="f"), t0, t0 + 60, 60, 1)
    assert [summary(p) for p in got] == [(t0, 1.0, 0.5, 0.5, 0.5, "Seconds")], got


# --------------------------------------------------------------------------------------------
# The agent-style endpoint (TCP and UDP, `[emf_agent] listen`): what the library sends in its
# "Agent" environment, and what a CloudWatch agent forwards.

def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1."""
    import socket
    for _ in range(50):
        with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@pytest.fixture
def agent_server(start_server):
    port = free_port()
    srv = start_server(config=f'[emf_agent]\nlisten = "127.0.0.1:{port}"\nlog_group = "agent-default"\n')
    return srv, port


def test_agent_endpoint_takes_the_library_over_tcp_and_raw_lines_over_udp(agent_server):
    import socket
    srv, port = agent_server
    logs, cw = boto_client(srv, "logs"), boto_client(srv, "cloudwatch")
    namespace, t0 = unique("neph-emf-agent/"), recent_minute()
    group = f"/neph/emf-agent/{unique()}"
    try:
        import aws_embedded_metrics  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("aws-embedded-metrics missing (CI is set; run scripts/install-test-deps)", pytrace=False)
        pytest.skip("aws-embedded-metrics missing; run scripts/install-test-deps")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_EMF_")}
    env.update({"AWS_EMF_ENVIRONMENT": "Agent", "AWS_EMF_AGENT_ENDPOINT": f"tcp://127.0.0.1:{port}",
                "AWS_EMF_SERVICE_NAME": "shop", "AWS_EMF_SERVICE_TYPE": "PyTest",
                "AWS_EMF_LOG_GROUP_NAME": group, "AWS_EMF_LOG_STREAM_NAME": "worker-1"})
    proc = subprocess.run([sys.executable, "-c", LIBRARY_SCRIPT, json.dumps({"ns": namespace, "ts": t0 + 17.25})],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"library script failed:\n{proc.stderr[-3000:]}"

    # The group and stream the documents name are created; the documents are their events.
    events = wait_for(lambda: logs.filter_log_events(logGroupName=group)["events"] if
                      logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] else [],
                      lambda v: len(v) >= 2, what="the library's two documents in the named group")
    assert {e["logStreamName"] for e in events} == {"worker-1"}, events
    docs = [json.loads(e["message"]) for e in events]
    assert all(d["_aws"]["LogGroupName"] == group for d in docs), docs
    # Agent environment defaults: LogGroup dimension is the group name.
    checkout = dimset(LogGroup=group, ServiceName="shop", ServiceType="PyTest", Operation="Checkout")
    got = datapoints(cw, namespace, "Latency", checkout, t0, time.time() + 120, 60, 2)
    assert [summary(p) for p in got] == [(t0, 2.0, 350.5, 100.0, 250.5, "Milliseconds")], got

    # UDP: one datagram, two lines; the one without a group goes to `emf_agent.log_group`;
    # a line that is not JSON is dropped.
    ns2 = unique("neph-emf-agent-udp/")
    named = emf((t0 + 30) * 1000, [{"Namespace": ns2, "Dimensions": [["Host"]], "Metrics": [{"Name": "Hits"}]}],
                Host="a", Hits=2)
    named = json.dumps({**json.loads(named), "_aws": {**json.loads(named)["_aws"], "LogGroupName": group,
                                                      "LogStreamName": "udp"}})
    unnamed = emf((t0 + 31) * 1000, [{"Namespace": ns2, "Dimensions": [["Host"]], "Metrics": [{"Name": "Hits"}]}],
                  Host="a", Hits=5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(f"{named}\nnot json\n{unnamed}\n".encode(), ("127.0.0.1", port))
    got = datapoints(cw, ns2, "Hits", dimset(Host="a"), t0, t0 + 60, 60, 2)
    assert [summary(p) for p in got] == [(t0, 2.0, 7.0, 2.0, 5.0, "None")], got
    assert messages(read_stream(logs, group, "udp")) == [named]
    assert messages(read_stream(logs, "agent-default", "emf-agent")) == [unnamed]
