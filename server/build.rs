//! Embeds the example pipelines: every `examples/*.pipeline.json` at the workspace root becomes
//! an entry of `EXAMPLES` (id = file name minus `.pipeline.json`) in `$OUT_DIR/examples.rs`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = manifest.join("../examples");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut found: Vec<(String, PathBuf)> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".pipeline.json")?.to_string();
                Some((id, e.path()))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    let mut out = String::from(
        "/// The embedded examples: (id, document JSON), sorted by id.\n\
         pub static EXAMPLES: &[(&str, &str)] = &[\n",
    );
    for (id, path) in &found {
        let path = path.canonicalize().unwrap_or_else(|_| path.clone());
        let _ = writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out_dir.join("examples.rs"), out).expect("write examples.rs");
}
