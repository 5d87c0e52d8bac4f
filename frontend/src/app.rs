//! The application shell: toolbar, palette, canvas, side panel and status bar.

use leptos::ev;
use leptos::prelude::*;
use wasm_split_helpers::wasm_split;

use crate::actions;
use crate::canvas::Canvas;
use crate::chunks::{self, Unloaded};
use crate::diagnostics::Diagnostics;
use crate::interaction;
use crate::palette::Palette;
use crate::properties::PropertiesPanel;
use crate::spec_panel::SpecPanel;
use crate::state::{flag, text, AppState, Tab};
use crate::status_bar::StatusBar;
use crate::toolbar::Toolbar;

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let st = AppState::new();
    provide_context(st);
    crate::run_live::RunCtx::install(st);
    interaction::install(st);
    crate::autosave::install(st);
    crate::clipboard::install(st);
    actions::load_catalog(st);
    let hash_h = window_event_listener(ev::hashchange, move |_| actions::open_from_hash(st));
    on_cleanup(move || hash_h.remove());
    // Open the pipeline named in the URL once the canvas exists (so the view can fit it).
    Effect::new(move |_| actions::open_from_hash(st));
    view! {
        <div class="app">
            <Toolbar />
            <div class="main">
                <Palette />
                <main class="canvas-main">
                    <Canvas />
                </main>
                <SidePanel />
            </div>
            <StatusBar />
        </div>
    }
}

/// The right-hand panel: tabs over Properties / Pipeline / Spec, problems beneath.
#[component]
fn SidePanel() -> impl IntoView {
    let st = crate::state::use_state();
    // The open tab, changed only by a different one: selecting a task sets the Properties tab
    // on every press, which must not build the panel again (nor cost a drag its first frames).
    let tab = Memo::new(move |_| st.tab.get());
    let tab_button = move |t: Tab, label: &'static str, testid: &'static str| {
        view! {
            <button
                class="tab"
                role="tab"
                class:active=flag(move || tab.get() == t)
                aria-selected=text(move || (tab.get() == t).to_string())
                data-testid=testid
                on:click=move |_| st.tab.set(t)
            >
                {label}
            </button>
        }
    };
    view! {
        <aside class="side" aria-label="Task and pipeline details">
            <nav class="tabs" role="tablist">
                {tab_button(Tab::Properties, "Properties", "tab-properties")}
                {tab_button(Tab::Pipeline, "Pipeline", "tab-pipeline")}
                {tab_button(Tab::Spec, "Spec", "tab-spec")}
                {tab_button(Tab::Run, "Run", "tab-run")}
                {tab_button(Tab::Runs, "Runs", "tab-runs")}
            </nav>
            <div class="tab-body">
                {move || match tab.get() {
                    Tab::Properties => view! { <PropertiesPanel /> }.into_any(),
                    Tab::Pipeline => chunks::view(crate::properties::pipeline_panel()),
                    Tab::Spec => chunks::view(spec_tab()),
                    Tab::Run => chunks::view(run_tab()),
                    Tab::Runs => chunks::view(runs_tab()),
                }}
            </div>
            <Diagnostics />
        </aside>
    }
}

// The Run and Runs tabs (task details, logs, artifacts, run history) are the `runs` chunk,
// fetched the first time either tab opens.

/// The Spec tab's panel, from the `spec` chunk (fetched the first time the tab opens).
#[wasm_split(spec, fallible)]
fn spec_tab() -> Result<AnyView, Unloaded> {
    Ok(view! { <SpecPanel /> }.into_any())
}

/// The Run tab's panel, from the runs chunk.
#[wasm_split(runs, fallible)]
fn run_tab() -> Result<AnyView, Unloaded> {
    Ok(view! { <crate::task_panel::TaskPanel /> }.into_any())
}

/// The Runs tab's panel, from the runs chunk.
#[wasm_split(runs, fallible)]
fn runs_tab() -> Result<AnyView, Unloaded> {
    Ok(view! { <crate::runs_page::RunsPage /> }.into_any())
}
