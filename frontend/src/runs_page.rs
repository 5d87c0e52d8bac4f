//! The Runs tab: the runs table (`GET /api/runs/table`, issue #16) — runs of the local engine
//! and of remote targets (with their console links), one row each with its state, pipeline,
//! start time, duration, a `param.<name>` column per run parameter and a `metric.<name>` column
//! per metric its tasks logged. Click a column's header to sort by it (again: the other way);
//! filter by state, pipeline name and any text; choose which `param.`/`metric.` columns show;
//! "Export CSV" downloads the table as the server writes it (`format=csv`, the same file as
//! `pipeline-canvas runs --format csv`). Open a run onto the canvas, re-run or cancel it. The
//! local model endpoints are listed beneath ([`crate::endpoints_view`]).
//!
//! All of it is in the `runs` chunk (only [`crate::app`]'s `runs_tab` refers to it).

use std::collections::BTreeSet;
use std::time::Duration;

use ::api::run_table::{cell_text, BASE_COLUMNS};
use ::api::{RunState, RunTable, RunTableRow};
use leptos::prelude::*;
use serde_json::Value;

use crate::api;
use crate::run_live::{self, use_runs};
use crate::run_model::{format_duration, local_time};

use crate::html::{clicked_action, esc};
use crate::state::{text, use_state};

/// How often the table refreshes while a run in it is going.
const REFRESH: Duration = Duration::from_secs(2);

/// How many runs the tab shows.
const SHOWN: usize = 100;

/// How many runs "Export CSV" writes (the server's most).
const EXPORTED: usize = 10_000;

/// The base columns' positions in every table ([`BASE_COLUMNS`]).
const STATE: usize = 2;
const RUN_NAME: usize = 1;
const TARGET: usize = 3;
const START_TIME: usize = 4;
const DURATION: usize = 5;

/// What the table shows: its filters and its order.
#[derive(Debug, Clone, Default, PartialEq)]
struct Query {
    /// A run state (`FAILED`), or empty for all.
    state: String,
    /// A pipeline name, or empty for all.
    pipeline: String,
    /// Text a cell must contain, or empty.
    text: String,
    /// The column sorted by (none: newest first).
    sort: Option<String>,
    /// From the largest value down.
    desc: bool,
}

impl Query {
    /// The API's URL for this table: JSON, or the CSV download.
    fn url(&self, csv: bool, limit: usize) -> String {
        let mut url = format!("/api/runs/table?limit={limit}");
        if csv {
            url.push_str("&format=csv");
        }
        let mut add = |key: &str, value: &str| {
            if !value.trim().is_empty() {
                url.push_str(&format!("&{key}={}", api::encode(value.trim())));
            }
        };
        add("state", &self.state);
        add("pipeline", &self.pipeline);
        add("q", &self.text);
        if let Some(sort) = &self.sort {
            add("sort", sort);
            if self.desc {
                url.push_str("&desc=true");
            }
        }
        url
    }

    /// Sorts by `column`; by the same column again, the other way.
    fn sort_by(&mut self, column: String) {
        if self.sort.as_deref() == Some(column.as_str()) {
            self.desc = !self.desc;
        } else {
            self.sort = Some(column);
            self.desc = false;
        }
    }
}

/// The Runs tab.
#[component]
pub fn RunsPage() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let query = RwSignal::new(Query::default());
    // The `param.`/`metric.` columns the user has hidden (new columns show).
    let hidden = RwSignal::new(BTreeSet::<String>::new());
    let table = RwSignal::new(None::<Result<RunTable, String>>);
    let tick = RwSignal::new(0u64);
    // The runs picked for comparison, in the order picked; whether they are being compared.
    let picked = RwSignal::new(Vec::<String>::new());
    let comparing = st.comparing;
    // Answers can come back out of order while the filter is typed: only the latest counts.
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        ctx.list_version.track();
        tick.track();
        let url = query.with(|q| q.url(false, SHOWN));
        asked.update_value(|n| *n += 1);
        let this = asked.get_value();
        api::get::<RunTable>(url, move |r| {
            if asked.try_get_value() == Some(this) {
                table.try_set(Some(r));
            }
        });
    });
    // Keep times and states fresh while something runs.
    if let Ok(h) = set_interval_with_handle(
        move || {
            let going = table.with_untracked(|t| {
                matches!(t, Some(Ok(t)) if t.rows.iter().any(|r| !state_of(r).is_some_and(RunState::is_final)))
            });
            if going {
                tick.update(|t| *t += 1);
            }
        },
        REFRESH,
    ) {
        on_cleanup(move || h.clear());
    }
    // The table is HTML text (one element type keeps the wasm small); its headers and buttons
    // are handled here by their `data-action` and `data-id`.
    let rows = text(move || {
        match table.get() {
        None => "<div class=\"muted\">Loading…</div>".to_string(),
        Some(Err(e)) => format!(
            "<div class=\"field-error block\">Cannot list the runs: {}</div>",
            esc(&e)
        ),
        Some(Ok(t)) if t.rows.is_empty() => "<div class=\"panel-empty\" data-testid=\"runs-empty\"><p>No runs yet.</p><p class=\"muted\">Press ▶ Run to run the pipeline on the local engine.</p></div>".to_string(),
        Some(Ok(t)) => {
            let shown = ctx.run_id();
            picked.with(|p| hidden.with(|h| query.with(|q| table_html(&t, h, q, shown.as_deref(), p))))
        }
    }
    });
    let chooser = text(move || {
        let columns = table.with(|t| match t {
            Some(Ok(t)) => t.columns.clone(),
            _ => Vec::new(),
        });
        hidden.with(|h| chooser_html(&columns, h))
    });
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some((action, id)) = clicked_action(&ev) else {
            return;
        };
        match action.as_str() {
            "sort" => query.update(|q| q.sort_by(id)),
            "open" => run_live::open(st, ctx, id),
            "rerun" => run_live::rerun(st, ctx, id),
            "cancel" => run_live::cancel(st, ctx, id),
            "lineage" => st.lineage.set(Some(crate::state::LineageFrom::Run(id))),
            "pick" => picked.update(|p| {
                if let Some(i) = p.iter().position(|x| *x == id) {
                    p.remove(i);
                } else {
                    p.push(id);
                }
            }),
            _ => {}
        }
    };
    let on_choose = move |ev: web_sys::Event| {
        let Some(column) = event_target::<web_sys::Element>(&ev).get_attribute("data-col") else {
            return;
        };
        let show = event_target_checked(&ev);
        hidden.update(|h| {
            if show {
                h.remove(&column);
            } else {
                h.insert(column);
            }
        });
    };
    let csv_url = text(move || query.with(|q| q.url(true, EXPORTED)));
    view! {
        <div class="props runs-page" data-testid="runs-page">
            <div class="runs-filters">
                <select
                    data-testid="runs-filter-state"
                    aria-label="State"
                    on:change=move |ev| query.update(|q| q.state = event_target_value(&ev))
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
                    on:change=move |ev| query.update(|q| q.pipeline = event_target_value(&ev))
                />
                <button class="icon" title="Refresh" data-testid="runs-refresh" on:click=move |_| tick.update(|t| *t += 1)>"⟳"</button>
            </div>
            <div class="runs-filters">
                <input
                    type="search"
                    placeholder="Filter runs"
                    title="Runs with a cell (name, state, parameter, metric…) that contains this text"
                    data-testid="runs-filter-text"
                    on:input=move |ev| query.update(|q| q.text = event_target_value(&ev))
                />
                <details class="runs-columns" data-testid="runs-columns">
                    <summary>"Columns"</summary>
                    <div class="runs-columns-list" on:change=on_choose inner_html=chooser></div>
                </details>
                <a class="button" data-testid="runs-export-csv" href=csv_url download="runs.csv">"Export CSV"</a>
                <button data-testid="runs-compare" title="Tick two runs or more to compare them"
                    disabled=move || picked.with(|p| p.len() < 2)
                    on:click=move |_| comparing.set(true)>
                    {move || format!("Compare ({})", picked.with(Vec::len))}
                </button>
            </div>
            <div class="runs-list" data-testid="runs-list" on:click=on_click inner_html=rows></div>
            <crate::endpoints_view::EndpointsList refresh=tick />
            {move || comparing.get().then(|| view! {
                <crate::compare_view::CompareRuns table picked close=Callback::new(move |()| comparing.set(false)) />
            })}
        </div>
    }
}

/// The state of a row.
fn state_of(r: &RunTableRow) -> Option<RunState> {
    r.cells
        .get(STATE)
        .and_then(Value::as_str)
        .and_then(RunState::parse)
}

/// Whether column `c` is one the user can hide (a `param.` or `metric.` column).
fn optional(c: &str) -> bool {
    !BASE_COLUMNS.contains(&c)
}

/// The column chooser's checkboxes as HTML text: one per `param.`/`metric.` column.
fn chooser_html(columns: &[String], hidden: &BTreeSet<String>) -> String {
    let boxes: String = columns
        .iter()
        .filter(|c| optional(c))
        .map(|c| {
            let checked = if hidden.contains(c) { "" } else { " checked" };
            let c = esc(c);
            format!(
                "<label><input type=\"checkbox\" data-col=\"{c}\" data-testid=\"runs-column-{c}\"{checked}> {c}</label>"
            )
        })
        .collect();
    if boxes.is_empty() {
        "<span class=\"muted\">No parameter or metric columns.</span>".to_string()
    } else {
        boxes
    }
}

/// The runs table as HTML text: the columns not hidden (headers sort), a row per run with its
/// buttons, and a failed run's error beneath its row.
fn table_html(
    t: &RunTable,
    hidden: &BTreeSet<String>,
    q: &Query,
    current: Option<&str>,
    picked: &[String],
) -> String {
    let shown: Vec<usize> = (0..t.columns.len())
        .filter(|&i| t.columns.get(i).is_some_and(|c| !hidden.contains(c)))
        .collect();
    // The buttons come first, and stay in view while the columns scroll.
    let mut out = String::from(
        "<table class=\"runs-table\" data-testid=\"runs-table\"><thead><tr><th class=\"run-row-actions\"></th>",
    );
    for &i in &shown {
        let c = esc(t.columns.get(i).map_or("", String::as_str));
        let (class, arrow) = match (
            q.sort.as_deref() == t.columns.get(i).map(String::as_str),
            q.desc,
        ) {
            (true, false) => (" sorted", " ▲"),
            (true, true) => (" sorted", " ▼"),
            _ => ("", ""),
        };
        out.push_str(&format!(
            "<th class=\"sortable{class}\" data-action=\"sort\" data-id=\"{c}\" data-testid=\"runs-col-{c}\" title=\"Sort by {c}\">{c}{arrow}</th>"
        ));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        out.push_str(&row_html(
            r,
            &shown,
            current == Some(r.id.as_str()),
            picked.contains(&r.id),
        ));
    }
    out.push_str("</tbody></table>");
    if t.total > t.rows.len() {
        out.push_str(&format!(
            "<div class=\"muted\">The first {} of {} runs; filter or export them all as CSV.</div>",
            t.rows.len(),
            t.total
        ));
    }
    out
}

/// One run as table rows: its cells (the `shown` columns), its buttons, its error.
fn row_html(r: &RunTableRow, shown: &[usize], current: bool, picked: bool) -> String {
    let state = state_of(r).map_or("failed", RunState::label);
    let id = esc(&r.id);
    let cells: String = shown
        .iter()
        .map(|&i| {
            let v = r.cells.get(i).unwrap_or(&Value::Null);
            match i {
                STATE => format!("<td><span class=\"state-pill state-{state}\">{state}</span></td>"),
                RUN_NAME => format!(
                    "<td class=\"mono\" title=\"{id}\">{}</td>",
                    esc(&r.id.chars().take(8).collect::<String>())
                ),
                TARGET => match v.as_str() {
                    Some(t) if t != "local" => format!(
                        "<td><span class=\"target-pill\" data-testid=\"run-target-{id}\">{}</span>{}</td>",
                        esc(crate::targets_ui::service_name(t)),
                        crate::targets_ui::console_link_html(
                            Some(t),
                            r.console_link.as_deref(),
                            &format!("run-console-{}", r.id)
                        ),
                    ),
                    _ => "<td>local</td>".to_string(),
                },
                START_TIME => format!("<td>{}</td>", esc(&local_time(&cell_text(v)))),
                DURATION => format!(
                    "<td class=\"num\">{}</td>",
                    v.as_f64().map(|s| format_duration(s * 1000.0)).unwrap_or_default()
                ),
                _ => {
                    let text = esc(&cell_text(v));
                    let class = if v.is_number() { " class=\"num\"" } else { "" };
                    format!("<td{class} title=\"{text}\">{text}</td>")
                }
            }
        })
        .collect();
    let cancel = if state_of(r).is_some_and(RunState::is_final) {
        String::new()
    } else {
        format!("<button class=\"danger\" data-action=\"cancel\" data-id=\"{id}\" data-testid=\"run-cancel-{id}\">Cancel</button>")
    };
    let error = r
        .error
        .as_deref()
        .map(|e| {
            format!(
                "<tr class=\"run-error-row\"><td colspan=\"{}\"><div class=\"run-row-error\" title=\"{e}\">{e}</div></td></tr>",
                shown.len() + 1,
                e = esc(e)
            )
        })
        .unwrap_or_default();
    format!(
        "<tr class=\"runs-table-row state-{state}{cur}\" data-testid=\"run-{id}\" data-state=\"{state}\">\
         <td class=\"run-row-actions\">\
         <input type=\"checkbox\" class=\"run-pick\" data-action=\"pick\" data-id=\"{id}\" data-testid=\"run-pick-{id}\" aria-label=\"Compare this run\"{checked}>\
         <button data-action=\"open\" data-id=\"{id}\" data-testid=\"run-open-{id}\">Open</button>\
         <button data-action=\"rerun\" data-id=\"{id}\" data-testid=\"run-rerun-{id}\">Re-run</button>\
         <button data-action=\"lineage\" data-id=\"{id}\" data-testid=\"run-lineage-{id}\" title=\"What this run made and used\">Lineage</button>{cancel}</td>{cells}</tr>{error}",
        cur = if current { " current" } else { "" },
        checked = if picked { " checked" } else { "" },
    )
}
