//! How a canvas element shows its state in the run shown: a `state-…` class and `data-state`
//! on the element (colours come from `runs.css`), and a badge with the state, loop progress
//! (`3/5`) and elapsed time, and on the local engine what stands in for a cloud component
//! (`local: TorchServe on 127.0.0.1:8443`).

use ::api::TaskState;
use leptos::prelude::*;

use crate::run_live::{elem_status, use_runs};
use crate::run_model::ElemStatus;
use crate::state::{flag, text, use_state};

/// The run status of canvas element `id`, for [`state_attrs`] and [`RunBadge`].
pub fn status_of(id: &str) -> Memo<Option<ElemStatus>> {
    elem_status(use_state(), use_runs(), id.to_string())
}

/// The element attributes for `status`: `data-state` and one `state-<state>` class.
pub fn state_attrs(status: Memo<Option<ElemStatus>>) -> impl leptos::attr::Attribute {
    let is =
        move |s: TaskState| flag(move || status.with(|x| x.as_ref().is_some_and(|x| x.state == s)));
    view! {
        <{..}
            data-state=Signal::derive(move || status.with(|s| s.as_ref().map(|s| s.state.label().to_string())))
            class:state-pending=is(TaskState::Pending)
            class:state-running=is(TaskState::Running)
            class:state-succeeded=is(TaskState::Succeeded)
            class:state-failed=is(TaskState::Failed)
            class:state-skipped=is(TaskState::Skipped)
            class:state-cached=is(TaskState::Cached)
            class:state-cancelled=is(TaskState::Cancelled)
        />
    }
}

/// The badge: state, progress and elapsed time; nothing when no run is shown.
#[component]
pub fn RunBadge(status: Memo<Option<ElemStatus>>) -> impl IntoView {
    let ctx = use_runs();
    let label = text(move || {
        status.with(|s| {
            s.as_ref()
                .map(|s| {
                    // Only elements still going follow the clock.
                    let now = if s.started.is_some() && s.ended.is_none() {
                        ctx.now.get()
                    } else {
                        0.0
                    };
                    let extra = s.badge(now);
                    if extra.is_empty() {
                        s.state.label().to_string()
                    } else {
                        format!("{} · {extra}", s.state.label())
                    }
                })
                .unwrap_or_default()
        })
    });
    let backing = text(move || {
        status.with(|s| {
            s.as_ref()
                .and_then(|s| s.backing.clone())
                .unwrap_or_default()
        })
    });
    view! {
        <Show when=move || status.with(Option::is_some)>
            <div class="run-badge" data-testid="run-badge">{label}</div>
        </Show>
        <Show when=move || status.with(|s| s.as_ref().is_some_and(|s| s.backing.is_some()))>
            <div class="run-backing" data-testid="run-backing" title=backing>{backing}</div>
        </Show>
    }
}
