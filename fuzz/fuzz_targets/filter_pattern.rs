//! CloudWatch Logs filter patterns: `FilterPattern::parse` on arbitrary text, then `matches`,
//! `extract`, `required_terms` and `matches_all` against arbitrary events, plus `json_value` with
//! the pattern text as a selector. Nothing may panic, and the results must agree: `extract` is
//! `Some` exactly when `matches` is true, every required term occurs in every matching event, a
//! match-all pattern matches everything, and an error's position is a char boundary inside the
//! pattern.
//!
//! Input: the pattern, then events, separated by NUL bytes (`pattern\0event\0event`); invalid
//! UTF-8 is replaced, as the service receives only strings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_filter_pattern::{json_value, FilterPattern};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    let pattern = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let events: Vec<String> = parts
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    match FilterPattern::parse(&pattern) {
        Ok(p) => {
            let required = p.required_terms();
            for event in &events {
                let matched = p.matches(event);
                assert_eq!(p.extract(event).is_some(), matched);
                if matched {
                    assert!(required.iter().all(|t| event.contains(t.as_str())));
                } else {
                    assert!(!p.matches_all());
                }
                let _ = json_value(event, &pattern);
            }
        }
        Err(e) => {
            assert!(e.position <= pattern.len());
            assert!(pattern.is_char_boundary(e.position));
        }
    }
});
