//! Inputs at and beyond the core's limits (`condition::MAX_DEPTH`, `MAX_NESTING`,
//! `import::MAX_TASKS`), generated here rather than committed: below a limit they compile (and
//! import) as usual, beyond it they give a clear error instead of exhausting the stack or the
//! memory. Errors are compared with `tests/limits/<case>.expected` (`UPDATE_GOLDEN=1` rewrites).

use pipeline::condition::MAX_DEPTH;
use pipeline::document::{ComponentDef, Document, Group, GroupKind, Node, MAX_NESTING};
use pipeline::ir::{ContainerSpec, ExecutorSpec};
use serde_json::{json, Value};

mod common;
use common::{golden, render, render_doc};

const DIR: &str = "tests/limits";

/// The seed example with its condition rewritten by `f`.
fn seed_with_condition(f: impl Fn(&str) -> String) -> String {
    let mut doc: Value = serde_json::from_str(&common::seed_text()).expect("seed JSON");
    let expression = &mut doc["groups"][0]["kind"]["condition"]["expression"];
    let e = expression.as_str().expect("a condition").to_string();
    *expression = json!(f(&e));
    serde_json::to_string_pretty(&doc).expect("JSON")
}

#[test]
fn conditions_nested_too_deep_are_reported() {
    type Rewrite = fn(&str) -> String;
    let cases: [(&str, Rewrite); 3] = [
        ("seed_20000_parentheses", |e| {
            format!("{}{e}{}", "(".repeat(20_000), ")".repeat(20_000))
        }),
        ("seed_20000_nots", |e| {
            format!("{}{e}", "not ".repeat(20_000))
        }),
        ("seed_20000_ands", |e| vec![e; 20_000].join(" and ")),
    ];
    let mut failures = Vec::new();
    for (name, f) in cases {
        if let Err(e) = golden(DIR, name, &render(&seed_with_condition(f))) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // At the limit the seed still compiles.
    let ok =
        seed_with_condition(|e| format!("{}{e}{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH)));
    let doc = pipeline::Document::from_json(&ok).expect("a document");
    assert!(pipeline::compile(&doc).spec.is_some());
}

/// A component running a container, with no inputs or outputs.
fn leaf() -> ComponentDef {
    ComponentDef {
        name: "leaf".into(),
        title: None,
        description: None,
        input_definitions: Default::default(),
        output_definitions: Default::default(),
        executor: Some(ExecutorSpec::Container(ContainerSpec {
            image: "alpine".into(),
            ..ContainerSpec::default()
        })),
        pipeline: None,
    }
}

/// A pipeline with parameter `p` and one task running [`leaf`].
fn one_task() -> Document {
    let mut doc = Document::new("p");
    doc.parameters.push(pipeline::PipelineParameter {
        name: "p".into(),
        ty: pipeline::ir::ParameterType::NumberInteger,
        default: Some(json!(1)),
        description: None,
        optional: None,
    });
    doc.components.insert("leaf".into(), leaf());
    doc.nodes.push(Node::new("n1", "leaf", "leaf"));
    doc
}

fn condition(id: &str, parent: Option<String>, expression: &str) -> Group {
    Group {
        id: id.into(),
        kind: GroupKind::Condition {
            expression: expression.into(),
        },
        name: None,
        display_name: None,
        parent,
        position: Default::default(),
        size: Default::default(),
    }
}

/// [`one_task`] with its task inside `depth` nested conditions.
fn nested_groups(depth: usize) -> Document {
    let mut doc = one_task();
    for i in 1..=depth {
        let parent = (i > 1).then(|| format!("g{}", i - 1));
        doc.groups
            .push(condition(&format!("g{i}"), parent, "p == 1"));
    }
    doc.nodes[0].group = Some(format!("g{depth}"));
    doc
}

#[test]
fn groups_nested_too_deep_are_reported() {
    assert!(pipeline::compile(&nested_groups(MAX_NESTING))
        .spec
        .is_some());
    golden(DIR, "groups_70_deep", &render_doc(&nested_groups(70))).unwrap();
    // However deep: one error per MAX_NESTING levels, in time linear in the depth.
    let deep = nested_groups(100_000);
    let diagnostics = pipeline::validate(&deep);
    assert_eq!(diagnostics.len(), (100_000 - 1) / MAX_NESTING);
    assert!(diagnostics
        .iter()
        .all(|d| d.message == format!("groups nest deeper than {MAX_NESTING} levels here")));
}

/// [`one_task`] whose task sits in an if/elif/else of `branches` conditions.
fn branches(branches: usize) -> Document {
    let mut doc = one_task();
    doc.groups.push(Group {
        kind: GroupKind::Branches,
        ..condition("b", None, "")
    });
    for i in 0..branches {
        doc.groups.push(condition(
            &format!("c{i}"),
            Some("b".into()),
            &format!("p == {i}"),
        ));
    }
    doc.nodes[0].group = Some(format!("c{}", branches - 1));
    doc
}

#[test]
fn if_elif_chains_too_long_are_reported() {
    // The last of 99 branches negates 98: its trigger is exactly MAX_DEPTH deep, and imports.
    let doc = branches(MAX_DEPTH - 1);
    let spec = pipeline::compile(&doc).spec.expect("compiles");
    let text = pipeline::to_json(&spec);
    let back = pipeline::import::import_pipeline(&text).expect("imports");
    assert_eq!(
        pipeline::compile(&back).spec.map(|s| pipeline::to_json(&s)),
        Some(text)
    );
    golden(DIR, "branches_120", &render_doc(&branches(120))).unwrap();
}

/// A pipeline whose task runs a sub-pipeline, `depth` levels down to [`one_task`].
fn nested_pipelines(depth: usize) -> Document {
    let mut doc = one_task();
    for _ in 0..depth {
        let mut outer = Document::new("p");
        outer.components.insert(
            "sub".into(),
            ComponentDef {
                name: "sub".into(),
                pipeline: Some(Box::new(doc)),
                executor: None,
                ..leaf()
            },
        );
        outer.nodes.push(Node::new("n1", "sub", "sub"));
        doc = outer;
    }
    doc
}

#[test]
fn sub_pipelines_nested_too_deep_are_reported() {
    // At the limit: compiles, imports back and compiles to the same spec (within the stack of
    // a test thread, in a debug build).
    let spec = pipeline::compile(&nested_pipelines(MAX_NESTING))
        .spec
        .expect("compiles");
    let text = pipeline::to_json(&spec);
    let back = pipeline::import::import_pipeline(&text).expect("imports");
    assert_eq!(
        pipeline::compile(&back).spec.map(|s| pipeline::to_json(&s)),
        Some(text)
    );
    golden(
        DIR,
        "sub_pipelines_65_deep",
        &render_doc(&nested_pipelines(MAX_NESTING + 1)),
    )
    .unwrap();
}

/// A compiled spec whose root task runs `comp-0`, whose DAG runs the components `next(k)` names.
fn spec_of(levels: usize, next: impl Fn(usize) -> Vec<String>) -> String {
    let task = |c: &str| json!({"componentRef": {"name": c}, "taskInfo": {"name": "t"}});
    let dag = |names: Vec<String>| {
        let tasks: serde_json::Map<String, Value> = names
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("t{i}"), task(c)))
            .collect();
        json!({"dag": {"tasks": tasks}})
    };
    let mut components = serde_json::Map::new();
    for k in 0..levels {
        for name in if k == 0 {
            vec!["comp-0".to_string()]
        } else {
            next(k - 1)
        } {
            let inner = if k + 1 == levels {
                vec!["comp-leaf".into()]
            } else {
                next(k)
            };
            components.insert(name, dag(inner));
        }
    }
    components.insert("comp-leaf".into(), json!({"executorLabel": "exec-leaf"}));
    json!({
        "pipelineInfo": {"name": "p"},
        "schemaVersion": "2.1.0",
        "root": dag(vec!["comp-0".into()]),
        "components": components,
        "deploymentSpec": {"executors": {"exec-leaf": {"container": {"image": "alpine"}}}}
    })
    .to_string()
}

fn import_error(text: &str) -> String {
    match pipeline::import::import_pipeline(text) {
        Ok(_) => "imported without error\n".into(),
        Err(e) => format!("{e}\n"),
    }
}

#[test]
fn imports_nested_too_deep_or_too_large_are_refused() {
    let chain = |k: usize| vec![format!("comp-{}", k + 1)];
    // comp-0 … comp-63 hold 64 nested sub-pipelines: fine; one more is refused.
    let doc = pipeline::import::import_pipeline(&spec_of(MAX_NESTING, chain)).expect("imports");
    assert!(pipeline::compile(&doc).spec.is_some());
    golden(
        DIR,
        "import_65_deep",
        &import_error(&spec_of(MAX_NESTING + 1, chain)),
    )
    .unwrap();
    // Each level uses both components of the next (and 40 leaves), which use both of the one
    // after, …: 2^30 copies of the last, from 60 small components.
    let diamonds = |k: usize| {
        let mut next = vec![format!("comp-{}a", k + 1), format!("comp-{}b", k + 1)];
        next.extend(std::iter::repeat_n("comp-leaf".to_string(), 40));
        next
    };
    golden(
        DIR,
        "import_expands_2_pow_30",
        &import_error(&spec_of(30, diamonds)),
    )
    .unwrap();
}

/// A v1 component whose command line nests `concat` placeholders `depth` levels deep.
fn v1_concat(depth: usize) -> String {
    let mut arg = json!("x");
    for _ in 0..depth {
        arg = json!({ "concat": [arg, "-y"] });
    }
    json!({"name": "c", "implementation": {"container": {"image": "alpine", "args": [arg]}}})
        .to_string()
}

#[test]
fn v1_placeholders_nested_up_to_the_json_limit_convert() {
    // serde_json reads 128 levels: 60 nested `concat`s fit, and convert (recursively).
    let c = pipeline::import::component_from_yaml(&v1_concat(60)).expect("converts");
    let Some(ExecutorSpec::Container(container)) = c.executor else {
        panic!("a container component")
    };
    assert!(container.args[0].starts_with(&"{\"Concat\": [".repeat(60)));
    golden(DIR, "v1_concat_70_deep", &import_error(&v1_concat(70))).unwrap();
}
