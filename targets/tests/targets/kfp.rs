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

/// A KFP 2.x run in two polls: `train` (reading dataset 7, making model 12) runs, then the run
/// has ended and `deploy` has read model 12. Ids come as strings and as numbers, as int64s
/// may.
fn lineage_script() -> Vec<Value> {
    let root = json!({"task_id": "t0", "display_name": "hello-pipeline", "state": "RUNNING"});
    let train = |state: &str| {
        json!({"task_id": "t1", "parent_task_id": "t0", "display_name": "train", "state": state,
               "execution_id": "41", "start_time": "2026-01-01T00:00:01Z",
               "inputs": {"dataset": {"artifact_ids": [7]}},
               "outputs": {"model": {"artifact_ids": ["12"]}}})
    };
    let deploy = json!({"task_id": "t2", "parent_task_id": "t0", "display_name": "deploy",
                        "state": "SUCCEEDED", "execution_id": "42",
                        "start_time": "2026-01-01T00:00:06Z", "end_time": "2026-01-01T00:00:09Z",
                        "inputs": {"model": {"artifact_ids": ["12"]}}});
    vec![
        json!({"state": "RUNNING", "run_details": {"task_details": [root.clone(), train("RUNNING")]}}),
        json!({"state": "SUCCEEDED", "run_details": {"task_details": [
            root, train("SUCCEEDED"), deploy]}}),
    ]
}

/// Follows the lineage script to its end on `fake`; returns the run's id and the store.
async fn follow_lineage_run(fake: &Fake) -> (String, String, tempfile::TempDir) {
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = t.submit(Target::Kfp, request(&base)).await.expect("submit");
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Succeeded
    );
    let summary = t
        .store()
        .get_summary(&submitted.id)
        .expect("summary")
        .expect("run");
    assert_eq!(summary.error, None, "lineage never fails a run");
    (submitted.id, base, dir)
}

/// The run's lineage: the artifact at `uri` (with `schema_title`), made by `train` on port
/// `model` (one OUTPUT event) and read by `deploy` on port `model` (one INPUT event).
fn assert_model_links_train_to_deploy(dir: &std::path::Path, run: &str, uri: &str, schema: &str) {
    let store = RunStore::open(dir).expect("store");
    let lineage = store
        .lineage(&runs::LineageQuery::new(api::LineageStart::Run(
            run.to_string(),
        )))
        .expect("lineage")
        .expect("the run has lineage");
    let model = lineage
        .artifacts
        .iter()
        .find(|a| a.uri == uri)
        .unwrap_or_else(|| panic!("no artifact {uri}: {:?}", lineage.artifacts));
    assert_eq!(model.schema_title, schema);
    let exec = |path: &str| {
        lineage
            .executions
            .iter()
            .find(|e| e.task_path == path && e.run_id == run)
            .unwrap_or_else(|| panic!("no execution {path}: {:?}", lineage.executions))
            .id
    };
    let events = |ty: api::LineageEventType| -> Vec<(i64, &str)> {
        lineage
            .events
            .iter()
            .filter(|e| e.artifact_id == model.id && e.event_type == ty)
            .map(|e| (e.execution_id, e.port.as_str()))
            .collect()
    };
    assert_eq!(
        events(api::LineageEventType::Output),
        [(exec("train"), "model")],
        "{:?}",
        lineage.events
    );
    assert_eq!(
        events(api::LineageEventType::Input),
        [(exec("deploy"), "model")],
        "{:?}",
        lineage.events
    );
}

fn artifact_gets(fake: &Fake) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/apis/v2beta1/artifacts/"))
        .map(|r| r.path)
        .collect()
}

#[tokio::test]
async fn kfp_task_artifacts_become_lineage_with_uris_from_the_artifacts_api() {
    let fake = Fake::with_script(lineage_script());
    let model_uri = "minio://mlpipeline/v2/artifacts/hello-pipeline/run-0001/train/model";
    {
        let mut st = fake.lock();
        st.artifacts.insert(
            "12".into(),
            json!({"artifact_id": "12", "storage_provider": "minio",
                   "storage_path": "v2/artifacts/hello-pipeline/run-0001/train/model",
                   "uri": model_uri, "namespace": "team-a", "artifact_type": "system.Model",
                   "artifact_size": "2048", "created_at": "2026-01-01T00:00:04Z"}),
        );
        st.artifacts.insert(
            "7".into(),
            json!({"artifact_id": "7", "uri": "minio://mlpipeline/data.csv",
                   "artifact_type": "system.Dataset"}),
        );
    }
    let (run, _base, dir) = follow_lineage_run(&fake).await;
    assert_model_links_train_to_deploy(dir.path(), &run, model_uri, "system.Model");
    let store = RunStore::open(dir.path()).expect("store");
    let dataset = store
        .artifact_id("minio://mlpipeline/data.csv")
        .expect("artifact id");
    assert!(dataset.is_some(), "the dataset train read is recorded");
    // Each artifact is asked once, though named by two tasks over two polls.
    let mut gets = artifact_gets(&fake);
    gets.sort();
    assert_eq!(
        gets,
        ["/apis/v2beta1/artifacts/12", "/apis/v2beta1/artifacts/7"]
    );
}

#[tokio::test]
async fn kfp_without_the_artifacts_api_still_links_tasks_by_artifact_id() {
    let fake = Fake::with_script(lineage_script());
    // grpc-gateway's answer for a route it does not know (KFP before the artifacts API).
    fake.lock().artifacts_reply = Some((
        404,
        json!({"code": 5, "message": "Not Found", "details": []}),
    ));
    let (run, base, dir) = follow_lineage_run(&fake).await;
    let place = base.trim_start_matches("http://");
    assert_model_links_train_to_deploy(
        dir.path(),
        &run,
        &format!("kfp-artifact://{place}/12"),
        "system.Artifact",
    );
    let store = RunStore::open(dir.path()).expect("store");
    assert!(
        store
            .artifact_id(&format!("kfp-artifact://{place}/7"))
            .expect("artifact id")
            .is_some(),
        "the dataset is known by its id"
    );
    // The first answer tells there is no such API: nothing more is asked.
    assert_eq!(artifact_gets(&fake).len(), 1, "{:?}", artifact_gets(&fake));
}
