//! `pipeline-canvas cancel <run-id>`: cancels a run of the data folder, wherever it runs.
//!
//! - A local run is owned by the process that runs it (the store's `owner_pid` and its start
//!   time): a `serve` process is asked through its HTTP API (its address in
//!   `<data-dir>/server.json`, its token in `<data-dir>/token`); a `run` command gets SIGINT,
//!   as from Ctrl-C (it cancels the run and exits 130). Then the command waits for the run to
//!   be recorded ended.
//! - An owner that is gone cannot cancel: the run is marked failed at the next start of
//!   `serve` or `run` on the folder; the command says so.
//! - A remote run (Vertex AI, Kubeflow Pipelines) is cancelled on its service.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use api::RunState;
use clap::Args;
use runs::{Events, RunStore, StoreError};

use crate::config::{SERVER_FILE, TOKEN_FILE};

/// Options of `cancel`.
#[derive(Debug, Clone, Args)]
pub struct CancelArgs {
    /// The run's id (as `run` and `runs` print it).
    pub run: String,
    /// Folder of the run store. [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Why `cancel` failed.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No data folder could be found.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The run store failed.
    #[error("cannot read the run store: {0}")]
    Store(#[from] StoreError),
    /// No such run.
    #[error("no run {id:?} in {dir}; `pipeline-canvas runs` lists the runs there")]
    NoRun {
        /// The id as given.
        id: String,
        /// The data folder.
        dir: String,
    },
    /// The run has ended.
    #[error("run {id} has already ended {state}; nothing to cancel")]
    Ended {
        /// The run.
        id: String,
        /// How it ended.
        state: RunState,
    },
    /// The process that ran it is gone.
    #[error(
        "run {id} was run by process {pid}, which is gone: nothing runs it any more, and it is \
         marked FAILED the next time `pipeline-canvas serve` or `run` starts on {dir}"
    )]
    OwnerGone {
        /// The run.
        id: String,
        /// The process that ran it.
        pid: u32,
        /// The data folder.
        dir: String,
    },
    /// The server that runs it could not be asked.
    #[error("cannot ask the server (process {pid}) that runs {id} to cancel it: {message}")]
    Server {
        /// The run.
        id: String,
        /// The server's process.
        pid: u32,
        /// What went wrong.
        message: String,
    },
    /// The `run` command that runs it could not be signalled.
    #[error("cannot send SIGINT to process {pid}, the `run` command of {id}: {source}")]
    Signal {
        /// The run.
        id: String,
        /// The process.
        pid: u32,
        /// Why.
        source: std::io::Error,
    },
    /// The run did not end in time.
    #[error("asked to cancel run {id}, but it has not ended after {seconds} s")]
    Timeout {
        /// The run.
        id: String,
        /// How long the command waited.
        seconds: u64,
    },
    /// The remote target failed.
    #[error(transparent)]
    Target(#[from] targets::TargetError),
    /// The async runtime could not be created.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// How long `cancel` waits for the run to be recorded ended.
const WAIT: Duration = Duration::from_secs(30);

/// The server of the data folder, from `server.json`: its address and process.
fn server_of(dir: &Path) -> Option<(String, u32)> {
    let text = std::fs::read_to_string(dir.join(SERVER_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let addr = v["addr"].as_str()?.to_string();
    let pid = u32::try_from(v["pid"].as_u64()?).ok()?;
    Some((addr, pid))
}

/// `POST /api/runs/{id}/cancel` to the server at `addr` with the folder's token; the status.
fn ask_server(dir: &Path, addr: &str, id: &str) -> Result<u16, String> {
    let token = std::fs::read_to_string(dir.join(TOKEN_FILE))
        .map_err(|e| format!("cannot read its token ({TOKEN_FILE}): {e}"))?;
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    let timeout = Some(Duration::from_secs(10));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    let request = format!(
        "POST /api/runs/{id}/cancel HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        token.trim()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{addr}: {e}"))?;
    // The status line is all that is read: the answer is small, and bounded anyway.
    let mut head = Vec::new();
    stream
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| format!("{addr}: {e}"))?;
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{addr} answered no HTTP status"))
}

/// Runs `cancel`.
pub fn cancel(args: &CancelArgs) -> Result<(), CancelError> {
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => crate::config::default_data_dir()?,
    };
    let shown = dir.display().to_string();
    let id = args.run.clone();
    let no_run = || CancelError::NoRun {
        id: id.clone(),
        dir: shown.clone(),
    };
    if !dir.join(runs::DB_FILE).is_file() {
        return Err(no_run());
    }
    let store = RunStore::open(&dir)?;
    let summary = store.get_summary(&id)?.ok_or_else(no_run)?;
    if summary.state.is_final() {
        return Err(CancelError::Ended {
            id,
            state: summary.state,
        });
    }
    if summary.target.is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CancelError::Runtime)?;
        return runtime.block_on(async {
            let targets = targets::Targets::new(
                store.clone(),
                Events::new(),
                &dir,
                crate::config::targets_options(),
            )?;
            if targets.cancel(&id).await? {
                println!("run {id}: cancel requested; the service records the run CANCELLED");
                Ok(())
            } else {
                let state = store
                    .get_summary(&id)?
                    .map_or(RunState::Cancelled, |s| s.state);
                Err(CancelError::Ended { id, state })
            }
        });
    }
    let Some(owner) = store.open_runs()?.into_iter().find(|r| r.id == id) else {
        return Err(no_run());
    };
    let alive = owner.owner_start.is_some()
        && runs::store::process_start(owner.owner_pid) == owner.owner_start;
    if !alive {
        return Err(CancelError::OwnerGone {
            id,
            pid: owner.owner_pid,
            dir: shown,
        });
    }
    match server_of(&dir) {
        Some((addr, pid)) if pid == owner.owner_pid => match ask_server(&dir, &addr, &id) {
            Ok(200) => {}
            Ok(status) => {
                return Err(CancelError::Server {
                    id,
                    pid,
                    message: format!("it answered HTTP {status}"),
                })
            }
            Err(message) => return Err(CancelError::Server { id, pid, message }),
        },
        _ => {
            let pid = owner.owner_pid;
            let signed = libc::pid_t::try_from(pid).unwrap_or(0);
            // SAFETY: kill only sends SIGINT to the live process that owns the run (its start
            // time was checked just above, so the id is not a recycled one).
            if signed <= 0 || unsafe { libc::kill(signed, libc::SIGINT) } != 0 {
                return Err(CancelError::Signal {
                    id,
                    pid,
                    source: std::io::Error::last_os_error(),
                });
            }
        }
    }
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(s) = store.get_summary(&id)? {
            if s.state.is_final() {
                println!("run {id} {}", s.state.as_str());
                return Ok(());
            }
        }
        if std::time::Instant::now() >= deadline {
            return Err(CancelError::Timeout {
                id,
                seconds: WAIT.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
