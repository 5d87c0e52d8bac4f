//! The Runs tab: runs of the local engine and of remote targets (with their console links),
//! newest first, filtered by state and pipeline name, with their state, start time and
//! duration; open one onto the canvas, re-run or cancel it.

use std::time::Duration;

use ::api::{RunState, RunSummary};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api;
use crate::run_live::{self, use_runs};
use crate::run_model::{local_time, run_duration};

use crate::html::esc;
use crate::state::{text, use_state};

/// How often the list refreshes while a run in it is going.
const REFRESH: Duration = Duration::from_secs(2);

/// The Runs tab.
#[component]
pub fn RunsPage() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let state_filter = RwSignal::new(String::new());
    let name_filter = RwSignal::new(String::new());
    let runs = RwSignal::new(None::<Result<Vec<RunSummary>, String>>);
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        ctx.list_version.track();
        tick.track();
        let mut url = "/api/runs?limit=100".to_string();
        let s = state_filter.get();
        if !s.is_empty() {
            url.push_str(&format!("&state={}", api::encode(&s)));
        }
        let n = name_filter.get();
        if !n.trim().is_empty() {
            url.push_str(&format!("&pipeline={}", api::encode(n.trim())));
        }
        api::get::<Vec<RunSummary>>(url, move |r| {
            runs.try_set(Some(r));
        });
    });
    // Keep times and states fresh while something runs.
    if let Ok(h) = set_interval_with_handle(
        move || {
            let going = runs.with_untracked(
                |r| matches!(r, Some(Ok(list)) if list.iter().any(|x| !x.state.is_final())),
            );
            if going {
                tick.update(|t| *t += 1);
            }
        },
        REFRESH,
    ) {
        on_cleanup(move || h.clear());
    }
    // Rows are HTML text (one element type keeps the wasm small); their buttons are handled
    // here by their `data-action` and `data-id`.
    let rows = text(move || {
        match runs.get() {
        None => "<div class=\"muted\">Loading…</div>".to_string(),
        Some(Err(e)) => format!(
            "<div class=\"field-error block\">Cannot list the runs: {}</div>",
            esc(&e)
        ),
        Some(Ok(list)) if list.is_empty() => "<div class=\"panel-empty\" data-testid=\"runs-empty\"><p>No runs yet.</p><p class=\"muted\">Press ▶ Run to run the pipeline on the local engine.</p></div>".to_string(),
        Some(Ok(list)) => {
            let now = js_sys::Date::now();
            let shown = ctx.run_id();
            list.iter().map(|r| row_html(r, now, shown.as_deref() == Some(r.id.as_str()))).collect()
        }
    }
    });
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some(button) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-action]").ok().flatten())
        else {
            return;
        };
        let (Some(action), Some(id)) = (
            button.get_attribute("data-action"),
            button.get_attribute("data-id"),
        ) else {
            return;
        };
        match action.as_str() {
            "open" => run_live::open(st, ctx, id),
            "rerun" => run_live::rerun(st, ctx, id),
            "cancel" => run_live::cancel(st, ctx, id),
            _ => {}
        }
    };
    view! {
        <div class="props runs-page" data-testid="runs-page">
            <div class="runs-filters">
                <select
                    data-testid="runs-filter-state"
                    on:change=move |ev| state_filter.set(event_target_value(&ev))
                >
                    <option value="">"All states"</option>
                    <option value=RunState::Running.as_str()>"Running"</option>
                    <option value=RunState::Pending.as_str()>"Pending"</option>
                    <option value=RunState::Succeeded.as_str()>"Succeeded"</option>
                    <option value=RunState::Failed.as_str()>"Failed"</option>
                    <option value=RunState::Cancelled.as_str()>"Cancelled"</option>
                </select>
                <input
                    type="search"
                    placeholder="Pipeline name"
                    data-testid="runs-filter-pipeline"
                    on:change=move |ev| name_filter.set(event_target_value(&ev))
                />
                <button class="icon" title="Refresh" data-testid="runs-refresh" on:click=move |_| tick.update(|t| *t += 1)>"⟳"</button>
            </div>
            <div class="runs-list" data-testid="runs-list" on:click=on_click inner_html=rows></div>
        </div>
    }
}

/// One run as HTML text: state, pipeline, start, duration, id, error and its buttons.
fn row_html(r: &RunSummary, now: f64, current: bool) -> String {
    let state = r.state.label();
    let id = esc(&r.id);
    let when = local_time(r.started_at.as_deref().unwrap_or(&r.created_at));
    let duration = run_duration(r.started_at.as_deref(), r.ended_at.as_deref(), now);
    let error = r
        .error
        .as_deref()
        .map(|e| {
            format!(
                "<div class=\"run-row-error\" title=\"{e}\">{e}</div>",
                e = esc(e)
            )
        })
        .unwrap_or_default();
    let remote = match r.target.as_deref() {
        Some(t) if t != "local" => format!(
            "<span class=\"target-pill\" data-testid=\"run-target-{id}\">{}</span>{}",
            esc(crate::targets_ui::service_name(t)),
            crate::targets_ui::console_link_html(
                Some(t),
                r.console_link.as_deref(),
                &format!("run-console-{}", r.id)
            ),
        ),
        _ => String::new(),
    };
    let cancel = if r.state.is_final() {
        String::new()
    } else {
        format!("<button class=\"danger\" data-action=\"cancel\" data-id=\"{id}\" data-testid=\"run-cancel-{id}\">Cancel</button>")
    };
    format!(
        "<div class=\"run-row state-{state}{cur}\" data-testid=\"run-{id}\" data-state=\"{state}\">\
         <div class=\"run-row-main\"><span class=\"state-pill state-{state}\">{state}</span><span class=\"run-name\">{name}</span>{remote}</div>\
         <div class=\"run-row-sub muted\"><span>{when}</span><span>{duration}</span><span class=\"mono\" title=\"{id}\">{short}</span></div>\
         {error}<div class=\"run-row-actions\">\
         <button data-action=\"open\" data-id=\"{id}\" data-testid=\"run-open-{id}\">Open</button>\
         <button data-action=\"rerun\" data-id=\"{id}\" data-testid=\"run-rerun-{id}\">Re-run</button>{cancel}</div></div>",
        cur = if current { " current" } else { "" },
        name = esc(&r.pipeline_name),
        when = esc(&when),
        short = esc(&r.id.chars().take(8).collect::<String>()),
    )
}
