//! Benchmark hooks for tests/e2e/bench.mjs, using the same wasm core the editor uses:
//! - `window.pipelineCanvasBench(n)`: compiles a generated `n`-task pipeline (with nested
//!   conditions and loops) and resolves to the compile time in milliseconds;
//! - `window.pipelineCanvasImportBench(n)`: imports and lays out that pipeline's compiled spec
//!   (JSON, as a user's file would be) and resolves to the time in milliseconds;
//! - `window.pipelineCanvasLineageBench(n)`: merges, lays out and draws (as SVG text) a
//!   generated `n`-node lineage in the lineage view's chunk, and resolves to the time in
//!   milliseconds.
//!
//! Both return promises: the pipeline generator lives in a wasm chunk of its own (users never
//! need it), fetched on the first call; the import runs in the importer chunk, as a user's does.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;

use crate::state::now_ms as now;

/// The compile time of a generated `tasks`-task pipeline, in ms (-1 if it did not compile).
#[wasm_split(bench, fallible)]
fn compile_bench(tasks: u32) -> Result<f64, Unloaded> {
    let doc = pipeline::synthetic::document(tasks as usize);
    let start = now();
    let compiled = pipeline::compile(&doc);
    let elapsed = now() - start;
    // Use the result so the compile cannot be optimized away.
    if compiled.spec.is_none() && compiled.diagnostics.is_empty() {
        return Ok(-1.0);
    }
    Ok(elapsed)
}

/// The compiled spec (JSON) of a generated `tasks`-task pipeline, for the import benchmark.
#[wasm_split(bench, fallible)]
fn compiled_json(tasks: u32) -> Result<Option<String>, Unloaded> {
    let doc = pipeline::synthetic::document(tasks as usize);
    Ok(pipeline::compile(&doc).spec.map(|s| pipeline::to_json(&s)))
}

/// The import + layout time of `text`, in ms (-1 if it did not give `tasks` tasks back).
#[wasm_split(import, fallible)]
fn import_bench(text: String, tasks: u32) -> Result<f64, Unloaded> {
    let start = now();
    let imported = pipeline::import::import_pipeline(&text);
    let elapsed = now() - start;
    Ok(match imported {
        Ok(d) if d.nodes.len() == tasks as usize => elapsed,
        _ => -1.0,
    })
}

/// A bench hook's rejected promise: its chunk did not load.
fn rejection(e: Unloaded) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// Sets `window[name]` to `f`, for the life of the page.
fn set(window: &web_sys::Window, name: &str, f: Closure<dyn Fn(u32) -> js_sys::Promise>) {
    let _ = js_sys::Reflect::set(window, &JsValue::from_str(name), f.as_ref().unchecked_ref());
    f.forget();
}

/// Installs `window.pipelineCanvasBench`, `window.pipelineCanvasImportBench` and
/// `window.pipelineCanvasLineageBench`.
pub fn expose() {
    let Some(window) = web_sys::window() else {
        return;
    };
    set(
        &window,
        "pipelineCanvasBench",
        Closure::new(|tasks: u32| {
            wasm_bindgen_futures::future_to_promise(async move {
                compile_bench(tasks)
                    .await
                    .map(JsValue::from_f64)
                    .map_err(rejection)
            })
        }),
    );
    set(
        &window,
        "pipelineCanvasImportBench",
        Closure::new(|tasks: u32| {
            wasm_bindgen_futures::future_to_promise(async move {
                let ms = match compiled_json(tasks).await.map_err(rejection)? {
                    Some(text) => import_bench(text, tasks).await.map_err(rejection)?,
                    None => -1.0,
                };
                Ok(JsValue::from_f64(ms))
            })
        }),
    );
    set(
        &window,
        "pipelineCanvasLineageBench",
        Closure::new(|nodes: u32| {
            wasm_bindgen_futures::future_to_promise(async move {
                crate::lineage_view::lineage_bench(nodes)
                    .await
                    .map(JsValue::from_f64)
                    .map_err(rejection)
            })
        }),
    );
}
