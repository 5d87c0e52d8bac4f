//! Managed Python environments and their warm workers.
//!
//! - The *runtime*: the base Python ([`crate::EngineConfig::python`]) when it can
//!   import `kfp`; otherwise a venv `<data>/envs/runtime-<python version>` with `kfp`
//!   installed into it once.
//! - A venv per distinct set of `packages_to_install`, `<data>/envs/<hash>`, created with `uv`
//!   when it is on `PATH` (else `python -m venv` and pip). It sees the runtime's packages
//!   through a `.pth` file, so `kfp` and its dependencies are not installed again; what the
//!   component asks for is installed on top and takes precedence.
//! - A warm worker per environment (`python/worker.py`): `kfp` imported once, one fork per task.
//!   It starts through [`process::spawn`] (without `PIPELINE_CANVAS_*` variables, so its forks
//!   never see a token) and gets SIGTERM when the engine dies, on which it kills its tasks'
//!   process groups and exits; each fork also dies with the worker. It pumps each task's output
//!   into the task's log, capped like every log ([`super::tasklog`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use super::process;
use super::tasklog;

/// The worker script, shipped inside the binary.
pub const WORKER_SCRIPT: &str = include_str!("../python/worker.py");

/// What is installed into a runtime venv when the base Python has no `kfp`.
pub const KFP_REQUIREMENT: &str = "kfp==2.17.3";

/// How long a new worker may take to import `kfp`.
const WORKER_START_TIMEOUT: Duration = Duration::from_secs(180);

/// A Python environment tasks can run in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Env {
    /// Its interpreter.
    pub python: PathBuf,
    /// The folder with its executables (put first on `PATH` for host commands).
    pub bin_dir: PathBuf,
}

/// What the runtime Python is.
#[derive(Debug, Clone, Deserialize)]
struct Probe {
    executable: PathBuf,
    version: String,
    kfp: Option<String>,
    site: Vec<PathBuf>,
}

const PROBE: &str = r#"
import json, site, sys, sysconfig
try:
    import importlib.metadata as m
    kfp = m.version('kfp')
except Exception:
    kfp = None
paths = []
for p in [sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']] + list(getattr(site, 'getsitepackages', lambda: [])()):
    if p not in paths:
        paths.append(p)
print(json.dumps({'executable': sys.executable, 'version': sys.version.split()[0], 'kfp': kfp, 'site': paths}))
"#;

/// The environments of one data folder. Cheap to clone.
#[derive(Clone)]
pub struct PythonEnvs {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    base_python: PathBuf,
    runtime: tokio::sync::Mutex<Option<(Env, Probe)>>,
    workers: tokio::sync::Mutex<HashMap<PathBuf, Arc<Worker>>>,
}

impl std::fmt::Debug for PythonEnvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonEnvs")
            .field("dir", &self.inner.dir)
            .field("base_python", &self.inner.base_python)
            .finish()
    }
}

/// Finds `program` on `PATH` (or checks it when it is a path).
pub fn which(program: &str, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    let path = path_var
        .map(|p| p.to_os_string())
        .or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `cmd` to its end through [`process::spawn`], capturing its standard output.
async fn output(mut cmd: Command) -> std::io::Result<std::process::Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    process::spawn(cmd, libc::SIGKILL)
        .await?
        .wait_with_output()
        .await
}

/// Takes the exclusive lock of the environment `dir` (the file `<dir>.lock`), waiting while
/// another task, engine or process holds it: only the holder creates or recreates `dir`, so
/// nobody removes an environment another one is installing or using. `log` (a task's log)
/// says when it waits. Released when the returned file is dropped.
async fn lock_env(dir: &Path, log: Option<&Path>) -> Result<std::fs::File, String> {
    if let Some(parent) = dir.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let path = dir.with_extension("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()))
        }
        Err(std::fs::TryLockError::WouldBlock) => {}
    }
    if let Some(log) = log {
        append_line(
            log,
            &format!(
                "Waiting for the Python environment {} that another task or process is installing ...",
                dir.display()
            ),
        );
    }
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| format!("waiting for the lock {}: {e}", path.display()))?
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))
}

impl PythonEnvs {
    /// Environments under `dir` (by default `<data_dir>/envs`), built from `base_python`.
    pub fn new(dir: &Path, base_python: PathBuf) -> Self {
        Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                base_python,
                runtime: tokio::sync::Mutex::new(None),
                workers: tokio::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    async fn probe(python: &Path) -> Result<Probe, String> {
        let mut cmd = Command::new(python);
        cmd.args(["-c", PROBE]);
        let out = output(cmd).await.map_err(|e| {
                format!(
                    "cannot run the Python interpreter {} ({e}); install Python 3 or set PIPELINE_CANVAS_PYTHON",
                    python.display()
                )
            })?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "unexpected answer from {} ({e}): {}",
                python.display(),
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// The runtime environment (a Python that imports `kfp`), creating it on first use.
    pub async fn runtime(&self) -> Result<Env, String> {
        let mut guard = self.inner.runtime.lock().await;
        if let Some((env, _)) = guard.as_ref() {
            return Ok(env.clone());
        }
        let base = Self::probe(&self.inner.base_python).await?;
        let probe = if base.kfp.is_some() {
            base
        } else {
            let dir = self.inner.dir.join(format!("runtime-{}", base.version));
            let python = dir.join("bin/python");
            let _lock = lock_env(&dir, None).await?;
            if !dir.join(".ready").is_file() {
                tracing::info!(env = %dir.display(), "installing the KFP runtime ({KFP_REQUIREMENT}) for local runs");
                self.create_venv(
                    &base.executable,
                    &dir,
                    &[KFP_REQUIREMENT.to_string()],
                    &[],
                    None,
                    None,
                )
                .await?;
            }
            Self::probe(&python).await?
        };
        let env = Env {
            bin_dir: probe
                .executable
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            python: probe.executable.clone(),
        };
        *guard = Some((env.clone(), probe));
        Ok(env)
    }

    /// The environment for a component's packages (the runtime when there are none). Created
    /// once; when `log` is given (the task's log) the installation's progress is written there,
    /// and a task waiting for another one's installation says so.
    pub async fn env_for(
        &self,
        packages: &[String],
        pip_args: &[String],
        log: Option<&Path>,
    ) -> Result<Env, String> {
        let runtime = self.runtime().await?;
        if packages.is_empty() {
            return Ok(runtime);
        }
        let site = {
            let guard = self.inner.runtime.lock().await;
            guard
                .as_ref()
                .map(|(_, p)| p.site.clone())
                .unwrap_or_default()
        };
        let mut sorted = packages.to_vec();
        sorted.sort();
        let mut h = Sha256::new();
        h.update(runtime.python.display().to_string());
        for p in sorted.iter().chain(pip_args) {
            h.update([0]);
            h.update(p);
        }
        let key: String = format!("{:x}", h.finalize()).chars().take(16).collect();
        let dir = self.inner.dir.join(&key);
        let _lock = lock_env(&dir, log).await?;
        if !dir.join(".ready").is_file() {
            tracing::info!(env = %dir.display(), packages = ?sorted, "creating a Python environment");
            if let Some(log) = log {
                append_line(
                    log,
                    &format!(
                        "Installing the Python environment {} (once; later tasks and runs reuse it): {}",
                        dir.display(),
                        sorted.join(" ")
                    ),
                );
            }
            let started = std::time::Instant::now();
            self.create_venv(&runtime.python, &dir, &sorted, pip_args, Some(&site), log)
                .await?;
            if let Some(log) = log {
                append_line(
                    log,
                    &format!(
                        "The Python environment is ready ({:.0} s).",
                        started.elapsed().as_secs_f64()
                    ),
                );
            }
        }
        Ok(Env {
            python: dir.join("bin/python"),
            bin_dir: dir.join("bin"),
        })
    }

    /// Creates the venv `dir` from `python` with `packages`; `layer` makes the runtime's
    /// site-packages visible inside it. Writes `.ready` last, so a half-made venv is redone.
    async fn create_venv(
        &self,
        python: &Path,
        dir: &Path,
        packages: &[String],
        pip_args: &[String],
        layer: Option<&[PathBuf]>,
        progress: Option<&Path>,
    ) -> Result<(), String> {
        if dir.exists() {
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
        if let Some(parent) = dir.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // The installation's output: the task's log when a task waits for it (its progress is
        // shown there), else a file beside the environment.
        let (log_path, log) = match progress {
            Some(p) => (
                p.to_path_buf(),
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p),
            ),
            None => {
                let p = dir.with_extension("install.log");
                let f = std::fs::File::create(&p);
                (p, f)
            }
        };
        let log = log.map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
        let quiet = if progress.is_some() {
            "--progress-bar=off"
        } else {
            "--quiet"
        };
        let run = |mut cmd: Command, what: String| {
            let log = log.try_clone();
            let log_path = log_path.clone();
            async move {
                let log = log.map_err(|e| e.to_string())?;
                let err = log.try_clone().map_err(|e| e.to_string())?;
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::from(log))
                    .stderr(Stdio::from(err))
                    .kill_on_drop(true);
                let status = async { process::spawn(cmd, libc::SIGKILL).await?.wait().await }
                    .await
                    .map_err(|e| format!("cannot run {what}: {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{what} failed ({status}){}; its output ends with:\n{}",
                        if what.contains("install") {
                            " (is the package index reachable? pip needs PyPI or the index the component names)"
                        } else {
                            ""
                        },
                        tasklog::tail_lines(&log_path, 15)
                    ))
                }
            }
        };
        let uv = which("uv", None);
        let venv_python = dir.join("bin/python");
        match &uv {
            Some(uv) => {
                let mut c = Command::new(uv);
                c.arg("venv")
                    .arg("--quiet")
                    .arg("--python")
                    .arg(python)
                    .arg(dir);
                run(c, "uv venv".into()).await?;
            }
            None => {
                let mut c = Command::new(python);
                c.args(["-m", "venv"]).arg(dir);
                run(c, format!("{} -m venv", python.display())).await?;
            }
        }
        if let Some(site) = layer {
            let mut cmd = Command::new(&venv_python);
            cmd.args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]);
            let out = output(cmd)
                .await
                .map_err(|e| format!("cannot run {}: {e}", venv_python.display()))?;
            let purelib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            let lines: Vec<String> = site.iter().map(|p| p.display().to_string()).collect();
            tokio::fs::write(
                purelib.join("_pipeline_canvas_runtime.pth"),
                lines.join("\n") + "\n",
            )
            .await
            .map_err(|e| format!("cannot write into {}: {e}", purelib.display()))?;
        }
        match &uv {
            Some(uv) => {
                let mut c = Command::new(uv);
                c.args(["pip", "install"])
                    .args(progress.is_none().then_some("--quiet"))
                    .arg("--python")
                    .arg(&venv_python)
                    .args(pip_args)
                    .args(packages);
                run(c, format!("uv pip install {}", packages.join(" "))).await?;
            }
            None => {
                let mut c = Command::new(&venv_python);
                c.args([
                    "-m",
                    "pip",
                    "install",
                    quiet,
                    "--disable-pip-version-check",
                    "--no-warn-script-location",
                ])
                .args(pip_args)
                .args(packages);
                run(c, format!("pip install {}", packages.join(" "))).await?;
            }
        }
        tokio::fs::write(dir.join(".ready"), json!(packages).to_string())
            .await
            .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
        Ok(())
    }

    /// The warm worker of `env`, started if needed.
    pub async fn worker(&self, env: &Env) -> Result<Arc<Worker>, String> {
        let mut workers = self.inner.workers.lock().await;
        if let Some(w) = workers.get(&env.python) {
            if w.is_alive() {
                return Ok(w.clone());
            }
        }
        let script = self.inner.dir.join("worker.py");
        let current = std::fs::read_to_string(&script).ok();
        if current.as_deref() != Some(WORKER_SCRIPT) {
            std::fs::create_dir_all(&self.inner.dir)
                .and_then(|()| std::fs::write(&script, WORKER_SCRIPT))
                .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
        }
        let log = self.inner.dir.join("worker.log");
        let w = Arc::new(Worker::start(env, &script, &log).await?);
        workers.insert(env.python.clone(), w.clone());
        Ok(w)
    }

    /// Starts the runtime's worker in the background, so the first run does not wait for it.
    pub fn prewarm(&self) {
        let envs = self.clone();
        tokio::spawn(async move {
            let result = async {
                let env = envs.runtime().await?;
                envs.worker(&env).await.map(|_| ())
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "the Python runtime for local runs is not ready");
            }
        });
    }
}

/// What a Python task runs in the worker.
#[derive(Debug, Clone)]
pub struct WorkerJob {
    /// Working folder of the child.
    pub cwd: PathBuf,
    /// Its stdout and stderr go here.
    pub log: PathBuf,
    /// Where the component's program is written.
    pub module_path: PathBuf,
    /// The program.
    pub program: String,
    /// Arguments for `executor_main` after `--component_module_path`.
    pub argv: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// The most bytes the log may hold ([`super::tasklog`]).
    pub log_limit: u64,
}

/// How a job in a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerExit {
    /// The exit code (negative: the signal that killed it).
    pub code: i32,
    /// The log reached its limit and later output was discarded.
    pub log_truncated: bool,
}

/// A job started in a worker: its process id and its exit to come.
#[derive(Debug)]
pub struct Started {
    /// The child's pid (also its process group).
    pub pid: u32,
    /// How it ended; an error when the worker died.
    pub exit: oneshot::Receiver<WorkerExit>,
}

struct Pending {
    started: Option<oneshot::Sender<Result<u32, String>>>,
    exited: Option<oneshot::Sender<WorkerExit>>,
}

/// A warm Python worker process.
pub struct Worker {
    stdin: tokio::sync::Mutex<ChildStdin>,
    pending: Arc<Mutex<HashMap<u64, Pending>>>,
    next: AtomicU64,
    alive: Arc<AtomicBool>,
    _child: Child,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl Worker {
    async fn start(env: &Env, script: &Path, log: &Path) -> Result<Self, String> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let mut cmd = Command::new(&env.python);
        cmd.arg("-u")
            .arg(script)
            .env("_KFP_RUNTIME", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        // SIGTERM when the engine dies: the worker kills its tasks' groups, then exits.
        let mut child = process::spawn(cmd, libc::SIGTERM)
            .await
            .map_err(|e| format!("cannot start {}: {e}", env.python.display()))?;
        let stdin = child.stdin.take().ok_or("no worker stdin")?;
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(WORKER_START_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| {
                format!(
                    "the Python worker ({}) did not start in time",
                    env.python.display()
                )
            })?
            .map_err(|e| format!("cannot read from the Python worker: {e}"))?
            .ok_or_else(|| {
                format!(
                    "the Python worker ({}) exited at start; see {}:\n{}",
                    env.python.display(),
                    log.display(),
                    tasklog::tail_lines(log, 10)
                )
            })?;
        let hello: Value = serde_json::from_str(&first)
            .map_err(|e| format!("unexpected line from the Python worker ({e}): {first}"))?;
        if hello["event"] != "ready" {
            return Err(format!(
                "the Python worker ({}) cannot run tasks: {}",
                env.python.display(),
                hello["message"].as_str().unwrap_or(&first)
            ));
        }
        tracing::debug!(python = %env.python.display(), kfp = %hello["kfp"], "Python worker ready");
        let pending: Arc<Mutex<HashMap<u64, Pending>>> = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        {
            let pending = pending.clone();
            let alive = alive.clone();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                        tracing::warn!(%line, "unexpected line from the Python worker");
                        continue;
                    };
                    let Some(id) = msg["id"].as_u64() else {
                        continue;
                    };
                    let Ok(mut map) = pending.lock() else {
                        break;
                    };
                    match msg["event"].as_str() {
                        Some("started") => {
                            if let Some(tx) = map.get_mut(&id).and_then(|p| p.started.take()) {
                                let pid = msg["pid"]
                                    .as_u64()
                                    .and_then(|p| u32::try_from(p).ok())
                                    .unwrap_or(0);
                                let _ = tx.send(Ok(pid));
                            }
                        }
                        Some("exited") => {
                            if let Some(mut p) = map.remove(&id) {
                                if let Some(tx) = p.exited.take() {
                                    let code = msg["code"]
                                        .as_i64()
                                        .and_then(|c| i32::try_from(c).ok())
                                        .unwrap_or(1);
                                    let _ = tx.send(WorkerExit {
                                        code,
                                        log_truncated: msg["log_truncated"] == true,
                                    });
                                }
                            }
                        }
                        Some("failed") => {
                            if let Some(mut p) = map.remove(&id) {
                                if let Some(tx) = p.started.take() {
                                    let _ = tx.send(Err(msg["message"]
                                        .as_str()
                                        .unwrap_or("the worker could not start the task")
                                        .to_string()));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                alive.store(false, Ordering::SeqCst);
                if let Ok(mut map) = pending.lock() {
                    map.clear();
                }
            });
        }
        Ok(Self {
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            next: AtomicU64::new(1),
            alive,
            _child: child,
        })
    }

    /// Whether the worker process is still there.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Forks a child running `job`; returns once it has started.
    pub async fn run(&self, job: &WorkerJob) -> Result<Started, String> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let (started_tx, started_rx) = oneshot::channel();
        let (exited_tx, exited_rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| "worker state poisoned".to_string())?
            .insert(
                id,
                Pending {
                    started: Some(started_tx),
                    exited: Some(exited_tx),
                },
            );
        let request = json!({
            "op": "run",
            "id": id,
            "cwd": job.cwd,
            "log": job.log,
            "module_path": job.module_path,
            "program": job.program,
            "argv": job.argv,
            "env": job.env,
            "log_limit": job.log_limit,
        });
        let mut line = request.to_string();
        line.push('\n');
        {
            let mut stdin = self.stdin.lock().await;
            stdin
                .write_all(line.as_bytes())
                .await
                .map_err(|e| format!("the Python worker is gone ({e})"))?;
            stdin
                .flush()
                .await
                .map_err(|e| format!("the Python worker is gone ({e})"))?;
        }
        let pid = started_rx
            .await
            .map_err(|_| "the Python worker stopped before starting the task".to_string())??;
        Ok(Started {
            pid,
            exit: exited_rx,
        })
    }
}

/// Appends a line to a task's log (best effort: the log is for the user, the task goes on).
fn append_line(log: &Path, line: &str) {
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{line}");
    }
}
