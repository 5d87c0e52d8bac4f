//! `pipeline-canvas endpoints list [--json]` and `pipeline-canvas endpoints stop <id> | --all`:
//! the local model endpoints (TorchServe servers deploy tasks started) of a data folder, read
//! from its run store and stopped through their recorded processes directly (pid and start
//! time, so a recycled pid is never signalled), whichever `serve` or `run` started them.

use std::io::Write as _;
use std::path::PathBuf;

use api::Endpoint;
use clap::{Args, Subcommand};
use engine::endpoints::{stop_all_recorded, stop_recorded, EndpointError};
use runs::{RunStore, StoreError};

/// Options of `endpoints`.
#[derive(Debug, Clone, Args)]
pub struct EndpointsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: EndpointsAction,
    /// Folder of the run store. [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, global = true, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `endpoints` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum EndpointsAction {
    /// List the endpoints, newest first (id, state, model, URL, run).
    List {
        /// One JSON array of the API's endpoint objects instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop an endpoint (its whole process group), or every open one with --all.
    Stop {
        /// The endpoint's id (`ep-…`, as `endpoints list` prints it).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Stop every endpoint still starting or serving.
        #[arg(long)]
        all: bool,
    },
}

/// Why `endpoints` failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointsCommandError {
    /// No data folder could be found.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The run store failed.
    #[error("cannot read the run store: {0}")]
    Store(#[from] StoreError),
    /// No such endpoint.
    #[error("no endpoint {id:?} in {dir}; `pipeline-canvas endpoints list` lists them")]
    NotFound {
        /// The id as given.
        id: String,
        /// The data folder.
        dir: String,
    },
    /// Stopping failed.
    #[error("{0}")]
    Stop(String),
    /// The list could not be written.
    #[error("cannot write the list: {0}")]
    Write(std::io::Error),
}

/// Runs `endpoints`.
pub fn endpoints(args: &EndpointsArgs) -> Result<(), EndpointsCommandError> {
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => crate::config::default_data_dir()?,
    };
    let shown = dir.display().to_string();
    let mut out = std::io::stdout().lock();
    // Looking creates nothing: a folder without a database has no endpoints.
    if !dir.join(runs::DB_FILE).is_file() {
        return match &args.action {
            EndpointsAction::List { json: true } => {
                writeln!(out, "[]").map_err(EndpointsCommandError::Write)
            }
            EndpointsAction::List { json: false } => Ok(()),
            EndpointsAction::Stop { all: true, .. } => {
                writeln!(out, "no endpoint was starting or serving")
                    .map_err(EndpointsCommandError::Write)
            }
            EndpointsAction::Stop { id, .. } => Err(EndpointsCommandError::NotFound {
                id: id.clone().unwrap_or_default(),
                dir: shown,
            }),
        };
    }
    let store = RunStore::open(&dir)?;
    let stop_err = |e: EndpointError, id: &str| match e {
        EndpointError::NotFound(_) => EndpointsCommandError::NotFound {
            id: id.to_string(),
            dir: shown.clone(),
        },
        other => EndpointsCommandError::Stop(other.to_string()),
    };
    match &args.action {
        EndpointsAction::List { json } => {
            let list: Vec<Endpoint> = store
                .list_endpoints(false)?
                .into_iter()
                .map(|r| r.endpoint)
                .collect();
            let text = if *json {
                let mut text = serde_json::to_string_pretty(&list)
                    .map_err(|e| EndpointsCommandError::Write(e.into()))?;
                text.push('\n');
                text
            } else {
                table(&list)
            };
            out.write_all(text.as_bytes())
                .map_err(EndpointsCommandError::Write)
        }
        EndpointsAction::Stop { all: true, .. } => {
            let stopped = stop_all_recorded(&store, "stopped by `pipeline-canvas endpoints stop`")
                .map_err(|e| stop_err(e, ""))?;
            for e in &stopped {
                writeln!(out, "stopped {} ({})", e.id, e.url)
                    .map_err(EndpointsCommandError::Write)?;
            }
            if stopped.is_empty() {
                writeln!(out, "no endpoint was starting or serving")
                    .map_err(EndpointsCommandError::Write)?;
            }
            Ok(())
        }
        EndpointsAction::Stop { id, .. } => {
            let id = id.clone().unwrap_or_default();
            let e = stop_recorded(&store, &id, "stopped by `pipeline-canvas endpoints stop`")
                .map_err(|e| stop_err(e, &id))?;
            writeln!(out, "stopped {} ({})", e.id, e.url).map_err(EndpointsCommandError::Write)
        }
    }
}

/// The endpoints as aligned columns with a header line.
fn table(list: &[Endpoint]) -> String {
    let header = ["ID", "STATE", "MODEL", "URL", "RUN", "KEEP"];
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|e| {
            [
                e.id.clone(),
                e.state.to_string(),
                e.model_name.clone(),
                e.url.clone(),
                e.run_id.clone(),
                if e.keep { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        text.push_str(padded.join("  ").trim_end());
        text.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    text
}
