//! A task's log with a live tail: `GET /api/runs/{id}/tasks/{path}/logs?follow=1` as
//! server-sent `log` events (one per line) until the task ends (`end`).

use leptos::html::Pre;
use leptos::prelude::*;

use crate::sse::{Next, Stream};

/// Lines kept in the view; older ones are dropped (the whole log stays on the server).
const MAX_LINES: usize = 5000;

/// The URL of a task's log, each path segment percent-encoded.
pub fn log_url(run: &str, path: &str, follow: bool) -> String {
    let segments: Vec<String> = path.split('/').map(crate::api::encode).collect();
    format!(
        "/api/runs/{}/tasks/{}/logs{}",
        crate::api::encode(run),
        segments.join("/"),
        if follow { "?follow=1" } else { "" }
    )
}

/// The log of task `path` of run `run`, following new lines while the task runs.
#[component]
pub fn LogView(run: String, path: String) -> impl IntoView {
    let lines = RwSignal::new(Vec::<String>::new());
    let dropped = RwSignal::new(0usize);
    let ended = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let pre = NodeRef::<Pre>::new();
    let stream = StoredValue::new_local(None::<Stream>);
    let url = log_url(&run, &path, true);
    let on_event = move |name: &str, data: String| match name {
        "log" => {
            lines.update(|l| {
                l.push(data);
                if l.len() > MAX_LINES {
                    let extra = l.len() - MAX_LINES;
                    l.drain(..extra);
                    dropped.update(|d| *d += extra);
                }
            });
            // Keep the newest line in sight when the view was at the bottom.
            if let Some(el) = pre.get_untracked() {
                let at_bottom = el.scroll_top() + el.client_height() + 40 >= el.scroll_height();
                if at_bottom {
                    // The view may be gone by the next frame (another task was picked).
                    request_animation_frame(move || {
                        if let Some(el) = pre.try_get_untracked().flatten() {
                            el.set_scroll_top(el.scroll_height());
                        }
                    });
                }
            }
            Next::Continue
        }
        _ => {
            ended.set(true);
            Next::Close
        }
    };
    let on_error = move |closed: bool| {
        if closed {
            error.set(Some("the log stream was closed by the browser".into()));
        }
    };
    match Stream::open(&url, &["log", "end"], on_event, on_error) {
        Ok(s) => stream.set_value(Some(s)),
        Err(e) => error.set(Some(e)),
    }
    on_cleanup(move || {
        stream.try_update_value(|s| *s = None);
    });
    let raw = log_url(&run, &path, false);
    view! {
        <div class="log-view">
            <div class="log-head">
                <span class="section-title">"Log"</span>
                <span class="muted" data-testid="log-state">
                    {move || if ended.get() { "complete" } else { "following…" }}
                </span>
                <a class="link" href=raw target="_blank" rel="noopener">"open raw"</a>
            </div>
            <Show when=move || error.with(Option::is_some)>
                <div class="field-error block">{move || error.get().unwrap_or_default()}</div>
            </Show>
            <pre class="log" data-testid="task-log" node_ref=pre>
                <Show when=move || { dropped.get() > 0 }>
                    <span class="muted">{move || format!("… {} earlier lines not shown\n", dropped.get())}</span>
                </Show>
                {move || lines.with(|l| l.join("\n"))}
            </pre>
        </div>
    }
}
