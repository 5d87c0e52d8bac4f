//! Snapshot tests: every `tests/cases/*.pipeline.json` compiles to `*.expected` — the YAML spec,
//! or one line per diagnostic. Run with `UPDATE_GOLDEN=1` to rewrite the expectations.

use std::path::Path;

mod common;
use common::render;

#[test]
fn cases_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".pipeline.json"))
        .collect();
    entries.sort();
    for input in entries {
        count += 1;
        let text = std::fs::read_to_string(&input).expect("readable case");
        let got = render(&text);
        let expected_path = input.with_file_name(
            input
                .file_name()
                .and_then(|n| n.to_str())
                .map(|n| n.replace(".pipeline.json", ".expected"))
                .expect("utf-8 name"),
        );
        if update {
            std::fs::write(&expected_path, &got).expect("writable");
            continue;
        }
        let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}: output differs from {}\n--- got ---\n{got}",
                input.display(),
                expected_path.display()
            ));
        }
    }
    assert!(count >= 5, "expected the case files, found {count}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
