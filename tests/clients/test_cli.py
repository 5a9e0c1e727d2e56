"""The aws CLI, as users run it: v1 from PyPI (CloudWatch over JSON 1.0) and Debian's v2 2.9.19
(CloudWatch over Query), both with --endpoint-url."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import DEV_ACCOUNT, client_env, require_tool

CLI_V1 = Path(sys.executable).parent / "aws"
CLI_V2_DEBIAN = Path("/usr/bin/aws")


@pytest.fixture(params=["v1", "v2-debian"])
def aws(request, ci):
    if request.param == "v1":
        path = CLI_V1
        if not path.exists():
            pytest.fail(f"aws CLI v1 missing at {path}: run the tests with .venv-clients/bin/python",
                        pytrace=False)
    else:
        path = CLI_V2_DEBIAN
        require_tool(path, "Debian's aws CLI v2 (apt-get install awscli)", ci)

    version = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=60, env=client_env())
    banner = (version.stdout + version.stderr).strip()
    expected = "aws-cli/1." if request.param == "v1" else "aws-cli/2."
    assert banner.startswith(expected), banner

    def run(server, *args):
        return subprocess.run(
            [str(path), "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json", *args],
            capture_output=True, text=True, timeout=120, env=client_env(server),
        )

    return run


def test_sts_get_caller_identity(server, aws):
    proc = aws(server, "sts", "get-caller-identity")
    assert proc.returncode == 0, proc.stderr
    identity = json.loads(proc.stdout)
    assert identity["Account"] == DEV_ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"
    assert identity["UserId"] == DEV_ACCOUNT


def test_cloudwatch_constraint_violation(server, aws):
    proc = aws(server, "cloudwatch", "list-metrics", "--namespace", "x" * 300)
    assert proc.returncode != 0, proc.stdout
    assert "(InvalidParameterValue)" in proc.stderr, proc.stderr
    assert "ListMetrics" in proc.stderr


def test_logs_constraint_violation(server, aws):
    proc = aws(server, "logs", "create-log-group", "--log-group-name", "bad name*")
    assert proc.returncode != 0, proc.stdout
    assert "(InvalidParameterException)" in proc.stderr, proc.stderr
