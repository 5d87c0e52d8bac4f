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

fn draft(name: &str, inputs: Vec<DraftPort>, outputs: Vec<DraftPort>, i: Implementation) -> ComponentDraft {
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
            port("tags", "list", Some("[\"a\", true, null]")),
        ],
        vec![port("model", "Model", None), port("accuracy", "float", None)],
        python("  x = 1\n\n  return (x,)\n", &[]),
    );
    d.description = "Trains it.".into();
    let a = author(&d).expect("authored");
    let source = a.python.expect("source");
    assert_eq!(
        source,
        "def train(\n    epochs: int,\n    data: Input[Dataset],\n    model: Output[Model],\n    \
         lr: float = 0.1,\n    tags: list = [\"a\", True, None],\n) -> NamedTuple(\"Outputs\", \
         [(\"accuracy\", float)]):\n    \"\"\"Trains it.\"\"\"\n    x = 1\n\n    return (x,)\n"
    );
    let lr = &a.component.input_definitions.parameters.get("lr").expect("lr");
    assert!(lr.is_optional);
    assert_eq!(lr.default_value, Some(serde_json::json!(0.1)));
    assert_eq!(a.component.name, "train");
    assert_eq!(a.spec.pipeline_info.description.as_deref(), Some("Trains it."));

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
    assert!(problems[2].message.contains("int"), "{}", problems[2].message);
    assert!(problems[7].message.contains("nope"), "{}", problems[7].message);
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
