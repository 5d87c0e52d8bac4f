//! The events of a run's stream (`GET /api/runs/{id}/events`): state changes of the run and its
//! tasks, as the local engine and the remote targets record them.

use serde::{Deserialize, Serialize};

use crate::runs::{RunState, TaskState};

/// One state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// The run changed state.
    Run(RunEvent),
    /// A task changed state.
    Task(TaskEvent),
}

impl Event {
    /// The run the event is about.
    pub fn run_id(&self) -> &str {
        match self {
            Event::Run(r) => &r.run_id,
            Event::Task(t) => &t.run_id,
        }
    }
}

/// A run's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// Its state now.
    pub state: RunState,
    /// When it started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A task's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvent {
    /// The run.
    pub run_id: String,
    /// The task path, e.g. `condition-1/for-loop-2[1]/train`.
    pub path: String,
    /// Its state now.
    pub state: TaskState,
    /// When it started running (first attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The outputs came from the cache.
    #[serde(default)]
    pub cached: bool,
    /// Which attempt (1 = first) is running or ended.
    #[serde(default)]
    pub attempt: u32,
}
