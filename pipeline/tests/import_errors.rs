//! Bad files are refused with an error naming the place and the problem:
//! `tests/import_errors/<case>.<ext>` → `<case>.expected` (`UPDATE_GOLDEN=1` rewrites).

use std::path::Path;

#[test]
fn bad_files_are_refused_with_clear_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import_errors");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("case dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x != "expected"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 7);
    let mut failures = Vec::new();
    for case in cases {
        let bytes = std::fs::read(&case).expect("readable");
        let text = String::from_utf8_lossy(&bytes);
        let got = match pipeline::import::import_pipeline(&text) {
            Ok(_) => "imported without error\n".to_string(),
            Err(e) => format!("{e}\n"),
        };
        let expected = case.with_extension("expected");
        if update {
            std::fs::write(&expected, &got).expect("writable");
        } else if std::fs::read_to_string(&expected).unwrap_or_default() != got {
            failures.push(format!("{}: got {got}", case.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
