//! The driver's table tests, no Python needed: each file `engine/tests/driver/<construct>.json`
//! is a table over one spec the KFP SDK compiled (`engine/tests/driver/specs/`, written by
//! `specs.py` there). A row gives a DAG's inputs and how the tasks the driver ran ended (`ran`),
//! and expects what the driver decided for every task that became ready — run (with which
//! resolved inputs, as what work: a sub-DAG, a loop and its iterations, a leaf with its cache
//! and retry policy) or end without running (skipped, blocked, failed, cancelled, and why) —
//! and, once every task has ended, the DAG's outcome and outputs.
//!
//! The harness plays the runner: it asks [`Dag::next`] for decisions, gives back the outcomes
//! the row lists for the tasks decided to run, and asks again, until nothing more becomes
//! ready; a task decided to run without an outcome in the row is still running. A loop's
//! outcome can also come from its iterations' (`iterations`, collected by `loop_end`), and a
//! leaf's failed attempts (`failures`) go through its retry policy.
//!
//! `UPDATE_GOLDEN=1 cargo test -p engine --test engine driver` rewrites every row's `expect`
//! (read the diff before committing it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::driver::{
    loop_end, AfterFailure, Dag, Decision, Finished, Kubernetes, Loop, Outcome, RunSpec, VolumeOp,
    Work,
};
use engine::values::{Io, RuntimeArtifact};
use engine::RunOptions;
use pipeline::ir::{ComponentSpec, PipelineSpec};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A table: one spec, many rows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    /// What the table is about.
    about: String,
    /// The spec: `specs/<spec>.json`.
    spec: String,
    rows: Vec<Row>,
}

/// One row: a DAG, its inputs and what has happened so far → what the driver decides.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    name: String,
    /// The component whose DAG is driven (the pipeline's root when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dag: Option<String>,
    /// The DAG's path in the run (none: the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    /// The DAG's input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    inputs: Map<String, Value>,
    /// The DAG's input artifacts: name → URIs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    input_artifacts: BTreeMap<String, Vec<String>>,
    /// The run's options (caching, task timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Value>,
    /// The run's platform spec (Kubernetes settings), when not the spec's own
    /// (`specs/<spec>.platform.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<Value>,
    /// Whether the run has been cancelled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    cancelled: bool,
    /// How tasks the driver ran ended: name → `"failed"`, `{"succeeded": {output
    /// parameters}, "artifacts": {name: [URI]}}`, `{"failed": "error"}`, …
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    ran: BTreeMap<String, Value>,
    /// How the iterations of loop tasks ended, in order (the loop's outcome is collected from
    /// them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    iterations: BTreeMap<String, Vec<Value>>,
    /// The errors of a leaf's failed attempts, in order, before it succeeded (its outcome in
    /// `ran`) or gave up.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    failures: BTreeMap<String, Vec<String>>,
    /// What the driver decides.
    #[serde(default)]
    expect: Value,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/driver")
}

/// A task's outcome as a table writes it.
fn finished(v: &Value) -> Result<Finished, String> {
    let outcome = |s: &str| {
        Ok(match s {
            "succeeded" => Outcome::Succeeded,
            "cached" => Outcome::Cached,
            "failed" => Outcome::Failed,
            "cancelled" => Outcome::Cancelled,
            "skipped" => Outcome::Skipped,
            "blocked" => Outcome::Blocked,
            other => return Err(format!("{other:?} is not an outcome")),
        })
    };
    if let Some(s) = v.as_str() {
        let o = outcome(s)?;
        return Ok(match o {
            Outcome::Succeeded | Outcome::Cached => Finished {
                outcome: o,
                outputs: Io::default(),
                error: None,
            },
            _ => Finished::new(o, format!("{s} in the table")),
        });
    }
    let o = v
        .as_object()
        .ok_or_else(|| format!("{v} is not an outcome"))?;
    let (key, value) = o
        .iter()
        .find(|(k, _)| k.as_str() != "artifacts")
        .ok_or_else(|| format!("{v} has no outcome"))?;
    let outcome = outcome(key)?;
    let mut f = if outcome.ok() {
        let parameters = value
            .as_object()
            .ok_or_else(|| format!("the outputs of {v} are not an object"))?
            .clone()
            .into_iter()
            .collect();
        Finished {
            outcome,
            outputs: Io {
                parameters,
                ..Io::default()
            },
            error: None,
        }
    } else {
        Finished::new(outcome, value.as_str().unwrap_or_default())
    };
    if let Some(arts) = o.get("artifacts") {
        let arts: BTreeMap<String, Vec<String>> =
            serde_json::from_value(arts.clone()).map_err(|e| format!("artifacts of {v}: {e}"))?;
        f.outputs.artifacts = artifacts(&arts);
    }
    Ok(f)
}

fn artifacts(uris: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<RuntimeArtifact>> {
    uris.iter()
        .map(|(name, list)| {
            let list = list
                .iter()
                .map(|uri| RuntimeArtifact {
                    name: name.clone(),
                    uri: uri.clone(),
                    metadata: Map::new(),
                    ty: Default::default(),
                })
                .collect();
            (name.clone(), list)
        })
        .collect()
}

/// Adds `io`'s parameters as `params` and its artifacts (their URIs) as `arts` to `out`,
/// leaving out what is empty.
fn put_io(out: &mut Map<String, Value>, io: &Io, params: &str, arts: &str) {
    if !io.parameters.is_empty() {
        out.insert(params.into(), json!(io.parameters));
    }
    if !io.artifacts.is_empty() {
        let uris: BTreeMap<&String, Vec<&str>> = io
            .artifacts
            .iter()
            .map(|(k, list)| (k, list.iter().map(|a| a.uri.as_str()).collect()))
            .collect();
        out.insert(arts.into(), json!(uris));
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => "succeeded",
        Outcome::Cached => "cached",
        Outcome::Failed => "failed",
        Outcome::Cancelled => "cancelled",
        Outcome::Skipped => "skipped",
        Outcome::Blocked => "blocked",
    }
}

/// How a task or DAG ended, as the tables show it.
fn show_finished(f: &Finished) -> Value {
    let mut out = Map::new();
    out.insert("outcome".into(), json!(outcome_name(f.outcome)));
    if let Some(e) = &f.error {
        out.insert("error".into(), json!(e));
    }
    put_io(&mut out, &f.outputs, "outputs", "output_artifacts");
    Value::Object(out)
}

fn secs(d: std::time::Duration) -> Value {
    json!(d.as_secs_f64())
}

/// Plays the runner over one row; returns what the driver decided, as the row expects it.
fn play(spec: &PipelineSpec, platform: Option<&Value>, row: &Row) -> Result<Value, String> {
    let options: RunOptions = match &row.options {
        Some(o) => serde_json::from_value(o.clone()).map_err(|e| format!("options: {e}"))?,
        None => RunOptions::default(),
    };
    let run = RunSpec {
        spec,
        platform: row.platform.as_ref().or(platform),
        options: &options,
        job_resource_name: "job-1",
    };
    let comp: &ComponentSpec = match &row.dag {
        Some(name) => spec
            .components
            .get(name)
            .ok_or_else(|| format!("the spec has no component {name:?}"))?,
        None => &spec.root,
    };
    let inputs = Io {
        parameters: row.inputs.clone().into_iter().collect(),
        artifacts: artifacts(&row.input_artifacts),
    };
    let mut dag = match Dag::new(run, row.at.as_deref(), comp, inputs) {
        Ok(d) => d,
        Err(f) => return Ok(json!({"cannot start": show_finished(&f)})),
    };
    let mut decisions = Map::new();
    let mut running: Vec<String> = Vec::new();
    loop {
        let steps = dag.next(row.cancelled);
        let mut ended = Vec::new();
        for step in steps {
            let name = step.name.to_string();
            let mut out = Map::new();
            match step.decision {
                Decision::Finished { result, below } => {
                    out.insert(outcome_name(result.outcome).into(), json!(result.error));
                    if !below.is_empty() {
                        let state = below.first().map(|e| e.state.as_str()).unwrap_or_default();
                        out.insert(
                            format!("below ({})", state.to_lowercase()),
                            json!(below.iter().map(|e| e.path.as_str()).collect::<Vec<_>>()),
                        );
                    }
                }
                Decision::Run(work) => {
                    let result =
                        show_work(spec, &mut out, &step.path, step.name, step.task, work, row)?;
                    match result {
                        Some(f) => ended.push((step.name, f)),
                        None => running.push(name.clone()),
                    }
                }
            }
            decisions.insert(name, Value::Object(out));
        }
        if ended.is_empty() {
            break;
        }
        for (name, f) in ended {
            dag.finish(name, f);
        }
    }
    let unused: Vec<&String> = row
        .ran
        .keys()
        .chain(row.iterations.keys())
        .chain(row.failures.keys())
        .filter(|k| decisions.get(*k).is_none_or(|d| d.get("run").is_none()))
        .collect();
    if !unused.is_empty() {
        return Err(format!(
            "the row gives outcomes of tasks the driver did not run: {unused:?}"
        ));
    }
    let mut out = Map::new();
    out.insert("decisions".into(), Value::Object(decisions));
    if running.is_empty() {
        let end = dag.end();
        let mut shown = show_finished(&end.result);
        if !end.never_ready.is_empty() {
            if let Value::Object(o) = &mut shown {
                o.insert(
                    "never ready".into(),
                    json!(end.never_ready.iter().map(|(p, _)| p).collect::<Vec<_>>()),
                );
            }
        }
        out.insert("end".into(), shown);
    } else {
        out.insert("running".into(), json!(running));
    }
    Ok(Value::Object(out))
}

/// A leaf's platform settings as the tables show them.
fn show_kubernetes(k: &Kubernetes) -> Value {
    let env: Map<String, Value> = k
        .env
        .iter()
        .map(|e| {
            let opt = if e.optional { " (optional)" } else { "" };
            (
                e.name.clone(),
                json!(format!("{} key {}{opt}", e.from.describe(), e.key)),
            )
        })
        .collect();
    let mounts: Map<String, Value> = k
        .mounts
        .iter()
        .map(|m| {
            let opt = if m.optional { " (optional)" } else { "" };
            (
                m.path.clone(),
                json!(format!("{}{opt}", m.volume.describe())),
            )
        })
        .collect();
    json!({"env": env, "mounts": mounts, "ignored": k.ignored})
}

/// Shows the work of a task decided to run into `out`; returns its outcome when the row
/// gives it (or the work fails at once, or its retries give up).
fn show_work(
    spec: &PipelineSpec,
    out: &mut Map<String, Value>,
    path: &str,
    name: &str,
    task: &pipeline::ir::PipelineTaskSpec,
    work: Work<'_>,
    row: &Row,
) -> Result<Option<Finished>, String> {
    let given = row.ran.get(name).map(finished).transpose()?;
    match work {
        Work::Fail(f) => {
            out.insert("run".into(), json!("cannot"));
            out.insert("error".into(), json!(f.error));
            return Ok(Some(f));
        }
        Work::Dag {
            inputs, dag_inputs, ..
        } => {
            out.insert("run".into(), json!("dag"));
            put_io(out, &inputs, "inputs", "artifacts");
            if dag_inputs != inputs {
                put_io(out, &dag_inputs, "dag inputs", "dag artifacts");
            }
        }
        Work::Loop { comp, inputs } => {
            out.insert("run".into(), json!("loop"));
            put_io(out, &inputs, "inputs", "artifacts");
            match Loop::new(path, name, task, comp, &inputs) {
                Err(f) => {
                    out.insert("items".into(), show_finished(&f));
                    return Ok(Some(f));
                }
                Ok(plan) => {
                    if plan.parallelism != engine::driver::MAX_PARALLELISM {
                        out.insert("parallelism".into(), json!(plan.parallelism));
                    }
                    let its: Vec<Value> = plan
                        .iterations
                        .iter()
                        .map(|it| {
                            let mut o = Map::new();
                            o.insert("path".into(), json!(it.path));
                            o.insert("display".into(), json!(it.display_name));
                            put_io(&mut o, &it.inputs, "inputs", "artifacts");
                            Value::Object(o)
                        })
                        .collect();
                    out.insert("iterations".into(), json!(its));
                    if let Some(results) = row.iterations.get(name) {
                        let results = results
                            .iter()
                            .zip(&plan.iterations)
                            .map(|(r, it)| Ok((it.path.clone(), finished(r)?)))
                            .collect::<Result<Vec<_>, String>>()?;
                        let f = loop_end(spec, comp, &results);
                        out.insert("collected".into(), show_finished(&f));
                        return Ok(Some(f));
                    }
                }
            }
        }
        Work::Volume(op) => {
            out.insert("run".into(), json!("volume"));
            let (what, name) = match op {
                VolumeOp::Create(n) => ("create", n),
                VolumeOp::Delete(n) => ("delete", n),
            };
            out.insert(what.into(), json!(name));
        }
        Work::Leaf(leaf) => {
            let kind = match leaf.exec {
                pipeline::ir::ExecutorSpec::Importer(_) => "importer",
                _ => "container",
            };
            out.insert("run".into(), json!(kind));
            put_io(out, &leaf.inputs, "inputs", "artifacts");
            out.insert("cache".into(), json!(leaf.caching));
            if !leaf.resources.is_empty() {
                out.insert("resources".into(), json!(leaf.resources));
            }
            if let Some(k) = leaf.cache_key {
                out.insert("cache key".into(), json!(k));
            }
            match &leaf.timeout {
                Ok(Some(t)) => {
                    out.insert("timeout".into(), secs(*t));
                }
                Ok(None) => {}
                Err(e) => {
                    out.insert("timeout".into(), json!({"error": e}));
                }
            }
            match &leaf.kubernetes {
                Err(e) => {
                    out.insert("kubernetes".into(), json!({"error": e}));
                }
                Ok(k) if *k != Kubernetes::default() => {
                    out.insert("kubernetes".into(), show_kubernetes(k));
                }
                Ok(_) => {}
            }
            match &leaf.retry {
                Err(e) => {
                    out.insert("retry".into(), json!({"error": e}));
                }
                Ok(r) if r.attempts > 1 => {
                    let waits: Vec<Value> = (1..r.attempts).map(|a| secs(r.wait(a))).collect();
                    out.insert("attempts".into(), json!(r.attempts));
                    out.insert("waits".into(), json!(waits));
                }
                Ok(_) => {}
            }
            if let (Some(errors), Ok(retry)) = (row.failures.get(name), &leaf.retry) {
                let mut after = Vec::new();
                for (i, e) in errors.iter().enumerate() {
                    let attempt = u32::try_from(i + 1).map_err(|e| e.to_string())?;
                    match retry.after_failure(attempt, e.clone(), false) {
                        AfterFailure::Retry { wait, note } => {
                            after.push(json!({"retry in": secs(wait), "note": note}));
                        }
                        AfterFailure::GiveUp(f) => {
                            after.push(json!({"give up": show_finished(&f)}));
                            out.insert("failures".into(), json!(after));
                            if i + 1 != errors.len() {
                                return Err(format!("{name}: attempts after giving up"));
                            }
                            return Ok(Some(f));
                        }
                    }
                }
                out.insert("failures".into(), json!(after));
            }
        }
    }
    Ok(given)
}

#[test]
fn the_driver_decides_as_its_tables_say() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("engine/tests/driver")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the driver's tables: {files:?}");
    let mut failures = Vec::new();
    let mut rows = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read table");
        let mut table: Table =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let spec_file = dir().join("specs").join(format!("{}.json", table.spec));
        let spec: PipelineSpec = serde_json::from_str(
            &std::fs::read_to_string(&spec_file)
                .unwrap_or_else(|e| panic!("{}: {e}", spec_file.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", spec_file.display()));
        engine::driver::check(&spec).expect("the spec can run");
        // Its platform spec, when the SDK wrote one: every row runs with it unless it gives
        // its own.
        let platform_file = dir()
            .join("specs")
            .join(format!("{}.platform.json", table.spec));
        let platform: Option<Value> = std::fs::read_to_string(&platform_file).ok().map(|text| {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", platform_file.display()))
        });
        for row in &mut table.rows {
            rows += 1;
            let got = play(&spec, platform.as_ref(), row)
                .unwrap_or_else(|e| panic!("{} / {}: {e}", file.display(), row.name));
            if got != row.expect {
                if update {
                    row.expect = got;
                } else {
                    failures.push(format!(
                        "{} / {}:\nexpected {}\ngot      {}",
                        file.display(),
                        row.name,
                        serde_json::to_string_pretty(&row.expect).unwrap_or_default(),
                        serde_json::to_string_pretty(&got).unwrap_or_default()
                    ));
                }
            }
        }
        if update {
            let text = serde_json::to_string_pretty(&table).expect("table to JSON") + "\n";
            std::fs::write(file, text).expect("write table");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {rows} rows differ (UPDATE_GOLDEN=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
