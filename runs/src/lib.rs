//! The run store of Pipeline Canvas, and the one owner of its database's schema.
//!
//! - [`db`]: the SQLite file in the data folder (private to its user), its schema and
//!   migrations; every connection opens through it.
//! - [`pipelines`]: saved pipeline documents.
//! - [`store`]: runs (local and remote), their tasks, the task cache, and what a restarted
//!   server needs to recover (the processes of interrupted runs, the remote runs to follow).
//! - [`lineage`]: what every run made and used, shaped like ML Metadata (artifacts by URI,
//!   executions, events, contexts), recorded with each task's final state; subgraph queries.
//! - [`endpoints`]: the local model endpoints (TorchServe servers deploy tasks started), with
//!   their processes and owners, so none is orphaned.
//! - [`table`]: the runs table — a row per run with its parameters and the metrics its tasks
//!   logged (from the lineage), filtered and sorted by any column.
//! - [`diff`]: the difference between two runs' graphs (tasks added, removed and changed,
//!   parameter changes, cache flips, state differences), laid out to draw.
//! - [`events`]: the broadcast of run and task state changes, sent after each is written.
//! - [`recorder`]: one writer thread that does the store's work off the async threads, in
//!   order, sending each change's event after its write.
//!
//! The states and wire shapes of runs and tasks are the API's ([`api`]); this crate stores them.

pub mod db;
pub mod diff;
pub mod endpoints;
pub mod events;
pub mod lineage;
pub mod pipelines;
pub mod recorder;
pub mod store;
pub mod table;

pub use db::{now, secure_data_dir, StoreError, DB_FILE, SCHEMA_VERSION};
pub use diff::{diff_runs, DiffSide};
pub use endpoints::{EndpointRecord, NewEndpoint};
pub use events::{EngineEvent, Events, RunEvent, TaskEvent};
pub use lineage::LineageQuery;
pub use pipelines::{PipelineSummary, Store as PipelineStore};
pub use recorder::Recorder;
pub use store::{
    NewRun, NewTask, OpenRemoteRun, OpenRun, RunDetail, RunFilter, RunOptions, RunRequest,
    RunSource, RunState, RunStore, RunSummary, TaskKind, TaskRow, TaskState, TaskUpdate,
    DEFAULT_RUN_LIST, MAX_RUN_LIST,
};
pub use table::{TableError, TableQuery, MAX_TABLE_ROWS};
