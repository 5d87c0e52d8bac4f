//! `ParallelFor`: a loop task's iterations and what it collects from them.

use pipeline::ir::{ComponentSpec, PipelineSpec, PipelineTaskSpec};
use serde_json::Value;

use super::{parallelism, with_defaults, Finished, Outcome, MAX_DEPTH};
use crate::values::{Io, RuntimeArtifact};

/// One iteration of a loop: a run of the loop's DAG with one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Iteration {
    /// Its path: the loop's, with the item's index (`for-loop-2[1]`).
    pub path: String,
    /// Its name (`for-loop-2[1]`).
    pub name: String,
    /// Its display name (`for-loop-2 #1`).
    pub display_name: String,
    /// The DAG's inputs: the loop's, its component's defaults, and the item.
    pub inputs: Io,
}

/// A loop task's iterations.
#[derive(Debug, Clone)]
pub struct Loop<'s> {
    /// The component of each iteration's DAG.
    pub comp: &'s ComponentSpec,
    /// How many iterations may run at once.
    pub parallelism: usize,
    /// The iterations, in the order of the items.
    pub iterations: Vec<Iteration>,
}

/// An item of a loop.
enum Item {
    Param(String, Value),
    Artifact(String, RuntimeArtifact),
}

impl<'s> Loop<'s> {
    /// The iterations of loop task `t` (named `name`, at `path`) over `comp` with the task's
    /// resolved `inputs`: one per item of its parameter iterator (a JSON list given in the
    /// spec, or an input parameter holding a list or its JSON text) or artifact iterator. The
    /// loop fails when its items are not a list.
    pub fn new(
        path: &str,
        name: &str,
        t: &PipelineTaskSpec,
        comp: &'s ComponentSpec,
        inputs: &Io,
    ) -> Result<Self, Finished> {
        let items: Vec<Item> = if let Some(it) = &t.parameter_iterator {
            let list = if let Some(raw) = &it.items.raw {
                serde_json::from_str::<Value>(raw)
                    .map_err(|e| format!("the loop's items {raw:?} are not JSON: {e}"))
            } else if let Some(p) = &it.items.input_parameter {
                match inputs.parameters.get(p) {
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
                    return Err(Finished::new(
                        Outcome::Failed,
                        format!("the loop's items are not a list: {other}"),
                    ))
                }
                Err(e) => return Err(Finished::new(Outcome::Failed, e)),
            }
        } else if let Some(it) = &t.artifact_iterator {
            inputs
                .artifacts
                .get(&it.items.input_artifact)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|a| Item::Artifact(it.item_input.clone(), a))
                .collect()
        } else {
            Vec::new()
        };
        let base = with_defaults(inputs.clone(), comp);
        let display = &t.task_info.name;
        let iterations = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let mut inputs = base.clone();
                match item {
                    Item::Param(k, v) => {
                        inputs.parameters.insert(k, v);
                    }
                    Item::Artifact(k, a) => {
                        inputs.artifacts.insert(k, vec![a]);
                    }
                }
                Iteration {
                    path: format!("{path}[{i}]"),
                    name: format!("{name}[{i}]"),
                    display_name: format!("{display} #{i}"),
                    inputs,
                }
            })
            .collect();
        Ok(Self {
            comp,
            parallelism: parallelism(t.iterator_policy.as_ref().and_then(|p| p.parallelism_limit)),
            iterations,
        })
    }
}

/// Whether output parameter `key` of DAG component `comp` is collected by a loop inside it
/// (through condition DAGs between): then each iteration's value is already a list of values.
/// Follows at most [`MAX_DEPTH`] DAGs down.
fn collected_inside(spec: &PipelineSpec, comp: &ComponentSpec, key: &str) -> bool {
    let mut comp = comp;
    let mut key = key.to_string();
    for _ in 0..=MAX_DEPTH {
        let Some(dag) = &comp.dag else { return false };
        let selector = dag
            .outputs
            .as_ref()
            .and_then(|o| o.parameters.get(&key))
            .and_then(|p| p.value_from_parameter.as_ref());
        let Some(sel) = selector else { return false };
        let Some(task) = dag.tasks.get(&sel.producer_subtask) else {
            return false;
        };
        if task.parameter_iterator.is_some() || task.artifact_iterator.is_some() {
            return true;
        }
        match spec.components.get(&task.component_ref.name) {
            Some(inner) if inner.dag.is_some() => {
                comp = inner;
                key = sel.output_parameter_key.clone();
            }
            _ => return false,
        }
    }
    false
}

/// How a loop over `comp` (of `spec`) ended, from how its iterations did (`(path, result)`, in
/// order): each output of the loop's component is the list of the iterations' values of it —
/// a parameter list, flat when a loop inside collected it (as the KFP driver collects through
/// nested loops down to the tasks), or the artifacts one after another; the loop fails when an
/// iteration failed (or was blocked), is cancelled when one was, and succeeds otherwise.
pub fn loop_end(
    spec: &PipelineSpec,
    comp: &ComponentSpec,
    results: &[(String, Finished)],
) -> Finished {
    let mut outputs = Io::default();
    if let Some(defs) = &comp.output_definitions {
        for key in defs.parameters.keys() {
            let flat = collected_inside(spec, comp, key);
            let mut list: Vec<Value> = Vec::new();
            for v in results
                .iter()
                .filter_map(|(_, f)| f.outputs.parameters.get(key))
            {
                match v {
                    Value::Array(items) if flat => list.extend(items.iter().cloned()),
                    other => list.push(other.clone()),
                }
            }
            outputs.parameters.insert(key.clone(), Value::Array(list));
        }
        for key in defs.artifacts.keys() {
            let list = results
                .iter()
                .flat_map(|(_, f)| f.outputs.artifacts.get(key).cloned().unwrap_or_default())
                .collect();
            outputs.artifacts.insert(key.clone(), list);
        }
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, f)| matches!(f.outcome, Outcome::Failed | Outcome::Blocked))
        .map(|(p, _)| p.as_str())
        .collect();
    if !failed.is_empty() {
        return Finished {
            outcome: Outcome::Failed,
            outputs,
            error: Some(format!("failed iterations: {}", failed.join(", "))),
        };
    }
    if results.iter().any(|(_, f)| f.outcome == Outcome::Cancelled) {
        return Finished::new(Outcome::Cancelled, "cancelled");
    }
    Finished::succeeded(outputs)
}
