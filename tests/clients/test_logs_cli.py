"""CloudWatch Logs from the aws CLI, as users type it: v1 from PyPI (`.venv-clients/bin/aws`) and
Debian's v2 2.9.19 (`/usr/bin/aws`, which also has `aws logs tail [--follow]`, a FilterLogEvents
poller: `awscli/customizations/logs/tail.py`)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support import boto_client, client_env, now_ms, require_tool, unique, wait_for

CLI_V1 = Path(sys.executable).parent / "aws"
CLI_V2_DEBIAN = Path("/usr/bin/aws")
FOLLOW_DEADLINE_S = 40.0  # `tail --follow` polls every 5 s


def cli_path(which: str, ci: bool) -> Path:
    if which == "v1":
        if not CLI_V1.exists():
            pytest.fail(f"aws CLI v1 missing at {CLI_V1}: run the tests with .venv-clients/bin/python",
                        pytrace=False)
        return CLI_V1
    require_tool(CLI_V2_DEBIAN, "Debian's aws CLI v2 (apt-get install awscli)", ci)
    return CLI_V2_DEBIAN


def base_args(path: Path, server) -> list[str]:
    return [str(path), "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]


def cli_env(server) -> dict[str, str]:
    env = client_env(server)
    env["PYTHONUNBUFFERED"] = "1"  # tail writes to a pipe here; see each line as it is printed
    return env


@pytest.fixture(params=["v1", "v2-debian"])
def aws(request, ci, server):
    path = cli_path(request.param, ci)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(base_args(path, server) + list(args), capture_output=True, text=True,
                              timeout=120, env=cli_env(server))
        if check:
            assert proc.returncode == 0, f"aws {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
        return proc

    return run


def out_json(proc: subprocess.CompletedProcess):
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_logs_round_trip(aws):
    group = f"/neph/cli/{unique()}"
    aws("logs", "create-log-group", "--log-group-name", group)
    aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "web")
    t = now_ms() - 60_000

    # shorthand syntax, then JSON syntax (messages with spaces)
    put = out_json(aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "web",
                       "--log-events", f"timestamp={t},message=hello", f"timestamp={t + 1},message=world"))
    assert put.get("nextSequenceToken"), put
    assert "rejectedLogEventsInfo" not in put, put
    events = [{"timestamp": t + 2, "message": "ERROR disk full"},
              {"timestamp": t + 3, "message": "INFO fine"}]
    aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "web",
        "--log-events", json.dumps(events))

    got = out_json(aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "web",
                       "--start-from-head"))
    assert [e["message"] for e in got["events"]] == ["hello", "world", "ERROR disk full", "INFO fine"]
    assert [e["timestamp"] for e in got["events"]] == [t, t + 1, t + 2, t + 3]
    assert got["nextForwardToken"] and got["nextBackwardToken"], got

    filtered = out_json(aws("logs", "filter-log-events", "--log-group-name", group,
                            "--filter-pattern", "ERROR"))
    assert [(e["logStreamName"], e["message"]) for e in filtered["events"]] == [("web", "ERROR disk full")]
    everything = out_json(aws("logs", "filter-log-events", "--log-group-name", group))
    assert len(everything["events"]) == 4, everything

    described = out_json(aws("logs", "describe-log-groups", "--log-group-name-prefix", group))
    assert [g["logGroupName"] for g in described["logGroups"]] == [group]
    assert described["logGroups"][0]["arn"].endswith(f":log-group:{group}:*"), described

    streams = out_json(aws("logs", "describe-log-streams", "--log-group-name", group))
    assert [s["logStreamName"] for s in streams["logStreams"]] == ["web"]


def test_logs_cli_errors(aws):
    group = f"/neph/cli/{unique()}"
    aws("logs", "create-log-group", "--log-group-name", group)
    again = aws("logs", "create-log-group", "--log-group-name", group, check=False)
    assert again.returncode != 0 and "(ResourceAlreadyExistsException)" in again.stderr, again.stderr
    missing = aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "nope",
                  "--log-events", f"timestamp={now_ms()},message=x", check=False)
    assert missing.returncode != 0 and "(ResourceNotFoundException)" in missing.stderr, missing.stderr
    bad = aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "{ $.a = ",
              check=False)
    assert bad.returncode != 0 and "(InvalidParameterException)" in bad.stderr, bad.stderr


def test_describe_log_groups_paginates_through_everything(aws):
    """The CLI follows nextToken on its own; --page-size 1 forces one group per request."""
    prefix = f"/neph/cli/{unique()}/"
    names = [prefix + n for n in ("c", "a", "b")]
    for name in names:
        aws("logs", "create-log-group", "--log-group-name", name)
    out = out_json(aws("logs", "describe-log-groups", "--log-group-name-prefix", prefix, "--page-size", "1"))
    assert [g["logGroupName"] for g in out["logGroups"]] == sorted(names)


def test_insights_start_query_and_get_query_results(aws):
    """`logs start-query` (startTime/endTime in epoch seconds) then `logs get-query-results` polled
    until the status leaves Scheduled/Running: a stats query and a fields query with @ptr."""
    group = f"/neph/cli/{unique()}"
    aws("logs", "create-log-group", "--log-group-name", group)
    aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "api")
    t = now_ms() - 5 * 60_000
    docs = [{"status": 200, "route": "GET /a"}, {"status": 500, "route": "GET /a"},
            {"status": 200, "route": "POST /b"}, {"status": 200, "route": "GET /a"}]
    events = [{"timestamp": t + i, "message": json.dumps(d)} for i, d in enumerate(docs)]
    aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "api",
        "--log-events", json.dumps(events))
    start_s, end_s = str(t // 1000 - 60), str(t // 1000 + 60)

    def run(query: str) -> dict:
        started = out_json(aws("logs", "start-query", "--log-group-name", group, "--start-time", start_s,
                               "--end-time", end_s, "--query-string", query))
        assert started.get("queryId"), started
        seen: list[str] = []

        def fetch():
            resp = out_json(aws("logs", "get-query-results", "--query-id", started["queryId"]))
            seen.append(resp["status"])
            return resp

        resp = wait_for(fetch, lambda r: r["status"] not in ("Scheduled", "Running"), timeout=60,
                        interval=0.1, what=f"query {query!r} to finish")
        assert resp["status"] == "Complete", (seen, resp)
        assert resp["statistics"]["recordsScanned"] == len(docs), resp
        return resp

    stats = run("stats count(*) as n by route | sort n desc")
    assert [{f["field"]: f["value"] for f in row} for row in stats["results"]] == \
        [{"route": "GET /a", "n": "3"}, {"route": "POST /b", "n": "1"}], stats

    errors = run("fields @timestamp, @message | filter status >= 500")
    [row] = [{f["field"]: f["value"] for f in row} for row in errors["results"]]
    assert row["@message"] == events[1]["message"], errors
    assert row["@ptr"], errors
    record = out_json(aws("logs", "get-log-record", "--log-record-pointer", row["@ptr"]))
    assert record["logRecord"]["@message"] == events[1]["message"], record

    bad = aws("logs", "start-query", "--log-group-name", group, "--start-time", start_s, "--end-time", end_s,
              "--query-string", "stats count(* by route", check=False)
    assert bad.returncode != 0 and "(MalformedQueryException)" in bad.stderr, bad.stderr


# --------------------------------------------------------------------------------------------
# aws logs tail (Debian's v2 only: v1 has no `tail`)


@pytest.fixture
def tail_group(server):
    logs = boto_client(server, "logs")
    group = f"/neph/tail/{unique()}"
    logs.create_log_group(logGroupName=group)
    for stream in ("api", "worker"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = now_ms() - 10 * 60_000
    logs.put_log_events(logGroupName=group, logStreamName="api",
                        logEvents=[{"timestamp": base, "message": "api started"},
                                   {"timestamp": base + 2000, "message": "ERROR api request failed"}])
    logs.put_log_events(logGroupName=group, logStreamName="worker",
                        logEvents=[{"timestamp": base + 1000, "message": "worker started"}])
    # an event older than --since 1h stays out
    logs.put_log_events(logGroupName=group, logStreamName="worker",
                        logEvents=[{"timestamp": now_ms() - 3 * 3_600_000, "message": "too early"}])
    return logs, group


def test_tail_since_prints_events_in_time_order(server, ci, tail_group):
    path = cli_path("v2-debian", ci)
    _, group = tail_group
    proc = subprocess.run(base_args(path, server) + ["logs", "tail", group, "--since", "1h"],
                          capture_output=True, text=True, timeout=120, env=cli_env(server))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    # detailed format: "<ISO timestamp> <stream> <message>"
    assert [line.split(" ", 2)[1:] for line in lines] == [
        ["api", "api started"], ["worker", "worker started"], ["api", "ERROR api request failed"]
    ], proc.stdout

    short = subprocess.run(base_args(path, server) + ["logs", "tail", group, "--since", "1h",
                                                      "--format", "short", "--filter-pattern", "ERROR"],
                           capture_output=True, text=True, timeout=120, env=cli_env(server))
    assert short.returncode == 0, short.stderr
    assert [line.split(" ", 1)[1] for line in short.stdout.splitlines() if line.strip()] == \
        ["ERROR api request failed"], short.stdout


class LineReader:
    """Collects a subprocess's stdout lines on a thread so the test can wait with a deadline."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._proc = proc
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        with self._proc.stdout:
            for line in self._proc.stdout:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def join(self, timeout: float) -> None:
        """After the process is gone: wait for the pipe to drain (the thread closes it)."""
        self._thread.join(timeout)

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(needle in line for line in self.lines):
            return
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not printed within {timeout}s; got {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"tail exited (code {self._proc.wait()}) before printing {needle!r}; "
                                     f"got {self.lines}")
            self.lines.append(line)
            if needle in line:
                return


def test_tail_follow_picks_up_new_events(server, ci, tail_group, tmp_path):
    path = cli_path("v2-debian", ci)
    logs, group = tail_group
    stderr_path = tmp_path / "tail.stderr"
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(base_args(path, server) + ["logs", "tail", group, "--follow", "--since", "1h"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                text=True, env=cli_env(server), start_new_session=True)
    reader = LineReader(proc)
    try:
        try:
            reader.wait_for("ERROR api request failed", FOLLOW_DEADLINE_S)  # the backlog first
            marker = f"new event {unique()}"
            logs.put_log_events(logGroupName=group, logStreamName="worker",
                                logEvents=[{"timestamp": now_ms(), "message": marker}])
            reader.wait_for(marker, FOLLOW_DEADLINE_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nstderr: {stderr_path.read_text()[-3000:]}") from None
        assert proc.poll() is None, "tail --follow exited on its own"
        printed = [line.split(" ", 2)[2] for line in reader.lines if line.strip()]
        assert printed == ["api started", "worker started", "ERROR api request failed", marker], reader.lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what a user does; tail exits quietly on KeyboardInterrupt
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        reader.join(timeout=15)
