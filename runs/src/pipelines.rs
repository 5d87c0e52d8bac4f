//! Saved pipelines, in the data folder's database ([`crate::db`]).
//!
//! The store holds documents that have already been checked to be well formed; it stores their
//! canonical JSON. Every write runs in a transaction, so a failed write leaves nothing behind.
//! Calls block; the server runs them on tokio's blocking pool.
//!
//! The pipeline list is ordered by a sequence number that every save increments, never by
//! the clock (two saves in the same millisecond, or a clock set back, keep their order).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub use api::SavedPipeline as PipelineSummary;

use crate::db::{now, open_database, StoreError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DB_FILE, SCHEMA_VERSION};

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
            c.execute_batch(crate::db::RUNS_V2).expect("v2");
            c.execute_batch(crate::db::RUNS_V3).expect("v3");
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

        let runs = crate::store::RunStore::open(dir.path()).expect("runs");
        let list = |runs: &crate::store::RunStore| -> Vec<String> {
            runs.list_runs(&crate::store::RunFilter::default())
                .expect("list")
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(list(&runs), ["r1", "r2"]);
        runs.insert_run(&crate::store::NewRun {
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
        let runs = crate::store::RunStore::open(&old).expect("open runs");
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
            c.execute_batch(&format!("PRAGMA user_version = {};", SCHEMA_VERSION + 1))
                .expect("pragma");
        }
        let err = Store::open(dir.path()).expect_err("newer schema");
        assert!(
            matches!(err, StoreError::Schema { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
    }
}
