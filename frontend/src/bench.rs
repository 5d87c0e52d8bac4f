//! `window.pipelineCanvasBench(n)`: compiles a generated `n`-task pipeline with the same wasm core
//! the editor uses and returns the compile time in milliseconds (for tests/e2e/bench.mjs).

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
}
