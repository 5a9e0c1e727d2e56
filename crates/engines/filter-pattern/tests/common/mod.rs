//! Table runners shared by the integration tests. Every match row also checks the invariants
//! callers rely on: `extract` agrees with `matches`, and every `required_terms` entry occurs in
//! every matching message (so bloom-filter pruning never drops a match).

#![allow(dead_code)] // each test crate uses a subset

use nephoscope_filter_pattern::FilterPattern;

/// Runs `(pattern, message, expected)` rows; reports every failing row at once.
pub fn check(rows: &[(&str, &str, bool)]) {
    let mut failures = Vec::new();
    for &(pattern, message, expected) in rows {
        let p = match FilterPattern::parse(pattern) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{pattern:?}: parse error {e}"));
                continue;
            }
        };
        let got = p.matches(message);
        if got != expected {
            failures.push(format!(
                "{pattern:?} on {message:?}: expected {expected}, got {got}"
            ));
        }
        if p.extract(message).is_some() != got {
            failures.push(format!(
                "{pattern:?} on {message:?}: extract disagrees with matches"
            ));
        }
        if got {
            for term in p.required_terms() {
                if !message.contains(&term) {
                    failures.push(format!(
                        "{pattern:?} on {message:?}: required term {term:?} absent from a match"
                    ));
                }
            }
        }
        if p.matches_all() && !got {
            failures.push(format!("{pattern:?}: matches_all but rejected {message:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every message in `yes` matches `pattern`, every one in `no` does not.
pub fn check_sets(rows: &[(&str, &[&str], &[&str])]) {
    let mut flat = Vec::new();
    for &(pattern, yes, no) in rows {
        flat.extend(yes.iter().map(|m| (pattern, *m, true)));
        flat.extend(no.iter().map(|m| (pattern, *m, false)));
    }
    check(&flat);
}
