//! A run interrupted by a crash (the process running it killed with SIGKILL) is marked failed
//! when the engine next opens its data folder, never left running. Its task process (and the
//! Python worker) die with the engine at once; what they started is killed when the engine
//! next opens its data folder.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use engine::{RunFilter, RunState, TaskState};

/// The parent of process `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

async fn crash_and_recover(pipeline: &str, task_path: &str, python_task: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let mut cli = crate::binary::command()
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
    // The task's process (the grandchild's parent), and for a Python task the worker that
    // forked it.
    let task_process = parent_of(grandchild).expect("the task's process");
    let mut direct = vec![task_process];
    if python_task {
        direct.push(parent_of(task_process).expect("the Python worker"));
    }
    assert!(direct.iter().all(|p| *p != cli.id()), "{direct:?}");
    cli.kill().expect("SIGKILL the engine");
    let _ = cli.wait();
    // They die at once (the kernel's parent-death signal); a loaded machine may take a while
    // to schedule them, so the wait is generous.
    for _ in 0..200 {
        if direct.iter().all(|p| !alive(*p)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for p in &direct {
        assert!(!alive(*p), "process {p} outlived the engine by 10 s");
    }

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
    let engine = crate::common::engine(dir.path(), 2);
    let again = engine
        .store()
        .get_run(&runs[0].id)
        .expect("get")
        .expect("run");
    assert_eq!(again.summary.state, RunState::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_python_run_is_marked_failed_on_the_next_start() {
    crash_and_recover("cancel_python", "spawn-and-wait", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_container_run_is_marked_failed_and_its_processes_killed() {
    crash_and_recover("cancel_container", "sleeper-tree", false).await;
}
