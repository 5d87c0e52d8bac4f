//! The seed's workflow, for real, on this machine: `pipeline-canvas run` on the PyTorch text
//! classification example with no parameters trains a model, decides, packages it with the
//! real `torch-model-archiver`, serves it from a real TorchServe and asks it for predictions;
//! with a threshold above the accuracy the deployment branch is skipped.
//!
//! The managed Python environment (PyTorch, TorchServe: about 5 GB) is installed once into
//! `PIPELINE_CANVAS_TEST_ENVS_DIR` (default `~/.cache/pipeline-canvas-tests/envs`), shared by
//! every run of this test and the example's benchmark; TorchServe needs Java 17
//! (`scripts/test` installs `openjdk-17-jre-headless` when it is missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::binary::{err, out, BIN};
use crate::common::python;

const EXAMPLE: &str = "examples/pytorch-text-classification.pipeline.json";

/// The shared folder of managed environments.
fn envs_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PIPELINE_CANVAS_TEST_ENVS_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/pipeline-canvas-tests/envs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// `pipeline-canvas <args> --data-dir <data>` with the shared environments.
fn cli(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .current_dir(repo())
        .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
        .env("PIPELINE_CANVAS_ENVS_DIR", envs_dir())
        .env("PIPELINE_CANVAS_PYTHON", python())
        .env_remove("PIPELINE_CANVAS_ALLOW_HOST_COMMANDS")
        .env_remove("RUST_LOG")
        .env_remove("PIPELINE_CANVAS_DATA_DIR")
        .output()
        .expect("run pipeline-canvas")
}

/// Stops every endpoint of `data` when dropped, so a failing test leaves no TorchServe.
struct StopAll<'a>(&'a Path);

impl Drop for StopAll<'_> {
    fn drop(&mut self) {
        let _ = cli(&["endpoints", "stop", "--all"], self.0);
    }
}

/// The only run in `data`, with its tasks.
fn only_run(data: &Path) -> api::RunDetail {
    let store = runs::RunStore::open(data).expect("run store");
    let list = store.list_runs(&Default::default()).expect("runs");
    assert_eq!(list.len(), 1, "one run");
    store.get_run(&list[0].id).expect("read").expect("the run")
}

fn task<'a>(run: &'a api::RunDetail, name: &str) -> &'a api::TaskRow {
    run.tasks
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no task {name}: {:?}", names(run)))
}

fn names(run: &api::RunDetail) -> Vec<(String, String)> {
    run.tasks
        .iter()
        .map(|t| (t.path.clone(), t.state.as_str().to_string()))
        .collect()
}

fn endpoints(data: &Path) -> Vec<Value> {
    let o = cli(&["endpoints", "list", "--json"], data);
    assert!(o.status.success(), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).expect("endpoints JSON");
    v.as_array().cloned().unwrap_or_default()
}

/// A real prediction request: POSTs `text` to `url`, the answer's body.
fn post(url: &str, text: &str) -> String {
    targets::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .body(text.to_string())
            .send()
            .await
            .expect("the endpoint answers");
        assert!(r.status().is_success(), "{}", r.status());
        r.text().await.expect("body")
    })
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn the_seed_trains_decides_packages_serves_and_predicts_locally() {
    let data = tempfile::tempdir().expect("tempdir");
    let _stop = StopAll(data.path());
    let o = cli(&["run", EXAMPLE, "--keep-endpoints"], data.path());
    let run = only_run(data.path());
    assert!(
        o.status.success(),
        "the example failed: {}\n{}\ntasks: {:?}",
        out(&o),
        err(&o),
        names(&run)
    );
    // Every task ran, each cloud step on its local backing.
    for t in run
        .tasks
        .iter()
        .filter(|t| t.kind == api::TaskKind::Container)
    {
        assert_eq!(
            t.state,
            api::TaskState::Succeeded,
            "{}: {:?}",
            t.path,
            t.error
        );
        let backing = t.backing.as_deref().unwrap_or_default();
        assert!(backing.starts_with("local: "), "{}: {backing:?}", t.path);
    }
    let deploy = task(&run, "model-deploy");
    assert!(
        deploy
            .backing
            .as_deref()
            .is_some_and(|b| b.starts_with("local: TorchServe on 127.0.0.1:")),
        "{:?}",
        deploy.backing
    );
    // The training job's metrics decided; its model is an artifact of the run.
    let details = task(&run, "get-training-job-details");
    let accuracy = details.outputs.as_ref().expect("outputs")["parameters"]["eval_metric"]
        .as_f64()
        .expect("eval_metric");
    assert!(accuracy > 0.7, "accuracy {accuracy}");
    // The prediction: the first review is praise, the second is not.
    let predict = task(&run, "make-prediction-request");
    let predictions = &predict.outputs.as_ref().expect("outputs")["parameters"]["predictions"];
    let labels: Vec<&str> = predictions
        .as_array()
        .expect("a list of predictions")
        .iter()
        .map(|p| p["prediction"]["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(labels, ["positive", "negative"], "{predictions}");
    // The lineage links the deployment back to its MAR, the trained model, the training run
    // and the data set it trained on.
    let store = runs::RunStore::open(data.path()).expect("run store");
    let whole = store
        .lineage(&runs::LineageQuery::new(api::LineageStart::Run(
            run.summary.id.clone(),
        )))
        .expect("lineage")
        .expect("the run's lineage");
    let exec = |name: &str| {
        whole
            .executions
            .iter()
            .find(|e| e.task_path.rsplit('/').next() == Some(name))
            .unwrap_or_else(|| panic!("no execution of task {name}"))
            .id
    };
    let mut q = runs::LineageQuery::new(api::LineageStart::Execution(exec("model-deploy")));
    q.depth = 8;
    q.direction = api::LineageDirection::Upstream;
    let upstream = store.lineage(&q).expect("lineage").expect("graph");
    let reached: Vec<&str> = upstream
        .executions
        .iter()
        .filter_map(|e| e.task_path.rsplit('/').next())
        .collect();
    for name in [
        "generate-mar-file",
        "get-training-job-details",
        "custom-training-job",
    ] {
        assert!(
            reached.contains(&name),
            "{name} not upstream of the deployment: {reached:?} {:?} / {:?}",
            upstream
                .artifacts
                .iter()
                .map(|a| (&a.uri, &a.schema_title))
                .collect::<Vec<_>>(),
            whole
                .artifacts
                .iter()
                .map(|a| (&a.uri, &a.schema_title))
                .collect::<Vec<_>>()
        );
    }
    let mar = &task(&run, "generate-mar-file")
        .outputs
        .as_ref()
        .expect("outputs")["artifacts"]["model_mar"][0]["uri"];
    assert!(
        upstream
            .artifacts
            .iter()
            .any(|a| Some(a.uri.as_str()) == mar.as_str()),
        "the MAR {mar} is not upstream of the deployment"
    );
    let mut q = runs::LineageQuery::new(api::LineageStart::Execution(exec("custom-training-job")));
    q.direction = api::LineageDirection::Downstream;
    let made = store.lineage(&q).expect("lineage").expect("graph");
    let types: Vec<&str> = made
        .artifacts
        .iter()
        .map(|a| a.schema_title.as_str())
        .collect();
    for t in [
        "system.Model",
        "system.Dataset",
        "system.ClassificationMetrics",
    ] {
        assert!(
            types.contains(&t),
            "the training run made no {t}: {types:?}"
        );
    }
    // The endpoint outlives the run, is listed, answers a request, and is stopped on demand.
    let listed = endpoints(data.path());
    assert_eq!(listed.len(), 1, "{listed:?}");
    let ep = &listed[0];
    assert_eq!(ep["state"], "serving", "{ep}");
    assert_eq!(ep["runId"], run.summary.id.as_str(), "{ep}");
    let url = ep["url"].as_str().expect("url").to_string();
    let answer = post(&url, "What a wonderful, moving film.");
    assert!(answer.contains("positive"), "{answer}");
    let pid = ep["pid"].as_u64().expect("pid");
    assert!(alive(pid));
    let id = ep["id"].as_str().expect("id");
    let o = cli(&["endpoints", "stop", id], data.path());
    assert!(o.status.success(), "{}", err(&o));
    assert!(!alive(pid), "TorchServe {pid} still runs after stop");
    assert_eq!(endpoints(data.path())[0]["state"], "stopped");
}

#[test]
fn a_threshold_above_the_accuracy_skips_the_deployment() {
    let data = tempfile::tempdir().expect("tempdir");
    let _stop = StopAll(data.path());
    let o = cli(
        &["run", EXAMPLE, "--param", "eval_acc_threshold=0.999"],
        data.path(),
    );
    let run = only_run(data.path());
    assert!(
        o.status.success(),
        "{}\n{}\n{:?}",
        out(&o),
        err(&o),
        names(&run)
    );
    for name in ["custom-training-job", "get-training-job-details"] {
        assert_eq!(task(&run, name).state, api::TaskState::Succeeded, "{name}");
    }
    for name in [
        "generate-mar-file",
        "model-deploy",
        "make-prediction-request",
    ] {
        assert_eq!(task(&run, name).state, api::TaskState::Skipped, "{name}");
    }
    assert!(endpoints(data.path()).is_empty(), "nothing was deployed");
}
