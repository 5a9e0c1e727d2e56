//! Linux `/proc` readings (CPU seconds, RSS, load) and the processes a benchmark starts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `sysconf(_SC_CLK_TCK)` via `getconf` (no libc here); Linux reports 100 everywhere we run.
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Fields of `/proc/<pid>/stat` after the command name: index 0 is the state (field 3).
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// CPU use of a process and its reaped children, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// utime + stime of the process (all threads).
    pub own: f64,
    /// cutime + cstime: children the process has waited for.
    pub children: f64,
    /// Process state letter (`R`, `S`, `Z`, ...).
    pub state: char,
}

pub fn cpu_of(pid: &str) -> Option<Cpu> {
    let f = stat_fields(pid)?;
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let t = clock_ticks();
    Some(Cpu {
        state: f.first()?.chars().next()?,
        own: (n(11) + n(12)) / t,
        children: (n(13) + n(14)) / t,
    })
}

/// Writes a server config file at `path` turning `logs.field_columns` on or off, and says so.
pub fn field_columns_config(path: &Path, on: bool) -> Result<(), String> {
    std::fs::write(path, format!("[logs]\nfield_columns = {on}\n")).map_err(|e| e.to_string())?;
    println!("server config: logs.field_columns = {on}");
    Ok(())
}

/// CPU seconds of `pid` (utime + stime), 0 if it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    cpu_of(&pid.to_string()).map(|c| c.own).unwrap_or(0.0)
}

/// This process's own CPU, and that of the children it has waited for.
pub fn self_cpu() -> Cpu {
    cpu_of("self").unwrap_or_default()
}

/// (VmRSS, VmHWM) in bytes.
pub fn rss(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The 1-minute load average.
pub fn loadavg1() -> String {
    loadavg().split(' ').next().unwrap_or("?").to_string()
}

pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Files directly in one directory (segment directories of all log groups folded together).
#[derive(Debug, Clone, Default)]
pub struct DirUsage {
    pub dir: String,
    /// Allocated bytes, as `du` counts them.
    pub allocated: u64,
    pub apparent: u64,
    pub files: u64,
}

/// Bytes under a directory: (allocated as `du` counts them, apparent), with a breakdown by
/// directory path relative to `root` (files directly in a directory, not its subdirectories).
pub fn disk_usage(root: &Path) -> (u64, u64, Vec<DirUsage>) {
    use std::os::unix::fs::MetadataExt;
    let mut by_dir: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    let mut stack = vec![root.to_path_buf()];
    let mut guard = 0usize;
    while let Some(dir) = stack.pop() {
        guard += 1;
        if guard > 1_000_000 {
            break;
        }
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let rel = dir
            .strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // Segment directories are one per log group: fold them together.
        let key = fold_group_dirs(&rel);
        for entry in rd.flatten() {
            let Ok(md) = entry.metadata() else { continue };
            if md.is_dir() {
                stack.push(entry.path());
            } else {
                let e = by_dir.entry(key.clone()).or_default();
                e.0 += md.blocks() * 512;
                e.1 += md.len();
                e.2 += 1;
            }
        }
    }
    let alloc = by_dir.values().map(|v| v.0).sum();
    let apparent = by_dir.values().map(|v| v.1).sum();
    (
        alloc,
        apparent,
        by_dir
            .into_iter()
            .map(|(k, (allocated, apparent, files))| DirUsage {
                dir: if k.is_empty() { ".".into() } else { k },
                allocated,
                apparent,
                files,
            })
            .collect(),
    )
}

fn fold_group_dirs(rel: &str) -> String {
    match rel.find("segments/") {
        Some(i) => format!("{}*", &rel[..i + "segments/".len()]),
        None => rel.to_string(),
    }
}

/// A process this benchmark started. Dropping it kills it (by its PID) if it still runs.
pub struct Spawned {
    pub name: String,
    pub child: Child,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (through `kill(1)`: no libc here), waits for the process to exit within
    /// `deadline`, and returns the wall time it took plus its final CPU seconds — read from the
    /// zombie's `/proc/<pid>/stat` before reaping it, so the shutdown work is counted.
    /// SIGKILL after the deadline.
    pub fn terminate(&mut self, deadline: Duration) -> (Duration, Option<f64>, String) {
        let pid = self.pid().to_string();
        let started = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let mut final_cpu = None;
        loop {
            if let Some(c) = cpu_of(&pid) {
                if c.state == 'Z' || c.state == 'X' {
                    final_cpu = Some(c.own);
                    break;
                }
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            if started.elapsed() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = self
            .child
            .wait()
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string());
        (started.elapsed(), final_cpu, status)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `nephoscope serve --listen 127.0.0.1:0 --data-dir DIR`, with stderr to `log`, and
/// reads the port from its first stdout line (`nephoscope listening on http://127.0.0.1:PORT`).
pub fn start_nephoscope(bin: &Path, data_dir: &Path, log: &Path) -> Result<(Spawned, u16), String> {
    start_nephoscope_with(bin, data_dir, None, log)
}

/// [`start_nephoscope`] with `--config FILE` when `config` is given.
pub fn start_nephoscope_with(
    bin: &Path,
    data_dir: &Path,
    config: Option<&Path>,
    log: &Path,
) -> Result<(Spawned, u16), String> {
    let stderr = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} ({e}); build it first: cargo build --release -p nephoscope-server",
                bin.display()
            )
        })?;
    let mut sp = Spawned {
        name: "nephoscope".into(),
        child,
    };
    let stdout = sp.child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the first line, then drains stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut r, &mut sink);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| format!("no 'listening' line within 30 s; see {}", log.display()))?;
    let port = line
        .trim()
        .strip_prefix("nephoscope listening on http://127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| format!("unexpected first line {line:?}; see {}", log.display()))?;
    Ok((sp, port))
}

/// Starts `moto_server -H 127.0.0.1 -p PORT` on a port that was free a moment ago.
pub fn start_moto(bin: &str, log: &Path) -> Result<(Spawned, u16), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {bin} ({e}); pip install 'moto[server]'"))?;
    Ok((
        Spawned {
            name: "moto_server".into(),
            child,
        },
        port,
    ))
}

/// A scratch directory removed on drop unless `keep`.
pub struct ScratchDir {
    pub path: PathBuf,
    pub keep: bool,
}

impl ScratchDir {
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let ms = crate::aws::now_ms();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{ms}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir { path, keep: false })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The server binary a benchmark starts: `$NEPHOSCOPE_BIN`, else `target/release/nephoscope` in
/// the working directory, else the workspace's release build.
pub fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NEPHOSCOPE_BIN") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("target/release/nephoscope");
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/nephoscope")
}
