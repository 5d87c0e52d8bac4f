//! Saved pipelines: one SQLite file, `pipelines.db`, in the data folder.
//!
//! The store holds documents that have already been checked to be well formed; it stores their
//! canonical JSON. Every write runs in a transaction, so a failed write leaves nothing behind.
//! Calls block; the server runs them on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

/// The database file name inside the data folder.
pub const DB_FILE: &str = "pipelines.db";

/// The schema version written to `PRAGMA user_version`: 1 = saved pipelines, 2 = the local
/// engine's runs, tasks and cache ([`crate::engine::store`]), 3 = runs on remote targets
/// (target, remote job name, console link; [`crate::engine::store::SCHEMA_V3`]).
const SCHEMA_VERSION: i64 = 3;

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
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        migrate(&mut conn, &path)?;
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
            let mut stmt = c.prepare(
                "SELECT id, name, updated_at FROM pipelines ORDER BY updated_at DESC, rowid DESC",
            )?;
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
                "INSERT INTO pipelines (id, name, document, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
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
                "UPDATE pipelines SET name = ?2, document = ?3, updated_at = ?4 WHERE id = ?1",
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
    if found < SCHEMA_VERSION {
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(open_err)?;
    }
    tx.commit().map_err(open_err)
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
