//! Following a remote run: poll its status with a growing interval (as the official SDK does:
//! a few seconds at first, up to a minute), write every change to the run store and send it
//! on the event stream, exactly as the local engine does, until the run ends.
//!
//! A poll that fails for a passing reason (no connection, HTTP 429/5xx, expired credentials)
//! only makes the next one wait longer: the run is never given up while the service may still
//! have it. A run the service no longer knows (HTTP 404) is marked failed.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Notify;

use crate::{RemoteClient, RemoteStatus, RemoteTask, TargetError};
use runs::{EngineEvent, Events, Recorder, RunEvent, RunState, RunStore, TaskEvent, TaskKind};
use runs::{NewTask, TaskUpdate};

/// How often open runs are polled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowConfig {
    /// The first interval, and the interval after each change.
    pub initial: Duration,
    /// The longest interval.
    pub max: Duration,
    /// How much the interval grows after a poll that saw no change.
    pub multiplier: f64,
}

impl Default for FollowConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(60),
            multiplier: 1.5,
        }
    }
}

impl FollowConfig {
    /// The interval after `current` when nothing changed.
    pub fn grow(&self, current: Duration) -> Duration {
        current.mul_f64(self.multiplier.max(1.0)).min(self.max)
    }
}

/// What was last written for a run, so only changes are written and sent.
#[derive(Debug, Default)]
pub struct Seen {
    run: Option<(RunState, Option<String>)>,
    tasks: HashMap<String, RemoteTask>,
}

/// Sets a run's state in the store and sends the event; returns whether it was written.
pub fn set_run(
    store: &RunStore,
    events: &Events,
    id: &str,
    state: RunState,
    error: Option<&str>,
) -> bool {
    let started = state == RunState::Running || state.is_final();
    match store.set_run_state(id, state, started, state.is_final(), error, None) {
        Ok(Some(s)) => {
            events.send(EngineEvent::Run(RunEvent {
                run_id: s.id,
                state: s.state,
                started_at: s.started_at,
                ended_at: s.ended_at,
                error: s.error,
            }));
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::error!(error = %e, run = id, "cannot record the run's state");
            false
        }
    }
}

/// Writes what changed since `seen` (tasks first, then the run) and sends the events;
/// returns whether anything changed.
pub fn apply(
    store: &RunStore,
    events: &Events,
    id: &str,
    status: &RemoteStatus,
    seen: &mut Seen,
) -> bool {
    let mut changed = false;
    for t in &status.tasks {
        if seen.tasks.get(&t.path) == Some(t) {
            continue;
        }
        changed = true;
        let result = store
            .add_task(
                id,
                &NewTask {
                    path: &t.path,
                    parent: t.parent.as_deref(),
                    name: &t.name,
                    display_name: Some(&t.name),
                    kind: if t.is_dag {
                        TaskKind::Dag
                    } else {
                        TaskKind::Container
                    },
                    state: runs::TaskState::Pending,
                    error: None,
                },
            )
            .and_then(|()| {
                store.update_task(
                    id,
                    &t.path,
                    &TaskUpdate {
                        state: Some(t.state),
                        started_at: t.started_at.clone(),
                        ended_at: t.ended_at.clone(),
                        error: t.error.clone(),
                        attempts: (t.started_at.is_some()).then_some(1),
                        inputs: t.inputs.clone(),
                        outputs: t.outputs.clone(),
                        cached: (t.state == runs::TaskState::Cached).then_some(true),
                        ..TaskUpdate::default()
                    },
                )
            });
        if let Err(e) = result {
            tracing::error!(error = %e, run = id, task = %t.path, "cannot record a task's state");
            continue;
        }
        events.send(EngineEvent::Task(TaskEvent {
            run_id: id.to_string(),
            path: t.path.clone(),
            state: t.state,
            started_at: t.started_at.clone(),
            ended_at: t.ended_at.clone(),
            error: t.error.clone(),
            cached: t.state == runs::TaskState::Cached,
            attempt: 1,
            backing: None,
        }));
        seen.tasks.insert(t.path.clone(), t.clone());
    }
    let run = (status.state, status.error.clone());
    if seen.run.as_ref() != Some(&run) {
        changed = true;
        if set_run(store, events, id, status.state, status.error.as_deref()) {
            seen.run = Some(run);
        }
    }
    changed
}

/// Polls run `id` (remote job `remote_name`) until it ends, starting from what `seen` says
/// was written already; `wake` polls at once (after a cancel request).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    recorder: &Recorder,
    config: &FollowConfig,
    id: &str,
    client: &RemoteClient,
    remote_name: &str,
    wake: &Notify,
    mut seen: Seen,
) {
    let mut interval = config.initial;
    let mut failures: u32 = 0;
    if seen.run.is_some() {
        // Just created: its first state is written; wait before the first poll.
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = wake.notified() => {}
        }
    }
    loop {
        match client.status(remote_name).await {
            Ok(status) => {
                failures = 0;
                let state = status.state;
                let run_id = id.to_string();
                let Some((changed, now_seen)) = recorder
                    .call(move |store, events| {
                        let changed = apply(store, events, &run_id, &status, &mut seen);
                        (changed, seen)
                    })
                    .await
                else {
                    tracing::error!(run = id, "the run store's writer stopped; not following");
                    return;
                };
                seen = now_seen;
                if state.is_final() {
                    tracing::info!(run = id, job = remote_name, state = %state, "remote run ended");
                    return;
                }
                interval = if changed {
                    config.initial
                } else {
                    config.grow(interval)
                };
            }
            Err(TargetError::Remote {
                status: 404, body, ..
            }) => {
                let message = format!("the remote job {remote_name} no longer exists: {body}");
                let run_id = id.to_string();
                recorder
                    .call(move |store, events| {
                        set_run(store, events, &run_id, RunState::Failed, Some(&message));
                    })
                    .await;
                tracing::warn!(
                    run = id,
                    job = remote_name,
                    "remote job not found; run marked failed"
                );
                return;
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(10) {
                    tracing::warn!(run = id, job = remote_name, error = %e, failures, "cannot read the remote run's state; will try again");
                }
                interval = config.grow(interval);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = wake.notified() => { interval = config.initial; }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_to_the_maximum() {
        let c = FollowConfig {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(60),
            multiplier: 2.0,
        };
        let mut d = c.initial;
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(d.as_secs());
            d = c.grow(d);
        }
        assert_eq!(seen, [2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
