"""Logs Insights queries in OpenSearch PPL (StartQuery `queryLanguage="PPL"`) through current boto3
and the aws CLI: the supported subset (fields, where, eval, stats with span, sort, head, dedup),
its column names and order, the language echoed by GetQueryResults and DescribeQueries, and the
MalformedQueryException that anything outside the subset gets. Expected values are computed here
from the events written; queries are polled with a deadline, never slept on.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from support import boto_client, now_ms
from test_logs_cli import base_args, cli_env, cli_path, out_json
from test_logs_insights import (
    MINUTE_MS,
    SECOND_MS,
    Event,
    expect_error,
    new_group,
    put_events,
    rows,
    run_query,
    wait_query,
)


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


ROUTES = ["/pets", "/orders", "/pets", "/users", "/pets", "/orders"]


@pytest.fixture(scope="module")
def data(logs):
    """Twelve access-log events over two minutes: (group, start, the documents)."""
    group = new_group(logs, "ppl")
    start = (now_ms() // MINUTE_MS - 5) * MINUTE_MS
    docs = []
    for i in range(12):
        docs.append(
            {
                "route": ROUTES[i % len(ROUTES)],
                "status": [200, 200, 404, 500][i % 4],
                "ms": 10 * (i + 1),
                "user": f"u{i % 3}",
            }
        )
    put_events(logs, [Event(group, "s", start + i * 10 * SECOND_MS, json.dumps(d)) for i, d in enumerate(docs)])
    return group, start, docs


def ppl(logs, data, q: str) -> dict:
    group, start, _ = data
    return run_query(
        logs, q, start_s=start // SECOND_MS - 60, end_s=start // SECOND_MS + 600, logGroupName=group, queryLanguage="PPL"
    )


def test_stats_columns_are_named_and_ordered_as_ppl_does(logs, data):
    _, _, docs = data
    resp = ppl(logs, data, "stats count(), avg(ms) as mean, dc(user) by route | sort - mean")
    assert resp["queryLanguage"] == "PPL"
    got = rows(resp)
    # Aggregates first, by their text or alias, then the by-field.
    assert [list(r) for r in got] == [["count()", "mean", "dc(user)", "route"]] * len(got)
    want = {}
    for route in set(d["route"] for d in docs):
        ms = [d["ms"] for d in docs if d["route"] == route]
        users = {d["user"] for d in docs if d["route"] == route}
        want[route] = (len(ms), sum(ms) / len(ms), len(users))
    assert {r["route"]: (int(r["count()"]), float(r["mean"]), int(r["dc(user)"])) for r in got} == want
    means = [float(r["mean"]) for r in got]
    assert means == sorted(means, reverse=True)


def test_where_eval_fields_sort_head(logs, data):
    _, _, docs = data
    got = rows(ppl(logs, data, "where status != 200 and ms between 20 and 100 | eval double = ms * 2 | fields route, double | sort + double | head 3"))
    picked = sorted((d for d in docs if d["status"] != 200 and 20 <= d["ms"] <= 100), key=lambda d: d["ms"])[:3]
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == [
        {"route": d["route"], "double": str(d["ms"] * 2)} for d in picked
    ]
    assert all(r.get("@ptr") for r in got), got


def test_span_over_timestamp_and_dedup(logs, data):
    _, start, docs = data
    got = rows(ppl(logs, data, "stats count() as n by span(`@timestamp`, 1m) as minute"))
    assert [list(r) for r in got] == [["n", "minute"]] * len(got)
    per_minute = Counter((start + i * 10 * SECOND_MS) // MINUTE_MS for i in range(len(docs)))
    assert sorted(int(r["n"]) for r in got) == sorted(per_minute.values())
    users = rows(ppl(logs, data, "dedup user | fields user | sort user"))
    assert [r["user"] for r in users] == sorted({d["user"] for d in docs})


def test_describe_queries_filters_by_language(logs, data):
    resp = ppl(logs, data, "where status = 500 | fields route")
    listed = logs.describe_queries(queryLanguage="PPL")["queries"]
    assert any(q["queryId"] == resp["queryId"] and q["queryLanguage"] == "PPL" for q in listed), listed
    cwli = logs.describe_queries(queryLanguage="CWLI")["queries"]
    assert all(q["queryId"] != resp["queryId"] for q in cwli)


def test_top_rare_fillnull_parse_trendline_and_head_from(logs, data):
    _, _, docs = data
    routes = Counter(d["route"] for d in docs)
    got = rows(ppl(logs, data, "top 2 route"))
    want = sorted(routes.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    assert got == [{"count_route": str(c), "route": r} for r, c in want]
    # n (10 by default) rows for each group of the `by` fields, the groups in order.
    got = rows(ppl(logs, data, "rare 1 route by status"))
    pairs = Counter((d["route"], d["status"]) for d in docs)
    want = []
    for status in sorted({s for _, s in pairs}):
        mine = sorted(((c, r) for (r, s), c in pairs.items() if s == status))
        want.append({"count_route": str(mine[0][0]), "route": mine[0][1], "status": str(status)})
    assert got == want

    # fields - and fillnull (filled fields move to the end); head … from skips rows.
    got = rows(ppl(logs, data, "eval late = if(ms > 100, 'yes', nope) | fields user, late, ms, route | fields - route "
                               "| fillnull with 'no' in late | sort + ms | head 3 from 8"))
    ordered = sorted(docs, key=lambda d: d["ms"])[8:11]
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == [
        {"user": d["user"], "ms": str(d["ms"]), "late": "yes" if d["ms"] > 100 else "no"} for d in ordered
    ]
    assert [list(r)[:3] for r in got] == [["user", "ms", "late"]] * len(got)

    # parse: the named groups become fields.
    got = rows(ppl(logs, data, "parse route '/(?<first>[a-z])(?<rest>\\w+)' | fields route, first, rest | dedup route "
                               "| sort route"))
    assert [(r["route"], r["first"], r["rest"]) for r in got] == \
        [(x, x[1], x[2:]) for x in sorted(set(routes))]

    # trendline: the mean of the last n rows' values, in the order sorted.
    got = rows(ppl(logs, data, "fields ms | trendline sort ms sma(3, ms) as avg3"))
    ms = sorted(d["ms"] for d in docs)
    assert [r.get("avg3") for r in got] == [None, None] + [
        f"{sum(ms[i - 2:i + 1]) / 3:g}" for i in range(2, len(ms))
    ]


def test_eventstats_gives_each_row_its_groups_aggregates(logs, data):
    _, _, docs = data
    got = rows(ppl(logs, data, "where status != 404 | eventstats avg(ms) as mean, count() as n by route "
                               "| where ms > mean | fields route, ms, mean, n | sort + ms"))
    kept = [d for d in docs if d["status"] != 404]
    by_route = {}
    for d in kept:
        by_route.setdefault(d["route"], []).append(d["ms"])
    want = sorted((d for d in kept if d["ms"] > sum(by_route[d["route"]]) / len(by_route[d["route"]])),
                  key=lambda d: d["ms"])
    assert want, "the data must keep rows above their route's mean"
    assert [(r["route"], int(r["ms"]), float(r["mean"]), int(r["n"])) for r in got] == [
        (d["route"], d["ms"], sum(by_route[d["route"]]) / len(by_route[d["route"]]), len(by_route[d["route"]]))
        for d in want
    ]


def test_subsearch_reads_another_log_group(logs, data):
    group, start, docs = data
    blocked = new_group(logs, "ppl-blocked")
    put_events(logs, [Event(blocked, "s", start + i * SECOND_MS, json.dumps(d))
                      for i, d in enumerate([{"name": "u1", "why": "abuse"}, {"name": "nobody", "why": "x"}])])
    got = rows(ppl(logs, data, f"where user in [ search source = `{blocked}` | where why = 'abuse' | fields name ] "
                               "| stats count() as n by user"))
    assert got == [{"n": str(sum(d["user"] == "u1" for d in docs)), "user": "u1"}]
    got = rows(ppl(logs, data, f"where user not in [ source = `{blocked}` | fields name ] | stats count() as n"))
    assert got == [{"n": str(sum(d["user"] != "u1" for d in docs))}]
    expect_error("ResourceNotFoundException", logs.start_query, queryLanguage="PPL", logGroupName=group,
                 startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600,
                 queryString="where user in [ source = `/no/such/group` | fields name ]")
    # A scalar subsearch: the requests slower than the other group's slowest.
    limits = new_group(logs, "ppl-limits")
    put_events(logs, [Event(limits, "s", start + i * SECOND_MS, json.dumps({"ms": m})) for i, m in enumerate([40, 75])])
    got = rows(ppl(logs, data, f"where ms > [ source = `{limits}` | stats max(ms) ] | stats count() as n"))
    assert got == [{"n": str(sum(d["ms"] > 75 for d in docs))}]


def test_nested_and_multi_field_subsearches(logs, data):
    """AWS's nested form (a subsearch inside a subsearch, each over its own log group, the
    innermost run first), and several fields compared with a subsearch's in order."""
    group, start, docs = data
    users = new_group(logs, "ppl-users")
    actions = new_group(logs, "ppl-actions")
    put_events(logs, [Event(users, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(
        [{"uid": "u0", "login": "ann"}, {"uid": "u2", "login": "cy"}, {"uid": "u1", "login": "bob"}])])
    put_events(logs, [Event(actions, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(
        [{"who": "ann", "action": "login"}, {"who": "bob", "action": "logout"}, {"who": "cy", "action": "login"}])])
    q = (f"where user in [ subquery source=`{users}` | where login in [ subquery source=`{actions}` "
         "| where action = \"login\" | fields who ] | fields uid ] | stats count() as n by user | sort user")
    got = rows(ppl(logs, data, q))
    want = Counter(d["user"] for d in docs if d["user"] in ("u0", "u2"))
    assert got == [{"n": str(n), "user": u} for u, n in sorted(want.items())]
    # (route, status) pairs that failed in another group's records.
    failures = new_group(logs, "ppl-failures")
    put_events(logs, [Event(failures, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(
        [{"path": "/pets", "code": 404}, {"path": "/orders", "code": 500.0}, {"path": "/users"}])])
    got = rows(ppl(logs, data, f"where (route, status) in [ source = `{failures}` | fields path, code ] "
                               "| stats count() as n by route, status | sort route"))
    want = Counter((d["route"], d["status"]) for d in docs if (d["route"], d["status"]) in {("/pets", 404), ("/orders", 500)})
    assert got == [{"n": str(n), "route": r, "status": str(s)} for (r, s), n in sorted(want.items())]
    got = rows(ppl(logs, data, f"where (route, status) not in [ source = `{failures}` | fields path, code ] "
                               "| stats count() as n"))
    assert got == [{"n": str(len(docs) - sum(want.values()))}]
    expect_error("MalformedQueryException", logs.start_query, queryLanguage="PPL", logGroupName=group,
                 startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600,
                 queryString=f"where (route, status) in [ source = `{failures}` | fields path ]")


def test_exists_subsearch_correlated_by_qualified_names(logs, data):
    """`exists [ source = g | where outer.x = g.y ... ]` over another log group, named plainly so
    its name qualifies its fields; uncorrelated `exists` tests for any row."""
    group, start, docs = data
    staff = f"staff{now_ms()}"
    logs.create_log_group(logGroupName=staff)
    put_events(logs, [Event(staff, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(
        [{"login": "u0", "route": "/pets"}, {"login": "u1", "route": "/users"}])])
    got = rows(ppl(logs, data, f"where exists [ source = {staff} | where outer.user = {staff}.login ] "
                               "| stats count() as n by user | sort user"))
    want = Counter(d["user"] for d in docs if d["user"] in ("u0", "u1"))
    assert got == [{"n": str(n), "user": u} for u, n in sorted(want.items())]
    got = rows(ppl(logs, data, f"where not exists [ source = {staff} | where {staff}.login = outer.user "
                               f"and {staff}.route = outer.route ] | stats count() as n"))
    pairs = {("u0", "/pets"), ("u1", "/users")}
    assert got == [{"n": str(sum((d["user"], d["route"]) not in pairs for d in docs))}]
    got = rows(ppl(logs, data, f"where exists [ source = {staff} | where route = '/nowhere' ] | stats count() as n"))
    assert got == [{"n": "0"}]


def test_grok_parses_an_apache_log(logs):
    group = new_group(logs, "ppl-grok")
    start = (now_ms() // MINUTE_MS - 5) * MINUTE_MS
    lines = [
        '177.95.8.74 - upton5450 [28/Sep/2022:10:15:57 -0700] "HEAD /e-business/mindshare HTTP/1.0" 404 19927',
        '210.204.15.104 - - [28/Sep/2022:10:15:57 -0700] "POST /users HTTP/1.1" 301 9481',
        'not an access log line',
    ]
    put_events(logs, [Event(group, "s", start + i * SECOND_MS, line) for i, line in enumerate(lines)])
    resp = run_query(logs, "grok `@message` '%{COMMONAPACHELOG}' | where response >= 300 "
                           "| fields clientip, verb, request, response, bytes | sort clientip",
                     start_s=start // SECOND_MS - 60, end_s=start // SECOND_MS + 600, logGroupName=group,
                     queryLanguage="PPL")
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in rows(resp)] == [
        {"clientip": "177.95.8.74", "verb": "HEAD", "request": "/e-business/mindshare", "response": "404",
         "bytes": "19927"},
        {"clientip": "210.204.15.104", "verb": "POST", "request": "/users", "response": "301", "bytes": "9481"},
    ]


def test_fieldsummary_summarizes_one_field(logs, data):
    _, _, docs = data
    import statistics

    got = rows(ppl(logs, data, "where status != 200 | fieldsummary includefields=ms"))
    ms = [d["ms"] for d in docs if d["status"] != 200]
    mean = sum(ms) / len(ms)
    assert len(got) == 1
    row = got[0]
    assert list(row) == ["Field", "COUNT", "DISTINCT", "MIN", "MAX", "AVG", "MEAN", "STDDEV", "Nulls", "TYPEOF"]
    assert (row["Field"], row["COUNT"], row["DISTINCT"], row["MIN"], row["MAX"], row["Nulls"], row["TYPEOF"]) == (
        "ms", str(len(ms)), str(len(set(ms))), str(min(ms)), str(max(ms)), "0", "int")
    assert float(row["AVG"]) == pytest.approx(mean) and float(row["MEAN"]) == pytest.approx(mean)
    assert float(row["STDDEV"]) == pytest.approx(statistics.stdev(ms))
    # A field some records lack: counted in Nulls, and as 0 in the averages with nulls=true.
    got = rows(ppl(logs, data, "eval odd = if(ms % 20 = 10, ms, null) | fieldsummary includefields=odd nulls=true"))[0]
    odd = [d["ms"] for d in docs if d["ms"] % 20 == 10]
    assert (got["COUNT"], got["Nulls"]) == (str(len(odd)), str(len(docs) - len(odd)))
    assert float(got["AVG"]) == pytest.approx(sum(odd) / len(docs))


def test_date_math_and_hash_functions(logs, data):
    import datetime
    import hashlib

    _, start, docs = data
    got = rows(ppl(logs, data, "where ms = 10 | eval y = year(`@timestamp`), h = hour(`@timestamp`), "
                               "dn = dayname(`@timestamp`), w = week(`@timestamp`), s = sha1(route), "
                               "c = round(cos(0), 2), l = log10(100) | fields y, h, dn, w, s, c, l"))
    when = datetime.datetime.fromtimestamp(start / 1000, tz=datetime.timezone.utc)
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == [{
        "y": str(when.year), "h": str(when.hour), "dn": when.strftime("%A"), "w": str(when.isocalendar()[1]),
        "s": hashlib.sha1(docs[0]["route"].encode()).hexdigest(), "c": "1", "l": "2",
    }]


def test_flatten_nested_json_and_json_functions(logs):
    group = new_group(logs, "ppl-nested")
    start = (now_ms() // MINUTE_MS - 5) * MINUTE_MS
    docs = [
        {"req": {"method": "GET", "path": "/a"}, "items": [{"sku": "x", "n": 1}, {"sku": "y", "n": 2}], "ms": 5},
        {"req": {"method": "PUT", "path": "/b"}, "items": [{"sku": "z", "n": 3}], "ms": 7},
    ]
    put_events(logs, [Event(group, "s", start + i * SECOND_MS, json.dumps(d)) for i, d in enumerate(docs)])

    def q(text):
        return rows(run_query(logs, text, logGroupName=group, start_s=start // SECOND_MS - 60,
                              end_s=start // SECOND_MS + 600, queryLanguage="PPL"))

    # (A leading SOURCE chooses the group, as in Logs Insights.)
    qid = logs.start_query(queryLanguage="PPL", startTime=start // SECOND_MS - 60, endTime=start // SECOND_MS + 600,
                           queryString=f"SOURCE logGroups(names: ['{group}']) | stats count() as n")["queryId"]
    from test_logs_insights import wait_query
    assert rows(wait_query(logs, qid)) == [{"n": "2"}]
    got = q("flatten req | flatten items | fields method, path, sku, n | sort sku")
    want = [{"method": d["req"]["method"], "path": d["req"]["path"], "sku": it["sku"], "n": str(it["n"])}
            for d in docs for it in d["items"]]
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == sorted(want, key=lambda r: r["sku"])
    got = q("where ms = 5 | eval j = json_object('m', ms, 'tags', json_array('a', 'b')), "
            "t = json_extract(j, '$.tags[1]'), k = json_keys(j) | fields j, t, k")
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == [
        {"j": json.dumps({"m": 5, "tags": ["a", "b"]}, separators=(",", ":")), "t": "b", "k": '["m","tags"]'}
    ]


def test_dedup_keeps_n_per_combination_and_consecutive_runs(logs, data):
    _, _, docs = data
    by_ms = sorted(docs, key=lambda d: d["ms"])
    got = rows(ppl(logs, data, "sort ms | dedup 2 route | fields route, ms"))
    seen = Counter()
    want = []
    for d in by_ms:
        seen[d["route"]] += 1
        if seen[d["route"]] <= 2:
            want.append({"route": d["route"], "ms": str(d["ms"])})
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in got] == want
    got = rows(ppl(logs, data, "sort ms | dedup route consecutive=true | fields route"))
    runs = [d["route"] for i, d in enumerate(by_ms) if i == 0 or by_ms[i - 1]["route"] != d["route"]]
    assert [r["route"] for r in got] == runs


def test_inner_and_left_join(logs, data):
    group, start, docs = data
    teams = new_group(logs, "ppl-teams")
    put_events(logs, [Event(teams, "s", start + i * SECOND_MS, json.dumps(d))
                      for i, d in enumerate([{"user": "u0", "team": "red"}, {"user": "u1", "team": "blue"}])])
    team_of = {"u0": "red", "u1": "blue"}
    got = rows(ppl(logs, data, f"INNER JOIN left=a, right=b ON a.user = b.user `{teams}` "
                               "| stats count() as n by b.team | sort b.team"))
    want = Counter(team_of[d["user"]] for d in docs if d["user"] in team_of)
    assert [(r["b.team"], int(r["n"])) for r in got] == sorted(want.items())

    got = rows(ppl(logs, data, f"LEFT JOIN left=a, right=b ON a.user = b.user `{teams}` "
                               "| where isnull(b.team) | fields a.user, a.ms | sort a.ms"))
    assert [(r["a.user"], int(r["a.ms"])) for r in got] == \
        sorted(((d["user"], d["ms"]) for d in docs if d["user"] not in team_of), key=lambda t: t[1])

    # Further conditions of an inner join filter the joined rows.
    got = rows(ppl(logs, data, f"INNER JOIN left=a, right=b ON a.user = b.user AND b.team = 'red' AND a.ms > 50 "
                               f"`{teams}` | stats count() as n"))
    assert got == [{"n": str(sum(1 for d in docs if d["user"] == "u0" and d["ms"] > 50))}]

    # Fields chosen before the join do not hide the joined rows.
    got = rows(ppl(logs, data, f"fields user, ms | INNER JOIN left=a, right=b ON a.user = b.user `{teams}` "
                               "| fields a.user, b.team | dedup a.user | sort a.user"))
    assert [(r["a.user"], r["b.team"]) for r in got] == sorted(team_of.items())

    # eventstats after a join (and a second one): windows over the joined rows.
    got = rows(ppl(logs, data, f"INNER JOIN left=a, right=b ON a.user = b.user `{teams}` "
                               "| eventstats count() as n by b.team | eventstats max(a.ms) as top "
                               "| fields b.team, n, top | dedup b.team | sort b.team"))
    top = max(d["ms"] for d in docs if d["user"] in team_of)
    assert [(r["b.team"], int(r["n"]), int(r["top"])) for r in got] == [(t, n, top) for t, n in sorted(want.items())]

    # Without aliases: the right side named by its AS alias, the left by the other qualifier.
    got = rows(ppl(logs, data, f"INNER JOIN ON t.user = tm.user `{teams}` AS tm "
                               "| stats count() as n by tm.team | sort tm.team"))
    assert [(r["tm.team"], int(r["n"])) for r in got] == sorted(want.items())

    # The right side as a subsearch: its rows (here only the red team, renamed) are joined.
    got = rows(ppl(logs, data, f"INNER JOIN left=a, right=b ON a.user = b.user [ source = `{teams}` "
                               "| where team = 'red' | eval squad = upper(team) | fields user, squad ] "
                               "| stats count() as n by b.squad"))
    assert got == [{"b.squad": "RED", "n": str(sum(d["user"] == "u0" for d in docs))}]

    err = expect_error("MalformedQueryException", logs.start_query, queryLanguage="PPL", logGroupName=group,
                       startTime=start // SECOND_MS, endTime=start // SECOND_MS + 600,
                       queryString=f"JOIN left=a, right=b ON a.user = b.user `{teams}` | where ms > 10")
    assert "qualify ms" in err.response["Error"]["Message"]


@pytest.mark.parametrize(
    "q, words",
    [
        ("eventstats count() | eventstats dc(ms)", "distinct_count in a second eventstats"),
        ("stats take(route, 0)", "take's size"),
        ("eval x = soundex(route)", "function soundex"),
        ("fields - route | fields route", "route was renamed or removed"),
        ("trendline wma(2, ms)", "wma"),
        ("source = [ds:`DataSource1.Type1`] | head 1", "data sources"),
    ],
)
def test_unsupported_ppl_is_malformed_query(logs, data, q, words):
    group, start, _ = data
    err = expect_error(
        "MalformedQueryException",
        logs.start_query,
        queryString=q,
        queryLanguage="PPL",
        logGroupName=group,
        startTime=start // SECOND_MS,
        endTime=start // SECOND_MS + 600,
    )
    assert words in err.response["Error"]["Message"], err.response


def test_aws_cli_runs_a_ppl_query(server, ci, logs, data):
    """aws CLI v1 (Debian's v2 predates `--query-language`)."""
    group, start, docs = data
    proc = subprocess.run(
        base_args(cli_path("v1", ci), server)
        + ["logs", "start-query", "--log-group-name", group, "--query-language", "PPL",
           "--start-time", str(start // SECOND_MS - 60), "--end-time", str(start // SECOND_MS + 600),
           "--query-string", "stats count() by status"],
        env=cli_env(server), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    started = out_json(proc)
    resp = wait_query(logs, started["queryId"])
    assert resp["status"] == "Complete" and resp["queryLanguage"] == "PPL", resp
    counts = {r["status"]: int(r["count()"]) for r in rows(resp)}
    assert counts == {str(k): v for k, v in Counter(d["status"] for d in docs).items()}


def test_case_cast_booleans_and_xor(logs, data):
    """OpenSearch's documented forms: case(… else …), cast(… as int), true/false, xor."""
    got = rows(ppl(logs, data, "eval kind = case(status >= 500, 'server', status >= 400, 'client' else 'ok'), "
                               "big = if(cast(ms as int) > 100, true, false) "
                               "| where kind = 'ok' xor big = true | stats count() as n by kind, big"))
    _, _, docs = data
    want = Counter()
    for d in docs:
        kind = "server" if d["status"] >= 500 else "client" if d["status"] >= 400 else "ok"
        big = d["ms"] > 100
        if (kind == "ok") != big:
            want[(kind, "true" if big else "false")] += 1
    assert sorted((r["kind"], r["big"], r["n"]) for r in got) == sorted((k, b, str(n)) for (k, b), n in want.items())


def test_source_scope_names_the_log_groups(logs, data):
    """AWS's query scope for PPL: `source = [lg:`…`]` instead of log groups in the request."""
    group, start, docs = data
    resp = run_query(logs, f"source = [lg:`{group}`, `aws:fieldIndex` = \"status\", `status` IN (404, 500)] "
                           "| stats count() as n by status",
                     start_s=start // SECOND_MS - 60, end_s=start // SECOND_MS + 600, queryLanguage="PPL")
    want = Counter(d["status"] for d in docs if d["status"] in (404, 500))
    assert sorted((r["status"], r["n"]) for r in rows(resp)) == sorted((str(s), str(n)) for s, n in want.items())
    for q, code in ((f"source = [lg:`{group}-missing`] | head 1", "ResourceNotFoundException"),
                    ("source = [ds:`DataSource1.Type1`] | head 1", "MalformedQueryException")):
        expect_error(code, logs.start_query, queryString=q, queryLanguage="PPL",
                     startTime=start // SECOND_MS - 60, endTime=start // SECOND_MS + 600)
    # Log groups in the request as well as in the scope: one place only.
    expect_error("InvalidParameterException", logs.start_query, queryString=f"source = [lg:`{group}`] | head 1",
                 queryLanguage="PPL", logGroupName=group,
                 startTime=start // SECOND_MS - 60, endTime=start // SECOND_MS + 600)


def test_appendcol_lays_a_sub_search_over_the_rows(logs, data):
    _, _, docs = data
    got = rows(ppl(logs, data, "stats count() as n by route | sort route "
                               "| appendcol [ stats max(ms) as slowest by route | sort route ]"))
    routes = sorted({d["route"] for d in docs})
    assert got == [{"n": str(sum(d["route"] == r for d in docs)), "route": r,
                    "slowest": str(max(d["ms"] for d in docs if d["route"] == r))} for r in routes]
