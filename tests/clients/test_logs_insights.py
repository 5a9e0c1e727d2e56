"""CloudWatch Logs Insights query API through current boto3 (AWS JSON 1.1, `Logs_20140328.*`).

StartQuery / GetQueryResults / StopQuery / DescribeQueries / GetLogRecord / GetLogGroupFields as
the API reference (botocore's `logs/2014-03-28` model documentation) and the Logs Insights query
syntax pages describe them, over API-Gateway-style JSON access logs and Route 53 resolver-style
JSON logs. Every expected value is computed in Python from the events the test wrote.

Every query is polled with a deadline until it leaves Scheduled/Running; no fixed sleeps.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import re
from collections import Counter
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from support import (
    ALICE_ACCESS_KEY,
    ALICE_SECRET_KEY,
    DEV_ACCOUNT,
    REGION,
    boto_client,
    now_ms,
    unique,
    wait_for,
)

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
QUERY_DEADLINE_S = 30.0
PENDING = ("Scheduled", "Running")
TERMINAL = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")
SYSTEM_FIELDS = {"@timestamp", "@message", "@logStream", "@log", "@ingestionTime"}


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


def expect_error(code: str, call, **kwargs) -> ClientError:
    """call(**kwargs) must fail with HTTP 400 and this error code."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    shown = repr(kwargs)[:300]
    assert err["Code"] == code, f"{call.__name__}({shown}) -> {err}"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, info.value.response
    return info.value


def group_arn(name: str, account: str = DEV_ACCOUNT) -> str:
    return f"arn:aws:logs:{REGION}:{account}:log-group:{name}"


def insights_time(ms: int) -> str:
    """How Logs Insights renders @timestamp and bin() values: `YYYY-MM-DD HH:MM:SS.mmm` (UTC)."""
    dt = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


# --------------------------------------------------------------------------------------------
# Events and queries


@dataclass(frozen=True)
class Event:
    group: str
    stream: str
    timestamp: int
    message: str

    @property
    def doc(self) -> dict | None:
        try:
            value = json.loads(self.message)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def put_events(logs, events: list[Event]) -> None:
    """Create the streams and write the events, one chronological batch per stream."""
    by_stream: dict[tuple[str, str], list[Event]] = {}
    for e in events:
        by_stream.setdefault((e.group, e.stream), []).append(e)
    for (group, stream), evs in by_stream.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        evs = sorted(evs, key=lambda e: e.timestamp)
        resp = logs.put_log_events(logGroupName=group, logStreamName=stream,
                                   logEvents=[{"timestamp": e.timestamp, "message": e.message} for e in evs])
        assert "rejectedLogEventsInfo" not in resp, resp


def new_group(logs, label: str) -> str:
    name = f"/neph/insights/{unique()}/{label}"
    logs.create_log_group(logGroupName=name)
    return name


def wait_query(logs, query_id: str, *, client=None) -> dict:
    """Poll GetQueryResults until the status leaves Scheduled/Running; check what was seen on the way."""
    seen: list[str] = []

    def fetch():
        resp = (client or logs).get_query_results(queryId=query_id)
        seen.append(resp["status"])
        return resp

    resp = wait_for(fetch, lambda r: r["status"] not in PENDING, timeout=QUERY_DEADLINE_S,
                    interval=0.05, what=f"query {query_id} to finish")
    assert all(s in PENDING for s in seen[:-1]), seen
    assert resp["status"] in TERMINAL, resp["status"]
    return resp


def run_query(logs, query: str, *, start_s: int, end_s: int, **kwargs) -> dict:
    """StartQuery, then poll to Complete; returns the final GetQueryResults answer."""
    started = logs.start_query(queryString=query, startTime=start_s, endTime=end_s, **kwargs)
    assert isinstance(started["queryId"], str) and started["queryId"], started
    resp = wait_query(logs, started["queryId"])
    assert resp["status"] == "Complete", f"{query!r} ended {resp['status']}: {resp}"
    resp["queryId"] = started["queryId"]
    return resp


def rows(resp: dict) -> list[dict[str, str]]:
    """GetQueryResults rows as dicts; a field must not repeat within a row."""
    out = []
    for row in resp["results"]:
        names = [f["field"] for f in row]
        assert len(names) == len(set(names)), f"a field repeats in a result row: {row}"
        out.append({f["field"]: f["value"] for f in row})
    return out


def num(value: str) -> float:
    return float(value)


# --------------------------------------------------------------------------------------------
# The data set (one module-wide set of groups on the session server)

ROUTES = ["GET /pets", "POST /pets", "GET /pets/{id}", "DELETE /pets/{id}"]
STATUSES = [200] * 10 + [201] * 2 + [404] * 2 + [500] * 2 + [502, 503]
IPS = [f"203.0.113.{n}" for n in (4, 9, 17, 23, 42, 77, 101, 150, 199)]
DOMAINS = [
    "test.example.com.", "API.TEST.EXAMPLE.COM.", "Test.Example.Com", "mytest.example.community.",
    "test-example.com.", "www.other.org.", "example.com.", "test.example.net.",
]


def compact(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"))


@dataclass
class DataSet:
    apigw: str
    dns: str
    bookings: str
    start_s: int
    end_s: int
    events: list[Event]  # every event written, in range or not

    def in_range(self, *groups: str) -> list[Event]:
        lo, hi = self.start_s * SECOND_MS, self.end_s * SECOND_MS + 999
        return [e for e in self.events if e.group in groups and lo <= e.timestamp <= hi]


@pytest.fixture(scope="module")
def data(logs) -> DataSet:
    rnd = random.Random(20241125)
    now = now_ms()
    base = (now - 50 * MINUTE_MS) // SECOND_MS * SECOND_MS  # a whole second
    start_s, end_s = base // SECOND_MS, (base + 45 * MINUTE_MS) // SECOND_MS
    apigw, dns, bookings = new_group(logs, "apigw"), new_group(logs, "dns"), new_group(logs, "bookings")
    events: list[Event] = []

    # API Gateway access logs: 90 requests over 45 minutes in two streams, distinct timestamps.
    access = []
    for i in range(90):
        ts = base + i * 30 * SECOND_MS + rnd.randrange(1, 999)
        route = ROUTES[i % len(ROUTES)] if i < 8 else rnd.choice(ROUTES)
        access.append({"ts": ts, "requestId": f"req-{i:03d}", "ip": rnd.choice(IPS),
                       "requestTime": insights_time(ts), "httpMethod": route.split(" ")[0],
                       "route": route, "status": rnd.choice(STATUSES), "protocol": "HTTP/1.1",
                       "responseLength": rnd.randrange(50, 5000), "latency": rnd.randrange(3, 900)})
    # Each route's two highest latencies are equal, so nearest-rank and interpolating percentile
    # definitions agree on pct(latency, 99) (AWS does not say which one it uses).
    for route in ROUTES:
        mine = sorted((a for a in access if a["route"] == route), key=lambda a: a["latency"])
        mine[-2]["latency"] = mine[-1]["latency"]
    for a in access:
        ts = a.pop("ts")
        events.append(Event(apigw, rnd.choice(["apigw-a", "apigw-b"]), ts, compact(a)))
    # Outside [startTime, endTime]: must never count.
    for ts in (base - 10 * MINUTE_MS, base - 1, (end_s + 1) * SECOND_MS, base + 48 * MINUTE_MS):
        events.append(Event(apigw, "apigw-late", ts, compact(
            {"requestId": f"out-{ts}", "ip": "198.51.100.1", "route": "GET /outside", "status": 500,
             "latency": 99999})))

    # Route 53 resolver query logs (+ a DomainName field, mixed case) and one non-JSON line.
    for i in range(24):
        ts = base + 7 * SECOND_MS + i * 100 * SECOND_MS + rnd.randrange(0, 999)
        domain = DOMAINS[i % len(DOMAINS)]
        events.append(Event(dns, "resolver", ts, compact(
            {"version": "1.100000", "account_id": "123456789012", "region": REGION,
             "vpc_id": "vpc-0abc", "query_timestamp": insights_time(ts), "query_name": domain.lower(),
             "query_type": rnd.choice(["A", "AAAA", "MX"]), "query_class": "IN",
             "rcode": rnd.choice(["NOERROR", "NOERROR", "NXDOMAIN"]), "srcaddr": rnd.choice(IPS),
             "srcport": str(rnd.randrange(1024, 65535)), "transport": "UDP", "DomainName": domain})))
    events.append(Event(dns, "resolver", base + 44 * MINUTE_MS, "plain text mentioning test.example.com"))

    # Bookings: a JSON key that starts with @ next to the same key without it.
    for i in range(12):
        doc = {"guest": f"g{i}"}
        if i % 3 != 2:
            doc["@BookingReference"] = i + 1
            doc["BookingReference"] = 1000 + 10 * i
        events.append(Event(bookings, "bookings", base + 30 * SECOND_MS + i * 60 * SECOND_MS, compact(doc)))

    put_events(logs, events)
    return DataSet(apigw, dns, bookings, start_s, end_s, events)


def query(logs, data: DataSet, q: str, group: str, **kwargs) -> dict:
    return run_query(logs, q, start_s=data.start_s, end_s=data.end_s, logGroupName=group, **kwargs)


def check_scanned(resp: dict, expected: int) -> None:
    stats = resp["statistics"]
    # "recordsScanned: The total number of log events scanned during the query."
    assert stats["recordsScanned"] == expected, stats
    assert stats["bytesScanned"] > 0, stats


# --------------------------------------------------------------------------------------------
# Seed queries


def test_seed_domain_name_like_case_insensitive_regex(logs, data):
    resp = query(logs, data, "fields @timestamp, @message | filter DomainName like /(?i)(test.example.com)/",
                 data.dns)
    events = data.in_range(data.dns)
    pattern = re.compile(r"(?i)(test.example.com)")
    want = [e for e in events if e.doc and pattern.search(e.doc["DomainName"])]
    assert {e.doc["DomainName"] for e in want} >= {"test.example.com.", "API.TEST.EXAMPLE.COM.",
                                                   "Test.Example.Com"}  # the data covers mixed case
    got = rows(resp)
    assert sorted((r["@timestamp"], r["@message"]) for r in got) == \
        sorted((insights_time(e.timestamp), e.message) for e in want), got
    for r in got:
        assert set(r) == {"@timestamp", "@message", "@ptr"}, r
        assert r["@ptr"], r
    check_scanned(resp, len(events))
    # "recordsMatched: The number of log events that matched the query string."
    assert resp["statistics"]["recordsMatched"] == len(want), resp["statistics"]


def test_seed_sum_of_at_prefixed_json_key(logs, data):
    # "If the name of a discovered log field starts with the @ character, CloudWatch Logs Insights
    # displays it with an additional @ appended to the beginning." (Supported logs and discovered
    # fields). So the JSON key `@BookingReference` is the field `@@BookingReference`, and
    # `@BookingReference` names no field at all (it is not a system field either).
    events = data.in_range(data.bookings)
    at_sum = sum(e.doc["@BookingReference"] for e in events if "@BookingReference" in e.doc)
    plain_sum = sum(e.doc["BookingReference"] for e in events if "BookingReference" in e.doc)
    assert at_sum != plain_sum

    resp = query(logs, data, "fields @timestamp, @message | stats sum(@BookingReference)", data.bookings)
    check_scanned(resp, len(events))
    assert all(not r.get("sum(@BookingReference)") for r in rows(resp)), \
        f"sum over a field that no event has must have no value: {resp['results']}"

    resp = query(logs, data, "fields @timestamp, @message | stats sum(@@BookingReference)", data.bookings)
    assert [{k: num(v) for k, v in r.items()} for r in rows(resp)] == [{"sum(@@BookingReference)": at_sum}]

    resp = query(logs, data, "stats sum(BookingReference) as total, count(BookingReference) as n",
                 data.bookings)
    assert [{k: num(v) for k, v in r.items()} for r in rows(resp)] == \
        [{"total": plain_sum, "n": sum(1 for e in events if "BookingReference" in e.doc)}]


# --------------------------------------------------------------------------------------------
# Aggregations over API Gateway access logs


def test_stats_count_by_status(logs, data):
    events = data.in_range(data.apigw)
    want = Counter(str(e.doc["status"]) for e in events)
    resp = query(logs, data, "stats count(*) by status", data.apigw)
    got = {r["status"]: num(r["count(*)"]) for r in rows(resp)}
    assert got == want, (got, want)
    assert all(set(r) == {"status", "count(*)"} for r in rows(resp)), rows(resp)  # no @ptr on aggregates
    check_scanned(resp, len(events))


def test_server_errors_per_5_minute_bin(logs, data):
    events = data.in_range(data.apigw)
    errors = [e for e in events if e.doc["status"] >= 500]
    want = Counter(insights_time(e.timestamp // (5 * MINUTE_MS) * (5 * MINUTE_MS)) for e in errors)
    assert len(want) > 2  # several bins
    resp = query(logs, data, "filter status >= 500 | stats count(*) as errors by bin(5m)", data.apigw)
    got = {r["bin(5m)"]: num(r["errors"]) for r in rows(resp)}
    assert got == want, (got, want)
    check_scanned(resp, len(events))
    assert resp["statistics"]["recordsMatched"] == len(errors), resp["statistics"]


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def test_p99_latency_by_route(logs, data):
    events = data.in_range(data.apigw)
    by_route: dict[str, list[float]] = {}
    for e in events:
        by_route.setdefault(e.doc["route"], []).append(e.doc["latency"])
    want = {route: nearest_rank(vals, 99) for route, vals in by_route.items()}
    resp = query(logs, data, "stats pct(latency, 99) by route", data.apigw)
    got = {r["route"]: num(r["pct(latency, 99)"]) for r in rows(resp)}
    assert got == want, (got, want)


def test_newest_three(logs, data):
    events = sorted(data.in_range(data.apigw), key=lambda e: e.timestamp, reverse=True)
    resp = query(logs, data, "sort @timestamp desc | limit 3", data.apigw)
    got = rows(resp)
    assert [r.get("@message") for r in got] == [e.message for e in events[:3]], got
    assert [r.get("@timestamp") for r in got] == [insights_time(e.timestamp) for e in events[:3]], got
    for r, e in zip(got, events):
        assert r.get("@ptr"), r
        assert r.get("@logStream") == e.stream, r
        assert r.get("@log") == f"{DEV_ACCOUNT}:{data.apigw}", r
        assert r.get("route") == e.doc["route"], r  # discovered JSON fields come along without `fields`
    # "With a regular limit, the query scans all data in the time range and then returns the top N
    # results." (limit command)
    check_scanned(resp, len(events))


def test_parse_route_with_glob(logs, data):
    events = data.in_range(data.apigw)
    want = Counter(e.doc["route"] for e in events)
    resp = query(logs, data, """parse @message '"route":"*"' as r | stats count(*) by r""", data.apigw)
    got = {r["r"]: num(r["count(*)"]) for r in rows(resp)}
    assert got == want, (got, want)


def test_count_distinct_ip(logs, data):
    events = data.in_range(data.apigw)
    want = len({e.doc["ip"] for e in events})
    resp = query(logs, data, "stats count_distinct(ip)", data.apigw)
    assert [{k: num(v) for k, v in r.items()} for r in rows(resp)] == [{"count_distinct(ip)": want}]


# --------------------------------------------------------------------------------------------
# @ptr and GetLogRecord


def test_ptr_on_rows_and_get_log_record(logs, data):
    events = data.in_range(data.apigw)
    want = [e for e in events if e.doc["status"] == 404]
    resp = query(logs, data, "fields @timestamp, @message, status | filter status = 404", data.apigw)
    got = rows(resp)
    assert sorted(r["@message"] for r in got) == sorted(e.message for e in want)
    by_message = {e.message: e for e in want}
    ptrs = set()
    for r in got:
        assert r.get("@ptr"), f"non-aggregate row without @ptr: {r}"
        ptrs.add(r["@ptr"])
        record = logs.get_log_record(logRecordPointer=r["@ptr"])["logRecord"]
        e = by_message[r["@message"]]
        # "The full unparsed log event is returned within @message."
        assert record["@message"] == r["@message"], record
        assert record["@logStream"] == e.stream, record
        assert record["@log"] == f"{DEV_ACCOUNT}:{data.apigw}", record
        assert record["@timestamp"] in (str(e.timestamp), insights_time(e.timestamp)), record
        assert "@ingestionTime" in record, record
    assert len(ptrs) == len(got), "every row has its own @ptr"


def test_get_log_record_with_bad_pointer(logs):
    expect_error("InvalidParameterException", logs.get_log_record, logRecordPointer="not a pointer!")


# --------------------------------------------------------------------------------------------
# Log group selection


@pytest.mark.parametrize("how", ["logGroupNames", "logGroupIdentifiers-arns", "logGroupIdentifiers-mixed"])
def test_several_log_groups(logs, data, how):
    groups = [data.apigw, data.dns]
    if how == "logGroupNames":
        selection = {"logGroupNames": groups}
    elif how == "logGroupIdentifiers-arns":
        # "If you specify an ARN, use the format arn:aws:logs:region:account-id:log-group:log_group_name"
        selection = {"logGroupIdentifiers": [group_arn(g) for g in groups]}
    else:
        # "You can specify them by the log group name or ARN."
        selection = {"logGroupIdentifiers": [groups[0], group_arn(groups[1])]}
    events = data.in_range(*groups)
    resp = run_query(logs, "stats count(*) as n by @log", start_s=data.start_s, end_s=data.end_s, **selection)
    got = {r["@log"]: num(r["n"]) for r in rows(resp)}
    want = Counter(f"{DEV_ACCOUNT}:{e.group}" for e in events)
    assert got == want, (got, want)
    check_scanned(resp, len(events))
    assert resp["statistics"]["logGroupsScanned"] == 2, resp["statistics"]

    resp = run_query(logs, "fields @timestamp, @message, @log | sort @timestamp desc", start_s=data.start_s,
                     end_s=data.end_s, **selection)
    newest_first = sorted(events, key=lambda e: e.timestamp, reverse=True)
    assert [(r["@message"], r["@log"]) for r in rows(resp)] == \
        [(e.message, f"{DEV_ACCOUNT}:{e.group}") for e in newest_first]


def test_exactly_one_log_group_parameter(logs, data):
    # "A StartQuery operation must include exactly one of the following parameters: logGroupName,
    # logGroupNames, or logGroupIdentifiers."
    for selection in ({"logGroupName": data.apigw, "logGroupNames": [data.dns]},
                      {"logGroupNames": [data.apigw], "logGroupIdentifiers": [data.dns]},
                      {}):
        expect_error("InvalidParameterException", logs.start_query, queryString="fields @message",
                     startTime=data.start_s, endTime=data.end_s, **selection)


def test_times_past_year_9999_are_invalid(logs, data):
    # Epoch seconds past 9999-12-31 name no date (and would overflow in milliseconds).
    expect_error("InvalidParameterException", logs.start_query, queryString="stats count(*) by bin(1d)",
                 logGroupName=data.apigw, startTime=data.start_s, endTime=9_223_372_036_854_774)


def test_unknown_log_group(logs, data):
    missing = f"/neph/insights/{unique()}/missing"
    for selection in ({"logGroupName": missing}, {"logGroupNames": [data.apigw, missing]},
                      {"logGroupIdentifiers": [group_arn(missing)]}):
        expect_error("ResourceNotFoundException", logs.start_query, queryString="fields @message",
                     startTime=data.start_s, endTime=data.end_s, **selection)


# --------------------------------------------------------------------------------------------
# Time range and limit


def test_time_range_is_inclusive_at_second_granularity(logs):
    group = new_group(logs, "range")
    start_s = (now_ms() - 30 * MINUTE_MS) // SECOND_MS
    end_s = start_s + 60
    lo, hi = start_s * SECOND_MS, end_s * SECOND_MS
    stamps = {
        lo - 1: False,  # a millisecond before startTime
        lo: True,  # "The range is inclusive, so the specified start time is included in the query."
        lo + 30 * SECOND_MS: True,
        hi: True,  # "The range is inclusive, so the specified end time is included in the query."
        hi + 999: True,  # endTime is in seconds: the whole end second is included
        hi + SECOND_MS: False,
        hi + 5 * MINUTE_MS: False,
    }
    events = [Event(group, "s", ts, f"event at {ts} inside={inside}") for ts, inside in stamps.items()]
    put_events(logs, events)
    inside = sorted(e.timestamp for e in events if stamps[e.timestamp])

    resp = run_query(logs, "fields @timestamp, @message | sort @timestamp asc", start_s=start_s, end_s=end_s,
                     logGroupName=group)
    assert [r["@timestamp"] for r in rows(resp)] == [insights_time(t) for t in inside], rows(resp)
    check_scanned(resp, len(inside))

    resp = run_query(logs, "stats count(*) as n", start_s=start_s, end_s=end_s, logGroupName=group)
    assert [num(r["n"]) for r in rows(resp)] == [len(inside)]
    check_scanned(resp, len(inside))

    # A one-second range holds exactly the events of that second.
    resp = run_query(logs, "stats count(*) as n", start_s=end_s, end_s=end_s, logGroupName=group)
    assert [num(r["n"]) for r in rows(resp)] == [2]


def test_limit_parameter(logs, data):
    # "limit: The maximum number of log events to return from the query."
    events = sorted(data.in_range(data.apigw), key=lambda e: e.timestamp, reverse=True)
    resp = query(logs, data, "fields @timestamp, @message | sort @timestamp desc", data.apigw, limit=4)
    assert [r["@message"] for r in rows(resp)] == [e.message for e in events[:4]]
    check_scanned(resp, len(events))

    # The limit command: the oldest two with an ascending sort.
    resp = query(logs, data, "fields @timestamp, @message | sort @timestamp asc | limit 2", data.apigw)
    assert [r["@message"] for r in rows(resp)] == [e.message for e in events[::-1][:2]]
    check_scanned(resp, len(events))


@pytest.mark.parametrize("how", ["limit-command", "limit-parameter"])
def test_limit_without_sort_still_scans_the_whole_range(logs, data, how):
    # limit: "With a regular limit, the query scans all data in the time range and then returns the
    # top N results." (only `limit any N` stops early, and then "the results are not guaranteed to be
    # in any particular order"). Without `sort`, the order is the default descending @timestamp
    # order (dedup: "the default descending sort order using @timestamp is used"), so the top N are
    # the N newest events.
    events = sorted(data.in_range(data.apigw), key=lambda e: e.timestamp, reverse=True)
    if how == "limit-command":
        resp = query(logs, data, "fields @timestamp, @message | limit 3", data.apigw)
    else:
        resp = query(logs, data, "fields @timestamp, @message", data.apigw, limit=3)
    check_scanned(resp, len(events))
    assert sorted(r["@message"] for r in rows(resp)) == sorted(e.message for e in events[:3]), \
        (rows(resp), [e.message for e in events[:3]])


def test_limit_goes_to_the_models_hundred_thousand(logs, data):
    """StartQuery's `limit` may pass the default 10,000 up to the model's 100,000."""
    resp = query(logs, data, "fields @timestamp, @message", data.apigw, limit=100_000)
    assert len(rows(resp)) == len(data.in_range(data.apigw))
    err = expect_error("InvalidParameterException", logs.start_query, logGroupName=data.apigw,
                       startTime=data.start_s, endTime=data.end_s, queryString="fields @message",
                       limit=100_001)
    assert "limit" in err.response["Error"]["Message"], err.response


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("text, bad", [
    ("fields @timestamp, @message | filtre status = 500", "filtre"),
    ("stats count(* by status", "by"),
])
def test_malformed_query_has_compile_error_location(logs, data, text, bad):
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=data.apigw,
                       queryString=text, startTime=data.start_s, endTime=data.end_s)
    assert isinstance(err, logs.exceptions.MalformedQueryException)
    compile_error = err.response.get("queryCompileError")
    assert compile_error, f"MalformedQueryException without queryCompileError: {err.response}"
    assert compile_error.get("message"), compile_error
    loc = compile_error["location"]
    start, end = loc["startCharOffset"], loc["endCharOffset"]
    at = text.index(bad)
    # The location covers the offending token (end inclusive or exclusive: the model says "Reserved.").
    assert start <= at <= end and start <= end <= len(text), (loc, text, bad)
    assert end - start <= len(bad) + 2, f"location {loc} is wider than the offending token {bad!r}"


def test_sql_naming_log_groups_in_the_request_is_invalid_parameter(logs, data):
    # docs/compatibility.md: a SQL query names its log groups in FROM (PPL and SQL have their
    # own tests: test_logs_insights_ppl.py, test_logs_insights_sql.py).
    expect_error("InvalidParameterException", logs.start_query, logGroupName=data.apigw,
                 queryString=f"SELECT * FROM `{data.apigw}`",
                 startTime=data.start_s, endTime=data.end_s, queryLanguage="SQL")


def test_end_before_start_is_invalid(logs, data):
    expect_error("InvalidParameterException", logs.start_query, logGroupName=data.apigw,
                 queryString="fields @message", startTime=data.end_s, endTime=data.start_s)


def test_unknown_query_id(logs):
    for call in (logs.get_query_results, logs.stop_query):
        expect_error("ResourceNotFoundException", call, queryId="00000000-0000-4000-8000-000000000000")


# --------------------------------------------------------------------------------------------
# StopQuery and DescribeQueries


def test_stop_query_on_a_finished_query(logs, data):
    resp = query(logs, data, "stats count(*)", data.apigw)
    # StopQuery: "Stops a CloudWatch Logs Insights query that is in progress. If the query has already
    # ended, the operation returns an error indicating that the specified query is not running."
    # Of StopQuery's modeled errors (InvalidParameterException, ResourceNotFoundException,
    # ServiceUnavailableException) only InvalidParameterException fits an existing query.
    err = expect_error("InvalidParameterException", logs.stop_query, queryId=resp["queryId"])
    assert err.response["Error"].get("Message"), err.response
    assert logs.get_query_results(queryId=resp["queryId"])["status"] == "Complete"


def test_start_query_waits_for_its_query(start_server):
    """logs.insights_start_wait_ms: StartQuery answers once its query has ended (or the wait is
    over), so with a long enough wait the first GetQueryResults is already Complete; with 0 it
    answers at once and the query runs on."""
    srv = start_server(config="[logs]\ninsights_start_wait_ms = 60000\n")
    logs = boto_client(srv, "logs")
    group = new_group(logs, "wait")
    base = (now_ms() - 30 * MINUTE_MS) // SECOND_MS * SECOND_MS
    # Enough events that a query is still running when the next request comes in.
    put_events(logs, [Event(group, f"s{i % 4}", base + i, compact({"i": i, "route": ROUTES[i % 4]}))
                      for i in range(40000)])
    start_s, end_s = base // SECOND_MS, base // SECOND_MS + 60
    for text in ["stats count(*) by route", "sort @timestamp desc | limit 5", "fields i | limit 3"]:
        qid = logs.start_query(logGroupName=group, queryString=text,
                               startTime=start_s, endTime=end_s)["queryId"]
        first = logs.get_query_results(queryId=qid)
        assert first["status"] == "Complete", (text, first["status"])
        assert first["results"], text
        # The whole range was scanned before StartQuery answered.
        assert first["statistics"]["recordsScanned"] == 40000, (text, first["statistics"])


def test_stopped_queries_stay_cancelled(start_server):
    """StopQuery right after StartQuery, 50 times on a fresh server: a query that StopQuery reports
    stopped (`success: true`, "This is true if the query was stopped by the StopQuery operation")
    must end Cancelled, never Complete with the rows of a scan that was cut short."""
    # StartQuery answers at once, so StopQuery can meet the query running.
    srv = start_server(config="[logs]\ninsights_start_wait_ms = 0\n")
    logs = boto_client(srv, "logs")
    group = new_group(logs, "stop")
    base = (now_ms() - 30 * MINUTE_MS) // SECOND_MS * SECOND_MS
    put_events(logs, [Event(group, "s", base + i, compact({"i": i, "route": ROUTES[i % 4]}))
                      for i in range(5000)])
    start_s, end_s = base // SECOND_MS, base // SECOND_MS + 60

    outcomes = []
    for _ in range(50):
        qid = logs.start_query(logGroupName=group, queryString="stats count(*) by route",
                               startTime=start_s, endTime=end_s)["queryId"]
        try:
            stopped = logs.stop_query(queryId=qid)["success"]
        except ClientError as exc:  # the query had already ended (see test_stop_query_on_a_finished_query)
            assert exc.response["Error"]["Code"] == "InvalidParameterException", exc.response
            stopped = False
        outcomes.append((qid, stopped))
    # One full query afterwards: its task starts after every stopped one and scans everything, so
    # the stopped queries' tasks (which only have to notice the stop) have finished by its end.
    full = run_query(logs, "stats count(*) by route", start_s=start_s, end_s=end_s, logGroupName=group)
    assert sorted(num(r["count(*)"]) for r in rows(full)) == [1250] * 4

    wrong = []
    for qid, stopped in outcomes:
        resp = wait_query(logs, qid)
        if stopped and resp["status"] != "Cancelled":
            wrong.append((qid, resp["status"], resp["statistics"]["recordsScanned"], resp["results"]))
        if not stopped:
            assert resp["status"] == "Complete", resp
            assert sorted(num(r["count(*)"]) for r in rows(resp)) == [1250] * 4, resp
    assert not wrong, (f"{len(wrong)} of {len(outcomes)} queries stopped with success=true did not end "
                       f"Cancelled: {wrong[:3]}")
    cancelled = logs.describe_queries(logGroupName=group, status="Cancelled")["queries"]
    assert {q["queryId"] for q in cancelled} == {qid for qid, stopped in outcomes if stopped}


def test_describe_queries(logs):
    group = new_group(logs, "describe")
    other = new_group(logs, "describe-other")
    ts = now_ms() - 5 * MINUTE_MS
    put_events(logs, [Event(group, "s", ts, '{"a":1}'), Event(other, "s", ts, '{"a":2}')])
    start_s, end_s = ts // SECOND_MS - 60, ts // SECOND_MS + 60
    texts = ["fields @message", "stats count(*) by a"]
    before = now_ms()
    ids = [run_query(logs, t, start_s=start_s, end_s=end_s, logGroupName=group)["queryId"] for t in texts]
    after = now_ms()
    other_id = run_query(logs, "fields a", start_s=start_s, end_s=end_s, logGroupName=other)["queryId"]

    listed = logs.describe_queries(logGroupName=group)["queries"]
    by_id = {q["queryId"]: q for q in listed}
    # "Limits the returned queries to only those for the specified log group."
    assert set(by_id) == set(ids), listed
    for qid, text in zip(ids, texts):
        q = by_id[qid]
        assert q["queryString"] == text, q
        assert q["status"] == "Complete", q
        assert q["logGroupName"] == group, q
        assert before - 1000 <= q["createTime"] <= after + 1000, (before, q, after)

    everything = logs.describe_queries()["queries"]
    assert {other_id, *ids} <= {q["queryId"] for q in everything}
    complete = logs.describe_queries(logGroupName=group, status="Complete")["queries"]
    assert {q["queryId"] for q in complete} == set(ids)
    assert logs.describe_queries(logGroupName=group, status="Running")["queries"] == []

    first = logs.describe_queries(logGroupName=group, maxResults=1)
    assert len(first["queries"]) == 1 and first.get("nextToken"), first
    second = logs.describe_queries(logGroupName=group, maxResults=1, nextToken=first["nextToken"])
    assert {first["queries"][0]["queryId"], second["queries"][0]["queryId"]} == set(ids), (first, second)


# --------------------------------------------------------------------------------------------
# GetLogGroupFields


def test_get_log_group_fields_lists_json_and_system_fields(logs):
    group = new_group(logs, "fields")
    now = now_ms()
    docs = [{"level": "info", "user": "ann", "ctx": {"id": 1}}, {"level": "warn", "user": "bob"},
            {"level": "info"}, {"level": "error"}]
    put_events(logs, [Event(group, "s", now - (60 - i) * SECOND_MS, compact(d)) for i, d in enumerate(docs)])
    # Without `time`: "the most recent 15 minutes up to the current time are searched".
    fields = logs.get_log_group_fields(logGroupName=group)["logGroupFields"]
    got = {f["name"]: f["percent"] for f in fields}
    for name in SYSTEM_FIELDS:
        assert got.get(name) == 100, (name, fields)
    assert got.get("level") == 100, fields
    assert got.get("user") == 50, fields  # "the percentage of time it appeared in the log events"
    assert got.get("ctx.id") == 25, fields  # nested JSON is flattened with dots
    percents = [f["percent"] for f in fields]
    # "The response results are sorted by the frequency percentage, starting with the highest percentage."
    assert percents == sorted(percents, reverse=True), fields

    assert logs.get_log_group_fields(logGroupIdentifier=group_arn(group))["logGroupFields"] == fields
    expect_error("ResourceNotFoundException", logs.get_log_group_fields,
                 logGroupName=f"/neph/insights/{unique()}/missing")


def test_get_log_group_fields_time_is_the_center_of_the_window(logs):
    group = new_group(logs, "fields-time")
    center_s = (now_ms() - 60 * MINUTE_MS) // SECOND_MS
    center = center_s * SECOND_MS
    put_events(logs, [Event(group, "s", center - 12 * MINUTE_MS, '{"before12":1}'),
                      Event(group, "s", center - 5 * MINUTE_MS, '{"before5":1}'),
                      Event(group, "s", center + 5 * MINUTE_MS, '{"after5":1}'),
                      Event(group, "s", center + 12 * MINUTE_MS, '{"after12":1}')])
    # "time: The time to set as the center of the query. If you specify time, the 8 minutes before
    # and 8 minutes after this time are searched."
    fields = logs.get_log_group_fields(logGroupName=group, time=center_s)["logGroupFields"]
    names = {f["name"] for f in fields}
    assert {"before5", "after5"} <= names, fields
    assert not {"before12", "after12"} & names, fields


# --------------------------------------------------------------------------------------------
# Accounts


def test_queries_are_isolated_between_accounts(alice_server):
    dev = boto_client(alice_server, "logs")
    alice = boto_client(alice_server, "logs", access_key=ALICE_ACCESS_KEY, secret_key=ALICE_SECRET_KEY)
    group = f"/neph/insights/{unique()}/private"
    dev.create_log_group(logGroupName=group)
    ts = now_ms() - MINUTE_MS
    put_events(dev, [Event(group, "s", ts, "dev secret")])
    start_s, end_s = ts // SECOND_MS - 60, ts // SECOND_MS + 60
    resp = run_query(dev, "fields @message", start_s=start_s, end_s=end_s, logGroupName=group)
    qid = resp["queryId"]
    [row] = rows(resp)
    assert row["@message"] == "dev secret"

    expect_error("ResourceNotFoundException", alice.get_query_results, queryId=qid)
    expect_error("ResourceNotFoundException", alice.stop_query, queryId=qid)
    assert qid not in {q["queryId"] for q in alice.describe_queries()["queries"]}
    expect_error("ResourceNotFoundException", alice.start_query, logGroupName=group,
                 queryString="fields @message", startTime=start_s, endTime=end_s)
    with pytest.raises(ClientError) as info:
        alice.get_log_record(logRecordPointer=row["@ptr"])
    assert info.value.response["Error"]["Code"] in ("ResourceNotFoundException",
                                                    "InvalidParameterException"), info.value.response

    # The same group name in alice's account is another group.
    alice.create_log_group(logGroupName=group)
    put_events(alice, [Event(group, "s", ts, "alice's own")])
    mine = run_query(alice, "fields @message", start_s=start_s, end_s=end_s, logGroupName=group)
    assert [r["@message"] for r in rows(mine)] == ["alice's own"]
    assert dev.get_query_results(queryId=qid)["status"] == "Complete"  # dev still sees its own query


# --------------------------------------------------------------------------------------------
# Service log formats discovered by their line format


def test_route53_query_logs_and_vpc_flow_logs_are_discovered(logs):
    """Route 53 public DNS query log lines and VPC flow log lines (default format) get their
    format's fields: the sample queries of the Insights documentation, and GetLogGroupFields."""
    group = new_group(logs, "service-formats")
    now = now_ms()
    dns = [
        "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 -",
        "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com AAAA NOERROR TCP IAD12 192.168.3.1 192.168.222.0/24",
        "1.0 2017-12-13T08:15:50.342Z Z123412341234 bad.example.com A NXDOMAIN UDP IAD12 192.168.3.1 192.168.111.0/24",
    ]
    flows = [
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    ]
    put_events(logs, [Event(group, "Z123412341234/IAD12", now - (60 - i) * SECOND_MS, m) for i, m in enumerate(dns)]
               + [Event(group, "eni-1235b8ca123456789-all", now - (50 - i) * SECOND_MS, m) for i, m in enumerate(flows)])
    span = dict(start_s=(now - 10 * MINUTE_MS) // SECOND_MS, end_s=now // SECOND_MS + 1, logGroupName=group)
    got = rows(run_query(logs, "stats count(*) by queryType | sort queryType asc", **span))
    assert [(r.get("queryType"), r["count(*)"]) for r in got] == [("A", "2"), ("AAAA", "1"), (None, "2")], got
    got = rows(run_query(logs, 'filter responseCode = "NXDOMAIN" | fields queryName, hostZoneId', **span))
    assert [(r["queryName"], r["hostZoneId"]) for r in got] == [("bad.example.com", "Z123412341234")], got
    got = rows(run_query(logs, "stats sum(bytes) as b by srcAddr, action | sort b desc, srcAddr asc", **span))
    # Equal sums, then the addresses in natural order (9 before 16).
    assert [(r.get("srcAddr"), r.get("action"), r.get("b")) for r in got][:2] == [
        ("172.31.9.69", "REJECT", "4249"), ("172.31.16.139", "ACCEPT", "4249")], got
    fields = {f["name"]: f["percent"] for f in logs.get_log_group_fields(logGroupName=group)["logGroupFields"]}
    assert fields.get("queryType") == 60 and fields.get("srcAddr") == 40, fields
    assert fields.get("version") == 100, fields


def test_lambda_report_lines_are_discovered(logs):
    """Lambda's REPORT lines give @type, @requestId and their measures (AWS's sample query)."""
    group = new_group(logs, "lambda")
    now = now_ms()
    rid = "c793869b-ee49-115b-a5b6-4fd21e8d000"
    lines = [f"START RequestId: {rid}1 Version: $LATEST\n",
             f"2019-06-07T19:11:20.562Z\t{rid}1\tINFO\t{{\"user\": \"ann\"}}\n",
             f"END RequestId: {rid}1\n",
             f"REPORT RequestId: {rid}1\tDuration: 128.83 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB\t\n",
             f"REPORT RequestId: {rid}2\tDuration: 1500.25 ms\tBilled Duration: 1600 ms\tMemory Size: 128 MB\tMax Memory Used: 100 MB\tInit Duration: 166.62 ms\t\n"]
    put_events(logs, [Event(group, "2019/06/07/[$LATEST]e6f4a0c4", now - (60 - i) * SECOND_MS, m)
                      for i, m in enumerate(lines)])
    span = dict(start_s=(now - 10 * MINUTE_MS) // SECOND_MS, end_s=now // SECOND_MS + 1, logGroupName=group)
    got = rows(run_query(logs, 'filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisionedMemoryMB, '
                               'max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB, avg(@duration) as d, '
                               'provisionedMemoryMB - maxMemoryUsedMB as overProvisionedMB', **span))
    assert [(r["provisionedMemoryMB"], r["maxMemoryUsedMB"], r["d"], r["overProvisionedMB"]) for r in got] == [
        ("128", "100", "814.54", "28")], got
    got = rows(run_query(logs, "filter @duration > 1000 | fields @requestId, @initDuration", **span))
    assert [(r["@requestId"], r["@initDuration"]) for r in got] == [(f"{rid}2", "166.62")], got
    got = rows(run_query(logs, "filter ispresent(user) | fields @requestId, user", **span))
    assert [(r["@requestId"], r["user"]) for r in got] == [(f"{rid}1", "ann")], got
