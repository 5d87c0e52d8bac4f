//! Generated pipelines of any size, for benchmarks (native and in the browser).

use serde_json::json;

use crate::document::{
    Binding, ComponentDef, Document, Group, GroupKind, LoopItems, Node, Point, PortRef, Size, Wire,
};
use crate::ir::{
    ContainerSpec, ExecutorSpec, InputDefinitions, OutputDefinitions, ParameterSpec, ParameterType,
};
use crate::map::Map;

/// A pipeline of `tasks` tasks: each reads the outputs of its predecessor and of the task half
/// its index; every 50 tasks the next 10 sit inside a condition, the last 5 of them inside a
/// loop nested in it.
pub fn document(tasks: usize) -> Document {
    let mut doc = Document::new("synthetic");
    doc.parameters.push(crate::document::PipelineParameter {
        name: "threshold".into(),
        ty: ParameterType::NumberInteger,
        default: Some(json!(3)),
        description: None,
        optional: None,
    });
    let mut inputs = InputDefinitions::default();
    inputs
        .parameters
        .insert("a".into(), ParameterSpec::of(ParameterType::NumberInteger));
    let mut b = ParameterSpec::of(ParameterType::NumberInteger);
    b.is_optional = true;
    b.default_value = Some(json!(0));
    inputs.parameters.insert("b".into(), b);
    let mut outputs = OutputDefinitions::default();
    outputs.parameters.insert(
        "sum".into(),
        ParameterSpec::of(ParameterType::NumberInteger),
    );
    doc.components.insert(
        "add".into(),
        ComponentDef {
            name: "add".into(),
            title: Some("Add".into()),
            description: None,
            input_definitions: inputs,
            output_definitions: outputs,
            executor: Some(ExecutorSpec::Container(ContainerSpec {
                image: "python:3.11".into(),
                command: vec!["python3".into(), "-c".into()],
                args: vec!["{{$.inputs.parameters['a']}}".into()],
                ..ContainerSpec::default()
            })),
            pipeline: None,
        },
    );
    // Every 50 tasks: the next 10 sit in a condition, the last 5 of those also in a loop.
    let mut group: Option<String> = None;
    for i in 0..tasks {
        if i % 50 == 1 {
            let id = format!("g{i}");
            doc.groups.push(Group {
                id: id.clone(),
                kind: GroupKind::Condition {
                    expression: format!("add-{}.sum > threshold", i - 1),
                },
                name: None,
                display_name: None,
                parent: None,
                position: Point { x: 0.0, y: 0.0 },
                size: Size {
                    width: 0.0,
                    height: 0.0,
                },
            });
            group = Some(id);
        } else if i % 50 == 6 {
            let id = format!("l{i}");
            doc.groups.push(Group {
                id: id.clone(),
                kind: GroupKind::Loop {
                    items: LoopItems::Raw("[1, 2, 3]".into()),
                    parallelism: Some(2),
                    item_input: None,
                    item_type: None,
                },
                name: None,
                display_name: None,
                parent: group.clone(),
                position: Point { x: 0.0, y: 0.0 },
                size: Size {
                    width: 0.0,
                    height: 0.0,
                },
            });
            group = Some(id);
        } else if i % 50 == 11 {
            group = None;
        }
        let mut node_inputs = Map::new();
        if i == 0 {
            node_inputs.insert("a".into(), Binding::Parameter("threshold".into()));
        }
        let mut node = Node::new(&format!("n{i}"), &format!("add-{i}"), "add");
        node.position = Point {
            x: (i % 20) as f64 * 240.0,
            y: (i / 20) as f64 * 120.0,
        };
        node.group = group.clone();
        node.inputs = node_inputs;
        doc.nodes.push(node);
        if i > 0 {
            // Read from earlier tasks visible here: ones in this task's groups or outside all.
            let chain = doc.group_chain(group.as_deref());
            let visible = |j: usize| match &doc.nodes[j].group {
                None => true,
                Some(g) => chain.contains(g),
            };
            let prev = (0..i).rev().find(|&j| visible(j)).unwrap_or(0);
            doc.wires.push(Wire {
                id: format!("w{i}a"),
                from: PortRef {
                    node: format!("n{prev}"),
                    port: "sum".into(),
                },
                to: PortRef {
                    node: format!("n{i}"),
                    port: "a".into(),
                },
            });
            let half = i / 2;
            if half != prev && visible(half) {
                doc.wires.push(Wire {
                    id: format!("w{i}b"),
                    from: PortRef {
                        node: format!("n{half}"),
                        port: "sum".into(),
                    },
                    to: PortRef {
                        node: format!("n{i}"),
                        port: "b".into(),
                    },
                });
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    #[test]
    fn compiles_without_problems() {
        for n in [1, 2, 60, 1000] {
            let c = crate::compile(&super::document(n));
            assert!(c.diagnostics.is_empty(), "{n}: {:?}", c.diagnostics);
            let spec = c.spec.expect("spec");
            let groups = spec
                .components
                .keys()
                .filter(|k| k.starts_with("comp-condition") || k.starts_with("comp-for-loop"))
                .count();
            assert_eq!(spec.components.len(), n + groups);
            // And it survives import → compile.
            let text = crate::to_json(&spec);
            let back = crate::compile(&crate::import::import_pipeline(&text).expect("imports"));
            assert_eq!(back.spec.map(|s| crate::to_json(&s)), Some(text));
        }
    }
}
