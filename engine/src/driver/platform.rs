//! The Kubernetes platform spec (`platforms.kubernetes.deploymentSpec.executors.<label>`, the
//! second document of a kfp-kubernetes YAML) as the local engine carries it out: what a leaf
//! task gets from it (environment variables from secrets and config maps, folders for its
//! volumes) and what is ignored on this machine, said on the task; and the PVC tasks
//! (`CreatePVC`, `DeletePVC`: the images `argostub/createpvc`, `argostub/deletepvc`) as local
//! folders.
//!
//! The local sources are folders of the data folder: a secret `s` is `secrets/s/` (a file per
//! key), a config map `m` is `config-maps/m/`, a PVC `p` is `volumes/p/`. The runner maps them
//! ([`Volume::folder`]); the driver only decides, naming what it needs.

use std::path::{Path, PathBuf};

use pipeline::ir::{ComponentSpec, ContainerSpec, InputParameterSpec};
use serde_json::Value;

use super::inputs::{Scope, Source};
use crate::values::Io;

/// The image of KFP's `CreatePVC` task.
pub const CREATE_PVC_IMAGE: &str = "argostub/createpvc";
/// The image of KFP's `DeletePVC` task.
pub const DELETE_PVC_IMAGE: &str = "argostub/deletepvc";

/// What the platform spec gives a leaf task locally.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kubernetes {
    /// Environment variables from secrets and config maps.
    pub env: Vec<EnvVar>,
    /// Volumes the task mounts.
    pub mounts: Vec<Mount>,
    /// What the local engine does not do, described for the task's note.
    pub ignored: Vec<String>,
}

/// An environment variable taken from a key of a secret or config map.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    /// The variable.
    pub name: String,
    /// The secret or config map holding it.
    pub from: Volume,
    /// The key in it.
    pub key: String,
    /// Whether the task runs without it when it is missing.
    pub optional: bool,
}

/// A volume the task mounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    /// Where the task expects it (`/data`).
    pub path: String,
    /// What is mounted.
    pub volume: Volume,
    /// Whether the task runs without it when it is missing.
    pub optional: bool,
}

/// A Kubernetes volume source and its local folder.
#[derive(Debug, Clone, PartialEq)]
pub enum Volume {
    /// A persistent volume claim: `<data-dir>/volumes/<name>/`, created when missing.
    Pvc(String),
    /// A secret: `<data-dir>/secrets/<name>/`, a file per key.
    Secret(String),
    /// A config map: `<data-dir>/config-maps/<name>/`, a file per key.
    ConfigMap(String),
    /// An empty folder of the task's own.
    EmptyDir,
}

impl Volume {
    /// Its folder under `data_dir` (an empty dir: `None`, the runner makes one per task).
    pub fn folder(&self, data_dir: &Path) -> Option<PathBuf> {
        match self {
            Volume::Pvc(n) => Some(data_dir.join("volumes").join(n)),
            Volume::Secret(n) => Some(data_dir.join("secrets").join(n)),
            Volume::ConfigMap(n) => Some(data_dir.join("config-maps").join(n)),
            Volume::EmptyDir => None,
        }
    }

    /// What it is, for messages (`secret db-credentials`).
    pub fn describe(&self) -> String {
        match self {
            Volume::Pvc(n) => format!("PVC {n}"),
            Volume::Secret(n) => format!("secret {n}"),
            Volume::ConfigMap(n) => format!("config map {n}"),
            Volume::EmptyDir => "empty dir".to_string(),
        }
    }
}

/// A PVC task, done locally on a folder.
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeOp {
    /// `CreatePVC`: make `volumes/<name>/`; its output `name` is the name.
    Create(String),
    /// `DeletePVC`: remove `volumes/<name>/`.
    Delete(String),
}

/// Checks a Kubernetes object name (a DNS-1123 subdomain: lowercase letters, digits, `-` and
/// `.`, starting and ending with a letter or digit, at most 253 characters), so that it is a
/// safe folder name.
pub fn object_name(what: &str, name: &str) -> Result<String, String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty()
        || name.len() > 253
        || !name.chars().all(ok_char)
        || !edge(name.chars().next())
        || !edge(name.chars().last())
        || name.contains("..")
    {
        return Err(format!(
            "the {what} name {name:?} is not a Kubernetes name (lowercase letters, digits, '-' and '.', at most 253)"
        ));
    }
    Ok(name.to_string())
}

/// Checks a key of a secret or config map (letters, digits, `-`, `_`, `.`; not `.` or `..`), so
/// that it is a safe file name.
fn key_name(what: &str, key: &str) -> Result<String, String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(format!("the {what} key {key:?} is not a valid key"))
    }
}

/// What the PVC task running `image` with `inputs` does, if it is one; `job` names the PVC
/// made from a suffix (`<job>-<suffix>`).
pub fn volume_op(image: &str, inputs: &Io, job: &str) -> Option<Result<VolumeOp, String>> {
    let text = |k: &str| inputs.parameters.get(k).and_then(Value::as_str);
    match image {
        CREATE_PVC_IMAGE => Some(match (text("pvc_name"), text("pvc_name_suffix")) {
            (Some(n), _) if !n.is_empty() => object_name("PVC", n).map(VolumeOp::Create),
            (_, Some(s)) if !s.is_empty() => {
                let n = format!("{}-{}", job.to_lowercase(), s.trim_start_matches('-'));
                object_name("PVC", &n).map(VolumeOp::Create)
            }
            _ => Err("CreatePVC needs pvc_name or pvc_name_suffix".to_string()),
        }),
        DELETE_PVC_IMAGE => Some(match text("pvc_name") {
            Some(n) => object_name("PVC", n).map(VolumeOp::Delete),
            None => Err("DeletePVC needs pvc_name".to_string()),
        }),
        _ => None,
    }
}

/// The resources executor `c` asks for (`cpu limit 2`, `accelerator NVIDIA_TESLA_T4 x 1`),
/// each placeholder (`{{$.inputs.parameters['x']}}`, KFP's values set from parameters or task
/// outputs) resolved from the task's `inputs`, kept as written when it does not resolve. The
/// local engine reports them; it never fails on them.
pub fn resources(c: &ContainerSpec, inputs: &Io) -> Vec<String> {
    let Some(r) = &c.resources else {
        return Vec::new();
    };
    let resolve = |text: &str| -> String {
        let name = text
            .trim()
            .strip_prefix("{{$.inputs.parameters['")
            .and_then(|t| t.strip_suffix("']}}"));
        match name.and_then(|n| inputs.parameters.get(n)) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => text.to_string(),
        }
    };
    let number = |n: f64| {
        if n.fract() == 0.0 && n.abs() < 1e15 {
            format!("{n:.0}")
        } else {
            n.to_string()
        }
    };
    let mut out = Vec::new();
    let fields = [
        ("cpu limit", &r.resource_cpu_limit, r.cpu_limit),
        ("cpu request", &r.resource_cpu_request, r.cpu_request),
        (
            "memory limit",
            &r.resource_memory_limit,
            r.memory_limit.map(|m| m / 1e9),
        ),
        (
            "memory request",
            &r.resource_memory_request,
            r.memory_request.map(|m| m / 1e9),
        ),
    ];
    for (what, text, old) in fields {
        match (text, old) {
            (Some(t), _) => out.push(format!("{what} {}", resolve(t))),
            (None, Some(n)) if what.starts_with("memory") => {
                out.push(format!("{what} {}G", number(n)))
            }
            (None, Some(n)) => out.push(format!("{what} {}", number(n))),
            (None, None) => {}
        }
    }
    if let Some(a) = &r.accelerator {
        let ty = a.resource_type.as_deref().or(a.ty.as_deref()).map(resolve);
        let count = match (&a.resource_count, &a.count) {
            (Some(t), _) => Some(resolve(t)),
            (None, Some(Value::String(s))) => Some(s.clone()),
            (None, Some(v)) => Some(v.to_string()),
            (None, None) => None,
        };
        match (ty, count) {
            (Some(t), Some(c)) => out.push(format!("accelerator {t} x {c}")),
            (Some(t), None) => out.push(format!("accelerator {t}")),
            (None, Some(c)) => out.push(format!("accelerators x {c}")),
            (None, None) => {}
        }
    }
    out
}

/// What the platform spec gives the leaf of `comp`, its parameters resolved in `scope`. An
/// error (a name that does not resolve or is not a Kubernetes name) fails the task.
pub(super) fn kubernetes(
    platform: Option<&Value>,
    comp: &ComponentSpec,
    scope: &Scope<'_, '_>,
) -> Result<Kubernetes, String> {
    let mut k = Kubernetes::default();
    let (Some(p), Some(label)) = (platform, comp.executor_label.as_deref()) else {
        return Ok(k);
    };
    let Some(config) =
        p["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label].as_object()
    else {
        return Ok(k);
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let optional = |v: &Value| v["optional"].as_bool().unwrap_or(false);
    for (field, value) in config {
        match field.as_str() {
            "secretAsEnv" | "configMapAsEnv" => {
                let secret = field == "secretAsEnv";
                for e in list(value) {
                    others(field, &e, ENV_FIELDS, &mut k.ignored);
                    let source = if secret {
                        Volume::Secret(name_of(
                            scope,
                            &e,
                            "secret",
                            "secretNameParameter",
                            "secretName",
                        )?)
                    } else {
                        Volume::ConfigMap(name_of(
                            scope,
                            &e,
                            "config map",
                            "configMapNameParameter",
                            "configMapName",
                        )?)
                    };
                    let key_field = if secret { "secretKey" } else { "configMapKey" };
                    for m in list(&e["keyToEnv"]) {
                        let (Some(var), Some(key)) = (m["envVar"].as_str(), m[key_field].as_str())
                        else {
                            return Err(format!(
                                "{field}: an entry of keyToEnv lacks envVar or {key_field}"
                            ));
                        };
                        k.env.push(EnvVar {
                            name: var.to_string(),
                            from: source.clone(),
                            key: key_name(&source.describe(), key)?,
                            optional: optional(&e),
                        });
                    }
                }
            }
            "pvcMount" | "secretAsVolume" | "configMapAsVolume" | "emptyDirMounts" => {
                for m in list(value) {
                    others(field, &m, MOUNT_FIELDS, &mut k.ignored);
                    let volume = match field.as_str() {
                        "pvcMount" => Volume::Pvc(pvc_name(scope, &m)?),
                        "secretAsVolume" => Volume::Secret(name_of(
                            scope,
                            &m,
                            "secret",
                            "secretNameParameter",
                            "secretName",
                        )?),
                        "configMapAsVolume" => Volume::ConfigMap(name_of(
                            scope,
                            &m,
                            "config map",
                            "configMapNameParameter",
                            "configMapName",
                        )?),
                        _ => Volume::EmptyDir,
                    };
                    let Some(path) = m["mountPath"].as_str().filter(|p| p.starts_with('/')) else {
                        return Err(format!("{field}: a mount has no absolute mountPath"));
                    };
                    k.mounts.push(Mount {
                        path: path.trim_end_matches('/').to_string(),
                        volume,
                        optional: optional(&m),
                    });
                }
            }
            // The task's time limit (`RunSpec::timeout`).
            "activeDeadlineSeconds" => {}
            other => k.ignored.push(ignored(other, value)),
        }
    }
    Ok(k)
}

/// The fields of an env entry the engine carries out.
const ENV_FIELDS: &[&str] = &[
    "keyToEnv",
    "optional",
    "secretName",
    "secretNameParameter",
    "configMapName",
    "configMapNameParameter",
];

/// The fields of a mount entry the engine carries out.
const MOUNT_FIELDS: &[&str] = &[
    "mountPath",
    "optional",
    "pvcNameParameter",
    "taskOutputParameter",
    "componentInputParameter",
    "constant",
    "secretName",
    "secretNameParameter",
    "configMapName",
    "configMapNameParameter",
];

/// Lists the fields of `entry` (of setting `field`) other than `known` as ignored, so that
/// nothing of an entry is dropped without a word (`subPath`, an empty dir's `medium`, …).
fn others(field: &str, entry: &Value, known: &[&str], ignored: &mut Vec<String>) {
    if let Some(o) = entry.as_object() {
        for (k, v) in o {
            if !known.contains(&k.as_str()) {
                ignored.push(self::ignored(&format!("{field}.{k}"), v));
            }
        }
    }
}

/// How an ignored setting is named in the task's note: `node selector {"…": "…"}`.
fn ignored(field: &str, value: &Value) -> String {
    let what = match field {
        "nodeSelector" => "node selector",
        "tolerations" => "tolerations",
        "podMetadata" => "pod labels and annotations",
        "imagePullSecret" => "image pull secrets",
        "imagePullPolicy" => "image pull policy",
        "nodeAffinity" => "node affinity",
        "podAffinity" => "pod affinity",
        "fieldPathAsEnv" => "environment variables from pod fields",
        "genericEphemeralVolume" => "generic ephemeral volumes",
        "enabledSharedMemory" => "shared memory",
        other => other,
    };
    let mut text = value.to_string();
    if text.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    format!("{what} {text}")
}

/// The name of the secret or config map of entry `e`: from its name parameter, else its name
/// field.
fn name_of(
    scope: &Scope<'_, '_>,
    e: &Value,
    what: &str,
    param: &str,
    field: &str,
) -> Result<String, String> {
    let name = match &e[param] {
        Value::Null => e[field].as_str().map(str::to_string),
        p => Some(resolve(scope, what, p)?),
    };
    let name = name.ok_or_else(|| format!("a {what} has no name"))?;
    object_name(what, &name)
}

/// The name of the PVC of mount `m`: from `pvcNameParameter`, else the older fields beside it.
fn pvc_name(scope: &Scope<'_, '_>, m: &Value) -> Result<String, String> {
    let spec = match &m["pvcNameParameter"] {
        Value::Null => {
            let mut o = serde_json::Map::new();
            for k in ["taskOutputParameter", "componentInputParameter"] {
                if let Some(v) = m.get(k) {
                    o.insert(k.to_string(), v.clone());
                }
            }
            if let Some(c) = m.get("constant") {
                o.insert("runtimeValue".into(), serde_json::json!({"constant": c}));
            }
            Value::Object(o)
        }
        p => p.clone(),
    };
    object_name("PVC", &resolve(scope, "PVC", &spec)?)
}

/// A name given as an input parameter spec (a constant, a DAG input, a task output).
fn resolve(scope: &Scope<'_, '_>, what: &str, spec: &Value) -> Result<String, String> {
    let p: InputParameterSpec = serde_json::from_value(spec.clone())
        .map_err(|e| format!("the {what} name {spec} cannot be read: {e}"))?;
    match scope.parameter_source(what, &p)? {
        Source::Value(Value::String(s)) => Ok(s),
        Source::Value(other) => Err(format!("the {what} name is {other}, not a string")),
        Source::Absent => Err(format!("the {what} name {spec} has no value")),
        Source::Unavailable(t) => Err(format!(
            "the {what} name comes from task {t}, which did not succeed"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_of_an_entry_are_listed_as_ignored() {
        let mut ignored = Vec::new();
        others(
            "pvcMount",
            &json!({"mountPath": "/data", "subPath": "x", "constant": "p"}),
            MOUNT_FIELDS,
            &mut ignored,
        );
        assert_eq!(ignored, vec!["pvcMount.subPath \"x\"".to_string()]);
    }

    #[test]
    fn names_are_kubernetes_names() {
        assert!(object_name("PVC", "my-data.v1").is_ok());
        for bad in ["", "..", "a/b", "-a", "a-", "A", "a..b", "../x"] {
            assert!(object_name("PVC", bad).is_err(), "{bad}");
        }
        assert!(key_name("secret s", "tls.crt").is_ok());
        for bad in [".", "..", "a/b", ""] {
            assert!(key_name("secret s", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pvc_tasks_are_recognized_by_their_image() {
        let io = |k: &str, v: &str| Io {
            parameters: [(k.to_string(), json!(v))].into_iter().collect(),
            ..Io::default()
        };
        assert_eq!(
            volume_op(
                CREATE_PVC_IMAGE,
                &io("pvc_name_suffix", "-scratch"),
                "Job-1"
            ),
            Some(Ok(VolumeOp::Create("job-1-scratch".into())))
        );
        assert_eq!(
            volume_op(DELETE_PVC_IMAGE, &io("pvc_name", "job-1-scratch"), "job"),
            Some(Ok(VolumeOp::Delete("job-1-scratch".into())))
        );
        assert!(matches!(
            volume_op(DELETE_PVC_IMAGE, &io("pvc_name", "../x"), "job"),
            Some(Err(_))
        ));
        assert_eq!(volume_op("python:3.11", &Io::default(), "job"), None);
    }
}
