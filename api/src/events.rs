//! The events of a run's stream (`GET /api/runs/{id}/events`): state changes of the run and its
//! tasks, as the local engine and the remote targets record them (`run` and `task` events,
//! [`Event`]), and the log of the task the stream follows (`log` events, [`LogPiece`], then
//! one `logEnd`, [`LogEnd`]).

use serde::{Deserialize, Serialize};

use crate::runs::{RunState, TaskState};

/// One state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// The run changed state.
    Run(RunEvent),
    /// A task changed state.
    Task(TaskEvent),
}

impl Event {
    /// The run the event is about.
    pub fn run_id(&self) -> &str {
        match self {
            Event::Run(r) => &r.run_id,
            Event::Task(t) => &t.run_id,
        }
    }
}

/// A run's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// Its state now.
    pub state: RunState,
    /// When it started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A task's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvent {
    /// The run.
    pub run_id: String,
    /// The task path, e.g. `condition-1/for-loop-2[1]/train`.
    pub path: String,
    /// Its state now.
    pub state: TaskState,
    /// When it started running (first attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The outputs came from the cache.
    #[serde(default)]
    pub cached: bool,
    /// Which attempt (1 = first) is running or ended.
    #[serde(default)]
    pub attempt: u32,
    /// What stands in for the task's cloud component on the local engine
    /// (`local: TorchServe on 127.0.0.1:8443`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backing: Option<String>,
}

/// A `log` event: a piece of the followed task's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPiece {
    /// The byte offset of the piece in the log file.
    pub from: u64,
    /// Its text (pieces are cut anywhere but inside a character: the client joins them).
    pub text: String,
}

/// The `logEnd` event: the followed task (or the run) has ended and its whole log was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEnd {
    /// The task whose log it was.
    pub path: String,
    /// The task's last state; none when the run ended without reaching it.
    pub state: Option<TaskState>,
    /// Where the log was sent up to (its length, unless it could not be read).
    pub offset: u64,
    /// Why the rest of the log could not be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_events_have_their_documented_shape() {
        let piece = LogPiece {
            from: 7,
            text: "o\nthree".into(),
        };
        let json = serde_json::to_value(&piece).expect("json");
        assert_eq!(json, serde_json::json!({"from": 7, "text": "o\nthree"}));
        assert_eq!(
            serde_json::from_value::<LogPiece>(json).expect("back"),
            piece
        );

        // A task the run never reached: its state is null, not left out.
        let end = LogEnd {
            path: "a".into(),
            state: None,
            offset: 0,
            error: None,
        };
        let json = serde_json::to_value(&end).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"path": "a", "state": null, "offset": 0})
        );
        let failed: LogEnd = serde_json::from_str(
            r#"{"path":"a","state":"SUCCEEDED","offset":12,"error":"the log could not be read"}"#,
        )
        .expect("logEnd");
        assert_eq!(failed.state, Some(TaskState::Succeeded));
        assert_eq!(failed.error.as_deref(), Some("the log could not be read"));
    }
}
