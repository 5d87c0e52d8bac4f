//! Local model endpoints: the TorchServe servers that the local backing of a deploy task
//! starts, owned by the [`crate::Engine`] ([`crate::Engine::endpoints`]).
//!
//! - [`Endpoints::deploy`] picks free loopback ports, writes a TorchServe config into the
//!   endpoint's folder (`<runs>/<run>/endpoints/<id>/`), starts `torchserve --foreground` as
//!   the leader of its own process group (through [`process::spawn_service`]: no parent-death
//!   signal, so an endpoint the user keeps outlives the app), its output in `ts.log`, and waits
//!   until the model has a READY worker (failing early, with the worker's error, when its
//!   worker keeps dying while loading the model). The endpoint is recorded
//!   in the run store (`runs::endpoints`) from the start, with its process (pid and start
//!   time) and its owner (this process and engine instance).
//! - [`Endpoints::stop`], [`Endpoints::stop_run`] (a run that ends FAILED or CANCELLED),
//!   [`Endpoints::stop_all`], [`Endpoints::shutdown`] (every endpoint of this engine not kept)
//!   and [`stop_recorded`] (the command line, without an engine) stop the process group:
//!   SIGTERM, then SIGKILL after [`STOP_GRACE`].
//! - At [`crate::Engine::open`], [`Endpoints::reap`] stops what a crashed owner left: an open
//!   endpoint whose owning engine is gone is killed (unless kept) and recorded stopped.

use std::collections::HashSet;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use api::{Endpoint, EndpointState};
use runs::{EndpointRecord, NewEndpoint, RunStore, StoreError};
use tokio::process::Command;
use tokio::sync::watch;

use crate::process;
use crate::python_env::which;
use crate::values::safe_segment;

/// How long [`Endpoints::deploy`] waits for the model to be ready by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a stopped server has to exit after SIGTERM before its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// The longest path a Unix socket binds to (`sun_path` holds 108 bytes with its NUL).
const SOCKET_PATH_MAX: usize = 107;

/// What TorchServe's worker adds to its temporary folder for its socket (`.ts.sock.<port>`).
const TS_SOCKET_NAME: &str = "/.ts.sock.65535";

/// The most bytes of `ts.log` (without its request and metrics lines) quoted in an error.
const ERROR_TAIL: usize = 4 * 1024;

/// The most bytes of `ts.log` (without its request and metrics lines) copied into the
/// deploy task's log.
const LOG_TAIL: usize = 64 * 1024;

/// The most bytes read from the end of `ts.log` to look for a dying worker or to quote it.
const SCAN_TAIL: u64 = 512 * 1024;

/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(250);

/// What the user is told when Java is missing.
pub const JAVA_MISSING: &str =
    "TorchServe needs Java 17: sudo apt-get install openjdk-17-jre-headless";

/// The note of an endpoint reaped at start.
pub const REAPED: &str = "reaped: the server that started it exited";

/// Why an endpoint operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// No endpoint with this id.
    #[error("no endpoint with id {0:?}")]
    NotFound(String),
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking stop could not be run.
    #[error("stopping endpoints failed: {0}")]
    Join(String),
}

/// What to deploy: a MAR file served by TorchServe, for the task `task_path` of run `run_id`.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// The run whose task deploys.
    pub run_id: String,
    /// The task's path in the run.
    pub task_path: String,
    /// The model's name: served at `/predictions/<model_name>`.
    pub model_name: String,
    /// The folder holding the MAR file (TorchServe's model store): `<model_name>.mar`, or the
    /// only `.mar` file in it.
    pub mar_folder: PathBuf,
    /// The `torchserve` executable (of the managed venv; the caller finds it).
    pub torchserve: PathBuf,
    /// The task's log: TorchServe's start-up output is appended to it.
    pub log: PathBuf,
    /// Cancellation: the deploy stops the server and fails when it turns true.
    pub cancel: Option<watch::Receiver<bool>>,
    /// How long to wait for the model to be ready.
    pub timeout: Duration,
}

/// A deployed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// Its id (`ep-<8 hex>`).
    pub id: String,
    /// The inference URL: `http://127.0.0.1:<port>/predictions/<model>`.
    pub url: String,
    /// The management API's base URL (`http://127.0.0.1:<port>`).
    pub management_url: String,
    /// The server process (leader of its process group).
    pub pid: u32,
    /// Its folder (`config.properties`, `ts.log`).
    pub folder: PathBuf,
    /// How long it took from start to ready.
    pub ready_after: Duration,
}

/// The engine instances alive in this process: an endpoint whose owner is this process but
/// whose instance is not here was left by an engine dropped without shutting down.
fn live_instances() -> &'static Mutex<HashSet<String>> {
    static LIVE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LIVE.get_or_init(Mutex::default)
}

/// Registers an engine instance while it lives.
struct InstanceGuard(String);

impl InstanceGuard {
    fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut live) = live_instances().lock() {
            live.insert(id.clone());
        }
        Self(id)
    }
}

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        if let Ok(mut live) = live_instances().lock() {
            live.remove(&self.0);
        }
    }
}

/// The endpoints of an engine. Cheap to clone.
#[derive(Clone)]
pub struct Endpoints {
    inner: Arc<Inner>,
}

struct Inner {
    store: RunStore,
    runs_dir: PathBuf,
    instance: InstanceGuard,
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("instance", &self.inner.instance.0)
            .finish()
    }
}

/// Whether the engine that owns `r` is gone: its process has exited, or it is this process and
/// the instance was dropped.
fn owner_gone(r: &EndpointRecord) -> bool {
    let me = process::current();
    if (r.owner_pid, r.owner_start) == me {
        return !live_instances()
            .lock()
            .is_ok_and(|live| live.contains(&r.owner_instance));
    }
    !process::is_alive(r.owner_pid, r.owner_start)
}

/// Stops the server process of `r` (if it still runs): SIGTERM to its group, then SIGKILL to
/// what is left after `grace`. Blocking.
fn end_process(r: &EndpointRecord, grace: Duration) {
    if let Some(pid) = r.endpoint.pid {
        if process::is_alive(pid, r.pid_start) {
            process::terminate_group(pid);
            let deadline = Instant::now() + grace;
            while process::group_is_running(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        process::kill_task_group(pid, r.pid_start);
    }
    // The short temporary folder, when it had one (the one in its own folder stays with the run).
    let _ = std::fs::remove_dir_all(short_temp_dir(&r.endpoint.id));
}

/// TorchServe's temporary folder (its pid file and its worker's socket) for endpoint `id`:
/// `<folder>/tmp`, unless the worker's socket there would not fit a Unix socket path (a data
/// folder deep in a home folder: `…/runs/<run>/endpoints/<id>/tmp/.ts.sock.9000` easily
/// passes 107 bytes, and the worker dies with "AF_UNIX path too long"); then the short
/// [`short_temp_dir`].
fn ts_temp_dir(folder: &Path, id: &str) -> PathBuf {
    let own = folder.join("tmp");
    if own.as_os_str().len().saturating_add(TS_SOCKET_NAME.len()) <= SOCKET_PATH_MAX {
        own
    } else {
        short_temp_dir(id)
    }
}

/// `<system temp folder>/pipeline-canvas-<id>`: endpoint `id`'s temporary folder when its own
/// is too deep for a socket path ([`ts_temp_dir`]); removed when the endpoint stops.
fn short_temp_dir(id: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pipeline-canvas-{}", safe_segment(id)))
}

/// Stops endpoint `id` recorded in `store`, with `reason` as its note: recorded `stopped`
/// first (so its exit is not taken for a failure), then its process group ended. Works
/// without an engine (the command line). Returns the endpoint as it is afterwards; blocking.
pub fn stop_recorded(store: &RunStore, id: &str, reason: &str) -> Result<Endpoint, EndpointError> {
    stop_within(store, id, reason, STOP_GRACE)
}

/// [`stop_recorded`], giving the server `grace` to exit after SIGTERM.
fn stop_within(
    store: &RunStore,
    id: &str,
    reason: &str,
    grace: Duration,
) -> Result<Endpoint, EndpointError> {
    let r = store
        .get_endpoint(id)?
        .ok_or_else(|| EndpointError::NotFound(id.to_string()))?;
    store.set_endpoint_state(id, EndpointState::Stopped, Some(reason))?;
    end_process(&r, grace);
    tracing::info!(endpoint = id, reason, "endpoint stopped");
    let after = store
        .get_endpoint(id)?
        .ok_or_else(|| EndpointError::NotFound(id.to_string()))?;
    Ok(after.endpoint)
}

/// Stops every open endpoint recorded in `store` (blocking); returns the ones stopped.
pub fn stop_all_recorded(store: &RunStore, reason: &str) -> Result<Vec<Endpoint>, EndpointError> {
    store
        .list_endpoints(true)?
        .iter()
        .map(|r| stop_recorded(store, &r.endpoint.id, reason))
        .collect()
}

/// The last `max` bytes of `path` as text (lossy), from a line start when cut.
fn tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(max);
    if f.seek(std::io::SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    if f.take(max).read_to_end(&mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    match (from > 0, text.find('\n')) {
        (true, Some(i)) => text.get(i + 1..).unwrap_or_default().to_string(),
        _ => text,
    }
}

/// How many times [`Endpoints::deploy`] starts TorchServe when a port it picked was taken
/// before the server bound it.
const PORT_ATTEMPTS: u32 = 3;

/// What TorchServe's log says when a port is taken (Java's bind error).
const PORT_TAKEN: &str = "Address already in use";

/// Why one try of a deploy failed, and whether a port was taken (worth another try).
struct DeployFailure {
    message: String,
    ports_taken: bool,
}

/// How many ports a TorchServe listens on: inference, management and metrics over HTTP, and
/// inference and management over gRPC (which TorchServe always starts, on 7070/7071 unless
/// told otherwise, so two servers would collide).
const PORTS: usize = 5;

/// Where [`free_ports`] looks: below Linux's default ephemeral range (32768–60999), from which
/// the system gives ports to outgoing connections and to `bind(0)`. A port probed there and
/// released could be taken by any of those before TorchServe binds it (seen in tests running
/// side by side); one from this range is only taken by a program asking for it by number.
const PORT_RANGE: std::ops::Range<u16> = 20_000..32_768;

/// [`PORTS`] distinct free TCP ports on the loopback interface, picked at random in
/// [`PORT_RANGE`] (any free port when that range has none to give).
fn free_ports() -> std::io::Result<[u16; PORTS]> {
    let (ports, _listeners) = held_ports()?;
    Ok(ports)
}

/// [`PORTS`] ports as [`free_ports`] picks them, with the listeners that hold them (bound, so
/// free when picked; released when dropped).
fn held_ports() -> std::io::Result<([u16; PORTS], Vec<std::net::TcpListener>)> {
    use std::hash::BuildHasher as _;
    let random = std::collections::hash_map::RandomState::new();
    let span = u64::from(PORT_RANGE.end - PORT_RANGE.start);
    let mut listeners = Vec::with_capacity(PORTS);
    let mut ports = [0; PORTS];
    let mut tries = 0u64;
    for port in &mut ports {
        // Held until all are picked, so no port is picked twice.
        let l = loop {
            tries += 1;
            if tries > 200 {
                break std::net::TcpListener::bind(("127.0.0.1", 0))?;
            }
            let offset = u16::try_from(random.hash_one(tries) % span).unwrap_or(0);
            if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", PORT_RANGE.start + offset)) {
                break l;
            }
        };
        *port = l.local_addr()?.port();
        listeners.push(l);
    }
    Ok((ports, listeners))
}

/// The MAR file of `model` in `folder`: `<model>.mar`, else the only `.mar` file there.
fn find_mar(folder: &Path, model: &str) -> Result<String, String> {
    let named = format!("{model}.mar");
    if folder.join(&named).is_file() {
        return Ok(named);
    }
    let entries = std::fs::read_dir(folder)
        .map_err(|e| format!("cannot read the MAR folder {}: {e}", folder.display()))?;
    let mars: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".mar"))
        .collect();
    match &mars[..] {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no MAR file in {} (expected {named})",
            folder.display()
        )),
        _ => Err(format!(
            "{} holds several MAR files and none is {named}: {}",
            folder.display(),
            mars.join(", ")
        )),
    }
}

/// Checks a model name as TorchServe takes it (and as it goes into the config file and the
/// URL): 1 to 128 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit.
fn check_model_name(name: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the model name {name:?} cannot be served: use 1 to 128 letters, digits, '-', '_' or \
             '.', starting with a letter or digit"
        ))
    }
}

/// Checks that `value` can be written as one value of a properties file (no line breaks, no
/// `,` that `load_models` would split on, no `\` escapes); `what` names it in the error.
fn check_config_value(what: &str, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r', ',', '\\']) {
        return Err(format!(
            "{what} {value:?} cannot be given to TorchServe: it holds a line break, ',' or '\\'"
        ));
    }
    Ok(())
}

/// The TorchServe configuration of an endpoint: every listener on loopback, on `ports`
/// ([`free_ports`]), no tokens, one worker.
fn ts_config(ports: [u16; PORTS], store: &Path, model: &str, mar: &str) -> String {
    let [inference, management, metrics, grpc_inference, grpc_management] = ports;
    format!(
        "inference_address=http://127.0.0.1:{inference}\n\
         management_address=http://127.0.0.1:{management}\n\
         metrics_address=http://127.0.0.1:{metrics}\n\
         grpc_inference_address=127.0.0.1\n\
         grpc_inference_port={grpc_inference}\n\
         grpc_management_address=127.0.0.1\n\
         grpc_management_port={grpc_management}\n\
         model_store={}\n\
         load_models={model}={mar}\n\
         default_workers_per_model=1\n\
         disable_token_authorization=true\n\
         install_py_dep_per_model=false\n",
        store.display(),
    )
}

/// The states of `model`'s workers as TorchServe's management API describes them (`READY`,
/// `UNLOADING` while a worker starts or after it died, …); `None` when it does not answer.
/// (`GET /ping` says Healthy even while no worker has loaded the model, so it proves nothing.)
async fn worker_states(
    http: &reqwest::Client,
    management: &str,
    model: &str,
) -> Option<Vec<String>> {
    let r = http
        .get(format!("{management}/models/{model}"))
        .send()
        .await
        .ok()?;
    let body: serde_json::Value = r.json().await.ok()?;
    let states = body
        .as_array()?
        .iter()
        .filter_map(|m| m["workers"].as_array())
        .flatten()
        .filter_map(|w| w["status"].as_str().map(str::to_string))
        .collect();
    Some(states)
}

/// How many times a worker may die while loading the model before the deploy gives up (TorchServe
/// restarts it with a growing delay, forever).
const WORKER_DEATHS: usize = 3;

/// `text` (TorchServe's output) without the request and metrics lines: what says why.
fn quiet(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(" ACCESS_LOG - ") && !l.contains(" TS_METRICS - "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The end of [`quiet`] `text`, at most `max` bytes, from a line start.
fn quiet_tail(text: &str, max: usize) -> String {
    let text = quiet(text);
    let mut from = text.len().saturating_sub(max);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    match (from > 0, text.get(from..).and_then(|t| t.find('\n'))) {
        (true, Some(i)) => text.get(from + i + 1..).unwrap_or_default().to_string(),
        _ => text,
    }
}

/// Why the model cannot load, when TorchServe's log shows its worker died [`WORKER_DEATHS`]
/// times: the first exception the worker printed (`ModuleNotFoundError: No module named …`),
/// or that it died without one.
fn worker_failure(log: &str) -> Option<String> {
    let deaths = log
        .lines()
        .filter(|l| l.contains("Backend worker process died"))
        .count();
    if deaths < WORKER_DEATHS {
        return None;
    }
    let cause = log
        .lines()
        .filter_map(|l| l.split_once(" MODEL_LOG - ").map(|(_, m)| m.trim()))
        .find(|m| {
            let name = m.split(':').next().unwrap_or_default();
            !name.is_empty()
                && !name.contains(' ')
                && ["Error", "Exception", "Exit", "Interrupt"]
                    .iter()
                    .any(|k| name.ends_with(k))
        })
        .map_or_else(
            || "it printed no exception".to_string(),
            |m| format!("its first error: {m}"),
        );
    Some(format!(
        "TorchServe's worker died {deaths} times while loading the model; {cause}"
    ))
}

/// Appends `text` to the task's log (best effort: the deploy's outcome does not depend on it).
fn append_log(log: &Path, text: &str) {
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(log = %log.display(), error = %e, "cannot append to the task's log");
    }
}

impl Endpoints {
    /// The endpoints recorded in `store`, with their folders under `runs_dir`.
    pub(crate) fn new(store: RunStore, runs_dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                runs_dir,
                instance: InstanceGuard::new(),
                http: OnceLock::new(),
            }),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        self.inner
            .http
            .get_or_init(|| {
                // Kept when one is installed already (the remote targets install the same).
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(|e| format!("cannot make an HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every recorded endpoint, newest first.
    pub fn list(&self) -> Result<Vec<Endpoint>, EndpointError> {
        Ok(self
            .inner
            .store
            .list_endpoints(false)?
            .into_iter()
            .map(|r| r.endpoint)
            .collect())
    }

    /// Endpoint `id`.
    pub fn get(&self, id: &str) -> Result<Endpoint, EndpointError> {
        self.inner
            .store
            .get_endpoint(id)?
            .map(|r| r.endpoint)
            .ok_or_else(|| EndpointError::NotFound(id.to_string()))
    }

    /// Sets whether endpoint `id` outlives the app; returns it.
    pub fn set_keep(&self, id: &str, keep: bool) -> Result<Endpoint, EndpointError> {
        if !self.inner.store.set_endpoint_keep(id, keep)? {
            return Err(EndpointError::NotFound(id.to_string()));
        }
        self.get(id)
    }

    /// Runs a blocking stop off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&RunStore) -> Result<T, EndpointError> + Send + 'static,
    ) -> Result<T, EndpointError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| EndpointError::Join(e.to_string()))?
    }

    /// Stops endpoint `id` (the user asked); returns it as it is afterwards.
    pub async fn stop(&self, id: &str) -> Result<Endpoint, EndpointError> {
        let id = id.to_string();
        self.blocking(move |store| stop_recorded(store, &id, "stopped by the user"))
            .await
    }

    /// Stops every open endpoint; returns the ones stopped.
    pub async fn stop_all(&self) -> Result<Vec<Endpoint>, EndpointError> {
        self.blocking(|store| stop_all_recorded(store, "stopped by the user"))
            .await
    }

    /// Stops the open endpoints run `run_id` deployed, as the run ended with `why` (e.g.
    /// "its run failed"); returns them.
    pub async fn stop_run(&self, run_id: &str, why: &str) -> Result<Vec<Endpoint>, EndpointError> {
        let run_id = run_id.to_string();
        let reason = format!("stopped: {why}");
        self.blocking(move |store| {
            store
                .run_endpoints(&run_id)?
                .iter()
                .map(|r| stop_recorded(store, &r.endpoint.id, &reason))
                .collect()
        })
        .await
    }

    /// The app is stopping: stops every open endpoint this engine started that is not kept,
    /// at once (SIGKILL to its group: the server has no state to save, and the app's own
    /// shutdown is short); returns them.
    pub async fn shutdown(&self) -> Result<Vec<Endpoint>, EndpointError> {
        let instance = self.inner.instance.0.clone();
        self.blocking(move |store| {
            store
                .list_endpoints(true)?
                .iter()
                .filter(|r| r.owner_instance == instance && !r.endpoint.keep)
                .map(|r| {
                    stop_within(
                        store,
                        &r.endpoint.id,
                        "stopped: Pipeline Canvas stopped",
                        Duration::ZERO,
                    )
                })
                .collect()
        })
        .await
    }

    /// Stops what an engine that is gone left running (blocking; at [`crate::Engine::open`]):
    /// its open endpoints are killed and recorded stopped ([`REAPED`]), except the kept ones
    /// that still serve. Returns how many were reaped.
    pub(crate) fn reap(&self) -> Result<usize, EndpointError> {
        let store = &self.inner.store;
        let mut n = 0;
        for r in store.list_endpoints(true)? {
            if !owner_gone(&r) {
                continue;
            }
            let alive = r
                .endpoint
                .pid
                .is_some_and(|pid| process::is_alive(pid, r.pid_start));
            if alive && r.endpoint.keep {
                continue;
            }
            let note = if alive {
                REAPED
            } else {
                "stopped: its server process had exited while Pipeline Canvas was not running"
            };
            store.set_endpoint_state(&r.endpoint.id, EndpointState::Stopped, Some(note))?;
            end_process(&r, Duration::ZERO);
            n += 1;
        }
        if n > 0 {
            tracing::warn!(endpoints = n, "stopped endpoints left by a previous server");
        }
        Ok(n)
    }

    /// Deploys a MAR with TorchServe and waits until the model is ready (see the module
    /// documentation). On failure the server is stopped, the endpoint recorded failed, and the
    /// error names what is missing or quotes the end of `ts.log`. Must be called inside a tokio
    /// runtime.
    pub async fn deploy(&self, req: DeployRequest) -> Result<EndpointInfo, String> {
        if which("java", None).is_none()
            && !std::env::var_os("JAVA_HOME")
                .is_some_and(|h| Path::new(&h).join("bin/java").is_file())
        {
            return Err(JAVA_MISSING.to_string());
        }
        if !req.torchserve.is_file() {
            return Err(format!(
                "TorchServe is not installed: {} does not exist; install it into the model's \
                 environment with `pip install torchserve==0.12.0 torch-model-archiver==0.12.0`",
                req.torchserve.display()
            ));
        }
        check_model_name(&req.model_name)?;
        let mar = find_mar(&req.mar_folder, &req.model_name)?;
        check_config_value("the MAR file name", &mar)?;
        let model_store = std::fs::canonicalize(&req.mar_folder).map_err(|e| {
            format!(
                "cannot open the MAR folder {}: {e}",
                req.mar_folder.display()
            )
        })?;
        check_config_value("the MAR folder", &model_store.display().to_string())?;
        let mut attempt = 1;
        loop {
            match self.deploy_once(&req, &mar, &model_store).await {
                Err(failed) if failed.ports_taken && attempt < PORT_ATTEMPTS => {
                    // A port picked free was taken before TorchServe bound it: the failed
                    // endpoint stays recorded (failed), and a new one tries other ports.
                    tracing::warn!(
                        attempt,
                        "a TorchServe port was taken meanwhile: trying others"
                    );
                    append_log(
                        &req.log,
                        "--- a port picked for TorchServe was taken by another program before \
                         it started: starting it again on other ports ---\n",
                    );
                    attempt += 1;
                }
                Err(failed) => return Err(failed.message),
                Ok(info) => return Ok(info),
            }
        }
    }

    /// One try of [`Endpoints::deploy`] on ports picked now: a new endpoint, serving or failed.
    async fn deploy_once(
        &self,
        req: &DeployRequest,
        mar: &str,
        model_store: &Path,
    ) -> Result<EndpointInfo, DeployFailure> {
        let fail = |message: String| DeployFailure {
            message,
            ports_taken: false,
        };
        let id = format!("ep-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let folder = self
            .inner
            .runs_dir
            .join(safe_segment(&req.run_id))
            .join("endpoints")
            .join(&id);
        let tmp = ts_temp_dir(&folder, &id);
        for dir in [&folder, &tmp] {
            std::fs::create_dir_all(dir).map_err(|e| {
                fail(format!(
                    "cannot create the endpoint folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let ports =
            free_ports().map_err(|e| fail(format!("cannot find a free loopback port: {e}")))?;
        let config = folder.join("config.properties");
        std::fs::write(&config, ts_config(ports, model_store, &req.model_name, mar))
            .map_err(|e| fail(format!("cannot write {}: {e}", config.display())))?;
        let inference = format!("http://127.0.0.1:{}", ports[0]);
        let management = format!("http://127.0.0.1:{}", ports[1]);
        let url = format!("{inference}/predictions/{}", req.model_name);
        self.inner
            .store
            .insert_endpoint(&NewEndpoint {
                id: id.clone(),
                run_id: req.run_id.clone(),
                task_path: req.task_path.clone(),
                model_name: req.model_name.clone(),
                mar_folder: model_store.display().to_string(),
                url: url.clone(),
                management_url: management.clone(),
                folder: folder.clone(),
                owner: process::current(),
                owner_instance: self.inner.instance.0.clone(),
            })
            .map_err(|e| fail(format!("cannot record the endpoint: {e}")))?;
        let ts_log = folder.join("ts.log");
        let started = Instant::now();
        let outcome = self
            .start_and_wait(req, &id, &folder, &config, model_store, &management)
            .await;
        let startup = quiet_tail(&tail(&ts_log, SCAN_TAIL), LOG_TAIL);
        append_log(
            &req.log,
            &format!(
                "--- TorchServe start-up output ({}) ---\n{startup}\n--- end of TorchServe \
                 start-up output ---\n",
                ts_log.display()
            ),
        );
        match outcome {
            Ok(pid) => {
                let _ = self
                    .inner
                    .store
                    .set_endpoint_state(&id, EndpointState::Serving, None);
                let ready_after = started.elapsed();
                tracing::info!(endpoint = %id, %url, ?ready_after, "endpoint serving");
                Ok(EndpointInfo {
                    id,
                    url,
                    management_url: management,
                    pid,
                    folder,
                    ready_after,
                })
            }
            Err(why) => {
                let log_tail = tail(&ts_log, SCAN_TAIL);
                let message = format!(
                    "{why}\n--- end of {} ---\n{}",
                    ts_log.display(),
                    quiet_tail(&log_tail, ERROR_TAIL)
                );
                let store = self.inner.store.clone();
                let failed_id = id.clone();
                let note = why.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let _ =
                        store.set_endpoint_state(&failed_id, EndpointState::Failed, Some(&note));
                    if let Ok(Some(r)) = store.get_endpoint(&failed_id) {
                        end_process(&r, STOP_GRACE);
                    }
                })
                .await;
                Err(DeployFailure {
                    message,
                    ports_taken: log_tail.contains(PORT_TAKEN),
                })
            }
        }
    }

    /// Starts the server of endpoint `id` and waits until it is ready; returns its pid, or
    /// why it is not ready (the caller stops it).
    async fn start_and_wait(
        &self,
        req: &DeployRequest,
        id: &str,
        folder: &Path,
        config: &Path,
        model_store: &Path,
        management: &str,
    ) -> Result<u32, String> {
        let ts_log = folder.join("ts.log");
        let ts_log = ts_log.as_path();
        let http = self.http()?.clone();
        let log = std::fs::File::create(ts_log)
            .map_err(|e| format!("cannot create {}: {e}", ts_log.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", ts_log.display()))?;
        let tmp = ts_temp_dir(folder, id);
        let logs = folder.join("logs");
        let mut cmd = Command::new(&req.torchserve);
        cmd.arg("--foreground")
            .arg("--ncs")
            .arg("--disable-token-auth")
            .arg("--ts-config")
            .arg(config)
            .arg("--model-store")
            .arg(model_store)
            .current_dir(folder)
            // Its own pid file, sockets and temporary files: TorchServe keeps one pid file per
            // temporary folder and refuses to start beside another server otherwise.
            .env("TMPDIR", &tmp)
            .env("TEMP", &tmp)
            .env("LOG_LOCATION", &logs)
            .env("METRICS_LOCATION", &logs)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0);
        let mut child = process::spawn_service(cmd)
            .await
            .map_err(|e| format!("cannot start {}: {e}", req.torchserve.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| "TorchServe exited as it started".to_string())?;
        self.inner
            .store
            .set_endpoint_process(id, pid, process::start_time(pid))
            .map_err(|e| format!("cannot record the endpoint's process: {e}"))?;
        // Reaps the server when it exits; an exit nobody asked for fails the endpoint.
        let (exit_tx, mut exit_rx) = watch::channel(None::<String>);
        let store = self.inner.store.clone();
        let watched = id.to_string();
        tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(s) => s.to_string(),
                Err(e) => format!("cannot be waited for: {e}"),
            };
            let note = format!("TorchServe exited on its own ({status})");
            let _ = tokio::task::spawn_blocking(move || {
                store.set_endpoint_state(&watched, EndpointState::Failed, Some(&note))
            })
            .await;
            let _ = exit_tx.send(Some(status));
        });
        let mut cancel = req.cancel.clone();
        let mut last_states = None;
        let deadline = tokio::time::Instant::now() + req.timeout;
        loop {
            if let Some(status) = exit_rx.borrow().clone() {
                return Err(format!(
                    "TorchServe exited before the model {:?} was ready ({status})",
                    req.model_name
                ));
            }
            match worker_states(&http, management, &req.model_name).await {
                Some(states) if states.iter().any(|s| s == "READY") => return Ok(pid),
                Some(states) => last_states = Some(states),
                None => {}
            }
            if let Some(why) = worker_failure(&tail(ts_log, SCAN_TAIL)) {
                return Err(format!(
                    "the model {:?} cannot be served: {why}",
                    req.model_name
                ));
            }
            let cancelled = async {
                match cancel.as_mut() {
                    Some(rx) => {
                        if rx.wait_for(|c| *c).await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = cancelled => return Err("cancelled while TorchServe was starting".into()),
                changed = exit_rx.changed() => {
                    if changed.is_err() && exit_rx.borrow().is_none() {
                        return Err("lost track of the TorchServe process".into());
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    let states = match &last_states {
                        None => "TorchServe's management API never answered".to_string(),
                        Some(s) if s.is_empty() => "TorchServe started no worker".to_string(),
                        Some(s) => format!("its workers: {}", s.join(", ")),
                    };
                    return Err(format!(
                        "the model {:?} was not ready after {} s ({states})",
                        req.model_name,
                        req.timeout.as_secs()
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_socket_fits_a_unix_socket_path_however_deep_the_data_folder() {
        let shallow = Path::new("/tmp/.tmpAbC123/runs/r/endpoints/ep-1");
        assert_eq!(ts_temp_dir(shallow, "ep-1"), shallow.join("tmp"));
        let deep = Path::new(
            "/home/someone/.local/share/pipeline-canvas/runs/\
             8eecb8a5-07b4-44f7-a20c-9e7abf5dcda0/endpoints/ep-287d7d92",
        );
        let tmp = ts_temp_dir(deep, "ep-287d7d92");
        assert_eq!(tmp, short_temp_dir("ep-287d7d92"));
        assert!(
            tmp.ends_with("pipeline-canvas-ep-287d7d92"),
            "{}",
            tmp.display()
        );
        assert!(tmp.join(".ts.sock.65535").as_os_str().len() <= SOCKET_PATH_MAX);
        assert_eq!(
            short_temp_dir("../x").file_name(),
            Some(std::ffi::OsStr::new("pipeline-canvas-.._x"))
        );
    }
    #[test]
    fn the_config_serves_one_model_on_loopback_without_tokens() {
        let text = ts_config([1, 2, 3, 4, 5], Path::new("/m"), "sentiment", "model.mar");
        let want = "inference_address=http://127.0.0.1:1\n\
                    management_address=http://127.0.0.1:2\n\
                    metrics_address=http://127.0.0.1:3\n\
                    grpc_inference_address=127.0.0.1\n\
                    grpc_inference_port=4\n\
                    grpc_management_address=127.0.0.1\n\
                    grpc_management_port=5\n\
                    model_store=/m\n\
                    load_models=sentiment=model.mar\n\
                    default_workers_per_model=1\n\
                    disable_token_authorization=true\n\
                    install_py_dep_per_model=false\n";
        assert_eq!(text, want);
    }

    #[test]
    fn the_mar_is_the_named_one_or_the_only_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = find_mar(dir.path(), "m").expect_err("empty");
        assert!(
            err.contains("no MAR file") && err.contains("m.mar"),
            "{err}"
        );
        std::fs::write(dir.path().join("other.mar"), "").expect("write");
        assert_eq!(find_mar(dir.path(), "m").as_deref(), Ok("other.mar"));
        std::fs::write(dir.path().join("third.mar"), "").expect("write");
        let err = find_mar(dir.path(), "m").expect_err("ambiguous");
        assert!(err.contains("several MAR files"), "{err}");
        std::fs::write(dir.path().join("m.mar"), "").expect("write");
        assert_eq!(find_mar(dir.path(), "m").as_deref(), Ok("m.mar"));
        let err = find_mar(&dir.path().join("missing"), "m").expect_err("missing");
        assert!(err.contains("cannot read the MAR folder"), "{err}");
    }

    #[test]
    fn names_that_would_break_the_config_are_refused() {
        for good in ["sentiment", "model-1.0_b", "A"] {
            assert_eq!(check_model_name(good), Ok(()), "{good}");
        }
        let long = "m".repeat(129);
        for bad in [
            "",
            "-m",
            "a b",
            "m\nload_models=x",
            "m=x",
            "m/../x",
            long.as_str(),
        ] {
            let err = check_model_name(bad).expect_err(bad);
            assert!(err.contains("cannot be served"), "{err}");
        }
        assert_eq!(check_config_value("x", "/tmp/a b/m.mar"), Ok(()));
        for bad in ["a\nb", "a,b", "a\\b", "a\rb"] {
            let err = check_config_value("the MAR file name", bad).expect_err(bad);
            assert!(err.starts_with("the MAR file name"), "{err}");
        }
    }

    #[test]
    fn a_worker_that_keeps_dying_is_reported_with_its_first_error() {
        let line = |m: &str| {
            format!("2026-12-01T22:30:31,513 [INFO ] W-9000-m_1.0-stdout MODEL_LOG - {m}\n")
        };
        let death = |cause: &str| {
            [
                line("Backend worker process died."),
                line("Traceback (most recent call last):"),
                line("  File \"/x/h.py\", line 1, in <module>"),
                line(cause),
            ]
            .concat()
        };
        let first = death("ModuleNotFoundError: No module named 'sklearn'");
        assert_eq!(worker_failure(&first), None, "one death is retried");
        let log = [
            first,
            death("ModuleNotFoundError: No module named 'sklearn'"),
            "2026-12-01 [INFO ] W-9000 ACCESS_LOG - /127.0.0.1:1 \"GET /ping\" 200 0\n".into(),
            death("torch.OutOfMemoryError: CUDA out of memory"),
        ]
        .concat();
        assert_eq!(
            worker_failure(&log).as_deref(),
            Some(
                "TorchServe's worker died 3 times while loading the model; its first error: \
                 ModuleNotFoundError: No module named 'sklearn'"
            )
        );
        let silent = line("Backend worker process died.").repeat(3);
        assert!(worker_failure(&silent).is_some_and(|w| w.ends_with("it printed no exception")));
    }

    #[test]
    fn quoted_output_leaves_out_requests_and_metrics() {
        let log = "a\n\
                   t [INFO ] W-9000 ACCESS_LOG - /127.0.0.1:1 \"GET /ping HTTP/1.1\" 200 0\n\
                   t [INFO ] W-9000 TS_METRICS - Requests2XX.Count:1.0\n\
                   b\nccc\n";
        assert_eq!(quiet_tail(log, 100), "a\nb\nccc\n");
        assert_eq!(quiet_tail(log, 5), "ccc\n", "cut at a line start");
        assert_eq!(quiet_tail("é\nx\n", 3), "x\n", "never inside a character");
    }

    #[test]
    fn a_tail_starts_at_a_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        std::fs::write(&path, "first line\nsecond\nthird\n").expect("write");
        assert_eq!(tail(&path, 1000), "first line\nsecond\nthird\n");
        assert_eq!(tail(&path, 10), "third\n");
        assert_eq!(tail(&dir.path().join("none"), 10), "");
    }

    #[test]
    fn ports_are_distinct_and_free() {
        let (ports, listeners) = held_ports().expect("ports");
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), PORTS, "{ports:?}");
        assert!(!distinct.contains(&0));
        // Outside the range the system hands out by itself.
        assert!(ports.iter().all(|p| PORT_RANGE.contains(p)), "{ports:?}");
        // Free when picked: each was bound on the loopback interface by this process. (Bound
        // again after being released, one could already be another program's.)
        let bound: Vec<std::net::SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("a bound listener"))
            .collect();
        assert_eq!(
            bound
                .iter()
                .map(std::net::SocketAddr::port)
                .collect::<Vec<_>>(),
            ports
        );
        assert!(bound.iter().all(|a| a.ip().is_loopback()), "{bound:?}");
        drop(listeners);
        assert_eq!(free_ports().expect("ports again").len(), PORTS);
    }
}
