//! Logs Insights `parse`: capture groups found from a regex's literal start must be the regex
//! crate's own (see `nephoscope_insights::fuzzing::parse_captures`).
//!
//! Input: a pattern, then haystacks, separated by NUL bytes (`pattern\0hay\0hay`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_insights::fuzzing::parse_captures(data);
});
