//! Live state changes of runs and tasks, broadcast to whoever listens (the SSE endpoint, the
//! `run` command's progress lines).
//!
//! Every change is written to the run store first and then sent here, so a listener that
//! falls behind (or starts late) can always catch up from the store.

pub use api::{Event as EngineEvent, RunEvent, TaskEvent};
use tokio::sync::broadcast;

/// How many events a slow listener may fall behind before it is told it lagged.
const CAPACITY: usize = 4096;

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
    use crate::store::{RunState, TaskState};

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
            backing: None,
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
