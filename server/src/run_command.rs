//! `pipeline-canvas run <spec-or-document> [--param NAME=VALUE]…`: runs a pipeline on the
//! local engine, prints a line per task state change, and succeeds only when the run does.
//!
//! SIGINT (Ctrl-C) and SIGTERM cancel the run: its processes are killed, it is recorded
//! CANCELLED, and the command exits 130 (SIGINT) or 143 (SIGTERM), as shells report a command
//! a signal stopped ([`RunCommandError::exit_code`]). A second signal exits at once (the task
//! processes die with the engine).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use pipeline::import::KfpFile;
use pipeline::ir::PipelineSpec;
use serde_json::Value;
use tokio::sync::broadcast;

use engine::{Engine, EngineError, EngineEvent, RunOptions, RunRequest, RunState};

use crate::progress::{Mode, Progress};

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A compiled pipeline (`*.yaml`, `*.json`) or a pipeline document (`*.pipeline.json`);
    /// `-` reads standard input.
    pub pipeline: PathBuf,
    /// A pipeline parameter, `NAME=VALUE` (strings as written; numbers, booleans, lists and
    /// dicts as JSON). Repeat for each parameter.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Folder of the run store, runs and Python environments.
    /// [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// How many tasks may run at once [default: $PIPELINE_CANVAS_CONCURRENCY, else 4 per
    /// core, 8 to 64].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Run every task, even when a cached result exists.
    #[arg(long)]
    pub no_cache: bool,
    /// Longest a task attempt may run, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Print one JSON object per line (each state change, then a summary) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print only the final summary (and errors).
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
    /// Let container components whose image cannot be used (no podman or docker, or the image
    /// is not present) run their command on this machine. Off: such a task fails and says
    /// which runtime to install.
    #[arg(long, env = "PIPELINE_CANVAS_ALLOW_HOST_COMMANDS", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_host_commands: bool,
    /// Keep the model endpoints the run deploys (TorchServe) serving after the command ends;
    /// stop them later with `pipeline-canvas endpoints stop`. Without it they stop with the
    /// command.
    #[arg(long)]
    pub keep_endpoints: bool,
}

/// Why `run` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunCommandError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file as given.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Neither a document nor a spec.
    #[error("{path}: {message}")]
    Parse {
        /// The file as given.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The document has errors (printed already).
    #[error("{path}: the pipeline has {count} error(s); nothing was run")]
    Invalid {
        /// The file as given.
        path: String,
        /// How many.
        count: usize,
    },
    /// A `--param` is not `NAME=VALUE`.
    #[error("--param {0}")]
    Param(String),
    /// Parameters are unknown, invalid or missing (every one is listed).
    #[error(transparent)]
    Inputs(#[from] pipeline::run_inputs::InputsError),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No data folder could be found.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The async runtime could not be created.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A signal stopped the command; the run was cancelled.
    #[error("run {id} cancelled on {signal}")]
    Stopped {
        /// The run.
        id: String,
        /// The signal.
        signal: StopSignal,
    },
    /// The run did not succeed.
    #[error("run {id} ended {state}{}", .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Unsuccessful {
        /// The run.
        id: String,
        /// How it ended.
        state: RunState,
        /// Why.
        error: Option<String>,
    },
}

/// A signal that stops `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl StopSignal {
    /// The process exit status after this signal: 128 + its number (130, 143).
    pub fn exit_code(self) -> u8 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        }
    }
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        })
    }
}

impl RunCommandError {
    /// The process exit status for this error: 130 or 143 when SIGINT or SIGTERM stopped the
    /// command, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunCommandError::Stopped { signal, .. } => signal.exit_code(),
            _ => 1,
        }
    }
}

/// Reads a spec or document file into a run request (compiling documents; their diagnostics
/// go to stderr).
pub fn load(path: &std::path::Path) -> Result<RunRequest, RunCommandError> {
    let shown = path.display().to_string();
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map(|_| s)
            .map_err(|source| RunCommandError::Read {
                path: shown.clone(),
                source,
            })?
    } else {
        std::fs::read_to_string(path).map_err(|source| RunCommandError::Read {
            path: shown.clone(),
            source,
        })?
    };
    let parse_error = |message: String| RunCommandError::Parse {
        path: shown.clone(),
        message,
    };
    match pipeline::import::read_file(&text).map_err(|e| parse_error(e.to_string()))? {
        KfpFile::Document(doc) => {
            let (request, diagnostics) = RunRequest::from_document(&doc);
            for d in &diagnostics {
                eprintln!("{}", d.describe(&doc));
            }
            request.ok_or_else(|| RunCommandError::Invalid {
                path: shown.clone(),
                count: diagnostics.iter().filter(|d| d.is_error()).count(),
            })
        }
        KfpFile::Spec(file) => Ok(RunRequest::from_spec_file(*file)),
        KfpFile::V1Component(_) => Err(parse_error(
            "this is a component file, not a pipeline: import it onto the canvas, or compile \
             a pipeline that uses it"
                .into(),
        )),
    }
}

/// Reads `--param NAME=VALUE` options against the spec's parameters by the core's rules for
/// parameter text ([`pipeline::run_inputs::check_text`], the canvas's rules: strings as
/// written, other types as their JSON form), and checks that every required parameter is
/// given: every problem is reported at once. Returns the values given (defaults are the
/// engine's and the targets' to fill in).
pub fn params(
    spec: &PipelineSpec,
    given: &[String],
) -> Result<BTreeMap<String, Value>, RunCommandError> {
    let mut pairs = Vec::with_capacity(given.len());
    for p in given {
        let (name, value) = p.split_once('=').ok_or_else(|| {
            RunCommandError::Param(format!("{p:?}: expected NAME=VALUE, e.g. --param epochs=3"))
        })?;
        pairs.push((name.to_string(), value.to_string()));
    }
    let mut values = pipeline::run_inputs::check_text(spec, &pairs)?;
    values.retain(|name, _| pairs.iter().any(|(n, _)| n == name));
    Ok(values)
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Result<(), RunCommandError> {
    let mut req = load(&args.pipeline)?;
    req.parameters = params(&req.spec, &args.params)?;
    req.options = RunOptions {
        enable_caching: args.no_cache.then_some(false),
        task_timeout_seconds: args.timeout,
    };
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => crate::config::default_data_dir()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunCommandError::Runtime)?;
    runtime.block_on(async move {
        let mut config = crate::config::engine_config(&data_dir);
        if let Some(n) = args.concurrency {
            config.concurrency = n;
        }
        config.allow_host_commands = args.allow_host_commands;
        let engine = Engine::open(config)?;
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(RunCommandError::Runtime)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(RunCommandError::Runtime)?;
        let mut rx = engine.events().subscribe();
        let mut progress = Progress::new(Mode::from_flags(args.json, args.quiet));
        let id = engine.submit(req)?;
        let folder = engine.run_dir(&id).display().to_string();
        if args.allow_host_commands {
            progress.say(
                "host commands allowed: container components whose image cannot be used run their command on this machine",
            );
        }
        progress.say(&format!(
            "run {id}: {} (folder {folder})",
            engine
                .store()
                .get_summary(&id)
                .map_err(EngineError::from)?
                .map(|s| s.pipeline_name)
                .unwrap_or_default(),
        ));
        let mut stopped: Option<StopSignal> = None;
        loop {
            let signal = tokio::select! {
                ev = rx.recv() => {
                    match ev {
                        Ok(e) if e.run_id() == id => {
                            progress.event(&e);
                            if let EngineEvent::Run(r) = &e {
                                if r.state.is_final() {
                                    break;
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            progress.say(&format!("({n} progress lines skipped)"));
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                    continue;
                }
                _ = interrupt.recv() => StopSignal::Interrupt,
                _ = terminate.recv() => StopSignal::Terminate,
            };
            if stopped.is_some() {
                // A second signal: stop waiting for the cancel.
                return Err(RunCommandError::Stopped { id, signal });
            }
            stopped = Some(signal);
            progress.say(&format!("{signal}: cancelling…"));
            engine.cancel(&id)?;
        }
        let state = engine.wait(&id).await?;
        // The endpoints the run deployed end with the command unless kept.
        for ep in engine.endpoints().list().map_err(EngineError::from)? {
            if ep.run_id != id || ep.state != api::EndpointState::Serving {
                continue;
            }
            if args.keep_endpoints {
                engine
                    .endpoints()
                    .set_keep(&ep.id, true)
                    .map_err(EngineError::from)?;
                progress.say(&format!(
                    "endpoint {} keeps serving {} at {} (stop it with `pipeline-canvas endpoints stop {}`)",
                    ep.id, ep.model_name, ep.url, ep.id
                ));
            } else {
                progress.say(&format!(
                    "endpoint {} ({}) stops with this command (--keep-endpoints keeps it)",
                    ep.id, ep.url
                ));
            }
        }
        engine.shutdown(std::time::Duration::from_secs(1)).await;
        let detail = engine.store().get_run(&id).map_err(EngineError::from)?;
        if let Some(d) = &detail {
            progress.summary(d, Some(&folder));
        }
        if let Some(signal) = stopped {
            return Err(RunCommandError::Stopped { id, signal });
        }
        if state == RunState::Succeeded {
            Ok(())
        } else {
            Err(RunCommandError::Unsuccessful {
                id,
                state,
                error: detail.and_then(|d| d.summary.error),
            })
        }
    })
}

#[cfg(test)]
mod param_tests {
    use serde_json::{json, Value};

    use super::*;

    fn spec_with(params: Value) -> PipelineSpec {
        serde_json::from_value(json!({
            "pipelineInfo": {"name": "p"},
            "root": {"dag": {"tasks": {}}, "inputDefinitions": {"parameters": params}},
            "schemaVersion": "2.1.0"
        }))
        .expect("spec")
    }

    fn given(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cli_values_parse_by_type() {
        let spec = spec_with(json!({
            "n": {"parameterType": "NUMBER_INTEGER"},
            "s": {"parameterType": "STRING"},
            "b": {"parameterType": "BOOLEAN"},
            "l": {"parameterType": "LIST", "defaultValue": []}
        }));
        let values = params(&spec, &given(&["n=3", "s=3", "b=True"])).expect("valid");
        assert_eq!(
            serde_json::to_value(&values).expect("JSON"),
            json!({"n": 3, "s": "3", "b": true})
        );
        let e = params(&spec, &given(&["n=x", "zz=1"])).expect_err("invalid");
        assert!(
            matches!(&e, RunCommandError::Inputs(i) if i.problems.len() == 4),
            "{e}"
        );
        let e = params(&spec, &given(&["n"])).expect_err("no =");
        assert_eq!(
            e.to_string(),
            "--param \"n\": expected NAME=VALUE, e.g. --param epochs=3"
        );
    }
}
