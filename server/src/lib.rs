//! The Pipeline Canvas server and command line (the `pipeline-canvas` binary): it wires the
//! crates together, and is the only one that reads flags and environment variables.
//!
//! - [`cli`]: the commands (`serve`, the default, `compile`, `import`, `run`, `submit`).
//! - [`config`]: addresses, folders, and the engine's and targets' settings from the
//!   environment.
//! - [`server`]: the axum application ([`server::app`]) and the `serve` loop.
//! - [`guard`]: the request guard (host allow-list, token, same-origin checks) and the
//!   security headers.
//! - [`api`]: the JSON API under `/api`; [`error`]: its one error type and JSON answers.
//! - [`run_command`], [`submit_command`], [`lineage_command`]: `pipeline-canvas run`,
//!   `submit` and `lineage`.
//! - [`cancel_command`]: `pipeline-canvas cancel`, through the run's owner or its service.
//! - [`progress`]: what `run` and `submit --wait` print (text, `--quiet`, `--json`).
//! - [`runs_command`]: `pipeline-canvas runs` and `logs`, read from the run store.
//! - [`runs_table`]: the runs table as text, JSON and CSV (the `runs` command and the API).
//! - [`endpoints_command`]: `pipeline-canvas endpoints list|stop`, the local model endpoints.
//! - [`examples`]: example pipelines embedded in the binary.
//!
//! The core is `pipeline`, the wire types `api`, the run store `runs`, the local engine
//! `engine`, the remote targets `targets`.

pub mod api;
pub mod cancel_command;
pub mod cli;
pub mod config;
pub mod endpoints_command;
pub mod error;
pub mod examples;
pub mod guard;
pub mod lineage_command;
pub mod progress;
pub mod run_command;
pub mod runs_command;
pub mod runs_table;
pub mod server;
pub mod submit_command;

pub use error::AppError;
pub use server::{app, AppState};
