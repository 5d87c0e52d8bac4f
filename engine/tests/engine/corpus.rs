//! Parity with `kfp.local`: the KFP conformance pipelines (`../shared/kfp-conformance`) run on
//! both engines, and for every pipeline `kfp.local` (SubprocessRunner, no venv) can run, the
//! outcomes must agree: the pipeline's status, the state of every task `kfp.local` ran, and
//! (for pipelines without randomness) every output parameter and artifact metadata.
//!
//! kfp.local refuses container components (it needs Docker) and a few pipelines; those run on
//! the local engine only, and the test prints which they are and how they ended. The oracle is
//! `tests/oracle/kfp_local_run.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use engine::{RunDetail, RunOptions, TaskKind};
use serde_json::{json, Value};

fn corpus() -> PathBuf {
    repo().join("../shared/kfp-conformance")
}

/// Pipelines left out: they download large packages (pandas, scikit-learn, Jupyter) or data
/// from the internet. `PIPELINE_CANVAS_SLOW_TESTS=1` includes them.
const SLOW: &[&str] = &[
    "essential/iris_pipeline_compiled.yaml",
    "critical/notebook_component_simple.yaml",
    "critical/pipeline_with_artifact_upload_download.yaml",
];

/// Pipelines whose tasks flip coins or draw random numbers: only the pipeline status is
/// compared.
const RANDOM: &[&str] = &[
    "critical/flip_coin.yaml",
    "critical/parameter_oneof.yaml",
    "critical/if_else_with_oneof_artifacts.yaml",
    "essential/pipeline_with_condition.yaml",
    "essential/pipeline_with_metrics_outputs.yaml",
    "essential/pipeline_with_nested_conditions.yaml",
    "essential/pipeline_with_nested_conditions_yaml.yaml",
];

/// Pipelines whose outputs are local paths (different in the two engines' folder layouts):
/// states are compared, values not.
const PATH_VALUED: &[&str] = &["critical/pipeline_with_importer_workspace.yaml"];

/// Where the engine deliberately differs from kfp.local, following the KFP backend; the
/// engine must succeed on these.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "critical/pipeline_with_artifact_custom_path.yaml",
        "kfp.local does not copy an artifact written with set_path() to its URI, so the next \
         task cannot read it; the KFP launcher does, and so does the engine",
    ),
    (
        "critical/pipeline_with_workspace.yaml",
        "kfp.local gives each task its own workspace, so the reader finds no file; on KFP \
         the workspace is shared by the run's tasks, and so it is on the engine",
    ),
];

fn parameters(file: &str) -> Value {
    match file {
        "critical/add_numbers.yaml" => json!({"a": 1, "b": 2}),
        "essential/concat_message.yaml" => json!({"message1": "hello ", "message2": "world"}),
        "essential/dict_input.yaml" => json!({"struct": {"a": 1, "b": [1, 2], "c": "x"}}),
        "essential/lightweight_python_functions_pipeline.yaml" => json!({"message": "hi"}),
        "essential/lightweight_python_functions_with_outputs.yaml" => json!({
            "first_message": "one", "second_message": "two", "first_number": 1, "second_number": 2
        }),
        _ => json!({}),
    }
}

fn files() -> Vec<String> {
    let slow = std::env::var("PIPELINE_CANVAS_SLOW_TESTS").is_ok_and(|v| v == "1");
    let mut out = Vec::new();
    for group in ["critical", "essential"] {
        let dir = corpus().join(group);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = format!("{group}/{}", e.file_name().to_string_lossy());
            if name.ends_with(".yaml") && (slow || !SLOW.contains(&name.as_str())) {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

fn kfp_local(file: &Path, params: &Value, root: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/kfp_local_run.py");
    let out = Command::new(python())
        .arg(script)
        .arg(file)
        .arg("--params")
        .arg(params.to_string())
        .arg("--root")
        .arg(root)
        .output()
        .expect("run the kfp.local oracle");
    assert!(
        out.status.success(),
        "the kfp.local oracle failed on {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oracle output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Numbers as doubles (protobuf semantics), so `3` and `3.0` compare equal.
fn norm(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

/// A kfp.local output value in the engine's terms: parameters as they are, artifacts as
/// their metadata.
fn oracle_value(v: &Value) -> Value {
    if v.get("artifact") == Some(&json!(true)) {
        return json!({ "metadata": norm(&v["metadata"]) });
    }
    if let Some(list) = v.as_array() {
        if list.iter().all(|x| x.get("artifact") == Some(&json!(true))) && !list.is_empty() {
            return Value::Array(list.iter().map(oracle_value).collect());
        }
    }
    norm(v)
}

fn engine_outputs(t: &engine::TaskRow) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(o) = &t.outputs else { return out };
    if let Some(p) = o["parameters"].as_object() {
        for (k, v) in p {
            out.insert(k.clone(), norm(v));
        }
    }
    if let Some(a) = o["artifacts"].as_object() {
        for (k, list) in a {
            let metas: Vec<Value> = list
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| json!({ "metadata": norm(&x["metadata"]) }))
                .collect();
            let v = if metas.len() == 1 {
                metas.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(metas)
            };
            out.insert(k.clone(), v);
        }
    }
    out
}

/// A task run as compared: its state and outputs.
type Outcome = (String, BTreeMap<String, Value>);

/// How much of a pipeline's outcome is compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The pipeline's status.
    Status,
    /// And the state of every task kfp.local ran.
    States,
    /// And their output values.
    Values,
}

fn compare(file: &str, oracle: &Value, run: &RunDetail, level: Level) -> Vec<String> {
    let mut problems = Vec::new();
    let ours = run.summary.state.as_str();
    if oracle["status"] != json!(ours) {
        problems.push(format!(
            "{file}: kfp.local {} but the engine {ours} ({:?})",
            oracle["status"], run.summary.error
        ));
    }
    if level == Level::Status {
        return problems;
    }
    // Tasks by name (the last path segment), as multisets of (state, outputs).
    let mut theirs: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
    for t in oracle["tasks"].as_array().into_iter().flatten() {
        let outputs: BTreeMap<String, Value> = t["outputs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), oracle_value(v)))
            .collect();
        theirs
            .entry(t["name"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push((t["state"].as_str().unwrap_or_default().to_string(), outputs));
    }
    for (name, mut expected) in theirs {
        let mut got: Vec<Outcome> = run
            .tasks
            .iter()
            .filter(|t| {
                matches!(t.kind, TaskKind::Container | TaskKind::Importer)
                    && t.path.rsplit('/').next() == Some(name.as_str())
            })
            .map(|t| {
                let state = match t.state.as_str() {
                    "CACHED" => "SUCCEEDED",
                    s => s,
                };
                let outputs = if state == "SUCCEEDED" {
                    engine_outputs(t)
                } else {
                    BTreeMap::new()
                };
                (state.to_string(), outputs)
            })
            .collect();
        // Only what kfp.local reports: outputs it did not see (e.g. of failed tasks) aside.
        for (g, e) in got.iter_mut().zip(expected.iter()) {
            g.1.retain(|k, _| e.1.contains_key(k));
        }
        if level == Level::States {
            got.iter_mut().for_each(|g| g.1.clear());
            expected.iter_mut().for_each(|e| e.1.clear());
        }
        let key = |x: &Outcome| format!("{} {:?}", x.0, x.1);
        expected.sort_by_key(key);
        got.sort_by_key(key);
        if got.len() < expected.len() {
            problems.push(format!(
                "{file}: kfp.local ran {name} {} time(s), the engine {}",
                expected.len(),
                got.len()
            ));
            continue;
        }
        let got: Vec<_> = got.into_iter().take(expected.len()).collect();
        if got != expected {
            problems.push(format!(
                "{file}: task {name}: kfp.local {expected:?}, the engine {got:?}"
            ));
        }
    }
    if level == Level::Values && oracle["status"] == "SUCCEEDED" && ours == "SUCCEEDED" {
        let theirs: BTreeMap<String, Value> = oracle["outputs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), oracle_value(v)))
            .collect();
        let mut engine_outs = BTreeMap::new();
        if let Some(o) = &run.outputs {
            for (k, v) in o["parameters"].as_object().into_iter().flatten() {
                engine_outs.insert(k.clone(), norm(v));
            }
            for (k, list) in o["artifacts"].as_object().into_iter().flatten() {
                if let Some(first) = list.as_array().and_then(|l| l.first()) {
                    engine_outs.insert(k.clone(), json!({"metadata": norm(&first["metadata"])}));
                }
            }
        }
        if !theirs.is_empty() && theirs != engine_outs {
            problems.push(format!(
                "{file}: pipeline outputs: kfp.local {theirs:?}, the engine {engine_outs:?}"
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_pipelines_match_kfp_local() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let files = files();
    assert!(
        files.len() >= 40,
        "the conformance corpus is missing at {}",
        corpus().display()
    );
    let mut problems = Vec::new();
    let mut compared = Vec::new();
    let mut engine_only = Vec::new();
    for file in &files {
        let path = corpus().join(file);
        let params = parameters(file);
        let oracle = kfp_local(&path, &params, &dir.path().join("kfp-local"));
        let spec = spec_file(&path);
        let run = run_spec(
            &engine,
            spec,
            params
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            RunOptions {
                enable_caching: Some(false),
                ..RunOptions::default()
            },
        )
        .await;
        if oracle["status"] == "REFUSED" {
            engine_only.push(format!(
                "{file}: kfp.local refused ({}); the engine: {}{}",
                oracle["error"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(100)
                    .collect::<String>(),
                run.summary.state.as_str(),
                run.summary
                    .error
                    .as_deref()
                    .map(|e| format!(" ({})", e.chars().take(120).collect::<String>()))
                    .unwrap_or_default()
            ));
            continue;
        }
        if let Some((_, why)) = KNOWN_DIFFERENCES.iter().find(|(f, _)| f == file) {
            if run.summary.state.as_str() != "SUCCEEDED" {
                problems.push(format!(
                    "{file}: the engine {} ({:?}), but should succeed where kfp.local does not: {why}",
                    run.summary.state.as_str(),
                    run.summary.error
                ));
            }
            engine_only.push(format!(
                "{file}: kfp.local {}, the engine {}: {why}",
                oracle["status"].as_str().unwrap_or_default(),
                run.summary.state.as_str()
            ));
            continue;
        }
        let level = if RANDOM.contains(&file.as_str()) {
            Level::Status
        } else if PATH_VALUED.contains(&file.as_str()) {
            Level::States
        } else {
            Level::Values
        };
        problems.extend(compare(file, &oracle, &run, level));
        compared.push(format!(
            "{file}: both {}{}",
            run.summary.state.as_str(),
            match level {
                Level::Status => " (status only: random)",
                Level::States => " (states only: outputs are local paths)",
                Level::Values => "",
            }
        ));
    }
    println!("compared with kfp.local ({}):", compared.len());
    for c in &compared {
        println!("  {c}");
    }
    println!("engine only ({}):", engine_only.len());
    for c in &engine_only {
        println!("  {c}");
    }
    assert!(
        compared.len() >= 25,
        "too few pipelines compared: {compared:?}"
    );
    assert!(
        problems.is_empty(),
        "differences from kfp.local:\n{}",
        problems.join("\n")
    );
}
