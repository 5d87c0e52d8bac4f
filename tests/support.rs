//! Helpers shared by the cross-crate tests and benchmarks: where the repository, the shared
//! corpus and the test Python (with the KFP SDK) are.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `../shared` next to the repository (conformance corpus, reference pipeline).
pub fn shared() -> PathBuf {
    repo().join("../shared")
}

/// The Python with `kfp` and GCPC installed: `$PIPELINE_CANVAS_TEST_PYTHON`, else
/// `<repo>/.venv/bin/python` (what `scripts/test` creates).
pub fn python() -> PathBuf {
    std::env::var_os("PIPELINE_CANVAS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

/// Runs the test Python with `args`; returns stdout, or panics with stderr and a hint.
pub fn run_python(args: &[&Path]) -> String {
    let py = python();
    let out = Command::new(&py)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run scripts/test (it creates the venv) or set PIPELINE_CANVAS_TEST_PYTHON",
                py.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {:?} failed:\n{}\n{}",
        py.display(),
        args,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Reads and parses a pipeline document from the repository.
pub fn document(relative: &str) -> pipeline::Document {
    let path = repo().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    pipeline::Document::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compiles a document that must have no errors.
pub fn compile_ok(doc: &pipeline::Document) -> pipeline::ir::PipelineSpec {
    let compiled = pipeline::compile(doc);
    let errors: Vec<String> = compiled
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    compiled
        .spec
        .unwrap_or_else(|| panic!("document has errors:\n{}", errors.join("\n")))
}
