//! Scalar functions and operators: (expression, expected rendered value) over one record.
mod common;
use common::*;

fn eval_all(msg: &str, cases: &[(&str, &str)]) {
    let e = evs(&[(T0 + 123, msg)]);
    for (expr, want) in cases {
        let q = format!("fields {expr} as v | display v");
        let rows = run(&q, &e);
        let got = rows[0]
            .iter()
            .find(|(k, _)| k == "v")
            .map(|(_, v)| v.as_str())
            .unwrap_or("<null>");
        assert_eq!(got, *want, "expression {expr}");
    }
}

#[test]
fn string_functions() {
    eval_all(
        r#"{"s":"  Hello World  ","e":"","b":"   ","n":"42","ip":"10.1.2.3","ip6":"2001:db8::1","pub":"8.8.8.8"}"#,
        &[
            (r#"substr("xyZfooxyZ",3,3)"#, "foo"),
            (r#"substr("xyZfooxyZ",3)"#, "fooxyZ"),
            ("strlen(s)", "15"),
            (r#"strlen("héllo")"#, "5"),
            ("toupper(trim(s))", "HELLO WORLD"),
            ("tolower(s)", "  hello world  "),
            ("ltrim(s)", "Hello World  "),
            ("rtrim(s)", "  Hello World"),
            (r#"trim("xyZfooxyZ", "xyZ")"#, "foo"),
            (r#"concat("a", n, "-", 1)"#, "a42-1"),
            (r#"replace("a.b.c", ".", "/")"#, "a/b/c"),
            (r##"regexReplace("a1b22c333", /[0-9]+/, "#")"##, "a#b#c#"),
            (r#"regexReplace("aaa", "a{2}", "b")"#, "ba"),
            (r#"strcontains("Hello", "ell")"#, "1"),
            (r#"strcontains("Hello", "ELL")"#, "0"),
            (r#"strcontains("Hello", "ELL", 1)"#, "1"),
            (r#"startsWith("Hello", "He")"#, "1"),
            (r#"endsWith("Hello", "He")"#, "0"),
            ("isempty(e)", "1"),
            ("isempty(missing)", "1"),
            ("isempty(s)", "0"),
            ("isblank(b)", "1"),
            ("isblank(s)", "0"),
            (r#"urlencode("a b&c=d/é")"#, "a+b%26c%3Dd%2F%C3%A9"),
            (r#"urldecode("a+b%26c")"#, "a b&c"),
            (r#"base64encode("hello")"#, "aGVsbG8="),
            (r#"base64decode("aGVsbG8=")"#, "hello"),
            (r#"hexToAscii("68656c6c6f")"#, "hello"),
            (r#"hexToDec("ff")"#, "255"),
            (r#"hexToDec("0x1A")"#, "26"),
            ("decToHex(255)", "0xff"),
            (r#"split("a,b,c", ",")"#, r#"["a","b","c"]"#),
            (r#"split("a,b,c", ",")[1]"#, "b"),
            ("ispresent(s)", "true"),
            ("ispresent(nope)", "false"),
            ("coalesce(nope, n, s)", "42"),
            ("isNumeric(n)", "true"),
            ("isNumeric(s)", "false"),
            (r#"messageSize("héllo")"#, "6"),
            (r#"if(n > 40, "big", "small")"#, "big"),
            (r#"case(n = 1, "one", n = 42, "answer", "other")"#, "answer"),
            (r#"case(n = 1, "one", "other")"#, "other"),
            ("isValidIp(ip)", "true"),
            ("isValidIpV4(ip6)", "false"),
            ("isValidIpV6(ip6)", "true"),
            (r#"isIpInSubnet(ip, "10.0.0.0/8")"#, "true"),
            (r#"isIpInSubnet(ip, "192.168.0.0/16")"#, "false"),
            (r#"isIpv4InSubnet(ip, "10.1.2.0/24")"#, "true"),
            (r#"isIpv6InSubnet(ip6, "2001:db8::/32")"#, "true"),
            ("ipv4ToNumber(ip)", "167838211"),
            ("isPrivateIP(ip)", "true"),
            ("isPrivateIP(pub)", "false"),
            ("isPublicIP(pub)", "true"),
        ],
    );
}

#[test]
fn numeric_and_operators() {
    eval_all(
        r#"{"a":7,"b":2,"f":"2.5","neg":-3.7,"s":"abc"}"#,
        &[
            ("a + b", "9"),
            ("a - b * 3", "1"),
            ("a / b", "3.5"),
            ("a % b", "1"),
            ("b ^ 10", "1024"),
            ("(a + b) * 2", "18"),
            ("-a", "-7"),
            ("a / 0", "<null>"),
            ("s + 1", "<null>"),
            ("f * 2", "5"),
            ("abs(neg)", "3.7"),
            ("ceil(neg)", "-3"),
            ("floor(neg)", "-4"),
            ("round(neg)", "-4"),
            ("round(3.14159, 2)", "3.14"),
            ("greatest(a, b, f)", "7"),
            ("least(a, b, f)", "2"),
            ("sqrt(16)", "4"),
            ("log(1)", "0"),
            ("toInt(3.9)", "3"),
            ("toInt(4294967297)", "1"),
            ("toLong(4294967297.5)", "4294967297"),
            ("toNumber(f)", "2.5"),
            ("a > b", "true"),
            ("a = 7", "true"),
            (r#"a = "7""#, "true"),
            ("a != 7", "false"),
            (r#"s < "abd""#, "true"),
            ("a > 1 and b > 5", "false"),
            ("a > 1 or b > 5", "true"),
            ("not a > 1", "false"),
            (r#"s in ["x", "abc"]"#, "true"),
            ("a in [1, 7]", "true"),
            ("a not in [1, 7]", "false"),
            (r#"s like "b""#, "true"),
            (r#"s like /^A/"#, "false"),
            (r#"s like /(?i)^A/"#, "true"),
            (r#"s not like "z""#, "true"),
            (r#"s =~ /c$/"#, "true"),
            ("haversine(0, 0, 0, 1)", "111.19492664455873"),
        ],
    );
}

#[test]
fn datetime_functions() {
    // T0 + 123 = 2023-11-14 22:13:20.123 UTC (a Tuesday)
    eval_all(
        r#"{"ms":1700000000123}"#,
        &[
            ("@timestamp", "2023-11-14 22:13:20.123"),
            ("bin(5m)", "2023-11-14 22:10:00.000"),
            ("bin(1h)", "2023-11-14 22:00:00.000"),
            ("bin(1d)", "2023-11-14 00:00:00.000"),
            ("bin(1w)", "2023-11-13 00:00:00.000"),
            ("bin(1mo)", "2023-11-01 00:00:00.000"),
            ("bin(1q)", "2023-10-01 00:00:00.000"),
            ("bin(1y)", "2023-01-01 00:00:00.000"),
            ("bin(100ms)", "2023-11-14 22:13:20.100"),
            ("datefloor(@timestamp, 1h)", "2023-11-14 22:00:00.000"),
            ("dateceil(@timestamp, 1h)", "2023-11-14 23:00:00.000"),
            ("dateceil(@timestamp, 1mo)", "2023-12-01 00:00:00.000"),
            ("fromMillis(ms)", "2023-11-14 22:13:20.123"),
            ("toMillis(@timestamp)", "1700000000123"),
            ("toMillis(@timestamp) - @ingestionTime", "-5"),
            ("now()", "1700003600"),
            ("queryStartTime()", "0"),
            (
                r#"formatDate(@timestamp, "%Y/%m/%d %H:%M:%S.%L")"#,
                "2023/11/14 22:13:20.123",
            ),
            (r#"strftime(@timestamp, "%j")"#, "318"),
        ],
    );
}

#[test]
fn json_functions_and_access() {
    let e = evs(&[(
        T0,
        r#"{"payload":"{\"user\":{\"id\":7,\"special.key\":1},\"items\":[1,2,3]}"}"#,
    )]);
    check(
        "fields jsonParse(payload) as j | fields j.user.id as id, jsonArraySize(j.items) as n, j.items[2] as third, jsonArrayContains(j.items, 2) as has2, jsonStringify(j.user) as u | display id, n, third, has2, u",
        &e,
        &[r#"id=7; n=3; third=3; has2=true; u={"id":7,"special.key":1}; @ptr=p0"#],
    );
    check(
        "fields jsonParse(payload) as j | unnest j.items into item | display item",
        &e,
        &["item=1; @ptr=p0", "item=2; @ptr=p0", "item=3; @ptr=p0"],
    );
}
