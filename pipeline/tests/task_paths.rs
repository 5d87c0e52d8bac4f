//! `Compiled::task_paths`: where each canvas element lands in the compiled spec, as the paths the
//! local engine gives its tasks (`condition-1/train`, loop groups as `for-loop-2`).

use std::path::Path;

use pipeline::map::Map;

fn paths_of(file: &str) -> Map<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/oracle/pipelines")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("readable test pipeline");
    let doc = pipeline::Document::from_json(&text).expect("a document");
    let compiled = pipeline::compile(&doc);
    assert!(
        compiled.spec.is_some(),
        "{file} compiles: {:?}",
        compiled.diagnostics
    );
    compiled.task_paths
}

fn expect(got: &Map<String>, want: &[(&str, &str)]) {
    let want: Map<String> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, &want);
}

/// Every path names a task of the spec: each segment is a task of the DAG the previous one runs.
fn assert_paths_in_spec(file: &str, paths: &Map<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/oracle/pipelines")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("readable test pipeline");
    let doc = pipeline::Document::from_json(&text).expect("a document");
    let spec = pipeline::compile(&doc).spec.expect("a spec");
    for (id, p) in paths {
        let mut dag = spec.root.dag.as_ref().expect("root DAG");
        let segments: Vec<&str> = p.split('/').collect();
        for (i, seg) in segments.iter().enumerate() {
            let task = dag
                .tasks
                .get(seg)
                .unwrap_or_else(|| panic!("{id} → {p}: no task {seg:?}"));
            if i + 1 < segments.len() {
                let comp = &spec.components[&task.component_ref.name];
                dag = comp.dag.as_ref().expect("a sub-DAG");
            }
        }
    }
}

#[test]
fn loops_map_to_loop_tasks_and_their_members() {
    let got = paths_of("loops.pipeline.json");
    expect(
        &got,
        &[
            ("g1", "for-loop-2"),
            ("n2", "for-loop-2/square"),
            ("g3", "for-loop-3"),
            ("n4", "for-loop-3/echo"),
            ("g5", "for-loop-4"),
            ("g6", "for-loop-4/condition-5"),
            ("n7", "for-loop-4/condition-5/echo-2"),
            ("n8", "for-loop-4/shout"),
            ("n9", "make-list"),
            ("n10", "total"),
        ],
    );
    assert_paths_in_spec("loops.pipeline.json", &got);
}

#[test]
fn branches_nest_under_their_if_elif_else_group() {
    let got = paths_of("branches.pipeline.json");
    assert_eq!(got["g1"], "condition-branches-1");
    assert_eq!(got["g2"], "condition-branches-1/condition-2");
    assert_eq!(got["n3"], "condition-branches-1/condition-2/say");
    assert_eq!(got["n8"], "flip");
    assert_eq!(got.len(), 9);
    assert_paths_in_spec("branches.pipeline.json", &got);
}

#[test]
fn exit_tasks_sit_next_to_their_handler() {
    let got = paths_of("exit_handler.pipeline.json");
    assert_eq!(got["g2"], "exit-handler-1");
    assert_eq!(got["n3"], "exit-handler-1/work");
    assert_eq!(got["n1"], "cleanup");
    assert_paths_in_spec("exit_handler.pipeline.json", &got);
}

#[test]
fn documents_with_errors_have_no_paths() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/errors_cycle.pipeline.json");
    let text = std::fs::read_to_string(&path).expect("readable case");
    let doc = pipeline::Document::from_json(&text).expect("a document");
    let compiled = pipeline::compile(&doc);
    assert!(compiled.spec.is_none(), "the case has errors");
    assert!(compiled.task_paths.is_empty());
}
