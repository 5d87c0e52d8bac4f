//! Local endpoints with a real TorchServe: the `torchserve` of the local backings' shared
//! environment (`components/local/packages.txt`, installed once into
//! `$PIPELINE_CANVAS_TEST_ENVS_DIR`, default `~/.cache/pipeline-canvas-tests/envs`, as the
//! seed's end-to-end test does; `$PIPELINE_CANVAS_TEST_TORCHSERVE` names another one) and
//! Java 17: deploy, predict over HTTP, list, stop (the process group is gone), stop a run's
//! endpoints, shutdown (kept ones stay), and the reaping of what an engine dropped without
//! stopping left (what a `kill -9` leaves).

use std::path::{Path, PathBuf};
use std::time::Duration;

use engine::endpoints::{DeployRequest, EndpointInfo, DEFAULT_READY_TIMEOUT, REAPED};
use engine::process;
use engine::Engine;
use serde_json::json;

use crate::common::{engine, python};

/// The shared folder of managed environments of the tests.
fn test_envs_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PIPELINE_CANVAS_TEST_ENVS_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/pipeline-canvas-tests/envs")
}

/// The `torchserve` to test with: the local backings' environment, installed on first use.
async fn torchserve() -> PathBuf {
    if let Some(path) = std::env::var_os("PIPELINE_CANVAS_TEST_TORCHSERVE") {
        return PathBuf::from(path);
    }
    let envs = engine::python_env::PythonEnvs::new(&test_envs_dir(), python());
    let env = envs
        .env_for(&components::local::ml_packages(), &[], None)
        .await
        .unwrap_or_else(|e| panic!("cannot install the local backings' environment: {e}"));
    env.bin_dir.join("torchserve")
}

/// A trivial handler: answers each request with its body under `echo`.
const HANDLER: &str = r#"
import json

def handle(data, context):
    if data is None:
        return None
    out = []
    for row in data:
        body = row.get("body") or row.get("data")
        if isinstance(body, (bytes, bytearray)):
            body = json.loads(body.decode("utf-8"))
        out.append({"echo": body})
    return out
"#;

/// Builds `<dir>/mar/<model>.mar` with the real torch-model-archiver (the echo handler only,
/// no weights); returns the MAR folder.
fn build_mar(torchserve: &Path, dir: &Path, model: &str) -> PathBuf {
    build_mar_with(torchserve, dir, model, HANDLER)
}

/// [`build_mar`] with another handler.
fn build_mar_with(torchserve: &Path, dir: &Path, model: &str, handler_code: &str) -> PathBuf {
    let archiver = torchserve.with_file_name("torch-model-archiver");
    std::fs::create_dir_all(dir).expect("model folder");
    let handler = dir.join("echo_handler.py");
    std::fs::write(&handler, handler_code).expect("write handler");
    let mar = dir.join("mar");
    std::fs::create_dir_all(&mar).expect("mar folder");
    let out = std::process::Command::new(&archiver)
        .args(["--model-name", model, "--version", "1.0", "--handler"])
        .arg(&handler)
        .arg("--export-path")
        .arg(&mar)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", archiver.display()));
    assert!(
        out.status.success(),
        "torch-model-archiver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    mar
}

fn request(torchserve: &Path, dir: &Path, run: &str, model: &str) -> DeployRequest {
    let mar_folder = build_mar(torchserve, &dir.join(model), model);
    DeployRequest {
        run_id: run.into(),
        task_path: "condition-1/deploy".into(),
        model_name: model.into(),
        mar_folder,
        torchserve: torchserve.to_path_buf(),
        log: dir.join(format!("{model}.task.log")),
        cancel: None,
        timeout: DEFAULT_READY_TIMEOUT,
    }
}

/// Kills the process groups of the endpoints a test deployed when it ends, passed or not, so
/// a failing test leaves no server behind.
#[derive(Default)]
struct Cleanup(std::sync::Mutex<Vec<u32>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(pids) = self.0.lock() {
            for pid in pids.iter() {
                process::kill_group(*pid);
            }
        }
    }
}

async fn deploy(engine: &Engine, req: DeployRequest, cleanup: &Cleanup) -> EndpointInfo {
    let model = req.model_name.clone();
    let info = engine
        .endpoints()
        .deploy(req)
        .await
        .unwrap_or_else(|e| panic!("deploying {model}: {e}"));
    if let Ok(mut pids) = cleanup.0.lock() {
        pids.push(info.pid);
    }
    eprintln!(
        "TorchServe {model}: start to ready in {:.1} s",
        info.ready_after.as_secs_f64()
    );
    info
}

/// An HTTP client for the endpoints (on the loopback interface: no proxy).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// The answer of the endpoint at `url` to `body`.
async fn predict(http: &reqwest::Client, url: &str, body: serde_json::Value) -> serde_json::Value {
    http.post(url)
        .json(&body)
        .send()
        .await
        .expect("predict")
        .json()
        .await
        .expect("json")
}

/// Waits (up to 20 s) until no process of group `pgid` runs; whether it is gone.
async fn group_gone(pgid: u32) -> bool {
    for _ in 0..200 {
        if !process::group_is_running(pgid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn state_of(engine: &Engine, id: &str) -> (api::EndpointState, Option<String>) {
    let e = engine.endpoints().get(id).expect("endpoint");
    (e.state, e.error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_serves_predictions_and_stops_with_its_process_group() {
    let ts = torchserve().await;
    let cleanup = Cleanup::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let (a, b) = tokio::join!(
        deploy(&engine, request(&ts, dir.path(), "run-a", "echo"), &cleanup),
        deploy(
            &engine,
            request(&ts, dir.path(), "run-b", "other"),
            &cleanup
        ),
    );
    assert!(a.url.starts_with("http://127.0.0.1:") && a.url.ends_with("/predictions/echo"));
    assert_ne!(a.url, b.url);

    let http = client();
    let answer = predict(&http, &a.url, json!({"text": "a fine day"})).await;
    assert_eq!(answer, json!({"echo": {"text": "a fine day"}}));

    let listed = engine.endpoints().list().expect("list");
    let ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    assert!(
        ids.contains(&a.id.as_str()) && ids.contains(&b.id.as_str()),
        "{ids:?}"
    );
    let row = listed.iter().find(|e| e.id == a.id).expect("row");
    assert_eq!(row.state, api::EndpointState::Serving);
    assert_eq!((row.pid, row.run_id.as_str()), (Some(a.pid), "run-a"));
    let task_log = std::fs::read_to_string(dir.path().join("echo.task.log")).expect("task log");
    assert!(
        task_log.contains("TorchServe start-up output"),
        "{task_log}"
    );

    // The user stops one: recorded stopped, its whole group gone.
    let stopped = engine.endpoints().stop(&a.id).await.expect("stop");
    assert_eq!(stopped.state, api::EndpointState::Stopped);
    assert!(
        group_gone(a.pid).await,
        "TorchServe {} survived its stop",
        a.pid
    );
    assert!(http.post(&a.url).json(&json!({})).send().await.is_err());

    // A run that ends stops its endpoints, and only those.
    let none = engine
        .endpoints()
        .stop_run("run-a", "its run failed")
        .await
        .expect("nothing left");
    assert!(none.is_empty());
    let of_b = engine
        .endpoints()
        .stop_run("run-b", "its run ended FAILED")
        .await
        .expect("stop run");
    assert_eq!(of_b.len(), 1);
    assert!(
        group_gone(b.pid).await,
        "TorchServe {} survived its run",
        b.pid
    );
    let (state, error) = state_of(&engine, &b.id);
    assert_eq!(state, api::EndpointState::Stopped);
    assert_eq!(error.as_deref(), Some("stopped: its run ended FAILED"));
    // The watcher's view of the exit does not turn a stop into a failure.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(state_of(&engine, &a.id).0, api::EndpointState::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_taken_before_torchserve_binds_it_is_tried_again_on_others() {
    use std::os::unix::fs::PermissionsExt as _;
    let ts = torchserve().await;
    let cleanup = Cleanup::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let mut req = request(&ts, dir.path(), "run-p", "echo");
    // A TorchServe whose first start finds a port taken (as Java reports it), then the real one.
    let mark = dir.path().join("started-once");
    let wrapper = dir.path().join("torchserve");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ ! -e '{mark}' ]; then\n  touch '{mark}'\n  echo 'java.io.IOException: \
             Failed to bind to address /127.0.0.1:24573'\n  echo 'Caused by: bind(..) failed: \
             Address already in use'\n  exit 0\nfi\nexec '{real}' \"$@\"\n",
            mark = mark.display(),
            real = ts.display()
        ),
    )
    .expect("write the wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    req.torchserve = wrapper;
    let info = deploy(&engine, req, &cleanup).await;
    assert!(
        mark.exists(),
        "the first start was the one that found a port taken"
    );
    let answer = predict(&client(), &info.url, json!({"text": "again"})).await;
    assert_eq!(answer, json!({"echo": {"text": "again"}}));
    // The failed try stays on record, failed; the task's log says what happened.
    let rows = engine.endpoints().list().expect("list");
    let states: Vec<api::EndpointState> = rows
        .iter()
        .filter(|e| e.run_id == "run-p")
        .map(|e| e.state)
        .collect();
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states.contains(&api::EndpointState::Failed), "{states:?}");
    assert!(states.contains(&api::EndpointState::Serving), "{states:?}");
    let task_log = std::fs::read_to_string(dir.path().join("echo.task.log")).expect("task log");
    assert!(
        task_log.contains("starting it again on other ports"),
        "{task_log}"
    );
    engine.endpoints().stop(&info.id).await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_what_is_not_kept_and_a_new_engine_reaps_what_a_crash_left() {
    let ts = torchserve().await;
    let cleanup = Cleanup::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = engine(dir.path(), 2);
    let (kept, dropped, crashed) = tokio::join!(
        deploy(&first, request(&ts, dir.path(), "r", "kept"), &cleanup),
        deploy(&first, request(&ts, dir.path(), "r", "dropped"), &cleanup),
        deploy(&first, request(&ts, dir.path(), "r", "crashed"), &cleanup),
    );
    first.endpoints().set_keep(&kept.id, true).expect("keep");

    // Shutdown stops this engine's endpoints except the kept one...
    first.shutdown(Duration::from_secs(5)).await;
    assert!(
        group_gone(dropped.pid).await,
        "an endpoint not kept survived"
    );
    assert!(
        group_gone(crashed.pid).await,
        "an endpoint not kept survived"
    );
    assert!(process::is_alive(kept.pid, process::start_time(kept.pid)));
    assert_eq!(state_of(&first, &kept.id).0, api::EndpointState::Serving);

    // ...then one deployed after it is left running by an engine that goes away without
    // stopping anything (what kill -9 leaves).
    let orphan = deploy(&first, request(&ts, dir.path(), "r2", "orphan"), &cleanup).await;
    drop(first);
    assert!(process::group_is_running(orphan.pid));

    let second = engine(dir.path(), 2);
    assert!(group_gone(orphan.pid).await, "the orphan was not reaped");
    let (state, error) = state_of(&second, &orphan.id);
    assert_eq!(state, api::EndpointState::Stopped);
    assert_eq!(error.as_deref(), Some(REAPED));
    // The kept one still serves, and is stopped on request.
    assert_eq!(state_of(&second, &kept.id).0, api::EndpointState::Serving);
    assert!(process::group_is_running(kept.pid));
    second.endpoints().stop(&kept.id).await.expect("stop kept");
    assert!(
        group_gone(kept.pid).await,
        "the kept endpoint survived its stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_server_or_model_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let mar = dir.path().join("mar");
    std::fs::create_dir_all(&mar).expect("mar");
    let req = |torchserve: PathBuf| DeployRequest {
        run_id: "r".into(),
        task_path: "deploy".into(),
        model_name: "m".into(),
        mar_folder: mar.clone(),
        torchserve,
        log: dir.path().join("task.log"),
        cancel: None,
        timeout: DEFAULT_READY_TIMEOUT,
    };
    let no_java = std::env::var_os("PATH")
        .is_some_and(|p| !std::env::split_paths(&p).any(|d| d.join("java").is_file()))
        && std::env::var_os("JAVA_HOME").is_none();
    let err = engine
        .endpoints()
        .deploy(req(dir.path().join("bin/torchserve")))
        .await
        .expect_err("no torchserve");
    if no_java {
        assert!(err.contains("openjdk-17-jre-headless"), "{err}");
        return;
    }
    assert!(
        err.contains("TorchServe is not installed") && err.contains("pip install torchserve"),
        "{err}"
    );
    let ts = torchserve().await;
    let err = engine
        .endpoints()
        .deploy(req(ts))
        .await
        .expect_err("no MAR");
    assert!(
        err.contains("no MAR file") && err.contains("m.mar"),
        "{err}"
    );
    assert!(engine.endpoints().list().expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_cannot_load_fails_the_deploy_with_the_workers_error() {
    let ts = torchserve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let mut req = request(&ts, dir.path(), "r", "broken");
    req.mar_folder = build_mar_with(
        &ts,
        &dir.path().join("broken-handler"),
        "broken",
        "import a_module_nobody_installed\n\ndef handle(data, context):\n    return data\n",
    );
    let started = std::time::Instant::now();
    let err = engine
        .endpoints()
        .deploy(req)
        .await
        .expect_err("a handler that cannot be imported");
    assert!(
        err.contains("worker died 3 times")
            && err.contains("ModuleNotFoundError: No module named 'a_module_nobody_installed'"),
        "{err}"
    );
    assert!(
        !err.contains("ACCESS_LOG"),
        "requests are not quoted: {err}"
    );
    eprintln!(
        "a broken model was refused in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let listed = engine.endpoints().list().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, api::EndpointState::Failed);
    let pid = listed[0].pid.expect("its process was recorded");
    assert!(group_gone(pid).await, "the broken server survived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_the_endpoints_it_deployed() {
    let ts = torchserve().await;
    let cleanup = Cleanup::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let pid_file = dir.path().join("task.pid");
    let run = engine
        .submit(engine::RunRequest::new(
            crate::common::spec("cancel_python"),
            crate::common::params(&[("pid_file", json!(pid_file.display().to_string()))]),
        ))
        .expect("submit");
    crate::common::wait_for_pid(&pid_file).await;
    let ep = deploy(&engine, request(&ts, dir.path(), &run, "served"), &cleanup).await;
    assert!(engine.cancel(&run).expect("cancel"));
    let state = tokio::time::timeout(Duration::from_secs(60), engine.wait(&run))
        .await
        .expect("the run ends")
        .expect("wait");
    assert_eq!(state, engine::RunState::Cancelled);
    let (state, error) = state_of(&engine, &ep.id);
    assert_eq!(state, api::EndpointState::Stopped);
    assert_eq!(error.as_deref(), Some("stopped: its run ended CANCELLED"));
    assert!(
        group_gone(ep.pid).await,
        "the cancelled run's endpoint survived"
    );
}
