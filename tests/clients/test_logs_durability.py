"""Crash safety of CloudWatch Logs state in --data-dir (write-ahead log, fsync before the answer).

The crash test runs a writer thread that keeps sending PutLogEvents batches ("seq-<n>", one
millisecond apart) while the server is SIGKILLed at random moments and restarted on the same data
directory (new port each time). Afterwards every acknowledged event must be readable exactly
once and in order; events of batches that got no answer may be there or not, but never twice,
never out of order, and never anything that was not sent.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from support import boto_client, messages, now_ms, read_stream, unique, wait_for

BATCH = 50
MIN_KILLS = 10
TARGET_KILLS = 12
CYCLE_BUDGET_S = 40.0  # all kill/restart cycles; the whole test stays under ~60 s
MAX_EVENTS = 400_000  # bounds the timestamps (base + seq ms) and the final read


class Writer(threading.Thread):
    """Sends batch after batch to whichever server is current; records what was acknowledged."""

    def __init__(self, group: str, stream: str, base_ts: int):
        super().__init__(daemon=True)
        self.group, self.stream, self.base_ts = group, stream, base_ts
        self._lock = threading.Lock()
        self._server = None
        self._server_changed = threading.Event()
        self.stopping = threading.Event()
        self.next_seq = 0
        self.acked: list[tuple[int, int]] = []  # (first, last) inclusive
        self.unanswered: list[tuple[int, int]] = []  # connection died before an answer
        self.server_errors: list[tuple[int, int, int, str]] = []  # 5xx answers
        self.client_errors: list[tuple[int, int, int, str]] = []  # 4xx answers: never expected
        self.rejected_info: list[tuple[int, dict]] = []
        self.crash: BaseException | None = None

    def set_server(self, server) -> None:
        with self._lock:
            self._server = server
        self._server_changed.set()

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # reported by the test
            self.crash = exc

    def _loop(self) -> None:
        client, client_for = None, None
        while not self.stopping.is_set() and self.next_seq < MAX_EVENTS:
            with self._lock:
                server = self._server
            if server is None:
                self._server_changed.wait(0.05)
                self._server_changed.clear()
                continue
            if server is not client_for:
                client, client_for = boto_client(server, "logs"), server
            first = self.next_seq
            self.next_seq += BATCH
            batch = (first, first + BATCH - 1)
            events = [{"timestamp": self.base_ts + seq, "message": f"seq-{seq}"}
                      for seq in range(first, first + BATCH)]
            try:
                resp = client.put_log_events(logGroupName=self.group, logStreamName=self.stream,
                                             logEvents=events)
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                record = (first, first + BATCH - 1, status, str(exc))
                with self._lock:
                    (self.server_errors if status >= 500 else self.client_errors).append(record)
                continue
            except BotoCoreError:
                with self._lock:
                    self.unanswered.append(batch)
                # The server is gone: wait (briefly) for the test to start the next one.
                self._server_changed.wait(0.5)
                self._server_changed.clear()
                continue
            with self._lock:
                self.acked.append(batch)
                if resp.get("rejectedLogEventsInfo"):
                    self.rejected_info.append((first, resp["rejectedLogEventsInfo"]))


def test_acknowledged_events_survive_sigkill(start_server, tmp_path):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    group, stream = f"/neph/durability/{unique()}", "writer"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)

    writer = Writer(group, stream, base_ts=now_ms() - 30 * 60_000)
    writer.set_server(srv)
    writer.start()
    kills, cycle_log = 0, []
    started = time.monotonic()
    try:
        while kills < TARGET_KILLS and time.monotonic() - started < CYCLE_BUDGET_S:
            if rng.random() < 0.2:
                moment = "right after startup"  # possibly while the log is still being replayed
            else:
                before = writer.acked_count()
                wait_for(writer.acked_count, lambda n, b=before: n > b, timeout=15,
                         what=f"a PutLogEvents acknowledged by server #{kills + 1} (seed {seed})")
                delay = rng.uniform(0.0, 1.0)
                time.sleep(delay)  # the random crash moment, not a wait for a condition
                moment = f"{delay:.2f}s after its first ack"
            srv.kill()  # SIGKILL: no graceful shutdown
            kills += 1
            cycle_log.append(f"kill {kills} {moment} (acked so far: {writer.acked_count()})")
            srv = start_server(ephemeral=False, data_dir=data_dir)
            writer.set_server(srv)
    finally:
        writer.stopping.set()
        writer.set_server(None)
        writer.join(timeout=30)
    assert not writer.is_alive(), "writer thread did not stop"
    assert writer.crash is None, repr(writer.crash)
    assert kills >= MIN_KILLS, f"only {kills} kill/restart cycles in {CYCLE_BUDGET_S}s: {cycle_log}"

    # One more crash after the last acknowledged batch, then read everything back.
    srv.kill()
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    context = f"seed {seed}; cycles: {cycle_log}"

    assert not writer.client_errors, f"4xx answers during the crash test: {writer.client_errors[:5]}; {context}"
    assert not writer.rejected_info, f"events rejected: {writer.rejected_info[:5]}"
    assert len(writer.acked) >= kills, f"too few acknowledged batches ({len(writer.acked)}); {context}"

    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [group]
    events = read_stream(logs, group, stream)
    texts = messages(events)
    bad = [m for m in texts if not (m.startswith("seq-") and m[4:].isdigit())]
    assert not bad, f"unexpected messages {bad[:5]}"
    seqs = [int(m[4:]) for m in texts]
    wrong_ts = [(e["message"], e["timestamp"]) for e, s in zip(events, seqs) if e["timestamp"] != writer.base_ts + s]
    assert not wrong_ts, f"timestamps changed: {wrong_ts[:5]}"

    duplicates = sorted({s for s in seqs if seqs.count(s) > 1}) if len(seqs) != len(set(seqs)) else []
    assert not duplicates, f"{len(duplicates)} events stored twice, e.g. {duplicates[:10]}; {context}"
    out_of_order = [(a, b) for a, b in zip(seqs, seqs[1:]) if b <= a]
    assert not out_of_order, f"events out of order, e.g. {out_of_order[:5]}; {context}"

    stored = set(seqs)
    acked = {s for first, last in writer.acked for s in range(first, last + 1)}
    lost = sorted(acked - stored)
    lost_batches = sorted({s - s % BATCH for s in lost})
    assert not lost, (f"{len(lost)} acknowledged events lost ({len(lost_batches)} batches, first at seq "
                      f"{lost_batches[:5]}); {len(acked)} acknowledged, {len(stored)} stored; {context}")
    print(f"{kills} kills, {len(writer.acked)} batches acknowledged, {len(writer.unanswered)} unanswered, "
          f"{len(writer.server_errors)} answered 5xx, {len(stored)} events stored; {context}")
    sent = acked | {s for first, last in writer.unanswered + [(f, l) for f, l, _, _ in writer.server_errors]
                    for s in range(first, last + 1)}
    phantom = sorted(stored - sent)
    assert not phantom, f"events that were never sent: {phantom[:10]}"


def test_acknowledged_metadata_survives_sigkill_and_restart(start_server, tmp_path):
    """Every acknowledged mutation is durable, not just PutLogEvents: kill right after the answers."""
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    kept, dropped = f"/neph/durability/{unique()}", f"/neph/durability/{unique()}"
    logs.create_log_group(logGroupName=kept, tags={"team": "core"}, logGroupClass="INFREQUENT_ACCESS",
                          deletionProtectionEnabled=True)
    logs.put_retention_policy(logGroupName=kept, retentionInDays=30)
    logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:000000000000:log-group:{kept}", tags={"env": "ci"})
    for name in ("a", "b"):
        logs.create_log_stream(logGroupName=kept, logStreamName=name)
    logs.put_log_events(logGroupName=kept, logStreamName="a",
                        logEvents=[{"timestamp": now_ms() - 1000, "message": "before the crash"}])
    logs.create_log_group(logGroupName=dropped)
    logs.delete_log_group(logGroupName=dropped)
    srv.kill()

    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/neph/durability/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [kept], groups
    g = groups[0]
    assert g["retentionInDays"] == 30 and g["logGroupClass"] == "INFREQUENT_ACCESS", g
    assert g["deletionProtectionEnabled"] is True, g
    assert logs.list_tags_log_group(logGroupName=kept)["tags"] == {"team": "core", "env": "ci"}
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=kept)["logStreams"]] == ["a", "b"]
    assert messages(read_stream(logs, kept, "a")) == ["before the crash"]

    # ... and a graceful restart keeps it all as well
    assert srv.stop() == 0, srv.log()[-2000:]
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    assert messages(read_stream(logs, kept, "a")) == ["before the crash"]
    with pytest.raises(ClientError) as info:
        logs.delete_log_group(logGroupName=kept)
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_insights_results_survive_a_restart(start_server, tmp_path):
    """Ended Logs Insights queries are kept with their results (AWS keeps them 7 days): after a
    restart GetQueryResults and DescribeQueries still answer them."""
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    group, stream = unique("/neph/insights-kept/"), "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = now_ms() - 60_000
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": base + i, "message": f"status={200 if i % 3 else 500}"} for i in range(30)])
    qid = logs.start_query(logGroupName=group, startTime=base // 1000 - 60, endTime=base // 1000 + 60,
                           queryString="parse @message 'status=*' as status | stats count(*) as n by status"
                                       " | sort status")["queryId"]
    before = wait_for(lambda: logs.get_query_results(queryId=qid), lambda r: r["status"] == "Complete",
                      what="query complete")
    assert [[(f["field"], f["value"]) for f in row] for row in before["results"]] == \
        [[("status", "200"), ("n", "20")], [("status", "500"), ("n", "10")]]
    assert srv.stop() == 0
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    after = logs.get_query_results(queryId=qid)
    assert after["status"] == "Complete"
    assert after["results"] == before["results"] and after["statistics"] == before["statistics"]
    described = logs.describe_queries(logGroupName=group)["queries"]
    assert [(q["queryId"], q["status"]) for q in described] == [(qid, "Complete")]
