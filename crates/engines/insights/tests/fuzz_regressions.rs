//! Replays the `insights_query` fuzz target's seeds and saved crash inputs under `cargo test`,
//! through the target's own code (`nephoscope_insights::fuzzing::insights_query`).

use std::path::Path;

#[test]
fn insights_query_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/insights_query"),
        root.join("tests/fuzz-regressions/insights_query"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            nephoscope_insights::fuzzing::insights_query(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
