//! The toolbar's run controls: the target picker (local engine, Vertex AI, Kubeflow) and its
//! settings, Run (at once with the defaults, or with a dialog for the pipeline's parameter
//! values: when one needs a value, on a remote target, or on demand), the state of the run
//! shown, Cancel while it runs, and the Runs list.

use leptos::prelude::*;
use pipeline::ir::ParameterType;
use pipeline::map::Map;
use wasm_split_helpers::wasm_split;

use crate::chunks::{self, Unloaded};
use crate::run_live::{self, use_runs};
use crate::run_model::run_duration;
use crate::state::{flag, text, use_state, Tab};
use crate::targets_ui::{save_target, service_name, TargetSettings};
use crate::values::{parse_value, placeholder, render_value};

/// Run, run state, Cancel and Runs.
#[component]
pub fn RunControls() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let has_errors = Memo::new(move |_| st.analysis.with(|a| a.errors() > 0));
    let has_params = Memo::new(move |_| st.doc.with(|d| !d.parameters.is_empty()));
    // Run starts at once on the local engine when no parameter needs a value (the defaults
    // apply; "Run with parameter values…" opens the dialog). A parameter without a default,
    // or a run on a remote target (it submits to the cloud, whose values the defaults may not
    // fit), asks first.
    let on_run = move |_| {
        let local = ctx.target.with_untracked(|t| t == "local");
        let ask = st.doc.with_untracked(|d| {
            d.parameters.iter().any(|p| !p.is_optional()) || (!local && !d.parameters.is_empty())
        });
        if ask {
            ctx.dialog.set(true);
        } else {
            run_live::start(st, ctx, Map::new());
        }
    };
    view! {
        <div class="tool-group run-controls">
            <button
                class="run"
                data-testid="btn-run"
                class:blocked=flag(move || has_errors.get())
                disabled=flag(move || ctx.starting.get())
                title=text(move || if has_errors.get() { "Fix the errors first".to_string() } else { format!("Run the pipeline on {}", service_name(&ctx.target.get())) })
                on:click=on_run
            >
                "▶ Run"
            </button>
            <Show when=move || has_params.get()>
                <button
                    class="icon"
                    data-testid="btn-run-params"
                    title="Run with parameter values…"
                    disabled=flag(move || ctx.starting.get())
                    on:click=move |_| ctx.dialog.set(true)
                >
                    "▾"
                </button>
            </Show>
            <select
                class="run-target"
                data-testid="run-target"
                title="Where Run runs the pipeline"
                aria-label="Run on"
                prop:value=move || ctx.target.get()
                on:change=move |ev| {
                    let t = event_target_value(&ev);
                    save_target(&t);
                    ctx.target.set(t);
                }
            >
                <option value="local">"Local"</option>
                <option value="vertex">"Vertex AI"</option>
                <option value="kfp">"Kubeflow"</option>
            </select>
            <button
                class="icon"
                data-testid="btn-target-settings"
                title="Settings of Vertex AI and Kubeflow Pipelines"
                on:click=move |_| ctx.settings.set(true)
            >
                "⚙"
            </button>
            <Show when=move || ctx.run.with(Option::is_some)>
                {chunks::view(shown_run())}
            </Show>
            <button
                data-testid="btn-runs"
                class:active=flag(move || st.tab.get() == Tab::Runs)
                title="Every run, local and remote"
                on:click=move |_| st.tab.set(Tab::Runs)
            >
                "Runs"
            </button>
        </div>
        <Show when=move || ctx.dialog.get()>
            {chunks::view(run_dialog())}
        </Show>
        <Show when=move || ctx.settings.get()>
            {chunks::view(target_settings())}
        </Show>
    }
}

// The dialogs are in the `run` chunk (see `chunks`), fetched when one first opens.

/// The run dialog, from the run chunk.
#[wasm_split(run, fallible)]
fn run_dialog() -> Result<AnyView, Unloaded> {
    Ok(view! { <RunDialog /> }.into_any())
}

/// The target settings, from the run chunk.
#[wasm_split(run, fallible)]
fn target_settings() -> Result<AnyView, Unloaded> {
    Ok(view! { <TargetSettings /> }.into_any())
}

/// The state of the run shown, Cancel while it runs and ✕, from the run chunk: a run is
/// only shown once the run chunk followed it.
#[wasm_split(run, fallible)]
fn shown_run() -> Result<AnyView, Unloaded> {
    Ok(view! { <ShownRun /> }.into_any())
}

/// The state of the run shown (with its duration), Cancel while it runs, and ✕ to stop
/// showing it.
#[component]
fn ShownRun() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let running = Memo::new(move |_| ctx.run.with(|r| r.as_ref().is_some_and(|r| !r.ended())));
    let state = text(move || {
        ctx.run.with(|r| {
            r.as_ref()
                .map(|r| {
                    let now = if r.ended() { 0.0 } else { ctx.now.get() };
                    let r = &r.summary;
                    let d = run_duration(r.started_at.as_deref(), r.ended_at.as_deref(), now);
                    let d = if d.is_empty() { d } else { format!(" · {d}") };
                    format!("{}{d}", r.state.label())
                })
                .unwrap_or_default()
        })
    });
    view! {
        <span
            class="run-state"
            data-testid="run-state"
            data-state=text(move || ctx.run.with(|r| r.as_ref().map(|r| r.summary.state.label().to_string()).unwrap_or_default()))
            title=text(move || ctx.run.with(|r| r.as_ref().map(|r| { let r = &r.summary; format!("Run {} of {}{}", r.id, r.pipeline_name, r.error.as_ref().map(|e| format!("\n{e}")).unwrap_or_default()) }).unwrap_or_default()))
        >
            {state}
        </span>
        <Show when=move || running.get()>
            <button
                class="danger"
                data-testid="btn-cancel-run"
                title="Cancel the run"
                on:click=move |_| {
                    if let Some(id) = ctx.run_id() {
                        run_live::cancel(st, ctx, id);
                    }
                }
            >
                "Cancel"
            </button>
        </Show>
        <button class="icon" data-testid="btn-clear-run" title="Stop showing the run on the canvas" on:click=move |_| ctx.clear()>"✕"</button>
    }
}

/// The parameter values of a new run, prefilled with the defaults.
#[component]
fn RunDialog() -> impl IntoView {
    let st = use_state();
    let ctx = use_runs();
    let params = st.doc.with_untracked(|d| d.parameters.clone());
    let fields: Vec<(String, ParameterType, bool, RwSignal<String>)> = params
        .iter()
        .map(|p| {
            let initial = p.default.as_ref().map(render_value).unwrap_or_default();
            (
                p.name.clone(),
                p.ty,
                p.is_optional(),
                RwSignal::new(initial),
            )
        })
        .collect();
    let error = RwSignal::new(String::new());
    let submit = {
        let fields = fields.clone();
        move || {
            let mut values = Map::new();
            for (name, ty, optional, v) in &fields {
                match parse_value(*ty, &v.get_untracked()) {
                    Ok(Some(x)) => {
                        values.insert(name.clone(), x);
                    }
                    Ok(None) if *optional => {}
                    Ok(None) => {
                        error.set(format!("{name} needs a value"));
                        return;
                    }
                    Err(e) => {
                        error.set(format!("{name}: {e}"));
                        return;
                    }
                }
            }
            ctx.dialog.set(false);
            run_live::start(st, ctx, values);
        }
    };
    let rows = params
        .iter()
        .zip(fields.iter())
        .map(|(p, (name, ty, optional, v))| {
            let v = *v;
            let hint = placeholder(*ty, p.default.as_ref());
            view! {
                <label class="field">
                    <span class="field-label">
                        <span class="field-name">{name.clone()}</span>
                        <span class="field-type">{format!("{ty:?}")}</span>
                        {(!optional).then(|| view! { <span class="required">"*"</span> })}
                    </span>
                    <input
                        type="text"
                        data-testid=format!("run-param-{name}")
                        placeholder=hint
                        prop:value=move || v.get()
                        on:input=move |ev| v.set(event_target_value(&ev))
                    />
                </label>
            }
        })
        .collect_view();
    let submit2 = submit.clone();
    view! {
        <div class="modal-backdrop" on:click=move |_| ctx.dialog.set(false)></div>
        <form
            class="modal run-dialog"
            data-testid="run-dialog"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <h3>{format!("Run on {}", service_name(&ctx.target.get_untracked()))}</h3>
            <p class="muted">"Parameter values of this run (empty: the default)."</p>
            {rows}
            <Show when=move || error.with(|e| !e.is_empty())>
                <div class="field-error block" data-testid="run-dialog-error">{move || error.get()}</div>
            </Show>
            <div class="modal-buttons">
                <button type="button" on:click=move |_| ctx.dialog.set(false)>"Close"</button>
                <button type="button" class="primary" data-testid="btn-run-start" on:click=move |_| submit2()>"Start"</button>
            </div>
        </form>
    }
}
