//! Error bodies: every failed API request is answered `{"error": "message"}`, with the
//! diagnostics of a pipeline that does not compile, or the remote service's own answer when a
//! remote target refused a request.

use pipeline::Diagnostic;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of an error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// Every problem of a pipeline that does not compile (422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<Diagnostic>>,
    /// Every problem of a component draft that cannot be saved (422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<pipeline::authoring::DraftProblem>>,
    /// The remote service's answer, when one refused the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteError>,
}

impl ErrorBody {
    /// An error with only a message.
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            diagnostics: None,
            problems: None,
            remote: None,
        }
    }
}

/// A remote service's error answer, passed on as it was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteError {
    /// `Vertex AI` or `Kubeflow Pipelines`.
    #[serde(default)]
    pub service: String,
    /// The HTTP status it answered.
    #[serde(default)]
    pub status: u16,
    /// Its body (JSON when it was JSON, else the text).
    #[serde(default)]
    pub body: Value,
}
