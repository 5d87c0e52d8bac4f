//! Copy, cut and paste of canvas elements through the system clipboard, so they also move
//! between tabs and windows: Copy puts the selection on the clipboard as a pipeline document
//! (JSON text, see [`crate::edit::fragment`]); Paste adds such a document to the pipeline (in the
//! `tools` chunk) and opens component or pipeline YAML as a task. In form fields, and while
//! page text is selected, the browser's own copy and paste apply.

use std::cell::Cell;

use leptos::ev;
use leptos::prelude::*;
use pipeline::{Document, Point};
use wasm_bindgen::JsCast;

use crate::edit;
use crate::state::{AppState, Selection};

thread_local! {
    /// The last pointer position over the page, in client pixels (where Paste puts things).
    static POINTER: Cell<Option<(f64, f64)>> = const { Cell::new(None) };
}

/// Notes where the pointer is (called on every pointer move).
pub fn pointer_at(c: (f64, f64)) {
    POINTER.with(|p| p.set(Some(c)));
}

/// Where pasted elements go: the pointer when it is over the canvas, else the view's centre.
pub fn paste_point(st: &AppState) -> Point {
    POINTER
        .with(Cell::get)
        .filter(|c| crate::canvas::over_canvas(st, c.0, c.1))
        .and_then(|c| crate::canvas::world_from_client(st, c.0, c.1))
        .unwrap_or_else(|| crate::canvas::view_center(st))
}

/// Whether the event belongs to the browser: typing in a field, or page text selected.
fn for_the_browser(e: &web_sys::Event) -> bool {
    let in_field = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
        .is_some_and(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || el.is_content_editable()
        });
    let text_selected = web_sys::window()
        .and_then(|w| w.get_selection().ok().flatten())
        .is_some_and(|s| !s.is_collapsed());
    in_field || text_selected
}

/// The selection as clipboard text, or `None` when nothing (or only a wire) is selected.
pub fn selection_text(st: &AppState) -> Option<String> {
    let items = st.selection.with_untracked(Selection::items);
    st.doc
        .with_untracked(|d| edit::fragment(d, &items))
        .map(|d| d.to_json())
}

/// Installs the window's copy, cut and paste handlers for the app's lifetime.
pub fn install(st: AppState) {
    let copy_h = window_event_listener(ev::copy, move |e| {
        if !for_the_browser(&e) && put(&st, &e) {
            let n = st.selection.with_untracked(|s| s.items().len());
            st.info(format!(
                "Copied {n} item{} (paste here or in another tab with Ctrl+V)",
                if n == 1 { "" } else { "s" }
            ));
        }
    });
    let cut_h = window_event_listener(ev::cut, move |e| {
        if !for_the_browser(&e) && put(&st, &e) {
            st.delete_selection();
        }
    });
    let paste_h = window_event_listener(ev::paste, move |e| {
        if for_the_browser(&e) {
            return;
        }
        let Some(text) = e
            .clipboard_data()
            .and_then(|d| d.get_data("text/plain").ok())
            .filter(|t| !t.trim().is_empty())
        else {
            return;
        };
        e.prevent_default();
        paste_text(st, text, paste_point(&st));
    });
    on_cleanup(move || {
        copy_h.remove();
        cut_h.remove();
        paste_h.remove();
    });
}

/// Puts the selection on the clipboard of `e`; whether there was one.
fn put(st: &AppState, e: &web_sys::ClipboardEvent) -> bool {
    let (Some(text), Some(data)) = (selection_text(st), e.clipboard_data()) else {
        return false;
    };
    e.prevent_default();
    data.set_data("text/plain", &text).is_ok()
}

/// Pastes clipboard `text` at `at`: a pipeline document's elements join the pipeline; a
/// component or compiled pipeline (YAML or JSON) becomes a task.
pub fn paste_text(st: AppState, text: String, at: Point) {
    match Document::from_json(&text) {
        Ok(doc) => crate::tools::paste(st, doc, Some(at)),
        Err(_) => crate::import_ui::paste_text(st, text, at),
    }
}
