//! The server and command line: the HTTP API in process (`tower::ServiceExt::oneshot` on the
//! real router and a real SQLite file), and the real binary as a process. One test binary.

// Shared with the engine's and the targets' tests.
#[path = "../../../engine/tests/engine/common.rs"]
mod common;
#[path = "../../../targets/tests/targets/fake_remote.rs"]
mod fake_remote;
mod shell;

mod binary;

mod api;
mod cli;
mod cli_messages;
mod endpoints;
mod engine_api;
mod engine_cli;
mod engine_recovery;
mod lineage;
mod runs_cli;
mod runs_table;
mod seed_local;
mod targets_api;
mod targets_cli;
mod vertex_lineage;
