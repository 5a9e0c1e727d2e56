//! Replays the `field_columns` fuzz target's seeds (`fuzz/seeds/field_columns/`) and saved
//! crashes (`tests/fuzz-regressions/field_columns/`) through the target's own code
//! (`nephoscope_logs::fuzzing::field_columns`) under plain `cargo test`.

use std::path::Path;

#[test]
fn field_columns_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("../../../fuzz/seeds/field_columns"),
        root.join("tests/fuzz-regressions/field_columns"),
    ];
    let mut n = 0;
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            nephoscope_logs::fuzzing::field_columns(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n >= 3, "the seeds are found ({n})");
}
