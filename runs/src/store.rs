//! The run store: runs, their tasks (state, timestamps, inputs, outputs, log file, error) and
//! the task cache, in the same SQLite file as the saved pipelines (`pipelines.db`; its schema
//! is [`crate::db`]'s). Runs are listed newest first by
//! their insertion sequence (`seq`), not by the clock.
//!
//! Every state change is written here before it is broadcast, so the store is always the
//! truth: a page that reloads, a late SSE listener and a restarted server all read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

pub use api::{RunDetail, RunOptions, RunState, RunSummary, TaskKind, TaskRow, TaskState};
use pipeline::import::SpecFile;
use pipeline::ir::PipelineSpec;
use pipeline::{Diagnostic, Document};

use crate::db::{now, open_database, StoreError};
use crate::lineage::{self, LineageQuery, SpecCache};

/// The most runs one list returns ([`RunFilter::limit`] is clamped to it).
pub const MAX_RUN_LIST: usize = 1000;

/// How many runs a list returns when [`RunFilter::limit`] is 0.
pub const DEFAULT_RUN_LIST: usize = 200;

/// A run to start, on the local engine or a remote target: the compiled pipeline, its
/// parameter values and options, and what it came from.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The compiled pipeline.
    pub spec: PipelineSpec,
    /// Its platform spec (`platforms: kubernetes: …`), if any.
    pub platform_spec: Option<Value>,
    /// The document it was compiled from (JSON), kept with the run.
    pub document: Option<String>,
    /// Parameter values by name.
    pub parameters: BTreeMap<String, Value>,
    /// Options.
    pub options: RunOptions,
    /// The saved pipeline it was started from.
    pub pipeline_id: Option<String>,
}

impl RunRequest {
    /// A run of `spec` with `parameters` and default options.
    pub fn new(spec: PipelineSpec, parameters: BTreeMap<String, Value>) -> Self {
        Self {
            spec,
            platform_spec: None,
            document: None,
            parameters,
            options: RunOptions::default(),
            pipeline_id: None,
        }
    }

    /// A run of a canvas document: compiled (the run keeps the document and its platform
    /// spec), with the compiler's diagnostics; no request when the document has errors. The
    /// one way the API and the command line turn a document into a run.
    pub fn from_document(doc: &Document) -> (Option<Self>, Vec<Diagnostic>) {
        let compiled = pipeline::compile(doc);
        let platform_spec = compiled.platform_spec;
        let request = compiled.spec.map(|spec| {
            let mut r = Self::new(spec, BTreeMap::new());
            r.platform_spec = platform_spec;
            r.document = Some(doc.to_json());
            r
        });
        (request, compiled.diagnostics)
    }

    /// A run of a compiled spec file (with its platform spec, when it has one).
    pub fn from_spec_file(file: SpecFile) -> Self {
        let mut r = Self::new(file.spec, BTreeMap::new());
        r.platform_spec = file.platform_spec;
        r
    }
}

/// A run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Its id.
    pub id: String,
    /// `pipelineInfo.name`.
    pub pipeline_name: String,
    /// The saved pipeline it was started from, if any.
    pub pipeline_id: Option<String>,
    /// The run's parameter values.
    pub parameters: Value,
    /// The spec, JSON.
    pub spec: String,
    /// The platform spec, JSON, if any.
    pub platform_spec: Option<String>,
    /// The document it was compiled from, JSON, if any.
    pub document: Option<String>,
    /// The run options.
    pub options: Value,
    /// The run's folder (its local pipeline root).
    pub root: PathBuf,
    /// The run this one re-runs.
    pub rerun_of: Option<String>,
}

/// A run on a remote target that has not ended, to follow.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRemoteRun {
    /// The run.
    pub id: String,
    /// `vertex` or `kfp`.
    pub target: String,
    /// The remote job's name.
    pub remote_name: String,
    /// The settings it was submitted with (JSON, never secrets).
    pub remote: Value,
}

/// A task to insert (pending, or already skipped).
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    /// Path.
    pub path: &'a str,
    /// Parent path.
    pub parent: Option<&'a str>,
    /// Name in its DAG.
    pub name: &'a str,
    /// Display name.
    pub display_name: Option<&'a str>,
    /// Kind.
    pub kind: TaskKind,
    /// Initial state.
    pub state: TaskState,
    /// Initial error (for skipped tasks).
    pub error: Option<&'a str>,
}

/// Fields of a task to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    /// New state.
    pub state: Option<TaskState>,
    /// Start time.
    pub started_at: Option<String>,
    /// End time.
    pub ended_at: Option<String>,
    /// Resolved inputs.
    pub inputs: Option<Value>,
    /// Outputs.
    pub outputs: Option<Value>,
    /// Error (use `clear_error` to remove one).
    pub error: Option<String>,
    /// Remove the error.
    pub clear_error: bool,
    /// Outputs came from the cache.
    pub cached: Option<bool>,
    /// Attempts so far.
    pub attempts: Option<u32>,
    /// A note.
    pub note: Option<String>,
    /// What stood in for the task's cloud component on the local engine.
    pub backing: Option<String>,
    /// The log file.
    pub log_path: Option<PathBuf>,
    /// The cache key.
    pub cache_key: Option<String>,
    /// The running process (id, start time) to kill after a crash.
    pub pid: Option<(u32, Option<u64>)>,
    /// The process has ended.
    pub clear_pid: bool,
}

/// What a run was started from (for re-runs).
#[derive(Debug, Clone)]
pub struct RunSource {
    /// `pipelineInfo.name`.
    pub pipeline_name: String,
    /// The saved pipeline.
    pub pipeline_id: Option<String>,
    /// Parameter values.
    pub parameters: Value,
    /// The spec, JSON.
    pub spec: String,
    /// The platform spec, JSON.
    pub platform_spec: Option<String>,
    /// The document, JSON.
    pub document: Option<String>,
    /// Options.
    pub options: Value,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs in this state.
    pub state: Option<RunState>,
    /// Only runs of this pipeline name.
    pub pipeline: Option<String>,
    /// Only runs started from this saved pipeline.
    pub pipeline_id: Option<String>,
    /// At most this many (newest first); 0 means [`DEFAULT_RUN_LIST`], and more than
    /// [`MAX_RUN_LIST`] means [`MAX_RUN_LIST`].
    pub limit: usize,
}

/// A run whose engine may have died.
#[derive(Debug, Clone)]
pub struct OpenRun {
    /// The run.
    pub id: String,
    /// The engine process that ran it.
    pub owner_pid: u32,
    /// That process's start time (clock ticks since boot), when known.
    pub owner_start: Option<u64>,
    /// Processes of its running tasks (id, start time).
    pub task_pids: Vec<(u32, Option<u64>)>,
}

/// The run store. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct RunStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    specs: Arc<Mutex<SpecCache>>,
}

impl std::fmt::Debug for RunStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunStore")
            .field("path", &self.path)
            .finish()
    }
}

fn to_json(v: &Value) -> String {
    v.to_string()
}

fn from_json(s: Option<String>) -> Option<Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

impl RunStore {
    /// Opens (creating and migrating as needed) `pipelines.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let (conn, path) = open_database(data_dir)?;
        // WAL lets the pipelines store and this one read while the other writes; the engine
        // writes on every state change.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
            specs: Arc::default(),
        })
    }

    /// Records the lineage of the ended tasks `paths` of run `run_id` ([`lineage::record_task`])
    /// on `c`, inside the caller's transaction.
    fn record_lineage(&self, c: &Connection, run_id: &str, paths: &[&str]) -> rusqlite::Result<()> {
        // The cache only saves parsing; one left by a panic is still a valid cache.
        let spec = self
            .specs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(c, run_id)?;
        for path in paths {
            lineage::record_task(c, run_id, path, spec.as_ref().as_ref())?;
        }
        Ok(())
    }

    /// The lineage subgraph `q` asks for; `None` when its run, artifact or execution does not
    /// exist.
    pub fn lineage(&self, q: &LineageQuery) -> Result<Option<api::Lineage>, StoreError> {
        self.with_conn(|c| lineage::query(c, q))
    }

    /// The id of the artifact lineage recorded at `uri`, if any.
    pub fn artifact_id(&self, uri: &str) -> Result<Option<i64>, StoreError> {
        self.with_conn(|c| lineage::artifact_by_uri(c, uri))
    }

    /// The lineage execution of task `path` of run `run` (recorded once the task ended).
    pub fn execution_id(&self, run: &str, path: &str) -> Result<Option<i64>, StoreError> {
        self.with_conn(|c| lineage::execution_of_task(c, run, path))
    }

    /// Runs `f` on the store's connection (shared by the store's modules).
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(f(&mut conn)?)
    }

    /// Inserts a new run (state `PENDING`), owned by this process.
    pub fn insert_run(&self, run: &NewRun) -> Result<String, StoreError> {
        let created = now()?;
        let owner = this_process();
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO runs (id, pipeline_name, pipeline_id, state, created_at, parameters,
                     spec, platform_spec, document, options, root, rerun_of, owner_pid, owner_start,
                     seq)
                 VALUES (?1, ?2, ?3, 'PENDING', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                     (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs))",
                params![
                    run.id,
                    run.pipeline_name,
                    run.pipeline_id,
                    created,
                    to_json(&run.parameters),
                    run.spec,
                    run.platform_spec,
                    run.document,
                    to_json(&run.options),
                    run.root.display().to_string(),
                    run.rerun_of,
                    owner.0,
                    owner.1.map(|s| s as i64),
                ],
            )
        })?;
        Ok(created)
    }

    /// Sets a run's state; `started`/`ended` stamp the time; returns the row as it is now.
    pub fn set_run_state(
        &self,
        id: &str,
        state: RunState,
        started: bool,
        ended: bool,
        error: Option<&str>,
        outputs: Option<&Value>,
    ) -> Result<Option<RunSummary>, StoreError> {
        let t = now()?;
        let outputs = outputs.map(to_json);
        self.with_conn(|c| {
            c.execute(
                "UPDATE runs SET state = ?2,
                     started_at = CASE WHEN ?3 THEN COALESCE(started_at, ?5) ELSE started_at END,
                     ended_at = CASE WHEN ?4 THEN ?5 ELSE ended_at END,
                     error = COALESCE(?6, error),
                     outputs = COALESCE(?7, outputs)
                 WHERE id = ?1",
                params![id, state.as_str(), started, ended, t, error, outputs],
            )?;
            summary(c, id)
        })
    }

    /// Inserts a task (ignored when the path already exists).
    pub fn add_task(&self, run_id: &str, t: &NewTask<'_>) -> Result<(), StoreError> {
        let stamp = if t.state.is_final() {
            Some(now()?)
        } else {
            None
        };
        self.with_conn(|c| {
            let tx = c.transaction()?;
            let added = tx.execute(
                "INSERT INTO run_tasks (run_id, path, parent, name, display_name, kind, state,
                     error, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (run_id, path) DO NOTHING",
                params![
                    run_id,
                    t.path,
                    t.parent,
                    t.name,
                    t.display_name,
                    t.kind.as_str(),
                    t.state.as_str(),
                    t.error,
                    stamp
                ],
            )?;
            if added > 0 && t.state.is_final() {
                self.record_lineage(&tx, run_id, &[t.path])?;
            }
            tx.commit()
        })
    }

    /// Changes fields of a task; when it reaches a final state, its lineage is recorded in the
    /// same transaction.
    pub fn update_task(&self, run_id: &str, path: &str, u: &TaskUpdate) -> Result<(), StoreError> {
        self.with_conn(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE run_tasks SET
                     state = COALESCE(?3, state),
                     started_at = COALESCE(?4, started_at),
                     ended_at = COALESCE(?5, ended_at),
                     inputs = COALESCE(?6, inputs),
                     outputs = COALESCE(?7, outputs),
                     error = CASE WHEN ?8 THEN NULL ELSE COALESCE(?9, error) END,
                     cached = COALESCE(?10, cached),
                     attempts = COALESCE(?11, attempts),
                     note = COALESCE(?12, note),
                     log_path = COALESCE(?13, log_path),
                     cache_key = COALESCE(?14, cache_key),
                     pid = CASE WHEN ?15 THEN NULL ELSE COALESCE(?16, pid) END,
                     pid_start = CASE WHEN ?15 THEN NULL ELSE COALESCE(?17, pid_start) END,
                     backing = COALESCE(?18, backing)
                 WHERE run_id = ?1 AND path = ?2",
                params![
                    run_id,
                    path,
                    u.state.map(TaskState::as_str),
                    u.started_at,
                    u.ended_at,
                    u.inputs.as_ref().map(to_json),
                    u.outputs.as_ref().map(to_json),
                    u.clear_error,
                    u.error,
                    u.cached,
                    u.attempts,
                    u.note,
                    u.log_path.as_ref().map(|p| p.display().to_string()),
                    u.cache_key,
                    u.clear_pid,
                    u.pid.map(|p| p.0),
                    u.pid.and_then(|p| p.1).map(|s| s as i64),
                    u.backing,
                ],
            )?;
            if u.state.is_some_and(TaskState::is_final) {
                self.record_lineage(&tx, run_id, &[path])?;
            }
            tx.commit()
        })
    }

    /// Runs, newest first.
    pub fn list_runs(&self, f: &RunFilter) -> Result<Vec<RunSummary>, StoreError> {
        let limit = match f.limit {
            0 => DEFAULT_RUN_LIST,
            n => n.min(MAX_RUN_LIST),
        };
        let limit = i64::try_from(limit).unwrap_or(0);
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT id, pipeline_name, pipeline_id, state, created_at, started_at, ended_at,
                        error, rerun_of, target, remote_name, console_link
                 FROM runs
                 WHERE (?1 IS NULL OR state = ?1)
                   AND (?2 IS NULL OR pipeline_name = ?2)
                   AND (?3 IS NULL OR pipeline_id = ?3)
                 ORDER BY seq DESC
                 LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![
                    f.state.map(RunState::as_str),
                    f.pipeline,
                    f.pipeline_id,
                    limit
                ],
                summary_row,
            )?;
            rows.collect()
        })
    }

    /// A run and its tasks.
    pub fn get_run(&self, id: &str) -> Result<Option<RunDetail>, StoreError> {
        self.with_conn(|c| {
            let Some(summary) = summary(c, id)? else {
                return Ok(None);
            };
            let (parameters, outputs, options, root): (String, Option<String>, String, String) = c
                .query_row(
                    "SELECT parameters, outputs, options, root FROM runs WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?;
            let mut stmt = c.prepare(
                "SELECT path, parent, name, display_name, kind, state, started_at, ended_at,
                        inputs, outputs, error, cached, attempts, note, log_path, cache_key, backing
                 FROM run_tasks WHERE run_id = ?1 ORDER BY rowid",
            )?;
            let tasks = stmt
                .query_map([id], task_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(RunDetail {
                summary,
                parameters: from_json(Some(parameters)).unwrap_or(Value::Null),
                outputs: from_json(outputs),
                options: from_json(Some(options)).unwrap_or(Value::Null),
                root,
                tasks,
            }))
        })
    }

    /// A run's summary.
    pub fn get_summary(&self, id: &str) -> Result<Option<RunSummary>, StoreError> {
        self.with_conn(|c| summary(c, id))
    }

    /// One task of a run, and its log file.
    pub fn get_task(
        &self,
        run_id: &str,
        path: &str,
    ) -> Result<Option<(TaskRow, Option<PathBuf>)>, StoreError> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT path, parent, name, display_name, kind, state, started_at, ended_at,
                        inputs, outputs, error, cached, attempts, note, log_path, cache_key, backing
                 FROM run_tasks WHERE run_id = ?1 AND path = ?2",
                params![run_id, path],
                |r| {
                    let log: Option<String> = r.get(14)?;
                    Ok((task_row(r)?, log.map(PathBuf::from)))
                },
            )
            .optional()
        })
    }

    /// What a run was started from.
    pub fn run_source(&self, id: &str) -> Result<Option<RunSource>, StoreError> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT pipeline_name, pipeline_id, parameters, spec, platform_spec, document,
                        options
                 FROM runs WHERE id = ?1",
                [id],
                |r| {
                    let params: String = r.get(2)?;
                    let options: String = r.get(6)?;
                    Ok(RunSource {
                        pipeline_name: r.get(0)?,
                        pipeline_id: r.get(1)?,
                        parameters: from_json(Some(params)).unwrap_or(Value::Null),
                        spec: r.get(3)?,
                        platform_spec: r.get(4)?,
                        document: r.get(5)?,
                        options: from_json(Some(options)).unwrap_or(Value::Null),
                    })
                },
            )
            .optional()
        })
    }

    /// The outputs cached under `key`.
    pub fn cache_get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT outputs FROM task_cache WHERE key = ?1",
                [key],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })
        .map(from_json)
    }

    /// Caches `outputs` under `key` (replacing an older entry).
    pub fn cache_put(
        &self,
        key: &str,
        outputs: &Value,
        run_id: &str,
        task_path: &str,
    ) -> Result<(), StoreError> {
        let t = now()?;
        self.with_conn(|c| {
            c.execute(
                "INSERT OR REPLACE INTO task_cache (key, outputs, run_id, task_path, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key, to_json(outputs), run_id, task_path, t],
            )
            .map(|_| ())
        })
    }

    /// Drops a cache entry (its artifacts are gone).
    pub fn cache_remove(&self, key: &str) -> Result<(), StoreError> {
        self.with_conn(|c| {
            c.execute("DELETE FROM task_cache WHERE key = ?1", [key])
                .map(|_| ())
        })
    }

    /// Records where run `id` runs remotely: its target, remote job name, console link and
    /// the settings it was submitted with (JSON, never secrets).
    pub fn set_remote(
        &self,
        id: &str,
        target: &str,
        remote_name: &str,
        console_link: Option<&str>,
        remote: &Value,
    ) -> Result<(), StoreError> {
        self.with_conn(|c| {
            c.execute(
                "UPDATE runs SET target = ?2, remote_name = ?3, console_link = ?4, remote = ?5
                 WHERE id = ?1",
                params![id, target, remote_name, console_link, to_json(remote)],
            )
            .map(|_| ())
        })
    }

    /// Remote runs not yet ended (to follow again after a restart).
    pub fn open_remote_runs(&self) -> Result<Vec<OpenRemoteRun>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT id, target, remote_name, remote FROM runs
                 WHERE state IN ('PENDING', 'RUNNING') AND target IS NOT NULL
                       AND remote_name IS NOT NULL
                 ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(OpenRemoteRun {
                    id: r.get(0)?,
                    target: r.get(1)?,
                    remote_name: r.get(2)?,
                    remote: from_json(r.get(3)?).unwrap_or(Value::Null),
                })
            })?;
            rows.collect()
        })
    }

    /// Runs not yet ended on the local engine, with the processes of their running tasks.
    pub fn open_runs(&self) -> Result<Vec<OpenRun>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT id, owner_pid, owner_start FROM runs
                 WHERE state IN ('PENDING', 'RUNNING') AND target IS NULL",
            )?;
            let runs = stmt
                .query_map([], |r| {
                    Ok(OpenRun {
                        id: r.get(0)?,
                        owner_pid: r.get(1)?,
                        owner_start: r.get::<_, Option<i64>>(2)?.map(|s| s as u64),
                        task_pids: Vec::new(),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(runs.len());
            for mut run in runs {
                run.task_pids = task_pids(c, &run.id)?;
                out.push(run);
            }
            Ok(out)
        })
    }

    /// The processes (id, start time) of run `id`'s running tasks.
    pub fn task_pids(&self, id: &str) -> Result<Vec<(u32, Option<u64>)>, StoreError> {
        self.with_conn(|c| task_pids(c, id))
    }

    /// Marks an interrupted run failed: running tasks failed, pending ones cancelled; returns
    /// the paths of the tasks it ended.
    pub fn mark_interrupted(&self, id: &str, message: &str) -> Result<Vec<String>, StoreError> {
        let t = now()?;
        self.with_conn(|c| {
            let tx = c.transaction()?;
            let ended = {
                let mut stmt = tx.prepare(
                    "SELECT path FROM run_tasks
                     WHERE run_id = ?1 AND state IN ('RUNNING', 'PENDING') ORDER BY rowid",
                )?;
                let paths = stmt
                    .query_map([id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                paths
            };
            tx.execute(
                "UPDATE run_tasks SET state = 'FAILED', ended_at = ?2, error = ?3,
                     pid = NULL, pid_start = NULL
                 WHERE run_id = ?1 AND state = 'RUNNING'",
                params![id, t, message],
            )?;
            tx.execute(
                "UPDATE run_tasks SET state = 'CANCELLED', ended_at = ?2, error = ?3
                 WHERE run_id = ?1 AND state = 'PENDING'",
                params![id, t, message],
            )?;
            tx.execute(
                "UPDATE runs SET state = 'FAILED', ended_at = ?2, error = ?3 WHERE id = ?1",
                params![id, t, message],
            )?;
            let paths: Vec<&str> = ended.iter().map(String::as_str).collect();
            self.record_lineage(&tx, id, &paths)?;
            tx.commit()?;
            Ok(ended)
        })
    }
}

fn task_pids(c: &Connection, run_id: &str) -> rusqlite::Result<Vec<(u32, Option<u64>)>> {
    let mut stmt =
        c.prepare("SELECT pid, pid_start FROM run_tasks WHERE run_id = ?1 AND pid IS NOT NULL")?;
    let pids = stmt
        .query_map([run_id], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<i64>>(1)?
                    .and_then(|s| u64::try_from(s).ok()),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pids)
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let state: String = r.get(3)?;
    Ok(RunSummary {
        id: r.get(0)?,
        pipeline_name: r.get(1)?,
        pipeline_id: r.get(2)?,
        state: RunState::parse(&state).unwrap_or(RunState::Failed),
        created_at: r.get(4)?,
        started_at: r.get(5)?,
        ended_at: r.get(6)?,
        error: r.get(7)?,
        rerun_of: r.get(8)?,
        target: r.get(9)?,
        remote_name: r.get(10)?,
        console_link: r.get(11)?,
    })
}

fn summary(c: &Connection, id: &str) -> rusqlite::Result<Option<RunSummary>> {
    c.query_row(
        "SELECT id, pipeline_name, pipeline_id, state, created_at, started_at, ended_at, error,
                rerun_of, target, remote_name, console_link
         FROM runs WHERE id = ?1",
        [id],
        summary_row,
    )
    .optional()
}

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    let kind: String = r.get(4)?;
    let state: String = r.get(5)?;
    let log: Option<String> = r.get(14)?;
    Ok(TaskRow {
        path: r.get(0)?,
        parent: r.get(1)?,
        name: r.get(2)?,
        display_name: r.get(3)?,
        kind: TaskKind::parse(&kind).unwrap_or(TaskKind::Container),
        state: TaskState::parse(&state).unwrap_or(TaskState::Failed),
        started_at: r.get(6)?,
        ended_at: r.get(7)?,
        inputs: from_json(r.get(8)?),
        outputs: from_json(r.get(9)?),
        error: r.get(10)?,
        cached: r.get(11)?,
        attempts: r.get(12)?,
        note: r.get(13)?,
        has_log: log.is_some_and(|p| Path::new(&p).is_file()),
        cache_key: r.get(15)?,
        backing: r.get(16)?,
    })
}

/// This process, as the store records the owner of a run: its id and start time, so that a
/// later process never mistakes a recycled id for the owner.
pub fn this_process() -> (u32, Option<u64>) {
    let pid = std::process::id();
    (pid, process_start(pid))
}

/// When process `pid` started (clock ticks since boot, from `/proc/<pid>/stat`), if it exists
/// and this system has `/proc`.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields after it are
    // space-separated, and the start time is field 22.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DB_FILE;
    use serde_json::json;

    fn new_run(id: &str, name: &str) -> NewRun {
        NewRun {
            id: id.into(),
            pipeline_name: name.into(),
            pipeline_id: None,
            parameters: json!({"a": 1}),
            spec: "{}".into(),
            platform_spec: None,
            document: None,
            options: json!({}),
            root: PathBuf::from("/tmp/x"),
            rerun_of: None,
        }
    }

    #[test]
    fn runs_and_tasks_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RunStore::open(dir.path()).expect("open");
        store.insert_run(&new_run("r1", "p")).expect("insert");
        store.insert_run(&new_run("r2", "q")).expect("insert");
        store
            .add_task(
                "r1",
                &NewTask {
                    path: "a",
                    parent: None,
                    name: "a",
                    display_name: Some("A"),
                    kind: TaskKind::Container,
                    state: TaskState::Pending,
                    error: None,
                },
            )
            .expect("task");
        store
            .update_task(
                "r1",
                "a",
                &TaskUpdate {
                    state: Some(TaskState::Failed),
                    error: Some("boom".into()),
                    attempts: Some(2),
                    pid: Some((42, Some(7))),
                    ..TaskUpdate::default()
                },
            )
            .expect("update");
        let run = store.get_run("r1").expect("get").expect("exists");
        assert_eq!(run.tasks.len(), 1);
        assert_eq!(run.tasks[0].state, TaskState::Failed);
        assert_eq!(run.tasks[0].error.as_deref(), Some("boom"));
        assert_eq!(run.tasks[0].attempts, 2);
        assert_eq!(run.parameters, json!({"a": 1}));
        let open = store.open_runs().expect("open runs");
        assert_eq!(open.len(), 2);
        let r1 = open.iter().find(|r| r.id == "r1").expect("r1");
        assert_eq!(r1.task_pids, vec![(42, Some(7))]);
        store
            .set_run_state("r2", RunState::Succeeded, true, true, None, None)
            .expect("state");
        let only = store
            .list_runs(&RunFilter {
                state: Some(RunState::Succeeded),
                ..RunFilter::default()
            })
            .expect("list");
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].id, "r2");
        let by_name = store
            .list_runs(&RunFilter {
                pipeline: Some("p".into()),
                ..RunFilter::default()
            })
            .expect("list");
        assert_eq!(by_name.len(), 1);
        store.mark_interrupted("r1", "interrupted").expect("mark");
        let run = store.get_run("r1").expect("get").expect("exists");
        assert_eq!(run.summary.state, RunState::Failed);
        assert!(store.open_runs().expect("open").is_empty());
        store
            .cache_put("k", &json!({"parameters": {}}), "r1", "a")
            .expect("put");
        assert!(store.cache_get("k").expect("get").is_some());
        store.cache_remove("k").expect("remove");
        assert!(store.cache_get("k").expect("get").is_none());
    }

    #[test]
    fn a_version_2_database_gains_the_remote_columns_and_keeps_its_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let c = Connection::open(dir.path().join(DB_FILE)).expect("open");
            c.execute_batch(crate::db::RUNS_V2).expect("v2");
            c.execute_batch(
                "CREATE TABLE pipelines (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                     document TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
                 INSERT INTO runs (id, pipeline_name, state, created_at, parameters, spec,
                     options, root, owner_pid)
                 VALUES ('old', 'p', 'SUCCEEDED', '2025-01-01T00:00:00.000Z', '{}', '{}', '{}',
                     '/tmp/x', 1);
                 PRAGMA user_version = 2;",
            )
            .expect("old rows");
        }
        let store = RunStore::open(dir.path()).expect("migrates");
        let old = store.get_summary("old").expect("get").expect("kept");
        assert_eq!(old.state, RunState::Succeeded);
        assert_eq!(old.target, None);
        store.insert_run(&new_run("r", "p")).expect("insert");
        store
            .set_remote(
                "r",
                "vertex",
                "projects/p/locations/l/pipelineJobs/j",
                Some("https://c"),
                &json!({"region": "l"}),
            )
            .expect("remote");
        let r = store.get_summary("r").expect("get").expect("row");
        assert_eq!(r.target.as_deref(), Some("vertex"));
        assert_eq!(r.console_link.as_deref(), Some("https://c"));
        // Open remote runs are followed, not treated as interrupted local runs.
        assert!(store.open_runs().expect("open").is_empty());
        let remote = store.open_remote_runs().expect("open remote");
        assert_eq!(remote.len(), 1);
        assert_eq!(remote[0].remote["region"], "l");
        drop(store);
        // Opening again changes nothing.
        let store = RunStore::open(dir.path()).expect("reopen");
        assert_eq!(store.open_remote_runs().expect("open remote").len(), 1);
    }

    #[test]
    fn list_limits_are_clamped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RunStore::open(dir.path()).expect("open");
        let n = MAX_RUN_LIST + 5;
        for i in 0..n {
            store
                .insert_run(&new_run(&format!("r{i}"), "p"))
                .expect("insert");
        }
        let list = |limit| {
            store
                .list_runs(&RunFilter {
                    limit,
                    ..RunFilter::default()
                })
                .expect("list")
        };
        // `usize::MAX as i64` is -1, which SQLite reads as "no limit".
        assert_eq!(list(usize::MAX).len(), MAX_RUN_LIST);
        assert_eq!(list(MAX_RUN_LIST + 1).len(), MAX_RUN_LIST);
        assert_eq!(list(0).len(), DEFAULT_RUN_LIST);
        let two = list(2);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].id, format!("r{}", n - 1), "newest first");
    }

    #[test]
    fn both_stores_share_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pipelines = crate::pipelines::Store::open(dir.path()).expect("pipelines");
        let runs = RunStore::open(dir.path()).expect("runs");
        pipelines.create("p", "{}").expect("create");
        runs.insert_run(&new_run("r", "p")).expect("insert");
        assert_eq!(pipelines.count().expect("count"), 1);
        assert_eq!(
            runs.list_runs(&RunFilter::default()).expect("list").len(),
            1
        );
    }
}
