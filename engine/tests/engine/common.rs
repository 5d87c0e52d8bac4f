//! Shared by the engine tests: the test Python (with the KFP SDK), the pipelines it compiles
//! (`engine/tests/oracle/engine_pipelines.py`), and running them on a fresh engine.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use engine::{Engine, EngineConfig, RunDetail, RunOptions, RunRequest, RunState, TaskRow};
use pipeline::ir::PipelineSpec;
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The Python with kfp: `$PIPELINE_CANVAS_TEST_PYTHON`, else `<repo>/.venv/bin/python`.
pub fn python() -> PathBuf {
    std::env::var_os("PIPELINE_CANVAS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

/// The folder of compiled test pipelines (compiled once per test binary).
pub fn pipelines() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("engine-pipelines-")
            .tempdir()
            .expect("tempdir")
            .keep();
        let script = repo().join("engine/tests/oracle/engine_pipelines.py");
        let out = Command::new(python())
            .arg(&script)
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); set PIPELINE_CANVAS_TEST_PYTHON to a Python with kfp 2.17",
                    python().display()
                )
            });
        assert!(
            out.status.success(),
            "compiling the test pipelines failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A compiled test pipeline.
pub fn spec(name: &str) -> PipelineSpec {
    spec_file(&pipelines().join(format!("{name}.yaml")))
}

/// A spec file.
pub fn spec_file(path: &Path) -> PipelineSpec {
    let text = std::fs::read_to_string(path).expect("read spec");
    pipeline::import::parse_file(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .spec
}

/// An engine over `dir`, running up to `concurrency` tasks at once with the test Python; the
/// test pipelines' container components run their commands on this machine (no container
/// runtime here), so host commands are allowed.
pub fn engine(dir: &Path, concurrency: usize) -> Engine {
    let mut config = EngineConfig::new(dir);
    config.concurrency = concurrency;
    config.python = python();
    config.allow_host_commands = true;
    Engine::open(config).expect("open engine")
}

/// Parameters from `(name, JSON)` pairs.
pub fn params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Runs `spec` to its end (at most `limit`), returning the run.
pub async fn run_spec(
    engine: &Engine,
    spec: PipelineSpec,
    parameters: BTreeMap<String, Value>,
    options: RunOptions,
) -> RunDetail {
    let mut req = RunRequest::new(spec, parameters);
    req.options = options;
    let id = engine.submit(req).expect("submit");
    let state = tokio::time::timeout(Duration::from_secs(240), engine.wait(&id))
        .await
        .expect("the run ends in time")
        .expect("wait");
    let detail = engine
        .store()
        .get_run(&id)
        .expect("get")
        .expect("run exists");
    assert_eq!(detail.summary.state, state);
    detail
}

/// Runs a compiled test pipeline with default options.
pub async fn execute(engine: &Engine, name: &str, parameters: &[(&str, Value)]) -> RunDetail {
    run_spec(
        engine,
        spec(name),
        params(parameters),
        RunOptions::default(),
    )
    .await
}

/// The task at `path`, or a panic listing the tasks.
pub fn task<'a>(run: &'a RunDetail, path: &str) -> &'a TaskRow {
    run.tasks
        .iter()
        .find(|t| t.path == path)
        .unwrap_or_else(|| {
            panic!(
                "no task {path}; tasks: {:?}",
                run.tasks.iter().map(|t| &t.path).collect::<Vec<_>>()
            )
        })
}

/// Output parameter `key` of the task at `path`.
pub fn output(run: &RunDetail, path: &str, key: &str) -> Value {
    task(run, path)
        .outputs
        .as_ref()
        .map(|o| o["parameters"][key].clone())
        .unwrap_or(Value::Null)
}

/// The run's pipeline output parameter `key`.
pub fn pipeline_output(run: &RunDetail, key: &str) -> Value {
    run.outputs
        .as_ref()
        .map(|o| o["parameters"][key].clone())
        .unwrap_or(Value::Null)
}

/// A readable list of task states, for assertion messages.
pub fn states(run: &RunDetail) -> String {
    run.tasks
        .iter()
        .map(|t| {
            format!(
                "{} {}{}",
                t.path,
                t.state.as_str(),
                t.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts the run ended in `state`, showing its tasks otherwise.
pub fn assert_run(run: &RunDetail, state: RunState) {
    assert_eq!(
        run.summary.state,
        state,
        "run error: {:?}\ntasks:\n{}",
        run.summary.error,
        states(run)
    );
}

/// Whether process `pid` exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("X");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// Waits until `file` exists and holds a pid.
pub async fn wait_for_pid(file: &Path) -> u32 {
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", file.display());
}
