//! Space-delimited patterns: AWS's documented examples (Apache access log, `w1`/`w2` OR
//! examples, CDK examples) and edge cases of splitting, ellipses and conditions.

mod common;
use common::{check, check_sets};

const OK_1534: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;
const ERR_5324: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#;
const OK_4355: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#;
const NF_1534: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
const NF_SMALL: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 404 326"#;
const FORBIDDEN: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /index.html HTTP/1.0" 403 2326"#;

#[test]
fn documented_access_log_examples() {
    let all = &[OK_1534, ERR_5324, OK_4355, NF_1534, NF_SMALL, FORBIDDEN];
    check_sets(&[
        ("[ip, user, username, timestamp, request, status_code, bytes]", all, &[]),
        ("[..., status_code, bytes]", all, &["one"]),
        ("[ip, user, ..., status_code, bytes]", all, &["a b c"]),
        ("[ip, user, ...]", all, &["one"]),
        (
            "[ip, user, username, timestamp, request, status_code, bytes > 1000]",
            &[OK_1534, ERR_5324, OK_4355, NF_1534, FORBIDDEN],
            &[NF_SMALL],
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 200, bytes]",
            &[OK_1534, OK_4355],
            &[ERR_5324, NF_1534],
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 4*, bytes]",
            &[NF_1534, NF_SMALL, FORBIDDEN],
            &[OK_1534, ERR_5324],
        ),
        (
            "[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]",
            &[NF_1534, FORBIDDEN],
            &[NF_SMALL, OK_1534],
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]",
            &[NF_1534, NF_SMALL, FORBIDDEN],
            &[OK_1534, ERR_5324],
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]",
            &[NF_1534, NF_SMALL],
            &[FORBIDDEN, OK_1534],
        ),
        ("[..., request=*.html*, status_code=4*,]", &[NF_1534, FORBIDDEN], &[NF_SMALL, OK_1534]),
        (
            "[IP, UserInfo, User, Timestamp, RequestInfo, StatusCode=404, Bytes]",
            &[NF_1534, NF_SMALL],
            &[OK_1534, FORBIDDEN],
        ),
        (
            r"[ip, user, username, timestamp, request =%.*\.html%, status_code = %4[0-9]{2}%, bytes]",
            &[NF_1534, FORBIDDEN],
            &[NF_SMALL, OK_1534],
        ),
    ]);
}

#[test]
fn documented_first_word_examples() {
    let both = "ERROR WARN message";
    let error = "ERROR message";
    let warn = "WARN message";
    check_sets(&[
        // The field count must match: `ERROR WARN message` has three fields.
        ("[w1=ERROR, w2]", &[error], &[both, warn]),
        ("[w1=ERROR || w1=WARN, w2]", &[error, warn], &[both]),
        // AWS's text says this matches line 1, but line 1's first word is ERROR (and it has three
        // fields); the condition as written excludes all three lines.
        (
            "[w1!=ERROR&&w1!=WARN, w2]",
            &["INFO message"],
            &[both, error, warn],
        ),
        ("[w1=ERROR, ...]", &[both, error], &[warn]),
    ]);
}

#[test]
fn documented_cdk_example() {
    // `spaceDelimited('time', 'component', '...', 'result_code', 'latency')
    //   .whereString('component', '=', 'HttpServer').whereNumber('result_code', '!=', 200)`
    let p = "[time, component=HttpServer, ..., result_code!=200, latency]";
    check_sets(&[(
        p,
        &["12:00 HttpServer GET /x 500 12", "12:00 HttpServer 404 3"],
        &[
            "12:00 HttpServer GET /x 200 12",
            "12:00 Worker GET /x 500 12",
            "12:00 HttpServer",
        ],
    )]);
}

#[test]
fn field_splitting() {
    check(&[
        // Brackets and quotes group; their delimiters are not part of the value.
        (r#"[a, b = "x y", c]"#, r#"1 "x y" 3"#, true),
        ("[a, b = \"x y\", c]", "1 [x y] 3", true),
        ("[a, b = x, c]", "1 [x] 3", true),
        ("[a, b, c]", "[x][y] z", true),
        ("[a, b]", "[x][y] z", false),
        (r#"[a, b = *GET*]"#, r#"1 "GET /a \"q\" HTTP/1.0""#, true),
        // Unclosed delimiters are ordinary characters.
        ("[a, b]", "[open ended", true),
        ("[a = \"[open\", b]", "[open ended", true),
        // Runs of whitespace (spaces, tabs, newlines) separate fields.
        ("[a, b, c]", "  x \t y\n z  ", true),
        // Empty grouped fields still count.
        ("[a, b = \"\", c]", "x \"\" z", true),
        ("[a, b, c]", "x [] z", true),
        // No fields.
        ("[...]", "", true),
        ("[...]", "   ", true),
        ("[a]", "", false),
        ("[a]", "one", true),
        ("[a]", "one two", false),
    ]);
}

#[test]
fn ellipses() {
    check(&[
        ("[..., code = 404, ...]", "a 404 b", true),
        ("[..., code = 404, ...]", "404", true),
        ("[..., code = 404, ...]", "a 500 b", false),
        ("[first, ..., code = 404, ..., last]", "x y 404 z w", true),
        ("[first, ..., code = 404, ..., last]", "x 404", false),
        ("[first, ..., code = 404, ..., last]", "x 404 y", true),
        ("[..., a = 1, b = 2, ...]", "0 1 3 1 2 9", true),
        ("[..., a = 1, b = 2, ...]", "0 1 3 2 1", false),
        ("[..., ...]", "", true),
        ("[..., x, ...]", "", false),
        ("[ip, ..., bytes > 1000]", "1.2.3.4 2000", true),
        ("[ip, ..., bytes > 1000]", "1.2.3.4", false),
        ("[..., bytes > 1000]", "a b c 999", false),
        ("[a, b, ...]", "x y", true),
        ("[a, b, ...]", "x", false),
    ]);
}

#[test]
fn field_conditions() {
    check(&[
        // Numeric conditions need numeric fields.
        ("[a > 5]", "6", true),
        ("[a > 5]", "five", false),
        ("[a < 5]", "-1e3", true),
        ("[a >= 5.5]", "5.5", true),
        ("[a <= 5.5]", "5.50001", false),
        ("[a = 200]", "200.0", true),
        ("[a = 200]", "0200", true),
        ("[a != 200]", "abc", true),
        ("[a != 200]", "200", false),
        // Strings and wildcards.
        ("[a = frank]", "frank", true),
        ("[a = frank]", "Frank", false),
        ("[a = fr*]", "frank", true),
        ("[a = *nk]", "frank", true),
        ("[a = f*k]", "frank", false),
        ("[a != *ank]", "frank", false),
        ("[a = -]", "-", true),
        ("[a = *]", "anything", true),
        // Regex.
        ("[a = %^fr%]", "frank", true),
        ("[a != %^fr%]", "frank", false),
        ("[a = %[0-9]+%]", "abc123", true),
        // Combinations and grouping within one field.
        ("[a = 1 || a = 2 || a = 3]", "3", true),
        ("[a > 1 && a < 3]", "2", true),
        ("[a > 1 && a < 3]", "3", false),
        ("[(a = 1 || a = 2) && a != 2]", "1", true),
        ("[(a = 1 || a = 2) && a != 2]", "2", false),
        ("[a = x || a = y && a = z]", "x", true),
        ("[a=1,b=2]", "1 2", true),
        ("[ a = 1 , b = 2 ]", "1 2", true),
        // Unnamed fields.
        ("[,]", "a b", true),
        ("[, x = 1, ]", "a 1 b", true),
        ("[, x = 1, ]", "a 2 b", false),
    ]);
}
