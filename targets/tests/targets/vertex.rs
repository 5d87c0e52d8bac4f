//! Contract tests of the Vertex AI target against an in-process server speaking the Vertex AI
//! v1 REST wire format (`fake_remote`): the exact create/get/cancel requests, state
//! progressions with integer enums, task details, errors (400 with details, 403, 429, 503),
//! retries, and the runs API.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fake_remote::{google_error, ts, vs, Fake};
use pipeline::ir::PipelineSpec;
use runs::{EngineEvent, RunRequest, RunState, RunStore, TaskState};
use serde_json::{json, Value};
use targets::{SubmitRequest, Submitted, Target, TargetError, Targets, VertexSettings};

/// A small compiled pipeline with three parameters.
pub fn spec() -> PipelineSpec {
    serde_json::from_value(spec_json()).expect("spec")
}

fn spec_json() -> Value {
    json!({
        "pipelineInfo": {"name": "hello-pipeline"},
        "components": {"comp-say": {"executorLabel": "exec-say",
            "inputDefinitions": {"parameters": {"message": {"parameterType": "STRING"}}}}},
        "deploymentSpec": {"executors": {"exec-say": {"container": {
            "image": "python:3.11", "command": ["echo"],
            "args": ["{{$.inputs.parameters['message']}}"]}}}},
        "root": {
            "dag": {"tasks": {"say": {
                "componentRef": {"name": "comp-say"},
                "inputs": {"parameters": {"message": {"componentInputParameter": "message"}}},
                "taskInfo": {"name": "say"}}}},
            "inputDefinitions": {"parameters": {
                "message": {"parameterType": "STRING"},
                "count": {"parameterType": "NUMBER_INTEGER", "defaultValue": 1.0},
                "rate": {"parameterType": "NUMBER_DOUBLE", "isOptional": true, "defaultValue": 0.5}
            }}
        },
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3"
    })
}

/// How often a refused call is tried (the 429/503 tests count on 4).
const ATTEMPTS: u32 = 4;

fn settings() -> VertexSettings {
    VertexSettings {
        project: Some("my-project".into()),
        region: Some("us-central1".into()),
        pipeline_root: Some("gs://bucket/root".into()),
        ..VertexSettings::default()
    }
}

fn request(params: &[(&str, Value)], s: VertexSettings) -> SubmitRequest {
    let parameters: BTreeMap<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut r = SubmitRequest::new(RunRequest::new(spec(), parameters));
    r.vertex = s;
    r
}

/// Submits the test pipeline with `message=hi` to Vertex AI through `t`.
async fn submit_hi(t: &Targets) -> Submitted {
    t.submit(
        Target::Vertex,
        request(&[("message", json!("hi"))], settings()),
    )
    .await
    .expect("submit")
}

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

fn tasks(pipeline: &str, list: &[(&str, &str, i64, i64)]) -> Value {
    let mut out = vec![json!({"taskId": "1", "taskName": pipeline, "state": ts::RUNNING})];
    for (id, name, parent, state) in list {
        let mut t = json!({"taskId": id, "parentTaskId": parent.to_string(), "taskName": name,
                           "state": state, "startTime": "2026-01-01T00:00:01Z"});
        if *state == ts::SUCCEEDED || *state == ts::FAILED {
            t["endTime"] = json!("2026-01-01T00:00:09Z");
        }
        if *state == ts::FAILED {
            t["error"] = json!({"code": 9, "message": "The replica workerpool0-0 exited with a non-zero status of 1."});
        }
        out.push(t);
    }
    json!({"taskDetails": out})
}

#[tokio::test]
async fn create_request_is_exactly_what_vertex_ai_expects() {
    let fake = Fake::with_script(vec![json!({"state": vs::SUCCEEDED})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let mut s = settings();
    s.service_account = Some("runner@my-project.iam.gserviceaccount.com".into());
    s.network = Some("projects/123/global/networks/vpc".into());
    s.labels = [("team".to_string(), "ml".to_string())].into();
    s.encryption_key =
        Some("projects/my-project/locations/us-central1/keyRings/r/cryptoKeys/k".into());
    s.enable_caching = Some(false);
    let submitted = t
        .submit(
            Target::Vertex,
            request(&[("message", json!("hi")), ("rate", json!(2.5))], s),
        )
        .await
        .expect("submit");
    let reqs = fake.requests();
    let create = &reqs[0];
    assert_eq!(create.method, "POST");
    assert_eq!(
        create.path,
        "/v1/projects/my-project/locations/us-central1/pipelineJobs"
    );
    let job_id = create
        .query
        .split('&')
        .find_map(|kv| kv.strip_prefix("pipelineJobId="))
        .expect("pipelineJobId in the query");
    assert!(job_id.starts_with("hello-pipeline-2"), "{job_id}");
    assert!(
        create.query.contains("enum-encoding=int"),
        "the client asks for integer enums: {}",
        create.query
    );
    assert_eq!(create.auth.as_deref(), Some("Bearer test-token"));
    let body = &create.body;
    assert_eq!(body["displayName"], "hello-pipeline");
    assert_eq!(
        body["runtimeConfig"]["gcsOutputDirectory"],
        "gs://bucket/root"
    );
    assert_eq!(
        body["runtimeConfig"]["parameterValues"],
        json!({"message": "hi", "rate": 2.5})
    );
    assert_eq!(body["labels"], json!({"team": "ml"}));
    assert_eq!(
        body["serviceAccount"],
        "runner@my-project.iam.gserviceaccount.com"
    );
    assert_eq!(body["network"], "projects/123/global/networks/vpc");
    assert_eq!(
        body["encryptionSpec"]["kmsKeyName"],
        "projects/my-project/locations/us-central1/keyRings/r/cryptoKeys/k"
    );
    let mut expected_spec = spec_json();
    expected_spec["root"]["dag"]["tasks"]["say"]["cachingOptions"] = json!({"enableCache": false});
    assert_eq!(body["pipelineSpec"], expected_spec);
    // The submitted run is recorded with its target, job name and console link.
    assert_eq!(
        submitted.remote_name,
        format!("projects/my-project/locations/us-central1/pipelineJobs/{job_id}")
    );
    assert_eq!(
        submitted.console_link.as_deref(),
        Some(
            format!(
                "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/{job_id}?project=my-project"
            )
            .as_str()
        )
    );
    let state = wait_final(t.store(), &submitted.id).await;
    assert_eq!(state, RunState::Succeeded);
    let row = t
        .store()
        .get_summary(&submitted.id)
        .expect("get")
        .expect("row");
    assert_eq!(row.target.as_deref(), Some("vertex"));
    assert_eq!(
        row.remote_name.as_deref(),
        Some(submitted.remote_name.as_str())
    );
    assert_eq!(row.console_link, submitted.console_link);
    let get = reqs
        .get(1)
        .cloned()
        .unwrap_or_else(|| fake.requests()[1].clone());
    assert_eq!(get.method, "GET");
    assert_eq!(get.path, format!("/v1/{}", submitted.remote_name));
    assert_eq!(get.auth.as_deref(), Some("Bearer test-token"));
}

#[tokio::test]
async fn states_and_task_details_reach_the_store_and_the_events() {
    let fake = Fake::with_script(vec![
        json!({"state": vs::PENDING}),
        json!({"state": vs::RUNNING, "startTime": "2026-01-01T00:00:01Z",
               "jobDetail": tasks("hello-pipeline", &[("2", "say", 1, ts::RUNNING)])}),
        json!({"state": vs::RUNNING,
               "jobDetail": tasks("hello-pipeline", &[
                   ("2", "say", 1, ts::SUCCEEDED),
                   ("3", "condition-1", 1, ts::RUNNING),
                   ("4", "deploy", 3, ts::NOT_TRIGGERED),
                   ("5", "skipme", 1, ts::SKIPPED)])}),
        json!({"state": vs::SUCCEEDED, "endTime": "2026-01-01T00:00:10Z",
               "jobDetail": tasks("hello-pipeline", &[
                   ("2", "say", 1, ts::SUCCEEDED),
                   ("3", "condition-1", 1, ts::SUCCEEDED),
                   ("4", "deploy", 3, ts::NOT_TRIGGERED),
                   ("5", "skipme", 1, ts::SKIPPED)])}),
    ]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let mut rx = t.events().subscribe();
    let submitted = submit_hi(&t).await;
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Succeeded
    );
    let mut run_states = Vec::new();
    let mut task_events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        match e {
            EngineEvent::Run(r) if r.run_id == submitted.id => run_states.push(r.state),
            EngineEvent::Task(t) if t.run_id == submitted.id => task_events.push((t.path, t.state)),
            _ => {}
        }
    }
    run_states.dedup();
    assert_eq!(
        run_states,
        [RunState::Pending, RunState::Running, RunState::Succeeded]
    );
    assert!(task_events.contains(&("say".into(), TaskState::Running)));
    assert!(task_events.contains(&("say".into(), TaskState::Succeeded)));
    assert!(task_events.contains(&("condition-1/deploy".into(), TaskState::Skipped)));
    let run = t.store().get_run(&submitted.id).expect("get").expect("run");
    let find = |p: &str| {
        run.tasks
            .iter()
            .find(|t| t.path == p)
            .unwrap_or_else(|| panic!("no task {p}: {:?}", run.tasks))
    };
    assert_eq!(find("say").state, TaskState::Succeeded);
    assert_eq!(
        find("say").started_at.as_deref(),
        Some("2026-01-01T00:00:01Z")
    );
    assert_eq!(
        find("say").ended_at.as_deref(),
        Some("2026-01-01T00:00:09Z")
    );
    assert_eq!(find("condition-1").state, TaskState::Succeeded);
    let deploy = find("condition-1/deploy");
    assert_eq!(deploy.state, TaskState::Skipped);
    assert_eq!(deploy.parent.as_deref(), Some("condition-1"));
    assert!(deploy
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("not triggered"));
    assert_eq!(find("skipme").state, TaskState::Skipped);
    assert!(
        !run.tasks.iter().any(|t| t.path == "hello-pipeline"),
        "the pipeline's own root task is the run, not a task"
    );
    assert!(run.summary.started_at.is_some() && run.summary.ended_at.is_some());
}

#[tokio::test]
async fn a_failed_job_fails_the_run_with_its_error_and_failed_task() {
    let fake = Fake::with_script(vec![json!({
        "state": vs::FAILED,
        "error": {"code": 9, "message": "The DAG failed because some tasks failed. The failed tasks are: [say]."},
        "jobDetail": tasks("hello-pipeline", &[("2", "say", 1, ts::FAILED)])
    })]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = submit_hi(&t).await;
    assert_eq!(wait_final(t.store(), &submitted.id).await, RunState::Failed);
    let run = t.store().get_run(&submitted.id).expect("get").expect("run");
    assert!(run
        .summary
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("failed tasks are: [say]"));
    assert_eq!(run.tasks[0].state, TaskState::Failed);
    assert!(run.tasks[0]
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("non-zero status"));
}

#[tokio::test]
async fn google_errors_are_reported_verbatim_and_not_retried_when_final() {
    let details = json!([{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "pipeline_job.runtime_config.gcs_output_directory",
                             "description": "Bucket gs://bucket does not exist."}]
    }]);
    let fake = Fake::default();
    fake.lock().create_errors.push_back((
        400,
        google_error(
            400,
            "INVALID_ARGUMENT",
            "Invalid pipeline root.",
            details.clone(),
        ),
    ));
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let err = t
        .submit(
            Target::Vertex,
            request(&[("message", json!("hi"))], settings()),
        )
        .await
        .expect_err("400");
    assert_eq!(err.http_status(), Some(400));
    let text = err.to_string();
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(text.contains("Invalid pipeline root."), "{text}");
    assert!(text.contains("INVALID_ARGUMENT"), "{text}");
    assert!(
        text.contains("Bucket gs://bucket does not exist."),
        "{text}"
    );
    assert_eq!(fake.requests().len(), 1, "a 400 is not retried");
    // The attempt is in the run list, failed with the same message.
    let runs = t.store().list_runs(&Default::default()).expect("list");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Failed);
    assert!(runs[0]
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("Invalid pipeline root."));

    fake.lock().create_errors.push_back((
        403,
        google_error(
            403,
            "PERMISSION_DENIED",
            "Permission 'aiplatform.pipelineJobs.create' denied on resource '//aiplatform.googleapis.com/projects/my-project/locations/us-central1' (or it may not exist).",
            json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED", "domain": "aiplatform.googleapis.com"}]),
        ),
    ));
    let err = t
        .submit(
            Target::Vertex,
            request(&[("message", json!("hi"))], settings()),
        )
        .await
        .expect_err("403");
    assert_eq!(err.http_status(), Some(403));
    assert!(err.to_string().contains("IAM_PERMISSION_DENIED"), "{err}");
    assert_eq!(fake.requests().len(), 2, "a 403 is not retried");
}

#[tokio::test]
async fn rate_limits_and_unavailability_are_retried() {
    let fake = Fake::with_script(vec![json!({"state": vs::SUCCEEDED})]);
    {
        let mut st = fake.lock();
        st.create_errors.push_back((
            503,
            google_error(
                503,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                json!([]),
            ),
        ));
        st.create_errors.push_back((
            429,
            google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", json!([])),
        ));
        // Following survives unavailability too.
        st.get_errors.push_back((
            503,
            google_error(
                503,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                json!([]),
            ),
        ));
        st.get_errors.push_back((
            429,
            google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", json!([])),
        ));
    }
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = submit_hi(&t).await;
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Succeeded
    );
    let creates = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(creates, 3);
}

#[tokio::test]
async fn missing_settings_are_named_before_any_request() {
    let fake = Fake::default();
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let cases = [
        (
            VertexSettings {
                project: None,
                ..settings()
            },
            "project",
        ),
        (
            VertexSettings {
                region: None,
                ..settings()
            },
            "region",
        ),
        (
            VertexSettings {
                pipeline_root: None,
                ..settings()
            },
            "pipeline root",
        ),
        (
            VertexSettings {
                pipeline_root: Some("/tmp/local".into()),
                ..settings()
            },
            "gs://",
        ),
    ];
    for (s, word) in cases {
        let err = t
            .submit(Target::Vertex, request(&[("message", json!("hi"))], s))
            .await
            .expect_err("missing setting");
        assert!(matches!(err, TargetError::Setting(_)), "{err:?}");
        assert!(err.to_string().contains(word), "{err}");
    }
    let err = t
        .submit(Target::Vertex, request(&[], settings()))
        .await
        .expect_err("missing parameter");
    assert!(err.to_string().contains("\"message\""), "{err}");
    assert!(fake.requests().is_empty(), "no request was sent");
    assert!(t
        .store()
        .list_runs(&Default::default())
        .expect("list")
        .is_empty());
}

#[tokio::test]
async fn cancel_asks_vertex_and_the_run_ends_cancelled() {
    // Running until cancelled.
    let fake = Fake::with_script(vec![json!({"state": vs::RUNNING})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = submit_hi(&t).await;
    for _ in 0..200 {
        let s = t
            .store()
            .get_summary(&submitted.id)
            .expect("get")
            .expect("row");
        if s.state == RunState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(t.cancel(&submitted.id).await.expect("cancel"));
    assert_eq!(
        wait_final(t.store(), &submitted.id).await,
        RunState::Cancelled
    );
    let cancel = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(":cancel"))
        .expect("a cancel request");
    assert_eq!(cancel.method, "POST");
    assert_eq!(cancel.path, format!("/v1/{}:cancel", submitted.remote_name));
    assert_eq!(cancel.auth.as_deref(), Some("Bearer test-token"));
    assert!(
        !t.cancel(&submitted.id).await.expect("cancel again"),
        "already ended"
    );
}

#[tokio::test]
async fn a_job_that_disappeared_fails_the_run() {
    let fake = Fake::with_script(vec![json!({"state": vs::RUNNING})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
    let submitted = submit_hi(&t).await;
    fake.lock().jobs.clear();
    assert_eq!(wait_final(t.store(), &submitted.id).await, RunState::Failed);
    let s = t
        .store()
        .get_summary(&submitted.id)
        .expect("get")
        .expect("row");
    assert!(s
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("no longer exists"));
}

/// `Execution.State` of ML Metadata as Vertex AI answers it (integers).
mod es {
    pub const COMPLETE: i64 = 3;
    pub const CACHED: i64 = 5;
}

/// An ML Metadata artifact as a task detail carries it (`Artifact.State` LIVE = 2).
fn mlmd_artifact(id: &str, title: &str, uri: &str, metadata: Value) -> Value {
    json!({
        "name": format!("projects/my-proj/locations/us-central1/metadataStores/default/artifacts/{id}"),
        "displayName": id, "uri": uri, "schemaTitle": title, "schemaVersion": "0.0.1",
        "state": 2, "metadata": metadata,
    })
}

/// A finished job: `train` reads a dataset and makes a model and metrics (its execution in
/// `execution_state`, Vertex's task state SKIPPED when it came from the cache), then `deploy`
/// reads the model.
fn lineage_job(execution_state: i64) -> Value {
    let model = mlmd_artifact(
        "model-1",
        "system.Model",
        "gs://bucket/root/train/model",
        json!({"framework": "pytorch"}),
    );
    let train_state = if execution_state == es::CACHED {
        ts::SKIPPED
    } else {
        ts::SUCCEEDED
    };
    json!({
        "state": vs::SUCCEEDED, "endTime": "2026-01-01T00:00:10Z",
        "jobDetail": {"taskDetails": [
            {"taskId": "1", "taskName": "hello-pipeline", "state": ts::SUCCEEDED},
            {"taskId": "2", "parentTaskId": "1", "taskName": "train", "state": train_state,
             "startTime": "2026-01-01T00:00:01Z", "endTime": "2026-01-01T00:00:05Z",
             "execution": {"name": "projects/my-proj/locations/us-central1/metadataStores/default/executions/7",
                           "state": execution_state,
                           "metadata": {"input:epochs": 3.0, "output:accuracy": 0.9}},
             "inputs": {"dataset": {"artifacts": [mlmd_artifact("data", "system.Dataset", "gs://bucket/data.csv", json!({}))]}},
             "outputs": {
                 "model": {"artifacts": [model.clone()]},
                 "metrics": {"artifacts": [mlmd_artifact("metrics-1", "system.Metrics", "gs://bucket/root/train/metrics", json!({"accuracy": 0.9}))]},
             }},
            {"taskId": "3", "parentTaskId": "1", "taskName": "deploy", "state": ts::SUCCEEDED,
             "startTime": "2026-01-01T00:00:06Z", "endTime": "2026-01-01T00:00:09Z",
             "execution": {"state": es::COMPLETE},
             "inputs": {"model": {"artifacts": [model]}}},
        ]},
    })
}

#[tokio::test]
async fn task_artifacts_become_lineage_and_a_cached_task_reaches_the_same_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runs = Vec::new();
    for execution_state in [es::COMPLETE, es::CACHED] {
        let fake = Fake::with_script(vec![lineage_job(execution_state)]);
        let base = fake.start().await;
        let t = crate::fake_remote::targets(dir.path(), &base, ATTEMPTS);
        let submitted = submit_hi(&t).await;
        assert_eq!(
            wait_final(t.store(), &submitted.id).await,
            RunState::Succeeded
        );
        runs.push(submitted.id);
    }
    let store = RunStore::open(dir.path()).expect("store");
    let second = store.get_run(&runs[1]).expect("get").expect("run");
    let train = second
        .tasks
        .iter()
        .find(|t| t.path == "train")
        .expect("train");
    assert_eq!(
        train.state,
        TaskState::Cached,
        "an execution CACHED is a cache hit"
    );

    // The first run's graph: the dataset and model by URI, with their schema and metadata,
    // the events by port, and the parameters the execution recorded.
    let first = store
        .lineage(&runs::LineageQuery::new(api::LineageStart::Run(
            runs[0].clone(),
        )))
        .expect("lineage")
        .expect("the run has lineage");
    let artifact = |uri: &str| {
        first
            .artifacts
            .iter()
            .find(|a| a.uri == uri)
            .unwrap_or_else(|| panic!("no artifact {uri}: {:?}", first.artifacts))
    };
    let model = artifact("gs://bucket/root/train/model");
    assert_eq!(model.schema_title, "system.Model");
    assert_eq!(model.metadata.get("framework"), Some(&json!("pytorch")));
    assert_eq!(
        artifact("gs://bucket/data.csv").schema_title,
        "system.Dataset"
    );
    let exec = |path: &str| {
        first
            .executions
            .iter()
            .find(|e| e.task_path == path && e.run_id == runs[0])
            .unwrap_or_else(|| panic!("no execution {path}: {:?}", first.executions))
    };
    assert_eq!(exec("train").parameters.get("epochs"), Some(&json!(3.0)));
    assert_eq!(
        exec("train").output_parameters.get("accuracy"),
        Some(&json!(0.9))
    );
    let has = |e: &api::LineageExecution, ty: api::LineageEventType, port: &str| {
        first.events.iter().any(|v| {
            v.execution_id == e.id
                && v.artifact_id == model.id
                && v.event_type == ty
                && v.port == port
        })
    };
    assert!(
        has(exec("train"), api::LineageEventType::Output, "model"),
        "{:?}",
        first.events
    );
    assert!(
        has(exec("deploy"), api::LineageEventType::Input, "model"),
        "{:?}",
        first.events
    );

    // From the model: made by the first run's train and by the second run's cached train.
    let id = store
        .artifact_id("gs://bucket/root/train/model")
        .expect("artifact id")
        .expect("the model is recorded once");
    let around = store
        .lineage(&runs::LineageQuery::new(api::LineageStart::Artifact(id)))
        .expect("lineage")
        .expect("the artifact has lineage");
    let producers: BTreeMap<&str, TaskState> = around
        .executions
        .iter()
        .filter(|e| e.task_path == "train")
        .map(|e| (e.run_id.as_str(), e.state))
        .collect();
    assert_eq!(
        producers,
        BTreeMap::from([
            (runs[0].as_str(), TaskState::Succeeded),
            (runs[1].as_str(), TaskState::Cached)
        ])
    );
}
