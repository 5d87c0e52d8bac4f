//! Helpers shared by the integration tests.

#![allow(dead_code)] // Each test crate uses its own part.

use std::path::{Path, PathBuf};

/// `../shared` beside the repository, or `$PIPELINE_CANVAS_SHARED`.
pub fn shared() -> PathBuf {
    if let Some(p) = std::env::var_os("PIPELINE_CANVAS_SHARED") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// The compiled pipelines of the KFP conformance corpus (`shared()/kfp-conformance`), sorted.
pub fn corpus() -> Vec<PathBuf> {
    let root = shared().join("kfp-conformance");
    let mut files: Vec<PathBuf> = ["critical", "essential"]
        .iter()
        .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus at {}", root.display());
    files
}

/// The seed example's text.
pub fn seed_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pytorch-text-classification.pipeline.json");
    std::fs::read_to_string(path).expect("the seed example")
}

/// One line per diagnostic, then the YAML spec if there is one: what the golden tests compare.
pub fn render(text: &str) -> String {
    let doc = match pipeline::Document::from_json(text) {
        Ok(d) => d,
        Err(e) => return format!("unreadable: {e}\n"),
    };
    render_doc(&doc)
}

/// [`render`] of a document.
pub fn render_doc(doc: &pipeline::Document) -> String {
    let compiled = pipeline::compile(doc);
    let mut out = String::new();
    for d in &compiled.diagnostics {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    if let Some(spec) = &compiled.spec {
        out.push_str(&pipeline::to_yaml(spec));
    }
    out
}

/// Compares `got` with `<dir>/<name>.expected` (relative to the crate), or writes it there with
/// `UPDATE_GOLDEN=1`. Returns a description of the difference.
pub fn golden(dir: &str, name: &str, got: &str) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .join(format!("{name}.expected"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(());
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{}: output differs (UPDATE_GOLDEN=1 rewrites it)\n--- got ---\n{got}--- want ---\n{want}",
            path.display()
        ))
    }
}
