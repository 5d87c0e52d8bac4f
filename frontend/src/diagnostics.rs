//! The list of problems found in the document; clicking one selects what it is about.

use leptos::prelude::*;
use pipeline::{Diagnostic, Severity};

use crate::state::{flag, text, use_state, Selection, Tab};

/// The problems list.
#[component]
pub fn Diagnostics() -> impl IntoView {
    let st = use_state();
    let summary = Memo::new(move |_| st.analysis.with(|a| (a.errors(), a.warnings())));
    let items = Memo::new(move |_| st.analysis.with(|a| a.diagnostics.clone()));
    let open = RwSignal::new(true);
    view! {
        <div class="diagnostics" class:collapsed=flag(move || !open.get())>
            <button class="diag-head" data-testid="diagnostics-toggle" on:click=move |_| open.update(|o| *o = !*o)>
                <span class="diag-caret">{text(move || if open.get() { "▾" } else { "▸" }.to_string())}</span>
                "Problems"
                <span class="diag-summary" data-testid="diagnostics-summary">
                    <Show when=move || st.compiling.get()>
                        <span class="muted small">"checking… "</span>
                    </Show>
                    {move || {
                        let (e, w) = summary.get();
                        match (e, w) {
                            (0, 0) => view! { <span class="ok">"✓ no problems"</span> }.into_any(),
                            _ => view! {
                                <span class="count err" class:zero=e == 0>{format!("{e} error{}", if e == 1 { "" } else { "s" })}</span>
                                <span class="count warn" class:zero=w == 0>{format!("{w} warning{}", if w == 1 { "" } else { "s" })}</span>
                            }
                            .into_any(),
                        }
                    }}
                </span>
            </button>
            <ul
                class="diag-list"
                class:pending=flag(move || st.compiling.get())
                data-testid="diagnostics"
                data-count=text(move || items.with(Vec::len).to_string())
                data-rev=text(move || st.analysis.with(|a| a.rev).to_string())
                data-pending=text(move || st.compiling.get().to_string())
            >
                {move || {
                    items
                        .get()
                        .into_iter()
                        .map(|d| view! { <DiagnosticItem d=d /> })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

/// Where a diagnostic points, in words (`train.model`, `condition Big model`).
fn location(st: &crate::state::AppState, d: &Diagnostic) -> String {
    st.doc.with_untracked(|doc| d.location(doc))
}

#[component]
fn DiagnosticItem(d: Diagnostic) -> impl IntoView {
    let st = use_state();
    let loc = location(&st, &d);
    let target = if let Some(n) = &d.node {
        Some(Selection::Node(n.clone()))
    } else if let Some(w) = &d.wire {
        Some(Selection::Wire(w.clone()))
    } else {
        d.group.clone().map(Selection::Group)
    };
    let to_pipeline = target.is_none() && d.parameter.is_some();
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let on_click = move |_| {
        if let Some(t) = &target {
            st.select(t.clone());
        } else if to_pipeline {
            st.tab.set(Tab::Pipeline);
        }
    };
    view! {
        <li class=format!("diag {sev}") data-severity=sev on:click=on_click>
            <span class="diag-icon">{if sev == "error" { "●" } else { "▲" }}</span>
            <span class="diag-body">
                {(!loc.is_empty()).then(|| view! { <span class="diag-loc">{loc}</span> })}
                <span class="diag-msg">{d.message.clone()}</span>
            </span>
        </li>
    }
}
