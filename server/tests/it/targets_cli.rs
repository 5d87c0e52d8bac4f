//! `pipeline-canvas submit` against the in-process Vertex AI / KFP stand-in: exit codes,
//! printed lines, settings from `targets.json` and flags, and errors before any request.

use std::path::Path;
use std::process::Output;

use crate::fake_remote::{google_error, ts, vs, Fake};
use serde_json::{json, Value};

fn spec_json() -> Value {
    json!({
        "pipelineInfo": {"name": "hello-pipeline"},
        "components": {"comp-say": {"executorLabel": "exec-say"}},
        "deploymentSpec": {"executors": {"exec-say": {"container": {"image": "alpine", "command": ["true"]}}}},
        "root": {
            "dag": {"tasks": {"say": {"componentRef": {"name": "comp-say"}, "taskInfo": {"name": "say"}}}},
            "inputDefinitions": {"parameters": {
                "message": {"parameterType": "STRING"},
                "count": {"parameterType": "NUMBER_INTEGER", "defaultValue": 1.0}
            }}
        },
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3"
    })
}

async fn submit(dir: &Path, endpoint: &str, args: &[&str]) -> (i32, String, String) {
    let spec = dir.join("spec.json");
    std::fs::write(&spec, spec_json().to_string()).expect("write spec");
    let out: Output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
        .arg("submit")
        .arg(&spec)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env("PIPELINE_CANVAS_VERTEX_ENDPOINT", endpoint)
        .env("PIPELINE_CANVAS_ACCESS_TOKEN", "cli-token")
        .env("PIPELINE_CANVAS_POLL_INITIAL_MS", "20")
        .env("PIPELINE_CANVAS_POLL_MAX_MS", "100")
        .env("PIPELINE_CANVAS_RETRY_INITIAL_MS", "10")
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

const VERTEX: [&str; 8] = [
    "--target",
    "vertex",
    "--project",
    "my-project",
    "--region",
    "us-central1",
    "--pipeline-root",
    "gs://bucket/root",
];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_wait_prints_progress_and_succeeds() {
    let fake = Fake::with_script(vec![
        json!({"state": vs::PENDING}),
        json!({"state": vs::RUNNING, "jobDetail": {"taskDetails": [
            {"taskId": "1", "taskName": "hello-pipeline", "state": ts::RUNNING},
            {"taskId": "2", "parentTaskId": "1", "taskName": "say", "state": ts::RUNNING}]}}),
        json!({"state": vs::SUCCEEDED, "jobDetail": {"taskDetails": [
            {"taskId": "1", "taskName": "hello-pipeline", "state": ts::SUCCEEDED},
            {"taskId": "2", "parentTaskId": "1", "taskName": "say", "state": ts::SUCCEEDED}]}}),
    ]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = submit(
        dir.path(),
        &base,
        &with(
            &VERTEX,
            &[
                "--param",
                "message=hi",
                "--param",
                "count=3",
                "--label",
                "env=test",
                "--wait",
            ],
        ),
    )
    .await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("submitted to Vertex AI Pipelines as projects/my-project/locations/us-central1/pipelineJobs/hello-pipeline-"), "{out}");
    assert!(out.contains("console: https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/hello-pipeline-"), "{out}");
    assert!(out.contains("?project=my-project"), "{out}");
    for line in [
        "run RUNNING",
        "RUNNING    say",
        "SUCCEEDED  say",
        "run SUCCEEDED",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    let create = &fake.requests()[0];
    assert_eq!(create.auth.as_deref(), Some("Bearer cli-token"));
    assert_eq!(
        create.body["runtimeConfig"]["parameterValues"],
        json!({"message": "hi", "count": 3})
    );
    assert_eq!(create.body["labels"], json!({"env": "test"}));
    assert!(
        !err.contains("cli-token") && !out.contains("cli-token"),
        "the token is never printed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_wait_fails_when_the_run_fails() {
    let fake = Fake::with_script(vec![json!({
        "state": vs::FAILED,
        "error": {"code": 9, "message": "The DAG failed because some tasks failed."}
    })]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = submit(
        dir.path(),
        &base,
        &with(&VERTEX, &["--param", "message=hi", "--wait"]),
    )
    .await;
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("run FAILED"), "{out}");
    assert!(
        err.contains("ended FAILED: The DAG failed because some tasks failed."),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_settings_fail_before_any_request() {
    let fake = Fake::default();
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = submit(
        dir.path(),
        &base,
        &[
            "--target",
            "vertex",
            "--region",
            "us-central1",
            "--pipeline-root",
            "gs://b/r",
            "--param",
            "message=hi",
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: the Vertex AI project is not set: pass --project"),
        "{err}"
    );
    let (code, _, err) = submit(dir.path(), &base, &with(&VERTEX, &["--param", "nope=1"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("no parameter \"nope\""), "{err}");
    let (code, _, err) = submit(
        dir.path(),
        &base,
        &["--target", "kfp", "--param", "message=hi"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("Kubeflow Pipelines host is not set"), "{err}");
    assert!(fake.requests().is_empty(), "no request was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn google_errors_are_printed_verbatim() {
    let fake = Fake::default();
    fake.lock().create_errors.push_back((
        400,
        google_error(
            400,
            "INVALID_ARGUMENT",
            "Invalid value for pipelineRoot.",
            json!([{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "runtime_config.gcs_output_directory",
                                         "description": "bucket does not exist"}]}]),
        ),
    ));
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = submit(
        dir.path(),
        &base,
        &with(&VERTEX, &["--param", "message=hi"]),
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("Vertex AI answered HTTP 400"), "{err}");
    assert!(err.contains("Invalid value for pipelineRoot."), "{err}");
    assert!(err.contains("INVALID_ARGUMENT"), "{err}");
    assert!(err.contains("bucket does not exist"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_come_from_targets_json_and_flags_override_them() {
    let fake = Fake::with_script(vec![json!({"state": vs::SUCCEEDED})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(
        dir.path().join("data/targets.json"),
        json!({"vertex": {"project": "from-file", "region": "europe-west4",
                          "pipelineRoot": "gs://file/root", "serviceAccount": "sa@x.iam.gserviceaccount.com"}})
        .to_string(),
    )
    .expect("write settings");
    let (code, out, err) = submit(
        dir.path(),
        &base,
        &[
            "--target",
            "vertex",
            "--region",
            "us-east1",
            "--param",
            "message=hi",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let create = &fake.requests()[0];
    assert_eq!(
        create.path,
        "/v1/projects/from-file/locations/us-east1/pipelineJobs"
    );
    assert_eq!(
        create.body["serviceAccount"],
        "sa@x.iam.gserviceaccount.com"
    );
    assert_eq!(
        create.body["runtimeConfig"]["gcsOutputDirectory"],
        "gs://file/root"
    );
    // Without --wait the command returns at once; the run stays open for the server.
    assert!(!out.contains("run SUCCEEDED"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_to_kfp_and_wait_then_list_it_and_ask_for_its_logs() {
    let fake = Fake::with_script(vec![
        json!({"state": "RUNNING"}),
        json!({"state": "SUCCEEDED"}),
    ]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = submit(
        dir.path(),
        &base,
        &[
            "--target",
            "kfp",
            "--host",
            &base,
            "--experiment",
            "e1",
            "--param",
            "message=hi",
            "--wait",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("submitted to Kubeflow Pipelines as run-0001"),
        "{out}"
    );
    assert!(
        out.contains(&format!("console: {base}/#/runs/details/run-0001")),
        "{out}"
    );
    assert!(out.contains("run SUCCEEDED"), "{out}");
    // The experiment is found by name, or created, as the KFP client does.
    let requests = fake.requests();
    assert_eq!(requests[0].path, "/apis/v2beta1/experiments");
    assert_eq!(requests[1].body, json!({"display_name": "e1"}));
    assert_eq!(requests[2].body["experiment_id"], "exp-0001");

    // `runs` lists the remote run with its target and state; `logs` says where its task logs
    // are (the service's console), with a non-zero exit.
    let data = dir.path().join("data");
    let cli = |args: &[&str]| crate::binary::cli(args, &data);
    let runs = cli(&["runs", "--format", "json"]);
    assert!(runs.status.success(), "{runs:?}");
    let list: Value = serde_json::from_slice(&runs.stdout).expect("runs --format json");
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["target"], "kfp", "{list:?}");
    assert_eq!(list[0]["state"], "SUCCEEDED", "{list:?}");
    assert_eq!(list[0]["pipeline_name"], "hello-pipeline", "{list:?}");
    let table = cli(&["runs"]);
    let table = crate::binary::out(&table);
    assert!(
        table.contains("hello-pipeline") && table.contains("kfp"),
        "{table}"
    );

    let logs = cli(&["logs", "--latest"]);
    assert_eq!(logs.status.code(), Some(1), "{logs:?}");
    let message = crate::binary::err(&logs);
    assert!(
        message.contains("its task logs are in its console")
            && message.contains(&format!("{base}/#/runs/details/run-0001")),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_or_project_that_is_not_a_name_is_refused_before_any_request() {
    let fake = Fake::default();
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = |region: &'static str, project: &'static str| {
        vec![
            "--target",
            "vertex",
            "--project",
            project,
            "--region",
            region,
            "--pipeline-root",
            "gs://b/r",
            "--param",
            "message=hi",
        ]
    };
    // The region is part of the host name: `evil.example/` would send the token elsewhere.
    let (code, _, err) = submit(dir.path(), &base, &flags("evil.example/", "my-project")).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("the Vertex AI region \"evil.example/\" is not a region name"),
        "{err}"
    );
    let (code, _, err) = submit(dir.path(), &base, &flags("us-central1", "p/../x")).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("the Vertex AI project \"p/../x\" is not a Google Cloud project id"),
        "{err}"
    );
    // The same from targets.json.
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(
        dir.path().join("data/targets.json"),
        json!({"vertex": {"project": "my-project", "region": "evil.example#",
                          "pipelineRoot": "gs://b/r"}})
        .to_string(),
    )
    .expect("write targets.json");
    let (code, _, err) = submit(
        dir.path(),
        &base,
        &["--target", "vertex", "--param", "message=hi"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("\"evil.example#\" is not a region name"),
        "{err}"
    );
    assert!(fake.requests().is_empty(), "no request was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kfp_token_over_plain_http_to_another_machine_is_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, spec_json().to_string()).expect("write spec");
    let run = |host: &str| {
        let host = host.to_string();
        let spec = spec.clone();
        let data = dir.path().join("data");
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
                .arg("submit")
                .arg(&spec)
                .args(["--target", "kfp", "--host", &host, "--param", "message=hi"])
                .arg("--data-dir")
                .arg(data)
                .env("PIPELINE_CANVAS_KFP_TOKEN", "kfp-secret")
                .env("PIPELINE_CANVAS_RETRY_INITIAL_MS", "1")
                .env_remove("RUST_LOG")
                .output()
                .await
                .expect("run the binary")
        }
    };
    // A host that does not resolve: the request fails, after the warning.
    let out = run("http://kfp.pipeline-canvas-test.invalid").await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is sent over plain http to http://kfp.pipeline-canvas-test.invalid"),
        "{err}"
    );
    assert!(!err.contains("kfp-secret"), "{err}");
    // To this machine: no warning.
    let fake = Fake::with_script(vec![json!({"state": "RUNNING"})]);
    let base = fake.start().await;
    let out = run(&base).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("plain http"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_waiting_exits_130_and_the_run_goes_on() {
    stop_waiting_by(libc::SIGINT, 130, "SIGINT").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_waiting_exits_143_and_the_run_goes_on() {
    stop_waiting_by(libc::SIGTERM, 143, "SIGTERM").await;
}

/// Submits with `--wait`, sends `signal` once the console link is printed, and checks the
/// exit status and the message.
async fn stop_waiting_by(signal: libc::c_int, code: i32, name: &str) {
    let fake = Fake::with_script(vec![json!({"state": "RUNNING"})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, spec_json().to_string()).expect("write spec");
    let mut cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
        .arg("submit")
        .arg(&spec)
        .args([
            "--target",
            "kfp",
            "--host",
            &base,
            "--param",
            "message=hi",
            "--wait",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("PIPELINE_CANVAS_POLL_INITIAL_MS", "20")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the binary");
    let mut stdout = cli.stdout.take().expect("stdout");
    let mut seen = String::new();
    while !seen.contains("console:") {
        let mut buf = [0u8; 256];
        let n = tokio::io::AsyncReadExt::read(&mut stdout, &mut buf)
            .await
            .expect("read");
        assert!(n > 0, "the command ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(buf.get(..n).unwrap_or_default()));
    }
    let pid = i32::try_from(cli.id().expect("pid")).expect("pid");
    // SAFETY: kill only sends a signal to the command started above.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let out = cli.wait_with_output().await.expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(
        err.contains("stopped waiting for run")
            && err.contains(&format!(" on {name}; it goes on remotely")),
        "{err}"
    );
}

/// `pipeline-canvas <args> --data-dir <dir>/data`, with the fake's endpoint.
async fn cli_in(dir: &Path, endpoint: &str, args: &[&str]) -> (i32, String, String) {
    let out: Output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("PIPELINE_CANVAS_VERTEX_ENDPOINT", endpoint)
        .env("PIPELINE_CANVAS_ACCESS_TOKEN", "cli-token")
        .env("PIPELINE_CANVAS_RETRY_INITIAL_MS", "10")
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

#[tokio::test(flavor = "multi_thread")]
async fn runs_logs_and_cancel_work_on_a_remote_run() {
    let fake = Fake::with_script(vec![json!({"state": "RUNNING"})]);
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = submit(
        dir.path(),
        &base,
        &["--target", "kfp", "--host", &base, "--param", "message=hi"],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = cli_in(dir.path(), &base, &["runs", "--format", "json"]).await;
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed[0]["target"], "kfp");
    assert_eq!(listed[0]["pipeline_name"], "hello-pipeline");
    let id = listed[0]["run_name"].as_str().expect("id").to_string();
    let (code, _, err) = cli_in(dir.path(), &base, &["logs", &id]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "error: run {id} runs on Kubeflow Pipelines: its task logs are in its console: \
             {base}/#/runs/details/run-0001\n"
        )
    );
    let (code, out, err) = cli_in(dir.path(), &base, &["cancel", &id]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        out,
        format!("run {id}: cancel requested; the service records the run CANCELLED\n")
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/apis/v2beta1/runs/run-0001:terminate"),
        "{:?}",
        fake.requests()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_kfp_host_fails_at_once_saying_what_to_check() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let host = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = submit(
        dir.path(),
        &host,
        &["--target", "kfp", "--host", &host, "--param", "message=hi"],
    )
    .await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.starts_with(&format!(
            "error: Kubeflow Pipelines: nothing answers at {host} ("
        )) && err.contains("check the host (--host, or kfp.host in targets.json)"),
        "{err}"
    );
    assert!(
        !err.contains("retrying"),
        "a refused connection is not retried: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn vertex_without_credentials_says_how_to_get_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, spec_json().to_string()).expect("write spec");
    // No ADC file (an empty HOME), no token, and a metadata server that is not there.
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let out: Output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
        .arg("submit")
        .arg(&spec)
        .args(VERTEX)
        .args(["--param", "message=hi", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("HOME", &home)
        .env("GCE_METADATA_HOST", "127.0.0.1:9")
        .env("PIPELINE_CANVAS_VERTEX_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("PIPELINE_CANVAS_ACCESS_TOKEN")
        .env_remove("PIPELINE_CANVAS_DATA_DIR")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run the binary");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: cannot get Google credentials to call Vertex AI (")
            && err.ends_with(
                "): run `gcloud auth application-default login`, set \
                 GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or set \
                 PIPELINE_CANVAS_ACCESS_TOKEN to an access token (`gcloud auth \
                 print-access-token`)\n"
            ),
        "{err}"
    );
    assert!(!err.contains("Subsequent calls"), "{err}");
}
