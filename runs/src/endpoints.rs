//! The local model endpoints: the TorchServe servers deploy tasks started (schema v6,
//! [`crate::db::ENDPOINTS_V6`]). Each row records the server's process (pid and start time, so
//! a recycled pid is never taken for it), the engine that owns it (process and instance, so a
//! crashed owner's endpoints are found and reaped), its URLs, whether to keep it past the
//! owner's shutdown, and its state. The engine (`engine::endpoints`) starts and stops the
//! processes; this module only records them.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};

pub use api::{Endpoint, EndpointState};

use crate::db::{now, StoreError};
use crate::store::RunStore;

/// An endpoint about to start (recorded `starting`).
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Its id (`ep-<8 hex>`).
    pub id: String,
    /// The run whose task deploys it.
    pub run_id: String,
    /// That task's path.
    pub task_path: String,
    /// The model's name.
    pub model_name: String,
    /// The folder holding the MAR file.
    pub mar_folder: String,
    /// The inference URL.
    pub url: String,
    /// The management API's base URL.
    pub management_url: String,
    /// Its own folder (config, `ts.log`).
    pub folder: PathBuf,
    /// The engine process that owns it (pid, start time).
    pub owner: (u32, Option<u64>),
    /// The engine instance (within that process) that owns it.
    pub owner_instance: String,
}

/// An endpoint as recorded: what the API lists, and what only the engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    /// The listed fields.
    pub endpoint: Endpoint,
    /// The server process's start time (clock ticks since boot), when known.
    pub pid_start: Option<u64>,
    /// Its folder (config, `ts.log`).
    pub folder: PathBuf,
    /// The owning engine's process.
    pub owner_pid: u32,
    /// That process's start time.
    pub owner_start: Option<u64>,
    /// The owning engine instance.
    pub owner_instance: String,
}

const COLUMNS: &str = "id, run_id, task_path, model_name, mar_folder, url, management_url, pid,
    keep, state, created_at, stopped_at, error, pid_start, folder, owner_pid, owner_start,
    owner_instance";

fn start_of(v: Option<i64>) -> Option<u64> {
    v.and_then(|s| u64::try_from(s).ok())
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRecord> {
    let state: String = r.get(9)?;
    Ok(EndpointRecord {
        endpoint: Endpoint {
            id: r.get(0)?,
            run_id: r.get(1)?,
            task_path: r.get(2)?,
            model_name: r.get(3)?,
            mar_folder: r.get(4)?,
            url: r.get(5)?,
            management_url: r.get(6)?,
            pid: r.get(7)?,
            keep: r.get(8)?,
            state: EndpointState::parse(&state).unwrap_or(EndpointState::Failed),
            created_at: r.get(10)?,
            stopped_at: r.get(11)?,
            error: r.get(12)?,
        },
        pid_start: start_of(r.get(13)?),
        folder: PathBuf::from(r.get::<_, String>(14)?),
        owner_pid: r.get(15)?,
        owner_start: start_of(r.get(16)?),
        owner_instance: r.get(17)?,
    })
}

impl RunStore {
    /// Records a new endpoint, `starting`, with no process yet.
    pub fn insert_endpoint(&self, e: &NewEndpoint) -> Result<(), StoreError> {
        let created = now()?;
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO endpoints (id, seq, run_id, task_path, model_name, mar_folder, url,
                     management_url, folder, owner_pid, owner_start, owner_instance, state,
                     created_at)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM endpoints), ?2, ?3, ?4, ?5,
                     ?6, ?7, ?8, ?9, ?10, ?11, 'starting', ?12)",
                params![
                    e.id,
                    e.run_id,
                    e.task_path,
                    e.model_name,
                    e.mar_folder,
                    e.url,
                    e.management_url,
                    e.folder.display().to_string(),
                    e.owner.0,
                    e.owner.1.and_then(|s| i64::try_from(s).ok()),
                    e.owner_instance,
                    created,
                ],
            )?;
            Ok(())
        })
    }

    /// Records endpoint `id`'s server process (pid, start time).
    pub fn set_endpoint_process(
        &self,
        id: &str,
        pid: u32,
        start: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with_conn(|c| {
            c.execute(
                "UPDATE endpoints SET pid = ?2, pid_start = ?3 WHERE id = ?1",
                params![id, pid, start.and_then(|s| i64::try_from(s).ok())],
            )?;
            Ok(())
        })
    }

    /// Moves endpoint `id` to `state` if it is still open (starting or serving), with `error`
    /// as its note; a final state sets its stop time. `Ok(false)` when it had already ended (or
    /// does not exist), so that of two writers (the user's stop, the process's exit) the first
    /// one's state stays.
    pub fn set_endpoint_state(
        &self,
        id: &str,
        state: EndpointState,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let stopped = (!state.is_open()).then(now).transpose()?;
        self.with_conn(|c| {
            let n = c.execute(
                "UPDATE endpoints SET state = ?2, error = COALESCE(?3, error),
                     stopped_at = COALESCE(?4, stopped_at)
                 WHERE id = ?1 AND state IN ('starting', 'serving')",
                params![id, state.as_str(), error, stopped],
            )?;
            Ok(n > 0)
        })
    }

    /// Sets whether endpoint `id` is kept past its owner's shutdown; `Ok(false)` when there is
    /// no such endpoint.
    pub fn set_endpoint_keep(&self, id: &str, keep: bool) -> Result<bool, StoreError> {
        self.with_conn(|c| {
            let n = c.execute(
                "UPDATE endpoints SET keep = ?2 WHERE id = ?1",
                params![id, keep],
            )?;
            Ok(n > 0)
        })
    }

    /// Endpoint `id`, if recorded.
    pub fn get_endpoint(&self, id: &str) -> Result<Option<EndpointRecord>, StoreError> {
        self.with_conn(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM endpoints WHERE id = ?1"),
                [id],
                record,
            )
            .optional()
        })
    }

    /// Every recorded endpoint, newest first; only the open ones (starting or serving) when
    /// `open_only`.
    pub fn list_endpoints(&self, open_only: bool) -> Result<Vec<EndpointRecord>, StoreError> {
        self.with_conn(|c| {
            let filter = if open_only {
                "WHERE state IN ('starting', 'serving')"
            } else {
                ""
            };
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM endpoints {filter} ORDER BY seq DESC"
            ))?;
            let rows = stmt.query_map([], record)?;
            rows.collect()
        })
    }

    /// The open endpoints (starting or serving) deployed by run `run_id`.
    pub fn run_endpoints(&self, run_id: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM endpoints
                 WHERE run_id = ?1 AND state IN ('starting', 'serving') ORDER BY seq"
            ))?;
            let rows = stmt.query_map([run_id], record)?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DB_FILE, SCHEMA_VERSION};
    use rusqlite::Connection;

    fn new_endpoint(id: &str, run: &str) -> NewEndpoint {
        NewEndpoint {
            id: id.into(),
            run_id: run.into(),
            task_path: "condition-1/deploy".into(),
            model_name: "m".into(),
            mar_folder: "/tmp/mar".into(),
            url: "http://127.0.0.1:1/predictions/m".into(),
            management_url: "http://127.0.0.1:2".into(),
            folder: PathBuf::from("/tmp/ep"),
            owner: (10, Some(20)),
            owner_instance: "i".into(),
        }
    }

    #[test]
    fn endpoints_are_recorded_listed_and_ended_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RunStore::open(dir.path()).expect("open");
        store
            .insert_endpoint(&new_endpoint("ep-1", "r1"))
            .expect("insert 1");
        store
            .insert_endpoint(&new_endpoint("ep-2", "r2"))
            .expect("insert 2");
        store
            .set_endpoint_process("ep-1", 42, Some(7))
            .expect("process");
        let one = store.get_endpoint("ep-1").expect("get").expect("row");
        assert_eq!(one.endpoint.state, EndpointState::Starting);
        assert_eq!(one.endpoint.pid, Some(42));
        assert_eq!(one.pid_start, Some(7));
        assert_eq!((one.owner_pid, one.owner_start), (10, Some(20)));
        assert_eq!(one.folder, PathBuf::from("/tmp/ep"));
        assert!(!one.endpoint.keep);

        let ids = |rows: Vec<EndpointRecord>| -> Vec<String> {
            rows.into_iter().map(|r| r.endpoint.id).collect()
        };
        assert_eq!(
            ids(store.list_endpoints(false).expect("list")),
            ["ep-2", "ep-1"]
        );

        assert!(store
            .set_endpoint_state("ep-1", EndpointState::Serving, None)
            .expect("serving"));
        assert!(store.set_endpoint_keep("ep-1", true).expect("keep"));
        assert!(!store.set_endpoint_keep("nope", true).expect("keep unknown"));
        assert!(store
            .set_endpoint_state("ep-1", EndpointState::Stopped, Some("stopped by the user"))
            .expect("stop"));
        // The first final state stays.
        assert!(!store
            .set_endpoint_state("ep-1", EndpointState::Failed, Some("exited"))
            .expect("late failure"));
        let one = store.get_endpoint("ep-1").expect("get").expect("row");
        assert_eq!(one.endpoint.state, EndpointState::Stopped);
        assert_eq!(one.endpoint.error.as_deref(), Some("stopped by the user"));
        assert!(one.endpoint.stopped_at.is_some());
        assert!(one.endpoint.keep);

        assert_eq!(ids(store.list_endpoints(true).expect("open")), ["ep-2"]);
        assert_eq!(ids(store.run_endpoints("r2").expect("run")), ["ep-2"]);
        assert!(store.run_endpoints("r1").expect("run").is_empty());
        assert!(store.get_endpoint("nope").expect("get").is_none());
    }

    #[test]
    fn a_version_5_database_gains_the_endpoints_table() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let c = Connection::open(dir.path().join(DB_FILE)).expect("open");
            c.execute_batch(crate::db::PIPELINES_V1).expect("v1");
            c.execute_batch(crate::db::RUNS_V2).expect("v2");
            c.execute_batch(crate::db::RUNS_V3).expect("v3");
            c.execute_batch(crate::db::PIPELINES_V4)
                .expect("v4 pipelines");
            c.execute_batch(crate::db::RUNS_V4).expect("v4 runs");
            c.execute_batch(crate::db::LINEAGE_V5).expect("v5");
            c.execute_batch("PRAGMA user_version = 5;")
                .expect("version");
        }
        let store = RunStore::open(dir.path()).expect("migrates");
        assert!(store.list_endpoints(false).expect("list").is_empty());
        store
            .insert_endpoint(&new_endpoint("ep-1", "r"))
            .expect("insert");
        drop(store);
        let c = Connection::open(dir.path().join(DB_FILE)).expect("open");
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
    }
}
