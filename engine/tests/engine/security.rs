//! Parameter values never reach a shell as code, artifacts and outputs stay inside the
//! pipeline root, Pipeline Canvas's tokens never reach a task, a local run never calls Google
//! Cloud, and a container component runs on the host only when that is allowed.

use crate::common::*;
use engine::{RunState, TaskState};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_value_is_never_executed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let marker = dir.path().join("pwned");
    let text = format!(
        "$(touch {m}) `touch {m}`; touch {m} ' \" && touch {m}",
        m = marker.display()
    );
    let run = execute(&engine, "security", &[("text", json!(text))]).await;
    assert_run(&run, RunState::Succeeded);
    assert!(!marker.exists(), "the parameter value was executed");
    // The value arrives intact in the shell script's output and in the Python component.
    assert_eq!(
        output(&run, "shell-echo", "out"),
        json!(format!("{text}\n"))
    );
    assert_eq!(pipeline_output(&run, "Output"), json!(text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_pointing_outside_the_pipeline_root_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "escape", &[]).await;
    assert_run(&run, RunState::Failed);
    let t = task(&run, "escape");
    assert_eq!(t.state, TaskState::Failed);
    let err = t.error.as_deref().unwrap_or_default();
    assert!(err.contains("outside the local pipeline root"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_folders_stay_inside_the_run_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    // A hand-written spec whose task name tries to climb out of the run folder.
    let mut spec = spec("chain");
    let dag = spec.root.dag.as_mut().expect("dag");
    let t = dag.tasks.remove("add").expect("add");
    dag.tasks.insert("../../escaped".into(), t);
    for other in dag.tasks.values_mut() {
        other.dependent_tasks.iter_mut().for_each(|d| {
            if d == "add" {
                *d = "../../escaped".into();
            }
        });
        if let Some(inputs) = other.inputs.as_mut() {
            for p in inputs.parameters.values_mut() {
                if let Some(o) = p.task_output_parameter.as_mut() {
                    if o.producer_task == "add" {
                        o.producer_task = "../../escaped".into();
                    }
                }
            }
        }
    }
    let run = run_spec(&engine, spec, params(&[]), Default::default()).await;
    assert_run(&run, RunState::Succeeded);
    assert!(!dir.path().join("escaped").exists());
    let runs = dir.path().join("runs");
    let inside = walk(&runs);
    assert!(inside.iter().any(|p| p.contains("_..")), "{inside:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_names_stay_inside_the_task_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    // The shell component's output parameter `out` renamed `../../x` everywhere.
    let mut v = serde_json::to_value(spec("security")).expect("json");
    let outputs = &mut v["components"]["comp-shell-echo"]["outputDefinitions"]["parameters"];
    let out = outputs
        .as_object_mut()
        .and_then(|o| o.remove("out"))
        .expect("out");
    outputs["../../x"] = out;
    let exec = &mut v["deploymentSpec"]["executors"]["exec-shell-echo"]["container"];
    let text = exec.to_string().replace("['out']", "['../../x']");
    *exec = serde_json::from_str::<Value>(&text).expect("json");
    let spec = serde_json::from_value(v).expect("spec");
    let run = run_spec(
        &engine,
        spec,
        params(&[("text", json!("hi"))]),
        Default::default(),
    )
    .await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(output(&run, "shell-echo", "../../x"), json!("hi\n"));
    let runs = dir.path().join("runs");
    let written: Vec<String> = walk(&runs)
        .into_iter()
        .filter(|p| p.ends_with("/x") || p.ends_with("_.._x") || p.ends_with("_.._.._x"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(
        written[0].contains("/shell-echo/parameters/"),
        "{}",
        written[0]
    );
    assert!(!dir.path().join("x").exists() && !runs.join("x").exists());
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            out.push(e.path().display().to_string());
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_cloud_component_without_a_local_backing_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Even with host commands allowed, the launcher is never started.
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "google_cloud", &[]).await;
    assert_run(&run, RunState::Failed);
    let t = task(&run, "tabular-dataset-create");
    assert_eq!(t.state, TaskState::Failed);
    let err = t.error.as_deref().unwrap_or_default();
    for part in ["Google Cloud", "remote_runner", "Vertex AI target"] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(!t.has_log, "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_commands_run_on_the_host_only_when_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = engine::EngineConfig::new(dir.path());
    config.python = python();
    config.containers = engine::ContainerChoice::None;
    let engine = engine::Engine::open(config).expect("open engine");
    let run = execute(&engine, "containers", &[]).await;
    assert_run(&run, RunState::Failed);
    let t = task(&run, "write-lines");
    assert_eq!(t.state, TaskState::Failed);
    let err = t.error.as_deref().unwrap_or_default();
    for part in ["no container runtime", "podman", "--allow-host-commands"] {
        assert!(err.contains(part), "{part}: {err}");
    }
}
