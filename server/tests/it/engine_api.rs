//! The runs API, in process, against a real engine: start runs from a spec or a document,
//! follow them as server-sent events with a task's log, read logs (whole, from an offset, the
//! tail), list, cancel and re-run; streams end when their client leaves or the server stops.

use std::time::Duration;

use crate::common::*;
use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use pipeline_canvas::server::Shutdown;
use pipeline_canvas::{app, AppState};
use serde_json::{json, Value};
use tower::ServiceExt as _;

struct Fixture {
    dir: tempfile::TempDir,
    app: Router,
    /// The app's API token, sent with every request.
    token: String,
    /// The app's "stopping" flag.
    shutdown: Shutdown,
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
        let dir = tempfile::tempdir().expect("tempdir");
        let mut engine = engine::EngineConfig::new(dir.path());
        engine.python = python();
        engine.allow_host_commands = true;
        let state = AppState::open_with(dir.path(), engine, targets::TargetsOptions::default())
            .expect("open app state");
        Self {
            token: state.guard.token().to_string(),
            shutdown: state.shutdown.clone(),
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

    /// Follows the run's events and task `path`'s log (`query`: more options, e.g.
    /// `&logTail=10`) to the stream's end; returns the events.
    async fn follow_log(&self, id: &str, path: &str, query: &str) -> Vec<(String, Value)> {
        self.sse(&format!("/api/runs/{id}/events?log={path}{query}"))
            .await
            .all()
            .await
            .into_iter()
            .map(|(e, d)| (e, serde_json::from_str(&d).expect("event JSON")))
            .collect()
    }
}

/// The text of the `log` events, joined; asserts that each piece starts where the one before
/// ended.
fn log_text(events: &[(String, Value)]) -> String {
    let mut text = String::new();
    let mut next = None;
    for (_, d) in events.iter().filter(|(e, _)| e == "log") {
        let from = d["from"].as_u64().expect("from");
        let piece = d["text"].as_str().expect("text");
        if let Some(n) = next {
            assert_eq!(from, n, "pieces are contiguous");
        }
        next = Some(from + piece.len() as u64);
        text.push_str(piece);
    }
    text
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
    // The ended run's stream with the log: the snapshot, the log, its end; then it ends.
    let events = f.follow_log(&id, "add", "").await;
    assert_eq!(events[0].0, "snapshot");
    assert_eq!(log_text(&events), log);
    let (last, end) = events.last().expect("events");
    assert_eq!(last, "logEnd");
    assert_eq!(end["state"], "SUCCEEDED");
    assert_eq!(end["offset"], json!(log.len()));
    assert!(
        !events.iter().any(|(e, _)| e == "run" || e == "task"),
        "an ended run has no more state changes"
    );

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
    let mut stream = f
        .sse(&format!("/api/runs/{id}/events?log=spawn-and-wait"))
        .await;
    let mut seen = Vec::new();
    while !log_text(&seen).contains("KFP Executor") {
        let (event, data) = stream.next().await.expect("the log while running");
        seen.push((event, serde_json::from_str(&data).expect("event JSON")));
    }
    let r = f
        .send(Method::POST, &format!("/api/runs/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["cancelled"], json!(true));
    while let Some((event, data)) = stream.next().await {
        seen.push((event, serde_json::from_str(&data).expect("event JSON")));
    }
    // The run's end and the log's end both arrive, then the stream ends.
    let run_end = seen
        .iter()
        .find(|(e, d)| e == "run" && d["state"] == "CANCELLED");
    assert!(run_end.is_some(), "{seen:?}");
    // The log ends once, with the task's state (before or after the run's own end: the two
    // are not ordered), and nothing about the log follows it.
    let ends: Vec<usize> = (0..seen.len()).filter(|i| seen[*i].0 == "logEnd").collect();
    assert_eq!(ends.len(), 1, "{seen:?}");
    let end = &seen[ends[0]].1;
    assert_eq!(end["state"], "CANCELLED", "{end}");
    assert!(
        seen[ends[0]..].iter().all(|(e, _)| e != "log"),
        "log pieces after logEnd: {seen:?}"
    );
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

/// A shell task writing a log of 650 KB: 20 000 lines with characters of every UTF-8 length,
/// a 200 KiB line, and a last line without a line break.
const BIG_LOG: &str = "awk 'BEGIN { for (i = 0; i < 20000; i++) print \"line \" i \" é € 😀\" }'; \
     head -c 204800 /dev/zero | tr '\\0' x; echo; printf 'last line without a break'";

/// The request's body frames.
async fn frames(r: axum::response::Response) -> Vec<Bytes> {
    let mut body = r.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            out.push(data);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_log_is_followed_and_read_in_bounded_pieces() {
    let f = Fixture::new();
    let spec = crate::shell::shell_spec("big-log", &[("talk", BIG_LOG)]);
    let id = f
        .start(json!({"spec": spec, "options": {"enableCaching": false}}))
        .await;
    // Followed from the start, before the task exists: every byte arrives, in pieces of at
    // most 64 KiB that start where the one before ended, then the log's end and the run's.
    let events = f.follow_log(&id, "talk", "").await;
    let followed = log_text(&events);
    let pieces: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "log")
        .map(|(_, d)| d)
        .collect();
    assert!(pieces.len() >= 10, "{} pieces", pieces.len());
    for p in &pieces {
        assert!(p["text"].as_str().expect("text").len() <= 64 * 1024);
    }
    let (last, end) = events.last().expect("events");
    assert_eq!(last, "logEnd", "the log ends last");
    assert_eq!(end["state"], "SUCCEEDED");
    assert_eq!(end["offset"], json!(followed.len()));
    assert!(events
        .iter()
        .any(|(e, d)| e == "run" && d["state"] == "SUCCEEDED"));

    // The whole log, streamed: as followed, and in many body frames (never read whole).
    let uri = format!("/api/runs/{id}/tasks/talk/logs");
    let r = f.request(Method::GET, &uri, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-log-offset"], "0");
    let body = frames(r).await;
    assert!(body.len() >= 10, "{} frames", body.len());
    assert!(body.iter().all(|b| b.len() <= 64 * 1024));
    let whole = String::from_utf8(body.concat()).expect("UTF-8");
    assert_eq!(whole, followed);
    assert!(whole.starts_with("line 0 é € 😀\nline 1 é € 😀\n"));
    assert_eq!(whole.len(), 20_000 * 18 + 88_890 + 204_801 + 25);
    let last_line = "last line without a break";
    let last_at = whole.len() - last_line.len();

    // The tail starts at a line; an offset anywhere.
    for (query, from, text) in [
        ("?tail=100".to_string(), last_at, last_line.to_string()),
        ("?tail=1".to_string(), whole.len() - 1, "k".to_string()),
        (
            format!("?offset={}", last_at - 1),
            last_at - 1,
            format!("\n{last_line}"),
        ),
        ("?offset=99999999".to_string(), whole.len(), String::new()),
        ("?tail=99999999".to_string(), 0, whole.clone()),
    ] {
        let r = f.request(Method::GET, &format!("{uri}{query}"), None).await;
        assert_eq!(r.status(), StatusCode::OK, "{query}");
        assert_eq!(
            r.headers()["x-log-offset"],
            from.to_string().as_str(),
            "{query}"
        );
        assert_eq!(
            String::from_utf8(frames(r).await.concat()).expect("UTF-8"),
            text,
            "{query}"
        );
    }
    // The stream starts the same way; a browser that reconnects goes on where it was.
    let events = f.follow_log(&id, "talk", "&logTail=100").await;
    assert_eq!(log_text(&events), last_line);
    assert_eq!(events[1].1["from"], json!(last_at));
    let reconnect = Request::builder()
        .uri(format!("/api/runs/{id}/events?log=talk&logTail=5"))
        .header(header::HOST, "127.0.0.1")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
        .header("last-event-id", (last_at - 5).to_string())
        .body(Body::empty())
        .expect("request");
    let r = f.app.clone().oneshot(reconnect).await.expect("infallible");
    let events: Vec<(String, Value)> = Sse {
        body: r.into_body(),
        buf: String::new(),
    }
    .all()
    .await
    .into_iter()
    .map(|(e, d)| (e, serde_json::from_str(&d).expect("event JSON")))
    .collect();
    assert_eq!(log_text(&events), format!("xxxx\n{last_line}"));

    // Bad options are refused; the log's follow mode is gone (the event stream has it).
    for query in [
        format!("/api/runs/{id}/tasks/talk/logs?tail=1&offset=1"),
        format!("/api/runs/{id}/tasks/talk/logs?follow=1"),
        format!("/api/runs/{id}/tasks/talk/logs?tail=-1"),
        format!("/api/runs/{id}/tasks/talk/logs?offset=99999999999999999999999"),
        format!("/api/runs/{id}/tasks/talk?tail=1"),
        format!("/api/runs/{id}/events?logTail=1"),
        format!("/api/runs/{id}/events?log=talk&logTail=1&logOffset=1"),
        format!("/api/runs/{id}/events?log=talk&surprise=1"),
    ] {
        let r = f.send(Method::GET, &query, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text());
    }
    // A task the ended run never had: its log ends at once, without a state.
    let events = f.follow_log(&id, "nope", "").await;
    let (last, end) = events.last().expect("events");
    assert_eq!((last.as_str(), &end["state"]), ("logEnd", &Value::Null));
}

/// The log files this process has open under `dir`.
#[cfg(target_os = "linux")]
fn open_logs(dir: &std::path::Path) -> usize {
    // Only the readers: the task's log writer (the engine's output pump) holds the file open
    // for writing while the task runs.
    let read_only = |fd: &std::path::Path| {
        let name = fd.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        std::fs::read_to_string(std::path::Path::new("/proc/self/fdinfo").join(name))
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            })
            .is_some_and(|flags| flags & 3 == 0)
    };
    std::fs::read_dir("/proc/self/fd")
        .map(|fds| {
            fds.filter_map(Result::ok)
                .map(|fd| fd.path())
                .filter(|fd| {
                    std::fs::read_link(fd)
                        .is_ok_and(|p| p.starts_with(dir) && p.ends_with("log.txt"))
                        && read_only(fd)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Waits (up to 20 s) until `f()` is true.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stops_when_its_client_leaves_or_the_server_stops() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let f = Fixture::new();
    let spec = crate::shell::shell_spec("quiet", &[("quiet", "echo quiet-started; sleep 60")]);
    let id = f
        .start(json!({"spec": spec, "options": {"enableCaching": false}}))
        .await;
    // The app on a real socket, so that a client can go away.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let served = f.app.clone();
    tokio::spawn(async move { axum::serve(listener, served).await });
    let token = f.token.clone();
    let request = format!(
        "GET /api/runs/{id}/events?log=quiet HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    let wait_for_log = |mut client: tokio::net::TcpStream| async move {
        client
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("quiet-started") {
            let n = tokio::time::timeout(Duration::from_secs(60), client.read(&mut buf))
                .await
                .expect("the log within a minute")
                .expect("read");
            assert!(
                n > 0,
                "the stream ended early: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        client
    };
    let before = open_logs(f.dir.path());
    let client = wait_for_log(tokio::net::TcpStream::connect(addr).await.expect("connect")).await;
    // The stream reads the log while the task runs quietly; it lets go when the client leaves.
    assert_eq!(open_logs(f.dir.path()), before + 1);
    drop(client);
    eventually(
        "the stream of the client that left let go of the log",
        || open_logs(f.dir.path()) == before,
    )
    .await;

    // A stopping server ends its streams (in process here: the body ends).
    let mut stream = f.sse(&format!("/api/runs/{id}/events?log=quiet")).await;
    let mut text = String::new();
    while !text.contains("quiet-started") {
        let (event, data) = stream.next().await.expect("an event");
        if event == "log" {
            text.push_str(&data);
        }
    }
    f.shutdown.trigger();
    assert_eq!(
        stream.next().await,
        None,
        "the stream ends when the server stops"
    );
    let r = f
        .send(Method::POST, &format!("/api/runs/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
