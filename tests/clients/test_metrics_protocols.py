"""CloudWatch metrics over the three wire protocols, checked against each other in one test.

The same dataset is published three times, into three namespaces: through boto3 (AWS JSON 1.0),
through botocore 1.42.6 (AWS Query, `.venv-query`, a subprocess running probes/boto3_call.py)
and through aws-sdk-cloudwatch for Rust (Smithy RPC v2 CBOR, `tests/rust-sdk/examples/cw_probe.rs`,
a subprocess printing the SDK's output as JSON). A fourth namespace gets the datums round-robin
through the three protocols. Every namespace is then read back through every protocol —
GetMetricStatistics (basic and percentile statistics, unit filter, high resolution),
GetMetricData and ListMetrics — and every answer must be identical (doubles bit for bit,
timestamps to the second) and equal to what Python computes from the raw values. A hand-built
CBOR request, decoded with cbor2, checks that the CBOR answer really carries tag-1 timestamps and
floating-point values.

The Rust probe is built with `cargo build --example cw_probe` in tests/rust-sdk (a no-op when it
is up to date; a cold build of the SDK takes minutes), or taken from NEPHOSCOPE_CW_PROBE.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import shutil
import subprocess
import time
from pathlib import Path

import cbor2
import pytest
from botocore.exceptions import ClientError

from support import (REPO, boto_client, cbor_request, client_env, error_of, require_tool, send,
                     unique)

QUERY_PYTHON = REPO / ".venv-query" / "bin" / "python"
QUERY_PROBE = Path(__file__).resolve().parent / "probes" / "boto3_call.py"
RUST_SDK = REPO / "tests" / "rust-sdk"
CW_PROBE = RUST_SDK / "target" / "debug" / "examples" / "cw_probe"
CARGO_BUILD_TIMEOUT_S = 3600
CALL_TIMEOUT_S = 120

PROTOCOLS = ("json", "query", "cbor")


# --------------------------------------------------------------------------------------------
# The three clients


@pytest.fixture(scope="module")
def legacy(ci):
    """botocore 1.42.6 in .venv-query: CloudWatch over AWS Query."""
    require_tool(QUERY_PYTHON, "the Query-protocol boto3 venv (.venv-query)", ci)

    def call(server, operation, params):
        proc = subprocess.run(
            [str(QUERY_PYTHON), str(QUERY_PROBE), "cloudwatch", operation, json.dumps(params)],
            env=client_env(server), capture_output=True, text=True, timeout=CALL_TIMEOUT_S,
        )
        assert proc.returncode == 0, f"Query probe failed ({proc.returncode}):\n{proc.stderr}"
        out = json.loads(proc.stdout)
        assert (out["botocore"], out["protocol"]) == ("1.42.6", "query"), out
        return out

    return call


@pytest.fixture(scope="module")
def rust(ci):
    """aws-sdk-cloudwatch (Rust): CloudWatch over Smithy RPC v2 CBOR, through the cw_probe example."""
    if os.environ.get("NEPHOSCOPE_CW_PROBE"):
        probe = Path(os.environ["NEPHOSCOPE_CW_PROBE"]).resolve()
        require_tool(probe, "the cw_probe binary named by NEPHOSCOPE_CW_PROBE", ci)
    else:
        cargo = shutil.which("cargo")
        if cargo is None:
            require_tool(Path("/nonexistent/cargo"), "cargo (to build tests/rust-sdk's cw_probe)", ci)
        env = dict(os.environ)
        env.setdefault("CARGO_BUILD_JOBS", "1")
        build = subprocess.run([cargo, "build", "--quiet", "--example", "cw_probe"], cwd=RUST_SDK,
                               env=env, capture_output=True, text=True, timeout=CARGO_BUILD_TIMEOUT_S)
        assert build.returncode == 0, f"cargo build --example cw_probe failed:\n{build.stderr[-4000:]}"
        probe = CW_PROBE
    assert probe.exists(), probe

    def call(server, command, *args, stdin: str | None = None):
        proc = subprocess.run([str(probe), server.url, command, *args], input=stdin,
                              env=client_env(server), capture_output=True, text=True,
                              timeout=CALL_TIMEOUT_S)
        assert proc.returncode == 0, f"cw_probe {command} failed ({proc.returncode}):\n{proc.stderr}"
        return json.loads(proc.stdout)

    return call


# --------------------------------------------------------------------------------------------
# The dataset: dyadic values (exact sums in any order), plus 0.1 and 1/3 alone in their minutes
# (doubles that only survive a protocol printed at full precision).


def dataset(t0: int) -> list[dict]:
    web = [("Host", "web-1"), ("AZ", "az-a")]
    d = [
        # minute 0: single values and a Values/Counts datum
        dict(name="Latency", dims=web, t=t0 + 3, unit="Milliseconds", value=12.5),
        dict(name="Latency", dims=web, t=t0 + 17, unit="Milliseconds", value=3.25),
        dict(name="Latency", dims=web, t=t0 + 40, unit="Milliseconds",
             values=[1.0, 2.5, 40.125, 7.0, 0.5], counts=[3.0, 1.0, 2.0, 5.0, 1.0]),
        # minute 1: Values without Counts (each once)
        dict(name="Latency", dims=web, t=t0 + 61, unit="Milliseconds",
             values=[8.0, 16.0, 4.0, 2.0, 1.0, 32.0, 64.0]),
        # minute 2: a statistic set with distinct values (no percentiles for this minute)
        dict(name="Latency", dims=web, t=t0 + 125, unit="Milliseconds", stats=(4.0, 10.0, 1.0, 4.0)),
        # minute 3: a statistic set whose values are all equal (percentiles stay available)
        dict(name="Latency", dims=web, t=t0 + 190, unit="Milliseconds", stats=(3.0, 15.0, 5.0, 5.0)),
        dict(name="Latency", dims=web, t=t0 + 191, unit="Milliseconds", value=6.0),
        # minute 7: another unit in the same series
        dict(name="Latency", dims=web, t=t0 + 420, unit="Seconds", value=0.25),
        # a second series of the same name (other dimensions) and one without dimensions
        dict(name="Latency", dims=[("Host", "web-2"), ("AZ", "az-a")], t=t0 + 5, unit="Milliseconds",
             value=1000.0),
        dict(name="Requests", dims=[], t=t0 + 8, unit="Count", value=1.0),
        dict(name="Requests", dims=[], t=t0 + 68, value=2.0),  # no unit: "None"
        # full-precision doubles
        dict(name="Ratio", dims=[("Host", "web-1")], t=t0 + 30, unit="Percent", value=0.1),
        dict(name="Ratio", dims=[("Host", "web-1")], t=t0 + 90, unit="Percent", value=1.0 / 3.0),
        dict(name="Ratio", dims=[("Host", "web-1")], t=t0 + 150, unit="Percent", value=1e-7),
    ]
    # high resolution: one value per second for 12 s, 1-second storage
    for i in range(12):
        d.append(dict(name="HiRes", dims=[("Host", "web-1")], t=t0 + 240 + i, unit="Count",
                      res=1, value=float(i * i) + 0.5))
    return d


def to_boto(d: dict) -> dict:
    out = {"MetricName": d["name"], "Dimensions": [{"Name": k, "Value": v} for k, v in d["dims"]],
           "Timestamp": datetime.datetime.fromtimestamp(d["t"], datetime.timezone.utc)}
    if "unit" in d:
        out["Unit"] = d["unit"]
    if "res" in d:
        out["StorageResolution"] = d["res"]
    if "value" in d:
        out["Value"] = d["value"]
    elif "values" in d:
        out["Values"] = d["values"]
        if "counts" in d:
            out["Counts"] = d["counts"]
    else:
        n, s, lo, hi = d["stats"]
        out["StatisticValues"] = {"SampleCount": n, "Sum": s, "Minimum": lo, "Maximum": hi}
    return out


def to_query_params(d: dict) -> dict:
    out = to_boto(d)
    out["Timestamp"] = out["Timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def to_probe_line(d: dict) -> str:
    parts = [f"name={d['name']}", f"ts={d['t']}"] + [f"dim={k}:{v}" for k, v in d["dims"]]
    if "unit" in d:
        parts.append(f"unit={d['unit']}")
    if "res" in d:
        parts.append(f"res={d['res']}")
    if "value" in d:
        parts.append(f"value={d['value']!r}")
    elif "values" in d:
        parts.append("values=" + ",".join(repr(v) for v in d["values"]))
        if "counts" in d:
            parts.append("counts=" + ",".join(repr(c) for c in d["counts"]))
    else:
        parts.append("stats=" + ",".join(repr(x) for x in d["stats"]))
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# What Python expects


class Agg:
    def __init__(self):
        self.count = 0.0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.raw: list[float] = []
        self.percentiles = True

    def add(self, d: dict) -> None:
        if "stats" in d:
            n, s, lo, hi = d["stats"]
            if lo == hi and s == lo * n:
                pairs = [(lo, n)]
            else:
                self.count += n
                self.sum += s
                self.min, self.max = min(self.min, lo), max(self.max, hi)
                self.percentiles = False
                return
        elif "value" in d:
            pairs = [(d["value"], 1.0)]
        else:
            pairs = list(zip(d["values"], d.get("counts", [1.0] * len(d["values"]))))
        for v, c in pairs:
            self.count += c
            self.sum += v * c
            self.min, self.max = min(self.min, v), max(self.max, v)
            self.raw += [v] * int(c)
            if v < 0:
                self.percentiles = False


def expected_points(data, name, dims, start, end, period, unit=None) -> dict[tuple[int, str], Agg]:
    """(period start, unit) -> aggregate, for datums of one series with start <= t < end."""
    out: dict[tuple[int, str], Agg] = {}
    for d in data:
        if d["name"] != name or sorted(d["dims"]) != sorted(dims):
            continue
        if not start <= d["t"] < end or (unit is not None and d.get("unit", "None") != unit):
            continue
        p = start + (d["t"] - start) // period * period
        out.setdefault((p, d.get("unit", "None")), Agg()).add(d)
    return out


def exact_percentile_bounds(values: list[float], p: float) -> tuple[float, float]:
    """The order statistics around rank p/100 * (n - 1): every usual percentile definition
    (nearest rank, lower, linear interpolation) picks a value between them."""
    s = sorted(values)
    r = p / 100.0 * (len(s) - 1)
    return s[math.floor(r)], s[math.ceil(r)]


def assert_percentile(got: float, values: list[float], p: float, what: str) -> None:
    lo, hi = exact_percentile_bounds(values, p)
    assert lo * 0.99 <= got <= hi * 1.01, (
        f"{what}: p{p} = {got!r}, exact value {lo!r}..{hi!r} (1 % relative error allowed)")


# --------------------------------------------------------------------------------------------
# Normal forms of the three clients' answers


def epoch(ts) -> float:
    if isinstance(ts, datetime.datetime):
        return ts.timestamp()
    if isinstance(ts, str):
        return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return float(ts)


def norm_gms(result: dict) -> dict:
    points = []
    for dp in result.get("Datapoints") or []:
        p = {k: v for k, v in dp.items() if v is not None}
        p["Timestamp"] = epoch(p["Timestamp"])
        # An empty ExtendedStatistics map (a period whose percentiles are unavailable) may be
        # sent as {} or left out depending on the protocol; both mean the same.
        if p.get("ExtendedStatistics") == {}:
            del p["ExtendedStatistics"]
        points.append(p)
    return {"Label": result.get("Label"), "Datapoints": sorted(points, key=lambda p: (p["Timestamp"], p.get("Unit")))}


def norm_gmd(result: dict) -> list[dict]:
    out = []
    for r in result.get("MetricDataResults") or []:
        out.append({"Id": r.get("Id"), "Label": r.get("Label"), "StatusCode": r.get("StatusCode"),
                    "Timestamps": [epoch(t) for t in r.get("Timestamps") or []],
                    "Values": list(r.get("Values") or [])})
    return sorted(out, key=lambda r: r["Id"])


def norm_metrics(result: dict) -> list:
    return sorted((m["Namespace"], m["MetricName"],
                   tuple(sorted((d["Name"], d["Value"]) for d in m.get("Dimensions") or [])))
                  for m in result.get("Metrics") or [])


def iso(t: int) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Readers:
    """Runs one request through the three protocols; each method returns {protocol: normal form}."""

    def __init__(self, server, legacy, rust):
        self.server, self.legacy, self.rust = server, legacy, rust
        self.cw = boto_client(server, "cloudwatch")

    def _ok(self, protocol, out):
        assert out["ok"], f"{protocol}: {out}"
        return out["result"]

    def gms(self, ns, name, dims, start, end, period, stats=(), ext=(), unit=None) -> dict:
        kw = {"Namespace": ns, "MetricName": name, "Period": period,
              "Dimensions": [{"Name": k, "Value": v} for k, v in dims]}
        if stats:
            kw["Statistics"] = list(stats)
        if ext:
            kw["ExtendedStatistics"] = list(ext)
        if unit:
            kw["Unit"] = unit
        j = self.cw.get_metric_statistics(
            StartTime=datetime.datetime.fromtimestamp(start, datetime.timezone.utc),
            EndTime=datetime.datetime.fromtimestamp(end, datetime.timezone.utc), **kw)
        q = self._ok("query", self.legacy(self.server, "get_metric_statistics",
                                          {**kw, "StartTime": iso(start), "EndTime": iso(end)}))
        args = [f"ns={ns}", f"name={name}", f"start={start}", f"end={end}", f"period={period}"]
        args += [f"dim={k}:{v}" for k, v in dims] + [f"stat={s}" for s in stats] + [f"ext={e}" for e in ext]
        if unit:
            args.append(f"unit={unit}")
        c = self._ok("cbor", self.rust(self.server, "gms", *args))
        return {"json": norm_gms(j), "query": norm_gms(q), "cbor": norm_gms(c)}

    def gmd(self, queries: list[dict], start, end, scan=None) -> dict:
        kw = {"MetricDataQueries": queries}
        if scan:
            kw["ScanBy"] = scan
        j = self.cw.get_metric_data(
            StartTime=datetime.datetime.fromtimestamp(start, datetime.timezone.utc),
            EndTime=datetime.datetime.fromtimestamp(end, datetime.timezone.utc), **kw)
        q = self._ok("query", self.legacy(self.server, "get_metric_data",
                                          {**kw, "StartTime": iso(start), "EndTime": iso(end)}))
        args = [f"start={start}", f"end={end}"] + ([f"scan={scan}"] if scan else [])
        for mq in queries:
            ms = mq["MetricStat"]
            fields = [f"id={mq['Id']}", f"ns={ms['Metric']['Namespace']}", f"name={ms['Metric']['MetricName']}",
                      f"period={ms['Period']}", f"stat={ms['Stat']}"]
            fields += [f"dim={d['Name']}:{d['Value']}" for d in ms["Metric"].get("Dimensions", [])]
            if "Label" in mq:
                fields.append(f"label={mq['Label']}")
            if "Unit" in ms:
                fields.append(f"unit={ms['Unit']}")
            if "ReturnData" in mq:
                fields.append(f"return={'true' if mq['ReturnData'] else 'false'}")
            args.append("q=" + ";".join(fields))
        c = self._ok("cbor", self.rust(self.server, "gmd", *args))
        # Result order is part of the answer too (ScanBy applies within each result).
        for name, res in (("json", j), ("query", q), ("cbor", c)):
            ids = [r["Id"] for r in res.get("MetricDataResults") or []]
            assert ids == [mq["Id"] for mq in queries if mq.get("ReturnData", True)], (name, ids)
        return {"json": norm_gmd(j), "query": norm_gmd(q), "cbor": norm_gmd(c)}

    def list_metrics(self, ns) -> dict:
        j = self.cw.list_metrics(Namespace=ns)
        q = self._ok("query", self.legacy(self.server, "list_metrics", {"Namespace": ns}))
        c = self._ok("cbor", self.rust(self.server, "lm", f"ns={ns}"))
        for name, res in (("json", j), ("query", q), ("cbor", c)):
            assert not res.get("NextToken"), (name, res)
        return {"json": norm_metrics(j), "query": norm_metrics(q), "cbor": norm_metrics(c)}


def same_everywhere(answers: dict, what: str):
    """All protocols gave the same normal form; returns it."""
    first = answers["json"]
    for protocol in PROTOCOLS[1:]:
        assert answers[protocol] == first, (
            f"{what}: {protocol} differs from json\njson:  {first}\n{protocol}: {answers[protocol]}")
    return first


def raw_cbor_gms(server, ns, name, dims, start, end, period, stats):
    """GetMetricStatistics as a hand-built CBOR request; timestamps kept as ('tag1', value)."""
    body = cbor2.dumps({"Namespace": ns, "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                        "StartTime": cbor2.CBORTag(1, start), "EndTime": cbor2.CBORTag(1, end),
                        "Period": period, "Statistics": list(stats)})
    resp = send(server, cbor_request("GetMetricStatistics", body))
    assert resp.status_code == 200, resp.content[:500]
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor", dict(resp.headers)
    assert resp.headers.get("content-type") == "application/cbor", dict(resp.headers)
    return cbor2.loads(resp.content, semantic_decoders={1: lambda value, _immutable: ("tag1", value)})


# --------------------------------------------------------------------------------------------


def test_same_data_same_answers_on_json_query_and_cbor(server, legacy, rust):
    t0 = int(time.time()) // 300 * 300 - 3600  # 60-65 minutes ago, on a 5-minute boundary
    data = dataset(t0)
    base = unique("neph-xproto-")
    ns = {p: f"{base}/{p}" for p in PROTOCOLS}
    ns["mixed"] = f"{base}/mixed"

    # --- publish: the whole dataset through each protocol, and round-robin into "mixed"
    cw = boto_client(server, "cloudwatch")
    cw.put_metric_data(Namespace=ns["json"], MetricData=[to_boto(d) for d in data])
    out = legacy(server, "put_metric_data",
                 {"Namespace": ns["query"], "MetricData": [to_query_params(d) for d in data]})
    assert out["ok"], out
    assert out["request"]["body"].startswith("Action=PutMetricData&Version=2010-08-01"), out["request"]
    out = rust(server, "put", ns["cbor"], stdin="\n".join(to_probe_line(d) for d in data) + "\n")
    assert out["ok"], out
    mixed = {p: data[i::3] for i, p in enumerate(PROTOCOLS)}
    cw.put_metric_data(Namespace=ns["mixed"], MetricData=[to_boto(d) for d in mixed["json"]])
    assert legacy(server, "put_metric_data", {"Namespace": ns["mixed"],
                                             "MetricData": [to_query_params(d) for d in mixed["query"]]})["ok"]
    assert rust(server, "put", ns["mixed"], stdin="\n".join(to_probe_line(d) for d in mixed["cbor"]))["ok"]

    readers = Readers(server, legacy, rust)
    web = [("Host", "web-1"), ("AZ", "az-a")]
    basic = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
    end = t0 + 600
    reference: dict = {}  # what="..." -> answer read from the json namespace

    for key, namespace in ns.items():
        where = f"written via {key}"

        # GetMetricStatistics, basic statistics per minute, both units
        got = same_everywhere(readers.gms(namespace, "Latency", web, t0, end, 60, stats=basic),
                              f"Latency basic 60 s ({where})")
        want = expected_points(data, "Latency", web, t0, end, 60)
        assert [(p["Timestamp"], p["Unit"]) for p in got["Datapoints"]] == sorted(
            (float(t), u) for t, u in want), got
        for p in got["Datapoints"]:
            a = want[(int(p["Timestamp"]), p["Unit"])]
            assert (p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) == (
                a.count, a.sum, a.min, a.max), (where, p)
            assert p["Average"] == a.sum / a.count, (where, p)
            assert "ExtendedStatistics" not in p, p
        assert got["Label"] == "Latency"
        reference.setdefault("basic", got)
        assert got == reference["basic"], f"{where}: differs from the data written via json"

        # percentiles over 5-minute periods; the stat-set minute (t0+120) hides them in its period
        pct = ("p0", "p10", "p50", "p90", "p99", "p100")
        got = same_everywhere(readers.gms(namespace, "Latency", web, t0, end, 300, ext=pct,
                                          unit="Milliseconds"), f"Latency percentiles ({where})")
        want = expected_points(data, "Latency", web, t0, end, 300, unit="Milliseconds")
        assert len(got["Datapoints"]) == len(want) == 1, got
        (p,) = got["Datapoints"]
        a = want[(int(p["Timestamp"]), "Milliseconds")]
        assert not a.percentiles and "ExtendedStatistics" not in p, (where, p)
        assert not any(k in p for k in basic), p  # only what was asked for
        got = same_everywhere(readers.gms(namespace, "Latency", web, t0, t0 + 120, 60, ext=pct),
                              f"Latency percentiles per minute ({where})")
        want = expected_points(data, "Latency", web, t0, t0 + 120, 60)
        assert len(got["Datapoints"]) == 2, got
        for p in got["Datapoints"]:
            a = want[(int(p["Timestamp"]), p["Unit"])]
            assert set(p["ExtendedStatistics"]) == set(pct), p
            for name, v in p["ExtendedStatistics"].items():
                assert_percentile(v, a.raw, float(name[1:]), f"{where} {p['Timestamp']}")
        reference.setdefault("pct", got)
        assert got == reference["pct"], f"{where}: percentiles differ from the data written via json"

        # unit filter: the other unit only, and a unit with no data
        got = same_everywhere(readers.gms(namespace, "Latency", web, t0, end, 600, stats=("Sum",),
                                          unit="Seconds"), f"unit filter ({where})")
        assert [(p["Unit"], p["Sum"]) for p in got["Datapoints"]] == [("Seconds", 0.25)], got
        got = same_everywhere(readers.gms(namespace, "Latency", web, t0, end, 600, stats=("Sum",),
                                          unit="Bytes"), f"unmatched unit ({where})")
        assert got["Datapoints"] == [], got

        # no unit given at publication: "None"; full-precision doubles
        got = same_everywhere(readers.gms(namespace, "Requests", [], t0, end, 60, stats=("Sum",)),
                              f"Requests ({where})")
        assert [(p["Unit"], p["Sum"]) for p in got["Datapoints"]] == [("Count", 1.0), ("None", 2.0)], got
        got = same_everywhere(readers.gms(namespace, "Ratio", [("Host", "web-1")], t0, end, 60,
                                          stats=("Average", "Maximum")), f"Ratio ({where})")
        assert [p["Average"] for p in got["Datapoints"]] == [0.1, 1.0 / 3.0, 1e-7], got

        # high resolution: 1-second and 5-second periods
        got = same_everywhere(readers.gms(namespace, "HiRes", [("Host", "web-1")], t0 + 240, t0 + 252, 1,
                                          stats=("Sum", "SampleCount")), f"HiRes 1 s ({where})")
        assert [(p["Timestamp"], p["Sum"], p["SampleCount"]) for p in got["Datapoints"]] == [
            (float(t0 + 240 + i), i * i + 0.5, 1.0) for i in range(12)], got
        got = same_everywhere(readers.gms(namespace, "HiRes", [("Host", "web-1")], t0 + 240, t0 + 260, 5,
                                          stats=("Sum", "Maximum")), f"HiRes 5 s ({where})")
        assert [(p["Timestamp"], p["Sum"], p["Maximum"]) for p in got["Datapoints"]] == [
            (float(t0 + 240 + 5 * k), sum(i * i + 0.5 for i in range(5 * k, min(5 * k + 5, 12))),
             min(5 * k + 4, 11) ** 2 + 0.5) for k in range(3)], got

        # GetMetricData: several queries, labels, a hidden query, both scan orders
        metric = {"Namespace": namespace, "MetricName": "Latency",
                  "Dimensions": [{"Name": k, "Value": v} for k, v in web]}
        queries = [
            {"Id": "sum", "Label": "latency sum", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum",
                                                                 "Unit": "Milliseconds"}},
            {"Id": "hidden", "ReturnData": False, "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Maximum"}},
            {"Id": "p90", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p90"}},
            {"Id": "n", "MetricStat": {"Metric": metric, "Period": 120, "Stat": "SampleCount"}},
        ]
        got_asc = same_everywhere(readers.gmd(queries, t0, end, scan="TimestampAscending"),
                                  f"GetMetricData ascending ({where})")
        got_desc = same_everywhere(readers.gmd(queries, t0, end), f"GetMetricData default order ({where})")
        assert [r["Id"] for r in got_asc] == ["n", "p90", "sum"], got_asc
        ms = expected_points(data, "Latency", web, t0, end, 60, unit="Milliseconds")
        by_id = {r["Id"]: r for r in got_asc}
        assert by_id["sum"]["Label"] == "latency sum"
        assert by_id["p90"]["Label"] == "Latency", "default label: the metric name"
        assert by_id["sum"]["Timestamps"] == [float(t) for t, _ in sorted(ms)], by_id["sum"]
        assert by_id["sum"]["Values"] == [ms[k].sum for k in sorted(ms)], by_id["sum"]
        all_units = expected_points(data, "Latency", web, t0, end, 60)
        with_pct = sorted(t for (t, _), a in all_units.items() if a.percentiles)
        assert by_id["p90"]["Timestamps"] == [float(t) for t in with_pct], by_id["p90"]
        for t, v in zip(with_pct, by_id["p90"]["Values"]):
            raw = [x for (pt, _), a in all_units.items() if pt == t for x in a.raw]
            assert_percentile(v, raw, 90.0, f"GetMetricData p90 at {t} ({where})")
        two = expected_points(data, "Latency", web, t0, end, 120)
        counts: dict[int, float] = {}
        for (t, _), a in two.items():
            counts[t] = counts.get(t, 0.0) + a.count
        assert list(zip(by_id["n"]["Timestamps"], by_id["n"]["Values"])) == sorted(
            (float(t), c) for t, c in counts.items()), by_id["n"]
        for r in got_asc:
            assert r["StatusCode"] == "Complete", r
        for asc, desc in zip(got_asc, got_desc):
            assert desc["Timestamps"] == asc["Timestamps"][::-1], (asc, desc)
            assert desc["Values"] == asc["Values"][::-1], (asc, desc)
        reference.setdefault("gmd", got_asc)
        assert got_asc == reference["gmd"], f"{where}: GetMetricData differs from the data written via json"

        # ListMetrics
        got = same_everywhere(readers.list_metrics(namespace), f"ListMetrics ({where})")
        assert got == sorted({(namespace, d["name"], tuple(sorted(d["dims"]))) for d in data}), got

    # --- the raw CBOR answer: tag-1 timestamps and floating-point values
    doc = raw_cbor_gms(server, ns["cbor"], "Ratio", [("Host", "web-1")], t0, end, 60, ("Average", "SampleCount"))
    points = sorted(doc["Datapoints"], key=lambda p: p["Timestamp"][1])
    assert [p["Timestamp"] for p in points] == [("tag1", t0), ("tag1", t0 + 60), ("tag1", t0 + 120)], doc
    assert [p["Average"] for p in points] == [0.1, 1.0 / 3.0, 1e-7], doc
    for p in points:
        assert isinstance(p["Average"], float) and isinstance(p["SampleCount"], float), p


def test_modeled_errors_agree_on_every_protocol(server, legacy, rust):
    """Value and StatisticValues together: InvalidParameterCombination, HTTP 400, on all three."""
    ns = unique("neph-xproto-err/")
    bad = {"MetricName": "m", "Value": 1.0,
           "StatisticValues": {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}}
    cw = boto_client(server, "cloudwatch")
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException) as info:
        cw.put_metric_data(Namespace=ns, MetricData=[bad])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["Error"]["Code"] == "InvalidParameterCombination"
    out = legacy(server, "put_metric_data", {"Namespace": ns, "MetricData": [bad]})
    assert (out["ok"], out["status"], out["error"]["Code"]) == (False, 400, "InvalidParameterCombination"), out
    out = rust(server, "put", ns, stdin="name=m value=1.0 stats=1.0,1.0,1.0,1.0\n")
    assert (out["ok"], out["status"], out["code"], out["variant"], out["error_type"]) == (
        False, 400, "InvalidParameterCombination", "InvalidParameterCombinationException", "Sender"), out
    # Nothing of the refused batches was stored.
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []
    # The raw CBOR error body names the modeled shape; the header carries the Query code.
    body = cbor2.dumps({"Namespace": ns, "MetricData": [bad]})
    err = error_of(send(server, cbor_request("PutMetricData", body)))
    assert (err.status, err.kind, err.code) == (400, "cbor", "InvalidParameterCombinationException"), err
    assert err.query_error == "InvalidParameterCombination;Sender", err


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_values_are_invalid_parameter_value_on_every_protocol(server, legacy, rust, value):
    """MetricDatum.Value (model doc): "special values (for example, NaN, +Infinity, -Infinity) are
    not supported." AWS answers InvalidParameterValue, "The value NaN for parameter
    MetricData.member.1.Value is invalid." (reported from boto3 in getmoto/moto#3880, from the
    Ruby SDK in sj26/sidekiq-cloudwatchmetrics#16). Each client encodes the value its protocol's
    way — JSON 1.0 and Query as the strings NaN/Infinity/-Infinity, CBOR as a float — and the
    server must decode it and refuse it as that modeled error, not as a malformed request."""
    ns = unique("neph-xproto-nan/")
    number = float(value)
    cw = boto_client(server, "cloudwatch")
    with pytest.raises(ClientError) as info:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": number}])
    got = {"json": (info.value.response["ResponseMetadata"]["HTTPStatusCode"],
                    info.value.response["Error"]["Code"])}
    out = legacy(server, "put_metric_data", {"Namespace": ns, "MetricData": [{"MetricName": "m", "Value": number}]})
    got["query"] = (out.get("status"), out.get("error", {}).get("Code"))
    out = rust(server, "put", ns, stdin=f"name=m value={value}\n")
    got["cbor"] = (out.get("status"), out.get("code"))
    assert got == {p: (400, "InvalidParameterValue") for p in PROTOCOLS}, got
