"""Logs Insights limits from configuration: log groups per query, concurrency, timeout."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from support import boto_client


def poll(logs, qid, deadline_s=20):
    deadline = time.monotonic() + deadline_s
    while True:
        r = logs.get_query_results(queryId=qid)
        if r["status"] not in ("Scheduled", "Running"):
            return r
        assert time.monotonic() < deadline, r
        time.sleep(0.02)


def setup_groups(logs, n):
    now = int(time.time() * 1000)
    for i in range(n):
        logs.create_log_group(logGroupName=f"g{i}")
        logs.create_log_stream(logGroupName=f"g{i}", logStreamName="s")
        logs.put_log_events(logGroupName=f"g{i}", logStreamName="s",
                            logEvents=[{"timestamp": now, "message": f"event {i}"}])


def start(logs, groups, query="fields @message"):
    now = int(time.time())
    return logs.start_query(logGroupNames=groups, startTime=now - 600, endTime=now + 60,
                            queryString=query)["queryId"]


def test_log_groups_per_query_limit(start_server):
    srv = start_server(config="[logs]\ninsights_max_log_groups = 1\n")
    logs = boto_client(srv, "logs")
    setup_groups(logs, 2)
    assert poll(logs, start(logs, ["g0"]))["status"] == "Complete"
    with pytest.raises(ClientError) as e:
        start(logs, ["g0", "g1"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "at most 1 log groups" in e.value.response["Error"]["Message"]


def test_timeout_ends_a_query_with_status_timeout(start_server):
    srv = start_server(config="[logs]\ninsights_timeout_seconds = 0\n")
    logs = boto_client(srv, "logs")
    setup_groups(logs, 1)
    assert poll(logs, start(logs, ["g0"]))["status"] == "Timeout"


def test_default_limits_allow_fifty_groups(start_server):
    srv = start_server()
    logs = boto_client(srv, "logs")
    setup_groups(logs, 3)
    r = poll(logs, start(logs, ["g0", "g1", "g2"], "stats count(*) as n"))
    assert r["status"] == "Complete"
    assert [{f["field"]: f["value"] for f in row} for row in r["results"]] == [{"n": "3"}]


def test_source_selects_log_groups_by_prefix_and_class(start_server):
    srv = start_server()
    logs = boto_client(srv, "logs")
    now = int(time.time() * 1000)
    for name, cls in (("/app/a", "STANDARD"), ("/app/b", "INFREQUENT_ACCESS"), ("/other/c", "STANDARD")):
        logs.create_log_group(logGroupName=name, logGroupClass=cls)
        logs.create_log_stream(logGroupName=name, logStreamName="s")
        logs.put_log_events(logGroupName=name, logStreamName="s",
                            logEvents=[{"timestamp": now, "message": f"from {name}"}])
    t = int(time.time())

    def run(q, **kw):
        qid = logs.start_query(startTime=t - 600, endTime=t + 60, queryString=q, **kw)["queryId"]
        r = poll(logs, qid)
        assert r["status"] == "Complete", r
        return sorted({f["field"]: f["value"] for f in row}["@log"] for row in r["results"])

    # Without a class, the Standard class (AWS's default).
    assert run("SOURCE logGroups(namePrefix: ['/app']) | fields @log") == ["000000000000:/app/a"]
    assert run("SOURCE logGroups(namePrefix: ['/app', '/other'], class: 'STANDARD') | fields @log") == \
        ["000000000000:/app/a", "000000000000:/other/c"]
    assert run("SOURCE logGroups(namePrefix: ['/app'], class: ['INFREQUENT_ACCESS']) | fields @log") == \
        ["000000000000:/app/b"]
    # Every group of the class, and groups by name, as the console writes them.
    assert run("SOURCE logGroups() | fields @log") == ["000000000000:/app/a", "000000000000:/other/c"]
    assert run('SOURCE logGroups(names: ["/app/b", "/other/c"]) | fields @log') == \
        ["000000000000:/app/b", "000000000000:/other/c"]
    # START=/END= give the time range, whatever the request's.
    qid = logs.start_query(startTime=1, endTime=2,
                           queryString='SOURCE logGroups(namePrefix: [], class: "STANDARD") START=-3600s END=0s |\n'
                                       "stats count(*) as n")["queryId"]
    r = poll(logs, qid)
    assert r["status"] == "Complete", r
    assert [{f["field"]: f["value"] for f in row} for row in r["results"]] == [{"n": "2"}]
    with pytest.raises(ClientError) as e:
        logs.start_query(startTime=t - 600, endTime=t, logGroupName="/app/a",
                         queryString="SOURCE logGroups(namePrefix: ['/app']) | fields @log")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.start_query(startTime=t - 600, endTime=t, queryString="SOURCE logGroups(namePrefix: ['/app']) fields x")
    assert e.value.response["Error"]["Code"] == "MalformedQueryException"


def test_sql_filter_index_alone_reads_every_standard_group_past_the_named_limit(start_server):
    # Named groups are capped by the configuration; `filterIndex(…)` alone selects every Standard
    # group (no field index tells them apart here), as SOURCE does.
    srv = start_server(config="[logs]\ninsights_max_log_groups = 1\n")
    logs = boto_client(srv, "logs")
    now = int(time.time() * 1000)
    for name, cls in (("/fi/a", "STANDARD"), ("/fi/b", "STANDARD"), ("/fi/c", "INFREQUENT_ACCESS")):
        logs.create_log_group(logGroupName=name, logGroupClass=cls)
        logs.create_log_stream(logGroupName=name, logStreamName="s")
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[
            {"timestamp": now, "message": json.dumps({"region": "us-east-1", "g": name})},
            {"timestamp": now + 1, "message": json.dumps({"region": "eu-west-1", "g": name})}])
    t = int(time.time())
    qid = logs.start_query(startTime=t - 600, endTime=t + 60, queryLanguage="SQL",
                           queryString="SELECT g FROM `filterIndex('region' = 'us-east-1')` ORDER BY g")["queryId"]
    r = poll(logs, qid)
    assert r["status"] == "Complete", r
    assert [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in r["results"]] == \
        [{"g": "/fi/a"}, {"g": "/fi/b"}]
    with pytest.raises(ClientError) as e:
        logs.start_query(startTime=t - 600, endTime=t + 60, queryLanguage="SQL",
                         queryString="SELECT g FROM `logGroups(logGroupIdentifier: ['/fi/a', '/fi/b'])`")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
