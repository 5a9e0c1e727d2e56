"""CloudWatch metrics through current boto3 (AWS JSON 1.0, query-compatible): PutMetricData,
GetMetricStatistics, GetMetricData and ListMetrics against what AWS documents.

Data points are written a little over an hour in the past, on minute (or 5-minute) boundaries,
so every period is complete and inside the two-week ingestion window and the three hours in
which 1-second data is kept. Values are dyadic fractions, so sums are exact in any order and
SampleCount/Sum/Average/Minimum/Maximum are compared with ==. Percentiles are compared with the
exact value computed here from the raw values: CloudWatch's percentiles are approximations
(the server's sketch guarantees 1 % relative error), so they must lie within 1 % of it.

Every test uses its own namespace on the shared session server.
"""

from __future__ import annotations

import datetime
import math
import random
import time

import pytest
from botocore.exceptions import ClientError

from support import (ALICE_ACCESS_KEY, ALICE_SECRET_KEY, boto_client, unique)

UTC = datetime.timezone.utc
BASIC = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")


@pytest.fixture
def cw(server):
    return boto_client(server, "cloudwatch")


@pytest.fixture
def cw_unchecked(server):
    """A client that sends what it is given (no client-side parameter validation)."""
    return boto_client(server, "cloudwatch", parameter_validation=False)


def base_time(align: int = 300) -> int:
    """Epoch seconds 60-65 minutes ago, on an `align`-second boundary."""
    return int(time.time()) // align * align - 3600


def at(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, UTC)


def epoch(ts: datetime.datetime) -> float:
    return ts.timestamp()


def points(resp) -> list[dict]:
    """Datapoints sorted by time (GetMetricStatistics returns them in no particular order)."""
    return sorted(resp["Datapoints"], key=lambda p: (p["Timestamp"], p.get("Unit", "")))


def dims(**kv) -> list[dict]:
    return [{"Name": k, "Value": v} for k, v in kv.items()]


def stats(cw, ns, name, start, end, period, dimensions=(), **kw):
    return cw.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=list(dimensions),
                                     StartTime=at(start), EndTime=at(end), Period=period, **kw)


def expect_error(call, code: str, status: int = 400, exception: str | None = None) -> str:
    """`call()` fails with `code` (the Query-compatible code botocore reports), HTTP `status`
    and the matching `x-amzn-query-error` header; returns the message."""
    with pytest.raises(ClientError) as info:
        call()
    resp = info.value.response
    assert resp["Error"]["Code"] == code, resp["Error"]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == status, resp["ResponseMetadata"]
    header = resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-query-error", "")
    assert header.split(";")[0] == code, f"x-amzn-query-error: {header!r}"
    if exception is not None:
        assert type(info.value).__name__ == exception, type(info.value).__name__
    assert resp["ResponseMetadata"].get("RequestId"), resp["ResponseMetadata"]
    return resp["Error"]["Message"]


def exact_percentile_bounds(values: list[float], p: float) -> tuple[float, float]:
    """The order statistics around rank p/100 * (n - 1): nearest-rank, lower and interpolated
    percentile definitions all pick a value between them; when the rank is a whole number they
    are the same value."""
    s = sorted(values)
    r = p / 100.0 * (len(s) - 1)
    return s[math.floor(r)], s[math.ceil(r)]


def assert_percentile(got: float, values: list[float], p: float, what: str) -> None:
    lo, hi = exact_percentile_bounds(values, p)
    assert lo * 0.99 <= got <= hi * 1.01, (
        f"{what}: p{p} = {got!r}, exact {lo!r}..{hi!r} of {len(values)} values (1 % relative error)")


# --------------------------------------------------------------------------------------------
# Every datum shape, exact basic statistics


def test_every_datum_shape_gives_exact_statistics(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    d = dims(Host="web-1", AZ="az-a")
    cw.put_metric_data(Namespace=ns, MetricData=[
        # minute 0: three single values (one 45 s into the minute)
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0), "Value": 10.5, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 45), "Value": 2.25,
         "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 59), "Value": 0.0, "Unit": "Milliseconds"},
        # minute 1: Values with Counts (sample count = sum of counts)
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 60), "Unit": "Milliseconds",
         "Values": [1.0, 2.0, 4.5, 100.0], "Counts": [4.0, 1.0, 2.0, 1.0]},
        # minute 2: Values without Counts (each value once)
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 150), "Unit": "Milliseconds",
         "Values": [3.0, 5.0, 8.0]},
        # minute 3: a statistic set
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 180), "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 20.0, "Sum": 300.0, "Minimum": 2.0, "Maximum": 40.0}},
        # minute 4: all three shapes in one minute
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 240), "Value": -1.5,
         "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 241), "Unit": "Milliseconds",
         "Values": [6.0, 7.0], "Counts": [2.0, 3.0]},
        {"MetricName": "Latency", "Dimensions": d, "Timestamp": at(t0 + 299), "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 2.0, "Sum": 50.0, "Minimum": 20.0, "Maximum": 30.0}},
    ])
    want = {  # minute -> (SampleCount, Sum, Minimum, Maximum)
        0: (3.0, 12.75, 0.0, 10.5),
        1: (8.0, 4.0 + 2.0 + 9.0 + 100.0, 1.0, 100.0),
        2: (3.0, 16.0, 3.0, 8.0),
        3: (20.0, 300.0, 2.0, 40.0),
        4: (1.0 + 5.0 + 2.0, -1.5 + 12.0 + 21.0 + 50.0, -1.5, 30.0),
    }
    got = points(stats(cw, ns, "Latency", t0, t0 + 300, 60, d, Statistics=list(BASIC)))
    assert [epoch(p["Timestamp"]) for p in got] == [t0 + 60 * m for m in range(5)], got
    for m, p in enumerate(got):
        n, s, lo, hi = want[m]
        assert (p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) == (n, s, lo, hi), (m, p)
        assert p["Average"] == s / n, (m, p)
        assert p["Unit"] == "Milliseconds", p
        assert "ExtendedStatistics" not in p, p

    # Longer periods merge the minutes: 120 s (0-1, 2-3, 4) and one 300 s period.
    got = points(stats(cw, ns, "Latency", t0, t0 + 300, 120, d, Statistics=list(BASIC)))
    assert [epoch(p["Timestamp"]) for p in got] == [t0, t0 + 120, t0 + 240], got
    for p, minutes in zip(got, ([0, 1], [2, 3], [4])):
        n = sum(want[m][0] for m in minutes)
        s = sum(want[m][1] for m in minutes)
        assert (p["SampleCount"], p["Sum"], p["Average"]) == (n, s, s / n), p
        assert p["Minimum"] == min(want[m][2] for m in minutes), p
        assert p["Maximum"] == max(want[m][3] for m in minutes), p
    (p,) = stats(cw, ns, "Latency", t0, t0 + 300, 300, d, Statistics=["Sum", "Maximum"])["Datapoints"]
    assert (p["Sum"], p["Maximum"]) == (sum(w[1] for w in want.values()), 100.0), p
    assert set(p) == {"Timestamp", "Sum", "Maximum", "Unit"}, "only the statistics asked for"

    # StartTime is inclusive, EndTime exclusive.
    got = points(stats(cw, ns, "Latency", t0 + 60, t0 + 180, 60, d, Statistics=["SampleCount"]))
    assert [(epoch(p["Timestamp"]), p["SampleCount"]) for p in got] == [(t0 + 60, 8.0), (t0 + 120, 3.0)], got


def test_metric_identity_is_the_full_dimension_set(cw):
    """Dimension order does not matter; a subset or superset of the dimensions is another metric."""
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Dimensions": dims(A="1", B="2"), "Timestamp": at(t0), "Value": 5.0},
        {"MetricName": "m", "Dimensions": dims(A="1"), "Timestamp": at(t0), "Value": 7.0},
        {"MetricName": "m", "Timestamp": at(t0), "Value": 11.0},
    ])
    def total(d):
        return [p["Sum"] for p in stats(cw, ns, "m", t0, t0 + 60, 60, d, Statistics=["Sum"])["Datapoints"]]
    assert total(dims(B="2", A="1")) == [5.0]
    assert total(dims(A="1")) == [7.0]
    assert total([]) == [11.0]
    assert total(dims(A="1", B="3")) == []
    assert total(dims(A="1", B="2", C="3")) == []


# --------------------------------------------------------------------------------------------
# Percentiles


def test_percentiles_within_one_percent_of_exact(cw):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    ns, t0 = unique("neph-metrics/"), base_time()

    def sample(n):  # positive dyadic values over five orders of magnitude
        return [round(rng.lognormvariate(2.0, 1.8) * 64) / 64 + 1 / 64 for _ in range(n)]

    # minute 0: 101 raw values, 41 as single datums and 60 as Values/Counts (30 values x 2)
    singles, pairs = sample(41), sample(30)
    minute0 = singles + [v for v in pairs for _ in range(2)]
    # minute 1: 100 values as two Values arrays (no Counts)
    minute1 = sample(100)
    datums = [{"MetricName": "Lat", "Timestamp": at(t0 + i % 60), "Value": v} for i, v in enumerate(singles)]
    datums.append({"MetricName": "Lat", "Timestamp": at(t0 + 30), "Values": pairs, "Counts": [2.0] * 30})
    datums.append({"MetricName": "Lat", "Timestamp": at(t0 + 61), "Values": minute1[:50]})
    datums.append({"MetricName": "Lat", "Timestamp": at(t0 + 119), "Values": minute1[50:]})
    cw.put_metric_data(Namespace=ns, MetricData=datums)

    pcts = ["p0", "p1", "p10", "p25", "p50", "p75", "p90", "p99", "p99.9", "p100"]
    what = f"seed {seed}"
    got = points(stats(cw, ns, "Lat", t0, t0 + 120, 60, ExtendedStatistics=pcts))
    assert [epoch(p["Timestamp"]) for p in got] == [t0, t0 + 60], got
    for p, raw in zip(got, (minute0, minute1)):
        assert set(p["ExtendedStatistics"]) == set(pcts), p
        assert not any(k in p for k in BASIC), f"basic statistics not asked for: {p}"
        for name, v in p["ExtendedStatistics"].items():
            assert_percentile(v, raw, float(name[1:]), f"{what}, minute at {p['Timestamp']}")
    # One 120 s period merges both minutes (201 values).
    (p,) = stats(cw, ns, "Lat", t0, t0 + 120, 120, ExtendedStatistics=pcts)["Datapoints"]
    for name, v in p["ExtendedStatistics"].items():
        assert_percentile(v, minute0 + minute1, float(name[1:]), f"{what}, 120 s period")
    # The basic statistics of the same data stay exact.
    (p,) = stats(cw, ns, "Lat", t0, t0 + 120, 120, Statistics=list(BASIC))["Datapoints"]
    everything = minute0 + minute1
    assert (p["SampleCount"], p["Minimum"], p["Maximum"]) == (201.0, min(everything), max(everything)), what
    assert p["Sum"] == math.fsum(everything), what


def test_statistic_sets_hide_percentiles(cw):
    """AWS: percentiles need raw values; a statistic set only keeps them when its values are all
    equal (SampleCount 1 with Min = Max = Sum, or Min = Max and Sum = Min x SampleCount).
    Negative values make them unavailable too."""
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        # minute 0: raw values; minute 1: a set with distinct values; minute 2: equal-valued sets
        {"MetricName": "m", "Timestamp": at(t0), "Values": [1.0, 2.0, 3.0]},
        {"MetricName": "m", "Timestamp": at(t0 + 60),
         "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}},
        {"MetricName": "m", "Timestamp": at(t0 + 120),
         "StatisticValues": {"SampleCount": 1.0, "Sum": 7.0, "Minimum": 7.0, "Maximum": 7.0}},
        {"MetricName": "m", "Timestamp": at(t0 + 121),
         "StatisticValues": {"SampleCount": 3.0, "Sum": 21.0, "Minimum": 7.0, "Maximum": 7.0}},
        # minute 3: a negative raw value
        {"MetricName": "m", "Timestamp": at(t0 + 180), "Values": [-1.0, 5.0]},
    ])
    got = {epoch(p["Timestamp"]) - t0: p for p in
           stats(cw, ns, "m", t0, t0 + 240, 60, ExtendedStatistics=["p50"])["Datapoints"]}
    assert got[0]["ExtendedStatistics"]["p50"] == pytest.approx(2.0, rel=0.01), got[0]
    for minute in (60, 180):
        assert "p50" not in got.get(minute, {}).get("ExtendedStatistics", {}), got.get(minute)
    assert got[120]["ExtendedStatistics"]["p50"] == pytest.approx(7.0, rel=0.01), got[120]
    # A period that merges a raw minute with the distinct-valued set has no percentiles either.
    (p,) = stats(cw, ns, "m", t0, t0 + 120, 120, ExtendedStatistics=["p50", "p90"])["Datapoints"]
    assert not p.get("ExtendedStatistics"), p
    # The basic statistics of a statistic set are still there.
    got = points(stats(cw, ns, "m", t0 + 60, t0 + 120, 60, Statistics=list(BASIC)))
    assert [(p["SampleCount"], p["Sum"], p["Average"], p["Minimum"], p["Maximum"]) for p in got] == [
        (4.0, 10.0, 2.5, 1.0, 4.0)], got


# --------------------------------------------------------------------------------------------
# Units


def test_unit_filter(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": at(t0), "Value": 4.0, "Unit": "Milliseconds"},
        {"MetricName": "m", "Timestamp": at(t0 + 60), "Value": 8.0, "Unit": "Bytes"},
        {"MetricName": "m", "Timestamp": at(t0 + 120), "Value": 16.0},  # no unit: "None"
    ])
    def sums(**kw):
        return [(epoch(p["Timestamp"]) - t0, p["Unit"], p["Sum"])
                for p in points(stats(cw, ns, "m", t0, t0 + 180, 60, Statistics=["Sum"], **kw))]
    assert sums() == [(0, "Milliseconds", 4.0), (60, "Bytes", 8.0), (120, "None", 16.0)]
    assert sums(Unit="Milliseconds") == [(0, "Milliseconds", 4.0)]
    assert sums(Unit="Bytes") == [(60, "Bytes", 8.0)]
    assert sums(Unit="None") == [(120, "None", 16.0)]
    # No conversion between units: Seconds is not Milliseconds, Kilobytes is not Bytes.
    assert sums(Unit="Seconds") == []
    assert sums(Unit="Kilobytes") == []
    # GetMetricData with a unit in MetricStat filters the same way.
    resp = cw.get_metric_data(StartTime=at(t0), EndTime=at(t0 + 180), ScanBy="TimestampAscending",
                              MetricDataQueries=[
                                  {"Id": "b", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"},
                                                             "Period": 60, "Stat": "Sum", "Unit": "Bytes"}},
                                  {"Id": "s", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"},
                                                             "Period": 60, "Stat": "Sum", "Unit": "Seconds"}}])
    by_id = {r["Id"]: r for r in resp["MetricDataResults"]}
    assert ([epoch(t) for t in by_id["b"]["Timestamps"]], by_id["b"]["Values"]) == ([t0 + 60], [8.0])
    assert (by_id["s"]["Timestamps"], by_id["s"]["Values"]) == ([], [])


# --------------------------------------------------------------------------------------------
# High resolution


def test_high_resolution_data_in_sub_minute_periods(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    values = {s: float(s % 7) * 2.0 + 0.25 for s in range(40)}  # one value per second for 40 s
    datums = [{"MetricName": "hr", "Timestamp": at(t0 + s), "Value": v, "StorageResolution": 1}
              for s, v in values.items()]
    # A second value in second 3, 750 ms in: it belongs to second 3.
    datums.append({"MetricName": "hr", "Timestamp": at(t0 + 3.75), "Value": 100.0, "StorageResolution": 1})
    values_in = {s: [v] for s, v in values.items()}
    values_in[3].append(100.0)
    cw.put_metric_data(Namespace=ns, MetricData=datums)

    for period in (1, 5, 10, 20, 30, 60):
        got = points(stats(cw, ns, "hr", t0, t0 + 60, period, Statistics=list(BASIC)))
        starts = sorted({s // period * period for s in values_in})
        assert [epoch(p["Timestamp"]) - t0 for p in got] == starts, (period, got)
        for p in got:
            first = int(epoch(p["Timestamp"]) - t0)
            vs = [v for s in range(first, first + period) for v in values_in.get(s, [])]
            assert (p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) == (
                float(len(vs)), sum(vs), min(vs), max(vs)), (period, p)
            assert p["Average"] == sum(vs) / len(vs), (period, p)
    # Percentiles in 10 s periods.
    for p in stats(cw, ns, "hr", t0, t0 + 40, 10, ExtendedStatistics=["p50", "p100"])["Datapoints"]:
        first = int(epoch(p["Timestamp"]) - t0)
        vs = [v for s in range(first, first + 10) for v in values_in[s]]
        assert_percentile(p["ExtendedStatistics"]["p50"], vs, 50.0, f"10 s period at +{first}")
        assert_percentile(p["ExtendedStatistics"]["p100"], vs, 100.0, f"10 s period at +{first}")


def test_standard_resolution_datum_lands_in_its_minute(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": at(t0 + 7), "Value": 1.0, "StorageResolution": 60},
        {"MetricName": "m", "Timestamp": at(t0 + 59.5), "Value": 2.0},
        {"MetricName": "m", "Timestamp": at(t0 + 60), "Value": 4.0},
    ])
    got = points(stats(cw, ns, "m", t0, t0 + 120, 60, Statistics=["Sum"]))
    assert [(epoch(p["Timestamp"]) - t0, p["Sum"]) for p in got] == [(0, 3.0), (60, 4.0)]


# --------------------------------------------------------------------------------------------
# Validation: exact codes and HTTP 400


def test_put_metric_data_validation(cw, cw_unchecked):
    ns, now = unique("neph-metrics/"), time.time()
    ss = {"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0}

    def put(*datums, namespace=ns, client=cw):
        return lambda: client.put_metric_data(Namespace=namespace, MetricData=list(datums))

    combination = "InvalidParameterCombination"
    for datum in ({"MetricName": "m", "Value": 1.0, "StatisticValues": ss},
                  {"MetricName": "m", "Value": 1.0, "Values": [1.0]},
                  {"MetricName": "m", "StatisticValues": ss, "Values": [1.0]},
                  {"MetricName": "m"}):  # none of the three
        expect_error(put(datum), combination, exception="InvalidParameterCombinationException")
    # The second datum is the bad one: the whole batch is refused.
    msg = expect_error(put({"MetricName": "ok", "Value": 1.0}, {"MetricName": "m", "Value": 1.0, "StatisticValues": ss}),
                       combination)
    assert "MetricData.member.2" in msg, msg

    invalid = "InvalidParameterValue"
    msg = expect_error(put({"MetricName": "m", "Value": 1.0}, namespace="AWS/EC2"), invalid,
                       exception="InvalidParameterValueException")
    assert "Namespace" in msg, msg
    msg = expect_error(put({"MetricName": "m", "Value": 1.0, "StorageResolution": 5}), invalid)
    assert "StorageResolution" in msg, msg
    for ts in (now - 15 * 86400, now + 3 * 3600):
        msg = expect_error(put({"MetricName": "m", "Value": 1.0, "Timestamp": at(ts)}), invalid)
        assert "Timestamp" in msg, msg
    expect_error(put({"MetricName": "m", "Value": 1.0, "Unit": "Parsecs"}), invalid)
    expect_error(put({"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}), invalid)
    expect_error(put({"MetricName": "m", "Value": 2.0 ** 361}), invalid)
    expect_error(put({"MetricName": "m", "StatisticValues": {"SampleCount": 0.0, "Sum": 0.0,
                                                             "Minimum": 0.0, "Maximum": 0.0}}), invalid)
    expect_error(put({"MetricName": "m", "Value": 1.0, "Dimensions": [{"Name": f"d{i}", "Value": "v"}
                                                                      for i in range(31)]}), invalid)
    expect_error(put({"MetricName": "m" * 256, "Value": 1.0}, client=cw_unchecked), invalid)

    missing = "MissingParameter"
    msg = expect_error(lambda: cw_unchecked.put_metric_data(MetricData=[{"MetricName": "m", "Value": 1.0}]),
                       missing, exception="MissingRequiredParameterException")
    assert "Namespace" in msg, msg
    msg = expect_error(put({"Value": 1.0}, client=cw_unchecked), missing)
    assert "MetricName" in msg, msg

    # Nothing of any refused batch was stored.
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []
    # The edges that are allowed: 13 days old, 1 hour ahead, +-2^360.
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "edge", "Value": 1.0, "Timestamp": at(now - 13 * 86400)},
        {"MetricName": "edge", "Value": 2.0, "Timestamp": at(now + 3600)},
        {"MetricName": "big", "Values": [2.0 ** 360, -(2.0 ** 360)]},
    ])
    assert sorted(m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]) == ["big", "edge"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["NaN", "Infinity", "-Infinity"])
def test_put_metric_data_non_finite_value_is_invalid_parameter_value(cw, value):
    """MetricDatum.Value (model doc): "special values (for example, NaN, +Infinity, -Infinity) are
    not supported." AWS answers InvalidParameterValue ("The value NaN for parameter
    MetricData.member.1.Value is invalid."). botocore's JSON serializer sends these as the strings
    "NaN"/"Infinity"/"-Infinity", as the awsJson1_0 protocol prescribes for non-finite doubles."""
    ns = unique("neph-metrics/")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": value}]),
                 "InvalidParameterValue")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Values": [1.0, value]}]),
                 "InvalidParameterValue")


def test_put_metric_data_more_than_150_values_is_invalid(cw):
    """MetricDatum.Values (model doc): "You can include up to 150 unique values in each
    PutMetricData action that specifies a Values array." AWS answers InvalidParameterValue
    ("The collection MetricData.member.1.Values must not have a size greater than 150.")."""
    ns = unique("neph-metrics/")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "ok", "Values": [float(i) for i in range(150)]}])
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Values": [float(i) for i in range(151)]}]), "InvalidParameterValue")


def test_put_metric_data_more_than_1000_metrics_is_invalid(cw):
    """PutMetricData.MetricData (model doc): "The array can include no more than 1000 metrics per call."."""
    ns = unique("neph-metrics/")
    batch = [{"MetricName": f"m{i:04d}", "Value": 1.0} for i in range(1001)]
    cw.put_metric_data(Namespace=ns, MetricData=batch[:1000])
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=batch), "InvalidParameterValue")


def test_get_metric_statistics_validation(cw, cw_unchecked):
    ns, t0 = unique("neph-metrics/"), base_time()

    def gms(client=cw, **kw):
        args = {"Namespace": ns, "MetricName": "m", "StartTime": at(t0), "EndTime": at(t0 + 3600),
                "Period": 60, "Statistics": ["Sum"]}
        args.update(kw)
        return lambda: client.get_metric_statistics(**{k: v for k, v in args.items() if v is not None})

    invalid = "InvalidParameterValue"
    for period in (7, 45, 90, 61):
        msg = expect_error(gms(Period=period), invalid, exception="InvalidParameterValueException")
        assert "Period" in msg, msg
    expect_error(gms(client=cw_unchecked, Period=0), invalid)
    msg = expect_error(gms(StartTime=at(t0 + 3600), EndTime=at(t0)), invalid)
    assert "StartTime" in msg, msg
    expect_error(gms(StartTime=at(t0), EndTime=at(t0)), invalid)
    expect_error(gms(client=cw_unchecked, Statistics=["Median"]), invalid)
    expect_error(gms(Statistics=None, ExtendedStatistics=["p101"]), invalid)
    # Malformed range statistics are refused by name (well-formed ones are computed: see
    # test_range_statistics_match_exact_values).
    for stat in ("tm101", "TM(:)", "TM(x:1)", "PR(10%:90%)"):
        msg = expect_error(gms(Statistics=None, ExtendedStatistics=[stat]), invalid)
        assert stat in msg, msg

    combination = "InvalidParameterCombination"
    expect_error(gms(ExtendedStatistics=["p99"]), combination, exception="InvalidParameterCombinationException")
    # 1,441 one-minute points; 1,440 is the limit and allowed.
    msg = expect_error(gms(StartTime=at(t0 - 86400), EndTime=at(t0 + 60)), combination)
    assert "1,440" in msg or "1440" in msg, msg
    assert stats(cw, ns, "m", t0 - 86400 + 60, t0 + 60, 60, Statistics=["Sum"])["Datapoints"] == []
    expect_error(gms(Period=1, StartTime=at(t0), EndTime=at(t0 + 1441)), combination)

    missing = "MissingParameter"
    # The API reference lists MissingParameter ("An input parameter that is required is
    # missing") for GetMetricStatistics; neither Statistics nor ExtendedStatistics is that case.
    expect_error(gms(Statistics=None), missing, exception="MissingRequiredParameterException")
    msg = expect_error(gms(client=cw_unchecked, MetricName=None), missing)
    assert "MetricName" in msg, msg
    expect_error(gms(client=cw_unchecked, StartTime=None), missing)


def test_get_metric_data_and_list_metrics_validation(cw, cw_unchecked):
    ns, t0 = unique("neph-metrics/"), base_time()
    metric = {"Namespace": ns, "MetricName": "m"}

    def gmd(*queries, client=cw):
        return lambda: client.get_metric_data(StartTime=at(t0), EndTime=at(t0 + 600), MetricDataQueries=list(queries))

    # A SEARCH call inside math whose string is not closed is refused, naming SEARCH.
    msg = expect_error(gmd({"Id": "e", "Expression": "SUM(SEARCH('{%s} MetricName=\"m\", 'Sum', 60))" % ns,
                            "Period": 60}), "InvalidParameterValue")
    assert "SEARCH" in msg, msg
    # Metrics Insights SQL outside its grammar is refused by name.
    msg = expect_error(gmd({"Id": "e", "Expression": f'SELECT MEDIAN(m) FROM "{ns}"', "Period": 60}),
                       "InvalidParameterValue")
    assert "MEDIAN" in msg, msg
    expect_error(gmd({"Id": "a", "MetricStat": {"Metric": metric, "Period": 7, "Stat": "Sum"}}), "InvalidParameterValue")
    expect_error(gmd({"Id": "a", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Median"}}),
                 "InvalidParameterValue")
    expect_error(gmd({"MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}, client=cw_unchecked),
                 "MissingParameter")
    expect_error(lambda: cw_unchecked.list_metrics(RecentlyActive="PT1H"), "InvalidParameterValue")
    expect_error(lambda: cw.list_metrics(NextToken="not-a-token"), "InvalidNextToken",
                 exception="InvalidNextToken")


# --------------------------------------------------------------------------------------------
# gzip, ListMetrics, GetMetricData, accounts


def test_gzipped_batch_of_400_datums_is_stored(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    seen = {}

    def capture(request, **_):
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen["content-encoding"] = headers.get("content-encoding")

    cw.meta.events.register("before-send.cloudwatch.PutMetricData", capture)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": f"metric-{i:03d}", "Dimensions": dims(Host=f"host-{i % 7}"), "Timestamp": at(t0),
         "Value": float(i), "Unit": "Count"} for i in range(400)])
    assert seen["content-encoding"] == "gzip", "premise: botocore compresses bodies >= 10 KiB"
    listed = list(cw.get_paginator("list_metrics").paginate(Namespace=ns))
    names = sorted(m["MetricName"] for page in listed for m in page["Metrics"])
    assert names == [f"metric-{i:03d}" for i in range(400)]
    for i in (0, 123, 399):
        got = stats(cw, ns, f"metric-{i:03d}", t0, t0 + 60, 60, dims(Host=f"host-{i % 7}"), Statistics=["Sum"])
        assert [p["Sum"] for p in got["Datapoints"]] == [float(i)]


def test_list_metrics_filters(cw):
    ns, other = unique("neph-metrics/"), unique("neph-metrics/")
    t = time.time() - 60
    def datum(name, **kv):
        return {"MetricName": name, "Dimensions": dims(**kv), "Value": 1.0, "Timestamp": at(t)}
    cw.put_metric_data(Namespace=ns, MetricData=[
        datum("cpu", Host="a", AZ="z1"), datum("cpu", Host="b", AZ="z1"), datum("cpu", Host="a"),
        datum("mem", Host="a", AZ="z2"), datum("disk"),
        datum("cpu", AZ="z1", Host="a"),  # same metric as the first one: dimension order is irrelevant
    ])
    cw.put_metric_data(Namespace=other, MetricData=[datum("cpu", Host="a")])

    def listed(**kw):
        out = []
        for page in cw.get_paginator("list_metrics").paginate(**kw):
            for m in page["Metrics"]:
                out.append((m["Namespace"], m["MetricName"], tuple(sorted((d["Name"], d["Value"])
                                                                          for d in m["Dimensions"]))))
        assert len(out) == len(set(out)), f"duplicates: {out}"
        return sorted(out)

    everything = [
        (ns, "cpu", (("AZ", "z1"), ("Host", "a"))), (ns, "cpu", (("AZ", "z1"), ("Host", "b"))),
        (ns, "cpu", (("Host", "a"),)), (ns, "disk", ()), (ns, "mem", (("AZ", "z2"), ("Host", "a"))),
    ]
    assert listed(Namespace=ns) == everything
    assert listed(Namespace=ns, MetricName="cpu") == everything[:3]
    assert listed(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "a"}]) == [
        everything[0], everything[2], everything[4]]
    # A filter with a name only matches any value of that dimension.
    assert listed(Namespace=ns, Dimensions=[{"Name": "AZ"}]) == [everything[0], everything[1], everything[4]]
    assert listed(Namespace=ns, Dimensions=[{"Name": "AZ", "Value": "z1"}, {"Name": "Host"}]) == everything[:2]
    assert listed(Namespace=ns, MetricName="cpu", Dimensions=[{"Name": "AZ", "Value": "z2"}]) == []
    assert listed(Namespace=ns, Dimensions=[{"Name": "Rack"}]) == []
    assert listed(Namespace=ns, MetricName="nope") == []
    # Without a namespace: both namespaces' "cpu" with Host=a only.
    both = listed(MetricName="cpu", Dimensions=[{"Name": "Host", "Value": "a"}])
    assert [m for m in both if m[0] in (ns, other)] == sorted(
        [everything[0], everything[2], (other, "cpu", (("Host", "a"),))])
    # Data published just now is recently active. (Whether "published in the past three hours"
    # means the time of the call or the data point's timestamp, the documentation does not say:
    # data sent now with an old timestamp is not checked here.)
    assert listed(Namespace=ns, RecentlyActive="PT3H") == everything


def test_list_metrics_pages_of_500(cw):
    ns = unique("neph-metrics/")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"m{i:04d}", "Value": 1.0} for i in range(1000)])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"m{i:04d}", "Value": 1.0} for i in range(1000, 1001)])
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and first.get("NextToken"), len(first["Metrics"])
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 500 and second.get("NextToken"), len(second["Metrics"])
    third = cw.list_metrics(Namespace=ns, NextToken=second["NextToken"])
    assert len(third["Metrics"]) == 1 and not third.get("NextToken"), third
    names = [m["MetricName"] for page in (first, second, third) for m in page["Metrics"]]
    assert sorted(names) == [f"m{i:04d}" for i in range(1001)], "every metric exactly once"


def test_get_metric_data_order_labels_and_return_data(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    d = dims(Host="web-1")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "req", "Dimensions": d, "Timestamp": at(t0 + 60 * m + s), "Value": float(m + 1) * 2.0}
        for m in range(5) for s in (0, 30)] + [
        {"MetricName": "err", "Dimensions": d, "Timestamp": at(t0 + 120), "Value": 1.0},
    ])
    req = {"Namespace": ns, "MetricName": "req", "Dimensions": d}
    err = {"Namespace": ns, "MetricName": "err", "Dimensions": d}
    queries = [
        {"Id": "total", "Label": "Requests per minute", "MetricStat": {"Metric": req, "Period": 60, "Stat": "Sum"}},
        {"Id": "peak", "MetricStat": {"Metric": req, "Period": 120, "Stat": "Maximum"}},
        {"Id": "median", "MetricStat": {"Metric": req, "Period": 60, "Stat": "p50"}},
        {"Id": "hidden", "ReturnData": False, "MetricStat": {"Metric": err, "Period": 60, "Stat": "Sum"}},
        {"Id": "errors", "MetricStat": {"Metric": err, "Period": 60, "Stat": "SampleCount"}},
    ]
    def call(**kw):
        resp = cw.get_metric_data(StartTime=at(t0), EndTime=at(t0 + 300), MetricDataQueries=queries, **kw)
        assert not resp.get("NextToken"), resp
        return {r["Id"]: r for r in resp["MetricDataResults"]}, [r["Id"] for r in resp["MetricDataResults"]]

    asc, ids = call(ScanBy="TimestampAscending")
    assert ids == ["total", "peak", "median", "errors"], "ReturnData false leaves a query out"
    assert asc["total"]["Label"] == "Requests per minute"
    assert asc["peak"]["Label"] == "req" and asc["errors"]["Label"] == "err", "default label: metric name"
    assert [epoch(t) for t in asc["total"]["Timestamps"]] == [t0 + 60 * m for m in range(5)]
    assert asc["total"]["Values"] == [4.0 * (m + 1) for m in range(5)]
    assert [epoch(t) for t in asc["peak"]["Timestamps"]] == [t0, t0 + 120, t0 + 240]
    assert asc["peak"]["Values"] == [4.0, 8.0, 10.0]
    for v, m in zip(asc["median"]["Values"], range(5)):
        assert v == pytest.approx(2.0 * (m + 1), rel=0.01)
    assert ([epoch(t) for t in asc["errors"]["Timestamps"]], asc["errors"]["Values"]) == ([t0 + 120], [1.0])
    for r in asc.values():
        assert r["StatusCode"] == "Complete", r
        assert len(r["Timestamps"]) == len(r["Values"]), r

    # TimestampDescending is the default, and the same answer reversed.
    for kw in ({}, {"ScanBy": "TimestampDescending"}):
        desc, ids = call(**kw)
        assert ids == ["total", "peak", "median", "errors"]
        for i, r in desc.items():
            assert r["Timestamps"] == asc[i]["Timestamps"][::-1], (kw, i)
            assert r["Values"] == asc[i]["Values"][::-1], (kw, i)


def test_accounts_are_isolated(alice_server):
    dev = boto_client(alice_server, "cloudwatch")
    alice = boto_client(alice_server, "cloudwatch", access_key=ALICE_ACCESS_KEY, secret_key=ALICE_SECRET_KEY)
    ns, t0 = unique("neph-metrics/"), base_time()
    dev.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "shared", "Timestamp": at(t0), "Value": 1.0},
        {"MetricName": "dev-only", "Timestamp": at(t0), "Value": 1.0}])
    alice.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "shared", "Timestamp": at(t0), "Value": 100.0}])

    def names(client):
        return sorted(m["MetricName"] for m in client.list_metrics(Namespace=ns)["Metrics"])
    assert names(dev) == ["dev-only", "shared"]
    assert names(alice) == ["shared"]
    for client, want in ((dev, [1.0]), (alice, [100.0])):
        got = stats(client, ns, "shared", t0, t0 + 60, 60, Statistics=["Sum", "SampleCount"])["Datapoints"]
        assert [(p["Sum"], p["SampleCount"]) for p in got] == [(want[0], 1.0)]
    assert stats(alice, ns, "dev-only", t0, t0 + 60, 60, Statistics=["Sum"])["Datapoints"] == []
    resp = alice.get_metric_data(StartTime=at(t0), EndTime=at(t0 + 60), MetricDataQueries=[
        {"Id": "d", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "dev-only"}, "Period": 60,
                                   "Stat": "Sum"}}])
    assert resp["MetricDataResults"][0]["Values"] == []


def test_start_time_is_rounded_down(cw):
    """GetMetricStatistics StartTime (API reference): a start less than 15 days ago is rounded
    down to the whole minute; with a Period of 5, 10, 20 or 30 seconds, down to that division of
    the minute. StartTime is inclusive, EndTime exclusive."""
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": at(t0 + s), "Value": float(s), "StorageResolution": 1}
        for s in (5, 21, 25, 62, 95)])

    def got(start, end, period):
        return [(epoch(p["Timestamp"]) - t0, p["Sum"])
                for p in points(stats(cw, ns, "m", start, end, period, Statistics=["Sum"]))]

    # 34 s into the minute: the minute from t0 is still returned whole.
    assert got(t0 + 34, t0 + 120, 60) == [(0, 51.0), (60, 157.0)]
    # Period 10 from t0+23: rounded down to t0+20.
    assert got(t0 + 23, t0 + 70, 10) == [(20, 46.0), (60, 62.0)]
    # Period 300 from t0+90: rounded down to t0+60, periods counted from there.
    assert got(t0 + 90, t0 + 400, 300) == [(60, 157.0)]


def test_get_metric_data_metric_math_over_a_hidden_query(cw):
    """A math expression over a MetricStat query that is not returned itself."""
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "req", "Timestamp": at(t0 + 60 * m), "Value": float(m + 1)} for m in range(3)])
    resp = cw.get_metric_data(StartTime=at(t0), EndTime=at(t0 + 180), ScanBy="TimestampAscending",
                              MetricDataQueries=[
                                  {"Id": "req", "ReturnData": False,
                                   "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "req"}, "Period": 60,
                                                  "Stat": "Sum"}},
                                  {"Id": "twice", "Expression": "req * 2", "Label": "double"}])
    (r,) = resp["MetricDataResults"]
    assert (r["Id"], r["Label"]) == ("twice", "double"), r
    assert [epoch(t) for t in r["Timestamps"]] == [t0, t0 + 60, t0 + 120], r
    assert r["Values"] == [2.0, 4.0, 6.0], r


def test_range_statistics_match_exact_values(cw):
    """tm/wm/tc/ts, TM(a%:b%), TM(abs:abs), PR and IQM over raw values, against the definitions
    computed exactly here (lower bound exclusive, upper inclusive; percent bounds are the values
    at those percentiles), within the sketch's 1 % relative error."""
    ns, t0 = unique("neph-metrics/"), base_time()
    values = [float(v) for v in range(1, 201)]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "lat", "Timestamp": at(t0 + 5), "Values": values[i:i + 100]} for i in (0, 100)])

    def pct(p):
        s = sorted(values)
        return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]

    def within(lo, hi, lo_inclusive=False):
        return [v for v in values if (v > lo or (lo_inclusive and v >= lo)) and v <= hi]

    inf = float("inf")
    expected = {
        "tm90": sum(within(-inf, pct(90))) / len(within(-inf, pct(90))),
        "TM(10%:90%)": sum(within(pct(10), pct(90))) / len(within(pct(10), pct(90))),
        "TM(50:150)": sum(within(50, 150)) / len(within(50, 150)),
        "tc90": len(within(-inf, pct(90))),
        "ts90": sum(within(-inf, pct(90))),
        "PR(:50)": 100 * len(within(-inf, 50)) / len(values),
        "IQM": sum(within(pct(25), pct(75))) / len(within(pct(25), pct(75))),
        "wm90": sum(min(v, pct(90)) for v in values) / len(values),
    }
    got = stats(cw, ns, "lat", t0, t0 + 60, 60, ExtendedStatistics=list(expected))["Datapoints"]
    assert len(got) == 1, got
    ext = got[0]["ExtendedStatistics"]
    for name, want in expected.items():
        # Bucketed values: counts and ranks may differ by the values that share a bucket with a
        # bound (±2 % of 200 values); means and sums by the 1 % relative value error.
        tol = 0.03 * abs(want) + 2.0 if name.startswith(("tc", "PR")) else 0.02 * abs(want)
        assert abs(ext[name] - want) <= tol, (name, ext[name], want)


def test_search_expression_returns_one_series_per_metric(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    for host, v in (("h1", 10.0), ("h2", 30.0)):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": dims(Host=host), "Value": v, "Timestamp": at(t0 + 5)},
            {"MetricName": "Requests", "Dimensions": dims(Host=host), "Value": 1.0, "Timestamp": at(t0 + 5)},
        ])
    resp = cw.get_metric_data(
        StartTime=at(t0), EndTime=at(t0 + 300),
        MetricDataQueries=[
            {"Id": "s", "Expression": "SEARCH('{%s,Host} cpu', 'Average', 60)" % ns, "ReturnData": False},
            {"Id": "total", "Expression": "SUM(s)", "Label": "all hosts"},
            {"Id": "each", "Expression": "SEARCH('{%s,Host} MetricName=\"CPUUtilization\" NOT h2', 'Maximum', 60)" % ns},
        ])
    got = {(r["Id"], r["Label"]): r["Values"] for r in resp["MetricDataResults"]}
    assert got == {("total", "all hosts"): [40.0], ("each", "h1"): [10.0]}, got

    # SEARCH inside math, as dashboards write it: no separate query needed.
    search = "SEARCH('{%s,Host} MetricName=\"CPUUtilization\"', 'Average', 60)" % ns
    resp = cw.get_metric_data(
        StartTime=at(t0), EndTime=at(t0 + 300),
        MetricDataQueries=[
            {"Id": "total", "Expression": f"SUM({search})", "Label": "all hosts"},
            {"Id": "pct", "Expression": f"100 * {search} / SUM({search})"},
            {"Id": "peak", "Expression": "MAX(SEARCH('{%s,Host} cpu OR requests', 'Sum', 60)) + 0" % ns},
        ])
    got = {(r["Id"], r["Label"]): r["Values"] for r in resp["MetricDataResults"]}
    assert got == {("total", "all hosts"): [40.0], ("pct", "h1"): [25.0], ("pct", "h2"): [75.0],
                   ("peak", "peak"): [30.0]}, got


def test_metrics_insights_sql_groups_orders_and_limits(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    rows = [("i-1", "a", 10.0), ("i-2", "a", 30.0), ("i-3", "b", 50.0)]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "CPU", "Dimensions": dims(InstanceId=i, Az=az), "Value": v, "Timestamp": at(t0 + 5)}
        for i, az, v in rows])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "CPU", "Value": 99.0, "Timestamp": at(t0 + 5)}])

    def run(sql):
        resp = cw.get_metric_data(StartTime=at(t0), EndTime=at(t0 + 300),
                                  MetricDataQueries=[{"Id": "q", "Expression": sql, "Period": 60}])
        return [(r["Label"], r["Values"]) for r in resp["MetricDataResults"]]

    assert run(f'SELECT AVG(CPU) FROM "{ns}" GROUP BY Az ORDER BY AVG() DESC') == \
        [("Other", [99.0]), ("b", [50.0]), ("a", [20.0])]
    assert run(f'SELECT MAX(CPU) FROM SCHEMA("{ns}", InstanceId, Az) WHERE Az = \'a\'') == [("q", [30.0])]
    assert run(f'SELECT SUM(CPU) FROM SCHEMA("{ns}")') == [("q", [99.0])]
    assert run(f'SELECT COUNT(CPU) FROM "{ns}" WHERE Az != \'a\' GROUP BY InstanceId LIMIT 1') == [("Other", [1.0])]



def test_get_metric_data_pages_with_max_datapoints_and_next_token(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": n, "Value": float(i), "Timestamp": at(t0 + 60 * i + 5)} for n in ("a", "b") for i in range(5)])
    queries = [{"Id": n, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": n}, "Period": 60, "Stat": "Sum"}}
               for n in ("a", "b")]
    got, pages, token = {}, 0, None
    while True:
        kw = {"NextToken": token} if token else {}
        resp = cw.get_metric_data(MetricDataQueries=queries, StartTime=at(t0), EndTime=at(t0 + 600),
                                  MaxDatapoints=3, ScanBy="TimestampAscending", **kw)
        pages += 1
        assert sum(len(r["Values"]) for r in resp["MetricDataResults"]) <= 3, resp
        for r in resp["MetricDataResults"]:
            got.setdefault(r["Id"], []).extend(r["Values"])
        token = resp.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert got == {"a": [0.0, 1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 2.0, 3.0, 4.0]}
    assert pages == 4


def test_get_metric_data_next_token_pages_one_answer(cw):
    """Later pages are slices of the answer computed for the first page (data published in
    between does not shift them); a token whose answer is gone is answered afresh."""
    ns, t0 = unique("neph-metrics/"), base_time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "a", "Value": float(i), "Timestamp": at(t0 + 60 * i + 5)} for i in range(5)])
    query = dict(MetricDataQueries=[{"Id": "a", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "a"},
                                                             "Period": 60, "Stat": "Sum"}}],
                 StartTime=at(t0), EndTime=at(t0 + 600), MaxDatapoints=2, ScanBy="TimestampAscending")
    first = cw.get_metric_data(**query)
    values, token = list(first["MetricDataResults"][0]["Values"]), first["NextToken"]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "a", "Value": 100.0 + i, "Timestamp": at(t0 + 60 * i + 5)} for i in range(5, 9)])
    while token:
        resp = cw.get_metric_data(NextToken=token, **query)
        values += resp["MetricDataResults"][0]["Values"]
        token = resp.get("NextToken")
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0]
    fresh = cw.get_metric_data(**query)
    assert fresh["MetricDataResults"][0]["Values"] == [0.0, 1.0]
    stale = cw.get_metric_data(NextToken="2.999999999", **query)
    assert stale["MetricDataResults"][0]["Values"] == [2.0, 3.0]
    for bad in ("x", "2.y", "-1"):
        expect_error(lambda: cw.get_metric_data(NextToken=bad, **query), "InvalidNextToken",
                     exception="InvalidNextToken")


def test_dynamic_labels_and_label_options(cw):
    ns, t0 = unique("neph-metrics/"), base_time()
    for host, vals in (("h1", [4.0, 1.0, 7.5, 2.5]), ("h2", [10.0, 20.0])):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Latency", "Dimensions": dims(Host=host, Stage="prod"), "Value": v,
             "Timestamp": at(t0 + 60 * i + 5)} for i, v in enumerate(vals)])
    stat = {"Metric": {"Namespace": ns, "MetricName": "Latency", "Dimensions": dims(Host="h1", Stage="prod")},
            "Period": 60, "Stat": "Maximum"}
    queries = [
        {"Id": "m1", "MetricStat": stat,
         "Label": "${PROP('Dim.Host')} ${PROP('Stat')} avg=${AVG} max=${MAX} n=${DATAPOINT_COUNT} last=${LAST}"},
        {"Id": "s", "Expression": f"SEARCH('{{{ns},Host,Stage}} MetricName=\"Latency\"', 'Sum', 60)",
         "Label": "${PROP('Dim.Host')}/${PROP('MetricName')} sum=${SUM} period=${PROP('Period')}"},
        {"Id": "e", "Expression": "m1 * 2", "Label": "${LABEL} doubled: ${MIN}..${MAX}"},
        {"Id": "t", "MetricStat": stat, "Label": "peak at ${MAX_TIME}"},
    ]
    # MaxDatapoints pages the values; the labels still describe the whole range.
    resp = cw.get_metric_data(MetricDataQueries=queries, StartTime=at(t0), EndTime=at(t0 + 600),
                              LabelOptions={"Timezone": "+0130"}, MaxDatapoints=100)
    labels = {(r["Id"], r["Label"]) for r in resp["MetricDataResults"]}
    peak = datetime.datetime.fromtimestamp(t0 + 120, datetime.timezone(datetime.timedelta(hours=1, minutes=30)))
    assert labels == {
        ("m1", "h1 Maximum avg=3.75 max=7.5 n=4 last=2.5"),
        ("s", "h1/Latency sum=15 period=60"),
        ("s", "h2/Latency sum=30 period=60"),
        ("e", "Latency doubled: 2..15"),  # the default label math carries over
        ("t", f"peak at {peak.isoformat()}"),
    }, labels
    for bad in ({"Timezone": "UTC"}, {"Timezone": "+2400"}):
        msg = expect_error(lambda: cw.get_metric_data(
            MetricDataQueries=queries[:1], StartTime=at(t0), EndTime=at(t0 + 600), LabelOptions=bad),
            "InvalidParameterValue")
        assert "LabelOptions.Timezone" in msg, msg
    msg = expect_error(lambda: cw.get_metric_data(
        MetricDataQueries=[dict(queries[0], Label="x ${NOT_A_VALUE}")], StartTime=at(t0), EndTime=at(t0 + 600)),
        "InvalidParameterValue")
    assert "NOT_A_VALUE" in msg, msg


def test_anomaly_detection_band_from_hour_of_day_history(cw):
    """ANOMALY_DETECTION_BAND: mean ± k·sd of the metric per UTC hour of day over the two weeks
    before StartTime (docs/compatibility.md); too little history gives an empty band and a
    message; other uses of the function are refused naming it."""
    ns = unique("neph-metrics/")
    start = int(time.time()) // 3600 * 3600 - 3 * 3600
    rng = random.Random(7)
    history = []  # three days of 5-minute values before `start`, shaped by hour of day
    for t in range(start - 3 * 86400, start, 300):
        history.append((t, 100.0 + (t % 86400) // 3600 * 10 + rng.uniform(-5, 5)))
    for i in range(0, len(history), 500):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Latency", "Value": v, "Timestamp": at(t)} for t, v in history[i:i + 500]])
    stat = {"Metric": {"Namespace": ns, "MetricName": "Latency"}, "Period": 300, "Stat": "Average"}
    resp = cw.get_metric_data(MetricDataQueries=[
        {"Id": "m1", "MetricStat": stat},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 3)"},
    ], StartTime=at(start), EndTime=at(start + 3 * 3600), ScanBy="TimestampAscending")
    band = [r for r in resp["MetricDataResults"] if r["Id"] == "ad1"]
    assert [r["Label"] for r in band] == ["Latency Upper", "Latency Lower"], band
    upper, lower = band
    assert len(upper["Timestamps"]) == 36 and upper["Timestamps"] == lower["Timestamps"]
    by_hour: dict[int, list[float]] = {}
    for t, v in history:
        by_hour.setdefault((t % 86400) // 3600, []).append(v)
    for ts, up, low in zip(upper["Timestamps"], upper["Values"], lower["Values"]):
        vs = by_hour[(int(epoch(ts)) % 86400) // 3600]
        mean = sum(vs) / len(vs)
        sd = math.sqrt(sum((v - mean) ** 2 for v in vs) / len(vs))
        assert math.isclose(up, mean + 3 * sd, rel_tol=1e-9) and math.isclose(low, mean - 3 * sd, rel_tol=1e-9)
    # No history before the start: no model.
    empty = cw.get_metric_data(MetricDataQueries=[
        {"Id": "m1", "MetricStat": stat, "ReturnData": False},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1)"},
    ], StartTime=at(start - 3 * 86400 - 3600), EndTime=at(start))
    assert [len(r["Values"]) for r in empty["MetricDataResults"]] == [0, 0]
    assert empty["MetricDataResults"][0]["Messages"][0]["Code"] == "InsufficientData"
    for bad in ("ANOMALY_DETECTION_BAND(m1) * 2", "ANOMALY_DETECTION_BAND(m1, -1)", "ANOMALY_DETECTION_BAND(e1)"):
        queries = [{"Id": "m1", "MetricStat": stat}, {"Id": "ad1", "Expression": bad}]
        if bad.endswith("(e1)"):
            queries.append({"Id": "e1", "Expression": "m1 * 2"})
        msg = expect_error(lambda: cw.get_metric_data(MetricDataQueries=queries, StartTime=at(start),
                                                      EndTime=at(start + 3600)), "InvalidParameterValue")
        assert "ANOMALY_DETECTION_BAND" in msg, msg


def test_put_metric_data_entity_metric_data(cw):
    """EntityMetricData's metrics are stored like MetricData's; an invalid entity fails the call
    when StrictEntityValidation is true and is reported in X-Amzn-Failure-Message when false."""
    ns, t0 = unique("neph-metrics/"), base_time()
    service = {"KeyAttributes": {"Type": "Service", "Name": "checkout", "Environment": "prod"},
               "Attributes": {"team": "payments"}}

    def entity(e, value):
        return [{"Entity": e, "MetricData": [{"MetricName": "Orders", "Value": value, "Timestamp": at(t0 + 5)}]}]

    resp = cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Orders", "Value": 1.0, "Timestamp": at(t0 + 5)}],
                              EntityMetricData=entity(service, 2.0), StrictEntityValidation=True)
    assert "x-amzn-failure-message" not in resp["ResponseMetadata"]["HTTPHeaders"]
    bad = {"KeyAttributes": {"Type": "Service", "Name": "checkout"}}  # Environment missing
    msg = expect_error(lambda: cw.put_metric_data(Namespace=ns, EntityMetricData=entity(bad, 100.0),
                                                  StrictEntityValidation=True), "InvalidParameterValue")
    assert "MissingRequiredFields" in msg, msg
    resp = cw.put_metric_data(Namespace=ns, EntityMetricData=entity(bad, 4.0), StrictEntityValidation=False)
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-failure-message"] == "MissingRequiredFields"
    odd = {"KeyAttributes": {"Type": "Database", "Name": "x"}}
    resp = cw.put_metric_data(Namespace=ns, EntityMetricData=entity(odd, 8.0), StrictEntityValidation=False)
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-failure-message"] == "InvalidTypeValue"
    expect_error(lambda: cw.put_metric_data(Namespace=ns, EntityMetricData=entity(service, 1.0)),
                 "MissingParameter")
    got = stats(cw, ns, "Orders", t0, t0 + 60, 60, Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(d["Sum"], d["SampleCount"]) for d in got] == [(15.0, 4.0)], got
