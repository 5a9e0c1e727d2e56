"""TLS from config: a self-signed certificate made with openssl; boto3 verifies it and talks to
the server over HTTPS (the listening line then says https://)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from support import binary_path


def make_cert(dir: Path) -> tuple[Path, Path]:
    cert, key = dir / "cert.pem", dir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_https_listener_serves_real_clients(tmp_path, ci):
    if shutil.which("openssl") is None:
        if ci:
            pytest.fail("openssl is missing (CI is set)")
        pytest.skip("openssl is missing")
    cert, key = make_cert(tmp_path)
    config = tmp_path / "tls.toml"
    config.write_text(f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n')
    proc = subprocess.Popen(
        [str(binary_path()), "serve", "--listen", "127.0.0.1:0", "--ephemeral", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("nephoscope listening on https://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split(" on ", 1)[1]
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/_nephoscope/health", verify=str(cert), timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "TLS server never became healthy"
            time.sleep(0.05)
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test", verify=str(cert), config=Config(retries={"max_attempts": 1}))
        assert boto3.client("sts", **kw).get_caller_identity()["Account"] == "000000000000"
        logs = boto3.client("logs", **kw)
        logs.create_log_group(logGroupName="tls-group")
        names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
        assert names == ["tls-group"]
        # Plain HTTP to the TLS port is not served.
        with pytest.raises(requests.RequestException):
            requests.get(url.replace("https://", "http://") + "/_nephoscope/health", timeout=2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
