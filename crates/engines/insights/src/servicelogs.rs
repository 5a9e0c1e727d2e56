//! Discovered fields of AWS service logs written as text lines, recognised by their format:
//! VPC flow logs in the default format (version 2), Route 53 public DNS query logs, and
//! Lambda's text-format lines.
//!
//! A flow-log or Route 53 line is taken for one only when it has exactly that format's tokens
//! (single spaces between them) and the tokens with fixed vocabularies hold one of their
//! values; anything else is an ordinary line without discovered fields (custom flow-log
//! formats are not discovered, as in CloudWatch). Values are the tokens as written, `-`
//! included.
//!
//! Lambda lines ([`lambda_fields`]): the platform's `START`, `END` and `REPORT` lines give
//! `@type` and `@requestId`, a `REPORT` line its measures (`@duration`, `@billedDuration`,
//! `@initDuration` in milliseconds; `@memorySize`, `@maxMemoryUsed` in bytes, a megabyte
//! counted as 10⁶ as CloudWatch shows them; `@xrayTraceId`, `@xraySegmentId`); an application
//! line `<time>\t<request id>\t<LEVEL>\t<message>` (or Python's `[LEVEL]\t<time>\t<request id>\t…`)
//! gives `@requestId` and the fields of the
//! first JSON object embedded in its message.

/// VPC flow log default format: `<version> <account-id> <interface-id> <srcaddr> <dstaddr>
/// <srcport> <dstport> <protocol> <packets> <bytes> <start> <end> <action> <log-status>`.
const FLOW_FIELDS: [&str; 14] = [
    "version",
    "accountId",
    "interfaceId",
    "srcAddr",
    "dstAddr",
    "srcPort",
    "dstPort",
    "protocol",
    "packets",
    "bytes",
    "startTime",
    "endTime",
    "action",
    "logStatus",
];

/// Route 53 public DNS query log: `<version> <query timestamp> <hosted zone id> <query name>
/// <query type> <response code> <protocol> <edge location> <resolver ip> [<edns client
/// subnet>]` (the last token since 2018; older lines have nine).
const ROUTE53_FIELDS: [&str; 10] = [
    "version",
    "queryTimestamp",
    "hostZoneId",
    "queryName",
    "queryType",
    "responseCode",
    "protocol",
    "edgeLocation",
    "resolverIp",
    "ednsClientSubnet",
];

/// Calls `f(name, value)` for each field of `msg` when it is a line of one of the formats
/// (in the format's order); false when it is not.
pub fn service_fields(msg: &str, f: &mut dyn FnMut(&str, &str)) -> bool {
    if lambda_fields(msg, f) {
        return true;
    }
    let mut tokens: [&str; 14] = [""; 14];
    let mut n = 0;
    for t in msg.split(' ') {
        if n == tokens.len() || t.is_empty() {
            return false;
        }
        tokens[n] = t;
        n += 1;
    }
    let tokens = &tokens[..n];
    let names: &[&'static str] = if is_flow_log(tokens) {
        &FLOW_FIELDS
    } else if is_route53(tokens) {
        &ROUTE53_FIELDS[..n]
    } else {
        return false;
    };
    for (name, value) in names.iter().zip(tokens) {
        f(name, value);
    }
    true
}

/// The fields of a Lambda text-format line (see the module's documentation); false when
/// `msg` is not one.
fn lambda_fields(msg: &str, f: &mut dyn FnMut(&str, &str)) -> bool {
    let line = msg.trim_end_matches(['\n', '\r', '\t', ' ']);
    if let Some(rest) = line.strip_prefix("REPORT RequestId: ") {
        let mut parts = rest.split('\t');
        let id = parts.next().unwrap_or_default().trim();
        if !is_request_id(id) {
            return false;
        }
        f("@type", "REPORT");
        f("@requestId", id);
        let mut number = String::new();
        for part in parts {
            let Some((key, value)) = part.split_once(": ") else {
                continue;
            };
            let (name, unit, scale) = match key.trim() {
                "Duration" => ("@duration", " ms", None),
                "Billed Duration" => ("@billedDuration", " ms", None),
                "Init Duration" => ("@initDuration", " ms", None),
                "Memory Size" => ("@memorySize", " MB", Some(1e6)),
                "Max Memory Used" => ("@maxMemoryUsed", " MB", Some(1e6)),
                "XRAY TraceId" => ("@xrayTraceId", "", None),
                "SegmentId" => ("@xraySegmentId", "", None),
                _ => continue,
            };
            let value = value.trim();
            let value = value.strip_suffix(unit).unwrap_or(value);
            match scale {
                Some(k) => {
                    let Ok(v) = value.parse::<f64>() else {
                        continue;
                    };
                    number.clear();
                    crate::value::fmt_num_into(v * k, &mut number);
                    f(name, &number);
                }
                None => f(name, value),
            }
        }
        return true;
    }
    if let Some(rest) = line.strip_prefix("START RequestId: ") {
        let id = rest.split(' ').next().unwrap_or_default();
        if is_request_id(id) && rest[id.len()..].starts_with(" Version: ") {
            f("@type", "START");
            f("@requestId", id);
            return true;
        }
        return false;
    }
    if let Some(id) = line.strip_prefix("END RequestId: ") {
        if is_request_id(id) {
            f("@type", "END");
            f("@requestId", id);
            return true;
        }
        return false;
    }
    // `<time>\t<request id>\t<LEVEL>\t<message>` (Node.js and most runtimes), or
    // `[LEVEL]\t<time>\t<request id>\t<message>` (Python's logging layout).
    let mut parts = msg.splitn(4, '\t');
    let (Some(first), Some(second), Some(third), Some(text)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (time, id, level) = match first.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        Some(level) => (second, third, level),
        None => (first, second, third),
    };
    if !is_utc_timestamp(time)
        || !is_request_id(id)
        || level.is_empty()
        || !level.bytes().all(|b| b.is_ascii_uppercase())
    {
        return false;
    }
    f("@requestId", id);
    // The first JSON object embedded in the message.
    if let Some(at) = text.find('{') {
        let mut values = serde_json::Deserializer::from_str(&text[at..])
            .into_iter::<serde_json::Map<String, serde_json::Value>>();
        if let Some(Ok(o)) = values.next() {
            for (k, v) in &o {
                let name = if k.starts_with('@') {
                    format!("@{k}")
                } else {
                    k.clone()
                };
                crate::discover::walk(name, v, &mut |k, v| {
                    if let crate::value::Value::Str(s) = v {
                        f(&k, &s);
                    }
                });
            }
        }
    }
    true
}

/// A Lambda request id: a UUID (8-4-4-4-12 hexadecimal digits).
fn is_request_id(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn digits_or_dash(t: &str) -> bool {
    t == "-" || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

fn is_flow_log(t: &[&str]) -> bool {
    t.len() == 14
        && t[0] == "2"
        && (t[2] == "-" || t[2].starts_with("eni-"))
        && [5, 6, 7, 8, 9, 10, 11]
            .iter()
            .all(|&i| digits_or_dash(t[i]))
        && matches!(t[12], "ACCEPT" | "REJECT" | "-")
        && matches!(t[13], "OK" | "NODATA" | "SKIPDATA")
}

fn is_route53(t: &[&str]) -> bool {
    (t.len() == 9 || t.len() == 10)
        && t[0] == "1.0"
        && is_utc_timestamp(t[1])
        && t[2].starts_with('Z')
        && matches!(t[6], "TCP" | "UDP")
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn is_utc_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    b.len() >= 20
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| digit(i))
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z'
        && (b.len() == 20 || (b[19] == b'.' && (20..b.len() - 1).all(digit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(msg: &str) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        service_fields(msg, &mut |k, v| out.push((k.to_string(), v.to_string()))).then_some(out)
    }

    #[test]
    fn lambda_lines() {
        let id = "c793869b-ee49-115b-a5b6-4fd21e8dedac";
        let report = format!("REPORT RequestId: {id}\tDuration: 128.83 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB\tInit Duration: 166.62 ms\tXRAY TraceId: 1-5d9d007f-0a8c7fd02xmpl480aed55ef0\tSegmentId: 3d752xmpl1bbe37e\tSampled: true\t\n");
        let got = fields(&report).expect("a REPORT line");
        let want = [
            ("@type", "REPORT"),
            ("@requestId", id),
            ("@duration", "128.83"),
            ("@billedDuration", "200"),
            ("@memorySize", "128000000"),
            ("@maxMemoryUsed", "74000000"),
            ("@initDuration", "166.62"),
            ("@xrayTraceId", "1-5d9d007f-0a8c7fd02xmpl480aed55ef0"),
            ("@xraySegmentId", "3d752xmpl1bbe37e"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        // Older REPORT lines put a space before a tab.
        let old = format!("REPORT RequestId: {id}\tDuration: 26.73 ms\tBilled Duration: 100 ms \tMemory Size: 128 MB\tMax Memory Used: 75 MB\t\n");
        assert_eq!(
            fields(&old).expect("REPORT")[3],
            ("@billedDuration".into(), "100".into())
        );
        let start = format!("START RequestId: {id} Version: $LATEST\n");
        assert_eq!(
            fields(&start),
            Some(vec![
                ("@type".into(), "START".into()),
                ("@requestId".into(), id.into())
            ])
        );
        assert_eq!(
            fields(&format!("END RequestId: {id}\n")).expect("END")[0].1,
            "END"
        );
        let app = format!("2019-06-07T19:11:20.562Z\t{id}\tINFO\tuser {{\"user\":\"ann\",\"n\":{{\"a\":[1,true]}},\"@x\":null}} and {{\"second\":1}}\n");
        assert_eq!(
            fields(&app),
            Some(vec![
                ("@requestId".into(), id.into()),
                ("user".into(), "ann".into()),
                ("n.a.0".into(), "1".into()),
                ("n.a.1".into(), "true".into()),
            ])
        );
        let multi =
            format!("2019-06-05T19:30:03.173Z\t{id}\tINFO\tEVENT\r{{\r  \"key\": \"value\"\r}}\n");
        assert_eq!(
            fields(&multi).expect("app line")[1],
            ("key".into(), "value".into())
        );
        let python = format!("[ERROR]\t2019-06-07T19:11:20.562Z\t{id}\tfailed {{\"code\":42}}\n");
        assert_eq!(
            fields(&python),
            Some(vec![
                ("@requestId".into(), id.into()),
                ("code".into(), "42".into()),
            ])
        );
        let plain = format!("2019-06-07T19:11:20.564Z\t{id}\tWARN\tEvent not processed.\n");
        assert_eq!(fields(&plain).expect("app line").len(), 1);
        for not in [
            "REPORT RequestId: not-a-uuid\tDuration: 1 ms".to_string(),
            format!("START RequestId: {id}"),
            format!("END RequestId: {id} extra"),
            format!("2019-06-07T19:11:20.562Z\t{id}\tinfo\tlower-case level"),
            format!("[info]\t2019-06-07T19:11:20.562Z\t{id}\tlower-case level"),
            format!("[INFO]\t{id}\t2019-06-07T19:11:20.562Z\ttime and id swapped"),
            format!("2019-06-07 19:11:20\t{id}\tINFO\tno T in the time"),
            "INIT_START Runtime Version: nodejs:18.v18".to_string(),
        ] {
            assert_eq!(fields(&not), None, "{not:?}");
        }
    }

    #[test]
    fn formats_recognised_and_not() {
        let flow = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
        let got = fields(flow).expect("a flow log line");
        assert_eq!(got.len(), 14);
        assert_eq!(got[3], ("srcAddr".into(), "172.31.16.139".into()));
        assert_eq!(got[10], ("startTime".into(), "1418530010".into()));
        assert_eq!(got[13], ("logStatus".into(), "OK".into()));
        let nodata =
            "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA";
        assert_eq!(fields(nodata).expect("a NODATA record")[3].1, "-");
        let r53 = "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com AAAA NOERROR TCP IAD12 192.168.3.1 192.168.222.0/24";
        let got = fields(r53).expect("a Route 53 line");
        assert_eq!(got.len(), 10);
        assert_eq!(got[2], ("hostZoneId".into(), "Z123412341234".into()));
        assert_eq!(got[4], ("queryType".into(), "AAAA".into()));
        assert_eq!(
            got[9],
            ("ednsClientSubnet".into(), "192.168.222.0/24".into())
        );
        let old = "1.0 2017-12-13T08:16:02Z Z1 example.com A NOERROR UDP FRA6 192.168.1.1";
        assert_eq!(fields(old).expect("nine tokens").len(), 9);
        for not in [
            "",
            "2",
            // Custom flow-log formats, wrong vocabularies, double spaces, extra tokens.
            "3 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 ACCEPT OK",
            "2 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 ALLOW OK",
            "2 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 ACCEPT DONE",
            "2 123456789010 eni-1 1.1.1.1 2.2.2.2 x 2 6 1 1 1 2 ACCEPT OK",
            "2 123456789010 vpc-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 ACCEPT OK",
            "2 123456789010 eni-1 1.1.1.1  2.2.2.2 1 2 6 1 1 1 2 ACCEPT OK",
            "2 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 ACCEPT OK x",
            "2 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 ACCEPT OK ",
            "1.0 2017-12-13 Z1 example.com A NOERROR UDP FRA6 192.168.1.1 -",
            "1.0 2017-12-13T08:16:02.130Z X1 example.com A NOERROR UDP FRA6 192.168.1.1 -",
            "1.0 2017-12-13T08:16:02.130Z Z1 example.com A NOERROR QUIC FRA6 192.168.1.1 -",
            "1.1 2017-12-13T08:16:02.130Z Z1 example.com A NOERROR UDP FRA6 192.168.1.1 -",
            "1.0 2017-12-13T08:16:02.1x0Z Z1 example.com A NOERROR UDP FRA6 192.168.1.1 -",
            "1.0 2017-12-13T08:16:02.130Z Z1 example.com A NOERROR UDP FRA6",
            "{\"version\":2}",
            "plain text line with words",
        ] {
            assert_eq!(fields(not), None, "{not:?}");
        }
    }
}
