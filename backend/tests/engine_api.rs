//! The runs API, in process, against a real engine: start runs from a spec or a document,
//! follow them as server-sent events, read logs (whole and live), list, cancel and re-run.

mod common;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::*;
use http_body_util::BodyExt as _;
use pipeline_canvas::{app, AppState};
use serde_json::{json, Value};
use tower::ServiceExt as _;

struct Fixture {
    dir: tempfile::TempDir,
    app: Router,
    /// The app's API token, sent with every request.
    token: String,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads server-sent events from a streaming body.
struct Sse {
    body: Body,
    buf: String,
}

impl Sse {
    /// The next `(event, data)`, or `None` when the stream ends.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((event, data.join("\n")));
            }
            let frame = tokio::time::timeout(Duration::from_secs(60), self.body.frame())
                .await
                .expect("an event within a minute")?
                .expect("body frame");
            if let Ok(bytes) = frame.into_data() {
                self.buf.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    async fn all(mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        while let Some(e) = self.next().await {
            out.push(e);
        }
        out
    }
}

impl Fixture {
    fn new() -> Self {
        std::env::set_var("PIPELINE_CANVAS_PYTHON", python());
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::open(dir.path()).expect("open app state");
        Self {
            token: state.guard.token().to_string(),
            app: app(state),
            dir,
        }
    }

    async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> axum::response::Response {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "127.0.0.1")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        self.app.clone().oneshot(req).await.expect("infallible")
    }

    async fn send(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let r = self.request(method, uri, body).await;
        let status = r.status();
        let content_type = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = r.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            content_type,
            body,
        }
    }

    async fn sse(&self, uri: &str) -> Sse {
        let r = self.request(Method::GET, uri, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Sse {
            body: r.into_body(),
            buf: String::new(),
        }
    }

    async fn start(&self, body: Value) -> String {
        let r = self.send(Method::POST, "/api/runs", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["id"].as_str().expect("id").to_string()
    }

    /// Follows the run's events to its end; returns them.
    async fn follow(&self, id: &str) -> Vec<(String, Value)> {
        self.sse(&format!("/api/runs/{id}/events"))
            .await
            .all()
            .await
            .into_iter()
            .map(|(e, d)| (e, serde_json::from_str(&d).expect("event JSON")))
            .collect()
    }
}

fn spec_json(name: &str) -> Value {
    serde_json::to_value(spec(name)).expect("spec JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_streams_its_state_changes_and_keeps_its_results() {
    let f = Fixture::new();
    let id = f
        .start(json!({"spec": spec_json("chain"), "parameters": {"a": 1, "b": 2}}))
        .await;
    let events = f.follow(&id).await;
    let (first, snapshot) = &events[0];
    assert_eq!(first, "snapshot");
    assert_eq!(snapshot["id"], json!(id));
    let (last, end) = events.last().expect("events");
    assert_eq!(last, "run");
    assert_eq!(end["state"], "SUCCEEDED");
    assert!(end["endedAt"].is_string());
    let add_states: Vec<&str> = events
        .iter()
        .filter(|(e, d)| e == "task" && d["path"] == "add")
        .filter_map(|(_, d)| d["state"].as_str())
        .collect();
    assert!(add_states.ends_with(&["SUCCEEDED"]), "{add_states:?}");
    let done = events
        .iter()
        .find(|(e, d)| e == "task" && d["path"] == "add-3" && d["state"] == "SUCCEEDED")
        .expect("add-3 succeeded event");
    assert!(done.1["startedAt"].is_string() && done.1["endedAt"].is_string());

    // The run, its tasks and outputs.
    let r = f.send(Method::GET, &format!("/api/runs/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let run = r.json();
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(run["pipelineName"], "chain");
    assert_eq!(run["outputs"]["parameters"]["Output"], json!(113));
    let tasks = run["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 5);
    let md = tasks
        .iter()
        .find(|t| t["path"] == "make-data")
        .expect("make-data");
    assert_eq!(md["state"], "SUCCEEDED");
    assert_eq!(md["kind"], "container");
    assert_eq!(md["hasLog"], json!(true));
    let uri = md["outputs"]["artifacts"]["data"][0]["uri"]
        .as_str()
        .expect("uri");

    // One task, its log (whole, from an offset, and followed after it ended).
    let r = f
        .send(Method::GET, &format!("/api/runs/{id}/tasks/add"), None)
        .await;
    assert_eq!(r.json()["path"], "add");
    let r = f
        .send(Method::GET, &format!("/api/runs/{id}/tasks/add/logs"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/plain"));
    let log = r.text();
    assert!(log.contains("KFP Executor"), "{log}");
    let r = f
        .send(
            Method::GET,
            &format!("/api/runs/{id}/tasks/add/logs?offset=5"),
            None,
        )
        .await;
    assert_eq!(r.text(), log[5..]);
    let lines = f
        .sse(&format!("/api/runs/{id}/tasks/add/logs?follow=1"))
        .await
        .all()
        .await;
    assert_eq!(lines.last().map(|l| l.0.as_str()), Some("end"));
    let joined: Vec<&str> = lines
        .iter()
        .filter(|l| l.0 == "log")
        .map(|l| l.1.as_str())
        .collect();
    assert_eq!(joined.join("\n") + "\n", log);

    // An artifact's content; nothing outside the runs folder.
    let r = f
        .send(
            Method::GET,
            &format!("/api/runs/{id}/artifact?uri={uri}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("line 0\n"));
    let r = f
        .send(
            Method::GET,
            &format!("/api/runs/{id}/artifact?uri=/etc/passwd"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Listing and filters.
    let r = f
        .send(
            Method::GET,
            "/api/runs?state=succeeded&pipeline=chain",
            None,
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    let r = f.send(Method::GET, "/api/runs?state=FAILED", None).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0));
    let r = f.send(Method::GET, "/api/runs?state=bogus", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A re-run: same spec and parameters, linked to the first.
    let r = f
        .send(Method::POST, &format!("/api/runs/{id}/rerun"), None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let again = r.json()["id"].as_str().expect("id").to_string();
    assert_ne!(again, id);
    let events = f.follow(&again).await;
    assert_eq!(events.last().expect("events").1["state"], "SUCCEEDED");
    let r = f
        .send(Method::GET, &format!("/api/runs/{again}"), None)
        .await;
    let run = r.json();
    assert_eq!(run["rerunOf"], json!(id));
    assert_eq!(run["outputs"]["parameters"]["Output"], json!(113));
    let r = f.send(Method::GET, "/api/runs", None).await;
    let list = r.json();
    assert_eq!(list[0]["id"], json!(again), "newest first");

    // Not found.
    for uri in [
        "/api/runs/nope".to_string(),
        "/api/runs/nope/events".to_string(),
        format!("/api/runs/{id}/tasks/nope"),
        format!("/api/runs/{id}/tasks/nope/logs"),
    ] {
        let r = f.send(Method::GET, &uri, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let r = f.send(Method::POST, "/api/runs/nope/cancel", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(f.dir.path().join("runs").join(&id).is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_runs_after_compiling_and_bad_requests_are_refused() {
    let f = Fixture::new();
    let text = std::fs::read_to_string(pipelines().join("branches.yaml")).expect("spec");
    let doc = pipeline::import::import_pipeline(&text).expect("import");
    let doc_json: Value = serde_json::from_str(&doc.to_json()).expect("doc JSON");
    let id = f
        .start(json!({"document": doc_json, "parameters": {"x": 20}}))
        .await;
    let events = f.follow(&id).await;
    assert_eq!(events.last().expect("events").1["state"], "SUCCEEDED");
    let run = f
        .send(Method::GET, &format!("/api/runs/{id}"), None)
        .await
        .json();
    assert_eq!(run["outputs"]["parameters"]["Output"], json!("big"));
    let skipped = run["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["state"] == "SKIPPED")
        .count();
    assert_eq!(skipped, 4, "two branches and their tasks: {run}");
    // The canvas finds each of its elements among the engine's tasks by the compiler's paths.
    let engine_paths: Vec<&str> = run["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["path"].as_str())
        .collect();
    let compiled = pipeline::compile(&doc);
    assert_eq!(
        compiled.task_paths.len(),
        doc.nodes.len() + doc.groups.len()
    );
    for (elem, path) in &compiled.task_paths {
        assert!(
            engine_paths.contains(&path.as_str()),
            "{elem} → {path} is not among {engine_paths:?}"
        );
    }
    // The run keeps the document it was started from.
    let r = f
        .send(Method::GET, &format!("/api/runs/{id}/document"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), doc_json);

    // A spec as YAML text works too.
    let id = f.start(json!({"spec": text, "parameters": {"x": 1}})).await;
    let events = f.follow(&id).await;
    assert_eq!(events.last().expect("events").1["state"], "SUCCEEDED");
    let r = f
        .send(Method::GET, &format!("/api/runs/{id}/document"), None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a spec run has no document"
    );

    // A document with errors: 422 with the diagnostics.
    let mut broken = doc_json.clone();
    broken["nodes"][0]["component"] = json!("no-such-component");
    let r = f
        .send(Method::POST, "/api/runs", Some(json!({"document": broken})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.json()["diagnostics"]
        .as_array()
        .is_some_and(|d| !d.is_empty()));

    for (body, want) in [
        (json!({}), "needs a \"document\" or a \"spec\""),
        (
            json!({"spec": spec_json("chain"), "document": doc_json}),
            "not both",
        ),
        (
            json!({"spec": spec_json("chain"), "parameters": {"zz": 1}}),
            "\"zz\"",
        ),
        (
            json!({"spec": spec_json("chain"), "parameters": {"a": "x"}}),
            "int",
        ),
        (json!({"spec": {"nope": 1}}), "invalid spec"),
        (
            json!({"spec": spec_json("chain"), "surprise": 1}),
            "surprise",
        ),
    ] {
        let r = f.send(Method::POST, "/api/runs", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        let msg = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(msg.contains(want), "{msg} should mention {want}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_task_can_be_tailed_and_the_run_cancelled() {
    let f = Fixture::new();
    let pid_file = f.dir.path().join("child.pid");
    let id = f
        .start(json!({
            "spec": spec_json("cancel_python"),
            "parameters": {"pid_file": pid_file.display().to_string()},
        }))
        .await;
    let child = wait_for_pid(&pid_file).await;
    let mut tail = f
        .sse(&format!(
            "/api/runs/{id}/tasks/spawn-and-wait/logs?follow=1"
        ))
        .await;
    let (event, line) = tail.next().await.expect("a log line while running");
    assert_eq!(event, "log");
    assert!(line.contains("KFP Executor"), "{line}");
    let r = f
        .send(Method::POST, &format!("/api/runs/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["cancelled"], json!(true));
    let mut rest = Vec::new();
    while let Some(e) = tail.next().await {
        rest.push(e);
    }
    let end = rest.last().expect("an end event");
    assert_eq!(end.0, "end");
    assert!(end.1.contains("CANCELLED"), "{}", end.1);
    let events = f.follow(&id).await;
    assert_eq!(events.last().expect("events").1["state"], "CANCELLED");
    for _ in 0..40 {
        if !alive(child) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(child));
    let r = f
        .send(Method::POST, &format!("/api/runs/{id}/cancel"), None)
        .await;
    assert_eq!(r.json()["cancelled"], json!(false));
}
