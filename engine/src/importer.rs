//! Importer executors (`dsl.importer`): an existing artifact, named by a constant URI or a
//! runtime parameter, becomes the task's output artifact, with the metadata the spec gives
//! (placeholders resolved).
//!
//! A local file or folder is copied into the task's folder (never hard-linked: a task that
//! edits its input must not edit the user's original), so every local artifact stays inside
//! the pipeline root; a remote URI (`gs://…`), like an artifact of the run itself (a path
//! inside the run's folder, e.g. a file an earlier task wrote), is kept as it is: it is the
//! same artifact, as importing an existing URI is in KFP, so the lineage joins them.

use pipeline::ir::{ComponentSpec, ImporterSpec};
use serde_json::{Map, Value};

use super::launcher::Launch;
use super::values::{copy_tree, is_remote, local_path, Io, RuntimeArtifact};

fn constant_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("stringValue")
            .or_else(|| o.get("string_value"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

fn resolve_metadata(v: &Value, launch: &Launch) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if s.contains("{{$") => {
            let ctx = launch.context();
            // A whole-value placeholder keeps the parameter's type.
            let trimmed = s.trim();
            if let Some(name) = trimmed
                .strip_prefix("{{$.inputs.parameters['")
                .and_then(|r| r.strip_suffix("']}}"))
            {
                if let Some(p) = launch.executor_input["inputs"]["parameterValues"].get(name) {
                    return Ok(p.clone());
                }
            }
            Value::String(ctx.resolve_str(s)?)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve_metadata(x, launch))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, x) in o {
                out.insert(
                    launch.context().resolve_str(k)?,
                    resolve_metadata(x, launch)?,
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Runs an importer of the run whose folder is `run_root`: returns the task's outputs.
pub fn run(
    spec: &ImporterSpec,
    comp: &ComponentSpec,
    launch: &Launch,
    run_root: &std::path::Path,
) -> Result<Io, String> {
    let params = &launch.executor_input["inputs"]["parameterValues"];
    let uri = if let Some(name) = &spec.artifact_uri.runtime_parameter {
        params
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("the importer's URI parameter {name:?} has no value"))?
    } else if let Some(c) = spec
        .artifact_uri
        .constant
        .as_ref()
        .or(spec.artifact_uri.constant_value.as_ref())
    {
        constant_text(c).ok_or_else(|| format!("the importer's URI {c} is not a string"))?
    } else {
        return Err("the importer has no artifact URI".into());
    };
    let uri = launch.context().resolve_str(&uri)?;
    let output = comp
        .output_definitions
        .as_ref()
        .and_then(|o| o.artifacts.keys().next().cloned())
        .unwrap_or_else(|| "artifact".to_string());
    let mut metadata = match &spec.metadata {
        Some(m) => match resolve_metadata(m, launch)? {
            Value::Object(o) => o,
            other => return Err(format!("the importer's metadata {other} is not an object")),
        },
        None => Map::new(),
    };
    for extra in [&spec.properties, &spec.custom_properties]
        .into_iter()
        .flatten()
    {
        if let Value::Object(o) = extra {
            for (k, v) in o {
                metadata.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let final_uri = if is_remote(&uri) {
        uri.clone()
    } else {
        let src = local_path(&uri);
        if !src.is_absolute() {
            return Err(format!(
                "the importer's URI {uri:?} is a relative path; give an absolute path or a remote URI"
            ));
        }
        if !src.exists() {
            return Err(format!(
                "the importer's URI {uri:?} does not exist on this machine"
            ));
        }
        if inside(&src, run_root) {
            return Ok(imported(output, uri, metadata, spec));
        }
        let dest = launch.artifact_path(&output);
        if dest.exists() {
            let _ = std::fs::remove_dir_all(&dest).or_else(|_| std::fs::remove_file(&dest));
        }
        copy_tree(&src, &dest).map_err(|e| format!("cannot import {uri:?}: {e}"))?;
        dest.display().to_string()
    };
    Ok(imported(output, final_uri, metadata, spec))
}

/// Whether `path` is inside `root`, both resolved (links and `..` followed).
fn inside(path: &std::path::Path, root: &std::path::Path) -> bool {
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        _ => false,
    }
}

/// The importer's outputs: the artifact `output` at `uri`.
fn imported(output: String, uri: String, metadata: Map<String, Value>, spec: &ImporterSpec) -> Io {
    let mut io = Io::default();
    io.artifacts.insert(
        output.clone(),
        vec![RuntimeArtifact {
            name: output,
            uri,
            metadata,
            ty: spec.type_schema.clone(),
        }],
    );
    io
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launcher::prepare;
    use crate::placeholders::JobInfo;
    use pipeline::ir::{
        ArtifactSpec, ArtifactTypeSchema, InputDefinitions, OutputDefinitions, ParameterSpec,
        ParameterType, ValueOrRuntimeParameter,
    };
    use serde_json::json;

    fn comp() -> ComponentSpec {
        let mut i = InputDefinitions::default();
        i.parameters
            .insert("uri".into(), ParameterSpec::of(ParameterType::String));
        i.parameters
            .insert("tag".into(), ParameterSpec::of(ParameterType::String));
        let mut o = OutputDefinitions::default();
        o.artifacts.insert(
            "artifact".into(),
            ArtifactSpec {
                artifact_type: ArtifactTypeSchema::titled("system.Dataset"),
                ..ArtifactSpec::default()
            },
        );
        ComponentSpec {
            input_definitions: Some(i),
            output_definitions: Some(o),
            ..ComponentSpec::default()
        }
    }

    #[test]
    fn local_files_are_copied_in_and_remote_uris_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("data.csv");
        std::fs::write(&src, "a,b\n").expect("write");
        let mut io = Io::default();
        io.parameters
            .insert("uri".into(), json!(src.display().to_string()));
        io.parameters.insert("tag".into(), json!("v1"));
        let root = dir.path().join("run");
        let launch = prepare(&root.join("t"), &comp(), &io, JobInfo::default()).expect("prepare");
        let spec = ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter {
                runtime_parameter: Some("uri".into()),
                ..ValueOrRuntimeParameter::default()
            },
            metadata: Some(json!({"tag": "{{$.inputs.parameters['tag']}}", "n": 1})),
            type_schema: ArtifactTypeSchema::titled("system.Dataset"),
            ..ImporterSpec::default()
        };
        let out = run(&spec, &comp(), &launch, &root).expect("import");
        let a = &out.artifacts["artifact"][0];
        assert!(a.uri.starts_with(&root.join("t").display().to_string()));
        assert_eq!(std::fs::read_to_string(&a.uri).expect("copied"), "a,b\n");
        // A task that edits its input edits the run's copy, never the user's file.
        std::fs::write(&a.uri, "changed by a task\n").expect("edit the copy");
        assert_eq!(std::fs::read_to_string(&src).expect("original"), "a,b\n");
        assert_eq!(a.metadata["tag"], json!("v1"));
        assert_eq!(a.metadata["n"], json!(1));

        let remote = ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter::constant(json!("gs://bucket/x")),
            type_schema: ArtifactTypeSchema::titled("system.Dataset"),
            ..ImporterSpec::default()
        };
        // A folder is copied file by file.
        let folder = dir.path().join("folder");
        std::fs::create_dir_all(folder.join("sub")).expect("mkdir");
        std::fs::write(folder.join("sub/f.txt"), "1").expect("write");
        let spec_dir = ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter::constant(json!(folder.display().to_string())),
            type_schema: ArtifactTypeSchema::titled("system.Dataset"),
            ..ImporterSpec::default()
        };
        let out = run(&spec_dir, &comp(), &launch, &root).expect("import a folder");
        let copied = std::path::Path::new(&out.artifacts["artifact"][0].uri).join("sub/f.txt");
        std::fs::write(&copied, "2").expect("edit the copy");
        assert_eq!(
            std::fs::read_to_string(folder.join("sub/f.txt")).expect("original"),
            "1"
        );

        let out = run(&remote, &comp(), &launch, &root).expect("import");
        assert_eq!(out.artifacts["artifact"][0].uri, "gs://bucket/x");

        let missing = ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter::constant(json!("/no/such/file")),
            ..ImporterSpec::default()
        };
        assert!(run(&missing, &comp(), &launch, &root)
            .expect_err("missing")
            .contains("does not exist"));

        // An artifact of the run itself is the same artifact: kept where it is.
        let made = root.join("earlier-task/artifacts/model");
        std::fs::create_dir_all(&made).expect("mkdir");
        let own = ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter::constant(json!(made.display().to_string())),
            type_schema: ArtifactTypeSchema::titled("system.Model"),
            ..ImporterSpec::default()
        };
        let out = run(&own, &comp(), &launch, &root).expect("import the run's own artifact");
        assert_eq!(out.artifacts["artifact"][0].uri, made.display().to_string());
        // A path that only looks inside (`..`) is a user's file: copied.
        let sneaky = root.join("t/../../data.csv");
        let escape = ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter::constant(json!(sneaky.display().to_string())),
            type_schema: ArtifactTypeSchema::titled("system.Dataset"),
            ..ImporterSpec::default()
        };
        let out = run(&escape, &comp(), &launch, &root).expect("import");
        assert!(out.artifacts["artifact"][0]
            .uri
            .starts_with(&root.join("t").display().to_string()));
    }
}
