//! The web server: the JSON API under `/api` and the built front end everywhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use components::CatalogEntry;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::config::{ServeConfig, USER_COMPONENTS_DIR};
use crate::store::{Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The pipeline database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The built-in component catalog is broken (a build defect).
    #[error("the built-in component catalog is broken: {0}")]
    Catalog(#[from] components::CatalogError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    /// The local engine could not start.
    #[error("the local engine cannot start: {0}")]
    Engine(#[from] crate::engine::EngineError),
    /// The remote targets could not be set up.
    #[error("the remote targets cannot be set up: {0}")]
    Targets(#[from] crate::targets::TargetError),
}

/// What request handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Saved pipelines.
    pub store: Store,
    /// The built-in palette, loaded once.
    pub builtin: Arc<[CatalogEntry]>,
    /// The folder of user component files, read on every palette request so new files show up
    /// without a restart.
    pub user_components_dir: PathBuf,
    /// The built front end; `None` (or a folder without `index.html`) serves a help page at `/`.
    pub static_dir: Option<PathBuf>,
    /// The local engine that runs pipelines.
    pub engine: crate::engine::Engine,
    /// The remote targets (Vertex AI, Kubeflow Pipelines), writing to the engine's run store.
    pub targets: crate::targets::Targets,
}

impl AppState {
    /// Opens the data folder (creating it, its database and its `components/` folder as
    /// needed) and loads the built-in catalog. No front end is served; see
    /// [`AppState::with_static_dir`].
    pub fn open(data_dir: &Path) -> Result<Self, StartError> {
        let store = Store::open(data_dir)?;
        let builtin = components::builtin()?;
        let user_components_dir = data_dir.join(USER_COMPONENTS_DIR);
        if let Err(e) = std::fs::create_dir_all(&user_components_dir) {
            tracing::warn!(
                folder = %user_components_dir.display(),
                error = %e,
                "cannot create the user components folder; only built-in components are offered"
            );
        }
        let engine = crate::engine::Engine::open(crate::engine::EngineConfig::new(data_dir))?;
        let targets = crate::targets::Targets::new(
            engine.store().clone(),
            engine.events().clone(),
            data_dir,
            crate::targets::TargetsOptions::from_env(),
        )?;
        Ok(Self {
            store,
            builtin: builtin.into(),
            user_components_dir,
            static_dir: None,
            engine,
            targets,
        })
    }

    /// Serves the front end from `dir`.
    pub fn with_static_dir(mut self, dir: PathBuf) -> Self {
        self.static_dir = Some(dir);
        self
    }
}

/// The whole application: `/api/*` plus the front end, with request tracing and panics turned
/// into 500 responses.
pub fn app(state: AppState) -> Router {
    let static_dir = state
        .static_dir
        .clone()
        .filter(|d| d.join("index.html").is_file());
    let router = Router::new().nest("/api", crate::api::router(state.clone()));
    let router = match static_dir {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router
            .route("/", get(help_page))
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") }),
    };
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

/// Binds `config.addr` and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> Result<(), StartError> {
    let mut state = AppState::open(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let local = listener.local_addr().map_err(StartError::Serve)?;
    state.engine.prewarm();
    // Remote runs that had not ended go on being followed (they are not failed, unlike
    // interrupted local runs).
    if let Err(e) = state.targets.resume().await {
        tracing::warn!(error = %e, "cannot follow the open remote runs again");
    }
    if config.static_dir.join("index.html").is_file() {
        state = state.with_static_dir(config.static_dir.clone());
    } else {
        tracing::warn!(
            folder = %std::path::absolute(&config.static_dir)
                .unwrap_or_else(|_| config.static_dir.clone())
                .display(),
            "no built front end (index.html) found; serving the API only. \
             Build the front end with `./scripts/setup` (or `trunk build --release`) \
             or pass --static-dir"
        );
    }
    tracing::info!(
        data = %config.data_dir.display(),
        database = %state.store.path().display(),
        "Pipeline Canvas listening on http://{local}/"
    );
    println!("Pipeline Canvas is running at http://{local}/");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// A handler panicked: log it and answer 500 like any internal error.
fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let details = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    crate::error::AppError::internal(format!("handler panicked: {details}")).into_response()
}

/// The page at `/` when the front end has not been built.
async fn help_page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(HELP_PAGE))
}

const HELP_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pipeline Canvas</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>Pipeline Canvas</h1>
<p>The server is running, but the front end has not been built, so there is no editor to show.</p>
<p>Build it from the repository root with</p>
<pre>./scripts/setup</pre>
<p>(or <code>trunk build --release</code>), then restart the server from the repository root, or
pass the build folder with <code>--static-dir DIR</code> (environment variable
<code>PIPELINE_CANVAS_STATIC_DIR</code>).</p>
<p>The HTTP API is available under <a href="/api/components"><code>/api/</code></a>.</p>
</body>
</html>
"#;
