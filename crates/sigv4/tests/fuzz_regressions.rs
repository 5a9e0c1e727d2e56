//! Replays the fuzz seeds (`fuzz/seeds/sigv4_parse/`) and every saved fuzz crash
//! (`crates/*/tests/fuzz-regressions/sigv4_parse/`) through the same code path as the cargo-fuzz
//! target `fuzz/fuzz_targets/sigv4_parse.rs`, under plain `cargo test`: nothing may panic. The
//! driver is a copy of the fuzz target's body (this test shares no code with the fuzz crate,
//! which needs nightly). See docs/dev/fuzzing.md.

use nephoscope_sigv4::{parse_amz_date, parse_authorization, sign, verify, Request};
use std::path::{Path, PathBuf};

const TARGET: &str = "sigv4_parse";
/// A tokio worker thread's default stack: the server verifies requests on one.
const STACK: usize = 2 * 1024 * 1024;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2024-01-01T00:00:00Z.
const NOW: i64 = 1_704_067_200;
const SKEW: i64 = 900;

fn split_lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|c| *c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Same as `fuzz/fuzz_targets/sigv4_parse.rs`.
fn sigv4_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_authorization(&text);
    let _ = parse_amz_date(&text);

    // Request line, headers, blank line, body.
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = split_lines(head);
    let request_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let (method, path) = request_line
        .split_once(' ')
        .unwrap_or((request_line.as_str(), "/"));
    let mut owned: Vec<(String, &[u8])> = Vec::new();
    for line in lines {
        let (name, value) = match line.iter().position(|c| *c == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        owned.push((String::from_utf8_lossy(name).into_owned(), value));
    }
    let headers: Vec<(&str, &[u8])> = owned.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let req = Request {
        method,
        path_and_query: path,
        headers: &headers,
        body,
    };
    for (_, v) in &headers {
        if let Ok(s) = std::str::from_utf8(v) {
            let _ = parse_authorization(s);
            let _ = parse_amz_date(s);
        }
    }

    let Some(auth) = req
        .header("authorization")
        .and_then(|h| parse_authorization(h).ok())
    else {
        return;
    };
    let _ = verify(&req, &auth, SECRET, NOW, SKEW);
    let Some(date) = req.header("x-amz-date") else {
        return;
    };
    if let Some(when) = parse_amz_date(date.trim()) {
        let _ = verify(&req, &auth, SECRET, when, SKEW);
    }

    // Re-sign with the same scope and headers, then verify: reaches the success path. `sign`
    // slices the date's first 8 bytes, so only ASCII dates are given to it.
    if !date.is_ascii() {
        return;
    }
    let signed_headers: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    let header = sign(
        &req,
        &auth.access_key_id,
        SECRET,
        &auth.region,
        &auth.service,
        &signed_headers,
    );
    let resigned: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("authorization") {
                (*n, header.as_bytes())
            } else {
                (*n, *v)
            }
        })
        .collect();
    let req = Request {
        headers: &resigned,
        ..req
    };
    if let Ok(auth) = parse_authorization(&header) {
        if let Some(when) = parse_amz_date(date.trim()) {
            let _ = verify(&req, &auth, SECRET, when, SKEW);
        }
    }
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

/// The seeds of the target (at least one) and its saved crashes in any crate.
fn inputs() -> Vec<PathBuf> {
    let root = repo_root();
    let seeds = files_in(&root.join("fuzz/seeds").join(TARGET));
    assert!(
        !seeds.is_empty(),
        "no seeds in fuzz/seeds/{TARGET}: is the fuzz/ directory missing?"
    );
    let mut crate_dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/ readable")
        .map(|e| e.expect("readable directory entry").path())
        .collect();
    crate_dirs.sort();
    let mut all = seeds;
    for dir in crate_dirs {
        all.extend(files_in(&dir.join("tests/fuzz-regressions").join(TARGET)));
    }
    all
}

#[test]
fn sigv4_parse_replay() {
    let mut failed = Vec::new();
    let files = inputs();
    for path in &files {
        let data = std::fs::read(path).expect("readable input");
        let outcome = std::thread::Builder::new()
            .name(format!("{TARGET}: {}", path.display()))
            .stack_size(STACK)
            .spawn(move || sigv4_parse(&data))
            .expect("spawn replay thread")
            .join();
        if outcome.is_err() {
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

/// The replay really exercises `verify`: a captured seed signed with `SECRET` verifies.
#[test]
fn seeds_reach_a_successful_verify() {
    let root = repo_root();
    let data = std::fs::read(root.join("fuzz/seeds/sigv4_parse/json10-cloudwatch.http"))
        .expect("seed present");
    let i = data.windows(2).position(|w| w == b"\n\n").unwrap();
    let (head, body) = (&data[..i], &data[i + 2..]);
    let head = std::str::from_utf8(head).unwrap();
    let mut lines = head.lines();
    let (method, path) = lines.next().unwrap().split_once(' ').unwrap();
    let headers: Vec<(&str, &[u8])> = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n, v.as_bytes())
        })
        .collect();
    let req = Request {
        method,
        path_and_query: path,
        headers: &headers,
        body,
    };
    let auth = parse_authorization(req.header("authorization").unwrap()).unwrap();
    let when = parse_amz_date(req.header("x-amz-date").unwrap()).unwrap();
    assert_eq!(verify(&req, &auth, SECRET, when, SKEW), Ok(()));
}
