//! The create request sent to Vertex AI, compared with the one the official Python SDK
//! (`google-cloud-aiplatform`, `aiplatform.PipelineJob(...).submit()`) sends for the same
//! compiled spec, parameters and settings (`tests/oracle/vertex_submit_body.py`). Compared
//! structurally: numbers as numbers (the SDK writes `1.0` where the spec says `1`), ignoring
//! the job id, the display name the SDK makes up and labels it adds itself. The requests of the
//! Kubeflow Pipelines target likewise, against those of the KFP SDK's `kfp.Client`
//! (`tests/oracle/kfp_client_run.py`).

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

/// What a KFP request is, for comparing two sequences: the experiment lookup and create, the
/// run's create, read and terminate.
fn kfp_kind(r: &crate::fake_remote::Recorded) -> String {
    let path = match r.path.strip_prefix("/apis/v2beta1/runs/") {
        Some(rest) if rest.ends_with(":terminate") => "runs/{id}:terminate",
        Some(_) => "runs/{id}",
        None => r.path.trim_start_matches("/apis/v2beta1/"),
    };
    format!("{} {path}", r.method)
}

/// A query parameter of a recorded (decoded) query string.
fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

/// The requests of a KFP submission, made by the KFP SDK's client
/// (`kfp.Client().create_run_from_pipeline_package`, then `get_run`, `terminate_run`) and by our
/// target, each against its own stand-in of the v2beta1 API, for a pipeline with a Kubernetes
/// platform spec: the same calls in the same order, with the same experiment lookup and
/// namespace, the same run body (spec and platform spec, parameters, root, experiment) and the
/// same token.
#[tokio::test]
async fn kfp_requests_match_the_kfp_client() {
    const TOKEN: &str = "kfp-oracle-token";
    let package =
        repo().join("../shared/kfp-conformance/critical/pipeline_with_secret_as_env.yaml");
    let text = std::fs::read_to_string(&package).expect("the conformance pipeline");
    let pipeline::import::KfpFile::Spec(file) =
        pipeline::import::read_file(&text).expect("a compiled pipeline")
    else {
        panic!("{} is not a compiled spec", package.display());
    };
    assert!(
        file.platform_spec.is_some(),
        "the pipeline has a platform spec"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let script = || vec![json!({"state": "RUNNING"})];

    // The KFP SDK's client.
    let theirs = Fake::with_script(script());
    let their_base = theirs.start().await;
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("targets/tests/oracle/kfp_client_run.py"))
        .arg(&package)
        .args(["--host", &their_base, "--namespace", "team-a"])
        .args(["--experiment", "nlp", "--run-name", "nightly"])
        .args(["--pipeline-root", "minio://mlpipeline/v2/artifacts"])
        .args(["--token", TOKEN])
        .args(["--param", r#"secret_parm="db-secret""#])
        // No kfp context file of this machine's user, no proxy.
        .env("HOME", dir.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy");
    let result = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); set PIPELINE_CANVAS_TEST_PYTHON to a Python with kfp",
                python().display()
            )
        });
    assert!(
        result.status.success(),
        "the KFP client failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );

    // Ours.
    let ours = Fake::with_script(script());
    let our_base = ours.start().await;
    let mut options = crate::fake_remote::options(&our_base, 1);
    options.kfp_token = Some(TOKEN.into());
    let store = RunStore::open(dir.path()).expect("store");
    let targets = Targets::new(store, Events::new(), dir.path(), options).expect("targets");
    let mut run = RunRequest::from_spec_file(*file);
    run.parameters = [("secret_parm".to_string(), json!("db-secret"))].into();
    let mut req = SubmitRequest::new(run);
    req.display_name = Some("nightly".into());
    req.kfp = targets::KfpSettings {
        host: Some(our_base.clone()),
        namespace: Some("team-a".into()),
        experiment: Some("nlp".into()),
        pipeline_root: Some("minio://mlpipeline/v2/artifacts".into()),
    };
    let submitted = targets.submit(Target::Kfp, req).await.expect("submit");
    // Read at least once by the follower, then terminated.
    for _ in 0..500 {
        if ours
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.contains("/runs/"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(targets.cancel(&submitted.id).await.expect("cancel"));

    // The same calls, in the same order (ours reads the run more than once: it follows it).
    let first_of_each = |requests: Vec<crate::fake_remote::Recorded>| {
        let mut seen = Vec::<String>::new();
        let mut firsts = Vec::new();
        for r in requests {
            let kind = kfp_kind(&r);
            if !seen.contains(&kind) {
                seen.push(kind.clone());
                firsts.push((kind, r));
            }
        }
        firsts
    };
    let theirs = first_of_each(theirs.requests());
    let ours = first_of_each(ours.requests());
    let kinds = |v: &[(String, crate::fake_remote::Recorded)]| {
        v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&ours),
        kinds(&theirs),
        "the calls differ from the KFP client's"
    );
    assert_eq!(
        kinds(&theirs),
        [
            "GET experiments",
            "POST experiments",
            "POST runs",
            "GET runs/{id}",
            "POST runs/{id}:terminate"
        ]
    );
    let mut diffs = Vec::new();
    for ((kind, o), (_, t)) in ours.iter().zip(&theirs) {
        if o.auth != t.auth {
            diffs.push(format!(
                "{kind}: token {:?}, the client's {:?}",
                o.auth, t.auth
            ));
        }
        if o.path != t.path {
            diffs.push(format!("{kind}: path {}, the client's {}", o.path, t.path));
        }
        for key in ["namespace", "filter"] {
            let parse = |q: &str| {
                query_param(q, key).map(|v| serde_json::from_str::<Value>(&v).unwrap_or(json!(v)))
            };
            if parse(&o.query) != parse(&t.query) {
                diffs.push(format!(
                    "{kind}: ?{key} in {:?}, the client's {:?}",
                    o.query, t.query
                ));
            }
        }
        diffs.extend(
            json_diff::differences(&o.body, &t.body, json_diff::Numbers::ByValue)
                .into_iter()
                .map(|d| format!("{kind}: {d}")),
        );
    }
    assert!(
        diffs.is_empty(),
        "our requests differ from the KFP client's:\n{}",
        diffs.join("\n")
    );
    assert_eq!(theirs[0].1.auth.as_deref(), Some("Bearer kfp-oracle-token"));
    assert!(
        theirs[2].1.body["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"].is_object(),
        "the client sends the platform spec: {}",
        theirs[2].1.body
    );
}
