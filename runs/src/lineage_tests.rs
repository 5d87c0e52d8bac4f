//! Lineage recorded through the run store's writes, queried around runs, artifacts and
//! executions, and backfilled by the migration from schema v4.

use std::path::PathBuf;

use rusqlite::Connection;
use serde_json::{json, Value};

use super::*;
use crate::db::DB_FILE;
use crate::store::{NewRun, NewTask, RunStore, TaskUpdate};

fn new_run(id: &str, spec: &Value) -> NewRun {
    NewRun {
        id: id.into(),
        pipeline_name: "p".into(),
        pipeline_id: None,
        parameters: json!({}),
        spec: spec.to_string(),
        platform_spec: None,
        document: None,
        options: json!({}),
        root: PathBuf::from("/tmp/x"),
        rerun_of: None,
    }
}

/// A spec with `make` → `train` (a dataset) and the two components.
fn spec() -> Value {
    json!({
        "pipelineInfo": {"name": "p"},
        "schemaVersion": "2.1.0",
        "root": {"dag": {"tasks": {
            "make": {"taskInfo": {"name": "make"}, "componentRef": {"name": "comp-make"}},
            "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-train"}}
        }}},
        "components": {
            "comp-make": {"executorLabel": "exec-make"},
            "comp-train": {"executorLabel": "exec-train"}
        }
    })
}

fn artifact(uri: &str, title: &str) -> Value {
    json!({"name": "", "uri": uri, "metadata": {"rows": 3}, "type": {"schemaTitle": title}})
}

fn task(store: &RunStore, run: &str, path: &str, state: TaskState, inputs: Value, outputs: Value) {
    store
        .add_task(
            run,
            &NewTask {
                path,
                parent: None,
                name: path,
                display_name: None,
                kind: TaskKind::Container,
                state: TaskState::Pending,
                error: None,
            },
        )
        .expect("add");
    store
        .update_task(
            run,
            path,
            &TaskUpdate {
                state: Some(TaskState::Running),
                inputs: Some(inputs),
                ..TaskUpdate::default()
            },
        )
        .expect("start");
    store
        .update_task(
            run,
            path,
            &TaskUpdate {
                state: Some(state),
                outputs: (!outputs.is_null()).then_some(outputs),
                cached: Some(state == TaskState::Cached),
                cache_key: Some(format!("key-{path}")),
                ..TaskUpdate::default()
            },
        )
        .expect("end");
}

/// Run `id`: `make` writes a dataset at `uri`, `train` reads it and writes a model.
fn two_tasks(store: &RunStore, id: &str, make_state: TaskState, uri: &str) {
    store.insert_run(&new_run(id, &spec())).expect("run");
    task(
        store,
        id,
        "make",
        make_state,
        json!({"parameters": {"n": 3}}),
        json!({"parameters": {"count": 3}, "artifacts": {"data": [artifact(uri, "system.Dataset")]}}),
    );
    task(
        store,
        id,
        "train",
        TaskState::Succeeded,
        json!({"artifacts": {"data": [artifact(uri, "system.Dataset")]}}),
        json!({"artifacts": {"model": [artifact(&format!("{uri}.model-{id}"), "system.Model")]}}),
    );
}

fn query_of(store: &RunStore, start: LineageStart, depth: u32, dir: LineageDirection) -> Lineage {
    store
        .lineage(&LineageQuery {
            start,
            depth,
            direction: dir,
            max_nodes: 1000,
        })
        .expect("query")
        .expect("exists")
}

fn paths(l: &Lineage) -> Vec<(String, String, TaskState)> {
    l.executions
        .iter()
        .map(|e| (e.run_id.clone(), e.task_path.clone(), e.state))
        .collect()
}

#[test]
fn a_run_records_executions_artifacts_and_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    two_tasks(&store, "r1", TaskState::Succeeded, "/runs/r1/make/data");
    let l = query_of(
        &store,
        LineageStart::Run("r1".into()),
        1,
        LineageDirection::Both,
    );
    assert!(!l.truncated);
    assert_eq!(
        paths(&l),
        vec![
            ("r1".into(), "make".into(), TaskState::Succeeded),
            ("r1".into(), "train".into(), TaskState::Succeeded)
        ]
    );
    let make = &l.executions[0];
    assert_eq!(make.component.as_deref(), Some("comp-make"));
    assert_eq!(make.execution_type, "system.ContainerExecution");
    assert_eq!(make.pipeline_name, "p");
    assert_eq!(make.cache_key.as_deref(), Some("key-make"));
    assert_eq!(make.parameters.get("n"), Some(&json!(3)));
    assert_eq!(make.output_parameters.get("count"), Some(&json!(3)));
    let uris: Vec<_> = l.artifacts.iter().map(|a| a.uri.as_str()).collect();
    assert_eq!(uris, ["/runs/r1/make/data", "/runs/r1/make/data.model-r1"]);
    let data = &l.artifacts[0];
    assert_eq!(data.schema_title, "system.Dataset");
    assert_eq!(
        data.name, "data",
        "an unnamed artifact is named by its port"
    );
    assert_eq!(data.state, "LIVE");
    assert_eq!(data.metadata.get("rows"), Some(&json!(3)));
    let events: Vec<_> = l
        .events
        .iter()
        .map(|e| (e.execution_id, e.artifact_id, e.event_type, e.port.as_str()))
        .collect();
    let (m, t, d, model) = (make.id, l.executions[1].id, data.id, l.artifacts[1].id);
    assert_eq!(
        events,
        [
            (m, d, LineageEventType::Output, "data"),
            (t, d, LineageEventType::Input, "data"),
            (t, model, LineageEventType::Output, "model"),
        ]
    );
    // Around the dataset: its producer upstream, its consumer downstream.
    let up = query_of(
        &store,
        LineageStart::Artifact(d),
        1,
        LineageDirection::Upstream,
    );
    assert_eq!(
        paths(&up),
        [("r1".into(), "make".into(), TaskState::Succeeded)]
    );
    let down = query_of(
        &store,
        LineageStart::Artifact(d),
        2,
        LineageDirection::Downstream,
    );
    assert_eq!(
        paths(&down),
        [("r1".into(), "train".into(), TaskState::Succeeded)]
    );
    assert_eq!(
        down.artifacts.len(),
        2,
        "the dataset and the model two hops down"
    );
    // From an execution, upstream: its inputs only.
    let inputs = query_of(
        &store,
        LineageStart::Execution(t),
        1,
        LineageDirection::Upstream,
    );
    assert_eq!(inputs.artifacts.len(), 1);
    assert_eq!(inputs.artifacts[0].id, d);
    // Depth 0 is the start alone.
    let alone = query_of(&store, LineageStart::Artifact(d), 0, LineageDirection::Both);
    assert!(alone.executions.is_empty() && alone.events.is_empty());
    assert_eq!(
        store.artifact_id("/runs/r1/make/data").expect("uri"),
        Some(d)
    );
}

#[test]
fn a_cache_hit_links_to_the_artifact_the_earlier_run_produced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    two_tasks(&store, "r1", TaskState::Succeeded, "/runs/r1/make/data");
    // r2 reuses r1's dataset from the cache: its outputs carry r1's URI.
    two_tasks(&store, "r2", TaskState::Cached, "/runs/r1/make/data");
    let d = store
        .artifact_id("/runs/r1/make/data")
        .expect("uri")
        .expect("recorded");
    let around = query_of(&store, LineageStart::Artifact(d), 1, LineageDirection::Both);
    assert_eq!(
        paths(&around),
        vec![
            ("r1".into(), "make".into(), TaskState::Succeeded),
            ("r1".into(), "train".into(), TaskState::Succeeded),
            ("r2".into(), "make".into(), TaskState::Cached),
            ("r2".into(), "train".into(), TaskState::Succeeded),
        ]
    );
    // The same artifact is in both runs' graphs.
    for run in ["r1", "r2"] {
        let l = query_of(
            &store,
            LineageStart::Run(run.into()),
            1,
            LineageDirection::Both,
        );
        assert!(l.artifacts.iter().any(|a| a.id == d), "{run}");
    }
}

#[test]
fn a_failed_task_records_its_inputs_and_no_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    store.insert_run(&new_run("r", &spec())).expect("run");
    task(
        &store,
        "r",
        "train",
        TaskState::Failed,
        json!({"artifacts": {"data": [artifact("gs://b/d", "system.Dataset")]}}),
        Value::Null,
    );
    let l = query_of(
        &store,
        LineageStart::Run("r".into()),
        1,
        LineageDirection::Both,
    );
    assert_eq!(paths(&l), [("r".into(), "train".into(), TaskState::Failed)]);
    assert_eq!(l.artifacts.len(), 1);
    assert_eq!(l.artifacts[0].state, "PENDING", "seen only as an input");
    assert_eq!(l.events.len(), 1);
    assert_eq!(l.events[0].event_type, LineageEventType::Input);
}

#[test]
fn unknown_starts_are_none_and_a_running_run_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    for start in [
        LineageStart::Run("nope".into()),
        LineageStart::Artifact(7),
        LineageStart::Execution(7),
    ] {
        assert_eq!(
            store.lineage(&LineageQuery::new(start)).expect("query"),
            None
        );
    }
    store.insert_run(&new_run("r", &spec())).expect("run");
    let l = query_of(
        &store,
        LineageStart::Run("r".into()),
        1,
        LineageDirection::Both,
    );
    assert_eq!(l, Lineage::default());
}

#[test]
fn the_node_cap_truncates_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    two_tasks(&store, "r1", TaskState::Succeeded, "/runs/r1/make/data");
    let mut q = LineageQuery::new(LineageStart::Run("r1".into()));
    q.max_nodes = 3;
    let l = store.lineage(&q).expect("query").expect("exists");
    assert!(l.truncated);
    assert_eq!(l.executions.len() + l.artifacts.len(), 3);
    // Events only join nodes that are in the answer.
    for e in &l.events {
        assert!(l.artifacts.iter().any(|a| a.id == e.artifact_id));
    }
    q.max_nodes = 4;
    assert!(!store.lineage(&q).expect("query").expect("exists").truncated);
    // A cap of 0 means 1.
    q.max_nodes = 0;
    let one = store.lineage(&q).expect("query").expect("exists");
    assert_eq!(one.executions.len(), 1);
    assert!(one.truncated);
}

#[test]
fn component_of_walks_sub_dags_and_iterations() {
    let spec: PipelineSpec = serde_json::from_value(json!({
        "pipelineInfo": {"name": "p"},
        "schemaVersion": "2.1.0",
        "root": {"dag": {"tasks": {
            "for-loop-2": {"taskInfo": {"name": "for-loop-2"}, "componentRef": {"name": "comp-for-loop-2"}}
        }}},
        "components": {
            "comp-for-loop-2": {"dag": {"tasks": {
                "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-train"}}
            }}},
            "comp-train": {"executorLabel": "exec-train"}
        }
    }))
    .expect("spec");
    assert_eq!(
        component_of(&spec, "for-loop-2").as_deref(),
        Some("comp-for-loop-2")
    );
    assert_eq!(
        component_of(&spec, "for-loop-2[3]").as_deref(),
        Some("comp-for-loop-2")
    );
    assert_eq!(
        component_of(&spec, "for-loop-2[3]/train").as_deref(),
        Some("comp-train")
    );
    assert_eq!(component_of(&spec, "nope/train"), None);
}

#[test]
fn a_version_4_database_gets_the_lineage_of_its_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let c = Connection::open(dir.path().join(DB_FILE)).expect("open");
        for sql in [
            crate::db::PIPELINES_V1,
            crate::db::RUNS_V2,
            crate::db::RUNS_V3,
            crate::db::PIPELINES_V4,
            crate::db::RUNS_V4,
        ] {
            c.execute_batch(sql).expect("old schema");
        }
        let out = json!({"artifacts": {"data": [artifact("/old/data", "system.Dataset")]}});
        let inp = json!({"artifacts": {"data": [artifact("/old/data", "system.Dataset")]}});
        c.execute(
            "INSERT INTO runs (id, pipeline_name, state, created_at, parameters, spec, options,
                 root, owner_pid, seq)
             VALUES ('old', 'p', 'SUCCEEDED', '2025-01-01T00:00:00.000Z', '{}', ?1, '{}',
                 '/tmp/x', 1, 1)",
            [spec().to_string()],
        )
        .expect("run");
        for (path, state, inputs, outputs) in [
            ("make", "SUCCEEDED", None, Some(out.to_string())),
            ("train", "FAILED", Some(inp.to_string()), None),
            ("later", "PENDING", None, None),
        ] {
            c.execute(
                "INSERT INTO run_tasks (run_id, path, name, kind, state, inputs, outputs)
                 VALUES ('old', ?1, ?1, 'container', ?2, ?3, ?4)",
                rusqlite::params![path, state, inputs, outputs],
            )
            .expect("task");
        }
        c.execute_batch("PRAGMA user_version = 4;").expect("v4");
    }
    let store = RunStore::open(dir.path()).expect("migrates");
    let l = query_of(
        &store,
        LineageStart::Run("old".into()),
        1,
        LineageDirection::Both,
    );
    assert_eq!(
        paths(&l),
        vec![
            ("old".into(), "make".into(), TaskState::Succeeded),
            ("old".into(), "train".into(), TaskState::Failed),
        ],
        "ended tasks only"
    );
    assert_eq!(l.executions[0].component.as_deref(), Some("comp-make"));
    assert_eq!(l.artifacts.len(), 1);
    assert_eq!(l.artifacts[0].state, "LIVE");
    assert_eq!(l.events.len(), 2);
    assert_eq!(
        store
            .get_run("old")
            .expect("get")
            .expect("kept")
            .tasks
            .len(),
        3
    );
    drop(store);
    // Opening again records nothing twice.
    let store = RunStore::open(dir.path()).expect("reopen");
    let again = query_of(
        &store,
        LineageStart::Run("old".into()),
        1,
        LineageDirection::Both,
    );
    assert_eq!(again, l);
}

#[test]
fn interrupted_tasks_are_recorded_as_they_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    store.insert_run(&new_run("r", &spec())).expect("run");
    store
        .add_task(
            "r",
            &NewTask {
                path: "make",
                parent: None,
                name: "make",
                display_name: Some("Make"),
                kind: TaskKind::Container,
                state: TaskState::Running,
                error: None,
            },
        )
        .expect("add");
    store.mark_interrupted("r", "gone").expect("mark");
    let l = query_of(
        &store,
        LineageStart::Run("r".into()),
        1,
        LineageDirection::Both,
    );
    assert_eq!(paths(&l), [("r".into(), "make".into(), TaskState::Failed)]);
    assert_eq!(l.executions[0].name, "Make");
}

#[test]
fn dot_quotes_what_it_prints() {
    let l = Lineage {
        artifacts: vec![LineageArtifact {
            id: 1,
            uri: "/a\"b".into(),
            name: "da\"ta".into(),
            schema_title: "system.Dataset".into(),
            schema_version: None,
            metadata: Map::new(),
            state: "LIVE".into(),
            created_at: String::new(),
        }],
        executions: Vec::new(),
        events: Vec::new(),
        truncated: false,
    };
    let dot = to_dot(&l);
    assert!(dot.starts_with("digraph lineage {"));
    assert!(
        dot.contains(r#"a1 [shape=box, label="da\"ta\nsystem.Dataset", tooltip="/a\"b"];"#),
        "{dot}"
    );
}
