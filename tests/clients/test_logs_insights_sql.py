"""Logs Insights queries in SQL (StartQuery `queryLanguage="SQL"`) through current boto3: the log
groups named in FROM (a name, or `logGroups(logGroupIdentifier: [...])` with names or ARNs), the
supported SELECT (WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, DISTINCT, aggregates, CASE), result
column names, the language echoed by GetQueryResults, and the errors: log groups in the request
(InvalidParameterException), a group that does not exist (ResourceNotFoundException), anything
outside the subset (MalformedQueryException). Expected values are computed here from the events
written; queries are polled with a deadline, never slept on.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from support import boto_client, now_ms
from test_logs_insights import (
    MINUTE_MS,
    SECOND_MS,
    Event,
    expect_error,
    group_arn,
    new_group,
    put_events,
    rows,
    run_query,
)

METHODS = ["GET", "POST", "GET", "DELETE", "GET", "PUT"]


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


@pytest.fixture(scope="module")
def data(logs):
    """Two groups of access-log events: (group a, group b, start, documents of a, of b)."""
    start = (now_ms() // MINUTE_MS - 5) * MINUTE_MS
    out = []
    for label, n in (("sql-a", 12), ("sql-b", 5)):
        group = new_group(logs, label)
        docs = [
            {"method": METHODS[i % len(METHODS)], "status": [200, 200, 404, 500][i % 4], "bytes": 100 * (i + 1), "host": f"h{i % 3}"}
            for i in range(n)
        ]
        put_events(logs, [Event(group, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(docs)])
        out.append((group, docs))
    return out[0][0], out[1][0], start, out[0][1], out[1][1]


def sql(logs, data, q: str) -> dict:
    start = data[2]
    return run_query(logs, q, start_s=start // SECOND_MS - 60, end_s=start // SECOND_MS + 600, queryLanguage="SQL")


def test_group_by_having_order_limit(logs, data):
    a, _, _, docs, _ = data
    resp = sql(logs, data, f"SELECT method, COUNT(*) AS request_count, SUM(bytes) AS total_bytes FROM `{a}` "
                           "GROUP BY method HAVING COUNT(*) > 1 ORDER BY request_count DESC, method LIMIT 2")
    assert resp["queryLanguage"] == "SQL"
    got = rows(resp)
    counts = Counter(d["method"] for d in docs)
    want = sorted(((m, c, sum(d["bytes"] for d in docs if d["method"] == m)) for m, c in counts.items() if c > 1),
                  key=lambda t: (-t[1], t[0]))[:2]
    assert got == [{"method": m, "request_count": str(c), "total_bytes": str(b)} for m, c, b in want]


def test_where_case_and_computed_columns(logs, data):
    a, _, _, docs, _ = data
    got = rows(sql(logs, data, f"SELECT host, bytes / 100 AS hundreds, CASE WHEN status >= 400 THEN 'error' ELSE 'ok' END AS kind "
                               f"FROM `{a}` WHERE method IN ('GET', 'PUT') AND bytes BETWEEN 200 AND 900 ORDER BY bytes"))
    picked = sorted((d for d in docs if d["method"] in ("GET", "PUT") and 200 <= d["bytes"] <= 900), key=lambda d: d["bytes"])
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == [
        {"host": d["host"], "hundreds": str(d["bytes"] // 100), "kind": "error" if d["status"] >= 400 else "ok"} for d in picked
    ]


def test_log_groups_by_name_and_arn_and_unnamed_aggregates(logs, data):
    a, b, _, docs_a, docs_b = data
    resp = sql(logs, data, f"SELECT COUNT(*), COUNT(DISTINCT host) AS hosts FROM `logGroups(logGroupIdentifier: ['{a}', '{group_arn(b)}'])`")
    assert rows(resp) == [{"count(1)": str(len(docs_a) + len(docs_b)), "hosts": str(len({d["host"] for d in docs_a + docs_b}))}]
    assert resp["statistics"]["recordsScanned"] == len(docs_a) + len(docs_b)


def test_distinct(logs, data):
    a, _, _, docs, _ = data
    got = rows(sql(logs, data, f"SELECT DISTINCT host FROM `{a}` ORDER BY host"))
    assert [r["host"] for r in got] == sorted({d["host"] for d in docs})


def test_errors(logs, data):
    a, _, start, _, _ = data
    common = dict(queryLanguage="SQL", startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600)
    err = expect_error("InvalidParameterException", logs.start_query, queryString=f"SELECT * FROM `{a}`",
                       logGroupName=a, **common)
    assert "FROM" in err.response["Error"]["Message"]
    expect_error("ResourceNotFoundException", logs.start_query, queryString="SELECT * FROM `/no/such/group`", **common)
    for q, words in [
        (f"SELECT A.x FROM `{a}` AS A RIGHT JOIN `{a}` AS B ON A.x = B.x", "INNER and LEFT OUTER"),
        (f"SELECT x FROM `{a}` AS A INNER JOIN `{a}` AS B ON A.x = B.x", "qualify x"),
        (f"SELECT A.x FROM `{a}` INNER JOIN `{a}` AS B ON x = B.x", "alias for each side"),
        (f"SELECT A.x FROM `{a}` AS A JOIN `{a}` AS B ON A.x < B.x", "one equality"),
        (f"SELECT A.x FROM `{a}` AS A JOIN `{a}` AS B ON A.x = B.x JOIN `{a}` AS C ON A.x = C.x", "only one JOIN"),
        (f"SELECT soundex(host) FROM `{a}`", "soundex"),
        (f"SELECT host FROM `{a}` OFFSET 1", "OFFSET without LIMIT"),
        (f"SELECT CAST(host AS BINARY) FROM `{a}`", "CAST to BINARY"),
    ]:
        err = expect_error("MalformedQueryException", logs.start_query, queryString=q, **common)
        assert words in err.response["Error"]["Message"], err.response


def test_limit_offset_and_cast(logs, data):
    a, _, _, docs, _ = data
    got = rows(sql(logs, data, f"SELECT host, CAST(bytes / 7 AS INT) AS sevenths, CAST(status AS STRING) AS s "
                               f"FROM `{a}` ORDER BY bytes DESC, host LIMIT 3 OFFSET 2"))
    picked = sorted(docs, key=lambda d: (-d["bytes"], d["host"]))[2:5]
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == [
        {"host": d["host"], "sevenths": str(int(d["bytes"] / 7)), "s": str(d["status"])} for d in picked
    ]


def test_inner_and_left_join(logs, data):
    _, b, start, docs_a, docs_b = data
    # The left side: group a's documents and one whose host group b does not have.
    extra = {"method": "GET", "status": 200, "bytes": 1, "host": "nowhere"}
    assert all(y["host"] != "nowhere" for y in docs_b)
    left = docs_a + [extra]
    a = new_group(logs, "sql-join")
    put_events(logs, [Event(a, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(left)])

    got = rows(sql(logs, data, f"SELECT l.method, l.bytes, r.bytes AS rbytes FROM `{a}` AS l INNER JOIN `{b}` AS r "
                               f"ON l.host = r.host WHERE l.status = 500 ORDER BY l.bytes, r.bytes"))
    want = sorted(((x["method"], x["bytes"], y["bytes"]) for x in left if x["status"] == 500
                   for y in docs_b if y["host"] == x["host"]), key=lambda t: (t[1], t[2]))
    assert want, "the data must give the join rows"
    assert [(r["method"], int(r["bytes"]), int(r["rbytes"])) for r in got] == want
    assert [list(r)[:3] for r in got] == [["method", "bytes", "rbytes"]] * len(got)
    # USING (host) is ON l.host = r.host.
    using = rows(sql(logs, data, f"SELECT l.method, l.bytes, r.bytes AS rbytes FROM `{a}` AS l INNER JOIN `{b}` AS r "
                                 f"USING (host) WHERE l.status = 500 ORDER BY l.bytes, r.bytes"))
    assert using == got

    # LEFT OUTER: rows without a match keep their left side only; aggregates over the join.
    got = rows(sql(logs, data, f"SELECT l.host, COUNT(*) AS n, COUNT(r.bytes) AS matched FROM `{a}` AS l "
                               f"LEFT OUTER JOIN `{b}` AS r ON r.host = l.host GROUP BY l.host ORDER BY l.host"))
    want = {}
    for x in left:
        matches = [y for y in docs_b if y["host"] == x["host"]]
        n, m = want.get(x["host"], (0, 0))
        want[x["host"]] = (n + max(1, len(matches)), m + len(matches))
    assert [(r["host"], int(r["n"]), int(r["matched"])) for r in got] == sorted((h, n, m) for h, (n, m) in want.items())


def test_in_subquery_reads_another_group(logs, data):
    a, b, _, docs_a, docs_b = data
    hosts = {d["host"] for d in docs_b if d["status"] == 404}
    got = rows(sql(logs, data, f"SELECT method, bytes FROM `{a}` WHERE host IN (SELECT host FROM `{b}` WHERE status = 404) "
                               "ORDER BY bytes"))
    want = sorted((d for d in docs_a if d["host"] in hosts), key=lambda d: d["bytes"])
    assert want and [(r["method"], int(r["bytes"])) for r in got] == [(d["method"], d["bytes"]) for d in want]
    got = rows(sql(logs, data, f"SELECT COUNT(*) AS n FROM `{a}` WHERE host NOT IN (SELECT host FROM `{b}` WHERE status = 404)"))
    assert got == [{"n": str(sum(d["host"] not in hosts for d in docs_a))}]


def test_nested_and_multi_column_in_subqueries(logs, data):
    """An IN subquery inside an IN subquery (the innermost runs first, over its own group), and
    (a, b) IN (SELECT x, y ...) comparing pairs."""
    a, b, _, docs_a, docs_b = data
    # Hosts of group b whose methods answered 500 in group a.
    methods = {d["method"] for d in docs_a if d["status"] == 500}
    hosts = {d["host"] for d in docs_b if d["method"] in methods}
    got = rows(sql(logs, data, f"SELECT COUNT(*) AS n FROM `{a}` WHERE host IN (SELECT host FROM `{b}` "
                               f"WHERE method IN (SELECT method FROM `{a}` WHERE status = 500))"))
    assert hosts and got == [{"n": str(sum(d["host"] in hosts for d in docs_a))}]
    pairs = {(d["method"], d["status"]) for d in docs_b}
    got = rows(sql(logs, data, f"SELECT method, status, COUNT(*) AS n FROM `{a}` WHERE (method, status) IN "
                               f"(SELECT method, status FROM `{b}`) GROUP BY method, status ORDER BY method, status"))
    want = Counter((d["method"], d["status"]) for d in docs_a if (d["method"], d["status"]) in pairs)
    assert want and [(r["method"], int(r["status"]), int(r["n"])) for r in got] == sorted((m, s, n) for (m, s), n in want.items())
    got = rows(sql(logs, data, f"SELECT COUNT(*) AS n FROM `{a}` WHERE (method, status) NOT IN "
                               f"(SELECT method, status FROM `{b}`)"))
    assert got == [{"n": str(len(docs_a) - sum(want.values()))}]


def test_union_all_and_union_over_two_groups(logs, data):
    a, b, _, docs_a, docs_b = data
    got = rows(sql(logs, data, f"SELECT host AS h, bytes FROM `{a}` WHERE status = 500 UNION ALL "
                               f"SELECT host, bytes FROM `{b}` WHERE status = 404 ORDER BY bytes DESC"))
    want = sorted([(d["host"], d["bytes"]) for d in docs_a if d["status"] == 500]
                  + [(d["host"], d["bytes"]) for d in docs_b if d["status"] == 404], key=lambda t: -t[1])
    assert [(r["h"], int(r["bytes"])) for r in got] == want
    got = rows(sql(logs, data, f"SELECT method FROM `{a}` UNION SELECT method FROM `{b}` ORDER BY method"))
    assert [r["method"] for r in got] == sorted({d["method"] for d in docs_a + docs_b})
    resp = sql(logs, data, f"SELECT COUNT(*) AS n FROM `{a}` UNION ALL SELECT COUNT(*) FROM `{b}`")
    assert sorted(int(r["n"]) for r in rows(resp)) == sorted([len(docs_a), len(docs_b)])
    assert resp["statistics"]["recordsScanned"] == len(docs_a) + len(docs_b)
    got = rows(sql(logs, data, f"SELECT method FROM `{a}` INTERSECT SELECT method FROM `{b}` WHERE status = 200 "
                               "ORDER BY method"))
    assert [r["method"] for r in got] == sorted({d["method"] for d in docs_a}
                                               & {d["method"] for d in docs_b if d["status"] == 200})
    got = rows(sql(logs, data, f"SELECT method FROM `{a}` EXCEPT SELECT method FROM `{b}` WHERE status = 200 "
                               "ORDER BY method"))
    assert [r["method"] for r in got] == sorted({d["method"] for d in docs_a}
                                               - {d["method"] for d in docs_b if d["status"] == 200})


def test_a_group_named_twice_is_read_once(logs, data):
    a, _, _, docs, _ = data
    resp = sql(logs, data, f"SELECT COUNT(*) AS n FROM `logGroups(logGroupIdentifier: ['{a}', '{group_arn(a)}'])`")
    assert rows(resp) == [{"n": str(len(docs))}]


def test_count_over_nothing_is_one_row_of_zero(logs, data):
    a = data[0]
    assert rows(sql(logs, data, f"SELECT COUNT(*) AS n FROM `{a}` WHERE bytes > 1000000")) == [{"n": "0"}]


def test_a_query_longer_than_the_model_allows_is_refused(logs, data):
    a, _, start, _, _ = data
    q = f"SELECT COUNT(*) AS n FROM `{a}` WHERE " + " AND ".join(["bytes >= 0"] * 1000)
    assert len(q) > 10_000
    expect_error("InvalidParameterException", logs.start_query, queryString=q, queryLanguage="SQL",
                 startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600)


def test_window_functions_rank_number_and_offset_rows(logs, data):
    a, _, _, docs, _ = data
    # Per host, the requests by size, largest first; the size before and after in that order.
    got = rows(sql(logs, data, f"SELECT host, bytes, ROW_NUMBER() OVER (PARTITION BY host ORDER BY bytes DESC) AS rn, "
                               "LAG(bytes) OVER (PARTITION BY host ORDER BY bytes DESC) AS bigger, "
                               "LEAD(bytes, 1, 0) OVER (PARTITION BY host ORDER BY bytes DESC) AS smaller "
                               f"FROM `{a}` ORDER BY host, rn"))
    want = []
    for host in sorted({d["host"] for d in docs}):
        sizes = sorted((d["bytes"] for d in docs if d["host"] == host), reverse=True)
        for i, b in enumerate(sizes):
            row = {"host": host, "bytes": str(b), "rn": str(i + 1)}
            if i > 0:
                row["bigger"] = str(sizes[i - 1])
            row["smaller"] = str(sizes[i + 1]) if i + 1 < len(sizes) else "0"
            want.append(row)
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want
    # Over groups: RANK and DENSE_RANK by an aggregate (ties share a rank).
    got = rows(sql(logs, data, f"SELECT status, COUNT(*) AS n, RANK() OVER (ORDER BY COUNT(*) DESC) AS r, "
                               f"DENSE_RANK() OVER (ORDER BY COUNT(*) DESC) AS d FROM `{a}` GROUP BY status ORDER BY r, status"))
    counts = Counter(d["status"] for d in docs)
    ordered = sorted(counts.items(), key=lambda t: (-t[1], t[0]))
    want = []
    for status, n in ordered:
        rank = 1 + sum(1 for c in counts.values() if c > n)
        dense = 1 + len({c for c in counts.values() if c > n})
        want.append({"status": str(status), "n": str(n), "r": str(rank), "d": str(dense)})
    assert got == want
    start = data[2]
    err = expect_error("MalformedQueryException", logs.start_query, queryLanguage="SQL",
                       startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600,
                       queryString=f"SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY bytes) OVER () AS s FROM `{a}`")
    assert "window function percentile_cont" in err.response["Error"]["Message"], err.response
    # Aggregates over each host's requests, and a running total in size order.
    got = rows(sql(logs, data, f"SELECT host, bytes, SUM(bytes) OVER (PARTITION BY host) AS host_total, "
                               f"SUM(bytes) OVER (ORDER BY bytes) AS running FROM `{a}` ORDER BY bytes"))
    running = 0
    want = []
    for d in sorted(docs, key=lambda d: d["bytes"]):
        running += d["bytes"]
        want.append({"host": d["host"], "bytes": str(d["bytes"]),
                     "host_total": str(sum(x["bytes"] for x in docs if x["host"] == d["host"])),
                     "running": str(running)})
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want


def test_scalar_subquery_and_correlated_exists_read_another_group(logs, data):
    a, b, _, docs_a, docs_b = data
    plain = lambda got: [{k: v for k, v in r.items() if k != "@ptr"} for r in got]  # noqa: E731
    avg_b = sum(d["bytes"] for d in docs_b) / len(docs_b)
    got = rows(sql(logs, data, f"SELECT host, bytes FROM `{a}` WHERE bytes > (SELECT AVG(bytes) FROM `{b}`) ORDER BY bytes"))
    by_size = sorted(docs_a, key=lambda d: d["bytes"])
    assert plain(got) == [{"host": d["host"], "bytes": str(d["bytes"])} for d in by_size if d["bytes"] > avg_b]
    got = rows(sql(logs, data, f"SELECT x.host, x.bytes FROM `{a}` AS x WHERE EXISTS "
                               f"(SELECT 1 FROM `{b}` AS y WHERE y.host = x.host AND y.status = 500) ORDER BY x.bytes"))
    hosts = {d["host"] for d in docs_b if d["status"] == 500}
    assert hosts and plain(got) == [{"host": d["host"], "bytes": str(d["bytes"])} for d in by_size if d["host"] in hosts]
    # More than one row where one value is wanted fails the query, as Spark's does.
    start = data[2]
    qid = logs.start_query(queryLanguage="SQL", startTime=start // SECOND_MS - 60, endTime=start // SECOND_MS + 600,
                           queryString=f"SELECT host FROM `{a}` WHERE bytes > (SELECT bytes FROM `{b}`)")["queryId"]
    from test_logs_insights import wait_query
    resp = wait_query(logs, qid)
    assert resp["status"] == "Failed", resp


def test_spark_aggregates_filters_and_text_functions(logs, data):
    a, _, _, docs, _ = data
    # FILTER (WHERE …), count_if and approx_count_distinct per host.
    got = rows(sql(logs, data, f"SELECT host, COUNT(*) FILTER (WHERE status >= 400) AS errors, "
                               "SUM(bytes) FILTER (WHERE method = 'GET') AS get_bytes, COUNT_IF(status = 200) AS ok, "
                               f"APPROX_COUNT_DISTINCT(method) AS methods FROM `{a}` GROUP BY host ORDER BY host"))
    want = []
    for host in sorted({d["host"] for d in docs}):
        mine = [d for d in docs if d["host"] == host]
        row = {"host": host, "errors": str(sum(d["status"] >= 400 for d in mine))}
        get_bytes = [d["bytes"] for d in mine if d["method"] == "GET"]
        if get_bytes:
            row["get_bytes"] = str(sum(get_bytes))
        row["ok"] = str(sum(d["status"] == 200 for d in mine))
        row["methods"] = str(len({d["method"] for d in mine}))
        want.append(row)
    assert got == want
    # RLIKE, POSITION, LPAD, REGEXP_EXTRACT and DATE_TRUNC, row by row.
    got = rows(sql(logs, data, "SELECT method, POSITION('T' IN method) AS t, LPAD(host, 4, '-') AS h, "
                               "REGEXP_EXTRACT(method, '^(.)(.*)$', 1) AS first, "
                               "UNIX_MILLIS(DATE_TRUNC('MINUTE', `@timestamp`)) AS minute "
                               f"FROM `{a}` WHERE method RLIKE '^(GET|PUT)$' ORDER BY bytes"))
    start = data[2]
    want = [{"method": d["method"], "t": str(d["method"].find("T") + 1), "h": d["host"].rjust(4, "-"),
             "first": d["method"][0], "minute": str((start + i * SECOND_MS) // MINUTE_MS * MINUTE_MS)}
            for i, d in enumerate(docs) if d["method"] in ("GET", "PUT")]
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want


def test_filter_index_in_from_filters_the_named_groups(logs, data):
    # AWS's combined FROM: the groups, and filterIndex's conditions (no field indexes exist
    # here, so they filter as WHERE does).
    a, b, _, docs_a, _ = data
    got = rows(sql(logs, data, f"SELECT method, COUNT(*) AS n FROM ` logGroups(logGroupIdentifier: ['{a}']) "
                               "filterIndex('status' = 200, 'host' IN ['h0', 'h1']) ` GROUP BY method ORDER BY method"))
    want = Counter(d["method"] for d in docs_a if d["status"] == 200 and d["host"] in ("h0", "h1"))
    assert got == [{"method": m, "n": str(n)} for m, n in sorted(want.items())]
    start = data[2]
    err = expect_error("MalformedQueryException", logs.start_query, queryLanguage="SQL",
                       startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600,
                       queryString="SELECT * FROM `dataSource(['DataSource1.Type1'])`")
    assert "dataSource" in err.response["Error"]["Message"], err.response


def test_window_frames_and_distribution_functions(logs, data):
    a, _, _, docs, _ = data
    got = rows(sql(logs, data, "SELECT bytes, SUM(bytes) OVER (ORDER BY bytes ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair, "
                               "NTILE(5) OVER (ORDER BY bytes) AS t, PERCENT_RANK() OVER (ORDER BY bytes) AS pr, "
                               "LAST_VALUE(bytes) OVER (PARTITION BY host ORDER BY bytes ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS top "
                               f"FROM `{a}` ORDER BY bytes"))
    sizes = sorted(d["bytes"] for d in docs)
    n = len(sizes)
    size, rem = divmod(n, 5)
    buckets = [b + 1 for b in range(5) for _ in range(size + (1 if b < rem else 0))]
    top = {h: max(d["bytes"] for d in docs if d["host"] == h) for h in {d["host"] for d in docs}}
    host_of = {d["bytes"]: d["host"] for d in docs}
    want = [{"bytes": str(b), "pair": str(b + (sizes[k - 1] if k else 0)), "t": str(buckets[k]),
             "pr": repr(k / (n - 1)) if k not in (0, n - 1) else str(k // (n - 1)),
             "top": str(top[host_of[b]])} for k, b in enumerate(sizes)]
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want


def test_subquery_in_from_gives_the_top_rows_of_each_group(logs, data):
    a, _, _, docs, _ = data
    got = rows(sql(logs, data, "SELECT host, bytes, rn FROM (SELECT host, bytes, ROW_NUMBER() OVER "
                               f"(PARTITION BY host ORDER BY bytes DESC) AS rn FROM `{a}`) AS t WHERE rn <= 2 ORDER BY host, rn"))
    want = []
    for host in sorted({d["host"] for d in docs}):
        for i, b in enumerate(sorted((d["bytes"] for d in docs if d["host"] == host), reverse=True)[:2]):
            want.append({"host": host, "bytes": str(b), "rn": str(i + 1)})
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want
    # Aggregates of aggregates: the busiest host's count and the mean count per host.
    got = rows(sql(logs, data, f"SELECT MAX(n) AS most, AVG(n) AS mean FROM (SELECT host, COUNT(*) AS n FROM `{a}` GROUP BY host)"))
    counts = Counter(d["host"] for d in docs)
    assert got == [{"most": str(max(counts.values())), "mean": str(sum(counts.values()) / len(counts)).removesuffix(".0")}]


def test_correlated_scalar_subquery_gives_each_row_its_keys_value(logs, data):
    a, b, _, docs_a, docs_b = data
    got = rows(sql(logs, data, f"SELECT x.host, x.bytes, (SELECT COUNT(*) FROM `{b}` AS y WHERE y.host = x.host "
                               f"AND y.status = 500) AS errors, (SELECT MAX(y.bytes) FROM `{b}` AS y WHERE y.host = x.host) AS most "
                               f"FROM `{a}` AS x WHERE x.bytes > 1000 ORDER BY x.bytes"))
    want = []
    for d in sorted((d for d in docs_a if d["bytes"] > 1000), key=lambda d: d["bytes"]):
        row = {"host": d["host"], "bytes": str(d["bytes"]),
               "errors": str(sum(1 for y in docs_b if y["host"] == d["host"] and y["status"] == 500))}
        most = [y["bytes"] for y in docs_b if y["host"] == d["host"]]
        if most:
            row["most"] = str(max(most))
        want.append(row)
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want


def test_json_arrays_explode_and_intervals(logs, data):
    """JSON arrays in events read by array functions and LATERAL VIEW explode; times moved by
    INTERVAL."""
    start = data[2]
    group = new_group(logs, "sql-arrays")
    docs = [
        {"user": "u1", "roles": ["admin", "dev"], "latency": [12, 40, 7]},
        {"user": "u2", "roles": ["dev"], "latency": [3]},
        {"user": "u3", "roles": [], "latency": []},
    ]
    put_events(logs, [Event(group, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(docs)])

    def q(text):
        return [{k: v for k, v in r.items() if k != "@ptr"} for r in rows(sql(logs, data, text))]

    got = q(f"SELECT user, size(roles) AS n, array_contains(roles, 'admin') AS admin, array_max(latency) AS worst, "
            f"roles[0] AS first FROM `{group}` ORDER BY user")
    want = []
    for d in docs:
        r = {"user": d["user"], "n": str(len(d["roles"])), "admin": str("admin" in d["roles"]).lower()}
        if d["latency"]:
            r["worst"] = str(max(d["latency"]))
        if d["roles"]:
            r["first"] = d["roles"][0]
        want.append(r)
    assert got == want
    got = q(f"SELECT role, COUNT(*) AS users FROM `{group}` LATERAL VIEW explode(roles) t AS role GROUP BY role ORDER BY role")
    counts = Counter(r for d in docs for r in d["roles"])
    assert got == [{"role": r, "users": str(n)} for r, n in sorted(counts.items())]
    # `@timestamp` moved by an interval: the events of the first two seconds.
    got = q(f"SELECT user FROM `{group}` WHERE `@timestamp` + INTERVAL 2 SECONDS <= "
            f"timestamp_millis({start}) + INTERVAL '0:03' MINUTE TO SECOND ORDER BY user")
    assert got == [{"user": "u1"}, {"user": "u2"}]


def test_json_objects_explode_to_entries_and_comparator_sorts(logs, data):
    """A JSON object exploded into key/value rows, array_sort with a comparator, arrays_zip."""
    start = data[2]
    group = new_group(logs, "sql-objects")
    docs = [
        {"user": "u1", "headers": {"accept": "json", "agent": "curl"}, "latency": [12, 40, 7], "codes": [200, 500, 200]},
        {"user": "u2", "headers": {"agent": "boto3"}, "latency": [3], "codes": [404]},
    ]
    put_events(logs, [Event(group, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(docs)])

    def q(text):
        return [{k: v for k, v in r.items() if k != "@ptr"} for r in rows(sql(logs, data, text))]

    got = q(f"SELECT h, COUNT(*) AS n FROM `{group}` LATERAL VIEW explode(headers) t AS h, v GROUP BY h ORDER BY h")
    counts = Counter(h for d in docs for h in d["headers"])
    assert got == [{"h": h, "n": str(n)} for h, n in sorted(counts.items())]
    got = q(f"SELECT user, p, h, v FROM `{group}` LATERAL VIEW posexplode(headers) t AS p, h, v ORDER BY user, p")
    assert got == [{"user": d["user"], "p": str(i), "h": h, "v": v}
                   for d in docs for i, (h, v) in enumerate(d["headers"].items())]
    got = q(f"SELECT user, array_sort(latency, (l, r) -> r - l) AS slowest_first, "
            f"arrays_zip(latency, codes) AS pairs FROM `{group}` ORDER BY user")
    assert got == [{"user": d["user"],
                    "slowest_first": json.dumps(sorted(d["latency"], reverse=True), separators=(",", ":")),
                    "pairs": json.dumps([{"latency": l, "codes": c} for l, c in zip(d["latency"], d["codes"])],
                                        separators=(",", ":"))}
                   for d in docs]


def test_shares_rollup_labels_and_multi_key_correlation(logs, data):
    """A window inside an item (percent of the total), items of the group keys with ROLLUP's
    GROUPING(), and EXISTS correlated by two equalities."""
    a, b, _, docs_a, docs_b = data
    got = rows(sql(logs, data, f"SELECT upper(host) AS h, COUNT(*) AS n, COUNT(*) * 100.0 / SUM(COUNT(*)) OVER () AS pct "
                               f"FROM `{a}` GROUP BY host ORDER BY h"))
    counts = Counter(d["host"] for d in docs_a)
    total = sum(counts.values())
    assert [(r["h"], int(r["n"]), float(r["pct"])) for r in got] == \
        [(h.upper(), n, pytest.approx(n * 100.0 / total)) for h, n in sorted(counts.items())]

    got = rows(sql(logs, data, f"SELECT CASE WHEN GROUPING(host) = 1 THEN 'all' ELSE host END AS label, SUM(bytes) AS b "
                               f"FROM `{a}` GROUP BY ROLLUP(host) ORDER BY b"))
    sums = Counter()
    for d in docs_a:
        sums[d["host"]] += d["bytes"]
    want = sorted([(h, s) for h, s in sums.items()] + [("all", sum(sums.values()))], key=lambda t: t[1])
    assert [(r["label"], int(r["b"])) for r in got] == want

    got = rows(sql(logs, data, f"SELECT x.host, x.method, x.bytes FROM `{a}` AS x WHERE EXISTS (SELECT 1 FROM `{b}` AS y "
                               f"WHERE y.host = x.host AND y.method = x.method AND y.status = 500) ORDER BY x.bytes"))
    pairs = {(d["host"], d["method"]) for d in docs_b if d["status"] == 500}
    assert [(r["host"], r["method"], int(r["bytes"])) for r in got] == \
        [(d["host"], d["method"], d["bytes"]) for d in sorted(docs_a, key=lambda d: d["bytes"]) if (d["host"], d["method"]) in pairs]
