#!/usr/bin/env python3
"""SQL peers of the Logs Insights benchmark (`insights-bench --peers`).

Loads the benchmark's NDJSON (one PutLogEvents InputLogEvent per line:
``{"timestamp": <epoch ms>, "message": "<the access-log JSON as a string>"}``) into one embedded
engine and runs the SQL equivalents of the benchmark's six Logs Insights queries, timing each
with wall-clock and process CPU time (``time.process_time``: every thread of this process, so
the engines' worker threads are counted).

    python sql_peers.py --engine chdb|duckdb --data FILE.ndjson [--reps R] [--typed]

Prints one JSON document on stdout:

    {"engine": "chdb", "version": "...", "load": {"wall": s, "cpu": s, "rows": n},
     "queries": {"a": {"sql": "...", "reps": [{"wall": s, "cpu": s}, ...],
                       "rows": [[...], ...]}, ...},
     "typed": {...same shape, queries over columns extracted at load...},
     "error": null}

Schema-on-read ("raw"): the table holds exactly what the server stores, the event timestamp and
the message text, and every query extracts fields from the message at query time (JSON
functions, or regular expressions for the `parse` query) — the work Logs Insights does.
Typed (``--typed``): the same queries over columns extracted once at load time (the best case
for a columnar engine; informative, not the like-for-like comparison).

Result rows are plain JSON values in a fixed column order per query (see QUERIES); the Rust
side normalises them. Percentiles: chDB ``quantileExact(0.99)`` (the element at 0-based
position floor(0.99 * n) of the sorted values), DuckDB ``quantile_disc(x, 0.99)`` (a discrete
quantile, always one of the values); Logs Insights in Nephoscope uses the nearest rank
(1-based rank ceil(0.99 * n)). They may pick adjacent sorted values, so the comparison allows
a tolerance.
"""

import argparse
import json
import sys
import time
import traceback

# Logs Insights query of each name, for the record (the Rust side holds the authoritative text).
#   a  filter status >= 500 | stats count(*) by bin(5m)            -> [bin_ms, count]
#   b  filter @message like /(?i)python-requests\/2\.\d+/ | stats count(*)  -> [count]
#   c  parse @message /"resourcePath":"(?<route>[^"]+)".*"responseLatency":(?<latency>\d+)/
#      | stats avg(latency) by route                               -> [route, avg]
#   d  sort @timestamp desc | limit 100                           -> [timestamp_ms, message]
#   e  stats count_distinct(user) by resourcePath                 -> [route, distinct users]
#   f  stats pct(responseLatency, 99) by resourcePath             -> [route, p99]

# ClickHouse string literals unescape backslashes, so regex backslashes are doubled there.
CHDB_RAW = {
    "a": "SELECT intDiv(timestamp, 300000) * 300000 AS bin, count() AS n FROM logs "
    "WHERE JSONExtractInt(message, 'status') >= 500 GROUP BY bin ORDER BY bin",
    "b": "SELECT count() FROM logs WHERE match(message, '(?i)python-requests/2\\\\.\\\\d+')",
    "c": "SELECT g[1] AS route, avg(toFloat64(g[2])) FROM (SELECT extractGroups(message, "
    "'\"resourcePath\":\"([^\"]+)\".*\"responseLatency\":(\\\\d+)') AS g FROM logs) "
    "WHERE length(g) = 2 GROUP BY route ORDER BY route",
    "d": "SELECT timestamp, message FROM logs ORDER BY timestamp DESC LIMIT 100",
    "e": "SELECT JSONExtractString(message, 'resourcePath') AS route, "
    "uniqExact(JSONExtractString(message, 'user')) FROM logs GROUP BY route ORDER BY route",
    "f": "SELECT JSONExtractString(message, 'resourcePath') AS route, "
    "quantileExact(0.99)(JSONExtractFloat(message, 'responseLatency')) FROM logs "
    "GROUP BY route ORDER BY route",
}
CHDB_TYPED_LOAD = (
    "CREATE TABLE typed ENGINE = MergeTree ORDER BY timestamp AS SELECT timestamp, "
    "JSONExtractInt(message, 'status') AS status, "
    "JSONExtractString(message, 'resourcePath') AS route, "
    "JSONExtractString(message, 'user') AS user, "
    "JSONExtractInt(message, 'responseLatency') AS latency FROM logs"
)
CHDB_TYPED = {
    "a": "SELECT intDiv(timestamp, 300000) * 300000 AS bin, count() AS n FROM typed "
    "WHERE status >= 500 GROUP BY bin ORDER BY bin",
    "c": "SELECT route, avg(toFloat64(latency)) FROM typed GROUP BY route ORDER BY route",
    "e": "SELECT route, uniqExact(user) FROM typed GROUP BY route ORDER BY route",
    "f": "SELECT route, quantileExact(0.99)(latency) FROM typed GROUP BY route ORDER BY route",
}

# DuckDB string literals keep backslashes as they are.
DUCK_RAW = {
    "a": "SELECT (timestamp // 300000) * 300000 AS bin, count(*) AS n FROM logs "
    "WHERE CAST(json_extract(message, '$.status') AS BIGINT) >= 500 GROUP BY bin ORDER BY bin",
    "b": "SELECT count(*) FROM logs WHERE regexp_matches(message, '(?i)python-requests/2\\.\\d+')",
    "c": "SELECT g.route, avg(CAST(g.latency AS DOUBLE)) FROM (SELECT regexp_extract(message, "
    "'\"resourcePath\":\"([^\"]+)\".*\"responseLatency\":(\\d+)', ['route', 'latency']) AS g "
    "FROM logs) WHERE g.route <> '' GROUP BY g.route ORDER BY g.route",
    "d": "SELECT timestamp, message FROM logs ORDER BY timestamp DESC LIMIT 100",
    "e": "SELECT json_extract_string(message, '$.resourcePath') AS route, "
    "count(DISTINCT json_extract_string(message, '$.user')) FROM logs GROUP BY route "
    "ORDER BY route",
    "f": "SELECT json_extract_string(message, '$.resourcePath') AS route, "
    "quantile_disc(CAST(json_extract(message, '$.responseLatency') AS DOUBLE), 0.99) "
    "FROM logs GROUP BY route ORDER BY route",
}
DUCK_TYPED_LOAD = (
    "CREATE TABLE typed AS SELECT timestamp, "
    "CAST(json_extract(message, '$.status') AS BIGINT) AS status, "
    "json_extract_string(message, '$.resourcePath') AS route, "
    "json_extract_string(message, '$.user') AS user, "
    "CAST(json_extract(message, '$.responseLatency') AS BIGINT) AS latency FROM logs"
)
DUCK_TYPED = {
    "a": "SELECT (timestamp // 300000) * 300000 AS bin, count(*) AS n FROM typed "
    "WHERE status >= 500 GROUP BY bin ORDER BY bin",
    "c": "SELECT route, avg(CAST(latency AS DOUBLE)) FROM typed GROUP BY route ORDER BY route",
    "e": "SELECT route, count(DISTINCT user) FROM typed GROUP BY route ORDER BY route",
    "f": "SELECT route, quantile_disc(latency, 0.99) FROM typed GROUP BY route ORDER BY route",
}


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}


class Chdb:
    name = "chdb"

    def __init__(self, data):
        import chdb
        from chdb import session

        self.version = "chdb %s (ClickHouse %s)" % (chdb.__version__, self._ch_version(session))
        self.s = session.Session()
        self.s.query(
            "CREATE TABLE logs (timestamp Int64, message String) "
            "ENGINE = MergeTree ORDER BY timestamp"
        )
        path = data.replace("'", "\\'")
        self.load = (
            "INSERT INTO logs SELECT timestamp, message FROM file('%s', 'JSONEachRow', "
            "'timestamp Int64, message String')" % path
        )
        self.raw, self.typed, self.typed_load = CHDB_RAW, CHDB_TYPED, CHDB_TYPED_LOAD

    @staticmethod
    def _ch_version(session):
        s = session.Session()
        try:
            return s.query("SELECT version()", "CSV").bytes().decode().strip().strip('"')
        finally:
            s.close()

    def execute(self, sql):
        self.s.query(sql)

    def rows(self, sql):
        r = self.s.query(sql, "JSONCompact")
        doc = json.loads(r.bytes() or b"{}")
        return doc.get("data", [])

    def count(self):
        return int(self.rows("SELECT count() FROM logs")[0][0])

    def close(self):
        self.s.close()


class Duck:
    name = "duckdb"

    def __init__(self, data):
        import duckdb

        self.version = "duckdb %s" % duckdb.__version__
        self.c = duckdb.connect()
        path = data.replace("'", "''")
        self.load = (
            "CREATE TABLE logs AS SELECT timestamp, message FROM read_json('%s', "
            "format = 'newline_delimited', columns = {'timestamp': 'BIGINT', "
            "'message': 'VARCHAR'})" % path
        )
        self.raw, self.typed, self.typed_load = DUCK_RAW, DUCK_TYPED, DUCK_TYPED_LOAD

    def execute(self, sql):
        self.c.execute(sql)

    def rows(self, sql):
        return [list(r) for r in self.c.execute(sql).fetchall()]

    def count(self):
        return int(self.rows("SELECT count(*) FROM logs")[0][0])

    def close(self):
        self.c.close()


def run_set(eng, queries, reps):
    out = {}
    for name, sql in queries.items():
        entry = {"sql": sql, "reps": [], "rows": None, "error": None}
        try:
            for _ in range(reps):
                rows, t = timed(lambda: eng.rows(sql))
                entry["reps"].append(t)
                entry["rows"] = rows
        except Exception as e:  # report and continue with the next query
            entry["error"] = "%s: %s" % (type(e).__name__, e)
        out[name] = entry
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=["chdb", "duckdb"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--typed", action="store_true")
    a = ap.parse_args()
    doc = {"engine": a.engine, "version": None, "load": None, "queries": {}, "typed": None,
           "error": None}
    try:
        eng = Chdb(a.data) if a.engine == "chdb" else Duck(a.data)
        doc["version"] = eng.version
        _, t = timed(lambda: eng.execute(eng.load))
        t["rows"] = eng.count()
        doc["load"] = t
        doc["queries"] = run_set(eng, eng.raw, max(1, min(a.reps, 10)))
        if a.typed:
            _, t = timed(lambda: eng.execute(eng.typed_load))
            doc["typed"] = {"load": t, "queries": run_set(eng, eng.typed, max(1, min(a.reps, 10)))}
        eng.close()
    except Exception as e:
        doc["error"] = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
    json.dump(doc, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
