//! What the toolbar does: new, open, save, examples, download and upload.

use ::api::{IdBody, SavedPipeline};
use leptos::prelude::*;
use pipeline::{Document, OutputFormat};

use crate::api;
use crate::files;
use crate::state::{AppState, CatalogEntry, ExampleInfo};

/// The URL hash that names a saved pipeline.
pub fn hash_for(id: &str) -> String {
    format!("#/pipelines/{id}")
}

/// The saved pipeline id in a URL hash (`#/pipelines/{id}`), if any.
pub fn id_from_hash(hash: &str) -> Option<String> {
    let id = hash.strip_prefix("#/pipelines/")?.trim_end_matches('/');
    if id.is_empty() {
        return None;
    }
    if !id.contains('%') {
        return Some(id.to_string());
    }
    Some(
        js_sys::decode_uri_component(id)
            .map(String::from)
            .unwrap_or_else(|_| id.to_string()),
    )
}

fn set_hash(hash: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(hash);
    }
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Loads the palette and the examples menu.
pub fn load_catalog(st: AppState) {
    api::get(
        "/api/components".into(),
        move |r: Result<Vec<CatalogEntry>, String>| {
            match r {
                Ok(c) => st.catalog.set(c),
                Err(e) => st.error(format!("Could not load the component catalog: {e}")),
            }
            st.catalog_loaded.set(true);
        },
    );
    api::get(
        "/api/examples".into(),
        move |r: Result<Vec<ExampleInfo>, String>| match r {
            Ok(x) => st.examples.set(x),
            Err(e) => st.error(format!("Could not load the examples: {e}")),
        },
    );
}

/// Opens the saved pipeline named by the URL hash, unless it is already open.
pub fn open_from_hash(st: AppState) {
    if let Some(id) = id_from_hash(&current_hash()) {
        if st.saved_id.get_untracked().as_deref() != Some(id.as_str()) {
            open_saved(st, id);
        }
    }
}

/// Puts saved pipeline `id` (or none) in the URL hash, as the page shows it now.
pub fn show_saved_id(id: Option<&str>) {
    set_hash(&id.map(hash_for).unwrap_or_default());
}

/// Starts an empty pipeline (the one before is a step back in Undo).
pub fn new_document(st: AppState) {
    st.switch_to(Document::new("my-pipeline"), None, false);
    set_hash("");
    st.info("New pipeline (Undo brings back the one before)");
}

/// Opens a saved pipeline by id.
pub fn open_saved(st: AppState, id: String) {
    let url = format!("/api/pipelines/{}", api::encode(&id));
    api::get(url, move |r: Result<Document, String>| match r {
        Ok(doc) => {
            let name = doc.name.clone();
            st.switch_to(doc, Some(id.clone()), false);
            set_hash(&hash_for(&id));
            st.success(format!("Opened {name}"));
        }
        Err(e) => st.error(format!("Could not open pipeline {id}: {e}")),
    });
}

/// Opens an example (as a new, unsaved pipeline).
pub fn open_example(st: AppState, id: String) {
    let url = format!("/api/examples/{}", api::encode(&id));
    api::get(url, move |r: Result<Document, String>| match r {
        Ok(doc) => {
            let name = doc.name.clone();
            st.switch_to(doc, None, false);
            set_hash("");
            st.success(format!("Opened example {name} — Save keeps a copy"));
        }
        Err(e) => st.error(format!("Could not open example {id}: {e}")),
    });
}

/// Refreshes the list of saved pipelines.
pub fn refresh_saved(st: AppState) {
    api::get(
        "/api/pipelines".into(),
        move |r: Result<Vec<SavedPipeline>, String>| match r {
            Ok(list) => st.saved.set(list),
            Err(e) => st.error(format!("Could not list saved pipelines: {e}")),
        },
    );
}

/// Saves the document: created the first time, updated after.
pub fn save(st: AppState) {
    let doc = st.doc.get_untracked();
    let existing = st.saved_id.get_untracked();
    let (method, url) = match &existing {
        Some(id) => ("PUT", format!("/api/pipelines/{}", api::encode(id))),
        None => ("POST", "/api/pipelines".to_string()),
    };
    let body = doc.to_json();
    api::send(method, url, body, move |result: Result<IdBody, String>| {
        match result {
            Ok(IdBody { id }) => {
                st.saved_id.set(Some(id.clone()));
                set_hash(&hash_for(&id));
                // Edits made while the request was in flight are still unsaved.
                if st.doc.with_untracked(|d| *d == doc) {
                    st.dirty.set(false);
                }
                st.success(format!("Saved {} ({id})", doc.name));
            }
            Err(e) => st.error(format!("Save failed: {e}")),
        }
    });
}

/// Downloads the document as `<name>.pipeline.json`.
pub fn download_document(st: AppState) {
    let (name, text) = st.doc.with_untracked(|d| (d.name.clone(), d.to_json()));
    let file = format!("{}.pipeline.json", files::safe_name(&name));
    match files::download(&file, "application/json", &text) {
        Ok(()) => st.info(format!("Downloaded {file}")),
        Err(e) => st.error(format!("Download failed: {e}")),
    }
}

/// Downloads the compiled spec (the `spec` chunk writes it: its JSON writer is the IR's,
/// which the editor does not need at start).
pub fn download_spec(st: AppState, format: OutputFormat) {
    crate::chunks::run(
        st,
        "export the spec",
        crate::spec_panel::download_spec(st, format),
    );
}

/// Forgets which saved pipeline the canvas shows (after opening a file): Save creates a new one.
pub fn forget_saved_id() {
    set_hash("");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_from_hashes() {
        assert_eq!(id_from_hash("#/pipelines/abc"), Some("abc".to_string()));
        assert_eq!(id_from_hash("#/pipelines/"), None);
        assert_eq!(id_from_hash("#/other/abc"), None);
        assert_eq!(id_from_hash(""), None);
        assert_eq!(hash_for("x1"), "#/pipelines/x1");
    }
}
