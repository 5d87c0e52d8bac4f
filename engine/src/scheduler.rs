//! Running a pipeline spec: DAGs and their tasks, as the KFP driver and launcher do.
//!
//! A DAG starts every task whose upstream tasks (its `dependentTasks` and the producers of its
//! inputs) have ended, so independent tasks run at the same time; the engine-wide semaphore
//! bounds how many executors run at once. For each task that becomes ready:
//!
//! - an upstream task that failed skips it, unless its trigger strategy is
//!   `ALL_UPSTREAM_TASKS_COMPLETED` (exit handlers, `ignore_upstream_failure`);
//! - its inputs are resolved (DAG inputs, constants, sibling outputs, final status of a
//!   task, expression selectors), and its CEL trigger condition decides whether it runs;
//! - a DAG component runs as a sub-DAG (conditions, branches, exit handlers,
//!   sub-pipelines), a `ParallelFor` runs one sub-DAG per item (at most `parallelismLimit` at
//!   once) and collects their outputs into lists, and an executor runs as a leaf with caching,
//!   retries with backoff, a timeout and cancellation.
//!
//! Task paths name tasks within the run: `condition-1/for-loop-2[1]/train`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use pipeline::ir::{
    ComponentSpec, ContainerSpec, DagSpec, ExecutorSpec, InputParameterSpec, PipelineSpec,
    PipelineTaskSpec,
};
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};

use super::cache;
use super::cel;
use super::executor_container::{self, ContainerRuntime};
use super::executor_python;
use super::importer;
use super::launcher::{self, Launch};
use super::placeholders::JobInfo;
use super::process;
use super::python_env::PythonEnvs;
use super::tasklog;
use super::values::{task_dir, Io};
use runs::Recorder;
use runs::{EngineEvent, Events, TaskEvent};
use runs::{NewTask, RunStore, TaskKind, TaskState, TaskUpdate};

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use api::RunOptions;

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Cached,
    Failed,
    Cancelled,
    /// Not run: a condition was false or an input's producer did not run.
    Skipped,
    /// Not run because an upstream task failed (shown as skipped, counts as a failure).
    Blocked,
}

impl Outcome {
    fn state(self) -> TaskState {
        match self {
            Outcome::Succeeded => TaskState::Succeeded,
            Outcome::Cached => TaskState::Cached,
            Outcome::Failed => TaskState::Failed,
            Outcome::Cancelled => TaskState::Cancelled,
            Outcome::Skipped | Outcome::Blocked => TaskState::Skipped,
        }
    }

    fn ok(self) -> bool {
        matches!(self, Outcome::Succeeded | Outcome::Cached)
    }

    fn failure_like(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Cancelled | Outcome::Blocked
        )
    }

    /// The state `dsl.PipelineTaskFinalStatus` reports.
    fn final_status(self) -> &'static str {
        match self {
            Outcome::Succeeded | Outcome::Cached => "SUCCEEDED",
            Outcome::Failed | Outcome::Blocked => "FAILED",
            Outcome::Cancelled => "CANCELLED",
            Outcome::Skipped => "SKIPPED",
        }
    }
}

/// A task that has ended.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub outcome: Outcome,
    pub outputs: Io,
    pub error: Option<String>,
}

impl Finished {
    fn new(outcome: Outcome, error: impl Into<String>) -> Self {
        Self {
            outcome,
            outputs: Io::default(),
            error: Some(error.into()),
        }
    }
}

enum Decision {
    Finished(Finished),
    Run(Io),
}

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
    /// Writes to the run store and sends the events, off the async threads.
    pub recorder: Recorder,
    pub envs: PythonEnvs,
    pub slots: Arc<Semaphore>,
    pub cancel: watch::Receiver<bool>,
    pub options: RunOptions,
    pub containers: Option<ContainerRuntime>,
    pub job: JobInfo,
    pub first_error: Mutex<Option<String>>,
    pub any_failed: AtomicBool,
    pub task_seq: AtomicU64,
    /// The most bytes a task's log may hold.
    pub log_limit: u64,
}

fn child_path(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) => format!("{p}/{name}"),
        None => name.to_string(),
    }
}

fn now() -> Option<String> {
    runs::now().ok()
}

/// The longest duration the engine waits for (a timeout, a retry back-off): every duration
/// read from a spec or a run request is clamped to it. A year is as good as forever for a
/// local run, and keeps every deadline computable (`Instant + Duration` cannot overflow).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The most retries of one task: a spec's `maxRetryCount` above it is clamped to it.
pub const MAX_RETRIES: u32 = 1000;

/// `secs` seconds, clamped to [`MAX_DURATION`]; an error naming `field` when `secs` is negative
/// or not a number.
pub(crate) fn seconds(field: &str, secs: f64) -> Result<Duration, String> {
    if secs.is_nan() || secs < 0.0 {
        return Err(format!(
            "{field} is {secs}; it must be a number of seconds, 0 or more"
        ));
    }
    if secs >= MAX_DURATION.as_secs_f64() {
        return Ok(MAX_DURATION);
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|e| format!("{field} is {secs}, which is not a duration: {e}"))
}

/// Parses a protobuf duration (`"5s"`, `"1.5s"`), clamped to [`MAX_DURATION`]; an error
/// naming `field` and the value when it is not one.
pub(crate) fn parse_duration(field: &str, s: &str) -> Result<Duration, String> {
    let secs = s
        .trim()
        .strip_suffix('s')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| !n.is_nan())
        .ok_or_else(|| {
            format!("{field} is {s:?}, which is not a duration in seconds such as \"1.5s\"")
        })?;
    seconds(field, secs)
}

/// A task's retry policy, checked and clamped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retry {
    /// Attempts in all (retries + 1), at most [`MAX_RETRIES`] + 1.
    pub attempts: u32,
    /// The first wait.
    pub backoff: Duration,
    /// How much each wait grows.
    pub factor: f64,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Retry {
    /// The policy of `t` (none: one attempt), or an error naming the field that is wrong.
    pub(crate) fn of(t: &PipelineTaskSpec) -> Result<Self, String> {
        let policy = t.retry_policy.clone().unwrap_or_default();
        let retries = policy
            .max_retry_count
            .unwrap_or(0)
            .clamp(0, i64::from(MAX_RETRIES));
        let retries = u32::try_from(retries).unwrap_or(MAX_RETRIES);
        let backoff = match policy.backoff_duration.as_deref() {
            Some(d) => parse_duration("retryPolicy.backoffDuration", d)?,
            None => Duration::ZERO,
        };
        let max_backoff = match policy.backoff_max_duration.as_deref() {
            Some(d) => parse_duration("retryPolicy.backoffMaxDuration", d)?,
            None => Duration::from_secs(3600),
        };
        let factor = match policy.backoff_factor {
            None => 2.0,
            Some(f) if f.is_finite() && f > 0.0 => f,
            // 0 is protobuf's "unset".
            Some(0.0) => 2.0,
            Some(f) => {
                return Err(format!(
                    "retryPolicy.backoffFactor is {f}; it must be a positive number"
                ))
            }
        };
        Ok(Self {
            attempts: retries.saturating_add(1),
            backoff,
            factor,
            max_backoff,
        })
    }

    /// The wait after failed attempt `attempt` (1 = the first): `backoff × factor^(attempt-1)`,
    /// at most `max_backoff`.
    pub(crate) fn wait(&self, attempt: u32) -> Duration {
        if self.backoff.is_zero() {
            return Duration::ZERO;
        }
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.backoff.as_secs_f64() * self.factor.powi(exponent);
        if !secs.is_finite() || secs >= self.max_backoff.as_secs_f64() {
            return self.max_backoff;
        }
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// How many iterations of a loop may run at once: its `parallelismLimit` (0 or less: no
/// limit), clamped to what a semaphore holds.
pub(crate) fn parallelism(limit: Option<i64>) -> usize {
    limit
        .filter(|n| *n > 0)
        .map_or(Semaphore::MAX_PERMITS, |n| {
            usize::try_from(n).map_or(Semaphore::MAX_PERMITS, |n| n.min(Semaphore::MAX_PERMITS))
        })
}

/// The producers a task reads from.
fn producers(t: &PipelineTaskSpec) -> impl Iterator<Item = &str> {
    let inputs = t.inputs.as_ref();
    let params = inputs
        .into_iter()
        .flat_map(|i| i.parameters.values())
        .flat_map(|p| {
            p.task_output_parameter
                .as_ref()
                .map(|o| o.producer_task.as_str())
                .into_iter()
                .chain(
                    p.task_final_status
                        .as_ref()
                        .map(|f| f.producer_task.as_str()),
                )
        });
    let arts = inputs
        .into_iter()
        .flat_map(|i| i.artifacts.values())
        .filter_map(|a| {
            a.task_output_artifact
                .as_ref()
                .map(|o| o.producer_task.as_str())
        });
    params.chain(arts)
}

fn dependencies(dag: &DagSpec) -> HashMap<&str, BTreeSet<&str>> {
    dag.tasks
        .iter()
        .map(|(name, t)| {
            let deps = t
                .dependent_tasks
                .iter()
                .map(String::as_str)
                .chain(producers(t))
                .filter(|d| *d != name.as_str() && dag.tasks.contains_key(d))
                .collect();
            (name.as_str(), deps)
        })
        .collect()
}

fn with_defaults(mut io: Io, comp: &ComponentSpec) -> Io {
    if let Some(defs) = &comp.input_definitions {
        for (name, p) in &defs.parameters {
            if let Some(d) = &p.default_value {
                io.parameters
                    .entry(name.clone())
                    .or_insert_with(|| d.clone());
            }
        }
    }
    io
}

/// A constant in the deprecated typed form (`{"stringValue": "x"}`, `{"intValue": "3"}`).
fn typed_constant(v: &Value) -> Value {
    let Some(o) = v.as_object() else {
        return v.clone();
    };
    if let Some(s) = o.get("stringValue").or_else(|| o.get("string_value")) {
        return s.clone();
    }
    if let Some(i) = o.get("intValue").or_else(|| o.get("int_value")) {
        return match i {
            Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(i.clone()),
            other => other.clone(),
        };
    }
    if let Some(d) = o.get("doubleValue").or_else(|| o.get("double_value")) {
        return d.clone();
    }
    v.clone()
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
        })),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot read a task back from the run store"),
    }
}

/// A task that panics when it ends, in the unit tests (a way to test that a panic inside a run
/// fails the run instead of leaving it running).
#[cfg(test)]
pub(crate) const TEST_PANIC_TASK: &str = "pipeline-canvas-test-panic";

/// How long a finished task's log may take to be complete (its pipe closed by every process
/// of its group).
const LOG_DRAIN_WAIT: Duration = Duration::from_secs(2);

/// The last three non-empty lines of a log, at most 400 characters, for an error message; only
/// the end of the file is read.
fn log_tail(path: &Path) -> String {
    let text = tasklog::tail(path);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
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

    fn executor(&self, comp: &ComponentSpec) -> Option<&ExecutorSpec> {
        let label = comp.executor_label.as_ref()?;
        self.spec.deployment_spec.as_ref()?.executors.get(label)
    }

    fn kind_of(&self, t: &PipelineTaskSpec) -> TaskKind {
        if t.parameter_iterator.is_some() || t.artifact_iterator.is_some() {
            return TaskKind::Loop;
        }
        match self.spec.components.get(&t.component_ref.name) {
            Some(c) if c.dag.is_some() => TaskKind::Dag,
            Some(c) => match self.executor(c) {
                Some(ExecutorSpec::Importer(_)) => TaskKind::Importer,
                _ => TaskKind::Container,
            },
            None => TaskKind::Container,
        }
    }

    /// Records every task under a DAG task that will not run, with the same state.
    fn mark_subtree(&self, prefix: &str, comp: &ComponentSpec, state: TaskState, why: &str) {
        let Some(dag) = &comp.dag else { return };
        for (name, t) in &dag.tasks {
            let path = child_path(Some(prefix), name);
            self.add(NewTask {
                path: &path,
                parent: Some(prefix),
                name,
                display_name: Some(&t.task_info.name),
                kind: self.kind_of(t),
                state,
                error: Some(why),
            });
            if let Some(c) = self.spec.components.get(&t.component_ref.name) {
                self.mark_subtree(&path, c, state, why);
            }
        }
    }

    /// Runs the DAG of `comp` with `inputs`; tasks are recorded under `prefix`.
    pub(crate) fn execute_dag<'a>(
        &'a self,
        prefix: Option<&'a str>,
        comp: &'a ComponentSpec,
        inputs: Io,
    ) -> BoxFut<'a, Finished> {
        Box::pin(async move {
            let Some(dag) = &comp.dag else {
                return Finished::new(Outcome::Failed, "the component has no DAG");
            };
            for (name, t) in &dag.tasks {
                let path = child_path(prefix, name);
                self.add(NewTask {
                    path: &path,
                    parent: prefix,
                    name,
                    display_name: Some(&t.task_info.name),
                    kind: self.kind_of(t),
                    state: TaskState::Pending,
                    error: None,
                });
            }
            let deps = dependencies(dag);
            let mut done: HashMap<&str, Finished> = HashMap::new();
            let mut started: BTreeSet<&str> = BTreeSet::new();
            let mut running = FuturesUnordered::new();
            loop {
                let mut progressed = true;
                while progressed {
                    progressed = false;
                    for (name, t) in &dag.tasks {
                        let name = name.as_str();
                        let Some(task_deps) = deps.get(name) else {
                            continue;
                        };
                        if started.contains(name) || !task_deps.iter().all(|d| done.contains_key(d))
                        {
                            continue;
                        }
                        started.insert(name);
                        let path = child_path(prefix, name);
                        match self.decide(t, task_deps, &done, &inputs) {
                            Decision::Finished(f) => {
                                self.ended(&path, &f);
                                if let Some(c) = self.spec.components.get(&t.component_ref.name) {
                                    let why = f.error.clone().unwrap_or_default();
                                    let state = if f.outcome == Outcome::Cancelled {
                                        TaskState::Cancelled
                                    } else {
                                        TaskState::Skipped
                                    };
                                    self.mark_subtree(&path, c, state, &why);
                                }
                                done.insert(name, f);
                                progressed = true;
                            }
                            Decision::Run(io) => {
                                running.push(async move {
                                    let f = self.run_task(&path, name, t, io).await;
                                    (name, f)
                                });
                            }
                        }
                    }
                }
                match running.next().await {
                    Some((name, f)) => {
                        done.insert(name, f);
                    }
                    None => break,
                }
            }
            for name in dag.tasks.keys() {
                if !done.contains_key(name.as_str()) {
                    let f = Finished::new(
                        Outcome::Failed,
                        "never became ready: its dependencies form a cycle",
                    );
                    self.ended(&child_path(prefix, name), &f);
                    done.insert(name, f);
                }
            }
            let failed: Vec<&str> = done
                .iter()
                .filter(|(_, f)| matches!(f.outcome, Outcome::Failed))
                .map(|(n, _)| *n)
                .collect();
            let outcome =
                if !failed.is_empty() || done.values().any(|f| f.outcome == Outcome::Blocked) {
                    Outcome::Failed
                } else if done.values().any(|f| f.outcome == Outcome::Cancelled) {
                    Outcome::Cancelled
                } else {
                    Outcome::Succeeded
                };
            let error = match outcome {
                Outcome::Failed if !failed.is_empty() => {
                    let mut failed = failed;
                    failed.sort_unstable();
                    Some(format!("failed inside: {}", failed.join(", ")))
                }
                Outcome::Failed => Some("a task inside did not run".to_string()),
                Outcome::Cancelled => Some("cancelled".to_string()),
                _ => None,
            };
            Finished {
                outcome,
                outputs: self.dag_outputs(dag, &done),
                error,
            }
        })
    }

    fn dag_outputs(&self, dag: &DagSpec, done: &HashMap<&str, Finished>) -> Io {
        let mut io = Io::default();
        let Some(spec) = &dag.outputs else { return io };
        let ran = |producer: &str| done.get(producer).filter(|f| f.outcome.ok());
        for (key, p) in &spec.parameters {
            let selectors = p.value_from_parameter.iter().chain(
                p.value_from_oneof
                    .iter()
                    .flat_map(|s| &s.parameter_selectors),
            );
            for s in selectors {
                if let Some(v) = ran(&s.producer_subtask)
                    .and_then(|f| f.outputs.parameters.get(&s.output_parameter_key))
                {
                    io.parameters.insert(key.clone(), v.clone());
                    break;
                }
            }
        }
        for (key, a) in &spec.artifacts {
            for s in &a.artifact_selectors {
                if let Some(v) = ran(&s.producer_subtask)
                    .and_then(|f| f.outputs.artifacts.get(&s.output_artifact_key))
                {
                    io.artifacts.insert(key.clone(), v.clone());
                    break;
                }
            }
        }
        io
    }

    fn final_status(&self, producer: &str, f: &Finished) -> Value {
        let error = match f.outcome {
            Outcome::Failed | Outcome::Blocked | Outcome::Cancelled => json!({
                "code": 1,
                "message": f.error.clone().unwrap_or_else(|| format!("task {producer} failed")),
            }),
            _ => json!({}),
        };
        json!({
            "state": f.outcome.final_status(),
            "pipelineJobResourceName": self.job.job_resource_name,
            "pipelineTaskName": producer,
            "error": error,
        })
    }

    /// Resolves a task's inputs; also returns the inputs whose producer has no value for them.
    #[allow(clippy::type_complexity)]
    fn resolve_inputs<'d>(
        &self,
        t: &'d PipelineTaskSpec,
        dag: &Io,
        done: &HashMap<&str, Finished>,
    ) -> Result<(Io, Vec<(&'d str, &'d str)>), String> {
        let mut io = Io::default();
        let mut unavailable = Vec::new();
        let Some(inputs) = &t.inputs else {
            return Ok((io, unavailable));
        };
        for (name, p) in &inputs.parameters {
            let value = match self.parameter_source(name, p, dag, done)? {
                Source::Value(v) => v,
                Source::Absent => continue,
                Source::Unavailable(producer) => {
                    unavailable.push((name.as_str(), producer));
                    continue;
                }
            };
            let value = match &p.parameter_expression_selector {
                Some(sel) if !sel.is_empty() => {
                    cel::select(sel, &value).map_err(|e| format!("input {name:?}: {e}"))?
                }
                _ => value,
            };
            io.parameters.insert(name.clone(), value);
        }
        for (name, a) in &inputs.artifacts {
            if let Some(c) = &a.component_input_artifact {
                if let Some(list) = dag.artifacts.get(c) {
                    io.artifacts.insert(name.clone(), list.clone());
                }
            } else if let Some(o) = &a.task_output_artifact {
                match done.get(o.producer_task.as_str()) {
                    Some(f) if f.outcome.ok() => {
                        match f.outputs.artifacts.get(&o.output_artifact_key) {
                            Some(list) => {
                                io.artifacts.insert(name.clone(), list.clone());
                            }
                            None => {
                                return Err(format!(
                                    "input {name:?}: task {} has no output artifact {:?}",
                                    o.producer_task, o.output_artifact_key
                                ))
                            }
                        }
                    }
                    _ => unavailable.push((name.as_str(), o.producer_task.as_str())),
                }
            }
        }
        Ok((io, unavailable))
    }

    fn parameter_source<'d>(
        &self,
        name: &str,
        p: &'d InputParameterSpec,
        dag: &Io,
        done: &HashMap<&str, Finished>,
    ) -> Result<Source<'d>, String> {
        if let Some(c) = &p.component_input_parameter {
            return Ok(dag
                .parameters
                .get(c)
                .cloned()
                .map_or(Source::Absent, Source::Value));
        }
        if let Some(rv) = &p.runtime_value {
            if let Some(c) = &rv.constant {
                return Ok(Source::Value(c.clone()));
            }
            if let Some(c) = &rv.constant_value {
                return Ok(Source::Value(typed_constant(c)));
            }
            if let Some(r) = &rv.runtime_parameter {
                return Ok(dag
                    .parameters
                    .get(r)
                    .cloned()
                    .map_or(Source::Absent, Source::Value));
            }
            return Ok(Source::Absent);
        }
        if let Some(o) = &p.task_output_parameter {
            return match done.get(o.producer_task.as_str()) {
                Some(f) if f.outcome.ok() => {
                    match f.outputs.parameters.get(&o.output_parameter_key) {
                        Some(v) => Ok(Source::Value(v.clone())),
                        None => Err(format!(
                            "input {name:?}: task {} has no output parameter {:?}",
                            o.producer_task, o.output_parameter_key
                        )),
                    }
                }
                _ => Ok(Source::Unavailable(&o.producer_task)),
            };
        }
        if let Some(s) = &p.task_final_status {
            return Ok(match done.get(s.producer_task.as_str()) {
                Some(f) => Source::Value(self.final_status(&s.producer_task, f)),
                None => Source::Unavailable(&s.producer_task),
            });
        }
        Ok(Source::Absent)
    }

    fn decide(
        &self,
        t: &PipelineTaskSpec,
        deps: &BTreeSet<&str>,
        done: &HashMap<&str, Finished>,
        dag_inputs: &Io,
    ) -> Decision {
        if self.cancelled() {
            return Decision::Finished(Finished::new(
                Outcome::Cancelled,
                "the run was cancelled before this task started",
            ));
        }
        let policy = t.trigger_policy.as_ref();
        let on_completion =
            policy.and_then(|p| p.strategy.as_deref()) == Some("ALL_UPSTREAM_TASKS_COMPLETED");
        if !on_completion {
            if let Some(d) = deps
                .iter()
                .find(|d| done.get(*d).is_some_and(|f| f.outcome.failure_like()))
            {
                return Decision::Finished(Finished::new(
                    Outcome::Blocked,
                    format!("not run: upstream task {d} did not succeed"),
                ));
            }
        }
        let (io, unavailable) = match self.resolve_inputs(t, dag_inputs, done) {
            Ok(r) => r,
            Err(e) => return Decision::Finished(Finished::new(Outcome::Failed, e)),
        };
        for (input, producer) in unavailable {
            match done.get(producer).map(|f| f.outcome) {
                Some(o) if o.failure_like() && on_completion => {}
                Some(o) if o.failure_like() => {
                    return Decision::Finished(Finished::new(
                        Outcome::Blocked,
                        format!(
                        "not run: its input {input} comes from {producer}, which did not succeed"
                    ),
                    ))
                }
                _ => {
                    return Decision::Finished(Finished::new(
                        Outcome::Skipped,
                        format!(
                            "not run: its input {input} comes from {producer}, which did not run"
                        ),
                    ))
                }
            }
        }
        if let Some(cond) = policy
            .and_then(|p| p.condition.as_deref())
            .filter(|c| !c.trim().is_empty())
        {
            match cel::condition(cond, &io.parameters) {
                Ok(true) => {}
                Ok(false) => {
                    return Decision::Finished(Finished::new(
                        Outcome::Skipped,
                        format!("condition is false: {cond}"),
                    ))
                }
                Err(e) => return Decision::Finished(Finished::new(Outcome::Failed, e)),
            }
        }
        Decision::Run(io)
    }

    async fn run_task(&self, path: &str, name: &str, t: &PipelineTaskSpec, io: Io) -> Finished {
        let Some(comp) = self.spec.components.get(&t.component_ref.name) else {
            let f = Finished::new(
                Outcome::Failed,
                format!("the spec has no component {:?}", t.component_ref.name),
            );
            self.ended(path, &f);
            return f;
        };
        let f = if comp.dag.is_some() {
            if t.parameter_iterator.is_some() || t.artifact_iterator.is_some() {
                self.run_loop(path, name, t, comp, io).await
            } else {
                self.record(
                    path,
                    TaskUpdate {
                        state: Some(TaskState::Running),
                        started_at: now(),
                        inputs: Some(io.to_value()),
                        ..TaskUpdate::default()
                    },
                );
                self.execute_dag(Some(path), comp, with_defaults(io, comp))
                    .await
            }
        } else {
            match self.executor(comp) {
                Some(exec @ (ExecutorSpec::Container(_) | ExecutorSpec::Importer(_))) => {
                    self.run_leaf(path, name, t, comp, exec, io).await
                }
                Some(other) => {
                    let kind = match other {
                        ExecutorSpec::Resolver(_) => "a resolver",
                        ExecutorSpec::CustomJob(_) => "a Vertex AI custom job",
                        _ => "this executor",
                    };
                    Finished::new(
                        Outcome::Failed,
                        format!("{kind} cannot run on the local engine; run the pipeline on Vertex AI or Kubeflow Pipelines"),
                    )
                }
                None => Finished::new(
                    Outcome::Failed,
                    format!(
                        "component {:?} has neither a DAG nor an executor",
                        t.component_ref.name
                    ),
                ),
            }
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
        self.record(
            path,
            TaskUpdate {
                state: Some(TaskState::Running),
                started_at: now(),
                inputs: Some(io.to_value()),
                ..TaskUpdate::default()
            },
        );
        // The items: parameter values, or artifacts.
        enum Item {
            Param(String, Value),
            Artifact(String, super::values::RuntimeArtifact),
        }
        let items: Vec<Item> = if let Some(it) = &t.parameter_iterator {
            let list = if let Some(raw) = &it.items.raw {
                serde_json::from_str::<Value>(raw)
                    .map_err(|e| format!("the loop's items {raw:?} are not JSON: {e}"))
            } else if let Some(p) = &it.items.input_parameter {
                match io.parameters.get(p) {
                    Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                        .map_err(|e| format!("the loop's items ({p}) are not a JSON list: {e}")),
                    Some(v) => Ok(v.clone()),
                    None => Err(format!("the loop's items ({p}) have no value")),
                }
            } else {
                Err("the loop has no items".to_string())
            };
            match list {
                Ok(Value::Array(a)) => a
                    .into_iter()
                    .map(|v| Item::Param(it.item_input.clone(), v))
                    .collect(),
                Ok(other) => {
                    return Finished::new(
                        Outcome::Failed,
                        format!("the loop's items are not a list: {other}"),
                    )
                }
                Err(e) => return Finished::new(Outcome::Failed, e),
            }
        } else if let Some(it) = &t.artifact_iterator {
            io.artifacts
                .get(&it.items.input_artifact)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|a| Item::Artifact(it.item_input.clone(), a))
                .collect()
        } else {
            Vec::new()
        };
        let gate = Semaphore::new(parallelism(
            t.iterator_policy.as_ref().and_then(|p| p.parallelism_limit),
        ));
        let base = with_defaults(io, comp);
        let display = t.task_info.name.clone();
        let mut paths = Vec::with_capacity(items.len());
        for i in 0..items.len() {
            let p = format!("{path}[{i}]");
            self.add(NewTask {
                path: &p,
                parent: Some(path),
                name: &format!("{name}[{i}]"),
                display_name: Some(&format!("{display} #{i}")),
                kind: TaskKind::Iteration,
                state: TaskState::Pending,
                error: None,
            });
            paths.push(p);
        }
        let runs: Vec<_> = items
            .into_iter()
            .zip(&paths)
            .map(|(item, p)| {
                let mut inputs = base.clone();
                match item {
                    Item::Param(k, v) => {
                        inputs.parameters.insert(k, v);
                    }
                    Item::Artifact(k, a) => {
                        inputs.artifacts.insert(k, vec![a]);
                    }
                }
                let gate = &gate;
                async move {
                    let f = match gate.acquire().await {
                        Ok(_permit) if !self.cancelled() => {
                            self.record(
                                p,
                                TaskUpdate {
                                    state: Some(TaskState::Running),
                                    started_at: now(),
                                    inputs: Some(inputs.to_value()),
                                    ..TaskUpdate::default()
                                },
                            );
                            self.execute_dag(Some(p), comp, inputs).await
                        }
                        _ => {
                            let f = Finished::new(Outcome::Cancelled, "the run was cancelled");
                            self.mark_subtree(
                                p,
                                comp,
                                TaskState::Cancelled,
                                "the run was cancelled",
                            );
                            f
                        }
                    };
                    self.ended(p, &f);
                    f
                }
            })
            .collect();
        let results = futures_util::future::join_all(runs).await;
        let mut outputs = Io::default();
        let defs = comp.output_definitions.clone().unwrap_or_default();
        for key in defs.parameters.keys() {
            let list: Vec<Value> = results
                .iter()
                .filter_map(|f| f.outputs.parameters.get(key).cloned())
                .collect();
            outputs.parameters.insert(key.clone(), Value::Array(list));
        }
        for key in defs.artifacts.keys() {
            let list = results
                .iter()
                .flat_map(|f| f.outputs.artifacts.get(key).cloned().unwrap_or_default())
                .collect();
            outputs.artifacts.insert(key.clone(), list);
        }
        let failed: Vec<String> = results
            .iter()
            .zip(&paths)
            .filter(|(f, _)| matches!(f.outcome, Outcome::Failed | Outcome::Blocked))
            .map(|(_, p)| p.clone())
            .collect();
        if !failed.is_empty() {
            return Finished {
                outcome: Outcome::Failed,
                outputs,
                error: Some(format!("failed iterations: {}", failed.join(", "))),
            };
        }
        if results.iter().any(|f| f.outcome == Outcome::Cancelled) {
            return Finished::new(Outcome::Cancelled, "cancelled");
        }
        Finished {
            outcome: Outcome::Succeeded,
            outputs,
            error: None,
        }
    }

    /// The timeout of an attempt: the task's Kubernetes `activeDeadlineSeconds` when the
    /// platform spec sets one (0 or less: none), else the run's `taskTimeoutSeconds`; clamped
    /// to [`MAX_DURATION`].
    fn timeout_for(&self, comp: &ComponentSpec) -> Result<Option<Duration>, String> {
        let field = "activeDeadlineSeconds";
        let from_platform = match (self.platform.as_ref(), comp.executor_label.as_deref()) {
            (Some(p), Some(label)) => {
                match &p["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label][field] {
                    Value::Null => None,
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => Some(s.trim().parse::<f64>().map_err(|_| {
                        format!("{field} is {s:?}, which is not a number of seconds")
                    })?),
                    other => {
                        return Err(format!(
                            "{field} is {other}, which is not a number of seconds"
                        ))
                    }
                }
            }
            _ => None,
        };
        match from_platform.filter(|s| *s > 0.0) {
            Some(secs) => seconds(field, secs).map(Some),
            None => Ok(self
                .options
                .task_timeout_seconds
                .map(|s| Duration::from_secs(s).min(MAX_DURATION))),
        }
    }

    fn job_for(&self, name: &str) -> JobInfo {
        let n = self.task_seq.fetch_add(1, Ordering::SeqCst);
        JobInfo {
            task_name: name.to_string(),
            task_id: format!("{}-{n}", self.run_id),
            ..self.job.clone()
        }
    }

    async fn run_leaf(
        &self,
        path: &str,
        name: &str,
        t: &PipelineTaskSpec,
        comp: &ComponentSpec,
        exec: &ExecutorSpec,
        io: Io,
    ) -> Finished {
        let dir = task_dir(&self.root, path);
        let launch = match launcher::prepare(&dir, comp, &io, self.job_for(name)) {
            Ok(l) => l,
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
        let caching = t.caching_options.as_ref().is_some_and(|c| c.enable_cache)
            && self.options.enable_caching != Some(false);
        let custom = t
            .caching_options
            .as_ref()
            .and_then(|c| c.cache_key.as_deref());
        let key = cache::key(comp, exec, &launch.executor_input, custom);
        self.record(
            path,
            TaskUpdate {
                inputs: Some(shown_inputs.to_value()),
                cache_key: Some(key.clone()),
                log_path: Some(launch.log.clone()),
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
        let retry = match Retry::of(t) {
            Ok(r) => r,
            Err(e) => return Finished::new(Outcome::Failed, e),
        };
        let timeout = match self.timeout_for(comp) {
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
                    let _ = writeln!(f, "\n----- attempt {attempt} of {attempts} -----");
                }
            }
            let result = match exec {
                ExecutorSpec::Importer(spec) => match importer::run(spec, comp, &launch) {
                    Ok(o) => Attempt::Done(o),
                    Err(e) => Attempt::Failed(e),
                },
                ExecutorSpec::Container(c) => {
                    self.run_container(path, c, comp, &launch, timeout).await
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
                    return Finished {
                        outcome: Outcome::Succeeded,
                        outputs,
                        error: None,
                    };
                }
                Attempt::Cancelled => {
                    return Finished::new(Outcome::Cancelled, "cancelled while running")
                }
                Attempt::Failed(e) if attempt < attempts && !self.cancelled() => {
                    let wait = retry.wait(attempt);
                    self.record(
                        path,
                        TaskUpdate {
                            error: Some(format!(
                                "attempt {attempt} of {attempts} failed: {e}; retrying in {:.1}s",
                                wait.as_secs_f64()
                            )),
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
                Attempt::Failed(e) => {
                    let e = if attempts > 1 {
                        format!("{e} (after {attempts} attempts)")
                    } else {
                        e
                    };
                    return Finished::new(Outcome::Failed, e);
                }
            }
        }
        Finished::new(Outcome::Failed, "no attempt was made")
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
    ) -> Attempt {
        let _ = std::fs::remove_file(launch.output_file());
        let params_dir = launch.dir.join("parameters");
        let _ = std::fs::remove_dir_all(&params_dir);
        let _ = std::fs::create_dir_all(&params_dir);
        let env_vars: BTreeMap<String, String> = c
            .env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .collect();
        let (code, note, log_truncated) = if let Some(program) = executor_python::detect(c) {
            let env = match self
                .envs
                .env_for(&program.packages, &program.pip_args)
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
            let mounts = [self.runs_root.clone()];
            let started = match executor_container::start(
                c,
                launch,
                &env,
                self.containers.as_ref(),
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
                    note: started.note.clone(),
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
            (r, started.note, truncated)
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

enum Source<'d> {
    Value(Value),
    Absent,
    Unavailable(&'d str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_protobuf() {
        let d = |s| parse_duration("f", s);
        assert_eq!(d("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(d("0.5s"), Ok(Duration::from_millis(500)));
        let err = d("5m").expect_err("minutes");
        assert!(err.contains("f is \"5m\""), "{err}");
        assert!(d("-1s").expect_err("negative").contains("-1"));
        assert!(d("NaNs").is_err());
        // Values that used to panic `Duration::from_secs_f64` are clamped.
        assert_eq!(d("1e30s"), Ok(MAX_DURATION));
        assert_eq!(d("infs"), Ok(MAX_DURATION));
        assert_eq!(d("1e400s"), Ok(MAX_DURATION));
    }

    fn task_with(retry: Value) -> PipelineTaskSpec {
        serde_json::from_value(json!({
            "taskInfo": {"name": "t"},
            "componentRef": {"name": "comp-t"},
            "retryPolicy": retry,
        }))
        .expect("task")
    }

    #[test]
    fn retry_policies_are_checked_and_clamped() {
        let r = Retry::of(&task_with(json!({
            "maxRetryCount": 3,
            "backoffDuration": "1s",
            "backoffFactor": 2.0,
            "backoffMaxDuration": "5s"
        })))
        .expect("policy");
        assert_eq!(r.attempts, 4);
        assert_eq!(r.wait(1), Duration::from_secs(1));
        assert_eq!(r.wait(2), Duration::from_secs(2));
        assert_eq!(r.wait(4), Duration::from_secs(5));
        // Huge factors and durations, and huge retry counts, that used to panic or wrap.
        let r = Retry::of(&task_with(json!({
            "maxRetryCount": 9_223_372_036_854_775_807_i64,
            "backoffDuration": "1e30s",
            "backoffFactor": 1.0e308,
            "backoffMaxDuration": "1e30s"
        })))
        .expect("policy");
        assert_eq!(r.attempts, MAX_RETRIES + 1);
        assert_eq!(r.wait(1), MAX_DURATION);
        assert_eq!(r.wait(u32::MAX), MAX_DURATION);
        let r = Retry::of(&task_with(json!({
            "maxRetryCount": 2,
            "backoffDuration": "1s",
            "backoffFactor": 1.0e308
        })))
        .expect("policy");
        assert_eq!(r.wait(3), Duration::from_secs(3600));
        let r = Retry::of(&task_with(
            json!({"maxRetryCount": 2, "backoffFactor": 1.0e308}),
        ))
        .expect("policy");
        assert_eq!(r.wait(3), Duration::ZERO, "no back-off stays none");
        assert_eq!(
            Retry::of(&task_with(json!({"maxRetryCount": -5})))
                .expect("policy")
                .attempts,
            1
        );
        let err = Retry::of(&task_with(json!({"backoffDuration": "5m"}))).expect_err("bad");
        assert!(
            err.contains("retryPolicy.backoffDuration") && err.contains("5m"),
            "{err}"
        );
        let err = Retry::of(&task_with(json!({"backoffFactor": -1.0}))).expect_err("bad");
        assert!(err.contains("retryPolicy.backoffFactor is -1"), "{err}");
    }

    #[test]
    fn parallelism_limits_fit_a_semaphore() {
        for limit in [None, Some(0), Some(-3), Some(i64::MAX), Some(1 << 62)] {
            let n = parallelism(limit);
            assert!(n <= Semaphore::MAX_PERMITS, "{limit:?}");
            let _ = Semaphore::new(n);
        }
        assert_eq!(parallelism(Some(3)), 3);
        assert_eq!(parallelism(Some(1 << 62)), Semaphore::MAX_PERMITS);
    }

    #[test]
    fn seconds_are_clamped_or_refused() {
        assert_eq!(seconds("x", 1e300), Ok(MAX_DURATION));
        assert_eq!(seconds("x", f64::INFINITY), Ok(MAX_DURATION));
        assert_eq!(seconds("x", 2.5), Ok(Duration::from_millis(2500)));
        assert!(seconds("x", -1.0)
            .expect_err("negative")
            .contains("x is -1"));
        assert!(seconds("x", f64::NAN).is_err());
    }

    #[test]
    fn typed_constants_unwrap() {
        assert_eq!(typed_constant(&json!({"stringValue": "x"})), json!("x"));
        assert_eq!(typed_constant(&json!({"intValue": "3"})), json!(3));
        assert_eq!(typed_constant(&json!(2)), json!(2));
    }

    #[test]
    fn outcomes_map_to_states() {
        assert_eq!(Outcome::Blocked.state(), TaskState::Skipped);
        assert!(Outcome::Blocked.failure_like());
        assert!(!Outcome::Skipped.failure_like());
        assert!(Outcome::Cached.ok());
        assert_eq!(Outcome::Cached.final_status(), "SUCCEEDED");
    }
}
