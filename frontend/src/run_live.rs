//! The run shown on the canvas: starting a run of the current document on the local engine,
//! following its event stream, cancelling, re-running and opening past runs. Shared through
//! Leptos context as [`RunCtx`].
//!
//! A page keeps at most one event stream (`EventSource`) open: `/api/runs/{id}/events`, with
//! `?log=<task path>&logTail=…` when the Run tab shows a task's log, so the run's states and
//! that log come on one connection (browsers allow six per server over HTTP/1.1, shared by
//! every tab). Showing another task's log opens the stream again for it ([`show_log`]); the
//! stream is closed once the run has ended and the log is complete.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use ::api::{Cancelled, CreateRun, Event, LogEnd, LogPiece, RunDetail, RunState, Started};
use leptos::prelude::*;
use pipeline::map::Map;
use pipeline::Document;
use serde_json::Value;
use wasm_split_helpers::wasm_split;

use crate::api;
use crate::chunks::{self, Unloaded};
use crate::run_model::{ElemStatus, LiveRun, LogBuf};
use crate::sse::{Next, Stream};
use crate::state::{AppState, Selection, Tab};
use crate::targets_ui::{service_name, setting_of};

/// The run state shared by the toolbar, canvas, task panel and runs list. Copy: all fields
/// are reactive handles.
#[derive(Clone, Copy)]
pub struct RunCtx {
    /// The run shown on the canvas.
    pub run: RwSignal<Option<LiveRun>>,
    /// The clock for elapsed times, ms since the epoch (ticks while a run is going).
    pub now: RwSignal<f64>,
    /// A run is being submitted.
    pub starting: RwSignal<bool>,
    /// The parameter dialog is open.
    pub dialog: RwSignal<bool>,
    /// Where Run submits: `local`, `vertex` or `kfp` (remembered in the browser).
    pub target: RwSignal<String>,
    /// The target settings dialog is open.
    pub settings: RwSignal<bool>,
    /// The setting a refused submit named: (field id such as `vertex-project`, message).
    pub setting_error: RwSignal<Option<(String, String)>>,
    /// The task instance picked in the task panel (a path), when the element has several.
    pub instance: RwSignal<Option<String>>,
    /// Bumped whenever the list of runs may have changed.
    pub list_version: RwSignal<u64>,
    /// Whether the run shown is of the pipeline on the canvas (same pipeline name); states
    /// are only drawn on a canvas they belong to.
    pub on_canvas: Memo<bool>,
    /// The log of the task shown in the Run tab, as it arrives on the run's stream.
    pub log: RwSignal<LogBuf>,
    stream: StoredValue<Option<Stream>, LocalStorage>,
}

/// The run context (provided by the app root).
pub fn use_runs() -> RunCtx {
    expect_context::<RunCtx>()
}

impl RunCtx {
    /// Creates the context, its clock, and the switch to the Run tab when a canvas element
    /// is selected while a run is shown.
    pub fn install(st: AppState) -> Self {
        let run = RwSignal::new(None::<LiveRun>);
        let doc_name = Memo::new(move |_| st.doc.with(|d| d.name.clone()));
        let on_canvas = Memo::new(move |_| {
            run.with(|r| {
                r.as_ref()
                    .is_some_and(|r| doc_name.with(|n| *n == r.summary.pipeline_name))
            })
        });
        let ctx = Self {
            run,
            on_canvas,
            now: RwSignal::new(js_sys::Date::now()),
            starting: RwSignal::new(false),
            dialog: RwSignal::new(false),
            target: RwSignal::new(crate::targets_ui::load_target()),
            settings: RwSignal::new(false),
            setting_error: RwSignal::new(None),
            instance: RwSignal::new(None),
            list_version: RwSignal::new(0),
            log: RwSignal::new(LogBuf::default()),
            stream: StoredValue::new_local(None),
        };
        provide_context(ctx);
        let tick = move || {
            if ctx
                .run
                .with_untracked(|r| r.as_ref().is_some_and(|r| !r.ended()))
            {
                ctx.now.set(js_sys::Date::now());
            }
        };
        if let Ok(h) = set_interval_with_handle(tick, Duration::from_millis(500)) {
            on_cleanup(move || h.clear());
        }
        Effect::new(move |prev: Option<Selection>| {
            let sel = st.selection.get();
            if prev.as_ref() != Some(&sel) {
                ctx.instance.set(None);
                let shown = ctx.on_canvas.get_untracked();
                if shown && matches!(sel, Selection::Node(_) | Selection::Group(_)) {
                    st.tab.set(Tab::Run);
                }
            }
            sel
        });
        ctx
    }

    /// The id of the run shown.
    pub fn run_id(&self) -> Option<String> {
        self.run
            .with_untracked(|r| r.as_ref().map(|r| r.summary.id.clone()))
    }

    /// Stops showing a run on the canvas.
    pub fn clear(&self) {
        self.stream.set_value(None);
        self.run.set(None);
        self.log.set(LogBuf::default());
    }
}

/// The status of canvas element `id` (node or group) in the run shown, reactive.
pub fn elem_status(st: AppState, ctx: RunCtx, id: String) -> Memo<Option<ElemStatus>> {
    Memo::new(move |_| {
        if !ctx.on_canvas.get() {
            return None;
        }
        let path = st.analysis.with(|a| a.task_paths.get(&id).cloned())?;
        ctx.run.with(|r| r.as_ref()?.status_of(&path))
    })
}

// Starting and following a run is the `run` chunk, fetched on the first Run (see `chunks`).

/// Starts a run of the current document with `parameters` and shows it on the canvas.
pub fn start(st: AppState, ctx: RunCtx, parameters: Map<Value>) {
    chunks::run(st, "start the run", start_split(st, ctx, parameters));
}

/// [`start`], from the run chunk.
#[wasm_split(run, fallible)]
fn start_split(st: AppState, ctx: RunCtx, parameters: Map<Value>) -> Result<(), Unloaded> {
    start_now(st, ctx, parameters);
    Ok(())
}

/// [`start`], now.
fn start_now(st: AppState, ctx: RunCtx, parameters: Map<Value>) {
    let errors = st.analysis.with_untracked(|a| a.errors());
    if errors > 0 {
        st.error(format!(
            "Cannot run: the pipeline has {errors} error{}; fix {} first (see Problems)",
            if errors == 1 { "" } else { "s" },
            if errors == 1 { "it" } else { "them" }
        ));
        return;
    }
    if ctx.starting.get_untracked() {
        return;
    }
    let target = ctx.target.get_untracked();
    let pipeline_id = st.saved_id.get_untracked();
    let request = st
        .doc
        .with_untracked(|d| run_request(d, parameters, pipeline_id, &target));
    let body = match request {
        Ok(body) => body,
        Err(e) => {
            st.error(format!("Could not write the run request: {e}"));
            return;
        }
    };
    ctx.starting.set(true);
    let service = service_name(&target);
    api::send_status::<Started>("POST", "/api/runs".into(), body, move |r| {
        ctx.starting.set(false);
        match r {
            Ok(b) if target == "local" => {
                st.info(format!("Started run {}", b.id));
                follow(st, ctx, b.id);
            }
            Ok(b) => {
                st.info(format!("Submitted run {} to {service}", b.id));
                follow(st, ctx, b.id);
                // Shown at once; the run's snapshot carries them too.
                ctx.run.update(|r| {
                    if let Some(r) = r {
                        r.summary.target = Some(target);
                        r.summary.console_link = b.console_link;
                    }
                });
            }
            Err((400, e)) if setting_of(&e).is_some() => {
                st.error(format!("Cannot submit to {service}: {e}"));
                ctx.setting_error.set(setting_of(&e).map(|f| (f, e)));
                ctx.settings.set(true);
            }
            Err((_, e)) => st.error(format!("Could not start the run: {e}")),
        }
    });
}

/// The body of `POST /api/runs` that runs `doc` with `parameters` on `target`.
fn run_request(
    doc: &Document,
    parameters: Map<Value>,
    pipeline_id: Option<String>,
    target: &str,
) -> serde_json::Result<String> {
    let request = CreateRun {
        document: Some(serde_json::to_value(doc)?),
        parameters: parameters.into_iter().collect(),
        pipeline_id,
        target: Some(target.to_string()),
        ..CreateRun::default()
    };
    serde_json::to_string(&request)
}

/// Shows run `id` on the canvas and follows its events until it ends.
pub fn follow(st: AppState, ctx: RunCtx, id: String) {
    chunks::run(st, "follow the run", follow_split(st, ctx, id));
}

/// [`follow`], from the run chunk.
#[wasm_split(run, fallible)]
fn follow_split(st: AppState, ctx: RunCtx, id: String) -> Result<(), Unloaded> {
    follow_now(st, ctx, id);
    Ok(())
}

/// [`follow`], now.
fn follow_now(st: AppState, ctx: RunCtx, id: String) {
    let name = st.doc.with_untracked(|d| d.name.clone());
    ctx.run.set(Some(LiveRun::pending(id, name)));
    ctx.now.set(js_sys::Date::now());
    ctx.list_version.update(|v| *v += 1);
    // The task whose log is shown stays wanted: a re-run of the same pipeline shows the same
    // task's log (a task the run does not have just has no log).
    ctx.log.update(|l| *l = LogBuf::new(&l.path));
    connect(st, ctx);
}

/// Shows the log of task `path` of the run shown: the run's stream is opened again with it,
/// unless it already carries that log.
pub fn show_log(st: AppState, ctx: RunCtx, path: String) {
    if ctx.log.with_untracked(|l| l.path == path) {
        return;
    }
    chunks::run(st, "follow the log", show_log_split(st, ctx, path));
}

/// [`show_log`], from the run chunk.
#[wasm_split(run, fallible)]
fn show_log_split(st: AppState, ctx: RunCtx, path: String) -> Result<(), Unloaded> {
    if ctx.log.with_untracked(|l| l.path != path) {
        ctx.log.set(LogBuf::new(&path));
        connect(st, ctx);
    }
    Ok(())
}

/// How much of the end of a log the stream starts with; earlier output is behind "open raw".
const LOG_TAIL: u64 = 256 * 1024;

/// (Re)opens the event stream of the run shown, with the log of `ctx.log`'s task when one is
/// wanted; the old stream is closed first.
fn connect(st: AppState, ctx: RunCtx) {
    ctx.stream.set_value(None);
    let Some(id) = ctx.run_id() else { return };
    let log = ctx
        .log
        .with_untracked(|l| (!l.path.is_empty()).then(|| l.path.clone()));
    let url = match &log {
        Some(p) => format!(
            "/api/runs/{}/events?log={}&logTail={LOG_TAIL}",
            api::encode(&id),
            api::encode(p)
        ),
        None => format!("/api/runs/{}/events", api::encode(&id)),
    };
    // The stream is closed once both are done (the server ends it then too; a browser would
    // otherwise reconnect).
    let run_done = Rc::new(Cell::new(false));
    let log_done = Rc::new(Cell::new(log.is_none()));
    let current = move |id: &str| ctx.run_id().as_deref() == Some(id);
    let sid = id.clone();
    let on_event = move |name: &str, data: String| {
        if !current(&sid) {
            return Next::Close;
        }
        match name {
            "snapshot" => match serde_json::from_str::<RunDetail>(&data) {
                Ok(d) => {
                    let run = LiveRun::from_detail(d);
                    let ended = run.ended();
                    // A stream opened again for a log sends the ended run again: said once.
                    let was_ended = ctx
                        .run
                        .with_untracked(|r| r.as_ref().is_some_and(LiveRun::ended));
                    let summary = (ended && !was_ended)
                        .then(|| (run.summary.state, run.summary.error.clone()));
                    ctx.run.set(Some(run));
                    if let Some((state, error)) = summary {
                        ended_message(st, ctx, state, error.as_deref(), false);
                    }
                    run_done.set(ended);
                }
                Err(e) => st.error(format!("Unexpected run snapshot: {e}")),
            },
            "run" | "task" => match serde_json::from_str::<Event>(&data) {
                Ok(e) => {
                    let run_state = match &e {
                        Event::Run(r) => Some((r.state, r.error.clone())),
                        Event::Task(_) => None,
                    };
                    ctx.run.update(|r| {
                        if let Some(r) = r {
                            r.apply(e);
                        }
                    });
                    if let Some((state, error)) = run_state {
                        ctx.now.set(js_sys::Date::now());
                        if state.is_final() {
                            ended_message(st, ctx, state, error.as_deref(), true);
                            run_done.set(true);
                        }
                    }
                }
                Err(e) => st.error(format!("Unexpected {name} event: {e}")),
            },
            "log" => match serde_json::from_str::<LogPiece>(&data) {
                Ok(piece) => ctx.log.update(|l| {
                    if log.as_deref() == Some(l.path.as_str()) {
                        l.push(&piece);
                    }
                }),
                Err(e) => st.error(format!("Unexpected log event: {e}")),
            },
            "logEnd" => {
                match serde_json::from_str::<LogEnd>(&data) {
                    Ok(end) => ctx.log.update(|l| {
                        if log.as_deref() == Some(l.path.as_str()) {
                            l.end(&end);
                        }
                    }),
                    Err(e) => st.error(format!("Unexpected log end event: {e}")),
                }
                log_done.set(true);
            }
            _ => {}
        }
        if run_done.get() && log_done.get() {
            Next::Close
        } else {
            Next::Continue
        }
    };
    let eid = id.clone();
    let on_error = move |closed: bool| {
        if closed && current(&eid) {
            st.error(format!(
                "Lost the connection to run {eid}; open it again from Runs to see its state"
            ));
        }
    };
    let names = ["snapshot", "run", "task", "log", "logEnd"];
    match Stream::open(&url, &names, on_event, on_error) {
        Ok(s) => ctx.stream.set_value(Some(s)),
        Err(e) => st.error(e),
    }
}

fn ended_message(st: AppState, ctx: RunCtx, state: RunState, error: Option<&str>, live: bool) {
    ctx.list_version.update(|v| *v += 1);
    if !live {
        return;
    }
    match state {
        RunState::Succeeded => st.success("The run succeeded"),
        RunState::Cancelled => st.info("The run was cancelled"),
        _ => st.error(format!(
            "The run failed{}",
            error.map(|e| format!(": {e}")).unwrap_or_default()
        )),
    }
}

/// Cancels run `id`. Only a run the page follows or lists can be cancelled, so this is in the
/// run chunk too.
pub fn cancel(st: AppState, ctx: RunCtx, id: String) {
    chunks::run(st, "cancel the run", cancel_split(st, ctx, id));
}

/// [`cancel`], from the run chunk.
#[wasm_split(run, fallible)]
fn cancel_split(st: AppState, ctx: RunCtx, id: String) -> Result<(), Unloaded> {
    cancel_now(st, ctx, id);
    Ok(())
}

/// [`cancel`], now.
fn cancel_now(st: AppState, ctx: RunCtx, id: String) {
    let url = format!("/api/runs/{}/cancel", api::encode(&id));
    api::send::<Cancelled>("POST", url, "{}".into(), move |r| match r {
        Ok(Cancelled {
            cancelled: false, ..
        }) => {
            st.info(format!("Run {id} had already ended"));
        }
        Ok(_) => {
            st.info(format!("Cancelling run {id}…"));
            ctx.list_version.update(|v| *v += 1);
        }
        Err(e) => st.error(format!("Could not cancel run {id}: {e}")),
    });
}

/// Starts a new run like run `id` and shows it (with its document when it has one).
pub fn rerun(st: AppState, ctx: RunCtx, id: String) {
    let url = format!("/api/runs/{}/rerun", api::encode(&id));
    let shown = ctx.run_id().as_deref() == Some(id.as_str());
    api::send::<Started>("POST", url, "{}".into(), move |r| match r {
        Ok(b) => {
            st.info(format!("Re-running run {id} as {}", b.id));
            if shown {
                follow(st, ctx, b.id);
            } else {
                open(st, ctx, b.id);
            }
        }
        Err(e) => st.error(format!("Could not re-run run {id}: {e}")),
    });
}

/// Opens run `id`: puts the document it ran on the canvas (as an edit Undo takes back) and
/// shows its states. A run started from a compiled spec has no document; its states are shown
/// on the current canvas where the task names match.
pub fn open(st: AppState, ctx: RunCtx, id: String) {
    let url = format!("/api/runs/{}/document", api::encode(&id));
    api::get::<Value>(url, move |r| {
        match r.map(|v| Document::from_json(&v.to_string())) {
            Ok(Ok(doc)) => {
                let same = st.doc.with_untracked(|d| *d == doc);
                if !same {
                    st.edit(|d| *d = doc);
                    st.saved_id.set(None);
                    st.selection.set(Selection::None);
                    crate::canvas::fit_view(&st);
                }
                st.info(format!("Opened run {id}"));
            }
            Ok(Err(e)) => st.error(format!(
                "Run {id} has a document this version cannot read ({e}); showing its states on the current canvas"
            )),
            Err(e) => st.info(format!(
                "Showing run {id} on the current canvas if it is the same pipeline ({e})"
            )),
        }
        follow(st, ctx, id);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_request_carries_the_document_exactly() {
        let mut doc = Document::from_json(include_str!(
            "../../examples/pytorch-text-classification.pipeline.json"
        ))
        .expect("the example");
        doc.description = Some("x \"quoted\" ü \u{1F600}".into());
        let parameters: Map<Value> = [
            ("rate".to_string(), serde_json::json!(0.30000000000000004)),
            (
                "big".to_string(),
                serde_json::json!(9_007_199_254_740_993_u64),
            ),
        ]
        .into_iter()
        .collect();
        let body = run_request(&doc, parameters, Some("saved-1".into()), "vertex").expect("body");
        // What the server reads it as.
        let read: CreateRun = serde_json::from_str(&body).expect("a valid run request");
        let sent = read.document.expect("the document");
        assert_eq!(
            Document::from_json(&sent.to_string()).expect("document"),
            doc
        );
        assert_eq!(
            read.parameters["rate"],
            serde_json::json!(0.30000000000000004)
        );
        assert_eq!(
            read.parameters["big"],
            serde_json::json!(9_007_199_254_740_993_u64)
        );
        assert_eq!(read.pipeline_id.as_deref(), Some("saved-1"));
        assert_eq!(read.target.as_deref(), Some("vertex"));
        assert_eq!((read.spec, read.platform_spec), (None, None));
    }
}
