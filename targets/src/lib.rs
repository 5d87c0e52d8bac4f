//! The remote run targets: Vertex AI Pipelines ([`vertex`]) and Kubeflow Pipelines ([`kfp`]),
//! behind one interface beside the local engine (the `engine` crate). This crate reads no
//! environment variables: the server and command line build its [`TargetsOptions`].
//!
//! A remote run is a row of the same run store as a local one (with its target, remote job
//! name and console link), and its state changes go to the same event stream, so the runs API,
//! the SSE endpoint and the canvas show remote runs like local ones. [`follow`] polls each open
//! remote run with a growing interval (as the official SDK does) and writes what changed; open
//! remote runs are followed again when the server restarts ([`Targets::resume`]).
//!
//! - [`config`]: the settings of each target (`<data-dir>/targets.json`, `GET/PUT
//!   /api/targets`), never secrets.
//! - [`auth`]: credentials (ADC, or a static token).
//! - [`vertex_lineage`]: lineage from Vertex ML Metadata
//!   ([`Targets::vertex_artifact_lineage`], [`Targets::vertex_run_lineage`]).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use runs::NewRun;
use runs::{EngineEvent, Events, RunEvent, RunRequest, RunState, RunStore, TaskState};
use runs::{Recorder, StoreError};

pub mod auth;
pub mod config;
pub mod follow;
pub mod kfp;
pub mod vertex;
pub mod vertex_lineage;

pub use auth::AuthSource;
pub use config::{ConfigFile, KfpSettings, TargetsConfig, VertexSettings};
pub use follow::FollowConfig;

/// Where a run runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The local engine.
    Local,
    /// Vertex AI Pipelines.
    Vertex,
    /// Kubeflow Pipelines.
    Kfp,
}

impl Target {
    /// `local`, `vertex` or `kfp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Local => "local",
            Target::Vertex => "vertex",
            Target::Kfp => "kfp",
        }
    }

    /// Parses `local`, `vertex` or `kfp` (any case).
    pub fn parse(s: &str) -> Result<Self, TargetError> {
        match s.to_ascii_lowercase().as_str() {
            "local" => Ok(Target::Local),
            "vertex" => Ok(Target::Vertex),
            "kfp" => Ok(Target::Kfp),
            _ => Err(TargetError::Invalid(format!(
                "unknown target {s:?}; use local, vertex or kfp"
            ))),
        }
    }
}

/// Why a remote operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A required setting is missing or wrong; found before any request is sent.
    #[error("{0}")]
    Setting(String),
    /// The request is wrong (parameters, spec); the message says what.
    #[error("{0}")]
    Invalid(String),
    /// The settings file cannot be read or written.
    #[error("{0}")]
    Config(String),
    /// No credentials.
    #[error("{0}")]
    Auth(String),
    /// The service answered with an error; `body` is its answer, verbatim.
    #[error("{service} answered HTTP {status}: {body}")]
    Remote {
        /// `Vertex AI` or `Kubeflow Pipelines`.
        service: &'static str,
        /// The HTTP status.
        status: u16,
        /// The response body (Google's `{"error": {code, message, status, details}}`).
        body: String,
    },
    /// The service failed without an HTTP answer (a malformed answer, a binding error).
    #[error("{service}: {message}")]
    Service {
        /// The service.
        service: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The service could not be reached.
    #[error("cannot reach {service}: {message}")]
    Connection {
        /// The service.
        service: &'static str,
        /// Why.
        message: String,
    },
    /// No run with this id.
    #[error("no run with id {0:?}")]
    NotFound(String),
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TargetError {
    /// Whether trying again later may succeed (HTTP 429, 500, 502, 503, 504; no connection).
    pub fn is_transient(&self) -> bool {
        match self {
            TargetError::Remote { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            TargetError::Connection { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status the service answered with, if it did.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            TargetError::Remote { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A remote run's state as the service reports it, mapped onto the run store's states.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteStatus {
    /// The run's state.
    pub state: RunState,
    /// The service's own name of the state (`PIPELINE_STATE_QUEUED`, `CANCELING`, …).
    pub remote_state: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Its tasks.
    pub tasks: Vec<RemoteTask>,
}

/// One task of a remote run.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTask {
    /// Its path (`train`, `condition-1/deploy`).
    pub path: String,
    /// The enclosing task's path.
    pub parent: Option<String>,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: TaskState,
    /// When it started.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Why it failed (or why it did not run).
    pub error: Option<String>,
    /// Whether it runs other tasks (a sub-DAG).
    pub is_dag: bool,
    /// What it was given, in the engine's shape (`{"parameters": {…}, "artifacts": {port:
    /// [{name, uri, type: {schemaTitle, schemaVersion}, metadata}]}}`), when the service says:
    /// the run store records its lineage from it.
    pub inputs: Option<serde_json::Value>,
    /// What it made, in the same shape.
    pub outputs: Option<serde_json::Value>,
}

/// How create and cancel requests are retried on HTTP 429/5xx and lost connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

/// Runs `op` until it succeeds, fails for good, or `retry.attempts` are used up, waiting
/// longer after each transient failure.
pub async fn with_retries<T, F, Fut>(
    retry: RetryConfig,
    what: &str,
    mut op: F,
) -> Result<T, TargetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TargetError>>,
{
    let mut wait = retry.initial;
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < retry.attempts.max(1) => {
                tracing::warn!(error = %e, attempt, what, "transient failure; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(retry.max);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How the remote targets are set up.
#[derive(Debug, Clone)]
pub struct TargetsOptions {
    /// Polling of open runs.
    pub follow: FollowConfig,
    /// Retries of create and cancel.
    pub retry: RetryConfig,
    /// The Vertex AI base URL for every region (else `https://{region}-aiplatform.googleapis.com`).
    pub vertex_endpoint: Option<String>,
    /// Vertex AI credentials.
    pub auth: AuthSource,
    /// The Kubeflow Pipelines bearer token, if any.
    pub kfp_token: Option<String>,
}

/// The environment variable overriding the Vertex AI base URL (for test servers); the server
/// and command line read it into [`TargetsOptions::vertex_endpoint`].
pub const VERTEX_ENDPOINT_ENV: &str = "PIPELINE_CANVAS_VERTEX_ENDPOINT";

impl Default for TargetsOptions {
    /// Polling and retries as the official SDK does them, Google's endpoints, Application
    /// Default Credentials, no KFP token.
    fn default() -> Self {
        Self {
            follow: FollowConfig::default(),
            retry: RetryConfig::default(),
            vertex_endpoint: None,
            auth: AuthSource::Adc,
            kfp_token: None,
        }
    }
}

/// A run to start on a remote target.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    /// The compiled pipeline, its parameters, document and saved pipeline.
    pub run: RunRequest,
    /// Vertex AI settings overriding `targets.json`.
    pub vertex: VertexSettings,
    /// Kubeflow Pipelines settings overriding `targets.json`.
    pub kfp: KfpSettings,
    /// The run's display name (else the pipeline's name).
    pub display_name: Option<String>,
}

impl SubmitRequest {
    /// A request with no overrides.
    pub fn new(run: RunRequest) -> Self {
        Self {
            run,
            vertex: VertexSettings::default(),
            kfp: KfpSettings::default(),
            display_name: None,
        }
    }
}

/// A run started on a remote target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    /// The run's id in the run store.
    pub id: String,
    /// Where it runs.
    pub target: Target,
    /// The remote job's name.
    pub remote_name: String,
    /// Its page in the service's console.
    pub console_link: Option<String>,
}

/// A client of one remote service.
#[derive(Clone, Debug)]
pub enum RemoteClient {
    /// Vertex AI Pipelines.
    Vertex(vertex::VertexClient),
    /// Kubeflow Pipelines.
    Kfp(kfp::KfpClient),
}

impl RemoteClient {
    /// The job's status now.
    pub async fn status(&self, remote_name: &str) -> Result<RemoteStatus, TargetError> {
        match self {
            RemoteClient::Vertex(c) => c.get(remote_name).await,
            RemoteClient::Kfp(c) => c.get(remote_name).await,
        }
    }

    /// Asks the service to cancel the job.
    pub async fn cancel(&self, remote_name: &str) -> Result<(), TargetError> {
        match self {
            RemoteClient::Vertex(c) => c.cancel(remote_name).await,
            RemoteClient::Kfp(c) => c.cancel(remote_name).await,
        }
    }
}

/// The remote targets: submits runs, follows them into the run store, cancels them. Cheap to
/// clone.
#[derive(Clone)]
pub struct Targets {
    inner: Arc<Inner>,
}

struct Inner {
    store: RunStore,
    events: Events,
    /// Does every store read and write of the targets, off the async threads.
    recorder: Recorder,
    file: ConfigFile,
    options: TargetsOptions,
    vertex: tokio::sync::Mutex<HashMap<String, vertex::VertexClient>>,
    /// Vertex ML Metadata clients by endpoint.
    metadata: tokio::sync::Mutex<HashMap<String, vertex_lineage::VertexMetadataClient>>,
    http: reqwest::Client,
    followed: Mutex<HashMap<String, Arc<Notify>>>,
}

impl std::fmt::Debug for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Targets")
            .field("config", &self.inner.file.path())
            .finish()
    }
}

/// Installs ring as the process's TLS crypto provider (once; a provider already installed is
/// kept).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Targets {
    /// The targets of a data folder, writing to `store` and `events` (the local engine's),
    /// through a writer thread of their own ([`Recorder`]).
    pub fn new(
        store: RunStore,
        events: Events,
        data_dir: &Path,
        options: TargetsOptions,
    ) -> Result<Self, TargetError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| TargetError::Config(format!("cannot set up the HTTP client: {e}")))?;
        let recorder = Recorder::start(store.clone(), events.clone()).map_err(|e| {
            TargetError::Config(format!("cannot start the run store's writer thread: {e}"))
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                events,
                recorder,
                file: ConfigFile::in_data_dir(data_dir),
                options,
                vertex: tokio::sync::Mutex::new(HashMap::new()),
                metadata: tokio::sync::Mutex::new(HashMap::new()),
                http,
                followed: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings in `targets.json`.
    pub fn config(&self) -> Result<TargetsConfig, TargetError> {
        self.inner.file.load()
    }

    /// Replaces the settings in `targets.json`.
    pub fn save_config(&self, config: &TargetsConfig) -> Result<(), TargetError> {
        self.inner.file.save(config)
    }

    /// The run store.
    pub fn store(&self) -> &RunStore {
        &self.inner.store
    }

    /// The event stream.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The options.
    pub fn options(&self) -> &TargetsOptions {
        &self.inner.options
    }

    async fn vertex_client(&self, region: &str) -> Result<vertex::VertexClient, TargetError> {
        let endpoint = vertex::endpoint_for(self.inner.options.vertex_endpoint.as_deref(), region)?;
        let mut clients = self.inner.vertex.lock().await;
        if let Some(c) = clients.get(&endpoint) {
            return Ok(c.clone());
        }
        let client = vertex::VertexClient::new(&endpoint, &self.inner.options.auth).await?;
        clients.insert(endpoint, client.clone());
        Ok(client)
    }

    /// A KFP client of `host`, with the token of the environment; a warning is logged when
    /// that token would travel in the clear to another machine.
    fn kfp_client(&self, host: &str) -> kfp::KfpClient {
        let token = self.inner.options.kfp_token.clone();
        if let Some(warning) = kfp::plain_http_warning(host, token.is_some()) {
            tracing::warn!("{warning}");
        }
        kfp::KfpClient::new(self.inner.http.clone(), host, token)
    }

    /// The client that follows a stored remote run.
    async fn client_for(&self, target: &str, remote: &Value) -> Result<RemoteClient, TargetError> {
        match target {
            "vertex" => {
                let region = remote["region"].as_str().unwrap_or_default();
                Ok(RemoteClient::Vertex(self.vertex_client(region).await?))
            }
            "kfp" => {
                let host = remote["host"].as_str().unwrap_or_default();
                Ok(RemoteClient::Kfp(self.kfp_client(host)))
            }
            other => Err(TargetError::Invalid(format!("unknown target {other:?}"))),
        }
    }

    /// Submits a run to `target` (Vertex AI or Kubeflow Pipelines): checks the settings and
    /// parameters before any request, records the run, creates the remote job, and follows it.
    pub async fn submit(
        &self,
        target: Target,
        req: SubmitRequest,
    ) -> Result<Submitted, TargetError> {
        let file = self.config()?;
        pipeline::run_inputs::check(&req.run.spec, &req.run.parameters)
            .map_err(|e| TargetError::Invalid(e.to_string()))?;
        match target {
            Target::Local => Err(TargetError::Invalid(
                "local runs are started by the local engine".into(),
            )),
            Target::Vertex => {
                let settings = file.vertex.overridden_by(&req.vertex);
                let plan = vertex::plan(&req, &settings)?;
                let client = self.vertex_client(&plan.region).await?;
                let id = self.record(&req, &plan.pipeline_root).await?;
                let remote = json!({"project": plan.project, "region": plan.region});
                let (rid, name, link) = (id.clone(), plan.name.clone(), plan.console_link.clone());
                self.on_store(move |store| {
                    store.set_remote(&rid, "vertex", &name, Some(&link), &remote)
                })
                .await?;
                let created = with_retries(self.inner.options.retry, "create pipeline job", || {
                    client.create(&plan)
                })
                .await;
                match created {
                    Ok(status) => {
                        tracing::info!(run = %id, job = %plan.name, "Vertex AI pipeline job created");
                        let seen = self.apply(&id, status, follow::Seen::default()).await;
                        self.follow_from(
                            &id,
                            RemoteClient::Vertex(client),
                            plan.name.clone(),
                            seen,
                        );
                        Ok(Submitted {
                            id,
                            target,
                            remote_name: plan.name,
                            console_link: Some(plan.console_link),
                        })
                    }
                    Err(e) => {
                        self.fail(&id, &e).await;
                        Err(e)
                    }
                }
            }
            Target::Kfp => {
                let settings = file.kfp.overridden_by(&req.kfp);
                let plan = kfp::plan(&req, &settings)?;
                let client = self.kfp_client(&plan.host);
                let id = self
                    .record(&req, plan.pipeline_root.as_deref().unwrap_or(&plan.host))
                    .await?;
                let created = async {
                    let experiment =
                        with_retries(self.inner.options.retry, "find the experiment", || {
                            client.experiment_id(&plan.experiment, plan.namespace.as_deref())
                        })
                        .await?;
                    let body = plan.body_in(&experiment);
                    with_retries(self.inner.options.retry, "create run", || {
                        client.create(&body)
                    })
                    .await
                }
                .await;
                match created {
                    Ok((run_id, status)) => {
                        let link = kfp::console_link(&plan.host, &run_id);
                        let remote = json!({
                            "host": plan.host,
                            "namespace": plan.namespace,
                            "experiment": plan.experiment,
                        });
                        let (rid, name, l) = (id.clone(), run_id.clone(), link.clone());
                        self.on_store(move |store| {
                            store.set_remote(&rid, "kfp", &name, Some(&l), &remote)
                        })
                        .await?;
                        tracing::info!(run = %id, kfp_run = %run_id, "Kubeflow Pipelines run created");
                        let seen = self.apply(&id, status, follow::Seen::default()).await;
                        self.follow_from(&id, RemoteClient::Kfp(client), run_id.clone(), seen);
                        Ok(Submitted {
                            id,
                            target,
                            remote_name: run_id,
                            console_link: Some(link),
                        })
                    }
                    Err(e) => {
                        self.fail(&id, &e).await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Runs `job` on the run store, in the writer thread.
    async fn on_store<T: Send + 'static>(
        &self,
        job: impl FnOnce(&RunStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, TargetError> {
        self.inner
            .recorder
            .call(move |store, _| job(store))
            .await
            .ok_or_else(|| TargetError::Config("the run store's writer thread stopped".into()))?
            .map_err(TargetError::from)
    }

    /// Writes what changed in a remote run's status (see [`follow::apply`]).
    async fn apply(&self, id: &str, status: RemoteStatus, seen: follow::Seen) -> follow::Seen {
        let id = id.to_string();
        let fallback = follow::Seen::default();
        self.inner
            .recorder
            .call(move |store, events| {
                let mut seen = seen;
                follow::apply(store, events, &id, &status, &mut seen);
                seen
            })
            .await
            .unwrap_or(fallback)
    }

    async fn record(&self, req: &SubmitRequest, root: &str) -> Result<String, TargetError> {
        let id = uuid::Uuid::new_v4().to_string();
        let spec = serde_json::to_string(&req.run.spec)
            .map_err(|e| TargetError::Invalid(format!("cannot serialize the spec: {e}")))?;
        let run = NewRun {
            id: id.clone(),
            pipeline_name: req.run.spec.pipeline_info.name.clone(),
            pipeline_id: req.run.pipeline_id.clone(),
            parameters: serde_json::to_value(&req.run.parameters).unwrap_or(Value::Null),
            spec,
            platform_spec: req.run.platform_spec.as_ref().map(Value::to_string),
            document: req.run.document.clone(),
            options: json!({}),
            root: PathBuf::from(root),
            rerun_of: None,
        };
        self.inner
            .recorder
            .call(move |store, events| {
                store.insert_run(&run)?;
                events.send(EngineEvent::Run(RunEvent {
                    run_id: run.id.clone(),
                    state: RunState::Pending,
                    started_at: None,
                    ended_at: None,
                    error: None,
                }));
                Ok::<_, StoreError>(())
            })
            .await
            .ok_or_else(|| TargetError::Config("the run store's writer thread stopped".into()))??;
        Ok(id)
    }

    async fn fail(&self, id: &str, e: &TargetError) {
        let (id, message) = (id.to_string(), e.to_string());
        self.inner
            .recorder
            .call(move |store, events| {
                follow::set_run(store, events, &id, RunState::Failed, Some(&message));
            })
            .await;
    }

    /// Follows run `id` in the background until it ends (once per run).
    pub fn follow(&self, id: &str, client: RemoteClient, remote_name: String) {
        self.follow_from(id, client, remote_name, follow::Seen::default());
    }

    fn follow_from(&self, id: &str, client: RemoteClient, remote_name: String, seen: follow::Seen) {
        let wake = Arc::new(Notify::new());
        {
            let Ok(mut followed) = self.inner.followed.lock() else {
                return;
            };
            if followed.contains_key(id) {
                return;
            }
            followed.insert(id.to_string(), wake.clone());
        }
        let this = self.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            follow::run(
                &this.inner.recorder,
                &this.inner.options.follow,
                &id,
                &client,
                &remote_name,
                &wake,
                seen,
            )
            .await;
            if let Ok(mut followed) = this.inner.followed.lock() {
                followed.remove(&id);
            }
        });
    }

    /// Follows again every remote run that had not ended (after a restart); returns how many.
    pub async fn resume(&self) -> Result<usize, TargetError> {
        let open = self.on_store(|store| store.open_remote_runs()).await?;
        let mut n = 0;
        for run in open {
            match self.client_for(&run.target, &run.remote).await {
                Ok(client) => {
                    self.follow(&run.id, client, run.remote_name.clone());
                    n += 1;
                }
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "cannot follow a remote run")
                }
            }
        }
        if n > 0 {
            tracing::info!(runs = n, "following remote runs again");
        }
        Ok(n)
    }

    /// Whether run `id` is a remote run.
    pub async fn is_remote(&self, id: &str) -> Result<bool, TargetError> {
        let id = id.to_string();
        Ok(self
            .on_store(move |store| store.get_summary(&id))
            .await?
            .is_some_and(|s| s.target.is_some()))
    }

    /// Cancels remote run `id`; `Ok(false)` when it had already ended. The follower records
    /// the state changes that follow.
    pub async fn cancel(&self, id: &str) -> Result<bool, TargetError> {
        let lookup = id.to_string();
        let summary = self
            .on_store(move |store| store.get_summary(&lookup))
            .await?
            .ok_or_else(|| TargetError::NotFound(id.to_string()))?;
        if summary.state.is_final() {
            return Ok(false);
        }
        let (Some(target), Some(remote_name)) = (summary.target, summary.remote_name) else {
            return Err(TargetError::Invalid(format!(
                "run {id} has no remote job to cancel"
            )));
        };
        let remote = self
            .on_store(|store| store.open_remote_runs())
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.remote)
            .unwrap_or(Value::Null);
        let client = self.client_for(&target, &remote).await?;
        with_retries(self.inner.options.retry, "cancel", || {
            client.cancel(&remote_name)
        })
        .await?;
        tracing::info!(run = id, job = %remote_name, "remote run cancel requested");
        let wake = self
            .inner
            .followed
            .lock()
            .ok()
            .and_then(|f| f.get(id).cloned());
        match wake {
            Some(w) => w.notify_one(),
            None => self.follow(id, client, remote_name),
        }
        Ok(true)
    }
}

/// Turns a `--label k=v` / `--param` style `NAME=VALUE` list into a map.
pub fn key_values(items: &[String], what: &str) -> Result<BTreeMap<String, String>, TargetError> {
    let mut out = BTreeMap::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| TargetError::Invalid(format!("{what} {item:?}: expected KEY=VALUE")))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}
