//! Processes: starting them safely, their identity (pid plus start time, so a recycled pid is
//! never mistaken for ours), and killing a task's whole process group.
//!
//! - Every child the engine starts goes through [`spawn`]: it runs without Pipeline Canvas's
//!   own environment variables (every `PIPELINE_CANVAS_*` variable, the access tokens
//!   `PIPELINE_CANVAS_ACCESS_TOKEN`, `PIPELINE_CANVAS_KFP_TOKEN` and `PIPELINE_CANVAS_TOKEN`
//!   among them; a variable the command sets itself, e.g. from a component's `env`, is kept),
//!   and with a parent-death signal (`PR_SET_PDEATHSIG`), so it does not outlive the engine even
//!   when the engine is killed with SIGKILL. The kernel sends that signal when the *thread*
//!   that started the child exits, so every child is started from one spawner thread that
//!   lives as long as the process (tokio's blocking threads exit when idle).
//! - Every task process is started as the leader of its own process group (`setsid` for the
//!   Python worker's forks, `process_group(0)` for host commands), so killing the group kills
//!   everything the task started, unless a process deliberately left the group.
//! - After a crash, [`kill_task_group`] kills what is left of a recorded task's group.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::sync::mpsc;
use std::sync::OnceLock;

use tokio::process::{Child, Command};

/// The prefix of the environment variables that are never passed to task processes.
pub const PRIVATE_ENV_PREFIX: &str = "PIPELINE_CANVAS_";

/// Whether `name` is one of Pipeline Canvas's own environment variables (`PIPELINE_CANVAS_*`),
/// which task processes never inherit.
pub fn is_private_var(name: &OsStr) -> bool {
    name.as_bytes().starts_with(PRIVATE_ENV_PREFIX.as_bytes())
}

type SpawnJob = Box<dyn FnOnce() + Send>;

/// The spawner thread's queue, started on first use; it lives as long as the process.
fn spawner() -> std::io::Result<&'static mpsc::Sender<SpawnJob>> {
    static SPAWNER: OnceLock<Result<mpsc::Sender<SpawnJob>, String>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnJob>();
            std::thread::Builder::new()
                .name("pipeline-canvas-spawner".into())
                .spawn(move || {
                    // Ends only with the process: the queue's sender is never dropped.
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .map(|_| tx)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| std::io::Error::other(format!("cannot start the process spawner: {e}")))
}

/// Starts `cmd` from the spawner thread: without Pipeline Canvas's own environment variables
/// (except those `cmd` sets itself), and with `death_signal` sent to it when this process ends
/// (`SIGKILL`, or `SIGTERM` for a child that cleans up after itself). Must be called inside a
/// tokio runtime, which then waits for the child.
pub async fn spawn(cmd: Command, death_signal: libc::c_int) -> std::io::Result<Child> {
    spawn_with(cmd, Some(death_signal)).await
}

/// Starts a long-lived service (a model server) from the spawner thread: without Pipeline
/// Canvas's own environment variables, as [`spawn`], but *without* a parent-death signal, so it
/// can outlive this process when the user keeps it. Whoever starts one records its pid and
/// start time, so it is stopped at shutdown or reaped at the next start.
pub async fn spawn_service(cmd: Command) -> std::io::Result<Child> {
    spawn_with(cmd, None).await
}

async fn spawn_with(mut cmd: Command, death_signal: Option<libc::c_int>) -> std::io::Result<Child> {
    let explicit: Vec<std::ffi::OsString> = cmd
        .as_std()
        .get_envs()
        .map(|(k, _)| k.to_os_string())
        .collect();
    for (name, _) in std::env::vars_os() {
        if is_private_var(&name) && !explicit.contains(&name) {
            cmd.env_remove(&name);
        }
    }
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    let signal =
        death_signal.map(|s| libc::c_ulong::try_from(s).unwrap_or(libc::SIGKILL as libc::c_ulong));
    if let Some(signal) = signal {
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // async-signal-safe functions (prctl, getppid, _exit), allocating nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The engine died between fork and prctl: the signal will never come.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|e| std::io::Error::other(format!("no async runtime to wait for a child: {e}")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: SpawnJob = Box::new(move || {
        let _runtime = handle.enter();
        // The spawner must outlive anything that goes wrong in one spawn.
        let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd.spawn()))
            .unwrap_or_else(|_| Err(std::io::Error::other("starting the process failed")));
        let _ = tx.send(spawned);
        // `cmd` is dropped here, closing this process's copies of the child's pipe ends.
    });
    let gone = || std::io::Error::other("the process spawner thread is gone");
    spawner()?.send(job).map_err(|_| gone())?;
    rx.await.map_err(|_| gone())?
}

pub use runs::store::{process_start as start_time, this_process as current};

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

/// The process group of `pid` (from `/proc/<pid>/stat`), if it exists.
fn group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // State, parent, process group.
    after.split_whitespace().nth(2)?.parse().ok()
}

/// Kills what is left of the process group a task's process led: `pgid` is the leader's pid
/// and `start` its recorded start time.
///
/// - The leader is still that process: the whole group is killed.
/// - Another process has the leader's pid now: nothing (a pid is not reused while a group of
///   that id exists, so the task's group is gone).
/// - The leader is gone (killed by its parent-death signal): every process still in the group
///   that started no earlier than the leader is killed.
pub fn kill_task_group(pgid: u32, start: Option<u64>) {
    if is_alive(pgid, start) {
        kill_group(pgid);
        return;
    }
    if start_time(pgid).is_some() {
        return;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if group_of(pid) != Some(pgid) {
            continue;
        }
        let ours = match (start, start_time(pid)) {
            (Some(leader), Some(member)) => member >= leader,
            _ => true,
        };
        if let (true, Ok(raw)) = (ours, i32::try_from(pid)) {
            if raw > 1 {
                // SAFETY: kill only signals the process; no memory is involved.
                unsafe {
                    libc::kill(raw, libc::SIGKILL);
                }
            }
        }
    }
}

/// Whether any process of group `pgid` is still running (zombies waiting to be reaped do not
/// count).
pub fn group_is_running(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let Some(after) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
            return false;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next();
        let group = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
        group == Some(pgid) && state != Some("Z")
    })
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

    #[tokio::test]
    async fn spawned_children_lose_private_variables() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "env"])
            .env("PIPELINE_CANVAS_KEPT", "set-by-the-command")
            .stdout(std::process::Stdio::piped());
        let out = spawn(cmd, libc::SIGKILL)
            .await
            .expect("spawn")
            .wait_with_output()
            .await
            .expect("wait");
        let text = String::from_utf8_lossy(&out.stdout);
        for (name, _) in std::env::vars_os() {
            if is_private_var(&name) {
                let name = name.to_string_lossy();
                assert!(
                    !text.contains(&format!("{name}=")),
                    "{name} leaked:\n{text}"
                );
            }
        }
        assert!(
            text.contains("PIPELINE_CANVAS_KEPT=set-by-the-command"),
            "{text}"
        );
        assert!(is_private_var(OsStr::new("PIPELINE_CANVAS_ACCESS_TOKEN")));
        assert!(!is_private_var(OsStr::new("PATH")));
    }

    #[test]
    fn a_group_whose_leader_died_is_killed_member_by_member() {
        use std::os::unix::process::CommandExt as _;
        // A leader that starts a member of its group, then dies.
        let out = std::process::Command::new("sh")
            .args(["-c", "sleep 30 >/dev/null 2>&1 & echo $$ $!"])
            .process_group(0)
            .output()
            .expect("run sh");
        let text = String::from_utf8_lossy(&out.stdout);
        let ids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [leader, member] = ids[..] else {
            panic!("unexpected output {text:?}");
        };
        assert_eq!(group_of(member), Some(leader));
        assert!(start_time(leader).is_none(), "the leader has exited");
        // A recorded start time later than the member's leaves it alone.
        let member_start = start_time(member).expect("member start");
        kill_task_group(leader, Some(member_start + 1_000_000));
        assert!(is_alive(member, Some(member_start)));
        kill_task_group(leader, Some(member_start));
        for _ in 0..100 {
            if !std::fs::read_to_string(format!("/proc/{member}/stat"))
                .is_ok_and(|s| !s.contains(") Z"))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let stat = std::fs::read_to_string(format!("/proc/{member}/stat")).unwrap_or_default();
        assert!(stat.is_empty() || stat.contains(") Z"), "{stat}");
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
