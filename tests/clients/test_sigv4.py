"""SigV4 failures, per protocol, with requests signed by botocore's own SigV4Auth.

Expected codes: docs/dev/server-contract.md, "Errors every client can see now". JSON 1.1 (Logs)
answers 400 + `__type`; query-compatible JSON 1.0 and CBOR (CloudWatch) answer 400 + `__type`
plus `x-amzn-query-error`; Query (CloudWatch, STS) answers 403 + XML ErrorResponse.
"""

import datetime
from dataclasses import dataclass
from typing import Callable

import pytest

from support import (CW_TARGET, LOGS_TARGET, AwsError, RawRequest, cbor_indefinite_map,
                     cbor_request, error_of, json_request, query_request, send)


@dataclass
class Flavor:
    protocol: str  # "json1.1", "json1.0", "cbor", "query"
    request: Callable[[str], RawRequest]  # namespace/prefix value -> request


FLAVORS = {
    "logs-json1.1": Flavor("json1.1", lambda v: json_request(
        LOGS_TARGET, "DescribeLogGroups", {"logGroupNamePrefix": v})),
    "cloudwatch-json1.0": Flavor("json1.0", lambda v: json_request(
        CW_TARGET, "ListMetrics", {"Namespace": v})),
    "cloudwatch-cbor": Flavor("cbor", lambda v: cbor_request(
        "ListMetrics", cbor_indefinite_map({"Namespace": v}))),
    "cloudwatch-query": Flavor("query", lambda v: query_request("ListMetrics", {"Namespace": v})),
    # GetCallerIdentity has no parameters: the tampered variant changes the Version digit instead.
    "sts-query": Flavor("query", lambda v: query_request(
        "GetCallerIdentity", service="sts", version="2011-06-15" if v == "aaaa" else "2011-06-16")),
}

# case -> (JSON/CBOR __type, Query / query-compatible code)
CASES = {
    "bad-signature": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "unknown-key": ("UnrecognizedClientException", "InvalidClientTokenId"),
    "missing-auth": ("MissingAuthenticationTokenException", "MissingAuthenticationToken"),
    "expired": ("InvalidSignatureException", "SignatureDoesNotMatch"),
}


def check_auth_error(flavor: Flavor, err: AwsError, case: str) -> None:
    json_code, query_code = CASES[case]
    assert err.request_id, "every response carries x-amzn-RequestId"
    if flavor.protocol == "query":
        assert (err.status, err.kind, err.code) == (403, "xml", query_code), err
        assert err.xml_request_id, f"ErrorResponse without <RequestId>: {err}"
    else:
        expected_kind = "cbor" if flavor.protocol == "cbor" else "json"
        assert (err.status, err.kind, err.code) == (400, expected_kind, json_code), err
        if flavor.protocol in ("json1.0", "cbor"):
            assert err.query_code == query_code, err


@pytest.fixture(params=list(FLAVORS), ids=list(FLAVORS))
def flavor(request):
    return FLAVORS[request.param]


def test_correct_signature_is_accepted(server, flavor):
    """Control: the same request signed properly is not an auth error (so the cases below mean something)."""
    resp = send(server, flavor.request("aaaa"))
    assert resp.headers.get("x-amzn-RequestId")
    if resp.status_code in (200, 501):
        if resp.status_code == 501:
            assert error_of(resp).code == "NotImplemented", resp.content
        return
    pytest.fail(f"correctly signed request got HTTP {resp.status_code}: {resp.content[:400]!r}")


def test_wrong_secret(server, flavor):
    resp = send(server, flavor.request("aaaa"), secret_key="not-the-secret")
    check_auth_error(flavor, error_of(resp), "bad-signature")


def test_unknown_access_key(server, flavor):
    resp = send(server, flavor.request("aaaa"), access_key="AKIDNOSUCHKEY0000000", secret_key="x")
    check_auth_error(flavor, error_of(resp), "unknown-key")


def test_missing_authorization(server, flavor):
    resp = send(server, flavor.request("aaaa"), signed=False)
    check_auth_error(flavor, error_of(resp), "missing-auth")


def test_signature_from_20_minutes_ago_is_expired(server, flavor):
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    resp = send(server, flavor.request("aaaa"), when=when)
    err = error_of(resp)
    check_auth_error(flavor, err, "expired")
    assert "Signature expired" in err.message, err


def test_body_changed_after_signing(server, flavor):
    signed_for = flavor.request("aaaa")
    tampered = flavor.request("aaab").body
    assert len(tampered) == len(signed_for.body) and tampered != signed_for.body
    resp = send(server, signed_for, body=tampered)
    check_auth_error(flavor, error_of(resp), "bad-signature")
