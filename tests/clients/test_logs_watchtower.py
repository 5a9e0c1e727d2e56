"""watchtower 3.4.0, the Python `logging` handler for CloudWatch Logs, with a boto3 client pointed
at the server. Its calls: DescribeLogGroups(logGroupNamePrefix) -> CreateLogGroup ->
[PutRetentionPolicy] -> PutLogEvents -> on ResourceNotFoundException CreateLogStream and
PutLogEvents again, passing the previous nextSequenceToken as sequenceToken. watchtower reports
delivery problems as WatchtowerWarning instead of raising, so the tests record warnings."""

from __future__ import annotations

import logging
import warnings

import pytest

from support import boto_client, messages, read_stream, unique

try:
    import watchtower
except ImportError:  # pragma: no cover - depends on the venv
    watchtower = None


@pytest.fixture
def wt(ci):
    if watchtower is None:
        if ci:
            pytest.fail("watchtower missing from .venv-clients (CI is set; run scripts/install-test-deps)",
                        pytrace=False)
        pytest.skip("watchtower missing from .venv-clients; run scripts/install-test-deps")
    return watchtower


def ship(wt, logger_name: str, lines: list[str], **handler_kwargs) -> list[warnings.WarningMessage]:
    """Log `lines` through a fresh handler, flush and close it; returns watchtower's warnings."""
    logger = logging.getLogger(logger_name)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler = wt.CloudWatchLogHandler(**handler_kwargs)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(handler)
        try:
            for line in lines:
                logger.info(line)
            handler.flush()
        finally:
            handler.close()
            logger.removeHandler(handler)
    return [w for w in caught if issubclass(w.category, wt.WatchtowerWarning)]


def test_watchtower_ships_20_lines_to_the_group_and_stream_it_created(server, wt):
    logs = boto_client(server, "logs")
    group = f"/neph/watchtower/{unique()}"
    lines = [f"line {i:02d} of the watchtower test" for i in range(20)]
    problems = ship(wt, f"neph.watchtower.{unique()}", lines, log_group_name=group,
                    log_stream_name="app-{logger_name}", boto3_client=logs, send_interval=1,
                    log_group_retention_days=7)
    assert not problems, [str(w.message) for w in problems]

    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    assert groups[0]["retentionInDays"] == 7
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
    assert len(streams) == 1 and streams[0].startswith("app-neph.watchtower."), streams
    events = read_stream(logs, group, streams[0])
    assert messages(events) == [f"INFO {line}" for line in lines]


def test_watchtower_without_queues_appends_to_existing_group_and_stream(server, wt):
    """use_queues=False sends one PutLogEvents per record, each with the previous sequence token."""
    logs = boto_client(server, "logs")
    group = f"/neph/watchtower/{unique()}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="existing")
    for batch in (["first a", "first b"], ["second a", "second b", "second c"]):
        problems = ship(wt, f"neph.watchtower.{unique()}", batch, log_group_name=group,
                        log_stream_name="existing", boto3_client=logs, use_queues=False)
        assert not problems, [str(w.message) for w in problems]
    assert messages(read_stream(logs, group, "existing")) == \
        ["INFO first a", "INFO first b", "INFO second a", "INFO second b", "INFO second c"]
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [group]
