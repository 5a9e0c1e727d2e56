//! Integration tests: the official AWS SDK for Rust against the real nephoscope binary.
//!
//! One test binary (modules below) keeps link time down. Every test starts its own
//! `nephoscope serve --ephemeral` through `nephoscope_rust_sdk_tests::Server`.

mod auth;
mod cloudwatch;
mod events;
mod harness;
mod insights;
mod live_tail;
mod logs;
mod metrics;
mod request_ids;
