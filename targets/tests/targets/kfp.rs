//! Contract tests of the Kubeflow Pipelines target against an in-process server speaking the
//! KFP v2beta1 REST API (`fake_remote`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fake_remote::Fake;
use pipeline::ir::PipelineSpec;
use runs::{RunRequest, RunState, RunStore, TaskState};
use serde_json::{json, Value};
use targets::{KfpSettings, SubmitRequest, Target};

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
        experiment: Some("nlp".into()),
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
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = t.submit(Target::Kfp, request(&base)).await.expect("submit");
    assert_eq!(submitted.remote_name, "run-0001");
    assert_eq!(
        submitted.console_link.as_deref(),
        Some(format!("{base}/#/runs/details/run-0001").as_str())
    );
    // The experiment is looked up by name in the namespace, then created.
    let requests = fake.requests();
    let lookup = &requests[0];
    assert_eq!(
        (lookup.method.as_str(), lookup.path.as_str()),
        ("GET", "/apis/v2beta1/experiments")
    );
    assert!(
        lookup.query.contains("namespace=team-a"),
        "{}",
        lookup.query
    );
    assert!(
        lookup.query.contains(r#""stringValue":"nlp""#),
        "{}",
        lookup.query
    );
    let made = &requests[1];
    assert_eq!(
        (made.method.as_str(), made.path.as_str()),
        ("POST", "/apis/v2beta1/experiments")
    );
    assert_eq!(
        made.body,
        json!({"display_name": "nlp", "namespace": "team-a"})
    );
    let create = &requests[2];
    assert_eq!(create.method, "POST");
    assert_eq!(create.path, "/apis/v2beta1/runs");
    assert_eq!(create.auth, None, "no KFP token configured");
    assert_eq!(create.body["display_name"], "hello-pipeline");
    assert_eq!(create.body["pipeline_spec"], spec_json());
    assert_eq!(
        create.body["runtime_config"],
        json!({"parameters": {"message": "hi"}, "pipeline_root": "minio://mlpipeline/v2/artifacts"})
    );
    assert_eq!(create.body["experiment_id"], "exp-0001");
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Succeeded
    );
    let get = &fake.requests()[3];
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
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = t.submit(Target::Kfp, request(&base)).await.expect("submit");
    assert!(t.cancel(&submitted.id).await.expect("cancel"));
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Cancelled
    );
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == "/apis/v2beta1/runs/run-0001:terminate"));

    // A second run finds the experiment the first one created.
    let second = t.submit(Target::Kfp, request(&base)).await.expect("submit");
    let experiments = fake.lock().experiments.clone();
    assert_eq!(experiments.len(), 1, "{experiments:?}");
    let created = fake
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST" && r.path == "/apis/v2beta1/runs")
        .expect("the second create");
    assert_eq!(created.body["experiment_id"], "exp-0001");
    assert!(t.cancel(&second.id).await.expect("cancel"));

    // Two experiments of the same name: the run is refused, and says why.
    fake.lock().experiments.push(json!({
        "experiment_id": "exp-other", "display_name": "nlp", "namespace": "team-a"
    }));
    let err = t
        .submit(Target::Kfp, request(&base))
        .await
        .expect_err("ambiguous experiment");
    assert!(
        err.to_string()
            .contains("2 experiments are named \"nlp\" in namespace \"team-a\""),
        "{err}"
    );
    fake.lock().experiments.pop();

    let kfp_error = json!({"error": "Failed to create a run: Invalid input error: experiment exp-0001 not found",
                           "code": 3, "message": "Failed to create a run", "details": []});
    fake.lock().create_errors.push_back((400, kfp_error));
    let err = t
        .submit(Target::Kfp, request(&base))
        .await
        .expect_err("400");
    assert_eq!(err.http_status(), Some(400));
    assert!(
        err.to_string().contains("experiment exp-0001 not found"),
        "{err}"
    );

    let mut missing = request(&base);
    missing.kfp.host = None;
    let before = fake.requests().len();
    let err = t.submit(Target::Kfp, missing).await.expect_err("no host");
    assert!(err.to_string().contains("host"), "{err}");
    assert_eq!(fake.requests().len(), before, "nothing was sent");
}
