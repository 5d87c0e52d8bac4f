//! A run interrupted by a crash (the process running it killed with SIGKILL) is marked failed
//! when the engine next opens its data folder, never left running, and the processes its
//! tasks left behind are killed.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use pipeline_canvas::engine::{RunFilter, RunState, TaskState};

const BIN: &str = env!("CARGO_BIN_EXE_pipeline-canvas");

async fn crash_and_recover(pipeline: &str, task_path: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let mut cli = Command::new(BIN)
        .arg("run")
        .arg(pipelines().join(format!("{pipeline}.yaml")))
        .arg("--param")
        .arg(format!("pid_file={}", pid_file.display()))
        .arg("--data-dir")
        .arg(dir.path())
        .env("PIPELINE_CANVAS_PYTHON", python())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pipeline-canvas run");
    let grandchild = wait_for_pid(&pid_file).await;
    assert!(alive(grandchild));
    cli.kill().expect("SIGKILL the engine");
    let _ = cli.wait();

    let engine = engine(dir.path(), 2);
    let runs = engine
        .store()
        .list_runs(&RunFilter::default())
        .expect("list");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Failed);
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("interrupted"),
        "{:?}",
        runs[0].error
    );
    let run = engine
        .store()
        .get_run(&runs[0].id)
        .expect("get")
        .expect("run");
    let t = task(&run, task_path);
    assert_eq!(t.state, TaskState::Failed);
    assert!(t.ended_at.is_some());
    for _ in 0..40 {
        if !alive(grandchild) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !alive(grandchild),
        "process {grandchild} outlived the crash"
    );
    // Opening again changes nothing.
    drop(engine);
    let engine = common::engine(dir.path(), 2);
    let again = engine
        .store()
        .get_run(&runs[0].id)
        .expect("get")
        .expect("run");
    assert_eq!(again.summary.state, RunState::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_python_run_is_marked_failed_on_the_next_start() {
    crash_and_recover("cancel_python", "spawn-and-wait").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_container_run_is_marked_failed_and_its_processes_killed() {
    crash_and_recover("cancel_container", "sleeper-tree").await;
}
