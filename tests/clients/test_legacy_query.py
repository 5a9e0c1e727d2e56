"""boto3/botocore 1.42.6 (.venv-query): the last botocore that speaks AWS Query to CloudWatch.

The client runs in its own virtualenv, so each call is a subprocess (probes/boto3_call.py).
"""

import json
import subprocess
from pathlib import Path

import pytest

from support import DEV_ACCOUNT, REPO, client_env, not_implemented_message, require_tool

QUERY_PYTHON = REPO / ".venv-query" / "bin" / "python"
PROBE = Path(__file__).resolve().parent / "probes" / "boto3_call.py"


@pytest.fixture(scope="module")
def legacy(ci):
    require_tool(QUERY_PYTHON, "the Query-protocol boto3 venv (.venv-query)", ci)

    def call(server, service, operation, params=None, **creds):
        proc = subprocess.run(
            [str(QUERY_PYTHON), str(PROBE), service, operation, json.dumps(params or {})],
            env=client_env(server, **creds), capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, f"probe failed ({proc.returncode}):\n{proc.stderr}"
        out = json.loads(proc.stdout)
        assert out["botocore"] == "1.42.6", out["botocore"]
        assert out["protocol"] == "query", out["protocol"]
        return out

    return call


def test_cloudwatch_query_constraint_violation(server, legacy):
    out = legacy(server, "cloudwatch", "list_metrics", {"Namespace": "x" * 300})
    # Premise: the request really was Query (form body, no X-Amz-Target).
    assert out["request"]["body"].startswith("Action=ListMetrics&Version=2010-08-01"), out["request"]
    assert "x-amz-target" not in out["request"]["headers"]
    assert out["ok"] is False, out
    assert out["status"] == 400
    # botocore's Query parser only yields this code from an XML ErrorResponse.
    assert out["error"]["Code"] == "InvalidParameterValue", out
    assert "failed to satisfy constraint" in out["error"]["Message"]
    assert out["request_id"], out
    assert "xml" in out["headers"].get("content-type", ""), out["headers"]


def test_cloudwatch_query_unbuilt_operation(server, legacy):
    out = legacy(server, "cloudwatch", "list_metrics")
    if out["ok"]:
        assert out["status"] == 200
        assert isinstance(out["result"].get("Metrics"), list), out
    else:
        assert out["status"] == 501, out
        assert out["error"]["Code"] == "NotImplemented", out
        assert out["error"]["Message"] == not_implemented_message("cloudwatch", "ListMetrics")


def test_sts_get_caller_identity(server, legacy):
    out = legacy(server, "sts", "get_caller_identity")
    assert out["ok"] is True, out
    assert out["result"]["Account"] == DEV_ACCOUNT
    assert out["result"]["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"
    assert out["result"]["UserId"] == DEV_ACCOUNT
    assert out["request_id"]
