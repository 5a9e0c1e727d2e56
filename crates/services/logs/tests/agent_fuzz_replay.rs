//! Replays the `emf_extract` fuzz target's seeds through the agent endpoint's routing and
//! batching under `cargo test` (the part of that target that lives in this crate).

use nephoscope_logs::agent::{batches, route, AgentDefaults};
use std::path::Path;

#[test]
fn agent_routing_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let defaults = AgentDefaults {
        log_group: "g".into(),
        log_stream: "s".into(),
    };
    let mut n = 0;
    for entry in std::fs::read_dir(root.join("../../../fuzz/seeds/emf_extract"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let (routed, _) = route(&lines, &defaults, 1_700_000_000_000);
        for (_, mut events) in routed {
            events.sort_by_key(|e| e.0);
            for b in batches(events) {
                assert!(!b.is_empty() && b.len() <= 10_000);
            }
        }
        n += 1;
    }
    assert!(n > 0, "no seeds found");
}
