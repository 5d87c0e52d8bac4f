//! Pipeline Canvas server and command line.
//!
//! - [`cli`]: the `pipeline-canvas` command (`serve`, the default, and `compile`).
//! - [`server`]: the axum application ([`server::app`]) and the `serve` loop.
//! - [`api`]: the JSON API under `/api`.
//! - [`store`]: saved pipelines in SQLite.
//! - [`engine`]: the local engine that runs pipelines on this machine.
//! - [`targets`]: remote targets (Vertex AI Pipelines, Kubeflow Pipelines) behind the same run
//!   store and events as the local engine.
//! - [`submit_command`]: `pipeline-canvas submit`.
//! - [`examples`]: example pipelines embedded in the binary.
//! - [`guard`]: the request guard (host allow-list, token, same-origin checks) and the
//!   security headers.
//! - [`error`]: the API's error type and its JSON responses.
//! - [`config`]: addresses and folders.

pub mod api;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod examples;
pub mod guard;
pub mod server;
pub mod store;
pub mod submit_command;
pub mod targets;

pub use error::AppError;
pub use server::{app, AppState};
