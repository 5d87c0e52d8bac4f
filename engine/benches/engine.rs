//! The local engine against `kfp.local` (SubprocessRunner), side by side in one run:
//!
//! - a 10-step sequential chain of a trivial Python component (goal: ≥ 8× faster);
//! - 8 independent tasks that each sleep 1 s (goal: ≥ 2.5× faster).
//!
//! Both pipelines are compiled by the installed KFP SDK (`tests/oracle/engine_pipelines.py`),
//! so kfp.local runs them exactly as a user's would. kfp.local's time is measured inside its
//! Python process (interpreter and `kfp` import excluded); the engine's from submitting the
//! run to its end, with the engine already running (its warm worker started), as in the app;
//! the first, cold run is printed too. Prints figures; asserts nothing about time.
//!
//! The engine runs with its default task limit ([`engine::default_concurrency`]); the 8 sleeps
//! are also run with one task per core, for comparison.
//!
//! Last, the seed's workflow (`examples/pytorch-text-classification.pipeline.json`) on its local
//! backings, warm (its PyTorch/TorchServe environment installed once into the tests' shared
//! environments, `$PIPELINE_CANVAS_TEST_ENVS_DIR` or `~/.cache/pipeline-canvas-tests/envs`):
//! train, decide, package, serve from TorchServe and predict (goal: <= 5 minutes on 2 cores).
//!
//! `cargo bench -p engine --bench engine` (needs `PIPELINE_CANVAS_TEST_PYTHON`, a
//! Python with kfp 2.17, or `<repo>/.venv`).

#[path = "../tests/engine/common.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{engine, params, pipelines, python, spec};
use engine::{Engine, EngineConfig, RunOptions, RunRequest, RunState};
use serde_json::Value;

fn kfp_local_seconds(file: &Path) -> f64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/kfp_local_run.py");
    let root = tempfile::tempdir().expect("tempdir");
    let out = Command::new(python())
        .arg(script)
        .arg(file)
        .arg("--root")
        .arg(root.path())
        .output()
        .expect("run kfp.local");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kfp.local oracle output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(v["status"], "SUCCEEDED", "kfp.local failed: {}", v["log"]);
    v["seconds"].as_f64().unwrap_or(f64::NAN)
}

async fn engine_seconds(engine: &Engine, name: &str) -> f64 {
    run_seconds(engine, spec(name), name).await
}

/// Seconds from submitting `spec` (without the cache) to its end; it must succeed.
async fn run_seconds(engine: &Engine, spec: pipeline::ir::PipelineSpec, name: &str) -> f64 {
    let mut req = RunRequest::new(spec, params(&[]));
    req.options = RunOptions {
        enable_caching: Some(false),
        ..RunOptions::default()
    };
    let start = Instant::now();
    let id = engine.submit(req).expect("submit");
    let state = engine.wait(&id).await.expect("wait");
    let took = start.elapsed().as_secs_f64();
    assert_eq!(state, RunState::Succeeded, "{name} failed");
    took
}

/// The shared folder of managed environments of the tests.
fn test_envs_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("PIPELINE_CANVAS_TEST_ENVS_DIR") {
        return d.into();
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, Into::into);
    Path::new(&home).join(".cache/pipeline-canvas-tests/envs")
}

/// The seed example's spec, compiled from its document.
fn seed_spec() -> pipeline::ir::PipelineSpec {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pytorch-text-classification.pipeline.json");
    let text = std::fs::read_to_string(&file).expect("read the example");
    let doc = pipeline::Document::from_json(&text).expect("the example is a document");
    pipeline::compile(&doc).spec.expect("the example compiles")
}

/// The seed example run locally: (seconds of the first run, of a second one).
async fn seed_seconds() -> (f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EngineConfig::new(dir.path());
    config.python = python();
    config.envs_dir = test_envs_dir();
    let engine = Engine::open(config).expect("open engine");
    let mut times = Vec::new();
    for _ in 0..2 {
        times.push(run_seconds(&engine, seed_spec(), "the seed example").await);
        engine
            .endpoints()
            .stop_all()
            .await
            .expect("stop the endpoints");
    }
    (times[0], times[1])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let chain_file = pipelines().join("bench_chain.yaml");
    let sleeps_file = pipelines().join("bench_sleeps.yaml");

    println!("engine benchmark (kfp.local = kfp 2.17 SubprocessRunner, use_venv=False)");
    let kfp_chain = kfp_local_seconds(&chain_file);
    let kfp_sleeps = kfp_local_seconds(&sleeps_file);

    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let (cold, warm, concurrency, sleeps, sleeps_per_core) = runtime.block_on(async {
        // The default limit (`EngineConfig::new`), as the app and the CLI run.
        let engine = engine(dir.path(), EngineConfig::new(dir.path()).concurrency);
        let cold = engine_seconds(&engine, "bench_chain").await;
        let mut warm = Vec::new();
        for _ in 0..5 {
            warm.push(engine_seconds(&engine, "bench_chain").await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sleeps = engine_seconds(&engine, "bench_sleeps").await;
        let concurrency = engine.concurrency();
        drop(engine);
        // One task per core, the default before it fitted waiting tasks.
        let per_core_dir = tempfile::tempdir().expect("tempdir");
        let per_core = common::engine(per_core_dir.path(), cores);
        engine_seconds(&per_core, "bench_chain").await;
        let sleeps_per_core = engine_seconds(&per_core, "bench_sleeps").await;
        (cold, median(warm), concurrency, sleeps, sleeps_per_core)
    });

    println!(
        "10-step chain of a trivial Python component: kfp.local {kfp_chain:.2} s, engine {warm:.3} s \
         (first run, starting its Python worker: {cold:.3} s) -> {:.1}x faster (goal >= 8x; {:.1}x counting the cold start)",
        kfp_chain / warm,
        kfp_chain / cold
    );
    println!(
        "8 independent 1 s sleeps: kfp.local {kfp_sleeps:.2} s, engine {sleeps:.2} s \
         ({concurrency} at once, the default on {cores} cores) -> {:.1}x faster (goal >= 2.5x); \
         {sleeps_per_core:.2} s with one task per core ({cores} at once)",
        kfp_sleeps / sleeps
    );
    let (first, second) = runtime.block_on(seed_seconds());
    println!(
        "seed example on the local backings (train, decide, MAR, TorchServe, predict), environment \
         installed: {second:.1} s warm ({first:.1} s for the engine's first run) (goal <= 300 s)"
    );
}
