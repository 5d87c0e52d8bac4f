//! The Spec tab: the compiled KFP v2 spec, recompiled in the browser on every edit. JSON is
//! written by the compile worker (`crate::compile_worker`), or here when the main thread
//! compiled; YAML by the server (`POST /api/compile?format=yaml`), as the browser build
//! leaves the YAML writer out to stay small.

use leptos::prelude::*;
use pipeline::OutputFormat;
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;
use crate::state::{AppState, SpecText};

use crate::state::{flag, text, use_state};

/// The Spec tab.
#[component]
pub fn SpecPanel() -> impl IntoView {
    let st = use_state();
    // The server's latest YAML for the document (or why there is none), and which request that
    // was: answers to older requests are dropped.
    let yaml = RwSignal::new(None::<Result<String, String>>);
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let compiles = st.analysis.with(|a| a.spec.is_some());
        if st.spec_format.get() != OutputFormat::Yaml || !compiles {
            return;
        }
        let n = asked.get_value() + 1;
        asked.set_value(n);
        let doc = st.doc.with_untracked(|d| d.to_json());
        // The answer may come after the panel has closed: then there is nothing to update.
        crate::api::send_text("POST", "/api/compile?format=yaml".into(), doc, move |r| {
            if asked.try_get_value() == Some(n) {
                yaml.try_set(Some(r));
            }
        });
    });
    let spec = Memo::new(move |_| {
        if !st.analysis.with(|a| a.spec.is_some()) {
            return None;
        }
        Some(match st.spec_format.get() {
            OutputFormat::Json => st
                .analysis
                .with(|a| a.spec.as_ref().map(json))
                .unwrap_or_default(),
            OutputFormat::Yaml => match yaml.get() {
                None => "# Writing the YAML…".to_string(),
                Some(Ok(text)) => text,
                Some(Err(e)) => format!("# The server could not write the YAML: {e}"),
            },
        })
    });
    let errors = Memo::new(move |_| st.analysis.with(|a| a.errors()));
    let size = Memo::new(move |_| spec.with(|t| t.as_ref().map_or(0, String::len)));
    let fmt_button = move |f: OutputFormat, label: &'static str| {
        view! {
            <button
                class="seg"
                class:active=flag(move || st.spec_format.get() == f)
                data-testid=format!("spec-format-{}", f.extension())
                on:click=move |_| st.spec_format.set(f)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="spec-panel">
            <div class="spec-bar">
                <div class="segmented">
                    {fmt_button(OutputFormat::Json, "JSON")}
                    {fmt_button(OutputFormat::Yaml, "YAML")}
                </div>
                <span class="muted small">
                    {text(move || {
                        let e = errors.get();
                        if e > 0 {
                            format!("{e} error{} — fix to compile", if e == 1 { "" } else { "s" })
                        } else {
                            format!("KFP v2 IR · {} KB", crate::layout::num((size.get() as f64 / 102.4).round() / 10.0))
                        }
                    })}
                </span>
            </div>
            <pre class="spec-text" class:stale=flag(move || spec.with(Option::is_none)) data-testid="spec-text" tabindex="0" aria-label="Compiled spec">
                {text(move || spec.get().unwrap_or_else(|| {
                    let e = errors.get();
                    let name = st.doc.with(|d| d.name.clone());
                    format!(
                        "// Pipeline {name} has {e} error{} (listed under Problems), so it does not compile yet.\n// Fix them and the spec appears here at once.",
                        if e == 1 { "" } else { "s" }
                    )
                }))}
            </pre>
        </div>
    }
}

/// The spec's JSON text: as the compile worker wrote it, or written here from the IR (when the
/// main thread compiled it).
fn json(spec: &SpecText) -> String {
    match spec {
        SpecText::Json(text) => text.to_string(),
        SpecText::Ir(spec) => pipeline::to_json(spec),
    }
}

/// Downloads the compiled spec as JSON (written here) or YAML (written by the server, which has
/// the YAML writer the browser build leaves out).
#[wasm_split(spec, fallible)]
pub fn download_spec(st: AppState, format: OutputFormat) -> Result<(), Unloaded> {
    let spec = st.analysis.with_untracked(|a| a.spec.as_ref().map(json));
    let Some(json) = spec else {
        let n = st.analysis.with_untracked(|a| a.errors());
        st.error(format!(
            "Cannot export the spec: the pipeline has {n} error{} (see Problems)",
            if n == 1 { "" } else { "s" }
        ));
        return Ok(());
    };
    let (name, doc) = st.doc.with_untracked(|d| (d.name.clone(), d.to_json()));
    let file = format!("{}.{}", crate::files::safe_name(&name), format.extension());
    let save = move |text: &str| match crate::files::download(&file, format.mime(), text) {
        Ok(()) => st.info(format!("Downloaded {file}")),
        Err(e) => st.error(format!("Download failed: {e}")),
    };
    match format {
        OutputFormat::Json => save(&json),
        OutputFormat::Yaml => crate::api::send_text(
            "POST",
            "/api/compile?format=yaml".to_string(),
            doc,
            move |r| match r {
                Ok(text) => save(&text),
                Err(e) => st.error(format!("Could not write the YAML: {e}")),
            },
        ),
    }
    Ok(())
}
