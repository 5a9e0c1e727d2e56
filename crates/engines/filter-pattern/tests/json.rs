//! JSON patterns: AWS's documented examples and edge cases of selectors, comparisons, booleans,
//! nulls, existence, precedence and non-JSON events.

mod common;
use common::{check, check_sets};

// AWS's "JSON metric filter examples" event.
const TRAIL: &str = r#"{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true
}"#;

// AWS's "JSON compound conditions" event.
const USERS: &str = r#"{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [
    {"id": 2, "email": "John.Doe@example.com"},
    {"id": 3, "email": "Jane.Doe@example.com"}
  ],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
}"#;

#[test]
fn documented_examples() {
    check(&[
        (r#"{ $.eventType = "UpdateTrail" }"#, TRAIL, true),
        ("{ $.sourceIPAddress != 123.123.* }", TRAIL, true),
        (r#"{ $.arrayKey[0] = "value" }"#, TRAIL, true),
        ("{ $.objectList[1].id = 2 }", TRAIL, true),
        ("{ $.SomeObject IS NULL }", TRAIL, true),
        ("{ $.SomeOtherObject NOT EXISTS }", TRAIL, true),
        ("{ $.ThisFlag IS TRUE }", TRAIL, true),
        (
            r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#,
            USERS,
            true,
        ),
        (
            r#"{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }"#,
            USERS,
            false,
        ),
        (
            r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }"#,
            USERS,
            true,
        ),
        (
            r#"{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }"#,
            USERS,
            false,
        ),
        // A selector on an array never matches, with = or !=.
        ("{$.users = 1}", r#"{"users": [1, 2, 3]}"#, false),
        ("{$.users != 1}", r#"{"users": [1, 2, 3]}"#, false),
        // Numeric comparison examples.
        ("{ $.latency >= 500 }", r#"{"latency": 500}"#, true),
        ("{ $.latency >= 500 }", r#"{"latency": 499.9}"#, false),
        ("{ $.numbers[0] < 10e3 }", r#"{"numbers": [9999]}"#, true),
        ("{ $.numbers[0] < 10e3 }", r#"{"numbers": [10000]}"#, false),
        ("{ $.numbers[0] < 10e-3 }", r#"{"numbers": [0.001]}"#, true),
        ("{ $.numbers[0] < 10e-3 }", r#"{"numbers": [0.01]}"#, false),
        (
            "{ $.processes[4].averageRuntime <= 55.5 }",
            r#"{"processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}]}"#,
            true,
        ),
        ("{ $.errorCode = 400 }", r#"{"errorCode": 400}"#, true),
        ("{ $.errorCode != 500 }", r#"{"errorCode": 400}"#, true),
        ("{ $.errorCode != 500 }", r#"{"errorCode": 500}"#, false),
        ("{ $.latency > +1000 }", r#"{"latency": 1001}"#, true),
        ("{ $.latency > +1000 }", r#"{"latency": 1000}"#, false),
        // The metric-value example.
        ("{ $.latency = * }", r#"{"latency": 12}"#, true),
        ("{ $.latency = * }", r#"{"other": 12}"#, false),
    ]);
    // The OR example.
    check_sets(&[
        (
            "{$.foo = bar}",
            &[r#"{"foo": "bar"}"#],
            &[r#"{"foo": "baz"}"#],
        ),
        (
            "{$.foo = baz }",
            &[r#"{"foo": "baz"}"#],
            &[r#"{"foo": "bar"}"#],
        ),
        (
            "{$.foo = bar || $.foo = baz }",
            &[r#"{"foo": "bar"}"#, r#"{"foo": "baz"}"#],
            &[],
        ),
    ]);
}

#[test]
fn documented_near_misses() {
    check(&[
        ("{ $.ThisFlag IS FALSE }", TRAIL, false),
        (r#"{ $.eventType = "updatetrail" }"#, TRAIL, false),
        ("{ $.sourceIPAddress != 111.111.* }", TRAIL, false),
        ("{ $.sourceIPAddress = 111.111.* }", TRAIL, true),
        ("{ $.SomeObject NOT EXISTS }", TRAIL, false),
        ("{ $.eventType IS NULL }", TRAIL, false),
        (r#"{ $.arrayKey = "value" }"#, TRAIL, false),
        (r#"{ $.arrayKey != "value" }"#, TRAIL, false),
        ("{ $.objectList[1] = * }", TRAIL, false),
        ("{ $.objectList[2].id = 2 }", TRAIL, false),
        ("{ $.objectList[0].id = 2 }", TRAIL, false),
        ("{ $.coordinates[0][1] = 1 }", USERS, true),
        (
            "{ $.coordinates[2][0] >= 7 && $.coordinates[2][2] <= 9 }",
            USERS,
            true,
        ),
        ("{ $.coordinates[3][0] = * }", USERS, false),
        ("{ $.actions[1] = PUT }", USERS, true),
        ("{ $.user[0] = * }", USERS, false),
        ("{ $.actions.x = * }", USERS, false),
    ]);
}

#[test]
fn string_wildcards() {
    check(&[
        (
            "{ $.eventType = *Event }",
            r#"{"eventType": "PutEvent"}"#,
            true,
        ),
        (
            "{ $.eventType = *Event }",
            r#"{"eventType": "GetEvent"}"#,
            true,
        ),
        (
            "{ $.eventType = *Event }",
            r#"{"eventType": "EventId"}"#,
            false,
        ),
        (
            "{ $.eventType = Event* }",
            r#"{"eventType": "EventId"}"#,
            true,
        ),
        (
            "{ $.eventType = Event* }",
            r#"{"eventType": "EventName"}"#,
            true,
        ),
        (
            "{ $.eventType = Event* }",
            r#"{"eventType": "PutEvent"}"#,
            false,
        ),
        // A `*` inside the value is literal.
        (
            "{ $.eventType = Ev*ent }",
            r#"{"eventType": "Event"}"#,
            false,
        ),
        (
            "{ $.eventType = Ev*ent }",
            r#"{"eventType": "Ev*ent"}"#,
            true,
        ),
        (
            r#"{ $.eventType = "*Trail*" }"#,
            r#"{"eventType": "UpdateTrailNow"}"#,
            true,
        ),
        (r#"{ $.x = "*" }"#, r#"{"x": ""}"#, true),
        (r#"{ $.x = "*" }"#, r#"{"x": false}"#, true),
        (r#"{ $.x = "*" }"#, r#"{"x": null}"#, false),
        (r#"{ $.x = "*" }"#, r#"{"x": {}}"#, false),
        (r#"{ $.x != "a*" }"#, r#"{"x": "bcd"}"#, true),
        (r#"{ $.x != "a*" }"#, r#"{"x": "abc"}"#, false),
        (r#"{ $.x = "" }"#, r#"{"x": ""}"#, true),
        (r#"{ $.x = "" }"#, r#"{"x": "a"}"#, false),
        // Quoted strings with characters that need quoting, and escapes.
        (
            r#"{ $.email = "John.Doe@example.com" }"#,
            r#"{"email": "John.Doe@example.com"}"#,
            true,
        ),
        (
            r#"{ $.msg = "a \"quoted\" word" }"#,
            r#"{"msg": "a \"quoted\" word"}"#,
            true,
        ),
        (r#"{ $.path = "C:\temp" }"#, r#"{"path": "C:\\temp"}"#, true),
        (r#"{ $.s = "é" }"#, r#"{"s": "\u00e9"}"#, true),
        (r#"{ $.s = "😀" }"#, r#"{"s": "\ud83d\ude00"}"#, true),
        (
            "{ $.arn = arn:aws:iam::1:root }",
            r#"{"arn": "arn:aws:iam::1:root"}"#,
            true,
        ),
        ("{ $.path = /var/log/x }", r#"{"path": "/var/log/x"}"#, true),
        // Case-sensitive values.
        ("{ $.level = ERROR }", r#"{"level": "error"}"#, false),
    ]);
}

#[test]
fn numbers_and_scalars() {
    check(&[
        // Numeric literals compare numerically, whatever the spelling.
        ("{ $.n = 1000 }", r#"{"n": 1e3}"#, true),
        ("{ $.n = 1e3 }", r#"{"n": 1000.0}"#, true),
        ("{ $.n = 0.1 }", r#"{"n": 0.1}"#, true),
        ("{ $.n < 0 }", r#"{"n": -5}"#, true),
        ("{ $.n > -1.5E2 }", r#"{"n": -149}"#, true),
        ("{ $.n >= 10 }", r#"{"n": 9.999}"#, false),
        ("{ $.n <= 10 }", r#"{"n": 10}"#, true),
        // Strings that spell numbers compare numerically too.
        ("{ $.code = 400 }", r#"{"code": "400"}"#, true),
        ("{ $.code > 399 }", r#"{"code": "400"}"#, true),
        ("{ $.code > 399 }", r#"{"code": "4xx"}"#, false),
        ("{ $.code != 400 }", r#"{"code": "4xx"}"#, true),
        // Quoted values compare as text, against a number's original spelling.
        (r#"{ $.code = "400" }"#, r#"{"code": 400}"#, true),
        (r#"{ $.code = "400" }"#, r#"{"code": 400.0}"#, false),
        ("{ $.ip = 10.0.* }", r#"{"ip": "10.0.3.4"}"#, true),
        ("{ $.status = 4* }", r#"{"status": 404}"#, true),
        ("{ $.status = 4* }", r#"{"status": 504}"#, false),
        ("{ $.v = 1.50 }", r#"{"v": 1.5}"#, true),
        // Booleans compare through their text, and with IS TRUE / IS FALSE.
        ("{ $.ok = true }", r#"{"ok": true}"#, true),
        ("{ $.ok = true }", r#"{"ok": "true"}"#, true),
        ("{ $.ok IS TRUE }", r#"{"ok": "true"}"#, false),
        ("{ $.ok IS FALSE }", r#"{"ok": false}"#, true),
        ("{ $.ok IS TRUE }", r#"{"ok": 1}"#, false),
        ("{ $.n > 0 }", r#"{"n": true}"#, false),
        // null and missing satisfy no comparison, not even `!=`.
        (r#"{ $.x != "a" }"#, r#"{"x": null}"#, false),
        (r#"{ $.x != "a" }"#, r#"{"y": 1}"#, false),
        ("{ $.x != 5 }", r#"{"x": null}"#, false),
        ("{ $.x IS NULL }", r#"{"y": 1}"#, false),
        ("{ $.x NOT EXISTS }", r#"{"x": null}"#, false),
        ("{ $.a.b NOT EXISTS }", r#"{"a": "str"}"#, true),
        ("{ $.a[0] NOT EXISTS }", r#"{"a": []}"#, true),
        // Keywords are case-insensitive.
        ("{ $.x is null }", r#"{"x": null}"#, true),
        ("{ $.x not exists }", r#"{}"#, true),
        ("{ $.x Is True }", r#"{"x": true}"#, true),
    ]);
}

#[test]
fn precedence_and_grouping() {
    let m = r#"{"a": 1, "b": 0, "c": 0}"#;
    check(&[
        // && binds tighter than ||.
        ("{ $.a = 1 || $.b = 1 && $.c = 1 }", m, true),
        ("{ ($.a = 1 || $.b = 1) && $.c = 1 }", m, false),
        ("{ $.b = 1 && $.c = 1 || $.a = 1 }", m, true),
        ("{ $.b = 1 && ($.c = 1 || $.a = 1) }", m, false),
        ("{ (($.a = 1)) }", m, true),
        ("{ $.a = 1 && $.b = 0 && $.c = 0 }", m, true),
        ("{ $.a = 2 || $.b = 2 || $.c = 0 }", m, true),
        ("{ $.a = 2 || $.b = 2 || $.c = 2 }", m, false),
        ("{$.a=1&&$.b=0}", m, true),
        (
            "{ $.a = 1 && ($.b = 1 || ($.c = 0 && $.z NOT EXISTS)) }",
            m,
            true,
        ),
    ]);
}

#[test]
fn event_shape() {
    check(&[
        // Only JSON objects are examined.
        ("{ $.a NOT EXISTS }", "plain text", false),
        ("{ $.a NOT EXISTS }", "", false),
        ("{ $.a NOT EXISTS }", "[1, 2]", false),
        ("{ $.a NOT EXISTS }", r#""string""#, false),
        ("{ $.a NOT EXISTS }", "{", false),
        ("{ $.a NOT EXISTS }", r#"{"a": 1} trailing"#, false),
        ("{ $.a NOT EXISTS }", r#"prefix {"b": 1}"#, false),
        ("{ $.a NOT EXISTS }", r#"{"b": 1,}"#, false),
        ("{ $.a NOT EXISTS }", r#"{'b': 1}"#, false),
        ("{ $.a NOT EXISTS }", "{}", true),
        // The condition holds but the event is not JSON: no match, whatever is checked first.
        ("{ $.a = 1 }", r#"{"a": 1, "b": }"#, false),
        ("{ $.a = 1 }", r#"{"a": 1, "b": "x"#, false),
        ("{ $.a = 1 }", "{\"a\": 1, \"b\": \"\u{1}\"}", false),
        ("{ $.a = 1 }", r#"{"a": 1} {"b": 2}"#, false),
        ("{ $.a = 1 || $.b = 2 }", r#"{"a": 1, "b": [}"#, false),
        ("{ $.a = 1 }", "  \n\t{\"a\": 1}  \n", true),
        // Keys are compared after unescaping; later duplicates win.
        ("{ $.ab = 1 }", r#"{"a\u0062": 1}"#, true),
        ("{ $.a = 1 }", r#"{"\u0061": 1}"#, true),
        ("{ $.ab = 1 }", r#"{"a\"": 1, "a\\": 1}"#, false),
        ("{ $.ab = 1 }", r#"{"a\u0062\u0063": 1}"#, false),
        ("{ $.a = 2 }", r#"{"a": 1, "a": 2}"#, true),
        ("{ $.a = 1 }", r#"{"a": 1, "a": 2}"#, false),
        // Property names may contain '-' and '_'; keys with dots are not reachable.
        ("{ $.request-id = abc }", r#"{"request-id": "abc"}"#, true),
        ("{ $.a_b.c-d[1] = 2 }", r#"{"a_b": {"c-d": [1, 2]}}"#, true),
        ("{ $.a.b = 1 }", r#"{"a.b": 1}"#, false),
        // Deeply nested values are reachable; pathological nesting is "not JSON".
        (
            "{ $.a.a.a.a.a = 1 }",
            r#"{"a":{"a":{"a":{"a":{"a":1}}}}}"#,
            true,
        ),
    ]);
    let deep = format!("{{\"a\": {}1{}}}", "[".repeat(300), "]".repeat(300));
    check(&[("{ $.b NOT EXISTS }", deep.as_str(), false)]);
}
