//! Runs and their tasks: `POST /api/runs`, `GET /api/runs`, `GET /api/runs/{id}`,
//! `GET /api/runs/{id}/tasks/{path}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    /// Accepted, not started.
    Pending,
    /// Tasks are running.
    Running,
    /// Every task succeeded, was cached or was skipped by a condition.
    Succeeded,
    /// A task failed (or the run could not start, or was interrupted).
    Failed,
    /// Cancelled by the user.
    Cancelled,
}

/// The state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    /// Waiting for its upstream tasks or a free slot.
    Pending,
    /// Running (or waiting to retry).
    Running,
    /// Ran and succeeded.
    Succeeded,
    /// Ran and failed (after its retries).
    Failed,
    /// Not run: its condition was false, or an upstream task failed (see the error).
    Skipped,
    /// Not run: its outputs came from an earlier run with the same cache key.
    Cached,
    /// Stopped or never started because the run was cancelled.
    Cancelled,
}

/// What a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Runs a container executor (a Python function component or a container component).
    Container,
    /// Imports an artifact.
    Importer,
    /// Runs a sub-DAG: a condition, branch group, exit handler or sub-pipeline.
    Dag,
    /// A `ParallelFor` over its items.
    Loop,
    /// One iteration of a loop (a sub-DAG).
    Iteration,
}

macro_rules! text_enum {
    ($t:ty { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            /// Every value, in order.
            pub const ALL: &'static [$t] = &[$(<$t>::$v),*];

            /// The stored and JSON name.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }

            /// Parses the stored or JSON name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)* _ => None }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(RunState {
    Pending = "PENDING",
    Running = "RUNNING",
    Succeeded = "SUCCEEDED",
    Failed = "FAILED",
    Cancelled = "CANCELLED",
});

text_enum!(TaskState {
    Pending = "PENDING",
    Running = "RUNNING",
    Succeeded = "SUCCEEDED",
    Failed = "FAILED",
    Skipped = "SKIPPED",
    Cached = "CACHED",
    Cancelled = "CANCELLED",
});

text_enum!(TaskKind {
    Container = "container",
    Importer = "importer",
    Dag = "dag",
    Loop = "loop",
    Iteration = "iteration",
});

impl RunState {
    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, RunState::Pending | RunState::Running)
    }

    /// The lower-case name (`succeeded`), as the canvas shows it and styles by it.
    pub fn label(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }
}

impl TaskState {
    /// Whether the task has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, TaskState::Pending | TaskState::Running)
    }

    /// The lower-case name (`succeeded`), as the canvas shows it and styles by it.
    pub fn label(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Skipped => "skipped",
            TaskState::Cached => "cached",
            TaskState::Cancelled => "cancelled",
        }
    }
}

/// One row of the run list (`GET /api/runs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The run id.
    pub id: String,
    /// `pipelineInfo.name`.
    pub pipeline_name: String,
    /// The saved pipeline it was started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    /// Its state.
    pub state: RunState,
    /// When it was submitted (RFC 3339).
    pub created_at: String,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run this one re-runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// Where it runs: `vertex` or `kfp`; none for the local engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The remote job's name (`projects/…/pipelineJobs/…`, or the KFP run id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_name: Option<String>,
    /// The remote run's page in its console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_link: Option<String>,
}

/// A run with its tasks (`GET /api/runs/{id}`, and the `snapshot` event of its stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Parameter values.
    #[serde(default)]
    pub parameters: Value,
    /// The pipeline's outputs, once it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    /// The run options.
    #[serde(default)]
    pub options: Value,
    /// The local pipeline root of the run.
    #[serde(default)]
    pub root: String,
    /// Every task, in the order they were created.
    #[serde(default)]
    pub tasks: Vec<TaskRow>,
}

/// One task of a run (`GET /api/runs/{id}/tasks/{path}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRow {
    /// Its path, e.g. `condition-1/for-loop-2[1]/train`.
    pub path: String,
    /// The enclosing task's path (none at the top level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The task's name in its DAG (`train`; `for-loop-2[1]` for an iteration).
    pub name: String,
    /// `taskInfo.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What it is.
    pub kind: TaskKind,
    /// Its state.
    pub state: TaskState,
    /// When it started (first attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Resolved inputs: `{"parameters": {…}, "artifacts": {…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// Outputs: `{"parameters": {…}, "artifacts": {name: [{uri, metadata, type}]}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Outputs came from the cache.
    #[serde(default)]
    pub cached: bool,
    /// Attempts made (retries + 1).
    #[serde(default)]
    pub attempts: u32,
    /// Something the user should know (e.g. that a container image was not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether a log file exists for it.
    #[serde(default)]
    pub has_log: bool,
    /// The cache key of the task's inputs and component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
    /// What stood in for the task's cloud component on the local engine
    /// (`local: TorchServe on 127.0.0.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backing: Option<String>,
}

/// Options of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunOptions {
    /// `false` runs every task even when a cached result exists; unset follows each task's
    /// `cachingOptions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_caching: Option<bool>,
    /// Longest a task attempt may run, in seconds (a task's Kubernetes
    /// `activeDeadlineSeconds`, when the platform spec sets one, wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_timeout_seconds: Option<u64>,
}

/// The body of `POST /api/runs`: a canvas document or a compiled spec (JSON, or YAML text),
/// with parameter values and options, run on the local engine or the named target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRun {
    /// A canvas document (`pipeline-canvas/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// A compiled spec: the IR as JSON, or YAML text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    /// The Kubernetes platform spec, when not in the document or YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_spec: Option<Value>,
    /// Parameter values by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Value>,
    /// Run options.
    #[serde(default)]
    pub options: RunOptions,
    /// The saved pipeline the run is started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    /// `local` (the default), `vertex` or `kfp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The answer to a new run (`POST /api/runs`, `POST /api/runs/{id}/rerun`): its id and, for a
/// run submitted to a remote target, where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The run's id.
    pub id: String,
    /// `vertex` or `kfp`; none for the local engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The remote job's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_name: Option<String>,
    /// The remote run's page in its service's console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_link: Option<String>,
}

impl Started {
    /// A run started on the local engine.
    pub fn local(id: String) -> Self {
        Self {
            id,
            target: None,
            remote_name: None,
            console_link: None,
        }
    }
}

/// The answer to `POST /api/runs/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    /// The run's id.
    pub id: String,
    /// Whether it was cancelled now: false when it had already ended.
    pub cancelled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_what_they_write() {
        for s in RunState::ALL {
            assert_eq!(RunState::parse(s.as_str()), Some(*s));
            let json = serde_json::to_string(s).expect("json");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.label(), s.as_str().to_ascii_lowercase());
        }
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(*s));
            assert_eq!(s.label(), s.as_str().to_ascii_lowercase());
        }
        for k in TaskKind::ALL {
            assert_eq!(TaskKind::parse(k.as_str()), Some(*k));
        }
        assert!(RunState::Failed.is_final() && !RunState::Running.is_final());
        assert!(TaskState::Cached.is_final() && !TaskState::Pending.is_final());
    }

    #[test]
    fn a_run_detail_round_trips_with_its_summary_flattened() {
        let text = r#"{"id":"r1","pipelineName":"p","state":"RUNNING","createdAt":"t",
            "parameters":{"a":1},"options":{},"root":"/x",
            "tasks":[{"path":"a","name":"a","kind":"container","state":"PENDING","cached":false,"attempts":0,"hasLog":false}]}"#;
        let d: RunDetail = serde_json::from_str(text).expect("detail");
        assert_eq!(d.summary.state, RunState::Running);
        assert_eq!(d.tasks[0].kind, TaskKind::Container);
        let back: RunDetail =
            serde_json::from_value(serde_json::to_value(&d).expect("json")).expect("again");
        assert_eq!(back, d);
    }

    #[test]
    fn a_local_start_is_just_its_id() {
        let local = Started::local("r1".into());
        assert_eq!(
            serde_json::to_value(&local).expect("json"),
            serde_json::json!({"id": "r1"})
        );
        let remote: Started = serde_json::from_str(
            r#"{"id":"r2","target":"vertex","remoteName":"projects/p/x","consoleLink":"https://c"}"#,
        )
        .expect("remote");
        assert_eq!(remote.target.as_deref(), Some("vertex"));
        assert_eq!(remote.remote_name.as_deref(), Some("projects/p/x"));
        assert_eq!(remote.console_link.as_deref(), Some("https://c"));
    }

    #[test]
    fn run_requests_refuse_unknown_fields() {
        let err = serde_json::from_str::<CreateRun>(r#"{"spec": {}, "paramters": {}}"#)
            .expect_err("typo");
        assert!(err.to_string().contains("paramters"), "{err}");
    }
}
