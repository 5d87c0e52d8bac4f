//! Lineage from Vertex ML Metadata through the server: `GET /api/lineage?vertexArtifact=…`
//! and `?vertexRun=…` in process, and `pipeline-canvas lineage --vertex-artifact|--vertex-run`
//! as a process, against the in-process stand-in speaking the Vertex AI REST wire format
//! (which refuses the whole subgraph with FAILED_PRECONDITION, so the paging is exercised).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use runs::RunStore;
use serde_json::{json, Value};
use targets::Targets;
use tower::ServiceExt;

use crate::fake_remote::{artifact_name, lineage_chain, Fake};

const TOKEN: &str = "vertex-lineage-test-token";
const JOB: &str = "projects/my-project/locations/us-central1/pipelineJobs/train-job-1";

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .uri(uri)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn vertex_run(store: &RunStore) -> String {
    let id = "vertex-run-1".to_string();
    store
        .insert_run(&runs::NewRun {
            id: id.clone(),
            pipeline_name: "train-pipeline".into(),
            pipeline_id: None,
            parameters: json!({}),
            spec: "{}".into(),
            platform_spec: None,
            document: None,
            options: json!({}),
            root: "gs://bucket/root".into(),
            rerun_of: None,
        })
        .expect("insert");
    store
        .set_remote(&id, "vertex", JOB, None, &json!({"region": "us-central1"}))
        .expect("remote");
    id
}

#[tokio::test]
async fn the_api_answers_vertex_lineage_paged_when_refused() {
    let fake = Fake::default();
    let mut graph = lineage_chain(false);
    graph.refuse_large = true;
    fake.lock().metadata = graph;
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut state = pipeline_canvas::AppState::open(dir.path()).expect("state");
    state.targets = Targets::new(
        state.engine.store().clone(),
        state.engine.events().clone(),
        dir.path(),
        crate::fake_remote::options(&base, 1),
    )
    .expect("targets");
    let run = vertex_run(state.engine.store());
    let guard = pipeline_canvas::guard::Guard::new(pipeline_canvas::guard::GuardConfig {
        token: Some(TOKEN.into()),
        ..pipeline_canvas::guard::GuardConfig::new(([127, 0, 0, 1], 0).into())
    })
    .expect("guard");
    let app = pipeline_canvas::app(state.with_guard(guard));

    let name = artifact_name("dataset");
    let (status, body) = get(&app, &format!("/api/lineage?vertexArtifact={name}&depth=6")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["artifacts"].as_array().map(Vec::len),
        Some(4),
        "{body}"
    );
    assert_eq!(body["executions"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["events"].as_array().map(Vec::len), Some(6));
    assert_eq!(body["truncated"], false);
    assert_eq!(body["executions"][1]["state"], "CACHED");

    let (status, body) = get(
        &app,
        &format!("/api/lineage?vertexArtifact={name}&depth=6&maxNodes=2"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["truncated"], true);

    let (status, body) = get(&app, &format!("/api/lineage?vertexRun={run}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["executions"][0]["runId"], "train-job-1");
    assert_eq!(body["executions"][0]["pipelineName"], "train-pipeline");
    assert_eq!(body["events"].as_array().map(Vec::len), Some(6));

    // Errors: a bad name is a 400, an unknown artifact Vertex AI's own 404, two starts a 400.
    let (status, body) = get(&app, "/api/lineage?vertexArtifact=gs://bucket/x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("metadataStores"),
        "{body}"
    );
    let gone = artifact_name("gone");
    let (status, body) = get(&app, &format!("/api/lineage?vertexArtifact={gone}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["remote"]["status"], 404, "{body}");
    let (status, _) = get(&app, &format!("/api/lineage?vertexRun={run}&run={run}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(
        &app,
        &format!("/api/lineage?vertexRun={run}&direction=upstream"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_cli_prints_vertex_lineage_as_json_and_dot() {
    let fake = Fake::default();
    let mut graph = lineage_chain(false);
    graph.refuse_large = true;
    fake.lock().metadata = graph;
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let run = vertex_run(&RunStore::open(&data).expect("store"));
    let cli = |args: Vec<String>| {
        let base = base.clone();
        let data = data.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
                .arg("lineage")
                .args(&args)
                .arg("--data-dir")
                .arg(&data)
                .env("PIPELINE_CANVAS_VERTEX_ENDPOINT", &base)
                .env("PIPELINE_CANVAS_ACCESS_TOKEN", "cli-token")
                .env_remove("PIPELINE_CANVAS_DATA_DIR")
                .env_remove("RUST_LOG")
                .output()
                .await
                .expect("run the binary");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let (code, out, err) = cli(vec![
        "--vertex-artifact".into(),
        artifact_name("dataset"),
        "--depth".into(),
        "2".into(),
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["artifacts"].as_array().map(Vec::len), Some(2), "{out}");
    assert_eq!(v["executions"][0]["name"], "train");
    let (code, out, err) = cli(vec![
        "--vertex-run".into(),
        run.clone(),
        "--format".into(),
        "dot".into(),
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("digraph"), "{out}");
    assert!(out.contains("train") && out.contains("monitor"), "{out}");
    let requests = fake.requests();
    assert!(requests
        .iter()
        .all(|r| r.auth.as_deref() == Some("Bearer cli-token")));
    let (code, _, err) = cli(vec!["--vertex-artifact".into(), "not-a-name".into()]).await;
    assert_ne!(code, 0);
    assert!(err.contains("metadataStores"), "{err}");
}
