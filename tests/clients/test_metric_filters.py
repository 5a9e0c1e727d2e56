"""Metric filters end to end: PutMetricFilter on a log group, PutLogEvents, then the metrics in
GetMetricStatistics / ListMetrics; DescribeMetricFilters, DeleteMetricFilter, TestMetricFilter,
the 100-filters-per-group quota and DescribeLogGroups' metricFilterCount.

What AWS documents (botocore's logs model; CloudWatch Logs user guide "Creating metrics from log
events using filters", "Filter pattern syntax"; surface reference §4):
- PutMetricFilter "Creates or updates a metric filter and associates it with the specified log
  group"; "You can have up to 100 metric filters per log group" -> LimitExceededException.
- "Metric filters ... only [apply to] log events ingested after the filter was created" ("Filters
  do not retroactively filter data").
- metricValue: a number, or `$name` / `$.selector` of the matched event; dimensions map a name to
  `$name` / `$.selector`; unit defaults to None.
- defaultValue: "The value to emit when a filter pattern does not match a log event". The user
  guide words it per period ("reported ... during a period when logs are ingested but no
  matching logs are found"), so the SampleCount of a minute that also has matches is accepted
  under either reading; the Sum is the same under both.
- TestMetricFilter returns the matching messages (1-based eventNumber) with `extractedValues`
  keyed `$field` for space-delimited patterns.

Metrics are published asynchronously in AWS: they are polled with a deadline, and the absence of
a metric is judged only after a metric from the same or a later PutLogEvents has appeared.
"""

from __future__ import annotations

import datetime
import time

import pytest
from botocore.exceptions import ClientError

from support import boto_client, now_ms, unique, wait_for

UTC = datetime.timezone.utc
SPACE_PATTERN = "[ip, user, status=5*, bytes]"
JSON_PATTERN = "{ $.latency > 100 }"


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


@pytest.fixture(scope="module")
def cw(server):
    return boto_client(server, "cloudwatch")


def at(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, UTC)


def expect_error(code: str, call, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    assert err["Code"] == code, f"{call.__name__}({repr(kwargs)[:300]}) -> {err}"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, info.value.response
    return info.value


def new_group(logs) -> tuple[str, str]:
    group = f"/neph/metric-filters/{unique()}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    return group, "s"


def put_events(logs, group: str, stream: str, minute: int, lines: list[str]) -> None:
    """The lines as events one second apart from `minute` + 1 s (all inside that minute)."""
    assert len(lines) < 59
    resp = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": (minute + 1 + i) * 1000, "message": m} for i, m in enumerate(lines)])
    assert not resp.get("rejectedLogEventsInfo"), resp


def metric_filter_count(logs, group: str) -> int:
    found = [g for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
             if g["logGroupName"] == group]
    assert len(found) == 1, found
    return found[0]["metricFilterCount"]


def points(cw, ns: str, name: str, start: int, end: int, dims: dict | None = None) -> list[tuple]:
    """(minute, SampleCount, Sum, Minimum, Maximum, Unit) per 1-minute datapoint, in time order."""
    resp = cw.get_metric_statistics(
        Namespace=ns, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in (dims or {}).items()],
        StartTime=at(start), EndTime=at(end), Period=60,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])
    return sorted((int(p["Timestamp"].timestamp()), p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"],
                   p["Unit"]) for p in resp["Datapoints"])


def wait_points(cw, ns, name, start, end, dims=None, *, samples: float) -> list[tuple]:
    """points(), polled until they hold at least `samples` samples."""
    return wait_for(lambda: points(cw, ns, name, start, end, dims),
                    lambda ps: sum(p[1] for p in ps) >= samples, timeout=15,
                    what=f"{samples} samples of {ns}/{name} {dims or {}}")


def listed(cw, ns: str, name: str | None = None) -> list[tuple]:
    kwargs = {"Namespace": ns}
    if name:
        kwargs["MetricName"] = name
    resp = cw.list_metrics(**kwargs)
    return sorted((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                  for m in resp["Metrics"])


def test_metric_filters_publish_values_dimensions_and_defaults(logs, cw):
    group, stream = new_group(logs)
    ns = unique("neph-mf/")
    minute0 = int(time.time()) // 60 * 60 - 20 * 60  # before the filters exist
    minute1, minute2, minute3 = minute0 + 5 * 60, minute0 + 6 * 60, minute0 + 7 * 60
    assert metric_filter_count(logs, group) == 0

    # Matching events ingested BEFORE the filters exist publish nothing.
    put_events(logs, group, stream, minute0, ["10.0.0.9 zed 500 999", '{"latency":500}'])

    logs.put_metric_filter(
        logGroupName=group, filterName="server-errors", filterPattern=SPACE_PATTERN,
        metricTransformations=[{"metricName": "ErrorBytes", "metricNamespace": ns, "metricValue": "$bytes",
                                "dimensions": {"User": "$user"}, "unit": "Bytes"}])
    logs.put_metric_filter(
        logGroupName=group, filterName="slow-requests", filterPattern=JSON_PATTERN,
        metricTransformations=[{"metricName": "SlowRequests", "metricNamespace": ns, "metricValue": "1",
                                "defaultValue": 0.0}])
    assert metric_filter_count(logs, group) == 2

    minute1_lines = [
        "10.0.0.1 alice 503 1200",  # ErrorBytes{User=alice} 1200
        "10.0.0.2 bob 500 300",  # ErrorBytes{User=bob} 300
        "10.0.0.3 carol 200 5000",  # status 200: no match
        '{"latency":150,"path":"/a"}',  # SlowRequests 1
        "10.0.0.1 alice 504 34",  # ErrorBytes{User=alice} 34
        '{"latency":99}',  # not > 100: default 0
        '{"latency":100}',  # not > 100: default 0
        "10.0.0.4 dave 404 77",  # status 404: no match
        '{"latency":101.5}',  # SlowRequests 1
        '{"path":"/b"}',  # no latency: default 0
    ]
    put_events(logs, group, stream, minute1, minute1_lines)
    # Only non-matching events in minute 2: SlowRequests reports its defaultValue 0 there.
    put_events(logs, group, stream, minute2, ['{"latency":5}', "plain text, no latency"])

    end = minute3 + 60
    alice = wait_points(cw, ns, "ErrorBytes", minute0, end, {"User": "alice"}, samples=2)
    assert alice == [(minute1, 2.0, 1234.0, 34.0, 1200.0, "Bytes")], alice
    bob = wait_points(cw, ns, "ErrorBytes", minute0, end, {"User": "bob"}, samples=1)
    assert bob == [(minute1, 1.0, 300.0, 300.0, 300.0, "Bytes")], bob

    slow = wait_for(lambda: points(cw, ns, "SlowRequests", minute0, end),
                    lambda ps: len(ps) == 2 and ps[0][2] >= 2, timeout=15,
                    what="SlowRequests datapoints for minutes 1 and 2")
    assert [p[0] for p in slow] == [minute1, minute2], slow
    (_, n1, sum1, min1, max1, unit1), (_, n2, sum2, min2, max2, unit2) = slow
    assert (sum1, max1, unit1) == (2.0, 1.0, "None"), slow
    # Per event: one sample per event of the minute (8 defaults of 0, 2 ones); per period: only
    # the 2 matches in minute 1, one default in minute 2.
    assert (n1, min1) in ((float(len(minute1_lines)), 0.0), (2.0, 1.0)), slow
    assert (sum2, min2, max2, unit2) == (0.0, 0.0, 0.0, "None") and n2 in (2.0, 1.0), slow

    # By now the filters have seen minute 1's events; the earlier ones published nothing.
    assert listed(cw, ns, "ErrorBytes") == [("ErrorBytes", (("User", "alice"),)),
                                            ("ErrorBytes", (("User", "bob"),))]
    assert points(cw, ns, "ErrorBytes", minute0, end, {"User": "zed"}) == []
    assert points(cw, ns, "ErrorBytes", minute0, minute0 + 60, {"User": "carol"}) == []
    assert listed(cw, ns) == [("ErrorBytes", (("User", "alice"),)), ("ErrorBytes", (("User", "bob"),)),
                              ("SlowRequests", ())]

    # After DeleteMetricFilter the filter publishes no more; the other one still does.
    logs.delete_metric_filter(logGroupName=group, filterName="server-errors")
    assert metric_filter_count(logs, group) == 1
    put_events(logs, group, stream, minute3, ["10.0.0.7 frank 500 42", '{"latency":300}'])
    slow3 = wait_for(lambda: points(cw, ns, "SlowRequests", minute3, minute3 + 60),
                     lambda ps: sum(p[2] for p in ps) >= 1, timeout=15, what="SlowRequests in minute 3")
    assert [(p[0], p[2]) for p in slow3] == [(minute3, 1.0)], slow3
    assert points(cw, ns, "ErrorBytes", minute3, minute3 + 60, {"User": "frank"}) == []
    assert ("ErrorBytes", (("User", "frank"),)) not in listed(cw, ns, "ErrorBytes")


def test_describe_and_delete_metric_filters(logs):
    group, _ = new_group(logs)
    ns = unique("neph-mf/")
    before = now_ms()
    logs.put_metric_filter(
        logGroupName=group, filterName="server-errors", filterPattern=SPACE_PATTERN,
        metricTransformations=[{"metricName": "ErrorBytes", "metricNamespace": ns, "metricValue": "$bytes",
                                "dimensions": {"User": "$user"}, "unit": "Bytes"}])
    logs.put_metric_filter(
        logGroupName=group, filterName="slow-requests", filterPattern=JSON_PATTERN,
        metricTransformations=[{"metricName": "SlowRequests", "metricNamespace": ns, "metricValue": "1",
                                "defaultValue": 0.0}])
    after = now_ms()

    filters = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in filters] == ["server-errors", "slow-requests"], filters
    errors, slow = filters
    assert errors["filterPattern"] == SPACE_PATTERN and errors["logGroupName"] == group, errors
    assert errors["metricTransformations"] == [{
        "metricName": "ErrorBytes", "metricNamespace": ns, "metricValue": "$bytes",
        "dimensions": {"User": "$user"}, "unit": "Bytes"}], errors
    assert slow["filterPattern"] == JSON_PATTERN, slow
    (t,) = slow["metricTransformations"]
    assert (t["metricName"], t["metricNamespace"], t["metricValue"], t["defaultValue"]) == \
        ("SlowRequests", ns, "1", 0.0), t
    assert not t.get("dimensions"), t
    assert t.get("unit", "None") == "None", t
    for f in filters:
        assert before - 1000 <= f["creationTime"] <= after + 1000, f

    # Selections: name prefix (with the group), metric name + namespace (across groups).
    by_prefix = logs.describe_metric_filters(logGroupName=group, filterNamePrefix="slow")["metricFilters"]
    assert [f["filterName"] for f in by_prefix] == ["slow-requests"], by_prefix
    by_metric = logs.describe_metric_filters(metricName="ErrorBytes", metricNamespace=ns)["metricFilters"]
    assert [(f["logGroupName"], f["filterName"]) for f in by_metric] == [(group, "server-errors")], by_metric

    # PutMetricFilter on an existing name replaces it (no second filter).
    logs.put_metric_filter(
        logGroupName=group, filterName="slow-requests", filterPattern="{ $.latency > 500 }",
        metricTransformations=[{"metricName": "VerySlow", "metricNamespace": ns, "metricValue": "1"}])
    filters = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [(f["filterName"], f["filterPattern"], f["metricTransformations"][0]["metricName"]) for f in filters] \
        == [("server-errors", SPACE_PATTERN, "ErrorBytes"), ("slow-requests", "{ $.latency > 500 }", "VerySlow")]
    assert metric_filter_count(logs, group) == 2

    logs.delete_metric_filter(logGroupName=group, filterName="server-errors")
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]] == \
        ["slow-requests"]
    assert metric_filter_count(logs, group) == 1
    expect_error("ResourceNotFoundException", logs.delete_metric_filter, logGroupName=group,
                 filterName="server-errors")
    expect_error("ResourceNotFoundException", logs.delete_metric_filter, logGroupName=group + "-missing",
                 filterName="slow-requests")
    expect_error("ResourceNotFoundException", logs.put_metric_filter, logGroupName=group + "-missing",
                 filterName="f", filterPattern="ERROR",
                 metricTransformations=[{"metricName": "M", "metricNamespace": ns, "metricValue": "1"}])
    expect_error("InvalidParameterException", logs.put_metric_filter, logGroupName=group,
                 filterName="bad", filterPattern="{ $.latency > }",
                 metricTransformations=[{"metricName": "M", "metricNamespace": ns, "metricValue": "1"}])
    # defaultValue is "forbidden with dimensions" (surface reference §4.5, from the user guide).
    expect_error("InvalidParameterException", logs.put_metric_filter, logGroupName=group,
                 filterName="bad", filterPattern=SPACE_PATTERN,
                 metricTransformations=[{"metricName": "M", "metricNamespace": ns, "metricValue": "$bytes",
                                         "defaultValue": 0.0, "dimensions": {"User": "$user"}}])
    assert metric_filter_count(logs, group) == 1


def test_filter_name_prefix_without_log_group_is_ignored(logs):
    """DescribeMetricFilters' filterNamePrefix: "CloudWatch Logs uses the value that you set here only if
    you also include the logGroupName parameter in your request" (botocore's logs model): without a
    group the prefix is not used, which is not an error."""
    group, _ = new_group(logs)
    ns = unique("neph-mf/")
    for name in ("alpha", "beta"):
        logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern="ERROR",
                               metricTransformations=[{"metricName": name, "metricNamespace": ns,
                                                       "metricValue": "1"}])
    seen, token = [], None
    for _ in range(1000):
        kwargs = {"filterNamePrefix": "alpha"}
        if token:
            kwargs["nextToken"] = token
        resp = logs.describe_metric_filters(**kwargs)
        seen += [f["filterName"] for f in resp["metricFilters"] if f["logGroupName"] == group]
        token = resp.get("nextToken")
        if not token:
            break
    assert sorted(seen) == ["alpha", "beta"], seen


def test_test_metric_filter_extracted_values(logs):
    lines = ["10.0.0.1 alice 503 1200", "10.0.0.3 carol 200 5000", "10.0.0.2 bob 500 300",
             '{"latency":150}']
    resp = logs.test_metric_filter(filterPattern=SPACE_PATTERN, logEventMessages=lines)
    assert resp["matches"] == [
        {"eventNumber": 1, "eventMessage": lines[0],
         "extractedValues": {"$ip": "10.0.0.1", "$user": "alice", "$status": "503", "$bytes": "1200"}},
        {"eventNumber": 3, "eventMessage": lines[2],
         "extractedValues": {"$ip": "10.0.0.2", "$user": "bob", "$status": "500", "$bytes": "300"}},
    ], resp["matches"]

    resp = logs.test_metric_filter(filterPattern=JSON_PATTERN, logEventMessages=lines)
    assert [(m["eventNumber"], m["eventMessage"]) for m in resp["matches"]] == [(4, lines[3])], resp["matches"]

    resp = logs.test_metric_filter(filterPattern=SPACE_PATTERN, logEventMessages=["nothing to see"])
    assert resp["matches"] == [], resp
    expect_error("InvalidParameterException", logs.test_metric_filter, filterPattern="{ $.latency > }",
                 logEventMessages=lines)


def test_one_hundred_metric_filters_per_group(logs):
    group, _ = new_group(logs)
    ns = unique("neph-mf/")

    def put(name: str, pattern: str = "ERROR") -> None:
        logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern=pattern,
                               metricTransformations=[{"metricName": name, "metricNamespace": ns,
                                                       "metricValue": "1"}])

    for i in range(100):
        put(f"f{i:03d}")
    assert metric_filter_count(logs, group) == 100
    expect_error("LimitExceededException", put, name="f100")
    # Updating one of the 100 is not a new filter.
    put("f050", "WARN")
    assert metric_filter_count(logs, group) == 100

    names, token = [], None
    for _ in range(10):
        kwargs = {"logGroupName": group, "limit": 50}
        if token:
            kwargs["nextToken"] = token
        resp = logs.describe_metric_filters(**kwargs)
        names += [f["filterName"] for f in resp["metricFilters"]]
        token = resp.get("nextToken")
        if not token:
            break
    assert names == [f"f{i:03d}" for i in range(100)], names
    logs.delete_metric_filter(logGroupName=group, filterName="f000")
    put("f100")  # room again
    assert metric_filter_count(logs, group) == 100
