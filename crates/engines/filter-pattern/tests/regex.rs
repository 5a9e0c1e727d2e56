//! `%regex%` patterns: standalone and inside JSON and space-delimited conditions, with AWS's
//! documented operators and restrictions.

mod common;
use common::check;
use nephoscope_filter_pattern::FilterPattern;

#[test]
fn documented_operators() {
    check(&[
        ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", true),
        ("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST", true),
        ("%AUTHORIZED%", "[INFO 200] SUCCESSFUL REQUEST", false),
        ("%ERROR%", "ERROR", true),
        ("%^ERROR%", "ERROR: x", true),
        ("%^ERROR%", "x ERROR", false),
        ("%ERROR$%", "x ERROR", true),
        ("%ERROR$%", "ERROR x", false),
        ("%colou?r%", "color", true),
        ("%colou?r%", "colour", true),
        ("%colou?r%", "colouur", false),
        ("%gray|grey%", "grey", true),
        ("%gray|grey%", "gray", true),
        ("%gray|grey%", "green", false),
        (r"%10\.10\.0\.1%", "from 10.10.0.1:443", true),
        (r"%10\.10\.0\.1%", "from 10a10b0c1", false),
        ("%10.10.0.1%", "from 10a10b0c1", true),
        ("%[a-z]%", "ABC d", true),
        ("%[a-z]%", "ABC", false),
        ("%[^0-9]%", "123", false),
        ("%ba*r%", "br", true),
        ("%ba+r%", "br", false),
        ("%ba+r%", "baaar", true),
        ("%a{3}%", "caaat", true),
        ("%a{3}%", "caat", false),
        ("%a{2,3}b%", "aab", true),
        (r"%\d{3}-\d{4}%", "call 555-0100", true),
        (r"%\w+@\w+%", "mail a@b", true),
        (r"%\s%", "a b", true),
        (r"%\s%", "ab", false),
        ("%user=[a-z]+;%", "user=bob; id=1", true),
        ("%#tag%", "a #tag", true),
        ("%/var/log%", "at /var/log/x", true),
        ("%k:v,%", "k:v,", true),
        // Case-sensitive, like every pattern.
        ("%error%", "ERROR", false),
    ]);
}

#[test]
fn inside_conditions() {
    check(&[
        (
            "{ $.eventType = %Update.*% }",
            r#"{"eventType": "UpdateTrail"}"#,
            true,
        ),
        (
            "{ $.eventType = %^Put% }",
            r#"{"eventType": "UpdateTrail"}"#,
            false,
        ),
        (
            "{ $.eventType != %^Put% }",
            r#"{"eventType": "UpdateTrail"}"#,
            true,
        ),
        (
            r"{ $.sourceIPAddress = %111\.111\.[0-9]+\.111% }",
            r#"{"sourceIPAddress": "111.111.111.111"}"#,
            true,
        ),
        ("{ $.code = %^4[0-9]{2}$% }", r#"{"code": 404}"#, true),
        ("{ $.code = %^4[0-9]{2}$% }", r#"{"code": 4040}"#, false),
        ("{ $.x = %a% }", r#"{"x": null}"#, false),
        ("{ $.x != %a% }", r#"{"x": [1]}"#, false),
        ("{ $.a = %x% || $.b = %y% }", r#"{"b": "y"}"#, true),
        (
            "[a, b = %^GET\\s/[a-z]+\\.html%, c]",
            r#"1 "GET /index.html HTTP/1.1" 3"#,
            true,
        ),
        ("[a = %]%]", "a]b", true),
        ("[a = %[,]%, b]", "x,y z", true),
        ("{ $.x = %}% }", r#"{"x": "}"}"#, true),
    ]);
}

#[test]
fn restrictions_are_errors() {
    let rows: &[(&str, usize, &str)] = &[
        ("%something!%", 10, "'!'"),
        ("%(a|b)%", 1, "parentheses"),
        ("%a)%", 2, "parentheses"),
        ("%a b%", 2, "whitespace"),
        ("%café%", 4, "multi-byte"),
        ("%a\"b%", 2, "'\"'"),
        ("%a'b%", 2, "'''"),
        ("%a&b%", 2, "'&'"),
        ("%a~%", 2, "'~'"),
        ("%%", 1, "empty regex"),
        ("%abc", 0, "unterminated"),
        ("%[a-%", 1, "invalid regex"),
        ("%a{2,1}%", 1, "invalid regex"),
        ("%*a%", 1, "invalid regex"),
        (r"%a\%", 1, "invalid regex"),
        (r"%\1%", 1, "invalid regex"),
        ("%a{100000}{100000}%", 1, "invalid regex"),
        // At most two per pattern, in every kind of pattern.
        ("%a% %b% %c%", 8, "at most 2"),
        ("{ $.a = %x% || $.b = %y% || $.c = %z% }", 34, "at most 2"),
        ("[a = %x% || a = %y%, b = %z%]", 25, "at most 2"),
        ("{ $.a = %x!% }", 10, "'!'"),
        ("{ $.x = %a&&b% }", 10, "'&'"),
        ("[a = %(x)%]", 6, "parentheses"),
    ];
    let mut failures = Vec::new();
    for &(pattern, position, needle) in rows {
        match FilterPattern::parse(pattern) {
            Ok(_) => failures.push(format!("{pattern:?}: accepted")),
            Err(e) if e.position != position || !e.message.contains(needle) => failures.push(
                format!("{pattern:?}: got {e}, want {needle:?} at {position}"),
            ),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Two regexes are fine.
    assert!(FilterPattern::parse("%a% %b%").is_ok());
    assert!(FilterPattern::parse("{ $.a = %x% || $.b = %y% }").is_ok());
}
