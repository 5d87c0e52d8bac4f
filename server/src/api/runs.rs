//! Runs on the local engine.
//!
//! - `POST /api/runs` body `{"document": Document}` or `{"spec": PipelineSpec | "yaml text"}`,
//!   with optional `"parameters"`, `"options"` (`enableCaching`, `taskTimeoutSeconds`),
//!   `"platformSpec"` and `"pipelineId"` → 201 `{"id"}`. With `"target": "vertex" | "kfp"`
//!   (default `"local"`) the run is submitted there instead ([`super::targets`]).
//! - `GET /api/runs?state=&pipeline=&pipelineId=&limit=`: runs, newest first.
//! - `GET /api/runs/table?state=&pipeline=&q=&sort=&desc=&limit=&format=json|csv`: the runs
//!   table ([`api::RunTable`]: `param.`/`metric.` columns), filtered and sorted; `format=csv`
//!   downloads it as `runs.csv`.
//! - `GET /api/runs/{id}`: the run and its tasks (state, times, inputs, outputs, artifacts,
//!   error, cached, attempts, note).
//! - `POST /api/runs/{id}/cancel`, `POST /api/runs/{id}/rerun` (→ 201 `{"id"}`).
//! - `GET /api/runs/{id}/events[?log=<task path>[&logOffset=N | &logTail=N]]`: the one stream
//!   a page needs to follow a run, as server-sent events:
//!   - `snapshot` (the run as `GET` gives it), then `run` and `task` events as states change
//!     (the `type`-tagged engine events); after the run has ended, none;
//!   - with `log`, that task's log: `log` events `{"from": offset, "text": "…"}`
//!     ([`api::LogPiece`]: pieces of at most 64 KiB, cut anywhere but inside a character, the
//!     client joins them; the event's `id` is the offset after the piece, so a reconnecting
//!     browser's `Last-Event-ID` goes on from there), from `logOffset` (default 0) or the last
//!     `logTail` bytes (from a line start, [`super::logs`]), then `logEnd` `{"path", "state",
//!     "offset"}` ([`api::LogEnd`]) once the task (or the run) has ended and everything is sent
//!     (a task the run has not reached yet is followed from when it starts; `state` is null if
//!     the run ended without it);
//!   - the stream ends when nothing is left to follow (the run has ended and the log, if any,
//!     is complete), when the client goes away, or when the server stops. A page opens one
//!     stream at a time and opens a new one when another task's log is wanted.
//!
//!   When a followed log has nothing new, it is read again after 50 ms, then at doubling
//!   intervals up to 400 ms; the task's state comes from the engine's events (no database
//!   query while waiting).
//! - `GET /api/runs/{id}/tasks/{path}`: one task; `…/{path}/logs`: its log as text, streamed
//!   (`?offset=N` from a byte offset, `?tail=N` the last N bytes from a line start; the
//!   `X-Log-Offset` header tells where the body starts).
//! - `GET /api/runs/{id}/artifact?uri=…`: the content of a local artifact file of the run.
//! - `GET /api/runs/{id}/document`: the document the run was compiled from (404 when it was
//!   started from a spec).
//! - `GET /api/runs/{a}/diff/{b}`: how run `b`'s graph differs from run `a`'s
//!   ([`api::RunDiff`]: tasks added, removed and changed, parameter changes, cache flips, state
//!   differences, dependencies and a layout).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use api::{Cancelled, CreateRun, LogEnd, LogPiece, Started};
use engine::{
    EngineEvent, RunDetail, RunFilter, RunRequest, RunState, RunStore, RunSummary, TaskRow,
    TaskState,
};
use pipeline::ir::PipelineSpec;

use super::logs;
use crate::error::AppError;
use crate::server::{AppState, Shutdown};

fn parse_create(body: &[u8]) -> Result<(RunRequest, Option<String>), AppError> {
    let b: CreateRun = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("invalid run request: {e}")))?;
    let mut req = match (b.document, b.spec) {
        (Some(doc), None) => {
            let doc = crate::error::parse_document(doc.to_string().as_bytes())?;
            match RunRequest::from_document(&doc) {
                (Some(r), _) => r,
                (None, diagnostics) => return Err(AppError::Compile { diagnostics }),
            }
        }
        (None, Some(Value::String(text))) => RunRequest::from_spec_file(
            pipeline::import::parse_file(&text)
                .map_err(|e| AppError::BadRequest(format!("invalid spec: {e}")))?,
        ),
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
    let target = targets::Target::parse(target.as_deref().unwrap_or("local"))
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    if target != targets::Target::Local {
        return Ok(super::targets::create_remote(&state, target, req).await);
    }
    // Submitting records the run in SQLite and makes its folder: off the async threads.
    let engine = state.engine.clone();
    let id = tokio::task::spawn_blocking(move || engine.submit(req)).await??;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/runs/{id}"))],
        Json(Started::local(id)),
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
        Some(s) => Some(parse_state(s)?),
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

/// The runs table's query (`GET /api/runs/table`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableParams {
    /// Only runs in this state (`RUNNING`, `FAILED`, …; any case).
    pub state: Option<String>,
    /// Only runs of this pipeline name.
    pub pipeline: Option<String>,
    /// Only runs with a cell that contains this text, ignoring case.
    pub q: Option<String>,
    /// The column to sort by (`param.lr`, `metric.accuracy`, `state`, …); none: newest first.
    pub sort: Option<String>,
    /// Sort from the largest value down.
    #[serde(default)]
    pub desc: bool,
    /// At most this many rows (0 or none: 200; at most 10,000).
    pub limit: Option<usize>,
    /// `json` (the default: an [`api::RunTable`]) or `csv` (a download, `runs.csv`).
    pub format: Option<String>,
}

/// `GET /api/runs/table`: the runs table ([`runs::table`]) — a row per run with its
/// `param.`/`metric.` columns, filtered, sorted and cut — as JSON, or with `format=csv` as the
/// CSV `pipeline-canvas runs --format csv` writes.
pub async fn table(
    State(state): State<AppState>,
    q: Result<Query<TableParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = q?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "unknown table format {other:?}; use json or csv"
            )))
        }
    };
    let query = runs::TableQuery {
        pipeline: q.pipeline,
        state: match &q.state {
            Some(s) => Some(parse_state(s)?),
            None => None,
        },
        text: q.q,
        sort: q.sort,
        descending: q.desc,
        limit: q.limit.unwrap_or(0),
    };
    let store = state.engine.store().clone();
    let table = tokio::task::spawn_blocking(move || store.run_table(&query))
        .await?
        .map_err(|e| match e {
            runs::TableError::Store(e) => AppError::from(e),
            e @ runs::TableError::SortColumn(_) => AppError::BadRequest(e.to_string()),
        })?;
    if !csv {
        return Ok(Json(table).into_response());
    }
    let body = crate::runs_table::to_csv(&table).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"runs.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// A run state as a query gives it (any case).
fn parse_state(s: &str) -> Result<RunState, AppError> {
    RunState::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
        AppError::BadRequest(format!(
            "unknown run state {s:?}; use PENDING, RUNNING, SUCCEEDED, FAILED or CANCELLED"
        ))
    })
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

/// `GET /api/runs/{a}/diff/{b}`: how run `b` differs from run `a`.
pub async fn diff(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<api::RunDiff>, AppError> {
    let Path((a, b)) = ids?;
    let store = state.engine.store().clone();
    let load = move |id: &str| -> Result<
        Result<(RunDetail, Option<PipelineSpec>), String>,
        runs::StoreError,
    > {
        let (Some(run), Some(source)) = (store.get_run(id)?, store.run_source(id)?) else {
            return Ok(Err(id.to_string()));
        };
        // A spec this version cannot read still compares by values and states.
        Ok(Ok((run, serde_json::from_str(&source.spec).ok())))
    };
    let (da, db) =
        tokio::task::spawn_blocking(move || Ok::<_, runs::StoreError>((load(&a)?, load(&b)?)))
            .await??;
    let (ra, sa) = da.map_err(|id| not_found(&id))?;
    let (rb, sb) = db.map_err(|id| not_found(&id))?;
    Ok(Json(runs::diff_runs(
        &runs::DiffSide {
            run: &ra,
            spec: sa.as_ref(),
        },
        &runs::DiffSide {
            run: &rb,
            spec: sb.as_ref(),
        },
    )))
}

/// `GET /api/runs/{id}`: the run with its tasks.
pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RunDetail>, AppError> {
    let Path(id) = id?;
    Ok(Json(detail(&state, &id).await?))
}

/// `POST /api/runs/{id}/cancel`: [`Cancelled`] (`cancelled` is false when it had already ended);
/// remote runs are cancelled on their service.
pub async fn cancel(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Path(id) = id?;
    if state.targets.is_remote(&id).await.unwrap_or(false) {
        return match state.targets.cancel(&id).await {
            Ok(cancelled) => Ok(Json(Cancelled { id, cancelled }).into_response()),
            Err(e) => Err(AppError::from(e)),
        };
    }
    let engine = state.engine.clone();
    let lookup = id.clone();
    let cancelled = tokio::task::spawn_blocking(move || engine.cancel(&lookup)).await??;
    Ok(Json(Cancelled { id, cancelled }).into_response())
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
        Json(Started::local(new_id)),
    ))
}

fn event_json(name: &str, v: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

/// Options of the event stream.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsQuery {
    /// Also follow the log of this task (its path): `log` and `logEnd` events.
    pub log: Option<String>,
    /// Start the log at this byte offset.
    pub log_offset: Option<u64>,
    /// Start the log at most this many bytes before its end, at a line start.
    pub log_tail: Option<u64>,
}

/// Where the followed log starts: where a reconnecting browser left off (`Last-Event-ID`, the
/// offset after the last `log` event it got), else `logOffset` or `logTail`.
fn log_start(q: &EventsQuery, headers: &HeaderMap) -> Result<logs::Start, AppError> {
    if let Some(v) = headers.get("last-event-id") {
        return v
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .map(logs::Start::Offset)
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "Last-Event-ID {v:?} is not a log offset (a whole number of bytes)"
                ))
            });
    }
    match (q.log_offset, q.log_tail) {
        (Some(_), Some(_)) => Err(AppError::BadRequest(
            "give logOffset or logTail, not both".into(),
        )),
        (Some(n), None) => Ok(logs::Start::Offset(n)),
        (None, Some(n)) => Ok(logs::Start::Tail(n)),
        (None, None) => Ok(logs::Start::default()),
    }
}

/// `GET /api/runs/{id}/events`: the run's state changes and, with `?log=`, a task's log, as
/// server-sent events (see the module docs).
pub async fn events(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let Path(id) = id?;
    let Query(q) = q?;
    // Listening before reading the run: nothing that happens in between is missed.
    let rx = state.engine.events().subscribe();
    let first = detail(&state, &id).await?;
    let log = match &q.log {
        Some(path) => {
            let start = log_start(&q, &headers)?;
            // A task the run has not reached yet is followed from when it appears.
            let store = state.engine.store().clone();
            let (i, p) = (id.clone(), path.clone());
            let found = tokio::task::spawn_blocking(move || store.get_task(&i, &p)).await??;
            let (task_state, file) = match found {
                Some((row, file)) => (Some(row.state), file),
                None => (None, None),
            };
            Some(LogFollow::new(path.clone(), start, task_state, file))
        }
        None if q.log_offset.is_some() || q.log_tail.is_some() => {
            return Err(AppError::BadRequest(
                "logOffset and logTail need log=<task path>".into(),
            ))
        }
        None => None,
    };
    let follow = Follow {
        id,
        store: state.engine.store().clone(),
        rx,
        shutdown: state.shutdown.clone(),
        snapshot: Some(first),
        run_ended: false,
        log,
    };
    Ok(Sse::new(follow.into_stream()).keep_alive(KeepAlive::default()))
}

/// The first wait for a followed log to grow after it has reached its end; each empty read
/// doubles it, up to [`LOG_POLL_MAX`].
const LOG_POLL_MIN: Duration = Duration::from_millis(50);
/// The longest wait for a followed log to grow.
const LOG_POLL_MAX: Duration = Duration::from_millis(400);

/// One client's event stream. It is a stream the response pulls from (no task of its own), so
/// it stops the moment the client goes away and the server drops the response.
struct Follow {
    id: String,
    store: RunStore,
    rx: broadcast::Receiver<EngineEvent>,
    shutdown: Shutdown,
    /// The whole run, to send next.
    snapshot: Option<RunDetail>,
    /// The run has ended: no more run events.
    run_ended: bool,
    /// The log followed, until its `logEnd` is sent.
    log: Option<LogFollow>,
}

/// What an engine event means for a stream.
enum Seen {
    /// Send this.
    Send(Event),
    /// Nothing to send (another run's event, or a snapshot is due).
    Skip,
    /// End the stream.
    Stop,
}

impl Follow {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures_util::stream::unfold(self, |mut f| async move {
            let event = f.next().await?;
            Some((Ok(event), f))
        })
    }

    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(s) = self.snapshot.take() {
                if s.summary.state.is_final() {
                    self.run_ended();
                }
                if let Some(log) = &mut self.log {
                    if let Some(t) = s.tasks.iter().find(|t| t.path == log.path) {
                        log.task_state(t.state);
                    }
                }
                return Some(event_json("snapshot", &s));
            }
            // Run events first, so that a long log does not hold them back.
            if !self.run_ended {
                let got = match self.rx.try_recv() {
                    Ok(e) => Some(Ok(e)),
                    Err(broadcast::error::TryRecvError::Empty) => None,
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        Some(Err(broadcast::error::RecvError::Lagged(n)))
                    }
                    Err(broadcast::error::TryRecvError::Closed) => {
                        Some(Err(broadcast::error::RecvError::Closed))
                    }
                };
                if let Some(got) = got {
                    match self.seen(got).await {
                        Seen::Send(e) => return Some(e),
                        Seen::Skip => continue,
                        Seen::Stop => return None,
                    }
                }
            }
            if let Some(log) = &mut self.log {
                let step = tokio::select! {
                    biased;
                    () = self.shutdown.wait() => return None,
                    step = log.step() => step,
                };
                match step {
                    LogStep::Send(e) => return Some(e),
                    LogStep::End(e) => {
                        self.log = None;
                        return Some(e);
                    }
                    LogStep::Wait => {}
                }
            }
            if self.run_ended && self.log.is_none() {
                return None;
            }
            let poll = self.log.as_ref().and_then(LogFollow::poll_after);
            let got = tokio::select! {
                biased;
                () = self.shutdown.wait() => return None,
                e = self.rx.recv(), if !self.run_ended => Some(e),
                () = tokio::time::sleep(poll.unwrap_or_default()), if poll.is_some() => None,
            };
            if let Some(got) = got {
                match self.seen(got).await {
                    Seen::Send(e) => return Some(e),
                    Seen::Skip => {}
                    Seen::Stop => return None,
                }
            }
        }
    }

    /// The run has ended: no more run events; the log is read to its end.
    fn run_ended(&mut self) {
        self.run_ended = true;
        if let Some(log) = &mut self.log {
            log.ended = true;
        }
    }

    async fn seen(&mut self, e: Result<EngineEvent, broadcast::error::RecvError>) -> Seen {
        match e {
            Ok(e) if e.run_id() == self.id => {
                let name = match &e {
                    EngineEvent::Run(r) => {
                        if r.state.is_final() {
                            self.run_ended();
                        }
                        "run"
                    }
                    EngineEvent::Task(t) => {
                        if let Some(log) = self.log.as_mut().filter(|l| l.path == t.path) {
                            log.task_state(t.state);
                            if log.file.is_none() {
                                log.refresh(&self.store, &self.id).await;
                            }
                        }
                        "task"
                    }
                };
                Seen::Send(event_json(name, &e))
            }
            Ok(_) => Seen::Skip,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Fell behind: send the whole state again.
                let store = self.store.clone();
                let lookup = self.id.clone();
                match tokio::task::spawn_blocking(move || store.get_run(&lookup)).await {
                    Ok(Ok(Some(d))) => {
                        if let Some(log) = &mut self.log {
                            log.refresh(&self.store, &self.id).await;
                        }
                        self.snapshot = Some(d);
                        Seen::Skip
                    }
                    _ => Seen::Stop,
                }
            }
            Err(broadcast::error::RecvError::Closed) => Seen::Stop,
        }
    }
}

/// The log part of an event stream.
struct LogFollow {
    /// The task.
    path: String,
    /// Where to start once the file can be opened.
    start: logs::Start,
    /// The log file, once the task has one.
    file: Option<PathBuf>,
    reader: Option<logs::LogReader>,
    /// The task's state as last seen (`None`: the run has not reached it yet).
    state: Option<TaskState>,
    /// The task (or the run) has ended: read to the end, then `logEnd`.
    ended: bool,
    /// How long to wait before reading again at the end of the file.
    idle: Duration,
    /// Where the log has been sent up to.
    offset: u64,
}

/// What the log part has to send.
enum LogStep {
    /// A `log` event.
    Send(Event),
    /// The `logEnd` event: the log part is done.
    End(Event),
    /// Nothing now: wait for the log to grow ([`LogFollow::poll_after`]) or the task to start.
    Wait,
}

impl LogFollow {
    fn new(
        path: String,
        start: logs::Start,
        state: Option<TaskState>,
        file: Option<PathBuf>,
    ) -> Self {
        Self {
            path,
            start,
            file,
            reader: None,
            state,
            ended: state.is_some_and(TaskState::is_final),
            idle: Duration::ZERO,
            offset: match start {
                logs::Start::Offset(n) => n,
                logs::Start::Tail(_) => 0,
            },
        }
    }

    fn task_state(&mut self, state: TaskState) {
        self.state = Some(state);
        if state.is_final() {
            self.ended = true;
        }
    }

    /// Reads the task's state and log file from the store.
    async fn refresh(&mut self, store: &RunStore, run_id: &str) {
        let store = store.clone();
        let (i, p) = (run_id.to_string(), self.path.clone());
        if let Ok(Ok(Some((row, file)))) =
            tokio::task::spawn_blocking(move || store.get_task(&i, &p)).await
        {
            self.task_state(row.state);
            if file.is_some() {
                self.file = file;
            }
        }
    }

    /// How long to wait before reading again; `None`: until the task's next event.
    fn poll_after(&self) -> Option<Duration> {
        (self.file.is_some() && !self.ended).then_some(self.idle)
    }

    /// Nothing new: wait longer next time.
    fn idle(&mut self) -> LogStep {
        self.idle = (self.idle * 2).clamp(LOG_POLL_MIN, LOG_POLL_MAX);
        LogStep::Wait
    }

    fn piece(&mut self, piece: logs::Piece) -> LogStep {
        self.offset = piece.to;
        self.idle = Duration::ZERO;
        let data = LogPiece {
            from: piece.from,
            text: piece.text,
        };
        LogStep::Send(event_json("log", &data).id(piece.to.to_string()))
    }

    fn end(&mut self, error: Option<std::io::Error>) -> LogStep {
        if let Some(e) = &error {
            tracing::warn!(task = %self.path, error = %e, "cannot read a task's log");
        }
        let data = LogEnd {
            path: self.path.clone(),
            state: self.state,
            offset: self.offset,
            error: error.map(|_| "the log could not be read".to_string()),
        };
        LogStep::End(event_json("logEnd", &data))
    }

    async fn step(&mut self) -> LogStep {
        if self.reader.is_none() {
            let Some(file) = &self.file else {
                return if self.ended {
                    self.end(None)
                } else {
                    LogStep::Wait
                };
            };
            match logs::LogReader::open(file, self.start).await {
                Ok(Some(r)) => {
                    self.offset = r.offset();
                    self.reader = Some(r);
                }
                Ok(None) if self.ended => return self.end(None),
                Ok(None) => return self.idle(),
                Err(e) => return self.end(Some(e)),
            }
        }
        let Some(reader) = &mut self.reader else {
            return LogStep::Wait;
        };
        match reader.next().await {
            Ok(Some(piece)) => self.piece(piece),
            Ok(None) if self.ended => match reader.finish() {
                Some(rest) => self.piece(rest),
                None => self.end(None),
            },
            Ok(None) => self.idle(),
            Err(e) => self.end(Some(e)),
        }
    }
}

/// A task of a run and its log file; 404 when the run or the task does not exist.
async fn find_task(
    state: &AppState,
    id: &str,
    path: &str,
) -> Result<(TaskRow, Option<PathBuf>), AppError> {
    let store = state.engine.store().clone();
    let (lookup_id, lookup_path) = (id.to_string(), path.to_string());
    let found =
        tokio::task::spawn_blocking(move || store.get_task(&lookup_id, &lookup_path)).await??;
    match found {
        Some(found) => Ok(found),
        None => {
            detail(state, id).await?;
            Err(AppError::NotFound(format!("run {id} has no task {path:?}")))
        }
    }
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

/// Options of the log endpoint (at most one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Start at this byte offset.
    pub offset: Option<u64>,
    /// At most the last this many bytes, from the start of a line (see [`super::logs`]).
    pub tail: Option<u64>,
}

/// `GET /api/runs/{id}/tasks/{path}` (the task) and `…/{path}/logs` (its log, streamed; the
/// `X-Log-Offset` header says at which byte offset of the file the body starts).
pub async fn task(
    State(state): State<AppState>,
    params: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Path((id, rest)) = params?;
    let Query(q) = q?;
    let rest = rest.trim_start_matches('/');
    let (path, logs) = match rest.strip_suffix("/logs") {
        Some(p) => (p, true),
        None => (rest, false),
    };
    let start = match (q.offset, q.tail) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest("give offset or tail, not both".into()))
        }
        (Some(_), None) | (None, Some(_)) if !logs => {
            return Err(AppError::BadRequest(
                "offset and tail are options of …/logs".into(),
            ))
        }
        (Some(n), None) => logs::Start::Offset(n),
        (None, Some(n)) => logs::Start::Tail(n),
        (None, None) => logs::Start::default(),
    };
    let (row, log) = find_task(&state, &id, path).await?;
    if !logs {
        return Ok(Json(row).into_response());
    }
    let (body, from) = logs::body(log.as_deref(), start)
        .await
        .map_err(AppError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (HeaderName::from_static("x-log-offset"), from.to_string()),
        ],
        body,
    )
        .into_response())
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
    if engine::values::is_remote(&q.uri) {
        return Err(AppError::BadRequest(format!(
            "{} is a remote artifact; only local artifacts can be read here",
            q.uri
        )));
    }
    engine::values::confine(&q.uri, &runs_root).map_err(AppError::BadRequest)?;
    let path = engine::values::local_path(&q.uri);
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
