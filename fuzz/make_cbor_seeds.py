#!/usr/bin/env python3
"""Writes the CBOR seed inputs of the cbor_decode target (needs `pip install cbor2`).

Each seed is one selector byte ('0' PutMetricData, '1' GetMetricData, '2' ListMetrics) followed
by a Smithy RPC v2 CBOR request body.
"""
import os
import struct
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
# PutMetricData as the typed fast path reads it: indefinite-length maps, arrays and a chunked text
# string, tag 1 in a one-byte argument, half/single/double floats and integers among the values,
# null and undefined members.
write(
    "put-metric-data-indefinite.cbor",
    b"0",
    b"\xbf"
    + cbor2.dumps("Namespace")
    + b"\x7f" + cbor2.dumps("App/") + cbor2.dumps("Web") + b"\xff"
    + cbor2.dumps("MetricData")
    + b"\x9f"
    + b"\xbf"
    + cbor2.dumps("MetricName")
    + cbor2.dumps("Latency")
    + cbor2.dumps("Value")
    + b"\xf6"
    + cbor2.dumps("Timestamp")
    + b"\xd8\x01\xfb" + struct.pack(">d", 1704067200.5)
    + cbor2.dumps("Dimensions")
    + b"\x9f" + cbor2.dumps({"Name": "Host", "Value": "h1"}) + b"\xff"
    + cbor2.dumps("Values")
    + b"\x9f\xf9\x3e\x00\xfa" + struct.pack(">f", 0.1) + b"\xfb" + struct.pack(">d", 12.345678)
    + b"\x18\x2a\x38\x63\xff"
    + cbor2.dumps("Counts")
    + b"\x85\xf9\x3c\x00\xf9\x3c\x00\x01\x02\xf9\x3c\x00"
    + cbor2.dumps("Unit")
    + cbor2.dumps("Milliseconds")
    + cbor2.dumps("StorageResolution")
    + b"\x18\x3c"
    + b"\xff"
    + b"\xff"
    + cbor2.dumps("StrictEntityValidation")
    + b"\xf7"
    + b"\xff",
)
