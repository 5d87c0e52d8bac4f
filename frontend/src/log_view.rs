//! A task's log with a live tail. It arrives on the run's event stream (see
//! [`crate::run_live`]), starting with the last 256 KiB; the whole log is behind "open raw"
//! (`GET /api/runs/{id}/tasks/{path}/logs`).

use leptos::html::Pre;
use leptos::prelude::*;

use crate::run_live::{show_log, use_runs};
use crate::state::use_state;

/// The URL of a task's whole log, each path segment percent-encoded.
fn log_url(run: &str, path: &str) -> String {
    let segments: Vec<String> = path.split('/').map(crate::api::encode).collect();
    format!(
        "/api/runs/{}/tasks/{}/logs",
        crate::api::encode(run),
        segments.join("/")
    )
}

/// The log of task `path` of run `run`, following new output while the task runs.
#[component]
pub fn LogView(run: String, path: String) -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    show_log(st, ctx, path.clone());
    let pre = NodeRef::<Pre>::new();
    // Whether the view follows the newest output: true until the user scrolls up.
    let stick = StoredValue::new(true);
    let text = {
        let path = path.clone();
        move || {
            ctx.log.with(|l| {
                if l.path == path {
                    l.text.clone()
                } else {
                    String::new()
                }
            })
        }
    };
    let flags = {
        let path = path.clone();
        Memo::new(move |_| {
            ctx.log
                .with(|l| (l.path == path).then_some((l.earlier, l.complete)))
        })
    };
    let earlier = move || flags.get().is_some_and(|f| f.0);
    let complete = move || flags.get().is_some_and(|f| f.1);
    Effect::new(move |_| {
        ctx.log.track();
        if stick.get_value() {
            // The view may be gone by the next frame (another task was picked).
            request_animation_frame(move || {
                if let Some(el) = pre.try_get_untracked().flatten() {
                    el.set_scroll_top(el.scroll_height());
                }
            });
        }
    });
    // A scroll event can still arrive after another task was picked and this view is gone
    // (setting the scroll position above queues one): then there is nothing to update.
    let on_scroll = move |_| {
        if let Some(el) = pre.try_get_untracked().flatten() {
            stick.set_value(el.scroll_top() + el.client_height() + 40 >= el.scroll_height());
        }
    };
    let raw = log_url(&run, &path);
    view! {
        <div class="log-view">
            <div class="log-head">
                <span class="section-title">"Log"</span>
                <span class="muted" data-testid="log-state">
                    {move || if complete() { "complete" } else { "following…" }}
                </span>
                <a class="link" href=raw target="_blank" rel="noopener" data-testid="log-raw">"open raw"</a>
            </div>
            <pre class="log" data-testid="task-log" node_ref=pre on:scroll=on_scroll>
                <Show when=earlier>
                    <span class="muted" data-testid="log-earlier">"… earlier output is not shown here: open raw for the whole log\n"</span>
                </Show>
                {text}
            </pre>
        </div>
    }
}
