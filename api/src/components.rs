//! Component authoring: the preview of a draft and the request that saves it to the user's
//! library (the data folder's `components/`).

use pipeline::authoring::{ComponentDraft, DraftProblem};
use serde::{Deserialize, Serialize};

/// The answer to `POST /api/components/preview`: the component file of a draft, or every
/// problem that stops it being one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentPreview {
    /// The component file as the KFP SDK writes it (YAML); none while the draft has problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// A Python draft's function, as embedded in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Every problem of the draft, each naming its field.
    #[serde(default)]
    pub problems: Vec<DraftProblem>,
}

/// The body of `POST /api/components`: a draft to save to the user's library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveComponent {
    /// The component.
    pub draft: ComponentDraft,
    /// Replace a user component of the same name (otherwise that is refused with 409).
    #[serde(default)]
    pub replace: bool,
}

/// The answer to `POST /api/components`: where the component was saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedComponent {
    /// Its palette id (`user/<file>`).
    pub id: String,
    /// The file written, in the data folder.
    pub path: String,
}
