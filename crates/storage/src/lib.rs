//! Storage seams. Only this crate touches disk: the write-ahead log ([`wal`]) that makes every
//! acknowledged write durable, and the [`blob`] store of immutable files (local directory now,
//! S3-compatible object storage later, behind the same trait).

pub mod blob;
pub mod checkpoint;
pub mod codec;
pub mod wal;
