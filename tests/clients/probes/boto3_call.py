"""Calls one AWS operation with whatever boto3 this interpreter has and prints the outcome as JSON.

Run by the tests under another virtualenv (e.g. .venv-query, botocore 1.42.6 = CloudWatch over
Query):  python boto3_call.py SERVICE OPERATION [PARAMS_JSON]
Endpoint from NEPHOSCOPE_URL, credentials and region from the usual AWS_* variables.
Output: {"botocore", "protocol", "ok", "status", "result" | "error", "headers", "request": {...}}
"""

import json
import os
import sys

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> int:
    service, operation = sys.argv[1], sys.argv[2]
    params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    client = boto3.client(service, endpoint_url=os.environ["NEPHOSCOPE_URL"],
                          config=Config(retries={"max_attempts": 1}))
    sent = {}

    def capture(request, **_):
        sent["headers"] = {k.lower(): v.decode() if isinstance(v, bytes) else v
                           for k, v in request.headers.items()}
        body = request.body or b""
        sent["body"] = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)

    client.meta.events.register(f"before-send.{service}.*", capture)
    out = {"botocore": botocore.__version__, "protocol": client.meta.service_model.protocol}
    try:
        result = getattr(client, operation)(**params)
    except ClientError as exc:
        out.update(ok=False, error=exc.response.get("Error", {}),
                   status=exc.response["ResponseMetadata"].get("HTTPStatusCode"),
                   request_id=exc.response["ResponseMetadata"].get("RequestId"),
                   headers=exc.response["ResponseMetadata"].get("HTTPHeaders", {}))
    else:
        meta = result.pop("ResponseMetadata", {})
        out.update(ok=True, result=result, status=meta.get("HTTPStatusCode"),
                   request_id=meta.get("RequestId"), headers=meta.get("HTTPHeaders", {}))
    out["request"] = sent
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
