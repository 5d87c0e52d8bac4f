//! The difference between two runs: tasks added, removed and changed, parameter changes, cache
//! flips and state differences, dependencies from the specs and the layout.

use api::{RunDetail, RunDiff, TaskChange, TaskDiff, TaskKind, TaskState};
use pipeline::ir::PipelineSpec;
use serde_json::{json, Value};

use super::{diff_runs, DiffSide};

/// A spec: `make` → `train` (its `lr` a task input) → `evaluate`, and `report` in run B only.
/// `image` is the trainer's image; `with_report` adds `report` after `train`.
fn spec(image: &str, with_report: bool) -> PipelineSpec {
    let mut tasks = json!({
        "make": {"taskInfo": {"name": "make"}, "componentRef": {"name": "comp-make"}},
        "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-train"},
                  "dependentTasks": ["make"]},
        "evaluate": {"taskInfo": {"name": "evaluate"}, "componentRef": {"name": "comp-evaluate"},
                     "dependentTasks": ["train"]}
    });
    if with_report {
        tasks["report"] = json!({"taskInfo": {"name": "report"},
            "componentRef": {"name": "comp-report"}, "dependentTasks": ["train"]});
    }
    let container = |image: &str| json!({"container": {"image": image, "command": ["python"]}});
    serde_json::from_value(json!({
        "pipelineInfo": {"name": "p"},
        "schemaVersion": "2.1.0",
        "root": {"dag": {"tasks": tasks}},
        "components": {
            "comp-make": {"executorLabel": "exec-make"},
            "comp-train": {"executorLabel": "exec-train"},
            "comp-evaluate": {"executorLabel": "exec-evaluate"},
            "comp-report": {"executorLabel": "exec-report"}
        },
        "deploymentSpec": {"executors": {
            "exec-make": container("python:3.11"),
            "exec-train": container(image),
            "exec-evaluate": container("python:3.11"),
            "exec-report": container("python:3.11")
        }}
    }))
    .expect("spec")
}

/// A run: `tasks` as (path, state, cached, input parameters).
fn run(id: &str, parameters: Value, tasks: &[(&str, TaskState, bool, Value)]) -> RunDetail {
    serde_json::from_value(json!({
        "id": id,
        "pipelineName": "p",
        "state": "SUCCEEDED",
        "createdAt": "2026-12-02T00:00:00Z",
        "parameters": parameters,
        "tasks": tasks.iter().map(|(path, state, cached, inputs)| json!({
            "path": path,
            "name": path,
            "kind": "container",
            "state": state.as_str(),
            "cached": cached,
            "inputs": {"parameters": inputs},
        })).collect::<Vec<_>>(),
    }))
    .expect("run")
}

fn task<'a>(d: &'a RunDiff, path: &str) -> &'a TaskDiff {
    d.tasks
        .iter()
        .find(|t| t.path == path)
        .unwrap_or_else(|| panic!("no task {path} in {d:#?}"))
}

#[test]
fn added_removed_changed_and_same_tasks_with_what_differs() {
    let a = run(
        "a",
        json!({"lr": 0.1, "epochs": 2}),
        &[
            ("make", TaskState::Succeeded, false, json!({"n": 3})),
            ("train", TaskState::Failed, false, json!({"lr": 0.1})),
            ("evaluate", TaskState::Skipped, false, json!({})),
        ],
    );
    let b = run(
        "b",
        json!({"lr": 0.01, "epochs": 2}),
        &[
            ("make", TaskState::Cached, true, json!({"n": 3})),
            ("train", TaskState::Succeeded, false, json!({"lr": 0.01})),
            ("report", TaskState::Succeeded, false, json!({})),
        ],
    );
    let (sa, sb) = (spec("trainer:1", false), spec("trainer:1", true));
    let d = diff_runs(
        &DiffSide {
            run: &a,
            spec: Some(&sa),
        },
        &DiffSide {
            run: &b,
            spec: Some(&sb),
        },
    );
    assert_eq!((d.a.as_str(), d.b.as_str()), ("a", "b"));
    assert_eq!(d.parameters.len(), 1, "{:?}", d.parameters);
    assert_eq!(d.parameters[0].name, "lr");
    assert_eq!(
        (d.parameters[0].a.clone(), d.parameters[0].b.clone()),
        (Some(json!(0.1)), Some(json!(0.01)))
    );

    let make = task(&d, "make");
    assert_eq!(make.change, TaskChange::Same);
    assert!(make.cache_flipped(), "ran in a, cached in b");
    assert!(!make.state_differs(), "from the cache is no other outcome");

    let train = task(&d, "train");
    assert_eq!(train.change, TaskChange::Changed);
    assert!(!train.component_changed);
    assert_eq!(train.inputs.len(), 1);
    assert_eq!(train.inputs[0].name, "lr");
    assert_eq!(
        (train.state_a, train.state_b),
        (Some(TaskState::Failed), Some(TaskState::Succeeded))
    );
    assert!(!train.cache_flipped() && train.state_differs());

    let report = task(&d, "report");
    assert_eq!(report.change, TaskChange::Added);
    assert_eq!(
        (report.state_a, report.state_b),
        (None, Some(TaskState::Succeeded))
    );
    assert!(!report.state_differs() && !report.cache_flipped());

    let evaluate = task(&d, "evaluate");
    assert_eq!(evaluate.change, TaskChange::Removed);
    assert_eq!(evaluate.state_a, Some(TaskState::Skipped));

    // Dependencies from each side's spec: a removed task's from run A's.
    let edge = |f: &str, t: &str| {
        d.edges
            .iter()
            .any(|e| e.from == f && e.to == t && !e.contains)
    };
    assert!(edge("make", "train") && edge("train", "report") && edge("train", "evaluate"));
    assert_eq!(d.edges.len(), 3, "{:?}", d.edges);
    // Columns follow the dependencies, and the tasks come in drawing order.
    assert_eq!(
        [make.layer, train.layer, report.layer, evaluate.layer],
        [0, 1, 2, 2]
    );
    assert_ne!(report.row, evaluate.row);
    let order: Vec<(u32, u32)> = d.tasks.iter().map(|t| (t.layer, t.row)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

#[test]
fn a_new_image_changes_the_component_but_a_renamed_executor_label_does_not() {
    let tasks = [("train", TaskState::Succeeded, false, json!({"lr": 0.1}))];
    let (a, b) = (run("a", json!({}), &tasks), run("b", json!({}), &tasks));
    let old = spec("trainer:1", false);
    let new = spec("trainer:2", false);
    let side = |run, spec| DiffSide {
        run,
        spec: Some(spec),
    };
    let d = diff_runs(&side(&a, &old), &side(&b, &new));
    let train = task(&d, "train");
    assert!(train.component_changed);
    assert_eq!(train.change, TaskChange::Changed);
    assert!(train.inputs.is_empty());

    let mut relabelled: Value = serde_json::to_value(&old).expect("json");
    relabelled["components"]["comp-train"]["executorLabel"] = json!("exec-train-2");
    if let Some(executors) = relabelled["deploymentSpec"]["executors"].as_object_mut() {
        let exec = executors
            .remove("exec-train")
            .expect("the trainer's executor");
        executors.insert("exec-train-2".into(), exec);
    }
    let relabelled: PipelineSpec = serde_json::from_value(relabelled).expect("spec");
    let d = diff_runs(&side(&a, &old), &side(&b, &relabelled));
    assert_eq!(task(&d, "train").change, TaskChange::Same);
    assert!(d.parameters.is_empty());

    // Without specs, tasks are still compared by their values and states.
    let none = |run| DiffSide { run, spec: None };
    let d = diff_runs(&none(&a), &none(&b));
    assert_eq!(task(&d, "train").change, TaskChange::Same);
    assert!(d.edges.is_empty());
}

#[test]
fn tasks_inside_loops_hang_under_their_iteration_and_depend_on_their_siblings() {
    let spec: PipelineSpec = serde_json::from_value(json!({
        "pipelineInfo": {"name": "p"},
        "schemaVersion": "2.1.0",
        "root": {"dag": {"tasks": {
            "for-loop-2": {"taskInfo": {"name": "for-loop-2"}, "componentRef": {"name": "comp-for-loop-2"}}
        }}},
        "components": {
            "comp-for-loop-2": {"dag": {"tasks": {
                "make": {"taskInfo": {"name": "make"}, "componentRef": {"name": "comp-make"}},
                "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-make"},
                          "dependentTasks": ["make"]}
            }}},
            "comp-make": {"executorLabel": "exec-make"}
        }
    }))
    .expect("spec");
    let row = |path: &str, parent: Option<&str>, kind: TaskKind| {
        json!({"path": path, "parent": parent, "name": path.rsplit('/').next(),
               "kind": kind.as_str(), "state": "SUCCEEDED"})
    };
    let detail = |id: &str, iterations: usize| -> RunDetail {
        let mut tasks = vec![row("for-loop-2", None, TaskKind::Loop)];
        for i in 0..iterations {
            let it = format!("for-loop-2[{i}]");
            tasks.push(row(&it, Some("for-loop-2"), TaskKind::Iteration));
            tasks.push(row(&format!("{it}/make"), Some(&it), TaskKind::Container));
            tasks.push(row(&format!("{it}/train"), Some(&it), TaskKind::Container));
        }
        serde_json::from_value(json!({"id": id, "pipelineName": "p", "state": "SUCCEEDED",
            "createdAt": "t", "tasks": tasks}))
        .expect("run")
    };
    let (a, b) = (detail("a", 1), detail("b", 2));
    let side = |run| DiffSide {
        run,
        spec: Some(&spec),
    };
    let d = diff_runs(&side(&a), &side(&b));
    assert_eq!(task(&d, "for-loop-2[1]").change, TaskChange::Added);
    assert_eq!(task(&d, "for-loop-2[1]/train").change, TaskChange::Added);
    assert_eq!(task(&d, "for-loop-2[0]/train").change, TaskChange::Same);
    let has = |f: &str, t: &str, contains: bool| {
        d.edges
            .iter()
            .any(|e| e.from == f && e.to == t && e.contains == contains)
    };
    assert!(has("for-loop-2", "for-loop-2[1]", true));
    assert!(has("for-loop-2[1]", "for-loop-2[1]/make", true));
    assert!(has("for-loop-2[1]/make", "for-loop-2[1]/train", false));
    assert!(!has("for-loop-2[0]/make", "for-loop-2[1]/train", false));
    let l = |p: &str| task(&d, p).layer;
    assert!(l("for-loop-2") < l("for-loop-2[0]"));
    assert!(l("for-loop-2[0]/make") < l("for-loop-2[0]/train"));
}
