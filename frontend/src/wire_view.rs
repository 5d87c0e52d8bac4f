//! Wires: SVG curves from an output port to an input port, and the one being drawn. A wire
//! follows the position signals of its two nodes, so it moves with them during a drag.

use leptos::prelude::*;
use pipeline::{Diagnostic, Point};

use crate::canvas::Lod;
use crate::layout;
use crate::node_view::messages;
use crate::scene::WireSlot;
use crate::state::{flag, text, use_state, AppState, Drag, Selection};

/// Where a wire ends at port `port` of node `node` (an output when `out`), following the
/// node's signals.
fn anchor(st: &AppState, node: &str, port: &str, out: bool) -> Option<Point> {
    let slot = st.scene.node(node)?;
    let p = slot.pos.get();
    let a = slot.shape.with(|s| {
        let s = s.as_ref()?;
        if out {
            s.out_anchor(port, slot.expanded.get())
        } else {
            s.in_anchor(port)
        }
    })?;
    Some(Point {
        x: p.x + a.x,
        y: p.y + a.y,
    })
}

/// One wire.
#[component]
pub fn WireView(id: String) -> impl IntoView {
    let st = use_state();
    let Some(WireSlot { wire, diags }) = st.scene.wire(&id) else {
        return ().into_any();
    };
    let lod = use_context::<Memo<Lod>>().unwrap_or_else(|| Memo::new(|_| Lod::Full));
    let path = {
        let wire = wire.clone();
        Memo::new(move |_| {
            let (from, to) = wire.with(|w| (w.from.clone(), w.to.clone()));
            let a = anchor(&st, &from.node, &from.port, true)?;
            let b = anchor(&st, &to.node, &to.port, false)?;
            Some(layout::wire_path(a, b))
        })
    };
    let label = Memo::new(move |_| {
        let (from, to) = wire.with(|w| (w.from.clone(), w.to.clone()));
        let name = |n: &str| {
            st.scene
                .node(n)
                .map_or(n.to_string(), |s| s.node.with(|x| x.name.clone()))
        };
        format!(
            "{}.{} → {}.{}",
            name(&from.node),
            from.port,
            name(&to.node),
            to.port
        )
    });
    let errors = Memo::new(move |_| diags.with(|d| messages(d, Diagnostic::is_error)));
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
    let full = Memo::new(move |_| lod.get() == Lod::Full);
    view! {
        <g
            class="wire"
            class:selected=flag(move || selected.get())
            class:has-error=flag(move || errors.with(|e| !e.is_empty()))
            data-testid=format!("wire-{id}")
            data-wire-id=id.clone()
            on:pointerdown=on_pointerdown
        >
            <Show when=move || full.get()>
                <title>
                    {text(move || {
                        let e = errors.get();
                        if e.is_empty() { label.get() } else { format!("{}\n{e}", label.get()) }
                    })}
                </title>
                <path class="wire-hit" d=d />
            </Show>
            <path class="wire-line" d=d />
        </g>
    }
    .into_any()
}

/// The wire following the pointer while one is drawn.
#[component]
pub fn WirePreview() -> impl IntoView {
    let st = use_state();
    let path = Memo::new(move |_| {
        st.drag.with(|d| match d {
            Some(Drag::Wire { from, cursor, .. }) => {
                let a = anchor(&st, &from.node, &from.port, true)?;
                Some(layout::wire_path(a, *cursor))
            }
            _ => None,
        })
    });
    move || {
        path.get()
            .map(|d| view! { <path class="wire-preview" d=d /> })
    }
}
