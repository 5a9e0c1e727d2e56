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
        // Datums and values out of order, an index given twice, empty pieces.
        (
            format!("{ok}&MetricData.member.4.MetricName=Four&MetricData.member.3.MetricName=Three&&MetricData.member.3.Value=1&MetricData.member.4.Values.member.1=1&MetricData.member.4.Values.member.3=3&MetricData.member.4.Values.member.3=4&"),
            true,
        ),
        // Escapes in names and values decode as the tree decodes them.
        (
            format!("{ok}&MetricData%2Emember.1.Dimensions.member.2.Name=A+b&MetricData.member.1.Dimensions.member.2.Value=%C3%A9t%C3%A9"),
            true,
        ),
        (ok.replace("Namespace=App%2FWeb", "Namespace=App+Web"), true),
        (ok.replace("Namespace=App%2FWeb", "Namespace=App%ZZ"), true),
        (format!("{ok}&MetricData.member.1.Value=+1.5"), true), // `+` is a space, trimmed
        (format!("{ok}&MetricData.member.1.Values.member.01=1"), false),
        (format!("{ok}&MetricData.member.1.Values.member.99999999999999999999=1"), false),
        (format!("{ok}&MetricData.member.1"), false),
        (format!("{ok}&MetricData.member.1.Dimensions.member.1.Name.x=1"), false),
        (format!("{ok}&MetricData.member.1.StatisticValues.Sum.x=1"), false),
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

/// CBOR bytes of a ciborium value (definite lengths, floats in their shortest exact width).
fn cbor(v: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).unwrap();
    out
}

#[test]
fn put_metric_data_cbor_table() {
    use ciborium::Value as C;
    let service = &cloudwatch::SERVICE;
    let op = service.operation("PutMetricData").unwrap();
    let t = |s: &str| C::Text(s.into());
    let datum = |extra: Vec<(C, C)>| {
        let mut members = vec![
            (t("MetricName"), t("Latency")),
            (
                t("Dimensions"),
                C::Array(vec![C::Map(vec![
                    (t("Name"), t("Host")),
                    (t("Value"), t("h1")),
                ])]),
            ),
            (t("Timestamp"), C::Tag(1, Box::new(C::Float(1.7e9)))),
            (t("Unit"), t("Milliseconds")),
            (t("StorageResolution"), C::Integer(60.into())),
            (
                t("Values"),
                C::Array(vec![
                    C::Float(1.5),
                    C::Float(12.345678),
                    C::Integer(3.into()),
                ]),
            ),
            (
                t("Counts"),
                C::Array(vec![C::Float(1.0), C::Float(2.0), C::Float(0.25)]),
            ),
        ];
        members.extend(extra);
        C::Map(members)
    };
    let body = |data: Vec<C>, extra: Vec<(C, C)>| {
        let mut members = vec![
            (t("Namespace"), t("App")),
            (t("MetricData"), C::Array(data)),
        ];
        members.extend(extra);
        cbor(&C::Map(members))
    };
    let stats = C::Map(vec![
        (t("MetricName"), t("Set")),
        (
            t("StatisticValues"),
            C::Map(vec![
                (t("SampleCount"), C::Integer(2.into())),
                (t("Sum"), C::Float(3.0)),
                (t("Minimum"), C::Integer((-1).into())),
                (t("Maximum"), C::Float(2.0)),
            ]),
        ),
    ]);
    let ok = body(vec![datum(vec![]), stats.clone()], vec![]);
    // The same body with indefinite-length maps and arrays and a chunked text string.
    let mut indefinite = vec![0xbf];
    indefinite.extend(cbor(&t("Namespace")));
    indefinite.extend([0x7f, 0x62, b'A', b'p', 0x61, b'p', 0xff]);
    indefinite.extend(cbor(&t("MetricData")));
    indefinite.push(0x9f);
    indefinite.extend(cbor(&datum(vec![])));
    indefinite.extend([0xbf, 0x6a]);
    indefinite.extend(b"MetricName");
    indefinite.extend(cbor(&t("m")));
    indefinite.extend([0x66]);
    indefinite.extend(b"Values");
    indefinite.extend([
        0x9f, 0xf9, 0x3c, 0x00, 0xfa, 0x3f, 0xc0, 0x00, 0x00, 0x20, 0xff,
    ]);
    indefinite.extend([0xff, 0xff, 0xff]);
    let mut trailing = ok.clone();
    trailing.push(0x00);
    let mut wide_tag = cbor(&C::Map(vec![
        (t("Namespace"), t("App")),
        (
            t("MetricData"),
            C::Array(vec![C::Map(vec![(t("MetricName"), t("m"))])]),
        ),
    ]));
    // `Timestamp: 1(1700000000)` with the tag in a one-byte argument, appended to the datum.
    let at = wide_tag.len() - "m".len() - 1 - "MetricName".len() - 1 - 1;
    assert_eq!(wide_tag[at], 0xa1);
    wide_tag[at] = 0xa2;
    wide_tag.extend([0x69]);
    wide_tag.extend(b"Timestamp");
    wide_tag.extend([0xd8, 0x01, 0x1a, 0x65, 0x53, 0xf1, 0x00]);
    let byte_key = cbor(&C::Map(vec![
        (C::Bytes(b"Namespace".to_vec()), t("App")),
        (t("MetricData"), C::Array(vec![])),
    ]));
    for (name, body, fast) in [
        ("ok", ok.clone(), true),
        ("indefinite", indefinite, true),
        ("tag 1 in a one-byte argument", wide_tag, true),
        (
            "null member",
            body(
                vec![datum(vec![(t("Value"), C::Null)])],
                vec![(t("StrictEntityValidation"), C::Null)],
            ),
            true,
        ),
        (
            "strict",
            body(
                vec![datum(vec![])],
                vec![(t("StrictEntityValidation"), C::Bool(true))],
            ),
            true,
        ),
        (
            "untagged timestamp",
            body(
                vec![datum(vec![])
                    .into_map()
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| {
                        if k == t("Timestamp") {
                            (k, C::Integer(1_700_000_000.into()))
                        } else {
                            (k, v)
                        }
                    })
                    .collect::<Vec<_>>()
                    .into()],
                vec![],
            ),
            true,
        ),
        ("empty body", vec![], false),
        ("trailing byte", trailing, true), // ciborium reads one item
        ("byte-string key", byte_key, false),
        (
            "unknown member",
            body(
                vec![datum(vec![])],
                vec![(t("Unknown"), C::Integer(1.into()))],
            ),
            false,
        ),
        (
            "repeated member",
            body(vec![datum(vec![(t("Unit"), t("Seconds"))])], vec![]),
            false,
        ),
        (
            "NaN",
            body(vec![datum(vec![(t("Value"), C::Float(f64::NAN))])], vec![]),
            false,
        ),
        (
            "bignum",
            body(
                vec![datum(vec![(
                    t("Value"),
                    C::Tag(2, Box::new(C::Bytes(vec![1]))),
                )])],
                vec![],
            ),
            false,
        ),
        (
            "tagged value",
            body(
                vec![datum(vec![(
                    t("Value"),
                    C::Tag(1, Box::new(C::Float(1.0))),
                )])],
                vec![],
            ),
            false,
        ),
        (
            "float resolution",
            body(
                vec![C::Map(vec![
                    (t("MetricName"), t("m")),
                    (t("StorageResolution"), C::Float(1.0)),
                ])],
                vec![],
            ),
            false,
        ),
        (
            "bad unit",
            body(
                vec![C::Map(vec![
                    (t("MetricName"), t("m")),
                    (t("Unit"), t("Bananas")),
                ])],
                vec![],
            ),
            false,
        ),
        ("null item", body(vec![C::Null], vec![]), false),
        (
            "no namespace",
            cbor(&C::Map(vec![(t("MetricData"), C::Array(vec![]))])),
            false,
        ),
        (
            "entity data",
            body(vec![], vec![(t("EntityMetricData"), C::Array(vec![]))]),
            false,
        ),
    ] {
        let got = typed::put_metric_data_cbor(service, op, &body);
        assert_eq!(got.is_some(), fast, "{name}");
        if let Some(input) = got {
            let value =
                decode_input(WireProtocol::Cbor, service, op, RequestBody::Bytes(&body)).unwrap();
            assert!(
                validate::validate(service, op.input.unwrap(), &value).is_empty(),
                "{name}"
            );
            let fast: PutMetricDataInput = input.parse().unwrap();
            assert_eq!(fast, serde_json::from_value(value).unwrap(), "{name}");
        }
    }
    // The fuzz seeds written for the fast path take it (so the fuzzer starts from there).
    for seed in ["put-metric-data.cbor", "put-metric-data-indefinite.cbor"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/cbor_decode")
            .join(seed);
        let data = std::fs::read(path).unwrap();
        assert!(
            typed::put_metric_data_cbor(service, op, &data[1..]).is_some(),
            "{seed}"
        );
    }
    // The values as sent.
    let input: PutMetricDataInput = typed::put_metric_data_cbor(service, op, &ok)
        .unwrap()
        .parse()
        .unwrap();
    let d = &input.metric_data.as_ref().unwrap()[0];
    assert_eq!(d.values.as_deref(), Some(&[1.5, 12.345678, 3.0][..]));
    assert_eq!(d.counts.as_deref(), Some(&[1.0, 2.0, 0.25][..]));
    assert_eq!(d.timestamp, Some(nephoscope_model::Timestamp(1.7e9)));
}

#[test]
fn form_action_version_table() {
    use nephoscope_wire::query::ParamTree;
    for form in [
        &b"Action=PutMetricData&Version=2010-08-01&Namespace=A"[..],
        b"Version=1&Action=A&Action=B",
        b"%41ction=Put%4DetricData&Ver+sion=x&Version=y+z",
        b"Action&Version=",
        b"&&Action=%FF%FE&Version=\xff",
        b"Namespace=A",
        b"",
        b"xAction=1&Action+=2&a%26Action=3&Action=4&x=%41&Versio%6E=5",
        b"Action=1&Action",
    ] {
        let tree = ParamTree::parse(form);
        let (action, version) = typed::form_action_version(form);
        assert_eq!(action.as_deref(), tree.get("Action"), "{form:?}");
        assert_eq!(version.as_deref(), tree.get("Version"), "{form:?}");
    }
}

/// Routing reads `Action` and `Version` as the tree does, on forms built from the pieces that
/// matter (names, escapes, separators).
#[test]
fn form_action_version_mixed() {
    use nephoscope_wire::query::ParamTree;
    const TOKENS: [&str; 12] = [
        "Action", "Version", "=", "&", "%41", "+", "x", "%", "%2", "%6E", "Ver", "%26",
    ];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        let mut form = String::new();
        for _ in 0..(x % 12) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            form.push_str(TOKENS[(x % TOKENS.len() as u64) as usize]);
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let tree = ParamTree::parse(form.as_bytes());
        let (action, version) = typed::form_action_version(form.as_bytes());
        assert_eq!(action.as_deref(), tree.get("Action"), "{form}");
        assert_eq!(version.as_deref(), tree.get("Version"), "{form}");
    }
}
