//! Nothing lost: unsaved work is copied to the browser's storage shortly after each change and
//! brought back when the page starts again (a reload, a crash, a closed tab), and closing or
//! reloading the page with unsaved changes asks first.
//!
//! The copy goes to a slot of this tab in `localStorage`, named by the tab's id, which
//! `sessionStorage` keeps over reloads and restores with the tab: a reload finds its own slot,
//! and a new tab takes over the newest copy of a tab that is no longer open (open tabs refresh a
//! heartbeat key every few seconds). One store, written once: at 2,000 tasks the copy is
//! megabytes, and each `setItem` of it blocks the page for tens of milliseconds.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;
use pipeline::Document;
use serde::Deserialize;

use crate::state::AppState;

/// Prefix of each tab's copy in `localStorage` (then the tab id).
const SLOT_PREFIX: &str = "pipeline-canvas.autosave.";
/// This tab's id (`sessionStorage`, so it survives reloads).
const TAB_KEY: &str = "pipeline-canvas.tab";
/// Prefix of the heartbeat keys of open tabs (`localStorage`).
const ALIVE_PREFIX: &str = "pipeline-canvas.alive.";
/// How long after the last change the copy is written.
const DELAY: Duration = Duration::from_millis(400);
/// How often an open tab refreshes its heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(4);
/// A heartbeat older than this (ms) belongs to a tab that is gone.
const GONE_AFTER_MS: u64 = 12_000;

/// Milliseconds since the epoch, whole (integers format without the float formatting code).
fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// A copy of unsaved work as stored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Copy {
    /// When, in ms since the epoch.
    at: f64,
    /// The saved pipeline the document belongs to, if any.
    saved_id: Option<String>,
    /// The document.
    doc: Document,
}

/// The page's `localStorage`, if it may be used.
pub(crate) fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The tab's `sessionStorage`, if it may be used.
fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// This tab's id: kept in `sessionStorage`, made up on the tab's first start.
fn tab_id() -> String {
    let store = session();
    if let Some(id) = store
        .as_ref()
        .and_then(|s| s.get_item(TAB_KEY).ok().flatten())
    {
        return id;
    }
    let id = format!("{:x}", (js_sys::Math::random() * 1e15) as u64);
    if let Some(s) = store {
        let _ = s.set_item(TAB_KEY, &id);
    }
    id
}

/// The stored text of a copy.
fn encode(saved_id: Option<&str>, doc: &Document) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    format!(
        "{{\"at\":{},\"savedId\":{},\"doc\":{}}}",
        now(),
        saved_id.map_or_else(|| "null".to_string(), quote),
        doc.to_json()
    )
}

/// Whether the tab `tab` has refreshed its heartbeat lately.
fn alive(store: &web_sys::Storage, tab: &str) -> bool {
    store
        .get_item(&format!("{ALIVE_PREFIX}{tab}"))
        .ok()
        .flatten()
        .and_then(|t| t.parse::<u64>().ok())
        .is_some_and(|t| now().saturating_sub(t) < GONE_AFTER_MS)
}

/// The copy to bring back at start, if any: this tab's own, else the newest one left by a tab
/// that is gone (whose slot is then given up: this tab keeps the work from now on).
fn recoverable(tab: &str) -> Option<Copy> {
    let store = local()?;
    if let Some(c) = store
        .get_item(&format!("{SLOT_PREFIX}{tab}"))
        .ok()
        .flatten()
        .and_then(|text| serde_json::from_str::<Copy>(&text).ok())
    {
        return Some(c);
    }
    let keys: Vec<String> = (0..store.length().unwrap_or(0))
        .filter_map(|i| store.key(i).ok().flatten())
        .filter(|k| k.starts_with(SLOT_PREFIX))
        .collect();
    let mut best: Option<(String, Copy)> = None;
    for key in keys {
        let owner = &key[SLOT_PREFIX.len()..];
        if owner == tab || alive(&store, owner) {
            continue;
        }
        let copy = store
            .get_item(&key)
            .ok()
            .flatten()
            .and_then(|text| serde_json::from_str::<Copy>(&text).ok());
        match copy {
            Some(c) if best.as_ref().is_none_or(|(_, b)| c.at > b.at) => best = Some((key, c)),
            Some(_) => {}
            // Unreadable: nothing to recover from it.
            None => {
                let _ = store.remove_item(&key);
            }
        }
    }
    let (key, copy) = best?;
    let _ = store.remove_item(&key);
    Some(copy)
}

/// A time of day (`14:05`) in local time.
fn clock(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// Writes the copy of unsaved work to `slot` [`DELAY`] from now,
/// or later while a gesture (a drag) is under way: encoding a large pipeline takes a while and
/// must not cost the gesture a frame.
fn copy_later(
    st: AppState,
    slot: String,
    pending: StoredValue<Option<TimeoutHandle>>,
    failed: StoredValue<bool>,
) {
    let write = move || {
        pending.try_set_value(None);
        if st.drag.try_with_untracked(Option::is_some) != Some(false) {
            // Dragging (or the page is gone): try again once it is over.
            if st.drag.try_with_untracked(|_| ()).is_some() {
                copy_later(st, slot, pending, failed);
            }
            return;
        }
        let text = st
            .doc
            .with_untracked(|d| encode(st.saved_id.get_untracked().as_deref(), d));
        let kept = local().is_some_and(|s| s.set_item(&slot, &text).is_ok());
        if !kept && !failed.get_value() {
            failed.set_value(true);
            st.error(
                "Could not keep a copy of your changes in this browser (its storage is full \
                 or turned off): save to keep them",
            );
        }
    };
    if let Ok(h) = set_timeout_with_handle(write, DELAY) {
        pending.set_value(Some(h));
    }
}

/// Brings back unsaved work (before anything else opens) and keeps copying it from now on.
pub fn install(st: AppState) {
    let tab = tab_id();
    // Once the canvas exists (so the view fits the recovered pipeline).
    let tab_for_recovery = tab.clone();
    Effect::new(move |done: Option<()>| {
        if done.is_some() {
            return;
        }
        if let Some(c) = recoverable(&tab_for_recovery) {
            let name = c.doc.name.clone();
            st.switch_to(c.doc, c.saved_id.clone(), true);
            crate::actions::show_saved_id(c.saved_id.as_deref());
            st.info(format!(
                "Recovered your unsaved changes to {name} (from {}): save to keep them",
                clock(c.at)
            ));
        }
    });

    // Copy after each change, once changes pause; forget the copy once saved.
    let slot = format!("{SLOT_PREFIX}{tab}");
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let failed = StoredValue::new(false);
    Effect::new(move |_| {
        st.doc.track();
        let dirty = st.dirty.get();
        st.saved_id.track();
        if let Some(h) = pending.try_update_value(Option::take).flatten() {
            h.clear();
        }
        if !dirty {
            if let Some(s) = local() {
                let _ = s.remove_item(&slot);
            }
            return;
        }
        copy_later(st, slot.clone(), pending, failed);
    });

    // The heartbeat that tells other tabs this one is open.
    let alive_key = format!("{ALIVE_PREFIX}{tab}");
    let beat = {
        let key = alive_key.clone();
        move || {
            if let Some(s) = local() {
                let _ = s.set_item(&key, &now().to_string());
            }
        }
    };
    beat();
    if let Ok(h) = set_interval_with_handle(beat, HEARTBEAT) {
        on_cleanup(move || h.clear());
    }

    // Ask before leaving with unsaved changes; a tab that is left is no longer alive.
    let unload_h = window_event_listener(ev::beforeunload, move |e| {
        if st.dirty.get_untracked() {
            e.prevent_default();
        }
    });
    let hide_h = window_event_listener(ev::pagehide, move |_| {
        if let Some(s) = local() {
            let _ = s.remove_item(&alive_key);
        }
    });
    on_cleanup(move || {
        unload_h.remove();
        hide_h.remove();
    });
}
