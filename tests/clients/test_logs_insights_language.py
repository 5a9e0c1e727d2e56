"""Logs Insights language additions through boto3 against the real server: parse logfmt / csv /
multi-match, `limit any`, subqueries (`filter f in (SOURCE '<group>' | ... | fields f)`) and
`join ... (SOURCE '<group>')`, with AWS's documented syntax; the configured subquery and join
limits; and the constructs still rejected with MalformedQueryException and a location.

Every expected value is computed from the events the test wrote; queries are polled with a
deadline, never slept on.
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from support import boto_client, unique
from test_logs_insights_limits import poll


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


def put(logs, group: str, messages: list[str], *, t0: int) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    events = [{"timestamp": t0 + i, "message": m} for i, m in enumerate(messages)]
    resp = logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    assert "rejectedLogEventsInfo" not in resp, resp


def run(logs, group: str, query: str, *, status: str = "Complete") -> dict:
    now = int(time.time())
    qid = logs.start_query(logGroupName=group, startTime=now - 3600, endTime=now + 60,
                           queryString=query)["queryId"]
    r = poll(logs, qid, deadline_s=30)
    assert r["status"] == status, (query, r)
    return r


def table(r: dict) -> list[dict[str, str]]:
    return [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in r["results"]]


@pytest.fixture(scope="module")
def groups(logs):
    """An API group, a Lambda group (the right side / subquery source) and a logfmt/csv group."""
    t0 = int(time.time() * 1000) - 60_000
    base = f"/neph/lang/{unique()}"
    api = [
        {"requestId": "r1", "status": 500, "latency": 120},
        {"requestId": "r2", "status": 200, "latency": 20},
        {"requestId": "r3", "status": 503, "latency": 300},
        {"requestId": "r4", "status": 502, "latency": 50},
    ]
    fn = [
        {"requestId": "r1", "duration": 100, "errorType": "DatabaseConnectionTimeout"},
        {"requestId": "r3", "duration": 280},
        {"requestId": "r3", "duration": 5},
        {"other": "no key"},
    ]
    text = [
        'level=error msg="connection failed" duration=42 host=web-1',
        "level=info msg=started duration=1 host=web-2",
        "2024-01-01,ERROR,disk full",
        '2024-01-03,ERROR,"quoted, with comma"',
        "from 10.0.0.1 to 10.0.0.2 via 10.0.0.1",
    ]
    g = {"api": f"{base}/api", "fn": f"{base}/fn", "text": f"{base}/text"}
    put(logs, g["api"], [json.dumps(d) for d in api], t0=t0)
    put(logs, g["fn"], [json.dumps(d) for d in fn], t0=t0)
    put(logs, g["text"], text, t0=t0)
    g["api_docs"], g["fn_docs"], g["text_lines"] = api, fn, text
    return g


def test_parse_logfmt(logs, groups):
    r = run(logs, groups["text"], 'parse @message logfmt as lf | filter lf.level = "error" '
                                  "| display lf.msg, lf.duration")
    assert table(r) == [{"lf.msg": "connection failed", "lf.duration": "42"}]
    r = run(logs, groups["text"], "parse @message logfmt as lf | filter ispresent(lf.host) "
                                  "| stats count(*) as n by lf.host")
    assert table(r) == [{"lf.host": "web-1", "n": "1"}, {"lf.host": "web-2", "n": "1"}]


def test_parse_csv(logs, groups):
    r = run(logs, groups["text"], 'parse @message csv as timestamp, level, message '
                                  '| filter level = "ERROR" | display timestamp, message '
                                  "| sort @timestamp asc")
    assert table(r) == [{"timestamp": "2024-01-01", "message": "disk full"},
                        {"timestamp": "2024-01-03", "message": "quoted, with comma"}]


def test_parse_multi_match(logs, groups):
    r = run(logs, groups["text"], r"parse @message /(\d+\.\d+\.\d+\.\d+)/ as ip_addr multi "
                                  "| filter ispresent(ip_addr) | stats count(*) as n by ip_addr")
    assert table(r) == [{"ip_addr": "10.0.0.1", "n": "2"}, {"ip_addr": "10.0.0.2", "n": "1"}]


def test_limit_any(logs, groups):
    r = run(logs, groups["text"], "fields @message | limit any 2")
    got = [row["@message"] for row in table(r)]
    assert len(got) == 2 and set(got) <= set(groups["text_lines"]), got
    # A filtered `limit any` returns matching rows only.
    r = run(logs, groups["text"], "filter @message like /ERROR/ | fields @message | limit any 1")
    assert [row["@message"] for row in table(r)][0] in groups["text_lines"][2:4]


def test_subquery_doc_example(logs, groups):
    q = f"""filter requestId in (
        SOURCE '{groups["fn"]}'
        | filter errorType = "DatabaseConnectionTimeout"
        | fields requestId
    )
    | fields requestId, status
    | sort @timestamp desc"""
    assert table(run(logs, groups["api"], q)) == [{"requestId": "r1", "status": "500"}]
    # With aggregation inside, and `not in`.
    q = f"""filter requestId not in (
        SOURCE '{groups["fn"]}' | stats count(*) as n by requestId | fields requestId
    ) | fields requestId | sort requestId asc"""
    assert table(run(logs, groups["api"], q)) == [{"requestId": "r2"}, {"requestId": "r4"}]


def test_join_doc_examples(logs, groups):
    q = f"""filter status >= 500
    | join type=inner left=api right=lambda
        where api.requestId=lambda.requestId
        (SOURCE '{groups["fn"]}')
    | fields api.requestId, api.status, api.latency, lambda.duration
    | sort api.latency desc, lambda.duration desc"""
    want = []
    for a in sorted(groups["api_docs"], key=lambda d: -d["latency"]):
        if a["status"] < 500:
            continue
        for f in sorted(groups["fn_docs"], key=lambda d: -d.get("duration", 0)):
            if f.get("requestId") == a["requestId"]:
                want.append({"api.requestId": a["requestId"], "api.status": str(a["status"]),
                             "api.latency": str(a["latency"]), "lambda.duration": str(f["duration"])})
    assert table(run(logs, groups["api"], q)) == want
    q = f"""join type=left left=o right=p where o.requestId = p.requestId (SOURCE '{groups["fn"]}')
    | filter !ispresent(p.duration) | fields o.requestId | sort o.requestId asc"""
    assert table(run(logs, groups["api"], q)) == [{"o.requestId": "r2"}, {"o.requestId": "r4"}]


def test_unknown_source_group_is_resource_not_found(logs, groups):
    now = int(time.time())
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName=groups["api"], startTime=now - 60, endTime=now,
                         queryString="filter requestId in (SOURCE '/no/such/group' | fields requestId)")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("text, bad", [
    ("SOURCE '/g' start=1h | fields @message", "1h"),
    ("filter a in (SOURCE '/g' | filter b in (SOURCE '/h' | fields b) | fields a)", "("),
    ("join left=a right=b where a.k != b.k (SOURCE '/g')", "!="),
    ("join left=a right=b where a.k = b.k (SOURCE '/g' | filter x = 1)", "SOURCE '/g' | filter x = 1"),
    ("parse @message XML '/event/level' as l", "XML"),
])
def test_still_rejected_with_a_location(logs, groups, text, bad):
    now = int(time.time())
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName=groups["api"], startTime=now - 60, endTime=now, queryString=text)
    assert e.value.response["Error"]["Code"] == "MalformedQueryException"
    loc = e.value.response["queryCompileError"]["location"]
    at = text.index(bad) if bad != "(" else text.index("(", text.index("b in"))
    assert loc["startCharOffset"] <= at <= loc["endCharOffset"], (loc, text)


def test_configured_subquery_and_join_limits(start_server):
    srv = start_server(config="[logs]\ninsights_subquery_max_rows = 2\ninsights_join_max_keys = 1\n")
    logs = boto_client(srv, "logs")
    t0 = int(time.time() * 1000) - 60_000
    put(logs, "main", [json.dumps({"k": f"v{i}"}) for i in range(3)], t0=t0)
    put(logs, "side", [json.dumps({"k": f"v{i}"}) for i in range(3)], t0=t0)
    # Three rows are more than two: the query fails rather than compare with a cut set ...
    run(logs, "main", "filter k in (SOURCE 'side' | fields k) | fields k", status="Failed")
    # ... unless the subquery asks for its own limit.
    r = run(logs, "main", "filter k in (SOURCE 'side' | fields k | sort k asc | limit 2) | fields k | sort k asc")
    assert table(r) == [{"k": "v0"}, {"k": "v1"}]
    run(logs, "main", "join left=a right=b where a.k = b.k (SOURCE 'side') | fields a.k", status="Failed")


def test_configured_held_rows_limit(start_server):
    """A query that must hold every matching record (a SQL window over whole records) fails
    past `insights_max_held_rows` instead of growing without bound."""
    srv = start_server(config="[logs]\ninsights_max_held_rows = 5\n")
    logs = boto_client(srv, "logs")
    t0 = int(time.time() * 1000) - 60_000
    put(logs, "held", [json.dumps({"k": i, "tags": ["a", "b"]}) for i in range(8)], t0=t0)
    now = int(time.time())

    def sql(q: str) -> dict:
        qid = logs.start_query(startTime=now - 3600, endTime=now + 60,
                               queryString=q, queryLanguage="SQL")["queryId"]
        return poll(logs, qid, deadline_s=30)

    assert sql("SELECT k, ROW_NUMBER() OVER (ORDER BY k) AS rn FROM `held`")["status"] == "Failed"
    r = sql("SELECT k, ROW_NUMBER() OVER (ORDER BY k) AS rn FROM `held` WHERE k < 5 ORDER BY k")
    assert r["status"] == "Complete", r
    assert [row["rn"] for row in table(r)] == ["1", "2", "3", "4", "5"]
    # (A bounded query holds only its limit's rows: any number of records.)
    r = run(logs, "held", "fields k | sort k asc | limit 3")
    assert [row["k"] for row in table(r)] == ["0", "1", "2"]
    # (`expand` makes its rows record by record: it holds no more than the limit either.)
    assert len(table(run(logs, "held", "fields k | expand tags"))) == 16
    # (Only row commands over whole records are bounded: dedup, and a limit after `fields`,
    # answer as before.)
    assert len(table(run(logs, "held", "dedup tags.0 | fields k"))) == 1
    r = run(logs, "held", "sort k desc | fields k | limit 2")
    assert [row["k"] for row in table(r)] == ["7", "6"]
