#!/usr/bin/env python3
"""Writes the CBOR seed inputs of the cbor_decode target (needs `pip install cbor2`).

Each seed is one selector byte ('0' PutMetricData, '1' GetMetricData, '2' ListMetrics) followed
by a Smithy RPC v2 CBOR request body.
"""
import os
from datetime import datetime, timezone

import cbor2

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "cbor_decode")
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def write(name, selector, body):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(selector + body)


os.makedirs(HERE, exist_ok=True)
write(
    "put-metric-data.cbor",
    b"0",
    cbor2.dumps(
        {
            "Namespace": "App/Web",
            "MetricData": [
                {
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "Host", "Value": "h1"}],
                    # datetime_as_timestamp: tag 1 with an integer epoch.
                    "Timestamp": T0,
                    "Value": 12.5,
                    "Unit": "Milliseconds",
                    "StorageResolution": 1,
                },
                {
                    "MetricName": "Sizes",
                    "Values": [1.0, 2.5, 3.0],
                    "Counts": [1.0, 1.0, 2.0],
                    "StatisticValues": {"SampleCount": 3.0, "Sum": 6.5, "Minimum": 1.0, "Maximum": 3.0},
                    "Timestamp": cbor2.CBORTag(1, 1704067200.25),
                },
            ],
        },
        datetime_as_timestamp=True,
    ),
)
write(
    "get-metric-data.cbor",
    b"1",
    cbor2.dumps(
        {
            "MetricDataQueries": [
                {
                    "Id": "m1",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "App/Web",
                            "MetricName": "Latency",
                            "Dimensions": [{"Name": "Host", "Value": "h1"}],
                        },
                        "Period": 60,
                        "Stat": "p99",
                    },
                    "ReturnData": True,
                },
                {"Id": "e1", "Expression": "m1 * 2", "Label": "double", "ReturnData": None},
            ],
            "StartTime": cbor2.CBORTag(1, 1704067200),
            "EndTime": 1704070800.0,
            "ScanBy": "TimestampDescending",
            "MaxDatapoints": 1000,
            "LabelOptions": {"Timezone": "+0130"},
        }
    ),
)
write(
    "list-metrics.cbor",
    b"2",
    cbor2.dumps(
        {
            "Namespace": "AWS/EC2",
            "Dimensions": [{"Name": "InstanceId"}],
            "RecentlyActive": "PT3H",
            "IncludeLinkedAccounts": False,
            "NextToken": "abc",
        }
    ),
)
# Indefinite-length map and array, as some encoders write them (cbor2 only writes definite ones).
write(
    "list-metrics-indefinite.cbor",
    b"2",
    b"\xbf"
    + cbor2.dumps("Namespace")
    + cbor2.dumps("AWS/EC2")
    + cbor2.dumps("Dimensions")
    + b"\x9f"
    + cbor2.dumps({"Name": "InstanceId", "Value": "i-0abc"})
    + b"\xff"
    + b"\xff",
)
write("empty-map.cbor", b"0", cbor2.dumps({}))
