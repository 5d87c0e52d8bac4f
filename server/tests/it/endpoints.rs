//! Local model endpoints through the API (in process) and `pipeline-canvas endpoints` (the real
//! binary). The server processes here are stand-ins (`sleep` leading its own process group,
//! recorded as an endpoint would be), so these tests need no TorchServe; the engine's tests
//! (`engine/tests/engine/endpoints.rs`) deploy a real one.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use api::EndpointState;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use pipeline_canvas::{app, AppState};
use runs::{NewEndpoint, RunStore};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::binary::{cli, err, out};

/// A stand-in server: `sleep` in its own process group (with a child of its own, as
/// TorchServe has Java and its workers), recorded serving as endpoint `id` of run `run`.
fn fake_endpoint(store: &RunStore, id: &str, run: &str) -> Child {
    let child = Command::new("sh")
        .args(["-c", "sleep 60 & sleep 60; wait"])
        .process_group(0)
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    store
        .insert_endpoint(&NewEndpoint {
            id: id.into(),
            run_id: run.into(),
            task_path: "deploy".into(),
            model_name: format!("model-{id}"),
            mar_folder: "/tmp/mar".into(),
            url: format!("http://127.0.0.1:1/predictions/model-{id}"),
            management_url: "http://127.0.0.1:2".into(),
            folder: PathBuf::from("/tmp/ep"),
            // Owned by a live process (this one) with a live-looking instance, so nothing
            // reaps it behind the test's back.
            owner: engine::process::current(),
            owner_instance: "the-test".into(),
        })
        .expect("insert");
    store
        .set_endpoint_process(id, pid, engine::process::start_time(pid))
        .expect("process");
    store
        .set_endpoint_state(id, EndpointState::Serving, None)
        .expect("serving");
    child
}

/// Whether `child`'s process group has gone (waits up to 20 s; reaps the child).
fn gone(child: &mut Child) -> bool {
    let pgid = child.id();
    for _ in 0..200 {
        let _ = child.try_wait();
        if !engine::process::group_is_running(pgid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

async fn call(
    app: &axum::Router,
    token: &str,
    method: Method,
    uri: &str,
    body: &str,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_keeps_and_stops_endpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = AppState::open(dir.path()).expect("open");
    let token = state.guard.token().to_string();
    let mut child = fake_endpoint(state.engine.store(), "ep-0000000a", "run-1");
    let app = app(state);

    let (status, list) = call(&app, &token, Method::GET, "/api/endpoints", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["id"], "ep-0000000a");
    assert_eq!(list[0]["state"], "serving");
    assert_eq!(list[0]["runId"], "run-1");
    assert_eq!(list[0]["modelName"], "model-ep-0000000a");
    assert_eq!(list[0]["keep"], false);
    assert_eq!(list[0]["pid"], child.id());

    let keep = "/api/endpoints/ep-0000000a/keep";
    let (status, e) = call(&app, &token, Method::POST, keep, r#"{"keep": true}"#).await;
    assert_eq!((status, &e["keep"]), (StatusCode::OK, &json!(true)));
    let (status, e) = call(&app, &token, Method::POST, keep, r#"{"keep": "yes"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("invalid keep request"),
        "{e}"
    );
    let (status, e) = call(
        &app,
        &token,
        Method::POST,
        "/api/endpoints/ep-nope/keep",
        r#"{"keep": false}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (status, e) = call(
        &app,
        &token,
        Method::POST,
        "/api/endpoints/ep-nope/stop",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        e["error"].as_str().unwrap_or_default().contains("ep-nope"),
        "{e}"
    );
    let (status, _) = call(
        &app,
        &token,
        Method::GET,
        "/api/endpoints/ep-0000000a/stop",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let (status, e) = call(
        &app,
        &token,
        Method::POST,
        "/api/endpoints/ep-0000000a/stop",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["state"], "stopped");
    assert_eq!(e["error"], "stopped by the user");
    assert!(e["stoppedAt"].is_string(), "{e}");
    assert!(
        gone(&mut child),
        "the stopped endpoint's processes survived"
    );

    // Behind the request guard like every route.
    let request = Request::builder()
        .uri("/api/endpoints")
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

fn list_json(data: &Path) -> Vec<Value> {
    let o = cli(&["endpoints", "list", "--json"], data);
    assert!(o.status.success(), "{}", err(&o));
    serde_json::from_str::<Value>(&out(&o))
        .expect("JSON")
        .as_array()
        .cloned()
        .expect("an array")
}

#[test]
fn the_command_line_lists_and_stops_endpoints() {
    let data = tempfile::tempdir().expect("tempdir");
    // An empty folder: nothing listed, nothing created, an unknown id is an error.
    assert!(list_json(data.path()).is_empty());
    let o = cli(&["endpoints", "stop", "ep-nope"], data.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("error: no endpoint \"ep-nope\""),
        "{}",
        err(&o)
    );
    assert!(!data.path().join(runs::DB_FILE).exists());
    let o = cli(&["endpoints", "stop"], data.path());
    assert_eq!(o.status.code(), Some(2), "usage: {}", err(&o));

    let store = RunStore::open(data.path()).expect("store");
    let mut one = fake_endpoint(&store, "ep-00000001", "r1");
    let mut two = fake_endpoint(&store, "ep-00000002", "r2");
    let mut three = fake_endpoint(&store, "ep-00000003", "r2");

    let listed = list_json(data.path());
    let ids: Vec<&str> = listed.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, ["ep-00000003", "ep-00000002", "ep-00000001"]);
    let o = cli(&["endpoints", "list"], data.path());
    let table = out(&o);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ep-00000001") && l.contains("serving") && l.contains("r1")),
        "{table}"
    );

    let o = cli(&["endpoints", "stop", "ep-00000001"], data.path());
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).starts_with("stopped ep-00000001"), "{}", out(&o));
    assert!(gone(&mut one), "a stopped endpoint's processes survived");
    assert!(engine::process::group_is_running(two.id()));

    let o = cli(&["endpoints", "stop", "--all"], data.path());
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o).lines().count(), 2, "{}", out(&o));
    assert!(
        gone(&mut two) && gone(&mut three),
        "stop --all left a server"
    );
    let listed = list_json(data.path());
    assert!(listed.iter().all(|e| e["state"] == "stopped"), "{listed:?}");
}
