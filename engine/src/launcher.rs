//! What the KFP launcher does around an executor: lay out the task's folder, build the
//! executor input (`inputs.parameterValues`, input artifacts with URIs and metadata, output
//! parameter files and output artifact URIs under the local pipeline root), and afterwards
//! read the outputs back (the executor output file, output parameter files, artifact
//! metadata), keeping every artifact inside the pipeline root.
//!
//! Output names become file names through [`safe_segment`], as task names become folders, so
//! a spec's `../../x` output stays inside the task's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipeline::ir::{ComponentSpec, ParameterType};
use serde_json::{json, Map, Value};

use super::placeholders::{Context, JobInfo};
use super::values::{
    confine, copy_tree, is_remote, local_path, read_parameter_file, safe_segment, typed, Io,
    RuntimeArtifact,
};

/// The executor input and the files of one task attempt.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The task's folder.
    pub dir: PathBuf,
    /// The task's log file.
    pub log: PathBuf,
    /// The executor input JSON (`ExecutorInput`).
    pub executor_input: Value,
    /// The run and task identity.
    pub job: JobInfo,
    /// Environment variables the platform spec gives the task (secrets, config maps).
    pub env: BTreeMap<String, String>,
    /// Host folders the task's volumes are in (mounted at their own path in a container).
    pub mounts: Vec<PathBuf>,
}

impl Launch {
    /// The placeholder context of this launch.
    pub fn context(&self) -> Context<'_> {
        Context {
            executor_input: &self.executor_input,
            job: &self.job,
        }
    }

    /// The executor output file (`outputs.outputFile`).
    pub fn output_file(&self) -> PathBuf {
        self.dir.join("executor_output.json")
    }

    /// The file of output parameter `name`.
    pub fn parameter_file(&self, name: &str) -> PathBuf {
        parameter_file(&self.dir, name)
    }

    /// The default location of output artifact `name`.
    pub fn artifact_path(&self, name: &str) -> PathBuf {
        artifact_path(&self.dir, name)
    }
}

fn parameter_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("parameters").join(safe_segment(name))
}

fn artifact_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("artifacts").join(safe_segment(name))
}

/// Refuses two output names that would share a file (`a/b` and `a_b`).
fn distinct_files<'a>(kind: &str, names: impl Iterator<Item = &'a String>) -> Result<(), String> {
    let mut seen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for name in names {
        if let Some(other) = seen.insert(safe_segment(name), name) {
            return Err(format!(
                "output {kind}s {other:?} and {name:?} would be written to the same file"
            ));
        }
    }
    Ok(())
}

fn artifact_json(a: &RuntimeArtifact) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

/// Resolves `{{$.inputs.parameters['x']}}` and the pipeline placeholders inside string
/// parameter values (f-strings over pipeline channels, `dsl.PIPELINE_JOB_NAME_PLACEHOLDER`
/// passed as a value), as the KFP driver does.
fn resolve_value_placeholders(params: &mut Map<String, Value>, job: &JobInfo) {
    let snapshot = json!({"inputs": {"parameterValues": Value::Object(params.clone())}});
    let ctx = Context {
        executor_input: &snapshot,
        job,
    };
    for v in params.values_mut() {
        if let Value::String(s) = v {
            if s.contains("{{$") {
                if let Ok(r) = ctx.resolve_str(s) {
                    *s = r;
                }
            }
        }
    }
}

/// Prepares attempt folders and the executor input for a leaf task.
pub fn prepare(
    dir: &Path,
    comp: &ComponentSpec,
    inputs: &Io,
    job: JobInfo,
) -> Result<Launch, String> {
    for sub in ["", "artifacts", "parameters"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| format!("cannot create {}: {e}", dir.join(sub).display()))?;
    }
    let defs = comp.input_definitions.clone().unwrap_or_default();
    let mut params = Map::new();
    for (name, spec) in &defs.parameters {
        match inputs.parameters.get(name) {
            Some(v) => {
                params.insert(name.clone(), typed(v, spec.parameter_type));
            }
            None => match &spec.default_value {
                Some(d) => {
                    params.insert(name.clone(), typed(d, spec.parameter_type));
                }
                None if spec.is_optional => {}
                None => return Err(format!("required input parameter {name:?} has no value")),
            },
        }
    }
    // Inputs the component does not declare (channels an f-string placeholder reads).
    for (name, v) in &inputs.parameters {
        if !params.contains_key(name) {
            params.insert(name.clone(), v.clone());
        }
    }
    resolve_value_placeholders(&mut params, &job);
    let mut in_artifacts = Map::new();
    for (name, spec) in &defs.artifacts {
        match inputs.artifacts.get(name) {
            Some(list) if !list.is_empty() || spec.is_artifact_list => {
                let list: Vec<Value> = if spec.is_artifact_list {
                    list.iter().map(artifact_json).collect()
                } else {
                    list.iter().take(1).map(artifact_json).collect()
                };
                in_artifacts.insert(name.clone(), json!({ "artifacts": list }));
            }
            _ if spec.is_optional => {}
            _ => return Err(format!("required input artifact {name:?} is not available")),
        }
    }
    let outs = comp.output_definitions.clone().unwrap_or_default();
    distinct_files("parameter", outs.parameters.keys())?;
    distinct_files("artifact", outs.artifacts.keys())?;
    let mut out_params = Map::new();
    for name in outs.parameters.keys() {
        out_params.insert(
            name.clone(),
            json!({ "outputFile": parameter_file(dir, name) }),
        );
    }
    let mut out_artifacts = Map::new();
    for (name, spec) in &outs.artifacts {
        let a = RuntimeArtifact {
            name: name.clone(),
            uri: artifact_path(dir, name).display().to_string(),
            metadata: Map::new(),
            ty: spec.artifact_type.clone(),
        };
        out_artifacts.insert(name.clone(), json!({ "artifacts": [artifact_json(&a)] }));
    }
    let executor_input = json!({
        "inputs": { "parameterValues": params, "artifacts": in_artifacts },
        "outputs": {
            "parameters": out_params,
            "artifacts": out_artifacts,
            "outputFile": dir.join("executor_output.json"),
        },
    });
    Ok(Launch {
        log: dir.join("log.txt"),
        dir: dir.to_path_buf(),
        executor_input,
        job,
        env: BTreeMap::new(),
        mounts: Vec::new(),
    })
}

/// Reads a task's outputs after its executor succeeded.
pub fn collect(launch: &Launch, comp: &ComponentSpec, root: &Path) -> Result<Io, String> {
    let outs = comp.output_definitions.clone().unwrap_or_default();
    let executor_output: Value = match std::fs::read_to_string(launch.output_file()) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("the executor output file is not JSON: {e}"))?,
        Err(_) => Value::Null,
    };
    let mut io = Io::default();
    for (name, spec) in &outs.parameters {
        let file = launch.parameter_file(name);
        let value = if let Ok(text) = std::fs::read_to_string(&file) {
            read_parameter_file(&text, spec.parameter_type)
                .map_err(|e| format!("output parameter {name:?}: {e}"))?
        } else if let Some(v) = executor_output["parameterValues"].get(name) {
            typed(v, spec.parameter_type)
        } else if spec.parameter_type == ParameterType::TaskFinalStatus {
            continue;
        } else {
            return Err(format!(
                "the component did not write its output parameter {name:?}"
            ));
        };
        io.parameters.insert(name.clone(), value);
    }
    for (name, spec) in &outs.artifacts {
        let written = executor_output["artifacts"][name]["artifacts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let default_uri = launch.artifact_path(name).display().to_string();
        let list: Vec<RuntimeArtifact> = if written.is_empty() {
            vec![RuntimeArtifact {
                name: name.clone(),
                uri: default_uri,
                metadata: Map::new(),
                ty: spec.artifact_type.clone(),
            }]
        } else {
            written
                .iter()
                .map(|a| RuntimeArtifact {
                    name: a["name"].as_str().unwrap_or(name).to_string(),
                    uri: a["uri"].as_str().unwrap_or(&default_uri).to_string(),
                    metadata: a["metadata"].as_object().cloned().unwrap_or_default(),
                    ty: spec.artifact_type.clone(),
                })
                .collect()
        };
        for (a, w) in list
            .iter()
            .zip(written.iter().map(Some).chain(std::iter::repeat(None)))
        {
            confine(&a.uri, root).map_err(|e| format!("output artifact {name:?}: {e}"))?;
            // `artifact.set_path(...)`: the component wrote elsewhere; bring it in, as the
            // KFP launcher uploads it to the artifact's URI.
            if let Some(custom) = w
                .and_then(|w| w["custom_path"].as_str())
                .filter(|c| !c.is_empty())
            {
                let from = Path::new(custom);
                let to = local_path(&a.uri);
                if from.exists() && !is_remote(&a.uri) && from != to {
                    copy_tree(from, &to).map_err(|e| {
                        format!("output artifact {name:?}: cannot copy it from {custom}: {e}")
                    })?;
                }
            }
        }
        io.artifacts.insert(name.clone(), list);
    }
    Ok(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::normalize;
    use pipeline::ir::{
        ArtifactSpec, ArtifactTypeSchema, InputDefinitions, OutputDefinitions, ParameterSpec,
    };

    fn comp() -> ComponentSpec {
        let mut inputs = InputDefinitions::default();
        inputs
            .parameters
            .insert("n".into(), ParameterSpec::of(ParameterType::NumberInteger));
        let mut opt = ParameterSpec::of(ParameterType::String);
        opt.default_value = Some(json!("d"));
        inputs.parameters.insert("s".into(), opt);
        let mut outputs = OutputDefinitions::default();
        outputs.parameters.insert(
            "sum".into(),
            ParameterSpec::of(ParameterType::NumberInteger),
        );
        outputs.artifacts.insert(
            "model".into(),
            ArtifactSpec {
                artifact_type: ArtifactTypeSchema::titled("system.Model"),
                ..ArtifactSpec::default()
            },
        );
        ComponentSpec {
            input_definitions: Some(inputs),
            output_definitions: Some(outputs),
            ..ComponentSpec::default()
        }
    }

    #[test]
    fn executor_input_and_outputs_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let task = root.join("run/t");
        let mut io = Io::default();
        io.parameters.insert("n".into(), json!(2.0));
        io.parameters
            .insert("msg".into(), json!("x={{$.inputs.parameters['n']}}"));
        let l = prepare(&task, &comp(), &io, JobInfo::default()).expect("prepare");
        let ei = &l.executor_input;
        assert_eq!(ei["inputs"]["parameterValues"]["n"], json!(2));
        assert_eq!(ei["inputs"]["parameterValues"]["s"], json!("d"));
        assert_eq!(ei["inputs"]["parameterValues"]["msg"], json!("x=2"));
        assert_eq!(
            ei["outputs"]["artifacts"]["model"]["artifacts"][0]["type"]["schemaTitle"],
            "system.Model"
        );
        std::fs::write(task.join("parameters/sum"), "5").expect("write");
        std::fs::write(
            task.join("executor_output.json"),
            json!({"artifacts": {"model": {"artifacts": [{"name": "model", "uri": task.join("artifacts/model"), "metadata": {"acc": 0.9}}]}}}).to_string(),
        )
        .expect("write");
        let out = collect(&l, &comp(), &root).expect("collect");
        assert_eq!(out.parameters["sum"], json!(5));
        assert_eq!(out.artifacts["model"][0].metadata["acc"], json!(0.9));

        std::fs::write(
            task.join("executor_output.json"),
            json!({"artifacts": {"model": {"artifacts": [{"uri": "/etc/passwd"}]}}}).to_string(),
        )
        .expect("write");
        let err = collect(&l, &comp(), &root).expect_err("escape");
        assert!(err.contains("outside the local pipeline root"), "{err}");
    }

    #[test]
    fn output_names_never_leave_the_task_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let task = dir.path().join("run/t");
        let mut outputs = OutputDefinitions::default();
        for name in ["../../x", "/etc/y", ".."] {
            outputs
                .parameters
                .insert(name.into(), ParameterSpec::of(ParameterType::String));
            outputs
                .artifacts
                .insert(name.into(), ArtifactSpec::default());
        }
        let c = ComponentSpec {
            output_definitions: Some(outputs),
            ..ComponentSpec::default()
        };
        let l = prepare(&task, &c, &Io::default(), JobInfo::default()).expect("prepare");
        let outs = &l.executor_input["outputs"];
        for name in ["../../x", "/etc/y", ".."] {
            let file = PathBuf::from(
                outs["parameters"][name]["outputFile"]
                    .as_str()
                    .expect("output file"),
            );
            assert!(
                file.starts_with(task.join("parameters")) && file != task.join("parameters"),
                "{}",
                file.display()
            );
            assert_eq!(normalize(&file), file, "no .. in {}", file.display());
            let uri = PathBuf::from(
                outs["artifacts"][name]["artifacts"][0]["uri"]
                    .as_str()
                    .expect("uri"),
            );
            assert!(uri.starts_with(task.join("artifacts")), "{}", uri.display());
            assert_eq!(normalize(&uri), uri, "no .. in {}", uri.display());
            std::fs::write(&file, "v").expect("write the parameter");
        }
        let out = collect(&l, &c, dir.path()).expect("collect");
        assert_eq!(out.parameters["../../x"], json!("v"));
        assert!(!dir.path().join("x").exists() && !task.join("x").exists());
    }

    #[test]
    fn output_names_that_share_a_file_are_refused() {
        let mut outputs = OutputDefinitions::default();
        for name in ["a/b", "a_b"] {
            outputs
                .parameters
                .insert(name.into(), ParameterSpec::of(ParameterType::String));
        }
        let c = ComponentSpec {
            output_definitions: Some(outputs),
            ..ComponentSpec::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let err = prepare(dir.path(), &c, &Io::default(), JobInfo::default()).expect_err("clash");
        assert!(err.contains("\"a/b\"") && err.contains("\"a_b\""), "{err}");
    }

    #[test]
    fn missing_required_inputs_and_outputs_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = prepare(dir.path(), &comp(), &Io::default(), JobInfo::default())
            .expect_err("missing n");
        assert!(err.contains("\"n\""), "{err}");
        let mut io = Io::default();
        io.parameters.insert("n".into(), json!(1));
        let l = prepare(dir.path(), &comp(), &io, JobInfo::default()).expect("prepare");
        let err = collect(&l, &comp(), dir.path()).expect_err("no sum");
        assert!(err.contains("\"sum\""), "{err}");
    }
}
