//! Processes: identity (pid plus start time, so a recycled pid is never mistaken for ours),
//! and killing a task's whole process group.
//!
//! Every task process is started as the leader of its own process group (`setsid` for the
//! Python worker's forks, `process_group(0)` for host commands), so killing the group kills
//! everything the task started, unless a process deliberately left the group.

/// This process: its id and start time.
pub fn current() -> (u32, Option<u64>) {
    let pid = std::process::id();
    (pid, start_time(pid))
}

/// When process `pid` started (clock ticks since boot, from `/proc/<pid>/stat`), if it exists
/// and this system has `/proc`.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields after it are
    // space-separated, and the start time is field 22.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` exists and (when `start` is known and `/proc` is available) is the
/// same process that was recorded.
pub fn is_alive(pid: u32, start: Option<u64>) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    match (start, start_time(pid)) {
        (Some(recorded), Some(now)) => recorded == now,
        _ => true,
    }
}

/// Sends SIGKILL to every process in group `pgid`. A group that no longer exists is fine.
pub fn kill_group(pgid: u32) {
    let Ok(raw) = i32::try_from(pgid) else {
        return;
    };
    if raw <= 1 {
        return;
    }
    // SAFETY: a negative pid addresses the process group; no memory is involved.
    unsafe {
        libc::kill(-raw, libc::SIGKILL);
    }
}

/// Sends SIGTERM to group `pgid`, giving its processes a moment to clean up.
pub fn terminate_group(pgid: u32) {
    let Ok(raw) = i32::try_from(pgid) else {
        return;
    };
    if raw <= 1 {
        return;
    }
    // SAFETY: as in `kill_group`.
    unsafe {
        libc::kill(-raw, libc::SIGTERM);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let (pid, start) = current();
        assert!(is_alive(pid, start));
        if let Some(s) = start {
            assert!(!is_alive(pid, Some(s + 1)));
        }
        assert!(!is_alive(0, None));
    }

    #[test]
    fn killing_a_group_kills_its_children() {
        use std::os::unix::process::CommandExt as _;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        let pid = child.id();
        std::thread::sleep(std::time::Duration::from_millis(100));
        kill_group(pid);
        let status = child.wait().expect("wait");
        assert!(!status.success());
    }
}
