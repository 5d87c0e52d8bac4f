//! `pipeline-canvas lineage <run-id | artifact-id | --latest> [--task PATH] [--depth N]
//! [--direction upstream|downstream|both] [--max-nodes N] [--format json|dot]`: prints the
//! lineage subgraph around a run (its executions; with `--task`, one task's execution), an
//! artifact or the latest run, from the run
//! store in the data folder; with `--vertex-artifact <resource name>` or `--vertex-run <id>`,
//! from Vertex ML Metadata instead (`targets::vertex_lineage`) — as JSON (`api::Lineage`: `artifacts`, each with its `uri`,
//! `executions`, `events`, `truncated`) or as a Graphviz `dot` graph.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use api::lineage::{
    DEFAULT_LINEAGE_DEPTH, DEFAULT_LINEAGE_NODES, MAX_LINEAGE_DEPTH, MAX_LINEAGE_NODES,
};
use api::{LineageDirection, LineageStart};
use runs::{LineageQuery, RunFilter, RunStore, StoreError};

/// [`MAX_LINEAGE_NODES`] as the argument parser's bound.
const MAX_NODES_ARG: u64 = MAX_LINEAGE_NODES as u64;

/// Options of `lineage`.
#[derive(Debug, Clone, Args)]
pub struct LineageArgs {
    /// A run id, or an artifact id (a number) when no run has that id.
    #[arg(required_unless_present_any = ["latest", "vertex_artifact", "vertex_run"],
          conflicts_with_all = ["latest", "vertex_artifact", "vertex_run"])]
    pub id: Option<String>,
    /// Start at this Vertex ML Metadata artifact
    /// (`projects/P/locations/L/metadataStores/default/artifacts/ID`), asked of Vertex AI.
    #[arg(long, value_name = "RESOURCE_NAME", conflicts_with_all = ["latest", "vertex_run"])]
    pub vertex_artifact: Option<String>,
    /// The lineage of this Vertex run (its id in the run store), asked of Vertex ML Metadata
    /// (its pipeline job's context; `--depth` and `--direction` do not apply).
    #[arg(long, value_name = "RUN_ID", conflicts_with = "latest")]
    pub vertex_run: Option<String>,
    /// Start at this task of the run (its path, `train` or `for-loop-2[0]/train`): its
    /// execution, e.g. a deploy task, to follow an endpoint back to its training data.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["vertex_artifact", "vertex_run"])]
    pub task: Option<String>,
    /// Start at the newest run.
    #[arg(long)]
    pub latest: bool,
    /// How many hops to follow from the start.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LINEAGE_DEPTH,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_LINEAGE_DEPTH)))]
    pub depth: u32,
    /// Which way to walk.
    #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
    pub direction: DirectionArg,
    /// The most artifacts and executions to print (the JSON says `"truncated": true` when
    /// more were reachable).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LINEAGE_NODES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_NODES_ARG))]
    pub max_nodes: usize,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = LineageFormat::Json)]
    pub format: LineageFormat,
    /// Folder of the run store.
    /// [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `--direction` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Towards what was used.
    Upstream,
    /// Towards what was made.
    Downstream,
    /// Both ways.
    Both,
}

impl From<DirectionArg> for LineageDirection {
    fn from(d: DirectionArg) -> Self {
        match d {
            DirectionArg::Upstream => LineageDirection::Upstream,
            DirectionArg::Downstream => LineageDirection::Downstream,
            DirectionArg::Both => LineageDirection::Both,
        }
    }
}

/// `--format` values of `lineage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineageFormat {
    /// Pretty JSON (`artifacts`, `executions`, `events`, `truncated`).
    Json,
    /// A Graphviz graph.
    Dot,
}

/// Why `lineage` failed.
#[derive(Debug, thiserror::Error)]
pub enum LineageCommandError {
    /// The data folder could not be found.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The run store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Nothing has that id.
    #[error("{0}")]
    NotFound(String),
    /// The answer could not be written.
    #[error("cannot write the lineage: {0}")]
    Write(#[from] std::io::Error),
    /// Vertex AI failed, or the start is not a Vertex artifact or run.
    #[error(transparent)]
    Vertex(#[from] targets::TargetError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The answer could not be written as JSON (never expected).
    #[error("cannot write the lineage as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Runs the command: prints the subgraph to standard output.
pub fn lineage(args: &LineageArgs) -> Result<(), LineageCommandError> {
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => crate::config::default_data_dir()?,
    };
    let store = RunStore::open(&data_dir)?;
    if args.vertex_artifact.is_some() || args.vertex_run.is_some() {
        let lineage = vertex(store, &data_dir, args)?;
        return print(&lineage, args.format);
    }
    let start = start(&store, args)?;
    let q = LineageQuery {
        start: start.clone(),
        depth: args.depth,
        direction: args.direction.into(),
        max_nodes: args.max_nodes,
    };
    let lineage = store.lineage(&q)?.ok_or_else(|| {
        LineageCommandError::NotFound(match start {
            LineageStart::Run(id) => format!("no run with id {id:?}"),
            LineageStart::Artifact(id) => format!("no run or artifact with id {id}"),
            LineageStart::Execution(id) => format!("no execution with id {id}"),
        })
    })?;
    print(&lineage, args.format)
}

/// The lineage of `--vertex-artifact` or `--vertex-run`, asked of Vertex ML Metadata with the
/// targets' settings and credentials (as `submit` and `cancel` use them).
fn vertex(
    store: RunStore,
    data_dir: &std::path::Path,
    args: &LineageArgs,
) -> Result<api::Lineage, LineageCommandError> {
    if args.direction != DirectionArg::Both {
        return Err(LineageCommandError::Vertex(targets::TargetError::Invalid(
            "Vertex ML Metadata answers both directions: leave --direction out".into(),
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LineageCommandError::Runtime)?;
    runtime.block_on(async {
        let targets = targets::Targets::new(
            store,
            runs::Events::new(),
            data_dir,
            crate::config::targets_options(),
        )?;
        let lineage = match (&args.vertex_artifact, &args.vertex_run) {
            (Some(name), _) => {
                targets
                    .vertex_artifact_lineage(name, args.depth, args.max_nodes)
                    .await?
            }
            (_, Some(id)) => targets.vertex_run_lineage(id, args.max_nodes).await?,
            _ => api::Lineage::default(),
        };
        Ok(lineage)
    })
}

/// Prints the subgraph as JSON or dot.
fn print(lineage: &api::Lineage, format: LineageFormat) -> Result<(), LineageCommandError> {
    let text = match format {
        LineageFormat::Json => {
            let mut s = serde_json::to_string_pretty(lineage)?;
            s.push('\n');
            s
        }
        LineageFormat::Dot => runs::lineage::to_dot(lineage),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Where the walk starts: the newest run, the run with the id given, or else the artifact
/// whose id it is.
fn start(store: &RunStore, args: &LineageArgs) -> Result<LineageStart, LineageCommandError> {
    let run = match args.id.as_deref().filter(|_| !args.latest) {
        Some(id) => store.get_summary(id)?.map(|r| r.id),
        None => {
            let newest = store.list_runs(&RunFilter {
                limit: 1,
                ..RunFilter::default()
            })?;
            let Some(r) = newest.into_iter().next() else {
                return Err(LineageCommandError::NotFound(
                    "there are no runs yet".into(),
                ));
            };
            Some(r.id)
        }
    };
    match (run, &args.task) {
        (Some(run), Some(path)) => {
            return match store.execution_id(&run, path)? {
                Some(e) => Ok(LineageStart::Execution(e)),
                None => Err(LineageCommandError::NotFound(format!(
                    "no lineage of task {path:?} in run {run:?}: no such task, or it has not ended"
                ))),
            };
        }
        (Some(run), None) => return Ok(LineageStart::Run(run)),
        (None, Some(_)) => {
            return Err(LineageCommandError::NotFound(format!(
                "no run with id {:?}: --task names a task of a run",
                args.id.as_deref().unwrap_or_default()
            )))
        }
        (None, None) => {}
    }
    let id = args.id.as_deref().unwrap_or_default();
    match id.parse::<i64>() {
        Ok(n) => Ok(LineageStart::Artifact(n)),
        Err(_) => Err(LineageCommandError::NotFound(format!(
            "no run with id {id:?} (an artifact id is a number)"
        ))),
    }
}
