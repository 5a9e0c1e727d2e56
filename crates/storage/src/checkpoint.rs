//! Checkpoints of a state kept through the write-ahead log: the state is captured at a log
//! rotation point (on the log's writer thread, so it is exactly the state of the files before
//! the new one), stored as an immutable blob named after the new file's number, and the log
//! before it is dropped. Recovery = the latest checkpoint + the log files from its number on.

use crate::blob::BlobStore;
use crate::wal::Journal;
#[cfg(test)]
use crate::wal::Wal;

pub const SNAPSHOTS: &str = "snapshots/";

fn key(n: u64) -> String {
    format!("{SNAPSHOTS}{n:016}.snap")
}

/// The latest checkpoint: the first log file it does not cover, and its bytes.
pub fn latest(blobs: &dyn BlobStore) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let Some(k) = blobs.list(SNAPSHOTS)?.pop() else {
        return Ok(None);
    };
    let n = k
        .trim_start_matches(SNAPSHOTS)
        .trim_end_matches(".snap")
        .parse()
        .map_err(|_| std::io::Error::other(format!("bad checkpoint name {k}")))?;
    Ok(Some((n, blobs.get(&k)?)))
}

/// Writes a checkpoint of what `capture` returns at the next rotation point, then drops the
/// log and the checkpoints before it. Returns the new log file's number.
pub fn write(
    wal: &dyn Journal,
    blobs: &dyn BlobStore,
    capture: impl FnOnce() -> Vec<u8> + Send + 'static,
) -> std::io::Result<u64> {
    write_deferred(wal, blobs, move || {
        let bytes = capture();
        Box::new(move || Ok(bytes))
    })
}

/// Encodes a checkpoint's bytes; runs on the caller's thread. It may store blobs of its own
/// that the checkpoint refers to (durable before the checkpoint is), or fail, and then no
/// checkpoint is written.
pub type Encoder = Box<dyn FnOnce() -> std::io::Result<Vec<u8>> + Send>;

/// [`write`] for states that can be frozen cheaply: `capture` runs at the rotation point (on
/// the log's writer thread) and returns an encoder of that frozen state, which runs on the
/// calling thread so the writer goes on acknowledging writes meanwhile.
pub fn write_deferred(
    wal: &dyn Journal,
    blobs: &dyn BlobStore,
    capture: impl FnOnce() -> Encoder + Send + 'static,
) -> std::io::Result<u64> {
    let (tx, rx) = std::sync::mpsc::channel();
    let n = wal.rotate_with(Box::new(move |_| {
        let _ = tx.send(capture());
    }))?;
    let encode = rx
        .recv()
        .map_err(|_| std::io::Error::other("checkpoint capture failed"))?;
    let bytes = encode()?;
    let k = key(n);
    blobs.put(&k, &bytes)?;
    wal.remove_before(n)?;
    for old in blobs.list(SNAPSHOTS)? {
        if old < k {
            blobs.delete(&old)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::LocalBlobStore;

    #[test]
    fn checkpoint_then_latest() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobStore::open(dir.path().join("files")).unwrap();
        let (wal, _) = Wal::open(dir.path().join("wal")).unwrap();
        assert!(latest(&blobs).unwrap().is_none());
        assert_eq!(write(&wal, &blobs, || b"one".to_vec()).unwrap(), 2);
        assert_eq!(write(&wal, &blobs, || b"two".to_vec()).unwrap(), 3);
        assert_eq!(latest(&blobs).unwrap(), Some((3, b"two".to_vec())));
        assert_eq!(
            blobs.list(SNAPSHOTS).unwrap().len(),
            1,
            "older checkpoints are dropped"
        );
    }
}
