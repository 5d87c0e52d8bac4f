//! Model endpoints the app serves locally (TorchServe started by a deploy task):
//! `GET /api/endpoints`, `POST /api/endpoints/{id}/stop`, `POST /api/endpoints/{id}/keep`.

use serde::{Deserialize, Serialize};

/// The state of a local endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// The server process is starting; the model is not ready yet.
    Starting,
    /// Healthy, with the model loaded and ready.
    Serving,
    /// Stopped (by the user, the run's end, the app's shutdown, or reaped at start).
    Stopped,
    /// It did not become ready, or its process exited on its own (see the error).
    Failed,
}

impl EndpointState {
    /// Every value, in order.
    pub const ALL: &'static [EndpointState] = &[
        EndpointState::Starting,
        EndpointState::Serving,
        EndpointState::Stopped,
        EndpointState::Failed,
    ];

    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Starting => "starting",
            EndpointState::Serving => "serving",
            EndpointState::Stopped => "stopped",
            EndpointState::Failed => "failed",
        }
    }

    /// Parses the stored or JSON name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }

    /// Whether its process may still be running (starting or serving).
    pub fn is_open(self) -> bool {
        matches!(self, EndpointState::Starting | EndpointState::Serving)
    }
}

impl std::fmt::Display for EndpointState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A local endpoint as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// Its id (`ep-` and 8 hex digits).
    pub id: String,
    /// The run whose task deployed it.
    pub run_id: String,
    /// That task's path in the run.
    pub task_path: String,
    /// The model's name (the MAR's).
    pub model_name: String,
    /// The folder holding the MAR file (TorchServe's model store).
    pub mar_folder: String,
    /// The inference URL (`http://127.0.0.1:<port>/predictions/<model>`).
    pub url: String,
    /// The management API's base URL.
    pub management_url: String,
    /// The server process (the leader of its process group), once started.
    pub pid: Option<u32>,
    /// Whether it outlives the app (not stopped at shutdown, not reaped at the next start).
    pub keep: bool,
    /// Its state.
    pub state: EndpointState,
    /// When it was deployed, RFC 3339 in UTC with milliseconds.
    pub created_at: String,
    /// When it stopped or failed.
    pub stopped_at: Option<String>,
    /// Why it failed or was stopped.
    pub error: Option<String>,
}

/// The body of `POST /api/endpoints/{id}/keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepBody {
    /// Keep the endpoint past the app's shutdown (true) or not.
    pub keep: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for s in EndpointState::ALL {
            assert_eq!(EndpointState::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::String(s.as_str().into()))
            );
        }
        assert_eq!(EndpointState::parse("SERVING"), None);
        assert!(EndpointState::Serving.is_open());
        assert!(!EndpointState::Failed.is_open());
    }
}
