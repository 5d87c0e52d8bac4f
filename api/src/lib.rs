//! The wire types of the Pipeline Canvas HTTP API, shared by the browser (the `frontend`
//! crate, compiled to wasm32) and the server, so that the two sides cannot drift apart.
//!
//! Only data and its JSON form live here (serde, no I/O): run and task states, runs and tasks
//! as the API lists them, the events of a run's event stream (state changes and log pieces),
//! the request bodies, target settings, error bodies, lineage subgraphs, the local model
//! endpoints, component authoring, the runs table and the difference between two runs.

pub mod components;
pub mod endpoints;
pub mod errors;
pub mod events;
pub mod lineage;
pub mod pipelines;
pub mod run_diff;
pub mod run_table;
pub mod runs;
pub mod targets;

pub use components::{ComponentPreview, SaveComponent, SavedComponent};
pub use endpoints::{Endpoint, EndpointState, KeepBody};
pub use errors::{ErrorBody, RemoteError};
pub use events::{Event, LogEnd, LogPiece, RunEvent, TaskEvent};
pub use lineage::{
    Lineage, LineageArtifact, LineageDirection, LineageEvent, LineageEventType, LineageExecution,
    LineageStart,
};
pub use pipelines::{IdBody, SavedPipeline};
pub use run_diff::{DiffEdge, RunDiff, TaskChange, TaskDiff, ValueChange};
pub use run_table::{RunTable, RunTableRow};
pub use runs::{
    Cancelled, CreateRun, RunDetail, RunOptions, RunState, RunSummary, Started, TaskKind, TaskRow,
    TaskState,
};
pub use targets::{KfpSettings, TargetsConfig, VertexSettings};
