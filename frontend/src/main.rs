//! Pipeline Canvas in the browser: a visual editor for Kubeflow Pipelines v2 / Vertex AI
//! pipelines. Built with Leptos (client-side rendering) and Trunk; the pipeline core crate runs
//! in the page, so the spec and the problems list update on every edit without a server call;
//! the same wasm runs in a Web Worker that does the compiling (`compile_worker.rs`).

mod actions;
mod api;
mod app;
mod artifact_view;
mod authoring_view;
mod autosave;
mod bench;
mod canvas;
mod chunks;
mod clipboard;
mod comments;
mod compare_view;
mod compile_worker;
mod connect_field;
mod diagnostics;
mod edit;
mod endpoints_view;
mod files;
mod group_editors;
mod group_view;
mod html;
mod import_ui;
mod input_field;
mod interaction;
mod k8s_settings;
mod kubernetes_section;
mod layout;
mod lineage_graph;
mod lineage_view;
mod log_view;
mod markdown;
mod menus;
mod minimap;
mod node_view;
mod palette;
mod panic_report;
mod parameters;
mod properties;
mod resource_fields;
mod run_badge;
mod run_controls;
mod run_diff_view;
mod run_live;
mod run_model;
mod runs_page;
mod scene;
mod spatial;
mod spec_panel;
mod sse;
mod state;
mod status_bar;
mod sub_pipeline_view;
mod targets_ui;
mod task_panel;
mod toolbar;
mod tools;
mod values;
mod wire_view;

fn main() {
    panic_report::install();
    // In the compile worker (the same wasm, no page): answer compiles, mount nothing.
    if compile_worker::serve() {
        return;
    }
    bench::expose();
    leptos::mount::mount_to_body(app::App);
}
