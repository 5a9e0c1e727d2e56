"""Logs Insights functions and commands added later, through current boto3 (and once through the
aws CLI): `parseDate`, `formatDate`/`strftime`, `md5`/`sha256`, `expand`, `json field=`, and the
time-series `stats` functions `histogram`, `rate`, `count_over_time`, `sum_over_time`.

AWS documents these in one line each; where it leaves the result open (the keys of `histogram`'s
map, the formula of `rate`, what `parseDate` does with text that does not match, what `expand`
does with a value that is not an array) the expected values follow docs/compatibility.md.
Every other expected value is computed here from the events written (time zones with Python's
zoneinfo, hashes with hashlib). Queries are polled with a deadline, never slept on.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import subprocess
from zoneinfo import ZoneInfo

import pytest

from support import boto_client, now_ms, wait_for
from test_logs_cli import base_args, cli_env, cli_path, out_json
from test_logs_insights import (
    MINUTE_MS,
    SECOND_MS,
    Event,
    expect_error,
    insights_time,
    new_group,
    put_events,
    rows,
    run_query,
)

HOUR_MS = 60 * MINUTE_MS


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


def table(resp: dict) -> list[dict[str, str]]:
    """Result rows without `@ptr` (not what these tests are about)."""
    return [{k: v for k, v in r.items() if k != "@ptr"} for r in rows(resp)]


def write(logs, label: str, docs: list[tuple[int, dict | str]]) -> str:
    """A new group holding (timestamp, JSON document or text) events in one stream."""
    group = new_group(logs, label)
    put_events(logs, [Event(group, "s", t, d if isinstance(d, str) else json.dumps(d)) for t, d in docs])
    return group


def query(logs, group: str, q: str, *, start_ms: int, end_ms: int | None = None) -> list[dict[str, str]]:
    end_s = (end_ms if end_ms is not None else now_ms()) // SECOND_MS + 60
    return table(run_query(logs, q, start_s=start_ms // SECOND_MS - 60, end_s=end_s, logGroupName=group))


# --------------------------------------------------------------------------------------------
# Dates and hashes


@pytest.fixture(scope="module")
def dated(logs) -> dict:
    """Events at known timestamps (not whole seconds) with date texts and strings to hash."""
    base = (now_ms() - 20 * MINUTE_MS) // MINUTE_MS * MINUTE_MS
    docs = [
        {"k": 1, "d": "2024-01-15 12:00:00", "u": "hello", "dz": "2024-01-15T12:00:00+02:00"},
        {"k": 2, "d": "2024-07-04 23:59:58", "u": "h\u00e9llo w\u00f6rld"},
        {"k": 3, "d": "not a date", "u": ""},
        {"k": 4, "d": "2024-01-15"},  # matches only part of the pattern
    ]
    stamps = [base + i * 7 * MINUTE_MS + 123 * (i + 1) for i in range(len(docs))]
    group = write(logs, "dates", list(zip(stamps, docs)))
    return {"group": group, "docs": docs, "stamps": stamps, "start": stamps[0]}


def utc_ms(text: str, zone: str) -> int:
    dt = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(zone))
    return int(dt.timestamp() * 1000)


def test_parse_date_utc_new_york_and_unparseable(logs, dated):
    got = query(logs, dated["group"],
                'fields k, parseDate(d, "yyyy-MM-dd HH:mm:ss", "UTC") as p, '
                'parseDate(d, "yyyy-MM-dd HH:mm:ss", "America/New_York") as ny, '
                'parseDate(d, "yyyy-MM-dd HH:mm:ss", "UTC") + 1000 as p1 | sort k asc',
                start_ms=dated["start"])
    # Pinned by hand as well as computed: 12:00 EST (UTC-5) on 2024-01-15 is 17:00 UTC.
    assert utc_ms("2024-01-15 12:00:00", "UTC") == 1705320000000
    assert utc_ms("2024-01-15 12:00:00", "America/New_York") == 1705338000000
    # July: New York is on EDT (UTC-4).
    assert utc_ms("2024-07-04 23:59:58", "America/New_York") - utc_ms("2024-07-04 23:59:58", "UTC") == 4 * HOUR_MS
    assert got == [
        {"k": "1", "p": "1705320000000", "ny": "1705338000000", "p1": "1705320001000"},
        {"k": "2", "p": str(utc_ms("2024-07-04 23:59:58", "UTC")),
         "ny": str(utc_ms("2024-07-04 23:59:58", "America/New_York")),
         "p1": str(utc_ms("2024-07-04 23:59:58", "UTC") + 1000)},
        # Text that does not match the whole pattern is null: the fields are absent from the row.
        {"k": "3"},
        {"k": "4"},
    ], got


def test_parse_date_offset_in_text_wins(logs, dated):
    got = query(logs, dated["group"],
                "filter ispresent(dz) "
                '| fields parseDate(dz, "yyyy-MM-dd\'T\'HH:mm:ssXXX", "America/New_York") as p',
                start_ms=dated["start"])
    assert got == [{"p": str(1705320000000 - 2 * HOUR_MS)}], got


def test_format_date_in_tokyo_and_strftime_with_fixed_offset(logs, dated):
    got = query(logs, dated["group"],
                'fields k, formatDate(@timestamp, "%Y-%m-%d %H:%M %Z", "Asia/Tokyo") as tokyo, '
                'strftime(@timestamp, "%Y-%m-%d %H:%M:%S.%L %z", "+05:30") as india, '
                'formatDate(@timestamp, "%Y-%m-%d") as utc_day | sort k asc',
                start_ms=dated["start"])
    tokyo, india = ZoneInfo("Asia/Tokyo"), datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    want = []
    for doc, t in zip(dated["docs"], dated["stamps"]):
        at = datetime.datetime.fromtimestamp(t / 1000, tz=datetime.timezone.utc)
        want.append({
            "k": str(doc["k"]),
            "tokyo": at.astimezone(tokyo).strftime("%Y-%m-%d %H:%M") + " JST",
            "india": at.astimezone(india).strftime("%Y-%m-%d %H:%M:%S.") + f"{t % 1000:03d} +0530",
            "utc_day": at.strftime("%Y-%m-%d"),
        })
    assert got == want, got


def test_md5_and_sha256(logs, dated):
    got = query(logs, dated["group"], "fields k, md5(u) as m, sha256(u) as s | sort k asc",
                start_ms=dated["start"])
    assert hashlib.md5(b"hello").hexdigest() == "5d41402abc4b2a76b9719d911017c592"
    assert hashlib.sha256(b"hello").hexdigest() == \
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    want = []
    for doc in dated["docs"]:
        row = {"k": str(doc["k"])}
        if "u" in doc:  # an absent value hashes to null
            row["m"] = hashlib.md5(doc["u"].encode()).hexdigest()
            row["s"] = hashlib.sha256(doc["u"].encode()).hexdigest()
        want.append(row)
    assert want[0] == {"k": "1", "m": "5d41402abc4b2a76b9719d911017c592",
                       "s": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    assert got == want, got


# --------------------------------------------------------------------------------------------
# expand and json field=


def test_expand_counts_array_elements(logs):
    t = now_ms() - 10 * MINUTE_MS
    docs = [
        {"items": ["apple", "banana"], "host": "h1"},
        {"items": ["apple"], "host": "h2"},
        {"items": [], "host": "h3"},  # an empty array makes no rows
        {"items": ["cherry", "apple", "banana"], "host": "h4"},
    ]
    group = write(logs, "expand", [(t + i, d) for i, d in enumerate(docs)])
    got = query(logs, group, "expand items | stats count(*) as n by items | sort items asc", start_ms=t)
    assert got == [{"items": "apple", "n": "3"}, {"items": "banana", "n": "2"},
                   {"items": "cherry", "n": "1"}], got
    # Every other field is copied onto each element's row.
    got = query(logs, group, 'expand items | filter items = "banana" | fields host, items | sort host asc',
                start_ms=t)
    assert got == [{"host": "h1", "items": "banana"}, {"host": "h4", "items": "banana"}], got


def test_expand_object_elements(logs):
    t = now_ms() - 10 * MINUTE_MS
    docs = [
        {"items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}], "host": "h1"},
        {"items": [{"sku": "A1", "qty": 3}], "host": "h2"},
    ]
    group = write(logs, "expand-objects", [(t + i, d) for i, d in enumerate(docs)])
    got = query(logs, group,
                "expand items | stats sum(items.qty) as q, count(*) as n by items.sku | sort items.sku asc",
                start_ms=t)
    assert got == [{"items.sku": "A1", "q": "5", "n": "2"}, {"items.sku": "B2", "q": "1", "n": "1"}], got


def test_json_field_from_text_and_from_nested_object(logs):
    t = now_ms() - 10 * MINUTE_MS
    docs = [
        {"k": 1, "payload": json.dumps({"user": {"name": "ann"}}), "req": {"user": {"name": "bob"}}},
        {"k": 2, "payload": json.dumps({"user": {"id": 7}}), "req": {"user": {"name": "cy", "id": 9}}},
    ]
    group = write(logs, "json-field", [(t + i, d) for i, d in enumerate(docs)])
    got = query(logs, group,
                'json field=payload "user.name" as username '
                '| json field=req "user.name" as who | fields k, username, who | sort k asc',
                start_ms=t)
    # A path with no value leaves the name as it was (absent here).
    assert got == [{"k": "1", "username": "ann", "who": "bob"}, {"k": "2", "who": "cy"}], got


# --------------------------------------------------------------------------------------------
# Time-series stats functions


def test_histogram(logs):
    t = now_ms() - 10 * MINUTE_MS
    docs = [{"latency": 10}, {"latency": 20}, {"latency": 30}, {"latency": "slow"}, {"other": 1}]
    group = write(logs, "histogram", [(t + i, d) for i, d in enumerate(docs)])
    [row] = query(logs, group, "stats histogram(latency, 2) as h", start_ms=t)
    assert row["h"] == '{"[10, 20)":1,"[20, 30]":2}', row
    # Width 5: an empty range is kept; ranges in ascending order.
    [row] = query(logs, group, "stats histogram(latency, 4) as h", start_ms=t)
    assert row["h"] == '{"[10, 15)":1,"[15, 20)":0,"[20, 25)":1,"[25, 30]":1}', row
    assert json.loads(row["h"]) == {"[10, 15)": 1, "[15, 20)": 0, "[20, 25)": 1, "[25, 30]": 1}


def test_rate_by_route(logs):
    t = (now_ms() - 20 * MINUTE_MS) // SECOND_MS * SECOND_MS
    events = [
        (t, {"route": "/a", "bytes": 100}),
        (t + 10 * SECOND_MS, {"route": "/a", "bytes": 400}),
        (t + 30 * SECOND_MS, {"route": "/a", "bytes": 1000}),
        (t + 40 * SECOND_MS, {"route": "/a", "bytes": "-"}),  # not numeric: not the latest value
        (t + 5 * SECOND_MS, {"route": "/b", "bytes": 10}),
        (t + 65 * SECOND_MS, {"route": "/b", "bytes": 70}),
        (t + 7 * SECOND_MS, {"route": "/c", "bytes": 5}),  # one instant: null
    ]
    group = write(logs, "rate", events)
    got = query(logs, group, "stats rate(bytes, 1m) as r by route | sort route asc", start_ms=t)
    # (latest - earliest) / (time difference) x period
    rate_a = (1000 - 100) / (30 * SECOND_MS) * MINUTE_MS
    rate_b = (70 - 10) / (60 * SECOND_MS) * MINUTE_MS
    assert (rate_a, rate_b) == (1800, 60)
    assert got == [{"route": "/a", "r": "1800"}, {"route": "/b", "r": "60"}, {"route": "/c"}], got


def test_count_and_sum_over_time_by_hour(logs):
    hour = now_ms() // HOUR_MS * HOUR_MS - 2 * HOUR_MS
    events = [
        (hour + 5 * MINUTE_MS, {"bytes": 10}),
        (hour + 50 * MINUTE_MS, {"bytes": 32}),
        (hour + 70 * MINUTE_MS, {"bytes": 5}),
        (hour + 80 * MINUTE_MS, {"other": "no bytes"}),  # in the bin, not counted by count(bytes)
    ]
    group = write(logs, "over-time", events)
    got = query(logs, group, "stats count_over_time(bytes) as c, sum_over_time(bytes) as s by bin(1h)",
                start_ms=hour)
    by_bin = {r["bin(1h)"]: (r["c"], r["s"]) for r in got}
    assert by_bin == {insights_time(hour): ("2", "42"), insights_time(hour + HOUR_MS): ("1", "5")}, got
    assert len(got) == 2, got


# --------------------------------------------------------------------------------------------
# Compile errors


@pytest.mark.parametrize("text", [
    'fields formatDate(@timestamp, "%Q")',
    'fields parseDate(d, "yyyy-GG")',
    "stats histogram(x, 0)",
])
def test_compile_errors(logs, dated, text):
    now_s = now_ms() // SECOND_MS
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=dated["group"],
                       startTime=now_s - 3600, endTime=now_s, queryString=text)
    assert err.response["Error"]["Code"] == "MalformedQueryException"


# --------------------------------------------------------------------------------------------
# The aws CLI


@pytest.fixture(params=["v1", "v2-debian"])
def aws(request, ci, server):
    path = cli_path(request.param, ci)

    def run(*args: str) -> dict:
        proc = subprocess.run(base_args(path, server) + list(args), capture_output=True, text=True,
                              timeout=120, env=cli_env(server))
        assert proc.returncode == 0, f"aws {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
        return out_json(proc)

    return run


def test_cli_start_query_with_hashes_and_dates(aws, dated):
    q = ('filter k = 1 | fields md5(u) as m, sha256(u) as s, '
         'parseDate(d, "yyyy-MM-dd HH:mm:ss", "America/New_York") as ny, '
         'formatDate(@timestamp, "%Y-%m-%d %H:%M %Z", "Asia/Tokyo") as tokyo')
    start_s = str(dated["start"] // SECOND_MS - 60)
    end_s = str(now_ms() // SECOND_MS + 60)
    started = aws("logs", "start-query", "--log-group-name", dated["group"], "--start-time", start_s,
                  "--end-time", end_s, "--query-string", q)
    assert started.get("queryId"), started
    resp = wait_for(lambda: aws("logs", "get-query-results", "--query-id", started["queryId"]),
                    lambda r: r["status"] not in ("Scheduled", "Running"), timeout=60, interval=0.1,
                    what=f"query {q!r} to finish")
    assert resp["status"] == "Complete", resp
    got = [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in resp["results"]]
    at = datetime.datetime.fromtimestamp(dated["stamps"][0] / 1000, tz=ZoneInfo("Asia/Tokyo"))
    assert got == [{"m": "5d41402abc4b2a76b9719d911017c592",
                    "s": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
                    "ny": "1705338000000", "tokyo": at.strftime("%Y-%m-%d %H:%M") + " JST"}], got


def test_row_sequence_commands_and_count_frequent(logs):
    """addtotals, filldown, accum, autoregress, sessionize and countFrequent as AWS's examples
    write them; the order they run in is the rows' (here sorted by time)."""
    t0 = now_ms() - 2 * HOUR_MS
    docs = [
        (t0, {"host": "a", "cpu_user": 1, "bytes": 10, "user": "u1", "method": "GET", "status": 200}),
        (t0 + MINUTE_MS, {"cpu_user": 3, "bytes": 20, "user": "u1", "method": "GET", "status": 200}),
        (t0 + 2 * MINUTE_MS, {"host": "b", "bytes": 30, "user": "u2", "method": "POST", "status": 500}),
        (t0 + 50 * MINUTE_MS, {"cpu_user": 5, "bytes": 40, "user": "u1", "method": "GET", "status": 404}),
    ]
    group = write(logs, "rowcmds", docs)
    got = query(
        logs, group,
        "fields @timestamp, host, cpu_user, bytes | sort @timestamp asc | filldown host cpu* "
        "| accum bytes AS totalBytes | autoregress bytes p=1-2 | addtotals fieldname=Sum cpu_user, bytes "
        "| display host, cpu_user, totalBytes, bytes_p1, bytes_p2, Sum",
        start_ms=t0,
    )
    assert got == [
        {"host": "a", "cpu_user": "1", "totalBytes": "10", "Sum": "11"},
        {"host": "a", "cpu_user": "3", "totalBytes": "30", "bytes_p1": "10", "Sum": "23"},
        {"host": "b", "cpu_user": "3", "totalBytes": "60", "bytes_p1": "20", "bytes_p2": "10", "Sum": "33"},
        {"host": "b", "cpu_user": "5", "totalBytes": "100", "bytes_p1": "30", "bytes_p2": "20", "Sum": "45"},
    ]
    got = query(
        logs, group,
        "fields @timestamp, user | sessionize user maxspan 30m | sort @timestamp asc | display user, session_id",
        start_ms=t0,
    )
    assert [(r["user"], r["session_id"]) for r in got] == [("u1", "1"), ("u1", "1"), ("u2", "2"), ("u1", "3")]
    got = query(logs, group, "fields method, status | countFrequent method, status", start_ms=t0)
    assert got == [
        {"method": "GET", "status": "200", "_approxcount": "2"},
        {"method": "GET", "status": "404", "_approxcount": "1"},
        {"method": "POST", "status": "500", "_approxcount": "1"},
    ]
    got = query(logs, group, "stats sum(bytes) as b by method | addtotals row=false col=true", start_ms=t0)
    assert got[-1] == {"b": "100"}


def test_appendcols_outlier_fillmissing(logs):
    """appendcols with AWS's example shape (a subquery over another group, rows laid over by
    position), outlier with its options, fillmissing after stats by bin()."""
    t0 = (now_ms() - 2 * HOUR_MS) // MINUTE_MS * MINUTE_MS
    main = write(logs, "appendcols-main", [
        (t0, {"svc": "api", "latency": 10}),
        (t0 + 1, {"svc": "api", "latency": 12}),
        (t0 + 2 * MINUTE_MS, {"svc": "web", "latency": 11}),
        (t0 + 3 * MINUTE_MS, {"svc": "web", "latency": 500}),
    ])
    other = write(logs, "appendcols-other", [
        (t0, {"svc": "api", "latency": 100}),
        (t0 + 1, {"svc": "web", "latency": 300}),
    ])
    got = query(logs, main,
                f"fields svc | stats count(*) as cnt by svc | appendcols override=true "
                f"( SOURCE '{other}' | stats avg(latency) as avgLat by svc )", start_ms=t0)
    assert got == [{"svc": "api", "cnt": "2", "avgLat": "100"}, {"svc": "web", "cnt": "2", "avgLat": "300"}]
    got = query(logs, main, "fields latency | sort @timestamp asc | outlier action=remove mark=true latency"
                            " | display latency, _outlier", start_ms=t0)
    assert got == [{"latency": v, "_outlier": "false"} for v in ("10", "12", "11")]
    got = query(logs, main, "stats count(*) as n by bin(1m) | fillmissing with 0 for n",
                start_ms=t0, end_ms=t0 + 4 * MINUTE_MS - 1)
    # query() widens the range by a minute on each side: those bins are empty too.
    assert [r["n"] for r in got] == ["0", "2", "0", "1", "1", "0"]


def test_relevantfields_as_aws_writes_it(logs):
    """AWS's example `relevantfields Controller, Path, Service where Time > 400`: the field that
    splits along the condition first, with its contributors; numbers with their medians."""
    t0 = now_ms() - HOUR_MS
    group = write(logs, "relevantfields", [
        (t0, {"Time": 100, "Controller": "home", "Path": "/", "Service": "a"}),
        (t0 + 1, {"Time": 150, "Controller": "home", "Path": "/", "Service": "b"}),
        (t0 + 2, {"Time": 900, "Controller": "cart", "Path": "/", "Service": "a"}),
        (t0 + 3, {"Time": 800, "Controller": "cart", "Path": "/", "Service": "b"}),
    ])
    got = query(logs, group, "relevantfields Controller, Path, Service where Time > 400", start_ms=t0)
    assert got == [
        {"@fieldName": "Controller", "@relevanceScore": "1",
         "@topRelevanceContributors": "cart: 100% vs 0%, home: 0% vs 100%"},
        {"@fieldName": "Path", "@relevanceScore": "0"},
        {"@fieldName": "Service", "@relevanceScore": "0"},
    ]
    got = query(logs, group, "relevantfields where Controller = 'cart'", start_ms=t0)
    assert got[0] == {"@fieldName": "Time", "@relevanceScore": "1",
                      "@conditionalMedian": "800", "@baselineMedian": "100"}
