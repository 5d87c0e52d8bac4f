//! Comments on the canvas (the `comments` chunk, fetched once the document has one): Markdown
//! notes, free or attached to a task, which they move with. A note is written in place
//! (double-click it, press Enter on it, or ✎; leaving the field or Ctrl+Enter keeps the text,
//! Escape drops the change), moved by its bar, and removed by ✕ or Delete. Each of these is one
//! document change, so one Undo step; nothing of a note goes into the compiled spec.

use leptos::html::Textarea;
use leptos::prelude::*;
use pipeline::{Comment, Point};
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;
use crate::layout;
use crate::state::{text, AppState};

/// The comments of the document, drawn in the canvas's world.
#[wasm_split(comments, fallible)]
pub fn comments_layer(st: AppState) -> Result<AnyView, Unloaded> {
    let ids = Memo::new(move |_| {
        st.doc
            .with(|d| d.comments.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
    });
    Ok(view! {
        <For each=move || ids.get() key=|id| id.clone() children=move |id| comment_view(st, id) />
    }
    .into_any())
}

/// Changes the comment `id` of the document (one Undo step).
fn change(st: AppState, id: &str, f: impl FnOnce(&mut Comment)) {
    st.edit(|d| {
        if let Some(c) = d.comments.iter_mut().find(|c| c.id == id) {
            f(c);
        }
    });
}

fn remove(st: AppState, id: &str) {
    st.edit(|d| d.comments.retain(|c| c.id != id));
    st.info("Comment deleted (Ctrl+Z brings it back)");
}

fn comment_view(st: AppState, id: String) -> AnyView {
    let comment = Memo::new({
        let id = id.clone();
        move |_| {
            st.doc
                .with(|d| d.comments.iter().find(|c| c.id == id).cloned())
        }
    });
    // The task it is attached to: its id and name.
    let task = Memo::new(move |_| {
        let node = comment.with(|c| c.as_ref().and_then(|c| c.node.clone()))?;
        let name = st.doc.with(|d| {
            d.nodes
                .iter()
                .find(|n| n.id == node)
                .map(|n| n.name.clone())
        })?;
        Some((node, name))
    });
    // A move under way: where the pointer went down (client) and the offset (canvas units).
    let moving = RwSignal::new(None::<((f64, f64), (f64, f64))>);
    let editing = RwSignal::new(st.comment_edit.get_untracked().as_deref() == Some(id.as_str()));
    if editing.get_untracked() {
        st.comment_edit.set(None);
    }
    let field = NodeRef::<Textarea>::new();
    // Escape: the change is dropped, so leaving the field must not keep it.
    let dropped = StoredValue::new(false);
    Effect::new(move |_| {
        if editing.get() {
            dropped.set_value(false);
            if let Some(el) = field.get() {
                let _ = el.focus();
            }
        }
    });
    let corner = move || {
        let c = comment.get()?;
        let base = task
            .with(|t| t.as_ref().and_then(|(n, _)| st.scene.node(n)))
            .map(|slot| slot.pos.get())
            .unwrap_or_default();
        let (dx, dy) = moving.get().map_or((0.0, 0.0), |m| m.1);
        Some(Point {
            x: base.x + c.position.x + dx,
            y: base.y + c.position.y + dy,
        })
    };
    // The id, as a copyable handle for the handlers below.
    let sid = StoredValue::new(id.clone());
    // Leaving the field keeps the text. It may be left because the note is going away (the
    // document was replaced): then there is nothing to keep it in.
    let keep = move |value: String| {
        editing.try_set(false);
        if dropped.try_get_value() != Some(false) {
            dropped.try_set_value(false);
            return;
        }
        let changed = comment
            .try_with_untracked(|c| c.as_ref().is_some_and(|c| c.text != value))
            .unwrap_or(false);
        if let Some(id) = sid.try_get_value().filter(|_| changed) {
            change(st, &id, |c| c.text = value);
        }
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        use wasm_bindgen::JsCast as _;
        let on_button = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| el.closest("button").ok().flatten().is_some());
        if on_button || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        if let Some(el) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        let c = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        moving.set(Some((c, (0.0, 0.0))));
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        let Some((start, _)) = moving.get_untracked() else {
            return;
        };
        let zoom = st.viewport.get_untracked().zoom;
        let d = (
            (f64::from(ev.client_x()) - start.0) / zoom,
            (f64::from(ev.client_y()) - start.1) / zoom,
        );
        moving.set(Some((start, d)));
    };
    let on_up = move |_: web_sys::PointerEvent| {
        let Some((_, (dx, dy))) = moving.get_untracked() else {
            return;
        };
        if dx != 0.0 || dy != 0.0 {
            sid.with_value(|id| {
                change(st, id, |c| {
                    c.position.x = (c.position.x + dx).round();
                    c.position.y = (c.position.y + dy).round();
                })
            });
        }
        moving.set(None);
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if editing.get_untracked() {
            return;
        }
        match ev.key().as_str() {
            "Enter" => {
                ev.prevent_default();
                editing.set(true);
            }
            "Delete" | "Backspace" => sid.with_value(|id| remove(st, id)),
            _ => return,
        }
        // Not the canvas's: Delete would remove the selected tasks.
        ev.stop_propagation();
    };
    let label = move || match task.get() {
        Some((_, name)) => format!("Comment on {name}"),
        None => "Comment".to_string(),
    };
    view! {
        <div
            class="comment"
            class:attached=move || task.with(Option::is_some)
            data-testid=format!("comment-{id}")
            style:left=text(move || corner().map(|p| layout::px(p.x)).unwrap_or_default())
            style:top=text(move || corner().map(|p| layout::px(p.y)).unwrap_or_default())
            style:width=text(move || comment.with(|c| c.as_ref().map(|c| layout::px(c.width)).unwrap_or_default()))
            on:pointerdown=|ev| ev.stop_propagation()
            on:dblclick=move |ev| {
                ev.stop_propagation();
                editing.set(true);
            }
        >
            <div class="comment-bar" on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up>
                <span class="comment-label">{label}</span>
                <button title="Write (Enter)" aria-label="Edit the comment" data-testid=format!("comment-edit-{id}")
                    on:click=move |_| editing.set(true)>"✎"</button>
                <button title="Delete (Delete)" aria-label="Delete the comment" data-testid=format!("comment-delete-{id}")
                    on:click=move |_| sid.with_value(|id| remove(st, id))>"✕"</button>
            </div>
            {move || if editing.get() {
                let value = comment.with_untracked(|c| c.as_ref().map(|c| c.text.clone()).unwrap_or_default());
                view! {
                    <textarea
                        node_ref=field
                        class="comment-text"
                        rows="4"
                        aria-label="Comment (Markdown)"
                        data-testid="comment-text"
                        prop:value=value
                        on:blur=move |ev| keep(event_target_value(&ev))
                        on:keydown=move |ev: web_sys::KeyboardEvent| {
                            if ev.key() == "Escape" {
                                dropped.set_value(true);
                                ev.stop_propagation();
                                editing.set(false);
                            } else if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                                keep(event_target_value(&ev));
                            }
                        }
                    ></textarea>
                }.into_any()
            } else {
                let html = comment.with(|c| {
                    c.as_ref()
                        .filter(|c| !c.text.trim().is_empty())
                        .map(|c| crate::markdown::to_html(&c.text))
                        .unwrap_or_else(|| "<p class=\"muted\">Empty: double-click to write.</p>".into())
                });
                view! {
                    <div class="comment-body" tabindex="0" role="note" aria-label="Comment"
                        data-testid="comment-body" on:keydown=on_key inner_html=html></div>
                }.into_any()
            }}
        </div>
    }
    .into_any()
}
