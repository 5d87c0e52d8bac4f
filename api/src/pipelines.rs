//! Saved pipelines: `GET/POST /api/pipelines`, `GET/PUT/DELETE /api/pipelines/{id}`.

use serde::{Deserialize, Serialize};

/// One row of the saved-pipeline list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedPipeline {
    /// The pipeline's id.
    pub id: String,
    /// The document's `name`.
    pub name: String,
    /// When it was last saved, RFC 3339 in UTC with milliseconds.
    pub updated_at: String,
}

/// The answer to a create or update: the pipeline's (or run's) id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdBody {
    /// The id.
    pub id: String,
}
