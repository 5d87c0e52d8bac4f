//! Saved pipelines: one SQLite file, `pipelines.db`, in the data folder.
//!
//! The store holds documents that have already been checked to be well formed; it stores their
//! canonical JSON. Every write runs in a transaction, so a failed write leaves nothing behind.
//! Calls block; the server runs them on tokio's blocking pool.
//!
//! The data folder is private to its user: created with mode 0700 (an existing folder that
//! group or others can open is tightened, with a warning), and the database with its WAL files
//! 0600. The pipeline list is ordered by a sequence number that every save increments, never by
//! the clock (two saves in the same millisecond, or a clock set back, keep their order).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

/// The database file name inside the data folder.
pub const DB_FILE: &str = "pipelines.db";

/// The schema version written to `PRAGMA user_version`: 1 = saved pipelines, 2 = the local
/// engine's runs, tasks and cache ([`crate::engine::store`]), 3 = runs on remote targets
/// (target, remote job name, console link; [`crate::engine::store::SCHEMA_V3`]), 4 = list
/// order by a sequence number instead of the clock ([`SCHEMA_V4`],
/// [`crate::engine::store::SCHEMA_V4`]).
pub const SCHEMA_VERSION: i64 = 4;

/// Schema version 4 of the pipelines table: `seq`, the save sequence the list is ordered by
/// (existing rows numbered in their old order: `updated_at`, then `rowid`).
pub const SCHEMA_V4: &str = "
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

/// One row of the pipeline list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSummary {
    /// The pipeline's id.
    pub id: String,
    /// The document's `name`.
    pub name: String,
    /// When it was last saved, RFC 3339 in UTC with milliseconds.
    pub updated_at: String,
}

/// The pipeline store. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) `pipelines.db` in `data_dir`, creating the folder too.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let (conn, path) = open_database(data_dir)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut conn)
    }

    /// Every saved pipeline, most recently saved first.
    pub fn list(&self) -> Result<Vec<PipelineSummary>, StoreError> {
        self.with_conn(|c| {
            let mut stmt =
                c.prepare("SELECT id, name, updated_at FROM pipelines ORDER BY seq DESC")?;
            let rows = stmt.query_map([], |r| {
                Ok(PipelineSummary {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    updated_at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The stored document JSON of pipeline `id`.
    pub fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.with_conn(|c| {
            Ok(
                c.query_row("SELECT document FROM pipelines WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    /// Saves a new pipeline and returns its fresh id.
    pub fn create(&self, name: &str, document: &str) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now()?;
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO pipelines (id, name, document, created_at, updated_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM pipelines))",
                params![id, name, document, now],
            )?;
            tx.commit()?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Replaces pipeline `id`. Returns `false` (and changes nothing) when there is no such id.
    pub fn update(&self, id: &str, name: &str, document: &str) -> Result<bool, StoreError> {
        let now = now()?;
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx.execute(
                "UPDATE pipelines SET name = ?2, document = ?3, updated_at = ?4,
                     seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM pipelines)
                 WHERE id = ?1",
                params![id, name, document, now],
            )?;
            tx.commit()?;
            Ok(changed == 1)
        })
    }

    /// Deletes pipeline `id`. Returns `false` when there is no such id.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx.execute("DELETE FROM pipelines WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(changed == 1)
        })
    }

    /// How many pipelines are stored.
    pub fn count(&self) -> Result<usize, StoreError> {
        self.with_conn(|c| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM pipelines", [], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}

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
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS pipelines (
                 id         TEXT PRIMARY KEY NOT NULL,
                 name       TEXT NOT NULL,
                 document   TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 updated_at TEXT NOT NULL
             );",
        )
        .map_err(open_err)?;
    }
    if found < 2 {
        tx.execute_batch(crate::engine::store::SCHEMA_V2)
            .map_err(open_err)?;
    }
    if found < 3 {
        tx.execute_batch(crate::engine::store::SCHEMA_V3)
            .map_err(open_err)?;
    }
    if found < 4 {
        tx.execute_batch(SCHEMA_V4).map_err(open_err)?;
        tx.execute_batch(crate::engine::store::SCHEMA_V4)
            .map_err(open_err)?;
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
pub(crate) fn now() -> Result<String, StoreError> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    Ok(time::OffsetDateTime::now_utc().format(&format)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("nested/data")).expect("open");
        assert!(store.list().expect("list").is_empty());
        let a = store.create("a", "{\"a\":1}").expect("create a");
        let b = store.create("b", "{\"b\":1}").expect("create b");
        assert_ne!(a, b);
        let names: Vec<_> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["b", "a"]);
        assert!(store.update(&a, "a2", "{\"a\":2}").expect("update"));
        let list = store.list().expect("list");
        assert_eq!(list[0].name, "a2");
        assert_eq!(list[0].updated_at.len(), "2025-01-31T12:00:00.123Z".len());
        assert_eq!(store.get(&a).expect("get").as_deref(), Some("{\"a\":2}"));
        assert!(!store.update("nope", "x", "{}").expect("update missing"));
        assert!(store.delete(&b).expect("delete"));
        assert!(!store.delete(&b).expect("delete again"));
        assert_eq!(store.count().expect("count"), 1);
        drop(store);
        // Reopening keeps the data.
        let store = Store::open(&dir.path().join("nested/data")).expect("reopen");
        assert_eq!(store.count().expect("count"), 1);
    }

    #[test]
    fn order_follows_saves_not_the_clock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let a = store.create("a", "{}").expect("create a");
        let b = store.create("b", "{}").expect("create b");
        // The same millisecond everywhere, and b's clock ahead: order is still save order.
        store
            .with_conn(|c| {
                c.execute(
                    "UPDATE pipelines SET updated_at = '2025-01-01T00:00:00.000Z'",
                    [],
                )?;
                c.execute(
                    "UPDATE pipelines SET updated_at = '2030-01-01T00:00:00.000Z' WHERE id = ?1",
                    [&b],
                )?;
                Ok(())
            })
            .expect("set clocks");
        assert!(store.update(&a, "a2", "{}").expect("update"));
        let names: Vec<_> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a2", "b"]);
        let c = store.create("c", "{}").expect("create c");
        assert_eq!(store.list().expect("list")[0].id, c);
    }

    #[test]
    fn a_version_3_database_is_numbered_in_its_old_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let c = Connection::open(dir.path().join(DB_FILE)).expect("open");
            c.execute_batch(
                "CREATE TABLE pipelines (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                     document TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
            )
            .expect("v1");
            c.execute_batch(crate::engine::store::SCHEMA_V2)
                .expect("v2");
            c.execute_batch(crate::engine::store::SCHEMA_V3)
                .expect("v3");
            c.execute_batch(
                "INSERT INTO pipelines VALUES
                     ('p1', 'one', '{}', '2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z'),
                     ('p2', 'two', '{}', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'),
                     ('p3', 'three', '{}', '2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z');
                 INSERT INTO runs (id, pipeline_name, state, created_at, parameters, spec, options,
                     root, owner_pid)
                 VALUES ('r1', 'p', 'SUCCEEDED', '2025-01-02T00:00:00.000Z', '{}', '{}', '{}', '/x', 1),
                        ('r2', 'p', 'SUCCEEDED', '2025-01-01T00:00:00.000Z', '{}', '{}', '{}', '/x', 1);
                 PRAGMA user_version = 3;",
            )
            .expect("old rows");
        }
        let store = Store::open(dir.path()).expect("migrates");
        let ids = |store: &Store| -> Vec<String> {
            store
                .list()
                .expect("list")
                .into_iter()
                .map(|s| s.id)
                .collect()
        };
        assert_eq!(ids(&store), ["p3", "p1", "p2"]);
        assert!(store.update("p2", "two", "{}").expect("update"));
        assert_eq!(ids(&store), ["p2", "p3", "p1"]);
        let version: i64 = store
            .with_conn(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);

        let runs = crate::engine::RunStore::open(dir.path()).expect("runs");
        let list = |runs: &crate::engine::RunStore| -> Vec<String> {
            runs.list_runs(&crate::engine::RunFilter::default())
                .expect("list")
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(list(&runs), ["r1", "r2"]);
        runs.insert_run(&crate::engine::store::NewRun {
            id: "r3".into(),
            pipeline_name: "p".into(),
            pipeline_id: None,
            parameters: serde_json::json!({}),
            spec: "{}".into(),
            platform_spec: None,
            document: None,
            options: serde_json::json!({}),
            root: PathBuf::from("/x"),
            rerun_of: None,
        })
        .expect("insert");
        assert_eq!(list(&runs), ["r3", "r1", "r2"]);
        drop(store);
        // Opening again changes nothing.
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(ids(&store), ["p2", "p3", "p1"]);
    }

    #[test]
    fn the_data_folder_and_database_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("fresh/data");
        let store = Store::open(&data).expect("open");
        store.create("a", "{}").expect("create");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(DB_FILE)), 0o600);
        drop(store);

        // An existing folder and database open to others are tightened.
        let old = dir.path().join("old");
        std::fs::create_dir(&old).expect("mkdir");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        drop(Store::open(&old).expect("open"));
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        std::fs::set_permissions(old.join(DB_FILE), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let runs = crate::engine::RunStore::open(&old).expect("open runs");
        assert_eq!(mode(&old), 0o700);
        assert_eq!(mode(&old.join(DB_FILE)), 0o600);
        // WAL files follow the database's mode.
        let wal = PathBuf::from(format!("{}-wal", old.join(DB_FILE).display()));
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
        drop(runs);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let c = Connection::open(dir.path().join(DB_FILE)).expect("open");
            c.execute_batch("PRAGMA user_version = 7;").expect("pragma");
        }
        let err = Store::open(dir.path()).expect_err("newer schema");
        assert!(matches!(err, StoreError::Schema { found: 7, .. }), "{err}");
    }
}
