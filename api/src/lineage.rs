//! Lineage: what runs made and used, in the shape of ML Metadata — artifacts, executions, the
//! events joining them and the contexts (pipeline, run) executions belong to.
//! `GET /api/lineage?run=<id>|artifact=<id>|execution=<id>&depth=N&direction=…&maxNodes=N`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runs::TaskState;

/// How many hops a query follows when it does not say.
pub const DEFAULT_LINEAGE_DEPTH: u32 = 1;

/// The most hops a query may follow.
pub const MAX_LINEAGE_DEPTH: u32 = 100;

/// How many nodes (artifacts and executions) a query returns at most when it does not say.
pub const DEFAULT_LINEAGE_NODES: usize = 1000;

/// The most nodes a query may ask for.
pub const MAX_LINEAGE_NODES: usize = 10_000;

/// Which way a lineage query walks from where it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineageDirection {
    /// Towards what was used: an artifact's producers, an execution's inputs.
    Upstream,
    /// Towards what was made: an artifact's consumers, an execution's outputs.
    Downstream,
    /// Every neighbour at each hop.
    #[default]
    Both,
}

impl LineageDirection {
    /// The query-string name (`upstream`, `downstream`, `both`).
    pub fn as_str(self) -> &'static str {
        match self {
            LineageDirection::Upstream => "upstream",
            LineageDirection::Downstream => "downstream",
            LineageDirection::Both => "both",
        }
    }

    /// Parses the query-string name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upstream" => Some(LineageDirection::Upstream),
            "downstream" => Some(LineageDirection::Downstream),
            "both" => Some(LineageDirection::Both),
            _ => None,
        }
    }
}

/// Where a lineage query starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineageStart {
    /// Every execution of a run.
    Run(String),
    /// One artifact, by id.
    Artifact(i64),
    /// One execution, by id.
    Execution(i64),
}

/// An artifact: a file or a remote object a task wrote or read, identified by its URI (a cache
/// hit reuses the very artifact an earlier run produced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageArtifact {
    /// Its id.
    pub id: i64,
    /// Where it is (a local path under the pipeline root, or `gs://…`).
    pub uri: String,
    /// Its name (the output it was written to).
    pub name: String,
    /// Its type: `system.Dataset`, `system.Model`, `system.Metrics`, …
    pub schema_title: String,
    /// The version of its type's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// The metadata its producer wrote.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// `LIVE` once a task produced it, `PENDING` when it was only seen as an input.
    pub state: String,
    /// When it was first recorded (RFC 3339).
    pub created_at: String,
}

/// An execution: one task of one run (a container, an importer, a DAG, a loop or an
/// iteration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageExecution {
    /// Its id.
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// The pipeline the run ran (`pipelineInfo.name`).
    pub pipeline_name: String,
    /// The task's path in the run (`condition-1/train`).
    pub task_path: String,
    /// `taskInfo.name`, else the task's name.
    pub name: String,
    /// The component it ran (`comp-train`), when the run's spec says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// `system.ContainerExecution`, `system.ImporterExecution` or `system.DAGExecution`.
    pub execution_type: String,
    /// How it ended (`CACHED` when its outputs came from an earlier run).
    pub state: TaskState,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Its cache key (fingerprint of its component and inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
    /// Its input parameter values.
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// Its output parameter values.
    #[serde(default)]
    pub output_parameters: Map<String, Value>,
}

/// Whether an event is an execution reading or writing an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineageEventType {
    /// The execution read the artifact.
    Input,
    /// The execution wrote the artifact (or, cached, reused it).
    Output,
}

impl LineageEventType {
    /// The stored name (`INPUT`, `OUTPUT`).
    pub fn as_str(self) -> &'static str {
        match self {
            LineageEventType::Input => "INPUT",
            LineageEventType::Output => "OUTPUT",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INPUT" => Some(LineageEventType::Input),
            "OUTPUT" => Some(LineageEventType::Output),
            _ => None,
        }
    }
}

/// An edge: an execution read or wrote an artifact through one of its ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageEvent {
    /// The execution.
    pub execution_id: i64,
    /// The artifact.
    pub artifact_id: i64,
    /// Read or written.
    #[serde(rename = "type")]
    pub event_type: LineageEventType,
    /// The input or output name.
    pub port: String,
    /// The position in a list input or output (0 otherwise).
    #[serde(default)]
    pub index: u32,
}

/// A lineage subgraph (`GET /api/lineage`, `pipeline-canvas lineage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lineage {
    /// The artifacts, by id.
    pub artifacts: Vec<LineageArtifact>,
    /// The executions, by id.
    pub executions: Vec<LineageExecution>,
    /// The events between them.
    pub events: Vec<LineageEvent>,
    /// Set when the node cap stopped the walk before `depth` hops: more is reachable.
    #[serde(default)]
    pub truncated: bool,
}
