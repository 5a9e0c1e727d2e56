//! Replays the fuzz seeds (`fuzz/seeds/filter_pattern/`) and every saved fuzz crash
//! (`crates/**/tests/fuzz-regressions/filter_pattern/`) through the same checks as the cargo-fuzz
//! target `fuzz/fuzz_targets/filter_pattern.rs`, under plain `cargo test`. The driver is a copy
//! of the target's body (this test shares no code with the fuzz crate, which needs nightly).

use std::path::{Path, PathBuf};

use nephoscope_filter_pattern::{json_value, FilterPattern};

const TARGET: &str = "filter_pattern";

/// Same as `fuzz/fuzz_targets/filter_pattern.rs`.
fn filter_pattern(data: &[u8]) {
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
}

/// The repository root: this crate is `crates/engines/filter-pattern`.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(3)
        .expect("crate three levels below the repository root")
        .to_path_buf()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Saved crashes in any crate under `dir`, including nested ones such as `crates/engines/*`.
fn regressions(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    out.extend(files_in(&dir.join("tests/fuzz-regressions").join(TARGET)));
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("src") && !p.ends_with("tests"))
        .collect();
    subdirs.sort();
    for sub in subdirs {
        regressions(&sub, depth - 1, out);
    }
}

#[test]
fn filter_pattern_replay() {
    let root = repo_root();
    let mut files = files_in(&root.join("fuzz/seeds").join(TARGET));
    assert!(
        !files.is_empty(),
        "no seeds in fuzz/seeds/{TARGET}: is the fuzz/ directory missing?"
    );
    regressions(&root.join("crates"), 3, &mut files);
    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).expect("readable input");
        if std::panic::catch_unwind(|| filter_pattern(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {TARGET} inputs panicked (messages above):\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
}

/// The seeds reach the matchers, not just the parser's error paths.
#[test]
fn seeds_match_something() {
    let root = repo_root();
    let mut matched = 0;
    for path in files_in(&root.join("fuzz/seeds").join(TARGET)) {
        let data = std::fs::read(&path).expect("readable seed");
        let mut parts = data.split(|b| *b == 0);
        let pattern = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        if let Ok(p) = FilterPattern::parse(&pattern) {
            matched += parts
                .filter(|e| p.matches(&String::from_utf8_lossy(e)))
                .count();
        }
    }
    assert!(matched >= 5, "only {matched} seed events matched");
}
