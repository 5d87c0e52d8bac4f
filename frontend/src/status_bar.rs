//! The bottom bar: the last message (refusals, saves, errors) and document counts.

use leptos::prelude::*;

use crate::state::{text, use_state, StatusKind};

/// The status bar.
#[component]
pub fn StatusBar() -> impl IntoView {
    let st = use_state();
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
