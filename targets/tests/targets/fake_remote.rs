//! An in-process stand-in for Vertex AI Pipelines (REST v1) and Kubeflow Pipelines (REST
//! v2beta1) on 127.0.0.1:0, speaking their wire format: it records every request (method,
//! path, query, bearer token, body) and answers with scripted replies — errors as Google's
//! `{"error": {code, message, status, details}}`, job states as integers (the client asks
//! `$alt=json;enum-encoding=int`), KFP states as strings.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use runs::{Events, RunStore};
use serde_json::{json, Value};
use targets::{AuthSource, FollowConfig, RetryConfig, Targets, TargetsOptions};

/// Vertex AI `PipelineState` numbers.
pub mod vs {
    /// PIPELINE_STATE_QUEUED
    pub const QUEUED: i64 = 1;
    /// PIPELINE_STATE_PENDING
    pub const PENDING: i64 = 2;
    /// PIPELINE_STATE_RUNNING
    pub const RUNNING: i64 = 3;
    /// PIPELINE_STATE_SUCCEEDED
    pub const SUCCEEDED: i64 = 4;
    /// PIPELINE_STATE_FAILED
    pub const FAILED: i64 = 5;
    /// PIPELINE_STATE_CANCELLING
    pub const CANCELLING: i64 = 6;
    /// PIPELINE_STATE_CANCELLED
    pub const CANCELLED: i64 = 7;
}

/// Vertex AI `PipelineTaskDetail.State` numbers.
pub mod ts {
    /// PENDING
    pub const PENDING: i64 = 1;
    /// RUNNING
    pub const RUNNING: i64 = 2;
    /// SUCCEEDED
    pub const SUCCEEDED: i64 = 3;
    /// CANCELLED
    pub const CANCELLED: i64 = 6;
    /// FAILED
    pub const FAILED: i64 = 7;
    /// SKIPPED
    pub const SKIPPED: i64 = 8;
    /// NOT_TRIGGERED
    pub const NOT_TRIGGERED: i64 = 9;
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The `Authorization` header.
    pub auth: Option<String>,
    /// The JSON body (null when empty).
    pub body: Value,
}

/// A job the fake knows.
#[derive(Debug, Clone)]
pub struct Job {
    /// What a GET answers now.
    pub current: Value,
    /// Changes applied one per GET (shallow merge into `current`).
    pub steps: VecDeque<Value>,
    /// When it was created.
    pub created: Instant,
}

/// The fake's state.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Every request, in order.
    pub requests: Vec<Recorded>,
    /// Replies to create requests served before the job is created (status, body).
    pub create_errors: VecDeque<(u16, Value)>,
    /// Replies to GET requests served before the job's own answers.
    pub get_errors: VecDeque<(u16, Value)>,
    /// The steps every new job goes through.
    pub script: Vec<Value>,
    /// Jobs by name (Vertex: the resource name; KFP: the run id).
    pub jobs: HashMap<String, Job>,
    /// When set, jobs follow the clock instead of the script: PENDING, RUNNING after the
    /// first duration, SUCCEEDED after the second.
    pub timed: Option<(Duration, Duration)>,
    /// Whether GET answers are recorded (off for the benchmark).
    pub quiet_gets: bool,
    /// How many GET requests were answered.
    pub gets: u64,
    /// KFP experiments (`experiment_id`, `display_name`, `namespace`), in creation order.
    pub experiments: Vec<Value>,
    /// KFP artifacts by id, as `GET /apis/v2beta1/artifacts/{id}` answers them (an unknown id
    /// is a KFP `NotFound`).
    pub artifacts: HashMap<String, Value>,
    /// When set, every `GET /apis/v2beta1/artifacts/{id}` is answered with this (status, body):
    /// a server without the artifacts API.
    pub artifacts_reply: Option<(u16, Value)>,
    /// Vertex ML Metadata: artifacts, executions and events in the REST wire format
    /// (camelCase, enums as the client asks for them: integers).
    pub metadata: MetadataGraph,
    next_kfp: u64,
}

/// Vertex ML Metadata as the fake serves it (`:queryArtifactLineageSubgraph`,
/// `:queryExecutionInputsAndOutputs`, `:queryContextLineageSubgraph`, `ListExecutions` with
/// `in_context("…")`). A hop is one artifact–execution edge.
#[derive(Debug, Default, Clone)]
pub struct MetadataGraph {
    /// Artifacts (`name`, `displayName`, `uri`, `schemaTitle`, `state`, …).
    pub artifacts: Vec<Value>,
    /// Executions.
    pub executions: Vec<Value>,
    /// Events (`artifact`, `execution`, `type`, `labels`).
    pub events: Vec<Value>,
    /// Context resource name → the names of its executions.
    pub contexts: HashMap<String, Vec<String>>,
    /// When set, the service's size limit: `queryArtifactLineageSubgraph` with `maxHops` > 1
    /// (or none) and `queryContextLineageSubgraph` answer HTTP 400 `FAILED_PRECONDITION`.
    pub refuse_large: bool,
    /// `ListExecutions` page size when the request names none.
    pub page_size: usize,
}

impl MetadataGraph {
    fn artifact(&self, name: &str) -> Option<&Value> {
        self.artifacts.iter().find(|a| a["name"] == name)
    }

    fn execution(&self, name: &str) -> Option<&Value> {
        self.executions.iter().find(|e| e["name"] == name)
    }

    /// The subgraph of the named nodes (events between them), nodes in graph order.
    fn subgraph(&self, artifacts: &[String], executions: &[String]) -> Value {
        let arts: Vec<Value> = self
            .artifacts
            .iter()
            .filter(|a| artifacts.iter().any(|n| a["name"] == n.as_str()))
            .cloned()
            .collect();
        let execs: Vec<Value> = self
            .executions
            .iter()
            .filter(|e| executions.iter().any(|n| e["name"] == n.as_str()))
            .cloned()
            .collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .filter(|ev| {
                artifacts.iter().any(|n| ev["artifact"] == n.as_str())
                    && executions.iter().any(|n| ev["execution"] == n.as_str())
            })
            .cloned()
            .collect();
        json!({"artifacts": arts, "executions": execs, "events": events})
    }

    /// Breadth-first from artifact `start`, `hops` edges (None: the transitive closure).
    fn around(&self, start: &str, hops: Option<u64>) -> Value {
        let mut arts = vec![start.to_string()];
        let mut execs: Vec<String> = Vec::new();
        let mut frontier = vec![(true, start.to_string())];
        let mut d = 0;
        while !frontier.is_empty() && hops.is_none_or(|h| d < h) {
            let mut next = Vec::new();
            for (is_art, name) in &frontier {
                for ev in &self.events {
                    let (this, other) = if *is_art {
                        ("artifact", "execution")
                    } else {
                        ("execution", "artifact")
                    };
                    if ev[this] != name.as_str() {
                        continue;
                    }
                    let o = ev[other].as_str().unwrap_or_default().to_string();
                    let seen = if *is_art { &mut execs } else { &mut arts };
                    if !seen.contains(&o) {
                        seen.push(o.clone());
                        next.push((!is_art, o));
                    }
                }
            }
            frontier = next;
            d += 1;
        }
        self.subgraph(&arts, &execs)
    }

    /// An execution's artifacts and the events joining them.
    fn io(&self, execution: &str) -> Value {
        let arts: Vec<String> = self
            .events
            .iter()
            .filter(|ev| ev["execution"] == execution)
            .filter_map(|ev| ev["artifact"].as_str().map(str::to_string))
            .collect();
        let mut v = self.subgraph(&arts, &[execution.to_string()]);
        v["executions"] = json!([]);
        v
    }
}

/// The fake service. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    /// Its state.
    pub state: Arc<Mutex<FakeState>>,
}

/// Google's error body.
pub fn google_error(code: u16, status: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
}

/// Decodes `%XX` escapes (and `+`) of a query string.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn merge(into: &mut Value, patch: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, patch) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

impl Fake {
    /// A fake with the given per-job script.
    pub fn with_script(script: Vec<Value>) -> Self {
        let f = Fake::default();
        f.lock().script = script;
        f
    }

    /// Locks the state.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }

    /// Requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Serves on 127.0.0.1:0; returns the base URL.
    pub async fn start(&self) -> String {
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn timed_state(job: &Job, t: (Duration, Duration), kfp: bool) -> Value {
    let e = job.created.elapsed();
    let (v, k) = if e >= t.1 {
        (vs::SUCCEEDED, "SUCCEEDED")
    } else if e >= t.0 {
        (vs::RUNNING, "RUNNING")
    } else {
        (vs::PENDING, "PENDING")
    };
    if kfp {
        json!(k)
    } else {
        json!(v)
    }
}

async fn handle(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = percent_decode(uri.query().unwrap_or_default());
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut st = fake.lock();
    if method == Method::GET {
        st.gets += 1;
    }
    if !(st.quiet_gets && method == Method::GET) {
        st.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            auth,
            body: body.clone(),
        });
    }
    if method == Method::GET {
        if let Some(r) = metadata(&st.metadata, &path, &query) {
            return r;
        }
    }
    let kfp = path.starts_with("/apis/v2beta1/");
    if path == "/apis/v2beta1/experiments" {
        return experiments(&mut st, &method, &query, body);
    }
    if let Some(id) = path.strip_prefix("/apis/v2beta1/artifacts/") {
        if method == Method::GET {
            return artifact(&st, id);
        }
    }
    let is_create =
        method == Method::POST && (path.ends_with("/pipelineJobs") || path == "/apis/v2beta1/runs");
    if is_create {
        if let Some((status, body)) = st.create_errors.pop_front() {
            return reply(status, body);
        }
        let (name, mut current) = if kfp {
            st.next_kfp += 1;
            let id = format!("run-{:04}", st.next_kfp);
            let mut cur = body.clone();
            merge(
                &mut cur,
                &json!({"run_id": id, "state": "PENDING", "created_at": "2026-01-01T00:00:00Z"}),
            );
            (id, cur)
        } else {
            let job_id = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("pipelineJobId="))
                .unwrap_or("job")
                .to_string();
            let name = format!("{}/{job_id}", path.trim_start_matches("/v1/"));
            let mut cur = body.clone();
            merge(
                &mut cur,
                &json!({"name": name, "state": vs::QUEUED, "createTime": "2026-01-01T00:00:00Z"}),
            );
            (name, cur)
        };
        if st.timed.is_some() {
            current["state"] = if kfp {
                json!("PENDING")
            } else {
                json!(vs::PENDING)
            };
        }
        let job = Job {
            current: current.clone(),
            steps: st.script.clone().into(),
            created: Instant::now(),
        };
        st.jobs.insert(name, job);
        return reply(200, current);
    }
    // Vertex AI cancels with `:cancel`; KFP v2beta1 terminates with `:terminate` (and has no
    // `:cancel`: it answers 404, as the real server does).
    let stop = if kfp { ":terminate" } else { ":cancel" };
    let (name, cancel) = match path.strip_suffix(stop) {
        Some(p) => (p, true),
        None => (path.as_str(), false),
    };
    let name = if kfp {
        name.trim_start_matches("/apis/v2beta1/runs/").to_string()
    } else {
        name.trim_start_matches("/v1/").to_string()
    };
    if method == Method::GET {
        if let Some((status, body)) = st.get_errors.pop_front() {
            return reply(status, body);
        }
    }
    let timed = st.timed;
    let Some(job) = st.jobs.get_mut(&name) else {
        return reply(
            404,
            google_error(404, "NOT_FOUND", &format!("{name} not found"), json!([])),
        );
    };
    if cancel && method == Method::POST {
        job.steps = if kfp {
            vec![json!({"state": "CANCELING"}), json!({"state": "CANCELED"})].into()
        } else {
            vec![
                json!({"state": vs::CANCELLING}),
                json!({"state": vs::CANCELLED, "error": {"code": 1, "message": "cancelled by the user"}}),
            ]
            .into()
        };
        return reply(200, json!({}));
    }
    if method != Method::GET {
        return reply(405, google_error(405, "UNIMPLEMENTED", "method", json!([])));
    }
    if let Some(t) = timed {
        let s = timed_state(job, t, kfp);
        job.current["state"] = s;
    } else if let Some(step) = job.steps.pop_front() {
        merge(&mut job.current, &step);
    }
    reply(200, job.current.clone())
}

/// The value of `key` in a decoded query string.
fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

/// Vertex ML Metadata's lineage routes; None for any other path.
fn metadata(g: &MetadataGraph, path: &str, query: &str) -> Option<Response> {
    let rest = path.strip_prefix("/v1/")?;
    let not_found = |name: &str| {
        reply(
            404,
            google_error(404, "NOT_FOUND", &format!("{name} not found"), json!([])),
        )
    };
    let too_large = || {
        reply(
            400,
            google_error(
                400,
                "FAILED_PRECONDITION",
                "The lineage subgraph has more than 1000 nodes; reduce max_hops.",
                json!([]),
            ),
        )
    };
    if let Some(name) = rest.strip_suffix(":queryArtifactLineageSubgraph") {
        g.artifact(name)?;
        let hops = query_param(query, "maxHops").and_then(|h| h.parse::<i64>().ok());
        if hops.is_some_and(|h| h < 0) {
            return Some(reply(
                400,
                google_error(400, "INVALID_ARGUMENT", "max_hops is negative", json!([])),
            ));
        }
        if g.refuse_large && hops.is_none_or(|h| h > 1) {
            return Some(too_large());
        }
        return Some(reply(200, g.around(name, hops.map(|h| h as u64))));
    }
    if let Some(name) = rest.strip_suffix(":queryExecutionInputsAndOutputs") {
        if g.execution(name).is_none() {
            return Some(not_found(name));
        }
        return Some(reply(200, g.io(name)));
    }
    if let Some(name) = rest.strip_suffix(":queryContextLineageSubgraph") {
        let Some(execs) = g.contexts.get(name) else {
            return Some(not_found(name));
        };
        if g.refuse_large {
            return Some(too_large());
        }
        let arts: Vec<String> = g
            .events
            .iter()
            .filter(|ev| execs.iter().any(|e| ev["execution"] == e.as_str()))
            .filter_map(|ev| ev["artifact"].as_str().map(str::to_string))
            .collect();
        return Some(reply(200, g.subgraph(&arts, execs)));
    }
    if rest.contains("/metadataStores/") && rest.ends_with("/executions") {
        let filter = query_param(query, "filter").unwrap_or_default();
        let context = filter
            .strip_prefix("in_context(\"")
            .and_then(|f| f.strip_suffix("\")"))
            .unwrap_or_default();
        let Some(names) = g.contexts.get(context) else {
            return Some(reply(200, json!({})));
        };
        let size = query_param(query, "pageSize")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(g.page_size.max(1))
            .min(g.page_size.max(1));
        let from = query_param(query, "pageToken")
            .and_then(|t| t.parse::<usize>().ok())
            .unwrap_or(0);
        let page: Vec<Value> = names
            .iter()
            .skip(from)
            .take(size)
            .filter_map(|n| g.execution(n).cloned())
            .collect();
        let mut body = json!({"executions": page});
        if from + size < names.len() {
            body["nextPageToken"] = json!((from + size).to_string());
        }
        return Some(reply(200, body));
    }
    None
}

/// KFP's artifact service (`GetArtifact`): the artifact, a KFP `NotFound` for an unknown id,
/// or the scripted reply of a server without the service.
fn artifact(st: &FakeState, id: &str) -> Response {
    if let Some((status, body)) = &st.artifacts_reply {
        return reply(*status, body.clone());
    }
    match st.artifacts.get(id) {
        Some(a) => reply(200, a.clone()),
        None => reply(
            404,
            json!({"error": format!("ResourceNotFoundError: Artifact {id} not found"), "code": 5,
                   "message": format!("ResourceNotFoundError: Artifact {id} not found"), "details": []}),
        ),
    }
}

/// KFP's experiment service: a list filtered by display name (and namespace), or a create.
fn experiments(st: &mut FakeState, method: &Method, query: &str, body: Value) -> Response {
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    if *method == Method::POST {
        let id = format!("exp-{:04}", st.experiments.len() + 1);
        let mut e = body;
        merge(
            &mut e,
            &json!({"experiment_id": id, "storage_state": "AVAILABLE"}),
        );
        st.experiments.push(e.clone());
        return reply(200, e);
    }
    let filter: Value = param("filter")
        .and_then(|f| serde_json::from_str(&f).ok())
        .unwrap_or(Value::Null);
    let name = filter["predicates"][0]["stringValue"].clone();
    let namespace = param("namespace");
    let found: Vec<Value> = st
        .experiments
        .iter()
        .filter(|e| {
            e["display_name"] == name
                && namespace
                    .as_deref()
                    .is_none_or(|ns| e["namespace"] == json!(ns))
        })
        .cloned()
        .collect();
    if found.is_empty() {
        return reply(200, json!({}));
    }
    reply(
        200,
        json!({"experiments": found, "total_size": found.len()}),
    )
}

/// Target options for tests: fast polling, `attempts` tries of a refused call, a static token,
/// and the Vertex AI endpoint at `endpoint`.
pub fn options(endpoint: &str, attempts: u32) -> TargetsOptions {
    TargetsOptions {
        follow: FollowConfig {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            multiplier: 1.5,
        },
        retry: RetryConfig {
            attempts,
            initial: Duration::from_millis(10),
            max: Duration::from_millis(40),
        },
        vertex_endpoint: Some(endpoint.to_string()),
        auth: AuthSource::Static("test-token".into()),
        kfp_token: None,
    }
}

/// Remote targets over a run store in `dir`, with [`options`].
pub fn targets(dir: &Path, endpoint: &str, attempts: u32) -> Targets {
    let store = RunStore::open(dir).expect("store");
    Targets::new(store, Events::new(), dir, options(endpoint, attempts)).expect("targets")
}

/// The metadata store of the lineage fixtures.
pub const METADATA_STORE: &str = "projects/my-project/locations/us-central1/metadataStores/default";

/// `projects/…/metadataStores/default/artifacts/{id}`.
pub fn artifact_name(id: &str) -> String {
    format!("{METADATA_STORE}/artifacts/{id}")
}

/// `projects/…/metadataStores/default/executions/{id}`.
pub fn execution_name(id: &str) -> String {
    format!("{METADATA_STORE}/executions/{id}")
}

/// dataset →(train)→ model →(deploy)→ endpoint →(monitor)→ report, in the wire format, enums
/// as integers (or as strings with `strings`); the executions are the context of job
/// `train-job-1`. From `dataset`, the whole graph is 6 hops (artifact–execution edges) away.
pub fn lineage_chain(strings: bool) -> MetadataGraph {
    let e = |i: i64, s: &str| if strings { json!(s) } else { json!(i) };
    let art = |id: &str, title: &str| {
        json!({
            "name": artifact_name(id), "displayName": id, "uri": format!("gs://bucket/{id}"),
            "schemaTitle": title, "schemaVersion": "0.0.1", "state": e(2, "LIVE"),
            "metadata": {"rows": 10}, "createTime": "2026-01-01T00:00:00Z", "etag": "x"
        })
    };
    let exec = |id: &str, state: (i64, &str)| {
        json!({
            "name": execution_name(id), "displayName": id, "state": e(state.0, state.1),
            "schemaTitle": "system.ContainerExecution", "schemaVersion": "0.0.1",
            "metadata": {"input:learning_rate": 0.1},
            "createTime": "2026-01-01T00:00:00Z", "updateTime": "2026-01-01T00:05:00Z"
        })
    };
    let ev = |a: &str, x: &str, input: bool, port: Option<&str>| {
        let mut v = json!({
            "artifact": artifact_name(a), "execution": execution_name(x),
            "type": if input { e(1, "INPUT") } else { e(2, "OUTPUT") },
            "eventTime": "2026-01-01T00:00:00Z"
        });
        if let Some(p) = port {
            v["labels"] = json!({"port": p});
        }
        v
    };
    let mut contexts = HashMap::new();
    contexts.insert(
        format!("{METADATA_STORE}/contexts/train-job-1"),
        ["train", "deploy", "monitor"]
            .iter()
            .map(|x| execution_name(x))
            .collect(),
    );
    MetadataGraph {
        artifacts: vec![
            art("dataset", "system.Dataset"),
            art("model", "system.Model"),
            art("endpoint", "google.VertexEndpoint"),
            art("report", "system.Metrics"),
        ],
        executions: vec![
            exec("train", (3, "COMPLETE")),
            exec("deploy", (5, "CACHED")),
            exec("monitor", (4, "FAILED")),
        ],
        events: vec![
            ev("dataset", "train", true, Some("examples")),
            ev("model", "train", false, None),
            ev("model", "deploy", true, None),
            ev("endpoint", "deploy", false, None),
            ev("endpoint", "monitor", true, None),
            ev("report", "monitor", false, None),
        ],
        contexts,
        refuse_large: false,
        page_size: 2,
    }
}
