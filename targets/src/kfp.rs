//! Kubeflow Pipelines through its v2beta1 REST API (`reqwest`, rustls), request for request as
//! the KFP SDK's `kfp.Client().create_run_from_pipeline_package` does it:
//! the experiment is looked up by name in the namespace
//! (`GET {host}/apis/v2beta1/experiments?filter=…&namespace=…`) and created when missing
//! (`POST …/experiments`); the run is created with its experiment id and the spec inline
//! (`POST …/runs`; `pipeline_spec` holds `{pipeline_spec, platform_spec}` when the pipeline has a
//! Kubernetes platform spec); followed with `GET …/runs/{id}`; cancelled with
//! `POST …/runs/{id}:terminate`. Field names are snake_case, states are strings (`PENDING`,
//! `RUNNING`, `SUCCEEDED`, `SKIPPED`, `FAILED`, `CANCELING`, `CANCELED`, `PAUSED`).
//!
//! **Lineage.** A task detail names its input and output artifacts by port as ML Metadata ids
//! (`inputs` / `outputs`: `{port: {artifact_ids: ["12", …]}}`); the follower asks the artifacts
//! API (`GET …/artifacts/{id}`: `uri`, `artifact_type`, …) once per id and remembers the answer
//! ([`KfpClient`] keeps a bounded cache), and [`task_io`] writes them in the engine's shape, so
//! the run store records a KFP run's lineage as it records a local one's. A server without that
//! API (older KFP 2.x answers 404 or 501) still gets a linked graph: each id becomes
//! [`synthetic_uri`], the same for every task that names it. Servers whose task details carry
//! their artifacts and parameters inline (`inputs: {parameters: [...], artifacts: [...]}`, with
//! `status` such as `CACHED`) are read as they are, with no further request.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::{KfpSettings, RemoteStatus, RemoteTask, SubmitRequest, TargetError};
use runs::{RunState, TaskState};

const SERVICE: &str = "Kubeflow Pipelines";

/// Everything needed to create one run, checked before any request.
#[derive(Debug, Clone)]
pub struct KfpPlan {
    /// The API's base URL, without a trailing `/`.
    pub host: String,
    /// The namespace.
    pub namespace: Option<String>,
    /// The name of the experiment the run is filed under (`Default` unless set).
    pub experiment: String,
    /// The pipeline root, when one is set.
    pub pipeline_root: Option<String>,
    /// The request body, without its `experiment_id` (see [`KfpPlan::body_in`]).
    pub body: Value,
}

/// The experiment runs go to when none is set, as with the KFP SDK.
pub const DEFAULT_EXPERIMENT: &str = "Default";

impl KfpPlan {
    /// The create-run body filed under the experiment `experiment_id`.
    pub fn body_in(&self, experiment_id: &str) -> Value {
        let mut body = self.body.clone();
        body["experiment_id"] = json!(experiment_id);
        body
    }
}

/// Checks the settings (host) and builds the request body.
pub fn plan(req: &SubmitRequest, s: &KfpSettings) -> Result<KfpPlan, TargetError> {
    let host = s
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            TargetError::Setting(
                "the Kubeflow Pipelines host is not set: pass --host or set \"host\" in the kfp \
                 settings (targets.json, PUT /api/targets)"
                    .into(),
            )
        })?
        .trim_end_matches('/')
        .to_string();
    if !(host.starts_with("http://") || host.starts_with("https://")) {
        return Err(TargetError::Setting(format!(
            "the Kubeflow Pipelines host must be an http:// or https:// URL, not {host:?}"
        )));
    }
    let spec = serde_json::to_value(&req.run.spec)
        .map_err(|e| TargetError::Invalid(format!("cannot serialize the spec: {e}")))?;
    let parameters: serde_json::Map<String, Value> = req
        .run
        .parameters
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let pipeline_root = s
        .pipeline_root
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| req.run.spec.default_pipeline_root.clone());
    let mut runtime = json!({ "parameters": parameters });
    if let Some(root) = &pipeline_root {
        runtime["pipeline_root"] = json!(root);
    }
    let display_name = req
        .display_name
        .clone()
        .unwrap_or_else(|| req.run.spec.pipeline_info.name.clone());
    // The KFP client sends the platform spec next to the pipeline spec, in one object.
    let pipeline_spec = match req.run.platform_spec.as_ref() {
        Some(Value::Object(p)) if !p.is_empty() => json!({
            "pipeline_spec": spec,
            "platform_spec": p,
        }),
        _ => spec,
    };
    let body = json!({
        "display_name": display_name,
        "pipeline_spec": pipeline_spec,
        "runtime_config": runtime,
    });
    let experiment = s
        .experiment
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or(DEFAULT_EXPERIMENT)
        .to_string();
    Ok(KfpPlan {
        host,
        namespace: s
            .namespace
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        experiment,
        pipeline_root,
        body,
    })
}

/// A warning when a bearer token would be sent over plain `http://` to `host` and `host` is
/// not this machine (`localhost`, `*.localhost`, a loopback address): anyone on the way can
/// read it. `None` for `https://`, loopback hosts, or no token.
pub fn plain_http_warning(host: &str, has_token: bool) -> Option<String> {
    if !has_token {
        return None;
    }
    let url = reqwest::Url::parse(host).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let name = url.host_str()?;
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let loopback = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    };
    (!loopback).then(|| {
        format!(
            "the Kubeflow Pipelines token ({}) is sent over plain http to {host}, which is not \
             this machine: anyone on the network path can read it; use an https:// host",
            super::auth::KFP_TOKEN_ENV
        )
    })
}

/// The KFP UI page of a run.
pub fn console_link(host: &str, run_id: &str) -> String {
    format!("{}/#/runs/details/{run_id}", host.trim_end_matches('/'))
}

fn run_state(s: &str) -> RunState {
    match s {
        "SUCCEEDED" | "SKIPPED" => RunState::Succeeded,
        "FAILED" => RunState::Failed,
        "CANCELED" | "CANCELLED" => RunState::Cancelled,
        "RUNNING" | "CANCELING" | "PAUSED" => RunState::Running,
        _ => RunState::Pending,
    }
}

fn task_state(s: &str) -> TaskState {
    match s {
        "SUCCEEDED" => TaskState::Succeeded,
        "CACHED" => TaskState::Cached,
        "FAILED" => TaskState::Failed,
        "SKIPPED" => TaskState::Skipped,
        "CANCELED" | "CANCELLED" => TaskState::Cancelled,
        "RUNNING" | "CANCELING" | "PAUSED" => TaskState::Running,
        _ => TaskState::Pending,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `v[snake]`, else `v[camel]` (grpc-gateway writes snake_case names, other encoders
/// lowerCamelCase); `Null` when neither is there.
fn field<'a>(v: &'a Value, snake: &str, camel: &str) -> &'a Value {
    match v.get(snake) {
        Some(x) if !x.is_null() => x,
        _ => v.get(camel).unwrap_or(&Value::Null),
    }
}

/// The most artifacts one poll asks the artifacts API about; the rest wait for the next poll.
pub const MAX_ARTIFACT_FETCHES_PER_POLL: usize = 500;

/// The most artifacts a [`KfpClient`] remembers (the oldest are forgotten first).
pub const ARTIFACT_CACHE_SIZE: usize = 10_000;

/// The URI lineage gives artifact `id` of the KFP installation at `host` when the server does not
/// say where it is (no artifacts API, or an artifact without a URI):
/// `kfp-artifact://{host without scheme}/{id}`. Stable, so every task naming the id names the
/// same lineage artifact, and distinct per installation.
pub fn synthetic_uri(host: &str, id: &str) -> String {
    let place = host
        .split_once("://")
        .map_or(host, |(_, rest)| rest)
        .trim_end_matches('/');
    if place.is_empty() {
        format!("kfp-artifact://{id}")
    } else {
        format!("kfp-artifact://{place}/{id}")
    }
}

/// Which half of a task's I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// What it was given (`inputs`).
    Input,
    /// What it made (`outputs`).
    Output,
}

impl Side {
    fn key(self) -> &'static str {
        match self {
            Side::Input => "inputs",
            Side::Output => "outputs",
        }
    }
}

/// Whether a task's `inputs` / `outputs` is the inline form (`{parameters: [...], artifacts:
/// [...]}`) rather than KFP 2.x's map of port → `{artifact_ids}`: there each value is an object,
/// here the two lists are arrays.
fn is_inline(io: &Value) -> bool {
    io.get("parameters").is_some_and(Value::is_array)
        || io.get("artifacts").is_some_and(Value::is_array)
}

/// The artifact ids task detail `detail` names on `side`, by port (KFP 2.x's `{port:
/// {artifact_ids: [...]}}`; ids as strings or numbers). Empty for the inline form.
pub fn artifact_ids(detail: &Value, side: Side) -> Vec<(String, Vec<String>)> {
    let io = &detail[side.key()];
    let Some(ports) = io.as_object().filter(|_| !is_inline(io)) else {
        return Vec::new();
    };
    ports
        .iter()
        .map(|(port, list)| {
            let ids = field(list, "artifact_ids", "artifactIds")
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default();
            (port.clone(), ids)
        })
        .collect()
}

/// Every distinct artifact id the tasks of `run` name, in the order first named.
pub fn run_artifact_ids(run: &Value) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let details = run["run_details"]["task_details"]
        .as_array()
        .or_else(|| run["runDetails"]["taskDetails"].as_array());
    for t in details.into_iter().flatten() {
        for side in [Side::Input, Side::Output] {
            for (_, ids) in artifact_ids(t, side) {
                for id in ids {
                    if seen.insert(id.clone()) {
                        out.push(id);
                    }
                }
            }
        }
    }
    out
}

/// The schema title of a KFP artifact: the artifacts API's `artifact_type` (`system.Model`), or
/// the inline form's `type` (`Model`, or its enum number), or `system.Artifact`.
fn schema_title(a: &Value) -> String {
    if let Some(t) = field(a, "schema_title", "schemaTitle")
        .as_str()
        .or_else(|| field(a, "artifact_type", "artifactType").as_str())
        .filter(|t| !t.is_empty())
    {
        return t.to_string();
    }
    let name = match &a["type"] {
        Value::String(s) => s.as_str(),
        Value::Number(n) => match n.as_u64() {
            Some(1) => "Artifact",
            Some(2) => "Model",
            Some(3) => "Dataset",
            Some(4) => "HTML",
            Some(5) => "Markdown",
            Some(6) => "Metric",
            Some(7) => "ClassificationMetric",
            Some(8) => "SlicedClassificationMetric",
            _ => "",
        },
        _ => "",
    };
    match name {
        "" | "TYPE_UNSPECIFIED" => "system.Artifact".to_string(),
        n if n.contains('.') => n.to_string(),
        // The SDK's metrics types are plural.
        "Metric" => "system.Metrics".to_string(),
        "ClassificationMetric" => "system.ClassificationMetrics".to_string(),
        "SlicedClassificationMetric" => "system.SlicedClassificationMetrics".to_string(),
        n => format!("system.{n}"),
    }
}

/// One KFP artifact (an artifacts-API answer, an inline artifact, or only `{artifact_id}`) as
/// the engine writes a runtime artifact: named after the artifact, else its port; its URI, else
/// [`synthetic_uri`]; its metadata (a metric's `number_value` under its name). None when it has
/// neither a URI nor an id.
fn artifact_json(a: &Value, port: &str, host: &str) -> Option<Value> {
    let id = text(field(a, "artifact_id", "artifactId"));
    let uri = match (a["uri"].as_str().filter(|u| !u.is_empty()), &id) {
        (Some(u), _) => u.to_string(),
        (None, Some(id)) => synthetic_uri(host, id),
        (None, None) => return None,
    };
    let name = a["name"]
        .as_str()
        .or_else(|| field(a, "display_name", "displayName").as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(port);
    let mut metadata = a["metadata"].as_object().cloned().unwrap_or_default();
    if let Some(n) = field(a, "number_value", "numberValue").as_f64() {
        metadata.entry(name.to_string()).or_insert(json!(n));
    }
    let mut out = serde_json::Map::new();
    out.insert("name".into(), json!(name));
    out.insert("uri".into(), json!(uri));
    out.insert("type".into(), json!({ "schemaTitle": schema_title(a) }));
    out.insert("metadata".into(), Value::Object(metadata));
    if let Some(id) = id {
        out.insert("artifactId".into(), json!(id));
    }
    Some(Value::Object(out))
}

/// A task's inputs or outputs in the engine's shape (`{"parameters": {name: value},
/// "artifacts": {port: [{name, uri, type: {schemaTitle}, metadata}]}}`), from its task detail:
/// KFP 2.x's artifact ids looked up in `artifacts` (the artifacts API's answers by id; an id
/// missing there is left out until it is known), or the inline form's parameters and artifacts.
/// `host` names artifacts without a URI ([`synthetic_uri`]). None when there is nothing.
pub fn task_io(
    detail: &Value,
    side: Side,
    artifacts: &HashMap<String, Value>,
    host: &str,
) -> Option<Value> {
    let io = &detail[side.key()];
    let mut parameters = serde_json::Map::new();
    let mut ports = serde_json::Map::new();
    let mut add = |port: &str, a: Value| {
        if let Value::Array(list) = ports
            .entry(port.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(a);
        }
    };
    if is_inline(io) {
        let source = |entry: &Value| -> Option<String> {
            field(entry, "parameter_name", "parameterName")
                .as_str()
                .or_else(|| entry["producer"]["key"].as_str())
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        for p in io["parameters"].as_array().into_iter().flatten() {
            if let Some(name) = source(p) {
                parameters.insert(name, p["value"].clone());
            }
        }
        for entry in io["artifacts"].as_array().into_iter().flatten() {
            let port = source(entry).unwrap_or_else(|| "artifact".to_string());
            for a in entry["artifacts"].as_array().into_iter().flatten() {
                if let Some(a) = artifact_json(a, &port, host) {
                    add(&port, a);
                }
            }
        }
    } else {
        for (port, ids) in artifact_ids(detail, side) {
            for id in ids {
                if let Some(a) = artifacts
                    .get(&id)
                    .and_then(|a| artifact_json(a, &port, host))
                {
                    add(&port, a);
                }
            }
        }
    }
    if parameters.is_empty() && ports.is_empty() {
        return None;
    }
    Some(json!({ "parameters": parameters, "artifacts": ports }))
}

/// The run store's view of a v2beta1 run, its tasks' artifacts looked up in `artifacts` (see
/// [`task_io`]; empty when they are not known yet) and named after `host` when they have no URI.
pub fn status_of(run: &Value, artifacts: &HashMap<String, Value>, host: &str) -> RemoteStatus {
    let remote_state = run["state"].as_str().unwrap_or("PENDING").to_string();
    let error = run["error"]["message"]
        .as_str()
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let details: Vec<&Value> = run["run_details"]["task_details"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let by_id: HashMap<String, &Value> = details
        .iter()
        .filter_map(|t| text(&t["task_id"]).map(|id| (id, *t)))
        .collect();
    let is_root = |t: &Value| text(&t["parent_task_id"]).is_none_or(|p| !by_id.contains_key(&p));
    let path_of = |t: &Value| -> String {
        let mut parts = vec![t["display_name"].as_str().unwrap_or_default().to_string()];
        let mut cur = t;
        for _ in 0..64 {
            let Some(p) = text(&cur["parent_task_id"]).and_then(|p| by_id.get(&p).copied()) else {
                break;
            };
            if is_root(p) {
                break;
            }
            parts.push(p["display_name"].as_str().unwrap_or_default().to_string());
            cur = p;
        }
        parts.reverse();
        parts.join("/")
    };
    let mut tasks = Vec::new();
    for t in &details {
        if is_root(t) {
            continue;
        }
        let id = text(&t["task_id"]);
        let parent = text(&t["parent_task_id"])
            .and_then(|p| by_id.get(&p).copied())
            .filter(|p| !is_root(p))
            .map(path_of);
        tasks.push(RemoteTask {
            path: path_of(t),
            parent,
            name: t["display_name"].as_str().unwrap_or_default().to_string(),
            // KFP 2.x says `state`; servers with inline I/O say `status` (with `CACHED`).
            state: task_state(
                t["state"]
                    .as_str()
                    .or_else(|| t["status"].as_str())
                    .unwrap_or_default(),
            ),
            started_at: text(&t["start_time"]),
            ended_at: text(&t["end_time"]),
            error: t["error"]["message"]
                .as_str()
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            is_dag: id.is_some_and(|id| {
                details
                    .iter()
                    .any(|c| text(&c["parent_task_id"]).as_deref() == Some(id.as_str()))
            }),
            inputs: task_io(t, Side::Input, artifacts, host),
            outputs: task_io(t, Side::Output, artifacts, host),
        });
    }
    RemoteStatus {
        state: run_state(&remote_state),
        remote_state,
        error,
        tasks,
    }
}

/// What a client has learnt of the installation's artifacts: the artifacts API's answers by
/// id (at most [`ARTIFACT_CACHE_SIZE`], oldest forgotten first), and whether the server has no
/// such API.
#[derive(Debug, Default)]
struct ArtifactCache {
    known: HashMap<String, Value>,
    order: VecDeque<String>,
    no_api: bool,
}

impl ArtifactCache {
    fn insert(&mut self, id: String, artifact: Value) {
        if self.known.insert(id.clone(), artifact).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > ARTIFACT_CACHE_SIZE {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
    }
}

/// An artifact known only by its id (the server cannot describe it): [`task_io`] gives it a
/// [`synthetic_uri`].
fn id_only(id: &str) -> Value {
    json!({ "artifact_id": id })
}

/// Whether an error answer to `GET …/artifacts/{id}` means the server has no artifacts API
/// (older KFP 2.x: the gateway's own `{"code": 5, "message": "Not Found"}` for a route it does
/// not know, `404 page not found`, or HTTP 501 / gRPC UNIMPLEMENTED) rather than that this one
/// artifact is missing (`Artifact 12 not found`).
pub fn artifacts_api_missing(status: u16, body: &str) -> bool {
    if status == 501 {
        return true;
    }
    let body_l = body.to_ascii_lowercase();
    if body_l.contains("unimplemented") || body_l.contains("not implemented") {
        return true;
    }
    if status != 404 {
        return false;
    }
    let trimmed = body_l.trim();
    if trimmed == "404 page not found" || trimmed == "not found" {
        return true;
    }
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = parsed["message"]
        .as_str()
        .or_else(|| parsed["error"].as_str())
        .unwrap_or_default();
    message.trim().eq_ignore_ascii_case("not found")
}

/// A client of one KFP installation. Cheap to clone (clones share what is known of the
/// installation's artifacts).
#[derive(Clone)]
pub struct KfpClient {
    http: reqwest::Client,
    host: String,
    token: Option<String>,
    artifacts: Arc<Mutex<ArtifactCache>>,
}

impl std::fmt::Debug for KfpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KfpClient")
            .field("host", &self.host)
            .finish()
    }
}

fn from_reqwest(e: reqwest::Error) -> TargetError {
    if e.is_connect() {
        // Nothing answers there (refused, no such host): a wrong host or a port-forward not
        // running, which waiting does not mend, so it is not retried.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let at = e
            .url()
            .map(|u| format!(" at {}", u.origin().ascii_serialization()))
            .unwrap_or_default();
        return TargetError::Service {
            service: SERVICE,
            message: format!(
                "nothing answers{at} ({cause}): check the host (--host, or kfp.host in \
                 targets.json) and that the KFP API is reachable there, e.g. `kubectl \
                 port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`"
            ),
        };
    }
    TargetError::Connection {
        service: SERVICE,
        message: e.to_string(),
    }
}

impl KfpClient {
    /// A client of `host`, sending `token` as a bearer token when given.
    pub fn new(http: reqwest::Client, host: &str, token: Option<String>) -> Self {
        Self {
            http,
            host: host.trim_end_matches('/').to_string(),
            token,
            artifacts: Arc::default(),
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, TargetError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.map_err(from_reqwest)?;
        let status = resp.status();
        let body = resp.text().await.map_err(from_reqwest)?;
        if !status.is_success() {
            return Err(TargetError::Remote {
                service: SERVICE,
                status: status.as_u16(),
                body,
            });
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| TargetError::Service {
            service: SERVICE,
            message: format!("the answer is not JSON ({e}): {body}"),
        })
    }

    /// Creates a run; returns its id and status.
    pub async fn create(&self, body: &Value) -> Result<(String, RemoteStatus), TargetError> {
        let url = format!("{}/apis/v2beta1/runs", self.host);
        let run = self.call(self.http.post(url).json(body)).await?;
        let id = run["run_id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TargetError::Service {
                service: SERVICE,
                message: format!("the created run has no run_id: {run}"),
            })?
            .to_string();
        let artifacts = self.artifacts_of(&run_artifact_ids(&run)).await;
        Ok((id, status_of(&run, &artifacts, &self.host)))
    }

    /// The run's state and task details, with the artifacts its tasks name (see
    /// [`KfpClient::artifacts_of`]).
    pub async fn get(&self, run_id: &str) -> Result<RemoteStatus, TargetError> {
        let url = format!("{}/apis/v2beta1/runs/{run_id}", self.host);
        let run = self.call(self.http.get(url)).await?;
        let artifacts = self.artifacts_of(&run_artifact_ids(&run)).await;
        Ok(status_of(&run, &artifacts, &self.host))
    }

    /// The artifacts `ids` by id, as the artifacts API describes them (`GET
    /// …/artifacts/{id}`), each asked once and remembered, at most
    /// [`MAX_ARTIFACT_FETCHES_PER_POLL`] new ones per call (the rest are left out until a later
    /// call). An id the server cannot describe — it has no artifacts API (then no id is asked
    /// again), no such artifact, or it refuses (HTTP 4xx) — is given as `{artifact_id}` alone
    /// and remembered so; after a passing failure (HTTP 429/5xx, no connection, not JSON) it is
    /// given alone this time and asked again next time. Failures are logged, never returned:
    /// lineage must not stop a run's following.
    pub async fn artifacts_of(&self, ids: &[String]) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        {
            let Ok(cache) = self.artifacts.lock() else {
                return out;
            };
            for id in ids {
                if let Some(a) = cache.known.get(id) {
                    out.insert(id.clone(), a.clone());
                } else if cache.no_api {
                    out.insert(id.clone(), id_only(id));
                } else {
                    missing.push(id.clone());
                }
            }
        }
        if missing.len() > MAX_ARTIFACT_FETCHES_PER_POLL {
            tracing::warn!(
                host = %self.host,
                artifacts = missing.len(),
                limit = MAX_ARTIFACT_FETCHES_PER_POLL,
                "a run names more new artifacts than one poll reads; the rest wait for the next"
            );
            missing.truncate(MAX_ARTIFACT_FETCHES_PER_POLL);
        }
        let mut failures = 0u32;
        let mut pending = missing.into_iter();
        while let Some(id) = pending.next() {
            // Ids are ML Metadata's int64s; anything else is not put in a URL.
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                out.insert(id.clone(), id_only(&id));
                continue;
            }
            let url = format!("{}/apis/v2beta1/artifacts/{id}", self.host);
            match self.call(self.http.get(url)).await {
                Ok(a) if a.is_object() => {
                    self.remember(&id, a.clone());
                    out.insert(id, a);
                }
                Ok(other) => {
                    tracing::warn!(host = %self.host, artifact = %id, answer = %other, "the artifacts API answered something that is not an artifact");
                    out.insert(id.clone(), id_only(&id));
                }
                Err(TargetError::Remote { status, body, .. })
                    if artifacts_api_missing(status, &body) =>
                {
                    tracing::debug!(host = %self.host, status, "no artifacts API; artifacts are known by id");
                    if let Ok(mut cache) = self.artifacts.lock() {
                        cache.no_api = true;
                    }
                    out.insert(id.clone(), id_only(&id));
                    for id in pending.by_ref() {
                        out.insert(id.clone(), id_only(&id));
                    }
                }
                Err(TargetError::Remote { status: 404, .. }) => {
                    tracing::debug!(host = %self.host, artifact = %id, "no such artifact; known by id");
                    self.remember(&id, id_only(&id));
                    out.insert(id.clone(), id_only(&id));
                }
                Err(e) => {
                    // A refusal (HTTP 4xx: no permission to read artifacts, …) stands: the id
                    // is remembered as it is. A passing failure is asked again next poll.
                    let lasting = !e.is_transient()
                        && e.http_status().is_some_and(|s| (400..500).contains(&s));
                    if failures == 0 {
                        tracing::warn!(host = %self.host, artifact = %id, error = %e, lasting, "cannot read an artifact from the artifacts API; it is known by its id");
                    }
                    failures += 1;
                    if lasting {
                        self.remember(&id, id_only(&id));
                    }
                    out.insert(id.clone(), id_only(&id));
                }
            }
        }
        if failures > 1 {
            tracing::warn!(host = %self.host, failures, "artifacts the artifacts API did not describe in this poll");
        }
        out
    }

    fn remember(&self, id: &str, artifact: Value) {
        if let Ok(mut cache) = self.artifacts.lock() {
            cache.insert(id.to_string(), artifact);
        }
    }

    /// Asks KFP to stop the run (v2beta1's `:terminate`; it has no `:cancel`).
    pub async fn cancel(&self, run_id: &str) -> Result<(), TargetError> {
        let url = format!("{}/apis/v2beta1/runs/{run_id}:terminate", self.host);
        self.call(self.http.post(url)).await.map(|_| ())
    }

    /// The id of the experiment named `name` in `namespace`, created when there is none, as
    /// the KFP client does (a multi-user installation refuses runs without an experiment).
    pub async fn experiment_id(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<String, TargetError> {
        let filter = json!({"predicates": [{
            // The KFP client's form: `EQUALS` as its enum number.
            "operation": 1,
            "key": "display_name",
            "stringValue": name,
        }]})
        .to_string();
        let url = format!("{}/apis/v2beta1/experiments", self.host);
        let mut query = vec![("filter", filter.as_str())];
        if let Some(ns) = namespace {
            query.push(("namespace", ns));
        }
        let found = self.call(self.http.get(&url).query(&query)).await?;
        let where_ = match namespace {
            Some(ns) => format!("in namespace {ns:?}"),
            None => "on the server".to_string(),
        };
        let experiments = found["experiments"].as_array().cloned().unwrap_or_default();
        let id_of = |e: &Value| -> Result<String, TargetError> {
            text(&e["experiment_id"]).ok_or_else(|| TargetError::Service {
                service: SERVICE,
                message: format!("the experiment {name:?} {where_} has no experiment_id: {e}"),
            })
        };
        match experiments.as_slice() {
            [one] => return id_of(one),
            [] => {}
            _ => {
                return Err(TargetError::Setting(format!(
                    "{} experiments are named {name:?} {where_}: set the kfp \"experiment\" to \
                     a name that is unique",
                    experiments.len()
                )))
            }
        }
        let mut body = json!({ "display_name": name });
        if let Some(ns) = namespace {
            body["namespace"] = json!(ns);
        }
        let created = self.call(self.http.post(&url).json(&body)).await?;
        id_of(&created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_over_plain_http_to_other_machines_are_warned_about() {
        for host in [
            "http://10.0.0.5:8080",
            "http://kfp.example.com",
            "http://[2001:db8::1]",
        ] {
            let w = plain_http_warning(host, true).expect(host);
            assert!(
                w.contains(host) && w.contains("PIPELINE_CANVAS_KFP_TOKEN"),
                "{w}"
            );
            assert_eq!(
                plain_http_warning(host, false),
                None,
                "no token, no warning"
            );
        }
        for host in [
            "https://kfp.example.com",
            "http://localhost:8080",
            "http://127.0.0.1:8888",
            "http://[::1]:8080",
            "http://kfp.localhost",
        ] {
            assert_eq!(plain_http_warning(host, true), None, "{host}");
        }
    }

    #[test]
    fn task_details_map_to_paths_and_states() {
        let run = json!({
            "run_id": "r1",
            "state": "RUNNING",
            "run_details": {"task_details": [
                {"task_id": "1", "display_name": "root", "state": "RUNNING"},
                {"task_id": "2", "parent_task_id": "1", "display_name": "condition-1", "state": "RUNNING"},
                {"task_id": "3", "parent_task_id": "2", "display_name": "train", "state": "FAILED",
                 "start_time": "2026-01-01T00:00:00Z", "error": {"message": "boom"}},
                {"task_id": "4", "parent_task_id": "1", "display_name": "prep", "state": "SKIPPED"}
            ]}
        });
        let s = status_of(&run, &HashMap::new(), "http://kfp");
        assert_eq!(s.state, RunState::Running);
        let paths: Vec<&str> = s.tasks.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(paths, ["condition-1", "condition-1/train", "prep"]);
        assert!(s.tasks[0].is_dag);
        assert_eq!(s.tasks[1].parent.as_deref(), Some("condition-1"));
        assert_eq!(s.tasks[1].state, TaskState::Failed);
        assert_eq!(s.tasks[1].error.as_deref(), Some("boom"));
        assert_eq!(s.tasks[2].state, TaskState::Skipped);
        assert_eq!(run_state("CANCELED"), RunState::Cancelled);
    }

    /// A KFP 2.x run: `train` reads dataset 7 and makes model 12 (its ids as strings and as
    /// numbers, snake_case and camelCase); `deploy` reads model 12.
    fn lineage_run() -> Value {
        json!({"state": "SUCCEEDED", "run_details": {"task_details": [
            {"task_id": "1", "display_name": "root", "state": "SUCCEEDED"},
            {"task_id": "2", "parent_task_id": "1", "display_name": "train", "state": "SUCCEEDED",
             "execution_id": "30",
             "inputs": {"dataset": {"artifact_ids": [7]}},
             "outputs": {"model": {"artifact_ids": ["12"]}}},
            {"task_id": "3", "parent_task_id": "1", "display_name": "deploy", "state": "SUCCEEDED",
             "inputs": {"model": {"artifactIds": ["12"]}}}
        ]}})
    }

    #[test]
    fn artifact_ids_are_read_by_port_once_per_run() {
        let run = lineage_run();
        assert_eq!(run_artifact_ids(&run), ["7", "12"]);
        let deploy = &run["run_details"]["task_details"][2];
        assert_eq!(
            artifact_ids(deploy, Side::Input),
            [("model".to_string(), vec!["12".to_string()])]
        );
        assert!(artifact_ids(deploy, Side::Output).is_empty());
    }

    #[test]
    fn task_io_takes_uris_from_the_artifacts_api_and_names_unknown_ones_by_id() {
        let run = lineage_run();
        let train = &run["run_details"]["task_details"][1];
        let artifacts: HashMap<String, Value> = [
            (
                "12".to_string(),
                json!({"artifact_id": "12", "uri": "minio://mlpipeline/v2/artifacts/p/r/train/model",
                       "artifact_type": "system.Model", "storage_provider": "minio",
                       "storage_path": "v2/artifacts/p/r/train/model", "artifact_size": "1024"}),
            ),
            ("7".to_string(), id_only("7")),
        ]
        .into();
        let out =
            task_io(train, Side::Output, &artifacts, "https://kfp.example.com/").expect("out");
        assert_eq!(
            out,
            json!({"parameters": {}, "artifacts": {"model": [{
                "name": "model", "uri": "minio://mlpipeline/v2/artifacts/p/r/train/model",
                "type": {"schemaTitle": "system.Model"}, "metadata": {}, "artifactId": "12"}]}})
        );
        let inp = task_io(train, Side::Input, &artifacts, "https://kfp.example.com/").expect("in");
        assert_eq!(
            inp["artifacts"]["dataset"][0]["uri"],
            "kfp-artifact://kfp.example.com/7"
        );
        assert_eq!(
            inp["artifacts"]["dataset"][0]["type"]["schemaTitle"],
            "system.Artifact"
        );
        // An id not known yet is left out; a task with nothing has no I/O.
        assert_eq!(task_io(train, Side::Output, &HashMap::new(), "h"), None);
        let root = &run["run_details"]["task_details"][0];
        assert_eq!(task_io(root, Side::Input, &artifacts, "h"), None);

        let s = status_of(&run, &artifacts, "http://kfp:8888");
        let deploy = s.tasks.iter().find(|t| t.path == "deploy").expect("deploy");
        assert_eq!(
            deploy.inputs.as_ref().expect("inputs")["artifacts"]["model"][0]["uri"],
            "minio://mlpipeline/v2/artifacts/p/r/train/model"
        );
        assert_eq!(deploy.outputs, None);
    }

    #[test]
    fn inline_io_gives_parameters_and_artifacts_and_cached_is_a_cache_hit() {
        let detail = json!({
            "task_id": "2", "parent_task_id": "1", "display_name": "train", "status": "CACHED",
            "inputs": {
                "parameters": [{"value": 3, "parameter_name": "epochs"},
                               {"value": "x", "producer": {"task_name": "prep", "key": "text"}}],
                "artifacts": [{"parameter_name": "data", "artifacts": [
                    {"artifact_id": "5", "name": "dataset", "type": "Dataset", "uri": "s3://b/d"}]}]
            },
            "outputs": {"artifacts": [{"parameterName": "metrics", "artifacts": [
                {"artifactId": "6", "name": "accuracy", "type": 6, "number_value": 0.9}]}]}
        });
        let inp = task_io(&detail, Side::Input, &HashMap::new(), "http://kfp").expect("in");
        assert_eq!(inp["parameters"], json!({"epochs": 3, "text": "x"}));
        assert_eq!(
            inp["artifacts"]["data"][0],
            json!({"name": "dataset", "uri": "s3://b/d", "type": {"schemaTitle": "system.Dataset"},
                   "metadata": {}, "artifactId": "5"})
        );
        let out = task_io(&detail, Side::Output, &HashMap::new(), "http://kfp").expect("out");
        let metric = &out["artifacts"]["metrics"][0];
        assert_eq!(metric["uri"], "kfp-artifact://kfp/6");
        assert_eq!(metric["type"]["schemaTitle"], "system.Metrics");
        assert_eq!(metric["metadata"], json!({"accuracy": 0.9}));

        let run = json!({"state": "SUCCEEDED", "run_details": {"task_details": [
            {"task_id": "1", "display_name": "root", "status": "SUCCEEDED"}, detail]}});
        assert!(
            run_artifact_ids(&run).is_empty(),
            "inline artifacts need no request"
        );
        let s = status_of(&run, &HashMap::new(), "http://kfp");
        assert_eq!(s.tasks[0].state, TaskState::Cached);
        assert!(s.tasks[0].inputs.is_some() && s.tasks[0].outputs.is_some());
    }

    #[test]
    fn a_missing_artifacts_route_is_told_from_a_missing_artifact() {
        assert!(artifacts_api_missing(
            404,
            r#"{"code":5,"message":"Not Found","details":[]}"#
        ));
        assert!(artifacts_api_missing(
            404,
            r#"{"error":"Not Found","code":5,"message":"Not Found"}"#
        ));
        assert!(artifacts_api_missing(404, "404 page not found\n"));
        assert!(artifacts_api_missing(501, ""));
        assert!(artifacts_api_missing(
            400,
            r#"{"code":12,"message":"unknown service ArtifactService: Unimplemented"}"#
        ));
        assert!(!artifacts_api_missing(
            404,
            r#"{"code":5,"message":"ResourceNotFoundError: Artifact 12 not found"}"#
        ));
        assert!(!artifacts_api_missing(
            403,
            r#"{"code":7,"message":"forbidden"}"#
        ));
        assert!(!artifacts_api_missing(500, "boom"));
    }

    #[test]
    fn the_artifact_cache_is_bounded() {
        let mut c = ArtifactCache::default();
        for i in 0..ARTIFACT_CACHE_SIZE + 5 {
            c.insert(i.to_string(), id_only(&i.to_string()));
        }
        assert_eq!(c.known.len(), ARTIFACT_CACHE_SIZE);
        assert!(!c.known.contains_key("0") && c.known.contains_key("5"));
        assert_eq!(synthetic_uri("", "3"), "kfp-artifact://3");
    }
}
