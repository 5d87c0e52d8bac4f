//! Benchmark hooks for tests/e2e/bench.mjs, using the same wasm core the editor uses:
//! - `window.pipelineCanvasBench(n)`: compiles a generated `n`-task pipeline (with nested
//!   conditions and loops) and returns the compile time in milliseconds;
//! - `window.pipelineCanvasImportBench(n)`: imports and lays out that pipeline's compiled spec
//!   (JSON, as a user's file would be) and returns the time in milliseconds.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds from the page's high-resolution clock.
fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// Installs `window.pipelineCanvasBench`.
pub fn expose() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let bench = Closure::<dyn Fn(u32) -> f64>::new(|tasks: u32| {
        let doc = pipeline::synthetic::document(tasks as usize);
        let start = now();
        let compiled = pipeline::compile(&doc);
        let elapsed = now() - start;
        // Use the result so the compile cannot be optimized away.
        if compiled.spec.is_none() && compiled.diagnostics.is_empty() {
            return -1.0;
        }
        elapsed
    });
    let _ = js_sys::Reflect::set(
        &window,
        &JsValue::from_str("pipelineCanvasBench"),
        bench.as_ref().unchecked_ref(),
    );
    // Lives as long as the page.
    bench.forget();
    let import = Closure::<dyn Fn(u32) -> f64>::new(|tasks: u32| {
        let doc = pipeline::synthetic::document(tasks as usize);
        let Some(spec) = pipeline::compile(&doc).spec else {
            return -1.0;
        };
        let text = pipeline::to_json(&spec);
        let start = now();
        let imported = pipeline::import::import_pipeline(&text);
        let elapsed = now() - start;
        match imported {
            Ok(d) if d.nodes.len() == tasks as usize => elapsed,
            _ => -1.0,
        }
    });
    let _ = js_sys::Reflect::set(
        &window,
        &JsValue::from_str("pipelineCanvasImportBench"),
        import.as_ref().unchecked_ref(),
    );
    import.forget();
}
