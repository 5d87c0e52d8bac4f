//! Wires: SVG curves from an output port to an input port, and the one being drawn.

use leptos::prelude::*;

use crate::layout;
use crate::node_view::messages;
use crate::state::{flag, text, use_state, Drag, Selection};

/// One wire.
#[component]
pub fn WireView(id: String) -> impl IntoView {
    let st = use_state();
    let path = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                let w = d.wires.iter().find(|w| w.id == id)?;
                let a = layout::output_anchor(d, d.node(&w.from.node)?, &w.from.port)?;
                let b = layout::input_anchor(d, d.node(&w.to.node)?, &w.to.port)?;
                Some(layout::wire_path(a, b))
            })
        })
    };
    let label = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                d.wires
                    .iter()
                    .find(|w| w.id == id)
                    .map(|w| {
                        let name = |n: &str| d.node(n).map_or(n.to_string(), |n| n.name.clone());
                        format!(
                            "{}.{} → {}.{}",
                            name(&w.from.node),
                            w.from.port,
                            name(&w.to.node),
                            w.to.port
                        )
                    })
                    .unwrap_or_default()
            })
        })
    };
    let errors = {
        let id = id.clone();
        Memo::new(move |_| {
            st.analysis.with(|a| {
                messages(&a.diagnostics, |d| {
                    d.is_error() && d.wire.as_deref() == Some(id.as_str())
                })
            })
        })
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| {
            st.selection
                .with(|s| matches!(s, Selection::Wire(x) if *x == id))
        })
    };
    let d = text(move || path.get().unwrap_or_default());
    let on_pointerdown = {
        let id = id.clone();
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            st.select(Selection::Wire(id.clone()));
        }
    };
    view! {
        <g
            class="wire"
            class:selected=flag(move || selected.get())
            class:has-error=flag(move || errors.with(|e| !e.is_empty()))
            data-testid=format!("wire-{id}")
            data-wire-id=id.clone()
            on:pointerdown=on_pointerdown
        >
            <title>
                {text(move || {
                    let e = errors.get();
                    if e.is_empty() { label.get() } else { format!("{}\n{e}", label.get()) }
                })}
            </title>
            <path class="wire-hit" d=d />
            <path class="wire-line" d=d />
        </g>
    }
}

/// The wire following the pointer while one is drawn.
#[component]
pub fn WirePreview() -> impl IntoView {
    let st = use_state();
    let path = Memo::new(move |_| {
        st.drag.with(|d| match d {
            Some(Drag::Wire { from, cursor, .. }) => st.doc.with_untracked(|doc| {
                let a = layout::output_anchor(doc, doc.node(&from.node)?, &from.port)?;
                Some(layout::wire_path(a, *cursor))
            }),
            _ => None,
        })
    });
    move || {
        path.get()
            .map(|d| view! { <path class="wire-preview" d=d /> })
    }
}
