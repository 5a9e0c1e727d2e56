//! SQL queries: `parse_sql` on arbitrary text and, when it parses, a run over arbitrary events
//! (see `nephoscope_insights::fuzzing::sql_query`).
//!
//! Input: the query, then events, separated by NUL bytes (`query\0event\0event`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nephoscope_insights::fuzzing::sql_query(data, nephoscope_logstore::flat::is_flat_object);
});
