//! Values that flow between tasks: parameter values (JSON, as protobuf `Value`s are), runtime
//! artifacts (a URI, metadata and a type), and the files of the local pipeline root.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use pipeline::ir::{ArtifactTypeSchema, ParameterType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An artifact as the KFP executor sees it (`RuntimeArtifact`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeArtifact {
    /// The artifact's name (the output it was written to).
    #[serde(default)]
    pub name: String,
    /// Where it is: a local path under the pipeline root, or a remote URI (`gs://…`).
    #[serde(default)]
    pub uri: String,
    /// Metadata written by the component.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Its type.
    #[serde(rename = "type", default)]
    pub ty: ArtifactTypeSchema,
}

/// Parameter values and artifacts: the inputs of a DAG or task, or the outputs of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Io {
    /// Parameter values by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    /// Artifacts by name (one element unless the input or output is a list).
    #[serde(default)]
    pub artifacts: BTreeMap<String, Vec<RuntimeArtifact>>,
}

impl Io {
    /// As JSON for the store and the API.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads what [`Io::to_value`] wrote.
    pub fn from_value(v: &Value) -> Option<Self> {
        serde_json::from_value(v.clone()).ok()
    }
}

/// A value as the declared parameter type expects it in an executor input: integers as JSON
/// integers (protobuf carries every number as a double), doubles as doubles, everything else
/// as it is.
pub fn typed(value: &Value, ty: ParameterType) -> Value {
    match (ty, value) {
        (ParameterType::NumberInteger, Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => {
                Value::from(f as i64)
            }
            _ => value.clone(),
        },
        (ParameterType::NumberDouble, Value::Number(n)) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.clone(), Value::Number),
        _ => value.clone(),
    }
}

/// Reads an output parameter file the way the KFP launcher does: strings as written, booleans
/// as `true`/`false` in any case, everything else as JSON.
pub fn read_parameter_file(text: &str, ty: ParameterType) -> Result<Value, String> {
    match ty {
        ParameterType::String => Ok(Value::String(text.to_string())),
        ParameterType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            other => Err(format!("{other:?} is not a boolean")),
        },
        _ => {
            let v: Value = serde_json::from_str(text.trim())
                .map_err(|e| format!("not JSON ({e}): {:?}", shorten(text)))?;
            if matches!(
                ty,
                ParameterType::NumberInteger | ParameterType::NumberDouble
            ) && !v.is_number()
            {
                return Err(format!("{:?} is not a number", shorten(text)));
            }
            Ok(typed(&v, ty))
        }
    }
}

/// A value as text for a command line: strings as they are, everything else as JSON (integers
/// without a fraction).
pub fn to_arg(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 && n.is_f64() => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A path segment safe to use as a folder name: task names are Kubernetes-style, but a spec
/// can say anything, so everything but letters, digits, `-`, `_`, `.`, `[` and `]` becomes `_`,
/// and `.`/`..` are never produced.
pub fn safe_segment(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '[' | ']') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        out = format!("_{out}");
    }
    out
}

/// The folder of task `path` (`a/b[1]/c`) under a run's root.
pub fn task_dir(run_root: &Path, path: &str) -> PathBuf {
    let mut dir = run_root.to_path_buf();
    for seg in path.split('/') {
        dir.push(safe_segment(seg));
    }
    dir
}

/// `path` with `.` and `..` resolved lexically (no file system access).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether `uri` is a remote URI (`gs://`, `s3://`, `https://`, …) rather than a local path.
pub fn is_remote(uri: &str) -> bool {
    match uri.split_once("://") {
        Some((scheme, _)) => scheme != "file",
        None => false,
    }
}

/// The local path of a `file://` URI or a plain path.
pub fn local_path(uri: &str) -> PathBuf {
    PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri))
}

/// Checks that a local artifact URI stays inside `root` (the pipeline root of all runs): no
/// `..` escapes and, for what exists, no symbolic link out. Remote URIs are accepted as they
/// are (nothing is written locally for them).
pub fn confine(uri: &str, root: &Path) -> Result<(), String> {
    if is_remote(uri) {
        return Ok(());
    }
    let path = local_path(uri);
    if !path.is_absolute() {
        return Err(format!(
            "artifact URI {uri:?} is a relative path; local artifacts live under {}",
            root.display()
        ));
    }
    let lexical = normalize(&path);
    let root_real = root.canonicalize().unwrap_or_else(|_| normalize(root));
    let inside = |p: &Path| p.starts_with(&root_real) || p.starts_with(root);
    if !inside(&lexical) {
        return Err(format!(
            "artifact URI {uri:?} is outside the local pipeline root {}",
            root.display()
        ));
    }
    // Follow links for the deepest part of the path that exists.
    let mut probe = lexical.clone();
    while !probe.exists() {
        if !probe.pop() {
            break;
        }
    }
    if let Ok(real) = probe.canonicalize() {
        if !real.starts_with(&root_real) {
            return Err(format!(
                "artifact URI {uri:?} leads (through a symbolic link) outside the local pipeline root {}",
                root.display()
            ));
        }
    }
    Ok(())
}

/// How deep [`copy_tree`] descends (a symbolic link loop ends here with an error).
const MAX_COPY_DEPTH: usize = 64;

/// Copies a file or folder to `to`: real copies (`std::fs::copy`, which reflinks where the file
/// system can), never hard links, so editing the copy never edits the original. Symbolic links
/// are followed, at most [`MAX_COPY_DEPTH`] folders deep.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf(), 0usize)];
    while let Some((from, to, depth)) = stack.pop() {
        if from.is_dir() {
            if depth >= MAX_COPY_DEPTH {
                return Err(std::io::Error::other(format!(
                    "{} is more than {MAX_COPY_DEPTH} folders deep (a symbolic link loop?)",
                    from.display()
                )));
            }
            std::fs::create_dir_all(&to)?;
            for entry in std::fs::read_dir(&from)? {
                let entry = entry?;
                stack.push((entry.path(), to.join(entry.file_name()), depth + 1));
            }
        } else {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_typed_from_doubles() {
        assert_eq!(typed(&json!(3.0), ParameterType::NumberInteger), json!(3));
        assert_eq!(typed(&json!(3.5), ParameterType::NumberInteger), json!(3.5));
        assert_eq!(typed(&json!(3), ParameterType::NumberDouble), json!(3.0));
        assert_eq!(typed(&json!("x"), ParameterType::String), json!("x"));
    }

    #[test]
    fn parameter_files_are_read_like_kfp() {
        assert_eq!(
            read_parameter_file("hello\n", ParameterType::String),
            Ok(json!("hello\n"))
        );
        assert_eq!(
            read_parameter_file("True", ParameterType::Boolean),
            Ok(json!(true))
        );
        assert_eq!(
            read_parameter_file("42", ParameterType::NumberInteger),
            Ok(json!(42))
        );
        assert_eq!(
            read_parameter_file("[1, 2]", ParameterType::List),
            Ok(json!([1, 2]))
        );
        assert!(read_parameter_file("x", ParameterType::NumberDouble).is_err());
    }

    #[test]
    fn args_print_integers_without_fraction() {
        assert_eq!(to_arg(&json!(3.0)), "3");
        assert_eq!(to_arg(&json!(2.5)), "2.5");
        assert_eq!(to_arg(&json!("a b")), "a b");
        assert_eq!(to_arg(&json!([1, "x"])), "[1,\"x\"]");
        assert_eq!(to_arg(&json!(true)), "true");
    }

    #[test]
    fn segments_and_dirs_never_escape() {
        assert_eq!(safe_segment("for-loop-2[1]"), "for-loop-2[1]");
        assert_eq!(safe_segment(".."), "_..");
        assert_eq!(safe_segment("a/b"), "a_b");
        let d = task_dir(Path::new("/r"), "../x/for-loop[0]/t");
        assert_eq!(d, PathBuf::from("/r/_../x/for-loop[0]/t"));
    }

    #[test]
    fn copies_are_independent_and_link_loops_end() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a")).expect("mkdir");
        std::fs::write(src.join("a/f"), "x").expect("write");
        copy_tree(&src, &dir.path().join("dst")).expect("copy");
        let copied = dir.path().join("dst/a/f");
        assert_ne!(
            std::fs::metadata(&copied).expect("copy").ino(),
            std::fs::metadata(src.join("a/f")).expect("original").ino(),
            "a copy, not a hard link"
        );
        std::fs::write(&copied, "y").expect("edit");
        assert_eq!(std::fs::read_to_string(src.join("a/f")).expect("read"), "x");
        std::os::unix::fs::symlink(&src, src.join("a/loop")).expect("symlink");
        let err = copy_tree(&src, &dir.path().join("looped")).expect_err("a loop");
        assert!(err.to_string().contains("symbolic link loop"), "{err}");
    }

    #[test]
    fn confinement_rejects_escapes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("runs");
        std::fs::create_dir_all(root.join("r1")).expect("mkdir");
        let inside = root.join("r1/a/model");
        assert!(confine(&inside.display().to_string(), &root).is_ok());
        assert!(confine(&format!("file://{}", inside.display()), &root).is_ok());
        assert!(confine(&format!("{}/r1/../../etc", root.display()), &root).is_err());
        assert!(confine("/etc/passwd", &root).is_err());
        assert!(confine("relative/path", &root).is_err());
        assert!(confine("gs://bucket/x", &root).is_ok());
        std::os::unix::fs::symlink("/etc", root.join("r1/link")).expect("symlink");
        assert!(confine(&format!("{}/r1/link/passwd", root.display()), &root).is_err());
    }
}
