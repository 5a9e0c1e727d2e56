"""Logs Insights over flushed segments that keep discovered fields as columns
(`logs.field_columns = true`): the same answers as reading the messages, through boto3.

A graceful stop flushes every head into segment files; the restarted server then reads the
events only from segments. Each query is asked twice: as written (reading only discovered
fields, so from the columns) and with `ispresent(@message)` added (which makes it read every
message), and both answers are checked against what the test computes itself.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter

from support import boto_client

CONFIG = "[logs]\nfield_columns = true\n"
GROUP = "/columns/apigw"
N = 3_000


def message(i: int) -> str:
    doc = {"requestId": f"req-{i:06d}", "status": [200, 404, 500, 503][i % 4],
           "route": ["/a", "/b", "/c"][i % 3], "latency": (i * 37) % 500}
    if i % 10 == 0:
        doc["note"] = ""
    if i % 17 == 0:
        return f"plain line {i}"
    return json.dumps(doc, separators=(",", ":"))


def poll(logs, qid: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        r = logs.get_query_results(queryId=qid)
        if r["status"] not in ("Scheduled", "Running"):
            return r
        assert time.monotonic() < deadline, r
        time.sleep(0.02)


def query(logs, q: str, start_s: int, end_s: int) -> list[dict[str, str]]:
    qid = logs.start_query(logGroupName=GROUP, startTime=start_s, endTime=end_s, queryString=q)["queryId"]
    r = poll(logs, qid)
    assert r["status"] == "Complete", r
    assert r["statistics"]["recordsScanned"] == N, r["statistics"]
    return sorted(({f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in r["results"]),
                  key=lambda d: sorted(d.items()))


def blocks_read(srv) -> dict[str, int]:
    """The server's counters of segment blocks read, by source (GET /metrics)."""
    text = urllib.request.urlopen(f"{srv.url}/metrics", timeout=10).read().decode()
    return {m[0]: int(m[1]) for m in re.findall(r'nephoscope_log_blocks_read_total\{from="(\w+)"\} (\d+)', text)}


def process_cpu(srv) -> float:
    """The server's process_cpu_seconds_total (GET /metrics)."""
    text = urllib.request.urlopen(f"{srv.url}/metrics", timeout=10).read().decode()
    found = re.findall(r"^process_cpu_seconds_total (\S+)$", text, re.M)
    assert len(found) == 1, text
    return float(found[0])


def test_column_reads_answer_as_message_reads(tmp_path, start_server):
    data = tmp_path / "data"
    srv = start_server(ephemeral=False, config=CONFIG, data_dir=data)
    logs = boto_client(srv, "logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    base = (int(time.time()) - 3_600) * 1000
    msgs = [message(i) for i in range(N)]
    for at in range(0, N, 1_000):
        logs.put_log_events(logGroupName=GROUP, logStreamName="s", logEvents=[
            {"timestamp": base + i * 1_000, "message": msgs[i]} for i in range(at, at + 1_000)])
    assert srv.stop() == 0  # flushes every head into segment files
    srv = start_server(ephemeral=False, config=CONFIG, data_dir=data)
    logs = boto_client(srv, "logs")
    start_s, end_s = base // 1000 - 1, base // 1000 + N + 1
    docs = [json.loads(m) for m in msgs if m.startswith("{")]

    by_route = Counter(d["route"] for d in docs if d["status"] >= 500)
    want = sorted(({"route": r, "n": str(c)} for r, c in by_route.items()), key=lambda d: sorted(d.items()))
    notes = Counter(d["status"] for d in docs if d.get("note") == "")
    want_notes = sorted(({"status": str(s), "n": str(c)} for s, c in notes.items()),
                        key=lambda d: sorted(d.items()))
    cases = [
        ("filter status >= 500 | stats count(*) as n by route", want),
        ("filter note = '' | stats count(*) as n by status", want_notes),
        ("filter latency < 5 | fields route, latency | sort latency, route | limit 5",
         [{"route": d["route"], "latency": str(d["latency"])} for d in sorted(
             (d for d in docs if d["latency"] < 5), key=lambda d: (d["latency"], d["route"]))[:5]]),
    ]
    # A field whose values are all different (requestId) is left in the messages.
    cpu_before = process_cpu(srv)
    before = blocks_read(srv)
    got = query(logs, "filter latency < 2 | fields requestId | sort requestId | limit 3", start_s, end_s)
    assert got == [{"requestId": d["requestId"]} for d in sorted(
        (d for d in docs if d["latency"] < 2), key=lambda d: d["requestId"])[:3]]
    assert blocks_read(srv)["messages"] > before["messages"]
    for q, expected in cases:
        before = blocks_read(srv)
        from_columns = query(logs, q, start_s, end_s)
        middle = blocks_read(srv)
        head, _, tail = q.partition(" | ")
        from_messages = query(logs, f"{head} and ispresent(@message) | {tail}", start_s, end_s)
        after = blocks_read(srv)
        # The first read only the columns, the second only the messages.
        assert middle["columns"] > before["columns"] and middle["messages"] == before["messages"], (q, before, middle)
        assert after["messages"] > middle["messages"] and after["columns"] == middle["columns"], (q, middle, after)
        assert from_columns == from_messages, q
        assert from_columns == sorted(expected, key=lambda d: sorted(d.items())), q
    # The queries' work shows in the server's CPU counter (nanosecond resolution).
    assert process_cpu(srv) > cpu_before
