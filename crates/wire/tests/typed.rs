//! The typed JSON fast path against the canonical path: the same requests accepted, the same
//! input decoded; everything else left to the canonical path (which gives AWS's errors).

use nephoscope_model::generated::{cloudwatch, logs};
use nephoscope_model::types::{cloudwatch::PutMetricDataInput, logs::PutLogEventsRequest};
use nephoscope_wire::{decode_input, typed, validate, RequestBody, WireProtocol};

fn canonical_ok(
    protocol: WireProtocol,
    service: &nephoscope_model::meta::ServiceDef,
    op: &str,
    body: &str,
) -> bool {
    let op = service.operation(op).unwrap();
    decode_input(protocol, service, op, RequestBody::Bytes(body.as_bytes()))
        .is_ok_and(|v| validate::validate(service, op.input.unwrap(), &v).is_empty())
}

#[test]
fn put_metric_data_table() {
    let service = &cloudwatch::SERVICE;
    let op = service.operation("PutMetricData").unwrap();
    let ok = r#"{"Namespace":"App","MetricData":[{"MetricName":"Latency","Dimensions":[{"Name":"Host","Value":"h1"}],"Timestamp":1700000000,"Values":[1.5,2,3e2],"Counts":[1,1,2],"Unit":"Milliseconds","StorageResolution":1},{"MetricName":"Set","StatisticValues":{"SampleCount":2,"Sum":3,"Minimum":1,"Maximum":2}}],"Unknown":[1,{"a":null}]}"#;
    let long = "x".repeat(256);
    let dims31: Vec<String> = (0..31)
        .map(|i| format!(r#"{{"Name":"d{i}","Value":"v"}}"#))
        .collect();
    for (body, fast) in [
        (ok.to_string(), true),
        (format!("  \n{ok}  "), true),
        (r#"{"Namespace":"App","MetricData":null}"#.into(), true),
        (r#"{"MetricData":[]}"#.into(), false),
        (format!(r#"{{"Namespace":"{long}"}}"#), false),
        (r#"{"Namespace":"App","MetricData":[{"MetricName":"m","Unit":"Bananas","Value":1}]}"#.into(), false),
        (r#"{"Namespace":"App","MetricData":[{"MetricName":"m","Value":"1"}]}"#.into(), false),
        (r#"{"Namespace":"App","MetricData":[{"MetricName":"m","Values":["NaN"]}]}"#.into(), false),
        (format!(r#"{{"Namespace":"App","MetricData":[{{"MetricName":"m","Value":1,"Dimensions":[{}]}}]}}"#, dims31.join(",")), false),
        (r#"{"Namespace":"App","MetricData":[{"MetricName":"m","Value":1,"StorageResolution":1.5}]}"#.into(), false),
        (r#"{"Namespace":"App","Namespace":"B"}"#.into(), false),
        (r#"["App"]"#.into(), false),
        ("".into(), false),
        ("{".into(), false),
    ] {
        let got = typed::decode_json::<PutMetricDataInput>(service, op, body.as_bytes());
        assert_eq!(got.is_some(), fast, "{body}");
        if let Some(input) = got {
            assert!(canonical_ok(WireProtocol::Json10, service, "PutMetricData", &body), "{body}");
            let fast: PutMetricDataInput = input.parse().unwrap();
            let value = decode_input(WireProtocol::Json10, service, op, RequestBody::Bytes(body.as_bytes())).unwrap();
            assert_eq!(fast, serde_json::from_value::<PutMetricDataInput>(value).unwrap(), "{body}");
        }
    }
}

#[test]
fn put_log_events_table() {
    let service = &logs::SERVICE;
    let op = service.operation("PutLogEvents").unwrap();
    for (body, fast) in [
        (
            r#"{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"héllo \u00e9"}]}"#,
            true,
        ),
        (
            r#"{"logGroupName":"g","logStreamName":"s","logEvents":[]}"#,
            false,
        ),
        (
            r#"{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":""}]}"#,
            false,
        ),
        (
            r#"{"logGroupName":"g","logEvents":[{"timestamp":1,"message":"m"}]}"#,
            false,
        ),
        (
            r#"{"logGroupName":"g:x","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}]}"#,
            false,
        ),
        (
            r#"{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":"1","message":"m"}]}"#,
            false,
        ),
    ] {
        let got = typed::decode_json::<PutLogEventsRequest>(service, op, body.as_bytes());
        assert_eq!(got.is_some(), fast, "{body}");
        assert!(
            !fast || canonical_ok(WireProtocol::Json11, service, "PutLogEvents", body),
            "{body}"
        );
    }
}

#[test]
fn put_metric_data_form_table() {
    use nephoscope_wire::query::ParamTree;
    let service = &cloudwatch::SERVICE;
    let op = service.operation("PutMetricData").unwrap();
    let ok = "Action=PutMetricData&Version=2010-08-01&Namespace=App%2FWeb\
        &MetricData.member.1.MetricName=Latency&MetricData.member.1.Unit=Milliseconds\
        &MetricData.member.1.Timestamp=2026-11-25T10%3A00%3A00Z\
        &MetricData.member.1.Dimensions.member.1.Name=Host&MetricData.member.1.Dimensions.member.1.Value=h1\
        &MetricData.member.1.Values.member.2=20&MetricData.member.1.Values.member.1=1.5\
        &MetricData.member.1.Counts.member.1=1&MetricData.member.1.Counts.member.2=3\
        &MetricData.member.2.MetricName=Set&MetricData.member.2.StatisticValues.SampleCount=2\
        &MetricData.member.2.StatisticValues.Sum=3&MetricData.member.2.StatisticValues.Minimum=1\
        &MetricData.member.2.StatisticValues.Maximum=2&MetricData.member.2.StorageResolution=1";
    for (body, fast) in [
        (ok.to_string(), true),
        (format!("{ok}&MetricData.member.1.Values.member.2=21"), true),
        (
            ok.replace("Namespace=App%2FWeb", "Namespace=AWS%2FEC2"),
            true,
        ), // rules, not constraints
        (format!("{ok}&Unknown=1"), false),
        (
            ok.replace("member.2.MetricName", "member.02.MetricName"),
            false,
        ),
        (format!("{ok}&MetricData.member.1.Value=NaN"), false),
        (format!("{ok}&MetricData.member.1.Unit=Bananas"), false),
        (ok.replace("Namespace=App%2FWeb&", ""), false),
        (
            format!("{ok}&MetricData.member.1.StorageResolution=1.5"),
            false,
        ),
        (format!("{ok}&MetricData.member.1.Timestamp=inf"), false),
    ] {
        let got = typed::put_metric_data_form(service, op, body.as_bytes());
        assert_eq!(got.is_some(), fast, "{body}");
        if let Some(input) = got {
            let value = decode_input(
                WireProtocol::Query,
                service,
                op,
                RequestBody::Query(&ParamTree::parse(body.as_bytes())),
            )
            .unwrap();
            assert!(validate::validate(service, op.input.unwrap(), &value).is_empty());
            let fast: PutMetricDataInput = input.parse().unwrap();
            assert_eq!(fast, serde_json::from_value(value).unwrap(), "{body}");
        }
    }
}
