//! Deterministic pseudo-random patterns and events assembled from grammar fragments: parsing and
//! matching never panic, errors point inside the pattern, and `extract`/`required_terms` stay
//! consistent with `matches`. (The cargo-fuzz target explores the same space without a seed.)

use nephoscope_filter_pattern::{json_value, FilterPattern};

const PATTERN_BITS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "$.a",
    "$.b[0]",
    "$.a.b",
    "$.",
    "$",
    "[1]",
    "=",
    "!=",
    "<",
    ">=",
    "<=",
    ">",
    "&&",
    "||",
    "&",
    "|",
    "!",
    "\"",
    "\"x y\"",
    "\"\"",
    "%",
    "%a+%",
    "%[a-z]{2}%",
    "...",
    ",",
    "a",
    "b",
    "ERROR",
    "?",
    "-",
    " ",
    " ",
    " ",
    "\\",
    "*",
    "4*",
    "*x*",
    "1e3",
    "-5",
    "0.5",
    "IS",
    "NULL",
    "NOT",
    "EXISTS",
    "TRUE",
    "FALSE",
    "é",
    "\t",
    "1",
    "404",
    "w1",
    "_",
    ":",
    "/",
];

const MESSAGE_BITS: &[&str] = &[
    "{", "}", "\"a\"", "\"b\"", ":", "1", "-2.5e3", "[", "]", ",", "null", "true", "false", " ",
    "\"", "\\", "ERROR", "é", "\\u12", "\\ud83d", "\\u00e9", "404", "{\"a\":", "...", "x y", "\t",
    "\n", "a", "0",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, dependency-free.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn assemble(&mut self, bits: &[&str], max: usize) -> String {
        let n = self.below(max + 1);
        (0..n).map(|_| bits[self.below(bits.len())]).collect()
    }
}

fn exercise(pattern: &str, messages: &[String]) -> bool {
    match FilterPattern::parse(pattern) {
        Ok(p) => {
            let required = p.required_terms();
            for m in messages {
                let matched = p.matches(m);
                assert_eq!(p.extract(m).is_some(), matched, "{pattern:?} on {m:?}");
                if matched {
                    for t in &required {
                        assert!(m.contains(t.as_str()), "{pattern:?} on {m:?}: {t:?}");
                    }
                } else {
                    assert!(!p.matches_all(), "{pattern:?} on {m:?}");
                }
                let _ = json_value(m, pattern);
            }
            true
        }
        Err(e) => {
            assert!(e.position <= pattern.len(), "{pattern:?}: {e}");
            assert!(pattern.is_char_boundary(e.position), "{pattern:?}: {e}");
            assert!(!e.message.is_empty());
            false
        }
    }
}

const SELECTORS: &[&str] = &["$.a", "$.b", "$.a.b", "$.b[0]", "$.b[1]", "$.c[0][1]"];
const OPS: &[&str] = &["=", "!=", "<", ">", "<=", ">="];
const VALUES: &[&str] = &[
    "1", "-2.5e3", "0", "404", "4*", "*", "\"x y\"", "\"\"", "ERROR", "*a*", "%[a-z]%", "true",
];
const TESTS: &[&str] = &["IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"];
const JSON_EVENTS: &[&str] = &[
    r#"{"a": 1, "b": [0, "x y"], "c": [[1, 404]]}"#,
    r#"{"a": {"b": "ERROR"}, "b": [null, true]}"#,
    r#"{"a": "4xx", "b": "x"}"#,
    r#"{"a": null, "c": [[], [1]]}"#,
    r#"{"a": -2500, "b": [404, -1], "c": [[0, 1]]}"#,
];

impl Rng {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }

    /// `lhs op value` or a keyword test, joined with `&&`/`||`, sometimes parenthesised.
    fn conditions(&mut self, lhs: &[&str], keyword_tests: bool) -> String {
        let mut out = String::new();
        for i in 0..1 + self.below(4) {
            if i > 0 {
                out.push_str(if self.below(2) == 0 { " && " } else { " || " });
            }
            let open = self.below(4) == 0;
            if open {
                out.push('(');
            }
            let l = self.pick(lhs);
            if keyword_tests && self.below(4) == 0 {
                out.push_str(&format!("{l} {}", self.pick(TESTS)));
            } else {
                out.push_str(&format!("{l} {} {}", self.pick(OPS), self.pick(VALUES)));
            }
            if open {
                out.push(')');
            }
        }
        out
    }

    /// Occasionally damages a well-formed pattern, to exercise error paths near valid syntax.
    fn corrupt(&mut self, mut s: String) -> String {
        if self.below(3) == 0 && !s.is_empty() {
            let mut at = self.below(s.len());
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            s.insert_str(at, self.pick(PATTERN_BITS));
        }
        s
    }
}

#[test]
fn random_grammar_fragments() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for round in 0..6000 {
        let (pattern, mut messages) = match round % 3 {
            0 => {
                let p = format!("{{ {} }}", rng.conditions(SELECTORS, true));
                let events = (0..4).map(|_| rng.pick(JSON_EVENTS).to_string()).collect();
                (rng.corrupt(p), events)
            }
            1 => {
                let mut items: Vec<String> = Vec::new();
                for i in 0..1 + rng.below(5) {
                    let name = format!("f{i}");
                    items.push(match rng.below(4) {
                        0 => "...".to_string(),
                        1 => name,
                        _ => rng.conditions(&[name.as_str()], false),
                    });
                }
                let p = format!("[{}]", items.join(", "));
                (rng.corrupt(p), Vec::new())
            }
            _ => (rng.assemble(PATTERN_BITS, 14), Vec::new()),
        };
        messages.extend((0..4).map(|_| rng.assemble(MESSAGE_BITS, 16)));
        if exercise(&pattern, &messages) {
            accepted += 1;
        }
    }
    // The generator must reach the matchers, not only the error paths.
    assert!(accepted > 1000, "only {accepted} patterns parsed");
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..3000 {
        let bytes: Vec<u8> = (0..rng.below(40)).map(|_| rng.below(128) as u8).collect();
        let pattern = String::from_utf8_lossy(&bytes).into_owned();
        let message: Vec<u8> = (0..rng.below(60)).map(|_| rng.below(256) as u8).collect();
        exercise(&pattern, &[String::from_utf8_lossy(&message).into_owned()]);
    }
}

#[test]
fn large_inputs() {
    let p = FilterPattern::parse("[..., a = 1, ..., b = 2, ..., c = 3, ...]").unwrap();
    let long = "0 ".repeat(20_000);
    assert!(!p.matches(&long));
    let json = format!("{{\"a\": \"{}\", \"b\": 1}}", "x".repeat(1 << 20));
    assert!(FilterPattern::parse("{ $.b = 1 }").unwrap().matches(&json));
    let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert!(!FilterPattern::parse("{ $.a NOT EXISTS }")
        .unwrap()
        .matches(&deep));
    let parens = "(".repeat(100_000);
    assert!(FilterPattern::parse(&format!("{{ {parens} }}")).is_err());
    assert!(FilterPattern::parse(&format!("[{parens}]")).is_err());
}
