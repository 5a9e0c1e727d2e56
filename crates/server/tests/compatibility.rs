//! docs/compatibility.md lists every operation of every model exactly once, and says supported
//! or partial exactly for the operations the server has built.

use std::collections::{BTreeMap, BTreeSet};

fn doc_rows() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = include_str!("../../../docs/compatibility.md");
    let mut sections = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            // "## CloudWatch Logs (`logs` 2014-03-28)" → "logs"
            current = h.split('`').nth(1).map(str::to_string);
            continue;
        }
        let Some(service) = &current else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 4
            && !cells[1].is_empty()
            && cells[1] != "operation"
            && !cells[1].starts_with("---")
        {
            let prev = sections
                .entry(service.clone())
                .or_insert_with(BTreeMap::new)
                .insert(cells[1].to_string(), cells[2].to_string());
            assert!(prev.is_none(), "{service}.{} listed twice", cells[1]);
        }
    }
    sections
}

#[test]
fn compatibility_table_matches_the_code() {
    let rows = doc_rows();
    // Removed when the test ends.
    let dir = tempfile::Builder::new()
        .prefix("nephoscope-compat-")
        .tempdir()
        .unwrap();
    let clock: nephoscope_clock::SharedClock = std::sync::Arc::new(nephoscope_clock::SystemClock);
    let engines = nephoscope_server::Engines::open(dir.path(), clock).unwrap();
    for service in engines.services().unwrap() {
        let model = service.model();
        let listed = rows
            .get(model.name)
            .unwrap_or_else(|| panic!("docs/compatibility.md has no section for `{}`", model.name));
        let ops: BTreeSet<&str> = model.operations.iter().map(|o| o.name).collect();
        let documented: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
        assert_eq!(
            ops, documented,
            "operations of {} in the doc differ from the model",
            model.name
        );
        for (op, status) in listed {
            let built = service.implements(op);
            let says_built = status.starts_with("supported") || status.starts_with("partial");
            assert!(
                status.starts_with("supported")
                    || status.starts_with("partial")
                    || status.starts_with("not yet"),
                "{}.{op}: unknown status {status:?}",
                model.name
            );
            assert_eq!(
                built, says_built,
                "{}.{op} is documented as {status:?}",
                model.name
            );
        }
    }
}
