//! The top bar: document title and the New / Examples / Open / Save / import / export actions.

use leptos::prelude::*;
use pipeline::OutputFormat;
use wasm_bindgen::JsCast;

use crate::actions;
use crate::state::{flag, text, use_state, Selection};

/// Which dropdown is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Menu {
    /// The examples.
    Examples,
    /// The saved pipelines.
    Open,
    /// Import from a URL.
    Url,
}

/// The toolbar.
#[component]
pub fn Toolbar() -> impl IntoView {
    let st = use_state();
    let menu = RwSignal::new(None::<Menu>);
    let upload_ref = NodeRef::<leptos::html::Input>::new();
    let has_errors = Memo::new(move |_| st.analysis.with(|a| a.errors() > 0));
    let toggle = move |m: Menu| {
        let open = menu.get_untracked() == Some(m);
        menu.set((!open).then_some(m));
    };
    // The menus' contents are the `menus` chunk (`menus.rs`), fetched when one first opens.
    let shown = move |m: Menu| {
        (menu.get() == Some(m)).then(|| crate::chunks::view(crate::menus::menu(st, m, menu)))
    };
    let on_upload = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            crate::import_ui::open_file(st, file);
        }
        // Picking the same file again should load it again.
        input.set_value("");
    };
    view! {
        <header class="toolbar">
            <div class="brand">
                <span class="logo" aria-hidden="true"></span>
                <span class="brand-name">"Pipeline Canvas"</span>
            </div>
            <div class="doc-title" data-testid="doc-title">
                <span class="mono">{text(move || st.doc.with(|d| d.name.clone()))}</span>
                <span class="saved-state" data-testid="save-state">
                    {text(move || match (st.saved_id.get(), st.dirty.get()) {
                        (_, true) => "● unsaved changes".to_string(),
                        (Some(_), false) => "saved".to_string(),
                        (None, false) => "not saved".to_string(),
                    })}
                </span>
            </div>
            <div class="tool-group">
                <button data-testid="btn-new" title="Start an empty pipeline" on:click=move |_| actions::new_document(st)>"New"</button>
                <div class="menu-anchor">
                    <button
                        data-testid="btn-examples"
                        class:active=flag(move || menu.get() == Some(Menu::Examples))
                        on:click=move |_| toggle(Menu::Examples)
                    >
                        "Examples ▾"
                    </button>
                    {move || shown(Menu::Examples)}
                </div>
                <div class="menu-anchor">
                    <button
                        data-testid="btn-open"
                        class:active=flag(move || menu.get() == Some(Menu::Open))
                        on:click=move |_| toggle(Menu::Open)
                    >
                        "Open ▾"
                    </button>
                    {move || shown(Menu::Open)}
                </div>
                <button class="primary" data-testid="btn-save" title="Save (Ctrl+S)" on:click=move |_| actions::save(st)>"Save"</button>
            </div>
            <div class="tool-group">
                <button data-testid="btn-undo" title="Undo (Ctrl+Z)" disabled=flag(move || st.undo.with(Vec::is_empty)) on:click=move |_| st.undo()>"↶"</button>
                <button data-testid="btn-redo" title="Redo (Ctrl+Shift+Z)" disabled=flag(move || st.redo.with(Vec::is_empty)) on:click=move |_| st.redo()>"↷"</button>
                <button
                    data-testid="btn-delete"
                    title="Delete the selection (Delete)"
                    disabled=flag(move || st.selection.with(|s| *s == Selection::None))
                    on:click=move |_| st.delete_selection()
                >
                    "Delete"
                </button>
            </div>
            <crate::run_controls::RunControls />
            <div class="spacer"></div>
            <div class="tool-group">
                <button data-testid="btn-upload" title="Open a pipeline document, a compiled KFP pipeline (YAML/JSON) or a component YAML" on:click=move |_| {
                    if let Some(input) = upload_ref.get() {
                        input.click();
                    }
                }>"Open file"</button>
                <div class="menu-anchor">
                    <button
                        data-testid="btn-import-url"
                        title="Import a pipeline or component YAML from a URL"
                        class:active=flag(move || menu.get() == Some(Menu::Url))
                        on:click=move |_| toggle(Menu::Url)
                    >
                        "Import URL ▾"
                    </button>
                    {move || shown(Menu::Url)}
                </div>
                <input
                    type="file"
                    accept=".json,.yaml,.yml,application/json,application/yaml"
                    class="hidden"
                    data-testid="input-upload"
                    node_ref=upload_ref
                    on:change=on_upload
                />
                <button data-testid="btn-download-doc" title="Download the document (.pipeline.json)" on:click=move |_| actions::download_document(st)>"Download"</button>
            </div>
            <div class="tool-group export">
                <span class="tool-label">"Export spec"</span>
                <button
                    data-testid="btn-download-json"
                    class:blocked=flag(move || has_errors.get())
                    title=text(move || if has_errors.get() { "Fix the errors first" } else { "Download the compiled spec as JSON" }.to_string())
                    on:click=move |_| actions::download_spec(st, OutputFormat::Json)
                >
                    "JSON"
                </button>
                <button
                    data-testid="btn-download-yaml"
                    class:blocked=flag(move || has_errors.get())
                    title=text(move || if has_errors.get() { "Fix the errors first" } else { "Download the compiled spec as YAML" }.to_string())
                    on:click=move |_| actions::download_spec(st, OutputFormat::Yaml)
                >
                    "YAML"
                </button>
            </div>
            <Show when=move || menu.get().is_some()>
                <div class="menu-backdrop" on:click=move |_| menu.set(None)></div>
            </Show>
        </header>
    }
}
