//! The local engine: runs compiled KFP v2 pipeline specs on this machine.
//!
//! - [`driver`]: what runs next, with which inputs, what is skipped and why, when a DAG is
//!   done and what its outputs are (conditions, loops, exit handlers, retries): pure
//!   decisions from the spec and the task states so far. The runner (`runner.rs`) carries
//!   them out: DAGs and loop iterations at the same time, executors, caching, timeouts,
//!   cancellation, the run store and events.
//! - [`executor_python`] (Python function components through KFP's executor protocol, in
//!   a warm worker per [`python_env`] environment), [`executor_container`] (podman/docker, or
//!   the host), [`importer`]; [`launcher`] lays out executor inputs and reads outputs back,
//!   [`placeholders`] resolves `{{$…}}`.
//! - The run store, its events and its writer are the `runs` crate's; [`cache`]: task
//!   cache keys; [`cel`]: conditions and selectors; [`process`]: starting processes (without
//!   Pipeline Canvas's own variables, dying with the engine) and process groups; [`tasklog`]:
//!   task logs, capped.
//! - [`endpoints`]: the local model endpoints (TorchServe) deploy tasks start, stopped when
//!   their run fails or is cancelled, at shutdown unless kept, and reaped after a crash.
//!
//! The engine reads no environment variables or flags: the server and command line build its
//! [`EngineConfig`].
//!
//! Each run has a folder `<data>/runs/<run id>/` (its local pipeline root): one folder per
//! task path holding its log, executor output, output parameters and artifacts, and a
//! `workspace/` shared by its tasks.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use pipeline::ir::PipelineSpec;
use serde_json::Value;
use tokio::sync::{broadcast, watch, Semaphore};

use runs::StoreError;

pub mod cache;
pub mod cel;
pub mod driver;
pub mod endpoints;
pub mod executor_container;
pub mod executor_python;
pub mod importer;
pub mod launcher;
pub mod placeholders;
pub mod platform;
pub mod process;
pub mod python_env;
mod runner;
pub mod tasklog;
pub mod values;

pub use api::RunOptions;
pub use runs::{
    EngineEvent, Events, RunDetail, RunEvent, RunFilter, RunRequest, RunState, RunStore,
    RunSummary, TaskEvent, TaskKind, TaskRow, TaskState,
};

pub use executor_container::ContainerChoice;
use executor_container::ContainerRuntime;
use futures_util::FutureExt as _;
use placeholders::JobInfo;
use python_env::PythonEnvs;
use runner::RunCtx;
use runs::{NewRun, Recorder};
use values::Io;

/// The folder of runs inside the data folder.
pub const RUNS_DIR: &str = "runs";

/// Why the engine refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request is wrong (unknown or missing parameters, a bad spec); the message says what.
    #[error("{0}")]
    Invalid(String),
    /// No run with this id.
    #[error("no run with id {0:?}")]
    NotFound(String),
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A local endpoint operation failed.
    #[error(transparent)]
    Endpoint(#[from] endpoints::EndpointError),
    /// The engine's run store writer thread could not be started.
    #[error("cannot start the engine's run store writer: {0}")]
    Writer(std::io::Error),
    /// A folder could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The data folder (`pipelines.db`, `runs/`, `envs/`).
    pub data_dir: PathBuf,
    /// How many task executors may run at once (at least 1, at most [`MAX_CONCURRENCY`]).
    /// Default [`default_concurrency`] of the machine's cores.
    pub concurrency: usize,
    /// The base Python.
    pub python: PathBuf,
    /// The most bytes one task's log may hold; later output is discarded (the process keeps
    /// running) and the log and the task say so. Default [`tasklog::DEFAULT_LOG_LIMIT`] (64 MiB).
    pub log_limit: u64,
    /// Which container runtime runs container components.
    pub containers: ContainerChoice,
    /// Where the managed Python environments live (default `<data_dir>/envs`). Several data
    /// folders may share one, so a large environment (PyTorch) is installed once.
    pub envs_dir: PathBuf,
    /// Whether a container component whose image cannot be used (no container runtime, or the
    /// image is not present) may run its command on this machine instead. Off by default: such
    /// a task fails and says which runtime to install.
    pub allow_host_commands: bool,
}

/// The most task executors the engine runs at once, whatever [`EngineConfig::concurrency`]
/// says.
pub const MAX_CONCURRENCY: usize = 1024;

/// The default limit of task executors at once on a machine with `cores` cores: four per
/// core, at least 8 and at most 64. Most tasks wait rather than compute (sleeps, I/O,
/// downloads, remote jobs, a container runtime), so a limit of one per core leaves the
/// machine idle: 8 independent 1 s tasks took 4.2 s on 2 cores, in four waves. CPU-bound tasks
/// beyond the cores share them at no loss of throughput (each is a fork of a warm worker, its
/// memory mostly shared); the cap keeps a large fan-out from starting hundreds of processes
/// at once.
pub fn default_concurrency(cores: usize) -> usize {
    cores.saturating_mul(4).clamp(8, 64)
}

impl EngineConfig {
    /// Defaults: [`default_concurrency`] of the machine's cores, the `python3` on `PATH`, the
    /// container runtime found (podman, then docker), logs capped at 64 MiB.
    pub fn new(data_dir: &Path) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            data_dir: data_dir.to_path_buf(),
            concurrency: default_concurrency(cores),
            python: PathBuf::from("python3"),
            log_limit: tasklog::DEFAULT_LOG_LIMIT,
            containers: ContainerChoice::Detect,
            envs_dir: data_dir.join("envs"),
            allow_host_commands: false,
        }
    }
}

/// The local engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    runs_dir: PathBuf,
    store: RunStore,
    events: Events,
    recorder: Recorder,
    envs: PythonEnvs,
    slots: Arc<Semaphore>,
    concurrency: usize,
    log_limit: u64,
    active: Mutex<HashMap<String, watch::Sender<bool>>>,
    container_choice: ContainerChoice,
    containers: tokio::sync::OnceCell<Option<ContainerRuntime>>,
    allow_host_commands: bool,
    endpoints: endpoints::Endpoints,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("runs_dir", &self.inner.runs_dir)
            .field("concurrency", &self.inner.concurrency)
            .finish()
    }
}

/// The event of a run's summary.
fn run_event(s: RunSummary) -> EngineEvent {
    EngineEvent::Run(RunEvent {
        run_id: s.id,
        state: s.state,
        started_at: s.started_at,
        ended_at: s.ended_at,
        error: s.error,
    })
}

/// The message of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Checks run parameters against the pipeline's inputs and fills in defaults (see
/// [`pipeline::run_inputs::check`]).
pub fn root_inputs(spec: &PipelineSpec, given: &BTreeMap<String, Value>) -> Result<Io, String> {
    let parameters = pipeline::run_inputs::check(spec, given).map_err(|e| e.to_string())?;
    Ok(Io {
        parameters: parameters.into_iter().collect(),
        ..Io::default()
    })
}

impl Engine {
    /// Opens the engine of a data folder: its run store (marking runs a crash interrupted as
    /// failed, and killing their leftover task processes) and its `runs/` folder.
    pub fn open(config: EngineConfig) -> Result<Self, EngineError> {
        let store = RunStore::open(&config.data_dir)?;
        let runs_dir = config.data_dir.join(RUNS_DIR);
        std::fs::create_dir_all(&runs_dir).map_err(|source| EngineError::Io {
            path: runs_dir.clone(),
            source,
        })?;
        let concurrency = config.concurrency.clamp(1, MAX_CONCURRENCY);
        let events = Events::new();
        let recorder =
            Recorder::start(store.clone(), events.clone()).map_err(EngineError::Writer)?;
        let engine = Self {
            inner: Arc::new(Inner {
                data_dir: config.data_dir.clone(),
                runs_dir: runs_dir.clone(),
                envs: PythonEnvs::new(&config.envs_dir, config.python),
                endpoints: endpoints::Endpoints::new(store.clone(), runs_dir.clone()),
                store,
                events,
                recorder,
                slots: Arc::new(Semaphore::new(concurrency)),
                concurrency,
                log_limit: config.log_limit.max(1),
                active: Mutex::new(HashMap::new()),
                container_choice: config.containers,
                containers: tokio::sync::OnceCell::new(),
                allow_host_commands: config.allow_host_commands,
            }),
        };
        let recovered = engine.recover()?;
        engine.inner.endpoints.reap()?;
        if recovered > 0 {
            tracing::warn!(
                runs = recovered,
                "marked runs interrupted by a previous stop as failed"
            );
        }
        Ok(engine)
    }

    fn recover(&self) -> Result<usize, EngineError> {
        let me = process::current();
        let mut n = 0;
        for run in self.inner.store.open_runs()? {
            if (run.owner_pid, run.owner_start) == me
                || process::is_alive(run.owner_pid, run.owner_start)
            {
                continue;
            }
            for (pid, start) in &run.task_pids {
                process::kill_task_group(*pid, *start);
            }
            self.inner.store.mark_interrupted(
                &run.id,
                "interrupted: Pipeline Canvas stopped while this run was in progress",
            )?;
            n += 1;
        }
        Ok(n)
    }

    /// The run store.
    pub fn store(&self) -> &RunStore {
        &self.inner.store
    }

    /// The local model endpoints (TorchServe servers started by deploy tasks).
    pub fn endpoints(&self) -> &endpoints::Endpoints {
        &self.inner.endpoints
    }

    /// The live events.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// How many executors may run at once.
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// The folder of run `id` (its local pipeline root).
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.inner.runs_dir.join(values::safe_segment(id))
    }

    /// Starts the Python runtime's warm worker in the background.
    pub fn prewarm(&self) {
        self.inner.envs.prewarm();
    }

    /// The Python environments (for tests and diagnostics).
    pub fn python_envs(&self) -> &PythonEnvs {
        &self.inner.envs
    }

    /// Starts a run; returns its id at once. Must be called inside a tokio runtime.
    pub fn submit(&self, req: RunRequest) -> Result<String, EngineError> {
        self.submit_inner(req, None)
    }

    fn submit_inner(
        &self,
        req: RunRequest,
        rerun_of: Option<String>,
    ) -> Result<String, EngineError> {
        let inputs = root_inputs(&req.spec, &req.parameters).map_err(EngineError::Invalid)?;
        driver::check(&req.spec).map_err(EngineError::Invalid)?;
        let id = uuid::Uuid::new_v4().to_string();
        let root = self.run_dir(&id);
        let workspace = root.join("workspace");
        std::fs::create_dir_all(&workspace).map_err(|source| EngineError::Io {
            path: workspace.clone(),
            source,
        })?;
        let spec_json = serde_json::to_string(&req.spec)
            .map_err(|e| EngineError::Invalid(format!("cannot serialize the spec: {e}")))?;
        let name = req.spec.pipeline_info.name.clone();
        let created = self.inner.store.insert_run(&NewRun {
            id: id.clone(),
            pipeline_name: name.clone(),
            pipeline_id: req.pipeline_id.clone(),
            parameters: serde_json::to_value(&req.parameters).unwrap_or(Value::Null),
            spec: spec_json,
            platform_spec: req.platform_spec.as_ref().map(Value::to_string),
            document: req.document.clone(),
            options: serde_json::to_value(&req.options).unwrap_or(Value::Null),
            root: root.clone(),
            rerun_of,
        })?;
        let (tx, rx) = watch::channel(false);
        if let Ok(mut active) = self.inner.active.lock() {
            active.insert(id.clone(), tx);
        }
        let job = JobInfo {
            job_name: name.clone(),
            job_resource_name: format!("{name}-{}", &id[..8]),
            job_id: id.clone(),
            task_name: String::new(),
            task_id: String::new(),
            pipeline_root: root.display().to_string(),
            create_time: created,
            workspace: workspace.display().to_string(),
        };
        self.inner.events.send(EngineEvent::Run(RunEvent {
            run_id: id.clone(),
            state: RunState::Pending,
            started_at: None,
            ended_at: None,
            error: None,
        }));
        let engine = self.clone();
        let run_id = id.clone();
        tokio::spawn(async move {
            let run = async {
                let containers = engine
                    .inner
                    .containers
                    .get_or_init(|| ContainerRuntime::detect(&engine.inner.container_choice))
                    .await
                    .clone();
                let ctx = RunCtx {
                    run_id: run_id.clone(),
                    spec: req.spec,
                    platform: req.platform_spec,
                    root,
                    runs_root: engine.inner.runs_dir.clone(),
                    data_dir: engine.inner.data_dir.clone(),
                    recorder: engine.inner.recorder.clone(),
                    envs: engine.inner.envs.clone(),
                    slots: engine.inner.slots.clone(),
                    cancel: rx,
                    options: req.options,
                    containers,
                    allow_host_commands: engine.inner.allow_host_commands,
                    endpoints: engine.inner.endpoints.clone(),
                    job,
                    first_error: Mutex::new(None),
                    any_failed: AtomicBool::new(false),
                    task_seq: AtomicU64::new(0),
                    log_limit: engine.inner.log_limit,
                };
                engine.drive(ctx, inputs).await;
            };
            // A bug that panics inside the run ends the run (FAILED, with the message), not
            // the engine, and never leaves it RUNNING.
            if let Err(panic) = std::panic::AssertUnwindSafe(run).catch_unwind().await {
                engine
                    .fail_after_panic(&run_id, &panic_message(panic.as_ref()))
                    .await;
            }
        });
        tracing::info!(run = %id, pipeline = %name, "run started");
        Ok(id)
    }

    fn set_state(&self, id: &str, state: RunState, error: Option<&str>, outputs: Option<&Value>) {
        let started = state == RunState::Running;
        let ended = state.is_final();
        let id = id.to_string();
        let error = error.map(str::to_string);
        let outputs = outputs.cloned();
        self.inner.recorder.send(move |store, events| {
            match store.set_run_state(
                &id,
                state,
                started,
                ended,
                error.as_deref(),
                outputs.as_ref(),
            ) {
                Ok(Some(s)) => events.send(run_event(s)),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, run = %id, "cannot record the run's state"),
            }
        });
    }

    /// Ends run `id` after a panic inside it: its processes are killed, its running tasks
    /// marked FAILED and its pending ones CANCELLED, and the run FAILED with `message`.
    async fn fail_after_panic(&self, id: &str, message: &str) {
        tracing::error!(run = id, panic = message, "a run failed unexpectedly");
        if let Ok(mut active) = self.inner.active.lock() {
            active.remove(id);
        }
        self.stop_endpoints_of(id, RunState::Failed).await;
        let run_id = id.to_string();
        let error = format!("internal error: {message}");
        let ended = self
            .inner
            .recorder
            .call(move |store, events| {
                for (pid, start) in store.task_pids(&run_id)? {
                    process::kill_task_group(pid, start);
                }
                for path in store.mark_interrupted(&run_id, &error)? {
                    runner::emit(store, events, &run_id, &path);
                }
                if let Some(s) = store.get_summary(&run_id)? {
                    events.send(run_event(s));
                }
                Ok::<(), StoreError>(())
            })
            .await;
        if let Some(Err(e)) = ended {
            tracing::error!(error = %e, run = id, "cannot record the end of a failed run");
        }
    }

    async fn drive(&self, ctx: RunCtx, inputs: Io) {
        let id = ctx.run_id.clone();
        self.set_state(&id, RunState::Running, None, None);
        let finished = ctx.execute_dag(None, &ctx.spec.root, inputs).await;
        let cancelled = *ctx.cancel.borrow();
        let failed = ctx.any_failed.load(std::sync::atomic::Ordering::SeqCst)
            || matches!(finished.outcome, driver::Outcome::Failed);
        let first = ctx.first_error.lock().ok().and_then(|e| e.clone());
        let (state, error) = if cancelled {
            (RunState::Cancelled, Some("cancelled".to_string()))
        } else if failed {
            (RunState::Failed, first.or(finished.error.clone()))
        } else {
            (RunState::Succeeded, None)
        };
        let outputs = (state == RunState::Succeeded).then(|| finished.outputs.to_value());
        if let Ok(mut active) = self.inner.active.lock() {
            active.remove(&id);
        }
        if matches!(state, RunState::Failed | RunState::Cancelled) {
            self.stop_endpoints_of(&id, state).await;
        }
        self.set_state(&id, state, error.as_deref(), outputs.as_ref());
        tracing::info!(run = %id, state = %state, "run ended");
    }

    /// Stops the endpoints run `id` deployed, as it ended `state` (FAILED or CANCELLED).
    async fn stop_endpoints_of(&self, id: &str, state: RunState) {
        let why = format!("its run ended {state}");
        if let Err(e) = self.inner.endpoints.stop_run(id, &why).await {
            tracing::error!(run = id, error = %e, "cannot stop the run's endpoints");
        }
    }

    /// Cancels run `id`: running tasks are killed (their whole process group), nothing new
    /// starts. `Ok(false)` when the run had already ended.
    pub fn cancel(&self, id: &str) -> Result<bool, EngineError> {
        let tx = self
            .inner
            .active
            .lock()
            .ok()
            .and_then(|a| a.get(id).cloned());
        match tx {
            Some(tx) => {
                let _ = tx.send(true);
                tracing::info!(run = id, "run cancelled");
                Ok(true)
            }
            None => match self.inner.store.get_summary(id)? {
                Some(_) => Ok(false),
                None => Err(EngineError::NotFound(id.to_string())),
            },
        }
    }

    /// Starts a new run of the same spec, parameters and options as run `id`.
    pub fn rerun(&self, id: &str) -> Result<String, EngineError> {
        let src = self
            .inner
            .store
            .run_source(id)?
            .ok_or_else(|| EngineError::NotFound(id.to_string()))?;
        let spec: PipelineSpec = serde_json::from_str(&src.spec)
            .map_err(|e| EngineError::Invalid(format!("the stored spec cannot be read: {e}")))?;
        let parameters: BTreeMap<String, Value> =
            serde_json::from_value(src.parameters).unwrap_or_default();
        let options: RunOptions = serde_json::from_value(src.options).unwrap_or_default();
        let platform_spec = src
            .platform_spec
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        self.submit_inner(
            RunRequest {
                spec,
                platform_spec,
                document: src.document,
                parameters,
                options,
                pipeline_id: src.pipeline_id,
            },
            Some(id.to_string()),
        )
    }

    /// Waits until run `id` has ended; returns its final state.
    pub async fn wait(&self, id: &str) -> Result<RunState, EngineError> {
        let mut rx = self.inner.events.subscribe();
        loop {
            let lookup = id.to_string();
            let s = self
                .inner
                .recorder
                .call(move |store, _| store.get_summary(&lookup))
                .await
                .ok_or_else(|| EngineError::Invalid("the engine stopped".into()))??
                .ok_or_else(|| EngineError::NotFound(id.to_string()))?;
            if s.state.is_final() {
                return Ok(s.state);
            }
            loop {
                match rx.recv().await {
                    Ok(EngineEvent::Run(r)) if r.run_id == id && r.state.is_final() => {
                        return Ok(r.state)
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(EngineError::Invalid("the engine stopped".into()))
                    }
                }
            }
        }
    }

    /// The server is stopping: cancels every run still going (their processes are killed and
    /// they are recorded CANCELLED), waits up to `grace` for them to end, and stops every
    /// endpoint this engine started that is not marked to keep.
    pub async fn shutdown(&self, grace: std::time::Duration) {
        // Endpoints first: stopping them is quick, and the caller may not wait past `grace`.
        match self.inner.endpoints.shutdown().await {
            Ok(stopped) if !stopped.is_empty() => {
                tracing::info!(endpoints = stopped.len(), "stopped the local endpoints");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot stop the local endpoints"),
        }
        self.cancel_all(grace).await;
    }

    /// Cancels every run still going and waits up to `grace` for them to end.
    async fn cancel_all(&self, grace: std::time::Duration) {
        let ids: Vec<String> = self
            .inner
            .active
            .lock()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return;
        }
        tracing::info!(runs = ids.len(), "cancelling the runs still going");
        for id in &ids {
            let _ = self.cancel(id);
        }
        let ended = async {
            for id in &ids {
                let _ = self.wait(id).await;
            }
        };
        if tokio::time::timeout(grace, ended).await.is_err() {
            tracing::warn!(
                "runs still ending after {grace:?}; they are marked failed at the next start"
            );
        }
    }

    /// Whether run `id` is running in this engine.
    pub fn is_active(&self, id: &str) -> bool {
        self.inner.active.lock().is_ok_and(|a| a.contains_key(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_concurrency_fits_waiting_tasks_within_a_cap() {
        for (cores, want) in [(1, 8), (2, 8), (4, 16), (8, 32), (16, 64), (128, 64)] {
            assert_eq!(default_concurrency(cores), want, "{cores} cores");
        }
        assert_eq!(default_concurrency(usize::MAX), 64);
    }

    #[test]
    fn an_explicit_concurrency_is_kept_within_bounds() {
        for (asked, want) in [(0, 1), (3, 3), (usize::MAX, MAX_CONCURRENCY)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut config = EngineConfig::new(dir.path());
            config.concurrency = asked;
            let engine = Engine::open(config).expect("open");
            assert_eq!(engine.concurrency(), want, "asked {asked}");
        }
    }

    fn spec_with(params: Value) -> PipelineSpec {
        serde_json::from_value(json!({
            "pipelineInfo": {"name": "p"},
            "root": {"dag": {"tasks": {}}, "inputDefinitions": {"parameters": params}},
            "schemaVersion": "2.1.0"
        }))
        .expect("spec")
    }

    #[test]
    fn parameters_are_checked_and_defaulted() {
        let spec = spec_with(json!({
            "n": {"parameterType": "NUMBER_INTEGER"},
            "s": {"parameterType": "STRING", "defaultValue": "x"},
            "o": {"parameterType": "STRING", "isOptional": true}
        }));
        let mut given = BTreeMap::new();
        assert!(root_inputs(&spec, &given)
            .expect_err("n required")
            .contains("\"n\""));
        given.insert("n".to_string(), json!(2));
        let io = root_inputs(&spec, &given).expect("ok");
        assert_eq!(io.parameters["s"], json!("x"));
        assert!(!io.parameters.contains_key("o"));
        given.insert("n".to_string(), json!("two"));
        assert!(root_inputs(&spec, &given)
            .expect_err("type")
            .contains("int"));
        given.insert("zz".to_string(), json!(1));
        assert!(root_inputs(&spec, &given).is_err());
    }

    /// A pipeline of host commands: `sleeper` writes its pid to `pid_file` and sleeps,
    /// the panicking task waits for that file, and `after` waits for `sleeper`.
    fn panicking_spec(pid_file: &Path) -> PipelineSpec {
        let pid = pid_file.display().to_string();
        let exec = |script: &str| {
            json!({"container": {"image": "alpine:3.19",
            "command": ["sh", "-c", script, pid]}})
        };
        let task = |name: &str, after: &[&str]| {
            json!({
                "taskInfo": {"name": name},
                "componentRef": {"name": format!("comp-{name}")},
                "dependentTasks": after,
            })
        };
        let comp = |name: &str| json!({"executorLabel": format!("exec-{name}")});
        let panic = runner::TEST_PANIC_TASK;
        serde_json::from_value(json!({
            "pipelineInfo": {"name": "p"},
            "schemaVersion": "2.1.0",
            "components": {
                "comp-sleeper": comp("sleeper"),
                "comp-after": comp("after"),
                format!("comp-{panic}"): comp(panic),
            },
            "deploymentSpec": {"executors": {
                "exec-sleeper": exec("echo $$ > \"$0\".tmp; mv \"$0\".tmp \"$0\"; exec sleep 60"),
                "exec-after": exec("true"),
                format!("exec-{panic}"): exec("while [ ! -s \"$0\" ]; do sleep 0.05; done"),
            }},
            "root": {"dag": {"tasks": {
                "sleeper": task("sleeper", &[]),
                "after": task("after", &["sleeper"]),
                panic: task(panic, &[]),
            }}},
        }))
        .expect("spec")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_inside_a_run_fails_it_and_kills_its_processes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("sleeper.pid");
        let mut config = EngineConfig::new(dir.path());
        config.concurrency = 4;
        // Host commands only: no Python runtime is looked for.
        config.python = PathBuf::from("/nonexistent/python3");
        config.allow_host_commands = true;
        let engine = Engine::open(config).expect("open");
        let id = engine
            .submit(RunRequest::new(panicking_spec(&pid_file), BTreeMap::new()))
            .expect("submit");
        let state = tokio::time::timeout(std::time::Duration::from_secs(60), engine.wait(&id))
            .await
            .expect("the run ends")
            .expect("wait");
        assert_eq!(state, RunState::Failed);
        assert!(!engine.is_active(&id));
        let run = engine.store().get_run(&id).expect("get").expect("run");
        let error = run.summary.error.clone().unwrap_or_default();
        assert!(
            error.contains("internal error: a panic injected by a test"),
            "{error}"
        );
        let state_of = |path: &str| {
            run.tasks
                .iter()
                .find(|t| t.path == path)
                .map(|t| (t.state, t.error.clone().unwrap_or_default()))
                .expect("task")
        };
        for (path, want) in [
            ("sleeper", TaskState::Failed),
            (runner::TEST_PANIC_TASK, TaskState::Failed),
            ("after", TaskState::Cancelled),
        ] {
            let (state, error) = state_of(path);
            assert_eq!(state, want, "{path}");
            assert!(error.contains("internal error"), "{path}: {error}");
        }
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        let gone = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z"))
        };
        for _ in 0..100 {
            if gone() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(gone(), "the task's process {pid} survived the failed run");
    }
}
