//! Property tests: no input crashes the core.
//!
//! - Documents, generated (nodes, wires, nested groups, conditions, loops, parameters, all at
//!   random, ids often wrong on purpose) and mutated from real ones (the examples, the golden
//!   cases and the oracle pipelines: JSON values replaced, removed, copied and swapped, strings
//!   swapped for other ids of the document, bytes flipped), go through parsing, validation,
//!   compilation and layout without a panic; a spec compiles only without errors, and survives
//!   its JSON form and an import.
//! - The importer reads any text, and mutations of the KFP conformance corpus, without a panic.
//! - The condition language: any text parses (or not) without a panic; generated expressions
//!   print and parse back to themselves, and go to CEL and back as the language says.
//!
//! The whole suite runs `PIPELINE_CANVAS_PROPTEST_CASES` cases (100,000 by default), shared by
//! the properties by weight; set it to 1,000,000 or more for a long run. A failure is not saved
//! to a file: it is printed, shrunk, and becomes a golden case (`tests/cases`,
//! `tests/import_errors`, `tests/limits`).

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

use pipeline::condition::{self, CmpOp, Expr, Operand};
use pipeline::document::{
    Binding, ComponentDef, Document, Group, GroupKind, LoopItems, Node, PipelineOutput,
    PipelineParameter, PortRef, Wire,
};
use pipeline::ir::{
    ArtifactSpec, ArtifactTypeSchema, ContainerSpec, ExecutorSpec, ParameterSpec, ParameterType,
    PipelineSpec, RetryPolicy,
};

mod common;

/// The config of a property that runs `per_mille` of the suite's cases.
fn config(per_mille: u64) -> Config {
    let total = std::env::var("PIPELINE_CANVAS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(100_000);
    Config {
        cases: u32::try_from((total * per_mille / 1000).max(1)).unwrap_or(u32::MAX),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Random choices read from a byte string: proptest shrinks it (shorter, smaller bytes), which
/// shrinks what is built from it towards the first choice of each `below` and no `chance`.
struct Tape<'a>(std::slice::Iter<'a, u8>);

impl Tape<'_> {
    /// A number below `n` (0 once the tape is used up).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let a = self.0.next().copied().unwrap_or(0) as usize;
        let b = self.0.next().copied().unwrap_or(0) as usize;
        (a << 8 | b) % n
    }

    /// True one time in `one_in`; false once the tape is used up.
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) + 1 == one_in
    }

    fn pick<'p, T>(&mut self, items: &'p [T]) -> &'p T {
        &items[self.below(items.len())]
    }
}

fn tape() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..1500)
}

// ---------------------------------------------------------------------------------------------
// The condition language.

const KEYWORDS: [&str; 8] = ["and", "or", "not", "true", "false", "True", "False", "item"];

fn word(pattern: &'static str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern)
        .expect("a valid pattern")
        .prop_filter("not a keyword", |w| !KEYWORDS.contains(&w.as_str()))
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        word("[a-z_][a-z0-9_]{0,5}").prop_map(Operand::Parameter),
        (word("[a-z][a-z0-9-]{0,6}"), word("[A-Za-z_][a-z0-9_]{0,5}"))
            .prop_map(|(task, output)| Operand::Output { task, output }),
        proptest::string::string_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?")
            .expect("a valid pattern")
            .prop_map(Operand::Number),
        any::<String>().prop_map(Operand::Str),
        any::<bool>().prop_map(Operand::Bool),
        (
            proptest::option::of(word("[a-z][a-z0-9-]{0,6}")),
            proptest::option::of(".{1,6}"),
        )
            .prop_map(|(group, field)| Operand::LoopItem { group, field }),
    ]
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (operand(), cmp_op(), operand()).prop_map(|(l, op, r)| Expr::Compare(l, op, r)),
        operand().prop_map(Expr::Truthy),
    ];
    leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Text made of the pieces both condition syntaxes are built from, and of any characters.
fn condition_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "(",
        ")",
        "not ",
        " and ",
        " or ",
        "&&",
        "||",
        "!",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "'",
        "\"",
        "\\",
        "item",
        "item(g1)",
        "['a']",
        "[",
        "]",
        ".",
        "-",
        "1",
        "-2.5e3",
        "1e999",
        "a",
        "t.o",
        " ",
        "\u{a0}",
        "é",
        "💥",
        "inputs.parameter_values['",
        "pipelinechannel--x",
        "']",
        "int(",
        "double(",
        "string(",
        "true",
        "False",
    ];
    let piece = prop_oneof![
        3 => proptest::sample::select(PIECES).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// `e` as it reads back from its CEL: a lone operand is compared with `true`, and chains of
/// `and` (or of `or`) associate to the left.
fn as_cel_reads(e: &Expr) -> Expr {
    fn chain(e: &Expr, and: bool, out: &mut Vec<Expr>) {
        match (e, and) {
            (Expr::And(a, b), true) | (Expr::Or(a, b), false) => {
                chain(a, and, out);
                chain(b, and, out);
            }
            _ => out.push(as_cel_reads(e)),
        }
    }
    let join = |e: &Expr, and: bool| {
        let mut parts = Vec::new();
        chain(e, and, &mut parts);
        parts
            .into_iter()
            .reduce(|a, b| {
                if and {
                    Expr::And(Box::new(a), Box::new(b))
                } else {
                    Expr::Or(Box::new(a), Box::new(b))
                }
            })
            .expect("a chain has parts")
    };
    match e {
        Expr::Truthy(o) => Expr::Compare(o.clone(), CmpOp::Eq, Operand::Bool(true)),
        Expr::Compare(..) => e.clone(),
        Expr::Not(a) => Expr::Not(Box::new(as_cel_reads(a))),
        Expr::And(..) => join(e, true),
        Expr::Or(..) => join(e, false),
    }
}

proptest! {
    #![proptest_config(config(250))]

    #[test]
    fn any_condition_text_parses_or_is_refused(text in condition_text()) {
        if let Err(e) = condition::parse(&text) {
            prop_assert!(e.offset <= text.chars().count(), "{e}");
            prop_assert!(!e.message.is_empty());
        }
        let resolve = |name: &str| Some(Operand::Parameter(name.to_string()));
        if let Err(e) = condition::from_cel(&text, &resolve) {
            prop_assert!(e.offset <= text.chars().count(), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(config(150))]

    #[test]
    fn conditions_print_and_parse_back(e in expr()) {
        let text = e.to_string();
        let back = condition::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&e), "{}", text);
    }
}

proptest! {
    #![proptest_config(config(150))]

    #[test]
    fn conditions_go_to_cel_and_back(e in expr(), ints in any::<u64>()) {
        // Each operand gets an input name of its own, some read as integers (`int(...)`).
        let mut names: Vec<Operand> = Vec::new();
        for o in e.operands() {
            if !names.contains(o) {
                names.push(o.clone());
            }
        }
        let channel = |o: &Operand| {
            let i = names.iter().position(|n| n == o).unwrap_or(0);
            (format!("pipelinechannel--ch-{i}"), ints >> (i % 64) & 1 == 1)
        };
        let resolve = |name: &str| {
            let i: usize = name.strip_prefix("pipelinechannel--ch-")?.parse().ok()?;
            names.get(i).cloned()
        };
        let cel = e.to_cel(&channel);
        let back = condition::from_cel(&cel, &resolve);
        prop_assert_eq!(back.as_ref(), Ok(&as_cel_reads(&e)), "{}", cel);
        prop_assert_eq!(back.map(|b| b.to_cel(&channel)), Ok(cel));
    }
}

// ---------------------------------------------------------------------------------------------
// Documents.

/// What any document must survive: JSON text → document → validation, compilation, layout.
fn check_document_text(text: &str) -> Result<(), TestCaseError> {
    let Ok(doc) = Document::from_json(text) else {
        return Ok(());
    };
    check_document(doc)
}

fn check_document(doc: Document) -> Result<(), TestCaseError> {
    let again = Document::from_json(&doc.to_json());
    prop_assert_eq!(
        again.as_ref(),
        Ok(&doc),
        "a document reads back from its JSON"
    );
    let compiled = pipeline::compile(&doc);
    prop_assert_eq!(&pipeline::validate(&doc), &compiled.diagnostics);
    let errors = compiled.diagnostics.iter().any(|d| d.is_error());
    match &compiled.spec {
        None => prop_assert!(errors, "no spec, but no error either"),
        Some(spec) => {
            prop_assert!(!errors);
            let text = pipeline::to_json(spec);
            let back: Result<PipelineSpec, _> = serde_json::from_str(&text);
            prop_assert_eq!(
                back.as_ref().ok(),
                Some(spec),
                "the spec reads back from its JSON"
            );
            let _ = pipeline::to_yaml(spec);
            // Its import compiles again (documents the importer reads back exactly are checked
            // by the corpus round trip; here it must only not crash).
            if let Ok(imported) = pipeline::import::import_pipeline(&text) {
                let _ = pipeline::compile(&imported);
            }
        }
    }
    let mut laid_out = doc;
    pipeline::layout::layout(&mut laid_out);
    Ok(())
}

/// The components generated documents use.
fn components() -> Vec<(&'static str, ComponentDef)> {
    let param = |t: ParameterType, optional: bool| ParameterSpec {
        is_optional: optional,
        ..ParameterSpec::of(t)
    };
    let dataset = |optional: bool| ArtifactSpec {
        artifact_type: ArtifactTypeSchema::titled("system.Dataset"),
        is_optional: optional,
        ..ArtifactSpec::default()
    };
    let def = |name: &str| ComponentDef {
        name: name.into(),
        title: None,
        description: None,
        input_definitions: Default::default(),
        output_definitions: Default::default(),
        executor: Some(ExecutorSpec::Container(ContainerSpec {
            image: "alpine".into(),
            ..ContainerSpec::default()
        })),
        pipeline: None,
    };
    let mut src = def("src");
    src.output_definitions
        .parameters
        .insert("out".into(), param(ParameterType::NumberInteger, false));
    src.output_definitions
        .parameters
        .insert("lst".into(), param(ParameterType::List, false));
    src.output_definitions
        .artifacts
        .insert("ds".into(), dataset(false));
    let mut mid = def("mid");
    mid.input_definitions
        .parameters
        .insert("a".into(), param(ParameterType::NumberInteger, false));
    mid.input_definitions
        .parameters
        .insert("b".into(), param(ParameterType::String, true));
    mid.input_definitions
        .artifacts
        .insert("ds".into(), dataset(true));
    mid.output_definitions
        .parameters
        .insert("out".into(), param(ParameterType::NumberInteger, false));
    mid.output_definitions
        .parameters
        .insert("flag".into(), param(ParameterType::Boolean, false));
    let mut sink = def("sink");
    sink.input_definitions
        .parameters
        .insert("x".into(), param(ParameterType::NumberDouble, true));
    sink.input_definitions
        .parameters
        .insert("status".into(), param(ParameterType::TaskFinalStatus, true));
    let mut inner = Document::new("inner");
    inner.components.insert("src".into(), src.clone());
    inner.nodes.push(Node::new("n1", "src", "src"));
    inner.outputs.push(PipelineOutput {
        name: "out".into(),
        from: vec![PortRef {
            node: "n1".into(),
            port: "out".into(),
        }],
        collected: false,
        description: None,
    });
    let mut sub = def("sub");
    sub.executor = None;
    sub.output_definitions
        .parameters
        .insert("out".into(), param(ParameterType::NumberInteger, false));
    sub.pipeline = Some(Box::new(inner));
    vec![("src", src), ("mid", mid), ("sink", sink), ("sub", sub)]
}

const PORTS: [&str; 9] = ["out", "lst", "ds", "a", "b", "x", "flag", "status", "nope"];
const TYPES: [ParameterType; 7] = [
    ParameterType::NumberInteger,
    ParameterType::NumberDouble,
    ParameterType::String,
    ParameterType::Boolean,
    ParameterType::List,
    ParameterType::Struct,
    ParameterType::TaskFinalStatus,
];

fn value(t: &mut Tape<'_>) -> Value {
    match t.below(9) {
        0 => json!(t.below(5)),
        1 => json!(-1.5),
        2 => json!("text"),
        3 => json!(true),
        4 => json!([1, 2, 3]),
        5 => json!([{"a": 1}, {"a": 2}]),
        6 => json!({"k": "v"}),
        7 => json!(i64::MIN),
        _ => Value::Null,
    }
}

/// A document built from the tape: mostly sound (parameters `p0: int`, `p1: list`,
/// `p2: str`; task `t0` at the top level, whose outputs every other task and condition may
/// read; groups inside earlier groups; required inputs set), with a wrong part now and then.
fn generated_document(bytes: &[u8]) -> Document {
    let mut t = Tape(bytes.iter());
    let mut doc = Document::new(if t.chance(30) {
        "Bad Name"
    } else {
        "generated"
    });
    let comps = components();
    for (key, def) in &comps {
        if !t.chance(100) {
            doc.components.insert((*key).to_string(), def.clone());
        }
    }
    let parameter = |name: &str, ty, default| PipelineParameter {
        name: name.into(),
        ty,
        default: Some(default),
        description: None,
        optional: None,
    };
    doc.parameters = vec![
        parameter("p0", ParameterType::NumberInteger, json!(1)),
        parameter("p1", ParameterType::List, json!([1, 2, 3])),
        parameter("p2", ParameterType::String, json!("a")),
    ];
    if t.chance(10) {
        let ty = *t.pick(&TYPES);
        let default = value(&mut t);
        doc.parameters
            .push(parameter(&format!("p{}", t.below(5)), ty, default));
    }
    let n_nodes = 1 + t.below(9);
    let node_id = |t: &mut Tape<'_>| format!("n{}", t.below(n_nodes + 1));

    // Groups, each inside an earlier one or at the top; an if/elif/else gets its branches.
    let n_groups = t.below(8);
    let any_group = |t: &mut Tape<'_>| format!("g{}", t.below(n_groups + 1));
    let mut kinds: Vec<GroupKind> = Vec::new();
    while doc.groups.len() < n_groups {
        let i = doc.groups.len();
        let parent = if t.chance(25) {
            Some(any_group(&mut t))
        } else if i > 0 && !t.chance(2) {
            let p = t.below(i);
            (!matches!(kinds[p], GroupKind::Branches)).then(|| format!("g{p}"))
        } else {
            None
        };
        let kind = match t.below(6) {
            0 | 1 => GroupKind::Condition {
                expression: condition_over(&mut t, n_nodes),
            },
            2 | 3 => GroupKind::Loop {
                items: match t.below(6) {
                    0 => LoopItems::Parameter(if t.chance(4) { "p0" } else { "p1" }.into()),
                    1 => LoopItems::Output(PortRef {
                        node: "n0".into(),
                        port: if t.chance(4) { "out" } else { "lst" }.into(),
                    }),
                    2 => LoopItems::Raw(
                        t.pick(&["[{\"a\": 1}, {\"a\": 2}]", "[1, 2", "[]", "{}"])
                            .to_string(),
                    ),
                    _ => LoopItems::Raw("[1, 2, 3]".into()),
                },
                parallelism: t
                    .chance(3)
                    .then(|| *t.pick(&[2, 2, 2, 1, 0, -3, i64::MAX, i64::MIN])),
                item_input: None,
                item_type: t.chance(4).then(|| *t.pick(&TYPES)),
            },
            4 => GroupKind::Branches,
            _ => GroupKind::ExitHandler {
                exit_node: String::new(),
            },
        };
        let branches = matches!(kind, GroupKind::Branches);
        let id = format!("g{i}");
        kinds.push(kind.clone());
        doc.groups.push(Group {
            id: id.clone(),
            kind,
            name: t.chance(20).then(|| format!("condition-{}", t.below(4))),
            display_name: None,
            parent,
            position: Default::default(),
            size: Default::default(),
        });
        if branches {
            let n = 1 + t.below(3);
            for b in 0..n {
                let kind = if b + 1 == n && t.chance(2) {
                    GroupKind::Else
                } else {
                    GroupKind::Condition {
                        expression: condition_over(&mut t, n_nodes),
                    }
                };
                kinds.push(kind.clone());
                doc.groups.push(Group {
                    id: format!("g{}", doc.groups.len()),
                    kind,
                    name: None,
                    display_name: None,
                    parent: Some(id.clone()),
                    position: Default::default(),
                    size: Default::default(),
                });
            }
        }
    }
    let holders: Vec<usize> = (0..kinds.len())
        .filter(|&g| !matches!(kinds[g], GroupKind::Branches))
        .collect();

    // Tasks: `t0` runs `src` at the top level; the others read it, or each other.
    for i in 0..n_nodes {
        let has_out =
            |d: &Document, j: usize| d.nodes.get(j).is_some_and(|n| n.component != "sink");
        let earlier = (0..i).filter(|&j| has_out(&doc, j)).collect::<Vec<_>>();
        let key = if i == 0 {
            "src"
        } else {
            t.pick(&["mid", "mid", "sink", "src", "sub"])
        };
        let name = if t.chance(30) {
            format!("t{}", t.below(3))
        } else {
            format!("t{i}")
        };
        let mut node = Node::new(&format!("n{i}"), &name, key);
        if i > 0 && !holders.is_empty() && !t.chance(3) {
            node.group = Some(format!("g{}", t.pick(&holders)));
        }
        let loop_around = node.group.as_ref().and_then(|g| {
            let g: usize = g.strip_prefix('g')?.parse().ok()?;
            matches!(kinds.get(g), Some(GroupKind::Loop { .. })).then_some(g)
        });
        let wire = |from: String, port: &str, to: &str, doc: &mut Document| {
            doc.wires.push(Wire {
                id: format!("w{}", doc.wires.len()),
                from: PortRef {
                    node: from,
                    port: port.into(),
                },
                to: PortRef {
                    node: format!("n{i}"),
                    port: to.into(),
                },
            });
        };
        match key {
            "mid" => {
                match (t.below(5), loop_around) {
                    (0, _) => {
                        node.inputs
                            .insert("a".into(), Binding::Value(json!(t.below(9))));
                    }
                    (1, _) => {
                        node.inputs
                            .insert("a".into(), Binding::Parameter("p0".into()));
                    }
                    (2, Some(g)) => {
                        node.inputs.insert(
                            "a".into(),
                            Binding::LoopItem {
                                group: format!("g{g}"),
                                field: None,
                            },
                        );
                    }
                    (3, _) => wire(format!("n{}", t.pick(&earlier)), "out", "a", &mut doc),
                    _ => wire("n0".into(), "out", "a", &mut doc),
                }
                if t.chance(3) {
                    wire("n0".into(), "ds", "ds", &mut doc);
                }
                if t.chance(4) {
                    node.inputs.insert("b".into(), Binding::Value(json!("x")));
                }
            }
            "sink" if !t.chance(2) => wire(format!("n{}", t.pick(&earlier)), "out", "x", &mut doc),
            _ => {}
        }
        if t.chance(25) {
            // Anything, anywhere.
            let port = t.pick(&PORTS).to_string();
            let binding = match t.below(4) {
                0 => Binding::Value(value(&mut t)),
                1 => Binding::Parameter(format!("p{}", t.below(5))),
                2 => Binding::LoopItem {
                    group: any_group(&mut t),
                    field: t.chance(2).then(|| "a".to_string()),
                },
                _ => Binding::FinalStatus(any_group(&mut t)),
            };
            node.inputs.insert(port, binding);
        }
        if t.chance(25) {
            let to = t.pick(&PORTS).to_string();
            let from = *t.pick(&PORTS);
            wire(node_id(&mut t), from, &to, &mut doc);
        }
        if t.chance(15) {
            node.after.push(if t.chance(2) {
                node_id(&mut t)
            } else {
                any_group(&mut t)
            });
        }
        if t.chance(6) {
            node.retry = Some(RetryPolicy {
                max_retry_count: Some(*t.pick(&[3, -1, i64::MAX])),
                backoff_duration: Some("5s".into()),
                backoff_factor: Some(*t.pick(&[2.0, -1.0, f64::MAX])),
                backoff_max_duration: None,
            });
        }
        node.run_after_failures = t.chance(10);
        doc.nodes.push(node);
    }
    // Each exit handler gets an exit task beside it, reading its final status.
    for (g, kind) in kinds.iter().enumerate() {
        if !matches!(kind, GroupKind::ExitHandler { .. }) || t.chance(8) {
            continue;
        }
        let id = format!("n{}", doc.nodes.len());
        let mut exit = Node::new(&id, &format!("exit-{g}"), "sink");
        exit.group = doc.groups[g].parent.clone();
        exit.inputs
            .insert("status".into(), Binding::FinalStatus(format!("g{g}")));
        doc.groups[g].kind = GroupKind::ExitHandler { exit_node: id };
        doc.nodes.push(exit);
    }
    if t.chance(3) {
        doc.outputs.push(PipelineOutput {
            name: "o".into(),
            from: vec![PortRef {
                node: node_id(&mut t),
                port: "out".into(),
            }],
            collected: t.chance(4),
            description: None,
        });
    }
    doc
}

/// A condition over the outputs, parameters and loop items of a generated document.
fn condition_over(t: &mut Tape<'_>, n_nodes: usize) -> String {
    let operand = |t: &mut Tape<'_>| match t.below(16) {
        0..=5 => "t0.out".to_string(),
        6 | 7 => "p0".to_string(),
        8 => format!("t{}.{}", t.below(n_nodes + 1), t.pick(&PORTS)),
        9 => t
            .pick(&["item", "item['a']", "item(g1)", "item(g0)['a']"])
            .to_string(),
        10 | 11 => t.below(10).to_string(),
        12 | 13 => "'x'".to_string(),
        14 => "p2".to_string(),
        _ => t
            .pick(&["true", "-1.5", "1e999", "(", "not", "\u{a0}", "p1"])
            .to_string(),
    };
    let mut text = String::new();
    for i in 0..1 + t.below(3) {
        if i > 0 {
            let join: &&str = t.pick(&[" and ", " or ", " and not "]);
            text.push_str(join);
        }
        text.push_str(&operand(t));
        if !t.chance(5) {
            let op: &&str = t.pick(&[" == ", " < ", " >= ", " != "]);
            text.push_str(op);
            text.push_str(&operand(t));
        }
    }
    text
}

proptest! {
    #![proptest_config(config(100))]

    #[test]
    fn generated_documents_compile_or_are_diagnosed(bytes in tape()) {
        let doc = generated_document(&bytes);
        check_document_text(&doc.to_json())?;
    }
}

/// The real documents: the examples, the golden cases and the oracle pipelines.
fn real_documents() -> &'static [Value] {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = ["../examples", "tests/cases", "../tests/oracle/pipelines"]
            .iter()
            .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".pipeline.json"))
            .collect();
        files.sort();
        let docs: Vec<Value> = files
            .iter()
            .map(|f| {
                serde_json::from_str(&std::fs::read_to_string(f).expect("readable"))
                    .expect("a JSON document")
            })
            .collect();
        assert!(docs.len() >= 10, "found {} documents", docs.len());
        docs
    })
}

/// A place in a JSON value.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// A random place in `v`: a walk down from the top that stops at each level one time in three.
fn random_path(v: &Value, t: &mut Tape<'_>) -> Vec<Step> {
    let mut path = Vec::new();
    let mut cur = v;
    loop {
        let steps: Vec<(Step, &Value)> = match cur {
            Value::Object(o) => o.iter().map(|(k, c)| (Step::Key(k.clone()), c)).collect(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, c)| (Step::Index(i), c))
                .collect(),
            _ => Vec::new(),
        };
        if steps.is_empty() || (!path.is_empty() && t.chance(3)) {
            return path;
        }
        let (step, next) = &steps[t.below(steps.len())];
        path.push(step.clone());
        cur = next;
    }
}

fn at<'v>(v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|c| strings(c, out)),
        Value::Object(o) => o.iter().for_each(|(k, c)| {
            out.push(k.clone());
            strings(c, out)
        }),
        _ => {}
    }
}

/// Applies a few random mutations to `v`, mostly ones that keep its shape so that deserializing
/// still succeeds: strings replaced by others found in it (ids, names, keys: wrong references,
/// cycles, duplicates), numbers by extreme ones, booleans flipped, list items and fields removed
/// or repeated, parts copied over others; now and then anything goes.
fn mutate(v: &mut Value, t: &mut Tape<'_>) {
    let mut pool = Vec::new();
    strings(v, &mut pool);
    pool.sort();
    pool.dedup();
    pool.extend(
        [
            "",
            "(",
            "\u{a0}",
            "é",
            "a == 1",
            "{{$}}",
            "[1, 2",
            "g1",
            "n1",
            "comp-a",
            "-1",
            "NUMBER_INTEGER",
            "system.Artifact",
        ]
        .map(String::from),
    );
    const NUMBERS: [f64; 8] = [0.0, -1.0, 1.0, 2.0, 0.5, 1e300, -1e300, 4_294_967_296.0];
    for _ in 0..1 + t.below(3) {
        let path = random_path(v, t);
        let other = random_path(v, t);
        let copy = at(v, &other).map(|o| o.clone()).unwrap_or_default();
        if t.chance(10) {
            // Anything: a value of another kind, or removed.
            if let Some(target) = at(v, &path) {
                *target = t
                    .pick(&[
                        Value::Null,
                        json!(1),
                        json!("x"),
                        json!([]),
                        json!({}),
                        copy,
                    ])
                    .clone();
            }
            continue;
        }
        let wild = t.chance(12);
        let Some(target) = at(v, &path) else { continue };
        match target {
            Value::String(s) => *s = t.pick(&pool).clone(),
            Value::Number(_) => {
                let n = *t.pick(&NUMBERS);
                *target = if t.chance(2) {
                    json!(n as i64)
                } else {
                    json!(n)
                };
            }
            Value::Bool(b) => *b = !*b,
            Value::Array(a) if !a.is_empty() => {
                let i = t.below(a.len());
                match t.below(3) {
                    0 => {
                        a.remove(i);
                    }
                    1 => a.insert(i, a[i].clone()),
                    _ => {
                        let j = t.below(a.len());
                        a.swap(i, j);
                    }
                }
            }
            Value::Object(o) if !o.is_empty() => {
                let keys: Vec<String> = o.keys().cloned().collect();
                let key = t.pick(&keys).clone();
                if wild {
                    o.insert(t.pick(&pool).clone(), copy);
                } else if t.chance(2) {
                    o.remove(&key);
                } else if copy.is_object() == o.get(&key).is_some_and(Value::is_object) {
                    o.insert(key, copy);
                }
            }
            _ => *target = copy,
        }
    }
}

/// Flips, drops, repeats or inserts a few bytes.
fn mutate_bytes(text: &str, t: &mut Tape<'_>) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + t.below(4) {
        let at = t.below(bytes.len() + 1);
        match t.below(4) {
            0 if at < bytes.len() => bytes[at] ^= 1 << t.below(8),
            1 => {
                let end = (at + t.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let end = (at + t.below(64)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            _ => bytes.insert(at, *t.pick(b"{}[]\":,\\\n-&*'a0")),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(config(150))]

    #[test]
    fn mutated_documents_compile_or_are_diagnosed(bytes in tape()) {
        let mut t = Tape(bytes.iter());
        let mut doc = t.pick(real_documents()).clone();
        if t.chance(8) {
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            check_document_text(&mutate_bytes(&text, &mut t))?;
        } else {
            mutate(&mut doc, &mut t);
            check_document_text(&doc.to_string())?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The importer.

/// What any text must survive: every way in to the importer.
fn check_import(text: &str) -> Result<(), TestCaseError> {
    match pipeline::import::import_pipeline(text) {
        Ok(doc) => {
            let again = Document::from_json(&doc.to_json());
            prop_assert_eq!(
                again.as_ref(),
                Ok(&doc),
                "an import reads back from its JSON"
            );
            let _ = pipeline::compile(&doc);
        }
        Err(e) => prop_assert!(!e.to_string().is_empty()),
    }
    let _ = pipeline::import::component_from_yaml(text);
    // The YAML reader reads what serde_yaml_ng reads into JSON values (within its budget).
    if !text.trim_start().starts_with('{') {
        let ours = pipeline::import::yaml_documents(text).ok();
        let theirs: Option<Vec<Value>> = serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| serde::Deserialize::deserialize(d).ok())
            .collect::<Option<Vec<Value>>>()
            .map(|v| v.into_iter().filter(|v| !v.is_null()).collect());
        if let Some(ours) = ours {
            prop_assert_eq!(Some(ours), theirs);
        }
    }
    Ok(())
}

/// Text made of the pieces of YAML and JSON specs, and of any characters.
fn spec_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ": ",
        ",",
        "- ",
        "\n",
        "  ",
        "'",
        "\"",
        "&a ",
        "*a",
        "!!str ",
        "---\n",
        "root",
        "dag",
        "tasks",
        "components",
        "comp-a",
        "pipelineInfo",
        "name",
        "componentRef",
        "taskInfo",
        "implementation",
        "container",
        "image",
        "schemaVersion",
        "triggerPolicy",
        "condition",
        "inputs",
        "parameters",
        "1",
        "-1e999",
        "~",
        "\u{a0}",
        "é",
        "PK\u{3}\u{4}",
    ];
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..80).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config(100))]

    #[test]
    fn any_text_imports_or_is_refused(text in spec_text()) {
        check_import(&text)?;
    }
}

/// The KFP conformance corpus: each file's text and its first YAML document.
fn corpus() -> &'static [(String, Value)] {
    static FILES: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    FILES.get_or_init(|| {
        common::corpus()
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("readable");
                let first = serde_yaml_ng::Deserializer::from_str(&text)
                    .next()
                    .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
                    .unwrap_or_default();
                (text, first)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(100))]

    #[test]
    fn mutated_kfp_files_import_or_are_refused(bytes in tape()) {
        let mut t = Tape(bytes.iter());
        let (text, first) = t.pick(corpus());
        let mutated = match t.below(8) {
            0 => mutate_bytes(text, &mut t),
            1 | 2 => {
                let mut v = first.clone();
                mutate(&mut v, &mut t);
                serde_yaml_ng::to_string(&v).unwrap_or_default()
            }
            _ => {
                let mut v = first.clone();
                mutate(&mut v, &mut t);
                v.to_string()
            }
        };
        check_import(&mutated)?;
    }
}

/// The generators reach the compiler and the importer often enough for the properties above to
/// mean something: many generated and mutated documents compile, many mutated files import.
#[test]
fn generators_reach_the_compiler_and_the_importer() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let n = 300;
    let (mut generated, mut parsed, mut mutated, mut imported) = (0, 0, 0, 0);
    for _ in 0..n {
        let bytes = tape().new_tree(&mut runner).expect("a tape").current();
        if pipeline::compile(&generated_document(&bytes))
            .spec
            .is_some()
        {
            generated += 1;
        }
        let mut t = Tape(bytes.iter());
        let mut doc = t.pick(real_documents()).clone();
        mutate(&mut doc, &mut t);
        if let Ok(doc) = Document::from_json(&doc.to_string()) {
            parsed += 1;
            if pipeline::compile(&doc).spec.is_some() {
                mutated += 1;
            }
        }
        let mut t = Tape(bytes.iter());
        let (_, first) = t.pick(corpus());
        let mut v = first.clone();
        mutate(&mut v, &mut t);
        if pipeline::import::import_pipeline(&v.to_string()).is_ok() {
            imported += 1;
        }
    }
    let at_least = |count: usize, percent: usize, what: &str| {
        assert!(count * 100 >= n * percent, "only {count} of {n} {what}");
    };
    at_least(generated, 8, "generated documents compile");
    at_least(parsed, 30, "mutated documents read");
    at_least(mutated, 8, "mutated documents compile");
    at_least(imported, 20, "mutated KFP files import");
}
