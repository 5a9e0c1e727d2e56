"""The server's own endpoints and process behaviour (docs/dev/server-contract.md, "Starting a server")."""

import signal

import pytest
import requests


def test_health_answers_ok(server):
    resp = requests.get(server.url + "/_nephoscope/health", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    assert resp.headers.get("x-amzn-RequestId"), "every response carries x-amzn-RequestId"


def test_first_stdout_line_names_the_bound_port(server):
    assert server.stdout_lines[0] == f"nephoscope listening on http://127.0.0.1:{server.port}"


def test_reset_on_ephemeral_server(server):
    resp = requests.post(server.url + "/_nephoscope/reset", timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"reset": True}
    # Still serving afterwards.
    assert requests.get(server.url + "/_nephoscope/health", timeout=10).status_code == 200


def test_reset_is_absent_without_ephemeral(start_server, tmp_path):
    srv = start_server(ephemeral=False, data_dir=tmp_path / "data")
    resp = requests.post(srv.url + "/_nephoscope/reset", timeout=30)
    assert resp.status_code == 404, resp.text
    assert requests.get(srv.url + "/_nephoscope/health", timeout=10).status_code == 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_gracefully_with_exit_code_0(start_server, sig):
    srv = start_server()
    assert srv.stop(sig) == 0, srv.log()[-4000:]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_right_after_listening_line_is_graceful(start_server, sig):
    """A supervisor may stop the server the moment it is announced (docker stop, systemd)."""
    srv = start_server(wait_healthy=False)
    assert srv.stop(sig) == 0, srv.log()[-4000:]
