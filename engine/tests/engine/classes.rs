//! Each class of pipeline of issue #14 runs on the local engine: the SDK twins of
//! `tests/oracle/pipelines/` (nested loops, loops in conditions, machine fields, final status
//! in sub-pipelines, artifact lists, `OneOf` and collected outputs, nested parameters, the Kubernetes
//! platform spec), compiled by the KFP SDK, run with real processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::*;
use engine::{RunDetail, RunRequest, RunState};
use serde_json::{json, Value};

/// The folder the twins are compiled into (once per test binary).
fn twins() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("engine-twins-")
            .tempdir()
            .expect("tempdir")
            .keep()
    })
}

/// Compiles twin `name` with the KFP SDK; its spec file.
fn twin(name: &str) -> PathBuf {
    let out = twins().join(format!("{name}.yaml"));
    if !out.exists() {
        let script = repo().join(format!("tests/oracle/pipelines/{name}.py"));
        let run = Command::new(python())
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} ({e})", python().display()));
        assert!(
            run.status.success(),
            "compiling {name} failed:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    out
}

/// Runs twin `name` (with its platform spec) on a fresh engine over the data folder `dir`;
/// the run must succeed.
async fn run_twin(dir: &Path, name: &str) -> RunDetail {
    run_twin_with(dir, name, &[]).await
}

/// Runs twin `name` with `parameters`; the run must succeed.
async fn run_twin_with(dir: &Path, name: &str, parameters: &[(&str, Value)]) -> RunDetail {
    run_spec_with(dir, &twin(name), parameters).await
}

/// Runs the compiled spec `path` with `parameters`; the run must succeed.
async fn run_spec_with(dir: &Path, path: &Path, parameters: &[(&str, Value)]) -> RunDetail {
    let text = std::fs::read_to_string(path).expect("read twin");
    let file = pipeline::import::parse_file(&text).expect("parse twin");
    let e = engine(dir, 8);
    let mut req = RunRequest::from_spec_file(file);
    req.parameters = params(parameters);
    let id = e.submit(req).expect("submit");
    tokio::time::timeout(std::time::Duration::from_secs(240), e.wait(&id))
        .await
        .expect("the run ends in time")
        .expect("wait");
    let run = e.store().get_run(&id).expect("get").expect("run exists");
    assert_run(&run, RunState::Succeeded);
    run
}

/// The note of the task at `path`.
fn note(run: &RunDetail, path: &str) -> String {
    task(run, path).note.clone().unwrap_or_default()
}

/// The state of the task at `path`, by name.
fn state(run: &RunDetail, path: &str) -> &'static str {
    task(run, path).state.as_str()
}

/// Whether the task at `path` ran (or its outputs came from the cache: the same task with
/// the same inputs in another iteration).
fn ran(run: &RunDetail, path: &str) -> bool {
    matches!(state(run, path), "SUCCEEDED" | "CACHED")
}

/// How many artifacts the task at `path` was given as its input `name`.
fn input_artifacts(run: &RunDetail, path: &str, name: &str) -> usize {
    let inputs = task(run, path).inputs.clone().unwrap_or(Value::Null);
    inputs["artifacts"][name].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_loops_run_over_the_outer_item_and_collect_through_two_levels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_twin(dir.path(), "nested_loops").await;
    // `for g in groups: for child in g.children`: two children in the first group, one in
    // the second.
    assert_eq!(
        output(&run, "for-loop-1[0]/for-loop-2[1]/show", "Output"),
        json!("['x', 'y']/y")
    );
    assert_eq!(
        output(&run, "for-loop-1[1]/for-loop-2[0]/show", "Output"),
        json!("['z']/z")
    );
    assert!(
        run.tasks
            .iter()
            .all(|t| t.path != "for-loop-1[1]/for-loop-2[1]"),
        "{}",
        states(&run)
    );
    // A loop over a task output made inside the outer loop, and a loop inside it.
    assert_eq!(
        output(
            &run,
            "for-loop-3[1]/for-loop-4[0]/for-loop-5[0]/show-2",
            "Output"
        ),
        json!("q/r")
    );
    // Collected out of three loop levels into one flat list (as the KFP driver collects down
    // to the tasks), beside the loops and passed down into conditions.
    for at in ["count", "condition-8/condition-9/count-2"] {
        let inputs = task(&run, at).inputs.clone().unwrap_or(Value::Null);
        assert_eq!(
            inputs["parameters"]["values"],
            json!(["p/r", "q/r"]),
            "{at}"
        );
    }
    assert_eq!(output(&run, "count", "Output"), json!(2));
    assert_eq!(
        output(&run, "condition-8/condition-9/count-2", "Output"),
        json!(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_run_inside_conditions_inside_loops() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A third kind of group takes the else branch, whose loop has a condition that reads the
    // outer item's field three groups down.
    let groups = json!([
        {"kind": "a", "children": ["x"]},
        {"kind": "b", "children": []},
        {"kind": "c", "children": []},
    ]);
    let run = run_twin_with(dir.path(), "loops_in_conditions", &[("groups", groups)]).await;
    let deep =
        "for-loop-12[2]/condition-branches-13/condition-17/for-loop-19[0]/condition-20/show-8";
    assert!(ran(&run, deep), "{}", states(&run));
    assert_eq!(
        task(&run, deep).inputs.clone().unwrap_or(Value::Null)["parameters"]["text"],
        json!("c")
    );
    // score("ab") = 2 is not above the limit; score("cde") = 3 is: its loops run.
    assert_eq!(state(&run, "for-loop-1[0]/condition-2"), "SKIPPED");
    assert_eq!(
        state(&run, "for-loop-1[0]/condition-2/for-loop-4/show"),
        "SKIPPED"
    );
    assert!(
        ran(&run, "for-loop-1[1]/condition-2/for-loop-4[1]/show"),
        "{}",
        states(&run)
    );
    assert!(
        ran(&run, "for-loop-1[1]/condition-2/for-loop-5[0]/show-2"),
        "{}",
        states(&run)
    );
    // if/elif/else inside the loop: 2 takes the elif, 3 the else with its loop.
    assert!(
        ran(
            &run,
            "for-loop-1[0]/condition-branches-6/condition-8/show-4"
        ),
        "{}",
        states(&run)
    );
    assert_eq!(
        state(&run, "for-loop-1[0]/condition-branches-6/condition-9"),
        "SKIPPED"
    );
    assert!(
        ran(
            &run,
            "for-loop-1[1]/condition-branches-6/condition-9/for-loop-11[1]/show-5"
        ),
        "{}",
        states(&run)
    );
    // Conditions on a field of the item, a loop over another field inside one.
    assert!(
        ran(
            &run,
            "for-loop-12[0]/condition-branches-13/condition-15/for-loop-14[0]/show-6"
        ),
        "{}",
        states(&run)
    );
    assert_eq!(
        state(&run, "for-loop-12[1]/condition-branches-13/condition-15"),
        "SKIPPED"
    );
    assert!(
        ran(
            &run,
            "for-loop-12[1]/condition-branches-13/condition-16/show-7"
        ),
        "{}",
        states(&run)
    );
    // A loop in a condition, a condition on its item inside.
    assert!(
        ran(&run, "condition-21/for-loop-22[0]/condition-23/show-9"),
        "{}",
        states(&run)
    );
    assert_eq!(
        state(&run, "condition-21/for-loop-22[1]/condition-23"),
        "SKIPPED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_fields_from_values_are_resolved_for_the_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_twin(dir.path(), "machine_fields").await;
    let train = note(&run, "train");
    for asked in [
        "cpu limit 2",
        "cpu request 500m",
        "memory limit 2G",
        "memory request 4G",
        "accelerator NVIDIA_TESLA_T4 x 1",
    ] {
        assert!(train.contains(asked), "{asked:?} in {train}");
    }
    assert!(train.contains("not enforced"), "{train}");
    let constant = note(&run, "train-3");
    assert!(constant.contains("accelerator TPU_V3 x 2"), "{constant}");
    assert_eq!(output(&run, "train", "Output"), json!(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_status_reaches_a_sub_pipeline_used_as_an_exit_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_twin(dir.path(), "final_status").await;
    let status =
        &task(&run, "notify").inputs.clone().unwrap_or(Value::Null)["parameters"]["status"];
    assert_eq!(status["state"], json!("SUCCEEDED"), "{status}");
    assert_eq!(
        status["pipelineTaskName"],
        json!("exit-handler-1"),
        "{status}"
    );
    assert_eq!(
        output(&run, "notify/get-state", "Output"),
        json!("SUCCEEDED")
    );
    assert_eq!(state(&run, "notify/condition-1/work"), "SKIPPED");
    // An exit task inside a sub-pipeline.
    assert_eq!(
        output(&run, "exit-handler-1/guarded/report", "Output"),
        json!("SUCCEEDED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_lists_collect_what_ran() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_twin(dir.path(), "artifact_lists").await;
    assert_eq!(output(&run, "join", "Output"), json!("ab"));
    // From a task in a condition: only the iteration where it ran.
    assert_eq!(input_artifacts(&run, "join-2", "datasets"), 1);
    assert_eq!(output(&run, "join-2", "Output"), json!("a"));
    // Through two loop levels: four.
    assert_eq!(input_artifacts(&run, "join-3", "datasets"), 4);
    assert_eq!(output(&run, "join-3", "Output"), json!("abab"));
    assert_eq!(output(&run, "joiner/join", "Output"), json!("ab"));
    let outputs = run.outputs.clone().unwrap_or(Value::Null);
    assert_eq!(
        outputs["artifacts"]["Output"]
            .as_array()
            .map_or(0, Vec::len),
        2,
        "{outputs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_output_leaves_a_sub_pipeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_twin(dir.path(), "oneof_outputs").await;
    assert_eq!(output(&run, "choose", "Output"), json!("hi"));
    assert_eq!(
        task(&run, "show").inputs.clone().unwrap_or(Value::Null)["parameters"]["s"],
        json!("hi")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_pipelines_pass_lists_and_dicts_with_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_twin(dir.path(), "nested_parameters").await;
    // Defaults at every level; values from the level above.
    assert_eq!(
        output(&run, "level-two/level-three/use", "Output"),
        json!("three['a']{'k': 1.0}")
    );
    assert_eq!(
        output(&run, "level-two/level-three-2/use", "Output"),
        json!("three['b', 'c']{'k': 1.0}")
    );
    assert_eq!(
        output(&run, "level-two-2/level-three-3/use", "Output"),
        json!("two['d']{'m': 3.0}")
    );
    assert_eq!(
        output(&run, "for-loop-1[0]/level-three/use", "Output"),
        json!("three['d']{'m': 3.0}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_platform_spec_runs_from_local_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    for (file, value) in [
        ("secrets/db-credentials/password", "s3cret"),
        ("config-maps/settings/mode", "fast"),
    ] {
        let path = data.join(file);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&path, value).expect("write");
    }
    let run = run_twin(data, "platform_kubernetes").await;
    // The write task wrote /data/out.txt into the PVC's folder; the read task read it there.
    assert_eq!(output(&run, "read", "Output"), json!("hello"));
    let created = output(&run, "createpvc", "Output");
    let name = output(&run, "createpvc", "name");
    let name = name
        .as_str()
        .unwrap_or_else(|| panic!("a PVC name: {created} {}", states(&run)));
    assert!(name.ends_with("-scratch"), "{name}");
    // Deleted after the read; the claim a parameter names stays.
    assert!(!data.join("volumes").join(name).exists());
    assert!(data.join("volumes/shared-data").is_dir());
    let w = note(&run, "write");
    for said in [
        "DB_PASSWORD from secret db-credentials key password",
        "MODE from config map settings key mode",
        &format!("PVC {name} at /data is the folder"),
        "input path rewritten to it",
        "config map settings at /etc/settings is the folder",
        "secret tls at /etc/tls (optional: no folder",
        "Ignored on this machine: ",
        "node selector",
        "tolerations",
        "pod labels and annotations",
        "image pull secrets",
    ] {
        assert!(w.contains(said), "{said:?} in {w}");
    }
    assert!(
        note(&run, "deletepvc").contains("removed the folder"),
        "{}",
        states(&run)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_fails_the_task_saying_where_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The config map is there, the secret is not.
    let mode = dir.path().join("config-maps/settings/mode");
    std::fs::create_dir_all(mode.parent().expect("a folder")).expect("mkdir");
    std::fs::write(&mode, "fast").expect("write");
    let text = std::fs::read_to_string(twin("platform_kubernetes")).expect("read twin");
    let file = pipeline::import::parse_file(&text).expect("parse twin");
    let e = engine(dir.path(), 8);
    let id = e.submit(RunRequest::from_spec_file(file)).expect("submit");
    tokio::time::timeout(std::time::Duration::from_secs(240), e.wait(&id))
        .await
        .expect("the run ends in time")
        .expect("wait");
    let run = e.store().get_run(&id).expect("get").expect("run exists");
    assert_run(&run, RunState::Failed);
    let error = task(&run, "write").error.clone().unwrap_or_default();
    assert!(error.contains("secrets/db-credentials/password"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collected_output_from_a_condition_is_the_list_of_what_ran() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The squares of the items ≥ 2 (4 + 9), collected out of the loop, summed in a condition;
    // the pipeline's output collects that one value.
    let run = run_twin(dir.path(), "collected_outputs").await;
    assert_eq!(
        run.outputs.clone().unwrap_or(Value::Null)["parameters"]["Output"],
        json!([13]),
        "{}",
        states(&run)
    );
    let run = run_twin_with(dir.path(), "collected_outputs", &[("keep", json!(false))]).await;
    assert_eq!(state(&run, "condition-4"), "SKIPPED");
    assert_eq!(
        run.outputs.clone().unwrap_or(Value::Null)["parameters"]["Output"],
        json!([]),
        "nothing ran: the collected output is empty"
    );
    // The artifact list: the one dataset made, or none.
    let artifact_twin = twins().join("collected_outputs-artifact.yaml");
    let run = run_spec_with(dir.path(), &artifact_twin, &[]).await;
    let outputs = run.outputs.clone().unwrap_or(Value::Null);
    let made = outputs["artifacts"]["Output"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(made.len(), 1, "{outputs}");
    let uri = made[0]["uri"].as_str().unwrap_or_default();
    assert_eq!(std::fs::read_to_string(uri).ok().as_deref(), Some("kept"));
    let run = run_spec_with(dir.path(), &artifact_twin, &[("keep", json!(false))]).await;
    assert_eq!(
        run.outputs.clone().unwrap_or(Value::Null)["artifacts"]["Output"],
        json!([])
    );
}
