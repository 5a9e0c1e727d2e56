//! Malformed and unsupported patterns: each is rejected with the byte offset of the problem and
//! a message saying what was wrong — never accepted as match-all.

use nephoscope_filter_pattern::FilterPattern;

/// `(pattern, position, fragment of the message)`.
fn check_errors(rows: &[(&str, usize, &str)]) {
    let mut failures = Vec::new();
    for &(pattern, position, needle) in rows {
        match FilterPattern::parse(pattern) {
            Ok(p) => failures.push(format!("{pattern:?}: accepted as {p:?}")),
            Err(e) => {
                if e.position != position || !e.message.contains(needle) {
                    failures.push(format!(
                        "{pattern:?}: got {e:?}; want {needle:?} at {position}"
                    ));
                }
                if e.to_string() != format!("{} at position {}", e.message, e.position) {
                    failures.push(format!("{pattern:?}: Display is {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn term_patterns() {
    check_errors(&[
        ("ERROR:", 5, "character ':'"),
        ("user-id", 4, "double quotes"),
        ("a.b", 1, "'.'"),
        ("ERROR 4*", 7, "'*'"),
        ("path/to", 4, "'/'"),
        ("ERROR }", 6, "'}'"),
        ("x{", 1, "'{'"),
        ("x[", 1, "'['"),
        ("a?b", 1, "'?'"),
        ("a\"b\"", 1, "quote"),
        ("\"unterminated", 0, "unterminated"),
        ("ok \"unterminated", 3, "unterminated"),
        ("\"abc\"def", 5, "whitespace"),
        ("%a%b", 3, "whitespace"),
        ("?", 0, "expected a term"),
        ("-", 0, "expected a term"),
        ("ERROR -", 6, "expected a term"),
        ("ERROR ?  ", 6, "expected a term"),
        ("?-x", 1, "at most one"),
        ("--x", 1, "at most one"),
        ("-?x", 1, "at most one"),
        ("-\" \"", 1, "exclude every event"),
        ("x -\"\"", 3, "exclude every event"),
    ]);
}

#[test]
fn json_patterns() {
    check_errors(&[
        ("{}", 1, "empty JSON pattern"),
        ("  { }", 4, "empty JSON pattern"),
        ("{", 1, "expected a condition"),
        ("{ $.a = 1", 9, "missing closing '}'"),
        ("{ $.a = 1 } x", 12, "after the closing '}'"),
        ("{ $.a = 1 }}", 11, "after the closing '}'"),
        ("{ $.a }", 6, "expected an operator"),
        ("{ $.a = }", 8, "expected a value"),
        ("{ $.a = 1 2 }", 10, "expected '&&', '||' or '}'"),
        ("{ $.a = hello world }", 14, "expected '&&', '||' or '}'"),
        ("{ $.a > abc }", 8, "needs a number"),
        ("{ $.a >= 4* }", 9, "needs a number"),
        ("{ $.a > \"5\" }", 8, "unquoted number"),
        ("{ $.a < %x% }", 8, "unquoted number"),
        ("{ $.a EXISTS }", 6, "EXISTS is not supported"),
        ("{ $.a IS NOT NULL }", 9, "IS NOT"),
        ("{ $.a IS MAYBE }", 9, "NULL, TRUE or FALSE"),
        ("{ $.a IS }", 9, "NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", 10, "EXISTS after NOT"),
        ("{ a = 1 }", 2, "expected a selector"),
        ("{ \"a\" = 1 }", 2, "expected a selector"),
        ("{ $a = 1 }", 2, "must start with '$.'"),
        ("{ $ = 1 }", 2, "must start with '$.'"),
        ("{ $. = 1 }", 4, "property name"),
        ("{ $[0] = 1 }", 3, "must start with '$.'"),
        ("{ $.a[x] = 1 }", 5, "array index"),
        ("{ $.a[-1] = 1 }", 5, "array index"),
        ("{ $.a[99999999999999999999999] = 1 }", 5, "array index"),
        ("{ $.a. = 1 }", 6, "property name"),
        ("{ $.a* = 1 }", 5, "unexpected character in selector"),
        ("{ $.a:b = 1 }", 5, "unexpected character in selector"),
        ("{ $.a@b = 1 }", 5, "unexpected character '@'"),
        ("{ $.a = 1 && }", 13, "expected a condition"),
        ("{ $.a = 1 || || $.b = 1 }", 13, "expected a selector"),
        ("{ && $.a = 1 }", 2, "expected a selector"),
        ("{ ($.a = 1 }", 11, "expected ')'"),
        ("{ $.a = 1 ) }", 10, "expected '&&', '||' or '}'"),
        ("{ () }", 3, "expected a selector"),
        ("{ $.a = @x }", 8, "unexpected character '@'"),
        ("{ $.a = é }", 8, "unexpected character 'é'"),
        ("{ $.a = 1 & $.b = 2 }", 10, "expected '&&'"),
        ("{ $.a = 1 | $.b = 2 }", 10, "expected '||'"),
        ("{ $.a == 1 }", 6, "'=='"),
        ("{ $.a ! 1 }", 6, "expected '!='"),
        ("{ $.a = \"x }", 8, "unterminated quoted string"),
        ("{ $.a = 1, $.b = 2 }", 9, "expected '&&', '||' or '}'"),
        ("{ $.a = [1] }", 8, "expected a value"),
        ("{ { $.a = 1 } }", 2, "expected a selector"),
    ]);
}

#[test]
fn delimited_patterns() {
    check_errors(&[
        ("[]", 1, "empty space-delimited pattern"),
        ("[", 1, "missing closing ']'"),
        ("[a, b", 5, "missing closing ']'"),
        ("[a,", 3, "missing closing ']'"),
        ("[a b]", 3, "or ',' before the next field"),
        ("[a] x", 4, "after the closing ']'"),
        ("[a]]", 3, "after the closing ']'"),
        // A condition tests only its own field (AWS's `status_code = 4* && bytes > 1000` example
        // names two fields in one position).
        ("[a = 1 && b = 2]", 10, "only test its own field 'a'"),
        (
            "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]",
            61,
            "not 'bytes'",
        ),
        ("[1a]", 1, "invalid field name"),
        ("[a-b]", 1, "invalid field name"),
        ("[a.b = 1]", 1, "invalid field name"),
        ("[a, a]", 4, "duplicate field name 'a'"),
        ("[a = 1, a = 2]", 8, "duplicate field name 'a'"),
        ("[..., ... = 1]", 10, "stands alone"),
        ("[... x]", 5, "stands alone"),
        ("[a = ]", 5, "expected a value"),
        ("[a > x]", 5, "needs a number"),
        ("[= 1]", 1, "expected a field name before the operator"),
        (
            "[a = 1 || = 2]",
            10,
            "expected a field name before the operator",
        ),
        ("[a 1]", 3, "expected an operator"),
        ("[a = 1 b]", 7, "expected '&&', '||', ',' or ']'"),
        ("[(a = 1]", 7, "expected ')'"),
        ("[a = \"x]", 5, "unterminated quoted string"),
        ("[$.a = 1]", 1, "expected a field name"),
        ("[a = {x}]", 5, "expected a value"),
        ("[a, [b]]", 4, "expected a field name"),
        ("[a = x y]", 7, "expected '&&', '||', ',' or ']'"),
        ("[a, ( )]", 6, "expected a field name"),
        ("[a = 1 &&]", 9, "expected a field name"),
    ]);
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(100), ")".repeat(100));
    let e = FilterPattern::parse(&deep).unwrap_err();
    assert!(e.message.contains("nested too deeply"), "{e}");
    assert_eq!(e.position, 2 + 64);
    let ok = format!("{{ {}$.a = 1{} }}", "(".repeat(60), ")".repeat(60));
    assert!(FilterPattern::parse(&ok).unwrap().matches(r#"{"a": 1}"#));
    let deep = format!("[{}a = 1{}]", "(".repeat(1000), ")".repeat(1000));
    assert!(FilterPattern::parse(&deep).is_err());
}
