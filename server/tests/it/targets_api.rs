//! The runs and targets API with remote targets: submitting, listing and cancelling a KFP run
//! through `POST /api/runs`, against an in-process server speaking the KFP v2beta1 REST API.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use pipeline::ir::PipelineSpec;
use runs::{Events, RunState, RunStore};
use serde_json::{json, Value};
use targets::{Target, Targets};
use tower::ServiceExt;

use crate::fake_remote::{self, google_error, vs, Fake};

/// How often a refused call is tried.
const ATTEMPTS: u32 = 3;

fn spec_json() -> Value {
    json!({
        "pipelineInfo": {"name": "hello-pipeline"},
        "components": {"comp-say": {"executorLabel": "exec-say"}},
        "deploymentSpec": {"executors": {"exec-say": {"container": {"image": "alpine", "command": ["true"]}}}},
        "root": {
            "dag": {"tasks": {"say": {"componentRef": {"name": "comp-say"}, "taskInfo": {"name": "say"}}}},
            "inputDefinitions": {"parameters": {"message": {"parameterType": "STRING"}}}
        },
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3"
    })
}

/// The API token of the app under test.
const TOKEN: &str = "targets-kfp-test-token";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(match body {
            Some(b) => Body::from(b.to_string()),
            None => Body::empty(),
        })
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_api_submits_lists_and_cancels_remote_runs() {
    let fake = Fake::with_script(vec![json!({"state": vs::RUNNING})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut state = pipeline_canvas::AppState::open(dir.path()).expect("state");
    state.targets = Targets::new(
        state.engine.store().clone(),
        state.engine.events().clone(),
        dir.path(),
        crate::fake_remote::options(&base, ATTEMPTS),
    )
    .expect("targets");
    let guard = pipeline_canvas::guard::Guard::new(pipeline_canvas::guard::GuardConfig {
        token: Some(TOKEN.into()),
        ..pipeline_canvas::guard::GuardConfig::new(([127, 0, 0, 1], 0).into())
    })
    .expect("guard");
    let app = pipeline_canvas::app(state.with_guard(guard));

    let (status, body) = call(&app, "GET", "/api/targets", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"vertex": {}, "kfp": {}}));
    // Submitting before the settings exist names the missing one, and sends nothing.
    let run = json!({"spec": spec_json(), "parameters": {"message": "hi"}, "target": "vertex"});
    let (status, body) = call(&app, "POST", "/api/runs", Some(run.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("project"),
        "{body}"
    );
    assert!(fake.requests().is_empty());

    let settings = json!({"vertex": {"project": "p", "region": "us-central1",
                                     "pipelineRoot": "gs://b/root", "labels": {"team": "ml"}},
                          "kfp": {"host": base}});
    let (status, body) = call(&app, "PUT", "/api/targets", Some(settings.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = call(&app, "GET", "/api/targets", None).await;
    assert_eq!(body, settings);
    let (status, body) = call(
        &app,
        "PUT",
        "/api/targets",
        Some(json!({"vertex": {"accessToken": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = call(&app, "POST", "/api/runs", Some(run.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(body["target"], "vertex");
    assert!(body["consoleLink"]
        .as_str()
        .unwrap_or_default()
        .starts_with("https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/hello-pipeline-"));
    assert_eq!(fake.requests()[0].body["labels"], json!({"team": "ml"}));

    let (_, list) = call(&app, "GET", "/api/runs", None).await;
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["target"], "vertex");
    assert!(list[0]["remoteName"]
        .as_str()
        .unwrap_or_default()
        .starts_with("projects/p/locations/us-central1/pipelineJobs/"));
    assert!(list[0]["consoleLink"].is_string());

    let (status, body) = call(&app, "POST", &format!("/api/runs/{id}/cancel"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cancelled"], true);
    for _ in 0..500 {
        let (_, run) = call(&app, "GET", &format!("/api/runs/{id}"), None).await;
        if run["state"] == "CANCELLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, run) = call(&app, "GET", &format!("/api/runs/{id}"), None).await;
    assert_eq!(run["state"], "CANCELLED");

    // Google's error comes back verbatim, with its status.
    fake.lock().create_errors.push_back((
        403,
        google_error(
            403,
            "PERMISSION_DENIED",
            "Permission denied on project p.",
            json!([]),
        ),
    ));
    let (status, body) = call(
        &app,
        "POST",
        "/api/runs",
        Some(run_for_kfp_or_vertex("vertex")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["remote"]["status"], 403);
    assert_eq!(
        body["remote"]["body"]["error"]["message"],
        "Permission denied on project p."
    );
    assert_eq!(
        body["remote"]["body"]["error"]["status"],
        "PERMISSION_DENIED"
    );

    // KFP through the API, and an unknown target.
    let (status, body) = call(
        &app,
        "POST",
        "/api/runs",
        Some(run_for_kfp_or_vertex("kfp")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["target"], "kfp");
    let (status, _) = call(
        &app,
        "POST",
        "/api/runs",
        Some(run_for_kfp_or_vertex("mars")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn run_for_kfp_or_vertex(target: &str) -> Value {
    json!({"spec": spec_json(), "parameters": {"message": "hi"}, "target": target})
}

/// A Vertex AI run of the small pipeline, with complete settings.
fn vertex_request() -> targets::SubmitRequest {
    let spec: PipelineSpec = serde_json::from_value(spec_json()).expect("spec");
    let parameters = [("message".to_string(), json!("hi"))].into_iter().collect();
    let mut r = targets::SubmitRequest::new(runs::RunRequest::new(spec, parameters));
    r.vertex = targets::VertexSettings {
        project: Some("my-project".into()),
        region: Some("us-central1".into()),
        pipeline_root: Some("gs://bucket/root".into()),
        ..targets::VertexSettings::default()
    };
    r
}

#[tokio::test]
async fn open_remote_runs_are_followed_again_after_a_restart() {
    let fake = Fake::with_script(vec![json!({"state": vs::RUNNING})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let id = {
        // A "server" that stops while the run is going on: no follower is started here.
        let store = RunStore::open(dir.path()).expect("store");
        let mut o = fake_remote::options(&base, ATTEMPTS);
        o.follow.initial = Duration::from_secs(3600);
        o.follow.max = Duration::from_secs(3600);
        let t = Targets::new(store, Events::new(), dir.path(), o).expect("targets");
        t.submit(Target::Vertex, vertex_request())
            .await
            .expect("submit")
            .id
    };
    {
        let mut st = fake.lock();
        for job in st.jobs.values_mut() {
            job.steps = vec![
                json!({"state": vs::RUNNING}),
                json!({"state": vs::SUCCEEDED}),
            ]
            .into();
        }
    }
    // The local engine's crash recovery leaves remote runs alone.
    let mut config = engine::EngineConfig::new(dir.path());
    config.concurrency = 1;
    let engine = engine::Engine::open(config).expect("engine");
    let s = engine.store().get_summary(&id).expect("get").expect("row");
    assert!(!s.state.is_final(), "not marked failed: {:?}", s.state);
    let t = Targets::new(
        engine.store().clone(),
        engine.events().clone(),
        dir.path(),
        fake_remote::options(&base, ATTEMPTS),
    )
    .expect("targets");
    assert_eq!(t.resume().await.expect("resume"), 1);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(20), engine.wait(&id))
            .await
            .expect("in time")
            .expect("wait"),
        RunState::Succeeded
    );
}
