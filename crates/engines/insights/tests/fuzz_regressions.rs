//! Replays the `insights_query`, `ppl_query`, `sql_query` and `parse_captures` fuzz targets' seeds and saved crash inputs
//! under `cargo test`, through the targets' own code (`nephoscope_insights::fuzzing`).

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
            nephoscope_insights::fuzzing::insights_query(
                &std::fs::read(entry.path()).unwrap(),
                nephoscope_logstore::flat::is_flat_object,
            );
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}

#[test]
fn parse_captures_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/parse_captures"),
        root.join("tests/fuzz-regressions/parse_captures"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            nephoscope_insights::fuzzing::parse_captures(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}

#[test]
fn ppl_query_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/ppl_query"),
        root.join("tests/fuzz-regressions/ppl_query"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            nephoscope_insights::fuzzing::ppl_query(
                &std::fs::read(entry.path()).unwrap(),
                nephoscope_logstore::flat::is_flat_object,
            );
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}

#[test]
fn sql_query_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/sql_query"),
        root.join("tests/fuzz-regressions/sql_query"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            nephoscope_insights::fuzzing::sql_query(
                &std::fs::read(entry.path()).unwrap(),
                nephoscope_logstore::flat::is_flat_object,
            );
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
