"""Request bodies with `Content-Encoding: gzip` (botocore compresses PutMetricData >= 10 KiB)."""

import gzip
import json

import pytest
from botocore.exceptions import ClientError

from support import (LOGS_TARGET, boto_client, error_of, json_request, not_implemented_message,
                     parse_error, send, send_large)


def _datums(n, bad_index=None):
    out = []
    for i in range(n):
        name = "m" * 300 if i == bad_index else f"metric-{i:04d}"
        out.append({"MetricName": name, "Value": float(i), "Unit": "Count",
                    "Dimensions": [{"Name": "host", "Value": f"host-{i % 7}"}]})
    return out


def _capture_encoding(client, operation):
    seen = {}

    def capture(request, **_):
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v
                   for k, v in request.headers.items()}
        seen["content-encoding"] = headers.get("content-encoding")
        seen["size"] = len(request.body or b"")

    client.meta.events.register(f"before-send.cloudwatch.{operation}", capture)
    return seen


def test_boto3_gzipped_put_metric_data_is_decoded_and_validated(server):
    cw = boto_client(server, "cloudwatch")
    seen = _capture_encoding(cw, "PutMetricData")
    with pytest.raises(cw.exceptions.InvalidParameterValueException) as info:
        cw.put_metric_data(Namespace="nephoscope/gzip-test", MetricData=_datums(400, bad_index=123))
    # The premise: botocore really sent a gzip body (>= 10 KiB before compression).
    assert seen["content-encoding"] == "gzip", seen
    err = info.value.response["Error"]
    assert err["Code"] == "InvalidParameterValue"
    # Only a server that inflated the body can find the over-long name inside it.
    assert "failed to satisfy constraint" in err["Message"], err
    assert "metricname" in err["Message"].lower(), err
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_boto3_gzipped_valid_put_metric_data(server):
    """A valid compressed batch is accepted (200) or reported as not built (501) — not mis-parsed."""
    cw = boto_client(server, "cloudwatch")
    seen = _capture_encoding(cw, "PutMetricData")
    try:
        result = cw.put_metric_data(Namespace="nephoscope/gzip-test", MetricData=_datums(400))
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NotImplemented", exc.response
        assert exc.response["Error"]["Message"] == not_implemented_message("cloudwatch", "PutMetricData")
    else:
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert seen["content-encoding"] == "gzip", seen


def test_hand_made_gzip_json_to_logs_is_validated(server):
    req = json_request(LOGS_TARGET, "CreateLogGroup", {"logGroupName": "bad name*"}, gzip_body=True)
    assert gzip.decompress(req.body) == json.dumps({"logGroupName": "bad name*"}).encode()
    resp = send(server, req)
    err = error_of(resp)
    assert (resp.status_code, err.code) == (400, "InvalidParameterException"), resp.content
    assert "logGroupName" in err.message
    assert resp.headers.get("x-amzn-RequestId")


def test_hand_made_gzip_json_to_logs_valid_body(server):
    req = json_request(LOGS_TARGET, "DescribeLogGroups", {"limit": 5}, gzip_body=True)
    resp = send(server, req)
    if resp.status_code == 200:
        assert isinstance(resp.json().get("logGroups"), list), resp.content
    else:
        err = error_of(resp)
        assert (resp.status_code, err.code) == (501, "NotImplemented"), resp.content
        assert err.message == not_implemented_message("logs", "DescribeLogGroups")


def test_gzip_bomb_over_decompressed_limit_is_413(server):
    # 33 MiB of JSON whitespace compresses to ~33 KiB; the default cap after inflation is 32 MiB.
    payload = b'{"logGroupNamePrefix": "a"' + b" " * (33 * 1024 * 1024) + b"}"
    req = json_request(LOGS_TARGET, "DescribeLogGroups", payload, gzip_body=True)
    assert len(req.body) < 1024 * 1024
    status, headers, body = send_large(server, req)
    assert status == 413, body[:300]
    assert parse_error(status, headers, body).code == "RequestEntityTooLarge"
    assert headers.get("x-amzn-requestid"), f"413 without x-amzn-RequestId: {headers}"
