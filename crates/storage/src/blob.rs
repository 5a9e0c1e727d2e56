//! Immutable files behind a small trait, so segment files can later live on S3-compatible object
//! storage without touching the engines. Writes are atomic: a file is either whole or absent.

use std::io::Write;
use std::path::{Path, PathBuf};

pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key` durably (write, fsync, rename, fsync the directory).
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Keys under `prefix`, sorted.
    fn list(&self, prefix: &str) -> std::io::Result<Vec<String>>;
}

/// Blobs as files under a directory; keys are relative paths with `/` separators.
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(LocalBlobStore { root })
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        if key.is_empty()
            || key
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid blob key {key:?}"),
            ));
        }
        Ok(self.root.join(key))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl BlobStore for LocalBlobStore {
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(
            ".{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("blob")
        ));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(&dir)
    }

    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(key)?)
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn list(&self, prefix: &str) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let p = entry.path();
                if entry.file_type()?.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(rel) = p.strip_prefix(&self.root) else {
                    continue;
                };
                let key = rel.to_string_lossy().replace('\\', "/");
                let hidden = key.rsplit('/').next().is_some_and(|n| n.starts_with('.'));
                if !hidden && key.starts_with(prefix) {
                    out.push(key);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalBlobStore::open(dir.path()).unwrap();
        s.put("segments/a/1.seg", b"one").unwrap();
        s.put("segments/a/2.seg", b"two").unwrap();
        s.put("other/x", b"x").unwrap();
        assert_eq!(s.get("segments/a/2.seg").unwrap(), b"two");
        assert_eq!(
            s.list("segments/").unwrap(),
            vec!["segments/a/1.seg", "segments/a/2.seg"]
        );
        s.delete("segments/a/1.seg").unwrap();
        s.delete("segments/a/1.seg").unwrap();
        assert_eq!(s.list("segments/").unwrap(), vec!["segments/a/2.seg"]);
        for bad in ["", "../x", "a//b", "a/./b"] {
            assert!(s.put(bad, b"").is_err(), "{bad}");
        }
    }
}
