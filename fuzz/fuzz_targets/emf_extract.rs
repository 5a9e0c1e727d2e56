//! Embedded Metric Format: `extract` on arbitrary log messages never panics, and what it
//! extracts respects the format's limits; the agent endpoint's line routing never panics and
//! its batches stay within PutLogEvents' limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_emf::{extract, MAX_DIMENSIONS, MAX_VALUES};

fuzz_target!(|data: &[u8]| {
    let message = String::from_utf8_lossy(data);
    let defaults = nephoscope_logs::agent::AgentDefaults {
        log_group: "g".into(),
        log_stream: "s".into(),
    };
    let lines: Vec<String> = message.lines().map(str::to_string).collect();
    let (routed, _) = nephoscope_logs::agent::route(&lines, &defaults, 1_700_000_000_000);
    for (_, mut events) in routed {
        events.sort_by_key(|e| e.0);
        for b in nephoscope_logs::agent::batches(events) {
            assert!(!b.is_empty() && b.len() <= 10_000);
        }
    }
    if let Ok(metrics) = extract(&message) {
        for m in metrics {
            assert!(m.dimensions.len() <= MAX_DIMENSIONS);
            assert!(m.values.len() <= MAX_VALUES);
        }
    }
});
