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
            // From January the next month is February (30-day probes used to skip it).
            (
                "dateceil(fromMillis(1705276800000), 1mo)",
                "2024-02-01 00:00:00.000",
            ),
            (
                "dateceil(fromMillis(1705276800000), 1q)",
                "2024-04-01 00:00:00.000",
            ),
            (
                "dateceil(fromMillis(1705276800000), 1y)",
                "2025-01-01 00:00:00.000",
            ),
            ("dateceil(@timestamp, 1w)", "2023-11-20 00:00:00.000"),
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

#[test]
fn hash_functions() {
    eval_all(
        r#"{"s":"hello","n":42,"ns":"42","f":3.5,"e":"","u":"héllo","arr":[1,2]}"#,
        &[
            ("md5(s)", "5d41402abc4b2a76b9719d911017c592"),
            (r#"md5("hello")"#, "5d41402abc4b2a76b9719d911017c592"),
            (
                "sha256(s)",
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            ),
            (
                r#"SHA256("hello")"#,
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            ),
            // numbers hash their rendered text, the same as the equal string
            ("md5(n)", "a1d0c6e83f027327d8461063f4ac58a6"),
            ("md5(ns)", "a1d0c6e83f027327d8461063f4ac58a6"),
            ("md5(f)", "804066a6a5042090a2a0b25c55f38e72"),
            (
                "sha256(n)",
                "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049",
            ),
            ("md5(e)", "d41d8cd98f00b204e9800998ecf8427e"),
            (
                "sha256(e)",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            // UTF-8 bytes
            ("md5(u)", "be50e8478cf24ff3595bc7307fb91b50"),
            (
                "sha256(u)",
                "3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179",
            ),
            // a timestamp hashes as it renders
            ("md5(@timestamp)", "90b9aecc7a02241a89efc12365475cf2"),
            ("md5(missing)", "<null>"),
            ("sha256(missing)", "<null>"),
            ("strlen(sha256(s))", "64"),
        ],
    );
}

#[test]
fn format_date_directives() {
    // T0 + 123 = 2023-11-14 22:13:20.123 UTC (a Tuesday); feb = 2023-02-01 00:05:07 UTC (a
    // Wednesday); y2021 = 2021-01-01 UTC (a Friday, ISO week 53 of 2020).
    eval_all(
        r#"{"ms":1700000000123,"sms":"1700000000123","feb":1675209907000,"y2021":1609459200000,"bad":"%Q","nul":null}"#,
        &[
            (
                r#"formatDate(@timestamp, "%a %A %b %B %h")"#,
                "Tue Tuesday Nov November Nov",
            ),
            (
                r#"formatDate(@timestamp, "%C %y %G %g %V %U %W %u %w %j")"#,
                "20 23 2023 23 46 46 46 2 2 318",
            ),
            (
                r#"formatDate(@timestamp, "%I %l %p %P %k|%H:%M:%S.%L|%f")"#,
                "10 10 PM pm 22|22:13:20.123|123",
            ),
            (
                r#"formatDate(@timestamp, "%T|%R|%D|%F|%x|%X")"#,
                "22:13:20|22:13|11/14/23|2023-11-14|11/14/23|22:13:20",
            ),
            (
                r#"formatDate(@timestamp, "%c")"#,
                "Tue Nov 14 22:13:20 2023",
            ),
            (
                r#"formatDate(@timestamp, "%s %z %:z %Z")"#,
                "1700000000 +0000 +00:00 UTC",
            ),
            (r#"formatDate(@timestamp, "100%% %n%t.")"#, "100% \n\t."),
            (r#"formatDate(@timestamp, "")"#, ""),
            (r#"strftime(@timestamp, "no directives")"#, "no directives"),
            (
                r#"formatDate(feb, "%e|%-d|%-m|%I|%l|%p|%k|%-H|%j|%U %W %V")"#,
                " 1|1|2|12|12|AM| 0|0|032|05 05 05",
            ),
            (r#"formatDate(feb, "%c")"#, "Wed Feb  1 00:05:07 2023"),
            (
                r#"formatDate(y2021, "%G-W%V-%u %g %U %W %a")"#,
                "2020-W53-5 20 00 00 Fri",
            ),
            // the timestamp may be epoch milliseconds: a number, a numeric string, a literal
            (r#"formatDate(ms, "%F %T.%L")"#, "2023-11-14 22:13:20.123"),
            (r#"formatDate(sms, "%F %T.%L")"#, "2023-11-14 22:13:20.123"),
            (r#"formatDate(0, "%F %T")"#, "1970-01-01 00:00:00"),
            (
                r#"formatDate(-1, "%F %T.%L %s")"#,
                "1969-12-31 23:59:59.999 -1",
            ),
            (r#"formatDate(fromMillis(ms), "%Y")"#, "2023"),
            // nulls: no timestamp, a format known only at run time with an unknown directive,
            // a timestamp out of range
            (r#"formatDate(missing, "%Y")"#, "<null>"),
            (r#"formatDate(nul, "%Y")"#, "<null>"),
            (r#"formatDate("abc", "%Y")"#, "<null>"),
            ("formatDate(@timestamp, bad)", "<null>"),
            ("formatDate(@timestamp, missing)", "<null>"),
            (r#"formatDate(1e18, "%Y")"#, "<null>"),
        ],
    );
}

#[test]
fn format_date_time_zones() {
    // summer = 2023-07-10 14:40:00 UTC (daylight saving time in New York and Paris)
    eval_all(
        r#"{"summer":1689000000000,"ny":"America/New_York","mars":"Mars/Olympus"}"#,
        &[
            (
                r#"formatDate(@timestamp, "%F %T %Z %z", "UTC")"#,
                "2023-11-14 22:13:20 UTC +0000",
            ),
            (
                r#"formatDate(@timestamp, "%F %T %Z %z", "America/New_York")"#,
                "2023-11-14 17:13:20 EST -0500",
            ),
            (
                r#"formatDate(summer, "%F %T %Z %z", "America/New_York")"#,
                "2023-07-10 10:40:00 EDT -0400",
            ),
            (
                r#"formatDate(@timestamp, "%F %T %Z %:z", "Europe/Paris")"#,
                "2023-11-14 23:13:20 CET +01:00",
            ),
            (
                r#"formatDate(summer, "%F %T %Z %:z", "Europe/Paris")"#,
                "2023-07-10 16:40:00 CEST +02:00",
            ),
            // names in any case; the zone may come from a field
            (
                r#"formatDate(@timestamp, "%H %Z", "america/new_york")"#,
                "17 EST",
            ),
            (r#"formatDate(@timestamp, "%H %Z", ny)"#, "17 EST"),
            (r#"strftime(@timestamp, "%H %Z", ny)"#, "17 EST"),
            // fixed offsets (the abbreviation of a fixed offset is the offset)
            (
                r#"formatDate(@timestamp, "%F %T %z %:z", "+05:30")"#,
                "2023-11-15 03:43:20 +0530 +05:30",
            ),
            (
                r#"formatDate(@timestamp, "%H:%M %z", "-0800")"#,
                "14:13 -0800",
            ),
            (r#"formatDate(@timestamp, "%H:%M %z", "+2")"#, "00:13 +0200"),
            (
                r#"formatDate(@timestamp, "%H:%M %z", "UTC+2")"#,
                "00:13 +0200",
            ),
            (
                r#"formatDate(@timestamp, "%H:%M %z", "GMT-08:00")"#,
                "14:13 -0800",
            ),
            (
                r#"formatDate(@timestamp, "%H:%M %z", "+18:00")"#,
                "16:13 +1800",
            ),
            (r#"formatDate(@timestamp, "%Z", "+05:30")"#, "+05:30"),
            (
                r#"formatDate(@timestamp, "%Z %z", "Asia/Kolkata")"#,
                "IST +0530",
            ),
            // IANA's Etc/GMT+2 is two hours *behind* UTC
            (
                r#"formatDate(@timestamp, "%H:%M %z", "Etc/GMT+2")"#,
                "20:13 -0200",
            ),
            (r#"formatDate(@timestamp, "%H %Z", "utc")"#, "22 UTC"),
            (r#"formatDate(@timestamp, "%H %Z", "Z")"#, "22 UTC"),
            (r#"formatDate(@timestamp, "%H %z", "GMT")"#, "22 +0000"),
            // a zone known only at run time that names no zone, or null, gives null
            (r#"formatDate(@timestamp, "%H", mars)"#, "<null>"),
            (r#"formatDate(@timestamp, "%H", missing)"#, "<null>"),
        ],
    );
}

#[test]
fn parse_date_patterns() {
    // 1699920000000 = 2023-11-14 00:00 UTC; 1700000000123 = 2023-11-14 22:13:20.123 UTC
    eval_all(
        r#"{"d":"2023-11-14","iso":"2023-11-14T22:13:20.123Z","pf":"yyyy-QQ","ny":"America/New_York","mars":"Mars/Olympus"}"#,
        &[
            (r#"parseDate("2023-11-14", "yyyy-MM-dd")"#, "1699920000000"),
            (r#"parseDate(d, "yyyy-MM-dd", "UTC")"#, "1699920000000"),
            (r#"parseDate(d, "uuuu-MM-dd")"#, "1699920000000"),
            (
                r#"parseDate("2023-11-14 22:13:20.123", "yyyy-MM-dd HH:mm:ss.SSS")"#,
                "1700000000123",
            ),
            // the fraction is kept to the millisecond (floored)
            (
                r#"parseDate("2023-11-14 22:13:20.123999", "yyyy-MM-dd HH:mm:ss.SSSSSS")"#,
                "1700000000123",
            ),
            (
                r#"parseDate("2023-11-14 22:13:20.1", "yyyy-MM-dd HH:mm:ss.S")"#,
                "1700000000100",
            ),
            (
                r#"parseDate("1969-12-31 23:59:59.5", "yyyy-MM-dd HH:mm:ss.S")"#,
                "-500",
            ),
            // offsets in the text
            (
                r#"parseDate(iso, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX")"#,
                "1700000000123",
            ),
            (
                r#"parseDate("2023-11-14T22:13:20.123+05:30", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX")"#,
                "1699980200123",
            ),
            (
                r#"parseDate("2023-11-14T22:13:20.123+0530", "yyyy-MM-dd'T'HH:mm:ss.SSSxx")"#,
                "1699980200123",
            ),
            (
                r#"parseDate("2023-11-14T22:13:20.123+05", "yyyy-MM-dd'T'HH:mm:ss.SSSX")"#,
                "1699982000123",
            ),
            (
                r#"parseDate("2023-11-14T22:13:20.123+0530", "yyyy-MM-dd'T'HH:mm:ss.SSSX")"#,
                "1699980200123",
            ),
            (
                r#"parseDate("2023-11-14 22:13:20.123 -0800", "yyyy-MM-dd HH:mm:ss.SSS Z")"#,
                "1700028800123",
            ),
            // 'Z' is an offset for X, not for x or Z
            (
                r#"parseDate(iso, "yyyy-MM-dd'T'HH:mm:ss.SSSxxx")"#,
                "<null>",
            ),
            (
                r#"parseDate("2023-11-14T22:13:20+05:30", "yyyy-MM-dd'T'HH:mm:ssXX")"#,
                "<null>",
            ),
            // an offset in the text wins over the timezone argument
            (
                r#"parseDate(iso, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "America/New_York")"#,
                "1700000000123",
            ),
            // zone ids in the text
            (
                r#"parseDate("2023-11-14 12:00:00 America/New_York", "yyyy-MM-dd HH:mm:ss VV")"#,
                "1699981200000",
            ),
            (
                r#"parseDate("2023-11-14 22:13:20 UTC", "yyyy-MM-dd HH:mm:ss VV", "Europe/Paris")"#,
                "1700000000000",
            ),
            (
                r#"parseDate("2023-11-14T12:00:00[America/New_York]", "yyyy-MM-dd'T'HH:mm:ss'['VV']'")"#,
                "1699981200000",
            ),
            (
                r#"parseDate("2023-11-14 12:00:00 -05:00", "yyyy-MM-dd HH:mm:ss VV")"#,
                "1699981200000",
            ),
            (
                r#"parseDate("2023-11-14 Mars/Olympus", "yyyy-MM-dd VV")"#,
                "<null>",
            ),
            // names (English, any case) and the day of the week must agree with the date
            (
                r#"parseDate("14 Nov 2023", "dd MMM yyyy")"#,
                "1699920000000",
            ),
            (
                r#"parseDate("14 nov 2023", "dd MMM yyyy")"#,
                "1699920000000",
            ),
            (
                r#"parseDate("Tuesday, 14 November 2023", "EEEE, dd MMMM yyyy")"#,
                "1699920000000",
            ),
            (
                r#"parseDate("Tue, 14 Nov 2023 22:13:20 +0000", "EEE, dd MMM yyyy HH:mm:ss Z")"#,
                "1700000000000",
            ),
            (
                r#"parseDate("Wed, 14 Nov 2023", "EEE, dd MMM yyyy")"#,
                "<null>",
            ),
            (r#"parseDate("14 November 2023", "dd MMM yyyy")"#, "<null>"),
            // 12-hour clock
            (
                r#"parseDate("11/14/2023 10:13:20 PM", "MM/dd/yyyy hh:mm:ss a")"#,
                "1700000000000",
            ),
            (
                r#"parseDate("2023-11-14 12:00 AM", "yyyy-MM-dd hh:mm a")"#,
                "1699920000000",
            ),
            (
                r#"parseDate("2023-11-14 12:00 pm", "yyyy-MM-dd h:mm a")"#,
                "1699963200000",
            ),
            (
                r#"parseDate("2023-11-14 0:00 PM", "yyyy-MM-dd K:mm a")"#,
                "1699963200000",
            ),
            (
                r#"parseDate("2023-11-14 24:00", "yyyy-MM-dd kk:mm")"#,
                "1699920000000",
            ),
            (
                r#"parseDate("2023-11-14 24:00", "yyyy-MM-dd HH:mm")"#,
                "<null>",
            ),
            // widths: two-digit years are 2000-2099; single letters take 1-2 digits; a
            // variable-width year leaves the fixed-width fields after it their digits
            (r#"parseDate("14/11/23", "dd/MM/yy")"#, "1699920000000"),
            (r#"parseDate("2023-1-5", "yyyy-M-d")"#, "1672876800000"),
            (r#"parseDate("2023-01-05", "yyyy-M-d")"#, "1672876800000"),
            (r#"parseDate("2023-1-05", "yyyy-MM-dd")"#, "<null>"),
            (
                r#"parseDate("20231114221320", "yyyyMMddHHmmss")"#,
                "1700000000000",
            ),
            (r#"parseDate("2023-318", "yyyy-DDD")"#, "1699920000000"),
            (
                r#"parseDate("2023-318-11", "yyyy-DDD-MM")"#,
                "1699920000000",
            ),
            (r#"parseDate("2023-317-10", "yyyy-DDD-MM")"#, "<null>"),
            // literals, quotes, optional sections
            (
                r#"parseDate("2023-11-14T22 o'clock", "yyyy-MM-dd'T'HH 'o''clock'")"#,
                "1699999200000",
            ),
            (r#"parseDate(d, "yyyy-MM-dd[ HH:mm]")"#, "1699920000000"),
            (
                r#"parseDate("2023-11-14 22:13", "yyyy-MM-dd[ HH:mm]")"#,
                "1699999980000",
            ),
            (
                r#"parseDate("2023-11-14 22:13", "yyyy-MM-dd[ HH:mm[:ss]]")"#,
                "1699999980000",
            ),
            // missing fields: month and day default to 1, the time to midnight; no year → null
            (r#"parseDate("2023-11", "yyyy-MM")"#, "1698796800000"),
            (r#"parseDate("2023", "yyyy")"#, "1672531200000"),
            (r#"parseDate("11-14", "MM-dd")"#, "<null>"),
            // a day past the month's end is its last day, as Java's SMART resolver does
            (r#"parseDate("2023-02-30", "yyyy-MM-dd")"#, "1677542400000"),
            (r#"parseDate("2024-02-30", "yyyy-MM-dd")"#, "1709164800000"),
            (r#"parseDate("2023-02-32", "yyyy-MM-dd")"#, "<null>"),
            (r#"parseDate("2023-13-01", "yyyy-MM-dd")"#, "<null>"),
            (
                r#"parseDate("2023-11-14 23:60", "yyyy-MM-dd HH:mm")"#,
                "<null>",
            ),
            // the pattern must match all of the text
            (r#"parseDate("2023-11-14x", "yyyy-MM-dd")"#, "<null>"),
            (r#"parseDate(" 2023-11-14", "yyyy-MM-dd")"#, "<null>"),
            (r#"parseDate(d, "yyyy-MM-dd HH:mm")"#, "<null>"),
            (r#"parseDate("2023/11/14", "yyyy-MM-dd")"#, "<null>"),
            (r#"parseDate("", "yyyy-MM-dd")"#, "<null>"),
            // nulls: no text, a pattern or zone known only at run time that is bad
            (r#"parseDate(missing, "yyyy-MM-dd")"#, "<null>"),
            ("parseDate(d, pf)", "<null>"),
            ("parseDate(d, missing)", "<null>"),
            (r#"parseDate(d, "yyyy-MM-dd", mars)"#, "<null>"),
            (r#"parseDate(d, "yyyy-MM-dd", missing)"#, "<null>"),
            (r#"parseDate(d, "yyyy-MM-dd", ny)"#, "1699938000000"),
        ],
    );
}

#[test]
fn parse_date_time_zones() {
    eval_all(
        "{}",
        &[
            // New York: EST (-5) in November, EDT (-4) in July
            (
                r#"parseDate("2023-11-14T12:00:00", "yyyy-MM-dd'T'HH:mm:ss", "America/New_York")"#,
                "1699981200000",
            ),
            (
                r#"parseDate("2023-07-10T12:00:00", "yyyy-MM-dd'T'HH:mm:ss", "America/New_York")"#,
                "1689004800000",
            ),
            // 02:30 on 2024-03-10 does not exist in New York: shifted forward by the gap (03:30 EDT)
            (
                r#"parseDate("2024-03-10 02:30", "yyyy-MM-dd HH:mm", "America/New_York")"#,
                "1710055800000",
            ),
            // 01:30 on 2024-11-03 happens twice: the earlier (EDT)
            (
                r#"parseDate("2024-11-03 01:30", "yyyy-MM-dd HH:mm", "America/New_York")"#,
                "1730611800000",
            ),
            (
                r#"parseDate("2023-11-14 23:13:20", "yyyy-MM-dd HH:mm:ss", "Europe/Paris")"#,
                "1700000000000",
            ),
            (
                r#"parseDate("2023-11-15 03:43:20", "yyyy-MM-dd HH:mm:ss", "+05:30")"#,
                "1700000000000",
            ),
            (
                r#"parseDate("2023-11-15 00:13:20", "yyyy-MM-dd HH:mm:ss", "UTC+2")"#,
                "1700000000000",
            ),
        ],
    );
}

#[test]
fn date_round_trips() {
    // summer = 2023-07-10 14:40:00.456 UTC
    eval_all(
        r#"{"summer":1689000000456}"#,
        &[
            (
                r#"parseDate(formatDate(@timestamp, "%Y-%m-%dT%H:%M:%S.%L%z", "America/New_York"), "yyyy-MM-dd'T'HH:mm:ss.SSSxx")"#,
                "1700000000123",
            ),
            (
                r#"parseDate(formatDate(@timestamp, "%F %T.%L", "Europe/Paris"), "yyyy-MM-dd HH:mm:ss.SSS", "Europe/Paris")"#,
                "1700000000123",
            ),
            (
                r#"parseDate(formatDate(summer, "%F %T.%L", "America/New_York"), "yyyy-MM-dd HH:mm:ss.SSS", "America/New_York")"#,
                "1689000000456",
            ),
            (
                r#"parseDate(formatDate(summer, "%a, %d %b %Y %I:%M:%S.%L %p %:z", "+05:30"), "EEE, dd MMM yyyy hh:mm:ss.SSS a XXX")"#,
                "1689000000456",
            ),
            (
                r#"parseDate(formatDate(summer, "%A %B %d %Y %T.%L", "Asia/Tokyo"), "EEEE MMMM dd yyyy HH:mm:ss.SSS", "Asia/Tokyo")"#,
                "1689000000456",
            ),
            (
                r#"formatDate(parseDate("2023-11-14 17:13:20", "yyyy-MM-dd HH:mm:ss", "America/New_York"), "%F %T")"#,
                "2023-11-14 22:13:20",
            ),
            (
                r#"formatDate(parseDate("2023-11-14", "yyyy-MM-dd", "America/New_York"), "%F %T %Z", "America/New_York")"#,
                "2023-11-14 00:00:00 EST",
            ),
        ],
    );
}
