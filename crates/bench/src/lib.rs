//! Load generators and end-to-end benchmarks that drive a real `nephoscope` server (and peers such
//! as `moto_server`) over HTTP on 127.0.0.1.
//!
//! * [`apigw`] — deterministic API-Gateway JSON access-log events (the Rust port of
//!   `gen_apigw.py`), shared by the ingest, filter and Logs Insights benchmarks.
//! * [`aws`] — a SigV4-signing JSON 1.1 client over keep-alive hyper connections.
//! * [`insights`] — the Logs Insights benchmark's queries, expected answers, StartQuery +
//!   GetQueryResults polling and result normalisation.
//! * [`logs`] — PutLogEvents batching and concurrent writers, visibility probes, paged
//!   FilterLogEvents scans.
//! * [`metrics`] — PutMetricData bodies in the three CloudWatch protocols, deterministic values
//!   with their exact statistics, GetMetricData bodies and answer checks, the VictoriaMetrics peer.
//! * [`procfs`] — CPU seconds, RSS and disk usage from `/proc` and the file system; the
//!   processes a benchmark starts (killed by PID when dropped).
//!
//! Figures are printed, never asserted: see `docs/dev/benchmarks.md`.

pub mod apigw;
pub mod aws;
pub mod insights;
pub mod logs;
pub mod metrics;
pub mod procfs;
