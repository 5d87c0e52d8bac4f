//! The bottom bar: the last message (refusals, saves, errors), the console link of the remote
//! run shown, and document counts.

use leptos::prelude::*;

use crate::state::{text, use_state, StatusKind};

/// The status bar.
#[component]
pub fn StatusBar() -> impl IntoView {
    let st = use_state();
    let ctx = crate::run_live::use_runs();
    let console = move || {
        ctx.run.with(|r| {
            r.as_ref()
                .map(|r| {
                    crate::targets_ui::console_link_html(
                        r.summary.target.as_deref(),
                        r.summary.console_link.as_deref(),
                        "status-console-link",
                    )
                })
                .unwrap_or_default()
        })
    };
    let counts = Memo::new(move |_| {
        st.doc
            .with(|d| (d.nodes.len(), d.wires.len(), d.groups.len()))
    });
    let kind = move || {
        st.status.with(|s| match s.as_ref().map(|s| s.kind) {
            Some(StatusKind::Error) => "error",
            Some(StatusKind::Success) => "success",
            _ => "info",
        })
    };
    view! {
        <footer class="statusbar">
            // Re-created per message so the flash animation replays.
            {move || {
                let s = st.status.get();
                let text = s.as_ref().map(|s| s.text.clone()).unwrap_or_else(|| "Ready".to_string());
                let seq = s.as_ref().map_or(0, |s| s.seq);
                view! {
                    <div class=format!("status {}", kind()) data-testid="status" data-kind=kind() data-seq=seq role="status">
                        {text}
                    </div>
                }
            }}
            <span class="status-link" inner_html=console></span>
            <div class="spacer"></div>
            <div class="counts muted">
                {text(move || {
                    let (n, w, g) = counts.get();
                    format!("{n} task{} · {w} wire{} · {g} frame{}", s(n), s(w), s(g))
                })}
            </div>
        </footer>
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
