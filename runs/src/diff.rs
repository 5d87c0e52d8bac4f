//! The difference between two runs' graphs: the union of their tasks matched by path, each
//! marked added, removed, changed or the same, with the input parameter values, states and
//! cache use that differ, the dependencies between the tasks (from each run's spec), and a
//! layered layout to draw it by. Pure: the store reads the runs, this compares them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use api::{DiffEdge, RunDetail, RunDiff, TaskChange, TaskDiff, TaskKind, TaskRow, ValueChange};
use pipeline::ir::{ComponentSpec, PipelineSpec};
use serde_json::Value;

use crate::lineage::task_of;

/// One run as the comparison needs it: its detail and the spec it ran (none when the stored
/// spec cannot be read, e.g. a run of an older version).
pub struct DiffSide<'a> {
    /// The run and its tasks.
    pub run: &'a RunDetail,
    /// The spec it ran.
    pub spec: Option<&'a PipelineSpec>,
}

/// How run `b` differs from run `a`.
pub fn diff_runs(a: &DiffSide<'_>, b: &DiffSide<'_>) -> RunDiff {
    let tasks_a: HashMap<&str, &TaskRow> =
        a.run.tasks.iter().map(|t| (t.path.as_str(), t)).collect();
    let tasks_b: HashMap<&str, &TaskRow> =
        b.run.tasks.iter().map(|t| (t.path.as_str(), t)).collect();
    // Run B's tasks in its order, then those only run A has, in A's order.
    let mut tasks: Vec<TaskDiff> = Vec::new();
    for t in &b.run.tasks {
        tasks.push(match tasks_a.get(t.path.as_str()) {
            Some(old) => both(a, old, b, t),
            None => one(t, TaskChange::Added),
        });
    }
    for t in &a.run.tasks {
        if !tasks_b.contains_key(t.path.as_str()) {
            tasks.push(one(t, TaskChange::Removed));
        }
    }
    let index: HashMap<String, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.path.clone(), i))
        .collect();
    let mut edges: BTreeSet<(usize, usize, bool)> = BTreeSet::new();
    for (i, t) in tasks.iter().enumerate() {
        if let Some(p) = t.parent.as_deref().and_then(|p| index.get(p)) {
            edges.insert((*p, i, true));
        }
        // An iteration waits for nothing of its own: its loop does.
        if t.kind == TaskKind::Iteration {
            continue;
        }
        let side = if t.change == TaskChange::Removed {
            a
        } else {
            b
        };
        let Some((spec_task, _)) = side.spec.and_then(|s| task_of(s, &t.path)) else {
            continue;
        };
        for dep in &spec_task.dependent_tasks {
            let sibling = match &t.parent {
                Some(p) => format!("{p}/{dep}"),
                None => dep.clone(),
            };
            if let Some(&j) = index.get(&sibling) {
                edges.insert((j, i, false));
            }
        }
    }
    let pairs: Vec<(usize, usize)> = edges.iter().map(|(f, t, _)| (*f, *t)).collect();
    let layer = pipeline::layout::layers(tasks.len(), &pairs);
    let row = pipeline::layout::rows(&layer, &pairs);
    for (i, t) in tasks.iter_mut().enumerate() {
        t.layer = u32::try_from(layer[i]).unwrap_or(u32::MAX);
        t.row = u32::try_from(row[i]).unwrap_or(u32::MAX);
    }
    let edges = edges
        .into_iter()
        .map(|(f, t, contains)| DiffEdge {
            from: tasks[f].path.clone(),
            to: tasks[t].path.clone(),
            contains,
        })
        .collect();
    tasks.sort_by_key(|t| (t.layer, t.row));
    RunDiff {
        a: a.run.summary.id.clone(),
        b: b.run.summary.id.clone(),
        parameters: changes(&a.run.parameters, &b.run.parameters),
        tasks,
        edges,
    }
}

/// A task only one run has.
fn one(t: &TaskRow, change: TaskChange) -> TaskDiff {
    let (state_a, state_b, cached_a, cached_b) = match change {
        TaskChange::Removed => (Some(t.state), None, t.cached, false),
        _ => (None, Some(t.state), false, t.cached),
    };
    TaskDiff {
        path: t.path.clone(),
        parent: t.parent.clone(),
        name: t.display_name.clone().unwrap_or_else(|| t.name.clone()),
        kind: t.kind,
        change,
        component_changed: false,
        inputs: Vec::new(),
        state_a,
        state_b,
        cached_a,
        cached_b,
        layer: 0,
        row: 0,
    }
}

/// A task both runs have.
fn both(a: &DiffSide<'_>, ta: &TaskRow, b: &DiffSide<'_>, tb: &TaskRow) -> TaskDiff {
    let component_changed = match (a.spec, b.spec) {
        (Some(sa), Some(sb)) => definition(sa, &ta.path) != definition(sb, &tb.path),
        _ => false,
    };
    let parameters = |t: &TaskRow| {
        t.inputs
            .as_ref()
            .map_or(Value::Null, |i| i["parameters"].clone())
    };
    let inputs = changes(&parameters(ta), &parameters(tb));
    let change = if component_changed || !inputs.is_empty() {
        TaskChange::Changed
    } else {
        TaskChange::Same
    };
    TaskDiff {
        change,
        component_changed,
        inputs,
        state_a: Some(ta.state),
        cached_a: ta.cached,
        ..one(tb, TaskChange::Same)
    }
}

/// What a task's component is, for comparing: a container component with its executor; a
/// DAG by its interface only (its tasks are compared one by one).
fn definition<'a>(
    spec: &'a PipelineSpec,
    path: &str,
) -> Option<(ComponentSpec, Option<&'a pipeline::ir::ExecutorSpec>)> {
    let (_, name) = task_of(spec, path)?;
    let comp = spec.components.get(name)?;
    // Its key and executor label follow the task's name: only what they hold counts.
    let interface = ComponentSpec {
        dag: None,
        executor_label: None,
        ..comp.clone()
    };
    if comp.dag.is_some() {
        return Some((interface, None));
    }
    let executor = comp.executor_label.as_ref().and_then(|label| {
        spec.deployment_spec
            .as_ref()
            .and_then(|d| d.executors.get(label))
    });
    Some((interface, executor))
}

/// The keys of two JSON objects whose values differ (a missing key counts as a difference;
/// anything but an object counts as empty).
fn changes(a: &Value, b: &Value) -> Vec<ValueChange> {
    let empty = serde_json::Map::new();
    let a = a.as_object().unwrap_or(&empty);
    let b = b.as_object().unwrap_or(&empty);
    let names: BTreeMap<&String, ()> = a.keys().chain(b.keys()).map(|k| (k, ())).collect();
    names
        .into_keys()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| ValueChange {
            name: k.clone(),
            a: a.get(k).cloned(),
            b: b.get(k).cloned(),
        })
        .collect()
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
