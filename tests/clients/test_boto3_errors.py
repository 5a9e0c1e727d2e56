"""Current boto3: CloudWatch over JSON 1.0 (query-compatible), Logs and Events over JSON 1.1.

The errors must come back as the SDK's modeled exceptions, which only works when the server
renders `__type`, the status and (for CloudWatch) the `x-amzn-query-error` header the way AWS does.
"""

import botocore
import pytest
from botocore.exceptions import ClientError

from support import boto_client, not_implemented_message


def _assert_has_request_id(err: ClientError) -> None:
    meta = err.response["ResponseMetadata"]
    assert meta.get("RequestId"), f"no request id in {meta}"
    assert meta["HTTPHeaders"].get("x-amzn-requestid") == meta["RequestId"]


def test_botocore_speaks_json_to_cloudwatch(server):
    """Guards the premise of this file: a current botocore picks AWS JSON 1.0, not Query/CBOR."""
    cw = boto_client(server, "cloudwatch")
    seen = {}

    def capture(request, **_):
        seen.update({k.lower(): v.decode() if isinstance(v, bytes) else v
                     for k, v in request.headers.items()})

    cw.meta.events.register("before-send.cloudwatch.ListMetrics", capture)
    try:
        cw.list_metrics()
    except ClientError:
        pass
    assert seen.get("x-amz-target") == "GraniteServiceVersion20100801.ListMetrics", (botocore.__version__, seen)
    assert seen.get("content-type") == "application/x-amz-json-1.0"
    assert seen.get("x-amzn-query-mode") == "true"


def test_cloudwatch_constraint_violation_is_modeled_exception(server):
    cw = boto_client(server, "cloudwatch")
    with pytest.raises(cw.exceptions.InvalidParameterValueException) as info:
        cw.list_metrics(Namespace="x" * 300)
    err = info.value.response["Error"]
    assert err["Code"] == "InvalidParameterValue"
    # botocore keeps the JSON __type here and takes Code from x-amzn-query-error.
    assert err.get("QueryErrorCode") == "InvalidParameterValueException"
    assert err.get("Type") == "Sender"
    assert "failed to satisfy constraint" in err["Message"], err
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-query-error", "").startswith("InvalidParameterValue;"), headers
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    _assert_has_request_id(info.value)


def test_cloudwatch_missing_required_member(server):
    cw = boto_client(server, "cloudwatch", parameter_validation=False)
    with pytest.raises(cw.exceptions.MissingRequiredParameterException) as info:
        cw.put_metric_data(MetricData=[{"MetricName": "m", "Value": 1.0}])  # no Namespace
    assert info.value.response["Error"]["Code"] == "MissingParameter"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_logs_constraint_violation_is_modeled_exception(server):
    logs = boto_client(server, "logs")
    with pytest.raises(logs.exceptions.InvalidParameterException) as info:
        logs.create_log_group(logGroupName="bad name*")
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "failed to satisfy constraint" in info.value.response["Error"]["Message"]
    _assert_has_request_id(info.value)


def test_events_constraint_violation_is_validation_exception(server):
    events = boto_client(server, "events")
    with pytest.raises(ClientError) as info:
        events.describe_rule(Name="x" * 100)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Member must have length less than or equal to 64" in info.value.response["Error"]["Message"]
    _assert_has_request_id(info.value)


# (service, client method, params, wire operation, key every success response has)
NOT_YET_BUILT = [
    ("cloudwatch", "list_metrics", {}, "ListMetrics", "Metrics"),
    ("cloudwatch", "describe_alarms", {}, "DescribeAlarms", "MetricAlarms"),
    ("logs", "describe_log_groups", {}, "DescribeLogGroups", "logGroups"),
    ("events", "list_rules", {}, "ListRules", "Rules"),
]


@pytest.mark.parametrize("service,method,params,operation,result_key", NOT_YET_BUILT,
                         ids=[f"{s}.{o}" for s, _, _, o, _ in NOT_YET_BUILT])
def test_unbuilt_operation_is_not_implemented_or_works(server, service, method, params,
                                                       operation, result_key):
    """A well-formed call either succeeds (operation built) or gets 501 NotImplemented.

    Anything else — a transport error, a 500, another code — fails the test.
    """
    client = boto_client(server, service)
    try:
        result = getattr(client, method)(**params)
    except ClientError as exc:
        err = exc.response["Error"]
        meta = exc.response["ResponseMetadata"]
        assert err["Code"] == "NotImplemented", exc.response
        assert meta["HTTPStatusCode"] == 501
        assert err["Message"] == not_implemented_message(service, operation)
        if service == "cloudwatch":
            assert meta["HTTPHeaders"].get("x-amzn-query-error") == "NotImplemented;Receiver"
        _assert_has_request_id(exc)
    else:
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert isinstance(result.get(result_key), list), result
