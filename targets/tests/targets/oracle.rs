//! The create request sent to Vertex AI, compared with the one the official Python SDK
//! (`google-cloud-aiplatform`, `aiplatform.PipelineJob(...).submit()`) sends for the same
//! compiled spec, parameters and settings (`tests/oracle/vertex_submit_body.py`). Compared
//! structurally: numbers as numbers (the SDK writes `1.0` where the spec says `1`), ignoring
//! the job id, the display name the SDK makes up and labels it adds itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::fake_remote::{vs, Fake};
use runs::{Events, RunRequest, RunStore};
use serde_json::{json, Value};
use targets::{
    AuthSource, FollowConfig, RetryConfig, SubmitRequest, Target, Targets, TargetsOptions,
    VertexSettings,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

fn python() -> PathBuf {
    std::env::var_os("PIPELINE_CANVAS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

#[path = "../../../tests/common/json_diff.rs"]
mod json_diff;

#[tokio::test]
async fn create_body_matches_the_python_sdk() {
    let doc =
        std::fs::read_to_string(repo().join("examples/pytorch-text-classification.pipeline.json"))
            .expect("example");
    let doc = pipeline::Document::from_json(&doc).expect("document");
    let spec = pipeline::compile(&doc).spec.expect("compiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec_file = dir.path().join("spec.json");
    std::fs::write(&spec_file, serde_json::to_string(&spec).expect("json")).expect("write");

    let settings = VertexSettings {
        project: Some("my-project".into()),
        region: Some("europe-west4".into()),
        pipeline_root: Some("gs://my-bucket/runs".into()),
        service_account: Some("runner@my-project.iam.gserviceaccount.com".into()),
        network: Some("projects/123/global/networks/vpc".into()),
        labels: [("team".to_string(), "nlp".to_string())].into(),
        encryption_key: Some(
            "projects/my-project/locations/europe-west4/keyRings/r/cryptoKeys/k".into(),
        ),
        enable_caching: Some(false),
    };
    let params = [
        ("eval_acc_threshold", json!(0.87)),
        ("gs_train_script_path", json!("gs://my-bucket/train.py")),
        (
            "gs_serving_dependencies_path",
            json!("gs://my-bucket/serve"),
        ),
        ("pipeline_job_id", json!("job-1")),
    ];

    // Ours, as the fake Vertex AI receives it.
    let fake = Fake::with_script(vec![json!({"state": vs::SUCCEEDED})]);
    let base = fake.start().await;
    let store = RunStore::open(dir.path()).expect("store");
    let targets = Targets::new(
        store,
        Events::new(),
        dir.path(),
        TargetsOptions {
            follow: FollowConfig {
                initial: Duration::from_millis(20),
                ..FollowConfig::default()
            },
            retry: RetryConfig::default(),
            vertex_endpoint: Some(base),
            auth: AuthSource::Static("t".into()),
            kfp_token: None,
        },
    )
    .expect("targets");
    let parameters: BTreeMap<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut req = SubmitRequest::new(RunRequest::new(spec, parameters));
    req.vertex = settings.clone();
    req.display_name = Some("text-classifier-run".into());
    targets.submit(Target::Vertex, req).await.expect("submit");
    let ours = fake.requests().remove(0);

    // The SDK's.
    let out = dir.path().join("sdk.json");
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("targets/tests/oracle/vertex_submit_body.py"))
        .arg(&spec_file)
        .args(["--project", "my-project", "--region", "europe-west4"])
        .args(["--pipeline-root", "gs://my-bucket/runs"])
        .args([
            "--service-account",
            "runner@my-project.iam.gserviceaccount.com",
        ])
        .args(["--network", "projects/123/global/networks/vpc"])
        .args(["--label", "team=nlp"])
        .args([
            "--encryption-key",
            "projects/my-project/locations/europe-west4/keyRings/r/cryptoKeys/k",
        ])
        .args([
            "--enable-caching",
            "false",
            "--display-name",
            "text-classifier-run",
        ])
        .arg("--out")
        .arg(&out);
    for (k, v) in &params {
        cmd.arg("--param").arg(format!("{k}={v}"));
    }
    let result = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); set PIPELINE_CANVAS_TEST_PYTHON to a Python with google-cloud-aiplatform",
                python().display()
            )
        });
    assert!(
        result.status.success(),
        "the SDK oracle failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let sdk: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("oracle output")).expect("json");

    assert_eq!(ours.method, sdk["method"]);
    assert_eq!(ours.path, sdk["path"].as_str().unwrap_or_default());
    let sdk_query = &sdk["query"];
    assert!(ours.query.contains(&format!(
        "$alt={}",
        sdk_query["$alt"].as_str().unwrap_or("?")
    )));
    let sdk_id = sdk_query["pipelineJobId"].as_str().unwrap_or_default();
    let our_id = ours
        .query
        .split('&')
        .find_map(|kv| kv.strip_prefix("pipelineJobId="))
        .unwrap_or_default();
    // Same form: `{pipeline-name}-{YYYYmmddHHMMSS}` (ours adds a short suffix).
    assert_eq!(&our_id[..sdk_id.len() - 14], &sdk_id[..sdk_id.len() - 14]);

    let mut sdk_body = sdk["body"].clone();
    if let Some(labels) = sdk_body["labels"].as_object_mut() {
        labels.remove("vertex-ai-pipelines-run-billing-id");
    }
    let mut diffs = Vec::new();
    diffs.extend(json_diff::differences(
        &ours.body,
        &sdk_body,
        json_diff::Numbers::ByValue,
    ));
    assert!(
        diffs.is_empty(),
        "our create body differs from the SDK's:\n{}",
        diffs.join("\n")
    );
}
