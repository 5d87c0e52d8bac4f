//! `pipeline-canvas run`: progress lines per task state change, exit status 0 only when the
//! pipeline succeeded.

use std::process::Output;

use engine::RunFilter;

use crate::common::*;

fn run_cli(args: &[&str], data: &std::path::Path) -> Output {
    crate::binary::command()
        .arg("run")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("PIPELINE_CANVAS_PYTHON", python())
        .env_remove("RUST_LOG")
        .output()
        .expect("run pipeline-canvas")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_successful_run_prints_progress_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = pipelines().join("chain.yaml");
    let out = run_cli(
        &[
            spec.to_str().expect("path"),
            "--param",
            "a=1",
            "--param",
            "b=2",
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for want in [
        "RUNNING    add",
        "SUCCEEDED  add",
        "SUCCEEDED  add-3",
        "run SUCCEEDED",
        "\"Output\":113",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    // The same again comes from the cache.
    let out = run_cli(
        &[
            spec.to_str().expect("path"),
            "--param",
            "a=1",
            "--param",
            "b=2",
        ],
        dir.path(),
    );
    assert!(
        text(&out.stdout).contains("CACHED     add  (from cache)"),
        "{}",
        text(&out.stdout)
    );
    let out = run_cli(
        &[
            spec.to_str().expect("path"),
            "--param",
            "a=1",
            "--param",
            "b=2",
            "--no-cache",
        ],
        dir.path(),
    );
    assert!(
        !text(&out.stdout).contains("CACHED"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_failed_run_exits_non_zero_and_says_which_task_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = pipelines().join("exit_handler.yaml");
    let out = run_cli(&[spec.to_str().expect("path")], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAILED     exit-handler-1/fail-task"),
        "{stdout}"
    );
    assert!(stdout.contains("SUCCEEDED  report"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ended FAILED") && stderr.contains("boom"),
        "{stderr}"
    );
}

#[test]
fn documents_run_and_bad_parameters_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text_spec = std::fs::read_to_string(pipelines().join("branches.yaml")).expect("spec");
    let doc = pipeline::import::import_pipeline(&text_spec).expect("import");
    let doc_path = dir.path().join("branches.pipeline.json");
    std::fs::write(&doc_path, doc.to_json()).expect("write");
    let out = run_cli(
        &[doc_path.to_str().expect("path"), "--param", "x=1"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"Output\":\"small\""),
        "{}",
        text(&out.stdout)
    );

    let out = run_cli(
        &[doc_path.to_str().expect("path"), "--param", "x=one"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("\"x\""), "{}", text(&out.stderr));
    let out = run_cli(
        &[doc_path.to_str().expect("path"), "--param", "nope=1"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("\"nope\""),
        "{}",
        text(&out.stderr)
    );
    let out = run_cli(&["/no/such/file.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read /no/such/file.yaml"));
}

/// Starts `run` on a task that sleeps, sends `signal` to the command once the task runs, and
/// checks the run was cancelled, its processes killed, and the exit status.
async fn stopped_by(signal: libc::c_int, code: i32, name: &str) {
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let cli = crate::binary::command()
        .arg("run")
        .arg(pipelines().join("cancel_container.yaml"))
        .arg("--param")
        .arg(format!("pid_file={}", pid_file.display()))
        .arg("--data-dir")
        .arg(dir.path())
        .env("PIPELINE_CANVAS_PYTHON", python())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pipeline-canvas run");
    let grandchild = wait_for_pid(&pid_file).await;
    assert!(alive(grandchild));
    let pid = i32::try_from(cli.id()).expect("pid");
    // SAFETY: kill only sends a signal to the command started above.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let out = tokio::task::spawn_blocking(move || cli.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stdout}\n{stderr}");
    assert!(stdout.contains("run CANCELLED"), "{stdout}");
    assert!(stdout.contains(&format!("{name}: cancelling")), "{stdout}");
    assert!(stderr.contains(&format!("cancelled on {name}")), "{stderr}");
    assert!(
        !alive(grandchild),
        "the task's process {grandchild} outlived the run"
    );
    let engine = engine(dir.path(), 2);
    let runs = engine
        .store()
        .list_runs(&engine::RunFilter::default())
        .expect("list");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, engine::RunState::Cancelled);
    let run = engine
        .store()
        .get_run(&runs[0].id)
        .expect("get")
        .expect("run");
    assert_eq!(
        task(&run, "sleeper-tree").state,
        engine::TaskState::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_the_run_and_exits_143() {
    stopped_by(libc::SIGTERM, 143, "SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_cancels_the_run_and_exits_130() {
    stopped_by(libc::SIGINT, 130, "SIGINT").await;
}

/// Pipeline Canvas's tokens (the server's, Vertex AI's, KFP's) never reach a task's
/// environment, nor so its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_a_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = [
        ("PIPELINE_CANVAS_ACCESS_TOKEN", "secret-vertex-token-1234"),
        ("PIPELINE_CANVAS_KFP_TOKEN", "secret-kfp-token-5678"),
        ("PIPELINE_CANVAS_TOKEN", "secret-server-token-9012"),
    ];
    let out = crate::binary::command()
        .arg("run")
        .arg(pipelines().join("environment.yaml"))
        .arg("--data-dir")
        .arg(dir.path())
        .env("PIPELINE_CANVAS_PYTHON", python())
        .envs(secrets)
        .output()
        .expect("run pipeline-canvas");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let engine = engine(dir.path(), 2);
    let runs = engine
        .store()
        .list_runs(&RunFilter::default())
        .expect("list");
    let run = engine
        .store()
        .get_run(&runs[0].id)
        .expect("get")
        .expect("run");
    for path in ["print-env", "shell-env"] {
        let log = std::path::Path::new(&run.root).join(path).join("log.txt");
        let text = std::fs::read_to_string(&log).expect("the task's log");
        // The environment was printed...
        assert!(text.contains("PATH="), "{path}: {text}");
        // ...without any of Pipeline Canvas's variables.
        for (name, value) in secrets {
            assert!(!text.contains(value), "{path} saw {name}:\n{text}");
        }
        assert!(!text.contains("PIPELINE_CANVAS_"), "{path}:\n{text}");
    }
}
