//! The database: one SQLite file, `pipelines.db`, in the data folder, holding the saved
//! pipelines ([`crate::pipelines`]), the runs, their tasks and the task cache
//! ([`crate::store`]), their lineage ([`crate::lineage`]) and the local model endpoints
//! ([`crate::endpoints`]). This module is the one owner of its schema: every table, every
//! migration, and the opening of every connection ([`open_database`]).
//!
//! The data folder is private to its user: created with mode 0700 (an existing folder that
//! group or others can open is tightened, with a warning), and the database with its WAL files
//! 0600.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};

/// The database file name inside the data folder.
pub const DB_FILE: &str = "pipelines.db";

/// The schema version written to `PRAGMA user_version`: 1 = saved pipelines, 2 = the local
/// engine's runs, tasks and cache, 3 = runs on remote targets (target, remote job name,
/// console link), 4 = list order by a sequence number instead of the clock, 5 = lineage
/// (artifacts, executions, events, contexts; [`crate::lineage`]), 6 = local model endpoints
/// ([`crate::endpoints`]) and the local backing each task ran with, 7 = lineage artifacts
/// indexed by schema title (the runs table's metrics, [`crate::table`]).
pub const SCHEMA_VERSION: i64 = 7;

/// Schema version 4 of the pipelines table: `seq`, the save sequence the list is ordered by
/// (existing rows numbered in their old order: `updated_at`, then `rowid`).
pub(crate) const PIPELINES_V4: &str = "
ALTER TABLE pipelines ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE pipelines SET seq = o.n
    FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (ORDER BY updated_at, rowid) AS n
          FROM pipelines) AS o
    WHERE pipelines.rowid = o.rid;
CREATE INDEX IF NOT EXISTS pipelines_by_seq ON pipelines (seq);
";

/// The file mode of the data folder: its user only.
const DIR_MODE: u32 = 0o700;

/// The file mode of the database and its WAL files: its user only.
const DB_MODE: u32 = 0o600;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data folder could not be created.
    #[error("cannot create the data folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or set up.
    #[error("cannot open the pipeline database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of Pipeline Canvas.
    #[error("the pipeline database {path} has schema version {found}; this build reads up to {SCHEMA_VERSION}")]
    Schema {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The data folder or the database file could not be made private.
    #[error("cannot make {path} private to its user: {source}")]
    Permissions {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another thread panicked while holding the connection.
    #[error("the database connection is unusable after an earlier failure")]
    Poisoned,
    /// The clock could not be formatted (never expected).
    #[error("cannot format the current time: {0}")]
    Time(#[from] time::error::Format),
}

/// Schema version 1: saved pipelines.
pub(crate) const PIPELINES_V1: &str = "
CREATE TABLE IF NOT EXISTS pipelines (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
";

/// The tables of schema version 2 (the local engine).
pub(crate) const RUNS_V2: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY NOT NULL,
    pipeline_name TEXT NOT NULL,
    pipeline_id   TEXT,
    state         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    ended_at      TEXT,
    parameters    TEXT NOT NULL,
    spec          TEXT NOT NULL,
    platform_spec TEXT,
    document      TEXT,
    options       TEXT NOT NULL,
    outputs       TEXT,
    error         TEXT,
    root          TEXT NOT NULL,
    rerun_of      TEXT,
    owner_pid     INTEGER NOT NULL,
    owner_start   INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (created_at);
CREATE TABLE IF NOT EXISTS run_tasks (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    parent       TEXT,
    name         TEXT NOT NULL,
    display_name TEXT,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    started_at   TEXT,
    ended_at     TEXT,
    inputs       TEXT,
    outputs      TEXT,
    error        TEXT,
    cached       INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    log_path     TEXT,
    note         TEXT,
    cache_key    TEXT,
    pid          INTEGER,
    pid_start    INTEGER,
    PRIMARY KEY (run_id, path)
);
CREATE TABLE IF NOT EXISTS task_cache (
    key        TEXT PRIMARY KEY NOT NULL,
    outputs    TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    task_path  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
";

/// Schema version 3: runs on remote targets (Vertex AI Pipelines, Kubeflow Pipelines). Added
/// columns, so existing databases keep their rows; local runs leave them NULL.
pub(crate) const RUNS_V3: &str = "
ALTER TABLE runs ADD COLUMN target TEXT;
ALTER TABLE runs ADD COLUMN remote_name TEXT;
ALTER TABLE runs ADD COLUMN console_link TEXT;
ALTER TABLE runs ADD COLUMN remote TEXT;
";

/// Schema version 4 of the runs table: `seq`, the insertion sequence the run list is ordered
/// by (existing rows numbered in their old order: `created_at`, then `rowid`).
pub(crate) const RUNS_V4: &str = "
ALTER TABLE runs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET seq = o.n
    FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (ORDER BY created_at, rowid) AS n
          FROM runs) AS o
    WHERE runs.rowid = o.rid;
CREATE INDEX IF NOT EXISTS runs_by_seq ON runs (seq);
";

/// Schema version 6: what stood in, on the local engine, for a cloud component (a task's
/// local backing, e.g. `local: TorchServe on 127.0.0.1`). An added column: NULL for tasks that
/// ran as written.
pub(crate) const TASKS_V6: &str = "
ALTER TABLE run_tasks ADD COLUMN backing TEXT;
";

/// Schema version 5: lineage in the shape of ML Metadata ([`crate::lineage`]). New tables, so
/// existing databases keep their rows; the migration records the lineage of the runs already
/// stored ([`crate::lineage::backfill`]). An artifact is its URI (unique); an execution is one
/// task of one run (unique), in its run's context (`system.PipelineRun`, inside the pipeline's
/// `system.Pipeline` context); events are looked up by execution (their key) and by artifact
/// (an index).
pub(crate) const LINEAGE_V5: &str = "
CREATE TABLE IF NOT EXISTS lineage_contexts (
    id     INTEGER PRIMARY KEY,
    type   TEXT NOT NULL,
    name   TEXT NOT NULL,
    parent INTEGER REFERENCES lineage_contexts (id),
    UNIQUE (type, name)
);
CREATE TABLE IF NOT EXISTS lineage_artifacts (
    id             INTEGER PRIMARY KEY,
    uri            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    schema_title   TEXT NOT NULL,
    schema_version TEXT,
    metadata       TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lineage_executions (
    id                INTEGER PRIMARY KEY,
    context_id        INTEGER NOT NULL REFERENCES lineage_contexts (id),
    run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task_path         TEXT NOT NULL,
    name              TEXT NOT NULL,
    component         TEXT,
    type              TEXT NOT NULL,
    state             TEXT NOT NULL,
    started_at        TEXT,
    ended_at          TEXT,
    cache_key         TEXT,
    parameters        TEXT NOT NULL,
    output_parameters TEXT NOT NULL,
    UNIQUE (run_id, task_path)
);
CREATE TABLE IF NOT EXISTS lineage_events (
    execution_id INTEGER NOT NULL REFERENCES lineage_executions (id) ON DELETE CASCADE,
    artifact_id  INTEGER NOT NULL REFERENCES lineage_artifacts (id),
    type         TEXT NOT NULL,
    port         TEXT NOT NULL,
    idx          INTEGER NOT NULL,
    PRIMARY KEY (execution_id, type, port, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lineage_events_by_artifact ON lineage_events (artifact_id, type);
";

/// Schema version 6: the local model endpoints (TorchServe servers a deploy task started,
/// [`crate::endpoints`]). A new table, so existing databases keep their rows. The server
/// process is recorded as its pid and start time (a recycled pid is never taken for it), the
/// engine that owns it as its process and instance (a crashed owner's endpoints are reaped at
/// the next start); `seq` orders the list.
pub(crate) const ENDPOINTS_V6: &str = "
CREATE TABLE IF NOT EXISTS endpoints (
    id             TEXT PRIMARY KEY NOT NULL,
    seq            INTEGER NOT NULL,
    run_id         TEXT NOT NULL,
    task_path      TEXT NOT NULL,
    model_name     TEXT NOT NULL,
    mar_folder     TEXT NOT NULL,
    url            TEXT NOT NULL,
    management_url TEXT NOT NULL,
    folder         TEXT NOT NULL,
    pid            INTEGER,
    pid_start      INTEGER,
    owner_pid      INTEGER NOT NULL,
    owner_start    INTEGER,
    owner_instance TEXT NOT NULL,
    keep           INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    stopped_at     TEXT,
    error          TEXT
);
CREATE INDEX IF NOT EXISTS endpoints_by_run ON endpoints (run_id);
CREATE INDEX IF NOT EXISTS endpoints_by_seq ON endpoints (seq);
";

/// Schema version 7: lineage artifacts found by schema title, so the runs table reads the
/// `system.Metrics` artifacts ([`crate::table`]) without scanning every event.
pub(crate) const LINEAGE_V7: &str = "
CREATE INDEX IF NOT EXISTS lineage_artifacts_by_schema ON lineage_artifacts (schema_title);
";

/// Brings the database at `path` to [`SCHEMA_VERSION`], one version at a time, each step in a
/// transaction; refuses a database written by a newer build. Every connection to the database
/// (the pipelines store and the engine's run store) opens through here.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_err)?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::Schema {
            path: path.to_path_buf(),
            found,
        });
    }
    if found < 1 {
        tx.execute_batch(PIPELINES_V1).map_err(open_err)?;
    }
    if found < 2 {
        tx.execute_batch(RUNS_V2).map_err(open_err)?;
    }
    if found < 3 {
        tx.execute_batch(RUNS_V3).map_err(open_err)?;
    }
    if found < 4 {
        tx.execute_batch(PIPELINES_V4).map_err(open_err)?;
        tx.execute_batch(RUNS_V4).map_err(open_err)?;
    }
    if found < 5 {
        tx.execute_batch(LINEAGE_V5).map_err(open_err)?;
        crate::lineage::backfill(&tx).map_err(open_err)?;
    }
    if found < 6 {
        tx.execute_batch(ENDPOINTS_V6).map_err(open_err)?;
        tx.execute_batch(TASKS_V6).map_err(open_err)?;
    }
    if found < 7 {
        tx.execute_batch(LINEAGE_V7).map_err(open_err)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(open_err)?;
    }
    tx.commit().map_err(open_err)
}

/// Opens `pipelines.db` in `data_dir` for either store: makes the folder private
/// ([`secure_data_dir`]), creates the database file 0600 (tightening an existing one), and
/// migrates it ([`migrate`]).
pub(crate) fn open_database(data_dir: &Path) -> Result<(Connection, PathBuf), StoreError> {
    secure_data_dir(data_dir)?;
    let path = data_dir.join(DB_FILE);
    let open_err = |source| StoreError::Open {
        path: path.clone(),
        source,
    };
    let file_err = |file: &Path, source| StoreError::Permissions {
        path: file.to_path_buf(),
        source,
    };
    private_file(&path, true).map_err(|e| file_err(&path, e))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        private_file(&side, false).map_err(|e| file_err(&side, e))?;
    }
    let mut conn = Connection::open(&path).map_err(open_err)?;
    migrate(&mut conn, &path)?;
    Ok((conn, path))
}

/// Creates the data folder with mode 0700 (its parents as the umask says), or tightens an
/// existing one that its group or others can open, with a warning.
pub fn secure_data_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    let create_err = |source| StoreError::CreateDir {
        path: dir.to_path_buf(),
        source,
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(create_err)?;
    }
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(create_err(e)),
    }
    let mode = std::fs::metadata(dir)
        .map_err(create_err)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            folder = %dir.display(),
            mode = format!("{:o}", mode & 0o777),
            "the data folder was open to other users; making it private (mode 700)"
        );
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)).map_err(
            |source| StoreError::Permissions {
                path: dir.to_path_buf(),
                source,
            },
        )?;
    }
    Ok(())
}

/// Makes `path` a file only its user can read: created empty with mode 0600 when `create` is
/// set and it does not exist, tightened (with a warning) when it exists with a looser mode.
fn private_file(path: &Path, create: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %path.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the database was readable by other users; making it private (mode 600)"
                );
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(DB_MODE))?;
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(DB_MODE)
                .open(path)
            {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The current time as fixed-width RFC 3339 in UTC (`2025-01-31T12:00:00.123Z`), so that text
/// order is time order.
pub fn now() -> Result<String, StoreError> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    Ok(time::OffsetDateTime::now_utc().format(&format)?)
}
