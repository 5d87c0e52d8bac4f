//! Contract tests of the Kubeflow Pipelines target against an in-process server speaking the
//! KFP v2beta1 REST API (`fake_remote`), and of the runs and targets API with remote targets.

mod fake_remote;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fake_remote::{google_error, vs, Fake};
use http_body_util::BodyExt;
use pipeline::ir::PipelineSpec;
use pipeline_canvas::engine::{RunRequest, RunState, RunStore, TaskState};
use pipeline_canvas::targets::{KfpSettings, SubmitRequest, Target, Targets};
use serde_json::{json, Value};
use tower::ServiceExt;

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

fn spec() -> PipelineSpec {
    serde_json::from_value(spec_json()).expect("spec")
}

/// How often a refused call is tried.
const ATTEMPTS: u32 = 3;

async fn wait_final(store: &RunStore, id: &str) -> RunState {
    for _ in 0..1000 {
        if let Some(s) = store.get_summary(id).expect("summary") {
            if s.state.is_final() {
                return s.state;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {id} did not end");
}

fn request(host: &str) -> SubmitRequest {
    let parameters: BTreeMap<String, Value> = [("message".to_string(), json!("hi"))].into();
    let mut r = SubmitRequest::new(RunRequest::new(spec(), parameters));
    r.kfp = KfpSettings {
        host: Some(host.to_string()),
        namespace: Some("team-a".into()),
        experiment: Some("exp-123".into()),
        pipeline_root: Some("minio://mlpipeline/v2/artifacts".into()),
    };
    r
}

#[tokio::test]
async fn kfp_run_is_created_followed_and_mapped() {
    let fake = Fake::with_script(vec![
        json!({"state": "RUNNING", "run_details": {"task_details": [
            {"task_id": "t0", "display_name": "hello-pipeline", "state": "RUNNING"},
            {"task_id": "t1", "parent_task_id": "t0", "display_name": "say", "state": "RUNNING",
             "start_time": "2026-01-01T00:00:01Z"}]}}),
        json!({"state": "SUCCEEDED", "run_details": {"task_details": [
            {"task_id": "t0", "display_name": "hello-pipeline", "state": "SUCCEEDED"},
            {"task_id": "t1", "parent_task_id": "t0", "display_name": "say", "state": "SUCCEEDED",
             "start_time": "2026-01-01T00:00:01Z", "end_time": "2026-01-01T00:00:05Z"}]}}),
    ]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = t.submit(Target::Kfp, request(&base)).await.expect("submit");
    assert_eq!(submitted.remote_name, "run-0001");
    assert_eq!(
        submitted.console_link.as_deref(),
        Some(format!("{base}/#/runs/details/run-0001").as_str())
    );
    let create = &fake.requests()[0];
    assert_eq!(create.method, "POST");
    assert_eq!(create.path, "/apis/v2beta1/runs");
    assert_eq!(create.auth, None, "no KFP token configured");
    assert_eq!(create.body["display_name"], "hello-pipeline");
    assert_eq!(create.body["pipeline_spec"], spec_json());
    assert_eq!(
        create.body["runtime_config"],
        json!({"parameters": {"message": "hi"}, "pipeline_root": "minio://mlpipeline/v2/artifacts"})
    );
    assert_eq!(create.body["experiment_id"], "exp-123");
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Succeeded
    );
    let get = &fake.requests()[1];
    assert_eq!(get.method, "GET");
    assert_eq!(get.path, "/apis/v2beta1/runs/run-0001");
    let run = t.store().get_run(&submitted.id).expect("get").expect("run");
    assert_eq!(run.summary.target.as_deref(), Some("kfp"));
    assert_eq!(run.tasks.len(), 1);
    assert_eq!(run.tasks[0].path, "say");
    assert_eq!(run.tasks[0].state, TaskState::Succeeded);
    assert_eq!(
        run.tasks[0].ended_at.as_deref(),
        Some("2026-01-01T00:00:05Z")
    );
}

#[tokio::test]
async fn kfp_cancel_and_errors() {
    let fake = Fake::with_script(vec![json!({"state": "RUNNING"})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = t.submit(Target::Kfp, request(&base)).await.expect("submit");
    assert!(t.cancel(&submitted.id).await.expect("cancel"));
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Cancelled
    );
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == "/apis/v2beta1/runs/run-0001:cancel"));

    let kfp_error = json!({"error": "Failed to create a run: Invalid input error: experiment exp-123 not found",
                           "code": 3, "message": "Failed to create a run", "details": []});
    fake.lock().create_errors.push_back((400, kfp_error));
    let err = t
        .submit(Target::Kfp, request(&base))
        .await
        .expect_err("400");
    assert_eq!(err.http_status(), Some(400));
    assert!(
        err.to_string().contains("experiment exp-123 not found"),
        "{err}"
    );

    let mut missing = request(&base);
    missing.kfp.host = None;
    let before = fake.requests().len();
    let err = t.submit(Target::Kfp, missing).await.expect_err("no host");
    assert!(err.to_string().contains("host"), "{err}");
    assert_eq!(fake.requests().len(), before, "nothing was sent");
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
        fake_remote::options(&base, ATTEMPTS),
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
