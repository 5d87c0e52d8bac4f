use super::*;
use crate::authoring::{author, ComponentDraft, DraftPort, Implementation};

fn port(name: &str, ty: &str, default: Option<&str>) -> DraftPort {
    DraftPort {
        name: name.into(),
        ty: ty.into(),
        default: default.map(str::to_string),
    }
}

fn python(name: &str, description: &str, body: &str, packages: &[&str]) -> ComponentDraft {
    ComponentDraft {
        name: name.into(),
        description: description.into(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        implementation: Implementation::Python {
            base_image: "python:3.11".into(),
            packages: packages.iter().map(|p| p.to_string()).collect(),
            body: body.into(),
        },
    }
}

fn container(name: &str, command: &[&str], args: &[&str]) -> ComponentDraft {
    ComponentDraft {
        name: name.into(),
        description: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        implementation: Implementation::Container {
            image: "alpine:3.20".into(),
            command: command.iter().map(|c| c.to_string()).collect(),
            args: args.iter().map(|a| a.to_string()).collect(),
        },
    }
}

/// The drafts of the KFP oracle (`tests/oracle/authoring/*.draft.json`), by case name.
fn oracle_drafts() -> Vec<(String, ComponentDraft)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/oracle/authoring");
    let mut cases: Vec<(String, ComponentDraft)> = std::fs::read_dir(dir)
        .expect("the oracle's cases")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let case = name.strip_suffix(".draft.json")?.to_string();
            let text = std::fs::read_to_string(e.path()).expect("a case");
            let draft = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{case}: {e}"));
            Some((case, draft))
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

/// Drafts with the awkward parts: docstrings with quotes, backslashes and indented lines,
/// bodies with nested blocks, blank lines, strings and comments, every default type, a single
/// `Output`, a kfp package, container references with spaces and other placeholders.
fn unit_drafts() -> Vec<(String, ComponentDraft)> {
    let mut add = python(
        "add_numbers",
        "Adds two numbers.",
        "return a + b",
        &["numpy"],
    );
    add.inputs = vec![port("a", "int", None), port("b", "int", Some("2"))];
    add.outputs = vec![port("Output", "int", None)];

    let mut tricky = python(
        "tricky_one",
        "  First line ends with a quote: \"x\"\n\n   indented\n\t\ttabbed\n  \nback\\slash \"\"\" and 'single'",
        "\n\n  def inner(x):\n      \"\"\"Not the docstring.\"\"\"\n      return x  # comment ) (\n\n\n  text = '''\nat the margin\n'''\n  if a:\n\n      return (inner(a), {\"k\": [1, 2]})\n  return (0, {})\n\n\n",
        &["kfp-pipeline-spec", "pandas>=2; python_version>\"3.8\""],
    );
    tricky.inputs = vec![
        port("a", "int", Some("+3")),
        port("data", "Dataset", None),
        port("ratio", "float", Some("1e-7")),
        port("flag", "bool", Some("TRUE")),
        port("label", "str", Some("  spaced (\"quoted\") 'x' \\n é ")),
        port(
            "items",
            "list",
            Some("[1, 2.50, \"a, b\", null_not, {\"x\": [true]}]"),
        ),
        port("conf", "dict", Some("{\"b\": 1, \"a\": {\"c\": false}}")),
        port("name_only", "str", None),
    ];
    // An invalid list default (null_not) is a problem; a valid one below.
    tricky.inputs[5].default = Some("[1, 2.50, \"a, b\", {\"x\": [true]}]".into());
    tricky.outputs = vec![
        port("count", "int", None),
        port("model", "Model", None),
        port("meta", "dict", None),
    ];

    let mut described_only = python("described_only", "Does nothing at all.", "", &[]);
    described_only.outputs = vec![port("report", "HTML", None)];

    let mut refs = container(
        "refs_and_placeholders",
        &["sh", "-c", "echo \"$0\" {{ n }} > {{out}}"],
        &[
            "{{n}}{{n}}",
            "--uri={{$.inputs.artifacts['data'].uri}}",
            "{{$.pipeline_job_name}}",
            "{{data}}",
            "--total={{total}}",
        ],
    );
    refs.description = "Refers.\n\n\nTwice.".into();
    refs.inputs = vec![
        port("n", "int", Some("-4")),
        port("data", "Dataset", None),
        port("s", "str", Some("")),
        port("l", "list", Some("[1, 2.5, \"x\"]")),
    ];
    refs.outputs = vec![port("out", "Artifact", None), port("total", "float", None)];

    vec![
        ("add_numbers".into(), add),
        ("tricky_one".into(), tricky),
        ("described_only".into(), described_only),
        ("pass_only".into(), python("pass_only", "", "", &[])),
        ("refs_and_placeholders".into(), refs),
        ("no_command".into(), container("no_command", &[], &["run"])),
    ]
}

#[test]
fn a_written_component_reopens_as_a_draft_that_writes_the_same_file() {
    let cases: Vec<_> = oracle_drafts().into_iter().chain(unit_drafts()).collect();
    assert!(cases.len() >= 8 + 6, "{} cases", cases.len());
    for (case, draft) in cases {
        let authored = author(&draft).unwrap_or_else(|p| panic!("{case}: {p:#?}"));
        let yaml = authored.yaml();
        let reopened = draft_of(&yaml).unwrap_or_else(|e| panic!("{case}: {e}\n{yaml}"));
        let again = author(&reopened).unwrap_or_else(|p| panic!("{case}: {p:#?}"));
        assert_eq!(again.yaml(), yaml, "{case}: {reopened:#?}");
        assert_eq!(again.python, authored.python, "{case}");
        // Reopening what the draft wrote is a fixed point.
        assert_eq!(draft_of(&again.yaml()), Ok(reopened.clone()), "{case}");
        // The form's own fields come back as typed (the body without its margin).
        assert_eq!(reopened.name, draft.name, "{case}");
        assert_eq!(
            std::mem::discriminant(&reopened.implementation),
            std::mem::discriminant(&draft.implementation),
            "{case}"
        );
        let names = |ports: &[DraftPort]| {
            let mut n: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&reopened.inputs), names(&draft.inputs), "{case}");
        assert_eq!(names(&reopened.outputs), names(&draft.outputs), "{case}");
    }
}

#[test]
fn the_python_draft_is_what_was_typed() {
    let (_, tricky) = unit_drafts()
        .into_iter()
        .find(|(c, _)| c == "tricky_one")
        .expect("case");
    let reopened = draft_of(&author(&tricky).expect("authored").yaml()).expect("reopened");
    let Implementation::Python {
        base_image,
        packages,
        body,
    } = &reopened.implementation
    else {
        panic!("not Python: {reopened:?}");
    };
    assert_eq!(base_image, "python:3.11");
    assert_eq!(
        packages,
        &["kfp-pipeline-spec", "pandas>=2; python_version>\"3.8\""]
    );
    // The body as typed (its line at the margin leaves it no margin to take off), without
    // the blank lines at its end.
    let Implementation::Python { body: typed, .. } = &tricky.implementation else {
        panic!("not Python");
    };
    assert_eq!(body, typed.trim_end());
    let (_, train) = oracle_drafts()
        .into_iter()
        .find(|(c, _)| c == "python_train")
        .expect("case");
    let train = draft_of(&author(&train).expect("authored").yaml()).expect("reopened");
    let Implementation::Python { body, .. } = &train.implementation else {
        panic!("not Python");
    };
    // Typed with a margin of four spaces: taken off, as the function's indentation is.
    assert!(
        body.starts_with("import json\n\nimport pandas as pd\n"),
        "{body}"
    );
    assert!(body.contains("\n    print(epoch, rate)"), "{body}");
    assert_eq!(
        reopened.description,
        "First line ends with a quote: \"x\"\n\n   indented\n\t\ttabbed\n\nback\\slash \"\"\" and 'single'"
    );
    // Inputs: the required ones first (as in the signature), then those with a default.
    let inputs: Vec<(&str, &str, Option<&str>)> = reopened
        .inputs
        .iter()
        .map(|p| (p.name.as_str(), p.ty.as_str(), p.default.as_deref()))
        .collect();
    assert_eq!(
        inputs,
        [
            ("data", "Dataset", None),
            ("name_only", "str", None),
            ("a", "int", Some("3")),
            ("ratio", "float", Some("1e-7")),
            ("flag", "bool", Some("true")),
            ("label", "str", Some("  spaced (\"quoted\") 'x' \\n é ")),
            ("items", "list", Some("[1, 2.5, \"a, b\", {\"x\": [true]}]")),
            ("conf", "dict", Some("{\"a\": {\"c\": false}, \"b\": 1}")),
        ]
    );
    let outputs: Vec<&str> = reopened.outputs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(outputs, ["model", "count", "meta"]);
}

#[test]
fn the_container_draft_has_its_references_back() {
    let (_, refs) = unit_drafts()
        .into_iter()
        .find(|(c, _)| c == "refs_and_placeholders")
        .expect("case");
    let reopened = draft_of(&author(&refs).expect("authored").yaml()).expect("reopened");
    assert_eq!(
        reopened.implementation,
        Implementation::Container {
            image: "alpine:3.20".into(),
            command: vec![
                "sh".into(),
                "-c".into(),
                "echo \"$0\" {{n}} > {{out}}".into()
            ],
            args: vec![
                "{{n}}{{n}}".into(),
                "--uri={{$.inputs.artifacts['data'].uri}}".into(),
                "{{$.pipeline_job_name}}".into(),
                "{{data}}".into(),
                "--total={{total}}".into(),
            ],
        }
    );
    // The description as the file's header keeps it (blank lines after the first dropped).
    assert_eq!(reopened.description, "Refers.\nTwice.");
    let defaults: Vec<(&str, Option<&str>)> = reopened
        .inputs
        .iter()
        .map(|p| (p.name.as_str(), p.default.as_deref()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("l", Some("[1.0,2.5,\"x\"]")),
            ("n", Some("-4")),
            ("s", Some("")),
            ("data", None)
        ]
    );
}

#[test]
fn a_component_the_kfp_sdk_wrote_opens_too() {
    // Written by the SDK from a hand-written function (its docstring's closing quotes on their
    // own line, comments in the body).
    let text = include_str!("../../components/builtin/generate_mar_file.yaml");
    let draft = draft_of(text).expect("an SDK component");
    assert_eq!(draft.name, "generate_mar_file");
    assert!(
        draft.description.starts_with("Runs torch-model-archiver")
            && draft.description.ends_with("the archive's folder."),
        "{:?}",
        draft.description
    );
    let Implementation::Python { packages, body, .. } = &draft.implementation else {
        panic!("not Python");
    };
    assert_eq!(packages, &["torch-model-archiver"]);
    assert!(
        body.starts_with("# Inputs:\n#   model_display_name"),
        "{body}"
    );
    assert!(
        body.ends_with("return (mar_env_var, mar_export_uri)"),
        "{body}"
    );
    let authored = author(&draft).expect("authored");
    let builtin = crate::component_from_yaml(text).expect("builtin");
    assert_eq!(
        authored.component.input_definitions,
        builtin.input_definitions
    );
    assert_eq!(
        authored.component.output_definitions,
        builtin.output_definitions
    );
    // The same launcher; the program is the function as the form writes it (the SDK's had
    // the docstring's closing quotes on their own line).
    let (Some(ExecutorSpec::Container(ours)), Some(ExecutorSpec::Container(theirs))) =
        (&authored.component.executor, &builtin.executor)
    else {
        panic!("not containers");
    };
    assert_eq!(ours.args, theirs.args);
    assert_eq!(ours.command[..6], theirs.command[..6]);
    assert_eq!(
        ours.command[6].replace("folder.\"\"\"", "folder.\n    \"\"\""),
        theirs.command[6]
    );
}

/// `draft`'s component file as JSON, with its executor's container changed by `edit`.
fn edited(draft: &ComponentDraft, edit: impl FnOnce(&mut crate::ir::ContainerSpec)) -> String {
    let mut spec = author(draft).expect("authored").spec;
    let executor = spec
        .deployment_spec
        .as_mut()
        .and_then(|d| d.executors.values_mut().next());
    let Some(ExecutorSpec::Container(c)) = executor else {
        panic!("no container");
    };
    edit(c);
    crate::to_json(&spec)
}

fn refusal(text: &str) -> (String, String) {
    match draft_of(text) {
        Err(DraftOpenError::NotEditable { at, message }) => (at, message),
        other => panic!("not refused as not editable: {other:?}"),
    }
}

#[test]
fn what_the_form_cannot_show_is_refused_saying_where() {
    let (_, add) = unit_drafts().swap_remove(0);
    let program = |c: &mut crate::ir::ContainerSpec| c.command[6].clone();

    // Code outside the function.
    let text = edited(&add, |c| {
        let p = program(c);
        c.command[6] = format!("{p}def helper():\n    return 1\n\n");
    });
    let (at, message) = refusal(&text);
    assert!(at.starts_with("command[6] line "), "{at}");
    assert!(message.contains("outside the function"), "{message}");

    // A decorator or an import before it.
    let text = edited(&add, |c| {
        c.command[6] = program(c).replace("def add_numbers(", "import os\ndef add_numbers(");
    });
    assert!(refusal(&text)
        .1
        .contains("does not start with `def add_numbers(`"));

    // A signature the interface does not match: an OutputPath, a parameter it does not have.
    let text = edited(&add, |c| {
        c.command[6] = program(c).replace("a: int,", "a: dsl.OutputPath(int),");
    });
    let (at, message) = refusal(&text);
    assert!(at.contains("the signature of add_numbers, a"), "{at}");
    assert!(
        message.contains("annotated \"dsl.OutputPath(int)\""),
        "{message}"
    );
    let text = edited(&add, |c| {
        c.command[6] = program(c).replace("a: int,", "a: int,\n    c: str,");
    });
    assert!(refusal(&text).1.contains("c is not an input"));
    let text = edited(&add, |c| {
        c.command[6] = program(c).replace(") -> int:", ") -> str:");
    });
    assert!(refusal(&text)
        .1
        .contains("Output: str is not a parameter output"));

    // An index URL in the pip line.
    let text = edited(&add, |c| {
        c.command[2] = c.command[2].replace(
            "--no-warn-script-location 'numpy'",
            "--no-warn-script-location --index-url https://x 'numpy'",
        );
    });
    assert_eq!(refusal(&text).0, "command[2]");

    // Something else changed by hand: the image is not the one the form would write.
    let text = edited(&add, |c| c.image = "python:3.11 ".into());
    assert_eq!(refusal(&text).0, "deploymentSpec.executors.image");

    // Containers: a placeholder for a port it does not have, a literal {{name}}, an item the
    // form's one-per-line list cannot hold.
    let mut word = container("word_count", &["wc"], &["{{text}}"]);
    word.inputs = vec![port("text", "Dataset", None)];
    let text = edited(&word, |c| {
        c.args = vec!["{{$.inputs.parameters['nope']}}".into()];
    });
    let (_, message) = refusal(&text);
    assert!(message.contains("names no input parameter"), "{message}");
    let text = edited(&word, |c| c.args = vec!["{{text}}".into()]);
    let (at, message) = refusal(&text);
    assert_eq!(at, "args[0]");
    assert!(message.contains("is not a KFP placeholder"), "{message}");
    let text = edited(&word, |c| c.args = vec!["a\nb".into()]);
    assert_eq!(refusal(&text).0, "args[0]");
    let text = edited(&word, |c| {
        c.args = vec!["{{$.inputs.artifacts['text'].path".into()]
    });
    assert!(refusal(&text).1.contains("without closing it"));
    let text = edited(&word, |c| {
        c.env = vec![serde_json::from_str(r#"{"name": "A", "value": "1"}"#).expect("env")]
    });
    assert!(refusal(&text).1.contains("environment variables"));
}

#[test]
fn pipelines_sub_pipelines_and_other_files_are_refused() {
    let (_, add) = unit_drafts().swap_remove(0);
    let mut spec = author(&add).expect("authored").spec;
    // Several executors.
    let mut two = spec.clone();
    let executors = &mut two.deployment_spec.as_mut().expect("deployment").executors;
    let first = executors.values().next().cloned().expect("executor");
    executors.insert("exec-other".into(), first);
    let comp = two.components.values().next().cloned().expect("component");
    two.components.insert("comp-other".into(), comp);
    let (at, message) = refusal(&crate::to_json(&two));
    assert_eq!(at, "components");
    assert!(
        message.contains("2 components") && message.contains("2 executors"),
        "{message}"
    );
    // A sub-pipeline: the task's component is a DAG.
    for c in spec.components.values_mut() {
        c.dag = spec.root.dag.clone();
        c.executor_label = None;
    }
    spec.deployment_spec = None;
    let (_, message) = refusal(&crate::to_json(&spec));
    assert!(message.contains("sub-pipeline"), "{message}");
    // Not a component file.
    assert!(matches!(
        draft_of("just: [text"),
        Err(DraftOpenError::Unreadable(_))
    ));
    assert!(matches!(draft_of(""), Err(DraftOpenError::Unreadable(_))));
}

#[test]
fn a_mangled_file_is_refused_or_read_never_a_panic() {
    let (_, tricky) = unit_drafts().swap_remove(1);
    let original = author(&tricky).expect("authored");
    let Some(ExecutorSpec::Container(c)) = &original.component.executor else {
        panic!("no container");
    };
    let program = c.command[6].clone();
    let pip = c.command[2].clone();
    let chars: Vec<(usize, char)> = program.char_indices().collect();
    for (n, &(i, _)) in chars.iter().enumerate() {
        // Every position: a character that means something to Python put there, or the
        // program cut there.
        let insert = ["\"", "'", "\\", "(", ")", ":", "\n", "é", "#", "="][n % 10];
        for changed in [
            format!("{}{insert}{}", &program[..i], &program[i..]),
            program[..i].to_string(),
        ] {
            let text = edited(&tricky, |c| c.command[6] = changed.clone());
            if let Ok(draft) = draft_of(&text) {
                // Whatever reads as a draft writes a component with the file's interface.
                let again = author(&draft).expect("a draft that reads is written");
                assert_eq!(
                    again.component.input_definitions,
                    original.component.input_definitions
                );
            }
        }
    }
    for i in 0..pip.len() {
        if pip.is_char_boundary(i) {
            let text = edited(&tricky, |c| c.command[2] = pip[..i].to_string());
            assert!(draft_of(&text).is_err(), "{i}");
        }
    }
}
