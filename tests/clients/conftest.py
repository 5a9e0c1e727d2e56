"""Fixtures that start the real nephoscope binary for the client tests.

`server` is one `--ephemeral` server for the whole session; `start_server` starts extra servers
(own config file, no `--ephemeral`, ...) that live for one test. See support.py for how a server is
started and judged ready (first stdout line, then `GET /_nephoscope/health`).
"""

from __future__ import annotations

import os

import pytest

from support import ALICE_CONFIG, Server, launch


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = launch(tmp_path_factory.mktemp("server"))
    yield srv
    code = srv.stop()
    if code != 0:
        pytest.fail(f"session server exited with {code} on SIGTERM\n{srv.log()[-4000:]}", pytrace=False)


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(config=TOML, ephemeral=True, data_dir=None) -> Server."""
    started: list[Server] = []

    def start(**kwargs) -> Server:
        srv = launch(tmp_path / f"server{len(started)}", **kwargs)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def alice_server(start_server):
    """A server whose config adds account 111111111111 (AKIDALICE/alicesecret) next to test/test."""
    return start_server(config=ALICE_CONFIG)


@pytest.fixture(scope="session")
def ci() -> bool:
    """Under CI every client must be present; locally a missing one only skips its tests."""
    return bool(os.environ.get("CI"))
