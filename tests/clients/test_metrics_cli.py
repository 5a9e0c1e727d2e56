"""CloudWatch metrics through the aws CLI, as users type it: v1 from PyPI (JSON 1.0) and Debian's
v2 2.9.19 (AWS Query). put-metric-data (shorthand and JSON), get-metric-statistics,
get-metric-data and list-metrics, round trip."""

import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import client_env, require_tool, unique

CLI_V1 = Path(sys.executable).parent / "aws"
CLI_V2_DEBIAN = Path("/usr/bin/aws")
UTC = datetime.timezone.utc


@pytest.fixture(params=["v1", "v2-debian"])
def aws(request, ci):
    if request.param == "v1":
        path = CLI_V1
        if not path.exists():
            pytest.fail(f"aws CLI v1 missing at {path}: run the tests with .venv-clients/bin/python",
                        pytrace=False)
    else:
        path = CLI_V2_DEBIAN
        require_tool(path, "Debian's aws CLI v2 (apt-get install awscli)", ci)

    def run(server, *args):
        return subprocess.run(
            [str(path), "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json", *args],
            capture_output=True, text=True, timeout=120, env=client_env(server),
        )

    run.flavour = request.param
    return run


def iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(s) -> float:
    """A timestamp as the CLI prints it: v1 passes JSON 1.0's epoch seconds through unchanged
    (cli_timestamp_format "none"), v2 prints ISO 8601."""
    if isinstance(s, (int, float)):
        return float(s)
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def ok(proc) -> dict:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_put_get_list_round_trip(server, aws):
    ns = unique("neph-cli/")
    t0 = int(time.time()) // 300 * 300 - 3600

    # Shorthand options, with --debug once to check which protocol this CLI speaks.
    proc = aws(server, "--debug", "cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Latency",
               "--dimensions", "Host=web-1,AZ=az-a", "--value", "12.5", "--unit", "Milliseconds",
               "--timestamp", iso(t0 + 5))
    ok(proc)
    if aws.flavour == "v1":
        assert "GraniteServiceVersion20100801.PutMetricData" in proc.stderr, "premise: v1 speaks JSON 1.0"
    else:
        assert "application/x-www-form-urlencoded" in proc.stderr, "premise: Debian's v2 speaks Query"
        assert "<PutMetricDataResponse xmlns=" in proc.stderr, "premise: and reads an XML answer"

    # JSON --metric-data: Values/Counts, a statistic set, high resolution.
    dims = [{"Name": "Host", "Value": "web-1"}, {"Name": "AZ", "Value": "az-a"}]
    data = [
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": iso(t0 + 20), "Unit": "Milliseconds",
         "Values": [1.0, 2.5, 40.0], "Counts": [2.0, 1.0, 1.0]},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": iso(t0 + 70), "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}},
        {"MetricName": "HiRes", "Timestamp": iso(t0 + 1), "Value": 3.0, "StorageResolution": 1},
        {"MetricName": "HiRes", "Timestamp": iso(t0 + 2), "Value": 5.0, "StorageResolution": 1},
    ]
    ok(aws(server, "cloudwatch", "put-metric-data", "--namespace", ns, "--metric-data", json.dumps(data)))

    # get-metric-statistics
    out = ok(aws(server, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Latency",
                 "--dimensions", "Name=Host,Value=web-1", "Name=AZ,Value=az-a",
                 "--start-time", iso(t0), "--end-time", iso(t0 + 180), "--period", "60",
                 "--statistics", "SampleCount", "Sum", "Average", "Minimum", "Maximum"))
    assert out["Label"] == "Latency"
    got = sorted(out["Datapoints"], key=lambda p: epoch(p["Timestamp"]))
    assert [(epoch(p["Timestamp"]), p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"], p["Average"], p["Unit"])
            for p in got] == [
        (t0, 5.0, 12.5 + 2.0 + 2.5 + 40.0, 1.0, 40.0, 57.0 / 5.0, "Milliseconds"),
        (t0 + 60, 4.0, 10.0, 1.0, 4.0, 2.5, "Milliseconds"),
    ], got
    out = ok(aws(server, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Latency",
                 "--dimensions", "Name=Host,Value=web-1", "Name=AZ,Value=az-a",
                 "--start-time", iso(t0), "--end-time", iso(t0 + 60), "--period", "60",
                 "--extended-statistics", "p50", "p100"))
    (p,) = out["Datapoints"]
    assert p["ExtendedStatistics"]["p50"] == pytest.approx(2.5, rel=0.01), p  # 1 1 2.5 12.5 40
    assert p["ExtendedStatistics"]["p100"] == pytest.approx(40.0, rel=0.01), p
    out = ok(aws(server, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "HiRes",
                 "--start-time", iso(t0), "--end-time", iso(t0 + 10), "--period", "1", "--statistics", "Sum"))
    assert sorted((epoch(p["Timestamp"]) - t0, p["Sum"]) for p in out["Datapoints"]) == [(1, 3.0), (2, 5.0)]
    out = ok(aws(server, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Latency",
                 "--dimensions", "Name=Host,Value=web-1", "Name=AZ,Value=az-a", "--unit", "Seconds",
                 "--start-time", iso(t0), "--end-time", iso(t0 + 180), "--period", "60", "--statistics", "Sum"))
    assert out["Datapoints"] == []

    # get-metric-data with JSON queries
    queries = [
        {"Id": "total", "Label": "latency total",
         "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Latency", "Dimensions": dims},
                        "Period": 60, "Stat": "Sum"}},
        {"Id": "hidden", "ReturnData": False,
         "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "HiRes"}, "Period": 1, "Stat": "Sum"}},
        {"Id": "hr", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "HiRes"}, "Period": 10,
                                    "Stat": "Maximum"}},
    ]
    out = ok(aws(server, "cloudwatch", "get-metric-data", "--metric-data-queries", json.dumps(queries),
                 "--start-time", iso(t0), "--end-time", iso(t0 + 180), "--scan-by", "TimestampAscending"))
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert list(results) == ["total", "hr"], out
    assert results["total"]["Label"] == "latency total"
    assert [epoch(t) for t in results["total"]["Timestamps"]] == [t0, t0 + 60]
    assert results["total"]["Values"] == [57.0, 10.0]
    assert ([epoch(t) for t in results["hr"]["Timestamps"]], results["hr"]["Values"]) == ([t0], [5.0])
    assert all(r["StatusCode"] == "Complete" for r in results.values()), out
    out = ok(aws(server, "cloudwatch", "get-metric-data", "--metric-data-queries", json.dumps(queries[:1]),
                 "--start-time", iso(t0), "--end-time", iso(t0 + 180)))
    (r,) = out["MetricDataResults"]
    assert ([epoch(t) for t in r["Timestamps"]], r["Values"]) == ([t0 + 60, t0], [10.0, 57.0]), "newest first"

    # list-metrics (the CLI follows NextToken itself)
    out = ok(aws(server, "cloudwatch", "list-metrics", "--namespace", ns))
    listed = sorted((m["MetricName"], sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", [])))
                    for m in out["Metrics"])
    assert listed == [("HiRes", []), ("Latency", [("AZ", "az-a"), ("Host", "web-1")])], out
    out = ok(aws(server, "cloudwatch", "list-metrics", "--namespace", ns, "--dimensions", "Name=AZ"))
    assert [m["MetricName"] for m in out["Metrics"]] == ["Latency"], out
    out = ok(aws(server, "cloudwatch", "list-metrics", "--namespace", ns, "--metric-name", "HiRes",
                 "--recently-active", "PT3H"))
    assert [m["MetricName"] for m in out["Metrics"]] == ["HiRes"], out


def test_list_metrics_auto_paging(server, aws):
    """More than one 500-metric page: the CLI follows NextToken and prints everything once."""
    ns = unique("neph-cli/")
    data = [{"MetricName": f"m{i:04d}", "Value": 1.0} for i in range(520)]
    ok(aws(server, "cloudwatch", "put-metric-data", "--namespace", ns, "--metric-data", json.dumps(data)))
    out = ok(aws(server, "cloudwatch", "list-metrics", "--namespace", ns))
    assert sorted(m["MetricName"] for m in out["Metrics"]) == [f"m{i:04d}" for i in range(520)]


def test_errors(server, aws):
    ns = unique("neph-cli/")
    proc = aws(server, "cloudwatch", "put-metric-data", "--namespace", ns, "--metric-data",
               json.dumps([{"MetricName": "m", "Value": 1.0,
                            "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}]))
    assert proc.returncode != 0, proc.stdout
    assert "(InvalidParameterCombination)" in proc.stderr, proc.stderr
    proc = aws(server, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "m",
               "--start-time", iso(time.time() - 3600), "--end-time", iso(time.time()), "--period", "45",
               "--statistics", "Sum")
    assert proc.returncode != 0, proc.stdout
    assert "(InvalidParameterValue)" in proc.stderr, proc.stderr
    proc = aws(server, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-name", "m",
               "--value", "1")
    assert proc.returncode != 0, proc.stdout
    assert "(InvalidParameterValue)" in proc.stderr, proc.stderr
