//! Lineage of real local runs (the engine on real processes): artifact passing, a cached
//! re-run that reaches the very artifact the first run produced, loops over artifacts inside
//! and after a sub-pipeline, a failed task; through `GET /api/lineage` in process (behind the
//! request guard) and through `pipeline-canvas lineage` (the real binary; JSON and dot).

use std::path::Path;
use std::process::Output;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use api::{Lineage, LineageEventType, LineageExecution, RunState, TaskState};
use pipeline_canvas::{app, AppState};

use crate::common::*;

struct Fixture {
    /// The data folder, removed when the test ends.
    _dir: tempfile::TempDir,
    engine: engine::Engine,
    app: Router,
    token: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = engine::EngineConfig::new(dir.path());
        config.python = python();
        config.concurrency = 2;
        let state = AppState::open_with(dir.path(), config, targets::TargetsOptions::default())
            .expect("open app state");
        Self {
            engine: state.engine.clone(),
            token: state.guard.token().to_string(),
            app: app(state),
            _dir: dir,
        }
    }

    async fn get(&self, uri: &str, token: bool) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .uri(uri)
            .header(header::HOST, "127.0.0.1");
        if token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let r = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = r.status();
        let body = r.into_body().collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
        (status, value)
    }

    async fn lineage(&self, query: &str) -> Lineage {
        let (status, body) = self.get(&format!("/api/lineage?{query}"), true).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        serde_json::from_value(body).expect("a Lineage")
    }
}

type Exec = (String, String, TaskState);

/// Sorted by run and task path.
fn sorted(mut v: Vec<Exec>) -> Vec<Exec> {
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v
}

/// `(run, task path, state)` of each execution, sorted.
fn executions(l: &Lineage) -> Vec<Exec> {
    sorted(
        l.executions
            .iter()
            .map(|e| (e.run_id.clone(), e.task_path.clone(), e.state))
            .collect(),
    )
}

fn execution<'a>(l: &'a Lineage, path: &str) -> &'a LineageExecution {
    l.executions
        .iter()
        .find(|e| e.task_path == path)
        .unwrap_or_else(|| panic!("no execution {path}: {:?}", executions(l)))
}

/// The `(task path, port)` of the events of `type` touching artifact `id`, sorted.
fn touching(l: &Lineage, id: i64, ty: LineageEventType) -> Vec<(String, String)> {
    let mut v: Vec<_> = l
        .events
        .iter()
        .filter(|e| e.artifact_id == id && e.event_type == ty)
        .map(|e| {
            let x = l
                .executions
                .iter()
                .find(|x| x.id == e.execution_id)
                .expect("the event's execution is in the graph");
            (x.task_path.clone(), e.port.clone())
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_passing_and_a_cached_rerun_through_the_api() {
    let f = Fixture::new();
    let first = execute(&f.engine, "chain", &[("a", json!(1)), ("b", json!(2))]).await;
    assert_run(&first, RunState::Succeeded);
    let second = execute(&f.engine, "chain", &[("a", json!(1)), ("b", json!(2))]).await;
    assert_run(&second, RunState::Succeeded);
    let (r1, r2) = (first.summary.id.clone(), second.summary.id.clone());
    let uri = task(&first, "make-data").outputs.as_ref().expect("outputs")["artifacts"]["data"][0]
        ["uri"]
        .as_str()
        .expect("uri")
        .to_string();

    let l1 = f.lineage(&format!("run={r1}")).await;
    assert!(!l1.truncated);
    let want: Vec<_> = ["add", "add-2", "add-3", "count-lines", "make-data"]
        .iter()
        .map(|p| (r1.clone(), p.to_string(), TaskState::Succeeded))
        .collect();
    assert_eq!(executions(&l1), want);
    let make = execution(&l1, "make-data");
    assert_eq!(make.component.as_deref(), Some("comp-make-data"));
    assert_eq!(make.execution_type, "system.ContainerExecution");
    assert_eq!(make.pipeline_name, "chain");
    assert_eq!(make.parameters.get("lines"), Some(&json!(13)));
    assert!(make.cache_key.is_some() && make.started_at.is_some() && make.ended_at.is_some());
    assert_eq!(
        execution(&l1, "add-3").output_parameters.get("Output"),
        Some(&json!(113))
    );
    assert_eq!(l1.artifacts.len(), 1, "{:?}", l1.artifacts);
    let data = &l1.artifacts[0];
    assert_eq!(
        (data.uri.as_str(), data.name.as_str()),
        (uri.as_str(), "data")
    );
    assert_eq!(data.schema_title, "system.Dataset");
    assert_eq!(data.state, "LIVE");
    assert_eq!(
        touching(&l1, data.id, LineageEventType::Output),
        [("make-data".to_string(), "data".to_string())]
    );
    assert_eq!(
        touching(&l1, data.id, LineageEventType::Input),
        [("count-lines".to_string(), "data".to_string())]
    );

    // The cached re-run: every execution CACHED, linked to the same artifact.
    let l2 = f.lineage(&format!("run={r2}")).await;
    assert!(l2.executions.iter().all(|e| e.state == TaskState::Cached));
    assert_eq!(l2.artifacts.len(), 1);
    assert_eq!(
        l2.artifacts[0].id, data.id,
        "the same artifact, reachable from both runs"
    );
    let around = f.lineage(&format!("artifact={}", data.id)).await;
    assert_eq!(
        executions(&around),
        sorted(vec![
            (r1.clone(), "count-lines".into(), TaskState::Succeeded),
            (r1.clone(), "make-data".into(), TaskState::Succeeded),
            (r2.clone(), "count-lines".into(), TaskState::Cached),
            (r2.clone(), "make-data".into(), TaskState::Cached),
        ])
    );
    // Upstream of the artifact: its producers only; by URI the same.
    let up = f
        .lineage(&format!("uri={}&direction=upstream", url_escape(&uri)))
        .await;
    assert_eq!(
        executions(&up),
        sorted(vec![
            (r1.clone(), "make-data".into(), TaskState::Succeeded),
            (r2.clone(), "make-data".into(), TaskState::Cached),
        ])
    );
    // From the cached consumer, two hops upstream: its input and who produced it in run 1.
    let consumer = execution(&l2, "count-lines").id;
    let back = f
        .lineage(&format!("execution={consumer}&depth=2&direction=upstream"))
        .await;
    assert!(
        executions(&back).contains(&(r1.clone(), "make-data".into(), TaskState::Succeeded)),
        "{:?}",
        executions(&back)
    );
    // A task of a run: its execution, one hop each way.
    let at_task = f.lineage(&format!("run={r1}&task=count-lines")).await;
    assert_eq!(
        executions(&at_task),
        vec![(r1.clone(), "count-lines".into(), TaskState::Succeeded)]
    );
    assert_eq!(at_task.artifacts.len(), 1, "its input");
    let up = f
        .lineage(&format!(
            "run={r1}&task=count-lines&direction=upstream&depth=2"
        ))
        .await;
    assert!(executions(&up).contains(&(r1.clone(), "make-data".into(), TaskState::Succeeded)));
    // The node cap.
    let capped = f.lineage(&format!("run={r1}&maxNodes=2")).await;
    assert!(capped.truncated);
    assert_eq!(capped.executions.len() + capped.artifacts.len(), 2);

    // Refusals: as the API's JSON errors, and the guard in front.
    for (query, status) in [
        ("", StatusCode::BAD_REQUEST),
        (
            &format!("run={r1}&artifact=1") as &str,
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("run={r1}&direction=sideways"),
            StatusCode::BAD_REQUEST,
        ),
        (&format!("run={r1}&depth=101"), StatusCode::BAD_REQUEST),
        (&format!("run={r1}&maxNodes=0"), StatusCode::BAD_REQUEST),
        (&format!("run={r1}&colour=red"), StatusCode::BAD_REQUEST),
        ("artifact=x", StatusCode::BAD_REQUEST),
        ("run=nope", StatusCode::NOT_FOUND),
        (&format!("run={r1}&task=nope"), StatusCode::NOT_FOUND),
        ("task=count-lines", StatusCode::BAD_REQUEST),
        ("artifact=999999", StatusCode::NOT_FOUND),
        ("execution=999999", StatusCode::NOT_FOUND),
        ("uri=%2Fno%2Fsuch", StatusCode::NOT_FOUND),
    ] {
        let (got, body) = f.get(&format!("/api/lineage?{query}"), true).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["error"].is_string(), "{query}: {body}");
    }
    let (got, _) = f.get(&format!("/api/lineage?run={r1}"), false).await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);
}

/// `/`, `:` and the rest of a path, escaped for a query string.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_a_sub_pipeline_and_a_failed_task() {
    let f = Fixture::new();
    // A sub-pipeline whose loop writes three datasets, then a loop reading each.
    let run = execute(&f.engine, "artifact_loop", &[]).await;
    assert_run(&run, RunState::Succeeded);
    let l = f.lineage(&format!("run={}", run.summary.id)).await;
    let sub = execution(&l, "write-numbers");
    assert_eq!(sub.execution_type, "system.DAGExecution");
    assert_eq!(sub.component.as_deref(), Some("comp-write-numbers"));
    let datasets: Vec<_> = l
        .artifacts
        .iter()
        .filter(|a| a.schema_title == "system.Dataset")
        .collect();
    assert_eq!(datasets.len(), 3, "{:?}", l.artifacts);
    for d in &datasets {
        let made = touching(&l, d.id, LineageEventType::Output);
        let writer = made
            .iter()
            .find(|(p, _)| p.ends_with("/write-number"))
            .unwrap_or_else(|| panic!("no writer of {}: {made:?}", d.uri));
        assert_eq!(
            execution(&l, &writer.0).component.as_deref(),
            Some("comp-write-number")
        );
        assert!(
            made.iter().any(|(p, _)| p == "write-numbers"),
            "the sub-pipeline's collected output is the same artifact: {made:?}"
        );
        let read = touching(&l, d.id, LineageEventType::Input);
        assert!(
            read.iter()
                .any(|(p, port)| p.ends_with("/read-number") && port == "d"),
            "{read:?}"
        );
        assert!(
            read.iter()
                .any(|(p, _)| p.contains("for-loop-") && p.ends_with(']')),
            "the iteration that got it as its item: {read:?}"
        );
    }
    assert!(l
        .executions
        .iter()
        .filter(|e| e.task_path.ends_with("/read-number"))
        .all(|e| e.component.as_deref() == Some("comp-read-number")
            && e.state == TaskState::Succeeded));

    // A failed task: recorded FAILED with its inputs and no outputs.
    let failed = execute(&f.engine, "exit_handler", &[("msg", json!("boom"))]).await;
    assert_run(&failed, RunState::Failed);
    let l = f.lineage(&format!("run={}", failed.summary.id)).await;
    let fail = l
        .executions
        .iter()
        .find(|e| e.task_path.ends_with("fail-task"))
        .unwrap_or_else(|| panic!("{:?}", executions(&l)));
    assert_eq!(fail.state, TaskState::Failed);
    assert_eq!(fail.parameters.get("msg"), Some(&json!("boom")));
    assert!(fail.output_parameters.is_empty());
    assert!(!l.events.iter().any(|e| e.execution_id == fail.id));
}

fn lineage_cli(args: &[&str], data: &Path) -> Output {
    crate::binary::command()
        .arg("lineage")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("RUST_LOG")
        .env_remove("PIPELINE_CANVAS_DATA_DIR")
        .output()
        .expect("run pipeline-canvas")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_json_and_dot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = lineage_cli(&["--latest"], dir.path());
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        text(&empty.stderr).contains("there are no runs yet"),
        "{}",
        text(&empty.stderr)
    );

    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "chain", &[("a", json!(1)), ("b", json!(2))]).await;
    assert_run(&run, RunState::Succeeded);
    let id = run.summary.id.clone();

    let latest = lineage_cli(&["--latest"], dir.path());
    assert!(latest.status.success(), "{}", text(&latest.stderr));
    let l: Lineage = serde_json::from_slice(&latest.stdout).expect("JSON lineage");
    assert_eq!(l.executions.len(), 5);
    assert!(l.executions.iter().all(|e| e.run_id == id));
    let by_id = lineage_cli(&[&id, "--format", "json"], dir.path());
    assert_eq!(by_id.stdout, latest.stdout);
    let raw: Value = serde_json::from_slice(&by_id.stdout).expect("JSON");
    assert!(raw["artifacts"][0]["uri"].is_string(), "{raw}");
    assert!(raw["events"].is_array() && raw["executions"].is_array());

    // An artifact id, one hop upstream: the artifact and its producer.
    let artifact = l.artifacts[0].id.to_string();
    let up = lineage_cli(&[&artifact, "--direction", "upstream"], dir.path());
    assert!(up.status.success(), "{}", text(&up.stderr));
    let up: Lineage = serde_json::from_slice(&up.stdout).expect("JSON lineage");
    assert_eq!(
        up.executions
            .iter()
            .map(|e| e.task_path.as_str())
            .collect::<Vec<_>>(),
        ["make-data"]
    );

    // A task of the run, two hops upstream: its input and the task that made it.
    let task = lineage_cli(
        &[
            &id,
            "--task",
            "count-lines",
            "--direction",
            "upstream",
            "--depth",
            "2",
        ],
        dir.path(),
    );
    assert!(task.status.success(), "{}", text(&task.stderr));
    let task: Lineage = serde_json::from_slice(&task.stdout).expect("JSON lineage");
    let mut paths: Vec<&str> = task
        .executions
        .iter()
        .map(|e| e.task_path.as_str())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["count-lines", "make-data"]);
    let latest_task = lineage_cli(&["--latest", "--task", "count-lines"], dir.path());
    assert!(
        latest_task.status.success(),
        "{}",
        text(&latest_task.stderr)
    );

    let dot = lineage_cli(&[&id, "--format", "dot", "--depth", "1"], dir.path());
    assert!(dot.status.success(), "{}", text(&dot.stderr));
    let dot = text(&dot.stdout);
    assert!(dot.starts_with("digraph lineage {"), "{dot}");
    let (a, m, c) = (
        l.artifacts[0].id,
        execution(&l, "make-data").id,
        execution(&l, "count-lines").id,
    );
    assert!(
        dot.contains(&format!("e{m} -> a{a} [label=\"data\"]")),
        "{dot}"
    );
    assert!(
        dot.contains(&format!("a{a} -> e{c} [label=\"data\"]")),
        "{dot}"
    );
    assert!(dot.trim_end().ends_with('}'));

    for (args, message) in [
        (&["nope"] as &[&str], "no run with id \"nope\""),
        (&["424242"], "no run or artifact with id 424242"),
        (
            &[id.as_str(), "--task", "nope"],
            "no lineage of task \"nope\"",
        ),
        (&["nope", "--task", "add"], "--task names a task of a run"),
    ] {
        let out = lineage_cli(args, dir.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
    let usage = lineage_cli(&[&id, "--latest"], dir.path());
    assert_eq!(usage.status.code(), Some(2), "an id and --latest conflict");
    let usage = lineage_cli(&[&id, "--depth", "101"], dir.path());
    assert_eq!(usage.status.code(), Some(2));
}

/// `GET /api/runs/{a}/diff/{b}` of two real runs of `chain` on the local engine: the second
/// with other parameters whose first sum is the same, so `add` changes, what follows is the
/// same and taken from the cache; the dependencies come from the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_diff_by_task() {
    let f = Fixture::new();
    let first = execute(&f.engine, "chain", &[("a", json!(1)), ("b", json!(2))]).await;
    assert_run(&first, RunState::Succeeded);
    let second = execute(&f.engine, "chain", &[("a", json!(2)), ("b", json!(1))]).await;
    assert_run(&second, RunState::Succeeded);
    let (r1, r2) = (first.summary.id.clone(), second.summary.id.clone());

    let (status, body) = f.get(&format!("/api/runs/{r1}/diff/{r2}"), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let d: api::RunDiff = serde_json::from_value(body).expect("a RunDiff");
    assert_eq!((d.a.as_str(), d.b.as_str()), (r1.as_str(), r2.as_str()));
    let names: Vec<&str> = d.parameters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let t = |path: &str| {
        d.tasks
            .iter()
            .find(|t| t.path == path)
            .unwrap_or_else(|| panic!("no {path} in {:?}", d.tasks))
    };
    let add = t("add");
    assert_eq!(add.change, api::TaskChange::Changed);
    let changed: Vec<&str> = add.inputs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(changed, ["a", "b"]);
    assert!(!add.cache_flipped() && !add.component_changed);
    for path in ["add-2", "make-data", "count-lines", "add-3"] {
        let task = t(path);
        assert_eq!(task.change, api::TaskChange::Same, "{path}");
        assert!(task.cache_flipped(), "{path}: ran, then from the cache");
        assert_eq!(
            (task.state_a, task.state_b),
            (Some(TaskState::Succeeded), Some(TaskState::Cached))
        );
    }
    let edge = |from: &str, to: &str| d.edges.iter().any(|e| e.from == from && e.to == to);
    assert!(edge("add", "add-2") && edge("make-data", "count-lines"));
    assert!(t("add").layer < t("add-2").layer && t("count-lines").layer < t("add-3").layer);

    let (status, body) = f.get(&format!("/api/runs/{r1}/diff/nope"), true).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("nope")),
        "{body}"
    );
    let (status, _) = f.get(&format!("/api/runs/{r1}/diff/{r2}"), false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
