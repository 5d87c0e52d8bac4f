//! Lineage speed, printed: recording a 200-task run (each task reads the dataset the one
//! before wrote and writes its own), then querying it — the run's graph (1 hop), an artifact
//! 10 hops both ways, and an artifact that 10 cached re-runs reused. The target is a query of
//! a 200-task run in 20 ms or less. `cargo bench -p runs --bench lineage`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use api::{LineageDirection, LineageStart, TaskKind, TaskState};
use runs::store::{NewRun, NewTask, TaskUpdate};
use runs::{LineageQuery, RunStore};
use serde_json::{json, Map, Value};

const TASKS: usize = 200;
const RERUNS: usize = 10;
const ROUNDS: usize = 50;

/// A spec of `TASKS` tasks, `t0` … `t199`, each with its own component.
fn spec() -> Value {
    let mut tasks = Map::new();
    let mut components = Map::new();
    for i in 0..TASKS {
        tasks.insert(
            format!("t{i}"),
            json!({"taskInfo": {"name": format!("t{i}")}, "componentRef": {"name": format!("comp-t{i}")}}),
        );
        components.insert(
            format!("comp-t{i}"),
            json!({"executorLabel": format!("exec-t{i}")}),
        );
    }
    json!({
        "pipelineInfo": {"name": "bench"},
        "schemaVersion": "2.1.0",
        "root": {"dag": {"tasks": tasks}},
        "components": components
    })
}

fn dataset(i: usize) -> Value {
    json!([{"name": "data", "uri": format!("/runs/first/t{i}/data"), "metadata": {"rows": i},
            "type": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}])
}

/// Records run `id`: every task started with its inputs, then ended with its outputs.
fn record(
    store: &RunStore,
    id: &str,
    spec: &str,
    state: TaskState,
) -> Result<(), runs::StoreError> {
    store.insert_run(&NewRun {
        id: id.into(),
        pipeline_name: "bench".into(),
        pipeline_id: None,
        parameters: json!({}),
        spec: spec.into(),
        platform_spec: None,
        document: None,
        options: json!({}),
        root: PathBuf::from("/runs").join(id),
        rerun_of: None,
    })?;
    for i in 0..TASKS {
        let path = format!("t{i}");
        store.add_task(
            id,
            &NewTask {
                path: &path,
                parent: None,
                name: &path,
                display_name: None,
                kind: TaskKind::Container,
                state: TaskState::Pending,
                error: None,
            },
        )?;
        let inputs = if i == 0 {
            json!({"parameters": {"n": i}})
        } else {
            json!({"parameters": {"n": i}, "artifacts": {"data": dataset(i - 1)}})
        };
        store.update_task(
            id,
            &path,
            &TaskUpdate {
                state: Some(TaskState::Running),
                inputs: Some(inputs),
                ..TaskUpdate::default()
            },
        )?;
        store.update_task(
            id,
            &path,
            &TaskUpdate {
                state: Some(state),
                outputs: Some(json!({"parameters": {"m": i}, "artifacts": {"data": dataset(i)}})),
                cache_key: Some(format!("key-{i}")),
                cached: Some(state == TaskState::Cached),
                ..TaskUpdate::default()
            },
        )?;
    }
    Ok(())
}

/// The median and the slowest of `ROUNDS` runs of `q`, and the answer's size.
fn time(store: &RunStore, q: &LineageQuery) -> (Duration, Duration, usize, usize, usize) {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut size = (0, 0, 0);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        match store.lineage(q) {
            Ok(Some(l)) => size = (l.executions.len(), l.artifacts.len(), l.events.len()),
            Ok(None) => eprintln!("the query's start is missing"),
            Err(e) => eprintln!("query failed: {e}"),
        }
        times.push(t.elapsed());
    }
    times.sort();
    let median = times.get(ROUNDS / 2).copied().unwrap_or_default();
    let worst = times.last().copied().unwrap_or_default();
    (median, worst, size.0, size.1, size.2)
}

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot make a temporary folder: {e}");
            std::process::exit(1);
        }
    };
    let store = match RunStore::open(dir.path()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot open the store: {e}");
            std::process::exit(1);
        }
    };
    let spec = spec().to_string();
    let t = Instant::now();
    if let Err(e) = record(&store, "first", &spec, TaskState::Succeeded) {
        eprintln!("recording failed: {e}");
        std::process::exit(1);
    }
    let recorded = t.elapsed();
    println!(
        "record a {TASKS}-task run (3 store writes per task, lineage with the last): {:.1} ms, {:.0} µs per task",
        recorded.as_secs_f64() * 1e3,
        recorded.as_secs_f64() * 1e6 / TASKS as f64
    );
    for r in 0..RERUNS {
        if let Err(e) = record(&store, &format!("rerun-{r}"), &spec, TaskState::Cached) {
            eprintln!("recording failed: {e}");
            std::process::exit(1);
        }
    }
    let middle = match store.artifact_id(&format!("/runs/first/t{}/data", TASKS / 2)) {
        Ok(Some(id)) => id,
        _ => {
            eprintln!("the middle artifact was not recorded");
            std::process::exit(1);
        }
    };
    let queries = [
        (
            format!("run of {TASKS} tasks, 1 hop"),
            LineageQuery::new(LineageStart::Run("first".into())),
        ),
        (
            "artifact, 10 hops both ways".to_string(),
            LineageQuery {
                depth: 10,
                ..LineageQuery::new(LineageStart::Artifact(middle))
            },
        ),
        (
            format!("artifact, 1 hop upstream ({} producers)", RERUNS + 1),
            LineageQuery {
                direction: LineageDirection::Upstream,
                ..LineageQuery::new(LineageStart::Artifact(middle))
            },
        ),
        (
            format!("run of {TASKS} tasks, 2 hops (its {RERUNS} cached re-runs too)"),
            LineageQuery {
                depth: 2,
                max_nodes: 5000,
                ..LineageQuery::new(LineageStart::Run("first".into()))
            },
        ),
    ];
    println!(
        "lineage queries, median (slowest) of {ROUNDS}; target for a {TASKS}-task run: ≤ 20 ms"
    );
    for (name, q) in &queries {
        let (median, worst, e, a, ev) = time(&store, q);
        println!(
            "  {name:<58} {:>7.2} ms ({:>6.2} ms)  {e} executions, {a} artifacts, {ev} events",
            median.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
        );
    }
}
