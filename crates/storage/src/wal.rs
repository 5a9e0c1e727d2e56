//! Write-ahead log with group commit.
//!
//! Appends are queued; one writer thread takes everything queued, writes it, `fdatasync`s once,
//! then runs each append's completion callback **in log order** on that thread. The engine applies
//! its mutation inside the callback, so the in-memory state always equals a replay of the log, and
//! a caller is acknowledged only after its record is on disk.
//!
//! Files are `wal-<number>.log`, records `[len u32 LE][crc32 u32 LE][payload]`. Replay stops at
//! the first torn or corrupt record of the newest file and truncates it there (a crash mid-write);
//! corruption in an older file is an error. After a fsync failure the log refuses further appends:
//! the page cache can no longer be trusted (a failed fsync may have dropped dirty pages).

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

const HEADER: usize = 8;
/// Largest record accepted (a PutLogEvents batch is at most ~1 MiB of messages plus framing).
pub const MAX_RECORD: usize = 64 * 1024 * 1024;

pub type Completion = Box<dyn FnOnce(std::io::Result<()>) + Send>;

/// A replayed record: the number of the file it is in, and its bytes.
pub type Record = (u64, Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("write-ahead log I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("write-ahead log {file} is corrupt at offset {offset}")]
    Corrupt { file: PathBuf, offset: u64 },
}

struct Pending {
    bytes: Vec<u8>,
    done: Completion,
}

/// Work to run on the writer thread right after a rotation, while no completion runs: the
/// state it sees is exactly the state of every record in the files before the new one.
pub type AtRotation = Box<dyn FnOnce(u64) + Send>;

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    closed: bool,
    failed: bool,
    /// Rotation requested: the writer switches files before the next batch.
    rotate: Option<(
        std::sync::mpsc::Sender<std::io::Result<u64>>,
        Option<AtRotation>,
    )>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// The ordered, durable log a state machine's mutations go through: the seam behind which the
/// local write-ahead log can later be replaced by a replicated log (scale-out) without touching
/// the engines. Completions run in log order, after the record is durable.
pub trait Journal: Send + Sync {
    fn append(&self, bytes: Vec<u8>, done: Completion);
    /// Starts a new segment of the log and runs `at` at that point (checkpoint capture).
    fn rotate_with(&self, at: AtRotation) -> std::io::Result<u64>;
    /// Forgets the log before `number` (covered by a checkpoint).
    fn remove_before(&self, number: u64) -> std::io::Result<()>;
    /// Bytes of log kept.
    fn size(&self) -> u64;
}

impl Journal for Wal {
    fn append(&self, bytes: Vec<u8>, done: Completion) {
        Wal::append(self, bytes, done)
    }
    fn rotate_with(&self, at: AtRotation) -> std::io::Result<u64> {
        Wal::rotate_with(self, at)
    }
    fn remove_before(&self, number: u64) -> std::io::Result<()> {
        Wal::remove_before(self, number)
    }
    fn size(&self) -> u64 {
        Wal::size(self)
    }
}

pub struct Wal {
    dir: PathBuf,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

fn file_name(n: u64) -> String {
    format!("wal-{n:016}.log")
}

/// WAL file numbers present in `dir`, ascending.
fn files(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("wal-")
            .and_then(|r| r.strip_suffix(".log"))
            .and_then(|n| n.parse().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads the valid records of one file; returns them and the length of the valid prefix.
fn read_file(path: &Path) -> std::io::Result<(Vec<Vec<u8>>, u64, bool)> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut records = Vec::new();
    let mut off = 0usize;
    while off + HEADER <= data.len() {
        let len = u32::from_le_bytes(data[off..off + 4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap());
        let end = off + HEADER + len;
        if len > MAX_RECORD || end > data.len() || crc32fast::hash(&data[off + HEADER..end]) != crc
        {
            return Ok((records, off as u64, true));
        }
        records.push(data[off + HEADER..end].to_vec());
        off = end;
    }
    let torn = off != data.len();
    Ok((records, off as u64, torn))
}

impl Wal {
    /// Opens the log in `dir`, returning it and every record already in it, oldest first,
    /// each with the number of the file it is in (see [`Wal::rotate_with`]).
    pub fn open(dir: impl Into<PathBuf>) -> Result<(Wal, Vec<Record>), WalError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let numbers = files(&dir)?;
        let mut records = Vec::new();
        for (i, n) in numbers.iter().enumerate() {
            let path = dir.join(file_name(*n));
            let (mut recs, valid, torn) = read_file(&path)?;
            if torn {
                if i + 1 != numbers.len() {
                    return Err(WalError::Corrupt {
                        file: path,
                        offset: valid,
                    });
                }
                tracing::warn!(file = %path.display(), offset = valid, "truncating torn tail of the write-ahead log");
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(valid)?;
                f.sync_all()?;
            }
            records.extend(recs.drain(..).map(|r| (*n, r)));
        }
        let current = numbers.last().copied().unwrap_or(1);
        let file = open_append(&dir, current)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let writer = {
            let shared = shared.clone();
            let dir = dir.clone();
            std::thread::Builder::new()
                .name("wal-writer".into())
                .spawn(move || writer_loop(shared, dir, file, current))?
        };
        Ok((
            Wal {
                dir,
                shared,
                writer: Some(writer),
            },
            records,
        ))
    }

    /// Queues `bytes`; `done` runs on the writer thread after the record is durable (or failed),
    /// in log order.
    pub fn append(&self, bytes: Vec<u8>, done: Completion) {
        if bytes.len() > MAX_RECORD {
            done(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "record larger than the write-ahead log accepts",
            )));
            return;
        }
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.closed || q.failed {
            drop(q);
            done(Err(std::io::Error::other(
                "write-ahead log is not accepting writes",
            )));
            return;
        }
        q.pending.push(Pending { bytes, done });
        drop(q);
        self.shared.wake.notify_one();
    }

    /// Starts a new file after everything queued so far; returns its number. Files with lower
    /// numbers can be removed with [`Wal::remove_before`] once a checkpoint covers them.
    pub fn rotate(&self) -> std::io::Result<u64> {
        self.rotate_inner(None)
    }

    /// Like [`Wal::rotate`], and runs `at` on the writer thread at the rotation point with the
    /// new file's number. Checkpoints capture their state there.
    pub fn rotate_with(&self, at: AtRotation) -> std::io::Result<u64> {
        self.rotate_inner(Some(at))
    }

    fn rotate_inner(&self, at: Option<AtRotation>) -> std::io::Result<u64> {
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.rotate.is_some() {
                return Err(std::io::Error::other("a rotation is already in progress"));
            }
            q.rotate = Some((tx, at));
        }
        self.shared.wake.notify_one();
        rx.recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("write-ahead log writer stopped")))
    }

    /// Deletes files numbered below `number`.
    pub fn remove_before(&self, number: u64) -> std::io::Result<()> {
        for n in files(&self.dir)? {
            if n < number {
                std::fs::remove_file(self.dir.join(file_name(n)))?;
            }
        }
        File::open(&self.dir)?.sync_all()
    }

    /// Total size of the log files in bytes.
    pub fn size(&self) -> u64 {
        files(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| std::fs::metadata(self.dir.join(file_name(n))).ok())
            .map(|m| m.len())
            .sum()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.closed = true;
        }
        self.shared.wake.notify_one();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn open_append(dir: &Path, n: u64) -> std::io::Result<File> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file_name(n)))?;
    f.seek(SeekFrom::End(0))?;
    File::open(dir)?.sync_all()?;
    Ok(f)
}

/// `Write::write_all_vectored`, which is not stable yet.
fn write_all_vectored(file: &mut File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn writer_loop(shared: Arc<Shared>, dir: PathBuf, mut file: File, mut number: u64) {
    let mut headers = Vec::new();
    loop {
        let (batch, rotate, closed) = {
            let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            while q.pending.is_empty() && q.rotate.is_none() && !q.closed {
                q = shared.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            (std::mem::take(&mut q.pending), q.rotate.take(), q.closed)
        };
        if !batch.is_empty() {
            // Headers in one buffer, payloads written from where they lie (no copy).
            headers.clear();
            for p in &batch {
                headers.extend_from_slice(&(p.bytes.len() as u32).to_le_bytes());
                headers.extend_from_slice(&crc32fast::hash(&p.bytes).to_le_bytes());
            }
            let mut slices: Vec<IoSlice<'_>> = headers
                .chunks(HEADER)
                .zip(&batch)
                .flat_map(|(h, p)| [IoSlice::new(h), IoSlice::new(&p.bytes)])
                .collect();
            let result = write_all_vectored(&mut file, &mut slices).and_then(|_| file.sync_data());
            if let Err(e) = &result {
                tracing::error!(error = %e, "write-ahead log write failed; refusing further writes");
                shared
                    .queue
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .failed = true;
            }
            for p in batch {
                let r = match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                };
                (p.done)(r);
            }
        }
        if let Some((tx, at)) = rotate {
            let r = open_append(&dir, number + 1).map(|f| {
                file = f;
                number += 1;
                number
            });
            if let (Ok(n), Some(at)) = (&r, at) {
                at(*n);
            }
            let _ = tx.send(r);
        }
        if closed {
            let q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.pending.is_empty() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn append_sync(wal: &Wal, bytes: &[u8]) -> std::io::Result<()> {
        let (tx, rx) = mpsc::channel();
        wal.append(bytes.to_vec(), Box::new(move |r| tx.send(r).unwrap()));
        rx.recv().unwrap()
    }

    #[test]
    fn records_survive_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (wal, old) = Wal::open(dir.path()).unwrap();
            assert!(old.is_empty());
            for i in 0..100u32 {
                append_sync(&wal, &i.to_le_bytes()).unwrap();
            }
        }
        let (_wal, records) = Wal::open(dir.path()).unwrap();
        let got: Vec<u32> = records
            .iter()
            .map(|(_, r)| u32::from_le_bytes(r[..4].try_into().unwrap()))
            .collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn completions_run_in_log_order_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path()).unwrap();
        let wal = Arc::new(wal);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let wal = wal.clone();
                let order = order.clone();
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..50u32 {
                        let order = order.clone();
                        let tx = tx.clone();
                        let v = t * 1000 + i;
                        wal.append(
                            v.to_le_bytes().to_vec(),
                            Box::new(move |r| {
                                r.unwrap();
                                order.lock().unwrap().push(v);
                                tx.send(()).unwrap();
                            }),
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for _ in 0..200 {
            rx.recv().unwrap();
        }
        drop(wal);
        let (_wal, records) = Wal::open(dir.path()).unwrap();
        let replayed: Vec<u32> = records
            .iter()
            .map(|(_, r)| u32::from_le_bytes(r[..4].try_into().unwrap()))
            .collect();
        assert_eq!(*order.lock().unwrap(), replayed);
    }

    #[test]
    fn torn_tail_is_truncated_and_log_continues() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (wal, _) = Wal::open(dir.path()).unwrap();
            append_sync(&wal, b"one").unwrap();
            append_sync(&wal, b"two").unwrap();
        }
        let path = dir.path().join(file_name(1));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap(); // half a header: a crash mid-write
        drop(f);
        {
            let (wal, records) = Wal::open(dir.path()).unwrap();
            assert_eq!(records, vec![(1, b"one".to_vec()), (1, b"two".to_vec())]);
            append_sync(&wal, b"three").unwrap();
        }
        let (_wal, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2], (1, b"three".to_vec()));
    }

    #[test]
    fn rotation_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (wal, _) = Wal::open(dir.path()).unwrap();
            append_sync(&wal, b"old").unwrap();
            let (tx, rx) = mpsc::channel();
            let n = wal
                .rotate_with(Box::new(move |n| tx.send(n).unwrap()))
                .unwrap();
            assert_eq!(n, 2);
            assert_eq!(rx.recv().unwrap(), 2);
            append_sync(&wal, b"new").unwrap();
            wal.remove_before(n).unwrap();
        }
        let (_wal, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(records, vec![(2, b"new".to_vec())]);
    }
}
