//! The Spec tab: the compiled KFP v2 spec, recompiled in the browser on every edit.

use leptos::prelude::*;
use pipeline::OutputFormat;

use crate::state::{flag, text, use_state};

/// The Spec tab.
#[component]
pub fn SpecPanel() -> impl IntoView {
    let st = use_state();
    let spec = Memo::new(move |_| {
        let format = st.spec_format.get();
        st.analysis
            .with(|a| a.spec.as_ref().map(|s| format.write(s)))
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
            <pre class="spec-text" class:stale=flag(move || spec.with(Option::is_none)) data-testid="spec-text">
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
