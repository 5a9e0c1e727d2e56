"""HTTP/2 with prior knowledge (h2c): curl signs a Logs request with SigV4 (its --aws-sigv4) and
the server answers over HTTP/2 — the host comes from :authority there."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest


def test_h2c_prior_knowledge_with_sigv4(server, ci):
    if shutil.which("curl") is None:
        if ci:
            pytest.fail("curl is missing (CI is set)")
        pytest.skip("curl is missing")
    out = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-X", "POST",
         "-H", "X-Amz-Target: Logs_20140328.DescribeLogGroups",
         "-H", "Content-Type: application/x-amz-json-1.1",
         "--aws-sigv4", "aws:amz:us-east-1:logs", "--user", "test:test",
         "-d", "{}", "-w", "\n%{http_version} %{http_code}", server.url + "/"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    body, status = out.stdout.rsplit("\n", 1)
    assert status == "2 200", out.stdout
    assert "logGroups" in json.loads(body)
    bad = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-X", "POST",
         "-H", "X-Amz-Target: Logs_20140328.DescribeLogGroups",
         "-H", "Content-Type: application/x-amz-json-1.1",
         "--aws-sigv4", "aws:amz:us-east-1:logs", "--user", "test:wrong",
         "-d", "{}", "-w", "\n%{http_version} %{http_code}", server.url + "/"],
        capture_output=True, text=True, timeout=30,
    )
    assert bad.stdout.rsplit("\n", 1)[1] == "2 400", bad.stdout
    assert json.loads(bad.stdout.rsplit("\n", 1)[0])["__type"] == "InvalidSignatureException"
