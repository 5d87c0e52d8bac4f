//! Live state changes of runs and tasks, broadcast to whoever listens (the SSE endpoint, the
//! `run` command's progress lines).
//!
//! Every change is written to the run store first and then sent here, so a listener that
//! falls behind (or starts late) can always catch up from the store.

use serde::Serialize;
use tokio::sync::broadcast;

use super::store::{RunState, TaskState};

/// How many events a slow listener may fall behind before it is told it lagged.
const CAPACITY: usize = 4096;

/// One state change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EngineEvent {
    /// The run changed state.
    Run(RunEvent),
    /// A task changed state.
    Task(TaskEvent),
}

impl EngineEvent {
    /// The run the event is about.
    pub fn run_id(&self) -> &str {
        match self {
            EngineEvent::Run(r) => &r.run_id,
            EngineEvent::Task(t) => &t.run_id,
        }
    }
}

/// A run's new state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// Its state now.
    pub state: RunState,
    /// When it started running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A task's new state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvent {
    /// The run.
    pub run_id: String,
    /// The task path, e.g. `condition-1/for-loop-2[1]/train`.
    pub path: String,
    /// Its state now.
    pub state: TaskState,
    /// When it started running (first attempt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The outputs came from the cache.
    pub cached: bool,
    /// Which attempt (1 = first) is running or ended.
    pub attempt: u32,
}

/// The broadcast of engine events. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<EngineEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// A new broadcast with no listener.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx }
    }

    /// Listens to every event sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.tx.subscribe()
    }

    /// Sends an event to every listener (none listening is fine).
    pub fn send(&self, event: EngineEvent) {
        let _ = self.tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_a_type_tag() {
        let e = EngineEvent::Task(TaskEvent {
            run_id: "r".into(),
            path: "condition-1/train".into(),
            state: TaskState::Running,
            started_at: Some("2025-01-01T00:00:00.000Z".into()),
            ended_at: None,
            error: None,
            cached: false,
            attempt: 1,
        });
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["type"], "task");
        assert_eq!(v["path"], "condition-1/train");
        assert_eq!(v["state"], "RUNNING");
        assert_eq!(v["startedAt"], "2025-01-01T00:00:00.000Z");
        assert!(v.get("endedAt").is_none());
        assert_eq!(e.run_id(), "r");
    }

    #[tokio::test]
    async fn listeners_receive_what_is_sent() {
        let events = Events::new();
        let mut rx = events.subscribe();
        events.send(EngineEvent::Run(RunEvent {
            run_id: "r".into(),
            state: RunState::Succeeded,
            started_at: None,
            ended_at: None,
            error: None,
        }));
        let got = rx.recv().await.expect("event");
        assert_eq!(got.run_id(), "r");
    }
}
