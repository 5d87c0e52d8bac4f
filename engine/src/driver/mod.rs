//! The driver: what the KFP driver decides, as pure functions of the spec and the task states
//! so far. No I/O, no async, no clock, no processes; the runner (`runner.rs`) carries
//! out its decisions (executors, files, the run store, events) and feeds the results back.
//!
//! - [`Dag`]: one DAG's tasks. A task becomes ready when its upstream tasks (its
//!   `dependentTasks` and the producers of its inputs) have ended; [`Dag::next`] then decides
//!   it: it is blocked when an upstream task failed (unless its trigger strategy is
//!   `ALL_UPSTREAM_TASKS_COMPLETED`: exit handlers, `ignore_upstream_failure`), its inputs are
//!   resolved (DAG inputs, constants, sibling outputs, the final status of a task, expression
//!   selectors), its CEL trigger condition decides whether it runs, and what running it means
//!   is its [`Work`]: a sub-DAG, a loop, or a leaf executor. [`Dag::end`] gives the DAG's
//!   outcome and outputs once nothing runs.
//! - [`Loop`]: a `ParallelFor`'s iterations (items from constants, a parameter or artifacts),
//!   its parallelism, and the outputs collected into lists ([`loop_end`]).
//! - [`Retry`]: a leaf's retry policy and what to do after a failed attempt; [`RunSpec::timeout`]
//!   its time limit; [`MAX_DURATION`], [`MAX_RETRIES`], [`MAX_PARALLELISM`] bound the numbers
//!   a spec gives.
//! - [`Kubernetes`]: what a leaf gets from the Kubernetes platform spec (env from secrets and
//!   config maps, volumes, their names resolved like inputs; the rest listed as ignored),
//!   [`VolumeOp`] the PVC tasks, [`resources`] the resource fields resolved for reporting.
//! - [`check`]: what makes a spec impossible to run at all (a component that contains itself,
//!   more than [`MAX_TASKS`] tasks once sub-DAGs are expanded), refused before a run starts,
//!   so every walk over the spec's nesting is bounded.
//!
//! Task paths name tasks within a run: `condition-1/for-loop-2[1]/train` ([`task_path`]).
//! CEL expressions are evaluated by [`crate::cel`] (on its large-stack thread; a pure
//! computation).

mod dag;
mod inputs;
mod loops;
mod platform;
mod policy;

use std::collections::BTreeMap;

use pipeline::ir::{ComponentSpec, ExecutorSpec, PipelineSpec, PipelineTaskSpec};
use serde_json::Value;

use crate::values::Io;
use api::{RunOptions, TaskKind, TaskState};

pub use dag::{Dag, DagEnd, Decision, Step};
pub use inputs::with_defaults;
pub use loops::{loop_end, Iteration, Loop};
pub use platform::{
    object_name, resources, EnvVar, Kubernetes, Mount, Volume, VolumeOp, CREATE_PVC_IMAGE,
    DELETE_PVC_IMAGE,
};
pub use policy::{
    parallelism, parse_duration, seconds, AfterFailure, Retry, MAX_DURATION, MAX_PARALLELISM,
    MAX_RETRIES,
};

/// How deep DAGs may nest in a run (the root DAG is depth 0): far beyond what the core
/// compiles ([`pipeline::document::MAX_NESTING`] levels), a bound on every walk down a spec.
pub const MAX_DEPTH: usize = 4 * pipeline::document::MAX_NESTING;

/// The most tasks a spec may hold once its sub-DAGs are expanded (each loop counted once), as
/// for imports ([`pipeline::import::MAX_TASKS`]).
pub const MAX_TASKS: usize = pipeline::import::MAX_TASKS;

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and succeeded.
    Succeeded,
    /// Its outputs came from the task cache.
    Cached,
    /// It failed.
    Failed,
    /// The run was cancelled before or while it ran.
    Cancelled,
    /// Not run: a condition was false or an input's producer did not run.
    Skipped,
    /// Not run because an upstream task failed (shown as skipped, counts as a failure).
    Blocked,
}

impl Outcome {
    /// The task state it is recorded as.
    pub fn state(self) -> TaskState {
        match self {
            Outcome::Succeeded => TaskState::Succeeded,
            Outcome::Cached => TaskState::Cached,
            Outcome::Failed => TaskState::Failed,
            Outcome::Cancelled => TaskState::Cancelled,
            Outcome::Skipped | Outcome::Blocked => TaskState::Skipped,
        }
    }

    /// Whether the task has outputs (succeeded or cached).
    pub fn ok(self) -> bool {
        matches!(self, Outcome::Succeeded | Outcome::Cached)
    }

    /// Whether the task blocks the tasks after it (failed, cancelled or blocked itself).
    pub fn failure_like(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Cancelled | Outcome::Blocked
        )
    }

    /// The state `dsl.PipelineTaskFinalStatus` reports.
    pub fn final_status(self) -> &'static str {
        match self {
            Outcome::Succeeded | Outcome::Cached => "SUCCEEDED",
            Outcome::Failed | Outcome::Blocked => "FAILED",
            Outcome::Cancelled => "CANCELLED",
            Outcome::Skipped => "SKIPPED",
        }
    }
}

/// A task that has ended: how, its outputs, and why when it did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// How it ended.
    pub outcome: Outcome,
    /// Its outputs (empty unless it succeeded; a failed loop keeps what it collected).
    pub outputs: Io,
    /// Why it did not succeed.
    pub error: Option<String>,
}

impl Finished {
    /// A task that ended without outputs, for the reason `error`.
    pub fn new(outcome: Outcome, error: impl Into<String>) -> Self {
        Self {
            outcome,
            outputs: Io::default(),
            error: Some(error.into()),
        }
    }

    /// A task that succeeded with `outputs`.
    pub fn succeeded(outputs: Io) -> Self {
        Self {
            outcome: Outcome::Succeeded,
            outputs,
            error: None,
        }
    }
}

/// A task to record: a task of a DAG as it starts (pending), or a task inside a DAG task that
/// will not run (skipped or cancelled with it).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'s> {
    /// Its path in the run.
    pub path: String,
    /// The path of the DAG task it is in (none at the root).
    pub parent: Option<String>,
    /// Its name in its DAG.
    pub name: &'s str,
    /// Its display name (`taskInfo.name`).
    pub display_name: &'s str,
    /// What it is.
    pub kind: TaskKind,
    /// The state it is recorded with.
    pub state: TaskState,
    /// Why, for a task that will not run.
    pub error: Option<String>,
}

/// What running a task that has been decided to run means.
#[derive(Debug, Clone)]
pub enum Work<'s> {
    /// Run the DAG of `comp` (a condition, a branch, an exit handler's body, a sub-pipeline).
    Dag {
        /// The component.
        comp: &'s ComponentSpec,
        /// The task's resolved inputs (recorded on the task).
        inputs: Io,
        /// The DAG's inputs: those, with the component's defaults.
        dag_inputs: Io,
    },
    /// Run a `ParallelFor`: its iterations come from [`RunSpec::iterations`].
    Loop {
        /// The component of each iteration's DAG.
        comp: &'s ComponentSpec,
        /// The loop task's resolved inputs.
        inputs: Io,
    },
    /// Run an executor.
    Leaf(Leaf<'s>),
    /// Create or delete a PVC (KFP's `CreatePVC`, `DeletePVC`): a folder of the data folder.
    Volume(VolumeOp),
    /// The task cannot run (no such component, an executor the engine does not run).
    Fail(Finished),
}

/// A leaf task's executor and how to run it.
#[derive(Debug, Clone)]
pub struct Leaf<'s> {
    /// The component.
    pub comp: &'s ComponentSpec,
    /// Its executor: a container or an importer.
    pub exec: &'s ExecutorSpec,
    /// The task's resolved inputs.
    pub inputs: Io,
    /// Whether a cached result may be used and the result cached.
    pub caching: bool,
    /// The task's own cache key, when it sets one.
    pub cache_key: Option<&'s str>,
    /// Its retry policy, or why it is wrong (the task then fails before its first attempt).
    pub retry: Result<Retry, String>,
    /// The time limit of each attempt, or why it is wrong.
    pub timeout: Result<Option<std::time::Duration>, String>,
    /// What the Kubernetes platform spec gives it, or why that is wrong (the task then fails
    /// before its first attempt).
    pub kubernetes: Result<Kubernetes, String>,
    /// The resources its executor asks for, resolved ([`platform::resources`]): reported on
    /// the task, not enforced.
    pub resources: Vec<String>,
}

/// A run's spec and what it was started with: what the driver's decisions depend on besides
/// the task states. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct RunSpec<'s> {
    /// The compiled pipeline.
    pub spec: &'s PipelineSpec,
    /// Its platform spec (Kubernetes settings: deadlines, env, volumes), when given.
    pub platform: Option<&'s Value>,
    /// The run's options (caching, the task timeout).
    pub options: &'s RunOptions,
    /// The job's resource name, reported in a task's final status.
    pub job_resource_name: &'s str,
}

/// The path of task `name` in the DAG at `prefix` (none: the root DAG).
pub fn task_path(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) => format!("{p}/{name}"),
        None => name.to_string(),
    }
}

/// How many DAGs deep the DAG at path `prefix` is (the root: 0).
fn depth(prefix: Option<&str>) -> usize {
    prefix.map_or(0, |p| p.split('/').count())
}

impl<'s> RunSpec<'s> {
    /// The component task `t` runs.
    pub fn component(&self, t: &PipelineTaskSpec) -> Option<&'s ComponentSpec> {
        self.spec.components.get(&t.component_ref.name)
    }

    /// The executor of `comp`.
    pub fn executor(&self, comp: &ComponentSpec) -> Option<&'s ExecutorSpec> {
        let label = comp.executor_label.as_ref()?;
        self.spec.deployment_spec.as_ref()?.executors.get(label)
    }

    /// What task `t` is, as recorded.
    pub fn kind_of(&self, t: &PipelineTaskSpec) -> TaskKind {
        if t.parameter_iterator.is_some() || t.artifact_iterator.is_some() {
            return TaskKind::Loop;
        }
        match self.component(t) {
            Some(c) if c.dag.is_some() => TaskKind::Dag,
            Some(c) => match self.executor(c) {
                Some(ExecutorSpec::Importer(_)) => TaskKind::Importer,
                _ => TaskKind::Container,
            },
            None => TaskKind::Container,
        }
    }

    /// Every task inside the DAG task at `prefix` running `comp`, depth first, to record with
    /// `state` and `why` when the DAG task does not run. At most [`MAX_DEPTH`] DAGs deep.
    pub fn subtree(
        &self,
        prefix: &str,
        comp: &'s ComponentSpec,
        state: TaskState,
        why: &str,
    ) -> Vec<Entry<'s>> {
        let mut out = Vec::new();
        let Some(dag) = &comp.dag else { return out };
        // A stack of (the DAG task's path, its remaining tasks).
        let mut stack = vec![(prefix.to_string(), dag.tasks.iter())];
        while let Some((parent, tasks)) = stack.last_mut() {
            let Some((name, t)) = tasks.next() else {
                stack.pop();
                continue;
            };
            let path = task_path(Some(parent), name);
            out.push(Entry {
                path: path.clone(),
                parent: Some(parent.clone()),
                name,
                display_name: &t.task_info.name,
                kind: self.kind_of(t),
                state,
                error: Some(why.to_string()),
            });
            let inner = self.component(t).and_then(|c| c.dag.as_ref());
            if let Some(inner) = inner.filter(|_| depth(Some(&path)) <= MAX_DEPTH) {
                stack.push((path, inner.tasks.iter()));
            }
        }
        out
    }

    /// What running task `t` with its resolved `inputs` means; its platform settings are
    /// resolved in `scope`, its DAG's.
    fn work(&self, t: &'s PipelineTaskSpec, inputs: Io, scope: &inputs::Scope<'_, '_>) -> Work<'s> {
        let Some(comp) = self.component(t) else {
            return Work::Fail(Finished::new(
                Outcome::Failed,
                format!("the spec has no component {:?}", t.component_ref.name),
            ));
        };
        if comp.dag.is_some() {
            if t.parameter_iterator.is_some() || t.artifact_iterator.is_some() {
                return Work::Loop { comp, inputs };
            }
            let dag_inputs = with_defaults(inputs.clone(), comp);
            return Work::Dag {
                comp,
                inputs,
                dag_inputs,
            };
        }
        match self.executor(comp) {
            Some(ExecutorSpec::Container(c))
                if c.image == CREATE_PVC_IMAGE || c.image == DELETE_PVC_IMAGE =>
            {
                match platform::volume_op(&c.image, &inputs, self.job_resource_name) {
                    Some(Ok(op)) => Work::Volume(op),
                    Some(Err(e)) => Work::Fail(Finished::new(Outcome::Failed, e)),
                    None => Work::Fail(Finished::new(Outcome::Failed, "not a PVC task")),
                }
            }
            Some(exec @ (ExecutorSpec::Container(_) | ExecutorSpec::Importer(_))) => {
                let kubernetes = platform::kubernetes(self.platform, comp, scope);
                let options = t.caching_options.as_ref();
                Work::Leaf(Leaf {
                    comp,
                    exec,
                    caching: options.is_some_and(|c| c.enable_cache)
                        && self.options.enable_caching != Some(false),
                    cache_key: options.and_then(|c| c.cache_key.as_deref()),
                    retry: Retry::of(t),
                    timeout: self.timeout(comp),
                    kubernetes,
                    resources: match exec {
                        ExecutorSpec::Container(c) => platform::resources(c, &inputs),
                        _ => Vec::new(),
                    },
                    inputs,
                })
            }
            Some(other) => {
                let kind = match other {
                    ExecutorSpec::Resolver(_) => "a resolver",
                    ExecutorSpec::CustomJob(_) => "a Vertex AI custom job",
                    _ => "this executor",
                };
                Work::Fail(Finished::new(
                    Outcome::Failed,
                    format!("{kind} cannot run on the local engine; run the pipeline on Vertex AI or Kubeflow Pipelines"),
                ))
            }
            None => Work::Fail(Finished::new(
                Outcome::Failed,
                format!(
                    "component {:?} has neither a DAG nor an executor",
                    t.component_ref.name
                ),
            )),
        }
    }
}

/// Checks that `spec` can be run at all: its root has a DAG, no component contains itself
/// (through the DAGs of its tasks), and it holds at most [`MAX_TASKS`] tasks once each sub-DAG
/// is expanded where it is used (a loop's body counted once). Linear in the spec; an error says
/// what is wrong and where.
pub fn check(spec: &PipelineSpec) -> Result<(), String> {
    if spec.root.dag.is_none() {
        return Err("the spec's root has no DAG".into());
    }
    fn tasks_of(comp: &ComponentSpec) -> impl Iterator<Item = &PipelineTaskSpec> + '_ {
        comp.dag.iter().flat_map(|d| d.tasks.values())
    }
    /// The sub-DAG component task `t` runs, if it runs one.
    fn sub_dag_of<'a>(
        spec: &'a PipelineSpec,
        t: &'a PipelineTaskSpec,
    ) -> Option<(&'a str, &'a ComponentSpec)> {
        let name = t.component_ref.name.as_str();
        spec.components
            .get(name)
            .filter(|c| c.dag.is_some())
            .map(|c| (name, c))
    }
    let sub_dag = |t| sub_dag_of(spec, t);
    // How many tasks each DAG component expands to (None: the root), sized depth first with
    // an explicit stack of (component, its tasks not looked at yet); a component met again
    // while it is open is a cycle.
    let mut sizes: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let mut stack = vec![(None, &spec.root, tasks_of(&spec.root))];
    while let Some((name, comp, tasks)) = stack.last_mut() {
        let (name, comp) = (*name, *comp);
        let next = tasks
            .filter_map(sub_dag)
            .find(|(inner, _)| !sizes.contains_key(&Some(*inner)));
        if let Some((inner, c)) = next {
            if let Some(at) = stack.iter().position(|(open, _, _)| *open == Some(inner)) {
                let mut cycle: Vec<&str> = stack
                    .get(at..)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|(n, _, _)| *n)
                    .collect();
                cycle.push(inner);
                return Err(format!(
                    "component {inner:?} contains itself: {}",
                    cycle.join(" → ")
                ));
            }
            stack.push((Some(inner), c, tasks_of(c)));
            continue;
        }
        let mut n: usize = 0;
        for t in tasks_of(comp) {
            let inner = sub_dag(t).map_or(0, |(inner, _)| {
                sizes.get(&Some(inner)).copied().unwrap_or(usize::MAX)
            });
            n = n.saturating_add(1).saturating_add(inner);
        }
        if n > MAX_TASKS {
            let at = name.map_or("the pipeline".to_string(), |c| format!("component {c:?}"));
            return Err(format!(
                "{at} expands to more than {MAX_TASKS} tasks once its sub-DAGs are copied where they are used"
            ));
        }
        sizes.insert(name, n);
        stack.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(components: Value, root: Value) -> PipelineSpec {
        serde_json::from_value(json!({
            "pipelineInfo": {"name": "p"},
            "schemaVersion": "2.1.0",
            "components": components,
            "root": {"dag": {"tasks": root}},
        }))
        .expect("spec")
    }

    fn task(comp: &str) -> Value {
        json!({"taskInfo": {"name": comp}, "componentRef": {"name": comp}})
    }

    #[test]
    fn outcomes_map_to_states() {
        assert_eq!(Outcome::Blocked.state(), TaskState::Skipped);
        assert!(Outcome::Blocked.failure_like());
        assert!(!Outcome::Skipped.failure_like());
        assert!(Outcome::Cached.ok());
        assert_eq!(Outcome::Cached.final_status(), "SUCCEEDED");
        assert_eq!(Outcome::Blocked.final_status(), "FAILED");
    }

    #[test]
    fn components_that_contain_themselves_are_refused() {
        let s = spec(
            json!({
                "comp-a": {"dag": {"tasks": {"b": task("comp-b")}}},
                "comp-b": {"dag": {"tasks": {"a": task("comp-a")}}},
            }),
            json!({"a": task("comp-a")}),
        );
        let err = check(&s).expect_err("a cycle");
        assert!(err.contains("comp-a → comp-b → comp-a"), "{err}");
        let s = spec(
            json!({"comp-a": {"executorLabel": "exec-a"}}),
            json!({"a": task("comp-a")}),
        );
        assert_eq!(check(&s), Ok(()));
    }

    #[test]
    fn specs_expanding_beyond_the_task_limit_are_refused() {
        // Each level holds the next twice: 2^40 tasks once expanded, from 40 components.
        let mut comps = serde_json::Map::new();
        comps.insert("comp-0".into(), json!({"executorLabel": "exec-0"}));
        for i in 1..=40 {
            let inner = format!("comp-{}", i - 1);
            comps.insert(
                format!("comp-{i}"),
                json!({"dag": {"tasks": {"x": task(&inner), "y": task(&inner)}}}),
            );
        }
        let s = spec(Value::Object(comps), json!({"top": task("comp-40")}));
        let err = check(&s).expect_err("too many");
        assert!(err.contains("more than 100000 tasks"), "{err}");
    }

    #[test]
    fn subtrees_are_listed_depth_first() {
        let s = spec(
            json!({
                "comp-a": {"dag": {"tasks": {"b": task("comp-b"), "c": task("comp-c")}}},
                "comp-b": {"dag": {"tasks": {"d": task("comp-c")}}},
                "comp-c": {"executorLabel": "exec-c"},
            }),
            json!({"a": task("comp-a")}),
        );
        let options = RunOptions::default();
        let run = RunSpec {
            spec: &s,
            platform: None,
            options: &options,
            job_resource_name: "job",
        };
        let comp = s.components.get("comp-a").expect("comp-a");
        let paths: Vec<String> = run
            .subtree("x/a", comp, TaskState::Skipped, "why")
            .into_iter()
            .map(|e| format!("{} in {}", e.path, e.parent.unwrap_or_default()))
            .collect();
        assert_eq!(paths, ["x/a/b in x/a", "x/a/b/d in x/a/b", "x/a/c in x/a"]);
    }
}
