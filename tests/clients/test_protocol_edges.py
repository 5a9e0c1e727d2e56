"""Protocol edge cases no SDK sends on purpose, built by hand and signed with botocore's SigV4Auth."""

import cbor2
import pytest

from support import (CW_TARGET, EVENTS_TARGET, LOGS_TARGET, cbor_indefinite_map, cbor_request,
                     error_of, json_request, not_implemented_message, parse_error, query_request,
                     send, send_large)


def _expect(resp, status, code, kind=None):
    err = error_of(resp)
    assert (resp.status_code, err.code) == (status, code), resp.content[:500]
    assert err.request_id, "every response carries x-amzn-RequestId"
    if kind:
        assert err.kind == kind, err
    return err


# ---- JSON ------------------------------------------------------------------------------------

@pytest.mark.parametrize("target,operation", [
    (LOGS_TARGET, "DescribeLogGroups"),
    (EVENTS_TARGET, "ListRules"),
    (CW_TARGET, "ListMetrics"),
], ids=["logs", "events", "cloudwatch"])
def test_malformed_json_body(server, target, operation):
    resp = send(server, json_request(target, operation, b'{"limit": 5,'))
    _expect(resp, 400, "SerializationException", "json")


@pytest.mark.parametrize("target", [LOGS_TARGET, EVENTS_TARGET, CW_TARGET],
                         ids=["logs", "events", "cloudwatch"])
def test_unknown_json_operation(server, target):
    resp = send(server, json_request(target, "NoSuchOperation", {}))
    _expect(resp, 400, "UnknownOperationException", "json")


def test_json_error_uses_query_compatible_header(server):
    resp = send(server, json_request(CW_TARGET, "ListMetrics", {"Namespace": "x" * 300}))
    err = _expect(resp, 400, "InvalidParameterValueException", "json")
    assert err.query_code == "InvalidParameterValue", err
    assert "1 validation error detected" in err.message, err
    assert "Member must have length less than or equal to 255" in err.message, err


def test_several_validation_errors_are_counted(server):
    resp = send(server, json_request(LOGS_TARGET, "CreateLogGroup", {"logGroupName": "bad name*" + "x" * 600}))
    err = _expect(resp, 400, "InvalidParameterException", "json")
    assert err.message.startswith("2 validation errors detected: "), err.message


# ---- Query -----------------------------------------------------------------------------------

def test_query_unknown_action(server):
    resp = send(server, query_request("NoSuchAction"))
    err = _expect(resp, 400, "InvalidAction", "xml")
    assert err.xml_request_id, err


def test_query_constraint_violation(server):
    resp = send(server, query_request("ListMetrics", {"Namespace": "x" * 300}))
    err = _expect(resp, 400, "InvalidParameterValue", "xml")
    assert "failed to satisfy constraint" in err.message


# ---- RPC v2 CBOR -----------------------------------------------------------------------------

def test_cbor_indefinite_length_request(server):
    resp = send(server, cbor_request("ListMetrics", cbor_indefinite_map({})))
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor", dict(resp.headers)
    assert "application/cbor" in resp.headers.get("content-type", "")
    assert resp.headers.get("x-amzn-RequestId")
    doc = cbor2.loads(resp.content)
    assert isinstance(doc, dict), doc
    if resp.status_code == 200:
        assert "__type" not in doc and isinstance(doc.get("Metrics", []), list), doc
    else:
        err = _expect(resp, 501, "NotImplemented", "cbor")
        assert err.message == not_implemented_message("cloudwatch", "ListMetrics")
        assert resp.headers.get("x-amzn-query-error") == "NotImplemented;Receiver"


def test_cbor_error_has_type(server):
    body = cbor_indefinite_map({"Namespace": "x" * 300})
    resp = send(server, cbor_request("ListMetrics", body))
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor", dict(resp.headers)
    doc = cbor2.loads(resp.content)
    assert "__type" in doc, doc
    err = _expect(resp, 400, "InvalidParameterValueException", "cbor")
    assert err.query_code == "InvalidParameterValue", err


def test_cbor_malformed_body(server):
    resp = send(server, cbor_request("ListMetrics", b"\xbf\x69Namespa"))  # truncated text string
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor", dict(resp.headers)
    _expect(resp, 400, "SerializationException", "cbor")


def test_cbor_unknown_operation(server):
    resp = send(server, cbor_request("NoSuchOperation", cbor_indefinite_map({})))
    _expect(resp, 400, "UnknownOperationException", "cbor")


# ---- Size limits -----------------------------------------------------------------------------

EIGHT_MIB = 8 * 1024 * 1024


@pytest.mark.parametrize("make", [
    lambda pad: json_request(LOGS_TARGET, "DescribeLogGroups",
                             b'{"logGroupNamePrefix": "' + b"a" * pad + b'"}'),
    lambda pad: query_request("ListMetrics", {"Namespace": "a" * pad}),
], ids=["logs-json", "cloudwatch-query"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_8_mib_is_413(server, make, chunked):
    req = make(EIGHT_MIB + 1024)
    assert len(req.body) > EIGHT_MIB
    status, headers, body = send_large(server, req, chunked=chunked)
    assert status == 413, body[:300]
    assert parse_error(status, headers, body).code == "RequestEntityTooLarge"
    assert headers.get("x-amzn-requestid"), f"413 without x-amzn-RequestId: {headers}"
