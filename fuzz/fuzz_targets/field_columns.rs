//! Discovered-field columns: the fast discovery scanner against the full parse, and a block's
//! columns built from arbitrary log messages against the messages themselves (see
//! `nephoscope_logs::fuzzing::field_columns`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_logs::fuzzing::field_columns(data);
});
