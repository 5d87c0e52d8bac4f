//! Property tests of what the engine reads from specs and requests: the placeholder resolver
//! on arbitrary strings and executor inputs, run parameters (`root_inputs`) on arbitrary
//! values, and CEL conditions and selectors. None may panic,
//! and every error says what it is about.
//!
//! 256 cases per property by default (12 for the slow longest-expression property; about
//! 15 s in all in a debug build); `PROPTEST_CASES=100000` for a long run.

use std::collections::BTreeMap;

use engine::placeholders::{Context, JobInfo};
use engine::{cel, root_inputs};
use pipeline::ir::PipelineSpec;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(name(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Parameter and artifact names, some of them odd.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x".to_string()),
        Just("a b".to_string()),
        Just("../../x".to_string()),
        Just("'".to_string()),
        "[a-z_]{1,6}",
        any::<String>(),
    ]
}

/// Strings made of placeholder pieces, quotes and anything else.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{$".to_string()),
        Just("}}".to_string()),
        Just("{{$}}".to_string()),
        Just("{{$.inputs.parameters['x']}}".to_string()),
        Just("{{$.inputs.parameters[\"x\"]}}".to_string()),
        Just("{{$.inputs.artifacts['a'].path}}".to_string()),
        Just("{{$.inputs.artifacts['a'].metadata['k']}}".to_string()),
        Just("{{$.outputs.parameters['y'].output_file}}".to_string()),
        Just("{{$.outputs.artifacts['m'].uri}}".to_string()),
        Just("{{$.pipeline_job_name}}".to_string()),
        Just("{{$.inputs.parameters['".to_string()),
        Just("{\"Concat\": [".to_string()),
        Just("{\"IfPresent\": {\"InputName\": \"x\", \"Then\": [".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("é€𝄞".to_string()),
        "[a-z\\[\\]'\". ]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

/// An executor input with arbitrary parameter values and artifacts named `a` and `m`.
fn executor_input() -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map(name(), json_value(), 0..4),
        json_value(),
        json_value(),
    )
        .prop_map(|(params, metadata, other)| {
            json!({
                "inputs": {
                    "parameterValues": params,
                    "artifacts": {"a": {"artifacts": [{"uri": "/r/a", "metadata": metadata}]},
                                  "b": other},
                },
                "outputs": {
                    "parameters": {"y": {"outputFile": "/r/y"}},
                    "artifacts": {"m": {"artifacts": [{"uri": "/r/m"}]}},
                    "outputFile": "/r/out.json",
                },
            })
        })
}

/// A spec whose root takes the parameters `types` (name → KFP parameter type), each with or
/// without a default.
fn spec(params: &BTreeMap<String, (String, Option<Value>, bool)>) -> PipelineSpec {
    let defs: serde_json::Map<String, Value> = params
        .iter()
        .map(|(n, (ty, default, optional))| {
            let mut d = json!({"parameterType": ty, "isOptional": optional});
            if let Some(v) = default {
                d["defaultValue"] = v.clone();
            }
            (n.clone(), d)
        })
        .collect();
    serde_json::from_value(json!({
        "pipelineInfo": {"name": "p"},
        "root": {"dag": {"tasks": {}}, "inputDefinitions": {"parameters": defs}},
        "schemaVersion": "2.1.0",
    }))
    .expect("spec")
}

fn parameter_type() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "STRING",
        "NUMBER_INTEGER",
        "NUMBER_DOUBLE",
        "BOOLEAN",
        "LIST",
        "STRUCT",
        "TASK_FINAL_STATUS",
    ])
    .prop_map(str::to_string)
}

fn job() -> JobInfo {
    JobInfo {
        job_name: "p".into(),
        ..JobInfo::default()
    }
}

proptest! {
    #[test]
    fn placeholders_resolve_or_say_why(s in text(), input in executor_input()) {
        let job = job();
        let ctx = Context { executor_input: &input, job: &job };
        match ctx.resolve_str(&s) {
            // Text without placeholders is left as it is.
            Ok(out) => prop_assert!(s.contains("{{$") || out == s, "{s:?} -> {out:?}"),
            Err(e) => prop_assert!(e.contains("placeholder") || e.contains("input")
                || e.contains("output") || e.contains("artifact"), "{e}"),
        }
    }

    #[test]
    fn command_lines_resolve_or_say_why(
        program in prop::sample::select(vec!["sh", "/bin/bash", "python3", "busybox"]),
        flag in prop::sample::select(vec!["-c", "-ec", "-x", "--c"]),
        args in prop::collection::vec(text(), 0..5),
        input in executor_input(),
    ) {
        let job = job();
        let ctx = Context { executor_input: &input, job: &job };
        let items: Vec<String> = [program.to_string(), flag.to_string()]
            .into_iter()
            .chain(args)
            .collect();
        match ctx.resolve_command(&items) {
            Ok((argv, vars)) => {
                prop_assert!(argv.len() >= 2);
                for name in vars.keys() {
                    prop_assert!(name.starts_with("KFP_PLACEHOLDER_"), "{name}");
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn run_parameters_are_checked_without_panicking(
        defs in prop::collection::btree_map(
            name(),
            (parameter_type(), prop::option::of(json_value()), any::<bool>()),
            0..4,
        ),
        given in prop::collection::btree_map(name(), json_value(), 0..4),
    ) {
        let spec = spec(&defs);
        match root_inputs(&spec, &given) {
            Ok(io) => {
                for name in given.keys() {
                    prop_assert!(io.parameters.contains_key(name));
                }
            }
            Err(e) => {
                let named = given.keys().chain(defs.keys()).any(|n| e.contains(&format!("{n:?}")));
                prop_assert!(named, "the error names no parameter: {e}");
            }
        }
    }

    #[test]
    fn conditions_and_selectors_never_panic(
        expr in prop_oneof![
            text(),
            any::<String>(),
            "[a-z0-9_.()\\[\\]'\" <>=!&|+*/%-]{0,40}",
        ],
        params in prop::collection::btree_map(name(), json_value(), 0..4),
        value in json_value(),
    ) {
        if let Err(e) = cel::condition(&expr, &params) {
            prop_assert!(!e.is_empty());
        }
        if let Err(e) = cel::select(&expr, &value) {
            prop_assert!(!e.is_empty());
        }
    }
}

/// Found by `conditions_and_selectors_never_panic` with a longer generator: a few dozen nested
/// parentheses overflowed the stack of the thread parsing them, aborting the process.
#[test]
fn deeply_nested_expressions_do_not_overflow_the_stack() {
    for depth in [30, 100, 1_000, 100_000] {
        let expr = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        let params = BTreeMap::new();
        let _ = cel::condition(&expr, &params);
        let list = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let _ = cel::select(&list, &Value::Null);
    }
}

/// `PROPTEST_CASES` when set, else `n`.
fn cases_or(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
}

/// An expression of nested wrappers around `1`, as long as the evaluator accepts.
fn nested_expression() -> impl Strategy<Value = String> {
    let wrapper = prop::sample::select(vec![
        ("(", ")"),
        ("[", "]"),
        ("-", ""),
        ("!", ""),
        ("int(", ")"),
        ("{1: ", "}"),
        ("a[", "]"),
        ("f(", ")"),
        ("1 + ", ""),
        ("", " + 1"),
        ("true ? ", " : 2"),
        ("", ".b"),
        ("", "[0]"),
        ("size(", ")"),
    ]);
    prop::collection::vec(wrapper, 0..800).prop_map(|ws| {
        let mut open = String::new();
        let mut close = String::new();
        for (o, c) in ws {
            if open.len() + close.len() + o.len() + c.len() + 1 > cel::MAX_EXPRESSION_LEN {
                break;
            }
            open.push_str(o);
            close.insert_str(0, c);
        }
        format!("{open}1{close}")
    })
}

proptest! {
    // Each case parses up to 2 KiB of nesting, slow in a debug build: few cases unless
    // PROPTEST_CASES asks for more.
    #![proptest_config(ProptestConfig { cases: cases_or(12), ..ProptestConfig::default() })]

    #[test]
    fn the_longest_expressions_never_overflow_the_stack(expr in nested_expression()) {
        let _ = cel::condition(&expr, &BTreeMap::new());
        let _ = cel::select(&expr, &Value::Null);
    }
}
