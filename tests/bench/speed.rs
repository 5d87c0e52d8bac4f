//! Speed benchmark: prints figures, asserts nothing about time.
//!
//! - compile of the seed example in-process (ours) next to the KFP SDK's compile of the same
//!   pipeline (`../shared/reference/seed_pipeline.py`, which reports its own compile time);
//! - compile of a generated 1,000-task pipeline;
//! - size of the release front-end wasm, gzipped: the app loaded at start and each lazily
//!   fetched chunk (needs `scripts/setup` first).
//!
//! Run: `cargo bench -p canvas-tests`.

use std::io::Write as _;
use std::time::{Duration, Instant};

use canvas_tests::{document, python, repo, shared};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    for _ in 0..runs.min(50) {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn big_spec_json(doc: &pipeline::Document) -> String {
    pipeline::compile(doc)
        .spec
        .map(|s| pipeline::to_json(&s))
        .unwrap_or_default()
}

fn main() {
    let seed = document("examples/pytorch-text-classification.pipeline.json");
    let compile_only = time(2000, || {
        std::hint::black_box(pipeline::compile(std::hint::black_box(&seed)));
    });
    let compile_json = time(2000, || {
        let c = pipeline::compile(std::hint::black_box(&seed));
        std::hint::black_box(c.spec.as_ref().map(pipeline::to_json));
    });
    println!(
        "seed compile (ours, in-process): {:.1} µs; with JSON output: {:.1} µs (target ≤ 100 µs)",
        compile_only.as_secs_f64() * 1e6,
        compile_json.as_secs_f64() * 1e6
    );

    let reference = shared().join("reference/seed_pipeline.py");
    let out_path = std::env::temp_dir().join(format!("pc-bench-{}.json", std::process::id()));
    match std::process::Command::new(python())
        .arg(&reference)
        .arg(&out_path)
        .output()
    {
        Ok(out) if out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            match stderr
                .lines()
                .find_map(|l| l.strip_prefix("compile_s "))
                .and_then(|s| s.trim().parse::<f64>().ok())
            {
                Some(s) => println!(
                    "seed compile (KFP SDK 2.17, in-process): {:.2} ms; ours is {:.0}x faster",
                    s * 1e3,
                    s / compile_json.as_secs_f64()
                ),
                None => println!("seed compile (KFP SDK): no compile_s line in its output"),
            }
        }
        Ok(out) => println!(
            "seed compile (KFP SDK): failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!(
            "seed compile (KFP SDK): cannot run {}: {e}",
            python().display()
        ),
    }

    let big = pipeline::synthetic::document(1000);
    let t = time(30, || {
        let c = pipeline::compile(std::hint::black_box(&big));
        std::hint::black_box(c.spec.as_ref().map(pipeline::to_json));
    });
    println!(
        "1,000-task pipeline compile + JSON (native): {:.2} ms (target ≤ 10 ms)",
        t.as_secs_f64() * 1e3
    );

    // Import + layout + compile of the largest corpus file.
    let corpus = shared().join("kfp-conformance");
    let largest = ["critical", "essential"]
        .iter()
        .filter_map(|d| std::fs::read_dir(corpus.join(d)).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    if let Some(path) = largest {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let t = time(200, || {
            let doc = pipeline::import::import_pipeline(std::hint::black_box(&text));
            std::hint::black_box(doc.map(|d| pipeline::compile(&d)).ok());
        });
        println!(
            "import + layout + compile of the largest corpus file ({}, {} KB): {:.2} ms (target ≤ 5 ms)",
            path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
            text.len() / 1024,
            t.as_secs_f64() * 1e3
        );
    }
    let big_text = big_spec_json(&big);
    let t = time(10, || {
        std::hint::black_box(
            pipeline::import::import_pipeline(std::hint::black_box(&big_text)).ok(),
        );
    });
    println!(
        "1,000-task pipeline with nested loops and conditions, import + layout (native): {:.2} ms",
        t.as_secs_f64() * 1e3
    );

    wasm_sizes(&repo().join("dist"));
}

/// Prints the gzipped size of the front end's wasm: the app the page loads at start (the
/// budget is for this) and each chunk it fetches on first use (import, runs, …).
fn wasm_sizes(dist: &std::path::Path) {
    let mut files: Vec<_> = std::fs::read_dir(dist)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let kb = |n: usize| n as f64 / 1024.0;
    let (mut app, mut chunks) = (None, Vec::new());
    for p in files {
        let bytes = std::fs::read(&p).unwrap_or_default();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(&bytes);
        let gz = gz.finish().unwrap_or_default().len();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if name.starts_with("frontend-") {
            app = Some((name, bytes.len(), gz));
        } else {
            chunks.push((name, bytes.len(), gz));
        }
    }
    let Some((name, raw, gz)) = app else {
        println!("front-end wasm: no dist/frontend-*.wasm; run scripts/setup first");
        return;
    };
    println!(
        "front-end wasm loaded at start: {:.0} KB raw, {:.1} KB gzipped (budget ≤ {WASM_BUDGET_KB} KB) [{name}]",
        kb(raw),
        kb(gz)
    );
    for (name, raw, gz) in &chunks {
        println!(
            "  chunk fetched on first use: {:.0} KB raw, {:.0} KB gzipped [{name}]",
            kb(*raw),
            kb(*gz)
        );
    }
    let all: usize = gz + chunks.iter().map(|c| c.2).sum::<usize>();
    println!("  app and every chunk: {:.0} KB gzipped", kb(all));
    assert!(
        kb(gz) <= WASM_BUDGET_KB,
        "the wasm loaded at start is {:.1} KB gzipped, over the budget of {WASM_BUDGET_KB} KB: \
         move what the editor does not need at start into a chunk (frontend/src/chunks.rs)",
        kb(gz)
    );
}

/// The budget of the wasm the page loads at start, gzipped, in KiB. It was 400 (what the
/// editor weighed before it took the shared `api` wire types, #15); raised to 410 when the
/// compile worker's page side, open sub-pipeline tasks, the spatial index and the editor's ✎
/// took it to 408 (#18). Run, event and log decoding is in the `run` and `runs` chunks.
const WASM_BUDGET_KB: f64 = 410.0;
