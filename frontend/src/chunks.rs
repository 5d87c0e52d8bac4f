//! Wasm chunks fetched on first use. The release build is split (by `wasm-split-cli`, see
//! `scripts/split-wasm`) at the functions marked `#[wasm_split(chunk, ..)]`: the importer
//! (`import`), the Run and Runs tabs (`runs`), starting, following and cancelling a run, the
//! shown run's state in the toolbar and the run dialogs (`run`), the loop and exit-handler editors (`frames`), the Spec tab (`spec`), the editing
//! tools (`tools`: connecting a wire, paste, duplicate, align, auto-layout, the context menu and the shortcut
//! overlay), the minimap (`minimap`), the toolbar's dropdowns (`menus`), the comments on the canvas
//! (`comments`), the component editor (`authoring`), the lineage view (`lineage`) and the benchmark hooks
//! (`bench`).
//! The editor itself starts without them.
//!
//! Every split function is `fallible`: a chunk that cannot be fetched becomes a message where
//! its view or action would be (a rejected promise for the bench hooks), never a crash of the
//! whole app.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;
use wasm_split_helpers::SplitLoaderError;

use crate::state::AppState;

/// A chunk that could not be fetched (the server stopped, or the page is out of date).
#[derive(Debug)]
pub struct Unloaded(SplitLoaderError);

impl From<SplitLoaderError> for Unloaded {
    fn from(e: SplitLoaderError) -> Self {
        Unloaded(e)
    }
}

impl std::fmt::Display for Unloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "part of the app did not load from the server ({}); check that the server is \
             running, then reload the page",
            self.0
        )
    }
}

/// Shows the view a chunk gives once it has loaded, or says that it could not be loaded.
pub fn view(view: impl Future<Output = Result<AnyView, Unloaded>> + 'static) -> AnyView {
    // Boxed here, so the suspense below is compiled once rather than once per chunk view.
    boxed_view(Box::pin(view))
}

/// The view of a chunk's boxed future.
fn boxed_view(view: Pin<Box<dyn Future<Output = Result<AnyView, Unloaded>>>>) -> AnyView {
    Suspend::new(send_wrapper::SendWrapper::new(async move {
        view.await.unwrap_or_else(|e| {
            let message = format!("This panel did not load: {e}.");
            view! { <p class="muted" data-testid="chunk-error">{message}</p> }.into_any()
        })
    }))
    .into_any()
}

/// Runs an action from a chunk; if the chunk cannot be fetched, says in the status bar that
/// `what` (e.g. "start the run") could not be done.
pub fn run(
    st: AppState,
    what: &'static str,
    action: impl Future<Output = Result<(), Unloaded>> + 'static,
) {
    run_boxed(st, what, Box::pin(action));
}

/// Runs a chunk's boxed action (compiled once for every action).
fn run_boxed(
    st: AppState,
    what: &'static str,
    action: Pin<Box<dyn Future<Output = Result<(), Unloaded>>>>,
) {
    leptos::task::spawn_local(async move {
        if let Err(e) = action.await {
            st.error(format!("Could not {what}: {e}"));
        }
    });
}
