"""CloudWatch anomaly detectors (PutAnomalyDetector, DescribeAnomalyDetectors,
DeleteAnomalyDetector) through real clients: boto3 over JSON 1.0, botocore 1.42.6 over AWS Query
(`.venv-query`, probes/boto3_call.py) and raw Query forms for the XML error codes, a hand-built
RPC v2 CBOR request, and the aws CLI (v1 JSON 1.0, Debian v2 Query).

What is checked: both single-metric forms and metric math detectors, the Configuration and
MetricCharacteristics round trip, filters and paging, StateValue from the data the band model
would train on (docs/compatibility.md), AWS's error codes per protocol, the 500-detector quota,
accounts kept apart, ANOMALY_DETECTION_BAND following a detector's ExcludedTimeRanges and
MetricTimezone, and detectors surviving a graceful restart and a SIGKILL.
"""

from __future__ import annotations

import datetime
import json
import math
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cbor2
import pytest
from botocore.exceptions import ClientError

from support import (ALICE_ACCESS_KEY, ALICE_SECRET_KEY, REPO, boto_client, cbor_request,
                     client_env, error_of, query_request, require_tool, send, unique)

UTC = datetime.timezone.utc
DAY = 86_400
QUERY_PYTHON = REPO / ".venv-query" / "bin" / "python"
QUERY_PROBE = Path(__file__).resolve().parent / "probes" / "boto3_call.py"
CLI_V1 = Path(sys.executable).parent / "aws"
CLI_V2_DEBIAN = Path("/usr/bin/aws")
BOTH_TYPES = ["SINGLE_METRIC", "METRIC_MATH"]


def at(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, UTC)


@pytest.fixture
def cw(server):
    return boto_client(server, "cloudwatch")


def expect_error(call, code: str, status: int = 400) -> str:
    """`call()` fails with the Query-compatible `code` (also in x-amzn-query-error) and `status`."""
    with pytest.raises(ClientError) as info:
        call()
    resp = info.value.response
    assert resp["Error"]["Code"] == code, resp["Error"]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == status, resp["ResponseMetadata"]
    header = resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-query-error", "")
    assert header.split(";")[0] == code, f"x-amzn-query-error: {header!r}"
    return resp["Error"]["Message"]


def single(ns: str, name: str = "Latency", stat: str = "Average", host: str = "web-1") -> dict:
    return {"Namespace": ns, "MetricName": name, "Stat": stat,
            "Dimensions": [{"Name": "Host", "Value": host}]}


def math_queries(ns: str) -> list[dict]:
    return [
        {"Id": "m1", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": "Latency",
                       "Dimensions": [{"Name": "Host", "Value": "web-1"}]},
            "Period": 300, "Stat": "Average"}},
        {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True},
    ]


def describe_all(cw, **kwargs) -> list[dict]:
    """Every detector DescribeAnomalyDetectors lists for `kwargs`, following NextToken."""
    out, token = [], None
    for _ in range(100):
        resp = cw.describe_anomaly_detectors(**kwargs, **({"NextToken": token} if token else {}))
        out += resp["AnomalyDetectors"]
        token = resp.get("NextToken")
        if not token:
            return out
    raise AssertionError("DescribeAnomalyDetectors paging did not end within 100 pages")


def by_id(cw, detector_id: str) -> dict:
    found = cw.describe_anomaly_detectors(AnomalyDetectorIds=[detector_id])["AnomalyDetectors"]
    assert len(found) == 1, found
    return found[0]


def publish(cw, ns: str, points: list[tuple[float, float]], name: str = "Latency",
            host: str = "web-1") -> None:
    for i in range(0, len(points), 500):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}],
             "Timestamp": at(t), "Value": v} for t, v in points[i:i + 500]])


# --------------------------------------------------------------------------------------------
# JSON 1.0 (boto3)


def test_put_describe_delete_over_json(cw):
    ns = unique("neph-ad/")
    t0 = int(time.time())
    excluded = [{"StartTime": at(t0 - 3 * DAY), "EndTime": at(t0 - 3 * DAY + 3600)}]
    first = cw.put_anomaly_detector(
        SingleMetricAnomalyDetector=single(ns),
        Configuration={"ExcludedTimeRanges": excluded, "MetricTimezone": "Europe/Paris"},
        MetricCharacteristics={"PeriodicSpikes": True})["AnomalyDetectorId"]
    # The deprecated form names the same detector: updated in place, same id.
    legacy = cw.put_anomaly_detector(Namespace=ns, MetricName="Latency", Stat="Average",
                                     Dimensions=[{"Name": "Host", "Value": "web-1"}],
                                     Configuration={"ExcludedTimeRanges": excluded,
                                                    "MetricTimezone": "Europe/Paris"},
                                     MetricCharacteristics={"PeriodicSpikes": True})
    assert legacy["AnomalyDetectorId"] == first
    p99 = cw.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, stat="p99"))["AnomalyDetectorId"]
    errors = cw.put_anomaly_detector(
        SingleMetricAnomalyDetector=single(ns, name="Errors", stat="Sum", host="web-2"))["AnomalyDetectorId"]
    math_id = cw.put_anomaly_detector(
        MetricMathAnomalyDetector={"MetricDataQueries": math_queries(ns)})["AnomalyDetectorId"]
    assert len({first, p99, errors, math_id}) == 4

    listed = describe_all(cw, Namespace=ns)
    assert sorted(d["AnomalyDetectorId"] for d in listed) == sorted([first, p99, errors])
    d = by_id(cw, first)
    assert (d["Namespace"], d["MetricName"], d["Stat"]) == (ns, "Latency", "Average")
    assert d["Dimensions"] == [{"Name": "Host", "Value": "web-1"}]
    assert d["SingleMetricAnomalyDetector"] == single(ns)
    assert d["Configuration"]["MetricTimezone"] == "Europe/Paris"
    assert d["Configuration"]["ExcludedTimeRanges"] == excluded, d["Configuration"]
    assert d["MetricCharacteristics"] == {"PeriodicSpikes": True}
    assert d["StateValue"] == "PENDING_TRAINING"
    m = by_id(cw, math_id)
    assert m["MetricMathAnomalyDetector"]["MetricDataQueries"] == math_queries(ns)
    assert "Namespace" not in m and "SingleMetricAnomalyDetector" not in m
    assert m["Configuration"] == {"ExcludedTimeRanges": []}

    # Filters: the metric's name, dimensions, types; math detectors only with METRIC_MATH.
    names = lambda ds: sorted((x.get("MetricName"), x.get("Stat")) for x in ds)  # noqa: E731
    assert names(describe_all(cw, Namespace=ns, MetricName="Errors")) == [("Errors", "Sum")]
    assert names(describe_all(cw, Namespace=ns, Dimensions=[{"Name": "Host", "Value": "web-1"}])) == [
        ("Latency", "Average"), ("Latency", "p99")]
    math_listed = describe_all(cw, AnomalyDetectorTypes=["METRIC_MATH"])
    assert math_id in [x["AnomalyDetectorId"] for x in math_listed]
    assert all("MetricMathAnomalyDetector" in x for x in math_listed)
    both = describe_all(cw, AnomalyDetectorTypes=BOTH_TYPES)
    assert {first, p99, errors, math_id} <= {x["AnomalyDetectorId"] for x in both}
    # Pages of one.
    pages, token = [], None
    while True:
        resp = cw.describe_anomaly_detectors(Namespace=ns, MaxResults=1,
                                             **({"NextToken": token} if token else {}))
        pages.append([x["AnomalyDetectorId"] for x in resp["AnomalyDetectors"]])
        token = resp.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [1, 1, 1] and sorted(sum(pages, [])) == sorted([first, p99, errors])

    # StateValue from data: three values in the last two weeks train, one does not.
    now = int(time.time()) // 300 * 300
    publish(cw, ns, [(now - DAY, 10.0), (now - 2 * DAY, 11.0), (now - 4 * DAY, 12.0)])
    publish(cw, ns, [(now - DAY, 1.0)], name="Errors", host="web-2")
    assert by_id(cw, first)["StateValue"] == "TRAINED"
    assert by_id(cw, errors)["StateValue"] == "TRAINED_INSUFFICIENT_DATA"
    assert by_id(cw, math_id)["StateValue"] == "TRAINED"

    # Delete: each form, then a missing detector.
    cw.delete_anomaly_detector(SingleMetricAnomalyDetector=single(ns))
    cw.delete_anomaly_detector(Namespace=ns, MetricName="Latency", Stat="p99",
                               Dimensions=[{"Name": "Host", "Value": "web-1"}])
    cw.delete_anomaly_detector(AnomalyDetectorId=errors)
    cw.delete_anomaly_detector(MetricMathAnomalyDetector={"MetricDataQueries": math_queries(ns)})
    assert describe_all(cw, Namespace=ns) == []
    assert cw.describe_anomaly_detectors(AnomalyDetectorIds=[math_id])["AnomalyDetectors"] == []
    expect_error(lambda: cw.delete_anomaly_detector(SingleMetricAnomalyDetector=single(ns)),
                 "ResourceNotFoundException", 404)
    expect_error(lambda: cw.delete_anomaly_detector(AnomalyDetectorId=first),
                 "ResourceNotFoundException", 404)


def test_errors_over_json(cw):
    ns = unique("neph-ad/")
    bad_put = [
        ({}, "MissingParameter"),
        ({"Namespace": ns, "MetricName": "Latency"}, "MissingParameter"),
        ({"SingleMetricAnomalyDetector": {"Namespace": ns, "Stat": "Sum"}}, "MissingParameter"),
        ({"SingleMetricAnomalyDetector": single(ns), "Namespace": ns}, "InvalidParameterCombination"),
        ({"SingleMetricAnomalyDetector": single(ns),
          "MetricMathAnomalyDetector": {"MetricDataQueries": math_queries(ns)}}, "InvalidParameterCombination"),
        ({"SingleMetricAnomalyDetector": single(ns), "Configuration": {"MetricTimezone": "Mars/Base"}},
         "InvalidParameterValue"),
        ({"SingleMetricAnomalyDetector": single(ns), "Configuration": {"ExcludedTimeRanges": [
            {"StartTime": at(100 + i * 10), "EndTime": at(105 + i * 10)} for i in range(11)]}},
         "InvalidParameterValue"),
        ({"SingleMetricAnomalyDetector": single(ns), "Configuration": {"ExcludedTimeRanges": [
            {"StartTime": at(200), "EndTime": at(100)}]}}, "InvalidParameterValue"),
        ({"MetricMathAnomalyDetector": {"MetricDataQueries": [
            dict(math_queries(ns)[0], ReturnData=True)]}}, "InvalidParameterValue"),
        ({"MetricMathAnomalyDetector": {"MetricDataQueries": [
            math_queries(ns)[0], {"Id": "e1", "Expression": "m1 *"}]}}, "InvalidParameterValue"),
        ({"MetricMathAnomalyDetector": {"MetricDataQueries": [
            math_queries(ns)[0], {"Id": "e1", "Expression": "ANOMALY_DETECTION_BAND(m1)"}]}},
         "InvalidParameterValue"),
    ]
    for params, code in bad_put:
        expect_error(lambda: cw.put_anomaly_detector(**params), code)
    expect_error(lambda: cw.delete_anomaly_detector(), "MissingParameter")
    expect_error(lambda: cw.delete_anomaly_detector(AnomalyDetectorId="abc", Namespace=ns, MetricName="x",
                                                   Stat="Sum"), "InvalidParameterCombination")
    expect_error(lambda: cw.describe_anomaly_detectors(AnomalyDetectorIds=["abc"], Namespace=ns),
                 "InvalidParameterCombination")
    expect_error(lambda: cw.describe_anomaly_detectors(MaxResults=101), "InvalidParameterValue")
    expect_error(lambda: cw.describe_anomaly_detectors(NextToken="not a token!"), "InvalidNextToken")
    # The model's own constraints (an unknown type) are InvalidParameterValue too.
    expect_error(lambda: cw.describe_anomaly_detectors(AnomalyDetectorTypes=["BOTH"]), "InvalidParameterValue")
    assert describe_all(cw, Namespace=ns) == []


def test_quota_and_accounts(alice_server):
    """500 detectors per account and Region; another account neither counts nor sees them."""
    alice = boto_client(alice_server, "cloudwatch", access_key=ALICE_ACCESS_KEY, secret_key=ALICE_SECRET_KEY)
    me = boto_client(alice_server, "cloudwatch")
    ns = unique("neph-ad-quota/")
    ids = [alice.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name=f"m{i:03d}"))["AnomalyDetectorId"]
           for i in range(500)]
    assert len(set(ids)) == 500
    msg = expect_error(lambda: alice.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name="m500")),
                       "LimitExceededException")
    assert "500" in msg, msg
    # Updating an existing one is not a new detector.
    assert alice.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name="m000"),
                                      Configuration={"MetricTimezone": "UTC"})["AnomalyDetectorId"] == ids[0]
    assert len(describe_all(alice, Namespace=ns)) == 500
    # The other account: nothing listed, nothing deletable by id, its own quota.
    assert describe_all(me, Namespace=ns) == []
    assert me.describe_anomaly_detectors(AnomalyDetectorIds=ids[:50])["AnomalyDetectors"] == []
    expect_error(lambda: me.delete_anomaly_detector(AnomalyDetectorId=ids[1]), "ResourceNotFoundException", 404)
    assert me.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name="m500"))["AnomalyDetectorId"]
    alice.delete_anomaly_detector(AnomalyDetectorId=ids[1])
    alice.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name="m500"))


def band_mean(cw, ns: str, start: int) -> float:
    """The middle of the first point of ANOMALY_DETECTION_BAND(m1) (Average, 1 minute) at `start`."""
    resp = cw.get_metric_data(MetricDataQueries=[
        {"Id": "m1", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": "Latency",
                       "Dimensions": [{"Name": "Host", "Value": "web-1"}]},
            "Period": 60, "Stat": "Average"}},
        {"Id": "b", "Expression": "ANOMALY_DETECTION_BAND(m1)"},
    ], StartTime=at(start), EndTime=at(start + 60), ScanBy="TimestampAscending")
    upper, lower = resp["MetricDataResults"]
    assert len(upper["Values"]) == 1, resp["MetricDataResults"]
    return (upper["Values"][0] + lower["Values"][0]) / 2


def test_band_follows_the_detectors_configuration(cw):
    """Training without a detector: every value of the UTC hour. With one: its excluded range
    left out, then its time zone's hours (Asia/Kolkata is UTC+05:30, so the :10 and :40 minutes
    of a UTC hour fall in two local hours)."""
    ns = unique("neph-ad-band/")
    hour = int(time.time()) // 3600 * 3600 - 3600  # the band is drawn at hour + 10 min
    points = []
    for d in range(1, 4):
        points += [(hour - d * DAY + 600, 10.0), (hour - d * DAY + 2400, 30.0)]
    spike = hour - 4 * DAY + 600
    points.append((spike, 1000.0))
    publish(cw, ns, points)
    start = hour + 600
    assert math.isclose(band_mean(cw, ns, start), 1120.0 / 7)
    excluded = {"ExcludedTimeRanges": [{"StartTime": at(spike - 60), "EndTime": at(spike + 60)}]}
    cw.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns), Configuration=excluded)
    assert math.isclose(band_mean(cw, ns, start), 20.0)
    cw.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns),
                            Configuration=dict(excluded, MetricTimezone="Asia/Kolkata"))
    assert math.isclose(band_mean(cw, ns, start), 10.0)
    cw.delete_anomaly_detector(SingleMetricAnomalyDetector=single(ns))
    assert math.isclose(band_mean(cw, ns, start), 1120.0 / 7)


# --------------------------------------------------------------------------------------------
# AWS Query (botocore 1.42.6 and raw forms) and RPC v2 CBOR


@pytest.fixture(scope="module")
def legacy(ci):
    require_tool(QUERY_PYTHON, "the Query-protocol boto3 venv (.venv-query)", ci)

    def call(server, operation, params):
        proc = subprocess.run(
            [str(QUERY_PYTHON), str(QUERY_PROBE), "cloudwatch", operation, json.dumps(params, default=str)],
            env=client_env(server), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"Query probe failed ({proc.returncode}):\n{proc.stderr}"
        out = json.loads(proc.stdout)
        assert (out["botocore"], out["protocol"]) == ("1.42.6", "query"), out
        return out

    return call


def test_query_protocol(server, cw, legacy):
    ns = unique("neph-ad-query/")
    out = legacy(server, "put_anomaly_detector", {
        "SingleMetricAnomalyDetector": single(ns),
        "Configuration": {"ExcludedTimeRanges": [{"StartTime": "2024-01-01T00:00:00Z",
                                                  "EndTime": "2024-01-02T00:00:00Z"}],
                          "MetricTimezone": "America/New_York"}})
    assert out["ok"], out
    assert "Action=PutAnomalyDetector" in out["request"]["body"], out["request"]
    out = legacy(server, "put_anomaly_detector", {"MetricMathAnomalyDetector": {
        "MetricDataQueries": math_queries(ns)}})
    assert out["ok"], out
    # What Query answers is what JSON answers.
    q = legacy(server, "describe_anomaly_detectors", {"Namespace": ns})
    assert q["ok"], q
    [jd] = cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"]
    [qd] = q["result"]["AnomalyDetectors"]
    assert qd["SingleMetricAnomalyDetector"] == single(ns)
    assert qd["Configuration"]["MetricTimezone"] == "America/New_York"
    assert [r["StartTime"][:19] for r in qd["Configuration"]["ExcludedTimeRanges"]] == ["2024-01-01 00:00:00"]
    assert (qd["StateValue"], qd["Stat"], qd["Dimensions"]) == (jd["StateValue"], jd["Stat"], jd["Dimensions"])
    qm = legacy(server, "describe_anomaly_detectors", {"AnomalyDetectorTypes": ["METRIC_MATH"]})
    mine = [d for d in qm["result"]["AnomalyDetectors"]
            if d["MetricMathAnomalyDetector"]["MetricDataQueries"][0]["MetricStat"]["Metric"]["Namespace"] == ns]
    assert len(mine) == 1 and mine[0]["MetricMathAnomalyDetector"]["MetricDataQueries"][1]["Expression"] == "m1 * 2"
    # Errors: codes and statuses in the XML ErrorResponse.
    for action, params, code, status in [
        ("PutAnomalyDetector", {}, "MissingParameter", 400),
        ("PutAnomalyDetector", {"Namespace": ns, "MetricName": "Latency", "Stat": "Sum",
                                "SingleMetricAnomalyDetector.Namespace": ns}, "InvalidParameterCombination", 400),
        ("PutAnomalyDetector", {"Namespace": ns, "MetricName": "Latency", "Stat": "Sum",
                                "Configuration.MetricTimezone": "Nowhere/City"}, "InvalidParameterValue", 400),
        ("DeleteAnomalyDetector", {"Namespace": ns, "MetricName": "Nope", "Stat": "Sum"},
         "ResourceNotFoundException", 404),
        ("DescribeAnomalyDetectors", {"MaxResults": "101"}, "InvalidParameterValue", 400),
    ]:
        err = error_of(send(server, query_request(action, params)))
        assert (err.kind, err.code, err.status) == ("xml", code, status), (action, params, err)
        assert err.xml_request_id, err
    out = legacy(server, "delete_anomaly_detector", {"SingleMetricAnomalyDetector": single(ns)})
    assert out["ok"], out
    out = legacy(server, "delete_anomaly_detector", {"SingleMetricAnomalyDetector": single(ns)})
    assert (out["ok"], out["error"]["Code"], out["status"]) == (False, "ResourceNotFoundException", 404), out
    # Raw form: the answer's XML names the new id.
    resp = send(server, query_request("PutAnomalyDetector", {
        "SingleMetricAnomalyDetector.Namespace": ns, "SingleMetricAnomalyDetector.MetricName": "Raw",
        "SingleMetricAnomalyDetector.Stat": "Sum"}))
    assert resp.status_code == 200, resp.text
    ids = [el.text for el in ET.fromstring(resp.content).iter() if el.tag.endswith("AnomalyDetectorId")]
    assert len(ids) == 1 and len(ids[0]) == 36, resp.text
    assert by_id(cw, ids[0])["MetricName"] == "Raw"


def test_cbor(server, cw):
    ns = unique("neph-ad-cbor/")
    resp = send(server, cbor_request("PutAnomalyDetector", cbor2.dumps({
        "SingleMetricAnomalyDetector": single(ns),
        "Configuration": {"ExcludedTimeRanges": [{"StartTime": cbor2.CBORTag(1, 1_700_000_000),
                                                  "EndTime": cbor2.CBORTag(1, 1_700_003_600)}]}})))
    assert resp.status_code == 200, resp.content
    detector_id = cbor2.loads(resp.content)["AnomalyDetectorId"]
    resp = send(server, cbor_request("DescribeAnomalyDetectors", cbor2.dumps({"Namespace": ns})))
    assert resp.status_code == 200, resp.content
    [d] = cbor2.loads(resp.content)["AnomalyDetectors"]
    assert d["AnomalyDetectorId"] == detector_id
    [r] = d["Configuration"]["ExcludedTimeRanges"]
    assert r["StartTime"] == datetime.datetime.fromtimestamp(1_700_000_000, UTC), r
    err = error_of(send(server, cbor_request("DeleteAnomalyDetector", cbor2.dumps({"AnomalyDetectorId": "0-1"}))))
    assert (err.kind, err.code, err.status, err.query_code) == (
        "cbor", "ResourceNotFoundException", 404, "ResourceNotFoundException"), err
    cw.delete_anomaly_detector(AnomalyDetectorId=detector_id)


# --------------------------------------------------------------------------------------------
# aws CLI


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
            capture_output=True, text=True, timeout=120, env=client_env(server))

    return run


def ok(proc) -> dict:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_cli(server, aws):
    ns = unique("neph-ad-cli/")
    ok(aws(server, "cloudwatch", "put-anomaly-detector", "--namespace", ns, "--metric-name", "Latency",
           "--stat", "Average", "--dimensions", "Name=Host,Value=web-1",
           "--configuration", json.dumps({"MetricTimezone": "Europe/Berlin"})))
    ok(aws(server, "cloudwatch", "put-anomaly-detector", "--single-metric-anomaly-detector",
           json.dumps(single(ns, name="Errors", stat="Sum"))))
    listed = ok(aws(server, "cloudwatch", "describe-anomaly-detectors", "--namespace", ns))["AnomalyDetectors"]
    got = sorted((d["MetricName"], d["Stat"], d["StateValue"], d["Configuration"].get("MetricTimezone"))
                 for d in listed)
    assert got == [("Errors", "Sum", "PENDING_TRAINING", None),
                   ("Latency", "Average", "PENDING_TRAINING", "Europe/Berlin")], listed
    ok(aws(server, "cloudwatch", "delete-anomaly-detector", "--namespace", ns, "--metric-name", "Latency",
           "--stat", "Average", "--dimensions", "Name=Host,Value=web-1"))
    missing = aws(server, "cloudwatch", "delete-anomaly-detector", "--namespace", ns, "--metric-name", "Latency",
                  "--stat", "Average", "--dimensions", "Name=Host,Value=web-1")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr, missing.stderr
    bad = aws(server, "cloudwatch", "put-anomaly-detector", "--namespace", ns, "--metric-name", "Latency")
    assert bad.returncode != 0 and "MissingParameter" in bad.stderr, bad.stderr
    left = ok(aws(server, "cloudwatch", "describe-anomaly-detectors", "--namespace", ns))["AnomalyDetectors"]
    assert [d["MetricName"] for d in left] == ["Errors"]


# --------------------------------------------------------------------------------------------
# Durability


def test_detectors_survive_graceful_restart_and_sigkill(start_server, tmp_path):
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    cw = boto_client(srv, "cloudwatch")
    ns = unique("neph-ad-durable/")
    first = cw.put_anomaly_detector(
        SingleMetricAnomalyDetector=single(ns),
        Configuration={"ExcludedTimeRanges": [{"StartTime": at(1_700_000_000), "EndTime": at(1_700_086_400)}],
                       "MetricTimezone": "Asia/Tokyo"},
        MetricCharacteristics={"PeriodicSpikes": False})["AnomalyDetectorId"]
    cw.put_anomaly_detector(MetricMathAnomalyDetector={"MetricDataQueries": math_queries(ns)})
    doomed = cw.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name="Doomed"))["AnomalyDetectorId"]

    def everything(client):
        return sorted(describe_all(client, AnomalyDetectorTypes=BOTH_TYPES), key=lambda d: d["AnomalyDetectorId"])

    before = everything(cw)
    assert len(before) == 3
    assert srv.stop() == 0, srv.log()[-2000:]
    srv = start_server(ephemeral=False, data_dir=data_dir)
    cw = boto_client(srv, "cloudwatch")
    assert everything(cw) == before
    # Acknowledged right before a SIGKILL: an update, a delete and a new detector.
    cw.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns), Configuration={"MetricTimezone": "UTC"})
    cw.delete_anomaly_detector(AnomalyDetectorId=doomed)
    added = cw.put_anomaly_detector(SingleMetricAnomalyDetector=single(ns, name="Added"))["AnomalyDetectorId"]
    srv.kill()
    srv = start_server(ephemeral=False, data_dir=data_dir)
    cw = boto_client(srv, "cloudwatch")
    after = {d["AnomalyDetectorId"]: d for d in everything(cw)}
    assert doomed not in after and added in after and len(after) == 3, after
    assert after[first]["Configuration"] == {"ExcludedTimeRanges": [], "MetricTimezone": "UTC"}
