//! Pipeline Canvas in the browser: a visual editor for Kubeflow Pipelines v2 / Vertex AI
//! pipelines. Built with Leptos (client-side rendering) and Trunk; the pipeline core crate runs
//! in the page, so the spec and the problems list update on every edit without a server call.

mod actions;
mod api;
mod app;
mod bench;
mod canvas;
mod diagnostics;
mod edit;
mod files;
mod group_view;
mod input_field;
mod interaction;
mod layout;
mod node_view;
mod palette;
mod parameters;
mod properties;
mod spec_panel;
mod state;
mod status_bar;
mod toolbar;
mod values;
mod wire_view;

fn main() {
    bench::expose();
    leptos::mount::mount_to_body(app::App);
}
