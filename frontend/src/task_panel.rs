//! The Run tab: the run shown on the canvas and, for the selected node or group, its task —
//! state, times, error, note, inputs, outputs, artifacts and the live log. An element inside a
//! loop has one task per iteration; a picker chooses which.

use ::api::{TaskKind, TaskRow};
use leptos::prelude::*;
use serde_json::Value;

use crate::api;
use crate::artifact_view::ArtifactView;
use crate::html::{esc, kv_table};
use crate::log_view::LogView;
use crate::run_live::use_runs;
use crate::run_model::{local_time, run_duration, LiveRun};
use crate::state::{text, use_state, Selection};
use crate::values::render_value;

/// The Run tab.
#[component]
pub fn TaskPanel() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let run_id = Memo::new(move |_| ctx.run.with(|r| r.as_ref().map(|r| r.summary.id.clone())));
    let elem = Memo::new(move |_| match st.selection.get() {
        Selection::Node(id) | Selection::Group(id) => Some(id),
        _ => None,
    });
    let path = Memo::new(move |_| {
        let id = elem.get()?;
        st.analysis.with(|a| a.task_paths.get(&id).cloned())
    });
    // (path, state) of each task standing for the element.
    let instances = Memo::new(move |_| {
        let Some(p) = path.get().filter(|_| ctx.on_canvas.get()) else {
            return Vec::new();
        };
        ctx.run.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.tasks_of(&p)
                        .into_iter()
                        .map(|t| (t.path.clone(), t.state.label()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let chosen = Memo::new(move |_| {
        instances.with(|list| {
            let picked = ctx.instance.get();
            picked
                .filter(|p| list.iter().any(|(x, _)| x == p))
                .or_else(|| list.first().map(|(p, _)| p.clone()))
        })
    });
    move || {
        let Some(run) = run_id.get() else {
            return view! {
                <div class="panel-empty" data-testid="run-empty">
                    <p>"No run shown."</p>
                    <p class="muted">"Press ▶ Run to run the pipeline on the local engine, or open a run from Runs; then select a task to see its state, log and outputs."</p>
                </div>
            }
            .into_any();
        };
        if elem.get().is_none() {
            return view! { <RunSummary /> }.into_any();
        }
        let picker = move || {
            let list = instances.get();
            (list.len() > 1).then(|| {
                let buttons = list
                    .into_iter()
                    .map(|(p, state)| {
                        let label = p.rsplit('/').next().unwrap_or(&p).to_string();
                        let pick = p.clone();
                        let active = chosen.get().as_deref() == Some(p.as_str());
                        view! {
                            <button
                                class=format!("instance state-{state}")
                                class:active=active
                                data-testid=format!("instance-{p}")
                                title=format!("{p}: {state}")
                                on:click=move |_| ctx.instance.set(Some(pick.clone()))
                            >
                                {label}
                            </button>
                        }
                    })
                    .collect_view();
                view! { <div class="instances" data-testid="task-instances">{buttons}</div> }
            })
        };
        let detail = {
            let run = run.clone();
            move || match chosen.get() {
                Some(p) => view! { <TaskDetail run=run.clone() path=p /> }.into_any(),
                None => view! {
                    <div class="panel-empty" data-testid="task-none">
                        <p>{text(move || path.get().map_or_else(
                            || "This element is not part of the compiled pipeline.".to_string(),
                            |p| format!("{p} has not started in this run."),
                        ))}</p>
                    </div>
                }
                .into_any(),
            }
        };
        view! {
            <div class="props task-panel" data-testid="task-panel">
                {picker}
                {detail}
            </div>
        }
        .into_any()
    }
}

/// The run shown: id, state, times, error.
#[component]
fn RunSummary() -> impl IntoView {
    let ctx = use_runs();
    let field = move |f: fn(&LiveRun) -> String| {
        text(move || ctx.run.with(|r| r.as_ref().map(f).unwrap_or_default()))
    };
    let duration = text(move || {
        ctx.run.with(|r| {
            r.as_ref()
                .map(|r| {
                    let now = if r.ended() { 0.0 } else { ctx.now.get() };
                    let r = &r.summary;
                    run_duration(r.started_at.as_deref(), r.ended_at.as_deref(), now)
                })
                .unwrap_or_default()
        })
    });
    view! {
        <div class="props run-summary" data-testid="run-summary">
            <h3>"Run"</h3>
            <table class="run-kv">
                <tr><th>"id"</th><td class="mono">{field(|r| r.summary.id.clone())}</td></tr>
                <tr><th>"pipeline"</th><td>{field(|r| r.summary.pipeline_name.clone())}</td></tr>
                <tr><th>"state"</th><td class="mono" data-testid="run-summary-state">{field(|r| r.summary.state.label().to_string())}</td></tr>
                <tr><th>"started"</th><td>{field(|r| r.summary.started_at.as_deref().map(local_time).unwrap_or_default())}</td></tr>
                <tr><th>"duration"</th><td>{duration}</td></tr>
                <tr><th>"tasks"</th><td>{field(|r| r.tasks.len().to_string())}</td></tr>
            </table>
            <div inner_html=move || ctx.run.with(|r| r.as_ref().map(|r| crate::targets_ui::run_target_html(r.summary.target.as_deref(), r.summary.console_link.as_deref())).unwrap_or_default())></div>
            <Show when=move || ctx.run.with(|r| r.as_ref().is_some_and(|r| r.summary.error.is_some()))>
                <div class="field-error block" data-testid="run-error">{field(|r| r.summary.error.clone().unwrap_or_default())}</div>
            </Show>
            <button data-testid="run-lineage" title="The artifacts and executions of this run, and what they came from"
                on:click=move |_| {
                    if let Some(id) = ctx.run.with_untracked(|r| r.as_ref().map(|r| r.summary.id.clone())) {
                        crate::state::use_state().lineage.set(Some(crate::state::LineageFrom::Run(id)));
                    }
                }>"Lineage"</button>
            <p class="muted">"Select a task on the canvas to see its state, log and outputs."</p>
        </div>
    }
}

/// The URL of one task of a run.
fn task_url(run: &str, path: &str) -> String {
    let segments: Vec<String> = path.split('/').map(api::encode).collect();
    format!(
        "/api/runs/{}/tasks/{}",
        api::encode(run),
        segments.join("/")
    )
}

/// One task: fetched again whenever its state or attempt changes.
#[component]
fn TaskDetail(run: String, path: String) -> impl IntoView {
    let ctx = use_runs();
    let row = RwSignal::new(None::<Result<TaskRow, String>>);
    let live = {
        let path = path.clone();
        Memo::new(move |_| {
            ctx.run.with(|r| {
                r.as_ref()
                    .and_then(|r| r.tasks.get(&path))
                    .map(|t| (t.state, t.attempts, t.kind))
            })
        })
    };
    {
        let (run, path) = (run.clone(), path.clone());
        Effect::new(move |_| {
            live.track();
            // The answer may come after the panel has closed (another task was picked).
            api::get::<TaskRow>(task_url(&run, &path), move |r| {
                row.try_set(Some(r));
            });
        });
    }
    let has_log = Memo::new(move |_| {
        live.with(|l| {
            l.as_ref().is_none_or(|(_, _, kind)| {
                !matches!(kind, TaskKind::Dag | TaskKind::Loop | TaskKind::Iteration)
            })
        })
    });
    let body = move || match row.get() {
        None => view! { <div class="muted">"Loading…"</div> }.into_any(),
        Some(Err(e)) => {
            view! { <div class="field-error block">{format!("Cannot load the task: {e}")}</div> }
                .into_any()
        }
        Some(Ok(t)) => task_body(&t),
    };
    let log = {
        let (run, path) = (run.clone(), path.clone());
        move || {
            has_log
                .get()
                .then(|| view! { <LogView run=run.clone() path=path.clone() /> })
        }
    };
    view! {
        <div class="task-detail" data-testid="task-detail" data-path=path.clone()>
            {body}
            {log}
        </div>
    }
}

fn task_body(t: &TaskRow) -> AnyView {
    let state = t.state.label();
    let title = t.display_name.clone().unwrap_or_else(|| t.name.clone());
    let times = match (&t.started_at, &t.ended_at) {
        (Some(s), e) => format!(
            "started {} · {}",
            local_time(s),
            run_duration(Some(s), e.as_deref(), js_sys::Date::now())
        ),
        (None, _) => "not started".to_string(),
    };
    let params = |io: &Option<Value>, testid: &str| {
        let map = io
            .as_ref()
            .and_then(|v| v["parameters"].as_object())
            .cloned()
            .unwrap_or_default();
        kv_table(
            testid,
            map.iter().map(|(k, v)| (k.as_str(), render_value(v))),
        )
    };
    let artifacts: Vec<(String, Value)> = t
        .outputs
        .as_ref()
        .and_then(|v| v["artifacts"].as_object())
        .map(|m| {
            m.iter()
                .flat_map(|(name, list)| {
                    let list = list.as_array().cloned().unwrap_or_default();
                    let n = list.len();
                    list.into_iter().enumerate().map(move |(i, a)| {
                        let label = if n > 1 {
                            format!("{name}[{i}]")
                        } else {
                            name.clone()
                        };
                        (label, a)
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let inputs = params(&t.inputs, "task-inputs");
    let input_artifacts = artifact_names(&t.inputs);
    let outputs = params(&t.outputs, "task-outputs");
    let mut html = format!(
        "<h3 class=\"task-title\"><span class=\"state-pill state-{state}\" data-testid=\"task-state\">{state}</span><span>{}</span></h3>\
         <div class=\"mono muted task-path\">{}</div><div class=\"muted\">{}</div><div class=\"muted\">attempts {}{}</div>",
        esc(&title),
        esc(&t.path),
        esc(&times),
        t.attempts,
        if t.cached { " · outputs from the cache" } else { "" },
    );
    if let Some(e) = &t.error {
        html.push_str(&format!(
            "<pre class=\"field-error block task-error\" data-testid=\"task-error\">{}</pre>",
            esc(e)
        ));
    }
    if let Some(b) = &t.backing {
        html.push_str(&format!(
            "<div class=\"field-note\" data-testid=\"task-backing\">{}</div>",
            esc(b)
        ));
    }
    if let Some(n) = &t.note {
        html.push_str(&format!(
            "<div class=\"field-note\" data-testid=\"task-note\">{}</div>",
            esc(n)
        ));
    }
    html.push_str("<h3>Inputs</h3>");
    html.push_str(&inputs);
    if !input_artifacts.is_empty() {
        html.push_str(&format!(
            "<div class=\"muted\">artifacts: {}</div>",
            esc(&input_artifacts.join(", "))
        ));
    }
    if inputs.is_empty() && input_artifacts.is_empty() {
        html.push_str("<div class=\"muted\">none</div>");
    }
    html.push_str("<h3>Outputs</h3>");
    html.push_str(&outputs);
    if outputs.is_empty() && artifacts.is_empty() {
        html.push_str("<div class=\"muted\">none</div>");
    }
    let run = use_runs().run_id().unwrap_or_default();
    let artifact_views = artifacts
        .into_iter()
        .map(|(name, a)| view! { <ArtifactView run=run.clone() name=name artifact=a /> })
        .collect_view();
    view! {
        <div class="task-fields" inner_html=html></div>
        {artifact_views}
    }
    .into_any()
}

fn artifact_names(io: &Option<Value>) -> Vec<String> {
    io.as_ref()
        .and_then(|v| v["artifacts"].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
