//! Runs-table speed, printed: 10,000 recorded runs (three parameters each; a `data` task whose
//! dataset a `train` and an `eval` task read, both logging metrics), then the table of all of them sorted by a metric, and
//! of one state filtered by text and sorted by a parameter. The target is 100 ms or less for
//! 10,000 runs. `cargo bench -p runs --bench table`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use api::{RunState, TaskKind, TaskState};
use runs::store::{NewRun, NewTask, TaskUpdate};
use runs::{RunStore, StoreError, TableQuery};
use serde_json::json;

const RUNS: usize = 10_000;
const ROUNDS: usize = 20;

/// Records run `i`: its parameters, two tasks that log metrics, its end.
fn record(store: &RunStore, i: usize) -> Result<(), StoreError> {
    let id = format!("run-{i:05}");
    store.insert_run(&NewRun {
        id: id.clone(),
        pipeline_name: if i.is_multiple_of(2) { "train" } else { "tune" }.into(),
        pipeline_id: None,
        parameters: json!({"lr": 1.0 / (1 + i % 97) as f64, "epochs": i % 10,
                           "label": format!("trial {i}")}),
        spec: "{}".into(),
        platform_spec: None,
        document: None,
        options: json!({}),
        root: PathBuf::from("/runs").join(&id),
        rerun_of: None,
    })?;
    store.set_run_state(&id, RunState::Running, true, false, None, None)?;
    let dataset = json!([{"name": "data", "uri": format!("/runs/{id}/data/data"),
        "metadata": {"rows": i}, "type": {"schemaTitle": "system.Dataset"}}]);
    store.add_task(
        &id,
        &NewTask {
            path: "data",
            parent: None,
            name: "data",
            display_name: None,
            kind: TaskKind::Container,
            state: TaskState::Pending,
            error: None,
        },
    )?;
    store.update_task(
        &id,
        "data",
        &TaskUpdate {
            state: Some(TaskState::Succeeded),
            outputs: Some(json!({"artifacts": {"data": dataset.clone()}})),
            ..TaskUpdate::default()
        },
    )?;
    for (task, accuracy) in [("train", (i % 100) as f64 / 100.0), ("eval", 0.5)] {
        store.add_task(
            &id,
            &NewTask {
                path: task,
                parent: None,
                name: task,
                display_name: None,
                kind: TaskKind::Container,
                state: TaskState::Pending,
                error: None,
            },
        )?;
        let metrics = json!([{"name": "metrics", "uri": format!("/runs/{id}/{task}/metrics"),
            "metadata": {"accuracy": accuracy, format!("{task}_loss"): 0.1},
            "type": {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"}}]);
        store.update_task(
            &id,
            task,
            &TaskUpdate {
                state: Some(TaskState::Succeeded),
                inputs: Some(json!({"artifacts": {"data": dataset.clone()}})),
                outputs: Some(json!({"artifacts": {"metrics": metrics}})),
                ..TaskUpdate::default()
            },
        )?;
    }
    let state = if i.is_multiple_of(10) {
        RunState::Failed
    } else {
        RunState::Succeeded
    };
    store.set_run_state(&id, state, false, true, None, None)?;
    Ok(())
}

/// The CPU time this process has used (user and system, from `/proc/self/stat`, in clock
/// ticks of 10 ms), when it can be read: the figure a busy machine does not inflate.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (in parentheses, which may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks.checked_mul(10)?))
}

/// The fastest, the median and the slowest of `ROUNDS` tables `q`, the mean CPU time of one,
/// and the rows and columns of its answer.
fn time(
    store: &RunStore,
    q: &TableQuery,
) -> (
    Duration,
    Duration,
    Duration,
    Option<Duration>,
    usize,
    usize,
    usize,
) {
    let cpu_before = cpu_time();
    let mut times = Vec::with_capacity(ROUNDS);
    let mut size = (0, 0, 0);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        match store.run_table(q) {
            Ok(table) => size = (table.rows.len(), table.total, table.columns.len()),
            Err(e) => eprintln!("table failed: {e}"),
        }
        times.push(t.elapsed());
    }
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before) / ROUNDS as u32);
    times.sort();
    let best = times.first().copied().unwrap_or_default();
    let median = times.get(ROUNDS / 2).copied().unwrap_or_default();
    let worst = times.last().copied().unwrap_or_default();
    (best, median, worst, cpu, size.0, size.1, size.2)
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
    let t = Instant::now();
    for i in 0..RUNS {
        if let Err(e) = record(&store, i) {
            eprintln!("recording failed: {e}");
            std::process::exit(1);
        }
    }
    println!(
        "record {RUNS} runs of 3 tasks (2 log metrics): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let queries = [
        (
            format!("all {RUNS} runs, sorted by metric.train.accuracy, 1000 rows"),
            TableQuery {
                sort: Some("metric.train.accuracy".into()),
                descending: true,
                limit: 1000,
                ..TableQuery::default()
            },
        ),
        (
            format!("all {RUNS} runs, sorted by param.lr, every row"),
            TableQuery {
                sort: Some("param.lr".into()),
                limit: RUNS,
                ..TableQuery::default()
            },
        ),
        (
            "SUCCEEDED runs of train, text \"trial 1\", sorted by param.lr".to_string(),
            TableQuery {
                pipeline: Some("train".into()),
                state: Some(RunState::Succeeded),
                text: Some("trial 1".into()),
                sort: Some("param.lr".into()),
                limit: 200,
                ..TableQuery::default()
            },
        ),
    ];
    println!(
        "runs table, median (fastest, slowest) of {ROUNDS} and the CPU time of one; target for \
         {RUNS} runs: ≤ 100 ms"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (name, q) in &queries {
        let (best, median, worst, cpu, rows, total, columns) = time(&store, q);
        println!(
            "  {name:<62} {:>6.1} ms ({:.1}, {:.1}), CPU {}  {rows} rows of {total}, {columns} columns",
            ms(median),
            ms(best),
            ms(worst),
            cpu.map_or_else(|| "?".to_string(), |c| format!("{:.0} ms", ms(c))),
        );
    }
}
