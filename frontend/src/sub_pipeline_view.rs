//! A sub-pipeline task opened on the canvas: the toggle in its header, and the drawing of the
//! tasks inside it ([`pipeline::layout::InnerDiagram`]) below its ports. Whether a task is open
//! is kept in the document ([`pipeline::Node::expanded`]), so it is saved, undone and laid out
//! like a position, and never compiled.

use std::sync::Arc;

use leptos::prelude::*;
use pipeline::layout::{InnerDiagram, INNER_PAD};
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;

use crate::layout;
use crate::state::{text, use_state, AppState};

/// The most characters of a task's name drawn in its box (the whole name is its tooltip).
const LABEL_CHARS: usize = 18;

/// Opens or closes sub-pipeline task `id`, as one undoable edit.
pub fn toggle(st: &AppState, id: &str) {
    st.edit(|d| {
        if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id) {
            n.expanded = !n.expanded;
        }
    });
}

/// The ▸/▾ button of a sub-pipeline task's header.
#[component]
pub fn OpenToggle(id: String, tasks: usize, expanded: Signal<bool>) -> impl IntoView {
    let st = use_state();
    let what = match tasks {
        1 => "the task".to_string(),
        n => format!("the {n} tasks"),
    };
    view! {
        <button
            class="node-open"
            data-testid=format!("node-open-{id}")
            aria-expanded=text(move || expanded.get().to_string())
            aria-label=text({
                let what = what.clone();
                move || format!("{} {what} inside", if expanded.get() { "Hide" } else { "Show" })
            })
            title=text(move || format!("{} {what} inside this sub-pipeline", if expanded.get() { "Hide" } else { "Show" }))
            // Not a drag of the node.
            on:pointerdown=|ev: web_sys::PointerEvent| ev.stop_propagation()
            on:click=move |ev: web_sys::MouseEvent| {
                ev.stop_propagation();
                toggle(&st, &id);
            }
        >
            {text(move || if expanded.get() { "▾" } else { "▸" }.to_string())}
        </button>
    }
}

/// A name cut to [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// The tasks inside an open sub-pipeline task, drawn `top` pixels below its top edge (the
/// `sub_pipeline` chunk, fetched when a task is first opened).
#[wasm_split(sub_pipeline, fallible)]
pub fn inner_view(d: Arc<InnerDiagram>, top: f64) -> Result<AnyView, Unloaded> {
    let frames = d
        .frames
        .iter()
        .map(|f| {
            view! {
                <g class="inner-frame">
                    <rect x=layout::num(f.at.x) y=layout::num(f.at.y) width=layout::num(f.size.width) height=layout::num(f.size.height) rx="4" />
                    <text x=layout::num(f.at.x + 4.0) y=layout::num(f.at.y + 11.0)>{short(&f.label)}</text>
                </g>
            }
        })
        .collect_view();
    let links = d
        .links
        .iter()
        .map(|(a, b)| view! { <path class="inner-link" d=layout::wire_path(*a, *b) /> })
        .collect_view();
    let tasks = d
        .tasks
        .iter()
        .map(|t| {
            view! {
                <g class="inner-task" class:sub=t.sub data-inner-task=t.label.clone()>
                    <title>{t.label.clone()}</title>
                    <rect x=layout::num(t.at.x) y=layout::num(t.at.y) width=layout::num(t.size.width) height=layout::num(t.size.height) rx="3" />
                    <text x=layout::num(t.at.x + 6.0) y=layout::num(t.at.y + t.size.height / 2.0 + 4.0)>{short(&t.label)}</text>
                </g>
            }
        })
        .collect_view();
    let (w, h) = (d.size.width, d.size.height);
    Ok(view! {
        <svg
            class="node-inner"
            data-testid="node-inner"
            role="img"
            aria-label=format!("{} tasks inside", d.tasks.len())
            style:left=layout::px(INNER_PAD)
            style:top=layout::px(top + INNER_PAD)
            width=layout::num(w)
            height=layout::num(h)
            viewBox=format!("0 0 {} {}", layout::num(w), layout::num(h))
        >
            {frames}
            {links}
            {tasks}
        </svg>
    }
    .into_any())
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn long_names_are_cut_with_an_ellipsis_and_short_ones_kept() {
        assert_eq!(short("train"), "train");
        assert_eq!(short("a-very-long-task-name-indeed"), "a-very-long-task-…");
        assert_eq!(short("a-very-long-task-name-indeed").chars().count(), 18);
        assert_eq!(short("ééééééééééééééééééééé").chars().count(), 18);
    }
}
