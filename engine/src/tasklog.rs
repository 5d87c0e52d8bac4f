//! Task logs: what a task writes to stdout and stderr goes through a pipe into its log file,
//! at most [`EngineConfig::log_limit`](super::EngineConfig::log_limit) bytes per task
//! ([`DEFAULT_LOG_LIMIT`], 64 MiB, unless configured). Past the limit the log gets one line
//! saying so ([`truncation_note`]) and the rest of the output is read and discarded, so the
//! task keeps running instead of blocking on a full pipe.
//!
//! Container components and host commands are pumped here, by one thread per running task;
//! Python function components are pumped the same way by their warm worker
//! (`python/worker.py`). [`tail`] reads the end of a log without reading the whole file.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

/// The default per-task log limit: 64 MiB.
pub const DEFAULT_LOG_LIMIT: u64 = 64 * 1024 * 1024;

/// How much of a log [`tail`] reads at most.
const TAIL_BYTES: u64 = 16 * 1024;

/// A size in words: `64 MiB`, `12 KiB`, `100 bytes`.
pub fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const GIB: u64 = 1024 * MIB;
    match bytes {
        b if b >= GIB && b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// What the log and the task say when a log reached `limit`.
pub fn truncation_note(limit: u64) -> String {
    format!(
        "log truncated at {}: later output was discarded",
        size_text(limit)
    )
}

/// A pipe: (read end, write end), both close-on-exec (the child gets the write end as its
/// stdout and stderr through `dup2`, which clears the flag on the copy).
pub fn pipe() -> std::io::Result<(File, File)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two file descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(read), File::from(write)))
}

/// Copies what arrives on `input` to `log` (appending), up to `limit` bytes of log in all,
/// then discards the rest; returns whether anything was discarded.
pub fn copy_capped(mut input: impl std::io::Read, log: &Path, limit: u64) -> std::io::Result<bool> {
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut used = out.metadata()?.len();
    let mut truncated = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        let room = usize::try_from(limit.saturating_sub(used)).unwrap_or(usize::MAX);
        let kept = chunk.get(..room.min(n)).unwrap_or_default();
        if !kept.is_empty() {
            out.write_all(kept)?;
            used = used.saturating_add(kept.len() as u64);
        }
        if kept.len() < n && !truncated {
            truncated = true;
            writeln!(out, "\n[pipeline-canvas] {}", truncation_note(limit))?;
        }
    }
    Ok(truncated)
}

/// A log being written by [`start`]: the thread copying a task's output into it.
#[derive(Debug)]
pub struct Pump {
    truncated: Arc<AtomicBool>,
    done: oneshot::Receiver<()>,
}

/// Starts copying what is written to the returned pipe end into `log`, capped at `limit`.
/// Give the returned file to the task as its stdout and stderr, and drop every other copy.
pub fn start(log: &Path, limit: u64) -> std::io::Result<(File, Pump)> {
    let (read, write) = pipe()?;
    // Fail here, not in the thread, when the log cannot be written.
    drop(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?,
    );
    let truncated = Arc::new(AtomicBool::new(false));
    let (tx, done) = oneshot::channel();
    let flag = truncated.clone();
    let path = log.to_path_buf();
    std::thread::Builder::new()
        .name("pipeline-canvas-log".into())
        .spawn(move || {
            match copy_capped(read, &path, limit) {
                Ok(t) => flag.store(t, Ordering::SeqCst),
                Err(e) => {
                    tracing::warn!(log = %path.display(), error = %e, "cannot write a task log")
                }
            }
            let _ = tx.send(());
        })?;
    Ok((write, Pump { truncated, done }))
}

impl Pump {
    /// Waits (at most `within`) until every writer has closed the pipe and the log is
    /// complete; returns whether the log was truncated. A process that left the task's group
    /// and keeps the pipe open is not waited for: its output goes on to the log, capped.
    pub async fn finish(self, within: Duration) -> bool {
        let _ = tokio::time::timeout(within, self.done).await;
        self.truncated.load(Ordering::SeqCst)
    }
}

/// The end of a log file as text: its last `TAIL_BYTES` bytes at most, read by seeking, never
/// the whole file; a first partial line is dropped. Empty when the file cannot be read.
pub fn tail(path: &Path) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(TAIL_BYTES);
    if f.seek(SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if f.take(TAIL_BYTES).read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match (from > 0, text.find('\n')) {
        (true, Some(i)) => text.get(i + 1..).unwrap_or_default().to_string(),
        _ => text,
    }
}

/// The last `n` lines of `tail(path)`.
pub fn tail_lines(path: &Path, n: usize) -> String {
    let text = tail(path);
    let lines: Vec<&str> = text.lines().collect();
    lines
        .get(lines.len().saturating_sub(n)..)
        .unwrap_or_default()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(DEFAULT_LOG_LIMIT), "64 MiB");
        assert_eq!(size_text(4096), "4 KiB");
        assert_eq!(size_text(1000), "1000 bytes");
        assert_eq!(size_text(2 << 30), "2 GiB");
        assert_eq!(
            truncation_note(DEFAULT_LOG_LIMIT),
            "log truncated at 64 MiB: later output was discarded"
        );
    }

    #[test]
    fn logs_are_capped_and_the_rest_is_drained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log.txt");
        std::fs::write(&log, "earlier attempt\n").expect("write");
        let input = vec![b'x'; 1_000_000];
        let truncated = copy_capped(&input[..], &log, 1000).expect("copy");
        assert!(truncated);
        let text = std::fs::read_to_string(&log).expect("read");
        assert!(text.starts_with("earlier attempt\nxxx"), "{text}");
        assert!(
            text.ends_with(&format!("{}\n", truncation_note(1000))),
            "{text}"
        );
        assert_eq!(text.matches('x').count(), 1000 - "earlier attempt\n".len());
        // Under the limit nothing is cut.
        let small = dir.path().join("small.txt");
        assert!(!copy_capped(&b"hello\n"[..], &small, 1000).expect("copy"));
        assert_eq!(std::fs::read_to_string(&small).expect("read"), "hello\n");
    }

    #[tokio::test]
    async fn a_pump_reports_truncation_once_the_writers_are_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log.txt");
        let (mut write, pump) = start(&log, 10).expect("start");
        let writer = std::thread::spawn(move || {
            let _ = write.write_all(&[b'y'; 100_000]);
        });
        assert!(pump.finish(Duration::from_secs(10)).await);
        writer.join().expect("writer");
        assert!(std::fs::read_to_string(&log)
            .expect("read")
            .starts_with("yyyyyyyyyy\n[pipeline-canvas] log truncated at 10 bytes"));
    }

    #[test]
    fn tails_read_only_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log.txt");
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("line {i}\n"));
        }
        std::fs::write(&log, &text).expect("write");
        let t = tail(&log);
        assert!(t.len() <= TAIL_BYTES as usize);
        assert!(
            t.starts_with("line "),
            "no partial first line: {:?}",
            &t[..20]
        );
        assert!(t.ends_with("line 99999\n"));
        assert_eq!(tail_lines(&log, 2), "line 99998\nline 99999");
        assert_eq!(tail(&dir.path().join("missing")), "");
    }
}
