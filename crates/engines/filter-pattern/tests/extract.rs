//! `extract`: values for metric filters' `metricValue`/dimensions and TestMetricFilter's
//! `extractedValues`, and `required_terms` for the log store's pruning.

use nephoscope_filter_pattern::FilterPattern;

/// `(pattern, message, Some(expected pairs) | None for no match)`.
type ExtractRow<'a> = (&'a str, &'a str, Option<&'a [(&'a str, &'a str)]>);

fn check_extract(rows: &[ExtractRow<'_>]) {
    let mut failures = Vec::new();
    for &(pattern, message, expected) in rows {
        let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
        let got = p.extract(message);
        let want = expected.map(|pairs| {
            pairs
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect()
        });
        if got != want {
            failures.push(format!(
                "{pattern:?} on {message:?}:\n  got  {got:?}\n  want {want:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn delimited_fields() {
    let nf = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /products/index.html HTTP/1.0" 404 1534"#;
    check_extract(&[
        // AWS's documented TestMetricFilter example, key for key.
        (
            "[..., request=*.html*, status_code=4*,]",
            nf,
            Some(&[
                ("$status_code", "404"),
                ("$request", "GET /products/index.html HTTP/1.0"),
                ("$7", "1534"),
                ("$4", "10/Oct/2000:13:25:15 -0700"),
                ("$3", "frank"),
                ("$2", "-"),
                ("$1", "127.0.0.1"),
            ]),
        ),
        (
            "[ip, user, username, timestamp, request, status_code, bytes]",
            nf,
            Some(&[
                ("$ip", "127.0.0.1"),
                ("$user", "-"),
                ("$username", "frank"),
                ("$timestamp", "10/Oct/2000:13:25:15 -0700"),
                ("$request", "GET /products/index.html HTTP/1.0"),
                ("$status_code", "404"),
                ("$bytes", "1534"),
            ]),
        ),
        ("[ip, ..., status_code = 5*, bytes]", nf, None),
        (
            "[ip, user, ...]",
            "a b c d",
            Some(&[("$ip", "a"), ("$user", "b"), ("$3", "c"), ("$4", "d")]),
        ),
        (
            "[w1, w2]",
            "ERROR message",
            Some(&[("$w1", "ERROR"), ("$w2", "message")]),
        ),
        // With several `...`, the leftmost alignment.
        (
            "[..., code = 404, ...]",
            "a 404 b 404",
            Some(&[("$1", "a"), ("$code", "404"), ("$3", "b"), ("$4", "404")]),
        ),
        (
            "[, x, ]",
            "a b c",
            Some(&[("$1", "a"), ("$x", "b"), ("$3", "c")]),
        ),
        ("[...]", "", Some(&[])),
    ]);
}

#[test]
fn json_selectors() {
    check_extract(&[
        (
            "{ $.latency = * }",
            r#"{"latency": 12.50}"#,
            Some(&[("$.latency", "12.50")]),
        ),
        (
            r#"{ $.a.b = "x" && ($.c > 5 || $.d IS NULL) }"#,
            r#"{"a": {"b": "x"}, "c": 7, "d": null}"#,
            Some(&[("$.a.b", "x"), ("$.c", "7")]),
        ),
        (
            "{ $.a = 1 || $.b = 2 }",
            r#"{"b": 2}"#,
            Some(&[("$.b", "2")]),
        ),
        (
            "{ $.flag IS TRUE && $.s = *x* && $.arr[1][0] >= 0 }",
            r#"{"flag": true, "s": "a\"x\"", "arr": [[9], [0]]}"#,
            Some(&[("$.flag", "true"), ("$.s", "a\"x\""), ("$.arr[1][0]", "0")]),
        ),
        // Selectors are reported in canonical form.
        (
            "{ $.a[01] = 1 }",
            r#"{"a": [0, 1]}"#,
            Some(&[("$.a[1]", "1")]),
        ),
        ("{ $.o NOT EXISTS || $.o = 1 }", r#"{"o": {"k": 1}}"#, None),
        ("{ $.m NOT EXISTS }", r#"{"n": 1}"#, Some(&[])),
        ("{ $.a = 1 }", r#"{"a": 2}"#, None),
        ("{ $.a = 1 }", "not json", None),
    ]);
}

#[test]
fn term_patterns() {
    check_extract(&[
        ("ERROR", "ERROR x", Some(&[])),
        ("ERROR", "INFO x", None),
        ("", "anything", Some(&[])),
    ]);
}

#[test]
fn required_terms() {
    let rows: &[(&str, &[&str])] = &[
        ("ERROR", &["ERROR"]),
        ("ERROR ARGUMENTS", &["ERROR", "ARGUMENTS"]),
        ("\"INTERNAL SERVER ERROR\"", &["INTERNAL SERVER ERROR"]),
        ("ERROR ERROR", &["ERROR"]),
        ("ERROR -DEBUG", &["ERROR"]),
        ("?ERROR", &["ERROR"]),
        ("?ERROR ?WARN", &[]),
        ("?ERROR ?WARN REQUEST", &["REQUEST"]),
        ("?ERROR ?\" \"", &[]),
        ("-DEBUG", &[]),
        ("%ERR%", &[]),
        ("ERROR %4[0-9]+%", &["ERROR"]),
        ("\" \"", &[]),
        ("", &[]),
        // JSON strings may escape any character, so nothing is guaranteed to appear verbatim.
        ("{ $.level = ERROR }", &[]),
        ("[w1=ERROR, w2]", &["ERROR"]),
        ("[w1=ERROR || w1=WARN, w2]", &[]),
        ("[a, b = *html*, c = 4*]", &["html", "4"]),
        ("[a = *]", &[]),
        ("[a = 200]", &[]),
        ("[a != x]", &[]),
        ("[a = \"x y\" && a != z]", &["x y"]),
        ("[a = %re%]", &[]),
        ("[(a = x || a = y) && a = *y]", &["y"]),
    ];
    let mut failures = Vec::new();
    for &(pattern, want) in rows {
        let got = FilterPattern::parse(pattern).unwrap().required_terms();
        if got != want {
            failures.push(format!("{pattern:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn matches_all() {
    for p in ["", "   ", "\" \"", "\"\"", "\t\"  \" \"\"", "?x ?\"\""] {
        assert!(FilterPattern::parse(p).unwrap().matches_all(), "{p:?}");
    }
    for p in ["x", "-x", "?x", "%.%", "{ $.a = * }", "[...]", "x \" \""] {
        assert!(!FilterPattern::parse(p).unwrap().matches_all(), "{p:?}");
    }
}
