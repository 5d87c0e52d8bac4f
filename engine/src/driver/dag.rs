//! One DAG's tasks: which become ready, what each does, and the DAG's outcome and outputs.

use std::collections::{BTreeMap, BTreeSet};

use pipeline::ir::{ComponentSpec, DagSpec, OutputDefinitions, ParameterType, PipelineTaskSpec};

use super::inputs::Scope;
use super::{depth, task_path, Entry, Finished, Outcome, RunSpec, Work, MAX_DEPTH};
use crate::cel;
use crate::values::Io;
use api::TaskState;
use serde_json::Value;

/// What the driver decided for a task that became ready.
#[derive(Debug, Clone)]
pub enum Decision<'s> {
    /// It ends without running (skipped, blocked by a failure upstream, its inputs or its
    /// condition failed, the run was cancelled). `below` lists the tasks inside it when it is
    /// a DAG task, to record as skipped (cancelled when it was cancelled) with it.
    Finished {
        /// How it ended.
        result: Finished,
        /// The tasks inside it.
        below: Vec<Entry<'s>>,
    },
    /// It runs.
    Run(Work<'s>),
}

/// A task that became ready, and what to do with it.
#[derive(Debug, Clone)]
pub struct Step<'s> {
    /// Its name in the DAG.
    pub name: &'s str,
    /// Its path in the run.
    pub path: String,
    /// Its spec.
    pub task: &'s PipelineTaskSpec,
    /// The decision.
    pub decision: Decision<'s>,
}

/// How a DAG ended.
#[derive(Debug, Clone, PartialEq)]
pub struct DagEnd {
    /// Tasks that never became ready (their dependencies form a cycle): path and how they
    /// are recorded.
    pub never_ready: Vec<(String, Finished)>,
    /// The DAG's outcome, its outputs (from its `outputs` selectors) and why it did not
    /// succeed.
    pub result: Finished,
}

/// The state of one DAG being driven: its tasks, their dependencies, and those that have
/// been decided and have ended.
#[derive(Debug, Clone)]
pub struct Dag<'s> {
    run: RunSpec<'s>,
    prefix: Option<String>,
    dag: &'s DagSpec,
    /// The types of the DAG's outputs (its component's output definitions).
    output_types: Option<&'s OutputDefinitions>,
    inputs: Io,
    deps: BTreeMap<&'s str, BTreeSet<&'s str>>,
    decided: BTreeSet<&'s str>,
    done: BTreeMap<&'s str, Finished>,
}

/// The producers task `t` reads from.
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

/// The upstream tasks of each task of `dag`: its `dependentTasks` and its inputs' producers
/// that are tasks of the DAG (other than itself).
fn dependencies(dag: &DagSpec) -> BTreeMap<&str, BTreeSet<&str>> {
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

impl<'s> Dag<'s> {
    /// The DAG of `comp` with `inputs`, its tasks named under `prefix` (none: the root DAG).
    /// A component without a DAG, or a DAG nested deeper than [`MAX_DEPTH`], fails.
    pub fn new(
        run: RunSpec<'s>,
        prefix: Option<&str>,
        comp: &'s ComponentSpec,
        inputs: Io,
    ) -> Result<Self, Finished> {
        let Some(dag) = &comp.dag else {
            return Err(Finished::new(Outcome::Failed, "the component has no DAG"));
        };
        if depth(prefix) > MAX_DEPTH {
            return Err(Finished::new(
                Outcome::Failed,
                format!(
                    "DAGs nest more than {MAX_DEPTH} deep here: does a component contain itself?"
                ),
            ));
        }
        Ok(Self {
            run,
            prefix: prefix.map(str::to_string),
            dag,
            output_types: comp.output_definitions.as_ref(),
            inputs,
            deps: dependencies(dag),
            decided: BTreeSet::new(),
            done: BTreeMap::new(),
        })
    }

    /// Every task of the DAG, to record as pending when it starts.
    pub fn tasks(&self) -> Vec<Entry<'s>> {
        self.dag
            .tasks
            .iter()
            .map(|(name, t)| Entry {
                path: task_path(self.prefix.as_deref(), name),
                parent: self.prefix.clone(),
                name,
                display_name: &t.task_info.name,
                kind: self.run.kind_of(t),
                state: TaskState::Pending,
                error: None,
            })
            .collect()
    }

    /// Decides every task that has become ready (all its upstream tasks ended) and was not
    /// decided yet, in name order, again and again until no more become ready: a task that
    /// ends without running (a [`Decision::Finished`]) counts as ended at once, which may make
    /// more tasks ready. Tasks decided to run end when the runner calls [`Dag::finish`].
    /// When the run is `cancelled`, every ready task is cancelled instead.
    pub fn next(&mut self, cancelled: bool) -> Vec<Step<'s>> {
        let mut steps = Vec::new();
        let mut progressed = true;
        while progressed {
            progressed = false;
            for (name, t) in &self.dag.tasks {
                let name = name.as_str();
                let Some(task_deps) = self.deps.get(name) else {
                    continue;
                };
                if self.decided.contains(name)
                    || !task_deps.iter().all(|d| self.done.contains_key(d))
                {
                    continue;
                }
                self.decided.insert(name);
                let path = task_path(self.prefix.as_deref(), name);
                let decision = match self.decide(t, task_deps, cancelled) {
                    Ok(inputs) => {
                        let scope = Scope {
                            dag: &self.inputs,
                            done: &self.done,
                            job_resource_name: self.run.job_resource_name,
                        };
                        Decision::Run(self.run.work(t, inputs, &scope))
                    }
                    Err(result) => {
                        let below = match self.run.component(t) {
                            Some(c) => {
                                let state = if result.outcome == Outcome::Cancelled {
                                    TaskState::Cancelled
                                } else {
                                    TaskState::Skipped
                                };
                                let why = result.error.clone().unwrap_or_default();
                                self.run.subtree(&path, c, state, &why)
                            }
                            None => Vec::new(),
                        };
                        self.done.insert(name, result.clone());
                        progressed = true;
                        Decision::Finished { result, below }
                    }
                };
                steps.push(Step {
                    name,
                    path,
                    task: t,
                    decision,
                });
            }
        }
        steps
    }

    /// Task `name` has ended as `f` (a task the runner ran; or, for a table of states so far,
    /// any task of the DAG). Names not in the DAG are ignored.
    pub fn finish(&mut self, name: &str, f: Finished) {
        if let Some((&name, _)) = self.deps.get_key_value(name) {
            self.decided.insert(name);
            self.done.insert(name, f);
        }
    }

    /// The task's inputs when it runs, or how it ends without running.
    fn decide(
        &self,
        t: &'s PipelineTaskSpec,
        deps: &BTreeSet<&'s str>,
        cancelled: bool,
    ) -> Result<Io, Finished> {
        if cancelled {
            return Err(Finished::new(
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
                .find(|d| self.done.get(*d).is_some_and(|f| f.outcome.failure_like()))
            {
                return Err(Finished::new(
                    Outcome::Blocked,
                    format!("not run: upstream task {d} did not succeed"),
                ));
            }
        }
        let scope = Scope {
            dag: &self.inputs,
            done: &self.done,
            job_resource_name: self.run.job_resource_name,
        };
        let (io, unavailable) = scope
            .resolve(t)
            .map_err(|e| Finished::new(Outcome::Failed, e))?;
        for (input, producer) in unavailable {
            match self.done.get(producer).map(|f| f.outcome) {
                Some(o) if o.failure_like() && on_completion => {}
                Some(o) if o.failure_like() => {
                    return Err(Finished::new(
                        Outcome::Blocked,
                        format!(
                        "not run: its input {input} comes from {producer}, which did not succeed"
                    ),
                    ))
                }
                _ => {
                    return Err(Finished::new(
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
                    return Err(Finished::new(
                        Outcome::Skipped,
                        format!("condition is false: {cond}"),
                    ))
                }
                Err(e) => return Err(Finished::new(Outcome::Failed, e)),
            }
        }
        Ok(io)
    }

    /// The DAG's end, once no task of it is running: the tasks that never became ready fail
    /// (a dependency cycle), and the DAG fails when a task failed or did not run because of a
    /// failure, is cancelled when a task was, and succeeds otherwise; its outputs are picked
    /// from the tasks that succeeded.
    pub fn end(mut self) -> DagEnd {
        let mut never_ready = Vec::new();
        for name in self.dag.tasks.keys() {
            if !self.done.contains_key(name.as_str()) {
                let f = Finished::new(
                    Outcome::Failed,
                    "never became ready: its dependencies form a cycle",
                );
                never_ready.push((task_path(self.prefix.as_deref(), name), f.clone()));
                self.done.insert(name, f);
            }
        }
        let failed: Vec<&str> = self
            .done
            .iter()
            .filter(|(_, f)| matches!(f.outcome, Outcome::Failed))
            .map(|(n, _)| *n)
            .collect();
        let outcome =
            if !failed.is_empty() || self.done.values().any(|f| f.outcome == Outcome::Blocked) {
                Outcome::Failed
            } else if self.done.values().any(|f| f.outcome == Outcome::Cancelled) {
                Outcome::Cancelled
            } else {
                Outcome::Succeeded
            };
        let error = match outcome {
            // In name order (the map's).
            Outcome::Failed if !failed.is_empty() => {
                Some(format!("failed inside: {}", failed.join(", ")))
            }
            Outcome::Failed => Some("a task inside did not run".to_string()),
            Outcome::Cancelled => Some("cancelled".to_string()),
            _ => None,
        };
        DagEnd {
            never_ready,
            result: Finished {
                outcome,
                outputs: self.outputs(),
                error,
            },
        }
    }

    /// The DAG's outputs: for each, the first of its selectors whose producer succeeded and has
    /// the output (`dsl.OneOf` lists several). Where the pipeline itself (the root DAG)
    /// declares a list output but its source is one value — `dsl.Collected` of one task inside a
    /// condition — the output is the list of what ran: that value, or empty when it was
    /// skipped. Inner DAGs pass values on as they are (a loop collects its iterations' values
    /// itself).
    fn outputs(&self) -> Io {
        let mut io = Io::default();
        let Some(spec) = &self.dag.outputs else {
            return io;
        };
        let ran = |producer: &str| self.done.get(producer).filter(|f| f.outcome.ok());
        let skipped = |producer: &str| {
            self.done
                .get(producer)
                .is_some_and(|f| f.outcome == Outcome::Skipped)
        };
        for (key, p) in &spec.parameters {
            let selectors: Vec<_> = p
                .value_from_parameter
                .iter()
                .chain(
                    p.value_from_oneof
                        .iter()
                        .flat_map(|s| &s.parameter_selectors),
                )
                .collect();
            let found = selectors.iter().find_map(|s| {
                ran(&s.producer_subtask)
                    .and_then(|f| f.outputs.parameters.get(&s.output_parameter_key))
            });
            let pipeline_list = self.prefix.is_none()
                && self
                    .output_types
                    .and_then(|d| d.parameters.get(key))
                    .is_some_and(|d| d.parameter_type == ParameterType::List);
            match found {
                Some(v) if pipeline_list && !v.is_array() => {
                    io.parameters
                        .insert(key.clone(), Value::Array(vec![v.clone()]));
                }
                Some(v) => {
                    io.parameters.insert(key.clone(), v.clone());
                }
                // Collected from a task that did not run: the empty list of what ran.
                None if pipeline_list && selectors.iter().all(|s| skipped(&s.producer_subtask)) => {
                    io.parameters.insert(key.clone(), Value::Array(Vec::new()));
                }
                None => {}
            }
        }
        for (key, a) in &spec.artifacts {
            let found = a.artifact_selectors.iter().find_map(|s| {
                ran(&s.producer_subtask)
                    .and_then(|f| f.outputs.artifacts.get(&s.output_artifact_key))
            });
            let pipeline_list = self.prefix.is_none()
                && self
                    .output_types
                    .and_then(|d| d.artifacts.get(key))
                    .is_some_and(|d| d.is_artifact_list);
            match found {
                Some(v) => {
                    io.artifacts.insert(key.clone(), v.clone());
                }
                None if pipeline_list
                    && a.artifact_selectors
                        .iter()
                        .all(|s| skipped(&s.producer_subtask)) =>
                {
                    io.artifacts.insert(key.clone(), Vec::new());
                }
                None => {}
            }
        }
        io
    }
}
