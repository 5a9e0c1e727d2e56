//! Replays the `insights_query`, `ppl_query`, `sql_query` and `parse_captures` fuzz targets'
//! seeds and saved crash inputs under `cargo test`, through the targets' own code
//! (`nephoscope_insights::fuzzing`).

use std::path::Path;

/// Runs `target` on every seed of fuzz target `name` and every saved input under
/// `tests/fuzz-regressions/<name>`; there must be some.
fn replay(name: &str, target: impl Fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds").join(name),
        root.join("tests/fuzz-regressions").join(name),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            target(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found for {name}");
}

#[test]
fn insights_query_replay() {
    replay("insights_query", |d| {
        nephoscope_insights::fuzzing::insights_query(d, nephoscope_logstore::flat::is_flat_object)
    });
}

#[test]
fn parse_captures_replay() {
    replay(
        "parse_captures",
        nephoscope_insights::fuzzing::parse_captures,
    );
}

#[test]
fn ppl_query_replay() {
    replay("ppl_query", |d| {
        nephoscope_insights::fuzzing::ppl_query(d, nephoscope_logstore::flat::is_flat_object)
    });
}

#[test]
fn sql_query_replay() {
    replay("sql_query", |d| {
        nephoscope_insights::fuzzing::sql_query(d, nephoscope_logstore::flat::is_flat_object)
    });
}
