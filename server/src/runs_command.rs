//! `pipeline-canvas runs` (the run history of a data folder) and `pipeline-canvas logs` (a
//! task's log, or every task's, prefixed with its path), read from the data folder's run store.
//! They only read: the run's owner (a `serve` process or a `run` command) keeps writing while
//! they do, so `logs --follow` polls the store and the log files.
//!
//! The history is the runs table ([`runs::table`]): a row per run with its parameters and
//! metrics as `param.`/`metric.` columns, filtered and sorted like the Runs tab's, written by
//! [`crate::runs_table`] in three formats (`table`, `json`, `csv`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use api::{RunState, RunSummary, TaskState};
use clap::{Args, ValueEnum};
use runs::{RunFilter, RunStore, StoreError, TableError, TableQuery};

use crate::api::logs::{LogReader, Start};

/// Options of `runs`.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// Only runs in this state (pending, running, succeeded, failed, cancelled).
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Only runs of this pipeline (its `pipelineInfo.name`).
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// Only runs with a cell (name, state, parameter, metric…) that contains this text,
    /// ignoring case.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Sort by this column (`state`, `duration`, `param.lr`, `metric.accuracy`, …) [default:
    /// newest first]; runs without a value come last.
    #[arg(long, value_name = "COLUMN")]
    pub sort: Option<String>,
    /// With `--sort`: from the largest value down.
    #[arg(long, requires = "sort")]
    pub desc: bool,
    /// How to write the list.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// At most this many runs (at most 10000).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Folder of the run store. [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `runs --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON array of objects keyed by column name (a duration in seconds).
    Json,
    /// Comma-separated values with a header line (RFC 4180 quoting; a duration in seconds).
    Csv,
}

/// Options of `logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The run's id (as `run` and `runs` print it); with `--latest`, the task.
    #[arg(required_unless_present = "latest")]
    pub run: Option<String>,
    /// The task's path (`train`, `condition-1/for-loop-2[0]/train`) or its name when that is
    /// unique [default: every task, each line prefixed with the task's path].
    pub task: Option<String>,
    /// The newest run instead of a run id: `logs --latest [TASK]`.
    #[arg(long)]
    pub latest: bool,
    /// Keep printing what is written until the task (or the run) ends.
    #[arg(short, long)]
    pub follow: bool,
    /// Folder of the run store. [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Why `runs` or `logs` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunsCommandError {
    /// No data folder could be found.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The run store failed.
    #[error("cannot read the run store: {0}")]
    Store(#[from] StoreError),
    /// `--sort` names no column.
    #[error("--sort: {0}")]
    Sort(String),
    /// The CSV could not be written.
    #[error(transparent)]
    Csv(#[from] crate::runs_table::CsvError),
    /// `--state` names no state.
    #[error("--state {0:?} is not a run state; use one of {states}", states = run_states())]
    State(String),
    /// No such run.
    #[error("no run {id:?} in {dir}; `pipeline-canvas runs` lists the runs there")]
    NoRun {
        /// The id as given.
        id: String,
        /// The data folder.
        dir: String,
    },
    /// `--latest` and a run id.
    #[error("give a run id or --latest, not both: `logs --latest [TASK]`, `logs <RUN> [TASK]`")]
    LatestAndId,
    /// The data folder has no runs (`--latest`).
    #[error("no runs yet in {0}")]
    NoRuns(String),
    /// No such task in the run.
    #[error("run {run} has no task {task:?}; its tasks are {known}")]
    NoTask {
        /// The run.
        run: String,
        /// The task as given.
        task: String,
        /// The run's task paths.
        known: String,
    },
    /// The name matches several tasks.
    #[error("{task:?} names several tasks of run {run}: {matches}; give the task's path")]
    Ambiguous {
        /// The run.
        run: String,
        /// The name as given.
        task: String,
        /// The matching paths.
        matches: String,
    },
    /// A remote run's logs are with its service.
    #[error("run {id} runs on {target}: its task logs are in its console{}", .link.as_deref().map(|l| format!(": {l}")).unwrap_or_default())]
    Remote {
        /// The run.
        id: String,
        /// Where it runs.
        target: String,
        /// Its console page.
        link: Option<String>,
    },
    /// A log file could not be read.
    #[error("cannot read the log of {task}: {source}")]
    Log {
        /// The task's path.
        task: String,
        /// Why.
        source: std::io::Error,
    },
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Write(std::io::Error),
    /// The async runtime could not be created.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

fn run_states() -> String {
    RunState::ALL
        .iter()
        .map(|s| s.as_str().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The data folder: the flag (or `PIPELINE_CANVAS_DATA_DIR`), else the default.
fn data_dir(given: Option<&Path>) -> Result<PathBuf, crate::config::ConfigError> {
    match given {
        Some(d) => Ok(d.to_path_buf()),
        None => crate::config::default_data_dir(),
    }
}

/// Opens the data folder's run store, or `None` when it has none yet (nothing is created).
fn open_store(dir: &Path) -> Result<Option<RunStore>, StoreError> {
    if !dir.join(runs::DB_FILE).is_file() {
        return Ok(None);
    }
    RunStore::open(dir).map(Some)
}

/// Writes `text` to standard output; a reader that went away (`| head`) is not an error.
fn print(text: &str) -> Result<(), RunsCommandError> {
    print_bytes(text.as_bytes())
}

/// Writes `bytes` to standard output; a reader that went away (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> Result<(), RunsCommandError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(RunsCommandError::Write),
    }
}

/// Runs `runs`.
pub fn list(args: &RunsArgs) -> Result<(), RunsCommandError> {
    let state = match &args.state {
        Some(s) => Some(
            RunState::parse(&s.to_ascii_uppercase())
                .ok_or_else(|| RunsCommandError::State(s.clone()))?,
        ),
        None => None,
    };
    let dir = data_dir(args.data_dir.as_deref())?;
    let query = TableQuery {
        pipeline: args.pipeline.clone(),
        state,
        text: args.text.clone(),
        sort: args.sort.clone(),
        descending: args.desc,
        limit: args.limit.max(1),
    };
    if let Some(column) = &query.sort {
        runs::table::check_sort_column(column)
            .map_err(|e| RunsCommandError::Sort(e.to_string()))?;
    }
    let table = match open_store(&dir)? {
        Some(store) => store.run_table(&query).map_err(|e| match e {
            TableError::Store(e) => RunsCommandError::Store(e),
            e @ TableError::SortColumn(_) => RunsCommandError::Sort(e.to_string()),
        })?,
        None => api::RunTable::default(),
    };
    let text = match args.format {
        ListFormat::Table if table.rows.is_empty() => {
            eprintln!("no runs in {}", dir.display());
            return Ok(());
        }
        ListFormat::Table => crate::runs_table::to_text(&table),
        ListFormat::Json => crate::runs_table::to_json(&table),
        ListFormat::Csv => {
            let csv = crate::runs_table::to_csv(&table)?;
            return print_bytes(&csv);
        }
    };
    print(&text)
}

/// The run `logs` is about: the id given, or the newest run.
fn find_run(
    store: Option<&RunStore>,
    dir: &Path,
    id: Option<&str>,
) -> Result<RunSummary, RunsCommandError> {
    let shown = dir.display().to_string();
    let Some(store) = store else {
        return Err(match id {
            Some(id) => RunsCommandError::NoRun {
                id: id.to_string(),
                dir: shown,
            },
            None => RunsCommandError::NoRuns(shown),
        });
    };
    match id {
        Some(id) => store
            .get_summary(id)?
            .ok_or_else(|| RunsCommandError::NoRun {
                id: id.to_string(),
                dir: shown,
            }),
        None => store
            .list_runs(&RunFilter {
                limit: 1,
                ..RunFilter::default()
            })?
            .into_iter()
            .next()
            .ok_or(RunsCommandError::NoRuns(shown)),
    }
}

/// Which task path `given` means among `paths`: the path itself, else the one task whose
/// name (the path's last part) it is.
fn resolve_task(run: &str, given: &str, paths: &[String]) -> Result<String, RunsCommandError> {
    if paths.iter().any(|p| p == given) {
        return Ok(given.to_string());
    }
    let matches: Vec<&String> = paths
        .iter()
        .filter(|p| p.rsplit('/').next() == Some(given))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(RunsCommandError::NoTask {
            run: run.to_string(),
            task: given.to_string(),
            known: if paths.is_empty() {
                "none yet".to_string()
            } else {
                paths.join(", ")
            },
        }),
        many => Err(RunsCommandError::Ambiguous {
            run: run.to_string(),
            task: given.to_string(),
            matches: many
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// A log being printed: its reader (once the file exists) and the text of a line not yet
/// ended.
#[derive(Debug, Default)]
struct Followed {
    reader: Option<LogReader>,
    partial: String,
}

/// Prints the complete lines of `text` (after what `partial` held), each after `prefix`,
/// keeping an unfinished last line in `partial`.
fn print_lines(prefix: &str, partial: &mut String, text: &str) -> Result<(), RunsCommandError> {
    partial.push_str(text);
    let Some(end) = partial.rfind('\n') else {
        return Ok(());
    };
    let rest = partial.split_off(end + 1);
    let done = std::mem::replace(partial, rest);
    if prefix.is_empty() {
        return print(&done);
    }
    let mut out = String::with_capacity(done.len());
    for l in done.lines() {
        out.push_str(prefix);
        out.push_str(l);
        out.push('\n');
    }
    print(&out)
}

/// How long `logs --follow` waits between looks at the store and the files.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Runs `logs`.
pub fn logs(args: &LogsArgs) -> Result<(), RunsCommandError> {
    // With --latest, the one positional is the task.
    let (id, task) = match (args.latest, &args.run, &args.task) {
        (true, Some(_), Some(_)) => return Err(RunsCommandError::LatestAndId),
        (true, task, None) => (None, task.clone()),
        (_, id, task) => (id.clone(), task.clone()),
    };
    let dir = data_dir(args.data_dir.as_deref())?;
    let store = open_store(&dir)?;
    let run = find_run(store.as_ref(), &dir, id.as_deref())?;
    if let Some(target) = &run.target {
        return Err(RunsCommandError::Remote {
            id: run.id,
            target: match target.as_str() {
                "vertex" => "Vertex AI".into(),
                "kfp" => "Kubeflow Pipelines".into(),
                other => other.into(),
            },
            link: run.console_link,
        });
    }
    // find_run only succeeds with a store.
    let Some(store) = store else {
        return Err(RunsCommandError::NoRuns(dir.display().to_string()));
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunsCommandError::Runtime)?;
    runtime.block_on(print_logs(
        &store,
        &dir,
        &run.id,
        task.as_deref(),
        args.follow,
    ))
}

/// Prints the logs of run `id` (the one task `given`, or all), following them when `follow`
/// until the task or run has ended and everything written is printed.
async fn print_logs(
    store: &RunStore,
    dir: &Path,
    id: &str,
    given: Option<&str>,
    follow: bool,
) -> Result<(), RunsCommandError> {
    let mut followed: BTreeMap<String, Followed> = BTreeMap::new();
    let mut task: Option<String> = None;
    loop {
        let detail = store.get_run(id)?.ok_or_else(|| RunsCommandError::NoRun {
            id: id.to_string(),
            dir: dir.display().to_string(),
        })?;
        let paths: Vec<String> = detail.tasks.iter().map(|t| t.path.clone()).collect();
        if task.is_none() {
            if let Some(given) = given {
                match resolve_task(id, given, &paths) {
                    Ok(p) => task = Some(p),
                    // A task not started yet may still come while following the run.
                    Err(RunsCommandError::NoTask { .. })
                        if follow && !detail.summary.state.is_final() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // Whether this look at the store saw everything ended: then, once the files are read
        // to their end, nothing more will be written.
        let ended = match (&given, &task) {
            (Some(_), Some(path)) => detail
                .tasks
                .iter()
                .find(|t| &t.path == path)
                .is_none_or(|t| t.state.is_final() || t.state == TaskState::Skipped),
            (Some(_), None) => detail.summary.state.is_final(),
            (None, _) => detail.summary.state.is_final(),
        };
        for t in &detail.tasks {
            if task.as_ref().is_some_and(|p| p != &t.path) || (given.is_some() && task.is_none()) {
                continue;
            }
            let entry = followed.entry(t.path.clone()).or_default();
            if entry.reader.is_none() {
                if let Some((_, Some(log))) = store.get_task(id, &t.path)? {
                    entry.reader =
                        LogReader::open(&log, Start::Offset(0))
                            .await
                            .map_err(|source| RunsCommandError::Log {
                                task: t.path.clone(),
                                source,
                            })?;
                }
            }
            let prefix = if given.is_some() {
                String::new()
            } else {
                format!("{} | ", t.path)
            };
            let Some(reader) = entry.reader.as_mut() else {
                continue;
            };
            while let Some(piece) = reader
                .next()
                .await
                .map_err(|source| RunsCommandError::Log {
                    task: t.path.clone(),
                    source,
                })?
            {
                print_lines(&prefix, &mut entry.partial, &piece.text)?;
            }
            if ended || !follow {
                if let Some(piece) = reader.finish() {
                    entry.partial.push_str(&piece.text);
                }
                if !entry.partial.is_empty() {
                    entry.partial.push('\n');
                    print_lines(&prefix, &mut entry.partial, "")?;
                }
            }
        }
        if ended || !follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_named_by_path_or_unique_name() {
        let paths: Vec<String> = ["a", "c-1/train", "c-1/l[0]/x", "c-1/l[1]/x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            resolve_task("r", "c-1/train", &paths).ok(),
            Some("c-1/train".into())
        );
        assert_eq!(
            resolve_task("r", "train", &paths).ok(),
            Some("c-1/train".into())
        );
        let e = resolve_task("r", "x", &paths).expect_err("ambiguous");
        assert_eq!(
            e.to_string(),
            "\"x\" names several tasks of run r: c-1/l[0]/x, c-1/l[1]/x; give the task's path"
        );
        let e = resolve_task("r", "nope", &paths).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "run r has no task \"nope\"; its tasks are a, c-1/train, c-1/l[0]/x, c-1/l[1]/x"
        );
    }
}
