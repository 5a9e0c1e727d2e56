"""Crash safety of CloudWatch metric data in --data-dir (acknowledged PutMetricData is durable).

The crash test runs a writer thread that keeps sending PutMetricData batches of 20 datums while
the server is SIGKILLed at random moments and restarted on the same data directory (new port
each time). Datum i of batch b is metric `d<i>` at minute `base + b`, value `b * 20 + i`: every
(metric, minute) cell belongs to exactly one datum, so GetMetricStatistics (Period 60,
SampleCount and Sum) shows for each cell whether that datum is stored and how many times.
Afterwards every acknowledged datum must be stored exactly once (SampleCount 1, Sum = its
value); datums of batches that got no answer may be there or not, but never twice, and nothing
that was never sent may appear. The minutes lie 12 days back and later, inside the two-week
ingestion window and the 15 days for which CloudWatch keeps 1-minute data.

The second test checks that the data and ListMetrics are unchanged by a graceful restart
(SIGTERM, exit code 0) and by a SIGKILL right after the acknowledgement.
"""

from __future__ import annotations

import datetime
import os
import random
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from support import boto_client, unique, wait_for

UTC = datetime.timezone.utc
BATCH = 20
MIN_KILLS = 10
TARGET_KILLS = 12
CYCLE_BUDGET_S = 40.0  # all kill/restart cycles; the whole test stays under ~60 s
MAX_BATCHES = 15_000  # one minute per batch: 12 days back + 15,000 min stays ~1.6 days in the past
MAX_POINTS = 1440  # datapoints one GetMetricStatistics call may return
DIMS = [{"Name": "Writer", "Value": "crash-test"}]


def at(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, UTC)


def metric_names() -> list[str]:
    return [f"d{i:02d}" for i in range(BATCH)]


def datum_value(batch: int, i: int) -> float:
    return float(batch * BATCH + i)


class Writer(threading.Thread):
    """Sends batch after batch to whichever server is current; records what was acknowledged."""

    def __init__(self, namespace: str, base: int):
        super().__init__(daemon=True)
        self.namespace, self.base = namespace, base
        self._lock = threading.Lock()
        self._server = None
        self._server_changed = threading.Event()
        self.stopping = threading.Event()
        self.next_batch = 0
        self.acked: list[int] = []
        self.unanswered: list[int] = []  # connection died before an answer
        self.server_errors: list[tuple[int, int, str]] = []  # 5xx answers
        self.client_errors: list[tuple[int, int, str]] = []  # 4xx answers: never expected
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
        while not self.stopping.is_set() and self.next_batch < MAX_BATCHES:
            with self._lock:
                server = self._server
            if server is None:
                self._server_changed.wait(0.05)
                self._server_changed.clear()
                continue
            if server is not client_for:
                client, client_for = boto_client(server, "cloudwatch"), server
            b = self.next_batch
            self.next_batch += 1
            ts = at(self.base + 60 * b)
            data = [{"MetricName": name, "Dimensions": DIMS, "Timestamp": ts,
                     "Value": datum_value(b, i), "Unit": "Count"}
                    for i, name in enumerate(metric_names())]
            try:
                client.put_metric_data(Namespace=self.namespace, MetricData=data)
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                with self._lock:
                    (self.server_errors if status >= 500 else self.client_errors).append((b, status, str(exc)))
                continue
            except BotoCoreError:
                with self._lock:
                    self.unanswered.append(b)
                # The server is gone: wait (briefly) for the test to start the next one.
                self._server_changed.wait(0.5)
                self._server_changed.clear()
                continue
            with self._lock:
                self.acked.append(b)


def stored_cells(cw, namespace: str, name: str, base: int, minutes: int,
                 dimensions=DIMS) -> dict[int, tuple[float, float]]:
    """minute index -> (SampleCount, Sum) of every stored 1-minute datapoint in [base, base + minutes)."""
    out: dict[int, tuple[float, float]] = {}
    for first in range(0, minutes, MAX_POINTS):
        last = min(first + MAX_POINTS, minutes)
        resp = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dimensions,
                                        StartTime=at(base + 60 * first), EndTime=at(base + 60 * last),
                                        Period=60, Statistics=["SampleCount", "Sum"])
        for p in resp["Datapoints"]:
            offset = p["Timestamp"].timestamp() - base
            assert offset % 60 == 0, f"{name}: datapoint not on a minute of the series: {p}"
            minute = int(offset // 60)
            assert first <= minute < last, f"{name}: datapoint outside [{first}, {last}): {p}"
            assert minute not in out, f"{name}: minute {minute} answered twice: {p}"
            out[minute] = (p["SampleCount"], p["Sum"])
    return out


def listed_metrics(cw, namespace: str) -> list[tuple[str, tuple]]:
    """Every (MetricName, sorted dimensions) of a namespace, following NextToken."""
    found, token = [], None
    for _ in range(100):
        kwargs = {"Namespace": namespace}
        if token:
            kwargs["NextToken"] = token
        resp = cw.list_metrics(**kwargs)
        for m in resp["Metrics"]:
            assert m["Namespace"] == namespace, m
            found.append((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))))
        token = resp.get("NextToken")
        if not token:
            return sorted(found)
    raise AssertionError("ListMetrics paging did not end within 100 pages")


def test_acknowledged_datapoints_survive_sigkill(start_server, tmp_path):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    namespace = unique("neph-durability/")
    base = int(time.time()) // 60 * 60 - 12 * 86_400

    writer = Writer(namespace, base)
    writer.set_server(srv)
    writer.start()
    kills, cycle_log = 0, []
    started = time.monotonic()
    try:
        while kills < TARGET_KILLS and time.monotonic() - started < CYCLE_BUDGET_S:
            if rng.random() < 0.2:
                moment = "right after startup"  # possibly while the data directory is still being read
            else:
                before = writer.acked_count()
                wait_for(writer.acked_count, lambda n, b=before: n > b, timeout=15,
                         what=f"a PutMetricData acknowledged by server #{kills + 1} (seed {seed})")
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
    cw = boto_client(srv, "cloudwatch")
    context = f"seed {seed}; cycles: {cycle_log}"

    assert not writer.client_errors, f"4xx answers during the crash test: {writer.client_errors[:5]}; {context}"
    assert len(writer.acked) >= kills, f"too few acknowledged batches ({len(writer.acked)}); {context}"

    acked = set(writer.acked)
    uncertain = set(writer.unanswered) | {b for b, _, _ in writer.server_errors}
    sent = writer.next_batch
    # One minute past the last batch sent, so a datum stored at a wrong minute is seen too.
    minutes = sent + 1
    problems: list[str] = []
    lost = duplicated = present_uncertain = 0
    for i, name in enumerate(metric_names()):
        cells = stored_cells(cw, namespace, name, base, minutes)
        for b in range(minutes):
            cell = cells.get(b)
            want = (1.0, datum_value(b, i))
            if b in acked:
                if cell is None:
                    lost += 1
                    problems.append(f"{name} batch {b}: acknowledged, not stored")
                elif cell != want:
                    duplicated += cell[0] > 1
                    problems.append(f"{name} batch {b}: acknowledged, stored as (SampleCount, Sum) = "
                                    f"{cell}, want {want}")
            elif b in uncertain:
                if cell is not None:
                    present_uncertain += 1
                    if cell != want:
                        duplicated += cell[0] > 1
                        problems.append(f"{name} batch {b}: unanswered batch stored as {cell}, want "
                                        f"{want} or nothing")
            elif cell is not None:
                problems.append(f"{name} minute {b}: never sent, stored as {cell}")
    assert not problems, (f"{len(problems)} wrong cells ({lost} acknowledged datums lost, {duplicated} "
                          f"counted twice), e.g. {problems[:8]}; {len(acked)} batches acknowledged, "
                          f"{len(uncertain)} unanswered; {context}")

    want_list = sorted((name, (("Writer", "crash-test"),)) for name in metric_names())
    assert listed_metrics(cw, namespace) == want_list, context
    print(f"{kills} kills, {len(acked)} batches of {BATCH} acknowledged, {len(writer.unanswered)} unanswered, "
          f"{len(writer.server_errors)} answered 5xx, {present_uncertain} datums of unanswered batches "
          f"stored; {context}")


def snapshot(cw, namespace: str, t0: int) -> dict:
    """Everything the test reads back: ListMetrics, and statistics of every metric it wrote."""
    web = [{"Name": "Host", "Value": "web-1"}]
    out: dict = {"list": listed_metrics(cw, namespace)}
    for name, dimensions, period, extra in [
        ("Latency", web, 60, {"ExtendedStatistics": ["p90"]}),
        ("Latency", [], 60, {}),
        ("Requests", web, 60, {}),
        ("Burst", web, 1, {}),
    ]:
        kwargs = extra or {"Statistics": ["SampleCount", "Sum", "Minimum", "Maximum"]}
        resp = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dimensions,
                                        StartTime=at(t0), EndTime=at(t0 + 300), Period=period, **kwargs)
        out[(name, len(dimensions), period)] = sorted(resp["Datapoints"], key=lambda p: p["Timestamp"])
    return out


def test_metrics_survive_graceful_restart_and_sigkill(start_server, tmp_path):
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    cw = boto_client(srv, "cloudwatch")
    namespace = unique("neph-durability/")
    t0 = int(time.time()) // 300 * 300 - 3600  # complete minutes, inside the 3 h of 1-second data
    web = [{"Name": "Host", "Value": "web-1"}]
    latencies = [float(v) for v in range(1, 101)]
    cw.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Latency", "Dimensions": web, "Timestamp": at(t0 + 5), "Unit": "Milliseconds",
         "Values": latencies[:50]},
        {"MetricName": "Latency", "Dimensions": web, "Timestamp": at(t0 + 65), "Unit": "Milliseconds",
         "Values": latencies[50:], "Counts": [2.0] * 50},
        {"MetricName": "Latency", "Timestamp": at(t0 + 70), "Value": 12.5, "Unit": "Milliseconds"},
        {"MetricName": "Requests", "Dimensions": web, "Timestamp": at(t0 + 130), "Unit": "Count",
         "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}},
        {"MetricName": "Burst", "Dimensions": web, "Timestamp": at(t0 + 181), "Value": 3.0, "Unit": "Count",
         "StorageResolution": 1},
        {"MetricName": "Burst", "Dimensions": web, "Timestamp": at(t0 + 182), "Value": 4.0, "Unit": "Count",
         "StorageResolution": 1},
    ])
    before = snapshot(cw, namespace, t0)
    assert before["list"] == sorted([
        ("Burst", (("Host", "web-1"),)), ("Latency", ()), ("Latency", (("Host", "web-1"),)),
        ("Requests", (("Host", "web-1"),)),
    ]), before["list"]
    burst = [(p["Timestamp"].timestamp(), p["Sum"]) for p in before[("Burst", 1, 1)]]
    assert burst == [(t0 + 181, 3.0), (t0 + 182, 4.0)], before[("Burst", 1, 1)]
    requests = before[("Requests", 1, 60)]
    assert [(p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) for p in requests] == [(4.0, 10.0, 1.0, 4.0)]
    p90 = [p["ExtendedStatistics"]["p90"] for p in before[("Latency", 1, 60)]]
    assert len(p90) == 2, before[("Latency", 1, 60)]

    # Graceful restart: SIGTERM, exit code 0, same answers on the same data directory.
    assert srv.stop() == 0, srv.log()[-2000:]
    srv = start_server(ephemeral=False, data_dir=data_dir)
    cw = boto_client(srv, "cloudwatch")
    after = snapshot(cw, namespace, t0)
    assert after == before, f"changed by a graceful restart:\nbefore {before}\nafter  {after}"

    # A datum acknowledged right before a SIGKILL is there after the restart as well.
    cw.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Requests", "Dimensions": web, "Timestamp": at(t0 + 131), "Value": 6.0, "Unit": "Count"},
        {"MetricName": "Late", "Timestamp": at(t0 + 240), "Value": 1.0},
    ])
    srv.kill()
    srv = start_server(ephemeral=False, data_dir=data_dir)
    cw = boto_client(srv, "cloudwatch")
    killed = snapshot(cw, namespace, t0)
    assert killed["list"] == sorted(before["list"] + [("Late", ())]), killed["list"]
    got = [(p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) for p in killed[("Requests", 1, 60)]]
    assert got == [(5.0, 16.0, 1.0, 6.0)], killed[("Requests", 1, 60)]
    for key in [("Latency", 1, 60), ("Latency", 0, 60), ("Burst", 1, 1)]:
        assert killed[key] == before[key], f"{key} changed by SIGKILL: {before[key]} -> {killed[key]}"
