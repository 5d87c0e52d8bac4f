//! The runner: carries out the driver's decisions ([`crate::driver`]) for one run. It starts
//! each DAG's ready tasks at once (the engine-wide semaphore bounds how many executors run),
//! records every task in the run store and sends its events, runs sub-DAGs and loop
//! iterations (at most a loop's parallelism at once), and runs leaves: the task's folder and
//! executor input, the cache, the executor (a Python function in a warm worker, a container
//! or host command, an importer) with retries and their back-off, a time limit and
//! cancellation, its log, and its outputs read back.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use pipeline::ir::{ComponentSpec, ContainerSpec, ExecutorSpec, PipelineSpec, PipelineTaskSpec};
use serde_json::Value;
use tokio::sync::{watch, Semaphore};

use super::cache;
use super::driver::{
    self, AfterFailure, Dag, Decision, Entry, Finished, Leaf, Loop, Outcome, RunSpec, Work,
};
use super::executor_container::{self, ContainerRuntime};
use super::executor_python;
use super::importer;
use super::launcher::{self, Launch};
use super::placeholders::JobInfo;
use super::platform;
use super::process;
use super::python_env::PythonEnvs;
use super::tasklog;
use super::values::{task_dir, Io};
use api::RunOptions;
use components::local::{Backing, Recognised};
use runs::Recorder;
use runs::{EngineEvent, Events, TaskEvent};
use runs::{NewTask, RunStore, TaskKind, TaskState, TaskUpdate};

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// A loop's parallelism is the size of a semaphore.
const _: () = assert!(driver::MAX_PARALLELISM <= Semaphore::MAX_PERMITS);

/// The backing label of a container component whose command runs on this machine (host
/// commands allowed) instead of in its image.
pub(crate) const HOST_COMMAND: &str = "host: its command runs on this machine, not in its image";

/// How an attempt of a leaf ended.
enum Attempt {
    Done(Io),
    Failed(String),
    Cancelled,
}

/// Everything one run shares.
pub(crate) struct RunCtx {
    pub run_id: String,
    pub spec: PipelineSpec,
    pub platform: Option<Value>,
    /// The run's folder: its local pipeline root.
    pub root: PathBuf,
    /// The folder of all runs: artifacts must stay inside it.
    pub runs_root: PathBuf,
    /// The data folder: the local sources of the platform spec's secrets, config maps and
    /// volumes (`secrets/`, `config-maps/`, `volumes/`).
    pub data_dir: PathBuf,
    /// Writes to the run store and sends the events, off the async threads.
    pub recorder: Recorder,
    pub envs: PythonEnvs,
    pub slots: Arc<Semaphore>,
    pub cancel: watch::Receiver<bool>,
    pub options: RunOptions,
    pub containers: Option<ContainerRuntime>,
    /// Whether a container component may run its command on this machine when its image
    /// cannot be used ([`crate::EngineConfig::allow_host_commands`]).
    pub allow_host_commands: bool,
    /// The endpoints the run's deployments start.
    pub endpoints: crate::endpoints::Endpoints,
    pub job: JobInfo,
    pub first_error: Mutex<Option<String>>,
    pub any_failed: AtomicBool,
    pub task_seq: AtomicU64,
    /// The most bytes a task's log may hold.
    pub log_limit: u64,
}

fn now() -> Option<String> {
    runs::now().ok()
}

/// Sends the event of task `path` as the store has it now (on the writer thread, after the
/// write it reports).
pub(crate) fn emit(store: &RunStore, events: &Events, run_id: &str, path: &str) {
    match store.get_task(run_id, path) {
        Ok(Some((row, _))) => events.send(EngineEvent::Task(TaskEvent {
            run_id: run_id.to_string(),
            path: row.path,
            state: row.state,
            started_at: row.started_at,
            ended_at: row.ended_at,
            error: row.error,
            cached: row.cached,
            attempt: row.attempts,
            backing: row.backing,
        })),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot read a task back from the run store"),
    }
}

/// A task that panics when it ends, in the unit tests (a way to test that a panic inside a run
/// fails the run instead of leaving it running).
#[cfg(test)]
pub(crate) const TEST_PANIC_TASK: &str = "pipeline-canvas-test-panic";

/// What starts the line that separates attempts in a task's log (after a line break).
const ATTEMPT_MARK: &str = "\n----- attempt";

/// How long a finished task's log may take to be complete (its pipe closed by every process
/// of its group).
const LOG_DRAIN_WAIT: Duration = Duration::from_secs(2);

/// The last three lines of a log that say something (with a letter or digit: not the
/// closing braces of the executor's JSON), written by the last attempt, at most 400
/// characters, for an error message; only the end of the file is read.
fn log_tail(path: &Path) -> String {
    let text = tasklog::tail(path);
    let text = text
        .rfind(ATTEMPT_MARK)
        .and_then(|i| text.get(i + 1..))
        .and_then(|t| t.split_once('\n'))
        .map_or(text.as_str(), |(_, after)| after);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().any(char::is_alphanumeric))
        .collect();
    let tail = lines
        .get(lines.len().saturating_sub(3)..)
        .unwrap_or_default()
        .join(" | ");
    let mut s: String = tail
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if s.len() < tail.len() {
        s.insert(0, '…');
    }
    s
}

impl RunCtx {
    /// What the driver decides from: the spec and what the run was started with.
    fn driver(&self) -> RunSpec<'_> {
        RunSpec {
            spec: &self.spec,
            platform: self.platform.as_ref(),
            options: &self.options,
            job_resource_name: &self.job.job_resource_name,
        }
    }

    fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    async fn wait_cancel(&self) {
        let mut rx = self.cancel.clone();
        loop {
            if *rx.borrow_and_update() {
                return;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    fn add(&self, t: NewTask<'_>) {
        let run_id = self.run_id.clone();
        let path = t.path.to_string();
        let parent = t.parent.map(str::to_string);
        let name = t.name.to_string();
        let display_name = t.display_name.map(str::to_string);
        let (kind, state) = (t.kind, t.state);
        let error = t.error.map(str::to_string);
        self.recorder.send(move |store, events| {
            let t = NewTask {
                path: &path,
                parent: parent.as_deref(),
                name: &name,
                display_name: display_name.as_deref(),
                kind,
                state,
                error: error.as_deref(),
            };
            if let Err(e) = store.add_task(&run_id, &t) {
                tracing::error!(error = %e, path = %path, "cannot record a task");
            }
            emit(store, events, &run_id, &path);
        });
    }

    /// Records a task the driver listed.
    fn add_entry(&self, e: &Entry<'_>) {
        self.add(NewTask {
            path: &e.path,
            parent: e.parent.as_deref(),
            name: e.name,
            display_name: Some(e.display_name),
            kind: e.kind,
            state: e.state,
            error: e.error.as_deref(),
        });
    }

    fn record(&self, path: &str, u: TaskUpdate) {
        let run_id = self.run_id.clone();
        let path = path.to_string();
        self.recorder.send(move |store, events| {
            if let Err(e) = store.update_task(&run_id, &path, &u) {
                tracing::error!(error = %e, path = %path, "cannot record a task change");
            }
            if u.state.is_some() || u.error.is_some() || u.clear_error {
                emit(store, events, &run_id, &path);
            }
        });
    }

    /// Records that a DAG or loop task has started with `inputs`.
    fn started(&self, path: &str, inputs: &Io) {
        self.record(
            path,
            TaskUpdate {
                state: Some(TaskState::Running),
                started_at: now(),
                inputs: Some(inputs.to_value()),
                ..TaskUpdate::default()
            },
        );
    }

    fn ended(&self, path: &str, f: &Finished) {
        #[cfg(test)]
        if path == TEST_PANIC_TASK {
            panic!("a panic injected by a test");
        }
        if matches!(f.outcome, Outcome::Failed) {
            self.any_failed.store(true, Ordering::SeqCst);
            if let Ok(mut first) = self.first_error.lock() {
                if first.is_none() {
                    *first = Some(format!(
                        "task {path} failed: {}",
                        f.error.as_deref().unwrap_or("unknown error")
                    ));
                }
            }
        }
        self.record(
            path,
            TaskUpdate {
                state: Some(f.outcome.state()),
                ended_at: now(),
                outputs: f.outcome.ok().then(|| f.outputs.to_value()),
                error: f.error.clone(),
                clear_error: f.error.is_none(),
                cached: Some(f.outcome == Outcome::Cached),
                clear_pid: true,
                ..TaskUpdate::default()
            },
        );
    }

    /// Runs the DAG of `comp` with `inputs`; tasks are recorded under `prefix`. The driver
    /// decides what becomes ready; the tasks it runs run at the same time, and each end is
    /// given back to it.
    pub(crate) fn execute_dag<'a>(
        &'a self,
        prefix: Option<&'a str>,
        comp: &'a ComponentSpec,
        inputs: Io,
    ) -> BoxFut<'a, Finished> {
        Box::pin(async move {
            let mut dag = match Dag::new(self.driver(), prefix, comp, inputs) {
                Ok(d) => d,
                Err(f) => return f,
            };
            for entry in dag.tasks() {
                self.add_entry(&entry);
            }
            let mut running = FuturesUnordered::new();
            loop {
                for step in dag.next(self.cancelled()) {
                    match step.decision {
                        Decision::Finished { result, below } => {
                            self.ended(&step.path, &result);
                            for entry in &below {
                                self.add_entry(entry);
                            }
                        }
                        Decision::Run(work) => {
                            let (name, task, path) = (step.name, step.task, step.path);
                            running.push(async move {
                                let f = self.run_task(&path, name, task, work).await;
                                (name, f)
                            });
                        }
                    }
                }
                match running.next().await {
                    Some((name, f)) => dag.finish(name, f),
                    None => break,
                }
            }
            let end = dag.end();
            for (path, f) in &end.never_ready {
                self.ended(path, f);
            }
            end.result
        })
    }

    async fn run_task(
        &self,
        path: &str,
        name: &str,
        t: &PipelineTaskSpec,
        work: Work<'_>,
    ) -> Finished {
        let f = match work {
            Work::Fail(f) => f,
            Work::Dag {
                comp,
                inputs,
                dag_inputs,
            } => {
                self.started(path, &inputs);
                self.execute_dag(Some(path), comp, dag_inputs).await
            }
            Work::Loop { comp, inputs } => self.run_loop(path, name, t, comp, inputs).await,
            Work::Leaf(leaf) => self.run_leaf(path, name, leaf).await,
            Work::Volume(op) => self.run_volume(path, &op),
        };
        self.ended(path, &f);
        f
    }

    async fn run_loop(
        &self,
        path: &str,
        name: &str,
        t: &PipelineTaskSpec,
        comp: &ComponentSpec,
        io: Io,
    ) -> Finished {
        self.started(path, &io);
        let plan = match Loop::new(path, name, t, comp, &io) {
            Ok(l) => l,
            Err(f) => return f,
        };
        let gate = Semaphore::new(plan.parallelism);
        for it in &plan.iterations {
            self.add(NewTask {
                path: &it.path,
                parent: Some(path),
                name: &it.name,
                display_name: Some(&it.display_name),
                kind: TaskKind::Iteration,
                state: TaskState::Pending,
                error: None,
            });
        }
        let runs: Vec<_> = plan
            .iterations
            .into_iter()
            .map(|it| {
                let gate = &gate;
                async move {
                    let p = it.path;
                    let f = match gate.acquire().await {
                        Ok(_permit) if !self.cancelled() => {
                            self.started(&p, &it.inputs);
                            self.execute_dag(Some(&p), comp, it.inputs).await
                        }
                        _ => {
                            let why = "the run was cancelled";
                            let below = self.driver().subtree(&p, comp, TaskState::Cancelled, why);
                            for entry in &below {
                                self.add_entry(entry);
                            }
                            Finished::new(Outcome::Cancelled, why)
                        }
                    };
                    self.ended(&p, &f);
                    (p, f)
                }
            })
            .collect();
        let results = futures_util::future::join_all(runs).await;
        driver::loop_end(&self.spec, comp, &results)
    }

    fn job_for(&self, name: &str) -> JobInfo {
        let n = self.task_seq.fetch_add(1, Ordering::SeqCst);
        JobInfo {
            task_name: name.to_string(),
            task_id: format!("{}-{n}", self.run_id),
            ..self.job.clone()
        }
    }

    async fn run_leaf(&self, path: &str, name: &str, leaf: Leaf<'_>) -> Finished {
        let Leaf {
            comp,
            exec,
            inputs: io,
            caching,
            cache_key: custom,
            retry,
            timeout,
            kubernetes,
            resources,
        } = leaf;
        let (comp, exec, backing) = match local_backing(comp, exec) {
            Ok(b) => b,
            Err(e) => return Finished::new(Outcome::Failed, e),
        };
        // A cached deployment would name an endpoint that is no longer there.
        let caching = caching && backing != Some(Backing::TorchServe);
        let dir = task_dir(&self.root, path);
        let mut io = io;
        let local = match kubernetes
            .and_then(|k| platform::apply(&k, &self.data_dir, &dir, &mut io.parameters))
        {
            Ok(l) => l,
            Err(e) => {
                self.record(
                    path,
                    TaskUpdate {
                        inputs: Some(io.to_value()),
                        ..TaskUpdate::default()
                    },
                );
                return Finished::new(Outcome::Failed, format!("Kubernetes settings: {e}"));
            }
        };
        let mut local = local;
        if !resources.is_empty() {
            let asked = format!(
                "Resources asked for (not enforced on this machine): {}.",
                resources.join(", ")
            );
            local.note = Some(match local.note {
                Some(n) => format!("{n} {asked}"),
                None => asked,
            });
        }
        let launch = match launcher::prepare(&dir, comp, &io, self.job_for(name)) {
            Ok(mut l) => {
                l.env = std::mem::take(&mut local.env);
                l.mounts = std::mem::take(&mut local.folders);
                l
            }
            Err(e) => {
                self.record(
                    path,
                    TaskUpdate {
                        inputs: Some(io.to_value()),
                        ..TaskUpdate::default()
                    },
                );
                return Finished::new(Outcome::Failed, e);
            }
        };
        let shown_inputs = Io {
            parameters: launch.executor_input["inputs"]["parameterValues"]
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            artifacts: io.artifacts.clone(),
        };
        let key = cache::key(comp, exec, &launch.executor_input, custom);
        self.record(
            path,
            TaskUpdate {
                inputs: Some(shown_inputs.to_value()),
                cache_key: Some(key.clone()),
                log_path: Some(launch.log.clone()),
                note: local.note.clone(),
                backing: backing.map(|b| b.label().to_string()),
                ..TaskUpdate::default()
            },
        );
        if caching {
            let lookup = key.clone();
            let hit = self
                .recorder
                .call(move |store, _| cache::lookup(store, &lookup))
                .await
                .flatten();
            if let Some(outputs) = hit {
                return Finished {
                    outcome: Outcome::Cached,
                    outputs,
                    error: None,
                };
            }
        }
        let retry = match retry {
            Ok(r) => r,
            Err(e) => return Finished::new(Outcome::Failed, e),
        };
        let timeout = match timeout {
            Ok(t) => t,
            Err(e) => return Finished::new(Outcome::Failed, e),
        };
        let attempts = retry.attempts;
        for attempt in 1..=attempts {
            let permit = tokio::select! {
                p = self.slots.acquire() => p.ok(),
                () = self.wait_cancel() => None,
            };
            let Some(_permit) = permit else {
                return Finished::new(Outcome::Cancelled, "the run was cancelled");
            };
            self.record(
                path,
                TaskUpdate {
                    state: Some(TaskState::Running),
                    started_at: now(),
                    attempts: Some(attempt),
                    // The last attempt's failure (the retry note) is not this attempt's.
                    clear_error: attempt > 1,
                    ..TaskUpdate::default()
                },
            );
            if attempt > 1 {
                use std::io::Write as _;
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&launch.log)
                {
                    let _ = writeln!(f, "{ATTEMPT_MARK} {attempt} of {attempts} -----");
                }
            }
            let result = match exec {
                ExecutorSpec::Importer(spec) => {
                    match importer::run(spec, comp, &launch, &self.root) {
                        Ok(o) => Attempt::Done(o),
                        Err(e) => Attempt::Failed(e),
                    }
                }
                ExecutorSpec::Container(_) if backing == Some(Backing::TorchServe) => {
                    self.run_torchserve(path, &io, &launch).await
                }
                ExecutorSpec::Container(c) => {
                    self.run_container(path, c, comp, &launch, timeout, local.note.as_deref())
                        .await
                }
                _ => Attempt::Failed("unsupported executor".into()),
            };
            drop(_permit);
            match result {
                Attempt::Done(outputs) => {
                    if caching {
                        let (key, value) = (key.clone(), outputs.to_value());
                        let (run_id, path) = (self.run_id.clone(), path.to_string());
                        self.recorder.send(move |store, _| {
                            if let Err(e) = store.cache_put(&key, &value, &run_id, &path) {
                                tracing::warn!(error = %e, "cannot write the task cache");
                            }
                        });
                    }
                    return Finished::succeeded(outputs);
                }
                Attempt::Cancelled => {
                    return Finished::new(Outcome::Cancelled, "cancelled while running")
                }
                Attempt::Failed(e) => match retry.after_failure(attempt, e, self.cancelled()) {
                    AfterFailure::Retry { wait, note } => {
                        // Waiting for the next attempt: pending again, with why.
                        self.record(
                            path,
                            TaskUpdate {
                                state: Some(TaskState::Pending),
                                error: Some(note),
                                ..TaskUpdate::default()
                            },
                        );
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = self.wait_cancel() => {
                                return Finished::new(Outcome::Cancelled, "cancelled while waiting to retry");
                            }
                        }
                    }
                    AfterFailure::GiveUp(f) => return f,
                },
            }
        }
        Finished::new(Outcome::Failed, "no attempt was made")
    }

    /// Creates or deletes a PVC's folder (`<data-dir>/volumes/<name>`).
    fn run_volume(&self, path: &str, op: &driver::VolumeOp) -> Finished {
        let result = match op {
            driver::VolumeOp::Create(name) => platform::create_volume(&self.data_dir, name),
            driver::VolumeOp::Delete(name) => platform::delete_volume(&self.data_dir, name),
        };
        match result {
            Ok((outputs, note)) => {
                self.record(
                    path,
                    TaskUpdate {
                        state: Some(TaskState::Running),
                        started_at: now(),
                        note: Some(note),
                        ..TaskUpdate::default()
                    },
                );
                Finished::succeeded(outputs)
            }
            Err(e) => Finished::new(Outcome::Failed, e),
        }
    }

    /// Serves the MAR of the task's `model` input from a TorchServe on a loopback port (the
    /// local backing of Vertex AI's model deployment); the endpoint outlives the task and is
    /// managed by [`crate::endpoints::Endpoints`]. Outputs `gcp_resources` naming the
    /// endpoint's prediction URL, as the online prediction's local backing reads it.
    async fn run_torchserve(&self, path: &str, io: &Io, launch: &Launch) -> Attempt {
        let Some(model) = io.artifacts.get("model").and_then(|l| l.first()) else {
            return Attempt::Failed(
                "the deployment has no `model` input: wire the uploaded model into it".into(),
            );
        };
        let meta = |k: &str| model.metadata.get(k).and_then(Value::as_str);
        let folder = PathBuf::from(meta("marFolder").unwrap_or(model.uri.as_str()));
        let model_name = match meta("modelName") {
            Some(n) => n.to_string(),
            None => match only_mar(&folder) {
                Ok(n) => n,
                Err(e) => return Attempt::Failed(e),
            },
        };
        if !folder.join(format!("{model_name}.mar")).is_file() {
            return Attempt::Failed(format!(
                "the model to deploy has no MAR file {model_name}.mar in {}",
                folder.display()
            ));
        }
        let env = match self
            .envs
            .env_for(&components::local::ml_packages(), &[], Some(&launch.log))
            .await
        {
            Ok(e) => e,
            Err(e) => return Attempt::Failed(e),
        };
        let request = crate::endpoints::DeployRequest {
            run_id: self.run_id.clone(),
            task_path: path.to_string(),
            model_name: model_name.clone(),
            mar_folder: folder,
            torchserve: env.bin_dir.join("torchserve"),
            log: launch.log.clone(),
            cancel: Some(self.cancel.clone()),
            timeout: crate::endpoints::DEFAULT_READY_TIMEOUT,
        };
        let info = match self.endpoints.deploy(request).await {
            Ok(i) => i,
            Err(e) => return Attempt::Failed(e),
        };
        if self.cancelled() {
            if let Err(e) = self.endpoints.stop(&info.id).await {
                tracing::warn!(error = %e, endpoint = %info.id, "cannot stop a cancelled run's endpoint");
            }
            return Attempt::Cancelled;
        }
        let address = info
            .url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        self.record(
            path,
            TaskUpdate {
                backing: Some(format!("local: TorchServe on {address}")),
                note: Some(format!(
                    "Endpoint {} serves {model_name} at {}; it keeps running after the run: \
                     stop it under Endpoints or with `pipeline-canvas endpoints stop {}`.",
                    info.id, info.url, info.id
                )),
                ..TaskUpdate::default()
            },
        );
        let resources = serde_json::json!({
            "resources": [{
                "resourceType": "LocalTorchServeEndpoint",
                "resourceUri": info.url,
                "endpointId": info.id,
            }]
        });
        let mut outputs = Io::default();
        outputs
            .parameters
            .insert("gcp_resources".into(), Value::String(resources.to_string()));
        Attempt::Done(outputs)
    }

    /// Waits for a started process: its exit code, or kills its group on cancel or timeout.
    async fn supervise<F>(
        &self,
        pid: u32,
        exit: F,
        timeout: Option<Duration>,
    ) -> Result<i32, Attempt>
    where
        F: Future<Output = Result<i32, String>>,
    {
        tokio::pin!(exit);
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            code = &mut exit => code.map_err(Attempt::Failed),
            () = self.wait_cancel() => {
                process::terminate_group(pid);
                tokio::time::sleep(Duration::from_millis(200)).await;
                process::kill_group(pid);
                let _ = exit.await;
                Err(Attempt::Cancelled)
            }
            () = deadline => {
                process::kill_group(pid);
                let _ = exit.await;
                Err(Attempt::Failed(format!(
                    "timed out after {}s",
                    timeout.map_or(0.0, |t| t.as_secs_f64())
                )))
            }
        };
        // Like a container that exits: nothing the task started outlives it.
        process::kill_group(pid);
        result
    }

    async fn run_container(
        &self,
        path: &str,
        c: &ContainerSpec,
        comp: &ComponentSpec,
        launch: &Launch,
        timeout: Option<Duration>,
        platform_note: Option<&str>,
    ) -> Attempt {
        // The platform spec's note follows the executor's.
        let with_platform = |note: Option<String>| match (note, platform_note) {
            (Some(n), Some(p)) => Some(format!("{n} {p}")),
            (n, p) => n.or(p.map(str::to_string)),
        };
        let _ = std::fs::remove_file(launch.output_file());
        let params_dir = launch.dir.join("parameters");
        let _ = std::fs::remove_dir_all(&params_dir);
        let _ = std::fs::create_dir_all(&params_dir);
        let env_vars: BTreeMap<String, String> = c
            .env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .chain(launch.env.clone())
            .collect();
        let (code, note, log_truncated) = if let Some(program) = executor_python::detect(c) {
            let env = match self
                .envs
                .env_for(&program.packages, &program.pip_args, Some(&launch.log))
                .await
            {
                Ok(e) => e,
                Err(e) => return Attempt::Failed(e),
            };
            let started = match executor_python::start(
                &self.envs,
                &env,
                &program,
                launch,
                &env_vars,
                self.log_limit,
            )
            .await
            {
                Ok(s) => s,
                Err(e) => return Attempt::Failed(e),
            };
            let note = format!(
                "Ran as a Python function with {} (not in the image {}).",
                env.python.display(),
                c.image
            );
            let note = with_platform(Some(note)).unwrap_or_default();
            self.record(
                path,
                TaskUpdate {
                    pid: Some((started.pid, process::start_time(started.pid))),
                    note: Some(note.clone()),
                    ..TaskUpdate::default()
                },
            );
            let truncated = Arc::new(AtomicBool::new(false));
            let flag = truncated.clone();
            let exit = async move {
                let e = started.exit.await.map_err(|_| {
                    "the Python worker stopped while the task was running".to_string()
                })?;
                flag.store(e.log_truncated, Ordering::SeqCst);
                Ok(e.code)
            };
            let code = self.supervise(started.pid, exit, timeout).await;
            (code, Some(note), truncated.load(Ordering::SeqCst))
        } else {
            let env = match self.envs.runtime().await {
                Ok(e) => e,
                Err(e) => {
                    // Host commands do not need Python; run them with the plain PATH.
                    tracing::debug!(error = %e, "no Python runtime for a container task");
                    super::python_env::Env {
                        python: PathBuf::from("python3"),
                        bin_dir: PathBuf::new(),
                    }
                }
            };
            let name = format!(
                "pipeline-canvas-{}-{}",
                self.run_id.get(..8).unwrap_or(&self.run_id),
                self.task_seq.fetch_add(1, Ordering::SeqCst)
            );
            let mounts: Vec<PathBuf> = std::iter::once(self.runs_root.clone())
                .chain(launch.mounts.iter().cloned())
                .collect();
            let started = match executor_container::start(
                c,
                launch,
                &env,
                self.containers.as_ref(),
                self.allow_host_commands,
                &mounts,
                &name,
                self.log_limit,
            )
            .await
            {
                Ok(s) => s,
                Err(e) => return Attempt::Failed(e),
            };
            self.record(
                path,
                TaskUpdate {
                    pid: Some((started.pid, process::start_time(started.pid))),
                    note: with_platform(started.note.clone()),
                    // Shown on the node: the command runs here, not in its image.
                    backing: started
                        .container
                        .is_none()
                        .then(|| HOST_COMMAND.to_string()),
                    ..TaskUpdate::default()
                },
            );
            let pid = started.pid;
            let container = started.container.clone();
            let mut child = started.child;
            let exit = async move {
                child
                    .wait()
                    .await
                    .map(|s| {
                        use std::os::unix::process::ExitStatusExt as _;
                        s.code().unwrap_or_else(|| -s.signal().unwrap_or(9))
                    })
                    .map_err(|e| format!("cannot wait for the task's process: {e}"))
            };
            let r = self.supervise(pid, exit, timeout).await;
            if let (Some(name), Some(rt), Err(_)) = (&container, &self.containers, &r) {
                rt.remove(name).await;
            }
            // The group is gone (supervise killed it): the pipe closes and the log completes.
            let truncated = started.log.finish(LOG_DRAIN_WAIT).await;
            (r, with_platform(started.note), truncated)
        };
        if log_truncated {
            let cut = tasklog::truncation_note(self.log_limit);
            self.record(
                path,
                TaskUpdate {
                    note: Some(match note {
                        Some(n) => format!("{n} The {cut}."),
                        None => format!("The {cut}."),
                    }),
                    ..TaskUpdate::default()
                },
            );
        }
        match code {
            Ok(0) => match launcher::collect(launch, comp, &self.runs_root) {
                Ok(outputs) => Attempt::Done(outputs),
                Err(e) => Attempt::Failed(e),
            },
            Ok(code) if code < 0 => Attempt::Failed(format!(
                "killed by signal {}; log: {}",
                -code,
                log_tail(&launch.log)
            )),
            Ok(code) => Attempt::Failed(format!(
                "exited with code {code}; log: {}",
                log_tail(&launch.log)
            )),
            Err(a) => a,
        }
    }
}

/// The component and executor the local engine runs for a task: the task's own, or for a cloud
/// component its local backing ([`components::local`]); a Google Cloud component without one
/// is refused, so a local run never calls Google Cloud.
fn local_backing<'a>(
    comp: &'a ComponentSpec,
    exec: &'a ExecutorSpec,
) -> Result<(&'a ComponentSpec, &'a ExecutorSpec, Option<Backing>), String> {
    let ExecutorSpec::Container(c) = exec else {
        return Ok((comp, exec, None));
    };
    match components::local::recognise(c) {
        None => Ok((comp, exec, None)),
        Some(Recognised::Cloud(module)) => Err(format!(
            "this task starts the Google Cloud launcher {module}: it would call Google Cloud, \
             which a local run never does, and no local backing stands in for it. Run the \
             pipeline on the Vertex AI target"
        )),
        Some(Recognised::Backing(b @ Backing::TorchServe)) => Ok((comp, exec, Some(b))),
        Some(Recognised::Backing(b @ Backing::Component(local))) => {
            let r = local.runnable().map_err(|e| e.to_string())?;
            Ok((&r.component, &r.executor, Some(b)))
        }
    }
}

/// The model name of the only `.mar` file in `folder`.
fn only_mar(folder: &Path) -> Result<String, String> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| format!("cannot read the model folder {}: {e}", folder.display()))?;
    let mars: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".mar"))
                .map(str::to_string)
        })
        .collect();
    match mars.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no .mar file in the model folder {}",
            folder.display()
        )),
        _ => Err(format!(
            "several .mar files in the model folder {} and the model names none",
            folder.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_of_logs_are_short() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        std::fs::write(&log, format!("a\n\nb\nc\n{}\n", "x".repeat(500))).expect("write");
        let tail = log_tail(&log);
        assert!(tail.starts_with('…'), "{tail}");
        assert_eq!(tail.chars().count(), 401);
        std::fs::write(&log, "one\n\ntwo\nthree\nfour\n").expect("write");
        assert_eq!(log_tail(&log), "two | three | four");
        // Only the last attempt's lines, and only lines with words or numbers.
        std::fs::write(
            &log,
            "old\n\n----- attempt 2 of 3 -----\n{\n  \"k\": 1\n}\n}\nfailing: boom\n  }\n",
        )
        .expect("write");
        assert_eq!(log_tail(&log), "\"k\": 1 | failing: boom");
    }
}
