//! The difference between two runs' graphs (`GET /api/runs/{a}/diff/{b}`): every task of
//! either run, matched by its path, marked added, removed, changed or the same, with the
//! parameter values, states and cache use that differ, the dependencies between the tasks and
//! where each task is drawn.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runs::{TaskKind, TaskState};

/// How a task of run B differs from the task with the same path in run A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskChange {
    /// Only run B has it.
    Added,
    /// Only run A has it.
    Removed,
    /// Both have it, but its component or its input parameter values differ.
    Changed,
    /// Both have it, with the same component and input parameter values.
    Same,
}

impl TaskChange {
    /// The lower-case name, as the view styles by it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
            Self::Same => "same",
        }
    }
}

/// A value that differs between the two runs (`None`: that run has no such value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueChange {
    /// The parameter's name.
    pub name: String,
    /// Its value in run A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<Value>,
    /// Its value in run B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<Value>,
}

/// One task of the union of both runs' graphs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDiff {
    /// Its path (`condition-1/train`), the same in both runs.
    pub path: String,
    /// The enclosing task's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Its display name (run B's when both have it).
    pub name: String,
    /// What it is.
    pub kind: TaskKind,
    /// How it differs.
    pub change: TaskChange,
    /// The component it runs differs (its interface, DAG or executor).
    #[serde(default)]
    pub component_changed: bool,
    /// Input parameter values that differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<ValueChange>,
    /// Its state in run A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_a: Option<TaskState>,
    /// Its state in run B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_b: Option<TaskState>,
    /// Whether run A served it from the cache.
    #[serde(default)]
    pub cached_a: bool,
    /// Whether run B served it from the cache.
    #[serde(default)]
    pub cached_b: bool,
    /// Its column in the drawing (dependencies point right).
    pub layer: u32,
    /// Its row in its column.
    pub row: u32,
}

impl TaskDiff {
    /// Both runs have it and it ended in different states (taking it from the cache counts
    /// as succeeding: that is a [cache flip](Self::cache_flipped)).
    pub fn state_differs(&self) -> bool {
        let ran = |s: Option<TaskState>| match s {
            Some(TaskState::Cached) => Some(TaskState::Succeeded),
            s => s,
        };
        self.state_a.is_some() && self.state_b.is_some() && ran(self.state_a) != ran(self.state_b)
    }

    /// Both runs have it, and one ran it while the other took it from the cache.
    pub fn cache_flipped(&self) -> bool {
        self.state_a.is_some() && self.state_b.is_some() && self.cached_a != self.cached_b
    }
}

/// An edge of the union graph: `to` runs after `from`, or is inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffEdge {
    /// The upstream (or enclosing) task's path.
    pub from: String,
    /// The downstream (or enclosed) task's path.
    pub to: String,
    /// `to` is a task of `from`'s sub-DAG, not one that waits for it.
    #[serde(default)]
    pub contains: bool,
}

/// The difference between runs `a` and `b`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDiff {
    /// Run A's id.
    pub a: String,
    /// Run B's id.
    pub b: String,
    /// The pipeline parameters whose values differ.
    #[serde(default)]
    pub parameters: Vec<ValueChange>,
    /// Every task of either run, in drawing order (by column, then row).
    #[serde(default)]
    pub tasks: Vec<TaskDiff>,
    /// Dependencies and nesting between them.
    #[serde(default)]
    pub edges: Vec<DiffEdge>,
}
