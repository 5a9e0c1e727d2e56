//! Embedded Metric Format: `extract` on arbitrary log messages never panics, and what it
//! extracts respects the format's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_emf::{extract, MAX_DIMENSIONS, MAX_VALUES};

fuzz_target!(|data: &[u8]| {
    let message = String::from_utf8_lossy(data);
    if let Ok(metrics) = extract(&message) {
        for m in metrics {
            assert!(m.dimensions.len() <= MAX_DIMENSIONS);
            assert!(m.values.len() <= MAX_VALUES);
        }
    }
});
