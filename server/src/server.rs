//! The web server: the JSON API under `/api` and the built front end everywhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use components::CatalogEntry;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::config::{ServeConfig, SERVER_FILE, TOKEN_FILE, USER_COMPONENTS_DIR};
use crate::guard::{Guard, GuardConfig, GuardError};
use runs::{PipelineStore as Store, StoreError};

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
    Engine(#[from] engine::EngineError),
    /// The remote targets could not be set up.
    #[error("the remote targets cannot be set up: {0}")]
    Targets(#[from] targets::TargetError),
    /// The request guard could not be set up (a bad token or host name).
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The token file or the server file could not be written.
    #[error("cannot write {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
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
    pub engine: engine::Engine,
    /// The remote targets (Vertex AI, Kubeflow Pipelines), writing to the engine's run store.
    pub targets: targets::Targets,
    /// Who may call the API (see [`crate::guard`]).
    pub guard: Guard,
    /// Set when the server stops: event streams end at once.
    pub shutdown: Shutdown,
}

/// The server's "stopping" flag, which long-lived answers (event streams, followed logs)
/// watch so that a stopping server is not held open by them.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Shutdown {
    /// Marks the server as stopping.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once the server is stopping (at once if it already is).
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        // Fails only when the sender is gone, which this handle keeps alive.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

impl AppState {
    /// Opens the data folder (creating it, its database and its `components/` folder as
    /// needed) and loads the built-in catalog. No front end is served (see
    /// [`AppState::with_static_dir`]); the guard is a loopback one with a random token (see
    /// [`AppState::with_guard`]).
    pub fn open(data_dir: &Path) -> Result<Self, StartError> {
        Self::open_with(
            data_dir,
            crate::config::engine_config(data_dir),
            crate::config::targets_options(),
        )
    }

    /// [`AppState::open`] with the engine's and the targets' settings given rather than read
    /// from the environment.
    pub fn open_with(
        data_dir: &Path,
        engine: engine::EngineConfig,
        targets: targets::TargetsOptions,
    ) -> Result<Self, StartError> {
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
        let engine = engine::Engine::open(engine)?;
        let targets = targets::Targets::new(
            engine.store().clone(),
            engine.events().clone(),
            data_dir,
            targets,
        )?;
        let guard = Guard::new(GuardConfig::new(std::net::SocketAddr::from((
            std::net::Ipv4Addr::LOCALHOST,
            0,
        ))))?;
        Ok(Self {
            store,
            builtin: builtin.into(),
            user_components_dir,
            static_dir: None,
            engine,
            targets,
            guard,
            shutdown: Shutdown::default(),
        })
    }

    /// Guards the API with `guard`.
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// Serves the front end from `dir`.
    pub fn with_static_dir(mut self, dir: PathBuf) -> Self {
        self.static_dir = Some(dir);
        self
    }
}

/// The whole application: `/api/*` plus the front end, behind the request guard
/// ([`crate::guard`]), with security headers on every answer, request tracing and panics
/// turned into 500 responses.
pub fn app(state: AppState) -> Router {
    let static_dir = state
        .static_dir
        .clone()
        .filter(|d| d.join("index.html").is_file());
    let guard = state.guard.clone();
    let router = Router::new().nest("/api", crate::api::router(state.clone()));
    let router = match static_dir {
        Some(dir) => {
            let page = Router::new()
                .route("/", get(crate::guard::page))
                .route("/index.html", get(crate::guard::page))
                .with_state((guard.clone(), dir.clone()));
            router.merge(page).fallback_service(ServeDir::new(dir))
        }
        None => router
            .route("/", get(help_page))
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") }),
    };
    router
        .layer(middleware::from_fn_with_state(guard, crate::guard::check))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(crate::guard::security_headers))
        .layer(TraceLayer::new_for_http())
}

/// Binds `config.addr` and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> Result<(), StartError> {
    let guard = Guard::new(GuardConfig {
        addr: config.addr,
        token: config.token.clone(),
        allowed_hosts: config.allowed_hosts.clone(),
    })?;
    let mut engine = crate::config::engine_config(&config.data_dir);
    engine.allow_host_commands = config.allow_host_commands;
    if config.allow_host_commands {
        tracing::warn!("host commands are allowed: container components whose image cannot be used run their command on this machine");
    }
    let mut state =
        AppState::open_with(&config.data_dir, engine, crate::config::targets_options())?
            .with_guard(guard.clone());
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
    let token_file = config.data_dir.join(TOKEN_FILE);
    write_secret(&token_file, guard.token()).map_err(|source| StartError::TokenFile {
        path: token_file.clone(),
        source,
    })?;
    tracing::info!(
        data = %config.data_dir.display(),
        database = %state.store.path().display(),
        "Pipeline Canvas listening on http://{local}/"
    );
    let shown = if local.ip().is_unspecified() {
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, local.port()))
    } else {
        local
    };
    // Where `pipeline-canvas cancel` finds this server; removed when it stops (the guard's
    // drop), left behind only when it is killed, where the pid tells it is gone.
    let server_file = config.data_dir.join(SERVER_FILE);
    let about = serde_json::json!({ "addr": shown.to_string(), "pid": std::process::id() });
    write_secret(&server_file, &about.to_string()).map_err(|source| StartError::TokenFile {
        path: server_file.clone(),
        source,
    })?;
    let _server_file = RemoveOnDrop(server_file);
    let mut banner = format!(
        "Pipeline Canvas is running at {}\n",
        guard.app_url(&shown.to_string())
    );
    if !guard.open_page() {
        banner.push_str(&format!(
            "It listens on {local}, beyond this machine: open the address above (it holds the \
             access token), or give the token from {} when asked.\n",
            token_file.display()
        ));
    }
    banner.push_str(&format!(
        "Scripts call the API with `Authorization: Bearer <token>`; the token is in {}.\n",
        token_file.display()
    ));
    // Written whole, and a closed standard output (`serve | head -1`) is no reason to stop.
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, banner.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout));
    drop(stdout);
    let shutdown = state.shutdown.clone();
    let engine = state.engine.clone();
    let stopping = shutdown.clone();
    let server = axum::serve(listener, app(state))
        .with_graceful_shutdown(async move { stopping.wait().await });
    let server = std::future::IntoFuture::into_future(server);
    let mut server = std::pin::pin!(server);
    let mut signals = Signals::new();
    tokio::select! {
        result = &mut server => return result.map_err(StartError::Serve),
        () = signals.next() => {}
    }
    tracing::info!("shutting down (press Ctrl-C again to stop at once)");
    shutdown.trigger();
    let drained = async {
        // Local runs cannot go on without the server: cancel them (their processes die with
        // it anyway), so they are recorded CANCELLED rather than found interrupted.
        tokio::join!(&mut server, engine.shutdown(SHUTDOWN_GRACE)).0
    };
    tokio::select! {
        result = drained => result.map_err(StartError::Serve)?,
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after {SHUTDOWN_GRACE:?} are closed");
        }
        () = signals.next() => {
            tracing::warn!("second signal: stopping at once");
            std::process::exit(130);
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long a stopping server waits for open answers to finish.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes `text` to `path`, readable by the owner only.
/// Removes a file when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        // An older file may have looser permissions: tighten them before writing.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

/// Ctrl-C and SIGTERM, as a stream of "stop" requests.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGTERM"))
            .ok();
        Self {
            #[cfg(unix)]
            term,
        }
    }

    /// Resolves on the next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        let ctrl_c = async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match &mut self.term {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
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
