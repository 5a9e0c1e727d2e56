//! Replays the fuzz seeds (`fuzz/seeds/<target>/`) and every saved fuzz crash
//! (`crates/*/tests/fuzz-regressions/<target>/`) through the same code paths as the cargo-fuzz
//! targets in `fuzz/fuzz_targets/`, under plain `cargo test`: nothing may panic or overflow the
//! stack, CBOR must round-trip and the typed fast paths (JSON, Query form, CBOR) must agree with
//! the canonical ones.
//! `json_decode` is the target's own code (`nephoscope_wire::fuzzing`); the other drivers are
//! copies of the fuzz targets' bodies. See docs/dev/fuzzing.md.

use std::path::{Path, PathBuf};

/// A tokio worker thread's default stack: the server decodes requests on one.
const STACK: usize = 2 * 1024 * 1024;

/// The `json_decode` target's own code.
fn json_decode(data: &[u8]) {
    nephoscope_wire::fuzzing::json_decode(data);
}

/// The `query_decode` target's own code.
fn query_decode(data: &[u8]) {
    nephoscope_wire::fuzzing::query_decode(data);
}

/// The `cbor_decode` target's own code.
fn cbor_decode(data: &[u8]) {
    nephoscope_wire::fuzzing::cbor_decode(data);
}

/// The repository root: this crate is `crates/<name>`.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crate two levels below the repository root")
        .to_path_buf()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The seeds of `target` (at least one) and its saved crashes in any crate.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = repo_root();
    let seeds = files_in(&root.join("fuzz/seeds").join(target));
    assert!(
        !seeds.is_empty(),
        "no seeds in fuzz/seeds/{target}: is the fuzz/ directory missing?"
    );
    let mut crate_dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/ readable")
        .map(|e| e.expect("readable directory entry").path())
        .collect();
    crate_dirs.sort();
    let mut all = seeds;
    for dir in crate_dirs {
        all.extend(files_in(&dir.join("tests/fuzz-regressions").join(target)));
    }
    all
}

/// Runs `driver` over every input of `target`, each on a fresh thread with the server's stack,
/// and fails naming every input that panicked. (A stack overflow aborts the whole test binary;
/// the runtime's message then names this test's thread and the input file.)
fn replay(target: &str, driver: fn(&[u8])) {
    let mut failed = Vec::new();
    let files = inputs(target);
    for path in &files {
        let data = std::fs::read(path).expect("readable input");
        let name = format!("{target}: {}", path.display());
        let outcome = std::thread::Builder::new()
            .name(name.clone())
            .stack_size(STACK)
            .spawn(move || driver(&data))
            .expect("spawn replay thread")
            .join();
        if outcome.is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs panicked (messages above):\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
}

#[test]
fn json_decode_replay() {
    replay("json_decode", json_decode);
}

#[test]
fn query_decode_replay() {
    replay("query_decode", query_decode);
}

#[test]
fn cbor_decode_replay() {
    replay("cbor_decode", cbor_decode);
}
