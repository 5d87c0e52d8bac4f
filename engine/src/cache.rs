//! Task caching, keyed the way the KFP backend keys it (`cacheutils.GenerateCacheKey`): the
//! input parameter values, the input artifacts (here: their URIs), the output artifact specs
//! without URIs, the output parameter types and the container's image and command line (as
//! written, placeholders unresolved), hashed with SHA-256; a task's own `cacheKey`, when set,
//! replaces all of that.
//!
//! A hit is used only while every local artifact it produced still exists.

use std::collections::BTreeMap;

use pipeline::ir::{ComponentSpec, ExecutorSpec};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::values::{is_remote, local_path, Io};
use runs::RunStore;

/// The cache key of a leaf task about to run with `executor_input`.
pub fn key(
    comp: &ComponentSpec,
    executor: &ExecutorSpec,
    executor_input: &Value,
    custom: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    if let Some(custom) = custom.filter(|c| !c.is_empty()) {
        h.update(b"custom-cache-key\0");
        h.update(custom.as_bytes());
        return format!("{:x}", h.finalize());
    }
    let inputs = &executor_input["inputs"];
    let mut artifact_names = BTreeMap::new();
    if let Some(arts) = inputs["artifacts"].as_object() {
        for (name, list) in arts {
            let uris: Vec<Value> = list["artifacts"]
                .as_array()
                .map(|l| l.iter().map(|a| a["uri"].clone()).collect())
                .unwrap_or_default();
            artifact_names.insert(name.clone(), json!({ "artifactNames": uris }));
        }
    }
    let outs = comp.output_definitions.clone().unwrap_or_default();
    let output_artifacts: BTreeMap<&String, Value> = outs
        .artifacts
        .iter()
        .map(|(k, a)| (k, json!({ "name": k, "type": a.artifact_type })))
        .collect();
    let output_parameters: BTreeMap<&String, &str> = outs
        .parameters
        .iter()
        .map(|(k, p)| (k, p.parameter_type.proto_name()))
        .collect();
    let container = match executor {
        ExecutorSpec::Container(c) => json!({
            "image": c.image,
            "cmdArgs": c.command.iter().chain(&c.args).collect::<Vec<_>>(),
            "env": c.env,
        }),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    };
    let cache_key = json!({
        "inputArtifactNames": artifact_names,
        "inputParameterValues": inputs["parameterValues"],
        "outputArtifactsSpec": output_artifacts,
        "outputParametersSpec": output_parameters,
        "containerSpec": container,
    });
    h.update(cache_key.to_string().as_bytes());
    format!("{:x}", h.finalize())
}

/// Artifact types whose content is their metadata: the KFP SDK writes no file for them.
const METADATA_ONLY: [&str; 3] = [
    "system.Metrics",
    "system.ClassificationMetrics",
    "system.SlicedClassificationMetrics",
];

/// Whether `a` is whole without a file (its type is one of [`METADATA_ONLY`]).
fn is_metadata_only(a: &crate::values::RuntimeArtifact) -> bool {
    a.ty.schema_title
        .as_deref()
        .is_some_and(|t| METADATA_ONLY.contains(&t))
}

/// The cached outputs of `key`, if any and if their local artifacts are all still there
/// (metrics, which have no file, are whole in their metadata).
pub fn lookup(store: &RunStore, key: &str) -> Option<Io> {
    let value = store.cache_get(key).ok()??;
    let io = Io::from_value(&value)?;
    let intact = io
        .artifacts
        .values()
        .flatten()
        .all(|a| is_remote(&a.uri) || is_metadata_only(a) || local_path(&a.uri).exists());
    if !intact {
        let _ = store.cache_remove(key);
        return None;
    }
    Some(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::ir::ContainerSpec;

    #[test]
    fn keys_change_with_inputs_and_command_only() {
        let comp = ComponentSpec::default();
        let exec = ExecutorSpec::Container(ContainerSpec {
            image: "python:3.11".into(),
            command: vec!["echo".into()],
            ..ContainerSpec::default()
        });
        let ei = |x: i64, out: &str| json!({"inputs": {"parameterValues": {"x": x}}, "outputs": {"outputFile": out}});
        let a = key(&comp, &exec, &ei(1, "/r1/t"), None);
        assert_eq!(
            a,
            key(&comp, &exec, &ei(1, "/r2/t"), None),
            "output paths do not count"
        );
        assert_ne!(a, key(&comp, &exec, &ei(2, "/r1/t"), None));
        let other = ExecutorSpec::Container(ContainerSpec {
            image: "python:3.12".into(),
            command: vec!["echo".into()],
            ..ContainerSpec::default()
        });
        assert_ne!(a, key(&comp, &other, &ei(1, "/r1/t"), None));
        assert_eq!(
            key(&comp, &exec, &ei(1, "/r"), Some("k")),
            key(&comp, &other, &ei(9, "/r"), Some("k"))
        );
        assert_eq!(a.len(), 64);
    }
}
