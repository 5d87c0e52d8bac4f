//! The runs table on a real database: runs recorded through the store's writes (their
//! parameters, tasks and metrics artifacts, a cached re-run), then read back filtered, sorted
//! and cut.

use std::path::PathBuf;

use api::{TaskKind, TaskState};
use serde_json::{json, Value};

use super::*;
use crate::store::{NewRun, NewTask, TaskUpdate};

fn insert(store: &RunStore, id: &str, pipeline: &str, parameters: Value) {
    store
        .insert_run(&NewRun {
            id: id.into(),
            pipeline_name: pipeline.into(),
            pipeline_id: None,
            parameters,
            spec: "{}".into(),
            platform_spec: None,
            document: None,
            options: json!({}),
            root: PathBuf::from("/tmp/x"),
            rerun_of: None,
        })
        .expect("insert run");
}

/// Task `path` (named `name`) of `run` ends in `state` with one output artifact per
/// `(port, uri, schema title, metadata)`.
fn task(
    store: &RunStore,
    run: &str,
    path: &str,
    name: &str,
    state: TaskState,
    outputs: &[(&str, &str, &str, Value)],
) {
    store
        .add_task(
            run,
            &NewTask {
                path,
                parent: None,
                name,
                display_name: None,
                kind: TaskKind::Container,
                state: TaskState::Pending,
                error: None,
            },
        )
        .expect("add task");
    let mut artifacts = serde_json::Map::new();
    for (port, uri, title, metadata) in outputs {
        artifacts.insert(
            (*port).to_string(),
            json!([{"name": port, "uri": uri, "metadata": metadata,
                    "type": {"schemaTitle": title}}]),
        );
    }
    store
        .update_task(
            run,
            path,
            &TaskUpdate {
                state: Some(state),
                outputs: Some(json!({"artifacts": artifacts})),
                ..TaskUpdate::default()
            },
        )
        .expect("end task");
}

fn end(store: &RunStore, run: &str, state: RunState) {
    store
        .set_run_state(run, RunState::Running, true, false, None, None)
        .expect("start");
    store
        .set_run_state(run, state, false, true, None, None)
        .expect("end");
}

/// A store with five runs, oldest first:
/// - `a` (train, lr 0.1): `train` logs accuracy 0.9 and loss 0.5 (and a text, not a metric);
/// - `b` (train, lr 0.01): `train` and `eval` both log accuracy, `eval` also f1;
/// - `c` (train, lr 0.2): two loop iterations of `train` log accuracy;
/// - `d` (train, lr 0.1): `train` cached from `a` (the same metrics artifact);
/// - `e` (other, a text parameter with a comma and quotes), still pending.
fn store() -> (tempfile::TempDir, RunStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    let metrics = "system.Metrics";
    insert(&store, "a", "train", json!({"lr": 0.1, "epochs": 3}));
    task(
        &store,
        "a",
        "train",
        "train",
        TaskState::Succeeded,
        &[
            (
                "metrics",
                "/r/a/metrics",
                metrics,
                json!({"accuracy": 0.9, "loss": 0.5, "note": "x"}),
            ),
            (
                "model",
                "/r/a/model",
                "system.Model",
                json!({"accuracy": 1}),
            ),
        ],
    );
    end(&store, "a", RunState::Succeeded);
    insert(&store, "b", "train", json!({"lr": 0.01, "epochs": 3}));
    task(
        &store,
        "b",
        "train",
        "train",
        TaskState::Succeeded,
        &[("metrics", "/r/b/train", metrics, json!({"accuracy": 0.7}))],
    );
    task(
        &store,
        "b",
        "eval",
        "eval",
        TaskState::Succeeded,
        &[(
            "metrics",
            "/r/b/eval",
            metrics,
            json!({"accuracy": 0.6, "f1": 0.6543}),
        )],
    );
    store
        .set_run_state("b", RunState::Running, true, false, None, None)
        .expect("start");
    store
        .set_run_state("b", RunState::Failed, false, true, Some("it broke"), None)
        .expect("end");
    insert(&store, "c", "train", json!({"lr": 0.2}));
    for i in 0..2 {
        task(
            &store,
            "c",
            &format!("for-loop-1[{i}]/train"),
            "train",
            TaskState::Succeeded,
            &[(
                "metrics",
                &format!("/r/c/{i}"),
                metrics,
                json!({"accuracy": 0.8 + f64::from(i) / 10.0}),
            )],
        );
    }
    end(&store, "c", RunState::Succeeded);
    insert(&store, "d", "train", json!({"lr": 0.1, "epochs": 3}));
    task(
        &store,
        "d",
        "train",
        "train",
        TaskState::Cached,
        &[(
            "metrics",
            "/r/a/metrics",
            metrics,
            json!({"accuracy": 0.9, "loss": 0.5, "note": "x"}),
        )],
    );
    end(&store, "d", RunState::Succeeded);
    insert(&store, "e", "other", json!({"label": "a, \"b\""}));
    (dir, store)
}

/// The table as lines of `run: column=value` for the columns other than the times (which
/// depend on the clock), missing values left out.
fn lines(t: &RunTable) -> Vec<String> {
    t.rows
        .iter()
        .map(|r| {
            let cells: Vec<String> = t
                .columns
                .iter()
                .zip(&r.cells)
                .filter(|(c, v)| {
                    !v.is_null() && !["start_time", "duration", "run_name"].contains(&c.as_str())
                })
                .map(|(c, v)| format!("{c}={}", cell_text(v)))
                .collect();
            format!("{}: {}", r.id, cells.join(" "))
        })
        .collect()
}

fn table(store: &RunStore, q: TableQuery) -> RunTable {
    store.run_table(&q).expect("table")
}

#[test]
fn the_table_has_params_and_metrics_named_by_the_rule() {
    let (_dir, store) = store();
    let t = table(&store, TableQuery::default());
    assert_eq!(
        t.columns,
        [
            "pipeline_name",
            "run_name",
            "state",
            "target",
            "start_time",
            "duration",
            "param.epochs",
            "param.label",
            "param.lr",
            "metric.accuracy",
            "metric.eval.accuracy",
            "metric.f1",
            "metric.for-loop-1[0]/train.accuracy",
            "metric.for-loop-1[1]/train.accuracy",
            "metric.loss",
            "metric.train.accuracy",
        ]
    );
    assert_eq!(
        lines(&t),
        [
            "e: pipeline_name=other state=PENDING target=local param.label=a, \"b\"",
            "d: pipeline_name=train state=SUCCEEDED target=local param.epochs=3 param.lr=0.1 \
             metric.accuracy=0.9 metric.loss=0.5",
            "c: pipeline_name=train state=SUCCEEDED target=local param.lr=0.2 \
             metric.for-loop-1[0]/train.accuracy=0.8 metric.for-loop-1[1]/train.accuracy=0.9",
            "b: pipeline_name=train state=FAILED target=local param.epochs=3 param.lr=0.01 \
             metric.eval.accuracy=0.6 metric.f1=0.6543 metric.train.accuracy=0.7",
            "a: pipeline_name=train state=SUCCEEDED target=local param.epochs=3 param.lr=0.1 \
             metric.accuracy=0.9 metric.loss=0.5",
        ]
    );
    assert_eq!(t.total, 5);
    // The run's name is its id; a pending run has its submission time and no duration.
    let e = &t.rows[0];
    assert_eq!(e.cells[1], "e");
    assert!(
        e.cells[4].as_str().is_some_and(|s| s.ends_with('Z')),
        "{e:?}"
    );
    assert_eq!(e.cells[5], Value::Null);
    let a = &t.rows[4];
    assert!(a.cells[5].as_f64().is_some_and(|d| d >= 0.0), "{a:?}");
    // A failed run's error comes with its row.
    assert_eq!(t.rows[3].error.as_deref(), Some("it broke"));
    assert_eq!(a.error, None);
}

#[test]
fn sorting_puts_missing_values_last_either_way() {
    let (_dir, store) = store();
    let order = |sort: &str, descending: bool| -> Vec<String> {
        table(
            &store,
            TableQuery {
                sort: Some(sort.into()),
                descending,
                ..TableQuery::default()
            },
        )
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect()
    };
    // Ties keep newest first.
    assert_eq!(order("param.lr", false), ["b", "d", "a", "c", "e"]);
    assert_eq!(order("param.lr", true), ["c", "d", "a", "b", "e"]);
    assert_eq!(order("metric.accuracy", true), ["d", "a", "e", "c", "b"]);
    assert_eq!(order("metric.f1", false), ["b", "e", "d", "c", "a"]);
    assert_eq!(order("state", false), ["b", "e", "d", "c", "a"]);
    assert_eq!(order("run_name", true), ["e", "d", "c", "b", "a"]);
    assert_eq!(order("pipeline_name", true), ["d", "c", "b", "a", "e"]);
    // Start times are text in time order.
    let t = table(
        &store,
        TableQuery {
            sort: Some("start_time".into()),
            ..TableQuery::default()
        },
    );
    let times: Vec<&str> = t.rows.iter().filter_map(|r| r.cells[4].as_str()).collect();
    assert_eq!(times.len(), 5);
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // A column no matching run has sorts nothing.
    assert_eq!(order("metric.nope", false), ["e", "d", "c", "b", "a"]);
}

#[test]
fn filters_and_the_limit_cut_rows_and_columns() {
    let (_dir, store) = store();
    let ids = |t: &RunTable| t.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    let t = table(
        &store,
        TableQuery {
            state: Some(RunState::Succeeded),
            ..TableQuery::default()
        },
    );
    assert_eq!(ids(&t), ["d", "c", "a"]);
    // Columns are those of the matching runs.
    assert!(!t
        .columns
        .iter()
        .any(|c| c == "metric.f1" || c == "param.label"));
    let t = table(
        &store,
        TableQuery {
            pipeline: Some("other".into()),
            ..TableQuery::default()
        },
    );
    assert_eq!(ids(&t), ["e"]);
    assert_eq!(t.columns.len(), 7, "{:?}", t.columns);
    // Text matches any cell, ignoring case: a parameter, a metric, the state.
    for (text, want) in [
        ("A, \"B", vec!["e"]),
        ("0.6543", vec!["b"]),
        ("failed", vec!["b"]),
        ("  ", vec!["e", "d", "c", "b", "a"]),
        ("nothing like it", vec![]),
    ] {
        let t = table(
            &store,
            TableQuery {
                text: Some(text.into()),
                ..TableQuery::default()
            },
        );
        assert_eq!(ids(&t), want, "{text:?}");
    }
    let t = table(
        &store,
        TableQuery {
            sort: Some("metric.accuracy".into()),
            limit: 1,
            ..TableQuery::default()
        },
    );
    assert_eq!(ids(&t), ["d"]);
    assert_eq!(t.total, 5);
    // Every matching run's columns, not only the rows kept.
    assert!(t.columns.iter().any(|c| c == "metric.f1"));
}

#[test]
fn a_sort_column_must_be_one_a_table_can_have() {
    let (_dir, store) = store();
    for ok in ["state", "duration", "param.x", "metric.a.b"] {
        assert!(check_sort_column(ok).is_ok(), "{ok}");
    }
    let e = store
        .run_table(&TableQuery {
            sort: Some("colour".into()),
            ..TableQuery::default()
        })
        .expect_err("unknown column");
    assert_eq!(
        e.to_string(),
        "cannot sort by \"colour\": a column is one of pipeline_name, run_name, state, target, \
         start_time, duration, or param.<name> or metric.<name>"
    );
    assert!(check_sort_column("param.").is_err());
}

#[test]
fn cells_of_mixed_kinds_compare_in_a_fixed_order() {
    let mut values = vec![
        Value::Null,
        json!("b"),
        json!([1]),
        json!(true),
        json!(2.5),
        json!("a"),
        json!(-1),
        json!(false),
    ];
    values.sort_by(|a, b| compare(a, b, false));
    assert_eq!(
        values,
        [
            json!(-1),
            json!(2.5),
            json!("a"),
            json!("b"),
            json!(false),
            json!(true),
            json!([1]),
            Value::Null
        ]
    );
    values.sort_by(|a, b| compare(a, b, true));
    assert_eq!(values.last(), Some(&Value::Null));
    assert_eq!(values.first(), Some(&json!([1])));
}

#[test]
fn metrics_are_read_from_the_metrics_artifacts_by_index() {
    let (_dir, store) = store();
    let plan: Vec<String> = store
        .with_conn(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {}", metrics_sql()))?;
            let rows = stmt.query_map(
                rusqlite::params![Option::<&str>::None, Option::<&str>::None, METRICS_SCHEMA],
                |r| r.get::<_, String>(3),
            )?;
            rows.collect()
        })
        .expect("plan");
    // The first step searches the artifacts by schema title; nothing is scanned.
    assert!(
        plan.first()
            .is_some_and(|s| s.contains("lineage_artifacts_by_schema")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|s| s.starts_with("SCAN")), "{plan:?}");
}

#[test]
fn metric_names_with_escapes_are_read_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RunStore::open(dir.path()).expect("open");
    insert(&store, "r", "p", json!({}));
    // `json!` writes "é" as is; the escaped form is what a JSON writer may produce.
    let metadata: Value =
        serde_json::from_str(r#"{"r\u00e9call": 0.5, "a\"b": 2, "plain": 1}"#).expect("json");
    task(
        &store,
        "r",
        "t",
        "t",
        TaskState::Succeeded,
        &[("metrics", "/r/r/m", "system.Metrics", metadata)],
    );
    let t = table(&store, TableQuery::default());
    assert_eq!(
        t.columns[BASE_COLUMNS.len()..],
        ["metric.a\"b", "metric.plain", "metric.récall"]
    );
    assert_eq!(
        t.rows[0].cells[BASE_COLUMNS.len()..],
        [json!(2), json!(1), json!(0.5)]
    );
}
