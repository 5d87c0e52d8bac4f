//! The real KFP SDK as the oracle: our compiled specs must load in it, and must match what the
//! SDK compiles from the same pipeline written in Python.

use std::path::Path;

use canvas_tests::{compile_ok, document, repo, run_python, shared};

#[path = "common/json_diff.rs"]
mod json_diff;

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pc-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn seed_example_loads_in_the_kfp_sdk() {
    let spec = compile_ok(&document(
        "examples/pytorch-text-classification.pipeline.json",
    ));
    for (name, text) in [
        ("seed.json", pipeline::to_json(&spec)),
        ("seed.yaml", pipeline::to_yaml(&spec)),
    ] {
        let path = write_temp(name, &text);
        let out = run_python(&[&repo().join("tests/oracle/check_spec.py"), &path]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).expect("report JSON");
        assert_eq!(report["name"], "pytorch-text-classifier-pipeline", "{out}");
        assert_eq!(
            report["tasks"], 4,
            "root DAG: 3 tasks and the condition: {out}"
        );
        assert_eq!(report["executors"], 10, "{out}");
        assert_eq!(
            report["inputs"],
            serde_json::json!([
                "eval_acc_threshold",
                "gs_serving_dependencies_path",
                "gs_train_script_path",
                "is_hp_tuning_enabled",
                "pipeline_job_id"
            ]),
            "{out}"
        );
    }
}

#[test]
fn seed_example_matches_the_kfp_sdk_reference() {
    let reference = shared().join("reference/seed_pipeline.py");
    let theirs = write_temp("reference.json", "");
    run_python(&[&reference, &theirs]);
    let mut spec = compile_ok(&document(
        "examples/pytorch-text-classification.pipeline.json",
    ));
    // The example gives its parameters defaults, so it runs locally with one click (the
    // Vertex-only paths are placeholders there); the reference program asks for them. That is
    // the one intended difference: take exactly those defaults out before comparing.
    let root = spec
        .root
        .input_definitions
        .get_or_insert_with(Default::default);
    for name in [
        "pipeline_job_id",
        "gs_train_script_path",
        "gs_serving_dependencies_path",
        "eval_acc_threshold",
    ] {
        let p = root
            .parameters
            .get_mut(name)
            .unwrap_or_else(|| panic!("the example has no parameter {name}"));
        assert!(p.default_value.take().is_some(), "{name} has a default");
        assert!(p.is_optional, "{name} is optional");
        p.is_optional = false;
    }
    let ours = write_temp("ours.json", &pipeline::to_json(&spec));
    let out = run_python(&[
        &repo().join("tests/oracle/compare_specs.py"),
        &ours,
        &theirs,
    ]);
    assert!(out.contains("0 differences"), "{out}");
}

#[test]
fn nested_conditions_match_the_kfp_sdk() {
    let theirs = write_temp("nested.yaml", "");
    run_python(&[
        &repo().join("tests/oracle/pipelines/nested_conditions.py"),
        &theirs,
    ]);
    let ours = write_temp(
        "nested.json",
        &pipeline::to_json(&compile_ok(&document(
            "pipeline/tests/cases/nested_conditions.pipeline.json",
        ))),
    );
    let out = run_python(&[
        &repo().join("tests/oracle/compare_specs.py"),
        &ours,
        Path::new(&theirs),
    ]);
    assert!(out.contains("0 differences"), "{out}");
}

#[test]
fn the_comparison_catches_differences() {
    // The oracle comparison must not pass everything: change one dependency and one type.
    let mut spec = compile_ok(&document(
        "pipeline/tests/cases/nested_conditions.pipeline.json",
    ));
    if let Some(dag) = spec.root.dag.as_mut() {
        if let Some(t) = dag.tasks.get_mut("echo-5") {
            t.dependent_tasks.clear();
        }
    }
    let theirs = write_temp("nested2.yaml", "");
    run_python(&[
        &repo().join("tests/oracle/pipelines/nested_conditions.py"),
        &theirs,
    ]);
    let ours = write_temp("nested2.json", &pipeline::to_json(&spec));
    let py = canvas_tests::python();
    let out = std::process::Command::new(py)
        .arg(repo().join("tests/oracle/compare_specs.py"))
        .arg(&ours)
        .arg(&theirs)
        .output()
        .expect("python runs");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("root/echo-5: dependentTasks"), "{text}");
}

#[test]
fn builtin_component_yaml_is_what_the_kfp_sdk_generates_from_the_sources() {
    let out = run_python(&[
        &repo().join("components/regenerate.py"),
        Path::new("--check"),
    ]);
    assert!(!out.contains("out of date"), "{out}");
}

/// Pipelines drawn on the canvas with loops (over values and over artifacts), conditions on loop
/// items, branches, exit handlers, importers, artifacts and
/// sub-pipelines (`tests/oracle/pipelines/<name>.pipeline.json`) compile to exactly what the KFP
/// SDK compiles from the same pipeline written in Python (`<name>.py`).
#[test]
fn canvas_pipelines_compile_to_what_the_kfp_sdk_writes() {
    for name in [
        "loops",
        "branches",
        "exit_handler",
        "artifacts",
        "sub_pipeline",
        "artifact_loops",
        "loop_conditions",
    ] {
        let dir = repo().join("tests/oracle/pipelines");
        let theirs = write_temp(&format!("{name}.sdk.yaml"), "");
        run_python(&[&dir.join(format!("{name}.py")), &theirs]);
        let ours = write_temp(
            &format!("{name}.ours.json"),
            &pipeline::to_json(&compile_ok(&document(&format!(
                "tests/oracle/pipelines/{name}.pipeline.json"
            )))),
        );
        let out = run_python(&[
            &repo().join("tests/oracle/compare_specs.py"),
            Path::new("--exact"),
            &ours,
            &theirs,
        ]);
        assert!(out.contains("0 differences"), "{name}: {out}");
    }
}

/// v1 component files (`tests/oracle/v1_components/*.yaml`: every placeholder form, parameter and
/// artifact types, defaults, optional inputs, env) read by our importer give exactly the
/// component the KFP SDK gets from `load_component_from_text` + `Compiler().compile`.
#[test]
fn v1_components_convert_like_the_kfp_sdk() {
    let out = tempfile::tempdir().expect("tempdir");
    let listed = run_python(&[&repo().join("tests/oracle/v1_components.py"), out.path()]);
    let names: Vec<&str> = listed.lines().filter(|l| !l.is_empty()).collect();
    assert!(names.len() >= 2, "the SDK compiled the fixtures: {listed}");
    for name in names {
        let ours_text =
            std::fs::read_to_string(repo().join("tests/oracle/v1_components").join(name))
                .expect("fixture");
        let sdk_text = std::fs::read_to_string(out.path().join(name)).expect("SDK output");
        let ours = pipeline::component_from_yaml(&ours_text)
            .unwrap_or_else(|e| panic!("{name}: our v1 import failed: {e}"));
        let sdk = pipeline::component_from_yaml(&sdk_text)
            .unwrap_or_else(|e| panic!("{name}: reading the SDK's compiled component: {e}"));
        // The SDK's compiled file keeps the description in its header comment, which our
        // importer reads; numbers are protobuf doubles.
        let (ours, sdk) = (
            doubles(serde_json::to_value(&ours).expect("json")),
            doubles(serde_json::to_value(&sdk).expect("json")),
        );
        assert_eq!(
            ours, sdk,
            "{name}: ours (left) differs from the KFP SDK's (right)"
        );
    }
}

/// Every number as a double, as protobuf `Value` holds it.
fn doubles(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(doubles).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, doubles(v))).collect()),
        other => other,
    }
}

/// Numbers as doubles (protobuf `Value`), `sdkVersion` left out (it is ours).
fn comparable(v: serde_json::Value) -> serde_json::Value {
    match doubles(v) {
        serde_json::Value::Object(mut o) => {
            o.remove("sdkVersion");
            serde_json::Value::Object(o)
        }
        other => other,
    }
}

/// Imports a pipeline file the KFP SDK wrote, compiles the document (after a trip through its
/// own JSON form) and writes it as the SDK does (YAML, the platform spec as the second
/// document): `Err` names the first difference.
fn round_trip(text: &str) -> Result<(), String> {
    let doc = pipeline::import::import_pipeline(text).map_err(|e| format!("import: {e}"))?;
    let doc = pipeline::Document::from_json(&doc.to_json()).map_err(|e| format!("reread: {e}"))?;
    let compiled = pipeline::compile(&doc);
    let Some(spec) = &compiled.spec else {
        let d: Vec<String> = compiled
            .diagnostics
            .iter()
            .map(|d| d.describe(&doc))
            .collect();
        return Err(format!("compile: {}", d.join("; ")));
    };
    let ours = pipeline::OutputFormat::Yaml
        .write(spec, compiled.platform_spec.as_ref())
        .map_err(|e| format!("write: {e}"))?;
    let docs = |t: &str| pipeline::import::yaml_documents(t).map_err(|e| e.to_string());
    let (ours, theirs) = (docs(&ours)?, docs(text)?);
    if ours.len() != theirs.len() {
        return Err(format!(
            "{} YAML documents written, the SDK wrote {}",
            ours.len(),
            theirs.len()
        ));
    }
    for (i, (a, b)) in ours.into_iter().zip(theirs).enumerate() {
        let (a, b) = (comparable(a), comparable(b));
        let diffs = json_diff::differences(&a, &b, json_diff::Numbers::Exact);
        if let Some(d) = diffs.first() {
            return Err(format!(
                "document {}: {} differences, first {d}",
                i + 1,
                diffs.len()
            ));
        }
    }
    Ok(())
}

/// The collection: every pipeline of `tests/oracle/pipelines/*.py` (the SDK twins of each class
/// of pipeline: control flow, sub-pipelines, loops in loops and in conditions, resource fields
/// from values, final status, artifact lists, pipeline outputs from branches, Kubernetes
/// settings…), and of any folder listed in `$PIPELINE_CANVAS_KFP_COLLECTION` (`:`-separated,
/// e.g. the KFP SDK's own `test_data/pipelines`), compiled by the KFP SDK, imports and compiles
/// back to exactly what the SDK wrote, the platform spec included: 100 %.
#[test]
fn every_sdk_pipeline_imports_and_compiles_back_identical() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut dirs = vec![repo().join("tests/oracle/pipelines")];
    if let Some(extra) = std::env::var_os("PIPELINE_CANVAS_KFP_COLLECTION") {
        dirs.extend(std::env::split_paths(&extra));
    }
    let script = repo().join("tests/oracle/compile_collection.py");
    let mut args: Vec<&Path> = vec![&script, out.path()];
    args.extend(dirs.iter().map(|d| d.as_path()));
    let listed = run_python(&args);
    let mut failures = Vec::new();
    let mut compiled_by_sdk = 0;
    let twins: Vec<String> = std::fs::read_dir(&dirs[0])
        .expect("twins")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut refused_twins = Vec::new();
    for line in listed.lines() {
        if let Some(e) = line.strip_prefix("error ") {
            // Files the SDK itself refuses are not valid pipelines (some of the SDK's test data
            // needs files beside it); every twin must compile.
            println!("the SDK refuses {e}");
            if twins.iter().any(|t| e.starts_with(&format!("{t}:"))) {
                refused_twins.push(e.to_string());
            }
        }
    }
    assert!(
        refused_twins.is_empty(),
        "the SDK refuses these twins: {refused_twins:?}"
    );
    let mut files: Vec<_> = std::fs::read_dir(out.path())
        .expect("output folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for path in &files {
        compiled_by_sdk += 1;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("SDK output");
        match round_trip(&text) {
            Ok(()) => println!("ok   {name}"),
            Err(e) => {
                println!("FAIL {name}: {e}");
                failures.push(name);
            }
        }
    }
    println!(
        "collection: {}/{compiled_by_sdk} pipelines compiled by the KFP SDK import and compile back identical",
        compiled_by_sdk - failures.len()
    );
    assert!(
        compiled_by_sdk >= twins.len(),
        "the SDK compiled every twin ({}): {listed}",
        twins.len()
    );
    assert!(failures.is_empty(), "these differ: {failures:?}");
}

/// The module the KFP SDK is given for a Python draft: the imports the SDK's own program has,
/// the decorator, and our function source, in a real file so that `inspect.getsource` reads it.
fn python_component_module(base_image: &str, packages: &[String], source: &str) -> String {
    // JSON strings and lists of strings are Python literals.
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let packages: Vec<String> = packages.iter().map(|p| text(p)).collect();
    format!(
        "from kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n\
         @dsl.component(base_image={}, packages_to_install=[{}])\n{source}",
        text(base_image),
        packages.join(", ")
    )
}

/// Runs the test Python; returns whether it succeeded and what it printed (both streams).
fn python_outcome(args: &[&Path]) -> (bool, String) {
    let out = std::process::Command::new(canvas_tests::python())
        .args(args)
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Components made with the authoring form (`tests/oracle/authoring/<case>.draft.json`) are
/// exactly the component files the KFP SDK compiles from the same component written in Python:
/// for a Python draft the SDK compiles our generated function under `@dsl.component`, for a
/// container draft the hand-written `@dsl.container_component` twin `<case>.py`. The SDK also
/// loads our file with `load_component_from_file` (reading the same interface) and compiles a
/// pipeline using it, and our importer reads the SDK's file as the authored component.
#[test]
fn authored_components_match_the_kfp_sdk() {
    use pipeline::authoring::{author, component_name, ComponentDraft, Implementation};

    let dir = repo().join("tests/oracle/authoring");
    let script = dir.join("compile_draft.py");
    let compare = repo().join("tests/oracle/compare_specs.py");
    let compare_headers = repo().join("tests/oracle/compare_headers.py");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .expect("authoring cases")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".draft.json").map(str::to_string)
        })
        .collect();
    cases.sort();
    let (mut python_cases, mut container_cases) = (0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(dir.join(format!("{case}.draft.json"))).expect("draft");
        let draft: ComponentDraft =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{case}: {e}"));
        let authored = author(&draft).unwrap_or_else(|p| panic!("{case}: {p:#?}"));
        let module = match &draft.implementation {
            Implementation::Python {
                base_image,
                packages,
                ..
            } => {
                python_cases += 1;
                let source = authored.python.as_deref().expect("a Python draft's source");
                let path = tmp.path().join(format!("{case}_component.py"));
                std::fs::write(&path, python_component_module(base_image, packages, source))
                    .expect("write module");
                path
            }
            Implementation::Container { .. } => {
                container_cases += 1;
                assert!(authored.python.is_none(), "{case}");
                dir.join(format!("{case}.py"))
            }
        };
        let path = |suffix: &str| tmp.path().join(format!("{case}.{suffix}"));
        let (theirs, ours_json, ours_yaml, uses) = (
            path("sdk.yaml"),
            path("ours.json"),
            path("ours.yaml"),
            path("pipeline.yaml"),
        );
        std::fs::write(&ours_json, pipeline::to_json(&authored.spec)).expect("write");
        std::fs::write(&ours_yaml, authored.yaml()).expect("write");
        let (ok, report) = python_outcome(&[
            &script,
            &module,
            Path::new(&draft.name),
            &theirs,
            &ours_yaml,
            &uses,
        ]);
        if !ok {
            failures.push(format!("{case}: the SDK side failed:\n{report}"));
            continue;
        }
        let report: serde_json::Value = serde_json::from_str(report.trim())
            .unwrap_or_else(|e| panic!("{case}: report {report:?}: {e}"));
        let names = |ports: &[pipeline::authoring::DraftPort]| {
            let mut n: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
            n.sort_unstable();
            serde_json::json!(n)
        };
        assert_eq!(
            report["name"],
            component_name(&draft.name),
            "{case}: {report}"
        );
        assert_eq!(report["inputs"], names(&draft.inputs), "{case}: {report}");
        assert_eq!(report["outputs"], names(&draft.outputs), "{case}: {report}");
        let task = component_name(&draft.name);
        let tasks = report["tasks"].as_array().expect("tasks");
        for name in [task.clone(), format!("{task}-2")] {
            assert!(
                tasks.contains(&name.into()),
                "{case}: the pipeline runs it twice: {report}"
            );
        }
        if authored.python.is_some() {
            // The SDK reads a Python component's description from its docstring.
            assert_eq!(
                report["description"],
                serde_json::json!(authored.component.description),
                "{case}: {report}"
            );
        }
        for ours in [&ours_json, &ours_yaml] {
            let (ok, out) = python_outcome(&[&compare, Path::new("--exact"), ours, &theirs]);
            if !ok || !out.contains("0 differences") {
                failures.push(format!("{case} ({}): {out}", ours.display()));
            }
        }
        // Our header comment is the SDK's, byte for byte (a dict default's keys aside, which
        // the SDK writes in no fixed order).
        let (ok, out) = python_outcome(&[&compare_headers, &ours_yaml, &theirs]);
        if !ok {
            failures.push(format!("{case}: the header differs from the SDK's:\n{out}"));
        }
        println!("{case}: {}", out.trim());
        // The SDK's file read by our importer is the authored component, with the description
        // of its header comment; without the header, a Python component's comes from its
        // docstring, as the SDK's loader reads it.
        let sdk_text = std::fs::read_to_string(&theirs).expect("SDK output");
        let ours_text = std::fs::read_to_string(&ours_yaml).expect("our file");
        let described = pipeline::ComponentDef {
            description: authored.header_description(),
            ..authored.component.clone()
        };
        let headless = |text: &str| {
            text.lines()
                .skip_while(|l| l.starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        let docstring = pipeline::ComponentDef {
            description: authored
                .python
                .as_ref()
                .and(authored.component.description.clone()),
            ..authored.component.clone()
        };
        for (what, text, expected) in [
            ("the SDK's file", sdk_text.clone(), &described),
            ("our file", ours_text, &described),
            (
                "the SDK's file without its header",
                headless(&sdk_text),
                &docstring,
            ),
        ] {
            let read = pipeline::component_from_yaml(&text)
                .unwrap_or_else(|e| panic!("{case}: reading {what}: {e}"));
            if doubles(serde_json::to_value(&read).expect("json"))
                != doubles(serde_json::to_value(expected).expect("json"))
            {
                failures.push(format!(
                    "{case}: {what} imports as another component:\n{read:#?}\nexpected:\n{expected:#?}"
                ));
            }
        }
    }
    assert!(
        python_cases >= 3 && container_cases >= 1,
        "cases: {cases:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Our importer reads a component file's description as the KFP SDK's loader does: every
/// built-in and local component file (`components/builtin`, `components/local`) without its
/// header comment gives the description the SDK reads from it (a Python component's docstring,
/// none for the others); with the header, the header's description.
#[test]
fn component_descriptions_read_like_the_kfp_sdk() {
    let mut files = Vec::new();
    for dir in ["components/builtin", "components/local"] {
        let mut yaml: Vec<_> = std::fs::read_dir(repo().join(dir))
            .expect("component folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        yaml.sort();
        files.extend(yaml);
    }
    assert!(files.len() >= 10, "{files:?}");
    let script = repo().join("tests/oracle/component_descriptions.py");
    let mut args: Vec<&Path> = vec![&script];
    args.extend(files.iter().map(|p| p.as_path()));
    let sdk: serde_json::Value =
        serde_json::from_str(run_python(&args).trim()).expect("descriptions JSON");
    let mut python_docstrings = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("component file");
        let headless: String = text
            .split_inclusive('\n')
            .skip_while(|l| l.starts_with('#'))
            .collect();
        let theirs = &sdk[path.to_string_lossy().as_ref()];
        let ours = pipeline::component_from_yaml(&headless)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            serde_json::json!(ours.description),
            theirs["headless"],
            "{}: the docstring",
            path.display()
        );
        python_docstrings += usize::from(ours.description.is_some());
        // With its header, the header's description (which the SDK writes from the docstring's
        // first paragraphs).
        let ours = pipeline::component_from_yaml(&text).expect("component");
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        if header.iter().any(|l| l.starts_with("# Description: ")) {
            let description = ours.description.expect("a description");
            assert!(
                header
                    .join("\n")
                    .contains(&description.replace('\n', "\n#              ")),
                "{}: {description:?}",
                path.display()
            );
        }
    }
    assert!(python_docstrings >= 5, "{python_docstrings}");
}

/// Strings at and around every scalar type YAML 1.1 reads implicitly (bools, ints in each base,
/// sexagesimals, floats, infinities, NaNs, nulls, timestamps, merge keys, `=`), for the YAML
/// string tests: the words, every string of up to three characters over the characters those
/// patterns turn on, of four and five over fewer, and each timestamp with one character taken
/// out, doubled or changed.
fn yaml11_corpus() -> Vec<String> {
    let words = [
        "yes",
        "Yes",
        "YES",
        "yEs",
        "no",
        "No",
        "NO",
        "nO",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "oN",
        "off",
        "Off",
        "OFF",
        "y",
        "Y",
        "n",
        "N",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "",
        "=",
        "<<",
        "<",
        "!",
        "&",
        "*",
        ".inf",
        ".Inf",
        ".INF",
        "-.inf",
        "+.inf",
        ".iNf",
        ".nan",
        ".NaN",
        ".NAN",
        "-.nan",
        "inf",
        "nan",
        "0o17",
        "0x1F",
        "0x",
        "0b101",
        "0b2",
        "-0x_a",
        "12:30:00",
        "190:20:30.15",
        "1_000",
        "1__0",
        "_1",
        "1e3",
        "1.5e+3",
        "1.5E-3",
        "1.5e3",
        "6.8523015e+5",
        "685.230_15e+03",
        "685_230.15",
        "+685_230",
        "02472256",
        "0_",
        "0o",
        "v1",
        "2.1.0",
        "0.0.1",
        "kfp-2.17.3",
    ];
    let stamps = [
        "2024-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "2001-12-14\t21:59:43.10",
        "2001-12-14 21:59:43 +05:30",
        "2001-12-15T02:59:43.1Z",
        "2001-1-4 1:59:43",
    ];
    let mut out: Vec<String> = words.iter().chain(&stamps).map(|s| s.to_string()).collect();
    for (alphabet, longest) in [("0159_:.-+eExXbo~=<ZTt ", 3), ("05:._-+e", 4), ("06:.x", 5)] {
        let chars: Vec<char> = alphabet.chars().collect();
        let mut level = vec![String::new()];
        for _ in 0..longest {
            level = level
                .iter()
                .flat_map(|s| chars.iter().map(move |c| format!("{s}{c}")))
                .collect();
            out.extend(level.iter().cloned());
        }
    }
    for stamp in stamps {
        let chars: Vec<char> = stamp.chars().collect();
        for i in 0..chars.len() {
            let with = |middle: &str| {
                let (a, b) = chars.split_at(i);
                format!(
                    "{}{middle}{}",
                    a.iter().collect::<String>(),
                    b[1..].iter().collect::<String>()
                )
            };
            out.push(with(""));
            out.push(with(&format!("{0}{0}", chars[i])));
            out.push(with("9"));
            out.push(with(" "));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Our YAML 1.1 patterns (which strings must be quoted) are PyYAML's resolver's, over the whole
/// corpus (the one-letter YAML 1.1 bools aside, which we quote and PyYAML reads as strings).
#[test]
fn our_yaml11_patterns_are_pyyamls() {
    let corpus = yaml11_corpus();
    assert!(corpus.len() > 15_000, "{}", corpus.len());
    let strings = write_temp(
        "yaml11_strings.json",
        &serde_json::to_string(&corpus).expect("json"),
    );
    let script = repo().join("tests/oracle/yaml_reads_back.py");
    let out = run_python(&[&script, Path::new("resolve"), &strings]);
    let theirs: Vec<bool> = serde_json::from_str(out.trim()).expect("booleans");
    assert_eq!(theirs.len(), corpus.len());
    let differ: Vec<(&String, bool)> = corpus
        .iter()
        .zip(theirs)
        .filter(|(s, other)| {
            let ours = pipeline::output::yaml11_reads_as_other(s)
                && !matches!(s.as_str(), "y" | "Y" | "n" | "N");
            ours != *other
        })
        .collect();
    assert!(
        differ.is_empty(),
        "(string, PyYAML reads it as another type): {differ:?}"
    );
}

/// PyYAML (`yaml.safe_load_all`, as the KFP SDK reads files) reads our YAML back as exactly the
/// values we wrote (types included): a spec whose parameter names and defaults are the corpus's
/// strings (alone, in a list, as a dict's keys and values), with a platform spec of them too.
#[test]
fn pyyaml_reads_our_yaml_strings_as_written() {
    use serde_json::{json, Map, Value};
    let mut corpus = yaml11_corpus();
    // Long ones too, which are written as complex keys (`? `) beyond 128 characters.
    corpus.extend([
        "1".repeat(200),
        format!("1{}:30", "_".repeat(300)),
        "1_0".repeat(60),
        format!("2001-12-14{}21:59:43", " ".repeat(140)),
    ]);
    let mut parameters = Map::new();
    for (i, s) in corpus.iter().enumerate().take(400) {
        parameters.insert(
            format!("p{i}"),
            json!({"parameterType": "STRING", "defaultValue": s, "isOptional": true}),
        );
        parameters.insert(s.clone(), json!({"parameterType": "STRING"}));
    }
    let pairs: Map<String, Value> = corpus.iter().map(|s| (s.clone(), json!(s))).collect();
    parameters.insert(
        "list".into(),
        json!({"parameterType": "LIST", "defaultValue": corpus, "isOptional": true}),
    );
    parameters.insert(
        "dict".into(),
        json!({"parameterType": "STRUCT", "defaultValue": pairs, "isOptional": true}),
    );
    let spec: pipeline::ir::PipelineSpec = serde_json::from_value(json!({
        "components": {},
        "pipelineInfo": {"name": "yaml-strings", "description": "on\nno"},
        "root": {"inputDefinitions": {"parameters": parameters}},
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3",
    }))
    .expect("spec");
    let platform = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-a": {"nodeSelector": {"labels": {"on": "yes", "gpu": "no", "zone": "2024-01-01"}}},
        "exec-b": {"tolerations": [{"key": "y", "value": "~", "operator": "="}]},
    }}}}});
    let yaml = pipeline::OutputFormat::Yaml
        .write(&spec, Some(&platform))
        .expect("yaml");
    assert!(
        yaml.contains("\n  description: |-\n    on\n    no\n"),
        "block scalars stay"
    );
    let expected = json!([serde_json::to_value(&spec).expect("json"), platform]);
    let ours = write_temp("yaml11_spec.yaml", &yaml);
    let expected = write_temp("yaml11_spec.json", &expected.to_string());
    let script = repo().join("tests/oracle/yaml_reads_back.py");
    let out = run_python(&[&script, Path::new("read"), &ours, &expected]);
    assert_eq!(out.trim(), "same");
}
