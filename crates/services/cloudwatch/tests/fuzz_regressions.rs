//! Replays the `cloudwatch_expr` fuzz target's seeds and saved crash inputs under `cargo test`.

use std::path::Path;

#[test]
fn cloudwatch_expr_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/cloudwatch_expr"),
        root.join("tests/fuzz-regressions/cloudwatch_expr"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            nephoscope_cloudwatch::fuzzing::expressions(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
