use super::*;

fn port(name: &str, ty: &str, default: Option<&str>) -> DraftPort {
    DraftPort {
        name: name.into(),
        ty: ty.into(),
        default: default.map(str::to_string),
    }
}

fn python(body: &str, packages: &[&str]) -> Implementation {
    Implementation::Python {
        base_image: "python:3.9".into(),
        packages: packages.iter().map(|p| p.to_string()).collect(),
        body: body.into(),
    }
}

fn draft(
    name: &str,
    inputs: Vec<DraftPort>,
    outputs: Vec<DraftPort>,
    i: Implementation,
) -> ComponentDraft {
    ComponentDraft {
        name: name.into(),
        description: String::new(),
        inputs,
        outputs,
        implementation: i,
    }
}

fn container(c: &ComponentDef) -> &ContainerSpec {
    match c.executor.as_ref() {
        Some(ExecutorSpec::Container(c)) => c,
        other => panic!("not a container: {other:?}"),
    }
}

#[test]
fn python_launcher_is_the_sdks() {
    let builtin = crate::component_from_yaml(include_str!(
        "../../components/builtin/generate_mar_file.yaml"
    ))
    .expect("builtin component");
    let d = draft(
        "generate_mar_file",
        vec![port("model", "Model", None)],
        vec![port("model_mar", "Model", None)],
        python("pass", &["torch-model-archiver"]),
    );
    let ours = author(&d).expect("authored");
    let (theirs, ours) = (container(&builtin), container(&ours.component));
    assert_eq!(ours.args, theirs.args);
    assert_eq!(ours.image, theirs.image);
    assert_eq!(ours.command[..6], theirs.command[..6]);
    let program = &ours.command[6];
    assert!(program.starts_with(&theirs.command[6][..70]), "{program}");
    assert!(program.ends_with("\n\n"), "{program:?}");
}

#[test]
fn python_signature_follows_the_interface() {
    let mut d = draft(
        "train",
        vec![
            port("lr", "float", Some("0.1")),
            port("epochs", "int", None),
            port("data", "Dataset", None),
            port("tags", "list", Some("[\"a\", true, 2.5]")),
        ],
        vec![
            port("model", "Model", None),
            port("accuracy", "float", None),
        ],
        python("  x = 1\n\n  return (x,)\n", &[]),
    );
    d.description = "Trains it.".into();
    let a = author(&d).expect("authored");
    let source = a.python.expect("source");
    assert_eq!(
        source,
        "def train(\n    epochs: int,\n    data: Input[Dataset],\n    model: Output[Model],\n    \
         lr: float = 0.1,\n    tags: list = [\"a\", True, 2.5],\n) -> NamedTuple(\"Outputs\", \
         [(\"accuracy\", float)]):\n    \"\"\"Trains it.\"\"\"\n    x = 1\n\n    return (x,)\n"
    );
    let lr = &a
        .component
        .input_definitions
        .parameters
        .get("lr")
        .expect("lr");
    assert!(lr.is_optional);
    assert_eq!(lr.default_value, Some(serde_json::json!(0.1)));
    assert_eq!(a.component.name, "train");
    assert_eq!(a.component.description.as_deref(), Some("Trains it."));
    // The SDK keeps a component's description out of its spec (in the file's header comment).
    assert_eq!(a.spec.pipeline_info.description, None);

    d.outputs = vec![port("Output", "str", None)];
    d.inputs.clear();
    d.description.clear();
    let source = author(&d).expect("authored").python.expect("source");
    assert!(source.starts_with("def train() -> str:\n"), "{source}");
}

#[test]
fn every_problem_is_reported_with_its_field() {
    let d = draft(
        "Train Model",
        vec![
            port("lr", "double", None),
            port("epochs", "int", Some("many")),
            port("class", "str", None),
            port("data", "Dataset", Some("x")),
        ],
        vec![port("epochs", "int", None)],
        Implementation::Container {
            image: "".into(),
            command: vec!["python".into()],
            args: vec!["--n={{epochs}}".into(), "{{nope}}".into(), "{{open".into()],
        },
    );
    let problems = author(&d).expect_err("problems");
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "inputs[0].type",
            "inputs[1].default",
            "inputs[2].name",
            "inputs[3].default",
            "outputs[0].name",
            "image",
            "args[1]",
            "args[2]"
        ],
        "{problems:#?}"
    );
    assert!(problems[1].message.contains("unknown type \"double\""));
    assert!(
        problems[2].message.contains("int"),
        "{}",
        problems[2].message
    );
    assert!(
        problems[7].message.contains("nope"),
        "{}",
        problems[7].message
    );
}

#[test]
fn container_references_become_placeholders() {
    let d = draft(
        "score",
        vec![port("data", "Dataset", None), port("n", "int", Some("3"))],
        vec![port("report", "HTML", None), port("total", "float", None)],
        Implementation::Container {
            image: " alpine:3 ".into(),
            command: vec![],
            args: vec![
                "--data".into(),
                "{{ data }}".into(),
                "--n={{n}}".into(),
                "{{report}}".into(),
                "{{total}}".into(),
                "{{$.pipeline_job_name}}".into(),
            ],
        },
    );
    let a = author(&d).expect("authored");
    let c = container(&a.component);
    assert_eq!(c.image, "alpine:3");
    assert!(c.command.is_empty());
    assert_eq!(
        c.args,
        [
            "--data",
            "{{$.inputs.artifacts['data'].path}}",
            "--n={{$.inputs.parameters['n']}}",
            "{{$.outputs.artifacts['report'].path}}",
            "{{$.outputs.parameters['total'].output_file}}",
            "{{$.pipeline_job_name}}"
        ]
    );
    assert!(a.python.is_none());
}

#[test]
fn the_file_reads_back_as_the_component() {
    let d = draft(
        "add_numbers",
        vec![port("a", "int", None), port("b", "int", Some("2"))],
        vec![port("Output", "int", None)],
        python("return a + b", &["numpy"]),
    );
    let a = author(&d).expect("authored");
    assert_eq!(a.spec.pipeline_info.name, "add-numbers");
    let text = crate::to_yaml(&a.spec);
    let back = crate::component_from_yaml(&text).expect("reads back");
    assert_eq!(back, a.component);
}

#[test]
fn a_draft_reads_from_its_wire_form() {
    let d: ComponentDraft = serde_json::from_value(serde_json::json!({
        "name": "hello",
        "inputs": [{"name": "who", "type": "str", "default": "world"}],
        "implementation": {"kind": "python", "baseImage": "python:3.11", "body": "print(who)"}
    }))
    .expect("draft");
    assert!(author(&d).is_ok());
    let bad = serde_json::from_value::<ComponentDraft>(serde_json::json!({
        "name": "hello", "implementation": {"kind": "shell", "body": ""}
    }));
    assert!(bad.is_err());
}

#[test]
fn the_docstring_is_what_the_sdk_embeds_and_reads_back() {
    let mut d = draft(
        "f",
        vec![],
        vec![],
        python("\r\n  x = 1\r\n\r\n  # done\r\n", &[]),
    );
    d.description =
        " Sums it up.\r\n\n  Then \"\"\"more\"\"\" and a \\ backslash,\n   \n  ends in \"x\"\n"
            .into();
    let a = author(&d).expect("authored");
    assert_eq!(
        a.python.as_deref(),
        Some(
            "def f():\n    \"\"\"Sums it up.\n\n      Then \\\"\\\"\\\"more\\\"\\\"\\\" and a \\\\ \
             backslash,\n\n      ends in \"x\\\"\"\"\"\n\n    x = 1\n\n    # done\n"
        )
    );
    // inspect.cleandoc: the shared indentation of the lines after the first is taken off.
    assert_eq!(
        a.component.description.as_deref(),
        Some("Sums it up.\n\nThen \"\"\"more\"\"\" and a \\ backslash,\n\nends in \"x\"")
    );

    // No body and no description: `pass`. A description alone is a body.
    d.implementation = python("  \n\t\n", &[]);
    d.description.clear();
    assert_eq!(
        author(&d).expect("authored").python.as_deref(),
        Some("def f():\n    pass\n")
    );
    d.description = "Nothing.".into();
    assert_eq!(
        author(&d).expect("authored").python.as_deref(),
        Some("def f():\n    \"\"\"Nothing.\"\"\"\n")
    );
}

#[test]
fn the_body_loses_only_the_indentation_its_lines_share() {
    let source = |body: &str| {
        let d = draft("f", vec![], vec![], python(body, &[]));
        author(&d).expect("authored").python.expect("source")
    };
    assert_eq!(
        source("\tif x:\n\t\ty()\n"),
        "def f():\n    if x:\n    \ty()\n"
    );
    // Tabs and spaces are not the same indentation (textwrap.dedent); nothing is shared here.
    assert_eq!(
        source("\tx()\n    y()"),
        "def f():\n    \tx()\n        y()\n"
    );
    // Other whitespace is not indentation, and never splits a character.
    assert_eq!(source("\u{a0}x\n y"), "def f():\n    \u{a0}x\n     y\n");
}

#[test]
fn descriptions_the_sdk_would_read_as_port_documentation_are_refused() {
    let problems = |description: &str| {
        let mut d = draft(
            "f",
            vec![port("a", "int", None)],
            vec![port("Output", "int", None)],
            python("return a", &[]),
        );
        d.description = description.into();
        author(&d).err().unwrap_or_default()
    };
    for refused in [
        "Adds.\n\nArgs:\n    a: the number",
        "Adds.\n\nReturns:\n    the sum",
        "Adds.\nReturns\n  Output: the sum",
        "Adds.\n\nParameters\n----------\na : int",
        "Adds.\n\n:param a: the number",
        "Adds.\n  @param a: the number",
        // Sections where the SDK would end the description it writes in the header.
        "Adds.\n\nRaises:\n    ValueError: never",
        "Adds.\n\nExamples:\n    f(1)",
        "Adds.\nYields:\n  numbers",
        "Adds.\n\nNotes\n-----\nnone",
        "Adds.\n\nSee Also\n--------\nsubtract",
        "Adds.\n\n.. deprecated:: 1.0",
    ] {
        let p = problems(refused);
        assert_eq!(p.len(), 1, "{refused:?}: {p:?}");
        assert_eq!(p[0].field, "description");
        assert!(p[0].message.contains("docstring"), "{}", p[0].message);
    }
    for accepted in [
        "Returns the sum of a and b.",
        "Args are checked.\na: not a field",
        "Adds, see http://example.com/x:y",
        "Email me @ home",
        "Noted: it adds.",
        "Raises the sum.",
        "... and more",
    ] {
        assert_eq!(problems(accepted), [], "{accepted:?}");
    }
    assert_eq!(problems("nul\0")[0].field, "description");
}

#[test]
fn what_the_sdk_cannot_write_is_refused() {
    let d = draft(
        "f",
        vec![
            port("xs", "list", Some("[1, null]")),
            port("m", "dict", Some("{\"k\": null}")),
        ],
        vec![port("_hidden", "int", None), port("shown", "int", None)],
        python("pass", &["pandas==2.2.2", "caf\u{e9}", "a\\b", "x'y"]),
    );
    let problems = author(&d).expect_err("problems");
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "inputs[0].default",
            "inputs[1].default",
            "packages[1]",
            "packages[2]",
            "packages[3]",
            "outputs[0].name"
        ],
        "{problems:#?}"
    );
    // A lone parameter output named Output is returned as is, not in a NamedTuple.
    let d = draft("f", vec![], vec![port("_x", "int", None)], python("", &[]));
    assert!(author(&d).is_err());
    let d = draft(
        "f",
        vec![],
        vec![port("_x", "Model", None)],
        python("", &[]),
    );
    assert!(
        author(&d).is_ok(),
        "an artifact output is a parameter, not a field"
    );
}

#[test]
fn the_sdk_installs_kfp_unless_a_package_starts_with_kfp() {
    let launcher = |packages: &[&str]| {
        let d = draft("f", vec![], vec![], python("pass", packages));
        container(&author(&d).expect("authored").component).command[2].clone()
    };
    let own = launcher(&["kfp-kubernetes==1.4.0"]);
    assert!(
        own.contains(
            "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet \
             --no-warn-script-location 'kfp-kubernetes==1.4.0' && \"$0\" \"$@\"\n"
        ),
        "{own}"
    );
    assert!(!own.contains("'kfp==2"), "{own}");
    let ours = launcher(&["numpy"]);
    assert!(
        ours.contains(
            "'numpy'  &&  python3 -m pip install --quiet --no-warn-script-location 'kfp==2"
        ),
        "{ours}"
    );
    let none = launcher(&[]);
    assert!(none.contains("PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'kfp=="), "{none}");
}

#[test]
fn the_file_keeps_the_description_in_its_header_as_the_sdk_writes_it() {
    let mut d = draft(
        "add_numbers",
        vec![port("a", "int", None), port("b", "int", Some("2"))],
        vec![port("Output", "int", None)],
        python("return a + b", &[]),
    );
    d.description = "Adds two numbers.\n\nThe sum, as an int.\n  Indented.\n\nLast.".into();
    let a = author(&d).expect("authored");
    // The docstring as Python cleans it; the header as docstring_parser makes it: the blank
    // lines after the first line dropped.
    assert_eq!(
        a.component.description.as_deref(),
        Some("Adds two numbers.\n\nThe sum, as an int.\n  Indented.\n\nLast.")
    );
    assert_eq!(
        a.header_description().as_deref(),
        Some("Adds two numbers.\nThe sum, as an int.\n  Indented.\n\nLast.")
    );
    let text = a.yaml();
    assert!(
        text.starts_with(
            "# PIPELINE DEFINITION\n# Name: add-numbers\n# Description: Adds two numbers.\n\
             #              The sum, as an int.\n#                Indented.\n#              \n\
             #              Last.\n# Inputs:\n#    a: int\n#    b: int [Default: 2.0]\n\
             # Outputs:\n#    Output: int\ncomponents:\n"
        ),
        "{text}"
    );
    assert_eq!(a.spec.pipeline_info.description, None);
    // Read back, the description is the header's.
    let back = crate::component_from_yaml(&text).expect("reads back");
    assert_eq!(back.description, a.header_description());
    assert_eq!(
        ComponentDef {
            description: a.component.description.clone(),
            ..back
        },
        a.component
    );

    // One line: the same everywhere; none: no line.
    d.description = "  Adds.  ".into();
    let a = author(&d).expect("authored");
    assert_eq!(a.component.description.as_deref(), Some("Adds."));
    assert_eq!(a.header_description().as_deref(), Some("Adds."));
    assert!(a.yaml().contains("\n# Description: Adds.\n# Inputs:\n"));
    d.description.clear();
    let a = author(&d).expect("authored");
    assert_eq!(a.header_description(), None);
    assert!(!a.yaml().contains("# Description"));
}

#[test]
fn the_sdk_description_is_the_first_line_and_the_rest() {
    for (doc, header) in [
        ("One.", Some("One.")),
        ("One.\nTwo.", Some("One.\nTwo.")),
        ("One.\n\n\nTwo.\n\nThree.", Some("One.\nTwo.\n\nThree.")),
        ("One.  \n   \n", Some("One.")),
        ("", None),
    ] {
        assert_eq!(sdk_description(doc).as_deref(), header, "{doc:?}");
    }
}
