//! The compile off the main thread: a dedicated module Worker runs the same wasm module as the
//! page (no second build) and compiles the document there, so editing a large pipeline never
//! blocks the page for a compile.
//!
//! - **Start**: [`serve`], called first thing by `main`, sees a worker scope (no `window`) and
//!   installs the compile handler instead of mounting the app. The page starts the worker from
//!   a small module script (a Blob URL) that imports the wasm-bindgen glue and wasm the page
//!   loaded (found from Trunk's `<link rel=modulepreload>` and `<link rel=preload as=fetch>`),
//!   buffering the messages that arrive before the wasm is initialised. The glue's chunk loader
//!   (`__wasm_split.js`) fetches chunks relative to its own URL, so it works in the worker too;
//!   the worker's compile lives in the `worker` chunk, which the page never fetches, and the
//!   page reads the answers in the `compile_answer` chunk.
//! - **Protocol**: the page sends `{rev, doc}` (the document as JSON); the worker answers
//!   `{rev, analysis, spec}`: the diagnostics and task paths as JSON ([`Answer`]) and the spec's
//!   JSON text (the Spec tab's, written in the worker), or `{rev, error}`. The JSON texts are
//!   UTF-8 bytes in transferred `Uint8Array`s, so neither side converts them to or from
//!   JavaScript strings. One request is in flight at a time: a compile asked meanwhile waits,
//!   and the answer it makes stale is dropped.
//! - **Fallback**: when a worker cannot be started (no `Worker`, no glue URL) or dies (an
//!   `error` event), the page compiles on the main thread as before (said once on the console).

use std::cell::RefCell;
use std::sync::Arc;

use js_sys::{Object, Reflect};
use leptos::prelude::WithUntracked;
use pipeline::{Diagnostic, Document};
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;
use crate::state::{now_ms, Analysis, AppState, SpecText};

/// What the worker found, sent as JSON next to the spec's text.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    /// Every problem.
    diagnostics: Vec<Diagnostic>,
    /// Node and group id → task path in the spec.
    task_paths: pipeline::map::Map<String>,
}

/// In a worker scope: installs the compile handler and returns true (the caller does not mount
/// the app). On the page: false.
pub fn serve() -> bool {
    if web_sys::window().is_some() {
        return false;
    }
    let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() else {
        return false;
    };
    let reply_to = scope.clone();
    let handler = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let data = e.data();
        let rev = get(&data, "rev").as_f64().unwrap_or(-1.0);
        let doc = bytes(&get(&data, "doc")).unwrap_or_default();
        let scope = reply_to.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let transfer = js_sys::Array::new();
            let reply = match answer(doc).await {
                Ok(Ok((analysis, spec))) => {
                    let spec = spec.map_or(JsValue::NULL, |s| to_js(s.as_bytes(), &transfer));
                    message(
                        rev,
                        &[
                            ("analysis", to_js(analysis.as_bytes(), &transfer)),
                            ("spec", spec),
                        ],
                    )
                }
                Ok(Err(e)) => message(rev, &[("error", e.into())]),
                Err(e) => message(rev, &[("error", e.to_string().into())]),
            };
            if let Err(e) = scope.post_message_with_transfer(&reply, &transfer) {
                web_sys::console::error_2(&"The compile worker could not answer:".into(), &e);
            }
        });
    });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    true
}

/// In the worker: compiles the document `text` (JSON) into the [`Answer`]'s JSON and the spec's
/// JSON text (none when the document has errors), or says why the text is no document.
#[wasm_split(worker, fallible)]
fn answer(text: Vec<u8>) -> Result<Result<(String, Option<String>), String>, Unloaded> {
    let doc = match std::str::from_utf8(&text)
        .map_err(|e| e.to_string())
        .and_then(|t| Document::from_json(t).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => return Ok(Err(format!("the page sent no document: {e}"))),
    };
    let c = pipeline::compile(&doc);
    let spec = c.spec.as_ref().map(pipeline::to_json);
    let found = Answer {
        diagnostics: c.diagnostics,
        task_paths: c.task_paths,
    };
    Ok(serde_json::to_string(&found)
        .map(|a| (a, spec))
        .map_err(|e| format!("the answer could not be written: {e}")))
}

/// `bytes` as a `Uint8Array` whose buffer is added to `transfer` (sent, not copied).
fn to_js(bytes: &[u8], transfer: &js_sys::Array) -> JsValue {
    let array = js_sys::Uint8Array::from(bytes);
    transfer.push(&array.buffer());
    array.into()
}

/// The bytes of a `Uint8Array`, if `value` is one.
fn bytes(value: &JsValue) -> Option<Vec<u8>> {
    value
        .dyn_ref::<js_sys::Uint8Array>()
        .map(js_sys::Uint8Array::to_vec)
}

/// `value[key]`, or undefined.
fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `{rev, ...fields}`.
fn message(rev: f64, fields: &[(&str, JsValue)]) -> JsValue {
    let m = Object::new();
    let _ = Reflect::set(&m, &"rev".into(), &rev.into());
    for (k, v) in fields {
        let _ = Reflect::set(&m, &JsValue::from_str(k), v);
    }
    m.into()
}

/// The page's side: the worker and the request in flight.
#[derive(Default)]
struct Client {
    /// The worker and its handlers (kept alive with it); none before the first compile.
    worker: Option<Running>,
    /// Whether the worker could not be started or died: compiles run on the main thread.
    failed: bool,
    /// The revision sent and not answered yet, and when it was sent (ms).
    in_flight: Option<(u64, f64)>,
    /// A compile asked while one was in flight: sent when that one is answered.
    waiting: bool,
}

/// A started worker.
struct Running {
    worker: web_sys::Worker,
    _on_message: Closure<dyn Fn(web_sys::MessageEvent)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

thread_local! {
    static CLIENT: RefCell<Client> = RefCell::new(Client::default());
}

/// Starts the compile worker, if it has not been (it loads while the page starts).
pub fn start(st: AppState) {
    CLIENT.with_borrow_mut(|c| {
        if c.worker.is_none() && !c.failed {
            match spawn(st) {
                Ok(w) => c.worker = Some(w),
                Err(e) => give_up(c, &e),
            }
        }
    });
}

/// Asks the worker to compile the document as revision `rev` (the answer, if still the latest,
/// becomes [`AppState::analysis`]); false if there is no worker (compile on the main thread).
pub fn request(st: AppState, rev: u64) -> bool {
    start(st);
    CLIENT.with_borrow_mut(|c| {
        if c.failed {
            return false;
        }
        if c.in_flight.is_some() {
            c.waiting = true;
            return true;
        }
        send(c, st, rev)
    })
}

/// Sends the document as `rev`; false (and the worker given up) if it could not be posted.
fn send(c: &mut Client, st: AppState, rev: u64) -> bool {
    let Some(running) = &c.worker else {
        return false;
    };
    let Some(doc) = st.doc.try_with_untracked(Document::to_json) else {
        return true; // The app is gone: nothing to compile for.
    };
    let transfer = js_sys::Array::new();
    let m = message(rev as f64, &[("doc", to_js(doc.as_bytes(), &transfer))]);
    match running.worker.post_message_with_transfer(&m, &transfer) {
        Ok(()) => {
            c.in_flight = Some((rev, now_ms()));
            true
        }
        Err(e) => {
            give_up(c, &format!("could not send it the document ({e:?})"));
            false
        }
    }
}

/// Stops using the worker (compiles run on the main thread from now on), saying why once.
fn give_up(c: &mut Client, why: &str) {
    if !c.failed {
        web_sys::console::warn_1(
            &format!("Pipeline Canvas compiles on the main thread: the compile worker {why}")
                .into(),
        );
    }
    c.failed = true;
    c.in_flight = None;
    c.waiting = false;
    if let Some(r) = c.worker.take() {
        r.worker.terminate();
    }
}

/// Creates the worker: a module script (Blob URL) importing the page's glue and wasm.
fn spawn(st: AppState) -> Result<Running, String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("has no page")?;
    let href = |selector: &str| {
        document
            .query_selector(selector)
            .ok()
            .flatten()
            .map(|e| get(&e, "href"))
            .and_then(|h| h.as_string())
            .filter(|h| !h.is_empty())
    };
    let glue = href("link[rel=modulepreload][href$='.js']")
        .ok_or("found no wasm-bindgen glue (<link rel=modulepreload>) in the page")?;
    let wasm = href("link[rel=preload][href$='.wasm']");
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let init = wasm.map_or_else(String::new, |w| {
        format!("{{ module_or_path: {} }}", quote(&w))
    });
    let source = format!(
        "const queue = [];\n\
         self.onmessage = (e) => queue.push(e);\n\
         const glue = await import({});\n\
         await glue.default({init});\n\
         // main() saw no window and put the compile handler in self.onmessage.\n\
         for (const e of queue) self.onmessage(e);\n",
        quote(&glue)
    );
    let parts = js_sys::Array::of1(&source.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| format!("could not be written ({e:?})"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("could not be written ({e:?})"))?;
    let options = web_sys::WorkerOptions::new();
    options.set_type(web_sys::WorkerType::Module);
    options.set_name("compile");
    let worker = web_sys::Worker::new_with_options(&url, &options);
    let _ = web_sys::Url::revoke_object_url(&url);
    let worker = worker.map_err(|e| format!("could not be started ({e:?})"))?;
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            answered(st, &e.data());
        });
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |e: web_sys::Event| {
        let why = get(&e, "message")
            .as_string()
            .map_or_else(|| "stopped".to_string(), |m| format!("stopped: {m}"));
        e.prevent_default();
        failed(st, &why);
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    worker.set_onmessageerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Running {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// The worker died: compile on the main thread, now if a compile was waiting for it.
fn failed(st: AppState, why: &str) {
    let pending = CLIENT.with_borrow_mut(|c| {
        let pending = c.in_flight.is_some() || c.waiting;
        give_up(c, why);
        pending
    });
    if pending {
        st.compile_now();
    }
}

/// The worker's answer `data`: the latest revision becomes the analysis; a stale one is dropped
/// and the compile that waited is sent.
fn answered(st: AppState, data: &JsValue) {
    let rev = get(data, "rev").as_f64().map_or(0, |r| r as u64);
    let (took, waiting) = CLIENT.with_borrow_mut(|c| {
        let took = c
            .in_flight
            .take()
            .filter(|(r, _)| *r == rev)
            .map(|(_, at)| now_ms() - at);
        (took, std::mem::take(&mut c.waiting))
    });
    if let Some(ms) = took {
        st.compile_took(ms);
    }
    if waiting {
        // Edits came meanwhile: this answer is stale; compile the document as it is now.
        st.compile_now();
        return;
    }
    let error = get(data, "error").as_string();
    let analysis = bytes(&get(data, "analysis"));
    let spec = bytes(&get(data, "spec"));
    wasm_bindgen_futures::spawn_local(async move {
        let read = match (error, analysis) {
            (Some(e), _) => Err(format!("failed: {e}")),
            (None, None) => Err("answered without an analysis".to_string()),
            (None, Some(a)) => read(a, spec)
                .await
                .unwrap_or_else(|e| Err(format!("answered, but {e}"))),
        };
        match read {
            Ok(analysis) => st.compiled(Analysis { rev, ..analysis }),
            Err(why) => {
                // Compile this revision on the main thread instead, and every one after it.
                CLIENT.with_borrow_mut(|c| give_up(c, &why));
                st.compile_now();
            }
        }
    });
}

/// The analysis in the worker's answer: the [`Answer`]'s JSON and the spec's JSON text, or what
/// is wrong with them. In a chunk of its own, fetched with the first answer: the start module
/// holds no decoder of diagnostics.
#[wasm_split(compile_answer, fallible)]
fn read(analysis: Vec<u8>, spec: Option<Vec<u8>>) -> Result<Result<Analysis, String>, Unloaded> {
    let unreadable =
        |e: &dyn std::fmt::Display| format!("answered what the page cannot read ({e})");
    let found = match serde_json::from_slice::<Answer>(&analysis) {
        Ok(f) => f,
        Err(e) => return Ok(Err(unreadable(&e))),
    };
    let spec = match spec.map(String::from_utf8) {
        Some(Ok(text)) => Some(SpecText::Json(Arc::from(text))),
        Some(Err(e)) => return Ok(Err(unreadable(&e))),
        None => None,
    };
    Ok(Ok(Analysis {
        spec,
        diagnostics: found.diagnostics,
        task_paths: found.task_paths,
        rev: 0,
    }))
}
