//! Cancelling a run kills the running task's whole process tree, for Python function
//! components (forked by the warm worker) and for container components run on the host.

use std::time::Duration;

use crate::common::*;
use engine::{RunRequest, RunState, TaskState};
use serde_json::json;

async fn cancel_and_check(pipeline: &str, task_path: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let pid_file = dir.path().join("grandchild.pid");
    let id = engine
        .submit(RunRequest::new(
            spec(pipeline),
            params(&[("pid_file", json!(pid_file.display().to_string()))]),
        ))
        .expect("submit");
    let grandchild = wait_for_pid(&pid_file).await;
    assert!(alive(grandchild), "the task's child process is not running");
    assert!(engine.cancel(&id).expect("cancel"));
    let state = tokio::time::timeout(Duration::from_secs(20), engine.wait(&id))
        .await
        .expect("the run ends soon after cancel")
        .expect("wait");
    assert_eq!(state, RunState::Cancelled);
    let run = engine.store().get_run(&id).expect("get").expect("run");
    assert_eq!(
        task(&run, task_path).state,
        TaskState::Cancelled,
        "{}",
        states(&run)
    );
    for _ in 0..40 {
        if !alive(grandchild) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !alive(grandchild),
        "process {grandchild} survived the cancel"
    );
    // Cancelling again is a no-op; an unknown run is an error.
    assert!(!engine.cancel(&id).expect("cancel again"));
    assert!(engine.cancel("no-such-run").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_kills_a_python_task_and_its_children() {
    cancel_and_check("cancel_python", "spawn-and-wait").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_kills_a_container_task_and_its_children() {
    cancel_and_check("cancel_container", "sleeper-tree").await;
}
