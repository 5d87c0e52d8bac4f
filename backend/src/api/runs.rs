//! Runs on the local engine.
//!
//! - `POST /api/runs` body `{"document": Document}` or `{"spec": PipelineSpec | "yaml text"}`,
//!   with optional `"parameters"`, `"options"` (`enableCaching`, `taskTimeoutSeconds`),
//!   `"platformSpec"` and `"pipelineId"` → 201 `{"id"}`. With `"target": "vertex" | "kfp"`
//!   (default `"local"`) the run is submitted there instead ([`super::targets`]).
//! - `GET /api/runs?state=&pipeline=&pipelineId=&limit=`: runs, newest first.
//! - `GET /api/runs/{id}`: the run and its tasks (state, times, inputs, outputs, artifacts,
//!   error, cached, attempts, note).
//! - `POST /api/runs/{id}/cancel`, `POST /api/runs/{id}/rerun` (→ 201 `{"id"}`).
//! - `GET /api/runs/{id}/events`: server-sent events: first a `snapshot` (the run as `GET`
//!   gives it), then `run` and `task` events as states change; the stream ends after the run
//!   ends.
//! - `GET /api/runs/{id}/tasks/{path}`: one task; `…/{path}/logs`: its log as text
//!   (`?offset=N` from a byte offset), or with `?follow=1` as server-sent `log` events (one
//!   per line) until the task ends, then `end`.
//! - `GET /api/runs/{id}/artifact?uri=…`: the content of a local artifact file of the run.
//! - `GET /api/runs/{id}/document`: the document the run was compiled from (404 when it was
//!   started from a spec).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{broadcast, mpsc};

use crate::engine::{
    EngineError, EngineEvent, RunDetail, RunFilter, RunOptions, RunRequest, RunState, RunSummary,
    TaskState,
};
use crate::error::AppError;
use crate::server::AppState;

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(m) => AppError::BadRequest(m),
            EngineError::NotFound(id) => AppError::NotFound(format!("no run with id {id:?}")),
            other => AppError::internal(other),
        }
    }
}

/// The answer to a new run: its id.
#[derive(Debug, Serialize)]
pub struct Started {
    /// The run's id.
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    document: Option<Value>,
    #[serde(default)]
    spec: Option<Value>,
    #[serde(default)]
    platform_spec: Option<Value>,
    #[serde(default)]
    parameters: BTreeMap<String, Value>,
    #[serde(default)]
    options: RunOptions,
    #[serde(default)]
    pipeline_id: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

fn parse_create(body: &[u8]) -> Result<(RunRequest, Option<String>), AppError> {
    let b: CreateBody = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("invalid run request: {e}")))?;
    let mut req = match (b.document, b.spec) {
        (Some(doc), None) => {
            let doc = crate::error::parse_document(doc.to_string().as_bytes())?;
            let compiled = pipeline::compile(&doc);
            let Some(spec) = compiled.spec else {
                return Err(AppError::Compile {
                    diagnostics: compiled.diagnostics,
                });
            };
            let mut r = RunRequest::new(spec, BTreeMap::new());
            r.platform_spec = doc.platform_spec.clone();
            r.document = Some(doc.to_json());
            r
        }
        (None, Some(Value::String(text))) => {
            let file = pipeline::import::parse_file(&text)
                .map_err(|e| AppError::BadRequest(format!("invalid spec: {e}")))?;
            let mut r = RunRequest::new(file.spec, BTreeMap::new());
            r.platform_spec = file.platform_spec;
            r
        }
        (None, Some(spec)) => {
            let spec = serde_json::from_value(spec)
                .map_err(|e| AppError::BadRequest(format!("invalid spec: {e}")))?;
            RunRequest::new(spec, BTreeMap::new())
        }
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(
                "give either \"document\" or \"spec\", not both".into(),
            ))
        }
        (None, None) => {
            return Err(AppError::BadRequest(
                "the run request needs a \"document\" or a \"spec\"".into(),
            ))
        }
    };
    if b.platform_spec.is_some() {
        req.platform_spec = b.platform_spec;
    }
    req.parameters = b.parameters;
    req.options = b.options;
    req.pipeline_id = b.pipeline_id;
    Ok((req, b.target))
}

/// `POST /api/runs`: starts a run (on the local engine, or the request's `target`); 201 with
/// its id.
pub async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = body?;
    let (req, target) = tokio::task::spawn_blocking(move || parse_create(&body)).await??;
    let target = crate::targets::Target::parse(target.as_deref().unwrap_or("local"))
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    if target != crate::targets::Target::Local {
        return Ok(super::targets::create_remote(&state, target, req).await);
    }
    // Submitting records the run in SQLite and makes its folder: off the async threads.
    let engine = state.engine.clone();
    let id = tokio::task::spawn_blocking(move || engine.submit(req)).await??;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/runs/{id}"))],
        Json(Started { id }),
    )
        .into_response())
}

/// Filters of the run list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    /// Only runs in this state (`RUNNING`, `FAILED`, …; any case).
    pub state: Option<String>,
    /// Only runs of this pipeline name.
    pub pipeline: Option<String>,
    /// Only runs started from this saved pipeline.
    pub pipeline_id: Option<String>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// `GET /api/runs`: runs, newest first.
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<RunSummary>>, AppError> {
    let Query(q) = q?;
    let run_state = match &q.state {
        Some(s) => Some(RunState::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown run state {s:?}; use PENDING, RUNNING, SUCCEEDED, FAILED or CANCELLED"
            ))
        })?),
        None => None,
    };
    let filter = RunFilter {
        state: run_state,
        pipeline: q.pipeline,
        pipeline_id: q.pipeline_id,
        limit: q.limit.unwrap_or(0),
    };
    let store = state.engine.store().clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || store.list_runs(&filter)).await??,
    ))
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no run with id {id:?}"))
}

async fn detail(state: &AppState, id: &str) -> Result<RunDetail, AppError> {
    let store = state.engine.store().clone();
    let lookup = id.to_string();
    tokio::task::spawn_blocking(move || store.get_run(&lookup))
        .await??
        .ok_or_else(|| not_found(id))
}

/// `GET /api/runs/{id}`: the run with its tasks.
pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RunDetail>, AppError> {
    let Path(id) = id?;
    Ok(Json(detail(&state, &id).await?))
}

/// `POST /api/runs/{id}/cancel`: `{"id", "cancelled"}` (false when it had already ended);
/// remote runs are cancelled on their service.
pub async fn cancel(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Path(id) = id?;
    if state.targets.is_remote(&id).unwrap_or(false) {
        return match state.targets.cancel(&id).await {
            Ok(cancelled) => Ok(Json(json!({ "id": id, "cancelled": cancelled })).into_response()),
            Err(e) => Ok(e.into_response()),
        };
    }
    let engine = state.engine.clone();
    let lookup = id.clone();
    let cancelled = tokio::task::spawn_blocking(move || engine.cancel(&lookup)).await??;
    Ok(Json(json!({ "id": id, "cancelled": cancelled })).into_response())
}

/// `POST /api/runs/{id}/rerun`: a new run like this one; 201 with its id.
pub async fn rerun(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<impl IntoResponse, AppError> {
    let Path(id) = id?;
    let engine = state.engine.clone();
    let new_id = tokio::task::spawn_blocking(move || engine.rerun(&id)).await??;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/runs/{new_id}"))],
        Json(Started { id: new_id }),
    ))
}

fn sse_stream(
    mut rx: mpsc::Receiver<Event>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|e| e.map(Ok)))
}

fn event_json(name: &str, v: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

/// `GET /api/runs/{id}/events`: the run's state changes as server-sent events.
pub async fn events(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let Path(id) = id?;
    let mut rx = state.engine.events().subscribe();
    let first = detail(&state, &id).await?;
    let (tx, out) = mpsc::channel::<Event>(256);
    let store = state.engine.store().clone();
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let mut snapshot = Some(first);
        loop {
            if let Some(s) = snapshot.take() {
                let ended = s.summary.state.is_final();
                if tx.send(event_json("snapshot", &s)).await.is_err() || ended {
                    return;
                }
            }
            let next = tokio::select! {
                e = rx.recv() => e,
                () = shutdown.wait() => return,
            };
            match next {
                Ok(e) if e.run_id() == id => {
                    let (name, ended) = match &e {
                        EngineEvent::Run(r) => ("run", r.state.is_final()),
                        EngineEvent::Task(_) => ("task", false),
                    };
                    if tx.send(event_json(name, &e)).await.is_err() || ended {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Fell behind: send the whole state again.
                    let store = store.clone();
                    let lookup = id.clone();
                    match tokio::task::spawn_blocking(move || store.get_run(&lookup)).await {
                        Ok(Ok(Some(d))) => snapshot = Some(d),
                        _ => return,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(Sse::new(sse_stream(out)).keep_alive(KeepAlive::default()))
}

/// `GET /api/runs/{id}/document`: the document the run was started from, as it was then.
pub async fn document(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Path(id) = id?;
    let store = state.engine.store().clone();
    let lookup = id.clone();
    let source = tokio::task::spawn_blocking(move || store.run_source(&lookup))
        .await??
        .ok_or_else(|| not_found(&id))?;
    let Some(doc) = source.document else {
        return Err(AppError::NotFound(format!(
            "run {id} was started from a compiled spec, not from a canvas document"
        )));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        doc,
    )
        .into_response())
}

/// Options of the log endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// `1`/`true`: stream new lines as server-sent events until the task ends.
    pub follow: Option<String>,
    /// Start at this byte offset.
    pub offset: Option<u64>,
}

/// `GET /api/runs/{id}/tasks/{path}` (the task) and `…/{path}/logs` (its log).
pub async fn task(
    State(state): State<AppState>,
    params: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Path((id, rest)) = params?;
    let Query(q) = q?;
    let rest = rest.trim_start_matches('/');
    let (path, logs) = match rest.strip_suffix("/logs") {
        Some(p) => (p.to_string(), true),
        None => (rest.to_string(), false),
    };
    let store = state.engine.store().clone();
    let (lookup_id, lookup_path) = (id.clone(), path.clone());
    let found =
        tokio::task::spawn_blocking(move || store.get_task(&lookup_id, &lookup_path)).await??;
    let Some((row, log)) = found else {
        if detail(&state, &id).await.is_err() {
            return Err(not_found(&id));
        }
        return Err(AppError::NotFound(format!("run {id} has no task {path:?}")));
    };
    if !logs {
        return Ok(Json(row).into_response());
    }
    let follow = matches!(q.follow.as_deref(), Some("1" | "true" | "yes"));
    let offset = q.offset.unwrap_or(0);
    if !follow {
        let text = match &log {
            Some(p) => read_from(p, offset).await,
            None => Vec::new(),
        };
        return Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response());
    }
    let (tx, out) = mpsc::channel::<Event>(256);
    let store = state.engine.store().clone();
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = follow_log(store, id, path, log, offset, tx) => {}
            () = shutdown.wait() => {}
        }
    });
    Ok(Sse::new(sse_stream(out))
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn read_from(path: &std::path::Path, offset: u64) -> Vec<u8> {
    let Ok(mut f) = tokio::fs::File::open(path).await else {
        return Vec::new();
    };
    if f.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf).await;
    buf
}

/// Streams a task's log, line by line, until the task has ended and everything is sent.
async fn follow_log(
    store: crate::engine::RunStore,
    id: String,
    path: String,
    mut log: Option<PathBuf>,
    mut offset: u64,
    tx: mpsc::Sender<Event>,
) {
    let mut partial: Vec<u8> = Vec::new();
    loop {
        let (row_state, row_log) = {
            let store = store.clone();
            let (i, p) = (id.clone(), path.clone());
            match tokio::task::spawn_blocking(move || store.get_task(&i, &p)).await {
                Ok(Ok(Some((row, l)))) => (row.state, l),
                _ => return,
            }
        };
        if log.is_none() {
            log = row_log;
        }
        let ended = row_state.is_final();
        let chunk = match &log {
            Some(p) => read_from(p, offset).await,
            None => Vec::new(),
        };
        offset += chunk.len() as u64;
        partial.extend_from_slice(&chunk);
        while let Some(nl) = partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = partial.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if tx
                .send(Event::default().event("log").data(text))
                .await
                .is_err()
            {
                return;
            }
        }
        if ended && chunk.is_empty() {
            if !partial.is_empty() {
                let text = String::from_utf8_lossy(&partial).into_owned();
                let _ = tx.send(Event::default().event("log").data(text)).await;
            }
            let _ = tx
                .send(event_json(
                    "end",
                    &json!({ "state": row_state, "offset": offset }),
                ))
                .await;
            return;
        }
        if chunk.is_empty() {
            tokio::time::sleep(Duration::from_millis(if row_state == TaskState::Running {
                50
            } else {
                200
            }))
            .await;
        }
    }
}

/// The artifact to read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactQuery {
    /// The artifact's URI (a local path under the run's folder or an earlier run's).
    pub uri: String,
}

/// Largest artifact file served.
const MAX_ARTIFACT_BYTES: u64 = 16 * 1024 * 1024;

/// `GET /api/runs/{id}/artifact?uri=…`: a local artifact file (markdown, HTML, CSV, …).
pub async fn artifact(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<ArtifactQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Path(id) = id?;
    let Query(q) = q?;
    detail(&state, &id).await?;
    let runs_root = state.engine.run_dir(&id);
    let runs_root = runs_root.parent().map(PathBuf::from).unwrap_or(runs_root);
    if crate::engine::values::is_remote(&q.uri) {
        return Err(AppError::BadRequest(format!(
            "{} is a remote artifact; only local artifacts can be read here",
            q.uri
        )));
    }
    crate::engine::values::confine(&q.uri, &runs_root).map_err(AppError::BadRequest)?;
    let path = crate::engine::values::local_path(&q.uri);
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|_| AppError::NotFound(format!("artifact {} does not exist", q.uri)))?;
    if !meta.is_file() {
        return Err(AppError::BadRequest(format!(
            "artifact {} is a folder, not a file",
            q.uri
        )));
    }
    if meta.len() > MAX_ARTIFACT_BYTES {
        return Err(AppError::BadRequest(format!(
            "artifact {} is larger than {} MiB",
            q.uri,
            MAX_ARTIFACT_BYTES / (1024 * 1024)
        )));
    }
    let bytes = tokio::fs::read(&path).await.map_err(AppError::internal)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mime = match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ if std::str::from_utf8(&bytes).is_ok() => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            // HTML artifacts are shown sandboxed; never run scripts in the app's origin.
            (header::CONTENT_SECURITY_POLICY, "sandbox"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::parse_create;

    /// Any JSON value, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("document".to_string()),
                        Just("spec".to_string()),
                        Just("parameters".to_string()),
                        Just("options".to_string()),
                        Just("target".to_string()),
                        Just("platformSpec".to_string()),
                        ".{0,8}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A run request that compiles, with its parts replaced by arbitrary values.
    fn mutated_request() -> impl Strategy<Value = Value> {
        let seed: Value = serde_json::from_str(include_str!(
            "../../../examples/pytorch-text-classification.pipeline.json"
        ))
        .unwrap_or(Value::Null);
        (
            prop_oneof![
                Just("document"),
                Just("parameters"),
                Just("options"),
                Just("target")
            ],
            any_json(),
        )
            .prop_map(move |(key, value)| {
                let mut r = json!({"document": seed.clone(), "parameters": {"project": "p"}});
                r[key] = value;
                r
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any body is answered with a run request or a clear error, never a panic.
        #[test]
        fn any_run_request_body_is_answered(body in prop_oneof![any_json(), mutated_request()]) {
            let text = body.to_string();
            if let Err(e) = parse_create(text.as_bytes()) {
                prop_assert!(!e.to_string().is_empty());
                prop_assert!(e.status().is_client_error(), "{e}");
            }
        }

        /// Arbitrary bytes too.
        #[test]
        fn any_bytes_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Err(e) = parse_create(&bytes) {
                prop_assert!(e.status().is_client_error(), "{e}");
            }
        }
    }
}
