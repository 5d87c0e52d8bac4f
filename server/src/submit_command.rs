//! `pipeline-canvas submit <spec-or-document> --target vertex|kfp …`: submits a pipeline to
//! Vertex AI Pipelines or Kubeflow Pipelines, prints the run's console link, and with `--wait`
//! follows it, printing each state change, succeeding only when the run does.
//!
//! Settings come from `<data-dir>/targets.json`, overridden by the flags; missing ones are
//! reported before any request is sent. The run is recorded in the data folder's run store, so
//! the editor lists it, and a server started later follows it if it has not ended.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tokio::sync::broadcast;

use crate::progress::{Mode, Progress};
use crate::run_command::{load, params, RunCommandError, StopSignal};
use engine::{EngineEvent, Events, RunState, RunStore};
use targets::{
    key_values, KfpSettings, SubmitRequest, Target, TargetError, Targets, VertexSettings,
};

/// `--target` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// Vertex AI Pipelines.
    Vertex,
    /// Kubeflow Pipelines.
    Kfp,
}

/// Options of `submit`.
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    /// A compiled pipeline (`*.yaml`, `*.json`) or a pipeline document (`*.pipeline.json`);
    /// `-` reads standard input.
    pub pipeline: PathBuf,
    /// Where to run it.
    #[arg(long, value_enum)]
    pub target: TargetArg,
    /// A pipeline parameter, `NAME=VALUE` (strings as written; numbers, booleans, lists and
    /// dicts as JSON). Repeat for each parameter.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Follow the run until it ends, printing state changes; exit 0 only if it succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: print one JSON object per line (each state change, then a summary).
    #[arg(long, requires = "wait")]
    pub json: bool,
    /// With --wait: print only the final summary (and errors).
    #[arg(short, long, requires = "wait", conflicts_with = "json")]
    pub quiet: bool,
    /// The run's display name [default: the pipeline's name].
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// Vertex AI: the Google Cloud project.
    #[arg(long)]
    pub project: Option<String>,
    /// Vertex AI: the region, e.g. us-central1.
    #[arg(long)]
    pub region: Option<String>,
    /// Where runs write outputs (Vertex AI: a gs:// URI).
    #[arg(long, value_name = "URI")]
    pub pipeline_root: Option<String>,
    /// Vertex AI: the service account the pipeline runs as.
    #[arg(long, value_name = "EMAIL")]
    pub service_account: Option<String>,
    /// Vertex AI: the VPC network to peer with (projects/NUMBER/global/networks/NAME).
    #[arg(long)]
    pub network: Option<String>,
    /// Vertex AI: a label `KEY=VALUE`; repeat for each.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Vertex AI: a customer-managed encryption key (kmsKeyName).
    #[arg(long, value_name = "KMS_KEY_NAME")]
    pub encryption_key: Option<String>,
    /// Vertex AI: turn caching on or off for every task, overriding the spec.
    #[arg(long, value_name = "BOOL")]
    pub enable_caching: Option<bool>,
    /// Kubeflow Pipelines: the API's base URL.
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// Kubeflow Pipelines: the namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Kubeflow Pipelines: the experiment (its name) runs are filed under, found or created in
    /// the namespace (`Default` when unset).
    #[arg(long)]
    pub experiment: Option<String>,
    /// Folder of the run store and targets.json. [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Why `submit` failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The pipeline could not be read or compiled, or a parameter is wrong.
    #[error(transparent)]
    Load(#[from] RunCommandError),
    /// The target refused or failed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No data folder could be found.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] runs::StoreError),
    /// The async runtime could not be created.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Waiting was interrupted by a signal; the run goes on.
    #[error("stopped waiting for run {id} on {signal}; it goes on remotely: {link}")]
    Interrupted {
        /// The run.
        id: String,
        /// Its console page.
        link: String,
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

fn overrides(args: &SubmitArgs) -> Result<(VertexSettings, KfpSettings), TargetError> {
    let vertex = VertexSettings {
        project: args.project.clone(),
        region: args.region.clone(),
        pipeline_root: args.pipeline_root.clone(),
        service_account: args.service_account.clone(),
        network: args.network.clone(),
        labels: key_values(&args.labels, "--label")?,
        encryption_key: args.encryption_key.clone(),
        enable_caching: args.enable_caching,
    };
    let kfp = KfpSettings {
        host: args.host.clone(),
        namespace: args.namespace.clone(),
        experiment: args.experiment.clone(),
        pipeline_root: args.pipeline_root.clone(),
    };
    Ok((vertex, kfp))
}

impl SubmitError {
    /// The process exit status for this error: 130 (Ctrl-C) or 143 (SIGTERM) when a signal
    /// stopped the waiting (the run goes on remotely), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            SubmitError::Interrupted { signal, .. } => signal.exit_code(),
            _ => 1,
        }
    }
}

/// Runs the command.
pub fn submit(args: &SubmitArgs) -> Result<(), SubmitError> {
    let mut req = load(&args.pipeline)?;
    req.parameters = params(&req.spec, &args.params)?;
    let (vertex, kfp) = overrides(args)?;
    let target = match args.target {
        TargetArg::Vertex => Target::Vertex,
        TargetArg::Kfp => Target::Kfp,
    };
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => crate::config::default_data_dir()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SubmitError::Runtime)?;
    runtime.block_on(async move {
        let store = RunStore::open(&data_dir)?;
        let events = Events::new();
        let targets = Targets::new(
            store.clone(),
            events.clone(),
            &data_dir,
            crate::config::targets_options(),
        )?;
        let mut rx = events.subscribe();
        let mut progress = Progress::new(Mode::from_flags(args.json, args.quiet));
        let submitted = targets
            .submit(
                target,
                SubmitRequest {
                    run: req,
                    vertex,
                    kfp,
                    display_name: args.display_name.clone(),
                },
            )
            .await?;
        // Ctrl-C and SIGTERM are caught from before the console link is printed, so once the
        // run is submitted they always end the command with exit status 130 or 143.
        let mut signals = if args.wait {
            use tokio::signal::unix::{signal, SignalKind};
            Some((
                signal(SignalKind::interrupt()).map_err(SubmitError::Runtime)?,
                signal(SignalKind::terminate()).map_err(SubmitError::Runtime)?,
            ))
        } else {
            None
        };
        let link = submitted.console_link.clone().unwrap_or_default();
        // The run's id and link are printed in every mode but JSON (where every line says
        // the run, and the summary the link).
        if progress.mode() != Mode::Json {
            println!(
                "run {}: submitted to {} as {}",
                submitted.id,
                match target {
                    Target::Kfp => "Kubeflow Pipelines",
                    _ => "Vertex AI Pipelines",
                },
                submitted.remote_name
            );
            println!("console: {link}");
            let _ = std::io::stdout().flush();
        }
        let Some((interrupt, terminate)) = signals.as_mut() else {
            return Ok(());
        };
        let id = submitted.id.clone();
        // Subscribed before submitting, so every event of the run is in the channel.
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(e) if e.run_id() == id => {
                        progress.event(&e);
                        if matches!(&e, EngineEvent::Run(r) if r.state.is_final()) {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if store.get_summary(&id)?.is_some_and(|s| s.state.is_final()) {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = interrupt.recv() => {
                    return Err(SubmitError::Interrupted { id, link, signal: StopSignal::Interrupt });
                }
                _ = terminate.recv() => {
                    return Err(SubmitError::Interrupted { id, link, signal: StopSignal::Terminate });
                }
            }
        }
        let Some(detail) = store.get_run(&id)? else {
            return Err(SubmitError::Target(TargetError::NotFound(id)));
        };
        progress.summary(&detail, Some(&link));
        let s = detail.summary;
        if s.state == RunState::Succeeded {
            Ok(())
        } else {
            Err(SubmitError::Unsuccessful {
                id,
                state: s.state,
                error: s.error,
            })
        }
    })
}
