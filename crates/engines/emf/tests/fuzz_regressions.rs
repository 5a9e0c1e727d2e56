//! Replays the `emf_extract` fuzz target's seeds and saved crash inputs under `cargo test`.

use nephoscope_emf::{extract, MAX_DIMENSIONS, MAX_VALUES};
use std::path::Path;

#[test]
fn emf_extract_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/emf_extract"),
        root.join("tests/fuzz-regressions/emf_extract"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            if let Ok(metrics) = extract(&String::from_utf8_lossy(&data)) {
                for m in metrics {
                    assert!(m.dimensions.len() <= MAX_DIMENSIONS && m.values.len() <= MAX_VALUES);
                }
            }
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
