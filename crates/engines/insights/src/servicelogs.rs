//! Discovered fields of AWS service logs written as text lines, recognised by their format:
//! VPC flow logs in the default format (version 2) and Route 53 public DNS query logs.
//!
//! A line is taken for one of these only when it has exactly that format's tokens (single
//! spaces between them) and the tokens with fixed vocabularies hold one of their values;
//! anything else is an ordinary line without discovered fields (custom flow-log formats are
//! not discovered, as in CloudWatch). Values are the tokens as written, `-` included.

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
pub fn service_fields(msg: &str, f: &mut dyn FnMut(&'static str, &str)) -> bool {
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
