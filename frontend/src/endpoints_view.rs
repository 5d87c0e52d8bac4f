//! The Endpoints list under the Runs tab (the `runs` chunk): the local model endpoints
//! (TorchServe servers deploy tasks started), newest first, with their model, URL, run and
//! state; Stop ends one, Keep lets it outlive the server.

use std::time::Duration;

use ::api::{Endpoint, EndpointState, KeepBody};
use leptos::prelude::*;

use crate::api;
use crate::html::{clicked_action, esc};
use crate::run_live::use_runs;
use crate::state::text;

/// How often the list refreshes while an endpoint in it is starting.
const REFRESH: Duration = Duration::from_secs(2);

/// The Endpoints section. It lists the endpoints again when `refresh` changes (the Runs tab's
/// ⟳), when a run starts or ends (a deploy task starts one; a failed run stops its own), and
/// every 2 s while one is starting.
#[component]
pub fn EndpointsList(refresh: RwSignal<u64>) -> impl IntoView {
    let ctx = use_runs();
    let st = crate::state::use_state();
    let list = RwSignal::new(None::<Result<Vec<Endpoint>, String>>);
    let tick = RwSignal::new(0u64);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        tick.track();
        refresh.track();
        ctx.list_version.track();
        api::get::<Vec<Endpoint>>("/api/endpoints".into(), move |r| {
            list.try_set(Some(r));
        });
    });
    if let Ok(h) = set_interval_with_handle(
        move || {
            let starting = list.with_untracked(|l| {
                matches!(l, Some(Ok(v)) if v.iter().any(|e| e.state == EndpointState::Starting))
            });
            if starting {
                tick.update(|t| *t += 1);
            }
        },
        REFRESH,
    ) {
        on_cleanup(move || h.clear());
    }
    let rows = text(move || match list.get() {
        None => "<div class=\"muted\">Loading…</div>".to_string(),
        Some(Err(e)) => format!(
            "<div class=\"field-error block\">Cannot list the endpoints: {}</div>",
            esc(&e)
        ),
        Some(Ok(v)) if v.is_empty() => {
            "<div class=\"muted\" data-testid=\"endpoints-empty\">No endpoints. A deploy task \
             of a local run starts one.</div>"
                .to_string()
        }
        Some(Ok(v)) => v.iter().map(row_html).collect(),
    });
    let done = move |r: Result<Endpoint, String>| {
        error.set(r.err());
        tick.update(|t| *t += 1);
    };
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some((action, id)) = clicked_action(&ev) else {
            return;
        };
        let base = format!("/api/endpoints/{}", api::encode(&id));
        match action.as_str() {
            "lineage" => {
                let task = list.with_untracked(|l| match l {
                    Some(Ok(v)) => v
                        .iter()
                        .find(|e| e.id == id)
                        .map(|e| (e.run_id.clone(), e.task_path.clone())),
                    _ => None,
                });
                if let Some((run, path)) = task {
                    st.lineage
                        .set(Some(crate::state::LineageFrom::Task(run, path)));
                }
            }
            "stop" => api::send("POST", format!("{base}/stop"), "{}".into(), done),
            "keep" | "unkeep" => {
                let body = KeepBody {
                    keep: action == "keep",
                };
                let body = serde_json::to_string(&body).unwrap_or_default();
                api::send("POST", format!("{base}/keep"), body, done);
            }
            _ => {}
        }
    };
    view! {
        <div class="endpoints" data-testid="endpoints">
            <h3>"Endpoints"</h3>
            {move || error.get().map(|e| view! { <div class="field-error block">{e}</div> })}
            <div class="runs-list" data-testid="endpoints-list" on:click=on_click inner_html=rows></div>
        </div>
    }
}

/// One endpoint as HTML text: state, model, URL, run, note and its buttons.
fn row_html(e: &Endpoint) -> String {
    let id = esc(&e.id);
    let state = e.state.as_str();
    let open = e.state.is_open();
    // Its lineage: the deploy task's execution — the endpoint, the model it serves, and
    // upstream from there to the training data.
    let lineage = format!(
        "<button data-action=\"lineage\" data-id=\"{id}\" data-testid=\"endpoint-lineage-{id}\" \
         title=\"The deploy task's lineage: the model served and what it was made from\">Lineage</button>"
    );
    let buttons = if open {
        let (action, label) = if e.keep {
            ("unkeep", "Don't keep")
        } else {
            ("keep", "Keep")
        };
        format!(
            "<div class=\"run-row-actions\">\
             <button class=\"danger\" data-action=\"stop\" data-id=\"{id}\" data-testid=\"endpoint-stop-{id}\">Stop</button>\
             <button data-action=\"{action}\" data-id=\"{id}\" data-testid=\"endpoint-keep-{id}\" \
             title=\"A kept endpoint keeps serving after Pipeline Canvas stops\">{label}</button>{lineage}</div>"
        )
    } else {
        format!("<div class=\"run-row-actions\">{lineage}</div>")
    };
    let note = e
        .error
        .as_deref()
        .map(|n| {
            format!(
                "<div class=\"run-row-error\" title=\"{n}\">{n}</div>",
                n = esc(n)
            )
        })
        .unwrap_or_default();
    format!(
        "<div class=\"run-row\" data-testid=\"endpoint-{id}\" data-state=\"{state}\">\
         <div class=\"run-row-main\"><span class=\"state-pill state-{state}\">{state}</span>\
         <span class=\"run-name\">{model}</span>{kept}</div>\
         <div class=\"run-row-sub muted\"><span class=\"mono\">{url}</span>\
         <span class=\"mono\" title=\"{run}\">run {short}</span></div>{note}{buttons}</div>",
        model = esc(&e.model_name),
        kept = if e.keep {
            "<span class=\"target-pill\">kept</span>"
        } else {
            ""
        },
        url = esc(&e.url),
        run = esc(&e.run_id),
        short = esc(&e.run_id.chars().take(8).collect::<String>()),
    )
}
