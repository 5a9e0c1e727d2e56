"""Logs Insights `pattern`, `diff`, `filterIndex` and `unmask()` through current boto3.

AWS documents the output of `pattern` as `@pattern` (dynamic parts as `<*>`), `@ratio`,
`@sampleCount` and `@severityLabel`, and `diff` as comparing the query's period with the previous
period of equal length (or the same time the previous day/week/month). AWS clusters with machine
learning; Nephoscope's clustering is the fixed rule `crates/engines/insights/src/pattern.rs`
documents (date-times and tokens with digits are dynamic), and the expected patterns below follow
it. `diff`'s own output fields are not documented by AWS: docs/compatibility.md names Nephoscope's.
"""

from __future__ import annotations

import pytest

from support import boto_client, now_ms
from test_logs_insights import (
    MINUTE_MS,
    SECOND_MS,
    Event,
    expect_error,
    new_group,
    put_events,
    rows,
    run_query,
)

WINDOW_S = 600  # the query period: ten minutes


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


@pytest.fixture(scope="module")
def window(logs) -> dict:
    """A group with lines in the query period [start_s, end_s] and in the ten minutes before it."""
    base = (now_ms() - 30 * MINUTE_MS) // SECOND_MS * SECOND_MS
    start_s = base // SECOND_MS
    end_s = start_s + WINDOW_S - 1
    group = new_group(logs, "patterns")
    current = [f"[INFO] Request time: {100 + i} ms" for i in range(6)] + [
        f"[ERROR] Failed to do: connect to 10.0.0.{i}:5432" for i in range(3)
    ] + ["[WARN] cache cold for tenant acme"]
    previous = [f"[INFO] Request time: {7 + i} ms" for i in range(6)] + [
        f"[INFO] Job {i} finished" for i in range(4)
    ]
    events = [Event(group, "app", base + i * 20 * SECOND_MS + 3, m) for i, m in enumerate(current)]
    events += [Event(group, "app", base - WINDOW_S * SECOND_MS + i * 20 * SECOND_MS + 5, m)
               for i, m in enumerate(previous)]
    put_events(logs, events)
    return {"group": group, "start_s": start_s, "end_s": end_s, "current": current, "previous": previous}


def run(logs, window: dict, q: str) -> dict:
    return run_query(logs, q, start_s=window["start_s"], end_s=window["end_s"], logGroupName=window["group"])


def test_pattern_clusters_the_period(logs, window):
    resp = run(logs, window, "pattern @message")
    got = rows(resp)
    n = len(window["current"])
    assert got == [
        {"@pattern": "[INFO] Request time: <*> ms", "@ratio": str(6 / n), "@sampleCount": "6",
         "@severityLabel": "Info"},
        {"@pattern": "[ERROR] Failed to do: connect to <*>:<*>", "@ratio": str(3 / n), "@sampleCount": "3",
         "@severityLabel": "Error"},
        {"@pattern": "[WARN] cache cold for tenant acme", "@ratio": str(1 / n), "@sampleCount": "1",
         "@severityLabel": "Warning"},
    ], got
    assert all("@ptr" not in r for r in got)
    assert resp["statistics"]["recordsScanned"] == n, resp["statistics"]


def test_pattern_with_filter_parse_and_sort(logs, window):
    # The documented combination: filter | parse | pattern <extracted field> | sort @sampleCount.
    resp = run(logs, window,
               "filter @message like /ERROR|WARN/ | parse @message '] *' as rest "
               "| pattern rest | sort @sampleCount asc")
    assert rows(resp) == [
        {"@pattern": "cache cold for tenant acme", "@ratio": "0.25", "@sampleCount": "1"},
        {"@pattern": "Failed to do: connect to <*>:<*>", "@ratio": "0.75", "@sampleCount": "3"},
    ], rows(resp)


def test_diff_compares_with_the_previous_period(logs, window):
    resp = run(logs, window, "pattern @message | diff")
    got = {r["@pattern"]: r for r in rows(resp)}
    assert set(got) == {"[INFO] Request time: <*> ms", "[ERROR] Failed to do: connect to <*>:<*>",
                        "[WARN] cache cold for tenant acme", "[INFO] Job <*> finished"}, got
    req = got["[INFO] Request time: <*> ms"]
    assert (req["@sampleCount"], req["@previousSampleCount"], req["@changeType"]) == ("6", "6", "Unchanged")
    assert req["@diffRatio"] == "0"
    err = got["[ERROR] Failed to do: connect to <*>:<*>"]
    assert (err["@sampleCount"], err["@previousSampleCount"], err["@changeType"]) == ("3", "0", "New")
    assert "@diffRatio" not in err  # no previous samples: no ratio
    job = got["[INFO] Job <*> finished"]
    assert (job["@sampleCount"], job["@previousSampleCount"], job["@changeType"]) == ("0", "4", "Removed")
    assert job["@diffRatio"] == "-1"
    # Both periods are read (AWS bills a comparison like one query over the combined range).
    scanned = len(window["current"]) + len(window["previous"])
    assert resp["statistics"]["recordsScanned"] == scanned, resp["statistics"]


def test_diff_previous_day_has_nothing_to_compare(logs, window):
    got = rows(run(logs, window, "pattern @message | diff previousDay | sort @sampleCount desc"))
    assert [(r["@sampleCount"], r["@previousSampleCount"], r["@changeType"]) for r in got] == [
        ("6", "0", "New"), ("3", "0", "New"), ("1", "0", "New")], got


def test_logcompare_timeshift_with_a_source_time_range(logs):
    # AWS's example: `SOURCE lg start=-1d end=now | logcompare timeshift 7d` (here an hour).
    group = new_group(logs, "logcompare")
    now = now_ms()
    week = 7 * 24 * 60 * MINUTE_MS
    current = ["GET /a 200 in 12 ms", "GET /a 200 in 15 ms", "[ERROR] upstream 10.0.0.7 refused"]
    baseline = ["GET /a 200 in 9 ms", "[INFO] cache warmed in 3 s", "[INFO] cache warmed in 4 s"]
    # (One batch per day: a PutLogEvents batch spans at most 24 hours.)
    put_events(logs, [Event(group, "old", now - week - 10 * MINUTE_MS + i, m) for i, m in enumerate(baseline)])
    # Outside both hours: neither period reads it.
    put_events(logs, [Event(group, "s", now - 3 * 60 * MINUTE_MS, "GET /a 200 in 1 ms")]
               + [Event(group, "s", now - 10 * MINUTE_MS + i, m) for i, m in enumerate(current)])
    # The request's range is a day ago: SOURCE's start=/end= replace it.
    day_ago_s = (now - 24 * 60 * MINUTE_MS) // SECOND_MS
    resp = run_query(logs, f"SOURCE {group} start=-1h end=now | logcompare timeshift 7d",
                     start_s=day_ago_s - 60, end_s=day_ago_s)
    got = {r["@pattern"]: (r["@sampleCount"], r["@previousSampleCount"], r["@changeType"]) for r in rows(resp)}
    assert got == {
        "GET /a <*> in <*> ms": ("2", "1", "Increased"),
        "[ERROR] upstream <*> refused": ("1", "0", "New"),
        "[INFO] cache warmed in <*> s": ("0", "2", "Removed"),
    }, got
    assert resp["statistics"]["recordsScanned"] == 6, resp["statistics"]
    expect_error("MalformedQueryException", logs.start_query,
                 queryString="fields @message | logcompare timeshift", startTime=day_ago_s - 60,
                 endTime=day_ago_s, logGroupName=group)


def test_anomaly_marks_a_pattern_new_in_the_last_tenth(logs):
    # AWS's example form: fields … | filter … | pattern @message | anomaly | sort …
    group = new_group(logs, "anomaly")
    now = now_ms()
    start = now - 100 * MINUTE_MS
    steady = [Event(group, "s", start + b * 10 * MINUTE_MS + k, f"[INFO] job {b}{k} done") for b in range(10) for k in range(2)]
    fresh = [Event(group, "s", start + 95 * MINUTE_MS + k, f"[ERROR] worker {k} crashed") for k in range(3)]
    put_events(logs, steady + fresh)
    resp = run_query(logs, "fields @timestamp, @message | filter @message like /job|worker/ | pattern @message | anomaly "
                           "| sort @sampleCount desc",
                     start_s=start // SECOND_MS, end_s=start // SECOND_MS + 100 * 60 - 1, logGroupName=group)
    got = {r["@pattern"]: r for r in rows(resp)}
    assert set(got) == {"[INFO] job <*> done", "[ERROR] worker <*> crashed"}, got
    assert "@anomalyType" not in got["[INFO] job <*> done"]
    crashed = got["[ERROR] worker <*> crashed"]
    assert (crashed["@anomalyType"], crashed["@anomalyPriority"]) == ("NewPattern", "HIGH"), crashed
    assert crashed["@sampleCount"] == "3"


def test_filter_index_returns_what_filter_returns(logs):
    group = new_group(logs, "filterindex")
    base = now_ms() - 5 * MINUTE_MS
    ips = ["198.51.100.0", "198.51.100.1", "198.51.100.2", "198.51.100.0"]
    put_events(logs, [Event(group, "s", base + i, f'{{"IPaddress":"{ip}","n":{i}}}') for i, ip in enumerate(ips)])
    start_s, end_s = base // SECOND_MS - 1, base // SECOND_MS + 60
    for cond in ['IPaddress = "198.51.100.0"', 'IPaddress in ["198.51.100.0", "198.51.100.1"]']:
        with_index = rows(run_query(logs, f"fields @timestamp, n | filterIndex {cond} | sort n asc | limit 20",
                                    start_s=start_s, end_s=end_s, logGroupName=group))
        with_filter = rows(run_query(logs, f"fields @timestamp, n | filter {cond} | sort n asc | limit 20",
                                     start_s=start_s, end_s=end_s, logGroupName=group))
        want = [str(i) for i, ip in enumerate(ips) if ip in cond]
        assert [r["n"] for r in with_index] == want, (cond, with_index)
        assert [{k: v for k, v in r.items() if k != "@ptr"} for r in with_index] == \
            [{k: v for k, v in r.items() if k != "@ptr"} for r in with_filter]


def test_unmask_returns_the_message(logs, window):
    got = rows(run(logs, window, "fields @timestamp, @message, unmask(@message) | sort @timestamp asc | limit 3"))
    assert [r["unmask(@message)"] for r in got] == window["current"][:3], got
    assert all(r["unmask(@message)"] == r["@message"] for r in got)


@pytest.mark.parametrize("text, bad", [
    ("fields @message | diff", "diff"),
    ("pattern @message | sort @sampleCount desc | diff", "diff"),
    ("filterIndex region != 'x'", "region"),
    ("fields @message | unmask @message", "unmask"),
])
def test_unsupported_forms_are_malformed_with_a_location(logs, window, text, bad):
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=window["group"],
                       queryString=text, startTime=window["start_s"], endTime=window["end_s"])
    loc = err.response["queryCompileError"]["location"]
    at = text.rindex(bad)
    assert loc["startCharOffset"] == at, (loc, text)
